/*
 * test_e2e.c — the whole pipeline from the command line on real media (issue 6):
 * `slava synth` writes 24 short clips (some without audio); one video is overwritten with junk,
 * one deleted and one clip's captions emptied, so three clips must fail with their reasons.
 * Then: an uninterrupted `slava encode` (the reference store); the same command killed with
 * SIGKILL twice while it writes and run again to the end — its store must equal the reference
 * bit for bit (every clip row, caption and feature); the store must hold exactly the rows the
 * synthetic manifest implies; `slava train` + `slava eval` on it; `slava run` prints Table II of
 * the expected shape; and the CLI's usage / input errors.
 * Encoders: the tiny random-weight fixtures (tests/fixtures/clip-model, clap-model).
 */
#include "test.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"
/* The same options for the reference and the killed / resumed runs (as a user reruns the same
 * command): groups of 4 clips, small batches so that a clip's frames span batches. */
#define ENCODE_OPTS "--threads 2 --group 4 --frame-batch 6 --chunk-batch 2 --caption-batch 24"
#define ENCODE_OPTS_ARGV "--threads", "2", "--group", "4", "--frame-batch", "6", "--chunk-batch", "2", "--caption-batch", "24"

static char g_dir[512];

static char *slurp(const char *path) { return slurp_file(path, NULL); }

static int spit(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(s, f);
    return fclose(f);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void rm_store(const char *p) {
    char b[1024];
    unlink(p);
    snprintf(b, sizeof b, "%s-wal", p); unlink(b);
    snprintf(b, sizeof b, "%s-shm", p); unlink(b);
}

/* Clips committed so far (with or without error), read while the writer runs; -1 if unreadable. */
static int committed(const char *store) {
    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_store_info info;
    int n = -1;
    if (!slava_store_open(ctx, store, 0, &s) && !slava_store_get_info(ctx, s, &info)) {
        n = 0;
        for (int k = 0; k < SLAVA_SPLITS; k++) n += (int)(info.clips[k] + info.failed[k]);
        slava_store_info_free(&info);
    }
    slava_store_close(s);
    slava_ctx_free(ctx);
    return n;
}

/* Start `slava encode` into store; SIGKILL it once `at_least` clips are committed. Returns the
 * number committed just after the kill (or -1 when the process ended before). */
static int encode_and_kill(const char *store, int at_least) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
        execl(SLAVA_BIN, SLAVA_BIN, "encode", "--data", g_dir, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
              store, ENCODE_OPTS_ARGV, "--quiet", (char *)NULL);
        _exit(127);
    }
    int status, n = 0;
    for (int i = 0; i < 60000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) return -1;
        n = committed(store);
        if (n >= at_least) break;
        sleep_ms(2);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "encode was not killed");
    return committed(store);
}

