/*
 * chunk.c — the public streaming chunk reader (slava_audio_*): 48 kHz mono samples from
 * io/audio_decode cut into consecutive 10 s chunks from t = 0. The last partial chunk is kept when
 * it holds at least 1 s of audio, or when it is the only chunk (a file shorter than 1 s still
 * yields one chunk, repeat-padded later by the front end). A stream with no samples at all is an
 * error naming the file.
 */
#include "io/audio_decode.h"

struct slava_audio {
    sv_audio_reader *r;
    int  chunks;      /* chunks returned so far */
    int  done;
};

slava_status slava_audio_open(slava_ctx *ctx, const char *path, slava_audio **out) {
    *out = NULL;
    slava_audio *a = calloc(1, sizeof *a);
    if (!a) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    slava_status st = sv_audio_open(ctx, path, SLAVA_AUDIO_RATE, &a->r);
    if (st) { free(a); return st; }
    *out = a;
    return SLAVA_OK;
}

slava_status slava_audio_next_chunk(slava_ctx *ctx, slava_audio *a, float *buf, int *n) {
    *n = 0;
    if (a->done) return SLAVA_OK;
    size_t got = 0;
    SV_TRY(sv_audio_read(ctx, a->r, buf, SLAVA_AUDIO_CHUNK, &got));
    if (got < SLAVA_AUDIO_CHUNK) a->done = 1;
    if (got == 0 && a->chunks == 0)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: audio stream has no samples", sv_audio_path(a->r));
    if (got == SLAVA_AUDIO_CHUNK || got >= SLAVA_AUDIO_MIN_LAST || (got > 0 && a->chunks == 0)) {
        a->chunks++;
        *n = (int)got;
    }
    return SLAVA_OK;
}

double slava_audio_seconds(const slava_audio *a) { return (double)sv_audio_samples_read(a->r) / SLAVA_AUDIO_RATE; }
int slava_audio_source_rate(const slava_audio *a) { return sv_audio_src_rate(a->r); }
int slava_audio_source_channels(const slava_audio *a) { return sv_audio_src_channels(a->r); }

void slava_audio_close(slava_audio *a) {
    if (!a) return;
    sv_audio_close(a->r);
    free(a);
}
