/*
 * fuzz_preproc.c — libFuzzer target for preprocessor_config.json (slava_clip_preproc_load): any
 * bytes must give settings that preprocess an image (checked on a small image whenever the
 * output is of a sane size) or a one-line error naming the file.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *path = fz_write("preprocessor_config.json", data, size);
    slava_ctx *ctx = slava_ctx_new();
    slava_clip_preproc p;
    slava_status st = slava_clip_preproc_load(ctx, fz_dir(), &p);
    fz_check_error(ctx, st, path);
    if (st == SLAVA_OK) {
        if (p.do_normalize)
            for (int c = 0; c < 3; c++) if (!(p.std[c] != 0)) abort();
        if (p.do_rescale && !(p.rescale_factor > 0)) abort();
        /* a small odd-sized image, from the input's first bytes */
        unsigned char px[7 * 5 * 3];
        for (size_t i = 0; i < sizeof px; i++) px[i] = size ? data[i % size] : (unsigned char)i;
        slava_image img = {7, 5, px};
        int ow = 0, oh = 0;
        slava_clip_preproc_out_size(&p, img.w, img.h, &ow, &oh);
        /* the resized image before the crop (the rule of slava_clip_preproc_out_size) */
        int64_t rw = img.w, rh = img.h;
        if (p.do_resize && p.shortest_edge > 0) {
            rw = img.w <= img.h ? p.shortest_edge : (int64_t)p.shortest_edge * img.w / img.h;
            rh = img.w <= img.h ? (int64_t)p.shortest_edge * img.h / img.w : p.shortest_edge;
        } else if (p.do_resize) {
            rw = p.resize_w;
            rh = p.resize_h;
        }
        /* small sizes only: the resampler's cost grows with the area, and fuzzing wants many runs */
        if ((int64_t)ow * oh <= 64 * 64 && rw * rh <= 128 * 128 && ow > 0 && oh > 0) {
            float *out = malloc(sizeof(float) * 3 * (size_t)ow * oh);
            unsigned char *u8 = malloc(3 * (size_t)ow * oh);
            if (!out || !u8) abort();
            fz_check_error(ctx, slava_clip_preprocess(ctx, &p, &img, out), NULL);
            fz_check_error(ctx, slava_clip_preprocess_u8(ctx, &p, &img, u8), NULL);
            free(out);
            free(u8);
        }
    }
    slava_ctx_free(ctx);
    return 0;
}
