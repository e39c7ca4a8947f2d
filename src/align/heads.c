/*
 * heads.c — the projection heads: allocation and layout, initialisation (seed or checkpoint
 * projections), save / load as safetensors with Hugging Face names, and projecting one item
 * (slava_heads_project, used by `slava embed --heads`) or every row of one
 * (slava_heads_project_rows, used by `slava index`), and checking the encoders the heads were
 * trained on against the features they are applied to.
 */
#include "align/heads.h"
#include "align/kernels.h"
#include "base/rng.h"
#include "io/safetensors.h"
#include "nn/nn.h"
#include <math.h>
#include <stdio.h>

static void layout(slava_heads *h) {
    int P = h->P, H = h->H;
    size_t off = 0;
    int k = 0;
#define ADD(nm, grp, nd, s0, s1, dec) do { al_tdesc *d = &h->desc[k++]; d->name = nm; d->group = grp; \
        d->ndim = nd; d->shape[0] = s0; d->shape[1] = s1; d->off = off;                          \
        d->numel = (size_t)(nd >= 1 ? s0 : 1) * (nd == 2 ? s1 : 1); d->decay = dec; off += d->numel; } while (0)
    ADD("visual_projection.weight", AL_G_VIS, 2, P, h->d_v, 1);
    ADD("text_projection.weight", AL_G_TXT, 2, P, h->d_t, 1);
    if (H > 0) {
        ADD("audio_projection.linear1.weight", AL_G_AUD, 2, H, h->d_a, 1);
        ADD("audio_projection.linear1.bias", AL_G_AUD, 1, H, 0, 1);
        ADD("audio_projection.linear2.weight", AL_G_AUD, 2, P, H, 1);
        ADD("audio_projection.linear2.bias", AL_G_AUD, 1, P, 0, 1);
    } else {
        ADD("audio_projection.weight", AL_G_AUD, 2, P, h->d_a, 1);
        ADD("audio_projection.bias", AL_G_AUD, 1, P, 0, 1);
    }
    ADD("logit_scale_av", AL_G_LS_AV, 0, 0, 0, 0);
    ADD("logit_scale_at", AL_G_LS_AT, 0, 0, 0, 0);
    ADD("logit_scale_vt", AL_G_LS_VT, 0, 0, 0, 0);
#undef ADD
    h->n_desc = k;
    h->n = off;
}

void al_tensors_point(const slava_heads *h, float *base, al_tensors *t) {
    const al_tdesc *d = h->desc;
    memset(t, 0, sizeof *t);
    t->w_v = base + d[0].off;
    t->w_t = base + d[1].off;
    t->a_w1 = base + d[2].off;
    t->a_b1 = base + d[3].off;
    if (h->H > 0) {
        t->a_w2 = base + d[4].off;
        t->a_b2 = base + d[5].off;
    }
    t->ls = base + d[h->n_desc - 3].off;   /* the three scalars are adjacent: av, at, vt */
}

slava_status al_heads_new(slava_ctx *ctx, int d_v, int d_a, int d_t, int P, int H, slava_heads **out) {
    *out = NULL;
    if (d_v <= 0 || d_a <= 0 || d_t <= 0 || P <= 0 || H < 0)
        return sv_err(ctx, SLAVA_E_ARG, "heads: bad sizes d_v=%d d_a=%d d_t=%d P=%d H=%d", d_v, d_a, d_t, P, H);
    slava_heads *h = calloc(1, sizeof *h);
    if (!h) return sv_err(ctx, SLAVA_E_NOMEM, "heads: out of memory");
    h->d_v = d_v; h->d_a = d_a; h->d_t = d_t; h->P = P; h->H = H;
    layout(h);
    h->mem = sv_calloc(h->n, sizeof(float));
    if (!h->mem) {
        size_t n = h->n;
        free(h);
        return sv_err(ctx, SLAVA_E_NOMEM, "heads: out of memory (%zu floats)", n);
    }
    al_tensors_point(h, h->mem, &h->t);
    *out = h;
    return SLAVA_OK;
}

void slava_heads_free(slava_heads *h) {
    if (!h) return;
    sv_free(h->mem);
    for (int m = 0; m < 3; m++) free(h->encoder[m]);
    free(h->path);
    free(h);
}

int slava_heads_dim(const slava_heads *h) { return h ? h->P : 0; }

void slava_heads_sizes(const slava_heads *h, int *d_v, int *d_a, int *d_t, int *P, int *H) {
    if (d_v) *d_v = h->d_v;
    if (d_a) *d_a = h->d_a;
    if (d_t) *d_t = h->d_t;
    if (P) *P = h->P;
    if (H) *H = h->H;
}

