/*
 * index_file.c — opening a search index file (search.h has the layout): every tensor, offset and
 * clip record is validated before use, so a corrupt or truncated file is one clear error and
 * never a crash; then the read-only accessors (info, clips, lookup by id, moment times).
 */
#include "search/search.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

static void clips_free(sx_clip *c, int n) {
    for (int i = 0; c && i < n; i++) {
        free(c[i].id);
        free(c[i].source);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            for (int j = 0; j < c[i].n_cap[k]; j++) free(c[i].cap[k][j]);
            free(c[i].cap[k]);
        }
    }
    free(c);
}

void slava_index_free(slava_index *ix) {
    if (!ix) return;
    for (int m = 0; m < 2; m++) {
        sx_ann_free(ix->ann[m]);
        free(ix->off[m]);
    }
    free(ix->hash);
    clips_free(ix->clips, ix->n);
    free(ix->by_id);
    free(ix->store); free(ix->heads); free(ix->clip_dir); free(ix->clap_dir);
    sv_st_close(ix->file);
    free(ix->path);
    free(ix);
}

double sx_fps_of(const char *visual_id) {
    const char *at = visual_id ? strrchr(visual_id, '@') : NULL;
    if (!at) return 1.0;
    char *end;
    double f = strtod(at + 1, &end);
    return f > 0 && isfinite(f) && !strcmp(end, "fps") ? f : 1.0;
}

/* A tensor that must exist with this dtype and rank (shape checked by the caller). */
static slava_status need(slava_ctx *ctx, const slava_index *ix, const char *name, sv_dtype dt, int ndim,
                         const sv_tensor **out) {
    const sv_tensor *t = sv_st_find(ix->file, name);
    if (!t) return sv_err(ctx, SLAVA_E_FORMAT, "%s: not a slava index: tensor '%s' is missing", ix->path, name);
    if (t->dtype != dt || t->ndim != ndim)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' is %s with %d dimensions, expected %s with %d", ix->path,
                      name, sv_dtype_name(t->dtype), t->ndim, sv_dtype_name(dt), ndim);
    *out = t;
    return SLAVA_OK;
}

static char *dup_or_null(const cJSON *v) { return cJSON_IsString(v) && v->valuestring[0] ? sv_strdup(v->valuestring) : NULL; }

static slava_status parse_clip(slava_ctx *ctx, const char *path, int i, const cJSON *o, sx_clip *c) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "split");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(o, "duration");
    const cJSON *au = cJSON_GetObjectItemCaseSensitive(o, "has_audio");
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(o, "captions");
    if (!cJSON_IsObject(o) || !cJSON_IsString(id) || !id->valuestring[0] || !cJSON_IsString(sp) ||
        slava_store_split_parse(sp->valuestring) < 0 || !(cJSON_IsString(src) || cJSON_IsNull(src)) ||
        !(cJSON_IsNumber(dur) || cJSON_IsNull(dur)) || !cJSON_IsBool(au) || (caps && !cJSON_IsObject(caps)))
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip record %d is malformed", path, i);
    c->id = sv_strdup(id->valuestring);
    c->split = slava_store_split_parse(sp->valuestring);
    c->source = dup_or_null(src);
    c->duration = cJSON_IsNumber(dur) && dur->valuedouble >= 0 ? dur->valuedouble : -1;
    c->has_audio = cJSON_IsTrue(au);
    if (!c->id || (cJSON_IsString(src) && src->valuestring[0] && !c->source))
        return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    for (int k = 0; caps && k < SLAVA_CAP_KINDS; k++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(caps, slava_store_kind_name(k));
        if (!list) continue;
        if (!cJSON_IsArray(list)) return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': captions are malformed", path, c->id);
        int n = cJSON_GetArraySize(list);
        c->cap[k] = calloc((size_t)(n ? n : 1), sizeof(char *));
        if (!c->cap[k]) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
        const cJSON *s;
        cJSON_ArrayForEach(s, list) {
            if (!cJSON_IsString(s) && !cJSON_IsNull(s))
                return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': a caption is not a string", path, c->id);
            c->cap[k][c->n_cap[k]++] = cJSON_IsString(s) ? sv_strdup(s->valuestring) : NULL;
        }
    }
    return SLAVA_OK;
}

