/*
 * routes_media.c — the media endpoints of `slava serve`: /media/ID (the clip's own file, with
 * single byte-range requests so a <video> element can seek) and /thumb/ID?t=S (a JPEG of that
 * second). A clip id is looked up in the index; the only path ever opened is the source the index
 * recorded for that clip, so no request can name a file.
 */
#include "serve/app.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The clip's index entry with a source, or answered 404. */
static int find_clip(sv_app *a, sv_http_resp *resp, const char *id, slava_index_clip *c) {
    int i = slava_index_find_clip(a->ix, id);
    if (i < 0) { sv_http_resp_error(resp, 404, "no clip '%.200s' in the index", id); return -1; }
    slava_index_get_clip(a->ix, i, c);
    if (!c->source || !c->source[0]) { sv_http_resp_error(resp, 404, "clip '%.200s' has no media file recorded", id); return -1; }
    return 0;
}

void sv_route_media(sv_app *a, const sv_http_req *req, sv_http_resp *resp, const char *id) {
    slava_index_clip c;
    if (find_clip(a, resp, id, &c)) return;
    int fd = open(c.source, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = fd < 0 ? errno : EISDIR;
        if (fd >= 0) close(fd);
        sv_http_resp_error(resp, 404, "the media file of clip '%.200s' cannot be opened: %s", id, strerror(e));
        return;
    }
    int64_t size = sb.st_size, first = 0, last = size - 1;
    int r = sv_http_parse_range(sv_http_header_get(req, "Range"), size, &first, &last);
    if (r == SV_RANGE_BAD) {
        close(fd);
        sv_http_resp_error(resp, 416, "range '%.100s' is outside the %lld bytes of clip '%.200s'",
                           sv_http_header_get(req, "Range"), (long long)size, id);
        sv_http_resp_header(resp, "Content-Range", "bytes */%lld", (long long)size);
        return;
    }
    resp->status = r == SV_RANGE_PART ? 206 : 200;
    resp->content_type = sv_http_media_type(c.source);
    resp->fd = fd;
    resp->file_off = r == SV_RANGE_PART ? first : 0;
    resp->file_len = r == SV_RANGE_PART ? last - first + 1 : size;
    resp->file_size = size;
    sv_http_resp_header(resp, "Accept-Ranges", "bytes");
    if (r == SV_RANGE_PART) sv_http_resp_header(resp, "Content-Range", "bytes %lld-%lld/%lld", (long long)first, (long long)last, (long long)size);
    sv_http_resp_header(resp, "Cache-Control", "no-cache");
}

void sv_route_thumb(sv_app *a, const sv_http_req *req, sv_http_resp *resp, const char *id) {
    slava_index_clip c;
    char ts[32] = "0";
    int r = sv_http_query_get(req->query, req->query ? strlen(req->query) : 0, "t", ts, sizeof ts);
    char *end = NULL;
    double t = r >= 0 ? strtod(ts, &end) : NAN;
    if (r < 0 || !ts[0] || *end || !isfinite(t) || t < 0 || t > 1e7) {
        sv_http_resp_error(resp, 400, "t='%.40s': expected seconds, a number from 0", r < 0 ? "?" : ts);
        return;
    }
    if (find_clip(a, resp, id, &c)) return;
    if (c.duration > 0 && t > c.duration) t = c.duration;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    slava_ctx *ctx = slava_ctx_new();
    if (!ctx) { sv_http_resp_error(resp, 503, "out of memory"); return; }
    slava_status st = sv_thumb_get(ctx, a->thumbs, c.id, c.source, t, &jpeg, &len);
    if (st == SLAVA_E_IO || st == SLAVA_E_FORMAT) {
        /* a file gone or without pictures (an audio-only clip): not a server fault */
        sv_http_resp_error(resp, 404, "no thumbnail for clip '%.200s': %s", id, slava_ctx_error(ctx));
    } else if (st) {
        sv_app_fail(a, resp, ctx, st, NULL, NULL);
    } else {
        resp->status = 200;
        resp->content_type = "image/jpeg";
        resp->body = (char *)jpeg;
        resp->body_len = len;
        sv_http_resp_header(resp, "Cache-Control", "max-age=3600");
    }
    slava_ctx_free(ctx);
}
