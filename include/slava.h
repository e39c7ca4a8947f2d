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
