/*
 * shard.c — a sharded encode: the collection is split by resumption group (group g of
 * group_clips consecutive clips goes to shard g mod N), so every batch of a shard holds the clips
 * it holds in a one-process run; and the record a shard store keeps of its encode: the sha256 of
 * the collection (clip ids, splits, every caption, in order) and the options that change the
 * stored bytes, which `slava store merge` compares across shards.
 */
#include "base/base.h"
#include "pipeline/shard.h"
#include <libavutil/mem.h>
#include <libavutil/sha.h>
#include <stdio.h>

int sv_shard_owns_group(const slava_encode_opts *o, int g) {
    return o->shard_count < 1 || g % o->shard_count == o->shard_index - 1;
}

static void sha_str(struct AVSHA *sha, const char *s) {
    size_t n = s ? strlen(s) + 1 : 1;   /* with the NUL: "ab","c" differs from "a","bc" */
    while (n) {
        unsigned step = n > (1u << 30) ? 1u << 30 : (unsigned)n;
        av_sha_update(sha, (const uint8_t *)(s ? s : ""), step);
        if (s) s += step;
        n -= step;
    }
}

slava_status sv_shard_describe(slava_ctx *ctx, const slava_collection *c, const slava_encode_opts *o,
                               char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN], slava_shard_info *out) {
    memset(out, 0, sizeof *out);
    out->index = o->shard_index;
    out->count = o->shard_count;
    out->group_clips = o->group_clips;
    out->threads = slava_get_threads();
    snprintf(out->options, sizeof out->options, "fps=%.17g frame_batch=%d chunk_batch=%d caption_batch=%d", o->fps,
             o->frame_batch, o->chunk_batch, o->caption_batch);
    for (int m = 0; m < SLAVA_MODS; m++) snprintf(out->encoder[m], sizeof out->encoder[m], "%s", ids[m]);
    struct AVSHA *sha = av_sha_alloc();
    if (!sha || av_sha_init(sha, 256) < 0) { av_free(sha); return sv_err(ctx, SLAVA_E_NOMEM, "encode: out of memory"); }
    for (int i = 0; i < c->n; i++) {
        const slava_media_clip *mc = &c->clips[i];
        char head[64];
        sha_str(sha, mc->id);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            snprintf(head, sizeof head, "%d:%d:%d", mc->split, k, mc->n_cap[k]);
            sha_str(sha, head);
            for (int j = 0; j < mc->n_cap[k]; j++) sha_str(sha, mc->cap[k][j]);
        }
    }
    uint8_t dig[32];
    av_sha_final(sha, dig);
    av_free(sha);
    for (int i = 0; i < 32; i++) snprintf(out->collection + 2 * i, 3, "%02x", dig[i]);
    return SLAVA_OK;
}
