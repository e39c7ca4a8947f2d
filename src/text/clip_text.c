/*
 * clip_text.c — the CLIP text tower (Hugging Face CLIPTextModel + text_projection):
 *
 *   h[t]   = token_embedding[id_t] + position_embedding[t]          t = 0 .. eot
 *   h      = causal pre-LN blocks (sv_block_forward), quick_gelu
 *   pooled = final_layer_norm(h[eot])                               eot = first end-of-text id
 *   proj   = pooled · text_projectionᵀ
 *
 * Positions after the first end-of-text token cannot influence it (causal mask), so each caption
 * is computed only up to it. Many captions are packed into one [rows, D] matrix (offs marks the
 * sequences) so that every Linear is one large GEMM; batches are cut at SV_TEXT_MAX_ROWS rows.
 * The activation buffers are kept in the model between calls (grown as needed), so one model
 * must not encode from two threads at once (its tokenizer could not either).
 * Shapes of all tensors come from config.json; F16/BF16 checkpoints are converted by the reader.
 * Precision (sv_clip_text_load_prec): the block products and the projection run as sv_mat in
 * float32 or bf16; embeddings, LayerNorms, attention and residuals stay float32.
 */
#include "text/clip_text.h"
#include "text/tokenizer.h"
#include "io/safetensors.h"
#include "io/config.h"
#include "nn/nn.h"
#include <stdio.h>

#define SV_TEXT_MAX_ROWS 4096

struct slava_clip_text {
    sv_clip_cfg cfg;
    sv_weights *w;
    slava_tokenizer *tok;
    int D, P, L, V;
    const float *tok_emb;          /* [V, D] */
    const float *pos_emb;          /* [L, D] */
    sv_block_w *blocks;            /* [layers] */
    sv_block_cfg bc;
    const float *lnf_w, *lnf_b;    /* [D] */
    sv_mat proj;                   /* text_projection [P, D] */
    float *buf;                    /* h [rows, D] | block scratch | pooled [n, D], reused */
    size_t buf_floats;
};

void slava_clip_text_free(slava_clip_text *m) {
    if (!m) return;
    if (m->blocks)
        for (int l = 0; l < m->cfg.text.layers; l++) sv_block_free(&m->blocks[l]);
    free(m->blocks);
    sv_mat_free(&m->proj);
    sv_free(m->buf);
    sv_weights_free(m->w);
    slava_tokenizer_free(m->tok);
    free(m);
}

void slava_clip_text_dims(const slava_clip_text *m, int *D, int *P, int *L) {
    if (D) *D = m->D;
    if (P) *P = m->P;
    if (L) *L = m->L;
}

slava_tokenizer *slava_clip_text_tokenizer(slava_clip_text *m) { return m->tok; }

/* sv_weights_get with a printf-formatted name. */
static slava_status get_w(slava_ctx *ctx, sv_weights *w, const float **out, int ndim, int d0, int d1,
                          const char *fmt, int layer, const char *leaf) {
    char name[256];
    snprintf(name, sizeof name, fmt, layer, leaf);
    return ndim == 1 ? sv_weights_get(ctx, w, name, out, 1, d0) : sv_weights_get(ctx, w, name, out, 2, d0, d1);
}

slava_status slava_clip_context_length(slava_ctx *ctx, const char *dir, int *L) {
    *L = 77;
    char *cfg_path = sv_path_join(dir, "config.json");
    if (!cfg_path) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    int have = sv_file_exists(cfg_path);
    free(cfg_path);
    if (!have) return SLAVA_OK;
    sv_clip_cfg cfg;
    SV_TRY(sv_clip_config_load(ctx, dir, &cfg));
    *L = cfg.text.max_positions;
    return SLAVA_OK;
}

slava_status slava_clip_text_load(slava_ctx *ctx, const char *dir, slava_clip_text **out) {
    return sv_clip_text_load_prec(ctx, dir, SLAVA_PRECISION_FP32, out);
}

