/*
 * train.h — internal pieces of the training code (train.c) shared with experiment.c and with
 * data-parallel training (train_dp.c): the train split as one process sees it, the three parts
 * of a training step (forward of the rows held here, the losses over the whole batch, backward of
 * the rows held here) and the training loop, which takes the step and the data as hooks.
 * In one process every clip is held here and a step is forward → losses → backward.
 */
#ifndef SLAVA_ALIGN_TRAIN_H
#define SLAVA_ALIGN_TRAIN_H

#include "align/heads.h"
#include "base/rng.h"

/* Number of training stages of a recipe (1 or 2), 0 for an unknown name. */
int al_recipe_stages(const char *name);

/* slava_heads_init, also giving the sha256 (hex) of the CLIP / CLAP checkpoint each projection
 * came from (clip_sha / clap_sha: 65 bytes each, may be NULL; left unchanged when unused). */
slava_status al_heads_init_sha(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, slava_heads **out,
                               char *clip_sha, char *clap_sha);

/* What eligibility and caption draws need to know about a train clip, held here or not. */
typedef struct {
    int has_v, has_a;                 /* visual / audio features present */
    int t_a;                          /* audio chunks (rows the MLP audio head runs on) */
    int n_cap[SLAVA_CAP_KINDS];
} al_clip_meta;

/* The train split: n clips of the whole split (dataset order), those held here with their
 * features pooled once (frame means: the visual head is linear, so it commutes with the
 * temporal mean; chunk means for a linear audio head; an MLP audio head keeps every chunk). */
typedef struct {
    int n;                            /* clips of the whole train split */
    al_clip_meta *meta;               /* [n] */
    int *row;                         /* [n] local row of clip i, -1 when another rank holds it */
    int n_local;
    const slava_clip **clip;          /* [n_local] */
    float *vbar;                      /* [n_local, d_v] */
    float *abar;                      /* [n_local, d_a] (linear audio head) or NULL */
    int max_t_a;                      /* most chunks of any clip (>= 1; set by the loop) */
} al_train_data;

/* Pool the train clips local[0..n_local) (the dataset's clips held here) into td for heads h;
 * meta / row / n must be set by the caller. */
slava_status al_train_data_pool(slava_ctx *ctx, const slava_heads *h, al_train_data *td);
void al_train_data_free(al_train_data *td);

/* Per-batch buffers, in the batch's layout: row i of the batch at position i (its chunks at
 * offs[i]), rows of clips held by other ranks zero. Bl clips of the nb in the current batch are
 * held here, at positions pos[0..Bl). */
typedef struct {
    int B, N, Bl, nb;
    int *pos;                                   /* [B] */
    float *xv, *zv, *ev, *nv, *dev, *dzv;      /* [B,d_v] [B,P]×2 [B] [B,P]×2 */
    float *xa, *ha, *hbar, *za, *ea, *na, *dea, *dza, *dhbar, *dh;
    float *xt, *zt, *et, *nt, *det, *dzt;
    int *offs;                                  /* [B+1] chunk rows per clip */
    float *work;                                /* [2·B·B + 2·B] InfoNCE */
} al_batch;

/* Optimiser state: gradients and AdamW moments in h's layout. */
typedef struct {
    float *grad, *m, *v;
    al_tensors g;                     /* gradient views */
    int step[9];                      /* AdamW step count per tensor (torch keeps one per parameter) */
} al_optim;

/* Loss bits and the modalities a loss set uses. */
#define AL_LOSS_AV (1u << AL_LS_AV)
#define AL_LOSS_AT (1u << AL_LS_AT)
#define AL_LOSS_VT (1u << AL_LS_VT)

/* Step part 1: the batch idx[0..B) (indices into td's whole split). One caption of `kind` is
 * drawn for every clip of the batch (the same draws on every rank); the rows held here are
 * placed at their batch positions (other rows zero) and run through the heads: b->ev / ea / et
 * [B, P] normalised, meaningful at positions pos[0..Bl). Each held row is computed exactly as in
 * one process (same position in the same GEMM shapes). */
void al_step_forward(const slava_heads *h, const al_train_data *td, al_batch *b, const int *idx, int B, int kind,
                     unsigned losses, sv_rng *rng);
/* Step part 2: the losses over the whole batch from normalised E[m] [B, P] (m = visual, audio,
 * text; unused ones may be NULL) → dE[m] [B, P] (overwritten); logit-scale gradients into o (the
 * groups in `train`); *used gets their group bits; pair[AL_LS_*] each pair's loss (NaN when not
 * in `losses`). Returns the summed loss. */
double al_step_loss(const slava_heads *h, al_batch *b, float *const E[3], float *const dE[3], int B, unsigned losses,
                    unsigned train, int fixed_scale, al_optim *o, unsigned *used, double pair[3]);
/* Step part 3: backward from b->dev / dea / det [B, P] (zero at rows held by other ranks) into
 * o's head gradients (the groups in `train`); *used gets their group bits. */
void al_step_backward(const slava_heads *h, al_batch *b, unsigned losses, unsigned train, al_optim *o, unsigned *used);

/* How the loop gets its data and runs a step; NULL hooks: one process (al_train_data of the
 * dataset's own train clips; a step = forward, losses on this batch, backward). */
typedef struct {
    void *user;
    /* fill td (n, meta, row, local clips) from ds for heads h, then al_train_data_pool */
    slava_status (*data)(void *user, slava_ctx *ctx, const slava_dataset *ds, const slava_heads *h, al_train_data *td);
    /* one step; gradients of the trained head groups end in o->grad (equal on every rank) */
    slava_status (*step)(void *user, slava_ctx *ctx, const slava_heads *h, const al_train_data *td, al_batch *b,
                         const int *idx, int B, int kind, unsigned losses, unsigned train, int fixed_scale, sv_rng *rng,
                         al_optim *o, unsigned *used, double *loss, double pair[3]);
    /* make st the status of every rank (called where ranks could part ways: after set-up, after
     * validation, after each log record when there is a log); NULL: st as it is */
    slava_status (*agree)(void *user, slava_ctx *ctx, slava_status st);
    /* 1: the step itself checks for cancellation (agreed with its other traffic) and returns
     * SLAVA_E_INTERRUPTED; 0: the loop checks before every step */
    int step_checks_cancel;
} al_train_hooks;

/* slava_train with hooks (train_dp.c passes its own). */
slava_status al_train_run(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *opt,
                          const al_train_hooks *hooks, slava_heads **out, slava_train_info *info);

#endif
