/*
 * cmd_embed_audio.c — `slava embed --clap DIR --audio FILE...`: each file's audio decoded to
 * 48 kHz mono, cut into 10 s chunks, run through the CLAP front end + HTSAT. One JSON line per
 * input: "pooled" = one row per chunk (HTSAT output), "projected" = mean over chunks of the
 * checkpoint's audio_projection (or of the --heads audio head), "embedding" = that, L2-normalised.
 * A failing input (no audio stream, unreadable, NaN samples...) is reported on stderr as one line
 * naming the file; the others are still embedded and the exit status is 1.
 */
#include "cli/cli.h"
#include <stdlib.h>

int embed_audio_run(const cli_embed_opts *o) {
    slava_ctx *ctx = slava_ctx_new();
    cli_log_install(ctx, 0);
    slava_clap_audio *m = NULL;
    slava_heads *heads = NULL;
    if (slava_clap_audio_load(ctx, o->clap_dir, &m) != SLAVA_OK) {
        int rc = cli_fail(ctx);
        slava_ctx_free(ctx);
        return rc;
    }
    int D = 0, P = 0;
    slava_clap_audio_dims(m, &D, &P);
    if (o->heads) {
        if (slava_heads_load(ctx, o->heads, &heads) != SLAVA_OK) {
            int rc = cli_fail(ctx);
            slava_clap_audio_free(m);
            slava_ctx_free(ctx);
            return rc;
        }
        P = slava_heads_dim(heads);
    }
    float *proj = malloc(sizeof(float) * (size_t)(P > 0 ? P : 1));
    int rc = CLI_OK;
    for (int i = 0; i < o->ninputs; i++) {
        float *pooled = NULL;
        int T = 0;
        slava_status st = slava_clap_audio_embed_file(ctx, m, o->inputs[i], 8, &pooled, &T, heads ? NULL : proj);
        if (st == SLAVA_OK && heads) st = slava_heads_project(ctx, heads, SLAVA_MOD_AUDIO, pooled, T, D, proj);
        if (st != SLAVA_OK) {
            rc = cli_fail(ctx);
        } else {
            cli_embed_line(stdout, o->inputs[i], pooled, T, D, 1, proj, P);
            fflush(stdout);
        }
        free(pooled);
    }
    free(proj);
    slava_heads_free(heads);
    slava_clap_audio_free(m);
    slava_ctx_free(ctx);
    return rc;
}
