/*
 * format.c — search results as JSON (the stable document of docs/search.md, the same for the CLI
 * and the server) or as a Markdown table. Every string goes out as valid UTF-8 (invalid bytes in
 * paths, ids or query texts become U+FFFD); numbers are printed with fixed precision so the
 * output does not depend on float printing noise.
 */
#include "search/search.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

const char *slava_term_kind_name(slava_term_kind k) {
    static const char *names[] = {"text", "audio", "video", "image", "clip"};
    return (int)k >= 0 && k <= SLAVA_TERM_CLIP ? names[k] : "?";
}

void slava_search_term_from_arg(slava_term_kind kind, const char *arg, slava_search_term *t) {
    t->kind = kind;
    t->weight = 1.0f;
    t->value = arg;
    if (arg[0] == '-') {
        t->weight = -1.0f;
        t->value = arg + 1;
    } else if (arg[0] == '\\' && arg[1] == '-') {
        t->value = arg + 1;
    }
}

static void add_str(cJSON *o, const char *key, const char *s) {
    char *u = slava_utf8_fix(s, NULL);
    if (u) cJSON_AddStringToObject(o, key, u);
    else cJSON_AddNullToObject(o, key);
    free(u);
}

static void add_num(cJSON *o, const char *key, double v, const char *fmt) {
    if (!isfinite(v)) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char b[64];
    snprintf(b, sizeof b, fmt, v);
    if (!strcmp(b, "-0.000000") || !strcmp(b, "-0.000")) memmove(b, b + 1, strlen(b));
    cJSON_AddRawToObject(o, key, b);
}

static char *format_json(const slava_index *ix, int n_terms, const slava_search_term *terms,
                         const slava_search_opts *o, const slava_search_hit *hits, int n_hits) {
    (void)ix;
    cJSON *root = cJSON_CreateObject();
    cJSON *q = cJSON_AddObjectToObject(root, "query");
    cJSON *ts = cJSON_AddArrayToObject(q, "terms");
    for (int i = 0; ts && i < n_terms; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddItemToArray(ts, t);
        cJSON_AddStringToObject(t, "kind", slava_term_kind_name(terms[i].kind));
        add_str(t, "value", terms[i].value);
        add_num(t, "weight", terms[i].weight, "%g");
    }
    cJSON_AddStringToObject(q, "in", slava_search_in_name(o->in));
    cJSON_AddNumberToObject(q, "k", o->k);
    cJSON *rs = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; rs && i < n_hits; i++) {
        const slava_search_hit *h = &hits[i];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToArray(rs, r);
        add_str(r, "clip", h->id);
        add_str(r, "source", h->source);
        add_num(r, "score", h->score, "%.6f");
        cJSON_AddStringToObject(r, "modality", h->modality == SLAVA_MOD_AUDIO ? "audio" : "visual");
        add_num(r, "t_start", h->t_start, "%.3f");
        add_num(r, "t_end", h->t_end, "%.3f");
        add_num(r, "score_visual", h->score_visual, "%.6f");
        add_num(r, "score_audio", h->score_audio, "%.6f");
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* Append printf output to a growing buffer; returns 0 when memory ran out. */
static int put(char **b, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put(char **b, size_t *len, size_t *cap, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*b + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0) return 0;
        if ((size_t)n < *cap - *len) { *len += (size_t)n; return 1; }
        size_t nc = *cap * 2 + (size_t)n + 64;
        char *nb = realloc(*b, nc);
        if (!nb) return 0;
        *b = nb;
        *cap = nc;
    }
}

/* A table cell: valid UTF-8 with '|' escaped and line breaks as spaces (malloc'd). */
static char *cell(const char *s) {
    char *u = slava_utf8_fix(s ? s : "", NULL);
    if (!u) return NULL;
    size_t n = strlen(u), k = 0;
    char *c = malloc(2 * n + 1);
    for (size_t i = 0; c && i < n; i++) {
        if (u[i] == '|') c[k++] = '\\';
        c[k++] = u[i] == '\n' || u[i] == '\r' ? ' ' : u[i];
    }
    if (c) c[k] = 0;
    free(u);
    return c;
}

static char *format_md(const slava_search_hit *hits, int n_hits) {
    if (!n_hits) return sv_strdup("(no results)\n");
    size_t len = 0, cap = 256;
    char *b = malloc(cap);
    int ok = b && put(&b, &len, &cap, "| # | score | clip | moment (s) | matched | source |\n|---|---|---|---|---|---|\n");
    for (int i = 0; ok && i < n_hits; i++) {
        const slava_search_hit *h = &hits[i];
        char *id = cell(h->id), *src = cell(h->source);
        ok = id && src &&
             put(&b, &len, &cap, "| %d | %.4f | %s | %.1f–%.1f | %s | %s |\n", i + 1, h->score, id, h->t_start, h->t_end,
                 h->modality == SLAVA_MOD_AUDIO ? "audio" : "visual", src);
        free(id);
        free(src);
    }
    if (!ok) { free(b); return NULL; }
    return b;
}

char *slava_search_format(const slava_index *ix, int n_terms, const slava_search_term *terms,
                          const slava_search_opts *o, const slava_search_hit *hits, int n_hits, slava_format fmt) {
    if (fmt == SLAVA_FMT_JSON) return format_json(ix, n_terms, terms, o, hits, n_hits);
    return format_md(hits, n_hits);
}
