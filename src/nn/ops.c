/*
 * ops.c — row-wise operations: layernorm, softmax, activations, residual add, L2 normalisation.
 * Parallel over rows (OpenMP); each row's arithmetic is a plain loop the compiler vectorises.
 */
#include "nn/nn.h"
#include "nn/vmath.h"

void sv_layernorm(const float *x, float *y, int n, int d, const float *gamma, const float *beta, float eps) {
    #pragma omp parallel for schedule(static) if ((size_t)n * d > 32768)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *yi = y + (size_t)i * d;
        float mean = 0.0f;
        #pragma omp simd reduction(+:mean)
        for (int j = 0; j < d; j++) mean += xi[j];
        mean /= d;
        float var = 0.0f;
        #pragma omp simd reduction(+:var)
        for (int j = 0; j < d; j++) { float c = xi[j] - mean; var += c * c; }
        var /= d;
        float rs = 1.0f / sqrtf(var + eps);
        for (int j = 0; j < d; j++) yi[j] = (xi[j] - mean) * rs * gamma[j] + beta[j];
    }
}

void sv_softmax_rows(float *x, int n, int d) {
    #pragma omp parallel for schedule(static) if ((size_t)n * d > 32768)
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * d, m = -INFINITY, s = 0.0f;
        for (int j = 0; j < d; j++) m = r[j] > m ? r[j] : m;
        #pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) { r[j] = expf(r[j] - m); s += r[j]; }
        float inv = 1.0f / s;
        for (int j = 0; j < d; j++) r[j] *= inv;
    }
}

void sv_quick_gelu(float *x, size_t n) {
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i += 4096) {
        size_t e = i + 4096 < n ? i + 4096 : n;
        #pragma omp simd
        for (size_t k = i; k < e; k++) x[k] = x[k] / (1.0f + expf(-1.702f * x[k]));
    }
}

void sv_gelu_erf(float *x, size_t n) {
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i += 4096) {
        size_t e = i + 4096 < n ? i + 4096 : n;
        #pragma omp simd
        for (size_t k = i; k < e; k++) x[k] = 0.5f * x[k] * (1.0f + erff(x[k] * 0.70710678118654752f));
    }
}

void sv_relu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sv_add(float *y, const float *x, size_t n) {
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void sv_l2_normalize_rows(float *x, int n, int d) {
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * d;
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (double)r[j] * r[j];
        double inv = 1.0 / fmax(sqrt(ss), 1e-12);
        for (int j = 0; j < d; j++) r[j] = (float)(r[j] * inv);
    }
}
