/*
 * test_serve_http.c — the byte-level pieces of `slava serve` without a socket: percent-decoding
 * and query strings, Range headers, multipart/form-data bodies, media types; the frame at a time
 * (slava_video_frame_at, checked against the sampler on a video with many key frames, so seeking
 * is exercised) and the JPEG thumbnails with their cache.
 */
#include "test.h"
#include "serve/http.h"
#include "serve/thumb.h"

static void test_decode_and_query(void) {
    char b[64];
    CHECK(sv_http_decode("a%20b+c", 7, 1, b, sizeof b) == 5 && !strcmp(b, "a b c"));
    CHECK(sv_http_decode("a+b", 3, 0, b, sizeof b) == 3 && !strcmp(b, "a+b"));
    CHECK(sv_http_decode("%e2%80%93", 9, 1, b, sizeof b) == 3 && !strcmp(b, "\xe2\x80\x93"));
    CHECK(sv_http_decode("%2", 2, 1, b, sizeof b) == -1);
    CHECK(sv_http_decode("%zz", 3, 1, b, sizeof b) == -1);
    CHECK(sv_http_decode("a%00b", 5, 1, b, sizeof b) == -1);     /* a decoded NUL */
    CHECK(sv_http_decode("abcdef", 6, 1, b, 6) == -1);           /* does not fit */
    CHECK(sv_http_decode("abcde", 5, 1, b, 6) == 5);

    const char *q = "text=dog+barks&in=audio&k=5&empty=&flag&%74ext=second&bad=%zz";
    size_t n = strlen(q);
    CHECK(sv_http_query_get(q, n, "text", b, sizeof b) == 1 && !strcmp(b, "dog barks"));   /* first wins */
    CHECK(sv_http_query_get(q, n, "in", b, sizeof b) == 1 && !strcmp(b, "audio"));
    CHECK(sv_http_query_get(q, n, "k", b, sizeof b) == 1 && !strcmp(b, "5"));
    CHECK(sv_http_query_get(q, n, "empty", b, sizeof b) == 1 && !strcmp(b, ""));
    CHECK(sv_http_query_get(q, n, "flag", b, sizeof b) == 1 && !strcmp(b, ""));
    CHECK(sv_http_query_get(q, n, "missing", b, sizeof b) == 0);
    CHECK(sv_http_query_get(q, n, "bad", b, sizeof b) == -1);
    CHECK(sv_http_query_get(q, n, "t", b, sizeof b) == 0);       /* no prefix matches */
    CHECK(sv_http_query_get("a=1;b=2", 7, "b", b, sizeof b) == 1 && !strcmp(b, "2"));
    CHECK(sv_http_query_get(NULL, 0, "a", b, sizeof b) == 0);
    CHECK(sv_http_query_get("k=123456", 8, "k", b, 4) == -1);   /* too long for the buffer */
    /* only n bytes are read: the rest of the string is not part of the query */
    CHECK(sv_http_query_get("a=1&b=2", 3, "b", b, sizeof b) == 0);
}

