/*
 * test_cli_encoder.c — a store holding features of several encoders is usable (issue 10,
 * defect 5): train / eval / experiment without a choice say which encoders there are and how to
 * choose (--encoder MODALITY=ID), with one they use exactly those features; `slava run` after an
 * encode at another --fps trains on the features of its own encoders.
 */
#include "cli_testutil.h"
#include "io/safetensors.h"

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    char cmd[4096], *out = NULL, *err = NULL;
    const char *store = tmp_path("enc_store.sqlite"), *heads = tmp_path("enc_heads.safetensors");
    rm_store(store);
    /* the same clips with visual features of two encoders */
    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, store, SLAVA_STORE_CREATE, &s));
    for (int e = 0; e < 2 && s; e++) {
        slava_dataset ds = {0};
        CHECK_OK(ctx, synth_set(ctx, 7, 64, &ds));
        free(ds.encoder_id[SLAVA_MOD_VISUAL]);
        ds.encoder_id[SLAVA_MOD_VISUAL] = strdup(e ? "clip-at-2fps" : "clip-at-1fps");
        if (e) for (int i = 0; i < ds.n; i++)   /* other features: not a copy */
            for (int k = 0; k < ds.clips[i].t_v * ds.d_v; k++) ds.clips[i].visual[k] *= -1;
        CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &ds));
        slava_dataset_free(&ds);
    }
    slava_store_close(s);

    const char *train = SLAVA_BIN " train --store '%s' --out '%s' --epochs 1 --batch 32 --threads 1 --quiet%s";
    snprintf(cmd, sizeof cmd, train, store, heads, "");
    expect_err(cmd, 1, "--encoder");
    expect_err(cmd, 1, "'clip-at-1fps', 'clip-at-2fps'");
    snprintf(cmd, sizeof cmd, train, store, heads, " --encoder visual=clip-at-2fps");
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    sv_stfile *sf = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, heads, &sf));
    if (sf) {
        char *v = sv_st_meta(sf, "visual_encoder");
        CHECK(v && !strcmp(v, "clip-at-2fps"));
        free(v);
        sv_st_close(sf);
    }
    snprintf(cmd, sizeof cmd, train, store, heads, " --encoder visual=clip-at-3fps");
    expect_err(cmd, 1, "no visual features of encoder 'clip-at-3fps'");
    snprintf(cmd, sizeof cmd, train, store, heads, " --encoder pixels=x");
    expect_err(cmd, 2, "--encoder takes MODALITY=ID");

    /* eval: the chosen features; the other encoder's are refused for these heads (--force) */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --threads 1", store, heads);
    expect_err(cmd, 1, "--encoder");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --threads 1 --encoder visual=clip-at-2fps", store, heads);
    CHECK(run_cmd(cmd, &out, NULL) == 0 && out && strstr(out, "| 7 | visual <- audio |"));
    free(out);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --threads 1 --encoder visual=clip-at-1fps", store, heads);
    expect_err(cmd, 1, "clip-at-1fps");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --recipes av-only --seeds 0 --epochs 1 --batch 32 --threads 1 "
             "--quiet --encoder visual=clip-at-1fps", store);
    CHECK(run_cmd(cmd, &out, &err) == 0 && out && strstr(out, "| av-only |"));
    free(out); free(err);

    /* run after an encode at another fps: its own features */
    char data[600], rstore[600];
    snprintf(data, sizeof data, "%s/enc_data", SLAVA_TMP);
    snprintf(rstore, sizeof rstore, "%s/enc_run.sqlite", SLAVA_TMP);
    rm_store(rstore);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && " SLAVA_BIN " synth --out '%s' --train 4 --val 2 --test 2 --seconds 2-3 "
             "--no-audio-share 0 --threads 2 --quiet && " SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR
             " --store '%s' --threads 2 --quiet", data, data, data, rstore);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " run --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --fps 2 "
             "--recipes av-only --seeds 0 --epochs 1 --batch 4 --threads 2 --quiet", data, rstore);
    CHECK(run_cmd(cmd, &out, &err) == 0 && out && strstr(out, "| av-only |"));
    if (err && *err) fprintf(stderr, "run: %s", err);
    free(out); free(err);

    rm_store(store); rm_store(rstore);
    unlink(heads);
    slava_ctx_free(ctx);
    return test_done("cli_encoder");
}
