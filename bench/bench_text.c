/*
 * bench_text.c — captions/s of the full-size CLIP text tower (ViT-B/32 text sizes: 12 layers,
 * D 512, F 2048, 77 positions) with random weights written by init-random into a temp folder.
 * Rows: AVCaps-like captions of 10–30 tokens from text (tokenizer included, each caption computed
 * up to its end-of-text token, batched), and captions that really have 16 and 77 tokens (ids,
 * batch 32, the PyTorch reference setting of DESIGN.md §6). Prints the machine, the OpenBLAS
 * kernel, the sgemm rate of the same run, and the tower's GFLOP/s against it.
 *
 * Both precisions (fp32, bf16), each row as a share of the same-run GEMM limit of its precision.
 * usage: bench_text [--json] [--precision fp32|bf16|both] [threads (default 2)] [seconds per row (default 3)]
 */
#include <unistd.h>   /* before bench_util.h, which uses sysconf */
#include "bench_util.h"
#include "base/rng.h"
#include "text/clip_text.h"

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

typedef struct {
    slava_ctx *ctx;
    slava_clip_text *m;
    int n, by_ids, len;
    const char *const *caps;
    const int *ids, *lens;
    float *pooled, *proj;
} enc_arg;

static int enc_run(void *p) {
    enc_arg *a = p;
    if (a->by_ids) return slava_clip_text_encode_ids(a->ctx, a->m, a->n, a->ids, a->len, a->lens, a->pooled, a->proj) != SLAVA_OK;
    return slava_clip_text_encode(a->ctx, a->m, a->n, a->caps, a->pooled, a->proj) != SLAVA_OK;
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_text");
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

    printf("== bench_text: CLIP text tower, full size (ViT-B/32 text sizes), random weights\n");
    bench_print_machine(stdout);
    bench_limits();
    printf("init-random (both towers, %s): %.1f s\n\n", model, t_init);

    enum { NREAL = 512 };
    char *caps[NREAL];
    double real_flops = 0, real_tokens = 0;
    float *pooled = NULL, *proj = NULL;
    int D = 0, P = 0, L = 0, F = 0;
    const int layers = 12;
    int rows[2][3];
    memset(rows, -1, sizeof rows);
    const int ns[2] = {16, 77};
    for (int pi = 0; pi < 2; pi++) {
        const slava_precision prec = pi ? SLAVA_PRECISION_BF16 : SLAVA_PRECISION_FP32;
        if (!bench_wants(prec)) continue;
        slava_clip_text *m = NULL;
        t0 = sv_now();
        if (sv_clip_text_load_prec(ctx, model, prec, &m) != SLAVA_OK) { fprintf(stderr, "bench_text: %s\n", slava_ctx_error(ctx)); return 1; }
        printf("%s: load %.2f s\n", sv_precision_name(prec), sv_now() - t0);
        slava_tokenizer *tok = slava_clip_text_tokenizer(m);
        if (!pooled) {
            slava_clip_text_dims(m, &D, &P, &L);
            F = 4 * D;
            /* AVCaps-like captions: 10–30 tokens each (words are single BPE tokens) */
            sv_rng rng;
            sv_rng_seed(&rng, 1);
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
            pooled = malloc(sizeof(float) * NREAL * D);
            proj = malloc(sizeof(float) * NREAL * P);
        }
        /* row 1: real lengths from text */
        enc_arg a = {ctx, m, NREAL, 0, 0, (const char *const *)caps, NULL, NULL, pooled, proj};
        double cpu = 0, cps = bench_rate(enc_run, &a, NREAL, secs, 3, &cpu);
        if (cps < 0) { fprintf(stderr, "bench_text: %s\n", slava_ctx_error(ctx)); return 1; }
        char name[96];
        snprintf(name, sizeof name, "text, 10-30 tokens (mean %.1f), up to end-of-text", real_tokens / NREAL);
        rows[pi][0] = bench_g.nrows;
        bench_row(name, NREAL, sv_precision_name(prec), cps, "captions/s", real_flops / NREAL / 1e9, cpu);
        /* rows 2, 3: every caption really has n tokens (random word ids, end-of-text last), batch 32 */
        sv_rng rng;
        sv_rng_seed(&rng, 2);
        for (int r = 0; r < 2; r++) {
            int n = ns[r], B = 32;
            int *ids = malloc(sizeof(int) * (size_t)B * n), *ln = malloc(sizeof(int) * B);
            for (int b = 0; b < B; b++) {
                ids[b * n] = slava_tokenizer_bos(tok);
                for (int t = 1; t < n - 1; t++) ids[b * n + t] = 320 + (int)sv_rng_below(&rng, 40000);
                ids[b * n + n - 1] = slava_tokenizer_eos(tok);
                ln[b] = n;
            }
            enc_arg ai = {ctx, m, B, 1, n, NULL, ids, ln, pooled, proj};
            cps = bench_rate(enc_run, &ai, B, secs, 3, &cpu);
            snprintf(name, sizeof name, "ids, exactly %d tokens", n);
            rows[pi][1 + r] = bench_g.nrows;
            bench_row(name, B, sv_precision_name(prec), cps, "captions/s", caption_flops(n, D, F, layers, P) / 1e9, cpu);
            free(ids);
            free(ln);
        }
        slava_clip_text_free(m);
    }
    bench_limits();
    bench_print_limits(stdout);

    printf("\n| input | precision | batch | captions/s | of the same-run GEMM limit | PyTorch 1.13 (§6, Cooperlake) |\n");
    printf("|---|---|---|---|---|---|\n");
    const double torch[3] = {0, 88, 25.2};
    for (int pi = 0; pi < 2; pi++)
        for (int r = 0; r < 3; r++) {
            if (rows[pi][r] < 0) continue;
            const bench_row_t *x = &bench_g.rows[rows[pi][r]];
            char t[32] = "—";
            if (torch[r] > 0) snprintf(t, sizeof t, "%.1f", torch[r]);
            printf("| %s | %s | %d | %.1f | %s | %s |\n", x->name, x->precision, x->batch, x->rate, bench_share_str(rows[pi][r]), t);
        }
    printf("\ntargets: >= 250 captions/s fp32 at real lengths (≥ 450 bf16 on a ≈ 1,000 GFLOP/s bf16 machine); "
           ">= 1.5x PyTorch (37.8/s) at 77 tokens\n");

    for (int i = 0; i < NREAL && pooled; i++) free(caps[i]);
    free(pooled);
    free(proj);
    slava_ctx_free(ctx);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "bench_text: could not remove %s\n", tmp);
    return bench_end();
}
