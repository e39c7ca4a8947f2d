/*
 * bench_dist.c — what running slava over MPI costs and buys (issue 14), on this machine:
 *   1. `slava encode` of AVCaps-like clips (bench_media.h) with full-size random-weight encoders:
 *      1 rank x 2 threads against `mpirun -n 2` x 1 thread (sharding + merge included);
 *   2. the merge rate of `slava store merge` (clips/s, MB/s) on AVCaps-shaped shard stores
 *      (4 shards of synthetic features: up to 50 frames, 5 chunks, 15 captions per clip);
 *   3. data-parallel training: the bytes each rank sends and receives per step and the time per
 *      epoch with 1 and 2 ranks (AVCaps-sized synthetic features, slava-av3, MLP audio head);
 *   4. from those rates, the projected time to encode and train on 2 M clips with 16 and 64
 *      such machines (the network rate is an assumption, stated in the output).
 * usage: bench_dist [--clips N (8)] [--merge-clips N (2000)] [--dir DIR (/tmp/slava_bench_dist)]
 *                   [--parts encode,merge,train (all; the projection needs all three)]
 * Needs a build with MPI (mpirun); runs `slava` (SLAVA_BIN) as a separate process.
 */
#include <unistd.h>   /* before bench_util.h, which uses sysconf() */
#include "bench_util.h"
#include "bench_media.h"
#include "store/shard.h"
#include <sys/stat.h>

#define CLIPS_2M 2.0e6
#define NET_BYTES_PER_S 1.25e9   /* assumed: 10 Gb/s Ethernet between the machines */

static void die(slava_ctx *ctx, const char *what) {
    fprintf(stderr, "bench_dist: %s: %s\n", what, ctx ? slava_ctx_error(ctx) : "");
    exit(1);
}

/* Run a shell command; wall seconds (-1 when it failed with status > 1). out: its stdout+stderr. */
static double timed(const char *cmd, char *out, size_t cap) {
    char full[8400];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    double t0 = sv_now();
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = 0;
    while (out && n + 1 < cap && fgets(out + n, (int)(cap - n), p)) n += strlen(out + n);
    if (out) out[n] = 0;
    char sink[4096];
    while (fgets(sink, sizeof sink, p)) {}
    int rc = pclose(p);
    double dt = sv_now() - t0;
    return WIFEXITED(rc) && WEXITSTATUS(rc) <= 1 ? dt : -1;
}

static const char *mpirun(char *buf, size_t cap, int n) {
    snprintf(buf, cap, "OMPI_MCA_btl_vader_single_copy_mechanism=none %s %s--oversubscribe --bind-to none --mca btl self,vader -n %d",
             SLAVA_MPIEXEC, getuid() == 0 ? "--allow-run-as-root " : "", n);
    return buf;
}

/* A feature set shaped like AVCaps' encoder outputs: 768-d frames and chunks, 512-d captions. */
static void avcaps_features(slava_ctx *ctx, int train, int val, int frames, slava_dataset *ds) {
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    so.n_clips[SLAVA_SPLIT_TRAIN] = train;
    so.n_clips[SLAVA_SPLIT_VAL] = val;
    so.n_clips[SLAVA_SPLIT_TEST] = 0;
    so.max_frames = frames;
    so.max_chunks = 5;
    if (slava_synth_features(ctx, &so, ds)) die(ctx, "synthetic features");
}

