/*
 * test_disk_full.c — a full disk (issue 15), on a small tmpfs the test mounts (as root; without
 * root, or when the mount is refused, the test says so and is skipped: exit 77):
 *   - `slava encode` onto it stops with one "disk full" line naming the store and exit 1; the
 *     store holds only whole clips; after space is freed the same command completes to a store
 *     whose export equals that of an uninterrupted encode on a roomy disk, byte for byte;
 *   - `slava train --out`, `slava store export --out`, `slava index --out` and `slava init-random
 *     --out` onto the full disk: one "disk full" line naming the file, exit 1, nothing under the final name (an
 *     existing heads file keeps its old bytes), no temporary file left.
 */
#include "fault_testutil.h"
#include <sys/mount.h>
#include <sys/statvfs.h>

static char g_mnt[800];
static int g_mounted;

static void unmount(void) {
    if (g_mounted && umount2(g_mnt, MNT_DETACH) == 0) g_mounted = 0;
}

/* Fill the tmpfs with a file `name` until only `leave` bytes are free (0: completely). */
static void fill(const char *name, long leave) {
    struct statvfs v;
    char path[1000];
    snprintf(path, sizeof path, "%s/%s", g_mnt, name);
    if (statvfs(g_mnt, &v) != 0) { CHECK(0); return; }
    long long avail = (long long)v.f_bavail * v.f_frsize - leave;
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    static char block[65536];
    while (f && avail > 0) {
        size_t n = avail > (long long)sizeof block ? sizeof block : (size_t)avail;
        if (fwrite(block, 1, n, f) != n) break;
        avail -= (long long)n;
    }
    if (f) fclose(f);   /* a short last write is fine: the disk is full */
}

static const char *on_mnt(const char *name) {
    static char bufs[4][1000];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", g_mnt, name);
    return b;
}

/* argv fails on the full disk: exit 1, one "disk full" line naming `file`, nothing under it, no temporary. */
static void expect_disk_full(char *const *argv, const char *file, const char *label) {
    int rc = run_to_end(argv, in_dir("full.out"));
    CHECKF(rc == 1, "%s: exit %d, expected 1", label, rc);
    /* run_to_end keeps stderr in end.err */
    check_one_line(in_dir("end.err"), "slava: ", "disk full", label);
    check_one_line(in_dir("end.err"), "slava: ", file, label);
    check_no_temporaries(g_mnt, label);
}

int main(void) {
    if (geteuid() != 0) {
        printf("test_disk_full: SKIPPED: mounting a small tmpfs needs root (run make test as root)\n");
        return 77;
    }
    fault_setup("disk_full", "--train 16 --val 6 --test 6 --seconds 2-6");
    snprintf(g_mnt, sizeof g_mnt, "%s/mnt", g_dir);
    mkdir(g_mnt, 0755);
    if (mount("tmpfs", g_mnt, "tmpfs", 0, "size=24m") != 0) {
        printf("test_disk_full: SKIPPED: cannot mount a tmpfs at %s: %s\n", g_mnt, strerror(errno));
        return 77;
    }
    g_mounted = 1;
    atexit(unmount);

    /* reference: an uninterrupted encode on the roomy disk */
    const char *ref = in_dir("ref.sqlite");
    char *enc_ref[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                       (char *)ref, "--threads", "2", "--quiet", NULL};
    CHECK(run_to_end(enc_ref, in_dir("ref.out")) == 0);
    CHECK(export_store(ref, in_dir("ref.safetensors")) == 0);

    /* ---- encode onto a disk with 600 KiB free: it fills up after some clips */
    const char *store = on_mnt("store.sqlite");
    char *enc[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                   (char *)store, "--threads", "2", "--quiet", NULL};
    fill("filler", 600 * 1024);
    int rc = run_to_end(enc, in_dir("full.out"));
    CHECKF(rc == 1, "encode onto a full disk: exit %d, expected 1", rc);
    check_one_line(in_dir("end.err"), "slava: ", "disk full", "encode");
    check_one_line(in_dir("end.err"), "slava: ", store, "encode");
    check_store_whole(store, "encode on a full disk");
    int kept = committed(store);
    printf("encode: the full disk stopped it with %d of 28 clips stored\n", kept);
    CHECKF(kept >= 0 && kept < 28, "encode: %d clips stored", kept);
    /* space freed: the same command completes to the reference store */
    CHECK(unlink(on_mnt("filler")) == 0);
    CHECK(run_to_end(enc, in_dir("resume.out")) == 0);
    CHECK(export_store(store, in_dir("resumed.safetensors")) == 0);
    CHECKF(same_file(in_dir("resumed.safetensors"), in_dir("ref.safetensors")),
           "the store completed after the disk was freed differs from an uninterrupted encode");

    /* ---- heads: written once with room, then again onto the full disk: the old file stays */
    const char *heads = on_mnt("heads.safetensors");
    char *train[] = {SLAVA_BIN, "train", "--store", (char *)ref, "--epochs", "3", "--out", (char *)heads, "--threads", "2",
                     "--quiet", NULL};
    CHECK(run_to_end(train, in_dir("train.out")) == 0);
    size_t n0 = 0;
    char *before = slurp(heads, &n0);
    fill("filler", 0);
    char *train2[] = {SLAVA_BIN, "train", "--store", (char *)ref, "--epochs", "4", "--out", (char *)heads, "--threads",
                      "2", "--quiet", NULL};
    expect_disk_full(train2, heads, "train --out on a full disk");
    size_t n1 = 0;
    char *after = slurp(heads, &n1);
    CHECKF(before && after && n0 == n1 && !memcmp(before, after, n0), "train: the existing heads file changed");
    free(before);
    free(after);

    /* ---- export, index and init-random onto the full disk: nothing under the final names */
    const char *ex = on_mnt("export.safetensors");
    char *exp[] = {SLAVA_BIN, "store", "export", (char *)ref, "--out", (char *)ex, NULL};
    expect_disk_full(exp, ex, "store export --out on a full disk");
    CHECKF(access(ex, F_OK) != 0, "export: %s exists", ex);
    const char *ix = on_mnt("index.slx");
    char *index[] = {SLAVA_BIN, "index", "--store", (char *)ref, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--out", (char *)ix,
                     "--quiet", NULL};
    expect_disk_full(index, ix, "index --out on a full disk");
    CHECKF(access(ix, F_OK) != 0, "index: %s exists", ix);
    const char *model = on_mnt("clip-random");
    char *init[] = {SLAVA_BIN, "init-random", "--like", "clip", "--config", CLIP_DIR "/config.json", "--seed", "1",
                    "--out", (char *)model, NULL};
    expect_disk_full(init, model, "init-random --out on a full disk");
    CHECKF(access(on_mnt("clip-random/model.safetensors"), F_OK) != 0, "init-random: a model.safetensors was left");
    check_no_temporaries(on_mnt("clip-random"), "init-random");

    unmount();
    CHECKF(!g_mounted, "cannot unmount %s", g_mnt);
    free_paths();
    return test_done("test_disk_full");
}
