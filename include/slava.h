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
    SLAVA_E_INTERNAL,
    SLAVA_E_DIVERGED     /* training produced a non-finite loss, gradient or weight */
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
/* Cancellation check: long operations poll fn between small units of work (a tower layer, a
 * training batch, a decoded frame, 64 MiB hashed; well under a second of work apart) and stop
 * with SLAVA_E_INTERRUPTED when it returns non-zero, finishing or rolling back the store
 * transaction in flight and removing partial output files. It may be called from any thread
 * the operation uses (e.g. encode's decode thread), so it should only read a flag (a signal
 * handler's). Every progress report is a cancellation point too. */
typedef int (*slava_cancel_fn)(void *user);
void        slava_ctx_set_cancel(slava_ctx *ctx, slava_cancel_fn fn, void *user);
void        slava_ctx_set_log(slava_ctx *ctx, slava_log_fn fn, void *user);
const char *slava_status_name(slava_status s);

/* Threads used by BLAS and OpenMP (process-wide). n <= 0: the cores available. */
void slava_set_threads(int n);
int  slava_get_threads(void);

/* Distributed runs: slava may run as N processes (ranks) of an MPI job (`mpirun -n N slava ...`,
 * `srun --mpi=pmix slava ...`). slava_dist_init joins the job when an MPI launcher started this
 * process, which it tells from the environment (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK or
 * PMI_SIZE set) before MPI is touched: a plain process never initialises MPI. SLAVA_MPI=0 in the
 * environment stays out of any job, SLAVA_MPI=1 joins one anyway (a singleton world). Otherwise
 * the world is this process alone: rank 0 of 1. Started by a launcher in a build without MPI →
 * SLAVA_E_UNSUPPORTED (rather than N processes each doing all the work). Call it once, from the
 * main thread, before any of the functions that run distributed (slava_experiment,
 * slava_encode_dist, slava_train_dp: every rank calls them with the same arguments), and
 * slava_dist_finalize before exit. The world is the second process-wide state (with the thread
 * count). */
slava_status slava_dist_init(slava_ctx *ctx);
void         slava_dist_finalize(void);
int          slava_dist_rank(void);           /* 0 .. size-1 */
int          slava_dist_size(void);           /* ranks in the job, 1 without one */
/* End every rank of the job now (MPI_Abort), for a rank that cannot go on while others wait on it;
 * returns (doing nothing) when there is no job. */
void         slava_dist_abort(int code);
/* Collective: every rank passes its own status; all get SLAVA_OK only when every rank had it,
 * else the lowest failing rank's status and message ("rank R: ..." on the others). For callers
 * whose ranks must not part ways (one rank failing to open a file while the others go on). */
slava_status slava_dist_agree(slava_ctx *ctx, slava_status st);
/* The MPI library linked, e.g. "Open MPI v4.1.4" ("" in a build without MPI). */
const char  *slava_dist_library(void);

/* Monotonic wall-clock seconds (the clock of the library's own timings), for callers' timings. */
double slava_now(void);

/* s as valid UTF-8: a malloc'd copy (caller frees) where each maximal invalid subpart is U+FFFD
 * (Python's errors='replace'); *changed (may be NULL) = 1 when something was replaced. NULL when
 * s is NULL or memory ran out. Every string slava writes as JSON goes through it. */
char *slava_utf8_fix(const char *s, int *changed);

/* Kinds of files slava writes, for slava_output_check. */
typedef enum {
    SLAVA_FILE_HEADS = 0,    /* heads safetensors (holds visual_projection.weight) */
    SLAVA_FILE_FEATURES,     /* a features export (safetensors, format slava-features/...) */
    SLAVA_FILE_LOG,          /* a training log: JSON Lines, each line an object with "type" */
    SLAVA_FILE_SVG,          /* an SVG picture */
    SLAVA_FILE_KINDS
} slava_file_kind;
/* Before writing `path`: SLAVA_OK when it does not exist or is a file of `kind` (an empty file
 * counts as any kind), and is none of inputs[0..n) (NULL entries skipped; the same file after
 * resolving links counts). Otherwise SLAVA_E_ARG naming path and what it is ("... is the same
 * file as the input X", "... exists and is not a heads file (it looks like a SQLite database
 * ...); refusing to replace it"). A wrong --out then never destroys a store or a heads file. */
slava_status slava_output_check(slava_ctx *ctx, const char *path, slava_file_kind kind, const char *const *inputs,
                                int n);

/* Version and backends: fills `buf` with a multi-line report (version, BLAS library and kernel,
 * threads, FFmpeg / SQLite / FFTW versions). */
void        slava_version_report(char *buf, size_t cap);
const char *slava_version(void);
const char *slava_blas_kernel(void);   /* e.g. "Cooperlake" (OpenBLAS core name) */
/* One line naming the matrix-product backends and how each precision's products are done, e.g.
 * "fp32 oneDNN (default) (OpenBLAS Cooperlake / oneDNN 2.6.3 avx512_core_bf16), bf16 oneDNN
 * brg:avx512_core_bf16". float32 products run on oneDNN; SLAVA_GEMM=openblas in the environment
 * pins OpenBLAS, SLAVA_GEMM=auto chooses per shape by measurement (not reproducible across runs). */
void        slava_gemm_describe(char *buf, size_t cap);

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

/* Context length of a CLIP folder's text tower: max_position_embeddings of the text config in
 * dir/config.json, 77 (openai CLIP) when the folder has no config.json. A malformed config is an
 * error naming it. */
slava_status slava_clip_context_length(slava_ctx *ctx, const char *dir, int *L);

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
 * output may be NULL. Captions are batched; each is computed only up to its end-of-text token.
 * One model encodes from one thread at a time (it keeps its tokenizer and activation buffers). */
slava_status slava_clip_text_encode(slava_ctx *ctx, slava_clip_text *m, int n, const char *const *texts,
                                    float *pooled, float *projected);
/* Same from token ids: caption i is ids[i*stride .. i*stride + lens[i]), lens[i] <= L; it must
 * contain the end-of-text id (pooling is at its first occurrence, later ids are ignored). */
slava_status slava_clip_text_encode_ids(slava_ctx *ctx, slava_clip_text *m, int n, const int *ids, int stride,
                                        const int *lens, float *pooled, float *projected);

/* ===================================================================== vision (frames, CLIP image) */

/* An RGB image: h rows of w pixels, 3 bytes (R, G, B) each, row-major, no row padding. */
typedef struct {
    int      w, h;
    uint8_t *rgb;            /* [h, w, 3]; owned by whoever filled the struct (see below) */
} slava_image;

/* Largest image / video frame accepted: decoders are told the pixel limit before they allocate
 * a frame, and the side limit is checked on the declared size. Larger inputs fail with
 * SLAVA_E_UNSUPPORTED naming the file and the size. */
#define SLAVA_MAX_IMAGE_PIXELS 100000000   /* 100 megapixels */
#define SLAVA_MAX_IMAGE_SIDE   65535

/* Decode a still image (JPEG, PNG (grey, palette, alpha, 16-bit), BMP, WebP, TIFF, ... whatever
 * FFmpeg reads; the first frame of a video file) to RGB24. Alpha is dropped (as Pillow's
 * convert("RGB")), 16-bit samples are rounded to 8 bits, CMYK is converted by FFmpeg.
 * out->rgb is malloc'd and owned by the caller: release with slava_image_free. */
slava_status slava_image_load(slava_ctx *ctx, const char *path, slava_image *out);
void         slava_image_free(slava_image *im);   /* frees im->rgb, zeroes *im */
/* The frame of a video (or image) file on screen at `t` seconds from the video stream's start:
 * the last frame whose time is <= t (the first frame when t is before it, the last frame when t
 * is past the end). Seeks to the key frame before t, so the cost does not grow with t. out->rgb
 * is malloc'd and owned by the caller (slava_image_free). Errors name the file. */
slava_status slava_video_frame_at(slava_ctx *ctx, const char *path, double t, slava_image *out);

/* Video frames sampled at `fps` frames per second, at the middle of each 1/fps interval by
 * presentation time: interval k is [k/fps, (k+1)/fps) measured from the video stream's start
 * time; the frame on screen at its middle (the last frame whose time is <= the middle; the
 * first frame if none) is returned. There is one interval per 1/fps step that starts before
 * the end of the last frame (its time + duration). The last interval may be partial: its
 * middle is then the middle of the part inside the video (end from the declared duration);
 * a video shorter than one interval gives exactly one frame. Frames are decoded one at a time
 * (memory stays bounded whatever the length); only sampled frames are converted to RGB.
 * Variable frame rate, B-frames and streams not starting at 0 are handled through the
 * timestamps. Corrupt packets are skipped (as ffmpeg does); a file where no frame decodes is an
 * error naming the file. */
typedef struct slava_video slava_video;
typedef struct {
    double  duration;        /* seconds: the video stream's (else the container's); -1 unknown */
    int     width, height;   /* as declared by the stream */
    double  fps;             /* sampling rate asked for */
    int64_t frames_expected; /* frames the declared duration implies (-1 when unknown): an estimate */
    int64_t frames_returned; /* sampled frames returned so far */
    int64_t frames_decoded;  /* frames decoded so far */
    char    codec[32];       /* decoder name, e.g. "h264" */
} slava_video_info;

