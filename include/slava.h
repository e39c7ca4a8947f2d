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

/* ===================================================================== eval (retrieval metrics) */

/* ===================================================================== data (AVCaps, synthetic) */

/* Split names: "train", "val", "test" (also accepted when parsing: "validation", "valid",
 * "dev"). slava_split_parse returns SLAVA_E_ARG for anything else. */
const char  *slava_split_name(int split);
slava_status slava_split_parse(slava_ctx *ctx, const char *name, int *split);

/* A video collection in AVCaps' layout (DESIGN.md §3), before any encoding: clip ids, splits,
 * the video file found for each clip, and the captions of every kind as written in the file
 * (line breaks kept, duplicates kept: deduplication is the evaluation's job). */
typedef struct {
    char  *id;                          /* clip id = JSON key = video file stem */
    int    split;                       /* slava_split */
    char  *video;                       /* path of the clip's video file; NULL when not found */
    char  *problem;                     /* why the clip has no usable video (missing, several
                                           files with its stem); NULL when fine */
    int    has_kind[SLAVA_CAP_KINDS];   /* 1 when the list was in the file (maybe empty) */
    int    n_cap[SLAVA_CAP_KINDS];
    char **cap[SLAVA_CAP_KINDS];        /* [n_cap[k]] UTF-8 captions (NULL when n_cap[k] = 0) */
} slava_media_clip;

typedef struct {
    int n;                              /* clips */
    slava_media_clip *clips;            /* in reading order: files as added, keys in file order */
    char *source[SLAVA_SPLITS];         /* captions file read for each split (NULL if none) */
    /* Filled by slava_collection_find_videos: */
    int n_videos;                       /* video files found under the data folder */
    int n_missing;                      /* clips with no video file */
    int n_ambiguous;                    /* clips whose stem names several video files */
    int n_duplicate_stems;              /* stems found more than once (used by a clip or not) */
    int n_unlisted;                     /* video files whose stem is no clip's id */
} slava_collection;

/* Read one captions file (one JSON object: clip id → {"audio_captions": [...],
 * "visual_captions": [...], "audio_visual_captions": [...], "GPT_AV_captions": [...]}) and
 * append its clips to c with the given split. Missing lists (or null) are allowed; unknown keys
 * are ignored. Errors (one line naming the file, and the clip and key where there is one):
 * unreadable file, malformed JSON (with line number), a value of the wrong type, a caption that
 * is not valid UTF-8, a clip id that
 * is empty / contains '/' / appears twice in the file / was already read from another file.
 * On error c is left as it was before the call. */
slava_status slava_collection_add_captions(slava_ctx *ctx, slava_collection *c, const char *path, int split);
/* Read DIR/{train,val,test}_captions.json. Splits whose file is absent are skipped with an info
 * log line; none present → SLAVA_E_NOTFOUND naming DIR. */
slava_status slava_collection_read_dir(slava_ctx *ctx, slava_collection *c, const char *dir);
/* Scan `dir` recursively once (following symbolic links, skipping names that start with '.'),
 * index every video file (.mp4 .m4v .mov .mkv .webm .avi, any case) by stem, and set each clip's
 * `video` (or `problem`, for a missing or ambiguous stem) and the counters above. Each
 * duplicated stem is also reported through the ctx log as a warning. Errors: dir unreadable. */
slava_status slava_collection_find_videos(slava_ctx *ctx, slava_collection *c, const char *dir);
/* The usual entry point: captions_file == NULL → read_dir(data_dir); otherwise that one file
 * with `split`. Then find_videos(data_dir, or the captions file's folder when data_dir is NULL).
 * *out must be zeroed (or freed) beforehand. */
slava_status slava_collection_open(slava_ctx *ctx, const char *data_dir, const char *captions_file,
                                   int split, slava_collection *out);
void slava_collection_free(slava_collection *c);

/* Synthetic AVCaps-format collection (the no-download demo and the end-to-end tests): real mp4
 * files (H.264 via libx264 when the FFmpeg build has it, else MPEG-4 part 2; AAC audio) showing
 * a moving coloured shape on a background, with a sound made from a per-clip recipe, a share of
 * clips without an audio track, and {train,val,test}_captions.json whose four caption kinds are
 * generated from each clip's known content. Layout written under out_dir:
 *   {train,val,test}_captions.json, {train,val,test}_videos/[more/]ID.mp4, synth_manifest.json
 * (the manifest lists every clip's ground truth: file, seconds, frames, audio, content).
 * Everything is a function of the options: the same options give the same files. */
typedef struct {
    const char *out_dir;
    int    clips[SLAVA_SPLITS];  /* clips per split (default 96 / 32 / 32) */
    double min_seconds;          /* clip lengths uniform in [min, max] (default 4 .. 20) */
    double max_seconds;
    uint64_t seed;               /* default 0 */
    int    width, height;        /* default 160 x 120 (even numbers) */
    int    fps;                  /* video frame rate (default 12) */
    double no_audio_share;       /* share of clips without an audio track (default 0.15) */
    int    captions_per_kind;    /* human captions per kind; 0 = 3..5 at random (default 0) */
    const char *video_codec;     /* NULL or "auto": libx264 when FFmpeg has it, else "mpeg4";
                                    "mpeg4" forces MPEG-4 part 2 */
    int    force;                /* 0: refuse a non-empty out_dir */
} slava_synth_opts;

/* What was written (filled by slava_synth_write when not NULL). */
typedef struct {
    int    clips[SLAVA_SPLITS];
    int    no_audio;             /* clips without an audio track */
    int    captions;             /* captions of all kinds, all splits */
    double seconds;              /* total length */
    char   video_codec[16];      /* "libx264" or "mpeg4" */
} slava_synth_summary;

void slava_synth_defaults(slava_synth_opts *o);
/* Write the collection; clips are written in parallel (slava_get_threads()), progress is
 * reported as stage "synth". On failure no partial mp4 is left behind. */
slava_status slava_synth_write(slava_ctx *ctx, const slava_synth_opts *o, slava_synth_summary *sum);

#ifdef __cplusplus
}
#endif
#endif /* SLAVA_H */
