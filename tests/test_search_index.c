/*
 * test_search_index.c — slava_index_* and slava_search_* without any tower, on a synthetic
 * feature store with trained-style heads:
 *   - the index's rows are the heads' projections, L2-normalised (pooled = mean of the rows);
 *   - self-retrieval: each clip as the query (--like) returns itself first with score ≈ 1
 *     (visual, audio, both), float32 and float16 storage;
 *   - a frame's own embedding returns its clip with the moment that covers the frame's time, the
 *     last one cut at the clip's duration; chunks likewise;
 *   - k larger than the collection; in = audio leaves out clips without audio;
 *   - incremental re-index after adding clips, removing one and changing one's source: the
 *     counts, only the new clips projected (a moved source keeps its rows), rows kept identical;
 *   - an empty index; heads trained on other encoders refused unless forced; refusing to
 *     overwrite the store or a file that is not an index;
 *   - corrupt index files (truncated, garbage, other safetensors, tampered offsets / records /
 *     shapes / approximate graph): one clear error naming the file, never a crash;
 *   - the approximate index gives the exact results on a small collection; JSON / Markdown output;
 *   - concurrent searches from several threads give the single-thread results.
 */
#include "store_testutil.h"
#include "align/heads.h"
#include "io/safetensors.h"
#include "search/search.h"
#include <cjson/cJSON.h>
#include <pthread.h>

#define NCLIPS 40
#define DV 24
#define DA 20
#define DT 16

static slava_dataset g_ds;
static const char *g_store, *g_heads;

static void put_clips(slava_ctx *ctx, int n) {
    slava_store *s;
    CHECK_OK(ctx, slava_store_open(ctx, g_store, SLAVA_STORE_CREATE, &s));
    int keep = g_ds.n;
    g_ds.n = n;
    CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &g_ds));
    g_ds.n = keep;
    for (int i = 0; i < n; i++) {
        const slava_clip *c = &g_ds.clips[i];
        char src[64];
        snprintf(src, sizeof src, "/media/%s.mp4", c->id);
        /* 1 fps frames; the clip ends a quarter second into its last frame interval */
        CHECK_OK(ctx, slava_store_put_clip(ctx, s, c->id, c->split, src, c->t_v - 0.75, c->t_a > 0, NULL));
    }
    slava_store_close(s);
}

static slava_status build(slava_ctx *ctx, const char *out, int f16, int ann, slava_index_summary *sum) {
    slava_index_opts o;
    slava_index_opts_default(&o);
    o.store = g_store;
    o.out = out;
    o.heads = g_heads;
    o.f16 = f16;
    o.ann = ann;
    return slava_index_build(ctx, &o, sum);
}

/* The query of one clip of the index (its own embeddings). */
static void like(slava_ctx *ctx, const slava_index *ix, const char *id, slava_search_query *q) {
    slava_search_term t;
    slava_search_term_from_arg(SLAVA_TERM_CLIP, id, &t);
    CHECK_OK(ctx, slava_search_query_build(ctx, ix, NULL, 1, &t, q));
}

static int search(slava_ctx *ctx, const slava_index *ix, const slava_search_query *q, int in, int k, int exact,
                  slava_search_hit *hits) {
    slava_search_opts o;
    slava_search_opts_default(&o);
    o.in = in;
    o.k = k;
    o.exact = exact;
    int n = -1;
    CHECK_OK(ctx, slava_search(ctx, ix, q, &o, hits, &n));
    return n;
}

static const slava_clip *clip_by_id(const char *id) {
    for (int i = 0; i < g_ds.n; i++)
        if (!strcmp(g_ds.clips[i].id, id)) return &g_ds.clips[i];
    return NULL;
}

static void normalize(float *x, int P) {
    double s = 0;
    for (int j = 0; j < P; j++) s += (double)x[j] * x[j];
    for (int j = 0; j < P; j++) x[j] /= (float)sqrt(s);
}

/* The query of one feature row: its own normalised projection, for both modalities. */
static void row_query(slava_ctx *ctx, const slava_heads *h, int m, const float *x, int D, slava_search_query *q) {
    q->dim = 512;
    q->visual = malloc(sizeof(float) * 512);
    q->audio = malloc(sizeof(float) * 512);
    CHECK_OK(ctx, slava_heads_project_rows(ctx, h, (slava_modality)m, x, 1, D, q->visual));
    normalize(q->visual, 512);
    memcpy(q->audio, q->visual, sizeof(float) * 512);
}

