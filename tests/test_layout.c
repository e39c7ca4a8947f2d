/*
 * test_layout.c — the source tree keeps its layering (README.md "Source map", src/<dir>/README.md):
 * every folder of src/ includes only the folders below it (`#include "dir/..."`), src/base/ names
 * no third-party library, src/cli/ includes nothing but slava.h and its own headers and calls no
 * tower (the encoders are reached through src/embed/), every folder has a README.md and every
 * source file opens with a comment. A planted bad tree checks that the checker itself fails.
 */
#include "test.h"
#include "base/base.h"
#include <dirent.h>
#include <sys/stat.h>


/* What each folder may include besides itself (and slava.h). A folder missing here fails. */
static const struct { const char *dir, *may; } RULES[] = {
    {"base", ""},
    {"dist", "base"},
    {"io", "base"},
    {"nn", "base"},
    {"text", "base io nn"},
    {"vision", "base io nn"},
    {"audio", "base io nn"},
    {"store", "base io"},
    {"eval", "base nn"},
    {"align", "base io nn eval dist"},
    {"embed", "base io nn text vision audio align"},
    {"data", "base io"},
    {"synth", "base io nn data text vision audio"},
    {"pipeline", "base io embed store data dist"},
    {"search", "base io nn text store align"},
    {"version", "base"},
    {"plot", "base eval"},
    {"serve", "base io"},
    {"cli", ""},
};

/* Libraries src/base/ must not name (it sits below every module that uses them). */
static const char *const BASE_BANNED[] = {"<cblas.h>", "<omp.h>", "<libav", "<libsw", "<sqlite3.h>", "<fftw3.h>",
                                          "<cjson/", "<pcre2.h>", "<utf8proc.h>"};
/* Tower entry points the CLI must not call (src/embed/ does). */
static const char *const CLI_BANNED_CALLS[] = {"slava_clip_vision_encode", "slava_clip_text_encode",
                                               "slava_clap_audio_encode", "slava_clip_vision_embed_file",
                                               "slava_clap_audio_embed_file"};

static int word_in(const char *word, size_t len, const char *list) {
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        size_t k = strcspn(p, " ");
        if (k == len && !strncmp(p, word, len)) return 1;
        p += k;
    }
    return 0;
}

/* Checks one source file; returns the number of problems (each printed with `report`). */
static int check_file(const char *path, const char *dir, const char *may, FILE *report) {
    char *text = NULL;
    if (sv_read_file(NULL, path, &text, NULL) != SLAVA_OK) { fprintf(report, "%s: cannot read\n", path); return 1; }
    int bad = 0;
    const char *s = text;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    if (strncmp(s, "/*", 2) && strncmp(s, "//", 2)) { fprintf(report, "%s: does not open with a comment\n", path); bad++; }
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *q = p;
        while (q < p + n && (*q == ' ' || *q == '\t')) q++;
        if (!strncmp(q, "#include", 8)) {
            q += 8;
            while (*q == ' ') q++;
            if (*q == '"') {
                const char *name = q + 1, *slash = strchr(name, '/'), *close = strchr(name, '"');
                if (slash && close && slash < close) {
                    size_t len = (size_t)(slash - name);
                    if (!(len == strlen(dir) && !strncmp(name, dir, len)) && !word_in(name, len, may)) {
                        fprintf(report, "%s:%d: src/%s/ may not include \"%.*s\"\n", path, line, dir, (int)(close - name), name);
                        bad++;
                    }
                }
            } else if (!strcmp(dir, "base")) {
                for (size_t i = 0; i < SV_ARRAY_LEN(BASE_BANNED); i++)
                    if (!strncmp(q, BASE_BANNED[i], strlen(BASE_BANNED[i]))) {
                        fprintf(report, "%s:%d: src/base/ names a library (%.*s)\n", path, line, (int)(p + n - q), q);
                        bad++;
                    }
            }
        }
        if (!strcmp(dir, "cli"))
            for (size_t i = 0; i < SV_ARRAY_LEN(CLI_BANNED_CALLS); i++) {
                const char *hit = p;
                size_t len = strlen(CLI_BANNED_CALLS[i]);
                while ((hit = strstr(hit, CLI_BANNED_CALLS[i])) && hit < p + n) {
                    char next = hit[len];
                    if (next == '(' || next == ' ' || next == '_') {
                        fprintf(report, "%s:%d: the CLI calls the tower function %s (use the embedder)\n", path, line,
                                CLI_BANNED_CALLS[i]);
                        bad++;
                    }
                    hit += len;
                }
            }
        p += n + (e ? 1 : 0);
        if (!e) break;
    }
    free(text);
    return bad;
}

