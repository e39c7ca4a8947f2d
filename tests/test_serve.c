/*
 * test_serve.c — `slava serve` over HTTP on a free loopback port, against a small synthetic
 * collection indexed with the fixture encoders: every endpoint (page, health, search by text /
 * clip / uploaded video, audio and image, clip, /v1/embeddings, media with range requests,
 * thumbnails) checked against the library and the CLI; path traversal in every form; malformed,
 * oversized and wrong-method requests (4xx with a JSON error); 500 concurrent requests from 10
 * clients, every answer compared with its reference; keep-alive; SIGTERM / SIGINT stop it cleanly
 * and leave no upload files behind; usage errors of the command.
 */
#include "serve_testutil.h"
#include "serve/thumb.h"
#include <cjson/cJSON.h>
#include <pthread.h>

static char g_dir[1024], g_index[1100];
static int g_port;
static slava_index *g_ix;

/* slurp_file with a size_t length */
static char *slurp(const char *path, size_t *len) {
    long n = 0;
    char *b = slurp_file(path, &n);
    if (len) *len = (size_t)n;
    return b;
}

static int is_json_error(const http_resp *r, int status) {
    char ct[128];
    return r->status == status && http_header(r, "Content-Type", ct, sizeof ct) && !strcmp(ct, "application/json") && r->body &&
           !strncmp(r->body, "{\"error\":{\"code\":", 17);
}

static cJSON *get_json(const char *path, int want_status) {
    http_resp r;
    CHECKF(http_get(g_port, path, &r) == 0 && r.status == want_status, "GET %s: status %d, expected %d: %s", path, r.status,
           want_status, r.body ? r.body : "");
    cJSON *j = r.body ? cJSON_Parse(r.body) : NULL;
    CHECKF(j != NULL, "GET %s: not JSON", path);
    http_resp_free(&r);
    return j;
}

/* ------------------------------------------------------------------ endpoints */

static void test_page_and_health(void) {
    http_resp r;
    char ct[128], v[64];
    CHECK(http_get(g_port, "/", &r) == 0 && r.status == 200);
    CHECK(http_header(&r, "Content-Type", ct, sizeof ct) && !strcmp(ct, "text/html; charset=utf-8"));
    CHECK(r.body && strstr(r.body, "<title>slava search</title>") && strstr(r.body, "/api/search"));
    /* nothing fetched from outside: no absolute URLs in the page */
    CHECK(r.body && !strstr(r.body, "http://") && !strstr(r.body, "https://") && !strstr(r.body, "//cdn"));
    CHECK(http_header(&r, "Content-Length", v, sizeof v) && atol(v) == (long)r.body_len);
    http_resp_free(&r);
    CHECK(http_req(g_port, "HEAD", "/", NULL, NULL, 0, &r) == 0 && r.status == 200 && r.body_len == 0);
    http_resp_free(&r);

    cJSON *h = get_json("/api/health", 200);
    slava_index_info info;
    slava_index_get_info(g_ix, &info);
    cJSON *ix = cJSON_GetObjectItem(h, "index"), *q = cJSON_GetObjectItem(h, "queries");
    CHECK(cJSON_IsString(cJSON_GetObjectItem(h, "status")) && !strcmp(cJSON_GetObjectItem(h, "status")->valuestring, "ok"));
    CHECK(ix && cJSON_GetObjectItem(ix, "clips") && cJSON_GetObjectItem(ix, "clips")->valueint == info.n_clips);
    CHECK(ix && cJSON_GetObjectItem(ix, "frames") && cJSON_GetObjectItem(ix, "frames")->valuedouble == (double)info.n_frames);
    CHECK(q && cJSON_IsTrue(cJSON_GetObjectItem(q, "text")) && cJSON_IsTrue(cJSON_GetObjectItem(q, "audio")));
    cJSON_Delete(h);
}

/* `slava search` with the same query: the results must be the same clips, moments and scores. */
static void compare_with_cli(const char *query_path, const char *cli_args) {
    char cmd[2048];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, SLAVA_BIN " search '%s' %s --format json", g_index, cli_args);
    CHECKF(run_cmd(cmd, &out, NULL) == 0, "%s", cmd);
    cJSON *a = get_json(query_path, 200), *b = out ? cJSON_Parse(out) : NULL;
    cJSON *ra = cJSON_GetObjectItem(a, "results"), *rb = cJSON_GetObjectItem(b, "results");
    int n = cJSON_GetArraySize(ra), same = 0;
    CHECKF(n > 0 && n == cJSON_GetArraySize(rb), "%s: %d results vs %d from the CLI", query_path, n, cJSON_GetArraySize(rb));
    for (int i = 0; i < n && i < cJSON_GetArraySize(rb); i++) {
        cJSON *x = cJSON_GetArrayItem(ra, i), *y = cJSON_GetArrayItem(rb, i);
        same += !strcmp(cJSON_GetObjectItem(x, "clip")->valuestring, cJSON_GetObjectItem(y, "clip")->valuestring) &&
                fabs(cJSON_GetObjectItem(x, "score")->valuedouble - cJSON_GetObjectItem(y, "score")->valuedouble) < 1e-5 &&
                cJSON_GetObjectItem(x, "t_start")->valuedouble == cJSON_GetObjectItem(y, "t_start")->valuedouble &&
                !strcmp(cJSON_GetObjectItem(x, "modality")->valuestring, cJSON_GetObjectItem(y, "modality")->valuestring);
    }
    CHECKF(same == n, "%s: %d of %d results as the CLI's", query_path, same, n);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(out);
}

