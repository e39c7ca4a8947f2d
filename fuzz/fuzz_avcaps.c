/* fuzz_avcaps.c — libFuzzer target for the AVCaps captions reader: any bytes given as a
 * captions file must give either a collection or a one-line error, never a crash or a leak. */
#include "slava.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_avcaps_%d.json", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    slava_ctx *ctx = slava_ctx_new();
    slava_collection c = {0};
    slava_status st = slava_collection_add_captions(ctx, &c, path, SLAVA_SPLIT_TRAIN);
    if (st == SLAVA_OK) {
        for (int i = 0; i < c.n; i++)
            for (int k = 0; k < SLAVA_CAP_KINDS; k++)
                for (int j = 0; j < c.clips[i].n_cap[k]; j++)
                    if (!c.clips[i].cap[k][j]) abort();
        /* Reading the same ids again must be refused whole. */
        int n = c.n;
        if (n > 0 && slava_collection_add_captions(ctx, &c, path, SLAVA_SPLIT_TEST) == SLAVA_OK) abort();
        if (c.n != n) abort();
    } else {
        const char *m = slava_ctx_error(ctx);
        if (!*m || strchr(m, '\n') || !strstr(m, path)) abort();
        if (c.n != 0) abort();
    }
    slava_collection_free(&c);
    slava_ctx_free(ctx);
    return 0;
}