/* Checks every folder of root/src; returns the number of problems. */
static int check_tree(const char *root, FILE *report) {
    char src[1200];
    snprintf(src, sizeof src, "%s/src", root);
    DIR *d = opendir(src);
    if (!d) { fprintf(report, "%s: cannot open\n", src); return 1; }
    int bad = 0, folders = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char sub[1500];
        snprintf(sub, sizeof sub, "%s/%s", src, de->d_name);
        struct stat sb;
        if (stat(sub, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        folders++;
        const char *may = NULL;
        for (size_t i = 0; i < SV_ARRAY_LEN(RULES); i++)
            if (!strcmp(RULES[i].dir, de->d_name)) may = RULES[i].may;
        if (!may) { fprintf(report, "%s: a folder without a layering rule (add it to test_layout.c and README)\n", sub); bad++; continue; }
        char readme[1600];
        snprintf(readme, sizeof readme, "%s/README.md", sub);
        if (stat(readme, &sb) != 0) { fprintf(report, "%s: missing (what the folder is for, what it may include)\n", readme); bad++; }
        DIR *f = opendir(sub);
        struct dirent *fe;
        while (f && (fe = readdir(f))) {
            size_t n = strlen(fe->d_name);
            if (n < 3 || fe->d_name[0] == '.' || (strcmp(fe->d_name + n - 2, ".c") && strcmp(fe->d_name + n - 2, ".h"))) continue;
            char path[1800];
            snprintf(path, sizeof path, "%s/%s", sub, fe->d_name);
            bad += check_file(path, de->d_name, may, report);
        }
        if (f) closedir(f);
    }
    closedir(d);
    if (!folders) { fprintf(report, "%s: no folders\n", src); bad++; }
    return bad;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) { fputs(text, f); fclose(f); }
}

int main(void) {
    /* the real tree: SLAVA_FIXTURES is <root>/tests/fixtures */
    char root[1200];
    snprintf(root, sizeof root, "%s/../..", SLAVA_FIXTURES);
    int bad = check_tree(root, stderr);
    CHECKF(bad == 0, "%d layering problems in %s/src (listed above)", bad, root);

    /* a planted tree with one of each mistake: the checker must find them all */
    const char *t = tmp_path("layout_bad");
    char p[1400];
    mkdir(t, 0755);
    snprintf(p, sizeof p, "%s/src", t); mkdir(p, 0755);
    static const char *dirs[] = {"eval", "base", "cli", "weird"};
    for (int i = 0; i < 4; i++) { snprintf(p, sizeof p, "%s/src/%s", t, dirs[i]); mkdir(p, 0755); }
    snprintf(p, sizeof p, "%s/src/eval/README.md", t); write_file(p, "eval\n");
    snprintf(p, sizeof p, "%s/src/base/README.md", t); write_file(p, "base\n");
    snprintf(p, sizeof p, "%s/src/eval/x.c", t);
    write_file(p, "/* x */\n#include \"eval/eval.h\"\n  #include \"align/heads.h\"\n");           /* 1 */
    snprintf(p, sizeof p, "%s/src/base/y.c", t);
    write_file(p, "int y;\n#include <sqlite3.h>\n#include \"io/config.h\"\n");                   /* 3 */
    snprintf(p, sizeof p, "%s/src/cli/z.c", t);
    write_file(p, "/* z */\nvoid f(void) { slava_clip_text_encode(0, 0, 0, 0, 0, 0); }\n");     /* 2 (+README) */
    FILE *devnull = fopen("/dev/null", "w");
    int planted = check_tree(t, devnull ? devnull : stderr);
    if (devnull) fclose(devnull);
    /* eval: align include; base: no comment, sqlite, io include; cli: tower call, no README;
     * weird: no rule */
    CHECKF(planted == 7, "the planted tree has 7 problems, the checker found %d", planted);
    return test_done("layout");
}
