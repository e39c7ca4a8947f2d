/*
 * test_precision_cli.c — `--precision bf16` end to end with the tiny fixture encoders: `slava synth`
 * clips → `slava encode --precision bf16` and a float32 `slava encode` into the same store (the two
 * sets of features live side by side under their own identities: "<sha>+bf16" and "<sha>") →
 * `slava train` on the bf16 features (chosen with --encoder, as eval and index) → `slava eval` with
 * those heads → `slava index` → `slava search --text` (the query embedded in bf16, as the index's
 * features);
 * `slava embed --precision bf16` gives embeddings close to the float32 ones; a bad --precision is
 * a usage error.
 * `slava index --precision`: on the store holding both precisions, no choice is the choose-one
 * error, --precision bf16 / fp32 index the features of that precision (the index records the
 * "+bf16" / plain identities), switching an index's precision rebuilds it; --precision bf16 on a
 * float32-only store is one line naming the store and leaves the existing index byte for byte.
 * `slava search --precision` / `slava serve --precision`: queries in the other precision than the
 * index's features are accepted (the precision tag aside, the identities must match) and find the
 * same top clip with scores close to, but not equal to, those of the features' precision.
 */
#include "cli_testutil.h"
#include "serve_testutil.h"
#include <cjson/cJSON.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"

/* The "embedding" array of the first JSON line of `out` (n floats into x); returns n or -1. */
static int embedding_of(const char *out, float *x, int cap) {
    cJSON *j = out ? cJSON_ParseWithOpts(out, NULL, 0) : NULL;
    const cJSON *e = cJSON_GetObjectItem(j, "embedding");
    int n = cJSON_IsArray(e) ? cJSON_GetArraySize(e) : -1;
    for (int i = 0; i < n && i < cap; i++) x[i] = (float)cJSON_GetArrayItem(e, i)->valuedouble;
    cJSON_Delete(j);
    return n;
}

/* The top hit of `slava search ... --format json` (cmd): its clip id into clip[cap] and its
 * score; 0, or -1 when the command failed or found nothing. */
static int top_hit(const char *cmd, char *clip, size_t cap, double *score) {
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "%s: rc %d: %s", cmd, rc, err ? err : "");
    cJSON *j = rc == 0 && out ? cJSON_Parse(out) : NULL;
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    const cJSON *c = cJSON_GetObjectItem(h, "clip"), *sc = cJSON_GetObjectItem(h, "score");
    int ok = cJSON_IsString(c) && cJSON_IsNumber(sc);
    if (ok) {
        snprintf(clip, cap, "%s", c->valuestring);
        *score = sc->valuedouble;
    }
    cJSON_Delete(j);
    free(out);
    free(err);
    return ok ? 0 : -1;
}

/* The encoder identities an index records must be ids[] (every modality) and its precision p. */
static void check_index_ids(slava_ctx *ctx, const char *path, char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN], slava_precision p) {
    slava_index *ix = NULL;
    CHECK_OK(ctx, slava_index_open(ctx, path, &ix));
    if (!ix) return;
    slava_index_info info;
    slava_index_get_info(ix, &info);
    for (int m = 0; m < SLAVA_MODS; m++)
        CHECKF(!strcmp(info.encoder_id[m], ids[m]), "%s: %s encoder %s, expected %s", path, slava_store_modality_name(m),
               info.encoder_id[m], ids[m]);
    CHECKF(info.precision == p, "%s: precision %s", path, slava_precision_name(info.precision));
    slava_index_free(ix);
}

/* A server on index with args: /api/health names the queries' precision `want`, and a text query
 * answers with the top clip and score `clip` / `score` (those of `slava search` in the same
 * precision). */
static void check_serve(const char *index, const char *args, const char *want, const char *clip, double score) {
    test_server srv;
    if (srv_start(&srv, index, args)) { CHECKF(0, "serve %s %s did not start", index, args); return; }
    http_resp r;
    CHECK(http_get(srv.port, "/api/health", &r) == 0 && r.status == 200);
    cJSON *h = r.body ? cJSON_Parse(r.body) : NULL;
    const cJSON *pr = cJSON_GetObjectItem(cJSON_GetObjectItem(h, "queries"), "precision");
    CHECKF(cJSON_IsString(pr) && !strcmp(pr->valuestring, want), "serve %s: health: %s", args, r.body ? r.body : "");
    cJSON_Delete(h);
    http_resp_free(&r);
    CHECK(http_get(srv.port, "/api/search?text=a+red+circle&k=1", &r) == 0 && r.status == 200);
    cJSON *j = r.body ? cJSON_Parse(r.body) : NULL;
    const cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    const cJSON *c = cJSON_GetObjectItem(top, "clip"), *sc = cJSON_GetObjectItem(top, "score");
    CHECKF(cJSON_IsString(c) && !strcmp(c->valuestring, clip) && cJSON_IsNumber(sc) && fabs(sc->valuedouble - score) < 1e-5,
           "serve %s: search: %s (CLI: %s %g)", args, r.body ? r.body : "", clip, score);
    cJSON_Delete(j);
    http_resp_free(&r);
    CHECK(srv_stop(&srv, SIGTERM) == 143);
}

