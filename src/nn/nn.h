/*
 * nn.h — the numeric building blocks shared by all encoders and the heads:
 *   - sv_gemm / sv_linear: the one GEMM entry point (OpenBLAS cblas_sgemm underneath);
 *   - row ops: layernorm, softmax, activations (quick_gelu, exact-erf gelu, relu);
 *   - sv_attention: multi-head scaled-dot-product attention over packed variable-length
 *     sequences (causal or not, optional additive bias / window mask for Swin);
 *   - sv_block: the pre-LN transformer block used by both CLIP towers.
 * All matrices row-major float32. Weights [out, in] (Hugging Face Linear layout).
 * Threading: everything runs on the OpenMP team (slava_set_threads); sv_gemm splits large products
 * into blocks over it and calls OpenBLAS single-threaded per block.
 */
#ifndef SLAVA_NN_H
#define SLAVA_NN_H

#include "base/base.h"

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major; lda/ldb/ldc are row strides. */
void sv_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* y[n, out] = x[n, in] · W[out, in]ᵀ + b[out] (b may be NULL). y must not alias x. */
void sv_linear(const float *x, int n, int in, const float *W, const float *b, int out, float *y);
/* Before work that runs products (a tower's load, training, evaluation, projecting with heads):
 * SLAVA_E_NOMEM "<what>: out of memory for the matrix-product work buffers ..." when the BLAS
 * library's per-thread buffers would not fit in the address space (it would hang, not fail). */
slava_status sv_gemm_reserve(slava_ctx *ctx, const char *what);

/* In place or out of place (y may equal x): per row of length d. */
void sv_layernorm(const float *x, float *y, int n, int d, const float *gamma, const float *beta, float eps);
void sv_softmax_rows(float *x, int n, int d);
void sv_quick_gelu(float *x, size_t n);   /* x * sigmoid(1.702 x) */
void sv_gelu_erf(float *x, size_t n);     /* 0.5 x (1 + erf(x / sqrt 2)) */
void sv_relu(float *x, size_t n);
void sv_add(float *y, const float *x, size_t n);          /* y += x */
void sv_l2_normalize_rows(float *x, int n, int d);        /* row /= max(||row||, 1e-12), in double */

/*
 * Multi-head attention over nseq packed sequences. Sequence s occupies rows
 * [offs[s], offs[s+1]) of qkv and out.
 *   qkv  [N, 3*D] : per row q (D) | k (D) | v (D), heads of size D/H side by side in each
 *   out  [N, D]
 *   scale: usually (D/H)^-0.5
 *   causal: position i attends to j <= i
 *   bias [H, L, L] (or NULL): added to the scores of every sequence (all sequences have length L)
 *   mask [nmask, L, L] (or NULL): sequence s adds mask[s % nmask]
 */
void sv_attention(const float *qkv, float *out, int nseq, const int *offs, int D, int H, float scale,
                  int causal, const float *bias, const float *mask, int nmask);

/* Weights of one pre-LN transformer block (CLIP encoder layer). qkv_w is the fused [3D, D]
 * matrix (q; k; v rows), qkv_b [3D]; made once at load by sv_block_fuse_qkv. */
typedef struct {
    const float *ln1_w, *ln1_b;
    float       *qkv_w, *qkv_b;        /* owned (fused copy) */
    const float *o_w, *o_b;            /* out_proj [D, D], [D] */
    const float *ln2_w, *ln2_b;
    const float *fc1_w, *fc1_b;        /* [F, D], [F] */
    const float *fc2_w, *fc2_b;        /* [D, F], [D] */
} sv_block_w;

typedef struct {
    int D, H, F;          /* hidden, heads, intermediate */
    float ln_eps;
    int quick_gelu;       /* 1: quick_gelu, 0: gelu (erf) */
} sv_block_cfg;

/* Builds the fused qkv weight/bias from separate q, k, v ([D,D] each, [D] each). */
slava_status sv_block_fuse_qkv(slava_ctx *ctx, sv_block_w *w, int D, const float *qw, const float *qb,
                               const float *kw, const float *kb, const float *vw, const float *vb);
void sv_block_free(sv_block_w *w);

/* Scratch for sv_block_forward: floats needed for N rows. */
size_t sv_block_scratch_floats(const sv_block_cfg *c, int N);
/* h [N, D] updated in place: h += attn(LN1 h); h += fc2(act(fc1(LN2 h))).
 * Sequences as in sv_attention (offs[nseq] == N). scratch: sv_block_scratch_floats(c, N) floats. */
void sv_block_forward(const sv_block_cfg *c, const sv_block_w *w, float *h, int nseq, const int *offs,
                      int causal, float *scratch);
/* The same block with sv_attention's additive bias [H, L, L] and mask [nmask, L, L] (Swin windows:
 * every sequence has length L; either may be NULL). sv_block_forward == this with NULL, NULL. */
void sv_block_forward_ex(const sv_block_cfg *c, const sv_block_w *w, float *h, int nseq, const int *offs,
                         int causal, const float *bias, const float *mask, int nmask, float *scratch);

#endif
