/*
 * attention.c — multi-head scaled-dot-product attention over packed variable-length sequences.
 *
 * Work item = (sequence, head); all items of a call (every window and head of a Swin stage, every
 * caption and head of the text tower) are spread over the OpenMP team as one batch. For each query
 * row i:
 *   s_j = scale · q_i·k_j (+ bias[h,i,j]) (+ mask[s % nmask, i, j]),  j ≤ i when causal
 *   p = softmax(s);  out_i = Σ_j p_j v_j
 * Sequences here are short (CLIP: ≤ 77 text tokens, 50 image tokens; Swin: 64-token windows), so
 * each item is a small fused kernel that keeps its scores in L1 rather than three library calls
 * with the score matrix in between. The item first packs its head's K transposed ([hd, Lp]) and
 * V ([L, hdp]) into thread-local tiles (rows padded to whole 16-float vectors), then runs blocks
 * of RB query rows: scores RB × 64 keys at a time in 16 vector accumulators (every key vector
 * load feeds RB rows, every query scalar RB·4 FMAs), the softmax rows, and p·V in RB × 64-channel
 * accumulator blocks. GCC's vector extensions (v16 = 16 floats) keep the register blocking
 * explicit and still compile for any x86-64 target (the valgrind build has no AVX-512).
 * Built with -ffp-contract=fast (CMakeLists.txt) so the multiply-adds are fused where FMA exists.
 */
#include "nn/nn.h"
#include "nn/vmath.h"
#include <omp.h>

typedef float v16 __attribute__((vector_size(64)));

#define VL 16   /* floats per vector */
#define RB 4    /* query rows per block */
#define NV 4    /* vectors per score / output column block (64 floats) */

#define INLINE static inline __attribute__((always_inline))

/* sc[r][j0 .. j0 + 16·nv) = q_r · k_j for the RB rows q[r] against the packed keys kt [hd, Lp]. */
INLINE void qk_block(const float *const q[RB], const float *kt, int Lp, int hd, int j0, int nv, float *sc) {
    v16 acc[RB][NV];
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = (v16){0};
    for (int t = 0; t < hd; t++) {
        const v16 *kr = (const v16 *)(kt + (size_t)t * Lp + j0);
        v16 k[NV];
        for (int v = 0; v < nv; v++) {
            k[v] = kr[v];
            __asm__("" : "+v"(k[v]));   /* keep the key vector in a register: one load feeds RB FMAs */
        }
        for (int r = 0; r < RB; r++) {
            const float x = q[r][t];
            for (int v = 0; v < nv; v++) acc[r][v] += x * k[v];
        }
    }
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < nv; v++) *(v16 *)(sc + (size_t)r * Lp + j0 + VL * v) = acc[r][v];
}

/* acc[r][v] = Σ_{j < jend} p_r[j] · V[j, c0 + 16v .. ] for the RB probability rows of sc. */
INLINE void pv_block(const float *sc, int Lp, const float *vv, int hdp, int c0, int nv, int jend, v16 acc[RB][NV]) {
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = (v16){0};
    for (int j = 0; j < jend; j++) {
        const v16 *vr = (const v16 *)(vv + (size_t)j * hdp + c0);
        v16 x[NV];
        for (int v = 0; v < nv; v++) {
            x[v] = vr[v];
            __asm__("" : "+v"(x[v]));
        }
        for (int r = 0; r < RB; r++) {
            const float p = sc[(size_t)r * Lp + j];
            for (int v = 0; v < nv; v++) acc[r][v] += p * x[v];
        }
    }
}

/* sc[0..jn) = exp(scale·sc + bias + mask − max), sc[jn..jend) = 0; returns 1 / Σ. brow / mrow may be
 * NULL; the four cases are separate loops so that each vectorises without branches. */
