/*
 * shard.h — what the encode pipeline writes into a shard store (store_shard.c): the record of
 * which share of which encode it holds, the caption texts it computed in their first clip's
 * batch, and whether the share is complete. Reading the record and merging shards are public
 * (slava_store_get_shard, slava_store_merge in include/slava.h).
 */
#ifndef SLAVA_STORE_SHARD_H
#define SLAVA_STORE_SHARD_H

#include "slava.h"

/* Make s the shard store `want` describes (index, count, group_clips, threads, collection,
 * options, encoder; token and complete are set here): on first use the shard tables are created
 * and the record written; a store that is already a shard must be the same share of the same
 * encode (else SLAVA_E_ARG naming what differs); a store holding clips that is not a shard is
 * refused. The share is marked incomplete until sv_shard_set_complete. */
slava_status sv_shard_claim(slava_ctx *ctx, slava_store *s, const slava_shard_info *want);
/* Record that this shard computed text's feature in the batch of the text's first clip (inside
 * the caller's transaction when one is open). */
slava_status sv_shard_first_text(slava_ctx *ctx, slava_store *s, const char *text);
slava_status sv_shard_set_complete(slava_ctx *ctx, slava_store *s, int complete);

#endif
