/*
 * test_align_grad.c — finite-difference gradient checks in float64 for every layer of the heads
 * (visual / text linear heads, audio MLP head, linear audio head, temporal mean, L2 norm,
 * symmetric InfoNCE incl. the logit scale) and the whole chain; relative error < 1e-4.
 * The layers are the production code instantiated in double (src/align/kernels_impl.h); a last
 * check compares the float32 instantiation (used for training) with the double one.
 */
#include "test.h"
#include "align/kernels.h"
#include "base/rng.h"

static sv_rng rng;
static double *randv(size_t n, double scale) {
    double *x = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = scale * sv_rng_normal(&rng);
    return x;
}

/* Scalar objective of a parameter vector; the check perturbs `p` in place. */
typedef double (*objective)(void *u);

/* Central differences on every element of p (n values), compared with the analytic gradient g:
 * ||g - fd|| / ||fd||. */
static double fd_rel_err(objective f, void *u, double *p, const double *g, size_t n) {
    const double h = 1e-6;
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double fp = f(u);
        p[i] = keep - h;
        double fm = f(u);
        p[i] = keep;
        double fd = (fp - fm) / (2 * h);
        num += (g[i] - fd) * (g[i] - fd);
        den += fd * fd;
    }
    return sqrt(num) / (sqrt(den) > 1e-300 ? sqrt(den) : 1e-300);
}

/* ---- linear head (visual / text: no bias; linear audio head: bias) with loss Σ c ⊙ y */
typedef struct { int n, in, out; double *x, *W, *b, *c, *y; } lin_case;
static double lin_obj(void *u) {
    lin_case *k = u;
    al_linear_fwd_d(k->y, k->x, k->W, k->b, k->n, k->in, k->out);
    double s = 0;
    for (int i = 0; i < k->n * k->out; i++) s += k->c[i] * k->y[i];
    return s;
}
static void check_linear(const char *what, int n, int in, int out, int bias) {
    lin_case k = {n, in, out, randv((size_t)n * in, 1), randv((size_t)out * in, 0.3), bias ? randv(out, 0.3) : NULL,
                  randv((size_t)n * out, 1), randv((size_t)n * out, 0)};
    double *dW = calloc((size_t)out * in, sizeof(double)), *db = calloc(out, sizeof(double)),
           *dx = calloc((size_t)n * in, sizeof(double));
    al_linear_bwd_d(dx, dW, bias ? db : NULL, k.c, k.x, k.W, n, in, out);
    double e1 = fd_rel_err(lin_obj, &k, k.W, dW, (size_t)out * in);
    double e2 = fd_rel_err(lin_obj, &k, k.x, dx, (size_t)n * in);
    CHECKF(e1 < 1e-4, "%s dW rel err %.3g", what, e1);
    CHECKF(e2 < 1e-4, "%s dx rel err %.3g", what, e2);
    printf("  %-28s dW %.2e  dx %.2e", what, e1, e2);
    if (bias) {
        double e3 = fd_rel_err(lin_obj, &k, k.b, db, out);
        CHECKF(e3 < 1e-4, "%s db rel err %.3g", what, e3);
        printf("  db %.2e", e3);
    }
    printf("\n");
    free(k.x); free(k.W); free(k.b); free(k.c); free(k.y); free(dW); free(db); free(dx);
}

/* ---- temporal mean pooling */
typedef struct { int B, d; int *offs; double *x, *y, *c; } pool_case;
static double pool_obj(void *u) {
    pool_case *k = u;
    al_meanpool_fwd_d(k->y, k->x, k->offs, k->B, k->d);
    double s = 0;
    for (int i = 0; i < k->B * k->d; i++) s += k->c[i] * k->y[i];
    return s;
}

/* ---- L2 norm with loss Σ c ⊙ y */
typedef struct { int B, d; double *x, *y, *nrm, *c; } l2_case;
static double l2_obj(void *u) {
    l2_case *k = u;
    al_l2norm_fwd_d(k->y, k->nrm, k->x, k->B, k->d);
    double s = 0;
    for (int i = 0; i < k->B * k->d; i++) s += k->c[i] * k->y[i];
    return s;
}

