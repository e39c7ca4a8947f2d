/* test_store.c — the feature store's library API: round trip put → load (bitwise), reruns skip
 * stored rows, split selection and missing splits, encoder choice, the per-clip transaction API
 * of the encode pipeline (rollback, clip states, failures, text-feature reuse), and refusal of
 * files that are not slava stores (left untouched). */
#include "store_testutil.h"

static slava_store *open_fresh(slava_ctx *ctx, const char *path) {
    tu_remove_store(path);
    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, path, 1, &s));
    return s;
}

static void test_round_trip_and_rerun(slava_ctx *ctx) {
    const char *path = tu_tmp("store_rt.db");
    slava_store *s = open_fresh(ctx, path);
    if (!s) return;
    slava_dataset ds, got;
    tu_make_dataset(&ds, 40, 12, 10, 8, 7, "enc");
    CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &ds));
    CHECK_OK(ctx, slava_store_load(ctx, s, 0, NULL, &got));
    CHECK(tu_compare(&ds, &got) == 0);
    CHECK(got.clips[3].t_a == 0 && got.clips[3].audio == NULL);   /* a clip without audio */
    slava_dataset_free(&got);

    /* rerun: nothing added, nothing duplicated */
    char before[128], after[128];
    tu_counts(path, before, sizeof before);
    CHECK(strcmp(before, "40/") > 0);
    CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &ds));
    tu_counts(path, after, sizeof after);
    CHECKF(!strcmp(before, after), "rows %s before, %s after the rerun", before, after);
    /* the exact expected row counts */
    long long ncap = 0, nfeat = 0;
    for (int i = 0; i < ds.n; i++) {
        nfeat += 1 + (ds.clips[i].t_a > 0);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) ncap += ds.clips[i].n_cap[k];
    }
    nfeat += ncap;
    CHECK(tu_count(path, "clips") == 40 && tu_count(path, "captions") == ncap && tu_count(path, "features") == nfeat);
    CHECK(tu_count(path, "encoders") == 3);

    /* one split: only val clips, in order */
    CHECK_OK(ctx, slava_store_load(ctx, s, 1u << SLAVA_SPLIT_VAL, NULL, &got));
    CHECK(got.n == 10);
    for (int i = 0; i < got.n; i++) CHECK(got.clips[i].split == SLAVA_SPLIT_VAL && !strcmp(got.clips[i].id, ds.clips[20 + i].id));
    CHECK(got.n && !memcmp(got.clips[0].visual, ds.clips[20].visual, (size_t)ds.clips[20].t_v * ds.d_v * 4));
    slava_dataset_free(&got);

    /* summary */
    slava_store_info in;
    CHECK_OK(ctx, slava_store_get_info(ctx, s, &in));
    CHECK(in.clips[0] == 20 && in.clips[1] == 10 && in.clips[2] == 10);
    CHECK(in.no_audio[0] == 5 && in.failed[0] == 0 && in.n_failures == 0);
    CHECK(in.n_encoders == 3 && in.encoders[0].modality == SLAVA_MOD_VISUAL && in.encoders[0].d == 12);
    CHECK(in.encoders[0].items[0] == 20 && in.encoders[1].items[0] == 15);
    int64_t caps = 0;
    for (int k = 0; k < SLAVA_SPLITS; k++)
        for (int j = 0; j < SLAVA_CAP_KINDS; j++) caps += in.captions[k][j];
    CHECK(caps == ncap && in.encoders[2].items[0] + in.encoders[2].items[1] + in.encoders[2].items[2] == ncap);
    slava_store_info_free(&in);

    slava_dataset_free(&ds);
    slava_store_close(s);

    /* reopen (create = 0): still all there */
    CHECK_OK(ctx, slava_store_open(ctx, path, 0, &s));
    if (s) {
        CHECK_OK(ctx, slava_store_load(ctx, s, (1u << SLAVA_SPLIT_TRAIN) | (1u << SLAVA_SPLIT_TEST), NULL, &got));
        CHECK(got.n == 30 && got.clips[20].split == SLAVA_SPLIT_TEST);
        slava_dataset_free(&got);
        slava_store_close(s);
    }
}

