/*
 * test_media_mem.c — decoding from memory (io/media_mem.c's AVIOContext behind sv_video_open_mem,
 * sv_image_load_mem, sv_audio_open_mem) gives exactly what decoding the same bytes from a file
 * gives: every sampled frame (time and RGB bytes) of an H.264 + AAC mp4 and of an MPEG-4 avi,
 * a PNG, and every 48 kHz sample of the mp4's and a WAV's audio; bad input (random bytes, no
 * bytes, a video without audio, a WAV claiming a 1.9 GB chunk) fails with one line naming the input,
 * the last without FFmpeg allocating what the file claims.
 */
#include "test.h"
#include "io/video.h"
#include "io/audio_decode.h"
#include <sys/resource.h>

static char *slurp(const char *path, size_t *len) {
    char *b = NULL;
    slava_ctx *ctx = slava_ctx_new();
    if (sv_read_file(ctx, path, &b, len) != SLAVA_OK) fprintf(stderr, "%s\n", slava_ctx_error(ctx));
    slava_ctx_free(ctx);
    return b;
}

static void same_video(slava_ctx *ctx, const char *path) {
    size_t len = 0;
    char *buf = slurp(path, &len);
    CHECK(buf != NULL);
    if (!buf) return;
    slava_video *a = NULL, *b = NULL;
    CHECK_OK(ctx, slava_video_open(ctx, path, 3.0, &a));
    CHECK_OK(ctx, sv_video_open_mem(ctx, "in-memory", buf, len, 3.0, &b));
    int n = 0, same = 1;
    while (a && b) {
        const slava_image *fa, *fb;
        double ta, tb;
        int ga, gb;
        CHECK_OK(ctx, slava_video_next(ctx, a, &fa, &ta, &ga));
        CHECK_OK(ctx, slava_video_next(ctx, b, &fb, &tb, &gb));
        if (ga != gb) { same = 0; break; }
        if (!ga) break;
        n++;
        same &= ta == tb && fa->w == fb->w && fa->h == fb->h && !memcmp(fa->rgb, fb->rgb, (size_t)fa->w * fa->h * 3);
    }
    CHECKF(same && n > 1, "%s: %d frames, identical from memory: %d", path, n, same);
    slava_video_close(a);
    slava_video_close(b);
    free(buf);
}

static void same_audio(slava_ctx *ctx, const char *path) {
    size_t len = 0;
    char *buf = slurp(path, &len);
    CHECK(buf != NULL);
    if (!buf) return;
    sv_audio_reader *a = NULL, *b = NULL;
    CHECK_OK(ctx, sv_audio_open(ctx, path, SLAVA_AUDIO_RATE, &a));
    CHECK_OK(ctx, sv_audio_open_mem(ctx, "in-memory", buf, len, SLAVA_AUDIO_RATE, &b));
    static float xa[4096], xb[4096];
    size_t total = 0;
    int same = 1;
    while (a && b) {
        size_t na = 0, nb = 0;
        CHECK_OK(ctx, sv_audio_read(ctx, a, xa, 4096, &na));
        CHECK_OK(ctx, sv_audio_read(ctx, b, xb, 4096, &nb));
        if (na != nb) { same = 0; break; }
        if (!na) break;
        total += na;
        same &= !memcmp(xa, xb, na * sizeof(float));
    }
    CHECKF(same && total > 1000, "%s: %zu samples, identical from memory: %d", path, total, same);
    sv_audio_close(a);
    sv_audio_close(b);
    free(buf);
}