slava_status slava_video_open(slava_ctx *ctx, const char *path, double fps, slava_video **out);
/* Next sampled frame. On success *got is 1, *frame points at an image owned by v (valid until the
 * next call or slava_video_close) and *t is the sampling time in seconds; at the end *got is 0. */
slava_status slava_video_next(slava_ctx *ctx, slava_video *v, const slava_image **frame, double *t,
                              int *got);
void         slava_video_get_info(const slava_video *v, slava_video_info *info);
void         slava_video_close(slava_video *v);

/* CLIPImageProcessor settings, from a folder's preprocessor_config.json (keys as transformers
 * writes them: size (int or {"shortest_edge"} or {"height","width"}), crop_size (int or
 * {"height","width"}), do_resize, do_center_crop, do_rescale, rescale_factor, do_normalize,
 * image_mean, image_std, resample (3 = bicubic, the only filter supported)). Missing file or
 * keys: openai/clip-vit-base-patch32's values. */
typedef struct {
    int    do_resize;
    int    shortest_edge;    /* > 0: shortest side -> this, long side int(size * long / short) */
    int    resize_h, resize_w; /* used when shortest_edge == 0: resize to exactly this */
    int    do_center_crop;
    int    crop_h, crop_w;
    int    do_rescale;
    double rescale_factor;   /* 1/255 */
    int    do_normalize;
    float  mean[3], std[3];
} slava_clip_preproc;

void         slava_clip_preproc_default(slava_clip_preproc *p);
/* Reads <dir>/preprocessor_config.json when it exists, else fills the defaults. */
slava_status slava_clip_preproc_load(slava_ctx *ctx, const char *dir, slava_clip_preproc *p);
/* Output size (after resize and crop) for a w x h input. */
void         slava_clip_preproc_out_size(const slava_clip_preproc *p, int w, int h, int *ow, int *oh);
/* img -> out [3, oh, ow] float32 (CHW), exactly as CLIPImageProcessor (Pillow BICUBIC on the
 * uint8 image, floor centre crop (zero padding when the image is smaller than the crop),
 * * rescale_factor, (x - mean) / std in float32). */
slava_status slava_clip_preprocess(slava_ctx *ctx, const slava_clip_preproc *p, const slava_image *img,
                                   float *out);
/* The same pipeline stopped before rescaling: the resized + cropped uint8 image out [oh, ow, 3]. */
slava_status slava_clip_preprocess_u8(slava_ctx *ctx, const slava_clip_preproc *p, const slava_image *img,
                                      uint8_t *out);
/* The rest of it: rescale + normalise u8 [oh, ow, 3] (from slava_clip_preprocess_u8) into out
 * [3, oh, ow]. slava_clip_preprocess = slava_clip_preprocess_u8 then this, bit for bit (the encode
 * pipeline queues decoded frames as uint8, a quarter of the float32 size). */
void slava_clip_normalize_u8(const slava_clip_preproc *p, const uint8_t *u8, int ow, int oh, float *out);

/* CLIP image tower (CLIPVisionModel + visual_projection) from a Hugging Face CLIP folder
 * (model.safetensors or shards, config.json, optional preprocessor_config.json). */
typedef struct slava_clip_vision slava_clip_vision;
slava_status slava_clip_vision_load(slava_ctx *ctx, const char *dir, slava_clip_vision **out);
void         slava_clip_vision_free(slava_clip_vision *m);
/* image_size: input side S; hidden: pooled size D; proj: projection size P. Any may be NULL. */
void         slava_clip_vision_dims(const slava_clip_vision *m, int *image_size, int *hidden, int *proj);
/* The preprocessing settings read with the model (preprocessor_config.json or defaults). */
const slava_clip_preproc *slava_clip_vision_preproc(const slava_clip_vision *m);
/* pixels [n, 3, S, S] (preprocessed) -> pooled [n, D] (post-LN class token) and/or
 * projected [n, P] (visual_projection(pooled), not normalised); either output may be NULL.
 * Frames are run in batches so the GEMMs are large. */
slava_status slava_clip_vision_encode(slava_ctx *ctx, const slava_clip_vision *m, int n, const float *pixels,
                                      float *pooled, float *projected);
/* A whole video (or image) file: frames sampled at `fps` (slava_video), preprocessed and encoded
 * in batches of `batch` frames (<= 0: 32), so memory stays bounded whatever the length.
 * *pooled = malloc'd [*T, hidden] (caller frees with free()); projected_mean [proj] = mean over
 * frames of the projected rows (may be NULL). Errors name the file. */
slava_status slava_clip_vision_embed_file(slava_ctx *ctx, const slava_clip_vision *m, const char *path, double fps,
                                          int batch, float **pooled, int *T, float *projected_mean);

/* ===================================================================== audio (chunks, mel, HTSAT) */

/* Audio is decoded to 48 kHz mono float (all channels averaged) and cut into consecutive 10 s
 * chunks from t = 0; a last partial chunk is kept when it is >= 1 s or when it is the only one.
 * A chunk shorter than 10 s is repeat-padded by the front end (np.tile whole copies, then zeros). */
#define SLAVA_AUDIO_RATE     48000
#define SLAVA_AUDIO_CHUNK    480000   /* samples in a 10 s chunk */
#define SLAVA_AUDIO_MIN_LAST 48000    /* a trailing partial chunk is kept from 1 s on */
#define SLAVA_MEL_FRAMES     1001     /* front-end frames per chunk */
#define SLAVA_MEL_BINS       64       /* mel bands */

/* Streaming chunk reader over any file FFmpeg reads (WAV, FLAC, mp4/AAC, ...). Memory stays bounded
 * (one chunk plus one decoded frame) however long the file is.
 * slava_audio_open: SLAVA_E_NOAUDIO "<file>: no audio stream" when the file has none (for a video
 * clip that simply means "no audio"); other failures name the file. */
typedef struct slava_audio slava_audio;
slava_status slava_audio_open(slava_ctx *ctx, const char *path, slava_audio **out);
/* Next chunk into buf [SLAVA_AUDIO_CHUNK]; *n = samples in it (<= SLAVA_AUDIO_CHUNK), 0 after the
 * last chunk. A stream without any sample is an error ("<file>: audio stream has no samples"), as
 * are NaN / Inf samples. */
slava_status slava_audio_next_chunk(slava_ctx *ctx, slava_audio *a, float *buf, int *n);
/* Seconds of audio (48 kHz samples / 48000) read so far, and the source's rate / channels. */
double       slava_audio_seconds(const slava_audio *a);
int          slava_audio_source_rate(const slava_audio *a);
int          slava_audio_source_channels(const slava_audio *a);
void         slava_audio_close(slava_audio *a);

/* CLAP audio encoder: ClapFeatureExtractor front end (unfused, rand_trunc, repeatpad) + HTSAT
 * audio tower + audio_projection, loaded from a Hugging Face CLAP folder (config.json,
 * model.safetensors or shards). Sizes come from config.json. */
typedef struct slava_clap_audio slava_clap_audio;
slava_status slava_clap_audio_load(slava_ctx *ctx, const char *dir, slava_clap_audio **out);
void         slava_clap_audio_free(slava_clap_audio *m);
/* pooled = HTSAT output size (768 for HTSAT-tiny), projected = audio_projection size (512). */
void         slava_clap_audio_dims(const slava_clap_audio *m, int *pooled_dim, int *projected_dim);
/* Log-mel features of one waveform: wave [n] mono 48 kHz → features [SLAVA_MEL_FRAMES, SLAVA_MEL_BINS]
 * (dB). n <= SLAVA_AUDIO_CHUNK: repeat-padded, crop_offset ignored (pass -1). n > SLAVA_AUDIO_CHUNK:
 * the 10 s starting at crop_offset (0 <= crop_offset <= n - SLAVA_AUDIO_CHUNK; upstream draws it at
 * random, slava never crops at random). */
slava_status slava_clap_features(slava_ctx *ctx, const slava_clap_audio *m, const float *wave, int64_t n,
                                 int64_t crop_offset, float *features);
/* HTSAT on n chunks: features [n, SLAVA_MEL_FRAMES, SLAVA_MEL_BINS] → pooled [n, pooled_dim] and
 * projected [n, projected_dim] (not normalised); either output may be NULL. */
slava_status slava_clap_audio_encode(slava_ctx *ctx, const slava_clap_audio *m, int n, const float *features,
                                     float *pooled, float *projected);
/* A whole file, streamed chunk by chunk in batches of `batch` chunks (<= 0: 8):
 * *pooled = malloc'd [*T, pooled_dim] (caller frees with free()), projected_mean [projected_dim] =
 * mean over chunks of the projected rows (may be NULL). SLAVA_E_NOAUDIO when the file has no
 * audio stream. Progress is reported per batch through the ctx (stage "audio"). */
slava_status slava_clap_audio_embed_file(slava_ctx *ctx, const slava_clap_audio *m, const char *path, int batch,
                                         float **pooled, int *T, float *projected_mean);

