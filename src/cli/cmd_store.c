/*
 * cmd_store.c — `slava store info | export | import`: inspect a feature store (counts per split,
 * caption kind, modality and encoder; failed clips), write its features to safetensors for numpy /
 * PyTorch, and read such a file back. The work is in src/store/; this file parses and prints.
 */
#include "cli/cli_dist.h"
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage_main(FILE *f) {
    fprintf(f,
        "usage: slava store <command> STORE [options]   (slava store <command> --help for each)\n\n"
        "A feature store is one SQLite file (written by `slava encode`, `slava demo` or import)\n"
        "holding clips, captions and the frozen encoders' features.\n\n"
        "commands:\n"
        "  info     counts per split / caption kind / modality / encoder, failed clips\n"
        "  export   write features to a .safetensors file (numpy / PyTorch readable)\n"
        "  import   read such a file into a store (created when missing)\n"
        "  merge    merge the shard stores of a sharded encode (slava encode --shard I/N)\n");
}

static void usage_info(FILE *f) {
    fprintf(f,
        "usage: slava store info STORE [--all]\n\n"
        "Prints, per split: clips (usable, without audio, failed), captions per kind, and for every\n"
        "encoder its modality, feature size D and how many clips / captions have its features;\n"
        "then the failed clips with their reasons (the first 20; --all lists every one).\n");
}

static void usage_export(FILE *f) {
    fprintf(f,
        "usage: slava store export STORE --out FILE.safetensors [--split S]... [--modality M]...\n"
        "                          [--encoder M=ID]...\n\n"
        "Writes the selected clips' features as safetensors: per modality one float32 matrix of all\n"
        "rows (visual [frames, D], audio [chunks, D], text [captions, D]) and an int64 tensor mapping\n"
        "each row to its clip (visual_clip, audio_clip) or caption (text_caption); clip ids, splits and\n"
        "caption texts are JSON in __metadata__ (\"clips\", \"captions\"). docs/store.md has the layout\n"
        "and a numpy example. Clips recorded as failed are left out.\n\n"
        "  --out FILE       output file (written atomically)\n"
        "  --split S        train, val or test (repeat or comma-separate; default: all)\n"
        "  --modality M     visual, audio or text (repeat or comma-separate; default: all stored)\n"
        "  --encoder M=ID   use encoder ID for modality M when the store holds several\n");
}

static void usage_import(FILE *f) {
    fprintf(f,
        "usage: slava store import STORE FILE.safetensors\n\n"
        "Reads a file in the layout `slava store export` writes (features may be F32, F16, BF16 or\n"
        "F64; indices I64 or I32) into STORE, creating it when missing. The whole file is checked\n"
        "first and written in one transaction: a bad file leaves the store exactly as it was.\n"
        "Clips, captions and features already stored are kept as they are.\n");
}

/* Parse a comma-separated list of names into a bit mask; -1 (message printed) on a bad name. */
static int parse_mask(const char *opt, const char *val, int (*parse)(const char *), const char *allowed, unsigned *mask) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", val);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = parse(tok);
        if (k < 0) { cli_error("store: %s must be %s, not '%s'", opt, allowed, tok); return -1; }
        *mask |= 1u << k;
    }
    return 0;
}

static int open_store(const char *path, int mode, slava_ctx *ctx, slava_store **s) {
    if (slava_store_open(ctx, path, mode, s) != SLAVA_OK) return cli_fail(ctx);
    return CLI_OK;
}

/* ------------------------------------------------------------------ info */

static void print_row(const char *label, const int64_t v[SLAVA_SPLITS]) {
    printf("  %-14s %10lld %10lld %10lld %10lld\n", label, (long long)v[0], (long long)v[1], (long long)v[2],
           (long long)(v[0] + v[1] + v[2]));
}

