/*
 * test_interrupt.c — SIGINT / SIGTERM while `slava encode`, `run`, `train` and `experiment` work
 * (issue 15): each stops with exit status 130 / 143 and exactly one stderr line
 * "slava: interrupted: ..." naming what was kept and how to resume; no partial or temporary file
 * is left; the store holds only whole clips (every stored clip complete, SQLite's integrity check
 * ok); and running the same command again gives exactly what an uninterrupted run gives (the
 * store's export, the heads file, the printed table — compared byte for byte).
 *
 * The signal is sent once the command is working: for encode / run after it committed its first
 * clips (read from the store while it writes), for train / experiment once the process has
 * installed its handlers (/proc/PID/status) and a moment later. The time from the signal to the
 * exit is printed (the target is 2 s; timings are not asserted, a command that has not
 * stopped after 60 s fails as hung). Encoders: the tiny random-weight fixtures.
 */
#include "cli_testutil.h"
#include "base/base.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <time.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"

static char g_dir[600], g_data[700];
static double g_worst;   /* longest signal -> exit seen */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Path of `name` in the scratch folder (kept until free_paths at the end). */
static char *g_paths[256];
static int g_npaths;
static const char *in_dir(const char *name) {
    char *b = malloc(strlen(g_dir) + strlen(name) + 2);
    sprintf(b, "%s/%s", g_dir, name);
    if (g_npaths < 256) g_paths[g_npaths++] = b;
    return b;
}
static void free_paths(void) { while (g_npaths) free(g_paths[--g_npaths]); }

/* A whole file (malloc'd, NUL-terminated) or NULL. */
static char *slurp(const char *path, size_t *len) {
    char *b = NULL;
    slava_ctx *ctx = slava_ctx_new();
    sv_read_file(ctx, path, &b, len);
    slava_ctx_free(ctx);
    return b;
}

static int same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

/* Clips committed so far, read (read-only) while a writer may be running; -1 if unreadable. */
static int committed(const char *store) {
    sqlite3 *db;
    int n = -1;
    if (sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        sqlite3_busy_timeout(db, 1000);
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM clips", -1, &q, NULL) == SQLITE_OK) {
            if (sqlite3_step(q) == SQLITE_ROW) n = sqlite3_column_int(q, 0);
            sqlite3_finalize(q);
        }
    }
    sqlite3_close(db);
    return n;
}

/* The process has its own SIGINT and SIGTERM handlers (SigCgt in /proc/PID/status). */
static int handlers_ready(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned long long mask = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "SigCgt:", 7)) mask = strtoull(line + 7, NULL, 16);
    fclose(f);
    unsigned long long want = (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1));
    return (mask & want) == want;
}

/* Start SLAVA_BIN with argv (NULL-terminated), stdout -> out_file, stderr -> err_file. */
static pid_t start(char *const *argv, const char *out_file, const char *err_file) {
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0) _exit(126);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(SLAVA_BIN, argv);
        _exit(127);
    }
    return pid;
}

/* Wait for the child, at most 60 s (then it is killed: a hang). Returns the wait status. */
static int wait_for(pid_t pid, double t_signal, const char *label) {
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (now_s() - t_signal > 60) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            CHECKF(0, "%s: still running 60 s after the signal", label);
            return -1;
        }
        sleep_ms(1);
    }
    double dt = now_s() - t_signal;
    if (dt > g_worst) g_worst = dt;
    printf("%s: stopped %.3f s after the signal\n", label, dt);
    return status;
}

/* The stderr of an interrupted command: exactly one line, "slava: interrupted: ", mentioning `must`. */
static void check_one_line(const char *err_file, const char *must, const char *label) {
    char *e = slurp(err_file, NULL);
    CHECKF(e && count_lines(e) == 1 && !strncmp(e, "slava: interrupted: ", 20) && strstr(e, must),
           "%s: stderr must be one 'slava: interrupted:' line mentioning '%s', got: %s", label, must, e ? e : "(none)");
    free(e);
}

/* No temporary or partial file anywhere in the scratch folder. */
static void check_no_temporaries(const char *label) {
    DIR *d = opendir(g_dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".tmp-") || strstr(de->d_name, "-journal")) {
            n++;
            fprintf(stderr, "%s: left behind: %s\n", label, de->d_name);
        }
    if (d) closedir(d);
    CHECKF(n == 0, "%s: %d temporary files left", label, n);
}

/* Only whole clips are stored: every clip row is complete (or a recorded failure) for the stored
 * encoders, and SQLite finds the file intact. */
