/*
 * fuzz_index.c — libFuzzer target for search index files (slava_index_open): any bytes must give
 * either an index whose every accessor and search works (info, each clip, lookup by id, a search
 * from each of the first clips in every modality, exact and approximate, and the JSON output) or
 * a one-line error naming the file. Seeds: a float32 index with an approximate graph and a
 * float16 one (fuzz/corpus/fuzz_index).
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *path = fz_write("x.index", data, size);
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(1);
    slava_index *ix = NULL;
    slava_status st = slava_index_open(ctx, path, &ix);
    fz_check_error(ctx, st, path);
    if (st == SLAVA_OK) {
        slava_index_info info;
        slava_index_get_info(ix, &info);
        if (info.n_clips < 0 || info.dim < 1) abort();
        for (int i = 0; i < info.n_clips; i++) {
            slava_index_clip c;
            slava_index_get_clip(ix, i, &c);
            if (!c.id || slava_index_find_clip(ix, c.id) != i) abort();
            for (int k = 0; k < SLAVA_CAP_KINDS; k++)
                for (int j = 0; j < c.n_captions[k]; j++)
                    if (c.captions[k][j] && strlen(c.captions[k][j]) > size) abort();
        }
        for (int i = 0; i < info.n_clips && i < 3; i++) {
            slava_index_clip c;
            slava_index_get_clip(ix, i, &c);
            slava_search_term t = {SLAVA_TERM_CLIP, c.id, 1.0f};
            slava_search_query q;
            if (slava_search_query_build(ctx, ix, NULL, 1, &t, &q) != SLAVA_OK) continue;   /* e.g. all-zero rows */
            for (int in = SLAVA_IN_VISUAL; in <= SLAVA_IN_BOTH; in++)
                for (int exact = 0; exact <= 1; exact++) {
                    slava_search_opts o;
                    slava_search_opts_default(&o);
                    o.in = in;
                    o.k = 4;
                    o.exact = exact;
                    slava_search_hit hits[4];
                    int n = -1;
                    if (slava_search(ctx, ix, &q, &o, hits, &n) != SLAVA_OK || n < 0 || n > 4) abort();
                    for (int h = 0; h < n; h++)
                        if (hits[h].clip < 0 || hits[h].clip >= info.n_clips || hits[h].t_end < hits[h].t_start) abort();
                    char *js = slava_search_format(ix, 1, &t, &o, hits, n, SLAVA_FMT_JSON);
                    if (!js) abort();
                    free(js);
                }
            slava_search_query_free(&q);
        }
        slava_index_free(ix);
    }
    slava_ctx_free(ctx);
    return 0;
}
