/*
 * gemm.c — the one GEMM entry point (OpenBLAS cblas_sgemm) and the Linear layer built on it.
 * Every matrix product of the encoders and heads goes through here.
 */
#include "nn/nn.h"
#include <cblas.h>
#include <omp.h>

extern void openblas_set_num_threads(int);

/* OpenBLAS's own threads (pthreads) and the OpenMP team of the row-wise ops would fight over the
 * cores: each pool busy-waits after its work, and on a 2-core machine that halved the text
 * tower's speed. So OpenBLAS runs single-threaded and large products are split into row (or
 * column) blocks over the one OpenMP team; each block is one cblas_sgemm call. */
static void blas_single_thread_once(void) {
    static int done;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        openblas_set_num_threads(1);
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
}

static void sgemm_block(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

void sv_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    blas_single_thread_once();
    int T = slava_get_threads();
    double work = (double)M * N * (K > 0 ? K : 1);
    if (T <= 1 || work < 4e6 || (M < 32 && N < 32)) {
        sgemm_block(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* Split the longer side, rows when they suffice. Below 64 rows per thread, split columns:
     * then each thread packs only its part of B (the weights) instead of all of it — at batch 1
     * (ViT-B/32: 50 rows) that is 25-30 % less CPU per image. */
    const int by_rows = M >= N || M >= 64 * T;
    const int len = by_rows ? M : N;
    if (T > len / 16) T = len / 16 > 0 ? len / 16 : 1;
    #pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int chunk = ((len + nt - 1) / nt + 15) & ~15;   /* multiples of 16 rows / columns (64 bytes) */
        int s0 = t * chunk, s1 = s0 + chunk < len ? s0 + chunk : len;
        if (s0 < s1) {
            if (by_rows)
                sgemm_block(transA, transB, s1 - s0, N, K, alpha, transA ? A + s0 : A + (size_t)s0 * lda, lda, B, ldb,
                            beta, C + (size_t)s0 * ldc, ldc);
            else
                sgemm_block(transA, transB, M, s1 - s0, K, alpha, A, lda, transB ? B + (size_t)s0 * ldb : B + s0, ldb,
                            beta, C + s0, ldc);
        }
    }
}

/* y = x Wᵀ + b: the bias is written first and the GEMM accumulates onto it (beta = 1). */
void sv_linear(const float *x, int n, int in, const float *W, const float *b, int out, float *y) {
    if (n <= 0) return;
    if (b) {
        #pragma omp parallel for schedule(static) if ((size_t)n * out > 65536)
        for (int i = 0; i < n; i++) memcpy(y + (size_t)i * out, b, sizeof(float) * out);
    }
    sv_gemm(0, 1, n, out, in, 1.0f, x, in, W, in, b ? 1.0f : 0.0f, y, out);
}
