/*
 * slava.h — the public C API of libslava (Single-stage Language Audio Visual Alignment).
 *
 * Conventions for every function here:
 *   - Functions return a slava_status; SLAVA_OK (0) is success. On failure a one-line message
 *     naming the file and the problem is kept in the slava_ctx and read with slava_ctx_error().
 *   - Library functions never print and never exit; progress goes through the ctx callback.
 *   - Matrices are row-major float32. "[N, D]" means N rows of D floats. Linear weights are
 *     stored Hugging Face style, [out, in].
 *   - Ownership: an object returned through an out-pointer (e.g. `slava_x **out`) belongs to the
 *     caller and is released with the matching *_free(). Pointers passed in are borrowed.
 *   - The only process-wide mutable state is the thread count (slava_set_threads).
 */
#ifndef SLAVA_H
#define SLAVA_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== base (status, ctx) */

typedef enum {
    SLAVA_OK = 0,
    SLAVA_E_IO,          /* a file could not be opened / read / written */
    SLAVA_E_FORMAT,      /* a file's content is malformed */
    SLAVA_E_SHAPE,       /* a tensor's shape or dtype disagrees with the config */
    SLAVA_E_ARG,         /* bad argument from the caller */
    SLAVA_E_NOMEM,       /* allocation failed */
    SLAVA_E_UNSUPPORTED, /* valid but not supported (codec, dtype, size limit) */
    SLAVA_E_NOAUDIO,     /* media file has no audio stream (not an error for video clips) */
    SLAVA_E_NOTFOUND,    /* a named item (tensor, clip, split) does not exist */
    SLAVA_E_STORE,       /* feature store (SQLite) failure */
    SLAVA_E_INTERRUPTED, /* cancelled through the progress callback */
    SLAVA_E_INTERNAL
} slava_status;

/* Progress callback: `stage` names the work ("encode", "train"), done/total in items
 * (total may be 0 when unknown). Return non-zero to request cancellation. */
typedef int (*slava_progress_fn)(void *user, const char *stage, int64_t done, int64_t total,
                                 const char *detail);
/* Log callback for warnings / info lines (no trailing newline). level: 0 info, 1 warning. */
typedef void (*slava_log_fn)(void *user, int level, const char *line);

typedef struct slava_ctx slava_ctx;

slava_ctx  *slava_ctx_new(void);
void        slava_ctx_free(slava_ctx *ctx);
const char *slava_ctx_error(const slava_ctx *ctx);   /* "" when no error */
void        slava_ctx_clear_error(slava_ctx *ctx);
void        slava_ctx_set_progress(slava_ctx *ctx, slava_progress_fn fn, void *user);
void        slava_ctx_set_log(slava_ctx *ctx, slava_log_fn fn, void *user);
const char *slava_status_name(slava_status s);

/* Threads used by BLAS and OpenMP (process-wide). n <= 0: the cores available. */
void slava_set_threads(int n);
int  slava_get_threads(void);

/* Version and backends: fills `buf` with a multi-line report (version, BLAS library and kernel,
 * threads, FFmpeg / SQLite / FFTW versions). */
void        slava_version_report(char *buf, size_t cap);
const char *slava_version(void);
const char *slava_blas_kernel(void);   /* e.g. "Cooperlake" (OpenBLAS core name) */

/* ===================================================================== checkpoints (io) */
/* See src/io/safetensors.h and src/io/config.h for the internal reader; the public entry
 * points for models are in the encoder sections below. */

/* Write a random-weight checkpoint folder (model.safetensors + config.json [+ tokenizer files
 * for CLIP]) in the exact Hugging Face layout, sizes from `config_json` (a config.json path). */
slava_status slava_clip_init_random(slava_ctx *ctx, const char *config_json, uint64_t seed, const char *out_dir);
slava_status slava_clap_init_random(slava_ctx *ctx, const char *config_json, uint64_t seed, const char *out_dir);

/* ===================================================================== text (tokenizer, CLIP text) */

/* ===================================================================== vision (frames, CLIP image) */

/* ===================================================================== audio (chunks, mel, HTSAT) */

/* ===================================================================== features (dataset in memory) */

/* Caption kinds of AVCaps, in this fixed order. */
typedef enum {
    SLAVA_CAP_AUDIO = 0,     /* audio_captions */
    SLAVA_CAP_VISUAL = 1,    /* visual_captions */
    SLAVA_CAP_AV = 2,        /* audio_visual_captions (human) */
    SLAVA_CAP_GPT = 3,       /* GPT_AV_captions */
    SLAVA_CAP_KINDS = 4
} slava_caption_kind;

typedef enum { SLAVA_SPLIT_TRAIN = 0, SLAVA_SPLIT_VAL = 1, SLAVA_SPLIT_TEST = 2, SLAVA_SPLITS = 3 } slava_split;

