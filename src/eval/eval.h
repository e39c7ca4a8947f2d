/*
 * eval.h — retrieval evaluation (DESIGN.md §2) over embeddings: it takes L2-normalised
 * embeddings and the relevance of one split, and knows nothing of heads or encoders. Whoever
 * owns a model turns a split into embeddings (src/align/project.c projects it through heads);
 * `slava eval` and the validation step of training both end here.
 *
 *   sv_evalset:  one split's relevance, prepared once: clips in clip-id order (the tie-break
 *                order), which clips have visual / audio features, and the captions kept per kind
 *                (duplicates within a clip merged) with the clip each belongs to.
 *   sv_evalemb:  the L2-normalised embeddings of an sv_evalset's items, in its order.
 *   sv_eval_tasks: the 7 tasks and their reverses from the embeddings.
 *   sv_retrieval_metrics: the metric core on a score matrix (tested on hand-made matrices).
 *
 * src/eval/ may include base/ and nn/ (the one GEMM); never align/ (tests/test_layout.sh).
 */
#ifndef SLAVA_EVAL_H
#define SLAVA_EVAL_H

#include "base/base.h"

typedef struct {
    int split, n;
    const slava_clip **clip;        /* [n] borrowed from the dataset, sorted by id */
    int d_v, d_a, d_t;              /* the dataset's feature sizes */
    unsigned char *has_v, *has_a;   /* [n] the clip has frames / audio chunks */
    int n_noaudio;
    int ncap[SLAVA_CAP_KINDS];      /* captions kept per kind (all clips) */
    int *cap_owner[SLAVA_CAP_KINDS];/* [ncap] row of the owning clip, non-decreasing */
    int *cap_index[SLAVA_CAP_KINDS];/* [ncap] the caption's index in its clip's list of kind k */
    int merged[SLAVA_CAP_KINDS];    /* duplicates merged */
} sv_evalset;

typedef struct {
    int P;
    float *v, *a;                   /* [n, P] each (rows of clips without audio are zero) */
    float *cap[SLAVA_CAP_KINDS];    /* [ncap[k], P]; GPT-AV rows are not computed (no task uses them) */
} sv_evalemb;

/* Prepare split `split` of ds. No clip in the split → SLAVA_E_NOTFOUND. */
slava_status sv_evalset_build(slava_ctx *ctx, const slava_dataset *ds, int split, sv_evalset *out);
void sv_evalset_free(sv_evalset *e);
/* Room for the embeddings of e at size P (v, a and cap[k] zeroed; released with
 * sv_evalemb_free, also after a failure). */
slava_status sv_evalemb_alloc(slava_ctx *ctx, const sv_evalset *e, int P, sv_evalemb *out);
void sv_evalemb_free(sv_evalemb *m);

/* Task i (0..6) is task i+1 of DESIGN.md §2, task 7+i its reverse. task_mask bit i selects
 * task i (others are left with n_queries = 0 and NaN metrics). */
#define SV_TASKS_ALL 0x3FFFu
#define SV_TASKS_FORWARD 0x7Fu
slava_status sv_eval_tasks(slava_ctx *ctx, const sv_evalset *e, const sv_evalemb *m, unsigned task_mask,
                           slava_eval_report *out);
/* Mean R@10 (hit@10) over the forward tasks in mask (bits 0..6) that have queries. */
double sv_mean_r10(const slava_eval_report *r, unsigned forward_mask);

/* Table II cells (R@10 in %) of one row: reps[0 .. n_seeds) → mean / sample std per column
 * (0..6 the tasks, 7 the mean over the tasks in task_mask); NaN for tasks outside task_mask and
 * for the std of a single seed. */
void sv_table2_cells(const slava_eval_report *reps, int n_seeds, unsigned task_mask, double mean[8], double sd[8]);
/* Column heading of Table II column t (0..7: "V<-Vcap" ... "V<-A", "mean"). */
const char *sv_table2_column(int t);
/* Table II text (slava_table2_format), task_masks[r] = the forward tasks recipe r trains. */
char *sv_table2_format(const char *const *recipes, int n_recipes, int n_seeds, const slava_eval_report *reports,
                       const slava_eval_report *untrained, const unsigned *task_masks, slava_format fmt);

/* Metric core. S [nq, ng] scores (higher = better). Query q's relevant gallery items are
 * rel_idx[rel_off[q] .. rel_off[q+1]) (at least one). Ties rank the lower gallery index first;
 * non-finite scores (NaN, inf) rank below every finite score (among themselves by index).
 * Fills everything of *m except name / reverse. */
void sv_retrieval_metrics(const float *S, int nq, int ng, const int *rel_off, const int *rel_idx,
                          slava_task_metrics *m);

#endif
