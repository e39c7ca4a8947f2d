/*
 * cmd_plot.c — `slava plot LOG.jsonl... --out curves.svg`: training curves (mean loss and
 * validation mean R@10 per epoch, one line per run) from the logs `slava train --log` writes.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava plot LOG.jsonl... --out curves.svg\n\n"
        "Draws, from training logs (slava train / experiment / run --log FILE.jsonl), two panels:\n"
        "the mean training loss of each epoch and the validation mean R@10 (%%) after each epoch\n"
        "(epoch 0: the heads before any step; a second stage continues after the first), one line\n"
        "per run (recipe and seed), with a legend. Written as SVG (PLplot); open it in a browser.\n\n"
        "  --out FILE.svg      the picture to write (an existing file must be an SVG)\n");
}

int cmd_plot(int argc, char **argv) {
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("plot: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("plot: unknown option '%s' (slava plot --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (!out) { cli_error("plot: --out FILE.svg is required (slava plot --help)"); return CLI_USAGE; }
    if (optind >= argc) { cli_error("plot: no training logs given (slava plot --help)"); return CLI_USAGE; }
    slava_ctx *ctx = slava_ctx_new();
    int rc = slava_plot_training(ctx, (const char *const *)argv + optind, argc - optind, out) ? cli_fail(ctx) : CLI_OK;
    slava_ctx_free(ctx);
    return rc;
}
