/* test_audio_long.c — a 3-hour file decoded chunk by chunk with bounded memory: a 16-bit 48 kHz
 * WAV of silence written as a sparse file (1 GB on paper, nothing on disk), streamed through
 * slava_audio_next_chunk; checks the 1080 chunks and the peak RSS (3 h of float samples would be
 * 2 GB). Kept apart from test_audio_decode because it is slow under valgrind. */
#include "test.h"
#include "base/base.h"
#include <stdint.h>
#include <fcntl.h>
#include <sys/resource.h>

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    const char *p = tmp_path("three_hours.wav");
    const int64_t n = (int64_t)3 * 3600 * 48000;
    /* canonical 44-byte PCM header: mono, 48 kHz, 16 bit */
    uint32_t data = (uint32_t)(n * 2), riff = 36 + data, u32;
    uint16_t u16;
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (!f) return test_done("test_audio_long");
    fwrite("RIFF", 1, 4, f); fwrite(&riff, 4, 1, f); fwrite("WAVEfmt ", 1, 8, f);
    u32 = 16; fwrite(&u32, 4, 1, f); u16 = 1; fwrite(&u16, 2, 1, f); fwrite(&u16, 2, 1, f);
    u32 = 48000; fwrite(&u32, 4, 1, f); u32 = 96000; fwrite(&u32, 4, 1, f);
    u16 = 2; fwrite(&u16, 2, 1, f); u16 = 16; fwrite(&u16, 2, 1, f);
    fwrite("data", 1, 4, f); fwrite(&data, 4, 1, f);
    fclose(f);
    CHECK(truncate(p, 44 + (off_t)data) == 0);   /* sparse: reads back as zeros */

    double t0 = sv_now();
    slava_audio *a = NULL;
    CHECK_OK(ctx, slava_audio_open(ctx, p, &a));
    int64_t total = 0;
    int nch = 0, last = 0;
    float *buf = malloc(sizeof(float) * SLAVA_AUDIO_CHUNK);
    for (slava_status st = SLAVA_OK; a;) {
        int k = 0;
        st = slava_audio_next_chunk(ctx, a, buf, &k);
        CHECK_OK(ctx, st);
        if (st || k == 0) break;
        nch++;
        total += k;
        last = k;
    }
    double dt = sv_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  3-hour WAV: %d chunks, %lld samples, %.1f s, peak RSS %.1f MB\n", nch, (long long)total, dt, ru.ru_maxrss / 1024.0);
    CHECK(nch == 1080 && total == n && last == SLAVA_AUDIO_CHUNK);
    /* ASan keeps freed blocks in a quarantine (256 MB by default), so its bound is looser; either
     * way far below the 2 GB that holding the file would take */
#if defined(__SANITIZE_ADDRESS__)
    const long limit_mb = 1024;
#else
    const long limit_mb = 300;
#endif
    CHECKF(ru.ru_maxrss < limit_mb * 1024, "peak RSS %.1f MB", ru.ru_maxrss / 1024.0);
    free(buf);
    slava_audio_close(a);
    unlink(p);
    slava_ctx_free(ctx);
    return test_done("test_audio_long");
}
