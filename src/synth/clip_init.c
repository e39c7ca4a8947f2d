/*
 * clip_init.c — `slava init-random --like clip`: a random-weight CLIPModel folder in exactly the
 * layout transformers 4.40 saves (model.safetensors with every text and vision tensor, F32, names
 * sorted, __metadata__ {"format": "pt"}; config.json; the tokenizer files found beside the given
 * config). Sizes come from the config (keys left out take the upstream defaults), so a ViT-B/32
 * config gives full-size weights for benches.
 *
 * Values follow CLIPPreTrainedModel._init_weights' scales (embeddings N(0, initializer_range ·
 * factor), attention / MLP weights N(0, D^-½ …) as upstream, projections N(0, D^-½)), except that
 * biases and LayerNorm parameters get small random values (N(0, 0.02), LN weights 1 + N(0, 0.02))
 * instead of 0 / 1, so tests built on these checkpoints notice a bias or LN that is skipped.
 * Deterministic: one xoshiro stream seeded with `seed`, filled in tensor-name order.
 */
#include "base/base.h"
#include "base/rng.h"
#include "io/config.h"
#include "io/safetensors.h"
#include <math.h>
#include <stdio.h>

typedef enum { INIT_NORMAL, INIT_ONE_PLUS, INIT_CONST } init_kind;

typedef struct {
    char *name;
    int ndim;
    int64_t shape[4];
    init_kind kind;
    float std;     /* NORMAL / ONE_PLUS: standard deviation; CONST: the value */
    float *data;
} spec;

typedef struct { spec *s; int n, cap; int oom; } spec_list;

static void add(spec_list *l, init_kind kind, float std, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                const char *fmt, ...) __attribute__((format(printf, 9, 10)));
static void add(spec_list *l, init_kind kind, float std, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                const char *fmt, ...) {
    if (l->oom) return;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 256;
        spec *p = realloc(l->s, sizeof *p * (size_t)cap);
        if (!p) { l->oom = 1; return; }
        l->s = p;
        l->cap = cap;
    }
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    spec *s = &l->s[l->n];
    memset(s, 0, sizeof *s);
    s->name = sv_strdup(name);
    if (!s->name) { l->oom = 1; return; }
    s->ndim = ndim;
    s->shape[0] = d0; s->shape[1] = d1; s->shape[2] = d2; s->shape[3] = d3;
    s->kind = kind;
    s->std = std;
    l->n++;
}

#define BIAS_STD 0.02f

/* One encoder's layers (CLIPEncoderLayer), as CLIPPreTrainedModel._init_weights scales them. */
static void add_layers(spec_list *l, const char *tower, const sv_clip_tower_cfg *c, float factor) {
    const int64_t D = c->hidden, F = c->intermediate;
    float in_std = powf((float)D, -0.5f) * powf(2.0f * c->layers, -0.5f) * factor;
    float out_std = powf((float)D, -0.5f) * factor;
    float fc_std = powf(2.0f * (float)D, -0.5f) * factor;
    for (int i = 0; i < c->layers; i++) {
        const char *p = "%s.encoder.layers.%d.";
        char pre[160];
        snprintf(pre, sizeof pre, p, tower, i);
        add(l, INIT_NORMAL, BIAS_STD, 1, D, 0, 0, 0, "%slayer_norm1.bias", pre);
        add(l, INIT_ONE_PLUS, BIAS_STD, 1, D, 0, 0, 0, "%slayer_norm1.weight", pre);
        add(l, INIT_NORMAL, BIAS_STD, 1, D, 0, 0, 0, "%slayer_norm2.bias", pre);
        add(l, INIT_ONE_PLUS, BIAS_STD, 1, D, 0, 0, 0, "%slayer_norm2.weight", pre);
        add(l, INIT_NORMAL, BIAS_STD, 1, F, 0, 0, 0, "%smlp.fc1.bias", pre);
        add(l, INIT_NORMAL, fc_std, 2, F, D, 0, 0, "%smlp.fc1.weight", pre);
        add(l, INIT_NORMAL, BIAS_STD, 1, D, 0, 0, 0, "%smlp.fc2.bias", pre);
        add(l, INIT_NORMAL, in_std, 2, D, F, 0, 0, "%smlp.fc2.weight", pre);
        static const char *proj[4] = {"k_proj", "out_proj", "q_proj", "v_proj"};
        for (int k = 0; k < 4; k++) {
            add(l, INIT_NORMAL, BIAS_STD, 1, D, 0, 0, 0, "%sself_attn.%s.bias", pre, proj[k]);
            add(l, INIT_NORMAL, k == 1 ? out_std : in_std, 2, D, D, 0, 0, "%sself_attn.%s.weight", pre, proj[k]);
        }
    }
}

