/*
 * main.c — the `slava` command: dispatches to one small file per subcommand. Under an MPI
 * launcher (mpirun -n N slava ...) it joins the job first; only the commands marked distributed
 * run on several ranks, and only rank 0 prints (stdout of the others goes to /dev/null, and
 * cli_error / progress are rank 0's alone).
 */
#include "cli/cli.h"
#include <string.h>
#include <stdlib.h>

typedef struct { const char *name; int (*fn)(int, char **); const char *what; int dist; } command;

static const command commands[] = {
    {"tokenize",    cmd_tokenize,    "CLIP BPE token ids of captions", 0},
    {"embed",       cmd_embed,       "encoder outputs + embeddings of text, images, videos, audio", 0},
    {"init-random", cmd_init_random, "write a random-weight CLIP or CLAP checkpoint folder", 0},
    {"encode",      cmd_encode,      "encode a video collection into a feature store", 1},
    {"store",       cmd_store,       "inspect / export / import / merge feature stores", 0},
    {"train",       cmd_train,       "train projection heads with one recipe", 1},
    {"eval",        cmd_eval,        "retrieval metrics (Table II and more)", 0},
    {"experiment",  cmd_experiment,  "recipes x seeds -> Table II with mean ± std", 1},
    {"run",         cmd_run,         "encode (skipping what is stored) + experiment", 1},
    {"synth",       cmd_synth,       "write a synthetic AVCaps-format video collection", 0},
    {"index",       cmd_index,       "build / update a search index from a feature store", 0},
    {"search",      cmd_search,      "search an index by text, sound, image, video or clip", 0},
    {"plot",        cmd_plot,        "training curves from training logs (SVG)", 0},
    {"serve",       cmd_serve,       "local search page + JSON API over an index (HTTP)", 0},
    {"demo",        cmd_demo,        "the out-of-the-box demo", 0},
};

/* Join an MPI job when a launcher started us, run the command, leave the job. */
static int run_command(const command *c, int argc, char **argv) {
    slava_ctx *ctx = slava_ctx_new();
    int ok = ctx && slava_dist_init(ctx) == SLAVA_OK;
    if (!ok) {
        if (ctx) cli_fail(ctx);
        slava_ctx_free(ctx);
        return CLI_FAIL;
    }
    slava_ctx_free(ctx);
    int rc;
    if (slava_dist_size() > 1 && !c->dist) {
        /* one line from the job, not one per rank */
        if (slava_dist_rank() == 0)
            cli_error("%s does not run distributed; run it without mpirun (distributed: encode, train, experiment, run)", c->name);
        rc = CLI_USAGE;
    } else {
        if (slava_dist_rank() > 0 && !freopen("/dev/null", "w", stdout)) fclose(stdout);
        rc = c->fn(argc, argv);
    }
    fflush(NULL);
    slava_dist_finalize();
    return rc;
}

static void usage(FILE *f) {
    fprintf(f, "usage: slava <command> [options]   (slava <command> --help for each)\n\n"
               "Single-stage Language Audio Visual Alignment: CLIP + CLAP encoders in C, trainable\n"
               "projection heads, retrieval evaluation.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "\n  --version    version, BLAS kernel, threads, FFmpeg / SQLite / FFTW versions\n");
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return CLI_USAGE; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        char buf[2048];
        slava_set_threads(0);
        slava_version_report(buf, sizeof buf);
        fputs(buf, stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            return run_command(&commands[i], argc - 1, argv + 1);
        }
    cli_error("unknown command '%s' (slava --help lists them)", argv[1]);
    return CLI_USAGE;
}
