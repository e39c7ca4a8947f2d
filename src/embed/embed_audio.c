/*
 * embed_audio.c — slava_embed_audios: each file's audio decoded to 48 kHz mono and cut into
 * 10 s chunks (slava_audio), each chunk through CLAP's log-mel front end, and the chunks of all
 * inputs through HTSAT in shared batches of chunk_batch chunks (rows.c). Chunk k covers
 * [10k, min(10k + 10, duration)].
 */
#include "embed/embed.h"

static slava_status chunks_fn(slava_ctx *ctx, slava_embedder *e, int n, const float *in, float *pooled,
                              float *projected) {
    return sv_embedder_chunks(ctx, e, n, in, pooled, projected);
}

/* Input i chunk by chunk into the batch; user: a waveform buffer of SLAVA_AUDIO_CHUNK floats. */
static slava_status read_audio(sv_rows *r, int i, void *user, slava_status *fatal, double *duration) {
    slava_ctx *ctx = r->c->ctx;
    const char *path = r->c->names[i];
    float *wave = user;
    slava_audio *a = NULL;
    SV_TRY(slava_audio_open(ctx, path, &a));
    slava_status st = SLAVA_OK;
    while (!st && !*fatal) {
        int n = 0;
        st = slava_audio_next_chunk(ctx, a, wave, &n);
        if (st || n == 0) break;
        float *dst;
        if ((*fatal = sv_rows_slot(r, i, &dst))) break;
        st = sv_embedder_mel(ctx, r->c->e, wave, n, dst);
        if (st) { sv_err_prefix(ctx, "%s", path); break; }
        *fatal = sv_rows_push(r, i);
    }
    *duration = slava_audio_seconds(a);
    slava_audio_close(a);
    return st;
}

slava_status slava_embed_audios(slava_ctx *ctx, slava_embedder *e, int n, const char *const *paths,
                                slava_embedding *out) {
    sv_embed_call c;
    SV_TRY(sv_embed_begin(&c, ctx, e, SLAVA_MOD_AUDIO, n, paths, out));
    sv_rows r;
    slava_status fatal = sv_rows_init(&r, &c, chunks_fn, e->o.chunk_batch, (size_t)SLAVA_MEL_FRAMES * SLAVA_MEL_BINS,
                                      (double)SLAVA_AUDIO_CHUNK / SLAVA_AUDIO_RATE);
    float *wave = fatal ? NULL : sv_alloc(sizeof(float) * SLAVA_AUDIO_CHUNK);
    if (!fatal && !wave) fatal = sv_err(ctx, SLAVA_E_NOMEM, "embed: out of memory");
    if (!fatal) fatal = sv_rows_run(&r, read_audio, wave, "no audio chunk");
    if (fatal) sv_embed_abort(&c, fatal);
    sv_free(wave);
    sv_rows_free(&r);
    return sv_embed_end(&c);
}
