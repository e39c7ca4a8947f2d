/*
 * thumb.c — thumbnails for `slava serve`: frame at t → scaled JPEG (mjpeg encoder), and the LRU
 * cache in front of it. See thumb.h.
 */
#include "serve/thumb.h"
#include "io/video.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#define JPEG_QSCALE 4   /* mjpeg quantiser scale: 2 best .. 31 worst; 4 looks clean at ~10 KB */

slava_status sv_jpeg_encode(slava_ctx *ctx, const slava_image *im, int max_width, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (im->w <= 0 || im->h <= 0) return sv_err(ctx, SLAVA_E_ARG, "thumbnail: empty image");
    int ow = im->w > max_width ? max_width : im->w;
    int oh = (int)lround((double)im->h * ow / im->w);
    ow += ow & 1;                 /* 4:2:0 chroma: even sizes */
    oh = oh < 2 ? 2 : oh + (oh & 1);
    sv_ffmpeg_init();
    slava_status st = SLAVA_OK;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec) return sv_err(ctx, SLAVA_E_UNSUPPORTED, "thumbnail: this FFmpeg has no mjpeg encoder");
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    uint8_t *padded = NULL;
    if (!enc || !f || !pkt) { st = sv_err(ctx, SLAVA_E_NOMEM, "thumbnail: out of memory"); goto done; }
    enc->width = ow;
    enc->height = oh;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * JPEG_QSCALE;
    enc->thread_count = 1;
    if (avcodec_open2(enc, codec, NULL) < 0) {
        st = sv_err(ctx, SLAVA_E_INTERNAL, "thumbnail: cannot open the mjpeg encoder (%s)", sv_ffmpeg_last_error());
        goto done;
    }
    f->format = enc->pix_fmt;
    f->width = ow;
    f->height = oh;
    if (av_frame_get_buffer(f, 0) < 0) { st = sv_err(ctx, SLAVA_E_NOMEM, "thumbnail: out of memory"); goto done; }
    sws = sws_getContext(im->w, im->h, AV_PIX_FMT_RGB24, ow, oh, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws) { st = sv_err(ctx, SLAVA_E_INTERNAL, "thumbnail: cannot set up scaling %dx%d -> %dx%d", im->w, im->h, ow, oh); goto done; }
    /* swscale's SIMD loads may read up to 16 bytes past the last pixel: scale from a padded copy */
    size_t bytes = (size_t)im->w * im->h * 3;
    padded = malloc(bytes + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!padded) { st = sv_err(ctx, SLAVA_E_NOMEM, "thumbnail: out of memory"); goto done; }
    memcpy(padded, im->rgb, bytes);
    memset(padded + bytes, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    const uint8_t *src[4] = {padded, NULL, NULL, NULL};
    int src_stride[4] = {im->w * 3, 0, 0, 0};
    sws_scale(sws, src, src_stride, 0, im->h, f->data, f->linesize);
    f->quality = enc->global_quality;
    f->pts = 0;
    if (avcodec_send_frame(enc, f) < 0 || avcodec_send_frame(enc, NULL) < 0 || avcodec_receive_packet(enc, pkt) < 0) {
        st = sv_err(ctx, SLAVA_E_INTERNAL, "thumbnail: JPEG encoding failed (%s)", sv_ffmpeg_last_error());
        goto done;
    }
    *out = malloc((size_t)pkt->size);
    if (!*out) { st = sv_err(ctx, SLAVA_E_NOMEM, "thumbnail: out of memory"); goto done; }
    memcpy(*out, pkt->data, (size_t)pkt->size);
    *len = (size_t)pkt->size;
done:
    free(padded);
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    return st;
}

/* ------------------------------------------------------------------ cache */

typedef struct entry {
    char *key;                    /* "<key>@<deciseconds>" */
    uint8_t *jpeg;
    size_t len;
    struct entry *prev, *next;    /* most recently used first */
} entry;

struct sv_thumbs {
    pthread_mutex_t mu;
    entry *head, *tail;
    size_t bytes, cap;
    int max_width;
    int64_t hits, misses;
};

