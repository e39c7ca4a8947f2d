/*
 * test_encode_changes.c — `slava encode` notices changed inputs (issue 10, defect 6): on tiny
 * synthetic media with the random-weight fixture encoders, a rerun after
 *   - nothing changed / a video only touched (same bytes)  → nothing encoded, the stamp updated;
 *   - a caption's text edited, a caption removed             → new text features, the caption gone;
 *   - a video replaced by another                            → encoded again, old features gone;
 *   - a clip moved to another split                          → an error naming the clip and both
 *     splits, the store untouched; --allow-split-change moves it;
 *   - a byte changed with size and mtime kept                → found only with --verify-content;
 * and the summary counts the clips updated. After the edits the store holds what a fresh encode
 * of the edited collection gives (same clips, splits, caption texts, features within float
 * rounding). A version-1 store (no file stamps) is upgraded without encoding anything again.
 */
#include "cli_testutil.h"
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/time.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"

static char g_dir[600], g_store[700], g_cmd[1600];

/* Run encode (extra options appended); returns the exit code, *err its stderr (to free). */
static int encode(const char *store, const char *extra, char **err) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s --store '%s' %s", g_cmd, store, extra);
    return run_cmd(cmd, NULL, err);
}

/* Stderr of a run holds "<n> encoded" and, when upd >= 0, "<upd> updated" (none when 0). */
static void expect_summary(const char *what, const char *err, int encoded, int updated, int moved) {
    char want[64];
    snprintf(want, sizeof want, ": %d encoded", encoded);
    CHECKF(err && strstr(err, want), "%s: expected '%s' in: %s", what, want, err ? err : "");
    if (updated || moved) {
        snprintf(want, sizeof want, "%d updated", updated);
        CHECKF(err && strstr(err, want), "%s: expected '%s' in: %s", what, want, err ? err : "");
        snprintf(want, sizeof want, "%d moved", moved);
        CHECKF(err && strstr(err, want), "%s: expected '%s' in: %s", what, want, err ? err : "");
    } else {
        CHECKF(err && !strstr(err, "updated"), "%s: nothing should be updated: %s", what, err ? err : "");
    }
}

/* Edit a captions file with cJSON: fn(root). */
static void edit_captions(const char *split, void (*fn)(cJSON *, const char *), const char *id) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s_captions.json", g_dir, split);
    char *txt = slurp_file(path, NULL);
    cJSON *root = txt ? cJSON_Parse(txt) : NULL;
    CHECK(root != NULL);
    fn(root, id);
    char *out = cJSON_Print(root);
    FILE *f = fopen(path, "wb");
    CHECK(f && out && fputs(out, f) >= 0);
    if (f) fclose(f);
    free(out);
    cJSON_Delete(root);
    free(txt);
}
static void set_first_visual(cJSON *root, const char *id) {
    cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(root, id), "visual_captions");
    CHECK(cJSON_GetArraySize(list) > 0);
    cJSON_ReplaceItemInArray(list, 0, cJSON_CreateString("an edited caption nobody wrote before"));
}
static void drop_last_audio(cJSON *root, const char *id) {
    cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(root, id), "audio_captions");
    CHECK(cJSON_GetArraySize(list) > 1);
    cJSON_DeleteItemFromArray(list, cJSON_GetArraySize(list) - 1);
}
static cJSON *g_moved;
static void take_clip(cJSON *root, const char *id) { g_moved = cJSON_DetachItemFromObject(root, id); CHECK(g_moved != NULL); }
static void put_clip(cJSON *root, const char *id) { cJSON_AddItemToObject(root, id, g_moved); }

/* One value of the store by SQL (text, malloc'd) — read with a plain read-only connection. */
static char *sql1(const char *store, const char *sql) {
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char *r = NULL;
    if (sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        r = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return r;
}

/* The two stores hold the same clips, splits, captions and (within rounding) features. */
static void same_content(const char *a, const char *b) {
    slava_ctx *ctx = slava_ctx_new();
    slava_store *sa = NULL, *sb = NULL;
    slava_dataset da = {0}, db = {0};
    CHECK_OK(ctx, slava_store_open(ctx, a, SLAVA_STORE_READ, &sa));
    CHECK_OK(ctx, slava_store_open(ctx, b, SLAVA_STORE_READ, &sb));
    if (sa) CHECK_OK(ctx, slava_store_load(ctx, sa, 0, NULL, &da));
    if (sb) CHECK_OK(ctx, slava_store_load(ctx, sb, 0, NULL, &db));
    CHECK(da.n == db.n && da.n > 0 && da.d_v == db.d_v && da.d_a == db.d_a && da.d_t == db.d_t);
    int diff = 0;
    for (int i = 0; i < da.n && i < db.n; i++) {
        const slava_clip *x = &da.clips[i], *y = &db.clips[i];
        if (strcmp(x->id, y->id) || x->split != y->split || x->t_v != y->t_v || x->t_a != y->t_a) { diff++; continue; }
        diff += !allclose(x->visual, y->visual, (size_t)x->t_v * da.d_v, 1e-5, 1e-4);
        if (x->t_a) diff += !allclose(x->audio, y->audio, (size_t)x->t_a * da.d_a, 1e-5, 1e-4);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            if (x->n_cap[k] != y->n_cap[k]) { diff++; continue; }
            if (x->n_cap[k]) diff += !allclose(x->cap[k], y->cap[k], (size_t)x->n_cap[k] * da.d_t, 1e-5, 1e-4);
            for (int j = 0; j < x->n_cap[k]; j++) diff += strcmp(x->cap_text[k][j], y->cap_text[k][j]) != 0;
        }
        if (diff) { fprintf(stderr, "first difference at clip %s\n", x->id); break; }
    }
    CHECKF(diff == 0, "%s and %s differ", a, b);
    slava_dataset_free(&da); slava_dataset_free(&db);
    slava_store_close(sa); slava_store_close(sb);
    slava_ctx_free(ctx);
}

