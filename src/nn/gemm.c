/*
 * gemm.c — the one GEMM entry point: sv_gemm (plain float32 products), sv_linear, and the prepared
 * Linear weights sv_mat with sv_mat_mul. Every matrix product of the encoders and heads goes
 * through here. Two backends: OpenBLAS (this file) and oneDNN (onednn.c); how one is chosen for
 * each product is described in nn.h, and bf16 inputs are rounded here (round to nearest even, the
 * rounding of AVX512-BF16's vcvtneps2bf16) so that native and emulated bf16 see the same numbers.
 */
#include "nn/nn.h"
#include "nn/onednn.h"
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>

extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);

_Static_assert((int)SV_ACT_NONE == (int)SV_DNNL_ACT_NONE && (int)SV_ACT_GELU_ERF == (int)SV_DNNL_ACT_GELU_ERF &&
               (int)SV_ACT_QUICK_GELU == (int)SV_DNNL_ACT_QUICK_GELU && (int)SV_ACT_RELU == (int)SV_DNNL_ACT_RELU,
               "activation codes");

/* ------------------------------------------------------------------ policy */

enum { POL_AUTO = 0, POL_OPENBLAS = 1, POL_ONEDNN = 2 };
enum { USE_BLAS = 0, USE_DNNL = 1 };

static int g_policy;
static char g_policy_bad[32];   /* an unrecognised SLAVA_GEMM value (then the default) */
static int g_policy_pinned;     /* g_policy is what SLAVA_GEMM asked for (not the default or a fallback) */
static pthread_once_t g_policy_once = PTHREAD_ONCE_INIT;

/* OpenBLAS's own threads (pthreads) and the OpenMP team of the row-wise ops would fight over the
 * cores: each pool busy-waits after its work, and on a 2-core machine that halved the text
 * tower's speed. So OpenBLAS runs single-threaded and large products are split into row (or
 * column) blocks over the one OpenMP team; each block is one cblas_sgemm call. */
static void policy_once(void) {
    openblas_set_num_threads(1);
    const char *e = getenv("SLAVA_GEMM");
    /* The default is oneDNN for every product: a choice by timing (auto) can differ between two
     * processes on a loaded machine, and then the same clip encoded twice (or a resumed encode)
     * stores other bytes. auto stays available as an explicit, non-reproducible opt-in. */
    if (!e || !*e) g_policy = POL_ONEDNN;
    else if (!strcmp(e, "auto")) g_policy = POL_AUTO;
    else if (!strcmp(e, "openblas")) g_policy = POL_OPENBLAS;
    else if (!strcmp(e, "onednn")) g_policy = POL_ONEDNN;
    else {   /* a typo gets the reproducible default, not the timed choice; --version says so */
        g_policy = POL_ONEDNN;
        snprintf(g_policy_bad, sizeof g_policy_bad, "%s", e);
    }
    g_policy_pinned = e && *e && !g_policy_bad[0];
    if (g_policy != POL_OPENBLAS && !sv_dnnl_available()) { g_policy = POL_OPENBLAS; g_policy_pinned = 0; }
}

static int policy(void) {
    pthread_once(&g_policy_once, policy_once);
    return g_policy;
}

/* ------------------------------------------------------------------ OpenBLAS */

