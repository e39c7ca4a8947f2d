/*
 * store_lock.c — the writer lock of a feature store (slava_store_lock_writer): flock(LOCK_EX) on
 * a descriptor of the store file kept until slava_store_close. flock and SQLite's fcntl byte
 * locks are independent on local file systems, so readers and SQLite's own locking are not
 * affected; the kernel drops the lock when the process ends, however it ends, so a killed
 * writer never leaves the store claimed.
 */
#include "store/store.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

slava_status slava_store_lock_writer(slava_ctx *ctx, slava_store *s, double wait_s) {
    if (s->readonly) return sv_err(ctx, SLAVA_E_ARG, "%s: opened read-only, cannot claim it for writing", s->path);
    if (s->locked) return SLAVA_OK;
    /* The descriptor stays open until slava_store_close even when the lock is refused: closing a
     * descriptor of the file while SQLite has it open would drop SQLite's own fcntl locks. */
    if (s->lock_fd < 0 && (s->lock_fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
        return sv_err(ctx, SLAVA_E_IO, "%s: cannot open for the writer lock: %s", s->path, strerror(errno));
    double t0 = sv_now();
    for (;;) {
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) break;
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK)
            return sv_err(ctx, SLAVA_E_IO, "%s: cannot take the writer lock: %s", s->path, strerror(errno));
        if (!(sv_now() - t0 < wait_s)) {
            if (wait_s > 0)
                return sv_err(ctx, SLAVA_E_STORE, "%s: another slava process is still writing to this store after %.0f s "
                              "of waiting (an encode, import or merge); run again once it has finished", s->path, wait_s);
            return sv_err(ctx, SLAVA_E_STORE, "%s: another slava process is writing to this store (an encode, import "
                          "or merge); run again once it has finished, or encode into another store and combine them "
                          "with slava store merge", s->path);
        }
        if (sv_cancelled(ctx))
            return sv_err(ctx, SLAVA_E_INTERRUPTED, "%s: interrupted while waiting for another writer", s->path);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    s->locked = 1;
    return SLAVA_OK;
}
