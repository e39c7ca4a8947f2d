/*
 * clap_init.c — `slava init-random --like clap`: a random-weight CLAP checkpoint folder with
 * exactly the tensors transformers' ClapModel saves (names, shapes, dtypes — audio tower, text
 * tower, both projections, logit scales, and the int64 buffers position_ids, token_type_ids,
 * relative_position_index, num_batches_tracked), sizes from the given config.json.
 *
 * Output folder: config.json (the given file, copied), model.safetensors, preprocessor_config.json
 * (ClapFeatureExtractor settings of laion/clap-htsat-unfused). Deterministic per seed: one
 * xoshiro stream (base/rng.h) drawn in the fixed tensor order below.
 *
 * Values: Linear / conv weights and relative position tables N(0, 0.02²); biases and LayerNorm
 * shifts N(0, 0.02²); LayerNorm scales 1 + N(0, 0.02²); BatchNorm running mean N(0, 1), running
 * variance 1 + U[0, 1); logit scales ln(logit_scale_init_value) as ClapModel.__init__ sets them.
 */
#include "audio/htsat.h"
#include "base/rng.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

typedef struct {
    sv_wtensor *t;
    void      **data;
    int         n, cap;
    sv_rng      rng;
    slava_status st;
    slava_ctx  *ctx;
} tlist;

enum { INIT_NORMAL, INIT_ONE_PLUS, INIT_ZERO, INIT_UNIT_NORMAL, INIT_ONE_PLUS_UNIFORM };

static void *add(tlist *l, sv_dtype dt, int ndim, const int64_t *shape, const char *fmt, va_list ap) {
    if (l->st) return NULL;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        sv_wtensor *t = realloc(l->t, sizeof *t * (size_t)cap);
        if (t) l->t = t;
        void **d = realloc(l->data, sizeof *d * (size_t)cap);
        if (d) l->data = d;
        if (!t || !d) { l->st = sv_err(l->ctx, SLAVA_E_NOMEM, "init-random: out of memory"); return NULL; }
        l->cap = cap;
    }
    char name[256];
    vsnprintf(name, sizeof name, fmt, ap);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= (size_t)shape[i];
    void *data = sv_calloc(numel ? numel : 1, sv_dtype_size(dt));
    char *nm = sv_strdup(name);
    if (!data || !nm) {
        sv_free(data);
        free(nm);
        l->st = sv_err(l->ctx, SLAVA_E_NOMEM, "init-random: out of memory for '%s'", name);
        return NULL;
    }
    sv_wtensor *t = &l->t[l->n];
    memset(t, 0, sizeof *t);
    t->name = nm;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    l->data[l->n++] = data;
    return data;
}