static void test_range(void) {
    int64_t a = -1, z = -1;
    CHECK(sv_http_parse_range(NULL, 100, &a, &z) == SV_RANGE_FULL);
    CHECK(sv_http_parse_range("bytes=0-9", 100, &a, &z) == SV_RANGE_PART && a == 0 && z == 9);
    CHECK(sv_http_parse_range("bytes=90-", 100, &a, &z) == SV_RANGE_PART && a == 90 && z == 99);
    CHECK(sv_http_parse_range("bytes=90-1000", 100, &a, &z) == SV_RANGE_PART && a == 90 && z == 99);
    CHECK(sv_http_parse_range("bytes=-10", 100, &a, &z) == SV_RANGE_PART && a == 90 && z == 99);
    CHECK(sv_http_parse_range("bytes=-1000", 100, &a, &z) == SV_RANGE_PART && a == 0 && z == 99);
    CHECK(sv_http_parse_range(" Bytes=5-5 ", 100, &a, &z) == SV_RANGE_PART && a == 5 && z == 5);
    CHECK(sv_http_parse_range("bytes=100-", 100, &a, &z) == SV_RANGE_BAD);
    CHECK(sv_http_parse_range("bytes=-0", 100, &a, &z) == SV_RANGE_BAD);
    CHECK(sv_http_parse_range("bytes=0-", 0, &a, &z) == SV_RANGE_BAD);
    CHECK(sv_http_parse_range("bytes=9-5", 100, &a, &z) == SV_RANGE_FULL);       /* invalid: ignored */
    CHECK(sv_http_parse_range("bytes=0-1,5-6", 100, &a, &z) == SV_RANGE_FULL);   /* several: whole */
    CHECK(sv_http_parse_range("items=0-5", 100, &a, &z) == SV_RANGE_FULL);
    CHECK(sv_http_parse_range("bytes=a-5", 100, &a, &z) == SV_RANGE_FULL);
    CHECK(sv_http_parse_range("bytes=+1-5", 100, &a, &z) == SV_RANGE_FULL);
    CHECK(sv_http_parse_range("bytes=1 -5", 100, &a, &z) == SV_RANGE_FULL);
    CHECK(sv_http_parse_range("bytes=99999999999999999999-", 100, &a, &z) == SV_RANGE_FULL);   /* overflow */
    CHECK(sv_http_parse_range("bytes=", 100, &a, &z) == SV_RANGE_FULL);
    CHECK(sv_http_parse_range("bytes=-", 100, &a, &z) == SV_RANGE_FULL);
}

static void test_multipart(void) {
    slava_ctx *ctx = slava_ctx_new();
    /* content with bytes that look like a boundary but are not one at a line start */
    static const char content[] = "RIFF\0\r\n--not-the-boundary\r\n\x01\x02--XyZ";
    size_t clen = sizeof content - 1;
    char body[1024];
    int n = snprintf(body, sizeof body,
                     "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                     "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".wav\"\r\n"
                     "Content-Type: audio/wav\r\n\r\n");
    memcpy(body + n, content, clen);
    n += (int)clen;
    n += snprintf(body + n, sizeof body - (size_t)n, "\r\n--XyZ--\r\n");
    sv_http_part p;
    slava_status st = sv_http_multipart_find(ctx, "multipart/form-data; boundary=XyZ", (const uint8_t *)body, (size_t)n, "file", &p);
    CHECKF(st == SLAVA_OK, "%s", slava_ctx_error(ctx));
    CHECK(st == SLAVA_OK && p.len == clen && !memcmp(body + p.off, content, clen));
    CHECK(!strcmp(p.filename, "a \"q\".wav"));
    CHECK(!strcmp(p.content_type, "audio/wav"));
    CHECK(sv_http_multipart_find(ctx, "multipart/form-data; boundary=\"XyZ\"", (const uint8_t *)body, (size_t)n, "note", &p) == SLAVA_OK &&
          p.len == 5 && !memcmp(body + p.off, "hello", 5));
    CHECK(sv_http_multipart_find(ctx, "multipart/form-data; boundary=XyZ", (const uint8_t *)body, (size_t)n, "other", &p) == SLAVA_E_NOTFOUND);
    CHECK(sv_http_multipart_find(ctx, "multipart/form-data", (const uint8_t *)body, (size_t)n, "file", &p) == SLAVA_E_FORMAT);
    CHECK(sv_http_multipart_find(ctx, "application/json", (const uint8_t *)body, (size_t)n, "file", &p) == SLAVA_E_FORMAT);
    CHECK(sv_http_multipart_find(ctx, NULL, (const uint8_t *)body, (size_t)n, "file", &p) == SLAVA_E_FORMAT);
    CHECK(sv_http_multipart_find(ctx, "multipart/form-data; boundary=Other", (const uint8_t *)body, (size_t)n, "file", &p) == SLAVA_E_FORMAT);
    /* truncated: every prefix is refused cleanly or finds the first part, never reads past n */
    int bad = 0;
    for (int cut = 0; cut < n - 12; cut++) {
        slava_status s2 = sv_http_multipart_find(ctx, "multipart/form-data; boundary=XyZ", (const uint8_t *)body, (size_t)cut, "file", &p);
        if (s2 == SLAVA_OK && (p.off + p.len > (size_t)cut)) bad++;
        if (s2 == SLAVA_OK && p.len == clen) bad++;   /* the closing delimiter is missing: cannot be complete */
    }
    CHECK(bad == 0);
    /* a body starting directly with the boundary, part without headers */
    const char *b2 = "--B\r\n\r\nxyz\r\n--B--";
    CHECK(sv_http_multipart_find(ctx, "multipart/form-data; boundary=B", (const uint8_t *)b2, strlen(b2), "file", &p) == SLAVA_E_NOTFOUND);
    slava_ctx_free(ctx);
}

