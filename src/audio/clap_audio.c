/*
 * clap_audio.c — the public CLAP audio encoder (slava_clap_audio_*): the mel front end (mel.c)
 * and the HTSAT tower + projection (htsat.c) behind one handle, plus the whole-file path that
 * streams a file chunk by chunk (chunk.c) in batches with bounded memory.
 */
#include "audio/clap_audio.h"
#include "audio/htsat.h"
#include "audio/mel.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>

struct slava_clap_audio {
    sv_htsat       *net;
    sv_mel         *fe;
    pthread_mutex_t ws_lock;   /* guards ws: one call at a time uses it, others allocate their own */
    sv_htsat_ws    *ws;        /* cached workspace for sub-batches of 8 (made on first use) */
};

#define WS_BATCH 8

/* Encode with the cached workspace when it is free, else with a temporary one. */
static slava_status encode(slava_ctx *ctx, slava_clap_audio *m, int n, const float *feat, float *pooled, float *proj) {
    if (pthread_mutex_trylock(&m->ws_lock) != 0) return sv_htsat_forward(ctx, m->net, NULL, n, feat, pooled, proj, NULL);
    slava_status st = SLAVA_OK;
    if (!m->ws) st = sv_htsat_ws_new(ctx, m->net, WS_BATCH, &m->ws);
    if (!st) st = sv_htsat_forward(ctx, m->net, m->ws, n, feat, pooled, proj, NULL);
    pthread_mutex_unlock(&m->ws_lock);
    return st;
}

/* preprocessor_config.json, when present, must describe the front end implemented in mel.c
 * (ClapFeatureExtractor of the unfused model); keys left out mean upstream's defaults. */
static slava_status check_preprocessor(slava_ctx *ctx, const char *dir) {
    char *path = sv_path_join(dir, "preprocessor_config.json");
    if (!path) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    if (!sv_file_exists(path)) { free(path); return SLAVA_OK; }
    char *buf = NULL;
    size_t len = 0;
    slava_status st = sv_read_file(ctx, path, &buf, &len);
    cJSON *root = st ? NULL : cJSON_Parse(buf);
    free(buf);
    if (!st && !cJSON_IsObject(root)) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: not a JSON object", path);
    static const struct { const char *key; double want; } nums[] = {
        {"sampling_rate", SV_MEL_RATE}, {"feature_size", SV_MEL_BINS}, {"fft_window_size", SV_MEL_NFFT},
        {"hop_length", SV_MEL_HOP}, {"frequency_min", SV_MEL_FMIN}, {"frequency_max", SV_MEL_FMAX},
        {"max_length_s", SV_MEL_SAMPLES / SV_MEL_RATE}};
    for (size_t i = 0; !st && i < SV_ARRAY_LEN(nums); i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, nums[i].key);
        if (j && !cJSON_IsNull(j) && (!cJSON_IsNumber(j) || j->valuedouble != nums[i].want))
            st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: \"%s\" must be %g (the CLAP front end slava implements)", path,
                        nums[i].key, nums[i].want);
    }
    static const struct { const char *key, *want; } strs[] = {{"truncation", "rand_trunc"}, {"padding", "repeatpad"}};
    for (size_t i = 0; !st && i < SV_ARRAY_LEN(strs); i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, strs[i].key);
        if (j && !cJSON_IsNull(j) && (!cJSON_IsString(j) || strcmp(j->valuestring, strs[i].want)))
            st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: \"%s\" must be \"%s\" (unfused CLAP)", path, strs[i].key,
                        strs[i].want);
    }
    const cJSON *tdb = root ? cJSON_GetObjectItemCaseSensitive(root, "top_db") : NULL;
    if (!st && tdb && !cJSON_IsNull(tdb))
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: \"top_db\" must be null", path);
    cJSON_Delete(root);
    free(path);
    return st;
}

slava_status slava_clap_audio_load(slava_ctx *ctx, const char *dir, slava_clap_audio **out) {
    return sv_clap_audio_load_prec(ctx, dir, SLAVA_PRECISION_FP32, out);
}

