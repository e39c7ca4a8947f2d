/*
 * test_search_scan.c — the exact-search kernels against plain references: the top-k heap (ties by
 * id, NaN last, k beyond the stream), float16 conversion (exact values, rounding to even,
 * subnormals, overflow), one-query and batched top-k over float32 and float16 rows (one thread and
 * two, row counts around the block sizes), and the approximate index (FAISS HNSW over the rows):
 * its recall against exact search on random unit vectors, and a corrupted graph refused.
 */
#include "test.h"
#include "search/search.h"
#include "base/rng.h"

static void unit_rows(float *x, int64_t n, int P, uint64_t seed) {
    sv_rng r;
    sv_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < P; j++) {
            x[i * P + j] = (float)(2.0 * sv_rng_uniform(&r) - 1.0);
            s += (double)x[i * P + j] * x[i * P + j];
        }
        for (int j = 0; j < P; j++) x[i * P + j] /= (float)sqrt(s);
    }
}

/* The k best of s[n] by (score desc, id asc), NaN last: selection by repeated scans. */
static void ref_topk(const float *s, int64_t n, int k, int64_t *ids) {
    char *used = calloc((size_t)n + 1, 1);
    for (int i = 0; i < k; i++) {
        int64_t best = -1;
        for (int64_t j = 0; j < n; j++)
            if (!used[j] && (best < 0 || sx_better(s[j], j, s[best], best))) best = j;
        ids[i] = best;
        if (best >= 0) used[best] = 1;
    }
    free(used);
}

static void test_heap(void) {
    float s[50];
    for (int i = 0; i < 50; i++) s[i] = (float)((i * 7) % 13);   /* many ties */
    s[3] = NAN;
    s[10] = INFINITY;
    for (int k = 1; k <= 60; k += 7) {
        sx_item buf[64];
        sx_heap h;
        sx_heap_init(&h, buf, k);
        for (int i = 0; i < 50; i++) sx_heap_push(&h, s[i], i);
        int got = sx_heap_sorted(&h, buf);
        int64_t want[64];
        ref_topk(s, 50, k < 50 ? k : 50, want);
        CHECK(got == (k < 50 ? k : 50));
        int same = 1;
        for (int i = 0; i < got; i++) same &= buf[i].id == want[i];
        CHECKF(same, "heap order differs from the reference at k=%d", k);
        if (k >= 50) CHECK(buf[got - 1].id == 3);   /* NaN ranks last */
        CHECK(buf[0].id == 10);
    }
}

static void test_f16(void) {
    const float v[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 65520.0f, 1e-8f, 5.9604645e-08f, 6.1035156e-05f,
                       1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 0.333333343f, INFINITY, 3e38f};
    const uint16_t want[] = {0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x0400,
                             0x3c00 /* tie → even */, 0x3c02 /* tie → even */, 0x3555, 0x7c00, 0x7c00};
    int n = (int)SV_ARRAY_LEN(v);
    uint16_t h[32];
    /* the vector path handles 8 / 16 at a time: repeat the values so both paths see them */
    float many[32 * 3];
    uint16_t hm[32 * 3];
    for (int i = 0; i < 3 * n; i++) many[i] = v[i % n];
    sx_f32_to_f16(v, h, n);
    sx_f32_to_f16(many, hm, 3 * n);
    for (int i = 0; i < n; i++) {
        CHECKF(h[i] == want[i], "f16(%g) = 0x%04x, expected 0x%04x", v[i], h[i], want[i]);
        for (int r = 0; r < 3; r++) CHECK(hm[r * n + i] == want[i]);
    }
    float back[32];
    sx_rows_f32(h, 1, 0, 1, n, back);
    CHECK(back[2] == 1.0f && back[3] == -2.5f && back[4] == 65504.0f && isinf(back[5]));
    /* random values: relative error within half an ulp of float16 */
    float x[1000], y[1000];
    uint16_t hx[1000];
    unit_rows(x, 1, 1000, 5);
    sx_f32_to_f16(x, hx, 1000);
    sx_rows_f32(hx, 1, 0, 1, 1000, y);
    double worst = 0;
    for (int i = 0; i < 1000; i++)
        if (fabsf(x[i]) > 6.2e-5f) worst = fmax(worst, fabs(y[i] - x[i]) / fabs(x[i]));
    CHECKF(worst <= 1.0 / 2048 + 1e-9, "float16 round trip relative error %g", worst);
}

