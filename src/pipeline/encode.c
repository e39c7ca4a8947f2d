/*
 * encode.c — the encode pipeline (issue 6): a video collection → frozen encoders → feature store.
 *
 * Two threads:
 *   decode thread   for each clip still to do, in collection order: sample frames at fps and
 *                   preprocess them for CLIP ([T_v, 3, S, S]), read the audio in 10 s chunks and
 *                   compute CLAP's log-mel front end ([T_a, 1001, 64]); queued in parts of at most
 *                   frame_batch frames / 4·chunk_batch chunks (bounded memory for any length), the
 *                   clip's last part carrying its failure reason if it could not be read.
 *   calling thread  gathers jobs into a batch (up to frame_batch frames or caption_batch captions),
 *                   runs the image tower on all frames of the batch, HTSAT on all chunks, the text
 *                   tower on every caption text not encoded before (same text → same feature,
 *                   reused from the batch or the store), collects the rows of the clip in flight,
 *                   and commits each clip in ONE store transaction when its last part is through.
 * The towers are the embedder's (src/embed/embed.h: loaded once, called batch by batch here).
 * A GEMM's rounding may depend on the batch a row is in (OpenBLAS's Haswell kernels do), so
 * resumption works by groups of group_clips clips: batches never span groups, and a group with
 * anything left to do is encoded again whole. Every batch then holds the same clips, and the text
 * tower the same texts (a stored text feature is reused only when the text first occurs before
 * the batch), as in an uninterrupted run: the stored bytes are equal (tests/test_e2e.c).
 */
#include "base/base.h"
#include "embed/embed.h"
#include "io/filestamp.h"
#include "pipeline/shard.h"
#include "store/shard.h"
#include "store/store.h"
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>

void slava_encode_opts_default(slava_encode_opts *o) {
    memset(o, 0, sizeof *o);
    o->fps = 1.0;
    o->frame_batch = 64;
    o->chunk_batch = 8;
    o->caption_batch = 256;
    o->group_clips = 16;
    o->retry_failed = 0;
}

/* What a rerun found changed in a stored clip (issue 10). */
#define CHANGED_MEDIA 1u      /* the video's content differs from the one encoded */
#define CHANGED_CAPTIONS 2u   /* a caption text differs, or captions were added / removed */

/* ------------------------------------------------------------------ jobs and the queue */

/* A part of one clip, decoded and preprocessed: a long clip is cut into parts of at most
 * part_frames frames / part_chunks chunks so that memory stays bounded whatever its length.
 * The clip's last part (last = 1) carries its duration, audio flag and failure reason; a failed
 * clip's earlier parts are discarded by the consumer. Owned by the queue, then by the batch. */
typedef struct {
    int    clip;             /* index into the collection */
    int    last;             /* 1: the clip's final part */
    char  *error;            /* failure reason (malloc'd) or NULL; only on the last part */
    double duration;         /* seconds, -1 unknown (last part) */
    int    has_audio;        /* last part */
    int    t_v;
    float *pixels;           /* [t_v, 3, S, S] */
    int    t_a;
    float *mel;              /* [t_a, SLAVA_MEL_FRAMES, SLAVA_MEL_BINS] */
    sv_file_stamp stamp;     /* the video file as read (last part; unknown when none) */
} job;

static void job_free(job *j) {
    free(j->error);
    sv_free(j->pixels);
    sv_free(j->mel);
    memset(j, 0, sizeof *j);
}

#define QUEUE_CAP 64

typedef struct {
    /* read-only for the decode thread */
    const slava_collection *c;
    const int *todo;             /* clip indices to encode, in order */
    int n_todo;
    double fps;
    const slava_clip_preproc *pp;
    int S;                       /* CLIP image side */
    const slava_embedder *emb;   /* its CLAP front end (the mel features) */
    int part_frames, part_chunks;
    int frame_limit, chunk_limit; /* the decoder waits while this many frames / chunks are queued */
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job q[QUEUE_CAP];
    int head, count;
    int queued_frames, queued_chunks;
    int finished;                /* the decoder pushed every clip */
    int stop;                    /* set by the consumer: finish now */
    slava_cancel_fn cancel;      /* the caller's cancellation check, polled per frame / chunk */
    void *cancel_user;
    slava_status fatal;          /* out of memory in the decoder, or cancelled */
    char fatal_msg[1024];
    double t_decode;
} pipe_state;

/* Queue j (ownership passes), waiting for room. Returns 1 when the consumer asked to stop (j is
 * freed). The time spent waiting is not decoding time: it is taken out of *t_busy_start. */
static int push_job(pipe_state *p, job *j, double *t_busy_start) {
    double t0 = sv_now();
    pthread_mutex_lock(&p->mu);
    p->t_decode += t0 - *t_busy_start;
    while (!p->stop && p->count > 0 &&
           (p->count == QUEUE_CAP || p->queued_frames + j->t_v > p->frame_limit ||
            p->queued_chunks + j->t_a > p->chunk_limit))
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->stop) {
        pthread_mutex_unlock(&p->mu);
        job_free(j);
        return 1;
    }
    p->q[(p->head + p->count) % QUEUE_CAP] = *j;
    p->count++;
    p->queued_frames += j->t_v;
    p->queued_chunks += j->t_a;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    memset(j, 0, sizeof *j);
    *t_busy_start = sv_now();
    return 0;
}

