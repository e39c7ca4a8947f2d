/*
 * routes_api.c — the JSON endpoints of `slava serve`: /api/health, /api/search (GET text or
 * clip id, POST an uploaded audio / image / video file), /api/clip/ID and the OpenAI-shaped
 * /v1/embeddings; and the page at /. docs/serve.md documents every field.
 */
#include "serve/app.h"
#include "serve/page.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

void sv_route_page(sv_app *a, const sv_http_req *req, sv_http_resp *resp) {
    (void)a;
    (void)req;
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    resp->body = (char *)sv_page_html;
    resp->body_len = sv_page_html_len;
    resp->body_static = 1;
    sv_http_resp_header(resp, "Cache-Control", "no-cache");
    sv_http_resp_header(resp, "Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
                        "script-src 'self' 'unsafe-inline'; connect-src 'self'");
}

static void add_string_or_null(cJSON *o, const char *name, const char *v) {
    if (v) cJSON_AddStringToObject(o, name, v);
    else cJSON_AddNullToObject(o, name);
}

void sv_route_health(sv_app *a, const sv_http_req *req, sv_http_resp *resp) {
    (void)req;
    const slava_index_info *in = &a->info;
    int64_t hits, misses;
    size_t bytes;
    sv_thumbs_stats(a->thumbs, &hits, &misses, &bytes);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "version", slava_version());
    cJSON *ix = cJSON_AddObjectToObject(o, "index"), *q = cJSON_AddObjectToObject(o, "queries");
    cJSON *th = cJSON_AddObjectToObject(o, "thumbnails"), *enc = NULL;
    if (ix && q && th) {
        cJSON_AddStringToObject(ix, "path", a->o.index);
        cJSON_AddNumberToObject(ix, "clips", in->n_clips);
        cJSON_AddNumberToObject(ix, "audio_clips", in->n_audio_clips);
        cJSON_AddNumberToObject(ix, "frames", (double)in->n_frames);
        cJSON_AddNumberToObject(ix, "chunks", (double)in->n_chunks);
        cJSON_AddNumberToObject(ix, "dim", in->dim);
        cJSON_AddStringToObject(ix, "dtype", in->f16 ? "f16" : "f32");
        cJSON_AddNumberToObject(ix, "fps", in->fps);
        if ((enc = cJSON_AddObjectToObject(ix, "encoders")))
            for (int m = 0; m < SLAVA_MODS; m++) cJSON_AddStringToObject(enc, slava_store_modality_name(m), in->encoder_id[m]);
        cJSON_AddStringToObject(ix, "heads", in->heads_id);
        cJSON_AddStringToObject(ix, "ann", in->has_ann && in->ann_kind ? in->ann_kind : "");
        /* which query kinds this server can embed */
        int clip = a->emb && a->einfo.p_t > 0, clap = a->emb && a->einfo.p_a > 0;
        cJSON_AddBoolToObject(q, "text", clip);
        cJSON_AddBoolToObject(q, "image", clip && a->einfo.p_v > 0);
        cJSON_AddBoolToObject(q, "video", clip && a->einfo.p_v > 0);
        cJSON_AddBoolToObject(q, "audio", clap);
        cJSON_AddBoolToObject(q, "clip", 1);
        cJSON_AddStringToObject(q, "precision", slava_precision_name(a->precision));
        cJSON_AddNumberToObject(q, "max_k", a->o.max_k);
        cJSON_AddNumberToObject(q, "max_upload", (double)a->o.max_upload);
        cJSON_AddNumberToObject(th, "cached_bytes", (double)bytes);
        cJSON_AddNumberToObject(th, "hits", (double)hits);
        cJSON_AddNumberToObject(th, "misses", (double)misses);
    }
    cJSON_AddNumberToObject(o, "workers", a->o.workers);
    cJSON_AddNumberToObject(o, "requests", (double)atomic_load(&a->requests));
    cJSON_AddNumberToObject(o, "server_errors", (double)atomic_load(&a->errors));
    cJSON_AddNumberToObject(o, "uptime_s", floor((sv_now() - a->t0) * 10) / 10);
    sv_http_resp_json(resp, 200, cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
}

