/*
 * test_shard.c — sharded encode without MPI (issue 14): `slava encode --shard I/N` writes each
 * share of a synthetic collection (24 clips, one with a corrupt video) into its own shard store,
 * `slava store merge` combines them — first one shard alone, then the rest — and the merged store
 * must export byte-identical features to a one-process `slava encode` with the same options.
 * Merging again changes nothing; a rerun of a shard finds everything stored; and merge refuses,
 * leaving OUT as it was: shards of other encoders or options, shards of another split of the
 * collection (other N), an incomplete shard, two files claiming one shard, a plain store.
 * Encoders: the tiny random-weight fixtures.
 */
#include "test.h"
#include <sqlite3.h>
#include <sys/stat.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"
#define OPTS "--threads 2 --group 4 --frame-batch 6 --chunk-batch 2 --caption-batch 24 --quiet"

static char g_dir[512];

static int same_file(const char *a, const char *b) {
    long na = -1, nb = -2;
    char *x = slurp_file(a, &na), *y = slurp_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, (size_t)na);
    free(x);
    free(y);
    return same;
}

static int sh(const char *fmt, const char *a, const char *b, const char *c, char **err) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, fmt, a, b, c);
    return run_cmd(cmd, NULL, err);
}

/* Export `store` to `out`; 1 when it worked. */
static int export_to(const char *store, const char *out) {
    char *err = NULL;
    int rc = sh(SLAVA_BIN " store export '%s' --out '%s'%s", store, out, "", &err);
    if (rc) fprintf(stderr, "export %s: %s", store, err ? err : "");
    free(err);
    return rc == 0;
}

static int encode_shard(const char *store, const char *dir, const char *shard, const char *extra) {
    char cmd[8192], *err = NULL;
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " OPTS
             " --shard %s --shard-dir '%s' %s", g_dir, store, shard, dir, extra);
    int rc = run_cmd(cmd, NULL, &err);
    if (rc > 1) fprintf(stderr, "encode --shard %s: %s", shard, err ? err : "");
    free(err);
    return rc;
}

/* merge must fail naming `why`, and OUT must export what it did before */
static void refused(const char *out, const char *shards, const char *why, const char *ref_export) {
    char cmd[8192], *err = NULL;
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store merge --quiet '%s' %s", out, shards);
    int rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, why), "merge %s: expected a refusal naming '%s', got %d: %s", shards, why, rc,
           err ? err : "");
    free(err);
    const char *now = tmp_path("shard_now.safetensors");
    CHECK(export_to(out, now) && same_file(now, ref_export));
}

static void set_incomplete(const char *path) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE shard SET value = '0' WHERE key = 'complete'", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