static void test_search(void) {
    slava_index_info info;
    slava_index_get_info(g_ix, &info);
    compare_with_cli("/api/search?text=a+red+circle+moves&in=visual&k=5", "--text 'a red circle moves' --in visual -k 5");
    compare_with_cli("/api/search?text=a%20siren%20wails&in=audio&k=4", "--text 'a siren wails' --in audio -k 4");
    compare_with_cli("/api/search?text=beeps&k=3", "--text beeps --in both -k 3");
    /* k above the collection: every clip; audio: only clips with audio */
    cJSON *j = get_json("/api/search?text=noise&k=100", 200);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")) == info.n_clips);
    cJSON_Delete(j);
    j = get_json("/api/search?text=noise&k=100&in=audio", 200);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")) == info.n_audio_clips);
    cJSON_Delete(j);
    /* a clip of the index as the query finds itself first */
    slava_index_clip c;
    slava_index_get_clip(g_ix, 3, &c);
    char path[512];
    snprintf(path, sizeof path, "/api/search?like=%s&in=visual&k=3", c.id);
    j = get_json(path, 200);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    CHECK(first && !strcmp(cJSON_GetObjectItem(first, "clip")->valuestring, c.id) && cJSON_GetObjectItem(first, "score")->valuedouble > 0.999);
    cJSON_Delete(j);

    /* bad parameters: 400 with a JSON error naming the problem */
    static const char *bad[] = {"/api/search?text=x&in=sideways", "/api/search?text=x&k=0", "/api/search?text=x&k=abc",
                                "/api/search?text=x&k=101", "/api/search", "/api/search?text=", "/api/search?text=%zz",
                                "/api/search?text=x&k=5%00", "/api/search?like=no-such-clip"};
    for (size_t i = 0; i < SV_ARRAY_LEN(bad); i++) {
        http_resp r;
        CHECK(http_get(g_port, bad[i], &r) == 0);
        CHECKF(is_json_error(&r, i + 1 == SV_ARRAY_LEN(bad) ? 404 : 400), "%s: %d %s", bad[i], r.status, r.body ? r.body : "");
        http_resp_free(&r);
    }
    /* a text longer than 4096 bytes */
    char *longq = malloc(6000);
    strcpy(longq, "/api/search?text=");
    memset(longq + 17, 'a', 5000);
    longq[5017] = 0;
    http_resp r;
    CHECK(http_get(g_port, longq, &r) == 0 && is_json_error(&r, 400));
    http_resp_free(&r);
    free(longq);
}

static void test_clip(void) {
    slava_index_info info;
    slava_index_get_info(g_ix, &info);
    int ok = 0;
    for (int i = 0; i < info.n_clips; i++) {
        slava_index_clip c;
        slava_index_get_clip(g_ix, i, &c);
        char path[512];
        snprintf(path, sizeof path, "/api/clip/%s", c.id);
        cJSON *j = get_json(path, 200);
        cJSON *caps = cJSON_GetObjectItem(j, "captions");
        int same = !strcmp(cJSON_GetObjectItem(j, "clip")->valuestring, c.id) &&
                   cJSON_IsBool(cJSON_GetObjectItem(j, "has_audio")) && cJSON_IsTrue(cJSON_GetObjectItem(j, "has_audio")) == !!c.has_audio &&
                   fabs(cJSON_GetObjectItem(j, "duration")->valuedouble - c.duration) < 1e-9 &&
                   cJSON_GetObjectItem(j, "frames")->valueint == c.n_frames;
        for (int k = 0; k < SLAVA_CAP_KINDS && same; k++) {
            cJSON *arr = cJSON_GetObjectItem(caps, slava_store_kind_name(k));
            same = cJSON_GetArraySize(arr) == c.n_captions[k];
            for (int t = 0; t < c.n_captions[k] && same; t++)
                same = c.captions[k][t] && !strcmp(cJSON_GetArrayItem(arr, t)->valuestring, c.captions[k][t]);
        }
        ok += same;
        cJSON_Delete(j);
    }
    CHECKF(ok == info.n_clips, "%d of %d clips as in the index", ok, info.n_clips);
    cJSON *j = get_json("/api/clip/no-such-clip", 404);
    cJSON_Delete(j);
}

