/*
 * test_mpi_encode.c — `mpirun -n 3 slava encode` (issue 14) on a synthetic collection (36 clips,
 * one with a corrupt video): the merged store must export byte-identical features to a
 * one-process encode with the same options and threads, leave no shard behind and print one
 * summary; the same with every shard sent to rank 0 over MPI (--send-shards); a rank killed
 * (SIGKILL) mid-run, and the same command run again, which resumes (some clips already stored)
 * and ends with the same bytes; a finished run run again encodes nothing; `mpirun slava run`
 * prints the one-process Table II. Skipped (exit 77) when slava was built without MPI.
 */
#include "mpi_testutil.h"
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"
#define OPTS "--threads 1 --group 3 --frame-batch 6 --chunk-batch 2 --caption-batch 24"

static char g_dir[512], g_mpi[1024];

static int same_file(const char *a, const char *b) {
    long na = -1, nb = -2;
    char *x = slurp_file(a, &na), *y = slurp_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, (size_t)na);
    free(x);
    free(y);
    return same;
}

static int export_to(const char *store, const char *out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, SLAVA_BIN " store export '%s' --out '%s'", store, out);
    return run_cmd(cmd, NULL, NULL) == 0;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Clips committed in a store (0 when it cannot be read yet). */
static int committed(const char *store) {
    slava_ctx *ctx = slava_ctx_new();
    slava_store *s = NULL;
    slava_store_info info;
    int n = 0;
    if (!slava_store_open(ctx, store, SLAVA_STORE_WRITE, &s) && !slava_store_get_info(ctx, s, &info)) {
        for (int k = 0; k < SLAVA_SPLITS; k++) n += (int)(info.clips[k] + info.failed[k]);
        slava_store_info_free(&info);
    }
    slava_store_close(s);
    slava_ctx_free(ctx);
    return n;
}

/* The pid of the process whose environment says OMPI_COMM_WORLD_RANK=rank and whose command
 * line names `needle`; -1 when none. */
static pid_t find_rank(int rank, const char *needle) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    char want[64], path[300];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    pid_t found = -1;
    while (d && found < 0 && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        long n = 0;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        char *cl = slurp_file(path, &n);
        int named = 0;
        for (long i = 0; cl && i < n; i += (long)strlen(cl + i) + 1) named |= strstr(cl + i, needle) != NULL;
        free(cl);
        if (!named) continue;
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        char *env = slurp_file(path, &n);
        for (long i = 0; env && i < n; i += (long)strlen(env + i) + 1)
            if (!strcmp(env + i, want)) found = (pid_t)atoi(e->d_name);
        free(env);
    }
    if (d) closedir(d);
    return found;
}

