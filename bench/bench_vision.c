/*
 * bench_vision.c — CLIP image tower throughput on full-size ViT-B/32 (openai/clip-vit-base-patch32
 * sizes, random weights from init-random): images/s at batch 1 and 32 in fp32 and bf16, the GFLOP/s
 * that means (FLOPs counted from the config, ≈ 8.8 GFLOP per image) as a share of the same-run GEMM
 * limit of that precision (bench_util.h), and decode + preprocess frames/s for a 1-minute 720p H.264
 * video sampled at 1 fps (made once with the ffmpeg program).
 *
 * usage: bench_vision [--json] [--precision fp32|bf16|both] [--threads N] [--config FILE] [--dir DIR]
 *                     [--video FILE] [--seconds S]
 *   --config  default: configs/clip-vit-base-patch32.json beside this source file
 *   --dir     where the random checkpoint is written / read (default /tmp/slava_bench_clip)
 *   --video   the 720p test video (default /tmp/slava_bench_720p.mp4, made when missing)
 *   --seconds timed seconds per measurement, split in 5 trials of which the best counts (default 5)
 * Compare like with like (DESIGN.md §6): the machine block says which kernels ran; run under
 * `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` for what a user's machine does.
 */
#include <unistd.h>
#include "bench_util.h"
#include "vision/clip_vision.h"
#include <math.h>
#include <sys/stat.h>

/* FLOPs of one image through the tower + projection (multiply-add = 2). */
static double vit_flops(const slava_clip_vision *m) {
    double L = m->L, D = m->D, F = m->cfg.intermediate, K = m->C * m->P * m->P;
    double f = 2.0 * (L - 1) * K * D;                                   /* patch embedding */
    f += m->cfg.layers * (2.0 * L * (4 * D * D + 2 * D * F) + 4.0 * L * L * D);
    f += 2.0 * D * m->proj_dim;
    return f;
}

typedef struct {
    slava_ctx *ctx;
    const slava_clip_vision *m;
    int n;
    const float *px;
    float *pooled, *proj;
} enc_arg;

