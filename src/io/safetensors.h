/*
 * safetensors.h — the one safetensors reader and writer.
 *
 * Reader: mmaps the file, parses the JSON header with cJSON and validates everything before any
 * tensor is used (header length inside the file, valid JSON object, known dtype, shape product ×
 * dtype size == byte span, spans inside the data section, no overlaps, unique names).
 * A checkpoint folder (sv_weights) is `model.safetensors` or the shards listed in
 * `model.safetensors.index.json`; tensors are looked up by name with the expected shape, F32 is
 * used in place (zero copy), F16/BF16 are converted to F32 once and owned by the sv_weights.
 *
 * Writer: sv_st_write() writes tensors (any dtype) + optional string metadata.
 */
#ifndef SLAVA_SAFETENSORS_H
#define SLAVA_SAFETENSORS_H

#include "base/base.h"

typedef enum {
    SV_BOOL, SV_U8, SV_I8, SV_I16, SV_U16, SV_F16, SV_BF16, SV_I32, SV_U32, SV_F32, SV_F64, SV_I64, SV_U64,
    SV_DTYPE_COUNT
} sv_dtype;

#define SV_MAX_DIMS 8

typedef struct {
    char       *name;
    sv_dtype    dtype;
    int         ndim;
    int64_t     shape[SV_MAX_DIMS];
    int64_t     numel;
    size_t      nbytes;
    const void *data;        /* inside the mmap (little-endian, may be unaligned for non-F32) */
} sv_tensor;

typedef struct {
    char      *path;
    void      *map;
    size_t     map_len;
    int        n;
    sv_tensor *tensors;
    char      *metadata_json; /* the "__metadata__" object serialised, or NULL */
} sv_stfile;

const char *sv_dtype_name(sv_dtype t);
size_t      sv_dtype_size(sv_dtype t);

/* Open + validate one .safetensors file. */
slava_status sv_st_open(slava_ctx *ctx, const char *path, sv_stfile **out);
/* Parse + validate a header from memory (used by sv_st_open and the fuzzer). `buf` is the whole
 * file. On success fills f->tensors (data pointers into buf), f->metadata_json. */
slava_status sv_st_parse(slava_ctx *ctx, const char *path, const void *buf, size_t len, sv_stfile *f);
void         sv_st_close(sv_stfile *f);
const sv_tensor *sv_st_find(const sv_stfile *f, const char *name);
/* sha256 (hex, 64 chars + NUL) of the file's bytes. */
slava_status sv_st_sha256(slava_ctx *ctx, const sv_stfile *f, char out[65]);
/* Metadata value by key from __metadata__ (malloc'd copy) or NULL. */
char *sv_st_meta(const sv_stfile *f, const char *key);
/* IEEE float16 bits → float (subnormals, inf and NaN kept). */
float sv_half_to_float(uint16_t h);
/* Copy any float dtype (F32/F16/BF16/F64) or integer tensor to float32 `out[numel]`. */
slava_status sv_tensor_to_f32(slava_ctx *ctx, const char *path, const sv_tensor *t, float *out);

/* A checkpoint folder (single file or sharded). */
typedef struct sv_weights sv_weights;
slava_status sv_weights_open(slava_ctx *ctx, const char *dir, sv_weights **out);
void         sv_weights_free(sv_weights *w);
const char  *sv_weights_dir(const sv_weights *w);
/* Lookup without shape check (NULL if absent); `file` receives the shard path for messages. */
const sv_tensor *sv_weights_find(const sv_weights *w, const char *name, const char **file);
/* Float32 view of tensor `name` with exactly the shape (ndim, dims...) expected, else an error
 *   "<file>: tensor '<name>' is [a,b], config says [c,d]"  or  "<dir>: tensor '<name>' is missing".
 * The pointer stays valid until sv_weights_free. */
slava_status sv_weights_get(slava_ctx *ctx, sv_weights *w, const char *name, const float **out,
                            int ndim, ...);
/* Returns the pages of [p, p + bytes) to the kernel when that range lies inside one of the folder's
 * file mappings (only the pages wholly inside it; anything else is left alone). Used once a tensor
 * has been packed into the copy the products read: the mapping stays valid and a later read faults
 * the pages back in from the page cache, but they no longer count in the resident set.
 * Signature of nn.h's sv_drop_fn (weights = the sv_weights). */
void sv_weights_drop(void *weights, const void *p, size_t bytes);
/* sha256 (hex, 64 chars + NUL) of all weight files' bytes in name order + config.json. */
slava_status sv_weights_sha256(slava_ctx *ctx, const sv_weights *w, char out[65]);

/* Writer. */
typedef struct {
    const char *name;
    sv_dtype    dtype;
    int         ndim;
    int64_t     shape[SV_MAX_DIMS];
    const void *data;        /* numel × dtype size bytes, little-endian */
} sv_wtensor;
/* meta: NULL or an array of key, value, key, value, ..., NULL. Written atomically (temporary file,
 * fsync, rename: base/atomic_file.h); a full disk is reported as such and leaves path as it was. */
slava_status sv_st_write(slava_ctx *ctx, const char *path, const sv_wtensor *t, int n,
                         const char *const *meta);

#endif