static void test_missing_split_and_empty(slava_ctx *ctx) {
    const char *path = tu_tmp("store_split.db");
    slava_store *s = open_fresh(ctx, path);
    if (!s) return;
    slava_dataset ds, got;
    CHECK(slava_store_load(ctx, s, 0, NULL, &got) == SLAVA_E_NOTFOUND);
    CHECK(strstr(slava_ctx_error(ctx), "empty") && strstr(slava_ctx_error(ctx), path));
    tu_make_dataset(&ds, 8, 4, 4, 4, 3, "e");
    for (int i = 0; i < ds.n; i++) ds.clips[i].split = i < 4 ? SLAVA_SPLIT_TRAIN : SLAVA_SPLIT_TEST;
    CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &ds));
    CHECK(slava_store_load(ctx, s, 1u << SLAVA_SPLIT_VAL, NULL, &got) == SLAVA_E_NOTFOUND);
    CHECKF(strstr(slava_ctx_error(ctx), "no clips in split val"), "%s", slava_ctx_error(ctx));
    CHECK(got.n == 0 && got.clips == NULL);
    CHECK(slava_store_load(ctx, s, (1u << SLAVA_SPLIT_VAL) | 1u, NULL, &got) == SLAVA_E_NOTFOUND);
    CHECK(slava_store_load(ctx, s, 1u << 5, NULL, &got) == SLAVA_E_ARG);
    /* a split whose only clips failed */
    CHECK_OK(ctx, slava_store_put_clip(ctx, s, "bad1", SLAVA_SPLIT_VAL, "/x/bad1.mp4", -1, 0, "bad1.mp4: moov atom not found"));
    CHECK(slava_store_load(ctx, s, 1u << SLAVA_SPLIT_VAL, NULL, &got) == SLAVA_E_NOTFOUND);
    CHECKF(strstr(slava_ctx_error(ctx), "all 1 failed"), "%s", slava_ctx_error(ctx));
    slava_dataset_free(&ds);
    slava_store_close(s);
}

static void test_encoder_choice(slava_ctx *ctx) {
    const char *path = tu_tmp("store_enc.db");
    slava_store *s = open_fresh(ctx, path);
    if (!s) return;
    slava_dataset ds, got;
    tu_make_dataset(&ds, 6, 4, 4, 4, 5, "A");
    CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &ds));
    /* visual features of a second encoder for one clip */
    float x[2 * 6] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    int added = -1;
    CHECK_OK(ctx, slava_store_put_clip_feature(ctx, s, "c0001", SLAVA_MOD_VISUAL, "B-visual", x, 2, 6, &added));
    CHECK(added == 1);
    CHECK(slava_store_load(ctx, s, 0, NULL, &got) == SLAVA_E_ARG);
    CHECKF(strstr(slava_ctx_error(ctx), "'A-visual'") && strstr(slava_ctx_error(ctx), "'B-visual'"), "%s", slava_ctx_error(ctx));
    const char *encA[3] = {"A-visual", NULL, NULL};
    CHECK_OK(ctx, slava_store_load(ctx, s, 0, encA, &got));
    CHECK(tu_compare(&ds, &got) == 0);
    slava_dataset_free(&got);
    const char *encB[3] = {"B-visual", NULL, NULL};
    CHECK(slava_store_load(ctx, s, 0, encB, &got) == SLAVA_E_NOTFOUND);   /* only one clip has B features */
    CHECKF(strstr(slava_ctx_error(ctx), "clip 'c0000' has no visual features of encoder 'B-visual'"), "%s", slava_ctx_error(ctx));
    const char *encC[3] = {"A-visual", NULL, "nope"};
    CHECK(slava_store_load(ctx, s, 0, encC, &got) == SLAVA_E_NOTFOUND);
    CHECKF(strstr(slava_ctx_error(ctx), "no text features of encoder 'nope' (stored: 'A-text')"), "%s", slava_ctx_error(ctx));
    /* a different D for a stored encoder is refused */
    CHECK(slava_store_put_clip_feature(ctx, s, "c0002", SLAVA_MOD_VISUAL, "B-visual", x, 2, 5, NULL) == SLAVA_E_SHAPE);
    /* rerun of the same clip feature: skipped */
    CHECK_OK(ctx, slava_store_put_clip_feature(ctx, s, "c0001", SLAVA_MOD_VISUAL, "B-visual", x, 2, 6, &added));
    CHECK(added == 0);
    slava_dataset_free(&ds);
    slava_store_close(s);
}

