/*
 * avcaps.c — the AVCaps reader: {train,val,test}_captions.json (or one user file) into a
 * slava_collection, and one recursive scan of the data folder that finds each clip's video by
 * stem (DESIGN.md §3). JSON is parsed with cJSON; every error names the file, and the clip and
 * key where there is one.
 */
#include "data/avcaps.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

const char *const sv_caption_keys[SLAVA_CAP_KINDS] = {
    "audio_captions", "visual_captions", "audio_visual_captions", "GPT_AV_captions"};

/* ------------------------------------------------------------------ string → int map */

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int sv_strmap_init(sv_strmap *m, size_t hint) {
    size_t cap = 16;
    while (cap < 2 * hint + 2) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->cap = cap;
    m->n = 0;
    if (!m->keys || !m->vals) { sv_strmap_free(m); return -1; }
    return 0;
}

void sv_strmap_free(sv_strmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t strmap_slot(const sv_strmap *m, const char *key) {
    size_t i = (size_t)fnv1a(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key)) i = (i + 1) & (m->cap - 1);
    return i;
}

int sv_strmap_get(const sv_strmap *m, const char *key) {
    if (!m->cap) return -1;
    size_t i = strmap_slot(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

int sv_strmap_put(sv_strmap *m, const char *key, int val) {
    if (2 * (m->n + 1) > m->cap) {
        sv_strmap big;
        if (sv_strmap_init(&big, m->n + 1) != 0) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = strmap_slot(&big, m->keys[i]);
                big.keys[j] = m->keys[i];
                big.vals[j] = m->vals[i];
            }
        big.n = m->n;
        sv_strmap_free(m);
        *m = big;
    }
    size_t i = strmap_slot(m, key);
    if (!m->keys[i]) { m->keys[i] = key; m->n++; }
    m->vals[i] = val;
    return 0;
}

/* ------------------------------------------------------------------ splits */

const char *slava_split_name(int split) {
    static const char *names[SLAVA_SPLITS] = {"train", "val", "test"};
    return split >= 0 && split < SLAVA_SPLITS ? names[split] : "?";
}

slava_status slava_split_parse(slava_ctx *ctx, const char *name, int *split) {
    static const struct { const char *name; int split; } names[] = {
        {"train", SLAVA_SPLIT_TRAIN}, {"val", SLAVA_SPLIT_VAL}, {"validation", SLAVA_SPLIT_VAL},
        {"valid", SLAVA_SPLIT_VAL},   {"dev", SLAVA_SPLIT_VAL}, {"test", SLAVA_SPLIT_TEST}};
    for (size_t i = 0; name && i < SV_ARRAY_LEN(names); i++)
        if (!strcasecmp(name, names[i].name)) { *split = names[i].split; return SLAVA_OK; }
    return sv_err(ctx, SLAVA_E_ARG, "split '%s': expected train, val or test", name ? name : "");
}

/* ------------------------------------------------------------------ captions files */

static void clip_release(slava_media_clip *c) {
    free(c->id);
    free(c->video);
    free(c->problem);
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        for (int j = 0; j < c->n_cap[k]; j++) free(c->cap[k][j]);
        free(c->cap[k]);
    }
    memset(c, 0, sizeof *c);
}

void slava_collection_free(slava_collection *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) clip_release(&c->clips[i]);
    free(c->clips);
    for (int s = 0; s < SLAVA_SPLITS; s++) free(c->source[s]);
    memset(c, 0, sizeof *c);
}

static const char *json_type_name(const cJSON *x) {
    if (cJSON_IsString(x)) return "a string";
    if (cJSON_IsNumber(x)) return "a number";
    if (cJSON_IsBool(x)) return "a boolean";
    if (cJSON_IsNull(x)) return "null";
    if (cJSON_IsArray(x)) return "a list";
    if (cJSON_IsObject(x)) return "an object";
    return "an invalid value";
}

/* 1-based line of position `pos` in buf. */
static int line_of(const char *buf, size_t pos) {
    int line = 1;
    for (size_t i = 0; i < pos && buf[i]; i++) line += buf[i] == '\n';
    return line;
}

