/*
 * synth_features.c — the synthetic AVCaps-shaped feature set of the demo (latent model in docs/spine.md).
 *
 * Each clip has three groups of latent factors: audio-only z_a, visual-only z_v and shared z_s
 * (each K_LAT standard normals). Fixed random two-layer maps (tanh in between) turn factors into
 * features; every map has its own matrices, drawn once from the seed:
 *   frame t     x_v = M_v(z_v, z_s + drift_t) + noise          (d_v)
 *   chunk t     x_a = M_a(z_a, z_s + drift_t) + noise          (d_a)
 *   caption     x_t = M_t(meaning) + noise                      (d_t)
 *     audio caption         meaning = (z_a + ξ, 0,       z_s + ξ)    sees audio factors only
 *     visual caption        meaning = (0,       z_v + ξ, z_s + ξ)    sees visual factors only
 *     audio-visual / GPT-AV meaning = (z_a + ξ, z_v + ξ, z_s + ξ)    sees both
 * with fresh noise ξ per caption (GPT-AV captions: less noise, like fluent LLM summaries).
 */
#include "base/base.h"
#include "base/rng.h"
#include "nn/nn.h"
#include <math.h>
#include <stdio.h>

#define K_LAT 16      /* factors per group */
#define HID 128       /* hidden width of the random maps */

void slava_feature_synth_defaults(slava_feature_synth_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_clips[SLAVA_SPLIT_TRAIN] = 1661;
    o->n_clips[SLAVA_SPLIT_VAL] = 200;
    o->n_clips[SLAVA_SPLIT_TEST] = 200;
    o->d_v = 768; o->d_a = 768; o->d_t = 512;
    o->max_frames = 10;
    o->max_chunks = 3;
    o->no_audio_share = 0.03;
    for (int s = 0; s < SLAVA_SPLITS; s++) o->kinds_mask[s] = 0xF;
    o->seed = 20240901;
}

/* A fixed random map in → HID → out: y = W2 tanh(W1 u). */
typedef struct { int in, out; float *W1, *W2; } rmap;

static int rmap_init(rmap *m, int in, int out, sv_rng *r) {
    m->in = in; m->out = out;
    m->W1 = sv_alloc(sizeof(float) * HID * in);
    m->W2 = sv_alloc(sizeof(float) * (size_t)out * HID);
    if (!m->W1 || !m->W2) return 0;
    for (int i = 0; i < HID * in; i++) m->W1[i] = (float)(sv_rng_normal(r) * 1.5 / sqrt((double)in));
    for (size_t i = 0; i < (size_t)out * HID; i++) m->W2[i] = (float)(sv_rng_normal(r) / sqrt((double)HID));
    return 1;
}

static void rmap_free(rmap *m) { sv_free(m->W1); sv_free(m->W2); }

/* y[n, out] = map(u[n, in]) + noise·N(0,1); hid: [n, HID] scratch */
static void rmap_apply(const rmap *m, const float *u, int n, float *y, float *hid, double noise, sv_rng *r) {
    sv_linear(u, n, m->in, m->W1, NULL, HID, hid);
    for (size_t i = 0; i < (size_t)n * HID; i++) hid[i] = tanhf(hid[i]);
    sv_linear(hid, n, HID, m->W2, NULL, m->out, y);
    for (size_t i = 0; i < (size_t)n * m->out; i++) y[i] += (float)(noise * sv_rng_normal(r));
}

static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_dup(const char *fmt, ...) {
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return sv_strdup(buf);
}