/* Every clip, caption and feature of the two stores equal, byte for byte. */
static void compare_stores(const char *a, const char *b) {
    slava_ctx *ctx = slava_ctx_new();
    slava_store *sa = NULL, *sb = NULL;
    slava_dataset da, db;
    memset(&da, 0, sizeof da);
    memset(&db, 0, sizeof db);
    CHECK_OK(ctx, slava_store_open(ctx, a, 0, &sa));
    CHECK_OK(ctx, slava_store_open(ctx, b, 0, &sb));
    if (sa && sb) {
        CHECK_OK(ctx, slava_store_load(ctx, sa, 0, NULL, &da));
        CHECK_OK(ctx, slava_store_load(ctx, sb, 0, NULL, &db));
    }
    CHECK(da.n == db.n && da.n > 0);
    CHECK(da.d_v == db.d_v && da.d_a == db.d_a && da.d_t == db.d_t);
    for (int m = 0; m < 3; m++) CHECK(da.encoder_id[m] && db.encoder_id[m] && !strcmp(da.encoder_id[m], db.encoder_id[m]));
    int diff = 0;
    for (int i = 0; i < da.n && i < db.n; i++) {
        const slava_clip *x = &da.clips[i], *y = &db.clips[i];
        if (strcmp(x->id, y->id) || x->split != y->split || x->t_v != y->t_v || x->t_a != y->t_a) { diff++; continue; }
        if (memcmp(x->visual, y->visual, sizeof(float) * x->t_v * da.d_v)) diff++;
        if (x->t_a && memcmp(x->audio, y->audio, sizeof(float) * x->t_a * da.d_a)) diff++;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            if (x->n_cap[k] != y->n_cap[k]) { diff++; continue; }
            if (x->n_cap[k] && memcmp(x->cap[k], y->cap[k], sizeof(float) * x->n_cap[k] * da.d_t)) diff++;
            for (int j = 0; j < x->n_cap[k]; j++)
                if (strcmp(x->cap_text[k][j], y->cap_text[k][j])) diff++;
        }
    }
    CHECKF(diff == 0, "%d clips differ between %s and %s", diff, a, b);
    /* the failure records too */
    slava_store_info ia, ib;
    memset(&ia, 0, sizeof ia);
    memset(&ib, 0, sizeof ib);
    if (sa && sb) {
        CHECK_OK(ctx, slava_store_get_info(ctx, sa, &ia));
        CHECK_OK(ctx, slava_store_get_info(ctx, sb, &ib));
    }
    CHECK(ia.n_failures == ib.n_failures && ia.n_failures == 3);
    for (int i = 0; i < ia.n_failures && i < ib.n_failures; i++)
        CHECK(!strcmp(ia.failures[i].clip, ib.failures[i].clip) && !strcmp(ia.failures[i].error, ib.failures[i].error));
    slava_store_info_free(&ia);
    slava_store_info_free(&ib);
    slava_dataset_free(&da);
    slava_dataset_free(&db);
    slava_store_close(sa);
    slava_store_close(sb);
    slava_ctx_free(ctx);
}