/* Room for one more frame / chunk in the current part (allocated at the part's full size). */
static slava_status part_room(job *j, size_t fsz, int part_frames, size_t msz, int part_chunks, int audio) {
    if (!audio && !j->pixels && !(j->pixels = sv_alloc(sizeof(float) * fsz * part_frames))) return SLAVA_E_NOMEM;
    if (audio && !j->mel && !(j->mel = sv_alloc(sizeof(float) * msz * part_chunks))) return SLAVA_E_NOMEM;
    return SLAVA_OK;
}

/* Decode clip ci and queue it in parts. Problems with the clip become the last part's error.
 * Returns SLAVA_E_NOMEM when memory ran out (that stops the run), SLAVA_E_INTERRUPTED when the
 * consumer asked to stop, else SLAVA_OK. */
static slava_status decode_clip(slava_ctx *ctx, pipe_state *p, int ci, double *t_busy) {
    const slava_media_clip *mc = &p->c->clips[ci];
    job j;
    memset(&j, 0, sizeof j);
    j.clip = ci;
    j.duration = -1;
    int n_caps = 0;
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) n_caps += mc->n_cap[k];
    const size_t fsz = (size_t)3 * p->S * p->S, msz = (size_t)SLAVA_MEL_FRAMES * SLAVA_MEL_BINS;
    slava_status st = SLAVA_OK;
    if (!mc->video) st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s", mc->problem ? mc->problem : "no video file found");
    else if (n_caps == 0) st = sv_err(ctx, SLAVA_E_FORMAT, "no captions (every caption list is missing or empty)");
    /* frames */
    slava_video *v = NULL;
    if (!st) st = slava_video_open(ctx, mc->video, p->fps, &v);
    int frames = 0;
    while (!st) {
        const slava_image *im;
        double t;
        int got;
        if (sv_cancelled(ctx)) { st = SLAVA_E_INTERRUPTED; break; }
        st = slava_video_next(ctx, v, &im, &t, &got);
        if (st || !got) break;
        int ow, oh;
        slava_clip_preproc_out_size(p->pp, im->w, im->h, &ow, &oh);
        if (ow != p->S || oh != p->S) {
            st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: preprocessing gives %dx%d images, the CLIP model takes %dx%d",
                        mc->video, ow, oh, p->S, p->S);
            break;
        }
        if ((st = part_room(&j, fsz, p->part_frames, msz, p->part_chunks, 0))) break;
        st = slava_clip_preprocess(ctx, p->pp, im, j.pixels + fsz * j.t_v);
        if (st) break;
        j.t_v++;
        frames++;
        if (j.t_v == p->part_frames && push_job(p, &j, t_busy)) { st = SLAVA_E_INTERRUPTED; break; }
        j.clip = ci;
    }
    if (v) {
        slava_video_info info;
        slava_video_get_info(v, &info);
        j.duration = info.duration;
        slava_video_close(v);
    }
    if (!st && frames == 0) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: no video frame could be sampled", mc->video);
    /* audio */
    slava_audio *a = NULL;
    if (!st) {
        st = slava_audio_open(ctx, mc->video, &a);
        if (st == SLAVA_E_NOAUDIO) st = SLAVA_OK;   /* no audio track: a valid clip */
        else if (!st) j.has_audio = 1;
    }
    if (!st && a) {
        float *wave = sv_alloc(sizeof(float) * SLAVA_AUDIO_CHUNK);
        int chunks = 0;
        if (!wave) st = SLAVA_E_NOMEM;
        while (!st) {
            int n;
            if (sv_cancelled(ctx)) { st = SLAVA_E_INTERRUPTED; break; }
            st = slava_audio_next_chunk(ctx, a, wave, &n);
            if (st || n == 0) break;
            if ((st = part_room(&j, fsz, p->part_frames, msz, p->part_chunks, 1))) break;
            st = sv_embedder_mel(ctx, p->emb, wave, n, j.mel + msz * j.t_a);
            if (st) break;
            j.t_a++;
            chunks++;
            if (j.t_a == p->part_chunks) {
                double d = j.duration;
                if (push_job(p, &j, t_busy)) { st = SLAVA_E_INTERRUPTED; break; }
                j.clip = ci;
                j.duration = d;
                j.has_audio = 1;
            }
        }
        sv_free(wave);
        slava_audio_close(a);
        if (!st && chunks == 0) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: the audio track gave no 10 s chunk", mc->video);
    }
    if (st == SLAVA_E_NOMEM || st == SLAVA_E_INTERRUPTED) { job_free(&j); return st; }
    if (st) {   /* the clip failed: its last part carries only the reason */
        const char *m = slava_ctx_error(ctx);
        double d = j.duration;
        job_free(&j);
        j.clip = ci;
        j.duration = d;
        j.error = sv_strdup(m && *m ? m : slava_status_name(st));
        slava_ctx_clear_error(ctx);
        if (!j.error) return SLAVA_E_NOMEM;
    }
    j.last = 1;
    sv_file_stamp_clear(&j.stamp);
    if (mc->video && sv_file_stamp_get(ctx, mc->video, 1, &j.stamp)) {
        sv_file_stamp_clear(&j.stamp);   /* unreadable now: recorded as unknown */
        slava_ctx_clear_error(ctx);
    }
    return push_job(p, &j, t_busy) ? SLAVA_E_INTERRUPTED : SLAVA_OK;
}

