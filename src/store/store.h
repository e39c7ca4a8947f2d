/*
 * store.h — internals of the SQLite feature store shared by store.c (schema, writes, load,
 * summary) and store_io.c (safetensors export / import). The public API is the "store" section
 * of include/slava.h; nothing here is visible to library users.
 *
 * A slava_store owns one sqlite3 connection and a cache of prepared statements (one per SQL text
 * in store.c's table). Features are float32 blobs, little-endian on disk whatever the host.
 */
#ifndef SLAVA_STORE_H
#define SLAVA_STORE_H

#include "base/base.h"
#include "io/filestamp.h"
#include <sqlite3.h>

#define SV_STORE_SCHEMA_VERSION 2   /* 2: clips.source_size / source_mtime / source_sha256 */

/* Prepared statements, by number (SQL texts in store.c). */
enum {
    SQ_CLIP_GET, SQ_CLIP_INSERT, SQ_CLIP_UPDATE,
    SQ_CAP_GET, SQ_CAP_INSERT, SQ_CAP_UPDATE,
    SQ_ENC_GET, SQ_ENC_INSERT,
    SQ_FEAT_CLIP_HAS, SQ_FEAT_CAP_HAS, SQ_FEAT_CLIP_INSERT, SQ_FEAT_CAP_INSERT,
    SQ_COUNT
};

struct slava_store {
    sqlite3      *db;
    char         *path;
    int           user_tx;            /* a slava_store_begin() transaction is open */
    int           readonly;           /* opened with SLAVA_STORE_READ */
    int           version;            /* the file's schema version (1: read as it is, or upgraded by a writer) */
    int           lock_fd;            /* descriptor for the writer lock (store_lock.c), -1 none */
    int           locked;             /* the writer lock is held on lock_fd */
    sqlite3_stmt *stmt[SQ_COUNT];     /* prepared lazily, reset before each use */
};

/* Per-clip facts slava_dataset has no room for (export keeps them). Owned by the caller. */
typedef struct {
    char  *source;     /* NULL when unknown */
    double duration;   /* < 0 when unknown */
    int    has_audio;
    int   *cap_idx[SLAVA_CAP_KINDS];   /* [n_cap[k]] the stored idx of each caption (malloc'd) */
} sv_clip_meta;

/* The message for a failed SQLite call: "<store>: <what>: <sqlite message>". */
slava_status sv_store_sqlerr(slava_ctx *ctx, slava_store *s, const char *what);
/* The cached statement `id`, reset and with bindings cleared; NULL on prepare failure (message set). */
sqlite3_stmt *sv_store_stmt(slava_ctx *ctx, slava_store *s, int id);
/* Run one SQL statement (no result rows) or a script. */
slava_status sv_store_exec(slava_ctx *ctx, slava_store *s, const char *sql);

/* Start a transaction unless one is open (*mine = 1 when this call started it); finish with
 * sv_store_tx_end(ok) which commits (ok) or rolls back (!ok) only a transaction it started. */
slava_status sv_store_tx_begin(slava_ctx *ctx, slava_store *s, int *mine);
slava_status sv_store_tx_end(slava_ctx *ctx, slava_store *s, int mine, int ok);

/* Rows with "keep" semantics (put_dataset, import): a stored clip / caption is left as it is,
 * but must agree (same split; same text unless one of the two is unknown) → else SLAVA_E_FORMAT.
 * *rowid receives the row's id, *added (may be NULL) whether it was inserted now,
 * *stored_has_audio (may be NULL) the has_audio of the row as stored. */
slava_status sv_store_clip_keep(slava_ctx *ctx, slava_store *s, const char *name, int split,
                                const char *source, double duration, int has_audio,
                                int64_t *rowid, int *added, int *stored_has_audio);
slava_status sv_store_caption_keep(slava_ctx *ctx, slava_store *s, int64_t clip_rowid, const char *clip_name,
                                   int kind, int idx, const char *text, int64_t *rowid, int *added);
/* Encoder row for (modality, name), created with d when absent; a stored d != d → SLAVA_E_SHAPE. */
slava_status sv_store_encoder(slava_ctx *ctx, slava_store *s, int modality, const char *name, int d,
                              int64_t *enc_id);
/* Feature row owned by a clip (is_caption = 0) or a caption (1); skipped when one exists for this
 * encoder (*added = 0). x [T, D]. */
slava_status sv_store_feature(slava_ctx *ctx, slava_store *s, int is_caption, int64_t owner, int64_t enc_id,
                              const float *x, int T, int D, int *added);

/* The same from a float32 little-endian blob of T·D values (copied as is: merge copies rows). */
slava_status sv_store_feature_blob(slava_ctx *ctx, slava_store *s, int is_caption, int64_t owner, int64_t enc_id,
                                   const void *blob, int T, int D, int *added);
/* Look a clip up by name: 1 found (row id, split, has_audio, failed = stored with an error),
 * 0 absent, -1 error (message set). */
int sv_store_clip_find(slava_ctx *ctx, slava_store *s, const char *name, int64_t *rowid, int *split, int *has_audio,
                       int *failed);

/* slava_store_load with a modality mask (bits 1<<slava_modality; modalities outside it load as if
 * none were stored) and, when meta != NULL, a malloc'd sv_clip_meta [out->n] in clip order. */
slava_status sv_store_load(slava_ctx *ctx, slava_store *s, unsigned split_mask, unsigned mod_mask,
                           const char *const *enc, slava_dataset *out, sv_clip_meta **meta);
void sv_clip_meta_free(sv_clip_meta *meta, int n);

/* --- bringing a stored clip up to date with its collection entry (store_sync.c, used by encode) ---
 * All of them work on the clip named `name`, which must be stored (else SLAVA_E_NOTFOUND), and
 * join an open transaction (slava_store_begin) or run in one of their own. */
typedef struct {
    int   split;
    int   failed;            /* recorded with an error */
    char *source;            /* malloc'd, NULL unknown */
    sv_file_stamp stamp;     /* all unknown in a version-1 store / for imported clips */
} sv_stored_source;
/* *found = 0 when the clip is not stored (out untouched). */
slava_status sv_store_get_source(slava_ctx *ctx, slava_store *s, const char *name, sv_stored_source *out, int *found);
/* Record the clip's source path (NULL keeps the stored one) and stamp. */
slava_status sv_store_set_source(slava_ctx *ctx, slava_store *s, const char *name, const char *source,
                                 const sv_file_stamp *st);
/* Do the stored captions of the clip say the same as texts[k][0 .. n[k])? *same = 0 when a kind
 * has another count or a known text differs (an unknown stored text matches anything). */
slava_status sv_store_captions_same(slava_ctx *ctx, slava_store *s, const char *name, const int *n,
                                    char *const *const *texts, int *same);
/* Move the clip to another split (its features stay: they describe the same media). */
slava_status sv_store_move_clip(slava_ctx *ctx, slava_store *s, const char *name, int split);
/* Delete the clip's visual and audio features of every encoder (its media changed). */
slava_status sv_store_drop_clip_features(slava_ctx *ctx, slava_store *s, const char *name);
/* Delete the clip's captions of kind k with idx >= n[k] (and their features). */
slava_status sv_store_trim_captions(slava_ctx *ctx, slava_store *s, const char *name, const int *n);

#endif
