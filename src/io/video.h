/*
 * video.h — internal side of the FFmpeg image / video decoding in video.c. The public API
 * (slava_image_load, slava_video_open / next / close) is in include/slava.h, vision section.
 *
 * FFmpeg logs to stderr by default; the library must not print, so sv_ffmpeg_init() installs a
 * log callback that drops FFmpeg's messages and keeps the last error-level line of the calling
 * thread, which our error messages quote (e.g. "moov atom not found").
 */
#ifndef SLAVA_IO_VIDEO_H
#define SLAVA_IO_VIDEO_H

#include "base/base.h"

/* Install the silent FFmpeg log callback and cap FFmpeg's single allocations at 512 MiB
 * (av_max_alloc; idempotent, thread-safe). */
void sv_ffmpeg_init(void);
/* Last FFmpeg error line logged on this thread since sv_ffmpeg_clear_error ("" when none). */
const char *sv_ffmpeg_last_error(void);
void sv_ffmpeg_clear_error(void);

/* slava_video_open / slava_image_load on len bytes in memory (borrowed: buf must outlive the
 * video); `name` stands for the file in messages. Same decoders, limits and errors as files. */
slava_status sv_video_open_mem(slava_ctx *ctx, const char *name, const void *buf, size_t len, double fps,
                               slava_video **out);
slava_status sv_image_load_mem(slava_ctx *ctx, const char *name, const void *buf, size_t len, slava_image *out);

#endif
