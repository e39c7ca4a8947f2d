/*
 * mel.h — the CLAP log-mel front end, exactly transformers' ClapFeatureExtractor with the
 * laion/clap-htsat-unfused settings (truncation "rand_trunc", padding "repeatpad"):
 *
 *   10 s at 48 kHz = 480000 samples. Shorter input: np.tile(whole copies) then zeros to 480000.
 *   Longer input: the 480000 samples starting at an explicit crop offset (upstream draws it at
 *   random; slava itself only ever passes chunks of at most 10 s).
 *   Periodic Hann window 1024, hop 480, frames centred with reflect padding of 512 → 1001 frames;
 *   power spectrum |rfft|² (FFTW single precision, plan made once); Slaney-scale mel filter bank
 *   64 × 513 over 50–14000 Hz with Slaney area norm (built once, in double, stored sparse);
 *   dB = 10·log10(max(x, 1e-10)).  Output [1001, 64] row-major (time, mel), float32.
 *
 * A sv_mel is immutable after sv_mel_new and may be used from several threads at once.
 */
#ifndef SLAVA_MEL_H
#define SLAVA_MEL_H

#include "base/base.h"

#define SV_MEL_RATE    48000
#define SV_MEL_NFFT    1024
#define SV_MEL_HOP     480
#define SV_MEL_NFREQ   513       /* NFFT/2 + 1 */
#define SV_MEL_BINS    64
#define SV_MEL_FMIN    50.0
#define SV_MEL_FMAX    14000.0
#define SV_MEL_SAMPLES 480000    /* 10 s */
#define SV_MEL_FRAMES  1001      /* 1 + SAMPLES / HOP */

typedef struct sv_mel sv_mel;

slava_status sv_mel_new(slava_ctx *ctx, sv_mel **out);
void         sv_mel_free(sv_mel *m);

/* wave [n] mono 48 kHz → out [SV_MEL_FRAMES, SV_MEL_BINS] dB.
 * n ≤ SV_MEL_SAMPLES: repeat-padded (crop_offset ignored, pass -1).
 * n >  SV_MEL_SAMPLES: crop_offset must be in [0, n − SV_MEL_SAMPLES].
 * Non-finite samples → SLAVA_E_ARG. Uses OpenMP threads over frames. */
slava_status sv_mel_features(slava_ctx *ctx, const sv_mel *m, const float *wave, int64_t n,
                             int64_t crop_offset, float *out);

/* The dense filter bank [SV_MEL_NFREQ, SV_MEL_BINS] in double, as upstream's mel_filters_slaney. */
const double *sv_mel_filter_bank(const sv_mel *m);

#endif
