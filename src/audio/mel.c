/*
 * mel.c — CLAP's log-mel front end (ClapFeatureExtractor, unfused, rand_trunc + repeatpad).
 * See mel.h for the definition being matched. The filter bank follows transformers'
 * audio_utils.mel_filter_bank(norm="slaney", mel_scale="slaney") in double precision; the STFT
 * uses one FFTW single-precision r2c plan made at construction and executed with per-thread
 * buffers (fftwf_execute_dft_r2c is thread-safe, planning is not: it is serialised here).
 */
#include "audio/mel.h"
#include "nn/vmath.h"
#include <pthread.h>
#include <fftw3.h>

struct sv_mel {
    float      window[SV_MEL_NFFT];          /* periodic Hann */
    double    *fb;                           /* [NFREQ, BINS] dense, double (reference / tests) */
    int        lo[SV_MEL_BINS], cnt[SV_MEL_BINS]; /* non-zero bin range of each filter */
    float     *w;                            /* packed weights: filter b uses w[off[b] .. +cnt[b]) */
    int        off[SV_MEL_BINS];
    fftwf_plan plan;                         /* r2c, NFFT, in place (buffer of 2·NFREQ floats) */
};

/* FFTW's planner is not thread-safe; plans are made and destroyed under this lock. */
#define DB_PER_LN 4.342944819032518f   /* 10 / ln 10 */

static pthread_mutex_t fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;

static double hz_to_mel_slaney(double f) {
    const double min_log_hz = 1000.0, min_log_mel = 15.0, logstep = 27.0 / log(6.4);
    return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) * logstep : 3.0 * f / 200.0;
}

static double mel_to_hz_slaney(double m) {
    const double min_log_hz = 1000.0, min_log_mel = 15.0, logstep = log(6.4) / 27.0;
    return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : 200.0 * m / 3.0;
}

/* numpy.linspace(a, b, n)[i] */
static double linspace(double a, double b, int n, int i) {
    if (i == n - 1) return b;
    double step = (b - a) / (n - 1);
    return a + i * step;
}

static void build_filter_bank(double *fb) {
    double ff[SV_MEL_BINS + 2];
    double mmin = hz_to_mel_slaney(SV_MEL_FMIN), mmax = hz_to_mel_slaney(SV_MEL_FMAX);
    for (int i = 0; i < SV_MEL_BINS + 2; i++) ff[i] = mel_to_hz_slaney(linspace(mmin, mmax, SV_MEL_BINS + 2, i));
    for (int k = 0; k < SV_MEL_NFREQ; k++) {
        double f = linspace(0.0, SV_MEL_RATE / 2, SV_MEL_NFREQ, k);
        for (int b = 0; b < SV_MEL_BINS; b++) {
            double down = (f - ff[b]) / (ff[b + 1] - ff[b]);
            double up = (ff[b + 2] - f) / (ff[b + 2] - ff[b + 1]);
            double v = down < up ? down : up;
            if (v < 0) v = 0;
            fb[(size_t)k * SV_MEL_BINS + b] = v * (2.0 / (ff[b + 2] - ff[b]));
        }
    }
}

void sv_mel_free(sv_mel *m) {
    if (!m) return;
    if (m->plan) {
        pthread_mutex_lock(&fftw_plan_lock);
        fftwf_destroy_plan(m->plan);
        pthread_mutex_unlock(&fftw_plan_lock);
    }
    free(m->fb);
    free(m->w);
    free(m);
}

const double *sv_mel_filter_bank(const sv_mel *m) { return m->fb; }

slava_status sv_mel_new(slava_ctx *ctx, sv_mel **out) {
    *out = NULL;
    sv_mel *m = calloc(1, sizeof *m);
    if (!m) return sv_err(ctx, SLAVA_E_NOMEM, "mel front end: out of memory");
    for (int i = 0; i < SV_MEL_NFFT; i++)
        m->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / SV_MEL_NFFT));
    m->fb = malloc(sizeof(double) * SV_MEL_NFREQ * SV_MEL_BINS);
    if (!m->fb) { sv_mel_free(m); return sv_err(ctx, SLAVA_E_NOMEM, "mel front end: out of memory"); }
    build_filter_bank(m->fb);
    /* sparse form: each filter's contiguous non-zero range */
    int total = 0;
    for (int b = 0; b < SV_MEL_BINS; b++) {
        int lo = -1, hi = -1;
        for (int k = 0; k < SV_MEL_NFREQ; k++)
            if (m->fb[(size_t)k * SV_MEL_BINS + b] != 0.0) { if (lo < 0) lo = k; hi = k; }
        m->lo[b] = lo < 0 ? 0 : lo;
        m->cnt[b] = lo < 0 ? 0 : hi - lo + 1;
        m->off[b] = total;
        total += m->cnt[b];
    }
    m->w = malloc(sizeof(float) * (size_t)(total ? total : 1));
    if (!m->w) { sv_mel_free(m); return sv_err(ctx, SLAVA_E_NOMEM, "mel front end: out of memory"); }
    for (int b = 0; b < SV_MEL_BINS; b++)
        for (int i = 0; i < m->cnt[b]; i++) m->w[m->off[b] + i] = (float)m->fb[(size_t)(m->lo[b] + i) * SV_MEL_BINS + b];

    /* In place: ≈ 10 % faster than out of place with FFTW_ESTIMATE. FFTW_MEASURE would be faster
     * still, but its choice of algorithm (and so the last bits of the output) may vary per run. */
    float *buf = fftwf_malloc(sizeof(float) * 2 * SV_MEL_NFREQ);
    if (buf) {
        pthread_mutex_lock(&fftw_plan_lock);
        m->plan = fftwf_plan_dft_r2c_1d(SV_MEL_NFFT, buf, (fftwf_complex *)buf, FFTW_ESTIMATE);
        pthread_mutex_unlock(&fftw_plan_lock);
    }
    fftwf_free(buf);
    if (!m->plan) { sv_mel_free(m); return sv_err(ctx, SLAVA_E_INTERNAL, "mel front end: FFTW plan failed"); }
    *out = m;
    return SLAVA_OK;
}

