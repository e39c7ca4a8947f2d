/*
 * test_clip_init.c — `init-random --like clip`: the written folder has exactly the tensor names,
 * shapes and dtypes of a transformers-saved CLIPModel (the fixture's model.safetensors), the
 * config and tokenizer files, is deterministic for a seed, and loads + encodes with the text tower.
 */
#include "test.h"
#include "io/safetensors.h"

static int same_file(const char *a, const char *b) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    const char *out = tmp_path("clip_init_a");
    char cmd[4096], p1[1100], p2[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s_b' '%s_c'", out, out, out);
    CHECK(system(cmd) == 0);
    CHECK_OK(ctx, slava_clip_init_random(ctx, fixture("clip-model/config.json"), 7, out));

    /* same names, shapes, dtypes, order as the upstream file */
    sv_stfile *ref = NULL, *got = NULL;
    snprintf(p1, sizeof p1, "%s/model.safetensors", out);
    CHECK_OK(ctx, sv_st_open(ctx, fixture("clip-model/model.safetensors"), &ref));
    CHECK_OK(ctx, sv_st_open(ctx, p1, &got));
    if (ref && got) {
        CHECKF(ref->n == got->n, "%d tensors, upstream has %d", got->n, ref->n);
        for (int i = 0; i < ref->n && i < got->n; i++) {
            const sv_tensor *a = &ref->tensors[i], *b = sv_st_find(got, a->name);
            CHECKF(b && b->dtype == a->dtype && b->ndim == a->ndim && b->numel == a->numel, "tensor %s", a->name);
            for (int d = 0; b && d < a->ndim && d < b->ndim; d++) CHECK(a->shape[d] == b->shape[d]);
            CHECKF(!strcmp(got->tensors[i].name, a->name), "order: %s vs %s", got->tensors[i].name, a->name);
        }
        char *fmt = sv_st_meta(got, "format");
        CHECK(fmt && !strcmp(fmt, "pt"));
        free(fmt);
        const sv_tensor *ls = sv_st_find(got, "logit_scale");
        CHECK(ls && ls->ndim == 0 && fabsf(*(const float *)ls->data - 2.6592f) < 1e-6f);
    }
    sv_st_close(ref);
    sv_st_close(got);
    const char *files[] = {"config.json", "vocab.json", "merges.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(p1, sizeof p1, "%s/%s", out, files[i]);
        snprintf(p2, sizeof p2, "%s/clip-model/%s", SLAVA_FIXTURES, files[i]);
        CHECKF(same_file(p1, p2), "%s not copied", files[i]);
    }

    /* deterministic per seed (through the CLI), different across seeds */
    snprintf(cmd, sizeof cmd, "rm -rf '%s_b' && " SLAVA_BIN " init-random --like clip --config '%s' --seed 7 --out '%s_b'",
             out, fixture("clip-model/config.json"), out);   /* a fresh folder: init-random refuses a non-empty one */
    char *so = NULL, *se = NULL;
    CHECK(run_cmd(cmd, &so, &se) == 0);
    free(so); free(se);
    snprintf(p2, sizeof p2, "%s_b/model.safetensors", out);
    snprintf(p1, sizeof p1, "%s/model.safetensors", out);
    CHECK(same_file(p1, p2));
    CHECK_OK(ctx, slava_clip_init_random(ctx, fixture("clip-model/config.json"), 8, tmp_path("clip_init_a_c")));
    snprintf(p2, sizeof p2, "%s_c/model.safetensors", out);
    CHECK(!same_file(p1, p2));

    /* the folder works with the text tower */
    slava_clip_text *m = NULL;
    CHECK_OK(ctx, slava_clip_text_load(ctx, out, &m));
    if (m) {
        const char *caps[2] = {"a dog barks", "rain on a tin roof"};
        float pooled[2 * 64], proj[2 * 32];
        CHECK_OK(ctx, slava_clip_text_encode(ctx, m, 2, caps, pooled, proj));
        int finite = 1;
        for (int i = 0; i < 64; i++) finite &= isfinite(pooled[i]);
        CHECK(finite && fabsf(pooled[0] - pooled[64]) > 0);
    }
    slava_clip_text_free(m);

    /* bad input: missing config, config that is not JSON */
    CHECK(slava_clip_init_random(ctx, tmp_path("no_such_config.json"), 0, tmp_path("clip_init_x")) == SLAVA_E_IO);
    CHECK(strstr(slava_ctx_error(ctx), "no_such_config.json") != NULL);
    FILE *f = fopen(tmp_path("broken_config.json"), "w");
    fputs("{\"text_config\": ", f);
    fclose(f);
    CHECK(slava_clip_init_random(ctx, tmp_path("broken_config.json"), 0, tmp_path("clip_init_y")) != SLAVA_OK);
    CHECKF(strstr(slava_ctx_error(ctx), "config.json") != NULL, "%s", slava_ctx_error(ctx));
    snprintf(cmd, sizeof cmd, SLAVA_BIN " init-random --like clip --config '%s' --out '%s'", tmp_path("broken_config.json"),
             tmp_path("clip_init_z"));
    CHECK(run_cmd(cmd, &so, &se) == 1 && se && count_lines(se) == 1 && strstr(se, "slava: "));
    free(so); free(se);
    slava_ctx_free(ctx);
    return test_done("clip_init");
}
