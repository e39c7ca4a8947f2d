/* test_store_cli.c — `slava store info | export | import`: export → import into a fresh store gives
 * bitwise identical features and the same clips / captions; exports restricted by split and
 * modality; features "computed elsewhere" (F16, I32 indices, minimal metadata) import; errors
 * (missing / corrupt store, missing split, empty store, bad files) give one line on stderr and a
 * non-zero exit, and a failed import leaves the store's rows exactly as they were. */
#include "store_testutil.h"
#include "io/safetensors.h"

static int one_line(const char *err) { return err && count_lines(err) == 1 && !strncmp(err, "slava: ", 7); }

/* Clips + captions as one string (names, splits, sources, durations, has_audio, caption texts). */
static char *dump_rows(const char *path) {
    sqlite3 *db;
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(cap, 1);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) { sqlite3_close(db); return out; }
    const char *sql[2] = {
        "SELECT name || '|' || split || '|' || ifnull(source, '-') || '|' || ifnull(duration, '-') || '|' || has_audio"
        " FROM clips WHERE error IS NULL ORDER BY name",
        "SELECT c.name || '|' || cap.kind || '|' || cap.idx || '|' || ifnull(cap.text, '-') FROM captions cap"
        " JOIN clips c ON c.id = cap.clip ORDER BY c.name, cap.kind, cap.idx"};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, sql[i], -1, &q, NULL) != SQLITE_OK) continue;
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *r = (const char *)sqlite3_column_text(q, 0);
            size_t n = strlen(r);
            if (len + n + 2 > cap) { cap = 2 * (len + n + 2); out = realloc(out, cap); }
            memcpy(out + len, r, n);
            len += n;
            out[len++] = '\n';
            out[len] = 0;
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return out;
}

static slava_store *fresh(slava_ctx *ctx, const char *path) {
    tu_remove_store(path);
    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, path, 1, &s));
    return s;
}

