/*
 * train_dp.c — data-parallel training of one recipe over the ranks of an MPI job, as distributed
 * CLIP training does it: rank r holds the train clips k with k mod N = r; the training loop of
 * train.c runs on every rank with the same batch order and caption draws (it sees every clip's
 * metadata), and each step
 *   1. forward of this rank's clips of the batch, each row where one process computes it
 *      (train.c al_step_forward: the other ranks' rows are zero),
 *   2. one all-gather of the normalised embeddings (with every rank's cancel flag), so that the
 *      InfoNCE negatives span the global batch; the losses over the whole batch on every rank
 *      (al_step_loss),
 *   3. backward of this rank's rows (al_step_backward),
 *   4. sum of the head gradients over the ranks (the same bits on every rank; the logit-scale
 *      gradients come from the whole batch already), then the same AdamW step everywhere.
 * MPI is reached through src/dist/dist.h only.
 */
#include "align/train.h"
#include "dist/dist.h"
#include <stdio.h>

typedef struct {
    float *eg[3], *deg[3];       /* [B, P] the batch's embeddings (all ranks) and their gradients */
    float *send, *recv;          /* this rank's rows (+ a cancel flag), every rank's: [3·B·P + size] */
    size_t *counts;              /* [size] bytes each rank sends in a step */
    int    *next;                /* [size] */
    double  bytes, max_bytes;    /* sent + received by this rank in the last step, the most in a step */
} dp_state;

/* Rank r holds clip k of the whole train split when k mod size == r, as its (k / size)-th. */
static slava_status data_dp(void *user, slava_ctx *ctx, const slava_dataset *ds, const slava_heads *h,
                            al_train_data *td) {
    (void)user;
    const int rank = sv_dist_rank(), size = sv_dist_size();
    int n_local = 0;
    for (int i = 0; i < ds->n; i++) n_local += ds->clips[i].split == SLAVA_SPLIT_TRAIN;
    al_clip_meta *mine = malloc(sizeof *mine * (size_t)(n_local ? n_local : 1)), *all = NULL;
    td->clip = malloc(sizeof *td->clip * (size_t)(n_local ? n_local : 1));
    slava_status st = mine && td->clip ? SLAVA_OK : sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory");
    for (int i = 0, k = 0; !st && i < ds->n; i++) {
        const slava_clip *c = &ds->clips[i];
        if (c->split != SLAVA_SPLIT_TRAIN) continue;
        td->clip[k] = c;
        mine[k].has_v = c->t_v > 0 && c->visual;
        mine[k].has_a = c->t_a > 0 && c->audio;
        mine[k].t_a = c->t_a;
        memcpy(mine[k].n_cap, c->n_cap, sizeof c->n_cap);
        k++;
    }
    size_t *counts = NULL;
    if (!st) st = sv_dist_allgatherv(ctx, mine, sizeof *mine * (size_t)n_local, (void **)&all, &counts);
    free(mine);
    st = sv_dist_agree(ctx, st);
    if (st) { free(all); free(counts); return st; }
    td->n_local = n_local;
    td->n = 0;
    for (int r = 0; r < size; r++) td->n += (int)(counts[r] / sizeof *all);
    /* every rank must hold exactly its share, else the clip order differs from one process's */
    for (int r = 0; r < size && !st; r++) {
        int want = td->n / size + (r < td->n % size), got = (int)(counts[r] / sizeof *all);
        if (got != want)
            st = sv_err(ctx, SLAVA_E_ARG, "data-parallel training: rank %d holds %d train clips, its share of %d is %d "
                        "(load each rank's part with slava_store_load_part)", r, got, td->n, want);
    }
    if (!st && td->n == 0) st = sv_err(ctx, SLAVA_E_NOTFOUND, "the feature set has no clips in the train split");
    if (!st) {
        td->meta = malloc(sizeof *td->meta * (size_t)td->n);
        td->row = malloc(sizeof(int) * (size_t)td->n);
        if (!td->meta || !td->row) st = sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory");
    }
    for (int r = 0, off = 0; !st && r < size; r++) {
        int cnt = (int)(counts[r] / sizeof *all);
        for (int k = 0; k < cnt; k++) {
            int g = r + k * size;
            td->meta[g] = all[off + k];
            td->row[g] = r == rank ? k : -1;
        }
        off += cnt;
    }
    free(all);
    free(counts);
    if (!st) st = al_train_data_pool(ctx, h, td);
    return sv_dist_agree(ctx, st);
}