static void test_rows_and_self(slava_ctx *ctx, const char *path, int f16) {
    slava_index *ix;
    CHECK_OK(ctx, slava_index_open(ctx, path, &ix));
    if (!ix) return;
    slava_index_info info;
    slava_index_get_info(ix, &info);
    int frames = 0, chunks = 0, with_audio = 0;
    for (int i = 0; i < NCLIPS; i++) {
        frames += g_ds.clips[i].t_v;
        chunks += g_ds.clips[i].t_a;
        with_audio += g_ds.clips[i].t_a > 0;
    }
    CHECK(info.n_clips == NCLIPS && info.n_frames == frames && info.n_chunks == chunks && info.n_audio_clips == with_audio);
    CHECK(info.dim == 512 && info.f16 == f16 && info.fps == 1.0 && !info.has_ann);
    CHECK(!strcmp(info.encoder_id[SLAVA_MOD_VISUAL], "tu-visual") && !strcmp(info.encoder_id[SLAVA_MOD_TEXT], "tu-text"));
    CHECK(strlen(info.heads_id) == 64 && info.store && strstr(info.store, "search_index.sqlite"));
    CHECK(info.heads && strstr(info.heads, "search_index.heads") && !info.clip_dir);

    /* rows = normalised projections (checked against the heads directly) */
    slava_heads *h;
    CHECK_OK(ctx, slava_heads_load(ctx, g_heads, &h));
    double worst = 0;
    for (int m = 0; h && m < 2; m++)
        for (int i = 0; i < NCLIPS; i++) {
            const slava_clip *c = &g_ds.clips[i];
            int T = m ? c->t_a : c->t_v, ci = slava_index_find_clip(ix, c->id);
            if (!T || ci < 0) continue;
            float want[512], got[512];
            CHECK_OK(ctx, slava_heads_project(ctx, h, (slava_modality)m, m ? c->audio : c->visual, T, m ? DA : DV, want));
            normalize(want, 512);
            sx_rows_f32(ix->rows[m], ix->f16, ix->off[m][ci], ix->off[m][ci] + 1, 512, got);
            for (int j = 0; j < 512; j++) worst = fmax(worst, fabs(got[j] - want[j]));
        }
    CHECKF(worst < (f16 ? 2e-3 : 2e-6), "pooled rows differ from the heads' projection by %g (f16=%d)", worst, f16);
    slava_heads_free(h);

    /* self-retrieval */
    int bad = 0;
    double score_err = 0;
    slava_search_hit hits[NCLIPS + 5];
    for (int i = 0; i < NCLIPS; i++) {
        const slava_clip *c = &g_ds.clips[i];
        slava_search_query q;
        like(ctx, ix, c->id, &q);
        for (int in = SLAVA_IN_VISUAL; in <= SLAVA_IN_BOTH; in++) {
            if (in == SLAVA_IN_AUDIO && !c->t_a) continue;
            int n = search(ctx, ix, &q, in, 3, 1, hits);
            if (n < 1 || strcmp(hits[0].id, c->id)) bad++;
            else score_err = fmax(score_err, fabs(hits[0].score - 1.0));
        }
        slava_search_query_free(&q);
    }
    CHECKF(!bad && score_err < (f16 ? 2e-3 : 1e-5), "self-retrieval: %d misses, score error %g (f16=%d)", bad, score_err, f16);

    /* moments: a frame's own embedding finds its clip at that frame's time */
    slava_heads *hh;
    CHECK_OK(ctx, slava_heads_load(ctx, g_heads, &hh));
    const slava_clip *c = clip_by_id("c0009");   /* 5 frames */
    CHECK(c && c->t_v == 5);
    for (int k = 2; hh && c && k < 5; k += 2) {
        slava_search_query q;
        row_query(ctx, hh, SLAVA_MOD_VISUAL, c->visual + (size_t)k * DV, DV, &q);
        int n = search(ctx, ix, &q, SLAVA_IN_VISUAL, 1, 1, hits);
        CHECK(n == 1 && !strcmp(hits[0].id, "c0009") && hits[0].modality == SLAVA_MOD_VISUAL);
        double t_end = k == 4 ? 4.25 : k + 1.0;   /* the last interval is cut at the duration */
        CHECKF(n == 1 && hits[0].t_start == k && fabs(hits[0].t_end - t_end) < 1e-9, "frame %d: moment %g-%g", k,
               hits[0].t_start, hits[0].t_end);
        CHECK(n == 1 && fabs(hits[0].score - 1.0) < (f16 ? 2e-3 : 1e-5));
        slava_search_query_free(&q);
    }
    /* a chunk: the audio row of chunk 1 of a clip with 3 chunks */
    const slava_clip *ca = clip_by_id("c0005");
    CHECK(ca && ca->t_a == 3);
    if (hh && ca) {
        slava_search_query q;
        row_query(ctx, hh, SLAVA_MOD_AUDIO, ca->audio + DA, DA, &q);
        int n = search(ctx, ix, &q, SLAVA_IN_AUDIO, 2, 1, hits);
        CHECK(n == 2 && !strcmp(hits[0].id, "c0005") && hits[0].modality == SLAVA_MOD_AUDIO);
        CHECK(n >= 1 && hits[0].t_start == 10 && hits[0].t_end == 20);
        slava_search_query_free(&q);
    }
    slava_heads_free(hh);

    /* k beyond the collection; audio search leaves out clips without audio */
    slava_search_query q;
    like(ctx, ix, "c0001", &q);
    slava_search_hit many[100];
    CHECK(search(ctx, ix, &q, SLAVA_IN_BOTH, 100, 1, many) == NCLIPS);
    CHECK(search(ctx, ix, &q, SLAVA_IN_AUDIO, 100, 1, many) == with_audio);
    int sorted = 1;
    for (int i = 1; i < with_audio; i++) sorted &= many[i - 1].score >= many[i].score;
    CHECK(sorted);
    for (int i = 0; i < with_audio; i++) CHECK(clip_by_id(many[i].id)->t_a > 0 && !isnan(many[i].score_audio));
    /* both = mean of visual and audio for clips with audio, visual alone without */
    search(ctx, ix, &q, SLAVA_IN_BOTH, 100, 1, many);
    int fused = 1;
    for (int i = 0; i < NCLIPS; i++) {
        const slava_search_hit *x = &many[i];
        float want = isnan(x->score_audio) ? x->score_visual : 0.5f * (x->score_visual + x->score_audio);
        fused &= fabsf(x->score - want) < 1e-6f && !strncmp(x->source, "/media/", 7) && !strncmp(x->source + 7, x->id, 5);
    }
    CHECK(fused);
    slava_search_query_free(&q);
    slava_index_free(ix);
}

