/*
 * bench_util.h — shared by the bench/ programs: the machine block (CPU model, cores, threads, load,
 * OpenBLAS kernel and whether OPENBLAS_CORETYPE forces it, oneDNN ISA, how the GEMM backend is
 * chosen), the same-run GEMM limits of both precisions (every rate is stated as a share of the limit
 * of the machine and moment it ran on), timing helpers, and the one JSON document every bench prints
 * with --json:
 *   {"machine", "threads", "blas", "onednn_isa", "gemm", "load_start", "load_end", "sgemm_gflops",
 *    "bf16_gemm_gflops", "sgemm_gflops_per_cpu_second", "bf16_gemm_gflops_per_cpu_second",
 *    "rows": [{"name", "batch", "precision", "rate", "unit", "share_of_limit", "cpu_share_of_limit"}]}
 * share_of_limit = the row's GFLOP/s over the same-run GEMM rate of its precision (null when the
 * row has no FLOP count). cpu_share_of_limit is the same ratio with both rates taken per CPU-second
 * of this process instead of per wall-clock second: on a machine shared with other work it stays
 * close to what a quiet machine gives, while the wall-clock share moves with the load.
 * Usage: bench_begin(&argc, argv, "bench_x") first (removes --json and --precision P from argv; with
 * --json the human-readable tables go to stderr and stdout carries only the document), then
 * bench_limits(), bench_row() per measurement, bench_end() last.
 */
#ifndef SLAVA_BENCH_UTIL_H
#define SLAVA_BENCH_UTIL_H

#include "slava.h"
#include "base/base.h"
#include "nn/nn.h"
#include "nn/onednn.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static inline double bench_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static inline void bench_loadavg(char *buf, size_t cap) {
    snprintf(buf, cap, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    if (fgets(buf, (int)cap, f)) {
        /* the three load averages only */
        char *p = buf;
        for (int k = 0; k < 3 && p; k++) p = strchr(p + 1, ' ');
        if (p) *p = 0;
    }
    fclose(f);
}

typedef struct {
    char name[128], precision[8], unit[24];
    int batch;
    double rate, share, cpu_share;   /* share < 0: none */
} bench_row_t;

static struct {
    int json, saved_stdout, nrows;
    int precisions;                  /* bit 0 fp32, bit 1 bf16 (--precision fp32|bf16|both, default both) */
    double limit[2], cpu_limit[2];   /* GFLOP/s per precision, wall-clock and per CPU-second */
    char name[64], load_start[64];
    bench_row_t rows[128];
} bench_g = {.precisions = 3};

/* Parses and removes --json and --precision P; prints the machine block. Every bench runs in the
 * environment `slava` runs in: src/cli/environment.c is linked into each (CMakeLists.txt). */
static inline void bench_begin(int *argc, char **argv, const char *name) {
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--json")) { bench_g.json = 1; continue; }
        if (!strcmp(argv[i], "--precision") && i + 1 < *argc) {
            const char *p = argv[++i];
            bench_g.precisions = !strcmp(p, "fp32") ? 1 : !strcmp(p, "bf16") ? 2 : 3;
            continue;
        }
        argv[k++] = argv[i];
    }
    *argc = k;
    argv[k] = NULL;
    snprintf(bench_g.name, sizeof bench_g.name, "%s", name);
    if (bench_g.json) {   /* everything printed from here on goes to stderr; the document to the real stdout */
        fflush(stdout);
        bench_g.saved_stdout = dup(1);
        dup2(2, 1);
    }
    bench_loadavg(bench_g.load_start, sizeof bench_g.load_start);
}

static inline int bench_wants(slava_precision p) { return bench_g.precisions >> (p == SLAVA_PRECISION_BF16) & 1; }

/* Prints the machine block every bench table starts with. */
static inline void bench_print_machine(FILE *out) {
    char cpu[256], gemm[512];
    bench_cpu_model(cpu, sizeof cpu);
    sv_gemm_describe(gemm, sizeof gemm);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    fprintf(out, "machine: %s, %ld cores online\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(out, "OMP_WAIT_POLICY: %s\n", getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(default: spinning)");
    fprintf(out, "threads: %d\n", slava_get_threads());
    fprintf(out, "load average at start: %s\n", bench_g.load_start[0] ? bench_g.load_start : "?");
    fprintf(out, "OpenBLAS kernel: %s%s%s%s\n", slava_blas_kernel(), ct ? " (forced by OPENBLAS_CORETYPE=" : " (auto-detected)",
            ct ? ct : "", ct ? ")" : "");
    fprintf(out, "GEMM: %s\n", gemm);
}

