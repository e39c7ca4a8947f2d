/*
 * tokenizer.c — CLIP BPE tokenizer: vocab.json + merges.txt loading, the pre-token split and
 * BPE by merge rank on vocab ids, with a per-word cache. See tokenizer.h for the exact semantics.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/tokenizer.h"
#include "text/text_clean.h"
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ hash maps */

static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ull; }
    return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
    return x;
}

/* string → int (vocab) and string → id list (cache): keys are owned copies. */
typedef struct { char *key; uint32_t len; int val, val2; } str_slot;
typedef struct { str_slot *s; size_t cap, n; } str_map;

static int str_map_init(str_map *m, size_t expect) {
    m->cap = 16;
    while (m->cap < expect * 2) m->cap *= 2;
    m->n = 0;
    m->s = calloc(m->cap, sizeof *m->s);
    return m->s ? 0 : -1;
}

static void str_map_clear(str_map *m) {
    for (size_t i = 0; i < m->cap; i++) { free(m->s[i].key); m->s[i].key = NULL; }
    m->n = 0;
}

static void str_map_free(str_map *m) {
    if (!m->s) return;
    str_map_clear(m);
    free(m->s);
    m->s = NULL;
}

static str_slot *str_map_find(const str_map *m, const char *k, size_t len) {
    size_t i = hash_bytes(k, len) & (m->cap - 1);
    for (;;) {
        str_slot *s = &m->s[i];
        if (!s->key) return NULL;
        if (s->len == len && !memcmp(s->key, k, len)) return s;
        i = (i + 1) & (m->cap - 1);
    }
}

/* Inserts (or finds) key; returns the slot, NULL on no memory. *fresh = 1 when inserted. */
static str_slot *str_map_put(str_map *m, const char *k, size_t len, int *fresh) {
    if ((m->n + 1) * 2 > m->cap) {
        str_map bigger;
        bigger.cap = m->cap * 2;
        bigger.n = m->n;
        bigger.s = calloc(bigger.cap, sizeof *bigger.s);
        if (!bigger.s) return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->s[i].key) continue;
            size_t j = hash_bytes(m->s[i].key, m->s[i].len) & (bigger.cap - 1);
            while (bigger.s[j].key) j = (j + 1) & (bigger.cap - 1);
            bigger.s[j] = m->s[i];
        }
        free(m->s);
        *m = bigger;
    }
    size_t i = hash_bytes(k, len) & (m->cap - 1);
    while (m->s[i].key) {
        if (m->s[i].len == len && !memcmp(m->s[i].key, k, len)) { *fresh = 0; return &m->s[i]; }
        i = (i + 1) & (m->cap - 1);
    }
    char *copy = malloc(len + 1);
    if (!copy) return NULL;
    memcpy(copy, k, len);
    copy[len] = 0;
    m->s[i].key = copy;
    m->s[i].len = (uint32_t)len;
    m->n++;
    *fresh = 1;
    return &m->s[i];
}

/* (id a, id b) → (rank, merged id). Built once, read-only after load. */
typedef struct { uint64_t key; int rank, merged; } pair_slot;

/* ------------------------------------------------------------------ the tokenizer */

struct slava_tokenizer {
    str_map vocab;
    pair_slot *pairs;
    size_t pairs_cap;
    int nmerges;
    int byte_id[256], byte_id_w[256];   /* ids of the byte symbols, without / with "</w>" */
    int bos, eos;
    sv_cleaner *cleaner;
    pcre2_code *split;
    pcre2_match_data *md;
    str_map cache;                      /* word bytes → (offset, count) in cache_ids */
    int *cache_ids;
    size_t cache_n, cache_cap;
    int *work;                          /* BPE scratch (symbols, links, candidate heap) */
    size_t work_cap;                    /* bytes */
    uint64_t bpe_lookups;               /* merge-table lookups so far (sv_tokenizer_bpe_work) */
};

static const char SPLIT_PATTERN[] =
    "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]"
    "|[^\\t\\n\\x{0b}\\f\\r\\x{85}\\p{Z}\\p{L}\\p{N}]+";

static uint64_t pair_key(int a, int b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }

static const pair_slot *pair_find(const slava_tokenizer *t, int a, int b) {
    uint64_t k = pair_key(a, b);
    size_t i = hash_u64(k) & (t->pairs_cap - 1);
    for (;;) {
        const pair_slot *s = &t->pairs[i];
        if (s->rank < 0) return NULL;
        if (s->key == k) return s;
        i = (i + 1) & (t->pairs_cap - 1);
    }
}

/* GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to 256 + n. */
static void byte_to_unicode(uint32_t table[256]) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        table[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
    }
}

uint64_t sv_tokenizer_bpe_work(const slava_tokenizer *t) { return t->bpe_lookups; }

int sv_tokenizer_id(const slava_tokenizer *t, const char *token) {
    const str_slot *s = str_map_find(&t->vocab, token, strlen(token));
    return s ? s->val : -1;
}

int slava_tokenizer_bos(const slava_tokenizer *t) { return t->bos; }
int slava_tokenizer_eos(const slava_tokenizer *t) { return t->eos; }

void slava_tokenizer_free(slava_tokenizer *t) {
    if (!t) return;
    str_map_free(&t->vocab);
    str_map_free(&t->cache);
    free(t->pairs);
    free(t->cache_ids);
    free(t->work);
    sv_cleaner_free(t->cleaner);
    pcre2_code_free(t->split);
    pcre2_match_data_free(t->md);
    free(t);
}

static slava_status load_vocab(slava_ctx *ctx, slava_tokenizer *t, const char *path) {
    char *buf = NULL;
    size_t len = 0;
    SV_TRY(sv_read_file(ctx, path, &buf, &len));
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!root) return sv_nomem_if_low(ctx, sv_err(ctx, SLAVA_E_FORMAT, "%s: not valid JSON", path), path, "parsing it");
    slava_status st = SLAVA_OK;
    if (!cJSON_IsObject(root)) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: expected a JSON object of token → id", path); goto out; }
    int n = cJSON_GetArraySize(root);
    if (n < 512) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: only %d entries, a byte-level BPE vocab has at least 512", path, n); goto out; }
    if (str_map_init(&t->vocab, (size_t)n)) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto out; }
    for (cJSON *e = root->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > INT_MAX / 2 ||
            e->valuedouble != (double)(int)e->valuedouble) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: token '%.40s' has no non-negative integer id", path, e->string ? e->string : "");
            goto out;
        }
        int fresh;
        str_slot *s = str_map_put(&t->vocab, e->string, strlen(e->string), &fresh);
        if (!s) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto out; }
        if (!fresh) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: token '%.40s' appears twice", path, e->string); goto out; }
        s->val = (int)e->valuedouble;
    }
out:
    cJSON_Delete(root);
    return st;
}

static int vocab_get(const slava_tokenizer *t, const char *s, size_t n) {
    const str_slot *sl = str_map_find(&t->vocab, s, n);
    return sl ? sl->val : -1;
}

static slava_status load_merges(slava_ctx *ctx, slava_tokenizer *t, const char *path) {
    char *buf = NULL;
    size_t len = 0;
    SV_TRY(sv_read_file(ctx, path, &buf, &len));
    slava_status st = SLAVA_OK;
    /* the pair table: twice the merges the file can hold (its lines, at most SV_CLIP_MAX_MERGES) */
    size_t lines = 1;
    for (size_t i = 0; i < len && lines < (size_t)SV_CLIP_MAX_MERGES; i++) lines += buf[i] == '\n';
    t->pairs_cap = 16;
    while (t->pairs_cap < lines * 2) t->pairs_cap *= 2;
    t->pairs = malloc(t->pairs_cap * sizeof *t->pairs);
    char *joined = malloc(len + 8);
    if (!t->pairs || !joined) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto out; }
    for (size_t i = 0; i < t->pairs_cap; i++) t->pairs[i].rank = -1;
    size_t pos = 0;
    int line_no = 0;
    while (pos < len && t->nmerges < SV_CLIP_MAX_MERGES) {
        size_t end = pos;
        while (end < len && buf[end] != '\n') end++;
        line_no++;
        char *line = buf + pos;
        size_t ll = end - pos;
        pos = end + 1;
        if (ll && line[ll - 1] == '\r') ll--;
        if (line_no == 1 && ll >= 1 && line[0] == '#') continue;   /* "#version: 0.2" header */
        if (ll == 0) {
            /* blank lines are only allowed at the end */
            size_t q = pos;
            while (q < len && (buf[q] == '\n' || buf[q] == '\r')) q++;
            if (q >= len) break;
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: line %d: empty line inside the merges", path, line_no);
            goto out;
        }
        /* python str.split(): exactly two whitespace-separated symbols */
        char *a = line, *e = line + ll;
        while (a < e && (*a == ' ' || *a == '\t')) a++;
        char *ae = a;
        while (ae < e && *ae != ' ' && *ae != '\t') ae++;
        char *b = ae;
        while (b < e && (*b == ' ' || *b == '\t')) b++;
        char *be = b;
        while (be < e && *be != ' ' && *be != '\t') be++;
        char *rest = be;
        while (rest < e && (*rest == ' ' || *rest == '\t')) rest++;
        if (a == ae || b == be || rest != e) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: line %d: expected two symbols separated by a space, got '%.*s'",
                        path, line_no, (int)(ll > 60 ? 60 : ll), line);
            goto out;
        }
        int ia = vocab_get(t, a, (size_t)(ae - a)), ib = vocab_get(t, b, (size_t)(be - b));
        memcpy(joined, a, (size_t)(ae - a));
        memcpy(joined + (ae - a), b, (size_t)(be - b));
        int im = vocab_get(t, joined, (size_t)(ae - a + be - b));
        if (ia < 0 || ib < 0 || im < 0) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: line %d: merge '%.*s %.*s' uses a symbol missing from vocab.json",
                        path, line_no, (int)(ae - a > 40 ? 40 : ae - a), a, (int)(be - b > 40 ? 40 : be - b), b);
            goto out;
        }
        uint64_t k = pair_key(ia, ib);
        size_t i = hash_u64(k) & (t->pairs_cap - 1);
        while (t->pairs[i].rank >= 0 && t->pairs[i].key != k) i = (i + 1) & (t->pairs_cap - 1);
        /* a repeated pair takes its last rank, as dict(zip(merges, range(n))) does */
        t->pairs[i].key = k;
        t->pairs[i].rank = t->nmerges;
        t->pairs[i].merged = im;
        t->nmerges++;
    }
    if (t->nmerges == 0) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: no merges found", path);
