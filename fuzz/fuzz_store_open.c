/*
 * fuzz_store_open.c — libFuzzer target for opening and reading a feature store whose SQLite file
 * is damaged (the seeds are small valid stores; mutations corrupt pages, the schema, rows and
 * blobs). Open, info, load, clip state, text-feature lookup and export must each either work or
 * fail with a one-line error naming the store (or the export file), never crash or read out of
 * bounds; a store that is refused is left byte for byte as it was.
 */
#include "fuzz_util.h"

static void unlink_store(const char *path) {
    char aux[1200];
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path); unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path); unlink(aux);
}

static int same_bytes(const char *path, const unsigned char *data, size_t size) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char buf[4096];
    size_t off = 0, n;
    int same = 1;
    while (same && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        same = off + n <= size && memcmp(buf, data + off, n) == 0;
        off += n;
    }
    fclose(f);
    return same && off == size;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *path = fz_path("store.db");
    char spath[1200], xpath[1200];
    snprintf(spath, sizeof spath, "%s", path);
    snprintf(xpath, sizeof xpath, "%s", fz_path("export.safetensors"));
    unlink_store(spath);
    fz_write("store.db", data, size);
    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_status st = slava_store_open(ctx, spath, 0, &s);
    fz_check_error(ctx, st, spath);
    if (st != SLAVA_OK) {
        /* a refused file is left as it was */
        if ((st == SLAVA_E_FORMAT || st == SLAVA_E_UNSUPPORTED) && !same_bytes(spath, data, size)) abort();
        slava_ctx_free(ctx);
        return 0;
    }
    slava_store_info info;
    st = slava_store_get_info(ctx, s, &info);
    fz_check_error(ctx, st, spath);
    if (st == SLAVA_OK) {
        if (info.n_encoders < 0 || info.n_failures < 0) abort();
        slava_store_info_free(&info);
    }
    slava_dataset ds;
    memset(&ds, 0, sizeof ds);
    st = slava_store_load(ctx, s, 0, NULL, &ds);
    fz_check_error(ctx, st, spath);
    if (st == SLAVA_OK) {
        /* every loaded row is readable and as long as declared */
        volatile float sink = 0;
        for (int i = 0; i < ds.n; i++) {
            const slava_clip *c = &ds.clips[i];
            if (!c->id || c->split < 0 || c->split >= SLAVA_SPLITS || c->t_v < 0 || c->t_a < 0) abort();
            if (c->t_v) sink += c->visual[(size_t)c->t_v * ds.d_v - 1];
            if (c->t_a) sink += c->audio[(size_t)c->t_a * ds.d_a - 1];
            for (int k = 0; k < SLAVA_CAP_KINDS; k++)
                if (c->n_cap[k] && c->cap[k]) sink += c->cap[k][(size_t)c->n_cap[k] * ds.d_t - 1];
        }
        (void)sink;
        if (ds.n > 0) {
            slava_clip_state cs;
            char *reason = NULL;
            const char *enc[SLAVA_MODS] = {ds.encoder_id[0], ds.encoder_id[1], ds.encoder_id[2]};
            fz_check_error(ctx, slava_store_clip_state(ctx, s, ds.clips[0].id, enc, &cs, &reason), spath);
            free(reason);
            if (ds.encoder_id[2] && ds.clips[0].n_cap[0] && ds.clips[0].cap_text[0] && ds.clips[0].cap_text[0][0]) {
                float *row = calloc((size_t)ds.d_t, sizeof(float));
                int found = 0;
                fz_check_error(ctx, slava_store_find_text_feature(ctx, s, ds.clips[0].cap_text[0][0], ds.encoder_id[2],
                                                                  row, ds.d_t, &found), spath);
                free(row);
            }
        }
        slava_dataset_free(&ds);
    }
    slava_store_counts counts;
    st = slava_store_export(ctx, s, xpath, 0, 0, NULL, &counts);
    if (st != SLAVA_OK) {
        const char *m = slava_ctx_error(ctx);
        fz_check_error(ctx, st, NULL);
        if (!strstr(m, spath) && !strstr(m, xpath)) abort();
    }
    unlink(xpath);
    slava_store_close(s);
    slava_ctx_free(ctx);
    return 0;
}