static void test_incremental(slava_ctx *ctx) {
    const char *path = tu_tmp("search_incr.index");
    unlink(path);
    slava_index_summary s;
    /* the store as it was: the first 30 clips */
    const char *store_all = g_store;
    g_store = tu_tmp("search_incr.sqlite");
    unlink(g_store);
    put_clips(ctx, 30);
    CHECK_OK(ctx, build(ctx, path, 0, 0, &s));
    CHECK(s.clips == 30 && s.added == 30 && s.removed == 0 && s.rebuilt == 1);
    slava_index *before;
    CHECK_OK(ctx, slava_index_open(ctx, path, &before));
    /* 10 clips encoded since, one removed (recorded as failed), one's source moved */
    put_clips(ctx, NCLIPS);
    slava_store *st;
    CHECK_OK(ctx, slava_store_open(ctx, g_store, SLAVA_STORE_WRITE, &st));
    CHECK_OK(ctx, slava_store_put_clip(ctx, st, "c0003", g_ds.clips[3].split, "/media/c0003.mp4", 2.25, 0, "video gone"));
    CHECK_OK(ctx, slava_store_put_clip(ctx, st, "c0007", g_ds.clips[7].split, "/elsewhere/c0007.mp4", 2.25, 0, NULL));
    slava_store_close(st);
    CHECK_OK(ctx, build(ctx, path, 0, 0, &s));
    int64_t new_rows = 0;
    for (int i = 30; i < NCLIPS; i++) new_rows += g_ds.clips[i].t_v + g_ds.clips[i].t_a;
    CHECKF(s.clips == NCLIPS - 1 && s.added == 10 && s.removed == 1 && s.updated == 1 && s.unchanged == 28 && !s.rebuilt,
           "summary: %d clips, +%d -%d ~%d =%d rebuilt %d", s.clips, s.added, s.removed, s.updated, s.unchanged, s.rebuilt);
    CHECKF(s.rows_projected == new_rows, "projected %lld rows, expected %lld", (long long)s.rows_projected, (long long)new_rows);
    slava_index *after;
    CHECK_OK(ctx, slava_index_open(ctx, path, &after));
    CHECK(after && slava_index_find_clip(after, "c0003") < 0 && slava_index_find_clip(after, "c0035") >= 0);
    slava_index_clip ic;
    if (after) {
        slava_index_get_clip(after, slava_index_find_clip(after, "c0007"), &ic);
        CHECK(ic.source && !strcmp(ic.source, "/elsewhere/c0007.mp4") && ic.duration == 2.25);
        /* unchanged clips keep their rows bit for bit */
        int same = 1;
        for (int i = 0; i < 30; i++) {
            int a = slava_index_find_clip(before, g_ds.clips[i].id), b = slava_index_find_clip(after, g_ds.clips[i].id);
            if (a < 0 || b < 0) continue;
            for (int m = 0; m < 2; m++) {
                int64_t la = before->off[m][a + 1] - before->off[m][a], lb = after->off[m][b + 1] - after->off[m][b];
                same &= la == lb && !memcmp((const float *)before->rows[m] + before->off[m][a] * 512,
                                            (const float *)after->rows[m] + after->off[m][b] * 512, sizeof(float) * 512 * la);
            }
        }
        CHECK(same);
    }
    slava_index_free(before);
    slava_index_free(after);
    /* again with nothing changed: nothing projected */
    CHECK_OK(ctx, build(ctx, path, 0, 0, &s));
    CHECK(s.added == 0 && s.removed == 0 && s.updated == 0 && s.unchanged == NCLIPS - 1 && s.rows_projected == 0);
    /* a clip re-encoded (its visual features changed): only that clip is projected again */
    sqlite3 *db;
    CHECK(sqlite3_open(g_store, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE features SET data = zeroblob(length(data)) WHERE clip = (SELECT id FROM clips "
                           "WHERE name = 'c0010') AND encoder IN (SELECT id FROM encoders WHERE modality = 'visual')",
                       NULL, NULL, NULL) == SQLITE_OK && sqlite3_changes(db) == 1);
    sqlite3_close(db);
    CHECK_OK(ctx, build(ctx, path, 0, 0, &s));
    CHECK(s.updated == 1 && s.unchanged == NCLIPS - 2 && s.rows_projected == g_ds.clips[10].t_v + g_ds.clips[10].t_a);
    /* float16 instead: a full rebuild */
    CHECK_OK(ctx, build(ctx, path, 1, 0, &s));
    CHECK(s.rebuilt == 1 && s.unchanged == 0 && s.rows_projected > 0);
    g_store = store_all;
}

static void test_empty_and_refusals(slava_ctx *ctx) {
    /* every clip failed: an empty index that searches to nothing */
    const char *empty = tu_tmp("search_empty.sqlite"), *path = tu_tmp("search_empty.index");
    unlink(empty);
    unlink(path);
    slava_store *st;
    CHECK_OK(ctx, slava_store_open(ctx, empty, SLAVA_STORE_CREATE, &st));
    CHECK_OK(ctx, slava_store_put_clip(ctx, st, "x1", SLAVA_SPLIT_TEST, "/media/x1.mp4", 3, 1, "unreadable"));
    slava_store_close(st);
    slava_index_opts o;
    slava_index_opts_default(&o);
    o.store = empty;
    o.out = path;
    o.heads = g_heads;
    slava_index_summary s;
    CHECK_OK(ctx, slava_index_build(ctx, &o, &s));
    CHECK(s.clips == 0 && s.rows == 0);
    slava_index *ix;
    CHECK_OK(ctx, slava_index_open(ctx, path, &ix));
    if (ix) {
        slava_index_info info;
        slava_index_get_info(ix, &info);
        CHECK(info.n_clips == 0 && info.dim == 512);
        CHECK(slava_index_find_clip(ix, "x1") == -1);
        slava_search_query q = {512, calloc(512, 4), calloc(512, 4)};
        q.visual[0] = q.audio[0] = 1;
        slava_search_hit hits[4];
        CHECK(search(ctx, ix, &q, SLAVA_IN_BOTH, 4, 0, hits) == 0);
        slava_search_opts so;
        slava_search_opts_default(&so);
        char *js = slava_search_format(ix, 0, NULL, &so, hits, 0, SLAVA_FMT_JSON);
        CHECK(js && strstr(js, "\"results\":[]"));
        free(js);
        slava_search_term t;
        slava_search_term_from_arg(SLAVA_TERM_CLIP, "x1", &t);
        slava_search_query q2;
        CHECK(slava_search_query_build(ctx, ix, NULL, 1, &t, &q2) == SLAVA_E_NOTFOUND && strstr(slava_ctx_error(ctx), "x1"));
        slava_search_query_free(&q);
        slava_index_free(ix);
    }

    /* heads trained on other encoders: refused (naming both), accepted with force */
    slava_heads *h;
    CHECK_OK(ctx, slava_heads_load(ctx, g_heads, &h));
    char *keep = g_ds.encoder_id[SLAVA_MOD_AUDIO];
    g_ds.encoder_id[SLAVA_MOD_AUDIO] = "other-audio";
    const char *other = tu_tmp("search_other.heads");
    CHECK_OK(ctx, slava_heads_save(ctx, h, other, NULL, NULL, &g_ds));
    g_ds.encoder_id[SLAVA_MOD_AUDIO] = keep;
    slava_heads_free(h);
    o.store = g_store;
    o.heads = other;
    o.out = tu_tmp("search_other.index");
    CHECK(slava_index_build(ctx, &o, &s) == SLAVA_E_ARG);
    CHECKF(strstr(slava_ctx_error(ctx), "other-audio") && strstr(slava_ctx_error(ctx), "tu-audio"), "%s", slava_ctx_error(ctx));
    o.force = 1;
    CHECK_OK(ctx, slava_index_build(ctx, &o, &s));
    o.force = 0;

    /* never overwrite the store, the heads, or a file that is not an index */
    o.heads = g_heads;
    o.out = g_store;
    CHECK(slava_index_build(ctx, &o, &s) == SLAVA_E_ARG && strstr(slava_ctx_error(ctx), "own input"));
    o.out = g_heads;
    CHECK(slava_index_build(ctx, &o, &s) == SLAVA_E_ARG);
    const char *txt = tu_tmp("search_notes.txt");
    FILE *f = fopen(txt, "w");
    fputs("my notes\n", f);
    fclose(f);
    o.out = txt;
    CHECK(slava_index_build(ctx, &o, &s) == SLAVA_E_ARG && strstr(slava_ctx_error(ctx), "not a usable slava index"));
    f = fopen(txt, "r");
    char line[32] = "";
    CHECK(f && fgets(line, sizeof line, f) && !strcmp(line, "my notes\n"));
    if (f) fclose(f);
}

/* Copy index `src` to `dst` with tensor `name` replaced by `data` (nbytes, same dtype / shape
 * unless shape0 >= 0) and metadata key `mkey` set to `mval` (when not NULL). */
static void tamper(const char *src, const char *dst, const char *name, const void *data, size_t nbytes, int64_t shape0,
                   const char *mkey, const char *mval) {
    slava_ctx *ctx = slava_ctx_new();
    sv_stfile *f;
    if (sv_st_open(ctx, src, &f)) { CHECK(0); slava_ctx_free(ctx); return; }
    sv_wtensor t[16];
    int n = 0;
    for (int i = 0; i < f->n && n < 16; i++, n++) {
        const sv_tensor *x = &f->tensors[i];
        t[n].name = x->name;
        t[n].dtype = x->dtype;
        t[n].ndim = x->ndim;
        memcpy(t[n].shape, x->shape, sizeof x->shape);
        t[n].data = x->data;
        if (!strcmp(x->name, name)) {
            CHECK(shape0 >= 0 || nbytes == x->nbytes);
            t[n].data = data;
            if (shape0 >= 0) t[n].shape[0] = shape0;
        }
    }
    cJSON *m = cJSON_Parse(f->metadata_json);
    const char *meta[64];
    int k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, m) {
        meta[k++] = it->string;
        meta[k++] = mkey && !strcmp(it->string, mkey) ? mval : it->valuestring;
    }
    meta[k] = NULL;
    CHECK_OK(ctx, sv_st_write(ctx, dst, t, n, meta));
    cJSON_Delete(m);
    sv_st_close(f);
    slava_ctx_free(ctx);
}