/* ------------------------------------------------------------------ /api/search */

/* Query parameter `key` into out[cap]: 1 found, 0 absent; -1 answered 400 into resp. */
static int param(const sv_http_req *req, sv_http_resp *resp, const char *key, char *out, size_t cap) {
    int r = sv_http_query_get(req->query, req->query ? strlen(req->query) : 0, key, out, cap);
    if (r < 0) sv_http_resp_error(resp, 400, "query parameter '%s': bad percent-encoding or longer than %zu bytes", key, cap - 1);
    return r;
}

/* The kind of an upload: the kind= parameter, else the part's Content-Type, else its extension. */
static int upload_kind(const char *given, const sv_http_part *part) {
    static const struct { const char *name; int kind; } kinds[] = {
        {"audio", SLAVA_TERM_AUDIO}, {"image", SLAVA_TERM_IMAGE}, {"video", SLAVA_TERM_VIDEO}};
    const char *types[3] = {given, part->content_type, sv_http_media_type(part->filename)};
    for (int i = 0; i < 3; i++) {
        if (!types[i] || !types[i][0]) continue;
        for (size_t k = 0; k < SV_ARRAY_LEN(kinds); k++) {
            size_t n = strlen(kinds[k].name);
            if (!strncasecmp(types[i], kinds[k].name, n) && (i == 0 ? types[i][n] == 0 : types[i][n] == '/')) return kinds[k].kind;
        }
        if (i == 0) return -2;   /* kind= given but unknown */
    }
    return -1;
}

/* Write the uploaded part to a file of the upload folder; path[cap]. 0 ok, else answered. */
static int spool_upload(sv_app *a, const sv_http_req *req, const sv_http_part *part, char *path, size_t cap,
                        sv_http_resp *resp) {
    /* keep a short alphanumeric extension: FFmpeg's image demuxers look at it */
    char ext[12] = "bin";
    const char *dot = strrchr(part->filename, '.');
    if (dot && dot[1]) {
        size_t n = 0;
        for (const char *s = dot + 1; *s && n < 8 && isalnum((unsigned char)*s); s++) ext[n++] = (char)tolower((unsigned char)*s);
        if (n && !dot[1 + n]) ext[n] = 0; else snprintf(ext, sizeof ext, "bin");
    }
    snprintf(path, cap, "%s/upload-%ld.%s", a->tmp_dir, atomic_fetch_add(&a->seq, 1), ext);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sv_app_warn(a, "serve: %s: cannot create: %s", path, strerror(errno));
        sv_http_resp_error(resp, 500, "cannot store the upload: %s", strerror(errno));
        return -1;
    }
    const uint8_t *p = req->body + part->off;
    size_t left = part->len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(path);
            sv_app_warn(a, "serve: %s: cannot write: %s", path, strerror(e));
            sv_http_resp_error(resp, 507, "cannot store the upload: %s", strerror(e));
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    close(fd);
    return 0;
}

