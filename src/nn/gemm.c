/*
 * gemm.c — the one GEMM entry point (OpenBLAS cblas_sgemm) and the Linear layer built on it.
 * Every matrix product of the encoders and heads goes through here.
 */
#include "nn/nn.h"
#include <cblas.h>

void sv_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
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