/* ===================================================================== embed (one API over the towers) */

/* An embedder: the towers loaded once from a CLIP folder and/or a CLAP folder, with optional
 * trained heads, turning texts, images, videos and audio files into embeddings. Every command
 * (embed, encode, demo, index, search, serve) reaches the towers through it (src/embed/).
 *
 * Rows and times: a text gives T = 1 row; an image T = 1 (t = 0..0); a video one row per
 * sampled frame (slava_video: frame k covers [k/fps, (k+1)/fps), cut at the duration); an
 * audio file one row per 10 s chunk (chunk k covers [10k, min(10k + 10, duration)]).
 * "pooled" rows are the encoder outputs before any head; "projected" is the mean over rows of
 * the head (trained heads when given, else the checkpoint's own projection), not normalised;
 * "embedding" is projected / ||projected|| (all zeros when the norm is 0). With trained heads
 * the head runs on the pooled rows (row_embedding[t] = head(row t), projected = the head of the
 * item as slava_heads_project computes it); without, the checkpoint's projection of each row.
 * The towers run on slava_get_threads() threads. One embedder is used by one thread at a time
 * (the text tower keeps buffers, identities are cached on first use); load one per thread to
 * embed concurrently. docs/embed.md has examples. */
typedef struct slava_embedder slava_embedder;

typedef enum { SLAVA_PRECISION_FP32 = 0, SLAVA_PRECISION_BF16 = 1 } slava_precision;

/* Zero values (a zeroed struct) mean the defaults for fps and the batch sizes. */
typedef struct {
    const char *clip_dir;    /* CLIP folder (image + text towers), or NULL: no text / image / video */
    const char *clap_dir;    /* CLAP folder (HTSAT), or NULL: no audio */
    const char *heads;       /* trained heads file, or NULL: the checkpoints' own projections */
    int    force_heads;      /* 1: do not refuse heads whose recorded encoders differ */
    double fps;              /* video frame sampling rate (default 1) */
    int    frame_batch;      /* frames per image-tower call, gathered across inputs (default 32) */
    int    chunk_batch;      /* audio chunks per HTSAT call, gathered across inputs (default 8) */
    int    text_batch;       /* captions per text-tower call (default 256) */
    slava_precision precision; /* products of the towers (default FP32). BF16: weights converted to
                                  bf16 once at load, activations rounded at each product's input,
                                  accumulation, LayerNorm, softmax and residuals float32; the
                                  features get their own identity ("+bf16") */
    unsigned modalities;     /* towers to load, bits 1 << slava_modality (image tower = visual);
                                0: every tower of the folders given (default) */
} slava_embedder_opts;
void slava_embedder_opts_default(slava_embedder_opts *o);

/* Load the towers named in o (at least one folder). Errors name the folder or file.
 * Heads: their input sizes must match the loaded towers (SLAVA_E_SHAPE). When the heads file
 * records the encoders its features came from (slava_heads_encoder) and force_heads is 0, each
 * recorded identity of a loaded tower must equal this embedder's (slava_embedder_encoder_id,
 * so visual features recorded at another fps differ too), checked by slava_heads_check_encoders:
 * else SLAVA_E_ARG with one line naming both identities. Only then are the checkpoints hashed
 * (about 2 s per GB). */
slava_status slava_embedder_load(slava_ctx *ctx, const slava_embedder_opts *o, slava_embedder **out);
void         slava_embedder_free(slava_embedder *e);

typedef struct {
    int d_v, d_a, d_t;       /* pooled sizes of the loaded towers (0 when not loaded) */
    int p_v, p_a, p_t;       /* embedding (projected) sizes per modality (0 when not loaded) */
    int image_size;          /* CLIP input side S (0 without CLIP) */
    double fps;
    int has_heads;
} slava_embedder_info;
void slava_embedder_get_info(const slava_embedder *e, slava_embedder_info *info);

/* The identity features of modality m are stored under (see slava_encoder_ids: sha256 of the
 * checkpoint's weights + config.json, "+bf16" when the embedder computes in bf16, then
 * "@<fps>fps" for visual at fps != 1). Computed on first use (reads the weight files once) and
 * cached; copied to id[SLAVA_ENCODER_ID_LEN]. SLAVA_E_ARG when the modality's tower is not loaded. */
slava_status slava_embedder_encoder_id(slava_ctx *ctx, slava_embedder *e, int modality, char *id);
/* sha256 of the heads file (hex), or "" when no heads were given. */
const char  *slava_embedder_heads_id(const slava_embedder *e);

typedef struct {
    slava_status status;     /* SLAVA_OK, or why this input failed */
    char   *error;           /* one line naming the input (malloc'd), NULL when ok */
    int     T;               /* rows */
    int     D;               /* pooled row size */
    int     P;               /* embedding size */
    float  *pooled;          /* [T, D] encoder output per row */
    float  *row_embedding;   /* [T, P] head(row), L2-normalised per row (the moments) */
    double *t_start, *t_end; /* [T] seconds each row covers */
    float  *projected;       /* [P] mean over rows of head(row), not normalised */
    float  *embedding;       /* [P] projected, L2-normalised */
    double  duration;        /* seconds of the input (-1 unknown; text: 0) */
    int64_t frames_decoded;  /* video: frames decoded (information) */
} slava_embedding;
/* Frees the arrays of n results (not the array itself) and zeroes them. Every array above is
 * malloc'd (release a single one with free() after taking it out of the struct). */
void slava_embeddings_clear(slava_embedding *r, int n);

/* Embed n inputs into out[n] (zeroed by the caller). Inputs of one call are batched together
 * (frames of several videos in one image-tower call, captions in text batches). Every input is
 * tried: a failing one (unreadable, no frames, no audio stream, ...) gets out[i].status/error
 * and the others are still embedded. Returns SLAVA_OK when all inputs succeeded, else the
 * first failing input's status with its message in the ctx; a failure that stops everything
 * (out of memory, a tower error, inputs of a modality whose tower is not loaded, cancellation)
 * sets that status on every input not yet done. A NULL text or path fails that input.
 * Progress: stage "embed", done / total in inputs; returning non-zero cancels
 * (SLAVA_E_INTERRUPTED on the inputs not done). */
slava_status slava_embed_texts(slava_ctx *ctx, slava_embedder *e, int n, const char *const *texts,
                               slava_embedding *out);
slava_status slava_embed_images(slava_ctx *ctx, slava_embedder *e, int n, const char *const *paths,
                                slava_embedding *out);
slava_status slava_embed_videos(slava_ctx *ctx, slava_embedder *e, int n, const char *const *paths,
                                slava_embedding *out);
slava_status slava_embed_audios(slava_ctx *ctx, slava_embedder *e, int n, const char *const *paths,
                                slava_embedding *out);

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
 * Writers group each clip's rows in one transaction; a rerun skips what is stored.
 *
 * Schema (version 1; any SQLite client can read it, docs/store.md shows queries):
 *   clips    (id, name UNIQUE, split 'train'|'val'|'test', source, duration, has_audio, error)
 *   captions (id, clip -> clips, kind 'audio'|'visual'|'audio_visual'|'gpt_av', idx, text;
 *             UNIQUE(clip, kind, idx))
 *   encoders (id, modality 'visual'|'audio'|'text', name, d; UNIQUE(modality, name))
 *   features (id, clip -> clips  XOR  caption -> captions, encoder -> encoders, t, d,
 *             data = float32 little-endian [t, d]; UNIQUE(encoder, clip) / UNIQUE(encoder, caption))
 * Visual (frames) and audio (chunks) features belong to a clip; text features (t = 1) to a caption.
 * An encoder is identified by a string (the encode pipeline uses sha256 of weights + config) and
 * its modality; all its features have the same d. A clip id (the mp4 stem) belongs to one split.
 * A clip recorded with an error keeps its row (for the failure report) but is never loaded.
 * Crash safety: WAL, synchronous=NORMAL; a killed process leaves only whole transactions.
 * A slava_store is used by one thread at a time; several processes may open the same file (a
 * writer waits up to 10 s for another writer). Close rolls back a transaction left open. */
typedef struct slava_store slava_store;
/* mode: SLAVA_STORE_WRITE (0): an existing store, read-write; SLAVA_STORE_CREATE (1): read-write,
 * the file / schema created when missing; SLAVA_STORE_READ (2): an existing store, read-only — no
 * write, no journal-mode switch, usable in a read-only file or folder (when the folder is
 * read-only and no -shm file exists, SQLite's immutable mode is used, which needs no -wal/-shm
 * files; a non-empty -wal file there, holding changes not yet in the main file, is an error
 * rather than silently ignored). Every write function then fails (SLAVA_E_IO). A file that is not
 * SQLite, or SQLite without the slava schema, is refused (SLAVA_E_FORMAT) and left untouched. */
