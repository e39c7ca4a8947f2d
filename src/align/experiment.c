/*
 * experiment.c — recipes × seeds: train each pair on the train split, evaluate on a split, keep
 * the reports for Table II (mean ± std per cell, report.c).
 */
#include "base/base.h"
#include <stdio.h>

slava_status slava_experiment(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *base,
                              const char *const *recipes, int n_recipes, const uint64_t *seeds, int n_seeds,
                              int split, slava_eval_report *reports, slava_eval_report *untrained) {
    if (n_recipes < 1 || n_seeds < 1) return sv_err(ctx, SLAVA_E_ARG, "experiment: no recipes or no seeds");
    if (untrained) {
        slava_train_opts o = *base;
        o.seed = seeds[0];
        slava_heads *h;
        SV_TRY(slava_heads_init(ctx, ds, &o, &h));
        slava_status st = slava_eval(ctx, ds, split, h, untrained);
        slava_heads_free(h);
        if (st) return st;
    }
    for (int r = 0; r < n_recipes; r++)
        for (int s = 0; s < n_seeds; s++) {
            slava_train_opts o = *base;
            o.recipe = recipes[r];
            o.seed = seeds[s];
            slava_heads *h;
            slava_train_info info;
            SV_TRY(slava_train(ctx, ds, &o, &h, &info));
            slava_status st = slava_eval(ctx, ds, split, h, &reports[(size_t)r * n_seeds + s]);
            slava_heads_free(h);
            if (st) return st;
        }
    return SLAVA_OK;
}
