/*
 * htsat.c — the CLAP HTSAT audio tower and audio projection (see htsat.h for the math).
 *
 * Layout: tokens are rows of [N, C] float32 matrices, N = chunks × H × W in raster order
 * (row-major over (h, w)), as upstream's [B, H·W, C]. For each Swin block the rows are gathered
 * into window order (cyclic shift + window partition in one permutation), the shared pre-LN block
 * (nn.h, sv_block_forward_ex) runs with every window as one sequence — its LayerNorms, Linears and
 * MLP are per-token, so window order changes nothing but attention — and the rows are scattered
 * back (reverse partition + reverse shift). That permutation is the only data movement Swin adds.
 */
#include "audio/htsat.h"
#include <math.h>
#include <stdio.h>

#define SUB_BATCH 8
#define PFX "audio_model.audio_encoder."

/* ------------------------------------------------------------------ loading */

typedef struct { slava_ctx *ctx; sv_weights *w; slava_status st; } loader;

static const float *get(loader *l, int ndim, int d0, int d1, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static const float *get(loader *l, int ndim, int d0, int d1, const char *fmt, ...) {
    if (l->st) return NULL;
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const float *p = NULL;
    l->st = ndim == 1 ? sv_weights_get(l->ctx, l->w, name, &p, 1, d0) : sv_weights_get(l->ctx, l->w, name, &p, 2, d0, d1);
    return p;
}

/* Upstream's relative_position_index for a w×w window: [(w²), (w²)]. */
static int rel_index(int w, int i, int j) {
    int yi = i / w, xi = i % w, yj = j / w, xj = j % w;
    return (yi - yj + w - 1) * (2 * w - 1) + (xi - xj + w - 1);
}

/* If the checkpoint stores relative_position_index, it must be the standard one. */
static slava_status check_rel_index(slava_ctx *ctx, sv_weights *w, const char *name, int win) {
    const char *file = NULL;
    const sv_tensor *t = sv_weights_find(w, name, &file);
    if (!t) return SLAVA_OK;
    int L = win * win;
    if (t->ndim != 2 || t->shape[0] != L || t->shape[1] != L || t->dtype != SV_I64)
        return sv_err(ctx, SLAVA_E_SHAPE, "%s: tensor '%s' should be I64 [%d, %d]", file, name, L, L);
    const unsigned char *b = t->data;
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) {
            int64_t v;
            memcpy(&v, b + ((size_t)i * L + j) * 8, 8);
            if (v != rel_index(win, i, j))
                return sv_err(ctx, SLAVA_E_FORMAT, "%s: tensor '%s' is not the standard Swin relative position index", file, name);
        }
    return SLAVA_OK;
}

void sv_htsat_free(sv_htsat *m) {
    if (!m) return;
    for (int s = 0; s < SV_HTSAT_MAX_STAGES; s++) {
        sv_swin_stage *st = &m->stages[s];
        if (st->blocks)
            for (int b = 0; b < st->depth; b++) { sv_block_free(&st->blocks[b].w); sv_free(st->blocks[b].bias); }
        free(st->blocks);
        sv_mat_free(&st->merge);
        sv_free(st->mask);
        for (int k = 0; k < 2; k++) { free(st->perm[k]); free(st->pos[k]); }
    }
    sv_free(m->bn_scale);
    sv_free(m->bn_shift);
    sv_mat_free(&m->pe);
    sv_mat_free(&m->p1);
    sv_mat_free(&m->p2);
    sv_weights_free(m->weights);
    free(m);
}

/* Window-order permutation: row (window wi, position p) ← raster index of the shifted grid. */
static int *make_perm(int res, int win, int shift) {
    int *perm = malloc(sizeof(int) * (size_t)res * res);
    if (!perm) return NULL;
    int nw1 = res / win, L = win * win;
    for (int wy = 0; wy < nw1; wy++)
        for (int wx = 0; wx < nw1; wx++)
            for (int p = 0; p < L; p++) {
                int y = wy * win + p / win, x = wx * win + p % win;   /* coordinates in the rolled grid */
                int sy = (y + shift) % res, sx = (x + shift) % res;   /* torch.roll(-shift) source */
                perm[(wy * nw1 + wx) * L + p] = sy * res + sx;
            }
    return perm;
}