static slava_status step_dp(void *user, slava_ctx *ctx, const slava_heads *h, const al_train_data *td, al_batch *b,
                            const int *idx, int B, int kind, unsigned losses, unsigned train, int fixed_scale,
                            sv_rng *rng, al_optim *o, unsigned *used, double *loss, double pair[3]) {
    dp_state *d = user;
    const int P = h->P, size = sv_dist_size();
    d->bytes = 0;
    if (!d->send) {   /* the first step: buffers for the loop's largest batch, agreed once */
        slava_status st = SLAVA_OK;
        size_t n = (size_t)3 * b->B * P + (size_t)size;
        d->send = sv_alloc(sizeof(float) * n);
        d->recv = sv_alloc(sizeof(float) * n);
        for (int m = 0; m < 3; m++) {
            d->eg[m] = sv_alloc(sizeof(float) * (size_t)b->B * P);
            d->deg[m] = sv_alloc(sizeof(float) * (size_t)b->B * P);
            if (!d->eg[m] || !d->deg[m]) st = SLAVA_E_NOMEM;
        }
        if (!d->send || !d->recv || st) st = sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory");
        SV_TRY(sv_dist_agree(ctx, st));
    }
    al_step_forward(h, td, b, idx, B, kind, losses, rng);
    const int use[3] = {(losses & (AL_LOSS_AV | AL_LOSS_VT)) != 0, (losses & (AL_LOSS_AV | AL_LOSS_AT)) != 0,
                        (losses & (AL_LOSS_AT | AL_LOSS_VT)) != 0};
    int nm = use[0] + use[1] + use[2];
    float *const loc[3] = {b->ev, b->ea, b->et}, *const dloc[3] = {b->dev, b->dea, b->det};
    /* one all-gather per step: this rank's rows of every modality used, then its cancel flag */
    float *p = d->send;
    for (int m = 0; m < 3; m++)
        if (use[m])
            for (int i = 0; i < b->Bl; i++, p += P) memcpy(p, loc[m] + (size_t)b->pos[i] * P, sizeof(float) * P);
    *p++ = sv_cancelled(ctx) ? 1.0f : 0.0f;
    for (int r = 0; r < size; r++) d->next[r] = 0;   /* rows per rank: rank r holds the clips g ≡ r mod size */
    for (int i = 0; i < B; i++) d->next[idx[i] % size]++;
    for (int r = 0; r < size; r++) d->counts[r] = sizeof(float) * ((size_t)d->next[r] * P * nm + 1);
    SV_TRY(sv_dist_allgatherv_into(ctx, d->send, (size_t)(p - d->send) * sizeof(float), d->recv, d->counts));
    d->bytes += 4.0 * P * (double)B * nm;   /* this rank's rows out, the others' in */
    /* every rank's block: its rows per modality, then its flag; rows go to their batch positions */
    int stop = 0;
    size_t off = 0;
    for (int r = 0; r < size; r++) {
        const float *blk = d->recv + off;
        int k = 0, nr = d->next[r];
        for (int i = 0; i < B; i++) {
            if (idx[i] % size != r) continue;
            for (int m = 0, j = 0; m < 3; m++)
                if (use[m]) memcpy(d->eg[m] + (size_t)i * P, blk + ((size_t)j++ * nr + k) * P, sizeof(float) * P);
            k++;
        }
        stop |= blk[(size_t)nr * P * nm] != 0;
        off += d->counts[r] / sizeof(float);
    }
    if (stop) return SLAVA_E_INTERRUPTED;   /* some rank was asked to stop: all stop at this step */
    float *E[3] = {NULL, NULL, NULL}, *dE[3] = {NULL, NULL, NULL};
    for (int m = 0; m < 3; m++)
        if (use[m]) { E[m] = d->eg[m]; dE[m] = d->deg[m]; }
    *used = 0;
    *loss = al_step_loss(h, b, E, dE, B, losses, train, fixed_scale, o, used, pair);
    for (int m = 0; m < 3; m++)   /* this rank's rows of the gradients, the others' zero */
        if (use[m]) {
            memset(dloc[m], 0, sizeof(float) * (size_t)B * P);
            for (int i = 0; i < b->Bl; i++)
                memcpy(dloc[m] + (size_t)b->pos[i] * P, dE[m] + (size_t)b->pos[i] * P, sizeof(float) * P);
        }
    al_step_backward(h, b, losses, train, o, used);
    /* head gradients summed over the ranks; the logit scales' (last in the layout) are whole already */
    size_t n_heads = (size_t)(h->t.ls - h->mem);
    SV_TRY(sv_dist_allreduce_sum_f32(ctx, o->grad, n_heads));
    d->bytes += 2.0 * 4.0 * (double)n_heads;   /* reduce to rank 0 + broadcast */
    if (d->bytes > d->max_bytes) d->max_bytes = d->bytes;
    return SLAVA_OK;
}

static slava_status agree_dp(void *user, slava_ctx *ctx, slava_status st) {
    (void)user;
    return sv_dist_agree(ctx, st);
}

slava_status slava_train_dp(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, slava_heads **out,
                            slava_train_info *info) {
    if (sv_dist_size() == 1) return slava_train(ctx, ds, o, out, info);
    dp_state d;
    memset(&d, 0, sizeof d);
    d.counts = malloc(sizeof(size_t) * (size_t)sv_dist_size());
    d.next = malloc(sizeof(int) * (size_t)sv_dist_size());
    slava_status st = sv_dist_agree(ctx, d.counts && d.next ? SLAVA_OK : sv_err(ctx, SLAVA_E_NOMEM, "training: out of memory"));
    if (!st) {
        al_train_hooks hooks = {&d, data_dp, step_dp, agree_dp, 1};
        st = al_train_run(ctx, ds, o, &hooks, out, info);   /* every failure in it is agreed */
        if (!st) info->comm_bytes = d.max_bytes;
    }
    for (int m = 0; m < 3; m++) { sv_free(d.eg[m]); sv_free(d.deg[m]); }
    sv_free(d.send);
    sv_free(d.recv);
    free(d.counts);
    free(d.next);
    return st;
}
