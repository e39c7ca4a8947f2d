/*
 * train.c — the seven recipes of DESIGN.md §1 and the training loop: batches over clips (each clip
 * at most once per batch, one caption of the recipe's kind drawn uniformly per clip per step),
 * forward through the heads, symmetric InfoNCE per modality pair, backward, AdamW, validation
 * after every epoch and best-epoch selection (mean R@10 over the validation tasks the stage's
 * modalities allow).
 *
 * Everything that depends on randomness draws from streams seeded by opts.seed; all loops have a
 * fixed order, so the same seed and thread count give bit-identical heads.
 */
#include "align/heads.h"
#include "align/kernels.h"
#include "align/project.h"
#include "align/train.h"
#include "base/rng.h"
#include "nn/nn.h"
#include <math.h>
#include <stdio.h>

/* ------------------------------------------------------------------ recipes */

#define LOSS_AV AL_LOSS_AV
#define LOSS_AT AL_LOSS_AT
#define LOSS_VT AL_LOSS_VT
#define G(g) (1u << (g))
#define KIND_NONE (-1)
#define KIND_COIN (-2)   /* per batch a fair coin: audio captions (L_av + L_at) or visual (L_av + L_vt) */
#define TASKS_VT 0x07u   /* tasks 1-3: visual <- captions */
#define TASKS_AV 0x40u   /* task 7: visual <- audio */

typedef struct {
    unsigned train;      /* parameter groups trained (AL_G_* bits); logit scales only if their loss runs */
    unsigned losses;     /* LOSS_* bits (for KIND_COIN: the union; the coin chooses per batch) */
    int kind;            /* caption kind drawn per clip, KIND_NONE or KIND_COIN */
    unsigned val_tasks;  /* forward tasks whose mean R@10 picks the epoch */
} stage_def;

typedef struct {
    const char *name;
    int stages;
    stage_def st[2];
} recipe_def;

#define HEADS3 (G(AL_G_VIS) | G(AL_G_TXT) | G(AL_G_AUD))
#define SCALES3 (G(AL_G_LS_AV) | G(AL_G_LS_AT) | G(AL_G_LS_VT))

static const recipe_def RECIPES[] = {
    {"wav2clip-frozen", 2,
     {{G(AL_G_VIS) | G(AL_G_TXT) | G(AL_G_LS_VT), LOSS_VT, SLAVA_CAP_VISUAL, TASKS_VT},
      {G(AL_G_AUD) | G(AL_G_LS_AT), LOSS_AT, SLAVA_CAP_AUDIO, SV_TASKS_FORWARD}}},
    {"wav2clip-trainable", 2,
     {{G(AL_G_VIS) | G(AL_G_TXT) | G(AL_G_LS_VT), LOSS_VT, SLAVA_CAP_VISUAL, TASKS_VT},
      {G(AL_G_AUD) | G(AL_G_TXT) | G(AL_G_LS_AT), LOSS_AT, SLAVA_CAP_AUDIO, SV_TASKS_FORWARD}}},
    {"audioclip", 1, {{HEADS3 | SCALES3, LOSS_AV | LOSS_AT | LOSS_VT, SLAVA_CAP_AUDIO, SV_TASKS_FORWARD}}},
    {"slava-a+v", 1, {{HEADS3 | SCALES3, LOSS_AV | LOSS_AT | LOSS_VT, KIND_COIN, SV_TASKS_FORWARD}}},
    {"slava-av2", 1, {{HEADS3 | G(AL_G_LS_AT) | G(AL_G_LS_VT), LOSS_AT | LOSS_VT, SLAVA_CAP_GPT, SV_TASKS_FORWARD}}},
    {"slava-av3", 1, {{HEADS3 | SCALES3, LOSS_AV | LOSS_AT | LOSS_VT, SLAVA_CAP_GPT, SV_TASKS_FORWARD}}},
    {"av-only", 1, {{G(AL_G_VIS) | G(AL_G_AUD) | G(AL_G_LS_AV), LOSS_AV, KIND_NONE, TASKS_AV}}},
};
#define N_RECIPES ((int)(sizeof RECIPES / sizeof RECIPES[0]))

const char *const *slava_recipes(int *n) {
    static const char *names[N_RECIPES];
    for (int i = 0; i < N_RECIPES; i++) names[i] = RECIPES[i].name;
    if (n) *n = N_RECIPES;
    return names;
}

static const recipe_def *find_recipe(const char *name) {
    for (int i = 0; name && i < N_RECIPES; i++)
        if (!strcmp(RECIPES[i].name, name)) return &RECIPES[i];
    return NULL;
}

unsigned slava_recipe_tasks(const char *name) {
    const recipe_def *r = find_recipe(name);
    if (!r) return 0;
    unsigned heads = 0;
    for (int s = 0; s < r->stages; s++) heads |= r->st[s].train;
    unsigned vis = heads & G(AL_G_VIS), aud = heads & G(AL_G_AUD), txt = heads & G(AL_G_TXT);
    return (vis && txt ? 0x07u : 0) | (aud && txt ? 0x38u : 0) | (vis && aud ? 0x40u : 0);
}

