/*
 * test_train.c — training on a small synthetic split (fixture-sized features): determinism
 * (same seed → same bytes, other seed → different), what each recipe trains, the logit-scale
 * clamp and fixed temperature, no decay on logit scales, save → load round trip with metadata,
 * slava_heads_project against an un-commuted per-chunk reference, initialisation from the CLIP /
 * CLAP fixture checkpoints, and errors (unknown recipe, missing split, size mismatch).
 */
#include "cli_testutil.h"
#include "align/heads.h"
#include "io/safetensors.h"

static void small_set(slava_ctx *ctx, slava_dataset *ds, int with_val) {
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    so.n_clips[0] = 240; so.n_clips[1] = with_val ? 60 : 0; so.n_clips[2] = 60;
    so.d_v = 64; so.d_a = 128; so.d_t = 64;   /* the fixture checkpoints' sizes */
    so.max_frames = 6;
    so.no_audio_share = 0.05;
    CHECK_OK(ctx, slava_synth_features(ctx, &so, ds));
}

static slava_train_opts opts(const char *recipe, uint64_t seed) {
    slava_train_opts o;
    slava_train_opts_default(&o);
    o.recipe = recipe;
    o.seed = seed;
    o.epochs = 3;
    o.batch = 32;
    o.lr = 1e-3;
    return o;
}

