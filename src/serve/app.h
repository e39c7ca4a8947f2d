/*
 * app.h — what `slava serve` serves, without the socket: the index, the towers (one embedder
 * behind a mutex), the thumbnail cache, the limits, and the one entry point that turns a request
 * into a response (sv_app_handle). server.c puts civetweb in front of it; a fuzzer or a test can
 * call it directly with request bytes.
 */
#ifndef SLAVA_SERVE_APP_H
#define SLAVA_SERVE_APP_H

#include "serve/http.h"
#include "serve/thumb.h"
#include <pthread.h>
#include <stdatomic.h>

#define SV_MAX_JSON_BODY (1 << 20)   /* /v1/embeddings request bodies */
#define SV_MAX_TEXT 4096             /* bytes of one text query / input */
#define SV_MAX_INPUTS 2048           /* texts per /v1/embeddings request */

typedef struct {
    slava_server_opts o;             /* options; of its strings only index is kept (index_path) */
    char *index_path;
    slava_index *ix;
    slava_index_info info;
    slava_embedder *emb;             /* NULL when no folder was available */
    slava_embedder_info einfo;
    slava_precision precision;       /* the queries' (o.precision, else the index's features') */
    pthread_mutex_t emb_mu;          /* the embedder (and tok) is used by one thread at a time */
    slava_tokenizer *tok;            /* token counts for /v1/embeddings usage (NULL without CLIP) */
    char model[128];                 /* name reported by /v1/embeddings */
    sv_thumbs *thumbs;
    char *tmp_dir;                   /* private folder for uploads, removed at the end */
    atomic_long seq;                 /* upload file numbers */
    atomic_long requests, errors;    /* answered, of which 5xx */
    double t0;
    slava_ctx *log_ctx;              /* warnings go to its log callback */
    pthread_mutex_t log_mu;
} sv_app;

/* Open the index and load the towers (o->index, o->clip_dir ...). log_ctx may be NULL. */
slava_status sv_app_open(slava_ctx *ctx, const slava_server_opts *o, slava_ctx *log_ctx, sv_app **out);
void         sv_app_free(sv_app *a);

/* Largest request body the route of (method, path) accepts: 0 for routes without a body. The
 * transport refuses a larger body with 413 before reading it. */
int64_t sv_app_body_limit(const sv_app *a, const char *method, const char *path);
/* Answer one request (thread-safe). resp must be initialised (sv_http_resp_init). */
void    sv_app_handle(sv_app *a, const sv_http_req *req, sv_http_resp *resp);
/* A warning line through log_ctx (serialised). */
void    sv_app_warn(sv_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Handlers (routes_*.c), called by sv_app_handle after the method check. */
void sv_route_page(sv_app *a, const sv_http_req *req, sv_http_resp *resp);
void sv_route_health(sv_app *a, const sv_http_req *req, sv_http_resp *resp);
void sv_route_search(sv_app *a, const sv_http_req *req, sv_http_resp *resp);
void sv_route_clip(sv_app *a, const sv_http_req *req, sv_http_resp *resp, const char *id);
void sv_route_embeddings(sv_app *a, const sv_http_req *req, sv_http_resp *resp);
void sv_route_media(sv_app *a, const sv_http_req *req, sv_http_resp *resp, const char *id);
void sv_route_thumb(sv_app *a, const sv_http_req *req, sv_http_resp *resp, const char *id);

/* The error answer for a failed library call: status from the slava_status (ARG 400, NOTFOUND 404,
 * FORMAT / NOAUDIO / UNSUPPORTED 422, NOMEM 503, else 500), message from ctx with every occurrence
 * of `hide` (a server-side path) replaced by `shown`. */
void sv_app_fail(sv_app *a, sv_http_resp *resp, slava_ctx *ctx, slava_status st, const char *hide, const char *shown);

#endif