int al_recipe_stages(const char *name) {
    const recipe_def *r = find_recipe(name);
    return r ? r->stages : 0;
}

void slava_train_opts_default(slava_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->recipe = "slava-av3";
    o->epochs = 30;
    o->batch = 64;
    o->lr = 1e-4;
    o->wd = 0.01;
}

/* ------------------------------------------------------------------ heads init */

slava_status al_heads_init_sha(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, slava_heads **out,
                               char *clip_sha, char *clap_sha) {
    *out = NULL;
    static const char *mod[3] = {"visual", "audio", "text"};
    const int d[3] = {ds->d_v, ds->d_a, ds->d_t};
    for (int m = 0; m < 3; m++)
        if (d[m] <= 0)
            return sv_err(ctx, SLAVA_E_NOTFOUND, "the feature set has no %s features (encode them first: slava encode)",
                          mod[m]);
    if (o->init) {
        /* given heads: every tensor, logit scales included */
        const slava_heads *g = o->init;
        if (g->d_v != ds->d_v || g->d_a != ds->d_a || g->d_t != ds->d_t)
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: the initial heads take features of sizes visual %d, audio %d, text %d; "
                          "the feature set has %d, %d, %d", g->path ? g->path : "initial heads", g->d_v, g->d_a, g->d_t,
                          ds->d_v, ds->d_a, ds->d_t);
        slava_heads *h;
        SV_TRY(al_heads_new(ctx, g->d_v, g->d_a, g->d_t, g->P, g->H, &h));
        memcpy(h->mem, g->mem, sizeof(float) * h->n);
        if (o->temperature > 0)
            for (int k = 0; k < 3; k++) h->t.ls[k] = (float)log(1.0 / o->temperature);
        *out = h;
        return SLAVA_OK;
    }
    int P = 0, H = 0;
    SV_TRY(al_ckpt_proj_sizes(ctx, o->clip_dir, o->clap_dir, ds->d_v, ds->d_a, ds->d_t, &P, &H));
    if (!P) P = 512;                       /* CLIP ViT-B/32's and CLAP's projection size */
    if (o->audio_linear) H = 0;
    else if (!H) H = P;                    /* CLAP: linear1 maps to the projection size */
    slava_heads *h;
    SV_TRY(al_heads_new(ctx, ds->d_v, ds->d_a, ds->d_t, P, H, &h));
    al_heads_init_seed(h, o->seed);
    slava_status st = SLAVA_OK;
    if (o->clip_dir) st = al_heads_init_clip(ctx, h, o->clip_dir, clip_sha);
    if (!st && o->clap_dir && H > 0) st = al_heads_init_clap(ctx, h, o->clap_dir, clap_sha);
    if (!st && o->clap_dir && H == 0)
        sv_log(ctx, 1, "%s: a linear audio head cannot start from CLAP's two-layer projection; it starts from the seed",
               o->clap_dir);
    if (st) { slava_heads_free(h); return st; }
    if (o->temperature > 0)
        for (int k = 0; k < 3; k++) h->t.ls[k] = (float)log(1.0 / o->temperature);
    *out = h;
    return SLAVA_OK;
}

slava_status slava_heads_init(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, slava_heads **out) {
    return al_heads_init_sha(ctx, ds, o, out, NULL, NULL);
}

/* ------------------------------------------------------------------ training data */

void al_train_data_free(al_train_data *td) {
    free(td->meta);
    free(td->row);
    free(td->clip);
    sv_free(td->vbar);
    sv_free(td->abar);
    memset(td, 0, sizeof *td);
}

slava_status al_train_data_pool(slava_ctx *ctx, const slava_heads *h, al_train_data *td) {
    td->vbar = sv_calloc((size_t)(td->n_local ? td->n_local : 1) * h->d_v, sizeof(float));
    td->abar = h->H == 0 ? sv_calloc((size_t)(td->n_local ? td->n_local : 1) * h->d_a, sizeof(float)) : NULL;
    if (!td->vbar || (h->H == 0 && !td->abar)) return sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory");
    for (int k = 0; k < td->n_local; k++) {
        const slava_clip *c = td->clip[k];
        if (c->t_v > 0 && c->visual) {
            int offs[2] = {0, c->t_v};
            al_meanpool_fwd_f(td->vbar + (size_t)k * h->d_v, c->visual, offs, 1, h->d_v);
        }
        if (c->t_a > 0 && c->audio && td->abar) {
            int offs[2] = {0, c->t_a};
            al_meanpool_fwd_f(td->abar + (size_t)k * h->d_a, c->audio, offs, 1, h->d_a);
        }
    }
    return SLAVA_OK;
}

