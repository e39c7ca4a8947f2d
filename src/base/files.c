/*
 * files.c — whole-file helpers every module uses: read a file, write one atomically (through
 * base/atomic_file: temporary file, fsync, rename, so a reader sees the old file or the new one,
 * never a part, and a full disk says so), copy one, create a folder with its parents, join paths.
 * Errors name the file.
 */
#include "base/base.h"
#include "base/atomic_file.h"
#include <stdio.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

slava_status sv_read_file(slava_ctx *ctx, const char *path, char **out, size_t *len) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sv_err(ctx, SLAVA_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return sv_err(ctx, SLAVA_E_IO, "%s: cannot seek", path); }
    long n = ftell(f);
    if (n < 0) { fclose(f); return sv_err(ctx, SLAVA_E_IO, "%s: not a regular file", path); }
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf) { fclose(f); return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory reading %ld bytes", path, n); }
    size_t got = fread(buf, 1, (size_t)n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != (size_t)n) { free(buf); return sv_err(ctx, SLAVA_E_IO, "%s: read error", path); }
    buf[n] = 0;
    *out = buf;
    if (len) *len = (size_t)n;
    return SLAVA_OK;
}

char *sv_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

int sv_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

slava_status sv_write_parts(slava_ctx *ctx, const char *path, int n, const void *const *parts, const size_t *lens) {
    sv_afile *f;
    SV_TRY(sv_afile_open(ctx, path, &f));
    for (int i = 0; i < n; i++)
        if (lens[i]) SV_TRY(sv_afile_write(ctx, f, parts[i], lens[i]));   /* a failed write removed the temporary */
    return sv_afile_commit(ctx, f);
}

slava_status sv_write_file(slava_ctx *ctx, const char *path, const void *data, size_t len) {
    return sv_write_parts(ctx, path, 1, &data, &len);
}

slava_status sv_copy_file(slava_ctx *ctx, const char *src, const char *dst) {
    char *buf = NULL;
    size_t len = 0;
    SV_TRY(sv_read_file(ctx, src, &buf, &len));
    slava_status st = sv_write_file(ctx, dst, buf, len);
    free(buf);
    return st;
}

slava_status sv_make_dirs(slava_ctx *ctx, const char *dir) {
    char *p = sv_strdup(dir);
    if (!p) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) break;   /* reported below, for the whole path */
        *s = '/';
    }
    int r = mkdir(p, 0777);
    free(p);
    if (r != 0 && errno != EEXIST) return sv_err(ctx, SLAVA_E_IO, "%s: cannot create folder: %s", dir, strerror(errno));
    return SLAVA_OK;
}
