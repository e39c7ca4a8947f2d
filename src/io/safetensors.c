/*
 * safetensors.c — the one safetensors reader (mmap + validated header) and writer, and the
 * checkpoint-folder view (single file or sharded via model.safetensors.index.json) that the
 * encoders use to fetch float32 tensors by name with the shape their config expects.
 *
 * File format: u64 little-endian header length N, N bytes of JSON header, then the data section.
 * Header: { "__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]}, ... } with offsets relative to the data section.
 * This host is assumed little-endian (x86-64, aarch64), like the format.
 */
#include "io/safetensors.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libavutil/sha.h>
#include <libavutil/mem.h>

static const struct { const char *name; size_t size; } dtypes[SV_DTYPE_COUNT] = {
    [SV_BOOL] = {"BOOL", 1}, [SV_U8] = {"U8", 1},   [SV_I8] = {"I8", 1},     [SV_I16] = {"I16", 2},
    [SV_U16] = {"U16", 2},   [SV_F16] = {"F16", 2}, [SV_BF16] = {"BF16", 2}, [SV_I32] = {"I32", 4},
    [SV_U32] = {"U32", 4},   [SV_F32] = {"F32", 4}, [SV_F64] = {"F64", 8},   [SV_I64] = {"I64", 8},
    [SV_U64] = {"U64", 8},
};

const char *sv_dtype_name(sv_dtype t) { return (unsigned)t < SV_DTYPE_COUNT ? dtypes[t].name : "?"; }
size_t sv_dtype_size(sv_dtype t) { return (unsigned)t < SV_DTYPE_COUNT ? dtypes[t].size : 0; }

static int dtype_from_name(const char *s) {
    for (int i = 0; i < SV_DTYPE_COUNT; i++)
        if (!strcmp(s, dtypes[i].name)) return i;
    return -1;
}

/* A JSON number that is a non-negative integer exactly representable (≤ 2^53). */
static int json_u53(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const sv_tensor *)a)->name, ((const sv_tensor *)b)->name);
}

typedef struct { uint64_t begin, end; const char *name; } span;
static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = 0;
    k += snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < ndim && k < cap; i++) k += snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static void free_tensors(sv_stfile *f) {
    for (int i = 0; i < f->n; i++) free(f->tensors[i].name);
    free(f->tensors);
    free(f->metadata_json);
    f->tensors = NULL;
    f->metadata_json = NULL;
    f->n = 0;
}

