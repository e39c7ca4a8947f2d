/*
 * http.h — the transport-independent side of `slava serve`: one request and one response as plain
 * structs, and the parsers our handlers apply to request bytes (query strings, Range headers,
 * multipart/form-data bodies). Every parser takes bytes and a length, never trusts a terminator,
 * and has a size limit, so the whole request path can be driven by a fuzzer without a socket.
 * civetweb (server.c) fills an sv_http_req from the wire and writes an sv_http_resp back.
 */
#ifndef SLAVA_SERVE_HTTP_H
#define SLAVA_SERVE_HTTP_H

#include "base/base.h"
#include <stdint.h>

typedef struct { const char *name, *value; } sv_http_header;

/* One request as the handlers see it. Strings are borrowed from the transport. */
typedef struct {
    const char *method;            /* "GET", "POST", ... */
    const char *path;              /* percent-decoded path, starting with '/' */
    const char *query;             /* raw query string after '?' (not decoded), or NULL */
    int n_headers;
    const sv_http_header *headers;
    const uint8_t *body;           /* request body (POST), NULL when none */
    size_t body_len;
} sv_http_req;

/* One response. The body is either bytes in memory or a byte range of an open file. */
typedef struct {
    int status;
    const char *content_type;      /* static string */
    char *body;                    /* malloc'd (owned) unless body_static */
    size_t body_len;
    int body_static;               /* 1: body points at constant data, not freed */
    int fd;                        /* >= 0: send file bytes [file_off, file_off + file_len) */
    int64_t file_off, file_len, file_size;
    char headers[512];             /* extra header lines, each ending in "\r\n" */
} sv_http_resp;

void sv_http_resp_init(sv_http_resp *r);
void sv_http_resp_free(sv_http_resp *r);   /* frees the body, closes the fd */
/* Append one "Name: value\r\n" line to r->headers (dropped when it does not fit). */
void sv_http_resp_header(sv_http_resp *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set a JSON body (takes ownership of the malloc'd text; NULL text → 500 out of memory). */
void sv_http_resp_json(sv_http_resp *r, int status, char *text);
/* {"error":{"code":status,"type":...,"message":...}} with the message formatted printf-style. */
void sv_http_resp_error(sv_http_resp *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The JSON error body alone (malloc'd), for errors civetweb raises itself. */
char *sv_http_error_json(int status, const char *message);

/* Header value by case-insensitive name, or NULL. */
const char *sv_http_header_get(const sv_http_req *req, const char *name);

/* Percent-decode n bytes (with '+' as a space when plus_space) into out[cap] (NUL-terminated).
 * Returns the decoded length, or -1 for a bad escape, a decoded NUL, or a result that does not
 * fit in cap - 1 bytes. */
long sv_http_decode(const char *s, size_t n, int plus_space, char *out, size_t cap);
/* Value of `key` in a raw query string of n bytes (a=1&b=two), decoded into out[cap].
 * Returns 1 found, 0 absent, -1 malformed (bad escape, too long for cap). The first occurrence wins. */
int sv_http_query_get(const char *q, size_t n, const char *key, char *out, size_t cap);

/* Range header of a GET on a resource of `size` bytes (RFC 9110 §14): "bytes=A-B", "bytes=A-" or
 * "bytes=-N". SV_RANGE_FULL: no header, a syntax we ignore, or several ranges (the whole resource
 * is sent, as the RFC allows); SV_RANGE_PART: [*first, *last] inclusive; SV_RANGE_BAD: nothing of
 * the resource is in the range (416). */
enum { SV_RANGE_FULL = 0, SV_RANGE_PART = 1, SV_RANGE_BAD = 2 };
int sv_http_parse_range(const char *value, int64_t size, int64_t *first, int64_t *last);

/* One part of a multipart/form-data body. */
typedef struct {
    size_t off, len;               /* the part's content inside the body */
    char filename[256];            /* the filename parameter ("" when absent) */
    char content_type[128];        /* the part's Content-Type ("" when absent) */
} sv_http_part;
/* Find the part named `field` in a multipart/form-data body of n bytes, the boundary taken from
 * the request's Content-Type. SLAVA_E_NOTFOUND when no part has that name; SLAVA_E_FORMAT (message
 * in ctx) for a body or Content-Type that is not well-formed multipart/form-data. */
slava_status sv_http_multipart_find(slava_ctx *ctx, const char *content_type, const uint8_t *body, size_t n,
                                    const char *field, sv_http_part *out);

/* The reason phrase of a status code (RFC 9110 wording). */
const char *sv_http_reason(int status);

/* Content-Type of a media file by its extension (video/mp4, audio/wav, ...; application/octet-stream). */
const char *sv_http_media_type(const char *path);

#endif
