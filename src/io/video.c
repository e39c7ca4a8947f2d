/*
 * video.c — images and video frames through the FFmpeg libraries: libavformat demuxes (any
 * container, still images via the image2 / *_pipe demuxers), libavcodec decodes, libswscale
 * converts the sampled frames to RGB24. See include/slava.h (vision section) for the sampling
 * rule; in short, interval k = [k/fps, (k+1)/fps) from the stream's first timestamp, and the
 * frame on screen at the interval's middle is returned.
 *
 * Memory stays bounded: at most two decoded frames are held (the frame on screen at the next
 * sampling time and the one after it) plus one RGB buffer. Decoders get `max_pixels` before
 * they allocate anything, so a file declaring a huge resolution is refused up front.
 */
#include "io/video.h"
#include "io/media_mem.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#define TIME_EPS 1e-6   /* seconds: timestamps closer than this count as equal */

/* ------------------------------------------------------------------ FFmpeg logging */

static _Thread_local char tl_ff_error[256];
static pthread_once_t ff_once = PTHREAD_ONCE_INIT;

static void ff_log_cb(void *avcl, int level, const char *fmt, va_list ap) {
    (void)avcl;
    if (level > AV_LOG_ERROR) return;
    char line[sizeof tl_ff_error];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
    if (n) memcpy(tl_ff_error, line, n + 1);
}

/* FFmpeg trusts sizes written in a file for some of its allocations: a 97-byte WAV whose RIFF
 * INFO chunk claims 1.9 GB made the demuxer allocate and zero 1.9 GB (fuzz_media). No buffer
 * FFmpeg needs for media slava reads comes near this bound (an 8K frame plane is 66 MB). It is
 * FFmpeg's process-wide limit (av_max_alloc), set once. */
#define FFMPEG_MAX_ALLOC ((size_t)512 << 20)

static void ff_install(void) {
    av_log_set_callback(ff_log_cb);
    av_max_alloc(FFMPEG_MAX_ALLOC);
}
void sv_ffmpeg_init(void) { pthread_once(&ff_once, ff_install); }
const char *sv_ffmpeg_last_error(void) { return tl_ff_error; }
void sv_ffmpeg_clear_error(void) { tl_ff_error[0] = 0; }

/* " (FFmpeg: <last line>)" or "" — appended to our messages when FFmpeg said something. */
static const char *ff_detail(char *buf, size_t cap) {
    if (tl_ff_error[0]) snprintf(buf, cap, " (FFmpeg: %s)", tl_ff_error);
    else buf[0] = 0;
    return buf;
}

/* ------------------------------------------------------------------ the decoder */

struct slava_video {
    char            *path;
    AVIOContext     *mem_pb;        /* in-memory source (sv_video_open_mem), else NULL */
    AVFormatContext *fmt;
    AVCodecContext  *dec;
    int              stream;
    AVRational       tb;
    int64_t          t0;            /* timestamp of time 0 (stream units); AV_NOPTS_VALUE until known */
    double           fallback_dur;  /* seconds per frame when a frame carries no duration */
    double           stream_dur;    /* the video stream's own declared duration (s), -1 unknown */
    AVPacket        *pkt;
    int              demux_eof, flushed, dec_eof;
    int              send_errors;   /* packets the decoder rejected (corrupt data) */
    char             first_error[256];
    /* sampling state */
    AVFrame         *cur, *nxt;     /* cur: on screen at the next sampling time; nxt: the frame after */
    double           cur_t, cur_d, nxt_t, nxt_d;
    int              have_cur, have_nxt, cur_converted, done;
    double           last_t;        /* time of the last frame decoded (for frames without pts) */
    int64_t          k;             /* next interval index */
    struct SwsContext *sws;
    slava_image      out;
    size_t           out_cap;
    slava_video_info info;
};

