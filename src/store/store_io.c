/*
 * store_io.c — feature store ↔ safetensors: `slava store export` writes the features of a split /
 * modality selection as concatenated matrices plus row → clip / caption index tensors (readable
 * with numpy, PyTorch or the safetensors package); `slava store import` reads such a file back,
 * validating all of it before one transaction writes it, so a bad file changes nothing.
 * Layout: include/slava.h (store section) and docs/store.md.
 */
#include "store/store.h"
#include "io/safetensors.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#define FEATURES_FORMAT "slava-features/1"

static const char *const FEAT_TENSOR[3] = {"visual", "audio", "text"};
static const char *const INDEX_TENSOR[3] = {"visual_clip", "audio_clip", "text_caption"};
static const char *const ENC_KEY[3] = {"encoder.visual", "encoder.audio", "encoder.text"};

/* ------------------------------------------------------------------ export */

static cJSON *clips_json(const slava_dataset *ds, const sv_clip_meta *meta) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < ds->n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) { cJSON_Delete(arr); return NULL; }
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "id", ds->clips[i].id);
        cJSON_AddStringToObject(o, "split", slava_split_name(ds->clips[i].split));
        char *src = slava_utf8_fix(meta[i].source, NULL);   /* a file name's bytes need not be UTF-8; JSON must */
        if (src) cJSON_AddStringToObject(o, "source", src);
        else cJSON_AddNullToObject(o, "source");
        free(src);
        if (meta[i].duration >= 0) cJSON_AddNumberToObject(o, "duration", meta[i].duration);
        else cJSON_AddNullToObject(o, "duration");
        cJSON_AddBoolToObject(o, "has_audio", meta[i].has_audio);
    }
    return arr;
}

static cJSON *captions_json(const slava_dataset *ds, const sv_clip_meta *meta) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < ds->n; i++)
        for (int k = 0; k < SLAVA_CAP_KINDS; k++)
            for (int j = 0; j < ds->clips[i].n_cap[k]; j++) {
                cJSON *o = cJSON_CreateObject();
                if (!o) { cJSON_Delete(arr); return NULL; }
                cJSON_AddItemToArray(arr, o);
                cJSON_AddNumberToObject(o, "clip", i);
                cJSON_AddStringToObject(o, "kind", slava_store_kind_name(k));
                cJSON_AddNumberToObject(o, "idx", meta[i].cap_idx[k][j]);
                const char *t = ds->clips[i].cap_text[k][j];
                char *u = slava_utf8_fix(t, NULL);
                if (u) cJSON_AddStringToObject(o, "text", u);
                else cJSON_AddNullToObject(o, "text");
                free(u);
            }
    return arr;
}

