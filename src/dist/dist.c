/*
 * dist.c — the MPI job slava may run in (public slava_dist_* of include/slava.h) and the few
 * collectives distributed code needs (dist.h). The only file that includes mpi.h; built without
 * it (SLAVA_HAVE_MPI undefined) the world is always one process and every call is local.
 *
 * Joining: MPI is initialised only when the environment shows an MPI launcher started this
 * process (Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE, PMIx launchers such as srun --mpi=pmix
 * set PMIX_RANK, PMI-1/2 launchers (MPICH's hydra, srun --mpi=pmi2) set PMI_RANK), so a plain
 * `slava ...` never touches MPI (no singleton start-up, nothing for ASan / valgrind to trace).
 * SLAVA_MPI=0 stays out of a job; SLAVA_MPI=1 joins one regardless (a singleton world).
 */
#include "dist/dist.h"
#include <stdio.h>
#ifdef SLAVA_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;

/* The launcher variable that is set, or NULL. */
static const char *launcher_var(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < SV_ARRAY_LEN(vars); i++)
        if (getenv(vars[i])) return vars[i];
    return NULL;
}

int sv_dist_rank(void) { return g_rank; }
int sv_dist_size(void) { return g_size; }
int slava_dist_rank(void) { return g_rank; }
int slava_dist_size(void) { return g_size; }

#ifdef SLAVA_HAVE_MPI

#define CHUNK ((size_t)1 << 30)   /* MPI counts are int: large buffers go in 1 GiB pieces */

static int g_joined = 0;          /* this process called MPI_Init */

static slava_status mpi_fail(slava_ctx *ctx, int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return sv_err(ctx, SLAVA_E_INTERNAL, "MPI (rank %d of %d): %s: %s", g_rank, g_size, what, msg);
}
#define MPI_TRY(call, what) do { int rc_ = (call); if (rc_ != MPI_SUCCESS) return mpi_fail(ctx, rc_, what); } while (0)

slava_status slava_dist_init(slava_ctx *ctx) {
    if (g_joined) return SLAVA_OK;
    const char *force = getenv("SLAVA_MPI");
    if (force && !strcmp(force, "0")) return SLAVA_OK;
    if (!launcher_var() && !(force && !strcmp(force, "1"))) return SLAVA_OK;
    /* As with OpenMP (OMP_WAIT_POLICY=passive), a rank waiting in a collective yields its core
     * instead of spinning unless the user chose otherwise: when the cores are shared (other
     * jobs, the decode thread, more ranks than cores) spinning ranks starve the one that computes
     * (a data-parallel epoch on 2 shared cores: 10.9 s spinning, 2.7 s yielding). */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    int provided = 0;
    MPI_TRY(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    g_joined = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &g_rank), "MPI_Comm_rank");
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &g_size), "MPI_Comm_size");
    return SLAVA_OK;
}

void slava_dist_finalize(void) {
    if (!g_joined) return;
    MPI_Finalize();
    g_joined = 0;
    g_rank = 0;
    g_size = 1;
}

void slava_dist_abort(int code) {
    if (g_joined) MPI_Abort(MPI_COMM_WORLD, code);
}

const char *slava_dist_library(void) {
    static char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!lib[0] && MPI_Get_library_version(lib, &len) == MPI_SUCCESS) {
        char *nl = strpbrk(lib, ",\n");   /* the first part: "Open MPI v4.1.4" */
        if (nl) *nl = 0;
    }
    return lib;
}

slava_status sv_dist_barrier(slava_ctx *ctx) {
    if (g_size == 1) return SLAVA_OK;
    MPI_TRY(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
    return SLAVA_OK;
}

static slava_status allreduce(slava_ctx *ctx, void *x, size_t n, size_t elem, MPI_Datatype t, MPI_Op op) {
    if (g_size == 1) return SLAVA_OK;
    for (size_t i = 0; i < n;) {
        size_t k = n - i < CHUNK / elem ? n - i : CHUNK / elem;
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, (char *)x + i * elem, (int)k, t, op, MPI_COMM_WORLD), "MPI_Allreduce");
        i += k;
    }
    return SLAVA_OK;
}

slava_status sv_dist_allreduce_sum_f32(slava_ctx *ctx, float *x, size_t n) {
    if (g_size == 1) return SLAVA_OK;
    for (size_t i = 0; i < n;) {   /* reduce on rank 0, then broadcast: the same bits everywhere */
        size_t k = n - i < CHUNK / 4 ? n - i : CHUNK / 4;
        MPI_TRY(MPI_Reduce(g_rank == 0 ? MPI_IN_PLACE : x + i, x + i, (int)k, MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD),
                "MPI_Reduce");
        MPI_TRY(MPI_Bcast(x + i, (int)k, MPI_FLOAT, 0, MPI_COMM_WORLD), "MPI_Bcast");
        i += k;
    }
    return SLAVA_OK;
}
slava_status sv_dist_allreduce_sum_f64(slava_ctx *ctx, double *x, size_t n) { return allreduce(ctx, x, n, 8, MPI_DOUBLE, MPI_SUM); }
slava_status sv_dist_allreduce_sum_i64(slava_ctx *ctx, int64_t *x, size_t n) { return allreduce(ctx, x, n, 8, MPI_INT64_T, MPI_SUM); }
slava_status sv_dist_allreduce_max_int(slava_ctx *ctx, int *x, size_t n) { return allreduce(ctx, x, n, sizeof(int), MPI_INT, MPI_MAX); }