/* Best-of-`trials` rates of fn(arg), each call doing `work` units: each trial repeats fn for at
 * least secs / trials seconds after one untimed warm-up call. *cpu_rate (may be NULL) = the best
 * rate per CPU-second of this process × threads. Returns the wall-clock rate, < 0 when fn fails. */
static inline double bench_rate(int (*fn)(void *), void *arg, double work, double secs, int trials, double *cpu_rate) {
    if (fn(arg)) return -1;
    double best = 0, best_cpu = 0;
    const int T = slava_get_threads();
    for (int t = 0; t < trials; t++) {
        int reps = 0;
        double t0 = sv_now(), c0 = bench_cpu_seconds(), el;
        do {
            if (fn(arg)) return -1;
            reps++;
            el = sv_now() - t0;
        } while (el < secs / trials);
        double cel = bench_cpu_seconds() - c0;
        if (reps * work / el > best) best = reps * work / el;
        if (cel > 0 && reps * work / (cel / T) > best_cpu) best_cpu = reps * work / (cel / T);
    }
    if (cpu_rate) *cpu_rate = best_cpu;
    return best;
}

typedef struct { sv_mat m; float *x, *y; int n; } bench_gemm_arg;
static inline int bench_gemm_run(void *p) {
    bench_gemm_arg *a = p;
    sv_mat_mul(&a->m, a->x, a->n, a->m.in, NULL, SV_ACT_NONE, 0, a->y, a->m.out);
    return 0;
}

/* GFLOP/s of an n×n×n product through the project's GEMM entry (sv_mat_mul: packed weights, the
 * backend chosen as for the towers) in precision p. */
static inline double bench_gemm_gflops(slava_precision p, int n, double secs, double *cpu_gflops) {
    bench_gemm_arg a = {.n = n};
    float *w = sv_alloc(sizeof(float) * (size_t)n * n);
    a.x = sv_alloc(sizeof(float) * (size_t)n * n);
    a.y = sv_alloc(sizeof(float) * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) { w[i] = (float)(i % 7) * 0.1f; a.x[i] = (float)(i % 5) * 0.1f; }
    double r = -1;
    if (sv_mat_init1(NULL, &a.m, w, n, n, p, NULL, NULL) == SLAVA_OK) {
        r = bench_rate(bench_gemm_run, &a, 2.0 * n * n * (double)n / 1e9, secs, 5, cpu_gflops);
        sv_mat_free(&a.m);
    }
    sv_free(w); sv_free(a.x); sv_free(a.y);
    return r;
}

/* The same-run limits of both precisions (2048³); call at the start and again at the end of the
 * timed part: the best of the calls is the limit. */
static inline void bench_limits(void) {
    for (int p = 0; p < 2; p++) {
        double cpu = 0, r = bench_gemm_gflops(p ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32, 2048, 2.0, &cpu);
        if (r > bench_g.limit[p]) bench_g.limit[p] = r;
        if (cpu > bench_g.cpu_limit[p]) bench_g.cpu_limit[p] = cpu;
    }
}

static inline void bench_print_limits(FILE *out) {
    fprintf(out, "GEMM limit (2048³, same run, best of start and end): fp32 %.0f GFLOP/s, bf16 %.0f GFLOP/s "
            "(per CPU-second: %.0f / %.0f)\n", bench_g.limit[0], bench_g.limit[1], bench_g.cpu_limit[0], bench_g.cpu_limit[1]);
}

/* Adds a row. gflop = GFLOP per unit (0: no share); cpu_rate = the rate per CPU-second (0: none). */
static inline void bench_row(const char *name, int batch, const char *precision, double rate, const char *unit,
                             double gflop, double cpu_rate) {
    if (bench_g.nrows >= (int)SV_ARRAY_LEN(bench_g.rows)) return;
    bench_row_t *r = &bench_g.rows[bench_g.nrows++];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->precision, sizeof r->precision, "%s", precision);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    r->batch = batch;
    r->rate = rate;
    const int p = !strcmp(precision, "bf16");
    r->share = gflop > 0 && bench_g.limit[p] > 0 ? rate * gflop / bench_g.limit[p] : -1;
    r->cpu_share = gflop > 0 && cpu_rate > 0 && bench_g.cpu_limit[p] > 0 ? cpu_rate * gflop / bench_g.cpu_limit[p] : -1;
}

