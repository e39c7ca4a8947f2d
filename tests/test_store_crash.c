/* test_store_crash.c — crash safety of the feature store: a child process writes clips one
 * transaction each and is killed with SIGKILL (1) in the middle of a clip whose uncommitted pages
 * have already spilled into the WAL, and (2) at an arbitrary moment of a tight write loop. The
 * reopened store must pass SQLite's integrity and foreign-key checks and hold only whole clips with
 * exactly the features written; a resumed run then completes it. */
#include "store_testutil.h"
#include <signal.h>
#include <time.h>

#define NCLIPS 40
#define DV 256
#define DA 128
#define DT 64
#define NCAP 4

static const char *const ENC[3] = {"vis", "aud", "txt"};

/* Deterministic content of clip i. */
static int clip_frames(int i) { return 8 + i % 9; }
static float value(int i, int m, int r, int d) { return (float)(i * 1000 + m * 100 + r) + (float)d / 1024.0f; }

static void fill(float *x, int i, int m, int rows, int d) {
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < d; k++) x[(size_t)r * d + k] = value(i, m, r, k);
}

/* Write clip i's rows (inside the caller's transaction). `half` stops after the visual features
 * and one extra big feature of another encoder (to spill uncommitted pages into the WAL). */
static int write_clip(slava_ctx *ctx, slava_store *s, int i, int half) {
    char name[32], text[64];
    snprintf(name, sizeof name, "clip%03d", i);
    int T = clip_frames(i);
    float *x = malloc((size_t)64 * 4096 * sizeof(float));
    int ok = slava_store_put_clip(ctx, s, name, SLAVA_SPLIT_TRAIN, "/media/x.mp4", 30.0, 1, NULL) == SLAVA_OK;
    fill(x, i, 0, T, DV);
    ok = ok && slava_store_put_clip_feature(ctx, s, name, SLAVA_MOD_VISUAL, ENC[0], x, T, DV, NULL) == SLAVA_OK;
    if (half) {
        fill(x, i, 3, 64, 4096);   /* 1 MiB; four of them exceed SQLite's 2 MB page cache */
        for (int k = 0; k < 4 && ok; k++) {
            char enc[16];
            snprintf(enc, sizeof enc, "big%d", k);
            ok = slava_store_put_clip_feature(ctx, s, name, SLAVA_MOD_VISUAL, enc, x, 64, 4096, NULL) == SLAVA_OK;
        }
        free(x);
        return ok;
    }
    fill(x, i, 1, 3, DA);
    ok = ok && slava_store_put_clip_feature(ctx, s, name, SLAVA_MOD_AUDIO, ENC[1], x, 3, DA, NULL) == SLAVA_OK;
    for (int j = 0; j < NCAP && ok; j++) {
        snprintf(text, sizeof text, "caption %d of clip %d", j, i);
        ok = slava_store_put_caption(ctx, s, name, j % SLAVA_CAP_KINDS, j / SLAVA_CAP_KINDS, text) == SLAVA_OK;
        fill(x, i, 2, 1 + j, DT);
        ok = ok && slava_store_put_caption_feature(ctx, s, name, j % SLAVA_CAP_KINDS, j / SLAVA_CAP_KINDS, ENC[2],
                                                   x + (size_t)j * DT, DT, NULL) == SLAVA_OK;
    }
    free(x);
    return ok;
}

/* Child: clips [0, n) committed one by one, reporting each on `fd`; with stop_at >= 0, clip
 * stop_at is half written inside its transaction, reported as -1, and the child waits to be killed
 * (as it also does, after reporting -1, when every clip is written). */
static void child(const char *path, int fd, int stop_at) {
    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    if (slava_store_open(ctx, path, 1, &s) != SLAVA_OK) _exit(3);
    for (int i = 0; i < NCLIPS; i++) {
        char name[32];
        snprintf(name, sizeof name, "clip%03d", i);
        slava_clip_state state;
        if (slava_store_clip_state(ctx, s, name, ENC, &state, NULL) != SLAVA_OK) _exit(4);
        if (state == SLAVA_CLIP_COMPLETE) continue;   /* resumed: done before */
        if (slava_store_begin(ctx, s) != SLAVA_OK) _exit(5);
        if (i == stop_at) {
            if (!write_clip(ctx, s, i, 1)) _exit(6);
            int msg = -1;
            if (write(fd, &msg, sizeof msg) != sizeof msg) _exit(7);
            for (;;) pause();
        }
        if (!write_clip(ctx, s, i, 0)) _exit(8);
        if (slava_store_commit(ctx, s) != SLAVA_OK) _exit(9);
        if (write(fd, &i, sizeof i) != sizeof i) _exit(10);
    }
    int done = -1;   /* all written before the kill came: report it and wait for the kill */
    if (write(fd, &done, sizeof done) != sizeof done) _exit(11);
    for (;;) pause();
}

/* Fork the child, read its reports; kill it after `kill_after` committed clips (stop_at < 0) or
 * when it reports the half-written clip. Returns the number of commits reported. */
