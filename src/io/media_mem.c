/*
 * media_mem.c — the in-memory AVIOContext of media_mem.h: reads copy from the caller's buffer,
 * seeks move a position inside it (SEEK_SET / SEEK_CUR / SEEK_END, AVSEEK_SIZE reports the
 * length); reading past the end gives AVERROR_EOF.
 */
#include "io/media_mem.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
} mem_src;

static int mem_read(void *opaque, uint8_t *dst, int n) {
    mem_src *m = opaque;
    if (n <= 0) return 0;
    if (m->pos >= m->len) return AVERROR_EOF;
    size_t k = m->len - m->pos < (size_t)n ? m->len - m->pos : (size_t)n;
    memcpy(dst, m->buf + m->pos, k);
    m->pos += k;
    return (int)k;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence) {
    mem_src *m = opaque;
    if (whence & AVSEEK_SIZE) return (int64_t)m->len;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (int64_t)m->pos; break;
    case SEEK_END: base = (int64_t)m->len; break;
    default: return AVERROR(EINVAL);
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0) return AVERROR(EINVAL);
    int64_t p = base + off;
    m->pos = (uint64_t)p > m->len ? m->len : (size_t)p;
    return p;
}

AVIOContext *sv_mem_avio_open(const void *buf, size_t len) {
    enum { BUF = 1 << 15 };
    mem_src *m = av_mallocz(sizeof *m);
    uint8_t *b = av_malloc(BUF);
    AVIOContext *pb = m && b ? avio_alloc_context(b, BUF, 0, m, mem_read, NULL, mem_seek) : NULL;
    if (!pb) {
        av_free(b);
        av_free(m);
        return NULL;
    }
    m->buf = buf;
    m->len = len;
    return pb;
}

void sv_mem_avio_close(AVIOContext **pb) {
    if (!pb || !*pb) return;
    av_free((*pb)->opaque);
    av_freep(&(*pb)->buffer);   /* FFmpeg may have replaced the buffer it was given */
    avio_context_free(pb);
}

int sv_media_open_input(AVFormatContext **fmt, AVIOContext **pb, const char *path, const void *buf, size_t len) {
    if (buf) {
        *pb = sv_mem_avio_open(buf, len);
        *fmt = *pb ? avformat_alloc_context() : NULL;
        if (!*fmt) return AVERROR(ENOMEM);
        (*fmt)->pb = *pb;
        (*fmt)->flags |= AVFMT_FLAG_CUSTOM_IO;
        path = NULL;
    }
    return avformat_open_input(fmt, path, NULL, NULL);
}
