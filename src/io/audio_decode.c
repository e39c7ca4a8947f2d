/*
 * audio_decode.c — streaming audio decoding with libavformat/libavcodec and conversion to mono
 * float32 at a fixed rate with libswresample (equal-weight average of all channels, then
 * resampling). See audio_decode.h for the contract.
 *
 * Data flow: av_read_frame → avcodec_send_packet/receive_frame → swr_convert → FIFO → caller.
 * The FIFO only ever holds the output of one decoded frame, so memory does not grow with the
 * length of the file.
 */
#include "io/audio_decode.h"
#include "io/video.h"   /* sv_ffmpeg_init: the one FFmpeg log hook */
#include "io/media_mem.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

struct sv_audio_reader {
    char            *path;
    AVIOContext     *mem_pb;        /* in-memory source (sv_audio_open_mem), else NULL */
    int              rate;          /* output rate */
    AVFormatContext *fmt;
    AVCodecContext  *dec;
    int              stream;        /* index of the audio stream */
    AVPacket        *pkt;
    AVFrame         *frame;
    SwrContext      *swr;
    int              swr_fmt, swr_rate, swr_channels; /* input format swr was set up for */
    float           *fifo;          /* decoded, converted samples not yet returned */
    size_t           fifo_cap, fifo_start, fifo_end;
    int              sent_flush;    /* NULL packet sent to the decoder */
    int              eof;           /* decoder and resampler drained */
    int64_t          returned;      /* samples handed out */
};

static char *av_errstr(int e, char *buf, size_t cap) {
    av_strerror(e, buf, cap);
    return buf;
}

int sv_audio_src_rate(const sv_audio_reader *r) { return r->dec->sample_rate; }
int sv_audio_src_channels(const sv_audio_reader *r) { return r->dec->ch_layout.nb_channels; }
int64_t sv_audio_samples_read(const sv_audio_reader *r) { return r->returned; }
const char *sv_audio_path(const sv_audio_reader *r) { return r->path; }

void sv_audio_close(sv_audio_reader *r) {
    if (!r) return;
    swr_free(&r->swr);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    sv_mem_avio_close(&r->mem_pb);
    free(r->fifo);
    free(r->path);
    free(r);
}

/* Open `path`, or (mem != NULL) mem[mem_len] in memory with `path` as its name in messages. */
static slava_status audio_open(slava_ctx *ctx, const char *path, const void *mem, size_t mem_len, int rate,
                               sv_audio_reader **out) {
    *out = NULL;
    if (rate <= 0) return sv_err(ctx, SLAVA_E_ARG, "%s: bad output sample rate %d", path, rate);
    /* FFmpeg would otherwise print its own diagnostics; the library reports through ctx only. */
    sv_ffmpeg_init();
    if (!mem && access(path, R_OK) != 0) return sv_err(ctx, SLAVA_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (mem && mem_len == 0) return sv_err(ctx, SLAVA_E_FORMAT, "%s: empty input (0 bytes)", path);

    sv_audio_reader *r = calloc(1, sizeof *r);
    if (!r) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    r->path = sv_strdup(path);
    r->rate = rate;
    r->stream = -1;
    char eb[128];
    slava_status st = SLAVA_OK;
    if (!r->path) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto fail; }
    int e = sv_media_open_input(&r->fmt, &r->mem_pb, path, mem, mem_len);
    if (e == AVERROR(ENOMEM)) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory opening the file", path); goto fail; }
    if (e < 0) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: not a media file FFmpeg can read (%s)", path, av_errstr(e, eb, sizeof eb));
        goto fail;
    }
    e = avformat_find_stream_info(r->fmt, NULL);
    if (e == AVERROR(ENOMEM)) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory reading the stream information", path); goto fail; }
    if (e < 0) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: cannot read stream information (%s)", path, av_errstr(e, eb, sizeof eb));
        goto fail;
    }
    const AVCodec *codec = NULL;
    e = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (e == AVERROR_STREAM_NOT_FOUND) { st = sv_err(ctx, SLAVA_E_NOAUDIO, "%s: no audio stream", path); goto fail; }
    if (e == AVERROR_DECODER_NOT_FOUND || !codec) {
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: no decoder for the audio codec", path);
        goto fail;
    }
    if (e < 0) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: cannot select the audio stream (%s)", path, av_errstr(e, eb, sizeof eb)); goto fail; }
    r->stream = e;
    r->dec = avcodec_alloc_context3(codec);
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->dec || !r->pkt || !r->frame) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto fail; }
    e = avcodec_parameters_to_context(r->dec, r->fmt->streams[r->stream]->codecpar);
    if (e >= 0) e = avcodec_open2(r->dec, codec, NULL);
    if (e == AVERROR(ENOMEM)) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory opening the %s audio decoder", path, codec->name); goto fail; }
    if (e >= 0 && r->dec->sample_rate > SV_AUDIO_MAX_RATE) {
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: audio sample rate %d Hz is above the %d Hz slava reads", path,
                    r->dec->sample_rate, SV_AUDIO_MAX_RATE);
        goto fail;
    }
    if (e < 0) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: cannot open the %s audio decoder (%s)", path, codec->name,
                    av_errstr(e, eb, sizeof eb));
        goto fail;
    }
    *out = r;
    return SLAVA_OK;