/* The error for "not a single frame decoded", naming the size limit when that was the cause. */
static slava_status no_frame_error(slava_ctx *ctx, const slava_video *v, const char *what) {
    const char *why = v->first_error[0] ? v->first_error : sv_ffmpeg_last_error();
    const char *ps = strstr(why, "Picture size ");
    unsigned w = 0, h = 0;
    if (strstr(why, "max pixel count") && ps && sscanf(ps, "Picture size %ux%u", &w, &h) == 2)
        return sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: %s size %ux%u is above the limit of %d pixels", v->path, what,
                      w, h, SLAVA_MAX_IMAGE_PIXELS);
    return sv_err(ctx, SLAVA_E_FORMAT, "%s: no %s could be decoded%s%s", v->path, what, why[0] ? ": " : "", why);
}

/* Open `path`, or (mem != NULL) mem[mem_len] in memory with `path` as its name in messages. */
static slava_status open_input(slava_ctx *ctx, const char *path, const void *mem, size_t mem_len, int still,
                               slava_video **out) {
    char det[300];
    *out = NULL;
    sv_ffmpeg_init();
    sv_ffmpeg_clear_error();
    if (!mem) {
        struct stat sb;
        if (stat(path, &sb) != 0) return sv_err(ctx, SLAVA_E_IO, "%s: cannot open: %s", path, strerror(errno));
        if (S_ISDIR(sb.st_mode)) return sv_err(ctx, SLAVA_E_IO, "%s: is a directory", path);
        if (S_ISREG(sb.st_mode) && sb.st_size == 0) return sv_err(ctx, SLAVA_E_FORMAT, "%s: empty file (0 bytes)", path);
    } else if (mem_len == 0) {
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: empty input (0 bytes)", path);
    }

    slava_video *v = calloc(1, sizeof *v);
    if (!v) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    v->path = sv_strdup(path);
    v->t0 = AV_NOPTS_VALUE;
    v->stream = -1;
    slava_status st = SLAVA_OK;
    AVDictionary **sopts = NULL;
    if (!v->path) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto fail; }
    int ret = sv_media_open_input(&v->fmt, &v->mem_pb, path, mem, mem_len);
    if (ret == AVERROR(ENOMEM)) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory opening the file", path); goto fail; }
    if (ret < 0) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: not an image or video FFmpeg can read: %s%s", path,
                    av_err2str(ret), ff_detail(det, sizeof det));
        goto fail;
    }
    /* Image demuxers (image2, png_pipe, jpeg_pipe, ...): decode on this thread. */
    const char *dn = v->fmt->iformat->name;
    size_t dl = strlen(dn);
    if (!strcmp(dn, "image2") || (dl > 5 && !strcmp(dn + dl - 5, "_pipe"))) still = 1;
    /* Decoders opened while probing get the pixel limit too, so probing allocates nothing huge. */
    sopts = calloc(v->fmt->nb_streams ? v->fmt->nb_streams : 1, sizeof *sopts);
    if (!sopts) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto fail; }
    for (unsigned i = 0; i < v->fmt->nb_streams; i++) {
        av_dict_set_int(&sopts[i], "max_pixels", SLAVA_MAX_IMAGE_PIXELS, 0);
        av_dict_set_int(&sopts[i], "threads", 1, 0);
    }
    unsigned nst = v->fmt->nb_streams;
    ret = avformat_find_stream_info(v->fmt, sopts);
    for (unsigned i = 0; i < nst; i++) av_dict_free(&sopts[i]);
    free(sopts);
    if (ret == AVERROR(ENOMEM)) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory reading the stream information", path); goto fail; }
    if (ret < 0) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: cannot read stream information: %s%s", path, av_err2str(ret),
                    ff_detail(det, sizeof det));
        goto fail;
    }
    /* The video stream: the best one that is not an attached picture (cover art of audio files). */
    int best = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (best >= 0 && !(v->fmt->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC)) v->stream = best;
    for (unsigned i = 0; v->stream < 0 && i < v->fmt->nb_streams; i++) {
        AVStream *s = v->fmt->streams[i];
        if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC))
            v->stream = (int)i;
    }
    if (v->stream < 0 && still && best >= 0) v->stream = best;   /* an image: cover art is fine */
    if (v->stream < 0) {
        int audio = av_find_best_stream(v->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: no video stream%s", path, audio ? " (audio only)" : "");
        goto fail;
    }
    AVStream *vs = v->fmt->streams[v->stream];
    AVCodecParameters *par = vs->codecpar;
    if (par->width > SLAVA_MAX_IMAGE_SIDE || par->height > SLAVA_MAX_IMAGE_SIDE ||
        (int64_t)par->width * par->height > SLAVA_MAX_IMAGE_PIXELS) {
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: frame size %dx%d is above the limit (%d pixels, %d per side)",
                    path, par->width, par->height, SLAVA_MAX_IMAGE_PIXELS, SLAVA_MAX_IMAGE_SIDE);
        goto fail;
    }
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: no decoder for video codec '%s'", path,
                    avcodec_get_name(par->codec_id));
        goto fail;
    }
    /* One thread for stills keeps FFmpeg's error lines on this thread (they go into messages).
     * When the decoder's threads cannot be started (no memory for their stacks, or a thread
     * limit), it is opened again single-threaded. */
    for (int threads = still ? 1 : slava_get_threads();;) {
        v->dec = avcodec_alloc_context3(codec);
        if (!v->dec) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory opening the %s decoder", path, codec->name); goto fail; }
        if ((ret = avcodec_parameters_to_context(v->dec, par)) < 0) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: bad codec parameters: %s", path, av_err2str(ret));
            goto fail;
        }
        v->dec->pkt_timebase = vs->time_base;
        v->dec->max_pixels = SLAVA_MAX_IMAGE_PIXELS;
        v->dec->thread_count = threads;
        v->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
        if ((ret = avcodec_open2(v->dec, codec, NULL)) >= 0) break;
        if (threads > 1 && (ret == AVERROR(EAGAIN) || ret == AVERROR(ENOMEM))) {
            avcodec_free_context(&v->dec);
            threads = 1;
            continue;
        }
        if (ret == AVERROR(ENOMEM) || ret == AVERROR(EAGAIN)) {
            st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory opening the %s decoder", path, codec->name);
            goto fail;
        }
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: cannot open the %s decoder: %s%s", path, codec->name,
                    av_err2str(ret), ff_detail(det, sizeof det));
        goto fail;
    }
    v->pkt = av_packet_alloc();
    v->cur = av_frame_alloc();
    v->nxt = av_frame_alloc();
    if (!v->pkt || !v->cur || !v->nxt) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto fail; }
    v->tb = vs->time_base;
    if (vs->start_time != AV_NOPTS_VALUE) v->t0 = vs->start_time;
    AVRational fr = vs->avg_frame_rate.num > 0 ? vs->avg_frame_rate : vs->r_frame_rate;
    v->fallback_dur = fr.num > 0 && fr.den > 0 ? av_q2d(av_inv_q(fr)) : 0.04;

    double dur = -1;
    v->stream_dur = -1;
    if (vs->duration != AV_NOPTS_VALUE && vs->duration > 0) dur = v->stream_dur = vs->duration * av_q2d(vs->time_base);
    else if (v->fmt->duration != AV_NOPTS_VALUE && v->fmt->duration > 0) dur = v->fmt->duration / (double)AV_TIME_BASE;
    v->info.duration = dur;
    v->info.width = par->width;
    v->info.height = par->height;
    v->info.frames_expected = -1;
    snprintf(v->info.codec, sizeof v->info.codec, "%s", codec->name);
    *out = v;
    return SLAVA_OK;