static int enc_run(void *p) {
    enc_arg *a = p;
    return slava_clip_vision_encode(a->ctx, a->m, a->n, a->px, a->pooled, a->proj) != SLAVA_OK;
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_vision");
    int threads = 2;
    double secs = 5;
    char defcfg[1200];
    snprintf(defcfg, sizeof defcfg, "%s", __FILE__);
    char *slash = strrchr(defcfg, '/');
    snprintf(slash ? slash + 1 : defcfg, sizeof defcfg - (size_t)(slash ? slash + 1 - defcfg : 0),
             "configs/clip-vit-base-patch32.json");
    const char *config = defcfg, *dir = "/tmp/slava_bench_clip", *video = "/tmp/slava_bench_720p.mp4";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--config")) config = argv[i + 1];
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--video")) video = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds")) secs = atof(argv[i + 1]);
    }
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();
    printf("## bench_vision: CLIP ViT-B/32 image tower (random weights)\n\n");
    bench_print_machine(stdout);
    bench_limits();

    char probe[1200];
    snprintf(probe, sizeof probe, "%s/model.safetensors", dir);
    struct stat sb;
    if (stat(probe, &sb) != 0 && slava_clip_init_random(ctx, config, 0, dir) != SLAVA_OK) {
        fprintf(stderr, "bench_vision: %s\n", slava_ctx_error(ctx));
        return 1;
    }
    const int B = 32;
    float *px = NULL, *pooled = NULL, *proj = NULL;
    double gflop = 0;
    int S = 0, rows[2][2] = {{-1, -1}, {-1, -1}};
    for (int p = 0; p < 2; p++) {
        const slava_precision prec = p ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32;
        if (!bench_wants(prec)) continue;
        slava_clip_vision *m = NULL;
        double t0 = sv_now();
        if (sv_clip_vision_load_prec(ctx, dir, prec, &m) != SLAVA_OK) {
            fprintf(stderr, "bench_vision: %s\n", slava_ctx_error(ctx));
            return 1;
        }
        printf("%s: load %.2f s\n", sv_precision_name(prec), sv_now() - t0);
        if (!px) {
            gflop = vit_flops(m) / 1e9;
            printf("model: %s (%d layers, hidden %d, %d tokens; %.2f GFLOP per image, counted)\n", dir, m->cfg.layers,
                   m->D, m->L, gflop);
            S = m->S;
            const size_t fsz = (size_t)3 * S * S;
            px = malloc(sizeof(float) * fsz * B);
            pooled = malloc(sizeof(float) * (size_t)B * m->D);
            proj = malloc(sizeof(float) * (size_t)B * m->proj_dim);
            uint64_t s = 7;
            for (size_t i = 0; i < fsz * B; i++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                px[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
            }
        }
        const int bs[2] = {1, B};
        for (int k = 0; k < 2; k++) {
            enc_arg a = {ctx, m, bs[k], px, pooled, proj};
            double cpu = 0, r = bench_rate(enc_run, &a, bs[k], secs, 5, &cpu);
            if (r < 0) { fprintf(stderr, "bench_vision: %s\n", slava_ctx_error(ctx)); return 1; }
            char name[64];
            snprintf(name, sizeof name, "ViT-B/32 batch %d", bs[k]);
            rows[p][k] = bench_g.nrows;
            bench_row(name, bs[k], sv_precision_name(prec), r, "images/s", gflop, cpu);
        }
        slava_clip_vision_free(m);
    }
    bench_limits();   /* again after: the best of both is the limit */
    bench_print_limits(stdout);
    printf("\n");

    /* decode + preprocess: 1-minute 720p H.264 at 1 fps */
    if (stat(video, &sb) != 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=s=1280x720:r=25:d=60 "
                 "-pix_fmt yuv420p -c:v libx264 -preset veryfast -crf 23 '%s'", video);
        if (system(cmd) != 0) { fprintf(stderr, "bench_vision: could not make %s with ffmpeg\n", video); return 1; }
    }
    double best_dec = 1e30;
    int nframes = 0;
    slava_video_info info = {0};
    slava_clip_preproc pre;
    if (slava_clip_preproc_load(ctx, dir, &pre) != SLAVA_OK) { fprintf(stderr, "bench_vision: %s\n", slava_ctx_error(ctx)); return 1; }
    float *frame = malloc(sizeof(float) * 3 * (size_t)(S ? S : 224) * (S ? S : 224));
    for (int rep = 0; rep < 3; rep++) {
        double t0 = sv_now();
        slava_video *v = NULL;
        if (slava_video_open(ctx, video, 1.0, &v) != SLAVA_OK) { fprintf(stderr, "bench_vision: %s\n", slava_ctx_error(ctx)); return 1; }
        int got = 0, n = 0;
        const slava_image *f;
        double t;
        while (slava_video_next(ctx, v, &f, &t, &got) == SLAVA_OK && got) {
            if (slava_clip_preprocess(ctx, &pre, f, frame) != SLAVA_OK) break;
            n++;
        }
        slava_video_get_info(v, &info);
        slava_video_close(v);
        double el = sv_now() - t0;
        if (el < best_dec) best_dec = el;
        nframes = n;
    }
    free(frame);
    const int dec_row = bench_g.nrows;
    bench_row("decode + preprocess, 720p H.264 at 1 fps", 1, "fp32", nframes / best_dec, "frames/s", 0, 0);

    printf("| measurement | precision | value | GFLOP/s | of the same-run GEMM limit | target |\n|---|---|---|---|---|---|\n");
    static const char *target[2][2] = {{"≥ 21 images/s", "≥ 36 images/s"}, {"", "≥ 95 images/s (at ≈ 1,000 GFLOP/s bf16)"}};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++) {
            if (rows[p][k] < 0) continue;
            const bench_row_t *r = &bench_g.rows[rows[p][k]];
            printf("| %s | %s | %.1f images/s | %.0f | %s | %s |\n", r->name, r->precision, r->rate, r->rate * gflop,
                   bench_share_str(rows[p][k]), target[p][k]);
        }
    printf("| decode + preprocess, %dx%d %s, %.0f s at 1 fps | | %.1f frames/s (%d frames in %.2f s; %lld decoded, %.0f video s/s) | | | |\n",
           info.width, info.height, info.codec, info.duration, bench_g.rows[dec_row].rate, nframes, best_dec,
           (long long)info.frames_decoded, info.duration / best_dec);
    printf("\nreference (DESIGN.md §6, same machine type, auto-detected kernels): PyTorch 1.13 10.5 (b1) / 18.1 (b32) images/s\n");
    free(px);
    free(pooled);
    free(proj);
    slava_ctx_free(ctx);
    return bench_end();
}
