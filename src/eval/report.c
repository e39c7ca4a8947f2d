/*
 * report.c — evaluation reports and Table II as Markdown, CSV or JSON text (JSON via cJSON).
 * Library code: builds strings, never prints.
 */
#include "base/base.h"
#include "eval/eval.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

typedef struct { char *s; size_t len, cap; int oom; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->s && b->len + (size_t)n < b->cap) { b->len += n; return; }
        size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(b->s, nc);
        if (!p) { b->oom = 1; return; }
        b->s = p;
        b->cap = nc;
    }
}

static char *sb_take(sbuf *b) {
    if (b->oom) { free(b->s); return NULL; }
    if (!b->s) return sv_strdup("");
    return b->s;
}

static const char *SPLITS[] = {"train", "val", "test"};
static const char *KINDS[] = {"audio", "visual", "audio_visual", "gpt_av"};

/* number or "n/a" (NaN: a task without queries) */
static void num(sbuf *b, const char *fmt, double v) {
    if (isnan(v)) sb_printf(b, "n/a");
    else sb_printf(b, fmt, v);
}

static cJSON *json_task(const slava_task_metrics *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", t->name);
    cJSON_AddStringToObject(o, "direction", t->reverse ? "media_to_query" : "query_to_media");
    cJSON_AddNumberToObject(o, "queries", t->n_queries);
    cJSON_AddNumberToObject(o, "gallery", t->n_gallery);
    static const char *hk[] = {"hit@1", "hit@5", "hit@10"}, *rk[] = {"recall@1", "recall@5", "recall@10"};
    for (int k = 0; k < 3; k++) cJSON_AddNumberToObject(o, hk[k], t->hit[k]);
    for (int k = 0; k < 3; k++) cJSON_AddNumberToObject(o, rk[k], t->recall[k]);
    cJSON_AddNumberToObject(o, "map@10", t->map10);
    cJSON_AddNumberToObject(o, "ndcg@10", t->ndcg10);
    cJSON_AddNumberToObject(o, "median_rank", t->median_rank);
    cJSON_AddNumberToObject(o, "mean_rank", t->mean_rank);
    return o;
}

static cJSON *json_report(const slava_eval_report *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "split", r->split >= 0 && r->split < 3 ? SPLITS[r->split] : "?");
    cJSON_AddNumberToObject(o, "clips", r->n_clips);
    cJSON_AddNumberToObject(o, "clips_without_audio", r->n_without_audio);
    cJSON *c = cJSON_AddObjectToObject(o, "captions"), *mg = cJSON_AddObjectToObject(o, "duplicates_merged");
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        cJSON_AddNumberToObject(c, KINDS[k], r->captions[k]);
        cJSON_AddNumberToObject(mg, KINDS[k], r->merged[k]);
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "tasks");
    for (int t = 0; t < SLAVA_EVAL_TASKS; t++) cJSON_AddItemToArray(arr, json_task(&r->task[t]));
    return o;
}

static char *json_text(cJSON *o) {
    char *s = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!s) return NULL;
    char *r = malloc(strlen(s) + 2);
    if (r) { strcpy(r, s); strcat(r, "\n"); }
    cJSON_free(s);
    return r;
}

