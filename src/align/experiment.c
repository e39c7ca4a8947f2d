/*
 * experiment.c — recipes × seeds: train each pair on the train split, evaluate on a split, keep
 * the reports for Table II (mean ± std per cell, report.c). Progress is reported as one
 * "experiment" stage counting the epochs of all runs. In an MPI job (slava_dist_init) the runs are
 * spread over the ranks and the reports gathered on all of them.
 */
#include "base/base.h"
#include "align/train.h"
#include "eval/eval.h"
#include "dist/dist.h"
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
        slava_status st = slava_heads_init(ctx, ds, &o, &h);
        if (!st) st = slava_eval(ctx, ds, split, h, untrained);
        slava_heads_free(h);
        SV_TRY(sv_dist_agree(ctx, st));
    }
    /* In an MPI job, run t = r·n_seeds + s goes to rank t mod size; the reports are gathered on
     * every rank afterwards. Each run is the same computation as in one process. */
    const int rank = sv_dist_rank(), size = sv_dist_size(), n_runs = n_recipes * n_seeds;
    exp_progress prog = {ctx->progress, ctx->progress_user, 0, 0};
    for (int t = rank; t < n_runs; t += size) prog.total += (int64_t)al_recipe_stages(recipes[t / n_seeds]) * base->epochs;
    if (ctx->progress) slava_ctx_set_progress(ctx, exp_cb, &prog);
    slava_status st = SLAVA_OK;
    for (int t = rank; t < n_runs && !st; t += size) {
        int r = t / n_seeds, s = t % n_seeds;
        slava_train_opts o = *base;
        o.recipe = recipes[r];
        o.seed = seeds[s];
        slava_heads *h;
        slava_train_info info;
        st = slava_train(ctx, ds, &o, &h, &info);
        if (st == SLAVA_E_INTERRUPTED)
            sv_err_prefix(ctx, "experiment: run %d of %d (%s, seed %llu)", t + 1, n_runs, recipes[r],
                          (unsigned long long)seeds[s]);
        if (st) break;
        st = slava_eval(ctx, ds, split, h, &reports[t]);
        slava_heads_free(h);
        prog.base += (int64_t)al_recipe_stages(recipes[r]) * base->epochs;
    }
    if (prog.fn) slava_ctx_set_progress(ctx, prog.fn, prog.user);
    st = sv_dist_agree(ctx, st);
    if (st || size == 1) return st;
    /* every rank's reports to every rank: rank k holds runs k, k + size, ... */
    int mine = 0;
    for (int t = rank; t < n_runs; t += size) mine++;
    slava_eval_report *own = malloc(sizeof *own * (size_t)(mine ? mine : 1)), *all = NULL;
    if (!own) st = sv_err(ctx, SLAVA_E_NOMEM, "experiment: out of memory");
    for (int t = rank, i = 0; !st && t < n_runs; t += size) own[i++] = reports[t];
    if (!st) st = sv_dist_allgatherv(ctx, own, sizeof *own * (size_t)mine, (void **)&all, NULL);
    free(own);
    st = sv_dist_agree(ctx, st);
    if (st) { free(all); return st; }
    for (int k = 0, i = 0; k < size; k++)
        for (int t = k; t < n_runs; t += size) reports[t] = all[i++];
    free(all);
    return SLAVA_OK;
}

char *slava_table2_format(const char *const *recipes, int n_recipes, int n_seeds,
                          const slava_eval_report *reports, const slava_eval_report *untrained,
                          slava_format fmt) {
    unsigned *masks = malloc(sizeof(unsigned) * (size_t)(n_recipes > 0 ? n_recipes : 1));
    if (!masks) return NULL;
    for (int r = 0; r < n_recipes; r++) masks[r] = slava_recipe_tasks(recipes[r]);
    char *text = sv_table2_format(recipes, n_recipes, n_seeds, reports, untrained, masks, fmt);
    free(masks);
    return text;
}
