/*
 * test_video.c — decoding with the FFmpeg libraries, on media the test makes with the `ffmpeg`
 * program: frame sampling at the middle of each 1/fps interval by presentation time (H.264 with
 * B-frames, a stream starting at 7 s, variable frame rate, a video shorter than one interval,
 * a partial last interval), still images (PNG RGB / grey / alpha / 16-bit, JPEG, CMYK JPEG,
 * 1x1, 1x4000), bounded memory on a 10-minute video, and bad input (truncated mp4, random bytes, 0-byte file, audio-only file,
 * missing file, huge declared resolution): each refused with one line naming the file.
 *
 * Every frame encodes its index N as grey level N*4 (lossless H.264 / FFV1), so the test knows
 * exactly which frame the sampler picked.
 */
#include "test.h"
#include "io/video.h"
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>

static int ff(const char *fmt, ...) {
    char args[2048], cmd[2600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -nostdin -y %s", args);
    int rc = run_cmd(cmd, NULL, NULL);
    CHECKF(rc == 0, "ffmpeg failed: %s", cmd);
    return rc;
}

/* Mean of channel c over the whole frame. */
static double mean_channel(const slava_image *im, int c) {
    double s = 0;
    for (size_t i = 0; i < (size_t)im->w * im->h; i++) s += im->rgb[3 * i + c];
    return s / ((double)im->w * im->h);
}

/* Sample `path` at fps; check the sampling times and the frame index (grey = 4 * index) picked. */
static void check_sampling(slava_ctx *ctx, const char *path, double fps, int n, const double *want_t,
                           const int *want_idx, const char *label) {
    slava_video *v = NULL;
    CHECK_OK(ctx, slava_video_open(ctx, path, fps, &v));
    if (!v) return;
    int got = 0, k = 0;
    const slava_image *f;
    double t;
    for (;;) {
        slava_status st = slava_video_next(ctx, v, &f, &t, &got);
        CHECK_OK(ctx, st);
        if (st != SLAVA_OK || !got) break;
        if (k < n) {
            double grey = mean_channel(f, 0);
            CHECKF(want_t[k] < 0 || fabs(t - want_t[k]) < 1e-6, "%s: frame %d at t=%.6f, want %.6f", label, k, t, want_t[k]);
            CHECKF(fabs(grey - 4.0 * want_idx[k]) <= 1.5, "%s: frame %d (t=%.3f) has grey %.2f = index %.2f, want index %d",
                   label, k, t, grey, grey / 4, want_idx[k]);
        }
        k++;
    }
    CHECKF(k == n, "%s: %d frames sampled, want %d", label, k, n);
    slava_video_info info;
    slava_video_get_info(v, &info);
    CHECK(info.frames_returned == n);
    slava_video_close(v);
}

/* Expect `path` to fail to open/decode as video (or image) with a message naming it. */
static void check_refused(slava_ctx *ctx, const char *path, int as_image, const char *must_contain, const char *label) {
    slava_ctx_clear_error(ctx);
    slava_status st;
    if (as_image) {
        slava_image im;
        st = slava_image_load(ctx, path, &im);
        CHECK(im.rgb == NULL);
    } else {
        slava_video *v = NULL;
        st = slava_video_open(ctx, path, 1.0, &v);
        if (st == SLAVA_OK) {
            int got = 0;
            const slava_image *f;
            double t;
            while ((st = slava_video_next(ctx, v, &f, &t, &got)) == SLAVA_OK && got) {}
            slava_video_close(v);
        }
    }
    const char *msg = slava_ctx_error(ctx);
    CHECKF(st != SLAVA_OK, "%s: accepted", label);
    CHECKF(strstr(msg, path) == msg, "%s: message does not start with the file: %s", label, msg);
    CHECKF(!strchr(msg, '\n'), "%s: message is not one line", label);
    if (must_contain) CHECKF(strstr(msg, must_contain) != NULL, "%s: message lacks '%s': %s", label, must_contain, msg);
    printf("%s -> %s\n", label, msg);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

/* A PNG that declares w x h (valid signature, IHDR with its CRC, an IDAT holding one black
 * 1x1 scanline, IEND): decodes when w = h = 1, and only the header matters otherwise. */
static void write_png_header_only(const char *path, uint32_t w, uint32_t h) {
    static uint32_t tab[256];
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        tab[n] = c;
    }
    uint8_t buf[128];
    size_t o = 0;
    const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(buf, sig, 8);
    o = 8;
    struct { const char *type; uint8_t data[13]; size_t n; } chunks[3] = {
        {"IHDR", {0}, 13}, {"IDAT", {0x78, 0x9c, 0x63, 0x60, 0x60, 0x60, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01}, 12}, {"IEND", {0}, 0}};
    put32(chunks[0].data, w);
    put32(chunks[0].data + 4, h);
    chunks[0].data[8] = 8;   /* bit depth */
    chunks[0].data[9] = 2;   /* RGB */
    for (int c = 0; c < 3; c++) {
        put32(buf + o, (uint32_t)chunks[c].n);
        memcpy(buf + o + 4, chunks[c].type, 4);
        memcpy(buf + o + 8, chunks[c].data, chunks[c].n);
        uint32_t crc = 0xffffffffu;
        for (size_t i = 0; i < 4 + chunks[c].n; i++) crc = tab[(crc ^ buf[o + 4 + i]) & 0xff] ^ (crc >> 8);
        put32(buf + o + 8 + chunks[c].n, crc ^ 0xffffffffu);
        o += 12 + chunks[c].n;
    }
    write_bytes(path, buf, o);
}

/* A 16x8 baseline CMYK JPEG (Adobe APP14, 4 components, all DC/AC zero = mid grey in every
 * channel): the smallest valid CMYK JPEG, written by hand since the ffmpeg program cannot
 * encode CMYK. */
static void write_cmyk_jpeg(const char *path) {
    uint8_t b[256];
    size_t o = 0;
#define B(x) (b[o++] = (uint8_t)(x))
    B(0xff); B(0xd8);
    B(0xff); B(0xee); B(0); B(14); memcpy(b + o, "Adobe", 5); o += 5;
    B(0); B(100); B(0); B(0); B(0); B(0); B(0);                         /* version, flags, transform 0 */
    B(0xff); B(0xdb); B(0); B(67); B(0); for (int i = 0; i < 64; i++) B(1); /* quant table 0: all 1 */
    B(0xff); B(0xc0); B(0); B(20); B(8); B(0); B(8); B(0); B(16); B(4);    /* SOF0 8x16, 4 comps */
    for (int c = 1; c <= 4; c++) { B(c); B(0x11); B(0); }
    for (int t = 0; t < 2; t++) {                                          /* DC0, AC0: one 1-bit code -> 0 */
        B(0xff); B(0xc4); B(0); B(20); B(t ? 0x10 : 0x00); B(1);
        for (int i = 1; i < 16; i++) B(0);
        B(0);
    }
    B(0xff); B(0xda); B(0); B(14); B(4);
    for (int c = 1; c <= 4; c++) { B(c); B(0x00); }
    B(0); B(63); B(0);
    B(0x00); B(0x00);                                                     /* 2 MCUs x 4 x (DC 0, EOB) */
    B(0xff); B(0xd9);
#undef B
    write_bytes(path, b, o);
}

static void check_image(slava_ctx *ctx, const char *path, int w, int h, int r, int g, int bl, int tol, const char *label) {
    slava_image im;
    slava_status st = slava_image_load(ctx, path, &im);
    CHECK_OK(ctx, st);
    if (st != SLAVA_OK) return;
    CHECKF(im.w == w && im.h == h, "%s: %dx%d, want %dx%d", label, im.w, im.h, w, h);
    double m[3] = {mean_channel(&im, 0), mean_channel(&im, 1), mean_channel(&im, 2)};
    CHECKF(fabs(m[0] - r) <= tol && fabs(m[1] - g) <= tol && fabs(m[2] - bl) <= tol,
           "%s: mean RGB %.1f %.1f %.1f, want %d %d %d", label, m[0], m[1], m[2], r, g, bl);
    /* it must also go through the CLIP preprocessing */
    slava_clip_preproc p;
    slava_clip_preproc_default(&p);
    float *px = malloc(sizeof(float) * 3 * 224 * 224);
    CHECK_OK(ctx, slava_clip_preprocess(ctx, &p, &im, px));
    free(px);
    slava_image_free(&im);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_set_threads(2);
    mkdir(tmp_path("video"), 0755);
    const char *grey = "-f lavfi -i \"color=c=black:s=64x48:r=25:d=%g,format=gray,geq=lum='N*4'\"";
    char src[256];

    /* 1. H.264 (lossless, B-frames) in mp4, 2 s at 25 fps: frame N at N/25 s. */
    snprintf(src, sizeof src, grey, 2.0);
    char cfr[1024];
    snprintf(cfr, sizeof cfr, "%s", tmp_path("video/cfr.mp4"));
    ff("%s -pix_fmt yuv420p -c:v libx264 -qp 0 -bf 3 -g 25 '%s'", src, cfr);
    {
        double t1[] = {0.5, 1.5};
        int i1[] = {12, 37};
        check_sampling(ctx, cfr, 1.0, 2, t1, i1, "h264 mp4 1 fps");
        double t2[] = {0.25, 0.75, 1.25, 1.75};
        int i2[] = {6, 18, 31, 43};
        check_sampling(ctx, cfr, 2.0, 4, t2, i2, "h264 mp4 2 fps");
        double t3[] = {1.0};
        int i3[] = {25};
        check_sampling(ctx, cfr, 0.5, 1, t3, i3, "h264 mp4 0.5 fps");
        slava_video *v = NULL;
        CHECK_OK(ctx, slava_video_open(ctx, cfr, 1.0, &v));
        if (v) {
            slava_video_info info;
            slava_video_get_info(v, &info);
            CHECK(fabs(info.duration - 2.0) < 1e-3 && info.width == 64 && info.height == 48);
            CHECK(info.frames_expected == 2 && !strcmp(info.codec, "h264"));
            int got;
            const slava_image *f;
            double t;
            while (slava_video_next(ctx, v, &f, &t, &got) == SLAVA_OK && got) {}
            slava_video_get_info(v, &info);
            CHECKF(info.frames_decoded == 50, "decoded %lld frames", (long long)info.frames_decoded);
            slava_video_close(v);
        }
    }
    /* 2. The same video starting at 7 s (mkv): times count from the stream start. */
    {
        const char *off = tmp_path("video/offset.mkv");
        ff("%s -pix_fmt yuv420p -c:v libx264 -qp 0 -g 25 -output_ts_offset 7 '%s'", src, off);
        double t1[] = {0.5, 1.5};
        int i1[] = {12, 37};
        check_sampling(ctx, off, 1.0, 2, t1, i1, "mkv starting at 7 s");
        const char *ts = tmp_path("video/offset.ts");
        ff("%s -pix_fmt yuv420p -c:v libx264 -qp 0 -g 25 '%s'", src, ts);   /* MPEG-TS starts at 1.4 s */
        check_sampling(ctx, ts, 1.0, 2, t1, i1, "mpeg-ts");
    }
    /* 3. Variable frame rate: 25 fps for 1 s, then 5 fps for 2 s (FFV1 in mkv). */
    {
        const char *vfr = tmp_path("video/vfr.mkv");
        ff("-f lavfi -i \"color=c=black:s=32x32:r=25:d=1.4,format=gray,geq=lum='N*4',"
           "setpts='if(lt(N,25),N/25,1+(N-25)/5)/TB'\" -fps_mode passthrough -c:v ffv1 '%s'", vfr);
        /* frames 0..34: N < 25 at N/25 s, then 1 + (N-25)/5 s; the last (N=34) at 2.8 s. The
         * muxer gives the last frame some duration, which places the last middle: not checked. */
        double t1[] = {0.5, 1.5, -1};
        int i1[] = {12, 27, 32};
        check_sampling(ctx, vfr, 1.0, 3, t1, i1, "vfr");
    }
    /* 4. Shorter than one interval: one frame, from the middle of the video. */
    {
        snprintf(src, sizeof src, grey, 0.32);
        const char *shortv = tmp_path("video/short.mp4");
        ff("%s -pix_fmt yuv420p -c:v libx264 -qp 0 '%s'", src, shortv);
        double t1[] = {0.16};
        int i1[] = {4};
        check_sampling(ctx, shortv, 1.0, 1, t1, i1, "0.32 s video");
    }
    /* 5. A partial last interval: 2.6 s -> middles 0.5, 1.5, 2.3. */
    {
        snprintf(src, sizeof src, grey, 2.6);
        const char *part = tmp_path("video/partial.mp4");
        ff("%s -pix_fmt yuv420p -c:v libx264 -qp 0 '%s'", src, part);
        double t1[] = {0.5, 1.5, 2.3};
        int i1[] = {12, 37, 57};
        check_sampling(ctx, part, 1.0, 3, t1, i1, "2.6 s video");
    }

    /* 6. Bounded memory: 10 minutes of 320x240 at 5 fps (3000 frames), sampled at 1 fps. Holding
     * the sampled RGB frames would take 138 MB, holding the decoded ones 345 MB. */
    {
        char longv[1024];
        snprintf(longv, sizeof longv, "%s", tmp_path("video/long.mp4"));
        ff("-f lavfi -i testsrc2=s=320x240:r=5:d=600 -pix_fmt yuv420p -c:v libx264 -preset ultrafast -g 50 '%s'", longv);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        long rss0 = ru.ru_maxrss;
        slava_video *v = NULL;
        CHECK_OK(ctx, slava_video_open(ctx, longv, 1.0, &v));
        int got = 0, n = 0;
        const slava_image *f;
        double t, last_t = -1;
        while (v && slava_video_next(ctx, v, &f, &t, &got) == SLAVA_OK && got) { n++; last_t = t; }
        slava_video_close(v);
        getrusage(RUSAGE_SELF, &ru);
        CHECKF(n == 600 && fabs(last_t - 599.5) < 1e-6, "long video: %d frames, last at %.3f s", n, last_t);
#if defined(__SANITIZE_ADDRESS__)
        /* ASan keeps freed blocks in quarantine (256 MB), so RSS says nothing here. */
#else
        CHECKF(ru.ru_maxrss - rss0 < 60 * 1024, "long video: peak RSS grew by %ld kB", ru.ru_maxrss - rss0);
#endif
        printf("10-minute video: %d frames, peak RSS +%ld kB\n", n, ru.ru_maxrss - rss0);
    }

    /* Still images */
    const char *cl = "-f lavfi -i \"color=s=%dx%d,format=rgb24,geq=r=60:g=120:b=180\" -frames:v 1";
    char img_src[160];
    snprintf(img_src, sizeof img_src, cl, 40, 30);
    ff("%s '%s'", img_src, tmp_path("video/rgb.png"));
    check_image(ctx, tmp_path("video/rgb.png"), 40, 30, 60, 120, 180, 0, "RGB PNG");
    ff("-f lavfi -i color=s=40x30 -frames:v 1 -vf format=gray,geq=lum=100 '%s'", tmp_path("video/grey.png"));
    check_image(ctx, tmp_path("video/grey.png"), 40, 30, 100, 100, 100, 0, "grey PNG");
    ff("-f lavfi -i color=s=40x30 -frames:v 1 -vf format=rgba,geq=r=60:g=120:b=180:a=17 '%s'", tmp_path("video/alpha.png"));
    check_image(ctx, tmp_path("video/alpha.png"), 40, 30, 60, 120, 180, 0, "alpha PNG (alpha dropped)");
    ff("-i '%s' -pix_fmt rgb48be '%s'", tmp_path("video/rgb.png"), tmp_path("video/deep.png"));
    check_image(ctx, tmp_path("video/deep.png"), 40, 30, 60, 120, 180, 0, "16-bit PNG");
    ff("-i '%s' -q:v 2 '%s'", tmp_path("video/rgb.png"), tmp_path("video/photo.jpg"));
    check_image(ctx, tmp_path("video/photo.jpg"), 40, 30, 60, 120, 180, 2, "JPEG");
    write_cmyk_jpeg(tmp_path("video/cmyk.jpg"));
    check_image(ctx, tmp_path("video/cmyk.jpg"), 16, 8, 64, 64, 64, 2, "CMYK JPEG");
    snprintf(img_src, sizeof img_src, cl, 1, 1);
    ff("%s '%s'", img_src, tmp_path("video/one.png"));
    check_image(ctx, tmp_path("video/one.png"), 1, 1, 60, 120, 180, 0, "1x1 PNG");
    snprintf(img_src, sizeof img_src, cl, 1, 4000);
    ff("%s '%s'", img_src, tmp_path("video/tall.png"));
    check_image(ctx, tmp_path("video/tall.png"), 1, 4000, 60, 120, 180, 0, "1x4000 PNG");
    /* an image given as a video: one frame */
    {
        slava_video *v = NULL;
        CHECK_OK(ctx, slava_video_open(ctx, tmp_path("video/rgb.png"), 1.0, &v));
        int got = 0, n = 0;
        const slava_image *f;
        double t;
        while (v && slava_video_next(ctx, v, &f, &t, &got) == SLAVA_OK && got) n++;
        CHECK(n == 1);
        slava_video_close(v);
    }

    /* Bad input */
    {
        /* truncated mp4: first 60% of a normal (moov at the end) file, and of a faststart file
         * (moov first: the frames before the cut decode, then the data runs out) */
        char fs[1024], outs[2][1024];
        snprintf(fs, sizeof fs, "%s", tmp_path("video/faststart.mp4"));
        snprintf(outs[0], sizeof outs[0], "%s", tmp_path("video/trunc.mp4"));
        snprintf(outs[1], sizeof outs[1], "%s", tmp_path("video/trunc_faststart.mp4"));
        ff("-f lavfi -i testsrc2=s=160x120:r=25:d=6 -pix_fmt yuv420p -c:v libx264 -g 25 -movflags +faststart '%s'", fs);
        const char *paths[2] = {cfr, fs};
        for (int i = 0; i < 2; i++) {
            FILE *f = fopen(paths[i], "rb");
            fseek(f, 0, SEEK_END);
            long n = ftell(f);
            rewind(f);
            char *b = malloc(n);
            CHECK(fread(b, 1, n, f) == (size_t)n);
            fclose(f);
            write_bytes(outs[i], b, (size_t)(n * 0.6));
            free(b);
        }
        check_refused(ctx, outs[0], 0, "moov atom not found", "truncated mp4");
        check_refused(ctx, outs[1], 0, "truncated", "truncated faststart mp4");
        uint8_t rnd[4096];
        uint32_t s = 12345;
        for (size_t i = 0; i < sizeof rnd; i++) { s = s * 1103515245u + 12345u; rnd[i] = (uint8_t)(s >> 16); }
        write_bytes(tmp_path("video/random.mp4"), rnd, sizeof rnd);
        check_refused(ctx, tmp_path("video/random.mp4"), 0, NULL, "random bytes");
        check_refused(ctx, tmp_path("video/random.mp4"), 1, NULL, "random bytes as image");
        write_bytes(tmp_path("video/empty.mp4"), "", 0);
        check_refused(ctx, tmp_path("video/empty.mp4"), 0, "empty", "0-byte file");
        check_refused(ctx, tmp_path("video/empty.mp4"), 1, "empty", "0-byte file as image");
        ff("-f lavfi -i sine=frequency=440:duration=1 '%s'", tmp_path("video/audio.m4a"));
        check_refused(ctx, tmp_path("video/audio.m4a"), 0, "no video stream", "audio-only file");
        check_refused(ctx, tmp_path("video/missing.mp4"), 0, "cannot open", "missing file");
        write_png_header_only(tmp_path("video/huge.png"), 20000, 12000);
        check_refused(ctx, tmp_path("video/huge.png"), 1, "limit", "huge declared resolution");
        check_refused(ctx, tmp_path("video/huge.png"), 0, "limit", "huge declared resolution as video");
        /* within the limit the same hand-made header decodes (proves the writer is right) */
        write_png_header_only(tmp_path("video/small.png"), 1, 1);
        check_image(ctx, tmp_path("video/small.png"), 1, 1, 0, 0, 0, 0, "hand-made 1x1 PNG");
    }
    slava_ctx_free(ctx);
    return test_done("test_video");
}
