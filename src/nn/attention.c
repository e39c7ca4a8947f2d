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

/* Makes GCC load a vector into a register once instead of folding the load into each FMA (the
 * loads, not the FMAs, were the limit). Only where a v16 fits one register (AVX-512). */
#ifdef __AVX512F__
#define KEEP_IN_REGISTER(x) __asm__("" : "+v"(x))
#else
#define KEEP_IN_REGISTER(x) ((void)0)
#endif

/* acc[r][v] = q_r · k_j for keys j0 + 16v .. of the RB rows q[r] against the packed keys kt [hd, Lp]. */
INLINE void qk_acc(const float *const q[RB], const float *kt, int Lp, int hd, int j0, int nv, v16 acc[RB][NV]) {
    for (int r = 0; r < RB; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = (v16){0};
    for (int t = 0; t < hd; t++) {
        const v16 *kr = (const v16 *)(kt + (size_t)t * Lp + j0);
        v16 k[NV];
        for (int v = 0; v < nv; v++) {
            k[v] = kr[v];
            KEEP_IN_REGISTER(k[v]);   /* one load feeds RB FMAs */
        }
        for (int r = 0; r < RB; r++) {
            const float x = q[r][t];
            for (int v = 0; v < nv; v++) acc[r][v] += x * k[v];
        }
    }
}

/* sc[r][j0 .. j0 + 16·nv) = q_r · k_j. */
INLINE void qk_block(const float *const q[RB], const float *kt, int Lp, int hd, int j0, int nv, float *sc) {
    v16 acc[RB][NV];
    qk_acc(q, kt, Lp, hd, j0, nv, acc);
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
            KEEP_IN_REGISTER(x[v]);
        }
        for (int r = 0; r < RB; r++) {
            const float p = sc[(size_t)r * Lp + j];
            for (int v = 0; v < nv; v++) acc[r][v] += p * x[v];
        }
    }
}

typedef int vi16 __attribute__((vector_size(64)));
/* GCC's two- and one-input vector shuffles with a mask; clang (the fuzz build) has no
 * __builtin_shuffle, so there the same permutation is written out lane by lane. */
#if defined(__clang__)
static inline v16 shuffle2(v16 x, v16 y, vi16 m) {
    v16 r;
    for (int u = 0; u < 16; u++) r[u] = m[u] < 16 ? x[m[u]] : y[m[u] - 16];
    return r;
}
static inline v16 shuffle1(v16 x, vi16 m) {
    v16 r;
    for (int u = 0; u < 16; u++) r[u] = x[m[u] & 15];
    return r;
}
#else
#define shuffle2(x, y, m) __builtin_shuffle(x, y, m)
#define shuffle1(x, m) __builtin_shuffle(x, m)
#endif

/* e^x per lane (Cephes' expf: x = n·ln2 + r, |r| ≤ ln2/2, degree-5 polynomial; within 2 ulp of
 * expf). Lanes below −87.33 are clamped there (≈ 1e-38); callers zero the lanes they mask. */
INLINE v16 vexp(v16 x) {
    const v16 lo = (v16){0} - 87.33f, magic = (v16){0} + 12582912.0f;   /* 1.5·2^23: rounds to an integer */
    const vi16 small = x < lo;
    x = (v16)(((vi16)x & ~small) | ((vi16)lo & small));
    const v16 t = x * 1.44269504088896341f + magic;
    const vi16 n = (vi16)t - (vi16)magic;
    const v16 nf = t - magic;
    const v16 r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
    v16 p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const v16 y = p * (r * r) + r + 1.0f;
    return y * (v16)((n + 127) << 23);
}

INLINE float hmax(v16 x) {
    float m = x[0];
    for (int u = 1; u < VL; u++) m = x[u] > m ? x[u] : m;
    return m;
}