static void expect_corrupt(const char *path, const char *what) {
    slava_ctx *ctx = slava_ctx_new();
    slava_index *ix = NULL;
    slava_status st = slava_index_open(ctx, path, &ix);
    const char *msg = slava_ctx_error(ctx);
    CHECKF(st != SLAVA_OK && !ix && strstr(msg, path) && !strchr(msg, '\n'), "%s: status %s, message '%s'", what,
           slava_status_name(st), msg);
    slava_index_free(ix);
    slava_ctx_free(ctx);
}

static void test_corrupt(slava_ctx *ctx, const char *good, const char *good_ann) {
    const char *bad = tu_tmp("search_bad.index");
    size_t len;
    char *bytes;
    CHECK_OK(ctx, sv_read_file(ctx, good, &bytes, &len));
    /* truncated */
    FILE *f = fopen(bad, "wb");
    fwrite(bytes, 1, len / 2, f);
    fclose(f);
    expect_corrupt(bad, "truncated");
    /* empty */
    f = fopen(bad, "wb");
    fclose(f);
    expect_corrupt(bad, "empty");
    /* garbage */
    f = fopen(bad, "wb");
    for (int i = 0; i < 5000; i++) fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    expect_corrupt(bad, "garbage");
    /* header bytes flipped */
    f = fopen(bad, "wb");
    for (size_t i = 0; i < len; i++) fputc(i > 8 && i < 200 && i % 5 == 0 ? bytes[i] ^ 0x5a : bytes[i], f);
    fclose(f);
    expect_corrupt(bad, "flipped header");
    free(bytes);
    /* another safetensors file (heads) */
    expect_corrupt(g_heads, "heads file");
    /* tampered tensors and metadata */
    slava_index *ix;
    CHECK_OK(ctx, slava_index_open(ctx, good, &ix));
    if (!ix) return;
    int n = ix->n;
    int64_t *off = malloc(sizeof(int64_t) * (n + 1));
    memcpy(off, ix->off[0], sizeof(int64_t) * (n + 1));
    off[3] = off[5] + 1000000;
    tamper(good, bad, "visual_offsets", off, sizeof(int64_t) * (n + 1), -1, NULL, NULL);
    expect_corrupt(bad, "offsets past the rows");
    memcpy(off, ix->off[0], sizeof(int64_t) * (n + 1));
    off[4] = off[3] + 1;   /* a clip of one row: pooled without moments */
    tamper(good, bad, "visual_offsets", off, sizeof(int64_t) * (n + 1), -1, NULL, NULL);
    expect_corrupt(bad, "one-row clip");
    memcpy(off, ix->off[1], sizeof(int64_t) * (n + 1));
    tamper(good, bad, "audio_offsets", off, sizeof(int64_t) * n, n, NULL, NULL);
    expect_corrupt(bad, "short offsets");
    free(off);
    tamper(good, bad, "clip_hash", ix->hash, 8 * (size_t)(n - 1), n - 1, NULL, NULL);
    expect_corrupt(bad, "short hash");
    const char *json = "[{\"id\": \"a\"}]";
    tamper(good, bad, "clips", json, strlen(json), (int64_t)strlen(json), NULL, NULL);
    expect_corrupt(bad, "bad clip records");
    json = "not json at all";
    tamper(good, bad, "clips", json, strlen(json), (int64_t)strlen(json), NULL, NULL);
    expect_corrupt(bad, "clip records not JSON");
    tamper(good, bad, "clip_hash", ix->hash, 8 * (size_t)n, -1, "dim", "511");
    expect_corrupt(bad, "dim differs from the rows");
    tamper(good, bad, "clip_hash", ix->hash, 8 * (size_t)n, -1, "format", "slava-index/99");
    expect_corrupt(bad, "other format");
    tamper(good, bad, "clip_hash", ix->hash, 8 * (size_t)n, -1, "dtype", "F16");
    expect_corrupt(bad, "dtype differs from the rows");
    slava_index_free(ix);
    /* the approximate graph */
    sv_stfile *sf;
    CHECK_OK(ctx, sv_st_open(ctx, good_ann, &sf));
    const sv_tensor *nb = sf ? sv_st_find(sf, "ann_visual_neighbors") : NULL;
    CHECK(nb != NULL);
    if (nb) {
        int32_t *v = malloc(nb->nbytes);
        memcpy(v, nb->data, nb->nbytes);
        v[nb->numel / 2] = 1 << 30;
        tamper(good_ann, bad, "ann_visual_neighbors", v, nb->nbytes, -1, NULL, NULL);
        expect_corrupt(bad, "graph neighbour out of range");
        free(v);
        tamper(good_ann, bad, "ann_visual_neighbors", nb->data, nb->nbytes, -1, "ann.visual", "32 999999 3 100");
        expect_corrupt(bad, "graph entry point out of range");
    }
    sv_st_close(sf);
}

