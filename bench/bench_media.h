/*
 * bench_media.h — builds AVCaps-like media for the pipeline benchmarks (issue 6): clips of
 * AVCaps' average length (50 s → 50 frames at 1 fps, 5 audio chunks of 10 s) at a YouTube-like
 * 640×360, 25 fps, AAC audio on every clip, and 4 + 4 + 4 human captions + 3 GPT ones ≈ 15
 * captions per clip (a few clips get one repeated caption, as in AVCaps), written as a
 * collection (train split) in AVCaps' layout with `slava synth`'s generator.
 */
#ifndef SLAVA_BENCH_MEDIA_H
#define SLAVA_BENCH_MEDIA_H

#include "slava.h"

#define BENCH_AVCAPS_SECONDS 50.0
#define BENCH_AVCAPS_WIDTH 640
#define BENCH_AVCAPS_HEIGHT 360
#define BENCH_AVCAPS_FPS 25

/* Write n_clips AVCaps-like clips under dir (which must be empty or absent):
 * dir/train_captions.json + dir/train_videos/ID.mp4. Returns the status; message in ctx. */
static inline slava_status bench_make_avcaps_like(slava_ctx *ctx, const char *dir, int n_clips, uint64_t seed) {
    slava_synth_opts o;
    slava_synth_defaults(&o);
    o.out_dir = dir;
    o.clips[SLAVA_SPLIT_TRAIN] = n_clips;
    o.clips[SLAVA_SPLIT_VAL] = o.clips[SLAVA_SPLIT_TEST] = 0;
    o.min_seconds = o.max_seconds = BENCH_AVCAPS_SECONDS;
    o.width = BENCH_AVCAPS_WIDTH;
    o.height = BENCH_AVCAPS_HEIGHT;
    o.fps = BENCH_AVCAPS_FPS;
    o.no_audio_share = 0;
    o.captions_per_kind = 4;
    o.seed = seed;
    return slava_synth_write(ctx, &o, NULL);
}

#endif