slava_status slava_store_export(slava_ctx *ctx, slava_store *s, const char *path, unsigned split_mask,
                                unsigned modality_mask, const char *const *enc, slava_store_counts *counts) {
    if (counts) memset(counts, 0, sizeof *counts);
    if (modality_mask >> 3) return sv_err(ctx, SLAVA_E_ARG, "%s: modality mask 0x%x names unknown modalities", s->path, modality_mask);
    const char *in[1] = {s->path};
    SV_TRY(slava_output_check(ctx, path, SLAVA_FILE_FEATURES, in, 1));
    slava_dataset ds;
    sv_clip_meta *meta = NULL;
    SV_TRY(sv_store_load(ctx, s, split_mask, modality_mask ? modality_mask : 7, enc, &ds, &meta));
    const int dims[3] = {ds.d_v, ds.d_a, ds.d_t};
    slava_status st = SLAVA_OK;
    for (int m = 0; m < 3; m++)
        if ((modality_mask >> m & 1) && !dims[m])
            st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: no %s features stored", s->path, slava_store_modality_name(m));

    /* Rows per modality; the caption index runs over clips, kinds, captions in load order. */
    int64_t rows[3] = {0, 0, 0}, ncap = 0;
    for (int i = 0; i < ds.n; i++) {
        const slava_clip *c = &ds.clips[i];
        rows[0] += c->t_v;
        rows[1] += c->t_a;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) ncap += c->n_cap[k];
    }
    if (dims[2]) rows[2] = ncap;
    float *feat[3] = {NULL, NULL, NULL};
    int64_t *index[3] = {NULL, NULL, NULL};
    for (int m = 0; m < 3 && st == SLAVA_OK; m++) {
        if (!dims[m] || !rows[m]) continue;
        feat[m] = sv_alloc((size_t)rows[m] * dims[m] * sizeof(float));
        index[m] = malloc((size_t)rows[m] * sizeof(int64_t));
        if (!feat[m] || !index[m]) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory for %lld %s rows", path,
                                               (long long)rows[m], slava_store_modality_name(m));
    }
    /* Gather, releasing each clip's arrays once copied to keep the peak near one copy. */
    int64_t r[3] = {0, 0, 0}, capno = 0;
    for (int i = 0; i < ds.n && st == SLAVA_OK; i++) {
        slava_clip *c = &ds.clips[i];
        if (!(i & 255) && sv_cancelled(ctx)) {
            st = sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: export interrupted", path);
            break;
        }
        if (feat[0] && c->t_v) {
            memcpy(feat[0] + r[0] * dims[0], c->visual, (size_t)c->t_v * dims[0] * sizeof(float));
            for (int t = 0; t < c->t_v; t++) index[0][r[0]++] = i;
        }
        if (feat[1] && c->t_a) {
            memcpy(feat[1] + r[1] * dims[1], c->audio, (size_t)c->t_a * dims[1] * sizeof(float));
            for (int t = 0; t < c->t_a; t++) index[1][r[1]++] = i;
        }
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            if (feat[2] && c->n_cap[k] && c->cap[k]) memcpy(feat[2] + r[2] * dims[2], c->cap[k], (size_t)c->n_cap[k] * dims[2] * sizeof(float));
            for (int j = 0; j < c->n_cap[k]; j++, capno++)
                if (feat[2]) index[2][r[2]++] = capno;
            sv_free(c->cap[k]);
            c->cap[k] = NULL;
        }
        sv_free(c->visual); c->visual = NULL;
        sv_free(c->audio); c->audio = NULL;
        if (counts) counts->features += (feat[0] && c->t_v) + (feat[1] && c->t_a);
    }

    char *clips = NULL, *caps = NULL;
    if (st == SLAVA_OK) {
        cJSON *a = clips_json(&ds, meta), *b = captions_json(&ds, meta);
        if (a) clips = cJSON_PrintUnformatted(a);
        if (b) caps = cJSON_PrintUnformatted(b);
        cJSON_Delete(a);
        cJSON_Delete(b);
        if (!clips || !caps) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    }
    if (st == SLAVA_OK) {
        sv_wtensor t[6];
        int nt = 0;
        const char *kv[2 * 7 + 1];
        int nk = 0;
        kv[nk++] = "format"; kv[nk++] = FEATURES_FORMAT;
        kv[nk++] = "slava_version"; kv[nk++] = slava_version();
        kv[nk++] = "clips"; kv[nk++] = clips;
        kv[nk++] = "captions"; kv[nk++] = caps;
        for (int m = 0; m < 3; m++) {
            if (!feat[m]) continue;
            t[nt++] = (sv_wtensor){.name = FEAT_TENSOR[m], .dtype = SV_F32, .ndim = 2, .shape = {rows[m], dims[m]}, .data = feat[m]};
            t[nt++] = (sv_wtensor){.name = INDEX_TENSOR[m], .dtype = SV_I64, .ndim = 1, .shape = {rows[m]}, .data = index[m]};
            kv[nk++] = ENC_KEY[m]; kv[nk++] = ds.encoder_id[m];
        }
        kv[nk] = NULL;
        st = sv_st_write(ctx, path, t, nt, kv);
    }
    if (st == SLAVA_OK && counts) {
        counts->clips = ds.n;
        counts->captions = ncap;
        counts->features += feat[2] ? rows[2] : 0;
    }
    free(clips);
    free(caps);
    for (int m = 0; m < 3; m++) { sv_free(feat[m]); free(index[m]); }
    sv_clip_meta_free(meta, ds.n);
    slava_dataset_free(&ds);
    return st;
}