fail:
    sv_audio_close(r);
    return st;
}

slava_status sv_audio_open(slava_ctx *ctx, const char *path, int rate, sv_audio_reader **out) {
    return sv_nomem_if_low(ctx, audio_open(ctx, path, NULL, 0, rate, out), path, "decoding");
}

slava_status sv_audio_open_mem(slava_ctx *ctx, const char *name, const void *buf, size_t len, int rate,
                               sv_audio_reader **out) {
    return sv_nomem_if_low(ctx, audio_open(ctx, name, buf ? buf : "", len, rate, out), name, "decoding");
}

/* (Re)configure the resampler for the frame's format: every input channel weighted 1/channels
 * into one output channel, then resampled to r->rate. */
static slava_status setup_swr(slava_ctx *ctx, sv_audio_reader *r, const AVFrame *f) {
    char eb[128];
    int nch = f->ch_layout.nb_channels;
    if (nch <= 0) return sv_err(ctx, SLAVA_E_FORMAT, "%s: audio frame without channels", r->path);
    if (f->sample_rate <= 0) return sv_err(ctx, SLAVA_E_FORMAT, "%s: audio sample rate %d", r->path, f->sample_rate);
    if (f->sample_rate > SV_AUDIO_MAX_RATE)   /* resampling from it would take gigabytes (fuzz_media) */
        return sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: audio sample rate %d Hz is above the %d Hz slava reads", r->path,
                      f->sample_rate, SV_AUDIO_MAX_RATE);
    if (r->swr) {
        if (r->swr_fmt == f->format && r->swr_rate == f->sample_rate && r->swr_channels == nch) return SLAVA_OK;
        return sv_err(ctx, SLAVA_E_UNSUPPORTED,
                      "%s: audio format changes mid-stream (%d Hz %d ch → %d Hz %d ch)", r->path, r->swr_rate,
                      r->swr_channels, f->sample_rate, nch);
    }
    AVChannelLayout in_layout = {0}, out_layout = {0};   /* copy() uninits its destination first */
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) av_channel_layout_default(&in_layout, nch);
    else if (av_channel_layout_copy(&in_layout, &f->ch_layout) < 0)
        return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", r->path);
    av_channel_layout_default(&out_layout, 1);
    int e = swr_alloc_set_opts2(&r->swr, &out_layout, AV_SAMPLE_FMT_FLT, r->rate, &in_layout, f->format,
                                f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in_layout);
    av_channel_layout_uninit(&out_layout);
    if (e < 0) return sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: cannot convert this audio (%s)", r->path, av_errstr(e, eb, sizeof eb));
    double *m = malloc(sizeof(double) * (size_t)nch);
    if (!m) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", r->path);
    for (int c = 0; c < nch; c++) m[c] = 1.0 / nch;
    e = swr_set_matrix(r->swr, m, nch);
    free(m);
    if (e >= 0) e = swr_init(r->swr);
    if (e < 0) return sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: cannot set up resampling (%s)", r->path, av_errstr(e, eb, sizeof eb));
    r->swr_fmt = f->format;
    r->swr_rate = f->sample_rate;
    r->swr_channels = nch;
    return SLAVA_OK;
}

/* Make room for `n` more samples at the FIFO's end. */
static slava_status fifo_reserve(slava_ctx *ctx, sv_audio_reader *r, size_t n) {
    if (r->fifo_start > 0) {
        memmove(r->fifo, r->fifo + r->fifo_start, (r->fifo_end - r->fifo_start) * sizeof(float));
        r->fifo_end -= r->fifo_start;
        r->fifo_start = 0;
    }
    if (r->fifo_end + n <= r->fifo_cap) return SLAVA_OK;
    size_t cap = r->fifo_end + n + 4096;
    float *p = realloc(r->fifo, cap * sizeof(float));
    if (!p) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", r->path);
    r->fifo = p;
    r->fifo_cap = cap;
    return SLAVA_OK;
}

