/*
 * bench_drift.c — how far bf16 features drift from float32 ones: for a store holding a collection
 * encoded twice (`slava encode` and `slava encode --precision bf16`, the same checkpoints), the
 * cosine between each float32 row and its bf16 twin — every frame, audio chunk and caption — per
 * modality (minimum and mean), on the encoder outputs (pooled) and on the embeddings (each row
 * through the checkpoints' own projections, as heads initialised from them). Not a timing: the rows' "rate" is a cosine.
 *
 * usage: bench_drift [--json] --store STORE --clip DIR --clap DIR
 * e.g. after `slava demo --work W`: slava encode --data W/data --clip W/clip --clap W/clap
 *      --store W/features.sqlite --precision bf16, then bench_drift --store W/features.sqlite
 *      --clip W/clip --clap W/clap.
 */
#include <unistd.h>
#include "bench_util.h"
#include <math.h>

static double cosine(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int j = 0; j < d; j++) {
        ab += (double)a[j] * b[j];
        aa += (double)a[j] * a[j];
        bb += (double)b[j] * b[j];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1.0;
}

typedef struct { double min, sum; long n; } stat_t;

static void add(stat_t *s, double c) {
    if (s->n == 0 || c < s->min) s->min = c;
    s->sum += c;
    s->n++;
}

/* rows [n, d] of a and b: pooled cosines, and the embeddings' (the heads' projection per row). */
static void compare(slava_ctx *ctx, const slava_heads *h, slava_modality m, const float *a, const float *b, int n, int d,
                    stat_t *pooled, stat_t *emb) {
    const int P = slava_heads_dim(h);
    float *ea = malloc(sizeof(float) * (size_t)(n ? n : 1) * P), *eb = malloc(sizeof(float) * (size_t)(n ? n : 1) * P);
    int ok = ea && eb && !slava_heads_project_rows(ctx, h, m, a, n, d, ea) && !slava_heads_project_rows(ctx, h, m, b, n, d, eb);
    for (int i = 0; i < n; i++) {
        add(pooled, cosine(a + (size_t)i * d, b + (size_t)i * d, d));
        if (ok) add(emb, cosine(ea + (size_t)i * P, eb + (size_t)i * P, P));
    }
    free(ea);
    free(eb);
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_drift");
    const char *store = NULL, *clip = NULL, *clap = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--store")) store = argv[i + 1];
        else if (!strcmp(argv[i], "--clip")) clip = argv[i + 1];
        else if (!strcmp(argv[i], "--clap")) clap = argv[i + 1];
    }
    if (!store || !clip || !clap) {
        fprintf(stderr, "usage: bench_drift [--json] --store STORE --clip DIR --clap DIR\n");
        return 2;
    }
    slava_set_threads(0);
    slava_ctx *ctx = slava_ctx_new();
    printf("## bench_drift: bf16 against float32 features of the same collection\n\n");
    bench_print_machine(stdout);
    char id32[SLAVA_MODS][SLAVA_ENCODER_ID_LEN], id16[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    slava_store *s = NULL;
    slava_dataset a, b;
    const char *e32[SLAVA_MODS] = {id32[0], id32[1], id32[2]}, *e16[SLAVA_MODS] = {id16[0], id16[1], id16[2]};
    if (slava_encoder_ids(ctx, clip, clap, 1.0, id32) || slava_encoder_ids_precision(ctx, clip, clap, 1.0, SLAVA_PRECISION_BF16, id16) ||
        slava_store_open(ctx, store, 0, &s) || slava_store_load(ctx, s, 0, e32, &a) || slava_store_load(ctx, s, 0, e16, &b)) {
        fprintf(stderr, "bench_drift: %s\n", slava_ctx_error(ctx));
        return 1;
    }
    /* the checkpoints' own projections, as the embeddings use them */
    slava_heads *h = NULL;
    slava_train_opts to;
    slava_train_opts_default(&to);
    to.clip_dir = clip;
    to.clap_dir = clap;
    if (slava_heads_init(ctx, &a, &to, &h)) { fprintf(stderr, "bench_drift: %s\n", slava_ctx_error(ctx)); return 1; }
    stat_t st[3][2];
    memset(st, 0, sizeof st);
    int mismatched = 0;
    for (int i = 0; i < a.n && i < b.n; i++) {
        const slava_clip *x = &a.clips[i], *y = &b.clips[i];
        if (strcmp(x->id, y->id) || x->t_v != y->t_v || x->t_a != y->t_a) { mismatched++; continue; }
        compare(ctx, h, SLAVA_MOD_VISUAL, x->visual, y->visual, x->t_v, a.d_v, &st[0][0], &st[0][1]);
        if (x->t_a) compare(ctx, h, SLAVA_MOD_AUDIO, x->audio, y->audio, x->t_a, a.d_a, &st[1][0], &st[1][1]);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++)
            if (x->n_cap[k] == y->n_cap[k])
                compare(ctx, h, SLAVA_MOD_TEXT, x->cap[k], y->cap[k], x->n_cap[k], a.d_t, &st[2][0], &st[2][1]);
    }
    if (a.n != b.n || mismatched) {
        fprintf(stderr, "bench_drift: the two encodings differ in clips (%d / %d, %d mismatched)\n", a.n, b.n, mismatched);
        return 1;
    }
    static const char *mods[3] = {"visual frames", "audio chunks", "captions"};
    printf("\n| rows | count | pooled: min cosine | mean | embedding: min cosine | mean |\n|---|---|---|---|---|---|\n");
    for (int m = 0; m < 3; m++) {
        char name[96];
        printf("| %s | %ld | %.6f | %.6f | %.6f | %.6f |\n", mods[m], st[m][0].n, st[m][0].min,
               st[m][0].sum / (st[m][0].n ? st[m][0].n : 1), st[m][1].min, st[m][1].sum / (st[m][1].n ? st[m][1].n : 1));
        snprintf(name, sizeof name, "min cosine bf16 vs fp32, pooled %s", mods[m]);
        bench_row(name, (int)st[m][0].n, "bf16", st[m][0].min, "cosine", 0, 0);
        if (st[m][1].n) {
            snprintf(name, sizeof name, "min cosine bf16 vs fp32, embedding of %s", mods[m]);
            bench_row(name, (int)st[m][1].n, "bf16", st[m][1].min, "cosine", 0, 0);
        }
    }
    slava_heads_free(h);
    slava_dataset_free(&a);
    slava_dataset_free(&b);
    slava_store_close(s);
    slava_ctx_free(ctx);
    return bench_end();
}