slava_status sv_dist_allgatherv(slava_ctx *ctx, const void *data, size_t bytes, void **out, size_t **counts_out) {
    *out = NULL;
    if (counts_out) *counts_out = NULL;
    uint64_t mine = bytes, *all = malloc(sizeof(uint64_t) * (size_t)g_size);
    int *cnt = malloc(sizeof(int) * (size_t)g_size), *disp = malloc(sizeof(int) * (size_t)g_size);
    size_t *counts = malloc(sizeof(size_t) * (size_t)g_size);
    slava_status st = SLAVA_OK;
    if (!all || !cnt || !disp || !counts) st = sv_err(ctx, SLAVA_E_NOMEM, "MPI: out of memory");
    int rc = MPI_SUCCESS;
    if (!st && g_size > 1) rc = MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    else if (!st) all[0] = mine;
    if (!st && rc != MPI_SUCCESS) st = mpi_fail(ctx, rc, "MPI_Allgather");
    uint64_t total = 0;
    for (int r = 0; !st && r < g_size; r++) {
        if (total + all[r] > (uint64_t)INT32_MAX) { st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "MPI: gathering more than 2 GiB"); break; }
        cnt[r] = (int)all[r];
        disp[r] = (int)total;
        counts[r] = (size_t)all[r];
        total += all[r];
    }
    char *buf = st ? NULL : malloc(total ? total : 1);
    if (!st && !buf) st = sv_err(ctx, SLAVA_E_NOMEM, "MPI: out of memory for %llu bytes", (unsigned long long)total);
    if (!st && g_size > 1) {
        rc = MPI_Allgatherv(data, (int)bytes, MPI_BYTE, buf, cnt, disp, MPI_BYTE, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) st = mpi_fail(ctx, rc, "MPI_Allgatherv");
    } else if (!st && bytes) memcpy(buf, data, bytes);
    free(all);
    free(cnt);
    free(disp);
    if (st) { free(buf); free(counts); return st; }
    *out = buf;
    if (counts_out) *counts_out = counts;
    else free(counts);
    return SLAVA_OK;
}

slava_status sv_dist_allgatherv_into(slava_ctx *ctx, const void *data, size_t bytes, void *recv, const size_t *counts) {
    if (g_size == 1) {
        if (bytes) memmove(recv, data, bytes);
        return SLAVA_OK;
    }
    int cnt[64], disp[64], *c = cnt, *d = disp;
    if (g_size > 64) {
        c = malloc(sizeof(int) * (size_t)g_size);
        d = malloc(sizeof(int) * (size_t)g_size);
    }
    slava_status st = c && d ? SLAVA_OK : sv_err(ctx, SLAVA_E_NOMEM, "MPI: out of memory");
    size_t total = 0;
    for (int r = 0; !st && r < g_size; r++) {
        if (total + counts[r] > (size_t)INT32_MAX) { st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "MPI: gathering more than 2 GiB"); break; }
        c[r] = (int)counts[r];
        d[r] = (int)total;
        total += counts[r];
    }
    int rc = st ? MPI_SUCCESS : MPI_Allgatherv(data, (int)bytes, MPI_BYTE, recv, c, d, MPI_BYTE, MPI_COMM_WORLD);
    if (c != cnt) { free(c); free(d); }
    if (!st && rc != MPI_SUCCESS) st = mpi_fail(ctx, rc, "MPI_Allgatherv");
    return st;
}

