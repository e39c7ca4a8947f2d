/*
 * thumb.h — JPEG thumbnails of the frame of a video at a given second (`GET /thumb/ID?t=S`):
 * the frame is decoded through FFmpeg (slava_video_frame_at), scaled down with libswscale and
 * encoded with libavcodec's mjpeg encoder; results are kept in a byte-bounded LRU cache shared
 * by the server's worker threads.
 */
#ifndef SLAVA_SERVE_THUMB_H
#define SLAVA_SERVE_THUMB_H

#include "base/base.h"

typedef struct sv_thumbs sv_thumbs;

/* A cache holding up to cache_bytes of JPEG data; thumbnails are at most max_width pixels wide. */
slava_status sv_thumbs_new(slava_ctx *ctx, size_t cache_bytes, int max_width, sv_thumbs **out);
void         sv_thumbs_free(sv_thumbs *c);
/* The JPEG of `path` at t seconds (t is rounded to 0.1 s; the cache key is `key` + that time).
 * *jpeg is a malloc'd copy (caller frees). Thread-safe. */
slava_status sv_thumb_get(slava_ctx *ctx, sv_thumbs *c, const char *key, const char *path, double t,
                          uint8_t **jpeg, size_t *len);
/* Counters for /api/health: thumbnails served from the cache / decoded. */
void         sv_thumbs_stats(sv_thumbs *c, int64_t *hits, int64_t *misses, size_t *bytes);

/* im → JPEG (libavcodec mjpeg, 4:2:0) scaled to at most max_width pixels wide (aspect kept);
 * *out malloc'd. */
slava_status sv_jpeg_encode(slava_ctx *ctx, const slava_image *im, int max_width, uint8_t **out, size_t *len);

#endif