/* "embedding" of `slava embed --text` for one text. */
static int cli_text_embedding(const char *text, float *out, int cap) {
    char cmd[1024];
    char *o = NULL;
    snprintf(cmd, sizeof cmd, SLAVA_BIN " embed --clip " SRV_CLIP " --text -- '%s'", text);
    if (run_cmd(cmd, &o, NULL) != 0) { free(o); return -1; }
    cJSON *j = o ? cJSON_Parse(o) : NULL, *e = cJSON_GetObjectItem(j, "embedding");
    int n = cJSON_GetArraySize(e);
    for (int i = 0; i < n && i < cap; i++) out[i] = (float)cJSON_GetArrayItem(e, i)->valuedouble;
    cJSON_Delete(j);
    free(o);
    return n;
}

static void test_embeddings(void) {
    const char *body = "{\"input\":[\"a dog barks\",\"rain on a tin roof\"],\"model\":\"clip-test\"}";
    http_resp r;
    CHECK(http_req(g_port, "POST", "/v1/embeddings", "Content-Type: application/json\r\n", body, strlen(body), &r) == 0 && r.status == 200);
    cJSON *j = r.body ? cJSON_Parse(r.body) : NULL, *data = cJSON_GetObjectItem(j, "data");
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "object")->valuestring, "list") && cJSON_GetArraySize(data) == 2);
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "model")->valuestring, "clip-test"));
    cJSON *usage = cJSON_GetObjectItem(j, "usage");
    CHECK(usage && cJSON_GetObjectItem(usage, "prompt_tokens")->valueint >= 8 &&
          cJSON_GetObjectItem(usage, "total_tokens")->valueint == cJSON_GetObjectItem(usage, "prompt_tokens")->valueint);
    const char *texts[2] = {"a dog barks", "rain on a tin roof"};
    float ref[2][1024];
    for (int i = 0; i < 2; i++) {
        cJSON *d = cJSON_GetArrayItem(data, i), *e = cJSON_GetObjectItem(d, "embedding");
        int n = cli_text_embedding(texts[i], ref[i], 1024);
        CHECK(d && !strcmp(cJSON_GetObjectItem(d, "object")->valuestring, "embedding") && cJSON_GetObjectItem(d, "index")->valueint == i);
        CHECKF(n > 0 && cJSON_GetArraySize(e) == n, "embedding size %d, CLI %d", cJSON_GetArraySize(e), n);
        double md = 0;
        for (int k = 0; k < n && k < cJSON_GetArraySize(e); k++) md = fmax(md, fabs(cJSON_GetArrayItem(e, k)->valuedouble - ref[i][k]));
        CHECKF(md < 1e-5, "input %d: max diff %g from slava embed", i, md);
    }
    cJSON_Delete(j);
    http_resp_free(&r);

    /* base64: float32 little-endian bytes of the same vector */
    body = "{\"input\":\"a dog barks\",\"encoding_format\":\"base64\"}";
    CHECK(http_req(g_port, "POST", "/v1/embeddings", "Content-Type: application/json\r\n", body, strlen(body), &r) == 0 && r.status == 200);
    j = r.body ? cJSON_Parse(r.body) : NULL;
    cJSON *e = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "embedding");
    if (cJSON_IsString(e)) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *s = e->valuestring;
        size_t n = strlen(s), o = 0;
        uint8_t bytes[8192];
        for (size_t i = 0; i + 3 < n && o + 3 <= sizeof bytes; i += 4) {
            uint32_t v = 0;
            int pad = 0;
            for (int k = 0; k < 4; k++) {
                const char *p = s[i + k] == '=' ? NULL : strchr(tab, s[i + k]);
                pad += !p;
                v = v << 6 | (p ? (uint32_t)(p - tab) : 0);
            }
            bytes[o++] = (uint8_t)(v >> 16);
            if (pad < 2) bytes[o++] = (uint8_t)(v >> 8);
            if (pad < 1) bytes[o++] = (uint8_t)v;
        }
        float f[2048];
        memcpy(f, bytes, o);
        double md = 0;
        for (size_t k = 0; k < o / 4; k++) md = fmax(md, fabs(f[k] - ref[0][k]));
        CHECKF(o > 0 && md < 1e-5, "base64: %zu bytes, max diff %g", o, md);
    } else {
        CHECK(!"base64 embedding is a string");
    }
    cJSON_Delete(j);
    http_resp_free(&r);

    static const char *bad[] = {"not json", "[1,2]", "{\"input\":5}", "{\"input\":[]}", "{\"input\":[[1,2,3]]}",
                                "{\"input\":\"x\",\"encoding_format\":\"hex\"}", "{\"input\":\"x\",\"dimensions\":3}", "{}"};
    for (size_t i = 0; i < SV_ARRAY_LEN(bad); i++) {
        CHECK(http_req(g_port, "POST", "/v1/embeddings", "Content-Type: application/json\r\n", bad[i], strlen(bad[i]), &r) == 0);
        CHECKF(is_json_error(&r, 400), "%s: %d %s", bad[i], r.status, r.body ? r.body : "");
        http_resp_free(&r);
    }
    CHECK(http_get(g_port, "/v1/embeddings", &r) == 0 && is_json_error(&r, 405));
    http_resp_free(&r);
}

