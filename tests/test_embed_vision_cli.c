/*
 * test_embed_vision_cli.c — `slava embed --clip DIR --image/--video` end to end:
 *   - the fixture images written as PNG files give the fixture's pooled outputs and embeddings
 *     (decode + preprocess + tower, within cases.json's tolerances), in input order;
 *   - a failing file among good ones: one stderr line naming it, the others still printed, exit 1;
 *   - videos: one pooled row per sampled frame (--fps), projected = mean over frames of
 *     visual_projection(pooled row), embedding = projected / ||projected||;
 *   - slava_clip_vision_embed_file (the library's whole-file call) gives the same rows;
 *   - --heads FILE: projected = mean over frames of the trained visual head;
 *   - --heads with a missing file and a missing --clip folder fail with a line naming them.
 */
#include "test.h"
#include "io/safetensors.h"
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <sys/stat.h>

/* snprintf into a command buffer (vsnprintf: long paths are the caller's problem, not a warning) */
static void fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t cap, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, cap, f, ap);
    va_end(ap);
}

static const float *arr_floats(const cJSON *a, float *out, int n) {
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return NULL;
    for (int i = 0; i < n; i++) out[i] = (float)cJSON_GetArrayItem(a, i)->valuedouble;
    return out;
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    const char *clip = fixture("clip-model");
    mkdir(tmp_path("cli"), 0755);
    char cmd[4096], *out = NULL, *err = NULL;

    /* fixture images -> PNG */
    sv_stfile *imgs = NULL, *exp = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("image/images.safetensors"), &imgs));
    CHECK_OK(ctx, sv_st_open(ctx, fixture("image/image_expected.safetensors"), &exp));
    if (!imgs || !exp) return test_done("test_embed_vision_cli");
    char pngs[6][512];
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "image_%d", i);
        const sv_tensor *t = sv_st_find(imgs, name);
        snprintf(pngs[i], sizeof pngs[i], "%s", tmp_path(name));
        FILE *f = fopen(pngs[i], "wb");
        fwrite(t->data, 1, t->nbytes, f);
        fclose(f);
        fmt(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -nostdin -y -f rawvideo -pix_fmt rgb24 -s %dx%d "
                 "-i '%s' -frames:v 1 '%s.png'", (int)t->shape[1], (int)t->shape[0], pngs[i], pngs[i]);
        CHECK(run_cmd(cmd, NULL, NULL) == 0);
        strcat(pngs[i], ".png");
    }
    /* random bytes, to fail in the middle of the list */
    const char *bad = tmp_path("cli/bad.jpg");
    FILE *f = fopen(bad, "wb");
    for (int i = 0; i < 1000; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    fmt(cmd, sizeof cmd, "%s embed --clip '%s' --threads 2 --image -- '%s' '%s' '%s' '%s' '%s' '%s' '%s'", SLAVA_BIN, clip,
             pngs[0], pngs[1], pngs[2], bad, pngs[3], pngs[4], pngs[5]);
    int rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 1, "exit %d with a bad file among good ones", rc);
    CHECKF(count_lines(err) == 1 && strstr(err, bad), "stderr: %s", err);
    CHECK(count_lines(out) == 6);
    float *w_pooled = malloc(sizeof(float) * 6 * 64), *w_norm = malloc(sizeof(float) * 6 * 32);
    CHECK_OK(ctx, sv_tensor_to_f32(ctx, "pooled", sv_st_find(exp, "pooled"), w_pooled));
    CHECK_OK(ctx, sv_tensor_to_f32(ctx, "embeds_normalized", sv_st_find(exp, "embeds_normalized"), w_norm));
    double worst_p = 0, worst_e = 0;
    char *line = out;
    for (int i = 0; i < 6 && line && *line; i++) {
        char *nl = strchr(line, '\n');
        *nl = 0;
        cJSON *j = cJSON_Parse(line);
        CHECK(j != NULL);
        float pooled[64], emb[32];
        const cJSON *in = cJSON_GetObjectItem(j, "input");
        CHECKF(cJSON_IsString(in) && !strcmp(in->valuestring, pngs[i]), "line %d is not input %d", i, i);
        CHECK(arr_floats(cJSON_GetObjectItem(j, "pooled"), pooled, 64) != NULL);
        CHECK(arr_floats(cJSON_GetObjectItem(j, "embedding"), emb, 32) != NULL);
        double dp = max_abs_diff(pooled, w_pooled + i * 64, 64), de = max_abs_diff(emb, w_norm + i * 32, 32);
        if (dp > worst_p) worst_p = dp;
        if (de > worst_e) worst_e = de;
        cJSON_Delete(j);
        line = nl + 1;
    }
    CHECKF(worst_p <= 2e-4, "PNG -> pooled max diff %g (tolerance 2e-4)", worst_p);
    CHECKF(worst_e <= 2e-5, "PNG -> embedding max diff %g (tolerance 2e-5)", worst_e);
    printf("end to end from PNG files: pooled max diff %.3g, embedding max diff %.3g\n", worst_p, worst_e);
    free(out);
    free(err);

    /* videos: 3 s and 1.2 s, plus an audio-only file between them */
    const char *v1 = tmp_path("cli/a.mp4"), *v2 = tmp_path("cli/b.mkv"), *au = tmp_path("cli/c.wav");
    fmt(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=s=96x64:r=25:d=3 "
             "-pix_fmt yuv420p -c:v libx264 '%s' && ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi "
             "-i testsrc=s=64x96:r=10:d=1.2 -c:v ffv1 '%s' && ffmpeg -hide_banner -loglevel error -nostdin -y "
             "-f lavfi -i sine=d=1 '%s'", v1, v2, au);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    slava_clip_vision *m = NULL;
    CHECK_OK(ctx, slava_clip_vision_load(ctx, clip, &m));
    const float *projw = NULL;
    sv_weights *w = NULL;
    CHECK_OK(ctx, sv_weights_open(ctx, clip, &w));
    CHECK_OK(ctx, sv_weights_get(ctx, w, "visual_projection.weight", &projw, 2, 32, 64));
    double fpss[2] = {1.0, 2.0};
    for (int k = 0; k < 2; k++) {
        fmt(cmd, sizeof cmd, "%s embed --clip '%s' --video --fps %g '%s' '%s' '%s'", SLAVA_BIN, clip, fpss[k], v1, au, v2);
        rc = run_cmd(cmd, &out, &err);
        CHECK(rc == 1);
        /* stderr: the failing file's line, and one report line per video read */
        CHECKF(count_lines(err) == 3 && strstr(err, au) && strstr(err, "no video stream"), "stderr: %s", err);
        char want1[1200], want2[1200];
        fmt(want1, sizeof want1, "%s: 3.00 s, %d frames sampled", v1, fpss[k] == 1 ? 3 : 6);
        fmt(want2, sizeof want2, "%s: 1.20 s, %d frames sampled", v2, fpss[k] == 1 ? 2 : 3);
        CHECKF(strstr(err, want1) && strstr(err, want2), "stderr lacks the video reports: %s", err);
        CHECK(count_lines(out) == 2);
        int want_T[2] = {fpss[k] == 1 ? 3 : 6, fpss[k] == 1 ? 2 : 3};
        const char *want_in[2] = {v1, v2};
        line = out;
        for (int i = 0; i < 2 && line && *line; i++) {
            char *nl = strchr(line, '\n');
            *nl = 0;
            cJSON *j = cJSON_Parse(line);
            const cJSON *pooled = cJSON_GetObjectItem(j, "pooled");
            CHECKF(!strcmp(cJSON_GetObjectItem(j, "input")->valuestring, want_in[i]), "video output order");
            int T = cJSON_GetArraySize(pooled);
            CHECKF(T == want_T[i], "%s at %g fps: %d frames, want %d", want_in[i], fpss[k], T, want_T[i]);
            double mean[32] = {0};
            for (int t = 0; t < T; t++) {
                float row[64];
                CHECK(arr_floats(cJSON_GetArrayItem(pooled, t), row, 64) != NULL);
                for (int o = 0; o < 32; o++) {
                    double a = 0;
                    for (int d = 0; d < 64; d++) a += (double)projw[o * 64 + d] * row[d];
                    mean[o] += a / T;
                }
            }
            float proj[32], emb[32];
            CHECK(arr_floats(cJSON_GetObjectItem(j, "projected"), proj, 32) != NULL);
            CHECK(arr_floats(cJSON_GetObjectItem(j, "embedding"), emb, 32) != NULL);
            double md = 0, nn = 0, me = 0;
            for (int o = 0; o < 32; o++) { md = fmax(md, fabs(proj[o] - mean[o])); nn += mean[o] * mean[o]; }
            for (int o = 0; o < 32; o++) me = fmax(me, fabs(emb[o] - mean[o] / sqrt(nn)));
            CHECKF(md < 1e-5 && me < 1e-5, "video projected/embedding vs mean of projected rows: %g %g", md, me);
            cJSON_Delete(j);
            line = nl + 1;
        }
        free(out);
        free(err);
    }
    /* the library's whole-file call (small batches) gives what the CLI prints */
    {
        fmt(cmd, sizeof cmd, "%s embed --clip '%s' --video '%s'", SLAVA_BIN, clip, v1);
        CHECK(run_cmd(cmd, &out, NULL) == 0);
        float *rows = NULL, mean[32];
        int T = 0;
        CHECK_OK(ctx, slava_clip_vision_embed_file(ctx, m, v1, 1.0, 2, &rows, &T, mean));
        cJSON *j = out ? cJSON_Parse(out) : NULL;
        const cJSON *pooled = cJSON_GetObjectItem(j, "pooled");
        CHECK(T == 3 && cJSON_GetArraySize(pooled) == 3);
        double md = 0;
        for (int t = 0; rows && t < T && t < cJSON_GetArraySize(pooled); t++) {
            float row[64];
            CHECK(arr_floats(cJSON_GetArrayItem(pooled, t), row, 64) != NULL);
            md = fmax(md, max_abs_diff(row, rows + t * 64, 64));
        }
        float proj[32];
        CHECK(arr_floats(cJSON_GetObjectItem(j, "projected"), proj, 32) != NULL);
        md = fmax(md, max_abs_diff(proj, mean, 32));
        CHECKF(md < 1e-5, "slava_clip_vision_embed_file vs CLI: max diff %g", md);
        cJSON_Delete(j);
        free(rows);
        free(out);
        CHECK(slava_clip_vision_embed_file(ctx, m, au, 1.0, 0, &rows, &T, NULL) != SLAVA_OK && rows == NULL);
        CHECK(strstr(slava_ctx_error(ctx), au) == slava_ctx_error(ctx));
    }
    slava_clip_vision_free(m);
    sv_weights_free(w);

    /* Every kind of bad input in one call, between good files: one stderr line per bad file,
     * naming it; every good file still embedded, in order; exit 1. */
    {
        char tr[1024], em[1024], hu[1024], sh[1024];
        fmt(tr, sizeof tr, "%s", tmp_path("cli/trunc.mp4"));
        fmt(em, sizeof em, "%s", tmp_path("cli/empty.mp4"));
        fmt(hu, sizeof hu, "%s", tmp_path("cli/huge.png"));
        fmt(sh, sizeof sh, "%s", tmp_path("cli/short.mp4"));
        FILE *a = fopen(v1, "rb"), *b = fopen(tr, "wb");
        fseek(a, 0, SEEK_END);
        long n = ftell(a);
        rewind(a);
        for (long i = 0; i < n / 2; i++) fputc(fgetc(a), b);
        fclose(a);
        fclose(b);
        fclose(fopen(em, "wb"));
        /* PNG declaring 30000x30000 (IHDR only; the CRC does not matter for the size check) */
        static const unsigned char png[] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                            0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 2, 0, 0, 0, 0, 0, 0, 0};
        b = fopen(hu, "wb");
        fwrite(png, 1, sizeof png, b);
        fclose(b);
        fmt(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=s=64x48:r=25:d=0.2 '%s'", sh);
        CHECK(run_cmd(cmd, NULL, NULL) == 0);
        const char *bads[5] = {tr, bad, em, au, hu};
        fmt(cmd, sizeof cmd, "%s embed --clip '%s' --video '%s' '%s' '%s' '%s' '%s' '%s' '%s' '%s'", SLAVA_BIN, clip, tr, v1,
            bad, em, sh, au, hu, pngs[1]);
        rc = run_cmd(cmd, &out, &err);
        CHECK(rc == 1);
        CHECKF(count_lines(out) == 3, "stdout: %d lines", count_lines(out));
        const char *good[3] = {v1, sh, pngs[1]};
        const char *pos = out;
        for (int i = 0; i < 3; i++) {
            char key[1100];
            fmt(key, sizeof key, "{\"input\":\"%s\"", good[i]);
            const char *q = out ? strstr(out, key) : NULL;
            CHECKF(q && q >= pos, "good input %s missing or out of order", good[i]);
            if (q) pos = q;
        }
        int errs = 0;
        for (char *l = err; l && *l;) {
            char *nl = strchr(l, '\n');
            if (!nl) break;
            *nl = 0;
            int is_bad = 0;
            for (int k = 0; k < 5; k++) is_bad |= strstr(l, bads[k]) != NULL;
            if (is_bad) errs++;
            else CHECKF(strstr(l, " frames sampled at "), "unexpected stderr line: %s", l);
            l = nl + 1;
        }
        CHECKF(errs == 5, "%d error lines for 5 bad files", errs);
        /* the 0.2 s video gave one frame */
        const char *q = out ? strstr(out, sh) : NULL;
        if (q) {
            while (q > out && q[-1] != '\n') q--;
            cJSON *j = cJSON_ParseWithLength(q, strcspn(q, "\n"));
            const cJSON *pooled = cJSON_GetObjectItem(j, "pooled");
            CHECKF(cJSON_GetArraySize(pooled) == 1 && cJSON_GetArraySize(cJSON_GetArrayItem(pooled, 0)) == 64,
                   "0.2 s video: %d frames", cJSON_GetArraySize(pooled));
            cJSON_Delete(j);
        }
        CHECK(q != NULL);
        free(out);
        free(err);
    }

    /* --heads: trained heads instead of the checkpoint's projection (16-d visual head) */
    {
        float wv[16 * 64], wt[16 * 64], wa[16 * 8], ba[16];
        uint32_t r = 99;
        for (int i = 0; i < 16 * 64; i++) { r = r * 1664525u + 1013904223u; wv[i] = ((r >> 8) / 16777216.0f - 0.5f) * 0.3f; wt[i] = wv[i]; }
        for (int i = 0; i < 16 * 8; i++) wa[i] = 0.01f * i;
        for (int i = 0; i < 16; i++) ba[i] = 0;
        sv_wtensor ht[4] = {{"visual_projection.weight", SV_F32, 2, {16, 64}, wv},
                            {"text_projection.weight", SV_F32, 2, {16, 64}, wt},
                            {"audio_projection.weight", SV_F32, 2, {16, 8}, wa},
                            {"audio_projection.bias", SV_F32, 1, {16}, ba}};
        char hp[1024];
        fmt(hp, sizeof hp, "%s", tmp_path("cli/heads.safetensors"));
        CHECK_OK(ctx, sv_st_write(ctx, hp, ht, 4, NULL));
        fmt(cmd, sizeof cmd, "%s embed --clip '%s' --heads '%s' --video '%s'", SLAVA_BIN, clip, hp, v1);
        rc = run_cmd(cmd, &out, NULL);
        CHECK(rc == 0);
        cJSON *j = out ? cJSON_Parse(out) : NULL;
        const cJSON *pooled = cJSON_GetObjectItem(j, "pooled");
        int T = cJSON_GetArraySize(pooled);
        double mean[16] = {0};
        for (int t = 0; t < T; t++) {
            float row[64];
            CHECK(arr_floats(cJSON_GetArrayItem(pooled, t), row, 64) != NULL);
            for (int o = 0; o < 16; o++)
                for (int d = 0; d < 64; d++) mean[o] += (double)wv[o * 64 + d] * row[d] / T;
        }
        float proj[16];
        CHECKF(T == 3 && arr_floats(cJSON_GetObjectItem(j, "projected"), proj, 16) != NULL, "--heads output: %s", out);
        double md = 0;
        for (int o = 0; o < 16; o++) md = fmax(md, fabs(proj[o] - mean[o]));
        CHECKF(md < 1e-5, "--heads projected vs mean of head(rows): %g", md);
        cJSON_Delete(j);
        free(out);
    }

    /* --heads with a file that is not there; a --clip folder that is not there */
    fmt(cmd, sizeof cmd, "%s embed --clip '%s' --heads '%s' --image '%s'", SLAVA_BIN, clip, tmp_path("cli/nope.safetensors"),
             pngs[0]);
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 1 && count_lines(err) == 1 && strstr(err, "nope.safetensors") && (!out || !*out));
    free(out);
    free(err);
    fmt(cmd, sizeof cmd, "%s embed --clip '%s' --image '%s'", SLAVA_BIN, tmp_path("cli/noclip"), pngs[0]);
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 1 && count_lines(err) == 1 && strstr(err, "noclip"));
    free(out);
    free(err);

    free(w_pooled);
    free(w_norm);
    sv_st_close(imgs);
    sv_st_close(exp);
    slava_ctx_free(ctx);
    return test_done("test_embed_vision_cli");
}
