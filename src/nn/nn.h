/*
 * nn.h — the numeric building blocks shared by all encoders and the heads:
 *   - sv_gemm / sv_linear / sv_mat_mul: the one GEMM entry point (gemm.c), over two backends,
 *     OpenBLAS (cblas_sgemm) and oneDNN (onednn.h);
 *   - row ops: layernorm, softmax, activations (quick_gelu, exact-erf gelu, relu);
 *   - sv_attention: multi-head scaled-dot-product attention over packed variable-length
 *     sequences (causal or not, optional additive bias / window mask for Swin);
 *   - sv_block: the pre-LN transformer block used by both CLIP towers and HTSAT.
 * All matrices row-major float32. Weights [out, in] (Hugging Face Linear layout).
 * Threading: everything runs on the OpenMP team (slava_set_threads); sv_gemm splits large OpenBLAS
 * products into blocks over it (OpenBLAS itself single-threaded), oneDNN runs on the same team.
 *
 * Backend choice (DESIGN.md §6). float32: oneDNN for every product by default (measured faster
 * than OpenBLAS on every encoder shape here, and the same backend in every process: a resumed
 * encode stores the same bytes). SLAVA_GEMM=openblas pins OpenBLAS; SLAVA_GEMM=auto chooses per
 * shape class (rows in powers of 4, columns, depth) by measurement: the first product of a class
 * times both backends and keeps OpenBLAS only when it is at least 10 % faster in each of three
 * rounds (products under 2^26 multiply-adds, too short to time, use oneDNN) — not reproducible
 * across processes on a loaded machine. bf16 (SLAVA_PRECISION_BF16): oneDNN's bf16 kernels; where
 * the CPU has none (or under SLAVA_GEMM=openblas) the same numbers are computed on float32 kernels
 * from inputs and weights rounded to bf16 ("emulated").
 */
#ifndef SLAVA_NN_H
#define SLAVA_NN_H

#include "base/base.h"

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major; lda/ldb/ldc are row strides. float32. */
void sv_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* y[n, out] = x[n, in] · W[out, in]ᵀ + b[out] (b may be NULL). y must not alias x. float32. */
void sv_linear(const float *x, int n, int in, const float *W, const float *b, int out, float *y);
/* Before work that runs products (a tower's load, training, evaluation, projecting with heads):
 * SLAVA_E_NOMEM "<what>: out of memory for the matrix-product work buffers ..." when the BLAS
 * library's per-thread buffers would not fit in the address space (it would hang, not fail). */
slava_status sv_gemm_reserve(slava_ctx *ctx, const char *what);

/* Activation fused into a product. */
typedef enum { SV_ACT_NONE = 0, SV_ACT_GELU_ERF = 1, SV_ACT_QUICK_GELU = 2, SV_ACT_RELU = 3 } sv_act;

typedef struct sv_dnnl_w sv_dnnl_w;

/* A Linear weight prepared once at load for its precision: W [out, in] as up to three row blocks
 * (e.g. q; k; v) borrowed from the checkpoint (float32, usually inside the file mapping), plus
 * oneDNN's packed copy (float32 or bf16) and, for bf16 without native kernels, a bf16-rounded
 * float32 copy. The products read the packed copy when oneDNN runs them, so the borrowed rows are
 * then only read again if OpenBLAS is chosen for some shape (sv_mat_packed tells the loader it may
 * drop their pages). Any number of threads may multiply with one sv_mat at once. */
typedef struct {
    int out, in;
    slava_precision prec;
    int nparts;
    const float *part[3];
    int part_rows[3];
    float *emul;          /* bf16 emulated: W rounded to bf16 [out, in] (owned), else NULL */
    sv_dnnl_w *packed;    /* oneDNN's copy (owned), or NULL */
} sv_mat;

/* Called for each borrowed block a new sv_mat does not expect to read again (it was packed or
 * rounded into a copy), so that the loader can return those pages of the file mapping
 * (sv_weights_drop in io/safetensors.h). NULL: nothing is dropped. */
typedef void (*sv_drop_fn)(void *user, const void *p, size_t bytes);

/* W = [parts[0]; parts[1]; ...] (rows[p] rows each, `in` columns). */
slava_status sv_mat_init(slava_ctx *ctx, sv_mat *m, int nparts, const float *const *parts, const int *rows, int in,
                         slava_precision prec, sv_drop_fn drop, void *drop_user);
/* One block: W [out, in]. */
slava_status sv_mat_init1(slava_ctx *ctx, sv_mat *m, const float *W, int out, int in, slava_precision prec,
                          sv_drop_fn drop, void *drop_user);
