/*
 * test_cli_text.c — `slava tokenize` and `slava embed --text` as DESIGN.md §5 specifies: one JSON
 * line per input in input order, `--` ending the options (captions that start with '-', empty
 * captions), --pad, values equal to the fixtures, and bad input (missing / malformed tokenizer
 * files, missing --clip, unknown options, unreadable --heads) giving one error line and the
 * documented exit status.
 */
#include "test.h"
#include <cjson/cJSON.h>

static char *dir_with(const char *name, int with_vocab, int with_merges, const char *vocab_text) {
    static char d[1024];
    snprintf(d, sizeof d, "%s", tmp_path(name));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s/clip-model/config.json' '%s/'", d, d, SLAVA_FIXTURES, d);
    CHECK(system(cmd) == 0);
    if (with_vocab) {
        snprintf(cmd, sizeof cmd, "cp '%s/clip-model/vocab.json' '%s/'", SLAVA_FIXTURES, d);
        CHECK(system(cmd) == 0);
    }
    if (with_merges) {
        snprintf(cmd, sizeof cmd, "cp '%s/clip-model/merges.txt' '%s/'", SLAVA_FIXTURES, d);
        CHECK(system(cmd) == 0);
    }
    if (vocab_text) {
        char p[1100];
        snprintf(p, sizeof p, "%s/vocab.json", d);
        FILE *f = fopen(p, "w");
        fputs(vocab_text, f);
        fclose(f);
    }
    return d;
}

/* Runs cmd; expects exit status rc and, when rc != 0, exactly one stderr line containing needle. */
static void expect_fail(const char *cmd, int rc_want, const char *needle) {
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == rc_want, "%s: exit %d, want %d", cmd, rc, rc_want);
    CHECKF(err && count_lines(err) == 1 && strstr(err, "slava: ") && strstr(err, needle), "%s: stderr '%s' (want '%s')",
           cmd, err ? err : "", needle);
    CHECKF(out && !*out, "%s: stdout not empty", cmd);
    free(out);
    free(err);
}