void sv_route_search(sv_app *a, const sv_http_req *req, sv_http_resp *resp) {
    char in_s[16] = "both", k_s[16] = "10", kind_s[16] = "", like[512] = "";
    char *text = malloc(SV_MAX_TEXT + 1);
    char upload[4200] = "";
    const char *shown_name = "upload";
    slava_search_term terms[2];
    int n_terms = 0, r = 0;
    slava_search_hit *hits = NULL;
    slava_search_query q = {0};
    slava_ctx *ctx = slava_ctx_new();
    if (!text || !ctx) { sv_http_resp_error(resp, 503, "out of memory"); goto done; }
    text[0] = 0;
    if (param(req, resp, "in", in_s, sizeof in_s) < 0 || param(req, resp, "k", k_s, sizeof k_s) < 0 ||
        param(req, resp, "kind", kind_s, sizeof kind_s) < 0 || param(req, resp, "like", like, sizeof like) < 0 ||
        (r = param(req, resp, "text", text, SV_MAX_TEXT + 1)) < 0)
        goto done;
    slava_search_opts so;
    slava_search_opts_default(&so);
    if ((so.in = slava_search_in_parse(in_s)) < 0) {
        sv_http_resp_error(resp, 400, "in='%s': expected visual, audio or both", in_s);
        goto done;
    }
    char *end = NULL;
    long k = strtol(k_s, &end, 10);
    if (!k_s[0] || *end || k < 1 || k > a->o.max_k) {
        sv_http_resp_error(resp, 400, "k='%s': expected an integer from 1 to %d", k_s, a->o.max_k);
        goto done;
    }
    so.k = (int)k;

    sv_http_part part;   /* shown_name may point into it until the end */
    if (!strcmp(req->method, "POST")) {
        slava_status st = sv_http_multipart_find(ctx, sv_http_header_get(req, "Content-Type"), req->body, req->body_len,
                                                 "file", &part);
        if (st == SLAVA_E_NOTFOUND) { sv_http_resp_error(resp, 400, "the upload has no form field named 'file'"); goto done; }
        if (st) { sv_http_resp_error(resp, 400, "%s", slava_ctx_error(ctx)); goto done; }
        if (part.len == 0) { sv_http_resp_error(resp, 400, "the uploaded file is empty"); goto done; }
        int kind = upload_kind(kind_s, &part);
        if (kind == -2) { sv_http_resp_error(resp, 400, "kind='%s': expected audio, image or video", kind_s); goto done; }
        if (kind < 0) {
            sv_http_resp_error(resp, 415, "cannot tell whether '%.200s' is audio, image or video: pass kind=audio|image|video",
                               part.filename[0] ? part.filename : "the upload");
            goto done;
        }
        if (kind == SLAVA_TERM_VIDEO && so.in == SLAVA_IN_AUDIO) kind = SLAVA_TERM_AUDIO;   /* its sound track */
        if (spool_upload(a, req, &part, upload, sizeof upload, resp)) goto done;
        if (part.filename[0]) shown_name = part.filename;
        terms[n_terms++] = (slava_search_term){(slava_term_kind)kind, upload, 1.0f};
    } else {
        if (r > 0 && text[0]) terms[n_terms++] = (slava_search_term){SLAVA_TERM_TEXT, text, 1.0f};
        if (like[0]) terms[n_terms++] = (slava_search_term){SLAVA_TERM_CLIP, like, 1.0f};
        if (!n_terms) {
            sv_http_resp_error(resp, 400, "give text=QUERY or like=CLIP_ID (or POST a file in the form field 'file')");
            goto done;
        }
    }
    for (int i = 0; i < n_terms; i++)
        if (terms[i].kind != SLAVA_TERM_CLIP && !a->emb) {
            sv_http_resp_error(resp, 503, "this server has no encoders loaded for %s queries: start slava serve with --clip DIR / --clap DIR",
                               slava_term_kind_name(terms[i].kind));
            goto done;
        }
    pthread_mutex_lock(&a->emb_mu);
    slava_status st = slava_search_query_build(ctx, a->ix, a->emb, n_terms, terms, &q);
    pthread_mutex_unlock(&a->emb_mu);
    if (st) { sv_app_fail(a, resp, ctx, st, upload, shown_name); goto done; }
    hits = calloc((size_t)so.k, sizeof *hits);
    int n_hits = 0;
    if (!hits) { sv_http_resp_error(resp, 503, "out of memory"); goto done; }
    if ((st = slava_search(ctx, a->ix, &q, &so, hits, &n_hits))) { sv_app_fail(a, resp, ctx, st, upload, shown_name); goto done; }
    /* the result names the upload by the client's file name, not the spooled path */
    for (int i = 0; i < n_terms; i++)
        if (terms[i].value == upload) terms[i].value = shown_name;
    sv_http_resp_json(resp, 200, slava_search_format(a->ix, n_terms, terms, &so, hits, n_hits, SLAVA_FMT_JSON));
done:
    if (upload[0]) unlink(upload);
    slava_search_query_free(&q);
    free(hits);
    free(text);
    slava_ctx_free(ctx);
}