/* One process: every train clip of the dataset is held here. */
static slava_status data_local(void *user, slava_ctx *ctx, const slava_dataset *ds, const slava_heads *h,
                               al_train_data *td) {
    (void)user;
    for (int i = 0; i < ds->n; i++) td->n += ds->clips[i].split == SLAVA_SPLIT_TRAIN;
    if (td->n == 0) return sv_err(ctx, SLAVA_E_NOTFOUND, "the feature set has no clips in the train split");
    td->n_local = td->n;
    td->meta = malloc(sizeof *td->meta * td->n);
    td->row = malloc(sizeof(int) * td->n);
    td->clip = malloc(sizeof *td->clip * td->n);
    if (!td->meta || !td->row || !td->clip) return sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory");
    for (int i = 0, k = 0; i < ds->n; i++) {
        const slava_clip *c = &ds->clips[i];
        if (c->split != SLAVA_SPLIT_TRAIN) continue;
        td->clip[k] = c;
        td->row[k] = k;
        td->meta[k].has_v = c->t_v > 0 && c->visual;
        td->meta[k].has_a = c->t_a > 0 && c->audio;
        td->meta[k].t_a = c->t_a;
        memcpy(td->meta[k].n_cap, c->n_cap, sizeof c->n_cap);
        k++;
    }
    return al_train_data_pool(ctx, h, td);
}

/* Per-batch buffers (llm.c "activations"), in the batch's layout: B ≤ batch clips, N ≤ chunk rows. */
static void bufs_free(al_batch *b) {
    float **f[] = {&b->xv, &b->zv, &b->ev, &b->nv, &b->dev, &b->dzv, &b->xa, &b->ha, &b->hbar, &b->za, &b->ea,
                   &b->na, &b->dea, &b->dza, &b->dhbar, &b->dh, &b->xt, &b->zt, &b->et, &b->nt, &b->det, &b->dzt,
                   &b->work};
    for (size_t i = 0; i < SV_ARRAY_LEN(f); i++) { sv_free(*f[i]); *f[i] = NULL; }
    free(b->offs);
    free(b->pos);
    b->offs = NULL;
    b->pos = NULL;
}

static int bufs_alloc(al_batch *b, const slava_heads *h, int B, int N) {
    memset(b, 0, sizeof *b);
    b->B = B; b->N = N;
    size_t P = h->P, Ha = h->H > 0 ? h->H : 1, Na = h->H > 0 ? (size_t)N : (size_t)B;
#define A(p, n) ((p) = sv_alloc(sizeof(float) * ((size_t)(n) + 1)))
    int ok = A(b->xv, (size_t)B * h->d_v) && A(b->zv, B * P) && A(b->ev, B * P) && A(b->nv, B) && A(b->dev, B * P) &&
             A(b->dzv, B * P) && A(b->xa, Na * h->d_a) && A(b->ha, (size_t)N * Ha) && A(b->hbar, (size_t)B * Ha) &&
             A(b->za, B * P) && A(b->ea, B * P) && A(b->na, B) && A(b->dea, B * P) && A(b->dza, B * P) &&
             A(b->dhbar, (size_t)B * Ha) && A(b->dh, (size_t)N * Ha) && A(b->xt, (size_t)B * h->d_t) &&
             A(b->zt, B * P) && A(b->et, B * P) && A(b->nt, B) && A(b->det, B * P) && A(b->dzt, B * P) &&
             A(b->work, 2 * (size_t)B * B + 2 * (size_t)B);
#undef A
    b->offs = malloc(sizeof(int) * (B + 1));
    b->pos = malloc(sizeof(int) * B);
    if (!ok || !b->offs || !b->pos) { bufs_free(b); return 0; }
    return 1;
}

/* ------------------------------------------------------------------ one step */

