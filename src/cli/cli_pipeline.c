/*
 * cli_pipeline.c — shared by `slava encode`, `run` and the media demo: Table II from a feature store (the features of exactly
 * the given encoders, recipes × seeds).
 */
#include "cli/cli_pipeline.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_train_table2(slava_ctx *ctx, const char *store, char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN],
                     const slava_train_opts *o, const char *const *recipes, int n_recipes,
                     const uint64_t *seeds, int n_seeds, int split, int fmt, const char *preface,
                     const char *on_stop) {
    slava_store *s = NULL;
    slava_dataset ds;
    memset(&ds, 0, sizeof ds);
    const char *enc[SLAVA_MODS] = {ids[0], ids[1], ids[2]};
    unsigned mask = (1u << SLAVA_SPLIT_TRAIN) | (1u << SLAVA_SPLIT_VAL) | (1u << split);
    if (slava_store_open(ctx, store, SLAVA_STORE_READ, &s) || slava_store_load(ctx, s, mask, enc, &ds)) {
        slava_store_close(s);
        return cli_fail(ctx);
    }
    slava_store_close(s);
    int rc = CLI_OK;
    slava_eval_report *reps = calloc((size_t)n_recipes * n_seeds, sizeof *reps), untrained;
    char *text = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!reps) { cli_error("out of memory"); rc = CLI_FAIL; goto done; }
    slava_status st = slava_experiment(ctx, &ds, o, recipes, n_recipes, seeds, n_seeds, split, reps, &untrained);
    if (st) {
        rc = cli_fail_or_stop(ctx, st, "%s", on_stop);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    text = slava_table2_format(recipes, n_recipes, n_seeds, reps, &untrained, (slava_format)fmt);
    if (!text) { cli_error("out of memory"); rc = CLI_FAIL; goto done; }
    if (fmt == SLAVA_FMT_MD) {
        int n[SLAVA_SPLITS] = {0};
        for (int i = 0; i < ds.n; i++) n[ds.clips[i].split]++;
        if (preface) fputs(preface, stdout);
        printf("Table II: R@10 (%%) on the %s split (%d clips, %d without audio), mean ± std over %d seed%s; "
               "trained on %d train clips, epoch chosen on %d val clips; epochs %d per stage, batch %d, lr %g, "
               "wd %g, %s logit scales; %d threads, %.1f s\n\n",
               slava_split_name(split), untrained.n_clips, untrained.n_without_audio, n_seeds, n_seeds > 1 ? "s" : "",
               n[SLAVA_SPLIT_TRAIN], n[SLAVA_SPLIT_VAL], o->epochs, o->batch, o->lr, o->wd,
               o->temperature > 0 ? "fixed" : "learnable", slava_get_threads(),
               (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    }
    fputs(text, stdout);
    fflush(stdout);
done:
    free(text);
    free(reps);
    slava_dataset_free(&ds);
    return rc;
}