static int by_id_cmp(const void *a, const void *b) {
    return strcmp(((const sx_idref *)a)->id, ((const sx_idref *)b)->id);
}

static slava_status copy_meta(slava_ctx *ctx, slava_index *ix, const char *key, char *dst, size_t cap, char **dup) {
    char *v = sv_st_meta(ix->file, key);
    if (dst) {
        if (v && strlen(v) >= cap) {
            free(v);
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: metadata '%s' is too long", ix->path, key);
        }
        snprintf(dst, cap, "%s", v ? v : "");
        free(v);
    } else {
        *dup = v && v[0] ? v : NULL;
        if (v && !v[0]) free(v);
    }
    return SLAVA_OK;
}

static slava_status load(slava_ctx *ctx, slava_index *ix) {
    char *fmt = sv_st_meta(ix->file, "format"), *dim = sv_st_meta(ix->file, "dim"), *dt = sv_st_meta(ix->file, "dtype");
    slava_status st = SLAVA_OK;
    if (!fmt || strcmp(fmt, SX_FORMAT))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: not a slava index (format '%s', expected '%s')", ix->path,
                    fmt ? fmt : "none", SX_FORMAT);
    else if (!dim || atoi(dim) <= 0 || atoi(dim) > 65536 || !dt || (strcmp(dt, "F32") && strcmp(dt, "F16")))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: bad dim or dtype in the metadata", ix->path);
    else {
        ix->P = atoi(dim);
        ix->f16 = !strcmp(dt, "F16");
    }
    free(fmt); free(dim); free(dt);
    if (st) return st;
    static const char *ekey[SLAVA_MODS] = {"encoder.visual", "encoder.audio", "encoder.text"};
    for (int m = 0; m < SLAVA_MODS; m++) SV_TRY(copy_meta(ctx, ix, ekey[m], ix->enc[m], sizeof ix->enc[m], NULL));
    SV_TRY(copy_meta(ctx, ix, "heads_id", ix->heads_id, sizeof ix->heads_id, NULL));
    SV_TRY(copy_meta(ctx, ix, "store", NULL, 0, &ix->store));
    SV_TRY(copy_meta(ctx, ix, "heads", NULL, 0, &ix->heads));
    SV_TRY(copy_meta(ctx, ix, "clip_dir", NULL, 0, &ix->clip_dir));
    SV_TRY(copy_meta(ctx, ix, "clap_dir", NULL, 0, &ix->clap_dir));
    ix->fps = sx_fps_of(ix->enc[SLAVA_MOD_VISUAL]);

    const sv_tensor *cl, *hs;
    SV_TRY(need(ctx, ix, "clips", SV_U8, 1, &cl));
    cJSON *arr = cJSON_ParseWithLength(cl->data, cl->nbytes);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: the clip records are not a JSON array", ix->path);
    }
    int n = cJSON_GetArraySize(arr);
    ix->clips = calloc((size_t)(n ? n : 1), sizeof *ix->clips);
    ix->by_id = calloc((size_t)(n ? n : 1), sizeof *ix->by_id);
    if (!ix->clips || !ix->by_id) { cJSON_Delete(arr); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path); }
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        st = parse_clip(ctx, ix->path, ix->n, o, &ix->clips[ix->n]);
        ix->n++;
        if (st) break;
    }
    cJSON_Delete(arr);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        ix->by_id[i].id = ix->clips[i].id;
        ix->by_id[i].clip = i;
    }
    qsort(ix->by_id, (size_t)n, sizeof *ix->by_id, by_id_cmp);
    for (int i = 1; i < n; i++)
        if (!strcmp(ix->by_id[i].id, ix->by_id[i - 1].id))
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' appears twice", ix->path, ix->by_id[i].id);

    SV_TRY(need(ctx, ix, "clip_hash", SV_U64, 1, &hs));
    if (hs->shape[0] != n) return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip_hash has %lld entries for %d clips", ix->path, (long long)hs->shape[0], n);
    ix->hash = malloc(sizeof(uint64_t) * (size_t)(n ? n : 1));
    if (!ix->hash) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path);
    memcpy(ix->hash, hs->data, sizeof(uint64_t) * (size_t)n);

    static const char *rname[2] = {"visual", "audio"}, *oname[2] = {"visual_offsets", "audio_offsets"};
    for (int m = 0; m < 2; m++) {
        const sv_tensor *r, *of;
        SV_TRY(need(ctx, ix, rname[m], ix->f16 ? SV_F16 : SV_F32, 2, &r));
        SV_TRY(need(ctx, ix, oname[m], SV_I64, 1, &of));
        if (r->shape[1] != ix->P)
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: %s rows have %lld values, the index's dim is %d", ix->path, rname[m],
                          (long long)r->shape[1], ix->P);
        if ((uintptr_t)r->data % (ix->f16 ? 2 : 4))
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: %s rows are misaligned in the file", ix->path, rname[m]);
        if (of->shape[0] != (int64_t)n + 1)
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: %s has %lld entries for %d clips", ix->path, oname[m], (long long)of->shape[0], n);
        ix->rows[m] = r->data;
        ix->n_rows[m] = r->shape[0];
        ix->off[m] = malloc(sizeof(int64_t) * ((size_t)n + 1));
        if (!ix->off[m]) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path);
        memcpy(ix->off[m], of->data, sizeof(int64_t) * ((size_t)n + 1));
        const int64_t *off = ix->off[m];
        if (off[0] != 0 || off[n] != r->shape[0])
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: %s do not cover the %lld rows", ix->path, oname[m], (long long)r->shape[0]);
        for (int c = 0; c < n; c++) {
            /* off[c] >= 0 here (off[0] is 0, and never decreasing so far): no subtraction overflows */
            if (off[c + 1] < off[c])
                return sv_err(ctx, SLAVA_E_FORMAT, "%s: %s of clip '%s' are inconsistent", ix->path, oname[m], ix->clips[c].id);
            int64_t len = off[c + 1] - off[c];
            /* a clip's rows: none, or its pooled row then at least one moment */
            if (len == 1 || (m == SLAVA_MOD_AUDIO && (len > 0) != ix->clips[c].has_audio))
                return sv_err(ctx, SLAVA_E_FORMAT, "%s: %s of clip '%s' are inconsistent", ix->path, oname[m], ix->clips[c].id);
        }
    }
    static const char *aname[2][3] = {{"ann_visual_levels", "ann_visual_offsets", "ann_visual_neighbors"},
                                      {"ann_audio_levels", "ann_audio_offsets", "ann_audio_neighbors"}};
    static const char *gkey[2] = {"ann.visual", "ann.audio"};
    for (int m = 0; m < 2; m++) {
        char *desc = sv_st_meta(ix->file, gkey[m]);
        if (!desc) continue;
        sx_graph g;
        memset(&g, 0, sizeof g);
        int ok = sscanf(desc, "%d %d %d %d", &g.M, &g.entry, &g.max_level, &g.ef_construction) == 4;
        free(desc);
        const sv_tensor *t[3];
        const sv_dtype dt[3] = {SV_I32, SV_I64, SV_I32};
        for (int a = 0; a < 3; a++) SV_TRY(need(ctx, ix, aname[m][a], dt[a], 1, &t[a]));
        g.n = ix->n_rows[m];
        if (!ok || t[0]->shape[0] != g.n || t[1]->shape[0] != g.n + 1)
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: the approximate index over %s rows is malformed", ix->path, rname[m]);
        /* copies: the file gives no alignment to integer tensors */
        g.levels = malloc(t[0]->nbytes + 1);
        g.offsets = malloc(t[1]->nbytes);
        g.neighbors = malloc(t[2]->nbytes + 1);
        slava_status st2 = g.levels && g.offsets && g.neighbors ? SLAVA_OK : sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", ix->path);
        if (!st2) {
            memcpy(g.levels, t[0]->data, t[0]->nbytes);
            memcpy(g.offsets, t[1]->data, t[1]->nbytes);
            memcpy(g.neighbors, t[2]->data, t[2]->nbytes);
            if (g.offsets[g.n] != t[2]->shape[0])
                st2 = sv_err(ctx, SLAVA_E_FORMAT, "%s: the approximate index over %s rows is malformed", ix->path, rname[m]);
        }
        if (!st2) st2 = sx_ann_load(ctx, ix->path, &g, ix->rows[m], ix->f16, ix->P, &ix->ann[m]);
        if (!st2) sx_ann_describe(&g, ix->ann_kind, sizeof ix->ann_kind);
        sx_graph_free(&g);
        if (st2) return st2;
    }
    return SLAVA_OK;
}

