/*
 * ann.cpp — the approximate index: a small C++ shim over FAISS (Debian's libfaiss-dev) that
 * builds and searches FAISS's HNSW graph directly on the index's own rows.
 *
 * FAISS indexes normally own a copy of the vectors; here the vectors are the rows already in the
 * index file (float32 or float16), reached through a DistanceComputer over them, so the
 * approximate index costs only its graph (about 4·(2M + M/(M-1)) bytes per row). The graph's
 * arrays are stored as tensors of the index file by the C side and validated here before FAISS
 * sees them, so a corrupt file is an error, never a wild read. HNSW minimises a distance: searches
 * use minus the inner product (what FAISS's IndexHNSW does for METRIC_INNER_PRODUCT).
 * Searches are const and keep their state per call: any number of threads may search at once.
 */
extern "C" {
#include "search/search.h"
}
#include <faiss/IndexHNSW.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/HNSW.h>
#include <faiss/utils/Heap.h>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <vector>

namespace {

/* sign · (row i · query) over rows that live elsewhere: the storage below hands out sign = +1
 * (FAISS's builder negates inner products itself), searches use sign = -1 directly. */
struct RowsDistance : faiss::DistanceComputer {
    const void *X;
    int f16, P;
    float sign;
    const float *q = nullptr;
    RowsDistance(const void *X, int f16, int P, float sign) : X(X), f16(f16), P(P), sign(sign) {}
    void set_query(const float *x) override { q = x; }
    float operator()(idx_t i) override { return sign * sx_dot(X, f16, i, P, q); }
    float symmetric_dis(idx_t i, idx_t j) override {
        /* only used while building, on float32 rows */
        return sign * sx_dot(X, 0, i, P, (const float *)X + (size_t)j * P);
    }
};

/* A storage "index" that holds no vectors of its own: FAISS's HNSW builder asks it for
 * distance computers and for add() (which only counts rows that are already there). */
struct RowsStorage : faiss::Index {
    const float *X;
    RowsStorage(const float *X, int P) : faiss::Index(P, faiss::METRIC_INNER_PRODUCT), X(X) {}
    void add(idx_t n, const float *) override { ntotal += n; }
    void search(idx_t, const float *, idx_t, float *, idx_t *, const faiss::SearchParameters *) const override {
        FAISS_THROW_MSG("RowsStorage is not searched directly");
    }
    void reset() override { ntotal = 0; }
    faiss::DistanceComputer *get_distance_computer() const override { return new RowsDistance(X, 0, (int)d, 1.0f); }
};

}  // namespace

struct sx_ann {
    faiss::HNSW hnsw;
    const void *X;
    int f16, P;
    int64_t n;
    explicit sx_ann(int M) : hnsw(M) {}
};

extern "C" void sx_graph_free(sx_graph *g) {
    free(g->levels);
    free(g->offsets);
    free(g->neighbors);
    memset(g, 0, sizeof *g);
}

extern "C" slava_status sx_ann_build(slava_ctx *ctx, const float *X, int64_t n, int P, int M, int efc,
                                     sx_graph *g) {
    memset(g, 0, sizeof *g);
    if (n <= 0 || n > INT32_MAX) return sv_err(ctx, SLAVA_E_ARG, "approximate index: %lld rows", (long long)n);
    try {
        RowsStorage storage(X, P);
        faiss::IndexHNSW index(&storage, M);
        index.own_fields = false;
        index.metric_type = faiss::METRIC_INNER_PRODUCT;
        index.hnsw.efConstruction = efc;
        index.add(n, X);
        const faiss::HNSW &h = index.hnsw;
        g->M = M;
        g->entry = h.entry_point;
        g->max_level = h.max_level;
        g->ef_construction = efc;
        g->n = n;
        g->levels = (int32_t *)malloc(sizeof(int32_t) * (size_t)n);
        g->offsets = (int64_t *)malloc(sizeof(int64_t) * ((size_t)n + 1));
        g->neighbors = (int32_t *)malloc(sizeof(int32_t) * (h.neighbors.size() ? h.neighbors.size() : 1));
        if (!g->levels || !g->offsets || !g->neighbors) {
            sx_graph_free(g);
            return sv_err(ctx, SLAVA_E_NOMEM, "approximate index: out of memory (%lld rows)", (long long)n);
        }
        for (int64_t i = 0; i < n; i++) g->levels[i] = h.levels[i];
        for (int64_t i = 0; i <= n; i++) g->offsets[i] = (int64_t)h.offsets[i];
        memcpy(g->neighbors, h.neighbors.data(), sizeof(int32_t) * h.neighbors.size());
    } catch (const std::bad_alloc &) {
        sx_graph_free(g);
        return sv_err(ctx, SLAVA_E_NOMEM, "approximate index: out of memory (%lld rows)", (long long)n);
    } catch (const std::exception &e) {
        sx_graph_free(g);
        return sv_err(ctx, SLAVA_E_INTERNAL, "approximate index: FAISS: %s", e.what());
    }
    return SLAVA_OK;
}