/* One clip's cached encoder features. All arrays owned by the enclosing slava_dataset. */
typedef struct {
    char  *id;                       /* clip id = mp4 stem */
    int    split;                    /* slava_split */
    int    t_v;                      /* frames; 0 = no visual features */
    float *visual;                   /* [t_v, d_v] */
    int    t_a;                      /* audio chunks; 0 = clip has no audio track */
    float *audio;                    /* [t_a, d_a] */
    int    n_cap[SLAVA_CAP_KINDS];   /* captions per kind */
    float *cap[SLAVA_CAP_KINDS];     /* [n_cap[k], d_t] */
    char **cap_text[SLAVA_CAP_KINDS];/* [n_cap[k]] caption strings (may be NULL if unknown) */
} slava_clip;

typedef struct {
    int d_v, d_a, d_t;               /* encoder output sizes (pooled, before any head) */
    int n;                           /* clips */
    slava_clip *clips;
    char *encoder_id[3];             /* identity of visual / audio / text encoders (may be NULL) */
} slava_dataset;

void slava_dataset_free(slava_dataset *ds);

/* ===================================================================== store (SQLite) */

/* Feature store: one SQLite file (WAL) holding clips, captions and encoder features.
 * Writers group each clip's rows in one transaction; a rerun skips what is stored. */
typedef struct slava_store slava_store;
/* create != 0: create the file/schema when missing; else the file must exist. */
slava_status slava_store_open(slava_ctx *ctx, const char *path, int create, slava_store **out);
void         slava_store_close(slava_store *s);
/* Store every clip, caption and feature of ds (features tagged with ds->encoder_id[m], which
 * must be set); rows already stored are skipped. */
slava_status slava_store_put_dataset(slava_ctx *ctx, slava_store *s, const slava_dataset *ds);
/* Load the clips of the splits in split_mask (bit 1<<slava_split; 0 = all) with their
 * features into *out (free with slava_dataset_free). enc[m] (m = slava_modality) chooses the
 * encoder when a modality has features of several encoders; NULL entries (or enc == NULL) mean
 * "the only one stored" (several → error naming them). A split with no clips → SLAVA_E_NOTFOUND.
 * Clips without audio have t_a = 0; clips recorded with an error are left out. */
slava_status slava_store_load(slava_ctx *ctx, slava_store *s, unsigned split_mask,
                              const char *const *enc, slava_dataset *out);

/* ===================================================================== align (heads, loss, train) */

typedef enum { SLAVA_MOD_VISUAL = 0, SLAVA_MOD_AUDIO = 1, SLAVA_MOD_TEXT = 2, SLAVA_MODS = 3 } slava_modality;

/* Trained projection heads (safetensors with Hugging Face names, DESIGN.md §5). */
typedef struct slava_heads slava_heads;
slava_status slava_heads_load(slava_ctx *ctx, const char *path, slava_heads **out);
void         slava_heads_free(slava_heads *h);
/* x [T, D] encoder features of one item of modality m → out[*P] = mean over T of head(x_t)
 * (not normalised). D must match the head's input size. out must hold slava_heads_dim(h). */
slava_status slava_heads_project(slava_ctx *ctx, const slava_heads *h, slava_modality m,
                                 const float *x, int T, int D, float *out);
int          slava_heads_dim(const slava_heads *h);

/* Recipes of DESIGN.md §1, in Table II order. *n receives the count. */
const char *const *slava_recipes(int *n);

/* Training options (slava_train_opts_default fills DESIGN.md §1's defaults). */
typedef struct {
    const char *recipe;      /* one of slava_recipes() */
    int    epochs;           /* per stage (default 30) */
    int    batch;            /* clips per batch (default 64) */
    double lr;               /* AdamW learning rate (1e-4) */
    double wd;               /* AdamW decoupled weight decay (0.01) */
    uint64_t seed;           /* head init (when no checkpoint), batch order, caption draws (0) */
    double temperature;      /* > 0: fixed logit scale 1/T; 0: learnable per pair (init ln 100) */
    int    audio_linear;     /* 1: single linear audio head instead of CLAP's MLP */
    const char *clip_dir;    /* CLIP folder: visual/text heads start from its projections (or NULL) */
    const char *clap_dir;    /* CLAP folder: audio head starts from its projection (or NULL) */
} slava_train_opts;
void slava_train_opts_default(slava_train_opts *o);

/* What training did. Stage s (0 or 1) kept epoch best_epoch[s] (1-based) with validation score
 * best_val[s] = mean R@10 over the validation tasks the stage's modalities allow. */
