/*
 * cmd_store_merge.c — `slava store merge OUT SHARD...`: the shard stores of a sharded encode
 * (slava encode --shard I/N, one per Slurm array task or shell loop step) merged into one store.
 * The work is slava_store_merge (src/store/store_merge.c); this file parses and prints.
 */
#include "cli/cli_dist.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava store merge OUT SHARD... [--each] [--remove] [--quiet]\n\n"
        "Merges the shard stores of a sharded encode (written by `slava encode --shard I/N`, e.g.\n"
        "STORE.shard-1-of-8 ... STORE.shard-8-of-8) into OUT, created when missing. Every shard must\n"
        "be complete and of the same encode (collection, encoders, options); shards of another\n"
        "encode, an incomplete shard, or two files claiming the same shard are refused and OUT is\n"
        "left as it was. Rows OUT already holds are kept, so merging again changes nothing, and\n"
        "shards may be merged a few at a time. The merged store holds the bytes a one-process\n"
        "`slava encode` with the same options (and threads) stores.\n\n"
        "options:\n"
        "  --each     one transaction per shard instead of one for all (very large merges)\n"
        "  --remove   delete the shard files after a successful merge\n"
        "  --quiet    no progress or summary on stderr\n");
}

int cmd_store_merge(int argc, char **argv) {
    static const struct option longopts[] = {{"each", no_argument, 0, 'e'}, {"remove", no_argument, 0, 'r'},
                                             {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c, each = 0, remove = 0, quiet = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': each = 1; break;
        case 'r': remove = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: cli_error("store merge: unknown option '%s' (slava store merge --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (argc - optind < 2) { cli_error("store merge: expected OUT and at least one SHARD (slava store merge --help)"); return CLI_USAGE; }
    const char *out = argv[optind];
    const char *const *shards = (const char *const *)argv + optind + 1;
    int n = argc - optind - 1;
    int existed = access(out, F_OK) == 0;
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, quiet);
    cli_log_install(ctx, quiet);
    slava_store *s = NULL;
    slava_store_counts cnt;
    int rc = CLI_OK;
    if (slava_store_open(ctx, out, SLAVA_STORE_CREATE, &s) || slava_store_lock_writer(ctx, s, 0) || slava_store_merge(ctx, s, n, shards, each ? SLAVA_MERGE_COMMIT_EACH : 0, &cnt)) {
        rc = cli_fail(ctx);
        slava_store_close(s);
        s = NULL;
        if (!existed) slava_store_remove(out);   /* no empty store left behind a refused merge */
    }
    if (rc == CLI_OK && !quiet) {
        /* which of the N shards this merge covered */
        int count = 0, distinct = 0;
        char *have = NULL;
        for (int i = 0; i < n; i++) {
            slava_store *sh = NULL;
            slava_shard_info info;
            int is_shard = 0;
            if (!slava_store_open(ctx, shards[i], SLAVA_STORE_READ, &sh) && !slava_store_get_shard(ctx, sh, &info, &is_shard) && is_shard) {
                if (!have) { count = info.count; have = calloc((size_t)count, 1); }
                if (have && info.count == count && !have[info.index - 1]) { have[info.index - 1] = 1; distinct++; }
            }
            slava_store_close(sh);
        }
        fprintf(stderr, "slava: merged %d of %d shards into %s: %lld clips, %lld captions, %lld feature items added "
                "(already there: %lld, %lld, %lld)\n", distinct, count, out, (long long)cnt.clips, (long long)cnt.captions,
                (long long)cnt.features, (long long)cnt.clips_kept, (long long)cnt.captions_kept, (long long)cnt.features_kept);
        if (have && distinct < count) {
            char missing[256] = "";
            size_t used = 0;
            for (int k = 0; k < count && used < sizeof missing - 24; k++)
                if (!have[k]) used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d", used ? ", " : "", k + 1);
            cli_error("note: not among the shards given: %s%s (merge them too, unless done before)", missing, used >= sizeof missing - 24 ? ", ..." : "");
        }
        free(have);
    }
    if (rc == CLI_OK && remove)
        for (int i = 0; i < n; i++) slava_store_remove(shards[i]);
    slava_store_close(s);
    slava_ctx_free(ctx);
    return rc;
}
