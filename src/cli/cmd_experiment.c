/*
 * cmd_experiment.c — `slava experiment`: recipes × seeds on one feature store → Table II
 * (R@10 of the seven tasks, mean ± std over seeds), plus every run's full report with --format json.
 */
#include "cli/cli_train.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(FILE *f) {
    int n;
    const char *const *r = slava_recipes(&n);
    fprintf(f,
        "usage: slava experiment --store FILE [--recipes R1,R2,...|all] [--seeds 0,1,2] [options]\n\n"
        "Trains every recipe with every seed (train split, epoch chosen on val), evaluates each on\n"
        "--split (default test) and prints Table II: R@10 (%%) of the seven tasks and their mean,\n"
        "as mean ± sample standard deviation over the seeds, and a row for the untrained heads.\n\n"
        "recipes:");
    for (int i = 0; i < n; i++) fprintf(f, " %s", r[i]);
    fprintf(f, "\n\noptions:\n"
        "  --store FILE        feature store\n"
        "  --recipes LIST      comma-separated recipes, or all (default all)\n"
        "  --seeds LIST        comma-separated seeds (default 0,1,2)\n"
        "  --split S           split to evaluate (default test)\n"
        "  --format F          md (default), csv or json (json adds every run's full report)\n"
        CLI_TRAIN_HELP);
}


int cmd_experiment(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, 's'}, {"recipes", required_argument, 0, 'r'},
        {"seeds", required_argument, 0, 'S'}, {"split", required_argument, 0, 'p'},
        {"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, CLI_TRAIN_LONGOPTS, {0, 0, 0, 0}};
    cli_train_args a;
    cli_train_args_default(&a);
    const char *store = NULL;
    char rbuf[1024] = "all";
    const char *recipes[32];
    uint64_t seeds[64] = {0, 1, 2};
    int n_seeds = 3, n_rec, c, r, split = SLAVA_SPLIT_TEST, fmt = SLAVA_FMT_MD;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        if ((r = cli_train_option(c, optarg, &a)) < 0) return CLI_USAGE;
        if (r) continue;
        switch (c) {
        case 's': store = optarg; break;
        case 'r': snprintf(rbuf, sizeof rbuf, "%s", optarg); break;
        case 'S': if ((n_seeds = cli_parse_seed_list("--seeds", optarg, seeds, 64)) < 0) return CLI_USAGE; break;
        case 'p': if ((split = cli_parse_split(optarg)) < 0) return CLI_USAGE; break;
        case 'f': if ((fmt = cli_parse_format(optarg)) < 0) return CLI_USAGE; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("experiment: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("experiment: unknown option '%s' (slava experiment --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("experiment: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!store) { cli_error("experiment: --store FILE is required (slava experiment --help)"); return CLI_USAGE; }
    if ((n_rec = cli_parse_recipes("experiment", rbuf, recipes, 32)) < 0) return CLI_USAGE;
    slava_set_threads(a.threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, a.quiet);
    cli_log_install(ctx, a.quiet);
    slava_dataset ds;
    unsigned mask = (1u << SLAVA_SPLIT_TRAIN) | (1u << SLAVA_SPLIT_VAL) | (1u << split);
    int rc = cli_load_store(ctx, store, mask, &ds);
    if (rc) { slava_ctx_free(ctx); return rc; }
    slava_eval_report *reps = calloc((size_t)n_rec * n_seeds, sizeof *reps), untrained;
    if (!reps) { cli_error("experiment: out of memory"); rc = CLI_FAIL; goto done; }
    double t0 = now();
    slava_status st = slava_experiment(ctx, &ds, &a.train, recipes, n_rec, seeds, n_seeds, split, reps, &untrained);
    if (st) {
        rc = cli_fail_or_stop(ctx, st, "nothing was written or printed: run the same command again");
        goto done;
    }
    double secs = now() - t0;
    char *text = slava_table2_format(recipes, n_rec, n_seeds, reps, &untrained, (slava_format)fmt);
    if (!text) { cli_error("experiment: out of memory"); rc = CLI_FAIL; goto done; }
    if (fmt == SLAVA_FMT_MD) {
        static const char *sn[] = {"train", "val", "test"};
        printf("Table II: R@10 (%%) on the %s split, mean ± std over %d seed%s; epochs %d per stage, batch %d, "
               "lr %g, wd %g, %s logit scales; %d threads, %.1f s\n\n",
               sn[split], n_seeds, n_seeds > 1 ? "s" : "", a.train.epochs, a.train.batch, a.train.lr, a.train.wd,
               a.train.temperature > 0 ? "fixed" : "learnable", slava_get_threads(),
               secs);
    }
    fputs(text, stdout);
    free(text);
done:
    free(reps);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return rc;
}
