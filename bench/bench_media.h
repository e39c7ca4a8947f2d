/*
 * bench_media.h — builds AVCaps-like media for the pipeline benchmarks (issue 6): clips of
 * AVCaps' average length (50 s → 50 frames at 1 fps, 5 audio chunks of 10 s) at a YouTube-like
 * 640×360, 25 fps, AAC audio on every clip, and 4 + 4 + 4 human captions + 3 GPT ones ≈ 15
 * captions per clip (a few clips get one repeated caption, as in AVCaps), written as a
 * collection (train split) in AVCaps' layout with `slava synth`'s generator; and the full-size
 * random-weight checkpoints the encode benchmarks run.
 */
#ifndef SLAVA_BENCH_MEDIA_H
#define SLAVA_BENCH_MEDIA_H

#include "slava.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Full-size random-weight checkpoints in dir/clip and dir/clap (init-random with
 * bench/configs/clip-vit-base-patch32.json + the fixture tokenizer files, and
 * clap-htsat-unfused.json), made once and kept. clip / clap receive the folders (cap bytes). */
static inline slava_status bench_full_checkpoints(slava_ctx *ctx, const char *dir, char *clip, char *clap, size_t cap) {
    /* the source tree is found from this file's path: <root>/bench/bench_media.h */
    char root[1024], cmd[8192], probe[1200];
    snprintf(root, sizeof root, "%s", __FILE__);
    for (int up = 0; up < 2; up++) {
        char *sl = strrchr(root, '/');
        if (sl) *sl = 0; else snprintf(root, sizeof root, ".");
    }
    snprintf(clip, cap, "%s/clip", dir);
    snprintf(clap, cap, "%s/clap", dir);
    mkdir(dir, 0755);
    struct stat sb;
    snprintf(probe, sizeof probe, "%s/model.safetensors", clip);
    if (stat(probe, &sb) != 0) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/clip-config' && cp '%s/bench/configs/clip-vit-base-patch32.json' '%s/clip-config/config.json' && "
                 "cp '%s/tests/fixtures/clip-model/vocab.json' '%s/tests/fixtures/clip-model/merges.txt' '%s/clip-config/'",
                 dir, root, dir, root, root, dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench: cannot copy the CLIP config / tokenizer files from %s\n", root);
            return SLAVA_E_IO;
        }
        snprintf(cmd, sizeof cmd, "%s/clip-config/config.json", dir);
        slava_status st = slava_clip_init_random(ctx, cmd, 0, clip);
        if (st) return st;
    }
    snprintf(probe, sizeof probe, "%s/model.safetensors", clap);
    if (stat(probe, &sb) != 0) {
        snprintf(cmd, sizeof cmd, "%s/bench/configs/clap-htsat-unfused.json", root);
        slava_status st = slava_clap_init_random(ctx, cmd, 0, clap);
        if (st) return st;
    }
    return SLAVA_OK;
}

#endif
