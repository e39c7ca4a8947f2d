/*
 * store.c — the SQLite feature store: opening / creating the schema, the per-clip write API the
 * encode pipeline uses, put_dataset, loading a slava_dataset, and the summary behind
 * `slava store info`. Export / import to safetensors live in store_io.c.
 *
 * Every write goes through a prepared statement; writes of one clip share one transaction (the
 * caller's, from slava_store_begin, or one started here). WAL + synchronous=NORMAL: a killed
 * process leaves the file with whole transactions only.
 */
#include "store/store.h"
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ names */

static const char *const KIND_NAMES[SLAVA_CAP_KINDS] = {"audio", "visual", "audio_visual", "gpt_av"};
static const char *const MOD_NAMES[3] = {"visual", "audio", "text"};

static int name_parse(const char *const *names, int n, const char *name) {
    for (int i = 0; name && i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}
/* Strict: exactly the names slava_split_name gives (what the store itself writes). */
int slava_store_split_parse(const char *name) {
    for (int k = 0; name && k < SLAVA_SPLITS; k++)
        if (!strcmp(name, slava_split_name(k))) return k;
    return -1;
}
const char *slava_store_kind_name(int kind) { return kind >= 0 && kind < SLAVA_CAP_KINDS ? KIND_NAMES[kind] : "?"; }
int slava_store_kind_parse(const char *name) { return name_parse(KIND_NAMES, SLAVA_CAP_KINDS, name); }
const char *slava_store_modality_name(int m) { return m >= 0 && m < 3 ? MOD_NAMES[m] : "?"; }
int slava_store_modality_parse(const char *name) { return name_parse(MOD_NAMES, 3, name); }

/* ------------------------------------------------------------------ schema + statements */

static const char SCHEMA_SQL[] =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES(2);"
    "CREATE TABLE clips("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  split TEXT NOT NULL CHECK(split IN ('train','val','test')),"
    "  source TEXT,"
    "  duration REAL,"
    "  has_audio INTEGER NOT NULL CHECK(has_audio IN (0,1)),"
    "  error TEXT,"
    "  source_size INTEGER, source_mtime INTEGER, source_sha256 TEXT);"
    "CREATE TABLE captions("
    "  id INTEGER PRIMARY KEY,"
    "  clip INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK(kind IN ('audio','visual','audio_visual','gpt_av')),"
    "  idx INTEGER NOT NULL CHECK(idx >= 0),"
    "  text TEXT,"
    "  UNIQUE(clip, kind, idx));"
    "CREATE INDEX captions_text ON captions(text);"
    "CREATE TABLE encoders("
    "  id INTEGER PRIMARY KEY,"
    "  modality TEXT NOT NULL CHECK(modality IN ('visual','audio','text')),"
    "  name TEXT NOT NULL,"
    "  d INTEGER NOT NULL CHECK(d > 0),"
    "  UNIQUE(modality, name));"
    "CREATE TABLE features("
    "  id INTEGER PRIMARY KEY,"
    "  clip INTEGER REFERENCES clips(id) ON DELETE CASCADE,"
    "  caption INTEGER REFERENCES captions(id) ON DELETE CASCADE,"
    "  encoder INTEGER NOT NULL REFERENCES encoders(id),"
    "  t INTEGER NOT NULL CHECK(t >= 1),"
    "  d INTEGER NOT NULL CHECK(d >= 1),"
    "  data BLOB NOT NULL CHECK(length(data) = 4 * t * d),"
    "  CHECK((clip IS NULL) <> (caption IS NULL)),"
    "  UNIQUE(encoder, clip),"
    "  UNIQUE(encoder, caption));"
    "CREATE INDEX features_by_clip ON features(clip);"
    "CREATE INDEX features_by_caption ON features(caption);"
    /* A caption whose known text changes loses its features: they were computed from the old text. */
    "CREATE TRIGGER caption_text_changed AFTER UPDATE OF text ON captions"
    "  WHEN old.text IS NOT NULL AND old.text IS NOT new.text"
    "  BEGIN DELETE FROM features WHERE caption = new.id; END;";

static const char *const STMT_SQL[SQ_COUNT] = {
    [SQ_CLIP_GET] = "SELECT id, split, has_audio, error FROM clips WHERE name = ?1",
    [SQ_CLIP_INSERT] = "INSERT INTO clips(name, split, source, duration, has_audio, error) VALUES(?1,?2,?3,?4,?5,?6)",
    [SQ_CLIP_UPDATE] = "UPDATE clips SET source = ?2, duration = ?3, has_audio = ?4, error = ?5 WHERE id = ?1",
    [SQ_CAP_GET] = "SELECT id, text FROM captions WHERE clip = ?1 AND kind = ?2 AND idx = ?3",
    [SQ_CAP_INSERT] = "INSERT INTO captions(clip, kind, idx, text) VALUES(?1,?2,?3,?4)",
    [SQ_CAP_UPDATE] = "UPDATE captions SET text = ?2 WHERE id = ?1",
    [SQ_ENC_GET] = "SELECT id, d FROM encoders WHERE modality = ?1 AND name = ?2",
    [SQ_ENC_INSERT] = "INSERT INTO encoders(modality, name, d) VALUES(?1,?2,?3)",
    [SQ_FEAT_CLIP_HAS] = "SELECT 1 FROM features WHERE encoder = ?1 AND clip = ?2",
    [SQ_FEAT_CAP_HAS] = "SELECT 1 FROM features WHERE encoder = ?1 AND caption = ?2",
    [SQ_FEAT_CLIP_INSERT] = "INSERT INTO features(clip, encoder, t, d, data) VALUES(?1,?2,?3,?4,?5)",
    [SQ_FEAT_CAP_INSERT] = "INSERT INTO features(caption, encoder, t, d, data) VALUES(?1,?2,?3,?4,?5)",
};

slava_status sv_store_sqlerr(slava_ctx *ctx, slava_store *s, const char *what) {
    int code = sqlite3_errcode(s->db);
    slava_status st = SLAVA_E_STORE;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) st = SLAVA_E_FORMAT;
    else if (code == SQLITE_NOMEM) st = SLAVA_E_NOMEM;
    else if (code == SQLITE_CANTOPEN || code == SQLITE_IOERR || code == SQLITE_READONLY || code == SQLITE_FULL)
        st = SLAVA_E_IO;
    if (code == SQLITE_FULL)   /* the transaction is rolled back: the store keeps what was committed before */
        return sv_err(ctx, st, "%s: disk full (%s: %s); the store keeps everything committed before: free space and "
                      "run the same command again", s->path, what, sqlite3_errmsg(s->db));
    if (code == SQLITE_NOMEM) return sv_err(ctx, st, "%s: out of memory (SQLite, %s)", s->path, what);
    return sv_err(ctx, st, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

sqlite3_stmt *sv_store_stmt(slava_ctx *ctx, slava_store *s, int id) {
    if (!s->stmt[id]) {
        if (sqlite3_prepare_v3(s->db, STMT_SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL) != SQLITE_OK) {
            sv_store_sqlerr(ctx, s, "prepare");
            return NULL;
        }
    } else {
        sqlite3_reset(s->stmt[id]);
        sqlite3_clear_bindings(s->stmt[id]);
    }
    return s->stmt[id];
}

slava_status sv_store_exec(slava_ctx *ctx, slava_store *s, const char *sql) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return sv_store_sqlerr(ctx, s, sql);
    return SLAVA_OK;
}

/* Step a statement that returns no rows; reset it afterwards. */
static slava_status step_done(slava_ctx *ctx, slava_store *s, sqlite3_stmt *q, const char *what) {
    int rc = sqlite3_step(q);
    slava_status st = rc == SQLITE_DONE ? SLAVA_OK : sv_store_sqlerr(ctx, s, what);
    sqlite3_reset(q);
    return st;
}

/* ------------------------------------------------------------------ open / close */

static const unsigned char SQLITE_MAGIC[16] = "SQLite format 3";  /* 15 chars + NUL */

/* Refuse a non-SQLite file before SQLite touches it. -1 missing, 0 empty, 1 SQLite, 2 other. */
static int file_kind(const char *path, int *is_dir) {
    struct stat st;
    *is_dir = 0;
    if (stat(path, &st) != 0) return -1;
    if (S_ISDIR(st.st_mode)) { *is_dir = 1; return 2; }
    if (st.st_size == 0) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 2;
    unsigned char head[16] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == sizeof head && !memcmp(head, SQLITE_MAGIC, sizeof head) ? 1 : 2;
}

static slava_status store_schema(slava_ctx *ctx, slava_store *s, int create) {
    sqlite3_stmt *q = NULL;
    int has_version = 0, n_tables = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*), sum(name = 'schema_version') FROM sqlite_master", -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "not a readable SQLite database");
    if (sqlite3_step(q) == SQLITE_ROW) {
        n_tables = sqlite3_column_int(q, 0);
        has_version = sqlite3_column_int(q, 1);
    } else {
        sqlite3_finalize(q);
        return sv_store_sqlerr(ctx, s, "not a readable SQLite database");
    }
    sqlite3_finalize(q);
    if (!has_version) {
        if (n_tables > 0)
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: a SQLite database but not a slava feature store (no schema_version table)", s->path);
        if (!create)
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: empty file, not a slava feature store", s->path);
        /* 16 KiB pages: a 512-float text row (2 KiB) packs 7 to a page instead of 1 to a 4 KiB page. */
        SV_TRY(sv_store_exec(ctx, s, "PRAGMA page_size=16384"));
        SV_TRY(sv_store_exec(ctx, s, "PRAGMA journal_mode=WAL"));
        SV_TRY(sv_store_exec(ctx, s, "BEGIN IMMEDIATE"));
        /* Another process may have created it meanwhile. */
        if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'", -1, &q, NULL) != SQLITE_OK)
            return sv_store_sqlerr(ctx, s, "schema");
        int again = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) > 0;
        sqlite3_finalize(q);
        slava_status st = again ? SLAVA_OK : sv_store_exec(ctx, s, SCHEMA_SQL);
        if (st != SLAVA_OK) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); return st; }
        SV_TRY(sv_store_exec(ctx, s, "COMMIT"));
    }
    if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version", -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "schema_version");
    int version = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_finalize(q);
    if (version < 1)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: schema_version table is empty or invalid", s->path);
    if (version > SV_STORE_SCHEMA_VERSION)
        return sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: store schema version %d is newer than this slava reads (%d)",
                      s->path, version, SV_STORE_SCHEMA_VERSION);
    s->version = version;
    if (version == 1 && !s->readonly) {
        /* Version 2 records each clip's source file (size, mtime, sha256) so that encode notices
         * a replaced video. Readers accept version 1 as it is; a writer upgrades it once. */
        SV_TRY(sv_store_exec(ctx, s, "BEGIN IMMEDIATE"));
        int64_t v = 0;
        slava_status st = SLAVA_OK;
        if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version", -1, &q, NULL) != SQLITE_OK)
            st = sv_store_sqlerr(ctx, s, "schema_version");
        else {
            v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
            sqlite3_finalize(q);
        }
        if (!st && v == 1)   /* another process may have upgraded it meanwhile */
            st = sv_store_exec(ctx, s, "ALTER TABLE clips ADD COLUMN source_size INTEGER;"
                                       "ALTER TABLE clips ADD COLUMN source_mtime INTEGER;"
                                       "ALTER TABLE clips ADD COLUMN source_sha256 TEXT;"
                                       "UPDATE schema_version SET version = 2");
        if (st) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); return st; }
        SV_TRY(sv_store_exec(ctx, s, "COMMIT"));
        s->version = 2;
    }
    return SLAVA_OK;
}

