/*
 * store_merge.c — `slava store merge OUT SHARD...`: the shard stores of a sharded encode (each a
 * complete share, all of the same encode) copied into one store, clip by clip, rows already in
 * OUT kept, in one transaction (or one per shard). Caption text features take the value of the
 * shard that computed the text in the batch of its first clip in the collection (that shard
 * lists it in shard_first_text); the other shards computed such texts on their own, so without
 * this the merged bytes would differ from a one-process encode. Blobs are copied as stored.
 */
#include "store/store.h"
#include <stdio.h>

typedef struct {
    slava_store *s;
    slava_shard_info info;
    const char *path;
    int dup;                   /* the same file as an earlier argument: skipped */
    int64_t clips;             /* clip rows */
} shard_in;

/* Statements of the merge: on the shard being read (SH_*) and on OUT (OUT_*). */
enum { SH_CLIPS, SH_CAPS, SH_CLIP_FEAT, SH_CAP_FEAT, SH_N };
static const char *const SH_SQL[SH_N] = {
    [SH_CLIPS] = "SELECT id, name, split, source, duration, has_audio, error FROM clips ORDER BY id",
    [SH_CAPS] = "SELECT id, kind, idx, text FROM captions WHERE clip = ?1",
    [SH_CLIP_FEAT] = "SELECT e.modality, e.name, e.d, f.t, f.d, f.data FROM features f JOIN encoders e ON e.id = f.encoder"
                     " WHERE f.clip = ?1",
    [SH_CAP_FEAT] = "SELECT f.caption, e.modality, e.name, e.d, f.t, f.d, f.data FROM features f"
                    " JOIN encoders e ON e.id = f.encoder JOIN captions c ON c.id = f.caption WHERE c.clip = ?1",
};
enum { OUT_CANON_GET, OUT_CANON_PUT, OUT_TEXT_FEAT, OUT_N };
static const char *const OUT_SQL[OUT_N] = {
    [OUT_CANON_GET] = "SELECT data FROM temp.merge_first_text WHERE text = ?1",
    [OUT_CANON_PUT] = "INSERT OR IGNORE INTO temp.merge_first_text(text, data) VALUES(?1, ?2)",
    /* CROSS JOIN keeps SQLite from scanning every text feature of the encoder: the captions of the
     * text first (captions_text index), then their feature */
    [OUT_TEXT_FEAT] = ("SELECT f.data FROM captions c CROSS JOIN features f ON f.caption = c.id WHERE c.text = ?1"
                       " AND f.encoder = (SELECT id FROM encoders WHERE modality = 'text' AND name = ?2) LIMIT 1"),
};

typedef struct {
    slava_ctx *ctx;
    slava_store *out;
    sqlite3_stmt *o[OUT_N];
    const char *text_enc;      /* the shards' text encoder: its features follow the first-text rule */
    slava_store_counts cnt;
    int64_t done, total;
    int64_t *cap_map;          /* per clip: shard caption id, OUT caption id, pairs */
    const char **cap_text;     /* shard caption texts (owned by the statement until the next step) */
    int cap_n, cap_cap;
} merger;

static slava_status prepare(slava_ctx *ctx, slava_store *s, const char *sql, sqlite3_stmt **q) {
    if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK) return sv_store_sqlerr(ctx, s, "merge: prepare");
    return SLAVA_OK;
}

static slava_status step_row(slava_ctx *ctx, slava_store *s, sqlite3_stmt *q, int *row) {
    int rc = sqlite3_step(q);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return SLAVA_OK;
    return sv_store_sqlerr(ctx, s, "merge: reading");
}

/* ------------------------------------------------------------------ checks */