/* multipart/form-data with one file part. */
static char *form(const char *field, const char *filename, const char *ctype, const void *data, size_t n, size_t *len) {
    char *b = malloc(n + 1024);
    int h = snprintf(b, 1024, "--slavaTestBoundary\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n%s%s%s\r\n",
                     field, filename, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
    memcpy(b + h, data, n);
    size_t t = (size_t)h + n;
    t += (size_t)sprintf(b + t, "\r\n--slavaTestBoundary--\r\n");
    *len = t;
    return b;
}

#define FORM_CT "Content-Type: multipart/form-data; boundary=slavaTestBoundary\r\n"

/* POST the file to /api/search?QUERY; returns the parsed answer (status must be want). */
static cJSON *upload(const char *query, const char *filename, const char *ctype, const void *data, size_t n, int want) {
    size_t len;
    char *body = form("file", filename, ctype, data, n, &len), path[256];
    snprintf(path, sizeof path, "/api/search?%s", query);
    http_resp r;
    CHECK(http_req(g_port, "POST", path, FORM_CT, body, len, &r) == 0);
    CHECKF(r.status == want, "upload %s (%s): %d %s", filename, query, r.status, r.body ? r.body : "");
    cJSON *j = r.body ? cJSON_Parse(r.body) : NULL;
    http_resp_free(&r);
    free(body);
    return j;
}

static void test_uploads(void) {
    slava_index_clip c;
    int ci = -1;
    slava_index_info info;
    slava_index_get_info(g_ix, &info);
    for (int i = 0; i < info.n_clips && ci < 0; i++) {
        slava_index_get_clip(g_ix, i, &c);
        if (c.has_audio && c.duration > 2.5) ci = i;
    }
    CHECK(ci >= 0);
    size_t n = 0;
    char *mp4 = slurp(c.source, &n);
    CHECK(mp4 != NULL);
    /* the clip's own video: itself first, score ~1 */
    cJSON *j = upload("in=visual&k=3", "query.mp4", "video/mp4", mp4, n, 200);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    CHECK(first && !strcmp(cJSON_GetObjectItem(first, "clip")->valuestring, c.id) && cJSON_GetObjectItem(first, "score")->valuedouble > 0.999);
    /* the query names the upload by its file name, not the server's spool path */
    char *txt = cJSON_PrintUnformatted(j);
    CHECK(txt && strstr(txt, "query.mp4") && !strstr(txt, "slava-serve-"));
    free(txt);
    cJSON_Delete(j);
    /* its sound track (a video uploaded with in=audio), kind from the extension */
    j = upload("in=audio&k=3", "query.mp4", NULL, mp4, n, 200);
    first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    CHECK(first && !strcmp(cJSON_GetObjectItem(first, "clip")->valuestring, c.id) &&
          !strcmp(cJSON_GetObjectItem(first, "modality")->valuestring, "audio"));
    cJSON_Delete(j);
    /* a frame at 1.5 s as an image: the clip, with a moment that covers 1.5 s */
    char cmd[2048], png[1100];
    snprintf(png, sizeof png, "%s/frame.png", g_dir);
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -ss 1.5 -i '%s' -frames:v 1 '%s'", c.source, png);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    size_t pn = 0;
    char *pb = slurp(png, &pn);
    j = upload("in=visual&k=3&kind=image", "frame.bin", "application/octet-stream", pb, pn, 200);
    first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    CHECK(first && !strcmp(cJSON_GetObjectItem(first, "clip")->valuestring, c.id) &&
          cJSON_GetObjectItem(first, "t_start")->valuedouble <= 1.5 && cJSON_GetObjectItem(first, "t_end")->valuedouble > 1.5);
    cJSON_Delete(j);
    free(pb);

    /* a client that waits for 100 Continue before the body (curl does so above 1 MB) */
    {
        size_t flen;
        char *fb = form("file", "query.mp4", "video/mp4", mp4, n, &flen), head[512];
        int hn = snprintf(head, sizeof head, "POST /api/search?in=visual&k=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" FORM_CT
                          "Expect: 100-continue\r\nContent-Length: %zu\r\n\r\n", flen);
        int fd = srv_connect(g_port);
        char got[64] = "";
        ssize_t k = -1;
        if (fd >= 0 && send_all(fd, head, (size_t)hn) == 0) {
            struct pollfd pf = {fd, POLLIN, 0};
            if (poll(&pf, 1, 10000) > 0) k = recv(fd, got, 25, 0);   /* "HTTP/1.1 100 Continue\r\n\r\n" */
        }
        CHECKF(k == 25 && !strncmp(got, "HTTP/1.1 100 Continue\r\n\r\n", 25), "no 100 Continue (%zd bytes)", k);
        http_resp r2;
        memset(&r2, 0, sizeof r2);
        if (fd >= 0 && send_all(fd, fb, flen) == 0) http_read(fd, &r2);
        if (fd >= 0) close(fd);
        CHECK(r2.status == 200 && r2.body && strstr(r2.body, c.id));
        http_resp_free(&r2);
        free(fb);
    }

    /* refusals */
    cJSON_Delete(upload("in=visual", "x.xyz", NULL, mp4, n, 415));           /* cannot tell the kind */
    cJSON_Delete(upload("in=visual&kind=smell", "x.mp4", NULL, mp4, n, 400));
    cJSON_Delete(upload("in=visual", "junk.mp4", "video/mp4", "not a video at all", 18, 422));
    cJSON_Delete(upload("in=visual", "empty.mp4", "video/mp4", "", 0, 400));
    size_t len;
    char *body = form("other", "x.mp4", "video/mp4", mp4, n, &len);
    http_resp r;
    CHECK(http_req(g_port, "POST", "/api/search", FORM_CT, body, len, &r) == 0 && is_json_error(&r, 400));   /* no 'file' field */
    http_resp_free(&r);
    CHECK(http_req(g_port, "POST", "/api/search", "Content-Type: application/json\r\n", "{}", 2, &r) == 0 && is_json_error(&r, 400));
    http_resp_free(&r);
    CHECK(http_req(g_port, "POST", "/api/search", FORM_CT, body, len / 2, &r) == 0 && is_json_error(&r, 400));   /* truncated */
    http_resp_free(&r);
    free(body);
    /* above --max-upload (2M): refused from its Content-Length, and in a chunked body */
    size_t big = 3000000;
    char *blob = calloc(1, big);
    body = form("file", "big.mp4", "video/mp4", blob, big, &len);
    /* by its Content-Length: answered before any of the body is read (sending the head is enough) */
    char head[512];
    int hn = snprintf(head, sizeof head, "POST /api/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" FORM_CT
                      "Content-Length: %zu\r\n\r\n", len);
    int fd = srv_connect(g_port);
    if (fd >= 0 && send_all(fd, head, (size_t)hn) == 0) http_read(fd, &r);
    if (fd >= 0) close(fd);
    CHECKF(is_json_error(&r, 413), "upload above the limit: %d", r.status);
    http_resp_free(&r);
    fd = srv_connect(g_port);
    const char *hdr = "POST /api/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" FORM_CT "Transfer-Encoding: chunked\r\n\r\n";
    int sent = fd >= 0 && send_all(fd, hdr, strlen(hdr)) == 0;
    for (size_t off = 0; sent && off < len; off += 65536) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 0) > 0) break;   /* the server has answered: stop sending, read it */
        size_t k = len - off < 65536 ? len - off : 65536;
        char ch[32];
        snprintf(ch, sizeof ch, "%zx\r\n", k);
        if (send_all(fd, ch, strlen(ch)) || send_all(fd, body + off, k) || send_all(fd, "\r\n", 2)) break;   /* the server may stop reading */
    }
    if (fd >= 0) { http_read(fd, &r); close(fd); }
    CHECKF(is_json_error(&r, 413), "chunked upload above the limit: %d", r.status);
    http_resp_free(&r);
    free(body);
    free(blob);
    free(mp4);
}

