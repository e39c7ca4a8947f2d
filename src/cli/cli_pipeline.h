/*
 * cli_pipeline.h — pieces shared by `slava encode`, `slava run` and the media demo: opening the
 * collection and the store, running the encode pipeline with progress, and printing its summary.
 */
#ifndef SLAVA_CLI_PIPELINE_H
#define SLAVA_CLI_PIPELINE_H

#include "cli/cli.h"

/* What to encode and where (the options of `slava encode`). */
typedef struct {
    const char *data_dir;        /* --data DIR */
    const char *captions;        /* --captions FILE (with split) or NULL */
    int split;                   /* --split, for --captions */
    const char *store;           /* --store FILE */
    slava_encode_opts enc;       /* clip_dir, clap_dir, fps, batches */
    int quiet;
    int shard_index, shard_count;/* --shard I/N (0/0: the whole collection into --store) */
    const char *shard_dir;       /* --shard-dir DIR: where shard stores go (default: beside --store) */
    int send_shards;             /* --send-shards: under mpirun, send every shard to rank 0 over MPI */
} cli_encode_args;

/* Open the collection and the store (created when missing), encode, print the summary (stderr;
 * failures are always printed, the rest unless quiet). With a shard (shard_count > 0) the store
 * written is that shard's (cli_shard_path), and clips complete in --store (when it exists) count
 * as done. ids (may be NULL) receives the encoder
 * identities. Returns 0 when every clip is stored, 1 when the run finished but some clips failed,
 * -1 when the run stopped (message printed: the error, or the "interrupted" line saying what the
 * store keeps; cli_stopped_status() gives the exit status). */
int cli_encode_run(slava_ctx *ctx, const cli_encode_args *a, char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]);

/* Load the train, val and `split` clips of the store with the features of encoders ids, run every
 * recipe × seed (slava_experiment) and print Table II in fmt on stdout; in Markdown, `preface`
 * (may be NULL) and a line with the settings come first. CLI_OK or CLI_FAIL (printed); when a
 * signal stops the experiment, the "interrupted" line ends with on_stop (what is kept, how to
 * resume) and the result is 128 + signal. */
int cli_train_table2(slava_ctx *ctx, const char *store, char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN],
                     const slava_train_opts *o, const char *const *recipes, int n_recipes,
                     const uint64_t *seeds, int n_seeds, int split, int fmt, const char *preface,
                     const char *on_stop, const char *plot);


/* `slava demo` without --features: the media pipeline on synthetic clips. */
int cmd_demo_media(int argc, char **argv);

#endif
