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

/* CLIP BPE tokenizer (openai simple_tokenizer semantics) from a folder's vocab.json + merges.txt.
 * Not thread-safe (per-word cache): use one tokenizer per thread. */
typedef struct slava_tokenizer slava_tokenizer;
slava_status slava_tokenizer_load(slava_ctx *ctx, const char *dir, slava_tokenizer **out);
void         slava_tokenizer_free(slava_tokenizer *t);
int          slava_tokenizer_bos(const slava_tokenizer *t);   /* id of <|startoftext|> */
int          slava_tokenizer_eos(const slava_tokenizer *t);   /* id of <|endoftext|> */
/* Token ids of `len` bytes of text (any bytes: invalid UTF-8 becomes U+FFFD, NUL and other
 * control characters are dropped by the clean-up): [bos] + BPE ids + [eos]; when longer than
 * context_len it is cut to context_len with eos kept last (clip.tokenize(truncate=True)).
 * ids must hold context_len (>= 2) ints; *n_ids = ids written (no padding). n_bpe (may be NULL):
 * number of BPE ids before truncation (computing it tokenizes the whole text). */
slava_status slava_tokenize(slava_ctx *ctx, slava_tokenizer *t, const char *text, size_t len, int context_len,
                            int *ids, int *n_ids, int *n_bpe);

/* CLIP text tower (+ text_projection) from a Hugging Face CLIP folder (model.safetensors or
 * sharded, config.json, vocab.json, merges.txt). F16/BF16 weights are converted at load. */
typedef struct slava_clip_text slava_clip_text;
slava_status slava_clip_text_load(slava_ctx *ctx, const char *dir, slava_clip_text **out);
void         slava_clip_text_free(slava_clip_text *m);
/* D = hidden size (pooled), P = projection size, L = context length (max_position_embeddings). */
void         slava_clip_text_dims(const slava_clip_text *m, int *D, int *P, int *L);
slava_tokenizer *slava_clip_text_tokenizer(slava_clip_text *m);   /* borrowed */
/* n captions (NUL-terminated UTF-8) → pooled [n, D] (final-LN hidden state at the first
 * end-of-text token) and projected [n, P] (text_projection(pooled), not normalised); either
 * output may be NULL. Captions are batched; each is computed only up to its end-of-text token. */
slava_status slava_clip_text_encode(slava_ctx *ctx, slava_clip_text *m, int n, const char *const *texts,
                                    float *pooled, float *projected);
/* Same from token ids: caption i is ids[i*stride .. i*stride + lens[i]), lens[i] <= L; it must
 * contain the end-of-text id (pooling is at its first occurrence, later ids are ignored). */
slava_status slava_clip_text_encode_ids(slava_ctx *ctx, slava_clip_text *m, int n, const int *ids, int stride,
                                        const int *lens, float *pooled, float *projected);

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

#ifdef __cplusplus
}
#endif
#endif /* SLAVA_H */
