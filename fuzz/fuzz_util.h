/*
 * fuzz_util.h — shared by the libFuzzer targets that feed slava's file readers: a per-process
 * scratch folder (under $TMPDIR, else /dev/shm when it exists, else /tmp; removed at exit) to
 * write inputs into, and the check every failure must pass: the ctx message is one non-empty
 * line that names the file. A broken rule aborts, so libFuzzer keeps the input as a finding.
 */
#ifndef SLAVA_FUZZ_UTIL_H
#define SLAVA_FUZZ_UTIL_H

#include "slava.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fz_dir_path[512];

static void fz_cleanup(void) {
    DIR *d = opendir(fz_dir_path);
    if (d) {
        struct dirent *e;
        char p[1100];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", fz_dir_path, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(fz_dir_path);
}

/* The scratch folder, created on first use. */
static inline const char *fz_dir(void) {
    if (!fz_dir_path[0]) {
        const char *base = getenv("TMPDIR");
        struct stat sb;
        if (!base || !*base) base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(fz_dir_path, sizeof fz_dir_path, "%s/slava_fuzz_%d", base, (int)getpid());
        if (mkdir(fz_dir_path, 0700) != 0) abort();
        atexit(fz_cleanup);
    }
    return fz_dir_path;
}

/* Path of `name` inside the scratch folder (static buffer rotation: up to 4 live results). */
static inline const char *fz_path(const char *name) {
    static char bufs[4][1100];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", fz_dir(), name);
    return b;
}

/* Write data to `name` in the scratch folder; returns its path. */
static inline const char *fz_write(const char *name, const void *data, size_t size) {
    const char *p = fz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return p;
}

/* A failure's message: one non-empty line naming `must_name` (a path or folder). */
static inline void fz_check_error(slava_ctx *ctx, slava_status st, const char *must_name) {
    const char *m = slava_ctx_error(ctx);
    if (st == SLAVA_OK) return;
    if (!m || !*m || strchr(m, '\n') || strchr(m, '\r')) abort();
    if (must_name && !strstr(m, must_name)) abort();
}

#endif