static void *decode_thread(void *arg) {
    pipe_state *p = arg;
    slava_ctx *ctx = slava_ctx_new();
    if (ctx) slava_ctx_set_cancel(ctx, p->cancel, p->cancel_user);
    /* The towers use the cores through OpenMP/BLAS on the other thread; decoding here stays serial. */
    omp_set_num_threads(1);
    slava_status st = ctx ? SLAVA_OK : SLAVA_E_NOMEM;
    int i = 0;
    for (; !st && i < p->n_todo; i++) {
        double t_busy = sv_now();
        st = decode_clip(ctx, p, p->todo[i], &t_busy);
        pthread_mutex_lock(&p->mu);
        p->t_decode += sv_now() - t_busy;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_lock(&p->mu);
    if (st == SLAVA_E_NOMEM) {
        const slava_media_clip *mc = &p->c->clips[p->todo[i > 0 ? i - 1 : 0]];
        p->fatal = st;
        snprintf(p->fatal_msg, sizeof p->fatal_msg, "%s: out of memory while decoding", mc->video ? mc->video : mc->id);
    } else if (st == SLAVA_E_INTERRUPTED && !p->stop) {   /* cancelled here, not stopped by the consumer */
        p->fatal = st;
        snprintf(p->fatal_msg, sizeof p->fatal_msg, "encode: interrupted while decoding clip '%s'", p->c->clips[p->todo[i > 0 ? i - 1 : 0]].id);
    }
    p->finished = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    slava_ctx_free(ctx);
    return NULL;
}

/* Take the next job (blocking). Returns 0 with *j filled, 1 when there are no more jobs, -1 on a
 * fatal decoder error. *waited accumulates the seconds spent blocked. */
static int pop_job(pipe_state *p, job *j, double *waited) {
    double t0 = sv_now();
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->fatal && !p->finished) pthread_cond_wait(&p->cv, &p->mu);
    int r;
    if (p->fatal) {
        r = -1;
    } else if (p->count > 0) {
        *j = p->q[p->head];
        p->head = (p->head + 1) % QUEUE_CAP;
        p->count--;
        p->queued_frames -= j->t_v;
        p->queued_chunks -= j->t_a;
        pthread_cond_broadcast(&p->cv);
        r = 0;
    } else {
        r = 1;
    }
    pthread_mutex_unlock(&p->mu);
    *waited += sv_now() - t0;
    return r;
}

/* ------------------------------------------------------------------ the encoding side */

/* The towers, loaded through the embedder (src/embed/), and their sizes. */
typedef struct {
    slava_embedder *emb;
    int S, Dv, Dt, Da;
} models;

static void models_free(models *m) {
    slava_embedder_free(m->emb);
    memset(m, 0, sizeof *m);
}

static slava_status models_load(slava_ctx *ctx, const slava_encode_opts *o, models *m) {
    memset(m, 0, sizeof *m);
    slava_embedder_opts eo;
    slava_embedder_opts_default(&eo);
    eo.clip_dir = o->clip_dir;
    eo.clap_dir = o->clap_dir;
    eo.fps = o->fps;
    eo.frame_batch = o->frame_batch;
    eo.chunk_batch = o->chunk_batch;
    eo.text_batch = o->caption_batch;
    eo.precision = o->precision;
    SV_TRY(slava_embedder_load(ctx, &eo, &m->emb));
    slava_embedder_info info;
    slava_embedder_get_info(m->emb, &info);
    m->S = info.image_size;
    m->Dv = info.d_v;
    m->Dt = info.d_t;
    m->Da = info.d_a;
    return SLAVA_OK;
}

/* A batch of jobs with their encoder outputs. Caption features live in `tf` ([n_text, Dt]); the
 * caption (clip job b, kind k, index i) uses row cap_row[b][k][i]. */
typedef struct {
    job   *jobs;
    int    n, cap;
    int    frames, chunks, captions;
    float *vis;                /* [frames, Dv] */
    float *aud;                /* [chunks, Da] */
    /* distinct caption texts of the batch */
    const char **texts;        /* [n_text] borrowed from the collection */
    int   *text_known;         /* 1: feature taken from the store */
    int   *text_first;         /* 1: the text's first clip is in this batch (encoded with the batch) */
    float *tf;                 /* [n_text, Dt] */
    int    n_text, text_cap;
    int  **cap_row;            /* per job: rows of its captions, kinds in order then idx */
} batch;

static void batch_clear(batch *b) {
    for (int i = 0; i < b->n; i++) { job_free(&b->jobs[i]); free(b->cap_row[i]); b->cap_row[i] = NULL; }
    b->n = b->frames = b->chunks = b->captions = b->n_text = 0;
}

static void batch_free(batch *b) {
    batch_clear(b);
    free(b->jobs);
    free(b->cap_row);
    free(b->texts);
    free(b->text_known);
    free(b->text_first);
    sv_free(b->tf);
    sv_free(b->vis);
    sv_free(b->aud);
    memset(b, 0, sizeof *b);
}

static slava_status grow(slava_ctx *ctx, void **p, size_t elem, int need, int *cap) {
    if (need <= *cap) return SLAVA_OK;
    int nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *np = realloc(*p, elem * (size_t)nc);
    if (!np) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    *p = np;
    *cap = nc;
    return SLAVA_OK;
}

/* Open-addressing hash table of the batch's distinct caption texts (key: the text, borrowed). */
typedef struct { const char *key; int row; } tslot;

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Index of the first clip of the collection holding caption text t (table filled beforehand). */
static int first_clip_of(const tslot *tab, int cap, const char *t) {
    uint64_t h = str_hash(t) & (uint64_t)(cap - 1);
    while (tab[h].key && strcmp(tab[h].key, t)) h = (h + 1) & (uint64_t)(cap - 1);
    return tab[h].key ? tab[h].row : -1;
}