static void sgemm_block(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

static void blas_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
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

/* ------------------------------------------------------------------ choice by measurement */

#define SMALL_WORK (1.0 * (1 << 26))   /* multiply-adds below which a product is not timed */
#define MEASURE_ROWS 256               /* rows of the timed products (a class's first rows) */
#define MAX_CHOICES 512

typedef struct {
    int packed, ta, tb, N, K, mb;
    int use;
} choice;

static choice g_choice[MAX_CHOICES];
static int g_nchoice;
static pthread_mutex_t g_choice_mu = PTHREAD_MUTEX_INITIALIZER;

/* Rows in powers of 4: 1-3, 4-15, 16-63, 64-255, 256-1023, 1024+. */
static int row_bucket(int M) {
    int b = 0;
    while (b < 5 && M >= (4 << (2 * b))) b++;
    return b;
}

static int find_choice(int packed, int ta, int tb, int N, int K, int mb) {
    int use = -1;
    pthread_mutex_lock(&g_choice_mu);
    for (int i = 0; i < g_nchoice && use < 0; i++) {
        const choice *c = &g_choice[i];
        if (c->packed == packed && c->ta == ta && c->tb == tb && c->N == N && c->K == K && c->mb == mb) use = c->use;
    }
    pthread_mutex_unlock(&g_choice_mu);
    return use;
}

static void add_choice(int packed, int ta, int tb, int N, int K, int mb, int use) {
    pthread_mutex_lock(&g_choice_mu);
    int have = 0;
    for (int i = 0; i < g_nchoice && !have; i++) {
        const choice *c = &g_choice[i];
        have = c->packed == packed && c->ta == ta && c->tb == tb && c->N == N && c->K == K && c->mb == mb;
    }
    if (!have && g_nchoice < MAX_CHOICES) g_choice[g_nchoice++] = (choice){packed, ta, tb, N, K, mb, use};
    pthread_mutex_unlock(&g_choice_mu);
}

/* Times run(use, arg) for both backends, three alternating rounds after a warm-up each; OpenBLAS
 * is kept only when it is at least 10 % faster in every round. run returns non-zero when the
 * backend could not do the product (then oneDNN is not chosen). */
static int measure(int (*run)(int use, void *arg), void *arg) {
    if (run(USE_DNNL, arg)) return USE_BLAS;
    run(USE_BLAS, arg);
    int blas_wins = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = sv_now();
        if (run(USE_DNNL, arg)) return USE_BLAS;
        double t1 = sv_now();
        run(USE_BLAS, arg);
        double t2 = sv_now();
        blas_wins += (t2 - t1) * 1.1 < (t1 - t0);
    }
    return blas_wins == 3 ? USE_BLAS : USE_DNNL;
}

/* ------------------------------------------------------------------ plain products */

typedef struct {
    int ta, tb, M, N, K, lda, ldb;
    const float *A, *B;
    float *C;
} plain_args;

static int plain_run(int use, void *p) {
    plain_args *a = p;
    if (use == USE_DNNL) return sv_dnnl_gemm(a->ta, a->tb, a->M, a->N, a->K, 1.0f, a->A, a->lda, a->B, a->ldb, 0.0f, a->C, a->N);
    blas_gemm(a->ta, a->tb, a->M, a->N, a->K, 1.0f, a->A, a->lda, a->B, a->ldb, 0.0f, a->C, a->N);
    return 0;
}

static int plain_use(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb) {
    const int pol = policy();
    if (pol != POL_AUTO) return pol == POL_ONEDNN ? USE_DNNL : USE_BLAS;
    if ((double)M * N * K < SMALL_WORK) return USE_DNNL;
    const int mb = row_bucket(M);
    int use = find_choice(0, transA, transB, N, K, mb);
    if (use >= 0) return use;
    const int Mt = M < MEASURE_ROWS ? M : MEASURE_ROWS;
    plain_args a = {transA, transB, Mt, N, K, lda, ldb, A, B, sv_alloc(sizeof(float) * (size_t)Mt * N)};
    use = a.C ? measure(plain_run, &a) : USE_BLAS;
    sv_free(a.C);
    add_choice(0, transA, transB, N, K, mb, use);
    return use;
}

void sv_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (plain_use(transA, transB, M, N, K, A, lda, B, ldb) == USE_DNNL &&
        !sv_dnnl_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
        return;
    blas_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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

/* ------------------------------------------------------------------ bf16 rounding */

static inline uint16_t bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);   /* NaN stays NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float bf16_round(float f) {
    uint32_t u = (uint32_t)bf16_bits(f) << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

/* x [n, K] (row stride ldx) → bf16 bits (to16) or bf16-rounded floats (to32), dense [n, K]. */
static void round_rows(const float *x, int n, int K, int ldx, uint16_t *to16, float *to32) {
    #pragma omp parallel for schedule(static) if ((size_t)n * K > 65536)
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * ldx;
        if (to16) {
            uint16_t *d = to16 + (size_t)i * K;
            for (int k = 0; k < K; k++) d[k] = bf16_bits(r[k]);
        } else {
            float *d = to32 + (size_t)i * K;
            for (int k = 0; k < K; k++) d[k] = bf16_round(r[k]);
        }
    }
}

/* ------------------------------------------------------------------ prepared weights */

const char *sv_precision_name(slava_precision p) { return p == SLAVA_PRECISION_BF16 ? "bf16" : "fp32"; }

int sv_precision_parse(const char *s, slava_precision *p) {
    if (!s) return 1;
    if (!strcmp(s, "fp32")) *p = SLAVA_PRECISION_FP32;
    else if (!strcmp(s, "bf16")) *p = SLAVA_PRECISION_BF16;
    else return 1;
    return 0;
}

