/*
 * cmd_embed_vision.c — `slava embed --clip DIR --image FILE...` and `--video FILE...`.
 *
 * Every input becomes frames (an image: one; a video: one per 1/fps interval), each frame is
 * preprocessed as CLIPImageProcessor does and the frames of all inputs go through the CLIP
 * image tower in shared batches (so short videos and single images still make large GEMMs).
 * Output, in input order, one JSON line per input: "pooled" (an image: [D]; a video: one row
 * per frame), "projected" (mean over frames of visual_projection, or of the --heads visual
 * head) and "embedding" (projected, L2-normalised). An input that fails prints one error line
 * naming it; the others are still embedded and the exit status is 1. For each video read, one
 * line on stderr reports its duration and the frames sampled / decoded.
 */
#include "cli/cli.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int    failed, read_done;
    int    T, cap, pending;   /* frames read; rows allocated; frames queued but not encoded */
    float *pooled;            /* [cap, D] */
    float *proj_sum;          /* [P] (checkpoint projection) */
} item;

typedef struct {
    const cli_embed_opts *o;
    int is_video;
    slava_ctx *ctx;
    slava_clip_vision *m;
    slava_heads *heads;
    int S, D, P, Pout;
    int B, nb;                /* batch capacity, frames queued */
    float *pix;               /* [B, 3, S, S] */
    int *owner, *row;         /* [B] input index and frame row of each queued frame */
    float *pooled, *proj;     /* [B, D], [B, P] */
    item *items;
    int next_print, failures;
} embed_state;

static void fail_item(embed_state *s, int i) {
    cli_fail(s->ctx);
    s->items[i].failed = 1;
    s->failures++;
}

/* Print every finished input at the head of the queue (keeps input order). */
static void print_ready(embed_state *s) {
    float *out = malloc(sizeof(float) * (size_t)(s->Pout > 0 ? s->Pout : 1));
    while (s->next_print < s->o->ninputs) {
        item *it = &s->items[s->next_print];
        if (!it->failed && (!it->read_done || it->pending)) break;
        if (!it->failed) {
            slava_status st = SLAVA_OK;
            if (s->heads) {
                st = slava_heads_project(s->ctx, s->heads, SLAVA_MOD_VISUAL, it->pooled, it->T, s->D, out);
            } else {
                for (int j = 0; j < s->P; j++) out[j] = it->proj_sum[j] / it->T;
            }
            if (st == SLAVA_OK)
                cli_embed_line(stdout, s->o->inputs[s->next_print], it->pooled, it->T, s->D, s->is_video, out, s->Pout);
            else
                fail_item(s, s->next_print);
        }
        free(it->pooled);
        free(it->proj_sum);
        it->pooled = it->proj_sum = NULL;
        s->next_print++;
    }
    fflush(stdout);
    free(out);
}

/* Encode the queued frames and hand the rows to their inputs. */
static int flush(embed_state *s) {
    if (s->nb == 0) return 0;
    if (slava_clip_vision_encode(s->ctx, s->m, s->nb, s->pix, s->pooled, s->proj) != SLAVA_OK) return -1;
    for (int b = 0; b < s->nb; b++) {
        item *it = &s->items[s->owner[b]];
        it->pending--;
        if (it->failed) continue;
        memcpy(it->pooled + (size_t)s->row[b] * s->D, s->pooled + (size_t)b * s->D, sizeof(float) * s->D);
        for (int j = 0; j < s->P; j++) it->proj_sum[j] += s->proj[(size_t)b * s->P + j];
    }
    s->nb = 0;
    print_ready(s);
    return 0;
}

/* Preprocess one frame of input i into the batch (flushing when full). */
static int add_frame(embed_state *s, int i, const slava_image *img) {
    item *it = &s->items[i];
    int ow, oh;
    const slava_clip_preproc *pp = slava_clip_vision_preproc(s->m);
    slava_clip_preproc_out_size(pp, img->w, img->h, &ow, &oh);
    if (ow != s->S || oh != s->S) {
        cli_error("%s: preprocessing gives %dx%d images but the model takes %dx%d (check preprocessor_config.json)",
                  s->o->inputs[i], ow, oh, s->S, s->S);
        return 1;
    }
    if (it->T == it->cap) {
        int nc = it->cap ? 2 * it->cap : 16;
        float *p = realloc(it->pooled, sizeof(float) * (size_t)nc * s->D);
        if (!p) { cli_error("%s: out of memory", s->o->inputs[i]); return 1; }
        it->pooled = p;
        it->cap = nc;
    }
    if (slava_clip_preprocess(s->ctx, pp, img, s->pix + (size_t)s->nb * 3 * s->S * s->S) != SLAVA_OK) {
        cli_fail(s->ctx);
        return 1;
    }
    s->owner[s->nb] = i;
    s->row[s->nb] = it->T++;
    it->pending++;
    if (++s->nb == s->B && flush(s) != 0) return -1;
    return 0;
}

