/*
 * http.c — request and response structs of `slava serve` and the parsers applied to request bytes:
 * percent-decoding, query strings, Range headers, multipart/form-data. See http.h.
 */
#include "serve/http.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

void sv_http_resp_init(sv_http_resp *r) {
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->status = 500;
    r->content_type = "application/json";
}

void sv_http_resp_free(sv_http_resp *r) {
    if (!r->body_static) free(r->body);
    if (r->fd >= 0) close(r->fd);
    sv_http_resp_init(r);
}

void sv_http_resp_header(sv_http_resp *r, const char *name, const char *fmt, ...) {
    size_t used = strlen(r->headers), cap = sizeof r->headers;
    char val[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    int n = snprintf(r->headers + used, cap - used, "%s: %s\r\n", name, val);
    if (n < 0 || (size_t)n >= cap - used) r->headers[used] = 0;
}

static void set_body(sv_http_resp *r, int status, const char *type, char *text) {
    if (!r->body_static) free(r->body);
    r->body_static = 0;
    r->status = status;
    r->content_type = type;
    r->body = text;
    r->body_len = text ? strlen(text) : 0;
}

static const char *error_type(int status) {
    switch (status) {
    case 400: return "invalid_request_error";
    case 404: return "not_found_error";
    case 405: return "method_not_allowed";
    case 408: return "timeout_error";
    case 411: return "length_required";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 416: return "range_not_satisfiable";
    case 422: return "unprocessable_input";
    case 503: return "unavailable_error";
    default:  return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

char *sv_http_error_json(int status, const char *message) {
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    char *s = NULL;
    if (e && cJSON_AddNumberToObject(e, "code", status) && cJSON_AddStringToObject(e, "type", error_type(status)) &&
        cJSON_AddStringToObject(e, "message", message))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The fixed body used when even the error text cannot be allocated. */
static const char oom_body[] = "{\"error\":{\"code\":500,\"type\":\"server_error\",\"message\":\"out of memory\"}}";

static void set_oom(sv_http_resp *r) {
    set_body(r, 500, "application/json", NULL);
    r->body = (char *)oom_body;
    r->body_len = sizeof oom_body - 1;
    r->body_static = 1;
}

void sv_http_resp_json(sv_http_resp *r, int status, char *text) {
    if (!text) { set_oom(r); return; }
    set_body(r, status, "application/json", text);
}

void sv_http_resp_error(sv_http_resp *r, int status, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->fd >= 0) { close(r->fd); r->fd = -1; }
    sv_http_resp_json(r, status, sv_http_error_json(status, msg));
}

const char *sv_http_header_get(const sv_http_req *req, const char *name) {
    for (int i = 0; i < req->n_headers; i++)
        if (req->headers[i].name && !strcasecmp(req->headers[i].name, name)) return req->headers[i].value;
    return NULL;
}

/* ------------------------------------------------------------------ query strings */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long sv_http_decode(const char *s, size_t n, int plus_space, char *out, size_t cap) {
    size_t o = 0;
    if (!cap) return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1, lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap) return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return (long)o;
}

int sv_http_query_get(const char *q, size_t n, const char *key, char *out, size_t cap) {
    if (!q) return 0;
    size_t klen = strlen(key), i = 0;
    char name[64];
    while (i < n) {
        size_t j = i;
        while (j < n && q[j] != '&' && q[j] != ';') j++;
        size_t eq = i;
        while (eq < j && q[eq] != '=') eq++;
        long nl = sv_http_decode(q + i, eq - i, 1, name, sizeof name);
        if (nl == (long)klen && !memcmp(name, key, klen)) {
            if (eq >= j) { out[0] = 0; return 1; }   /* "key" without a value: empty */
            return sv_http_decode(q + eq + 1, j - eq - 1, 1, out, cap) < 0 ? -1 : 1;
        }
        i = j + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ Range */

/* A decimal number of digits only (no sign, no spaces), at most 18 digits. */
static int parse_u63(const char *s, size_t n, int64_t *v) {
    if (n == 0 || n > 18) return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int sv_http_parse_range(const char *value, int64_t size, int64_t *first, int64_t *last) {
    if (!value) return SV_RANGE_FULL;
    while (*value == ' ' || *value == '\t') value++;
    if (strncasecmp(value, "bytes=", 6)) return SV_RANGE_FULL;
    const char *s = value + 6;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    while (n && (*s == ' ' || *s == '\t')) { s++; n--; }
    if (memchr(s, ',', n)) return SV_RANGE_FULL;   /* several ranges: send the whole resource */
    const char *dash = memchr(s, '-', n);
    if (!dash) return SV_RANGE_FULL;
    size_t a_len = (size_t)(dash - s), b_len = n - a_len - 1;
    int64_t a = 0, b = 0;
    if (a_len == 0) {                                /* bytes=-N: the last N bytes */
        if (parse_u63(dash + 1, b_len, &b)) return SV_RANGE_FULL;
        if (b == 0 || size == 0) return SV_RANGE_BAD;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return SV_RANGE_PART;
    }
    if (parse_u63(s, a_len, &a)) return SV_RANGE_FULL;
    if (b_len == 0) b = INT64_MAX;
    else if (parse_u63(dash + 1, b_len, &b)) return SV_RANGE_FULL;
    if (b < a) return SV_RANGE_FULL;                 /* invalid: ignored, as the RFC says */
    if (a >= size) return SV_RANGE_BAD;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return SV_RANGE_PART;
}

/* ------------------------------------------------------------------ multipart/form-data */

/* Parameter `name` of a header value like `form-data; name="file"; filename="a.wav"` (quoted or
 * token, backslash escapes in quotes) into out[cap]. 1 found, 0 not. */
static int header_param(const char *v, size_t n, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name), i = 0;
    while (i < n) {
        while (i < n && v[i] != ';') {           /* skip to the next parameter */
            if (v[i] == '"') { i++; while (i < n && v[i] != '"') i += v[i] == '\\' ? 2 : 1; }
            i++;
        }
        i++;
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i + nl < n && !strncasecmp(v + i, name, nl) && v[i + nl] == '=') {
            i += nl + 1;
            size_t o = 0;
            if (i < n && v[i] == '"') {
                for (i++; i < n && v[i] != '"'; i++) {
                    if (v[i] == '\\' && i + 1 < n) i++;
                    if (o + 1 < cap) out[o++] = v[i];
                }
            } else {
                for (; i < n && v[i] != ';' && v[i] != ' '; i++)
                    if (o + 1 < cap) out[o++] = v[i];
            }
            out[o] = 0;
            return 1;
        }
    }
    return 0;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m == 0 || n < m) return NULL;
    for (const uint8_t *p = hay, *end = hay + n - m; p <= end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p) + 1);
        if (!p) return NULL;
        if (!memcmp(p, needle, m)) return p;
    }
    return NULL;
}