static void put_whole_clip(slava_ctx *ctx, slava_store *s, const char *clip, int with_audio, int ntext) {
    float v[3 * 4], a[2 * 4], t[4];
    for (int i = 0; i < 12; i++) v[i] = (float)i + 0.5f;
    for (int i = 0; i < 8; i++) a[i] = -(float)i;
    CHECK_OK(ctx, slava_store_put_clip(ctx, s, clip, SLAVA_SPLIT_TRAIN, "/data/x.mp4", 12.5, with_audio, NULL));
    CHECK_OK(ctx, slava_store_put_clip_feature(ctx, s, clip, SLAVA_MOD_VISUAL, "V", v, 3, 4, NULL));
    if (with_audio) CHECK_OK(ctx, slava_store_put_clip_feature(ctx, s, clip, SLAVA_MOD_AUDIO, "A", a, 2, 4, NULL));
    for (int j = 0; j < 2; j++) {
        char text[64];
        snprintf(text, sizeof text, "%s says %d", clip, j);
        CHECK_OK(ctx, slava_store_put_caption(ctx, s, clip, SLAVA_CAP_VISUAL, j, text));
        for (int i = 0; i < 4; i++) t[i] = (float)(j * 10 + i);
        if (j < ntext) CHECK_OK(ctx, slava_store_put_caption_feature(ctx, s, clip, SLAVA_CAP_VISUAL, j, "T", t, 4, NULL));
    }
}

