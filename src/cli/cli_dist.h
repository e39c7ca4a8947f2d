/*
 * cli_dist.h — command-line pieces of sharded and distributed runs: parsing `--shard I/N`, the
 * file name of a shard store, and (cli_dist.c) what `mpirun -n N slava ...` does differently
 * from one process.
 */
#ifndef SLAVA_CLI_DIST_H
#define SLAVA_CLI_DIST_H

#include "cli/cli.h"

/* "I/N" with 1 <= I <= N <= 100000 → *index, *count; -1 (message printed) when malformed. */
int cli_parse_shard(const char *opt, const char *val, int *index, int *count);
/* The shard store of shard I of N of target store `store`: STORE.shard-I-of-N, placed in `dir`
 * (file name only) when dir is not NULL. */
void cli_shard_path(char *buf, size_t cap, const char *store, const char *dir, int index, int count);

/* `slava store merge OUT SHARD...` (cmd_store_merge.c). */
int cmd_store_merge(int argc, char **argv);

#endif