/* Fill clip `out` from the JSON value of one clip. */
static slava_status parse_clip(slava_ctx *ctx, const char *path, const cJSON *val, slava_media_clip *out) {
    const char *id = out->id;
    if (!cJSON_IsObject(val))
        return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': expected an object with caption lists, found %s",
                      path, id, json_type_name(val));
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(val, sv_caption_keys[k]);
        if (!list || cJSON_IsNull(list)) continue;
        if (!cJSON_IsArray(list))
            return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': '%s' must be a list of strings, found %s",
                          path, id, sv_caption_keys[k], json_type_name(list));
        int n = cJSON_GetArraySize(list), j = 0;
        out->has_kind[k] = 1;
        if (n == 0) continue;
        out->cap[k] = calloc((size_t)n, sizeof(char *));
        if (!out->cap[k]) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            if (!cJSON_IsString(item))
                return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': %s[%d] is %s, expected a string",
                              path, id, sv_caption_keys[k], j, json_type_name(item));
            if (!sv_utf8_valid(item->valuestring, strlen(item->valuestring)))
                return sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': %s[%d] is not valid UTF-8", path, id, sv_caption_keys[k], j);
            if (!(out->cap[k][j] = sv_strdup(item->valuestring)))
                return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
            out->n_cap[k] = ++j;
        }
    }
    return SLAVA_OK;
}

slava_status slava_collection_add_captions(slava_ctx *ctx, slava_collection *c, const char *path, int split) {
    if (split < 0 || split >= SLAVA_SPLITS)
        return sv_err(ctx, SLAVA_E_ARG, "%s: split %d out of range", path, split);
    char *buf = NULL;
    size_t len = 0;
    SV_TRY(sv_read_file(ctx, path, &buf, &len));
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t pos = end && end >= buf ? (size_t)(end - buf) : 0;
        slava_status st = sv_err(ctx, SLAVA_E_FORMAT, "%s: malformed JSON near line %d", path, line_of(buf, pos));
        free(buf);
        return sv_nomem_if_low(ctx, st, path, "parsing it");
    }
    /* Anything after the top-level value other than whitespace is an error too. */
    while (end && *end && strchr(" \t\r\n", *end)) end++;
    if (end && *end) {
        slava_status st = sv_err(ctx, SLAVA_E_FORMAT, "%s: malformed JSON near line %d (text after the top-level object)",
                                 path, line_of(buf, (size_t)(end - buf)));
        cJSON_Delete(root);
        free(buf);
        return st;
    }
    free(buf);
    if (!cJSON_IsObject(root)) {
        slava_status st = sv_err(ctx, SLAVA_E_FORMAT, "%s: expected one JSON object of clips (key = clip id), found %s",
                                 path, json_type_name(root));
        cJSON_Delete(root);
        return st;
    }

    int n0 = c->n, nnew = cJSON_GetArraySize(root);
    slava_status st = SLAVA_OK;
    sv_strmap seen = {0};
    slava_media_clip *grown = realloc(c->clips, (size_t)(n0 + nnew + 1) * sizeof *grown);
    if (!grown || sv_strmap_init(&seen, (size_t)(n0 + nnew)) != 0) {
        if (grown) c->clips = grown;
        cJSON_Delete(root);
        sv_strmap_free(&seen);
        return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory for %d clips", path, nnew);
    }
    c->clips = grown;
    for (int i = 0; i < n0; i++) sv_strmap_put(&seen, c->clips[i].id, i);

    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        const char *id = item->string ? item->string : "";
        if (!*id) { st = sv_err(ctx, SLAVA_E_FORMAT, "%s: a clip has an empty id (key \"\")", path); break; }
        if (!sv_utf8_valid(id, strlen(id))) {
            char *shown = slava_utf8_fix(id, NULL);
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip id '%s' is not valid UTF-8 (invalid bytes shown as U+FFFD)", path,
                        shown ? shown : "?");
            free(shown);
            break;
        }
        if (strchr(id, '/')) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s': an id is a file stem and cannot contain '/'", path, id);
            break;
        }
        int prev = sv_strmap_get(&seen, id);
        if (prev >= 0) {
            if (prev >= n0) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' appears twice", path, id);
            else st = sv_err(ctx, SLAVA_E_FORMAT, "%s: clip '%s' is already in the %s split%s%s%s", path, id,
                             slava_split_name(c->clips[prev].split), c->source[c->clips[prev].split] ? " (" : "",
                             c->source[c->clips[prev].split] ? c->source[c->clips[prev].split] : "",
                             c->source[c->clips[prev].split] ? ")" : "");
            break;
        }
        slava_media_clip *mc = &c->clips[c->n];
        memset(mc, 0, sizeof *mc);
        mc->split = split;
        if (!(mc->id = sv_strdup(id))) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); break; }
        c->n++;
        if ((st = parse_clip(ctx, path, item, mc)) != SLAVA_OK) break;
        if (sv_strmap_put(&seen, mc->id, c->n - 1) != 0) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); break; }
    }
    cJSON_Delete(root);
    sv_strmap_free(&seen);
    if (st != SLAVA_OK) {
        for (int i = n0; i < c->n; i++) clip_release(&c->clips[i]);
        c->n = n0;
        return st;
    }
    if (!c->source[split] && !(c->source[split] = sv_strdup(path)))
        return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    return SLAVA_OK;
}

