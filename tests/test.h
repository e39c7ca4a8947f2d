/*
 * test.h — the tiny test harness every tests/test_*.c uses: CHECK macros that count failures,
 * fixture paths, running the CLI and capturing its output, float comparisons with tolerances.
 * A test program exits non-zero if any check failed and prints "N passed, N failed".
 */
#ifndef SLAVA_TEST_H
#define SLAVA_TEST_H

#include "slava.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

static int t_pass, t_fail;

#define CHECK(cond) do { if (cond) t_pass++; else { t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECKF(cond, ...) do { if (cond) t_pass++; else { t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)
/* Status check that prints the ctx message on failure. */
#define CHECK_OK(ctx, expr) do { slava_status st_ = (expr); if (st_ == SLAVA_OK) t_pass++; else { t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr, slava_status_name(st_), \
            slava_ctx_error(ctx)); } } while (0)

static inline int test_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
    return t_fail ? 1 : 0;
}

/* Path under tests/fixtures (static buffer rotation: up to 8 live results). */
static inline const char *fixture(const char *rel) {
    static char bufs[8][1024];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1024, "%s/%s", SLAVA_FIXTURES, rel);
    return b;
}

/* Path of a per-test scratch file / folder under the build tree. */
static inline const char *tmp_path(const char *rel) {
    static char bufs[8][1024];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1024, "%s/%s", SLAVA_TMP, rel);
    return b;
}

/* A whole file as a NUL-terminated malloc'd string (NULL when unreadable); *len (may be NULL)
 * receives its size. Read to the end, so /proc files (which report size 0) work too. */
static inline char *slurp_file(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, got;
    char *b = malloc(cap + 1);
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) { free(b); b = NULL; break; }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b) b[n] = 0;
    if (len) *len = (long)n;
    return b;
}

/* Run a shell command; capture stdout and stderr (malloc'd, may be NULL) and return exit code. */
static inline int run_cmd(const char *cmd, char **out, char **err) {
    char fo[1100], fe[1100], full[8192];
    static int seq;
    snprintf(fo, sizeof fo, "%s/run_%d_%d.out", SLAVA_TMP, (int)getpid(), seq);
    snprintf(fe, sizeof fe, "%s/run_%d_%d.err", SLAVA_TMP, (int)getpid(), seq++);
    snprintf(full, sizeof full, "%s >'%s' 2>'%s' </dev/null", cmd, fo, fe);
    int rc = system(full);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    char **dst[2] = {out, err};
    const char *src[2] = {fo, fe};
    for (int i = 0; i < 2; i++) {
        if (dst[i]) *dst[i] = slurp_file(src[i], NULL);
        unlink(src[i]);
    }
    return rc;
}

/* Count lines in a string. */
static inline int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* max |a-b| over n, and check against atol + rtol*|b|. Returns the max abs diff. */
static inline double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d;   /* NaN propagates as the max */
    }
    return m;
}
static inline int allclose(const float *a, const float *b, size_t n, double atol, double rtol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)b[i]) <= atol + rtol * fabs((double)b[i]))) return 0;
    return 1;
}

/* Two texts equal but for their numbers, which may differ by tol relative (to max(1, |x|)):
 * for outputs of the same math taken along two code paths (e.g. the same product with packed
 * and unpacked weights), whose last bits depend on the kernels the CPU gets. */
static inline int same_text_within(const char *a, const char *b, double tol) {
    while (*a && *b) {
        int na = (*a >= '0' && *a <= '9') || ((*a == '-' || *a == '.') && a[1] >= '0' && a[1] <= '9');
        int nb = (*b >= '0' && *b <= '9') || ((*b == '-' || *b == '.') && b[1] >= '0' && b[1] <= '9');
        if (na && nb) {
            char *ea, *eb;
            double x = strtod(a, &ea), y = strtod(b, &eb);
            double m = fabs(x) > 1 ? fabs(x) : 1;
            if (!(fabs(x - y) <= tol * m)) return 0;
            a = ea;
            b = eb;
            continue;
        }
        if (*a++ != *b++) return 0;
    }
    return *a == *b;
}

#endif
