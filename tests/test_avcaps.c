/* test_avcaps.c — the AVCaps reader: captions JSON (all four kinds, line breaks, missing and
 * null lists), clear one-line errors for bad files, and finding each clip's video by stem under
 * a folder (nested folders, other extensions, duplicates, missing files, hidden files, loops). */
#include "test.h"
#include "data/avcaps.h"
#include <sys/stat.h>

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void mkdirs(const char *path) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    if (system(cmd) != 0) { fprintf(stderr, "mkdir -p %s failed\n", path); exit(2); }
}

/* Collects warnings from the ctx log. */
typedef struct { int warnings; char last[1024]; } log_capture;
static void capture_log(void *user, int level, const char *line) {
    log_capture *lc = user;
    if (level) { lc->warnings++; snprintf(lc->last, sizeof lc->last, "%s", line); }
}

/* Reading `text` as a captions file must fail with `want` and a one-line message holding every
 * string in `needles` (NULL-terminated) and the file's path. */
static void expect_error(slava_ctx *ctx, const char *name, const char *text, slava_status want, const char *const *needles) {
    const char *path = tmp_path(name);
    write_text(path, text);
    slava_collection c = {0};
    slava_status st = slava_collection_add_captions(ctx, &c, path, SLAVA_SPLIT_TEST);
    const char *msg = slava_ctx_error(ctx);
    CHECKF(st == want, "%s: got %s (%s)", name, slava_status_name(st), msg);
    CHECKF(strstr(msg, path) != NULL, "%s: message does not name the file: %s", name, msg);
    CHECKF(!strchr(msg, '\n'), "%s: message has a line break", name);
    for (int i = 0; needles[i]; i++) CHECKF(strstr(msg, needles[i]) != NULL, "%s: '%s' not in: %s", name, needles[i], msg);
    CHECK(c.n == 0);
    slava_collection_free(&c);
    slava_ctx_clear_error(ctx);
}

static const slava_media_clip *find_clip(const slava_collection *c, const char *id) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->clips[i].id, id)) return &c->clips[i];
    return NULL;
}

static void test_good_file(slava_ctx *ctx) {
    const char *dir = tmp_path("avcaps_good");
    mkdirs(dir);
    char path[1100];
    snprintf(path, sizeof path, "%s/train_captions.json", dir);
    write_text(path,
        "{\n"
        "  \"-abc_DEF12_30\": {\n"
        "    \"audio_captions\": [\"A dog barks.\", \"A dog barks.\", \"Barking\\nand wind.\"],\n"
        "    \"visual_captions\": [\"A dog runs on grass.\"],\n"
        "    \"audio_visual_captions\": [],\n"
        "    \"GPT_AV_captions\": [\"One\", \"Two\", \"Three \\u00e9\"],\n"
        "    \"extra_field\": 42\n"
        "  },\n"
        "  \"silent_clip\": {\"visual_captions\": [\"Snow falls.\"], \"audio_captions\": null}\n"
        "}\n");
    snprintf(path, sizeof path, "%s/test_captions.json", dir);
    write_text(path, "{\"t1\": {\"audio_visual_captions\": [\"x\", \"y\"]}}");

    slava_collection c = {0};
    CHECK_OK(ctx, slava_collection_read_dir(ctx, &c, dir));
    CHECK(c.n == 3);
    CHECK(c.source[SLAVA_SPLIT_TRAIN] && strstr(c.source[SLAVA_SPLIT_TRAIN], "train_captions.json"));
    CHECK(c.source[SLAVA_SPLIT_VAL] == NULL);
    const slava_media_clip *a = find_clip(&c, "-abc_DEF12_30");
    CHECK(a != NULL);
    if (a) {
        CHECK(a->split == SLAVA_SPLIT_TRAIN);
        CHECK(a->n_cap[SLAVA_CAP_AUDIO] == 3 && a->has_kind[SLAVA_CAP_AUDIO]);
        CHECK(a->n_cap[SLAVA_CAP_AUDIO] == 3 && !strcmp(a->cap[SLAVA_CAP_AUDIO][1], "A dog barks."));
        CHECK(a->n_cap[SLAVA_CAP_AUDIO] == 3 && !strcmp(a->cap[SLAVA_CAP_AUDIO][2], "Barking\nand wind."));
        CHECK(a->n_cap[SLAVA_CAP_VISUAL] == 1);
        CHECK(a->n_cap[SLAVA_CAP_AV] == 0 && a->has_kind[SLAVA_CAP_AV] && a->cap[SLAVA_CAP_AV] == NULL);
        CHECK(a->n_cap[SLAVA_CAP_GPT] == 3 && !strcmp(a->cap[SLAVA_CAP_GPT][2], "Three \xc3\xa9"));
        CHECK(a->video == NULL && a->problem == NULL);   /* no lookup yet */
    }
    const slava_media_clip *s = find_clip(&c, "silent_clip");
    CHECK(s && !s->has_kind[SLAVA_CAP_AUDIO] && s->n_cap[SLAVA_CAP_AUDIO] == 0);
    CHECK(s && !s->has_kind[SLAVA_CAP_GPT] && s->n_cap[SLAVA_CAP_VISUAL] == 1);
    const slava_media_clip *t = find_clip(&c, "t1");
    CHECK(t && t->split == SLAVA_SPLIT_TEST && t->n_cap[SLAVA_CAP_AV] == 2);

    /* The same ids again from another file: refused, collection unchanged. */
    snprintf(path, sizeof path, "%s/val_again.json", dir);
    write_text(path, "{\"fresh\": {}, \"t1\": {}}");
    slava_status st = slava_collection_add_captions(ctx, &c, path, SLAVA_SPLIT_VAL);
    CHECK(st == SLAVA_E_FORMAT);
    CHECKF(strstr(slava_ctx_error(ctx), "'t1' is already in the test split"), "%s", slava_ctx_error(ctx));
    CHECK(c.n == 3 && !find_clip(&c, "fresh"));
    slava_ctx_clear_error(ctx);
    slava_collection_free(&c);

    /* A folder without any captions file. */
    const char *empty = tmp_path("avcaps_empty");
    mkdirs(empty);
    slava_collection e = {0};
    CHECK(slava_collection_read_dir(ctx, &e, empty) == SLAVA_E_NOTFOUND);
    CHECK(strstr(slava_ctx_error(ctx), empty) && strstr(slava_ctx_error(ctx), "train_captions.json"));
    slava_collection_free(&e);
    slava_ctx_clear_error(ctx);
}