static slava_status open_shards(slava_ctx *ctx, slava_store *out, int n, const char *const *paths, shard_in *sh) {
    slava_shard_info oi;
    int is_shard;
    SV_TRY(slava_store_get_shard(ctx, out, &oi, &is_shard));
    if (is_shard)
        return sv_err(ctx, SLAVA_E_ARG, "%s: is itself shard %d/%d; merge into a store of its own", out->path, oi.index, oi.count);
    for (int i = 0; i < n; i++) {
        sh[i].path = paths[i];
        SV_TRY(slava_store_open(ctx, paths[i], SLAVA_STORE_READ, &sh[i].s));
        SV_TRY(slava_store_get_shard(ctx, sh[i].s, &sh[i].info, &is_shard));
        const slava_shard_info *a = &sh[i].info;
        if (!is_shard)
            return sv_err(ctx, SLAVA_E_ARG, "%s: not a shard store (written by slava encode --shard I/N); copy a plain store "
                          "with slava store export / import", paths[i]);
        if (!a->complete)
            return sv_err(ctx, SLAVA_E_ARG, "%s: shard %d/%d is incomplete (its encode stopped before the end; run the same "
                          "encode again to finish it)", paths[i], a->index, a->count);
        const slava_shard_info *b = &sh[0].info;
        const char *d = a->count != b->count ? "shard count" : a->group_clips != b->group_clips ? "group size"
                        : strcmp(a->collection, b->collection) ? "collection" : strcmp(a->options, b->options) ? "options"
                        : NULL;
        for (int m = 0; m < SLAVA_MODS && !d; m++)
            if (strcmp(a->encoder[m], b->encoder[m])) d = m == 0 ? "visual encoder" : m == 1 ? "audio encoder" : "text encoder";
        if (d)
            return sv_err(ctx, SLAVA_E_ARG, "%s: shard %d/%d is of another encode than %s (shard %d/%d): its %s differs",
                          paths[i], a->index, a->count, paths[0], b->index, b->count, d);
        if (a->threads != b->threads)
            sv_log(ctx, 1, "%s: encoded with %d threads, %s with %d: the bytes may differ from a one-process encode",
                   paths[i], a->threads, paths[0], b->threads);
        for (int j = 0; j < i; j++) {
            if (sh[j].dup || sh[j].info.index != a->index) continue;
            if (strcmp(sh[j].info.token, a->token))
                return sv_err(ctx, SLAVA_E_ARG, "%s and %s: two different files both hold shard %d/%d", paths[j], paths[i],
                              a->index, a->count);
            sh[i].dup = 1;
        }
    }
    return SLAVA_OK;
}

/* ------------------------------------------------------------------ first texts */

/* OUT's temp table of first-text features (text -> blob), filled from every shard. */
static slava_status collect_first_texts(merger *g, shard_in *sh, int n) {
    SV_TRY(sv_store_exec(g->ctx, g->out, "DELETE FROM temp.merge_first_text"));
    for (int i = 0; i < n; i++) {
        if (sh[i].dup) continue;
        sqlite3_stmt *q;
        SV_TRY(prepare(g->ctx, sh[i].s,
                       "SELECT t.text, (SELECT f.data FROM captions c CROSS JOIN features f ON f.caption = c.id"
                       " WHERE c.text = t.text AND f.encoder = (SELECT id FROM encoders WHERE modality = 'text' AND name = ?1)"
                       " LIMIT 1) FROM shard_first_text t", &q));
        sqlite3_bind_text(q, 1, g->text_enc, -1, SQLITE_STATIC);
        slava_status st = SLAVA_OK;
        int row;
        while (!(st = step_row(g->ctx, sh[i].s, q, &row)) && row) {
            if (sqlite3_column_type(q, 1) != SQLITE_BLOB) continue;   /* its clip failed later: no feature kept */
            sqlite3_stmt *p = g->o[OUT_CANON_PUT];
            sqlite3_reset(p);
            sqlite3_bind_text(p, 1, (const char *)sqlite3_column_text(q, 0), -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob(p, 2, sqlite3_column_blob(q, 1), sqlite3_column_bytes(q, 1), SQLITE_TRANSIENT);
            if (sqlite3_step(p) != SQLITE_DONE) { st = sv_store_sqlerr(g->ctx, g->out, "merge: first texts"); break; }
        }
        sqlite3_finalize(q);
        SV_TRY(st);
    }
    return SLAVA_OK;
}

/* ------------------------------------------------------------------ one shard */

static slava_status remember_caption(merger *g, int64_t shard_id, int64_t out_id) {
    if (g->cap_n == g->cap_cap) {
        int nc = g->cap_cap ? 2 * g->cap_cap : 64;
        int64_t *nm = realloc(g->cap_map, sizeof(int64_t) * 2 * (size_t)nc);
        if (!nm) return sv_err(g->ctx, SLAVA_E_NOMEM, "merge: out of memory");
        g->cap_map = nm;
        g->cap_cap = nc;
    }
    g->cap_map[2 * g->cap_n] = shard_id;
    g->cap_map[2 * g->cap_n + 1] = out_id;
    g->cap_n++;
    return SLAVA_OK;
}

static int64_t out_caption(const merger *g, int64_t shard_id) {
    for (int i = 0; i < g->cap_n; i++)
        if (g->cap_map[2 * i] == shard_id) return g->cap_map[2 * i + 1];
    return 0;
}

/* The blob a caption's text feature gets in OUT: the first shard's value of its text, else a
 * value OUT already holds for the text, else the shard's own. *blob stays valid until the
 * statements are stepped again. */
static slava_status text_value(merger *g, const char *text, const void **blob, int *bytes) {
    if (!text) return SLAVA_OK;
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *q = g->o[k == 0 ? OUT_CANON_GET : OUT_TEXT_FEAT];
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, text, -1, SQLITE_TRANSIENT);
        if (k == 1) sqlite3_bind_text(q, 2, g->text_enc, -1, SQLITE_STATIC);
        int row;
        SV_TRY(step_row(g->ctx, g->out, q, &row));
        if (row) {
            *blob = sqlite3_column_blob(q, 0);
            *bytes = sqlite3_column_bytes(q, 0);
            return SLAVA_OK;
        }
    }
    return SLAVA_OK;
}