/* "file:" URI of a path for sqlite3_open_v2 (%, ? and # escaped); malloc'd. */
static char *file_uri(const char *path, const char *query) {
    size_t n = strlen(path), k = 0;
    char *u = malloc(3 * n + strlen(query) + 16);
    if (!u) return NULL;
    k += (size_t)sprintf(u, path[0] == '/' ? "file://" : "file:");
    for (const char *p = path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#') k += (size_t)sprintf(u + k, "%%%02X", (unsigned char)*p);
        else u[k++] = *p;
    }
    strcpy(u + k, query);
    return u;
}

/* A read-only connection. A WAL store needs its -shm file: SQLite creates it when the folder is
 * writable and reads it when it exists; in a read-only folder without one, the store is opened
 * in immutable mode (no -wal / -shm needed), unless a non-empty -wal holds changes not yet in
 * the main file (immutable mode would silently ignore them). */
static slava_status open_readonly(slava_ctx *ctx, slava_store *s) {
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) == SQLITE_OK)
        return SLAVA_OK;
    char *msg = sv_strdup(s->db ? sqlite3_errmsg(s->db) : "out of memory");
    sqlite3_close(s->db);
    s->db = NULL;
    char wal[4200];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    if (stat(wal, &st) == 0 && st.st_size > 0) {
        slava_status r = sv_err(ctx, SLAVA_E_IO, "%s: cannot be read (%s): its write-ahead log %s holds changes not yet "
                                "in the main file; open it once with write access (e.g. slava store info as its owner)",
                                s->path, msg ? msg : "", wal);
        free(msg);
        return r;
    }
    char *uri = file_uri(s->path, "?immutable=1");
    int rc = uri ? sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) : SQLITE_NOMEM;
    free(uri);
    slava_status r = SLAVA_OK;
    if (rc != SQLITE_OK)
        r = s->db ? sv_store_sqlerr(ctx, s, "cannot open read-only") : sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
    free(msg);
    return r;
}

slava_status slava_store_open(slava_ctx *ctx, const char *path, int mode, slava_store **out) {
    *out = NULL;
    if (!path || !*path) return sv_err(ctx, SLAVA_E_ARG, "feature store: no file name given");
    if (mode != SLAVA_STORE_WRITE && mode != SLAVA_STORE_CREATE && mode != SLAVA_STORE_READ)
        return sv_err(ctx, SLAVA_E_ARG, "%s: unknown open mode %d", path, mode);
    int create = mode == SLAVA_STORE_CREATE, readonly = mode == SLAVA_STORE_READ;
    int is_dir = 0, kind = file_kind(path, &is_dir);
    if (kind < 0 && !create) return sv_err(ctx, SLAVA_E_IO, "%s: no such file", path);
    if (is_dir) return sv_err(ctx, SLAVA_E_IO, "%s: is a directory, not a feature store file", path);
    if (kind == 2) return sv_err(ctx, SLAVA_E_FORMAT, "%s: not a SQLite database (not a slava feature store)", path);
    if (kind == 0 && readonly) return sv_err(ctx, SLAVA_E_FORMAT, "%s: empty file, not a slava feature store", path);
    if (kind < 0) {
        /* Create it here so that a missing directory gives a plain message. */
        FILE *f = fopen(path, "ab");
        if (!f) return sv_err(ctx, SLAVA_E_IO, "%s: cannot create: %s", path, strerror(errno));
        fclose(f);
    }
    slava_store *s = calloc(1, sizeof *s);
    if (!s) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    s->path = sv_strdup(path);
    s->readonly = readonly;
    s->lock_fd = -1;
    if (!s->path) { free(s); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    slava_status st;
    if (readonly) {
        st = open_readonly(ctx, s);
    } else if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        st = s->db ? sv_store_sqlerr(ctx, s, "cannot open") : sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    } else {
        st = SLAVA_OK;
    }
    if (st != SLAVA_OK) { slava_store_close(s); return st; }
    sqlite3_extended_result_codes(s->db, 0);
    sqlite3_busy_timeout(s->db, 10000);
    st = store_schema(ctx, s, create);
    if (st == SLAVA_OK && readonly) st = sv_store_exec(ctx, s, "PRAGMA query_only=1");
    if (st == SLAVA_OK && !readonly) st = sv_store_exec(ctx, s, "PRAGMA journal_mode=WAL");
    if (st == SLAVA_OK && !readonly)
        st = sv_store_exec(ctx, s, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=4096");
    if (st != SLAVA_OK) { slava_store_close(s); return st; }
    *out = s;
    return SLAVA_OK;
}

void slava_store_close(slava_store *s) {
    if (!s) return;
    for (int i = 0; i < SQ_COUNT; i++) sqlite3_finalize(s->stmt[i]);
    if (s->db) {
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(s->db);
    }
    /* after SQLite's own descriptors are gone: closing a descriptor of the file drops this
     * process's fcntl locks on it, SQLite's included */
    if (s->lock_fd >= 0) close(s->lock_fd);
    free(s->path);
    free(s);
}

void slava_store_remove(const char *path) {
    const char *suffix[3] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char *p = malloc(strlen(path) + 5);
        if (!p) return;
        strcpy(p, path);
        strcat(p, suffix[i]);
        unlink(p);
        free(p);
    }
}

/* ------------------------------------------------------------------ transactions */

slava_status sv_store_tx_begin(slava_ctx *ctx, slava_store *s, int *mine) {
    *mine = 0;
    if (!sqlite3_get_autocommit(s->db)) return SLAVA_OK;
    SV_TRY(sv_store_exec(ctx, s, "BEGIN IMMEDIATE"));
    *mine = 1;
    return SLAVA_OK;
}

