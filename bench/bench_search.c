/*
 * bench_search.c — exact and approximate search on random unit vectors, and the index build rate.
 *
 * For 10k, 100k and 1M random unit vectors of 512 (float32 and float16 copies):
 *   - exact top-10 for one query: latency, and the bytes it reads per second against the memory
 *     bandwidth measured in the same run (a plain streaming read over the OpenMP team);
 *   - exact top-10 for 64-query batches: queries/s and GFLOP/s against the same run's sgemm;
 *   - the approximate index (FAISS HNSW on the rows): build rate, one-query latency and recall@10
 *     against the exact top-10, for a few search breadths (ef), and its speed-up over exact;
 * and slava_index_build from a synthetic feature store (768-d frames and chunks, 512-d heads):
 * feature rows projected per second, first build and the no-change re-index.
 * Text output ends with the line
 *   search: exact 1M×512 f32 one query X ms = Y % of memory bandwidth
 * --json prints one document instead: machine, threads, kernel, limits, rows.
 *
 *   - the same on clustered rows (1,000 centres; closer to real embeddings) at 100k;
 * usage: bench_search [--json] [--min N] [--max N] [--threads N] [--no-ann] [--ann-max N] [--ann-m M]
 *                     [--ann-efc N] [--store-clips N]
 *   --min / --max: smallest / largest size (default 10k / 1M, times 10 between); --ann-max: largest size with an approximate index (1M);
 *   --ann-m / --ann-efc: HNSW parameters (default the index's: 32 / 100)
 */
#include "bench_util.h"
#include "search/search.h"
#include "base/rng.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>

#define DIM 512
#define K 10
#define BATCH 64
#define ANN_QUERIES 200

typedef struct {
    cJSON *rows;
    int json;
} out_t;

static void row(out_t *o, const char *name, int batch, const char *prec, double rate, const char *unit,
                double share, const char *limit) {
    if (o->json) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "name", name);
        cJSON_AddNumberToObject(r, "batch", batch);
        cJSON_AddStringToObject(r, "precision", prec);
        cJSON_AddNumberToObject(r, "rate", rate);
        cJSON_AddStringToObject(r, "unit", unit);
        if (limit) {
            cJSON_AddNumberToObject(r, "share", share);
            cJSON_AddStringToObject(r, "limit", limit);
        } else cJSON_AddNullToObject(r, "share");
        cJSON_AddItemToArray(o->rows, r);
        return;
    }
    if (limit) printf("| %-44s | %5d | %-4s | %12.4g %-10s | %5.1f %% of %s |\n", name, batch, prec, rate, unit, 100 * share, limit);
    else printf("| %-44s | %5d | %-4s | %12.4g %-10s | |\n", name, batch, prec, rate, unit);
}

/* GB/s of a streaming read over `bytes` (sum of floats on every thread), best of reps. */
static double bandwidth_gbs(size_t bytes, int reps) {
    size_t n = bytes / sizeof(float);
    float *a = sv_alloc(bytes);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023) * 1e-3f;
    double best = 1e30, sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = sv_now(), tot = 0;
        #pragma omp parallel reduction(+ : tot)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t a0 = n * t / nt, a1 = n * (t + 1) / nt;
            float s0 = 0;
            #pragma omp simd reduction(+ : s0)
            for (size_t i = a0; i < a1; i++) s0 += a[i];
            tot += s0;
        }
        double dt = sv_now() - t0;
        sink += tot;
        if (dt < best) best = dt;
    }
    sv_free(a);
    if (sink == 12345.678) printf(" ");
    return (double)bytes / best / 1e9;
}

static void unit_rows(float *x, int64_t n, uint64_t seed) {
    #pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        sv_rng r;
        sv_rng_seed(&r, seed * 1000 + (uint64_t)t);
        for (int64_t i = n * t / nt; i < n * (t + 1) / nt; i++) {
            float *v = x + i * DIM;
            double s = 0;
            for (int j = 0; j < DIM; j++) { v[j] = (float)sv_rng_normal(&r); s += (double)v[j] * v[j]; }
            float inv = (float)(1.0 / sqrt(s));
            for (int j = 0; j < DIM; j++) v[j] *= inv;
        }
    }
}

