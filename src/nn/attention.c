/*
 * attention.c — multi-head scaled-dot-product attention over packed variable-length sequences.
 *
 * Work item = (sequence, head), spread over OpenMP threads. For each query row i:
 *   s_j = scale · q_i·k_j (+ bias[h,i,j]) (+ mask[s % nmask, i, j]),  j ≤ i when causal
 *   p = softmax(s);  out_i = Σ_j p_j v_j
 * Sequences here are short (CLIP: ≤ 77 text tokens, 50 image tokens; Swin: 64-token windows), so
 * plain loops beat launching tiny BLAS calls; the projections around attention are the large
 * GEMMs and go through sv_linear. Each work item first packs its head's K transposed ([hd, L])
 * and V ([L, hd]) into thread-local tiles, so both products run as contiguous, vectorisable
 * axpy loops (over keys for q·K, over the head dimension for p·V) instead of strided dot products.
 */
#include "nn/nn.h"
#include "nn/vmath.h"
#include <omp.h>

#define KB 64   /* keys per score block: 4 AVX-512 accumulators, independent FMA chains */
#define VB 32   /* channels per output block */

/* Raw scores q0·k_j and q1·k_j for j < jend (rounded up to KB) of two query rows against the
 * packed keys: every key load feeds both rows, 2·KB/16 independent accumulator chains. */
static void raw_scores2(const float *q0, const float *q1, const float *kt, int hd, int Lp, int jend, float *s0,
                        float *s1) {
    const int jb_end = (jend + KB - 1) / KB * KB;
    for (int jb = 0; jb < jb_end; jb += KB) {
        float a0[KB] = {0}, a1[KB] = {0};
        for (int t = 0; t < hd; t++) {
            const float x0 = q0[t], x1 = q1[t], *kr = kt + (size_t)t * Lp + jb;
            #pragma omp simd
            for (int u = 0; u < KB; u++) {
                a0[u] = SV_FMA(x0, kr[u], a0[u]);
                a1[u] = SV_FMA(x1, kr[u], a1[u]);
            }
        }
        memcpy(s0 + jb, a0, sizeof a0);
        memcpy(s1 + jb, a1, sizeof a1);
    }
}

/* sc[0..jn) = exp(scale·sc + bias + mask − max), sc[jn..jend) = 0; returns 1 / Σ. */
static float softmax_row(float *sc, int jn, int jend, float scale, const float *brow, const float *mrow) {
    float m = -INFINITY;
    #pragma omp simd reduction(max : m)
    for (int j = 0; j < jn; j++) {
        float d = sc[j] * scale;
        if (brow) d += brow[j];
        if (mrow) d += mrow[j];
        sc[j] = d;
        m = d > m ? d : m;
    }
    float sum = 0.0f;
    #pragma omp simd reduction(+ : sum)
    for (int j = 0; j < jn; j++) { sc[j] = expf(sc[j] - m); sum += sc[j]; }
    for (int j = jn; j < jend; j++) sc[j] = 0.0f;
    return 1.0f / sum;
}

void sv_attention(const float *qkv, float *out, int nseq, const int *offs, int D, int H, float scale,
                  int causal, const float *bias, const float *mask, int nmask) {
    const int hd = D / H, ld = 3 * D;
    int maxL = 0;
    for (int s = 0; s < nseq; s++) maxL = offs[s + 1] - offs[s] > maxL ? offs[s + 1] - offs[s] : maxL;
    if (maxL == 0) return;
    /* tiles padded to whole blocks with zeros, so the blocked loops need no tails */
    const int Lp = (maxL + KB - 1) / KB * KB, hdp = (hd + VB - 1) / VB * VB;
    #pragma omp parallel
    {
        float *kt = sv_calloc((size_t)hd * Lp, sizeof(float));   /* K transposed [hd, Lp] */
        float *vv = sv_calloc((size_t)Lp * hdp, sizeof(float));  /* V [Lp, hdp] */
        float *sc = sv_calloc((size_t)2 * Lp, sizeof(float));    /* probabilities of two query rows */
        #pragma omp for schedule(dynamic, 4) collapse(2)
        for (int s = 0; s < nseq; s++) {
            for (int h = 0; h < H; h++) {
                const int o = offs[s], L = offs[s + 1] - offs[s];
                if (L == 0) continue;
                const float *bh = bias ? bias + (size_t)h * L * L : NULL;
                const float *mk = mask ? mask + (size_t)(s % nmask) * L * L : NULL;
                const int Lb = (L + KB - 1) / KB * KB;   /* this sequence's padded length */
                for (int j = 0; j < Lb; j++) {
                    if (j < L) {
                        const float *k = qkv + (size_t)(o + j) * ld + D + h * hd;
                        for (int t = 0; t < hd; t++) kt[(size_t)t * Lp + j] = k[t];
                        memcpy(vv + (size_t)j * hdp, k + D, sizeof(float) * hd);
                    } else {
                        for (int t = 0; t < hd; t++) kt[(size_t)t * Lp + j] = 0.0f;
                    }
                }
                /* two query rows at a time: their p·V products share every V load */
                for (int i = 0; i < L; i += 2) {
                    const int two = i + 1 < L;
                    const int jn0 = causal ? i + 1 : L, jn1 = causal ? i + 2 : L, jend = two ? jn1 : jn0;
                    float *s0 = sc, *s1 = sc + Lp;
                    const float *q0 = qkv + (size_t)(o + i) * ld + h * hd, *q1 = two ? q0 + ld : q0;
                    raw_scores2(q0, q1, kt, hd, Lp, jend, s0, s1);
                    const float inv0 = softmax_row(s0, jn0, jend, scale, bh ? bh + (size_t)i * L : NULL,
                                                   mk ? mk + (size_t)i * L : NULL);
                    float inv1 = 0.0f;
                    if (two)
                        inv1 = softmax_row(s1, jn1, jend, scale, bh ? bh + (size_t)(i + 1) * L : NULL,
                                           mk ? mk + (size_t)(i + 1) * L : NULL);
                    else
                        memset(s1, 0, sizeof(float) * (size_t)jend);
                    float *d0 = out + (size_t)(o + i) * D + h * hd, *d1 = d0 + D;
                    for (int tb = 0; tb < hdp; tb += VB) {
                        float a0[VB] = {0}, a1[VB] = {0};
                        for (int j = 0; j < jend; j++) {
                            const float p0 = s0[j], p1 = s1[j], *v = vv + (size_t)j * hdp + tb;
                            #pragma omp simd
                            for (int u = 0; u < VB; u++) {
                                a0[u] = SV_FMA(p0, v[u], a0[u]);
                                a1[u] = SV_FMA(p1, v[u], a1[u]);
                            }
                        }
                        const int w = hd - tb < VB ? hd - tb : VB;
                        for (int u = 0; u < w; u++) d0[tb + u] = a0[u] * inv0;
                        if (two)
                            for (int u = 0; u < w; u++) d1[tb + u] = a1[u] * inv1;
                    }
                }
            }
        }
        sv_free(kt);
        sv_free(vv);
        sv_free(sc);
    }
}