slava_status sv_st_parse(slava_ctx *ctx, const char *path, const void *buf, size_t len, sv_stfile *f) {
    const unsigned char *b = buf;
    f->n = 0;
    f->tensors = NULL;
    f->metadata_json = NULL;
    if (len < 8) return sv_err(ctx, SLAVA_E_FORMAT, "%s: truncated safetensors file (%zu bytes, need at least 8)", path, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    if (hlen > len - 8)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", path,
                      (unsigned long long)hlen, len);
    if (hlen < 2) return sv_err(ctx, SLAVA_E_FORMAT, "%s: header of %llu bytes is not a JSON object", path, (unsigned long long)hlen);
    const char *hdr = (const char *)b + 8;
    const unsigned char *data = b + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sv_nomem_if_low(ctx, sv_err(ctx, SLAVA_E_FORMAT, "%s: header is not a valid JSON object", path), path,
                               "parsing its header");
    }
    /* Only spaces may follow the JSON (padding to 8 bytes). */
    for (const char *p = end; p && p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != 0) {
            cJSON_Delete(root);
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: trailing bytes after the JSON header", path);
        }
    int count = 0;
    for (cJSON *it = root->child; it; it = it->next) count++;
    f->tensors = calloc(count ? count : 1, sizeof(sv_tensor));
    span *spans = calloc(count ? count : 1, sizeof(span));
    slava_status st = SLAVA_OK;
    if (!f->tensors || !spans) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
    for (cJSON *it = root->child; it; it = it->next) {
        const char *name = it->string ? it->string : "";
        if (!strcmp(name, "__metadata__")) {
            if (!cJSON_IsObject(it)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ is not an object", path); goto done; }
            for (cJSON *m = it->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    st = sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ value '%s' is not a string", path, m->string);
                    goto done;
                }
            if (f->metadata_json) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: duplicate __metadata__", path); goto done; }
            f->metadata_json = cJSON_PrintUnformatted(it);
            continue;
        }
        if (!cJSON_IsObject(it)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: entry '%s' is not an object", path, name); goto done; }
        const cJSON *jd = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(it, "shape");
        const cJSON *jo = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsString(jd)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has no dtype string", path, name); goto done; }
        int dt = dtype_from_name(jd->valuestring);
        if (dt < 0) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has unknown dtype '%s'", path, name, jd->valuestring); goto done; }
        if (!cJSON_IsArray(js)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has no shape array", path, name); goto done; }
        if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' needs data_offsets [begin, end]", path, name);
            goto done;
        }
        sv_tensor *t = &f->tensors[f->n];
        t->dtype = (sv_dtype)dt;
        t->ndim = cJSON_GetArraySize(js);
        if (t->ndim > SV_MAX_DIMS) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has %d dimensions (max %d)", path, name, t->ndim, SV_MAX_DIMS); goto done; }
        uint64_t numel = 1;
        int d = 0;
        for (cJSON *e = js->child; e; e = e->next, d++) {
            uint64_t v;
            if (!json_u53(e, &v)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has a bad shape entry", path, name); goto done; }
            t->shape[d] = (int64_t)v;
            if (v && numel > UINT64_MAX / v) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' shape overflows", path, name); goto done; }
            numel *= v;
        }
        uint64_t b0, b1;
        if (!json_u53(jo->child, &b0) || !json_u53(jo->child->next, &b1) || b1 < b0) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has bad data_offsets", path, name);
            goto done;
        }
        size_t es = sv_dtype_size(t->dtype);
        if (numel > UINT64_MAX / es || numel * es != b1 - b0) {
            char sh[256];
            shape_str(sh, sizeof sh, t->ndim, t->shape);
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' is %s %s (%llu bytes) but its span holds %llu bytes", path, name,
                        jd->valuestring, sh, (unsigned long long)(numel * es), (unsigned long long)(b1 - b0));
            goto done;
        }
        if (b1 > data_len) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' span [%llu, %llu) lies outside the data section (%llu bytes)", path,
                        name, (unsigned long long)b0, (unsigned long long)b1, (unsigned long long)data_len);
            goto done;
        }
        t->name = sv_strdup(name);
        if (!t->name) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
        t->numel = (int64_t)numel;
        t->nbytes = (size_t)(b1 - b0);
        t->data = data + b0;
        spans[f->n] = (span){b0, b1, t->name};
        f->n++;
    }
    /* Unique names. */
    qsort(f->tensors, f->n, sizeof(sv_tensor), cmp_tensor_name);
    for (int i = 1; i < f->n; i++)
        if (!strcmp(f->tensors[i - 1].name, f->tensors[i].name)) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor name '%s' appears twice", path, f->tensors[i].name);
            goto done;
        }
    /* No overlapping spans (empty tensors overlap nothing). */
    qsort(spans, f->n, sizeof(span), cmp_span);
    uint64_t last_end = 0;
    const char *last_name = NULL;
    for (int i = 0; i < f->n; i++) {
        if (spans[i].begin == spans[i].end) continue;
        if (last_name && spans[i].begin < last_end) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section", path, last_name, spans[i].name);
            goto done;
        }
        last_end = spans[i].end;
        last_name = spans[i].name;
    }
done:
    free(spans);
    cJSON_Delete(root);
    if (st != SLAVA_OK) free_tensors(f);
    return st;
}

