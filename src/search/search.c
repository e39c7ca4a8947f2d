/*
 * search.c — slava_search: clip scores from the index rows, the best moment of each clip, the
 * visual / audio fusion and the top k.
 *
 * Exact: one pass over every row of the modalities searched (sx_scores1), then per clip the
 * largest of its pooled score and its moments' scores. Approximate (when the index has one and
 * the caller did not ask for exact): the approximate index proposes rows, their clips become the
 * candidates, and each candidate is scored exactly over all of its rows, so every score returned
 * is exact and only the candidate set is approximate. When the candidates are fewer than k the
 * exact pass runs instead.
 */
#include "search/search.h"
#include <math.h>
#include <omp.h>

void slava_search_opts_default(slava_search_opts *o) {
    memset(o, 0, sizeof *o);
    o->in = SLAVA_IN_BOTH;
    o->k = 10;
}

const char *slava_search_in_name(int in) {
    return in == SLAVA_IN_VISUAL ? "visual" : in == SLAVA_IN_AUDIO ? "audio" : in == SLAVA_IN_BOTH ? "both" : "?";
}

int slava_search_in_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "visual")) return SLAVA_IN_VISUAL;
    if (!strcmp(name, "audio")) return SLAVA_IN_AUDIO;
    if (!strcmp(name, "both")) return SLAVA_IN_BOTH;
    return -1;
}

/* Per clip and modality: score (NAN when the clip has no rows) and best moment. */
typedef struct { float score; int moment; } clip_score;

/* A clip's rows one after the other: row 0 is its pooled embedding, row k + 1 its moment k. The
 * clip's score is the largest (NaN counts as -inf), its moment the first best moment. */
static void take(clip_score *r, float *best_moment, int64_t row, float s) {
    if (isnan(s)) s = -INFINITY;
    if (row == 0) {
        r->score = s;
        r->moment = 0;
        *best_moment = -INFINITY;
        return;
    }
    if (s > *best_moment || row == 1) { *best_moment = s; r->moment = (int)(row - 1); }
    if (s > r->score) r->score = s;
}

/* Clip c's score in modality m from the row scores s of the whole modality. */
static clip_score reduce_clip(const slava_index *ix, int m, int c, const float *s) {
    clip_score r = {NAN, -1};
    float best = -INFINITY;
    for (int64_t a = ix->off[m][c], i = a; i < ix->off[m][c + 1]; i++) take(&r, &best, i - a, s[i]);
    return r;
}

/* Clip c scored directly from its rows (the approximate path's candidates). */
static clip_score score_clip(const slava_index *ix, int m, int c, const float *q) {
    clip_score r = {NAN, -1};
    float best = -INFINITY;
    for (int64_t a = ix->off[m][c], i = a; i < ix->off[m][c + 1]; i++)
        take(&r, &best, i - a, sx_dot(ix->rows[m], ix->f16, i, ix->P, q));
    return r;
}

/* The fused score of a clip (NAN: the clip cannot match) and the modality of its moment. */
static float fuse(int in, clip_score v, clip_score a, int *mod) {
    *mod = SLAVA_MOD_VISUAL;
    if (in == SLAVA_IN_VISUAL) return v.score;
    if (in == SLAVA_IN_AUDIO) { *mod = SLAVA_MOD_AUDIO; return a.score; }
    if (isnan(a.score)) return v.score;
    if (isnan(v.score)) { *mod = SLAVA_MOD_AUDIO; return a.score; }
    if (a.score > v.score) *mod = SLAVA_MOD_AUDIO;
    return 0.5f * (v.score + a.score);
}

/* Row → clip: the clip whose row range holds row r (binary search over the offsets). */
static int clip_of_row(const slava_index *ix, int m, int64_t r) {
    int lo = 0, hi = ix->n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (ix->off[m][mid] <= r) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static void fill_hit(const slava_index *ix, int c, float score, int mod, clip_score v, clip_score a,
                     slava_search_hit *h) {
    h->clip = c;
    h->id = ix->clips[c].id;
    h->source = ix->clips[c].source;
    h->score = score;
    h->modality = mod;
    h->score_visual = v.score;
    h->score_audio = a.score;
    clip_score mc = mod == SLAVA_MOD_AUDIO ? a : v;
    sx_moment(ix, c, mod, mc.moment < 0 ? 0 : mc.moment, &h->t_start, &h->t_end);
}

static slava_status search_exact(slava_ctx *ctx, const slava_index *ix, const slava_search_query *q,
                                 const slava_search_opts *o, sx_heap *heap, clip_score *cs[2]) {
    const float *qm[2] = {q->visual, q->audio};
    for (int m = 0; m < 2; m++) {
        if (!(o->in & (m ? SLAVA_IN_AUDIO : SLAVA_IN_VISUAL))) continue;
        float *s = sv_alloc(sizeof(float) * (size_t)(ix->n_rows[m] ? ix->n_rows[m] : 1));
        cs[m] = malloc(sizeof(clip_score) * (size_t)ix->n);
        if (!s || !cs[m]) { sv_free(s); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path); }
        sx_scores1(ix->rows[m], ix->f16, ix->n_rows[m], ix->P, qm[m], s);
        #pragma omp parallel for schedule(static) num_threads(slava_get_threads()) if (ix->n > 4096)
        for (int c = 0; c < ix->n; c++) cs[m][c] = reduce_clip(ix, m, c, s);
        sv_free(s);
    }
    const clip_score none = {NAN, -1};
    for (int c = 0; c < ix->n; c++) {
        int mod;
        float f = fuse(o->in, cs[0] ? cs[0][c] : none, cs[1] ? cs[1][c] : none, &mod);
        if (!isnan(f)) sx_heap_push(heap, f, c);
    }
    return SLAVA_OK;
}

