/*
 * store_shard.c — the shard record of a feature store written by `slava encode --shard I/N` (and
 * by each rank of `mpirun slava encode`): table `shard` (key / value: index, count, group size,
 * threads, collection digest, options, encoders, token, complete) and table `shard_first_text`
 * (the caption texts whose feature the shard computed in the batch of the text's first clip).
 * Plain stores have neither table; the schema of include/slava.h is unchanged.
 */
#include "store/store.h"
#include "store/shard.h"
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char SHARD_SQL[] =
    "CREATE TABLE IF NOT EXISTS shard(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS shard_first_text(text TEXT PRIMARY KEY);";

static const char *const ENC_KEYS[SLAVA_MODS] = {"encoder.visual", "encoder.audio", "encoder.text"};

/* Does s have the shard table? 1 yes, 0 no, -1 error. */
static int has_shard_table(slava_ctx *ctx, slava_store *s) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'shard'", -1, &q,
                           NULL) != SQLITE_OK) {
        sv_store_sqlerr(ctx, s, "reading the shard record");
        return -1;
    }
    int rc = sqlite3_step(q), n = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_finalize(q);
    if (n < 0) sv_store_sqlerr(ctx, s, "reading the shard record");
    return n < 0 ? -1 : n > 0;
}

static void copy_str(char *dst, size_t cap, const unsigned char *src) {
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

slava_status slava_store_get_shard(slava_ctx *ctx, slava_store *s, slava_shard_info *out, int *is_shard) {
    memset(out, 0, sizeof *out);
    *is_shard = 0;
    int has = has_shard_table(ctx, s);
    if (has < 0) return SLAVA_E_STORE;
    if (!has) return SLAVA_OK;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM shard", -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "reading the shard record");
    int rc, keys = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        const unsigned char *v = sqlite3_column_text(q, 1);
        int iv = sqlite3_column_int(q, 1);
        if (!k) continue;
        keys++;
        if (!strcmp(k, "index")) out->index = iv;
        else if (!strcmp(k, "count")) out->count = iv;
        else if (!strcmp(k, "group_clips")) out->group_clips = iv;
        else if (!strcmp(k, "threads")) out->threads = iv;
        else if (!strcmp(k, "complete")) out->complete = iv;
        else if (!strcmp(k, "collection")) copy_str(out->collection, sizeof out->collection, v);
        else if (!strcmp(k, "options")) copy_str(out->options, sizeof out->options, v);
        else if (!strcmp(k, "token")) copy_str(out->token, sizeof out->token, v);
        else {
            keys--;
            for (int m = 0; m < SLAVA_MODS; m++)
                if (!strcmp(k, ENC_KEYS[m])) { copy_str(out->encoder[m], sizeof out->encoder[m], v); keys++; }
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return sv_store_sqlerr(ctx, s, "reading the shard record");
    if (out->count < 1 || out->index < 1 || out->index > out->count || out->group_clips < 1 || !out->collection[0])
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: the shard record is incomplete or invalid (%d keys; shard %d/%d)", s->path,
                      keys, out->index, out->count);
    *is_shard = 1;
    return SLAVA_OK;
}

static slava_status put_kv(slava_ctx *ctx, slava_store *s, const char *key, const char *value) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO shard(key, value) VALUES(?1, ?2)", -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "writing the shard record");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? SLAVA_OK : sv_store_sqlerr(ctx, s, "writing the shard record");
}

static slava_status put_int(slava_ctx *ctx, slava_store *s, const char *key, int v) {
    char b[32];
    snprintf(b, sizeof b, "%d", v);
    return put_kv(ctx, s, key, b);
}

/* 128 random bits as hex (the kernel's pool; the clock and pid when it cannot be read). */
static void new_token(char out[33]) {
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY), got = 0;
    if (fd >= 0) {
        got = read(fd, r, sizeof r) == (ssize_t)sizeof r;
        close(fd);
    }
    if (!got) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec, b = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ a;
        memcpy(r, &a, 8);
        memcpy(r + 8, &b, 8);
    }
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* The first field in which two records of an encode differ, NULL when they agree. */
static const char *shard_differs(const slava_shard_info *a, const slava_shard_info *b) {
    if (a->index != b->index || a->count != b->count) return "shard index or count";
    if (a->group_clips != b->group_clips) return "group size";
    if (strcmp(a->collection, b->collection)) return "collection";
    if (strcmp(a->options, b->options)) return "options";
    for (int m = 0; m < SLAVA_MODS; m++)
        if (strcmp(a->encoder[m], b->encoder[m])) return ENC_KEYS[m];
    return NULL;
}

slava_status sv_shard_claim(slava_ctx *ctx, slava_store *s, const slava_shard_info *want) {
    slava_shard_info have;
    int is_shard;
    SV_TRY(slava_store_get_shard(ctx, s, &have, &is_shard));
    if (is_shard) {
        const char *d = shard_differs(&have, want);
        if (d)
            return sv_err(ctx, SLAVA_E_ARG, "%s: holds shard %d/%d of another encode (its %s differs from this run's); "
                          "remove it or choose another shard file", s->path, have.index, have.count, d);
        return sv_shard_set_complete(ctx, s, 0);
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM clips", -1, &q, NULL) != SQLITE_OK) return sv_store_sqlerr(ctx, s, "reading clips");
    int rc = sqlite3_step(q);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    if (n < 0) return sv_store_sqlerr(ctx, s, "reading clips");
    if (n > 0)
        return sv_err(ctx, SLAVA_E_ARG, "%s: holds %lld clips but is not a shard store; a shard is written to a file of its own",
                      s->path, (long long)n);
    int mine;
    SV_TRY(sv_store_tx_begin(ctx, s, &mine));
    char token[33];
    new_token(token);
    slava_status st = sv_store_exec(ctx, s, SHARD_SQL);
    if (!st) st = put_int(ctx, s, "index", want->index);
    if (!st) st = put_int(ctx, s, "count", want->count);
    if (!st) st = put_int(ctx, s, "group_clips", want->group_clips);
    if (!st) st = put_int(ctx, s, "threads", want->threads);
    if (!st) st = put_int(ctx, s, "complete", 0);
    if (!st) st = put_kv(ctx, s, "collection", want->collection);
    if (!st) st = put_kv(ctx, s, "options", want->options);
    if (!st) st = put_kv(ctx, s, "token", token);
    for (int m = 0; m < SLAVA_MODS && !st; m++) st = put_kv(ctx, s, ENC_KEYS[m], want->encoder[m]);
    slava_status st2 = sv_store_tx_end(ctx, s, mine, st == SLAVA_OK);
    return st ? st : st2;
}

slava_status sv_shard_first_text(slava_ctx *ctx, slava_store *s, const char *text) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO shard_first_text(text) VALUES(?1)", -1, &q, NULL) != SQLITE_OK)
        return sv_store_sqlerr(ctx, s, "writing the shard record");
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? SLAVA_OK : sv_store_sqlerr(ctx, s, "writing the shard record");
}

slava_status sv_shard_set_complete(slava_ctx *ctx, slava_store *s, int complete) {
    return put_int(ctx, s, "complete", complete ? 1 : 0);
}