static float softmax_row(float *sc, int jn, int jend, float scale, const float *brow, const float *mrow) {
    float m = -INFINITY;
    if (brow && mrow) {
        #pragma omp simd reduction(max : m)
        for (int j = 0; j < jn; j++) { sc[j] = sc[j] * scale + brow[j] + mrow[j]; m = sc[j] > m ? sc[j] : m; }
    } else if (brow || mrow) {
        const float *a = brow ? brow : mrow;
        #pragma omp simd reduction(max : m)
        for (int j = 0; j < jn; j++) { sc[j] = sc[j] * scale + a[j]; m = sc[j] > m ? sc[j] : m; }
    } else {
        #pragma omp simd reduction(max : m)
        for (int j = 0; j < jn; j++) { sc[j] = sc[j] * scale; m = sc[j] > m ? sc[j] : m; }
    }
    float sum = 0.0f;
    #pragma omp simd reduction(+ : sum)
    for (int j = 0; j < jn; j++) { sc[j] = expf(sc[j] - m); sum += sc[j]; }
    for (int j = jn; j < jend; j++) sc[j] = 0.0f;
    return 1.0f / sum;
}

/* Packs heads [h0, h1) of one sequence (rows [o, o + L)): kt[h − h0] = K_h transposed [hd, Lp] (key
 * columns [L, Lb) zero so padded scores stay finite), vv[h − h0] = V_h [L, hdp]. The rows of qkv are
 * read once, in order, for all heads of the group. */
static void pack_kv(const float *qkv, int o, int L, int h0, int h1, int D, int hd, float *kt, float *vv, int Lp,
                    int hdp) {
    const int ld = 3 * D, Lb = (L + VL - 1) / VL * VL;
    const size_t kts = (size_t)hd * Lp, vvs = (size_t)L * hdp;
    for (int j = 0; j < L; j++) {
        const float *k = qkv + (size_t)(o + j) * ld + D, *v = k + D;
        for (int h = h0; h < h1; h++) {
            float *kd = kt + (h - h0) * kts + j, *vd = vv + (h - h0) * vvs + (size_t)j * hdp;
            const float *ks = k + h * hd, *vs = v + h * hd;
            for (int t = 0; t < hd; t++) kd[(size_t)t * Lp] = ks[t];
            for (int t = 0; t < hd; t++) vd[t] = vs[t];
        }
    }
    for (int h = h0; h < h1; h++)
        for (int t = 0; t < hd; t++)
            for (int j = L; j < Lb; j++) kt[(h - h0) * kts + (size_t)t * Lp + j] = 0.0f;
}

