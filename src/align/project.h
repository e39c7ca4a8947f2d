/*
 * project.h — a dataset split through heads: the features of an evaluation split (src/eval's
 * sv_evalset) gathered once, then projected and L2-normalised into the embeddings that
 * evaluation consumes (sv_evalemb). `slava eval`, experiments and the validation step of
 * training use it; evaluation itself never sees the heads.
 */
#ifndef SLAVA_ALIGN_PROJECT_H
#define SLAVA_ALIGN_PROJECT_H

#include "eval/eval.h"

/* The features of an sv_evalset's items, in its order, gathered once per split. */
typedef struct {
    const sv_evalset *set;          /* borrowed */
    float *vbar;                    /* [n, d_v] mean over frames (zero when no frames): the visual
                                       head is linear, so it commutes with the mean */
    float *abar;                    /* [n, d_a] mean over chunks (for a linear audio head) */
    int *a_offs;                    /* [n+1] chunk rows of clip i in `a` (empty: no audio) */
    float *a;                       /* [a_offs[n], d_a] */
    float *cap[SLAVA_CAP_KINDS];    /* [ncap[k], d_t] the kept captions */
} al_evalfeat;

slava_status al_evalfeat_build(slava_ctx *ctx, const sv_evalset *e, al_evalfeat *out);
void al_evalfeat_free(al_evalfeat *f);
/* Embed every item of f with heads h (feature sizes must match h): *out is allocated here and
 * released with sv_evalemb_free. */
slava_status al_evalfeat_embed(slava_ctx *ctx, const al_evalfeat *f, const slava_heads *h, sv_evalemb *out);

#endif
