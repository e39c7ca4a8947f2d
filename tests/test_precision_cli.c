/*
 * test_precision_cli.c — `--precision bf16` end to end with the tiny fixture encoders: `slava synth`
 * clips → `slava encode --precision bf16` and a float32 `slava encode` into the same store (the two
 * sets of features live side by side under their own identities: "<sha>+bf16" and "<sha>") →
 * `slava train` on the bf16 features (chosen with --encoder, as eval and index) → `slava eval` with
 * those heads → `slava index` → `slava search --text` (the query embedded in bf16, as the index's
 * features);
 * `slava embed --precision bf16` gives embeddings close to the float32 ones; a bad --precision is
 * a usage error.
 */
#include "test.h"
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
    snprintf(cmd, sizeof cmd, "%s search '%s' --clip %s --text 'a red circle' --format json -k 3", SLAVA_BIN, index, CLIP_DIR);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && strstr(out, "\"results\""), "search on the bf16 index: rc %d: %s", rc, err ? err : "");
    free(out); free(err);
    out = err = NULL;

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
