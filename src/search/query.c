/*
 * query.c — slava_search_query_build: query terms (texts, media files, clips of the index) →
 * the two query vectors, after checking that every encoder and the projection are the ones the
 * index was built with.
 *
 * Identities: a text term needs the embedder's text encoder to be the index's (when the store
 * recorded no text encoder, its CLIP checkpoint: the visual identity without "@<fps>fps"); an
 * image the visual encoder's checkpoint (a still image has no frame rate); a video the visual
 * encoder including the frame rate; audio the audio encoder. The projection (trained heads or
 * the checkpoints' own) must be the index's heads id. The precision tag "+bf16" is left out of
 * the comparison on both sides: queries are not stored, and the precision they are embedded in is
 * the caller's choice (search / serve --precision; bf16 queries are within ~1e-5 cosine of fp32
 * ones, docs/speed.md), while the checkpoint and the frame rate must match exactly.
 */
#include "search/search.h"
#include <math.h>
#include <stdio.h>

void slava_search_query_free(slava_search_query *q) {
    if (!q) return;
    free(q->visual);
    free(q->audio);
    memset(q, 0, sizeof *q);
}

/* id without its precision tag ("+bf16" before "@" or the end) into out[SLAVA_ENCODER_ID_LEN]. */
static void without_precision(const char *id, char *out) {
    snprintf(out, SLAVA_ENCODER_ID_LEN, "%s", id);
    if (slava_encoder_id_precision(out) != SLAVA_PRECISION_BF16) return;
    char *p = strstr(out, "+bf16");   /* the first one is the tag slava_encoder_id_precision saw */
    memmove(p, p + 5, strlen(p + 5) + 1);
}

/* Does the embedder's identity `have` match the index's `want` (whole, or without the fps),
 * precision tags aside? */
static int id_match(const char *have, const char *want, int whole) {
    char a[SLAVA_ENCODER_ID_LEN], b[SLAVA_ENCODER_ID_LEN];
    without_precision(have, a);
    without_precision(want, b);
    if (whole) return !strcmp(a, b);
    size_t na = strcspn(a, "@"), nb = strcspn(b, "@");
    return na == nb && !memcmp(a, b, na);
}

static slava_status check_identity(slava_ctx *ctx, const slava_index *ix, slava_embedder *e,
                                   const slava_search_term *t) {
    int m = t->kind == SLAVA_TERM_TEXT ? SLAVA_MOD_TEXT : t->kind == SLAVA_TERM_AUDIO ? SLAVA_MOD_AUDIO : SLAVA_MOD_VISUAL;
    const char *want = ix->enc[m];
    int whole = t->kind == SLAVA_TERM_VIDEO || t->kind == SLAVA_TERM_AUDIO;
    if (m == SLAVA_MOD_TEXT && !want[0]) { want = ix->enc[SLAVA_MOD_VISUAL]; whole = 0; }
    if (m == SLAVA_MOD_TEXT && ix->enc[SLAVA_MOD_TEXT][0]) whole = 1;
    const char *mname = slava_store_modality_name(m);
    if (!want[0])
        return sv_err(ctx, SLAVA_E_ARG, "%s: the index has no %s features, so a %s query has nothing to match", ix->path,
                      mname, slava_term_kind_name(t->kind));
    char have[SLAVA_ENCODER_ID_LEN];
    slava_status st = slava_embedder_encoder_id(ctx, e, m, have);
    if (st == SLAVA_E_ARG)
        return sv_err(ctx, SLAVA_E_ARG, "%s query '%s' needs a %s encoder (%s folder): none is loaded",
                      slava_term_kind_name(t->kind), t->value, mname, m == SLAVA_MOD_AUDIO ? "CLAP" : "CLIP");
    SV_TRY(st);
    if (!id_match(have, want, whole))
        return sv_err(ctx, SLAVA_E_ARG, "%s query: the %s encoder is %s, but the index %s was built with %s", slava_term_kind_name(t->kind),
                      mname, have, ix->path, want);
    const char *hid = slava_embedder_heads_id(e);
    if (strcmp(hid ? hid : "", ix->heads_id))
        return sv_err(ctx, SLAVA_E_ARG, "%s query: the projection is %s, but the index %s was built with %s",
                      slava_term_kind_name(t->kind), hid && hid[0] ? hid : "the checkpoints' own", ix->path,
                      ix->heads_id[0] ? ix->heads_id : "the checkpoints' own projections");
    return SLAVA_OK;
}

