/* fuzz_store_import.c — libFuzzer target for `slava store import` (slava_store_import): the input
 * supplies the "clips" and "captions" metadata JSON and the bytes of a small feature matrix and
 * its row → clip index, written as a safetensors file and imported into a store that persists
 * across runs (so imports also meet rows already stored). A failed import must leave the row
 * counts unchanged; anything else is a crash. */
#include "io/safetensors.h"
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

static char store_path[256], file_path[256];
static slava_store *store;
static int runs;

static long long rows_total(void) {
    sqlite3 *db;
    long long n = -1;
    if (sqlite3_open_v2(store_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM clips) + (SELECT count(*) FROM captions) * 1000"
                                   " + (SELECT count(*) FROM features) * 1000000", -1, &q, NULL) == SQLITE_OK) {
            if (sqlite3_step(q) == SQLITE_ROW) n = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
    }
    sqlite3_close(db);
    return n;
}

static void reset_store(slava_ctx *ctx) {
    char aux[300];
    slava_store_close(store);
    store = NULL;
    unlink(store_path);
    snprintf(aux, sizeof aux, "%s-wal", store_path); unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", store_path); unlink(aux);
    if (slava_store_open(ctx, store_path, 1, &store) != SLAVA_OK) abort();
}

/* Next '\0'-terminated piece of the input (a copy), or the rest when there is no '\0'. */
static char *piece(const unsigned char **p, const unsigned char *end) {
    const unsigned char *z = *p;
    while (z < end && *z) z++;
    size_t n = (size_t)(z - *p);
    char *s = malloc(n + 1);
    memcpy(s, *p, n);
    s[n] = 0;
    *p = z < end ? z + 1 : end;
    return s;
}

static void cleanup(void) {
    char aux[300];
    slava_store_close(store);
    store = NULL;
    unlink(store_path);
    snprintf(aux, sizeof aux, "%s-wal", store_path); unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", store_path); unlink(aux);
    unlink(file_path);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    slava_ctx *ctx = slava_ctx_new();
    if (!store) {
        atexit(cleanup);
        snprintf(store_path, sizeof store_path, "/tmp/fuzz_store_%d.db", (int)getpid());
        snprintf(file_path, sizeof file_path, "/tmp/fuzz_store_%d.safetensors", (int)getpid());
        reset_store(ctx);
    }
    if (++runs % 500 == 0) reset_store(ctx);

    const unsigned char *p = data, *end = data + size;
    char *clips = piece(&p, end), *caps = piece(&p, end);
    int rows = p < end ? *p++ % 16 : 0;
    int d = p < end ? 1 + *p++ % 8 : 1;
    int32_t idx[16] = {0};
    float x[16 * 8] = {0};
    for (int i = 0; i < rows && p + 4 <= end; i++, p += 4) memcpy(&idx[i], p, 4);
    for (int i = 0; i < rows * d && p + 4 <= end; i++, p += 4) memcpy(&x[i], p, 4);
    int modality = p < end ? *p++ % 3 : 0;
    static const char *const feat[3] = {"visual", "audio", "text"}, *const index[3] = {"visual_clip", "audio_clip", "text_caption"};
    static const char *const enc_key[3] = {"encoder.visual", "encoder.audio", "encoder.text"};
    sv_wtensor t[2] = {{.name = feat[modality], .dtype = SV_F32, .ndim = 2, .shape = {rows, d}, .data = x},
                       {.name = index[modality], .dtype = SV_I32, .ndim = 1, .shape = {rows}, .data = idx}};
    const char *meta[] = {"format", "slava-features/1", enc_key[modality], "fuzz-encoder", "clips", clips,
                          "captions", caps, NULL};
    if (sv_st_write(ctx, file_path, t, rows ? 2 : 0, meta) == SLAVA_OK) {
        long long before = rows_total();
        if (slava_store_import(ctx, store, file_path, NULL) != SLAVA_OK) {
            if (!*slava_ctx_error(ctx)) abort();          /* every failure says why */
            if (rows_total() != before) abort();          /* and changes nothing */
        }
    }
    free(clips);
    free(caps);
    slava_ctx_free(ctx);
    return 0;
}
