/*
 * embed_vision.c — slava_embed_images and slava_embed_videos: every input becomes frames (an
 * image: one; a video: one per 1/fps interval, slava_video), each frame is preprocessed as
 * CLIPImageProcessor does and the frames of all inputs go through the image tower in shared
 * batches of frame_batch frames (rows.c). Frame k of a video covers [k/fps, (k+1)/fps), cut at
 * the duration; an image covers 0..0.
 */
#include "embed/embed.h"

static slava_status frames_fn(slava_ctx *ctx, slava_embedder *e, int n, const float *in, float *pooled,
                              float *projected) {
    return sv_embedder_frames(ctx, e, n, in, pooled, projected);
}

/* Preprocess one frame of input i into the batch: a per-input failure is returned (message in
 * the ctx), a fatal one set in *fatal. */
static slava_status add_frame(sv_rows *r, int i, const slava_image *img, slava_status *fatal) {
    const slava_embedder *e = r->c->e;
    const slava_clip_preproc *pp = sv_embedder_preproc(e);
    int ow, oh;
    slava_clip_preproc_out_size(pp, img->w, img->h, &ow, &oh);
    if (ow != e->S || oh != e->S)
        return sv_err(r->c->ctx, SLAVA_E_UNSUPPORTED,
                      "%s: preprocessing gives %dx%d images but the model takes %dx%d (check preprocessor_config.json)",
                      r->c->names[i], ow, oh, e->S, e->S);
    float *dst;
    if ((*fatal = sv_rows_slot(r, i, &dst))) return SLAVA_OK;
    SV_TRY(slava_clip_preprocess(r->c->ctx, pp, img, dst));
    *fatal = sv_rows_push(r, i);
    return SLAVA_OK;
}

static slava_status read_image(sv_rows *r, int i, void *user, slava_status *fatal, double *duration) {
    (void)user;
    slava_image img;
    SV_TRY(slava_image_load(r->c->ctx, r->c->names[i], &img));
    slava_status st = add_frame(r, i, &img, fatal);
    slava_image_free(&img);
    *duration = 0;
    return st;
}

static slava_status read_video(sv_rows *r, int i, void *user, slava_status *fatal, double *duration) {
    (void)user;
    slava_ctx *ctx = r->c->ctx;
    slava_video *v = NULL;
    SV_TRY(slava_video_open(ctx, r->c->names[i], r->c->e->o.fps, &v));
    slava_status st = SLAVA_OK;
    while (!st && !*fatal) {
        const slava_image *f;
        double t;
        int got = 0;
        st = slava_video_next(ctx, v, &f, &t, &got);
        if (st || !got) break;
        st = add_frame(r, i, f, fatal);
    }
    slava_video_info info;
    slava_video_get_info(v, &info);
    r->c->out[i].frames_decoded = info.frames_decoded;
    *duration = info.duration;
    slava_video_close(v);
    return st;
}

static slava_status embed_frames(slava_ctx *ctx, slava_embedder *e, int n, const char *const *paths,
                                 slava_embedding *out, int is_video) {
    sv_embed_call c;
    SV_TRY(sv_embed_begin(&c, ctx, e, SLAVA_MOD_VISUAL, n, paths, out));
    sv_rows r;
    slava_status fatal = sv_rows_init(&r, &c, frames_fn, e->o.frame_batch, (size_t)3 * e->S * e->S,
                                      is_video ? 1.0 / e->o.fps : 0);
    if (!fatal) fatal = sv_rows_run(&r, is_video ? read_video : read_image, NULL, "no frames");
    if (fatal) sv_embed_abort(&c, fatal);
    sv_rows_free(&r);
    return sv_embed_end(&c);
}

slava_status slava_embed_images(slava_ctx *ctx, slava_embedder *e, int n, const char *const *paths,
                                slava_embedding *out) {
    return embed_frames(ctx, e, n, paths, out, 0);
}

slava_status slava_embed_videos(slava_ctx *ctx, slava_embedder *e, int n, const char *const *paths,
                                slava_embedding *out) {
    return embed_frames(ctx, e, n, paths, out, 1);
}