static int store_info(int argc, char **argv) {
    int all = 0;
    static const struct option longopts[] = {{"all", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': all = 1; break;
        case 'h': usage_info(stdout); return CLI_OK;
        default: cli_error("store info: unknown option '%s'", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (argc - optind != 1) { cli_error("store info: expected one STORE file (slava store info --help)"); return CLI_USAGE; }
    const char *path = argv[optind];
    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_store_info in;
    int rc = open_store(path, SLAVA_STORE_READ, ctx, &s);
    if (rc == CLI_OK && slava_store_get_info(ctx, s, &in) != SLAVA_OK) rc = cli_fail(ctx);
    if (rc != CLI_OK) { slava_store_close(s); slava_ctx_free(ctx); return rc; }

    int64_t total = 0;
    for (int k = 0; k < SLAVA_SPLITS; k++) total += in.clips[k] + in.failed[k];
    printf("store: %s (schema %d)%s\n\n", path, in.schema_version, total ? "" : " — empty, no clips");
    printf("  %-14s %10s %10s %10s %10s\n", "clips", "train", "val", "test", "total");
    print_row("usable", in.clips);
    print_row("without audio", in.no_audio);
    print_row("failed", in.failed);
    printf("\n  %-14s %10s %10s %10s %10s\n", "captions", "train", "val", "test", "total");
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        int64_t v[SLAVA_SPLITS] = {in.captions[0][k], in.captions[1][k], in.captions[2][k]};
        print_row(slava_store_kind_name(k), v);
    }
    printf("\n  features (usable clips; items = clips or captions, rows = frames / chunks / captions)\n");
    if (!in.n_encoders) printf("  (none)\n");
    for (int i = 0; i < in.n_encoders; i++) {
        const slava_store_encoder *e = &in.encoders[i];
        printf("  %-6s D=%-5d encoder %s\n", slava_store_modality_name(e->modality), e->d, e->name);
        print_row("  items", e->items);
        if (e->modality != SLAVA_MOD_TEXT) print_row("  rows", e->rows);
    }
    slava_shard_info sh;
    int is_shard = 0;
    if (slava_store_get_shard(ctx, s, &sh, &is_shard) != SLAVA_OK) cli_fail(ctx);
    if (is_shard)
        printf("\n  shard %d/%d of an encode in groups of %d clips (%s, %d threads), %s\n  collection %s\n", sh.index,
               sh.count, sh.group_clips, sh.options, sh.threads, sh.complete ? "complete" : "incomplete", sh.collection);
    if (in.n_failures) {
        int show = all || in.n_failures <= 20 ? in.n_failures : 20;
        printf("\n  failed clips (%d):\n", in.n_failures);
        for (int i = 0; i < show; i++)
            printf("  %-5s %s: %s\n", slava_split_name(in.failures[i].split), in.failures[i].clip, in.failures[i].error);
        if (show < in.n_failures) printf("  ... %d more (--all lists every one)\n", in.n_failures - show);
    }
    slava_store_info_free(&in);
    slava_store_close(s);
    slava_ctx_free(ctx);
    return CLI_OK;
}

/* ------------------------------------------------------------------ export */

static int store_export(int argc, char **argv) {
    const char *out = NULL;
    unsigned splits = 0, mods = 0;
    const char *enc[3] = {NULL, NULL, NULL};
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},      {"split", required_argument, 0, 's'},
        {"modality", required_argument, 0, 'm'}, {"encoder", required_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (parse_mask("--split", optarg, slava_store_split_parse, "train, val or test", &splits)) return CLI_USAGE;
            break;
        case 'm':
            if (parse_mask("--modality", optarg, slava_store_modality_parse, "visual, audio or text", &mods)) return CLI_USAGE;
            break;
        case 'e': if (cli_parse_encoder("store export: --encoder", optarg, enc)) return CLI_USAGE; break;
        case 'h': usage_export(stdout); return CLI_OK;
        case ':': cli_error("store export: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("store export: unknown option '%s'", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (argc - optind != 1) { cli_error("store export: expected one STORE file (slava store export --help)"); return CLI_USAGE; }
    if (!out) { cli_error("store export: --out FILE.safetensors is required"); return CLI_USAGE; }
    struct stat a, b;
    if (stat(out, &a) == 0 && stat(argv[optind], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
        cli_error("store export: --out %s is the store itself", out);
        return CLI_USAGE;
    }
    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_store_counts n;
    cli_progress_install(ctx, 1);   /* no display: Ctrl-C stops cleanly */
    int rc = open_store(argv[optind], SLAVA_STORE_READ, ctx, &s);
    slava_status st = rc == CLI_OK ? slava_store_export(ctx, s, out, splits, mods, enc, &n) : SLAVA_OK;
    if (st) rc = cli_fail_or_stop(ctx, st, "%s was not written: run the same command again", out);
    if (rc == CLI_OK)
        fprintf(stderr, "slava: exported %lld clips, %lld captions, %lld feature items to %s\n", (long long)n.clips,
                (long long)n.captions, (long long)n.features, out);
    slava_store_close(s);
    slava_ctx_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------ import */

static int store_import(int argc, char **argv) {
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') { usage_import(stdout); return CLI_OK; }
        cli_error("store import: unknown option '%s'", argv[optind - 1]);
        return CLI_USAGE;
    }
    if (argc - optind != 2) { cli_error("store import: expected STORE and FILE.safetensors (slava store import --help)"); return CLI_USAGE; }
    const char *path = argv[optind];
    struct stat sb;
    int existed = stat(path, &sb) == 0;
    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_store_counts n;
    cli_progress_install(ctx, 1);   /* no display: Ctrl-C stops cleanly */
    int rc = open_store(path, SLAVA_STORE_CREATE, ctx, &s);
    if (rc == CLI_OK && slava_store_lock_writer(ctx, s, 0)) rc = cli_fail(ctx);
    slava_status st = rc == CLI_OK ? slava_store_import(ctx, s, argv[optind + 1], &n) : SLAVA_OK;
    if (st) {
        rc = cli_fail_or_stop(ctx, st, "%s is as it was (the import is one transaction): run the same command again", path);
        if (!existed) {  /* do not leave an empty store behind a failed import */
            slava_store_close(s);
            s = NULL;
            slava_store_remove(path);
        }
    }
    if (rc == CLI_OK)
        fprintf(stderr, "slava: imported %lld clips, %lld captions, %lld feature items (already stored: %lld, %lld, %lld)\n",
                (long long)n.clips, (long long)n.captions, (long long)n.features, (long long)n.clips_kept,
                (long long)n.captions_kept, (long long)n.features_kept);
    slava_store_close(s);
    slava_ctx_free(ctx);
    return rc;
}

int cmd_store(int argc, char **argv) {
    if (argc < 2) { usage_main(stderr); return CLI_USAGE; }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) { usage_main(stdout); return CLI_OK; }
    if (!strcmp(sub, "info")) return store_info(argc - 1, argv + 1);
    if (!strcmp(sub, "export")) return store_export(argc - 1, argv + 1);
    if (!strcmp(sub, "import")) return store_import(argc - 1, argv + 1);
    if (!strcmp(sub, "merge")) return cmd_store_merge(argc - 1, argv + 1);
    cli_error("store: unknown command '%s' (info, export, import or merge)", sub);
    return CLI_USAGE;
}