/* The oneDNN implementation each precision's weights were packed for (first one seen), for reports. */
static const char *g_impl[2];
static int g_emulated;   /* some bf16 weights could not be packed: emulated */

slava_status sv_mat_init(slava_ctx *ctx, sv_mat *m, int nparts, const float *const *parts, const int *rows, int in,
                         slava_precision prec, sv_drop_fn drop, void *drop_user) {
    memset(m, 0, sizeof *m);
    if (nparts < 1 || nparts > 3 || in <= 0) return sv_err(ctx, SLAVA_E_INTERNAL, "sv_mat: %d parts, %d columns", nparts, in);
    m->in = in;
    m->prec = prec;
    m->nparts = nparts;
    for (int p = 0; p < nparts; p++) {
        m->part[p] = parts[p];
        m->part_rows[p] = rows[p];
        m->out += rows[p];
    }
    const size_t total = (size_t)m->out * in;
    const int bf16 = prec == SLAVA_PRECISION_BF16;
    if (policy() != POL_OPENBLAS) {
        /* the whole matrix in one buffer for the reorder: bf16 bits, or float32 when in several parts */
        void *tmp = NULL;
        if (bf16 || nparts > 1) {
            tmp = sv_alloc(total * (bf16 ? 2 : 4));
            if (!tmp) return sv_err(ctx, SLAVA_E_NOMEM, "out of memory preparing a %d x %d weight", m->out, in);
            size_t off = 0;
            for (int p = 0; p < nparts; p++) {
                const size_t n = (size_t)rows[p] * in;
                if (bf16) round_rows(parts[p], rows[p], in, in, (uint16_t *)tmp + off, NULL);
                else memcpy((float *)tmp + off, parts[p], n * sizeof(float));
                off += n;
            }
        }
        const char *impl = NULL;
        if (sv_dnnl_pack(bf16 ? NULL : (tmp ? tmp : parts[0]), bf16 ? tmp : NULL, m->out, in, bf16, &m->packed, &impl) == 0) {
            pthread_mutex_lock(&g_choice_mu);
            if (!g_impl[bf16]) g_impl[bf16] = impl;
            pthread_mutex_unlock(&g_choice_mu);
        }
        sv_free(tmp);
    }
    if (bf16 && !m->packed) {
        m->emul = sv_alloc(total * sizeof(float));
        if (!m->emul) return sv_err(ctx, SLAVA_E_NOMEM, "out of memory preparing a %d x %d weight", m->out, in);
        size_t off = 0;
        for (int p = 0; p < nparts; p++) {
            round_rows(parts[p], rows[p], in, in, NULL, m->emul + off);
            off += (size_t)rows[p] * in;
        }
        __atomic_store_n(&g_emulated, 1, __ATOMIC_RELAXED);
    }
    if (drop && (m->packed || m->emul))
        for (int p = 0; p < nparts; p++) drop(drop_user, parts[p], sizeof(float) * (size_t)rows[p] * in);
    return SLAVA_OK;
}

slava_status sv_mat_init1(slava_ctx *ctx, sv_mat *m, const float *W, int out, int in, slava_precision prec,
                          sv_drop_fn drop, void *drop_user) {
    const float *parts[1] = {W};
    const int rows[1] = {out};
    return sv_mat_init(ctx, m, 1, parts, rows, in, prec, drop, drop_user);
}

void sv_mat_free(sv_mat *m) {
    if (!m) return;
    sv_dnnl_free(m->packed);
    sv_free(m->emul);
    memset(m, 0, sizeof *m);
}

int sv_mat_packed(const sv_mat *m) { return m->packed != NULL; }

size_t sv_mat_bytes(const sv_mat *m) {
    return sv_dnnl_bytes(m->packed) + (m->emul ? sizeof(float) * (size_t)m->out * m->in : 0);
}

static void apply_act(float *y, int n, int N, int ldy, sv_act act) {
    if (act == SV_ACT_NONE) return;
    if (ldy != N) {
        for (int i = 0; i < n; i++) apply_act(y + (size_t)i * ldy, 1, N, N, act);
        return;
    }
    const size_t len = (size_t)n * N;
    if (act == SV_ACT_GELU_ERF) sv_gelu_erf(y, len);
    else if (act == SV_ACT_QUICK_GELU) sv_quick_gelu(y, len);
    else sv_relu(y, len);
}

