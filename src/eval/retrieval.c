/*
 * retrieval.c — the retrieval metric core (ranks with deterministic tie-breaking; hit@K,
 * recall@K, mAP@10, nDCG@10, median / mean rank) and the seven tasks of DESIGN.md §2 with their
 * reverse directions.
 */
#include "eval/eval.h"
#include "nn/nn.h"
#include <math.h>
#include <stdio.h>

static const int Ks[3] = {1, 5, 10};

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void sv_retrieval_metrics(const float *S, int nq, int ng, const int *rel_off, const int *rel_idx,
                          slava_task_metrics *m) {
    m->n_queries = nq;
    m->n_gallery = ng;
    for (int k = 0; k < 3; k++) m->hit[k] = m->recall[k] = 0;
    m->map10 = m->ndcg10 = m->median_rank = m->mean_rank = 0;
    if (nq <= 0) {
        for (int k = 0; k < 3; k++) m->hit[k] = m->recall[k] = NAN;
        m->map10 = m->ndcg10 = m->median_rank = m->mean_rank = NAN;
        return;
    }
    int max_rel = 1;
    for (int q = 0; q < nq; q++) max_rel = rel_off[q + 1] - rel_off[q] > max_rel ? rel_off[q + 1] - rel_off[q] : max_rel;
    int *first = malloc(sizeof(int) * nq), *ranks = malloc(sizeof(int) * max_rel);
    double sum_first = 0;
    for (int q = 0; q < nq; q++) {
        const float *s = S + (size_t)q * ng;
        int nr = rel_off[q + 1] - rel_off[q];
        /* rank of a relevant item g: 1 + #(better scores) + #(equal scores at lower index), where a
         * non-finite score (NaN, ±inf: diverged heads) ranks below every finite one — compared
         * plainly, NaN would be "not worse" than anything and rank first */
        for (int r = 0; r < nr; r++) {
            int g = rel_idx[rel_off[q] + r];
            float sg = s[g];
            int rank = 1;
            if (isfinite(sg))
                for (int j = 0; j < ng; j++) rank += isfinite(s[j]) && (s[j] > sg || (s[j] == sg && j < g));
            else
                for (int j = 0; j < ng; j++) rank += isfinite(s[j]) || j < g;
            ranks[r] = rank;
        }
        qsort(ranks, nr, sizeof(int), cmp_int);
        first[q] = ranks[0];
        sum_first += ranks[0];
        for (int k = 0; k < 3; k++) {
            int found = 0;
            for (int r = 0; r < nr; r++) found += ranks[r] <= Ks[k];
            m->hit[k] += found > 0;
            m->recall[k] += (double)found / nr;
        }
        /* AP@10 (trec_eval map_cut_10: divided by all relevant items), nDCG@10 (binary gains) */
        double ap = 0, dcg = 0, idcg = 0;
        for (int r = 0; r < nr && ranks[r] <= 10; r++) {
            ap += (double)(r + 1) / ranks[r];
            dcg += 1.0 / log2(ranks[r] + 1.0);
        }
        for (int r = 0; r < nr && r < 10; r++) idcg += 1.0 / log2(r + 2.0);
        m->map10 += ap / nr;
        m->ndcg10 += dcg / idcg;
    }
    for (int k = 0; k < 3; k++) { m->hit[k] /= nq; m->recall[k] /= nq; }
    m->map10 /= nq;
    m->ndcg10 /= nq;
    m->mean_rank = sum_first / nq;
    qsort(first, nq, sizeof(int), cmp_int);
    m->median_rank = nq % 2 ? first[nq / 2] : 0.5 * (first[nq / 2 - 1] + first[nq / 2]);
    free(first);
    free(ranks);
}

/* The seven tasks: gallery modality (0 visual, 1 audio) and query (caption kind, or -1 = audio). */
static const struct { int gallery_audio; int query_kind; const char *g, *q; } TASKS[7] = {
    {0, SLAVA_CAP_VISUAL, "visual", "visual captions"},
    {0, SLAVA_CAP_AUDIO, "visual", "audio captions"},
    {0, SLAVA_CAP_AV, "visual", "audio-visual captions"},
    {1, SLAVA_CAP_AUDIO, "audio", "audio captions"},
    {1, SLAVA_CAP_VISUAL, "audio", "visual captions"},
    {1, SLAVA_CAP_AV, "audio", "audio-visual captions"},
    {0, -1, "visual", "audio"},
};

/* Score matrix Q[nq,P] · G[ng,P]ᵀ and metrics. */
static slava_status run_task(slava_ctx *ctx, const float *Q, int nq, const float *G, int ng, int P,
                             const int *rel_off, const int *rel_idx, slava_task_metrics *m) {
    float *S = sv_alloc(sizeof(float) * ((size_t)nq * ng + 1));
    if (!S) return sv_err(ctx, SLAVA_E_NOMEM, "evaluation: out of memory (%d x %d scores)", nq, ng);
    if (nq > 0 && ng > 0) sv_gemm(0, 1, nq, ng, P, 1.0f, Q, P, G, P, 0.0f, S, ng);
    sv_retrieval_metrics(S, nq, ng, rel_off, rel_idx, m);
    sv_free(S);
    return SLAVA_OK;
}

