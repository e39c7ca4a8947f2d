/*
 * bench_store.c — feature store throughput at AVCaps-like shapes: for N clips (default 1k and
 * 10k; pass others as arguments) with 10 frames × 768, 1–2 audio chunks × 768 and 18 captions × 512
 * each, the time to store them (put_dataset), load them all, load one split, export
 * to safetensors and import into a fresh store. Files go to $TMPDIR (default /tmp) and are removed.
 */
#include "bench_util.h"
#include <sys/stat.h>
#include <unistd.h>

enum { DV = 768, DA = 768, DT = 512, TV = 10 };

static uint64_t rng = 88172645463325252ULL;
static float frand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)(rng >> 40) / (float)(1 << 24) - 0.5f;
}
static float *floats(size_t n) {
    float *x = sv_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = frand();
    return x;
}

static void make(slava_dataset *ds, int n) {
    memset(ds, 0, sizeof *ds);
    ds->n = n; ds->d_v = DV; ds->d_a = DA; ds->d_t = DT;
    ds->clips = calloc((size_t)n, sizeof(slava_clip));
    ds->encoder_id[0] = sv_strdup("bench-clip-vision");
    ds->encoder_id[1] = sv_strdup("bench-clap-audio");
    ds->encoder_id[2] = sv_strdup("bench-clip-text");
    const int ncap[SLAVA_CAP_KINDS] = {5, 5, 5, 3};
    for (int i = 0; i < n; i++) {
        slava_clip *c = &ds->clips[i];
        char id[32];
        snprintf(id, sizeof id, "clip%06d", i);
        c->id = sv_strdup(id);
        c->split = i % 10 < 8 ? SLAVA_SPLIT_TRAIN : i % 10 == 8 ? SLAVA_SPLIT_VAL : SLAVA_SPLIT_TEST;
        c->t_v = TV;
        c->visual = floats((size_t)TV * DV);
        c->t_a = 1 + i % 2;
        c->audio = floats((size_t)c->t_a * DA);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            c->n_cap[k] = ncap[k];
            c->cap[k] = floats((size_t)ncap[k] * DT);
            c->cap_text[k] = calloc((size_t)ncap[k], sizeof(char *));
            for (int j = 0; j < ncap[k]; j++) {
                char t[96];
                snprintf(t, sizeof t, "caption %d of kind %d for clip %d: a person talks while a dog barks", j, k, i);
                c->cap_text[k][j] = sv_strdup(t);
            }
        }
    }
}

static void rm_store(const char *p) {
    char aux[1100];
    unlink(p);
    snprintf(aux, sizeof aux, "%s-wal", p); unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", p); unlink(aux);
}

static double mb(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size / 1048576.0 : 0;
}

static int die(slava_ctx *ctx) {
    fprintf(stderr, "bench_store: %s\n", slava_ctx_error(ctx));
    return 1;
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_store");
    slava_set_threads(0);
    bench_print_machine(stdout);
    bench_limits();
    bench_print_limits(stdout);
    printf("per clip: %d frames x %d, 1-2 chunks x %d, 18 captions x %d (float32); slava_store_put_dataset (whole clips, <= 256 per transaction)\n\n", TV, DV, DA, DT);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char db[1024], db2[1024], st[1024];
    snprintf(db, sizeof db, "%s/bench_store_%d.db", tmp, (int)getpid());
    snprintf(db2, sizeof db2, "%s/bench_store_%d_import.db", tmp, (int)getpid());
    snprintf(st, sizeof st, "%s/bench_store_%d.safetensors", tmp, (int)getpid());
    int sizes[8] = {1000, 10000}, nsizes = 2;
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 8; i++) sizes[nsizes++] = atoi(argv[i]);
    }
    printf("| clips | store MB | put clips/s | load all s | load test split s | export s | import s | rerun put s |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    slava_ctx *ctx = slava_ctx_new();
    for (int si = 0; si < nsizes; si++) {
        int n = sizes[si];
        slava_dataset ds, got;
        make(&ds, n);
        rm_store(db); rm_store(db2); unlink(st);
        slava_store *s = NULL;
        if (slava_store_open(ctx, db, 1, &s) != SLAVA_OK) return die(ctx);
        double t0 = sv_now();
        if (slava_store_put_dataset(ctx, s, &ds) != SLAVA_OK) return die(ctx);
        double t_put = sv_now() - t0;
        t0 = sv_now();
        if (slava_store_put_dataset(ctx, s, &ds) != SLAVA_OK) return die(ctx);
        double t_rerun = sv_now() - t0;
        t0 = sv_now();
        if (slava_store_load(ctx, s, 0, NULL, &got) != SLAVA_OK) return die(ctx);
        double t_load = sv_now() - t0;
        if (got.n != n) { fprintf(stderr, "bench_store: loaded %d of %d clips\n", got.n, n); return 1; }
        slava_dataset_free(&got);
        t0 = sv_now();
        if (slava_store_load(ctx, s, 1u << SLAVA_SPLIT_TEST, NULL, &got) != SLAVA_OK) return die(ctx);
        double t_split = sv_now() - t0;
        slava_dataset_free(&got);
        t0 = sv_now();
        if (slava_store_export(ctx, s, st, 0, 0, NULL, NULL) != SLAVA_OK) return die(ctx);
        double t_exp = sv_now() - t0;
        slava_store_close(s);
        double size = mb(db);
        slava_store *s2 = NULL;
        if (slava_store_open(ctx, db2, 1, &s2) != SLAVA_OK) return die(ctx);
        t0 = sv_now();
        if (slava_store_import(ctx, s2, st, NULL) != SLAVA_OK) return die(ctx);
        double t_imp = sv_now() - t0;
        slava_store_close(s2);
        printf("| %d | %.0f | %.0f | %.2f | %.3f | %.2f | %.2f | %.2f |\n", n, size, n / t_put, t_load, t_split, t_exp,
               t_imp, t_rerun);
        fflush(stdout);
        char name[96];
        snprintf(name, sizeof name, "store: put %d clips (whole dataset)", n);
        bench_row(name, n, "fp32", n / t_put, "clips/s", 0, 0);
        snprintf(name, sizeof name, "store: load all %d clips", n);
        bench_row(name, n, "fp32", n / t_load, "clips/s", 0, 0);
        snprintf(name, sizeof name, "store: export %d clips to safetensors", n);
        bench_row(name, n, "fp32", n / t_exp, "clips/s", 0, 0);
        slava_dataset_free(&ds);
        rm_store(db); rm_store(db2); unlink(st);
    }
    slava_ctx_free(ctx);
    return bench_end();
}
