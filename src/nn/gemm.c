/*
 * gemm.c — the one GEMM entry point (OpenBLAS cblas_sgemm) and the Linear layer built on it.
 * Every matrix product of the encoders and heads goes through here.
 */
#include "nn/nn.h"
#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>

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
            blas_single_thread_once();
            for (int i = 0; i < n; i++) held[i] = blas_memory_alloc(0);
            for (int i = 0; i < n; i++) blas_memory_free(held[i]);
            __atomic_store_n(&reserved, T, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&mu);
    return st;
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
