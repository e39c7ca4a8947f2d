/*
 * mpi_testutil.h — running `slava` under mpirun from a test: the launcher found at build time
 * (SLAVA_MPIEXEC, empty when slava was built without MPI: the test then reports itself skipped,
 * exit status 77), with what containers need: --oversubscribe (more ranks than cores),
 * --allow-run-as-root when the test runs as root, shared-memory transport only
 * (--mca btl self,vader) without the single-copy mechanism that needs ptrace rights, and its
 * plugins kept loaded to the end and ASan unwinding fully, so that the leak report can tell Open
 * MPI's start-up allocations (tests/lsan.supp) from slava's.
 */
#ifndef SLAVA_MPI_TESTUTIL_H
#define SLAVA_MPI_TESTUTIL_H

#include "test.h"

/* Skip the whole test (exit 77) when slava was built without MPI. */
static inline void mpi_require(const char *name) {
    if (!SLAVA_MPIEXEC[0]) {
        printf("%s: skipped: slava was built without MPI (install libopenmpi-dev openmpi-bin and rebuild)\n", name);
        exit(77);
    }
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
    /* keep Open MPI's plugins loaded to the end, so that LeakSanitizer can name their start-up
     * allocations (tests/lsan.supp) instead of "<unknown module>" */
    setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);

    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
}

/* "mpirun <flags> -n N" into buf. Under ASan (ASAN_OPTIONS set, as make test-asan does) the ranks
 * unwind fully (Open MPI has no frame pointers): only then do its allocations name their library. */
static inline const char *mpirun(char *buf, size_t cap, int n) {
    const char *asan = getenv("ASAN_OPTIONS");
    char x[700] = "";
    if (asan && *asan && strlen(asan) < 600) snprintf(x, sizeof x, "-x ASAN_OPTIONS=%s:fast_unwind_on_malloc=0 ", asan);
    snprintf(buf, cap, "%s %s%s--oversubscribe --mca btl self,vader -n %d", SLAVA_MPIEXEC,
             getuid() == 0 ? "--allow-run-as-root " : "", x, n);
    return buf;
}

/* stdout of cmd (which must succeed) with the Table II header's trailing run time (", N.N s"
 * after "threads") cut: the only timing in the text. malloc'd. */
static inline char *table_text(const char *cmd) {
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    CHECKF(rc <= 1 && out, "%s: exit %d: %s", cmd, rc, err ? err : "");
    free(err);
    char *nl = out ? strchr(out, '\n') : NULL, *cut = NULL;
    for (char *p = out; p && nl && p < nl; p++)
        if (!strncmp(p, " threads, ", 10)) cut = p + 10;
    if (cut) memmove(cut, nl, strlen(nl) + 1);
    return out;
}

#endif