static void test_media_type(void) {
    CHECK(!strcmp(sv_http_media_type("/a/b/c.mp4"), "video/mp4"));
    CHECK(!strcmp(sv_http_media_type("x.WAV"), "audio/wav"));
    CHECK(!strcmp(sv_http_media_type("dir.mp4/noext"), "application/octet-stream"));
    CHECK(!strcmp(sv_http_media_type("clip"), "application/octet-stream"));
}

/* Mean absolute difference between a w x h thumbnail and the W x H frame it was made from, the
 * frame sampled at the thumbnail's pixel centres. */
static double thumb_diff(const slava_image *t, const slava_image *f) {
    double s = 0;
    for (int y = 0; y < t->h; y++)
        for (int x = 0; x < t->w; x++) {
            int fx = (int)((x + 0.5) * f->w / t->w), fy = (int)((y + 0.5) * f->h / t->h);
            for (int c = 0; c < 3; c++) s += fabs((double)t->rgb[(y * t->w + x) * 3 + c] - f->rgb[(fy * f->w + fx) * 3 + c]);
        }
    return s / (3.0 * t->w * t->h);
}

static void test_frames_and_thumbs(void) {
    slava_ctx *ctx = slava_ctx_new();
    const char *video = tmp_path("serve_http_gop.mp4");
    char cmd[2048];
    /* 7 s of a moving test pattern, 400x300 at 10 fps, a key frame every 6 frames */
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=duration=7:size=400x300:rate=10 "
                              "-c:v mpeg4 -g 6 -q:v 4 '%s'", video);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);

    /* frame_at(k + 0.5) is exactly the frame the 1 fps sampler returns for interval k */
    slava_video *v = NULL;
    CHECK_OK(ctx, slava_video_open(ctx, video, 1.0, &v));
    int k = 0, got = 1, same = 0;
    while (v && got) {
        const slava_image *fr;
        double t;
        if (slava_video_next(ctx, v, &fr, &t, &got) || !got) break;
        slava_image at;
        CHECK_OK(ctx, slava_video_frame_at(ctx, video, t, &at));
        same += at.w == fr->w && at.h == fr->h && at.rgb && !memcmp(at.rgb, fr->rgb, (size_t)fr->w * fr->h * 3);
        slava_image_free(&at);
        k++;
    }
    slava_video_close(v);
    CHECKF(k == 7 && same == 7, "%d intervals, %d identical", k, same);

    /* before the start: the first frame; past the end: the last one */
    slava_image a0, a1, last, past;
    CHECK_OK(ctx, slava_video_frame_at(ctx, video, 0, &a0));
    CHECK_OK(ctx, slava_video_frame_at(ctx, video, -3, &a1));
    CHECK(a0.rgb && a1.rgb && !memcmp(a0.rgb, a1.rgb, (size_t)a0.w * a0.h * 3));
    CHECK_OK(ctx, slava_video_frame_at(ctx, video, 6.95, &last));
    CHECK_OK(ctx, slava_video_frame_at(ctx, video, 1e6, &past));
    CHECK(last.rgb && past.rgb && !memcmp(last.rgb, past.rgb, (size_t)last.w * last.h * 3));
    CHECK(a0.rgb && last.rgb && memcmp(a0.rgb, last.rgb, (size_t)a0.w * a0.h * 3));   /* the pattern moves */
    slava_image none;
    CHECK(slava_video_frame_at(ctx, video, NAN, &none) == SLAVA_E_ARG && !none.rgb);
    CHECK(slava_video_frame_at(ctx, tmp_path("no_such_video.mp4"), 1, &none) == SLAVA_E_IO && !none.rgb &&
          strstr(slava_ctx_error(ctx), "no_such_video.mp4"));

    /* JPEG: a valid file of the right size that looks like the frame */
    uint8_t *jpeg = NULL;
    size_t len = 0;
    CHECK_OK(ctx, sv_jpeg_encode(ctx, &last, 320, &jpeg, &len));
    CHECK(len > 100 && jpeg[0] == 0xFF && jpeg[1] == 0xD8 && jpeg[len - 2] == 0xFF && jpeg[len - 1] == 0xD9);
    const char *jp = tmp_path("serve_http_thumb.jpg");
    FILE *f = fopen(jp, "wb");
    CHECK(f && fwrite(jpeg, 1, len, f) == len);
    if (f) fclose(f);
    slava_image back;
    CHECK_OK(ctx, slava_image_load(ctx, jp, &back));
    CHECKF(back.w == 320 && back.h == 240, "%dx%d", back.w, back.h);
    double d_same = back.rgb ? thumb_diff(&back, &last) : 1e9, d_other = back.rgb ? thumb_diff(&back, &a0) : 0;
    CHECKF(d_same < 12 && d_other > d_same * 1.5, "thumbnail vs its frame %.2f, vs another frame %.2f", d_same, d_other);
    free(jpeg);
    slava_image_free(&back);

    /* the cache: a second request is a hit with the same bytes; a cache too small keeps nothing */
    sv_thumbs *c = NULL;
    CHECK_OK(ctx, sv_thumbs_new(ctx, 1 << 20, 160, &c));
    uint8_t *j1 = NULL, *j2 = NULL, *j3 = NULL;
    size_t l1 = 0, l2 = 0, l3 = 0;
    int64_t hits = 0, misses = 0;
    size_t bytes = 0;
    CHECK_OK(ctx, sv_thumb_get(ctx, c, "clip", video, 2.0, &j1, &l1));
    CHECK_OK(ctx, sv_thumb_get(ctx, c, "clip", video, 2.04, &j2, &l2));   /* same 0.1 s */
    CHECK_OK(ctx, sv_thumb_get(ctx, c, "clip", video, 5.0, &j3, &l3));
    sv_thumbs_stats(c, &hits, &misses, &bytes);
    CHECKF(hits == 1 && misses == 2 && bytes == l1 + l3, "hits %lld misses %lld bytes %zu", (long long)hits, (long long)misses, bytes);
    CHECK(j1 && j2 && l1 == l2 && !memcmp(j1, j2, l1));
    CHECK(j1 && j3 && (l1 != l3 || memcmp(j1, j3, l1)));
    free(j1); free(j2); free(j3);
    CHECK(sv_thumb_get(ctx, c, "clip", video, -1, &j2, &l2) == SLAVA_E_ARG && !j2);
    sv_thumbs_free(c);
    CHECK_OK(ctx, sv_thumbs_new(ctx, 10, 160, &c));
    CHECK_OK(ctx, sv_thumb_get(ctx, c, "clip", video, 2.0, &j1, &l1));
    CHECK_OK(ctx, sv_thumb_get(ctx, c, "clip", video, 2.0, &j2, &l2));
    sv_thumbs_stats(c, &hits, &misses, &bytes);
    CHECK(hits == 0 && misses == 2 && bytes == 0 && l1 == l2);
    free(j1); free(j2);
    sv_thumbs_free(c);

    slava_image_free(&a0); slava_image_free(&a1); slava_image_free(&last); slava_image_free(&past);
    unlink(video);
    unlink(jp);
    slava_ctx_free(ctx);
}

int main(void) {
    test_decode_and_query();
    test_range();
    test_multipart();
    test_media_type();
    test_frames_and_thumbs();
    return test_done("serve_http");
}
