/* test_audio_parity.c — CLAP audio against tests/fixtures/audio (transformers 4.40 outputs):
 * the mel filter bank, ClapFeatureExtractor input_features (1e-3 dB), the HTSAT intermediate
 * states (mel image, patch embed, every stage, last_hidden_state), pooled, embeds,
 * embeds_normalized, and end to end from the waveforms. Tolerances are those of cases.json. */
#include "test.h"
#include "audio/htsat.h"
#include "audio/mel.h"
#include "io/safetensors.h"

static slava_ctx *ctx;

/* Tensor `name` of f as malloc'd float32 (numel in *n). */
static float *load(sv_stfile *f, const char *name, size_t *n) {
    const sv_tensor *t = sv_st_find(f, name);
    if (!t) { fprintf(stderr, "fixture tensor %s missing\n", name); exit(1); }
    float *d = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
    if (sv_tensor_to_f32(ctx, f->path, t, d) != SLAVA_OK) { fprintf(stderr, "%s\n", slava_ctx_error(ctx)); exit(1); }
    if (n) *n = (size_t)t->numel;
    return d;
}

static void report(const char *what, const float *a, const float *b, size_t n, double atol) {
    double e = max_abs_diff(a, b, n);
    printf("  %-28s max |diff| %.3g  (tolerance %.3g)\n", what, e, atol);
    CHECKF(e <= atol, "%s: max diff %.6g > %.6g", what, e, atol);
}

