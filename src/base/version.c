/*
 * version.c — thread count (the one process-wide setting) and the backend report behind
 * `slava --version`: BLAS library and kernel, oneDNN and how the GEMM backend is chosen, threads,
 * FFmpeg / SQLite / FFTW versions.
 */
#include "base/base.h"
#include "nn/nn.h"
#include <stdio.h>
#include <unistd.h>
#include <omp.h>
#include <cblas.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <sqlite3.h>
#include <fftw3.h>

#ifndef SLAVA_VERSION_STRING
#define SLAVA_VERSION_STRING "0.0.0"
#endif

/* OpenBLAS exports these; declared here so we do not depend on which cblas.h is picked up. */
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

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

const char *slava_version(void) { return SLAVA_VERSION_STRING; }
const char *slava_blas_kernel(void) { return openblas_get_corename(); }

void slava_version_report(char *buf, size_t cap) {
    const char *ct = getenv("OPENBLAS_CORETYPE");
    char gemm[512];
    sv_gemm_describe(gemm, sizeof gemm);
    snprintf(buf, cap,
             "slava %s\n"
             "BLAS: OpenBLAS (%s), kernel %s%s%s%s\n"
             "GEMM: %s\n"
             "threads: %d (OpenMP max %d)\n"
             "FFmpeg: libavformat %s, libavcodec %s\n"
             "SQLite: %s\n"
             "FFTW: %s\n",
             SLAVA_VERSION_STRING, openblas_get_config(), openblas_get_corename(),
             ct ? " (forced by OPENBLAS_CORETYPE=" : "", ct ? ct : "", ct ? ")" : "", gemm,
             slava_get_threads(), omp_get_max_threads(),
             AV_STRINGIFY(LIBAVFORMAT_VERSION), AV_STRINGIFY(LIBAVCODEC_VERSION),
             sqlite3_libversion(), fftwf_version);
}
