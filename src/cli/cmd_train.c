/*
 * cmd_train.c — `slava train`: train projection heads with one recipe on a feature store's train
 * split (epoch chosen on its val split) and save them as safetensors with Hugging Face names.
 */
#include "cli/cli_train.h"
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
        CLI_TRAIN_HELP);
}

int cmd_train(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, 's'}, {"recipe", required_argument, 0, 'r'},
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, CLI_TRAIN_LONGOPTS, {0, 0, 0, 0}};
    cli_train_args a;
    cli_train_args_default(&a);
    const char *store = NULL, *out = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = cli_train_getopt(argc, argv, longopts, &a, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_BAD: return CLI_USAGE;
        case 's': store = optarg; break;
        case 'r': a.train.recipe = optarg; break;
        case 'o': out = optarg; break;
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
    slava_set_threads(a.threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, a.quiet);
    cli_log_install(ctx, a.quiet);
    slava_dataset ds;
    /* under mpirun every rank loads its part of the train split (data-parallel training) */
    int rc = cli_load_store_part(ctx, store, (1u << SLAVA_SPLIT_TRAIN) | (1u << SLAVA_SPLIT_VAL), 1u << SLAVA_SPLIT_TRAIN, &ds);
    if (rc) { slava_ctx_free(ctx); return rc; }
    slava_heads *h = NULL;
    slava_train_info info;
    slava_status st = slava_train_dp(ctx, &ds, &a.train, &h, &info);
    if (!st && slava_dist_rank() == 0) st = slava_heads_save(ctx, h, out, &a.train, &info, &ds);   /* rank 0 writes */
    if (st) {
        rc = cli_fail_or_stop(ctx, st, "%s was not written: run the same command again (training starts over)", out);
    } else {
        printf("%s: recipe %s, seed %llu, kept epoch %d", out, a.train.recipe, (unsigned long long)a.train.seed,
               info.best_epoch[info.stages - 1]);
        if (info.stages > 1) printf(" (stage 1: epoch %d, val %.1f%%)", info.best_epoch[0], 100 * info.best_val[0]);
        printf(", validation mean R@10 %.1f%% (untrained %.1f%%), %.1f s\n", 100 * info.best_val[info.stages - 1],
               100 * info.init_val, info.seconds);
        if (slava_dist_size() > 1)
            printf("%s: data-parallel over %d ranks, %.0f bytes sent + received per step on rank 0\n", out,
                   slava_dist_size(), info.comm_bytes);
    }
    slava_heads_free(h);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return rc;
}
