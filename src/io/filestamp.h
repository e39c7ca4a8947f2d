/*
 * filestamp.h — what a media file was when it was encoded: size, modification time and the
 * sha256 of its bytes. `slava encode` records it per clip and compares it on every rerun, so a
 * replaced video is noticed (size / mtime changed → the hash decides whether the content did).
 */
#ifndef SLAVA_IO_FILESTAMP_H
#define SLAVA_IO_FILESTAMP_H

#include "base/base.h"

typedef struct {
    int64_t size;        /* bytes; -1 unknown */
    int64_t mtime_ns;    /* modification time, ns since the epoch; -1 unknown */
    char    sha256[65];  /* hex digest of the bytes; "" unknown (not computed) */
} sv_file_stamp;

/* All fields unknown. */
void sv_file_stamp_clear(sv_file_stamp *st);
/* Size and mtime of path (stat); with hash != 0 also the sha256 of its bytes (read in 1 MiB
 * pieces). Errors name the file. */
slava_status sv_file_stamp_get(slava_ctx *ctx, const char *path, int hash, sv_file_stamp *out);
/* Same size and mtime (both known). */
int sv_file_stamp_same_meta(const sv_file_stamp *a, const sv_file_stamp *b);

#endif