/* ------------------------------------------------------------------ /api/clip/ID */

void sv_route_clip(sv_app *a, const sv_http_req *req, sv_http_resp *resp, const char *id) {
    (void)req;
    int i = slava_index_find_clip(a->ix, id);
    if (i < 0) { sv_http_resp_error(resp, 404, "no clip '%.200s' in the index", id); return; }
    slava_index_clip c;
    slava_index_get_clip(a->ix, i, &c);
    cJSON *o = cJSON_CreateObject(), *caps = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "clip", c.id);
    add_string_or_null(o, "source", c.source);
    cJSON_AddStringToObject(o, "split", slava_split_name(c.split));
    if (c.duration >= 0) cJSON_AddNumberToObject(o, "duration", c.duration);
    else cJSON_AddNullToObject(o, "duration");
    cJSON_AddBoolToObject(o, "has_audio", c.has_audio);
    cJSON_AddNumberToObject(o, "frames", c.n_frames);
    cJSON_AddNumberToObject(o, "chunks", c.n_chunks);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        cJSON *arr = cJSON_CreateArray();
        for (int j = 0; j < c.n_captions[k]; j++) {
            const char *t = c.captions[k] ? c.captions[k][j] : NULL;
            cJSON_AddItemToArray(arr, t ? cJSON_CreateString(t) : cJSON_CreateNull());
        }
        cJSON_AddItemToObject(caps, slava_store_kind_name(k), arr);
    }
    cJSON_AddItemToObject(o, "captions", caps);
    sv_http_resp_json(resp, 200, cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
}

/* ------------------------------------------------------------------ /v1/embeddings */

