/*
 * cli_testutil.h — helpers shared by the tests that drive the `slava` command line on feature
 * stores: one-line error checks, a synthetic feature store, removing a store with its -wal/-shm
 * files, file sizes.
 */
#ifndef SLAVA_CLI_TESTUTIL_H
#define SLAVA_CLI_TESTUTIL_H

#include "test.h"
#include <sys/stat.h>

/* Run cmd: exit code `want`, stderr exactly one line "slava: ..." containing `needle`. */
static inline void expect_err(const char *cmd, int want, const char *needle) {
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == want, "%s: exit %d, expected %d (stderr: %s)", cmd, rc, want, err ? err : "");
    CHECKF(err && count_lines(err) == 1 && !strncmp(err, "slava: ", 7), "%s: stderr not one line: %s", cmd, err ? err : "");
    CHECKF(err && strstr(err, needle), "%s: stderr lacks '%s': %s", cmd, needle, err ? err : "");
    free(out);
    free(err);
}

static inline void rm_store(const char *p) {
    char b[1300];
    unlink(p);
    snprintf(b, sizeof b, "%s-wal", p); unlink(b);
    snprintf(b, sizeof b, "%s-shm", p); unlink(b);
}

static inline long file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) ? -1 : (long)sb.st_size;
}

/* Synthetic features (slava_synth_features, fixture sizes) for the splits in mask: 160 train
 * clips, 40 val / test. */
static inline slava_status synth_set(slava_ctx *ctx, unsigned mask, int d_v, slava_dataset *ds) {
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    for (int s = 0; s < 3; s++) so.n_clips[s] = (mask >> s & 1) ? (s == 0 ? 160 : 40) : 0;
    so.d_v = d_v; so.d_a = 128; so.d_t = 64;
    so.max_frames = 5;
    return slava_synth_features(ctx, &so, ds);
}

/* A store at path (replaced) holding synth_set(mask, d_v); mask 0: an empty store. */
static inline slava_status make_store(slava_ctx *ctx, const char *path, unsigned mask, int d_v) {
    rm_store(path);
    slava_dataset ds = {0};
    slava_store *s = NULL;
    slava_status st = SLAVA_OK;
    if (mask) st = synth_set(ctx, mask, d_v, &ds);
    if (!st) st = slava_store_open(ctx, path, 1, &s);
    if (!st && mask) st = slava_store_put_dataset(ctx, s, &ds);
    slava_store_close(s);
    slava_dataset_free(&ds);
    return st;
}

#endif
