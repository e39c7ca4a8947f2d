/*
 * ops.c — row-wise operations: layernorm, softmax, activations, residual add, L2 normalisation.
 * Parallel over rows (OpenMP); each row's arithmetic is a plain loop the compiler vectorises.
 */
#include "nn/nn.h"
#include <math.h>

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
        for (int j = 0; j < d; j++) { r[j] = expf(r[j] - m); s += r[j]; }
        float inv = 1.0f / s;
        for (int j = 0; j < d; j++) r[j] *= inv;
    }
}

/* expf for vectorised loops: Cephes polynomial, within 1.2e-7 relative of expf on [-87, 88];
 * arguments outside are clamped (x / (1 + e^-1.702x) stays exact in the limits). No float→int
 * conversion, so GCC vectorises it without -ffast-math: round(x·log2 e) comes from adding 1.5·2^23. */
static inline float exp_vec(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    union { float f; int32_t i; } t, s;
    t.f = x * 1.44269504088896341f + 12582912.0f;
    float n = t.f - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    s.i = (t.i - 0x4B400000 + 127) << 23;
    return p * s.f;
}

void sv_quick_gelu(float *x, size_t n) {
    #pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) { float v = x[i]; x[i] = v / (1.0f + exp_vec(-1.702f * v)); }
}

void sv_gelu_erf(float *x, size_t n) {
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
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
        float inv = (float)(1.0 / fmax(sqrt(ss), 1e-12));
        for (int j = 0; j < d; j++) r[j] *= inv;
    }
}