fail:
    slava_video_close(v);
    return st;
}

/* Decode the next frame into f with its time and duration in seconds. 1: got one, 0: end. */
static int decode_next(slava_ctx *ctx, slava_video *v, AVFrame *f, double *t, double *d, slava_status *st) {
    char det[300];
    for (;;) {
        if (v->dec_eof) return 0;
        int ret = avcodec_receive_frame(v->dec, f);
        if (ret == 0) {
            if (f->width > SLAVA_MAX_IMAGE_SIDE || f->height > SLAVA_MAX_IMAGE_SIDE ||
                (int64_t)f->width * f->height > SLAVA_MAX_IMAGE_PIXELS) {
                *st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: frame size %dx%d is above the limit (%d pixels, %d per side)",
                             v->path, f->width, f->height, SLAVA_MAX_IMAGE_PIXELS, SLAVA_MAX_IMAGE_SIDE);
                return -1;
            }
            int64_t ts = f->best_effort_timestamp;
            double time;
            if (ts == AV_NOPTS_VALUE) {
                time = v->info.frames_decoded ? v->last_t + v->fallback_dur : 0.0;
            } else {
                if (v->t0 == AV_NOPTS_VALUE) v->t0 = ts;
                time = (ts - v->t0) * av_q2d(v->tb);
            }
            double dd = f->pkt_duration > 0 ? f->pkt_duration * av_q2d(v->tb) : v->fallback_dur;
            v->last_t = time;
            v->info.frames_decoded++;
            *t = time;
            *d = dd;
            return 1;
        }
        if (ret == AVERROR_EOF) { v->dec_eof = 1; return 0; }
        if (ret != AVERROR(EAGAIN)) {
            /* A corrupt frame: remember the first complaint, keep going (like ffmpeg does). */
            if (ret == AVERROR(ENOMEM)) { *st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory while decoding", v->path); return -1; }
            if (!v->first_error[0]) snprintf(v->first_error, sizeof v->first_error, "%s%s", av_err2str(ret), ff_detail(det, sizeof det));
            v->send_errors++;
            continue;
        }
        /* The decoder wants input. */
        if (v->flushed) { v->dec_eof = 1; return 0; }
        if (v->demux_eof) {
            avcodec_send_packet(v->dec, NULL);
            v->flushed = 1;
            continue;
        }
        ret = av_read_frame(v->fmt, v->pkt);
        if (ret == AVERROR(ENOMEM)) { *st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory while reading", v->path); return -1; }
        if (ret < 0 && ret != AVERROR_EOF) {
            /* e.g. a truncated file: the container promises data that is not there */
            *st = sv_err(ctx, SLAVA_E_FORMAT, "%s: read error after %.2f s of video (truncated or damaged file?): %s%s",
                         v->path, v->info.frames_decoded ? v->last_t : 0.0, av_err2str(ret), ff_detail(det, sizeof det));
            return -1;
        }
        if (ret < 0) {
            v->demux_eof = 1;
            continue;
        }
        if (v->pkt->stream_index == v->stream) {
            ret = avcodec_send_packet(v->dec, v->pkt);
            if (ret < 0 && ret != AVERROR(EAGAIN)) {
                if (!v->first_error[0])
                    snprintf(v->first_error, sizeof v->first_error, "%s%s", av_err2str(ret), ff_detail(det, sizeof det));
                v->send_errors++;
            }
        }
        av_packet_unref(v->pkt);
    }
}

/* Convert v->cur to RGB24 into v->out. */
static slava_status convert_cur(slava_ctx *ctx, slava_video *v) {
    AVFrame *f = v->cur;
    size_t need = (size_t)f->width * f->height * 3;
    if (need > v->out_cap) {
        uint8_t *p = realloc(v->out.rgb, need);
        if (!p) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory for a %dx%d frame", v->path, f->width, f->height);
        v->out.rgb = p;
        v->out_cap = need;
    }
    v->sws = sws_getCachedContext(v->sws, f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
                                  AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL,
                                  NULL, NULL);
    if (!v->sws)
        return sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: cannot convert pixel format '%s' to RGB", v->path,
                      av_get_pix_fmt_name((enum AVPixelFormat)f->format) ? av_get_pix_fmt_name((enum AVPixelFormat)f->format) : "?");
    /* YUV → RGB with the matrix and range the stream declares (BT.601 when unspecified). */
    int cs = f->colorspace;
    const int *coef = sws_getCoefficients(cs == AVCOL_SPC_UNSPECIFIED || cs == AVCOL_SPC_RGB ? SWS_CS_DEFAULT : cs);
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
        /* full range when declared, or implied by the (deprecated) yuvj* formats of JPEG decoders */
        int full = f->color_range == AVCOL_RANGE_JPEG || !strncmp(desc->name, "yuvj", 4);
        sws_setColorspaceDetails(v->sws, coef, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    }
    uint8_t *dst[4] = {v->out.rgb, NULL, NULL, NULL};
    int dst_stride[4] = {f->width * 3, 0, 0, 0};
    int h = sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    if (h != f->height)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: pixel conversion to RGB failed", v->path);
    v->out.w = f->width;
    v->out.h = f->height;
    return SLAVA_OK;
}

