/*
 * tokenizer.h — internals of the CLIP BPE tokenizer (public API: slava_tokenizer_* and
 * slava_tokenize in include/slava.h).
 *
 * Semantics are those of openai/CLIP simple_tokenizer.py (the reference the fixtures come from):
 *   clean (text_clean.h) → split with
 *     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *   (PCRE2, UTF + UCP + caseless; \s = Unicode White_Space) → each piece's UTF-8 bytes mapped
 *   through GPT-2's byte→unicode alphabet, "</w>" appended to the last symbol → BPE by merge rank
 *   (lowest rank first, all its occurrences left to right; a heap of candidate pairs makes a word
 *   of m bytes O(m log m)) → vocab ids.
 *   The literal pieces "<|startoftext|>" / "<|endoftext|>" map straight to their ids (openai's
 *   cache pre-seeds them).
 * The BPE runs on vocab ids: a merge (a, b) is keyed by the ids of a and b and yields the id of
 * the string a+b; load() checks that every merge's parts and result, and every byte symbol with
 * and without "</w>", are in vocab.json, so tokenizing can never meet an unknown symbol.
 * Like openai's and Hugging Face's CLIP tokenizers, only the first 49152-256-2 = 48894 merges of
 * merges.txt are used, after its "#version" header line.
 * Results per word are cached (words up to SV_BPE_CACHE_MAXLEN bytes; the cache is emptied when
 * it holds SV_BPE_CACHE_MAX words). A tokenizer is not thread-safe (the cache and the cleaner's
 * scratch): use one per thread.
 */
#ifndef SLAVA_TOKENIZER_H
#define SLAVA_TOKENIZER_H

#include "base/base.h"

#define SV_CLIP_MAX_MERGES (49152 - 256 - 2)
#define SV_BPE_CACHE_MAXLEN 64
#define SV_BPE_CACHE_MAX 100000

/* Clean + split + BPE without truncation or start/end ids: appends ids to *ids (realloc'd,
 * *n / *cap updated). Stops once *n >= stop_after (pass INT_MAX for everything). */
slava_status sv_tokenize_bpe(slava_ctx *ctx, slava_tokenizer *t, const char *text, size_t len,
                             int **ids, int *n, int *cap, int stop_after);

/* Merge-table lookups the BPE has made so far (its work: O(m log m) for a word of m bytes). */
uint64_t sv_tokenizer_bpe_work(const slava_tokenizer *t);

/* Vocab id of a token string, -1 if absent. */
int sv_tokenizer_id(const slava_tokenizer *t, const char *token);

#endif
