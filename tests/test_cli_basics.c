/* test_cli_basics.c — the CLI's top level: --help, --version report, unknown commands. */
#include "test.h"

int main(void) {
    char *out = NULL, *err = NULL;
    int rc = run_cmd(SLAVA_BIN " --version", &out, &err);
    CHECK(rc == 0);
    CHECK(out && strstr(out, "BLAS: OpenBLAS"));
    CHECK(out && strstr(out, "kernel"));
    CHECK(out && strstr(out, "FFmpeg"));
    CHECK(out && strstr(out, "SQLite"));
    CHECK(out && strstr(out, "FFTW"));
    CHECK(out && strstr(out, "threads"));
    free(out); free(err);

    /* SLAVA_GEMM as --version reports it: the default, a pinned backend, and a value it does not
     * understand (which gets the reproducible default, not the timed per-shape choice). */
    rc = run_cmd("env -u SLAVA_GEMM " SLAVA_BIN " --version", &out, &err);
    CHECK(rc == 0 && out && strstr(out, "GEMM: fp32 oneDNN (default)") && !strstr(out, "not understood"));
    free(out); free(err);
    rc = run_cmd("SLAVA_GEMM=openblas " SLAVA_BIN " --version", &out, &err);
    CHECK(rc == 0 && out && strstr(out, "GEMM: fp32 OpenBLAS (SLAVA_GEMM=openblas)"));
    free(out); free(err);
    rc = run_cmd("SLAVA_GEMM=onednnx " SLAVA_BIN " --version", &out, &err);
    CHECK(rc == 0 && out && strstr(out, "GEMM: fp32 oneDNN (default)") &&
          strstr(out, "SLAVA_GEMM=onednnx not understood, the default used"));
    free(out); free(err);

    rc = run_cmd(SLAVA_BIN " --help", &out, &err);
    CHECK(rc == 0 && out && strstr(out, "commands:"));
    free(out); free(err);

    rc = run_cmd(SLAVA_BIN " frobnicate", &out, &err);
    CHECK(rc == 2);
    CHECK(err && strstr(err, "unknown command 'frobnicate'") && count_lines(err) == 1);
    free(out); free(err);

    rc = run_cmd(SLAVA_BIN, &out, &err);
    CHECK(rc == 2);
    free(out); free(err);

    rc = run_cmd(SLAVA_BIN " embed --text", &out, &err);
    CHECK(rc == 2 && err && strstr(err, "slava: "));
    free(out); free(err);

    rc = run_cmd(SLAVA_BIN " init-random --like foo --config x --out y", &out, &err);
    CHECK(rc == 2 && err && strstr(err, "clip or clap"));
    free(out); free(err);
    return test_done("cli_basics");
}