/* Shifted-window mask [nwin, L, L]: −100 between tokens from different regions of the rolled grid. */
static float *make_mask(int res, int win, int shift) {
    int nw1 = res / win, L = win * win;
    float *mask = sv_alloc(sizeof(float) * (size_t)nw1 * nw1 * L * L);
    if (!mask) return NULL;
    for (int wy = 0; wy < nw1; wy++)
        for (int wx = 0; wx < nw1; wx++) {
            int id[1024];
            for (int p = 0; p < L; p++) {
                int y = wy * win + p / win, x = wx * win + p % win;
                int ry = y < res - win ? 0 : y < res - shift ? 1 : 2;
                int rx = x < res - win ? 0 : x < res - shift ? 1 : 2;
                id[p] = ry * 3 + rx;
            }
            float *mk = mask + (size_t)(wy * nw1 + wx) * L * L;
            for (int i = 0; i < L; i++)
                for (int j = 0; j < L; j++) mk[(size_t)i * L + j] = id[i] == id[j] ? 0.0f : -100.0f;
        }
    return mask;
}

slava_status sv_htsat_load(slava_ctx *ctx, const char *dir, sv_htsat **out) {
    return sv_htsat_load_prec(ctx, dir, SLAVA_PRECISION_FP32, out);
}

slava_status sv_htsat_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, sv_htsat **out) {
    *out = NULL;
    sv_htsat *m = calloc(1, sizeof *m);
    if (!m) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    m->prec = prec;
    slava_status st = sv_clap_config_load(ctx, dir, &m->cfg);
    if (st) { free(m); return st; }
    const sv_clap_audio_cfg *c = &m->cfg;
    char *cfgpath = sv_path_join(dir, "config.json");
#define FAIL(code, ...) do { st = sv_err(ctx, code, __VA_ARGS__); goto fail; } while (0)
    m->M = c->num_mel_bins;
    m->S = c->spec_size;
    m->T = 1001;
    if (m->S % m->M) FAIL(SLAVA_E_UNSUPPORTED, "%s: spec_size %d is not a multiple of num_mel_bins %d", cfgpath, m->S, m->M);
    m->ratio = m->S / m->M;
    if (m->T > m->S * m->ratio)
        FAIL(SLAVA_E_UNSUPPORTED, "%s: spec_size %d holds %d frames, fewer than the %d of a 10 s chunk", cfgpath, m->S,
             m->S * m->ratio, m->T);
    m->patch = c->patch_size;
    if (c->patch_stride[0] != m->patch || c->patch_stride[1] != m->patch)
        FAIL(SLAVA_E_UNSUPPORTED, "%s: patch_stride [%d, %d] differs from patch_size %d", cfgpath, c->patch_stride[0],
             c->patch_stride[1], m->patch);
    if (m->S % m->patch) FAIL(SLAVA_E_UNSUPPORTED, "%s: spec_size %d is not a multiple of patch_size %d", cfgpath, m->S, m->patch);
    if (!c->flatten_patch_embeds) FAIL(SLAVA_E_UNSUPPORTED, "%s: flatten_patch_embeds false is not supported", cfgpath);
    if (!c->act_gelu) FAIL(SLAVA_E_UNSUPPORTED, "%s: audio hidden_act must be \"gelu\"", cfgpath);
    if (c->num_stages < 1 || c->num_stages > SV_HTSAT_MAX_STAGES) FAIL(SLAVA_E_UNSUPPORTED, "%s: %d stages", cfgpath, c->num_stages);
    m->grid = m->S / m->patch;
    m->nstages = c->num_stages;
    m->D = c->hidden_size;
    m->P = c->projection_dim;

    st = sv_weights_open(ctx, dir, &m->weights);
    if (st) goto fail;
    loader l = {ctx, m->weights, SLAVA_OK};
    const int M = m->M, C0 = c->patch_embeds_hidden_size, p = m->patch;
    const float *bn_w = get(&l, 1, M, 0, PFX "batch_norm.weight");
    const float *bn_b = get(&l, 1, M, 0, PFX "batch_norm.bias");
    const float *bn_m = get(&l, 1, M, 0, PFX "batch_norm.running_mean");
    const float *bn_v = get(&l, 1, M, 0, PFX "batch_norm.running_var");
    if (!l.st) {
        const float *pw = NULL;
        l.st = sv_weights_get(ctx, m->weights, PFX "patch_embed.proj.weight", &pw, 4, C0, 1, p, p);
        /* [C0, 1, p, p] = [C0, p*p] row-major */
        if (!l.st) l.st = sv_mat_init1(ctx, &m->pe, pw, C0, p * p, prec, sv_weights_drop, m->weights);
    }
    m->pe_b = get(&l, 1, C0, 0, PFX "patch_embed.proj.bias");
    if (c->enable_patch_layer_norm) {
        m->pe_ln_w = get(&l, 1, C0, 0, PFX "patch_embed.norm.weight");
        m->pe_ln_b = get(&l, 1, C0, 0, PFX "patch_embed.norm.bias");
    }
    if (l.st) { st = l.st; goto fail; }
    m->bn_scale = sv_alloc(sizeof(float) * M);
    m->bn_shift = sv_alloc(sizeof(float) * M);
    if (!m->bn_scale || !m->bn_shift) FAIL(SLAVA_E_NOMEM, "%s: out of memory", dir);
    for (int i = 0; i < M; i++) {
        double sc = (double)bn_w[i] / sqrt((double)bn_v[i] + 1e-5);
        m->bn_scale[i] = (float)sc;
        m->bn_shift[i] = (float)((double)bn_b[i] - (double)bn_m[i] * sc);
    }

    int C = C0, res = m->grid;
    for (int s = 0; s < m->nstages; s++) {
        sv_swin_stage *sg = &m->stages[s];
        sg->dim = C;
        sg->heads = c->num_heads[s];
        sg->depth = c->depths[s];
        sg->res = res;
        int W = c->window_size;
        if (res < W) FAIL(SLAVA_E_UNSUPPORTED, "%s: stage %d resolution %d is below window_size %d", cfgpath, s, res, W);
        if (res % W) FAIL(SLAVA_E_UNSUPPORTED, "%s: stage %d resolution %d is not a multiple of window_size %d", cfgpath, s, res, W);
        sg->win = W;
        sg->nwin = (res / W) * (res / W);
        int shift = res <= W ? 0 : W / 2;
        int L = W * W, F = (int)(c->mlp_ratio * C), H = sg->heads;
        sg->perm[0] = make_perm(res, W, 0);
        sg->perm[1] = make_perm(res, W, shift);
        for (int k = 0; k < 2; k++) {
            sg->pos[k] = malloc(sizeof(int) * (size_t)res * res);
            if (sg->pos[k] && sg->perm[k])
                for (int i = 0; i < res * res; i++) sg->pos[k][sg->perm[k][i]] = i;
        }
        if (!sg->pos[0] || !sg->pos[1]) FAIL(SLAVA_E_NOMEM, "%s: out of memory", dir);
        if (shift) sg->mask = make_mask(res, W, shift);
        sg->blocks = calloc((size_t)sg->depth, sizeof(sv_swin_block));
        if (!sg->perm[0] || !sg->perm[1] || (shift && !sg->mask) || !sg->blocks) FAIL(SLAVA_E_NOMEM, "%s: out of memory", dir);
        for (int b = 0; b < sg->depth; b++) {
            sv_swin_block *bk = &sg->blocks[b];
            sv_block_w *w = &bk->w;
            bk->shift = (b % 2) ? shift : 0;
#define BP PFX "layers.%d.blocks.%d."
            w->ln1_w = get(&l, 1, C, 0, BP "layernorm_before.weight", s, b);
            w->ln1_b = get(&l, 1, C, 0, BP "layernorm_before.bias", s, b);
            const float *qw = get(&l, 2, C, C, BP "attention.self.query.weight", s, b);
            const float *kw = get(&l, 2, C, C, BP "attention.self.key.weight", s, b);
            const float *vw = get(&l, 2, C, C, BP "attention.self.value.weight", s, b);
            const float *qb = NULL, *kb = NULL, *vb = NULL;
            if (c->qkv_bias) {
                qb = get(&l, 1, C, 0, BP "attention.self.query.bias", s, b);
                kb = get(&l, 1, C, 0, BP "attention.self.key.bias", s, b);
                vb = get(&l, 1, C, 0, BP "attention.self.value.bias", s, b);
            }
            const float *table = get(&l, 2, (2 * W - 1) * (2 * W - 1), H, BP "attention.self.relative_position_bias_table", s, b);
            w->o_w = get(&l, 2, C, C, BP "attention.output.dense.weight", s, b);
            w->o_b = get(&l, 1, C, 0, BP "attention.output.dense.bias", s, b);
            w->ln2_w = get(&l, 1, C, 0, BP "layernorm_after.weight", s, b);
            w->ln2_b = get(&l, 1, C, 0, BP "layernorm_after.bias", s, b);
            w->fc1_w = get(&l, 2, F, C, BP "intermediate.dense.weight", s, b);
            w->fc1_b = get(&l, 1, F, 0, BP "intermediate.dense.bias", s, b);
            w->fc2_w = get(&l, 2, C, F, BP "output.dense.weight", s, b);
            w->fc2_b = get(&l, 1, C, 0, BP "output.dense.bias", s, b);
            if (l.st) { st = l.st; goto fail; }
            char iname[256];
            snprintf(iname, sizeof iname, BP "attention.self.relative_position_index", s, b);
#undef BP
            st = check_rel_index(ctx, m->weights, iname, W);
            if (st) goto fail;
            const sv_block_cfg bc = {.D = C, .H = H, .F = F, .ln_eps = c->ln_eps, .quick_gelu = 0};
            st = sv_block_prepare(ctx, w, &bc, prec, qw, qb, kw, kb, vw, vb, sv_weights_drop, m->weights);
            if (st) goto fail;
            bk->bias = sv_alloc(sizeof(float) * (size_t)H * L * L);
            if (!bk->bias) FAIL(SLAVA_E_NOMEM, "%s: out of memory", dir);
            for (int h = 0; h < H; h++)
                for (int i = 0; i < L; i++)
                    for (int j = 0; j < L; j++)
                        bk->bias[((size_t)h * L + i) * L + j] = table[(size_t)rel_index(W, i, j) * H + h];
        }
        if (s + 1 < m->nstages) {
            sg->merge_ln_w = get(&l, 1, 4 * C, 0, PFX "layers.%d.downsample.norm.weight", s);
            sg->merge_ln_b = get(&l, 1, 4 * C, 0, PFX "layers.%d.downsample.norm.bias", s);
            sg->merge_w = get(&l, 2, 2 * C, 4 * C, PFX "layers.%d.downsample.reduction.weight", s);
            if (l.st) { st = l.st; goto fail; }
            st = sv_mat_init1(ctx, &sg->merge, sg->merge_w, 2 * C, 4 * C, prec, sv_weights_drop, m->weights);
            if (st) goto fail;
            if (res % 2) FAIL(SLAVA_E_UNSUPPORTED, "%s: stage %d resolution %d is odd", cfgpath, s, res);
            C *= 2;
            res /= 2;
        }
    }
    if (C != m->D) FAIL(SLAVA_E_FORMAT, "%s: final width %d differs from hidden_size %d", cfgpath, C, m->D);
    m->norm_w = get(&l, 1, m->D, 0, PFX "norm.weight");
    m->norm_b = get(&l, 1, m->D, 0, PFX "norm.bias");
    const float *p1_w = get(&l, 2, m->P, m->D, "audio_projection.linear1.weight");
    m->p1_b = get(&l, 1, m->P, 0, "audio_projection.linear1.bias");
    const float *p2_w = get(&l, 2, m->P, m->P, "audio_projection.linear2.weight");
    m->p2_b = get(&l, 1, m->P, 0, "audio_projection.linear2.bias");
    if (l.st) { st = l.st; goto fail; }
    if ((st = sv_mat_init1(ctx, &m->p1, p1_w, m->P, m->D, prec, sv_weights_drop, m->weights)) ||
        (st = sv_mat_init1(ctx, &m->p2, p2_w, m->P, m->P, prec, sv_weights_drop, m->weights)))
        goto fail;
#undef FAIL
    free(cfgpath);
    *out = m;
    return SLAVA_OK;
fail:
    free(cfgpath);
    sv_htsat_free(m);
    return st;
}