static void check_store_whole(const char *store, const char *label) {
    sqlite3 *db;
    CHECK(sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *q;
    const char *ok = "";
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        ok = (const char *)sqlite3_column_text(q, 0);
    CHECKF(ok && !strcmp(ok, "ok"), "%s: integrity_check says %s", label, ok ? ok : "?");
    sqlite3_finalize(q);
    sqlite3_close(db);

    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_store_info info;
    memset(&info, 0, sizeof info);
    CHECK_OK(ctx, slava_store_open(ctx, store, SLAVA_STORE_READ, &s));
    if (s) CHECK_OK(ctx, slava_store_get_info(ctx, s, &info));
    const char *enc[SLAVA_MODS] = {NULL, NULL, NULL};
    for (int e = 0; e < info.n_encoders; e++) enc[info.encoders[e].modality] = info.encoders[e].name;
    int bad = 0, n = 0;
    if (s && sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        if (sqlite3_prepare_v2(db, "SELECT name FROM clips", -1, &q, NULL) == SQLITE_OK) {
            while (sqlite3_step(q) == SQLITE_ROW) {
                slava_clip_state cs;
                n++;
                if (slava_store_clip_state(ctx, s, (const char *)sqlite3_column_text(q, 0), enc, &cs, NULL) ||
                    (cs != SLAVA_CLIP_COMPLETE && cs != SLAVA_CLIP_FAILED))
                    bad++;
            }
            sqlite3_finalize(q);
        }
        sqlite3_close(db);
    }
    CHECKF(bad == 0, "%s: %d of %d stored clips are incomplete", label, bad, n);
    slava_store_info_free(&info);
    slava_store_close(s);
    slava_ctx_free(ctx);
}

static int export_store(const char *store, const char *out) {
    char cmd[3000];
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store export '%s' --out '%s'", store, out);
    return run_cmd(cmd, NULL, NULL);
}

/* Run argv to the end (stdout -> out_file); returns the exit status. */
static int run_to_end(char *const *argv, const char *out_file) {
    pid_t pid = start(argv, out_file, in_dir("end.err"));
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        char *e = slurp(in_dir("end.err"), NULL);
        fprintf(stderr, "%s %s: %s\n", argv[0], argv[1], e ? e : "");
        free(e);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* An encode-like command (argv writes `store`) interrupted by `sig` once `at_least` clips are
 * committed. Returns 1 when it was interrupted, 0 when it finished first (nothing to check). */
static int interrupt_writer(char *const *argv, const char *store, int at_least, int sig, const char *label) {
    pid_t pid = start(argv, in_dir("stop.out"), in_dir("stop.err"));
    int status = 0, done = 0;
    for (int i = 0; i < 120000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) { done = 1; break; }
        if (handlers_ready(pid) && committed(store) >= at_least) break;
        sleep_ms(1);
    }
    if (done) {
        printf("%s: finished before the signal could be sent (%d)\n", label, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
    }
    double t = now_s();
    kill(pid, sig);
    status = wait_for(pid, t, label);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig, "%s: exit status %d, expected %d", label,
           WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), 128 + sig);
    return 1;
}

/* A command interrupted by `sig` shortly after its handlers are installed. */
static void interrupt_worker(char *const *argv, int sig, int delay_ms, const char *label) {
    pid_t pid = start(argv, in_dir("stop.out"), in_dir("stop.err"));
    int status = 0;
    for (int i = 0; i < 60000 && !handlers_ready(pid); i++) sleep_ms(1);
    sleep_ms(delay_ms);
    double t = now_s();
    kill(pid, sig);
    status = wait_for(pid, t, label);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig, "%s: exit status %d, expected %d", label,
           WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), 128 + sig);
}