/* Float tensor [shape[0..ndim)] filled by `init`. */
static void addf(tlist *l, int init, int ndim, const int64_t *shape, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void addf(tlist *l, int init, int ndim, const int64_t *shape, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    float *d = add(l, SV_F32, ndim, shape, fmt, ap);
    va_end(ap);
    if (!d) return;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    for (size_t i = 0; i < n; i++) {
        switch (init) {
        case INIT_NORMAL: d[i] = (float)(0.02 * sv_rng_normal(&l->rng)); break;
        case INIT_ONE_PLUS: d[i] = (float)(1.0 + 0.02 * sv_rng_normal(&l->rng)); break;
        case INIT_UNIT_NORMAL: d[i] = (float)sv_rng_normal(&l->rng); break;
        case INIT_ONE_PLUS_UNIFORM: d[i] = (float)(1.0 + sv_rng_uniform(&l->rng)); break;
        default: d[i] = 0.0f; break;
        }
    }
}

/* int64 buffer [shape[0..ndim)], zeroed; returns the data to fill. */
static int64_t *addi(tlist *l, int ndim, const int64_t *shape, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int64_t *addi(tlist *l, int ndim, const int64_t *shape, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int64_t *d = add(l, SV_I64, ndim, shape, fmt, ap);
    va_end(ap);
    return d;
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

static void linear(tlist *l, int out, int in, int bias, const char *prefix) {
    if (bias) addf(l, INIT_NORMAL, 1, SHAPE(out), "%s.bias", prefix);
    addf(l, INIT_NORMAL, 2, SHAPE(out, in), "%s.weight", prefix);
}

static void layernorm(tlist *l, int d, const char *prefix) {
    addf(l, INIT_NORMAL, 1, SHAPE(d), "%s.bias", prefix);
    addf(l, INIT_ONE_PLUS, 1, SHAPE(d), "%s.weight", prefix);
}

/* The text side of ClapConfig (ClapTextConfig, RoBERTa-like) — only init-random needs it. */
typedef struct { int vocab, hidden, layers, inter, maxpos, types; } text_cfg;

static slava_status text_config(slava_ctx *ctx, const char *path, text_cfg *tc) {
    *tc = (text_cfg){50265, 768, 12, 3072, 514, 1};
    char *buf = NULL;
    size_t len = 0;
    SV_TRY(sv_read_file(ctx, path, &buf, &len));
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    if (!root) return sv_err(ctx, SLAVA_E_FORMAT, "%s: not valid JSON", path);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    const char *keys[] = {"vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size",
                          "max_position_embeddings", "type_vocab_size"};
    int *vals[] = {&tc->vocab, &tc->hidden, &tc->layers, &tc->inter, &tc->maxpos, &tc->types};
    slava_status st = SLAVA_OK;
    for (int i = 0; i < 6 && cJSON_IsObject(t) && !st; i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(t, keys[i]);
        if (!j || cJSON_IsNull(j)) continue;
        if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < (i == 2 ? 0 : 1) ||
            j->valuedouble > 1e7)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: text_config \"%s\" must be a positive integer", path, keys[i]);
        else *vals[i] = (int)j->valuedouble;
    }
    cJSON_Delete(root);
    return st;
}

static double logit_scale_init(slava_ctx *ctx, const char *path) {
    double v = 1.0 / 0.07;
    char *buf = NULL;
    size_t len = 0;
    if (sv_read_file(ctx, path, &buf, &len) != SLAVA_OK) return log(v);
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    const cJSON *j = root ? cJSON_GetObjectItemCaseSensitive(root, "logit_scale_init_value") : NULL;
    if (cJSON_IsNumber(j) && j->valuedouble > 0) v = j->valuedouble;
    cJSON_Delete(root);
    return log(v);
}

static const char preprocessor_json[] =
    "{\n  \"chunk_length_s\": 10,\n  \"feature_extractor_type\": \"ClapFeatureExtractor\",\n"
    "  \"feature_size\": 64,\n  \"fft_window_size\": 1024,\n  \"frequency_max\": 14000,\n"
    "  \"frequency_min\": 50,\n  \"hop_length\": 480,\n  \"max_length_s\": 10,\n  \"n_fft\": 1024,\n"
    "  \"nb_frequency_bins\": 513,\n  \"nb_max_frames\": 1000,\n  \"nb_max_samples\": 480000,\n"
    "  \"padding\": \"repeatpad\",\n  \"padding_side\": \"right\",\n  \"padding_value\": 0.0,\n"
    "  \"processor_class\": \"ClapProcessor\",\n  \"return_attention_mask\": false,\n"
    "  \"sampling_rate\": 48000,\n  \"top_db\": null,\n  \"truncation\": \"rand_trunc\"\n}\n";

slava_status slava_clap_init_random(slava_ctx *ctx, const char *config_json, uint64_t seed, const char *out_dir) {
    SV_TRY(sv_make_dirs(ctx, out_dir));
    char *cfg_text = NULL;
    size_t cfg_len = 0;
    SV_TRY(sv_read_file(ctx, config_json, &cfg_text, &cfg_len));
    char *cfg_out = sv_path_join(out_dir, "config.json");
    char *model_out = sv_path_join(out_dir, "model.safetensors");
    char *pre_out = sv_path_join(out_dir, "preprocessor_config.json");
    tlist l = {0};
    l.ctx = ctx;
    sv_rng_seed(&l.rng, seed);
    slava_status st = sv_write_file(ctx, cfg_out, cfg_text, cfg_len);
    sv_clap_audio_cfg ac;
    text_cfg tc;
    if (!st) {
        st = sv_clap_config_load(ctx, out_dir, &ac);
    }
    if (!st) st = text_config(ctx, config_json, &tc);
    if (st) goto done;

    /* ---- audio tower (ClapAudioModel) */
    char p[256];
    const int M = ac.num_mel_bins, W = ac.window_size, L = W * W;
    addi(&l, 0, SHAPE(0), "audio_model.audio_encoder.batch_norm.num_batches_tracked");
    addf(&l, INIT_NORMAL, 1, SHAPE(M), "audio_model.audio_encoder.batch_norm.bias");
    addf(&l, INIT_UNIT_NORMAL, 1, SHAPE(M), "audio_model.audio_encoder.batch_norm.running_mean");
    addf(&l, INIT_ONE_PLUS_UNIFORM, 1, SHAPE(M), "audio_model.audio_encoder.batch_norm.running_var");
    addf(&l, INIT_ONE_PLUS, 1, SHAPE(M), "audio_model.audio_encoder.batch_norm.weight");
    int C = ac.patch_embeds_hidden_size;
    for (int s = 0; s < ac.num_stages; s++) {
        const int H = ac.num_heads[s], F = (int)(ac.mlp_ratio * C);
        for (int b = 0; b < ac.depths[s]; b++) {
#define BLK "audio_model.audio_encoder.layers.%d.blocks.%d."
            snprintf(p, sizeof p, BLK "attention.output.dense", s, b);
            linear(&l, C, C, 1, p);
            const char *qkv[3] = {"key", "query", "value"};
            for (int k = 0; k < 3; k++) {
                snprintf(p, sizeof p, BLK "attention.self.%s", s, b, qkv[k]);
                linear(&l, C, C, ac.qkv_bias, p);
            }
            addf(&l, INIT_NORMAL, 2, SHAPE((2 * W - 1) * (2 * W - 1), H), BLK "attention.self.relative_position_bias_table", s, b);
            int64_t *idx = addi(&l, 2, SHAPE(L, L), BLK "attention.self.relative_position_index", s, b);
            if (idx)
                for (int i = 0; i < L; i++)
                    for (int j = 0; j < L; j++)
                        idx[(size_t)i * L + j] = ((i / W) - (j / W) + W - 1) * (2 * W - 1) + ((i % W) - (j % W) + W - 1);
            snprintf(p, sizeof p, BLK "intermediate.dense", s, b);
            linear(&l, F, C, 1, p);
            snprintf(p, sizeof p, BLK "layernorm_after", s, b);
            layernorm(&l, C, p);
            snprintf(p, sizeof p, BLK "layernorm_before", s, b);
            layernorm(&l, C, p);
            snprintf(p, sizeof p, BLK "output.dense", s, b);
            linear(&l, C, F, 1, p);
#undef BLK
        }
        if (s + 1 < ac.num_stages) {
            snprintf(p, sizeof p, "audio_model.audio_encoder.layers.%d.downsample.norm", s);
            layernorm(&l, 4 * C, p);
            addf(&l, INIT_NORMAL, 2, SHAPE(2 * C, 4 * C), "audio_model.audio_encoder.layers.%d.downsample.reduction.weight", s);
            C *= 2;
        }
    }
    layernorm(&l, ac.hidden_size, "audio_model.audio_encoder.norm");
    layernorm(&l, ac.patch_embeds_hidden_size, "audio_model.audio_encoder.patch_embed.norm");
    addf(&l, INIT_NORMAL, 1, SHAPE(ac.patch_embeds_hidden_size), "audio_model.audio_encoder.patch_embed.proj.bias");
    addf(&l, INIT_NORMAL, 4, SHAPE(ac.patch_embeds_hidden_size, 1, ac.patch_size, ac.patch_size),
         "audio_model.audio_encoder.patch_embed.proj.weight");
    linear(&l, ac.projection_dim, ac.hidden_size, 1, "audio_projection.linear1");
    linear(&l, ac.projection_dim, ac.projection_dim, 1, "audio_projection.linear2");
    double ls = logit_scale_init(ctx, config_json);
    addf(&l, INIT_ZERO, 0, SHAPE(0), "logit_scale_a");
    addf(&l, INIT_ZERO, 0, SHAPE(0), "logit_scale_t");
    if (!l.st) { ((float *)l.data[l.n - 1])[0] = (float)ls; ((float *)l.data[l.n - 2])[0] = (float)ls; }

    /* ---- text tower (ClapTextModel, RoBERTa layout) */
    const int Ht = tc.hidden;
    int64_t *pos = addi(&l, 2, SHAPE(1, tc.maxpos), "text_model.embeddings.position_ids");
    if (pos) for (int i = 0; i < tc.maxpos; i++) pos[i] = i;
    addi(&l, 2, SHAPE(1, tc.maxpos), "text_model.embeddings.token_type_ids");
    layernorm(&l, Ht, "text_model.embeddings.LayerNorm");
    addf(&l, INIT_NORMAL, 2, SHAPE(tc.maxpos, Ht), "text_model.embeddings.position_embeddings.weight");
    addf(&l, INIT_NORMAL, 2, SHAPE(tc.types, Ht), "text_model.embeddings.token_type_embeddings.weight");
    addf(&l, INIT_NORMAL, 2, SHAPE(tc.vocab, Ht), "text_model.embeddings.word_embeddings.weight");
    for (int i = 0; i < tc.layers; i++) {
#define TL "text_model.encoder.layer.%d."
        snprintf(p, sizeof p, TL "attention.output.LayerNorm", i); layernorm(&l, Ht, p);
        snprintf(p, sizeof p, TL "attention.output.dense", i); linear(&l, Ht, Ht, 1, p);
        snprintf(p, sizeof p, TL "attention.self.key", i); linear(&l, Ht, Ht, 1, p);
        snprintf(p, sizeof p, TL "attention.self.query", i); linear(&l, Ht, Ht, 1, p);
        snprintf(p, sizeof p, TL "attention.self.value", i); linear(&l, Ht, Ht, 1, p);
        snprintf(p, sizeof p, TL "intermediate.dense", i); linear(&l, tc.inter, Ht, 1, p);
        snprintf(p, sizeof p, TL "output.LayerNorm", i); layernorm(&l, Ht, p);
        snprintf(p, sizeof p, TL "output.dense", i); linear(&l, Ht, tc.inter, 1, p);
#undef TL
    }
    linear(&l, Ht, Ht, 1, "text_model.pooler.dense");
    linear(&l, ac.projection_dim, Ht, 1, "text_projection.linear1");
    linear(&l, ac.projection_dim, ac.projection_dim, 1, "text_projection.linear2");
    st = l.st;
    if (!st) {
        const char *meta[] = {"format", "pt", NULL};
        st = sv_st_write(ctx, model_out, l.t, l.n, meta);
    }
    if (!st) st = sv_write_file(ctx, pre_out, preprocessor_json, sizeof preprocessor_json - 1);
done:
    for (int i = 0; i < l.n; i++) { sv_free(l.data[i]); free((char *)l.t[i].name); }
    free(l.t);
    free(l.data);
    free(cfg_text);
    free(cfg_out);
    free(model_out);
    free(pre_out);
    return st;
}
