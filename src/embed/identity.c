/*
 * identity.c — encoder identities, the names features are stored under (docs/store.md): the
 * sha256 of a checkpoint's weight files + config.json, "+bf16" for features computed in bf16 (so
 * the two precisions never mix in a store), and "@<fps>fps" appended for visual features sampled
 * at another rate than 1 fps. The one copy of that rule: slava_encoder_ids
 * (the encode pipeline) and the embedder's cached identities (slava_embedder_encoder_id) both
 * come from here.
 */
#include "embed/embed.h"
#include "io/safetensors.h"
#include "nn/nn.h"
#include <math.h>
#include <stdio.h>

slava_status sv_checkpoint_sha(slava_ctx *ctx, const char *dir, char sha[65]) {
    sv_weights *w;
    SV_TRY(sv_weights_open(ctx, dir, &w));
    slava_status st = sv_weights_sha256(ctx, w, sha);
    sv_weights_free(w);
    return st;
}

void sv_encoder_id_format(const char *sha, int modality, double fps, slava_precision prec, char id[SLAVA_ENCODER_ID_LEN]) {
    const char *p = prec == SLAVA_PRECISION_BF16 ? "+bf16" : "";
    if (modality == SLAVA_MOD_VISUAL && fps != 1.0) snprintf(id, SLAVA_ENCODER_ID_LEN, "%s%s@%gfps", sha, p, fps);
    else snprintf(id, SLAVA_ENCODER_ID_LEN, "%s%s", sha, p);
}

slava_precision slava_encoder_id_precision(const char *id) {
    const char *p = id ? strstr(id, "+bf16") : NULL;
    return p && (p[5] == 0 || p[5] == '@') ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32;
}

const char *slava_precision_name(slava_precision p) { return sv_precision_name(p); }
int slava_precision_parse(const char *name, slava_precision *p) { return sv_precision_parse(name, p) ? -1 : 0; }

slava_status slava_encoder_ids(slava_ctx *ctx, const char *clip_dir, const char *clap_dir, double fps,
                               char id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]) {
    return slava_encoder_ids_precision(ctx, clip_dir, clap_dir, fps, SLAVA_PRECISION_FP32, id);
}

slava_status slava_encoder_ids_precision(slava_ctx *ctx, const char *clip_dir, const char *clap_dir, double fps,
                                         slava_precision precision, char id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]) {
    char clip_sha[65], clap_sha[65];
    if (!clip_dir || !clap_dir) return sv_err(ctx, SLAVA_E_ARG, "encode: both a CLIP and a CLAP folder are needed");
    if (!(fps > 0) || !isfinite(fps)) return sv_err(ctx, SLAVA_E_ARG, "encode: fps must be > 0, got %g", fps);
    SV_TRY(sv_checkpoint_sha(ctx, clip_dir, clip_sha));
    SV_TRY(sv_checkpoint_sha(ctx, clap_dir, clap_sha));
    if (precision != SLAVA_PRECISION_FP32 && precision != SLAVA_PRECISION_BF16)
        return sv_err(ctx, SLAVA_E_ARG, "encode: unknown precision %d", (int)precision);
    sv_encoder_id_format(clip_sha, SLAVA_MOD_VISUAL, fps, precision, id[SLAVA_MOD_VISUAL]);
    sv_encoder_id_format(clap_sha, SLAVA_MOD_AUDIO, fps, precision, id[SLAVA_MOD_AUDIO]);
    sv_encoder_id_format(clip_sha, SLAVA_MOD_TEXT, fps, precision, id[SLAVA_MOD_TEXT]);
    return SLAVA_OK;
}

slava_status slava_embedder_encoder_id(slava_ctx *ctx, slava_embedder *e, int modality, char *id) {
    if (modality < 0 || modality >= SLAVA_MODS)
        return sv_err(ctx, SLAVA_E_ARG, "embedder: unknown modality %d", modality);
    const int clap = modality == SLAVA_MOD_AUDIO;
    const char *dir = clap ? e->clap_dir : e->clip_dir;
    if (!dir || !e->d[modality])
        return sv_err(ctx, SLAVA_E_ARG, "embedder: no %s tower was loaded (%s folder), so there are no %s features",
                      slava_store_modality_name(modality), clap ? "CLAP" : "CLIP", slava_store_modality_name(modality));
    char *sha = clap ? e->clap_sha : e->clip_sha;
    if (!sha[0]) SV_TRY(sv_checkpoint_sha(ctx, dir, sha));
    if (!e->id[modality][0]) sv_encoder_id_format(sha, modality, e->o.fps, e->o.precision, e->id[modality]);
    memcpy(id, e->id[modality], SLAVA_ENCODER_ID_LEN);
    return SLAVA_OK;
}

const char *slava_embedder_heads_id(const slava_embedder *e) { return e->heads_sha; }
