/*
 * embedder.c — the embedder's life: options and their defaults, loading the towers of a CLIP
 * and / or a CLAP folder and the optional trained heads (refusing heads trained on other
 * encoders' features unless forced), the sizes it reports, and the batch-level tower calls
 * (the only calls of the towers in the library: the slava_embed_* functions and the encode
 * pipeline go through them).
 */
#include "embed/embed.h"
#include "align/heads.h"
#include "audio/clap_audio.h"
#include "io/safetensors.h"
#include "text/clip_text.h"
#include "vision/clip_vision.h"
#include <math.h>
#include <stdio.h>

void slava_embedder_opts_default(slava_embedder_opts *o) {
    memset(o, 0, sizeof *o);
    o->fps = 1.0;
    o->frame_batch = 32;
    o->chunk_batch = 8;
    o->text_batch = 256;
    o->precision = SLAVA_PRECISION_FP32;
}

void slava_embedder_free(slava_embedder *e) {
    if (!e) return;
    slava_clip_vision_free(e->vis);
    slava_clip_text_free(e->txt);
    slava_clap_audio_free(e->aud);
    slava_heads_free(e->heads);
    free(e->clip_dir);
    free(e->clap_dir);
    free(e->heads_path);
    free(e);
}

static const char *mod_name(int m) { return slava_store_modality_name(m); }

static const char *tower_dir(const slava_embedder *e, int m) { return m == SLAVA_MOD_AUDIO ? e->clap_dir : e->clip_dir; }

/* The heads' input sizes must be the loaded towers' outputs; unless forced, the encoders the heads
 * file records (slava_heads_encoder) must be the loaded checkpoints (slava_heads_check_encoders:
 * the project's one rule, as `slava eval` applies it to a store). Identities are computed only
 * for modalities whose encoder the file records. */
static slava_status load_heads(slava_ctx *ctx, slava_embedder *e) {
    sv_stfile *f;
    SV_TRY(sv_st_open(ctx, e->heads_path, &f));
    slava_status st = sv_st_sha256(ctx, f, e->heads_sha);
    sv_st_close(f);
    if (!st) st = slava_heads_load(ctx, e->heads_path, &e->heads);
    const slava_heads *h = e->heads;
    for (int m = 0; !st && m < SLAVA_MODS; m++) {
        int in = m == SLAVA_MOD_VISUAL ? h->d_v : m == SLAVA_MOD_AUDIO ? h->d_a : h->d_t;
        if (e->d[m] && in != e->d[m])
            st = sv_err(ctx, SLAVA_E_SHAPE, "%s: the %s head takes %d-d features, %s gives %d-d", e->heads_path,
                        mod_name(m), in, tower_dir(e, m), e->d[m]);
    }
    if (st || e->o.force_heads) return st;
    for (int m = 0; !st && m < SLAVA_MODS; m++) {
        if (!e->d[m] || !slava_heads_encoder(h, m)) continue;
        char id[SLAVA_ENCODER_ID_LEN];
        const char *enc[SLAVA_MODS] = {NULL, NULL, NULL};
        st = slava_embedder_encoder_id(ctx, e, m, id);
        enc[m] = id;
        if (!st) st = slava_heads_check_encoders(ctx, h, e->heads_path, enc, tower_dir(e, m));
    }
    return st;
}

static slava_status check_opts(slava_ctx *ctx, slava_embedder_opts *o) {
    slava_embedder_opts def;
    slava_embedder_opts_default(&def);
    if (!o->clip_dir && !o->clap_dir) return sv_err(ctx, SLAVA_E_ARG, "embedder: give a CLIP folder, a CLAP folder or both");
    if (o->fps == 0) o->fps = def.fps;
    if (!(o->fps > 0) || !isfinite(o->fps)) return sv_err(ctx, SLAVA_E_ARG, "embedder: fps must be > 0, got %g", o->fps);
    if (o->frame_batch <= 0) o->frame_batch = def.frame_batch;
    if (o->chunk_batch <= 0) o->chunk_batch = def.chunk_batch;
    if (o->text_batch <= 0) o->text_batch = def.text_batch;
    if (o->precision != SLAVA_PRECISION_FP32 && o->precision != SLAVA_PRECISION_BF16)
        return sv_err(ctx, SLAVA_E_ARG, "embedder: unknown precision %d", (int)o->precision);
    const unsigned all = (1u << SLAVA_MODS) - 1;
    if (o->modalities & ~all) return sv_err(ctx, SLAVA_E_ARG, "embedder: unknown modalities 0x%x", o->modalities);
    for (int m = 0; m < SLAVA_MODS; m++) {
        const char *dir = m == SLAVA_MOD_AUDIO ? o->clap_dir : o->clip_dir;
        if ((o->modalities & (1u << m)) && !dir)
            return sv_err(ctx, SLAVA_E_ARG, "embedder: %s inputs need a %s folder", mod_name(m),
                          m == SLAVA_MOD_AUDIO ? "CLAP" : "CLIP");
    }
    return SLAVA_OK;
}

