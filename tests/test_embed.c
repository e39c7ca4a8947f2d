/*
 * test_embed.c — the embedding API (slava_embedder_*, slava_embed_*, src/embed/) on the fixture
 * checkpoints and media made here with the ffmpeg program:
 *   - texts, images, videos, audio files: rows, sizes, per-row times (frame k of a video covers
 *     [k/fps, (k+1)/fps) cut at the duration; chunk k covers [10k, min(10k + 10, duration)]);
 *   - projected = mean over rows of the checkpoint's projection, embedding = its normalisation,
 *     row_embedding = each row's projection normalised (against the weights read here);
 *   - several inputs mixing good and bad files: every bad one gets its own error naming it, the
 *     good ones are embedded, the call returns the first failure;
 *   - batching (rows of several inputs in one tower call) equals one input at a time and batch
 *     size 1, within float tolerance;
 *   - heads: heads made from the checkpoints' own projections reproduce the checkpoint path;
 *     heads recording other encoders' identities (other weights, or visual features at another
 *     fps) are refused (one line naming both) unless force_heads; heads of the wrong sizes are
 *     refused;
 *   - identities equal slava_encoder_ids'; a bf16 embedder's are slava_encoder_ids_precision's
 *     ("+bf16" after the sha), and its text embeddings stay within cosine 0.999 of fp32; a modality whose
 *     tower is not loaded fails every input; progress and cancellation.
 */
#include "test.h"
#include "io/safetensors.h"
#include <stdarg.h>
#include <sys/stat.h>

static slava_ctx *ctx;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    CHECKF(run_cmd(cmd, NULL, NULL) == 0, "failed: %s", cmd);
}

static char *path(const char *rel) {   /* a scratch path that stays valid (strdup) */
    return strdup(tmp_path(rel));
}

static slava_embedder *load(const char *clip, const char *clap, const char *heads, int frame_batch, int chunk_batch,
                            int text_batch) {
    slava_embedder_opts o;
    slava_embedder_opts_default(&o);
    o.clip_dir = clip;
    o.clap_dir = clap;
    o.heads = heads;
    if (frame_batch) o.frame_batch = frame_batch;
    if (chunk_batch) o.chunk_batch = chunk_batch;
    if (text_batch) o.text_batch = text_batch;
    slava_embedder *e = NULL;
    CHECK_OK(ctx, slava_embedder_load(ctx, &o, &e));
    return e;
}

typedef slava_status (*embed_fn)(slava_ctx *, slava_embedder *, int, const char *const *, slava_embedding *);

/* Largest difference between two results (pooled, row embeddings, projected, embedding, times);
 * 1e9 when their shapes or statuses differ. */
static double result_diff(const slava_embedding *a, const slava_embedding *b) {
    if (a->status != b->status) return 1e9;
    if (a->status != SLAVA_OK) return 0;
    if (a->T != b->T || a->D != b->D || a->P != b->P) return 1e9;
    double d = max_abs_diff(a->pooled, b->pooled, a->T * a->D);
    d = fmax(d, max_abs_diff(a->row_embedding, b->row_embedding, a->T * a->P));
    d = fmax(d, max_abs_diff(a->projected, b->projected, a->P));
    d = fmax(d, max_abs_diff(a->embedding, b->embedding, a->P));
    for (int t = 0; t < a->T; t++) d = fmax(d, fmax(fabs(a->t_start[t] - b->t_start[t]), fabs(a->t_end[t] - b->t_end[t])));
    return d;
}

/* Every input of `in` embedded together by e, and one at a time by e1: the same results. */
static void same_as_one_at_a_time(const char *what, embed_fn fn, slava_embedder *e, slava_embedder *e1, int n,
                                  const char *const *in, double tol) {
    slava_embedding *all = calloc((size_t)n, sizeof *all), one;
    fn(ctx, e, n, in, all);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        memset(&one, 0, sizeof one);
        fn(ctx, e1, 1, in + i, &one);
        worst = fmax(worst, result_diff(&all[i], &one));
        slava_embeddings_clear(&one, 1);
    }
    CHECKF(worst <= tol, "%s: batched vs one at a time (batch size 1): max diff %g (tolerance %g)", what, worst, tol);
    printf("  %s: batched vs one at a time: max diff %.3g\n", what, worst);
    slava_embeddings_clear(all, n);
    free(all);
}

