/*
 * bench_audio.c — CLAP audio throughput on full-size HTSAT-tiny (laion/clap-htsat-unfused sizes,
 * random weights from init-random): 10 s chunks/s with and without the mel front end at batch 1
 * and 8 in fp32 and bf16, the GFLOP/s that means (FLOPs counted from the config, ≈ 11.8 GFLOP per
 * chunk) as a share of the same-run GEMM limit of that precision (bench_util.h), the front end alone
 * (ms per chunk) and decode + resample speed (seconds of audio per second).
 *
 * usage: bench_audio [--json] [--precision fp32|bf16|both] [--threads N] [--config FILE] [--dir DIR] [--seconds S]
 *   --config  default: configs/clap-htsat-unfused.json beside this source file
 *   --dir     where the random checkpoint is written (default: /tmp/slava_bench_clap)
 * Compare like with like (DESIGN.md §6): run once as is and once under
 * `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` (what a user's machine has).
 */
#include <unistd.h>   /* sysconf (used by bench_util.h), unlink */
#include "bench_util.h"
#include "audio/htsat.h"
#include "audio/clap_audio.h"
#include <math.h>
#include <sys/stat.h>


/* FLOPs of one chunk through HTSAT + projection (multiply-add = 2). */
static double htsat_flops(const sv_htsat *m) {
    double f = 2.0 * m->grid * m->grid * m->patch * m->patch * m->stages[0].dim;
    for (int s = 0; s < m->nstages; s++) {
        const sv_swin_stage *g = &m->stages[s];
        double N = (double)g->res * g->res, C = g->dim, F = (int)(m->cfg.mlp_ratio * C), L = g->win * g->win;
        f += g->depth * (2.0 * N * (4 * C * C + 2 * C * F) + 4.0 * N * L * C);
        if (g->merge_w) f += 2.0 * (N / 4) * (4 * C) * (2 * C);
    }
    f += 2.0 * m->D * m->P + 2.0 * m->P * m->P;
    return f;
}

typedef struct {
    slava_ctx *ctx;
    slava_clap_audio *m;
    int n, with_fe;
    const float *wave;
    float *feat, *pooled, *proj;
} enc_arg;

