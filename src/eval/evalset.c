/*
 * evalset.c — prepares one split for retrieval: its clips in clip-id order, which have frames /
 * audio, and the captions kept per kind (duplicates within a clip merged) with their owners.
 * Features are not touched: the embeddings come from whoever owns the model (src/align/project.c).
 */
#include "eval/eval.h"
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
    if (!e->clip || !e->has_v || !e->has_a) goto nomem;
    n = 0;
    for (int i = 0; i < ds->n; i++)
        if (ds->clips[i].split == split) e->clip[n++] = &ds->clips[i];
    qsort(e->clip, n, sizeof *e->clip, by_id);
    for (int i = 0; i < n; i++) {
        const slava_clip *c = e->clip[i];
        e->has_v[i] = c->t_v > 0 && c->visual;
        e->has_a[i] = c->t_a > 0 && c->audio;
        e->n_noaudio += !e->has_a[i];
    }
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        size_t total = 0;
        for (int i = 0; i < n; i++) total += e->clip[i]->n_cap[k];
        e->cap_owner[k] = malloc(sizeof(int) * (total + 1));
        e->cap_index[k] = malloc(sizeof(int) * (total + 1));
        if (!e->cap_owner[k] || !e->cap_index[k]) goto nomem;
        int m = 0;
        for (int i = 0; i < n; i++) {
            const slava_clip *c = e->clip[i];
            for (int j = 0; j < c->n_cap[k]; j++) {
                int dup = 0;
                for (int p = 0; p < j && !dup; p++) dup = same_caption(c, k, p, j, e->d_t);
                if (dup) { e->merged[k]++; continue; }
                e->cap_owner[k][m] = i;
                e->cap_index[k][m++] = j;
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
    free(e->clip); free(e->has_v); free(e->has_a);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) { free(e->cap_owner[k]); free(e->cap_index[k]); }
    memset(e, 0, sizeof *e);
}

slava_status sv_evalemb_alloc(slava_ctx *ctx, const sv_evalset *e, int P, sv_evalemb *m) {
    memset(m, 0, sizeof *m);
    m->P = P;
    m->v = sv_calloc((size_t)e->n * P, sizeof(float));
    m->a = sv_calloc((size_t)e->n * P, sizeof(float));
    int ok = m->v && m->a;
    for (int k = 0; ok && k < SLAVA_CAP_KINDS; k++) ok = (m->cap[k] = sv_calloc((size_t)e->ncap[k] * P + 1, sizeof(float))) != NULL;
    if (ok) return SLAVA_OK;
    sv_evalemb_free(m);
    return sv_err(ctx, SLAVA_E_NOMEM, "evaluation: out of memory");
}

void sv_evalemb_free(sv_evalemb *m) {
    sv_free(m->v); sv_free(m->a);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) sv_free(m->cap[k]);
    memset(m, 0, sizeof *m);
}
