/* test_clap_init.c — `init-random --like clap`: the written model.safetensors has exactly the
 * tensor names, shapes and dtypes of the upstream fixture (ClapModel, audio and text towers,
 * int64 buffers included), the relative_position_index buffers equal upstream's, the same seed
 * gives the same bytes and another seed different ones, the folder loads and encodes, and the
 * CLI reports a bad config as one line. */
#include "test.h"
#include "audio/htsat.h"
#include "io/safetensors.h"

static slava_ctx *ctx;

static char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    char *b = malloc((size_t)*len + 1);
    if (fread(b, 1, (size_t)*len, f) != (size_t)*len) { free(b); b = NULL; }
    fclose(f);
    return b;
}

int main(void) {
    ctx = slava_ctx_new();
    slava_set_threads(2);
    const char *cfg = fixture("clap-model/config.json");
    const char *d1 = tmp_path("clap_init_a"), *d2 = tmp_path("clap_init_b"), *d3 = tmp_path("clap_init_c");
    CHECK_OK(ctx, slava_clap_init_random(ctx, cfg, 7, d1));
    CHECK_OK(ctx, slava_clap_init_random(ctx, cfg, 7, d2));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && %s init-random --like clap --config '%s' --seed 8 --out '%s'", d3, SLAVA_BIN, cfg,
             d3);   /* a fresh folder: init-random refuses a non-empty one */
    CHECK(run_cmd(cmd, NULL, NULL) == 0);

    char p1[1100], p2[1100], p3[1100];
    snprintf(p1, sizeof p1, "%s/model.safetensors", d1);
    snprintf(p2, sizeof p2, "%s/model.safetensors", d2);
    snprintf(p3, sizeof p3, "%s/model.safetensors", d3);
    sv_stfile *ref = NULL, *got = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("clap-model/model.safetensors"), &ref));
    CHECK_OK(ctx, sv_st_open(ctx, p1, &got));
    if (ref && got) {
        CHECKF(ref->n == got->n, "%d tensors upstream, %d written", ref->n, got->n);
        int same = 0;
        for (int i = 0; i < ref->n; i++) {
            const sv_tensor *a = &ref->tensors[i], *b = sv_st_find(got, a->name);
            int ok = b && a->dtype == b->dtype && a->ndim == b->ndim;
            for (int d = 0; ok && d < a->ndim; d++) ok = a->shape[d] == b->shape[d];
            if (!ok) fprintf(stderr, "tensor %s differs or is missing\n", a->name);
            same += ok;
            if (ok && strstr(a->name, "relative_position_index"))
                CHECKF(!memcmp(a->data, b->data, a->nbytes), "%s values", a->name);
            if (ok && strstr(a->name, "position_ids")) CHECKF(!memcmp(a->data, b->data, a->nbytes), "%s values", a->name);
        }
        CHECK(same == ref->n);
    }
    sv_st_close(ref);
    sv_st_close(got);

    long l1 = 0, l2 = 0, l3 = 0;
    char *b1 = slurp(p1, &l1), *b2 = slurp(p2, &l2), *b3 = slurp(p3, &l3);
    CHECK(b1 && b2 && b3 && l1 == l2 && l1 == l3);
    CHECK(b1 && b2 && !memcmp(b1, b2, (size_t)l1));
    CHECK(b1 && b3 && l1 == l3 && memcmp(b1, b3, (size_t)l1) != 0);
    free(b1); free(b2); free(b3);

    /* loads and encodes: finite, distinct outputs for distinct inputs */
    slava_clap_audio *m = NULL;
    CHECK_OK(ctx, slava_clap_audio_load(ctx, d1, &m));
    if (m) {
        int D = 0, P = 0;
        slava_clap_audio_dims(m, &D, &P);
        CHECK(D == 128 && P == 32);
        size_t fs = (size_t)SLAVA_MEL_FRAMES * SLAVA_MEL_BINS;
        float *feat = malloc(sizeof(float) * fs * 2), *pooled = malloc(sizeof(float) * 2 * D), proj[64];
        for (size_t i = 0; i < fs * 2; i++) feat[i] = (float)(-60.0 + 30.0 * sin(0.001 * (double)i * (i < fs ? 1 : 3)));
        CHECK_OK(ctx, slava_clap_audio_encode(ctx, m, 2, feat, pooled, proj));
        int fin = 1;
        for (int i = 0; i < 2 * D; i++) fin &= isfinite(pooled[i]);
        CHECK(fin && max_abs_diff(pooled, pooled + D, (size_t)D) > 1e-4);
        free(feat);
        free(pooled);
        slava_clap_audio_free(m);
    }

    /* a preprocessor_config.json describing another front end is refused, naming the file and key */
    {
        char pp[1100];
        snprintf(pp, sizeof pp, "%s/preprocessor_config.json", d2);
        FILE *f = fopen(pp, "w");
        fputs("{\"truncation\": \"fusion\", \"sampling_rate\": 48000}", f);
        fclose(f);
        slava_clap_audio *m2 = NULL;
        CHECK(slava_clap_audio_load(ctx, d2, &m2) == SLAVA_E_UNSUPPORTED && strstr(slava_ctx_error(ctx), "preprocessor_config.json") &&
              strstr(slava_ctx_error(ctx), "truncation"));
        slava_clap_audio_free(m2);
        f = fopen(pp, "w");
        fputs("{\"hop_length\": 320}", f);
        fclose(f);
        CHECK(slava_clap_audio_load(ctx, d2, &m2) == SLAVA_E_UNSUPPORTED && strstr(slava_ctx_error(ctx), "hop_length"));
        slava_clap_audio_free(m2);
    }

    /* bad config → one error line naming it, exit 1 */
    char *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s init-random --like clap --config '%s' --out '%s'", SLAVA_BIN, tmp_path("nope.json"), tmp_path("clap_init_x"));
    int rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 1 && err && count_lines(err) == 1 && strstr(err, "nope.json"));
    free(out); free(err);
    slava_ctx_free(ctx);
    return test_done("test_clap_init");
}
