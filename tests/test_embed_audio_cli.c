/* test_embed_audio_cli.c — `slava embed --clap DIR --audio FILE`: the JSON line's shape (one
 * pooled row per 10 s chunk, projected = mean of the per-chunk projections, embedding = projected
 * normalised), equality with the library path, and --heads: heads whose audio MLP is the
 * checkpoint's own audio_projection must reproduce the checkpoint's "projected". */
#include "test.h"
#include "io/safetensors.h"
#include <cjson/cJSON.h>
#include <stdint.h>

static slava_ctx *ctx;

static void write_wav(const char *path, const float *x, int n) {
    FILE *f = fopen(path, "wb");
    uint32_t data = (uint32_t)n * 4, u32;
    uint16_t u16;
    fwrite("RIFF", 1, 4, f); u32 = 36 + data; fwrite(&u32, 4, 1, f); fwrite("WAVEfmt ", 1, 8, f);
    u32 = 16; fwrite(&u32, 4, 1, f); u16 = 3; fwrite(&u16, 2, 1, f); u16 = 1; fwrite(&u16, 2, 1, f);
    u32 = 48000; fwrite(&u32, 4, 1, f); u32 = 192000; fwrite(&u32, 4, 1, f);
    u16 = 4; fwrite(&u16, 2, 1, f); u16 = 32; fwrite(&u16, 2, 1, f);
    fwrite("data", 1, 4, f); fwrite(&data, 4, 1, f);
    fwrite(x, 4, (size_t)n, f);
    fclose(f);
}

/* Runs the CLI and returns the parsed JSON line (NULL on failure). */
static cJSON *embed(const char *wav, const char *heads) {
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s embed --clap '%s' --audio --threads 2 %s%s%s -- '%s'", SLAVA_BIN, fixture("clap-model"),
             heads ? "--heads '" : "", heads ? heads : "", heads ? "'" : "", wav);
    int rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err ? err : "");
    cJSON *j = rc == 0 && out && count_lines(out) == 1 ? cJSON_Parse(out) : NULL;
    free(out);
    free(err);
    return j;
}

static int floats(const cJSON *a, float *dst, int max) {
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) if (n < max && cJSON_IsNumber(e)) dst[n++] = (float)e->valuedouble;
    return n;
}

int main(void) {
    ctx = slava_ctx_new();
    slava_set_threads(2);
    /* 25 s: chunks of 10, 10 and 5 s */
    const int n = 25 * 48000;
    float *x = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) x[i] = (float)(0.4 * sin(2 * M_PI * (300 + 200 * (i / 480000)) * i / 48000.0));
    const char *wav = tmp_path("embed_audio.wav");
    write_wav(wav, x, n);
    free(x);

    cJSON *j = embed(wav, NULL);
    CHECK(j != NULL);
    float proj[64], emb[64], row[256];
    if (j) {
        const cJSON *pooled = cJSON_GetObjectItem(j, "pooled");
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "input")) && !strcmp(cJSON_GetObjectItem(j, "input")->valuestring, wav));
        CHECK(cJSON_GetArraySize(pooled) == 3);
        int ok = 1;
        const cJSON *r;
        cJSON_ArrayForEach(r, pooled) ok &= floats(r, row, 256) == 128;
        CHECK(ok);
        CHECK(floats(cJSON_GetObjectItem(j, "projected"), proj, 64) == 32);
        CHECK(floats(cJSON_GetObjectItem(j, "embedding"), emb, 64) == 32);
        double ss = 0;
        for (int i = 0; i < 32; i++) ss += (double)proj[i] * proj[i];
        double e = 0;
        for (int i = 0; i < 32; i++) e = fmax(e, fabs(emb[i] - proj[i] / sqrt(ss)));
        CHECK(e < 1e-6);

        /* the library path gives the same numbers */
        slava_clap_audio *m = NULL;
        CHECK_OK(ctx, slava_clap_audio_load(ctx, fixture("clap-model"), &m));
        float *lp = NULL, lproj[32];
        int T = 0;
        if (m) CHECK_OK(ctx, slava_clap_audio_embed_file(ctx, m, wav, 2, &lp, &T, lproj));
        CHECK(T == 3 && max_abs_diff(lproj, proj, 32) < 1e-6);
        floats(cJSON_GetArrayItem(pooled, 2), row, 256);
        CHECK(lp && max_abs_diff(lp + 2 * 128, row, 128) < 1e-6);
        free(lp);
        slava_clap_audio_free(m);
    }

    /* heads file: random visual / text heads, audio head = the checkpoint's audio_projection */
    sv_stfile *mf = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("clap-model/model.safetensors"), &mf));
    if (mf && j) {
        static float vis[32 * 16], txt[32 * 24];
        for (int i = 0; i < 32 * 16; i++) vis[i] = (float)sin(i);
        for (int i = 0; i < 32 * 24; i++) txt[i] = (float)cos(i);
        const char *names[4] = {"audio_projection.linear1.weight", "audio_projection.linear1.bias",
                                "audio_projection.linear2.weight", "audio_projection.linear2.bias"};
        sv_wtensor t[6] = {{.name = "visual_projection.weight", .dtype = SV_F32, .ndim = 2, .shape = {32, 16}, .data = vis},
                           {.name = "text_projection.weight", .dtype = SV_F32, .ndim = 2, .shape = {32, 24}, .data = txt}};
        for (int k = 0; k < 4; k++) {
            const sv_tensor *s = sv_st_find(mf, names[k]);
            CHECK(s && s->dtype == SV_F32);
            t[2 + k] = (sv_wtensor){.name = names[k], .dtype = SV_F32, .ndim = s->ndim, .data = s->data};
            for (int d = 0; d < s->ndim; d++) t[2 + k].shape[d] = s->shape[d];
        }
        const char *hp = tmp_path("embed_audio_heads.safetensors");
        CHECK_OK(ctx, sv_st_write(ctx, hp, t, 6, NULL));
        cJSON *jh = embed(wav, hp);
        float hproj[64];
        CHECK(jh && floats(cJSON_GetObjectItem(jh, "projected"), hproj, 64) == 32);
        if (jh) {
            double e = max_abs_diff(hproj, proj, 32);
            printf("  --heads with the checkpoint's own audio MLP: max |diff| %.3g\n", e);
            CHECK(e < 1e-5);
        }
        cJSON_Delete(jh);
    }
    sv_st_close(mf);
    cJSON_Delete(j);

    /* usage errors */
    char *out = NULL, *err = NULL;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s embed --audio '%s'", SLAVA_BIN, wav);
    CHECK(run_cmd(cmd, &out, &err) == 2 && err && strstr(err, "--clap"));
    free(out); free(err);
    snprintf(cmd, sizeof cmd, "%s embed --clap '%s' --audio '%s'", SLAVA_BIN, tmp_path("no_such_model"), wav);
    CHECK(run_cmd(cmd, &out, &err) == 1 && err && count_lines(err) == 1 && strstr(err, "no_such_model"));
    free(out); free(err);
    slava_ctx_free(ctx);
    return test_done("test_embed_audio_cli");
}