void al_step_forward(const slava_heads *h, const al_train_data *td, al_batch *b, const int *idx, int B, int kind,
                     unsigned losses, sv_rng *rng) {
    int P = h->P, dv = h->d_v, da = h->d_a, dt = h->d_t;
    int use_v = (losses & (LOSS_AV | LOSS_VT)) != 0, use_a = (losses & (LOSS_AV | LOSS_AT)) != 0;
    int use_t = (losses & (LOSS_AT | LOSS_VT)) != 0;
    /* ---- the rows held here, in batch order */
    int Bl = 0;
    for (int i = 0; i < B; i++)
        if (td->row[idx[i]] >= 0) b->pos[Bl++] = i;
    b->Bl = Bl;
    b->nb = B;
    /* ---- gather inputs at their batch positions; rows held by other ranks are zero. A GEMM's
     * rounding of a row may depend on the row's position in the call (OpenBLAS's Haswell
     * kernels), so every rank computes its rows where one process would. */
    if (use_v)
        for (int i = 0; i < B; i++) {
            int r = td->row[idx[i]];
            if (r >= 0) memcpy(b->xv + (size_t)i * dv, td->vbar + (size_t)r * dv, sizeof(float) * dv);
            else memset(b->xv + (size_t)i * dv, 0, sizeof(float) * dv);
        }
    if (use_a) {
        b->offs[0] = 0;
        for (int i = 0; i < B; i++) {
            int r = td->row[idx[i]], T = h->H > 0 ? td->meta[idx[i]].t_a : 1;
            float *dst = b->xa + (size_t)b->offs[i] * da;
            if (r < 0) memset(dst, 0, sizeof(float) * (size_t)T * da);
            else if (h->H > 0) memcpy(dst, td->clip[r]->audio, sizeof(float) * (size_t)T * da);
            else memcpy(dst, td->abar + (size_t)r * da, sizeof(float) * da);
            b->offs[i + 1] = b->offs[i] + T;
        }
    }
    if (use_t)
        for (int i = 0; i < B; i++) {
            /* one caption, uniformly: drawn for every clip of the batch, held here or not */
            int j = (int)sv_rng_below(rng, (uint64_t)td->meta[idx[i]].n_cap[kind]);
            int r = td->row[idx[i]];
            if (r >= 0) memcpy(b->xt + (size_t)i * dt, td->clip[r]->cap[kind] + (size_t)j * dt, sizeof(float) * dt);
            else memset(b->xt + (size_t)i * dt, 0, sizeof(float) * dt);
        }
    /* ---- forward: head → (temporal mean) → L2 norm */
    if (use_v) {
        al_linear_fwd_f(b->zv, b->xv, h->t.w_v, NULL, B, dv, P);                 /* zv[B,P] */
        al_l2norm_fwd_f(b->ev, b->nv, b->zv, B, P);
    }
    if (use_a) {
        if (h->H > 0)
            al_mlp_fwd_f(b->za, b->ha, b->hbar, b->xa, b->offs, B, h->t.a_w1, h->t.a_b1, h->t.a_w2, h->t.a_b2,
                         da, h->H, P);                                             /* za[B,P] */
        else
            al_linear_fwd_f(b->za, b->xa, h->t.a_w1, h->t.a_b1, B, da, P);
        al_l2norm_fwd_f(b->ea, b->na, b->za, B, P);
    }
    if (use_t) {
        al_linear_fwd_f(b->zt, b->xt, h->t.w_t, NULL, B, dt, P);                 /* zt[B,P] */
        al_l2norm_fwd_f(b->et, b->nt, b->zt, B, P);
    }
}

double al_step_loss(const slava_heads *h, al_batch *b, float *const E[3], float *const dE[3], int B, unsigned losses,
                    unsigned train, int fixed_scale, al_optim *o, unsigned *used, double pair[3]) {
    const int P = h->P;
    for (int m = 0; m < 3; m++)
        if (dE[m]) memset(dE[m], 0, sizeof(float) * B * P);
    static const struct { unsigned bit; int ls, x, y; } PAIRS[3] = {
        {LOSS_AV, AL_LS_AV, 1, 0}, {LOSS_AT, AL_LS_AT, 1, 2}, {LOSS_VT, AL_LS_VT, 0, 2}};
    double loss = 0;
    for (int p = 0; p < 3; p++) {
        pair[PAIRS[p].ls] = NAN;
        if (!(losses & PAIRS[p].bit)) continue;
        int lsg = AL_G_LS_AV + PAIRS[p].ls;
        int learn = !fixed_scale && (train & G(lsg));
        double l = al_infonce_f(E[PAIRS[p].x], E[PAIRS[p].y], B, P, h->t.ls[PAIRS[p].ls], dE[PAIRS[p].x],
                                dE[PAIRS[p].y], learn ? &o->g.ls[PAIRS[p].ls] : NULL, b->work);
        pair[PAIRS[p].ls] = l;
        loss += l;
        if (learn) *used |= G(lsg);
    }
    return loss;
}

void al_step_backward(const slava_heads *h, al_batch *b, unsigned losses, unsigned train, al_optim *o, unsigned *used) {
    int P = h->P, dv = h->d_v, da = h->d_a, dt = h->d_t, B = b->nb;
    int use_v = (losses & (LOSS_AV | LOSS_VT)) != 0, use_a = (losses & (LOSS_AV | LOSS_AT)) != 0;
    int use_t = (losses & (LOSS_AT | LOSS_VT)) != 0;
    /* rows of other ranks have zero gradients: they add nothing to the sums */
    if (use_v && (train & G(AL_G_VIS))) {
        al_l2norm_bwd_f(b->dzv, b->dev, b->ev, b->nv, B, P);
        al_linear_bwd_f(NULL, o->g.w_v, NULL, b->dzv, b->xv, h->t.w_v, B, dv, P);
        *used |= G(AL_G_VIS);
    }
    if (use_a && (train & G(AL_G_AUD))) {
        al_l2norm_bwd_f(b->dza, b->dea, b->ea, b->na, B, P);
        if (h->H > 0)
            al_mlp_bwd_f(o->g.a_w1, o->g.a_b1, o->g.a_w2, o->g.a_b2, b->dza, b->xa, b->ha, b->hbar, b->offs, B,
                         h->t.a_w2, da, h->H, P, b->dhbar, b->dh);
        else
            al_linear_bwd_f(NULL, o->g.a_w1, o->g.a_b1, b->dza, b->xa, h->t.a_w1, B, da, P);
        *used |= G(AL_G_AUD);
    }
    if (use_t && (train & G(AL_G_TXT))) {
        al_l2norm_bwd_f(b->dzt, b->det, b->et, b->nt, B, P);
        al_linear_bwd_f(NULL, o->g.w_t, NULL, b->dzt, b->xt, h->t.w_t, B, dt, P);
        *used |= G(AL_G_TXT);
    }
}

