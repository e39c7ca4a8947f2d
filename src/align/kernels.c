/*
 * kernels.c — instantiates kernels_impl.h in float32 (training; GEMMs through sv_gemm) and in
 * float64 (gradient checks; GEMMs through cblas_dgemm), plus AdamW.
 */
#include "align/kernels.h"
#include "nn/nn.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

static void gemm_d(int tA, int tB, int M, int N, int K, double alpha, const double *A, int lda,
                   const double *B, int ldb, double beta, double *C, int ldc) {
    cblas_dgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N,
                K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#define R float
#define S(name) name##_f
#define GEMM sv_gemm
#include "align/kernels_impl.h"
#undef R
#undef S
#undef GEMM

#define R double
#define S(name) name##_d
#define GEMM gemm_d
#include "align/kernels_impl.h"
#undef R
#undef S
#undef GEMM

void al_adamw_f(float *p, const float *g, float *m, float *v, size_t n, int step, double lr,
                double beta1, double beta2, double eps, double wd) {
    /* Scalars as torch computes them (Python floats), tensors in float32. */
    double bc1 = 1.0 - pow(beta1, step), bc2 = 1.0 - pow(beta2, step);
    float decay = (float)(1.0 - lr * wd);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float b1 = (float)beta1, b2 = (float)beta2, one_b1 = (float)(1.0 - beta1), one_b2 = (float)(1.0 - beta2);
    float e = (float)eps;
    /* element-wise: the split over threads cannot change any result */
    #pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        p[i] *= decay;
        m[i] = m[i] * b1 + gi * one_b1;
        v[i] = v[i] * b2 + gi * gi * one_b2;
        float denom = sqrtf(v[i]) / bc2_sqrt + e;
        p[i] -= step_size * (m[i] / denom);
    }
}