slava_status sv_store_tx_end(slava_ctx *ctx, slava_store *s, int mine, int ok) {
    if (!mine) return SLAVA_OK;
    if (ok) {
        if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return SLAVA_OK;
        slava_status st = sv_store_sqlerr(ctx, s, "commit");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return SLAVA_OK;
}

slava_status slava_store_begin(slava_ctx *ctx, slava_store *s) {
    if (s->user_tx || !sqlite3_get_autocommit(s->db))
        return sv_err(ctx, SLAVA_E_ARG, "%s: a transaction is already open", s->path);
    SV_TRY(sv_store_exec(ctx, s, "BEGIN IMMEDIATE"));
    s->user_tx = 1;
    return SLAVA_OK;
}

slava_status slava_store_commit(slava_ctx *ctx, slava_store *s) {
    if (!s->user_tx) return sv_err(ctx, SLAVA_E_ARG, "%s: commit without begin", s->path);
    s->user_tx = 0;
    return sv_store_tx_end(ctx, s, 1, 1);
}

void slava_store_rollback(slava_store *s) {
    if (!s) return;
    s->user_tx = 0;
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ blobs */

static int host_is_le(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap32(void *p, size_t n) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t0 = b[0], t1 = b[1];
        b[0] = b[3]; b[1] = b[2]; b[2] = t1; b[3] = t0;
    }
}

/* Copy a little-endian float32 blob into dst[n]. */
static void blob_to_f32(float *dst, const void *blob, size_t n) {
    memcpy(dst, blob, n * 4);
    if (!host_is_le()) swap32(dst, n);
}

/* ------------------------------------------------------------------ row helpers */

typedef struct { int64_t id; int split, has_audio; int failed; } clip_row;

/* Look a clip up by name: 1 found, 0 absent, -1 error (message set). reason: malloc'd error. */
static int clip_get(slava_ctx *ctx, slava_store *s, const char *name, clip_row *r, char **reason) {
    sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_CLIP_GET);
    if (!q) return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) { sqlite3_reset(q); return 0; }
    if (rc != SQLITE_ROW) { sv_store_sqlerr(ctx, s, "reading clips"); sqlite3_reset(q); return -1; }
    r->id = sqlite3_column_int64(q, 0);
    r->split = slava_store_split_parse((const char *)sqlite3_column_text(q, 1));
    r->has_audio = sqlite3_column_int(q, 2);
    r->failed = sqlite3_column_type(q, 3) != SQLITE_NULL;
    if (reason) *reason = r->failed ? sv_strdup((const char *)sqlite3_column_text(q, 3)) : NULL;
    sqlite3_reset(q);
    return 1;
}

int sv_store_clip_find(slava_ctx *ctx, slava_store *s, const char *name, int64_t *rowid, int *split, int *has_audio,
                       int *failed) {
    clip_row r;
    int f = clip_get(ctx, s, name, &r, NULL);
    if (f == 1) {
        *rowid = r.id;
        *split = r.split;
        *has_audio = r.has_audio;
        *failed = r.failed;
    }
    return f;
}

static slava_status clip_require(slava_ctx *ctx, slava_store *s, const char *name, clip_row *r) {
    if (!name || !*name) return sv_err(ctx, SLAVA_E_ARG, "%s: clip with an empty id", s->path);
    int f = clip_get(ctx, s, name, r, NULL);
    if (f < 0) return SLAVA_E_STORE;
    if (f == 0) return sv_err(ctx, SLAVA_E_NOTFOUND, "%s: clip '%s' is not stored", s->path, name);
    return SLAVA_OK;
}

static slava_status check_split(slava_ctx *ctx, slava_store *s, const char *name, int split) {
    if (split < 0 || split >= SLAVA_SPLITS)
        return sv_err(ctx, SLAVA_E_ARG, "%s: clip '%s': split %d is not train / val / test", s->path, name, split);
    return SLAVA_OK;
}

static slava_status clip_insert(slava_ctx *ctx, slava_store *s, const char *name, int split, const char *source,
                                double duration, int has_audio, const char *error, int64_t *rowid) {
    sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_CLIP_INSERT);
    if (!q) return SLAVA_E_STORE;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, slava_split_name(split), -1, SQLITE_STATIC);
    if (source) sqlite3_bind_text(q, 3, source, -1, SQLITE_STATIC);
    if (duration >= 0) sqlite3_bind_double(q, 4, duration);
    sqlite3_bind_int(q, 5, has_audio ? 1 : 0);
    if (error) sqlite3_bind_text(q, 6, error, -1, SQLITE_STATIC);
    SV_TRY(step_done(ctx, s, q, "storing clip"));
    *rowid = sqlite3_last_insert_rowid(s->db);
    return SLAVA_OK;
}

slava_status sv_store_clip_keep(slava_ctx *ctx, slava_store *s, const char *name, int split,
                                const char *source, double duration, int has_audio,
                                int64_t *rowid, int *added, int *stored_has_audio) {
    if (added) *added = 0;
    if (stored_has_audio) *stored_has_audio = has_audio ? 1 : 0;
    if (!name || !*name) return sv_err(ctx, SLAVA_E_ARG, "%s: clip with an empty id", s->path);
    SV_TRY(check_split(ctx, s, name, split));
    clip_row r;
    int f = clip_get(ctx, s, name, &r, NULL);
    if (f < 0) return SLAVA_E_STORE;
    if (f) {
        if (r.split != split)
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' is stored in split %s, not %s", s->path, name,
                          slava_split_name(r.split), slava_split_name(split));
        *rowid = r.id;
        if (stored_has_audio) *stored_has_audio = r.has_audio;
        return SLAVA_OK;
    }
    SV_TRY(clip_insert(ctx, s, name, split, source, duration, has_audio, NULL, rowid));
    if (added) *added = 1;
    return SLAVA_OK;
}

/* Caption lookup: 1 found (id, malloc'd text or NULL), 0 absent, -1 error. */
static int caption_get(slava_ctx *ctx, slava_store *s, int64_t clip, int kind, int idx, int64_t *id, char **text) {
    sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_CAP_GET);
    if (!q) return -1;
    sqlite3_bind_int64(q, 1, clip);
    sqlite3_bind_text(q, 2, KIND_NAMES[kind], -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, idx);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) { sqlite3_reset(q); return 0; }
    if (rc != SQLITE_ROW) { sv_store_sqlerr(ctx, s, "reading captions"); sqlite3_reset(q); return -1; }
    *id = sqlite3_column_int64(q, 0);
    if (text) *text = sqlite3_column_type(q, 1) == SQLITE_NULL ? NULL : sv_strdup((const char *)sqlite3_column_text(q, 1));
    sqlite3_reset(q);
    return 1;
}

static slava_status caption_insert(slava_ctx *ctx, slava_store *s, int64_t clip, int kind, int idx, const char *text,
                                   int64_t *rowid) {
    sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_CAP_INSERT);
    if (!q) return SLAVA_E_STORE;
    sqlite3_bind_int64(q, 1, clip);
    sqlite3_bind_text(q, 2, KIND_NAMES[kind], -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, idx);
    if (text) sqlite3_bind_text(q, 4, text, -1, SQLITE_STATIC);
    SV_TRY(step_done(ctx, s, q, "storing caption"));
    *rowid = sqlite3_last_insert_rowid(s->db);
    return SLAVA_OK;
}

static slava_status caption_set_text(slava_ctx *ctx, slava_store *s, int64_t id, const char *text) {
    sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_CAP_UPDATE);
    if (!q) return SLAVA_E_STORE;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
    return step_done(ctx, s, q, "updating caption");
}

static slava_status check_kind_idx(slava_ctx *ctx, slava_store *s, const char *clip, int kind, int idx) {
    if (kind < 0 || kind >= SLAVA_CAP_KINDS)
        return sv_err(ctx, SLAVA_E_ARG, "%s: clip '%s': caption kind %d is not one of audio / visual / audio_visual / gpt_av",
                      s->path, clip, kind);
    if (idx < 0) return sv_err(ctx, SLAVA_E_ARG, "%s: clip '%s': caption index %d is negative", s->path, clip, idx);
    return SLAVA_OK;
}

