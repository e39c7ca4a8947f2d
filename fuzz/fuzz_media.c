/*
 * fuzz_media.c — libFuzzer target for media decoding through slava's FFmpeg wrapper, from memory
 * (an in-memory AVIOContext: sv_video_open_mem, sv_image_load_mem, sv_audio_open_mem): any bytes
 * must decode as video frames (RGB of the declared size), an image, or 48 kHz mono samples that
 * are all finite — or fail with a one-line error naming the input. Work per input is bounded (at
 * most 24 frames and 12 s of audio are read).
 */
#include "fuzz_util.h"
#include "io/video.h"
#include "io/audio_decode.h"
#include <math.h>

#define NAME "fuzz-input.media"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    slava_set_threads(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    slava_ctx *ctx = slava_ctx_new();
    volatile unsigned sink = 0;
    /* video frames at 2 fps */
    slava_video *v = NULL;
    slava_status st = sv_video_open_mem(ctx, NAME, data, size, 2.0, &v);
    fz_check_error(ctx, st, NAME);
    for (int k = 0; st == SLAVA_OK && k < 24; k++) {
        const slava_image *im = NULL;
        double t = -1;
        int got = 0;
        st = slava_video_next(ctx, v, &im, &t, &got);
        fz_check_error(ctx, st, NAME);
        if (st || !got) break;
        if (!im || im->w < 1 || im->h < 1 || (int64_t)im->w * im->h > SLAVA_MAX_IMAGE_PIXELS || !(t >= 0)) abort();
        sink += im->rgb[0] + im->rgb[(size_t)im->w * im->h * 3 - 1];
    }
    if (v) {
        slava_video_info info;
        slava_video_get_info(v, &info);
        if (info.frames_returned > info.frames_decoded && info.frames_decoded == 0) abort();
        slava_video_close(v);
    }
    /* a still image */
    slava_image img;
    st = sv_image_load_mem(ctx, NAME, data, size, &img);
    fz_check_error(ctx, st, NAME);
    if (st == SLAVA_OK) {
        if (img.w < 1 || img.h < 1) abort();
        sink += img.rgb[(size_t)img.w * img.h * 3 - 1];
        slava_image_free(&img);
    }
    /* audio */
    sv_audio_reader *r = NULL;
    st = sv_audio_open_mem(ctx, NAME, data, size, SLAVA_AUDIO_RATE, &r);
    fz_check_error(ctx, st, NAME);
    if (st == SLAVA_OK) {
        static float buf[SLAVA_AUDIO_RATE];
        for (int k = 0; k < 12; k++) {
            size_t got = 0;
            st = sv_audio_read(ctx, r, buf, SLAVA_AUDIO_RATE, &got);
            fz_check_error(ctx, st, NAME);
            if (st) break;
            if (got > SLAVA_AUDIO_RATE) abort();
            for (size_t i = 0; i < got; i++) if (!isfinite(buf[i])) abort();
            if (got < SLAVA_AUDIO_RATE) break;
        }
        sv_audio_close(r);
    }
    (void)sink;
    slava_ctx_free(ctx);
    return 0;
}
