/*
 * cmd_embed_text.c — `slava embed --clip DIR --text [--heads FILE] [--] TEXT...`: CLIP text tower
 * on every caption (batched), one JSON line per caption: pooled (final-LN state at end-of-text),
 * projected (text_projection, or the text head of --heads) and its L2-normalised embedding.
 */
#include "cli/cli.h"
#include <stdlib.h>
#include <string.h>

int embed_text_run(const cli_embed_opts *o) {
    slava_ctx *ctx = slava_ctx_new();
    slava_clip_text *m = NULL;
    slava_heads *heads = NULL;
    float *pooled = NULL, *proj = NULL;
    int rc = CLI_OK;
    if (slava_clip_text_load(ctx, o->clip_dir, &m) != SLAVA_OK) { rc = cli_fail(ctx); goto out; }
    int D, P, L;
    slava_clip_text_dims(m, &D, &P, &L);
    if (o->heads) {
        if (slava_heads_load(ctx, o->heads, &heads) != SLAVA_OK) { rc = cli_fail(ctx); goto out; }
        P = slava_heads_dim(heads);
    }
    pooled = malloc(sizeof(float) * (size_t)o->ninputs * D);
    proj = malloc(sizeof(float) * (size_t)o->ninputs * (size_t)(P > 0 ? P : 1));
    if (!pooled || !proj) { cli_error("embed: out of memory for %d captions", o->ninputs); rc = CLI_FAIL; goto out; }
    if (slava_clip_text_encode(ctx, m, o->ninputs, (const char *const *)o->inputs, pooled, heads ? NULL : proj) != SLAVA_OK) {
        rc = cli_fail(ctx);
        goto out;
    }
    for (int i = 0; i < o->ninputs; i++) {
        if (heads && slava_heads_project(ctx, heads, SLAVA_MOD_TEXT, pooled + (size_t)i * D, 1, D, proj + (size_t)i * P) != SLAVA_OK) {
            rc = cli_fail(ctx);
            goto out;
        }
        cli_embed_line(stdout, o->inputs[i], pooled + (size_t)i * D, 1, D, 0, proj + (size_t)i * P, P);
    }
out:
    free(pooled);
    free(proj);
    slava_heads_free(heads);
    slava_clip_text_free(m);
    slava_ctx_free(ctx);
    return rc;
}
