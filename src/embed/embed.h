/*
 * embed.h — inside the embedder (src/embed/): the loaded towers and heads, the encoder
 * identities, the batch-level tower calls the encode pipeline (src/pipeline/) runs its own
 * batches through, and the pieces the slava_embed_* functions share.
 *
 * src/embed/ is the one place that calls the towers (slava_clip_vision_encode,
 * slava_clip_text_encode, slava_clap_audio_encode); it may include base/, io/, nn/, vision/,
 * text/, audio/ and align/ (heads) headers, and nothing above it (pipeline/, cli/).
 *
 *   embedder.c   options, load (towers, heads, the heads' identity check), info, batch calls
 *   identity.c   encoder identities (sha256 of weights + config.json), slava_encoder_ids
 *   result.c     one input's rows → its slava_embedding (heads, means, normalisation, times)
 *   rows.c       frames / chunks of several inputs gathered into shared tower calls
 *   embed_text.c, embed_vision.c, embed_audio.c   slava_embed_texts / _images, _videos / _audios
 */
#ifndef SLAVA_EMBED_EMBED_H
#define SLAVA_EMBED_EMBED_H

#include "base/base.h"

struct slava_embedder {
    slava_embedder_opts o;       /* as loaded (defaults filled); the strings point at the copies below */
    char *clip_dir, *clap_dir, *heads_path;
    slava_clip_vision *vis;      /* CLIP image tower (NULL without clip_dir) */
    slava_clip_text *txt;        /* CLIP text tower (NULL without clip_dir) */
    slava_clap_audio *aud;       /* CLAP HTSAT (NULL without clap_dir) */
    slava_heads *heads;          /* trained heads, or NULL: the checkpoints' projections */
    int S;                       /* CLIP image side */
    int d[SLAVA_MODS];           /* pooled sizes per modality (0: not loaded) */
    int p_tower[SLAVA_MODS];     /* the checkpoints' projection sizes */
    char heads_sha[65];          /* "" without heads */
    /* identities, computed on first use (identity.c) */
    char clip_sha[65], clap_sha[65];
    char id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
};

/* ---- identities (identity.c) */
/* sha256 of a checkpoint folder's weight files + config.json (the identity's first part). */
slava_status sv_checkpoint_sha(slava_ctx *ctx, const char *dir, char sha[65]);
/* The identity of modality m's features from the checkpoint's sha: sha, "+bf16" for bf16
 * features, then "@<fps>fps" for visual features at fps != 1. */
void sv_encoder_id_format(const char *sha, int modality, double fps, slava_precision prec, char id[SLAVA_ENCODER_ID_LEN]);

/* ---- batch-level tower calls (embedder.c): n rows → pooled [n, d[m]] and projected
 * [n, p_tower[m]] (the checkpoint's projection, not normalised); either output may be NULL.
 * The tower must be loaded (else SLAVA_E_ARG). */
slava_status sv_embedder_frames(slava_ctx *ctx, slava_embedder *e, int n, const float *pixels, float *pooled,
                                float *projected);   /* pixels [n, 3, S, S] preprocessed */
slava_status sv_embedder_chunks(slava_ctx *ctx, slava_embedder *e, int n, const float *mel, float *pooled,
                                float *projected);   /* mel [n, SLAVA_MEL_FRAMES, SLAVA_MEL_BINS] */
slava_status sv_embedder_captions(slava_ctx *ctx, slava_embedder *e, int n, const char *const *texts,
                                  float *pooled, float *projected);
/* The CLIP preprocessing settings (NULL without CLIP) and CLAP's log-mel front end on one
 * waveform (slava_clap_features with crop_offset -1). Safe to call from a thread other than the
 * one running the towers. */
const slava_clip_preproc *sv_embedder_preproc(const slava_embedder *e);
slava_status sv_embedder_mel(slava_ctx *ctx, const slava_embedder *e, const float *wave, int64_t n, float *features);