slava_status sv_store_caption_keep(slava_ctx *ctx, slava_store *s, int64_t clip_rowid, const char *clip_name,
                                   int kind, int idx, const char *text, int64_t *rowid, int *added) {
    if (added) *added = 0;
    SV_TRY(check_kind_idx(ctx, s, clip_name, kind, idx));
    char *old = NULL;
    int f = caption_get(ctx, s, clip_rowid, kind, idx, rowid, &old);
    if (f < 0) return SLAVA_E_STORE;
    if (!f) {
        SV_TRY(caption_insert(ctx, s, clip_rowid, kind, idx, text, rowid));
        if (added) *added = 1;
        return SLAVA_OK;
    }
    slava_status st = SLAVA_OK;
    if (text && old && strcmp(text, old))
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' %s caption %d: stored text differs from the new one",
                    s->path, clip_name, KIND_NAMES[kind], idx);
    else if (text && !old)
        st = caption_set_text(ctx, s, *rowid, text);   /* fill in a text that was unknown */
    free(old);
    return st;
}

slava_status sv_store_encoder(slava_ctx *ctx, slava_store *s, int modality, const char *name, int d, int64_t *enc_id) {
    if (modality < 0 || modality > 2) return sv_err(ctx, SLAVA_E_ARG, "%s: modality %d is not visual / audio / text", s->path, modality);
    if (!name || !*name) return sv_err(ctx, SLAVA_E_ARG, "%s: %s features need an encoder identity", s->path, MOD_NAMES[modality]);
    if (d <= 0) return sv_err(ctx, SLAVA_E_ARG, "%s: %s features of encoder '%s' with D = %d", s->path, MOD_NAMES[modality], name, d);
    sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_ENC_GET);
    if (!q) return SLAVA_E_STORE;
    sqlite3_bind_text(q, 1, MOD_NAMES[modality], -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *enc_id = sqlite3_column_int64(q, 0);
        int sd = sqlite3_column_int(q, 1);
        sqlite3_reset(q);
        if (sd != d)
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: %s encoder '%s' has D = %d in the store, the new features have D = %d",
                          s->path, MOD_NAMES[modality], name, sd, d);
        return SLAVA_OK;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) return sv_store_sqlerr(ctx, s, "reading encoders");
    q = sv_store_stmt(ctx, s, SQ_ENC_INSERT);
    if (!q) return SLAVA_E_STORE;
    sqlite3_bind_text(q, 1, MOD_NAMES[modality], -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, d);
    SV_TRY(step_done(ctx, s, q, "storing encoder"));
    *enc_id = sqlite3_last_insert_rowid(s->db);
    return SLAVA_OK;
}

slava_status sv_store_feature_blob(slava_ctx *ctx, slava_store *s, int is_caption, int64_t owner, int64_t enc_id,
                                   const void *blob, int T, int D, int *added) {
    if (added) *added = 0;
    if (T < 1 || D < 1 || (size_t)T * (size_t)D > (size_t)INT32_MAX / 4)
        return sv_err(ctx, SLAVA_E_ARG, "%s: feature of shape [%d, %d]", s->path, T, D);
    sqlite3_stmt *q = sv_store_stmt(ctx, s, is_caption ? SQ_FEAT_CAP_HAS : SQ_FEAT_CLIP_HAS);
    if (!q) return SLAVA_E_STORE;
    sqlite3_bind_int64(q, 1, enc_id);
    sqlite3_bind_int64(q, 2, owner);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW) return SLAVA_OK;
    if (rc != SQLITE_DONE) return sv_store_sqlerr(ctx, s, "reading features");
    q = sv_store_stmt(ctx, s, is_caption ? SQ_FEAT_CAP_INSERT : SQ_FEAT_CLIP_INSERT);
    if (!q) return SLAVA_E_STORE;
    sqlite3_bind_int64(q, 1, owner);
    sqlite3_bind_int64(q, 2, enc_id);
    sqlite3_bind_int(q, 3, T);
    sqlite3_bind_int(q, 4, D);
    sqlite3_bind_blob(q, 5, blob, (int)((size_t)T * D * 4), SQLITE_STATIC);
    SV_TRY(step_done(ctx, s, q, "storing features"));
    if (added) *added = 1;
    return SLAVA_OK;
}

slava_status sv_store_feature(slava_ctx *ctx, slava_store *s, int is_caption, int64_t owner, int64_t enc_id,
                              const float *x, int T, int D, int *added) {
    if (host_is_le() || T < 1 || D < 1) return sv_store_feature_blob(ctx, s, is_caption, owner, enc_id, x, T, D, added);
    size_t n = (size_t)T * D;
    float *swapped = malloc(n * 4);
    if (!swapped) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
    memcpy(swapped, x, n * 4);
    swap32(swapped, n);
    slava_status st = sv_store_feature_blob(ctx, s, is_caption, owner, enc_id, swapped, T, D, added);
    free(swapped);
    return st;
}

/* ------------------------------------------------------------------ public writes */

slava_status slava_store_put_clip(slava_ctx *ctx, slava_store *s, const char *clip, int split,
                                  const char *source, double duration, int has_audio, const char *error) {
    if (!clip || !*clip) return sv_err(ctx, SLAVA_E_ARG, "%s: clip with an empty id", s->path);
    SV_TRY(check_split(ctx, s, clip, split));
    int mine;
    SV_TRY(sv_store_tx_begin(ctx, s, &mine));
    clip_row r;
    int64_t id;
    slava_status st = SLAVA_OK;
    int f = clip_get(ctx, s, clip, &r, NULL);
    if (f < 0) st = SLAVA_E_STORE;
    else if (!f) st = clip_insert(ctx, s, clip, split, source, duration, has_audio, error, &id);
    else if (r.split != split)
        st = sv_err(ctx, SLAVA_E_ARG, "%s: clip '%s' is stored in split %s, not %s", s->path, clip,
                    slava_split_name(r.split), slava_split_name(split));
    else {
        sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_CLIP_UPDATE);
        if (!q) st = SLAVA_E_STORE;
        else {
            sqlite3_bind_int64(q, 1, r.id);
            if (source) sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
            if (duration >= 0) sqlite3_bind_double(q, 3, duration);
            sqlite3_bind_int(q, 4, has_audio ? 1 : 0);
            if (error) sqlite3_bind_text(q, 5, error, -1, SQLITE_STATIC);
            st = step_done(ctx, s, q, "updating clip");
        }
    }
    slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
    return st != SLAVA_OK ? st : st2;
}

slava_status slava_store_put_caption(slava_ctx *ctx, slava_store *s, const char *clip, int kind, int idx, const char *text) {
    SV_TRY(check_kind_idx(ctx, s, clip ? clip : "", kind, idx));
    int mine;
    SV_TRY(sv_store_tx_begin(ctx, s, &mine));
    clip_row r;
    int64_t id;
    char *old = NULL;
    slava_status st = clip_require(ctx, s, clip, &r);
    if (st == SLAVA_OK) {
        int f = caption_get(ctx, s, r.id, kind, idx, &id, &old);
        if (f < 0) st = SLAVA_E_STORE;
        else if (!f) st = caption_insert(ctx, s, r.id, kind, idx, text, &id);
        else if (text && (!old || strcmp(old, text))) st = caption_set_text(ctx, s, id, text);  /* trigger drops stale features */
    }
    free(old);
    slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
    return st != SLAVA_OK ? st : st2;
}

slava_status slava_store_put_clip_feature(slava_ctx *ctx, slava_store *s, const char *clip, int modality,
                                          const char *encoder, const float *x, int T, int D, int *added) {
    if (added) *added = 0;
    if (modality != SLAVA_MOD_VISUAL && modality != SLAVA_MOD_AUDIO)
        return sv_err(ctx, SLAVA_E_ARG, "%s: clip '%s': clip features are visual or audio, not modality %d",
                      s->path, clip ? clip : "", modality);
    int mine;
    SV_TRY(sv_store_tx_begin(ctx, s, &mine));
    clip_row r;
    int64_t enc;
    slava_status st = clip_require(ctx, s, clip, &r);
    if (st == SLAVA_OK && modality == SLAVA_MOD_AUDIO && !r.has_audio)
        st = sv_err(ctx, SLAVA_E_ARG, "%s: clip '%s' is stored without audio, cannot hold audio features", s->path, clip);
    if (st == SLAVA_OK) st = sv_store_encoder(ctx, s, modality, encoder, D, &enc);
    if (st == SLAVA_OK) st = sv_store_feature(ctx, s, 0, r.id, enc, x, T, D, added);
    slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
    return st != SLAVA_OK ? st : st2;
}