int main(void) {
    char cmd[8192], *out = NULL, *err = NULL;
    int rc;
    snprintf(g_dir, sizeof g_dir, "%s/shard_data", SLAVA_TMP);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s/shard_s' '%s/shard_x' && mkdir -p '%s/shard_s' '%s/shard_x' && " SLAVA_BIN
             " synth --out '%s' --train 12 --val 6 --test 6 --seconds 2-8 --threads 2 --quiet && "
             "echo 'not an mp4' > \"$(ls '%s'/train_videos/*.mp4 | sed -n 5p)\"",
             g_dir, SLAVA_TMP, SLAVA_TMP, SLAVA_TMP, SLAVA_TMP, g_dir, g_dir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "synth: %s", err ? err : "");
    free(err);
    char ref[600], merged[600], ref_st[600], m_st[600], other[600], fresh[600];   /* tmp_path's buffers rotate */
    snprintf(ref, sizeof ref, "%s", tmp_path("shard_ref.sqlite"));
    snprintf(merged, sizeof merged, "%s", tmp_path("shard_merged.sqlite"));
    snprintf(ref_st, sizeof ref_st, "%s", tmp_path("shard_ref.safetensors"));
    snprintf(m_st, sizeof m_st, "%s", tmp_path("shard_merged.safetensors"));
    snprintf(other, sizeof other, "%s", tmp_path("shard_other.sqlite"));
    snprintf(fresh, sizeof fresh, "%s", tmp_path("shard_fresh.sqlite"));
    char sdir[600], xdir[600];
    snprintf(sdir, sizeof sdir, "%s/shard_s", SLAVA_TMP);
    snprintf(xdir, sizeof xdir, "%s/shard_x", SLAVA_TMP);
    snprintf(cmd, sizeof cmd, "rm -f '%s'* '%s'*", ref, merged);
    run_cmd(cmd, NULL, NULL);

    /* the one-process reference (exit 1: the corrupt clip failed) */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " OPTS, g_dir, ref);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1, "reference encode: %d %s", rc, err ? err : "");
    free(err);
    CHECK(export_to(ref, ref_st));

    /* three shards: groups of 4 clips go round robin, so the failing clip 4 (group 1) is shard 2's */
    CHECK(encode_shard(merged, sdir, "1/3", "") == 0);
    CHECK(encode_shard(merged, sdir, "2/3", "") == 1);
    CHECK(encode_shard(merged, sdir, "3/3", "") == 0);
    char s1[1024], s2[1024], s3[1024];
    snprintf(s1, sizeof s1, "%s/shard_merged.sqlite.shard-1-of-3", sdir);
    snprintf(s2, sizeof s2, "%s/shard_merged.sqlite.shard-2-of-3", sdir);
    snprintf(s3, sizeof s3, "%s/shard_merged.sqlite.shard-3-of-3", sdir);
    struct stat sb;
    CHECK(stat(s1, &sb) == 0 && stat(s2, &sb) == 0 && stat(s3, &sb) == 0);
    CHECK(stat(merged, &sb) != 0);   /* --shard writes only its shard store */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store info '%s'", s2);
    rc = run_cmd(cmd, &out, NULL);
    CHECKF(rc == 0 && out && strstr(out, "shard 2/3") && strstr(out, "complete"), "store info: %s", out ? out : "");
    free(out);

    /* shard 2 alone first (its texts first met in shard 1 are only its own values so far) */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store merge '%s' '%s'", merged, s2);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0 && err && strstr(err, "merged 1 of 3 shards") && strstr(err, "not among the shards given: 1, 3"), "partial merge: %d %s",
           rc, err ? err : "");
    free(err);
    /* then all three (shard 2 again: already there) */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store merge '%s' '%s' '%s' '%s'", merged, s1, s3, s2);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0 && err && strstr(err, "merged 3 of 3 shards"), "merge: %d %s", rc, err ? err : "");
    free(err);
    CHECK(export_to(merged, m_st));
    CHECKF(same_file(ref_st, m_st), "the merged store's export differs from the one-process encode's");

    /* idempotent: again, nothing added, same bytes */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store merge '%s' '%s' '%s' '%s' --each", merged, s1, s2, s3);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0 && err && strstr(err, ": 0 clips, 0 captions, 0 feature items added"), "merge again: %d %s", rc, err ? err : "");
    free(err);
    CHECK(export_to(merged, m_st) && same_file(ref_st, m_st));

    /* a shard run again after the merge: everything is in the target, nothing encoded */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --threads 2"
             " --group 4 --frame-batch 6 --chunk-batch 2 --caption-batch 24 --shard 3/3 --shard-dir '%s'", g_dir, merged, xdir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0 && err && strstr(err, " 0 encoded") && strstr(err, "8 already stored"), "rerun of shard 3: %d %s", rc, err ? err : "");
    free(err);

    /* refusals; OUT keeps its bytes */
    char other_clip[600], bad[4096];
    snprintf(other_clip, sizeof other_clip, "%s/shard_other_clip", SLAVA_TMP);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && " SLAVA_BIN " init-random --like clip --config " CLIP_DIR "/config.json --seed 7 --out '%s'",
             other_clip, other_clip);
    run_cmd(cmd, NULL, NULL);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip '%s' --clap " CLAP_DIR " --store '%s' " OPTS
             " --shard 1/3 --shard-dir '%s'", g_dir, other_clip, other, xdir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc <= 1, "encode with another CLIP: %d %s", rc, err ? err : "");
    free(err);
    snprintf(bad, sizeof bad, "'%s' '%s/shard_other.sqlite.shard-1-of-3'", s2, xdir);
    refused(merged, bad, "encoder differs", ref_st);
    CHECK(encode_shard(tmp_path("shard_fps.sqlite"), xdir, "2/3", "--fps 2") == 1);
    snprintf(bad, sizeof bad, "'%s' '%s/shard_fps.sqlite.shard-2-of-3'", s1, xdir);
    refused(merged, bad, "options differs", ref_st);
    CHECK(encode_shard(tmp_path("shard_two.sqlite"), xdir, "1/2", "") == 0);   /* another split: N = 2 */
    snprintf(bad, sizeof bad, "'%s' '%s/shard_two.sqlite.shard-1-of-2'", s2, xdir);
    refused(merged, bad, "shard count differs", ref_st);
    CHECK(encode_shard(tmp_path("shard_dup.sqlite"), xdir, "2/3", "") == 1);   /* shard 2 again, another file */
    snprintf(bad, sizeof bad, "'%s' '%s/shard_dup.sqlite.shard-2-of-3'", s2, xdir);
    refused(merged, bad, "both hold shard 2/3", ref_st);
    snprintf(bad, sizeof bad, "%s/shard_dup.sqlite.shard-2-of-3", xdir);
    set_incomplete(bad);
    snprintf(bad, sizeof bad, "'%s/shard_dup.sqlite.shard-2-of-3'", xdir);
    refused(merged, bad, "incomplete", ref_st);
    snprintf(bad, sizeof bad, "'%s'", ref);
    refused(merged, bad, "not a shard store", ref_st);
    /* a refused merge into a new file leaves no file */
    unlink(fresh);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store merge --quiet '%s' '%s' '%s/shard_two.sqlite.shard-1-of-2'", fresh, s1, xdir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && stat(fresh, &sb) != 0, "refused merge into a new file: %d %s", rc, err ? err : "");
    free(err);
    /* a shard store refuses to take the share of another encode */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " OPTS
             " --shard 1/3 --shard-dir '%s' --fps 2", g_dir, merged, sdir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, "of another encode") && strstr(err, "options"), "shard of another encode: %d %s", rc,
           err ? err : "");
    free(err);

    /* usage errors */
    rc = sh(SLAVA_BIN " encode --data x --clip a --clap b --store s --shard 4/3%s%s%s", "", "", "", &err);
    CHECKF(rc == 2 && err && strstr(err, "--shard"), "--shard 4/3: %d %s", rc, err ? err : "");
    free(err);
    rc = sh(SLAVA_BIN " encode --data x --clip a --clap b --store s --shard-dir /tmp%s%s%s", "", "", "", &err);
    CHECKF(rc == 2 && err && strstr(err, "--shard-dir"), "--shard-dir alone: %d %s", rc, err ? err : "");
    free(err);
    rc = sh(SLAVA_BIN " store merge '%s'%s%s", merged, "", "", &err);
    CHECKF(rc == 2, "merge without shards: %d", rc);
    free(err);
    rc = run_cmd(SLAVA_BIN " store merge --help", &out, NULL);
    CHECK(rc == 0 && out && strstr(out, "usage: slava store merge"));
    free(out);
    return test_done("shard");
}