static void test_media(void) {
    slava_index_clip c;
    slava_index_get_clip(g_ix, 1, &c);
    size_t n = 0;
    char *file = slurp(c.source, &n), path[512], h[128];
    snprintf(path, sizeof path, "/media/%s", c.id);
    http_resp r;
    CHECK(http_get(g_port, path, &r) == 0 && r.status == 200 && r.body_len == n && file && !memcmp(r.body, file, n));
    CHECK(http_header(&r, "Content-Type", h, sizeof h) && !strcmp(h, "video/mp4"));
    CHECK(http_header(&r, "Accept-Ranges", h, sizeof h) && !strcmp(h, "bytes"));
    http_resp_free(&r);
    /* ranges: first 100 bytes, from 1000 to the end, the last 50, past the end */
    struct { const char *range; size_t a, b; int status; } cases[] = {
        {"bytes=0-99", 0, 99, 206}, {"bytes=1000-", 1000, n - 1, 206}, {"bytes=-50", n - 50, n - 1, 206},
        {"bytes=10-5", 0, n - 1, 200}, {"bytes=0-1,5-6", 0, n - 1, 200}};
    for (size_t i = 0; i < SV_ARRAY_LEN(cases); i++) {
        char hdr[128], want[128];
        snprintf(hdr, sizeof hdr, "Range: %s\r\n", cases[i].range);
        CHECK(http_req(g_port, "GET", path, hdr, NULL, 0, &r) == 0);
        size_t len = cases[i].b - cases[i].a + 1;
        CHECKF(r.status == cases[i].status && r.body_len == len && !memcmp(r.body, file + cases[i].a, len), "%s: %d, %zu bytes",
               cases[i].range, r.status, r.body_len);
        if (cases[i].status == 206) {
            snprintf(want, sizeof want, "bytes %zu-%zu/%zu", cases[i].a, cases[i].b, n);
            CHECK(http_header(&r, "Content-Range", h, sizeof h) && !strcmp(h, want));
        }
        http_resp_free(&r);
    }
    char hdr[128], want[64];
    snprintf(hdr, sizeof hdr, "Range: bytes=%zu-\r\n", n);
    snprintf(want, sizeof want, "bytes */%zu", n);
    CHECK(http_req(g_port, "GET", path, hdr, NULL, 0, &r) == 0 && is_json_error(&r, 416));
    CHECK(http_header(&r, "Content-Range", h, sizeof h) && !strcmp(h, want));
    http_resp_free(&r);
    CHECK(http_req(g_port, "HEAD", path, NULL, NULL, 0, &r) == 0 && r.status == 200 && r.body_len == 0);
    CHECK(http_header(&r, "Content-Length", h, sizeof h) && (size_t)atol(h) == n);
    http_resp_free(&r);
    CHECK(http_req(g_port, "DELETE", path, NULL, NULL, 0, &r) == 0 && is_json_error(&r, 405));
    http_resp_free(&r);
    free(file);

    /* thumbnails: the JPEG of the frame at t, as the thumbnail code makes it from the file */
    slava_ctx *ctx = slava_ctx_new();
    slava_image im;
    uint8_t *jpeg = NULL;
    size_t jl = 0;
    CHECK_OK(ctx, slava_video_frame_at(ctx, c.source, 1.5, &im));
    CHECK_OK(ctx, sv_jpeg_encode(ctx, &im, 320, &jpeg, &jl));
    slava_image_free(&im);
    snprintf(path, sizeof path, "/thumb/%s?t=1.5", c.id);
    for (int rep = 0; rep < 2; rep++) {   /* decoded, then from the cache */
        CHECK(http_get(g_port, path, &r) == 0 && r.status == 200 && r.body_len == jl && jpeg && !memcmp(r.body, jpeg, jl));
        CHECK(http_header(&r, "Content-Type", h, sizeof h) && !strcmp(h, "image/jpeg"));
        http_resp_free(&r);
    }
    free(jpeg);
    snprintf(path, sizeof path, "/thumb/%s?t=99999", c.id);   /* past the end: the last frame */
    CHECK(http_get(g_port, path, &r) == 0 && r.status == 200);
    http_resp_free(&r);
    static const char *tbad[] = {"?t=-1", "?t=abc", "?t=1e99", "?t=nan", "?t=inf", "?t=%zz"};
    for (size_t i = 0; i < SV_ARRAY_LEN(tbad); i++) {
        snprintf(path, sizeof path, "/thumb/%s%s", c.id, tbad[i]);
        CHECK(http_get(g_port, path, &r) == 0);
        CHECKF(is_json_error(&r, 400), "%s: %d", path, r.status);
        http_resp_free(&r);
    }
    CHECK(http_get(g_port, "/thumb/no-such-clip?t=1", &r) == 0 && is_json_error(&r, 404));
    http_resp_free(&r);
    cJSON *hl = get_json("/api/health", 200), *th = cJSON_GetObjectItem(hl, "thumbnails");
    CHECK(th && cJSON_GetObjectItem(th, "hits")->valuedouble >= 1);
    cJSON_Delete(hl);
    slava_ctx_free(ctx);
}