/* Copy the feature rows `q` returns (columns from `col`: modality, name, encoder d, t, d, data)
 * owned by OUT row `owner` (0 = look the caption up from column 0). */
static slava_status copy_features(merger *g, shard_in *sh, sqlite3_stmt *q, int is_caption, int64_t owner, int out_has_audio,
                                  const char *clip) {
    const int col = is_caption ? 1 : 0;
    int row;
    slava_status st;
    while (!(st = step_row(g->ctx, sh->s, q, &row)) && row) {
        int m = slava_store_modality_parse((const char *)sqlite3_column_text(q, col));
        const char *name = (const char *)sqlite3_column_text(q, col + 1);
        int ed = sqlite3_column_int(q, col + 2), T = sqlite3_column_int(q, col + 3), D = sqlite3_column_int(q, col + 4);
        const void *blob = sqlite3_column_blob(q, col + 5);
        int bytes = sqlite3_column_bytes(q, col + 5);
        if (m < 0 || !name || D != ed || (int64_t)bytes != 4 * (int64_t)T * D)
            return sv_err(g->ctx, SLAVA_E_FORMAT, "%s: clip '%s': a feature row of shape [%d, %d] with %d bytes", sh->path, clip,
                          T, D, bytes);
        if (m == SLAVA_MOD_AUDIO && !out_has_audio) continue;
        int64_t to = owner;
        if (is_caption) {
            to = out_caption(g, sqlite3_column_int64(q, 0));
            if (!to) continue;
            if (m == SLAVA_MOD_TEXT && !strcmp(name, g->text_enc)) {
                const char *text = NULL;
                for (int i = 0; i < g->cap_n; i++)
                    if (g->cap_map[2 * i] == sqlite3_column_int64(q, 0)) text = g->cap_text[i];
                const void *v = NULL;
                int vb = 0;
                SV_TRY(text_value(g, text, &v, &vb));
                if (v && vb == bytes) blob = v;
            }
        }
        int64_t enc;
        int added;
        SV_TRY(sv_store_encoder(g->ctx, g->out, m, name, D, &enc));
        SV_TRY(sv_store_feature_blob(g->ctx, g->out, is_caption, to, enc, blob, T, D, &added));
        if (added) g->cnt.features++;
        else g->cnt.features_kept++;
    }
    return st;
}

