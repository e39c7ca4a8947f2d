/*
 * cmd_search.c — `slava search`: parse the query terms, load the encoders they need (the folders
 * the index recorded, or --clip / --clap), build the query, search, print Markdown or JSON.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava search INDEX (--text Q | --audio FILE | --video FILE | --image FILE | --like CLIP)...\n"
        "                    [--weight W] [--in visual|audio|both] [-k N] [--format md|json]\n"
        "                    [--clip DIR] [--clap DIR] [--precision fp32|bf16] [--exact] [--ef N]\n"
        "                    [--threads N]\n\n"
        "Top-k clips of the index for a query, each with its score, the best-matching moment (start and\n"
        "end second of the frame interval or 10 s chunk), the modality that matched and the media path.\n"
        "Queries: --text (CLIP text tower), --image (one frame), --video (its frames), --audio (any file\n"
        "with an audio stream, e.g. a wav or an mp4's sound track), --like (a clip of the index: its own\n"
        "visual and audio embeddings). Several terms add up: each is embedded and normalised, multiplied\n"
        "by its weight (1; a leading '-' makes it -1, e.g. --text -indoor; write \\- for a literal '-';\n"
        "--weight W sets the weight of the term before it), and the sum is normalised.\n"
        "Scores (docs/search.md): per modality the best cosine over the clip's pooled embedding and its\n"
        "moments; --in both averages the visual and audio scores of clips with audio (visual alone for\n"
        "clips without). Encoders come from the folders recorded in the index unless --clip / --clap\n"
        "say otherwise; an encoder other than the index's is an error naming both. Queries are embedded\n"
        "in the precision of the index's features (bf16 when they were encoded with --precision bf16)\n"
        "unless --precision says otherwise.\n\n"
        "options:\n"
        "  --in M          visual, audio or both (default both)\n"
        "  -k N            results (default 10)\n"
        "  --format F      md (default) or json: {\"query\": ..., \"results\": [{\"clip\", \"source\", \"score\",\n"
        "                  \"modality\", \"t_start\", \"t_end\", \"score_visual\", \"score_audio\"}]}\n"
        "  --clip DIR      CLIP folder for text / image / video queries (default: the index's)\n"
        "  --clap DIR      CLAP folder for audio queries (default: the index's)\n"
        "  --precision P   fp32 or bf16: the towers' products for the queries (default: the precision of\n"
        "                  the index's features); the other one is allowed, queries are not stored and\n"
        "                  bf16 ones stay within ~1e-5 cosine of fp32 (docs/speed.md)\n"
        "  --exact         exact scan even when the index has an approximate index\n"
        "  --ef N          breadth of the approximate search (default 256)\n"
        "  --threads N     threads (default: the cores available)\n");
}

enum { O_TEXT = 256, O_AUDIO, O_VIDEO, O_IMAGE, O_LIKE, O_WEIGHT, O_IN, O_FORMAT, O_CLIP, O_CLAP, O_EXACT, O_EF,
       O_THREADS, O_PRECISION };

#define MAX_TERMS 64

int cmd_search(int argc, char **argv) {
    static const struct option longopts[] = {
        {"text", required_argument, 0, O_TEXT}, {"audio", required_argument, 0, O_AUDIO},
        {"video", required_argument, 0, O_VIDEO}, {"image", required_argument, 0, O_IMAGE},
        {"like", required_argument, 0, O_LIKE}, {"weight", required_argument, 0, O_WEIGHT},
        {"in", required_argument, 0, O_IN}, {"format", required_argument, 0, O_FORMAT},
        {"clip", required_argument, 0, O_CLIP}, {"clap", required_argument, 0, O_CLAP},
        {"exact", no_argument, 0, O_EXACT}, {"ef", required_argument, 0, O_EF},
        {"threads", required_argument, 0, O_THREADS}, {"precision", required_argument, 0, O_PRECISION},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    slava_search_term terms[MAX_TERMS];
    int n = 0, c, threads = 0, json = 0, precision = -1;   /* -1: the index's features' */
    const char *clip_dir = NULL, *clap_dir = NULL;
    slava_search_opts so;
    slava_search_opts_default(&so);
    long v;
    double w;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hk:", longopts, NULL)) != -1) {
        switch (c) {
        case O_TEXT: case O_AUDIO: case O_VIDEO: case O_IMAGE: case O_LIKE: {
            static const slava_term_kind kinds[] = {SLAVA_TERM_TEXT, SLAVA_TERM_AUDIO, SLAVA_TERM_VIDEO, SLAVA_TERM_IMAGE,
                                                    SLAVA_TERM_CLIP};
            if (n == MAX_TERMS) { cli_error("search: at most %d query terms", MAX_TERMS); return CLI_USAGE; }
            slava_search_term_from_arg(kinds[c - O_TEXT], optarg, &terms[n++]);
            break;
        }
        case O_WEIGHT:
            if (!n) { cli_error("search: --weight applies to the query term before it; give a term first"); return CLI_USAGE; }
            w = cli_parse_double("--weight", optarg);
            if (isnan(w)) return CLI_USAGE;
            if (w == 0) { cli_error("search: --weight 0 would drop the term"); return CLI_USAGE; }
            terms[n - 1].weight = (float)w;
            break;
        case O_IN:
            if ((so.in = slava_search_in_parse(optarg)) < 0) {
                cli_error("search: --in takes visual, audio or both, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'k': if ((v = cli_parse_long("-k", optarg, 1, 1000000)) < 0) return CLI_USAGE; so.k = (int)v; break;
        case O_FORMAT:
            if (!strcmp(optarg, "json")) json = 1;
            else if (!strcmp(optarg, "md")) json = 0;
            else { cli_error("search: --format takes md or json, not '%s'", optarg); return CLI_USAGE; }
            break;
        case O_CLIP: clip_dir = optarg; break;
        case O_CLAP: clap_dir = optarg; break;
        case O_PRECISION: {
            slava_precision p;
            if (cli_parse_precision(optarg, &p) < 0) return CLI_USAGE;
            precision = (int)p;
            break;
        }
        case O_EXACT: so.exact = 1; break;
        case O_EF: if ((v = cli_parse_long("--ef", optarg, 1, 100000)) < 0) return CLI_USAGE; so.ef = (int)v; break;
        case O_THREADS: if ((v = cli_parse_long("--threads", optarg, 1, 1024)) < 0) return CLI_USAGE; threads = (int)v; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("search: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("search: unknown option '%s' (slava search --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (argc - optind != 1) { cli_error("search: expected one INDEX file (slava search --help)"); return CLI_USAGE; }
    if (!n) { cli_error("search: give a query: --text, --audio, --video, --image or --like (slava search --help)"); return CLI_USAGE; }
    const char *path = argv[optind];
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_log_install(ctx, 1);
    slava_index *ix = NULL;
    slava_embedder *e = NULL;
    slava_search_query q = {0};
    slava_search_hit *hits = NULL;
    int rc = CLI_OK, got = 0;
    if (slava_index_open(ctx, path, &ix)) { rc = cli_fail(ctx); goto done; }
    slava_index_info info;
    slava_index_get_info(ix, &info);
    int need_clip = 0, need_clap = 0;
    for (int i = 0; i < n; i++) {
        need_clip |= terms[i].kind == SLAVA_TERM_TEXT || terms[i].kind == SLAVA_TERM_IMAGE || terms[i].kind == SLAVA_TERM_VIDEO;
        need_clap |= terms[i].kind == SLAVA_TERM_AUDIO;
    }
    if (need_clip || need_clap) {
        slava_embedder_opts eo;
        slava_embedder_opts_default(&eo);
        eo.clip_dir = need_clip ? (clip_dir ? clip_dir : info.clip_dir) : NULL;
        eo.clap_dir = need_clap ? (clap_dir ? clap_dir : info.clap_dir) : NULL;
        if ((need_clip && !eo.clip_dir) || (need_clap && !eo.clap_dir)) {
            cli_error("search: %s: the index records no %s folder; give --%s DIR", path, need_clip && !eo.clip_dir ? "CLIP" : "CLAP",
                      need_clip && !eo.clip_dir ? "clip" : "clap");
            rc = CLI_USAGE;
            goto done;
        }
        eo.heads = info.heads;
        eo.force_heads = 1;   /* the query's encoders are checked against the index's instead */
        eo.fps = info.fps;
        /* queries run in the precision given, else the one the index's features were computed in */
        eo.precision = precision >= 0 ? (slava_precision)precision : info.precision;
        if (slava_embedder_load(ctx, &eo, &e)) { rc = cli_fail(ctx); goto done; }
    }
    if (slava_search_query_build(ctx, ix, e, n, terms, &q)) { rc = cli_fail(ctx); goto done; }
    hits = calloc((size_t)so.k, sizeof *hits);
    if (!hits) { cli_error("search: out of memory"); rc = CLI_FAIL; goto done; }
    if (slava_search(ctx, ix, &q, &so, hits, &got)) { rc = cli_fail(ctx); goto done; }
    char *text = slava_search_format(ix, n, terms, &so, hits, got, json ? SLAVA_FMT_JSON : SLAVA_FMT_MD);
    if (!text) { cli_error("search: out of memory"); rc = CLI_FAIL; goto done; }
    fputs(text, stdout);
    if (json) fputc('\n', stdout);
    free(text);
done:
    free(hits);
    slava_search_query_free(&q);
    slava_embedder_free(e);
    slava_index_free(ix);
    slava_ctx_free(ctx);
    return rc;
}