typedef struct {
    const slava_collection *c;
    slava_store *s;
    const slava_encode_opts *o;
    models m;
    char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    slava_encode_summary *sum;
    batch b;
    tslot *ht;
    int ht_cap;
    unsigned char *changed;    /* per collection clip: CHANGED_* bits found before encoding */
    tslot *first;              /* every caption text of the collection -> first clip index (row) */
    int first_cap;
    int failures_cap;
    /* the clip in flight: feature rows of its parts so far */
    int acc_clip;              /* collection index, -1 none */
    float *acc_vis, *acc_aud;  /* [acc_tv, Dv], [acc_ta, Da] */
    int acc_tv, acc_ta, acc_vcap, acc_acap;
    int64_t done, total;
    slava_progress_fn progress;  /* the caller's, saved while the towers run with none */
    void *progress_user;
} encoder;

/* Progress of the whole run (the towers' own per-call progress is switched off meanwhile).
 * Returns non-zero when the user asked to stop. */
static int report(encoder *e, int failed) {
    if (!e->progress) return 0;
    char detail[64];
    snprintf(detail, sizeof detail, "%d failed", failed);
    return e->progress(e->progress_user, "encode", e->done, e->total, detail);
}

/* Rows for every caption of the batch's clips: distinct texts found in the store are copied,
 * the others encoded together. */
static slava_status encode_texts(slava_ctx *ctx, encoder *e) {
    batch *b = &e->b;
    int need = 2 * b->captions + 16;
    if (need > e->ht_cap) {
        int nc = 64;
        while (nc < need) nc *= 2;
        tslot *nh = realloc(e->ht, sizeof(tslot) * nc);
        if (!nh) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
        e->ht = nh;
        e->ht_cap = nc;
    }
    for (int i = 0; i < e->ht_cap; i++) e->ht[i].key = NULL;
    b->n_text = 0;
    for (int bi = 0; bi < b->n; bi++) {
        const job *j = &b->jobs[bi];
        const slava_media_clip *mc = &e->c->clips[j->clip];
        if (!j->last || j->error) continue;
        int nc = 0;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) nc += mc->n_cap[k];
        b->cap_row[bi] = malloc(sizeof(int) * (size_t)(nc ? nc : 1));
        if (!b->cap_row[bi]) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
        int r = 0;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++)
            for (int i = 0; i < mc->n_cap[k]; i++, r++) {
                const char *t = mc->cap[k][i];
                uint64_t h = str_hash(t) & (uint64_t)(e->ht_cap - 1);
                while (e->ht[h].key && strcmp(e->ht[h].key, t)) h = (h + 1) & (uint64_t)(e->ht_cap - 1);
                if (!e->ht[h].key) {
                    SV_TRY(grow(ctx, (void **)&b->texts, sizeof *b->texts, b->n_text + 1, &b->text_cap));
                    e->ht[h].key = t;
                    e->ht[h].row = b->n_text;
                    b->texts[b->n_text++] = t;
                }
                b->cap_row[bi][r] = e->ht[h].row;
            }
    }
    if (!b->n_text) return SLAVA_OK;
    sv_free(b->tf);
    free(b->text_known);
    free(b->text_first);
    b->tf = sv_alloc(sizeof(float) * (size_t)b->n_text * e->m.Dt);
    b->text_known = calloc((size_t)b->n_text, sizeof(int));
    b->text_first = calloc((size_t)b->n_text, sizeof(int));
    const char **todo = malloc(sizeof(char *) * (size_t)b->n_text);
    int *todo_row = malloc(sizeof(int) * (size_t)b->n_text);
    float *out = sv_alloc(sizeof(float) * (size_t)b->n_text * e->m.Dt);
    slava_status st = SLAVA_OK;
    if (!b->tf || !b->text_known || !b->text_first || !todo || !todo_row || !out)
        st = sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    int n_todo = 0, n_alone = 0;
    double t0 = sv_now();
    /* A text whose first clip (in the collection) is in this batch is encoded with the batch's other
     * such texts: the same texts together in any run, so an interrupted and resumed run (or a shard
     * of a sharded run) computes the same bytes. A text first met before this batch is reused from
     * the store; when the store lacks it (its first clip failed, or belongs to another shard) it is
     * encoded on its own, which gives the same bytes whatever else the batch holds. Those texts are
     * queued from the end of todo. */
    const int first_clip = b->jobs[0].clip;
    for (int i = 0; !st && i < b->n_text; i++) {
        int found = 0, earlier = first_clip_of(e->first, e->first_cap, b->texts[i]) < first_clip;
        if (earlier)
            st = slava_store_find_text_feature(ctx, e->s, b->texts[i], e->ids[SLAVA_MOD_TEXT],
                                               b->tf + (size_t)i * e->m.Dt, e->m.Dt, &found);
        b->text_known[i] = found;
        b->text_first[i] = !earlier;
        if (found) continue;
        if (earlier) { n_alone++; todo[b->n_text - n_alone] = b->texts[i]; todo_row[b->n_text - n_alone] = i; }
        else { todo[n_todo] = b->texts[i]; todo_row[n_todo++] = i; }
    }
    e->sum->t_store += sv_now() - t0;
    t0 = sv_now();
    for (int i0 = 0; !st && i0 < n_todo; i0 += e->o->caption_batch) {
        int nb = n_todo - i0 < e->o->caption_batch ? n_todo - i0 : e->o->caption_batch;
        st = sv_embedder_captions(ctx, e->m.emb, nb, todo + i0, out, NULL);
        for (int i = 0; !st && i < nb; i++)
            memcpy(b->tf + (size_t)todo_row[i0 + i] * e->m.Dt, out + (size_t)i * e->m.Dt, sizeof(float) * e->m.Dt);
    }
    for (int i = b->n_text - 1; !st && i >= b->n_text - n_alone; i--)
        st = sv_embedder_captions(ctx, e->m.emb, 1, todo + i, b->tf + (size_t)todo_row[i] * e->m.Dt, NULL);
    e->sum->t_text += sv_now() - t0;
    free(todo);
    free(todo_row);
    sv_free(out);
    return st;
}