slava_status slava_synth_features(slava_ctx *ctx, const slava_feature_synth_opts *o, slava_dataset *ds) {
    static const char *split_name[3] = {"train", "val", "test"};
    static const char *kind_name[4] = {"audio", "visual", "audio-visual", "GPT-AV"};
    memset(ds, 0, sizeof *ds);
    int total = 0;
    for (int s = 0; s < SLAVA_SPLITS; s++) total += o->n_clips[s] > 0 ? o->n_clips[s] : 0;
    if (total <= 0 || o->d_v <= 0 || o->d_a <= 0 || o->d_t <= 0 || o->max_frames < 1 || o->max_chunks < 1)
        return sv_err(ctx, SLAVA_E_ARG, "synthetic features: need clips, feature sizes, frames and chunks > 0");
    sv_rng maps, r;
    sv_rng_seed(&maps, o->seed);
    sv_rng_seed(&r, o->seed ^ 0xC11F5EEDull);
    rmap mv = {0}, ma = {0}, mt = {0};
    int maxrows = o->max_frames > o->max_chunks ? o->max_frames : o->max_chunks;
    if (maxrows < 8) maxrows = 8;
    float *u = sv_alloc(sizeof(float) * maxrows * 3 * K_LAT), *hid = sv_alloc(sizeof(float) * maxrows * HID);
    ds->clips = calloc(total, sizeof(slava_clip));
    if (!u || !hid || !ds->clips || !rmap_init(&mv, 2 * K_LAT, o->d_v, &maps) || !rmap_init(&ma, 2 * K_LAT, o->d_a, &maps) ||
        !rmap_init(&mt, 3 * K_LAT, o->d_t, &maps))
        goto nomem;
    ds->d_v = o->d_v; ds->d_a = o->d_a; ds->d_t = o->d_t;
    ds->encoder_id[0] = sv_strdup("synthetic-visual-v1");
    ds->encoder_id[1] = sv_strdup("synthetic-audio-v1");
    ds->encoder_id[2] = sv_strdup("synthetic-text-v1");
    for (int s = 0; s < SLAVA_SPLITS; s++) {
        for (int i = 0; i < o->n_clips[s]; i++) {
            slava_clip *c = &ds->clips[ds->n++];
            c->split = s;
            c->id = fmt_dup("syn-%s-%05d", split_name[s], i);
            float z[3][K_LAT];   /* audio-only, visual-only, shared */
            for (int g = 0; g < 3; g++)
                for (int k = 0; k < K_LAT; k++) z[g][k] = (float)sv_rng_normal(&r);
            c->t_v = 4 + (int)sv_rng_below(&r, (uint64_t)(o->max_frames > 4 ? o->max_frames - 3 : 1));
            if (c->t_v > o->max_frames) c->t_v = o->max_frames;
            int has_audio = sv_rng_uniform(&r) >= o->no_audio_share;
            c->t_a = has_audio ? 1 + (int)sv_rng_below(&r, (uint64_t)o->max_chunks) : 0;
            c->visual = sv_alloc(sizeof(float) * (size_t)c->t_v * o->d_v);
            c->audio = c->t_a ? sv_alloc(sizeof(float) * (size_t)c->t_a * o->d_a) : NULL;
            if (!c->id || !c->visual || (c->t_a && !c->audio)) goto nomem;
            /* frames / chunks: (own factors, shared factors + slow drift over time) */
            for (int m = 0; m < 2; m++) {
                int T = m ? c->t_a : c->t_v, own = m ? 0 : 1;
                for (int t = 0; t < T; t++)
                    for (int k = 0; k < K_LAT; k++) {
                        u[(size_t)t * 2 * K_LAT + k] = z[own][k] + (float)(0.6 * sv_rng_normal(&r));
                        u[(size_t)t * 2 * K_LAT + K_LAT + k] = z[2][k] + (float)(0.6 * sv_rng_normal(&r));
                    }
                if (T) rmap_apply(m ? &ma : &mv, u, T, m ? c->audio : c->visual, hid, 0.5, &r);
            }
            /* captions */
            for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
                if (!(o->kinds_mask[s] & (1 << k))) continue;
                int n = k == SLAVA_CAP_GPT ? 3 : (sv_rng_uniform(&r) < 0.8 ? 5 : 3 + (int)sv_rng_below(&r, 2));
                c->n_cap[k] = n;
                c->cap[k] = sv_alloc(sizeof(float) * (size_t)n * o->d_t);
                c->cap_text[k] = calloc(n, sizeof(char *));
                if (!c->cap[k] || !c->cap_text[k]) goto nomem;
                double xi = k == SLAVA_CAP_GPT ? 1.0 : 1.5;
                for (int j = 0; j < n; j++) {
                    if (j > 0 && sv_rng_uniform(&r) < 0.01) {
                        /* a repeated caption (crowd workers do that): same text, same features */
                        memcpy(c->cap[k] + (size_t)j * o->d_t, c->cap[k] + (size_t)(j - 1) * o->d_t, sizeof(float) * o->d_t);
                        c->cap_text[k][j] = sv_strdup(c->cap_text[k][j - 1]);
                        if (!c->cap_text[k][j]) goto nomem;
                        continue;
                    }
                    int sees_a = k != SLAVA_CAP_VISUAL, sees_v = k != SLAVA_CAP_AUDIO;
                    for (int q = 0; q < K_LAT; q++) {
                        u[q] = sees_a ? z[0][q] + (float)(xi * sv_rng_normal(&r)) : 0;
                        u[K_LAT + q] = sees_v ? z[1][q] + (float)(xi * sv_rng_normal(&r)) : 0;
                        u[2 * K_LAT + q] = z[2][q] + (float)(xi * sv_rng_normal(&r));
                    }
                    rmap_apply(&mt, u, 1, c->cap[k] + (size_t)j * o->d_t, hid, 0.2, &r);
                    c->cap_text[k][j] = fmt_dup("synthetic %s caption %d of %s", kind_name[k], j + 1, c->id);
                    if (!c->cap_text[k][j]) goto nomem;
                }
            }
        }
    }
    rmap_free(&mv); rmap_free(&ma); rmap_free(&mt);
    sv_free(u); sv_free(hid);
    return SLAVA_OK;
nomem:
    rmap_free(&mv); rmap_free(&ma); rmap_free(&mt);
    sv_free(u); sv_free(hid);
    slava_dataset_free(ds);
    return sv_err(ctx, SLAVA_E_NOMEM, "synthetic features: out of memory");
}