slava_status sv_clip_text_load_prec(slava_ctx *ctx, const char *dir, slava_precision prec, slava_clip_text **out) {
    *out = NULL;
    slava_clip_text *m = calloc(1, sizeof *m);
    if (!m) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    slava_status st;
    if ((st = sv_clip_config_load(ctx, dir, &m->cfg)) != SLAVA_OK) goto fail;
    const sv_clip_tower_cfg *c = &m->cfg.text;
    m->D = c->hidden;
    m->P = m->cfg.projection_dim;
    m->L = c->max_positions;
    m->V = c->vocab_size;
    if (c->heads <= 0 || m->D % c->heads) {
        st = sv_err(ctx, SLAVA_E_FORMAT, "%s/config.json: text hidden_size %d is not a multiple of num_attention_heads %d",
                    dir, m->D, c->heads);
        goto fail;
    }
    if ((st = slava_tokenizer_load(ctx, dir, &m->tok)) != SLAVA_OK) goto fail;
    if ((st = sv_weights_open(ctx, dir, &m->w)) != SLAVA_OK) goto fail;
    const int D = m->D, F = c->intermediate;
    const float *projw;
    m->bc = (sv_block_cfg){.D = D, .H = c->heads, .F = F, .ln_eps = c->ln_eps, .quick_gelu = c->act_quick_gelu};
    if ((st = sv_weights_get(ctx, m->w, "text_model.embeddings.token_embedding.weight", &m->tok_emb, 2, m->V, D)) ||
        (st = sv_weights_get(ctx, m->w, "text_model.embeddings.position_embedding.weight", &m->pos_emb, 2, m->L, D)) ||
        (st = sv_weights_get(ctx, m->w, "text_model.final_layer_norm.weight", &m->lnf_w, 1, D)) ||
        (st = sv_weights_get(ctx, m->w, "text_model.final_layer_norm.bias", &m->lnf_b, 1, D)) ||
        (st = sv_weights_get(ctx, m->w, "text_projection.weight", &projw, 2, m->P, D)) ||
        (st = sv_mat_init1(ctx, &m->proj, projw, m->P, D, prec, sv_weights_drop, m->w)))
        goto fail;
    m->blocks = calloc((size_t)c->layers, sizeof *m->blocks);
    if (!m->blocks) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir); goto fail; }
    const char *pre = "text_model.encoder.layers.%d.%s";
    for (int l = 0; l < c->layers; l++) {
        sv_block_w *b = &m->blocks[l];
        const float *qw, *qb, *kw, *kb, *vw, *vb;
        if ((st = get_w(ctx, m->w, &b->ln1_w, 1, D, 0, pre, l, "layer_norm1.weight")) ||
            (st = get_w(ctx, m->w, &b->ln1_b, 1, D, 0, pre, l, "layer_norm1.bias")) ||
            (st = get_w(ctx, m->w, &qw, 2, D, D, pre, l, "self_attn.q_proj.weight")) ||
            (st = get_w(ctx, m->w, &qb, 1, D, 0, pre, l, "self_attn.q_proj.bias")) ||
            (st = get_w(ctx, m->w, &kw, 2, D, D, pre, l, "self_attn.k_proj.weight")) ||
            (st = get_w(ctx, m->w, &kb, 1, D, 0, pre, l, "self_attn.k_proj.bias")) ||
            (st = get_w(ctx, m->w, &vw, 2, D, D, pre, l, "self_attn.v_proj.weight")) ||
            (st = get_w(ctx, m->w, &vb, 1, D, 0, pre, l, "self_attn.v_proj.bias")) ||
            (st = get_w(ctx, m->w, &b->o_w, 2, D, D, pre, l, "self_attn.out_proj.weight")) ||
            (st = get_w(ctx, m->w, &b->o_b, 1, D, 0, pre, l, "self_attn.out_proj.bias")) ||
            (st = get_w(ctx, m->w, &b->ln2_w, 1, D, 0, pre, l, "layer_norm2.weight")) ||
            (st = get_w(ctx, m->w, &b->ln2_b, 1, D, 0, pre, l, "layer_norm2.bias")) ||
            (st = get_w(ctx, m->w, &b->fc1_w, 2, F, D, pre, l, "mlp.fc1.weight")) ||
            (st = get_w(ctx, m->w, &b->fc1_b, 1, F, 0, pre, l, "mlp.fc1.bias")) ||
            (st = get_w(ctx, m->w, &b->fc2_w, 2, D, F, pre, l, "mlp.fc2.weight")) ||
            (st = get_w(ctx, m->w, &b->fc2_b, 1, D, 0, pre, l, "mlp.fc2.bias")) ||
            (st = sv_block_prepare(ctx, b, &m->bc, prec, qw, qb, kw, kb, vw, vb, sv_weights_drop, m->w)))
            goto fail;
    }
    if ((st = sv_gemm_reserve(ctx, dir)) != SLAVA_OK) goto fail;
    *out = m;
    return SLAVA_OK;
fail:
    slava_clip_text_free(m);
    return st;
}