/* Run the towers over the batch and commit it clip by clip. */
static slava_status flush_batch(slava_ctx *ctx, encoder *e) {
    batch *b = &e->b;
    if (!b->n) return SLAVA_OK;
    const size_t fsz = (size_t)3 * e->m.S * e->m.S, msz = (size_t)SLAVA_MEL_FRAMES * SLAVA_MEL_BINS;
    slava_status st = SLAVA_OK;
    /* vision: all frames of the batch, frame_batch at a time */
    sv_free(b->vis);
    sv_free(b->aud);
    b->vis = b->frames ? sv_alloc(sizeof(float) * (size_t)b->frames * e->m.Dv) : NULL;
    b->aud = b->chunks ? sv_alloc(sizeof(float) * (size_t)b->chunks * e->m.Da) : NULL;
    float *pix = b->frames ? sv_alloc(sizeof(float) * fsz * (size_t)(b->frames < e->o->frame_batch ? b->frames : e->o->frame_batch)) : NULL;
    float *mel = b->chunks ? sv_alloc(sizeof(float) * msz * (size_t)(b->chunks < e->o->chunk_batch ? b->chunks : e->o->chunk_batch)) : NULL;
    if ((b->frames && (!b->vis || !pix)) || (b->chunks && (!b->aud || !mel))) {
        st = sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
        goto out;
    }
    /* Frames (and chunks) of consecutive clips are packed into calls of up to frame_batch rows. */
    double t0 = sv_now();
    {
        int row = 0, fill = 0;
        for (int bi = 0; !st && bi < b->n; bi++) {
            const job *j = &b->jobs[bi];
            for (int f = 0; !st && f < j->t_v; f++) {
                memcpy(pix + fsz * fill, j->pixels + fsz * f, sizeof(float) * fsz);
                if (++fill == e->o->frame_batch) {
                    st = sv_embedder_frames(ctx, e->m.emb, fill, pix, b->vis + (size_t)row * e->m.Dv, NULL);
                    row += fill;
                    fill = 0;
                }
            }
        }
        if (!st && fill) st = sv_embedder_frames(ctx, e->m.emb, fill, pix, b->vis + (size_t)row * e->m.Dv, NULL);
    }
    e->sum->t_vision += sv_now() - t0;
    t0 = sv_now();
    {
        int row = 0, fill = 0;
        for (int bi = 0; !st && bi < b->n; bi++) {
            const job *j = &b->jobs[bi];
            for (int f = 0; !st && f < j->t_a; f++) {
                memcpy(mel + msz * fill, j->mel + msz * f, sizeof(float) * msz);
                if (++fill == e->o->chunk_batch) {
                    st = sv_embedder_chunks(ctx, e->m.emb, fill, mel, b->aud + (size_t)row * e->m.Da, NULL);
                    row += fill;
                    fill = 0;
                }
            }
        }
        if (!st && fill) st = sv_embedder_chunks(ctx, e->m.emb, fill, mel, b->aud + (size_t)row * e->m.Da, NULL);
    }
    e->sum->t_audio += sv_now() - t0;
    if (!st) st = encode_texts(ctx, e);
    if (st) goto out;
    /* store: one transaction per clip, when its last part is through */
    t0 = sv_now();
    int vrow = 0, arow = 0;
    for (int bi = 0; !st && bi < b->n; bi++) {
        const job *j = &b->jobs[bi];
        const slava_media_clip *mc = &e->c->clips[j->clip];
        if (e->acc_clip != j->clip) { e->acc_clip = j->clip; e->acc_tv = e->acc_ta = 0; }
        if (j->t_v) {
            st = grow(ctx, (void **)&e->acc_vis, sizeof(float) * e->m.Dv, e->acc_tv + j->t_v, &e->acc_vcap);
            if (st) break;
            memcpy(e->acc_vis + (size_t)e->acc_tv * e->m.Dv, b->vis + (size_t)vrow * e->m.Dv, sizeof(float) * e->m.Dv * j->t_v);
            e->acc_tv += j->t_v;
            vrow += j->t_v;
        }
        if (j->t_a) {
            st = grow(ctx, (void **)&e->acc_aud, sizeof(float) * e->m.Da, e->acc_ta + j->t_a, &e->acc_acap);
            if (st) break;
            memcpy(e->acc_aud + (size_t)e->acc_ta * e->m.Da, b->aud + (size_t)arow * e->m.Da, sizeof(float) * e->m.Da * j->t_a);
            e->acc_ta += j->t_a;
            arow += j->t_a;
        }
        if (!j->last) continue;
        e->acc_clip = -1;
        unsigned changed = e->changed[j->clip];
        st = slava_store_begin(ctx, e->s);
        /* a replaced video: the features of every encoder describe the old one */
        if (!st && (changed & CHANGED_MEDIA)) st = sv_store_drop_clip_features(ctx, e->s, mc->id);
        if (!st) st = slava_store_put_clip(ctx, e->s, mc->id, mc->split, mc->video, j->duration, j->has_audio, j->error);
        if (!st) st = sv_store_set_source(ctx, e->s, mc->id, NULL, &j->stamp);
        int r = 0, reused = 0;
        if (!j->error) {
            /* a changed text drops the caption's old features (store trigger); gone ones are deleted */
            for (int k = 0; !st && k < SLAVA_CAP_KINDS; k++)
                for (int i = 0; !st && i < mc->n_cap[k]; i++)
                    st = slava_store_put_caption(ctx, e->s, mc->id, k, i, mc->cap[k][i]);
            if (!st) st = sv_store_trim_captions(ctx, e->s, mc->id, mc->n_cap);
            if (!st) st = slava_store_put_clip_feature(ctx, e->s, mc->id, SLAVA_MOD_VISUAL, e->ids[SLAVA_MOD_VISUAL],
                                                       e->acc_vis, e->acc_tv, e->m.Dv, NULL);
            if (!st && j->has_audio)
                st = slava_store_put_clip_feature(ctx, e->s, mc->id, SLAVA_MOD_AUDIO, e->ids[SLAVA_MOD_AUDIO],
                                                  e->acc_aud, e->acc_ta, e->m.Da, NULL);
            for (int k = 0; !st && k < SLAVA_CAP_KINDS; k++)
                for (int i = 0; !st && i < mc->n_cap[k]; i++, r++) {
                    int row = b->cap_row[bi][r];
                    reused += b->text_known[row];
                    st = slava_store_put_caption_feature(ctx, e->s, mc->id, k, i, e->ids[SLAVA_MOD_TEXT],
                                                         b->tf + (size_t)row * e->m.Dt, e->m.Dt, NULL);
                    /* a shard lists the texts it computed in their first clip's batch (merge takes those) */
                    if (!st && e->o->shard_count > 0 && b->text_first[row]) st = sv_shard_first_text(ctx, e->s, mc->cap[k][i]);
                    b->text_first[row] = 0;
                    /* the same text later in this batch is now "stored" too */
                    b->text_known[row] = 1;
                }
        }
        if (!st) st = slava_store_commit(ctx, e->s);
        if (st) { slava_store_rollback(e->s); break; }
        slava_encode_summary *sum = e->sum;
        if (j->error) {
            st = grow(ctx, (void **)&sum->failures, sizeof *sum->failures, sum->n_failures + 1, &e->failures_cap);
            if (st) break;
            slava_encode_failure *f = &sum->failures[sum->n_failures];
            f->clip = sv_strdup(mc->id);
            f->split = mc->split;
            f->reason = sv_strdup(j->error);
            if (!f->clip || !f->reason) { free(f->clip); free(f->reason); st = sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory"); break; }
            sum->n_failures++;
            sum->failed++;
        } else {
            sum->encoded++;
            sum->updated += changed != 0;
            sum->no_audio += !j->has_audio;
            sum->frames += e->acc_tv;
            sum->chunks += e->acc_ta;
            sum->captions += r;
            sum->captions_reused += reused;
        }
        e->done++;
        if (report(e, sum->failed) || sv_cancelled(ctx)) {
            e->sum->t_store += sv_now() - t0;
            st = sv_err(ctx, SLAVA_E_INTERRUPTED, "encode: interrupted");
            goto out;
        }
    }
    e->sum->t_store += sv_now() - t0;
out:
    sv_free(pix);
    sv_free(mel);
    batch_clear(b);
    return st;
}

void slava_encode_summary_free(slava_encode_summary *sum) {
    if (!sum) return;
    for (int i = 0; i < sum->n_failures; i++) { free(sum->failures[i].clip); free(sum->failures[i].reason); }
    free(sum->failures);
    sum->failures = NULL;
    sum->n_failures = 0;
}

/* ------------------------------------------------------------------ what this run does */

/* The run's plan, made before anything is encoded or written. */
typedef struct {
    int *todo, n_todo;            /* collection indices to encode, in order */
    unsigned char *changed;       /* [c->n] CHANGED_* */
    unsigned char *restamp;       /* [c->n] same content, but the recorded path / stamp is out of date */
    unsigned char *move;          /* [c->n] stored under another split: move it (allow_split_change) */
    sv_file_stamp *stamp;         /* [c->n] the file as hashed by the scan (when restamp) */
} run_plan;

static void plan_free(run_plan *p) {
    free(p->todo); free(p->changed); free(p->restamp); free(p->move); free(p->stamp);
    memset(p, 0, sizeof *p);
}

/* Compare each stored clip with its collection entry (nothing is written). A clip stored under
 * another split is an error naming it and both splits unless o->allow_split_change. */
static slava_status scan_changes(slava_ctx *ctx, const slava_collection *c, slava_store *s,
                                 const slava_encode_opts *o, run_plan *p) {
    int conflicts = 0, first = -1, first_split = 0;
    for (int i = 0; i < c->n; i++) {
        const slava_media_clip *mc = &c->clips[i];
        sv_stored_source ss;
        int found, same = 1;
        SV_TRY(sv_store_get_source(ctx, s, mc->id, &ss, &found));
        if (!found) continue;
        if (ss.split != mc->split) {
            if (o->allow_split_change) p->move[i] = 1;
            else if (!conflicts++) { first = i; first_split = ss.split; }
        }
        /* (a failed clip stored no captions: its media decide) */
        slava_status st = ss.failed ? SLAVA_OK
                                    : sv_store_captions_same(ctx, s, mc->id, mc->n_cap, (char *const *const *)mc->cap, &same);
        if (!st && !same) p->changed[i] |= CHANGED_CAPTIONS;
        sv_file_stamp now;
        if (!st && mc->video && sv_file_stamp_get(ctx, mc->video, 0, &now) == SLAVA_OK) {
            int other_path = !ss.source || strcmp(ss.source, mc->video);
            /* size and mtime are the quick check; the content hash decides */
            if ((o->verify_content || other_path || !ss.stamp.sha256[0] || !sv_file_stamp_same_meta(&ss.stamp, &now)) &&
                sv_file_stamp_get(ctx, mc->video, 1, &now) == SLAVA_OK) {
                if (ss.stamp.sha256[0] ? strcmp(ss.stamp.sha256, now.sha256) != 0 : ss.failed)
                    p->changed[i] |= CHANGED_MEDIA;    /* (a failed clip with no record: try the file again) */
                else
                    p->restamp[i] = 1;                 /* same bytes, or a store without stamps yet: record */
                p->stamp[i] = now;
            }
        }
        slava_ctx_clear_error(ctx);   /* a file unreadable now fails when it is decoded */
        free(ss.source);
        if (st) return st;
    }
    if (conflicts) {
        const slava_media_clip *mc = &c->clips[first];
        char more[64] = "";
        if (conflicts > 1) snprintf(more, sizeof more, " (and %d more clips)", conflicts - 1);
        return sv_err(ctx, SLAVA_E_ARG,
                      "%s: clip '%s' is stored in the %s split but the collection puts it in %s%s: a clip must never "
                      "change split silently (train/test leakage); nothing was written (allow it with --allow-split-change)",
                      s->path, mc->id, slava_split_name(first_split), slava_split_name(mc->split), more);
    }
    return SLAVA_OK;
}

/* Which clips to encode: groups of group_clips consecutive clips are the unit of resumption: a
 * group with any clip absent, incomplete or changed (or failed, with retry_failed) is encoded
 * again as a whole, so every batch has the same clips as in an uninterrupted run. Then the writes
 * that need no encoding, in one transaction: clips moved between splits, stamps recorded. */
static slava_status plan_run(slava_ctx *ctx, const slava_collection *c, slava_store *s, const slava_encode_opts *o,
                             const char *const *enc, slava_encode_summary *sum, run_plan *p) {
    size_t n = (size_t)(c->n ? c->n : 1);
    memset(p, 0, sizeof *p);
    p->todo = malloc(sizeof(int) * n);
    p->changed = calloc(n, 1);
    p->restamp = calloc(n, 1);
    p->move = calloc(n, 1);
    p->stamp = malloc(sizeof *p->stamp * n);
    if (!p->todo || !p->changed || !p->restamp || !p->move || !p->stamp) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    SV_TRY(scan_changes(ctx, c, s, o, p));
    unsigned char *in_todo = calloc(n, 1);
    if (!in_todo) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    slava_status st = SLAVA_OK;
    if (o->shard_count > 0) sum->clips = 0;
    for (int g0 = 0; !st && g0 < c->n; g0 += o->group_clips) {
        int g1 = g0 + o->group_clips < c->n ? g0 + o->group_clips : c->n, redo = 0, complete = 0, failed = 0;
        if (!sv_shard_owns_group(o, g0 / o->group_clips)) continue;
        if (o->shard_count > 0) sum->clips += g1 - g0;
        for (int i = g0; !st && i < g1; i++) {
            slava_clip_state state;
            st = slava_store_clip_state(ctx, s, c->clips[i].id, enc, &state, NULL);
            if (!st && o->done && state != SLAVA_CLIP_COMPLETE) {
                /* a sharded run: what the target store holds counts as stored */
                slava_clip_state in_done;
                st = slava_store_clip_state(ctx, o->done, c->clips[i].id, enc, &in_done, NULL);
                if (!st && (in_done == SLAVA_CLIP_COMPLETE || (in_done == SLAVA_CLIP_FAILED && state == SLAVA_CLIP_ABSENT)))
                    state = in_done;
            }
            if (p->changed[i]) redo = 1;
            else if (state == SLAVA_CLIP_COMPLETE) complete++;
            else if (state == SLAVA_CLIP_FAILED && !o->retry_failed) failed++;
            else redo = 1;
        }
        if (redo) for (int i = g0; i < g1; i++) { p->todo[p->n_todo++] = i; in_todo[i] = 1; }
        else { sum->skipped += complete; sum->prev_failed += failed; }
    }
    int mine = 0;
    if (!st) st = sv_store_tx_begin(ctx, s, &mine);
    for (int i = 0; !st && i < c->n; i++) {
        const slava_media_clip *mc = &c->clips[i];
        if (p->move[i]) { st = sv_store_move_clip(ctx, s, mc->id, mc->split); sum->moved++; }
        if (!st && p->restamp[i] && !in_todo[i]) st = sv_store_set_source(ctx, s, mc->id, mc->video, &p->stamp[i]);
    }
    if (mine) {
        slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
        if (!st) st = st2;
    }
    free(in_todo);
    return st;
}

slava_status slava_encode_collection(slava_ctx *ctx, const slava_collection *c, slava_store *s,
                                     const slava_encode_opts *o, slava_encode_summary *sum) {
    memset(sum, 0, sizeof *sum);
    double t_start = sv_now();
    sum->clips = c->n;
    if (o->frame_batch < 1 || o->chunk_batch < 1 || o->caption_batch < 1 || o->group_clips < 1)
        return sv_err(ctx, SLAVA_E_ARG, "encode: batch and group sizes must be >= 1");
    if (o->shard_count < 0 || (o->shard_count > 0 && (o->shard_index < 1 || o->shard_index > o->shard_count)))
        return sv_err(ctx, SLAVA_E_ARG, "encode: shard %d of %d: expected 1 <= I <= N", o->shard_index, o->shard_count);
    SV_TRY(slava_encoder_ids_precision(ctx, o->clip_dir, o->clap_dir, o->fps, o->precision, sum->encoder_id));
    if (o->shard_count > 0) {
        slava_shard_info want;
        SV_TRY(sv_shard_describe(ctx, c, o, sum->encoder_id, &want));
        SV_TRY(sv_shard_claim(ctx, s, &want));
    }
    const char *enc[SLAVA_MODS] = {sum->encoder_id[0], sum->encoder_id[1], sum->encoder_id[2]};
    double t0 = sv_now();
    run_plan pl;
    slava_status pst = plan_run(ctx, c, s, o, enc, sum, &pl);
    sum->t_store += sv_now() - t0;
    if (pst) { plan_free(&pl); return pst; }
    const int *todo = pl.todo, n_todo = pl.n_todo;
    if (n_todo == 0) {
        plan_free(&pl);
        sum->seconds = sv_now() - t_start;
        return o->shard_count > 0 ? sv_shard_set_complete(ctx, s, 1) : SLAVA_OK;
    }

    encoder e = {0};
    e.c = c;
    e.s = s;
    e.o = o;
    e.sum = sum;
    e.total = n_todo;
    e.changed = pl.changed;
    memcpy(e.ids, sum->encoder_id, sizeof e.ids);
    e.progress = ctx->progress;
    e.progress_user = ctx->progress_user;
    ctx->progress = NULL;
    slava_status st = models_load(ctx, o, &e.m);
    if (st) { plan_free(&pl); ctx->progress = e.progress; return st; }
    {
        int total = 0;
        for (int i = 0; i < c->n; i++)
            for (int k = 0; k < SLAVA_CAP_KINDS; k++) total += c->clips[i].n_cap[k];
        e.first_cap = 64;
        while (e.first_cap < 2 * total + 16) e.first_cap *= 2;
        e.first = calloc((size_t)e.first_cap, sizeof *e.first);
        if (!e.first) { models_free(&e.m); plan_free(&pl); ctx->progress = e.progress; return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory"); }
        for (int i = 0; i < c->n; i++)
            for (int k = 0; k < SLAVA_CAP_KINDS; k++)
                for (int j = 0; j < c->clips[i].n_cap[k]; j++) {
                    const char *t = c->clips[i].cap[k][j];
                    uint64_t h = str_hash(t) & (uint64_t)(e.first_cap - 1);
                    while (e.first[h].key && strcmp(e.first[h].key, t)) h = (h + 1) & (uint64_t)(e.first_cap - 1);
                    if (!e.first[h].key) { e.first[h].key = t; e.first[h].row = i; }
                }
    }
    report(&e, 0);

    pipe_state p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.todo = todo;
    p.n_todo = n_todo;
    p.fps = o->fps;
    p.pp = sv_embedder_preproc(e.m.emb);
    p.S = e.m.S;
    p.emb = e.m.emb;
    p.cancel = ctx->cancel;
    p.cancel_user = ctx->cancel_user;
    p.part_frames = o->frame_batch;
    p.part_chunks = 4 * o->chunk_batch;
    p.frame_limit = 2 * o->frame_batch;
    p.chunk_limit = 8 * o->chunk_batch;
    e.acc_clip = -1;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, decode_thread, &p)) {
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.cv);
        models_free(&e.m);
        plan_free(&pl);
        return sv_err(ctx, SLAVA_E_INTERNAL, "encode: cannot start the decode thread");
    }
    for (;;) {
        job j;
        int r = pop_job(&p, &j, &sum->t_wait);
        if (r < 0) { st = sv_err(ctx, p.fatal, "%s", p.fatal_msg); break; }
        if (r > 0) break;
        batch *b = &e.b;
        if (b->n && b->jobs[0].clip / o->group_clips != j.clip / o->group_clips) {   /* batches never span groups */
            st = flush_batch(ctx, &e);
            if (st) { job_free(&j); break; }
        }
        if (b->n == b->cap) {   /* jobs and cap_row grow together */
            int nc = b->cap ? 2 * b->cap : 16;
            job *nj = realloc(b->jobs, sizeof *nj * (size_t)nc);
            if (nj) b->jobs = nj;
            int **nr = nj ? realloc(b->cap_row, sizeof *nr * (size_t)nc) : NULL;
            if (nr) b->cap_row = nr;
            if (!nj || !nr) { job_free(&j); st = sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory"); break; }
            b->cap = nc;
        }
        b->cap_row[b->n] = NULL;
        b->jobs[b->n++] = j;
        b->frames += j.t_v;
        b->chunks += j.t_a;
        if (j.last && !j.error)
            for (int k = 0; k < SLAVA_CAP_KINDS; k++) b->captions += c->clips[j.clip].n_cap[k];
        if (b->frames >= o->frame_batch || b->captions >= o->caption_batch || b->chunks >= 4 * o->chunk_batch ||
            b->n >= QUEUE_CAP) {
            st = flush_batch(ctx, &e);
            if (st) break;
        }
    }
    if (!st) st = flush_batch(ctx, &e);
    /* stop the decoder (on error it may still be waiting for room) and drain what it queued */
    pthread_mutex_lock(&p.mu);
    p.stop = 1;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    pthread_join(th, NULL);
    while (p.count > 0) { job_free(&p.q[p.head]); p.head = (p.head + 1) % QUEUE_CAP; p.count--; }
    sum->t_decode = p.t_decode;
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    batch_free(&e.b);
    free(e.ht);
    free(e.acc_vis);
    free(e.acc_aud);
    free(e.first);
    models_free(&e.m);
    plan_free(&pl);
    ctx->progress = e.progress;
    if (!st && o->shard_count > 0) st = sv_shard_set_complete(ctx, s, 1);
    sum->seconds = sv_now() - t_start;
    return st;
}
