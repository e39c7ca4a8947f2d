/*
 * kernels.h — the layers of the trainable heads, each forward next to its backward, in two
 * precisions: `_f` (float32, used for training and projection) and `_d` (float64, the same code
 * instantiated a second time so that tests can check every gradient by finite differences).
 * The bodies live once in kernels_impl.h; kernels.c includes it for each precision. The float
 * GEMMs go through sv_gemm (src/nn/nn.h); the float64 instantiation exists only for checking and
 * calls cblas_dgemm.
 *
 * Shapes (row-major):  B items in a batch, P embedding size, T_b rows (frames / chunks) of item b,
 * offs[B+1] with offs[0] = 0 and offs[b+1] - offs[b] = T_b, N = offs[B].
 * Backward functions ACCUMULATE (+=) into parameter gradients (dW, db) and OVERWRITE input
 * gradients (dx); any gradient pointer may be NULL to skip it.
 */
#ifndef SLAVA_ALIGN_KERNELS_H
#define SLAVA_ALIGN_KERNELS_H

#include <stddef.h>

#define AL_L2_EPS 1e-12   /* torch.nn.functional.normalize: x / max(||x||, eps) */

#define AL_DECLARE(R, S)                                                                         \
/* y[n,out] = x[n,in] · W[out,in]ᵀ + b[out]   (b may be NULL) */                                 \
void al_linear_fwd##S(R *y, const R *x, const R *W, const R *b, int n, int in, int out);         \
/* dW[out,in] += dyᵀ x;  db[out] += Σ_rows dy;  dx[n,in] = dy W */                               \
void al_linear_bwd##S(R *dx, R *dW, R *db, const R *dy, const R *x, const R *W, int n, int in,  \
                      int out);                                                                  \
/* y = max(x, 0) (y may equal x);  dx = dy · [y > 0] (dx may equal dy) */                        \
void al_relu_fwd##S(R *y, const R *x, size_t n);                                                 \
void al_relu_bwd##S(R *dx, const R *dy, const R *y, size_t n);                                   \
/* temporal mean: y[b,d] = 1/T_b Σ_{t in b} x[t,d];  dx[t,d] = dy[b,d] / T_b */                  \
void al_meanpool_fwd##S(R *y, const R *x, const int *offs, int B, int d);                        \
void al_meanpool_bwd##S(R *dx, const R *dy, const int *offs, int B, int d);                      \
/* y[b] = x[b] / max(||x[b]||, eps), norm[b] = ||x[b]||;  dx = (dy - y (y·dy)) / max(norm,eps) */ \
void al_l2norm_fwd##S(R *y, R *norm, const R *x, int B, int d);                                 \
void al_l2norm_bwd##S(R *dx, const R *dy, const R *y, const R *norm, int B, int d);              \
/* Audio MLP head over chunks x[N,d_a]: h[N,H] = relu(x W1ᵀ + b1); hbar[B,H] = meanpool(h);     \
 * z[B,P] = hbar W2ᵀ + b2. linear2 commutes with the temporal mean, so it runs on the pooled   \
 * rows; linear1 + ReLU must run per chunk. */                                                   \
void al_mlp_fwd##S(R *z, R *h, R *hbar, const R *x, const int *offs, int B, const R *W1,        \
                   const R *b1, const R *W2, const R *b2, int d_a, int H, int P);                \
/* dz[B,P] → dW1, db1, dW2, db2 (+=). scratch: dhbar[B,H], dh[N,H]. */                           \
void al_mlp_bwd##S(R *dW1, R *db1, R *dW2, R *db2, const R *dz, const R *x, const R *h,         \
                   const R *hbar, const int *offs, int B, const R *W2, int d_a, int H, int P,    \
                   R *dhbar, R *dh);                                                             \
/* Symmetric InfoNCE for normalised X[B,P], Y[B,P], s = exp(ls):                                 \
 *   L = ½ [ CE(s X Yᵀ, diag) + CE(s Y Xᵀ, diag) ]  (mean over the batch).                       \
 * Returns L; adds dL/dX to dX, dL/dY to dY, dL/dls to *dls (each may be NULL).                  \
 * work: 2·B·B + 2·B values. */                                                                        \
R al_infonce##S(const R *X, const R *Y, int B, int P, R ls, R *dX, R *dY, R *dls, R *work);

AL_DECLARE(float, _f)
AL_DECLARE(double, _d)

/* AdamW exactly as torch.optim.AdamW (non-amsgrad, single tensor): step is the 1-based count of
 * updates of this tensor;  p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 * p ← p − lr/(1−β1^step) · m / (sqrt(v)/sqrt(1−β2^step) + ε). */
void al_adamw_f(float *p, const float *g, float *m, float *v, size_t n, int step, double lr,
                double beta1, double beta2, double eps, double wd);

#endif