static void load_path(slava_ctx *ctx, const char *path, unsigned mask, slava_dataset *out) {
    slava_store *s = NULL;
    memset(out, 0, sizeof *out);
    CHECK_OK(ctx, slava_store_open(ctx, path, 0, &s));
    if (s) CHECK_OK(ctx, slava_store_load(ctx, s, mask, NULL, out));
    slava_store_close(s);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    char cmd[4096], before[128], after[128];
    char *out = NULL, *err = NULL;
    int rc;
    const char *src = tu_tmp("cli_src.db"), *dst = tu_tmp("cli_dst.db"), *st_all = tu_tmp("cli_all.safetensors");

    /* A store with features, source paths and durations, one failed clip. */
    slava_dataset ds;
    tu_make_dataset(&ds, 24, 16, 12, 8, 11, "enc");
    slava_store *s = fresh(ctx, src);
    if (!s) return test_done("store_cli");
    for (int i = 0; i < ds.n; i++) {
        char source[64];
        snprintf(source, sizeof source, "/data/%s/%s.mp4", ds.clips[i].split == 0 ? "train" : "other", ds.clips[i].id);
        CHECK_OK(ctx, slava_store_put_clip(ctx, s, ds.clips[i].id, ds.clips[i].split, source, 10.0 + i * 0.25,
                                           ds.clips[i].t_a > 0, NULL));
    }
    CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &ds));
    CHECK_OK(ctx, slava_store_put_clip(ctx, s, "zz_broken", SLAVA_SPLIT_TEST, "/data/zz.mp4", -1, 0, "zz.mp4: Invalid data found when processing input"));
    slava_store_close(s);

    /* info */
    snprintf(cmd, sizeof cmd, "%s store info '%s'", SLAVA_BIN, src);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err);
    CHECK(out && strstr(out, "usable") && strstr(out, "12          6          6         24"));
    CHECK(out && strstr(out, "enc-visual") && strstr(out, "enc-audio") && strstr(out, "enc-text") && strstr(out, "D=16"));
    CHECK(out && strstr(out, "failed clips (1)") && strstr(out, "zz_broken: zz.mp4: Invalid data"));
    CHECK(out && strstr(out, "gpt_av") && strstr(out, "audio_visual"));
    free(out); free(err);

    /* export everything → import into a fresh store: identical */
    snprintf(cmd, sizeof cmd, "%s store export '%s' --out '%s'", SLAVA_BIN, src, st_all);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err);
    free(out); free(err);
    tu_remove_store(dst);
    snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, dst, st_all);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err);
    CHECK(err && strstr(err, "imported 24 clips"));
    free(out); free(err);
    slava_dataset a, b;
    load_path(ctx, src, 0, &a);
    load_path(ctx, dst, 0, &b);
    CHECK(tu_compare(&a, &b) == 0);
    CHECK(tu_compare(&ds, &b) == 0);
    slava_dataset_free(&a);
    slava_dataset_free(&b);
    char *ra = dump_rows(src), *rb = dump_rows(dst);
    CHECKF(!strcmp(ra, rb), "clip / caption rows differ after export → import");
    CHECK(strstr(rb, "/data/train/c0000.mp4|10.0|1"));
    free(ra); free(rb);
    CHECK(tu_count(dst, "clips") == 24);  /* the failed clip is not exported */

    /* importing the same file again keeps everything */
    tu_counts(dst, before, sizeof before);
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 0 && err && strstr(err, "imported 0 clips, 0 captions, 0 feature items (already stored: 24,"));
    free(out); free(err);
    tu_counts(dst, after, sizeof after);
    CHECKF(!strcmp(before, after), "%s vs %s", before, after);

    /* the file's layout, as numpy / PyTorch users see it */
    sv_stfile *f = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, st_all, &f));
    if (f) {
        const sv_tensor *v = sv_st_find(f, "visual"), *vc = sv_st_find(f, "visual_clip"), *t = sv_st_find(f, "text");
        int64_t rows = 0;
        for (int i = 0; i < ds.n; i++) rows += ds.clips[i].t_v;
        CHECK(v && v->dtype == SV_F32 && v->ndim == 2 && v->shape[0] == rows && v->shape[1] == 16);
        CHECK(vc && vc->dtype == SV_I64 && vc->ndim == 1 && vc->shape[0] == rows);
        CHECK(t && t->shape[1] == 8 && sv_st_find(f, "audio") && sv_st_find(f, "text_caption"));
        if (v && vc) {  /* row 1 is clip 1's first frame (clip 0 has one frame) */
            int64_t c1;
            memcpy(&c1, (const char *)vc->data + 8, 8);
            CHECK(c1 == 1 && !memcmp((const char *)v->data + 16 * 4, ds.clips[1].visual, 16 * 4));
        }
        char *fmt = sv_st_meta(f, "format"), *e = sv_st_meta(f, "encoder.visual"), *clips = sv_st_meta(f, "clips");
        CHECK(fmt && !strcmp(fmt, "slava-features/1") && e && !strcmp(e, "enc-visual"));
        CHECK(clips && strstr(clips, "{\"id\":\"c0000\",\"split\":\"train\",\"source\":\"/data/train/c0000.mp4\",\"duration\":10,\"has_audio\":true}"));
        free(fmt); free(e); free(clips);
        sv_st_close(f);
    }

    /* export restricted to one split and one modality */
    const char *st_test = tu_tmp("cli_test_visual.safetensors");
    snprintf(cmd, sizeof cmd, "%s store export '%s' --split test --modality visual --out '%s'", SLAVA_BIN, src, st_test);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err);
    free(out); free(err);
    CHECK_OK(ctx, sv_st_open(ctx, st_test, &f));
    if (f) {
        CHECK(f->n == 2 && sv_st_find(f, "visual") && !sv_st_find(f, "audio") && !sv_st_find(f, "text"));
        sv_st_close(f);
    }
    const char *dst2 = tu_tmp("cli_dst2.db");
    tu_remove_store(dst2);
    snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, dst2, st_test);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err);
    free(out); free(err);
    load_path(ctx, dst2, 0, &b);
    CHECK(b.n == 6 && b.d_v == 16 && b.d_a == 0 && b.d_t == 0 && b.encoder_id[2] == NULL);
    for (int i = 0; i < b.n && b.n == 6; i++) {
        const slava_clip *x = &b.clips[i], *y = &ds.clips[18 + i];
        CHECK(!strcmp(x->id, y->id) && x->split == SLAVA_SPLIT_TEST && x->t_v == y->t_v && x->t_a == 0);
        CHECK(!memcmp(x->visual, y->visual, (size_t)y->t_v * 16 * 4));
        CHECK(x->n_cap[SLAVA_CAP_GPT] == 3 && x->cap[SLAVA_CAP_GPT] == NULL && x->cap_text[SLAVA_CAP_GPT][2]);
    }
    slava_dataset_free(&b);
    /* ... then the rest of the features into the same store: everything matches the source */
    snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, dst2, st_all);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err);
    free(out); free(err);
    load_path(ctx, dst2, 0, &b);
    CHECK(tu_compare(&ds, &b) == 0);
    slava_dataset_free(&b);

    const char *dst3 = tu_tmp("cli_dst3.db");   /* ends up holding val clips only */
    /* features computed elsewhere: F16 values, I32 indices, minimal metadata */
    {
        const char *ext = tu_tmp("cli_ext.safetensors");
        uint16_t half[3 * 2] = {0x3c00, 0x4000, 0xbc00, 0x3800, 0x0000, 0x4200};  /* 1 2 -1 0.5 0 3 */
        int32_t idx[3] = {1, 0, 1};
        sv_wtensor t[2] = {{.name = "visual", .dtype = SV_F16, .ndim = 2, .shape = {3, 2}, .data = half},
                           {.name = "visual_clip", .dtype = SV_I32, .ndim = 1, .shape = {3}, .data = idx}};
        const char *meta[] = {"format", "slava-features/1", "encoder.visual", "my-vit",
                              "clips", "[{\"id\":\"x1\",\"split\":\"val\"},{\"id\":\"x2\",\"split\":\"val\"}]",
                              "captions", "[{\"clip\":1,\"kind\":\"visual\",\"idx\":0,\"text\":\"a red ball\"}]", NULL};
        CHECK_OK(ctx, sv_st_write(ctx, ext, t, 2, meta));
        tu_remove_store(dst3);
        snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, dst3, ext);
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 0, "rc %d: %s", rc, err);
        free(out); free(err);
        load_path(ctx, dst3, 1u << SLAVA_SPLIT_VAL, &b);
        CHECK(b.n == 2 && b.d_v == 2 && b.encoder_id[0] && !strcmp(b.encoder_id[0], "my-vit"));
        if (b.n == 2) {
            CHECK(b.clips[0].t_v == 1 && b.clips[0].visual[0] == -1.0f && b.clips[0].visual[1] == 0.5f);
            CHECK(b.clips[1].t_v == 2 && b.clips[1].visual[0] == 1.0f && b.clips[1].visual[3] == 3.0f);  /* rows in file order */
            CHECK(b.clips[1].n_cap[SLAVA_CAP_VISUAL] == 1 && !strcmp(b.clips[1].cap_text[SLAVA_CAP_VISUAL][0], "a red ball"));
            CHECK(b.clips[0].t_a == 0);
        }
        slava_dataset_free(&b);
    }

    /* ---- errors: one line on stderr, non-zero exit, nothing stored lost ---- */
    tu_counts(dst, before, sizeof before);
    const char *junk = tu_tmp("cli_junk.bin");
    FILE *jf = fopen(junk, "wb");
    fputs("PK\003\004 this is a zip, not safetensors, not sqlite ................", jf);
    fclose(jf);
    snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, dst, junk);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 1 && one_line(err) && strstr(err, junk), "rc %d: %s", rc, err);
    free(out); free(err);
    tu_counts(dst, after, sizeof after);
    CHECKF(!strcmp(before, after), "rows %s → %s after a failed import", before, after);

    /* a file that is valid up to its last clip (which conflicts): all or nothing */
    {
        const char *bad = tu_tmp("cli_bad.safetensors");
        float x[2] = {1, 2};
        int64_t idx[2] = {0, 1};
        sv_wtensor t[2] = {{.name = "visual", .dtype = SV_F32, .ndim = 2, .shape = {2, 1}, .data = x},
                           {.name = "visual_clip", .dtype = SV_I64, .ndim = 1, .shape = {2}, .data = idx}};
        const char *meta[] = {"format", "slava-features/1", "encoder.visual", "other",
                              "clips", "[{\"id\":\"new1\",\"split\":\"train\"},{\"id\":\"c0000\",\"split\":\"test\"}]", NULL};
        CHECK_OK(ctx, sv_st_write(ctx, bad, t, 2, meta));
        snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, dst, bad);
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 1 && one_line(err) && strstr(err, "c0000") && strstr(err, "split train"), "rc %d: %s", rc, err);
        free(out); free(err);
        tu_counts(dst, after, sizeof after);
        CHECKF(!strcmp(before, after), "rows %s → %s after a failed import", before, after);
        /* an index pointing past the clips */
        idx[1] = 2;
        const char *meta2[] = {"format", "slava-features/1", "encoder.visual", "other",
                               "clips", "[{\"id\":\"new1\",\"split\":\"train\"},{\"id\":\"new2\",\"split\":\"train\"}]", NULL};
        CHECK_OK(ctx, sv_st_write(ctx, bad, t, 2, meta2));
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 1 && one_line(err) && strstr(err, "visual_clip") && strstr(err, "outside [0, 2)"), "rc %d: %s", rc, err);
        free(out); free(err);
        tu_counts(dst, after, sizeof after);
        CHECKF(!strcmp(before, after), "rows %s → %s after a failed import", before, after);
        /* not our format */
        const char *meta3[] = {"format", "pt", NULL};
        CHECK_OK(ctx, sv_st_write(ctx, bad, t, 2, meta3));
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 1 && one_line(err) && strstr(err, "not a slava features file"), "rc %d: %s", rc, err);
        free(out); free(err);
        /* a failed import into a new store leaves no file behind */
        const char *never = tu_tmp("cli_never.db");
        tu_remove_store(never);
        snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, never, bad);
        rc = run_cmd(cmd, &out, &err);
        CHECK(rc == 1 && access(never, F_OK) != 0);
        free(out); free(err);
    }

    /* importing into a file that is not a store: refused, file untouched */
    snprintf(cmd, sizeof cmd, "%s store import '%s' '%s'", SLAVA_BIN, junk, st_all);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 1 && one_line(err) && strstr(err, "not a SQLite database"), "rc %d: %s", rc, err);
    free(out); free(err);
    char jb[128] = "";
    jf = fopen(junk, "rb");
    size_t jn = fread(jb, 1, sizeof jb - 1, jf);
    fclose(jf);
    CHECK(jn > 4 && !memcmp(jb, "PK\003\004 this is a zip", 18));

    /* missing store file */
    const char *missing = tu_tmp("cli_missing.db");
    tu_remove_store(missing);
    const char *subs[2] = {"info '%s'", "export '%s' --out /dev/null"};
    for (int i = 0; i < 2; i++) {
        char sub[1200];
        snprintf(sub, sizeof sub, subs[i], missing);
        snprintf(cmd, sizeof cmd, "%s store %s", SLAVA_BIN, sub);
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 1 && one_line(err) && strstr(err, missing) && strstr(err, "no such file"), "rc %d: %s", rc, err);
        CHECK(access(missing, F_OK) != 0);
        free(out); free(err);
        /* corrupt file */
        snprintf(sub, sizeof sub, subs[i], junk);
        snprintf(cmd, sizeof cmd, "%s store %s", SLAVA_BIN, sub);
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 1 && one_line(err) && strstr(err, junk), "rc %d: %s", rc, err);
        free(out); free(err);
    }

    /* missing split; unknown split name */
    const char *st_x = tu_tmp("cli_x.safetensors");
    unlink(st_x);
    snprintf(cmd, sizeof cmd, "%s store export '%s' --split test --out '%s'", SLAVA_BIN, dst3, st_x);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 1 && one_line(err) && strstr(err, dst3) && strstr(err, "no clips in split test"), "rc %d: %s", rc, err);
    CHECK(access(st_x, F_OK) != 0);
    free(out); free(err);
    snprintf(cmd, sizeof cmd, "%s store export '%s' --split validation --out '%s'", SLAVA_BIN, dst3, st_x);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 2 && one_line(err) && strstr(err, "'validation'"), "rc %d: %s", rc, err);
    free(out); free(err);
    /* a modality that has no features */
    snprintf(cmd, sizeof cmd, "%s store export '%s' --modality audio --out '%s'", SLAVA_BIN, dst3, st_x);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 1 && one_line(err) && strstr(err, "no audio features"), "rc %d: %s", rc, err);
    free(out); free(err);

    /* --out naming the store itself is refused before anything is written */
    tu_counts(dst3, before, sizeof before);
    snprintf(cmd, sizeof cmd, "%s store export '%s' --out '%s'", SLAVA_BIN, dst3, dst3);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 2 && one_line(err) && strstr(err, "is the store itself"), "rc %d: %s", rc, err);
    free(out); free(err);
    tu_counts(dst3, after, sizeof after);
    CHECK(!strcmp(before, after) && strcmp(after, "-1/-1/-1/-1"));

    /* empty store */
    const char *empty = tu_tmp("cli_empty.db");
    s = fresh(ctx, empty);
    slava_store_close(s);
    snprintf(cmd, sizeof cmd, "%s store export '%s' --out '%s'", SLAVA_BIN, empty, st_x);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 1 && one_line(err) && strstr(err, "empty"), "rc %d: %s", rc, err);
    free(out); free(err);
    snprintf(cmd, sizeof cmd, "%s store info '%s'", SLAVA_BIN, empty);
    rc = run_cmd(cmd, &out, &err);
    CHECK(rc == 0 && out && strstr(out, "empty, no clips"));
    free(out); free(err);

    /* usage */
    const char *helps[4] = {"store --help", "store info --help", "store export --help", "store import --help"};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "%s %s", SLAVA_BIN, helps[i]);
        rc = run_cmd(cmd, &out, &err);
        CHECK(rc == 0 && out && strstr(out, "usage: slava store"));
        free(out); free(err);
    }
    const char *usage_errs[5] = {"store", "store frob x", "store info", "store export x.db", "store import x.db"};
    for (int i = 0; i < 5; i++) {
        snprintf(cmd, sizeof cmd, "%s %s", SLAVA_BIN, usage_errs[i]);
        rc = run_cmd(cmd, &out, &err);
        CHECKF(rc == 2 && err && *err, "'%s' → rc %d", usage_errs[i], rc);
        free(out); free(err);
    }

    slava_dataset_free(&ds);
    slava_ctx_free(ctx);
    return test_done("store_cli");
}
