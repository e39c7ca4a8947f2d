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

#define VW 16   /* block width: one AVX-512 register of floats (two AVX2 ones) */

void sv_attention(const float *qkv, float *out, int nseq, const int *offs, int D, int H, float scale,
                  int causal, const float *bias, const float *mask, int nmask) {
    const int hd = D / H, ld = 3 * D;
    int maxL = 0;
    for (int s = 0; s < nseq; s++) maxL = offs[s + 1] - offs[s] > maxL ? offs[s + 1] - offs[s] : maxL;
    if (maxL == 0) return;
    /* tiles padded to whole blocks with zeros, so the blocked loops need no tails */
    const int Lp = (maxL + VW - 1) / VW * VW, hdp = (hd + VW - 1) / VW * VW;
    #pragma omp parallel
    {
        float *kt = sv_calloc((size_t)hd * Lp, sizeof(float));   /* K transposed [hd, Lp] */
        float *vv = sv_calloc((size_t)Lp * hdp, sizeof(float));  /* V [Lp, hdp] */
        float *sc = sv_calloc((size_t)Lp, sizeof(float));
        float *acc = sv_calloc((size_t)hdp, sizeof(float));
        #pragma omp for schedule(dynamic, 4) collapse(2)
        for (int s = 0; s < nseq; s++) {
            for (int h = 0; h < H; h++) {
                const int o = offs[s], L = offs[s + 1] - offs[s];
                if (L == 0) continue;
                const float *bh = bias ? bias + (size_t)h * L * L : NULL;
                const float *mk = mask ? mask + (size_t)(s % nmask) * L * L : NULL;
                const int Lb = (L + VW - 1) / VW * VW;   /* this sequence's padded length */
                for (int j = 0; j < Lb; j++) {
                    if (j < L) {
                        const float *k = qkv + (size_t)(o + j) * ld + D + h * hd;
                        for (int t = 0; t < hd; t++) kt[(size_t)t * Lp + j] = k[t];
                        memcpy(vv + (size_t)j * hdp, k + D, sizeof(float) * hd);
                    } else {
                        for (int t = 0; t < hd; t++) kt[(size_t)t * Lp + j] = 0.0f;
                    }
                }
                for (int i = 0; i < L; i++) {
                    const float *q = qkv + (size_t)(o + i) * ld + h * hd;
                    const int jn = causal ? i + 1 : L, jb_end = (jn + VW - 1) / VW * VW;
                    /* scores, VW keys at a time, accumulated in registers */
                    for (int jb = 0; jb < jb_end; jb += VW) {
                        float a[VW] = {0};
                        for (int t = 0; t < hd; t++) {
                            const float qt = q[t], *kr = kt + (size_t)t * Lp + jb;
                            #pragma omp simd
                            for (int u = 0; u < VW; u++) a[u] = SV_FMA(qt, kr[u], a[u]);
                        }
                        for (int u = 0; u < VW; u++) sc[jb + u] = a[u];
                    }
                    float m = -INFINITY;
                    #pragma omp simd reduction(max : m)
                    for (int j = 0; j < jn; j++) {
                        float d = sc[j] * scale;
                        if (bh) d += bh[(size_t)i * L + j];
                        if (mk) d += mk[(size_t)i * L + j];
                        sc[j] = d;
                        m = d > m ? d : m;
                    }
                    float sum = 0.0f;
                    #pragma omp simd reduction(+ : sum)
                    for (int j = 0; j < jn; j++) { sc[j] = expf(sc[j] - m); sum += sc[j]; }
                    const float inv = 1.0f / sum;
                    /* out = Σ p_j v_j, VW channels at a time */
                    for (int tb = 0; tb < hdp; tb += VW) {
                        float a[VW] = {0};
                        for (int j = 0; j < jn; j++) {
                            const float p = sc[j], *vr = vv + (size_t)j * hdp + tb;
                            #pragma omp simd
                            for (int u = 0; u < VW; u++) a[u] = SV_FMA(p, vr[u], a[u]);
                        }
                        for (int u = 0; u < VW; u++) acc[tb + u] = a[u] * inv;
                    }
                    memcpy(out + (size_t)(o + i) * D + h * hd, acc, sizeof(float) * hd);
                }
            }
        }
        sv_free(kt);
        sv_free(vv);
        sv_free(sc);
        sv_free(acc);
    }
}