static double norm(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* projected == mean_t W pooled[t] (+ b), row_embedding[t] == normalise(W pooled[t]), embedding ==
 * normalise(projected): the checkpoint's linear projection W [P, D] (b may be NULL). */
static double check_linear(const slava_embedding *r, const float *W) {
    double worst = 0;
    double *mean = calloc((size_t)r->P, sizeof *mean);
    float *row = malloc(sizeof(float) * r->P);
    for (int t = 0; t < r->T; t++) {
        for (int o = 0; o < r->P; o++) {
            double a = 0;
            for (int d = 0; d < r->D; d++) a += (double)W[(size_t)o * r->D + d] * r->pooled[(size_t)t * r->D + d];
            row[o] = (float)a;
            mean[o] += a / r->T;
        }
        double nr = norm(row, r->P);
        for (int o = 0; o < r->P; o++) worst = fmax(worst, fabs(r->row_embedding[(size_t)t * r->P + o] - row[o] / nr));
    }
    double nm = 0;
    for (int o = 0; o < r->P; o++) nm += mean[o] * mean[o];
    nm = sqrt(nm);
    for (int o = 0; o < r->P; o++) {
        worst = fmax(worst, fabs(r->projected[o] - mean[o]));
        worst = fmax(worst, fabs(r->embedding[o] - mean[o] / nm));
    }
    free(mean);
    free(row);
    return worst;
}

static int g_calls, g_stop_at;
static char g_stage[32];
static int progress(void *user, const char *stage, int64_t done, int64_t total, const char *detail) {
    (void)user;
    (void)detail;
    (void)total;
    snprintf(g_stage, sizeof g_stage, "%s", stage);
    g_calls++;
    return g_stop_at && done >= g_stop_at;
}

int main(void) {
    ctx = slava_ctx_new();
    slava_set_threads(2);
    const char *clip = fixture("clip-model"), *clap = fixture("clap-model");
    mkdir(tmp_path("embed"), 0755);

    /* media */
    char *png1 = path("embed/a.png"), *png2 = path("embed/b.jpg"), *junk = path("embed/junk.mp4");
    char *v1 = path("embed/v1.mp4"), *v2 = path("embed/v2.mkv"), *wav = path("embed/tone.wav");
    char *flac = path("embed/short.flac"), *av = path("embed/av.mp4"), *missing = path("embed/none.wav");
    sh("ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=s=80x60 -frames:v 1 '%s'", png1);
    sh("ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=s=50x90 -frames:v 1 '%s'", png2);
    sh("ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=s=96x64:r=25:d=3 -pix_fmt yuv420p "
       "-c:v libx264 '%s'", v1);
    sh("ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=s=64x96:r=10:d=1.2 -c:v ffv1 '%s'", v2);
    sh("ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i sine=f=300:d=25 -ar 48000 '%s'", wav);
    sh("ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i anoisesrc=d=3:a=0.3 -ar 44100 '%s'", flac);
    sh("ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=s=64x48:r=10:d=2 -f lavfi "
       "-i sine=f=500:d=2 -shortest -pix_fmt yuv420p -c:v libx264 -c:a aac '%s'", av);
    FILE *f = fopen(junk, "wb");
    for (int i = 0; i < 2000; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);

    slava_embedder *e = load(clip, clap, NULL, 0, 0, 0);
    if (!e) return test_done("test_embed");
    slava_embedder_info info;
    slava_embedder_get_info(e, &info);
    CHECKF(info.d_v == 64 && info.d_t == 64 && info.d_a == 128 && info.p_v == 32 && info.p_t == 32 && info.p_a == 32 &&
           info.image_size > 0 && info.fps == 1.0 && !info.has_heads,
           "info: d %d %d %d p %d %d %d S %d", info.d_v, info.d_a, info.d_t, info.p_v, info.p_a, info.p_t, info.image_size);
    CHECK(!strcmp(slava_embedder_heads_id(e), ""));
    sv_weights *wclip = NULL;
    const float *Wv = NULL, *Wt = NULL;
    CHECK_OK(ctx, sv_weights_open(ctx, clip, &wclip));
    if (wclip) {
        CHECK_OK(ctx, sv_weights_get(ctx, wclip, "visual_projection.weight", &Wv, 2, 32, 64));
        CHECK_OK(ctx, sv_weights_get(ctx, wclip, "text_projection.weight", &Wt, 2, 32, 64));
    }

    /* ---- texts */
    {
        const char *texts[4] = {"a dog barks while a car passes", "", NULL, "rain on a tin roof"};
        slava_embedding r[4] = {0};
        slava_status st = slava_embed_texts(ctx, e, 4, texts, r);
        CHECKF(st == SLAVA_E_ARG && strstr(slava_ctx_error(ctx), "text 2"), "NULL text: %s %s", slava_status_name(st),
               slava_ctx_error(ctx));
        CHECK(r[2].status == SLAVA_E_ARG && r[2].error && !r[2].pooled);
        for (int i = 0; i < 4; i++) {
            if (i == 2) continue;
            CHECKF(r[i].status == SLAVA_OK && !r[i].error && r[i].T == 1 && r[i].D == 64 && r[i].P == 32, "text %d", i);
            if (r[i].status) continue;
            CHECK(fabs(norm(r[i].embedding, 32) - 1) < 1e-6 && r[i].t_start[0] == 0 && r[i].t_end[0] == 0 && r[i].duration == 0);
            CHECK(max_abs_diff(r[i].row_embedding, r[i].embedding, 32) < 1e-7);
            if (Wt) CHECKF(check_linear(&r[i], Wt) < 1e-5, "text %d vs text_projection: %g", i, check_linear(&r[i], Wt));
        }
        slava_embeddings_clear(r, 4);
        CHECK(r[0].pooled == NULL && r[0].T == 0);
        slava_embedder *e1 = load(clip, NULL, NULL, 0, 0, 1);
        const char *good[3] = {texts[0], texts[1], texts[3]};
        if (e1) same_as_one_at_a_time("texts", slava_embed_texts, e, e1, 3, good, 1e-5);
        slava_embedder_free(e1);
    }

    /* ---- images: a bad file between good ones */
    slava_embedder *e1 = load(clip, clap, NULL, 1, 1, 1);   /* batches of one row */
    {
        const char *in[4] = {png1, junk, png2, missing};
        slava_embedding r[4] = {0};
        slava_status st = slava_embed_images(ctx, e, 4, in, r);
        CHECKF(st != SLAVA_OK && strstr(slava_ctx_error(ctx), junk), "images: %s", slava_ctx_error(ctx));
        CHECKF(r[1].status != SLAVA_OK && r[1].error && strstr(r[1].error, junk), "junk: %s", r[1].error ? r[1].error : "");
        CHECKF(r[3].status != SLAVA_OK && r[3].error && strstr(r[3].error, missing), "missing: %s", r[3].error ? r[3].error : "");
        for (int i = 0; i < 3; i += 2) {
            CHECKF(r[i].status == SLAVA_OK && r[i].T == 1 && r[i].D == 64 && r[i].P == 32, "image %d: %s", i,
                   r[i].error ? r[i].error : "");
            if (r[i].status || !Wv) continue;
            CHECK(r[i].t_start[0] == 0 && r[i].t_end[0] == 0);
            CHECKF(check_linear(&r[i], Wv) < 1e-5, "image %d vs visual_projection: %g", i, check_linear(&r[i], Wv));
        }
        slava_embeddings_clear(r, 4);
        if (e1) same_as_one_at_a_time("images", slava_embed_images, e, e1, 4, in, 1e-5);
    }

    /* ---- videos: frames and their times; bad inputs among good ones */
    {
        const char *in[6] = {v1, wav, v2, junk, png1, av};
        slava_embedding r[6] = {0};
        slava_status st = slava_embed_videos(ctx, e, 6, in, r);
        CHECK(st != SLAVA_OK && strstr(slava_ctx_error(ctx), wav));
        CHECKF(r[1].status != SLAVA_OK && r[1].error && strstr(r[1].error, wav) && strstr(r[1].error, "no video stream"),
               "audio file as video: %s", r[1].error ? r[1].error : "");
        CHECK(r[3].status != SLAVA_OK && r[3].error && strstr(r[3].error, junk));
        const int want_T[6] = {3, 0, 2, 0, 1, 2};
        for (int i = 0; i < 6; i++) {
            if (!want_T[i]) continue;
            CHECKF(r[i].status == SLAVA_OK && r[i].T == want_T[i], "video %d: T %d, want %d (%s)", i, r[i].T, want_T[i],
                   r[i].error ? r[i].error : "");
            if (r[i].status) continue;
            if (Wv) CHECKF(check_linear(&r[i], Wv) < 1e-5, "video %d vs visual_projection: %g", i, check_linear(&r[i], Wv));
            for (int t = 0; t < r[i].T; t++)
                CHECKF(fabs(norm(r[i].row_embedding + t * 32, 32) - 1) < 1e-6, "video %d row %d not normalised", i, t);
        }
        if (!r[0].status) {
            CHECKF(fabs(r[0].duration - 3) < 0.05 && r[0].frames_decoded >= 70, "v1: %g s, %lld decoded", r[0].duration,
                   (long long)r[0].frames_decoded);
            CHECK(r[0].t_start[0] == 0 && r[0].t_end[0] == 1 && r[0].t_start[2] == 2 && fabs(r[0].t_end[2] - r[0].duration) < 1e-9);
        }
        if (!r[2].status)   /* 1.2 s: [0, 1) and [1, 1.2] */
            CHECKF(r[2].t_start[1] == 1 && fabs(r[2].t_end[1] - 1.2) < 1e-6, "v2 times %g..%g", r[2].t_start[1], r[2].t_end[1]);
        slava_embeddings_clear(r, 6);
        if (e1) same_as_one_at_a_time("videos", slava_embed_videos, e, e1, 6, in, 1e-5);
        /* fps 2: six frames of half a second */
        slava_embedder_opts o;
        slava_embedder_opts_default(&o);
        o.clip_dir = clip;
        o.fps = 2;
        slava_embedder *e2 = NULL;
        CHECK_OK(ctx, slava_embedder_load(ctx, &o, &e2));
        slava_embedding r2 = {0};
        if (e2) CHECK_OK(ctx, slava_embed_videos(ctx, e2, 1, in, &r2));
        CHECKF(r2.T == 6 && r2.t_start[5] == 2.5 && r2.t_end[4] == 2.5, "fps 2: T %d", r2.T);
        slava_embeddings_clear(&r2, 1);
        char id1[SLAVA_ENCODER_ID_LEN], id2[SLAVA_ENCODER_ID_LEN], idt[SLAVA_ENCODER_ID_LEN];
        CHECK_OK(ctx, slava_embedder_encoder_id(ctx, e, SLAVA_MOD_VISUAL, id1));
        if (e2) CHECK_OK(ctx, slava_embedder_encoder_id(ctx, e2, SLAVA_MOD_VISUAL, id2));
        if (e2) CHECK_OK(ctx, slava_embedder_encoder_id(ctx, e2, SLAVA_MOD_TEXT, idt));
        CHECKF(strlen(id1) == 64 && !strncmp(id1, id2, 64) && !strcmp(id2 + 64, "@2fps") && !strcmp(idt, id1),
               "ids %s %s %s", id1, id2, idt);
        slava_embedder_free(e2);
    }

    /* ---- audio: chunks and their times; bad inputs among good ones */
    {
        const char *in[5] = {wav, v2, flac, junk, av};
        slava_embedding r[5] = {0};
        slava_status st = slava_embed_audios(ctx, e, 5, in, r);
        CHECKF(st == SLAVA_E_NOAUDIO && strstr(slava_ctx_error(ctx), v2), "audio: %s %s", slava_status_name(st),
               slava_ctx_error(ctx));
        CHECK(r[1].status == SLAVA_E_NOAUDIO && r[1].error && strstr(r[1].error, v2));
        CHECK(r[3].status != SLAVA_OK && r[3].error && strstr(r[3].error, junk));
        const int want_T[5] = {3, 0, 1, 0, 1};
        for (int i = 0; i < 5; i++) {
            if (!want_T[i]) continue;
            CHECKF(r[i].status == SLAVA_OK && r[i].T == want_T[i] && r[i].D == 128 && r[i].P == 32, "audio %d: T %d (%s)",
                   i, r[i].T, r[i].error ? r[i].error : "");
            if (!r[i].status) CHECK(fabs(norm(r[i].embedding, 32) - 1) < 1e-6);
        }
        if (!r[0].status && r[0].T == 3) {
            CHECKF(fabs(r[0].duration - 25) < 1e-3, "25 s file: %g s", r[0].duration);
            CHECK(r[0].t_start[0] == 0 && r[0].t_end[0] == 10 && r[0].t_start[1] == 10 && r[0].t_end[1] == 20 &&
                  r[0].t_start[2] == 20 && fabs(r[0].t_end[2] - 25) < 1e-3);
            /* mean of the rows' projections: the row embeddings are their normalisations */
            for (int t = 0; t < 3; t++) CHECK(fabs(norm(r[0].row_embedding + t * 32, 32) - 1) < 1e-6);
        }
        if (!r[2].status) CHECK(fabs(r[2].t_end[0] - 3) < 1e-3 && fabs(r[2].duration - 3) < 1e-3);
        /* the library's whole-file call gives the same rows and mean */
        slava_clap_audio *m = NULL;
        CHECK_OK(ctx, slava_clap_audio_load(ctx, clap, &m));
        float *rows = NULL, mean[32];
        int T = 0;
        if (m) CHECK_OK(ctx, slava_clap_audio_embed_file(ctx, m, wav, 8, &rows, &T, mean));
        CHECK(T == 3 && rows && !r[0].status && max_abs_diff(rows, r[0].pooled, 3 * 128) < 1e-5 &&
              max_abs_diff(mean, r[0].projected, 32) < 1e-6);
        free(rows);
        slava_clap_audio_free(m);
        slava_embeddings_clear(r, 5);
        if (e1) same_as_one_at_a_time("audio", slava_embed_audios, e, e1, 5, in, 1e-5);
    }

    /* ---- heads made from the checkpoints' own projections reproduce the checkpoint path */
    char id[SLAVA_MODS][SLAVA_ENCODER_ID_LEN], ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    for (int m = 0; m < SLAVA_MODS; m++) CHECK_OK(ctx, slava_embedder_encoder_id(ctx, e, m, id[m]));
    CHECK_OK(ctx, slava_encoder_ids(ctx, clip, clap, 1.0, ids));
    for (int m = 0; m < SLAVA_MODS; m++) CHECKF(!strcmp(id[m], ids[m]), "identity %d: %s vs %s", m, id[m], ids[m]);
    slava_dataset ds = {0};
    ds.d_v = 64;
    ds.d_a = 128;
    ds.d_t = 64;
    slava_train_opts to;
    slava_train_opts_default(&to);
    to.clip_dir = clip;
    to.clap_dir = clap;
    slava_heads *h = NULL;
    CHECK_OK(ctx, slava_heads_init(ctx, &ds, &to, &h));
    char *hp = path("embed/heads.safetensors"), *hbad = path("embed/heads_other.safetensors");
    char *hfps = path("embed/heads_fps.safetensors"), *hsize = path("embed/heads_size.safetensors");
    char other[SLAVA_ENCODER_ID_LEN], at2[SLAVA_ENCODER_ID_LEN + 8];
    snprintf(other, sizeof other, "%064d", 7);
    snprintf(at2, sizeof at2, "%.64s@2fps", id[SLAVA_MOD_VISUAL]);
    for (int k = 0; k < 3 && h; k++) {
        ds.encoder_id[SLAVA_MOD_VISUAL] = k == 0 ? id[0] : k == 1 ? other : at2;
        ds.encoder_id[SLAVA_MOD_AUDIO] = id[1];
        ds.encoder_id[SLAVA_MOD_TEXT] = id[2];
        CHECK_OK(ctx, slava_heads_save(ctx, h, k == 0 ? hp : k == 1 ? hbad : hfps, NULL, NULL, &ds));
    }
    slava_heads_free(h);
    {
        slava_embedder *eh = load(clip, clap, hp, 0, 0, 0);
        if (eh) {
            slava_embedder_get_info(eh, &info);
            CHECK(info.has_heads && info.p_v == 32 && info.p_a == 32 && info.p_t == 32);
            CHECK(strlen(slava_embedder_heads_id(eh)) == 64);
            const char *t[2] = {"a dog barks", "an engine idles"}, *v[2] = {v1, av}, *a[2] = {wav, flac};
            embed_fn fns[3] = {slava_embed_texts, slava_embed_videos, slava_embed_audios};
            const char *const *ins[3] = {t, v, a};
            double worst = 0;
            for (int k = 0; k < 3; k++) {
                slava_embedding x[2] = {0}, y[2] = {0};
                CHECK_OK(ctx, fns[k](ctx, e, 2, ins[k], x));
                CHECK_OK(ctx, fns[k](ctx, eh, 2, ins[k], y));
                for (int i = 0; i < 2; i++) worst = fmax(worst, result_diff(&x[i], &y[i]));
                slava_embeddings_clear(x, 2);
                slava_embeddings_clear(y, 2);
            }
            CHECKF(worst < 1e-5, "heads from the checkpoints vs the checkpoints' projections: max diff %g", worst);
            printf("  heads from the checkpoints' projections vs the checkpoint path: max diff %.3g\n", worst);
        }
        slava_embedder_free(eh);
        /* recorded at 2 fps: other features than this embedder's at 1 fps; an embedder at 2 fps takes them */
        slava_embedder_opts o;
        slava_embedder_opts_default(&o);
        o.clip_dir = clip;
        o.heads = hfps;
        eh = NULL;
        CHECK(slava_embedder_load(ctx, &o, &eh) == SLAVA_E_ARG && !eh && strstr(slava_ctx_error(ctx), "@2fps"));
        o.fps = 2;
        CHECK_OK(ctx, slava_embedder_load(ctx, &o, &eh));
        slava_embedder_free(eh);
    }
    /* heads recording another visual encoder: refused, one line naming both; --force accepts */
    {
        slava_embedder_opts o;
        slava_embedder_opts_default(&o);
        o.clip_dir = clip;
        o.heads = hbad;
        slava_embedder *eh = NULL;
        slava_status st = slava_embedder_load(ctx, &o, &eh);
        const char *msg = slava_ctx_error(ctx);
        CHECKF(st == SLAVA_E_ARG && !eh && strstr(msg, other) && strstr(msg, id[SLAVA_MOD_VISUAL]) && strstr(msg, hbad) &&
               !strchr(msg, '\n'), "mismatch: %s %s", slava_status_name(st), msg);
        o.force_heads = 1;
        CHECK_OK(ctx, slava_embedder_load(ctx, &o, &eh));
        slava_embedder_free(eh);
        /* an audio-only embedder does not look at the visual record */
        o.force_heads = 0;
        o.clip_dir = NULL;
        o.clap_dir = clap;
        eh = NULL;
        CHECK_OK(ctx, slava_embedder_load(ctx, &o, &eh));
        slava_embedder_free(eh);
    }
    /* heads of other sizes than the towers: refused at load */
    {
        float w[16 * 64] = {0}, wa[16 * 8] = {0}, ba[16] = {0};
        sv_wtensor ht[4] = {{"visual_projection.weight", SV_F32, 2, {16, 64}, w},
                            {"text_projection.weight", SV_F32, 2, {16, 64}, w},
                            {"audio_projection.weight", SV_F32, 2, {16, 8}, wa},
                            {"audio_projection.bias", SV_F32, 1, {16}, ba}};
        CHECK_OK(ctx, sv_st_write(ctx, hsize, ht, 4, NULL));
        slava_embedder_opts o;
        slava_embedder_opts_default(&o);
        o.clap_dir = clap;
        o.heads = hsize;
        slava_embedder *eh = NULL;
        slava_status st = slava_embedder_load(ctx, &o, &eh);
        CHECKF(st == SLAVA_E_SHAPE && strstr(slava_ctx_error(ctx), hsize), "sizes: %s", slava_ctx_error(ctx));
        o.clap_dir = NULL;
        o.clip_dir = clip;   /* the visual and text heads fit CLIP: fine (16-d embeddings) */
        CHECK_OK(ctx, slava_embedder_load(ctx, &o, &eh));
        if (eh) {
            slava_embedder_get_info(eh, &info);
            CHECK(info.p_v == 16 && info.p_t == 16 && info.p_a == 0);
            slava_embedding r = {0};
            CHECK_OK(ctx, slava_embed_images(ctx, eh, 1, (const char *const *)&png1, &r));
            CHECK(r.P == 16 && r.T == 1);
            slava_embeddings_clear(&r, 1);
        }
        slava_embedder_free(eh);
    }

    /* ---- options and calls the embedder refuses */
    {
        slava_embedder_opts o;
        slava_embedder_opts_default(&o);
        o.clip_dir = clip;
        o.precision = SLAVA_PRECISION_BF16;
        o.modalities = 1u << SLAVA_MOD_TEXT;
        slava_embedder *x = NULL;
        CHECK_OK(ctx, slava_embedder_load(ctx, &o, &x));
        if (x) {
            char idb[SLAVA_ENCODER_ID_LEN], idsb[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
            CHECK_OK(ctx, slava_embedder_encoder_id(ctx, x, SLAVA_MOD_TEXT, idb));
            CHECK_OK(ctx, slava_encoder_ids_precision(ctx, clip, clap, 1.0, SLAVA_PRECISION_BF16, idsb));
            CHECKF(!strcmp(idb, idsb[SLAVA_MOD_TEXT]) && strlen(idb) == 64 + 5 && !strcmp(idb + 64, "+bf16") &&
                   !strncmp(idb, id[SLAVA_MOD_TEXT], 64), "bf16 identity %s", idb);
            const char *cap[2] = {"a dog barks", "rain on a tin roof"};
            slava_embedding rb[2], rf[2];
            memset(rb, 0, sizeof rb);
            memset(rf, 0, sizeof rf);
            CHECK_OK(ctx, slava_embed_texts(ctx, x, 2, cap, rb));
            CHECK_OK(ctx, slava_embed_texts(ctx, e, 2, cap, rf));
            for (int i = 0; i < 2; i++) {
                double dot = 0;
                for (int j = 0; j < rb[i].P && rb[i].embedding && rf[i].embedding; j++) dot += (double)rb[i].embedding[j] * rf[i].embedding[j];
                CHECKF(dot > 0.999 && dot < 1.0 + 1e-6, "bf16 vs fp32 caption %d: cosine %g", i, dot);
            }
            slava_embeddings_clear(rb, 2);
            slava_embeddings_clear(rf, 2);
            slava_embedder_free(x);
            x = NULL;
        }
        o.precision = (slava_precision)7;
        CHECK(slava_embedder_load(ctx, &o, &x) == SLAVA_E_ARG && !x && strstr(slava_ctx_error(ctx), "precision"));
        slava_embedder_opts_default(&o);
        CHECK(slava_embedder_load(ctx, &o, &x) == SLAVA_E_ARG && !x);
        o.clip_dir = clip;
        o.modalities = 1u << SLAVA_MOD_AUDIO;
        CHECK(slava_embedder_load(ctx, &o, &x) == SLAVA_E_ARG && strstr(slava_ctx_error(ctx), "CLAP"));
        o.modalities = 1u << SLAVA_MOD_TEXT;   /* the text tower alone */
        CHECK_OK(ctx, slava_embedder_load(ctx, &o, &x));
        if (x) {
            slava_embedder_get_info(x, &info);
            CHECK(info.d_t == 64 && info.d_v == 0 && info.image_size == 0);
            const char *in[2] = {png1, png2};
            slava_embedding r[2] = {0};
            CHECK(slava_embed_images(ctx, x, 2, in, r) == SLAVA_E_ARG);
            CHECK(r[0].status == SLAVA_E_ARG && r[1].status == SLAVA_E_ARG && r[0].error && r[1].error);
            slava_embeddings_clear(r, 2);
            char idv[SLAVA_ENCODER_ID_LEN];
            CHECK(slava_embedder_encoder_id(ctx, x, SLAVA_MOD_VISUAL, idv) == SLAVA_E_ARG);
            CHECK(slava_embedder_encoder_id(ctx, x, SLAVA_MOD_AUDIO, idv) == SLAVA_E_ARG);
        }
        slava_embedder_free(x);
        o.modalities = 0;
        o.clip_dir = tmp_path("embed/no_such_model");
        CHECK(slava_embedder_load(ctx, &o, &x) != SLAVA_OK && strstr(slava_ctx_error(ctx), "no_such_model"));
    }

    /* ---- progress and cancellation */
    {
        slava_ctx_set_progress(ctx, progress, NULL);
        const char *in[3] = {v1, v2, av};
        slava_embedding r[3] = {0};
        CHECK_OK(ctx, slava_embed_videos(ctx, e, 3, in, r));
        CHECKF(g_calls == 3 && !strcmp(g_stage, "embed"), "progress: %d calls, stage %s", g_calls, g_stage);
        slava_embeddings_clear(r, 3);
        g_stop_at = 1;
        const char *t[3] = {"one", "two", "three"};
        slava_embed_texts(ctx, e, 3, t, r);   /* one batch: all three are done before the callback stops it */
        CHECK(r[0].status == SLAVA_OK && r[2].status == SLAVA_OK);
        slava_embeddings_clear(r, 3);
        /* batches of one frame: the first video is complete before the second is read */
        slava_status st = e1 ? slava_embed_videos(ctx, e1, 3, in, r) : SLAVA_E_INTERNAL;
        CHECKF(st == SLAVA_E_INTERRUPTED && r[0].status == SLAVA_OK && r[2].status == SLAVA_E_INTERRUPTED, "cancel: %s, last input %s",
               slava_status_name(st), slava_status_name(r[2].status));
        slava_embeddings_clear(r, 3);
        slava_ctx_set_progress(ctx, NULL, NULL);
    }

    sv_weights_free(wclip);
    slava_embedder_free(e1);
    slava_embedder_free(e);
    free(png1); free(png2); free(junk); free(v1); free(v2); free(wav); free(flac); free(av); free(missing);
    free(hp); free(hbad); free(hfps); free(hsize);
    slava_ctx_free(ctx);
    return test_done("test_embed");
}
