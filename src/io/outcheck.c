/*
 * outcheck.c — output-path checks before writing (slava_output_check, slava.h): same file as an input (stat
 * identity, links resolved), and the kind of an existing file, recognised from its first bytes
 * (safetensors header, SQLite magic, JSON Lines, SVG).
 */
#include "base/base.h"
#include "io/safetensors.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <sys/stat.h>

static const char *const KIND_NAME[SLAVA_FILE_KINDS] = {"a heads file", "a features export", "a training log (JSON Lines)",
                                                    "an SVG file"};

/* What the file looks like, for the message. */
static const char *describe(const unsigned char *b, size_t n) {
    if (n >= 16 && !memcmp(b, "SQLite format 3", 16)) return "a SQLite database (a feature store?)";
    if (n >= 8 && b[0] == '{' ) return "a JSON file";
    if (n >= 4 && !memcmp(b, "\x89PNG", 4)) return "a PNG image";
    if (n >= 9 && (!memcmp(b, "<?xml", 5) || !memcmp(b, "<svg", 4))) return "an XML / SVG file";
    if (n >= 8) {
        uint64_t hl = 0;
        for (int i = 0; i < 8; i++) hl |= (uint64_t)b[i] << (8 * i);
        if (hl > 1 && n > 8 && b[8] == '{') return "a safetensors file";
    }
    return "some other file";
}

/* Is the existing file `path` (first bytes b[0..n)) of kind k? */
static int is_kind(slava_ctx *ctx, const char *path, slava_file_kind k, const unsigned char *b, size_t n) {
    switch (k) {
    case SLAVA_FILE_HEADS:
    case SLAVA_FILE_FEATURES: {
        sv_stfile *f = NULL;
        slava_ctx *quiet = slava_ctx_new();
        int ok = 0;
        if (quiet && sv_st_open(quiet, path, &f) == SLAVA_OK) {
            if (k == SLAVA_FILE_HEADS) ok = sv_st_find(f, "visual_projection.weight") != NULL;
            else {
                char *fmt = sv_st_meta(f, "format");
                ok = fmt && !strncmp(fmt, "slava-features/", 15);
                free(fmt);
            }
            sv_st_close(f);
        }
        slava_ctx_free(quiet);
        (void)ctx;
        return ok;
    }
    case SLAVA_FILE_LOG: {
        size_t e = 0;
        while (e < n && b[e] != '\n') e++;
        char *line = malloc(e + 1);
        if (!line) return 0;
        memcpy(line, b, e);
        line[e] = 0;
        cJSON *o = cJSON_Parse(line);
        int ok = o && cJSON_IsObject(o) && cJSON_IsString(cJSON_GetObjectItem(o, "type"));
        cJSON_Delete(o);
        free(line);
        return ok;
    }
    case SLAVA_FILE_SVG: {
        size_t i = 0;
        while (i < n && isspace(b[i])) i++;
        return (n - i >= 5 && !memcmp(b + i, "<?xml", 5)) || (n - i >= 4 && !memcmp(b + i, "<svg", 4));
    }
    default: return 0;
    }
}

slava_status slava_output_check(slava_ctx *ctx, const char *path, slava_file_kind kind, const char *const *inputs, int n) {
    struct stat so, si;
    if (!path || !*path) return sv_err(ctx, SLAVA_E_ARG, "no output file name given");
    if (stat(path, &so) != 0) return SLAVA_OK;   /* nothing there (a dangling link names no input either) */
    for (int i = 0; i < n; i++)
        if (inputs[i] && stat(inputs[i], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return sv_err(ctx, SLAVA_E_ARG, "%s: the output is the same file as the input %s; refusing to overwrite it",
                          path, inputs[i]);
    if (S_ISDIR(so.st_mode)) return sv_err(ctx, SLAVA_E_ARG, "%s: is a directory, not %s", path, KIND_NAME[kind]);
    if (!S_ISREG(so.st_mode)) return sv_err(ctx, SLAVA_E_ARG, "%s: is not a regular file; refusing to replace it", path);
    if (so.st_size == 0) return SLAVA_OK;
    unsigned char head[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return SLAVA_OK;   /* unreadable: the write itself will say why it fails */
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (is_kind(ctx, path, kind, head, got)) return SLAVA_OK;
    return sv_err(ctx, SLAVA_E_ARG, "%s: exists and is not %s (it looks like %s); refusing to replace it", path,
                  KIND_NAME[kind], describe(head, got));
}