void al_heads_init_seed(slava_heads *h, uint64_t seed) {
    /* nn.Linear.reset_parameters: kaiming_uniform(a=√5) = U(±1/√in) for W, U(±1/√in) for b. */
    for (int k = 0; k < h->n_desc; k++) {
        const al_tdesc *d = &h->desc[k];
        float *p = h->mem + d->off;
        if (d->ndim == 0) { p[0] = (float)AL_LN100; continue; }
        /* fan_in: a weight's second dim; a bias shares the weight before it */
        int fan_in = d->ndim == 2 ? d->shape[1] : h->desc[k - 1].shape[1];
        double bound = 1.0 / sqrt((double)fan_in);
        sv_rng r;
        sv_rng_seed(&r, seed * 0x100000001B3ull + (uint64_t)k * 0x9E3779B97F4A7C15ull + 1);
        for (size_t i = 0; i < d->numel; i++) p[i] = (float)((2.0 * sv_rng_uniform(&r) - 1.0) * bound);
    }
}

/* Copy tensor `name` of shape [s0, s1] (s1 = 0: 1-d) from w into dst. */
static slava_status copy_from(slava_ctx *ctx, sv_weights *w, const char *name, float *dst, int s0, int s1) {
    const float *src;
    slava_status st = s1 ? sv_weights_get(ctx, w, name, &src, 2, s0, s1) : sv_weights_get(ctx, w, name, &src, 1, s0);
    if (st) return st;
    memcpy(dst, src, sizeof(float) * (size_t)s0 * (s1 ? s1 : 1));
    return SLAVA_OK;
}

static slava_status finish_init(slava_ctx *ctx, sv_weights *w, slava_status st, char *sha) {
    if (!st && sha) st = sv_weights_sha256(ctx, w, sha);
    sv_weights_free(w);
    return st;
}

slava_status al_heads_init_clip(slava_ctx *ctx, slava_heads *h, const char *dir, char *sha) {
    sv_weights *w;
    SV_TRY(sv_weights_open(ctx, dir, &w));
    slava_status st = copy_from(ctx, w, "visual_projection.weight", h->t.w_v, h->P, h->d_v);
    if (!st) st = copy_from(ctx, w, "text_projection.weight", h->t.w_t, h->P, h->d_t);
    return finish_init(ctx, w, st, sha);
}

slava_status al_heads_init_clap(slava_ctx *ctx, slava_heads *h, const char *dir, char *sha) {
    if (h->H == 0)
        return sv_err(ctx, SLAVA_E_ARG, "%s: a linear audio head cannot start from CLAP's two-layer projection", dir);
    sv_weights *w;
    SV_TRY(sv_weights_open(ctx, dir, &w));
    slava_status st = copy_from(ctx, w, "audio_projection.linear1.weight", h->t.a_w1, h->H, h->d_a);
    if (!st) st = copy_from(ctx, w, "audio_projection.linear1.bias", h->t.a_b1, h->H, 0);
    if (!st) st = copy_from(ctx, w, "audio_projection.linear2.weight", h->t.a_w2, h->P, h->H);
    if (!st) st = copy_from(ctx, w, "audio_projection.linear2.bias", h->t.a_b2, h->P, 0);
    return finish_init(ctx, w, st, sha);
}

static slava_status shape_of(slava_ctx *ctx, const char *dir, const char *name, int *rows, int *cols) {
    sv_weights *w;
    SV_TRY(sv_weights_open(ctx, dir, &w));
    const char *file = NULL;
    const sv_tensor *t = sv_weights_find(w, name, &file);
    slava_status st = SLAVA_OK;
    if (!t || t->ndim != 2)
        st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: tensor '%s' is missing or not 2-d", dir, name);
    else {
        *rows = (int)t->shape[0];
        *cols = (int)t->shape[1];
    }
    sv_weights_free(w);
    return st;
}

slava_status al_ckpt_proj_sizes(slava_ctx *ctx, const char *clip_dir, const char *clap_dir, int d_v, int d_a,
                                int d_t, int *P, int *H) {
    int pv = 0, pt = 0, pa = 0, h1 = 0, in = 0;
    if (clip_dir) {
        SV_TRY(shape_of(ctx, clip_dir, "visual_projection.weight", &pv, &in));
        if (in != d_v)
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: visual_projection.weight takes %d-d features, the feature set has %d-d",
                          clip_dir, in, d_v);
        SV_TRY(shape_of(ctx, clip_dir, "text_projection.weight", &pt, &in));
        if (in != d_t || pt != pv)
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: text_projection.weight is [%d,%d], expected [%d,%d] (text features %d-d)",
                          clip_dir, pt, in, pv, d_t, d_t);
    }
    if (clap_dir) {
        SV_TRY(shape_of(ctx, clap_dir, "audio_projection.linear1.weight", &h1, &in));
        if (in != d_a)
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: audio_projection.linear1.weight takes %d-d features, the feature set has %d-d",
                          clap_dir, in, d_a);
        SV_TRY(shape_of(ctx, clap_dir, "audio_projection.linear2.weight", &pa, &in));
        if (in != h1)
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: audio_projection.linear2.weight takes %d inputs, linear1 gives %d",
                          clap_dir, in, h1);
    }
    if (pv && pa && pv != pa)
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: audio projection size %d differs from %s's visual projection size %d",
                      clap_dir, pa, clip_dir, pv);
    *P = pv ? pv : pa;
    *H = h1;
    return SLAVA_OK;
}