/* Sample i of the 10 s signal after crop / repeat-pad. */
typedef struct {
    const float *x;
    int64_t n;        /* source samples used (after crop) */
    int64_t filled;   /* samples covered by whole repeats; beyond: zeros */
} sig10;

static inline float sig_at(const sig10 *s, int64_t i) {
    if (i >= s->filled) return 0.0f;
    return s->x[i < s->n ? i : i % s->n];
}

/* Sample p (may be outside [0, SAMPLES)) of the reflect-padded signal, p relative to the start. */
static inline float padded_at(const sig10 *s, int64_t p) {
    if (p < 0) p = -p;
    else if (p >= SV_MEL_SAMPLES) p = 2 * (SV_MEL_SAMPLES - 1) - p;
    return sig_at(s, p);
}

/* dst[0..len) = samples [start, start + len) of the 10 s signal (inside [0, SAMPLES)), copied in
 * contiguous runs of the repeated source. */
static void fill(const sig10 *s, int64_t start, int len, float *dst) {
    int64_t i = start;
    int k = 0;
    while (k < len) {
        if (i >= s->filled) { memset(dst + k, 0, sizeof(float) * (size_t)(len - k)); return; }
        int64_t idx = i < s->n ? i : i % s->n;
        int64_t run = s->n - idx;
        if (run > s->filled - i) run = s->filled - i;
        if (run > len - k) run = len - k;
        memcpy(dst + k, s->x + idx, sizeof(float) * (size_t)run);
        k += (int)run;
        i += run;
    }
}

/* One frame t of the centred STFT input (reflect padding at both ends), windowed. */
static void frame(const sv_mel *m, const sig10 *s, int t, float *buf) {
    int64_t start = (int64_t)t * SV_MEL_HOP - SV_MEL_NFFT / 2;
    int lo = start < 0 ? (int)-start : 0;
    int hi = start + SV_MEL_NFFT > SV_MEL_SAMPLES ? (int)(SV_MEL_SAMPLES - start) : SV_MEL_NFFT;
    for (int j = 0; j < lo; j++) buf[j] = padded_at(s, start + j);
    fill(s, start + lo, hi - lo, buf + lo);
    for (int j = hi; j < SV_MEL_NFFT; j++) buf[j] = padded_at(s, start + j);
    for (int j = 0; j < SV_MEL_NFFT; j++) buf[j] *= m->window[j];
}

slava_status sv_mel_features(slava_ctx *ctx, const sv_mel *m, const float *wave, int64_t n,
                             int64_t crop_offset, float *out) {
    if (n <= 0) return sv_err(ctx, SLAVA_E_ARG, "mel front end: empty waveform");
    sig10 s;
    if (n > SV_MEL_SAMPLES) {
        if (crop_offset < 0 || crop_offset > n - SV_MEL_SAMPLES)
            return sv_err(ctx, SLAVA_E_ARG, "mel front end: %lld samples need a crop offset in [0, %lld], got %lld",
                          (long long)n, (long long)(n - SV_MEL_SAMPLES), (long long)crop_offset);
        s.x = wave + crop_offset;
        s.n = SV_MEL_SAMPLES;
        s.filled = SV_MEL_SAMPLES;
    } else {
        s.x = wave;
        s.n = n;
        s.filled = (SV_MEL_SAMPLES / n) * n;   /* np.tile(x, int(max/n)) then zero padding */
    }
    for (int64_t i = 0; i < s.n; i++)
        if (!isfinite(s.x[i]))
            return sv_err(ctx, SLAVA_E_ARG, "mel front end: sample %lld is not a finite number", (long long)i);

    int fail = 0;
#pragma omp parallel
    {
        float *buf = fftwf_malloc(sizeof(float) * 2 * SV_MEL_NFREQ);   /* frame in, spectrum out */
        fftwf_complex *spec = (fftwf_complex *)buf;
        float power[SV_MEL_NFREQ];
        if (!buf) {
#pragma omp atomic write
            fail = 1;
        } else {
#pragma omp for schedule(static)
            for (int t = 0; t < SV_MEL_FRAMES; t++) {
                frame(m, &s, t, buf);
                fftwf_execute_dft_r2c(m->plan, buf, spec);
                for (int k = 0; k < SV_MEL_NFREQ; k++) power[k] = spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1];
                float *o = out + (size_t)t * SV_MEL_BINS;
                for (int b = 0; b < SV_MEL_BINS; b++) {
                    const float *w = m->w + m->off[b];
                    const float *p = power + m->lo[b];
                    float acc = 0.0f;
                    for (int i = 0; i < m->cnt[b]; i++) acc += w[i] * p[i];
                    o[b] = acc > 1e-10f ? acc : 1e-10f;
                }
                #pragma omp simd
                for (int b = 0; b < SV_MEL_BINS; b++) o[b] = DB_PER_LN * logf(o[b]);   /* 10·log10 */
            }
        }
        fftwf_free(buf);
    }
    if (fail) return sv_err(ctx, SLAVA_E_NOMEM, "mel front end: out of memory");
    return SLAVA_OK;
}
