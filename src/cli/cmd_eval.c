/*
 * cmd_eval.c — `slava eval`: retrieval metrics (DESIGN.md §2) of trained heads (--heads) or of
 * untrained ones (checkpoint projections from --clip / --clap, else the seed) on one split.
 */
#include "cli/cli_train.h"
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava eval --store FILE --heads HEADS.safetensors [--split test] [--format md|csv|json]\n"
        "       slava eval --store FILE [--clip DIR] [--clap DIR] [--seed N] [--audio-head linear] ...\n\n"
        "Seven tasks (visual <- visual / audio / audio-visual captions, audio <- the same, visual <-\n"
        "audio) and their reverse directions: R@1/5/10 (reverse: hit@K and recall@K), mAP@10,\n"
        "nDCG@10, median / mean rank, query and gallery counts. Every caption is a query; captions\n"
        "repeated within a clip and kind count once (the report says how many were merged); clips\n"
        "without audio are left out of audio tasks (and counted); ties rank by clip id.\n"
        "Without --heads, the untrained heads are evaluated: the checkpoints' own projections\n"
        "(--clip, --clap), or random heads from --seed for what is not given.\n\n"
        "options:\n"
        "  --store FILE        feature store\n"
        "  --heads FILE        trained heads (from slava train)\n"
        "  --split S           train, val or test (default test)\n"
        "  --format F          md (default), csv or json\n"
        "  --force             use --heads even when they were trained on features of other\n"
        "                      encoders than the store's (their identities are in the heads file)\n"
        "  --clip DIR / --clap DIR / --seed N / --audio-head KIND   untrained heads (see slava train)\n"
        "  --encoder M=ID      features of encoder ID for modality M when the store holds several\n"
        "  --threads N         threads (default: the cores available)\n");
}

int cmd_eval(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, 's'}, {"heads", required_argument, 0, 'H'},
        {"split", required_argument, 0, 'p'}, {"format", required_argument, 0, 'f'},
        {"force", no_argument, 0, 'F'}, {"help", no_argument, 0, 'h'}, CLI_TRAIN_LONGOPTS, {0, 0, 0, 0}};
    cli_train_args a;
    cli_train_args_default(&a);
    const char *store = NULL, *heads = NULL;
    int c, split = SLAVA_SPLIT_TEST, fmt = SLAVA_FMT_MD, force = 0;
    opterr = 0;
    optind = 1;
    while ((c = cli_train_getopt(argc, argv, longopts, &a, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_BAD: return CLI_USAGE;
        case 's': store = optarg; break;
        case 'H': heads = optarg; break;
        case 'p': if ((split = cli_parse_split(optarg)) < 0) return CLI_USAGE; break;
        case 'f': if ((fmt = cli_parse_format(optarg)) < 0) return CLI_USAGE; break;
        case 'F': force = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("eval: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("eval: unknown option '%s' (slava eval --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("eval: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!store) { cli_error("eval: --store FILE is required (slava eval --help)"); return CLI_USAGE; }
    /* options that would be silently ignored are refused */
    if (cli_train_refuse("eval", &a, CLI_GIVEN(OPT_EPOCHS) | CLI_GIVEN(OPT_BATCH) | CLI_GIVEN(OPT_LR) | CLI_GIVEN(OPT_WD) |
                         CLI_GIVEN(OPT_TEMPERATURE) | CLI_GIVEN(OPT_KEEP) | CLI_GIVEN(OPT_LOG),
                         "is a training option; eval trains nothing"))
        return CLI_USAGE;
    if (heads && cli_train_refuse("eval", &a, CLI_GIVEN(OPT_CLIP) | CLI_GIVEN(OPT_CLAP) | CLI_GIVEN(OPT_SEED) |
                                  CLI_GIVEN(OPT_AUDIO_HEAD), "chooses untrained heads; it cannot go with --heads"))
        return CLI_USAGE;
    if (force && !heads) { cli_error("eval: --force goes with --heads"); return CLI_USAGE; }
    slava_set_threads(a.threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_log_install(ctx, a.quiet);
    slava_heads *h = NULL;
    slava_dataset ds = {0};
    int rc = CLI_OK;
    if (heads && slava_heads_load(ctx, heads, &h)) { rc = cli_fail(ctx); goto done; }
    if ((rc = cli_load_store(ctx, store, 1u << split, 0, a.enc, &ds))) goto done;
    if (h && !force && slava_heads_check_encoders(ctx, h, heads, (const char *const *)ds.encoder_id, store)) {
        rc = cli_fail(ctx);
        goto done;
    }
    if (!h && slava_heads_init(ctx, &ds, &a.train, &h)) { rc = cli_fail(ctx); goto done; }
    slava_eval_report rep;
    slava_status st = slava_eval(ctx, &ds, split, h, &rep);
    if (st) {
        if (st == SLAVA_E_SHAPE && heads) cli_error("%s: %s", heads, slava_ctx_error(ctx));
        else cli_fail(ctx);
        rc = CLI_FAIL;
        goto done;
    }
    char *text = slava_eval_format(&rep, (slava_format)fmt);
    if (!text) { cli_error("eval: out of memory"); rc = CLI_FAIL; goto done; }
    fputs(text, stdout);
    free(text);
done:
    slava_heads_free(h);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return rc;
}