slava_status slava_store_put_caption_feature(slava_ctx *ctx, slava_store *s, const char *clip, int kind,
                                             int idx, const char *encoder, const float *x, int D, int *added) {
    if (added) *added = 0;
    SV_TRY(check_kind_idx(ctx, s, clip ? clip : "", kind, idx));
    int mine;
    SV_TRY(sv_store_tx_begin(ctx, s, &mine));
    clip_row r;
    int64_t cap = 0, enc;
    slava_status st = clip_require(ctx, s, clip, &r);
    if (st == SLAVA_OK) {
        int f = caption_get(ctx, s, r.id, kind, idx, &cap, NULL);
        if (f < 0) st = SLAVA_E_STORE;
        else if (!f) st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: clip '%s' has no %s caption %d", s->path, clip, KIND_NAMES[kind], idx);
    }
    if (st == SLAVA_OK) st = sv_store_encoder(ctx, s, SLAVA_MOD_TEXT, encoder, D, &enc);
    if (st == SLAVA_OK) st = sv_store_feature(ctx, s, 1, cap, enc, x, 1, D, added);
    slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
    return st != SLAVA_OK ? st : st2;
}

slava_status slava_store_put_dataset(slava_ctx *ctx, slava_store *s, const slava_dataset *ds) {
    const int dims[3] = {ds->d_v, ds->d_a, ds->d_t};
    int64_t enc[3] = {0, 0, 0};
    int used[3] = {0, 0, 0};
    for (int i = 0; i < ds->n; i++) {
        const slava_clip *c = &ds->clips[i];
        used[0] |= c->t_v > 0;
        used[1] |= c->t_a > 0;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) used[2] |= c->n_cap[k] > 0 && c->cap[k];
    }
    for (int m = 0; m < 3; m++)
        if (used[m] && (!ds->encoder_id[m] || !*ds->encoder_id[m]))
            return sv_err(ctx, SLAVA_E_ARG, "%s: dataset has %s features but no encoder identity for them", s->path, MOD_NAMES[m]);
    /* Whole clips, grouped into transactions of up to 256 clips / 16 MiB of features (fewer
     * commits; a crash still leaves only whole clips). */
    int mine = 0;
    size_t batch_bytes = 0;
    int batch_clips = 0;
    for (int i = 0; i < ds->n; i++) {
        const slava_clip *c = &ds->clips[i];
        if (batch_clips == 0) SV_TRY(sv_store_tx_begin(ctx, s, &mine));
        int64_t clip = 0, cap;
        slava_status st = sv_store_clip_keep(ctx, s, c->id, c->split, NULL, -1, c->t_a > 0, &clip, NULL, NULL);
        for (int m = 0; m < 3 && st == SLAVA_OK; m++)
            if (used[m] && !enc[m]) st = sv_store_encoder(ctx, s, m, ds->encoder_id[m], dims[m], &enc[m]);
        if (st == SLAVA_OK && c->t_v > 0) st = sv_store_feature(ctx, s, 0, clip, enc[0], c->visual, c->t_v, ds->d_v, NULL);
        if (st == SLAVA_OK && c->t_a > 0) st = sv_store_feature(ctx, s, 0, clip, enc[1], c->audio, c->t_a, ds->d_a, NULL);
        batch_bytes += 4 * ((size_t)c->t_v * ds->d_v + (size_t)c->t_a * ds->d_a);
        for (int k = 0; k < SLAVA_CAP_KINDS && st == SLAVA_OK; k++)
            for (int j = 0; j < c->n_cap[k] && st == SLAVA_OK; j++) {
                const char *text = c->cap_text[k] ? c->cap_text[k][j] : NULL;
                st = sv_store_caption_keep(ctx, s, clip, c->id, k, j, text, &cap, NULL);
                if (st == SLAVA_OK && c->cap[k])
                    st = sv_store_feature(ctx, s, 1, cap, enc[2], c->cap[k] + (size_t)j * ds->d_t, 1, ds->d_t, NULL);
                batch_bytes += 4 * (size_t)ds->d_t;
            }
        batch_clips++;
        int interrupted = st == SLAVA_OK && sv_progress(ctx, "store", i + 1, ds->n, NULL);
        if (st != SLAVA_OK || interrupted || i + 1 == ds->n || batch_clips == 256 || batch_bytes >= (16u << 20)) {
            /* an interrupt keeps the clips stored so far: they are whole */
            slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
            if (st != SLAVA_OK) return st;
            if (st2 != SLAVA_OK) return st2;
            batch_clips = 0;
            batch_bytes = 0;
        }
        if (interrupted)
            return sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: storing interrupted after %d of %d clips", s->path, i + 1, ds->n);
    }
    return SLAVA_OK;
}

/* ------------------------------------------------------------------ queries for encode */

/* Encoder id of (modality, name): 1 found, 0 absent, -1 error. */
static int encoder_find(slava_ctx *ctx, slava_store *s, int modality, const char *name, int64_t *id, int *d) {
    sqlite3_stmt *q = sv_store_stmt(ctx, s, SQ_ENC_GET);
    if (!q) return -1;
    sqlite3_bind_text(q, 1, MOD_NAMES[modality], -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(q, 0);
        if (d) *d = sqlite3_column_int(q, 1);
    }
    sqlite3_reset(q);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    sv_store_sqlerr(ctx, s, "reading encoders");
    return -1;
}

/* Run a one-integer query with up to two int64 bindings. */
static slava_status query_int(slava_ctx *ctx, slava_store *s, const char *sql, int64_t a, int64_t b, int64_t *out) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) return sv_store_sqlerr(ctx, s, "query");
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    int rc = sqlite3_step(q);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sv_store_sqlerr(ctx, s, "query");
    return SLAVA_OK;
}

slava_status slava_store_clip_state(slava_ctx *ctx, slava_store *s, const char *clip,
                                    const char *const *enc, slava_clip_state *state, char **reason) {
    *state = SLAVA_CLIP_ABSENT;
    if (reason) *reason = NULL;
    clip_row r;
    int f = clip_get(ctx, s, clip, &r, reason);
    if (f < 0) return SLAVA_E_STORE;
    if (!f) return SLAVA_OK;
    if (r.failed) { *state = SLAVA_CLIP_FAILED; return SLAVA_OK; }
    *state = SLAVA_CLIP_INCOMPLETE;
    for (int m = 0; enc && m < 3; m++) {
        if (!enc[m] || (m == SLAVA_MOD_AUDIO && !r.has_audio)) continue;
        int64_t e, n;
        int fe = encoder_find(ctx, s, m, enc[m], &e, NULL);
        if (fe < 0) return SLAVA_E_STORE;
        if (m != SLAVA_MOD_TEXT) {
            if (!fe) return SLAVA_OK;
            SV_TRY(query_int(ctx, s, "SELECT count(*) FROM features WHERE encoder = ?1 AND clip = ?2", e, r.id, &n));
            if (n == 0) return SLAVA_OK;
        } else {
            /* Every caption needs a feature; with no encoder row that means: no captions at all. */
            SV_TRY(query_int(ctx, s,
                             "SELECT count(*) FROM captions c WHERE c.clip = ?2 AND NOT EXISTS"
                             " (SELECT 1 FROM features f WHERE f.encoder = ?1 AND f.caption = c.id)",
                             fe ? e : -1, r.id, &n));
            if (n > 0) return SLAVA_OK;
        }
    }
    *state = SLAVA_CLIP_COMPLETE;
    return SLAVA_OK;
}

slava_status slava_store_find_text_feature(slava_ctx *ctx, slava_store *s, const char *text,
                                           const char *encoder, float *out, int D, int *found) {
    *found = 0;
    if (!text || !encoder) return SLAVA_OK;
    sqlite3_stmt *q;
    const char *sql =
        /* CROSS JOIN: the captions of this text first (captions_text index), then their feature;
         * otherwise SQLite may scan every text feature of the encoder for each lookup */
        "SELECT f.d, f.data FROM captions c CROSS JOIN features f ON f.caption = c.id"
        " WHERE c.text = ?1 AND f.encoder = (SELECT id FROM encoders WHERE modality = 'text' AND name = ?2) LIMIT 1";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) return sv_store_sqlerr(ctx, s, "query");
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, encoder, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    slava_status st = SLAVA_OK;
    if (rc == SQLITE_ROW) {
        int d = sqlite3_column_int(q, 0);
        const void *blob = sqlite3_column_blob(q, 1);
        int bytes = sqlite3_column_bytes(q, 1);
        if (d != D) st = sv_err(ctx, SLAVA_E_SHAPE, "%s: text encoder '%s' has D = %d in the store, asked for %d", s->path, encoder, d, D);
        else if (bytes != 4 * D) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: text feature blob of %d bytes for D = %d", s->path, bytes, D);
        else { blob_to_f32(out, blob, (size_t)D); *found = 1; }
    } else if (rc != SQLITE_DONE) st = sv_store_sqlerr(ctx, s, "reading features");
    sqlite3_finalize(q);
    return st;
}

