/* fuzz_safetensors.c — libFuzzer target for the safetensors header parser (sv_st_parse). */
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    slava_ctx *ctx = slava_ctx_new();
    sv_stfile f = {0};
    if (sv_st_parse(ctx, "fuzz.safetensors", data, size, &f) == SLAVA_OK) {
        /* Touch every tensor's bytes: spans were validated to lie inside the buffer. */
        volatile unsigned char sink = 0;
        for (int i = 0; i < f.n; i++)
            if (f.tensors[i].nbytes) sink ^= ((const unsigned char *)f.tensors[i].data)[f.tensors[i].nbytes - 1];
        (void)sink;
        free(f.metadata_json);
        for (int i = 0; i < f.n; i++) free(f.tensors[i].name);
        free(f.tensors);
    }
    slava_ctx_free(ctx);
    return 0;
}
