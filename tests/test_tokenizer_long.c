/*
 * test_tokenizer_long.c — BPE of very long words (issue 10, defect 10): the merge loop is
 * O(m log m) for a word of m bytes, not O(m²), and gives exactly openai's BPE.
 *   - exactness: random single words over small and large alphabets (lower-case ASCII, where
 *     GPT-2's byte alphabet is the identity) tokenized by the library and by a plain string
 *     implementation of simple_tokenizer.bpe() written here (merges.txt ranks, lowest rank first,
 *     every occurrence left to right) give the same ids, all of them (no truncation);
 *   - work: the merge-table lookups the library makes for one 200,000-letter word stay below
 *     4 per byte (the rescanning loop makes about m²/2 ≈ 2·10¹⁰).
 */
#include "test.h"
#include "base/rng.h"
#include "text/tokenizer.h"
#include <cjson/cJSON.h>
#include <limits.h>

/* ---- a string → int map (open addressing) */
typedef struct { char **k; int *v; size_t cap; } smap;
static uint64_t h64(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}
static void smap_put(smap *m, const char *k, int v) {
    size_t i = h64(k) & (m->cap - 1);
    while (m->k[i] && strcmp(m->k[i], k)) i = (i + 1) & (m->cap - 1);
    if (!m->k[i]) m->k[i] = strdup(k);
    m->v[i] = v;
}
static int smap_get(const smap *m, const char *k) {
    size_t i = h64(k) & (m->cap - 1);
    while (m->k[i] && strcmp(m->k[i], k)) i = (i + 1) & (m->cap - 1);
    return m->k[i] ? m->v[i] : -1;
}
static void smap_init(smap *m, size_t cap) { m->cap = cap; m->k = calloc(cap, sizeof *m->k); m->v = calloc(cap, sizeof *m->v); }
static void smap_free(smap *m) { for (size_t i = 0; i < m->cap; i++) free(m->k[i]); free(m->k); free(m->v); }

static smap g_ranks, g_vocab;   /* "a b" → rank, token → id */

static void load_reference(void) {
    smap_init(&g_ranks, 1 << 17);
    smap_init(&g_vocab, 1 << 17);
    char *merges = slurp_file(SLAVA_FIXTURES "/clip-model/merges.txt", NULL);
    CHECK(merges != NULL);
    int rank = 0, line = 0;
    for (char *p = merges, *nl; p && *p && rank < 49152 - 256 - 2; p = nl) {
        nl = strchr(p, '\n');
        if (nl) *nl++ = 0;
        if (line++ == 0) continue;   /* "#version" */
        smap_put(&g_ranks, p, rank++);   /* a repeated pair takes its last rank, as dict() does */
    }
    free(merges);
    char *vj = slurp_file(SLAVA_FIXTURES "/clip-model/vocab.json", NULL);
    cJSON *v = vj ? cJSON_Parse(vj) : NULL;
    CHECK(v != NULL);
    for (cJSON *e = v ? v->child : NULL; e; e = e->next) smap_put(&g_vocab, e->string, e->valueint);
    cJSON_Delete(v);
    free(vj);
}

/* simple_tokenizer.bpe() on one lower-case ASCII word, then the vocab ids: ids[] gets them. */
static int reference_bpe(const char *w, int *ids) {
    int n = (int)strlen(w);
    char **sym = malloc(sizeof(char *) * n);
    for (int i = 0; i < n; i++) {
        sym[i] = malloc(8);
        snprintf(sym[i], 8, i + 1 < n ? "%c" : "%c</w>", w[i]);
    }
    char *pair = malloc(4096);
    while (n > 1) {
        int best = INT_MAX, bi = -1;
        for (int i = 0; i + 1 < n; i++) {
            snprintf(pair, 4096, "%s %s", sym[i], sym[i + 1]);
            int r = smap_get(&g_ranks, pair);
            if (r >= 0 && r < best) { best = r; bi = i; }
        }
        if (bi < 0) break;
        char *first = strdup(sym[bi]), *second = strdup(sym[bi + 1]);
        int k = 0;
        for (int i = 0; i < n;) {
            if (i + 1 < n && !strcmp(sym[i], first) && !strcmp(sym[i + 1], second)) {
                char *m = malloc(strlen(first) + strlen(second) + 1);
                strcpy(m, first);
                strcat(m, second);
                free(sym[i]); free(sym[i + 1]);
                sym[k++] = m;
                i += 2;
            } else {
                sym[k++] = sym[i++];
            }
        }
        n = k;
        free(first); free(second);
    }
    for (int i = 0; i < n; i++) { ids[i] = smap_get(&g_vocab, sym[i]); free(sym[i]); }
    free(sym);
    free(pair);
    return n;
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_tokenizer *t = NULL;
    CHECK_OK(ctx, slava_tokenizer_load(ctx, SLAVA_FIXTURES "/clip-model", &t));
    if (!t) return test_done("tokenizer_long");
    load_reference();
    sv_rng r;
    sv_rng_seed(&r, 2024);
    static const char *alphabets[] = {"ab", "aab", "eth", "ethaoinsrl", "abcdefghijklmnopqrstuvwxyz", "qxzj"};
    int words = 0, same = 0;
    for (int trial = 0; trial < 120; trial++) {
        const char *a = alphabets[trial % 6];
        int len = 1 + (int)sv_rng_below(&r, trial < 60 ? 40 : 1500), na = (int)strlen(a);
        char *w = malloc(len + 1);
        for (int i = 0; i < len; i++) w[i] = a[sv_rng_below(&r, (uint64_t)na)];
        w[len] = 0;
        int *want = malloc(sizeof(int) * (len + 1)), *got = NULL, n = 0, cap = 0;
        int nw = reference_bpe(w, want);
        CHECK_OK(ctx, sv_tokenize_bpe(ctx, t, w, (size_t)len, &got, &n, &cap, INT_MAX));
        words++;
        if (n == nw && !memcmp(got, want, sizeof(int) * n)) same++;
        else if (words - same == 1) fprintf(stderr, "first difference: word of %d letters over '%s': %d vs %d ids\n", len, a, n, nw);
        free(w); free(want); free(got);
    }
    CHECKF(same == words, "%d of %d words tokenized like simple_tokenizer.bpe()", same, words);

    /* one 200,000-letter word: the work grows like m log m, not m² */
    const int m = 200000;
    char *w = malloc(m + 1);
    for (int i = 0; i < m; i++) w[i] = (char)('a' + sv_rng_below(&r, 26));
    w[m] = 0;
    int *ids = NULL, n = 0, cap = 0;
    uint64_t before = sv_tokenizer_bpe_work(t);
    CHECK_OK(ctx, sv_tokenize_bpe(ctx, t, w, (size_t)m, &ids, &n, &cap, INT_MAX));
    uint64_t work = sv_tokenizer_bpe_work(t) - before;
    printf("one %d-letter word: %d ids, %llu merge-table lookups (%.2f per byte)\n", m, n, (unsigned long long)work,
           (double)work / m);
    CHECKF(n > m / 10 && n < m, "%d ids", n);
    CHECKF(work <= 4ull * m, "%llu lookups for %d bytes", (unsigned long long)work, m);
    free(w); free(ids);
    smap_free(&g_ranks);
    smap_free(&g_vocab);
    slava_tokenizer_free(t);
    slava_ctx_free(ctx);
    return test_done("tokenizer_long");
}
