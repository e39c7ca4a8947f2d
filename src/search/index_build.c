/*
 * index_build.c — slava_index_build: a feature store → a search index, without any tower.
 *
 * Each clip's frame / chunk features go through the heads row by row (trained heads, or the
 * checkpoints' own projections), many clips' rows in one GEMM; the clip's pooled embedding is
 * the normalised mean of its projected rows (DESIGN.md §1), each moment the normalised row.
 * Incremental: when the output already holds an index built with the same encoders, heads and
 * dtype, a clip whose features hash the same keeps its rows (its source, duration and captions
 * are rewritten from the store), so a re-run projects only the clips whose features are new or
 * changed.
 */
#include "search/search.h"
#include "align/heads.h"
#include "align/train.h"
#include "store/store.h"
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#define BATCH_ROWS 4096   /* feature rows projected per GEMM */

void slava_index_opts_default(slava_index_opts *o) {
    memset(o, 0, sizeof *o);
    o->ann = -1;
    o->precision = -1;
}

/* o->precision: enc[m] = the store's one encoder of modality m in that precision, for each modality
 * with stored features and no o->encoder[m] (names borrowed from si); several of it leave enc[m]
 * NULL for slava_store_load's choose-one error. Without o->precision enc is o->encoder. */
static slava_status pick_precision(slava_ctx *ctx, const slava_index_opts *o, const slava_store_info *si,
                                   const char *enc[SLAVA_MODS]) {
    for (int m = 0; m < SLAVA_MODS; m++) enc[m] = o->encoder[m];
    if (o->precision < 0) return SLAVA_OK;
    if (o->precision != SLAVA_PRECISION_FP32 && o->precision != SLAVA_PRECISION_BF16)
        return sv_err(ctx, SLAVA_E_ARG, "index: unknown precision %d", o->precision);
    const char *pname = slava_precision_name((slava_precision)o->precision);
    for (int m = 0; m < SLAVA_MODS; m++) {
        if (o->encoder[m]) continue;
        char held[512] = "";
        size_t used = 0;
        int n_held = 0, n_match = 0;
        for (int i = 0; i < si->n_encoders; i++) {
            const slava_store_encoder *e = &si->encoders[i];
            int64_t items = 0;
            for (int k = 0; k < SLAVA_SPLITS; k++) items += e->items[k];
            if (e->modality != m || !items) continue;
            if (used < sizeof held - 1)
                used += (size_t)snprintf(held + used, sizeof held - used, "%s%s", n_held ? ", " : "", e->name);
            n_held++;
            if ((int)slava_encoder_id_precision(e->name) == o->precision) enc[m] = n_match++ ? NULL : e->name;
        }
        const char *mname = slava_store_modality_name(m);
        if (n_held && !n_match)
            return sv_err(ctx, SLAVA_E_ARG, "%s: no %s %s features (it holds %s features of %s); encode with --precision %s first",
                          o->store, pname, mname, mname, held, pname);
    }
    return SLAVA_OK;
}

