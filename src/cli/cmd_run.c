/*
 * cmd_run.c — `slava run`: the whole paper in one command. Encodes the collection into the
 * feature store (skipping clips already stored), then trains every recipe × seed and prints
 * Table II (what `slava experiment` does), using the features of exactly these encoders.
 */
#include "cli/cli_pipeline.h"
#include "cli/cli_train.h"
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava run --data DIR --clip DIR --clap DIR --store FILE [--recipes R1,R2,...|all]\n"
        "                 [--seeds 0,1,2] [--split S] [--format md|csv|json] [encode options]\n"
        "                 [training options]\n\n"
        "Reproduces the paper's Table II: encode (slava encode; clips already in the store are\n"
        "skipped, so an interrupted run resumes) + experiment (slava experiment: every recipe with\n"
        "every seed, trained on the train split with the epoch chosen on val, evaluated on --split)\n"
        "on the features of exactly these two encoders.\n\n"
        "To reproduce the paper you need:\n"
        "  - AVCaps: {train,val,test}_captions.json and {train,val,test}_videos.zip (extract the zips\n"
        "    anywhere under --data DIR; videos are found by clip id),\n"
        "  - the CLIP checkpoint openai/clip-vit-base-patch32 and the CLAP checkpoint\n"
        "    laion/clap-htsat-unfused from the Hugging Face Hub (e.g. `huggingface-cli download\n"
        "    openai/clip-vit-base-patch32 --local-dir clip`): folders with model.safetensors (or\n"
        "    pytorch weights converted to safetensors), config.json and, for CLIP, vocab.json and\n"
        "    merges.txt.\n"
        "  slava run --data avcaps --clip clip --clap clap --store avcaps.sqlite\n\n"
        "The visual and text heads start from CLIP's projections and the audio head from CLAP's\n"
        "(--clip / --clap), as in the paper.\n\n"
        "recipes:");
    cli_print_recipes(f);
    fprintf(f, "\n\nencode options (slava encode --help):\n"
        "  --data DIR          collection folder\n"
        "  --captions FILE     one captions file instead (with --split-of-captions S)\n"
        "  --split-of-captions S  split of --captions\n"
        "  --store FILE        feature store (created when missing)\n"
        "  --fps F             frames sampled per second (default 1)\n"
        CLI_PRECISION_HELP
        "  --allow-split-change / --verify-content   as in slava encode\n"
        "\nexperiment options:\n"
        CLI_TABLE2_HELP
        "  --format F          md (default), csv or json\n"
        CLI_TRAIN_HELP
        "\nExit status: 0 when every clip was encoded and the experiment ran; 1 when some clips\n"
        "failed (Table II is still printed, without them) or anything else went wrong.\n");
}


int cmd_run(int argc, char **argv) {
    enum { O_DATA = 512, O_CAPTIONS, O_CSPLIT, O_STORE, O_FPS, O_ALLOW_SPLIT, O_VERIFY, O_PRECISION };
    static const struct option longopts[] = {
        {"data", required_argument, 0, O_DATA}, {"captions", required_argument, 0, O_CAPTIONS},
        {"split-of-captions", required_argument, 0, O_CSPLIT}, {"store", required_argument, 0, O_STORE},
        {"fps", required_argument, 0, O_FPS}, {"allow-split-change", no_argument, 0, O_ALLOW_SPLIT},
        {"verify-content", no_argument, 0, O_VERIFY}, {"precision", required_argument, 0, O_PRECISION},
        {"help", no_argument, 0, 'h'}, CLI_TABLE2_LONGOPTS, CLI_TRAIN_LONGOPTS, {0, 0, 0, 0}};
    cli_train_args a;
    cli_train_args_default(&a);
    cli_encode_args e;
    memset(&e, 0, sizeof e);
    slava_encode_opts_default(&e.enc);
    e.split = -1;
    cli_table2_args t;
    cli_table2_args_default(&t);
    int c;
    opterr = 0;
    optind = 1;
    while ((c = cli_train_getopt(argc, argv, longopts, &a, &t)) != -1) {
        switch (c) {
        case CLI_OPT_BAD: return CLI_USAGE;
        case O_DATA: e.data_dir = optarg; break;
        case O_CAPTIONS: e.captions = optarg; break;
        case O_CSPLIT: if ((e.split = cli_parse_split(optarg)) < 0) return CLI_USAGE; break;
        case O_STORE: e.store = optarg; break;
        case O_FPS:
            if (cli_parse_fps(optarg, &e.enc.fps) < 0) return CLI_USAGE;
            break;
        case O_ALLOW_SPLIT: e.enc.allow_split_change = 1; break;
        case O_VERIFY: e.enc.verify_content = 1; break;
        case O_PRECISION: if (cli_parse_precision(optarg, &e.enc.precision) < 0) return CLI_USAGE; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("run: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("run: unknown option '%s' (slava run --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("run: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!e.data_dir && !e.captions) { cli_error("run: --data DIR (or --captions FILE --split-of-captions S) is required (slava run --help)"); return CLI_USAGE; }
    if (e.captions && e.split < 0) { cli_error("run: --captions needs --split-of-captions train|val|test"); return CLI_USAGE; }
    if (!a.train.clip_dir) { cli_error("run: --clip DIR (a Hugging Face CLIP folder) is required"); return CLI_USAGE; }
    if (!a.train.clap_dir) { cli_error("run: --clap DIR (a Hugging Face CLAP folder) is required"); return CLI_USAGE; }
    if (!e.store) { cli_error("run: --store FILE is required"); return CLI_USAGE; }
    if (cli_table2_args_finish("run", &t)) return CLI_USAGE;
    if (cli_train_refuse("run", &a, CLI_GIVEN(OPT_SEED), "is not used here: give the seeds with --seeds LIST") ||
        cli_train_refuse("run", &a, CLI_GIVEN(OPT_ENCODER), "is not used here: run trains on the features of the "
                         "--clip / --clap encoders it encodes with"))
        return CLI_USAGE;
    e.enc.clip_dir = a.train.clip_dir;
    e.enc.clap_dir = a.train.clap_dir;
    e.quiet = a.quiet;
    slava_set_threads(a.threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, a.quiet);
    cli_log_install(ctx, a.quiet);
    const char *inputs[4] = {e.store, e.captions, a.train.clip_dir, a.train.clap_dir};
    if (cli_train_check_outputs(ctx, &a, NULL, inputs, 4) || cli_check_svg(ctx, t.plot, &a, inputs, 4)) {
        slava_ctx_free(ctx);
        return CLI_FAIL;
    }
    char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    memset(ids, 0, sizeof ids);
    int enc_rc = cli_encode_run(ctx, &e, ids);
    if (enc_rc < 0) { slava_ctx_free(ctx); return cli_stopped_status(); }   /* the encoding stopped (printed) */
    int rc = cli_train_log_open(&a) ? CLI_FAIL : CLI_OK;
    if (!rc)
        rc = cli_train_table2(ctx, e.store, ids, &a.train, t.recipes, t.n_recipes, t.seeds, t.n_seeds, t.split, t.fmt, NULL,
                              "the store keeps every encoded clip and no table was printed: run the same command again "
                              "(stored clips are skipped, the experiment starts over)", t.plot);
    if (cli_train_log_close(&a) && !rc) rc = CLI_FAIL;
    slava_ctx_free(ctx);
    return rc ? rc : enc_rc ? CLI_FAIL : CLI_OK;
}
