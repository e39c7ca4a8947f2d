/*
 * shard.h — the pieces of a sharded encode (shard.c): which groups of the collection a shard
 * encodes, and the record (collection digest, options) that ties a shard store to its encode.
 */
#ifndef SLAVA_PIPELINE_SHARD_H
#define SLAVA_PIPELINE_SHARD_H

#include "slava.h"

/* Does the run o encode group g (0-based, group_clips clips each)? Every group without shards. */
int sv_shard_owns_group(const slava_encode_opts *o, int g);
/* The shard record of this run: index / count / group size / threads from o, the collection's
 * digest, the options that change stored bytes, and the encoder identities ids. */
slava_status sv_shard_describe(slava_ctx *ctx, const slava_collection *c, const slava_encode_opts *o,
                               char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN], slava_shard_info *out);

#endif