slava_status slava_index_open(slava_ctx *ctx, const char *path, slava_index **out) {
    *out = NULL;
    slava_index *ix = calloc(1, sizeof *ix);
    if (!ix || !(ix->path = sv_strdup(path))) {
        free(ix);
        return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    }
    slava_status st = sv_st_open(ctx, path, &ix->file);
    if (!st) st = load(ctx, ix);
    if (st) {
        slava_index_free(ix);
        return st;
    }
    *out = ix;
    return SLAVA_OK;
}

void slava_index_get_info(const slava_index *ix, slava_index_info *info) {
    memset(info, 0, sizeof *info);
    info->n_clips = ix->n;
    for (int c = 0; c < ix->n; c++) {
        info->n_audio_clips += ix->clips[c].has_audio;
        for (int m = 0; m < 2; m++) {
            int64_t len = ix->off[m][c + 1] - ix->off[m][c];
            if (len > 0) *(m ? &info->n_chunks : &info->n_frames) += len - 1;
        }
    }
    info->dim = ix->P;
    info->f16 = ix->f16;
    info->fps = ix->fps;
    memcpy(info->encoder_id, ix->enc, sizeof ix->enc);
    memcpy(info->heads_id, ix->heads_id, sizeof ix->heads_id);
    info->store = ix->store;
    info->heads = ix->heads;
    info->clip_dir = ix->clip_dir;
    info->clap_dir = ix->clap_dir;
    info->has_ann = ix->ann[0] || ix->ann[1];
    info->ann_kind = ix->ann_kind;
    for (int m = 0; m < SLAVA_MODS; m++)
        if (slava_encoder_id_precision(ix->enc[m]) == SLAVA_PRECISION_BF16) info->precision = SLAVA_PRECISION_BF16;
}

