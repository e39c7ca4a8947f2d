/*
 * clip_vision.h — the CLIP image tower (transformers' CLIPVisionModel + visual_projection),
 * internal view. Public API: slava_clip_vision_* in include/slava.h (vision section).
 *
 * Shapes (S image_size, P patch_size, G = S / P, L = 1 + G*G tokens, D hidden, Pj projection):
 *   pixels [n, 3, S, S]  ->  im2col [n*G*G, 3*P*P] · patch_embedding [D, 3*P*P]ᵀ  (one GEMM)
 *   h [n*L, D] = [class_embedding ; patches] + position_embedding, pre_layrnorm,
 *   layers × sv_block_forward (non-causal, sequences of L rows),
 *   pooled [n, D] = post_layernorm(h[CLS]),  projected [n, Pj] = pooled · visual_projectionᵀ.
 * Weights are borrowed from the sv_weights (zero copy for F32; F16/BF16 converted once there); the
 * products (patch embedding, blocks, projection) are sv_mat in the tower's precision.
 */
#ifndef SLAVA_VISION_CLIP_VISION_H
#define SLAVA_VISION_CLIP_VISION_H

#include "io/config.h"
#include "io/safetensors.h"
#include "nn/nn.h"

struct slava_clip_vision {
    sv_clip_tower_cfg  cfg;          /* vision_config */
    int                proj_dim;     /* projection_dim */
    int                S, P, G, L, D, C;
    sv_weights        *w;
    slava_precision    prec;
    sv_mat             patch;        /* [D, C*P*P] (conv weight [D, C, P, P] flattened) */
    const float       *class_emb;    /* [D] */
    const float       *pos_emb;      /* [L, D] */
    const float       *pre_ln_w, *pre_ln_b;
    const float       *post_ln_w, *post_ln_b;
    sv_mat             proj;         /* visual_projection [proj_dim, D] */
    sv_block_w        *blocks;       /* [layers], fused qkv owned */
    sv_block_cfg       bcfg;
    slava_clip_preproc pre;
};

/* Frames per internal batch (bounds the scratch memory; large enough for big GEMMs). */
#define SV_CLIP_VISION_BATCH 32

/* slava_clip_vision_load with the products in `prec` (fp32 or bf16: weights converted once here,
 * activations rounded at each product's input, everything else float32). */
slava_status sv_clip_vision_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, slava_clip_vision **out);

/* As slava_clip_vision_encode, plus the encoder output before post_layernorm:
 * last_hidden [n, L, D] (may be NULL). */
slava_status sv_clip_vision_forward(slava_ctx *ctx, const slava_clip_vision *m, int n, const float *pixels,
                                    float *last_hidden, float *pooled, float *projected);

#endif