/* OpenBLAS: the float32 blocks of W (m's parts, or its bf16-rounded copy) against x. */
static void blas_mat(const sv_mat *m, const float *x, int n, int ldx, const float *b, sv_act act, int accumulate,
                     float *y, int ldy) {
    const int N = m->out, K = m->in;
    if (!accumulate && b) {
        #pragma omp parallel for schedule(static) if ((size_t)n * N > 65536)
        for (int i = 0; i < n; i++) memcpy(y + (size_t)i * ldy, b, sizeof(float) * N);
    }
    const float beta = accumulate || b ? 1.0f : 0.0f;
    if (m->emul) {
        blas_gemm(0, 1, n, N, K, 1.0f, x, ldx, m->emul, K, beta, y, ldy);
    } else {
        int off = 0;
        for (int p = 0; p < m->nparts; p++) {
            blas_gemm(0, 1, n, m->part_rows[p], K, 1.0f, x, ldx, m->part[p], K, beta, y + off, ldy);
            off += m->part_rows[p];
        }
    }
    if (accumulate && b) {
        #pragma omp parallel for schedule(static) if ((size_t)n * N > 65536)
        for (int i = 0; i < n; i++) {
            float *r = y + (size_t)i * ldy;
            for (int j = 0; j < N; j++) r[j] += b[j];
        }
    }
    apply_act(y, n, N, ldy, act);
}

typedef struct {
    const sv_mat *m;
    const float *x;
    int n, ldx;
    float *y;
} mat_args;

static int mat_run(int use, void *p) {
    mat_args *a = p;
    if (use == USE_DNNL)
        return sv_dnnl_matmul(a->m->packed, a->n, a->x, a->ldx, NULL, SV_DNNL_ACT_NONE, 0, a->y, a->m->out) != a->n;
    blas_mat(a->m, a->x, a->n, a->ldx, NULL, SV_ACT_NONE, 0, a->y, a->m->out);
    return 0;
}

/* float32: which backend multiplies n rows with m. */
static int mat_use(const sv_mat *m, const float *x, int n, int ldx) {
    if (!m->packed) return USE_BLAS;
    if (policy() != POL_AUTO || (double)n * m->out * m->in < SMALL_WORK) return USE_DNNL;
    const int mb = row_bucket(n);
    int use = find_choice(1, 0, 1, m->out, m->in, mb);
    if (use >= 0) return use;
    const int Mt = n < MEASURE_ROWS ? n : MEASURE_ROWS;
    mat_args a = {m, x, Mt, ldx, sv_alloc(sizeof(float) * (size_t)Mt * m->out)};
    use = a.y ? measure(mat_run, &a) : USE_BLAS;
    sv_free(a.y);
    add_choice(1, 0, 1, m->out, m->in, mb, use);
    return use;
}

#define STAGE_ROWS 512   /* bf16 inputs are rounded in pieces of this many rows */

/* Rows oneDNN could not do although m is packed (a row count whose kernel rejects the packed
 * layout; not seen in practice): float32 kernels on a bf16-rounded copy of W made for the call. */
static void emulate_rows(const sv_mat *m, const float *x32, int n, const float *b, sv_act act, int accumulate, float *y,
                         int ldy) {
    const int N = m->out, K = m->in;
    sv_mat tmp = *m;
    tmp.packed = NULL;
    tmp.emul = sv_alloc(sizeof(float) * (size_t)N * K);
    if (!tmp.emul) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < N; j++) y[(size_t)i * ldy + j] = NAN;
        return;
    }
    size_t off = 0;
    for (int p = 0; p < m->nparts; p++) {
        round_rows(m->part[p], m->part_rows[p], K, K, NULL, tmp.emul + off);
        off += (size_t)m->part_rows[p] * K;
    }
    blas_mat(&tmp, x32, n, K, b, act, accumulate, y, ldy);
    sv_free(tmp.emul);
}

/* bf16: x rounded in pieces of STAGE_ROWS rows into this thread's staging buffer (bf16 bits for
 * oneDNN, rounded floats for the emulation). Out of memory for the buffer: the rows come out NaN. */
