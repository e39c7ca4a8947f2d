/*
 * clip_text.h — internal entry of the CLIP text tower (public API: slava_clip_text_* in slava.h):
 * loading for a precision. slava_clip_text_load is this with SLAVA_PRECISION_FP32.
 */
#ifndef SLAVA_TEXT_CLIP_TEXT_H
#define SLAVA_TEXT_CLIP_TEXT_H

#include "slava.h"

/* The tower with its products in `prec` (fp32 or bf16: weights converted once here, activations
 * rounded at each product's input, everything else float32). */
slava_status sv_clip_text_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, slava_clip_text **out);

#endif
