/* test_audio_decode.c — audio decoding, resampling, chunking and the bad inputs of issue 5:
 * (the 3-hour stream is in test_audio_long.c) silence, a 1-sample file, a
 * 0-length stream, truncated and random-bytes files, 8 kHz / 96 kHz (resampled), 6 channels
 * (averaged), NaN / Inf samples in a float WAV, a video without audio, FLAC and AAC-in-mp4, the
 * 10 s chunk rule, and `slava embed --audio` error lines. Media are generated here (WAV written
 * directly, other containers with the ffmpeg program). */
#include "test.h"
#include "base/base.h"
#include <stdint.h>

static slava_ctx *ctx;
#define CLAP fixture("clap-model")

/* WAV writer: fmt 1 = PCM int16, 3 = IEEE float32; x interleaved [n, ch]. */
static void write_wav(const char *path, int rate, int ch, int fmt, const float *x, int64_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(1); }
    int bps = fmt == 3 ? 4 : 2;
    uint32_t data = (uint32_t)(n * ch * bps), u32;
    uint16_t u16;
    fwrite("RIFF", 1, 4, f); u32 = 36 + data; fwrite(&u32, 4, 1, f); fwrite("WAVEfmt ", 1, 8, f);
    u32 = 16; fwrite(&u32, 4, 1, f); u16 = (uint16_t)fmt; fwrite(&u16, 2, 1, f); u16 = (uint16_t)ch; fwrite(&u16, 2, 1, f);
    u32 = (uint32_t)rate; fwrite(&u32, 4, 1, f); u32 = (uint32_t)(rate * ch * bps); fwrite(&u32, 4, 1, f);
    u16 = (uint16_t)(ch * bps); fwrite(&u16, 2, 1, f); u16 = (uint16_t)(bps * 8); fwrite(&u16, 2, 1, f);
    fwrite("data", 1, 4, f); fwrite(&data, 4, 1, f);
    for (int64_t i = 0; i < n * ch; i++) {
        if (fmt == 3) fwrite(&x[i], 4, 1, f);
        else {
            float v = x[i] * 32767.0f;
            int16_t s = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrintf(v));
            fwrite(&s, 2, 1, f);
        }
    }
    fclose(f);
}

static float *tone(int rate, int ch, double sec, double hz, double amp) {
    int64_t n = (int64_t)llround(sec * rate);
    float *x = malloc(sizeof(float) * (size_t)(n * ch + 1));
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) x[i * ch + c] = (float)(amp * sin(2 * M_PI * hz * i / rate));
    return x;
}

/* Read a whole file through the chunker: returns total samples, fills chunk sizes. */
static int64_t read_all(const char *path, slava_status *st_out, int *nchunks, int *sizes, int max_sizes, float **first) {
    slava_audio *a = NULL;
    *nchunks = 0;
    slava_status st = slava_audio_open(ctx, path, &a);
    int64_t total = 0;
    if (st == SLAVA_OK) {
        float *buf = malloc(sizeof(float) * SLAVA_AUDIO_CHUNK);
        for (;;) {
            int n = 0;
            st = slava_audio_next_chunk(ctx, a, buf, &n);
            if (st || n == 0) break;
            if (*nchunks < max_sizes) sizes[*nchunks] = n;
            if (*nchunks == 0 && first) { *first = malloc(sizeof(float) * (size_t)n); memcpy(*first, buf, sizeof(float) * (size_t)n); }
            (*nchunks)++;
            total += n;
        }
        free(buf);
        slava_audio_close(a);
    }
    *st_out = st;
    return total;
}

/* The CLI on one input: exit code, stderr line count, and whether stderr names the file and `what`. */
static int cli_bad(const char *path, const char *what) {
    char cmd[2048], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s embed --clap '%s' --audio '%s'", SLAVA_BIN, CLAP, path);
    int rc = run_cmd(cmd, &out, &err);
    int ok = rc == 1 && err && count_lines(err) == 1 && strstr(err, path) && strstr(err, what) && out && !*out;
    if (!ok) fprintf(stderr, "cli on %s: rc %d, stderr: %s", path, rc, err ? err : "(none)");
    free(out);
    free(err);
    return ok;
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) if (!isfinite(x[i])) return 0;
    return 1;
}

