/*
 * test_cli_outputs.c — a command never overwrites one of its inputs nor replaces a file of
 * another kind (issue 10, defect 1): `train --out STORE` (also through a symbolic link), `--log`
 * naming the store or the heads file, `experiment --log STORE`, `store export --out` over a
 * heads file; each is one line, exit 1, the file untouched. Replacing a file of the same kind
 * works. The library's writers refuse too (slava_heads_save over a store).
 */
#include "cli_testutil.h"

static char *g_before;
static long g_n;

static void keep(const char *path) { free(g_before); g_before = slurp_file(path, &g_n); }
static void unchanged(const char *path) {
    long n = 0;
    char *now = slurp_file(path, &n);
    CHECKF(g_before && now && n == g_n && !memcmp(g_before, now, n), "%s was changed", path);
    free(now);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    char cmd[4096];
    const char *store = tmp_path("out_store.sqlite"), *heads = tmp_path("out_heads.safetensors");
    const char *link = tmp_path("out_link.safetensors"), *text = tmp_path("out_notes.txt");
    const char *exp = tmp_path("out_export.safetensors"), *logf = tmp_path("out_log.jsonl");
    CHECK_OK(ctx, make_store(ctx, store, 7, 64));
    unlink(heads); unlink(link); unlink(exp); unlink(logf);
    FILE *f = fopen(text, "w");
    fputs("my notes, not a heads file\n", f);
    fclose(f);
    CHECK(symlink(store, link) == 0);
    const char *train = SLAVA_BIN " train --store '%s' --epochs 1 --batch 32 --threads 1 --quiet --out '%s'";

    keep(store);
    snprintf(cmd, sizeof cmd, train, store, store);
    expect_err(cmd, 1, "the output is the same file as the input");
    snprintf(cmd, sizeof cmd, train, store, link);
    expect_err(cmd, 1, "the output is the same file as the input");
    unchanged(store);
    keep(text);
    snprintf(cmd, sizeof cmd, train, store, text);
    expect_err(cmd, 1, "exists and is not a heads file");
    unchanged(text);
    /* a heads file is replaced; the log goes where it is told, but never onto an input */
    snprintf(cmd, sizeof cmd, train, store, heads);
    CHECK(run_cmd(cmd, NULL, NULL) == 0 && file_size(heads) > 0);
    CHECK(run_cmd(cmd, NULL, NULL) == 0 && file_size(heads) > 0);
    keep(store);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --epochs 1 --batch 32 --threads 1 --quiet --out '%s' --log '%s'",
             store, heads, store);
    expect_err(cmd, 1, "the output is the same file as the input");
    unchanged(store);
    keep(heads);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --epochs 1 --batch 32 --threads 1 --quiet --out '%s' --log '%s'",
             store, heads, heads);
    expect_err(cmd, 1, "the output is the same file as the input");
    unchanged(heads);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --epochs 1 --batch 32 --threads 1 --quiet --out '%s' --init '%s'",
             store, heads, heads);
    expect_err(cmd, 1, "the output is the same file as the input");
    unchanged(heads);
    keep(text);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --epochs 1 --batch 32 --threads 1 --quiet --out '%s' --log '%s'",
             store, heads, text);
    expect_err(cmd, 1, "exists and is not a training log");
    unchanged(text);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --epochs 1 --batch 32 --threads 1 --quiet --out '%s' --log '%s'",
             store, heads, logf);
    CHECK(run_cmd(cmd, NULL, NULL) == 0 && file_size(logf) > 0);
    CHECK(run_cmd(cmd, NULL, NULL) == 0 && file_size(logf) > 0);   /* a log replaces a log */
    keep(store);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --recipes av-only --seeds 0 --epochs 1 --batch 32 --threads 1 "
             "--quiet --log '%s'", store, store);
    expect_err(cmd, 1, "the output is the same file as the input");
    unchanged(store);
    /* store export: over a heads file refused, over an export fine */
    keep(heads);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store export '%s' --out '%s'", store, heads);
    expect_err(cmd, 1, "exists and is not a features export");
    unchanged(heads);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store export '%s' --out '%s'", store, exp);
    CHECK(run_cmd(cmd, NULL, NULL) == 0 && file_size(exp) > 0);
    CHECK(run_cmd(cmd, NULL, NULL) == 0 && file_size(exp) > 0);
    /* the library refuses as well */
    slava_heads *h = NULL;
    CHECK_OK(ctx, slava_heads_load(ctx, heads, &h));
    keep(store);
    if (h) CHECK(slava_heads_save(ctx, h, store, NULL, NULL, NULL) == SLAVA_E_ARG);
    unchanged(store);
    slava_heads_free(h);

    free(g_before);
    rm_store(store);
    unlink(heads); unlink(link); unlink(text); unlink(exp); unlink(logf);
    slava_ctx_free(ctx);
    return test_done("cli_outputs");
}
