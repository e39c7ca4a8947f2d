/*
 * fuzz_tokenizer.c — libFuzzer target for the CLIP tokenizer: any bytes (invalid UTF-8, NUL,
 * entities, mojibake, huge words) must tokenise without error into [bos, ids in the vocab..., eos]
 * of at most the context length, and the cleaner must give valid UTF-8. The fixture vocabulary is
 * loaded once.
 */
#include "text/tokenizer.h"
#include "text/text_clean.h"

static slava_tokenizer *tok;
static sv_cleaner *cleaner;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    slava_ctx *ctx = slava_ctx_new();
    if (slava_tokenizer_load(ctx, SLAVA_FIXTURES "/clip-model", &tok) != SLAVA_OK) __builtin_trap();
    slava_ctx_free(ctx);
    cleaner = sv_cleaner_new();
    if (!cleaner) __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    slava_ctx *ctx = slava_ctx_new();
    int ids[77], n = 0, nb = 0;
    if (slava_tokenize(ctx, tok, (const char *)data, size, 77, ids, &n, &nb) != SLAVA_OK) __builtin_trap();
    if (n < 2 || n > 77 || ids[0] != slava_tokenizer_bos(tok) || ids[n - 1] != slava_tokenizer_eos(tok)) __builtin_trap();
    if (nb < n - 2 || (nb > 75 && n != 77)) __builtin_trap();
    for (int i = 0; i < n; i++) if (ids[i] < 0 || ids[i] > 49407) __builtin_trap();
    /* the clean-up output is valid UTF-8 (re-decoding changes nothing) */
    char *clean = NULL;
    size_t cl = 0;
    if (sv_clean_text(cleaner, (const char *)data, size, &clean, &cl)) __builtin_trap();
    sv_u32s cps = {0};
    if (sv_utf8_decode(clean, cl, &cps)) __builtin_trap();
    char *again = NULL;
    size_t al = 0;
    if (sv_utf8_encode(cps.p, cps.n, &again, &al) || al != cl || memcmp(again, clean, cl)) __builtin_trap();
    free(again);
    free(clean);
    sv_u32s_free(&cps);
    slava_ctx_free(ctx);
    return 0;
}