/* The lowest rank whose flag is set (size when none): one MPI_Allreduce. */
static slava_status lowest_flagged(slava_ctx *ctx, int flag, int *first) {
    int v = flag ? g_rank : g_size;
    MPI_TRY(MPI_Allreduce(&v, first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
    return SLAVA_OK;
}

slava_status sv_dist_bcast(slava_ctx *ctx, void *buf, size_t bytes, int root) {
    if (g_size == 1) return SLAVA_OK;
    for (size_t i = 0; i < bytes; i += CHUNK) {
        size_t k = bytes - i < CHUNK ? bytes - i : CHUNK;
        MPI_TRY(MPI_Bcast((char *)buf + i, (int)k, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
    return SLAVA_OK;
}

slava_status sv_dist_send(slava_ctx *ctx, const void *buf, size_t bytes, int peer) {
    for (size_t i = 0; i < bytes; i += CHUNK) {
        size_t k = bytes - i < CHUNK ? bytes - i : CHUNK;
        MPI_TRY(MPI_Send((const char *)buf + i, (int)k, MPI_BYTE, peer, 0, MPI_COMM_WORLD), "MPI_Send");
    }
    return SLAVA_OK;
}

slava_status sv_dist_recv(slava_ctx *ctx, void *buf, size_t bytes, int peer) {
    for (size_t i = 0; i < bytes; i += CHUNK) {
        size_t k = bytes - i < CHUNK ? bytes - i : CHUNK;
        MPI_TRY(MPI_Recv((char *)buf + i, (int)k, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
    }
    return SLAVA_OK;
}

#else /* built without MPI: a world of one */

slava_status slava_dist_init(slava_ctx *ctx) {
    const char *var = launcher_var(), *force = getenv("SLAVA_MPI");
    if ((var || (force && !strcmp(force, "1"))) && !(force && !strcmp(force, "0")))
        return sv_err(ctx, SLAVA_E_UNSUPPORTED, "started by an MPI launcher (%s is set) but this slava was built without "
                      "MPI (install libopenmpi-dev and rebuild; SLAVA_MPI=0 runs each process alone)", var ? var : "SLAVA_MPI=1");
    return SLAVA_OK;
}
void slava_dist_finalize(void) {}
void slava_dist_abort(int code) { (void)code; }
const char *slava_dist_library(void) { return ""; }
slava_status sv_dist_barrier(slava_ctx *ctx) { (void)ctx; return SLAVA_OK; }
slava_status sv_dist_allreduce_sum_f32(slava_ctx *ctx, float *x, size_t n) { (void)ctx; (void)x; (void)n; return SLAVA_OK; }
slava_status sv_dist_allreduce_sum_f64(slava_ctx *ctx, double *x, size_t n) { (void)ctx; (void)x; (void)n; return SLAVA_OK; }
slava_status sv_dist_allreduce_sum_i64(slava_ctx *ctx, int64_t *x, size_t n) { (void)ctx; (void)x; (void)n; return SLAVA_OK; }
slava_status sv_dist_allreduce_max_int(slava_ctx *ctx, int *x, size_t n) { (void)ctx; (void)x; (void)n; return SLAVA_OK; }
slava_status sv_dist_allgatherv(slava_ctx *ctx, const void *data, size_t bytes, void **out, size_t **counts) {
    *out = malloc(bytes ? bytes : 1);
    if (counts) *counts = malloc(sizeof(size_t));
    if (!*out || (counts && !*counts)) {
        free(*out);
        *out = NULL;
        if (counts) { free(*counts); *counts = NULL; }
        return sv_err(ctx, SLAVA_E_NOMEM, "out of memory");
    }
    if (bytes) memcpy(*out, data, bytes);
    if (counts) (*counts)[0] = bytes;
    return SLAVA_OK;
}
slava_status sv_dist_allgatherv_into(slava_ctx *ctx, const void *data, size_t bytes, void *recv, const size_t *counts) {
    (void)ctx; (void)counts;
    if (bytes) memmove(recv, data, bytes);
    return SLAVA_OK;
}
static slava_status lowest_flagged(slava_ctx *ctx, int flag, int *first) { (void)ctx; *first = flag ? 0 : 1; return SLAVA_OK; }
slava_status sv_dist_bcast(slava_ctx *ctx, void *buf, size_t bytes, int root) { (void)ctx; (void)buf; (void)bytes; (void)root; return SLAVA_OK; }
slava_status sv_dist_send(slava_ctx *ctx, const void *buf, size_t bytes, int peer) {
    (void)buf; (void)bytes;
    return sv_err(ctx, SLAVA_E_ARG, "no rank %d: not running in an MPI job", peer);
}
slava_status sv_dist_recv(slava_ctx *ctx, void *buf, size_t bytes, int peer) {
    (void)buf; (void)bytes;
    return sv_err(ctx, SLAVA_E_ARG, "no rank %d: not running in an MPI job", peer);
}

#endif

slava_status slava_dist_agree(slava_ctx *ctx, slava_status st) { return sv_dist_agree(ctx, st); }

slava_status sv_dist_agree(slava_ctx *ctx, slava_status st) {
    if (g_size == 1) return st;
    int first;
    slava_status cst = lowest_flagged(ctx, st != SLAVA_OK, &first);
    if (cst) return cst;
    if (first >= g_size) return SLAVA_OK;
    /* the lowest failing rank tells its status and message */
    struct { int status; char msg[sizeof ctx->msg]; } m;
    m.status = (int)st;
    snprintf(m.msg, sizeof m.msg, "%s", ctx->msg);
    cst = sv_dist_bcast(ctx, &m, sizeof m, first);
    if (cst) return cst;
    if (g_rank != first) sv_err(ctx, (slava_status)m.status, "rank %d: %s", first, m.msg);
    return (slava_status)m.status;
}
