/*
 * filestamp.c — size, mtime and sha256 of a file (see filestamp.h). The digest is libavutil's
 * sha256, the one the checkpoint identities use.
 */
#include "io/filestamp.h"
#include <errno.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>
#include <stdio.h>
#include <sys/stat.h>

void sv_file_stamp_clear(sv_file_stamp *st) {
    st->size = -1;
    st->mtime_ns = -1;
    st->sha256[0] = 0;
}

int sv_file_stamp_same_meta(const sv_file_stamp *a, const sv_file_stamp *b) {
    return a->size >= 0 && a->mtime_ns >= 0 && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

slava_status sv_file_stamp_get(slava_ctx *ctx, const char *path, int hash, sv_file_stamp *out) {
    sv_file_stamp_clear(out);
    struct stat sb;
    if (stat(path, &sb) != 0) return sv_err(ctx, SLAVA_E_IO, "%s: %s", path, strerror(errno));
    out->size = (int64_t)sb.st_size;
    out->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    if (!hash) return SLAVA_OK;
    FILE *f = fopen(path, "rb");
    if (!f) return sv_err(ctx, SLAVA_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct AVSHA *sha = av_sha_alloc();
    unsigned char *buf = malloc(1 << 20);
    slava_status st = SLAVA_OK;
    if (!sha || !buf || av_sha_init(sha, 256) < 0) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    size_t got;
    while (!st && (got = fread(buf, 1, 1 << 20, f)) > 0) av_sha_update(sha, buf, (unsigned int)got);
    if (!st && ferror(f)) st = sv_err(ctx, SLAVA_E_IO, "%s: read error", path);
    if (!st) {
        uint8_t dig[32];
        av_sha_final(sha, dig);
        for (int i = 0; i < 32; i++) snprintf(out->sha256 + 2 * i, 3, "%02x", dig[i]);
    }
    fclose(f);
    free(buf);
    av_free(sha);
    return st;
}