static int same_file(const char *a, const char *b) {
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static char *abs_path(const char *p) {
    if (!p) return NULL;
    char *r = realpath(p, NULL);
    return r ? r : sv_strdup(p);
}

/* 64-bit fingerprint of a clip's features (word-wise FNV-1a with a final mix). */
static uint64_t hash_words(uint64_t h, const void *p, size_t bytes) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < bytes; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
static uint64_t clip_hash(const slava_clip *c, int d_v, int d_a) {
    int64_t shape[4] = {c->t_v, d_v, c->t_a, d_a};
    uint64_t h = hash_words(0xcbf29ce484222325ull, shape, sizeof shape);
    h = hash_words(h, c->visual, sizeof(float) * (size_t)c->t_v * d_v);
    h = hash_words(h, c->audio, sizeof(float) * (size_t)c->t_a * d_a);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static void normalize(float *x, int P) {
    double s = 0;
    for (int j = 0; j < P; j++) s += (double)x[j] * x[j];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (int j = 0; j < P; j++) x[j] *= inv;
}

typedef struct {
    slava_ctx *ctx;
    const slava_index_opts *o;
    slava_dataset ds;
    sv_clip_meta *meta;
    slava_heads *heads;
    char heads_id[65];
    slava_index *old;
    int compatible;              /* old index usable for taking clips over */
    sx_clip *clips;              /* [ds.n], strings borrowed from ds / meta */
    int *from_old;               /* [ds.n] old clip number or -1 */
    uint64_t *hash;
    int64_t *off[2];
    float *rows[2];
    slava_index_summary sum;
} build;

/* The projection: trained heads (checked against the store's encoders) or the checkpoints'. */
static slava_status make_heads(build *b) {
    slava_ctx *ctx = b->ctx;
    const slava_index_opts *o = b->o;
    const slava_dataset *ds = &b->ds;
    if (o->heads) {
        sv_stfile *f;
        SV_TRY(sv_st_open(ctx, o->heads, &f));
        slava_status st = sv_st_sha256(ctx, f, b->heads_id);
        sv_st_close(f);
        SV_TRY(st);
        SV_TRY(slava_heads_load(ctx, o->heads, &b->heads));
        if (!o->force)
            SV_TRY(slava_heads_check_encoders(ctx, b->heads, o->heads, (const char *const *)ds->encoder_id, o->store));
        if ((ds->d_v && ds->d_v != b->heads->d_v) || (ds->d_a && ds->d_a != b->heads->d_a))
            return sv_err(ctx, SLAVA_E_SHAPE, "%s: the heads take %d-d visual / %d-d audio features, %s has %d-d / %d-d",
                          o->heads, b->heads->d_v, b->heads->d_a, o->store, ds->d_v, ds->d_a);
        return SLAVA_OK;
    }
    if (ds->d_v && !o->clip_dir)
        return sv_err(ctx, SLAVA_E_ARG, "%s: visual features need a projection: give heads or a CLIP folder", o->store);
    if (ds->d_a && !o->clap_dir)
        return sv_err(ctx, SLAVA_E_ARG, "%s: audio features need a projection: give heads or a CLAP folder", o->store);
    slava_train_opts to;
    slava_train_opts_default(&to);
    to.clip_dir = ds->d_v ? o->clip_dir : NULL;
    to.clap_dir = ds->d_a ? o->clap_dir : NULL;
    char sha[2][65] = {"", ""};
    SV_TRY(al_heads_init_sha(ctx, ds, &to, &b->heads, sha[0], sha[1]));
    /* the checkpoint must be the one the features came from */
    const int mods[2] = {SLAVA_MOD_VISUAL, SLAVA_MOD_AUDIO};
    const char *dirs[2] = {to.clip_dir, to.clap_dir};
    for (int i = 0; i < 2 && !o->force; i++) {
        const char *id = ds->encoder_id[mods[i]];
        if (!dirs[i] || !id) continue;
        size_t n = strcspn(id, "+@");   /* the checkpoint part: without "+bf16" and "@<fps>fps" */
        if (strlen(sha[i]) != n || memcmp(sha[i], id, n))
            return sv_err(ctx, SLAVA_E_ARG,
                          "%s is encoder %s, but %s holds %s features of encoder %s (--force to use it anyway)",
                          dirs[i], sha[i], o->store, slava_store_modality_name(mods[i]), id);
    }
    return SLAVA_OK;
}

static int same_str(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

/* Does clip i of the store equal clip j of the old index in what the index records besides its
 * rows (source, duration, split, captions)? */
static int same_facts(const build *b, int i, int j) {
    const sx_clip *n = &b->clips[i], *o = &b->old->clips[j];
    if (n->split != o->split || n->has_audio != o->has_audio || !same_str(n->source, o->source) || n->duration != o->duration)
        return 0;
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        if (n->n_cap[k] != o->n_cap[k]) return 0;
        for (int c = 0; c < n->n_cap[k]; c++)
            if (!same_str(n->cap[k][c], o->cap[k][c])) return 0;
    }
    return 1;
}

/* Project the new clips among [c0, c1) (modality m) into their rows. */
static slava_status project_batch(build *b, int m, int c0, int c1, float *X, float *Y) {
    const slava_dataset *ds = &b->ds;
    int P = b->heads->P, D = m ? ds->d_a : ds->d_v;
    int64_t R = 0;
    for (int c = c0; c < c1; c++) {
        const slava_clip *cl = &ds->clips[c];
        int T = b->from_old[c] < 0 ? (m ? cl->t_a : cl->t_v) : 0;
        if (T) memcpy(X + R * D, m ? cl->audio : cl->visual, sizeof(float) * (size_t)T * D);
        R += T;
    }
    if (!R) return SLAVA_OK;
    SV_TRY(slava_heads_project_rows(b->ctx, b->heads, (slava_modality)m, X, (int)R, D, Y));
    b->sum.rows_projected += R;
    R = 0;
    for (int c = c0; c < c1; c++) {
        const slava_clip *cl = &ds->clips[c];
        int T = b->from_old[c] < 0 ? (m ? cl->t_a : cl->t_v) : 0;
        if (!T) continue;
        float *dst = b->rows[m] + b->off[m][c] * P, *pooled = dst;
        memset(pooled, 0, sizeof(float) * P);
        for (int t = 0; t < T; t++) {
            const float *y = Y + (R + t) * P;
            for (int j = 0; j < P; j++) pooled[j] += y[j];
        }
        for (int j = 0; j < P; j++) pooled[j] /= T;
        normalize(pooled, P);
        for (int t = 0; t < T; t++) {
            memcpy(dst + (size_t)(t + 1) * P, Y + (R + t) * P, sizeof(float) * P);
            normalize(dst + (size_t)(t + 1) * P, P);
        }
        R += T;
    }
    return SLAVA_OK;
}

static slava_status fill_rows(build *b) {
    const slava_dataset *ds = &b->ds;
    int n = ds->n, P = b->heads ? b->heads->P : b->old->P;
    for (int m = 0; m < 2; m++) {
        b->off[m] = calloc((size_t)n + 1, sizeof(int64_t));
        if (!b->off[m]) return sv_err(b->ctx, SLAVA_E_NOMEM, "index: out of memory");
        for (int c = 0; c < n; c++) {
            int T = m ? ds->clips[c].t_a : ds->clips[c].t_v;
            b->off[m][c + 1] = b->off[m][c] + (T ? T + 1 : 0);
        }
        b->rows[m] = sv_alloc(sizeof(float) * (size_t)(b->off[m][n] ? b->off[m][n] : 1) * P);
        if (!b->rows[m]) return sv_err(b->ctx, SLAVA_E_NOMEM, "index: out of memory (%lld rows)", (long long)b->off[m][n]);
    }
    /* clips taken over: their rows as stored (float16 → float32 is exact, and back again) */
    for (int c = 0; c < n; c++) {
        int j = b->from_old[c];
        if (j < 0) continue;
        for (int m = 0; m < 2; m++)
            sx_rows_f32(b->old->rows[m], b->old->f16, b->old->off[m][j], b->old->off[m][j + 1], P,
                        b->rows[m] + b->off[m][c] * P);
    }
    /* new clips: in batches of about BATCH_ROWS feature rows */
    int dmax = ds->d_v > ds->d_a ? ds->d_v : ds->d_a, tmax = 0;
    for (int c = 0; c < n; c++) {
        if (ds->clips[c].t_v > tmax) tmax = ds->clips[c].t_v;
        if (ds->clips[c].t_a > tmax) tmax = ds->clips[c].t_a;
    }
    size_t cap = (size_t)BATCH_ROWS + tmax;
    float *X = sv_alloc(sizeof(float) * cap * (dmax ? dmax : 1)), *Y = sv_alloc(sizeof(float) * cap * P);
    slava_status st = X && Y ? SLAVA_OK : sv_err(b->ctx, SLAVA_E_NOMEM, "index: out of memory");
    for (int m = 0; !st && m < 2; m++) {
        int c0 = 0;
        int64_t R = 0;
        for (int c = 0; !st && c < n; c++) {
            int T = b->from_old[c] < 0 ? (m ? ds->clips[c].t_a : ds->clips[c].t_v) : 0;
            if (R + T > BATCH_ROWS && R > 0) {
                st = project_batch(b, m, c0, c, X, Y);
                c0 = c;
                R = 0;
                if (!st && sv_progress(b->ctx, "index", (int64_t)m * n + c, 2 * (int64_t)n, NULL))
                    st = sv_err(b->ctx, SLAVA_E_INTERRUPTED, "index: cancelled");
            }
            R += T;
        }
        if (!st && R > 0) st = project_batch(b, m, c0, n, X, Y);
    }
    sv_free(X);
    sv_free(Y);
    return st;
}

static slava_status run(build *b) {
    slava_ctx *ctx = b->ctx;
    const slava_index_opts *o = b->o;
    if (!o->store || !o->out) return sv_err(ctx, SLAVA_E_ARG, "index: a store and an output file are needed");
    if (same_file(o->out, o->store) || same_file(o->out, o->heads))
        return sv_err(ctx, SLAVA_E_ARG, "%s: the index would replace its own input; choose another output file", o->out);
    if (sv_file_exists(o->out)) {
        slava_status st = slava_index_open(ctx, o->out, &b->old);
        if (st) {
            char why[512];
            snprintf(why, sizeof why, "%s", slava_ctx_error(ctx));
            return sv_err(ctx, SLAVA_E_ARG, "%s exists and is not a usable slava index, not replacing it (%s)", o->out, why);
        }
    }
    slava_store *s;
    SV_TRY(slava_store_open(ctx, o->store, SLAVA_STORE_READ, &s));
    /* a store whose clips (of these splits) all failed, or none yet, gives an empty index */
    slava_store_info si;
    slava_status st = slava_store_get_info(ctx, s, &si);
    int64_t usable = 0;
    for (int k = 0; !st && k < SLAVA_SPLITS; k++)
        if (!o->split_mask || (o->split_mask & (1u << k))) usable += si.clips[k];
    const char *enc_want[SLAVA_MODS];
    if (!st) {
        st = pick_precision(ctx, o, &si, enc_want);
        if (!st && usable) st = sv_store_load(ctx, s, o->split_mask, 0x7, enc_want, &b->ds, &b->meta);
        slava_store_info_free(&si);   /* after the load: enc_want points into it */
    }
    slava_store_close(s);
    SV_TRY(st);
    slava_dataset *ds = &b->ds;
    if (ds->n > 0 || !b->old) SV_TRY(make_heads(b));
    int P = b->heads ? b->heads->P : b->old->P;
    char *enc[SLAVA_MODS];
    for (int m = 0; m < SLAVA_MODS; m++) enc[m] = ds->encoder_id[m] ? ds->encoder_id[m] : "";
    if (b->old) {
        b->compatible = b->old->P == P && b->old->f16 == !!o->f16 && same_str(b->old->heads_id, b->heads_id);
        for (int m = 0; m < 2; m++)   /* a modality with no clips left says nothing about the encoder */
            if (ds->n && b->old->n && enc[m][0] && b->old->enc[m][0] && strcmp(enc[m], b->old->enc[m])) b->compatible = 0;
        if (!b->heads && b->old->heads_id[0]) b->compatible = 0;
    }
    b->sum.rebuilt = !b->compatible;
    int n = ds->n;
    b->clips = calloc((size_t)(n ? n : 1), sizeof *b->clips);
    b->from_old = malloc(sizeof(int) * (size_t)(n ? n : 1));
    b->hash = malloc(sizeof(uint64_t) * (size_t)(n ? n : 1));
    if (!b->clips || !b->from_old || !b->hash) return sv_err(ctx, SLAVA_E_NOMEM, "index: out of memory");
    int *seen = b->old ? calloc((size_t)(b->old->n ? b->old->n : 1), sizeof(int)) : NULL;
    if (b->old && !seen) return sv_err(ctx, SLAVA_E_NOMEM, "index: out of memory");
    for (int c = 0; c < n; c++) {
        const slava_clip *cl = &ds->clips[c];
        sx_clip *x = &b->clips[c];
        x->id = cl->id;
        x->split = cl->split;
        x->source = b->meta[c].source;
        x->duration = b->meta[c].duration;
        x->has_audio = cl->t_a > 0;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            x->n_cap[k] = cl->n_cap[k];
            x->cap[k] = cl->cap_text[k];
        }
        b->hash[c] = clip_hash(cl, ds->d_v, ds->d_a);
        int j = b->old ? slava_index_find_clip(b->old, cl->id) : -1;
        if (j >= 0) seen[j] = 1;
        /* rows are taken over when the features hash the same; other facts are just rewritten */
        b->from_old[c] = j >= 0 && b->compatible && b->hash[c] == b->old->hash[j] ? j : -1;
        if (j < 0) b->sum.added++;
        else if (b->from_old[c] >= 0 && same_facts(b, c, j)) b->sum.unchanged++;
        else b->sum.updated++;
    }
    if (b->old)
        for (int j = 0; j < b->old->n; j++) {
            if (!seen[j]) b->sum.removed++;
            for (int m = 0; m < 2; m++) b->sum.rows_removed += b->old->off[m][j + 1] - b->old->off[m][j];
        }
    free(seen);
    int64_t rows = 0;
    for (int c = 0; c < n; c++) {
        if (ds->clips[c].t_v) rows += ds->clips[c].t_v + 1;
        if (ds->clips[c].t_a) rows += ds->clips[c].t_a + 1;
    }
    b->sum.clips = n;
    b->sum.rows = rows;
    char *abs[5] = {abs_path(o->store), abs_path(o->heads), abs_path(o->clip_dir), abs_path(o->clap_dir), NULL};
    int ann = o->ann > 0 || (o->ann < 0 && rows >= SX_ANN_AUTO_ROWS);
    /* nothing changed at all: the file stays as it is (an approximate index is not rebuilt) */
    if (b->old && b->compatible && !b->sum.added && !b->sum.removed && !b->sum.updated && n == b->old->n &&
        same_str(abs[0], b->old->store) && same_str(abs[1], b->old->heads) && same_str(abs[2], b->old->clip_dir) &&
        same_str(abs[3], b->old->clap_dir) && same_str(enc[SLAVA_MOD_TEXT], b->old->enc[SLAVA_MOD_TEXT]) &&
        ann == (b->old->ann[0] || b->old->ann[1])) {
        b->sum.rows_removed = 0;
        for (int i = 0; i < 4; i++) free(abs[i]);
        return SLAVA_OK;
    }
    st = fill_rows(b);
    if (st) {
        for (int i = 0; i < 4; i++) free(abs[i]);
        return st;
    }
    /* rows of clips taken over are neither added nor removed */
    for (int c = 0; c < n; c++) {
        int64_t r = b->off[0][c + 1] - b->off[0][c] + b->off[1][c + 1] - b->off[1][c];
        if (b->from_old[c] >= 0) b->sum.rows_removed -= r;
        else b->sum.rows_added += r;
    }
    sx_write_in in = {
        .n = n, .P = P, .f16 = !!o->f16, .clips = b->clips, .hash = b->hash,
        .off = {b->off[0], b->off[1]}, .rows = {b->rows[0], b->rows[1]},
        .enc = {enc[0], enc[1], enc[2]}, .heads_id = b->heads_id,
        .store = abs[0], .heads = abs[1], .clip_dir = abs[2], .clap_dir = abs[3],
        .ann = ann,
    };
    st = sx_index_write(ctx, o->out, &in, &b->sum.ann_built);
    for (int i = 0; i < 4; i++) free(abs[i]);
    return st;
}

slava_status slava_index_build(slava_ctx *ctx, const slava_index_opts *o, slava_index_summary *sum) {
    double t0 = sv_now();
    build b;
    memset(&b, 0, sizeof b);
    b.ctx = ctx;
    b.o = o;
    slava_status st = run(&b);
    b.sum.seconds = sv_now() - t0;
    if (sum) *sum = b.sum;
    for (int m = 0; m < 2; m++) {
        free(b.off[m]);
        sv_free(b.rows[m]);
    }
    free(b.clips);
    free(b.from_old);
    free(b.hash);
    if (b.meta) sv_clip_meta_free(b.meta, b.ds.n);
    slava_dataset_free(&b.ds);
    slava_heads_free(b.heads);
    slava_index_free(b.old);
    return st;
}