/* ------------------------------------------------------------------ load */

typedef struct { int64_t rowid; int idx; } rowmap;

static int rowmap_cmp(const void *a, const void *b) {
    int64_t x = ((const rowmap *)a)->rowid, y = ((const rowmap *)b)->rowid;
    return (x > y) - (x < y);
}
static int rowmap_find(const rowmap *m, int n, int64_t rowid) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (m[mid].rowid == rowid) return m[mid].idx;
        if (m[mid].rowid < rowid) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

typedef struct { int64_t rowid; int split; char *name; sv_clip_meta meta; } clip_tmp;
typedef struct { int64_t rowid; int clip, kind, idx, slot; char *text; } cap_tmp;

static int clip_tmp_cmp(const void *a, const void *b) {
    const clip_tmp *x = a, *y = b;
    if (x->split != y->split) return x->split - y->split;
    return strcmp(x->name, y->name);
}
static int cap_tmp_cmp(const void *a, const void *b) {
    const cap_tmp *x = a, *y = b;
    if (x->clip != y->clip) return x->clip - y->clip;
    if (x->kind != y->kind) return x->kind - y->kind;
    return x->idx - y->idx;
}

/* Bind the split names of split_mask to ?first..?first+2 (NULL for splits not wanted). */
static void bind_splits(sqlite3_stmt *q, int first, unsigned split_mask) {
    for (int k = 0; k < SLAVA_SPLITS; k++)
        if (!split_mask || (split_mask >> k & 1)) sqlite3_bind_text(q, first + k, slava_split_name(k), -1, SQLITE_STATIC);
}

/* Choose modality m's encoder: *id = 0 when none stored (and none asked for). */
static slava_status choose_encoder(slava_ctx *ctx, slava_store *s, int m, const char *want, int64_t *id, int *d, char **name) {
    *id = 0; *d = 0; *name = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT e.id, e.d, e.name FROM encoders e WHERE e.modality = ?1 AND"
                           " EXISTS(SELECT 1 FROM features f WHERE f.encoder = e.id) ORDER BY e.name",
                           -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "reading encoders");
    sqlite3_bind_text(q, 1, MOD_NAMES[m], -1, SQLITE_STATIC);
    char names[512] = "";
    int n = 0, rc;
    size_t used = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *nm = (const char *)sqlite3_column_text(q, 2);
        if (want ? !strcmp(want, nm) : n == 0) {
            *id = sqlite3_column_int64(q, 0);
            *d = sqlite3_column_int(q, 1);
            free(*name);
            *name = sv_strdup(nm);
        }
        if (used < sizeof names - 1)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s'%s'", n ? ", " : "", nm);
        n++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) { free(*name); *name = NULL; return sv_store_sqlerr(ctx, s, "reading encoders"); }
    if (want && !*id)
        return sv_err(ctx, SLAVA_E_NOTFOUND, "%s: no %s features of encoder '%s' (stored: %s)", s->path, MOD_NAMES[m], want,
                      n ? names : "none");
    if (!want && n > 1) {
        free(*name); *name = NULL; *id = 0;
        return sv_err(ctx, SLAVA_E_ARG, "%s: %s features of %d encoders are stored (%s); choose one", s->path,
                      MOD_NAMES[m], n, names);
    }
    if (*id && !*name) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
    return SLAVA_OK;
}

void sv_clip_meta_free(sv_clip_meta *meta, int n) {
    if (!meta) return;
    for (int i = 0; i < n; i++) {
        free(meta[i].source);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) free(meta[i].cap_idx[k]);
    }
    free(meta);
}

static slava_status load_clips(slava_ctx *ctx, slava_store *s, unsigned split_mask, clip_tmp **out, int *n_out) {
    *out = NULL; *n_out = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, name, split, has_audio, source, duration FROM clips"
                           " WHERE error IS NULL AND split IN (?1, ?2, ?3)", -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "reading clips");
    bind_splits(q, 1, split_mask);
    clip_tmp *v = NULL;
    int n = 0, cap = 0, rc;
    slava_status st = SLAVA_OK;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            clip_tmp *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path); break; }
            v = nv;
        }
        clip_tmp *c = &v[n];
        memset(c, 0, sizeof *c);
        c->rowid = sqlite3_column_int64(q, 0);
        c->name = sv_strdup((const char *)sqlite3_column_text(q, 1));
        c->split = slava_store_split_parse((const char *)sqlite3_column_text(q, 2));
        c->meta.has_audio = sqlite3_column_int(q, 3);
        c->meta.source = sqlite3_column_type(q, 4) == SQLITE_NULL ? NULL : sv_strdup((const char *)sqlite3_column_text(q, 4));
        c->meta.duration = sqlite3_column_type(q, 5) == SQLITE_NULL ? -1 : sqlite3_column_double(q, 5);
        n++;
        if (!c->name) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path); break; }
    }
    if (st == SLAVA_OK && rc != SQLITE_DONE) st = sv_store_sqlerr(ctx, s, "reading clips");
    sqlite3_finalize(q);
    if (st != SLAVA_OK) {
        for (int i = 0; i < n; i++) { free(v[i].name); free(v[i].meta.source); }
        free(v);
        return st;
    }
    if (n) qsort(v, (size_t)n, sizeof *v, clip_tmp_cmp);
    *out = v; *n_out = n;
    return SLAVA_OK;
}

/* Counts of clips (all / failed) per split, for the "no clips in split" message. */
static slava_status split_counts(slava_ctx *ctx, slava_store *s, int64_t all[SLAVA_SPLITS], int64_t failed[SLAVA_SPLITS]) {
    for (int k = 0; k < SLAVA_SPLITS; k++) all[k] = failed[k] = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT split, count(*), count(error) FROM clips GROUP BY split", -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "reading clips");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int k = slava_store_split_parse((const char *)sqlite3_column_text(q, 0));
        if (k < 0) continue;
        all[k] = sqlite3_column_int64(q, 1);
        failed[k] = sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? SLAVA_OK : sv_store_sqlerr(ctx, s, "reading clips");
}

/* sv_store_load, keeping of the splits in part_mask only the clips whose position k in their
 * split (load order) has k mod parts == part; with SLAVA_LOAD_VISUAL_MEAN their frames are
 * averaged into one row as they are read. */