/* ---- audio MLP head: linear1 → ReLU → mean over chunks → linear2 */
typedef struct { int B, N, da, H, P; int *offs; double *x, *W1, *b1, *W2, *b2, *z, *h, *hbar, *c; } mlp_case;
static double mlp_obj(void *u) {
    mlp_case *k = u;
    al_mlp_fwd_d(k->z, k->h, k->hbar, k->x, k->offs, k->B, k->W1, k->b1, k->W2, k->b2, k->da, k->H, k->P);
    double s = 0;
    for (int i = 0; i < k->B * k->P; i++) s += k->c[i] * k->z[i];
    return s;
}

/* ---- symmetric InfoNCE on normalised inputs */
typedef struct { int B, P; double *X, *Y, ls, *work; } nce_case;
static double nce_obj(void *u) {
    nce_case *k = u;
    return al_infonce_d(k->X, k->Y, k->B, k->P, k->ls, NULL, NULL, NULL, k->work);
}

/* ---- whole chain: visual linear + L2, audio MLP + L2, text linear + L2, L_av + L_at + L_vt */
typedef struct {
    int B, N, dv, da, dt, H, P;
    int *offs;
    double *xv, *xa, *xt, *Wv, *Wt, *W1, *b1, *W2, *b2, ls[3];
    double *zv, *ev, *nv, *za, *ea, *na, *zt, *et, *nt, *h, *hbar, *work;
} chain_case;
static double chain_obj(void *u) {
    chain_case *k = u;
    al_linear_fwd_d(k->zv, k->xv, k->Wv, NULL, k->B, k->dv, k->P);
    al_l2norm_fwd_d(k->ev, k->nv, k->zv, k->B, k->P);
    al_mlp_fwd_d(k->za, k->h, k->hbar, k->xa, k->offs, k->B, k->W1, k->b1, k->W2, k->b2, k->da, k->H, k->P);
    al_l2norm_fwd_d(k->ea, k->na, k->za, k->B, k->P);
    al_linear_fwd_d(k->zt, k->xt, k->Wt, NULL, k->B, k->dt, k->P);
    al_l2norm_fwd_d(k->et, k->nt, k->zt, k->B, k->P);
    return al_infonce_d(k->ea, k->ev, k->B, k->P, k->ls[0], NULL, NULL, NULL, k->work) +
           al_infonce_d(k->ea, k->et, k->B, k->P, k->ls[1], NULL, NULL, NULL, k->work) +
           al_infonce_d(k->ev, k->et, k->B, k->P, k->ls[2], NULL, NULL, NULL, k->work);
}

