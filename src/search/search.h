/*
 * search.h — internals of the search index shared by src/search/: the index object, the exact
 * scan kernels (scores as a blocked matrix product, float32 or float16 rows), the top-k heap and
 * the approximate index (ann.cpp, a small C++ shim over FAISS). The public API is the "index and
 * search" section of include/slava.h.
 *
 * Index file (safetensors, docs/search.md has the layout):
 *   visual [Rv, P], audio [Ra, P]          F32 or F16, L2-normalised rows; the rows of clip c are
 *                                          [off[c], off[c+1]): first its pooled embedding, then
 *                                          one row per frame / chunk (none for a clip without audio)
 *   visual_offsets, audio_offsets [n+1]    I64
 *   clip_hash [n]                          U64 fingerprint of the clip's store features
 *   clips [bytes]                          U8, a JSON array: {id, split, source, duration,
 *                                          has_audio, captions: {kind: [text...]}}
 *   ann_visual, ann_audio [bytes]          U8, optional: serialised approximate indexes
 *   __metadata__                           format "slava-index/1", dim, dtype, fps, encoders, heads
 *                                          id, folders, store, rows of the approximate indexes
 */
#ifndef SLAVA_SEARCH_H
#define SLAVA_SEARCH_H

#include "base/base.h"
#include "io/safetensors.h"

#define SX_FORMAT "slava-index/1"
#define SX_ANN_AUTO_ROWS 200000   /* ann = -1: build an approximate index from this many rows */

/* One clip's facts (strings owned by the index). */
typedef struct {
    char   *id, *source;
    int     split;
    double  duration;
    int     has_audio;
    int     n_cap[SLAVA_CAP_KINDS];
    char  **cap[SLAVA_CAP_KINDS];
} sx_clip;

typedef struct sx_ann sx_ann;
typedef struct { const char *id; int clip; } sx_idref;

struct slava_index {
    char       *path;
    sv_stfile  *file;          /* mapped; row data points into it */
    int         n;             /* clips */
    int         P;             /* embedding size */
    int         f16;
    double      fps;
    const void *rows[2];       /* [SLAVA_MOD_VISUAL / SLAVA_MOD_AUDIO] rows, [n_rows[m], P] */
    int64_t     n_rows[2];
    int64_t    *off[2];        /* [n + 1] (copied, validated) */
    uint64_t   *hash;          /* [n] */
    sx_clip    *clips;         /* [n] */
    sx_idref   *by_id;         /* [n] clips sorted by id (slava_index_find_clip) */
    char        enc[SLAVA_MODS][SLAVA_ENCODER_ID_LEN];
    char        heads_id[65];
    char       *store, *heads, *clip_dir, *clap_dir;   /* NULL when not recorded */
    sx_ann     *ann[2];        /* NULL when absent */
    char        ann_kind[96];
};

/* ---- scan.c: scores of queries against rows (float32, or float16 stored as uint16_t). */

/* Row i of X dotted with q. */
float sx_dot(const void *X, int f16, int64_t i, int P, const float *q);
/* s[n] = X[n, P] · q (one query): streamed once through memory, split over the OpenMP team. */
void sx_scores1(const void *X, int f16, int64_t n, int P, const float *q, float *s);
/* S[nq, r1 - r0] (row stride lds) = Q[nq, P] · X[r0 .. r1)ᵀ with sv_gemm; float16 rows are
 * converted into tmp [(r1 - r0) * P] first. Runs on the OpenMP team. */
void sx_scores_block(const void *X, int f16, int64_t r0, int64_t r1, int P, const float *Q, int nq, float *S,
                     int64_t lds, float *tmp);
/* Rows r0 .. r1 of X as float32 into out [(r1 - r0) * P]. */
void sx_rows_f32(const void *X, int f16, int64_t r0, int64_t r1, int P, float *out);
/* float32 → float16 (round to nearest even), n values. */
void sx_f32_to_f16(const float *x, uint16_t *h, int64_t n);
/* Top-k rows for nq queries: ids / scores [nq, k], best first (ties: lower row), rows past n as
 * id -1, score -INFINITY. One query: sx_scores1 + heap; several: blocks of sx_scores_block.
 * Non-finite scores rank last. */
