/*
 * clip_vision.c — CLIP image tower: load from a Hugging Face CLIP folder and run it on batches
 * of preprocessed frames. Layout and shapes: clip_vision.h. The transformer block is the shared
 * one (nn.h: sv_block_forward); this file only adds what is specific to the image tower:
 * patch embedding as one GEMM over an im2col matrix, class token, positions, the two extra
 * layer norms and the projection.
 */
#include "vision/clip_vision.h"
#include <stdio.h>

static slava_status get(slava_ctx *ctx, sv_weights *w, const char *name, const float **out, int ndim,
                        int d0, int d1) {
    return ndim == 1 ? sv_weights_get(ctx, w, name, out, 1, d0) : sv_weights_get(ctx, w, name, out, 2, d0, d1);
}

slava_status slava_clip_vision_load(slava_ctx *ctx, const char *dir, slava_clip_vision **out) {
    return sv_clip_vision_load_prec(ctx, dir, SLAVA_PRECISION_FP32, out);
}

slava_status sv_clip_vision_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, slava_clip_vision **out) {
    *out = NULL;
    slava_clip_vision *m = calloc(1, sizeof *m);
    if (!m) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    sv_clip_cfg cfg;
    slava_status st = sv_clip_config_load(ctx, dir, &cfg);
    if (st != SLAVA_OK) goto fail;
    m->cfg = cfg.vision;
    m->proj_dim = cfg.projection_dim;
    const sv_clip_tower_cfg *c = &m->cfg;
    m->S = c->image_size;
    m->P = c->patch_size;
    m->C = c->num_channels;
    m->D = c->hidden;
    if (m->P <= 0 || m->S < m->P || m->C != 3 || m->D <= 0 || c->heads <= 0 || m->D % c->heads) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s/config.json: vision_config has image_size %d, patch_size %d, "
                    "num_channels %d, hidden_size %d, heads %d: not a usable CLIP image tower",
                    dir, m->S, m->P, m->C, m->D, c->heads);
        goto fail;
    }
    m->G = m->S / m->P;
    m->L = 1 + m->G * m->G;
    st = slava_clip_preproc_load(ctx, dir, &m->pre);
    if (st != SLAVA_OK) goto fail;
    st = sv_weights_open(ctx, dir, &m->w);
    if (st != SLAVA_OK) goto fail;
    const int D = m->D;
    sv_weights *w = m->w;
    const float *patch_w, *proj_w;
    m->prec = prec;
    if ((st = sv_weights_get(ctx, w, "vision_model.embeddings.patch_embedding.weight", &patch_w, 4, D, m->C,
                             m->P, m->P)) != SLAVA_OK ||
        (st = sv_mat_init1(ctx, &m->patch, patch_w, D, m->C * m->P * m->P, prec, sv_weights_drop, w)) != SLAVA_OK ||
        (st = get(ctx, w, "vision_model.embeddings.class_embedding", &m->class_emb, 1, D, 0)) != SLAVA_OK ||
        (st = get(ctx, w, "vision_model.embeddings.position_embedding.weight", &m->pos_emb, 2, m->L, D)) != SLAVA_OK ||
        (st = get(ctx, w, "vision_model.pre_layrnorm.weight", &m->pre_ln_w, 1, D, 0)) != SLAVA_OK ||
        (st = get(ctx, w, "vision_model.pre_layrnorm.bias", &m->pre_ln_b, 1, D, 0)) != SLAVA_OK ||
        (st = get(ctx, w, "vision_model.post_layernorm.weight", &m->post_ln_w, 1, D, 0)) != SLAVA_OK ||
        (st = get(ctx, w, "vision_model.post_layernorm.bias", &m->post_ln_b, 1, D, 0)) != SLAVA_OK ||
        (st = get(ctx, w, "visual_projection.weight", &proj_w, 2, m->proj_dim, D)) != SLAVA_OK ||
        (st = sv_mat_init1(ctx, &m->proj, proj_w, m->proj_dim, D, prec, sv_weights_drop, w)) != SLAVA_OK)
        goto fail;
    m->bcfg.D = D;
    m->bcfg.H = c->heads;
    m->bcfg.F = c->intermediate;
    m->bcfg.ln_eps = c->ln_eps;
    m->bcfg.quick_gelu = c->act_quick_gelu;
    m->blocks = calloc(c->layers > 0 ? c->layers : 1, sizeof *m->blocks);
    if (!m->blocks) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir); goto fail; }
    const int F = c->intermediate;
    for (int l = 0; l < c->layers; l++) {
        char name[160];
        const float *qw, *qb, *kw, *kb, *vw, *vb;
        sv_block_w *b = &m->blocks[l];
#define LAYER(field, suffix, nd, a, bdim) \
        snprintf(name, sizeof name, "vision_model.encoder.layers.%d.%s", l, suffix); \
        if ((st = get(ctx, w, name, field, nd, a, bdim)) != SLAVA_OK) goto fail;
        LAYER(&b->ln1_w, "layer_norm1.weight", 1, D, 0)
        LAYER(&b->ln1_b, "layer_norm1.bias", 1, D, 0)
        LAYER(&qw, "self_attn.q_proj.weight", 2, D, D)
        LAYER(&qb, "self_attn.q_proj.bias", 1, D, 0)
        LAYER(&kw, "self_attn.k_proj.weight", 2, D, D)
        LAYER(&kb, "self_attn.k_proj.bias", 1, D, 0)
        LAYER(&vw, "self_attn.v_proj.weight", 2, D, D)
        LAYER(&vb, "self_attn.v_proj.bias", 1, D, 0)
        LAYER(&b->o_w, "self_attn.out_proj.weight", 2, D, D)
        LAYER(&b->o_b, "self_attn.out_proj.bias", 1, D, 0)
        LAYER(&b->ln2_w, "layer_norm2.weight", 1, D, 0)
        LAYER(&b->ln2_b, "layer_norm2.bias", 1, D, 0)
        LAYER(&b->fc1_w, "mlp.fc1.weight", 2, F, D)
        LAYER(&b->fc1_b, "mlp.fc1.bias", 1, F, 0)
        LAYER(&b->fc2_w, "mlp.fc2.weight", 2, D, F)
        LAYER(&b->fc2_b, "mlp.fc2.bias", 1, D, 0)
#undef LAYER
        if ((st = sv_block_prepare(ctx, b, &m->bcfg, prec, qw, qb, kw, kb, vw, vb, sv_weights_drop, w)) != SLAVA_OK)
            goto fail;
    }
    if ((st = sv_gemm_reserve(ctx, dir)) != SLAVA_OK) goto fail;
    *out = m;
    return SLAVA_OK;
