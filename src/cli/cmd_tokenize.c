/*
 * cmd_tokenize.c — `slava tokenize --clip DIR [--pad] [--] TEXT...`: the CLIP token ids of each
 * caption (openai clip.tokenize semantics), one JSON array per input per line, in input order.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava tokenize --clip DIR [--pad] [--] TEXT...\n\n"
        "Prints the CLIP BPE token ids of each TEXT as one JSON array per line, in input order:\n"
        "start-of-text id, the caption's ids, end-of-text id. Captions longer than the context\n"
        "(77 tokens, or max_position_embeddings of DIR/config.json) are cut with the end-of-text id\n"
        "kept last, like openai's clip.tokenize(truncate=True). Text is cleaned like openai's\n"
        "tokenizer (ftfy fixes, HTML entities, whitespace, lower case); invalid UTF-8 becomes U+FFFD.\n\n"
        "options:\n"
        "  --clip DIR   folder with vocab.json and merges.txt (a Hugging Face CLIP folder)\n"
        "  --pad        pad every array with 0 to the context length\n"
        "  --           end of options: every later argument is a caption, even '-x' or ''\n");
}

int cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL;
    int pad = 0;
    static const struct option longopts[] = {
        {"clip", required_argument, 0, 'c'}, {"pad", no_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'p': pad = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("tokenize: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("tokenize: unknown option '%s' (slava tokenize --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (!dir) { cli_error("tokenize: --clip DIR is required"); return CLI_USAGE; }
    if (optind >= argc) { cli_error("tokenize: no captions given"); return CLI_USAGE; }
    slava_ctx *ctx = slava_ctx_new();
    int rc = CLI_OK, L = 77;
    if (slava_clip_context_length(ctx, dir, &L) != SLAVA_OK) rc = cli_fail(ctx);
    slava_tokenizer *tok = NULL;
    if (rc == CLI_OK && slava_tokenizer_load(ctx, dir, &tok) != SLAVA_OK) rc = cli_fail(ctx);
    int *ids = rc == CLI_OK ? malloc(sizeof(int) * (size_t)(L < 2 ? 2 : L)) : NULL;
    if (rc == CLI_OK && !ids) { cli_error("tokenize: out of memory"); rc = CLI_FAIL; }
    for (int i = optind; rc == CLI_OK && i < argc; i++) {
        int n = 0;
        if (slava_tokenize(ctx, tok, argv[i], strlen(argv[i]), L, ids, &n, NULL) != SLAVA_OK) { rc = cli_fail(ctx); break; }
        putchar('[');
        for (int k = 0; k < (pad ? L : n); k++) printf(k ? ",%d" : "%d", k < n ? ids[k] : 0);
        fputs("]\n", stdout);
    }
    free(ids);
    slava_tokenizer_free(tok);
    slava_ctx_free(ctx);
    return rc;
}
