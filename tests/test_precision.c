/*
 * test_precision.c — the prepared products (sv_mat_mul) and the towers in both precisions.
 *   1. sv_mat_mul against float64 loops: W in three row blocks, bias, each fused activation,
 *      accumulate, row strides wider than the rows, row counts 1 / 37 / 600 (600 crosses oneDNN's
 *      512-row pieces). float32 within 1e-4 of the exact product; bf16 within 1e-4 of the product of
 *      bf16-rounded inputs and weights (round to nearest even) and much further from the exact one,
 *      which shows the rounding happens at the product's inputs and nowhere else.
 *   2. The three towers on the fixtures (43 captions, 6 images, 5 audio features) loaded in bf16:
 *      the cosine of every projected embedding with the float32 one (printed: the drift figure of
 *      README), at least 0.999.
 * ctest runs this twice: as is (oneDNN) and with SLAVA_GEMM=openblas (float32 on OpenBLAS, bf16
 * emulated on float32 kernels), so both backends are held to the same numbers.
 */
#include "test.h"
#include "nn/nn.h"
#include "base/rng.h"
#include "io/safetensors.h"
#include "text/clip_text.h"
#include "vision/clip_vision.h"
#include "audio/htsat.h"

static sv_rng R;

static float bf16r(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}

static double act_ref(double v, sv_act a) {
    switch (a) {
    case SV_ACT_GELU_ERF: return 0.5 * v * (1 + erf(v / sqrt(2)));
    case SV_ACT_QUICK_GELU: return v / (1 + exp(-1.702 * v));
    case SV_ACT_RELU: return v > 0 ? v : 0;
    default: return v;
    }
}

static void check_mat(slava_precision prec, int n, int K, sv_act act, int acc) {
    const int rows[3] = {40, 24, 33}, N = 97, ldx = K + 3, ldy = N + 5;
    float *W = malloc(sizeof(float) * N * K), *b = malloc(sizeof(float) * N);
    float *x = malloc(sizeof(float) * (size_t)n * ldx), *y = malloc(sizeof(float) * (size_t)n * ldy);
    float *y0 = malloc(sizeof(float) * (size_t)n * ldy);
    for (int i = 0; i < N * K; i++) W[i] = (float)(sv_rng_normal(&R) / sqrt(K));
    for (int i = 0; i < N; i++) b[i] = (float)sv_rng_normal(&R) * 0.1f;
    for (int i = 0; i < n * ldx; i++) x[i] = (float)sv_rng_normal(&R);
    for (int i = 0; i < n * ldy; i++) y0[i] = y[i] = (float)sv_rng_normal(&R);
    const float *parts[3] = {W, W + rows[0] * K, W + (rows[0] + rows[1]) * K};
    slava_ctx *ctx = slava_ctx_new();
    sv_mat m;
    CHECK_OK(ctx, sv_mat_init(ctx, &m, 3, parts, rows, K, prec, NULL, NULL));
    sv_mat_mul(&m, x, n, ldx, b, act, acc, y, ldy);
    const int bf = prec == SLAVA_PRECISION_BF16;
    double err_r = 0, err_x = 0;   /* vs rounded-input reference, vs exact */
    int pad_ok = 1;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < N; j++) {
            double sr = b[j], sx = b[j];
            for (int k = 0; k < K; k++) {
                const float xv = x[(size_t)i * ldx + k], wv = W[(size_t)j * K + k];
                sx += (double)xv * wv;
                sr += (double)(bf ? bf16r(xv) : xv) * (bf ? bf16r(wv) : wv);
            }
            const double base = acc ? y0[(size_t)i * ldy + j] : 0;
            const double got = y[(size_t)i * ldy + j];
            err_r = fmax(err_r, fabs(got - (act_ref(sr, act) + base)));
            err_x = fmax(err_x, fabs(got - (act_ref(sx, act) + base)));
        }
        for (int j = N; j < ldy; j++) pad_ok &= y[(size_t)i * ldy + j] == y0[(size_t)i * ldy + j];
    }
    CHECKF(err_r < 1e-4 && pad_ok, "%s n %d K %d act %d acc %d: max error %g (padding %s)", sv_precision_name(prec), n,
           K, act, acc, err_r, pad_ok ? "kept" : "written");
    if (bf) CHECKF(err_x > 10 * err_r, "bf16 n %d: error vs exact %g, vs rounded %g", n, err_x, err_r);
    sv_mat_free(&m);
    slava_ctx_free(ctx);
    free(W); free(b); free(x); free(y); free(y0);
}

static double min_cosine(const float *a, const float *b, int n, int d) {
    double worst = 1;
    for (int i = 0; i < n; i++) {
        double ab = 0, aa = 0, bb = 0;
        for (int j = 0; j < d; j++) {
            ab += (double)a[i * d + j] * b[i * d + j];
            aa += (double)a[i * d + j] * a[i * d + j];
            bb += (double)b[i * d + j] * b[i * d + j];
        }
        worst = fmin(worst, ab / sqrt(aa * bb));
    }
    return worst;
}

/* Prints and checks the drift of n embeddings [n, P] (a float32, b bf16; both freed). */
static void drift(const char *what, int n, int P, float *a, float *b) {
    double c = min_cosine(a, b, n, P);
    printf("drift %s (%d): min cosine bf16 vs fp32 %.6f\n", what, n, c);
    CHECKF(c >= 0.999, "%s min cosine %g", what, c);
    free(a);
    free(b);
}