static slava_status merge_clip(merger *g, shard_in *sh, sqlite3_stmt **q) {
    sqlite3_stmt *c = q[SH_CLIPS];
    int64_t sid = sqlite3_column_int64(c, 0);
    const char *name = (const char *)sqlite3_column_text(c, 1);
    int split = slava_store_split_parse((const char *)sqlite3_column_text(c, 2));
    const char *source = (const char *)sqlite3_column_text(c, 3);
    double duration = sqlite3_column_type(c, 4) == SQLITE_NULL ? -1 : sqlite3_column_double(c, 4);
    int has_audio = sqlite3_column_int(c, 5);
    const char *error = (const char *)sqlite3_column_text(c, 6);
    if (!name || split < 0) return sv_err(g->ctx, SLAVA_E_FORMAT, "%s: a clip row without a name or split", sh->path);
    int64_t oid;
    int osplit, ohas, ofailed;
    int f = sv_store_clip_find(g->ctx, g->out, name, &oid, &osplit, &ohas, &ofailed);
    if (f < 0) return SLAVA_E_STORE;
    if (f && osplit != split)
        return sv_err(g->ctx, SLAVA_E_FORMAT, "%s: clip '%s' is in split %s, %s holds it in split %s", sh->path, name,
                      slava_split_name(split), g->out->path, slava_split_name(osplit));
    if (!f || (ofailed && !error)) {
        SV_TRY(slava_store_put_clip(g->ctx, g->out, name, split, source, duration, has_audio, error));
        /* the source file's stamp, so that a later encode of OUT notices a changed video */
        sv_stored_source ss;
        int found = 0;
        SV_TRY(sv_store_get_source(g->ctx, sh->s, name, &ss, &found));
        slava_status st = found && ss.stamp.size >= 0 ? sv_store_set_source(g->ctx, g->out, name, NULL, &ss.stamp) : SLAVA_OK;
        if (found) free(ss.source);
        SV_TRY(st);
        if (sv_store_clip_find(g->ctx, g->out, name, &oid, &osplit, &ohas, &ofailed) != 1) return SLAVA_E_STORE;
        g->cnt.clips++;
    } else {
        g->cnt.clips_kept++;
        if (ofailed || error) return SLAVA_OK;   /* a failure OUT or the shard recorded: nothing to copy */
        if (ohas != has_audio)
            return sv_err(g->ctx, SLAVA_E_FORMAT, "%s: clip '%s' has %s audio track, %s says it has %s", sh->path, name,
                          has_audio ? "an" : "no", g->out->path, ohas ? "one" : "none");
    }
    if (error) return SLAVA_OK;
    /* captions */
    g->cap_n = 0;
    sqlite3_stmt *k = q[SH_CAPS];
    sqlite3_reset(k);
    sqlite3_bind_int64(k, 1, sid);
    int row;
    slava_status st;
    const char **texts = NULL;
    int ntext = 0, tcap = 0;
    while (!(st = step_row(g->ctx, sh->s, k, &row)) && row) {
        int kind = slava_store_kind_parse((const char *)sqlite3_column_text(k, 1));
        const char *text = (const char *)sqlite3_column_text(k, 3);
        int64_t ocap;
        int added;
        st = sv_store_caption_keep(g->ctx, g->out, oid, name, kind, sqlite3_column_int(k, 2), text, &ocap, &added);
        if (!st) st = remember_caption(g, sqlite3_column_int64(k, 0), ocap);
        if (!st && ntext == tcap) {
            tcap = tcap ? 2 * tcap : 64;
            const char **nt = realloc(texts, sizeof *texts * (size_t)tcap);
            if (!nt) st = sv_err(g->ctx, SLAVA_E_NOMEM, "merge: out of memory");
            else texts = nt;
        }
        if (!st) texts[ntext++] = text ? sv_strdup(text) : NULL;
        if (st) break;
        if (added) g->cnt.captions++;
        else g->cnt.captions_kept++;
    }
    g->cap_text = texts;
    /* features of the clip, then of its captions */
    if (!st) {
        sqlite3_reset(q[SH_CLIP_FEAT]);
        sqlite3_bind_int64(q[SH_CLIP_FEAT], 1, sid);
        st = copy_features(g, sh, q[SH_CLIP_FEAT], 0, oid, has_audio, name);
    }
    if (!st) {
        sqlite3_reset(q[SH_CAP_FEAT]);
        sqlite3_bind_int64(q[SH_CAP_FEAT], 1, sid);
        st = copy_features(g, sh, q[SH_CAP_FEAT], 1, 0, has_audio, name);
    }
    for (int i = 0; i < ntext; i++) free((char *)texts[i]);
    free(texts);
    g->cap_text = NULL;
    return st;
}

static slava_status merge_shard(merger *g, shard_in *sh) {
    sqlite3_stmt *q[SH_N] = {NULL};
    slava_status st = SLAVA_OK;
    for (int i = 0; i < SH_N && !st; i++) st = prepare(g->ctx, sh->s, SH_SQL[i], &q[i]);
    int row;
    while (!st && !(st = step_row(g->ctx, sh->s, q[SH_CLIPS], &row)) && row) {
        st = merge_clip(g, sh, q);
        if (!st && sv_progress(g->ctx, "merge", ++g->done, g->total, sh->path))
            st = sv_err(g->ctx, SLAVA_E_INTERRUPTED, "%s: merge interrupted (nothing of this transaction is kept)", g->out->path);
    }
    for (int i = 0; i < SH_N; i++) sqlite3_finalize(q[i]);
    return st;
}

/* OUT's own features of a first text that differ from the first shard's value (from an earlier
 * merge of a subset of the shards) are corrected. */