/* Rows around `centres` random unit centres (drawn from seed): x = normalise(c + 0.045 g), so a
 * row's cosine with its centre is about 0.7 in 512-d. Row i takes centre i % centres, or a random
 * one for queries. */
static void clustered_rows(float *x, int64_t n, int centres, uint64_t seed, int random_centre) {
    float *c = sv_alloc(sizeof(float) * (size_t)centres * DIM);
    unit_rows(c, centres, seed);
    #pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        sv_rng r;
        sv_rng_seed(&r, seed * 7777 + (uint64_t)t + (random_centre ? 100 : 0));
        for (int64_t i = n * t / nt; i < n * (t + 1) / nt; i++) {
            const float *ci = c + (random_centre ? (int64_t)sv_rng_below(&r, (uint64_t)centres) : i % centres) * DIM;
            float *v = x + i * DIM;
            double s = 0;
            for (int j = 0; j < DIM; j++) { v[j] = ci[j] + 0.045f * (float)sv_rng_normal(&r); s += (double)v[j] * v[j]; }
            float inv = (float)(1.0 / sqrt(s));
            for (int j = 0; j < DIM; j++) v[j] *= inv;
        }
    }
    sv_free(c);
}

static const char *size_name(int64_t n) {
    static char b[4][32];
    static int k;
    char *s = b[k++ & 3];
    if (n >= 1000000 && n % 1000000 == 0) snprintf(s, 32, "%lldM", (long long)(n / 1000000));
    else if (n >= 1000 && n % 1000 == 0) snprintf(s, 32, "%lldk", (long long)(n / 1000));
    else snprintf(s, 32, "%lld", (long long)n);
    return s;
}
static int g_ann_m = SX_ANN_M, g_ann_efc = SX_ANN_EF_CONSTRUCTION;

/* The approximate index over X (n rows, float32 and float16 copies): build rate, then per search
 * breadth the latency, recall@10 against the exact top-10 and the speed-up over exact_ms[f16]. */
static void bench_ann(out_t *o, slava_ctx *ctx, const float *X, const uint16_t *H, const float *Q, int64_t n,
                      const char *data, const double *exact_ms) {
    sx_graph g;
    double t0 = sv_now();
    if (sx_ann_build(ctx, X, n, DIM, g_ann_m, g_ann_efc, &g)) {
        fprintf(stderr, "bench_search: %s\n", slava_ctx_error(ctx));
        exit(1);
    }
    double tb = sv_now() - t0;
    char name[160];
    snprintf(name, sizeof name, "approximate index build (HNSW M=%d efc=%d), %s %s", g_ann_m, g_ann_efc, size_name(n), data);
    row(o, name, 1, "f32", n / tb, "rows/s", 0, NULL);
    int64_t *exact = malloc(sizeof(int64_t) * ANN_QUERIES * K);
    float *es = malloc(sizeof(float) * ANN_QUERIES * K);
    for (int q0 = 0; q0 < ANN_QUERIES; q0 += BATCH) {
        int nq = ANN_QUERIES - q0 < BATCH ? ANN_QUERIES - q0 : BATCH;
        sx_topk_rows(ctx, X, 0, n, DIM, Q + q0 * DIM, nq, K, exact + q0 * K, es + q0 * K);
    }
    for (int f16 = 0; f16 <= 1; f16++) {
        sx_ann *a = NULL;
        if (sx_ann_load(ctx, "bench", &g, f16 ? (const void *)H : X, f16, DIM, &a)) {
            fprintf(stderr, "bench_search: %s\n", slava_ctx_error(ctx));
            exit(1);
        }
        const int efs[] = {64, 256, 1024};
        for (size_t e = 0; e < SV_ARRAY_LEN(efs); e++) {
            int64_t got[K];
            int hit = 0;
            double t1 = sv_now();
            for (int q = 0; q < ANN_QUERIES; q++) {
                sx_ann_search(ctx, a, Q + q * DIM, K, efs[e], got);
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++) hit += got[i] == exact[q * K + j];
            }
            double lat = (sv_now() - t1) / ANN_QUERIES * 1e3;
            double recall = (double)hit / (ANN_QUERIES * K);
            snprintf(name, sizeof name, "approximate top-10, %s %s, ef=%d: latency", size_name(n), data, efs[e]);
            row(o, name, 1, f16 ? "f16" : "f32", lat, "ms", 0, NULL);
            snprintf(name, sizeof name, "approximate top-10, %s %s, ef=%d: recall@10", size_name(n), data, efs[e]);
            row(o, name, 1, f16 ? "f16" : "f32", recall, "recall", 0, NULL);
            snprintf(name, sizeof name, "approximate top-10, %s %s, ef=%d: speed-up", size_name(n), data, efs[e]);
            row(o, name, 1, f16 ? "f16" : "f32", exact_ms[f16] / lat, "x exact", 0, NULL);
        }
        sx_ann_free(a);
    }
    sx_graph_free(&g);
    free(exact);
    free(es);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}