out:
    free(buf);
    free(joined);
    return st;
}

slava_status slava_tokenizer_load(slava_ctx *ctx, const char *dir, slava_tokenizer **out) {
    *out = NULL;
    slava_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return sv_err(ctx, SLAVA_E_NOMEM, "tokenizer: out of memory");
    char *vp = sv_path_join(dir, "vocab.json"), *mp = sv_path_join(dir, "merges.txt");
    slava_status st = SLAVA_OK;
    if (!vp || !mp) { st = sv_err(ctx, SLAVA_E_NOMEM, "tokenizer: out of memory"); goto fail; }
    if ((st = load_vocab(ctx, t, vp)) != SLAVA_OK) goto fail;
    if ((st = load_merges(ctx, t, mp)) != SLAVA_OK) goto fail;
    uint32_t b2u[256];
    byte_to_unicode(b2u);
    for (int b = 0; b < 256; b++) {
        char sym[16];
        size_t k = 0;
        uint32_t c = b2u[b];
        if (c < 0x80) sym[k++] = (char)c;
        else { sym[k++] = (char)(0xC0 | (c >> 6)); sym[k++] = (char)(0x80 | (c & 0x3F)); }
        t->byte_id[b] = vocab_get(t, sym, k);
        memcpy(sym + k, "</w>", 4);
        t->byte_id_w[b] = vocab_get(t, sym, k + 4);
        if (t->byte_id[b] < 0 || t->byte_id_w[b] < 0) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: byte symbol '%.*s' (byte 0x%02x) or its '</w>' form is missing", vp,
                        (int)k, sym, b);
            goto fail;
        }
    }
    t->bos = sv_tokenizer_id(t, "<|startoftext|>");
    t->eos = sv_tokenizer_id(t, "<|endoftext|>");
    if (t->bos < 0 || t->eos < 0) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s: '<|startoftext|>' and '<|endoftext|>' must both be in the vocab", vp);
        goto fail;
    }
    t->cleaner = sv_cleaner_new();
    int errcode;
    PCRE2_SIZE erroff;
    t->split = pcre2_compile((PCRE2_SPTR)SPLIT_PATTERN, PCRE2_ZERO_TERMINATED,
                             PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_NO_UTF_CHECK, &errcode, &erroff, NULL);
    t->md = pcre2_match_data_create(2, NULL);
    if (!t->cleaner || !t->split || !t->md || str_map_init(&t->cache, 1024)) {
        st = sv_err(ctx, SLAVA_E_NOMEM, "tokenizer: out of memory");
        goto fail;
    }
    free(vp);
    free(mp);
    *out = t;
    return SLAVA_OK;
fail:
    free(vp);
    free(mp);
    slava_tokenizer_free(t);
    return st;
}