static float *read_f32(slava_ctx *ctx, const char *path, const char *name, size_t *n) {
    sv_stfile *f = NULL;
    if (sv_st_open(ctx, path, &f) != SLAVA_OK) return NULL;
    const sv_tensor *t = sv_st_find(f, name);
    float *x = t ? malloc(sizeof(float) * (size_t)t->numel) : NULL;
    if (x && sv_tensor_to_f32(ctx, path, t, x) != SLAVA_OK) { free(x); x = NULL; }
    if (x && n) *n = (size_t)t->numel;
    sv_st_close(f);
    return x;
}

static void towers(slava_ctx *ctx) {
    /* text: the 43 fixture captions */
    sv_stfile *f = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("text/captions.safetensors"), &f));
    const sv_tensor *o = f ? sv_st_find(f, "offsets") : NULL, *u = f ? sv_st_find(f, "utf8") : NULL;
    if (o && u) {
        const int n = (int)o->numel - 1;
        char **caps = calloc((size_t)n, sizeof(char *));
        const int32_t *off = o->data;
        for (int i = 0; i < n; i++) {
            caps[i] = calloc(1, (size_t)(off[i + 1] - off[i]) + 1);
            memcpy(caps[i], (const char *)u->data + off[i], (size_t)(off[i + 1] - off[i]));
        }
        slava_clip_text *m32 = NULL, *m16 = NULL;
        CHECK_OK(ctx, sv_clip_text_load_prec(ctx, fixture("clip-model"), SLAVA_PRECISION_FP32, &m32));
        CHECK_OK(ctx, sv_clip_text_load_prec(ctx, fixture("clip-model"), SLAVA_PRECISION_BF16, &m16));
        if (m32 && m16) {
            int D, P;
            slava_clip_text_dims(m32, &D, &P, NULL);
            float *a = malloc(sizeof(float) * n * P), *b = malloc(sizeof(float) * n * P);
            CHECK_OK(ctx, slava_clip_text_encode(ctx, m32, n, (const char *const *)caps, NULL, a));
            CHECK_OK(ctx, slava_clip_text_encode(ctx, m16, n, (const char *const *)caps, NULL, b));
            drift("text captions", n, P, a, b);
        }
        slava_clip_text_free(m32);
        slava_clip_text_free(m16);
        for (int i = 0; i < n; i++) free(caps[i]);
        free(caps);
    }
    sv_st_close(f);

    /* images: the fixture's preprocessed pixels */
    size_t npx = 0;
    float *px = read_f32(ctx, fixture("image/image_expected.safetensors"), "pixel_values", &npx);
    CHECK(px != NULL);
    slava_clip_vision *v32 = NULL, *v16 = NULL;
    CHECK_OK(ctx, sv_clip_vision_load_prec(ctx, fixture("clip-model"), SLAVA_PRECISION_FP32, &v32));
    CHECK_OK(ctx, sv_clip_vision_load_prec(ctx, fixture("clip-model"), SLAVA_PRECISION_BF16, &v16));
    if (px && v32 && v16) {
        int S, P;
        slava_clip_vision_dims(v32, &S, NULL, &P);
        const int n = (int)(npx / (3 * (size_t)S * S));
        float *a = malloc(sizeof(float) * n * P), *b = malloc(sizeof(float) * n * P);
        CHECK_OK(ctx, slava_clip_vision_encode(ctx, v32, n, px, NULL, a));
        CHECK_OK(ctx, slava_clip_vision_encode(ctx, v16, n, px, NULL, b));
        drift("images", n, P, a, b);
    }
    slava_clip_vision_free(v32);
    slava_clip_vision_free(v16);
    free(px);

    /* audio: the fixture's upstream log-mel features */
    size_t nf = 0;
    float *feat = read_f32(ctx, fixture("audio/audio_expected.safetensors"), "input_features", &nf);
    CHECK(feat != NULL);
    sv_htsat *h32 = NULL, *h16 = NULL;
    CHECK_OK(ctx, sv_htsat_load_prec(ctx, fixture("clap-model"), SLAVA_PRECISION_FP32, &h32));
    CHECK_OK(ctx, sv_htsat_load_prec(ctx, fixture("clap-model"), SLAVA_PRECISION_BF16, &h16));
    if (feat && h32 && h16) {
        const int n = (int)(nf / ((size_t)h32->T * h32->M)), P = h32->P;
        float *a = malloc(sizeof(float) * n * P), *b = malloc(sizeof(float) * n * P);
        CHECK_OK(ctx, sv_htsat_forward(ctx, h32, NULL, n, feat, NULL, a, NULL));
        CHECK_OK(ctx, sv_htsat_forward(ctx, h16, NULL, n, feat, NULL, b, NULL));
        drift("audio clips", n, P, a, b);
    }
    sv_htsat_free(h32);
    sv_htsat_free(h16);
    free(feat);
}

int main(void) {
    sv_rng_seed(&R, 7);
    slava_set_threads(2);
    const int ns[3] = {1, 37, 600};
    const sv_act acts[4] = {SV_ACT_NONE, SV_ACT_GELU_ERF, SV_ACT_QUICK_GELU, SV_ACT_RELU};
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 3; i++) {
            const slava_precision prec = p ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32;
            for (int a = 0; a < 4; a++) check_mat(prec, ns[i], 70, acts[a], 0);
            check_mat(prec, ns[i], 130, SV_ACT_NONE, 1);
        }
    char d[512];
    sv_gemm_describe(d, sizeof d);
    printf("GEMM: %s\n", d);
    CHECK(strstr(d, "bf16 ") != NULL);
    slava_ctx *ctx = slava_ctx_new();
    towers(ctx);
    sv_gemm_choices(d, sizeof d);
    printf("choices: %s\n", d);
    slava_ctx_free(ctx);
    return test_done("precision");
}
