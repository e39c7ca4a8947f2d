/*
 * fuzz_heads.c — libFuzzer target for trained-heads files (slava_heads_load): any bytes as a
 * heads .safetensors must give either heads that project features of their own sizes (checked
 * for every modality; no NaN when the weights are small enough that no sum can overflow) or a one-line error naming the
 * file.
 */
#include "fuzz_util.h"
#include "align/heads.h"
#include <math.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *path = fz_write("heads.safetensors", data, size);
    slava_ctx *ctx = slava_ctx_new();
    slava_heads *h = NULL;
    slava_status st = slava_heads_load(ctx, path, &h);
    fz_check_error(ctx, st, path);
    if (st == SLAVA_OK) {
        int P = slava_heads_dim(h);
        if (P < 1) abort();
        const int dims[3] = {h->d_v, h->d_a, h->d_t};
        int finite = 1;
        for (size_t i = 0; i < h->n; i++) finite &= fabsf(h->mem[i]) < 1e6f;   /* no overflow possible */
        float *out = malloc(sizeof(float) * (size_t)P);
        for (int m = 0; m < SLAVA_MODS; m++) {
            if ((int64_t)dims[m] * 2 * (int64_t)(h->H > P ? h->H : P) > (1 << 24)) continue;   /* keep runs fast */
            float *x = calloc((size_t)dims[m] * 2, sizeof(float));
            if (!x || !out) abort();
            for (int i = 0; i < dims[m] * 2; i++) x[i] = (float)((i % 7) - 3) * 0.25f;
            if (slava_heads_project(ctx, h, (slava_modality)m, x, 2, dims[m], out) != SLAVA_OK) abort();
            /* a wrong feature size is refused, not read past */
            if (slava_heads_project(ctx, h, (slava_modality)m, x, 1, dims[m] + 1, out) == SLAVA_OK) abort();
            if (finite && dims[m] < 4096)
                for (int i = 0; i < P; i++) if (isnan(out[i])) abort();
            free(x);
        }
        free(out);
        slava_heads_free(h);
    }
    slava_ctx_free(ctx);
    return 0;
}
