/*
 * experiment.c — recipes × seeds: train each pair on the train split, evaluate on a split, keep
 * the reports for Table II (mean ± std per cell, report.c). Progress is reported as one
 * "experiment" stage counting the epochs of all runs.
 */
#include "base/base.h"
#include "align/train.h"
#include <stdio.h>

/* Forwards each run's "train" progress as overall progress (base = epochs of finished runs). */
typedef struct {
    slava_progress_fn fn;
    void *user;
    int64_t base, total;
} exp_progress;

static int exp_cb(void *u, const char *stage, int64_t done, int64_t total, const char *detail) {
    exp_progress *p = u;
    (void)stage; (void)total;
    return p->fn ? p->fn(p->user, "experiment", p->base + done, p->total, detail) : 0;
}

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
    exp_progress prog = {ctx->progress, ctx->progress_user, 0, 0};
    for (int r = 0; r < n_recipes; r++) prog.total += (int64_t)al_recipe_stages(recipes[r]) * base->epochs * n_seeds;
    if (ctx->progress) slava_ctx_set_progress(ctx, exp_cb, &prog);
    slava_status st = SLAVA_OK;
    for (int r = 0; r < n_recipes && !st; r++)
        for (int s = 0; s < n_seeds && !st; s++) {
            slava_train_opts o = *base;
            o.recipe = recipes[r];
            o.seed = seeds[s];
            slava_heads *h;
            slava_train_info info;
            st = slava_train(ctx, ds, &o, &h, &info);
            if (st == SLAVA_E_INTERRUPTED)
                sv_err_prefix(ctx, "experiment: run %d of %d (%s, seed %llu)", r * n_seeds + s + 1, n_recipes * n_seeds,
                              recipes[r], (unsigned long long)seeds[s]);
            if (st) break;
            st = slava_eval(ctx, ds, split, h, &reports[(size_t)r * n_seeds + s]);
            slava_heads_free(h);
            prog.base += (int64_t)al_recipe_stages(recipes[r]) * base->epochs;
        }
    if (prog.fn) slava_ctx_set_progress(ctx, prog.fn, prog.user);
    return st;
}