/* ------------------------------------------------------------------ forward */

/* torch bicubic (align_corners=True, A = −0.75) weights and taps for output index i. */
static void cubic_taps(int in, int outn, int i, int idx[4], double wt[4]) {
    const double A = -0.75;
    double scale = outn > 1 ? (double)(in - 1) / (outn - 1) : 0.0;
    double real = scale * i;
    int x0 = (int)floor(real);
    double t = real - x0;
    double x;
    x = t + 1.0; wt[0] = ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    x = t;       wt[1] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    x = 1.0 - t; wt[2] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    x = 2.0 - t; wt[3] = ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    for (int k = 0; k < 4; k++) {
        int j = x0 - 1 + k;
        idx[k] = j < 0 ? 0 : j >= in ? in - 1 : j;
    }
}

/* Row i (resized time step) of the image of one chunk: features [T, M] → BatchNorm → bicubic
 * resize T → S·r → fold: time step c·S + t lands in column t, rows c·M .. c·M + M − 1. */
static void mel_to_image_row(const sv_htsat *m, const float *feat, int i, float *img) {
    const int T = m->T, M = m->M, S = m->S, TT = S * m->ratio;
    int idx[4];
    double wt[4];
    cubic_taps(T, TT, i, idx, wt);
    const int c = i / S, t = i % S;
    for (int f = 0; f < M; f++) {
        double acc = 0.0;
        for (int k = 0; k < 4; k++)
            acc += wt[k] * ((double)feat[(size_t)idx[k] * M + f] * m->bn_scale[f] + m->bn_shift[f]);
        img[(size_t)(c * M + f) * S + t] = (float)acc;
    }
}