static void mat_mul_bf16(const sv_mat *m, const float *x, int n, int ldx, const float *b, sv_act act, int accumulate,
                         float *y, int ldy) {
    const int N = m->out, K = m->in;
    const int a = (int)act;   /* sv_act and the SV_DNNL_ACT values are the same numbers */
    for (int i0 = 0; i0 < n; i0 += STAGE_ROWS) {
        const int rows = n - i0 < STAGE_ROWS ? n - i0 : STAGE_ROWS;
        const float *xi = x + (size_t)i0 * ldx;
        float *yi = y + (size_t)i0 * ldy;
        void *buf = sv_thread_buffer(SV_SCRATCH_STAGE, (size_t)rows * K * 4);
        if (!buf) {
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < N; j++) yi[(size_t)i * ldy + j] = NAN;
            continue;
        }
        if (!m->packed) {
            round_rows(xi, rows, K, ldx, NULL, buf);
            blas_mat(m, buf, rows, K, b, act, accumulate, yi, ldy);
            continue;
        }
        round_rows(xi, rows, K, ldx, buf, NULL);
        const int got = sv_dnnl_matmul(m->packed, rows, buf, K, b, a, accumulate, yi, ldy);
        if (got < rows) {
            round_rows(xi + (size_t)got * ldx, rows - got, K, ldx, NULL, buf);
            emulate_rows(m, buf, rows - got, b, act, accumulate, yi + (size_t)got * ldy, ldy);
        }
    }
}

void sv_mat_mul(const sv_mat *m, const float *x, int n, int ldx, const float *b, sv_act act, int accumulate, float *y,
                int ldy) {
    if (n <= 0) return;
    if (m->prec == SLAVA_PRECISION_BF16) {
        mat_mul_bf16(m, x, n, ldx, b, act, accumulate, y, ldy);
        return;
    }
    int done = 0;
    if (mat_use(m, x, n, ldx) == USE_DNNL) {
        done = sv_dnnl_matmul(m->packed, n, x, ldx, b, (int)act, accumulate, y, ldy);
    }
    if (done < n) blas_mat(m, x + (size_t)done * ldx, n - done, ldx, b, act, accumulate, y + (size_t)done * ldy, ldy);
}

/* ------------------------------------------------------------------ reports */

/* Packs a small weight in each precision once, so that the report can name the kernels even
 * before any model is loaded. */
static pthread_once_t g_probe_once = PTHREAD_ONCE_INIT;
static void probe_once(void) {
    if (policy() == POL_OPENBLAS) return;
    enum { N = 64, K = 256 };
    float *w = sv_calloc((size_t)N * K, sizeof(float));
    if (!w) return;
    for (int bf16 = 0; bf16 < 2; bf16++) {
        sv_mat m;
        if (sv_mat_init1(NULL, &m, w, N, K, bf16 ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32, NULL, NULL) == SLAVA_OK)
            sv_mat_free(&m);
    }
    sv_free(w);
}

void slava_gemm_describe(char *buf, size_t cap) { sv_gemm_describe(buf, cap); }

void sv_gemm_describe(char *buf, size_t cap) {
    pthread_once(&g_probe_once, probe_once);
    const int pol = policy();
    const char *ct = getenv("OPENBLAS_CORETYPE");
    char blas[96], dnnl[96];
    snprintf(blas, sizeof blas, "OpenBLAS %s%s", openblas_get_corename(), ct ? " (forced by OPENBLAS_CORETYPE)" : "");
    if (sv_dnnl_available()) snprintf(dnnl, sizeof dnnl, "oneDNN %s %s", sv_dnnl_version(), sv_dnnl_isa());
    else snprintf(dnnl, sizeof dnnl, "oneDNN unavailable");
    const char *how = pol == POL_AUTO     ? "per shape by measurement (SLAVA_GEMM=auto, not reproducible across runs)"
                      : pol == POL_ONEDNN ? (g_policy_pinned ? "oneDNN (SLAVA_GEMM=onednn)" : "oneDNN (default)")
                                          : (g_policy_pinned ? "OpenBLAS (SLAVA_GEMM=openblas)" : "OpenBLAS (oneDNN unavailable)");
    pthread_mutex_lock(&g_choice_mu);
    const char *bimpl = g_impl[1];
    const int emul = g_emulated;
    pthread_mutex_unlock(&g_choice_mu);
    char bf[96];
    if (bimpl && !emul) snprintf(bf, sizeof bf, "oneDNN %s", bimpl);
    else if (emul) snprintf(bf, sizeof bf, "emulated on float32 kernels");
    else snprintf(bf, sizeof bf, "%s", pol == POL_OPENBLAS ? "emulated on float32 kernels" : "oneDNN");
    snprintf(buf, cap, "fp32 %s (%s / %s), bf16 %s%s%s%s", how, blas, dnnl, bf, g_policy_bad[0] ? "; SLAVA_GEMM=" : "",
             g_policy_bad, g_policy_bad[0] ? " not understood, the default used" : "");
}