int main(void) {
    ctx = slava_ctx_new();
    slava_set_threads(2);
    sv_stfile *wf = NULL, *ef = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("audio/waveforms.safetensors"), &wf));
    CHECK_OK(ctx, sv_st_open(ctx, fixture("audio/audio_expected.safetensors"), &ef));
    if (!wf || !ef) return test_done("test_audio_parity");

    /* filter bank */
    sv_mel *fe = NULL;
    CHECK_OK(ctx, sv_mel_new(ctx, &fe));
    size_t nfb = 0;
    float *fb_ref = load(ef, "mel_filters_slaney", &nfb);
    CHECK(nfb == (size_t)SV_MEL_NFREQ * SV_MEL_BINS);
    double fe_max = 0;
    for (size_t i = 0; i < nfb; i++) fe_max = fmax(fe_max, fabs(sv_mel_filter_bank(fe)[i] - fb_ref[i]));
    printf("  %-28s max |diff| %.3g\n", "mel_filters_slaney", fe_max);
    CHECK(fe_max < 1e-9);

    /* front end */
    const int NW = 5;
    const size_t FS = (size_t)SV_MEL_FRAMES * SV_MEL_BINS;
    float *feat_ref = load(ef, "input_features", NULL);
    const sv_tensor *co = sv_st_find(ef, "crop_offset");
    CHECK(co && co->dtype == SV_I64 && co->numel == NW);
    float *feat = malloc(sizeof(float) * FS * NW);
    for (int i = 0; i < NW; i++) {
        char key[32];
        snprintf(key, sizeof key, "wave_%d", i);
        size_t n = 0;
        float *w = load(wf, key, &n);
        int64_t off;
        memcpy(&off, (const char *)co->data + 8 * i, 8);
        CHECK_OK(ctx, sv_mel_features(ctx, fe, w, (int64_t)n, off, feat + FS * i));
        char what[64];
        snprintf(what, sizeof what, "input_features[%d] (dB)", i);
        report(what, feat + FS * i, feat_ref + FS * i, FS, 1e-3);
        free(w);
    }

    /* tower on the upstream features */
    sv_htsat *m = NULL;
    CHECK_OK(ctx, sv_htsat_load(ctx, fixture("clap-model"), &m));
    if (m) {
        const int D = m->D, P = m->P;
        float *pooled = malloc(sizeof(float) * NW * D), *proj = malloc(sizeof(float) * NW * P);
        size_t nimg, nst[5], nlh;
        float *img_ref = load(ef, "mel_image", &nimg);
        float *lh_ref = load(ef, "last_hidden_state", &nlh);
        float *st_ref[5];
        for (int s = 0; s < 5; s++) {
            char k[64];
            snprintf(k, sizeof k, "stage_hidden_state_%d", s);
            st_ref[s] = load(ef, k, &nst[s]);
        }
        /* debug clip 1 alone */
        sv_htsat_debug dbg = {0};
        dbg.mel_image = malloc(sizeof(float) * nimg);
        for (int s = 0; s < 5; s++) dbg.stage[s] = malloc(sizeof(float) * nst[s]);
        CHECK_OK(ctx, sv_htsat_forward(ctx, m, NULL, 1, feat_ref + FS * 1, NULL, NULL, &dbg));
        report("mel_image (clip 1)", dbg.mel_image, img_ref, nimg, 0.01);
        const double st_tol[5] = {0.02, 0.002, 0.002, 0.002, 0.002};
        for (int s = 0; s < 5; s++) {
            char what[64];
            snprintf(what, sizeof what, "stage_hidden_state_%d (clip 1)", s);
            report(what, dbg.stage[s], st_ref[s], nst[s], st_tol[s]);
        }
        /* all clips, batched */
        sv_htsat_debug dbg2 = {0};
        dbg2.last_hidden = malloc(sizeof(float) * nlh);
        CHECK_OK(ctx, sv_htsat_forward(ctx, m, NULL, NW, feat_ref, pooled, proj, &dbg2));
        report("last_hidden_state", dbg2.last_hidden, lh_ref, nlh, 0.005);
        float *pooled_ref = load(ef, "pooled", NULL), *emb_ref = load(ef, "embeds", NULL);
        float *embn_ref = load(ef, "embeds_normalized", NULL);
        report("pooled", pooled, pooled_ref, (size_t)NW * D, 2e-4);
        report("embeds", proj, emb_ref, (size_t)NW * P, 5e-5);
        float *embn = malloc(sizeof(float) * NW * P);
        memcpy(embn, proj, sizeof(float) * NW * P);
        for (int i = 0; i < NW; i++) {
            double ss = 0;
            for (int j = 0; j < P; j++) ss += (double)embn[i * P + j] * embn[i * P + j];
            for (int j = 0; j < P; j++) embn[i * P + j] = (float)(embn[i * P + j] / fmax(sqrt(ss), 1e-12));
        }
        report("embeds_normalized", embn, embn_ref, (size_t)NW * P, 5e-5);
        /* one at a time == batched */
        float *p1 = malloc(sizeof(float) * D);
        CHECK_OK(ctx, sv_htsat_forward(ctx, m, NULL, 1, feat_ref + FS * 3, p1, NULL, NULL));
        report("pooled clip 3 alone vs batch", p1, pooled + 3 * D, D, 1e-5);

        /* a workspace for sub-batches of 2 (three passes over 5 clips) gives the same rows */
        sv_htsat_ws *ws = NULL;
        float *pooled2 = malloc(sizeof(float) * NW * D);
        CHECK_OK(ctx, sv_htsat_ws_new(ctx, m, 2, &ws));
        CHECK_OK(ctx, sv_htsat_forward(ctx, m, ws, NW, feat_ref, pooled2, NULL, NULL));
        report("pooled in sub-batches of 2", pooled2, pooled, (size_t)NW * D, 1e-5);
        sv_htsat_ws_free(ws);
        free(pooled2);

        /* end to end from the waveforms (C front end + C tower) */
        CHECK_OK(ctx, sv_htsat_forward(ctx, m, NULL, NW, feat, pooled, proj, NULL));
        report("end-to-end pooled", pooled, pooled_ref, (size_t)NW * D, 5e-4);
        report("end-to-end embeds", proj, emb_ref, (size_t)NW * P, 1e-4);
        double mincos = 1;
        for (int i = 0; i < NW; i++) {
            double ab = 0, aa = 0, bb = 0;
            for (int j = 0; j < P; j++) {
                ab += (double)proj[i * P + j] * emb_ref[i * P + j];
                aa += (double)proj[i * P + j] * proj[i * P + j];
                bb += (double)emb_ref[i * P + j] * emb_ref[i * P + j];
            }
            mincos = fmin(mincos, ab / sqrt(aa * bb));
        }
        printf("  %-28s %.9f (>= 0.99999)\n", "end-to-end min cosine", mincos);
        CHECK(mincos >= 0.99999);

        free(p1); free(embn); free(pooled_ref); free(emb_ref); free(embn_ref);
        free(dbg2.last_hidden); free(dbg.mel_image);
        for (int s = 0; s < 5; s++) { free(dbg.stage[s]); free(st_ref[s]); }
        free(img_ref); free(lh_ref); free(pooled); free(proj);
        sv_htsat_free(m);
    }
    free(feat); free(feat_ref); free(fb_ref);
    sv_mel_free(fe);
    sv_st_close(wf);
    sv_st_close(ef);
    slava_ctx_free(ctx);
    return test_done("test_audio_parity");
}
