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
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

/* One line of valid UTF-8: line breaks and other control characters become spaces, invalid
 * bytes U+FFFD (file names and user input can hold anything). */
static void put_clean_line(FILE *f, const char *s) {
    char *u = slava_utf8_fix(s, NULL);
    for (const unsigned char *p = (const unsigned char *)(u ? u : s); *p; p++) fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
    free(u);
}

void cli_error(const char *fmt, ...) {
    if (slava_dist_rank() > 0) return;   /* in an MPI job rank 0 speaks for all (errors are agreed) */
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fputs("slava: ", stderr);
    put_clean_line(stderr, msg);
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

/* A finite number, all of val; NAN otherwise. */
static double parse_number(const char *val) {
    char *end = NULL;
    errno = 0;
    double v = val ? strtod(val, &end) : 0;
    return !val || !*val || *end || errno || !isfinite(v) ? NAN : v;
}

double cli_parse_double(const char *opt, const char *val) {
    double v = parse_number(val);
    if (isnan(v)) cli_error("%s: expected a number, got '%s'", opt, val ? val : "");
    return v;
}

int cli_parse_fps(const char *val, double *fps) {
    double v = parse_number(val);
    if (!(v > 0 && v <= 1000)) {
        cli_error("--fps: expected a number in (0, 1000], got '%s'", val ? val : "");
        return -1;
    }
    *fps = v;
    return 0;
}

int cli_parse_precision(const char *val, slava_precision *p) {
    if (slava_precision_parse(val ? val : "", p) == 0) return 0;
    cli_error("--precision: expected fp32 or bf16, got '%s'", val ? val : "");
    return -1;
}

int cli_parse_encoder(const char *opt, const char *arg, const char **enc) {
    const char *eq = strchr(arg, '=');
    char m[16] = "";
    if (eq && (size_t)(eq - arg) < sizeof m) memcpy(m, arg, (size_t)(eq - arg));
    int k = slava_store_modality_parse(m);
    if (!eq || k < 0 || !eq[1]) {
        cli_error("%s takes MODALITY=ID (visual, audio or text), not '%s'", opt, arg);
        return -1;
    }
    enc[k] = eq + 1;
    return 0;
}

/* ------------------------------------------------------------------ progress */

typedef struct {
    int tty, quiet;
    double t0, last;
    char stage[64];
} progress_state;

static progress_state g_progress;  /* CLI-only state: the library holds none */

/* A progress bar may be on the terminal's current line. */
static int g_progress_tty_line(void) { return g_progress.tty && !g_progress.quiet && g_progress.stage[0]; }

/* ------------------------------------------------------------------ interruption */

/* The signal that asked to stop (SIGINT / SIGTERM), 0 while none came. The handler only sets it;
 * the library polls it through the cancel and progress callbacks. */
static volatile sig_atomic_t g_stop_signal;

static void on_stop_signal(int sig) {
    if (g_stop_signal) {   /* a second signal: stop at once (the store still keeps whole transactions) */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    g_stop_signal = sig;
}

static int cancel_cb(void *user) {
    (void)user;
    return g_stop_signal != 0;
}

static void signals_install(slava_ctx *ctx) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    /* SIGINT stays ignored when it was (a background job of a script, nohup): the usual convention */
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) != 0 || old.sa_handler != SIG_IGN) sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    slava_ctx_set_cancel(ctx, cancel_cb, NULL);
}

int cli_stop_signal(void) { return g_stop_signal; }

int cli_interrupted(const char *fmt, ...) {
    va_list ap;
    if (g_progress_tty_line()) fputs("\r\033[K", stderr);
    fputs("slava: interrupted: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    return 128 + (g_stop_signal ? g_stop_signal : SIGINT);
}

int cli_fail_or_stop(slava_ctx *ctx, slava_status st, const char *fmt, ...) {
    if (st != SLAVA_E_INTERRUPTED || !g_stop_signal) return cli_fail(ctx);
    char kept[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kept, sizeof kept, fmt, ap);
    va_end(ap);
    return cli_interrupted("%s; %s", slava_ctx_error(ctx), kept);
}

int cli_stopped_status(void) { return g_stop_signal ? 128 + g_stop_signal : CLI_FAIL; }

static int progress_cb(void *user, const char *stage, int64_t done, int64_t total, const char *detail) {
    progress_state *p = user;
    if (g_stop_signal) return 1;
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
    g_progress.quiet = quiet || slava_dist_rank() > 0;
    slava_ctx_set_progress(ctx, progress_cb, &g_progress);
    signals_install(ctx);
}

static void log_cb(void *user, int level, const char *line) {
    int quiet = (int)(intptr_t)user;
    if ((quiet && level == 0) || slava_dist_rank() > 0) return;
    if (g_progress.tty && !g_progress.quiet) fputs("\r\033[K", stderr);
    fprintf(stderr, "slava: %s%s\n", level ? "warning: " : "", line);
}

void cli_log_install(slava_ctx *ctx, int quiet) { slava_ctx_set_log(ctx, log_cb, (void *)(intptr_t)quiet); }

/* ------------------------------------------------------------------ JSON out */

void cli_json_string(FILE *f, const char *s) {
    static int warned;   /* CLI-only state: one warning per run */
    int changed = 0;
    char *u = slava_utf8_fix(s, &changed);
    if (changed && !warned) {
        warned = 1;
        fputs("slava: warning: text that is not valid UTF-8 (an input, path or caption) is written to JSON with U+FFFD "
              "in place of the invalid bytes\n", stderr);
    }
    if (u) s = u;
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
    free(u);
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

void cli_embed_line(FILE *f, const char *input, const slava_embedding *r, int pooled_rows) {
    fputs("{\"input\":", f);
    cli_json_string(f, input);
    fputs(",\"pooled\":", f);
    if (pooled_rows) cli_json_matrix(f, r->pooled, r->T, r->D);
    else cli_json_floats(f, r->pooled, r->D);
    fputs(",\"projected\":", f);
    cli_json_floats(f, r->projected, r->P);
    fputs(",\"embedding\":", f);
    cli_json_floats(f, r->embedding, r->P);
    fputs("}\n", f);
}

/* ------------------------------------------------------------------ this program */

const char *cli_program_path(char *buf, size_t cap) {
    char exe[4096], cwd[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) { snprintf(buf, cap, "slava"); return buf; }
    exe[n] = 0;
    /* the slava found on PATH, when it is this very file */
    struct stat a, b;
    const char *path = getenv("PATH");
    for (const char *p = path; p && *p;) {
        size_t l = strcspn(p, ":");
        char cand[4200];
        snprintf(cand, sizeof cand, "%.*s/slava", (int)l, p);
        if (l && stat(cand, &a) == 0 && stat(exe, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            snprintf(buf, cap, "slava");
            return buf;
        }
        p += l + (p[l] == ':');
    }
    size_t cl = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
    if (cl && !strncmp(exe, cwd, cl) && exe[cl] == '/') snprintf(buf, cap, ".%s", exe + cl);
    else snprintf(buf, cap, "%s", exe);
    return buf;
}
