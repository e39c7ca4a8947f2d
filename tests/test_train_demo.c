/*
 * test_train_demo.c — a demo-sized run (AVCaps split sizes, the real encoders' feature sizes):
 * slava-av3 trained for a few epochs must beat its untrained heads on validation R@10, and on
 * the test split; av-only must beat them on the audio → visual task it trains for.
 */
#include "test.h"

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(1);   /* no OpenMP barriers: quick even when ctest runs tests side by side */
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    slava_dataset ds;
    CHECK_OK(ctx, slava_synth_features(ctx, &so, &ds));
    CHECK(ds.n == 1661 + 200 + 200 && ds.d_v == 768 && ds.d_a == 768 && ds.d_t == 512);
    int noaudio = 0;
    for (int i = 0; i < ds.n; i++) noaudio += ds.clips[i].t_a == 0;
    CHECK(noaudio > 0 && noaudio < ds.n / 10);

    slava_train_opts o;
    slava_train_opts_default(&o);
    o.epochs = 3;
    slava_heads *h0 = NULL, *h = NULL;
    slava_train_info info;
    CHECK_OK(ctx, slava_heads_init(ctx, &ds, &o, &h0));
    CHECK_OK(ctx, slava_train(ctx, &ds, &o, &h, &info));
    printf("slava-av3, 3 epochs: validation mean R@10 %.3f (untrained %.3f), kept epoch %d, %.1f s\n",
           info.best_val[0], info.init_val, info.best_epoch[0], info.seconds);
    CHECKF(info.best_val[0] > info.init_val + 0.2, "trained %.3f vs untrained %.3f", info.best_val[0], info.init_val);
    slava_eval_report r0, r1;
    CHECK_OK(ctx, slava_eval(ctx, &ds, SLAVA_SPLIT_VAL, h0, &r0));
    CHECK_OK(ctx, slava_eval(ctx, &ds, SLAVA_SPLIT_VAL, h, &r1));
    for (int t = 0; t < 7; t++)
        CHECKF(r1.task[t].hit[2] > r0.task[t].hit[2], "val task %d: trained R@10 %.3f vs untrained %.3f", t + 1,
               r1.task[t].hit[2], r0.task[t].hit[2]);
    slava_eval_report t0, t1;
    CHECK_OK(ctx, slava_eval(ctx, &ds, SLAVA_SPLIT_TEST, h, &t1));
    CHECK_OK(ctx, slava_eval(ctx, &ds, SLAVA_SPLIT_TEST, h0, &t0));
    CHECKF(t1.task[0].hit[2] > t0.task[0].hit[2] + 0.2, "test task 1 %.3f vs %.3f", t1.task[0].hit[2], t0.task[0].hit[2]);
    slava_heads_free(h);

    o.recipe = "av-only";
    CHECK_OK(ctx, slava_train(ctx, &ds, &o, &h, &info));
    CHECK_OK(ctx, slava_eval(ctx, &ds, SLAVA_SPLIT_VAL, h, &r1));
    CHECKF(r1.task[6].hit[2] > r0.task[6].hit[2] + 0.2, "av-only val task 7 %.3f vs untrained %.3f", r1.task[6].hit[2],
           r0.task[6].hit[2]);
    slava_heads_free(h);
    slava_heads_free(h0);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return test_done("train_demo");
}
