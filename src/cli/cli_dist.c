/*
 * cli_dist.c — command-line pieces of sharded runs: `--shard I/N` and shard store names.
 */
#include "cli/cli_dist.h"
#include <stdlib.h>
#include <string.h>

int cli_parse_shard(const char *opt, const char *val, int *index, int *count) {
    char *end = NULL;
    long i = strtol(val, &end, 10), n = -1;
    if (end && *end == '/' && end != val) {
        const char *p = end + 1;
        n = strtol(p, &end, 10);
        if (end == p || *end) n = -1;
    }
    if (n < 1 || n > 100000 || i < 1 || i > n) {
        cli_error("%s: expected I/N with 1 <= I <= N (e.g. 2/8), got '%s'", opt, val);
        return -1;
    }
    *index = (int)i;
    *count = (int)n;
    return 0;
}

void cli_shard_path(char *buf, size_t cap, const char *store, const char *dir, int index, int count) {
    const char *base = strrchr(store, '/');
    base = base ? base + 1 : store;
    if (dir) snprintf(buf, cap, "%s/%s.shard-%d-of-%d", dir, base, index, count);
    else snprintf(buf, cap, "%s.shard-%d-of-%d", store, index, count);
}
