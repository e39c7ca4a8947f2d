/*
 * test_nn.c — the shared numeric blocks against float64 reference loops: linear, layernorm,
 * softmax, activations, attention (plain, causal, with bias + window mask over packed
 * sequences) and the whole pre-LN block.
 */
#include "test.h"
#include "nn/nn.h"
#include "base/rng.h"

static sv_rng R;
static float *randv(size_t n, float s) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(sv_rng_normal(&R) * s);
    return x;
}

/* float64 reference attention */
static void ref_attention(const float *qkv, double *out, int nseq, const int *offs, int D, int H, double scale,
                          int causal, const float *bias, const float *mask, int nmask) {
    int hd = D / H;
    for (int s = 0; s < nseq; s++) {
        int o = offs[s], L = offs[s + 1] - o;
        for (int h = 0; h < H; h++)
            for (int i = 0; i < L; i++) {
                double sc[128], m = -1e300, sum = 0;
                int jn = causal ? i + 1 : L;
                for (int j = 0; j < jn; j++) {
                    double d = 0;
                    for (int t = 0; t < hd; t++) d += (double)qkv[(o + i) * 3 * D + h * hd + t] * qkv[(o + j) * 3 * D + D + h * hd + t];
                    d *= scale;
                    if (bias) d += bias[(h * L + i) * L + j];
                    if (mask) d += mask[((s % nmask) * L + i) * L + j];
                    sc[j] = d;
                    if (d > m) m = d;
                }
                for (int j = 0; j < jn; j++) { sc[j] = exp(sc[j] - m); sum += sc[j]; }
                for (int t = 0; t < hd; t++) {
                    double a = 0;
                    for (int j = 0; j < jn; j++) a += sc[j] / sum * qkv[(o + j) * 3 * D + 2 * D + h * hd + t];
                    out[(o + i) * D + h * hd + t] = a;
                }
            }
    }
}

static double maxdiff_d(const float *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs(a[i] - b[i]); if (!(d <= m)) m = d; }
    return m;
}

static void ref_layernorm(const float *x, double *y, int n, int d, const float *g, const float *b, double eps) {
    for (int i = 0; i < n; i++) {
        double mu = 0, var = 0;
        for (int j = 0; j < d; j++) mu += x[i * d + j];
        mu /= d;
        for (int j = 0; j < d; j++) var += (x[i * d + j] - mu) * (x[i * d + j] - mu);
        var /= d;
        for (int j = 0; j < d; j++) y[i * d + j] = (x[i * d + j] - mu) / sqrt(var + eps) * g[j] + b[j];
    }
}

static void ref_linear(const double *x, int n, int in, const float *W, const float *b, int out, double *y) {
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double a = b ? b[o] : 0;
            for (int k = 0; k < in; k++) a += x[i * in + k] * W[o * in + k];
            y[i * out + o] = a;
        }
}