#define SLAVA_STORE_WRITE  0
#define SLAVA_STORE_CREATE 1
#define SLAVA_STORE_READ   2
slava_status slava_store_open(slava_ctx *ctx, const char *path, int mode, slava_store **out);
void         slava_store_close(slava_store *s);
/* Claim the store for one long writer until slava_store_close (an advisory lock on the file), so
 * that a second encode, import or merge into the same store is refused with one line instead of
 * redoing the same work: SLAVA_E_STORE "<path>: another slava process is writing to this store
 * ...". Readers (SLAVA_STORE_READ) are never blocked, and without the lock the store still holds
 * whole clips only (each is one transaction). wait_s > 0: wait up to that many seconds for the
 * other writer to finish (polling the ctx's cancel callback); 0: refuse at once. Claiming twice
 * is a no-op; a read-only store gives SLAVA_E_ARG. */
slava_status slava_store_lock_writer(slava_ctx *ctx, slava_store *s, double wait_s);
/* Delete a (closed) store file with its -wal and -shm companions; missing files are ignored. */
void         slava_store_remove(const char *path);
/* Store every clip, caption and feature of ds (features tagged with ds->encoder_id[m], which
 * must be set); rows already stored are skipped. Whole clips are committed in groups (up to 256
 * clips / 16 MiB per transaction; inside a slava_store_begin transaction, in that one). Progress:
 * stage "store"; a cancel keeps the clips committed so far. */
slava_status slava_store_put_dataset(slava_ctx *ctx, slava_store *s, const slava_dataset *ds);
/* Load the clips of the splits in split_mask (bit 1<<slava_split; 0 = all) with their
 * features into *out (free with slava_dataset_free). enc[m] (m = slava_modality) chooses the
 * encoder when a modality has features of several encoders; NULL entries (or enc == NULL) mean
 * "the only one stored" (several → error naming them). A split with no clips → SLAVA_E_NOTFOUND.
 * Clips without audio have t_a = 0; clips recorded with an error are left out.
 * Details: clips come ordered by split (train, val, test), then clip id (byte order); captions
 * of a kind by their idx. A modality with no features stored at all loads as d = 0 with
 * encoder_id NULL, t = 0 and cap[k] = NULL (captions and their texts are still listed). When a
 * modality's encoder is chosen, every loaded clip must have its features (visual; audio when the
 * clip has audio; text for every caption), else SLAVA_E_NOTFOUND naming the first clip missing them.
 * cap_text[k] is non-NULL when n_cap[k] > 0; an entry is NULL when the text is unknown. */
slava_status slava_store_load(slava_ctx *ctx, slava_store *s, unsigned split_mask,
                              const char *const *enc, slava_dataset *out);
/* The same for rank `part` of `parts` (data-parallel training, slava_train_dp): of the splits in
 * part_mask only the clips whose position k in their split (the order above) has
 * k mod parts == part are loaded (features of the others are not read); the other splits of
 * split_mask whole. flags: SLAVA_LOAD_VISUAL_MEAN averages the frames of those clips into one
 * row as they are read (t_v = 1; what linear visual heads train on, so memory holds one row per
 * clip; the same bits as training's own pooling). */
#define SLAVA_LOAD_VISUAL_MEAN 1u
slava_status slava_store_load_part(slava_ctx *ctx, slava_store *s, unsigned split_mask, unsigned part_mask, int part,
                                   int parts, const char *const *enc, unsigned flags, slava_dataset *out);

/* Names used in the store and on the command line; *_parse returns -1 for an unknown name. */
int         slava_store_split_parse(const char *name);  /* exactly slava_split_name()'s names, else -1 */
const char *slava_store_kind_name(int kind);       /* slava_caption_kind → "audio" "visual" "audio_visual" "gpt_av" */
int         slava_store_kind_parse(const char *name);
const char *slava_store_modality_name(int m);      /* slava_modality → "visual" "audio" "text" */
int         slava_store_modality_parse(const char *name);

/* --- writing clip by clip (the encode pipeline, issue 6) ---
 * begin/commit group every put_* between them into one transaction: either all of a clip's rows
 * are stored or none (also when the process is killed). rollback discards them (no-op when no
 * transaction is open). Without begin, each put_* call is a transaction of its own. Nesting a
 * begin inside a begin is SLAVA_E_ARG. */
slava_status slava_store_begin(slava_ctx *ctx, slava_store *s);
slava_status slava_store_commit(slava_ctx *ctx, slava_store *s);
void         slava_store_rollback(slava_store *s);

/* Insert clip `clip` or update a stored one's source / duration / has_audio / error (so a clip
 * that failed before and now succeeds is cleared by error = NULL). split: slava_split; a clip id
 * stored under another split → SLAVA_E_ARG. source may be NULL; duration < 0 means unknown;
 * error NULL = ok, else the one-line reason the clip failed. */
slava_status slava_store_put_clip(slava_ctx *ctx, slava_store *s, const char *clip, int split,
                                  const char *source, double duration, int has_audio, const char *error);
/* Caption number idx (>= 0) of kind (slava_caption_kind) of a stored clip. The same text as stored
 * changes nothing; a different text replaces it and deletes the caption's (now stale) features.
 * text may be NULL (unknown). */
slava_status slava_store_put_caption(slava_ctx *ctx, slava_store *s, const char *clip, int kind,
                                     int idx, const char *text);
/* Clip-level features x [T, D] (T >= 1) of modality SLAVA_MOD_VISUAL (frames) or SLAVA_MOD_AUDIO
 * (chunks; the clip must have has_audio = 1) from encoder `encoder`. Skipped when the clip already
 * has features of that encoder (*added = 0, else 1; added may be NULL). D must equal the d of
 * the encoder's features already stored (else SLAVA_E_SHAPE). x is copied. */
slava_status slava_store_put_clip_feature(slava_ctx *ctx, slava_store *s, const char *clip, int modality,
                                          const char *encoder, const float *x, int T, int D, int *added);
/* Text feature x [D] of caption (clip, kind, idx), which must be stored; as above otherwise. */
slava_status slava_store_put_caption_feature(slava_ctx *ctx, slava_store *s, const char *clip, int kind,
                                             int idx, const char *encoder, const float *x, int D, int *added);

typedef enum {
    SLAVA_CLIP_ABSENT = 0,     /* no row for this clip id */
    SLAVA_CLIP_INCOMPLETE = 1, /* stored, but features of a requested encoder are missing */
    SLAVA_CLIP_COMPLETE = 2,   /* stored without error, all requested features present */
    SLAVA_CLIP_FAILED = 3      /* stored with an error (*reason, when given: malloc'd copy) */
} slava_clip_state;
/* Is clip complete for encoders enc[slava_modality] (NULL entries: not checked)? Complete =
 * no error, a visual feature of enc[VISUAL], an audio feature of enc[AUDIO] when the clip has
 * audio, and a text feature of enc[TEXT] for every stored caption of the clip. reason may be
 * NULL; when non-NULL it receives the failure reason (FAILED) or NULL, to free(). */
slava_status slava_store_clip_state(slava_ctx *ctx, slava_store *s, const char *clip,
                                    const char *const *enc, slava_clip_state *state, char **reason);
/* Reuse of text features: if any stored caption whose text equals `text` byte for byte has a
 * feature of text encoder `encoder`, copy it to out[D] and set *found = 1; else *found = 0.
 * A stored D different from D → SLAVA_E_SHAPE. */
slava_status slava_store_find_text_feature(slava_ctx *ctx, slava_store *s, const char *text,
                                           const char *encoder, float *out, int D, int *found);

/* --- summary (slava store info) --- */
typedef struct {
    int     modality;                 /* slava_modality */
    char   *name;                     /* encoder identity */
    int     d;
    int64_t items[SLAVA_SPLITS];      /* clips (visual/audio) or captions (text) with a feature */
    int64_t rows[SLAVA_SPLITS];       /* sum of T: frames / chunks / captions */
} slava_store_encoder;
typedef struct {
    char *clip;
    int   split;
    char *error;
} slava_store_failure;
typedef struct {
    int     schema_version;
    int64_t clips[SLAVA_SPLITS];                     /* clips without error */
    int64_t no_audio[SLAVA_SPLITS];                  /* of those, clips without an audio track */
    int64_t failed[SLAVA_SPLITS];                    /* clips recorded with an error */
    int64_t captions[SLAVA_SPLITS][SLAVA_CAP_KINDS]; /* captions of clips without error */
    int     n_encoders;
    slava_store_encoder *encoders;                   /* ordered by modality, then name */
    int     n_failures;
    slava_store_failure *failures;                   /* every failed clip, by split then id */
} slava_store_info;
/* Fill *out (owned by the caller, free with slava_store_info_free). */
slava_status slava_store_get_info(slava_ctx *ctx, slava_store *s, slava_store_info *out);
void         slava_store_info_free(slava_store_info *info);

