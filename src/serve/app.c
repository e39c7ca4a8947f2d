/*
 * app.c — the server's state (index, towers, thumbnail cache, upload folder), the routing table
 * and the error mapping. See app.h; the handlers are in routes_api.c and routes_media.c.
 */
#include "serve/app.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void slava_server_opts_default(slava_server_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->workers = 8;
    o->max_upload = 50000000;
    o->timeout_ms = 30000;
    o->max_k = 100;
    o->thumb_cache = (size_t)64 << 20;
    o->thumb_width = 320;
    o->precision = -1;
}

void sv_app_warn(sv_app *a, const char *fmt, ...) {
    if (!a->log_ctx || !a->log_ctx->log) return;
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&a->log_mu);
    a->log_ctx->log(a->log_ctx->log_user, 1, line);
    pthread_mutex_unlock(&a->log_mu);
}

/* A folder given explicitly must exist; one recorded in the index is used when it still exists. */
static const char *pick_dir(const char *given, const char *recorded) {
    if (given) return given;
    struct stat sb;
    return recorded && stat(recorded, &sb) == 0 && S_ISDIR(sb.st_mode) ? recorded : NULL;
}

slava_status sv_app_open(slava_ctx *ctx, const slava_server_opts *o, slava_ctx *log_ctx, sv_app **out) {
    *out = NULL;
    if (!o->index) return sv_err(ctx, SLAVA_E_ARG, "serve: no index file given");
    if (o->workers < 1 || o->workers > 1024) return sv_err(ctx, SLAVA_E_ARG, "serve: workers must be 1..1024, got %d", o->workers);
    if (o->max_k < 1) return sv_err(ctx, SLAVA_E_ARG, "serve: max k must be >= 1, got %d", o->max_k);
    if (o->max_upload < 1) return sv_err(ctx, SLAVA_E_ARG, "serve: the upload limit must be >= 1 byte");
    sv_app *a = calloc(1, sizeof *a);
    if (!a) return sv_err(ctx, SLAVA_E_NOMEM, "serve: out of memory");
    a->o = *o;
    a->o.index = a->index_path = sv_strdup(o->index);   /* the caller's strings are not kept */
    a->o.host = a->o.clip_dir = a->o.clap_dir = a->o.heads = a->o.tmp_dir = NULL;
    a->log_ctx = log_ctx;
    a->t0 = sv_now();
    pthread_mutex_init(&a->emb_mu, NULL);
    pthread_mutex_init(&a->log_mu, NULL);
    if (!a->index_path) { sv_app_free(a); return sv_err(ctx, SLAVA_E_NOMEM, "serve: out of memory"); }
    slava_status st = slava_index_open(ctx, o->index, &a->ix);
    if (st) goto fail;
    slava_index_get_info(a->ix, &a->info);

    /* Towers: the folders given, else those the index recorded (when they still exist). */
    slava_embedder_opts eo;
    slava_embedder_opts_default(&eo);
    eo.clip_dir = pick_dir(o->clip_dir, a->info.clip_dir);
    eo.clap_dir = pick_dir(o->clap_dir, a->info.clap_dir);
    eo.heads = o->heads ? o->heads : a->info.heads;
    eo.fps = a->info.fps > 0 ? a->info.fps : 1;
    /* queries run in the precision given, else the one the index's features were computed in */
    if (o->precision >= 0 && o->precision != SLAVA_PRECISION_FP32 && o->precision != SLAVA_PRECISION_BF16) {
        st = sv_err(ctx, SLAVA_E_ARG, "serve: unknown precision %d", o->precision);
        goto fail;
    }
    eo.precision = o->precision >= 0 ? (slava_precision)o->precision : a->info.precision;
    /* heads record the features' identities, precision tag included: with queries in another
     * precision the check is query.c's instead (checkpoint, frame rate and heads id per query) */
    eo.force_heads = eo.precision != a->info.precision;
    a->precision = eo.precision;
    if (eo.clip_dir || eo.clap_dir) {
        if ((st = slava_embedder_load(ctx, &eo, &a->emb))) goto fail;
        slava_embedder_get_info(a->emb, &a->einfo);
    }
    if (eo.clip_dir) {
        if ((st = slava_tokenizer_load(ctx, eo.clip_dir, &a->tok))) goto fail;
        const char *b = strrchr(eo.clip_dir, '/');
        b = b && b[1] ? b + 1 : eo.clip_dir;
        snprintf(a->model, sizeof a->model, "%s", b);
    }
    if ((st = sv_thumbs_new(ctx, o->thumb_cache, o->thumb_width, &a->thumbs))) goto fail;

    const char *td = o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/slava-serve-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpl)) {
        st = sv_err(ctx, SLAVA_E_IO, "%s: cannot create the upload folder: %s", tmpl, strerror(errno));
        goto fail;
    }
    a->tmp_dir = sv_strdup(tmpl);
    *out = a;
    return SLAVA_OK;
fail:
    sv_app_free(a);
    return st;
}