/* Expected rows from the synthetic manifest (minus the three broken clips), checked against the store. */
static void check_rows(const char *store, const char *const bad[3]) {
    char path[1024];
    snprintf(path, sizeof path, "%s/synth_manifest.json", g_dir);
    char *txt = slurp(path);
    cJSON *man = txt ? cJSON_Parse(txt) : NULL;
    cJSON *clips = cJSON_GetObjectItem(man, "clips");
    CHECK(cJSON_IsArray(clips) && cJSON_GetArraySize(clips) == 24);
    int64_t clips_ok[SLAVA_SPLITS] = {0}, no_audio[SLAVA_SPLITS] = {0}, frames = 0, chunks = 0, with_audio = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, clips) {
        const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
        int split = slava_store_split_parse(cJSON_GetObjectItem(c, "split")->valuestring);
        double sec = cJSON_GetObjectItem(c, "seconds")->valuedouble;
        int audio = cJSON_IsTrue(cJSON_GetObjectItem(c, "has_audio"));
        if (!strcmp(id, bad[0]) || !strcmp(id, bad[1]) || !strcmp(id, bad[2])) continue;
        clips_ok[split]++;
        no_audio[split] += !audio;
        frames += (int64_t)ceil(sec - 1e-9);     /* 1 fps: one frame per started second */
        if (audio) {                             /* 10 s chunks, a last partial one from 1 s on */
            int full = (int)(sec / 10.0);
            double rest = sec - 10.0 * full;
            chunks += full + ((rest >= 1.0 || full == 0) ? 1 : 0);
            with_audio++;
        }
    }
    cJSON_Delete(man);
    free(txt);
    /* captions: the collection as read (the emptied clip has none) */
    slava_ctx *ctx = slava_ctx_new();
    slava_collection col;
    memset(&col, 0, sizeof col);
    CHECK_OK(ctx, slava_collection_open(ctx, g_dir, NULL, 0, &col));
    int64_t caps[SLAVA_SPLITS][SLAVA_CAP_KINDS] = {{0}}, n_caps = 0;
    for (int i = 0; i < col.n; i++) {
        const slava_media_clip *m = &col.clips[i];
        if (!strcmp(m->id, bad[0]) || !strcmp(m->id, bad[1]) || !strcmp(m->id, bad[2])) continue;
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) { caps[m->split][k] += m->n_cap[k]; n_caps += m->n_cap[k]; }
    }
    slava_collection_free(&col);
    slava_store *s = NULL;
    slava_store_info info;
    memset(&info, 0, sizeof info);
    CHECK_OK(ctx, slava_store_open(ctx, store, 0, &s));
    if (s) CHECK_OK(ctx, slava_store_get_info(ctx, s, &info));
    int64_t failed = 0;
    for (int k = 0; k < SLAVA_SPLITS; k++) {
        CHECKF(info.clips[k] == clips_ok[k], "split %d: %lld clips, expected %lld", k, (long long)info.clips[k], (long long)clips_ok[k]);
        CHECKF(info.no_audio[k] == no_audio[k], "split %d: %lld without audio, expected %lld", k,
               (long long)info.no_audio[k], (long long)no_audio[k]);
        failed += info.failed[k];
        for (int j = 0; j < SLAVA_CAP_KINDS; j++) CHECK(info.captions[k][j] == caps[k][j]);
    }
    CHECK(failed == 3);
    CHECK(info.n_encoders == 3);
    int64_t items[3] = {0}, rows[3] = {0};
    for (int e = 0; e < info.n_encoders; e++)
        for (int k = 0; k < SLAVA_SPLITS; k++) {
            items[info.encoders[e].modality] += info.encoders[e].items[k];
            rows[info.encoders[e].modality] += info.encoders[e].rows[k];
        }
    CHECKF(items[SLAVA_MOD_VISUAL] == clips_ok[0] + clips_ok[1] + clips_ok[2], "visual items %lld", (long long)items[0]);
    CHECKF(rows[SLAVA_MOD_VISUAL] == frames, "frames %lld, expected %lld", (long long)rows[0], (long long)frames);
    CHECKF(items[SLAVA_MOD_AUDIO] == with_audio, "audio items %lld, expected %lld", (long long)items[1], (long long)with_audio);
    CHECKF(rows[SLAVA_MOD_AUDIO] == chunks, "chunks %lld, expected %lld", (long long)rows[1], (long long)chunks);
    CHECKF(items[SLAVA_MOD_TEXT] == n_caps && rows[SLAVA_MOD_TEXT] == n_caps, "text %lld, expected %lld",
           (long long)items[2], (long long)n_caps);
    /* the failure reasons name the problem */
    for (int i = 0; i < info.n_failures; i++) {
        const char *id = info.failures[i].clip, *why = info.failures[i].error;
        if (!strcmp(id, bad[0])) CHECKF(strstr(why, ".mp4"), "junk video: %s", why);
        else if (!strcmp(id, bad[1])) CHECKF(strstr(why, "no video") || strstr(why, "missing") || strstr(why, "not found"), "deleted video: %s", why);
        else if (!strcmp(id, bad[2])) CHECKF(strstr(why, "no captions"), "no captions: %s", why);
        else CHECKF(0, "unexpected failure %s: %s", id, why);
    }
    slava_store_info_free(&info);
    slava_store_close(s);
    slava_ctx_free(ctx);
}

/* Empty every caption list of clip `id` in a captions file (cJSON round trip). */
static void empty_captions(const char *file, const char *id) {
    char *txt = slurp(file);
    cJSON *root = txt ? cJSON_Parse(txt) : NULL;
    cJSON *clip = cJSON_GetObjectItem(root, id);
    CHECK(clip != NULL);
    static const char *keys[] = {"audio_captions", "visual_captions", "audio_visual_captions", "GPT_AV_captions"};
    for (int k = 0; k < 4; k++) {
        cJSON_DeleteItemFromObject(clip, keys[k]);
        cJSON_AddItemToObject(clip, keys[k], cJSON_CreateArray());
    }
    char *out = cJSON_Print(root);
    CHECK(out && spit(file, out) == 0);
    free(out);
    cJSON_Delete(root);
    free(txt);
}