slava_status sv_st_open(slava_ctx *ctx, const char *path, sv_stfile **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sv_err(ctx, SLAVA_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode)) {
        close(fd);
        return sv_err(ctx, SLAVA_E_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)stt.st_size;
    if (len < 8) {
        close(fd);
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: truncated safetensors file (%zu bytes, need at least 8)", path, len);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED && errno == ENOMEM)
        return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory mapping the file (%zu MiB of address space)", path, len >> 20);
    if (map == MAP_FAILED) return sv_err(ctx, SLAVA_E_IO, "%s: cannot map: %s", path, strerror(errno));
    sv_stfile *f = calloc(1, sizeof *f);
    if (!f) { munmap(map, len); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    f->map = map;
    f->map_len = len;
    f->path = sv_strdup(path);
    slava_status st = sv_st_parse(ctx, path, map, len, f);
    if (st != SLAVA_OK) { sv_st_close(f); return st; }
    *out = f;
    return SLAVA_OK;
}

void sv_st_close(sv_stfile *f) {
    if (!f) return;
    free_tensors(f);
    if (f->map) munmap(f->map, f->map_len);
    free(f->path);
    free(f);
}

const sv_tensor *sv_st_find(const sv_stfile *f, const char *name) {
    sv_tensor key = {.name = (char *)name};
    return bsearch(&key, f->tensors, f->n, sizeof(sv_tensor), cmp_tensor_name);
}

char *sv_st_meta(const sv_stfile *f, const char *key) {
    if (!f->metadata_json) return NULL;
    cJSON *m = cJSON_Parse(f->metadata_json);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    char *r = cJSON_IsString(v) ? sv_strdup(v->valuestring) : NULL;
    cJSON_Delete(m);
    return r;
}

float sv_half_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    if (e == 0) {
        if (m == 0) u = s;
        else { /* subnormal: normalise */
            e = 127 - 15 + 1;
            while (!(m & 0x400)) { m <<= 1; e--; }
            m &= 0x3ff;
            u = s | (e << 23) | (m << 13);
        }
    } else if (e == 31) u = s | 0x7f800000u | (m << 13);
    else u = s | ((e + 127 - 15) << 23) | (m << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

slava_status sv_tensor_to_f32(slava_ctx *ctx, const char *path, const sv_tensor *t, float *out) {
    const unsigned char *p = t->data;
    int64_t n = t->numel;
    switch (t->dtype) {
    case SV_F32: memcpy(out, p, (size_t)n * 4); break;
    case SV_F16:
        for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); out[i] = sv_half_to_float(h); }
        break;
    case SV_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h; memcpy(&h, p + 2 * i, 2);
            uint32_t u = (uint32_t)h << 16; memcpy(&out[i], &u, 4);
        }
        break;
    case SV_F64: for (int64_t i = 0; i < n; i++) { double d; memcpy(&d, p + 8 * i, 8); out[i] = (float)d; } break;
    case SV_I64: for (int64_t i = 0; i < n; i++) { int64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; } break;
    case SV_I32: for (int64_t i = 0; i < n; i++) { int32_t v; memcpy(&v, p + 4 * i, 4); out[i] = (float)v; } break;
    case SV_U8: for (int64_t i = 0; i < n; i++) out[i] = p[i]; break;
    default:
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' has dtype %s, which cannot be read as float", path, t->name,
                      sv_dtype_name(t->dtype));
    }
    return SLAVA_OK;
}

/* ------------------------------------------------------------------ checkpoint folder */

typedef struct converted { char *name; float *data; struct converted *next; } converted;

struct sv_weights {
    char *dir;
    char *config_path;
    int nfiles;
    sv_stfile **files;
    converted *conv;
};

const char *sv_weights_dir(const sv_weights *w) { return w->dir; }

void sv_weights_free(sv_weights *w) {
    if (!w) return;
    for (int i = 0; i < w->nfiles; i++) sv_st_close(w->files[i]);
    free(w->files);
    for (converted *c = w->conv, *n; c; c = n) { n = c->next; free(c->name); sv_free(c->data); free(c); }
    free(w->dir);
    free(w->config_path);
    free(w);
}

static slava_status open_sharded(slava_ctx *ctx, sv_weights *w, const char *index_path) {
    char *txt = NULL;
    SV_TRY(sv_read_file(ctx, index_path, &txt, NULL));
    cJSON *root = cJSON_Parse(txt);
    free(txt);
    slava_status st = SLAVA_OK;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: no \"weight_map\" object", index_path); goto out; }
    /* Distinct shard files, in order of first mention. */
    int cap = 0;
    for (cJSON *e = map->child; e; e = e->next) cap++;
    w->files = calloc(cap ? cap : 1, sizeof(sv_stfile *));
    if (!w->files) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", index_path); goto out; }
    for (cJSON *e = map->child; e; e = e->next) {
        if (!cJSON_IsString(e)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: weight_map entry '%s' is not a file name", index_path, e->string); goto out; }
        const char *fn = e->valuestring;
        if (strchr(fn, '/') || !strcmp(fn, "..")) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: shard name '%s' must be a plain file name", index_path, fn); goto out; }
        char *p = sv_path_join(w->dir, fn);
        int have = -1;
        for (int i = 0; i < w->nfiles; i++) if (!strcmp(w->files[i]->path, p)) have = i;
        if (have < 0) {
            st = sv_st_open(ctx, p, &w->files[w->nfiles]);
            if (st != SLAVA_OK) { free(p); goto out; }
            have = w->nfiles++;
        }
        free(p);
        if (!sv_st_find(w->files[have], e->string)) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' is listed in %s but not stored there", w->files[have]->path,
                        e->string, index_path);
            goto out;
        }
    }
out:
    cJSON_Delete(root);
    return st;
}

