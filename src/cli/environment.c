/*
 * environment.c — the environment every slava process runs in (cli.h): OMP_WAIT_POLICY=passive
 * and OPENBLAS_NUM_THREADS=1 unless the user set them, by executing the program again with them.
 * Linked into the `slava` executable and into every bench (CMakeLists.txt), so that a bench
 * measures what users run (bench_audio, HTSAT bf16 batch 8 at load 7: 8.1 chunks/s with libgomp's
 * default spinning wait, 23.4 passive).
 *
 * This runs from the executable's .preinit_array, before any shared library's constructor
 * (OpenBLAS starts its worker threads in its constructor), so only envp is used: the C library's
 * environment is not set up yet. A .preinit_array entry works only in an executable, which is why
 * this is not part of libslava.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void early_environment(int argc, char **argv, char **envp) {
    (void)argc;
    int n = 0, omp = 0, blas = 0;
    for (; envp && envp[n]; n++) {
        omp |= !strncmp(envp[n], "OMP_WAIT_POLICY=", 16);
        blas |= !strncmp(envp[n], "OPENBLAS_NUM_THREADS=", 21);
    }
    if (omp && blas) return;
    char **nv = malloc(sizeof *nv * ((size_t)n + 3));
    if (!nv) return;
    int k = 0;
    for (int i = 0; i < n; i++) nv[k++] = envp[i];
    if (!omp) nv[k++] = "OMP_WAIT_POLICY=passive";
    if (!blas) nv[k++] = "OPENBLAS_NUM_THREADS=1";
    nv[k] = NULL;
    execve("/proc/self/exe", argv, nv);
    free(nv);   /* exec failed: go on as we are */
}
__attribute__((section(".preinit_array"), used)) static void (*const early_environment_entry)(int, char **, char **) =
    early_environment;
