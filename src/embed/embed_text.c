/*
 * embed_text.c — slava_embed_texts: captions through the CLIP text tower in batches of
 * text_batch captions (each computed only up to its end-of-text token); one row per caption
 * (pooled = final-LN state at end-of-text), covering 0..0.
 */
#include "embed/embed.h"

slava_status slava_embed_texts(slava_ctx *ctx, slava_embedder *e, int n, const char *const *texts,
                               slava_embedding *out) {
    sv_embed_call c;
    SV_TRY(sv_embed_begin(&c, ctx, e, SLAVA_MOD_TEXT, n, texts, out));
    const int B = e->o.text_batch, D = e->d[SLAVA_MOD_TEXT], P = e->heads ? 0 : e->p_tower[SLAVA_MOD_TEXT];
    const char **batch = malloc(sizeof(char *) * (size_t)B);
    int *owner = malloc(sizeof(int) * (size_t)B);
    float *pooled = sv_alloc(sizeof(float) * (size_t)B * D), *proj = P ? sv_alloc(sizeof(float) * (size_t)B * P) : NULL;
    slava_status fatal = SLAVA_OK;
    if (!batch || !owner || !pooled || (P && !proj)) fatal = sv_err(ctx, SLAVA_E_NOMEM, "embed: out of memory");
    for (int i0 = 0; !fatal && i0 < n;) {
        int nb = 0;
        for (; i0 < n && nb < B; i0++) {
            if (texts[i0]) { batch[nb] = texts[i0]; owner[nb++] = i0; continue; }
            sv_err(ctx, SLAVA_E_ARG, "embed: text %d is NULL", i0);
            sv_embed_fail(&c, i0, SLAVA_E_ARG);
        }
        if (nb && (fatal = sv_embedder_captions(ctx, e, nb, batch, pooled, proj))) break;
        for (int b = 0; b < nb; b++) {
            float *row = malloc(sizeof(float) * (size_t)D);
            if (!row) { fatal = sv_err(ctx, SLAVA_E_NOMEM, "embed: out of memory"); break; }
            memcpy(row, pooled + (size_t)b * D, sizeof(float) * D);
            sv_embed_complete(&c, owner[b], row, proj ? proj + (size_t)b * P : NULL, 1, 0, 0);
        }
        if (!fatal && c.cancelled) fatal = sv_err(ctx, SLAVA_E_INTERRUPTED, "embed: interrupted");
    }
    if (fatal) sv_embed_abort(&c, fatal);
    free(batch);
    free(owner);
    sv_free(pooled);
    sv_free(proj);
    return sv_embed_end(&c);
}
