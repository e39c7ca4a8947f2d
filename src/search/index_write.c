/*
 * index_write.c — writing a search index file (layout in search.h) through the one safetensors
 * writer: rows (float32, or converted to float16), per-clip offsets and fingerprints, the clip
 * records as a JSON byte tensor, the approximate indexes when asked, and the metadata. The file
 * is replaced atomically (sv_st_write writes a temporary file and renames it).
 */
#include "search/search.h"
#include <cjson/cJSON.h>
#include <stdio.h>

static char *clips_json(const sx_write_in *in) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < in->n; i++) {
        const sx_clip *c = &in->clips[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) { cJSON_Delete(arr); return NULL; }
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "id", c->id);
        cJSON_AddStringToObject(o, "split", slava_split_name(c->split));
        if (c->source) cJSON_AddStringToObject(o, "source", c->source);
        else cJSON_AddNullToObject(o, "source");
        if (c->duration >= 0) cJSON_AddNumberToObject(o, "duration", c->duration);
        else cJSON_AddNullToObject(o, "duration");
        cJSON_AddBoolToObject(o, "has_audio", c->has_audio);
        cJSON *caps = cJSON_AddObjectToObject(o, "captions");
        for (int k = 0; caps && k < SLAVA_CAP_KINDS; k++) {
            if (!c->n_cap[k]) continue;
            cJSON *list = cJSON_AddArrayToObject(caps, slava_store_kind_name(k));
            for (int j = 0; list && j < c->n_cap[k]; j++)
                cJSON_AddItemToArray(list, c->cap[k][j] ? cJSON_CreateString(c->cap[k][j]) : cJSON_CreateNull());
        }
    }
    char *s = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

/* key = value into meta[k..] unless the value is NULL or empty; returns the new k. */
static int add_meta(const char **meta, int k, const char *key, const char *val) {
    if (val && *val) {
        meta[k++] = key;
        meta[k++] = val;
    }
    return k;
}

slava_status sx_index_write(slava_ctx *ctx, const char *path, const sx_write_in *in, int *ann_built) {
    *ann_built = 0;
    slava_status st = SLAVA_OK;
    char *json = clips_json(in);
    uint16_t *half[2] = {NULL, NULL};
    sx_graph g[2];
    memset(g, 0, sizeof g);
    if (!json) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    for (int m = 0; !st && in->f16 && m < 2; m++) {
        int64_t n = in->off[m][in->n] * in->P;
        half[m] = sv_alloc(sizeof(uint16_t) * (size_t)(n ? n : 1));
        if (!half[m]) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
        else sx_f32_to_f16(in->rows[m], half[m], n);
    }
    for (int m = 0; !st && in->ann && m < 2; m++) {
        if (in->off[m][in->n] == 0) continue;
        st = sx_ann_build(ctx, in->rows[m], in->off[m][in->n], in->P, SX_ANN_M, SX_ANN_EF_CONSTRUCTION, &g[m]);
        if (!st) *ann_built = 1;
    }
    if (!st) {
        static const char *rname[2] = {"visual", "audio"}, *oname[2] = {"visual_offsets", "audio_offsets"};
        static const char *aname[2][3] = {{"ann_visual_levels", "ann_visual_offsets", "ann_visual_neighbors"},
                                          {"ann_audio_levels", "ann_audio_offsets", "ann_audio_neighbors"}};
        sv_wtensor t[13];
        int nt = 0;
        memset(t, 0, sizeof t);
        for (int m = 0; m < 2; m++) {   /* rows first: they start 8-byte aligned in the file */
            t[nt].name = rname[m];
            t[nt].dtype = in->f16 ? SV_F16 : SV_F32;
            t[nt].ndim = 2;
            t[nt].shape[0] = in->off[m][in->n];
            t[nt].shape[1] = in->P;
            t[nt++].data = in->f16 ? (const void *)half[m] : in->rows[m];
        }
        for (int m = 0; m < 2; m++) {
            t[nt].name = oname[m];
            t[nt].dtype = SV_I64;
            t[nt].ndim = 1;
            t[nt].shape[0] = in->n + 1;
            t[nt++].data = in->off[m];
        }
        t[nt].name = "clip_hash";
        t[nt].dtype = SV_U64;
        t[nt].ndim = 1;
        t[nt].shape[0] = in->n;
        t[nt++].data = in->hash;
        t[nt].name = "clips";
        t[nt].dtype = SV_U8;
        t[nt].ndim = 1;
        t[nt].shape[0] = (int64_t)strlen(json);
        t[nt++].data = json;
        char graph[2][96] = {"", ""};
        for (int m = 0; m < 2; m++) {
            if (!g[m].n) continue;
            const void *data[3] = {g[m].levels, g[m].offsets, g[m].neighbors};
            const sv_dtype dt[3] = {SV_I32, SV_I64, SV_I32};
            const int64_t len[3] = {g[m].n, g[m].n + 1, g[m].offsets[g[m].n]};
            for (int a = 0; a < 3; a++) {
                t[nt].name = aname[m][a];
                t[nt].dtype = dt[a];
                t[nt].ndim = 1;
                t[nt].shape[0] = len[a];
                t[nt++].data = data[a];
            }
            snprintf(graph[m], sizeof graph[m], "%d %d %d %d", g[m].M, g[m].entry, g[m].max_level, g[m].ef_construction);
        }
        char kind[96] = "";
        if (*ann_built) sx_ann_describe(g[0].n ? &g[0] : &g[1], kind, sizeof kind);
        char dim[16];
        snprintf(dim, sizeof dim, "%d", in->P);
        const char *meta[32];
        int k = 0;
        k = add_meta(meta, k, "format", SX_FORMAT);
        k = add_meta(meta, k, "dim", dim);
        k = add_meta(meta, k, "dtype", in->f16 ? "F16" : "F32");
        k = add_meta(meta, k, "encoder.visual", in->enc[SLAVA_MOD_VISUAL]);
        k = add_meta(meta, k, "encoder.audio", in->enc[SLAVA_MOD_AUDIO]);
        k = add_meta(meta, k, "encoder.text", in->enc[SLAVA_MOD_TEXT]);
        k = add_meta(meta, k, "heads_id", in->heads_id);
        k = add_meta(meta, k, "heads", in->heads);
        k = add_meta(meta, k, "clip_dir", in->clip_dir);
        k = add_meta(meta, k, "clap_dir", in->clap_dir);
        k = add_meta(meta, k, "store", in->store);
        k = add_meta(meta, k, "ann", kind);
        k = add_meta(meta, k, "ann.visual", graph[0]);
        k = add_meta(meta, k, "ann.audio", graph[1]);
        meta[k] = NULL;
        st = sv_st_write(ctx, path, t, nt, meta);
    }
    for (int m = 0; m < 2; m++) {
        sv_free(half[m]);
        sx_graph_free(&g[m]);
    }
    free(json);
    return st;
}
