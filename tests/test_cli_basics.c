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
