/*
 * bench_train.c — time per training epoch of slava-av3 on cached (synthetic) features for
 * 1,000 / 1,661 (AVCaps) / 10,000 / 100,000 clips, next to the machine's sgemm rate measured in
 * the same run. An epoch = every batch of the train split (forward, backward, AdamW) plus the
 * validation pass on 200 val clips; epoch times come from the progress callback's timestamps.
 *
 * usage: bench_train [--json] [max_clips] [threads]   (default 100000 and the cores available; features: visual 768-d, 4 frames; audio 768-d,
 *        1-6 chunks of 10 s; 3 GPT-AV captions 512-d per train clip, every kind for val clips)
 */
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>

typedef struct { double t[64]; int n; } stamps;

static int on_progress(void *user, const char *stage, int64_t done, int64_t total, const char *detail) {
    (void)stage; (void)done; (void)total; (void)detail;
    stamps *s = user;
    if (s->n < 64) s->t[s->n++] = sv_now();
    return 0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_train");
    int max_clips = argc > 1 ? atoi(argv[1]) : 100000;
    slava_set_threads(argc > 2 ? atoi(argv[2]) : 0);
    printf("bench_train: slava-av3 epoch time on cached features (batch 64, audio MLP head 768->512->512)\n");
    bench_print_machine(stdout);
    bench_limits();
    double gf = bench_g.limit[0];
    bench_print_limits(stdout);
    printf("\n");
    printf("| clips | audio chunks | epoch (s, median) | per 1k clips (s) | train GFLOP/epoch | GFLOP/s | share of sgemm |\n"
           "|---:|---:|---:|---:|---:|---:|---:|\n");
    const int sizes[4] = {1000, 1661, 10000, 100000};
    slava_ctx *ctx = slava_ctx_new();
    for (int si = 0; si < 4; si++) {
        int n = sizes[si];
        if (n > max_clips) break;
        slava_feature_synth_opts so;
        slava_feature_synth_defaults(&so);
        so.n_clips[SLAVA_SPLIT_TRAIN] = n;
        so.n_clips[SLAVA_SPLIT_VAL] = 200;
        so.n_clips[SLAVA_SPLIT_TEST] = 0;
        so.max_frames = 4;       /* frames are averaged once before training: their count does not matter */
        so.max_chunks = 6;
        so.kinds_mask[SLAVA_SPLIT_TRAIN] = 1 << SLAVA_CAP_GPT;   /* what slava-av3 trains on */
        slava_dataset ds;
        if (slava_synth_features(ctx, &so, &ds)) { fprintf(stderr, "%s\n", slava_ctx_error(ctx)); return 1; }
        long chunks = 0;
        for (int i = 0; i < ds.n; i++) chunks += ds.clips[i].split == SLAVA_SPLIT_TRAIN ? ds.clips[i].t_a : 0;
        slava_train_opts o;
        slava_train_opts_default(&o);
        o.epochs = n >= 100000 ? 2 : 4;
        stamps st = {{0}, 0};
        slava_ctx_set_progress(ctx, on_progress, &st);
        double t0 = sv_now();
        slava_heads *h = NULL;
        slava_train_info info;
        if (slava_train(ctx, &ds, &o, &h, &info)) { fprintf(stderr, "%s\n", slava_ctx_error(ctx)); return 1; }
        slava_ctx_set_progress(ctx, NULL, NULL);
        /* epoch k spans stamps k-1 .. k; the first epoch starts after set-up (pooling, first validation) */
        double ep[64];
        int ne = 0;
        for (int k = 1; k < st.n; k++) ep[ne++] = st.t[k] - st.t[k - 1];
        if (st.n >= 1 && ne == 0) ep[ne++] = st.t[0] - t0;
        qsort(ep, ne, sizeof(double), cmp_d);
        double med = ep[ne / 2];
        /* GEMM work of one training epoch (forward + backward), B rows per batch:
         * visual and text linear heads 3·2·B·D·P each (fwd, dW; dx is not needed), audio linear1 per
         * chunk 2·2·N·D·H, linear2 per clip 3·2·B·H·P, three InfoNCE pairs 3·(2+4)·B²·P. */
        double P = 512, D = 768, Dt = 512, H = 512, B = o.batch;
        double flops = 2.0 * 2 * n * D * P + 2.0 * 2 * n * Dt * P + 2.0 * 2 * chunks * D * H + 3.0 * 2 * n * H * P +
                       3.0 * 6 * n * B * P;
        printf("| %d | %ld | %.3f | %.3f | %.1f | %.0f | %.0f%% |\n", n, chunks, med, med / n * 1000, flops / 1e9,
               flops / 1e9 / med, 100 * flops / 1e9 / med / gf);
        fflush(stdout);
        char name[96];
        snprintf(name, sizeof name, "slava-av3 training epoch, %d clips", n);
        bench_row(name, (int)B, "fp32", n / med, "clips/s", flops / n / 1e9, 0);
        slava_heads_free(h);
        slava_dataset_free(&ds);
    }
    slava_ctx_free(ctx);
    printf("\nEpoch times include the per-epoch validation on 200 clips (all seven tasks).\n");
    return bench_end();
}
