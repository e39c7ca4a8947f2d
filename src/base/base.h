/*
 * base.h — internal helpers every module uses: the error mechanism (set a message in the ctx and
 * return a status in one statement), checked allocation, progress/log forwarding, timing, files.
 * src/base/ is the bottom of the tree: it includes slava.h and the C library, nothing else.
 *
 * Usage:  if (!p) return sv_err(ctx, SLAVA_E_IO, "%s: cannot open: %s", path, strerror(errno));
 * The message is one line, starts with the file or object it is about, no "slava:" prefix
 * (the CLI adds it).
 */
#ifndef SLAVA_BASE_H
#define SLAVA_BASE_H

#include "slava.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct slava_ctx {
    char msg[1024];
    slava_progress_fn progress;
    void *progress_user;
    slava_log_fn log;
    void *log_user;
    slava_cancel_fn cancel;
    void *cancel_user;
};

/* Set ctx's message (printf-style) and return `st`. ctx may be NULL. */
slava_status sv_err(slava_ctx *ctx, slava_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the existing message with "prefix: " (for adding a file name at an outer level). */
void sv_err_prefix(slava_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log a line through the ctx's log callback (dropped when none). */
void sv_log(slava_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Report progress; returns non-zero when the caller asked to cancel (through the progress or
 * the cancel callback). */
int sv_progress(slava_ctx *ctx, const char *stage, int64_t done, int64_t total, const char *detail);
/* Cancellation check between units of work (nothing displayed): non-zero = stop. */
int sv_cancelled(const slava_ctx *ctx);

/* Allocation: NULL on failure (callers turn it into SLAVA_E_NOMEM). Aligned to 64 bytes. */
void *sv_alloc(size_t bytes);          /* uninitialised */
void *sv_calloc(size_t n, size_t size); /* zeroed, overflow-checked */
void  sv_free(void *p);
char *sv_strdup(const char *s);
/* 1 when `bytes` more of address space cannot be had right now (a memory limit is nearly
 * reached): libraries that report a failed allocation as something else (FFmpeg's decoders say
 * "invalid data") are told apart from bad input with it. */
int   sv_address_space_low(size_t bytes);
/* A FORMAT error `st` about `path` seen while the address space is nearly exhausted is reported
 * as what it most likely is: SLAVA_E_NOMEM "<path>: out of memory while <what> (...the first
 * message...)" — cJSON says "not valid JSON" and FFmpeg "invalid data" when an allocation
 * fails. Other statuses pass through unchanged. */
slava_status sv_nomem_if_low(slava_ctx *ctx, slava_status st, const char *path, const char *what);

/* This thread's scratch buffer number `slot` (0 .. SV_SCRATCH_SLOTS − 1) of at least `bytes` bytes,
 * 64-byte aligned, contents undefined; valid until the same thread asks for that slot again or
 * exits. NULL when out of memory. Slots: SV_SCRATCH_STAGE (bf16 staging in gemm.c), _DNNL (oneDNN
 * scratchpads), _ATT0.._ATT2 (attention tiles), _TOWER (the image tower's activations). */
#define SV_SCRATCH_SLOTS 6
enum { SV_SCRATCH_STAGE = 0, SV_SCRATCH_DNNL = 1, SV_SCRATCH_ATT0 = 2, SV_SCRATCH_ATT1 = 3, SV_SCRATCH_ATT2 = 4,
       SV_SCRATCH_TOWER = 5 };
void *sv_thread_buffer(int slot, size_t bytes);

/* Monotonic wall-clock seconds (slava_now() is the public name). */
double sv_now(void);

/* Files (files.c). Read a whole file into a NUL-terminated malloc'd buffer (len excludes the NUL). */
slava_status sv_read_file(slava_ctx *ctx, const char *path, char **out, size_t *len);
/* Write data [len] to path atomically: a temporary file beside it, fsync'd and renamed over path
 * once every byte is written (removed on failure; a full disk is named as such; see
 * base/atomic_file.h). sv_write_parts writes n byte ranges one after the other. */
slava_status sv_write_file(slava_ctx *ctx, const char *path, const void *data, size_t len);
slava_status sv_write_parts(slava_ctx *ctx, const char *path, int n, const void *const *parts, const size_t *lens);
/* Copy the file src to dst (read whole, written atomically). */
slava_status sv_copy_file(slava_ctx *ctx, const char *src, const char *dst);
/* Create folder dir and its missing parents (an existing folder is fine). */
slava_status sv_make_dirs(slava_ctx *ctx, const char *dir);
/* Join directory and file name into a malloc'd path. */
char *sv_path_join(const char *dir, const char *name);
int   sv_file_exists(const char *path);

/* UTF-8 (utf8.c): the sequence at s[i] → its length (>= 1) and *cp, or -k when the maximal
 * invalid subpart there has k bytes; whether s[0..len) is valid UTF-8. slava_utf8_fix (slava.h)
 * replaces invalid parts with U+FFFD. */
int sv_utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp);
int sv_utf8_valid(const char *s, size_t len);

#define SV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SV_TRY(expr) do { slava_status sv_st_ = (expr); if (sv_st_ != SLAVA_OK) return sv_st_; } while (0)

#endif