static slava_status store_load(slava_ctx *ctx, slava_store *s, unsigned split_mask, unsigned mod_mask,
                               const char *const *enc, slava_dataset *out, sv_clip_meta **meta_out,
                               unsigned part_mask, int part, int parts, unsigned flags) {
    memset(out, 0, sizeof *out);
    if (meta_out) *meta_out = NULL;
    if (split_mask >> SLAVA_SPLITS)
        return sv_err(ctx, SLAVA_E_ARG, "%s: split mask 0x%x names unknown splits", s->path, split_mask);
    if (!mod_mask) mod_mask = 7;

    /* Which encoder per modality. */
    int64_t enc_id[3];
    int dims[3];
    char *enc_name[3] = {NULL, NULL, NULL};
    slava_status st = SLAVA_OK;
    for (int m = 0; m < 3; m++) {
        enc_id[m] = 0; dims[m] = 0;
        if (!(mod_mask >> m & 1)) continue;
        st = choose_encoder(ctx, s, m, enc ? enc[m] : NULL, &enc_id[m], &dims[m], &enc_name[m]);
        if (st != SLAVA_OK) { for (int k = 0; k < m; k++) free(enc_name[k]); return st; }
    }

    /* Clips, ordered by split then id. */
    clip_tmp *ct = NULL;
    int n = 0;
    st = load_clips(ctx, s, split_mask, &ct, &n);
    if (st != SLAVA_OK) { for (int m = 0; m < 3; m++) free(enc_name[m]); return st; }
    int64_t all[SLAVA_SPLITS], failed[SLAVA_SPLITS];
    int have[SLAVA_SPLITS] = {0, 0, 0};
    for (int i = 0; i < n; i++) have[ct[i].split] = 1;
    if (parts > 1) {   /* one rank's part: every parts-th clip of the split, from position `part` */
        int kept = 0, pos[SLAVA_SPLITS] = {0, 0, 0};
        for (int i = 0; i < n; i++) {
            int k = ct[i].split;
            if (!(part_mask >> k & 1) || pos[k]++ % parts == part) { ct[kept++] = ct[i]; continue; }
            free(ct[i].name);
            free(ct[i].meta.source);
        }
        n = kept;
    }
    if (st == SLAVA_OK) st = split_counts(ctx, s, all, failed);
    for (int k = 0; k < SLAVA_SPLITS && st == SLAVA_OK; k++)
        if ((split_mask >> k & 1) && !have[k]) {
            if (failed[k]) st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: no usable clips in split %s (all %lld failed)", s->path,
                                       slava_split_name(k), (long long)failed[k]);
            else st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: no clips in split %s", s->path, slava_split_name(k));
        }
    if (st == SLAVA_OK && n == 0) {
        int64_t tot = all[0] + all[1] + all[2];
        st = tot ? sv_err(ctx, SLAVA_E_NOTFOUND, "%s: no usable clips (all %lld failed)", s->path, (long long)tot)
                 : sv_err(ctx, SLAVA_E_NOTFOUND, "%s: the store is empty (no clips)", s->path);
    }

    rowmap *cmap = NULL, *kmap = NULL;
    cap_tmp *caps = NULL;
    int ncaps = 0;
    sqlite3_stmt *q = NULL;
    int rc;
    if (st == SLAVA_OK) {
        out->clips = calloc((size_t)n, sizeof *out->clips);
        cmap = malloc((size_t)n * sizeof *cmap);
        if (!out->clips || !cmap) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
    }
    if (st == SLAVA_OK) {
        out->n = n;
        out->d_v = dims[0]; out->d_a = dims[1]; out->d_t = dims[2];
        for (int m = 0; m < 3; m++) { out->encoder_id[m] = enc_name[m]; enc_name[m] = NULL; }
        for (int i = 0; i < n; i++) {
            out->clips[i].id = ct[i].name;
            ct[i].name = NULL;
            out->clips[i].split = ct[i].split;
            cmap[i].rowid = ct[i].rowid;
            cmap[i].idx = i;
        }
        qsort(cmap, (size_t)n, sizeof *cmap, rowmap_cmp);
    }

    /* Captions of those clips. */
    if (st == SLAVA_OK) {
        if (sqlite3_prepare_v2(s->db,
                               "SELECT cap.id, cap.clip, cap.kind, cap.idx, cap.text FROM captions cap"
                               " JOIN clips c ON c.id = cap.clip WHERE c.error IS NULL AND c.split IN (?1, ?2, ?3)",
                               -1, &q, NULL) != SQLITE_OK)
            st = sv_store_sqlerr(ctx, s, "reading captions");
    }
    if (st == SLAVA_OK) {
        bind_splits(q, 1, split_mask);
        int cap = 0;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            int ci = rowmap_find(cmap, n, sqlite3_column_int64(q, 1));
            int kind = slava_store_kind_parse((const char *)sqlite3_column_text(q, 2));
            if (ci < 0 || kind < 0) continue;
            if (ncaps == cap) {
                cap = cap ? 2 * cap : 4096;
                cap_tmp *nc = realloc(caps, (size_t)cap * sizeof *caps);
                if (!nc) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path); break; }
                caps = nc;
            }
            cap_tmp *c = &caps[ncaps++];
            c->rowid = sqlite3_column_int64(q, 0);
            c->clip = ci;
            c->kind = kind;
            c->idx = sqlite3_column_int(q, 3);
            c->text = sqlite3_column_type(q, 4) == SQLITE_NULL ? NULL : sv_strdup((const char *)sqlite3_column_text(q, 4));
        }
        if (st == SLAVA_OK && rc != SQLITE_DONE) st = sv_store_sqlerr(ctx, s, "reading captions");
        sqlite3_finalize(q);
        q = NULL;
    }
    if (st == SLAVA_OK && ncaps) {
        qsort(caps, (size_t)ncaps, sizeof *caps, cap_tmp_cmp);
        for (int i = 0; i < ncaps; i++) out->clips[caps[i].clip].n_cap[caps[i].kind]++;
        for (int i = 0; i < n && st == SLAVA_OK; i++)
            for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
                slava_clip *c = &out->clips[i];
                if (!c->n_cap[k]) continue;
                c->cap_text[k] = calloc((size_t)c->n_cap[k], sizeof(char *));
                if (dims[2]) c->cap[k] = sv_calloc((size_t)c->n_cap[k] * dims[2], sizeof(float));
                if (meta_out) ct[i].meta.cap_idx[k] = malloc((size_t)c->n_cap[k] * sizeof(int));
                if (!c->cap_text[k] || (dims[2] && !c->cap[k]) || (meta_out && !ct[i].meta.cap_idx[k])) {
                    st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
                    break;
                }
            }
        kmap = malloc((size_t)ncaps * sizeof *kmap);
        if (!kmap && st == SLAVA_OK) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
        for (int i = 0, prev_clip = -1, prev_kind = -1, slot = 0; st == SLAVA_OK && i < ncaps; i++) {
            if (caps[i].clip != prev_clip || caps[i].kind != prev_kind) slot = 0;
            prev_clip = caps[i].clip; prev_kind = caps[i].kind;
            caps[i].slot = slot++;
            out->clips[caps[i].clip].cap_text[caps[i].kind][caps[i].slot] = caps[i].text;
            caps[i].text = NULL;
            if (meta_out) ct[caps[i].clip].meta.cap_idx[caps[i].kind][caps[i].slot] = caps[i].idx;
            kmap[i].rowid = caps[i].rowid;
            kmap[i].idx = i;
        }
        if (st == SLAVA_OK) qsort(kmap, (size_t)ncaps, sizeof *kmap, rowmap_cmp);
    }

    /* Clip features (visual, audio), then caption features (text). */
    unsigned char *got_cap = NULL;
    for (int m = 0; m < 3 && st == SLAVA_OK; m++) {
        if (!enc_id[m]) continue;
        const char *sql = m < 2 ?
            "SELECT f.clip, f.t, f.d, f.data FROM features f JOIN clips c ON c.id = f.clip"
            " WHERE f.encoder = ?1 AND c.error IS NULL AND c.split IN (?2, ?3, ?4)" :
            "SELECT f.caption, f.t, f.d, f.data FROM features f JOIN captions cap ON cap.id = f.caption"
            " JOIN clips c ON c.id = cap.clip WHERE f.encoder = ?1 AND c.error IS NULL AND c.split IN (?2, ?3, ?4)";
        if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) { st = sv_store_sqlerr(ctx, s, "reading features"); break; }
        sqlite3_bind_int64(q, 1, enc_id[m]);
        bind_splits(q, 2, split_mask);
        if (m == 2 && ncaps && !(got_cap = calloc((size_t)ncaps, 1))) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
        while (st == SLAVA_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            int64_t owner = sqlite3_column_int64(q, 0);
            /* rows of clips not loaded are skipped before their blob is read (a rank's part) */
            int ci = m < 2 ? rowmap_find(cmap, n, owner) : -1, pi = m < 2 ? -1 : rowmap_find(kmap, ncaps, owner);
            if (ci < 0 && pi < 0) continue;
            int T = sqlite3_column_int(q, 1), D = sqlite3_column_int(q, 2);
            const void *blob = sqlite3_column_blob(q, 3);
            int bytes = sqlite3_column_bytes(q, 3);
            if (D != dims[m] || T < 1 || (m == 2 && T != 1) || (int64_t)bytes != 4 * (int64_t)T * D) {
                st = sv_err(ctx, SLAVA_E_FORMAT, "%s: %s feature row of encoder '%s' has shape [%d, %d] and %d bytes (encoder D = %d)",
                            s->path, MOD_NAMES[m], out->encoder_id[m], T, D, bytes, dims[m]);
                break;
            }
            if (m < 2 ? (m ? out->clips[ci].audio : out->clips[ci].visual) != NULL : got_cap[pi]) {
                /* UNIQUE(encoder, clip / caption) makes this impossible unless the file is damaged */
                st = sv_err(ctx, SLAVA_E_FORMAT, "%s: %s '%s' has two %s feature rows of encoder '%s' (damaged store?)",
                            s->path, m < 2 ? "clip" : "a caption of clip",
                            out->clips[m < 2 ? ci : caps[pi].clip].id, MOD_NAMES[m], out->encoder_id[m]);
                break;
            }
            if (m < 2) {
                float *x = sv_alloc((size_t)T * D * sizeof(float));
                if (!x) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path); break; }
                blob_to_f32(x, blob, (size_t)T * D);
                slava_clip *c = &out->clips[ci];
                if (m == 0 && (flags & SLAVA_LOAD_VISUAL_MEAN) && (part_mask >> c->split & 1) && T > 1) {
                    /* the temporal mean, summed in frame order and scaled by 1/T as training pools it */
                    const float inv = 1.0f / (float)T;
                    for (int t = 1; t < T; t++)
                        for (int k = 0; k < D; k++) x[k] += x[(size_t)t * D + k];
                    for (int k = 0; k < D; k++) x[k] *= inv;
                    T = 1;
                }
                if (m == 0) { c->visual = x; c->t_v = T; }
                else { c->audio = x; c->t_a = T; }
            } else {
                const cap_tmp *cp = &caps[pi];
                blob_to_f32(out->clips[cp->clip].cap[cp->kind] + (size_t)cp->slot * D, blob, (size_t)D);
                got_cap[pi] = 1;
            }
        }
        if (st == SLAVA_OK && rc != SQLITE_DONE) st = sv_store_sqlerr(ctx, s, "reading features");
        sqlite3_finalize(q);
        q = NULL;
    }

    /* A chosen encoder must cover every loaded clip. */
    for (int m = 0; m < 3 && st == SLAVA_OK; m++) {
        if (!enc_id[m]) continue;
        int missing = 0, first = -1;
        if (m < 2) {
            for (int i = 0; i < n; i++) {
                const slava_clip *c = &out->clips[i];
                int lacks = m == 0 ? c->t_v == 0 : (ct[i].meta.has_audio && c->t_a == 0);
                if (lacks) { missing++; if (first < 0) first = i; }
            }
        } else {
            for (int i = 0; i < ncaps; i++)
                if (!got_cap[i]) { missing++; if (first < 0) first = caps[i].clip; }
        }
        if (missing)
            st = sv_err(ctx, SLAVA_E_NOTFOUND, "%s: clip '%s' has no %s features of encoder '%s' (%d %s lack them)", s->path,
                        out->clips[first].id, MOD_NAMES[m], out->encoder_id[m], missing, m < 2 ? "clips" : "captions");
    }

    if (st == SLAVA_OK && meta_out) {
        sv_clip_meta *meta = malloc((size_t)n * sizeof *meta);
        if (!meta) st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path);
        else {
            for (int i = 0; i < n; i++) { meta[i] = ct[i].meta; memset(&ct[i].meta, 0, sizeof ct[i].meta); }
            *meta_out = meta;
        }
    }

    for (int i = 0; i < n; i++) {
        free(ct[i].name);
        free(ct[i].meta.source);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) free(ct[i].meta.cap_idx[k]);
    }
    free(ct);
    for (int i = 0; i < ncaps; i++) free(caps[i].text);
    free(caps);
    free(cmap);
    free(kmap);
    free(got_cap);
    for (int m = 0; m < 3; m++) free(enc_name[m]);
    if (st != SLAVA_OK) slava_dataset_free(out);
    return st;
}

