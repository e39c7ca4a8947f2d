/*
 * kernels_impl.h — bodies of the head layers (see kernels.h for shapes and contracts).
 * Included twice by kernels.c: with R = float, S(x) = x##_f, GEMM = sv_gemm (training), and with
 * R = double, S(x) = x##_d, GEMM = a cblas_dgemm wrapper (finite-difference gradient checks).
 * Every loop has a fixed order, so results are bit-identical for a given thread count.
 */

void S(al_linear_fwd)(R *y, const R *x, const R *W, const R *b, int n, int in, int out) {
    if (b)
        for (int i = 0; i < n; i++) memcpy(y + (size_t)i * out, b, sizeof(R) * out);
    /* y[n,out] (+)= x[n,in] · W[out,in]ᵀ */
    GEMM(0, 1, n, out, in, 1, x, in, W, in, b ? 1 : 0, y, out);
}

void S(al_linear_bwd)(R *dx, R *dW, R *db, const R *dy, const R *x, const R *W, int n, int in,
                      int out) {
    if (dW) GEMM(1, 0, out, in, n, 1, dy, out, x, in, 1, dW, in);   /* dW[out,in] += dyᵀ x */
    if (db)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++) db[j] += dy[(size_t)i * out + j];
    if (dx) GEMM(0, 0, n, in, out, 1, dy, out, W, in, 0, dx, in);   /* dx[n,in] = dy W */
}

