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

#endif
