/*
 * bench_text.c — captions/s of the full-size CLIP text tower (ViT-B/32 text sizes: 12 layers,
 * D 512, F 2048, 77 positions) with random weights written by init-random into a temp folder.
 * Rows: AVCaps-like captions of 10–30 tokens from text (tokenizer included, each caption computed
 * up to its end-of-text token, batched), and captions that really have 16 and 77 tokens (ids,
 * batch 32, the PyTorch reference setting of DESIGN.md §6). Prints the machine, the OpenBLAS
 * kernel, the sgemm rate of the same run, and the tower's GFLOP/s against it.
 *
 * usage: bench_text [threads (default 2)] [seconds per row (default 3)]
 */
#include <unistd.h>   /* before bench_util.h, which uses sysconf */
#include "bench_util.h"
#include "base/rng.h"

/* FLOPs of one caption of n tokens: per layer the four Linear (2·n·D·(4D + 2F)) plus causal
 * attention scores and mix (2 · 2·n(n+1)/2 · D), plus the projection. */
static double caption_flops(int n, int D, int F, int layers, int P) {
    return layers * (2.0 * n * D * (4.0 * D + 2.0 * F) + 2.0 * n * (n + 1.0) * D) + 2.0 * D * P;
}

static const char *WORDS[] = {
    "a", "the", "dog", "barks", "while", "car", "passes", "by", "on", "wet", "street", "man", "is", "speaking",
    "in", "large", "room", "with", "noticeable", "echo", "birds", "chirping", "background", "as", "wind", "blows",
    "through", "trees", "woman", "laughs", "then", "door", "slams", "shut", "and", "footsteps", "fade", "away",
    "music", "plays", "crowd", "cheers", "loudly", "engine", "revs", "water", "splashing", "children", "playing",
    "near", "river", "people", "talk", "market", "guitar", "sings", "rain", "falls", "thunder", "rumbles", "far"};

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    double secs = argc > 2 ? atof(argv[2]) : 3.0;
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();

    /* full-size random checkpoint: bench config + the fixture tokenizer files in a temp folder */
    char root[1024];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *sl = strrchr(root, '/');
    if (sl) *sl = 0;                   /* .../bench */
    sl = strrchr(root, '/');
    if (sl) *sl = 0; else snprintf(root, sizeof root, ".");
    char tmp[] = "/tmp/slava_bench_text_XXXXXX";
    if (!mkdtemp(tmp)) { fprintf(stderr, "bench_text: cannot create a temp folder\n"); return 1; }
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp '%s/bench/configs/clip-vit-base-patch32.json' '%s/config.json' && cp '%s/tests/fixtures/clip-model/vocab.json' "
             "'%s/tests/fixtures/clip-model/merges.txt' '%s/'", root, tmp, root, root, tmp);
    if (system(cmd) != 0) { fprintf(stderr, "bench_text: cannot copy the config / tokenizer files\n"); return 1; }
    char cfg[1100], model[1100];
    snprintf(cfg, sizeof cfg, "%s/config.json", tmp);
    snprintf(model, sizeof model, "%s/model", tmp);
    double t0 = sv_now();
    if (slava_clip_init_random(ctx, cfg, 0, model) != SLAVA_OK) { fprintf(stderr, "bench_text: %s\n", slava_ctx_error(ctx)); return 1; }
    double t_init = sv_now() - t0;
    slava_clip_text *m = NULL;
    t0 = sv_now();
    if (slava_clip_text_load(ctx, model, &m) != SLAVA_OK) { fprintf(stderr, "bench_text: %s\n", slava_ctx_error(ctx)); return 1; }
    double t_load = sv_now() - t0;
    int D, P, L;
    slava_clip_text_dims(m, &D, &P, &L);
    const int F = 4 * D, layers = 12;

    printf("== bench_text: CLIP text tower, full size (D %d, F %d, %d layers, P %d), random weights\n", D, F, layers, P);
    bench_print_machine(stdout);
    double sgemm = bench_sgemm_gflops(1024, 5);
    printf("sgemm (1024^3, same run): %.1f GFLOP/s\n", sgemm);
    printf("init-random (both towers, %s): %.1f s; load: %.2f s\n\n", model, t_init, t_load);

    /* AVCaps-like captions: 10–30 tokens each (words are single BPE tokens) */
    enum { NREAL = 512 };
    char *caps[NREAL];
    sv_rng rng;
    sv_rng_seed(&rng, 1);
    double real_flops = 0, real_tokens = 0;
    slava_tokenizer *tok = slava_clip_text_tokenizer(m);
    for (int i = 0; i < NREAL; i++) {
        int nw = 8 + (int)sv_rng_below(&rng, 21);   /* 8..28 words + bos/eos = 10..30 tokens */
        caps[i] = calloc(1, 16 * (size_t)nw + 1);
        for (int w = 0; w < nw; w++) {
            if (w) strcat(caps[i], " ");
            strcat(caps[i], WORDS[sv_rng_below(&rng, SV_ARRAY_LEN(WORDS))]);
        }
        int ids[77], n = 0;
        slava_tokenize(ctx, tok, caps[i], strlen(caps[i]), L, ids, &n, NULL);
        real_tokens += n;
        real_flops += caption_flops(n, D, F, layers, P);
    }
    float *pooled = malloc(sizeof(float) * NREAL * D), *proj = malloc(sizeof(float) * NREAL * P);

    printf("| input | batch | captions/s | GFLOP/s | of sgemm | PyTorch 1.13 (§6, Cooperlake) | vs PyTorch |\n");
    printf("|---|---|---|---|---|---|---|\n");
    /* row 1: real lengths from text */
    slava_clip_text_encode(ctx, m, 32, (const char *const *)caps, pooled, proj);   /* warm-up */
    int reps = 0;
    t0 = sv_now();
    double el;
    do {
        if (slava_clip_text_encode(ctx, m, NREAL, (const char *const *)caps, pooled, proj) != SLAVA_OK) {
            fprintf(stderr, "bench_text: %s\n", slava_ctx_error(ctx));
            return 1;
        }
        reps++;
        el = sv_now() - t0;
    } while (el < secs);
    double cps = reps * NREAL / el;
    printf("| text, 10–30 tokens (mean %.1f), up to end-of-text | %d | %.1f | %.1f | %.0f%% | — | — |\n", real_tokens / NREAL,
           NREAL, cps, reps * real_flops / el / 1e9, 100.0 * reps * real_flops / el / 1e9 / sgemm);
    double real_cps = cps;

    /* rows 2, 3: every caption really has n tokens (random word ids, end-of-text last), batch 32 */
    const int ns[2] = {16, 77};
    const double torch[2] = {88, 25.2};
    double cps77 = 0;
    for (int r = 0; r < 2; r++) {
        int n = ns[r], B = 32;
        int *ids = malloc(sizeof(int) * (size_t)B * n), *ln = malloc(sizeof(int) * B);
        for (int b = 0; b < B; b++) {
            ids[b * n] = slava_tokenizer_bos(tok);
            for (int t = 1; t < n - 1; t++) ids[b * n + t] = 320 + (int)sv_rng_below(&rng, 40000);
            ids[b * n + n - 1] = slava_tokenizer_eos(tok);
            ln[b] = n;
        }
        slava_clip_text_encode_ids(ctx, m, B, ids, n, ln, pooled, proj);   /* warm-up */
        reps = 0;
        t0 = sv_now();
        do {
            slava_clip_text_encode_ids(ctx, m, B, ids, n, ln, pooled, proj);
            reps++;
            el = sv_now() - t0;
        } while (el < secs);
        cps = reps * B / el;
        double gf = cps * caption_flops(n, D, F, layers, P) / 1e9;
        printf("| ids, exactly %d tokens | %d | %.1f | %.1f | %.0f%% | %.1f | %.2fx |\n", n, B, cps, gf, 100.0 * gf / sgemm,
               torch[r], cps / torch[r]);
        if (n == 77) cps77 = cps;
        free(ids);
        free(ln);
    }
    printf("\ntargets: >= 250 captions/s at real lengths: %.0f (%s); >= 1.5x PyTorch (37.8/s) at 77 tokens: %.1f (%s)\n",
           real_cps, real_cps >= 250 ? "met" : "NOT met", cps77, cps77 >= 1.5 * 25.2 ? "met" : "NOT met");

    for (int i = 0; i < NREAL; i++) free(caps[i]);
    free(pooled);
    free(proj);
    slava_clip_text_free(m);
    slava_ctx_free(ctx);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "bench_text: could not remove %s\n", tmp);
    return 0;
}
