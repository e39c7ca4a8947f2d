/*
 * rows.c — frames (image tower) or 10 s chunks (HTSAT) of several inputs gathered into shared
 * tower calls of up to B rows, so that short videos, single images and short audio files still
 * make large GEMMs. Each input collects its rows (pooled, and the tower's projection when there
 * are no heads) in order; an input that fails drops the rows it had queued; an input whose
 * rows are all through is completed at once (sv_embed_complete).
 */
#include "embed/embed.h"

slava_status sv_rows_init(sv_rows *r, sv_embed_call *c, sv_rows_fn fn, int B, size_t in_floats, double step) {
    memset(r, 0, sizeof *r);
    r->c = c;
    r->fn = fn;
    r->B = B;
    r->in_floats = in_floats;
    r->D = c->e->d[c->modality];
    r->P = c->e->heads ? 0 : c->e->p_tower[c->modality];
    r->step = step;
    r->in = sv_alloc(sizeof(float) * in_floats * (size_t)B);
    r->pooled = sv_alloc(sizeof(float) * (size_t)B * r->D);
    r->proj = r->P ? sv_alloc(sizeof(float) * (size_t)B * r->P) : NULL;
    r->owner = malloc(sizeof(int) * (size_t)B);
    r->row = malloc(sizeof(int) * (size_t)B);
    r->items = calloc((size_t)(c->n ? c->n : 1), sizeof *r->items);
    if (!r->in || !r->pooled || (r->P && !r->proj) || !r->owner || !r->row || !r->items)
        return sv_err(c->ctx, SLAVA_E_NOMEM, "embed: out of memory for a batch of %d rows", B);
    return SLAVA_OK;
}

void sv_rows_free(sv_rows *r) {
    for (int i = 0; r->items && i < r->c->n; i++) {
        free(r->items[i].pooled);
        free(r->items[i].proj);
    }
    free(r->items);
    sv_free(r->in);
    sv_free(r->pooled);
    sv_free(r->proj);
    free(r->owner);
    free(r->row);
    memset(r, 0, sizeof *r);
}

static void drop(sv_rows_item *it) {
    free(it->pooled);
    free(it->proj);
    it->pooled = it->proj = NULL;
    it->T = it->cap = 0;
}

/* Input i's rows are all through: its embedding is made now. */
static void complete_if_ready(sv_rows *r, int i) {
    sv_rows_item *it = &r->items[i];
    if (it->failed || !it->read_done || it->pending) return;
    float *pooled = it->pooled;
    it->pooled = NULL;
    sv_embed_complete(r->c, i, pooled, it->proj, it->T, r->step, it->duration);
    drop(it);
    it->failed = 1;   /* done: nothing more may happen to it */
}

slava_status sv_rows_flush(sv_rows *r) {
    if (r->nb == 0) return SLAVA_OK;
    slava_status st = r->fn(r->c->ctx, r->c->e, r->nb, r->in, r->pooled, r->proj);
    if (st) return st;
    for (int b = 0; b < r->nb; b++) {
        sv_rows_item *it = &r->items[r->owner[b]];
        it->pending--;
        if (it->failed) continue;
        memcpy(it->pooled + (size_t)r->row[b] * r->D, r->pooled + (size_t)b * r->D, sizeof(float) * r->D);
        if (r->P) memcpy(it->proj + (size_t)r->row[b] * r->P, r->proj + (size_t)b * r->P, sizeof(float) * r->P);
    }
    const int nb = r->nb;
    r->nb = 0;
    for (int b = 0; b < nb; b++) complete_if_ready(r, r->owner[b]);
    return SLAVA_OK;
}

slava_status sv_rows_slot(sv_rows *r, int i, float **dst) {
    sv_rows_item *it = &r->items[i];
    if (it->T == it->cap) {
        int nc = it->cap ? 2 * it->cap : 16;
        float *p = realloc(it->pooled, sizeof(float) * (size_t)nc * r->D);
        if (p) it->pooled = p;
        float *q = p && r->P ? realloc(it->proj, sizeof(float) * (size_t)nc * r->P) : NULL;
        if (q) it->proj = q;
        if (!p || (r->P && !q)) return sv_err(r->c->ctx, SLAVA_E_NOMEM, "%s: out of memory", r->c->names[i]);
        it->cap = nc;
    }
    *dst = r->in + r->in_floats * (size_t)r->nb;
    return SLAVA_OK;
}

slava_status sv_rows_push(sv_rows *r, int i) {
    sv_rows_item *it = &r->items[i];
    r->owner[r->nb] = i;
    r->row[r->nb] = it->T++;
    it->pending++;
    return ++r->nb == r->B ? sv_rows_flush(r) : SLAVA_OK;
}

void sv_rows_read_done(sv_rows *r, int i, double duration) {
    r->items[i].read_done = 1;
    r->items[i].duration = duration;
    complete_if_ready(r, i);
}

void sv_rows_fail(sv_rows *r, int i, slava_status st) {
    sv_rows_item *it = &r->items[i];
    it->failed = 1;
    it->read_done = 1;
    drop(it);
    sv_embed_fail(r->c, i, st);
}

slava_status sv_rows_run(sv_rows *r, sv_rows_read_fn read, void *user, const char *none) {
    sv_embed_call *c = r->c;
    slava_status fatal = SLAVA_OK;
    for (int i = 0; !fatal && i < c->n; i++) {
        double duration = -1;
        slava_status st = c->names[i] ? read(r, i, user, &fatal, &duration)
                                      : sv_err(c->ctx, SLAVA_E_ARG, "embed: input %d is NULL", i);
        if (fatal) break;
        if (!st && r->items[i].T == 0) st = sv_err(c->ctx, SLAVA_E_FORMAT, "%s: %s", c->names[i], none);
        if (st) sv_rows_fail(r, i, st);
        else sv_rows_read_done(r, i, duration);
        if (c->cancelled) fatal = sv_err(c->ctx, SLAVA_E_INTERRUPTED, "embed: interrupted");
    }
    return fatal ? fatal : sv_rows_flush(r);
}
