/*
 * test_cli_hygiene.c — the command line never does something other than asked (issue 10,
 * defect 10): options after the inputs are options (GNU permutation; `--` ends them) in embed and
 * tokenize; JSON output is valid UTF-8 whatever the input (U+FFFD, one warning); non-UTF-8 clip
 * ids are refused by encode and store import; options a command would ignore are refused and
 * the ones it takes work (eval --seed); seed lists refuse duplicates and name an empty item; one
 * seed shows no "± 0.0"; av-only shows "–" for the text tasks it never trains and averages the
 * rest; errors are one line even for a file name with a line break; a failed encode leaves no
 * empty store behind; init-random refuses a non-empty folder without --force (defect 7) and never
 * overwrites the --config it reads.
 */
#include "cli_testutil.h"
#include "base/base.h"

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"

static void spit(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs(s, f) >= 0);
    if (f) fclose(f);
}

int main(void) {
    char cmd[4096], *out = NULL, *err = NULL;
    int rc;
    slava_ctx *ctx = slava_ctx_new();

    /* ---- options after the inputs (tokenize, embed) */
    rc = run_cmd(SLAVA_BIN " tokenize --clip " CLIP_DIR " 'a dog' --pad", &out, &err);
    CHECKF(rc == 0 && out && count_lines(out) == 1 && strstr(out, ",0,0,0]"), "tokenize TEXT --pad: %s %s", out, err);
    free(out); free(err);
    rc = run_cmd(SLAVA_BIN " tokenize --clip " CLIP_DIR " -- --pad", &out, &err);   /* after --: a caption */
    CHECK(rc == 0 && out && count_lines(out) == 1 && !strstr(out, ",0,0]"));
    free(out); free(err);
    expect_err(SLAVA_BIN " embed --clip " CLIP_DIR " --text 'a dog' --fps 0", 2, "--fps");
    rc = run_cmd(SLAVA_BIN " embed --clip " CLIP_DIR " --text 'a dog' --threads 1", &out, &err);
    CHECK(rc == 0 && out && count_lines(out) == 1 && strstr(out, "\"input\":\"a dog\""));
    free(out); free(err);
    rc = run_cmd(SLAVA_BIN " embed --clip " CLIP_DIR " --text -- 'a dog' --threads", &out, &err);   /* both inputs */
    CHECK(rc == 0 && out && count_lines(out) == 2 && strstr(out, "\"input\":\"--threads\""));
    free(out); free(err);

    /* ---- JSON output is valid UTF-8 */
    rc = run_cmd(SLAVA_BIN " embed --clip " CLIP_DIR " --text \"$(printf 'caf\\351 \\377\\376 ok')\" 'fine' --threads 1", &out, &err);
    CHECK(rc == 0 && out && count_lines(out) == 2);
    CHECKF(out && sv_utf8_valid(out, strlen(out)), "embed printed invalid UTF-8");
    CHECK(out && strstr(out, "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok"));
    CHECKF(err && count_lines(err) == 1 && strstr(err, "warning") && strstr(err, "U+FFFD"), "stderr: %s", err ? err : "");
    free(out); free(err);

    /* ---- non-UTF-8 clip ids: encode and store import refuse them */
    char data[600], caps[700], store[700];
    snprintf(data, sizeof data, "%s/hy_data", SLAVA_TMP);
    snprintf(caps, sizeof caps, "%s/train_captions.json", data);
    snprintf(store, sizeof store, "%s/hy_store.sqlite", SLAVA_TMP);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", data, data);
    CHECK(system(cmd) == 0);
    spit(caps, "{\"clip\xff" "1\": {\"audio_captions\": [\"a dog barks\"]}}");
    rm_store(store);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --quiet", data, store);
    expect_err(cmd, 1, "is not valid UTF-8");
    CHECK(file_size(store) < 0);
    const char *imp = tmp_path("hy_import.safetensors");
    {   /* a features file whose clip id has an invalid byte */
        FILE *f = fopen(imp, "wb");
        const char *hdr = "{\"__metadata__\":{\"format\":\"slava-features/1\",\"clips\":\"[{\\\"id\\\":\\\"bad\xff\\\",\\\"split\\\":\\\"train\\\"}]\"}}";
        size_t hl = strlen(hdr);
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hl >> (8 * i));
        CHECK(f && fwrite(len8, 1, 8, f) == 8 && fwrite(hdr, 1, hl, f) == hl);
        if (f) fclose(f);
    }
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store import '%s' '%s'", store, imp);
    expect_err(cmd, 1, "is not valid UTF-8");
    CHECK(file_size(store) < 0);   /* no empty store left either */

    /* ---- a failed encode (bad --clip) leaves no empty store */
    spit(caps, "{\"clip1\": {\"audio_captions\": [\"a dog barks\"]}}");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip /nonexistent/clip --clap " CLAP_DIR " --store '%s' --quiet",
             data, store);
    expect_err(cmd, 1, "/nonexistent/clip");
    CHECK(file_size(store) < 0);

    /* ---- options that would be ignored are refused; the ones taken work */
    const char *fs = tmp_path("hy_feat.sqlite"), *heads = tmp_path("hy_heads.safetensors");
    CHECK_OK(ctx, make_store(ctx, fs, 7, 64));
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --out '%s' --epochs 1 --batch 32 --threads 1 --quiet", fs, heads);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --seed 3 --quiet", fs);
    expect_err(cmd, 2, "--seeds");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --seed 3", fs, heads);
    expect_err(cmd, 2, "--seed");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --audio-head linear", fs, heads);
    expect_err(cmd, 2, "--audio-head");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --epochs 3", fs);
    expect_err(cmd, 2, "--epochs is a training option");
    char *o1 = NULL, *o2 = NULL;
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --seed 1 --format csv --threads 1", fs);
    CHECK(run_cmd(cmd, &o1, NULL) == 0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --seed 2 --format csv --threads 1", fs);
    CHECK(run_cmd(cmd, &o2, NULL) == 0);
    CHECKF(o1 && o2 && strcmp(o1, o2), "eval --seed changes nothing");
    free(o1); free(o2);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --seed 1 --audio-head linear --format csv --threads 1", fs);
    CHECK(run_cmd(cmd, &o1, NULL) == 0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --seed 1 --format csv --threads 1", fs);
    CHECK(run_cmd(cmd, &o2, NULL) == 0);
    CHECKF(o1 && o2 && strcmp(o1, o2), "eval --audio-head changes nothing");
    free(o1); free(o2);

    /* ---- seed lists */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --seeds 1,1", fs);
    expect_err(cmd, 2, "seed 1 is given twice");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --seeds 1,,2", fs);
    expect_err(cmd, 2, "item 2 of '1,,2' is empty");

    /* ---- one seed: no "± 0.0"; av-only: "–" for the text tasks, the mean over what it trains */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --recipes slava-av3,av-only --seeds 4 --epochs 1 --batch 32 "
             "--threads 1 --quiet", fs);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && !strstr(out, "±"), "one seed: %s", out ? out : "");
    const char *row = out ? strstr(out, "| av-only |") : NULL;
    CHECK(row != NULL);
    if (row) {
        double v[2] = {-1, -1};
        int dashes = 0;
        const char *p = row + strlen("| av-only |");
        for (int c = 0; c < 8; c++) {
            while (*p == ' ') p++;
            if (!strncmp(p, "–", strlen("–"))) dashes++;
            else if (c >= 6) v[c - 6] = atof(p);
            p = strchr(p, '|');
            if (!p) break;
            p++;
        }
        CHECKF(dashes == 6, "av-only: %d '–' cells", dashes);
        CHECKF(v[0] >= 0 && v[0] == v[1], "av-only: mean %g should be its V<-A %g", v[1], v[0]);
    }
    CHECK(out && strstr(out, "| slava-av3 |") && !strstr(strstr(out, "| slava-av3 |"), "| slava-av3 | –"));
    free(out); free(err);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --recipes av-only --seeds 4 --epochs 1 --batch 32 "
             "--threads 1 --quiet --format csv", fs);
    CHECK(run_cmd(cmd, &out, NULL) == 0 && out && strstr(out, "av-only,,,"));   /* empty cells, not 0 */
    free(out);

    /* ---- one line, whatever the file name holds */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store \"$(printf 'no\\nsuch\\377.sqlite')\" --out x --quiet");
    expect_err(cmd, 1, "no such");

    /* ---- init-random: a non-empty folder needs --force; its own --config is never overwritten */
    char ck[600], model[700], cfg[700];
    snprintf(ck, sizeof ck, "%s/hy_ckpt", SLAVA_TMP);
    snprintf(model, sizeof model, "%s/model.safetensors", ck);
    snprintf(cfg, sizeof cfg, "%s/config.json", ck);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && " SLAVA_BIN " init-random --like clap --config " CLAP_DIR "/config.json --seed 1 "
             "--out '%s'", ck, ck);
    CHECK(run_cmd(cmd, NULL, NULL) == 0 && file_size(model) > 0);
    long n0 = 0, n1 = 0;
    char *m0 = slurp_file(model, &n0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " init-random --like clap --config " CLAP_DIR "/config.json --seed 2 --out '%s'", ck);
    expect_err(cmd, 1, "is not empty");
    char *m1 = slurp_file(model, &n1);
    CHECK(m0 && m1 && n0 == n1 && !memcmp(m0, m1, n0));
    free(m1);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " init-random --like clap --config " CLAP_DIR "/config.json --seed 2 --out '%s' --force", ck);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    m1 = slurp_file(model, &n1);
    CHECK(m0 && m1 && (n0 != n1 || memcmp(m0, m1, n0)));   /* replaced, as asked */
    free(m0); free(m1);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " init-random --like clap --config '%s' --out '%s' --force", cfg, ck);
    expect_err(cmd, 1, "which this command writes");

    rm_store(fs);
    unlink(heads); unlink(imp);
    slava_ctx_free(ctx);
    return test_done("cli_hygiene");
}
