/*
 * result.c — what every slava_embed_* call shares: checking the call, turning one input's
 * encoder rows into its slava_embedding (the head of each row, L2-normalised; the mean over the
 * rows of the head, and that normalised; the seconds each row covers), per-input failures,
 * failures that stop the call, progress ("embed", inputs done / inputs), and freeing results.
 */
#include "embed/embed.h"
#include "nn/nn.h"
#include <stdio.h>

void slava_embeddings_clear(slava_embedding *r, int n) {
    for (int i = 0; r && i < n; i++) {
        free(r[i].error);
        free(r[i].pooled);
        free(r[i].row_embedding);
        free(r[i].t_start);
        free(r[i].t_end);
        free(r[i].projected);
        free(r[i].embedding);
        memset(&r[i], 0, sizeof r[i]);
    }
}

slava_status sv_embed_begin(sv_embed_call *c, slava_ctx *ctx, slava_embedder *e, int modality, int n,
                            const char *const *names, slava_embedding *out) {
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    c->e = e;
    c->modality = modality;
    c->n = n;
    c->names = names;
    c->out = out;
    if (!ctx || !e || n < 0 || (n > 0 && (!names || !out))) return sv_err(ctx, SLAVA_E_ARG, "embed: bad arguments");
    c->progress = ctx->progress;
    c->progress_user = ctx->progress_user;
    ctx->progress = NULL;
    if (!e->d[modality]) {
        sv_err(ctx, SLAVA_E_ARG, "embed: %s inputs need a %s folder, the embedder has none",
               slava_store_modality_name(modality), modality == SLAVA_MOD_AUDIO ? "CLAP" : "CLIP");
        sv_embed_abort(c, SLAVA_E_ARG);
        return sv_embed_end(c);
    }
    return SLAVA_OK;
}

static void report(sv_embed_call *c) {
    c->done++;
    if (c->progress && !c->cancelled && c->progress(c->progress_user, "embed", c->done, c->n, NULL)) c->cancelled = 1;
}

void sv_embed_fail(sv_embed_call *c, int i, slava_status st) {
    slava_embedding *r = &c->out[i];
    if (r->status != SLAVA_OK || r->error) return;   /* already failed */
    const char *m = slava_ctx_error(c->ctx);
    int64_t decoded = r->frames_decoded;
    slava_embeddings_clear(r, 1);
    r->frames_decoded = decoded;
    r->status = st;
    if (m && *m) r->error = sv_strdup(m);
    else {
        char buf[1200];
        snprintf(buf, sizeof buf, "%s: %s", c->names[i] ? c->names[i] : "(null)", slava_status_name(st));
        r->error = sv_strdup(buf);
    }
    slava_ctx_clear_error(c->ctx);
    report(c);
}

void sv_embed_abort(sv_embed_call *c, slava_status st) {
    char msg[sizeof c->ctx->msg];
    snprintf(msg, sizeof msg, "%s", slava_ctx_error(c->ctx));
    for (int i = 0; i < c->n; i++)
        if (c->out[i].status == SLAVA_OK && !c->out[i].error && !c->out[i].embedding) {
            sv_err(c->ctx, st, "%s", msg);
            sv_embed_fail(c, i, st);
        }
}

/* Row embeddings [T, P] and the mean projection [P] of pooled rows, through the heads or from the
 * tower's projected rows. */
static slava_status project(sv_embed_call *c, const float *pooled, const float *proj, int T, int D, int P,
                            float *rows, float *mean) {
    const slava_embedder *e = c->e;
    if (e->heads) {
        SV_TRY(slava_heads_project_rows(c->ctx, e->heads, c->modality, pooled, T, D, rows));
        return slava_heads_project(c->ctx, e->heads, c->modality, pooled, T, D, mean);
    }
    if (!proj) return sv_err(c->ctx, SLAVA_E_INTERNAL, "embed: no projected rows");
    memcpy(rows, proj, sizeof(float) * (size_t)T * P);
    for (int j = 0; j < P; j++) {
        double s = 0;
        for (int t = 0; t < T; t++) s += proj[(size_t)t * P + j];
        mean[j] = (float)(s / T);
    }
    return SLAVA_OK;
}

void sv_embed_complete(sv_embed_call *c, int i, float *pooled, const float *proj, int T, double step,
                       double duration) {
    slava_embedding *r = &c->out[i];
    const slava_embedder *e = c->e;
    const int D = e->d[c->modality], P = e->heads ? slava_heads_dim(e->heads) : e->p_tower[c->modality];
    r->pooled = pooled;
    r->T = T;
    r->D = D;
    r->P = P;
    r->duration = duration;
    r->row_embedding = malloc(sizeof(float) * (size_t)T * P);
    r->projected = malloc(sizeof(float) * (size_t)P);
    r->embedding = malloc(sizeof(float) * (size_t)P);
    r->t_start = malloc(sizeof(double) * (size_t)T);
    r->t_end = malloc(sizeof(double) * (size_t)T);
    slava_status st = SLAVA_OK;
    if (!r->row_embedding || !r->projected || !r->embedding || !r->t_start || !r->t_end)
        st = sv_err(c->ctx, SLAVA_E_NOMEM, "%s: out of memory", c->names[i]);
    if (!st) st = project(c, pooled, proj, T, D, P, r->row_embedding, r->projected);
    if (st) {
        sv_err_prefix(c->ctx, "%s", c->names[i]);
        sv_embed_fail(c, i, st);
        return;
    }
    sv_l2_normalize_rows(r->row_embedding, T, P);
    memcpy(r->embedding, r->projected, sizeof(float) * (size_t)P);
    sv_l2_normalize_rows(r->embedding, 1, P);
    for (int t = 0; t < T; t++) {
        r->t_start[t] = t * step;
        r->t_end[t] = (t + 1) * step;
        if (duration >= 0 && r->t_end[t] > duration) r->t_end[t] = duration > r->t_start[t] ? duration : r->t_start[t];
    }
    report(c);
}

slava_status sv_embed_end(sv_embed_call *c) {
    c->ctx->progress = c->progress;
    c->ctx->progress_user = c->progress_user;
    slava_ctx_clear_error(c->ctx);
    for (int i = 0; i < c->n; i++)
        if (c->out[i].status != SLAVA_OK)
            return sv_err(c->ctx, c->out[i].status, "%s", c->out[i].error ? c->out[i].error : "embed: failed");
    return SLAVA_OK;
}