static void test_errors(slava_ctx *ctx) {
    {
        slava_collection c = {0};
        const char *p = tmp_path("avcaps_does_not_exist.json");
        CHECK(slava_collection_add_captions(ctx, &c, p, 0) == SLAVA_E_IO);
        CHECK(strstr(slava_ctx_error(ctx), p) && strstr(slava_ctx_error(ctx), "cannot open"));
        slava_ctx_clear_error(ctx);
    }
    const char *line3[] = {"malformed JSON", "line 3", NULL};
    expect_error(ctx, "bad_trunc.json", "{\n \"a\": {\"audio_captions\": [\"x\"]},\n \"b\": {\"audio_captions\": [\"y\"", SLAVA_E_FORMAT, line3);
    const char *comma[] = {"malformed JSON", "line 2", NULL};
    expect_error(ctx, "bad_comma.json", "{\"a\": {},\n \"b\": {},}\n", SLAVA_E_FORMAT, comma);
    const char *trailing[] = {"malformed JSON", NULL};
    expect_error(ctx, "bad_trailing.json", "{\"a\": {}} {\"b\": {}}", SLAVA_E_FORMAT, trailing);
    const char *arr[] = {"expected one JSON object", "a list", NULL};
    expect_error(ctx, "bad_array.json", "[{\"audio_captions\": []}]", SLAVA_E_FORMAT, arr);
    const char *clipstr[] = {"clip 'c1'", "found a string", NULL};
    expect_error(ctx, "bad_clip.json", "{\"c0\": {}, \"c1\": \"a caption\"}", SLAVA_E_FORMAT, clipstr);
    const char *liststr[] = {"clip 'c2'", "'visual_captions' must be a list of strings", "found a string", NULL};
    expect_error(ctx, "bad_list.json", "{\"c2\": {\"visual_captions\": \"A cat.\"}}", SLAVA_E_FORMAT, liststr);
    const char *itemnum[] = {"clip 'c3'", "GPT_AV_captions[1] is a number", NULL};
    expect_error(ctx, "bad_item.json", "{\"c3\": {\"GPT_AV_captions\": [\"ok\", 7, \"x\"]}}", SLAVA_E_FORMAT, itemnum);
    const char *dup[] = {"clip 'c4' appears twice", NULL};
    expect_error(ctx, "bad_dup.json", "{\"c4\": {}, \"c5\": {}, \"c4\": {}}", SLAVA_E_FORMAT, dup);
    const char *emptyid[] = {"empty id", NULL};
    expect_error(ctx, "bad_emptyid.json", "{\"\": {}}", SLAVA_E_FORMAT, emptyid);
    const char *slash[] = {"clip 'a/b'", "'/'", NULL};
    expect_error(ctx, "bad_slash.json", "{\"a/b\": {}}", SLAVA_E_FORMAT, slash);
    const char *utf8[] = {"clip 'c6'", "visual_captions[0] is not valid UTF-8", NULL};
    expect_error(ctx, "bad_utf8.json", "{\"c6\": {\"visual_captions\": [\"caf\xe9 au lait\"]}}", SLAVA_E_FORMAT, utf8);
    const char *nothing[] = {"malformed JSON", NULL};
    expect_error(ctx, "bad_empty.json", "", SLAVA_E_FORMAT, nothing);

    int sp = -1;
    CHECK(slava_split_parse(ctx, "validation", &sp) == SLAVA_OK && sp == SLAVA_SPLIT_VAL);
    CHECK(slava_split_parse(ctx, "TEST", &sp) == SLAVA_OK && sp == SLAVA_SPLIT_TEST);
    CHECK(slava_split_parse(ctx, "holdout", &sp) == SLAVA_E_ARG && strstr(slava_ctx_error(ctx), "holdout"));
    CHECK(!strcmp(slava_split_name(SLAVA_SPLIT_VAL), "val"));
    slava_ctx_clear_error(ctx);
}

