/*
 * cmd_demo_media.c — `slava demo` (what `make demo` runs): the real media pipeline with nothing to
 * download. In a work folder (reused on rerun): slava_demo_prepare (src/synth/demo.c) writes a
 * small AVCaps-format collection of mp4 clips and tiny random-weight CLIP and CLAP checkpoints
 * (CLIP's tokenizer files come from the source tree's test fixtures, or --vocab DIR); `slava
 * encode` fills the feature store (resuming when interrupted); `slava index` indexes it for
 * `slava serve` (whose command ends the output); all seven
 * recipes are trained over three seeds and Table II is printed with what it does and does not
 * mean. `slava demo --features` is the feature-level demo (cmd_demo.c).
 */
#include "cli/cli_pipeline.h"
#include "cli/cli_train.h"
#include <stdlib.h>
#include <string.h>

#ifndef SLAVA_SOURCE_DIR
#define SLAVA_SOURCE_DIR "."
#endif
#define DEMO_VOCAB SLAVA_SOURCE_DIR "/tests/fixtures/clip-model"
#define DEMO_SEEDS "0,1,2"

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava demo [--work DIR] [--vocab DIR] [--seeds LIST] [--epochs N] [--format md|csv|json]\n"
        "                  [--threads N] [--quiet]\n"
        "       slava demo --features [--store STORE] ...   (the feature-level demo: slava demo --features --help)\n\n"
        "Runs the whole media pipeline with nothing to download, in a few minutes on 2 cores:\n"
        "  1. slava synth: 160 synthetic mp4 clips (96 train / 32 val / 32 test, 4-20 s, H.264 + AAC,\n"
        "     15%% without an audio track) with all four AVCaps caption kinds    -> WORK/data\n"
        "  2. init-random: tiny random-weight CLIP and CLAP checkpoints in the Hugging Face layout\n"
        "     (configs built into slava; CLIP's vocab.json / merges.txt from --vocab)  -> WORK/clip, WORK/clap\n"
        "  3. slava encode: frames at 1 fps -> CLIP image tower, 10 s audio chunks -> CLAP/HTSAT,\n"
        "     every caption -> CLIP text tower                                 -> WORK/features.sqlite\n"
        "  4. slava index: the clips' embeddings per frame / chunk for search  -> WORK/index.slx\n"
        "  5. all seven recipes x seeds, trained on train, epoch chosen on val -> Table II on test\n"
        "and prints the command that serves the collection in a browser (slava serve WORK/index.slx).\n"
        "The work folder is reused: a rerun skips what is done (an interrupted encode resumes).\n"
        "The encoders are RANDOM and the clips synthetic: the table shows that the pipeline runs end\n"
        "to end, not how SLAVA performs (that needs AVCaps and the real checkpoints: slava run --help).\n\n"
        "options:\n"
        "  --work DIR          work folder (default ./slava-demo)\n"
        "  --vocab DIR         folder with CLIP's vocab.json and merges.txt (default %s)\n"
        "  --seeds LIST        comma-separated seeds (default %s)\n"
        "  --epochs N          epochs per stage (default 30)\n"
        "  --format F          md (default), csv or json\n"
        CLI_PRECISION_HELP
        "  --threads N         threads (default: the cores available)\n"
        "  --quiet             no progress on stderr\n", DEMO_VOCAB, DEMO_SEEDS);
}