/* ------------------------------------------------------------------ import */

typedef struct {
    const char *id, *source;
    double duration;
    int split, has_audio;   /* has_audio: -1 when the file does not say */
} imp_clip;

typedef struct {
    int clip, kind, idx;
    const char *text;
} imp_caption;

typedef struct {
    int present;
    const char *encoder;
    int64_t rows;
    int d;
    float *x;          /* [rows, d] */
    int64_t *owner;    /* [rows] clip or caption index */
} imp_modality;

/* Integer index tensor → int64 [n]; values must lie in [0, limit). */
static slava_status read_index(slava_ctx *ctx, const char *path, const sv_tensor *t, int64_t rows, int64_t limit,
                               int64_t **out) {
    *out = NULL;
    if (t->ndim != 1 || t->shape[0] != rows)
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' must have shape [%lld]", path, t->name, (long long)rows);
    if (t->dtype != SV_I64 && t->dtype != SV_I32 && t->dtype != SV_U32 && t->dtype != SV_U64)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has dtype %s, expected I64 or I32", path, t->name, sv_dtype_name(t->dtype));
    int64_t *v = malloc((size_t)(rows ? rows : 1) * sizeof *v);
    if (!v) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < rows; i++) {
        int64_t x;
        if (t->dtype == SV_I64) memcpy(&x, p + 8 * i, 8);
        else if (t->dtype == SV_U64) { uint64_t u; memcpy(&u, p + 8 * i, 8); x = u > INT64_MAX ? -1 : (int64_t)u; }
        else if (t->dtype == SV_I32) { int32_t y; memcpy(&y, p + 4 * i, 4); x = y; }
        else { uint32_t y; memcpy(&y, p + 4 * i, 4); x = y; }
        if (x < 0 || x >= limit) {
            free(v);
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' row %lld points at %lld, outside [0, %lld)", path, t->name,
                          (long long)i, (long long)x, (long long)limit);
        }
        v[i] = x;
    }
    *out = v;
    return SLAVA_OK;
}

static slava_status parse_clips(slava_ctx *ctx, const char *path, const cJSON *arr, imp_clip **out, int *n_out) {
    *out = NULL; *n_out = 0;
    if (!cJSON_IsArray(arr)) return sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ 'clips' is not a JSON array", path);
    int n = cJSON_GetArraySize(arr);
    imp_clip *c = calloc((size_t)(n ? n : 1), sizeof *c);
    if (!c) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    int i = 0;
    for (const cJSON *o = arr->child; o; o = o->next, i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "split");
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
        const cJSON *dur = cJSON_GetObjectItemCaseSensitive(o, "duration");
        const cJSON *ha = cJSON_GetObjectItemCaseSensitive(o, "has_audio");
        slava_status st = SLAVA_OK;
        if (!cJSON_IsObject(o) || !cJSON_IsString(id) || !*id->valuestring)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clips[%d] has no \"id\" string", path, i);
        else if (!sv_utf8_valid(id->valuestring, strlen(id->valuestring))) {
            char *shown = slava_utf8_fix(id->valuestring, NULL);
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clips[%d]: id '%s' is not valid UTF-8 (invalid bytes shown as U+FFFD)",
                        path, i, shown ? shown : "?");
            free(shown);
        }
        else if (!cJSON_IsString(sp) || slava_store_split_parse(sp->valuestring) < 0)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' has no \"split\" of train / val / test", path, id->valuestring);
        else if (src && !cJSON_IsNull(src) && !cJSON_IsString(src))
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': \"source\" is not a string", path, id->valuestring);
        else if (dur && !cJSON_IsNull(dur) && !(cJSON_IsNumber(dur) && dur->valuedouble >= 0))
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': \"duration\" is not a number >= 0", path, id->valuestring);
        else if (ha && !cJSON_IsNull(ha) && !cJSON_IsBool(ha))
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': \"has_audio\" is not true / false", path, id->valuestring);
        if (st != SLAVA_OK) { free(c); return st; }
        c[i].id = id->valuestring;
        c[i].split = slava_store_split_parse(sp->valuestring);
        c[i].source = cJSON_IsString(src) ? src->valuestring : NULL;
        c[i].duration = cJSON_IsNumber(dur) ? dur->valuedouble : -1;
        c[i].has_audio = cJSON_IsBool(ha) ? cJSON_IsTrue(ha) : -1;
    }
    *out = c; *n_out = n;
    return SLAVA_OK;
}

