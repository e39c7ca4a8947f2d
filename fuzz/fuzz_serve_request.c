/* fuzz_serve_request.c — libFuzzer target for the request handling of `slava serve` without a
 * socket: the input is one request ("METHOD TARGET\n", header lines "Name: value\n", an empty
 * line, then the body) given to sv_app_handle, which routes it and runs our parsers on it (query
 * strings, Range, multipart uploads, /v1/embeddings JSON). The app serves a small index built at
 * start from synthetic features (random heads, no towers, no media files), so every route is
 * reachable; any answer must be a well-formed status with a body, never a crash or a leak. */
#include "serve/app.h"
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static sv_app *g_app;

/* A store of synthetic features, random heads for them, an index over both. */
static void setup(void) {
    char dir[64], store[96], heads[96], index[96];
    snprintf(dir, sizeof dir, "/tmp/fuzz_serve_%d", (int)getpid());
    snprintf(store, sizeof store, "%s/s.sqlite", dir);
    snprintf(heads, sizeof heads, "%s/h.safetensors", dir);
    snprintf(index, sizeof index, "%s/i.slx", dir);
    if (mkdir(dir, 0700) && errno != EEXIST) abort();
    slava_ctx *ctx = slava_ctx_new();
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    so.n_clips[0] = 12; so.n_clips[1] = 4; so.n_clips[2] = 4;
    so.d_v = 32; so.d_a = 24; so.d_t = 16;
    so.max_frames = 4; so.max_chunks = 2;
    slava_dataset ds = {0};
    slava_store *s = NULL;
    slava_heads *h = NULL;
    slava_train_opts to;
    slava_train_opts_default(&to);
    slava_index_opts io;
    slava_index_opts_default(&io);
    io.store = store; io.out = index; io.heads = heads;
    unlink(index);
    if (slava_synth_features(ctx, &so, &ds) || slava_store_open(ctx, store, 1, &s) || slava_store_put_dataset(ctx, s, &ds) ||
        slava_heads_init(ctx, &ds, &to, &h) || slava_heads_save(ctx, h, heads, NULL, NULL, &ds) ||
        (slava_store_close(s), s = NULL, slava_index_build(ctx, &io, NULL))) {
        fprintf(stderr, "fuzz_serve_request: setup: %s\n", slava_ctx_error(ctx));
        abort();
    }
    slava_server_opts o;
    slava_server_opts_default(&o);
    o.index = index;
    o.tmp_dir = dir;
    o.max_upload = 1 << 16;
    if (sv_app_open(ctx, &o, NULL, &g_app)) { fprintf(stderr, "fuzz_serve_request: %s\n", slava_ctx_error(ctx)); abort(); }
    slava_heads_free(h);
    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_app) setup();
    /* split the input: request line, headers, body (at most what the route accepts) */
    char *buf = malloc(size + 1), path[2048];
    memcpy(buf, data, size);
    buf[size] = 0;
    char *line_end = memchr(buf, '\n', size);
    if (!line_end) { free(buf); return 0; }
    *line_end = 0;
    char *sp = strchr(buf, ' ');
    if (!sp) { free(buf); return 0; }
    *sp = 0;
    char *target = sp + 1, *q = strchr(target, '?');
    if (q) *q++ = 0;
    if (sv_http_decode(target, strlen(target), 0, path, sizeof path) < 0) { free(buf); return 0; }
    sv_http_header hs[16];
    int nh = 0;
    char *p = line_end + 1, *end = buf + size;
    while (p < end) {
        char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e) e = end;
        *e = 0;
        if (!*p) { p = e + 1; break; }
        char *colon = strchr(p, ':');
        if (colon && nh < 16) {
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ') v++;
            hs[nh++] = (sv_http_header){p, v};
        }
        p = e + 1;
    }
    sv_http_req req = {buf, path, q, nh, hs, NULL, 0};
    int64_t limit = sv_app_body_limit(g_app, req.method, req.path);
    if (p < end && limit > 0) {
        req.body = (const uint8_t *)p;
        req.body_len = (size_t)(end - p) < (size_t)limit ? (size_t)(end - p) : (size_t)limit;
    }
    sv_http_resp resp;
    sv_http_resp_init(&resp);
    sv_app_handle(g_app, &req, &resp);
    if (resp.status < 200 || resp.status > 599 || !resp.content_type) abort();
    if (resp.fd < 0 && resp.body_len && !resp.body) abort();
    if (resp.status >= 400 && (!resp.body || strncmp(resp.body, "{\"error\":", 9))) abort();
    sv_http_resp_free(&resp);
    free(buf);
    return 0;
}
