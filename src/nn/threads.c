/*
 * threads.c — the thread count, the one process-wide setting: the OpenMP team that every
 * parallel loop and sv_gemm's split (gemm.c) use. OpenBLAS itself stays single-threaded.
 */
#include "nn/nn.h"
#include <unistd.h>
#include <omp.h>

/* OpenBLAS exports this; declared here so we do not depend on which cblas.h is picked up. */
extern void openblas_set_num_threads(int);

static int g_threads = 0;

static int cores_available(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void slava_set_threads(int n) {
    if (n <= 0) n = cores_available();
    g_threads = n;
    /* OpenBLAS stays single-threaded: sv_gemm splits products over the OpenMP team itself
     * (src/nn/gemm.c), so that only one pool of threads runs and busy-waits. */
    openblas_set_num_threads(1);
    omp_set_num_threads(n);
}

int slava_get_threads(void) { return g_threads > 0 ? g_threads : cores_available(); }
