/*
 * project.c — a dataset split through heads into the embeddings evaluation consumes: gathers an
 * evaluation split's features once (frame and chunk means, audio chunks, kept captions), projects
 * them with a set of heads and L2-normalises; slava_eval = prepare the split, project, evaluate.
 */
#include "align/project.h"
#include "align/heads.h"
#include "align/kernels.h"
#include "nn/nn.h"

slava_status al_evalfeat_build(slava_ctx *ctx, const sv_evalset *e, al_evalfeat *f) {
    memset(f, 0, sizeof *f);
    f->set = e;
    int n = e->n;
    f->a_offs = calloc(n + 1, sizeof(int));
    if (!f->a_offs) goto nomem;
    for (int i = 0; i < n; i++) f->a_offs[i + 1] = f->a_offs[i] + (e->has_a[i] ? e->clip[i]->t_a : 0);
    f->vbar = sv_calloc((size_t)n * e->d_v, sizeof(float));
    f->abar = sv_calloc((size_t)n * e->d_a, sizeof(float));
    f->a = sv_alloc(sizeof(float) * ((size_t)f->a_offs[n] + 1) * e->d_a);
    if (!f->vbar || !f->abar || !f->a) goto nomem;
    for (int i = 0; i < n; i++) {
        const slava_clip *c = e->clip[i];
        if (e->has_v[i]) {
            int offs[2] = {0, c->t_v};
            al_meanpool_fwd_f(f->vbar + (size_t)i * e->d_v, c->visual, offs, 1, e->d_v);
        }
        if (e->has_a[i]) {
            int offs[2] = {0, c->t_a};
            memcpy(f->a + (size_t)f->a_offs[i] * e->d_a, c->audio, sizeof(float) * (size_t)c->t_a * e->d_a);
            al_meanpool_fwd_f(f->abar + (size_t)i * e->d_a, c->audio, offs, 1, e->d_a);
        }
    }
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        f->cap[k] = sv_alloc(sizeof(float) * ((size_t)e->ncap[k] + 1) * e->d_t);
        if (!f->cap[k]) goto nomem;
        for (int m = 0; m < e->ncap[k]; m++)
            memcpy(f->cap[k] + (size_t)m * e->d_t, e->clip[e->cap_owner[k][m]]->cap[k] + (size_t)e->cap_index[k][m] * e->d_t,
                   sizeof(float) * e->d_t);
    }
    return SLAVA_OK;
nomem:
    al_evalfeat_free(f);
    return sv_err(ctx, SLAVA_E_NOMEM, "evaluation: out of memory");
}

void al_evalfeat_free(al_evalfeat *f) {
    free(f->a_offs);
    sv_free(f->vbar); sv_free(f->abar); sv_free(f->a);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) sv_free(f->cap[k]);
    memset(f, 0, sizeof *f);
}

/* rows of x [n, d] → y = l2norm(linear(x)) [n, P] */
static void project_norm(float *y, const float *x, int n, int d, const float *W, const float *b, int P, float *norm) {
    al_linear_fwd_f(y, x, W, b, n, d, P);
    al_l2norm_fwd_f(y, norm, y, n, P);
}

slava_status al_evalfeat_embed(slava_ctx *ctx, const al_evalfeat *f, const slava_heads *h, sv_evalemb *m) {
    const sv_evalset *e = f->set;
    memset(m, 0, sizeof *m);
    if (h->d_v != e->d_v || h->d_a != e->d_a || h->d_t != e->d_t)
        return sv_err(ctx, SLAVA_E_SHAPE,
                      "heads take features of sizes visual %d, audio %d, text %d; the feature set has %d, %d, %d",
                      h->d_v, h->d_a, h->d_t, e->d_v, e->d_a, e->d_t);
    int n = e->n, P = h->P;
    size_t maxcap = 0;
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) maxcap = (size_t)e->ncap[k] > maxcap ? (size_t)e->ncap[k] : maxcap;
    size_t nn = (size_t)n > maxcap ? (size_t)n : maxcap;
    SV_TRY(sv_evalemb_alloc(ctx, e, P, m));
    float *norm = sv_alloc(sizeof(float) * (nn + 1));
    float *hid = h->H > 0 ? sv_alloc(sizeof(float) * ((size_t)f->a_offs[n] + n + 1) * h->H) : NULL;
    if (!norm || (h->H > 0 && !hid)) {
        sv_free(norm); sv_free(hid); sv_evalemb_free(m);
        return sv_err(ctx, SLAVA_E_NOMEM, "evaluation: out of memory");
    }
    project_norm(m->v, f->vbar, n, e->d_v, h->t.w_v, NULL, P, norm);
    if (h->H > 0) {
        float *hbar = hid + (size_t)f->a_offs[n] * h->H;
        al_mlp_fwd_f(m->a, hid, hbar, f->a, f->a_offs, n, h->t.a_w1, h->t.a_b1, h->t.a_w2, h->t.a_b2, e->d_a, h->H, P);
        al_l2norm_fwd_f(m->a, norm, m->a, n, P);
    } else {
        project_norm(m->a, f->abar, n, e->d_a, h->t.a_w1, h->t.a_b1, P, norm);
    }
    for (int i = 0; i < n; i++)
        if (!e->has_a[i]) memset(m->a + (size_t)i * P, 0, sizeof(float) * P);
    /* GPT-AV captions are no task's queries (DESIGN.md §2): not embedded */
    for (int k = 0; k < SLAVA_CAP_KINDS; k++)
        if (e->ncap[k] && k != SLAVA_CAP_GPT) project_norm(m->cap[k], f->cap[k], e->ncap[k], e->d_t, h->t.w_t, NULL, P, norm);
    sv_free(norm);
    sv_free(hid);
    return SLAVA_OK;
}

slava_status slava_eval(slava_ctx *ctx, const slava_dataset *ds, int split, const slava_heads *h,
                        slava_eval_report *out) {
    sv_evalset e;
    al_evalfeat f;
    sv_evalemb m;
    SV_TRY(sv_gemm_reserve(ctx, "evaluation"));
    SV_TRY(sv_evalset_build(ctx, ds, split, &e));
    slava_status st = al_evalfeat_build(ctx, &e, &f);
    if (!st) {
        st = al_evalfeat_embed(ctx, &f, h, &m);
        if (!st) st = sv_eval_tasks(ctx, &e, &m, SV_TASKS_ALL, out);
        sv_evalemb_free(&m);
        al_evalfeat_free(&f);
    }
    sv_evalset_free(&e);
    return st;
}