int main(void) {
    sv_rng_seed(&R, 42);
    slava_set_threads(2);
    slava_ctx *ctx = slava_ctx_new();

    /* linear */
    int n = 37, in = 70, out = 45;
    float *x = randv(n * in, 1), *W = randv(out * in, 0.2f), *b = randv(out, 1), *y = malloc(n * out * 4);
    double *xd = malloc(n * in * 8), *yd = malloc(n * out * 8);
    for (int i = 0; i < n * in; i++) xd[i] = x[i];
    sv_linear(x, n, in, W, b, out, y);
    ref_linear(xd, n, in, W, b, out, yd);
    CHECK(maxdiff_d(y, yd, n * out) < 1e-4);
    sv_linear(x, n, in, W, NULL, out, y);
    ref_linear(xd, n, in, W, NULL, out, yd);
    CHECK(maxdiff_d(y, yd, n * out) < 1e-4);

    /* layernorm, in place and out of place */
    float *g = randv(in, 1), *be = randv(in, 1), *ln = malloc(n * in * 4);
    double *lnd = malloc(n * in * 8);
    sv_layernorm(x, ln, n, in, g, be, 1e-5f);
    ref_layernorm(x, lnd, n, in, g, be, 1e-5);
    CHECK(maxdiff_d(ln, lnd, n * in) < 1e-5);
    memcpy(ln, x, n * in * 4);
    sv_layernorm(ln, ln, n, in, g, be, 1e-5f);
    CHECK(maxdiff_d(ln, lnd, n * in) < 1e-5);

    /* activations and softmax */
    float v[5] = {-3, -0.5f, 0, 0.5f, 3}, v2[5], v3[5];
    memcpy(v2, v, sizeof v);
    memcpy(v3, v, sizeof v);
    sv_quick_gelu(v2, 5);
    sv_gelu_erf(v3, 5);
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        ok &= fabs(v2[i] - v[i] / (1 + exp(-1.702 * v[i]))) < 1e-6;
        ok &= fabs(v3[i] - 0.5 * v[i] * (1 + erf(v[i] / sqrt(2)))) < 1e-6;
    }
    CHECK(ok);
    float sm[6] = {1, 2, 3, 1000, 1000, -1000};
    sv_softmax_rows(sm, 2, 3);
    CHECK(fabs(sm[0] + sm[1] + sm[2] - 1) < 1e-6 && fabs(sm[2] - exp(1) / (exp(-1) + 1 + exp(1))) < 1e-6);
    CHECK(fabs(sm[3] - 0.5) < 1e-6 && sm[5] == 0.0f);

    /* attention over packed sequences of different lengths; causal and not */
    int D = 32, H = 4, offs[4] = {0, 5, 17, 18};
    float *qkv = randv(18 * 3 * D, 1), *att = malloc(18 * D * 4);
    double *attd = malloc(18 * D * 8);
    for (int causal = 0; causal < 2; causal++) {
        sv_attention(qkv, att, 3, offs, D, H, 0.35f, causal, NULL, NULL, 1);
        ref_attention(qkv, attd, 3, offs, D, H, 0.35, causal, NULL, NULL, 1);
        CHECKF(maxdiff_d(att, attd, 18 * D) < 1e-5, "causal=%d", causal);
    }
    /* Swin-style windows: equal lengths, bias [H,L,L], mask [nW,L,L] with -100 entries */
    int L = 16, nW = 3, nseq = 6, woffs[7];
    for (int s = 0; s <= nseq; s++) woffs[s] = s * L;
    float *q2 = randv(nseq * L * 3 * D, 1), *bias = randv(H * L * L, 1), *mask = calloc(nW * L * L, 4);
    for (int i = 0; i < nW * L * L; i++) mask[i] = (i % 7 == 0) ? -100.0f : 0.0f;
    float *a2 = malloc(nseq * L * D * 4);
    double *a2d = malloc(nseq * L * D * 8);
    sv_attention(q2, a2, nseq, woffs, D, H, 0.25f, 0, bias, mask, nW);
    ref_attention(q2, a2d, nseq, woffs, D, H, 0.25, 0, bias, mask, nW);
    CHECK(maxdiff_d(a2, a2d, nseq * L * D) < 1e-5);

    /* whole block vs reference composed in float64 */
    {
        int F = 64, N = offs[3];
        sv_block_cfg c = {D, H, F, 1e-5f, 1};
        float *l1w = randv(D, 1), *l1b = randv(D, 0.1f), *l2w = randv(D, 1), *l2b = randv(D, 0.1f);
        float *qw = randv(D * D, 0.2f), *kw = randv(D * D, 0.2f), *vw = randv(D * D, 0.2f);
        float *qb = randv(D, 0.1f), *kb = randv(D, 0.1f), *vb = randv(D, 0.1f);
        float *ow = randv(D * D, 0.2f), *ob = randv(D, 0.1f), *f1w = randv(F * D, 0.2f), *f1b = randv(F, 0.1f);
        float *f2w = randv(D * F, 0.2f), *f2b = randv(D, 0.1f);
        sv_block_w bw = {.ln1_w = l1w, .ln1_b = l1b, .o_w = ow, .o_b = ob, .ln2_w = l2w, .ln2_b = l2b,
                         .fc1_w = f1w, .fc1_b = f1b, .fc2_w = f2w, .fc2_b = f2b};
        CHECK_OK(ctx, sv_block_fuse_qkv(ctx, &bw, D, qw, qb, kw, kb, vw, vb));
        float *h = randv(N * D, 1);
        double *hd = malloc(N * D * 8), *t1 = malloc(N * D * 8), *qkvd = malloc(N * 3 * D * 8), *mid = malloc(N * F * 8);
        for (int i = 0; i < N * D; i++) hd[i] = h[i];
        float *scr = malloc(sv_block_scratch_floats(&c, N) * 4);
        sv_block_forward(&c, &bw, h, 3, offs, 1, scr);
        /* reference */
        float *hf = malloc(N * D * 4), *qkvf = malloc(N * 3 * D * 4);
        for (int i = 0; i < N * D; i++) hf[i] = (float)hd[i];
        ref_layernorm(hf, t1, N, D, l1w, l1b, 1e-5);
        double *tmp = malloc(N * D * 8);
        ref_linear(t1, N, D, qw, qb, D, tmp);
        for (int i = 0; i < N; i++) for (int j = 0; j < D; j++) qkvd[i * 3 * D + j] = tmp[i * D + j];
        ref_linear(t1, N, D, kw, kb, D, tmp);
        for (int i = 0; i < N; i++) for (int j = 0; j < D; j++) qkvd[i * 3 * D + D + j] = tmp[i * D + j];
        ref_linear(t1, N, D, vw, vb, D, tmp);
        for (int i = 0; i < N; i++) for (int j = 0; j < D; j++) qkvd[i * 3 * D + 2 * D + j] = tmp[i * D + j];
        for (int i = 0; i < N * 3 * D; i++) qkvf[i] = (float)qkvd[i];
        ref_attention(qkvf, t1, 3, offs, D, H, 1 / sqrt(D / H), 1, NULL, NULL, 1);
        ref_linear(t1, N, D, ow, ob, D, tmp);
        for (int i = 0; i < N * D; i++) hd[i] += tmp[i];
        for (int i = 0; i < N * D; i++) hf[i] = (float)hd[i];
        ref_layernorm(hf, t1, N, D, l2w, l2b, 1e-5);
        ref_linear(t1, N, D, f1w, f1b, F, mid);
        for (int i = 0; i < N * F; i++) mid[i] = mid[i] / (1 + exp(-1.702 * mid[i]));
        double *t2 = malloc(N * D * 8);
        ref_linear(mid, N, F, f2w, f2b, D, t2);
        for (int i = 0; i < N * D; i++) hd[i] += t2[i];
        double md = maxdiff_d(h, hd, N * D);
        CHECKF(md < 1e-4, "block max diff %g", md);
        sv_block_free(&bw);
        free(l1w); free(l1b); free(l2w); free(l2b); free(qw); free(kw); free(vw); free(qb); free(kb); free(vb);
        free(ow); free(ob); free(f1w); free(f1b); free(f2w); free(f2b); free(h); free(hd); free(t1); free(qkvd);
        free(mid); free(scr); free(hf); free(qkvf); free(tmp); free(t2);
    }
    free(x); free(W); free(b); free(y); free(xd); free(yd); free(g); free(be); free(ln); free(lnd);
    free(qkv); free(att); free(attd); free(q2); free(bias); free(mask); free(a2); free(a2d);
    slava_ctx_free(ctx);
    return test_done("nn");
}
