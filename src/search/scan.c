/*
 * scan.c — exact scores of queries against the index rows, the heart of exact search.
 *
 * One query is memory-bound: every row is read once and dotted with the query while it streams
 * through the cache (sx_scores1), the rows split over the OpenMP team. Query batches are
 * compute-bound: blocks of rows go through sv_gemm (the one GEMM entry point) as Q · Xᵀ, float16
 * blocks converted to float32 first, so the conversion is paid once per block for every query.
 * Float16 rows are IEEE half precision stored as uint16_t (F16C / AVX-512 conversions when the
 * build targets them, the portable bit conversion otherwise).
 */
#include "search/search.h"
#include "nn/nn.h"
#include "nn/vmath.h"
#include <math.h>
#include <omp.h>
#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#define SX_ROWS_PER_STEP 256   /* rows scored per step of a thread (scores stay in L1) */
#define SX_BLOCK_ROWS 4096     /* rows per sv_gemm block of a query batch */

static float dot_f32(const float *x, const float *q, int P) {
    float acc = 0;
    #pragma omp simd reduction(+ : acc)
    for (int j = 0; j < P; j++) acc = SV_FMA(x[j], q[j], acc);
    return acc;
}

static float dot_f16(const uint16_t *x, const float *q, int P) {
    int j = 0;
    float acc = 0;
#if defined(__AVX512F__)
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    for (; j + 32 <= P; j += 32) {
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + j))), _mm512_loadu_ps(q + j), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + j + 16))),
                             _mm512_loadu_ps(q + j + 16), a1);
    }
    acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
#elif defined(__F16C__) && defined(__FMA__)
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; j + 16 <= P; j += 16) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + j))), _mm256_loadu_ps(q + j), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + j + 8))), _mm256_loadu_ps(q + j + 8),
                             a1);
    }
    __m256 a = _mm256_add_ps(a0, a1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    acc = _mm_cvtss_f32(s);
#endif
    for (; j < P; j++) acc = SV_FMA(sv_half_to_float(x[j]), q[j], acc);
    return acc;
}

float sx_dot(const void *X, int f16, int64_t i, int P, const float *q) {
    return f16 ? dot_f16((const uint16_t *)X + i * P, q, P) : dot_f32((const float *)X + i * P, q, P);
}

static void score_rows(const void *X, int f16, int64_t r0, int64_t r1, int P, const float *q, float *s) {
    if (f16) {
        const uint16_t *h = X;
        for (int64_t i = r0; i < r1; i++) s[i - r0] = dot_f16(h + i * P, q, P);
    } else {
        const float *x = X;
        for (int64_t i = r0; i < r1; i++) s[i - r0] = dot_f32(x + i * P, q, P);
    }
}

/* Rows [t * n / T, (t + 1) * n / T) belong to thread t of T. */
static int64_t part(int64_t n, int t, int T) { return (int64_t)((__int128)n * t / T); }

void sx_scores1(const void *X, int f16, int64_t n, int P, const float *q, float *s) {
    int T = slava_get_threads();
    if (n < 4096) T = 1;
    #pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        score_rows(X, f16, part(n, t, nt), part(n, t + 1, nt), P, q, s + part(n, t, nt));
    }
}

void sx_rows_f32(const void *X, int f16, int64_t r0, int64_t r1, int P, float *out) {
    int64_t n = (r1 - r0) * P;
    if (!f16) {
        memcpy(out, (const float *)X + r0 * P, sizeof(float) * (size_t)n);
        return;
    }
    const uint16_t *h = (const uint16_t *)X + r0 * P;
    int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))));
#elif defined(__F16C__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
    for (; i < n; i++) out[i] = sv_half_to_float(h[i]);
}

static uint16_t f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000, a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));   /* inf, NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);                                    /* overflow */
    if (a < 0x38800000u) {   /* subnormal half (or zero): round the shifted mantissa to even */
        if (a < 0x33000000u) return (uint16_t)sign;
        uint32_t m = (a & 0x7fffff) | 0x800000, e = a >> 23, shift = 126 - e;   /* 14 .. 24 */
        uint32_t v = m >> shift, rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (v & 1))) v++;
        return (uint16_t)(sign | v);
    }
    uint32_t v = ((a >> 13) - ((127 - 15) << 10)), rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (v & 1))) v++;   /* may carry into the exponent: correct */
    return (uint16_t)(sign | v);
}