slava_status al_heads_save(slava_ctx *ctx, const slava_heads *h, const char *path, const char *const *meta) {
    SV_TRY(slava_output_check(ctx, path, SLAVA_FILE_HEADS, NULL, 0));   /* never replace a store or another kind of file */
    sv_wtensor t[9];
    for (int k = 0; k < h->n_desc; k++) {
        const al_tdesc *d = &h->desc[k];
        memset(&t[k], 0, sizeof t[k]);
        t[k].name = d->name;
        t[k].dtype = SV_F32;
        t[k].ndim = d->ndim;
        for (int i = 0; i < d->ndim; i++) t[k].shape[i] = d->shape[i];
        t[k].data = h->mem + d->off;
    }
    return sv_st_write(ctx, path, t, h->n_desc, meta);
}

/* Shape [s0, s1] of a 1-d / 2-d F32-convertible tensor, or an error naming the file. */
static slava_status need(slava_ctx *ctx, const sv_stfile *f, const char *name, int ndim, const sv_tensor **out) {
    const sv_tensor *t = sv_st_find(f, name);
    if (!t) return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' is missing", f->path, name);
    if (t->ndim != ndim)
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' has %d dimensions, expected %d", f->path, name, t->ndim, ndim);
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] <= 0 || t->shape[i] > (1 << 20))
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' has a bad size", f->path, name);
    *out = t;
    return SLAVA_OK;
}

slava_status slava_heads_load(slava_ctx *ctx, const char *path, slava_heads **out) {
    *out = NULL;
    sv_stfile *f;
    SV_TRY(sv_gemm_reserve(ctx, path));   /* heads are loaded to project with */
    SV_TRY(sv_st_open(ctx, path, &f));
    const sv_tensor *tv = NULL, *tt = NULL, *t1 = NULL, *t2 = NULL;
    slava_status st = need(ctx, f, "visual_projection.weight", 2, &tv);
    if (!st) st = need(ctx, f, "text_projection.weight", 2, &tt);
    int mlp = sv_st_find(f, "audio_projection.linear1.weight") != NULL;
    if (!st) st = need(ctx, f, mlp ? "audio_projection.linear1.weight" : "audio_projection.weight", 2, &t1);
    if (!st && mlp) st = need(ctx, f, "audio_projection.linear2.weight", 2, &t2);
    slava_heads *h = NULL;
    if (!st) {
        int P = (int)tv->shape[0], H = mlp ? (int)t1->shape[0] : 0;
        if (tt->shape[0] != P || (mlp ? t2->shape[0] != P || t2->shape[1] != H : t1->shape[0] != P))
            st = sv_err(ctx, SLAVA_E_SHAPE, "%s: the heads' output sizes disagree (visual %d, text %d, audio %d)",
                        path, P, (int)tt->shape[0], (int)(mlp ? t2->shape[0] : t1->shape[0]));
        else
            st = al_heads_new(ctx, (int)tv->shape[1], (int)t1->shape[1], (int)tt->shape[1], P, H, &h);
    }
    for (int k = 0; !st && k < h->n_desc; k++) {
        const al_tdesc *d = &h->desc[k];
        const sv_tensor *t = sv_st_find(f, d->name);
        if (!t && d->ndim == 0) { h->mem[d->off] = (float)AL_LN100; continue; }   /* optional */
        if (!t) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' is missing", path, d->name); break; }
        if ((size_t)t->numel != d->numel) {
            st = sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' has %lld values, expected %zu", path, d->name,
                        (long long)t->numel, d->numel);
            break;
        }
        st = sv_tensor_to_f32(ctx, path, t, h->mem + d->off);
        for (size_t i = 0; !st && i < d->numel; i++)
            if (!isfinite(h->mem[d->off + i]))
                st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' holds %s values (a diverged training run?)", path,
                            d->name, isnan(h->mem[d->off + i]) ? "NaN" : "infinite");
    }
    static const char *enc_keys[3] = {"visual_encoder", "audio_encoder", "text_encoder"};
    for (int m = 0; !st && m < 3; m++) h->encoder[m] = sv_st_meta(f, enc_keys[m]);
    if (!st && !(h->path = sv_strdup(path))) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    sv_st_close(f);
    if (st) { slava_heads_free(h); return st; }
    *out = h;
    return SLAVA_OK;
}

