/*
 * evalset.c — prepares one split for retrieval (clip-id order, frame means, audio chunks, caption
 * duplicates merged) and embeds it with a set of heads.
 */
#include "eval/eval.h"
#include "align/heads.h"
#include "align/kernels.h"
#include <ctype.h>

static int by_id(const void *a, const void *b) {
    const slava_clip *x = *(const slava_clip *const *)a, *y = *(const slava_clip *const *)b;
    return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

/* Two captions are the same when their texts match after trimming and collapsing whitespace
 * (line breaks inside captions included); without texts, when their features are identical. */
static int same_text(const char *a, const char *b) {
    if (!a || !b) return 0;
    while (isspace((unsigned char)*a)) a++;
    while (isspace((unsigned char)*b)) b++;
    for (;;) {
        int sa = 0, sb = 0;
        while (isspace((unsigned char)*a)) { a++; sa = 1; }
        while (isspace((unsigned char)*b)) { b++; sb = 1; }
        if (!*a || !*b) return !*a && !*b;
        if (sa != sb || *a != *b) return 0;
        a++, b++;
    }
}

static int same_caption(const slava_clip *c, int k, int i, int j, int d_t) {
    if (c->cap_text[k] && c->cap_text[k][i] && c->cap_text[k][j])
        return same_text(c->cap_text[k][i], c->cap_text[k][j]);
    return !memcmp(c->cap[k] + (size_t)i * d_t, c->cap[k] + (size_t)j * d_t, sizeof(float) * d_t);
}

slava_status sv_evalset_build(slava_ctx *ctx, const slava_dataset *ds, int split, sv_evalset *e) {
    static const char *names[] = {"train", "val", "test"};
    memset(e, 0, sizeof *e);
    e->split = split;
    e->d_v = ds->d_v; e->d_a = ds->d_a; e->d_t = ds->d_t;
    for (int i = 0; i < ds->n; i++) e->n += ds->clips[i].split == split;
    if (e->n == 0)
        return sv_err(ctx, SLAVA_E_NOTFOUND, "the feature set has no clips in the %s split",
                      split >= 0 && split < 3 ? names[split] : "requested");
    int n = e->n;
    e->clip = malloc(sizeof *e->clip * n);
    e->has_v = calloc(n, 1);
    e->has_a = calloc(n, 1);
    e->a_offs = calloc(n + 1, sizeof(int));
    if (!e->clip || !e->has_v || !e->has_a || !e->a_offs) goto nomem;
    n = 0;
    for (int i = 0; i < ds->n; i++)
        if (ds->clips[i].split == split) e->clip[n++] = &ds->clips[i];
    qsort(e->clip, n, sizeof *e->clip, by_id);
    for (int i = 0; i < n; i++) {
        const slava_clip *c = e->clip[i];
        e->has_v[i] = c->t_v > 0 && c->visual;
        e->has_a[i] = c->t_a > 0 && c->audio;
        e->n_noaudio += !e->has_a[i];
        e->a_offs[i + 1] = e->a_offs[i] + (e->has_a[i] ? c->t_a : 0);
    }
    e->vbar = sv_calloc((size_t)n * e->d_v, sizeof(float));
    e->abar = sv_calloc((size_t)n * e->d_a, sizeof(float));
    e->a = sv_alloc(sizeof(float) * ((size_t)e->a_offs[n] + 1) * e->d_a);
    if (!e->vbar || !e->abar || !e->a) goto nomem;
    for (int i = 0; i < n; i++) {
        const slava_clip *c = e->clip[i];
        if (e->has_v[i]) {
            int offs[2] = {0, c->t_v};
            al_meanpool_fwd_f(e->vbar + (size_t)i * e->d_v, c->visual, offs, 1, e->d_v);
        }
        if (e->has_a[i]) {
            int offs[2] = {0, c->t_a};
            memcpy(e->a + (size_t)e->a_offs[i] * e->d_a, c->audio, sizeof(float) * (size_t)c->t_a * e->d_a);
            al_meanpool_fwd_f(e->abar + (size_t)i * e->d_a, c->audio, offs, 1, e->d_a);
        }
    }
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        size_t total = 0;
        for (int i = 0; i < n; i++) total += e->clip[i]->n_cap[k];
        e->cap[k] = sv_alloc(sizeof(float) * (total + 1) * e->d_t);
        e->cap_owner[k] = malloc(sizeof(int) * (total + 1));
        if (!e->cap[k] || !e->cap_owner[k]) goto nomem;
        int m = 0;
        for (int i = 0; i < n; i++) {
            const slava_clip *c = e->clip[i];
            for (int j = 0; j < c->n_cap[k]; j++) {
                int dup = 0;
                for (int p = 0; p < j && !dup; p++) dup = same_caption(c, k, p, j, e->d_t);
                if (dup) { e->merged[k]++; continue; }
                memcpy(e->cap[k] + (size_t)m * e->d_t, c->cap[k] + (size_t)j * e->d_t, sizeof(float) * e->d_t);
                e->cap_owner[k][m++] = i;
            }
        }
        e->ncap[k] = m;
    }
    return SLAVA_OK;
nomem:
    sv_evalset_free(e);
    return sv_err(ctx, SLAVA_E_NOMEM, "evaluation: out of memory");
}