static int cmp_spec(const void *a, const void *b) { return strcmp(((const spec *)a)->name, ((const spec *)b)->name); }

slava_status slava_clip_init_random(slava_ctx *ctx, const char *config_json, uint64_t seed, const char *out_dir) {
    if (!sv_file_exists(config_json)) return sv_err(ctx, SLAVA_E_IO, "%s: no such file", config_json);
    SV_TRY(sv_make_dirs(ctx, out_dir));
    /* config.json goes into the folder as given; it is then parsed from there */
    char *cfg_out = sv_path_join(out_dir, "config.json");
    if (!cfg_out) return sv_err(ctx, SLAVA_E_NOMEM, "out of memory");
    slava_status st = SLAVA_OK;
    char *src_dir = NULL;
    spec_list l = {0};
    sv_wtensor *wt = NULL;
    src_dir = sv_strdup(config_json);
    if (!src_dir) { st = sv_err(ctx, SLAVA_E_NOMEM, "out of memory"); goto out; }
    char *slash = strrchr(src_dir, '/');
    const char *base = slash ? slash + 1 : config_json;
    if (slash) *slash = 0; else strcpy(src_dir, ".");
    /* parse the given file where it is when it is a config.json (errors then name it), else the copy */
    sv_clip_cfg cfg;
    if (!strcmp(base, "config.json") && (st = sv_clip_config_load(ctx, src_dir, &cfg)) != SLAVA_OK) goto out;
    if (strcmp(config_json, cfg_out) && (st = sv_copy_file(ctx, config_json, cfg_out)) != SLAVA_OK) goto out;
    if (strcmp(base, "config.json") && (st = sv_clip_config_load(ctx, out_dir, &cfg)) != SLAVA_OK) goto out;
    /* tokenizer / preprocessor files beside the given config */
    static const char *extra[] = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json",
                                  "preprocessor_config.json"};
    for (size_t i = 0; i < SV_ARRAY_LEN(extra); i++) {
        char *s = sv_path_join(src_dir, extra[i]), *d = sv_path_join(out_dir, extra[i]);
        if (s && d && sv_file_exists(s) && strcmp(s, d)) st = sv_copy_file(ctx, s, d);
        free(s);
        free(d);
        if (st != SLAVA_OK) goto out;
    }

    const sv_clip_tower_cfg *t = &cfg.text, *v = &cfg.vision;
    const float factor = 1.0f, range = 0.02f;
    const int64_t P = cfg.projection_dim;
    if (v->patch_size <= 0 || v->image_size < v->patch_size) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: vision image_size %d / patch_size %d make no patches", config_json,
                    v->image_size, v->patch_size);
        goto out;
    }
    const int64_t npos = (int64_t)(v->image_size / v->patch_size) * (v->image_size / v->patch_size) + 1;
    add(&l, INIT_CONST, cfg.logit_scale_init, 0, 0, 0, 0, 0, "logit_scale");
    add(&l, INIT_NORMAL, range * factor, 2, t->max_positions, t->hidden, 0, 0,
        "text_model.embeddings.position_embedding.weight");
    add(&l, INIT_NORMAL, range * factor, 2, t->vocab_size, t->hidden, 0, 0, "text_model.embeddings.token_embedding.weight");
    add_layers(&l, "text_model", t, factor);
    add(&l, INIT_NORMAL, BIAS_STD, 1, t->hidden, 0, 0, 0, "text_model.final_layer_norm.bias");
    add(&l, INIT_ONE_PLUS, BIAS_STD, 1, t->hidden, 0, 0, 0, "text_model.final_layer_norm.weight");
    add(&l, INIT_NORMAL, powf((float)t->hidden, -0.5f) * factor, 2, P, t->hidden, 0, 0, "text_projection.weight");
    add(&l, INIT_NORMAL, powf((float)v->hidden, -0.5f) * factor, 1, v->hidden, 0, 0, 0, "vision_model.embeddings.class_embedding");
    add(&l, INIT_NORMAL, range * factor, 4, v->hidden, v->num_channels, v->patch_size, v->patch_size,
        "vision_model.embeddings.patch_embedding.weight");
    add(&l, INIT_NORMAL, range * factor, 2, npos, v->hidden, 0, 0, "vision_model.embeddings.position_embedding.weight");
    add_layers(&l, "vision_model", v, factor);
    add(&l, INIT_NORMAL, BIAS_STD, 1, v->hidden, 0, 0, 0, "vision_model.post_layernorm.bias");
    add(&l, INIT_ONE_PLUS, BIAS_STD, 1, v->hidden, 0, 0, 0, "vision_model.post_layernorm.weight");
    add(&l, INIT_NORMAL, BIAS_STD, 1, v->hidden, 0, 0, 0, "vision_model.pre_layrnorm.bias");
    add(&l, INIT_ONE_PLUS, BIAS_STD, 1, v->hidden, 0, 0, 0, "vision_model.pre_layrnorm.weight");
    add(&l, INIT_NORMAL, powf((float)v->hidden, -0.5f) * factor, 2, P, v->hidden, 0, 0, "visual_projection.weight");
    if (l.oom) { st = sv_err(ctx, SLAVA_E_NOMEM, "out of memory"); goto out; }
    qsort(l.s, (size_t)l.n, sizeof *l.s, cmp_spec);

    sv_rng rng;
    sv_rng_seed(&rng, seed);
    wt = calloc((size_t)l.n, sizeof *wt);
    if (!wt) { st = sv_err(ctx, SLAVA_E_NOMEM, "out of memory"); goto out; }
    for (int i = 0; i < l.n; i++) {
        spec *s = &l.s[i];
        size_t numel = 1;
        for (int d = 0; d < s->ndim; d++) numel *= (size_t)s->shape[d];
        s->data = sv_alloc(sizeof(float) * (numel ? numel : 1));
        if (!s->data) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory for '%s'", out_dir, s->name); goto out; }
        for (size_t k = 0; k < numel; k++) {
            switch (s->kind) {
            case INIT_CONST: s->data[k] = s->std; break;
            case INIT_ONE_PLUS: s->data[k] = 1.0f + s->std * (float)sv_rng_normal(&rng); break;
            default: s->data[k] = s->std * (float)sv_rng_normal(&rng); break;
            }
        }
        wt[i].name = s->name;
        wt[i].dtype = SV_F32;
        wt[i].ndim = s->ndim;
        for (int d = 0; d < s->ndim; d++) wt[i].shape[d] = s->shape[d];
        wt[i].data = s->data;
        if (sv_progress(ctx, "init-random", i + 1, l.n, s->name)) {
            st = sv_err(ctx, SLAVA_E_INTERRUPTED, "init-random: cancelled");
            goto out;
        }
    }
    char *model = sv_path_join(out_dir, "model.safetensors");
    static const char *meta[] = {"format", "pt", NULL};
    st = model ? sv_st_write(ctx, model, wt, l.n, meta) : sv_err(ctx, SLAVA_E_NOMEM, "out of memory");
    free(model);
out:
    for (int i = 0; i < l.n; i++) { free(l.s[i].name); sv_free(l.s[i].data); }
    free(l.s);
    free(wt);
    free(src_dir);
    free(cfg_out);
    return st;
}
