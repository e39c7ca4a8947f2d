/*
 * cmd_serve.c — `slava serve INDEX`: parses the options, starts the server (slava_server_start),
 * prints "listening on URL" and waits for SIGINT / SIGTERM, then stops it cleanly.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava serve INDEX [--port 8080] [--host 127.0.0.1] [--clip DIR] [--clap DIR] [options]\n\n"
        "A local search page and JSON API over a search index (slava index): type a description,\n"
        "drop a sound, image or video, see the matching clips with a thumbnail of the matching\n"
        "second and play them from there. Endpoints (docs/serve.md): GET / (the page),\n"
        "GET /api/search?text=...&in=visual|audio|both&k=N, POST /api/search (form field 'file'),\n"
        "GET /api/clip/ID, GET /api/health, POST /v1/embeddings (OpenAI shape), GET /media/ID\n"
        "(range requests), GET /thumb/ID?t=SECONDS. Only files the index names are served.\n\n"
        "options:\n"
        "  --port P            port (default 8080; 0 = any free port, printed on start)\n"
        "  --host H            address to bind (default 127.0.0.1, this machine only; 0.0.0.0 = all)\n"
        "  --clip DIR          CLIP folder for text / image / video queries (default: the index's)\n"
        "  --clap DIR          CLAP folder for audio queries (default: the index's)\n"
        "  --heads FILE        trained heads (default: the index's)\n"
        "  --precision P       fp32 or bf16: the towers' products for queries (default: the precision of\n"
        "                      the index's features); bf16 queries are faster where the CPU has\n"
        "                      AVX512-BF16 and stay within ~1e-5 cosine of fp32 (docs/speed.md);\n"
        "                      GET /api/health says which (queries.precision)\n"
        "  --workers N         HTTP worker threads (default 8)\n"
        "  --threads N         compute threads for the encoders (default: the cores available)\n"
        "  --max-upload SIZE   largest upload, bytes with an optional k / M / G suffix (default 50M)\n"
        "  --timeout S         socket read / write timeout per request in seconds (default 30)\n"
        "  --max-k N           largest k a request may ask for (default 100)\n"
        "  --thumb-cache SIZE  memory for cached thumbnails (default 64M)\n"
        "  --quiet             no warnings on stderr\n"
        "Stop with Ctrl-C (SIGINT) or SIGTERM: requests in flight finish, then the server exits.\n");
}

/* "50M", "1.5G", "20000" → bytes (SI: k = 1000); -1 when malformed. */
static double parse_size(const char *s) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0) return -1;
    double mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1e3, end++;
    else if (*end == 'M' || *end == 'm') mul = 1e6, end++;
    else if (*end == 'G' || *end == 'g') mul = 1e9, end++;
    if (*end == 'B' || *end == 'b') end++;
    return *end ? -1 : v * mul;
}

int cmd_serve(int argc, char **argv) {
    static const struct option longopts[] = {
        {"port", required_argument, 0, 'p'}, {"host", required_argument, 0, 'H'},
        {"clip", required_argument, 0, 'c'}, {"clap", required_argument, 0, 'a'},
        {"heads", required_argument, 0, 'e'}, {"workers", required_argument, 0, 'w'},
        {"threads", required_argument, 0, 'j'}, {"max-upload", required_argument, 0, 'u'},
        {"timeout", required_argument, 0, 't'}, {"max-k", required_argument, 0, 'k'},
        {"thumb-cache", required_argument, 0, 'T'}, {"quiet", no_argument, 0, 'q'},
        {"precision", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    slava_server_opts o;
    slava_server_opts_default(&o);
    int c, quiet = 0, threads = 0;
    long v;
    double d;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': if ((v = cli_parse_long("--port", optarg, 0, 65535)) < 0) return CLI_USAGE; o.port = (int)v; break;
        case 'H': o.host = optarg; break;
        case 'c': o.clip_dir = optarg; break;
        case 'a': o.clap_dir = optarg; break;
        case 'e': o.heads = optarg; break;
        case 'P': {
            slava_precision p;
            if (cli_parse_precision(optarg, &p) < 0) return CLI_USAGE;
            o.precision = (int)p;
            break;
        }
        case 'w': if ((v = cli_parse_long("--workers", optarg, 1, 1024)) < 0) return CLI_USAGE; o.workers = (int)v; break;
        case 'j': if ((v = cli_parse_long("--threads", optarg, 1, 1024)) < 0) return CLI_USAGE; threads = (int)v; break;
        case 'u':
            if ((d = parse_size(optarg)) < 1 || d > 1e12) { cli_error("--max-upload: expected a size like 50M, got '%s'", optarg); return CLI_USAGE; }
            o.max_upload = (int64_t)d;
            break;
        case 't':
            d = cli_parse_double("--timeout", optarg);
            if (!(d >= 0.1 && d <= 3600)) { cli_error("--timeout: expected seconds from 0.1 to 3600, got '%s'", optarg); return CLI_USAGE; }
            o.timeout_ms = (int)lround(d * 1000);
            break;
        case 'k': if ((v = cli_parse_long("--max-k", optarg, 1, 100000)) < 0) return CLI_USAGE; o.max_k = (int)v; break;
        case 'T':
            if ((d = parse_size(optarg)) < 0 || d > 1e12) { cli_error("--thumb-cache: expected a size like 64M, got '%s'", optarg); return CLI_USAGE; }
            o.thumb_cache = (size_t)d;
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("serve: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("serve: unknown option '%s' (slava serve --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error(optind >= argc ? "serve: give the index file (slava serve INDEX; slava index builds one)"
                                 : "serve: one index file expected, got '%s' too", optind < argc ? argv[optind + 1] : "");
        return CLI_USAGE;
    }
    o.index = argv[optind];
    slava_set_threads(threads);

    /* (options may follow INDEX: getopt permutes, as `slava serve INDEX --port 8080` reads) */
    /* Worker threads inherit this mask: only this thread sees SIGINT / SIGTERM (sigwait below). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    slava_ctx *ctx = slava_ctx_new();
    cli_log_install(ctx, quiet);
    slava_server *srv = NULL;
    if (slava_server_start(ctx, &o, &srv)) {
        int rc = cli_fail(ctx);
        slava_ctx_free(ctx);
        return rc;
    }
    printf("listening on %s\n", slava_server_url(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    slava_server_stop(srv);   /* stops accepting, finishes the requests in flight */
    slava_ctx_free(ctx);
    fprintf(stderr, "slava: interrupted: %s: the server stopped after the requests in flight; %s is unchanged: run "
            "the same command to serve it again\n", sig == SIGINT ? "SIGINT" : "SIGTERM", o.index);
    return 128 + sig;
}
