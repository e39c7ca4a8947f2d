/*
 * status.c — the one error mechanism: a per-context message buffer plus status codes, and the
 * progress / log callbacks that stand in for printing inside the library.
 */
#include "base/base.h"
#include <sys/mman.h>
#include <stdio.h>
#include <errno.h>
#include <time.h>

slava_ctx *slava_ctx_new(void) { return calloc(1, sizeof(slava_ctx)); }
void slava_ctx_free(slava_ctx *ctx) { free(ctx); }
const char *slava_ctx_error(const slava_ctx *ctx) { return ctx ? ctx->msg : ""; }
void slava_ctx_clear_error(slava_ctx *ctx) { if (ctx) ctx->msg[0] = 0; }
void slava_ctx_set_progress(slava_ctx *ctx, slava_progress_fn fn, void *user) {
    ctx->progress = fn; ctx->progress_user = user;
}
void slava_ctx_set_log(slava_ctx *ctx, slava_log_fn fn, void *user) { ctx->log = fn; ctx->log_user = user; }
void slava_ctx_set_cancel(slava_ctx *ctx, slava_cancel_fn fn, void *user) { ctx->cancel = fn; ctx->cancel_user = user; }

const char *slava_status_name(slava_status s) {
    static const char *names[] = {"ok", "i/o error", "format error", "shape error", "bad argument",
                                  "out of memory", "unsupported", "no audio", "not found",
                                  "store error", "interrupted", "internal error", "training diverged"};
    return (unsigned)s < SV_ARRAY_LEN(names) ? names[s] : "unknown status";
}

slava_status sv_err(slava_ctx *ctx, slava_status st, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
        va_end(ap);
        for (char *p = ctx->msg; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return st;
}

void sv_err_prefix(slava_ctx *ctx, const char *fmt, ...) {
    if (!ctx) return;
    char pre[512], old[sizeof ctx->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, ctx->msg, sizeof old);
    size_t a = strlen(pre), b = strlen(old);
    if (a > sizeof ctx->msg - 3) a = sizeof ctx->msg - 3;
    if (a + 2 + b > sizeof ctx->msg - 1) b = sizeof ctx->msg - 1 - a - 2;
    memcpy(ctx->msg, pre, a);
    memcpy(ctx->msg + a, ": ", 2);
    memcpy(ctx->msg + a + 2, old, b);
    ctx->msg[a + 2 + b] = 0;
}

void sv_log(slava_ctx *ctx, int level, const char *fmt, ...) {
    if (!ctx || !ctx->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, line);
}

int sv_progress(slava_ctx *ctx, const char *stage, int64_t done, int64_t total, const char *detail) {
    if (sv_cancelled(ctx)) return 1;
    if (!ctx || !ctx->progress) return 0;
    return ctx->progress(ctx->progress_user, stage, done, total, detail);
}

int sv_cancelled(const slava_ctx *ctx) { return ctx && ctx->cancel && ctx->cancel(ctx->cancel_user); }

void *sv_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    return p;
}

void *sv_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = sv_alloc(n * size);
    size_t bytes = n * size;
    if (p) memset(p, 0, bytes > 0 ? bytes : 1);
    return p;
}

void sv_free(void *p) { free(p); }

int sv_address_space_low(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return 1;
    munmap(p, bytes);
    return 0;
}

slava_status sv_nomem_if_low(slava_ctx *ctx, slava_status st, const char *path, const char *what) {
    if (st != SLAVA_E_FORMAT || !ctx || !sv_address_space_low((size_t)64 << 20)) return st;
    char was[sizeof ctx->msg];
    memcpy(was, ctx->msg, sizeof was);
    size_t pl = strlen(path);
    const char *detail = !strncmp(was, path, pl) && was[pl] == ':' ? was + pl + (was[pl + 1] == ' ' ? 2 : 1) : was;
    return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory while %s (it then said: %s)", path, what, detail);
}

char *sv_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

double sv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double slava_now(void) { return sv_now(); }