fail:
    slava_clip_vision_free(m);
    return st;
}

void slava_clip_vision_free(slava_clip_vision *m) {
    if (!m) return;
    if (m->blocks)
        for (int l = 0; l < m->cfg.layers; l++) sv_block_free(&m->blocks[l]);
    free(m->blocks);
    sv_mat_free(&m->patch);
    sv_mat_free(&m->proj);
    sv_weights_free(m->w);
    free(m);
}

void slava_clip_vision_dims(const slava_clip_vision *m, int *image_size, int *hidden, int *proj) {
    if (image_size) *image_size = m->S;
    if (hidden) *hidden = m->D;
    if (proj) *proj = m->proj_dim;
}

const slava_clip_preproc *slava_clip_vision_preproc(const slava_clip_vision *m) { return &m->pre; }

/* cols [n*G*G, C*P*P]: row (b, gy, gx) holds patch (gy, gx) of frame b in the conv weight's
 * (c, ky, kx) order, so that cols · patch_wᵀ is the stride-P convolution. */
static void im2col(const slava_clip_vision *m, int n, const float *pixels, float *cols) {
    const int S = m->S, P = m->P, G = m->G, C = m->C, K = C * P * P;
    #pragma omp parallel for collapse(2) schedule(static) if (n >= 8)
    for (int b = 0; b < n; b++)
        for (int gy = 0; gy < G; gy++)
            for (int gx = 0; gx < G; gx++) {
                float *row = cols + ((size_t)(b * G + gy) * G + gx) * K;
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < P; ky++) {
                        const float *src = pixels + (((size_t)b * C + c) * S + (size_t)gy * P + ky) * S + (size_t)gx * P;
                        memcpy(row + (c * P + ky) * P, src, sizeof(float) * P);
                    }
            }
}

