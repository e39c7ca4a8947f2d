/*
 * fault_testutil.h — helpers shared by the fault tests (test_interrupt, test_disk_full,
 * test_concurrency, test_memory, test_bad_input): a scratch folder, starting `slava` as a child
 * with its output in files and waiting for it (60 s at most: longer is a hang), reading a store
 * while another process writes it, and the checks every fault must pass — stderr one line, no
 * temporary file left, only whole clips in the store, files equal byte for byte.
 */
#ifndef SLAVA_FAULT_TESTUTIL_H
#define SLAVA_FAULT_TESTUTIL_H

#include "cli_testutil.h"
#include "base/base.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <time.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"

/* The test's scratch folder and the synthetic collection in it (fault_setup). */
static __attribute__((unused)) char g_dir[600], g_data[700];
static __attribute__((unused)) double g_worst;   /* longest time from a signal to the exit (wait_for) */

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Path of `name` in the scratch folder (kept until free_paths at the end). */
static char *g_paths[256];
static int g_npaths;
static inline const char *in_dir(const char *name) {
    char *b = malloc(strlen(g_dir) + strlen(name) + 2);
    sprintf(b, "%s/%s", g_dir, name);
    if (g_npaths < 256) g_paths[g_npaths++] = b;
    return b;
}
static inline void free_paths(void) { while (g_npaths) free(g_paths[--g_npaths]); }

/* A whole file (malloc'd, NUL-terminated) or NULL. */
static inline char *slurp(const char *path, size_t *len) {
    char *b = NULL;
    slava_ctx *ctx = slava_ctx_new();
    sv_read_file(ctx, path, &b, len);
    slava_ctx_free(ctx);
    return b;
}

static inline int same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

/* Clips committed so far, read (read-only) while a writer may be running; -1 if unreadable. */
static inline int committed(const char *store) {
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
static inline int handlers_ready(pid_t pid) {
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
static inline pid_t start(char *const *argv, const char *out_file, const char *err_file) {
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
static inline int wait_for(pid_t pid, double t_signal, const char *label) {
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

/* The stderr in err_file: exactly one line, starting with `prefix` and mentioning `must`. */
static inline void check_one_line(const char *err_file, const char *prefix, const char *must, const char *label) {
    char *e = slurp(err_file, NULL);
    CHECKF(e && count_lines(e) == 1 && !strncmp(e, prefix, strlen(prefix)) && strstr(e, must),
           "%s: stderr must be one '%s' line mentioning '%s', got: %s", label, prefix, must, e ? e : "(none)");
    free(e);
}

/* No temporary or partial file in folder dir. */
static inline void check_no_temporaries(const char *dir, const char *label) {
    DIR *d = opendir(dir);
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
static inline void check_store_whole(const char *store, const char *label) {
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

/* The video file of the collection's first clip (in `buf`; "" when there is none). */
static inline const char *first_video(const char *data, char *buf, size_t cap) {
    slava_ctx *ctx = slava_ctx_new();
    slava_collection c;
    memset(&c, 0, sizeof c);
    CHECK_OK(ctx, slava_collection_open(ctx, data, NULL, 0, &c));
    snprintf(buf, cap, "%s", c.n && c.clips[0].video ? c.clips[0].video : "");
    slava_collection_free(&c);
    slava_ctx_free(ctx);
    return buf;
}

static inline int export_store(const char *store, const char *out) {
    char cmd[3000];
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store export '%s' --out '%s'", store, out);
    return run_cmd(cmd, NULL, NULL);
}

/* Run argv to the end (stdout -> out_file); returns the exit status. */
static inline int run_to_end(char *const *argv, const char *out_file) {
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

/* A fresh scratch folder SLAVA_TMP/<name> with a synthetic collection in g_data written by
 * `slava synth <synth_args>` (e.g. "--train 24 --val 8 --test 8 --seconds 2-8"); the commands
 * the test starts run with SLAVA_GEMM=onednn unless it is set. */
static inline int fault_setup(const char *name, const char *synth_args) {
    char cmd[4096];
    /* byte-for-byte comparisons between runs need one GEMM backend for every shape (nn.h): under
     * the default (auto) a product's backend is chosen by timing it */
    setenv("SLAVA_GEMM", "onednn", 0);
    snprintf(g_dir, sizeof g_dir, "%s/%s", SLAVA_TMP, name);
    snprintf(g_data, sizeof g_data, "%s/data", g_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && " SLAVA_BIN " synth --out '%s' %s --threads 2 --quiet",
             g_dir, g_dir, g_data, synth_args);
    int rc = run_cmd(cmd, NULL, NULL);
    CHECKF(rc == 0, "%s failed", cmd);
    return rc;
}

#endif