/* Index build from a synthetic store: rows projected per second. */
static void bench_build(out_t *o, int clips) {
    slava_ctx *ctx = slava_ctx_new();
    char store[256], heads[256], idx[256];
    snprintf(store, sizeof store, "/tmp/bench_search_%d.sqlite", (int)getpid());
    snprintf(heads, sizeof heads, "/tmp/bench_search_%d.heads", (int)getpid());
    snprintf(idx, sizeof idx, "/tmp/bench_search_%d.index", (int)getpid());
    slava_feature_synth_opts so;
    slava_feature_synth_defaults(&so);
    so.n_clips[0] = clips; so.n_clips[1] = 0; so.n_clips[2] = 0;
    so.max_frames = 60;   /* 4..60 frames, 1..6 chunks: minute-long clips */
    so.max_chunks = 6;
    slava_dataset ds;
    memset(&ds, 0, sizeof ds);
    slava_store *s = NULL;
    slava_heads *h = NULL;
    slava_train_opts to;
    slava_train_opts_default(&to);
    if (slava_synth_features(ctx, &so, &ds) || slava_store_open(ctx, store, SLAVA_STORE_CREATE, &s) ||
        slava_store_put_dataset(ctx, s, &ds) || slava_heads_init(ctx, &ds, &to, &h) ||
        slava_heads_save(ctx, h, heads, NULL, NULL, &ds)) {
        fprintf(stderr, "bench_search: store: %s\n", slava_ctx_error(ctx));
        exit(1);
    }
    slava_store_close(s);
    int64_t rows = 0;
    for (int i = 0; i < ds.n; i++) rows += ds.clips[i].t_v + ds.clips[i].t_a;
    slava_dataset_free(&ds);
    slava_heads_free(h);
    slava_index_opts io;
    slava_index_opts_default(&io);
    io.store = store; io.out = idx; io.heads = heads; io.ann = 0;
    slava_index_summary sum, again;
    if (slava_index_build(ctx, &io, &sum) || slava_index_build(ctx, &io, &again)) {
        fprintf(stderr, "bench_search: index: %s\n", slava_ctx_error(ctx));
        exit(1);
    }
    char name[96];
    snprintf(name, sizeof name, "index build, %d clips (%lld frames+chunks)", clips, (long long)rows);
    row(o, name, 1, "f32", (double)sum.rows_projected / sum.seconds, "rows/s", 0, NULL);
    row(o, "index build: same, as clips", 1, "f32", clips / sum.seconds, "clips/s", 0, NULL);
    row(o, "re-index with nothing changed", 1, "f32", clips / again.seconds, "clips/s", 0, NULL);
    unlink(store); unlink(heads); unlink(idx);
    char b[300];
    snprintf(b, sizeof b, "%s-wal", store); unlink(b);
    snprintf(b, sizeof b, "%s-shm", store); unlink(b);
    slava_ctx_free(ctx);
}

