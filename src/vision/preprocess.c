/*
 * preprocess.c — CLIPImageProcessor in C: resize (Pillow BICUBIC, resample.c), centre crop,
 * rescale, normalise, HWC uint8 -> CHW float32. Settings from preprocessor_config.json.
 *
 * transformers' order and arithmetic (image_transforms.py, 4.40):
 *   size {"shortest_edge": s}: short side -> s, long side int(s * long / short);
 *   center_crop: top = (h - ch) // 2, left = (w - cw) // 2 (floor); when the image is smaller
 *     than the crop it is first zero-padded, ceil((ch - h) / 2) rows on top (and likewise left);
 *   rescale: float32(double(x) * factor); normalize: (x - mean) / std in float32.
 * Only the cropped window of the resized image is computed (identical pixels, far less work
 * for very long images).
 */
#include "vision/resample.h"
#include <cjson/cJSON.h>
#include <math.h>

void slava_clip_preproc_default(slava_clip_preproc *p) {
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    memset(p, 0, sizeof *p);
    p->do_resize = 1;
    p->shortest_edge = 224;
    p->do_center_crop = 1;
    p->crop_h = p->crop_w = 224;
    p->do_rescale = 1;
    p->rescale_factor = 1.0 / 255.0;
    p->do_normalize = 1;
    memcpy(p->mean, mean, sizeof mean);
    memcpy(p->std, std, sizeof std);
}

static int json_bool(const cJSON *o, const char *key, int def) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(it)) return cJSON_IsTrue(it);
    return def;
}

/* A positive int from item (number with integral value). */
static int json_pos_int(const cJSON *it, int *out) {
    if (!cJSON_IsNumber(it)) return 0;
    double d = it->valuedouble;
    if (!(d >= 1 && d <= SLAVA_MAX_IMAGE_SIDE) || d != floor(d)) return 0;
    *out = (int)d;
    return 1;
}

slava_status slava_clip_preproc_load(slava_ctx *ctx, const char *dir, slava_clip_preproc *p) {
    slava_clip_preproc_default(p);
    char *path = sv_path_join(dir, "preprocessor_config.json");
    if (!path) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    if (!sv_file_exists(path)) { free(path); return SLAVA_OK; }
    char *text = NULL;
    size_t len = 0;
    slava_status st = sv_read_file(ctx, path, &text, &len);
    if (st != SLAVA_OK) { free(path); return st; }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const char *bad = NULL;
    if (!root && sv_address_space_low((size_t)64 << 20)) {
        st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory while parsing it", path);
        goto done;
    }
    if (!cJSON_IsObject(root)) { bad = "not a JSON object"; goto done; }
    p->do_resize = json_bool(root, "do_resize", 1);
    p->do_center_crop = json_bool(root, "do_center_crop", 1);
    p->do_rescale = json_bool(root, "do_rescale", 1);
    p->do_normalize = json_bool(root, "do_normalize", 1);
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "size");
    if (it && !cJSON_IsNull(it)) {
        int v, hh, ww;
        if (json_pos_int(it, &v)) {
            p->shortest_edge = v;
        } else if (cJSON_IsObject(it) && json_pos_int(cJSON_GetObjectItemCaseSensitive(it, "shortest_edge"), &v)) {
            p->shortest_edge = v;
        } else if (cJSON_IsObject(it) && json_pos_int(cJSON_GetObjectItemCaseSensitive(it, "height"), &hh) &&
                   json_pos_int(cJSON_GetObjectItemCaseSensitive(it, "width"), &ww)) {
            p->shortest_edge = 0;
            p->resize_h = hh;
            p->resize_w = ww;
        } else { bad = "'size' must be a positive integer, {\"shortest_edge\": n} or {\"height\": h, \"width\": w}"; goto done; }
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "crop_size");
    if (it && !cJSON_IsNull(it)) {
        int v, hh, ww;
        if (json_pos_int(it, &v)) {
            p->crop_h = p->crop_w = v;
        } else if (cJSON_IsObject(it) && json_pos_int(cJSON_GetObjectItemCaseSensitive(it, "height"), &hh) &&
                   json_pos_int(cJSON_GetObjectItemCaseSensitive(it, "width"), &ww)) {
            p->crop_h = hh;
            p->crop_w = ww;
        } else { bad = "'crop_size' must be a positive integer or {\"height\": h, \"width\": w}"; goto done; }
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "rescale_factor");
    if (it) {
        if (!cJSON_IsNumber(it) || !(it->valuedouble > 0)) { bad = "'rescale_factor' must be a positive number"; goto done; }
        p->rescale_factor = it->valuedouble;
    }
    const char *names[2] = {"image_mean", "image_std"};
    float *dst[2] = {p->mean, p->std};
    for (int k = 0; k < 2; k++) {
        it = cJSON_GetObjectItemCaseSensitive(root, names[k]);
        if (!it) continue;
        if (cJSON_IsNumber(it)) { for (int c = 0; c < 3; c++) dst[k][c] = (float)it->valuedouble; continue; }
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 3) { bad = k ? "'image_std' must hold 3 numbers" : "'image_mean' must hold 3 numbers"; goto done; }
        for (int c = 0; c < 3; c++) {
            const cJSON *e = cJSON_GetArrayItem(it, c);
            if (!cJSON_IsNumber(e)) { bad = k ? "'image_std' must hold 3 numbers" : "'image_mean' must hold 3 numbers"; goto done; }
            dst[k][c] = (float)e->valuedouble;
        }
    }
    for (int c = 0; c < 3; c++)
        if (p->do_normalize && !(p->std[c] != 0)) { bad = "'image_std' must not be 0"; goto done; }
    it = cJSON_GetObjectItemCaseSensitive(root, "resample");
    if (it && (!cJSON_IsNumber(it) || it->valuedouble != 3)) {
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: 'resample' is %g; only 3 (bicubic, CLIP's) is supported", path,
                    cJSON_IsNumber(it) ? it->valuedouble : -1.0);
        cJSON_Delete(root);
        free(path);
        return st;
    }