slava_status sv_clip_vision_forward(slava_ctx *ctx, const slava_clip_vision *m, int n, const float *pixels,
                                    float *last_hidden, float *pooled, float *projected) {
    if (n < 0) return sv_err(ctx, SLAVA_E_ARG, "clip vision: negative frame count %d", n);
    if (n == 0) return SLAVA_OK;
    const int D = m->D, L = m->L, GG = m->G * m->G, K = m->C * m->P * m->P, S = m->S;
    const int B = n < SV_CLIP_VISION_BATCH ? n : SV_CLIP_VISION_BATCH;
    size_t scratch_n = sv_block_scratch_floats(&m->bcfg, B * L);
    /* activations in this thread's tower buffer (kept between calls: a 32-frame batch needs ~40 MB,
     * whose fresh pages cost the kernel's page zeroing on every call when allocated per call) */
    const size_t nh = (size_t)B * L * D, nc = (size_t)B * GG * K, ne = (size_t)B * GG * D, nl = (size_t)B * D;
    const size_t pad = 16;   /* floats: keeps each part 64-byte aligned */
    const size_t part[5] = {nh, nc, ne, scratch_n ? scratch_n : 1, nl};
    size_t total = 0;
    for (int i = 0; i < 5; i++) total += (part[i] + pad - 1) / pad * pad;
    float *buf = sv_thread_buffer(SV_SCRATCH_TOWER, sizeof(float) * total + sizeof(int) * (size_t)(B + 1));
    float *h = buf, *cols = NULL, *emb = NULL, *scratch = NULL, *cls = NULL;
    int *offs = NULL;
    if (buf) {
        float *q[5];
        size_t at = 0;
        for (int i = 0; i < 5; i++) { q[i] = buf + at; at += (part[i] + pad - 1) / pad * pad; }
        h = q[0]; cols = q[1]; emb = q[2]; scratch = q[3]; cls = q[4];
        offs = (int *)(buf + at);
    }
    slava_status st = SLAVA_OK;
    if (!h || !cols || !emb || !scratch || !cls || !offs) {
        st = sv_err(ctx, SLAVA_E_NOMEM, "clip vision: out of memory for a batch of %d frames", B);
        goto done;
    }
    for (int i0 = 0; i0 < n; i0 += B) {
        const int nb = n - i0 < B ? n - i0 : B;
        const float *px = pixels + (size_t)i0 * m->C * S * S;
        /* patch embedding: one GEMM */
        im2col(m, nb, px, cols);
        sv_mat_mul(&m->patch, cols, nb * GG, K, NULL, SV_ACT_NONE, 0, emb, D);
        /* [CLS ; patches] + positions */
        for (int b = 0; b < nb; b++) {
            float *hb = h + (size_t)b * L * D;
            for (int d = 0; d < D; d++) hb[d] = m->class_emb[d] + m->pos_emb[d];
            for (int p = 0; p < GG; p++) {
                const float *e = emb + ((size_t)b * GG + p) * D;
                const float *pos = m->pos_emb + (size_t)(1 + p) * D;
                float *r = hb + (size_t)(1 + p) * D;
                for (int d = 0; d < D; d++) r[d] = e[d] + pos[d];
            }
        }
        sv_layernorm(h, h, nb * L, D, m->pre_ln_w, m->pre_ln_b, m->cfg.ln_eps);
        for (int b = 0; b <= nb; b++) offs[b] = b * L;
        for (int l = 0; l < m->cfg.layers; l++) {
            if (sv_cancelled(ctx)) { st = sv_err(ctx, SLAVA_E_INTERRUPTED, "clip vision: interrupted"); goto done; }
            sv_block_forward(&m->bcfg, &m->blocks[l], h, nb, offs, 0, scratch);
        }
        if (last_hidden) memcpy(last_hidden + (size_t)i0 * L * D, h, sizeof(float) * (size_t)nb * L * D);
        for (int b = 0; b < nb; b++) memcpy(cls + (size_t)b * D, h + (size_t)b * L * D, sizeof(float) * D);
        sv_layernorm(cls, cls, nb, D, m->post_ln_w, m->post_ln_b, m->cfg.ln_eps);
        if (pooled) memcpy(pooled + (size_t)i0 * D, cls, sizeof(float) * (size_t)nb * D);
        if (projected) sv_mat_mul(&m->proj, cls, nb, D, NULL, SV_ACT_NONE, 0, projected + (size_t)i0 * m->proj_dim, m->proj_dim);
    }
done:
    return st;
}

