/*
 * pool.h — the fixed pool of worker threads that runs every request handler of `slava serve`.
 * civetweb's connection threads have tiny stacks (100 KiB in Debian's build, most of it taken by
 * thread-local storage), too small even for printf; so they hand each request to one of these
 * threads (8 MiB stacks) and wait until it is answered.
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
/* 1 on a thread of any sv_pool (work done there has a full stack), else 0. */
int  sv_pool_on_worker(void);
/* Finish the queued jobs, join the threads, free. */
void sv_pool_free(sv_pool *p);

#endif