/* tokens [B·R·R, C] raster → dst [B, C, R, R] (upstream's reshaped hidden state). */
static void to_nchw(const float *h, int B, int R, int C, float *dst) {
    for (int b = 0; b < B; b++)
        for (int i = 0; i < R * R; i++)
            for (int c = 0; c < C; c++) dst[((size_t)b * C + c) * R * R + i] = h[((size_t)b * R * R + i) * C + c];
}

struct sv_htsat_ws {
    int    batch;
    float *img, *cols, *h, *xw, *scratch;
    int   *offs;
};
typedef struct sv_htsat_ws work;

/* One sub-batch of B ≤ SUB_BATCH chunks. */
static void forward_batch(const sv_htsat *m, int B, const float *features, float *pooled, float *projected,
                          const sv_htsat_debug *dbg, int chunk0, work *wk) {
    const int S = m->S, p = m->patch, G = m->grid, C0 = m->stages[0].dim;
    const size_t feat_sz = (size_t)m->T * m->M;
    /* 1. mel image */
    const int TT = S * m->ratio;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < B * TT; r++)
        mel_to_image_row(m, features + (size_t)(r / TT) * feat_sz, r % TT, wk->img + (size_t)(r / TT) * S * S);
    if (dbg && dbg->mel_image) memcpy(dbg->mel_image + (size_t)chunk0 * S * S, wk->img, sizeof(float) * (size_t)B * S * S);
    /* 2. patch embedding: im2col [B·G·G, p·p] × Wᵀ + b, LayerNorm */
    const int N0 = B * G * G, pp = p * p;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < N0; r++) {
        int b = r / (G * G), gy = (r / G) % G, gx = r % G;
        const float *src = wk->img + (size_t)b * S * S + (size_t)gy * p * S + (size_t)gx * p;
        float *dst = wk->cols + (size_t)r * pp;
        for (int ky = 0; ky < p; ky++)
            for (int kx = 0; kx < p; kx++) dst[ky * p + kx] = src[(size_t)ky * S + kx];
    }
    float *h = wk->h, *xw = wk->xw;
    sv_mat_mul(&m->pe, wk->cols, N0, pp, m->pe_b, SV_ACT_NONE, 0, h, C0);
    if (m->pe_ln_w) sv_layernorm(h, h, N0, C0, m->pe_ln_w, m->pe_ln_b, 1e-5f);
    if (dbg && dbg->stage[0]) to_nchw(h, B, G, C0, dbg->stage[0] + (size_t)chunk0 * C0 * G * G);

    /* 3. Swin stages */
    int N = N0;
    for (int s = 0; s < m->nstages; s++) {
        const sv_swin_stage *sg = &m->stages[s];
        const int C = sg->dim, R = sg->res, RR = R * R, L = sg->win * sg->win;
        const int nseq = B * sg->nwin;
        for (int i = 0; i <= nseq; i++) wk->offs[i] = i * L;
        sv_block_cfg bc = {.D = C, .H = sg->heads, .F = (int)(m->cfg.mlp_ratio * C), .ln_eps = m->cfg.ln_eps, .quick_gelu = 0};
        /* Rows stay in window order between blocks: the first block gathers from raster order,
         * a change of shift moves rows straight from one window order to the other (one copy),
         * and the last block's order is scattered back to raster order for merging. */
        int cur = -1;
        for (int bi = 0; bi < sg->depth; bi++) {
            const sv_swin_block *bk = &sg->blocks[bi];
            const int k = bk->shift ? 1 : 0;
            if (k != cur) {
                const int *perm = sg->perm[k], *from = cur < 0 ? NULL : sg->pos[cur];
                #pragma omp parallel for schedule(static)
                for (int r = 0; r < N; r++) {
                    int b = r / RR, i = r % RR, src = from ? from[perm[i]] : perm[i];
                    memcpy(xw + (size_t)r * C, h + ((size_t)b * RR + src) * C, sizeof(float) * C);
                }
                cur = k;
            } else {
                float *t = h; h = xw; xw = t;   /* keep the current rows in `h` between blocks */
            }
            sv_block_forward_ex(&bc, &bk->w, xw, nseq, wk->offs, 0, bk->bias, bk->shift ? sg->mask : NULL,
                                sg->nwin, wk->scratch);
            float *t = h; h = xw; xw = t;       /* h: rows in window order `cur` */
        }
        {
            const int *perm = sg->perm[cur];
            #pragma omp parallel for schedule(static)
            for (int r = 0; r < N; r++) {
                int b = r / RR, i = r % RR;
                memcpy(xw + ((size_t)b * RR + perm[i]) * C, h + (size_t)r * C, sizeof(float) * C);
            }
            float *t = h; h = xw; xw = t;       /* h: raster order again */
        }
        if (sg->merge_w) {
            /* patch merging: [B, R, R, C] → cat(x(2i,2j), x(2i+1,2j), x(2i,2j+1), x(2i+1,2j+1)) → LN → linear */
            const int R2 = R / 2, N2 = B * R2 * R2;
            float *cat = xw;
            #pragma omp parallel for schedule(static)
            for (int r = 0; r < N2; r++) {
                int b = r / (R2 * R2), i = (r / R2) % R2, j = r % R2;
                const int dy[4] = {0, 1, 0, 1}, dx[4] = {0, 0, 1, 1};
                for (int q = 0; q < 4; q++)
                    memcpy(cat + (size_t)r * 4 * C + (size_t)q * C,
                           h + ((size_t)b * RR + (size_t)(2 * i + dy[q]) * R + 2 * j + dx[q]) * C, sizeof(float) * C);
            }
            sv_layernorm(cat, cat, N2, 4 * C, sg->merge_ln_w, sg->merge_ln_b, 1e-5f);
            sv_mat_mul(&sg->merge, cat, N2, 4 * C, NULL, SV_ACT_NONE, 0, h, 2 * C);
            N = N2;
            if (dbg && dbg->stage[s + 1]) to_nchw(h, B, R2, 2 * C, dbg->stage[s + 1] + (size_t)chunk0 * 2 * C * R2 * R2);
        } else if (dbg && dbg->stage[s + 1]) {
            to_nchw(h, B, R, C, dbg->stage[s + 1] + (size_t)chunk0 * C * RR);
        }
    }
    /* 4. final LayerNorm, pooled = mean over tokens */
    const int D = m->D, R = m->stages[m->nstages - 1].res, RR = R * R;
    sv_layernorm(h, h, N, D, m->norm_w, m->norm_b, 1e-5f);
    if (dbg && dbg->last_hidden) {
        /* upstream: [B, D, R, R] → [B, D, r, R/r, R] → permute → [B, D, R/r, r·R] */
        const int r = m->ratio, cf = R / r;
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++)
                for (int f = 0; f < cf; f++)
                    for (int k = 0; k < r; k++)
                        for (int t = 0; t < R; t++)
                            dbg->last_hidden[(((size_t)(chunk0 + b) * D + d) * cf + f) * (r * R) + k * R + t] =
                                h[((size_t)b * RR + (size_t)(k * cf + f) * R + t) * D + d];
    }
    float *pool = wk->cols;   /* [B, D] */
    for (int b = 0; b < B; b++) {
        double acc[4096];
        double *a = D <= 4096 ? acc : NULL;
        for (int d = 0; d < D && a; d++) a[d] = 0.0;
        for (int i = 0; i < RR; i++)
            for (int d = 0; d < D; d++) a[d] += h[((size_t)b * RR + i) * D + d];
        for (int d = 0; d < D; d++) pool[(size_t)b * D + d] = (float)(a[d] / RR);
    }
    if (pooled) memcpy(pooled + (size_t)chunk0 * D, pool, sizeof(float) * (size_t)B * D);
    if (projected) {
        float *hid = pool + (size_t)B * D;
        sv_mat_mul(&m->p1, pool, B, D, m->p1_b, m->cfg.proj_act_relu ? SV_ACT_RELU : SV_ACT_GELU_ERF, 0, hid, m->P);
        sv_mat_mul(&m->p2, hid, B, m->P, m->p2_b, SV_ACT_NONE, 0, projected + (size_t)chunk0 * m->P, m->P);
    }
}