slava_status sv_clap_audio_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, slava_clap_audio **out) {
    *out = NULL;
    slava_clap_audio *m = calloc(1, sizeof *m);
    if (!m) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    pthread_mutex_init(&m->ws_lock, NULL);
    slava_status st = check_preprocessor(ctx, dir);
    if (!st) st = sv_htsat_load_prec(ctx, dir, prec, &m->net);
    if (!st && (m->net->M != SV_MEL_BINS || m->net->T != SV_MEL_FRAMES))
        st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s/config.json: num_mel_bins %d; the CLAP front end makes %d", dir,
                    m->net->M, SV_MEL_BINS);
    if (!st) st = sv_mel_new(ctx, &m->fe);
    if (!st) st = sv_gemm_reserve(ctx, dir);
    if (st) { slava_clap_audio_free(m); return st; }
    *out = m;
    return SLAVA_OK;
}

void slava_clap_audio_free(slava_clap_audio *m) {
    if (!m) return;
    sv_htsat_ws_free(m->ws);
    sv_htsat_free(m->net);
    sv_mel_free(m->fe);
    pthread_mutex_destroy(&m->ws_lock);
    free(m);
}

void slava_clap_audio_dims(const slava_clap_audio *m, int *pooled_dim, int *projected_dim) {
    if (pooled_dim) *pooled_dim = m->net->D;
    if (projected_dim) *projected_dim = m->net->P;
}

slava_status slava_clap_features(slava_ctx *ctx, const slava_clap_audio *m, const float *wave, int64_t n,
                                 int64_t crop_offset, float *features) {
    return sv_mel_features(ctx, m->fe, wave, n, crop_offset, features);
}

slava_status slava_clap_audio_encode(slava_ctx *ctx, const slava_clap_audio *m, int n, const float *features,
                                     float *pooled, float *projected) {
    return encode(ctx, (slava_clap_audio *)m, n, features, pooled, projected);
}

slava_status slava_clap_audio_embed_file(slava_ctx *ctx, const slava_clap_audio *m, const char *path, int batch,
                                         float **pooled, int *T, float *projected_mean) {
    *pooled = NULL;
    *T = 0;
    if (batch <= 0) batch = 8;
    const int D = m->net->D, P = m->net->P;
    const size_t fsz = (size_t)SV_MEL_FRAMES * SV_MEL_BINS;
    slava_audio *a = NULL;
    SV_TRY(slava_audio_open(ctx, path, &a));
    float *wave = sv_alloc(sizeof(float) * SLAVA_AUDIO_CHUNK);
    float *feat = sv_alloc(sizeof(float) * fsz * batch);
    float *proj = sv_alloc(sizeof(float) * (size_t)P * batch);
    double *sum = calloc((size_t)P, sizeof(double));
    float *rows = NULL;
    int cap = 0, t = 0;
    slava_status st = SLAVA_OK;
    if (!wave || !feat || !proj || !sum) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
    for (int end = 0; !end;) {
        int nb = 0;
        while (nb < batch) {
            int n = 0;
            st = slava_audio_next_chunk(ctx, a, wave, &n);
            if (st) goto done;
            if (n == 0) { end = 1; break; }
            st = sv_mel_features(ctx, m->fe, wave, n, -1, feat + (size_t)nb * fsz);
            if (st) { sv_err_prefix(ctx, "%s", path); goto done; }
            nb++;
        }
        if (nb == 0) break;
        if (t + nb > cap) {
            int ncap = cap ? cap * 2 : 16;
            while (ncap < t + nb) ncap *= 2;
            float *p = realloc(rows, sizeof(float) * (size_t)ncap * D);
            if (!p) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
            rows = p;
            cap = ncap;
        }
        st = encode(ctx, (slava_clap_audio *)m, nb, feat, rows + (size_t)t * D, proj);
        if (st) { sv_err_prefix(ctx, "%s", path); goto done; }
        for (int i = 0; i < nb; i++)
            for (int j = 0; j < P; j++) sum[j] += proj[(size_t)i * P + j];
        t += nb;
        if (sv_progress(ctx, "audio", t, 0, path)) { st = sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: interrupted", path); goto done; }
    }
    if (projected_mean)
        for (int j = 0; j < P; j++) projected_mean[j] = (float)(sum[j] / t);
    *pooled = rows;
    *T = t;
    rows = NULL;
done:
    free(rows);
    free(sum);
    sv_free(wave);
    sv_free(feat);
    sv_free(proj);
    slava_audio_close(a);
    return st;
}