static slava_status video_open(slava_ctx *ctx, const char *path, const void *mem, size_t mem_len, double fps,
                               slava_video **out) {
    *out = NULL;
    if (!(fps > 0) || !isfinite(fps)) return sv_err(ctx, SLAVA_E_ARG, "%s: fps must be positive, got %g", path, fps);
    slava_video *v;
    SV_TRY(open_input(ctx, path, mem, mem_len, 0, &v));
    v->info.fps = fps;
    if (v->info.duration > 0) {
        int64_t n = (int64_t)ceil(v->info.duration * fps - TIME_EPS);
        v->info.frames_expected = n < 1 ? 1 : n;
    }
    *out = v;
    return SLAVA_OK;
}

slava_status slava_video_open(slava_ctx *ctx, const char *path, double fps, slava_video **out) {
    return sv_nomem_if_low(ctx, video_open(ctx, path, NULL, 0, fps, out), path, "decoding");
}

slava_status sv_video_open_mem(slava_ctx *ctx, const char *name, const void *buf, size_t len, double fps,
                               slava_video **out) {
    return sv_nomem_if_low(ctx, video_open(ctx, name, buf ? buf : "", len, fps, out), name, "decoding");
}

/* Middle of interval k, the interval cut at `end` seconds when the end falls inside it
 * (end <= k/fps, e.g. a wrong declared duration, or end <= 0: not cut). */