typedef struct {
    int    stages;
    int    best_epoch[2];
    double best_val[2];
    double init_val;         /* the same score for the untrained heads */
    double seconds;
    char   clip_sha256[65], clap_sha256[65];   /* "" when no checkpoint was used */
} slava_train_info;

/* Untrained heads for ds's feature sizes: checkpoint projections when o->clip_dir / o->clap_dir
 * are set, the seed otherwise. */
slava_status slava_heads_init(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o,
                              slava_heads **out);
/* Train o->recipe on ds's train split, choosing epochs on its val split. *out: the kept heads. */
slava_status slava_train(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o,
                         slava_heads **out, slava_train_info *info);
/* Save heads (Hugging Face names) with __metadata__: recipe, epochs, best epoch, validation
 * score, hyper-parameters, encoder sha256 / ids. o / info may be NULL (untrained heads). */
slava_status slava_heads_save(slava_ctx *ctx, const slava_heads *h, const char *path,
                              const slava_train_opts *o, const slava_train_info *info,
                              const slava_dataset *ds);

/* ===================================================================== eval (retrieval metrics) */

/* Metrics of one retrieval task (DESIGN.md §2). K = 1, 5, 10 in hit[] / recall[]. */
typedef struct {
    char   name[64];         /* e.g. "visual <- visual captions" */
    int    reverse;          /* 0: the seven tasks (query → clip); 1: their reverse directions */
    int    n_queries, n_gallery;
    double hit[3];           /* share of queries with any relevant item in the top K (= R@K) */
    double recall[3];        /* mean share of a query's relevant items found in the top K */
    double map10, ndcg10;    /* mAP@10 (trec_eval map_cut_10), nDCG@10 (binary relevance) */
    double median_rank, mean_rank;   /* of the first relevant item, 1-based */
} slava_task_metrics;

#define SLAVA_EVAL_TASKS 14  /* tasks 1..7 of DESIGN.md §2, then the same seven reversed */

typedef struct {
    int split;
    int n_clips;             /* clips of the split */
    int n_without_audio;     /* left out of audio tasks */
    int captions[SLAVA_CAP_KINDS];   /* caption queries per kind after merging duplicates */
    int merged[SLAVA_CAP_KINDS];     /* duplicate captions merged per kind */
    slava_task_metrics task[SLAVA_EVAL_TASKS];
} slava_eval_report;

/* Evaluate heads on one split of ds (every caption a query, ties by clip id). */
slava_status slava_eval(slava_ctx *ctx, const slava_dataset *ds, int split, const slava_heads *h,
                        slava_eval_report *out);

typedef enum { SLAVA_FMT_MD = 0, SLAVA_FMT_CSV = 1, SLAVA_FMT_JSON = 2 } slava_format;
/* A report as Markdown / CSV / JSON text (malloc'd, caller frees; NULL when out of memory). */
char *slava_eval_format(const slava_eval_report *r, slava_format fmt);

/* Recipes × seeds: trains each (recipe, seed) on the train split, evaluates on `split`.
 * reports[r * n_seeds + s] receives the result; untrained (may be NULL) receives the report of
 * the untrained heads of the first seed. */
slava_status slava_experiment(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *base,
                              const char *const *recipes, int n_recipes, const uint64_t *seeds,
                              int n_seeds, int split, slava_eval_report *reports,
                              slava_eval_report *untrained);
/* Table II: one row per recipe, R@10 (%) of the seven tasks as mean ± std over seeds, and the
 * mean of the seven. untrained may be NULL. malloc'd text, caller frees. */
char *slava_table2_format(const char *const *recipes, int n_recipes, int n_seeds,
                          const slava_eval_report *reports, const slava_eval_report *untrained,
                          slava_format fmt);

/* ===================================================================== data (AVCaps, synthetic) */

/* Synthetic AVCaps-shaped feature set from the latent model of docs/spine.md: n_clips[split]
 * clips per split, up to 5 human captions of each kind and 3 GPT-AV captions per clip,
 * some clips without audio; feature sizes d_v, d_a, d_t. Same seed → same bytes. */
typedef struct {
    int n_clips[SLAVA_SPLITS];   /* 1661 / 200 / 200 like AVCaps */
    int d_v, d_a, d_t;           /* 768 / 768 / 512 like the real encoders */
    int max_frames, max_chunks;  /* per clip (frames at 1 fps of short clips, 10 s chunks) */
    double no_audio_share;       /* clips without an audio track */
    int kinds_mask[SLAVA_SPLITS];/* per split, bit k: generate captions of kind k (all: 0xF) */
    uint64_t seed;
} slava_synth_opts;
void slava_synth_opts_default(slava_synth_opts *o);
slava_status slava_synth_features(slava_ctx *ctx, const slava_synth_opts *o, slava_dataset *out);

#ifdef __cplusplus
}
#endif
#endif /* SLAVA_H */