int main(void) {
    char cmd[8192], *out = NULL, *err = NULL;
    int rc;
    snprintf(g_dir, sizeof g_dir, "%s/e2e_data", SLAVA_TMP);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && " SLAVA_BIN " synth --out '%s' --train 12 --val 6 --test 6 --seconds 2-8 --threads 2 --quiet",
             g_dir, g_dir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "synth: %s", err ? err : "");
    free(err);

    /* break three clips: junk bytes in a video, a deleted video, a clip with no captions */
    const char *bad[3];
    char bad_id[3][128];
    {
        slava_ctx *ctx = slava_ctx_new();
        slava_collection col;
        memset(&col, 0, sizeof col);
        CHECK_OK(ctx, slava_collection_open(ctx, g_dir, NULL, 0, &col));
        CHECK(col.n == 24);
        if (col.n == 24) {
            /* clips 4 (train), 13 (val), 20 (test) */
            snprintf(bad_id[0], 128, "%s", col.clips[4].id);
            snprintf(bad_id[1], 128, "%s", col.clips[13].id);
            snprintf(bad_id[2], 128, "%s", col.clips[20].id);
            CHECK(spit(col.clips[4].video, "this is not an mp4 file, only junk bytes\n") == 0);
            CHECK(unlink(col.clips[13].video) == 0);
            char file[1024];
            snprintf(file, sizeof file, "%s/test_captions.json", g_dir);
            empty_captions(file, col.clips[20].id);
        }
        slava_collection_free(&col);
        slava_ctx_free(ctx);
    }
    for (int i = 0; i < 3; i++) bad[i] = bad_id[i];

    /* reference: one uninterrupted run; exit 1 because three clips failed, each named */
    const char *ref = tmp_path("e2e_ref.sqlite"), *res = tmp_path("e2e_resumed.sqlite");
    rm_store(ref);
    rm_store(res);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " ENCODE_OPTS,
             g_dir, ref);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1, "reference encode exit %d: %s", rc, err ? err : "");
    CHECKF(err && strstr(err, "21 encoded") && strstr(err, "3 failed"), "summary: %s", err ? err : "");
    for (int i = 0; i < 3; i++) CHECKF(err && strstr(err, bad[i]), "failure of %s not reported", bad[i]);
    free(err);
    check_rows(ref, bad);

    /* killed twice while writing, then finished by the same command */
    int n1 = encode_and_kill(res, 3);
    CHECKF(n1 >= 3 && n1 < 24, "first kill after %d clips", n1);
    int n2 = encode_and_kill(res, n1 + 6);
    CHECKF(n2 >= n1 && n2 < 24, "second kill after %d clips (first %d)", n2, n1);
    printf("e2e: encode killed with %d, then %d of 24 clips committed\n", n1, n2);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " ENCODE_OPTS,
             g_dir, res);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1, "resumed encode exit %d: %s", rc, err ? err : "");
    /* complete groups are skipped */
    CHECKF(err && strstr(err, "already stored") && !strstr(err, " 0 already stored"), "resume summary: %s", err ? err : "");
    free(err);
    compare_stores(ref, res);
    check_rows(res, bad);

    /* a rerun of a finished store encodes nothing; the failures stay recorded (exit 1) */
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, " 0 encoded") && strstr(err, "21 already stored") && strstr(err, "+3 failed in an earlier run"),
           "rerun: %s", err ? err : "");
    free(err);
    /* --retry-failed tries them again (they fail again, the same way) */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " ENCODE_OPTS
             " --retry-failed", g_dir, res);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, "3 failed;"), "retry: %s", err ? err : "");
    free(err);
    compare_stores(ref, res);

    /* train one recipe for a few epochs, evaluate */
    const char *heads = tmp_path("e2e_heads.safetensors");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --recipe slava-av3 --epochs 3 --out '%s' --quiet", ref, heads);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "train: %s", err ? err : "");
    free(err);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " eval --store '%s' --heads '%s' --format json --quiet", ref, heads);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 0 && out && strstr(out, "visual") && strstr(out, "ndcg"), "eval: %s", err ? err : "");
    cJSON *js = out ? cJSON_Parse(out) : NULL;
    CHECKF(js != NULL, "eval output is not JSON");
    cJSON_Delete(js);
    free(out); free(err);

    /* slava run: encode (all stored) + experiment -> Table II with one row per recipe */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " run --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' "
             "--recipes slava-av3,av-only --seeds 0,1 --epochs 2 --threads 2 --quiet", g_dir, ref);
    rc = run_cmd(cmd, &out, &err);
    CHECKF(rc == 1, "run exit %d (clips failed: 1): %s", rc, err ? err : "");
    int table_rows = 0, cols_ok = 1;
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        if (line[0] == '|') {
            table_rows++;
            int bars = 0;
            for (char *p = line; p < (nl ? nl : line + strlen(line)); p++) bars += *p == '|';
            cols_ok &= bars == 10;   /* recipe + 7 tasks + mean */
        }
        line = nl ? nl + 1 : NULL;
    }
    CHECKF(table_rows == 5 && cols_ok, "Table II shape: %d rows\n%s", table_rows, out ? out : "");
    CHECK(out && strstr(out, "| slava-av3 |") && strstr(out, "| av-only |") && strstr(out, "untrained"));
    CHECK(out && strstr(out, "(5 clips, "));   /* test split: 6 clips minus the one without captions */
    free(out); free(err);

    /* CLI errors */
    rc = run_cmd(SLAVA_BIN " encode --clip " CLIP_DIR " --clap " CLAP_DIR " --store x.sqlite", NULL, &err);
    CHECKF(rc == 2 && err && strstr(err, "--data"), "missing --data: %d %s", rc, err ? err : "");
    free(err);
    rc = run_cmd(SLAVA_BIN " encode --data x --clap " CLAP_DIR " --store x.sqlite", NULL, &err);
    CHECKF(rc == 2 && err && strstr(err, "--clip"), "missing --clip: %d %s", rc, err ? err : "");
    free(err);
    rc = run_cmd(SLAVA_BIN " encode --data x --clip a --clap b --store s --fps 0", NULL, &err);
    CHECKF(rc == 2 && err && strstr(err, "--fps"), "--fps 0: %d %s", rc, err ? err : "");
    free(err);
    rc = run_cmd(SLAVA_BIN " run --data x --clip a --clap b --store s --recipes nope", NULL, &err);
    CHECKF(rc == 2 && err && strstr(err, "nope"), "run --recipes nope: %d %s", rc, err ? err : "");
    free(err);
    const char *st2 = tmp_path("e2e_other.sqlite");
    rm_store(st2);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip /nonexistent/clip --clap " CLAP_DIR " --store '%s' --quiet",
             g_dir, st2);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, "/nonexistent/clip") && count_lines(err) == 1, "missing checkpoint: %d %s", rc,
           err ? err : "");
    free(err);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data /nonexistent/data --clip " CLIP_DIR " --clap " CLAP_DIR
             " --store '%s' --quiet", st2);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, "/nonexistent/data") && count_lines(err) == 1, "missing data: %d %s", rc, err ? err : "");
    free(err);
    const char *junk = tmp_path("e2e_junk.sqlite");
    CHECK(spit(junk, "not a database, just text that is long enough to look like a header......\n") == 0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --quiet",
             g_dir, junk);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, "e2e_junk.sqlite") && count_lines(err) == 1, "unreadable store: %d %s", rc, err ? err : "");
    free(err);
    char *after = slurp(junk);
    CHECK(after && !strncmp(after, "not a database", 14));   /* left untouched */
    free(after);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store /nonexistent/dir/s.sqlite --quiet",
             g_dir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, "/nonexistent/dir/s.sqlite"), "store in a missing folder: %d %s", rc, err ? err : "");
    free(err);
    rc = run_cmd(SLAVA_BIN " encode --help", &out, NULL);
    CHECK(rc == 0 && out && strstr(out, "usage: slava encode"));
    free(out);
    rc = run_cmd(SLAVA_BIN " run --help", &out, NULL);
    CHECK(rc == 0 && out && strstr(out, "openai/clip-vit-base-patch32") && strstr(out, "laion/clap-htsat-unfused"));
    free(out);
    return test_done("e2e");
}
