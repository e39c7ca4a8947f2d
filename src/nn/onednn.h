/*
 * onednn.h — the oneDNN (DNNL 2.6) backend behind the one GEMM entry point. Only gemm.c uses it;
 * everything else calls sv_gemm / sv_mat_mul (nn.h), which choose between this and OpenBLAS.
 *
 *   - one CPU engine, created on first use; oneDNN picks its ISA at run time (ONEDNN_MAX_CPU_ISA
 *     caps it), so the same binary runs AVX-512 BF16 kernels here and AVX2 ones under valgrind;
 *   - weights packed once into the blocked layout the matmul kernels read (sv_dnnl_pack), then one
 *     primitive per (rows, strides, bias, activation, accumulate) created on first use and cached
 *     in the packed weight (mutex-protected; primitives are immutable, so threads share them);
 *   - plain products (sv_dnnl_gemm) cached by their whole shape in one bounded table;
 *   - primitives use a caller-provided scratchpad (thread-local buffer) and a thread-local stream,
 *     so any number of threads may execute them at once.
 * The functions return 0 on success (sv_dnnl_matmul: the rows done) and non-zero when oneDNN cannot
 * do the product (no engine, no implementation but the reference one, out of memory): the caller
 * then uses OpenBLAS.
 */
#ifndef SLAVA_NN_ONEDNN_H
#define SLAVA_NN_ONEDNN_H

#include <stddef.h>
#include <stdint.h>

/* Activation applied by the product (oneDNN eltwise post-op; nn.h sv_act values). */
enum { SV_DNNL_ACT_NONE = 0, SV_DNNL_ACT_GELU_ERF = 1, SV_DNNL_ACT_QUICK_GELU = 2, SV_DNNL_ACT_RELU = 3 };

int         sv_dnnl_available(void);     /* engine created (once) */
const char *sv_dnnl_isa(void);           /* the ISA oneDNN dispatches to, e.g. "avx512_core_bf16" */
const char *sv_dnnl_version(void);       /* e.g. "2.6.3" */

typedef struct sv_dnnl_w sv_dnnl_w;

/* Packs W [N, K] (row-major, [out, in]) given as float32 (src32) or bf16 bit patterns (src16, one of
 * the two non-NULL) into the layout oneDNN's matmul wants for bf16 (bf16 = 1) or float32 products.
 * *impl receives the name of the implementation the packing was sized for (e.g. "brg:avx512_core").
 * Returns 0 and *out, or non-zero (no usable implementation; *out NULL). */
int  sv_dnnl_pack(const float *src32, const uint16_t *src16, int N, int K, int bf16, sv_dnnl_w **out,
                  const char **impl);
void sv_dnnl_free(sv_dnnl_w *w);
size_t sv_dnnl_bytes(const sv_dnnl_w *w);   /* packed size */

/* y[M, N] (row stride ldy) = act(x · Wᵀ + bias) (+ y when accumulate; act is applied first).
 * x: [M, K] float32 with row stride ldx, or bf16 (uint16_t) dense [M, K] when W is bf16.
 * bias [N] float32 or NULL. Returns the rows done (M on success; rows are done in order, so the
 * caller finishes the rest another way when oneDNN stops early). */
int sv_dnnl_matmul(sv_dnnl_w *w, int M, const void *x, int ldx, const float *bias, int act, int accumulate,
                   float *y, int ldy);

/* C[M,N] = alpha · op(A) op(B) + beta · C, float32, row-major with leading dimensions (as sv_gemm). */
int sv_dnnl_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc);

#endif
