/*
 * test_mpi_train.c — training under mpirun (issue 14) on a synthetic feature store (160 train,
 * 40 val, 40 test clips): `mpirun -n 3 slava experiment` prints the Table II of one process, the
 * same text apart from the run time in its header line (and the CSV byte for byte); and
 * data-parallel `mpirun -n N slava train` for N = 1, 2, 3 gives the heads of one process within
 * 1e-5 (bit for bit with one rank), for a one-stage recipe with CLAP's MLP audio head, a
 * two-stage recipe and a linear audio head; a rank's share of the train clips is loaded alone,
 * its frames averaged as training would.
 * Skipped (exit 77) when slava was built without MPI.
 */
#include "mpi_testutil.h"
#include "cli_testutil.h"
#include "align/heads.h"

/* Largest |a - b| over the two heads files' parameters (-1 when they differ in shape). */
static double heads_diff(slava_ctx *ctx, const char *a, const char *b) {
    slava_heads *x = NULL, *y = NULL;
    double d = -1;
    if (!slava_heads_load(ctx, a, &x) && !slava_heads_load(ctx, b, &y) && x->n == y->n)
        d = max_abs_diff(x->mem, y->mem, x->n);
    slava_heads_free(x);
    slava_heads_free(y);
    return d;
}

int main(void) {
    mpi_require("mpi_train");
    char mpi[1024], cmd[4096];
    slava_ctx *ctx = slava_ctx_new();
    char store[600];
    snprintf(store, sizeof store, "%s", tmp_path("mpi_train.sqlite"));
    CHECK_OK(ctx, make_store(ctx, store, 7, 48));

    /* distributed experiment: 7 recipes x 2 seeds over 3 ranks */
    const char *exp = SLAVA_BIN " experiment --store '%s' --recipes all --seeds 0,1 --epochs 3 --threads 1 --quiet %s";
    char one[4096], three[4096];
    snprintf(one, sizeof one, exp, store, "");
    snprintf(three, sizeof three, "%s ", mpirun(mpi, sizeof mpi, 3));
    snprintf(three + strlen(three), sizeof three - strlen(three), exp, store, "");
    char *t1 = table_text(one), *t3 = table_text(three);
    CHECKF(t1 && t3 && !strcmp(t1, t3), "Table II differs:\n%s\n---\n%s", t1 ? t1 : "", t3 ? t3 : "");
    CHECK(t1 && strstr(t1, "| slava-av3 |") && strstr(t1, "| wav2clip-frozen |"));
    free(t1);
    free(t3);
    snprintf(one, sizeof one, exp, store, "--format csv");
    snprintf(three, sizeof three, "%s ", mpirun(mpi, sizeof mpi, 2));
    snprintf(three + strlen(three), sizeof three - strlen(three), exp, store, "--format csv");
    t1 = table_text(one);
    t3 = table_text(three);
    CHECKF(t1 && t3 && !strcmp(t1, t3), "CSV differs:\n%s\n---\n%s", t1 ? t1 : "", t3 ? t3 : "");
    free(t1);
    free(t3);

    /* a rank's part: every N-th train clip, val whole */
    slava_store *s = NULL;
    slava_dataset all, part;
    memset(&all, 0, sizeof all);
    memset(&part, 0, sizeof part);
    CHECK_OK(ctx, slava_store_open(ctx, store, SLAVA_STORE_READ, &s));
    CHECK_OK(ctx, slava_store_load(ctx, s, 3, NULL, &all));
    CHECK_OK(ctx, slava_store_load_part(ctx, s, 3, 1u << SLAVA_SPLIT_TRAIN, 1, 3, NULL, SLAVA_LOAD_VISUAL_MEAN, &part));
    int ntrain = 0, pv = 0, ok = 1;
    for (int i = 0; i < all.n; i++) ntrain += all.clips[i].split == SLAVA_SPLIT_TRAIN;
    for (int i = 0, k = 0, j = 0; i < all.n; i++) {
        if (all.clips[i].split != SLAVA_SPLIT_TRAIN) continue;
        if (k++ % 3 != 1) continue;
        while (j < part.n && part.clips[j].split != SLAVA_SPLIT_TRAIN) j++;
        /* frames averaged at load: one row, the mean training would compute */
        float mean[512] = {0};
        const slava_clip *a = &all.clips[i];
        for (int t = 0; t < a->t_v; t++)
            for (int k = 0; k < all.d_v && k < 512; k++) mean[k] += a->visual[(size_t)t * all.d_v + k];
        for (int k = 0; k < all.d_v && k < 512; k++) mean[k] *= 1.0f / (float)a->t_v;
        ok &= j < part.n && !strcmp(part.clips[j].id, a->id) && part.clips[j].t_v == 1 && all.d_v <= 512 &&
              !memcmp(part.clips[j].visual, mean, sizeof(float) * all.d_v) && part.clips[j].t_a == a->t_a &&
              (!a->t_a || !memcmp(part.clips[j].audio, a->audio, sizeof(float) * all.d_a * a->t_a));
        j++;
    }
    for (int j = 0; j < part.n; j++) pv += part.clips[j].split == SLAVA_SPLIT_VAL;
    CHECKF(ok && part.n == (ntrain + 1) / 3 + pv && pv == 40, "load_part: %d clips, %d val", part.n, pv);
    slava_dataset_free(&all);
    slava_dataset_free(&part);
    slava_store_close(s);

    /* data-parallel training equals one process */
    static const char *const cases[][2] = {{"slava-av3", ""}, {"wav2clip-trainable", ""}, {"audioclip", "--audio-head linear"}};
    for (size_t c = 0; c < SV_ARRAY_LEN(cases); c++) {
        char ref[600], got[600];
        snprintf(ref, sizeof ref, "%s", tmp_path("mpi_dp_one.safetensors"));
        snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --recipe %s %s --epochs 3 --batch 48 --threads 1 --quiet"
                 " --out '%s'", store, cases[c][0], cases[c][1], ref);
        int rc = run_cmd(cmd, NULL, NULL);
        CHECKF(rc == 0, "train %s: %d", cases[c][0], rc);
        for (int n = 1; n <= 3; n++) {
            snprintf(got, sizeof got, "%s", tmp_path("mpi_dp_n.safetensors"));
            unlink(got);
            char *out = NULL, *err = NULL;
            char logf[600] = "", logopt[700] = "";
            if (c == 0 && n == 2) {   /* --log: rank 0 writes it, every rank keeps step */
                snprintf(logf, sizeof logf, "%s", tmp_path("mpi_dp_log.jsonl"));
                unlink(logf);
                snprintf(logopt, sizeof logopt, "--log '%s'", logf);
            }
            snprintf(cmd, sizeof cmd, "%s " SLAVA_BIN " train --store '%s' --recipe %s %s --epochs 3 --batch 48 --threads 1"
                     " --quiet --out '%s' %s", mpirun(mpi, sizeof mpi, n), store, cases[c][0], cases[c][1], got, logopt);
            rc = run_cmd(cmd, &out, &err);
            CHECKF(rc == 0, "mpirun -n %d train %s: %d %s", n, cases[c][0], rc, err ? err : "");
            CHECKF(n == 1 || (out && strstr(out, "data-parallel over")), "mpirun -n %d: %s", n, out ? out : "");
            double d = heads_diff(ctx, ref, got);
            printf("mpi_train: %s %s, %d rank%s: max |heads - one process| = %.3g\n", cases[c][0], cases[c][1], n,
                   n > 1 ? "s" : "", d);
            CHECKF(d >= 0 && d <= 1e-5, "%s with %d ranks: heads differ by %g", cases[c][0], n, d);
            if (n == 1) CHECKF(d == 0, "%s with 1 rank: not bit-identical (%g)", cases[c][0], d);
            if (logf[0]) {
                char *log = slurp_file(logf, NULL);
                /* 3 epochs of 4 steps (160 clips, batch 48) + 4 epoch records */
                CHECKF(log && count_lines(log) == 16 && strstr(log, "\"type\":\"step\""), "data-parallel --log: %s",
                       log ? log : "(none)");
                free(log);
            }
            free(out);
            free(err);
        }
    }
    slava_ctx_free(ctx);
    return test_done("mpi_train");
}
