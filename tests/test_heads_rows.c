/*
 * test_heads_rows.c — per-row projection (slava_heads_project_rows) against the pooled projection
 * (mean of the rows = slava_heads_project for linear and MLP audio heads; row by row = one row
 * at a time), and the encoder check (slava_heads_check_encoders) on identities recorded by
 * slava_heads_save and read back by slava_heads_load.
 */
#include "test.h"
#include "align/heads.h"

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(1);
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    so.n_clips[0] = 8; so.n_clips[1] = 0; so.n_clips[2] = 0;
    so.d_v = 24; so.d_a = 20; so.d_t = 16; so.max_frames = 5; so.max_chunks = 4;
    so.no_audio_share = 0;
    slava_dataset ds;
    memset(&ds, 0, sizeof ds);
    CHECK_OK(ctx, slava_synth_features(ctx, &so, &ds));
    for (int H = 0; H <= 12; H += 12) {
        slava_heads *h;
        CHECK_OK(ctx, al_heads_new(ctx, 24, 20, 16, 8, H, &h));
        al_heads_init_seed(h, 3);
        for (int m = 0; m < 2; m++) {
            const slava_clip *c = &ds.clips[1];
            int T = m ? c->t_a : c->t_v, D = m ? 20 : 24;
            const float *x = m ? c->audio : c->visual;
            float rows[64 * 8], one[8], mean[8] = {0}, pooled[8];
            CHECK(T > 1 && T <= 64);
            CHECK_OK(ctx, slava_heads_project_rows(ctx, h, (slava_modality)m, x, T, D, rows));
            CHECK_OK(ctx, slava_heads_project(ctx, h, (slava_modality)m, x, T, D, pooled));
            double worst = 0;
            for (int t = 0; t < T; t++) {
                CHECK_OK(ctx, slava_heads_project(ctx, h, (slava_modality)m, x + (size_t)t * D, 1, D, one));
                for (int j = 0; j < 8; j++) {
                    worst = fmax(worst, fabs(one[j] - rows[t * 8 + j]));
                    mean[j] += rows[t * 8 + j] / T;
                }
            }
            for (int j = 0; j < 8; j++) worst = fmax(worst, fabs(mean[j] - pooled[j]));
            CHECKF(worst < 1e-5, "H=%d m=%d: rows differ from pooled projection by %g", H, m, worst);
        }
        float dummy[8];
        CHECK(slava_heads_project_rows(ctx, h, SLAVA_MOD_VISUAL, ds.clips[0].visual, 1, 23, dummy) == SLAVA_E_SHAPE);
        CHECK(slava_heads_project_rows(ctx, h, SLAVA_MOD_VISUAL, ds.clips[0].visual, 0, 24, dummy) == SLAVA_OK);
        slava_heads_free(h);
    }

    /* encoder identities: recorded by save, read by load, compared by check */
    slava_heads *h, *back;
    slava_train_opts to;
    slava_train_opts_default(&to);
    CHECK_OK(ctx, slava_heads_init(ctx, &ds, &to, &h));
    char *saved[3] = {ds.encoder_id[0], ds.encoder_id[1], ds.encoder_id[2]};
    char vis[] = "enc-visual-A", aud[] = "enc-audio-A";
    ds.encoder_id[0] = vis; ds.encoder_id[1] = aud; ds.encoder_id[2] = NULL;
    const char *path = tmp_path("heads_rows.safetensors");
    CHECK_OK(ctx, slava_heads_save(ctx, h, path, NULL, NULL, &ds));
    ds.encoder_id[0] = saved[0]; ds.encoder_id[1] = saved[1]; ds.encoder_id[2] = saved[2];
    CHECK_OK(ctx, slava_heads_load(ctx, path, &back));
    CHECK(back && slava_heads_encoder(back, SLAVA_MOD_VISUAL) && !strcmp(slava_heads_encoder(back, SLAVA_MOD_VISUAL), vis));
    CHECK(back && slava_heads_encoder(back, SLAVA_MOD_TEXT) == NULL);
    CHECK(slava_heads_encoder(h, SLAVA_MOD_VISUAL) == NULL);   /* made in memory: nothing recorded */
    const char *same[3] = {"enc-visual-A", "enc-audio-A", "enc-text-Z"};
    const char *rate[3] = {"enc-visual-A@2fps", NULL, NULL};   /* frames at another rate: other features */
    const char *other[3] = {"enc-visual-A", "enc-audio-B", NULL};
    const char *unknown[3] = {NULL, NULL, NULL};
    CHECK_OK(ctx, slava_heads_check_encoders(ctx, back, path, same, "s.sqlite"));
    CHECK_OK(ctx, slava_heads_check_encoders(ctx, back, path, unknown, "s.sqlite"));
    CHECK_OK(ctx, slava_heads_check_encoders(ctx, back, path, NULL, "s.sqlite"));
    CHECK(slava_heads_check_encoders(ctx, back, path, rate, "s.sqlite") == SLAVA_E_ARG);
    CHECK(slava_heads_check_encoders(ctx, back, path, other, "s.sqlite") == SLAVA_E_ARG);
    const char *msg = slava_ctx_error(ctx);
    CHECKF(strstr(msg, "enc-audio-A") && strstr(msg, "enc-audio-B") && strstr(msg, "s.sqlite") && strstr(msg, "audio")
               && !strchr(msg, '\n'), "message: %s", msg);
    slava_heads_free(back);
    slava_heads_free(h);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return test_done("test_heads_rows");
}