int main(int argc, char **argv) {
    int n_clips = 8, merge_clips = 2000;
    const char *dir = "/tmp/slava_bench_dist", *parts = "encode,merge,train";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--parts")) parts = argv[i + 1];
        else if (!strcmp(argv[i], "--clips")) n_clips = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--merge-clips")) merge_clips = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    if (!SLAVA_MPIEXEC[0]) { fprintf(stderr, "bench_dist: slava was built without MPI\n"); return 1; }
    if (n_clips < 2) n_clips = 2;
    slava_set_threads(2);
    slava_ctx *ctx = slava_ctx_new();
    char clip[1100], clap[1100], clips[1100], cmd[8192], out[65536], mpi[512];
    printf("## bench_dist: slava over MPI (Open MPI, shared memory on one machine)\n\n");
    bench_print_machine(stdout);
    FILE *la = fopen("/proc/loadavg", "r");
    char load[128] = "?";
    if (la) { if (fgets(load, sizeof load, la)) load[strcspn(load, "\n")] = 0; fclose(la); }
    printf("load average before the run (other processes share the cores): %s\n\n", load);
    if (bench_full_checkpoints(ctx, dir, clip, clap, sizeof clip)) die(ctx, "init-random");
    snprintf(clips, sizeof clips, "%s/clips_%d", dir, n_clips);
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/train_captions.json", clips);
    struct stat sb;
    if (stat(probe, &sb) != 0 && bench_make_avcaps_like(ctx, clips, n_clips, 0)) die(ctx, "synth");

    const int do_enc = strstr(parts, "encode") != NULL, do_merge = strstr(parts, "merge") != NULL,
              do_train = strstr(parts, "train") != NULL;
    double r1 = 0, r2 = 0, merge_rate = 0, bytes_per_clip = 0, bytes_step = 0, t_train1 = 0;
    /* ---- 1. encode: 1 rank x 2 threads vs 2 ranks x 1 thread (groups of 2 clips in both) */
    char store[1200];
    int n;
    if (do_enc) {
    snprintf(store, sizeof store, "%s/encode.sqlite", dir);
    const char *enc = SLAVA_BIN " encode --data '%s' --clip '%s' --clap '%s' --store '%s' --group 2 --quiet --threads %d";
    slava_store_remove(store);
    snprintf(cmd, sizeof cmd, enc, clips, clip, clap, store, 2);
    double t1 = timed(cmd, out, sizeof out);
    slava_store_remove(store);
    n = snprintf(cmd, sizeof cmd, "%s ", mpirun(mpi, sizeof mpi, 2));
    snprintf(cmd + n, sizeof cmd - n, enc, clips, clip, clap, store, 1);
    double t2 = timed(cmd, out, sizeof out);
    if (t1 < 0 || t2 < 0) { fprintf(stderr, "bench_dist: encode failed:\n%s\n", out); return 1; }
    r1 = n_clips / t1 * 60;
    r2 = n_clips / t2 * 60;
    printf("### encode: %d AVCaps-like clips (50 s, 640x360, 50 frames, 5 chunks, 15 captions each), full-size encoders, "
           "groups of 2 clips, wall time of the whole command (sha256, model load, merge included)\n\n", n_clips);
    printf("| run | seconds | clips/min |\n|---|---:|---:|\n");
    printf("| slava encode, 1 rank x 2 threads | %.1f | %.2f |\n", t1, r1);
    printf("| mpirun -n 2 slava encode, 2 ranks x 1 thread (+ merge) | %.1f | %.2f |\n", t2, r2);
    printf("\nsharded / one process: %.2fx the time (%+.0f%%)\n\n", t2 / t1, 100 * (t2 / t1 - 1));
    }

    /* ---- 2. merge rate: 4 shard stores of AVCaps-shaped features */
    slava_dataset ds;
    if (do_merge) {
    avcaps_features(ctx, merge_clips, 0, 50, &ds);
    ds.encoder_id[0] = sv_strdup("bench-visual");
    ds.encoder_id[1] = sv_strdup("bench-audio");
    ds.encoder_id[2] = sv_strdup("bench-text");
    const int K = 4;
    char paths[4][1200];
    const char *pp[4];
    double bytes = 0;
    for (int i = 0; i < ds.n; i++) {
        const slava_clip *c = &ds.clips[i];
        bytes += 4.0 * ((double)c->t_v * ds.d_v + (double)c->t_a * ds.d_a);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) bytes += 4.0 * c->n_cap[k] * ds.d_t;
    }
    for (int k = 0; k < K; k++) {
        snprintf(paths[k], sizeof paths[k], "%s/merge.sqlite.shard-%d-of-%d", dir, k + 1, K);
        pp[k] = paths[k];
        slava_store_remove(paths[k]);
        slava_store *s = NULL;
        if (slava_store_open(ctx, paths[k], SLAVA_STORE_CREATE, &s)) die(ctx, "shard store");
        slava_shard_info info;
        memset(&info, 0, sizeof info);
        info.index = k + 1;
        info.count = K;
        info.group_clips = 16;
        info.threads = 1;
        snprintf(info.collection, sizeof info.collection, "bench");
        snprintf(info.options, sizeof info.options, "bench");
        for (int m = 0; m < SLAVA_MODS; m++) snprintf(info.encoder[m], sizeof info.encoder[m], "%s", ds.encoder_id[m]);
        if (sv_shard_claim(ctx, s, &info)) die(ctx, "shard record");
        slava_dataset part = ds;   /* a view: every K-th clip */
        part.clips = malloc(sizeof *part.clips * (size_t)ds.n);
        part.n = 0;
        for (int i = k; i < ds.n; i += K) part.clips[part.n++] = ds.clips[i];
        if (slava_store_put_dataset(ctx, s, &part) || sv_shard_set_complete(ctx, s, 1)) die(ctx, "shard write");
        free(part.clips);
        slava_store_close(s);
    }
    char merged[1200];
    snprintf(merged, sizeof merged, "%s/merge.sqlite", dir);
    slava_store_remove(merged);
    slava_store *m = NULL;
    if (slava_store_open(ctx, merged, SLAVA_STORE_CREATE, &m)) die(ctx, "merge target");
    slava_store_counts cnt;
    double t0 = sv_now();
    if (slava_store_merge(ctx, m, K, pp, 0, &cnt)) die(ctx, "merge");
    double tm = sv_now() - t0;
    slava_store_close(m);
    merge_rate = ds.n / tm;
    printf("### merge: %d clips in %d shards into a new store, one transaction (%.0f KB of features per clip)\n\n", ds.n, K,
           bytes / ds.n / 1024);
    printf("| clips | seconds | clips/s | MB/s of features |\n|---:|---:|---:|---:|\n");
    printf("| %d | %.2f | %.0f | %.0f |\n\n", ds.n, tm, merge_rate, bytes / tm / 1e6);
    for (int k = 0; k < K; k++) slava_store_remove(paths[k]);
    slava_store_remove(merged);
    bytes_per_clip = bytes / ds.n;
    slava_dataset_free(&ds);
    }

    /* ---- 3. data-parallel training */
    if (do_train) {
    avcaps_features(ctx, 1661, 200, 4, &ds);
    ds.encoder_id[0] = sv_strdup("bench-visual");
    ds.encoder_id[1] = sv_strdup("bench-audio");
    ds.encoder_id[2] = sv_strdup("bench-text");
    char fstore[1200];
    snprintf(fstore, sizeof fstore, "%s/features.sqlite", dir);
    slava_store_remove(fstore);
    slava_store *fs = NULL;
    if (slava_store_open(ctx, fstore, SLAVA_STORE_CREATE, &fs) || slava_store_put_dataset(ctx, fs, &ds)) die(ctx, "feature store");
    slava_store_close(fs);
    slava_dataset_free(&ds);
    const char *tr = SLAVA_BIN " train --store '%s' --recipe slava-av3 --epochs 3 --threads 1 --quiet --out '%s/heads%d.safetensors'";
    printf("### data-parallel training: slava-av3, 1,661 train + 200 val clips (768/768/512-d features, P 512, MLP audio "
           "head 768->512->512), batch 64, 3 epochs, 1 thread per rank\n\n");
    printf("| ranks | command (s) | training (s) | per step (ms) | bytes sent + received per step and rank |\n"
           "|---:|---:|---:|---:|---:|\n");
    const int steps = 3 * ((1661 + 63) / 64);
    for (int r = 1; r <= 2; r++) {
        n = snprintf(cmd, sizeof cmd, "%s ", mpirun(mpi, sizeof mpi, r));
        snprintf(cmd + n, sizeof cmd - n, tr, fstore, dir, r);
        double t = timed(cmd, out, sizeof out);
        if (t < 0) { fprintf(stderr, "bench_dist: train failed:\n%s\n", out); return 1; }
        /* "HEADS: recipe ..., validation ... , 1.3 s" then, with ranks, "... ranks, BYTES bytes ..." */
        const char *nl = strchr(out, '\n'), *c = out, *last = NULL;
        while (nl && (c = strstr(c, ", ")) && c < nl) last = c++;
        double ts = last ? atof(last + 2) : t;   /* the training time slava reports (no start-up, no loading) */
        const char *b = strstr(out, "data-parallel over");
        double bs = 0;
        if (b && (b = strstr(b, "ranks, "))) bs = atof(b + 7);
        if (r == 1) t_train1 = ts;
        else bytes_step = bs;
        printf("| %d | %.1f | %.1f | %.1f | %.0f |\n", r, t, ts, 1e3 * ts / steps, bs);
    }
    printf("\n(training includes validating every epoch on 200 clips; the bytes: the batch's normalised embeddings "
           "gathered, B x P floats per modality, and the head gradients summed on rank 0 and broadcast, 2 x the head "
           "parameters)\n\n");
    }
    if (!do_enc || !do_merge || !do_train) { slava_ctx_free(ctx); return 0; }

    /* ---- 4. projection to 2 M clips */
    double steps_2m = CLIPS_2M / 64, step_compute = t_train1 / (3 * ((1661 + 63) / 64));
    printf("### projection: 2 M clips (AVCaps-like), from the rates above\n\n");
    printf("assumptions: each machine like this one (2 cores) runs 2 ranks x 1 thread at the measured sharded rate; rank 0 "
           "merges at the measured merge rate; the network moves %.2f GB/s per rank (10 Gb/s Ethernet; not measured "
           "here); a training step costs the measured per-step compute (%.1f ms, which data-parallel training does not "
           "divide: every rank runs the heads on the whole batch layout) plus its bytes over the network.\n\n",
           NET_BYTES_PER_S / 1e9, 1e3 * step_compute);
    printf("| machines | encode | merge on rank 0 | features per machine | train epoch (%.0f steps of 64) |\n"
           "|---:|---:|---:|---:|---:|\n", steps_2m);
    int machines[2] = {16, 64};
    for (int i = 0; i < 2; i++) {
        double enc_h = CLIPS_2M / (machines[i] * r2) / 60, merge_h = CLIPS_2M / merge_rate / 3600;
        double epoch_s = steps_2m * (step_compute + bytes_step / NET_BYTES_PER_S);
        printf("| %d | %.1f h | %.1f h | %.1f GB | %.0f s (%.0f min) |\n", machines[i], enc_h, merge_h,
               CLIPS_2M * bytes_per_clip / machines[i] / 1e9, epoch_s, epoch_s / 60);
    }
    printf("\none machine: encode %.0f h (%.1f days) at %.2f clips/min; 2 M clips of features take %.0f GB.\n",
           CLIPS_2M / r1 / 60, CLIPS_2M / r1 / 60 / 24, r1, CLIPS_2M * bytes_per_clip / 1e9);
    slava_ctx_free(ctx);
    return 0;
}
