/*
 * test_memory.c — every command under an address-space limit (setrlimit RLIMIT_AS, what
 * `ulimit -v` sets) too small for its work (issue 15): it must either succeed or stop with exit 1
 * and exactly one stderr line saying "out of memory" and naming what it was allocating — never a
 * crash (signal), a hang (60 s), a message from a library, or a wrong diagnosis (a file reported
 * as damaged because a decoder could not allocate).
 *
 * Commands: tokenize, embed (text, video, audio), encode, train, eval, experiment, store info /
 * export / import, init-random, index, search.
 * For each command the smallest limit it succeeds under is found first (bisection, 16 MiB steps);
 * then limits below it are tried, down to where the program cannot even be loaded (the dynamic
 * loader's "error while loading shared libraries", exit 127: before slava runs, so allowed).
 * Inputs: the tiny random-weight fixtures and a small synthetic collection; 2 threads.
 */
#include "fault_testutil.h"
#include <sys/resource.h>

#define MIB ((long)1 << 20)

static int g_runs, g_oom_lines, g_loader;
static const char *g_scratch;   /* a store each run starts without (NULL: none) */

/* Run argv under an address-space limit of `mib` MiB; stderr kept in mem.err. Returns the exit
 * status, 128 + signal, or -1 for a hang (killed after 60 s). */
static int run_limited(char *const *argv, long mib) {
    if (g_scratch) rm_store(g_scratch);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)(mib * MIB), (rlim_t)(mib * MIB)};
        int o = open("/dev/null", O_WRONLY), e = open(in_dir("mem.err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(126);
        execv(SLAVA_BIN, argv);
        _exit(125);
    }
    g_runs++;
    int status = 0;
    double t0 = now_s();
    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid) break;
        if (now_s() - t0 > 60) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(2);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The outcome under mib MiB is acceptable: success, one "out of memory" line, or the loader. */
static void check_outcome(const char *label, char *const *argv, long mib) {
    int rc = run_limited(argv, mib);
    char *err = slurp(in_dir("mem.err"), NULL);
    const char *e = err ? err : "";
    int ok = rc == 0;
    if (rc == 1 && count_lines(e) == 1 && !strncmp(e, "slava: ", 7) && strstr(e, "out of memory") &&
        strchr(e + 7, ':')) {   /* "slava: <what>: ... out of memory ..." */
        ok = 1;
        g_oom_lines++;
    }
    if (rc == 127 && strstr(e, "error while loading shared libraries")) { ok = 1; g_loader++; }
    CHECKF(ok, "%s under %ld MiB: %s (exit %d), stderr: %s", label, mib,
           rc < 0 ? "hung" : rc > 128 ? "killed by a signal" : "wrong outcome", rc, e);
    free(err);
}

static void sweep(const char *label, char *const *argv) {
    /* the smallest limit that works (16 MiB resolution) */
    long lo = 128, hi = 2176;
    CHECKF(run_limited(argv, hi) == 0, "%s: fails even under %ld MiB: %s", label, hi, slurp(in_dir("mem.err"), NULL));
    while (hi - lo > 16) {
        long mid = (lo + hi) / 2;
        if (run_limited(argv, mid) == 0) hi = mid;
        else lo = mid;
    }
    printf("%-22s succeeds from %ld MiB of address space\n", label, hi);
    /* and below it: just under the threshold, then down to 320 MiB less */
    const long below[] = {hi - 1, hi - 8, hi - 24, hi - 96, hi - 200, hi - 320};
    for (size_t i = 0; i < SV_ARRAY_LEN(below); i++)
        if (below[i] > 16) check_outcome(label, argv, below[i]);
}

