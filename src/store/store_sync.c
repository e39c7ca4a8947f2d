/*
 * store_sync.c — what `slava encode` needs to bring a stored clip up to date with the collection
 * (issue 10): the recorded source file (path, size, mtime, sha256), comparing the stored captions
 * with the collection's, moving a clip to another split, and deleting what a change made stale
 * (the media features of a replaced video, captions that are gone). See store.h.
 */
#include "store/store.h"
#include <stdio.h>

/* Prepare sql with ?1 = name; NULL on failure (message set). */
static sqlite3_stmt *prep(slava_ctx *ctx, slava_store *s, const char *sql, const char *name) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        sv_store_sqlerr(ctx, s, "query");
        return NULL;
    }
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    return q;
}

/* Run a write statement (bound by the caller) inside a transaction; one changed clip row is
 * required when need_row (else the clip is not stored). */
static slava_status write1(slava_ctx *ctx, slava_store *s, sqlite3_stmt *q, const char *name, int need_row,
                           const char *what) {
    if (!q) return SLAVA_E_STORE;
    int mine;
    slava_status st = sv_store_tx_begin(ctx, s, &mine);
    if (!st) {
        int rc = sqlite3_step(q);
        if (rc != SQLITE_DONE) st = sv_store_sqlerr(ctx, s, what);
        else if (need_row && sqlite3_changes(s->db) == 0)
            st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: clip '%s' is not stored", s->path, name);
        slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
        if (!st) st = st2;
    }
    sqlite3_finalize(q);
    return st;
}

slava_status sv_store_get_source(slava_ctx *ctx, slava_store *s, const char *name, sv_stored_source *out, int *found) {
    *found = 0;
    const char *sql = s->version >= 2 ?
        "SELECT split, error IS NOT NULL, source, source_size, source_mtime, source_sha256 FROM clips WHERE name = ?1" :
        "SELECT split, error IS NOT NULL, source, NULL, NULL, NULL FROM clips WHERE name = ?1";
    sqlite3_stmt *q = prep(ctx, s, sql, name);
    if (!q) return SLAVA_E_STORE;
    int rc = sqlite3_step(q);
    slava_status st = SLAVA_OK;
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->split = slava_store_split_parse((const char *)sqlite3_column_text(q, 0));
        out->failed = sqlite3_column_int(q, 1);
        out->source = sqlite3_column_type(q, 2) == SQLITE_NULL ? NULL : sv_strdup((const char *)sqlite3_column_text(q, 2));
        sv_file_stamp_clear(&out->stamp);
        if (sqlite3_column_type(q, 3) != SQLITE_NULL) out->stamp.size = sqlite3_column_int64(q, 3);
        if (sqlite3_column_type(q, 4) != SQLITE_NULL) out->stamp.mtime_ns = sqlite3_column_int64(q, 4);
        const char *h = (const char *)sqlite3_column_text(q, 5);
        if (h && strlen(h) == 64) memcpy(out->stamp.sha256, h, 65);
        *found = 1;
    } else if (rc != SQLITE_DONE) {
        st = sv_store_sqlerr(ctx, s, "reading clips");
    }
    sqlite3_finalize(q);
    return st;
}

slava_status sv_store_set_source(slava_ctx *ctx, slava_store *s, const char *name, const char *source,
                                 const sv_file_stamp *st) {
    sqlite3_stmt *q = prep(ctx, s,
                           "UPDATE clips SET source = coalesce(?2, source), source_size = ?3, source_mtime = ?4,"
                           " source_sha256 = ?5 WHERE name = ?1", name);
    if (q) {
        if (source) sqlite3_bind_text(q, 2, source, -1, SQLITE_TRANSIENT);
        if (st->size >= 0) sqlite3_bind_int64(q, 3, st->size);
        if (st->mtime_ns >= 0) sqlite3_bind_int64(q, 4, st->mtime_ns);
        if (st->sha256[0]) sqlite3_bind_text(q, 5, st->sha256, -1, SQLITE_TRANSIENT);
    }
    return write1(ctx, s, q, name, 1, "recording the source file");
}

slava_status sv_store_captions_same(slava_ctx *ctx, slava_store *s, const char *name, const int *n,
                                    char *const *const *texts, int *same) {
    *same = 0;
    sqlite3_stmt *q = prep(ctx, s,
                           "SELECT cap.kind, cap.idx, cap.text FROM captions cap JOIN clips c ON c.id = cap.clip"
                           " WHERE c.name = ?1", name);
    if (!q) return SLAVA_E_STORE;
    int count[SLAVA_CAP_KINDS] = {0}, differ = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int k = slava_store_kind_parse((const char *)sqlite3_column_text(q, 0)), idx = sqlite3_column_int(q, 1);
        const char *t = (const char *)sqlite3_column_text(q, 2);
        if (k < 0) { differ = 1; continue; }
        count[k]++;
        if (idx < 0 || idx >= n[k]) differ = 1;
        else if (t && strcmp(t, texts[k][idx])) differ = 1;
    }
    slava_status st = rc == SQLITE_DONE ? SLAVA_OK : sv_store_sqlerr(ctx, s, "reading captions");
    sqlite3_finalize(q);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) differ |= count[k] != n[k];
    *same = !differ;
    return st;
}

slava_status sv_store_move_clip(slava_ctx *ctx, slava_store *s, const char *name, int split) {
    if (split < 0 || split >= SLAVA_SPLITS) return sv_err(ctx, SLAVA_E_ARG, "%s: clip '%s': split %d", s->path, name, split);
    sqlite3_stmt *q = prep(ctx, s, "UPDATE clips SET split = ?2 WHERE name = ?1", name);
    if (q) sqlite3_bind_text(q, 2, slava_split_name(split), -1, SQLITE_STATIC);
    return write1(ctx, s, q, name, 1, "moving a clip");
}

slava_status sv_store_drop_clip_features(slava_ctx *ctx, slava_store *s, const char *name) {
    sqlite3_stmt *q = prep(ctx, s, "DELETE FROM features WHERE clip = (SELECT id FROM clips WHERE name = ?1)", name);
    return write1(ctx, s, q, name, 0, "deleting stale features");
}

slava_status sv_store_trim_captions(slava_ctx *ctx, slava_store *s, const char *name, const int *n) {
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        /* features of the deleted captions go with them (ON DELETE CASCADE) */
        sqlite3_stmt *q = prep(ctx, s,
                               "DELETE FROM captions WHERE clip = (SELECT id FROM clips WHERE name = ?1) AND kind = ?2"
                               " AND idx >= ?3", name);
        if (q) {
            sqlite3_bind_text(q, 2, slava_store_kind_name(k), -1, SQLITE_STATIC);
            sqlite3_bind_int(q, 3, n[k]);
        }
        SV_TRY(write1(ctx, s, q, name, 0, "deleting captions"));
    }
    return SLAVA_OK;
}
