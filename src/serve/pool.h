/*
 * pool.h — the fixed pool of worker threads that runs every request handler of `slava serve`.
 * civetweb's connection threads have small stacks (100 KiB in Debian's build), too small for the
 * towers, FFmpeg and BLAS; so they only move bytes, and hand each request to one of these threads
 * (8 MiB stacks), waiting until it is answered.
 */
#ifndef SLAVA_SERVE_POOL_H
#define SLAVA_SERVE_POOL_H

#include "base/base.h"

typedef struct sv_pool sv_pool;

/* n threads with stack_bytes of stack each. */
slava_status sv_pool_new(slava_ctx *ctx, int n, size_t stack_bytes, sv_pool **out);
/* Run fn(arg) on a pool thread and return when it has finished (callers block; any number of
 * threads may call at once: jobs wait in order). */
void sv_pool_run(sv_pool *p, void (*fn)(void *), void *arg);
/* Finish the queued jobs, join the threads, free. */
void sv_pool_free(sv_pool *p);

#endif
