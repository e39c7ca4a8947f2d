/*
 * cmd_index.c — `slava index`: build or update a search index from a feature store
 * (slava_index_build) and print what changed.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava index --store FILE --out INDEX [--heads HEADS | --clip DIR --clap DIR]\n"
        "                   [--split S]... [--encoder M=ID]... [--precision fp32|bf16] [--f16]\n"
        "                   [--ann | --no-ann] [--force] [--threads N] [--quiet]\n\n"
        "Builds a search index from a feature store, without running any encoder: per clip its pooled\n"
        "visual and audio embeddings and one embedding per frame / 10 s chunk with its times, projected\n"
        "by trained heads (--heads) or by the checkpoints' own projections (--clip, --clap) and\n"
        "L2-normalised. The index records the encoders' identities, the heads' sha256 and the folders,\n"
        "which `slava search` uses to encode queries. Run it again after `slava encode` added clips:\n"
        "only new or changed clips are projected, and it says how many were added / removed.\n\n"
        "options:\n"
        "  --store FILE        feature store (slava encode)\n"
        "  --out INDEX         index file to write or update\n"
        "  --heads FILE        trained heads (slava train); refused when trained on other encoders'\n"
        "                      features than the store's, unless --force\n"
        "  --clip DIR          CLIP folder: its visual projection (without --heads); text, image and\n"
        "                      video queries use it\n"
        "  --clap DIR          CLAP folder: its audio projection (without --heads); audio queries use it\n"
        "  --split S           index only this split (train, val, test; repeatable; default all)\n"
        "  --encoder M=ID      use encoder ID for modality M (visual, audio, text) when the store holds\n"
        "                      features of several\n"
        "  --precision P       index the store's fp32 or bf16 features (encode --precision) for every\n"
        "                      modality without --encoder, e.g. when the store holds both; an error when\n"
        "                      it holds none of P (default: whatever the store holds). search and serve\n"
        "                      embed queries in the precision of the index's features by default\n"
        "  --f16               store the embeddings as float16 (half the size; scores within ~1e-3)\n"
        "  --ann / --no-ann    always / never add an approximate (FAISS HNSW) index; default: from\n"
        "                      200,000 rows on\n"
        "  --force             use heads or checkpoints whose encoder identities differ from the store's\n"
        "  --threads N         threads (default: the cores available)\n"
        "  --quiet             no progress on stderr\n");
}

enum { O_STORE = 256, O_OUT, O_HEADS, O_CLIP, O_CLAP, O_SPLIT, O_ENCODER, O_F16, O_ANN, O_NO_ANN, O_FORCE,
       O_THREADS, O_QUIET, O_PRECISION };

int cmd_index(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, O_STORE}, {"out", required_argument, 0, O_OUT},
        {"heads", required_argument, 0, O_HEADS}, {"clip", required_argument, 0, O_CLIP},
        {"clap", required_argument, 0, O_CLAP}, {"split", required_argument, 0, O_SPLIT},
        {"encoder", required_argument, 0, O_ENCODER}, {"f16", no_argument, 0, O_F16},
        {"ann", no_argument, 0, O_ANN}, {"no-ann", no_argument, 0, O_NO_ANN}, {"force", no_argument, 0, O_FORCE},
        {"threads", required_argument, 0, O_THREADS}, {"quiet", no_argument, 0, O_QUIET},
        {"precision", required_argument, 0, O_PRECISION}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    slava_index_opts o;
    slava_index_opts_default(&o);
    int c, threads = 0, quiet = 0;
    long v;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_STORE: o.store = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_HEADS: o.heads = optarg; break;
        case O_CLIP: o.clip_dir = optarg; break;
        case O_CLAP: o.clap_dir = optarg; break;
        case O_SPLIT: {
            int s = slava_store_split_parse(optarg);
            if (s < 0) { cli_error("index: --split takes train, val or test, not '%s'", optarg); return CLI_USAGE; }
            o.split_mask |= 1u << s;
            break;
        }
        case O_ENCODER: if (cli_parse_encoder("index: --encoder", optarg, o.encoder)) return CLI_USAGE; break;
        case O_PRECISION: {
            slava_precision p;
            if (cli_parse_precision(optarg, &p) < 0) return CLI_USAGE;
            o.precision = (int)p;
            break;
        }
        case O_F16: o.f16 = 1; break;
        case O_ANN: o.ann = 1; break;
        case O_NO_ANN: o.ann = 0; break;
        case O_FORCE: o.force = 1; break;
        case O_THREADS: if ((v = cli_parse_long("--threads", optarg, 1, 1024)) < 0) return CLI_USAGE; threads = (int)v; break;
        case O_QUIET: quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("index: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("index: unknown option '%s' (slava index --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("index: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!o.store || !o.out) { cli_error("index: --store FILE and --out INDEX are required (slava index --help)"); return CLI_USAGE; }
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_log_install(ctx, quiet);
    cli_progress_install(ctx, quiet);
    slava_index_summary s;
    int rc = CLI_OK;
    slava_status st = slava_index_build(ctx, &o, &s);
    if (st)
        rc = cli_fail_or_stop(ctx, st, "%s is as it was (an index is written whole at the end): run the same command "
                              "again", o.out);
    else
        printf("%s: %d clips (%d added, %d removed, %d updated, %d unchanged%s), %lld embeddings (%lld added, "
               "%lld removed), %lld feature rows projected, %.2f s%s\n",
               o.out, s.clips, s.added, s.removed, s.updated, s.unchanged, s.rebuilt ? "; rebuilt" : "",
               (long long)s.rows, (long long)s.rows_added, (long long)s.rows_removed, (long long)s.rows_projected,
               s.seconds, s.ann_built ? "; approximate index built" : "");
    slava_ctx_free(ctx);
    return rc;
}