extern "C" slava_status sx_ann_load(slava_ctx *ctx, const char *path, const sx_graph *g, const void *X, int f16,
                                    int P, sx_ann **out) {
    *out = nullptr;
    if (g->M < 2 || g->M > 1024 || g->n <= 0 || g->n > INT32_MAX)
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: approximate index: bad M %d or size %lld", path, g->M, (long long)g->n);
    sx_ann *a = nullptr;
    try {
        a = new sx_ann(g->M);
        faiss::HNSW &h = a->hnsw;
        int64_t n = g->n, levels = (int64_t)h.cum_nneighbor_per_level.size() - 1;
        const char *bad = nullptr;
        if (g->offsets[0] != 0) bad = "offsets";
        for (int64_t i = 0; !bad && i < n; i++) {
            if (g->levels[i] < 1 || g->levels[i] > levels) bad = "levels";
            /* offsets[i] is a sum of the checked counts so far: adding one more cannot overflow */
            else if (g->offsets[i + 1] != g->offsets[i] + (int64_t)h.cum_nb_neighbors(g->levels[i])) bad = "offsets";
        }
        for (int64_t j = 0; !bad && j < g->offsets[n]; j++)
            if (g->neighbors[j] < -1 || g->neighbors[j] >= n) bad = "neighbours";
        if (!bad && (g->entry < 0 || g->entry >= n || g->max_level != g->levels[g->entry] - 1)) bad = "entry point";
        if (bad) {
            delete a;
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: approximate index: %s are inconsistent", path, bad);
        }
        h.levels.assign(g->levels, g->levels + n);
        h.offsets.resize((size_t)n + 1);
        for (int64_t i = 0; i <= n; i++) h.offsets[i] = (size_t)g->offsets[i];
        h.neighbors.assign(g->neighbors, g->neighbors + g->offsets[n]);
        h.entry_point = g->entry;
        h.max_level = g->max_level;
        h.efConstruction = g->ef_construction;
        a->X = X;
        a->f16 = f16;
        a->P = P;
        a->n = n;
    } catch (const std::bad_alloc &) {
        delete a;
        return sv_err(ctx, SLAVA_E_NOMEM, "%s: approximate index: out of memory", path);
    } catch (const std::exception &e) {
        delete a;
        return sv_err(ctx, SLAVA_E_INTERNAL, "%s: approximate index: FAISS: %s", path, e.what());
    }
    *out = a;
    return SLAVA_OK;
}

extern "C" void sx_ann_free(sx_ann *a) { delete a; }

extern "C" slava_status sx_ann_search(slava_ctx *ctx, const sx_ann *a, const float *q, int kk, int ef,
                                      int64_t *ids) {
    if (kk <= 0) return SLAVA_OK;
    try {
        RowsDistance dis(a->X, a->f16, a->P, -1.0f);
        dis.set_query(q);
        faiss::VisitedTable vt((int)a->n);
        /* HNSW::search sizes its candidate queue with the larger of the graph's efSearch (shared,
         * so left alone) and k, and bounds its steps with the parameters' efSearch: asking for the
         * ef best and keeping the kk first is a breadth-ef search without touching shared state. */
        int k = ef > kk ? ef : kk;
        faiss::SearchParametersHNSW params;
        params.efSearch = k;
        std::vector<float> D((size_t)k);
        std::vector<faiss::Index::idx_t> I((size_t)k);
        /* HNSW::search fills a max-heap of distances that the caller prepares and sorts */
        faiss::maxheap_heapify(k, D.data(), I.data());
        a->hnsw.search(dis, k, I.data(), D.data(), vt, &params);
        faiss::maxheap_reorder(k, D.data(), I.data());
        for (int i = 0; i < kk; i++) ids[i] = I[i];
    } catch (const std::bad_alloc &) {
        return sv_err(ctx, SLAVA_E_NOMEM, "approximate search: out of memory");
    } catch (const std::exception &e) {
        return sv_err(ctx, SLAVA_E_INTERNAL, "approximate search: FAISS: %s", e.what());
    }
    return SLAVA_OK;
}

extern "C" void sx_ann_describe(const sx_graph *g, char *buf, size_t cap) {
    snprintf(buf, cap, "faiss-hnsw M=%d ef_construction=%d", g->M, g->ef_construction);
}