/* --- export / import (safetensors, docs/store.md has the layout) ---
 * Export writes the clips of split_mask (0 = all; clips with an error are left out), their
 * captions, and the features of the modalities in modality_mask (bits 1<<slava_modality; 0 = every
 * modality that has features), one encoder per modality chosen as in slava_store_load. Tensors:
 *   visual [Nv, Dv] F32 + visual_clip [Nv] I64 (row → clip index; rows of a clip in time order),
 *   audio  [Na, Da] F32 + audio_clip  [Na] I64,
 *   text   [Nt, Dt] F32 + text_caption [Nt] I64 (row → caption index),
 * and __metadata__: "format" = "slava-features/1", "clips" = JSON array of {id, split, source,
 * duration, has_audio}, "captions" = JSON array of {clip (index), kind, idx, text},
 * "encoder.visual" / "encoder.audio" / "encoder.text" = encoder identities.
 * Empty selection → SLAVA_E_NOTFOUND. The file is written atomically. */
typedef struct {
    int64_t clips, captions, features;    /* exported / imported rows (features: items) */
    int64_t clips_kept, captions_kept, features_kept; /* import: already stored, left as they were */
} slava_store_counts;
slava_status slava_store_export(slava_ctx *ctx, slava_store *s, const char *path, unsigned split_mask,
                                unsigned modality_mask, const char *const *enc, slava_store_counts *counts);
/* Import such a file (F32, F16, BF16 or F64 features; I64 or I32 indices) in one transaction:
 * the file is validated completely first, and any error leaves the store exactly as it was.
 * Stored clips and captions are kept (a clip under another split or a caption with another text
 * → SLAVA_E_FORMAT); features already stored for an encoder are kept. counts may be NULL. */
slava_status slava_store_import(slava_ctx *ctx, slava_store *s, const char *path, slava_store_counts *counts);

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
/* Feature sizes the heads take (d_v, d_a, d_t), the embedding size P and the audio MLP's hidden
 * size H (0: a linear audio head). Any pointer may be NULL. */
void         slava_heads_sizes(const slava_heads *h, int *d_v, int *d_a, int *d_t, int *P, int *H);
/* Every row on its own: x [T, D] → out [T, P] = head(x_t) per row (not normalised); T = 0 does
 * nothing. out must hold T * slava_heads_dim(h) floats. */
slava_status slava_heads_project_rows(slava_ctx *ctx, const slava_heads *h, slava_modality m,
                                      const float *x, int T, int D, float *out);
/* The identity of the modality-m encoder whose features the heads were trained on (the file's
 * metadata "visual_encoder" / "audio_encoder" / "text_encoder"); NULL when not recorded
 * (untrained heads, older files). Borrowed from h. */
const char  *slava_heads_encoder(const slava_heads *h, slava_modality m);
/* Refuse to apply heads to features of other encoders: for each modality where both the heads'
 * recorded encoder and enc[m] (may be NULL; enc may be NULL) are known and differ, SLAVA_E_ARG
 * with one line naming heads_path, both identities and `features` (e.g. the store's path). */
slava_status slava_heads_check_encoders(slava_ctx *ctx, const slava_heads *h, const char *heads_path,
                                        const char *const *enc, const char *features);

/* Recipes of DESIGN.md §1, in Table II order. *n receives the count. */
const char *const *slava_recipes(int *n);
/* The forward tasks (bit t = task t+1 of DESIGN.md §2) whose two heads recipe `name` trains:
 * 0x7F for all but av-only (0x40: visual <- audio only, it trains no text head); 0 for an unknown
 * name. */
unsigned slava_recipe_tasks(const char *name);

/* One record of the training log (slava_train_opts.log): after every optimiser step, and after
 * every epoch (epoch 0 = the heads a stage starts from, before any step). Losses are the
 * symmetric InfoNCE of each modality pair (NaN when the pair is not part of the step's loss);
 * logit scales are those of the step's forward pass (before its update). */
typedef enum { SLAVA_TRAIN_STEP = 0, SLAVA_TRAIN_EPOCH = 1 } slava_train_record_kind;
typedef struct {
    slava_train_record_kind kind;
    const char *recipe;
    uint64_t seed;
    int    stage, stages;    /* 1-based stage of stages */
    int    epoch;            /* 1-based within the stage; 0: the stage's starting heads (EPOCH only) */
    int    step;             /* optimiser steps taken in the stage so far (this one included) */
    /* SLAVA_TRAIN_STEP */
    int    batch;            /* clips in the batch */
    int    caption_kind;     /* slava_caption_kind drawn for the batch, -1 when no text */
    double loss[3];          /* pairs av, at, vt (NaN: not in this step's loss) */
    double loss_total;       /* their sum, the quantity minimised */
    double logit_scale[3];   /* av, at, vt (ln of the softmax scale s) */
    double lr;
    double seconds;          /* since training started */
    /* SLAVA_TRAIN_EPOCH */
    double loss_mean;        /* mean loss_total over the epoch's steps (NaN for epoch 0) */
    double val_mean_r10;     /* mean R@10 over the stage's validation tasks (NaN: no val split) */
    double val_r10[7];       /* R@10 of forward tasks 1..7 on val (NaN: not a validation task) */
    int    kept;             /* 1: these heads are the ones kept so far */
} slava_train_record;
/* Return non-zero to stop training (SLAVA_E_INTERRUPTED). */
typedef int (*slava_train_log_fn)(void *user, const slava_train_record *r);

/* Training options (slava_train_opts_default fills DESIGN.md §1's defaults). */
typedef struct {
    const char *recipe;      /* one of slava_recipes() */
    int    epochs;           /* per stage (default 30) */
    int    batch;            /* clips per batch (default 64); 0: all: one batch of every train
                                clip the stage can use per step (full-batch training) */
    double lr;               /* AdamW learning rate (1e-4) */
    double wd;               /* AdamW decoupled weight decay (0.01) */
    uint64_t seed;           /* head init (when no checkpoint), batch order, caption draws (0) */
    double temperature;      /* > 0: fixed logit scale 1/T; 0: learnable per pair (init ln 100) */
    int    audio_linear;     /* 1: single linear audio head instead of CLAP's MLP */
    const char *clip_dir;    /* CLIP folder: visual/text heads start from its projections (or NULL) */
    const char *clap_dir;    /* CLAP folder: audio head starts from its projection (or NULL) */
    const slava_heads *init; /* start from these heads (every tensor, logit scales included; the
                                feature sizes must match; audio head kind from them) instead of
                                clip_dir / clap_dir / seed; a fixed temperature still fixes the
                                scales. NULL: not used (borrowed) */
    int    keep_last;        /* 1: keep the final step's heads (no val split needed); 0: the best
                                epoch on val, epoch 0 (the starting heads) included (default) */
    slava_train_log_fn log;  /* NULL, or called with every record (see slava_train_record) */
    void  *log_user;
} slava_train_opts;
void slava_train_opts_default(slava_train_opts *o);

/* What training did. Stage s (0 or 1) kept epoch best_epoch[s] (1-based; 0: no epoch beat the
 * heads the stage started from on validation, so those were kept) with validation score
 * best_val[s] = mean R@10 over the validation tasks the stage's modalities allow (NaN when
 * training without a val split, keep_last). */
typedef struct {
    int    stages;
    int    best_epoch[2];
    double best_val[2];
    double init_val;         /* the same score for the untrained heads */
    double seconds;
    char   clip_sha256[65], clap_sha256[65];   /* "" when no checkpoint was used */
    double comm_bytes;       /* slava_train_dp: bytes this rank sent + received over MPI in a (full) step */
} slava_train_info;

/* Untrained heads for ds's feature sizes: checkpoint projections when o->clip_dir / o->clap_dir
 * are set, the seed otherwise. */
slava_status slava_heads_init(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o,
                              slava_heads **out);
/* Train o->recipe on ds's train split, choosing epochs on its val split. *out: the kept heads.
 * A non-finite loss, gradient or weight stops training at once: SLAVA_E_DIVERGED with one line
 * naming the recipe, seed, stage, epoch and step, and no heads. */
slava_status slava_train(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o,
                         slava_heads **out, slava_train_info *info);
/* Data-parallel training of one recipe over the ranks of an MPI job (mpirun -n N slava train),
 * for train sets larger than one machine's memory. Every rank calls it with its part of the train
 * split — the k-th train clip of the whole split on rank k mod N, as slava_store_load_part gives
 * it — and the whole val split, and the same options. Each step every rank runs the heads on its
 * clips of the batch (the batch order and caption draws are those of slava_train on the whole
 * split), the normalised embeddings are gathered from all ranks so that the InfoNCE negatives
 * span the whole batch, each rank back-propagates its own rows, the head gradients are summed
 * over the ranks and every rank takes the same AdamW step; validation runs on every rank. The
 * heads equal slava_train's on the whole split up to the rounding of the reordered sums (the
 * same bits with one rank). Every rank returns the same heads and status; info->comm_bytes is
 * what this rank sent and received in a step of a full batch. In a world of one it is slava_train. */
slava_status slava_train_dp(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, slava_heads **out,
                            slava_train_info *info);

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
 * the untrained heads of the first seed. In an MPI job every rank calls it with the same
 * arguments: run t = r * n_seeds + s is trained on rank t mod N (the same computation as in one
 * process, so the same reports with the same threads) and every rank receives all the reports;
 * progress counts the epochs of this rank's runs. */
slava_status slava_experiment(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *base,
                              const char *const *recipes, int n_recipes, const uint64_t *seeds,
                              int n_seeds, int split, slava_eval_report *reports,
                              slava_eval_report *untrained);