INLINE float hsum(v16 x) {
    const vi16 s8 = {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7}, s4 = {4, 5, 6, 7, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15},
               s2 = {2, 3, 0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, s1 = {1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    x += shuffle1(x, s8);
    x += shuffle1(x, s4);
    x += shuffle1(x, s2);
    x += shuffle1(x, s1);
    return x[0];
}

/* 16 floats from p, of which only the first n (< 16: the rest 0) exist. */
INLINE v16 load_n(const float *p, int n) {
    v16 x = {0};
    if (n >= VL) memcpy(&x, p, sizeof x);
    else for (int u = 0; u < n; u++) x[u] = p[u];
    return x;
}

/* One row of scores x[0 .. nvec) (16 keys each) → softmax over the keys j < jn of scale·s + bias +
 * mask (brow, mrow: rows of L floats, or NULL), in place; entries j ≥ jn become 0 whatever the
 * scores held there (padded keys may hold anything). Returns 1 / Σ (the probabilities are left
 * unnormalised). x is a register block for short rows (inlined with a constant nvec) or the
 * row's scores in memory. */
INLINE float softmax_vecs(v16 *x, int nvec, int jn, float scale, const float *brow, const float *mrow) {
    const vi16 iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const v16 ninf = (v16){0} - INFINITY;
    v16 mx = ninf;
    for (int v = 0; v < nvec; v++) {
        v16 y = x[v] * scale;
        const int left = jn - VL * v;
        if (brow) y += load_n(brow + VL * v, left);
        if (mrow) y += load_n(mrow + VL * v, left);
        const vi16 keep = iota < left;
        y = (v16)(((vi16)y & keep) | ((vi16)ninf & ~keep));
        x[v] = y;
        const vi16 ge = mx >= y;
        mx = (v16)(((vi16)mx & ge) | ((vi16)y & ~ge));
    }
    const float m = hmax(mx);
    v16 sum = {0};
    for (int v = 0; v < nvec; v++) {
        const vi16 keep = iota < jn - VL * v;
        const v16 e = (v16)((vi16)vexp(x[v] - m) & keep);
        x[v] = e;
        sum += e;
    }
    return 1.0f / hsum(sum);
}

/* Scores and softmax of one block of RB query rows when all keys fit one register block (≤ 64):
 * probabilities to sc rows, 1 / Σ to inv (rows ≥ nr: zeros). */
INLINE void qk_softmax_block(const float *const q[RB], const float *kt, int Lp, int hd, int nv, int nr, int i0,
                             int L, int causal, float scale, const float *bh, const float *mk, float *sc,
                             float inv[RB]) {
    v16 acc[RB][NV];
    qk_acc(q, kt, Lp, hd, 0, nv, acc);
    for (int r = 0; r < RB; r++) {
        float *row = sc + (size_t)r * Lp;
        if (r < nr) {
            const int i = i0 + r;
            inv[r] = softmax_vecs(acc[r], nv, causal ? i + 1 : L, scale, bh ? bh + (size_t)i * L : NULL,
                                  mk ? mk + (size_t)i * L : NULL);
        } else {
            for (int v = 0; v < nv; v++) acc[r][v] = (v16){0};
            inv[r] = 0.0f;
        }
        for (int v = 0; v < nv; v++) *(v16 *)(row + VL * v) = acc[r][v];
    }
}

/* Transposes the 16 × 16 block a[] in registers: four rounds of two-input shuffles that swap the
 * off-diagonal halves of 8×8, 4×4, 2×2 and 1×1 sub-blocks. */
#define SWAP_ROUND(b, lo, hi)                                        \
    for (int i = 0; i < VL; i++) {                                   \
        if (i & (b)) continue;                                       \
        const v16 x = a[i], y = a[i + (b)];                          \
        a[i] = shuffle2(x, y, lo);                          \
        a[i + (b)] = shuffle2(x, y, hi);                    \
    }

INLINE void transpose16(v16 a[VL]) {
    /* lo[u] = u (u & b == 0) or 16 + u − b; hi[u] = u + b or 16 + u */
    const vi16 lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
    const vi16 hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
    const vi16 lo4 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27};
    const vi16 hi4 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31};
    const vi16 lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
    const vi16 hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
    const vi16 lo1 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30};
    const vi16 hi1 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
    SWAP_ROUND(8, lo8, hi8)
    SWAP_ROUND(4, lo4, hi4)
    SWAP_ROUND(2, lo2, hi2)
    SWAP_ROUND(1, lo1, hi1)
}
#undef SWAP_ROUND

/* Packs heads [h0, h1) of one sequence (rows [o, o + L)): kt[h − h0] = K_h transposed [hd, Lp] (key
 * columns [L, Lp) are left as they are: the softmax ignores them), vv[h − h0] = V_h [L, hdp] (padding
 * channels left as they are: their output lanes are discarded). K is transposed in 16 × 16 register
 * blocks; a block's 16 channels may run past the head into the next head's K or into V of the same
 * row (never past the row, as 16 ≤ D), and only the head's own channels are stored. */