int main(void) {
    mpi_require("mpi_encode");
    mpirun(g_mpi, sizeof g_mpi, 3);
    char cmd[8192], *err = NULL;
    int rc;
    snprintf(g_dir, sizeof g_dir, "%s/mpi_encode_data", SLAVA_TMP);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s/mpi_shards' && mkdir -p '%s/mpi_shards' && " SLAVA_BIN
             " synth --out '%s' --train 18 --val 9 --test 9 --seconds 2-8 --threads 2 --quiet && "
             "echo 'not an mp4' > \"$(ls '%s'/train_videos/*.mp4 | sed -n 5p)\"",
             g_dir, SLAVA_TMP, SLAVA_TMP, g_dir, g_dir);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "synth: %s", err ? err : "");
    free(err);
    char ref[600], ref_st[600], st_path[600], got_st[600], sdir[600];
    snprintf(ref, sizeof ref, "%s", tmp_path("mpi_ref.sqlite"));
    snprintf(ref_st, sizeof ref_st, "%s", tmp_path("mpi_ref.safetensors"));
    snprintf(st_path, sizeof st_path, "%s", tmp_path("mpi_merged.sqlite"));
    snprintf(got_st, sizeof got_st, "%s", tmp_path("mpi_merged.safetensors"));
    snprintf(sdir, sizeof sdir, "%s/mpi_shards", SLAVA_TMP);
    slava_store_remove(ref);
    slava_store_remove(st_path);

    /* the one-process reference */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " OPTS " --quiet",
             g_dir, ref);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 1, "reference encode: %d %s", rc, err ? err : "");
    free(err);
    CHECK(export_to(ref, ref_st));

    /* three ranks: one summary, the merged store equals the reference, no shard left */
    char enc[8192];
    snprintf(enc, sizeof enc, "%s " SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' " OPTS
             " --shard-dir '%s'", g_mpi, g_dir, st_path, sdir);
    rc = run_cmd(enc, NULL, &err);
    CHECKF(rc == 1, "mpirun encode exit %d (one clip fails): %s", rc, err ? err : "");
    const char *sum = err ? strstr(err, "encode (3 ranks): 36 clips: 35 encoded") : NULL;
    CHECKF(sum && !strstr(sum + 1, "encode (3 ranks): 36 clips"), "one summary of all ranks: %s", err ? err : "");
    CHECKF(err && strstr(err, "merged 3 shards"), "merge reported: %s", err ? err : "");
    free(err);
    CHECK(export_to(st_path, got_st));
    CHECKF(same_file(ref_st, got_st), "mpirun -n 3 encode: the export differs from the one-process encode's");
    int left = 0;
    DIR *d = opendir(sdir);
    for (struct dirent *e; d && (e = readdir(d));) left += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECKF(left == 0, "%d files left in the shard folder", left);

    /* run again: nothing to encode */
    rc = run_cmd(enc, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, " 0 encoded") && strstr(err, "35 already stored"), "rerun: %d %s", rc, err ? err : "");
    free(err);

    /* every shard sent to rank 0 over MPI */
    slava_store_remove(st_path);
    char send[8300];
    snprintf(send, sizeof send, "%s --send-shards", enc);
    rc = run_cmd(send, NULL, &err);
    CHECKF(rc == 1, "mpirun encode --send-shards exit %d: %s", rc, err ? err : "");
    free(err);
    CHECK(export_to(st_path, got_st) && same_file(ref_st, got_st));

    /* rank 1 killed once its shard holds 3 clips; the same command again finishes the job */
    slava_store_remove(st_path);
    char shard1[700];
    snprintf(shard1, sizeof shard1, "%s/mpi_merged.sqlite.shard-2-of-3", sdir);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", enc, (char *)NULL);
        _exit(127);
    }
    int status = 0, killed = 0, n = 0;
    for (int i = 0; i < 30000 && !killed; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) { pid = -1; break; }
        n = committed(shard1);
        if (n >= 3) {
            pid_t r1 = find_rank(1, st_path);
            if (r1 > 0) killed = kill(r1, SIGKILL) == 0;
        }
        sleep_ms(2);
    }
    if (pid > 0) waitpid(pid, &status, 0);
    CHECKF(killed, "rank 1 was not killed (the run ended first, %d clips in its shard)", n);
    CHECKF(pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0, "mpirun reported success after a rank was killed");
    printf("mpi_encode: rank 1 killed with %d clips in its shard\n", n);
    int kept = committed(shard1);
    CHECKF(kept >= 3 && kept < 12, "rank 1's shard holds %d clips after the kill", kept);
    rc = run_cmd(enc, NULL, &err);
    CHECKF(rc == 1 && err && strstr(err, "already stored") && !strstr(err, " 0 already stored"), "resumed run: %d %s", rc,
           err ? err : "");
    free(err);
    CHECK(export_to(st_path, got_st));
    CHECKF(same_file(ref_st, got_st), "after a killed rank and a rerun the export differs from the one-process encode's");

    /* slava run under mpirun (everything stored: encode skips, experiment spread over the ranks)
     * prints the one-process Table II */
    const char *run = SLAVA_BIN " run --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --recipes slava-av3,av-only"
                      " --seeds 0,1 --epochs 2 --threads 1 --quiet";
    snprintf(cmd, sizeof cmd, run, g_dir, ref);
    char *t1 = table_text(cmd);
    char mrun[8192];
    snprintf(mrun, sizeof mrun, "%s ", g_mpi);
    snprintf(mrun + strlen(mrun), sizeof mrun - strlen(mrun), run, g_dir, st_path);
    char *t3 = table_text(mrun);
    CHECKF(t1 && t3 && !strcmp(t1, t3) && strstr(t1, "| slava-av3 |"), "slava run: Table II differs:\n%s\n---\n%s", t1 ? t1 : "",
           t3 ? t3 : "");
    free(t1);
    free(t3);

    /* usage: --shard is not for mpirun */
    snprintf(cmd, sizeof cmd, "%s " SLAVA_BIN " encode --data x --clip a --clap b --store s --shard 1/2", g_mpi);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc != 0 && err && strstr(err, "--shard I/N is for runs without mpirun"), "--shard under mpirun: %d %s", rc, err ? err : "");
    free(err);
    /* a command that does not run distributed says so */
    snprintf(cmd, sizeof cmd, "%s " SLAVA_BIN " store info '%s'", g_mpi, ref);
    rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc != 0 && err && strstr(err, "does not run distributed"), "store info under mpirun: %d %s", rc, err ? err : "");
    free(err);
    return test_done("mpi_encode");
}