/* Table II: one row per recipe, R@10 (%) of the seven tasks as mean ± std over seeds, and their
 * mean. A task whose heads the recipe never trains (av-only: every text task) shows "–" (CSV:
 * empty, JSON: null) and the mean covers the tasks it does train; with one seed no spread is
 * shown. untrained may be NULL. malloc'd text, caller frees. */
char *slava_table2_format(const char *const *recipes, int n_recipes, int n_seeds,
                          const slava_eval_report *reports, const slava_eval_report *untrained,
                          slava_format fmt);

/* ===================================================================== plots (SVG, PLplot) */

/* Training curves: from training logs (slava_train_opts.log as written by `slava train --log`,
 * JSON Lines), per run (recipe and seed; "(i)" added to tell files apart) the mean loss of each
 * epoch's steps and the validation mean R@10 (%) after each epoch (epoch 0: before any step;
 * stage 2 continues after stage 1's epochs), two panels, one line per run, a legend. Written
 * atomically as SVG to out_svg, which may not be one of the logs nor another kind of file.
 * PLplot is not thread-safe: one picture at a time. */
slava_status slava_plot_training(slava_ctx *ctx, const char *const *logs, int n_logs, const char *out_svg);
/* Table II (slava_table2_format's cells) as grouped bars: per column (the seven tasks and the
 * mean) one bar per recipe (untrained heads first, grey, when given), an error bar of ± one
 * sample std over the seeds when there are several; tasks a recipe never trains have no bar. */
slava_status slava_plot_table2(slava_ctx *ctx, const char *const *recipes, int n_recipes, int n_seeds,
                               const slava_eval_report *reports, const slava_eval_report *untrained,
                               const char *out_svg);

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

/* The media demo's inputs in folder `work` (created when missing), each step skipped when an
 * earlier call completed it: work/data, the collection of o (out_dir and force are set here;
 * written again unless work/.synth-complete records a finished write), and work/clip, work/clap:
 * tiny random-weight checkpoints in the Hugging Face layout written by init-random (seed 0) from
 * configs built into slava: CLIP with 2 layers of width 128 per tower, 32-pixel patches on
 * 224 x 224 inputs, 64-d projections and the tokenizer files vocab.json + merges.txt of vocab_dir;
 * CLAP with HTSAT of patch width 16, depths 1/1/2/1 (pooled width 128), 64-d projection. A
 * checkpoint folder with a model.safetensors is left as it is. Info log lines name each step
 * taken. seconds (may be NULL): [0] spent on the collection, [1] on the checkpoints. */
slava_status slava_demo_prepare(slava_ctx *ctx, const char *work, const slava_synth_opts *o, const char *vocab_dir,
                                double seconds[2]);

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
} slava_feature_synth_opts;
void slava_feature_synth_defaults(slava_feature_synth_opts *o);
slava_status slava_synth_features(slava_ctx *ctx, const slava_feature_synth_opts *o, slava_dataset *out);

/* ===================================================================== pipeline (encode a collection) */

/* Encode a video collection (slava_collection_open) into a feature store with the frozen
 * encoders: frames sampled at `fps` -> CLIP preprocessing -> CLIP image tower (pooled per frame,
 * visual [T_v, D_v]); audio -> 10 s chunks (rule above) -> CLAP front end -> HTSAT (pooled per
 * chunk, audio [T_a, D_a]); every caption of the four kinds -> CLIP text tower (pooled, [D_t]).
 * A second thread decodes clips ahead (demux, decode, frame sampling, preprocessing, mel; long clips
 * in parts, so memory stays bounded) while
 * the calling thread runs the towers on batches gathered across clips. Each clip's rows (clip,
 * captions, features) are committed in ONE store transaction, in collection order; clips already
 * complete for these encoders are skipped (by groups of group_clips), so a killed run resumes
 * where it stopped, with the same bytes stored as an uninterrupted run. A clip that
 * cannot be used (video missing or ambiguous, unreadable / corrupt file, no captions at all) is
 * stored with its reason (slava_store_put_clip's error) and counted as failed; a clip without an
 * audio track is not a failure (has_audio = 0, no audio features). Progress: stage "encode",
 * done / total = clips finished / clips to encode in this run, detail = failures so far;
 * returning non-zero from the callback stops the run after that clip (SLAVA_E_INTERRUPTED).
 * Changed inputs (issue 10): each clip's video file is recorded with its size, mtime and sha256;
 * on a rerun a clip whose video has another path, size or mtime is hashed again, and when the
 * content differs its stale features (of every encoder) are deleted and it is encoded again (a
 * failed clip too); a caption whose text changed gets new text features, captions no longer in
 * the collection are deleted; such clips count as `updated`. A clip stored under another split
 * than the collection gives it is an error naming the clip and both splits, before anything is
 * written (train/test leakage is never silent), unless allow_split_change moves it (`moved`).
 * Stores written before this recorded no file stamps: their clips' stamps are recorded on the
 * first rerun (each video hashed once) and compared from then on. */
typedef struct {
    const char *clip_dir;    /* Hugging Face CLIP folder (image + text towers) */
    const char *clap_dir;    /* Hugging Face CLAP folder (HTSAT) */
    double fps;              /* frames sampled per second (default 1) */
    int frame_batch;         /* frames gathered across clips per image-tower batch (default 64) */
    int chunk_batch;         /* audio chunks per HTSAT call (default 8) */
    int caption_batch;       /* captions gathered per text-tower batch (default 256) */
    int group_clips;         /* clips per group, the unit of resumption (default 16): batches never
                                span two groups, and a group with any clip left to do is encoded
                                again whole, so a resumed run computes every batch exactly as an
                                uninterrupted run with the same options and threads does */
    int retry_failed;        /* 1: clips recorded as failed are tried again (default 0) */
    int allow_split_change;  /* 1: a stored clip the collection puts in another split is moved there
                                (default 0: refused, nothing written) */
    int verify_content;      /* 1: hash every video, also those whose path, size and mtime are
                                unchanged (default 0) */
    int shard_index;         /* with shard_count >= 1: encode only shard shard_index (1-based) of
                                shard_count, the groups g with g mod shard_count = shard_index - 1,
                                into a shard store (see slava_store_merge; default 0 / 0: all) */
    int shard_count;
    slava_store *done;       /* NULL, or another store (the target of a sharded run) whose complete
                                clips count as already stored (read only) */
    slava_precision precision; /* of the towers' products (default FP32; see slava_embedder_opts):
                                  bf16 features are stored under their own identities */
} slava_encode_opts;
void slava_encode_opts_default(slava_encode_opts *o);

/* Encoder identities (the names features are stored under): the sha256 (hex) of the checkpoint's
 * weight files + config.json; "+bf16" after it for features computed in bf16; the visual one gets
 * "@<fps>fps" appended when fps != 1 (frames at another rate are other features). So float32 and
 * bf16 features never mix in a store. Fills id[slava_modality] (each 96 bytes). Reads the whole
 * weight files once (about 2 s per GB). slava_encoder_ids is the float32 case. */
#define SLAVA_ENCODER_ID_LEN 96
slava_status slava_encoder_ids(slava_ctx *ctx, const char *clip_dir, const char *clap_dir, double fps,
                               char id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]);
slava_status slava_encoder_ids_precision(slava_ctx *ctx, const char *clip_dir, const char *clap_dir, double fps,
                                         slava_precision precision, char id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]);
/* The precision an identity's features were computed in: BF16 when it carries "+bf16". A reader of
 * stored features (search, serve) embeds its queries in the same precision unless told another
 * (--precision: queries are not stored, and bf16 queries are close to fp32 ones, docs/speed.md). */
slava_precision slava_encoder_id_precision(const char *id);
/* "fp32" / "bf16"; slava_precision_parse returns 0 and sets *p, or -1 for another name. */
const char *slava_precision_name(slava_precision p);
int         slava_precision_parse(const char *name, slava_precision *p);

typedef struct {
    char *clip;              /* clip id */
    int   split;
    char *reason;            /* one line */
} slava_encode_failure;

typedef struct {
    int     clips;           /* clips in the collection (in a shard run: in this shard's groups) */
    int     skipped;         /* already complete in the store: left untouched */
    int     prev_failed;     /* recorded as failed by an earlier run, not retried */
    int     encoded;         /* encoded and committed by this run */
    int     no_audio;        /* of those, clips without an audio track */
    int     failed;          /* recorded with an error by this run */
    int     updated;         /* of the encoded, clips already stored whose video or captions changed */
    int     moved;           /* clips moved to the split the collection gives (allow_split_change) */
    int64_t frames, chunks;  /* frames / audio chunks encoded by this run */
    int64_t captions;        /* caption features stored by this run */
    int64_t captions_reused; /* of those, copied from an identical text already encoded */
    /* Seconds: t_decode is the decode thread's busy time (overlaps the rest); t_wait the time the
     * encoding thread waited for decoded clips; vision / audio / text / store its own work. */
    double  t_decode, t_wait, t_vision, t_audio, t_text, t_store, seconds;
    char    encoder_id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    int     n_failures;
    slava_encode_failure *failures;   /* this run's failed clips, in collection order */
    double  peak_rss_mib;    /* the process's peak resident set when the run ended (getrusage),
                                weights + activations + decode queue; MiB */
    double  cpu_decode;      /* CPU seconds the decode thread used (its wall time is t_decode) */
    double  cpu_setup;       /* CPU seconds of the process before decoding started (the weights'
                                sha256, the store plan, loading the towers) */
} slava_encode_summary;