static int run_and_kill(const char *path, int stop_at, int kill_after) {
    int p[2];
    if (pipe(p) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) { close(p[0]); child(path, p[1], stop_at); }
    close(p[1]);
    int committed = 0, msg;
    while (read(p[0], &msg, sizeof msg) == sizeof msg) {
        if (msg < 0) break;
        committed++;
        if (stop_at < 0 && committed >= kill_after) break;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(p[0]);
    CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child ended with status %d before the kill", status);
    return committed;
}

/* The reopened store: integrity, foreign keys, only whole clips, exact features. Returns #clips. */
static int check_consistent(slava_ctx *ctx, const char *path, int min_clips) {
    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(q, 0), "ok"));
    sqlite3_finalize(q);
    sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);

    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, path, 0, &s));
    if (!s) return -1;
    slava_dataset ds;
    CHECK_OK(ctx, slava_store_load(ctx, s, 0, ENC, &ds));
    CHECKF(ds.n >= min_clips, "%d clips stored, %d were committed", ds.n, min_clips);
    int bad = 0;
    float *x = malloc((size_t)64 * DV * sizeof(float));
    for (int i = 0; i < ds.n; i++) {
        const slava_clip *c = &ds.clips[i];
        char name[32];
        snprintf(name, sizeof name, "clip%03d", i);
        if (strcmp(c->id, name)) { bad++; continue; }       /* clips are stored in order: a gap is a bug */
        slava_clip_state state;
        CHECK_OK(ctx, slava_store_clip_state(ctx, s, name, ENC, &state, NULL));
        bad += state != SLAVA_CLIP_COMPLETE;
        fill(x, i, 0, clip_frames(i), DV);
        bad += c->t_v != clip_frames(i) || memcmp(c->visual, x, (size_t)c->t_v * DV * 4) != 0;
        fill(x, i, 1, 3, DA);
        bad += c->t_a != 3 || memcmp(c->audio, x, (size_t)3 * DA * 4) != 0;
        fill(x, i, 2, NCAP, DT);
        for (int j = 0; j < NCAP; j++) {
            int k = j % SLAVA_CAP_KINDS, slot = j / SLAVA_CAP_KINDS;
            bad += c->n_cap[k] != NCAP / SLAVA_CAP_KINDS || memcmp(c->cap[k] + (size_t)slot * DT, x + (size_t)j * DT, DT * 4) != 0;
        }
    }
    CHECKF(bad == 0, "%d inconsistencies in the reopened store", bad);
    /* nothing of a half-written clip: no stray encoders, captions or features */
    char want[64];
    snprintf(want, sizeof want, "%d/%d/3/%d", ds.n, ds.n * NCAP, ds.n * (2 + NCAP));
    char got[128];
    tu_counts(path, got, sizeof got);
    CHECKF(!strcmp(want, got), "rows %s, expected %s", got, want);
    free(x);
    int n = ds.n;
    slava_dataset_free(&ds);
    slava_store_close(s);
    return n;
}

/* Finish the job like a resumed encode: skip complete clips, write the others. */
static void resume(slava_ctx *ctx, const char *path, int expect_work) {
    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, path, 0, &s));
    if (!s) return;
    int written = 0;
    for (int i = 0; i < NCLIPS; i++) {
        char name[32];
        snprintf(name, sizeof name, "clip%03d", i);
        slava_clip_state state;
        CHECK_OK(ctx, slava_store_clip_state(ctx, s, name, ENC, &state, NULL));
        if (state == SLAVA_CLIP_COMPLETE) continue;
        CHECK(state == SLAVA_CLIP_ABSENT);
        CHECK_OK(ctx, slava_store_begin(ctx, s));
        CHECK(write_clip(ctx, s, i, 0));
        CHECK_OK(ctx, slava_store_commit(ctx, s));
        written++;
    }
    CHECK(!expect_work || written > 0);
    slava_store_close(s);
    CHECK(check_consistent(ctx, path, NCLIPS) == NCLIPS);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();

    /* (1) killed inside clip 7's transaction, after its pages spilled into the WAL */
    const char *path = tu_tmp("crash_mid.db");
    tu_remove_store(path);
    int committed = run_and_kill(path, 7, 0);
    CHECK(committed == 7);
    char wal[1200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    FILE *f = fopen(wal, "rb");
    long wal_bytes = 0;
    if (f) { fseek(f, 0, SEEK_END); wal_bytes = ftell(f); fclose(f); }
    CHECKF(wal_bytes > 1024L * 1024, "WAL holds %ld bytes: the uncommitted clip did not spill (committed clips need < 0.3 MiB)", wal_bytes);
    CHECK(check_consistent(ctx, path, 7) == 7);
    resume(ctx, path, 1);

    /* (2) killed at an arbitrary point of a tight write loop, three times, resuming each time */
    const char *path2 = tu_tmp("crash_loop.db");
    tu_remove_store(path2);
    for (int round = 0; round < 3; round++) {
        int before = round ? check_consistent(ctx, path2, 0) : 0;
        if (before >= NCLIPS - 2) break;
        int c = run_and_kill(path2, -1, 2);
        CHECK(c == 2 || before + c == NCLIPS);
        check_consistent(ctx, path2, before + c);
    }
    resume(ctx, path2, 0);

    slava_ctx_free(ctx);
    return test_done("store_crash");
}
