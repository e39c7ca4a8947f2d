/*
 * config.h — Hugging Face config.json for CLIP (CLIPModel: text_config + vision_config) and CLAP
 * (ClapModel: audio_config). Keys left out take the upstream defaults of transformers 4.40
 * (see config.full.json beside each fixture config.json); unknown keys are ignored; every size the
 * encoders use comes from here.
 */
#ifndef SLAVA_CONFIG_H
#define SLAVA_CONFIG_H

#include "base/base.h"

typedef struct {
    int   hidden;            /* hidden_size */
    int   intermediate;      /* intermediate_size */
    int   layers;            /* num_hidden_layers */
    int   heads;             /* num_attention_heads */
    float ln_eps;            /* layer_norm_eps */
    int   act_quick_gelu;    /* hidden_act == "quick_gelu" (else gelu erf) */
    /* text only */
    int   vocab_size;
    int   max_positions;     /* max_position_embeddings */
    int   eos_token_id;      /* as written in config (legacy value 2 possible) */
    int   bos_token_id;
    /* vision only */
    int   image_size;
    int   patch_size;
    int   num_channels;
} sv_clip_tower_cfg;

typedef struct {
    sv_clip_tower_cfg text, vision;
    int   projection_dim;
    float logit_scale_init;
} sv_clip_cfg;

typedef struct {
    int   num_mel_bins;            /* 64 */
    int   spec_size;               /* 256 */
    int   patch_size;              /* 4 */
    int   patch_stride[2];         /* 4,4 */
    int   patch_embeds_hidden_size;/* 96 */
    int   hidden_size;             /* 768 (final) */
    int   depths[8];
    int   num_heads[8];
    int   num_stages;
    int   window_size;             /* 8 */
    float mlp_ratio;               /* 4.0 */
    int   qkv_bias;                /* 1 */
    float ln_eps;                  /* layer_norm_eps 1e-5 */
    int   enable_patch_layer_norm; /* 1 */
    int   flatten_patch_embeds;    /* 1 */
    int   enable_fusion;           /* 0: unfused model only */
    int   projection_dim;          /* audio_config.projection_dim (512) */
    int   projection_hidden_size;  /* 768 */
    int   act_gelu;                /* hidden_act "gelu" */
    int   proj_act_relu;           /* projection_hidden_act "relu" */
    int   top_projection_dim;      /* ClapConfig.projection_dim */
} sv_clap_audio_cfg;

/* Parse `<dir>/config.json`. Errors name the file and the bad key. */
slava_status sv_clip_config_load(slava_ctx *ctx, const char *dir, sv_clip_cfg *cfg);
slava_status sv_clap_config_load(slava_ctx *ctx, const char *dir, sv_clap_audio_cfg *cfg);

#endif