slava_status sv_http_multipart_find(slava_ctx *ctx, const char *content_type, const uint8_t *body, size_t n,
                                    const char *field, sv_http_part *out) {
    memset(out, 0, sizeof *out);
    if (!body) { body = (const uint8_t *)""; n = 0; }   /* no body: body + n below must still be defined */
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19))
        return sv_err(ctx, SLAVA_E_FORMAT, "request body: expected Content-Type multipart/form-data, got '%.100s'",
                      content_type ? content_type : "");
    char b[80];
    if (!header_param(content_type, strlen(content_type), "boundary", b, sizeof b) || !b[0] || strlen(b) > 70)
        return sv_err(ctx, SLAVA_E_FORMAT, "request body: multipart/form-data without a valid boundary (1 to 70 characters)");
    /* delimiter = CRLF "--" boundary; the first one may start the body without the CRLF */
    uint8_t delim[80];
    size_t dl = (size_t)snprintf((char *)delim, sizeof delim, "\r\n--%s", b);
    const uint8_t *p = body, *end = body + n;
    if (n >= dl - 2 && !memcmp(body, delim + 2, dl - 2)) p = body + dl - 2;
    else {
        const uint8_t *d = find_bytes(body, n, delim, dl);
        if (!d) return sv_err(ctx, SLAVA_E_FORMAT, "request body: multipart boundary not found");
        p = d + dl;
    }
    for (int parts = 0; parts < 64; parts++) {
        /* after a delimiter: "--" closes the body, else optional spaces and CRLF */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') return SLAVA_E_NOTFOUND;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return sv_err(ctx, SLAVA_E_FORMAT, "request body: malformed multipart delimiter line");
        p += 2;
        const uint8_t *hend = find_bytes(p, (size_t)(end - p), (const uint8_t *)"\r\n\r\n", 4);
        const uint8_t *blank = (end - p >= 2 && p[0] == '\r' && p[1] == '\n') ? p : NULL;   /* no headers */
        if (!hend && !blank) return sv_err(ctx, SLAVA_E_FORMAT, "request body: multipart part headers not terminated");
        const uint8_t *cstart = blank ? p + 2 : hend + 4;
        const uint8_t *hstop = blank ? p : hend;
        if (hstop - p > 8192) return sv_err(ctx, SLAVA_E_FORMAT, "request body: multipart part headers above 8 KiB");
        char name[128] = "", filename[256] = "", ctype[128] = "";
        int disposition = 0;
        for (const uint8_t *h = p; h < hstop;) {
            const uint8_t *eol = find_bytes(h, (size_t)(hstop - h), (const uint8_t *)"\r\n", 2);
            if (!eol) eol = hstop;
            const uint8_t *colon = memchr(h, ':', (size_t)(eol - h));
            if (colon) {
                const char *hn = (const char *)h, *hv = (const char *)colon + 1;
                size_t hnl = (size_t)(colon - h), hvl = (size_t)((const char *)eol - hv);
                while (hvl && (*hv == ' ' || *hv == '\t')) { hv++; hvl--; }
                if (hnl == 19 && !strncasecmp(hn, "Content-Disposition", 19)) {
                    disposition = hvl >= 9 && !strncasecmp(hv, "form-data", 9);
                    header_param(hv, hvl, "name", name, sizeof name);
                    header_param(hv, hvl, "filename", filename, sizeof filename);
                } else if (hnl == 12 && !strncasecmp(hn, "Content-Type", 12)) {
                    size_t cl = hvl < sizeof ctype - 1 ? hvl : sizeof ctype - 1;
                    memcpy(ctype, hv, cl);
                    ctype[cl] = 0;
                }
            }
            h = eol + 2;
        }
        const uint8_t *next = find_bytes(cstart, (size_t)(end - cstart), delim, dl);
        if (!next) return sv_err(ctx, SLAVA_E_FORMAT, "request body: multipart part not closed by the boundary (truncated upload?)");
        if (disposition && !strcmp(name, field)) {
            out->off = (size_t)(cstart - body);
            out->len = (size_t)(next - cstart);
            snprintf(out->filename, sizeof out->filename, "%s", filename);
            snprintf(out->content_type, sizeof out->content_type, "%s", ctype);
            return SLAVA_OK;
        }
        p = next + dl;
    }
    return sv_err(ctx, SLAVA_E_FORMAT, "request body: more than 64 multipart parts");
}

/* ------------------------------------------------------------------ status lines */

const char *sv_http_reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default:  return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

/* ------------------------------------------------------------------ media types */

const char *sv_http_media_type(const char *path) {
    static const struct { const char *ext, *type; } types[] = {
        {"mp4", "video/mp4"}, {"m4v", "video/mp4"}, {"mov", "video/quicktime"}, {"webm", "video/webm"},
        {"mkv", "video/x-matroska"}, {"avi", "video/x-msvideo"}, {"ogv", "video/ogg"},
        {"wav", "audio/wav"}, {"flac", "audio/flac"}, {"mp3", "audio/mpeg"}, {"m4a", "audio/mp4"},
        {"ogg", "audio/ogg"}, {"opus", "audio/ogg"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
        {"png", "image/png"}, {"webp", "image/webp"}};
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return "application/octet-stream";
    for (size_t i = 0; i < SV_ARRAY_LEN(types); i++)
        if (!strcasecmp(dot + 1, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}