slava_status sv_weights_open(slava_ctx *ctx, const char *dir, sv_weights **out) {
    *out = NULL;
    sv_weights *w = calloc(1, sizeof *w);
    if (!w) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    w->dir = sv_strdup(dir);
    w->config_path = sv_path_join(dir, "config.json");
    char *single = sv_path_join(dir, "model.safetensors");
    char *index = sv_path_join(dir, "model.safetensors.index.json");
    slava_status st;
    if (sv_file_exists(single)) {
        w->files = calloc(1, sizeof(sv_stfile *));
        st = w->files ? sv_st_open(ctx, single, &w->files[0]) : sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
        if (st == SLAVA_OK) w->nfiles = 1;
    } else if (sv_file_exists(index)) {
        st = open_sharded(ctx, w, index);
    } else {
        st = sv_err(ctx, SLAVA_E_IO, "%s: no model.safetensors or model.safetensors.index.json in this folder", dir);
    }
    free(single);
    free(index);
    if (st != SLAVA_OK) { sv_weights_free(w); return st; }
    *out = w;
    return SLAVA_OK;
}

const sv_tensor *sv_weights_find(const sv_weights *w, const char *name, const char **file) {
    for (int i = 0; i < w->nfiles; i++) {
        const sv_tensor *t = sv_st_find(w->files[i], name);
        if (t) { if (file) *file = w->files[i]->path; return t; }
    }
    return NULL;
}

slava_status sv_weights_get(slava_ctx *ctx, sv_weights *w, const char *name, const float **out, int ndim, ...) {
    *out = NULL;
    int64_t want[SV_MAX_DIMS];
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim && i < SV_MAX_DIMS; i++) want[i] = va_arg(ap, int);
    va_end(ap);
    const char *file = NULL;
    const sv_tensor *t = sv_weights_find(w, name, &file);
    if (!t) return sv_err(ctx, SLAVA_E_NOTFOUND, "%s: tensor '%s' is missing", w->nfiles == 1 ? w->files[0]->path : w->dir, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == want[i];
    if (!same) {
        char a[256], b[256];
        shape_str(a, sizeof a, t->ndim, t->shape);
        shape_str(b, sizeof b, ndim, want);
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' is %s, config says %s", file, name, a, b);
    }
    if (t->dtype != SV_F32 && t->dtype != SV_F16 && t->dtype != SV_BF16 && t->dtype != SV_F64)
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' has dtype %s, expected a float type", file, name, sv_dtype_name(t->dtype));
    if (t->dtype == SV_F32 && ((uintptr_t)t->data & 3) == 0) { *out = t->data; return SLAVA_OK; }
    for (converted *c = w->conv; c; c = c->next)
        if (!strcmp(c->name, name)) { *out = c->data; return SLAVA_OK; }
    converted *c = calloc(1, sizeof *c);
    float *d = sv_alloc((size_t)(t->numel ? t->numel : 1) * sizeof(float));
    if (!c || !d) { free(c); sv_free(d); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory converting '%s'", file, name); }
    slava_status st = sv_tensor_to_f32(ctx, file, t, d);
    if (st != SLAVA_OK) { free(c); sv_free(d); return st; }
    c->name = sv_strdup(name);
    c->data = d;
    c->next = w->conv;
    w->conv = c;
    *out = d;
    return SLAVA_OK;
}

void sv_weights_drop(void *weights, const void *p, size_t bytes) {
    const sv_weights *w = weights;
    const uintptr_t lo = (uintptr_t)p, hi = lo + bytes;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < w->nfiles; i++) {
        const uintptr_t m0 = (uintptr_t)w->files[i]->map, m1 = m0 + w->files[i]->map_len;
        if (lo < m0 || hi > m1) continue;
        const uintptr_t a = (lo + page - 1) / page * page, b = hi / page * page;
        if (a < b) madvise((void *)a, b - a, MADV_DONTNEED);   /* read-only private map: pages re-read on use */
        return;
    }
}

static int cmp_str_ptr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static struct AVSHA *sha_start(slava_ctx *ctx) {
    struct AVSHA *sha = av_sha_alloc();
    if (!sha || av_sha_init(sha, 256) < 0) {
        av_free(sha);
        sv_err(ctx, SLAVA_E_NOMEM, "sha256: cannot initialise");
        return NULL;
    }
    return sha;
}

/* Hash len bytes, 64 MiB at a time (about 0.1 s) with a cancellation check between: 1 when the
 * caller asked to stop. mapped: data is a read-only file mapping, whose pages are returned to the
 * kernel once hashed (hashing a 600 MB checkpoint would otherwise add 600 MB to the peak resident
 * set of `slava encode` before any tower is loaded). */
