/*
 * bench_pipeline.c — whole-pipeline throughput of `slava encode` (issue 6) with full-size
 * random-weight encoders (CLIP ViT-B/32 + text tower, CLAP HTSAT-unfused; init-random with
 * bench/configs/ clip-vit-base-patch32.json and clap-htsat-unfused.json) on AVCaps-like clips
 * (bench_media.h: 50 s, 640×360 at 25 fps, AAC; 1 fps → 50 frames, 5 audio chunks, 15 captions per
 * clip): clips per minute in fp32 and bf16, the share of time in decode / vision / audio / text /
 * storage, the peak resident memory of the run, and the projected time for all of AVCaps (2,061
 * clips, 28.8 h). Each precision runs in its own process (the program runs itself once per
 * precision), so that each peak memory figure is that precision's alone. Run it with the user's
 * default kernels:
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench_pipeline [--json] [--precision fp32|bf16|both]
 *       [--clips N] [--threads N] [--dir DIR]
 * DIR (default /tmp/slava_bench_pipeline) keeps the checkpoints and clips between runs; the store
 * is made afresh each run.
 */
#include <unistd.h>   /* before bench_util.h, which uses sysconf() */
#include "bench_util.h"
#include "bench_media.h"
#include <sys/stat.h>
#include <sys/wait.h>

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