void sv_htsat_ws_free(sv_htsat_ws *ws) {
    if (!ws) return;
    sv_free(ws->img); sv_free(ws->cols); sv_free(ws->h); sv_free(ws->xw); sv_free(ws->scratch);
    free(ws->offs);
    free(ws);
}

slava_status sv_htsat_ws_new(slava_ctx *ctx, const sv_htsat *m, int batch, sv_htsat_ws **out) {
    *out = NULL;
    const int B = batch < 1 ? 1 : batch;
    const int S = m->S, G = m->grid, pp = m->patch * m->patch, C0 = m->stages[0].dim;
    const size_t N0 = (size_t)B * G * G;
    size_t scratch = 0, maxseq = 0, tok = 0;
    for (int s = 0; s < m->nstages; s++) {
        const sv_swin_stage *sg = &m->stages[s];
        size_t N = (size_t)B * sg->res * sg->res;
        sv_block_cfg bc = {.D = sg->dim, .H = sg->heads, .F = (int)(m->cfg.mlp_ratio * sg->dim), .ln_eps = m->cfg.ln_eps};
        size_t need = sv_block_scratch_floats(&bc, (int)N);
        if (need > scratch) scratch = need;
        if ((size_t)B * sg->nwin + 1 > maxseq) maxseq = (size_t)B * sg->nwin + 1;
        if (N * sg->dim > tok) tok = N * sg->dim;
    }
    size_t cols = N0 * pp;
    size_t need_cols = (size_t)B * (m->D + m->P);
    if (need_cols > cols) cols = need_cols;
    if (N0 * C0 > tok) tok = N0 * C0;
    work *wk = calloc(1, sizeof *wk);
    if (!wk) return sv_err(ctx, SLAVA_E_NOMEM, "HTSAT: out of memory for a batch of %d chunks", B);
    wk->batch = B;
    wk->img = sv_alloc(sizeof(float) * (size_t)B * S * S);
    wk->cols = sv_alloc(sizeof(float) * cols);
    wk->h = sv_alloc(sizeof(float) * tok);
    wk->xw = sv_alloc(sizeof(float) * tok);
    wk->scratch = sv_alloc(sizeof(float) * scratch);
    wk->offs = malloc(sizeof(int) * maxseq);
    if (!wk->img || !wk->cols || !wk->h || !wk->xw || !wk->scratch || !wk->offs) {
        sv_htsat_ws_free(wk);
        return sv_err(ctx, SLAVA_E_NOMEM, "HTSAT: out of memory for a batch of %d chunks", B);
    }
    *out = wk;
    return SLAVA_OK;
}

