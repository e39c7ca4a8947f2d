/*
 * rng.h — the one deterministic random generator (xoshiro256**, seeded by splitmix64), used for
 * random-weight checkpoints, head initialisation, batch order, caption draws and synthetic data.
 * Same seed → same stream on every machine.
 */
#ifndef SLAVA_RNG_H
#define SLAVA_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; int has_spare; double spare; } sv_rng;

void     sv_rng_seed(sv_rng *r, uint64_t seed);
uint64_t sv_rng_u64(sv_rng *r);
double   sv_rng_uniform(sv_rng *r);            /* [0, 1) */
uint64_t sv_rng_below(sv_rng *r, uint64_t n);  /* uniform in [0, n), unbiased */
double   sv_rng_normal(sv_rng *r);             /* N(0, 1) */
void     sv_rng_shuffle_int(sv_rng *r, int *a, int n);

#endif