int main(void) {
    char cmd[4096], *err = NULL, *v = NULL;
    snprintf(g_dir, sizeof g_dir, "%s/ec_data", SLAVA_TMP);
    snprintf(g_store, sizeof g_store, "%s/ec.sqlite", SLAVA_TMP);
    snprintf(g_cmd, sizeof g_cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR
             " --threads 2 --group 2 --frame-batch 4", g_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && " SLAVA_BIN " synth --out '%s' --train 4 --val 2 --test 2 --seconds 2-4 "
             "--no-audio-share 0 --threads 2 --quiet", g_dir, g_dir);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    rm_store(g_store);
    /* clip ids by split (collection order) */
    slava_ctx *ctx = slava_ctx_new();
    slava_collection col = {0};
    CHECK_OK(ctx, slava_collection_open(ctx, g_dir, NULL, 0, &col));
    CHECK(col.n == 8);
    if (col.n != 8) return test_done("encode_changes");
    char capclip[64], vidclip[64], donor[64], movclip[64], flipclip[64];
    snprintf(capclip, sizeof capclip, "%s", col.clips[0].id);    /* train */
    snprintf(vidclip, sizeof vidclip, "%s", col.clips[5].id);    /* val */
    snprintf(donor, sizeof donor, "%s", col.clips[6].id);        /* test */
    snprintf(movclip, sizeof movclip, "%s", col.clips[3].id);    /* train -> test */
    snprintf(flipclip, sizeof flipclip, "%s", col.clips[7].id);  /* test */
    char vid_path[800], donor_path[800], flip_path[800];
    snprintf(vid_path, sizeof vid_path, "%s", col.clips[5].video);
    snprintf(donor_path, sizeof donor_path, "%s", col.clips[6].video);
    snprintf(flip_path, sizeof flip_path, "%s", col.clips[7].video);
    slava_collection_free(&col);

    CHECK(encode(g_store, "", &err) == 0);
    expect_summary("first encode", err, 8, 0, 0);
    free(err);
    CHECK((v = sql1(g_store, "SELECT version FROM schema_version")) && !strcmp(v, "2"));
    free(v);
    CHECK(encode(g_store, "", &err) == 0);
    expect_summary("unchanged", err, 0, 0, 0);
    free(err);

    /* ---- a touched video (same bytes): nothing encoded, the new mtime recorded */
    struct timeval tv[2] = {{1700000000, 0}, {1700000000, 0}};
    CHECK(utimes(vid_path, tv) == 0);
    CHECK(encode(g_store, "", &err) == 0);
    expect_summary("touched", err, 0, 0, 0);
    free(err);
    snprintf(cmd, sizeof cmd, "SELECT source_mtime FROM clips WHERE name = '%s'", vidclip);
    CHECK((v = sql1(g_store, cmd)) && !strcmp(v, "1700000000000000000"));
    free(v);

    /* ---- captions: an edited text and a removed caption (group of 2 clips encoded again) */
    snprintf(cmd, sizeof cmd, "SELECT f.data FROM features f JOIN captions c ON c.id = f.caption JOIN clips k ON "
             "k.id = c.clip WHERE k.name = '%s' AND c.kind = 'visual' AND c.idx = 0", capclip);
    char *old_feat = sql1(g_store, cmd);
    edit_captions("train", set_first_visual, capclip);
    edit_captions("train", drop_last_audio, capclip);
    CHECK(encode(g_store, "", &err) == 0);
    expect_summary("captions edited", err, 2, 1, 0);
    free(err);
    snprintf(cmd, sizeof cmd, "SELECT c.text FROM captions c JOIN clips k ON k.id = c.clip WHERE k.name = '%s' AND "
             "c.kind = 'visual' AND c.idx = 0", capclip);
    CHECK((v = sql1(g_store, cmd)) && !strcmp(v, "an edited caption nobody wrote before"));
    free(v);

    /* ---- a replaced video (the content of another clip) */
    long n = 0;
    char *bytes = slurp_file(donor_path, &n);
    FILE *f = fopen(vid_path, "wb");
    CHECK(bytes && f && fwrite(bytes, 1, n, f) == (size_t)n);
    if (f) fclose(f);
    free(bytes);
    CHECK(encode(g_store, "", &err) == 0);
    expect_summary("video replaced", err, 2, 1, 0);
    free(err);

    /* ---- the store now equals a fresh encode of the edited collection */
    char fresh[700];
    snprintf(fresh, sizeof fresh, "%s/ec_fresh.sqlite", SLAVA_TMP);
    rm_store(fresh);
    CHECK(encode(fresh, "--quiet", NULL) == 0);
    same_content(g_store, fresh);
    (void)old_feat;
    snprintf(cmd, sizeof cmd, "SELECT f.data FROM features f JOIN captions c ON c.id = f.caption JOIN clips k ON "
             "k.id = c.clip WHERE k.name = '%s' AND c.kind = 'visual' AND c.idx = 0", capclip);
    v = sql1(g_store, cmd);
    CHECK(old_feat && v && strcmp(old_feat, v));
    free(v);
    free(old_feat);

    /* ---- a clip moved from train to test: refused, nothing written; then allowed */
    edit_captions("train", take_clip, movclip);
    edit_captions("test", put_clip, movclip);
    long n0 = 0, n1 = 0;
    char *before = slurp_file(g_store, &n0);
    snprintf(cmd, sizeof cmd, "%s --store '%s' --quiet", g_cmd, g_store);
    expect_err(cmd, 1, movclip);
    expect_err(cmd, 1, "stored in the train split but the collection puts it in test");
    char *after = slurp_file(g_store, &n1);
    CHECKF(before && after && n0 == n1 && !memcmp(before, after, n0), "the refused run changed the store");
    free(before); free(after);
    CHECK(encode(g_store, "--allow-split-change", &err) == 0);
    expect_summary("moved", err, 0, 0, 1);
    free(err);
    snprintf(cmd, sizeof cmd, "SELECT split FROM clips WHERE name = '%s'", movclip);
    CHECK((v = sql1(g_store, cmd)) && !strcmp(v, "test"));
    free(v);

    /* ---- one byte changed, size and mtime kept: only --verify-content hashes it */
    snprintf(cmd, sizeof cmd, "SELECT source_sha256 FROM clips WHERE name = '%s'", flipclip);
    char *sha0 = sql1(g_store, cmd);
    bytes = slurp_file(flip_path, &n);
    struct stat sb;
    CHECK(stat(flip_path, &sb) == 0 && bytes && n > 100);
    bytes[n - 9] ^= 0x55;   /* in the trailing index / sample data */
    f = fopen(flip_path, "r+b");
    CHECK(f && fwrite(bytes, 1, n, f) == (size_t)n);
    if (f) fclose(f);
    free(bytes);
    struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
    CHECK(utimensat(AT_FDCWD, flip_path, ts, 0) == 0);
    CHECK(encode(g_store, "", &err) == 0);
    expect_summary("byte changed, no verify", err, 0, 0, 0);
    free(err);
    encode(g_store, "--verify-content", &err);
    CHECKF(err && !strstr(err, ": 0 encoded (") && !strstr(err, "0 encoded, "), "verify-content found nothing: %s", err ? err : "");
    free(err);
    char *sha1 = sql1(g_store, cmd);
    CHECK(sha0 && sha1 && strlen(sha1) == 64 && strcmp(sha0, sha1));
    free(sha0); free(sha1);

    /* ---- a version-1 store (no stamps): upgraded, stamps recorded, nothing encoded again */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(fresh, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "ALTER TABLE clips DROP COLUMN source_size; ALTER TABLE clips DROP COLUMN source_mtime;"
                           "ALTER TABLE clips DROP COLUMN source_sha256; UPDATE schema_version SET version = 1",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store info '%s'", fresh);   /* readers take it as it is */
    char *out = NULL;
    CHECK(run_cmd(cmd, &out, NULL) == 0 && out && strstr(out, "(schema 1)"));
    free(out);
    CHECK((v = sql1(fresh, "SELECT version FROM schema_version")) && !strcmp(v, "1"));
    free(v);
    encode(fresh, "--allow-split-change", &err);   /* (the collection moved a clip since) */
    CHECKF(err && strstr(err, ": 0 encoded") && strstr(err, "1 moved"), "v1 upgrade: %s", err ? err : "");
    free(err);
    CHECK((v = sql1(fresh, "SELECT version FROM schema_version")) && !strcmp(v, "2"));
    free(v);
    CHECK((v = sql1(fresh, "SELECT count(*) FROM clips WHERE source_sha256 IS NOT NULL")) && !strcmp(v, "8"));
    free(v);

    rm_store(g_store);
    rm_store(fresh);
    slava_ctx_free(ctx);
    return test_done("encode_changes");
}
