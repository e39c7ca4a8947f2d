/*
 * cmd_experiment.c — `slava experiment`: recipes × seeds on one feature store → Table II
 * (R@10 of the seven tasks, mean ± std over seeds), plus every run's full report with --format json.
 */
#include "cli/cli_train.h"
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava experiment --store FILE [--recipes R1,R2,...|all] [--seeds 0,1,2] [options]\n\n"
        "Trains every recipe with every seed (train split, epoch chosen on val), evaluates each on\n"
        "--split (default test) and prints Table II: R@10 (%%) of the seven tasks and their mean,\n"
        "as mean ± sample standard deviation over the seeds, and a row for the untrained heads.\n\n"
        "recipes:");
    cli_print_recipes(f);
    fprintf(f, "\n\noptions:\n"
        "  --store FILE        feature store\n"
        CLI_TABLE2_HELP
        "  --format F          md (default), csv or json (json adds every run's full report)\n"
        CLI_TRAIN_HELP);
}


int cmd_experiment(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, CLI_TABLE2_LONGOPTS,
        CLI_TRAIN_LONGOPTS, {0, 0, 0, 0}};
    cli_train_args a;
    cli_train_args_default(&a);
    cli_table2_args t;
    cli_table2_args_default(&t);
    const char *store = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = cli_train_getopt(argc, argv, longopts, &a, &t)) != -1) {
        switch (c) {
        case CLI_OPT_BAD: return CLI_USAGE;
        case 's': store = optarg; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("experiment: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("experiment: unknown option '%s' (slava experiment --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("experiment: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!store) { cli_error("experiment: --store FILE is required (slava experiment --help)"); return CLI_USAGE; }
    if (cli_table2_args_finish("experiment", &t)) return CLI_USAGE;
    if (cli_train_refuse("experiment", &a, CLI_GIVEN(OPT_SEED), "is not used here: give the seeds with --seeds LIST"))
        return CLI_USAGE;
    slava_set_threads(a.threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, a.quiet);
    cli_log_install(ctx, a.quiet);
    slava_dataset ds;
    const char *inputs[1] = {store};
    if (cli_train_check_outputs(ctx, &a, NULL, inputs, 1) || cli_check_svg(ctx, t.plot, &a, inputs, 1)) {
        slava_ctx_free(ctx);
        return CLI_FAIL;
    }
    unsigned val = 1u << SLAVA_SPLIT_VAL, mask = (1u << SLAVA_SPLIT_TRAIN) | (1u << t.split);
    int rc = cli_load_store(ctx, store, mask | (a.train.keep_last ? 0 : val), a.train.keep_last ? val : 0, a.enc, &ds);
    if (rc) { slava_ctx_free(ctx); return rc; }
    if (cli_train_log_open(&a)) rc = CLI_FAIL;
    if (!rc) rc = cli_table2_print(ctx, &ds, &a.train, t.recipes, t.n_recipes, t.seeds, t.n_seeds, t.split, t.fmt, NULL,
                                            "nothing was written or printed: run the same command again", t.plot);
    if (cli_train_log_close(&a) && !rc) rc = CLI_FAIL;
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return rc;
}
