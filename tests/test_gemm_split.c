/*
 * test_gemm_split.c — sv_gemm's blocked path (large products split over the OpenMP team, each
 * block one single-threaded cblas_sgemm) against a plain triple loop, for every transpose
 * combination, splitting by rows and by columns, with strided leading dimensions, alpha and beta.
 */
#include "test.h"
#include "nn/nn.h"

static void naive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
            C[i * ldc + j] = (float)(alpha * s + beta * C[i * ldc + j]);
        }
}

int main(void) {
    slava_set_threads(2);
    const int shapes[3][3] = {{301, 70, 190}, {20, 517, 400}, {8, 8, 8}};   /* rows split, columns split, tiny */
    for (int s = 0; s < 3; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
                size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
                float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *R = malloc(nc * 4);
                for (size_t i = 0; i < na; i++) A[i] = (float)((int)(i * 37 % 101) - 50) / 50.0f;
                for (size_t i = 0; i < nb; i++) B[i] = (float)((int)(i * 53 % 97) - 48) / 48.0f;
                for (size_t i = 0; i < nc; i++) C[i] = R[i] = (float)(int)(i % 7) - 3.0f;
                sv_gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C, ldc);
                naive(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, R, ldc);
                double worst = 0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) worst = fmax(worst, fabs(C[i * ldc + j] - R[i * ldc + j]));
                /* padding columns untouched */
                int pad_ok = 1;
                for (int i = 0; i < M; i++) pad_ok &= C[i * ldc + N] == R[i * ldc + N];
                CHECKF(worst < 1e-3 && pad_ok, "M%d N%d K%d ta%d tb%d: max err %g, padding %s", M, N, K, ta, tb, worst,
                       pad_ok ? "ok" : "written");
                free(A); free(B); free(C); free(R);
            }
    return test_done("gemm_split");
}
