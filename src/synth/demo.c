/*
 * demo.c — the media demo's inputs in a work folder (slava_demo_prepare): the synthetic mp4
 * collection, and tiny random-weight CLIP and CLAP checkpoints written by init-random from the
 * configs below (CLIP's tokenizer files come from a folder given by the caller). Each step is
 * skipped when an earlier run completed it, so a rerun goes straight to the encoding.
 */
#include "base/base.h"
#include <stdio.h>

/* Tiny CLIP: ViT with 32-pixel patches on 224×224 inputs (the real preprocessing), 2 layers of
 * width 128 in each tower, 64-d projections; the real 49408-token vocabulary. */
static const char demo_clip_config[] =
    "{\n"
    "  \"architectures\": [\"CLIPModel\"],\n"
    "  \"model_type\": \"clip\",\n"
    "  \"projection_dim\": 64,\n"
    "  \"logit_scale_init_value\": 2.6592,\n"
    "  \"initializer_factor\": 1.0,\n"
    "  \"text_config\": {\"model_type\": \"clip_text_model\", \"hidden_size\": 128, \"intermediate_size\": 512,\n"
    "                  \"num_attention_heads\": 4, \"num_hidden_layers\": 2},\n"
    "  \"vision_config\": {\"model_type\": \"clip_vision_model\", \"hidden_size\": 128, \"intermediate_size\": 512,\n"
    "                    \"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"image_size\": 224, \"patch_size\": 32},\n"
    "  \"torch_dtype\": \"float32\"\n"
    "}\n";

/* Tiny CLAP: HTSAT with the real front end (48 kHz, 64 mel bins, 1001 frames → 256×256 image),
 * patch embedding width 16, depths 1/1/2/1 (pooled width 128), 64-d projection. */
static const char demo_clap_config[] =
    "{\n"
    "  \"architectures\": [\"ClapModel\"],\n"
    "  \"model_type\": \"clap\",\n"
    "  \"projection_dim\": 64,\n"
    "  \"hidden_size\": 64,\n"
    "  \"projection_hidden_act\": \"relu\",\n"
    "  \"logit_scale_init_value\": 14.285714285714285,\n"
    "  \"initializer_factor\": 1.0,\n"
    "  \"audio_config\": {\"model_type\": \"clap_audio_model\", \"depths\": [1, 1, 2, 1], \"hidden_size\": 128,\n"
    "                   \"num_attention_heads\": [1, 2, 4, 8], \"patch_embeds_hidden_size\": 16,\n"
    "                   \"projection_dim\": 64},\n"
    "  \"text_config\": {\"model_type\": \"clap_text_model\", \"hidden_size\": 32, \"intermediate_size\": 64,\n"
    "                  \"max_position_embeddings\": 80, \"num_attention_heads\": 2, \"num_hidden_layers\": 1,\n"
    "                  \"projection_dim\": 64, \"vocab_size\": 1000},\n"
    "  \"torch_dtype\": \"float32\"\n"
    "}\n";

/* WORK/<name>: a random-weight checkpoint from a built-in config (skipped when present). The
 * config and tokenizer files go into WORK/<name>-config first; init-random copies them over. */
static slava_status make_model(slava_ctx *ctx, const char *work, const char *name, const char *config,
                               const char *vocab_dir) {
    char dir[2048], cfgdir[2048], path[2200];
    snprintf(dir, sizeof dir, "%s/%s", work, name);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (sv_file_exists(path)) return SLAVA_OK;
    snprintf(cfgdir, sizeof cfgdir, "%s/%s-config", work, name);
    SV_TRY(sv_make_dirs(ctx, cfgdir));
    snprintf(path, sizeof path, "%s/config.json", cfgdir);
    SV_TRY(sv_write_file(ctx, path, config, strlen(config)));
    if (vocab_dir) {
        char src[2200], dst[2200];
        static const char *files[] = {"vocab.json", "merges.txt"};
        for (int i = 0; i < 2; i++) {
            snprintf(src, sizeof src, "%s/%s", vocab_dir, files[i]);
            snprintf(dst, sizeof dst, "%s/%s", cfgdir, files[i]);
            slava_status st = sv_copy_file(ctx, src, dst);
            if (st) {
                char why[1024];
                snprintf(why, sizeof why, "%s", slava_ctx_error(ctx));
                return sv_err(ctx, st, "%s (the tokenizer folder must hold CLIP's vocab.json and merges.txt)", why);
            }
        }
    }
    sv_log(ctx, 0, "demo: writing a tiny random-weight %s checkpoint -> %s", name, dir);
    return vocab_dir ? slava_clip_init_random(ctx, path, 0, dir) : slava_clap_init_random(ctx, path, 0, dir);
}

slava_status slava_demo_prepare(slava_ctx *ctx, const char *work, const slava_synth_opts *o, const char *vocab_dir,
                                double seconds[2]) {
    double t0 = sv_now();
    if (seconds) seconds[0] = seconds[1] = 0;
    if (!work || !*work) return sv_err(ctx, SLAVA_E_ARG, "demo: empty work folder name");
    if (!vocab_dir) return sv_err(ctx, SLAVA_E_ARG, "demo: no folder with CLIP's tokenizer files");
    SV_TRY(sv_make_dirs(ctx, work));
    /* 1. the synthetic collection; the marker is written once every clip is */
    char data[2048], marker[2200];
    snprintf(data, sizeof data, "%s/data", work);
    snprintf(marker, sizeof marker, "%s/.synth-complete", work);
    if (!sv_file_exists(marker)) {
        slava_synth_opts so = *o;
        so.out_dir = data;
        so.force = 1;      /* an interrupted earlier attempt is overwritten: same options, same files */
        sv_log(ctx, 0, "demo: writing synthetic clips -> %s", data);
        SV_TRY(slava_synth_write(ctx, &so, NULL));
        static const char done[] = "slava synth finished\n";
        SV_TRY(sv_write_file(ctx, marker, done, sizeof done - 1));
    }
    double t1 = sv_now();
    /* 2. the tiny random-weight encoders */
    SV_TRY(make_model(ctx, work, "clip", demo_clip_config, vocab_dir));
    SV_TRY(make_model(ctx, work, "clap", demo_clap_config, NULL));
    if (seconds) { seconds[0] = t1 - t0; seconds[1] = sv_now() - t1; }
    return SLAVA_OK;
}