int main(void) {
    char cmd[4096];
    snprintf(g_dir, sizeof g_dir, "%s/interrupt", SLAVA_TMP);
    snprintf(g_data, sizeof g_data, "%s/data", g_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && " SLAVA_BIN " synth --out '%s' --train 24 --val 8 --test 8 "
             "--seconds 2-8 --threads 2 --quiet", g_dir, g_dir, g_data);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);

    /* ---- encode: reference, then SIGINT and SIGTERM mid-run, each resumed by the same command */
    const char *ref = in_dir("ref.sqlite");
    char *enc_ref[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                       (char *)ref, "--threads", "2", "--quiet", NULL};
    CHECK(run_to_end(enc_ref, in_dir("ref.out")) == 0);
    CHECK(export_store(ref, in_dir("ref.safetensors")) == 0);
    const int sigs[2] = {SIGINT, SIGTERM}, at[2] = {2, 9};
    for (int k = 0; k < 2; k++) {
        char store[900], label[64];
        snprintf(store, sizeof store, "%s/enc%d.sqlite", g_dir, k);
        snprintf(label, sizeof label, "encode %s", k ? "SIGTERM" : "SIGINT");
        char *argv[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store", store,
                        "--threads", "2", "--quiet", NULL};
        int stopped = 0;
        for (int attempt = 0; attempt < 3 && !stopped; attempt++) {
            rm_store(store);
            stopped = interrupt_writer(argv, store, at[k], sigs[k], label);
        }
        CHECKF(stopped, "%s: never caught while working", label);
        check_one_line(in_dir("stop.err"), store, label);
        check_one_line(in_dir("stop.err"), "run the same command again", label);
        check_no_temporaries(label);
        check_store_whole(store, label);
        int kept = committed(store);
        CHECKF(kept >= at[k] && kept < 40, "%s: %d clips kept", label, kept);
        CHECK(run_to_end(argv, in_dir("resume.out")) == 0);
        char ex[900];
        snprintf(ex, sizeof ex, "%s/enc%d.safetensors", g_dir, k);
        CHECK(export_store(store, ex) == 0);
        CHECKF(same_file(ex, in_dir("ref.safetensors")), "%s: the resumed store's export differs from the reference", label);
    }

    /* ---- train: SIGTERM mid-training; no heads file; the rerun equals the uninterrupted run */
    {
        char *argv_ref[] = {SLAVA_BIN, "train", "--store", (char *)ref, "--recipe", "slava-av3", "--epochs", "1500",
                            "--out", (char *)in_dir("ref.heads"), "--threads", "2", "--quiet", NULL};
        CHECK(run_to_end(argv_ref, in_dir("train_ref.out")) == 0);
        const char *heads = in_dir("run.heads");
        char *argv[] = {SLAVA_BIN, "train", "--store", (char *)ref, "--recipe", "slava-av3", "--epochs", "1500",
                        "--out", (char *)heads, "--threads", "2", "--quiet", NULL};
        interrupt_worker(argv, SIGTERM, 150, "train SIGTERM");
        check_one_line(in_dir("stop.err"), heads, "train SIGTERM");
        check_one_line(in_dir("stop.err"), "was not written", "train SIGTERM");
        CHECKF(access(heads, F_OK) != 0, "train: %s exists after the interruption", heads);
        check_no_temporaries("train SIGTERM");
        CHECK(run_to_end(argv, in_dir("train.out")) == 0);
        CHECKF(same_file(heads, in_dir("ref.heads")), "train: the rerun's heads differ from the uninterrupted run's");
    }

    /* ---- experiment: SIGINT mid-run; nothing printed; the rerun prints the uninterrupted table */
    {
        char *argv[] = {SLAVA_BIN, "experiment", "--store", (char *)ref, "--recipes", "slava-av3,audioclip", "--seeds",
                        "0,1", "--epochs", "400", "--format", "csv", "--threads", "2", "--quiet", NULL};
        CHECK(run_to_end(argv, in_dir("exp_ref.out")) == 0);
        interrupt_worker(argv, SIGINT, 150, "experiment SIGINT");
        check_one_line(in_dir("stop.err"), "run the same command again", "experiment SIGINT");
        size_t n = 1;
        char *o = slurp(in_dir("stop.out"), &n);
        CHECKF(o && n == 0, "experiment: %zu bytes printed after the interruption", n);
        free(o);
        CHECK(run_to_end(argv, in_dir("exp.out")) == 0);
        CHECKF(same_file(in_dir("exp.out"), in_dir("exp_ref.out")), "experiment: the rerun's table differs");
    }

    /* ---- run: SIGINT while it encodes; the rerun's store and table equal an uninterrupted run's */
    {
        const char *s1 = in_dir("run_ref.sqlite"), *s2 = in_dir("run.sqlite");
        char *argv_ref[] = {SLAVA_BIN, "run", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                            (char *)s1, "--recipes", "slava-av3", "--seeds", "0", "--epochs", "5", "--format", "csv",
                            "--threads", "2", "--quiet", NULL};
        CHECK(run_to_end(argv_ref, in_dir("run_ref.out")) == 0);
        char *argv[] = {SLAVA_BIN, "run", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                        (char *)s2, "--recipes", "slava-av3", "--seeds", "0", "--epochs", "5", "--format", "csv",
                        "--threads", "2", "--quiet", NULL};
        int stopped = 0;
        for (int attempt = 0; attempt < 3 && !stopped; attempt++) {
            rm_store(s2);
            stopped = interrupt_writer(argv, s2, 3, SIGINT, "run SIGINT");
        }
        CHECKF(stopped, "run: never caught while encoding");
        check_one_line(in_dir("stop.err"), s2, "run SIGINT");
        check_no_temporaries("run SIGINT");
        check_store_whole(s2, "run SIGINT");
        CHECK(run_to_end(argv, in_dir("run.out")) == 0);
        CHECKF(same_file(in_dir("run.out"), in_dir("run_ref.out")), "run: the rerun's table differs");
        CHECK(export_store(s2, in_dir("run.safetensors")) == 0);
        CHECKF(same_file(in_dir("run.safetensors"), in_dir("ref.safetensors")), "run: the resumed store's export differs");
    }
    printf("longest time from a signal to the exit: %.3f s\n", g_worst);
    free_paths();
    return test_done("test_interrupt");
}
