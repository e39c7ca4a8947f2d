/*
 * atomic_file.h — writing a file so that nobody ever finds it half written under its name: the
 * bytes go to a temporary file beside it ("<path>.tmp-<pid>-<hex>"), which is flushed to the disk
 * (fsync), renamed over `path`, and the folder is synced so the rename survives a crash. Any
 * failure — a full disk, an interruption, a write error — removes the temporary file and leaves
 * `path` as it was (absent or the previous version). Every file slava writes goes through here
 * (sv_write_file: heads, exports, checkpoints, captions files, indexes) except the feature store,
 * which is SQLite's business.
 *
 * A full disk (ENOSPC / EDQUOT) gives "<path>: disk full (...)" so the user knows to free space
 * and run the command again; other errors name the file and the system's reason.
 */
#ifndef SLAVA_ATOMIC_FILE_H
#define SLAVA_ATOMIC_FILE_H

#include "base/base.h"

typedef struct sv_afile sv_afile;

/* Start writing `path` (its folder must exist). */
slava_status sv_afile_open(slava_ctx *ctx, const char *path, sv_afile **out);
/* Append n bytes. On failure the file is abandoned (temporary removed, f freed): do not use f again. */
slava_status sv_afile_write(slava_ctx *ctx, sv_afile *f, const void *buf, size_t n);
/* fsync, rename over the final name, sync the folder; frees f (also on failure, then the
 * temporary file is removed). */
slava_status sv_afile_commit(slava_ctx *ctx, sv_afile *f);
/* Give up: remove the temporary file, free f. No-op on NULL. */
void         sv_afile_abort(sv_afile *f);

/* Whole files in one call: sv_write_file / sv_write_parts in base.h (files.c) use this writer. */

#endif
