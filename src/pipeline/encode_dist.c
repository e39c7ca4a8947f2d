/*
 * encode_dist.c — `mpirun -n N slava encode`: rank r encodes shard r+1 of N (shard.c's split by
 * resumption group) into a shard store of its own, the ranks agree that all shards are through,
 * rank 0 merges them into the target store (store_merge.c), and the shards are removed. A shard
 * on a disk rank 0 cannot see (a node's local disk) is sent to rank 0 over MPI first; which ones
 * rank 0 sees is decided by each shard's random token, not by the path (the same path on two
 * hosts may be two files). MPI is reached only through src/dist/dist.h.
 */
#include "base/base.h"
#include "dist/dist.h"
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#define PATH_CAP 4096
#define XFER_CHUNK ((size_t)8 << 20)

typedef struct {
    char token[33];
    char path[PATH_CAP];
} shard_ref;

/* Encode this rank's shard; *token receives the shard's token. */
static slava_status encode_share(slava_ctx *ctx, const slava_collection *c, const char *target, const char *shard_path,
                                 const slava_encode_opts *o, slava_encode_summary *sum, char token[33]) {
    slava_encode_opts so = *o;
    so.shard_index = sv_dist_rank() + 1;
    so.shard_count = sv_dist_size();
    slava_store *done = NULL, *s = NULL;
    if (access(target, F_OK) == 0) SV_TRY(slava_store_open(ctx, target, SLAVA_STORE_READ, &done));
    so.done = done;
    slava_status st = slava_store_open(ctx, shard_path, SLAVA_STORE_CREATE, &s);
    if (!st) st = slava_encode_collection(ctx, c, s, &so, sum);
    slava_shard_info info;
    int is_shard = 0;
    if (!st) st = slava_store_get_shard(ctx, s, &info, &is_shard);
    if (!st) snprintf(token, 33, "%s", info.token);
    slava_store_close(s);
    slava_store_close(done);
    return st;
}