static void pack_kv(const float *qkv, int o, int L, int h0, int h1, int D, int hd, float *kt, float *vv, int Lp,
                    int hdp) {
    const int ld = 3 * D;
    const size_t kts = (size_t)hd * Lp, vvs = (size_t)L * hdp;
    const int Lf = D >= VL ? L / VL * VL : 0;   /* keys done in full 16-key blocks */
    for (int h = h0; h < h1; h++) {
        float *kth = kt + (h - h0) * kts;
        const float *ks = qkv + (size_t)o * ld + D + h * hd;
        for (int j0 = 0; j0 < Lf; j0 += VL)
            for (int t0 = 0; t0 < hd; t0 += VL) {
                v16 a[VL];
                for (int u = 0; u < VL; u++) memcpy(&a[u], ks + (size_t)(j0 + u) * ld + t0, sizeof(v16));
                transpose16(a);
                const int nt = hd - t0 < VL ? hd - t0 : VL;
                for (int u = 0; u < nt; u++) memcpy(kth + (size_t)(t0 + u) * Lp + j0, &a[u], sizeof(v16));
            }
        for (int j = Lf; j < L; j++)
            for (int t = 0; t < hd; t++) kth[(size_t)t * Lp + j] = ks[(size_t)j * ld + t];
    }
    const int hv = hd / VL * VL;
    for (int j = 0; j < L; j++) {
        const float *v = qkv + (size_t)(o + j) * ld + 2 * D;
        for (int h = h0; h < h1; h++) {
            float *vd = vv + (h - h0) * vvs + (size_t)j * hdp;
            const float *vs = v + h * hd;
            for (int t = 0; t < hv; t += VL) memcpy(vd + t, vs + t, sizeof(v16));
            for (int t = hv; t < hd; t++) vd[t] = vs[t];
        }
    }
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
        float inv[RB];
        if (jb_end <= NV * VL) {   /* the keys fit one register block: scores never go to memory */
            switch (jb_end / VL) {
            case 1: qk_softmax_block(q, kt, Lp, hd, 1, nr, i0, L, causal, scale, bh, mk, sc, inv); break;
            case 2: qk_softmax_block(q, kt, Lp, hd, 2, nr, i0, L, causal, scale, bh, mk, sc, inv); break;
            case 3: qk_softmax_block(q, kt, Lp, hd, 3, nr, i0, L, causal, scale, bh, mk, sc, inv); break;
            default: qk_softmax_block(q, kt, Lp, hd, 4, nr, i0, L, causal, scale, bh, mk, sc, inv); break;
            }
        } else {
            for (int j0 = 0; j0 < jb_end; j0 += NV * VL) {
                const int nv = (jb_end - j0) / VL < NV ? (jb_end - j0) / VL : NV;
                switch (nv) {
                case 1: qk_block(q, kt, Lp, hd, j0, 1, sc); break;
                case 2: qk_block(q, kt, Lp, hd, j0, 2, sc); break;
                case 3: qk_block(q, kt, Lp, hd, j0, 3, sc); break;
                default: qk_block(q, kt, Lp, hd, j0, 4, sc); break;
                }
            }
            for (int r = 0; r < RB; r++) {
                float *row = sc + (size_t)r * Lp;
                if (r < nr) {
                    const int i = i0 + r;
                    inv[r] = softmax_vecs((v16 *)row, jb_end / VL, causal ? i + 1 : L, scale,
                                          bh ? bh + (size_t)i * L : NULL, mk ? mk + (size_t)i * L : NULL);
                } else {
                    memset(row, 0, sizeof(float) * (size_t)jb_end);
                    inv[r] = 0.0f;
                }
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
    sv_attention_ex(qkv, out, nseq, offs, D, H, scale, causal, bias, mask, nmask, 0);
}

void sv_attention_ex(const float *qkv, float *out, int nseq, const int *offs, int D, int H, float scale,
                     int causal, const float *bias, const float *mask, int nmask, int seq0) {
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
        /* this thread's tiles: K transposed [gh][hd, Lp], V [gh][L, hdp], scores of RB rows */
        float *kt = sv_thread_buffer(SV_SCRATCH_ATT0, sizeof(float) * (size_t)gh * hd * Lp);
        float *vv = sv_thread_buffer(SV_SCRATCH_ATT1, sizeof(float) * (size_t)gh * maxL * hdp);
        float *sc = sv_thread_buffer(SV_SCRATCH_ATT2, sizeof(float) * (size_t)RB * Lp);
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int s = 0; s < nseq; s++) {
            for (int g = 0; g < groups; g++) {
                const int o = offs[s], L = offs[s + 1] - offs[s], h0 = g * gh, h1 = h0 + gh < H ? h0 + gh : H;
                if (L == 0) continue;
                if (!kt || !vv || !sc) {   /* out of memory for the tiles: the rows come out NaN */
                    for (int i = o; i < o + L; i++)
                        for (int h = h0; h < h1; h++)
                            for (int t = 0; t < hd; t++) out[(size_t)i * D + h * hd + t] = NAN;
                    continue;
                }
                pack_kv(qkv, o, L, h0, h1, D, hd, kt, vv, Lp, hdp);
                for (int h = h0; h < h1; h++)
                    attend_head(qkv, out, o, L, h, D, hd, scale, causal, bias ? bias + (size_t)h * L * L : NULL,
                                mask ? mask + (size_t)((seq0 + s) % nmask) * L * L : NULL,
                                kt + (size_t)(h - h0) * hd * Lp, vv + (size_t)(h - h0) * L * hdp, sc, Lp, hdp);
            }
        }
    }
}