static double interval_mid(double fps, int64_t k, double end) {
    double a = k / fps, b = (k + 1) / fps;
    if (end > a && end < b) b = end;
    return 0.5 * (a + b);
}

static slava_status video_next(slava_ctx *ctx, slava_video *v, const slava_image **frame, double *t, int *got) {
    *got = 0;
    if (frame) *frame = NULL;
    if (v->done) return SLAVA_OK;
    double fps = v->info.fps, dur = v->info.duration;
    /* The declared duration only places the middle of a partial last interval; how many frames
     * come out is decided by the frames themselves (a declared duration can be wrong). */
    for (;;) {
        double target = interval_mid(fps, v->k, dur);
        if (!v->have_nxt && !v->dec_eof) {
            slava_status st = SLAVA_OK;
            int r = decode_next(ctx, v, v->nxt, &v->nxt_t, &v->nxt_d, &st);
            if (r < 0) { v->done = 1; return st; }
            v->have_nxt = r;
        }
        if (v->have_nxt && (!v->have_cur || v->nxt_t <= target + TIME_EPS)) {
            AVFrame *tmp = v->cur;   /* nxt becomes the frame on screen */
            v->cur = v->nxt;
            v->nxt = tmp;
            av_frame_unref(v->nxt);
            v->cur_t = v->nxt_t;
            v->cur_d = v->nxt_d;
            v->have_cur = 1;
            v->have_nxt = 0;
            v->cur_converted = 0;
            continue;
        }
        if (!v->have_cur) {
            v->done = 1;
            return no_frame_error(ctx, v, "video frame");
        }
        if (!v->have_nxt) {   /* end of stream: cur is the last frame */
            double end = v->cur_t + v->cur_d;
            /* Frames stop well before the stream's own declared duration: the data is cut off
             * (a truncated file whose index survived); the demuxer only warns about it. */
            if (v->stream_dur > 0 && end < v->stream_dur - fmax(0.5, 2 * v->fallback_dur)) {
                v->done = 1;
                return sv_err(ctx, SLAVA_E_FORMAT, "%s: truncated or damaged: frames end at %.2f s, the stream declares %.2f s",
                              v->path, end, v->stream_dur);
            }
            if (v->k > 0 && v->k / fps >= end - TIME_EPS) { v->done = 1; return SLAVA_OK; }
            if (!(dur > v->k / fps) || end < dur) target = interval_mid(fps, v->k, end);
        }
        if (!v->cur_converted) {
            slava_status st = convert_cur(ctx, v);
            if (st != SLAVA_OK) { v->done = 1; return st; }
            v->cur_converted = 1;
        }
        v->k++;
        v->info.frames_returned++;
        if (frame) *frame = &v->out;
        if (t) *t = target;
        *got = 1;
        return SLAVA_OK;
    }
}