void sv_mat_free(sv_mat *m);
int  sv_mat_packed(const sv_mat *m);   /* 1: products read oneDNN's copy, not the borrowed rows */
size_t sv_mat_bytes(const sv_mat *m);  /* memory the sv_mat owns */
/* y[n, out] (row stride ldy) = act(x[n, in] (row stride ldx) · Wᵀ + b) (+ y when accumulate; then
 * act must be SV_ACT_NONE). b [out] or NULL. bf16: x is rounded to bf16 on the way in; products
 * accumulate in float32 and y is float32. */
void sv_mat_mul(const sv_mat *m, const float *x, int n, int ldx, const float *b, sv_act act, int accumulate, float *y,
                int ldy);

/* Precision names ("fp32", "bf16"); parse returns 0 on success. */
const char *sv_precision_name(slava_precision p);
int         sv_precision_parse(const char *s, slava_precision *p);

/* One line naming the GEMM backends and how they are chosen, e.g. "fp32 per shape by measurement
 * (OpenBLAS Haswell / oneDNN 2.6.3 avx512_core_bf16), bf16 oneDNN". */
void sv_gemm_describe(char *buf, size_t cap);
/* The choices made so far in this process: "fp32: 6 shapes oneDNN, 1 OpenBLAS; bf16: oneDNN". */
void sv_gemm_choices(char *buf, size_t cap);

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
/* The same for sequences that are a slice of a longer run starting at sequence seq0 (sequence s
 * of the slice adds mask[(seq0 + s) % nmask]); sv_attention is this with seq0 = 0. */
void sv_attention_ex(const float *qkv, float *out, int nseq, const int *offs, int D, int H, float scale,
                     int causal, const float *bias, const float *mask, int nmask, int seq0);

/* Weights of one pre-LN transformer block (CLIP encoder layer, Swin block). Two ways to set it up:
 *   - sv_block_prepare (the towers): the four products as sv_mat for a precision, q / k / v read
 *     in place as the three blocks of one [3D, D] product; qkv_b is the fused bias (owned);
 *   - sv_block_fuse_qkv: qkv_w is a fused float32 copy [3D, D] (owned), qkv_b [3D], and the
 *     products run through sv_linear on the raw pointers (float32 only). */
typedef struct {
    const float *ln1_w, *ln1_b;
    float       *qkv_w, *qkv_b;        /* owned (fused copies); qkv_w NULL when prepared */
    const float *o_w, *o_b;            /* out_proj [D, D], [D] */
    const float *ln2_w, *ln2_b;
    const float *fc1_w, *fc1_b;        /* [F, D], [F] */
    const float *fc2_w, *fc2_b;        /* [D, F], [D] */
    int          prepared;             /* 1: the sv_mat below are used */
    sv_mat       qkv, o, fc1, fc2;
} sv_block_w;

typedef struct {
    int D, H, F;          /* hidden, heads, intermediate */
    float ln_eps;
    int quick_gelu;       /* 1: quick_gelu, 0: gelu (erf) */
} sv_block_cfg;

/* Prepares the four products for `prec` from q, k, v ([D, D] each, borrowed; biases may be NULL)
 * and the o / fc1 / fc2 pointers already set in w. sv_block_free releases what it made. */
slava_status sv_block_prepare(slava_ctx *ctx, sv_block_w *w, const sv_block_cfg *c, slava_precision prec,
                              const float *qw, const float *qb, const float *kw, const float *kb, const float *vw,
                              const float *vb, sv_drop_fn drop, void *drop_user);

/* Builds the fused qkv weight/bias from separate q, k, v ([D,D] each, [D] each). */
slava_status sv_block_fuse_qkv(slava_ctx *ctx, sv_block_w *w, int D, const float *qw, const float *qb,
                               const float *kw, const float *kb, const float *vw, const float *vb);
void sv_block_free(sv_block_w *w);

/* Scratch for sv_block_forward: floats needed for N rows. */
size_t sv_block_scratch_floats(const sv_block_cfg *c, int N);
/* What a prepared block of precision prec really uses for N rows in sequences of at most max_len
 * rows: less than sv_block_scratch_floats when it runs in row tiles (HTSAT's first stages). */
size_t sv_block_scratch_floats_prepared(const sv_block_cfg *c, int N, int max_len, slava_precision prec);
/* h [N, D] updated in place: h += attn(LN1 h); h += fc2(act(fc1(LN2 h))).
 * Sequences as in sv_attention (offs[0] == 0, offs[nseq] == N). scratch: sv_block_scratch_floats(c, N)
 * floats. */
void sv_block_forward(const sv_block_cfg *c, const sv_block_w *w, float *h, int nseq, const int *offs,
                      int causal, float *scratch);
/* The same block with sv_attention's additive bias [H, L, L] and mask [nmask, L, L] (Swin windows:
 * every sequence has length L; either may be NULL). sv_block_forward == this with NULL, NULL. */
void sv_block_forward_ex(const sv_block_cfg *c, const sv_block_w *w, float *h, int nseq, const int *offs,
                         int causal, const float *bias, const float *mask, int nmask, float *scratch);

#endif
