/*
 * htsat.h — CLAP's audio tower (HTSAT, unfused) and audio projection, as transformers'
 * ClapAudioModel + ClapModel.audio_projection (DESIGN.md §4). Sizes come from config.json.
 *
 * Forward for n chunks, features [n, T=1001, M=64] (log-mel dB from mel.h):
 *   BatchNorm over the M mel bins (running statistics, eps 1e-5)
 *   bicubic resize of time T → S·r (S = spec_size, r = S / M; align_corners, a = −0.75)
 *   fold to an S×S image: row c·M + m, column t holds time c·S + t of mel bin m   [mel_image]
 *   p×p patch conv (stride p) as one GEMM + LayerNorm → G×G tokens, G = S/p          [stage 0]
 *   stages i = 0..K−1: depth_i Swin blocks at resolution G/2^i, C_i = C_0·2^i channels,
 *     windows of w = min(window_size, resolution) tokens square, block j shifted by w/2 when j
 *     is odd (and resolution > window_size) with the −100 cross-region mask, relative position
 *     bias table [(2w−1)², heads]; then patch merging (2×2 concat → LN → linear 4C→2C, no
 *     bias) except after the last stage                                              [stage i+1]
 *   final LayerNorm; pooled = mean over the final tokens                      [pooled, D = C_K−1]
 *   audio_projection: linear1 (D → P) → ReLU → linear2 (P → P)                      [projected]
 *
 * Swin block (pre-LN, tokens permuted to window order so that each window is one sequence):
 *   h += out_proj(window_attention(LN_before h));  h += fc2(gelu_erf(fc1(LN_after h)))
 */
#ifndef SLAVA_HTSAT_H
#define SLAVA_HTSAT_H

#include "base/base.h"
#include "io/config.h"
#include "io/safetensors.h"
#include "nn/nn.h"

#define SV_HTSAT_MAX_STAGES 8

typedef struct {
    sv_block_w w;        /* LN before/after, fused qkv, out proj, MLP (see nn.h) */
    float     *bias;     /* [H, L, L] relative position bias expanded from the table (owned) */
    int        shift;    /* cyclic shift (0 = plain windows) */
} sv_swin_block;

typedef struct {
    int dim, heads, depth, res, win, nwin;  /* channels, heads, blocks, resolution, window, windows per chunk */
    sv_swin_block *blocks;
    float *mask;                            /* [nwin, L, L] shifted-window mask (owned), NULL if no shift */
    int   *perm[2];                         /* window order → raster index for shift 0 / shift w/2 (owned) */
    int   *pos[2];                          /* the inverses: raster index → window-order row (owned) */
    const float *merge_ln_w, *merge_ln_b, *merge_w;   /* patch merging, NULL after the last stage */
    sv_mat       merge;                               /* merge_w [2C, 4C] prepared (when merge_w) */
} sv_swin_stage;

typedef struct sv_htsat_s {
    sv_clap_audio_cfg cfg;
    sv_weights *weights;             /* owned; tensors point into it */
    int T, M, S, ratio, patch, grid; /* input frames, mel bins, spec size, S/M, patch size, S/patch */
    int nstages, D, P;               /* stages, pooled size, projection size */
    float *bn_scale, *bn_shift;      /* [M] folded BatchNorm (owned) */
    slava_precision prec;            /* of the products (sv_mat) */
    sv_mat pe;                       /* patch conv [C0, p*p] */
    const float *pe_b, *pe_ln_w, *pe_ln_b;   /* [C0]; LN */
    sv_swin_stage stages[SV_HTSAT_MAX_STAGES];
    const float *norm_w, *norm_b;    /* final LN [D] */
    sv_mat p1, p2;                   /* audio_projection linear1 [P, D], linear2 [P, P] */
    const float *p1_b, *p2_b;
} sv_htsat;

/* Optional intermediate outputs in upstream's layouts (for parity tests). NULL fields are skipped;
 * each non-NULL buffer holds the values for all n chunks. */
typedef struct {
    float *mel_image;        /* [n, S, S] */
    float *stage[SV_HTSAT_MAX_STAGES + 1]; /* [n, C, H, W]: stage[0] patch embed, stage[i+1] output of stage i */
    float *last_hidden;      /* [n, D, r_f, ...] as ClapAudioModel.last_hidden_state ([n, D, 2, 32] for HTSAT) */
} sv_htsat_debug;

/* Scratch for forward passes of up to `batch` chunks at a time (reused across calls so the large
 * buffers are not faulted in again for every batch). One workspace serves one call at a time. */
typedef struct sv_htsat_ws sv_htsat_ws;
slava_status sv_htsat_ws_new(slava_ctx *ctx, const struct sv_htsat_s *m, int batch, sv_htsat_ws **out);
void         sv_htsat_ws_free(sv_htsat_ws *ws);

/* Load the audio tower and projection from a CLAP folder (config.json + model.safetensors), float32. */
slava_status sv_htsat_load(slava_ctx *ctx, const char *dir, sv_htsat **out);
/* The same with the products (patch conv, blocks, merges, projection) in `prec` (bf16: weights
 * converted once here, activations rounded at each product's input, everything else float32). */
slava_status sv_htsat_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, sv_htsat **out);
void         sv_htsat_free(sv_htsat *m);
/* features [n, T, M] → pooled [n, D] and projected [n, P] (either may be NULL); dbg may be NULL.
 * Processes the chunks in sub-batches of at most the workspace's batch (ws NULL: a temporary
 * workspace for sub-batches of at most 8). */
slava_status sv_htsat_forward(slava_ctx *ctx, const sv_htsat *m, sv_htsat_ws *ws, int n, const float *features,
                              float *pooled, float *projected, const sv_htsat_debug *dbg);

#endif