/* Totals of all ranks into every rank's sum; failures gathered in collection order. */
static slava_status sum_up(slava_ctx *ctx, const slava_collection *c, slava_encode_summary *sum) {
    int64_t v[] = {sum->clips, sum->skipped, sum->prev_failed, sum->encoded, sum->no_audio, sum->failed,
                   sum->frames, sum->chunks, sum->captions, sum->captions_reused, sum->updated, sum->moved};
    double t[] = {sum->t_decode, sum->t_wait, sum->t_vision, sum->t_audio, sum->t_text, sum->t_store};
    SV_TRY(sv_dist_allreduce_sum_i64(ctx, v, SV_ARRAY_LEN(v)));
    SV_TRY(sv_dist_allreduce_sum_f64(ctx, t, SV_ARRAY_LEN(t)));
    sum->clips = (int)v[0]; sum->skipped = (int)v[1]; sum->prev_failed = (int)v[2]; sum->encoded = (int)v[3];
    sum->no_audio = (int)v[4]; sum->failed = (int)v[5]; sum->frames = v[6]; sum->chunks = v[7]; sum->captions = v[8];
    sum->captions_reused = v[9]; sum->updated = (int)v[10]; sum->moved = (int)v[11];
    sum->t_decode = t[0]; sum->t_wait = t[1]; sum->t_vision = t[2]; sum->t_audio = t[3]; sum->t_text = t[4]; sum->t_store = t[5];
    /* failures as "index \t split \t clip \0 reason \0" records */
    size_t bytes = 0;
    for (int i = 0; i < sum->n_failures; i++) bytes += 32 + strlen(sum->failures[i].clip) + strlen(sum->failures[i].reason) + 2;
    char *buf = malloc(bytes ? bytes : 1), *p = buf;
    if (!buf) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    for (int i = 0; i < sum->n_failures; i++) {
        int idx = -1;
        for (int k = 0; k < c->n && idx < 0; k++)
            if (!strcmp(c->clips[k].id, sum->failures[i].clip)) idx = k;
        p += sprintf(p, "%d\t%d\t%s", idx, sum->failures[i].split, sum->failures[i].clip) + 1;
        p += sprintf(p, "%s", sum->failures[i].reason) + 1;
    }
    char *all = NULL;
    size_t *counts = NULL;
    slava_status st = sv_dist_allgatherv(ctx, buf, (size_t)(p - buf), (void **)&all, &counts);
    free(buf);
    if (st) return st;
    size_t total = 0;
    for (int r = 0; r < sv_dist_size(); r++) total += counts[r];
    free(counts);
    slava_encode_summary_free(sum);
    int n = 0;
    for (size_t off = 0; off < total; n++) off += strlen(all + off) + 1, off += strlen(all + off) + 1;
    slava_encode_failure *f = calloc((size_t)(n ? n : 1), sizeof *f);
    int *order = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!f || !order) { free(f); free(order); free(all); return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory"); }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        int split = 0, used = 0;
        sscanf(all + off, "%d\t%d\t%n", &order[i], &split, &used);
        f[i].clip = sv_strdup(all + off + used);
        f[i].split = split;
        off += strlen(all + off) + 1;
        f[i].reason = sv_strdup(all + off);
        off += strlen(all + off) + 1;
    }
    free(all);
    /* insertion sort by collection index (failures are few) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && order[j - 1] > order[j]; j--) {
            int to = order[j]; order[j] = order[j - 1]; order[j - 1] = to;
            slava_encode_failure tf = f[j]; f[j] = f[j - 1]; f[j - 1] = tf;
        }
    free(order);
    sum->failures = f;
    sum->n_failures = n;
    for (int i = 0; i < n; i++)
        if (!f[i].clip || !f[i].reason) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    return SLAVA_OK;
}

/* Rank `from` sends its shard file, rank 0 writes it to `to`. Only those two take part. */
static slava_status transfer(slava_ctx *ctx, int from, const char *path, const char *to) {
    char *buf = malloc(XFER_CHUNK);
    if (!buf) return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    slava_status st = SLAVA_OK;
    uint64_t size = 0;
    if (sv_dist_rank() == from) {
        char wal[PATH_CAP + 8];
        snprintf(wal, sizeof wal, "%s-wal", path);
        FILE *f = fopen(path, "rb");
        if (access(wal, F_OK) == 0 && f) {   /* a closed store has no WAL: SQLite folds it in on close */
            FILE *w = fopen(wal, "rb");
            long wn = -1;
            if (w) { fseek(w, 0, SEEK_END); wn = ftell(w); fclose(w); }
            if (wn != 0) { fclose(f); f = NULL; errno = EBUSY; }
        }
        if (f) { fseek(f, 0, SEEK_END); size = (uint64_t)ftell(f); rewind(f); }
        else size = UINT64_MAX;   /* tells rank 0 the file could not be read */
        st = sv_dist_send(ctx, &size, sizeof size, 0);
        for (uint64_t done = 0; f && !st && done < size;) {
            size_t k = size - done < XFER_CHUNK ? (size_t)(size - done) : XFER_CHUNK;
            if (fread(buf, 1, k, f) != k) { st = sv_err(ctx, SLAVA_E_IO, "%s: read error while sending it to rank 0", path); break; }
            st = sv_dist_send(ctx, buf, k, 0);
            done += k;
        }
        if (!f && !st) st = sv_err(ctx, SLAVA_E_IO, "%s: cannot read the shard to send it to rank 0: %s", path, strerror(errno));
        if (f) fclose(f);
    } else {
        st = sv_dist_recv(ctx, &size, sizeof size, from);
        if (!st && size == UINT64_MAX) st = sv_err(ctx, SLAVA_E_IO, "rank %d could not read its shard %s", from, path);
        FILE *f = st ? NULL : fopen(to, "wb");
        if (!st && !f) st = sv_err(ctx, SLAVA_E_IO, "%s: cannot create: %s", to, strerror(errno));
        for (uint64_t done = 0; f && !st && done < size;) {
            size_t k = size - done < XFER_CHUNK ? (size_t)(size - done) : XFER_CHUNK;
            st = sv_dist_recv(ctx, buf, k, from);
            if (!st && fwrite(buf, 1, k, f) != k) st = sv_err(ctx, SLAVA_E_IO, "%s: write error: %s", to, strerror(errno));
            done += k;
        }
        if (f && fclose(f) != 0 && !st) st = sv_err(ctx, SLAVA_E_IO, "%s: write error: %s", to, strerror(errno));
    }
    free(buf);
    return st;
}