slava_status sv_eval_tasks(slava_ctx *ctx, const sv_evalset *e, const sv_evalemb *m, unsigned task_mask,
                           slava_eval_report *out) {
    int n = e->n, P = m->P;
    memset(out, 0, sizeof *out);
    out->split = e->split;
    out->n_clips = n;
    out->n_without_audio = e->n_noaudio;
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) { out->captions[k] = e->ncap[k]; out->merged[k] = e->merged[k]; }
    size_t maxcap = (size_t)n;
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) maxcap = (size_t)e->ncap[k] > maxcap ? (size_t)e->ncap[k] : maxcap;
    /* scratch: gathered queries / gallery rows, relevance lists, clip → gallery row */
    float *Q = sv_alloc(sizeof(float) * (maxcap + 1) * P), *G = sv_alloc(sizeof(float) * (maxcap + 1) * P);
    int *off = malloc(sizeof(int) * (maxcap + 2)), *idx = malloc(sizeof(int) * (maxcap + 1));
    int *row = malloc(sizeof(int) * (n + 1));
    slava_status st = SLAVA_OK;
    if (!Q || !G || !off || !idx || !row) { st = sv_err(ctx, SLAVA_E_NOMEM, "evaluation: out of memory"); goto done; }
    for (int t = 0; t < 7 && !st; t++) {
        int audio = TASKS[t].gallery_audio, kind = TASKS[t].query_kind;
        /* clips in play: with the gallery's modality; audio tasks (and audio queries) need audio */
        int need_a = audio || kind < 0;
        for (int rv = 0; rv < 2 && !st; rv++) {
            slava_task_metrics *tm = &out->task[t + 7 * rv];
            snprintf(tm->name, sizeof tm->name, rv ? "%s -> %s" : "%s <- %s", TASKS[t].g, TASKS[t].q);
            tm->reverse = rv;
            if (!(task_mask & (1u << (t + 7 * rv)))) {
                sv_retrieval_metrics(NULL, 0, 0, NULL, NULL, tm);
                continue;
            }
            const float *media = audio ? m->a : m->v;
            int nm = 0;   /* media rows in play, in clip-id order */
            for (int i = 0; i < n; i++) {
                int ok = (audio ? e->has_a[i] : e->has_v[i]) && (!need_a || e->has_a[i]);
                row[i] = ok ? nm++ : -1;
            }
            int nq = 0, ng = 0;
            if (kind < 0) {
                /* audio ↔ visual: one relevant item, the same clip */
                for (int i = 0; i < n; i++) {
                    if (row[i] < 0) continue;
                    memcpy(Q + (size_t)nq * P, m->a + (size_t)i * P, sizeof(float) * P);   /* audio */
                    memcpy(G + (size_t)nq * P, m->v + (size_t)i * P, sizeof(float) * P);   /* visual */
                    off[nq] = nq; idx[nq] = nq; nq++;
                }
                off[nq] = nq;
                st = rv ? run_task(ctx, G, nq, Q, nq, P, off, idx, tm) : run_task(ctx, Q, nq, G, nq, P, off, idx, tm);
                continue;
            }
            const float *cap = m->cap[kind];
            const int *own = e->cap_owner[kind];
            if (!rv) {
                /* caption → media: every kept caption of a clip in play is a query */
                for (int i = 0, g = 0; i < n; i++)
                    if (row[i] >= 0) memcpy(G + (size_t)g++ * P, media + (size_t)i * P, sizeof(float) * P);
                ng = nm;
                for (int c = 0; c < e->ncap[kind]; c++) {
                    if (row[own[c]] < 0) continue;
                    memcpy(Q + (size_t)nq * P, cap + (size_t)c * P, sizeof(float) * P);
                    off[nq] = nq; idx[nq] = row[own[c]]; nq++;
                }
                off[nq] = nq;
            } else {
                /* media → captions: every caption of the same clip is relevant; captions in
                 * (clip id, index) order so ties rank by clip id */
                int nr = 0;
                for (int c = 0; c < e->ncap[kind]; c++) {
                    if (row[own[c]] < 0) continue;
                    memcpy(G + (size_t)ng++ * P, cap + (size_t)c * P, sizeof(float) * P);
                }
                int c = 0, gpos = 0;
                for (int i = 0; i < n; i++) {
                    if (row[i] < 0) { while (c < e->ncap[kind] && own[c] == i) c++; continue; }
                    int start = nr;
                    while (c < e->ncap[kind] && own[c] == i) { idx[nr++] = gpos++; c++; }
                    if (nr == start) continue;   /* clip without captions of this kind: no query */
                    memcpy(Q + (size_t)nq * P, media + (size_t)i * P, sizeof(float) * P);
                    off[nq++] = start;
                }
                off[nq] = nr;
            }
            st = run_task(ctx, Q, nq, G, ng, P, off, idx, tm);
        }
    }
done:
    sv_free(Q); sv_free(G); free(off); free(idx); free(row);
    return st;
}

double sv_mean_r10(const slava_eval_report *r, unsigned forward_mask) {
    double s = 0;
    int k = 0;
    for (int t = 0; t < 7; t++)
        if ((forward_mask & (1u << t)) && r->task[t].n_queries > 0) { s += r->task[t].hit[2]; k++; }
    return k ? s / k : 0;
}
