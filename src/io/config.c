/*
 * config.c — reads Hugging Face config.json for CLIP and CLAP into plain structs. Defaults are
 * those of transformers 4.40 (CLIPTextConfig, CLIPVisionConfig, ClapAudioConfig, ClapConfig), so
 * a config.json that leaves keys out (as transformers writes it) means the same thing here.
 * Legacy `text_config_dict` / `vision_config_dict` objects override `text_config` /
 * `vision_config` as upstream does. Unknown keys are ignored.
 */
#include "io/config.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

typedef struct { slava_ctx *ctx; const char *path; slava_status st; } cfgr;

/* Integer key: absent or null → keep default. Wrong type or out of range → error. */
static void get_int(cfgr *r, const cJSON *o, const char *key, int *v, int lo, int hi) {
    if (r->st || !o) return;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return;
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < lo || j->valuedouble > hi) {
        r->st = sv_err(r->ctx, SLAVA_E_FORMAT, "%s: \"%s\" must be an integer in [%d, %d]", r->path, key, lo, hi);
        return;
    }
    *v = (int)j->valuedouble;
}

static void get_float(cfgr *r, const cJSON *o, const char *key, float *v) {
    if (r->st || !o) return;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return;
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble)) {
        r->st = sv_err(r->ctx, SLAVA_E_FORMAT, "%s: \"%s\" must be a number", r->path, key);
        return;
    }
    *v = (float)j->valuedouble;
}

static void get_bool(cfgr *r, const cJSON *o, const char *key, int *v) {
    if (r->st || !o) return;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return;
    if (!cJSON_IsBool(j)) { r->st = sv_err(r->ctx, SLAVA_E_FORMAT, "%s: \"%s\" must be true or false", r->path, key); return; }
    *v = cJSON_IsTrue(j);
}

/* Activation name → 1 quick_gelu / relu, 0 gelu. */
static void get_act(cfgr *r, const cJSON *o, const char *key, int *is_alt, const char *alt) {
    if (r->st || !o) return;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return;
    if (!cJSON_IsString(j)) { r->st = sv_err(r->ctx, SLAVA_E_FORMAT, "%s: \"%s\" must be a string", r->path, key); return; }
    if (!strcmp(j->valuestring, alt)) *is_alt = 1;
    else if (!strcmp(j->valuestring, "gelu")) *is_alt = 0;
    else r->st = sv_err(r->ctx, SLAVA_E_UNSUPPORTED, "%s: \"%s\" is \"%s\"; supported: \"%s\", \"gelu\"", r->path, key, j->valuestring, alt);
}

static int get_int_list(cfgr *r, const cJSON *o, const char *key, int *v, int maxn, int *n) {
    if (r->st || !o) return 0;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return 0;
    int k = 0;
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) < 1 || cJSON_GetArraySize(j) > maxn) {
        r->st = sv_err(r->ctx, SLAVA_E_FORMAT, "%s: \"%s\" must be a list of 1..%d integers", r->path, key, maxn);
        return 0;
    }
    for (const cJSON *e = j->child; e; e = e->next, k++) {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 1 || e->valuedouble > 1e6) {
            r->st = sv_err(r->ctx, SLAVA_E_FORMAT, "%s: \"%s\" must hold positive integers", r->path, key);
            return 0;
        }
        v[k] = (int)e->valuedouble;
    }
    *n = k;
    return 1;
}

static slava_status load_json(slava_ctx *ctx, const char *dir, char **path, cJSON **root) {
    *path = sv_path_join(dir, "config.json");
    *root = NULL;
    char *txt = NULL;
    slava_status st = sv_read_file(ctx, *path, &txt, NULL);
    if (st) return st;
    *root = cJSON_Parse(txt);
    free(txt);
    if (!*root || !cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return sv_nomem_if_low(ctx, sv_err(ctx, SLAVA_E_FORMAT, "%s: not a valid JSON object", *path), *path, "parsing it");
    }
    return SLAVA_OK;
}

static void read_clip_tower(cfgr *r, const cJSON *o, sv_clip_tower_cfg *t, int text) {
    get_int(r, o, "hidden_size", &t->hidden, 1, 1 << 16);
    get_int(r, o, "intermediate_size", &t->intermediate, 1, 1 << 18);
    get_int(r, o, "num_hidden_layers", &t->layers, 0, 1024);
    get_int(r, o, "num_attention_heads", &t->heads, 1, 1024);
    get_float(r, o, "layer_norm_eps", &t->ln_eps);
    get_act(r, o, "hidden_act", &t->act_quick_gelu, "quick_gelu");
    if (text) {
        get_int(r, o, "vocab_size", &t->vocab_size, 1, 1 << 24);
        get_int(r, o, "max_position_embeddings", &t->max_positions, 1, 1 << 16);
        get_int(r, o, "eos_token_id", &t->eos_token_id, -1, 1 << 24);
        get_int(r, o, "bos_token_id", &t->bos_token_id, -1, 1 << 24);
    } else {
        get_int(r, o, "image_size", &t->image_size, 1, 1 << 14);
        get_int(r, o, "patch_size", &t->patch_size, 1, 1 << 12);
        get_int(r, o, "num_channels", &t->num_channels, 1, 4);
    }
}