typedef struct { const char *s; int i; } str_idx;
static int str_idx_cmp(const void *a, const void *b) {
    const str_idx *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : x->i - y->i;
}

static slava_status check_unique_clips(slava_ctx *ctx, const char *path, const imp_clip *c, int n) {
    str_idx *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++) v[i] = (str_idx){c[i].id, i};
    qsort(v, (size_t)n, sizeof *v, str_idx_cmp);
    for (int i = 1; i < n; i++)
        if (!strcmp(v[i].s, v[i - 1].s)) {
            slava_status st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' is listed twice", path, v[i].s);
            free(v);
            return st;
        }
    free(v);
    return SLAVA_OK;
}

static int caption_key_cmp(const void *a, const void *b) {
    const imp_caption *x = a, *y = b;
    if (x->clip != y->clip) return x->clip - y->clip;
    if (x->kind != y->kind) return x->kind - y->kind;
    return x->idx - y->idx;
}

static slava_status parse_captions(slava_ctx *ctx, const char *path, const cJSON *arr, int nclips,
                                   imp_caption **out, int *n_out) {
    *out = NULL; *n_out = 0;
    if (!arr) return SLAVA_OK;  /* a file may hold no captions */
    if (!cJSON_IsArray(arr)) return sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ 'captions' is not a JSON array", path);
    int n = cJSON_GetArraySize(arr);
    imp_caption *c = calloc((size_t)(n ? n : 1), sizeof *c);
    if (!c) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    int i = 0;
    for (const cJSON *o = arr->child; o; o = o->next, i++) {
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(o, "clip");
        const cJSON *kd = cJSON_GetObjectItemCaseSensitive(o, "kind");
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(o, "idx");
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(o, "text");
        slava_status st = SLAVA_OK;
        if (!cJSON_IsObject(o) || !cJSON_IsNumber(cl) || cl->valuedouble != (double)(int)cl->valuedouble ||
            cl->valueint < 0 || cl->valueint >= nclips)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: captions[%d] has no \"clip\" index in [0, %d)", path, i, nclips);
        else if (!cJSON_IsString(kd) || slava_store_kind_parse(kd->valuestring) < 0)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: captions[%d] has no \"kind\" of audio / visual / audio_visual / gpt_av", path, i);
        else if (!cJSON_IsNumber(ix) || ix->valuedouble != (double)(int)ix->valuedouble || ix->valueint < 0)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: captions[%d] has no \"idx\" integer >= 0", path, i);
        else if (tx && !cJSON_IsNull(tx) && !cJSON_IsString(tx))
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: captions[%d]: \"text\" is not a string", path, i);
        if (st != SLAVA_OK) { free(c); return st; }
        c[i] = (imp_caption){cl->valueint, slava_store_kind_parse(kd->valuestring), ix->valueint,
                             cJSON_IsString(tx) ? tx->valuestring : NULL};
    }
    imp_caption *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted) { free(c); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    memcpy(sorted, c, (size_t)n * sizeof *c);
    qsort(sorted, (size_t)n, sizeof *sorted, caption_key_cmp);
    for (int j = 1; j < n; j++)
        if (!caption_key_cmp(&sorted[j], &sorted[j - 1])) {
            slava_status st = sv_err(ctx, SLAVA_E_FORMAT, "%s: caption %s %d of clip index %d is listed twice", path,
                                     slava_store_kind_name(sorted[j].kind), sorted[j].idx, sorted[j].clip);
            free(sorted); free(c);
            return st;
        }
    free(sorted);
    *out = c; *n_out = n;
    return SLAVA_OK;
}