static slava_status fix_first_texts(merger *g) {
    sqlite3_stmt *q;
    SV_TRY(prepare(g->ctx, g->out,
                   "UPDATE features SET data = (SELECT m.data FROM temp.merge_first_text m JOIN captions c ON c.text = m.text"
                   " WHERE c.id = features.caption) WHERE encoder = (SELECT id FROM encoders WHERE modality = 'text' AND name = ?1)"
                   " AND caption IN (SELECT c.id FROM captions c JOIN temp.merge_first_text m ON m.text = c.text)"
                   " AND data IS NOT (SELECT m.data FROM temp.merge_first_text m JOIN captions c ON c.text = m.text"
                   " WHERE c.id = features.caption)", &q));
    sqlite3_bind_text(q, 1, g->text_enc, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return sv_store_sqlerr(g->ctx, g->out, "merge: correcting text features");
    int fixed = sqlite3_changes(g->out->db);
    if (fixed) sv_log(g->ctx, 0, "%s: %d text features set to the value of their text's first clip", g->out->path, fixed);
    return SLAVA_OK;
}

slava_status slava_store_merge(slava_ctx *ctx, slava_store *out, int n, const char *const *paths, unsigned flags,
                               slava_store_counts *counts) {
    if (counts) memset(counts, 0, sizeof *counts);
    if (n < 1) return sv_err(ctx, SLAVA_E_ARG, "%s: merge: no shard stores given", out->path);
    if (out->user_tx) return sv_err(ctx, SLAVA_E_ARG, "%s: merge inside an open transaction", out->path);
    shard_in *sh = calloc((size_t)n, sizeof *sh);
    if (!sh) return sv_err(ctx, SLAVA_E_NOMEM, "merge: out of memory");
    merger g = {.ctx = ctx, .out = out};
    slava_status st = open_shards(ctx, out, n, paths, sh);
    g.text_enc = st ? NULL : sh[0].info.encoder[SLAVA_MOD_TEXT];
    for (int i = 0; i < n && !st; i++) {
        if (sh[i].dup) continue;
        sqlite3_stmt *q = NULL;
        st = prepare(ctx, sh[i].s, "SELECT count(*) FROM clips", &q);
        int row;
        if (!st && !(st = step_row(ctx, sh[i].s, q, &row)) && row) sh[i].clips = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        g.total += sh[i].clips;
    }
    int64_t had_captions = 0;
    if (!st) {
        sqlite3_stmt *q = NULL;
        st = prepare(ctx, out, "SELECT count(*) FROM captions", &q);
        int row;
        if (!st && !(st = step_row(ctx, out, q, &row)) && row) had_captions = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    int each = (flags & SLAVA_MERGE_COMMIT_EACH) != 0, mine = 0;
    if (!st && !each) st = sv_store_tx_begin(ctx, out, &mine);
    if (!st) st = sv_store_exec(ctx, out, "CREATE TEMP TABLE IF NOT EXISTS merge_first_text(text TEXT PRIMARY KEY, data BLOB NOT NULL)");
    for (int i = 0; i < OUT_N && !st; i++) st = prepare(ctx, out, OUT_SQL[i], &g.o[i]);
    if (!st) st = collect_first_texts(&g, sh, n);
    for (int i = 0; i < n && !st; i++) {
        if (sh[i].dup) continue;
        if (each) st = sv_store_tx_begin(ctx, out, &mine);
        if (!st) st = merge_shard(&g, &sh[i]);
        if (each) {
            slava_status st2 = sv_store_tx_end(ctx, out, mine, st == SLAVA_OK);
            if (!st) st = st2;
            mine = 0;
        }
    }
    if (!st && had_captions) {
        int m2 = 0;
        if (each) st = sv_store_tx_begin(ctx, out, &m2);
        if (!st) st = fix_first_texts(&g);
        if (each) {
            slava_status st2 = sv_store_tx_end(ctx, out, m2, st == SLAVA_OK);
            if (!st) st = st2;
        }
    }
    for (int i = 0; i < OUT_N; i++) sqlite3_finalize(g.o[i]);
    if (mine) {
        slava_status st2 = sv_store_tx_end(ctx, out, mine, st == SLAVA_OK);
        if (!st) st = st2;
    }
    sqlite3_exec(out->db, "DROP TABLE IF EXISTS temp.merge_first_text", NULL, NULL, NULL);
    for (int i = 0; i < n; i++) slava_store_close(sh[i].s);
    free(sh);
    free(g.cap_map);
    if (!st && counts) *counts = g.cnt;
    return st;
}
