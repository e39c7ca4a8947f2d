/*
 * test_mpi_train.c — training under mpirun (issue 14) on a synthetic feature store (160 train,
 * 40 val, 40 test clips): `mpirun -n 3 slava experiment` prints the Table II of one process, the
 * same text apart from the run time in its header line (and the CSV byte for byte).
 * Skipped (exit 77) when slava was built without MPI.
 */
#include "mpi_testutil.h"
#include "cli_testutil.h"

int main(void) {
    mpi_require("mpi_train");
    char mpi[512], cmd[8192];
    slava_ctx *ctx = slava_ctx_new();
    char store[600];
    snprintf(store, sizeof store, "%s", tmp_path("mpi_train.sqlite"));
    CHECK_OK(ctx, make_store(ctx, store, 7, 48));

    /* distributed experiment: 7 recipes x 2 seeds over 3 ranks */
    const char *exp = SLAVA_BIN " experiment --store '%s' --recipes all --seeds 0,1 --epochs 3 --threads 1 --quiet %s";
    char one[8192], three[8192];
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
    (void)cmd;
    slava_ctx_free(ctx);
    return test_done("mpi_train");
}
