/*
 * test_clip_text.c — CLIP text tower parity with transformers 4.40 (tests/fixtures/text):
 * pooled, embeds and embeds_normalized for all 43 captions, for the float32 checkpoint and the
 * float16 one (model-f16.safetensors, expected values in text_expected_f16), batched and one at a
 * time; errors for a config that does not fit the weights and for ids without end-of-text.
 * Prints the largest errors seen next to the tolerances of cases.json.
 */
#include "test.h"
#include "io/safetensors.h"
#include <sys/stat.h>

#define NCAP 43

static char *captions[NCAP];

static int load_captions(slava_ctx *ctx) {
    sv_stfile *f = NULL;
    if (sv_st_open(ctx, fixture("text/captions.safetensors"), &f) != SLAVA_OK) return 0;
    const sv_tensor *o = sv_st_find(f, "offsets"), *u = sv_st_find(f, "utf8");
    int ok = o && u && o->numel == NCAP + 1;
    for (int i = 0; ok && i < NCAP; i++) {
        const int32_t *off = o->data;
        captions[i] = calloc(1, (size_t)(off[i + 1] - off[i]) + 1);
        memcpy(captions[i], (const char *)u->data + off[i], (size_t)(off[i + 1] - off[i]));
    }
    sv_st_close(f);
    return ok;
}

static const float *tensor(const sv_stfile *f, const char *name, int64_t numel) {
    const sv_tensor *t = sv_st_find(f, name);
    return t && t->dtype == SV_F32 && t->numel == numel ? t->data : NULL;
}

static void normalize(float *x, int n, int d) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
        double inv = 1.0 / fmax(sqrt(s), 1e-12);
        for (int j = 0; j < d; j++) x[i * d + j] = (float)(x[i * d + j] * inv);
    }
}

/* Encodes all captions with the model in dir and compares with the expected file. */
static void parity(slava_ctx *ctx, const char *dir, const char *expected, const char *label, int has_norm) {
    slava_clip_text *m = NULL;
    CHECK_OK(ctx, slava_clip_text_load(ctx, dir, &m));
    if (!m) return;
    int D, P, L;
    slava_clip_text_dims(m, &D, &P, &L);
    CHECK(D == 64 && P == 32 && L == 77);
    float *pooled = calloc((size_t)NCAP * D, sizeof(float)), *proj = calloc((size_t)NCAP * P, sizeof(float));
    CHECK_OK(ctx, slava_clip_text_encode(ctx, m, NCAP, (const char *const *)captions, pooled, proj));
    sv_stfile *ef = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, expected, &ef));
    const float *ep = ef ? tensor(ef, "pooled", (int64_t)NCAP * D) : NULL;
    const float *ee = ef ? tensor(ef, "embeds", (int64_t)NCAP * P) : NULL;
    const float *en = ef ? tensor(ef, "embeds_normalized", (int64_t)NCAP * P) : NULL;
    CHECK(ep && ee && (en || !has_norm));
    if (ep && ee) {
        double dp = max_abs_diff(pooled, ep, (size_t)NCAP * D), de = max_abs_diff(proj, ee, (size_t)NCAP * P);
        printf("%s: max |pooled - expected| = %.3g (tol 2e-4), max |embeds - expected| = %.3g (tol 2e-4)\n", label, dp, de);
        CHECKF(allclose(pooled, ep, (size_t)NCAP * D, 2e-4, 0), "%s pooled off by %g", label, dp);
        CHECKF(allclose(proj, ee, (size_t)NCAP * P, 2e-4, 0), "%s embeds off by %g", label, de);
        float *nrm = malloc(sizeof(float) * (size_t)NCAP * P);
        memcpy(nrm, proj, sizeof(float) * (size_t)NCAP * P);
        normalize(nrm, NCAP, P);
        if (en) {
            double dn = max_abs_diff(nrm, en, (size_t)NCAP * P);
            double mincos = 1;
            for (int i = 0; i < NCAP; i++) {
                double s = 0;
                for (int j = 0; j < P; j++) s += (double)nrm[i * P + j] * en[i * P + j];
                if (s < mincos) mincos = s;
            }
            printf("%s: max |embeds_normalized - expected| = %.3g (tol 5e-5), min cosine %.9f (tol 0.99999)\n", label, dn, mincos);
            CHECKF(allclose(nrm, en, (size_t)NCAP * P, 5e-5, 0), "%s normalized off by %g", label, dn);
            CHECK(mincos >= 0.99999);
        }
        free(nrm);
    }
    /* one caption at a time gives the same numbers as the packed batch */
    float p1[64], e1[2 * 32];   /* e1 also takes the two-caption call below */
    double worst = 0;
    for (int i = 0; i < NCAP; i++) {
        CHECK_OK(ctx, slava_clip_text_encode(ctx, m, 1, (const char *const *)&captions[i], p1, e1));
        double d = max_abs_diff(p1, pooled + (size_t)i * D, (size_t)D);
        if (d > worst) worst = d;
    }
    CHECKF(worst < 1e-4, "%s: single vs batched differ by %g", label, worst);
    /* outputs may be NULL */
    CHECK_OK(ctx, slava_clip_text_encode(ctx, m, 2, (const char *const *)captions, NULL, e1));
    /* ids without end-of-text, out-of-range ids, too long */
    int ids[3] = {49406, 320, 1929}, lens[1] = {3};
    CHECK(slava_clip_text_encode_ids(ctx, m, 1, ids, 3, lens, p1, NULL) == SLAVA_E_ARG);
    CHECK(strstr(slava_ctx_error(ctx), "end-of-text") != NULL);
    int bad[2] = {49406, 60000}, lb[1] = {2};
    CHECK(slava_clip_text_encode_ids(ctx, m, 1, bad, 2, lb, p1, NULL) == SLAVA_E_ARG);
    int many[80] = {0}, lm[1] = {80};
    many[79] = 49407;
    CHECK(slava_clip_text_encode_ids(ctx, m, 1, many, 80, lm, p1, NULL) == SLAVA_E_ARG);
    sv_st_close(ef);
    free(pooled);
    free(proj);
    slava_clip_text_free(m);
}

