/*
 * cli_train.h — option handling shared by `slava train`, `eval`, `experiment` and `demo`:
 * the training hyper-parameter options, split / format names, loading a feature store, and the
 * one Table II printer.
 */
#ifndef SLAVA_CLI_TRAIN_H
#define SLAVA_CLI_TRAIN_H

#include "cli/cli.h"
#include <getopt.h>

/* getopt_long codes of the shared training options (>= 256 so they never clash with letters). */
enum {
    OPT_CLIP = 256, OPT_CLAP, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_WD, OPT_SEED, OPT_TEMPERATURE,
    OPT_AUDIO_HEAD, OPT_THREADS, OPT_QUIET, OPT_KEEP, OPT_LOG, OPT_ENCODER,
    OPT_RECIPES = 384, OPT_SEEDS, OPT_SPLIT, OPT_FORMAT, OPT_PLOT   /* the Table II options below */
};

#define CLI_TRAIN_LONGOPTS                                                                        \
    {"clip", required_argument, 0, OPT_CLIP}, {"clap", required_argument, 0, OPT_CLAP},           \
    {"epochs", required_argument, 0, OPT_EPOCHS}, {"batch", required_argument, 0, OPT_BATCH},     \
    {"lr", required_argument, 0, OPT_LR}, {"wd", required_argument, 0, OPT_WD},                   \
    {"seed", required_argument, 0, OPT_SEED}, {"temperature", required_argument, 0, OPT_TEMPERATURE}, \
    {"audio-head", required_argument, 0, OPT_AUDIO_HEAD}, {"threads", required_argument, 0, OPT_THREADS}, \
    {"quiet", no_argument, 0, OPT_QUIET}, {"keep", required_argument, 0, OPT_KEEP},                \
    {"log", required_argument, 0, OPT_LOG}, {"encoder", required_argument, 0, OPT_ENCODER}

/* The help text of those options. */
#define CLI_TRAIN_HELP                                                                            \
    "  --clip DIR          CLIP folder: visual / text heads start from its projections\n"          \
    "  --clap DIR          CLAP folder: the audio head starts from its projection\n"               \
    "                      (without them the heads start from --seed, like torch.nn.Linear)\n"    \
    "  --epochs N          epochs per stage (default 30)\n"                                       \
    "  --batch N|all       clips per batch (default 64); all: one batch of every train clip\n"    \
    "                      per step (full-batch training)\n"                                      \
    "  --lr X              AdamW learning rate (default 1e-4)\n"                                  \
    "  --wd X              AdamW decoupled weight decay on every head parameter (default 0.01)\n" \
    "  --seed N            seed of init, batch order and caption draws (default 0)\n"              \
    "  --temperature T     fixed softmax temperature (logit scale 1/T) instead of learnable\n"    \
    "                      logit scales (init ln 100, clamped to <= ln 100)\n"                    \
    "  --audio-head KIND   mlp (CLAP's linear1 -> ReLU -> linear2, default) or linear\n"          \
    "  --keep best|last    keep the epoch with the best validation score, the starting heads\n"   \
    "                      (epoch 0) included (default), or the last step's heads (no val split\n" \
    "                      needed)\n"                                                             \
    "  --log FILE.jsonl    one JSON line per step and per epoch (docs/spine.md lists the fields)\n" \
    "  --encoder M=ID      features of encoder ID for modality M (visual, audio or text) when the\n" \
    "                      store holds several (slava store info lists them)\n"                  \
    "  --threads N         threads (default: the cores available)\n"                              \
    "  --quiet             no progress on stderr\n"

typedef struct {
    slava_train_opts train;
    int threads, quiet;
    unsigned given;          /* bit (code - OPT_CLIP) for each shared option given */
    const char *log_path;    /* --log */
    const char *enc[SLAVA_MODS]; /* --encoder M=ID (NULL: the only one stored) */
    FILE *log_file;          /* open while training (cli_train_log_open) */
} cli_train_args;

/* Bit of a shared option in cli_train_args.given. */
#define CLI_GIVEN(code) (1u << ((code) - OPT_CLIP))
/* Refuse the shared options in `mask` that were given (the command ignores them): prints
 * "<cmd>: --x <why>" and returns -1; 0 when none was given. */
int cli_train_refuse(const char *cmd, const cli_train_args *a, unsigned mask, const char *why);
/* Open --log (when given) and route slava_train's records into it as JSON Lines (in an MPI job,
 * rank R > 0 writes FILE.rank-R: experiment spreads its runs over the ranks). 0, or -1
 * (printed). cli_train_log_close flushes and closes it (-1 when writing failed, printed). */
int cli_train_log_open(cli_train_args *a);
/* Before any work: the heads file `out` (may be NULL) and --log must not be any of the n inputs
 * (nor each other) and may only replace files of their own kind (slava_output_check). CLI_OK or
 * CLI_FAIL (printed). */
