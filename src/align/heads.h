/*
 * heads.h — the trainable projection heads (struct slava_heads) and their parameter layout.
 *
 *   visual: z = x W_vᵀ                    W_v [P, d_v]   visual_projection.weight
 *   text:   z = x W_tᵀ                    W_t [P, d_t]   text_projection.weight
 *   audio:  z = relu(x W1ᵀ + b1) W2ᵀ + b2 W1 [H, d_a], b1 [H], W2 [P, H], b2 [P]
 *                                          audio_projection.linear{1,2}.{weight,bias}  (CLAP's MLP)
 *           or, with --audio-head linear:  z = x Wᵀ + b   W [P, d_a], b [P]
 *                                          audio_projection.{weight,bias}
 *   logit scales (one per modality pair):  logit_scale_av, logit_scale_at, logit_scale_vt
 * Per item: the head runs on every frame / chunk, the result is averaged over time and
 * L2-normalised (the normalisation is done by the loss / retrieval code).
 *
 * All tensors live in one float buffer (`mem`) in the order above, llm.c-style; an al_tensors
 * view can point the same layout into any buffer (gradients, AdamW moments).
 */
#ifndef SLAVA_ALIGN_HEADS_H
#define SLAVA_ALIGN_HEADS_H

#include "base/base.h"

#define AL_LN100 4.605170185988092   /* ln 100: CLIP's trained logit scale; init and upper clamp */

enum { AL_LS_AV = 0, AL_LS_AT = 1, AL_LS_VT = 2 };   /* index into ls[] */

typedef struct {
    float *w_v;    /* [P, d_v] */
    float *w_t;    /* [P, d_t] */
    float *a_w1;   /* MLP: [H, d_a];  linear: [P, d_a] */
    float *a_b1;   /* MLP: [H];       linear: [P] */
    float *a_w2;   /* MLP: [P, H];    linear: NULL */
    float *a_b2;   /* MLP: [P];       linear: NULL */
    float *ls;     /* [3] logit scales av, at, vt */
} al_tensors;

/* Parameter groups: what a recipe stage trains, and what AdamW steps together. */
enum { AL_G_VIS = 0, AL_G_TXT, AL_G_AUD, AL_G_LS_AV, AL_G_LS_AT, AL_G_LS_VT, AL_GROUPS };

typedef struct {
    const char *name;     /* Hugging Face name in the heads file */
    int group;            /* AL_G_* */
    int ndim;             /* 0 (scalar), 1 or 2 */
    int shape[2];
    size_t off, numel;    /* position inside `mem` (floats) */
    int decay;            /* AdamW weight decay applies (all head tensors, not logit scales) */
} al_tdesc;

struct slava_heads {
    int d_v, d_a, d_t;    /* input sizes: visual, audio, text features */
    int P;                /* shared embedding size */
    int H;                /* audio MLP hidden size; 0 = linear audio head */
    size_t n;             /* floats in mem */
    float *mem;           /* owned */
    al_tensors t;         /* views into mem */
    int n_desc;
    al_tdesc desc[9];
    char *encoder[3];     /* encoder identities recorded in the file (slava_modality), NULL if none */
    char *path;           /* the file they were loaded from (messages, metadata), NULL if none */
};

/* Allocate zeroed heads with these sizes (H = 0: linear audio head). */
slava_status al_heads_new(slava_ctx *ctx, int d_v, int d_a, int d_t, int P, int H, slava_heads **out);
/* Point an al_tensors view with h's layout into `base` (h->n floats). */
void al_tensors_point(const slava_heads *h, float *base, al_tensors *t);
/* torch.nn.Linear's default init (U(±1/sqrt(in)) for weights and biases) from `seed`, logit
 * scales ln 100. Each tensor draws from its own stream, so seeding is independent of layout. */
void al_heads_init_seed(slava_heads *h, uint64_t seed);
/* Copy visual_projection.weight + text_projection.weight from a CLIP folder (dir) / the
 * audio_projection MLP from a CLAP folder. Sizes must match h. sha256 (65 bytes) of the
 * checkpoint is written when sha != NULL. */
slava_status al_heads_init_clip(slava_ctx *ctx, slava_heads *h, const char *dir, char *sha);
slava_status al_heads_init_clap(slava_ctx *ctx, slava_heads *h, const char *dir, char *sha);
/* Projection size P and audio hidden size H of the checkpoint folders' projections (0 when the
 * folder is NULL), checked against the feature sizes d_v, d_a, d_t. */
slava_status al_ckpt_proj_sizes(slava_ctx *ctx, const char *clip_dir, const char *clap_dir, int d_v, int d_a,
                                int d_t, int *P, int *H);
/* Write every tensor (Hugging Face names) + metadata (key, value, ..., NULL). */
slava_status al_heads_save(slava_ctx *ctx, const slava_heads *h, const char *path, const char *const *meta);

#endif