static slava_status check_tower(cfgr *r, const sv_clip_tower_cfg *t, const char *which) {
    if (r->st) return r->st;
    if (t->hidden % t->heads)
        return sv_err(r->ctx, SLAVA_E_FORMAT, "%s: %s hidden_size %d is not divisible by num_attention_heads %d", r->path,
                      which, t->hidden, t->heads);
    if (!(t->ln_eps > 0)) return sv_err(r->ctx, SLAVA_E_FORMAT, "%s: %s layer_norm_eps must be positive", r->path, which);
    return SLAVA_OK;
}

slava_status sv_clip_config_load(slava_ctx *ctx, const char *dir, sv_clip_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->text = (sv_clip_tower_cfg){.hidden = 512, .intermediate = 2048, .layers = 12, .heads = 8, .ln_eps = 1e-5f,
                                     .act_quick_gelu = 1, .vocab_size = 49408, .max_positions = 77,
                                     .eos_token_id = 49407, .bos_token_id = 49406};
    cfg->vision = (sv_clip_tower_cfg){.hidden = 768, .intermediate = 3072, .layers = 12, .heads = 12, .ln_eps = 1e-5f,
                                       .act_quick_gelu = 1, .image_size = 224, .patch_size = 32, .num_channels = 3};
    cfg->projection_dim = 512;
    cfg->logit_scale_init = 2.6592f;
    char *path = NULL;
    cJSON *root = NULL;
    slava_status st = load_json(ctx, dir, &path, &root);
    if (st) { free(path); return st; }
    cfgr r = {ctx, path, SLAVA_OK};
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    const cJSON *tcd = cJSON_GetObjectItemCaseSensitive(root, "text_config_dict");
    const cJSON *vcd = cJSON_GetObjectItemCaseSensitive(root, "vision_config_dict");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (cJSON_IsString(mt) && strcmp(mt->valuestring, "clip"))
        r.st = sv_err(ctx, SLAVA_E_FORMAT, "%s: model_type is \"%s\", expected \"clip\"", path, mt->valuestring);
    if (!r.st && tc && !cJSON_IsNull(tc) && !cJSON_IsObject(tc))
        r.st = sv_err(ctx, SLAVA_E_FORMAT, "%s: \"text_config\" must be an object", path);
    if (!r.st && vc && !cJSON_IsNull(vc) && !cJSON_IsObject(vc))
        r.st = sv_err(ctx, SLAVA_E_FORMAT, "%s: \"vision_config\" must be an object", path);
    read_clip_tower(&r, cJSON_IsObject(tc) ? tc : NULL, &cfg->text, 1);
    read_clip_tower(&r, cJSON_IsObject(tcd) ? tcd : NULL, &cfg->text, 1);
    read_clip_tower(&r, cJSON_IsObject(vc) ? vc : NULL, &cfg->vision, 0);
    read_clip_tower(&r, cJSON_IsObject(vcd) ? vcd : NULL, &cfg->vision, 0);
    get_int(&r, root, "projection_dim", &cfg->projection_dim, 1, 1 << 16);
    get_float(&r, root, "logit_scale_init_value", &cfg->logit_scale_init);
    st = check_tower(&r, &cfg->text, "text_config");
    if (!st) st = check_tower(&r, &cfg->vision, "vision_config");
    if (!st && cfg->vision.image_size % cfg->vision.patch_size)
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: image_size %d is not a multiple of patch_size %d", path,
                    cfg->vision.image_size, cfg->vision.patch_size);
    cJSON_Delete(root);
    free(path);
    return st;
}

