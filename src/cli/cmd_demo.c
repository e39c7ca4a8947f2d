/*
 * cmd_demo.c — `slava demo --features`: the feature-level demo (plain `slava demo` is the media
 * pipeline, cmd_demo_media.c). Generates the synthetic AVCaps-shaped
 * feature set (latent model in docs/spine.md; real runs need the CLIP / CLAP folders and AVCaps),
 * stores it in a feature store and loads it back, trains all seven recipes over a few seeds and
 * prints Table II with mean ± std.
 */
#include "cli/cli_train.h"
#include "cli/cli_pipeline.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEMO_EPOCHS 8
#define DEMO_SEEDS "0,1,2"

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava demo --features [STORE | --store STORE] [--epochs N] [--seeds LIST] [--format md|csv|json] [--threads N]\n\n"
        "Runs slava end to end without any download: generates SYNTHETIC features shaped like\n"
        "AVCaps (1661 / 200 / 200 clips; up to 5 audio, visual and audio-visual captions and 3\n"
        "GPT-AV captions per clip; some clips without audio; visual 768-d, audio 768-d, text 512-d)\n"
        "from a fixed-seed latent model (docs/spine.md), writes them to a feature store, loads them\n"
        "back, trains all seven recipes for each seed and prints Table II (R@10 %%, mean ± std).\n"
        "The numbers describe the synthetic task, not AVCaps: real runs need the CLIP and CLAP\n"
        "folders and the AVCaps videos (slava encode, then slava experiment).\n\n"
        "options:\n"
        "  --store STORE       keep the feature store in STORE (default: a temporary file, removed);\n"
        "                      `--features STORE` says the same\n"
        "  --no-store          skip the feature store round trip (train on the generated set directly)\n"
        "  --epochs N          epochs per stage (default %d, chosen to finish in under two minutes on\n"
        "                      2 cores; the full recipe default is 30)\n"
        "  --seeds LIST        comma-separated seeds (default %s)\n"
        "  --format F          md (default), csv or json\n"
        "  --threads N         threads (default: the cores available)\n"
        "  --quiet             no progress on stderr\n", DEMO_EPOCHS, DEMO_SEEDS);
}

int cmd_demo(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, 'F'}, {"no-store", no_argument, 0, 'N'},
        {"epochs", required_argument, 0, 'e'}, {"seeds", required_argument, 0, 'S'},
        {"format", required_argument, 0, 'f'}, {"threads", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    /* plain `slava demo` is the media pipeline; with --features anywhere, this one. The older
     * form `--features STORE` (a value not starting with '-') still names the store. */
    const char *features = NULL;
    int fi = 0, drop = 1;
    for (int i = 1; i < argc && !fi; i++)
        if (!strcmp(argv[i], "--features") || !strncmp(argv[i], "--features=", 11)) fi = i;
    if (!fi) return cmd_demo_media(argc, argv);
    if (argv[fi][10] == '=') features = argv[fi] + 11;
    else if (fi + 1 < argc && argv[fi + 1][0] != '-') { features = argv[fi + 1]; drop = 2; }
    memmove(&argv[fi], &argv[fi + drop], sizeof *argv * (size_t)(argc - fi - drop + 1));   /* with argv[argc] */
    argc -= drop;
    int c, no_store = 0, quiet = 0, threads = 0, epochs = DEMO_EPOCHS, fmt = SLAVA_FMT_MD, n_seeds;
    uint64_t seeds[16];
    long v;
    n_seeds = cli_parse_seed_list("--seeds", DEMO_SEEDS, seeds, 16);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'F': features = optarg; break;
        case 'N': no_store = 1; break;
        case 'e': if ((v = cli_parse_long("--epochs", optarg, 1, 1000)) < 0) return CLI_USAGE; epochs = (int)v; break;
        case 'S': if ((n_seeds = cli_parse_seed_list("--seeds", optarg, seeds, 16)) < 0) return CLI_USAGE; break;
        case 'f': if ((fmt = cli_parse_format(optarg)) < 0) return CLI_USAGE; break;
        case 'j': if ((v = cli_parse_long("--threads", optarg, 1, 1024)) < 0) return CLI_USAGE; threads = (int)v; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("demo: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("demo: unknown option '%s' (slava demo --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("demo: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (features && no_store) { cli_error("demo: --store and --no-store exclude each other"); return CLI_USAGE; }
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, quiet);
    cli_log_install(ctx, quiet);
    double t0 = slava_now();
    int rc = CLI_OK;
    char tmp[512] = "";
    slava_dataset gen = {0}, ds = {0};
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    if (slava_synth_features(ctx, &so, &gen)) { rc = cli_fail(ctx); goto done; }
    double t_gen = slava_now() - t0, t_store = 0;
    const slava_dataset *use = &gen;
    if (!no_store) {
        if (!features) {
            const char *td = getenv("TMPDIR");
            snprintf(tmp, sizeof tmp, "%s/slava-demo-%ld.sqlite", td && *td ? td : "/tmp", (long)getpid());
            features = tmp;
        }
        slava_store *s = NULL;
        double t1 = slava_now();
        slava_status sst = slava_store_open(ctx, features, 1, &s);
        if (!sst) sst = slava_store_put_dataset(ctx, s, &gen);
        if (!sst) sst = slava_store_load(ctx, s, 0, NULL, &ds);
        if (sst) {
            slava_store_close(s);
            rc = cli_fail_or_stop(ctx, sst, "%s keeps the clips committed so far: run the same command again", features);
            goto done;
        }
        slava_store_close(s);
        t_store = slava_now() - t1;
        use = &ds;
    }
    slava_train_opts o;
    slava_train_opts_default(&o);
    o.epochs = epochs;
    int n_rec;
    const char *const *recipes = slava_recipes(&n_rec);
    char preface[4096];
    snprintf(preface, sizeof preface,
             "slava demo: SYNTHETIC features (latent model of docs/spine.md), not AVCaps.\n"
             "%d / %d / %d clips (train / val / test); features visual %d-d, audio %d-d, text %d-d.\n"
             "Each recipe trained %d epoch%s per stage (the demo's setting; default 30); best epoch on val.\n"
             "Times: generate %.1f s, store round trip %s%.1f s.\n"
             "V = visual clips, A = audio, Vcap / Acap / AVcap = visual / audio / audio-visual captions.\n\n",
             so.n_clips[0], so.n_clips[1], so.n_clips[2], so.d_v, so.d_a, so.d_t, epochs, epochs > 1 ? "s" : "",
             t_gen, no_store ? "(skipped) " : "", t_store);
    rc = cli_table2_print(ctx, use, &o, recipes, n_rec, seeds, n_seeds, SLAVA_SPLIT_TEST, fmt, preface,
                          "no table was printed: run the same command again", NULL);
    if (!rc && fmt == SLAVA_FMT_MD)
        printf("\nReal runs: slava encode --clip DIR --clap DIR (AVCaps videos) -> store; then slava experiment.\n");
done:
    if (tmp[0]) {
        /* the temporary store and its WAL side files */
        char p[600];
        unlink(tmp);
        snprintf(p, sizeof p, "%s-wal", tmp); unlink(p);
        snprintf(p, sizeof p, "%s-shm", tmp); unlink(p);
    }
    slava_dataset_free(&gen);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return rc;
}