/* One process: forward of one batch (clips idx[0..B)), caption kind `kind` (KIND_NONE: no text),
 * losses `losses`, backward; gradients of the groups in `train` accumulate into o->g; pair[3]
 * the loss of each pair (NaN when not in `losses`). */
static slava_status step_local(void *user, slava_ctx *ctx, const slava_heads *h, const al_train_data *td, al_batch *b,
                               const int *idx, int B, int kind, unsigned losses, unsigned train, int fixed_scale,
                               sv_rng *rng, al_optim *o, unsigned *used, double *loss, double pair[3]) {
    (void)user; (void)ctx;
    al_step_forward(h, td, b, idx, B, kind, losses, rng);
    float *const E[3] = {b->ev, b->ea, b->et}, *const dE[3] = {b->dev, b->dea, b->det};
    *used = 0;
    *loss = al_step_loss(h, b, E, dE, B, losses, train, fixed_scale, o, used, pair);
    al_step_backward(h, b, losses, train, o, used);
    return SLAVA_OK;
}

/* AdamW on every tensor of the groups in `used`; the learnable logit scales among them are
 * clamped to <= ln 100 afterwards (a fixed temperature is never stepped, so never clamped). */
static void optim_step(slava_heads *h, al_optim *o, unsigned used, const slava_train_opts *opt) {
    for (int k = 0; k < h->n_desc; k++) {
        const al_tdesc *d = &h->desc[k];
        if (!(used & G(d->group))) continue;
        o->step[k]++;
        al_adamw_f(h->mem + d->off, o->grad + d->off, o->m + d->off, o->v + d->off, d->numel, o->step[k], opt->lr,
                   0.9, 0.999, 1e-8, d->decay ? opt->wd : 0.0);
    }
    for (int k = 0; k < 3; k++)
        if ((used & G(AL_G_LS_AV + k)) && h->t.ls[k] > (float)AL_LN100) h->t.ls[k] = (float)AL_LN100;
}

/* The first tensor of the groups in `groups` holding a non-finite value in buf (h's layout), or
 * NULL; *what = "NaN" or "infinite". */
static const al_tdesc *nonfinite(const slava_heads *h, const float *buf, unsigned groups, const char **what) {
    for (int k = 0; k < h->n_desc; k++) {
        const al_tdesc *d = &h->desc[k];
        if (!(groups & G(d->group))) continue;
        for (size_t i = 0; i < d->numel; i++)
            if (!isfinite(buf[d->off + i])) {
                *what = isnan(buf[d->off + i]) ? "NaN" : "infinite";
                return d;
            }
    }
    return NULL;
}

/* Does clip c have what a stage needs? */
static int eligible(const al_clip_meta *c, const stage_def *sd) {
    unsigned L = sd->losses;
    if ((L & (LOSS_AV | LOSS_VT)) && !c->has_v) return 0;
    if ((L & (LOSS_AV | LOSS_AT)) && !c->has_a) return 0;
    if (sd->kind == KIND_COIN) return c->n_cap[SLAVA_CAP_AUDIO] > 0 && c->n_cap[SLAVA_CAP_VISUAL] > 0;
    if (sd->kind >= 0 && (L & (LOSS_AT | LOSS_VT))) return c->n_cap[sd->kind] > 0;
    return 1;
}

/* Mean R@10 of heads h over the validation tasks; r10[7] (may be NULL) each forward task's R@10
 * (NaN for tasks not in `tasks`). NaN without a val split (val == NULL). */
static double validate(slava_ctx *ctx, const al_evalfeat *val, const slava_heads *h, unsigned tasks, double *r10,
                       slava_status *st) {
    for (int t = 0; r10 && t < 7; t++) r10[t] = NAN;
    *st = SLAVA_OK;
    if (!val) return NAN;
    sv_evalemb m;
    slava_eval_report r;
    *st = al_evalfeat_embed(ctx, val, h, &m);
    if (*st) return 0;
    *st = sv_eval_tasks(ctx, val->set, &m, tasks, &r);
    sv_evalemb_free(&m);
    if (*st) return 0;
    for (int t = 0; r10 && t < 7; t++)
        if ((tasks >> t & 1) && r.task[t].n_queries > 0) r10[t] = r.task[t].hit[2];
    return sv_mean_r10(&r, tasks);
}

