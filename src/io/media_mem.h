/*
 * media_mem.h — an in-memory byte source for libavformat: a custom AVIOContext reading a caller's
 * buffer (read, seek, size), so media held in memory (an upload, a fuzzer's input) is decoded by
 * the same code as files (video.c, audio_decode.c: sv_video_open_mem, sv_audio_open_mem).
 */
#ifndef SLAVA_IO_MEDIA_MEM_H
#define SLAVA_IO_MEDIA_MEM_H

#include <stddef.h>

struct AVIOContext;

/* An AVIOContext over buf[len] (borrowed: it must outlive the context); NULL when out of memory. */
struct AVIOContext *sv_mem_avio_open(const void *buf, size_t len);
/* Frees the context, its buffer and its state; *pb = NULL. No-op on NULL. */
void sv_mem_avio_close(struct AVIOContext **pb);

struct AVFormatContext;
/* avformat_open_input on `path`, or (buf != NULL) on buf[len] in memory: *pb then receives the
 * in-memory context, which the caller frees with sv_mem_avio_close after avformat_close_input.
 * Returns FFmpeg's code (< 0 on failure, AVERROR(ENOMEM) when out of memory). */
int sv_media_open_input(struct AVFormatContext **fmt, struct AVIOContext **pb, const char *path, const void *buf,
                        size_t len);

#endif