slava_status sv_store_load(slava_ctx *ctx, slava_store *s, unsigned split_mask, unsigned mod_mask,
                           const char *const *enc, slava_dataset *out, sv_clip_meta **meta_out) {
    return store_load(ctx, s, split_mask, mod_mask, enc, out, meta_out, 0, 0, 1, 0);
}

slava_status slava_store_load(slava_ctx *ctx, slava_store *s, unsigned split_mask,
                              const char *const *enc, slava_dataset *out) {
    return sv_store_load(ctx, s, split_mask, 7, enc, out, NULL);
}

slava_status slava_store_load_part(slava_ctx *ctx, slava_store *s, unsigned split_mask, unsigned part_mask, int part,
                                   int parts, const char *const *enc, unsigned flags, slava_dataset *out) {
    if (parts < 1 || part < 0 || part >= parts)
        return sv_err(ctx, SLAVA_E_ARG, "%s: part %d of %d: expected 0 <= part < parts", s->path, part, parts);
    return store_load(ctx, s, split_mask, 7, enc, out, NULL, part_mask, part, parts, flags);
}

/* ------------------------------------------------------------------ summary */

void slava_store_info_free(slava_store_info *info) {
    if (!info) return;
    for (int i = 0; i < info->n_encoders; i++) free(info->encoders[i].name);
    free(info->encoders);
    for (int i = 0; i < info->n_failures; i++) { free(info->failures[i].clip); free(info->failures[i].error); }
    free(info->failures);
    memset(info, 0, sizeof *info);
}

slava_status slava_store_get_info(slava_ctx *ctx, slava_store *s, slava_store_info *out) {
    memset(out, 0, sizeof *out);
    out->schema_version = s->version;
    sqlite3_stmt *q = NULL;
    slava_status st = SLAVA_OK;
    int rc;
#define PREP(sql) do { if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) { st = sv_store_sqlerr(ctx, s, "summary"); goto done; } } while (0)
#define FINISH() do { if (rc != SQLITE_DONE && st == SLAVA_OK) st = sv_store_sqlerr(ctx, s, "summary"); sqlite3_finalize(q); q = NULL; if (st != SLAVA_OK) goto done; } while (0)

    PREP("SELECT split, error IS NOT NULL, has_audio, count(*) FROM clips GROUP BY 1, 2, 3");
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int k = slava_store_split_parse((const char *)sqlite3_column_text(q, 0));
        if (k < 0) continue;
        int64_t c = sqlite3_column_int64(q, 3);
        if (sqlite3_column_int(q, 1)) out->failed[k] += c;
        else {
            out->clips[k] += c;
            if (!sqlite3_column_int(q, 2)) out->no_audio[k] += c;
        }
    }
    FINISH();

    PREP("SELECT c.split, cap.kind, count(*) FROM captions cap JOIN clips c ON c.id = cap.clip"
         " WHERE c.error IS NULL GROUP BY 1, 2");
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int k = slava_store_split_parse((const char *)sqlite3_column_text(q, 0));
        int kind = slava_store_kind_parse((const char *)sqlite3_column_text(q, 1));
        if (k >= 0 && kind >= 0) out->captions[k][kind] = sqlite3_column_int64(q, 2);
    }
    FINISH();

    PREP("SELECT id, modality, name, d FROM encoders ORDER BY CASE modality WHEN 'visual' THEN 0"
         " WHEN 'audio' THEN 1 ELSE 2 END, name");
    int cap = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (out->n_encoders == cap) {
            cap = cap ? 2 * cap : 8;
            slava_store_encoder *ne = realloc(out->encoders, (size_t)cap * sizeof *ne);
            if (!ne) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path); break; }
            out->encoders = ne;
        }
        slava_store_encoder *e = &out->encoders[out->n_encoders++];
        memset(e, 0, sizeof *e);
        e->modality = slava_store_modality_parse((const char *)sqlite3_column_text(q, 1));
        e->name = sv_strdup((const char *)sqlite3_column_text(q, 2));
        e->d = sqlite3_column_int(q, 3);
        /* the encoder's rowid is kept in items[0] until the counts below replace it */
        e->items[0] = sqlite3_column_int64(q, 0);
    }
    FINISH();
    for (int i = 0; i < out->n_encoders; i++) {
        slava_store_encoder *e = &out->encoders[i];
        int64_t id = e->items[0];
        e->items[0] = 0;
        PREP(e->modality == SLAVA_MOD_TEXT ?
             "SELECT c.split, count(*), sum(f.t) FROM features f JOIN captions cap ON cap.id = f.caption"
             " JOIN clips c ON c.id = cap.clip WHERE f.encoder = ?1 AND c.error IS NULL GROUP BY 1" :
             "SELECT c.split, count(*), sum(f.t) FROM features f JOIN clips c ON c.id = f.clip"
             " WHERE f.encoder = ?1 AND c.error IS NULL GROUP BY 1");
        sqlite3_bind_int64(q, 1, id);
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            int k = slava_store_split_parse((const char *)sqlite3_column_text(q, 0));
            if (k < 0) continue;
            e->items[k] = sqlite3_column_int64(q, 1);
            e->rows[k] = sqlite3_column_int64(q, 2);
        }
        FINISH();
    }

    PREP("SELECT name, split, error FROM clips WHERE error IS NOT NULL"
         " ORDER BY CASE split WHEN 'train' THEN 0 WHEN 'val' THEN 1 ELSE 2 END, name");
    cap = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (out->n_failures == cap) {
            cap = cap ? 2 * cap : 16;
            slava_store_failure *nf = realloc(out->failures, (size_t)cap * sizeof *nf);
            if (!nf) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", s->path); break; }
            out->failures = nf;
        }
        slava_store_failure *f = &out->failures[out->n_failures++];
        f->clip = sv_strdup((const char *)sqlite3_column_text(q, 0));
        f->split = slava_store_split_parse((const char *)sqlite3_column_text(q, 1));
        f->error = sv_strdup((const char *)sqlite3_column_text(q, 2));
    }
    FINISH();
#undef PREP
#undef FINISH
done:
    if (q) sqlite3_finalize(q);
    if (st != SLAVA_OK) slava_store_info_free(out);
    return st;
}