static void test_ann_and_format(slava_ctx *ctx, const char *exact_path, const char *ann_path) {
    slava_index *ex, *an;
    CHECK_OK(ctx, slava_index_open(ctx, exact_path, &ex));
    CHECK_OK(ctx, slava_index_open(ctx, ann_path, &an));
    if (!ex || !an) return;
    slava_index_info info;
    slava_index_get_info(an, &info);
    CHECK(info.has_ann && strstr(info.ann_kind, "hnsw"));
    int same = 1;
    for (int i = 0; i < NCLIPS; i += 3) {
        slava_search_query q;
        like(ctx, ex, g_ds.clips[i].id, &q);
        slava_search_hit a[8], b[8];
        for (int in = SLAVA_IN_VISUAL; in <= SLAVA_IN_BOTH; in++) {
            int na = search(ctx, ex, &q, in, 8, 1, a), nb = search(ctx, an, &q, in, 8, 0, b);
            same &= na == nb;
            for (int j = 0; j < na && j < nb; j++)
                same &= !strcmp(a[j].id, b[j].id) && a[j].score == b[j].score && a[j].t_start == b[j].t_start;
        }
        slava_search_query_free(&q);
    }
    CHECK(same);

    /* the formats */
    slava_search_query q;
    slava_search_term terms[2];
    slava_search_term_from_arg(SLAVA_TERM_CLIP, "c0002", &terms[0]);
    slava_search_term_from_arg(SLAVA_TERM_CLIP, "-c0006", &terms[1]);
    CHECK(terms[1].weight == -1.0f && !strcmp(terms[1].value, "c0006"));
    slava_search_term lit;
    slava_search_term_from_arg(SLAVA_TERM_TEXT, "\\-dash", &lit);
    CHECK(lit.weight == 1.0f && !strcmp(lit.value, "-dash"));
    CHECK_OK(ctx, slava_search_query_build(ctx, ex, NULL, 2, terms, &q));
    slava_search_hit hits[5];
    slava_search_opts so;
    slava_search_opts_default(&so);
    so.k = 5;
    int n = -1;
    CHECK_OK(ctx, slava_search(ctx, ex, &q, &so, hits, &n));
    CHECK(n == 5 && !strcmp(hits[0].id, "c0002") && strcmp(hits[n - 1].id, "c0006"));
    char *js = slava_search_format(ex, 2, terms, &so, hits, n, SLAVA_FMT_JSON);
    cJSON *root = cJSON_Parse(js);
    const cJSON *qo = cJSON_GetObjectItem(root, "query"), *rs = cJSON_GetObjectItem(root, "results");
    CHECK(cJSON_IsObject(qo) && cJSON_GetArraySize(cJSON_GetObjectItem(qo, "terms")) == 2);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(qo, "in")), "both") && cJSON_GetObjectItem(qo, "k")->valueint == 5);
    const cJSON *t1 = cJSON_GetArrayItem(cJSON_GetObjectItem(qo, "terms"), 1);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(t1, "kind")), "clip") &&
          cJSON_GetObjectItem(t1, "weight")->valuedouble == -1);
    CHECK(cJSON_GetArraySize(rs) == 5);
    const cJSON *r0 = cJSON_GetArrayItem(rs, 0);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "clip")), "c0002"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "source")), "/media/c0002.mp4"));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(r0, "score")) && cJSON_IsNumber(cJSON_GetObjectItem(r0, "t_start")) &&
          cJSON_IsNumber(cJSON_GetObjectItem(r0, "t_end")));
    const char *mod = cJSON_GetStringValue(cJSON_GetObjectItem(r0, "modality"));
    CHECK(mod && (!strcmp(mod, "visual") || !strcmp(mod, "audio")));
    cJSON_Delete(root);
    free(js);
    char *md = slava_search_format(ex, 2, terms, &so, hits, n, SLAVA_FMT_MD);
    CHECK(md && !strncmp(md, "| # | score | clip |", 19) && strstr(md, "c0002") && strstr(md, "/media/c0002.mp4"));
    free(md);
    slava_search_query_free(&q);
    /* errors */
    so.in = 7;
    CHECK(slava_search(ctx, ex, &q, &so, hits, &n) == SLAVA_E_ARG);
    slava_search_term z = {SLAVA_TERM_CLIP, "c0002", 1.0f}, zz[2] = {z, z};
    zz[1].weight = -1;
    CHECK(slava_search_query_build(ctx, ex, NULL, 2, zz, &q) == SLAVA_E_ARG && strstr(slava_ctx_error(ctx), "cancel"));
    slava_search_term tx = {SLAVA_TERM_TEXT, "a dog", 1.0f};
    CHECK(slava_search_query_build(ctx, ex, NULL, 1, &tx, &q) == SLAVA_E_ARG);
    slava_index_free(ex);
    slava_index_free(an);
}

