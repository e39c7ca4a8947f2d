/*
 * bench_pipeline.c — whole-pipeline throughput of `slava encode` (issue 6) with full-size
 * random-weight encoders (CLIP ViT-B/32 + text tower, CLAP HTSAT-unfused; init-random with
 * bench/configs/ clip-vit-base-patch32.json and clap-htsat-unfused.json) on AVCaps-like clips (bench_media.h: 50 s, 640×360 at 25 fps, AAC;
 * 1 fps → 50 frames, 5 audio chunks, 15 captions per clip): clips per minute, the share of time
 * in decode / vision / audio / text / storage, and the projected time for all of AVCaps
 * (2,061 clips, 28.8 h). Run it with the user's default kernels:
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench_pipeline [--clips N] [--threads N] [--dir DIR]
 * DIR (default /tmp/slava_bench_pipeline) keeps the checkpoints and clips between runs; the store
 * is made afresh each run.
 */
#include <unistd.h>   /* before bench_util.h, which uses sysconf() */
#include "bench_util.h"
#include "bench_media.h"
#include <sys/stat.h>

#define AVCAPS_CLIPS 2061
#define AVCAPS_HOURS 28.8
#define GFLOP_IMAGE 8.8     /* CLIP ViT-B/32, one 224×224 image (DESIGN.md §6) */
#define GFLOP_CHUNK 11.8    /* HTSAT, one 10 s chunk */

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void die(slava_ctx *ctx, const char *what) {
    fprintf(stderr, "bench_pipeline: %s: %s\n", what, slava_ctx_error(ctx));
    exit(1);
}