/* Every way of naming a file outside the index: never 200, never a byte of the file. */
static void test_traversal(void) {
    slava_index_clip c;
    slava_index_get_clip(g_ix, 0, &c);
    /* a symbolic link to /etc/passwd beside the indexed videos, named like a clip */
    char link[1200], dirp[1100];
    snprintf(dirp, sizeof dirp, "%s", c.source);
    char *slash = strrchr(dirp, '/');
    if (slash) *slash = 0;
    snprintf(link, sizeof link, "%s/evil.mp4", dirp);
    unlink(link);
    CHECK(symlink("/etc/passwd", link) == 0);
    char abs_src[1300];
    snprintf(abs_src, sizeof abs_src, "/media/%s", c.source);   /* an indexed file by its path */
    const char *paths[] = {
        "/media/../../../../etc/passwd", "/media/..%2f..%2f..%2f..%2fetc%2fpasswd", "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/media/..%5c..%5cetc%5cpasswd", "/media/%2fetc%2fpasswd", "/media//etc/passwd",
        "/media/evil", "/media/evil.mp4", "/thumb/..%2f..%2fetc%2fpasswd?t=1", "/thumb/evil?t=0", "/api/clip/..%2f..%2fetc%2fpasswd",
        "/media/%252e%252e%252fetc%252fpasswd", "/media/.", "/media/..", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
        "/media/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/media/x%00.mp4", "/media/file:%2f%2f%2fetc%2fpasswd", abs_src,
        "/etc/passwd", "/media/" };
    int ok = 0;
    for (size_t i = 0; i < SV_ARRAY_LEN(paths); i++) {
        http_resp r;
        int rc = http_get(g_port, paths[i], &r);
        int fine = rc == 0 && r.status >= 400 && r.status < 500 && r.body && !strstr(r.body, "root:") && !strstr(r.body, "ftyp");
        CHECKF(fine, "%s: %d %.200s", paths[i], r.status, r.body ? r.body : "");
        ok += fine;
        http_resp_free(&r);
    }
    CHECK(ok == (int)SV_ARRAY_LEN(paths));
    unlink(link);
}

