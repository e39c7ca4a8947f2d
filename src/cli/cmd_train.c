/*
 * cmd_train.c — `slava train`: train projection heads with one recipe on a feature store's train
 * split (epoch chosen on its val split) and save them as safetensors with Hugging Face names.
 */
#include "cli/cli_train.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava train --store FILE --recipe R --out HEADS.safetensors [options]\n\n"
        "Trains the projection heads (visual, text: linear; audio: CLAP's MLP) on the store's train\n"
        "split with symmetric InfoNCE and AdamW, evaluates mean R@10 on the val split after every\n"
        "epoch and keeps the best epoch. The heads file uses Hugging Face names\n"
        "(visual_projection.weight, text_projection.weight, audio_projection.linear1.weight, ...,\n"
        "logit_scale_av/_at/_vt) with the recipe, epoch, validation score and hyper-parameters in\n"
        "__metadata__. Same seed and thread count give a bit-identical file.\n\n"
        "Under mpirun -n N the training is data-parallel: rank r loads only its share of the train\n"
        "clips (every N-th), each step gathers the batch's embeddings from all ranks so that the\n"
        "InfoNCE negatives span the whole batch, sums the head gradients over the ranks and takes the\n"
        "same AdamW step on every rank; the heads equal one process's up to float rounding (the order\n"
        "of the sums), and rank 0 writes --out.\n\n"
        "recipes (DESIGN.md §1):");
    cli_print_recipes(f);
    fprintf(f, "\n\noptions:\n"
        "  --store FILE        feature store (from slava encode / slava demo / slava store import)\n"
        "  --recipe R          training recipe (default slava-av3)\n"
        "  --out FILE          heads file to write (written atomically)\n"
        "  --init HEADS        start from these heads (every tensor, logit scales included; a scale\n"
        "                      the file lacks starts at ln 100) instead of --clip / --clap / --seed\n"
        "  --force             use --init heads trained on other encoders' features than the store's\n"
        CLI_TRAIN_HELP);
}

/* The --log callback of ranks other than 0 in an MPI job: rank 0 writes the file. */
static int log_elsewhere(void *user, const slava_train_record *r) {
    (void)user;
    (void)r;
    return 0;
}

int cmd_train(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, 's'}, {"recipe", required_argument, 0, 'r'},
        {"out", required_argument, 0, 'o'}, {"init", required_argument, 0, 'i'}, {"force", no_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'}, CLI_TRAIN_LONGOPTS, {0, 0, 0, 0}};
    cli_train_args a;
    cli_train_args_default(&a);
    const char *store = NULL, *out = NULL, *init = NULL;
    int c, force = 0;
    opterr = 0;
    optind = 1;
    while ((c = cli_train_getopt(argc, argv, longopts, &a, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_BAD: return CLI_USAGE;
        case 's': store = optarg; break;
        case 'r': a.train.recipe = optarg; break;
        case 'o': out = optarg; break;
        case 'i': init = optarg; break;
        case 'F': force = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("train: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("train: unknown option '%s' (slava train --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("train: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!store || !out) { cli_error("train: --store FILE and --out FILE are required (slava train --help)"); return CLI_USAGE; }
    int n, known = 0;
    const char *const *names = slava_recipes(&n);
    for (int i = 0; i < n; i++) known |= !strcmp(names[i], a.train.recipe);
    if (!known) {
        char list[256] = "";
        for (int i = 0; i < n; i++) { strcat(list, i ? ", " : ""); strcat(list, names[i]); }
        cli_error("train: unknown recipe '%s' (known: %s)", a.train.recipe, list);
        return CLI_USAGE;
    }
    if (init && cli_train_refuse("train", &a, CLI_GIVEN(OPT_CLIP) | CLI_GIVEN(OPT_CLAP),
                                 "cannot go with --init (the heads start from --init)"))
        return CLI_USAGE;
    if (force && !init) { cli_error("train: --force goes with --init"); return CLI_USAGE; }
    slava_set_threads(a.threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, a.quiet);
    cli_log_install(ctx, a.quiet);
    slava_dataset ds = {0};
    slava_heads *h = NULL, *ih = NULL;
    const char *inputs[2] = {store, init};
    int rc = cli_train_check_outputs(ctx, &a, out, inputs, 2);
    if (rc) goto done;
    if (init) {
        if (slava_heads_load(ctx, init, &ih)) { rc = cli_fail(ctx); goto done; }
        int H;
        slava_heads_sizes(ih, NULL, NULL, NULL, NULL, &H);
        if ((a.given & CLI_GIVEN(OPT_AUDIO_HEAD)) && a.train.audio_linear != (H == 0)) {
            cli_error("train: --audio-head %s contradicts %s, which has a%s audio head", a.train.audio_linear ? "linear" : "mlp",
                      init, H == 0 ? " linear" : "n MLP");
            rc = CLI_USAGE;
            goto done;
        }
        a.train.init = ih;
    }
    /* with --keep last the val split only feeds the log: loaded when there is one */
    unsigned val = 1u << SLAVA_SPLIT_VAL;
    /* under mpirun every rank loads its part of the train split (data-parallel training) */
    rc = cli_load_store_part(ctx, store, (1u << SLAVA_SPLIT_TRAIN) | (a.train.keep_last ? 0 : val), a.train.keep_last ? val : 0,
                             a.enc, 1u << SLAVA_SPLIT_TRAIN, &ds);
    if (rc) goto done;
    if (ih && !force && slava_heads_check_encoders(ctx, ih, init, (const char *const *)ds.encoder_id, store)) {
        rc = cli_fail(ctx);
        goto done;
    }
    /* rank 0 writes the log and the heads; the others train alongside (with a log that writes
     * nothing, so that every rank agrees on each record at the same point) */
    if (slava_dist_rank() == 0 && cli_train_log_open(&a)) rc = CLI_FAIL;
    if (slava_dist_rank() > 0 && a.log_path) a.train.log = log_elsewhere;
    if (slava_dist_agree(ctx, rc ? SLAVA_E_IO : SLAVA_OK)) { rc = CLI_FAIL; goto done; }
    slava_train_info info;
    slava_status st = slava_train_dp(ctx, &ds, &a.train, &h, &info);
    if (slava_dist_rank() == 0 && cli_train_log_close(&a) && !st) rc = CLI_FAIL;
    if (!st && !rc && slava_dist_rank() == 0) st = slava_heads_save(ctx, h, out, &a.train, &info, &ds);
    if (st) {
        rc = cli_fail_or_stop(ctx, st, "%s was not written: run the same command again (training starts over)", out);
        goto done;
    }
    if (rc) goto done;
    int last = info.stages - 1;
    printf("%s: recipe %s, seed %llu, kept %s %d", out, a.train.recipe, (unsigned long long)a.train.seed,
           a.train.keep_last ? "the last step, epoch" : "epoch", info.best_epoch[last]);
    if (!a.train.keep_last && info.best_epoch[last] == 0)
        printf(" (no epoch beat the heads the stage started from on validation)");
    if (info.stages > 1) printf(" (stage 1: epoch %d, val %.1f%%)", info.best_epoch[0], 100 * info.best_val[0]);
    if (isfinite(info.best_val[last]))
        printf(", validation mean R@10 %.1f%% (untrained %.1f%%)", 100 * info.best_val[last], 100 * info.init_val);
    printf(", %.1f s\n", info.seconds);
    if (slava_dist_size() > 1)
        printf("%s: data-parallel over %d ranks, %.0f bytes sent + received per step on rank 0\n", out, slava_dist_size(),
               info.comm_bytes);
done:
    slava_heads_free(h);
    slava_heads_free(ih);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return rc;
}