/* Runs captions [0, n) whose lengths (up to and including the end-of-text token) are len[i]. */
static slava_status run_batch(slava_ctx *ctx, slava_clip_text *m, int n, const int *ids, int stride, const int *len,
                              float *pooled, float *projected) {
    const int D = m->D;
    int *offs = malloc(sizeof(int) * (size_t)(n + 1));
    if (!offs) return sv_err(ctx, SLAVA_E_NOMEM, "text encoder: out of memory");
    offs[0] = 0;
    for (int i = 0; i < n; i++) offs[i + 1] = offs[i] + len[i];
    const int N = offs[n];
    size_t need = (size_t)N * D + sv_block_scratch_floats(&m->bc, N) + (size_t)n * D;
    if (need > m->buf_floats) {
        sv_free(m->buf);
        m->buf = sv_alloc(sizeof(float) * need);
        m->buf_floats = m->buf ? need : 0;
        if (!m->buf) {
            free(offs);
            return sv_err(ctx, SLAVA_E_NOMEM, "text encoder: out of memory for %d tokens", N);
        }
    }
    float *h = m->buf, *scratch = h + (size_t)N * D, *pool = scratch + sv_block_scratch_floats(&m->bc, N);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int t = 0; t < len[i]; t++) {
            const float *te = m->tok_emb + (size_t)ids[(size_t)i * stride + t] * D, *pe = m->pos_emb + (size_t)t * D;
            float *r = h + (size_t)(offs[i] + t) * D;
            for (int d = 0; d < D; d++) r[d] = te[d] + pe[d];
        }
    for (int l = 0; l < m->cfg.text.layers; l++) {
        if (sv_cancelled(ctx)) { free(offs); return sv_err(ctx, SLAVA_E_INTERRUPTED, "text encoder: interrupted"); }
        sv_block_forward(&m->bc, &m->blocks[l], h, n, offs, 1, scratch);
    }
    for (int i = 0; i < n; i++)
        sv_layernorm(h + (size_t)(offs[i + 1] - 1) * D, pool + (size_t)i * D, 1, D, m->lnf_w, m->lnf_b, m->cfg.text.ln_eps);
    if (pooled) memcpy(pooled, pool, sizeof(float) * (size_t)n * D);
    if (projected) sv_mat_mul(&m->proj, pool, n, D, NULL, SV_ACT_NONE, 0, projected, m->P);
    free(offs);
    return SLAVA_OK;
}

slava_status slava_clip_text_encode_ids(slava_ctx *ctx, slava_clip_text *m, int n, const int *ids, int stride,
                                        const int *lens, float *pooled, float *projected) {
    if (n < 0 || (n > 0 && (!ids || !lens))) return sv_err(ctx, SLAVA_E_ARG, "text encoder: bad arguments");
    int *len = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!len) return sv_err(ctx, SLAVA_E_NOMEM, "text encoder: out of memory");
    const int eos = slava_tokenizer_eos(m->tok);
    slava_status st = SLAVA_OK;
    for (int i = 0; i < n && st == SLAVA_OK; i++) {
        if (lens[i] < 1 || lens[i] > m->L || lens[i] > stride) {
            st = sv_err(ctx, SLAVA_E_ARG, "caption %d: %d tokens, the model takes 1 to %d", i, lens[i], m->L);
            break;
        }
        len[i] = 0;
        for (int t = 0; t < lens[i]; t++) {
            int id = ids[(size_t)i * stride + t];
            if (id < 0 || id >= m->V) {
                st = sv_err(ctx, SLAVA_E_ARG, "caption %d: token id %d is outside the vocabulary [0, %d)", i, id, m->V);
                break;
            }
            if (id == eos) { len[i] = t + 1; break; }
        }
        if (st == SLAVA_OK && len[i] == 0)
            st = sv_err(ctx, SLAVA_E_ARG, "caption %d: no end-of-text token (id %d) to pool at", i, eos);
    }
    /* batches of whole captions, at most SV_TEXT_MAX_ROWS rows each */
    for (int i0 = 0; i0 < n && st == SLAVA_OK;) {
        int i1 = i0, rows = 0;
        while (i1 < n && (i1 == i0 || rows + len[i1] <= SV_TEXT_MAX_ROWS)) rows += len[i1++];
        st = run_batch(ctx, m, i1 - i0, ids + (size_t)i0 * stride, stride, len + i0,
                       pooled ? pooled + (size_t)i0 * m->D : NULL, projected ? projected + (size_t)i0 * m->P : NULL);
        if (sv_progress(ctx, "embed-text", i1, n, NULL)) st = sv_err(ctx, SLAVA_E_INTERRUPTED, "text encoder: cancelled");
        i0 = i1;
    }
    free(len);
    return st;
}

slava_status slava_clip_text_encode(slava_ctx *ctx, slava_clip_text *m, int n, const char *const *texts,
                                    float *pooled, float *projected) {
    if (n <= 0) return n == 0 ? SLAVA_OK : sv_err(ctx, SLAVA_E_ARG, "text encoder: %d captions", n);
    int *ids = malloc(sizeof(int) * (size_t)n * m->L), *lens = malloc(sizeof(int) * (size_t)n);
    if (!ids || !lens) { free(ids); free(lens); return sv_err(ctx, SLAVA_E_NOMEM, "text encoder: out of memory"); }
    slava_status st = SLAVA_OK;
    for (int i = 0; i < n && st == SLAVA_OK; i++) {
        const char *s = texts[i] ? texts[i] : "";
        st = slava_tokenize(ctx, m->tok, s, strlen(s), m->L, ids + (size_t)i * m->L, &lens[i], NULL);
    }
    if (st == SLAVA_OK) st = slava_clip_text_encode_ids(ctx, m, n, ids, m->L, lens, pooled, projected);
    free(ids);
    free(lens);
    return st;
}
