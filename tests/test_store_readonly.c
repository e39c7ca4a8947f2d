/*
 * test_store_readonly.c — commands that only read a feature store open it read-only (issue 10,
 * defect 4): store info / export, train, eval and experiment work on a store in a read-only file
 * and in a read-only folder (immutable mode: no -wal / -shm files appear), never change the file
 * (bytes, journal mode), and a read-only folder holding a non-empty -wal is an error naming it
 * instead of silently reading old data. Run as root, the commands drop to user nobody
 * (setpriv), since permission bits do not bind root.
 */
#include "cli_testutil.h"
#include <dirent.h>
#include <sqlite3.h>

static char pfx[128] = "";

static void copy_file(const char *from, const char *to) {
    long n = 0;
    char *b = slurp_file(from, &n);
    FILE *f = fopen(to, "wb");
    CHECK(b && f && fwrite(b, 1, n, f) == (size_t)n);
    if (f) fclose(f);
    free(b);
}

static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* Every read-only command on `store` succeeds; outputs go to `out`. */
static void read_commands(const char *store, const char *out) {
    char cmd[4096], *o = NULL, *e = NULL;
    const char *fmt[] = {
        "%s" SLAVA_BIN " store info '%s'",
        "%s" SLAVA_BIN " store export '%s' --out '%s/f.safetensors'",
        "%s" SLAVA_BIN " train --store '%s' --out '%s/h.safetensors' --epochs 1 --batch 32 --threads 1 --quiet",
        "%s" SLAVA_BIN " eval --store '%s' --heads '%s/h.safetensors' --threads 1",
        "%s" SLAVA_BIN " experiment --store '%s' --recipes av-only --seeds 0 --epochs 1 --batch 32 --threads 1 --quiet%.0s",
    };
    for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
        snprintf(cmd, sizeof cmd, fmt[i], pfx, store, out);
        int rc = run_cmd(cmd, &o, &e);
        CHECKF(rc == 0, "%s: exit %d: %s", cmd, rc, e ? e : "");
        free(o); free(e);
    }
}

int main(void) {
    if (geteuid() == 0) snprintf(pfx, sizeof pfx, "setpriv --reuid=65534 --regid=65534 --clear-groups ");
    slava_ctx *ctx = slava_ctx_new();
    char ro[512], out[512], store[600], cmd[4096];
    snprintf(ro, sizeof ro, "%s", tmp_path("ro_store"));
    snprintf(out, sizeof out, "%s", tmp_path("ro_out"));
    snprintf(store, sizeof store, "%s/s.sqlite", ro);
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s' '%s'; mkdir -p '%s' '%s' && chmod 777 '%s'", ro, ro,
             out, ro, out, out);
    CHECK(system(cmd) == 0);
    CHECK_OK(ctx, make_store(ctx, store, 7, 64));
    long n0 = 0, n1 = 0;
    char *before = slurp_file(store, &n0);

    /* ---- a read-only file in a writable folder */
    chmod(store, 0444);
    read_commands(store, out);
    /* ---- a read-only folder: nothing can be created beside the store */
    chmod(ro, 0555);
    read_commands(store, out);
    CHECKF(dir_entries(ro) == 1, "the read-only folder gained files (-wal / -shm?)");
    char *after = slurp_file(store, &n1);
    CHECK(before && after && n0 == n1 && !memcmp(before, after, n0));
    free(after);
    /* the library's read-only mode refuses writes */
    slava_store *s = NULL;
    CHECK_OK(ctx, slava_store_open(ctx, store, SLAVA_STORE_READ, &s));
    if (s) CHECK(slava_store_put_clip(ctx, s, "new", SLAVA_SPLIT_TRAIN, NULL, -1, 1, NULL) != SLAVA_OK);
    slava_store_close(s);
    chmod(ro, 0755);
    chmod(store, 0644);

    /* ---- a rollback-journal store stays one: readers never switch the journal mode */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(store, &db) == SQLITE_OK && sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    free(before);
    before = slurp_file(store, &n0);
    CHECK(before && n0 > 20 && before[18] == 1 && before[19] == 1);   /* file format 1: rollback journal */
    pfx[0] = 0;   /* as the owner, with write permission: still nothing may change */
    read_commands(store, out);
    after = slurp_file(store, &n1);
    CHECKF(after && n1 > 20 && after[18] == 1 && after[19] == 1, "journal mode switched to WAL by a reader");
    CHECK(after && n0 == n1 && !memcmp(before, after, n0));
    free(after);
    if (geteuid() == 0) snprintf(pfx, sizeof pfx, "setpriv --reuid=65534 --regid=65534 --clear-groups ");

    /* ---- a read-only folder whose -wal holds changes not in the main file: an error naming it */
    CHECK(sqlite3_open(store, &db) == SQLITE_OK && sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    char walsrc[700], walcopy[700], copy[650];
    snprintf(walsrc, sizeof walsrc, "%s-wal", store);
    snprintf(copy, sizeof copy, "%s/w.sqlite", ro);
    snprintf(walcopy, sizeof walcopy, "%s-wal", copy);
    CHECK_OK(ctx, slava_store_open(ctx, store, SLAVA_STORE_WRITE, &s));
    if (s) {
        CHECK_OK(ctx, slava_store_put_clip(ctx, s, "only-in-the-wal", SLAVA_SPLIT_TEST, NULL, -1, 0, NULL));
        copy_file(store, copy);        /* the main file and its log, as a killed writer leaves them */
        copy_file(walsrc, walcopy);
    }
    slava_store_close(s);
    CHECK(file_size(walcopy) > 0);
    chmod(ro, 0555);
    snprintf(cmd, sizeof cmd, "%s" SLAVA_BIN " store info '%s'", pfx, copy);
    expect_err(cmd, 1, walcopy);
    chmod(ro, 0777);
    /* where the -shm can be created, the log is read: the clip is there */
    char *o = NULL;
    snprintf(cmd, sizeof cmd, "%s" SLAVA_BIN " store info '%s'", pfx, copy);
    CHECK(run_cmd(cmd, &o, NULL) == 0 && o && strstr(o, "40         41"));   /* test clips: 40 + the new one */
    free(o);

    free(before);
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s' '%s'", ro, ro, out);
    CHECK(system(cmd) == 0);
    slava_ctx_free(ctx);
    return test_done("store_readonly");
}