/* Read and check modality m's tensors (absent → present = 0). */
static slava_status read_modality(slava_ctx *ctx, const sv_stfile *f, const cJSON *md, int m, int64_t limit,
                                  imp_modality *out) {
    const char *path = f->path;
    memset(out, 0, sizeof *out);
    const sv_tensor *x = sv_st_find(f, FEAT_TENSOR[m]), *ix = sv_st_find(f, INDEX_TENSOR[m]);
    if (!x && !ix) return SLAVA_OK;
    if (!x || !ix)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' needs '%s' beside it", path, x ? FEAT_TENSOR[m] : INDEX_TENSOR[m],
                      x ? INDEX_TENSOR[m] : FEAT_TENSOR[m]);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(md, ENC_KEY[m]);
    if (!cJSON_IsString(e) || !*e->valuestring)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' needs __metadata__ '%s' (the encoder identity)", path, FEAT_TENSOR[m], ENC_KEY[m]);
    if (x->ndim != 2 || x->shape[1] < 1 || x->shape[1] > INT32_MAX / 4)
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' must have shape [rows, D]", path, FEAT_TENSOR[m]);
    if (x->dtype != SV_F32 && x->dtype != SV_F16 && x->dtype != SV_BF16 && x->dtype != SV_F64)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' has dtype %s, expected F32, F16, BF16 or F64", path,
                      FEAT_TENSOR[m], sv_dtype_name(x->dtype));
    out->present = 1;
    out->encoder = e->valuestring;
    out->rows = x->shape[0];
    out->d = (int)x->shape[1];
    SV_TRY(read_index(ctx, path, ix, out->rows, limit, &out->owner));
    out->x = sv_alloc((size_t)(out->rows ? out->rows : 1) * out->d * sizeof(float));
    if (!out->x) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory for tensor '%s'", path, FEAT_TENSOR[m]);
    if (out->rows) SV_TRY(sv_tensor_to_f32(ctx, path, x, out->x));
    for (int64_t i = 0; i < out->rows * out->d; i++)
        if (!isfinite(out->x[i]))
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' row %lld holds a non-finite value", path, FEAT_TENSOR[m],
                          (long long)(i / out->d));
    return SLAVA_OK;
}

