/*
 * cli.h — shared pieces of the `slava` command line: the subcommand table, option helpers and
 * the one way errors reach the user ("slava: <file>: <problem>" on stderr).
 * Exit codes: 0 success, 1 bad input / failure, 2 usage error.
 */
#ifndef SLAVA_CLI_H
#define SLAVA_CLI_H

#include "slava.h"
#include <stdio.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Print "slava: <msg>" to stderr (one line). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the ctx error as one line; returns CLI_FAIL. */
int cli_fail(slava_ctx *ctx);
/* Parse a positive integer option value; on error prints and returns -1. */
long cli_parse_long(const char *opt, const char *val, long lo, long hi);
double cli_parse_double(const char *opt, const char *val);
/* --fps F: a number in (0, 1000]; on error prints and returns -1, else stores it and returns 0. */
int cli_parse_fps(const char *val, double *fps);
/* --precision fp32|bf16; on error prints and returns -1, else stores it and returns 0. */
int cli_parse_precision(const char *val, slava_precision *p);
/* The help line of --precision (commands that run the encoders). */
#define CLI_PRECISION_HELP \
    "  --precision P       fp32 (default) or bf16: the encoders' matrix products in bf16 (weights\n" \
    "                      converted once at load, inputs rounded; accumulation, LayerNorm, softmax\n" \
    "                      and residuals fp32), about twice as fast where the CPU has AVX512-BF16;\n" \
    "                      bf16 features are stored under their own encoder identity (\"+bf16\")\n"
/* Install a stderr progress reporter on ctx: a bar on a terminal, periodic lines otherwise.
 * Also makes SIGINT / SIGTERM stop the work cleanly: the handler only records the signal, the
 * library sees it through ctx's cancel callback and returns SLAVA_E_INTERRUPTED (a second
 * signal stops the process at once). */
void cli_progress_install(slava_ctx *ctx, int quiet);
/* "MODALITY=ID" (visual, audio or text) → enc[modality] = ID (pointing into arg). 0, or -1
 * after printing "<opt>: ...". */
int cli_parse_encoder(const char *opt, const char *arg, const char **enc);
/* The signal that asked to stop (0: none). A command whose library call returned
 * SLAVA_E_INTERRUPTED because of it prints cli_interrupted() instead of the error. */
int cli_stop_signal(void);
/* Print "slava: interrupted: <msg>" (one line: what was kept, how to resume); returns the exit
 * status 128 + signal (130 for SIGINT, 143 for SIGTERM). */
int cli_interrupted(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A failed library call with status st: when it was interrupted by a signal, print
 * "slava: interrupted: <ctx message>; <fmt...>" (fmt says what was kept and how to resume) and
 * return 128 + signal; otherwise print the error like cli_fail and return CLI_FAIL. */
int cli_fail_or_stop(slava_ctx *ctx, slava_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Exit status of a command that stopped: 128 + signal when a signal stopped it, else CLI_FAIL. */
int cli_stopped_status(void);
/* How to run this slava again from the current directory, for commands printed to the user:
 * "slava" when that is the one on PATH, else "./path" under the current directory, else the
 * absolute path (from /proc/self/exe). Returns buf. */
const char *cli_program_path(char *buf, size_t cap);
/* Log callback printing "slava: warning: ..." to stderr. */
void cli_log_install(slava_ctx *ctx, int quiet);

/* The environment of every slava process (environment.c sets it before anything runs, by executing
 * the program once more; a user's own settings are kept):
 *   OMP_WAIT_POLICY=passive: libgomp spins at every barrier by default and reads its settings
 *     only at start-up. When the cores are shared (encode's decode thread, other processes,
 *     ctest -j) spinning teams lose most of the time (the demo's encode: 54 s -> 15 s passive;
 *     image tower batch 1 under load: 0.9 -> 7.5 images/s).
 *   OPENBLAS_NUM_THREADS=1: slava calls OpenBLAS single-threaded from its own OpenMP team
 *     (nn/gemm.c); otherwise OpenBLAS starts idle worker threads when it is loaded, each taking a
 *     128 MiB buffer — under a memory limit that allocation retries forever (OpenBLAS 0.3.21,
 *     issue #5289), and a failed thread start kills the process before main(). */

/* JSON helpers for JSON Lines output. */
void cli_json_string(FILE *f, const char *s);
void cli_json_floats(FILE *f, const float *x, int n);                 /* [a,b,...] */
void cli_json_matrix(FILE *f, const float *x, int rows, int cols);    /* [[...],[...]] */
/* One `slava embed` output line:
 * {"input":..., "pooled": [D] or [[D]...T] (pooled_rows), "projected":[P], "embedding":[P]} */
void cli_embed_line(FILE *f, const char *input, const slava_embedding *r, int pooled_rows);

/* Subcommands: each takes argc/argv starting at the subcommand name. */
int cmd_tokenize(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_init_random(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_experiment(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);

#endif
