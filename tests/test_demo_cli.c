/*
 * test_demo_cli.c — `slava demo` end to end at a reduced size of training (1 epoch per stage, two
 * seeds): all seven recipes and the untrained row in Table II with mean ± std (av-only: "–" for
 * the text tasks it never trains), the synthetic
 * features stated, the feature store kept with --features and holding the AVCaps-sized set.
 */
#include "test.h"

int main(void) {
    const char *store = tmp_path("demo_features.sqlite");
    char cmd[2048], *out = NULL, *err = NULL, p[1100];
    unlink(store);
    snprintf(p, sizeof p, "%s-wal", store); unlink(p);
    snprintf(p, sizeof p, "%s-shm", store); unlink(p);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " demo --epochs 1 --seeds 0,1 --threads 1 --quiet --features '%s'", store);
    int rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "demo exit %d: %s", rc, err ? err : "");
    CHECK(out && strstr(out, "SYNTHETIC"));
    CHECK(out && strstr(out, "1661 / 200 / 200 clips"));
    int n;
    const char *const *rec = slava_recipes(&n);
    for (int i = 0; i < n; i++) {
        char row[64];
        snprintf(row, sizeof row, "| %s | ", rec[i]);
        const char *r = out ? strstr(out, row) : NULL;
        CHECKF(r != NULL, "no row for %s", rec[i]);
        /* eight cells "m ± s" on the row; av-only trains no text head: "–" for the six text tasks,
         * its mean and V<-A with ± (issue 10) */
        int cells = 0, dashes = 0, av_only = !strcmp(rec[i], "av-only");
        for (const char *q = r; q && *q && *q != '\n'; q++) {
            cells += !strncmp(q, "±", strlen("±"));
            dashes += !strncmp(q, "| – |", strlen("| – |"));
        }
        CHECKF(cells == (av_only ? 2 : 8), "%s: %d cells with ±", rec[i], cells);
        CHECKF(dashes == (av_only ? 6 : 0), "%s: %d '–' cells", rec[i], dashes);
    }
    CHECK(out && strstr(out, "| untrained heads |"));
    free(out); free(err);

    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_dataset ds = {0};
    CHECK_OK(ctx, slava_store_open(ctx, store, 0, &s));
    if (s) CHECK_OK(ctx, slava_store_load(ctx, s, 0, NULL, &ds));
    CHECK(ds.n == 2061 && ds.d_v == 768 && ds.d_a == 768 && ds.d_t == 512);
    slava_dataset_free(&ds);
    slava_store_close(s);
    slava_ctx_free(ctx);

    /* --features and --no-store together: usage error, one line */
    rc = run_cmd(SLAVA_BIN " demo --no-store --features x.sqlite", &out, &err);
    CHECK(rc == 2 && err && count_lines(err) == 1);
    free(out); free(err);
    unlink(store);
    snprintf(p, sizeof p, "%s-wal", store); unlink(p);
    snprintf(p, sizeof p, "%s-shm", store); unlink(p);
    return test_done("demo_cli");
}