/* index / search / serve --precision (see the top of the file). */
static void test_index_search_serve(slava_ctx *ctx, const char *dir, const char *store, const char *heads_index,
                                    char id32[SLAVA_MODS][SLAVA_ENCODER_ID_LEN], char id16[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]) {
    char cmd[8192], ix32[700], ix16[700], ixr[700], s32[700], *out = NULL, *err = NULL;
    snprintf(ix32, sizeof ix32, "%s/fp32.index", dir);
    snprintf(ix16, sizeof ix16, "%s/bf16.index", dir);
    snprintf(ixr, sizeof ixr, "%s/switched.index", dir);
    snprintf(s32, sizeof s32, "%s/fp32-only.sqlite", dir);
    const char *own = "--clip " CLIP_DIR " --clap " CLAP_DIR " --quiet";
    /* the store holds both: no choice is the choose-one error */
    snprintf(cmd, sizeof cmd, "%s index --store '%s' --out '%s' %s", SLAVA_BIN, store, ix32, own);
    expect_err(cmd, 1, "choose one");
    CHECK(access(ix32, F_OK) != 0);
    /* --precision picks one set of features per modality */
    snprintf(cmd, sizeof cmd, "(%s index --store '%s' --out '%s' %s --precision fp32 && %s index --store '%s' --out '%s' %s "
             "--precision bf16)", SLAVA_BIN, store, ix32, own, SLAVA_BIN, store, ix16, own);
    int rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "index --precision fp32 / bf16: rc %d: %s", rc, err ? err : "");
    free(err);
    err = NULL;
    check_index_ids(ctx, ix32, id32, SLAVA_PRECISION_FP32);
    check_index_ids(ctx, ix16, id16, SLAVA_PRECISION_BF16);
    /* an fp32 index updated with --precision bf16 is rebuilt from the bf16 features; again: unchanged */
    snprintf(cmd, sizeof cmd, "(cp '%s' '%s' && %s index --store '%s' --out '%s' %s --precision bf16)", ix32, ixr, SLAVA_BIN,
             store, ixr, own);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && strstr(out, "; rebuilt") && strstr(out, "12 updated"), "switch to bf16: rc %d: %s%s", rc,
           out ? out : "", err ? err : "");
    free(out); free(err);
    out = err = NULL;
    check_index_ids(ctx, ixr, id16, SLAVA_PRECISION_BF16);
    snprintf(cmd, sizeof cmd, "%s index --store '%s' --out '%s' %s --precision bf16", SLAVA_BIN, store, ixr, own);
    rc = run_cmd(cmd, &out, NULL);
    CHECKF(rc == 0 && out && strstr(out, "12 unchanged") && !strstr(out, "rebuilt"), "bf16 again: rc %d: %s", rc, out ? out : "");
    free(out);
    out = NULL;
    /* an fp32-only store has no bf16 features: one line naming it, the existing index untouched */
    snprintf(cmd, sizeof cmd, "%s encode --data '%s/data' --clip %s --clap %s --store '%s' --quiet --threads 2", SLAVA_BIN, dir,
             CLIP_DIR, CLAP_DIR, s32);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "encode fp32 only: rc %d: %s", rc, err ? err : "");
    free(err);
    err = NULL;
    long n_before = 0, n_after = 0;
    char *before = slurp_file(ix32, &n_before);
    snprintf(cmd, sizeof cmd, "%s index --store '%s' --out '%s' %s --precision bf16", SLAVA_BIN, s32, ix32, own);
    char needle[800];
    snprintf(needle, sizeof needle, "%s: no bf16 visual features", s32);
    expect_err(cmd, 1, needle);
    char *after = slurp_file(ix32, &n_after);
    CHECK(before && after && n_before == n_after && !memcmp(before, after, (size_t)n_before));
    free(before);
    free(after);

    /* search: the other precision's queries find the same top clip, scores close but not equal */
    char c32[256] = "", c16[256] = "", ch16[256] = "", ch32[256] = "";
    double sc32 = 0, sc16 = 0, sch16 = 0, sch32 = 0;
    const char *q = "--text 'a red circle' --format json -k 1";
    snprintf(cmd, sizeof cmd, "%s search '%s' %s", SLAVA_BIN, ix32, q);
    int ok = top_hit(cmd, c32, sizeof c32, &sc32) == 0;
    snprintf(cmd, sizeof cmd, "%s search '%s' %s --precision bf16", SLAVA_BIN, ix32, q);
    ok &= top_hit(cmd, c16, sizeof c16, &sc16) == 0;
    CHECKF(ok && !strcmp(c32, c16) && sc32 != sc16 && fabs(sc32 - sc16) < 0.01, "fp32 index: top hit %s %g (fp32 query) vs %s %g (bf16)",
           c32, sc32, c16, sc16);
    /* the bf16 index with trained heads (their recorded encoders are the bf16 ones), fp32 queries */
    snprintf(cmd, sizeof cmd, "%s search '%s' --clip %s %s", SLAVA_BIN, heads_index, CLIP_DIR, q);
    ok = top_hit(cmd, ch16, sizeof ch16, &sch16) == 0;
    snprintf(cmd, sizeof cmd, "%s search '%s' --clip %s %s --precision fp32", SLAVA_BIN, heads_index, CLIP_DIR, q);
    ok &= top_hit(cmd, ch32, sizeof ch32, &sch32) == 0;
    CHECKF(ok && !strcmp(ch16, ch32) && sch16 != sch32 && fabs(sch16 - sch32) < 0.01,
           "bf16 heads index: top hit %s %g (bf16 query) vs %s %g (fp32)", ch16, sch16, ch32, sch32);
    snprintf(cmd, sizeof cmd, "%s search '%s' --text hi --precision xx", SLAVA_BIN, ix32);
    expect_err(cmd, 2, "--precision");

    /* serve: the queries' precision in /api/health, a text query as the CLI's in that precision */
    check_serve(ix32, "--precision bf16 --clip " CLIP_DIR " --clap " CLAP_DIR " --workers 2", "bf16", c16, sc16);
    check_serve(heads_index, "--precision fp32 --clip " CLIP_DIR " --clap " CLAP_DIR " --workers 2", "fp32", ch32, sch32);
    check_serve(heads_index, "--clip " CLIP_DIR " --clap " CLAP_DIR " --workers 2", "bf16", ch16, sch16);
    snprintf(cmd, sizeof cmd, "%s serve '%s' --port 0 --precision fp16", SLAVA_BIN, ix32);
    expect_err(cmd, 2, "--precision");
}