/* The log record of a step / an epoch, and the divergence message. */
static void record_init(slava_train_record *r, const recipe_def *rd, const slava_train_opts *opt, int s, int ep,
                        int step, slava_train_record_kind kind) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->recipe = rd->name;
    r->seed = opt->seed;
    r->stage = s + 1;
    r->stages = rd->stages;
    r->epoch = ep;
    r->step = step;
    r->lr = opt->lr;
}

static slava_status diverged(slava_ctx *ctx, const recipe_def *rd, const slava_train_opts *opt, int s, int ep, int step,
                             const char *what) {
    return sv_err(ctx, SLAVA_E_DIVERGED,
                  "training diverged: recipe %s, seed %llu, stage %d, epoch %d, step %d: %s (lower the learning rate, now %g); "
                  "no heads were kept", rd->name, (unsigned long long)opt->seed, s + 1, ep, step, what, opt->lr);
}

slava_status slava_train(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *opt, slava_heads **out,
                         slava_train_info *info) {
    return al_train_run(ctx, ds, opt, NULL, out, info);
}

slava_status al_train_run(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *opt,
                          const al_train_hooks *hooks, slava_heads **out, slava_train_info *info) {
    *out = NULL;
    memset(info, 0, sizeof *info);
    double t0 = sv_now();
    const recipe_def *rd = find_recipe(opt->recipe);
    if (!rd) {
        char list[256] = "";
        for (int i = 0; i < N_RECIPES; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, RECIPES[i].name, sizeof list - strlen(list) - 1);
        }
        return sv_err(ctx, SLAVA_E_ARG, "unknown recipe '%s' (known: %s)", opt->recipe ? opt->recipe : "", list);
    }
    if (opt->epochs < 1 || (opt->batch < 2 && opt->batch != 0) || !(opt->lr > 0) || !(opt->wd >= 0) || opt->temperature < 0)
        return sv_err(ctx, SLAVA_E_ARG, "training: need epochs >= 1, batch >= 2 (or 0: all), lr > 0, weight decay >= 0, "
                                        "temperature >= 0 (got %d, %d, %g, %g, %g)",
                      opt->epochs, opt->batch, opt->lr, opt->wd, opt->temperature);
    SV_TRY(sv_gemm_reserve(ctx, "training"));
    static const al_train_hooks LOCAL = {NULL, data_local, step_local, NULL, 0};
    if (!hooks) hooks = &LOCAL;