/* ---- one call of slava_embed_* (result.c) */
typedef struct {
    slava_ctx *ctx;
    slava_embedder *e;
    int modality;
    int n, done;
    const char *const *names;    /* the inputs, for messages */
    slava_embedding *out;
    slava_progress_fn progress;  /* the caller's callback, held while the towers run (they report */
    void *progress_user;         /* their own stages, which are not the embedder's) */
    int cancelled;
} sv_embed_call;

/* Start a call: checks the arguments and that the modality's tower is loaded (else every
 * input gets the error and it is returned). */
slava_status sv_embed_begin(sv_embed_call *c, slava_ctx *ctx, slava_embedder *e, int modality, int n,
                            const char *const *names, slava_embedding *out);
/* Input i failed with status st; its message is the ctx's (which is then cleared). */
void sv_embed_fail(sv_embed_call *c, int i, slava_status st);
/* Input i is complete: pooled [T, D] rows (ownership passes to out[i]), the tower's projected
 * rows proj [T, p_tower] (used without heads; may be NULL with heads), `step` seconds per row
 * (row k covers [k·step, min((k+1)·step, duration)]; 0: every row covers 0..0). Computes the
 * row embeddings, projected and embedding; failures become input i's error. Reports progress. */
void sv_embed_complete(sv_embed_call *c, int i, float *pooled, const float *proj, int T, double step,
                       double duration);
/* A failure that stops the call: every input not yet done gets st and the ctx's message. */
void sv_embed_abort(sv_embed_call *c, slava_status st);
/* Finish: restores the progress callback; returns SLAVA_OK or the first failing input's status
 * (its message in the ctx). */
slava_status sv_embed_end(sv_embed_call *c);

/* ---- frames / chunks of several inputs in shared tower calls (rows.c) */
typedef slava_status (*sv_rows_fn)(slava_ctx *ctx, slava_embedder *e, int n, const float *in, float *pooled,
                                   float *projected);

typedef struct {
    int    T, cap, pending, failed, read_done;
    float *pooled;               /* [cap, D] */
    float *proj;                 /* [cap, P] (without heads) */
    double duration;
} sv_rows_item;

typedef struct {
    sv_embed_call *c;
    sv_rows_fn fn;
    int B;                       /* rows per tower call */
    size_t in_floats;            /* floats per input row */
    int D, P;                    /* pooled size; tower projection size (0 with heads: not computed) */
    double step;                 /* seconds per row (see sv_embed_complete) */
    float *in, *pooled, *proj;   /* [B, in_floats], [B, D], [B, P] */
    int *owner, *row;            /* [B] */
    int nb;
    sv_rows_item *items;         /* [c->n] */
} sv_rows;

slava_status sv_rows_init(sv_rows *r, sv_embed_call *c, sv_rows_fn fn, int B, size_t in_floats, double step);
void         sv_rows_free(sv_rows *r);
/* Room for the next row of input i: *dst (in_floats floats) to fill, then sv_rows_push. */
slava_status sv_rows_slot(sv_rows *r, int i, float **dst);
/* The row written at the slot joins the batch (which runs when full). Errors are fatal. */
slava_status sv_rows_push(sv_rows *r, int i);
/* Input i is read (duration in seconds, -1 unknown) or failed (status st, message in the ctx). */
void         sv_rows_read_done(sv_rows *r, int i, double duration);
void         sv_rows_fail(sv_rows *r, int i, slava_status st);
/* Run what is queued (the end of the inputs). Errors are fatal. */
slava_status sv_rows_flush(sv_rows *r);
/* Reads input i (not NULL) into r; returns its own failure (message in the ctx), or sets *fatal
 * when the whole call must stop; *duration: the input's seconds (-1 unknown). */
typedef slava_status (*sv_rows_read_fn)(sv_rows *r, int i, void *user, slava_status *fatal, double *duration);
/* Every input of the call in order through read, then the last batch: an input without rows
 * fails with "<input>: <none>". Returns the fatal status (SLAVA_OK when none). */
slava_status sv_rows_run(sv_rows *r, sv_rows_read_fn read, void *user, const char *none);

#endif