int main(void) {
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer reserves terabytes of shadow address space: no limit can be set under it */
    printf("test_memory: SKIPPED: an AddressSanitizer build cannot run under an address-space limit\n");
    return 77;
#endif
    fault_setup("memory", "--train 4 --val 2 --test 2 --seconds 2-4");
    char video[1400], *vid = video;
    first_video(g_data, video, sizeof video);
    const char *store = in_dir("store.sqlite"), *heads = in_dir("heads.safetensors");
    char *enc0[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store", (char *)store,
                    "--threads", "2", "--quiet", NULL};
    CHECK(run_to_end(enc0, in_dir("enc0.out")) == 0);
    char *train0[] = {SLAVA_BIN, "train", "--store", (char *)store, "--epochs", "2", "--out", (char *)heads, "--quiet", NULL};
    CHECK(run_to_end(train0, in_dir("train0.out")) == 0);
    CHECK(export_store(store, in_dir("export0.safetensors")) == 0);
    char *index0[] = {SLAVA_BIN, "index", "--store", (char *)store, "--heads", (char *)heads, "--out",
                      (char *)in_dir("index0.slx"), "--quiet", NULL};
    CHECK(run_to_end(index0, in_dir("index0.out")) == 0);

    /* commands that write go to fresh outputs each run (the inputs above stay as they are) */
    char *tokenize[] = {SLAVA_BIN, "tokenize", "--clip", CLIP_DIR, "--", "a dog barks", NULL};
    char *embed_text[] = {SLAVA_BIN, "embed", "--threads", "2", "--clip", CLIP_DIR, "--text", "--", "rain on a roof", NULL};
    char *embed_video[] = {SLAVA_BIN, "embed", "--threads", "2", "--clip", CLIP_DIR, "--video", vid, NULL};
    char *embed_audio[] = {SLAVA_BIN, "embed", "--threads", "2", "--clap", CLAP_DIR, "--audio", vid, NULL};
    char *encode[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                      (char *)in_dir("enc.sqlite"), "--threads", "2", "--quiet", NULL};
    char *train[] = {SLAVA_BIN, "train", "--store", (char *)store, "--epochs", "2", "--out", (char *)in_dir("h.safetensors"),
                     "--threads", "2", "--quiet", NULL};
    char *eval[] = {SLAVA_BIN, "eval", "--store", (char *)store, "--heads", (char *)heads, "--threads", "2", NULL};
    char *experiment[] = {SLAVA_BIN, "experiment", "--store", (char *)store, "--recipes", "slava-av3", "--seeds", "0",
                          "--epochs", "2", "--threads", "2", "--quiet", NULL};
    char *info[] = {SLAVA_BIN, "store", "info", (char *)store, NULL};
    char *exp[] = {SLAVA_BIN, "store", "export", (char *)store, "--out", (char *)in_dir("x.safetensors"), NULL};
    char *imp[] = {SLAVA_BIN, "store", "import", (char *)in_dir("imp.sqlite"), (char *)in_dir("export0.safetensors"), NULL};
    char *index[] = {SLAVA_BIN, "index", "--store", (char *)store, "--heads", (char *)heads, "--out",
                     (char *)in_dir("index.slx"), "--threads", "2", "--quiet", NULL};
    char *search[] = {SLAVA_BIN, "search", (char *)in_dir("index0.slx"), "--text", "a dog", "--clip", CLIP_DIR,
                      "--threads", "2", NULL};
    char *init[] = {SLAVA_BIN, "init-random", "--like", "clap", "--config", CLAP_DIR "/config.json", "--seed", "1", "--out",
                    (char *)in_dir("clap-random"), "--force", NULL};
    struct { const char *label; char **argv; const char *scratch; } cmds[] = {
        {"tokenize", tokenize, NULL}, {"embed --text", embed_text, NULL}, {"embed --video", embed_video, NULL},
        {"embed --audio", embed_audio, NULL}, {"encode", encode, "enc.sqlite"}, {"train", train, NULL},
        {"eval", eval, NULL}, {"experiment", experiment, NULL}, {"store info", info, NULL},
        {"store export", exp, NULL}, {"store import", imp, "imp.sqlite"}, {"init-random", init, NULL},
        {"index", index, "index.slx"}, {"search", search, NULL},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(cmds); i++) {
        g_scratch = cmds[i].scratch ? in_dir(cmds[i].scratch) : NULL;
        sweep(cmds[i].label, cmds[i].argv);
    }
    check_no_temporaries(g_dir, "memory");
    printf("%d runs: %d stopped with one 'out of memory' line, %d could not be loaded at all\n", g_runs, g_oom_lines,
           g_loader);
    free_paths();
    return test_done("test_memory");
}