typedef struct { const slava_index *ix; int ok; } worker;

static void *work(void *p) {
    worker *w = p;
    slava_ctx *ctx = slava_ctx_new();
    w->ok = 1;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < NCLIPS; i++) {
            slava_search_term t = {SLAVA_TERM_CLIP, g_ds.clips[i].id, 1.0f};
            slava_search_query q;
            slava_search_opts o;
            slava_search_opts_default(&o);
            o.k = 2;
            slava_search_hit h[2];
            int n = 0;
            if (slava_search_query_build(ctx, w->ix, NULL, 1, &t, &q) || slava_search(ctx, w->ix, &q, &o, h, &n) || n != 2 ||
                strcmp(h[0].id, g_ds.clips[i].id))
                w->ok = 0;
            slava_search_query_free(&q);
        }
    slava_ctx_free(ctx);
    return NULL;
}

static void test_threads(slava_ctx *ctx, const char *path) {
    slava_index *ix;
    CHECK_OK(ctx, slava_index_open(ctx, path, &ix));
    if (!ix) return;
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i].ix = ix;
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].ok);
    }
    slava_index_free(ix);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(2);
    tu_make_dataset(&g_ds, NCLIPS, DV, DA, DT, 7, "tu");
    g_store = tu_tmp("search_index.sqlite");
    g_heads = tu_tmp("search_index.heads");
    unlink(g_store);
    put_clips(ctx, NCLIPS);
    slava_heads *h;
    slava_train_opts to;
    slava_train_opts_default(&to);
    to.seed = 5;
    CHECK_OK(ctx, slava_heads_init(ctx, &g_ds, &to, &h));
    CHECK_OK(ctx, slava_heads_save(ctx, h, g_heads, NULL, NULL, &g_ds));
    slava_heads_free(h);

    const char *p32 = tu_tmp("search_f32.index"), *p16 = tu_tmp("search_f16.index"), *pann = tu_tmp("search_ann.index");
    unlink(p32); unlink(p16); unlink(pann);
    slava_index_summary s;
    CHECK_OK(ctx, build(ctx, p32, 0, 0, &s));
    CHECK(s.clips == NCLIPS && s.added == NCLIPS && !s.ann_built);
    CHECK_OK(ctx, build(ctx, p16, 1, 0, &s));
    CHECK_OK(ctx, build(ctx, pann, 0, 1, &s));
    CHECK(s.ann_built);
    test_rows_and_self(ctx, p32, 0);
    test_rows_and_self(ctx, p16, 1);
    test_incremental(ctx);
    test_empty_and_refusals(ctx);
    test_corrupt(ctx, p32, pann);
    test_ann_and_format(ctx, p32, pann);
    test_threads(ctx, pann);
    slava_dataset_free(&g_ds);
    slava_ctx_free(ctx);
    return test_done("test_search_index");
}