slava_status slava_collection_read_dir(slava_ctx *ctx, slava_collection *c, const char *dir) {
    int found = 0;
    for (int s = 0; s < SLAVA_SPLITS; s++) {
        char name[64];
        snprintf(name, sizeof name, "%s_captions.json", slava_split_name(s));
        char *path = sv_path_join(dir, name);
        if (!path) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
        if (!sv_file_exists(path)) {
            sv_log(ctx, 0, "%s: no %s split (file not found)", path, slava_split_name(s));
            free(path);
            continue;
        }
        slava_status st = slava_collection_add_captions(ctx, c, path, s);
        free(path);
        if (st != SLAVA_OK) return st;
        found++;
    }
    if (!found)
        return sv_err(ctx, SLAVA_E_NOTFOUND, "%s: no captions files (expected train_captions.json, "
                      "val_captions.json and/or test_captions.json)", dir);
    return SLAVA_OK;
}

/* ------------------------------------------------------------------ finding videos */

typedef struct {
    char *path;
    char *stem;   /* points into its own allocation */
    int next;     /* next file with the same stem, -1 = none */
} video_file;

typedef struct {
    slava_ctx *ctx;
    video_file *files;
    int n, cap;
    sv_strmap by_stem;     /* stem → first index in files */
    dev_t anc_dev[64];     /* directories on the current path (symlink loop guard) */
    ino_t anc_ino[64];
    int depth;
} scan_state;

