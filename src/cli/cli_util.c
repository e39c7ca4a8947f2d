/*
 * cli_util.c — error printing, option parsing, progress display and JSON output shared by the
 * subcommands. The only place (with the subcommands) that writes to stdout / stderr.
 */
#include "cli/cli.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

void cli_error(const char *fmt, ...) {
    va_list ap;
    fputs("slava: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_fail(slava_ctx *ctx) {
    const char *m = slava_ctx_error(ctx);
    cli_error("%s", m && *m ? m : "unknown error");
    return CLI_FAIL;
}

long cli_parse_long(const char *opt, const char *val, long lo, long hi) {
    char *end = NULL;
    errno = 0;
    long v = val ? strtol(val, &end, 10) : 0;
    if (!val || !*val || *end || errno || v < lo || v > hi) {
        cli_error("%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, val ? val : "");
        return -1;
    }
    return v;
}

double cli_parse_double(const char *opt, const char *val) {
    char *end = NULL;
    errno = 0;
    double v = val ? strtod(val, &end) : 0;
    if (!val || !*val || *end || errno || !isfinite(v)) {
        cli_error("%s: expected a number, got '%s'", opt, val ? val : "");
        return NAN;
    }
    return v;
}

void cli_omp_passive_reexec(int argc, char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    char **nv = calloc((size_t)argc + 1, sizeof *nv);
    if (!nv || setenv("OMP_WAIT_POLICY", "passive", 1) != 0) { free(nv); return; }
    for (int i = 0; i < argc; i++) nv[i] = argv[i];
    fflush(NULL);
    execv("/proc/self/exe", nv);
    free(nv);   /* exec failed: go on with the default policy */
}

/* ------------------------------------------------------------------ progress */

typedef struct {
    int tty, quiet;
    double t0, last;
    char stage[64];
} progress_state;

static progress_state g_progress;  /* CLI-only state: the library holds none */

static int progress_cb(void *user, const char *stage, int64_t done, int64_t total, const char *detail) {
    progress_state *p = user;
    if (p->quiet) return 0;
    double now = slava_now();
    if (strncmp(p->stage, stage, sizeof p->stage - 1)) {
        snprintf(p->stage, sizeof p->stage, "%s", stage);
        p->t0 = now;
        p->last = 0;
    }
    int finished = total > 0 && done >= total;
    double interval = p->tty ? 0.1 : 10.0;
    if (!finished && now - p->last < interval) return 0;
    p->last = now;
    double el = now - p->t0, rate = el > 0 ? done / el : 0;
    char eta[32] = "";
    if (total > 0 && rate > 0 && !finished) snprintf(eta, sizeof eta, " ETA %.0fs", (total - done) / rate);
    if (p->tty) {
        int w = 30, fill = total > 0 ? (int)(w * (double)done / total) : 0;
        char bar[64];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        fprintf(stderr, "\r%-10s [%s] %lld/%lld %.1f/s%s %s\033[K", stage, bar, (long long)done,
                (long long)total, rate, eta, detail ? detail : "");
        if (finished) fputc('\n', stderr);
    } else {
        fprintf(stderr, "slava: %s %lld/%lld (%.1f/s)%s %s\n", stage, (long long)done, (long long)total,
                rate, eta, detail ? detail : "");
    }
    fflush(stderr);
    return 0;
}

void cli_progress_install(slava_ctx *ctx, int quiet) {
    memset(&g_progress, 0, sizeof g_progress);
    g_progress.tty = isatty(2);
    g_progress.quiet = quiet;
    slava_ctx_set_progress(ctx, progress_cb, &g_progress);
}

static void log_cb(void *user, int level, const char *line) {
    int quiet = (int)(intptr_t)user;
    if (quiet && level == 0) return;
    if (g_progress.tty && !g_progress.quiet) fputs("\r\033[K", stderr);
    fprintf(stderr, "slava: %s%s\n", level ? "warning: " : "", line);
}

void cli_log_install(slava_ctx *ctx, int quiet) { slava_ctx_set_log(ctx, log_cb, (void *)(intptr_t)quiet); }

/* ------------------------------------------------------------------ JSON out */

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void cli_json_floats(FILE *f, const float *x, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, i ? ",%.9g" : "%.9g", x[i]);
    fputc(']', f);
}

void cli_json_matrix(FILE *f, const float *x, int rows, int cols) {
    fputc('[', f);
    for (int r = 0; r < rows; r++) {
        if (r) fputc(',', f);
        cli_json_floats(f, x + (size_t)r * cols, cols);
    }
    fputc(']', f);
}

void cli_embed_line(FILE *f, const char *input, const float *pooled, int T, int D, int pooled_rows,
                    const float *projected, int P) {
    fputs("{\"input\":", f);
    cli_json_string(f, input);
    fputs(",\"pooled\":", f);
    if (pooled_rows) cli_json_matrix(f, pooled, T, D);
    else cli_json_floats(f, pooled, D);
    fputs(",\"projected\":", f);
    cli_json_floats(f, projected, P);
    double ss = 0;
    for (int i = 0; i < P; i++) ss += (double)projected[i] * projected[i];
    double inv = 1.0 / fmax(sqrt(ss), 1e-12);
    fputs(",\"embedding\":[", f);
    for (int i = 0; i < P; i++) fprintf(f, i ? ",%.9g" : "%.9g", (float)(projected[i] * inv));
    fputs("]}\n", f);
}
