/*
 * test_heads_check.c — heads are checked against what they are applied to (issue 10, defects 2
 * and 8): `slava eval` refuses heads trained on features of other encoders, naming both
 * identities (--force overrides); heads that record no identity pass; a heads file holding NaN or
 * infinite values is refused on load, naming the tensor.
 */
#include "cli_testutil.h"
#include "io/safetensors.h"

int main(void) {
    char cmd[4096];
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(1);
    const char *store_a = tmp_path("hc_a.sqlite"), *store_b = tmp_path("hc_b.sqlite");
    const char *heads = tmp_path("hc_heads.safetensors"), *bad = tmp_path("hc_nan.safetensors");
    CHECK_OK(ctx, make_store(ctx, store_a, 7, 64));
    /* store B: the same sizes, but visual features of another encoder */
    slava_dataset ds = {0};
    CHECK_OK(ctx, synth_set(ctx, 7, 64, &ds));
    free(ds.encoder_id[SLAVA_MOD_VISUAL]);
    ds.encoder_id[SLAVA_MOD_VISUAL] = strdup("clip-at-2fps");
    rm_store(store_b);
    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, store_b, 1, &s));
    if (s) CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &ds));
    slava_store_close(s);

    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --out '%s' --epochs 1 --batch 32 --threads 1 --quiet",
             store_a, heads);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);

    /* library: the recorded identities, and the check */
    slava_heads *h = NULL;
    CHECK_OK(ctx, slava_heads_load(ctx, heads, &h));
    if (h) {
        CHECK(slava_heads_encoder(h, SLAVA_MOD_VISUAL) && !strcmp(slava_heads_encoder(h, SLAVA_MOD_VISUAL), "synthetic-visual-v1"));
        CHECK(slava_heads_encoder(h, SLAVA_MOD_TEXT) && !strcmp(slava_heads_encoder(h, SLAVA_MOD_TEXT), "synthetic-text-v1"));
        CHECK_OK(ctx, slava_heads_check_encoders(ctx, h, heads, NULL, NULL));
        const char *same[3] = {"synthetic-visual-v1", NULL, "synthetic-text-v1"};
        CHECK_OK(ctx, slava_heads_check_encoders(ctx, h, heads, same, store_a));
        CHECK(slava_heads_check_encoders(ctx, h, heads, (const char *const *)ds.encoder_id, store_b) == SLAVA_E_ARG);
        const char *m = slava_ctx_error(ctx);
        CHECKF(strstr(m, heads) && strstr(m, "synthetic-visual-v1") && strstr(m, "clip-at-2fps"), "message: %s", m);
    }
    slava_heads_free(h);

    /* eval: same encoders pass, other encoders are refused with one line naming both */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --threads 1", store_a, heads);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --threads 1", store_b, heads);
    expect_err(cmd, 1, "clip-at-2fps");
    expect_err(cmd, 1, "synthetic-visual-v1");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --threads 1 --force", store_b, heads);
    char *out = NULL, *err = NULL;
    CHECK(run_cmd(cmd, &out, &err) == 0 && out && strstr(out, "| 7 | visual <- audio |"));
    free(out); free(err);

    /* heads holding NaN / inf: refused on load (eval, and the library) */
    float w[4 * 2] = {0.1f, 0.2f, 0.3f, NAN, 0.5f, 0.6f, 0.7f, 0.8f}, t[4 * 2] = {1, 0, 0, 1, 1, 1, 0, 0};
    float a1[4 * 3] = {0}, b1[4] = {0}, a2[4 * 4] = {0}, b2[4] = {0};
    sv_wtensor wt[6] = {
        {"visual_projection.weight", SV_F32, 2, {4, 2}, w}, {"text_projection.weight", SV_F32, 2, {4, 2}, t},
        {"audio_projection.linear1.weight", SV_F32, 2, {4, 3}, a1}, {"audio_projection.linear1.bias", SV_F32, 1, {4}, b1},
        {"audio_projection.linear2.weight", SV_F32, 2, {4, 4}, a2}, {"audio_projection.linear2.bias", SV_F32, 1, {4}, b2}};
    CHECK_OK(ctx, sv_st_write(ctx, bad, wt, 6, NULL));
    h = NULL;
    CHECK(slava_heads_load(ctx, bad, &h) == SLAVA_E_FORMAT && !h);
    CHECKF(strstr(slava_ctx_error(ctx), "visual_projection.weight") && strstr(slava_ctx_error(ctx), "NaN"), "%s",
           slava_ctx_error(ctx));
    w[3] = 0; b2[1] = INFINITY;
    CHECK_OK(ctx, sv_st_write(ctx, bad, wt, 6, NULL));
    CHECK(slava_heads_load(ctx, bad, &h) == SLAVA_E_FORMAT && !h);
    CHECKF(strstr(slava_ctx_error(ctx), "audio_projection.linear2.bias") && strstr(slava_ctx_error(ctx), "infinite"), "%s",
           slava_ctx_error(ctx));
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s'", store_a, bad);
    expect_err(cmd, 1, "infinite");
    b2[1] = 0;   /* finite again: loads, and records no identity (passes the check) */
    CHECK_OK(ctx, sv_st_write(ctx, bad, wt, 6, NULL));
    CHECK_OK(ctx, slava_heads_load(ctx, bad, &h));
    if (h) CHECK_OK(ctx, slava_heads_check_encoders(ctx, h, bad, (const char *const *)ds.encoder_id, store_a));
    slava_heads_free(h);

    slava_dataset_free(&ds);
    rm_store(store_a); rm_store(store_b);
    unlink(heads); unlink(bad);
    slava_ctx_free(ctx);
    return test_done("heads_check");
}