int cli_train_check_outputs(slava_ctx *ctx, const cli_train_args *a, const char *out, const char *const *inputs, int n);
/* The same for a --plot FILE.svg (NULL: nothing to check); it may not be --log either. */
int cli_check_svg(slava_ctx *ctx, const char *svg, const cli_train_args *a, const char *const *inputs, int n);
int cli_train_log_close(cli_train_args *a);

/* The options `experiment` and `run` share to choose the Table II runs and their output. */
#define CLI_TABLE2_LONGOPTS                                                                       \
    {"recipes", required_argument, 0, OPT_RECIPES}, {"seeds", required_argument, 0, OPT_SEEDS},   \
    {"split", required_argument, 0, OPT_SPLIT}, {"format", required_argument, 0, OPT_FORMAT},      \
    {"plot", required_argument, 0, OPT_PLOT}

#define CLI_TABLE2_HELP                                                                           \
    "  --recipes LIST      comma-separated recipes, or all (default all)\n"                       \
    "  --seeds LIST        comma-separated seeds (default 0,1,2)\n"                               \
    "  --split S           split to evaluate (default test)\n"                                   \
    "  --plot FILE.svg     also draw Table II as grouped bars (± spread over seeds as error bars)\n"

typedef struct {
    char recipe_list[1024];      /* --recipes as given (default "all") */
    const char *recipes[32];     /* after cli_table2_args_finish: names, pointing into recipe_list */
    int n_recipes;
    uint64_t seeds[64];
    int n_seeds, split, fmt;
    const char *plot;            /* --plot FILE.svg or NULL */
} cli_table2_args;

void cli_table2_args_default(cli_table2_args *t);
/* Handle one Table II option: 1 handled, 0 not one of them, -1 bad value (message printed). */
int cli_table2_option(int c, const char *arg, cli_table2_args *t);
/* After parsing: resolve the recipe list. 0, or -1 after printing "<cmd>: unknown recipe ...". */
int cli_table2_args_finish(const char *cmd, cli_table2_args *t);

/* getopt_long over argv ("+:h", opterr and optind set by the caller) that handles the shared
 * training options into a and, when t is given, the Table II options into t: returns the next
 * option of the command's own (as getopt_long does; -1 at the end), or CLI_OPT_BAD after a bad
 * value of a shared option was printed. */
#define CLI_OPT_BAD (-2)
int cli_train_getopt(int argc, char **argv, const struct option *longopts, cli_train_args *a, cli_table2_args *t);

void cli_train_args_default(cli_train_args *a);
/* Handle one shared option: 1 handled, 0 not a shared option, -1 bad value (message printed). */
int cli_train_option(int c, const char *arg, cli_train_args *a);
/* "train" | "val" | "test" → split, else -1 (message printed). */
int cli_parse_split(const char *s);
/* "md" | "csv" | "json" → format, else -1 (message printed). */
int cli_parse_format(const char *s);
/* Open the store read-only and load the splits in mask (1 << split) and those of `optional` that
 * hold clips, with the features of encoders enc[slava_modality] (NULL entries / enc NULL: the
 * only one stored; several → the error names them and --encoder). CLI_OK or CLI_FAIL (printed). */
int cli_load_store(slava_ctx *ctx, const char *path, unsigned mask, unsigned optional, const char *const *enc,
                   slava_dataset *ds);
/* The same for a rank of an MPI job: of the splits in part_mask only its part, frames averaged
 * (slava_store_load_part, SLAVA_LOAD_VISUAL_MEAN); every rank gets the same result (failures
 * agreed). */
int cli_load_store_part(slava_ctx *ctx, const char *path, unsigned mask, unsigned optional, const char *const *enc,
                        unsigned part_mask, slava_dataset *ds);
/* Parse "a,b,c" of unsigned integers (at most cap). Returns the count, -1 on error (printed). */
/* "all" or "a,b,c" → recipe names (pointers into `buf`, which is modified). Returns the count, or
 * -1 after printing "<cmd>: unknown recipe ..." for a bad list. */
int cli_parse_recipes(const char *cmd, char *buf, const char **out, int cap);
/* The recipes' names, each after a space, for --help texts. */
void cli_print_recipes(FILE *f);
int cli_parse_seed_list(const char *opt, const char *s, uint64_t *out, int cap);
/* Every recipe × seed on ds (slava_experiment: trained on train, epoch chosen on val, evaluated
 * on `split`), Table II printed in fmt on stdout; in Markdown, `preface` (may be NULL) and one
 * line with the split's clips and the settings come first. The one Table II printer of
 * experiment, run and both demos. CLI_OK or CLI_FAIL (printed); when a signal stops it, the
 * "interrupted" line ends with on_stop (what is kept, how to resume) and the result is
 * 128 + signal. */
int cli_table2_print(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, const char *const *recipes,
                     int n_recipes, const uint64_t *seeds, int n_seeds, int split, int fmt, const char *preface,
                     const char *on_stop, const char *plot);

#endif
