/*
 * store_testutil.h — helpers shared by the feature-store tests: a deterministic synthetic
 * slava_dataset (clips over the three splits, variable frame / chunk counts, clips without
 * audio, 0–5 captions per kind with some texts repeated), a bitwise dataset comparison and raw
 * row counts read straight from the SQLite file.
 */
#ifndef SLAVA_STORE_TESTUTIL_H
#define SLAVA_STORE_TESTUTIL_H

#include "test.h"
#include <sqlite3.h>
#include <stdint.h>

static uint64_t tu_state;
static inline float tu_rand(void) {
    tu_state = tu_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((tu_state >> 40) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}
static inline float *tu_floats(size_t n) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = tu_rand();
    return x;
}
static inline char *tu_str(const char *fmt, int a, int b, int c) {
    char buf[256];
    snprintf(buf, sizeof buf, fmt, a, b, c);
    return strdup(buf);
}

/* n clips named c0000.. in split order (train, val, test), so load order = generation order. */
static inline void tu_make_dataset(slava_dataset *ds, int n, int dv, int da, int dt, uint64_t seed, const char *enc_tag) {
    memset(ds, 0, sizeof *ds);
    tu_state = seed;
    ds->d_v = dv; ds->d_a = da; ds->d_t = dt;
    ds->n = n;
    ds->clips = calloc((size_t)n, sizeof(slava_clip));
    char buf[64];
    const char *mods[3] = {"visual", "audio", "text"};
    for (int m = 0; m < 3; m++) { snprintf(buf, sizeof buf, "%s-%s", enc_tag, mods[m]); ds->encoder_id[m] = strdup(buf); }
    for (int i = 0; i < n; i++) {
        slava_clip *c = &ds->clips[i];
        c->id = tu_str("c%04d", i, 0, 0);
        c->split = i < n / 2 ? SLAVA_SPLIT_TRAIN : i < 3 * n / 4 ? SLAVA_SPLIT_VAL : SLAVA_SPLIT_TEST;
        c->t_v = 1 + i % 5;
        c->visual = tu_floats((size_t)c->t_v * dv);
        c->t_a = i % 4 == 3 ? 0 : 1 + i % 3;          /* every 4th clip has no audio */
        c->audio = c->t_a ? tu_floats((size_t)c->t_a * da) : NULL;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            int nc = k == SLAVA_CAP_GPT ? 3 : (i + k) % 6;   /* 0..5 human captions, 3 GPT */
            c->n_cap[k] = nc;
            if (!nc) continue;
            c->cap[k] = tu_floats((size_t)nc * dt);
            c->cap_text[k] = calloc((size_t)nc, sizeof(char *));
            for (int j = 0; j < nc; j++)
                c->cap_text[k][j] = j == 0 && k == SLAVA_CAP_AUDIO ? strdup("a dog barks\nloudly")  /* repeated text */
                                                                   : tu_str("clip %d kind %d caption %d", i, k, j);
        }
    }
}

/* Bitwise comparison; returns the number of differences found (and prints the first). */
static inline int tu_compare(const slava_dataset *a, const slava_dataset *b) {
    int bad = 0;
#define TU_DIFF(...) do { if (!bad++) { fprintf(stderr, "dataset differs: "); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
    if (a->n != b->n || a->d_v != b->d_v || a->d_a != b->d_a || a->d_t != b->d_t) {
        TU_DIFF("sizes n %d/%d d %d/%d %d/%d %d/%d", a->n, b->n, a->d_v, b->d_v, a->d_a, b->d_a, a->d_t, b->d_t);
        return bad;
    }
    for (int m = 0; m < 3; m++)
        if ((a->encoder_id[m] == NULL) != (b->encoder_id[m] == NULL) ||
            (a->encoder_id[m] && strcmp(a->encoder_id[m], b->encoder_id[m])))
            TU_DIFF("encoder %d", m);
    for (int i = 0; i < a->n; i++) {
        const slava_clip *x = &a->clips[i], *y = &b->clips[i];
        if (strcmp(x->id, y->id) || x->split != y->split) { TU_DIFF("clip %d id %s/%s", i, x->id, y->id); continue; }
        if (x->t_v != y->t_v || (x->t_v && memcmp(x->visual, y->visual, (size_t)x->t_v * a->d_v * 4)))
            TU_DIFF("clip %s visual", x->id);
        if (x->t_a != y->t_a || (x->t_a && memcmp(x->audio, y->audio, (size_t)x->t_a * a->d_a * 4)))
            TU_DIFF("clip %s audio", x->id);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            if (x->n_cap[k] != y->n_cap[k]) { TU_DIFF("clip %s kind %d count %d/%d", x->id, k, x->n_cap[k], y->n_cap[k]); continue; }
            if (!x->n_cap[k]) continue;
            if ((x->cap[k] == NULL) != (y->cap[k] == NULL) ||
                (x->cap[k] && memcmp(x->cap[k], y->cap[k], (size_t)x->n_cap[k] * a->d_t * 4)))
                TU_DIFF("clip %s kind %d text features", x->id, k);
            for (int j = 0; j < x->n_cap[k]; j++) {
                const char *s = x->cap_text[k] ? x->cap_text[k][j] : NULL, *t = y->cap_text[k] ? y->cap_text[k][j] : NULL;
                if ((s == NULL) != (t == NULL) || (s && strcmp(s, t))) TU_DIFF("clip %s kind %d caption %d text", x->id, k, j);
            }
        }
    }
#undef TU_DIFF
    return bad;
}

/* tmp_path() with 64 live results (test.h's keeps 8; these tests hold more paths at once). */
static inline const char *tu_tmp(const char *rel) {
    static char bufs[64][1024];
    static int k;
    char *b = bufs[k++ & 63];
    snprintf(b, sizeof bufs[0], "%s/%s", SLAVA_TMP, rel);
    return b;
}

/* Rows of a table read with a separate SQLite connection (-1 on error). */
static inline long long tu_count(const char *db_path, const char *table) {
    sqlite3 *db = NULL;
    long long n = -1;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
            if (sqlite3_step(q) == SQLITE_ROW) n = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
    }
    sqlite3_close(db);
    return n;
}

/* "clips/captions/encoders/features" row counts as one comparable string. */
static inline void tu_counts(const char *db_path, char *out, size_t cap) {
    snprintf(out, cap, "%lld/%lld/%lld/%lld", tu_count(db_path, "clips"), tu_count(db_path, "captions"),
             tu_count(db_path, "encoders"), tu_count(db_path, "features"));
}

static inline void tu_remove_store(const char *path) {
    char aux[1200];
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path); unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path); unlink(aux);
}

#endif
