/*
 * bench_util.h — shared by the bench/ programs: the machine line (CPU model, cores, threads,
 * OpenBLAS kernel and whether OPENBLAS_CORETYPE forces it), and the sgemm reference rate measured
 * in the same run, so every table compares against the limit of the machine it ran on.
 */
#ifndef SLAVA_BENCH_UTIL_H
#define SLAVA_BENCH_UTIL_H

#include "slava.h"
#include "base/base.h"
#include "nn/nn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void bench_cpu_model(char *buf, size_t cap) {
    snprintf(buf, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(buf, cap, "%s", p);
            }
            break;
        }
    fclose(f);
}

/* Prints the machine block every bench table starts with. */
static inline void bench_print_machine(FILE *out) {
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    fprintf(out, "machine: %s, %ld cores online\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(out, "threads: %d\n", slava_get_threads());
    fprintf(out, "OpenBLAS kernel: %s%s%s%s\n", slava_blas_kernel(), ct ? " (forced by OPENBLAS_CORETYPE=" : " (auto-detected)",
            ct ? ct : "", ct ? ")" : "");
}

/* sgemm GFLOP/s on square n×n products (best of `reps`), through the project's GEMM entry. */
static inline double bench_sgemm_gflops(int n, int reps) {
    float *a = sv_alloc(sizeof(float) * (size_t)n * n), *b = sv_alloc(sizeof(float) * (size_t)n * n),
          *c = sv_alloc(sizeof(float) * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    sv_gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);  /* warm-up */
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = sv_now();
        sv_gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = sv_now() - t0;
        if (dt < best) best = dt;
    }
    sv_free(a); sv_free(b); sv_free(c);
    return 2.0 * n * n * (double)n / best / 1e9;
}

#endif