void S(al_relu_fwd)(R *y, const R *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void S(al_relu_bwd)(R *dx, const R *dy, const R *y, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

void S(al_meanpool_fwd)(R *y, const R *x, const int *offs, int B, int d) {
    for (int b = 0; b < B; b++) {
        R *yb = y + (size_t)b * d;
        int T = offs[b + 1] - offs[b];
        for (int k = 0; k < d; k++) yb[k] = 0;
        for (int t = offs[b]; t < offs[b + 1]; t++)
            for (int k = 0; k < d; k++) yb[k] += x[(size_t)t * d + k];
        R inv = (R)1 / (R)(T > 0 ? T : 1);
        for (int k = 0; k < d; k++) yb[k] *= inv;
    }
}

void S(al_meanpool_bwd)(R *dx, const R *dy, const int *offs, int B, int d) {
    for (int b = 0; b < B; b++) {
        int T = offs[b + 1] - offs[b];
        R inv = (R)1 / (R)(T > 0 ? T : 1);
        for (int t = offs[b]; t < offs[b + 1]; t++)
            for (int k = 0; k < d; k++) dx[(size_t)t * d + k] = dy[(size_t)b * d + k] * inv;
    }
}

void S(al_l2norm_fwd)(R *y, R *norm, const R *x, int B, int d) {
    for (int b = 0; b < B; b++) {
        const R *xb = x + (size_t)b * d;
        R ss = 0;
        for (int k = 0; k < d; k++) ss += xb[k] * xb[k];
        R nr = (R)sqrt((double)ss);
        norm[b] = nr;
        R inv = (R)1 / (nr > (R)AL_L2_EPS ? nr : (R)AL_L2_EPS);
        for (int k = 0; k < d; k++) y[(size_t)b * d + k] = xb[k] * inv;
    }
}

void S(al_l2norm_bwd)(R *dx, const R *dy, const R *y, const R *norm, int B, int d) {
    for (int b = 0; b < B; b++) {
        const R *yb = y + (size_t)b * d, *gb = dy + (size_t)b * d;
        R *xb = dx + (size_t)b * d;
        if (norm[b] > (R)AL_L2_EPS) {
            /* y = x/|x|:  dx = (dy − y (y·dy)) / |x| */
            R dot = 0;
            for (int k = 0; k < d; k++) dot += yb[k] * gb[k];
            R inv = (R)1 / norm[b];
            for (int k = 0; k < d; k++) xb[k] = (gb[k] - yb[k] * dot) * inv;
        } else {
            /* y = x/eps (constant divisor) */
            for (int k = 0; k < d; k++) xb[k] = gb[k] / (R)AL_L2_EPS;
        }
    }
}

void S(al_mlp_fwd)(R *z, R *h, R *hbar, const R *x, const int *offs, int B, const R *W1,
                   const R *b1, const R *W2, const R *b2, int d_a, int H, int P) {
    int N = offs[B];
    S(al_linear_fwd)(h, x, W1, b1, N, d_a, H);        /* h[N,H] = x W1ᵀ + b1   (per chunk)   */
    S(al_relu_fwd)(h, h, (size_t)N * H);               /* ReLU                                */
    S(al_meanpool_fwd)(hbar, h, offs, B, H);           /* hbar[B,H] = mean over the chunks    */
    S(al_linear_fwd)(z, hbar, W2, b2, B, H, P);        /* z[B,P] = hbar W2ᵀ + b2 (per item)   */
}

void S(al_mlp_bwd)(R *dW1, R *db1, R *dW2, R *db2, const R *dz, const R *x, const R *h,
                   const R *hbar, const int *offs, int B, const R *W2, int d_a, int H, int P,
                   R *dhbar, R *dh) {
    int N = offs[B];
    S(al_linear_bwd)(dhbar, dW2, db2, dz, hbar, W2, B, H, P);
    S(al_meanpool_bwd)(dh, dhbar, offs, B, H);
    S(al_relu_bwd)(dh, dh, h, (size_t)N * H);
    S(al_linear_bwd)(NULL, dW1, db1, dh, x, NULL, N, d_a, H);
}

R S(al_infonce)(const R *X, const R *Y, int B, int P, R ls, R *dX, R *dY, R *dls, R *work) {
    R s = (R)exp((double)ls);
    R *L = work;                         /* [B,B] logits s·X Yᵀ                      */
    R *G = work + (size_t)B * B;         /* [B,B] dLoss/dlogits                        */
    R *colmax = G + (size_t)B * B, *colsum = colmax + B;   /* [B] each                 */
    GEMM(0, 1, B, B, P, s, X, P, Y, P, 0, L, B);
    R loss_r = 0, loss_c = 0, inv2B = (R)0.5 / (R)B;
    /* rows: CE over j for each x_i (x → y direction) */
    for (int i = 0; i < B; i++) {
        const R *Li = L + (size_t)i * B;
        R *Gi = G + (size_t)i * B;
        R mx = Li[0];
        for (int j = 1; j < B; j++) mx = Li[j] > mx ? Li[j] : mx;
        R sum = 0;
        for (int j = 0; j < B; j++) sum += (R)exp((double)(Li[j] - mx));
        R lse = mx + (R)log((double)sum);
        loss_r += lse - Li[i];
        for (int j = 0; j < B; j++) Gi[j] = (R)exp((double)(Li[j] - lse)) * inv2B;
        Gi[i] -= inv2B;
    }
    /* columns: CE over i for each y_j (y → x direction) */
    for (int j = 0; j < B; j++) colmax[j] = L[j];
    for (int i = 1; i < B; i++)
        for (int j = 0; j < B; j++) {
            R v = L[(size_t)i * B + j];
            colmax[j] = v > colmax[j] ? v : colmax[j];
        }
    for (int j = 0; j < B; j++) colsum[j] = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) colsum[j] += (R)exp((double)(L[(size_t)i * B + j] - colmax[j]));
    for (int j = 0; j < B; j++) {
        colsum[j] = colmax[j] + (R)log((double)colsum[j]);   /* now the column's log-sum-exp */
        loss_c += colsum[j] - L[(size_t)j * B + j];
    }
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            G[(size_t)i * B + j] += (R)exp((double)(L[(size_t)i * B + j] - colsum[j])) * inv2B;
    for (int j = 0; j < B; j++) G[(size_t)j * B + j] -= inv2B;
    R loss = (loss_r + loss_c) * inv2B;
    /* logits = s X Yᵀ:  dX = s G Y;  dY = s Gᵀ X;  dls = Σ G ⊙ logits (d logits / d ls = logits) */
    if (dX) GEMM(0, 0, B, P, B, s, G, B, Y, P, 1, dX, P);
    if (dY) GEMM(1, 0, B, P, B, s, G, B, X, P, 1, dY, P);
    if (dls) {
        R acc = 0;
        for (size_t k = 0; k < (size_t)B * B; k++) acc += G[k] * L[k];
        *dls += acc;
    }
    return loss;
}