static void one_line_naming(slava_ctx *ctx, slava_status st, const char *name, const char *label) {
    const char *m = slava_ctx_error(ctx);
    CHECKF(st != SLAVA_OK && strstr(m, name) && !strchr(m, '\n'), "%s: status %d, message '%s'", label, st, m);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    char cmd[4096];
    const char *mp4 = tmp_path("media_mem.mp4"), *avi = tmp_path("media_mem.avi"), *png = tmp_path("media_mem.png"),
               *wav = tmp_path("media_mem.wav");
    snprintf(cmd, sizeof cmd,
             "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=size=64x48:rate=10:duration=2.2 "
             "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=2.2 -c:v libx264 -bf 2 -c:a aac -shortest '%s' && "
             "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=size=32x32:rate=5:duration=1.5 -c:v mpeg4 '%s' && "
             "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=size=40x30 -frames:v 1 '%s' && "
             "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i sine=frequency=300:sample_rate=16000:duration=0.7 -ac 2 '%s'",
             mp4, avi, png, wav);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    same_video(ctx, mp4);
    same_video(ctx, avi);
    same_audio(ctx, mp4);
    same_audio(ctx, wav);

    size_t len = 0;
    char *buf = slurp(png, &len);
    slava_image fa = {0}, fb = {0};
    CHECK_OK(ctx, slava_image_load(ctx, png, &fa));
    CHECK_OK(ctx, sv_image_load_mem(ctx, "in-memory.png", buf, len, &fb));
    CHECK(fa.w == 40 && fb.w == 40 && fa.h == fb.h && fa.rgb && fb.rgb && !memcmp(fa.rgb, fb.rgb, (size_t)fa.w * fa.h * 3));
    slava_image_free(&fa);
    slava_image_free(&fb);
    free(buf);

    /* bad input from memory: one line naming the input */
    unsigned char junk[3000];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 7919u >> 3);
    slava_video *v = NULL;
    sv_audio_reader *r = NULL;
    slava_image im;
    one_line_naming(ctx, sv_video_open_mem(ctx, "junk-input", junk, sizeof junk, 1.0, &v), "junk-input", "junk video");
    CHECK(v == NULL);
    one_line_naming(ctx, sv_image_load_mem(ctx, "junk-input", junk, sizeof junk, &im), "junk-input", "junk image");
    one_line_naming(ctx, sv_audio_open_mem(ctx, "junk-input", junk, sizeof junk, SLAVA_AUDIO_RATE, &r), "junk-input", "junk audio");
    CHECK(r == NULL);
    one_line_naming(ctx, sv_video_open_mem(ctx, "empty-input", junk, 0, 1.0, &v), "empty-input", "empty video");
    one_line_naming(ctx, sv_audio_open_mem(ctx, "empty-input", NULL, 0, SLAVA_AUDIO_RATE, &r), "empty-input", "empty audio");
    /* a 97-byte WAV whose RIFF INFO chunk claims 1.9 GB (fuzz_media): FFmpeg's demuxer allocated
     * and zeroed that much before slava capped FFmpeg's allocations (video.c) */
    static const unsigned char info_bomb[] = {
        0x52, 0x49, 0x46, 0x46, 0x46, 0x19, 0x00, 0x00, 0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20,
        0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x40, 0x1f, 0x00, 0x00, 0x00, 0x7d, 0x00, 0x00,
        0x04, 0x00, 0x10, 0x00, 0x4c, 0x49, 0x53, 0x54, 0x1a, 0x00, 0x00, 0xd7, 0x49, 0x4e, 0x46, 0x4f,
        0x49, 0x53, 0x46, 0x54, 0x0e, 0x00, 0x00, 0x00, 0x4c, 0x61, 0x76, 0x66, 0x30, 0x39, 0x2e, 0x32,
        0x37, 0x37, 0x31, 0x30, 0x30, 0x21, 0x64, 0x61, 0x61, 0x00, 0x19, 0x00, 0x66, 0x74, 0x79, 0x70,
        0xbb, 0x00, 0x00, 0x00, 0xec, 0xf5, 0x84, 0x12, 0x54, 0xc3, 0x67, 0x53, 0xac, 0x82, 0x01, 0xa4,
        0x09,
    };
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    one_line_naming(ctx, sv_audio_open_mem(ctx, "info-bomb.wav", info_bomb, sizeof info_bomb, SLAVA_AUDIO_RATE, &r),
                    "info-bomb.wav", "WAV with a 1.9 GB INFO chunk");
    CHECK(r == NULL);
    getrusage(RUSAGE_SELF, &ru1);
    CHECKF(ru1.ru_maxrss - ru0.ru_maxrss < 256 * 1024, "a 97-byte WAV raised peak memory by %ld MiB",
           (long)(ru1.ru_maxrss - ru0.ru_maxrss) / 1024);
    buf = slurp(avi, &len);
    slava_status st = sv_audio_open_mem(ctx, "silent.avi", buf, len, SLAVA_AUDIO_RATE, &r);
    CHECKF(st == SLAVA_E_NOAUDIO, "video without audio from memory: %s", slava_ctx_error(ctx));
    free(buf);
    slava_ctx_free(ctx);
    return test_done("test_media_mem");
}
