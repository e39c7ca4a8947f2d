/*
 * fuzz_config.c — libFuzzer target for the Hugging Face config.json readers (sv_clip_config_load,
 * sv_clap_config_load): any bytes as config.json must give either a configuration the encoders
 * can be built from (sizes positive, heads dividing widths, image a whole number of patches,
 * HTSAT's stage widths ending at hidden_size) or a one-line error naming the file.
 */
#include "io/config.h"
#include "fuzz_util.h"

static void check_tower(const sv_clip_tower_cfg *t, int text) {
    if (t->hidden < 1 || t->intermediate < 1 || t->layers < 0 || t->heads < 1 || t->hidden % t->heads) abort();
    if (!(t->ln_eps > 0)) abort();
    if (text && (t->vocab_size < 1 || t->max_positions < 1)) abort();
    if (!text && (t->image_size < 1 || t->patch_size < 1 || t->image_size % t->patch_size || t->num_channels < 1)) abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *path = fz_write("config.json", data, size);
    slava_ctx *ctx = slava_ctx_new();
    sv_clip_cfg clip;
    slava_status st = sv_clip_config_load(ctx, fz_dir(), &clip);
    fz_check_error(ctx, st, path);
    if (st == SLAVA_OK) {
        check_tower(&clip.text, 1);
        check_tower(&clip.vision, 0);
        if (clip.projection_dim < 1) abort();
    }
    sv_clap_audio_cfg clap;
    st = sv_clap_config_load(ctx, fz_dir(), &clap);
    fz_check_error(ctx, st, path);
    if (st == SLAVA_OK) {
        if (clap.num_stages < 1 || clap.num_stages > 8 || clap.window_size < 1 || clap.patch_size < 1) abort();
        int C = clap.patch_embeds_hidden_size;
        for (int s = 0; s < clap.num_stages; s++) {
            if (clap.num_heads[s] < 1 || C % clap.num_heads[s] || clap.depths[s] < 1) abort();
            if (s + 1 < clap.num_stages) C *= 2;
        }
        if (C != clap.hidden_size || clap.enable_fusion || clap.projection_dim < 1 || !(clap.ln_eps > 0)) abort();
        if (!(clap.mlp_ratio > 0) || (int)(clap.mlp_ratio * clap.patch_embeds_hidden_size) < 1) abort();
    }
    slava_ctx_free(ctx);
    return 0;
}
