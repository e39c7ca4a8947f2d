/*
 * pool.c — fixed worker pool with a FIFO of jobs; each job carries its own "done" flag so the
 * submitting thread can wait for exactly its job. See pool.h.
 */
#include "serve/pool.h"
#include <pthread.h>

typedef struct job {
    void (*fn)(void *);
    void *arg;
    int done;
    pthread_cond_t cv;
    struct job *next;
} job;

struct sv_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;          /* a job was queued, or stop */
    job *head, *tail;
    int stop;
    int n;
    pthread_t *threads;
};

static _Thread_local int tl_worker;

int sv_pool_on_worker(void) { return tl_worker; }

static void *worker(void *arg) {
    sv_pool *p = arg;
    tl_worker = 1;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop) pthread_cond_wait(&p->work, &p->mu);
        if (!p->head) break;   /* stop, and nothing left */
        job *j = p->head;
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        pthread_mutex_lock(&p->mu);
        j->done = 1;
        pthread_cond_signal(&j->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

slava_status sv_pool_new(slava_ctx *ctx, int n, size_t stack_bytes, sv_pool **out) {
    *out = NULL;
    sv_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc((size_t)n, sizeof *p->threads))) {
        free(p);
        return sv_err(ctx, SLAVA_E_NOMEM, "serve: out of memory for %d worker threads", n);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_bytes);
    for (; p->n < n; p->n++)
        if (pthread_create(&p->threads[p->n], &attr, worker, p)) break;
    pthread_attr_destroy(&attr);
    if (p->n < n) {
        int made = p->n;
        sv_pool_free(p);
        return sv_err(ctx, SLAVA_E_INTERNAL, "serve: could start only %d of %d worker threads", made, n);
    }
    *out = p;
    return SLAVA_OK;
}

void sv_pool_run(sv_pool *p, void (*fn)(void *), void *arg) {
    job j = {fn, arg, 0, PTHREAD_COND_INITIALIZER, NULL};
    pthread_mutex_lock(&p->mu);
    if (p->tail) p->tail->next = &j; else p->head = &j;
    p->tail = &j;
    pthread_cond_signal(&p->work);
    while (!j.done) pthread_cond_wait(&j.cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&j.cv);
}

void sv_pool_free(sv_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