char *slava_eval_format(const slava_eval_report *r, slava_format fmt) {
    if (fmt == SLAVA_FMT_JSON) return json_text(json_report(r));
    sbuf b = {0};
    const char *split = r->split >= 0 && r->split < 3 ? SPLITS[r->split] : "?";
    if (fmt == SLAVA_FMT_CSV) {
        sb_printf(&b, "split,task,direction,queries,gallery,hit@1,hit@5,hit@10,recall@1,recall@5,recall@10,"
                      "map@10,ndcg@10,median_rank,mean_rank\n");
        for (int t = 0; t < SLAVA_EVAL_TASKS; t++) {
            const slava_task_metrics *m = &r->task[t];
            sb_printf(&b, "%s,\"%s\",%s,%d,%d", split, m->name, m->reverse ? "media_to_query" : "query_to_media",
                      m->n_queries, m->n_gallery);
            double v[10] = {m->hit[0], m->hit[1], m->hit[2], m->recall[0], m->recall[1], m->recall[2],
                            m->map10, m->ndcg10, m->median_rank, m->mean_rank};
            for (int i = 0; i < 10; i++) { sb_printf(&b, ","); if (!isnan(v[i])) sb_printf(&b, "%.6g", v[i]); }
            sb_printf(&b, "\n");
        }
        return sb_take(&b);
    }
    sb_printf(&b, "Retrieval on the %s split: %d clips, %d without audio (left out of audio tasks).\n"
                  "Caption queries: %d audio, %d visual, %d audio-visual, %d GPT-AV; duplicates merged: "
                  "%d, %d, %d, %d.\n\n",
              split, r->n_clips, r->n_without_audio, r->captions[0], r->captions[1], r->captions[2],
              r->captions[3], r->merged[0], r->merged[1], r->merged[2], r->merged[3]);
    for (int rv = 0; rv < 2; rv++) {
        if (!rv)
            sb_printf(&b, "| # | task (retrieve <- query) | queries | gallery | R@1 | R@5 | R@10 | mAP@10 | nDCG@10 | MdR | MnR |\n"
                          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        else
            sb_printf(&b, "\nReverse directions (media -> every caption of its clip; hit@K: any relevant in the "
                          "top K, recall@K: share of the relevant found):\n\n"
                          "| # | task (query -> retrieve) | queries | gallery | hit@1 | hit@5 | hit@10 | recall@1 | recall@5 | recall@10 | mAP@10 | nDCG@10 | MdR | MnR |\n"
                          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (int t = 0; t < 7; t++) {
            const slava_task_metrics *m = &r->task[t + 7 * rv];
            sb_printf(&b, "| %d%s | %s | %d | %d |", t + 1, rv ? "r" : "", m->name, m->n_queries, m->n_gallery);
            for (int k = 0; k < 3; k++) { sb_printf(&b, " "); num(&b, "%.1f", 100 * m->hit[k]); sb_printf(&b, " |"); }
            if (rv)
                for (int k = 0; k < 3; k++) { sb_printf(&b, " "); num(&b, "%.1f", 100 * m->recall[k]); sb_printf(&b, " |"); }
            sb_printf(&b, " "); num(&b, "%.1f", 100 * m->map10);
            sb_printf(&b, " | "); num(&b, "%.1f", 100 * m->ndcg10);
            sb_printf(&b, " | "); num(&b, "%g", m->median_rank);
            sb_printf(&b, " | "); num(&b, "%.1f", m->mean_rank);
            sb_printf(&b, " |\n");
        }
    }
    sb_printf(&b, "\nR@K, hit@K, recall@K, mAP@10 and nDCG@10 in %%; MdR / MnR: median / mean rank of the first "
                  "relevant item. Chance R@10 is 10/gallery.\n");
    return sb_take(&b);
}

/* mean and sample standard deviation (n-1; NaN for one seed: there is no spread to show) */
static void mean_std(const double *x, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : NAN;
}

static const char *T2_HEAD[8] = {"V<-Vcap", "V<-Acap", "V<-AVcap", "A<-Acap", "A<-Vcap", "A<-AVcap", "V<-A", "mean"};

const char *sv_table2_column(int t) { return t >= 0 && t < 8 ? T2_HEAD[t] : "?"; }

void sv_table2_cells(const slava_eval_report *reps, int n_seeds, unsigned task_mask, double mean[8], double sd[8]) {
    double x[256];
    int n = n_seeds < 256 ? n_seeds : 256;
    for (int t = 0; t < 8; t++) {
        if (t < 7 && !(task_mask >> t & 1)) { mean[t] = sd[t] = NAN; continue; }
        for (int s = 0; s < n; s++) {
            if (t < 7) { x[s] = 100 * reps[s].task[t].hit[2]; continue; }
            double a = 0;
            int k = 0;
            for (int u = 0; u < 7; u++)
                if (task_mask >> u & 1) { a += reps[s].task[u].hit[2]; k++; }
            x[s] = k ? 100 * a / k : NAN;
        }
        mean_std(x, n, &mean[t], &sd[t]);
    }
}

char *sv_table2_format(const char *const *recipes, int n_recipes, int n_seeds, const slava_eval_report *reports,
                       const slava_eval_report *untrained, const unsigned *task_masks, slava_format fmt) {
    double mu[8], sd[8];
    if (fmt == SLAVA_FMT_JSON) {
        cJSON *o = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(o, "recipes");
        cJSON_AddNumberToObject(o, "seeds", n_seeds);
        cJSON_AddStringToObject(o, "metric", "R@10 (%), mean and sample std over seeds (std null for one seed; "
                                             "null cells: tasks the recipe does not train; mean over the others)");
        for (int r = 0; r < n_recipes; r++) {
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "recipe", recipes[r]);
            sv_table2_cells(reports + (size_t)r * n_seeds, n_seeds, task_masks[r], mu, sd);
            for (int t = 0; t < 8; t++) {
                cJSON *cell = cJSON_AddObjectToObject(row, T2_HEAD[t]);
                if (isfinite(mu[t])) cJSON_AddNumberToObject(cell, "mean", mu[t]);
                else cJSON_AddNullToObject(cell, "mean");
                if (isfinite(sd[t])) cJSON_AddNumberToObject(cell, "std", sd[t]);
                else cJSON_AddNullToObject(cell, "std");
            }
            cJSON *arr = cJSON_AddArrayToObject(row, "reports");
            for (int s = 0; s < n_seeds; s++) cJSON_AddItemToArray(arr, json_report(&reports[(size_t)r * n_seeds + s]));
            cJSON_AddItemToArray(rows, row);
        }
        if (untrained) cJSON_AddItemToObject(o, "untrained", json_report(untrained));
        return json_text(o);
    }
    sbuf b = {0};
    int csv = fmt == SLAVA_FMT_CSV;
    if (csv) {
        sb_printf(&b, "recipe");
        for (int t = 0; t < 8; t++) sb_printf(&b, ",%s_mean,%s_std", T2_HEAD[t], T2_HEAD[t]);
        sb_printf(&b, "\n");
    } else {
        sb_printf(&b, "| recipe |");
        for (int t = 0; t < 8; t++) sb_printf(&b, " %s |", T2_HEAD[t]);
        sb_printf(&b, "\n|---|");
        for (int t = 0; t < 8; t++) sb_printf(&b, "---:|");
        sb_printf(&b, "\n");
    }
    for (int r = -1; r < n_recipes; r++) {
        if (r < 0 && !untrained) continue;
        sv_table2_cells(r < 0 ? untrained : reports + (size_t)r * n_seeds, r < 0 ? 1 : n_seeds,
                        r < 0 ? SV_TASKS_FORWARD : task_masks[r], mu, sd);
        sb_printf(&b, csv ? "%s" : "| %s |", r < 0 ? "untrained heads" : recipes[r]);
        for (int t = 0; t < 8; t++) {
            if (csv) {   /* empty cells: not trained / no spread */
                sb_printf(&b, ",");
                if (isfinite(mu[t])) sb_printf(&b, "%.2f", mu[t]);
                sb_printf(&b, ",");
                if (isfinite(sd[t])) sb_printf(&b, "%.2f", sd[t]);
            } else if (!isfinite(mu[t])) {
                sb_printf(&b, " – |");                  /* a task the recipe never trains for */
            } else if (!isfinite(sd[t])) {
                sb_printf(&b, " %.1f |", mu[t]);        /* one seed: no "± 0.0" */
            } else {
                sb_printf(&b, " %.1f ± %.1f |", mu[t], sd[t]);
            }
        }
        sb_printf(&b, "\n");
    }
    if (!csv) {
        int partial = 0;
        for (int r = 0; r < n_recipes; r++) partial |= (task_masks[r] & SV_TASKS_FORWARD) != SV_TASKS_FORWARD;
        if (partial)
            sb_printf(&b, "\n–: a task whose heads the recipe does not train (e.g. av-only trains no text head); its mean "
                          "is over the tasks it trains.\n");
    }
    return sb_take(&b);
}