static void sh(const char *fmt, const char *a, const char *b) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    CHECKF(system(cmd) == 0, "%s", cmd);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    CHECK(load_captions(ctx));
    parity(ctx, fixture("clip-model"), fixture("text/text_expected.safetensors"), "float32 checkpoint", 1);

    /* float16 checkpoint: a folder holding model-f16.safetensors as model.safetensors */
    const char *d = tmp_path("clip_f16");
    sh("rm -rf '%s' && mkdir -p '%s'", d, d);
    const char *files[] = {"config.json", "vocab.json", "merges.txt"};
    for (int i = 0; i < 3; i++) {
        char src[1100], dst[1100];
        snprintf(src, sizeof src, "%s/clip-model/%s", SLAVA_FIXTURES, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", d, files[i]);
        sh("cp '%s' '%s'", src, dst);
    }
    char dst[1100];
    snprintf(dst, sizeof dst, "%s/model.safetensors", d);
    sh("cp '%s' '%s'", fixture("clip-model/model-f16.safetensors"), dst);
    parity(ctx, d, fixture("text/text_expected_f16.safetensors"), "float16 checkpoint", 0);

    /* a config that does not fit the weights: one clear error naming the tensor */
    char cfg[1100];
    snprintf(cfg, sizeof cfg, "%s/config.json", d);
    FILE *f = fopen(cfg, "w");
    fputs("{\"model_type\": \"clip\", \"projection_dim\": 32, \"text_config\": {\"hidden_size\": 64, "
          "\"intermediate_size\": 128, \"num_attention_heads\": 4, \"num_hidden_layers\": 3}}", f);
    fclose(f);
    slava_clip_text *m = NULL;
    CHECK(slava_clip_text_load(ctx, d, &m) == SLAVA_E_NOTFOUND && m == NULL);
    CHECKF(strstr(slava_ctx_error(ctx), "text_model.encoder.layers.2.") != NULL, "%s", slava_ctx_error(ctx));
    f = fopen(cfg, "w");
    fputs("{\"model_type\": \"clip\", \"projection_dim\": 16, \"text_config\": {\"hidden_size\": 64, "
          "\"intermediate_size\": 128, \"num_attention_heads\": 4, \"num_hidden_layers\": 2}}", f);
    fclose(f);
    CHECK(slava_clip_text_load(ctx, d, &m) == SLAVA_E_SHAPE && m == NULL);
    CHECKF(strstr(slava_ctx_error(ctx), "'text_projection.weight' is [32,64], config says [16,64]") != NULL, "%s",
           slava_ctx_error(ctx));
    /* tokenizer files missing */
    snprintf(cfg, sizeof cfg, "%s/merges.txt", d);
    unlink(cfg);
    CHECK(slava_clip_text_load(ctx, d, &m) != SLAVA_OK && strstr(slava_ctx_error(ctx), "merges.txt"));

    for (int i = 0; i < NCAP; i++) free(captions[i]);
    slava_ctx_free(ctx);
    return test_done("clip_text");
}