static int same_tensor(const slava_heads *a, const slava_heads *b, int group) {
    for (int k = 0; k < a->n_desc; k++)
        if (a->desc[k].group == group && memcmp(a->mem + a->desc[k].off, b->mem + b->desc[k].off, a->desc[k].numel * 4))
            return 0;
    return 1;
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    /* one thread (no OpenMP barriers: quick even when ctest runs tests side by side); the
     * determinism pair below runs on two threads, where the GEMMs are split */
    slava_set_threads(1);
    slava_dataset ds;
    small_set(ctx, &ds, 1);

    /* ---- determinism */
    slava_set_threads(2);
    slava_train_opts o = opts("slava-av3", 3);
    slava_heads *h1 = NULL, *h2 = NULL, *h3 = NULL;
    slava_train_info i1, i2, i3;
    CHECK_OK(ctx, slava_train(ctx, &ds, &o, &h1, &i1));
    CHECK_OK(ctx, slava_train(ctx, &ds, &o, &h2, &i2));
    CHECK(h1 && h2 && h1->n == h2->n && !memcmp(h1->mem, h2->mem, h1->n * sizeof(float)));
    CHECK(i1.best_epoch[0] >= 1 && i1.best_epoch[0] <= 3 && i1.best_val[0] > i1.init_val);
    const char *f1 = tmp_path("train_h1.safetensors"), *f2 = tmp_path("train_h2.safetensors");
    CHECK_OK(ctx, slava_heads_save(ctx, h1, f1, &o, &i1, &ds));
    CHECK_OK(ctx, slava_heads_save(ctx, h2, f2, &o, &i2, &ds));
    long n1 = 0, n2 = 0;
    char *b1 = slurp_file(f1, &n1), *b2 = slurp_file(f2, &n2);
    CHECK(b1 && b2 && n1 == n2 && n1 > 0 && !memcmp(b1, b2, n1));
    free(b1); free(b2);
    o.seed = 4;
    CHECK_OK(ctx, slava_train(ctx, &ds, &o, &h3, &i3));
    CHECK(h3 && memcmp(h1->mem, h3->mem, h1->n * sizeof(float)));
    slava_heads_free(h3);
    slava_set_threads(1);

    /* ---- save → load round trip, metadata */
    slava_heads *hl = NULL;
    CHECK_OK(ctx, slava_heads_load(ctx, f1, &hl));
    CHECK(hl && hl->n == h1->n && hl->H == h1->H && !memcmp(hl->mem, h1->mem, h1->n * sizeof(float)));
    sv_stfile *sf = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, f1, &sf));
    if (sf) {
        char *rec = sv_st_meta(sf, "recipe"), *ep = sv_st_meta(sf, "best_epoch"), *val = sv_st_meta(sf, "val_mean_r10"),
             *lr = sv_st_meta(sf, "lr"), *enc = sv_st_meta(sf, "visual_encoder");
        CHECK(rec && !strcmp(rec, "slava-av3"));
        CHECK(ep && atoi(ep) == i1.best_epoch[0]);
        CHECK(val && fabs(atof(val) - i1.best_val[0]) < 1e-5);
        CHECK(lr && fabs(atof(lr) - 1e-3) < 1e-12);
        CHECK(enc && !strcmp(enc, "synthetic-visual-v1"));
        CHECK(sv_st_find(sf, "visual_projection.weight") && sv_st_find(sf, "audio_projection.linear2.bias") &&
              sv_st_find(sf, "logit_scale_av"));
        free(rec); free(ep); free(val); free(lr); free(enc);
        sv_st_close(sf);
    }

    /* ---- slava_heads_project: audio MLP against per-chunk head-then-mean (no commuting) */
    const slava_clip *c = NULL;
    for (int i = 0; i < ds.n && !c; i++)
        if (ds.clips[i].t_a >= 2) c = &ds.clips[i];
    CHECK(c != NULL);
    if (c && hl) {
        int P = hl->P, H = hl->H;
        float *out = malloc(sizeof(float) * P), *hid = malloc(sizeof(float) * H);
        double *ref = calloc(P, sizeof(double));
        CHECK_OK(ctx, slava_heads_project(ctx, hl, SLAVA_MOD_AUDIO, c->audio, c->t_a, ds.d_a, out));
        for (int t = 0; t < c->t_a; t++) {
            for (int j = 0; j < H; j++) {
                double s = hl->t.a_b1[j];
                for (int k = 0; k < ds.d_a; k++) s += (double)hl->t.a_w1[j * ds.d_a + k] * c->audio[t * ds.d_a + k];
                hid[j] = s > 0 ? (float)s : 0;
            }
            for (int p = 0; p < P; p++) {
                double s = hl->t.a_b2[p];
                for (int j = 0; j < H; j++) s += (double)hl->t.a_w2[p * H + j] * hid[j];
                ref[p] += s / c->t_a;
            }
        }
        double err = 0;
        for (int p = 0; p < P; p++) err = fmax(err, fabs(out[p] - ref[p]));
        CHECKF(err < 1e-4, "audio projection differs from per-chunk reference by %g", err);
        /* visual: per-frame projection then mean */
        CHECK_OK(ctx, slava_heads_project(ctx, hl, SLAVA_MOD_VISUAL, c->visual, c->t_v, ds.d_v, out));
        err = 0;
        for (int p = 0; p < P; p++) {
            double s = 0;
            for (int t = 0; t < c->t_v; t++)
                for (int k = 0; k < ds.d_v; k++) s += (double)hl->t.w_v[p * ds.d_v + k] * c->visual[t * ds.d_v + k];
            err = fmax(err, fabs(out[p] - s / c->t_v));
        }
        CHECKF(err < 1e-4, "visual projection differs by %g", err);
        CHECK(slava_heads_project(ctx, hl, SLAVA_MOD_TEXT, c->visual, 1, ds.d_v + 1, out) == SLAVA_E_SHAPE);
        CHECK(slava_heads_dim(hl) == P);
        free(out); free(hid); free(ref);
    }
    slava_heads_free(hl);
    slava_heads_free(h2);

    /* ---- what each recipe trains */
    {
        slava_train_opts oa = opts("av-only", 7);
        slava_heads *init = NULL, *ha = NULL;
        slava_train_info ia;
        CHECK_OK(ctx, slava_heads_init(ctx, &ds, &oa, &init));
        CHECK_OK(ctx, slava_train(ctx, &ds, &oa, &ha, &ia));
        if (init && ha) {
            CHECK(same_tensor(init, ha, AL_G_TXT));          /* text head untouched */
            CHECK(same_tensor(init, ha, AL_G_LS_AT) && same_tensor(init, ha, AL_G_LS_VT));
            CHECK(!same_tensor(init, ha, AL_G_VIS) && !same_tensor(init, ha, AL_G_AUD));
        }
        slava_heads_free(init); slava_heads_free(ha);
        slava_train_opts ow = opts("wav2clip-frozen", 7);
        slava_heads *hw = NULL;
        CHECK_OK(ctx, slava_train(ctx, &ds, &ow, &hw, &ia));
        CHECK(ia.stages == 2 && ia.best_epoch[0] >= 1 && ia.best_epoch[1] >= 1);
        CHECK_OK(ctx, slava_heads_init(ctx, &ds, &ow, &init));
        if (init && hw) CHECK(!same_tensor(init, hw, AL_G_AUD) && !same_tensor(init, hw, AL_G_VIS) &&
                              same_tensor(init, hw, AL_G_LS_AV));   /* L_av never used */
        slava_heads_free(init); slava_heads_free(hw);
        /* every recipe name trains */
        int n;
        const char *const *names = slava_recipes(&n);
        CHECK(n == 7);
        for (int r = 0; r < n; r++) {
            slava_train_opts orr = opts(names[r], 1);
            orr.epochs = 1;
            slava_heads *hr = NULL;
            slava_train_info ir;
            CHECK_OK(ctx, slava_train(ctx, &ds, &orr, &hr, &ir));
            slava_heads_free(hr);
        }
    }

    /* ---- logit scales: clamp ≤ ln 100, no weight decay, fixed temperature */
    {
        CHECK(h1->desc[h1->n_desc - 1].decay == 0 && h1->desc[h1->n_desc - 3].decay == 0 && h1->desc[0].decay == 1);
        slava_train_opts ob = opts("slava-av3", 2);
        ob.lr = 0.05;
        slava_heads *hb = NULL;
        slava_train_info ib;
        CHECK_OK(ctx, slava_train(ctx, &ds, &ob, &hb, &ib));
        for (int k = 0; hb && k < 3; k++) CHECKF(hb->t.ls[k] <= (float)AL_LN100, "ls[%d] = %g", k, hb->t.ls[k]);
        slava_heads_free(hb);
        ob.lr = 1e-3;
        ob.temperature = 0.07;
        CHECK_OK(ctx, slava_train(ctx, &ds, &ob, &hb, &ib));
        for (int k = 0; hb && k < 3; k++) CHECK(hb->t.ls[k] == (float)log(1 / 0.07));
        slava_heads_free(hb);
        ob.temperature = 0;
        ob.audio_linear = 1;
        CHECK_OK(ctx, slava_train(ctx, &ds, &ob, &hb, &ib));
        CHECK(hb && hb->H == 0 && hb->t.a_w2 == NULL);
        if (hb) {
            const char *fl = tmp_path("train_linear.safetensors");
            slava_heads *hl2 = NULL;
            CHECK_OK(ctx, slava_heads_save(ctx, hb, fl, &ob, &ib, &ds));
            CHECK_OK(ctx, slava_heads_load(ctx, fl, &hl2));
            CHECK(hl2 && hl2->H == 0 && !memcmp(hl2->mem, hb->mem, hb->n * sizeof(float)));
            slava_heads_free(hl2);
        }
        slava_heads_free(hb);
    }

    /* ---- initialisation from the fixture checkpoints */
    {
        slava_train_opts oc = opts("slava-av3", 0);
        oc.clip_dir = fixture("clip-model");
        oc.clap_dir = fixture("clap-model");
        slava_heads *hc = NULL;
        CHECK_OK(ctx, slava_heads_init(ctx, &ds, &oc, &hc));
        sv_weights *wc = NULL, *wa = NULL;
        CHECK_OK(ctx, sv_weights_open(ctx, oc.clip_dir, &wc));
        CHECK_OK(ctx, sv_weights_open(ctx, oc.clap_dir, &wa));
        const float *vp = NULL, *l2b = NULL;
        if (hc && wc && wa) {
            CHECK_OK(ctx, sv_weights_get(ctx, wc, "visual_projection.weight", &vp, 2, 32, 64));
            CHECK_OK(ctx, sv_weights_get(ctx, wa, "audio_projection.linear2.bias", &l2b, 1, 32));
            CHECK(hc->P == 32 && hc->H == 32);
            CHECK(vp && !memcmp(hc->t.w_v, vp, 32 * 64 * sizeof(float)));
            CHECK(l2b && !memcmp(hc->t.a_b2, l2b, 32 * sizeof(float)));
        }
        sv_weights_free(wc); sv_weights_free(wa);
        slava_heads_free(hc);
        slava_train_info ic;
        oc.epochs = 1;
        CHECK_OK(ctx, slava_train(ctx, &ds, &oc, &hc, &ic));
        CHECK(strlen(ic.clip_sha256) == 64 && strlen(ic.clap_sha256) == 64);
        slava_heads_free(hc);
        /* CLIP's projection takes 64-d features; a 48-d visual feature set is refused by name */
        ds.d_v = 48;
        CHECK(slava_heads_init(ctx, &ds, &oc, &hc) == SLAVA_E_SHAPE);
        CHECKF(strstr(slava_ctx_error(ctx), "clip-model") && strstr(slava_ctx_error(ctx), "visual_projection.weight"),
               "%s", slava_ctx_error(ctx));
        ds.d_v = 64;
    }

    /* ---- errors */
    {
        slava_train_opts oe = opts("slava-av4", 0);
        slava_heads *he = NULL;
        slava_train_info ie;
        CHECK(slava_train(ctx, &ds, &oe, &he, &ie) == SLAVA_E_ARG && strstr(slava_ctx_error(ctx), "unknown recipe 'slava-av4'"));
        slava_dataset nv;
        small_set(ctx, &nv, 0);
        oe.recipe = "slava-av3";
        CHECK(slava_train(ctx, &nv, &oe, &he, &ie) == SLAVA_E_NOTFOUND && strstr(slava_ctx_error(ctx), "val split"));
        CHECK(he == NULL);
        slava_dataset_free(&nv);
    }
    slava_heads_free(h1);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return test_done("train");
}