static void test_clip_api(slava_ctx *ctx) {
    const char *path = tu_tmp("store_api.db");
    slava_store *s = open_fresh(ctx, path);
    if (!s) return;
    const char *enc[3] = {"V", "A", "T"};
    slava_clip_state state;
    char *reason = NULL;

    /* rollback: nothing of the clip remains */
    CHECK_OK(ctx, slava_store_begin(ctx, s));
    CHECK(slava_store_begin(ctx, s) == SLAVA_E_ARG);
    put_whole_clip(ctx, s, "k1", 1, 2);
    slava_store_rollback(s);
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k1", enc, &state, NULL));
    CHECK(state == SLAVA_CLIP_ABSENT);
    CHECK(tu_count(path, "captions") == 0 && tu_count(path, "features") == 0 && tu_count(path, "encoders") == 0);

    /* commit: complete */
    CHECK_OK(ctx, slava_store_begin(ctx, s));
    put_whole_clip(ctx, s, "k1", 1, 2);
    CHECK_OK(ctx, slava_store_commit(ctx, s));
    CHECK(slava_store_commit(ctx, s) == SLAVA_E_ARG);
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k1", enc, &state, &reason));
    CHECK(state == SLAVA_CLIP_COMPLETE && reason == NULL);
    const char *enc_other[3] = {"V2", NULL, NULL};
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k1", enc_other, &state, NULL));
    CHECK(state == SLAVA_CLIP_INCOMPLETE);

    /* no audio track: complete without audio features; audio features refused */
    put_whole_clip(ctx, s, "k2", 0, 2);
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k2", enc, &state, NULL));
    CHECK(state == SLAVA_CLIP_COMPLETE);
    float a[4] = {0};
    CHECK(slava_store_put_clip_feature(ctx, s, "k2", SLAVA_MOD_AUDIO, "A", a, 1, 4, NULL) == SLAVA_E_ARG);

    /* a caption without its text feature: incomplete */
    put_whole_clip(ctx, s, "k3", 1, 1);
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k3", enc, &state, NULL));
    CHECK(state == SLAVA_CLIP_INCOMPLETE);
    slava_dataset got;
    CHECK(slava_store_load(ctx, s, 0, NULL, &got) == SLAVA_E_NOTFOUND);
    CHECKF(strstr(slava_ctx_error(ctx), "clip 'k3' has no text features"), "%s", slava_ctx_error(ctx));

    /* failure recorded with a reason; left out of load; listed in the summary */
    CHECK_OK(ctx, slava_store_put_clip(ctx, s, "k3", SLAVA_SPLIT_TRAIN, NULL, -1, 1, "k3.mp4: no video stream"));
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k3", enc, &state, &reason));
    CHECK(state == SLAVA_CLIP_FAILED && reason && !strcmp(reason, "k3.mp4: no video stream"));
    free(reason);
    CHECK_OK(ctx, slava_store_load(ctx, s, 0, NULL, &got));
    CHECK(got.n == 2 && !strcmp(got.clips[0].id, "k1") && !strcmp(got.clips[1].id, "k2"));
    CHECK(got.n == 2 && got.clips[0].t_v == 3 && got.clips[0].t_a == 2 && got.clips[1].t_a == 0);
    CHECK(got.n == 2 && got.clips[0].n_cap[SLAVA_CAP_VISUAL] == 2 && got.clips[0].cap[SLAVA_CAP_VISUAL][4] == 10.0f);
    CHECK(got.n == 2 && !strcmp(got.clips[0].cap_text[SLAVA_CAP_VISUAL][1], "k1 says 1"));
    CHECK(got.d_v == 4 && got.encoder_id[0] && !strcmp(got.encoder_id[0], "V"));
    slava_dataset_free(&got);
    slava_store_info in;
    CHECK_OK(ctx, slava_store_get_info(ctx, s, &in));
    CHECK(in.n_failures == 1 && !strcmp(in.failures[0].clip, "k3") && in.failed[SLAVA_SPLIT_TRAIN] == 1);
    CHECK(in.clips[SLAVA_SPLIT_TRAIN] == 2 && in.no_audio[SLAVA_SPLIT_TRAIN] == 1);
    slava_store_info_free(&in);
    /* retried successfully: the error is cleared */
    CHECK_OK(ctx, slava_store_put_clip(ctx, s, "k3", SLAVA_SPLIT_TRAIN, "/data/k3.mp4", 3.0, 1, NULL));
    float t[4] = {10, 11, 12, 13};
    CHECK_OK(ctx, slava_store_put_caption_feature(ctx, s, "k3", SLAVA_CAP_VISUAL, 1, "T", t, 4, NULL));
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k3", enc, &state, NULL));
    CHECK(state == SLAVA_CLIP_COMPLETE);
    CHECK(slava_store_put_clip(ctx, s, "k3", SLAVA_SPLIT_TEST, NULL, -1, 1, NULL) == SLAVA_E_ARG);  /* one split per clip */

    /* text-feature reuse */
    float out[4];
    int found = -1;
    CHECK_OK(ctx, slava_store_find_text_feature(ctx, s, "k2 says 1", "T", out, 4, &found));
    CHECK(found == 1 && out[0] == 10.0f && out[3] == 13.0f);
    CHECK_OK(ctx, slava_store_find_text_feature(ctx, s, "k2 says 7", "T", out, 4, &found));
    CHECK(found == 0);
    CHECK_OK(ctx, slava_store_find_text_feature(ctx, s, "k2 says 1", "T2", out, 4, &found));
    CHECK(found == 0);
    CHECK(slava_store_find_text_feature(ctx, s, "k2 says 1", "T", out, 5, &found) == SLAVA_E_SHAPE);

    /* same text again: unchanged; a new text drops the stale feature */
    CHECK_OK(ctx, slava_store_put_caption(ctx, s, "k2", SLAVA_CAP_VISUAL, 1, "k2 says 1"));
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k2", enc, &state, NULL));
    CHECK(state == SLAVA_CLIP_COMPLETE);
    CHECK_OK(ctx, slava_store_put_caption(ctx, s, "k2", SLAVA_CAP_VISUAL, 1, "a new text"));
    CHECK_OK(ctx, slava_store_clip_state(ctx, s, "k2", enc, &state, NULL));
    CHECK(state == SLAVA_CLIP_INCOMPLETE);

    /* bad arguments */
    CHECK(slava_store_put_caption(ctx, s, "nope", SLAVA_CAP_AUDIO, 0, "x") == SLAVA_E_NOTFOUND);
    CHECK(slava_store_put_caption(ctx, s, "k1", 7, 0, "x") == SLAVA_E_ARG);
    CHECK(slava_store_put_caption_feature(ctx, s, "k1", SLAVA_CAP_GPT, 0, "T", t, 4, NULL) == SLAVA_E_NOTFOUND);
    CHECK(slava_store_put_clip(ctx, s, "", SLAVA_SPLIT_TRAIN, NULL, -1, 1, NULL) == SLAVA_E_ARG);
    CHECK(slava_store_put_clip_feature(ctx, s, "k1", SLAVA_MOD_TEXT, "T", t, 1, 4, NULL) == SLAVA_E_ARG);
    slava_store_close(s);
}

/* put_dataset commits whole clips in groups: a failure part-way keeps the committed groups and
 * nothing of the failed one. */