static int enc_run(void *p) {
    enc_arg *a = p;
    const size_t FS = (size_t)SLAVA_MEL_FRAMES * SLAVA_MEL_BINS;
    if (a->with_fe)
        for (int b = 0; b < a->n; b++)
            if (slava_clap_features(a->ctx, a->m, a->wave + (size_t)b * SLAVA_AUDIO_CHUNK, SLAVA_AUDIO_CHUNK, -1, a->feat + FS * b))
                return 1;
    return slava_clap_audio_encode(a->ctx, a->m, a->n, a->feat, a->pooled, a->proj) != SLAVA_OK;
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_audio");
    int threads = 2;
    double secs = 6;
    /* default config: configs/ beside this source file */
    char defcfg[1200];
    snprintf(defcfg, sizeof defcfg, "%s", __FILE__);
    char *slash = strrchr(defcfg, '/');
    snprintf(slash ? slash + 1 : defcfg, sizeof defcfg - (size_t)(slash ? slash + 1 - defcfg : 0), "configs/clap-htsat-unfused.json");
    const char *config = defcfg, *dir = "/tmp/slava_bench_clap";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--config")) config = argv[i + 1];
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds")) secs = atof(argv[i + 1]);
    }
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();
    printf("## bench_audio: CLAP HTSAT-tiny (random weights)\n\n");
    bench_print_machine(stdout);
    bench_limits();

    char probe[1200];
    snprintf(probe, sizeof probe, "%s/model.safetensors", dir);
    struct stat sb;
    if (stat(probe, &sb) != 0 && slava_clap_init_random(ctx, config, 0, dir) != SLAVA_OK) {
        fprintf(stderr, "bench_audio: %s\n", slava_ctx_error(ctx));
        return 1;
    }
    sv_htsat *net = NULL;
    if (sv_htsat_load(ctx, dir, &net) != SLAVA_OK) {
        fprintf(stderr, "bench_audio: %s\n", slava_ctx_error(ctx));
        return 1;
    }
    const double gflop = htsat_flops(net) / 1e9;
    const int D = net->D, P = net->P;
    sv_htsat_free(net);
    printf("model: %s (%.2f GFLOP per 10 s chunk, counted)\n\n", dir, gflop);

    /* 8 chunks of deterministic test audio: tones + noise */
    const int B = 8;
    const size_t FS = (size_t)SLAVA_MEL_FRAMES * SLAVA_MEL_BINS;
    float *wave = malloc(sizeof(float) * SLAVA_AUDIO_CHUNK * B), *feat = malloc(sizeof(float) * FS * B);
    float *pooled = malloc(sizeof(float) * (size_t)D * B), *proj = malloc(sizeof(float) * (size_t)P * B);
    uint64_t s = 1;
    for (size_t i = 0; i < (size_t)SLAVA_AUDIO_CHUNK * B; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        wave[i] = (float)(0.3 * sin(2 * M_PI * (200 + 100 * (i / SLAVA_AUDIO_CHUNK)) * (double)i / 48000) +
                          0.05 * ((double)(s >> 40) / (1 << 24) - 0.5));
    }
    int rows[2][2][2];
    memset(rows, -1, sizeof rows);
    slava_clap_audio *m = NULL;
    for (int p = 0; p < 2; p++) {
        const slava_precision prec = p ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32;
        if (!bench_wants(prec)) continue;
        slava_clap_audio_free(m);
        m = NULL;
        if (sv_clap_audio_load_prec(ctx, dir, prec, &m) != SLAVA_OK) {
            fprintf(stderr, "bench_audio: %s\n", slava_ctx_error(ctx));
            return 1;
        }
        for (int b = 0; b < B; b++) slava_clap_features(ctx, m, wave + (size_t)b * SLAVA_AUDIO_CHUNK, SLAVA_AUDIO_CHUNK, -1, feat + FS * b);
        const int batches[2] = {1, 8};
        for (int k = 0; k < 2; k++)
            for (int with_fe = 0; with_fe < 2; with_fe++) {
                enc_arg a = {ctx, m, batches[k], with_fe, wave, feat, pooled, proj};
                double cpu = 0, cps = bench_rate(enc_run, &a, batches[k], secs, 3, &cpu);
                if (cps < 0) { fprintf(stderr, "bench_audio: %s\n", slava_ctx_error(ctx)); return 1; }
                char name[64];
                snprintf(name, sizeof name, "HTSAT %s, batch %d", with_fe ? "+ front end" : "model only", batches[k]);
                rows[p][k][with_fe] = bench_g.nrows;
                bench_row(name, batches[k], sv_precision_name(prec), cps, "chunks/s", gflop, cpu);
            }
    }
    if (!m && slava_clap_audio_load(ctx, dir, &m) != SLAVA_OK) { fprintf(stderr, "bench_audio: %s\n", slava_ctx_error(ctx)); return 1; }
    /* front end alone */
    for (int b = 0; b < B; b++) slava_clap_features(ctx, m, wave + (size_t)b * SLAVA_AUDIO_CHUNK, SLAVA_AUDIO_CHUNK, -1, feat + FS * b);
    double t0 = sv_now();
    const int FE_REPS = 64;
    for (int r = 0; r < FE_REPS; r++)
        slava_clap_features(ctx, m, wave + (size_t)(r % B) * SLAVA_AUDIO_CHUNK, SLAVA_AUDIO_CHUNK, -1, feat + FS * (r % B));
    double fe_ms = (sv_now() - t0) / FE_REPS * 1e3;
    double fe_short_ms;
    {
        t0 = sv_now();
        for (int r = 0; r < FE_REPS; r++) slava_clap_features(ctx, m, wave, 144000, -1, feat);
        fe_short_ms = (sv_now() - t0) / FE_REPS * 1e3;
        slava_clap_features(ctx, m, wave, SLAVA_AUDIO_CHUNK, -1, feat);
    }
    bench_row("front end (mel), 10 s chunk", 1, "fp32", 1e3 / fe_ms, "chunks/s", 0, 0);
    bench_row("front end (mel), 3 s repeat-padded", 1, "fp32", 1e3 / fe_short_ms, "chunks/s", 0, 0);
    bench_limits();
    bench_print_limits(stdout);

    printf("\n| measurement | precision | batch | chunks/s | ms/chunk | GFLOP/s | of the same-run GEMM limit |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++)
            for (int f = 0; f < 2; f++) {
                if (rows[p][k][f] < 0) continue;
                const bench_row_t *r = &bench_g.rows[rows[p][k][f]];
                printf("| %s | %s | %d | %.2f | %.1f | %.0f | %s |\n", r->name, r->precision, r->batch, r->rate,
                       1e3 / r->rate, r->rate * gflop, bench_share_str(rows[p][k][f]));
            }
    printf("| front end (mel), 10 s chunk | fp32 | 1 | %.0f | %.3f | | |\n", 1e3 / fe_ms, fe_ms);
    printf("| front end (mel), 3 s repeat-padded | fp32 | 1 | %.0f | %.3f | | |\n", 1e3 / fe_short_ms, fe_short_ms);

    /* decode + resample: 5 min of 44.1 kHz stereo in FLAC and AAC, 48 kHz mono WAV */
    const char *kinds[3][2] = {{"flac", "-ar 44100 -ac 2 -c:a flac"}, {"m4a", "-ar 44100 -ac 2 -c:a aac -b:a 128k"},
                               {"wav", "-ar 48000 -ac 1 -c:a pcm_s16le"}};
    float *buf = malloc(sizeof(float) * SLAVA_AUDIO_CHUNK);
    for (int k = 0; k < 3; k++) {
        char path[1200], cmd[2600];
        snprintf(path, sizeof path, "%s/decode_bench.%s", dir, kinds[k][0]);
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel error -y -f lavfi -i 'sine=frequency=440:sample_rate=44100:duration=300' %s '%s'",
                 kinds[k][1], path);
        if (system(cmd) != 0) { printf("| decode %s | (ffmpeg failed) |\n", kinds[k][0]); continue; }
        slava_audio *a = NULL;
        t0 = sv_now();
        if (slava_audio_open(ctx, path, &a) != SLAVA_OK) { printf("| decode %s: %s |\n", kinds[k][0], slava_ctx_error(ctx)); continue; }
        int n = 0;
        while (slava_audio_next_chunk(ctx, a, buf, &n) == SLAVA_OK && n > 0) {}
        double secs = slava_audio_seconds(a), dt = sv_now() - t0;
        printf("| decode + resample → 48 kHz mono, %s (%d Hz, %d ch) | | | | | %.0f s of audio per s | |\n", kinds[k][0],
               slava_audio_source_rate(a), slava_audio_source_channels(a), secs / dt);
        char name[96];
        snprintf(name, sizeof name, "decode + resample to 48 kHz mono, %s", kinds[k][0]);
        bench_row(name, 1, "fp32", secs / dt, "audio s/s", 0, 0);
        slava_audio_close(a);
        unlink(path);
    }
    free(buf);
    printf("\nreference (DESIGN.md §6, PyTorch 1.13 + transformers, auto-detected kernels, 2 threads): "
           "4.3 chunks/s at batch 1, 6.3 at batch 8, front end ≈ 8 ms/chunk\n");
    free(wave); free(feat); free(pooled); free(proj);
    slava_clap_audio_free(m);
    slava_ctx_free(ctx);
    return bench_end();
}
