/*
 * resample.h — Pillow 9.4's BICUBIC resize of 8-bit RGB images, reproduced bit for bit
 * (ImagingResample with filter BICUBIC on a mode "RGB" image, box = whole image,
 * reducing_gap = None): this is what CLIPImageProcessor calls, so matching it exactly is what
 * makes our pixel_values identical to transformers'.
 */
#ifndef SLAVA_VISION_RESAMPLE_H
#define SLAVA_VISION_RESAMPLE_H

#include "base/base.h"

/* Resize src [sh, sw, 3] (row-major RGB24, no row padding) to dw x dh and store only the window
 * of output columns [x0, x0 + cw) and rows [y0, y0 + ch) in dst [ch, cw, 3] (each output pixel
 * depends only on its own taps, so the window is identical to cropping the full result; the
 * whole image is x0 = y0 = 0, cw = dw, ch = dh). The window must lie inside dw x dh.
 * dst must not alias src. Fails on bad sizes (SLAVA_E_ARG) or allocation (SLAVA_E_NOMEM). */
slava_status sv_resize_bicubic_u8(slava_ctx *ctx, const uint8_t *src, int sw, int sh, int dw, int dh,
                                  int x0, int y0, int cw, int ch, uint8_t *dst);

#endif