#define AGREE(x) (hooks->agree ? hooks->agree(hooks->user, ctx, (x)) : (x))
    /* the val split chooses the epoch; keeping the last step needs none (used for the log when present) */
    int have_val = 0;
    for (int i = 0; i < ds->n && !have_val; i++) have_val = ds->clips[i].split == SLAVA_SPLIT_VAL;
    sv_evalset val;
    al_evalfeat valf;
    memset(&val, 0, sizeof val);
    memset(&valf, 0, sizeof valf);
    if (have_val || !opt->keep_last) {
        slava_status vst = sv_evalset_build(ctx, ds, SLAVA_SPLIT_VAL, &val);
        if (vst) {
            if (vst == SLAVA_E_NOTFOUND) sv_err_prefix(ctx, "training chooses the epoch on the val split (keep the last step instead to train without one)");
            return vst;
        }
        vst = al_evalfeat_build(ctx, &val, &valf);
        if (vst) { sv_evalset_free(&val); return vst; }
    }
    const al_evalfeat *vf = have_val ? &valf : NULL;
    slava_heads *h = NULL, *best = NULL;
    al_train_data td = {0};
    al_batch bb = {0};
    al_optim o = {0};
    int *order = NULL, B = 0;
    slava_status st = al_heads_init_sha(ctx, ds, opt, &h, info->clip_sha256, info->clap_sha256);
    if (st) goto done_setup;
    st = al_heads_new(ctx, h->d_v, h->d_a, h->d_t, h->P, h->H, &best);
    if (st) goto done_setup;
    /* ---- the train split, pooled once */
    st = hooks->data(hooks->user, ctx, ds, h, &td);
    if (st) goto done_setup;
    order = malloc(sizeof(int) * td.n);
    o.grad = sv_calloc(h->n, sizeof(float));
    o.m = sv_calloc(h->n, sizeof(float));
    o.v = sv_calloc(h->n, sizeof(float));
    if (!order || !o.grad || !o.m || !o.v) {
        st = sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory");
        goto done_setup;
    }
    al_tensors_point(h, o.grad, &o.g);
    td.max_t_a = 1;
    for (int i = 0; i < td.n; i++) td.max_t_a = td.meta[i].t_a > td.max_t_a ? td.meta[i].t_a : td.max_t_a;
    B = opt->batch > 0 && opt->batch < td.n ? opt->batch : td.n;   /* batch 0: all clips, one step per epoch */
    if (!bufs_alloc(&bb, h, B, B * td.max_t_a)) { st = sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory"); goto done_setup; }
    info->stages = rd->stages;
    info->init_val = validate(ctx, vf, h, rd->st[rd->stages - 1].val_tasks, NULL, &st);
done_setup:
    if ((st = AGREE(st))) goto done;
    sv_rng rng;
    sv_rng_seed(&rng, opt->seed ^ 0x5EEDBA7C4E5ull);
    int total = opt->epochs * rd->stages, done_ep = 0;
    slava_train_record rec;
    for (int s = 0; s < rd->stages; s++) {
        const stage_def *sd = &rd->st[s];
        int ne = 0, step = 0;
        for (int i = 0; i < td.n; i++)
            if (eligible(&td.meta[i], sd)) order[ne++] = i;
        if (ne < 2) {
            st = sv_err(ctx, SLAVA_E_NOTFOUND, "recipe %s: fewer than 2 train clips have the features and captions "
                                               "stage %d needs", rd->name, s + 1);
            goto done;
        }
        memset(o.m, 0, sizeof(float) * h->n);      /* a fresh optimiser per stage */
        memset(o.v, 0, sizeof(float) * h->n);
        memset(o.step, 0, sizeof o.step);
        /* epoch 0: the heads the stage starts from are a candidate like any epoch (earliest wins ties) */
        record_init(&rec, rd, opt, s, 0, 0, SLAVA_TRAIN_EPOCH);
        double best_val = validate(ctx, vf, h, sd->val_tasks, rec.val_r10, &st);
        if ((st = AGREE(st))) goto done;
        info->best_epoch[s] = 0;
        info->best_val[s] = best_val;
        memcpy(best->mem, h->mem, sizeof(float) * h->n);
        rec.loss_mean = NAN;
        rec.val_mean_r10 = best_val;
        rec.kept = 1;
        rec.seconds = sv_now() - t0;
        if (opt->log && (st = AGREE(opt->log(opt->log_user, &rec) ? sv_err(ctx, SLAVA_E_INTERRUPTED, "training interrupted") : SLAVA_OK))) goto done;
        for (int ep = 1; ep <= opt->epochs; ep++) {
            sv_rng_shuffle_int(&rng, order, ne);
            double loss_sum = 0;
            int nb = 0;
            /* batches of B clips; a last batch of a single clip is dropped (its loss is 0) */
            for (int i0 = 0; i0 + 1 < ne; i0 += B) {
                int nbat = ne - i0 < B ? ne - i0 : B;
                if (!hooks->step_checks_cancel && sv_cancelled(ctx)) {
                    st = sv_err(ctx, SLAVA_E_INTERRUPTED, "training interrupted in epoch %d of %d", done_ep + 1, total);
                    goto done;
                }
                int kind = sd->kind;
                unsigned losses = sd->losses;
                if (kind == KIND_COIN) {
                    int audio_caps = sv_rng_below(&rng, 2) == 0;
                    kind = audio_caps ? SLAVA_CAP_AUDIO : SLAVA_CAP_VISUAL;
                    losses = LOSS_AV | (audio_caps ? LOSS_AT : LOSS_VT);
                }
                record_init(&rec, rd, opt, s, ep, ++step, SLAVA_TRAIN_STEP);
                rec.batch = nbat;
                rec.caption_kind = (losses & (LOSS_AT | LOSS_VT)) ? kind : -1;
                for (int k = 0; k < 3; k++) rec.logit_scale[k] = h->t.ls[k];
                memset(o.grad, 0, sizeof(float) * h->n);
                unsigned used;
                double loss;
                st = hooks->step(hooks->user, ctx, h, &td, &bb, order + i0, nbat, kind, losses, sd->train,
                                 opt->temperature > 0, &rng, &o, &used, &loss, rec.loss);
                if (st == SLAVA_E_INTERRUPTED)
                    sv_err(ctx, st, "training interrupted in epoch %d of %d", done_ep + 1, total);
                if (st) goto done;
                /* a non-finite loss, gradient or weight stops at once: nothing after it can be trusted */
                char what[160];
                const char *kindname;
                const al_tdesc *bad;
                if (!isfinite(loss)) {
                    snprintf(what, sizeof what, "the loss is %s", isnan(loss) ? "NaN" : "infinite");
                    st = diverged(ctx, rd, opt, s, ep, step, what);
                    goto done;
                }
                if ((bad = nonfinite(h, o.grad, used, &kindname))) {
                    snprintf(what, sizeof what, "the gradient of %s holds %s values", bad->name, kindname);
                    st = diverged(ctx, rd, opt, s, ep, step, what);
                    goto done;
                }
                optim_step(h, &o, used, opt);
                if ((bad = nonfinite(h, h->mem, used, &kindname))) {
                    snprintf(what, sizeof what, "%s holds %s values after the update", bad->name, kindname);
                    st = diverged(ctx, rd, opt, s, ep, step, what);
                    goto done;
                }
                loss_sum += loss;
                nb++;
                rec.loss_total = loss;
                rec.seconds = sv_now() - t0;
                if (opt->log && (st = AGREE(opt->log(opt->log_user, &rec) ? sv_err(ctx, SLAVA_E_INTERRUPTED, "training interrupted") : SLAVA_OK))) goto done;
            }
            record_init(&rec, rd, opt, s, ep, step, SLAVA_TRAIN_EPOCH);
            double v = validate(ctx, vf, h, sd->val_tasks, rec.val_r10, &st);
            if ((st = AGREE(st))) goto done;
            if (opt->keep_last || v > best_val) {
                best_val = v;
                info->best_epoch[s] = ep;
                info->best_val[s] = v;
                memcpy(best->mem, h->mem, sizeof(float) * h->n);
                rec.kept = 1;
            }
            rec.loss_mean = nb ? loss_sum / nb : NAN;
            rec.val_mean_r10 = v;
            rec.seconds = sv_now() - t0;
            if (opt->log && (st = AGREE(opt->log(opt->log_user, &rec) ? sv_err(ctx, SLAVA_E_INTERRUPTED, "training interrupted") : SLAVA_OK))) goto done;
            char detail[200], vtxt[80] = "no validation";
            if (vf) snprintf(vtxt, sizeof vtxt, "val R@10 %.1f%% (kept %s %d: %.1f%%)", 100 * v, "epoch", info->best_epoch[s], 100 * best_val);
            snprintf(detail, sizeof detail, "%s seed %llu stage %d/%d epoch %d/%d loss %.4f %s", rd->name,
                     (unsigned long long)opt->seed, s + 1, rd->stages, ep, opt->epochs, rec.loss_mean, vtxt);
            int stop = sv_progress(ctx, "train", ++done_ep, total, detail);
            if ((st = AGREE(stop ? sv_err(ctx, SLAVA_E_INTERRUPTED, "training interrupted after epoch %d of %d", done_ep,
                                          total) : SLAVA_OK)))
                goto done;
        }
        memcpy(h->mem, best->mem, sizeof(float) * h->n);   /* the next stage starts from the kept epoch */
    }
    info->seconds = sv_now() - t0;
    *out = h;
    h = NULL;
done:
    slava_heads_free(h);
    slava_heads_free(best);
    bufs_free(&bb);
    sv_free(o.grad); sv_free(o.m); sv_free(o.v);
    al_train_data_free(&td);
    free(order);
    al_evalfeat_free(&valf);
    sv_evalset_free(&val);
    return st;
#undef AGREE
}

