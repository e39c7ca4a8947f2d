/*
 * atomic_file.c — temporary file + write + fsync + rename (+ folder fsync), see atomic_file.h.
 * Writes go straight to the descriptor (no stdio buffer), so the error of the very write that
 * failed (ENOSPC, EIO) is the one reported.
 */
#include "base/atomic_file.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct sv_afile {
    char *path, *tmp;
    int   fd;
};

static slava_status write_error(slava_ctx *ctx, const char *path, int err, const char *what) {
    if (err == ENOSPC || err == EDQUOT)
        return sv_err(ctx, SLAVA_E_IO, "%s: disk full (%s) while %s; the file is left as it was: free space and run again",
                      path, strerror(err), what);
    return sv_err(ctx, SLAVA_E_IO, "%s: cannot write (%s) while %s", path, strerror(err), what);
}

void sv_afile_abort(sv_afile *f) {
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f);
}

slava_status sv_afile_open(slava_ctx *ctx, const char *path, sv_afile **out) {
    *out = NULL;
    sv_afile *f = calloc(1, sizeof *f);
    size_t n = strlen(path) + 48;
    if (f) {
        f->fd = -1;
        f->path = sv_strdup(path);
        f->tmp = malloc(n);
    }
    if (!f || !f->path || !f->tmp) { sv_afile_abort(f); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    /* pid + the handle's address: distinct among the writers alive in this process and others */
    snprintf(f->tmp, n, "%s.tmp-%d-%lx", path, (int)getpid(), (unsigned long)(uintptr_t)f);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp);
        f->tmp = NULL;   /* not ours: nothing to remove */
        sv_afile_abort(f);
        if (e == ENOSPC || e == EDQUOT) return write_error(ctx, path, e, "creating it");
        return sv_err(ctx, SLAVA_E_IO, "%s: cannot create: %s", path, strerror(e));
    }
    *out = f;
    return SLAVA_OK;
}

slava_status sv_afile_write(slava_ctx *ctx, sv_afile *f, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = write(f->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            slava_status st = write_error(ctx, f->path, e, "writing");
            sv_afile_abort(f);
            return st;
        }
        p += w;
        n -= (size_t)w;
    }
    return SLAVA_OK;
}

slava_status sv_afile_commit(slava_ctx *ctx, sv_afile *f) {
    if (fsync(f->fd) != 0) {
        slava_status st = write_error(ctx, f->path, errno, "flushing it to disk");
        sv_afile_abort(f);
        return st;
    }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) {
        slava_status st = write_error(ctx, f->path, errno, "closing it");
        sv_afile_abort(f);
        return st;
    }
    if (rename(f->tmp, f->path) != 0) {
        slava_status st = sv_err(ctx, SLAVA_E_IO, "%s: cannot replace: %s", f->path, strerror(errno));
        sv_afile_abort(f);
        return st;
    }
    /* the rename itself is durable once the folder is synced (best effort: not every file system allows it) */
    char *dir = sv_strdup(f->path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash == dir) slash[1] = 0;
        else if (slash) *slash = 0;
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) { fsync(dfd); close(dfd); }
        free(dir);
    }
    free(f->tmp);
    f->tmp = NULL;
    sv_afile_abort(f);
    return SLAVA_OK;
}