/* Encode collection c into store s (opened by the caller). Returns SLAVA_OK when every clip was
 * either stored or recorded as failed (see sum->failed); an error only for what stops the whole
 * run (a checkpoint that does not load, a store write failing, cancellation, out of memory).
 * sum is filled in both cases; free it with slava_encode_summary_free. */
slava_status slava_encode_collection(slava_ctx *ctx, const slava_collection *c, slava_store *s,
                                     const slava_encode_opts *o, slava_encode_summary *sum);
void         slava_encode_summary_free(slava_encode_summary *sum);

/* --- shards (slava encode --shard I/N, mpirun -n N slava encode, slava store merge) ---
 * A shard store holds the share of a collection that shard I of N encoded: the groups g of
 * group_clips consecutive clips (collection order, g = 0, 1, ...) with g mod N = I - 1. Besides
 * the tables above it records what it is a share of (table `shard`, key / value) and the caption
 * texts whose feature it computed in the batch of the text's first clip in the whole collection
 * (table `shard_first_text`); a text first met in another shard's group is encoded there on its
 * own instead, and the merge takes the first shard's value. So the merged store holds the bytes
 * a one-process encode with the same options (and threads) stores. */
typedef struct {
    int  index, count;                 /* shard index (1-based) of count */
    int  group_clips;                  /* clips per group (slava_encode_opts.group_clips) */
    int  threads;                      /* threads the shard was encoded with (information) */
    int  complete;                     /* 1: the encode finished every group of the share */
    char collection[65];               /* sha256 (hex) of the clip ids, splits and captions, in order */
    char options[160];                 /* encode options that change the stored bytes */
    char encoder[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    char token[33];                    /* random id of this shard file (hex) */
} slava_shard_info;
/* Read s's shard record: *is_shard = 0 (out zeroed) when s is not a shard store. */
slava_status slava_store_get_shard(slava_ctx *ctx, slava_store *s, slava_shard_info *out, int *is_shard);

/* Merge the shard stores paths[0..n) into out (which must not be a shard itself). Every shard
 * must be complete and of the same encode as the others (collection, encoders, options, group
 * size, count); the same file given twice is merged once, two different files claiming the same
 * index are refused. Rows already in out are kept (a clip under another split or a caption with
 * another text is refused); a clip out recorded as failed and a shard holds encoded replaces the
 * failure. A text feature takes the value of the shard that computed the text in its first
 * clip's batch (out's own features of such a text are corrected to it). Idempotent: merging the
 * same shards again changes nothing. Transactional: everything is merged in one transaction and
 * any error leaves out as it was; with SLAVA_MERGE_COMMIT_EACH each shard is one transaction
 * instead (whole shards only; for very large merges). Shards may be a subset of the N (merge the
 * rest later). counts (may be NULL): clips / captions / features added and kept; progress: stage
 * "merge", done / total in clips of all shards. */
#define SLAVA_MERGE_COMMIT_EACH 1u
slava_status slava_store_merge(slava_ctx *ctx, slava_store *out, int n, const char *const *paths, unsigned flags,
                               slava_store_counts *counts);

/* A sharded encode over the ranks of an MPI job (mpirun -n N slava encode): every rank calls it
 * with the same collection and options and its own shard_path (a file of its own, e.g. on the
 * node's local disk; SQLite must not be written from several hosts). Rank r encodes shard r+1 of
 * N into shard_path (clips complete in `target` count as done); when all are through, rank 0
 * merges the N shards into the store at `target` (created when missing), one transaction per
 * shard — reading a shard in place where it sees the file, else receiving it over MPI into a
 * file beside target — and every shard file is removed. A killed rank leaves whole clips only:
 * the same call again resumes. Every rank returns the same status (a rank's failure is reported
 * on all, "rank R: ..."); sum holds the totals of all ranks (failures in collection order) and
 * merged (may be NULL) the merge's counts. In a world of one it is slava_encode_collection into
 * target. */
#define SLAVA_DIST_SEND_SHARDS 1u   /* flags: send every shard to rank 0 over MPI, even one it sees */
slava_status slava_encode_dist(slava_ctx *ctx, const slava_collection *c, const char *target, const char *shard_path,
                               const slava_encode_opts *o, unsigned flags, slava_encode_summary *sum,
                               slava_store_counts *merged);

/* ===================================================================== index and search */

/* A search index (docs/search.md): built from a feature store without any tower, it holds per
 * clip the pooled visual and audio embeddings and one embedding per moment (frame / 10 s chunk)
 * with its times, all projected through the heads (trained heads, or the checkpoints' own
 * projections) and L2-normalised, stored as float32 or float16; plus the clips' source paths,
 * durations, audio flags and captions, the encoders' identities (the store's encoder names), the
 * heads' identity (sha256 of the heads file) and the folders it was built with.
 *
 * Moments: visual row k of a clip covers [k/fps, (k+1)/fps) cut at the clip's duration (fps is
 * read from the visual encoder id's "@<fps>fps", 1 without it); audio row k covers
 * [10k, min(10k + 10, duration)].
 *
 * Threads: a slava_index is read-only after slava_index_open; any number of threads may call
 * slava_index_get_info / slava_index_get_clip / slava_index_find_clip / slava_search /
 * slava_search_query_build (with its own ctx per thread) on one index at the same time.
 * A slava_embedder is NOT thread-safe: calls that pass one must be serialised per embedder (a
 * server keeps one embedder behind a mutex, or one per worker). */
typedef struct slava_index slava_index;

typedef struct {
    const char *store;       /* feature store to index (opened read-only) */
    const char *out;         /* index file to write; when it holds an index, it is updated */
    const char *heads;       /* trained heads file, or NULL: the checkpoints' own projections */
    const char *clip_dir;    /* CLIP folder: visual projection when heads == NULL; recorded for queries */
    const char *clap_dir;    /* CLAP folder: audio projection when heads == NULL; recorded for queries */
    unsigned split_mask;     /* splits to index (bits 1 << slava_split); 0 = all */
    const char *encoder[SLAVA_MODS]; /* chosen encoder per modality as in slava_store_load (NULL: the only one) */
    int f16;                 /* 1: store embeddings as float16 (half the memory; scores within ~1e-3) */
    int force;               /* 1: accept heads whose recorded encoders differ from the store's */
    int ann;                 /* approximate index: 0 never, 1 always, -1 auto (>= 200,000 rows; default) */
    int precision;           /* -1 (default): whatever the store holds; else a slava_precision: for every
                                modality without an encoder[] choice, the store's one encoder of that
                                precision (identity with / without "+bf16"); none is SLAVA_E_ARG naming
                                the store, the modality and what it holds; several of it are the
                                choose-one error of slava_store_load */
} slava_index_opts;
void slava_index_opts_default(slava_index_opts *o);

/* What slava_index_build did. Items are clips; rows are embeddings (pooled + moments). */
typedef struct {
    int     clips;           /* clips in the index now */
    int     added, removed;  /* clips added / removed compared with the index that was at o->out */
    int     updated;         /* clips whose features, source, duration or captions changed */
    int     unchanged;       /* clips taken over from the old index as they were */
    int     rebuilt;         /* 1: no usable old index (absent, or other heads / encoders / dtype) */
    int64_t rows;            /* embeddings in the index now */
    int64_t rows_added, rows_removed;
    int64_t rows_projected;  /* feature rows projected by this run */
    int     ann_built;       /* 1: the approximate index was (re)built */
    double  seconds;
} slava_index_summary;

/* Build or update the index o->out from o->store. Only clips whose features are new or changed
 * are projected; the file is replaced atomically, and left untouched when nothing changed. Refused: o->out naming the store or the heads file,
 * an existing o->out that is not a slava index, heads whose recorded encoders differ from the
 * store's (unless o->force; the message names both identities), a store with no clip features.
 * Progress: stage "index", done / total in clips. sum may be NULL. */
slava_status slava_index_build(slava_ctx *ctx, const slava_index_opts *o, slava_index_summary *sum);

/* Open an index file (validated completely: a corrupt or truncated file is SLAVA_E_FORMAT naming
 * it). The index keeps the file mapped; free with slava_index_free. */
slava_status slava_index_open(slava_ctx *ctx, const char *path, slava_index **out);
void         slava_index_free(slava_index *ix);

typedef struct {
    int     n_clips;
    int     n_audio_clips;   /* clips with an audio track (audio rows) */
    int64_t n_frames;        /* visual moment rows */
    int64_t n_chunks;        /* audio moment rows */
    int     dim;             /* embedding size P */
    int     f16;             /* 1: stored as float16 */
    double  fps;             /* frame rate of the visual features */
    char    encoder_id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]; /* store's encoder names ("" when absent) */
    char    heads_id[65];    /* sha256 (hex) of the heads file, "" for checkpoint projections */
    /* As recorded at build time (absolute paths), NULL when not given; borrowed from ix. */
    const char *store, *heads, *clip_dir, *clap_dir;
    int     has_ann;         /* an approximate index is present and current */
    const char *ann_kind;    /* e.g. "hnswlib M=32 ef_construction=200"; "" without one */
    slava_precision precision; /* of the features: BF16 when an encoder identity carries "+bf16"
                                  (search and serve embed queries in it unless told another) */
} slava_index_info;
void slava_index_get_info(const slava_index *ix, slava_index_info *info);