slava_status sx_topk_rows(slava_ctx *ctx, const void *X, int f16, int64_t n, int P, const float *Q, int nq,
                          int k, int64_t *ids, float *scores);

/* ---- topk.c: the k best (score, id) pairs; better = higher score, then lower id; NaN = -inf. */
typedef struct { float s; int64_t id; } sx_item;
typedef struct { int k, n; sx_item *a; } sx_heap;   /* a[k]: min-heap, the worst kept item on top */
void sx_heap_init(sx_heap *h, sx_item *buf, int k);
void sx_heap_push(sx_heap *h, float s, int64_t id);
/* The kept items best first into out (may be h->a); returns their count. Empties the heap. */
int  sx_heap_sorted(sx_heap *h, sx_item *out);
int  sx_better(float s1, int64_t id1, float s2, int64_t id2);

/* ---- ann.cpp: approximate inner-product search over unit rows, FAISS's HNSW graph on the
 * index's own rows (no copy of the vectors: distances come from the rows in the index file). */
typedef struct {
    int      M;                  /* neighbours per node on upper levels (2M on level 0) */
    int      entry, max_level, ef_construction;
    int64_t  n;                  /* rows */
    int32_t *levels;             /* [n] levels of each node (>= 1) */
    int64_t *offsets;            /* [n + 1] ranges into neighbors */
    int32_t *neighbors;          /* [offsets[n]], -1 = unused slot */
} sx_graph;
#define SX_ANN_M 32
#define SX_ANN_EF_CONSTRUCTION 100
#define SX_ANN_EF_SEARCH 256
/* Build the graph over X [n, P] float32 (on the OpenMP team); g's arrays are malloc'd. */
slava_status sx_ann_build(slava_ctx *ctx, const float *X, int64_t n, int P, int M, int ef_construction, sx_graph *g);
void         sx_graph_free(sx_graph *g);
/* Validate a graph read from path against n rows (corrupt → SLAVA_E_FORMAT naming path) and make
 * it searchable over the rows X (float32 or float16, borrowed: must outlive *out). */
slava_status sx_ann_load(slava_ctx *ctx, const char *path, const sx_graph *g, const void *X, int f16, int P,
                         sx_ann **out);
void         sx_ann_free(sx_ann *a);
/* The best kk rows for q (ids [kk], -1 past the end), breadth ef (>= kk). Thread-safe. */
slava_status sx_ann_search(slava_ctx *ctx, const sx_ann *a, const float *q, int kk, int ef, int64_t *ids);
/* "faiss-hnsw M=32 ef_construction=100". */
void         sx_ann_describe(const sx_graph *g, char *buf, size_t cap);

/* ---- index_file.c */
/* Frame / chunk k's interval of clip c (modality m), seconds. */
void sx_moment(const slava_index *ix, int c, int m, int k, double *t0, double *t1);
/* fps from a visual encoder id ("...@2fps" → 2; none → 1). */
double sx_fps_of(const char *visual_id);

/* ---- index_write.c: the file writer shared by build (tensors + metadata from an sx_build). */
typedef struct {
    int       n, P, f16;
    sx_clip  *clips;              /* [n] (borrowed) */
    uint64_t *hash;               /* [n] */
    int64_t  *off[2];             /* [n + 1] */
    float    *rows[2];            /* [off[m][n], P] float32 (converted when f16) */
    const char *enc[SLAVA_MODS];  /* "" or NULL when absent */
    const char *heads_id, *store, *heads, *clip_dir, *clap_dir;
    int       ann;                /* build approximate indexes */
} sx_write_in;
slava_status sx_index_write(slava_ctx *ctx, const char *path, const sx_write_in *in, int *ann_built);

#endif
