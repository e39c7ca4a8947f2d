/*
 * scratch.c — per-thread scratch buffers (sv_thread_buffer): numeric kernels called many times per
 * forward pass (attention tiles, bf16 staging, oneDNN scratchpads) reuse one buffer per thread and
 * slot instead of allocating on every call (large allocations are fresh mmaps, and the kernel
 * zeroing their pages cost several percent of HTSAT's time). Buffers grow as needed and are freed
 * when their thread exits.
 */
#include "base/base.h"
#include <pthread.h>

typedef struct {
    void *p[SV_SCRATCH_SLOTS];
    size_t cap[SV_SCRATCH_SLOTS];
} slots_t;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_key_ok;

static void slots_free(void *v) {
    slots_t *s = v;
    for (int i = 0; i < SV_SCRATCH_SLOTS; i++) sv_free(s->p[i]);
    free(s);
}

static void key_once(void) { g_key_ok = pthread_key_create(&g_key, slots_free) == 0; }

void *sv_thread_buffer(int slot, size_t bytes) {
    if (slot < 0 || slot >= SV_SCRATCH_SLOTS) return NULL;
    pthread_once(&g_once, key_once);
    if (!g_key_ok) return NULL;
    slots_t *s = pthread_getspecific(g_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        if (pthread_setspecific(g_key, s) != 0) { free(s); return NULL; }
    }
    if (bytes > s->cap[slot]) {
        sv_free(s->p[slot]);
        s->p[slot] = sv_alloc(bytes ? bytes : 1);
        s->cap[slot] = s->p[slot] ? bytes : 0;
    }
    return s->p[slot];
}