static void test_put_dataset_failure(slava_ctx *ctx) {
    const char *path = tu_tmp("store_batch.db");
    slava_store *s = open_fresh(ctx, path);
    if (!s) return;
    CHECK_OK(ctx, slava_store_put_clip(ctx, s, "c0300", SLAVA_SPLIT_VAL, NULL, -1, 1, NULL));  /* conflicts below */
    slava_dataset ds;
    tu_make_dataset(&ds, 400, 4, 4, 4, 9, "b");
    for (int i = 0; i < ds.n; i++) ds.clips[i].split = SLAVA_SPLIT_TRAIN;
    CHECK(slava_store_put_dataset(ctx, s, &ds) == SLAVA_E_FORMAT);
    CHECKF(strstr(slava_ctx_error(ctx), "clip 'c0300' is stored in split val, not train"), "%s", slava_ctx_error(ctx));
    long long caps = 0;
    for (int i = 0; i < 256; i++)
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) caps += ds.clips[i].n_cap[k];
    CHECK(tu_count(path, "clips") == 257 && tu_count(path, "captions") == caps);
    slava_dataset got;
    CHECK_OK(ctx, slava_store_load(ctx, s, 1u << SLAVA_SPLIT_TRAIN, NULL, &got));
    CHECK(got.n == 256 && !strcmp(got.clips[255].id, "c0255"));
    slava_dataset_free(&got);
    slava_dataset_free(&ds);
    slava_store_close(s);
}

static int read_all(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int n = (int)fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void test_refuses_foreign_files(slava_ctx *ctx) {
    slava_store *s = NULL;
    const char *missing = tu_tmp("store_missing.db");
    tu_remove_store(missing);
    CHECK(slava_store_open(ctx, missing, 0, &s) == SLAVA_E_IO && s == NULL);
    CHECK(strstr(slava_ctx_error(ctx), "no such file"));
    CHECK(access(missing, F_OK) != 0);   /* not created */

    const char *junk = tu_tmp("store_junk.db");
    FILE *f = fopen(junk, "wb");
    const char text[] = "this is a caption file, not a database\n";
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    for (int create = 0; create < 2; create++) {
        CHECK(slava_store_open(ctx, junk, create, &s) == SLAVA_E_FORMAT && s == NULL);
        CHECK(strstr(slava_ctx_error(ctx), junk) && strstr(slava_ctx_error(ctx), "not a SQLite database"));
        char buf[256];
        CHECK(read_all(junk, buf, sizeof buf) == (int)sizeof text - 1 && !memcmp(buf, text, sizeof text - 1));
    }

    /* a SQLite database of something else */
    const char *other = tu_tmp("store_other.db");
    tu_remove_store(other);
    sqlite3 *db;
    sqlite3_open(other, &db);
    sqlite3_exec(db, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES('keep me');", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(slava_store_open(ctx, other, 1, &s) == SLAVA_E_FORMAT);
    CHECK(strstr(slava_ctx_error(ctx), "not a slava feature store"));
    CHECK(tu_count(other, "notes") == 1 && tu_count(other, "clips") == -1);

    /* a store from a newer slava */
    const char *newer = tu_tmp("store_newer.db");
    s = open_fresh(ctx, newer);
    slava_store_close(s);
    sqlite3_open(newer, &db);
    sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(slava_store_open(ctx, newer, 0, &s) == SLAVA_E_UNSUPPORTED);
    CHECK(strstr(slava_ctx_error(ctx), "99"));

    /* an empty file is only turned into a store when asked to create */
    const char *empty = tu_tmp("store_empty.db");
    tu_remove_store(empty);
    fclose(fopen(empty, "wb"));
    CHECK(slava_store_open(ctx, empty, 0, &s) == SLAVA_E_FORMAT);
    CHECK_OK(ctx, slava_store_open(ctx, empty, 1, &s));
    slava_store_close(s);

    /* WAL mode and foreign keys are on */
    sqlite3_open(empty, &db);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(q, 0), "wal"));
    sqlite3_finalize(q);
    sqlite3_close(db);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    test_round_trip_and_rerun(ctx);
    test_missing_split_and_empty(ctx);
    test_encoder_choice(ctx);
    test_clip_api(ctx);
    test_put_dataset_failure(ctx);
    test_refuses_foreign_files(ctx);
    slava_ctx_free(ctx);
    return test_done("store");
}
