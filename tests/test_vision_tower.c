/*
 * test_vision_tower.c — CLIP image tower parity with transformers 4.40 (tests/fixtures/image):
 * from the fixture's pixel_values, last_hidden_state, pooled, embeds (visual_projection) and
 * normalised embeds within cases.json's tolerances, for the F32 checkpoint and for the F16 one
 * (model-f16.safetensors copied into a temp folder as model.safetensors). Also: results do not
 * depend on how frames are batched, and a checkpoint with a wrong-shaped tensor is refused with
 * a message naming the file and the tensor.
 */
#include "test.h"
#include "io/safetensors.h"
#include "vision/clip_vision.h"
#include <sys/stat.h>

static int copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) { if (a) fclose(a); if (b) fclose(b); return -1; }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    fclose(a);
    fclose(b);
    return 0;
}

static float *tensor(slava_ctx *ctx, sv_stfile *f, const char *name, size_t want) {
    const sv_tensor *t = sv_st_find(f, name);
    CHECKF(t && (size_t)t->numel == want, "%s: tensor %s", f->path, name);
    if (!t || (size_t)t->numel != want) return NULL;
    float *x = malloc(sizeof(float) * want);
    CHECK_OK(ctx, sv_tensor_to_f32(ctx, name, t, x));
    return x;
}

