/*
 * test_vision_preprocess.c — CLIPImageProcessor parity: for every image of
 * tests/fixtures/image, the resized + cropped uint8 image must equal Pillow 9.4's bytes
 * (resized_u8, max diff 0) and pixel_values must be within cases.json's 1e-5. Also checks the
 * preprocessor_config.json reader (fixture file, missing file, other layouts, bad values) and
 * the centre-crop padding path against a direct construction.
 */
#include "test.h"
#include "io/safetensors.h"
#include "vision/resample.h"
#include <sys/stat.h>

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(2);
    sv_stfile *imgs = NULL, *exp = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("image/images.safetensors"), &imgs));
    CHECK_OK(ctx, sv_st_open(ctx, fixture("image/image_expected.safetensors"), &exp));
    if (!imgs || !exp) return test_done("test_vision_preprocess");

    slava_clip_preproc p;
    CHECK_OK(ctx, slava_clip_preproc_load(ctx, fixture("clip-model"), &p));
    CHECK(p.shortest_edge == 224 && p.crop_h == 224 && p.crop_w == 224 && p.do_normalize && p.do_rescale);

    const sv_tensor *ru8 = sv_st_find(exp, "resized_u8");
    const sv_tensor *pv = sv_st_find(exp, "pixel_values");
    CHECK(ru8 && ru8->dtype == SV_U8 && ru8->ndim == 4 && ru8->shape[1] == 224);
    CHECK(pv && pv->dtype == SV_F32 && pv->ndim == 4 && pv->shape[1] == 3);
    if (!ru8 || !pv) return test_done("test_vision_preprocess");
    int n = (int)ru8->shape[0];
    const size_t plane = 224 * 224;
    float *want_pv = malloc(sizeof(float) * pv->numel);
    CHECK_OK(ctx, sv_tensor_to_f32(ctx, "pixel_values", pv, want_pv));
    double worst_pv = 0;
    int worst_u8 = 0;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "image_%d", i);
        const sv_tensor *t = sv_st_find(imgs, name);
        CHECK(t && t->dtype == SV_U8 && t->ndim == 3 && t->shape[2] == 3);
        if (!t) continue;
        slava_image im = {(int)t->shape[1], (int)t->shape[0], (uint8_t *)t->data};
        int ow, oh;
        slava_clip_preproc_out_size(&p, im.w, im.h, &ow, &oh);
        CHECK(ow == 224 && oh == 224);
        uint8_t *u8 = malloc(plane * 3);
        float *px = malloc(sizeof(float) * plane * 3);
        CHECK_OK(ctx, slava_clip_preprocess_u8(ctx, &p, &im, u8));
        CHECK_OK(ctx, slava_clip_preprocess(ctx, &p, &im, px));
        const uint8_t *want = (const uint8_t *)ru8->data + (size_t)i * plane * 3;
        int md = 0;
        for (size_t k = 0; k < plane * 3; k++) {
            int d = abs((int)u8[k] - (int)want[k]);
            if (d > md) md = d;
        }
        double dpv = max_abs_diff(px, want_pv + (size_t)i * plane * 3, plane * 3);
        CHECKF(md == 0, "image %d (%dx%d): resized_u8 max diff %d (want 0)", i, im.w, im.h, md);
        CHECKF(dpv <= 1e-5, "image %d: pixel_values max diff %g (tolerance 1e-5)", i, dpv);
        if (md > worst_u8) worst_u8 = md;
        if (dpv > worst_pv) worst_pv = dpv;
        free(u8);
        free(px);
    }
    printf("parity over %d images: resized_u8 max diff %d, pixel_values max diff %.3g\n", n, worst_u8, worst_pv);

    /* Full resize vs window: the window of a full resize equals the windowed call. */
    {
        const sv_tensor *t = sv_st_find(imgs, "image_3");   /* 640x360 -> 398x224 */
        uint8_t *full = malloc(398 * 224 * 3), *win = malloc(50 * 30 * 3);
        CHECK_OK(ctx, sv_resize_bicubic_u8(ctx, t->data, 640, 360, 398, 224, 0, 0, 398, 224, full));
        CHECK_OK(ctx, sv_resize_bicubic_u8(ctx, t->data, 640, 360, 398, 224, 301, 17, 50, 30, win));
        int same = 1;
        for (int y = 0; y < 30; y++)
            same &= !memcmp(win + y * 50 * 3, full + ((size_t)(y + 17) * 398 + 301) * 3, 50 * 3);
        CHECK(same);
        CHECK(sv_resize_bicubic_u8(ctx, t->data, 640, 360, 398, 224, 390, 0, 50, 30, win) == SLAVA_E_ARG);
        free(full);
        free(win);
    }

    /* Centre crop larger than the resized image: zero padding, ceil on the top/left. */
    {
        slava_clip_preproc q;
        slava_clip_preproc_default(&q);
        q.do_resize = 0;
        q.crop_h = 7;
        q.crop_w = 4;
        uint8_t src[4 * 6 * 3];                       /* 6 wide, 4 tall */
        for (int k = 0; k < (int)sizeof src; k++) src[k] = (uint8_t)(k + 1);
        slava_image im = {6, 4, src};
        uint8_t out[7 * 4 * 3];
        CHECK_OK(ctx, slava_clip_preprocess_u8(ctx, &q, &im, out));
        /* rows: pad top ceil(3/2) = 2 -> output rows 2..5 hold source rows 0..3;
         * cols: (6 - 4) // 2 = 1 -> output col x reads source col x + 1 */
        int ok = 1;
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 4; x++)
                for (int c = 0; c < 3; c++) {
                    int sy = y - 2;
                    int want = sy >= 0 && sy < 4 ? src[(sy * 6 + x + 1) * 3 + c] : 0;
                    ok &= out[(y * 4 + x) * 3 + c] == want;
                }
        CHECK(ok);
    }

    /* preprocessor_config.json variants */
    {
        mkdir(tmp_path("pp"), 0755);
        unlink(tmp_path("pp/preprocessor_config.json"));   /* left by an earlier run */
        slava_clip_preproc q;
        CHECK_OK(ctx, slava_clip_preproc_load(ctx, tmp_path("pp"), &q));   /* no file: defaults */
        CHECK(q.shortest_edge == 224 && q.crop_w == 224 && fabsf(q.std[2] - 0.27577711f) < 1e-9f);
        write_text(tmp_path("pp/preprocessor_config.json"),
                   "{\"size\": {\"shortest_edge\": 336}, \"crop_size\": {\"height\": 300, \"width\": 320},"
                   " \"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.25, 0.5, 1.0], \"do_center_crop\": false,"
                   " \"rescale_factor\": 0.5, \"extra\": [1, 2]}");
        CHECK_OK(ctx, slava_clip_preproc_load(ctx, tmp_path("pp"), &q));
        CHECK(q.shortest_edge == 336 && q.crop_h == 300 && q.crop_w == 320 && !q.do_center_crop);
        CHECK(q.mean[1] == 0.5f && q.std[0] == 0.25f && q.rescale_factor == 0.5);
        int ow, oh;
        slava_clip_preproc_out_size(&q, 640, 480, &ow, &oh);
        CHECK(ow == 448 && oh == 336);
        write_text(tmp_path("pp/preprocessor_config.json"), "{\"size\": {\"height\": 100, \"width\": 50}}");
        CHECK_OK(ctx, slava_clip_preproc_load(ctx, tmp_path("pp"), &q));
        q.do_center_crop = 0;
        slava_clip_preproc_out_size(&q, 640, 480, &ow, &oh);
        CHECK(ow == 50 && oh == 100);
        write_text(tmp_path("pp/preprocessor_config.json"), "{\"image_std\": [0.2, 0.3]}");
        CHECK(slava_clip_preproc_load(ctx, tmp_path("pp"), &q) == SLAVA_E_FORMAT);
        CHECK(strstr(slava_ctx_error(ctx), "preprocessor_config.json") && strstr(slava_ctx_error(ctx), "image_std"));
        write_text(tmp_path("pp/preprocessor_config.json"), "{\"resample\": 2}");
        CHECK(slava_clip_preproc_load(ctx, tmp_path("pp"), &q) == SLAVA_E_UNSUPPORTED);
        write_text(tmp_path("pp/preprocessor_config.json"), "{\"size\": -3");
        CHECK(slava_clip_preproc_load(ctx, tmp_path("pp"), &q) == SLAVA_E_FORMAT);
        CHECK(strstr(slava_ctx_error(ctx), "preprocessor_config.json") != NULL);
    }

    free(want_pv);
    sv_st_close(imgs);
    sv_st_close(exp);
    slava_ctx_free(ctx);
    return test_done("test_vision_preprocess");
}
