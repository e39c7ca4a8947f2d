/*
 * block.c — the pre-LN transformer block shared by the CLIP text and image towers:
 *   h += out_proj(attn(LN1 h));   h += fc2(act(fc1(LN2 h)))
 * Rows of several sequences are packed (offs), so every Linear is one large GEMM over all rows;
 * only attention looks at sequence boundaries. A prepared block (sv_block_prepare: the towers)
 * runs its four products as sv_mat in the tower's precision, with bias, activation and residual
 * sum fused into them; a block set up with sv_block_fuse_qkv runs float32 sv_linear products.
 */
#include "nn/nn.h"
#include <math.h>

slava_status sv_block_fuse_qkv(slava_ctx *ctx, sv_block_w *w, int D, const float *qw, const float *qb,
                               const float *kw, const float *kb, const float *vw, const float *vb) {
    w->qkv_w = sv_alloc(sizeof(float) * 3 * (size_t)D * D);
    w->qkv_b = sv_alloc(sizeof(float) * 3 * (size_t)D);
    if (!w->qkv_w || !w->qkv_b) {
        sv_free(w->qkv_w); sv_free(w->qkv_b);
        w->qkv_w = w->qkv_b = NULL;
        return sv_err(ctx, SLAVA_E_NOMEM, "out of memory fusing attention weights");
    }
    const float *ws[3] = {qw, kw, vw}, *bs[3] = {qb, kb, vb};
    for (int p = 0; p < 3; p++) {
        memcpy(w->qkv_w + (size_t)p * D * D, ws[p], sizeof(float) * (size_t)D * D);
        if (bs[p]) memcpy(w->qkv_b + (size_t)p * D, bs[p], sizeof(float) * D);
        else memset(w->qkv_b + (size_t)p * D, 0, sizeof(float) * D);
    }
    return SLAVA_OK;
}

slava_status sv_block_prepare(slava_ctx *ctx, sv_block_w *w, const sv_block_cfg *c, slava_precision prec,
                              const float *qw, const float *qb, const float *kw, const float *kb, const float *vw,
                              const float *vb, sv_drop_fn drop, void *drop_user) {
    const int D = c->D, F = c->F;
    w->qkv_b = sv_alloc(sizeof(float) * 3 * (size_t)D);
    if (!w->qkv_b) return sv_err(ctx, SLAVA_E_NOMEM, "out of memory fusing attention biases");
    const float *bs[3] = {qb, kb, vb};
    for (int p = 0; p < 3; p++) {
        if (bs[p]) memcpy(w->qkv_b + (size_t)p * D, bs[p], sizeof(float) * D);
        else memset(w->qkv_b + (size_t)p * D, 0, sizeof(float) * D);
    }
    const float *parts[3] = {qw, kw, vw};
    const int rows[3] = {D, D, D};
    w->prepared = 1;
    SV_TRY(sv_mat_init(ctx, &w->qkv, 3, parts, rows, D, prec, drop, drop_user));
    SV_TRY(sv_mat_init1(ctx, &w->o, w->o_w, D, D, prec, drop, drop_user));
    SV_TRY(sv_mat_init1(ctx, &w->fc1, w->fc1_w, F, D, prec, drop, drop_user));
    SV_TRY(sv_mat_init1(ctx, &w->fc2, w->fc2_w, D, F, prec, drop, drop_user));
    return SLAVA_OK;
}

void sv_block_free(sv_block_w *w) {
    if (!w) return;
    sv_free(w->qkv_w);
    sv_free(w->qkv_b);
    w->qkv_w = w->qkv_b = NULL;
    if (w->prepared) {
        sv_mat_free(&w->qkv);
        sv_mat_free(&w->o);
        sv_mat_free(&w->fc1);
        sv_mat_free(&w->fc2);
        w->prepared = 0;
    }
}

size_t sv_block_scratch_floats(const sv_block_cfg *c, int N) {
    size_t big = (size_t)(3 * c->D > c->F ? 3 * c->D : c->F);
    return (size_t)N * (2 * (size_t)c->D + big);
}

/* h[N, D] += x[N, K] Wᵀ + b: GEMM accumulates straight into the residual stream. */
static void linear_residual(float *h, const float *x, int N, int K, const float *W, const float *b, int D) {
    sv_gemm(0, 1, N, D, K, 1.0f, x, K, W, K, 1.0f, h, D);
    if (b) {
        #pragma omp parallel for schedule(static) if ((size_t)N * D > 65536)
        for (int i = 0; i < N; i++) {
            float *r = h + (size_t)i * D;
            for (int j = 0; j < D; j++) r[j] += b[j];
        }
    }
}

void sv_block_forward(const sv_block_cfg *c, const sv_block_w *w, float *h, int nseq, const int *offs,
                      int causal, float *scratch) {
    sv_block_forward_ex(c, w, h, nseq, offs, causal, NULL, NULL, 1, scratch);
}