/* Read input i: its frames go to the batch. 0 ok, 1 this input failed, -1 fatal. */
static int read_input(embed_state *s, int i) {
    const char *path = s->o->inputs[i];
    item *it = &s->items[i];
    it->proj_sum = calloc((size_t)(s->P > 0 ? s->P : 1), sizeof(float));
    if (!it->proj_sum) { cli_error("%s: out of memory", path); return -1; }
    int r = 0;
    if (!s->is_video) {
        slava_image img;
        if (slava_image_load(s->ctx, path, &img) != SLAVA_OK) { cli_fail(s->ctx); return 1; }
        r = add_frame(s, i, &img);
        slava_image_free(&img);
        return r;
    }
    slava_video *v = NULL;
    if (slava_video_open(s->ctx, path, s->o->fps, &v) != SLAVA_OK) { cli_fail(s->ctx); return 1; }
    for (;;) {
        const slava_image *f;
        double t;
        int got = 0;
        if (slava_video_next(s->ctx, v, &f, &t, &got) != SLAVA_OK) { cli_fail(s->ctx); r = 1; break; }
        if (!got) break;
        if ((r = add_frame(s, i, f)) != 0) break;
    }
    if (r == 0) {   /* what was read: duration and frames (stderr, so stdout stays JSON Lines) */
        slava_video_info info;
        slava_video_get_info(v, &info);
        fprintf(stderr, "slava: %s: %.2f s, %lld frames sampled at %g fps (%lld decoded)\n", path, info.duration,
                (long long)info.frames_returned, info.fps, (long long)info.frames_decoded);
    }
    slava_video_close(v);
    return r;
}

int embed_image_run(const cli_embed_opts *o, int is_video) {
    embed_state s = {0};
    s.o = o;
    s.is_video = is_video;
    s.ctx = slava_ctx_new();
    int rc = CLI_OK;
    if (!s.ctx) { cli_error("out of memory"); return CLI_FAIL; }
    cli_log_install(s.ctx, 0);
    if (slava_clip_vision_load(s.ctx, o->clip_dir, &s.m) != SLAVA_OK) { rc = cli_fail(s.ctx); goto done; }
    slava_clip_vision_dims(s.m, &s.S, &s.D, &s.P);
    s.Pout = s.P;
    if (o->heads) {
        if (slava_heads_load(s.ctx, o->heads, &s.heads) != SLAVA_OK) { rc = cli_fail(s.ctx); goto done; }
        s.Pout = slava_heads_dim(s.heads);
    }
    s.B = 32;
    s.pix = malloc(sizeof(float) * (size_t)s.B * 3 * s.S * s.S);
    s.owner = malloc(sizeof(int) * s.B);
    s.row = malloc(sizeof(int) * s.B);
    s.pooled = malloc(sizeof(float) * (size_t)s.B * s.D);
    s.proj = malloc(sizeof(float) * (size_t)s.B * s.P);
    s.items = calloc((size_t)o->ninputs, sizeof *s.items);
    if (!s.pix || !s.owner || !s.row || !s.pooled || !s.proj || !s.items) { cli_error("out of memory"); rc = CLI_FAIL; goto done; }
    for (int i = 0; i < o->ninputs; i++) {
        int r = read_input(&s, i);
        if (r < 0) { rc = cli_fail(s.ctx); goto done; }
        if (r > 0) {
            s.items[i].failed = 1;
            s.failures++;
        } else if (s.items[i].T == 0) {
            cli_error("%s: no frames", o->inputs[i]);
            s.items[i].failed = 1;
            s.failures++;
        }
        s.items[i].read_done = 1;
        print_ready(&s);
    }
    if (flush(&s) != 0) { rc = cli_fail(s.ctx); goto done; }
    print_ready(&s);
    if (s.failures) rc = CLI_FAIL;
done:
    if (s.items)
        for (int i = 0; i < o->ninputs; i++) { free(s.items[i].pooled); free(s.items[i].proj_sum); }
    free(s.items);
    free(s.pix);
    free(s.owner);
    free(s.row);
    free(s.pooled);
    free(s.proj);
    slava_heads_free(s.heads);
    slava_clip_vision_free(s.m);
    slava_ctx_free(s.ctx);
    return rc;
}