slava_status slava_clip_vision_encode(slava_ctx *ctx, const slava_clip_vision *m, int n, const float *pixels,
                                      float *pooled, float *projected) {
    return sv_clip_vision_forward(ctx, m, n, pixels, NULL, pooled, projected);
}

slava_status slava_clip_vision_embed_file(slava_ctx *ctx, const slava_clip_vision *m, const char *path, double fps,
                                          int batch, float **pooled, int *T, float *projected_mean) {
    *pooled = NULL;
    *T = 0;
    if (batch <= 0) batch = SV_CLIP_VISION_BATCH;
    const size_t fs = (size_t)m->C * m->S * m->S;
    const int D = m->D, P = m->proj_dim;
    float *px = sv_alloc(sizeof(float) * fs * batch), *proj = sv_alloc(sizeof(float) * (size_t)batch * P);
    double *sum = calloc((size_t)P, sizeof(double));
    float *rows = NULL;
    int n = 0, cap = 0, nb = 0;
    slava_video *v = NULL;
    slava_status st = SLAVA_OK;
    if (!px || !proj || !sum) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
    if ((st = slava_video_open(ctx, path, fps, &v)) != SLAVA_OK) goto done;
    for (;;) {
        const slava_image *f;
        double t;
        int got = 0;
        if ((st = slava_video_next(ctx, v, &f, &t, &got)) != SLAVA_OK) goto done;
        if (got) {
            int ow, oh;
            slava_clip_preproc_out_size(&m->pre, f->w, f->h, &ow, &oh);
            if (ow != m->S || oh != m->S) {
                st = sv_err(ctx, SLAVA_E_FORMAT, "%s: preprocessing gives %dx%d images, the model takes %dx%d",
                            path, ow, oh, m->S, m->S);
                goto done;
            }
            if ((st = slava_clip_preprocess(ctx, &m->pre, f, px + (size_t)nb * fs)) != SLAVA_OK) goto done;
            nb++;
        }
        if (nb == batch || (!got && nb > 0)) {
            if (n + nb > cap) {
                int nc = cap ? 2 * cap : 64;
                while (nc < n + nb) nc *= 2;
                float *r = realloc(rows, sizeof(float) * (size_t)nc * D);
                if (!r) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
                rows = r;
                cap = nc;
            }
            if ((st = slava_clip_vision_encode(ctx, m, nb, px, rows + (size_t)n * D, proj)) != SLAVA_OK) goto done;
            for (int b = 0; b < nb; b++)
                for (int j = 0; j < P; j++) sum[j] += proj[(size_t)b * P + j];
            n += nb;
            nb = 0;
            if (sv_progress(ctx, "video", n, 0, path)) { st = sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: cancelled", path); goto done; }
        }
        if (!got) break;
    }
    if (n == 0) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: no frames", path); goto done; }
    if (projected_mean)
        for (int j = 0; j < P; j++) projected_mean[j] = (float)(sum[j] / n);
    *pooled = rows;
    *T = n;
    rows = NULL;
done:
    slava_video_close(v);
    free(rows);
    free(sum);
    sv_free(px);
    sv_free(proj);
    return st;
}