slava_status slava_video_next(slava_ctx *ctx, slava_video *v, const slava_image **frame, double *t, int *got) {
    return sv_nomem_if_low(ctx, video_next(ctx, v, frame, t, got), v->path, "decoding");
}

void slava_video_get_info(const slava_video *v, slava_video_info *info) { *info = v->info; }

void slava_video_close(slava_video *v) {
    if (!v) return;
    sws_freeContext(v->sws);
    av_frame_free(&v->cur);
    av_frame_free(&v->nxt);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    sv_mem_avio_close(&v->mem_pb);
    free(v->out.rgb);
    free(v->path);
    free(v);
}

/* ------------------------------------------------------------------ still images */

void slava_image_free(slava_image *im) {
    if (!im) return;
    free(im->rgb);
    memset(im, 0, sizeof *im);
}

static slava_status image_load(slava_ctx *ctx, const char *path, const void *mem, size_t mem_len, slava_image *out) {
    memset(out, 0, sizeof *out);
    slava_video *v;
    SV_TRY(open_input(ctx, path, mem, mem_len, 1, &v));
    slava_status st = SLAVA_OK;
    int r = decode_next(ctx, v, v->cur, &v->cur_t, &v->cur_d, &st);
    if (r == 0) st = no_frame_error(ctx, v, "image");
    if (r == 1) st = convert_cur(ctx, v);
    if (st == SLAVA_OK) {
        *out = v->out;        /* hand the RGB buffer over */
        v->out.rgb = NULL;
    }
    slava_video_close(v);
    return st;
}

slava_status slava_image_load(slava_ctx *ctx, const char *path, slava_image *out) {
    return sv_nomem_if_low(ctx, image_load(ctx, path, NULL, 0, out), path, "decoding");
}

slava_status sv_image_load_mem(slava_ctx *ctx, const char *name, const void *buf, size_t len, slava_image *out) {
    return sv_nomem_if_low(ctx, image_load(ctx, name, buf ? buf : "", len, out), name, "decoding");
}

/* ------------------------------------------------------------------ one frame at a time t */

slava_status slava_video_frame_at(slava_ctx *ctx, const char *path, double t, slava_image *out) {
    memset(out, 0, sizeof *out);
    if (!isfinite(t)) return sv_err(ctx, SLAVA_E_ARG, "%s: time must be a number, got %g", path, t);
    if (t < 0) t = 0;
    slava_video *v;
    /* One decoding thread: a few frames are decoded, and frame threads would only delay them. */
    SV_TRY(open_input(ctx, path, NULL, 0, 1, &v));
    AVStream *vs = v->fmt->streams[v->stream];
    if (v->t0 == AV_NOPTS_VALUE) v->t0 = 0;
    /* Seek to the key frame at or before t; when the container cannot seek, decode from the start. */
    int64_t ts = v->t0 + (int64_t)(t / av_q2d(vs->time_base));
    if (t > 0 && av_seek_frame(v->fmt, v->stream, ts, AVSEEK_FLAG_BACKWARD) >= 0) avcodec_flush_buffers(v->dec);
    slava_status st = SLAVA_OK;
    int r;
    /* cur: the last frame at or before t so far; a frame later than t ends the search. */
    while ((r = decode_next(ctx, v, v->nxt, &v->nxt_t, &v->nxt_d, &st)) == 1) {
        if (v->have_cur && v->nxt_t > t + TIME_EPS) break;
        AVFrame *tmp = v->cur;
        v->cur = v->nxt;
        v->nxt = tmp;
        av_frame_unref(v->nxt);
        v->cur_t = v->nxt_t;
        v->have_cur = 1;
        if (v->cur_t > t + TIME_EPS) break;   /* the seek landed after t: the first frame there */
    }
    if (r < 0) { slava_video_close(v); return st; }
    if (!v->have_cur) st = no_frame_error(ctx, v, "video frame");
    else st = convert_cur(ctx, v);
    if (st == SLAVA_OK) {
        *out = v->out;
        v->out.rgb = NULL;
    }
    slava_video_close(v);
    return st;
}