static int sha_bytes(const slava_ctx *ctx, struct AVSHA *sha, const void *data, size_t len, int mapped) {
    const uint8_t *p = data;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    while (len) {
        unsigned int step = len > (1u << 26) ? (1u << 26) : (unsigned int)len;
        if (sv_cancelled(ctx)) return 1;
        av_sha_update(sha, p, step);
        if (mapped) {
            const uintptr_t a = ((uintptr_t)p + page - 1) / page * page, b = ((uintptr_t)p + step) / page * page;
            if (a < b) madvise((void *)a, b - a, MADV_DONTNEED);
        }
        p += step;
        len -= step;
    }
    return 0;
}

static void sha_finish(struct AVSHA *sha, char out[65]) {
    uint8_t dig[32];
    av_sha_final(sha, dig);
    av_free(sha);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", dig[i]);
}

slava_status sv_st_sha256(slava_ctx *ctx, const sv_stfile *f, char out[65]) {
    struct AVSHA *sha = sha_start(ctx);
    if (!sha) return SLAVA_E_NOMEM;
    if (sha_bytes(ctx, sha, f->map, f->map_len, 1)) {
        av_free(sha);
        return sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: hashing interrupted", f->path);
    }
    sha_finish(sha, out);
    return SLAVA_OK;
}

slava_status sv_weights_sha256(slava_ctx *ctx, const sv_weights *w, char out[65]) {
    struct AVSHA *sha = sha_start(ctx);
    if (!sha) return SLAVA_E_NOMEM;
    char **names = calloc(w->nfiles ? w->nfiles : 1, sizeof(char *));
    if (!names) { av_free(sha); return sv_err(ctx, SLAVA_E_NOMEM, "sha256: out of memory"); }
    for (int i = 0; i < w->nfiles; i++) names[i] = w->files[i]->path;
    qsort(names, w->nfiles, sizeof(char *), cmp_str_ptr);
    for (int i = 0; i < w->nfiles; i++)
        for (int j = 0; j < w->nfiles; j++)
            if (w->files[j]->path == names[i] && sha_bytes(ctx, sha, w->files[j]->map, w->files[j]->map_len, 1)) {
                slava_status st = sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: hashing interrupted", names[i]);
                free(names);
                av_free(sha);
                return st;
            }
    free(names);
    char *cfg = NULL;
    size_t cfg_len = 0;
    if (sv_read_file(ctx, w->config_path, &cfg, &cfg_len) == SLAVA_OK) {
        sha_bytes(NULL, sha, cfg, cfg_len, 0);
        free(cfg);
    }
    slava_ctx_clear_error(ctx);
    sha_finish(sha, out);
    return SLAVA_OK;
}

/* ------------------------------------------------------------------ writer */

slava_status sv_st_write(slava_ctx *ctx, const char *path, const sv_wtensor *t, int n, const char *const *meta) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    if (meta && meta[0]) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; meta[i] && meta[i + 1]; i += 2) cJSON_AddStringToObject(m, meta[i], meta[i + 1]);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t es = sv_dtype_size(t[i].dtype);
        if (!es || t[i].ndim < 0 || t[i].ndim > SV_MAX_DIMS) {
            cJSON_Delete(root);
            return sv_err(ctx, SLAVA_E_ARG, "%s: tensor '%s' has a bad dtype or rank", path, t[i].name);
        }
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (uint64_t)t[i].shape[d];
        cJSON *o = cJSON_AddObjectToObject(root, t[i].name);
        cJSON_AddStringToObject(o, "dtype", sv_dtype_name(t[i].dtype));
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t[i].ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
        cJSON *of = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        off += numel * es;
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    }
    char *hdr = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!hdr) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    size_t hl = strlen(hdr), padded = (hl + 7) & ~(size_t)7;
    /* parts: 8-byte header length, header, space padding to 8 bytes, then every tensor's bytes */
    const void **parts = malloc(sizeof *parts * ((size_t)n + 3));
    size_t *lens = malloc(sizeof *lens * ((size_t)n + 3));
    if (!parts || !lens) { free(parts); free(lens); free(hdr); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "       ";
    parts[0] = lenb; lens[0] = 8;
    parts[1] = hdr; lens[1] = hl;
    parts[2] = spaces; lens[2] = padded - hl;
    for (int i = 0; i < n; i++) {
        size_t bytes = sv_dtype_size(t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) bytes *= (size_t)t[i].shape[d];
        parts[3 + i] = t[i].data;
        lens[3 + i] = bytes;
    }
    slava_status st = sv_write_parts(ctx, path, n + 3, parts, lens);
    free(parts);
    free(lens);
    free(hdr);
    return st;
}