/* The share columns of a row, for the Markdown tables: "72 % (cpu 80 %)". */
static inline const char *bench_share_str(int row) {
    static char buf[8][48];
    static int k;
    char *b = buf[k++ & 7];
    const bench_row_t *r = &bench_g.rows[row];
    if (r->share < 0) b[0] = 0;
    else if (r->cpu_share < 0) snprintf(b, 48, "%.0f %%", 100 * r->share);
    else snprintf(b, 48, "%.0f %% (cpu %.0f %%)", 100 * r->share, 100 * r->cpu_share);
    return b;
}

/* Prints the load at the end, and with --json the document on the real stdout. Returns 0. */
static inline int bench_end(void) {
    char load_end[64], cpu[256], gemm[512], choices[512];
    bench_loadavg(load_end, sizeof load_end);
    printf("load average at end: %s\n", load_end);
    sv_gemm_choices(choices, sizeof choices);
    printf("GEMM choices: %s\n", choices);
    fflush(stdout);
    if (!bench_g.json) return 0;
    bench_cpu_model(cpu, sizeof cpu);
    sv_gemm_describe(gemm, sizeof gemm);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    char blas[160], mach[320];
    snprintf(blas, sizeof blas, "OpenBLAS %s%s%s%s", slava_blas_kernel(), ct ? " (forced by OPENBLAS_CORETYPE=" : " (auto-detected)",
             ct ? ct : "", ct ? ")" : "");
    snprintf(mach, sizeof mach, "%s, %ld cores online", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "bench", bench_g.name);
    cJSON_AddStringToObject(d, "machine", mach);
    cJSON_AddNumberToObject(d, "threads", slava_get_threads());
    cJSON_AddStringToObject(d, "blas", blas);
    cJSON_AddStringToObject(d, "onednn_isa", sv_dnnl_isa());
    cJSON_AddStringToObject(d, "gemm", gemm);
    cJSON_AddStringToObject(d, "gemm_choices", choices);
    cJSON_AddStringToObject(d, "load_start", bench_g.load_start);
    cJSON_AddStringToObject(d, "load_end", load_end);
    if (bench_g.limit[0] > 0) cJSON_AddNumberToObject(d, "sgemm_gflops", (int)(bench_g.limit[0] + 0.5));
    else cJSON_AddNullToObject(d, "sgemm_gflops");
    if (bench_g.limit[1] > 0) cJSON_AddNumberToObject(d, "bf16_gemm_gflops", (int)(bench_g.limit[1] + 0.5));
    else cJSON_AddNullToObject(d, "bf16_gemm_gflops");
    cJSON_AddNumberToObject(d, "sgemm_gflops_per_cpu_second", (int)(bench_g.cpu_limit[0] + 0.5));
    cJSON_AddNumberToObject(d, "bf16_gemm_gflops_per_cpu_second", (int)(bench_g.cpu_limit[1] + 0.5));
    cJSON *rows = cJSON_AddArrayToObject(d, "rows");
    for (int i = 0; i < bench_g.nrows; i++) {
        const bench_row_t *r = &bench_g.rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddNumberToObject(o, "batch", r->batch);
        cJSON_AddStringToObject(o, "precision", r->precision);
        cJSON_AddNumberToObject(o, "rate", (double)(long long)(r->rate * 100 + 0.5) / 100);
        cJSON_AddStringToObject(o, "unit", r->unit);
        if (r->share >= 0) cJSON_AddNumberToObject(o, "share_of_limit", (double)(long long)(r->share * 1000 + 0.5) / 1000);
        else cJSON_AddNullToObject(o, "share_of_limit");
        if (r->cpu_share >= 0) cJSON_AddNumberToObject(o, "cpu_share_of_limit", (double)(long long)(r->cpu_share * 1000 + 0.5) / 1000);
        else cJSON_AddNullToObject(o, "cpu_share_of_limit");
        cJSON_AddItemToArray(rows, o);
    }
    char *txt = cJSON_Print(d);
    cJSON_Delete(d);
    if (txt) {
        FILE *f = fdopen(bench_g.saved_stdout, "w");
        if (f) { fprintf(f, "%s\n", txt); fclose(f); }
        free(txt);
    }
    return 0;
}

/* sgemm GFLOP/s on square n×n products (best of `reps`), through the plain GEMM entry (sv_gemm). */
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
