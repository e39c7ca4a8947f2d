/*
 * test_safetensors.c — the checkpoint reader on good and crafted bad files: writer round trip,
 * F16/BF16 conversion, sharded folders, shape checks, config.json parsing and defaults, and a
 * dozen malformed inputs that must each give one clear error naming the file.
 */
#include "test.h"
#include "io/safetensors.h"
#include "io/config.h"
#include <sys/stat.h>

static void write_raw(const char *path, const char *hdr, const void *data, size_t dlen) {
    FILE *f = fopen(path, "wb");
    uint64_t n = strlen(hdr);
    unsigned char lb[8];
    for (int i = 0; i < 8; i++) lb[i] = (unsigned char)(n >> (8 * i));
    fwrite(lb, 1, 8, f);
    fwrite(hdr, 1, n, f);
    if (dlen) fwrite(data, 1, dlen, f);
    fclose(f);
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    fputs(s, f);
    fclose(f);
}

/* Expect sv_st_open to fail with a message containing `needle` and the file name. */
static void expect_bad(slava_ctx *ctx, const char *name, const char *hdr, size_t dlen, const char *needle) {
    const char *p = tmp_path(name);
    static unsigned char zeros[4096];
    write_raw(p, hdr, zeros, dlen);
    sv_stfile *f = NULL;
    slava_status st = sv_st_open(ctx, p, &f);
    CHECKF(st != SLAVA_OK && f == NULL, "%s opened", name);
    CHECKF(strstr(slava_ctx_error(ctx), needle) != NULL, "%s: message '%s' lacks '%s'", name, slava_ctx_error(ctx), needle);
    CHECKF(strstr(slava_ctx_error(ctx), name) != NULL, "%s: message '%s' lacks the file name", name, slava_ctx_error(ctx));
    sv_st_close(f);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();

    /* ---- fixture checkpoint opens, every tensor readable */
    sv_weights *w = NULL;
    CHECK_OK(ctx, sv_weights_open(ctx, fixture("clip-model"), &w));
    const float *p = NULL;
    CHECK_OK(ctx, sv_weights_get(ctx, w, "text_projection.weight", &p, 2, 32, 64));
    CHECK(p != NULL);
    /* wrong shape: message names file, tensor, both shapes */
    CHECK(sv_weights_get(ctx, w, "text_projection.weight", &p, 2, 512, 512) == SLAVA_E_SHAPE);
    CHECKF(strstr(slava_ctx_error(ctx), "model.safetensors: tensor 'text_projection.weight' is [32,64], config says [512,512]"),
           "%s", slava_ctx_error(ctx));
    CHECK(sv_weights_get(ctx, w, "no.such.tensor", &p, 1, 3) == SLAVA_E_NOTFOUND);
    CHECK(strstr(slava_ctx_error(ctx), "'no.such.tensor' is missing") != NULL);
    char sha[65], sha2[65];
    CHECK_OK(ctx, sv_weights_sha256(ctx, w, sha));
    CHECK(strlen(sha) == 64);
    sv_weights_free(w);
    CHECK_OK(ctx, sv_weights_open(ctx, fixture("clip-model"), &w));
    CHECK_OK(ctx, sv_weights_sha256(ctx, w, sha2));
    CHECK(!strcmp(sha, sha2));
    sv_weights_free(w);

    /* ---- writer round trip: F32, F16, BF16, I64, metadata */
    float a[6] = {1, -2, 3.5f, 0, 1e-3f, -65504};
    uint16_t h16[3] = {0x3c00, 0xc000, 0x0001};       /* 1, -2, smallest subnormal */
    uint16_t bf[2] = {0x3f80, 0xc0a0};                 /* 1, -5 */
    int64_t ids[2] = {7, -1};
    sv_wtensor wt[4] = {
        {"a", SV_F32, 2, {2, 3}, a}, {"h", SV_F16, 1, {3}, h16}, {"b", SV_BF16, 1, {2}, bf}, {"ids", SV_I64, 1, {2}, ids}};
    const char *meta[] = {"recipe", "slava-av3", "epoch", "7", NULL};
    const char *rt = tmp_path("roundtrip.safetensors");
    CHECK_OK(ctx, sv_st_write(ctx, rt, wt, 4, meta));
    sv_stfile *f = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, rt, &f));
    if (f) {
        CHECK(f->n == 4);
        const sv_tensor *t = sv_st_find(f, "a");
        CHECK(t && t->dtype == SV_F32 && t->ndim == 2 && t->shape[1] == 3 && !memcmp(t->data, a, sizeof a));
        float out[3];
        t = sv_st_find(f, "h");
        CHECK_OK(ctx, sv_tensor_to_f32(ctx, rt, t, out));
        CHECK(out[0] == 1.0f && out[1] == -2.0f && fabsf(out[2] - 5.9604645e-8f) < 1e-12f);
        t = sv_st_find(f, "b");
        CHECK_OK(ctx, sv_tensor_to_f32(ctx, rt, t, out));
        CHECK(out[0] == 1.0f && out[1] == -5.0f);
        char *m = sv_st_meta(f, "recipe");
        CHECK(m && !strcmp(m, "slava-av3"));
        free(m);
        CHECK(sv_st_meta(f, "absent") == NULL);
    }
    sv_st_close(f);

    /* ---- the F16 fixture checkpoint converts once and matches the F32 one to half precision */
    mkdir(tmp_path("clip16"), 0755);
    {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s/model.safetensors' && cp '%s' '%s/'", fixture("clip-model/model-f16.safetensors"),
                 tmp_path("clip16"), fixture("clip-model/config.json"), tmp_path("clip16"));
        CHECK(system(cmd) == 0);
        sv_weights *w16 = NULL, *w32 = NULL;
        CHECK_OK(ctx, sv_weights_open(ctx, tmp_path("clip16"), &w16));
        CHECK_OK(ctx, sv_weights_open(ctx, fixture("clip-model"), &w32));
        const float *x16 = NULL, *x32 = NULL, *again = NULL;
        if (w16 && w32) {
            CHECK_OK(ctx, sv_weights_get(ctx, w16, "text_model.final_layer_norm.weight", &x16, 1, 64));
            CHECK_OK(ctx, sv_weights_get(ctx, w16, "text_model.final_layer_norm.weight", &again, 1, 64));
            CHECK(x16 == again);  /* converted once, cached */
            CHECK_OK(ctx, sv_weights_get(ctx, w32, "text_model.final_layer_norm.weight", &x32, 1, 64));
            if (x16 && x32) {
                int ok = 1;
                for (int i = 0; i < 64; i++) ok &= fabsf(x16[i] - x32[i]) <= 1e-3f * fabsf(x32[i]) + 1e-6f;
                CHECK(ok);
            }
        }
        sv_weights_free(w16);
        sv_weights_free(w32);
    }

    /* ---- sharded folder */
    mkdir(tmp_path("sharded"), 0755);
    {
        float x[4] = {1, 2, 3, 4}, y[2] = {5, 6};
        char s1[1100], s2[1100];
        snprintf(s1, sizeof s1, "%s/model-00001-of-00002.safetensors", tmp_path("sharded"));
        snprintf(s2, sizeof s2, "%s/model-00002-of-00002.safetensors", tmp_path("sharded"));
        sv_wtensor t1 = {"x", SV_F32, 2, {2, 2}, x}, t2 = {"y", SV_F32, 1, {2}, y};
        CHECK_OK(ctx, sv_st_write(ctx, s1, &t1, 1, NULL));
        CHECK_OK(ctx, sv_st_write(ctx, s2, &t2, 1, NULL));
        char ip[1100];
        snprintf(ip, sizeof ip, "%s/model.safetensors.index.json", tmp_path("sharded"));
        write_text(ip, "{\"metadata\":{\"total_size\":24},\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
                       "\"y\":\"model-00002-of-00002.safetensors\"}}");
        sv_weights *ws = NULL;
        CHECK_OK(ctx, sv_weights_open(ctx, tmp_path("sharded"), &ws));
        const float *py = NULL;
        if (ws) {
            CHECK_OK(ctx, sv_weights_get(ctx, ws, "y", &py, 1, 2));
            CHECK(py && py[1] == 6.0f);
        }
        sv_weights_free(ws);
        write_text(ip, "{\"weight_map\":{\"x\":\"model-00002-of-00002.safetensors\"}}");
        CHECK(sv_weights_open(ctx, tmp_path("sharded"), &ws) == SLAVA_E_FORMAT);
        CHECK(strstr(slava_ctx_error(ctx), "'x' is listed") != NULL);
        write_text(ip, "{\"weight_map\":{\"x\":\"../../etc/passwd\"}}");
        CHECK(sv_weights_open(ctx, tmp_path("sharded"), &ws) != SLAVA_OK);
    }
    /* missing folder content */
    CHECK(sv_weights_open(ctx, tmp_path("nonexistent-dir"), &w) == SLAVA_E_IO);
    CHECK(strstr(slava_ctx_error(ctx), "no model.safetensors") != NULL);

    /* ---- crafted bad files */
    {   /* truncated: fewer than 8 bytes */
        const char *pt = tmp_path("trunc.safetensors");
        write_text(pt, "abc");
        sv_stfile *ff = NULL;
        CHECK(sv_st_open(ctx, pt, &ff) == SLAVA_E_FORMAT && strstr(slava_ctx_error(ctx), "truncated"));
        /* real file cut in half */
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "head -c 7000000 '%s' > '%s'", fixture("clip-model/model.safetensors"), tmp_path("half.safetensors"));
        CHECK(system(cmd) == 0);
        CHECK(sv_st_open(ctx, tmp_path("half.safetensors"), &ff) == SLAVA_E_FORMAT);
        CHECK(strstr(slava_ctx_error(ctx), "outside the data section") != NULL);
        CHECK(strstr(slava_ctx_error(ctx), "half.safetensors") != NULL);
        /* header length past the end */
        FILE *fp = fopen(pt, "wb");
        unsigned char lb[8] = {0xff, 0xff, 0, 0, 0, 0, 0, 0};
        fwrite(lb, 1, 8, fp);
        fputs("{}", fp);
        fclose(fp);
        CHECK(sv_st_open(ctx, pt, &ff) == SLAVA_E_FORMAT && strstr(slava_ctx_error(ctx), "past the end"));
        /* empty file */
        write_text(pt, "");
        CHECK(sv_st_open(ctx, pt, &ff) == SLAVA_E_FORMAT);
    }
    expect_bad(ctx, "notjson.safetensors", "{not json at all", 0, "not a valid JSON");
    expect_bad(ctx, "array.safetensors", "[1,2,3]  ", 0, "not a valid JSON object");
    expect_bad(ctx, "dtype.safetensors", "{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F31'");
    expect_bad(ctx, "span.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16, "span holds 12 bytes");
    expect_bad(ctx, "outside.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 12, "outside the data section");
    expect_bad(ctx, "overlap.safetensors",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, "overlap");
    expect_bad(ctx, "dup.safetensors",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, "appears twice");
    expect_bad(ctx, "negshape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "bad shape");
    expect_bad(ctx, "offsets.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "bad data_offsets");
    expect_bad(ctx, "nodtype.safetensors", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype");
    expect_bad(ctx, "meta.safetensors", "{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    expect_bad(ctx, "huge.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "a");

    /* ---- config.json */
    sv_clip_cfg cc;
    CHECK_OK(ctx, sv_clip_config_load(ctx, fixture("clip-model"), &cc));
    CHECK(cc.text.hidden == 64 && cc.text.layers == 2 && cc.text.heads == 4 && cc.text.intermediate == 128);
    CHECK(cc.text.vocab_size == 49408 && cc.text.max_positions == 77 && cc.text.act_quick_gelu == 1);
    CHECK(cc.vision.hidden == 64 && cc.vision.patch_size == 32 && cc.vision.image_size == 224);
    CHECK(cc.projection_dim == 32 && fabsf(cc.text.ln_eps - 1e-5f) < 1e-12f);
    sv_clap_audio_cfg ac;
    CHECK_OK(ctx, sv_clap_config_load(ctx, fixture("clap-model"), &ac));
    CHECK(ac.hidden_size == 128 && ac.patch_embeds_hidden_size == 16 && ac.num_stages == 4);
    CHECK(ac.depths[2] == 2 && ac.num_heads[3] == 8 && ac.window_size == 8 && ac.projection_dim == 32);
    CHECK(ac.spec_size == 256 && ac.num_mel_bins == 64 && ac.act_gelu && ac.proj_act_relu);
    /* CLIP config is not a CLAP config */
    CHECK(sv_clap_config_load(ctx, fixture("clip-model"), &ac) == SLAVA_E_FORMAT);
    CHECK(strstr(slava_ctx_error(ctx), "expected \"clap\"") != NULL);
    mkdir(tmp_path("cfg"), 0755);
    char cp[1100];
    snprintf(cp, sizeof cp, "%s/config.json", tmp_path("cfg"));
    write_text(cp, "{\"model_type\":\"clip\",\"text_config\":{\"hidden_size\":512},\"text_config_dict\":{\"num_hidden_layers\":3},"
                   "\"vision_config\":{},\"unknown_key\":[1,2]}");
    CHECK_OK(ctx, sv_clip_config_load(ctx, tmp_path("cfg"), &cc));
    CHECK(cc.text.hidden == 512 && cc.text.layers == 3 && cc.vision.hidden == 768 && cc.projection_dim == 512);
    write_text(cp, "{\"text_config\":{\"hidden_size\":\"big\"}}");
    CHECK(sv_clip_config_load(ctx, tmp_path("cfg"), &cc) == SLAVA_E_FORMAT);
    CHECK(strstr(slava_ctx_error(ctx), "config.json: \"hidden_size\" must be an integer") != NULL);
    write_text(cp, "{\"text_config\":{\"hidden_size\":65,");
    CHECK(sv_clip_config_load(ctx, tmp_path("cfg"), &cc) == SLAVA_E_FORMAT);
    CHECK(strstr(slava_ctx_error(ctx), "not a valid JSON") != NULL);
    write_text(cp, "{\"text_config\":{\"hidden_size\":65}}");
    CHECK(sv_clip_config_load(ctx, tmp_path("cfg"), &cc) == SLAVA_E_FORMAT);
    CHECK(strstr(slava_ctx_error(ctx), "not divisible") != NULL);
    write_text(cp, "{\"vision_config\":{\"hidden_act\":\"swish\"}}");
    CHECK(sv_clip_config_load(ctx, tmp_path("cfg"), &cc) == SLAVA_E_UNSUPPORTED);
    unlink(cp);
    CHECK(sv_clip_config_load(ctx, tmp_path("cfg"), &cc) == SLAVA_E_IO);
    CHECK(strstr(slava_ctx_error(ctx), "config.json: cannot open") != NULL);

    slava_ctx_free(ctx);
    return test_done("safetensors");
}