/* Runs the tower on the fixture pixels and compares with `exp`. */
static void check_model(slava_ctx *ctx, const char *dir, const char *exp_path, int full, const float *pixels, int n,
                        const char *label) {
    slava_clip_vision *m = NULL;
    CHECK_OK(ctx, slava_clip_vision_load(ctx, dir, &m));
    if (!m) return;
    int S, D, P;
    slava_clip_vision_dims(m, &S, &D, &P);
    CHECK(S == 224 && D == 64 && P == 32);
    sv_stfile *exp = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, exp_path, &exp));
    if (!exp) { slava_clip_vision_free(m); return; }
    const int L = m->L;
    float *pooled = malloc(sizeof(float) * n * D), *proj = malloc(sizeof(float) * n * P);
    float *hid = malloc(sizeof(float) * (size_t)n * L * D);
    CHECK_OK(ctx, sv_clip_vision_forward(ctx, m, n, pixels, hid, pooled, proj));
    float *w_pooled = tensor(ctx, exp, "pooled", (size_t)n * D);
    float *w_emb = tensor(ctx, exp, "embeds", (size_t)n * P);
    if (w_pooled && w_emb) {
        double dp = max_abs_diff(pooled, w_pooled, (size_t)n * D);
        double de = max_abs_diff(proj, w_emb, (size_t)n * P);
        CHECKF(dp <= 2e-4, "%s pooled max diff %g (tolerance 2e-4)", label, dp);
        CHECKF(de <= 1e-4, "%s embeds max diff %g (tolerance 1e-4)", label, de);
        printf("%s: pooled max diff %.3g (tol 2e-4), embeds max diff %.3g (tol 1e-4)", label, dp, de);
        double min_cos = 1;
        for (int i = 0; i < n; i++) {
            double ab = 0, aa = 0, bb = 0;
            for (int j = 0; j < P; j++) {
                ab += (double)proj[i * P + j] * w_emb[i * P + j];
                aa += (double)proj[i * P + j] * proj[i * P + j];
                bb += (double)w_emb[i * P + j] * w_emb[i * P + j];
            }
            double c = ab / sqrt(aa * bb);
            if (c < min_cos) min_cos = c;
        }
        CHECKF(min_cos >= 0.99999, "%s embeds min cosine %.8f", label, min_cos);
        if (full) {
            float *w_hid = tensor(ctx, exp, "last_hidden_state", (size_t)n * L * D);
            float *w_norm = tensor(ctx, exp, "embeds_normalized", (size_t)n * P);
            if (w_hid && w_norm) {
                double dh = max_abs_diff(hid, w_hid, (size_t)n * L * D);
                float *pn = malloc(sizeof(float) * n * P);
                memcpy(pn, proj, sizeof(float) * n * P);
                sv_l2_normalize_rows(pn, n, P);
                double dn = max_abs_diff(pn, w_norm, (size_t)n * P);
                free(pn);
                CHECKF(dh <= 5e-4, "%s last_hidden_state max diff %g (tolerance 5e-4)", label, dh);
                CHECKF(dn <= 2e-5, "%s embeds_normalized max diff %g (tolerance 2e-5)", label, dn);
                printf(", last_hidden_state %.3g (tol 5e-4), embeds_normalized %.3g (tol 2e-5)", dh, dn);
            }
            free(w_hid);
            free(w_norm);
        }
        printf(", min cosine %.9f\n", min_cos);
    }
    /* Batching must not change results: frames one at a time vs all together. */
    float *one = malloc(sizeof(float) * D);
    int same = 1;
    for (int i = 0; i < n; i++) {
        CHECK_OK(ctx, slava_clip_vision_encode(ctx, m, 1, pixels + (size_t)i * 3 * S * S, one, NULL));
        same &= max_abs_diff(one, pooled + (size_t)i * D, D) <= 1e-5;
    }
    CHECKF(same, "%s: pooled of single frames differs from the batch", label);
    free(one);
    /* More frames than one internal batch (SV_CLIP_VISION_BATCH): the fixture frames repeated. */
    {
        const int many = SV_CLIP_VISION_BATCH + 9;
        const size_t fs = (size_t)3 * S * S;
        float *px = malloc(sizeof(float) * fs * many), *pm = malloc(sizeof(float) * (size_t)many * D),
              *jm = malloc(sizeof(float) * (size_t)many * P);
        for (int i = 0; i < many; i++) memcpy(px + i * fs, pixels + (size_t)(i % n) * fs, sizeof(float) * fs);
        CHECK_OK(ctx, slava_clip_vision_encode(ctx, m, many, px, pm, jm));
        int ok = 1;
        for (int i = 0; i < many; i++)
            ok &= max_abs_diff(pm + (size_t)i * D, pooled + (size_t)(i % n) * D, D) <= 1e-5 &&
                  max_abs_diff(jm + (size_t)i * P, proj + (size_t)(i % n) * P, P) <= 1e-4;
        CHECKF(ok, "%s: %d frames in several batches differ from the first run", label, many);
        free(px);
        free(pm);
        free(jm);
    }
    free(w_pooled);
    free(w_emb);
    free(pooled);
    free(proj);
    free(hid);
    sv_st_close(exp);
    slava_clip_vision_free(m);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(2);
    sv_stfile *exp = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("image/image_expected.safetensors"), &exp));
    if (!exp) return test_done("test_vision_tower");
    const sv_tensor *pv = sv_st_find(exp, "pixel_values");
    int n = (int)pv->shape[0];
    float *pixels = tensor(ctx, exp, "pixel_values", (size_t)n * 3 * 224 * 224);
    sv_st_close(exp);
    if (!pixels) return test_done("test_vision_tower");

    check_model(ctx, fixture("clip-model"), fixture("image/image_expected.safetensors"), 1, pixels, n, "f32");

    /* F16 checkpoint in its own folder */
    mkdir(tmp_path("clip16"), 0755);
    CHECK(copy_file(fixture("clip-model/model-f16.safetensors"), tmp_path("clip16/model.safetensors")) == 0);
    CHECK(copy_file(fixture("clip-model/config.json"), tmp_path("clip16/config.json")) == 0);
    check_model(ctx, tmp_path("clip16"), fixture("image/image_expected_f16.safetensors"), 0, pixels, n, "f16");

    /* A tensor of the wrong shape: refused, message names the file and the tensor. */
    {
        sv_stfile *f = NULL;
        CHECK_OK(ctx, sv_st_open(ctx, fixture("clip-model/model.safetensors"), &f));
        if (f) {
            sv_wtensor *wt = calloc(f->n, sizeof *wt);
            float bad[10] = {0};
            for (int i = 0; i < f->n; i++) {
                const sv_tensor *t = &f->tensors[i];
                wt[i].name = t->name;
                wt[i].dtype = t->dtype;
                wt[i].ndim = t->ndim;
                memcpy(wt[i].shape, t->shape, sizeof t->shape);
                wt[i].data = t->data;
                if (!strcmp(t->name, "vision_model.post_layernorm.bias")) {
                    wt[i].shape[0] = 10;
                    wt[i].data = bad;
                }
            }
            mkdir(tmp_path("clipbad"), 0755);
            CHECK_OK(ctx, sv_st_write(ctx, tmp_path("clipbad/model.safetensors"), wt, f->n, NULL));
            CHECK(copy_file(fixture("clip-model/config.json"), tmp_path("clipbad/config.json")) == 0);
            slava_clip_vision *m = NULL;
            CHECK(slava_clip_vision_load(ctx, tmp_path("clipbad"), &m) == SLAVA_E_SHAPE);
            CHECK(m == NULL);
            CHECKF(strstr(slava_ctx_error(ctx), "model.safetensors") && strstr(slava_ctx_error(ctx), "post_layernorm.bias"),
                   "message: %s", slava_ctx_error(ctx));
            free(wt);
            sv_st_close(f);
        }
    }
    /* A folder without a checkpoint */
    {
        slava_clip_vision *m = NULL;
        mkdir(tmp_path("clipnone"), 0755);
        CHECK(slava_clip_vision_load(ctx, tmp_path("clipnone"), &m) != SLAVA_OK);
        CHECK(strstr(slava_ctx_error(ctx), "clipnone") != NULL);
    }
    free(pixels);
    slava_ctx_free(ctx);
    return test_done("test_vision_tower");
}