/* Candidate clips from the approximate indexes; *n_cand = 0 when they propose fewer than k. */
static slava_status candidates(slava_ctx *ctx, const slava_index *ix, const slava_search_query *q,
                               const slava_search_opts *o, int k, int *cand, int *n_cand, char *mark) {
    const float *qm[2] = {q->visual, q->audio};
    int ef = o->ef > 0 ? o->ef : SX_ANN_EF_SEARCH, kk = ef;
    int64_t *ids = malloc(sizeof(int64_t) * (size_t)kk);
    if (!ids) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path);
    *n_cand = 0;
    for (int m = 0; m < 2; m++) {
        if (!(o->in & (m ? SLAVA_IN_AUDIO : SLAVA_IN_VISUAL)) || !ix->ann[m]) continue;
        slava_status st = sx_ann_search(ctx, ix->ann[m], qm[m], kk, ef, ids);
        if (st) { free(ids); return st; }
        for (int i = 0; i < kk; i++) {
            if (ids[i] < 0 || ids[i] >= ix->n_rows[m]) continue;
            int c = clip_of_row(ix, m, ids[i]);
            if (!mark[c]) { mark[c] = 1; cand[(*n_cand)++] = c; }
        }
    }
    free(ids);
    for (int i = 0; i < *n_cand; i++) mark[cand[i]] = 0;
    if (*n_cand < k) *n_cand = 0;
    return SLAVA_OK;
}

slava_status slava_search(slava_ctx *ctx, const slava_index *ix, const slava_search_query *q,
                          const slava_search_opts *o, slava_search_hit *hits, int *n_hits) {
    *n_hits = 0;
    if (o->in != SLAVA_IN_VISUAL && o->in != SLAVA_IN_AUDIO && o->in != SLAVA_IN_BOTH)
        return sv_err(ctx, SLAVA_E_ARG, "search: 'in' must be visual, audio or both (got %d)", o->in);
    if (o->k <= 0) return sv_err(ctx, SLAVA_E_ARG, "search: k must be >= 1 (got %d)", o->k);
    if (!q || q->dim != ix->P || !q->visual || !q->audio)
        return sv_err(ctx, SLAVA_E_ARG, "%s: the query has %d values, the index's embeddings %d", ix->path,
                      q ? q->dim : 0, ix->P);
    int k = o->k < ix->n ? o->k : ix->n;
    if (k <= 0) return SLAVA_OK;
    sx_item *items = malloc(sizeof *items * (size_t)k);
    if (!items) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path);
    sx_heap heap;
    sx_heap_init(&heap, items, k);
    clip_score *cs[2] = {NULL, NULL};
    slava_status st = SLAVA_OK;
    int use_ann = !o->exact && ((o->in & SLAVA_IN_VISUAL && ix->ann[0]) || (o->in & SLAVA_IN_AUDIO && ix->ann[1]));
    /* the approximate path covers a modality only when it has an index: otherwise exact */
    if (use_ann && (((o->in & SLAVA_IN_VISUAL) && ix->n_rows[0] && !ix->ann[0]) ||
                    ((o->in & SLAVA_IN_AUDIO) && ix->n_rows[1] && !ix->ann[1])))
        use_ann = 0;
    int n_cand = 0;
    if (use_ann) {
        int *cand = malloc(sizeof(int) * (size_t)(2 * (o->ef > 0 ? o->ef : SX_ANN_EF_SEARCH)));
        char *mark = calloc((size_t)ix->n, 1);
        if (!cand || !mark) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path);
        if (!st) st = candidates(ctx, ix, q, o, k, cand, &n_cand, mark);
        for (int i = 0; !st && i < n_cand; i++) {
            int c = cand[i], mod;
            const clip_score none = {NAN, -1};
            clip_score v = o->in & SLAVA_IN_VISUAL ? score_clip(ix, 0, c, q->visual) : none;
            clip_score a = o->in & SLAVA_IN_AUDIO ? score_clip(ix, 1, c, q->audio) : none;
            float f = fuse(o->in, v, a, &mod);
            if (!isnan(f)) sx_heap_push(&heap, f, c);
        }
        if (!st && n_cand) {
            int got = sx_heap_sorted(&heap, items);
            for (int i = 0; i < got; i++) {
                int c = (int)items[i].id, mod;
                const clip_score none = {NAN, -1};
                clip_score v = o->in & SLAVA_IN_VISUAL ? score_clip(ix, 0, c, q->visual) : none;
                clip_score a = o->in & SLAVA_IN_AUDIO ? score_clip(ix, 1, c, q->audio) : none;
                float f = fuse(o->in, v, a, &mod);
                fill_hit(ix, c, f, mod, v, a, &hits[i]);
            }
            *n_hits = got;
        }
        free(cand);
        free(mark);
        if (st || n_cand) { free(items); return st; }
        sx_heap_init(&heap, items, k);
    }
    st = search_exact(ctx, ix, q, o, &heap, cs);
    if (!st) {
        int got = sx_heap_sorted(&heap, items);
        const clip_score none = {NAN, -1};
        for (int i = 0; i < got; i++) {
            int c = (int)items[i].id, mod;
            clip_score v = cs[0] ? cs[0][c] : none, a = cs[1] ? cs[1][c] : none;
            float f = fuse(o->in, v, a, &mod);
            fill_hit(ix, c, f, mod, v, a, &hits[i]);
        }
        *n_hits = got;
    }
    free(cs[0]);
    free(cs[1]);
    free(items);
    return st;
}