/* ------------------------------------------------------------------ BPE */

static int ids_push(int **ids, int *n, int *cap, const int *src, int k) {
    if (k <= 0) return 0;
    if (*n + k > *cap) {
        int c = *cap ? *cap : 128;
        while (c < *n + k) c *= 2;
        int *p = realloc(*ids, (size_t)c * sizeof *p);
        if (!p) return -1;
        *ids = p;
        *cap = c;
    }
    memcpy(*ids + *n, src, (size_t)k * sizeof *src);
    *n += k;
    return 0;
}

/* A candidate merge: the pair (a, b) of merge rank `rank` with a at symbol position pos. */
typedef struct { int rank, pos, a, b; } bpe_cand;

static int cand_less(const bpe_cand *x, const bpe_cand *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

static void heap_push(bpe_cand *h, size_t *n, bpe_cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!cand_less(&c, &h[up])) break;
        h[i] = h[up];
        i = up;
    }
    h[i] = c;
}

static bpe_cand heap_pop(bpe_cand *h, size_t *n) {
    bpe_cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const bpe_cand *best = &last;
        if (l < *n && cand_less(&h[l], best)) { m = l; best = &h[l]; }
        if (r < *n && cand_less(&h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = last;
    return top;
}

/* Queue the pair starting at position i (when there is a next symbol and the pair is a merge). */
static void cand_add(slava_tokenizer *t, const int *sym, const int *next, int i, bpe_cand *h, size_t *n) {
    if (i < 0 || next[i] < 0) return;
    t->bpe_lookups++;
    const pair_slot *p = pair_find(t, sym[i], sym[next[i]]);
    if (p) heap_push(h, n, (bpe_cand){p->rank, i, sym[i], sym[next[i]]});
}

/* BPE of one word (its UTF-8 bytes): symbols are vocab ids. Returns the count in t->work.
 * openai's loop — find the lowest-ranked pair, merge all its occurrences left to right, repeat —
 * done with a doubly linked list of symbols and a heap of candidate pairs ordered by (rank,
 * position): all entries of the lowest rank are taken out together (in position order) and merged
 * where still valid, then the pairs the merges created are queued. O(m log m) for a word of m
 * bytes, where rescanning every pair after every merge is O(m²). */
static int bpe_word(slava_tokenizer *t, const unsigned char *w, size_t m) {
    /* queued at most: m - 1 first pairs + 2 per merge (< m merges) */
    size_t need = 3 * m * sizeof(int) + 6 * m * sizeof(bpe_cand);
    if (need > t->work_cap) {
        void *p = realloc(t->work, need);
        if (!p) return -1;
        t->work = p;
        t->work_cap = need;
    }
    int *sym = t->work, *prev = sym + m, *next = prev + m;
    bpe_cand *heap = (bpe_cand *)(next + m), *round = heap + 3 * m;
    for (size_t i = 0; i < m; i++) {
        sym[i] = i + 1 < m ? t->byte_id[w[i]] : t->byte_id_w[w[i]];
        prev[i] = (int)i - 1;
        next[i] = i + 1 < m ? (int)i + 1 : -1;
    }
    size_t nh = 0;
    for (size_t i = 0; i + 1 < m; i++) cand_add(t, sym, next, (int)i, heap, &nh);
    while (nh) {
        /* every queued entry of the lowest rank: the same pair (a rank names one pair) */
        size_t nr = 0;
        int rank = heap[0].rank;
        while (nh && heap[0].rank == rank) round[nr++] = heap_pop(heap, &nh);
        const pair_slot *ps = pair_find(t, round[0].a, round[0].b);
        int merged = ps->merged;
        size_t done = 0;
        for (size_t k = 0; k < nr; k++) {   /* left to right; an entry is stale once a symbol changed */
            int i = round[k].pos, j = sym[i] >= 0 ? next[i] : -1;
            if (j < 0 || sym[i] != round[k].a || sym[j] != round[k].b) continue;
            sym[i] = merged;
            sym[j] = -1;
            next[i] = next[j];
            if (next[j] >= 0) prev[next[j]] = i;
            round[done++].pos = i;
        }
        for (size_t k = 0; k < done; k++) {   /* the new neighbours of every merged symbol */
            int i = round[k].pos;
            if (sym[i] < 0) continue;
            cand_add(t, sym, next, prev[i], heap, &nh);
            cand_add(t, sym, next, i, heap, &nh);
        }
    }
    int n = 0;
    for (int i = 0; i >= 0; i = next[i]) sym[n++] = sym[i];   /* position 0 always survives */
    return n;
}

static slava_status word_ids(slava_ctx *ctx, slava_tokenizer *t, const char *w, size_t m, int **ids, int *n, int *cap) {
    /* the special strings map to their ids directly (openai's pre-seeded cache) */
    int special = m == 15 && !memcmp(w, "<|startoftext|>", 15) ? t->bos
                : m == 13 && !memcmp(w, "<|endoftext|>", 13) ? t->eos : -1;
    if (special >= 0) {
        if (ids_push(ids, n, cap, &special, 1)) return sv_err(ctx, SLAVA_E_NOMEM, "tokenizer: out of memory");
        return SLAVA_OK;
    }
    if (m <= SV_BPE_CACHE_MAXLEN) {
        str_slot *s = str_map_find(&t->cache, w, m);
        if (s) {
            if (ids_push(ids, n, cap, t->cache_ids + s->val, s->val2)) return sv_err(ctx, SLAVA_E_NOMEM, "tokenizer: out of memory");
            return SLAVA_OK;
        }
    }
    int k = bpe_word(t, (const unsigned char *)w, m);
    if (k < 0 || ids_push(ids, n, cap, t->work, k)) return sv_err(ctx, SLAVA_E_NOMEM, "tokenizer: out of memory");
    if (m <= SV_BPE_CACHE_MAXLEN) {
        if (t->cache.n >= SV_BPE_CACHE_MAX) { str_map_clear(&t->cache); t->cache_n = 0; }
        if (t->cache_n + (size_t)k > t->cache_cap) {
            size_t c = t->cache_cap ? t->cache_cap : 4096;
            while (c < t->cache_n + (size_t)k) c *= 2;
            int *p = realloc(t->cache_ids, c * sizeof *p);
            if (!p) return SLAVA_OK;   /* caching is optional */
            t->cache_ids = p;
            t->cache_cap = c;
        }
        int fresh;
        str_slot *s = str_map_put(&t->cache, w, m, &fresh);
        if (s && fresh) {
            memcpy(t->cache_ids + t->cache_n, t->work, (size_t)k * sizeof(int));
            s->val = (int)t->cache_n;
            s->val2 = k;
            t->cache_n += (size_t)k;
        }
    }
    return SLAVA_OK;
}

slava_status sv_tokenize_bpe(slava_ctx *ctx, slava_tokenizer *t, const char *text, size_t len,
                             int **ids, int *n, int *cap, int stop_after) {
    char *clean = NULL;
    size_t cl = 0;
    if (sv_clean_text(t->cleaner, text ? text : "", text ? len : 0, &clean, &cl))
        return sv_err(ctx, SLAVA_E_NOMEM, "tokenizer: out of memory");
    slava_status st = SLAVA_OK;
    size_t pos = 0;
    while (pos < cl && *n < stop_after) {
        int rc = pcre2_match(t->split, (PCRE2_SPTR)clean, cl, pos, PCRE2_NO_UTF_CHECK, t->md, NULL);
        if (rc < 0) break;   /* no further piece: the rest is whitespace */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
        if (ov[1] <= ov[0]) break;   /* the pattern cannot match empty; guard anyway */
        if ((st = word_ids(ctx, t, clean + ov[0], ov[1] - ov[0], ids, n, cap)) != SLAVA_OK) break;
        pos = ov[1];
    }
    free(clean);
    return st;
}

slava_status slava_tokenize(slava_ctx *ctx, slava_tokenizer *t, const char *text, size_t len, int context_len,
                            int *ids, int *n_ids, int *n_bpe) {
    if (context_len < 2) return sv_err(ctx, SLAVA_E_ARG, "tokenize: context length %d is below 2", context_len);
    int *bpe = NULL, n = 0, cap = 0;
    slava_status st = sv_tokenize_bpe(ctx, t, text, len, &bpe, &n, &cap, n_bpe ? INT_MAX : context_len);
    if (st != SLAVA_OK) { free(bpe); return st; }
    int keep = n < context_len - 2 ? n : context_len - 2;   /* [bos] + bpe + [eos], eos kept last */
    ids[0] = t->bos;
    if (keep) memcpy(ids + 1, bpe, (size_t)keep * sizeof *ids);
    ids[keep + 1] = t->eos;
    *n_ids = keep + 2;
    if (n_bpe) *n_bpe = n;
    free(bpe);
    return SLAVA_OK;
}
