/*
 * cli_pipeline.c — shared by `slava run` and the media demo: Table II from a feature store (the
 * features of exactly the given encoders, recipes × seeds; printed by cli_table2_print).
 */
#include "cli/cli_pipeline.h"
#include "cli/cli_train.h"
#include <string.h>

int cli_train_table2(slava_ctx *ctx, const char *store, char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN],
                     const slava_train_opts *o, const char *const *recipes, int n_recipes,
                     const uint64_t *seeds, int n_seeds, int split, int fmt, const char *preface,
                     const char *on_stop, const char *plot) {
    slava_dataset ds;
    const char *enc[SLAVA_MODS] = {ids[0], ids[1], ids[2]};
    unsigned val = 1u << SLAVA_SPLIT_VAL, mask = (1u << SLAVA_SPLIT_TRAIN) | (1u << split);
    if (cli_load_store(ctx, store, mask | (o->keep_last ? 0 : val), o->keep_last ? val : 0, enc, &ds)) return CLI_FAIL;
    int rc = cli_table2_print(ctx, &ds, o, recipes, n_recipes, seeds, n_seeds, split, fmt, preface, on_stop, plot);
    slava_dataset_free(&ds);
    return rc;
}
