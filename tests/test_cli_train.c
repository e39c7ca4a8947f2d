/*
 * test_cli_train.c — `slava train / eval / experiment / demo` from the command line: --help, bad
 * options, unknown recipe, unreadable files, and (with a feature store) a train → eval round trip,
 * every output format, experiment's Table II, missing split, empty store, feature-size mismatch;
 * every error is one line on stderr with a non-zero exit, and nothing stored is lost.
 */
#include "cli_testutil.h"
#include <cjson/cJSON.h>

int main(void) {
    char cmd[4096], *out = NULL, *err = NULL;
    int rc;
    /* ---- --help of every command */
    const char *cmds[] = {"train", "eval", "experiment", "demo"};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, SLAVA_BIN " %s --help", cmds[i]);
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 0 && out && strstr(out, "usage: slava") && strstr(out, cmds[i]), "%s --help", cmds[i]);
        free(out); free(err);
    }
    rc = run_cmd(SLAVA_BIN " train --help", &out, &err);
    CHECK(out && strstr(out, "wav2clip-frozen") && strstr(out, "slava-av3") && strstr(out, "--audio-head"));
    free(out); free(err);

    /* ---- usage errors (exit 2), before any file is touched */
    expect_err(SLAVA_BIN " train --store x.sqlite --recipe slava-av4 --out h.safetensors", 2, "unknown recipe 'slava-av4'");
    expect_err(SLAVA_BIN " train --store x.sqlite --out h.safetensors --epochs 0", 2, "--epochs");
    expect_err(SLAVA_BIN " train --recipe slava-av3", 2, "--store");
    expect_err(SLAVA_BIN " train --store x --out y --audio-head conv", 2, "--audio-head");
    expect_err(SLAVA_BIN " eval --store x --format xml", 2, "--format");
    expect_err(SLAVA_BIN " eval --store x --split dev", 2, "--split");
    expect_err(SLAVA_BIN " experiment --store x --recipes slava-av3,bogus", 2, "unknown recipe 'bogus'");
    expect_err(SLAVA_BIN " experiment --store x --seeds 1,,x", 2, "--seeds");
    expect_err(SLAVA_BIN " demo --frobnicate", 2, "unknown option");

    /* ---- unreadable files (exit 1, the file named) */
    expect_err(SLAVA_BIN " train --store /nonexistent/features.sqlite --out h.safetensors --quiet", 1,
               "/nonexistent/features.sqlite");
    const char *junk = tmp_path("cli_train_junk.sqlite");
    FILE *f = fopen(junk, "wb");
    fputs("this is not a database, and it must stay as it is\n", f);
    fclose(f);
    long junk_size = file_size(junk);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s'", junk);
    expect_err(cmd, 1, junk);
    CHECK(file_size(junk) == junk_size);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads /nonexistent/heads.safetensors", junk);
    expect_err(cmd, 1, "/nonexistent/heads.safetensors");

    /* ---- with a feature store */
    slava_ctx *ctx = slava_ctx_new();
    const char *store = tmp_path("cli_train_full.sqlite");
    slava_status st = make_store(ctx, store, 7, 64);
    if (st == SLAVA_E_UNSUPPORTED) {
        /* src/store/ not merged into this tree yet: the placeholder answers "not built yet" */
        printf("SKIP store-backed checks: %s\n", slava_ctx_error(ctx));
        slava_ctx_free(ctx);
        return test_done("cli_train");
    }
    CHECK_OK(ctx, st);
    const char *heads = tmp_path("cli_train_heads.safetensors");
    unlink(heads);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --recipe slava-av3 --out '%s' --epochs 2 --batch 32 "
                              "--lr 1e-3 --seed 5 --threads 1 --quiet", store, heads);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && strstr(out, "kept epoch"), "train: rc %d out %s err %s", rc, out ? out : "", err ? err : "");
    CHECK(file_size(heads) > 0);
    free(out); free(err);
    long heads_size = file_size(heads);

    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --threads 1", store, heads);
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 0 && out && strstr(out, "| 7 | visual <- audio |") && strstr(out, "Reverse directions"));
    free(out); free(err);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --format json --split val", store, heads);
    rc = run_cmd(cmd, &out, &err);
    cJSON *j = rc == 0 && out ? cJSON_Parse(out) : NULL;
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "tasks")) == 14);
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "split")->valuestring, "val"));
    CHECK(j && cJSON_GetObjectItem(j, "clips")->valueint == 40);
    cJSON_Delete(j);
    free(out); free(err);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --format csv", store, heads);
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 0 && count_lines(out) == 15 && !strncmp(out, "split,task,", 11));
    free(out); free(err);
    /* untrained heads: the checkpoints' own projections */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --clip '%s' --clap '%s' --format json", store,
             fixture("clip-model"), fixture("clap-model"));
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "eval --clip --clap: %s", err ? err : "");
    free(out); free(err);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --recipes slava-av3,av-only --seeds 0,1 --epochs 1 --threads 1 "
                              "--batch 32 --quiet", store);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && strstr(out, "| slava-av3 |") && strstr(out, "| av-only |") && strstr(out, "±") &&
           strstr(out, "untrained heads"), "experiment: %s %s", out ? out : "", err ? err : "");
    free(out); free(err);

    /* ---- missing split, empty store, mismatched heads: one line, non-zero, nothing lost */
    const char *nova = tmp_path("cli_train_noval.sqlite");
    CHECK_OK(ctx, make_store(ctx, nova, 5, 64));   /* train + test */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --recipe slava-av3 --out '%s' --quiet", nova, heads);
    expect_err(cmd, 1, "val");
    CHECK(file_size(heads) == heads_size);         /* the earlier heads file is intact */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --split val", nova, heads);
    expect_err(cmd, 1, "val");
    const char *empty = tmp_path("cli_train_empty.sqlite");
    CHECK_OK(ctx, make_store(ctx, empty, 0, 64));
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --recipe av-only --out '%s' --quiet", empty, heads);
    expect_err(cmd, 1, empty);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s'", empty, heads);
    expect_err(cmd, 1, empty);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --quiet", empty);
    expect_err(cmd, 1, empty);
    const char *wide = tmp_path("cli_train_wide.sqlite");
    CHECK_OK(ctx, make_store(ctx, wide, 4, 96));   /* test split, 96-d visual features */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s'", wide, heads);
    expect_err(cmd, 1, heads);
    /* the stores still hold everything */
    slava_store *s = NULL;
    slava_dataset ds = {0};
    CHECK_OK(ctx, slava_store_open(ctx, store, 0, &s));
    if (s) CHECK_OK(ctx, slava_store_load(ctx, s, 0, NULL, &ds));
    CHECK(ds.n == 240 && ds.d_v == 64);
    slava_dataset_free(&ds);
    slava_store_close(s);
    s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, nova, 0, &s));
    if (s) CHECK_OK(ctx, slava_store_load(ctx, s, 0, NULL, &ds));
    CHECK(ds.n == 200);
    slava_dataset_free(&ds);
    slava_store_close(s);
    rm_store(store); rm_store(nova); rm_store(empty); rm_store(wide);
    unlink(heads);
    slava_ctx_free(ctx);
    return test_done("cli_train");
}