slava_status sv_thumbs_new(slava_ctx *ctx, size_t cache_bytes, int max_width, sv_thumbs **out) {
    sv_thumbs *c = calloc(1, sizeof *c);
    if (!c) return sv_err(ctx, SLAVA_E_NOMEM, "thumbnail cache: out of memory");
    pthread_mutex_init(&c->mu, NULL);
    c->cap = cache_bytes;
    c->max_width = max_width > 16 ? max_width : 16;
    *out = c;
    return SLAVA_OK;
}

static void unlink_entry(sv_thumbs *c, entry *e) {
    if (e->prev) e->prev->next = e->next; else c->head = e->next;
    if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(sv_thumbs *c, entry *e) {
    e->next = c->head;
    e->prev = NULL;
    if (c->head) c->head->prev = e; else c->tail = e;
    c->head = e;
}

static void free_entry(entry *e) {
    free(e->key);
    free(e->jpeg);
    free(e);
}

void sv_thumbs_free(sv_thumbs *c) {
    if (!c) return;
    for (entry *e = c->head, *n; e; e = n) { n = e->next; free_entry(e); }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void sv_thumbs_stats(sv_thumbs *c, int64_t *hits, int64_t *misses, size_t *bytes) {
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    *bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}

/* Look up k; on a hit move it to the front and copy the JPEG out. Caller holds the lock. */
static int lookup(sv_thumbs *c, const char *k, uint8_t **jpeg, size_t *len) {
    for (entry *e = c->head; e; e = e->next)
        if (!strcmp(e->key, k)) {
            *jpeg = malloc(e->len);
            if (!*jpeg) return -1;
            memcpy(*jpeg, e->jpeg, e->len);
            *len = e->len;
            unlink_entry(c, e);
            push_front(c, e);
            return 1;
        }
    return 0;
}

slava_status sv_thumb_get(slava_ctx *ctx, sv_thumbs *c, const char *key, const char *path, double t,
                          uint8_t **jpeg, size_t *len) {
    *jpeg = NULL;
    *len = 0;
    if (!isfinite(t) || t < 0) return sv_err(ctx, SLAVA_E_ARG, "thumbnail: time must be a number >= 0");
    long long ds = llround(t * 10);
    char k[600];
    snprintf(k, sizeof k, "%s@%lld", key, ds);
    pthread_mutex_lock(&c->mu);
    int r = lookup(c, k, jpeg, len);
    if (r) c->hits++; else c->misses++;
    pthread_mutex_unlock(&c->mu);
    if (r < 0) return sv_err(ctx, SLAVA_E_NOMEM, "thumbnail: out of memory");
    if (r > 0) return SLAVA_OK;

    slava_image im;
    SV_TRY(slava_video_frame_at(ctx, path, ds / 10.0, &im));
    slava_status st = sv_jpeg_encode(ctx, &im, c->max_width, jpeg, len);
    slava_image_free(&im);
    if (st != SLAVA_OK || *len > c->cap) return st;

    /* Insert a copy (another thread may have inserted the same key meanwhile: keep one). */
    entry *e = calloc(1, sizeof *e);
    if (e) { e->key = sv_strdup(k); e->jpeg = malloc(*len); e->len = *len; }
    if (!e || !e->key || !e->jpeg) { if (e) free_entry(e); return SLAVA_OK; }   /* served, just not cached */
    memcpy(e->jpeg, *jpeg, *len);
    pthread_mutex_lock(&c->mu);
    for (entry *o = c->head; o; o = o->next)
        if (!strcmp(o->key, k)) { unlink_entry(c, o); c->bytes -= o->len; free_entry(o); break; }
    push_front(c, e);
    c->bytes += e->len;
    while (c->bytes > c->cap && c->tail) {
        entry *old = c->tail;
        unlink_entry(c, old);
        c->bytes -= old->len;
        free_entry(old);
    }
    pthread_mutex_unlock(&c->mu);
    return SLAVA_OK;
}
