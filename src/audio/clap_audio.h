/*
 * clap_audio.h — internal entry of the CLAP audio encoder (public API: slava_clap_audio_* in
 * slava.h): loading for a precision. slava_clap_audio_load is this with SLAVA_PRECISION_FP32.
 */
#ifndef SLAVA_AUDIO_CLAP_AUDIO_H
#define SLAVA_AUDIO_CLAP_AUDIO_H

#include "slava.h"

/* The front end (always float32) and HTSAT with its products in `prec` (see sv_htsat_load_prec). */
slava_status sv_clap_audio_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, slava_clap_audio **out);

#endif