void sv_evalset_free(sv_evalset *e) {
    free(e->clip); free(e->has_v); free(e->has_a); free(e->a_offs);
    sv_free(e->vbar); sv_free(e->abar); sv_free(e->a);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) { sv_free(e->cap[k]); free(e->cap_owner[k]); }
    memset(e, 0, sizeof *e);
}

void sv_evalemb_free(sv_evalemb *m) {
    sv_free(m->v); sv_free(m->a);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) sv_free(m->cap[k]);
    memset(m, 0, sizeof *m);
}

/* rows of x [n, d] → y = l2norm(linear(x)) [n, P] */
static void project_norm(float *y, const float *x, int n, int d, const float *W, const float *b, int P, float *norm) {
    al_linear_fwd_f(y, x, W, b, n, d, P);
    al_l2norm_fwd_f(y, norm, y, n, P);
}

slava_status sv_evalset_embed(slava_ctx *ctx, const sv_evalset *e, const slava_heads *h, sv_evalemb *m) {
    memset(m, 0, sizeof *m);
    if (h->d_v != e->d_v || h->d_a != e->d_a || h->d_t != e->d_t)
        return sv_err(ctx, SLAVA_E_SHAPE,
                      "heads take features of sizes visual %d, audio %d, text %d; the feature set has %d, %d, %d",
                      h->d_v, h->d_a, h->d_t, e->d_v, e->d_a, e->d_t);
    int n = e->n, P = h->P;
    size_t maxcap = 0;
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) maxcap = (size_t)e->ncap[k] > maxcap ? (size_t)e->ncap[k] : maxcap;
    size_t nn = (size_t)n > maxcap ? (size_t)n : maxcap;
    m->P = P;
    m->v = sv_alloc(sizeof(float) * (size_t)n * P);
    m->a = sv_calloc((size_t)n * P, sizeof(float));
    float *norm = sv_alloc(sizeof(float) * (nn + 1));
    float *hid = h->H > 0 ? sv_alloc(sizeof(float) * ((size_t)e->a_offs[n] + n + 1) * h->H) : NULL;
    int ok = m->v && m->a && norm && (h->H == 0 || hid);
    for (int k = 0; ok && k < SLAVA_CAP_KINDS; k++) ok = (m->cap[k] = sv_alloc(sizeof(float) * ((size_t)e->ncap[k] + 1) * P)) != NULL;
    if (!ok) {
        sv_free(norm); sv_free(hid); sv_evalemb_free(m);
        return sv_err(ctx, SLAVA_E_NOMEM, "evaluation: out of memory");
    }
    project_norm(m->v, e->vbar, n, e->d_v, h->t.w_v, NULL, P, norm);
    if (h->H > 0) {
        float *hbar = hid + (size_t)e->a_offs[n] * h->H;
        al_mlp_fwd_f(m->a, hid, hbar, e->a, e->a_offs, n, h->t.a_w1, h->t.a_b1, h->t.a_w2, h->t.a_b2, e->d_a, h->H, P);
        al_l2norm_fwd_f(m->a, norm, m->a, n, P);
    } else {
        project_norm(m->a, e->abar, n, e->d_a, h->t.a_w1, h->t.a_b1, P, norm);
    }
    for (int i = 0; i < n; i++)
        if (!e->has_a[i]) memset(m->a + (size_t)i * P, 0, sizeof(float) * P);
    /* GPT-AV captions are no task's queries (DESIGN.md §2): not embedded */
    for (int k = 0; k < SLAVA_CAP_KINDS; k++)
        if (e->ncap[k] && k != SLAVA_CAP_GPT) project_norm(m->cap[k], e->cap[k], e->ncap[k], e->d_t, h->t.w_t, NULL, P, norm);
    sv_free(norm);
    sv_free(hid);
    return SLAVA_OK;
}