static void test_find_videos(slava_ctx *ctx) {
    const char *root = tmp_path("avcaps_tree");
    char cmd[4096], p[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    const char *dirs[] = {"train_videos/part1", "deep/er/still", "x", "y", ".hidden", "loop"};
    for (size_t i = 0; i < SV_ARRAY_LEN(dirs); i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        mkdirs(p);
    }
    const char *files[] = {"train_videos/part1/clipA.mp4", "deep/er/still/clipB.MOV", "x/clipD.mp4", "y/clipD.mp4",
                           "x/unlisted.mkv", "x/clipE.txt", ".hidden/clipF.mp4", "x/._clipG.mp4", "x/clipH.webm"};
    for (size_t i = 0; i < SV_ARRAY_LEN(files); i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        write_text(p, "not really a video");
    }
    snprintf(cmd, sizeof cmd, "ln -s .. '%s/loop/up'", root);   /* a directory link loop */
    CHECK(system(cmd) == 0);
    snprintf(p, sizeof p, "%s/caps.json", root);
    write_text(p, "{\"clipA\": {\"visual_captions\": [\"a\"]}, \"clipB\": {}, \"clipC\": {}, \"clipD\": {},"
                  " \"clipE\": {}, \"clipF\": {}, \"clipG\": {}, \"clipH\": {}}");

    log_capture lc = {0};
    slava_ctx_set_log(ctx, capture_log, &lc);
    slava_collection c = {0};
    /* No data folder: videos are looked for beside the captions file. */
    CHECK_OK(ctx, slava_collection_open(ctx, NULL, p, SLAVA_SPLIT_TRAIN, &c));
    CHECK(c.n == 8);
    const slava_media_clip *a = find_clip(&c, "clipA"), *b = find_clip(&c, "clipB"), *cc = find_clip(&c, "clipC"),
                           *d = find_clip(&c, "clipD"), *e = find_clip(&c, "clipE"), *f = find_clip(&c, "clipF"),
                           *g = find_clip(&c, "clipG"), *h = find_clip(&c, "clipH");
    CHECK(a && a->video && strstr(a->video, "train_videos/part1/clipA.mp4") && !a->problem);
    CHECK(b && b->video && strstr(b->video, "deep/er/still/clipB.MOV"));
    CHECK(cc && !cc->video && cc->problem && strstr(cc->problem, "clipC.mp4") && strstr(cc->problem, root));
    CHECKF(d && !d->video && d->problem && strstr(d->problem, "x/clipD.mp4") && strstr(d->problem, "y/clipD.mp4"),
           "%s", d && d->problem ? d->problem : "(none)");
    CHECK(e && !e->video && e->problem);   /* .txt is not a video */
    CHECK(f && !f->video);                 /* hidden folders are skipped */
    CHECK(g && !g->video);                 /* "._clipG.mp4" is not clipG */
    CHECK(h && h->video && strstr(h->video, "clipH.webm"));
    CHECKF(c.n_videos == 6, "n_videos %d", c.n_videos);   /* A, B, D×2, unlisted, H */
    CHECK(c.n_missing == 4);    /* C, E, F, G */
    CHECK(c.n_ambiguous == 1);
    CHECK(c.n_duplicate_stems == 1);
    CHECK(c.n_unlisted == 1);
    CHECKF(lc.warnings >= 2 && strstr(lc.last, "clipD"), "warnings %d, last '%s'", lc.warnings, lc.last);  /* loop + duplicate */
    slava_collection_free(&c);
    slava_ctx_set_log(ctx, NULL, NULL);

    /* A data folder that does not exist. */
    slava_collection c2 = {0};
    snprintf(p, sizeof p, "%s/caps.json", root);
    CHECK_OK(ctx, slava_collection_add_captions(ctx, &c2, p, 0));
    CHECK(slava_collection_find_videos(ctx, &c2, tmp_path("avcaps_no_such_dir")) == SLAVA_E_IO);
    CHECK(strstr(slava_ctx_error(ctx), "avcaps_no_such_dir"));
    slava_collection_free(&c2);
    slava_ctx_clear_error(ctx);
}

static void test_strmap(void) {
    sv_strmap m;
    CHECK(sv_strmap_init(&m, 1) == 0);
    static char keys[5000][16];
    int fails = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i * 7);
        fails += sv_strmap_put(&m, keys[i], i) != 0;
    }
    CHECK(fails == 0);
    int bad = 0;
    for (int i = 0; i < 5000; i++) bad += sv_strmap_get(&m, keys[i]) != i;
    CHECK(bad == 0);
    CHECK(sv_strmap_get(&m, "k1") == -1 && sv_strmap_get(&m, "") == -1);
    CHECK(m.n == 5000);
    sv_strmap_free(&m);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    test_good_file(ctx);
    test_errors(ctx);
    test_find_videos(ctx);
    test_strmap();
    slava_ctx_free(ctx);
    return test_done("avcaps");
}