void sv_app_free(sv_app *a) {
    if (!a) return;
    if (a->tmp_dir) {
        /* uploads are removed as soon as they are used; clear anything left and the folder */
        DIR *d = opendir(a->tmp_dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            char *p = sv_path_join(a->tmp_dir, de->d_name);
            if (p) unlink(p);
            free(p);
        }
        if (d) closedir(d);
        rmdir(a->tmp_dir);
        free(a->tmp_dir);
    }
    sv_thumbs_free(a->thumbs);
    slava_tokenizer_free(a->tok);
    slava_embedder_free(a->emb);
    slava_index_free(a->ix);
    free(a->index_path);
    pthread_mutex_destroy(&a->emb_mu);
    pthread_mutex_destroy(&a->log_mu);
    free(a);
}

/* ------------------------------------------------------------------ routing */

/* "/prefix/ID" → ID (one non-empty segment), else NULL. */
static const char *route_id(const char *path, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) || !path[n] || strchr(path + n, '/')) return NULL;
    return path + n;
}

int64_t sv_app_body_limit(const sv_app *a, const char *method, const char *path) {
    if (strcmp(method, "POST")) return 0;
    if (!strcmp(path, "/api/search")) return a->o.max_upload + 64 * 1024;   /* file + multipart framing */
    if (!strcmp(path, "/v1/embeddings")) return SV_MAX_JSON_BODY;
    return 0;
}

/* A decoded path that could name something outside the routes: dot segments, backslashes,
 * control bytes. Clip ids are looked up in the index, never opened, but such paths are refused
 * outright so that no handler ever sees them. */
static int suspicious_path(const char *p) {
    if (p[0] != '/') return 1;
    for (const char *s = p; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\') return 1;
        if (*s == '/' && s[1] == '.' && (s[2] == '/' || !s[2] || (s[2] == '.' && (s[3] == '/' || !s[3])))) return 1;
    }
    return 0;
}

void sv_app_handle(sv_app *a, const sv_http_req *req, sv_http_resp *resp) {
    const char *m = req->method ? req->method : "", *p = req->path ? req->path : "";
    int get = !strcmp(m, "GET") || !strcmp(m, "HEAD"), post = !strcmp(m, "POST");
    const char *id;
    atomic_fetch_add(&a->requests, 1);
    if (suspicious_path(p)) {
        sv_http_resp_error(resp, 400, "path '%.200s' is not allowed (dot segments, backslashes and control bytes are refused)", p);
    } else if (!strcmp(p, "/") || !strcmp(p, "/index.html")) {
        if (get) sv_route_page(a, req, resp); else goto not_allowed_get;
    } else if (!strcmp(p, "/api/health")) {
        if (get) sv_route_health(a, req, resp); else goto not_allowed_get;
    } else if (!strcmp(p, "/api/search")) {
        if (get || post) sv_route_search(a, req, resp);
        else { sv_http_resp_error(resp, 405, "%s is not allowed on %s (GET or POST)", m, p); sv_http_resp_header(resp, "Allow", "GET, HEAD, POST"); }
    } else if (!strcmp(p, "/v1/embeddings")) {
        if (post) sv_route_embeddings(a, req, resp);
        else { sv_http_resp_error(resp, 405, "%s is not allowed on %s (POST)", m, p); sv_http_resp_header(resp, "Allow", "POST"); }
    } else if ((id = route_id(p, "/api/clip/"))) {
        if (get) sv_route_clip(a, req, resp, id); else goto not_allowed_get;
    } else if ((id = route_id(p, "/media/"))) {
        if (get) sv_route_media(a, req, resp, id); else goto not_allowed_get;
    } else if ((id = route_id(p, "/thumb/"))) {
        if (get) sv_route_thumb(a, req, resp, id); else goto not_allowed_get;
    } else {
        sv_http_resp_error(resp, 404, "no such endpoint: %.200s (see /api/health; docs/serve.md lists them)", p);
    }
    if (resp->status >= 500) atomic_fetch_add(&a->errors, 1);
    return;
not_allowed_get:
    sv_http_resp_error(resp, 405, "%s is not allowed on %.200s (GET or HEAD)", m, p);
    sv_http_resp_header(resp, "Allow", "GET, HEAD");
}

void sv_app_fail(sv_app *a, sv_http_resp *resp, slava_ctx *ctx, slava_status st, const char *hide, const char *shown) {
    int code;
    switch (st) {
    case SLAVA_E_ARG: code = 400; break;
    case SLAVA_E_NOTFOUND: code = 404; break;
    case SLAVA_E_FORMAT: case SLAVA_E_NOAUDIO: case SLAVA_E_UNSUPPORTED: code = 422; break;
    case SLAVA_E_NOMEM: code = 503; break;
    default: code = 500; break;
    }
    const char *msg = slava_ctx_error(ctx);
    char out[1024];
    size_t o = 0, hl = hide && *hide ? strlen(hide) : 0;
    for (const char *s = msg; *s && o + 1 < sizeof out;) {
        if (hl && !strncmp(s, hide, hl)) {
            for (const char *t = shown; *t && o + 1 < sizeof out; t++) out[o++] = *t;
            s += hl;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = 0;
    if (code >= 500) sv_app_warn(a, "serve: %d: %s", code, out);
    sv_http_resp_error(resp, code, "%s", out[0] ? out : slava_status_name(st));
}