/* The unit embedding(s) of one term: e_v for visual rows, e_a for audio rows. */
static slava_status embed_term(slava_ctx *ctx, const slava_index *ix, slava_embedder *e, const slava_search_term *t,
                               float *e_v, float *e_a) {
    int P = ix->P;
    if (t->kind == SLAVA_TERM_CLIP) {
        int c = slava_index_find_clip(ix, t->value);
        if (c < 0) return sv_err(ctx, SLAVA_E_NOTFOUND, "%s: no clip '%s' in the index", ix->path, t->value);
        int hv = ix->off[0][c + 1] > ix->off[0][c], ha = ix->off[1][c + 1] > ix->off[1][c];
        if (hv) sx_rows_f32(ix->rows[0], ix->f16, ix->off[0][c], ix->off[0][c] + 1, P, e_v);
        if (ha) sx_rows_f32(ix->rows[1], ix->f16, ix->off[1][c], ix->off[1][c] + 1, P, e_a);
        if (!hv) memcpy(e_v, e_a, sizeof(float) * P);
        if (!ha) memcpy(e_a, e_v, sizeof(float) * P);
        return SLAVA_OK;
    }
    if (!e) return sv_err(ctx, SLAVA_E_ARG, "%s query '%s' needs an encoder: none is loaded", slava_term_kind_name(t->kind), t->value);
    SV_TRY(check_identity(ctx, ix, e, t));
    slava_embedding r;
    memset(&r, 0, sizeof r);
    const char *v = t->value;
    slava_status st;
    switch (t->kind) {
    case SLAVA_TERM_TEXT: st = slava_embed_texts(ctx, e, 1, &v, &r); break;
    case SLAVA_TERM_AUDIO: st = slava_embed_audios(ctx, e, 1, &v, &r); break;
    case SLAVA_TERM_VIDEO: st = slava_embed_videos(ctx, e, 1, &v, &r); break;
    case SLAVA_TERM_IMAGE: st = slava_embed_images(ctx, e, 1, &v, &r); break;
    default: st = sv_err(ctx, SLAVA_E_ARG, "search: unknown query kind %d", (int)t->kind);
    }
    if (!st && r.P != P)
        st = sv_err(ctx, SLAVA_E_SHAPE, "%s query '%s': %d-d embedding, the index has %d-d", slava_term_kind_name(t->kind), v,
                    r.P, P);
    if (!st) {
        memcpy(e_v, r.embedding, sizeof(float) * P);
        memcpy(e_a, r.embedding, sizeof(float) * P);
    }
    slava_embeddings_clear(&r, 1);
    return st;
}

static int normalize(float *x, int P) {
    double s = 0;
    for (int j = 0; j < P; j++) s += (double)x[j] * x[j];
    if (!(s > 1e-24) || !isfinite(s)) return 0;
    float inv = (float)(1.0 / sqrt(s));
    for (int j = 0; j < P; j++) x[j] *= inv;
    return 1;
}

slava_status slava_search_query_build(slava_ctx *ctx, const slava_index *ix, slava_embedder *e, int n,
                                      const slava_search_term *terms, slava_search_query *q) {
    memset(q, 0, sizeof *q);
    if (n <= 0) return sv_err(ctx, SLAVA_E_ARG, "search: no query terms");
    int P = ix->P;
    q->dim = P;
    q->visual = calloc((size_t)P, sizeof(float));
    q->audio = calloc((size_t)P, sizeof(float));
    float *ev = malloc(sizeof(float) * P), *ea = malloc(sizeof(float) * P);
    slava_status st = q->visual && q->audio && ev && ea ? SLAVA_OK : sv_err(ctx, SLAVA_E_NOMEM, "search: out of memory");
    for (int i = 0; !st && i < n; i++) {
        const slava_search_term *t = &terms[i];
        if (!t->value || !(t->weight != 0) || !isfinite(t->weight))
            st = sv_err(ctx, SLAVA_E_ARG, "search: query term %d has no value or a zero / non-finite weight", i + 1);
        if (!st) st = embed_term(ctx, ix, e, t, ev, ea);
        for (int j = 0; !st && j < P; j++) {
            q->visual[j] += t->weight * ev[j];
            q->audio[j] += t->weight * ea[j];
        }
    }
    free(ev);
    free(ea);
    if (!st && (!normalize(q->visual, P) || !normalize(q->audio, P)))
        st = sv_err(ctx, SLAVA_E_ARG, "search: the query terms cancel out (their weighted sum is zero)");
    if (st) slava_search_query_free(q);
    return st;
}