void sx_f32_to_f16(const float *x, uint16_t *h, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(h + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#elif defined(__F16C__)
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#endif
    for (; i < n; i++) h[i] = f32_to_f16(x[i]);
}

void sx_scores_block(const void *X, int f16, int64_t r0, int64_t r1, int P, const float *Q, int nq, float *S,
                     int64_t lds, float *tmp) {
    int64_t m = r1 - r0;
    if (m <= 0) return;
    const float *B = (const float *)X + r0 * P;
    if (f16) {
        int T = slava_get_threads();
        #pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            int64_t a = part(m, t, nt), b = part(m, t + 1, nt);
            sx_rows_f32(X, 1, r0 + a, r0 + b, P, tmp + a * P);
        }
        B = tmp;
    }
    sv_gemm(0, 1, nq, (int)m, P, 1.0f, Q, P, B, P, 0.0f, S, (int)lds);
}

slava_status sx_topk_rows(slava_ctx *ctx, const void *X, int f16, int64_t n, int P, const float *Q, int nq,
                          int k, int64_t *ids, float *scores) {
    if (k <= 0 || nq <= 0) return SLAVA_OK;
    int T = slava_get_threads();
    if (nq == 1) {
        /* one streaming pass; each thread keeps a heap of its rows, merged at the end */
        if (n < 4096) T = 1;
        sx_item *items = sv_alloc(sizeof *items * (size_t)k * (T + 1));
        if (!items) return sv_err(ctx, SLAVA_E_NOMEM, "search: out of memory (top %d)", k);
        int kept[256] = {0};
        if (T > 256) T = 256;
        #pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            sx_heap h;
            sx_heap_init(&h, items + (size_t)k * t, k);
            float s[SX_ROWS_PER_STEP];
            for (int64_t r = part(n, t, nt), end = part(n, t + 1, nt); r < end; r += SX_ROWS_PER_STEP) {
                int64_t e = r + SX_ROWS_PER_STEP < end ? r + SX_ROWS_PER_STEP : end;
                score_rows(X, f16, r, e, P, Q, s);
                for (int64_t i = r; i < e; i++) sx_heap_push(&h, s[i - r], i);
            }
            kept[t] = h.n;
        }
        sx_heap all;
        sx_heap_init(&all, items + (size_t)k * T, k);
        for (int t = 0; t < T; t++)
            for (int i = 0; i < kept[t]; i++) sx_heap_push(&all, items[(size_t)k * t + i].s, items[(size_t)k * t + i].id);
        int got = sx_heap_sorted(&all, all.a);
        for (int i = 0; i < k; i++) {
            ids[i] = i < got ? all.a[i].id : -1;
            scores[i] = i < got ? all.a[i].s : -INFINITY;
        }
        sv_free(items);
        return SLAVA_OK;
    }
    /* batches: blocks of rows as one GEMM each, then every query's heap takes the block's scores */
    int64_t B = n < SX_BLOCK_ROWS ? (n > 0 ? n : 1) : SX_BLOCK_ROWS;
    float *S = sv_alloc(sizeof(float) * (size_t)nq * B);
    float *tmp = f16 ? sv_alloc(sizeof(float) * (size_t)B * P) : NULL;
    sx_item *items = sv_alloc(sizeof *items * (size_t)k * nq);
    sx_heap *heaps = calloc((size_t)nq, sizeof *heaps);
    if (!S || (f16 && !tmp) || !items || !heaps) {
        sv_free(S); sv_free(tmp); sv_free(items); free(heaps);
        return sv_err(ctx, SLAVA_E_NOMEM, "search: out of memory (%d queries)", nq);
    }
    for (int q = 0; q < nq; q++) sx_heap_init(&heaps[q], items + (size_t)k * q, k);
    for (int64_t r0 = 0; r0 < n; r0 += B) {
        int64_t r1 = r0 + B < n ? r0 + B : n;
        sx_scores_block(X, f16, r0, r1, P, Q, nq, S, B, tmp);
        #pragma omp parallel for num_threads(T) schedule(static)
        for (int q = 0; q < nq; q++)
            for (int64_t i = r0; i < r1; i++) sx_heap_push(&heaps[q], S[(size_t)q * B + (i - r0)], i);
    }
    for (int q = 0; q < nq; q++) {
        int got = sx_heap_sorted(&heaps[q], heaps[q].a);
        for (int i = 0; i < k; i++) {
            ids[(size_t)q * k + i] = i < got ? heaps[q].a[i].id : -1;
            scores[(size_t)q * k + i] = i < got ? heaps[q].a[i].s : -INFINITY;
        }
    }
    sv_free(S); sv_free(tmp); sv_free(items); free(heaps);
    return SLAVA_OK;
}