/* One clip of the index; every pointer is borrowed from ix (valid until slava_index_free). */
typedef struct {
    const char *id;          /* clip id (the media file's stem) */
    const char *source;      /* media path as stored by encode (NULL when unknown) */
    int     split;           /* slava_split */
    double  duration;        /* seconds (< 0 unknown) */
    int     has_audio;
    int     n_frames, n_chunks;                      /* moments */
    int     n_captions[SLAVA_CAP_KINDS];
    const char *const *captions[SLAVA_CAP_KINDS];    /* [n_captions[k]] texts (entries may be NULL) */
} slava_index_clip;
/* Clip number i (0 <= i < n_clips; clips are ordered by split, then id). */
void slava_index_get_clip(const slava_index *ix, int i, slava_index_clip *out);
/* Number of the clip with this id, or -1. */
int  slava_index_find_clip(const slava_index *ix, const char *id);

/* --- queries ---
 * A query is a weighted sum of terms. Each term is embedded and L2-normalised (text: text tower
 * + head; image: one frame; video: mean over its frames; audio: mean over its 10 s chunks; a clip
 * of the index: its pooled visual embedding for visual rows and its pooled audio embedding
 * (visual when it has no audio) for audio rows); then q = sum(weight_i * e_i) / ||...||.
 * A negative weight moves the query away from a term ("dog" + "-indoor"). */
typedef enum {
    SLAVA_TERM_TEXT = 0,     /* value: the text */
    SLAVA_TERM_AUDIO = 1,    /* value: any media file with an audio stream (wav, mp4's sound track) */
    SLAVA_TERM_VIDEO = 2,    /* value: a video file (its frames at the index's fps) */
    SLAVA_TERM_IMAGE = 3,    /* value: an image file */
    SLAVA_TERM_CLIP = 4      /* value: the id of a clip in the index */
} slava_term_kind;
typedef struct {
    slava_term_kind kind;
    const char *value;       /* borrowed */
    float weight;            /* != 0; negative: away from this term */
} slava_search_term;
/* A command-line style term: a leading '-' makes the weight -1 (and is removed); a leading "\-"
 * stands for a literal '-'. t->value points into arg. */
void slava_search_term_from_arg(slava_term_kind kind, const char *arg, slava_search_term *t);
const char *slava_term_kind_name(slava_term_kind k);   /* "text" "audio" "video" "image" "clip" */

/* The query vectors: visual is compared with visual rows, audio with audio rows. */
typedef struct {
    int    dim;
    float *visual;           /* [dim], unit length (malloc'd; slava_search_query_free) */
    float *audio;            /* [dim], unit length */
} slava_search_query;
/* Embed the terms with e (may be NULL when every term is a clip id) and combine them. Each term's
 * encoder must be the one the index was built with (the identities are compared: a mismatch is
 * SLAVA_E_ARG naming both; the checkpoint and the frame rate must match, the precision tag "+bf16"
 * is ignored, since e's precision is the caller's choice for the queries), and e's projection
 * must be the index's (same heads id). Errors name the term. */
slava_status slava_search_query_build(slava_ctx *ctx, const slava_index *ix, slava_embedder *e, int n,
                                      const slava_search_term *terms, slava_search_query *q);
void         slava_search_query_free(slava_search_query *q);

/* --- search ---
 * Score of a clip in one modality m: the largest cosine between q.m and the clip's pooled
 * embedding or any of its moments (the best moment is reported). in = both: the mean of the
 * visual and audio scores for clips with audio, the visual score for clips without; the modality
 * reported is the one with the higher score. Ties rank by clip number. */
typedef enum { SLAVA_IN_VISUAL = 1, SLAVA_IN_AUDIO = 2, SLAVA_IN_BOTH = 3 } slava_search_in;
const char *slava_search_in_name(int in);   /* "visual" "audio" "both" */
int         slava_search_in_parse(const char *name);   /* -1 when unknown */

typedef struct {
    int in;                  /* slava_search_in (default SLAVA_IN_BOTH) */
    int k;                   /* results wanted (default 10); more than the clips gives every clip */
    int exact;               /* 1: always the exact scan, even when an approximate index exists */
    int ef;                  /* approximate search breadth (0: default 256) */
} slava_search_opts;
void slava_search_opts_default(slava_search_opts *o);

typedef struct {
    int    clip;             /* clip number (slava_index_get_clip) */
    const char *id;          /* borrowed from the index */
    const char *source;      /* borrowed; NULL when unknown */
    float  score;
    int    modality;         /* SLAVA_MOD_VISUAL or SLAVA_MOD_AUDIO: where the best moment is */
    double t_start, t_end;   /* the best-matching moment, seconds */
    float  score_visual, score_audio;   /* the per-modality scores (NAN when not computed / no audio) */
} slava_search_hit;

/* Top o->k clips for q into hits[o->k] (caller's array), best first; *n_hits = min(k, clips that
 * can match: every clip for visual / both, clips with audio for audio). An empty index gives 0. */
slava_status slava_search(slava_ctx *ctx, const slava_index *ix, const slava_search_query *q,
                          const slava_search_opts *o, slava_search_hit *hits, int *n_hits);

/* Results as text, the one formatter of the CLI and the server (malloc'd, caller frees; NULL when
 * out of memory). SLAVA_FMT_JSON: {"query": {"terms": [{"kind", "value", "weight"}], "in", "k"},
 * "results": [{"clip", "source", "score", "modality", "t_start", "t_end", "score_visual",
 * "score_audio"}]} (docs/search.md); SLAVA_FMT_MD: a table. Always valid UTF-8. */
char *slava_search_format(const slava_index *ix, int n_terms, const slava_search_term *terms,
                          const slava_search_opts *o, const slava_search_hit *hits, int n_hits,
                          slava_format fmt);

/* ===================================================================== serve (HTTP server) */

/* `slava serve`: a local HTTP server over a search index (docs/serve.md): the search page, a JSON
 * API (/api/search, /api/clip/ID, /api/health), OpenAI-style /v1/embeddings, and the indexed
 * media by clip id (/media/ID with range requests, /thumb/ID?t=S JPEG thumbnails). Built on
 * civetweb with a fixed pool of worker threads; the towers are loaded once at start and shared
 * behind a mutex. Only files the index names are ever served, looked up by clip id.
 * Warnings (5xx answers, failed uploads) go to the log callback of the ctx given to
 * slava_server_start, from the worker threads, one call at a time; that ctx must outlive the
 * server. The server never prints. */
typedef struct slava_server slava_server;

typedef struct {
    const char *index;       /* index file (slava index) */
    const char *host;        /* IPv4 address or host name to bind (default "127.0.0.1") */
    int     port;            /* default 8080; 0: any free port (see slava_server_port) */
    int     workers;         /* HTTP worker threads (default 8) */
    const char *clip_dir;    /* CLIP folder for text / image / video queries (NULL: the index's) */
    const char *clap_dir;    /* CLAP folder for audio queries (NULL: the index's) */
    const char *heads;       /* heads file (NULL: the index's) */
    int64_t max_upload;      /* largest upload in bytes (default 50 MB = 50,000,000) */
    int     timeout_ms;      /* socket read / write timeout per request (default 30000) */
    int     max_k;           /* largest k a request may ask for (default 100) */
    size_t  thumb_cache;     /* bytes of JPEG thumbnails kept in memory (default 64 MiB) */
    int     thumb_width;     /* thumbnail width in pixels (default 320) */
    const char *tmp_dir;     /* where uploads are spooled (default $TMPDIR, else /tmp) */
    int     precision;       /* the queries' embedding precision: -1 (default) that of the index's
                                features ("+bf16" identities), else a slava_precision */
} slava_server_opts;
void slava_server_opts_default(slava_server_opts *o);

/* Open the index, load the towers it needs (a query kind whose folder is missing is answered 503),
 * bind host:port and start the workers. Errors: the index, a folder, an address in use. */
slava_status slava_server_start(slava_ctx *ctx, const slava_server_opts *o, slava_server **out);
int          slava_server_port(const slava_server *s);   /* the port bound */
const char  *slava_server_url(const slava_server *s);    /* "http://127.0.0.1:8080/" */
/* Stop accepting, finish the requests in flight, join the workers and free everything. */
void         slava_server_stop(slava_server *s);

#ifdef __cplusplus
}
#endif
#endif /* SLAVA_H */