int main(int argc, char **argv) {
    /* as `slava` does (cli.h): passive OpenMP waiting unless set by the user */
    if (!getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "passive", 1) == 0) execv("/proc/self/exe", argv);
    int n_clips = 6, threads = 2;
    const char *dir = "/tmp/slava_bench_pipeline";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clips")) n_clips = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    if (n_clips < 1) n_clips = 1;
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();

    char cmd[8192], clip[1100], clap[1100], clips[1100], store[1100], probe[1200];
    snprintf(clips, sizeof clips, "%s/clips_%d", dir, n_clips);
    snprintf(store, sizeof store, "%s/store.sqlite", dir);
    double t0 = sv_now();
    if (bench_full_checkpoints(ctx, dir, clip, clap, sizeof clip)) die(ctx, "init-random");
    double t_init = sv_now() - t0;
    t0 = sv_now();
    snprintf(probe, sizeof probe, "%s/train_captions.json", clips);
    if (!exists(probe) && bench_make_avcaps_like(ctx, clips, n_clips, 0)) die(ctx, "synth");
    double t_synth = sv_now() - t0;
    snprintf(cmd, sizeof cmd, "rm -f '%s' '%s-wal' '%s-shm'", store, store, store);
    if (system(cmd) != 0) return 1;

    printf("## bench_pipeline: slava encode, full-size random-weight CLIP ViT-B/32 + CLAP HTSAT-unfused, fp32\n\n");
    bench_print_machine(stdout);
    FILE *la = fopen("/proc/loadavg", "r");
    char load[128] = "?";
    if (la) {
        if (fgets(load, sizeof load, la)) load[strcspn(load, "\n")] = 0;
        fclose(la);
    }
    printf("OMP_WAIT_POLICY=%s\n", getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(default)");
    printf("load average before the run (other processes share the cores): %s\n", load);
    double sgemm = bench_sgemm_gflops(2048, 5);
    printf("sgemm 2048³ (same run): %.0f GFLOP/s\n", sgemm);
    printf("setup (not timed below): checkpoints %.1f s, clips %.1f s (%s)\n\n", t_init, t_synth, dir);

    slava_collection col;
    memset(&col, 0, sizeof col);
    if (slava_collection_open(ctx, clips, NULL, 0, &col)) die(ctx, "collection");
    slava_store *s = NULL;
    if (slava_store_open(ctx, store, 1, &s)) die(ctx, "store");
    slava_encode_opts o;
    slava_encode_opts_default(&o);
    o.clip_dir = clip;
    o.clap_dir = clap;
    /* the weights' sha256 is part of every run; timed on its own (page cache warm from init) */
    char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    t0 = sv_now();
    if (slava_encoder_ids(ctx, clip, clap, 1.0, ids)) die(ctx, "sha256");
    double t_sha = sv_now() - t0;
    slava_encode_summary sum;
    if (slava_encode_collection(ctx, &col, s, &o, &sum)) die(ctx, "encode");
    if (sum.encoded != n_clips) { fprintf(stderr, "bench_pipeline: only %d of %d clips encoded\n", sum.encoded, n_clips); return 1; }

    double busy = sum.t_wait + sum.t_vision + sum.t_audio + sum.t_text + sum.t_store;
    double setup = sum.seconds - busy;   /* sha256 + model load + thread start */
    double steady = sum.seconds - setup;
    double per_min = n_clips / steady * 60.0;
    printf("%d clips x %.0f s (%dx%d, %d fps, AAC): %lld frames at 1 fps, %lld audio chunks, %lld captions "
           "(%lld reused), frame batch %d, chunk batch %d\n\n", n_clips, BENCH_AVCAPS_SECONDS, BENCH_AVCAPS_WIDTH,
           BENCH_AVCAPS_HEIGHT, BENCH_AVCAPS_FPS, (long long)sum.frames, (long long)sum.chunks, (long long)sum.captions,
           (long long)sum.captions_reused, o.frame_batch, o.chunk_batch);
    printf("| part | seconds | share of encoding time | rate |\n|---|---:|---:|---|\n");
    printf("| vision (CLIP image tower) | %.1f | %.0f%% | %.1f frames/s, %.0f GFLOP/s |\n", sum.t_vision,
           100 * sum.t_vision / steady, sum.frames / sum.t_vision, sum.frames * GFLOP_IMAGE / sum.t_vision);
    printf("| audio (HTSAT) | %.1f | %.0f%% | %.1f chunks/s, %.0f GFLOP/s |\n", sum.t_audio, 100 * sum.t_audio / steady,
           sum.chunks / sum.t_audio, sum.chunks * GFLOP_CHUNK / sum.t_audio);
    printf("| text (CLIP text tower) | %.1f | %.0f%% | %.0f captions/s |\n", sum.t_text, 100 * sum.t_text / steady,
           (sum.captions - sum.captions_reused) / (sum.t_text > 0 ? sum.t_text : 1e-9));
    printf("| storage (SQLite) | %.2f | %.1f%% | |\n", sum.t_store, 100 * sum.t_store / steady);
    printf("| waiting for decode | %.1f | %.0f%% | |\n", sum.t_wait, 100 * sum.t_wait / steady);
    printf("| **encoding time** | %.1f | 100%% | %.2f clips/min |\n", steady, per_min);
    printf("| decode, in its own thread (overlapped) | %.1f | (%.0f%%) | %.1f clips/s: demux, decode, 1 fps sampling, "
           "CLIP preprocessing, mel |\n", sum.t_decode, 100 * sum.t_decode / steady, n_clips / sum.t_decode);
    printf("| setup: sha256 of the weights + load | %.1f | | once per run (sha256 alone %.1f s) |\n\n", setup, t_sha);
    double hours = AVCAPS_CLIPS / per_min / 60.0;
    printf("AVCaps (%d clips, %.1f h of video) at this rate: %.1f h of encoding (%.0f min), %.1fx real time.\n",
           AVCAPS_CLIPS, AVCAPS_HOURS, hours, hours * 60, AVCAPS_HOURS / hours);
    printf("Work per clip: %.0f GFLOP vision + %.0f GFLOP audio; at the sgemm rate above that alone is %.1f s per clip.\n",
           50 * GFLOP_IMAGE, 5 * GFLOP_CHUNK, (50 * GFLOP_IMAGE + 5 * GFLOP_CHUNK) / sgemm);
    slava_encode_summary_free(&sum);
    slava_store_close(s);
    slava_collection_free(&col);
    slava_ctx_free(ctx);
    return 0;
}