/* The prepared block on the rows of nseq sequences (offs relative: offs[0] = 0); seq0 = index of
 * the first sequence in the whole call (for the window mask). Bias, activation and the residual
 * sum happen inside the products. */
static void prepared_rows(const sv_block_cfg *c, const sv_block_w *w, float *h, int nseq, const int *offs, int causal,
                          const float *bias, const float *mask, int nmask, int seq0, float *scratch) {
    const int D = c->D, F = c->F, N = offs[nseq];
    float *a = scratch, *b = a + (size_t)N * D, *big = b + (size_t)N * D;
    const float scale = 1.0f / sqrtf((float)(D / c->H));
    sv_layernorm(h, a, N, D, w->ln1_w, w->ln1_b, c->ln_eps);
    sv_mat_mul(&w->qkv, a, N, D, w->qkv_b, SV_ACT_NONE, 0, big, 3 * D);
    sv_attention_ex(big, b, nseq, offs, D, c->H, scale, causal, bias, mask, nmask, seq0);
    sv_mat_mul(&w->o, b, N, D, w->o_b, SV_ACT_NONE, 1, h, D);
    sv_layernorm(h, a, N, D, w->ln2_w, w->ln2_b, c->ln_eps);
    sv_mat_mul(&w->fc1, a, N, D, w->fc1_b, c->quick_gelu ? SV_ACT_QUICK_GELU : SV_ACT_GELU_ERF, 0, big, F);
    sv_mat_mul(&w->fc2, big, N, F, w->fc2_b, SV_ACT_NONE, 1, h, D);
}

#define TILE_BYTES (2u << 20)   /* activations per row tile, when the block is tiled */

void sv_block_forward_ex(const sv_block_cfg *c, const sv_block_w *w, float *h, int nseq, const int *offs,
                         int causal, const float *bias, const float *mask, int nmask, float *scratch) {
    const int D = c->D, F = c->F, N = offs[nseq];
    if (w->prepared) {
        /* Whole sequences in row tiles when the block's weights are small next to its activations
         * (HTSAT's first stages: 0.4 MB of weights against 38 MB of activations for 8 chunks): each
         * tile's products and attention then work in cache instead of streaming through memory.
         * Otherwise (CLIP, HTSAT's later stages) one pass over all rows reads each weight once. */
        const size_t row_bytes = sizeof(float) * (2 * (size_t)D + (size_t)(3 * D > F ? 3 * D : F));
        const size_t w_bytes = (4 * (size_t)D * D + 2 * (size_t)D * F) * (w->qkv.prec == SLAVA_PRECISION_BF16 ? 2 : 4);
        int *rel = NULL;
        if ((size_t)N * row_bytes > 2 * TILE_BYTES && 8 * w_bytes < (size_t)N * row_bytes)
            rel = malloc(sizeof(int) * (size_t)(nseq + 1));
        if (!rel) {
            prepared_rows(c, w, h, nseq, offs, causal, bias, mask, nmask, 0, scratch);
            return;
        }
        const int target = (int)(TILE_BYTES / row_bytes) > 512 ? (int)(TILE_BYTES / row_bytes) : 512;
        for (int s0 = 0; s0 < nseq;) {
            int s1 = s0;
            while (s1 < nseq && (s1 == s0 || offs[s1 + 1] - offs[s0] <= target)) s1++;
            for (int s = s0; s <= s1; s++) rel[s - s0] = offs[s] - offs[s0];
            prepared_rows(c, w, h + (size_t)offs[s0] * D, s1 - s0, rel, causal, bias, mask, nmask, s0, scratch);
            s0 = s1;
        }
        free(rel);
        return;
    }
    float *a = scratch;                       /* [N, D]   layernorm output */
    float *b = a + (size_t)N * D;             /* [N, D]   attention output */
    float *big = b + (size_t)N * D;           /* [N, 3D] qkv, then [N, F] MLP hidden */
    const float scale = 1.0f / sqrtf((float)(D / c->H));
    /* attention */
    sv_layernorm(h, a, N, D, w->ln1_w, w->ln1_b, c->ln_eps);
    sv_linear(a, N, D, w->qkv_w, w->qkv_b, 3 * D, big);
    sv_attention(big, b, nseq, offs, D, c->H, scale, causal, bias, mask, nmask);
    linear_residual(h, b, N, D, w->o_w, w->o_b, D);
    /* MLP */
    sv_layernorm(h, a, N, D, w->ln2_w, w->ln2_b, c->ln_eps);
    sv_linear(a, N, D, w->fc1_w, w->fc1_b, F, big);
    if (c->quick_gelu) sv_quick_gelu(big, (size_t)N * F);
    else sv_gelu_erf(big, (size_t)N * F);
    linear_residual(h, big, N, F, w->fc2_w, w->fc2_b, D);
}
