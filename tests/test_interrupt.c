/*
 * test_interrupt.c — SIGINT / SIGTERM while `slava encode`, `run`, `train`, `experiment` and `index` work
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
#include "fault_testutil.h"

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

/* A command interrupted by `sig` delay_ms after its handlers are installed. Returns 1 when the
 * signal stopped it (exit status checked), 0 when it finished first (exit 0: nothing to check). */
static int interrupt_worker(char *const *argv, int sig, int delay_ms, const char *label) {
    pid_t pid = start(argv, in_dir("stop.out"), in_dir("stop.err"));
    int status = 0;
    for (int i = 0; i < 60000 && !handlers_ready(pid); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) goto finished;
        sleep_ms(1);
    }
    for (int waited = 0; waited < delay_ms; waited++) {
        if (waitpid(pid, &status, WNOHANG) == pid) goto finished;
        sleep_ms(1);
    }
    double t = now_s();
    kill(pid, sig);
    status = wait_for(pid, t, label);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) goto finished;   /* it was done as the signal came */
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig, "%s: exit status %d, expected %d", label,
           WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), 128 + sig);
    return 1;
finished:
    printf("%s: finished before the signal (%d), after %d ms\n", label, WIFEXITED(status) ? WEXITSTATUS(status) : -1, delay_ms);
    return 0;
}