void sv_gemm_choices(char *buf, size_t cap) {
    int n[2] = {0, 0};
    pthread_mutex_lock(&g_choice_mu);
    for (int i = 0; i < g_nchoice; i++) n[g_choice[i].use]++;
    const char *fimpl = g_impl[0], *bimpl = g_impl[1];
    const int emul = g_emulated;
    pthread_mutex_unlock(&g_choice_mu);
    const int pol = policy();
    if (pol == POL_AUTO)
        snprintf(buf, cap, "fp32: %d measured shape classes on oneDNN%s%s, %d on OpenBLAS (products under 2^26 "
                 "multiply-adds: oneDNN); bf16: %s%s", n[USE_DNNL], fimpl ? " " : "", fimpl ? fimpl : "", n[USE_BLAS],
                 emul ? "emulated" : bimpl ? "oneDNN " : "not used", emul ? "" : bimpl ? bimpl : "");
    else
        snprintf(buf, cap, "fp32: %s (%s); bf16: %s%s", pol == POL_ONEDNN ? "oneDNN" : "OpenBLAS",
                 g_policy_pinned ? "pinned by SLAVA_GEMM" : pol == POL_ONEDNN ? "default" : "oneDNN unavailable",
                 emul ? "emulated" : bimpl ? "oneDNN " : "not used", emul ? "" : bimpl ? bimpl : "");
}

/* ------------------------------------------------------------------ reserving the libraries' buffers */

/* Two libraries under the products cannot report a lack of memory: OpenBLAS takes a work buffer
 * for every thread that calls it at the same time (BUFFER_SIZE: 128 MiB of address space in
 * Debian's 0.3.21 build), allocated on the first call that finds no free one, and when that
 * allocation fails it retries forever (OpenBLAS issue #5289: a hang); libgomp exits the process
 * ("Thread creation failed") when it cannot start a team's thread. So before products on T
 * threads, both are set up here once, while it can still be checked that they fit: the address
 * space is probed for T buffers and T - 1 thread stacks, the OpenMP team is started, and
 * OpenBLAS's own allocator hands out T buffers at once (and takes them back; it keeps them for
 * its later calls). What was set up is process-wide, like those libraries' own pools. */
extern void *blas_memory_alloc(int procpos);
extern void blas_memory_free(void *buffer);

#define BLAS_BUFFER (((size_t)128 << 20) + ((size_t)64 << 10))
#define BLAS_MARGIN ((size_t)32 << 20)

slava_status sv_gemm_reserve(slava_ctx *ctx, const char *what) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int reserved;   /* OpenBLAS buffers known to exist */
    int T = slava_get_threads();
    if (T < 1) T = 1;
    if (T <= __atomic_load_n(&reserved, __ATOMIC_ACQUIRE)) return SLAVA_OK;
    slava_status st = SLAVA_OK;
    pthread_mutex_lock(&mu);
    if (T > reserved) {
        struct rlimit rl;
        size_t stack = getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (size_t)rl.rlim_cur
                                                                                          : (size_t)8 << 20;
        size_t need = (size_t)(T - reserved) * BLAS_BUFFER + (size_t)(T - 1) * (stack + ((size_t)64 << 10)) + BLAS_MARGIN;
        void *p = mmap(NULL, need, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory for the matrix-product work buffers (%zu MiB of address "
                        "space for %d thread%s; fewer --threads need less)", what, need >> 20, T, T > 1 ? "s" : "");
        } else {
            munmap(p, need);
            int started = 0;   /* (a region with an empty body would be compiled away) */
            #pragma omp parallel num_threads(T)
            {   /* the team's threads start now; later regions of up to T threads reuse them */
                __atomic_fetch_add(&started, 1, __ATOMIC_RELAXED);
            }
            (void)started;
            void *held[256];
            int n = T < 256 ? T : 256;
            policy();   /* OpenBLAS single-threaded first */
            for (int i = 0; i < n; i++) held[i] = blas_memory_alloc(0);
            for (int i = 0; i < n; i++) blas_memory_free(held[i]);
            __atomic_store_n(&reserved, T, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&mu);
    return st;
}