void slava_index_get_clip(const slava_index *ix, int i, slava_index_clip *out) {
    memset(out, 0, sizeof *out);
    if (i < 0 || i >= ix->n) return;
    const sx_clip *c = &ix->clips[i];
    out->id = c->id;
    out->source = c->source;
    out->split = c->split;
    out->duration = c->duration;
    out->has_audio = c->has_audio;
    int64_t nv = ix->off[0][i + 1] - ix->off[0][i], na = ix->off[1][i + 1] - ix->off[1][i];
    out->n_frames = nv > 0 ? (int)(nv - 1) : 0;
    out->n_chunks = na > 0 ? (int)(na - 1) : 0;
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        out->n_captions[k] = c->n_cap[k];
        out->captions[k] = (const char *const *)c->cap[k];
    }
}

int slava_index_find_clip(const slava_index *ix, const char *id) {
    int lo = 0, hi = ix->n - 1;
    while (id && lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(ix->by_id[mid].id, id);
        if (!c) return ix->by_id[mid].clip;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

void sx_moment(const slava_index *ix, int c, int m, int k, double *t0, double *t1) {
    double len = m == SLAVA_MOD_VISUAL ? 1.0 / ix->fps : 10.0, dur = ix->clips[c].duration;
    *t0 = k * len;
    *t1 = (k + 1) * len;
    if (dur >= 0 && dur < *t1 && dur > *t0) *t1 = dur;
}
