/*
 * test_metrics.c — retrieval metrics on small hand-made score matrices (ties rank by gallery
 * index = clip id order; several relevant items), and a whole evaluation on a hand-built
 * four-clip split with identity heads: clip-id ordering, a clip without audio left out of the
 * audio tasks, duplicate captions merged, reverse directions, and the md / csv / json output.
 */
#include "test.h"
#include "align/heads.h"
#include "eval/eval.h"
#include <cjson/cJSON.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static float *vec(int d, int hot, float val) {
    float *x = sv_calloc(d, sizeof(float));
    x[hot] = val;
    return x;
}

int main(void) {
    slava_task_metrics m;
    {   /* three queries, one relevant each; ties: equal scores rank the lower gallery index first */
        const float S[12] = {0.9f, 0.5f, 0.9f, 0.1f,    /* relevant 2, tied with 0 → rank 2 */
                             0.2f, 0.8f, 0.3f, 0.4f,    /* relevant 1 → rank 1 */
                             0.5f, 0.5f, 0.5f, 0.5f};   /* relevant 3, all tied → rank 4 */
        const int off[4] = {0, 1, 2, 3}, idx[3] = {2, 1, 3};
        sv_retrieval_metrics(S, 3, 4, off, idx, &m);
        CHECK(m.n_queries == 3 && m.n_gallery == 4);
        CHECKF(NEAR(m.hit[0], 1.0 / 3) && NEAR(m.hit[1], 1) && NEAR(m.hit[2], 1), "hit %g %g %g", m.hit[0], m.hit[1], m.hit[2]);
        CHECK(NEAR(m.recall[0], 1.0 / 3) && NEAR(m.recall[1], 1));
        CHECKF(NEAR(m.median_rank, 2) && NEAR(m.mean_rank, 7.0 / 3), "MdR %g MnR %g", m.median_rank, m.mean_rank);
        CHECKF(NEAR(m.map10, (0.5 + 1 + 0.25) / 3), "mAP %g", m.map10);
        CHECKF(NEAR(m.ndcg10, (1 / log2(3.0) + 1 + 1 / log2(5.0)) / 3), "ndcg %g", m.ndcg10);
    }
    {   /* one query, 12 items, relevant {1, 4, 11} at ranks 1, 4, 12 */
        const float S[12] = {0.1f, 0.9f, 0.8f, 0.7f, 0.65f, 0.6f, 0.5f, 0.4f, 0.35f, 0.3f, 0.2f, 0.05f};
        const int off[2] = {0, 3}, idx[3] = {11, 4, 1};
        sv_retrieval_metrics(S, 1, 12, off, idx, &m);
        CHECK(NEAR(m.hit[0], 1) && NEAR(m.hit[1], 1) && NEAR(m.hit[2], 1));
        CHECKF(NEAR(m.recall[0], 1.0 / 3) && NEAR(m.recall[1], 2.0 / 3) && NEAR(m.recall[2], 2.0 / 3), "recall %g %g %g",
               m.recall[0], m.recall[1], m.recall[2]);
        CHECKF(NEAR(m.map10, (1.0 + 2.0 / 4) / 3), "AP@10 %g", m.map10);
        double idcg = 1 + 1 / log2(3.0) + 0.5;
        CHECKF(NEAR(m.ndcg10, (1 + 1 / log2(5.0)) / idcg), "nDCG@10 %g", m.ndcg10);
        CHECK(NEAR(m.median_rank, 1) && NEAR(m.mean_rank, 1));
    }
    {   /* even number of queries: median is the mean of the two middle ranks */
        const float S[6] = {0.1f, 0.9f, 0.9f, 0.9f, 0.1f, 0.5f};
        const int off[4] = {0, 1, 2, 3}, idx[3] = {0, 0, 1};
        sv_retrieval_metrics(S, 2, 3, off, idx, &m);   /* first two queries only: ranks 3 and 1 */
        CHECKF(NEAR(m.median_rank, 2) && NEAR(m.mean_rank, 2), "MdR %g MnR %g", m.median_rank, m.mean_rank);
    }

    /* ---- a four-clip test split, identity heads (d = P = 4) */
    slava_ctx *ctx = slava_ctx_new();
    slava_dataset ds = {0};
    ds.d_v = ds.d_a = ds.d_t = 4;
    ds.n = 5;
    ds.clips = calloc(5, sizeof(slava_clip));
    const char *ids[5] = {"c", "a", "b", "d", "x-train"};   /* not in id order on purpose */
    const int hot[4] = {2, 0, 1, 3};                         /* visual direction of c, a, b, d */
    for (int i = 0; i < 5; i++) {
        slava_clip *c = &ds.clips[i];
        c->id = sv_strdup(ids[i]);
        c->split = i < 4 ? SLAVA_SPLIT_TEST : SLAVA_SPLIT_TRAIN;
        c->t_v = 1;
        c->visual = vec(4, i < 4 ? hot[i] : 0, 1);
    }
    /* audio: a = e0 as two chunks (2e0, 0) → mean after ReLU = e0; b none; c = e2; d = e0 (tie with a) */
    slava_clip *A = &ds.clips[1], *Bc = &ds.clips[2], *C = &ds.clips[0], *D = &ds.clips[3];
    A->t_a = 2; A->audio = sv_calloc(8, sizeof(float)); A->audio[0] = 2;
    C->t_a = 1; C->audio = vec(4, 2, 1);
    D->t_a = 1; D->audio = vec(4, 0, 1);
    (void)Bc;
    /* visual captions: a twice with the same text (differently spaced) → merged; c points at d */
    struct { slava_clip *c; int n; int hot[2]; const char *txt[2]; } vc[4] = {
        {A, 2, {0, 0}, {"a dog  barks", " a dog\nbarks "}}, {Bc, 1, {1, 0}, {"b", NULL}},
        {C, 1, {3, 0}, {"c", NULL}}, {D, 1, {3, 0}, {"d", NULL}}};
    for (int i = 0; i < 4; i++) {
        slava_clip *c = vc[i].c;
        c->n_cap[SLAVA_CAP_VISUAL] = vc[i].n;
        c->cap[SLAVA_CAP_VISUAL] = sv_calloc(4 * vc[i].n, sizeof(float));
        c->cap_text[SLAVA_CAP_VISUAL] = calloc(vc[i].n, sizeof(char *));
        for (int j = 0; j < vc[i].n; j++) {
            c->cap[SLAVA_CAP_VISUAL][4 * j + vc[i].hot[j]] = 1;
            c->cap_text[SLAVA_CAP_VISUAL][j] = sv_strdup(vc[i].txt[j]);
        }
    }
    /* audio captions: one per clip along its visual direction (b's clip has no audio) */
    for (int i = 0; i < 4; i++) {
        slava_clip *c = &ds.clips[i];
        c->n_cap[SLAVA_CAP_AUDIO] = 1;
        c->cap[SLAVA_CAP_AUDIO] = vec(4, hot[i], 1);
    }
    slava_heads *h;
    CHECK_OK(ctx, al_heads_new(ctx, 4, 4, 4, 4, 4, &h));
    for (int i = 0; i < 4; i++) {
        h->t.w_v[i * 4 + i] = h->t.w_t[i * 4 + i] = h->t.a_w1[i * 4 + i] = h->t.a_w2[i * 4 + i] = 1;
    }
    slava_eval_report r;
    CHECK_OK(ctx, slava_eval(ctx, &ds, SLAVA_SPLIT_TEST, h, &r));
    CHECK(r.n_clips == 4 && r.n_without_audio == 1);
    CHECKF(r.captions[SLAVA_CAP_VISUAL] == 4 && r.merged[SLAVA_CAP_VISUAL] == 1, "captions %d merged %d",
           r.captions[SLAVA_CAP_VISUAL], r.merged[SLAVA_CAP_VISUAL]);
    /* task 1, visual <- visual captions: ranks a 1, b 1, c 4 (d better, a and b tie at lower ids), d 1 */
    slava_task_metrics *t1 = &r.task[0];
    CHECK(t1->n_queries == 4 && t1->n_gallery == 4);
    CHECKF(NEAR(t1->hit[0], 0.75) && NEAR(t1->hit[1], 1) && NEAR(t1->mean_rank, 7.0 / 4) && NEAR(t1->median_rank, 1),
           "task 1: R@1 %g MnR %g MdR %g", t1->hit[0], t1->mean_rank, t1->median_rank);
    /* task 4, audio <- audio captions: b left out → 3 queries, gallery a, c, d; a → 1, c → 1,
     * d (caption e3, audio e0: all scores 0) → 3 */
    CHECKF(r.task[3].n_queries == 3 && r.task[3].n_gallery == 3 && NEAR(r.task[3].hit[0], 2.0 / 3) &&
           NEAR(r.task[3].mean_rank, 5.0 / 3), "task 4: %d %d %g %g", r.task[3].n_queries, r.task[3].n_gallery,
           r.task[3].hit[0], r.task[3].mean_rank);
    /* task 2, visual <- audio captions: all four clips in the visual gallery, every caption a query */
    CHECK(r.task[1].n_queries == 4 && r.task[1].n_gallery == 4 && NEAR(r.task[1].hit[0], 1));
    /* task 7, visual <- audio over a, c, d: d's audio = e0 ties a and c... rank 3 */
    CHECKF(r.task[6].n_queries == 3 && NEAR(r.task[6].hit[0], 2.0 / 3) && NEAR(r.task[6].mean_rank, 5.0 / 3),
           "task 7: n %d R@1 %g MnR %g", r.task[6].n_queries, r.task[6].hit[0], r.task[6].mean_rank);
    /* tasks without captions of their kind have no queries */
    CHECK(r.task[2].n_queries == 0 && isnan(r.task[2].hit[2]));
    /* reverse of task 1: a → rank 1, b → 1, c (e2, all zero scores) → 3, d (ties c's caption) → 2 */
    slava_task_metrics *r1 = &r.task[7];
    CHECK(r1->reverse == 1 && r1->n_queries == 4 && r1->n_gallery == 4);
    CHECKF(NEAR(r1->hit[0], 0.5) && NEAR(r1->mean_rank, 7.0 / 4), "1r: hit@1 %g MnR %g", r1->hit[0], r1->mean_rank);
    /* reverse of task 7 (audio from visual) */
    CHECK(r.task[13].n_queries == 3);

    /* outputs */
    char *md = slava_eval_format(&r, SLAVA_FMT_MD), *csv = slava_eval_format(&r, SLAVA_FMT_CSV),
         *js = slava_eval_format(&r, SLAVA_FMT_JSON);
    CHECK(md && strstr(md, "1 without audio") && strstr(md, "| 1 | visual <- visual captions | 4 | 4 | 75.0 |"));
    CHECK(md && strstr(md, "duplicates merged: 0, 1, 0, 0"));
    CHECK(csv && count_lines(csv) == 15);
    cJSON *j = js ? cJSON_Parse(js) : NULL;
    CHECK(j != NULL);
    cJSON *tasks = cJSON_GetObjectItem(j, "tasks");
    CHECK(cJSON_GetArraySize(tasks) == 14);
    cJSON *t0 = cJSON_GetArrayItem(tasks, 0);
    CHECK(t0 && NEAR(cJSON_GetObjectItem(t0, "hit@1")->valuedouble, 0.75));
    CHECK(cJSON_GetObjectItem(j, "clips_without_audio")->valueint == 1);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(tasks, 2), "hit@10")));
    cJSON_Delete(j);
    free(md); free(csv); free(js);

    /* a split without clips is an error naming the split */
    CHECK(slava_eval(ctx, &ds, SLAVA_SPLIT_VAL, h, &r) == SLAVA_E_NOTFOUND && strstr(slava_ctx_error(ctx), "val"));
    slava_heads_free(h);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return test_done("metrics");
}
