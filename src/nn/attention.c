/*
 * attention.c — multi-head scaled-dot-product attention over packed variable-length sequences.
 *
 * Work item = (sequence, head), spread over OpenMP threads. For each query row i:
 *   s_j = scale · q_i·k_j (+ bias[h,i,j]) (+ mask[s % nmask, i, j]),  j ≤ i when causal
 *   p = softmax(s);  out_i = Σ_j p_j v_j
 * Sequences here are short (CLIP: ≤ 77 text tokens, 50 image tokens; Swin: 64-token windows), so
 * plain loops over contiguous head slices beat launching tiny BLAS calls; the projections around
 * attention are the large GEMMs and go through sv_linear.
 */
#include "nn/nn.h"
#include <math.h>
#include <omp.h>

void sv_attention(const float *qkv, float *out, int nseq, const int *offs, int D, int H, float scale,
                  int causal, const float *bias, const float *mask, int nmask) {
    const int hd = D / H, ld = 3 * D;
    int maxL = 0;
    for (int s = 0; s < nseq; s++) maxL = offs[s + 1] - offs[s] > maxL ? offs[s + 1] - offs[s] : maxL;
    if (maxL == 0) return;
    #pragma omp parallel
    {
        float *sc = malloc(sizeof(float) * (size_t)maxL);
        float *acc = malloc(sizeof(float) * (size_t)hd);
        #pragma omp for schedule(dynamic, 4) collapse(2)
        for (int s = 0; s < nseq; s++) {
            for (int h = 0; h < H; h++) {
                const int o = offs[s], L = offs[s + 1] - offs[s];
                const float *bh = bias ? bias + (size_t)h * L * L : NULL;
                const float *mk = mask ? mask + (size_t)(s % nmask) * L * L : NULL;
                for (int i = 0; i < L; i++) {
                    const float *q = qkv + (size_t)(o + i) * ld + h * hd;
                    const int jn = causal ? i + 1 : L;
                    float m = -INFINITY;
                    for (int j = 0; j < jn; j++) {
                        const float *k = qkv + (size_t)(o + j) * ld + D + h * hd;
                        float d = 0.0f;
                        #pragma omp simd reduction(+:d)
                        for (int t = 0; t < hd; t++) d += q[t] * k[t];
                        d *= scale;
                        if (bh) d += bh[(size_t)i * L + j];
                        if (mk) d += mk[(size_t)i * L + j];
                        sc[j] = d;
                        m = d > m ? d : m;
                    }
                    float sum = 0.0f;
                    for (int j = 0; j < jn; j++) { sc[j] = expf(sc[j] - m); sum += sc[j]; }
                    const float inv = 1.0f / sum;
                    for (int t = 0; t < hd; t++) acc[t] = 0.0f;
                    for (int j = 0; j < jn; j++) {
                        const float *v = qkv + (size_t)(o + j) * ld + 2 * D + h * hd;
                        const float p = sc[j] * inv;
                        for (int t = 0; t < hd; t++) acc[t] += p * v[t];
                    }
                    float *dst = out + (size_t)(o + i) * D + h * hd;
                    for (int t = 0; t < hd; t++) dst[t] = acc[t];
                }
            }
        }
        free(sc);
        free(acc);
    }
}