/* Runs this program once per precision (--precision P --json) and merges the documents. */
static int run_both(int argc, char **argv) {
    cJSON *rows = cJSON_CreateArray(), *first = NULL;
    double lim[2] = {0, 0};
    for (int p = 0; p < 2; p++) {
        char cmd[8192];
        int k = snprintf(cmd, sizeof cmd, "'/proc/%d/exe' --json --precision %s", (int)getpid(), p ? "bf16" : "fp32");
        for (int i = 1; i < argc && k < (int)sizeof cmd - 256; i++) k += snprintf(cmd + k, sizeof cmd - k, " '%s'", argv[i]);
        fflush(stdout);
        FILE *f = popen(cmd, "r");
        if (!f) { fprintf(stderr, "bench_pipeline: cannot run %s\n", cmd); return 1; }
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap);
        for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
            n += got;
            if (n + 1 == cap) buf = realloc(buf, cap *= 2);
        }
        if (pclose(f) != 0 || !buf) { fprintf(stderr, "bench_pipeline: the %s run failed\n", p ? "bf16" : "fp32"); return 1; }
        buf[n] = 0;
        cJSON *d = cJSON_Parse(buf);
        free(buf);
        if (!d) { fprintf(stderr, "bench_pipeline: the %s run printed no JSON document\n", p ? "bf16" : "fp32"); return 1; }
        cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(d, "rows")) cJSON_AddItemToArray(rows, cJSON_Duplicate(r, 1));
        const cJSON *l = cJSON_GetObjectItem(d, p ? "bf16_gemm_gflops" : "sgemm_gflops");
        if (cJSON_IsNumber(l)) lim[p] = l->valuedouble;
        if (!first) first = d;
        else cJSON_Delete(d);
    }
    /* the first run's machine block, both runs' rows and limits */
    cJSON_DeleteItemFromObject(first, "rows");
    cJSON_AddItemToObject(first, "rows", rows);
    cJSON_ReplaceItemInObject(first, "bf16_gemm_gflops", cJSON_CreateNumber(lim[1]));
    cJSON_ReplaceItemInObject(first, "sgemm_gflops", cJSON_CreateNumber(lim[0]));
    char *txt = cJSON_Print(first);
    cJSON_Delete(first);
    if (bench_g.json) {
        FILE *out = fdopen(bench_g.saved_stdout, "w");
        if (out) { fprintf(out, "%s\n", txt); fclose(out); }
    } else {
        printf("\n## bench_pipeline: both precisions\n\n| row | precision | rate | unit | share of the same-run GEMM limit |\n|---|---|---|---|---|\n");
        cJSON *d = cJSON_Parse(txt), *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(d, "rows")) {
            const cJSON *sh = cJSON_GetObjectItem(r, "share_of_limit"), *cs = cJSON_GetObjectItem(r, "cpu_share_of_limit");
            char share[64] = "";
            if (cJSON_IsNumber(sh)) snprintf(share, sizeof share, "%.0f %% (cpu %.0f %%)", 100 * sh->valuedouble,
                                             cJSON_IsNumber(cs) ? 100 * cs->valuedouble : 0);
            printf("| %s | %s | %.2f | %s | %s |\n", cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")),
                   cJSON_GetStringValue(cJSON_GetObjectItem(r, "precision")), cJSON_GetObjectItem(r, "rate")->valuedouble,
                   cJSON_GetStringValue(cJSON_GetObjectItem(r, "unit")), share);
        }
        cJSON_Delete(d);
    }
    free(txt);
    return 0;
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_pipeline");
    if (bench_g.precisions == 3) return run_both(argc, argv);
    const slava_precision prec = bench_g.precisions == 2 ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32;
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

    /* the source tree (configs, tokenizer files) is found from this file's path */
    char root[1024];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *sl = strrchr(root, '/');
    if (sl) *sl = 0;
    sl = strrchr(root, '/');
    if (sl) *sl = 0; else snprintf(root, sizeof root, ".");

    char cmd[8192], clip[1100], clap[1100], clips[1100], store[1100], probe[1200];
    snprintf(clip, sizeof clip, "%s/clip", dir);
    snprintf(clap, sizeof clap, "%s/clap", dir);
    snprintf(clips, sizeof clips, "%s/clips_%d", dir, n_clips);
    snprintf(store, sizeof store, "%s/store_%s.sqlite", dir, sv_precision_name(prec));
    mkdir(dir, 0755);
    double t0 = sv_now();
    snprintf(probe, sizeof probe, "%s/model.safetensors", clip);
    if (!exists(probe)) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/clip-config' && cp '%s/bench/configs/clip-vit-base-patch32.json' '%s/clip-config/config.json' && "
                 "cp '%s/tests/fixtures/clip-model/vocab.json' '%s/tests/fixtures/clip-model/merges.txt' '%s/clip-config/'",
                 dir, root, dir, root, root, dir);
        if (system(cmd) != 0) { fprintf(stderr, "bench_pipeline: cannot copy the CLIP config / tokenizer files\n"); return 1; }
        snprintf(cmd, sizeof cmd, "%s/clip-config/config.json", dir);
        if (slava_clip_init_random(ctx, cmd, 0, clip)) die(ctx, "init-random clip");
    }
    snprintf(probe, sizeof probe, "%s/model.safetensors", clap);
    if (!exists(probe)) {
        snprintf(cmd, sizeof cmd, "%s/bench/configs/clap-htsat-unfused.json", root);
        if (slava_clap_init_random(ctx, cmd, 0, clap)) die(ctx, "init-random clap");
    }
    double t_init = sv_now() - t0;
    t0 = sv_now();
    snprintf(probe, sizeof probe, "%s/train_captions.json", clips);
    if (!exists(probe) && bench_make_avcaps_like(ctx, clips, n_clips, 0)) die(ctx, "synth");
    double t_synth = sv_now() - t0;
    snprintf(cmd, sizeof cmd, "rm -f '%s' '%s-wal' '%s-shm'", store, store, store);
    if (system(cmd) != 0) return 1;
    struct stat sb;
    double weights_mib = 0;
    snprintf(probe, sizeof probe, "%s/model.safetensors", clip);
    if (stat(probe, &sb) == 0) weights_mib += sb.st_size / 1048576.0;

    printf("## bench_pipeline: slava encode, full-size random-weight CLIP ViT-B/32 + CLAP HTSAT-unfused, %s\n\n",
           sv_precision_name(prec));
    bench_print_machine(stdout);
    bench_limits();
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
    o.precision = prec;
    /* the weights' sha256 is part of every run; timed on its own (page cache warm from init) */
    char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    t0 = sv_now();
    if (slava_encoder_ids_precision(ctx, clip, clap, 1.0, prec, ids)) die(ctx, "sha256");
    double t_sha = sv_now() - t0;
    slava_encode_summary sum;
    double c0 = bench_cpu_seconds();
    if (slava_encode_collection(ctx, &col, s, &o, &sum)) die(ctx, "encode");
    double cpu = bench_cpu_seconds() - c0;
    if (sum.encoded != n_clips) { fprintf(stderr, "bench_pipeline: only %d of %d clips encoded\n", sum.encoded, n_clips); return 1; }
    bench_limits();
    bench_print_limits(stdout);

    double busy = sum.t_wait + sum.t_vision + sum.t_audio + sum.t_text + sum.t_store;
    double setup = sum.seconds - busy;   /* sha256 + model load + thread start */
    double steady = sum.seconds - setup;
    double per_min = n_clips / steady * 60.0;
    /* per CPU-second: the towers' CPU time (the encode's less the decode thread's) spread over the
     * threads, plus the decode thread's spread over the same cores: what a quiet machine gives */
    const double cpu_towers = cpu - sum.cpu_setup - sum.cpu_decode, T = slava_get_threads();
    const double quiet_s = (cpu_towers > 0 ? cpu_towers : 0) / T + sum.cpu_decode / T;
    double per_min_cpu = quiet_s > 0 ? n_clips / quiet_s * 60.0 : 0;
    const double gflop_clip = 50 * GFLOP_IMAGE + 5 * GFLOP_CHUNK;
    char name[128];
    snprintf(name, sizeof name, "pipeline, AVCaps-like %.0f s clips (frame batch %d)", BENCH_AVCAPS_SECONDS, o.frame_batch);
    bench_row(name, o.frame_batch, sv_precision_name(prec), per_min, "clips/min", gflop_clip / 60.0, per_min_cpu);
    const int main_row = bench_g.nrows - 1;
    double hours = AVCAPS_CLIPS / per_min / 60.0;
    bench_row("AVCaps estimate (2,061 clips) at this rate", o.frame_batch, sv_precision_name(prec), hours * 60, "min", 0, 0);
    bench_row("AVCaps estimate from CPU time (a quiet machine, decode and towers sharing the cores)", o.frame_batch,
              sv_precision_name(prec), AVCAPS_CLIPS / per_min_cpu, "min", 0, 0);
    bench_row("decode thread CPU per clip", o.frame_batch, sv_precision_name(prec), sum.cpu_decode / n_clips, "s", 0, 0);
    bench_row("towers CPU per clip (all threads)", o.frame_batch, sv_precision_name(prec), cpu_towers / n_clips, "s", 0, 0);
    bench_row("peak resident memory of the encode", o.frame_batch, sv_precision_name(prec), sum.peak_rss_mib, "MiB", 0, 0);
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
    printf("| **encoding time** | %.1f | 100%% | %.2f clips/min, %s of the same-run GEMM limit |\n", steady, per_min,
           bench_share_str(main_row));
    printf("| decode, in its own thread (overlapped) | %.1f | (%.0f%%) | %.1f clips/s: demux, decode, 1 fps sampling, "
           "CLIP preprocessing, mel |\n", sum.t_decode, 100 * sum.t_decode / steady, n_clips / sum.t_decode);
    printf("| setup: sha256 of the weights + load | %.1f | | once per run (sha256 alone %.1f s) |\n\n", setup, t_sha);
    printf("AVCaps (%d clips, %.1f h of video) at this rate: %.1f h of encoding (%.0f min), %.1fx real time.\n",
           AVCAPS_CLIPS, AVCAPS_HOURS, hours, hours * 60, AVCAPS_HOURS / hours);
    printf("Work per clip: %.0f GFLOP vision + %.0f GFLOP audio; at the GEMM limit above that alone is %.1f s per clip.\n",
           50 * GFLOP_IMAGE, 5 * GFLOP_CHUNK, gflop_clip / bench_g.limit[prec == SLAVA_PRECISION_BF16]);
    printf("CPU per clip: towers %.2f s (all %d threads), decode thread %.2f s: on a quiet %d-core machine about %.1f clips/min, "
           "AVCaps in %.0f min.\n", cpu_towers / n_clips, (int)T, sum.cpu_decode / n_clips, (int)T, per_min_cpu,
           AVCAPS_CLIPS / per_min_cpu);
    printf("Peak resident memory: %.0f MiB (the CLIP checkpoint file alone is %.0f MiB; CLAP's audio tower ≈ 120 MiB).\n",
           sum.peak_rss_mib, weights_mib);
    slava_encode_summary_free(&sum);
    slava_store_close(s);
    slava_collection_free(&col);
    slava_ctx_free(ctx);
    return bench_end();
}