slava_status slava_encode_dist(slava_ctx *ctx, const slava_collection *c, const char *target, const char *shard_path,
                               const slava_encode_opts *o, unsigned flags, slava_encode_summary *sum,
                               slava_store_counts *merged) {
    if (merged) memset(merged, 0, sizeof *merged);
    const int rank = sv_dist_rank(), size = sv_dist_size();
    if (size == 1) {
        memset(sum, 0, sizeof *sum);
        slava_store *s;
        SV_TRY(slava_store_open(ctx, target, SLAVA_STORE_CREATE, &s));
        slava_status st = slava_encode_collection(ctx, c, s, o, sum);
        slava_store_close(s);
        return st;
    }
    if (strlen(shard_path) >= PATH_CAP) return sv_err(ctx, SLAVA_E_ARG, "%s: shard path too long", shard_path);
    shard_ref mine;
    memset(&mine, 0, sizeof mine);
    snprintf(mine.path, sizeof mine.path, "%s", shard_path);
    slava_status st = encode_share(ctx, c, target, shard_path, o, sum, mine.token);
    st = sv_dist_agree(ctx, st);
    if (st) return st;
    SV_TRY(sv_dist_agree(ctx, sum_up(ctx, c, sum)));

    /* which shards rank 0 reads in place, which it receives */
    shard_ref *refs = NULL;
    SV_TRY(sv_dist_allgatherv(ctx, &mine, sizeof mine, (void **)&refs, NULL));
    char *need = calloc((size_t)size, 1);
    char (*local)[PATH_CAP + 32] = calloc((size_t)size, sizeof *local);
    const char **paths = malloc(sizeof(char *) * (size_t)size);
    if (!need || !local || !paths) st = sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory");
    for (int k = 1; rank == 0 && !st && k < size; k++) {
        slava_store *s = NULL;
        slava_shard_info info;
        int is_shard = 0;
        slava_ctx *q = slava_ctx_new();   /* a shard rank 0 cannot open is not an error: it is sent */
        need[k] = (flags & SLAVA_DIST_SEND_SHARDS) || !(q && access(refs[k].path, R_OK) == 0 && !slava_store_open(q, refs[k].path, SLAVA_STORE_READ, &s) &&
                    !slava_store_get_shard(q, s, &info, &is_shard) && is_shard && !strcmp(info.token, refs[k].token));
        slava_store_close(s);
        slava_ctx_free(q);
    }
    st = sv_dist_agree(ctx, st);
    if (!st) st = sv_dist_bcast(ctx, need, (size_t)size, 0);
    for (int k = 0; !st && k < size; k++) {
        if (need[k]) snprintf(local[k], sizeof local[k], "%s.from-rank-%d", target, k);
        else snprintf(local[k], sizeof local[k], "%s", refs[k].path);
        paths[k] = local[k];
        slava_status xs = SLAVA_OK;
        if (need[k] && (rank == 0 || rank == k)) xs = transfer(ctx, k, refs[k].path, local[k]);
        st = sv_dist_agree(ctx, xs);
    }
    /* rank 0 merges; the others wait for the outcome */
    slava_status ms = SLAVA_OK;
    if (!st && rank == 0) {
        slava_store *t = NULL;
        ms = slava_store_open(ctx, target, SLAVA_STORE_CREATE, &t);
        if (!ms) ms = slava_store_merge(ctx, t, size, paths, SLAVA_MERGE_COMMIT_EACH, merged);
        slava_store_close(t);
    }
    if (!st) st = sv_dist_agree(ctx, ms);
    if (!st && merged) st = sv_dist_agree(ctx, sv_dist_bcast(ctx, merged, sizeof *merged, 0));
    if (!st) {
        slava_store_remove(shard_path);
        for (int k = 1; rank == 0 && k < size; k++)
            if (need[k]) slava_store_remove(local[k]);
    }
    free(refs);
    free(need);
    free(local);
    free(paths);
    return st;
}
