/*
 * topk.c — the k best (score, id) pairs of a stream with a binary min-heap: the worst kept item
 * sits on top, so each new score costs one comparison unless it enters the top k. Order: higher
 * score first, then lower id (deterministic ties); NaN ranks below every number.
 */
#include "search/search.h"
#include <math.h>

static float key(float s) { return isnan(s) ? -INFINITY : s; }

int sx_better(float s1, int64_t id1, float s2, int64_t id2) {
    s1 = key(s1);
    s2 = key(s2);
    return s1 > s2 || (s1 == s2 && id1 < id2);
}

void sx_heap_init(sx_heap *h, sx_item *buf, int k) {
    h->k = k;
    h->n = 0;
    h->a = buf;
}

static void sift_down(sx_item *a, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && sx_better(a[w].s, a[w].id, a[l].s, a[l].id)) w = l;
        if (r < n && sx_better(a[w].s, a[w].id, a[r].s, a[r].id)) w = r;
        if (w == i) return;
        sx_item t = a[i]; a[i] = a[w]; a[w] = t;
        i = w;
    }
}

void sx_heap_push(sx_heap *h, float s, int64_t id) {
    if (h->k <= 0) return;
    if (h->n < h->k) {
        int i = h->n++;
        h->a[i].s = s;
        h->a[i].id = id;
        while (i > 0) {   /* sift up: a parent must be worse than its children */
            int p = (i - 1) / 2;
            if (!sx_better(h->a[p].s, h->a[p].id, h->a[i].s, h->a[i].id)) break;
            sx_item t = h->a[i]; h->a[i] = h->a[p]; h->a[p] = t;
            i = p;
        }
        return;
    }
    if (!sx_better(s, id, h->a[0].s, h->a[0].id)) return;
    h->a[0].s = s;
    h->a[0].id = id;
    sift_down(h->a, h->n, 0);
}

int sx_heap_sorted(sx_heap *h, sx_item *out) {
    int n = h->n;
    /* heap sort in place: repeatedly move the worst to the end of the live part */
    for (int end = n - 1; end > 0; end--) {
        sx_item t = h->a[0]; h->a[0] = h->a[end]; h->a[end] = t;
        sift_down(h->a, end, 0);
    }
    /* now a[0..n) is best first */
    if (out != h->a) memcpy(out, h->a, sizeof *out * (size_t)n);
    h->n = 0;
    return n;
}
