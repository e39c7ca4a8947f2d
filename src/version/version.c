/*
 * version.c — the version and backend report behind `slava --version`: slava's version, the BLAS
 * library and its kernel, the GEMM backends (OpenBLAS / oneDNN) and how they are chosen, threads,
 * FFmpeg / SQLite / FFTW versions. Assembled here, above every module, because it is the one place
 * that names all the libraries (src/base/ names none).
 */
#include "base/base.h"
#include <stdio.h>
#include <omp.h>
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

const char *slava_version(void) { return SLAVA_VERSION_STRING; }
const char *slava_blas_kernel(void) { return openblas_get_corename(); }

void slava_version_report(char *buf, size_t cap) {
    const char *ct = getenv("OPENBLAS_CORETYPE");
    char gemm[512];
    slava_gemm_describe(gemm, sizeof gemm);
    snprintf(buf, cap,
             "slava %s\n"
             "BLAS: OpenBLAS (%s), kernel %s%s%s%s\n"
             "GEMM: %s\n"
             "threads: %d (OpenMP max %d)\n"
             "FFmpeg: libavformat %s, libavcodec %s\n"
             "SQLite: %s\n"
             "FFTW: %s\n"
             "MPI: %s\n",
             SLAVA_VERSION_STRING, openblas_get_config(), openblas_get_corename(),
             ct ? " (forced by OPENBLAS_CORETYPE=" : "", ct ? ct : "", ct ? ")" : "", gemm,
             slava_get_threads(), omp_get_max_threads(),
             AV_STRINGIFY(LIBAVFORMAT_VERSION), AV_STRINGIFY(LIBAVCODEC_VERSION),
             sqlite3_libversion(), fftwf_version,
             slava_dist_library()[0] ? slava_dist_library() : "none (built without MPI: no mpirun runs)");
}