/* Requests that are not HTTP, or not ours: 4xx with a JSON error, and the server stays up. */
static void test_malformed(void) {
    /* S("..."): the literal and its length (some hold a NUL byte) */
#define S(x) {x, sizeof x - 1}
    static const struct { const char *req; size_t len; } reqs[] = {
        S("GARBAGE\r\n\r\n"),
        S("GET\r\n\r\n"),
        S("GET /api/health\r\n\r\n"),
        S("GET /api/health HTTP/1.1\r\nNoColonHere\r\n\r\n"),
        S("BREW /api/health HTTP/1.1\r\nHost: x\r\n\r\n"),
        S("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"),
        S("GET /api/health HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
        S("GET /api/health HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
        S("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{"),
        S("PUT /api/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        S("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    };
#undef S
    int ok = 0;
    for (size_t i = 0; i < SV_ARRAY_LEN(reqs); i++) {
        http_resp r;
        http_raw(g_port, reqs[i].req, reqs[i].len, &r);
        int fine = r.status >= 400 && r.status < 500 && r.body && !strncmp(r.body, "{\"error\":", 9);
        CHECKF(fine, "request %zu: %d %.200s", i, r.status, r.raw ? r.raw : "");
        ok += fine;
        http_resp_free(&r);
    }
    CHECK(ok == (int)SV_ARRAY_LEN(reqs));
    /* headers above 16 KiB */
    size_t big = 40000;
    char *req = malloc(big + 200);
    int n = sprintf(req, "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', big);
    n += (int)big;
    n += sprintf(req + n, "\r\n\r\n");
    http_resp r;
    http_raw(g_port, req, (size_t)n, &r);
    CHECKF(r.status == 413 || r.status == 431 || r.status == 400, "big headers: %d", r.status);
    http_resp_free(&r);
    free(req);
    /* a client that connects and says nothing, one that stops mid-request: the server goes on */
    int idle = srv_connect(g_port), half = srv_connect(g_port);
    if (half >= 0) send_all(half, "GET /api/hea", 12);
    if (half >= 0) close(half);
    CHECK(http_get(g_port, "/api/health", &r) == 0 && r.status == 200);
    http_resp_free(&r);
    if (idle >= 0) close(idle);
    /* keep-alive: two pipelined requests on one connection, both answered */
    const char *two = "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/clip/no-such HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    http_raw(g_port, two, strlen(two), &r);
    CHECK(r.raw && r.status == 200 && strstr(r.raw, "HTTP/1.1 404"));
    http_resp_free(&r);
}

/* ------------------------------------------------------------------ 500 concurrent requests */

#define CLIENTS 10
#define PER_CLIENT 50

typedef struct { const char *path, *headers; char *body; size_t len; int status; } ref_answer;
static ref_answer g_ref[5];

static void *client(void *arg) {
    int id = (int)(intptr_t)arg, *ok = calloc(1, sizeof *ok);
    int fds[PER_CLIENT];
    /* open every connection and send every request first: all 500 are in flight together */
    for (int i = 0; i < PER_CLIENT; i++) {
        const ref_answer *a = &g_ref[(id + i) % 5];
        char req[1024];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", a->path, a->headers);
        fds[i] = srv_connect(g_port);
        if (fds[i] >= 0 && send_all(fds[i], req, (size_t)n)) { close(fds[i]); fds[i] = -1; }
    }
    for (int i = 0; i < PER_CLIENT; i++) {
        const ref_answer *a = &g_ref[(id + i) % 5];
        if (fds[i] < 0) continue;
        http_resp r;
        http_read(fds[i], &r);
        close(fds[i]);
        *ok += r.status == a->status && r.body_len == a->len && !memcmp(r.body, a->body, a->len);
        http_resp_free(&r);
    }
    return ok;
}

static void test_concurrent(void) {
    slava_index_clip c;
    slava_index_get_clip(g_ix, 2, &c);
    static char p_media[512], p_thumb[512], p_clip[512];
    snprintf(p_media, sizeof p_media, "/media/%s", c.id);
    snprintf(p_thumb, sizeof p_thumb, "/thumb/%s?t=0.5", c.id);
    snprintf(p_clip, sizeof p_clip, "/api/clip/%s", c.id);
    const char *paths[5] = {"/api/search?text=a+green+square&k=5", p_media, p_thumb, p_clip, "/api/search?text=beeps&in=audio&k=3"};
    const char *hdrs[5] = {"", "Range: bytes=100-4099\r\n", "", "", ""};
    for (int i = 0; i < 5; i++) {
        http_resp r;
        CHECK(http_req(g_port, "GET", paths[i], hdrs[i], NULL, 0, &r) == 0 && (r.status == 200 || r.status == 206));
        g_ref[i] = (ref_answer){paths[i], hdrs[i], malloc(r.body_len + 1), r.body_len, r.status};
        memcpy(g_ref[i].body, r.body, r.body_len);
        http_resp_free(&r);
    }
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) pthread_create(&th[i], NULL, client, (void *)(intptr_t)i);
    int total = 0;
    for (int i = 0; i < CLIENTS; i++) {
        void *res;
        pthread_join(th[i], &res);
        total += *(int *)res;
        free(res);
    }
    CHECKF(total == CLIENTS * PER_CLIENT, "%d of %d concurrent answers correct", total, CLIENTS * PER_CLIENT);
    cJSON *h = get_json("/api/health", 200);
    CHECK(cJSON_GetObjectItem(h, "server_errors") && cJSON_GetObjectItem(h, "server_errors")->valueint == 0);
    cJSON_Delete(h);
    for (int i = 0; i < 5; i++) free(g_ref[i].body);
}

/* ------------------------------------------------------------------ the command */

static int dir_entries(const char *dir) {
    char cmd[1200];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    run_cmd(cmd, &out, NULL);
    int n = out ? atoi(out) : -1;
    free(out);
    return n;
}

static void test_command(const char *spool) {
    char cmd[2048];
    char *out = NULL, *err = NULL;
    CHECK(run_cmd(SLAVA_BIN " serve --help", &out, NULL) == 0 && out && strstr(out, "usage: slava serve INDEX"));
    free(out);
    CHECK(run_cmd(SLAVA_BIN " serve", NULL, &err) == 2 && err && count_lines(err) == 1);
    free(err);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " serve '%s' --port 70000", g_index);
    CHECK(run_cmd(cmd, NULL, &err) == 2 && err && strstr(err, "--port"));
    free(err);
    CHECK(run_cmd(SLAVA_BIN " serve /no/such/index.slx --port 0", NULL, &err) == 1 && err && count_lines(err) == 1 &&
          strstr(err, "/no/such/index.slx"));
    free(err);
    /* the port in use */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " serve '%s' --port %d --clip " SRV_CLIP " --clap " SRV_CLAP, g_index, g_port);
    CHECK(run_cmd(cmd, NULL, &err) == 1 && err && strstr(err, "cannot listen") && count_lines(err) == 1);
    free(err);
    /* SIGINT stops a second server as cleanly as SIGTERM */
    test_server s2;
    char args[1024];
    snprintf(args, sizeof args, "--clip " SRV_CLIP " --clap " SRV_CLAP " --workers 2");
    CHECK(srv_start(&s2, g_index, args) == 0);
    http_resp r;
    CHECK(http_get(s2.port, "/api/health", &r) == 0 && r.status == 200);
    http_resp_free(&r);
    CHECK(srv_stop(&s2, SIGINT) == 130);
    (void)spool;
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", tmp_path("serve"));
    snprintf(g_index, sizeof g_index, "%s/index.slx", g_dir);
    if (srv_build_index(g_dir)) { CHECK(!"index built"); return test_done("serve"); }
    slava_ctx *ctx = slava_ctx_new();
    CHECK_OK(ctx, slava_index_open(ctx, g_index, &g_ix));
    if (!g_ix) return test_done("serve");

    /* uploads are spooled in a folder of our own, which must be empty again after the stop */
    char spool[1100], args[2048];
    snprintf(spool, sizeof spool, "%s/spool", g_dir);
    mkdir(spool, 0700);
    setenv("TMPDIR", spool, 1);
    snprintf(args, sizeof args, "--clip " SRV_CLIP " --clap " SRV_CLAP " --max-upload 2M --workers 8 --timeout 20");
    test_server s;
    if (srv_start(&s, g_index, args)) { CHECK(!"server started"); return test_done("serve"); }
    g_port = s.port;
    test_page_and_health();
    test_search();
    test_clip();
    test_embeddings();
    test_uploads();
    test_media();
    test_traversal();
    test_malformed();
    test_concurrent();
    test_command(spool);
    /* still alive after all that, then a clean stop */
    http_resp r;
    CHECK(http_get(g_port, "/api/health", &r) == 0 && r.status == 200);
    http_resp_free(&r);
    CHECK(srv_stop(&s, SIGTERM) == 143);
    char *err = slurp(s.err_path, NULL);
    CHECKF(err && strstr(err, "slava: interrupted: SIGTERM: the server stopped"), "server stderr: %s", err ? err : "");
    free(err);
    CHECK(dir_entries(spool) == 0);
    unsetenv("TMPDIR");
    slava_index_free(g_ix);
    slava_ctx_free(ctx);
    return test_done("serve");
}