static char *base64_floats(const float *x, int n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *b = (const uint8_t *)x;   /* float32 little-endian, as OpenAI's base64 format */
    size_t len = (size_t)n * 4, o = 0;
    char *s = malloc((len + 2) / 3 * 4 + 1);
    if (!s) return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < len ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < len ? b[i + 2] : 0);
        s[o++] = tab[v >> 18 & 63];
        s[o++] = tab[v >> 12 & 63];
        s[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        s[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    s[o] = 0;
    return s;
}

static char *float_array(const float *x, int n) {
    char *s = malloc((size_t)n * 18 + 3), *p = s;
    if (!s) return NULL;
    *p++ = '[';
    for (int i = 0; i < n; i++) p += sprintf(p, i ? ",%.9g" : "%.9g", x[i]);
    *p++ = ']';
    *p = 0;
    return s;
}

void sv_route_embeddings(sv_app *a, const sv_http_req *req, sv_http_resp *resp) {
    cJSON *in = cJSON_ParseWithLength((const char *)req->body, req->body_len), *out = NULL;
    const char **texts = NULL;
    slava_embedding *emb = NULL;
    int *ids = NULL, n = 0;
    slava_ctx *ctx = slava_ctx_new();
    if (!ctx) { sv_http_resp_error(resp, 503, "out of memory"); goto done; }
    if (!cJSON_IsObject(in)) { sv_http_resp_error(resp, 400, "request body: expected a JSON object {\"input\": ...}"); goto done; }
    cJSON *input = cJSON_GetObjectItemCaseSensitive(in, "input"), *model = cJSON_GetObjectItemCaseSensitive(in, "model");
    cJSON *fmt = cJSON_GetObjectItemCaseSensitive(in, "encoding_format"), *dims = cJSON_GetObjectItemCaseSensitive(in, "dimensions");
    int b64 = 0;
    if (fmt && !cJSON_IsNull(fmt)) {
        if (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "base64")) b64 = 1;
        else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "float")) {
            sv_http_resp_error(resp, 400, "encoding_format: expected \"float\" or \"base64\"");
            goto done;
        }
    }
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model)) { sv_http_resp_error(resp, 400, "model: expected a string"); goto done; }
    if (cJSON_IsString(input)) n = 1;
    else if (cJSON_IsArray(input)) n = cJSON_GetArraySize(input);
    else { sv_http_resp_error(resp, 400, "input: expected a string or an array of strings"); goto done; }
    if (n < 1 || n > SV_MAX_INPUTS) { sv_http_resp_error(resp, 400, "input: expected 1 to %d texts, got %d", SV_MAX_INPUTS, n); goto done; }
    if (!a->emb || a->einfo.p_t <= 0 || !a->tok) {
        sv_http_resp_error(resp, 503, "this server has no CLIP text tower loaded: start slava serve with --clip DIR");
        goto done;
    }
    if (dims && !cJSON_IsNull(dims) && !(cJSON_IsNumber(dims) && dims->valuedouble == a->einfo.p_t)) {
        sv_http_resp_error(resp, 400, "dimensions: this model's embeddings have %d dimensions only", a->einfo.p_t);
        goto done;
    }
    texts = calloc((size_t)n, sizeof *texts);
    emb = calloc((size_t)n, sizeof *emb);
    ids = malloc(sizeof *ids * (SV_MAX_TEXT + 2));
    if (!texts || !emb || !ids) { sv_http_resp_error(resp, 503, "out of memory"); goto done; }
    for (int i = 0; i < n; i++) {
        cJSON *it = cJSON_IsString(input) ? input : cJSON_GetArrayItem(input, i);
        if (!cJSON_IsString(it)) {
            sv_http_resp_error(resp, 400, "input[%d]: expected a string (token arrays are not accepted: send the text)", i);
            goto done;
        }
        if (strlen(it->valuestring) > SV_MAX_TEXT) {
            sv_http_resp_error(resp, 400, "input[%d]: longer than %d bytes", i, SV_MAX_TEXT);
            goto done;
        }
        texts[i] = it->valuestring;
    }
    long tokens = 0;
    pthread_mutex_lock(&a->emb_mu);
    slava_status st = slava_embed_texts(ctx, a->emb, n, texts, emb);
    for (int i = 0; i < n && st == SLAVA_OK; i++) {
        int n_ids = 0;
        st = slava_tokenize(ctx, a->tok, texts[i], strlen(texts[i]), SV_MAX_TEXT + 2, ids, &n_ids, NULL);
        tokens += n_ids;
    }
    pthread_mutex_unlock(&a->emb_mu);
    if (st) { sv_app_fail(a, resp, ctx, st, NULL, NULL); goto done; }
    out = cJSON_CreateObject();
    cJSON *data = cJSON_AddArrayToObject(out, "data"), *usage = NULL;
    cJSON_AddStringToObject(out, "object", "list");
    for (int i = 0; i < n && data; i++) {
        cJSON *d = cJSON_CreateObject();
        char *v = b64 ? base64_floats(emb[i].embedding, emb[i].P) : float_array(emb[i].embedding, emb[i].P);
        cJSON_AddItemToArray(data, d);
        cJSON_AddStringToObject(d, "object", "embedding");
        cJSON_AddNumberToObject(d, "index", i);
        if (!v) { sv_http_resp_error(resp, 503, "out of memory"); goto done; }
        cJSON_AddItemToObject(d, "embedding", b64 ? cJSON_CreateString(v) : cJSON_CreateRaw(v));
        free(v);
    }
    cJSON_AddStringToObject(out, "model", cJSON_IsString(model) ? model->valuestring : a->model);
    usage = cJSON_AddObjectToObject(out, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", (double)tokens);
    cJSON_AddNumberToObject(usage, "total_tokens", (double)tokens);
    sv_http_resp_json(resp, 200, cJSON_PrintUnformatted(out));
done:
    if (emb) slava_embeddings_clear(emb, n);
    free(emb);
    free(texts);
    free(ids);
    cJSON_Delete(in);
    cJSON_Delete(out);
    slava_ctx_free(ctx);
}