int main(void) {
    fault_setup("interrupt", "--train 24 --val 8 --test 8 --seconds 2-8");

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
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", store, label);
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", "run the same command again", label);
        check_no_temporaries(g_dir, label);
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
        CHECKF(interrupt_worker(argv, SIGTERM, 150, "train SIGTERM"), "train: finished before the signal");
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", heads, "train SIGTERM");
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", "was not written", "train SIGTERM");
        CHECKF(access(heads, F_OK) != 0, "train: %s exists after the interruption", heads);
        check_no_temporaries(g_dir, "train SIGTERM");
        CHECK(run_to_end(argv, in_dir("train.out")) == 0);
        CHECKF(same_file(heads, in_dir("ref.heads")), "train: the rerun's heads differ from the uninterrupted run's");
    }

    /* ---- experiment: SIGINT mid-run; nothing printed; the rerun prints the uninterrupted table */
    {
        char *argv[] = {SLAVA_BIN, "experiment", "--store", (char *)ref, "--recipes", "slava-av3,audioclip", "--seeds",
                        "0,1", "--epochs", "400", "--format", "csv", "--threads", "2", "--quiet", NULL};
        CHECK(run_to_end(argv, in_dir("exp_ref.out")) == 0);
        CHECKF(interrupt_worker(argv, SIGINT, 150, "experiment SIGINT"), "experiment: finished before the signal");
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", "run the same command again", "experiment SIGINT");
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
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", s2, "run SIGINT");
        check_no_temporaries(g_dir, "run SIGINT");
        check_store_whole(s2, "run SIGINT");
        CHECK(run_to_end(argv, in_dir("run.out")) == 0);
        CHECKF(same_file(in_dir("run.out"), in_dir("run_ref.out")), "run: the rerun's table differs");
        CHECK(export_store(s2, in_dir("run.safetensors")) == 0);
        CHECKF(same_file(in_dir("run.safetensors"), in_dir("ref.safetensors")), "run: the resumed store's export differs");
    }
    /* ---- index: SIGINT / SIGTERM while it projects a large synthetic store; no index file or
     * temporary is left (or the index that was there is byte for byte as it was); the rerun
     * writes the uninterrupted run's index */
    {
        const char *fs = in_dir("big.sqlite"), *hp = in_dir("big.heads");
        slava_ctx *ctx = slava_ctx_new();
        slava_feature_synth_opts so;
        slava_feature_synth_defaults(&so);
        so.n_clips[0] = 3000; so.n_clips[1] = 300; so.n_clips[2] = 300;
        so.max_frames = 60;
        so.max_chunks = 6;
        slava_dataset ds;
        memset(&ds, 0, sizeof ds);
        slava_store *st = NULL;
        slava_heads *h = NULL;
        slava_train_opts to;
        slava_train_opts_default(&to);
        CHECK_OK(ctx, slava_synth_features(ctx, &so, &ds));
        CHECK_OK(ctx, slava_store_open(ctx, fs, SLAVA_STORE_CREATE, &st));
        if (st) CHECK_OK(ctx, slava_store_put_dataset(ctx, st, &ds));
        slava_store_close(st);
        CHECK_OK(ctx, slava_heads_init(ctx, &ds, &to, &h));
        if (h) CHECK_OK(ctx, slava_heads_save(ctx, h, hp, NULL, NULL, &ds));
        slava_heads_free(h);
        slava_dataset_free(&ds);
        slava_ctx_free(ctx);

        const char *ref_idx = in_dir("ref.index"), *idx = in_dir("run.index"), *old = in_dir("old.index");
        char *argv_ref[] = {SLAVA_BIN, "index", "--store", (char *)fs, "--heads", (char *)hp, "--out", (char *)ref_idx,
                            "--no-ann", "--threads", "2", "--quiet", NULL};
        double t0 = now_s();
        CHECK(run_to_end(argv_ref, in_dir("index_ref.out")) == 0);
        double t_ref = now_s() - t0;
        printf("index: uninterrupted build %.2f s\n", t_ref);
        /* the signal comes a share of the reference time after start-up; a run that finishes first
         * (a quieter moment than the reference's, or the signal reaching the final write, which is
         * completed) is tried again with half the delay */
        int delay = (int)(t_ref * 1000 * 0.3);
        if (delay > 3000) delay = 3000;
        int stopped;
        char *argv[] = {SLAVA_BIN, "index", "--store", (char *)fs, "--heads", (char *)hp, "--out", (char *)idx,
                        "--no-ann", "--threads", "2", "--quiet", NULL};
        /* a fresh build stopped: no index at all */
        stopped = 0;
        for (int attempt = 0, d = delay; attempt < 5 && !stopped; attempt++, d /= 2) {
            unlink(idx);
            stopped = interrupt_worker(argv, SIGINT, d, "index SIGINT");
        }
        CHECKF(stopped, "index: never caught while working");
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", idx, "index SIGINT");
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", "run the same command again", "index SIGINT");
        CHECKF(access(idx, F_OK) != 0, "index: %s exists after the interruption", idx);
        check_no_temporaries(g_dir, "index SIGINT");
        /* an update stopped: the index that was there (train split only) is as it was */
        char *argv_old[] = {SLAVA_BIN, "index", "--store", (char *)fs, "--heads", (char *)hp, "--out", (char *)idx,
                            "--split", "train", "--no-ann", "--threads", "2", "--quiet", NULL};
        CHECK(run_to_end(argv_old, in_dir("index_old.out")) == 0);
        char cp[3000];
        snprintf(cp, sizeof cp, "cp '%s' '%s'", idx, old);
        CHECK(run_cmd(cp, NULL, NULL) == 0);
        char cp_back[3000];
        snprintf(cp_back, sizeof cp_back, "cp '%s' '%s'", old, idx);
        stopped = 0;
        for (int attempt = 0, d = delay / 2; attempt < 5 && !stopped; attempt++, d /= 2) {
            CHECK(run_cmd(cp_back, NULL, NULL) == 0);
            stopped = interrupt_worker(argv, SIGTERM, d, "index SIGTERM");
        }
        CHECKF(stopped, "index update: never caught while working");
        check_one_line(in_dir("stop.err"), "slava: interrupted: ", idx, "index SIGTERM");
        CHECKF(same_file(idx, old), "index: the index that was there changed when the update was interrupted");
        check_no_temporaries(g_dir, "index SIGTERM");
        /* the rerun finishes the update; a fresh build after the fresh interruption equals the reference */
        CHECK(run_to_end(argv, in_dir("index.out")) == 0);
        CHECKF(same_file(idx, ref_idx), "index: the resumed update differs from an uninterrupted build");
        unlink(idx);
        CHECK(run_to_end(argv, in_dir("index2.out")) == 0);
        CHECKF(same_file(idx, ref_idx), "index: the rerun's index differs from the uninterrupted run's");
    }
    printf("longest time from a signal to the exit: %.3f s\n", g_worst);
    free_paths();
    return test_done("test_interrupt");
}