done:
    cJSON_Delete(root);
    if (bad) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: %s", path, bad);
    free(path);
    return st;
}

/* Size after the resize step. */
static void resized_size(const slava_clip_preproc *p, int w, int h, int *rw, int *rh) {
    if (!p->do_resize) { *rw = w; *rh = h; return; }
    if (p->shortest_edge <= 0) { *rw = p->resize_w; *rh = p->resize_h; return; }
    int s = p->shortest_edge;
    if (w <= h) { *rw = s; *rh = (int)((double)((int64_t)s * h) / w); }
    else        { *rh = s; *rw = (int)((double)((int64_t)s * w) / h); }
}

void slava_clip_preproc_out_size(const slava_clip_preproc *p, int w, int h, int *ow, int *oh) {
    int rw, rh;
    resized_size(p, w, h, &rw, &rh);
    *ow = p->do_center_crop ? p->crop_w : rw;
    *oh = p->do_center_crop ? p->crop_h : rh;
}

/* Crop placement along one axis: output index i reads resized index i + off (outside
 * [0, size) = zero padding). */
static int crop_offset(int size, int crop) {
    if (crop <= size) return (size - crop) / 2;          /* floor, non-negative */
    return -((crop - size + 1) / 2);                     /* -ceil((crop - size) / 2) */
}

slava_status slava_clip_preprocess_u8(slava_ctx *ctx, const slava_clip_preproc *p, const slava_image *img,
                                      uint8_t *out) {
    if (!img || !img->rgb || img->w <= 0 || img->h <= 0)
        return sv_err(ctx, SLAVA_E_ARG, "preprocess: empty image");
    int rw, rh, ow, oh;
    resized_size(p, img->w, img->h, &rw, &rh);
    slava_clip_preproc_out_size(p, img->w, img->h, &ow, &oh);
    if (rw <= 0 || rh <= 0) return sv_err(ctx, SLAVA_E_ARG, "preprocess: %dx%d image resizes to nothing", img->w, img->h);
    int offx = p->do_center_crop ? crop_offset(rw, ow) : 0;
    int offy = p->do_center_crop ? crop_offset(rh, oh) : 0;
    /* The part of the output window that lies on the resized image. */
    int x0 = offx < 0 ? 0 : offx, y0 = offy < 0 ? 0 : offy;
    int x1 = offx + ow < rw ? offx + ow : rw, y1 = offy + oh < rh ? offy + oh : rh;
    int cw = x1 - x0, ch = y1 - y0;
    if (cw != ow || ch != oh) memset(out, 0, (size_t)ow * oh * 3);
    if (cw <= 0 || ch <= 0) return SLAVA_OK;
    uint8_t *win = out;
    if (cw != ow || ch != oh) {
        win = malloc((size_t)cw * ch * 3);
        if (!win) return sv_err(ctx, SLAVA_E_NOMEM, "preprocess: out of memory");
    }
    slava_status st = sv_resize_bicubic_u8(ctx, img->rgb, img->w, img->h, rw, rh, x0, y0, cw, ch, win);
    if (win != out) {
        if (st == SLAVA_OK)
            for (int y = 0; y < ch; y++)
                memcpy(out + ((size_t)(y + y0 - offy) * ow + (x0 - offx)) * 3, win + (size_t)y * cw * 3, (size_t)cw * 3);
        free(win);
    }
    return st;
}

void slava_clip_normalize_u8(const slava_clip_preproc *p, const uint8_t *u8, int ow, int oh, float *out) {
    const size_t plane = (size_t)ow * oh;
    /* float32 lookup per channel: value(u) for u in 0..255, computed as transformers does. */
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int u = 0; u < 256; u++) {
            float x = p->do_rescale ? (float)((double)u * p->rescale_factor) : (float)u;
            if (p->do_normalize) x = (x - p->mean[c]) / p->std[c];
            lut[c][u] = x;
        }
    for (int c = 0; c < 3; c++) {
        float *o = out + c * plane;
        for (size_t i = 0; i < plane; i++) o[i] = lut[c][u8[3 * i + c]];
    }
}

slava_status slava_clip_preprocess(slava_ctx *ctx, const slava_clip_preproc *p, const slava_image *img, float *out) {
    int ow, oh;
    if (!img || img->w <= 0 || img->h <= 0) return sv_err(ctx, SLAVA_E_ARG, "preprocess: empty image");
    slava_clip_preproc_out_size(p, img->w, img->h, &ow, &oh);
    size_t plane = (size_t)ow * oh;
    uint8_t *u8 = malloc(plane * 3);
    if (!u8) return sv_err(ctx, SLAVA_E_NOMEM, "preprocess: out of memory");
    slava_status st = slava_clip_preprocess_u8(ctx, p, img, u8);
    if (st == SLAVA_OK) slava_clip_normalize_u8(p, u8, ow, oh, out);
    free(u8);
    return st;
}