int main(void) {
    char dir[512], store[600], heads[600], index[600], cmd[8192], *out = NULL, *err = NULL;
    snprintf(dir, sizeof dir, "%s/precision_cli", SLAVA_TMP);
    snprintf(store, sizeof store, "%s/s.sqlite", dir);
    snprintf(heads, sizeof heads, "%s/heads.safetensors", dir);
    snprintf(index, sizeof index, "%s/clips.index", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    CHECK(system(cmd) == 0);

    /* clips, then both precisions into one store */
    snprintf(cmd, sizeof cmd,
             "%s synth --out '%s/data' --train 6 --val 3 --test 3 --seconds 2-5 --seed 3 --quiet --threads 2 && "
             "%s encode --data '%s/data' --clip %s --clap %s --store '%s' --precision bf16 --quiet --threads 2 && "
             "%s encode --data '%s/data' --clip %s --clap %s --store '%s' --quiet --threads 2",
             SLAVA_BIN, dir, SLAVA_BIN, dir, CLIP_DIR, CLAP_DIR, store, SLAVA_BIN, dir, CLIP_DIR, CLAP_DIR, store);
    int rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "synth + encode: rc %d: %s", rc, err ? err : "");
    free(err);
    err = NULL;

    slava_ctx *ctx = slava_ctx_new();
    char id32[SLAVA_MODS][SLAVA_ENCODER_ID_LEN], id16[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    CHECK_OK(ctx, slava_encoder_ids(ctx, CLIP_DIR, CLAP_DIR, 1.0, id32));
    CHECK_OK(ctx, slava_encoder_ids_precision(ctx, CLIP_DIR, CLAP_DIR, 1.0, SLAVA_PRECISION_BF16, id16));
    for (int m = 0; m < SLAVA_MODS; m++) CHECKF(strstr(id16[m], "+bf16") && strcmp(id16[m], id32[m]), "ids %s / %s", id16[m], id32[m]);
    /* the store holds 12 clips' features under each identity, and they differ (rounding) but little */
    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, store, 0, &s));
    if (s) {
        slava_dataset a, b;
        const char *e32[SLAVA_MODS] = {id32[0], id32[1], id32[2]}, *e16[SLAVA_MODS] = {id16[0], id16[1], id16[2]};
        CHECK_OK(ctx, slava_store_load(ctx, s, 0, e32, &a));
        CHECK_OK(ctx, slava_store_load(ctx, s, 0, e16, &b));
        CHECK(a.n == 12 && b.n == 12);
        double worst = 1, diff = 0;
        for (int i = 0; i < a.n && i < b.n; i++) {
            const slava_clip *x = &a.clips[i], *y = &b.clips[i];
            if (x->t_v != y->t_v || !x->t_v) { worst = -1; break; }
            double ab = 0, aa = 0, bb = 0;
            for (int j = 0; j < x->t_v * a.d_v; j++) {
                ab += (double)x->visual[j] * y->visual[j];
                aa += (double)x->visual[j] * x->visual[j];
                bb += (double)y->visual[j] * y->visual[j];
                diff = fmax(diff, fabs(x->visual[j] - y->visual[j]));
            }
            worst = fmin(worst, ab / sqrt(aa * bb));
        }
        CHECKF(worst > 0.999 && diff > 0, "visual features bf16 vs fp32: min cosine %g, max diff %g", worst, diff);
        slava_dataset_free(&a);
        slava_dataset_free(&b);
        slava_store_close(s);
    }

    /* train on the bf16 features, evaluate, index, search */
    snprintf(cmd, sizeof cmd,
             "%s train --store '%s' --recipe slava-av3 --epochs 2 --out '%s' --quiet --threads 2 "
             "--encoder visual=%s --encoder audio=%s --encoder text=%s",
             SLAVA_BIN, store, heads, id16[0], id16[1], id16[2]);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "train on bf16 features: rc %d: %s", rc, err ? err : "");
    free(err);
    err = NULL;
    char encs[1024];
    snprintf(encs, sizeof encs, "--encoder visual=%s --encoder audio=%s --encoder text=%s", id16[0], id16[1], id16[2]);
    snprintf(cmd, sizeof cmd, "%s eval --store '%s' --heads '%s' --format json --quiet %s", SLAVA_BIN, store, heads, encs);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && strstr(out, "recall@10"), "eval: rc %d: %s", rc, err ? err : "");
    free(out); free(err);
    out = err = NULL;
    snprintf(cmd, sizeof cmd, "%s index --store '%s' --out '%s' --heads '%s' --quiet %s", SLAVA_BIN, store, index, heads, encs);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "index: rc %d: %s", rc, err ? err : "");
    free(out); free(err);
    out = err = NULL;
    /* an index on the checkpoints' own projections: their sha256 is the bf16 identity's first part */
    snprintf(cmd, sizeof cmd, "%s index --store '%s' --out '%s.own' --clip %s --clap %s --quiet %s", SLAVA_BIN, store, index,
             CLIP_DIR, CLAP_DIR, encs);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "index with the checkpoints' projections: rc %d: %s", rc, err ? err : "");
    free(out); free(err);
    out = err = NULL;
    snprintf(cmd, sizeof cmd, "%s search '%s' --clip %s --text 'a red circle' --format json -k 3", SLAVA_BIN, index, CLIP_DIR);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && strstr(out, "\"results\""), "search on the bf16 index: rc %d: %s", rc, err ? err : "");
    free(out); free(err);
    out = err = NULL;

    test_index_search_serve(ctx, dir, store, index, id32, id16);

    /* embed: bf16 close to fp32; a bad precision is a usage error */
    float e32[256], e16[256];
    snprintf(cmd, sizeof cmd, "%s embed --clip %s --text -- 'a dog barks twice'", SLAVA_BIN, CLIP_DIR);
    rc = run_cmd(cmd, &out, NULL);
    int n32 = rc == 0 ? embedding_of(out, e32, 256) : -1;
    free(out);
    snprintf(cmd, sizeof cmd, "%s embed --clip %s --precision bf16 --text -- 'a dog barks twice'", SLAVA_BIN, CLIP_DIR);
    rc = run_cmd(cmd, &out, NULL);
    int n16 = rc == 0 ? embedding_of(out, e16, 256) : -1;
    free(out);
    CHECK(n32 > 0 && n32 == n16 && n32 <= 256);
    double dot = 0;
    for (int i = 0; i < n32 && n32 == n16 && n32 <= 256; i++) dot += (double)e32[i] * e16[i];
    CHECKF(dot > 0.999, "embed bf16 vs fp32: cosine %g", dot);
    snprintf(cmd, sizeof cmd, "%s embed --clip %s --precision fp16 --text x", SLAVA_BIN, CLIP_DIR);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 2 && err && strstr(err, "--precision"), "bad precision: rc %d: %s", rc, err ? err : "");
    free(err);
    slava_ctx_free(ctx);
    return test_done("precision_cli");
}
