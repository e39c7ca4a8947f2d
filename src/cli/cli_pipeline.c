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
    int rc = cli_table2_print(ctx, &ds, o, recipes, n_recipes, seeds, n_seeds, split, fmt, preface, on_stop);
    slava_dataset_free(&ds);
    return rc;
}
