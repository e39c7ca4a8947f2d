/*
 * vmath.h — lets GCC vectorise loops over expf / erff / logf with glibc's vector math library
 * (libmvec, linked through libm): the same redeclarations glibc's <math.h> makes under
 * -ffast-math, but without fast-math's other effects. Loops that should use them carry
 * `#pragma omp simd`. libmvec's float variants are accurate to a few ulp.
 * SV_FMA(a, b, c) = a·b + c, fused where the target has FMA (the build uses -std=c11, which turns
 * off implicit contraction).
 */
#ifndef SLAVA_VMATH_H
#define SLAVA_VMATH_H

#include <math.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((simd("notinbranch"))) float expf(float);
__attribute__((simd("notinbranch"))) float erff(float);
__attribute__((simd("notinbranch"))) float logf(float);
#endif

#ifdef __FMA__
#define SV_FMA(a, b, c) fmaf((a), (b), (c))
#else
#define SV_FMA(a, b, c) ((a) * (b) + (c))
#endif

#endif