static void test_topk(void) {
    const int P = 48;
    const int64_t sizes[] = {1, 9, 4095, 4097, 9000};
    for (size_t si = 0; si < SV_ARRAY_LEN(sizes); si++) {
        int64_t n = sizes[si];
        float *X = malloc(sizeof(float) * (size_t)n * P), *Q = malloc(sizeof(float) * 5 * P);
        uint16_t *H = malloc(sizeof(uint16_t) * (size_t)n * P);
        unit_rows(X, n, P, 11 + si);
        unit_rows(Q, 5, P, 99);
        memcpy(X + (n / 2) * P, Q, sizeof(float) * P);   /* an exact copy of query 0: score 1 */
        sx_f32_to_f16(X, H, n * P);
        float *Xh = malloc(sizeof(float) * (size_t)n * P);
        sx_rows_f32(H, 1, 0, n, P, Xh);
        for (int threads = 1; threads <= 2; threads++) {
            slava_set_threads(threads);
            for (int f16 = 0; f16 <= 1; f16++) {
                const float *ref_rows = f16 ? Xh : X;
                for (int nq = 1; nq <= 5; nq += 4) {
                    const int k = 12;
                    int64_t ids[5 * 12], want[12];
                    float sc[5 * 12];
                    slava_ctx *ctx = slava_ctx_new();
                    CHECK_OK(ctx, sx_topk_rows(ctx, f16 ? (const void *)H : X, f16, n, P, Q, nq, k, ids, sc));
                    slava_ctx_free(ctx);
                    int ok = 1;
                    double serr = 0;
                    for (int q = 0; q < nq; q++) {
                        float *s = malloc(sizeof(float) * (size_t)n);
                        for (int64_t i = 0; i < n; i++) {
                            double a = 0;
                            for (int j = 0; j < P; j++) a += (double)ref_rows[i * P + j] * Q[q * P + j];
                            s[i] = (float)a;
                        }
                        ref_topk(s, n, k < n ? k : (int)n, want);
                        for (int i = 0; i < k; i++) {
                            if (i >= n) { ok &= ids[q * k + i] == -1 && isinf(sc[q * k + i]); continue; }
                            /* near-ties may swap by rounding: compare scores, and ids where they differ clearly */
                            serr = fmax(serr, fabs(sc[q * k + i] - s[want[i]]));
                            if (i + 1 < n && i + 1 < k && fabs(s[want[i]] - s[want[i + 1]]) > 1e-5 &&
                                (i == 0 || fabs(s[want[i]] - s[want[i - 1]]) > 1e-5))
                                ok &= ids[q * k + i] == want[i];
                        }
                        free(s);
                    }
                    CHECKF(ok && serr < 1e-5, "top-k n=%lld f16=%d nq=%d threads=%d: ids %s, score error %g",
                           (long long)n, f16, nq, threads, ok ? "ok" : "differ", serr);
                    CHECK(ids[0] == n / 2 && fabsf(sc[0] - 1.0f) < (f16 ? 2e-3f : 1e-5f));
                }
            }
        }
        free(X); free(Q); free(H); free(Xh);
    }
}

static void test_ann(void) {
    const int P = 32, nq = 50, k = 10;
    const int64_t n = 3000;
    float *X = malloc(sizeof(float) * (size_t)n * P), *Q = malloc(sizeof(float) * nq * P);
    unit_rows(X, n, P, 3);
    unit_rows(Q, nq, P, 4);
    slava_set_threads(2);
    slava_ctx *ctx = slava_ctx_new();
    sx_graph g;
    CHECK_OK(ctx, sx_ann_build(ctx, X, n, P, 16, 64, &g));
    CHECK(g.n == n && g.levels && g.offsets[n] > 0);
    sx_ann *a = NULL;
    CHECK_OK(ctx, sx_ann_load(ctx, "graph", &g, X, 0, P, &a));
    int64_t exact[50 * 10], got[64];
    float sc[50 * 10];
    CHECK_OK(ctx, sx_topk_rows(ctx, X, 0, n, P, Q, nq, k, exact, sc));
    int hit = 0;
    for (int q = 0; a && q < nq; q++) {
        CHECK_OK(ctx, sx_ann_search(ctx, a, Q + q * P, k, 128, got));
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) hit += got[i] == exact[q * k + j];
    }
    double recall = (double)hit / (nq * k);
    CHECKF(recall >= 0.9, "approximate recall@10 %.3f on %lld random rows", recall, (long long)n);
    sx_ann_free(a);
    /* corrupted graphs are refused with the file's name */
    int32_t keep = g.neighbors[5];
    g.neighbors[5] = (int32_t)n;
    CHECK(sx_ann_load(ctx, "bad.idx", &g, X, 0, P, &a) == SLAVA_E_FORMAT && !a);
    CHECK(strstr(slava_ctx_error(ctx), "bad.idx") != NULL);
    g.neighbors[5] = keep;
    g.levels[7] += 1;
    CHECK(sx_ann_load(ctx, "bad.idx", &g, X, 0, P, &a) == SLAVA_E_FORMAT && !a);
    g.levels[7] -= 1;
    int e = g.entry;
    g.entry = -3;
    CHECK(sx_ann_load(ctx, "bad.idx", &g, X, 0, P, &a) == SLAVA_E_FORMAT && !a);
    g.entry = e;
    CHECK_OK(ctx, sx_ann_load(ctx, "graph", &g, X, 0, P, &a));
    sx_ann_free(a);
    sx_graph_free(&g);
    slava_ctx_free(ctx);
    free(X);
    free(Q);
}

int main(void) {
    test_heap();
    test_f16();
    test_topk();
    test_ann();
    return test_done("test_search_scan");
}