int main(void) {
    sv_rng_seed(&rng, 12345);
    printf("relative errors (analytic vs central differences, float64):\n");
    check_linear("visual head (no bias)", 5, 12, 7, 0);
    check_linear("text head (no bias)", 6, 9, 7, 0);
    check_linear("linear audio head (bias)", 4, 10, 7, 1);

    {   /* mean pooling over uneven segments, including T = 1 */
        int offs[4] = {0, 3, 4, 9};
        pool_case k = {3, 5, offs, randv(9 * 5, 1), randv(3 * 5, 0), randv(3 * 5, 1)};
        double *dx = calloc(9 * 5, sizeof(double));
        al_meanpool_bwd_d(dx, k.c, offs, 3, 5);
        double e = fd_rel_err(pool_obj, &k, k.x, dx, 9 * 5);
        CHECKF(e < 1e-4, "meanpool rel err %.3g", e);
        printf("  %-28s dx %.2e\n", "temporal mean", e);
        /* value check: the mean of rows 0..2 */
        pool_obj(&k);
        CHECK(fabs(k.y[0] - (k.x[0] + k.x[5] + k.x[10]) / 3) < 1e-12);
        free(k.x); free(k.y); free(k.c); free(dx);
    }
    {   /* L2 norm */
        l2_case k = {4, 6, randv(24, 1), randv(24, 0), randv(4, 0), randv(24, 1)};
        double *dx = calloc(24, sizeof(double));
        l2_obj(&k);
        al_l2norm_bwd_d(dx, k.c, k.y, k.nrm, 4, 6);
        double e = fd_rel_err(l2_obj, &k, k.x, dx, 24);
        CHECKF(e < 1e-4, "l2norm rel err %.3g", e);
        printf("  %-28s dx %.2e\n", "L2 normalisation", e);
        double nn = 0;
        for (int i = 0; i < 6; i++) nn += k.y[i] * k.y[i];
        CHECK(fabs(nn - 1) < 1e-12);
        free(k.x); free(k.y); free(k.nrm); free(k.c); free(dx);
    }
    {   /* audio MLP */
        int offs[5] = {0, 2, 3, 7, 9};
        mlp_case k = {4, 9, 10, 8, 6, offs, randv(9 * 10, 1), randv(8 * 10, 0.4), randv(8, 0.3), randv(6 * 8, 0.4),
                      randv(6, 0.3), randv(4 * 6, 0), randv(9 * 8, 0), randv(4 * 8, 0), randv(4 * 6, 1)};
        double *dW1 = calloc(80, sizeof(double)), *db1 = calloc(8, sizeof(double)), *dW2 = calloc(48, sizeof(double)),
               *db2 = calloc(6, sizeof(double)), *dhbar = calloc(32, sizeof(double)), *dh = calloc(72, sizeof(double));
        mlp_obj(&k);
        al_mlp_bwd_d(dW1, db1, dW2, db2, k.c, k.x, k.h, k.hbar, offs, 4, k.W2, 10, 8, 6, dhbar, dh);
        double e[4] = {fd_rel_err(mlp_obj, &k, k.W1, dW1, 80), fd_rel_err(mlp_obj, &k, k.b1, db1, 8),
                       fd_rel_err(mlp_obj, &k, k.W2, dW2, 48), fd_rel_err(mlp_obj, &k, k.b2, db2, 6)};
        for (int i = 0; i < 4; i++) CHECKF(e[i] < 1e-4, "mlp param %d rel err %.3g", i, e[i]);
        printf("  %-28s dW1 %.2e  db1 %.2e  dW2 %.2e  db2 %.2e\n", "audio MLP head", e[0], e[1], e[2], e[3]);
        int zeros = 0;   /* the ReLU must be active on some units and not on others */
        for (int i = 0; i < 72; i++) zeros += k.h[i] == 0;
        CHECK(zeros > 0 && zeros < 72);
        free(k.x); free(k.W1); free(k.b1); free(k.W2); free(k.b2); free(k.z); free(k.h); free(k.hbar); free(k.c);
        free(dW1); free(db1); free(dW2); free(db2); free(dhbar); free(dh);
    }
    {   /* InfoNCE: inputs, and the logit scale at a value where it matters */
        int B = 5, P = 4;
        nce_case k = {B, P, randv(B * P, 1), randv(B * P, 1), log(7.0), randv(3 * B * B, 0)};
        double n1[5], n2[5];
        al_l2norm_fwd_d(k.X, n1, k.X, B, P);
        al_l2norm_fwd_d(k.Y, n2, k.Y, B, P);
        double *dX = calloc(B * P, sizeof(double)), *dY = calloc(B * P, sizeof(double)), dls = 0;
        double L = al_infonce_d(k.X, k.Y, B, P, k.ls, dX, dY, &dls, k.work);
        double eX = fd_rel_err(nce_obj, &k, k.X, dX, B * P), eY = fd_rel_err(nce_obj, &k, k.Y, dY, B * P);
        double els = fd_rel_err(nce_obj, &k, &k.ls, &dls, 1);
        CHECKF(eX < 1e-4 && eY < 1e-4, "infonce rel err X %.3g Y %.3g", eX, eY);
        CHECKF(els < 1e-4, "logit scale rel err %.3g", els);
        printf("  %-28s dX %.2e  dY %.2e  dlogit_scale %.2e\n", "symmetric InfoNCE", eX, eY, els);
        /* value: hand-check against the definition ½[CE(sXYᵀ) + CE(sYXᵀ)] */
        double s = 7.0, ref = 0;
        for (int dir = 0; dir < 2; dir++)
            for (int i = 0; i < B; i++) {
                double lse = 0, li = 0;
                for (int j = 0; j < B; j++) {
                    double dot = 0;
                    for (int p = 0; p < P; p++) dot += (dir ? k.Y : k.X)[i * P + p] * (dir ? k.X : k.Y)[j * P + p];
                    lse += exp(s * dot);
                    if (j == i) li = s * dot;
                }
                ref += (log(lse) - li) / (2.0 * B);
            }
        CHECKF(fabs(L - ref) < 1e-12, "loss %.15g vs definition %.15g", L, ref);
        /* symmetric: swapping X and Y gives the same loss */
        double L2 = al_infonce_d(k.Y, k.X, B, P, k.ls, NULL, NULL, NULL, k.work);
        CHECK(fabs(L - L2) < 1e-12);
        free(k.X); free(k.Y); free(k.work); free(dX); free(dY);
    }
    {   /* the whole chain, gradients propagated as the training step does */
        chain_case k = {0};
        k.B = 4; k.dv = 7; k.da = 6; k.dt = 5; k.H = 8; k.P = 5;
        int offs[5] = {0, 1, 3, 6, 8};
        k.N = 8; k.offs = offs;
        k.xv = randv(k.B * k.dv, 1); k.xa = randv(k.N * k.da, 1); k.xt = randv(k.B * k.dt, 1);
        k.Wv = randv(k.P * k.dv, 0.4); k.Wt = randv(k.P * k.dt, 0.4); k.W1 = randv(k.H * k.da, 0.4);
        k.b1 = randv(k.H, 0.3); k.W2 = randv(k.P * k.H, 0.4); k.b2 = randv(k.P, 0.3);
        k.ls[0] = log(5.0); k.ls[1] = log(9.0); k.ls[2] = log(3.0);
        int B = k.B, P = k.P;
        k.zv = randv(B * P, 0); k.ev = randv(B * P, 0); k.nv = randv(B, 0); k.za = randv(B * P, 0); k.ea = randv(B * P, 0);
        k.na = randv(B, 0); k.zt = randv(B * P, 0); k.et = randv(B * P, 0); k.nt = randv(B, 0);
        k.h = randv(k.N * k.H, 0); k.hbar = randv(B * k.H, 0); k.work = randv(3 * B * B, 0);
        chain_obj(&k);
        double *dev = calloc(B * P, 8), *dea = calloc(B * P, 8), *det = calloc(B * P, 8), dls[3] = {0, 0, 0};
        al_infonce_d(k.ea, k.ev, B, P, k.ls[0], dea, dev, &dls[0], k.work);
        al_infonce_d(k.ea, k.et, B, P, k.ls[1], dea, det, &dls[1], k.work);
        al_infonce_d(k.ev, k.et, B, P, k.ls[2], dev, det, &dls[2], k.work);
        double *dzv = calloc(B * P, 8), *dza = calloc(B * P, 8), *dzt = calloc(B * P, 8);
        double *dWv = calloc(P * k.dv, 8), *dWt = calloc(P * k.dt, 8), *dW1 = calloc(k.H * k.da, 8), *db1 = calloc(k.H, 8),
               *dW2 = calloc(P * k.H, 8), *db2 = calloc(P, 8), *dhbar = calloc(B * k.H, 8), *dh = calloc(k.N * k.H, 8);
        al_l2norm_bwd_d(dzv, dev, k.ev, k.nv, B, P);
        al_linear_bwd_d(NULL, dWv, NULL, dzv, k.xv, k.Wv, B, k.dv, P);
        al_l2norm_bwd_d(dza, dea, k.ea, k.na, B, P);
        al_mlp_bwd_d(dW1, db1, dW2, db2, dza, k.xa, k.h, k.hbar, offs, B, k.W2, k.da, k.H, P, dhbar, dh);
        al_l2norm_bwd_d(dzt, det, k.et, k.nt, B, P);
        al_linear_bwd_d(NULL, dWt, NULL, dzt, k.xt, k.Wt, B, k.dt, P);
        double e[9] = {fd_rel_err(chain_obj, &k, k.Wv, dWv, P * k.dv), fd_rel_err(chain_obj, &k, k.Wt, dWt, P * k.dt),
                       fd_rel_err(chain_obj, &k, k.W1, dW1, k.H * k.da), fd_rel_err(chain_obj, &k, k.b1, db1, k.H),
                       fd_rel_err(chain_obj, &k, k.W2, dW2, P * k.H), fd_rel_err(chain_obj, &k, k.b2, db2, P),
                       fd_rel_err(chain_obj, &k, &k.ls[0], &dls[0], 1), fd_rel_err(chain_obj, &k, &k.ls[1], &dls[1], 1),
                       fd_rel_err(chain_obj, &k, &k.ls[2], &dls[2], 1)};
        static const char *nm[9] = {"W_v", "W_t", "W1", "b1", "W2", "b2", "ls_av", "ls_at", "ls_vt"};
        printf("  %-28s", "chain (3 heads, 3 losses)");
        for (int i = 0; i < 9; i++) {
            CHECKF(e[i] < 1e-4, "chain %s rel err %.3g", nm[i], e[i]);
            printf(" %s %.1e", nm[i], e[i]);
        }
        printf("\n");
        free(dev); free(dea); free(det); free(dzv); free(dza); free(dzt); free(dWv); free(dWt); free(dW1); free(db1);
        free(dW2); free(db2); free(dhbar); free(dh);
        double *ptrs[] = {k.xv, k.xa, k.xt, k.Wv, k.Wt, k.W1, k.b1, k.W2, k.b2, k.zv, k.ev, k.nv, k.za, k.ea, k.na,
                          k.zt, k.et, k.nt, k.h, k.hbar, k.work};
        for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) free(ptrs[i]);
    }
    {   /* float32 instantiation (training) agrees with float64 on the same inputs */
        int B = 6, P = 8, in = 16;
        double *x = randv(B * in, 1), *W = randv(P * in, 0.3), *y = randv(B * P, 0), *yn = randv(B * P, 0), nr[6];
        float xf[96], Wf[128], yf[48], ynf[48], nrf[6];
        for (int i = 0; i < B * in; i++) xf[i] = (float)x[i];
        for (int i = 0; i < P * in; i++) Wf[i] = (float)W[i];
        al_linear_fwd_d(y, x, W, NULL, B, in, P);
        al_linear_fwd_f(yf, xf, Wf, NULL, B, in, P);
        al_l2norm_fwd_d(yn, nr, y, B, P);
        al_l2norm_fwd_f(ynf, nrf, yf, B, P);
        double wd = 0;
        for (int i = 0; i < B * P; i++) wd = fmax(wd, fabs(ynf[i] - yn[i]));
        float work[108];
        double workd[108];
        double Ld = al_infonce_d(yn, yn + 0, B, P, log(20.0), NULL, NULL, NULL, workd);
        float Lf = al_infonce_f(ynf, ynf, B, P, logf(20.0f), NULL, NULL, NULL, work);
        CHECKF(wd < 1e-5, "float vs double embeddings differ by %.3g", wd);
        CHECKF(fabs(Lf - Ld) < 1e-4 * fabs(Ld) + 1e-6, "float loss %.8g vs double %.8g", Lf, Ld);
        free(x); free(W); free(y); free(yn);
    }
    return test_done("align_grad");
}
