/*
 * resample.c — Pillow 9.4 BICUBIC resize on uint8 RGB, written to give the same bytes as
 * Pillow's src/libImaging/Resample.c (ImagingResampleInner + the 8bpc passes):
 *
 *   - filter: Keys cubic convolution with a = -0.5, support 2;
 *   - when downscaling, the support is widened by the scale factor and the filter argument
 *     shrunk by it (antialiasing);
 *   - per output pixel: taps from (int)(center - support + 0.5) to (int)(center + support + 0.5),
 *     clamped to the image, weights normalised to sum 1, then stored as 8-bit fixed point with
 *     PRECISION_BITS = 32 - 8 - 2 (rounded away from zero);
 *   - horizontal pass first, over only the source rows the vertical pass will read, then the
 *     vertical pass; each pass accumulates in int32 starting at 0.5 (1 << (PRECISION_BITS-1)),
 *     shifts and clips to 0..255.
 * The arithmetic (double for the coefficients, int32 for the sums) is the same as Pillow's;
 * only the code layout is ours.
 */
#include "vision/resample.h"
#include <math.h>

#define PRECISION_BITS (32 - 8 - 2)

/* Keys cubic convolution kernel, a = -0.5 (Pillow's bicubic_filter). */
static double cubic_keys(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

/* Taps of a 1-D resampling from in_size to out_size samples, for the outputs
 * [first, first + n): output first + i reads inputs [start[i], start[i] + count[i]) with
 * fixed-point weights coef[i * ksize + j]. */
typedef struct {
    int      ksize;
    int     *start, *count;   /* [n] */
    int32_t *coef;            /* [n, ksize] */
} taps;

static void taps_free(taps *t) {
    free(t->start);
    free(t->count);
    free(t->coef);
}

static slava_status taps_make(slava_ctx *ctx, int in_size, int out_size, int first, int n, taps *t) {
    const double support_base = 2.0;   /* bicubic */
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = support_base * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    memset(t, 0, sizeof *t);
    t->ksize = ksize;
    t->start = malloc(sizeof(int) * (size_t)n);
    t->count = malloc(sizeof(int) * (size_t)n);
    t->coef = calloc((size_t)n * ksize, sizeof(int32_t));
    double *w = malloc(sizeof(double) * (size_t)ksize);
    if (!t->start || !t->count || !t->coef || !w) {
        free(w);
        taps_free(t);
        return sv_err(ctx, SLAVA_E_NOMEM, "resize %d -> %d: out of memory for filter taps", in_size, out_size);
    }
    double inv = 1.0 / filterscale;
    for (int i = 0; i < n; i++) {
        double center = (first + i + 0.5) * scale;
        int lo = (int)(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = (int)(center + support + 0.5);
        if (hi > in_size) hi = in_size;
        int cnt = hi - lo;
        double sum = 0.0;
        for (int j = 0; j < cnt; j++) {
            w[j] = cubic_keys((j + lo - center + 0.5) * inv);
            sum += w[j];
        }
        int32_t *k = t->coef + (size_t)i * ksize;
        for (int j = 0; j < cnt; j++) {
            double v = sum != 0.0 ? w[j] / sum : w[j];
            k[j] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        t->start[i] = lo;
        t->count[i] = cnt;
    }
    free(w);
    return SLAVA_OK;
}

static inline uint8_t clip8(int32_t acc) {
    if (acc < 0) return 0;
    acc >>= PRECISION_BITS;
    return acc > 255 ? 255 : (uint8_t)acc;
}

/* dst [rows, n, 3] from src rows [row0, row0 + rows) of width sw (t has n outputs). */
static void pass_horizontal(const uint8_t *src, int sw, int row0, int rows, uint8_t *dst, int n,
                            const taps *t) {
    #pragma omp parallel for schedule(static) if ((size_t)rows * n > 16384)
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src + (size_t)(y + row0) * sw * 3;
        uint8_t *out = dst + (size_t)y * n * 3;
        for (int x = 0; x < n; x++) {
            const int32_t *k = t->coef + (size_t)x * t->ksize;
            const uint8_t *p = in + (size_t)t->start[x] * 3;
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int j = 0; j < t->count[x]; j++) {
                s0 += p[3 * j + 0] * k[j];
                s1 += p[3 * j + 1] * k[j];
                s2 += p[3 * j + 2] * k[j];
            }
            out[3 * x + 0] = clip8(s0);
            out[3 * x + 1] = clip8(s1);
            out[3 * x + 2] = clip8(s2);
        }
    }
}

/* dst [n, w, 3] from src [*, w, 3] whose first row is source row row0 (t has n outputs). */
static void pass_vertical(const uint8_t *src, int w, int row0, uint8_t *dst, int n, const taps *t) {
    size_t stride = (size_t)w * 3;
    #pragma omp parallel for schedule(static) if ((size_t)n * w > 16384)
    for (int y = 0; y < n; y++) {
        const int32_t *k = t->coef + (size_t)y * t->ksize;
        const uint8_t *in = src + (size_t)(t->start[y] - row0) * stride;
        uint8_t *out = dst + (size_t)y * stride;
        for (size_t x = 0; x < stride; x++) {
            int32_t s = 1 << (PRECISION_BITS - 1);
            for (int j = 0; j < t->count[y]; j++) s += in[(size_t)j * stride + x] * k[j];
            out[x] = clip8(s);
        }
    }
}

slava_status sv_resize_bicubic_u8(slava_ctx *ctx, const uint8_t *src, int sw, int sh, int dw, int dh,
                                  int x0, int y0, int cw, int ch, uint8_t *dst) {
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || cw <= 0 || ch <= 0 || x0 < 0 || y0 < 0 ||
        x0 > dw - cw || y0 > dh - ch)
        return sv_err(ctx, SLAVA_E_ARG, "resize %dx%d -> %dx%d window %dx%d+%d+%d: bad sizes", sw, sh,
                      dw, dh, cw, ch, x0, y0);
    int need_h = dw != sw, need_v = dh != sh;
    if (!need_h && !need_v) {   /* Pillow copies; so do we (the window of it) */
        for (int y = 0; y < ch; y++)
            memcpy(dst + (size_t)y * cw * 3, src + ((size_t)(y + y0) * sw + x0) * 3, (size_t)cw * 3);
        return SLAVA_OK;
    }
    taps tv;
    SV_TRY(taps_make(ctx, sh, dh, y0, ch, &tv));
    /* Source rows the vertical pass reads: only those are resampled horizontally. (With no
     * vertical resize the identity taps read rows y0 - 1 .. y0 + ch + 1, clamped; we then copy
     * rows y0 .. y0 + ch of the horizontal result, which is what Pillow's output holds.) */
    int row0 = tv.start[0], row1 = tv.start[ch - 1] + tv.count[ch - 1];
    if (!need_h) {
        /* vertical only: read the window's columns straight from src */
        uint8_t *cols = malloc((size_t)(row1 - row0) * cw * 3);
        if (!cols) { taps_free(&tv); return sv_err(ctx, SLAVA_E_NOMEM, "resize: out of memory"); }
        for (int y = row0; y < row1; y++)
            memcpy(cols + (size_t)(y - row0) * cw * 3, src + ((size_t)y * sw + x0) * 3, (size_t)cw * 3);
        pass_vertical(cols, cw, row0, dst, ch, &tv);
        free(cols);
        taps_free(&tv);
        return SLAVA_OK;
    }
    taps th;
    slava_status st = taps_make(ctx, sw, dw, x0, cw, &th);
    if (st != SLAVA_OK) { taps_free(&tv); return st; }
    if (!need_v) {
        pass_horizontal(src, sw, y0, ch, dst, cw, &th);
    } else {
        uint8_t *tmp = malloc((size_t)(row1 - row0) * cw * 3);
        if (!tmp) {
            taps_free(&tv);
            taps_free(&th);
            return sv_err(ctx, SLAVA_E_NOMEM, "resize %dx%d -> %dx%d: out of memory", sw, sh, dw, dh);
        }
        pass_horizontal(src, sw, row0, row1 - row0, tmp, cw, &th);
        pass_vertical(tmp, cw, row0, dst, ch, &tv);
        free(tmp);
    }
    taps_free(&tv);
    taps_free(&th);
    return SLAVA_OK;
}