/* One head h of one sequence (rows [o, o + L)) from its packed kt [hd, Lp] and vv [L, hdp]. */
static void attend_head(const float *qkv, float *out, int o, int L, int h, int D, int hd, float scale, int causal,
                        const float *bh, const float *mk, const float *kt, const float *vv, float *sc, int Lp, int hdp) {
    const int ld = 3 * D;
    for (int i0 = 0; i0 < L; i0 += RB) {
        const int nr = L - i0 < RB ? L - i0 : RB;
        const float *q[RB];
        for (int r = 0; r < RB; r++) q[r] = qkv + (size_t)(o + i0 + (r < nr ? r : 0)) * ld + h * hd;
        const int jend = causal ? i0 + nr : L;          /* keys any row of the block sees */
        const int jb_end = (jend + VL - 1) / VL * VL;
        for (int j0 = 0; j0 < jb_end; j0 += NV * VL) {
            const int nv = (jb_end - j0) / VL < NV ? (jb_end - j0) / VL : NV;
            switch (nv) {
            case 1: qk_block(q, kt, Lp, hd, j0, 1, sc); break;
            case 2: qk_block(q, kt, Lp, hd, j0, 2, sc); break;
            case 3: qk_block(q, kt, Lp, hd, j0, 3, sc); break;
            default: qk_block(q, kt, Lp, hd, j0, 4, sc); break;
            }
        }
        float inv[RB];
        for (int r = 0; r < RB; r++) {
            float *row = sc + (size_t)r * Lp;
            if (r < nr) {
                const int i = i0 + r, jn = causal ? i + 1 : L;
                inv[r] = softmax_row(row, jn, jend, scale, bh ? bh + (size_t)i * L : NULL, mk ? mk + (size_t)i * L : NULL);
            } else {
                memset(row, 0, sizeof(float) * (size_t)jend);
                inv[r] = 0.0f;
            }
        }
        for (int c0 = 0; c0 < hdp; c0 += NV * VL) {
            const int nv = (hdp - c0) / VL < NV ? (hdp - c0) / VL : NV;
            v16 acc[RB][NV];
            switch (nv) {
            case 1: pv_block(sc, Lp, vv, hdp, c0, 1, jend, acc); break;
            case 2: pv_block(sc, Lp, vv, hdp, c0, 2, jend, acc); break;
            case 3: pv_block(sc, Lp, vv, hdp, c0, 3, jend, acc); break;
            default: pv_block(sc, Lp, vv, hdp, c0, 4, jend, acc); break;
            }
            const int w = hd - c0 < NV * VL ? hd - c0 : NV * VL;
            for (int r = 0; r < nr; r++) {
                float *d = out + (size_t)(o + i0 + r) * D + h * hd + c0;
                for (int v = 0; v < nv; v++) {
                    const v16 x = acc[r][v] * inv[r];
                    const int n = w - VL * v < VL ? w - VL * v : VL;
                    if (n == VL) memcpy(d + VL * v, &x, sizeof x);
                    else for (int u = 0; u < n; u++) d[VL * v + u] = x[u];
                }
            }
        }
    }
}

void sv_attention(const float *qkv, float *out, int nseq, const int *offs, int D, int H, float scale,
                  int causal, const float *bias, const float *mask, int nmask) {
    const int hd = D / H;
    int maxL = 0;
    for (int s = 0; s < nseq; s++) maxL = offs[s + 1] - offs[s] > maxL ? offs[s + 1] - offs[s] : maxL;
    if (maxL == 0) return;
    const int Lp = (maxL + VL - 1) / VL * VL, hdp = (hd + VL - 1) / VL * VL;
    /* Work items: (sequence, group of heads). Whole sequences when there are enough of them to
     * keep every thread busy; otherwise the heads are split so there are at least 4 items per thread. */
    const int T = omp_get_max_threads();
    int groups = nseq >= 4 * T ? 1 : (4 * T + nseq - 1) / nseq;
    if (groups > H) groups = H;
    const int gh = (H + groups - 1) / groups;
    groups = (H + gh - 1) / gh;
    #pragma omp parallel
    {
        float *kt = sv_alloc(sizeof(float) * (size_t)gh * hd * Lp);    /* K transposed [gh][hd, Lp] */
        float *vv = sv_calloc((size_t)gh * maxL * hdp, sizeof(float)); /* V [gh][L, hdp] (padding channels stay 0) */
        float *sc = sv_alloc(sizeof(float) * (size_t)RB * Lp);         /* scores / probabilities of RB rows */
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int s = 0; s < nseq; s++) {
            for (int g = 0; g < groups; g++) {
                const int o = offs[s], L = offs[s + 1] - offs[s], h0 = g * gh, h1 = h0 + gh < H ? h0 + gh : H;
                if (L == 0) continue;
                pack_kv(qkv, o, L, h0, h1, D, hd, kt, vv, Lp, hdp);
                for (int h = h0; h < h1; h++)
                    attend_head(qkv, out, o, L, h, D, hd, scale, causal, bias ? bias + (size_t)h * L * L : NULL,
                                mask ? mask + (size_t)(s % nmask) * L * L : NULL, kt + (size_t)(h - h0) * hd * Lp,
                                vv + (size_t)(h - h0) * L * hdp, sc, Lp, hdp);
            }
        }
        sv_free(kt);
        sv_free(vv);
        sv_free(sc);
    }
}
