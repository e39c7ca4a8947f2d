/*
 * audio_decode.h — streaming audio decoder: any container/codec FFmpeg reads (WAV, FLAC, AAC in
 * mp4, ...) → mono float32 at a fixed rate (48 kHz for CLAP), all channels averaged with equal
 * weights, resampled by libswresample.
 *
 * The reader holds at most one decoded frame plus a small FIFO, so memory stays bounded however
 * long the file is: callers pull consecutive samples with sv_audio_read().
 *
 * Errors (one line, naming the file):
 *   SLAVA_E_IO       the file cannot be opened
 *   SLAVA_E_FORMAT   not a media file FFmpeg can read, decode failure, NaN/Inf samples
 *   SLAVA_E_NOAUDIO  the file has no audio stream ("<file>: no audio stream")
 *   SLAVA_E_UNSUPPORTED  no decoder for the codec, or a sample rate above SV_AUDIO_MAX_RATE
 */
#ifndef SLAVA_AUDIO_DECODE_H
#define SLAVA_AUDIO_DECODE_H

#include "base/base.h"

typedef struct sv_audio_reader sv_audio_reader;

/* Highest source sample rate read (8 × 96 kHz studio rates; a header claiming more is refused
 * before resampling from it allocates gigabytes). */
#define SV_AUDIO_MAX_RATE 768000

/* Open `path` and prepare decoding of its best audio stream to mono float at `rate` Hz. */
slava_status sv_audio_open(slava_ctx *ctx, const char *path, int rate, sv_audio_reader **out);
/* The same on len bytes in memory (borrowed: buf must outlive the reader); `name` stands for the
 * file in messages. */
slava_status sv_audio_open_mem(slava_ctx *ctx, const char *name, const void *buf, size_t len, int rate,
                               sv_audio_reader **out);
/* Fill buf with up to n consecutive samples; *got receives how many (less than n only at the end
 * of the stream; 0 once everything has been read). Non-finite decoded samples → SLAVA_E_FORMAT. */
slava_status sv_audio_read(slava_ctx *ctx, sv_audio_reader *r, float *buf, size_t n, size_t *got);
/* Input properties, for reports: source sample rate and channel count. */
int sv_audio_src_rate(const sv_audio_reader *r);
int sv_audio_src_channels(const sv_audio_reader *r);
/* Samples (at the output rate) returned so far. */
int64_t sv_audio_samples_read(const sv_audio_reader *r);
const char *sv_audio_path(const sv_audio_reader *r);
void sv_audio_close(sv_audio_reader *r);

#endif
