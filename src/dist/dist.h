/*
 * dist.h — the one wrapper around MPI (dist.c; the only file that includes mpi.h). Library code
 * that runs distributed (encode_dist.c, experiment.c, train_dp.c) talks to the other ranks only
 * through these calls. In a world of one (no launcher, or built without MPI) every call is a
 * local no-op or copy, so the same code runs in one process.
 *
 * Every call is collective unless said otherwise: all ranks make the same calls in the same
 * order. Errors (an MPI call failing) return SLAVA_E_INTERNAL with a message naming the call.
 */
#ifndef SLAVA_DIST_H
#define SLAVA_DIST_H

#include "base/base.h"

int sv_dist_rank(void);   /* this process's rank, 0 without a job (not collective) */
int sv_dist_size(void);   /* ranks in the job, 1 without one (not collective) */

slava_status sv_dist_barrier(slava_ctx *ctx);
/* In-place sums over the ranks (every rank gets the result). The float sum is reduced on rank 0
 * and broadcast, so every rank holds the same bits (data-parallel training steps every rank's
 * heads with it). */
slava_status sv_dist_allreduce_sum_f32(slava_ctx *ctx, float *x, size_t n);
slava_status sv_dist_allreduce_sum_f64(slava_ctx *ctx, double *x, size_t n);
slava_status sv_dist_allreduce_sum_i64(slava_ctx *ctx, int64_t *x, size_t n);
/* In-place maximum of n ints. */
slava_status sv_dist_allreduce_max_int(slava_ctx *ctx, int *x, size_t n);
/* Every rank contributes `bytes` bytes (any number, may differ per rank); *out receives the
 * concatenation in rank order (malloc'd, caller frees) and counts[size] (may be NULL, malloc'd)
 * each rank's byte count. */
slava_status sv_dist_allgatherv(slava_ctx *ctx, const void *data, size_t bytes, void **out, size_t **counts);
/* The same into a buffer the caller owns, when every rank knows every rank's byte count:
 * counts[size], recv holds their sum. One collective, no allocation. */
slava_status sv_dist_allgatherv_into(slava_ctx *ctx, const void *data, size_t bytes, void *recv, const size_t *counts);
/* root's `bytes` bytes to every rank. */
slava_status sv_dist_bcast(slava_ctx *ctx, void *buf, size_t bytes, int root);
/* Point to point (not collective): exactly `bytes` bytes to / from rank `peer`. */
slava_status sv_dist_send(slava_ctx *ctx, const void *buf, size_t bytes, int peer);
slava_status sv_dist_recv(slava_ctx *ctx, void *buf, size_t bytes, int peer);

/* Agree on a status: every rank passes its own; all get SLAVA_OK only when every rank had it.
 * Otherwise all get the failing status of the lowest failing rank, with that rank's message in
 * ctx ("rank R: ..." on the others). One small collective when all is well, two otherwise. */
slava_status sv_dist_agree(slava_ctx *ctx, slava_status st);

#endif
