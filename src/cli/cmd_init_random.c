/*
 * cmd_init_random.c — `slava init-random --like clip|clap --config config.json --seed N --out DIR`:
 * a random-weight checkpoint folder in the exact Hugging Face layout (for tests, benches, demo).
 */
#include "cli/cli.h"
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava init-random --like clip|clap --config config.json --out DIR [--seed N] [--force]\n\n"
        "Writes DIR/model.safetensors and DIR/config.json (and for CLIP the tokenizer files\n"
        "vocab.json / merges.txt when found beside config.json) with random weights, in exactly\n"
        "the layout Hugging Face transformers writes. All sizes come from config.json.\n\n"
        "  --like clip|clap   which model family\n"
        "  --config FILE      config.json giving the sizes (keys left out take upstream defaults)\n"
        "  --out DIR          output folder (created; a folder that holds anything is refused)\n"
        "  --seed N           random seed (default 0)\n"
        "  --force            write into a non-empty --out folder, replacing a checkpoint there\n");
}

int cmd_init_random(int argc, char **argv) {
    const char *like = NULL, *config = NULL, *out = NULL;
    long seed = 0;
    static const struct option longopts[] = {
        {"like", required_argument, 0, 'l'}, {"config", required_argument, 0, 'c'},
        {"out", required_argument, 0, 'o'},  {"seed", required_argument, 0, 's'},
        {"force", no_argument, 0, 'f'},      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c, force = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': like = optarg; break;
        case 'c': config = optarg; break;
        case 'o': out = optarg; break;
        case 's': if ((seed = cli_parse_long("--seed", optarg, 0, 0x7fffffffL)) < 0) return CLI_USAGE; break;
        case 'f': force = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("init-random: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("init-random: unknown option '%s'", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("init-random: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!like || !config || !out) { cli_error("init-random: --like, --config and --out are required"); return CLI_USAGE; }
    /* never overwrite a checkpoint without being told to; never replace the --config read */
    struct stat so, sc;
    char cfg_out[4200];
    snprintf(cfg_out, sizeof cfg_out, "%s/config.json", out);
    if (stat(cfg_out, &so) == 0 && stat(config, &sc) == 0 && so.st_dev == sc.st_dev && so.st_ino == sc.st_ino) {
        cli_error("init-random: --config %s is %s, which this command writes; give a copy of it", config, cfg_out);
        return CLI_FAIL;
    }
    DIR *d = opendir(out);
    if (d) {
        int entries = 0;
        for (struct dirent *e; (e = readdir(d));) entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
        closedir(d);
        if (entries && !force) {
            cli_error("init-random: %s is not empty (%d entr%s); --force writes the checkpoint into it anyway", out, entries,
                      entries == 1 ? "y" : "ies");
            return CLI_FAIL;
        }
    } else if (stat(out, &so) == 0 && !S_ISDIR(so.st_mode)) {
        cli_error("init-random: %s exists and is not a folder", out);
        return CLI_FAIL;
    }
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, 1);   /* no display: Ctrl-C stops cleanly */
    slava_status st;
    if (!strcmp(like, "clip")) st = slava_clip_init_random(ctx, config, (uint64_t)seed, out);
    else if (!strcmp(like, "clap")) st = slava_clap_init_random(ctx, config, (uint64_t)seed, out);
    else { slava_ctx_free(ctx); cli_error("init-random: --like must be clip or clap, not '%s'", like); return CLI_USAGE; }
    int rc = st == SLAVA_OK ? CLI_OK
           : cli_fail_or_stop(ctx, st, "%s has no model.safetensors (it is written last): run the same command again", out);
    slava_ctx_free(ctx);
    return rc;
}