/* ------------------------------------------------------------------ save */

slava_status slava_heads_save(slava_ctx *ctx, const slava_heads *h, const char *path, const slava_train_opts *o,
                              const slava_train_info *info, const slava_dataset *ds) {
    char v[24][96];
    const char *meta[48];
    int k = 0, n = 0;
#define META(key, ...) do { snprintf(v[n], sizeof v[n], __VA_ARGS__); meta[k++] = key; meta[k++] = v[n++]; } while (0)
    META("format", "slava-heads");
    META("slava_version", "%s", slava_version());
    META("audio_head", "%s", h->H > 0 ? "mlp" : "linear");
    if (o) {
        META("recipe", "%s", info ? o->recipe : "untrained");
        META("epochs_per_stage", "%d", o->epochs);
        if (o->batch > 0) META("batch", "%d", o->batch);
        else META("batch", "all");
        META("keep", "%s", o->keep_last ? "last" : "best");
        if (o->init) META("init", "%s", o->init->path ? o->init->path : "given heads");
        META("lr", "%g", o->lr);
        META("weight_decay", "%g", o->wd);
        META("seed", "%llu", (unsigned long long)o->seed);
        META("threads", "%d", slava_get_threads());   /* results are bit-identical per seed and thread count */
        META("temperature", "%s", o->temperature > 0 ? "fixed" : "learnable");
        if (o->temperature > 0) META("temperature_value", "%g", o->temperature);
    }
    if (info) {
        META("best_epoch", info->stages > 1 ? "%d,%d" : "%d", info->best_epoch[0], info->best_epoch[1]);
        double vb = info->best_val[info->stages > 0 ? info->stages - 1 : 0];
        if (isfinite(vb)) META("val_mean_r10", "%.6f", vb);
        if (info->clip_sha256[0]) META("clip_sha256", "%s", info->clip_sha256);
        if (info->clap_sha256[0]) META("clap_sha256", "%s", info->clap_sha256);
    }
#undef META
    static const char *enc_keys[3] = {"visual_encoder", "audio_encoder", "text_encoder"};
    for (int m = 0; ds && m < 3; m++)
        if (ds->encoder_id[m]) { meta[k++] = enc_keys[m]; meta[k++] = ds->encoder_id[m]; }
    meta[k] = NULL;
    return al_heads_save(ctx, h, path, meta);
}