int main(int argc, char **argv) {
    int64_t max_n = 1000000, min_n = 10000;
    int64_t ann_max = 1000000;
    int threads = 0, ann = 1, store_clips = 2000;
    out_t o = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) o.json = 1;
        else if (!strcmp(argv[i], "--max") && i + 1 < argc) max_n = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--min") && i + 1 < argc) min_n = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-ann")) ann = 0;
        else if (!strcmp(argv[i], "--ann-max") && i + 1 < argc) ann_max = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--ann-m") && i + 1 < argc) g_ann_m = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ann-efc") && i + 1 < argc) g_ann_efc = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--store-clips") && i + 1 < argc) store_clips = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_search [--json] [--min N] [--max N] [--threads N] [--no-ann] [--ann-max N] [--ann-m M]\n"
                            "                    [--ann-efc N] [--store-clips N]\n");
            return 2;
        }
    }
    slava_set_threads(threads);
    omp_set_num_threads(slava_get_threads());
    setvbuf(stdout, NULL, _IOLBF, 0);   /* rows appear as they are measured (long runs) */
    o.rows = cJSON_CreateArray();
    if (!o.json) bench_print_machine(stdout);
    double gf = bench_sgemm_gflops(1024, 5);
    double bw = bandwidth_gbs((size_t)1 << 30, 5);
    if (!o.json) {
        printf("same-run limits: sgemm %.1f GFLOP/s, streaming read %.1f GB/s\n\n", gf, bw);
        printf("| measurement | batch | prec | rate | share |\n|---|---|---|---|---|\n");
    }
    slava_ctx *ctx = slava_ctx_new();
    double last_ms = 0, last_share = 0;
    for (int64_t n = min_n; n <= max_n; n *= 10) {
        float *X = sv_alloc(sizeof(float) * (size_t)n * DIM);
        uint16_t *H = sv_alloc(sizeof(uint16_t) * (size_t)n * DIM);
        float *Q = sv_alloc(sizeof(float) * (ANN_QUERIES > BATCH ? ANN_QUERIES : BATCH) * DIM);
        if (!X || !H || !Q) { fprintf(stderr, "bench_search: out of memory at %lld rows\n", (long long)n); return 1; }
        unit_rows(X, n, 1);
        unit_rows(Q, ANN_QUERIES > BATCH ? ANN_QUERIES : BATCH, 2);
        sx_f32_to_f16(X, H, n * DIM);
        int64_t ids[BATCH * K];
        float sc[BATCH * K];
        double exact_ms[2] = {0, 0};
        /* limits measured again next to this size's rows: the machine is shared, its load varies */
        double bw_n = bandwidth_gbs((size_t)1 << 29, 3), gf_n = bench_sgemm_gflops(1024, 3);
        char lname[96];
        snprintf(lname, sizeof lname, "limit before the %s rows: streaming read", size_name(n));
        row(&o, lname, 1, "f32", bw_n, "GB/s", 0, NULL);
        snprintf(lname, sizeof lname, "limit before the %s rows: sgemm 1024", size_name(n));
        row(&o, lname, 1, "f32", gf_n, "GFLOP/s", 0, NULL);
        for (int f16 = 0; f16 <= 1; f16++) {
            const void *R = f16 ? (const void *)H : X;
            const char *prec = f16 ? "f16" : "f32";
            double bytes = (double)n * DIM * (f16 ? 2 : 4);
            int reps = (int)(2e9 / bytes) + 3;
            if (reps > 200) reps = 200;
            double *t = malloc(sizeof(double) * reps);
            sx_topk_rows(ctx, R, f16, n, DIM, Q, 1, K, ids, sc);   /* warm-up (page faults) */
            for (int r = 0; r < reps; r++) {
                double t0 = sv_now();
                sx_topk_rows(ctx, R, f16, n, DIM, Q + (r % BATCH) * DIM, 1, K, ids, sc);
                t[r] = sv_now() - t0;
            }
            qsort(t, reps, sizeof *t, cmp_d);
            double med = t[reps / 2], fastest = t[0];
            free(t);
            exact_ms[f16] = med * 1e3;
            char name[96];
            snprintf(name, sizeof name, "exact top-10, %s×512, one query (latency)", size_name(n));
            row(&o, name, 1, prec, med * 1e3, "ms", 0, NULL);
            snprintf(name, sizeof name, "exact top-10, %s×512, one query (bytes read)", size_name(n));
            /* the fastest pass against the best streaming read, both next to each other in time */
            row(&o, name, 1, prec, bytes / fastest / 1e9, "GB/s", bytes / fastest / 1e9 / bw_n, "memory bandwidth");
            if (n == 1000000 && !f16) { last_ms = med * 1e3; last_share = bytes / fastest / 1e9 / bw_n; }
            int breps = n >= 1000000 ? 2 : n >= 100000 ? 5 : 20;
            double best = 1e30;
            for (int r = 0; r < breps; r++) {
                double t0 = sv_now();
                sx_topk_rows(ctx, R, f16, n, DIM, Q, BATCH, K, ids, sc);
                double dt = sv_now() - t0;
                if (dt < best) best = dt;
            }
            double gflops = 2.0 * BATCH * n * DIM / best / 1e9;
            snprintf(name, sizeof name, "exact top-10, %s×512, 64-query batch", size_name(n));
            row(&o, name, BATCH, prec, BATCH / best, "queries/s", gflops / gf_n, "sgemm");
            snprintf(name, sizeof name, "exact top-10, %s×512, 64-query batch (GEMM rate)", size_name(n));
            row(&o, name, BATCH, prec, gflops, "GFLOP/s", gflops / gf_n, "sgemm");
        }
        if (ann && n <= ann_max) bench_ann(&o, ctx, X, H, Q, n, "random", exact_ms);
        if (ann && n == 100000) {
            /* clustered rows (closer to real embeddings): 1,000 centres, cosine ≈ 0.7 to the centre */
            clustered_rows(X, n, 1000, 3, 0);
            clustered_rows(Q, ANN_QUERIES, 1000, 3, 1);
            sx_f32_to_f16(X, H, n * DIM);
            bench_ann(&o, ctx, X, H, Q, n, "clustered", exact_ms);
        }
        sv_free(X);
        sv_free(H);
        sv_free(Q);
    }
    slava_ctx_free(ctx);
    if (store_clips > 0) bench_build(&o, store_clips);
    if (o.json) {
        cJSON *root = cJSON_CreateObject();
        char cpu[256];
        bench_cpu_model(cpu, sizeof cpu);
        cJSON_AddStringToObject(root, "bench", "search");
        cJSON_AddStringToObject(root, "machine", cpu);
        cJSON_AddNumberToObject(root, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
        cJSON_AddNumberToObject(root, "threads", slava_get_threads());
        cJSON_AddStringToObject(root, "blas_kernel", slava_blas_kernel());
        const char *ct = getenv("OPENBLAS_CORETYPE");
        if (ct) cJSON_AddStringToObject(root, "openblas_coretype", ct);
        cJSON *lim = cJSON_AddObjectToObject(root, "limits");
        cJSON_AddNumberToObject(lim, "sgemm_gflops", gf);
        cJSON_AddNumberToObject(lim, "memory_bandwidth_gbs", bw);
        cJSON_AddItemToObject(root, "rows", o.rows);
        cJSON_AddNumberToObject(root, "exact_1m_f32_one_query_ms", last_ms);
        cJSON_AddNumberToObject(root, "exact_1m_f32_one_query_bandwidth_share", last_share);
        char *s = cJSON_Print(root);
        puts(s);
        free(s);
        cJSON_Delete(root);
        return 0;
    }
    cJSON_Delete(o.rows);
    if (max_n >= 1000000) printf("\nsearch: exact 1M×512 f32 one query %.1f ms = %.0f %% of memory bandwidth\n", last_ms, 100 * last_share);
    else printf("\nsearch: exact 1M×512 f32 one query not measured (--max %lld)\n", (long long)max_n);
    return 0;
}
