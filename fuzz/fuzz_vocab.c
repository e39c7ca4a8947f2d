/*
 * fuzz_vocab.c — libFuzzer target for the tokenizer files (slava_tokenizer_load): the input is
 * vocab.json, a NUL byte, then merges.txt. Any bytes must give either a tokenizer that turns
 * text into [bos, non-negative ids..., eos] within the context length, or a one-line error
 * naming vocab.json or merges.txt.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const unsigned char *z = memchr(data, 0, size);
    size_t nv = z ? (size_t)(z - data) : size;
    const char *vp = fz_write("vocab.json", data, nv);
    const char *mp = fz_write("merges.txt", z ? z + 1 : data + size, z ? size - nv - 1 : 0);
    slava_ctx *ctx = slava_ctx_new();
    slava_tokenizer *t = NULL;
    slava_status st = slava_tokenizer_load(ctx, fz_dir(), &t);
    if (st != SLAVA_OK) {
        const char *m = slava_ctx_error(ctx);
        fz_check_error(ctx, st, NULL);
        if (!strstr(m, vp) && !strstr(m, mp)) abort();
    } else {
        /* the merges file's own first symbols and some fixed texts */
        const char *texts[] = {"a photo of a dog", "<|startoftext|> x <|endoftext|>", "\xff\xfe rain's 12 ., !!",
                               (const char *)(z ? z + 1 : data)};
        size_t lens[] = {16, 31, 18, z ? (size - nv - 1 < 200 ? size - nv - 1 : 200) : (nv < 200 ? nv : 200)};
        for (int i = 0; i < 4; i++) {
            int ids[77], n = 0, nb = 0;
            if (slava_tokenize(ctx, t, texts[i], lens[i], 77, ids, &n, &nb) != SLAVA_OK) abort();
            if (n < 2 || n > 77 || ids[0] != slava_tokenizer_bos(t) || ids[n - 1] != slava_tokenizer_eos(t)) abort();
            for (int k = 0; k < n; k++) if (ids[k] < 0) abort();
        }
        slava_tokenizer_free(t);
    }
    slava_ctx_free(ctx);
    return 0;
}