slava_status slava_heads_project(slava_ctx *ctx, const slava_heads *h, slava_modality m, const float *x,
                                 int T, int D, float *out) {
    int want = m == SLAVA_MOD_VISUAL ? h->d_v : m == SLAVA_MOD_AUDIO ? h->d_a : h->d_t;
    if ((int)m < 0 || m >= SLAVA_MODS) return sv_err(ctx, SLAVA_E_ARG, "heads: unknown modality %d", (int)m);
    if (D != want)
        return sv_err(ctx, SLAVA_E_SHAPE, "heads: %s features have %d values per row, the head expects %d",
                      m == SLAVA_MOD_VISUAL ? "visual" : m == SLAVA_MOD_AUDIO ? "audio" : "text", D, want);
    if (T <= 0) return sv_err(ctx, SLAVA_E_ARG, "heads: no rows to project");
    int offs[2] = {0, T};
    if (m == SLAVA_MOD_AUDIO && h->H > 0) {
        float *hid = sv_alloc(sizeof(float) * ((size_t)T + 1) * h->H);
        if (!hid) return sv_err(ctx, SLAVA_E_NOMEM, "heads: out of memory");
        al_mlp_fwd_f(out, hid, hid + (size_t)T * h->H, x, offs, 1, h->t.a_w1, h->t.a_b1, h->t.a_w2, h->t.a_b2,
                     h->d_a, h->H, h->P);
        sv_free(hid);
        return SLAVA_OK;
    }
    /* Linear heads commute with the temporal mean: average the T rows first, project once. */
    float *mean = sv_alloc(sizeof(float) * D);
    if (!mean) return sv_err(ctx, SLAVA_E_NOMEM, "heads: out of memory");
    al_meanpool_fwd_f(mean, x, offs, 1, D);
    const float *W = m == SLAVA_MOD_VISUAL ? h->t.w_v : m == SLAVA_MOD_TEXT ? h->t.w_t : h->t.a_w1;
    const float *b = m == SLAVA_MOD_AUDIO ? h->t.a_b1 : NULL;
    al_linear_fwd_f(out, mean, W, b, 1, D, h->P);
    sv_free(mean);
    return SLAVA_OK;
}

slava_status slava_heads_project_rows(slava_ctx *ctx, const slava_heads *h, slava_modality m, const float *x,
                                      int T, int D, float *out) {
    int want = m == SLAVA_MOD_VISUAL ? h->d_v : m == SLAVA_MOD_AUDIO ? h->d_a : h->d_t;
    if ((int)m < 0 || m >= SLAVA_MODS) return sv_err(ctx, SLAVA_E_ARG, "heads: unknown modality %d", (int)m);
    if (D != want)
        return sv_err(ctx, SLAVA_E_SHAPE, "heads: %s features have %d values per row, the head expects %d",
                      slava_store_modality_name(m), D, want);
    if (T <= 0) return SLAVA_OK;
    if (m == SLAVA_MOD_AUDIO && h->H > 0) {
        float *hid = sv_alloc(sizeof(float) * (size_t)T * h->H);
        if (!hid) return sv_err(ctx, SLAVA_E_NOMEM, "heads: out of memory (%d rows)", T);
        al_linear_fwd_f(hid, x, h->t.a_w1, h->t.a_b1, T, D, h->H);
        al_relu_fwd_f(hid, hid, (size_t)T * h->H);
        al_linear_fwd_f(out, hid, h->t.a_w2, h->t.a_b2, T, h->H, h->P);
        sv_free(hid);
        return SLAVA_OK;
    }
    const float *W = m == SLAVA_MOD_VISUAL ? h->t.w_v : m == SLAVA_MOD_TEXT ? h->t.w_t : h->t.a_w1;
    const float *b = m == SLAVA_MOD_AUDIO ? h->t.a_b1 : NULL;
    al_linear_fwd_f(out, x, W, b, T, D, h->P);
    return SLAVA_OK;
}

const char *slava_heads_encoder(const slava_heads *h, slava_modality m) {
    return h && (int)m >= 0 && m < SLAVA_MODS ? h->encoder[m] : NULL;
}

slava_status slava_heads_check_encoders(slava_ctx *ctx, const slava_heads *h, const char *heads_path,
                                        const char *const *enc, const char *features) {
    for (int m = 0; enc && m < SLAVA_MODS; m++) {
        if (!h->encoder[m] || !enc[m] || !strcmp(h->encoder[m], enc[m])) continue;
        return sv_err(ctx, SLAVA_E_ARG,
                      "%s: heads trained on %s encoder '%s', but %s has %s features of encoder '%s' "
                      "(--force to use them anyway)",
                      heads_path ? heads_path : "heads", slava_store_modality_name(m), h->encoder[m],
                      features ? features : "the input", slava_store_modality_name(m), enc[m]);
    }
    return SLAVA_OK;
}