/* Rows of each owner in order of appearance: order[start[o] .. start[o+1]) are row numbers. */
static slava_status group_rows(slava_ctx *ctx, const char *path, const imp_modality *md, int64_t owners,
                               int64_t **start_out, int64_t **order_out) {
    int64_t *start = calloc((size_t)owners + 1, sizeof *start);
    int64_t *order = malloc((size_t)(md->rows ? md->rows : 1) * sizeof *order);
    if (!start || !order) { free(start); free(order); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    for (int64_t r = 0; r < md->rows; r++) start[md->owner[r] + 1]++;
    for (int64_t o = 0; o < owners; o++) start[o + 1] += start[o];
    int64_t *fill = malloc((size_t)(owners ? owners : 1) * sizeof *fill);
    if (!fill) { free(start); free(order); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    memcpy(fill, start, (size_t)owners * sizeof *fill);
    for (int64_t r = 0; r < md->rows; r++) order[fill[md->owner[r]]++] = r;
    free(fill);
    *start_out = start;
    *order_out = order;
    return SLAVA_OK;
}

static const char *const KNOWN_TENSORS[] = {"visual", "visual_clip", "audio", "audio_clip", "text", "text_caption"};

slava_status slava_store_import(slava_ctx *ctx, slava_store *s, const char *path, slava_store_counts *counts) {
    slava_store_counts cnt;
    memset(&cnt, 0, sizeof cnt);
    if (counts) *counts = cnt;
    sv_stfile *f = NULL;
    SV_TRY(sv_st_open(ctx, path, &f));
    cJSON *md = f->metadata_json ? cJSON_Parse(f->metadata_json) : NULL;
    cJSON *jclips = NULL, *jcaps = NULL;
    imp_clip *clips = NULL;
    imp_caption *caps = NULL;
    int nclips = 0, ncaps = 0;
    imp_modality mod[3];
    memset(mod, 0, sizeof mod);
    int64_t *start[3] = {NULL, NULL, NULL}, *order[3] = {NULL, NULL, NULL};
    int64_t *clip_row = NULL, *cap_row = NULL;
    float *buf = NULL;
    slava_status st = SLAVA_OK;

    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(md, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, FEATURES_FORMAT))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: not a slava features file (__metadata__ 'format' must be '" FEATURES_FORMAT "')", path);
    for (int i = 0; i < f->n && st == SLAVA_OK; i++) {
        int known = 0;
        for (size_t k = 0; k < SV_ARRAY_LEN(KNOWN_TENSORS); k++) known |= !strcmp(f->tensors[i].name, KNOWN_TENSORS[k]);
        if (!known)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: unknown tensor '%s' (expected visual, visual_clip, audio, audio_clip, text, text_caption)",
                        path, f->tensors[i].name);
    }
    const cJSON *jc = cJSON_GetObjectItemCaseSensitive(md, "clips");
    const cJSON *jk = cJSON_GetObjectItemCaseSensitive(md, "captions");
    if (st == SLAVA_OK && !cJSON_IsString(jc))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ has no 'clips' (a JSON array as a string)", path);
    if (st == SLAVA_OK && jk && !cJSON_IsString(jk))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ 'captions' is not a string holding a JSON array", path);
    if (st == SLAVA_OK && !(jclips = cJSON_Parse(jc->valuestring)))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ 'clips' is not valid JSON", path);
    if (st == SLAVA_OK && jk && !(jcaps = cJSON_Parse(jk->valuestring)))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: __metadata__ 'captions' is not valid JSON", path);
    if (st == SLAVA_OK) st = parse_clips(ctx, path, jclips, &clips, &nclips);
    if (st == SLAVA_OK) st = check_unique_clips(ctx, path, clips, nclips);
    if (st == SLAVA_OK) st = parse_captions(ctx, path, jcaps, nclips, &caps, &ncaps);
    for (int m = 0; m < 3 && st == SLAVA_OK; m++) {
        st = read_modality(ctx, f, md, m, m < 2 ? nclips : ncaps, &mod[m]);
        if (st == SLAVA_OK && mod[m].present) st = group_rows(ctx, path, &mod[m], m < 2 ? nclips : ncaps, &start[m], &order[m]);
    }
    if (st == SLAVA_OK && nclips == 0) st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: the file lists no clips", path);
    for (int i = 0; i < nclips && st == SLAVA_OK; i++) {
        int audio_rows = mod[1].present && start[1][i + 1] > start[1][i];
        if (clips[i].has_audio == 0 && audio_rows)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' says has_audio false but has audio rows", path, clips[i].id);
        if (clips[i].has_audio < 0) clips[i].has_audio = audio_rows;
    }
    for (int i = 0; i < ncaps && st == SLAVA_OK; i++)
        if (mod[2].present && start[2][i + 1] - start[2][i] > 1)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: caption %d has %lld text rows (one expected)", path, i,
                        (long long)(start[2][i + 1] - start[2][i]));
    int maxd = 1;
    int64_t maxt = 1;
    for (int m = 0; m < 3 && st == SLAVA_OK; m++) {
        if (mod[m].d > maxd) maxd = mod[m].d;
        for (int64_t o = 0; mod[m].present && o < (m < 2 ? nclips : ncaps); o++)
            if (start[m][o + 1] - start[m][o] > maxt) maxt = start[m][o + 1] - start[m][o];
    }
    if (st == SLAVA_OK) {
        clip_row = malloc((size_t)(nclips ? nclips : 1) * sizeof *clip_row);
        cap_row = malloc((size_t)(ncaps ? ncaps : 1) * sizeof *cap_row);
        buf = sv_alloc((size_t)maxt * maxd * sizeof(float));
        if (!clip_row || !cap_row || !buf) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    }

    /* Everything is checked: write it in one transaction. */
    int mine = 0;
    if (st == SLAVA_OK) st = sv_store_tx_begin(ctx, s, &mine);
    int64_t enc[3] = {0, 0, 0};
    for (int m = 0; m < 3 && st == SLAVA_OK; m++)
        if (mod[m].present && mod[m].rows) st = sv_store_encoder(ctx, s, m, mod[m].encoder, mod[m].d, &enc[m]);
    for (int i = 0; i < nclips && st == SLAVA_OK; i++) {
        int added = 0, stored_audio = 0;
        st = sv_store_clip_keep(ctx, s, clips[i].id, clips[i].split, clips[i].source, clips[i].duration,
                                clips[i].has_audio, &clip_row[i], &added, &stored_audio);
        if (st == SLAVA_E_FORMAT || st == SLAVA_E_ARG) sv_err_prefix(ctx, "%s", path);   /* the file's clip conflicts */
        if (st == SLAVA_OK && !stored_audio && mod[1].present && start[1][i + 1] > start[1][i])
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' is stored without audio, the file brings audio features", path, clips[i].id);
        if (added) cnt.clips++;
        else cnt.clips_kept++;
    }
    for (int i = 0; i < ncaps && st == SLAVA_OK; i++) {
        int added = 0;
        st = sv_store_caption_keep(ctx, s, clip_row[caps[i].clip], clips[caps[i].clip].id, caps[i].kind, caps[i].idx,
                                   caps[i].text, &cap_row[i], &added);
        if (st == SLAVA_E_FORMAT || st == SLAVA_E_ARG) sv_err_prefix(ctx, "%s", path);
        if (added) cnt.captions++;
        else cnt.captions_kept++;
    }
    for (int m = 0; m < 3 && st == SLAVA_OK; m++) {
        if (!mod[m].present) continue;
        int64_t owners = m < 2 ? nclips : ncaps;
        for (int64_t o = 0; o < owners && st == SLAVA_OK; o++) {
            int64_t T = start[m][o + 1] - start[m][o];
            if (!T) continue;
            if (!(o & 255) && sv_cancelled(ctx)) {
                st = sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: importing %s interrupted (rolled back)", s->path, path);
                break;
            }
            for (int64_t t = 0; t < T; t++)
                memcpy(buf + t * mod[m].d, mod[m].x + order[m][start[m][o] + t] * mod[m].d, (size_t)mod[m].d * sizeof(float));
            int added = 0;
            st = sv_store_feature(ctx, s, m == 2, m < 2 ? clip_row[o] : cap_row[o], enc[m], buf, (int)T, mod[m].d, &added);
            if (added) cnt.features++;
            else cnt.features_kept++;
        }
    }
    if (st == SLAVA_OK || mine) {
        slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
        if (st == SLAVA_OK) st = st2;
    }
    if (st == SLAVA_OK && counts) *counts = cnt;

    sv_free(buf);
    free(clip_row);
    free(cap_row);
    for (int m = 0; m < 3; m++) { sv_free(mod[m].x); free(mod[m].owner); free(start[m]); free(order[m]); }
    free(clips);
    free(caps);
    cJSON_Delete(jclips);
    cJSON_Delete(jcaps);
    cJSON_Delete(md);
    sv_st_close(f);
    return st;
}
