/*
 * test_demo_prepare.c — slava_demo_prepare (the media demo's inputs): a small synthetic collection
 * and the tiny CLIP / CLAP checkpoints land in the work folder and load; a second call reuses
 * them untouched; a tokenizer folder without vocab.json is an error naming the file.
 */
#include "test.h"
#include <sys/stat.h>

static int exists(const char *dir, const char *name) {
    char p[1200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0;
}

static long long mtime_ns(const char *dir, const char *name) {
    char p[1200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0 ? (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec : -1;
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    const char *work = tmp_path("demo_prepare");
    char cmd[1200], dir[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s_novocab'", work, work);
    CHECK(system(cmd) == 0);

    slava_synth_opts so;
    slava_synth_defaults(&so);
    so.clips[0] = 2; so.clips[1] = 1; so.clips[2] = 1;
    so.min_seconds = 1; so.max_seconds = 2;
    so.width = 64; so.height = 48;
    double secs[2] = {-1, -1};
    CHECK_OK(ctx, slava_demo_prepare(ctx, work, &so, fixture("clip-model"), secs));
    CHECK(secs[0] >= 0 && secs[1] >= 0);
    CHECK(exists(work, ".synth-complete") && exists(work, "data/train_captions.json") &&
          exists(work, "data/synth_manifest.json"));
    CHECK(exists(work, "clip/model.safetensors") && exists(work, "clip/config.json") &&
          exists(work, "clip/vocab.json") && exists(work, "clip/merges.txt"));
    CHECK(exists(work, "clap/model.safetensors") && exists(work, "clap/preprocessor_config.json"));

    /* the checkpoints are the demo's tiny ones and load with the towers */
    snprintf(dir, sizeof dir, "%s/clip", work);
    slava_clip_text *t = NULL;
    CHECK_OK(ctx, slava_clip_text_load(ctx, dir, &t));
    if (t) {
        int D = 0, P = 0, L = 0;
        slava_clip_text_dims(t, &D, &P, &L);
        CHECKF(D == 128 && P == 64 && L == 77, "tiny CLIP text tower: D %d P %d L %d", D, P, L);
        slava_clip_text_free(t);
    }
    snprintf(dir, sizeof dir, "%s/clap", work);
    slava_clap_audio *a = NULL;
    CHECK_OK(ctx, slava_clap_audio_load(ctx, dir, &a));
    if (a) {
        int pd = 0, pp = 0;
        slava_clap_audio_dims(a, &pd, &pp);
        CHECKF(pd == 128 && pp == 64, "tiny CLAP: pooled %d projected %d", pd, pp);
        slava_clap_audio_free(a);
    }

    /* a second call reuses everything */
    long long m1 = mtime_ns(work, "clip/model.safetensors"), m2 = mtime_ns(work, "data/synth_manifest.json"),
              m3 = mtime_ns(work, "clap/model.safetensors");
    CHECK_OK(ctx, slava_demo_prepare(ctx, work, &so, fixture("clip-model"), NULL));
    CHECK(m1 > 0 && m1 == mtime_ns(work, "clip/model.safetensors"));
    CHECK(m2 > 0 && m2 == mtime_ns(work, "data/synth_manifest.json"));
    CHECK(m3 > 0 && m3 == mtime_ns(work, "clap/model.safetensors"));

    /* no tokenizer files: an error naming vocab.json, no CLIP checkpoint written */
    char bad[1200];
    snprintf(bad, sizeof bad, "%s_novocab", work);
    slava_status st = slava_demo_prepare(ctx, bad, &so, tmp_path("no_such_vocab_dir"), NULL);
    CHECKF(st == SLAVA_E_IO && strstr(slava_ctx_error(ctx), "no_such_vocab_dir/vocab.json"), "status %s: %s",
           slava_status_name(st), slava_ctx_error(ctx));
    CHECK(!exists(bad, "clip/model.safetensors"));
    CHECK(slava_demo_prepare(ctx, "", &so, fixture("clip-model"), NULL) == SLAVA_E_ARG);

    slava_ctx_free(ctx);
    return test_done("demo_prepare");
}