int cmd_demo_media(int argc, char **argv) {
    enum { O_WORK = 256, O_VOCAB, O_SEEDS, O_EPOCHS, O_FORMAT, O_THREADS, O_QUIET, O_PRECISION };
    static const struct option longopts[] = {
        {"work", required_argument, 0, O_WORK}, {"vocab", required_argument, 0, O_VOCAB},
        {"seeds", required_argument, 0, O_SEEDS}, {"epochs", required_argument, 0, O_EPOCHS},
        {"format", required_argument, 0, O_FORMAT}, {"threads", required_argument, 0, O_THREADS},
        {"quiet", no_argument, 0, O_QUIET}, {"precision", required_argument, 0, O_PRECISION},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *work = "slava-demo", *vocab = DEMO_VOCAB;
    slava_precision precision = SLAVA_PRECISION_FP32;
    uint64_t seeds[16];
    int n_seeds = cli_parse_seed_list("--seeds", DEMO_SEEDS, seeds, 16);
    int c, quiet = 0, threads = 0, fmt = SLAVA_FMT_MD;
    long v;
    slava_train_opts o;
    slava_train_opts_default(&o);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_WORK: work = optarg; break;
        case O_VOCAB: vocab = optarg; break;
        case O_SEEDS: if ((n_seeds = cli_parse_seed_list("--seeds", optarg, seeds, 16)) < 0) return CLI_USAGE; break;
        case O_EPOCHS: if ((v = cli_parse_long("--epochs", optarg, 1, 1000)) < 0) return CLI_USAGE; o.epochs = (int)v; break;
        case O_FORMAT: if ((fmt = cli_parse_format(optarg)) < 0) return CLI_USAGE; break;
        case O_THREADS: if ((v = cli_parse_long("--threads", optarg, 1, 1024)) < 0) return CLI_USAGE; threads = (int)v; break;
        case O_QUIET: quiet = 1; break;
        case O_PRECISION: if (cli_parse_precision(optarg, &precision) < 0) return CLI_USAGE; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("demo: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("demo: unknown option '%s' (slava demo --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("demo: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!*work) { cli_error("--work: empty folder name"); return CLI_USAGE; }
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, quiet);
    cli_log_install(ctx, quiet);
    int rc = CLI_FAIL;
    double t0 = slava_now(), secs[2] = {0, 0};
    char data[2048], store[2200], clip[2200], clap[2200];
    snprintf(data, sizeof data, "%s/data", work);
    snprintf(store, sizeof store, "%s/features.sqlite", work);
    snprintf(clip, sizeof clip, "%s/clip", work);
    snprintf(clap, sizeof clap, "%s/clap", work);

    /* 1. synthetic clips (the default set of slava synth), 2. tiny random-weight encoders */
    slava_synth_opts so;
    slava_synth_defaults(&so);
    slava_status pst = slava_demo_prepare(ctx, work, &so, vocab, secs);
    if (pst) {
        rc = cli_fail_or_stop(ctx, pst, "what %s holds is complete (clips and checkpoints are written whole): "
                              "run slava demo again to finish", work);
        goto done;
    }
    double t_synth = secs[0], t_models = secs[1], t_encode = 0;

    /* 3. encode (resumes) */
    double t1 = slava_now();
    cli_encode_args ea;
    memset(&ea, 0, sizeof ea);
    ea.data_dir = data;
    ea.split = -1;
    ea.store = store;
    ea.quiet = quiet;
    slava_encode_opts_default(&ea.enc);
    ea.enc.clip_dir = clip;
    ea.enc.clap_dir = clap;
    ea.enc.precision = precision;
    char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    int erc = cli_encode_run(ctx, &ea, ids);
    if (erc < 0) { rc = cli_stopped_status(); goto done; }
    t_encode = slava_now() - t1;

    /* 4. a search index of the collection (checkpoint projections), for slava serve */
    char index[2300];
    snprintf(index, sizeof index, "%s/index.slx", work);
    slava_index_opts io;
    slava_index_opts_default(&io);
    io.store = store;
    io.out = index;
    io.clip_dir = clip;
    io.clap_dir = clap;
    for (int m = 0; m < SLAVA_MODS; m++) io.encoder[m] = ids[m][0] ? ids[m] : NULL;
    slava_status ist = slava_index_build(ctx, &io, NULL);
    if (ist) { rc = cli_fail_or_stop(ctx, ist, "the feature store is complete: run slava demo again"); goto done; }

    /* 5. all seven recipes x seeds -> Table II */
    int n_rec;
    const char *const *recipes = slava_recipes(&n_rec);
    char preface[16384];
    snprintf(preface, sizeof preface,
        "slava demo: the media pipeline end to end on SYNTHETIC clips with RANDOM-weight encoders.\n"
        "  data     %s: %d / %d / %d synthetic mp4 clips (train / val / test), %.0f-%.0f s, %dx%d, H.264/AAC,\n"
        "           about %.0f%% without an audio track, captions of all four kinds generated from each clip's content\n"
        "  encoders tiny random-weight CLIP (ViT-B/32-style image tower and text tower, width 128, 2 layers)\n"
        "           and CLAP (HTSAT, width 16-128) written by init-random: %s, %s\n"
        "  store    %s (frames at 1 fps, 10 s audio chunks, every caption; %s products)\n"
        "  times    synth %.1f s, checkpoints %.1f s, encode %.1f s (0 when reused from an earlier run)\n\n"
        "What the numbers mean: the heads learn to align features of RANDOM encoders on toy clips (one\n"
        "coloured shape, one kind of sound, template captions). Above-chance recall shows that the whole\n"
        "pipeline works - decoding, frame sampling, audio chunking, the three towers, the store,\n"
        "training and evaluation. They say NOTHING about SLAVA, about any recipe's merit, or about the\n"
        "real CLIP / CLAP encoders; the order of the recipes here need not match the paper's. Chance\n"
        "R@10 on %d test clips is about %.0f%%. To reproduce the paper: slava run --help.\n\n",
        data, so.clips[0], so.clips[1], so.clips[2], so.min_seconds, so.max_seconds, so.width, so.height,
        100 * so.no_audio_share, clip, clap, store, slava_precision_name(precision), t_synth, t_models, t_encode, so.clips[2],
        so.clips[2] > 10 ? 1000.0 / so.clips[2] : 100.0);
    rc = cli_train_table2(ctx, store, ids, &o, recipes, n_rec, seeds, n_seeds, SLAVA_SPLIT_TEST, fmt, preface,
                          "the clips, checkpoints and features in the work folder are kept: run slava demo again "
                          "(it reuses them; training starts over)", NULL);
    if (!rc && fmt == SLAVA_FMT_MD) {
        char prog[4200];
        printf("\nTotal %.1f s. Rerunning reuses %s (delete it to start over).\n", slava_now() - t0, work);
        printf("\nSearch the demo collection in a browser (then open http://127.0.0.1:8080/):\n  %s serve %s\n",
               cli_program_path(prog, sizeof prog), index);
    }
    if (!rc && erc) rc = CLI_FAIL;
done:
    slava_ctx_free(ctx);
    return rc;
}