slava_status slava_embedder_load(slava_ctx *ctx, const slava_embedder_opts *opts, slava_embedder **out) {
    *out = NULL;
    slava_embedder_opts o = *opts;
    SV_TRY(check_opts(ctx, &o));
    slava_embedder *e = calloc(1, sizeof *e);
    if (!e) return sv_err(ctx, SLAVA_E_NOMEM, "embedder: out of memory");
    e->o = o;
    e->clip_dir = o.clip_dir ? sv_strdup(o.clip_dir) : NULL;
    e->clap_dir = o.clap_dir ? sv_strdup(o.clap_dir) : NULL;
    e->heads_path = o.heads ? sv_strdup(o.heads) : NULL;
    e->o.clip_dir = e->clip_dir;
    e->o.clap_dir = e->clap_dir;
    e->o.heads = e->heads_path;
    slava_status st = SLAVA_OK;
    if ((o.clip_dir && !e->clip_dir) || (o.clap_dir && !e->clap_dir) || (o.heads && !e->heads_path))
        st = sv_err(ctx, SLAVA_E_NOMEM, "embedder: out of memory");
    const unsigned want = o.modalities ? o.modalities : (1u << SLAVA_MODS) - 1;
    if (!st && e->clip_dir && (want & (1u << SLAVA_MOD_VISUAL))) {
        st = sv_clip_vision_load_prec(ctx, e->clip_dir, o.precision, &e->vis);
        if (!st) slava_clip_vision_dims(e->vis, &e->S, &e->d[SLAVA_MOD_VISUAL], &e->p_tower[SLAVA_MOD_VISUAL]);
    }
    if (!st && e->clip_dir && (want & (1u << SLAVA_MOD_TEXT))) {
        int L;
        st = sv_clip_text_load_prec(ctx, e->clip_dir, o.precision, &e->txt);
        if (!st) slava_clip_text_dims(e->txt, &e->d[SLAVA_MOD_TEXT], &e->p_tower[SLAVA_MOD_TEXT], &L);
    }
    if (!st && e->clap_dir && (want & (1u << SLAVA_MOD_AUDIO))) {
        st = sv_clap_audio_load_prec(ctx, e->clap_dir, o.precision, &e->aud);
        if (!st) slava_clap_audio_dims(e->aud, &e->d[SLAVA_MOD_AUDIO], &e->p_tower[SLAVA_MOD_AUDIO]);
    }
    if (!st && e->heads_path) st = load_heads(ctx, e);
    if (st) { slava_embedder_free(e); return st; }
    *out = e;
    return SLAVA_OK;
}

void slava_embedder_get_info(const slava_embedder *e, slava_embedder_info *info) {
    memset(info, 0, sizeof *info);
    int p[SLAVA_MODS];
    for (int m = 0; m < SLAVA_MODS; m++) p[m] = !e->d[m] ? 0 : e->heads ? slava_heads_dim(e->heads) : e->p_tower[m];
    info->d_v = e->d[SLAVA_MOD_VISUAL];
    info->d_a = e->d[SLAVA_MOD_AUDIO];
    info->d_t = e->d[SLAVA_MOD_TEXT];
    info->p_v = p[SLAVA_MOD_VISUAL];
    info->p_a = p[SLAVA_MOD_AUDIO];
    info->p_t = p[SLAVA_MOD_TEXT];
    info->image_size = e->S;
    info->fps = e->o.fps;
    info->has_heads = e->heads != NULL;
}

/* ------------------------------------------------------------------ batch-level tower calls */

static slava_status need(slava_ctx *ctx, const void *tower, const char *what) {
    return tower ? SLAVA_OK : sv_err(ctx, SLAVA_E_ARG, "embedder: no %s was loaded", what);
}

slava_status sv_embedder_frames(slava_ctx *ctx, slava_embedder *e, int n, const float *pixels, float *pooled,
                                float *projected) {
    SV_TRY(need(ctx, e->vis, "CLIP folder (image tower)"));
    return slava_clip_vision_encode(ctx, e->vis, n, pixels, pooled, projected);
}

slava_status sv_embedder_chunks(slava_ctx *ctx, slava_embedder *e, int n, const float *mel, float *pooled,
                                float *projected) {
    SV_TRY(need(ctx, e->aud, "CLAP folder (audio tower)"));
    return slava_clap_audio_encode(ctx, e->aud, n, mel, pooled, projected);
}

slava_status sv_embedder_captions(slava_ctx *ctx, slava_embedder *e, int n, const char *const *texts,
                                  float *pooled, float *projected) {
    SV_TRY(need(ctx, e->txt, "CLIP folder (text tower)"));
    return slava_clip_text_encode(ctx, e->txt, n, texts, pooled, projected);
}

const slava_clip_preproc *sv_embedder_preproc(const slava_embedder *e) {
    return e->vis ? slava_clip_vision_preproc(e->vis) : NULL;
}

slava_status sv_embedder_mel(slava_ctx *ctx, const slava_embedder *e, const float *wave, int64_t n, float *features) {
    if (!e->aud) return sv_err(ctx, SLAVA_E_ARG, "embedder: no CLAP folder (audio tower) was loaded");
    return slava_clap_features(ctx, e->aud, wave, n, -1, features);
}