static int is_video_name(const char *name) {
    static const char *exts[] = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < SV_ARRAY_LEN(exts); i++)
        if (!strcasecmp(dot, exts[i])) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static slava_status add_video(scan_state *S, const char *path, const char *name) {
    if (S->n == S->cap) {
        int cap = S->cap ? 2 * S->cap : 256;
        video_file *f = realloc(S->files, (size_t)cap * sizeof *f);
        if (!f) return sv_err(S->ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
        S->files = f;
        S->cap = cap;
    }
    video_file *v = &S->files[S->n];
    v->path = sv_strdup(path);
    v->stem = sv_strdup(name);
    if (!v->path || !v->stem) { free(v->path); free(v->stem); return sv_err(S->ctx, SLAVA_E_NOMEM, "%s: out of memory", path); }
    *strrchr(v->stem, '.') = 0;
    /* Append to the end of the stem's chain so that the chain keeps scan (sorted) order. */
    v->next = -1;
    int first = sv_strmap_get(&S->by_stem, v->stem);
    if (first < 0) {
        if (sv_strmap_put(&S->by_stem, v->stem, S->n) != 0) return sv_err(S->ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
    } else {
        int j = first;
        while (S->files[j].next >= 0) j = S->files[j].next;
        S->files[j].next = S->n;
    }
    S->n++;
    return SLAVA_OK;
}

static slava_status scan_dir(scan_state *S, const char *dir, const struct stat *dst) {
    for (int i = 0; i < S->depth; i++)
        if (S->anc_dev[i] == dst->st_dev && S->anc_ino[i] == dst->st_ino) {
            sv_log(S->ctx, 1, "%s: directory link loop, not followed", dir);
            return SLAVA_OK;
        }
    if (S->depth >= (int)SV_ARRAY_LEN(S->anc_dev)) {
        sv_log(S->ctx, 1, "%s: more than %d folders deep, not scanned", dir, S->depth);
        return SLAVA_OK;
    }
    DIR *d = opendir(dir);
    if (!d) {
        if (S->depth == 0) return sv_err(S->ctx, SLAVA_E_IO, "%s: cannot open folder: %s", dir, strerror(errno));
        sv_log(S->ctx, 1, "%s: cannot open folder: %s (skipped)", dir, strerror(errno));
        return SLAVA_OK;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    slava_status st = SLAVA_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;   /* ".", "..", hidden files, macOS "._x.mp4" */
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) { st = sv_err(S->ctx, SLAVA_E_NOMEM, "%s: out of memory", dir); break; }
            names = nn;
        }
        if (!(names[n] = sv_strdup(e->d_name))) { st = sv_err(S->ctx, SLAVA_E_NOMEM, "%s: out of memory", dir); break; }
        n++;
    }
    closedir(d);
    if (st == SLAVA_OK && n > 1) qsort(names, (size_t)n, sizeof *names, cmp_str);   /* scan order = sorted paths */
    S->anc_dev[S->depth] = dst->st_dev;
    S->anc_ino[S->depth] = dst->st_ino;
    S->depth++;
    for (int i = 0; i < n && st == SLAVA_OK; i++) {
        char *path = sv_path_join(dir, names[i]);
        if (!path) { st = sv_err(S->ctx, SLAVA_E_NOMEM, "%s: out of memory", dir); break; }
        struct stat fst;
        if (stat(path, &fst) != 0) {
            sv_log(S->ctx, 1, "%s: cannot stat: %s (skipped)", path, strerror(errno));
        } else if (S_ISDIR(fst.st_mode)) {
            st = scan_dir(S, path, &fst);
        } else if (S_ISREG(fst.st_mode) && is_video_name(names[i])) {
            st = add_video(S, path, names[i]);
        }
        free(path);
    }
    S->depth--;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

slava_status slava_collection_find_videos(slava_ctx *ctx, slava_collection *c, const char *dir) {
    struct stat dst;
    if (stat(dir, &dst) != 0) return sv_err(ctx, SLAVA_E_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    if (!S_ISDIR(dst.st_mode)) return sv_err(ctx, SLAVA_E_IO, "%s: not a folder", dir);
    scan_state S = {.ctx = ctx};
    sv_strmap ids = {0};
    slava_status st = SLAVA_OK;
    if (sv_strmap_init(&S.by_stem, 1024) != 0 || sv_strmap_init(&ids, (size_t)c->n) != 0) {
        st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    if ((st = scan_dir(&S, dir, &dst)) != SLAVA_OK) goto done;

    c->n_videos = S.n;
    c->n_missing = c->n_ambiguous = c->n_duplicate_stems = c->n_unlisted = 0;
    for (int i = 0; i < c->n; i++) sv_strmap_put(&ids, c->clips[i].id, i);
    int logged = 0;
    for (int i = 0; i < S.n; i++) {
        if (sv_strmap_get(&S.by_stem, S.files[i].stem) != i) continue;   /* not the chain's head */
        if (sv_strmap_get(&ids, S.files[i].stem) < 0) {
            for (int j = i; j >= 0; j = S.files[j].next) c->n_unlisted++;
        }
        if (S.files[i].next < 0) continue;
        c->n_duplicate_stems++;
        if (logged < 10)
            sv_log(ctx, 1, "%s: stem '%s' is also %s%s", S.files[i].path, S.files[i].stem,
                   S.files[S.files[i].next].path, S.files[S.files[i].next].next >= 0 ? " (and more)" : "");
        else if (logged == 10)
            sv_log(ctx, 1, "%s: more video files share a stem (see the clips' problems)", dir);
        logged++;
    }
    for (int i = 0; i < c->n; i++) {
        slava_media_clip *mc = &c->clips[i];
        free(mc->video);
        free(mc->problem);
        mc->video = mc->problem = NULL;
        int j = sv_strmap_get(&S.by_stem, mc->id);
        char msg[2048];
        if (j < 0) {
            snprintf(msg, sizeof msg, "no video file named '%s.mp4' (or .mov/.mkv/.webm/.avi/.m4v) under %s", mc->id, dir);
            c->n_missing++;
            mc->problem = sv_strdup(msg);
        } else if (S.files[j].next >= 0) {
            int cnt = 0;
            for (int q = j; q >= 0; q = S.files[q].next) cnt++;
            snprintf(msg, sizeof msg, "%d video files have the stem '%s': %s, %s%s", cnt, mc->id, S.files[j].path,
                     S.files[S.files[j].next].path, cnt > 2 ? ", ..." : "");
            c->n_ambiguous++;
            mc->problem = sv_strdup(msg);
        } else {
            mc->video = sv_strdup(S.files[j].path);
        }
        if (!mc->video && !mc->problem) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir); goto done; }
    }
done:
    for (int i = 0; i < S.n; i++) { free(S.files[i].path); free(S.files[i].stem); }
    free(S.files);
    sv_strmap_free(&S.by_stem);
    sv_strmap_free(&ids);
    return st;
}

slava_status slava_collection_open(slava_ctx *ctx, const char *data_dir, const char *captions_file,
                                   int split, slava_collection *out) {
    slava_status st;
    if (!data_dir && !captions_file) return sv_err(ctx, SLAVA_E_ARG, "collection: need a data folder or a captions file");
    if (captions_file) st = slava_collection_add_captions(ctx, out, captions_file, split);
    else st = slava_collection_read_dir(ctx, out, data_dir);
    if (st != SLAVA_OK) return st;
    if (data_dir) return slava_collection_find_videos(ctx, out, data_dir);
    /* Videos beside the captions file. */
    char *dir = sv_strdup(captions_file);
    if (!dir) return sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", captions_file);
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    st = slava_collection_find_videos(ctx, out, dir);
    free(dir);
    return st;
}