int main(void) {
    ctx = slava_ctx_new();
    slava_set_threads(2);
    char cmd[4096];
    int sizes[8], nch;
    slava_status st;

    /* ---- the 10 s chunk rule */
    {
        const double secs[] = {25.0, 20.5, 21.0, 0.5, 10.0};
        const int want_n[] = {3, 2, 3, 1, 1};
        const int want_last[] = {240000, 480000, 48000, 24000, 480000};
        for (int k = 0; k < 5; k++) {
            const char *p = tmp_path("chunks.wav");
            float *x = tone(48000, 1, secs[k], 440, 0.5);
            write_wav(p, 48000, 1, 3, x, (int64_t)llround(secs[k] * 48000));
            free(x);
            read_all(p, &st, &nch, sizes, 8, NULL);
            CHECK_OK(ctx, st);
            CHECKF(nch == want_n[k] && sizes[nch - 1] == want_last[k], "%.1f s: %d chunks, last %d", secs[k], nch,
                   nch ? sizes[nch - 1] : 0);
        }
    }

    /* ---- 6 channels averaged (48 kHz: no resampling, so exact) */
    {
        const char *p = tmp_path("six.wav");
        int64_t n = 48000;
        float *x = malloc(sizeof(float) * (size_t)n * 6);
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < 6; c++) x[i * 6 + c] = (float)((c + 1) * 0.1 * sin(2 * M_PI * 300 * i / 48000.0 + c));
        write_wav(p, 48000, 6, 3, x, n);
        float *mono = NULL;
        int64_t total = read_all(p, &st, &nch, sizes, 8, &mono);
        CHECK_OK(ctx, st);
        CHECK(total == n && nch == 1);
        double err = 0;
        for (int64_t i = 0; mono && i < n; i++) {
            double want = 0;
            for (int c = 0; c < 6; c++) want += x[i * 6 + c];
            err = fmax(err, fabs(mono[i] - want / 6));
        }
        printf("  6-channel average: max error %.3g\n", err);
        CHECK(mono && err < 1e-6);
        free(mono);
        free(x);
    }

    /* ---- 8 kHz and 96 kHz: resampled to 48 kHz (length and pitch kept) */
    {
        const int rates[] = {8000, 96000, 44100};
        for (int k = 0; k < 3; k++) {
            const char *p = tmp_path("rate.wav");
            float *x = tone(rates[k], 2, 3.0, 1000.0, 0.5);
            write_wav(p, rates[k], 2, 1, x, 3 * rates[k]);
            free(x);
            float *mono = NULL;
            int64_t total = read_all(p, &st, &nch, sizes, 8, &mono);
            CHECK_OK(ctx, st);
            CHECKF(llabs(total - 144000) <= 64, "%d Hz: %lld samples", rates[k], (long long)total);
            /* 1 kHz tone: zero crossings over the middle second = 2000; amplitude ≈ 0.5 */
            int zc = 0;
            double peak = 0;
            for (int64_t i = 48000; mono && i < 96000; i++) {
                zc += (mono[i - 1] < 0) != (mono[i] < 0);
                peak = fmax(peak, fabs(mono[i]));
            }
            printf("  %d Hz → 48 kHz: %lld samples, %d zero crossings/s, peak %.3f\n", rates[k], (long long)total, zc, peak);
            CHECK(abs(zc - 2000) <= 2 && fabs(peak - 0.5) < 0.01);
            free(mono);
        }
    }

    /* ---- FLAC and AAC in mp4 (the ffmpeg program makes them) */
    {
        const char *fl = tmp_path("tone.flac"), *m4 = tmp_path("tone.m4a");
        snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=frequency=500:sample_rate=44100:duration=12 '%s'", fl);
        CHECK(system(cmd) == 0);
        snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=frequency=500:sample_rate=48000:duration=12 -ac 2 -c:a aac -b:a 96k '%s'", m4);
        CHECK(system(cmd) == 0);
        int64_t t1 = read_all(fl, &st, &nch, sizes, 8, NULL);
        CHECK_OK(ctx, st);
        CHECKF(llabs(t1 - 576000) <= 64 && nch == 2, "flac: %lld samples %d chunks", (long long)t1, nch);
        int64_t t2 = read_all(m4, &st, &nch, sizes, 8, NULL);
        CHECK_OK(ctx, st);
        CHECKF(llabs(t2 - 576000) <= 2048 && nch == 2, "m4a: %lld samples %d chunks", (long long)t2, nch);

        /* a video with an audio track (the AVCaps case): the audio is found past the video packets */
        const char *av = tmp_path("video_audio.mp4");
        snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=64x64:rate=10:duration=11 "
                 "-f lavfi -i sine=frequency=700:sample_rate=44100:duration=11 -c:v mpeg4 -c:a aac -shortest '%s'", av);
        CHECK(system(cmd) == 0);
        int64_t t3 = read_all(av, &st, &nch, sizes, 8, NULL);
        CHECK_OK(ctx, st);
        CHECKF(llabs(t3 - 528000) <= 4096 && nch == 2, "mp4 with video: %lld samples %d chunks", (long long)t3, nch);

        /* truncated mp4: the moov atom at the end is cut off */
        FILE *f = fopen(m4, "rb");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        rewind(f);
        char *b = malloc((size_t)len);
        CHECK(fread(b, 1, (size_t)len, f) == (size_t)len);
        fclose(f);
        const char *tr = tmp_path("truncated.m4a");
        f = fopen(tr, "wb");
        fwrite(b, 1, (size_t)len / 2, f);
        fclose(f);
        free(b);
        slava_audio *a = NULL;
        st = slava_audio_open(ctx, tr, &a);
        CHECK(st == SLAVA_E_FORMAT && strstr(slava_ctx_error(ctx), tr));
        slava_audio_close(a);
        CHECK(cli_bad(tr, "not a media file"));
    }

    /* ---- random bytes */
    {
        const char *p = tmp_path("random.bin");
        FILE *f = fopen(p, "wb");
        uint64_t s = 12345;
        for (int i = 0; i < 100000; i++) { s = s * 6364136223846793005ULL + 1442695040888963407ULL; fputc((int)(s >> 56), f); }
        fclose(f);
        slava_audio *a = NULL;
        st = slava_audio_open(ctx, p, &a);
        if (st == SLAVA_OK) {   /* if a prober claimed it, decoding must still fail or yield finite audio */
            float *buf = malloc(sizeof(float) * SLAVA_AUDIO_CHUNK);
            int n = 0;
            st = slava_audio_next_chunk(ctx, a, buf, &n);
            free(buf);
            slava_audio_close(a);
        }
        CHECK(st != SLAVA_OK && strstr(slava_ctx_error(ctx), p) && !strchr(slava_ctx_error(ctx), '\n'));
        CHECK(cli_bad(p, p));
        CHECK(cli_bad(tmp_path("does_not_exist.wav"), "cannot open"));
    }

    /* ---- 0-length stream, 1-sample file, NaN / Inf, video without audio */
    {
        const char *p0 = tmp_path("empty.wav");
        float one = 0.25f;
        write_wav(p0, 48000, 1, 1, &one, 0);
        read_all(p0, &st, &nch, sizes, 8, NULL);
        CHECK(st == SLAVA_E_FORMAT && strstr(slava_ctx_error(ctx), "no samples"));
        CHECK(cli_bad(p0, "audio stream has no samples"));

        const char *p1 = tmp_path("one_sample.wav");
        write_wav(p1, 48000, 1, 3, &one, 1);
        read_all(p1, &st, &nch, sizes, 8, NULL);
        CHECK_OK(ctx, st);
        CHECK(nch == 1 && sizes[0] == 1);

        float *x = tone(48000, 1, 2.0, 440, 0.5);
        x[50000] = NAN;
        const char *pn = tmp_path("nan.wav");
        write_wav(pn, 48000, 1, 3, x, 96000);
        read_all(pn, &st, &nch, sizes, 8, NULL);
        CHECK(st == SLAVA_E_FORMAT && strstr(slava_ctx_error(ctx), "NaN"));
        CHECK(cli_bad(pn, "NaN"));
        x[50000] = 0.1f;
        x[70000] = -INFINITY;
        const char *pi = tmp_path("inf.wav");
        write_wav(pi, 48000, 1, 3, x, 96000);
        read_all(pi, &st, &nch, sizes, 8, NULL);
        CHECK(st == SLAVA_E_FORMAT && strstr(slava_ctx_error(ctx), "infinite"));
        CHECK(cli_bad(pi, "infinite"));
        free(x);

        const char *pv = tmp_path("video_only.mp4");
        snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=64x64:rate=5:duration=1 -c:v mpeg4 '%s'", pv);
        CHECK(system(cmd) == 0);
        slava_audio *a = NULL;
        st = slava_audio_open(ctx, pv, &a);
        CHECK(st == SLAVA_E_NOAUDIO && strstr(slava_ctx_error(ctx), "no audio stream"));
        slava_audio_close(a);
        CHECK(cli_bad(pv, "no audio stream"));

        /* silence, the 1-sample file and a 96 kHz 6-channel file through the model: finite output */
        const char *ps = tmp_path("silence.wav");
        float *z = calloc(480000, sizeof(float));
        write_wav(ps, 48000, 1, 1, z, 480000);
        free(z);
        const char *p96 = tmp_path("six96.wav");
        float *x6 = tone(96000, 6, 1.5, 220, 0.3);
        write_wav(p96, 96000, 6, 1, x6, 144000);
        free(x6);
        slava_clap_audio *m = NULL;
        CHECK_OK(ctx, slava_clap_audio_load(ctx, CLAP, &m));
        const char *files[3] = {ps, p1, p96};
        for (int k = 0; m && k < 3; k++) {
            float *pooled = NULL, proj[32];
            int T = 0, D = 0, P = 0;
            slava_clap_audio_dims(m, &D, &P);
            CHECK(P == 32);
            CHECK_OK(ctx, slava_clap_audio_embed_file(ctx, m, files[k], 8, &pooled, &T, proj));
            CHECKF(T == 1 && pooled && all_finite(pooled, (size_t)D) && all_finite(proj, 32), "%s", files[k]);
            free(pooled);
        }
        slava_clap_audio_free(m);

        /* the CLI: a good and a bad input → one JSON line, one error line, exit 1 */
        char *out = NULL, *err = NULL;
        snprintf(cmd, sizeof cmd, "%s embed --clap '%s' --audio '%s' '%s'", SLAVA_BIN, CLAP, ps, pv);
        int rc = run_cmd(cmd, &out, &err);
        CHECK(rc == 1 && count_lines(out) == 1 && count_lines(err) == 1);
        CHECK(out && strstr(out, "\"pooled\":[[") && strstr(out, "\"embedding\":["));
        free(out);
        free(err);
    }
    slava_ctx_free(ctx);
    return test_done("test_audio_decode");
}