int main(void) {
    char cmd[8192];
    char *out = NULL, *err = NULL;
    const char *clip = fixture("clip-model");

    /* ---- tokenize (ids of the first line = fixture tokens.safetensors row 0): one array per input, `--` ends options, '-x' and '' are captions */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --clip '%s' -- 'A dog barks while a car passes by on a wet street.' '' '-x' 'a cat'", clip);
    int rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 0);
    CHECKF(out && !strcmp(out, "[49406,320,1929,1040,662,1519,320,1615,7633,638,525,320,6682,2012,269,49407]\n"
                                "[49406,49407]\n[49406,268,343,49407]\n[49406,320,2368,49407]\n"), "tokenize output:\n%s", out);
    CHECK(err && !*err);
    free(out); free(err);
    /* --pad: 77 ids per line, zeros after end-of-text */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --clip '%s' --pad 'a cat'", clip);
    rc = run_cmd(cmd, &out, &err);
    cJSON *a = out ? cJSON_Parse(out) : NULL;
    CHECK(rc == 0 && cJSON_IsArray(a) && cJSON_GetArraySize(a) == 77);
    CHECK(a && cJSON_GetArrayItem(a, 3)->valueint == 49407 && cJSON_GetArrayItem(a, 76)->valueint == 0);
    cJSON_Delete(a);
    free(out); free(err);
    /* without `--`, a caption that looks like an option is an error (usage) */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --clip '%s' -x", clip);
    expect_fail(cmd, 2, "unknown option '-x'");
    expect_fail(SLAVA_BIN " tokenize 'a cat'", 2, "--clip");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --clip '%s'", clip);
    expect_fail(cmd, 2, "no captions");
    /* tokenizer files missing or malformed: exit 1, one line naming the file */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --clip '%s' 'a cat'", dir_with("cli_novocab", 0, 1, NULL));
    expect_fail(cmd, 1, "vocab.json");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --clip '%s' 'a cat'", dir_with("cli_nomerges", 1, 0, NULL));
    expect_fail(cmd, 1, "merges.txt");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --clip '%s' 'a cat'", dir_with("cli_badvocab", 0, 1, "{\"a\": "));
    expect_fail(cmd, 1, "vocab.json: not valid JSON");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip '%s' --text -- 'a cat'", dir_with("cli_badvocab2", 0, 1, "{\"a\": 1}"));
    expect_fail(cmd, 1, "vocab.json");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " tokenize --help");
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 0 && out && strstr(out, "usage: slava tokenize"));
    free(out); free(err);

    /* ---- embed --text: JSON lines in input order, values equal the fixtures */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip '%s' --text --threads 2 -- 'A dog barks while a car passes by on a wet street.' '' '-starts with a dash'", clip);
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 0 && count_lines(out) == 3);
    CHECK(err && !*err);
    const char *wanted_input[3] = {"A dog barks while a car passes by on a wet street.", "", "-starts with a dash"};
    char *line = out;
    for (int i = 0; i < 3 && line && *line; i++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *o = cJSON_Parse(line);
        CHECKF(o != NULL, "line %d is not JSON", i);
        cJSON *in = cJSON_GetObjectItem(o, "input"), *po = cJSON_GetObjectItem(o, "pooled"),
              *pr = cJSON_GetObjectItem(o, "projected"), *em = cJSON_GetObjectItem(o, "embedding");
        CHECK(cJSON_IsString(in) && !strcmp(in->valuestring, wanted_input[i]));
        CHECK(cJSON_GetArraySize(po) == 64 && cJSON_GetArraySize(pr) == 32 && cJSON_GetArraySize(em) == 32);
        double ss = 0, dot = 0, pn = 0;
        for (int k = 0; k < 32 && em && pr; k++) {
            double e = cJSON_GetArrayItem(em, k)->valuedouble, p = cJSON_GetArrayItem(pr, k)->valuedouble;
            ss += e * e; dot += e * p; pn += p * p;
        }
        CHECK(fabs(ss - 1) < 1e-5 && fabs(dot - sqrt(pn)) < 1e-4 * sqrt(pn));
        cJSON_Delete(o);
        line = nl ? nl + 1 : NULL;
    }
    /* first line against text_expected (caption 0 of the fixtures is the same text) */
    {
        slava_ctx *ctx = slava_ctx_new();
        float *exp_pooled = NULL;
        char p[1100];
        snprintf(p, sizeof p, "%s/text/text_expected.safetensors", SLAVA_FIXTURES);
        FILE *f = fopen(p, "rb");
        CHECK(f != NULL);
        if (f) {
            /* read via the library's reader through a tiny header parse: use cJSON on the header */
            unsigned char lb[8];
            CHECK(fread(lb, 1, 8, f) == 8);
            uint64_t hl = 0;
            for (int k = 7; k >= 0; k--) hl = hl << 8 | lb[k];
            char *hdr = calloc(1, hl + 1);
            CHECK(fread(hdr, 1, hl, f) == hl);
            cJSON *h = cJSON_Parse(hdr);
            cJSON *t = cJSON_GetObjectItem(h, "pooled");
            cJSON *offs = cJSON_GetObjectItem(t, "data_offsets");
            long start = (long)cJSON_GetArrayItem(offs, 0)->valuedouble;
            exp_pooled = malloc(64 * sizeof(float));
            fseek(f, (long)(8 + hl) + start, SEEK_SET);
            CHECK(fread(exp_pooled, sizeof(float), 64, f) == 64);
            cJSON_Delete(h);
            free(hdr);
            fclose(f);
        }
        char *nl = strchr(out, '\n');
        if (nl) *nl = 0;
        cJSON *o = cJSON_Parse(out);
        cJSON *po = cJSON_GetObjectItem(o, "pooled");
        double worst = 0;
        for (int k = 0; k < 64 && po && exp_pooled; k++) worst = fmax(worst, fabs(cJSON_GetArrayItem(po, k)->valuedouble - exp_pooled[k]));
        CHECKF(po && exp_pooled && worst < 2e-4, "CLI pooled off by %g", worst);
        cJSON_Delete(o);
        free(exp_pooled);
        slava_ctx_free(ctx);
    }
    free(out); free(err);
    /* --heads: untrained heads made from the checkpoint's projections give the checkpoint's output */
    {
        slava_ctx *ctx = slava_ctx_new();
        slava_dataset ds = {0};
        ds.d_v = 64; ds.d_a = 48; ds.d_t = 64;
        slava_train_opts to;
        slava_train_opts_default(&to);
        to.clip_dir = clip;
        slava_heads *h = NULL;
        CHECK_OK(ctx, slava_heads_init(ctx, &ds, &to, &h));
        const char *hp = tmp_path("text_heads.safetensors");
        if (h) CHECK_OK(ctx, slava_heads_save(ctx, h, hp, NULL, NULL, &ds));
        slava_heads_free(h);
        char *o1 = NULL, *o2 = NULL, *e1 = NULL, *e2 = NULL;
        snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip '%s' --text -- 'a dog barks' 'rain'", clip);
        CHECK(run_cmd(cmd, &o1, &e1) == 0);
        snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip '%s' --text --heads '%s' -- 'a dog barks' 'rain'", clip, hp);
        CHECK(run_cmd(cmd, &o2, &e2) == 0);
        /* the same numbers up to rounding: the checkpoint's projection runs on the tower's packed
         * weights, the heads' on their own; equal bytes on AVX2 / AVX-512 kernels, 1e-7 apart on AVX */
        CHECKF(o1 && o2 && count_lines(o2) == 2 && same_text_within(o1, o2, 1e-6), "--heads output differs:\n%s\n%s", o1, o2);
        free(o1); free(o2); free(e1); free(e2);
        slava_ctx_free(ctx);
    }
    /* bad input for embed */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip '%s' --text --heads '%s' -- 'a cat'", clip, tmp_path("no_such_heads.safetensors"));
    expect_fail(cmd, 1, "no_such_heads.safetensors");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip '%s' --text -- 'a cat'", tmp_path("no_such_clip_dir"));
    expect_fail(cmd, 1, "no_such_clip_dir");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip '%s' --text", clip);
    expect_fail(cmd, 2, "no inputs");
    return test_done("cli_text");
}