slava_status sv_htsat_forward(slava_ctx *ctx, const sv_htsat *m, sv_htsat_ws *ws, int n, const float *features,
                              float *pooled, float *projected, const sv_htsat_debug *dbg) {
    if (n <= 0) return SLAVA_OK;
    if (m->D > 4096) return sv_err(ctx, SLAVA_E_UNSUPPORTED, "HTSAT: hidden_size %d above 4096", m->D);
    for (size_t i = 0; i < (size_t)n * m->T * m->M; i++)
        if (!isfinite(features[i])) return sv_err(ctx, SLAVA_E_ARG, "HTSAT: input feature %zu is not finite", i);
    sv_htsat_ws *tmp = NULL;
    if (!ws) {
        SV_TRY(sv_htsat_ws_new(ctx, m, n < SUB_BATCH ? n : SUB_BATCH, &tmp));
        ws = tmp;
    }
    const int B = ws->batch;
    slava_status st = SLAVA_OK;
    for (int c0 = 0; c0 < n; c0 += B) {
        int nb = n - c0 < B ? n - c0 : B;
        if (sv_cancelled(ctx)) { st = sv_err(ctx, SLAVA_E_INTERRUPTED, "HTSAT: interrupted"); break; }
        forward_batch(m, nb, features + (size_t)c0 * m->T * m->M, pooled, projected, dbg, c0, ws);
    }
    sv_htsat_ws_free(tmp);
    return st;
}
