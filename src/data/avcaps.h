/*
 * avcaps.h — internals of the AVCaps reader (src/data/avcaps.c): a small string → int hash map
 * (open addressing, FNV-1a) used to index clip ids and video file stems, so that finding every
 * clip's video costs one directory scan plus one lookup per clip.
 * The public API (slava_collection, slava_collection_open, ...) is in include/slava.h.
 */
#ifndef SLAVA_DATA_AVCAPS_H
#define SLAVA_DATA_AVCAPS_H

#include "base/base.h"

/* Map from NUL-terminated strings to non-negative ints. Keys are borrowed: they must outlive
 * the map (they point into the owner's own records). */
typedef struct {
    const char **keys;   /* [cap] NULL = empty slot */
    int *vals;           /* [cap] */
    size_t cap, n;       /* cap is a power of two, kept ≥ 2·n */
} sv_strmap;

/* Returns 0 on success, -1 when out of memory. `hint` = expected number of keys. */
int  sv_strmap_init(sv_strmap *m, size_t hint);
void sv_strmap_free(sv_strmap *m);
/* Value of `key`, or -1 when absent. */
int  sv_strmap_get(const sv_strmap *m, const char *key);
/* Insert or overwrite. Returns 0 on success, -1 when out of memory. */
int  sv_strmap_put(sv_strmap *m, const char *key, int val);

/* The JSON key of each caption kind, in slava_caption_kind order. */
extern const char *const sv_caption_keys[SLAVA_CAP_KINDS];

#endif