slava_status sv_clap_config_load(slava_ctx *ctx, const char *dir, sv_clap_audio_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    *cfg = (sv_clap_audio_cfg){.num_mel_bins = 64, .spec_size = 256, .patch_size = 4, .patch_stride = {4, 4},
                               .patch_embeds_hidden_size = 96, .hidden_size = 768, .depths = {2, 2, 6, 2},
                               .num_heads = {4, 8, 16, 32}, .num_stages = 4, .window_size = 8, .mlp_ratio = 4.0f,
                               .qkv_bias = 1, .ln_eps = 1e-5f, .enable_patch_layer_norm = 1,
                               .flatten_patch_embeds = 1, .enable_fusion = 0, .projection_dim = 512,
                               .projection_hidden_size = 768, .act_gelu = 1, .proj_act_relu = 1,
                               .top_projection_dim = 512};
    char *path = NULL;
    cJSON *root = NULL;
    slava_status st = load_json(ctx, dir, &path, &root);
    if (st) { free(path); return st; }
    cfgr r = {ctx, path, SLAVA_OK};
    const cJSON *ac = cJSON_GetObjectItemCaseSensitive(root, "audio_config");
    const cJSON *acd = cJSON_GetObjectItemCaseSensitive(root, "audio_config_dict");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (cJSON_IsString(mt) && strcmp(mt->valuestring, "clap"))
        r.st = sv_err(ctx, SLAVA_E_FORMAT, "%s: model_type is \"%s\", expected \"clap\"", path, mt->valuestring);
    if (!r.st && ac && !cJSON_IsNull(ac) && !cJSON_IsObject(ac))
        r.st = sv_err(ctx, SLAVA_E_FORMAT, "%s: \"audio_config\" must be an object", path);
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *o = pass == 0 ? ac : acd;
        if (!cJSON_IsObject(o)) continue;
        int is_gelu_alt = 0, nd = 0, nh = 0, ps[2] = {0, 0}, nps = 0;
        get_int(&r, o, "num_mel_bins", &cfg->num_mel_bins, 1, 4096);
        get_int(&r, o, "spec_size", &cfg->spec_size, 1, 1 << 14);
        get_int(&r, o, "patch_size", &cfg->patch_size, 1, 1024);
        if (get_int_list(&r, o, "patch_stride", ps, 2, &nps)) {
            cfg->patch_stride[0] = ps[0];
            cfg->patch_stride[1] = nps == 2 ? ps[1] : ps[0];
        }
        get_int(&r, o, "patch_embeds_hidden_size", &cfg->patch_embeds_hidden_size, 1, 1 << 16);
        get_int(&r, o, "hidden_size", &cfg->hidden_size, 1, 1 << 16);
        if (get_int_list(&r, o, "depths", cfg->depths, 8, &nd)) cfg->num_stages = nd;
        int heads_given = get_int_list(&r, o, "num_attention_heads", cfg->num_heads, 8, &nh);
        if (!r.st && heads_given && nh != cfg->num_stages)
            r.st = sv_err(ctx, SLAVA_E_FORMAT, "%s: \"num_attention_heads\" has %d entries but \"depths\" has %d", path, nh,
                          cfg->num_stages);
        get_int(&r, o, "window_size", &cfg->window_size, 1, 1024);
        get_float(&r, o, "mlp_ratio", &cfg->mlp_ratio);
        get_bool(&r, o, "qkv_bias", &cfg->qkv_bias);
        get_float(&r, o, "layer_norm_eps", &cfg->ln_eps);
        get_bool(&r, o, "enable_patch_layer_norm", &cfg->enable_patch_layer_norm);
        get_bool(&r, o, "flatten_patch_embeds", &cfg->flatten_patch_embeds);
        get_bool(&r, o, "enable_fusion", &cfg->enable_fusion);
        get_int(&r, o, "projection_dim", &cfg->projection_dim, 1, 1 << 16);
        is_gelu_alt = !cfg->act_gelu;
        get_act(&r, o, "hidden_act", &is_gelu_alt, "relu");
        cfg->act_gelu = !is_gelu_alt;
        get_act(&r, o, "projection_hidden_act", &cfg->proj_act_relu, "relu");
    }
    /* ClapConfig overrides the sub-config's projection size and activation with its own
     * (transformers: audio_config.projection_dim = projection_dim, default 512). */
    cfg->top_projection_dim = 512;
    get_int(&r, root, "projection_dim", &cfg->top_projection_dim, 1, 1 << 16);
    cfg->projection_dim = cfg->top_projection_dim;
    get_act(&r, root, "projection_hidden_act", &cfg->proj_act_relu, "relu");
    cfg->projection_hidden_size = cfg->hidden_size;
    st = r.st;
    if (!st && cfg->enable_fusion)
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: enable_fusion is true; only the unfused CLAP audio model is supported", path);
    if (!st && !(cfg->ln_eps > 0)) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: audio_config layer_norm_eps must be positive", path);
    if (!st && !(cfg->mlp_ratio > 0 && cfg->mlp_ratio <= 64 && (int)(cfg->mlp_ratio * cfg->patch_embeds_hidden_size) >= 1))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: audio_config mlp_ratio %g must be in (0, 64] and give an MLP of at least one unit",
                    path, cfg->mlp_ratio);
    for (int s = 0; s < cfg->num_stages && !st; s++)   /* "depths" may name more stages than the default heads */
        if (cfg->num_heads[s] < 1)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: \"depths\" has %d stages but \"num_attention_heads\" gives none for stage %d",
                        path, cfg->num_stages, s + 1);
    if (!st) {
        int C = cfg->patch_embeds_hidden_size;
        for (int s = 0; s < cfg->num_stages && !st; s++) {
            if (C % cfg->num_heads[s])
                st = sv_err(ctx, SLAVA_E_FORMAT, "%s: stage %d width %d is not divisible by %d heads", path, s, C, cfg->num_heads[s]);
            if (s + 1 < cfg->num_stages) C *= 2;
        }
        if (!st && C != cfg->hidden_size)
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: hidden_size %d does not match patch_embeds_hidden_size × 2^(stages-1) = %d",
                        path, cfg->hidden_size, C);
    }
    cJSON_Delete(root);
    free(path);
    return st;
}
