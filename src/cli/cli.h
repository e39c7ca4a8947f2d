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
/* Install a stderr progress reporter on ctx: a bar on a terminal, periodic lines otherwise. */
void cli_progress_install(slava_ctx *ctx, int quiet);
/* Log callback printing "slava: warning: ..." to stderr. */
void cli_log_install(slava_ctx *ctx, int quiet);

/* libgomp spins at every barrier by default and reads its settings only at start-up. When the
 * cores are shared (encode's decode thread, other processes, ctest -j) spinning teams lose most
 * of the time (the demo's encode: 54 s -> 15 s passive; image tower batch 1 under load: 0.9 ->
 * 7.5 images/s). So when OMP_WAIT_POLICY is not set, main() sets it to passive and re-executes
 * the command once; a user's own setting is kept. Returns only when nothing was re-executed. */
void cli_omp_passive_reexec(int argc, char **argv);

/* JSON helpers for JSON Lines output. */
void cli_json_string(FILE *f, const char *s);
void cli_json_floats(FILE *f, const float *x, int n);                 /* [a,b,...] */
void cli_json_matrix(FILE *f, const float *x, int rows, int cols);    /* [[...],[...]] */
/* One `slava embed` output line:
 * {"input":..., "pooled": [D] or [[D]...T], "projected":[P], "embedding":[P]} */
void cli_embed_line(FILE *f, const char *input, const float *pooled, int T, int D, int pooled_rows,
                    const float *projected, int P);

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
int cmd_serve(int argc, char **argv);

/* `slava embed` back ends, one per input kind (cmd_embed.c parses the shared options). */
typedef struct {
    const char *clip_dir;    /* --clip */
    const char *clap_dir;    /* --clap */
    const char *heads;       /* --heads FILE or NULL */
    double fps;              /* --fps (video) */
    int threads;
    int ninputs;
    char **inputs;           /* positional arguments */
} cli_embed_opts;
int embed_text_run(const cli_embed_opts *o);
int embed_image_run(const cli_embed_opts *o, int is_video);
int embed_audio_run(const cli_embed_opts *o);

#endif