/* Convert `f` (NULL: drain the resampler) into the FIFO and check the samples are finite. */
static slava_status convert(slava_ctx *ctx, sv_audio_reader *r, const AVFrame *f) {
    char eb[128];
    if (!r->swr) return SLAVA_OK;   /* no frame ever decoded: nothing to drain */
    int in_n = f ? f->nb_samples : 0;
    int cap = swr_get_out_samples(r->swr, in_n);
    if (cap < 0) return sv_err(ctx, SLAVA_E_INTERNAL, "%s: resampler error (%s)", r->path, av_errstr(cap, eb, sizeof eb));
    if (cap == 0) return SLAVA_OK;
    SV_TRY(fifo_reserve(ctx, r, (size_t)cap));
    uint8_t *outp = (uint8_t *)(r->fifo + r->fifo_end);
    int got = swr_convert(r->swr, &outp, cap, f ? (const uint8_t **)f->extended_data : NULL, in_n);
    if (got < 0) return sv_err(ctx, SLAVA_E_FORMAT, "%s: resampling failed (%s)", r->path, av_errstr(got, eb, sizeof eb));
    float *s = r->fifo + r->fifo_end;
    for (int i = 0; i < got; i++) {
        if (!isfinite(s[i])) {
            double t = (double)(r->returned + (int64_t)(r->fifo_end - r->fifo_start) + i) / r->rate;
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: audio sample at %.3f s is %s (not a finite number)", r->path, t,
                          isnan(s[i]) ? "NaN" : "infinite");
        }
    }
    r->fifo_end += (size_t)got;
    return SLAVA_OK;
}

/* Decode until the FIFO gained samples or the stream ended. */
static slava_status decode_more(slava_ctx *ctx, sv_audio_reader *r) {
    char eb[128];
    for (;;) {
        int e = avcodec_receive_frame(r->dec, r->frame);
        if (e == 0) {
            slava_status st = setup_swr(ctx, r, r->frame);
            if (st == SLAVA_OK) st = convert(ctx, r, r->frame);
            av_frame_unref(r->frame);
            if (st != SLAVA_OK) return st;
            if (r->fifo_end > r->fifo_start) return SLAVA_OK;
            continue;
        }
        if (e == AVERROR_EOF) {
            /* drain the resampler's delay line */
            for (;;) {
                size_t before = r->fifo_end;
                SV_TRY(convert(ctx, r, NULL));
                if (r->fifo_end == before) break;
            }
            r->eof = 1;
            return SLAVA_OK;
        }
        if (e != AVERROR(EAGAIN))
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: audio decoding failed (%s)", r->path, av_errstr(e, eb, sizeof eb));
        /* the decoder wants input */
        if (r->sent_flush) return sv_err(ctx, SLAVA_E_INTERNAL, "%s: decoder stalled", r->path);
        e = av_read_frame(r->fmt, r->pkt);
        if (e == AVERROR_EOF) {
            avcodec_send_packet(r->dec, NULL);
            r->sent_flush = 1;
            continue;
        }
        if (e < 0)
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: read error after %.3f s of audio (%s)", r->path,
                          (double)r->returned / r->rate, av_errstr(e, eb, sizeof eb));
        if (r->pkt->stream_index != r->stream) { av_packet_unref(r->pkt); continue; }
        e = avcodec_send_packet(r->dec, r->pkt);
        av_packet_unref(r->pkt);
        if (e < 0 && e != AVERROR(EAGAIN))
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: corrupt audio data after %.3f s (%s)", r->path,
                          (double)r->returned / r->rate, av_errstr(e, eb, sizeof eb));
    }
}

static slava_status audio_read(slava_ctx *ctx, sv_audio_reader *r, float *buf, size_t n, size_t *got) {
    size_t have = 0;
    while (have < n) {
        size_t avail = r->fifo_end - r->fifo_start;
        if (avail) {
            size_t k = avail < n - have ? avail : n - have;
            memcpy(buf + have, r->fifo + r->fifo_start, k * sizeof(float));
            r->fifo_start += k;
            have += k;
            r->returned += (int64_t)k;
            continue;
        }
        if (r->eof) break;
        slava_status st = decode_more(ctx, r);
        if (st != SLAVA_OK) { *got = have; return st; }
    }
    *got = have;
    return SLAVA_OK;
}

slava_status sv_audio_read(slava_ctx *ctx, sv_audio_reader *r, float *buf, size_t n, size_t *got) {
    return sv_nomem_if_low(ctx, audio_read(ctx, r, buf, n, got), r->path, "decoding");
}
