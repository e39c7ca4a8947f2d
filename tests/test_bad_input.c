/*
 * test_bad_input.c — the bad-input table (issue 15): one row per broken input of every kind the
 * tool reads — weights, configs, tokenizer files, captions, media, stores, heads, indexes and
 * command-line values. For each row the command must exit with the row's status (1 bad input, 2
 * usage), print exactly one stderr line "slava: ..." that names the file or option at fault,
 * and leave the stored data as it was (the feature store, the heads and the index are compared
 * byte for byte before and after every row).
 *
 * The broken inputs are made here from the fixtures and a small synthetic collection: model
 * folders with one file replaced (the other files linked), truncated / garbled / empty files,
 * JSON with the wrong shapes, a store whose pages are overwritten, heads with NaN, and so on.
 */
#include "fault_testutil.h"
#include <sqlite3.h>

static char g_store[900], g_heads[900], g_index[900];

/* ---------------------------------------------------------------- making broken inputs */

static void put(const char *path, const void *data, size_t n) {
    slava_ctx *ctx = slava_ctx_new();
    CHECKF(sv_write_file(ctx, path, data, n) == SLAVA_OK, "%s", slava_ctx_error(ctx));
    slava_ctx_free(ctx);
}
static void put_text(const char *path, const char *text) { put(path, text, strlen(text)); }

static void copy_prefix(const char *src, const char *dst, size_t n) {
    size_t len = 0;
    char *b = slurp(src, &len);
    CHECK(b != NULL);
    put(dst, b, b && n < len ? n : len);
    free(b);
}

/* dst = src with byte range [off, off + n) overwritten by `fill` */
static void copy_garbled(const char *src, const char *dst, size_t off, size_t n, int fill) {
    size_t len = 0;
    char *b = slurp(src, &len);
    CHECK(b && off + n <= len);
    if (b && off + n <= len) memset(b + off, fill, n);
    put(dst, b, len);
    free(b);
}

/* A model folder `name` in the scratch folder: every file of the fixture folder `src` linked,
 * except `replace` (absent when text is NULL: the file is left out). Returns its path. */
static const char *model_with(const char *name, const char *src, const char *replace, const char *text) {
    const char *dir = in_dir(name);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && for f in '%s'/*; do ln -s \"$f\" '%s'/; done && rm -f '%s/%s'",
             dir, dir, src, dir, dir, replace);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    if (text) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, replace);
        put_text(p, text);
    }
    return dir;
}

/* The fixture's file `name` of folder src with the first occurrence of `from` replaced by `to`. */
static char *edited(const char *src, const char *name, const char *from, const char *to) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", src, name);
    char *t = slurp(p, NULL);
    char *at = t ? strstr(t, from) : NULL;
    CHECKF(at != NULL, "%s: no '%s'", p, from);
    if (!at) return t;
    size_t a = (size_t)(at - t), fl = strlen(from), tl = strlen(to), n = strlen(t);
    char *r = malloc(n - fl + tl + 1);
    memcpy(r, t, a);
    memcpy(r + a, to, tl);
    memcpy(r + a + tl, at + fl, n - a - fl + 1);
    free(t);
    return r;
}

/* ---------------------------------------------------------------- the stored data stays */

static char *g_fp;   /* fingerprint of the store, heads and index */
static size_t g_fp_len;

static char *fingerprint(size_t *len) {
    const char *files[5] = {g_store, NULL, NULL, g_heads, g_index};
    char wal[1000];
    snprintf(wal, sizeof wal, "%s-wal", g_store);
    files[1] = wal;
    size_t total = 0;
    char *all = NULL;
    for (int i = 0; i < 5; i++) {
        if (!files[i]) continue;
        size_t n = 0;
        char *b = slurp(files[i], &n);
        all = realloc(all, total + n + 16);
        memcpy(all + total, b ? b : "", b ? n : 0);
        total += b ? n : 0;
        memcpy(all + total, "\n--\n", 4);
        total += 4;
        free(b);
    }
    *len = total;
    return all;
}

/* ---------------------------------------------------------------- the table */

typedef struct {
    const char *kind;        /* weights, config, tokenizer, captions, media, store, heads, index, cli */
    const char *what;        /* the case, for messages */
    char cmd[3000];          /* shell command (stdout discarded) */
    int exit;                /* expected exit status */
    char names[1000];        /* the stderr line must contain this (a file or an option) */
} row;

static row g_rows[96];
static int g_n;

static void add(const char *kind, const char *what, int exit, const char *names, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add(const char *kind, const char *what, int exit, const char *names, const char *fmt, ...) {
    row *r = &g_rows[g_n++];
    r->kind = kind;
    r->what = what;
    r->exit = exit;
    snprintf(r->names, sizeof r->names, "%s", names);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->cmd, sizeof r->cmd, fmt, ap);
    va_end(ap);
}

static void run_row(const row *r) {
    char *err = NULL;
    int rc = run_cmd(r->cmd, NULL, &err);
    const char *e = err ? err : "";
    CHECKF(rc == r->exit, "[%s] %s: exit %d, expected %d (%s)", r->kind, r->what, rc, r->exit, e);
    CHECKF(count_lines(e) == 1 && !strncmp(e, "slava: ", 7), "[%s] %s: stderr is not one 'slava:' line: %s", r->kind,
           r->what, e);
    CHECKF(strstr(e, r->names) != NULL, "[%s] %s: stderr does not name '%s': %s", r->kind, r->what, r->names, e);
    if (getenv("SLAVA_TEST_VERBOSE")) printf("[%s] %s -> %d: %s", r->kind, r->what, rc, e);
    size_t n = 0;
    char *fp = fingerprint(&n);
    CHECKF(n == g_fp_len && !memcmp(fp, g_fp, n), "[%s] %s: the store, heads or index changed", r->kind, r->what);
    free(fp);
    free(err);
}

int main(void) {
    fault_setup("bad_input", "--train 6 --val 3 --test 3 --seconds 2-4");
    static char cmd[16384];
    snprintf(g_store, sizeof g_store, "%s", in_dir("store.sqlite"));
    snprintf(g_heads, sizeof g_heads, "%s", in_dir("heads.safetensors"));
    snprintf(g_index, sizeof g_index, "%s", in_dir("index.slx"));
    snprintf(cmd, sizeof cmd, SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --quiet && "
             SLAVA_BIN " train --store '%s' --epochs 2 --out '%s' --quiet >/dev/null && "
             SLAVA_BIN " index --store '%s' --heads '%s' --out '%s' --quiet >/dev/null && "
             SLAVA_BIN " store export '%s' --out '%s' 2>/dev/null",
             g_data, g_store, g_store, g_heads, g_store, g_heads, g_index, g_store, in_dir("features.safetensors"));
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    const char *S = g_store, *H = g_heads, *I = g_index, *D = g_data;
    char video[1400];
    first_video(g_data, video, sizeof video);
    const char *V = video;

    /* ---- weights */
    const char *m_trunc = model_with("clip-trunc", CLIP_DIR, "model.safetensors", NULL);
    char p[1600];
    snprintf(p, sizeof p, "%s/model.safetensors", m_trunc);
    copy_prefix(CLIP_DIR "/model.safetensors", p, 4000);
    add("weights", "truncated model.safetensors", 1, "clip-trunc/model.safetensors",
        SLAVA_BIN " embed --clip '%s' --text hi", m_trunc);
    const char *m_garb = model_with("clip-garbled", CLIP_DIR, "model.safetensors", NULL);
    snprintf(p, sizeof p, "%s/model.safetensors", m_garb);
    copy_garbled(CLIP_DIR "/model.safetensors", p, 8, 64, '{');
    add("weights", "garbled safetensors header", 1, "clip-garbled/model.safetensors",
        SLAVA_BIN " embed --clip '%s' --text hi", m_garb);
    const char *m_empty = model_with("clap-empty", CLAP_DIR, "model.safetensors", "");
    add("weights", "empty model.safetensors", 1, "clap-empty/model.safetensors",
        SLAVA_BIN " embed --clap '%s' --audio '%s'", m_empty, V);
    const char *m_none = model_with("clip-noweights", CLIP_DIR, "model.safetensors", NULL);
    add("weights", "no weight file at all", 1, "clip-noweights", SLAVA_BIN " embed --clip '%s' --text hi", m_none);
    const char *m_shard = model_with("clip-shards", CLIP_DIR, "model.safetensors",
                                     NULL);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", m_shard);
    put_text(p, "{\"metadata\": {}, \"weight_map\": {\"logit_scale\": \"model-00001-of-00002.safetensors\"}}");
    add("weights", "shard index naming a missing shard", 1, "model-00001-of-00002.safetensors",
        SLAVA_BIN " embed --clip '%s' --text hi", m_shard);
    char *cfg = edited(CLIP_DIR, "config.json", "\"projection_dim\": 32", "\"projection_dim\": 48");
    const char *m_shape = model_with("clip-shape", CLIP_DIR, "config.json", cfg);
    free(cfg);
    add("weights", "a tensor of another shape than config.json says", 1, "text_projection.weight",
        SLAVA_BIN " embed --clip '%s' --text hi", m_shape);
    add("weights", "encode with a broken CLAP folder", 1, "clap-empty/model.safetensors",
        SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap '%s' --store '%s' --quiet", D, m_empty, S);

    /* ---- configs */
    const char *c_json = model_with("clip-cfgjson", CLIP_DIR, "config.json", "{\"text_config\": {\"hidden_size\": 64,");
    add("config", "config.json not JSON", 1, "clip-cfgjson/config.json", SLAVA_BIN " embed --clip '%s' --text hi", c_json);
    cfg = edited(CLIP_DIR, "config.json", "\"num_attention_heads\": 4", "\"num_attention_heads\": 3");
    const char *c_heads = model_with("clip-cfgheads", CLIP_DIR, "config.json", cfg);
    free(cfg);
    add("config", "hidden size not divisible by the heads", 1, "clip-cfgheads/config.json",
        SLAVA_BIN " embed --clip '%s' --text hi", c_heads);
    cfg = edited(CLAP_DIR, "config.json", "\"audio_config\": {", "\"audio_config\": {\"depths\": [1, 1, 1, 1, 1, 1],");
    const char *c_depth = model_with("clap-cfgdepths", CLAP_DIR, "config.json", cfg);
    free(cfg);
    add("config", "CLAP depths with more stages than heads", 1, "clap-cfgdepths/config.json",
        SLAVA_BIN " embed --clap '%s' --audio '%s'", c_depth, V);
    cfg = edited(CLAP_DIR, "config.json", "\"audio_config\": {", "\"audio_config\": {\"layer_norm_eps\": 0,");
    const char *c_eps = model_with("clap-cfgeps", CLAP_DIR, "config.json", cfg);
    free(cfg);
    add("config", "CLAP layer_norm_eps 0", 1, "clap-cfgeps/config.json", SLAVA_BIN " embed --clap '%s' --audio '%s'", c_eps, V);
    const char *c_none = model_with("clip-nocfg", CLIP_DIR, "config.json", NULL);
    add("config", "no config.json", 1, "clip-nocfg/config.json", SLAVA_BIN " embed --clip '%s' --text hi", c_none);
    const char *c_type = model_with("clip-cfgtype", CLIP_DIR, "config.json", "{\"model_type\": \"clap\"}");
    add("config", "config.json of another model type", 1, "clip-cfgtype/config.json",
        SLAVA_BIN " embed --clip '%s' --text hi", c_type);
    const char *c_pre = model_with("clip-preproc", CLIP_DIR, "preprocessor_config.json", "{\"image_std\": [0.2, 0, 0.3]}");
    add("config", "preprocessor_config.json with a zero std", 1, "clip-preproc/preprocessor_config.json",
        SLAVA_BIN " embed --clip '%s' --video '%s'", c_pre, V);
    const char *c_rs = model_with("clip-resample", CLIP_DIR, "preprocessor_config.json", "{\"resample\": 2}");
    add("config", "preprocessor_config.json with another filter", 1, "clip-resample/preprocessor_config.json",
        SLAVA_BIN " embed --clip '%s' --video '%s'", c_rs, V);

    /* ---- tokenizer files */
    const char *t_json = model_with("clip-vocabjson", CLIP_DIR, "vocab.json", "{\"a\": 1, ");
    add("tokenizer", "vocab.json not JSON", 1, "clip-vocabjson/vocab.json", SLAVA_BIN " tokenize --clip '%s' hi", t_json);
    const char *t_small = model_with("clip-vocabsmall", CLIP_DIR, "vocab.json", "{\"a\": 0, \"b\": 1}");
    add("tokenizer", "vocab.json without the byte symbols", 1, "clip-vocabsmall/vocab.json",
        SLAVA_BIN " tokenize --clip '%s' hi", t_small);
    const char *t_none = model_with("clip-novocab", CLIP_DIR, "vocab.json", NULL);
    add("tokenizer", "no vocab.json", 1, "clip-novocab/vocab.json", SLAVA_BIN " tokenize --clip '%s' hi", t_none);
    const char *t_m3 = model_with("clip-merges3", CLIP_DIR, "merges.txt", "#version: 0.2\nt h e\n");
    add("tokenizer", "merges.txt line with three symbols", 1, "clip-merges3/merges.txt",
        SLAVA_BIN " tokenize --clip '%s' hi", t_m3);
    const char *t_mu = model_with("clip-mergesunk", CLIP_DIR, "merges.txt", "#version: 0.2\nq\xc3\xa9 zz\n");
    add("tokenizer", "merges.txt with a symbol missing from vocab.json", 1, "clip-mergesunk/merges.txt",
        SLAVA_BIN " tokenize --clip '%s' hi", t_mu);
    const char *t_me = model_with("clip-mergesempty", CLIP_DIR, "merges.txt", "#version: 0.2\n");
    add("tokenizer", "merges.txt without merges", 1, "clip-mergesempty/merges.txt",
        SLAVA_BIN " tokenize --clip '%s' hi", t_me);

    /* ---- captions */
    static const struct { const char *file, *json, *what; } caps[] = {
        {"captions_bad.json", "{\"c1\": {\"audio_captions\": [\"a dog\",]}}", "malformed JSON"},
        {"captions_type.json", "{\"c1\": {\"audio_captions\": [\"a dog\", 7]}}", "a caption that is a number"},
        {"captions_slash.json", "{\"../etc/passwd\": {\"audio_captions\": [\"a dog\"]}}", "a clip id with a slash"},
        {"captions_utf8.json", "{\"c1\": {\"audio_captions\": [\"a d\xff\xfeg\"]}}", "a caption that is not UTF-8"},
    };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        const char *path = in_dir(caps[i].file);
        put_text(path, caps[i].json);
        add("captions", caps[i].what, 1, caps[i].file,
            SLAVA_BIN " encode --captions '%s' --split train --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --quiet",
            path, D, S);
    }
    const char *no_caps = in_dir("nocaptions");
    mkdir(no_caps, 0755);
    add("captions", "a data folder without captions files", 1, "nocaptions",
        SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --quiet", no_caps, S);

    /* ---- media */
    const char *junk = in_dir("junk.mp4");
    unsigned char jb[4096];
    for (size_t i = 0; i < sizeof jb; i++) jb[i] = (unsigned char)(i * 2654435761u >> 13);
    put(junk, jb, sizeof jb);
    add("media", "random bytes as a video", 1, "junk.mp4", SLAVA_BIN " embed --clip " CLIP_DIR " --video '%s'", junk);
    const char *empty_png = in_dir("empty.png");
    put(empty_png, "", 0);
    add("media", "an empty image", 1, "empty.png", SLAVA_BIN " embed --clip " CLIP_DIR " --image '%s'", empty_png);
    const char *half = in_dir("half.mp4");
    {
        size_t n = 0;
        char *b = slurp(V, &n);
        put(half, b, n / 3);
        free(b);
    }
    add("media", "a truncated mp4", 1, "half.mp4", SLAVA_BIN " embed --clip " CLIP_DIR " --video '%s'", half);
    const char *silent = in_dir("silent.mp4");
    snprintf(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=size=32x32:rate=5:duration=1 '%s'",
             silent);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    add("media", "audio asked of a video without sound", 1, "silent.mp4",
        SLAVA_BIN " embed --clap " CLAP_DIR " --audio '%s'", silent);
    add("media", "a missing video", 1, "no-such.mp4", SLAVA_BIN " embed --clip " CLIP_DIR " --video '%s'", in_dir("no-such.mp4"));
    add("media", "a folder given as an image", 1, "nocaptions", SLAVA_BIN " embed --clip " CLIP_DIR " --image '%s'", no_caps);
    const char *fast = in_dir("960MHz.wav");
    {   /* a WAV header claiming 959 848 256 samples per second (fuzz_media found it: gigabytes to resample) */
        unsigned char w[44 + 64] = "RIFF\x64\0\0\0WAVEfmt \x10\0\0\0\x01\0\x02\0\x40\x1f\x36\x39\x00\x20\x7d\x00"
                                   "\x04\0\x10\0data\x40\0\0\0";
        for (int i = 44; i < 44 + 64; i++) w[i] = (unsigned char)(i * 37);
        put(fast, w, sizeof w);
    }
    add("media", "a WAV claiming a 960 MHz sample rate", 1, "960MHz.wav", SLAVA_BIN " embed --clap " CLAP_DIR " --audio '%s'", fast);

    /* ---- stores */
    const char *txt_store = in_dir("text.sqlite");
    put_text(txt_store, "this is not a database\n");
    add("store", "a text file as the store", 1, "text.sqlite", SLAVA_BIN " store info '%s'", txt_store);
    const char *other_db = in_dir("other.sqlite");
    {
        sqlite3 *db;
        CHECK(sqlite3_open(other_db, &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1);", NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
    }
    add("store", "SQLite without the slava schema", 1, "other.sqlite", SLAVA_BIN " train --store '%s' --out '%s'", other_db,
        in_dir("h_other.safetensors"));
    add("store", "a missing store", 1, "missing.sqlite", SLAVA_BIN " store info '%s'", in_dir("missing.sqlite"));
    const char *broken_db = in_dir("broken.sqlite");
    {   /* a copy of the store (checkpointed into one file) with pages overwritten */
        snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"VACUUM INTO '%s'\"", S, in_dir("vacuumed.sqlite"));
        CHECK(run_cmd(cmd, NULL, NULL) == 0);
        copy_garbled(in_dir("vacuumed.sqlite"), broken_db, 16384, 8192, 0x5a);
    }
    add("store", "a store with damaged pages", 1, "broken.sqlite", SLAVA_BIN " train --store '%s' --out '%s'", broken_db,
        in_dir("h_broken.safetensors"));
    add("store", "import of a file that is not safetensors", 1, "junk.mp4", SLAVA_BIN " store import '%s' '%s'", S, junk);
    const char *moved = in_dir("moved_split.safetensors");
    {   /* the store's own export with every clip moved to another split */
        size_t n = 0;
        char *b = slurp(in_dir("features.safetensors"), &n);
        static const char from[] = "\\\"split\\\":\\\"train\\\"", to[] = "\\\"split\\\":\\\"test\\\" ";
        _Static_assert(sizeof from == sizeof to, "same length");
        for (size_t i = 0; b && i + sizeof from < n; i++)
            if (!memcmp(b + i, from, sizeof from - 1)) memcpy(b + i, to, sizeof to - 1);
        put(moved, b, n);
        free(b);
    }
    add("store", "import of clips stored under another split", 1, "moved_split.safetensors",
        SLAVA_BIN " store import '%s' '%s'", S, moved);
    add("store", "export into a missing folder", 1, "no-such-dir/x.safetensors",
        SLAVA_BIN " store export '%s' --out '%s'", S, in_dir("no-such-dir/x.safetensors"));

    /* ---- heads */
    add("heads", "random bytes as heads", 1, "junk.mp4", SLAVA_BIN " eval --store '%s' --heads '%s'", S, junk);
    const char *h_small = in_dir("heads_other.safetensors");
    {
        slava_ctx *ctx = slava_ctx_new();
        slava_feature_synth_opts so;
        slava_feature_synth_defaults(&so);
        so.n_clips[0] = 8; so.n_clips[1] = 4; so.n_clips[2] = 4;
        so.d_v = 6; so.d_a = 5; so.d_t = 4;
        slava_dataset ds;
        slava_train_opts o;
        slava_train_opts_default(&o);
        slava_heads *h = NULL;
        CHECK_OK(ctx, slava_synth_features(ctx, &so, &ds));
        CHECK_OK(ctx, slava_heads_init(ctx, &ds, &o, &h));
        if (h) CHECK_OK(ctx, slava_heads_save(ctx, h, h_small, NULL, NULL, NULL));
        slava_heads_free(h);
        slava_dataset_free(&ds);
        slava_ctx_free(ctx);
    }
    add("heads", "heads of other feature sizes", 1, "heads_other.safetensors",
        SLAVA_BIN " eval --store '%s' --heads '%s' --force", S, h_small);
    const char *h_nan = in_dir("heads_nan.safetensors");
    {   /* the trained heads with their last float set to NaN */
        size_t n = 0;
        char *b = slurp(H, &n);
        if (b && n >= 4) memcpy(b + n - 4, "\x00\x00\xc0\x7f", 4);
        put(h_nan, b, n);
        free(b);
    }
    add("heads", "heads holding NaN", 1, "heads_nan.safetensors", SLAVA_BIN " eval --store '%s' --heads '%s'", S, h_nan);
    add("heads", "missing heads", 1, "no-heads.safetensors",
        SLAVA_BIN " embed --clip " CLIP_DIR " --heads '%s' --text hi", in_dir("no-heads.safetensors"));
    add("heads", "a truncated heads file", 1, "heads_half.safetensors",
        SLAVA_BIN " eval --store '%s' --heads '%s'", S, in_dir("heads_half.safetensors"));
    copy_prefix(H, in_dir("heads_half.safetensors"), 300);

    /* ---- indexes */
    add("index", "random bytes as an index", 1, "junk.mp4", SLAVA_BIN " search '%s' --text hi", junk);
    copy_prefix(I, in_dir("index_half.slx"), 1000);
    add("index", "a truncated index", 1, "index_half.slx", SLAVA_BIN " search '%s' --text hi", in_dir("index_half.slx"));
    add("index", "serving a missing index", 1, "no-index.slx", SLAVA_BIN " serve '%s' --port 0", in_dir("no-index.slx"));
    add("index", "the store as the index", 1, "store.sqlite", SLAVA_BIN " search '%s' --text hi", S);
    add("index", "index output onto the store", 1, "store.sqlite",
        SLAVA_BIN " index --store '%s' --heads '%s' --out '%s'", S, H, S);
    add("index", "bf16 features asked of a float32 store", 1, "store.sqlite",
        SLAVA_BIN " index --store '%s' --heads '%s' --out '%s' --precision bf16", S, H, I);

    /* ---- command-line values */
    add("cli", "--fps 0", 2, "--fps",
        SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --fps 0", D, S);
    add("cli", "--epochs -1", 2, "--epochs", SLAVA_BIN " train --store '%s' --out '%s' --epochs -1", S, in_dir("h2.safetensors"));
    add("cli", "an unknown recipe", 2, "nope", SLAVA_BIN " train --store '%s' --out '%s' --recipe nope", S, in_dir("h2.safetensors"));
    add("cli", "--seeds 1,,2", 2, "--seeds", SLAVA_BIN " experiment --store '%s' --seeds 1,,2", S);
    add("cli", "--threads 0", 2, "--threads",
        SLAVA_BIN " encode --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s' --threads 0", D, S);
    add("cli", "--format xml", 2, "--format", SLAVA_BIN " eval --store '%s' --heads '%s' --format xml", S, H);
    add("cli", "-k 0", 2, "-k", SLAVA_BIN " search '%s' --text hi -k 0", I);
    add("cli", "--precision fp16", 2, "--precision", SLAVA_BIN " search '%s' --text hi --precision fp16", I);
    add("cli", "--like gpt", 2, "--like", SLAVA_BIN " init-random --like gpt --config " CLIP_DIR "/config.json --out '%s'",
        in_dir("gpt"));
    add("cli", "--split dev2", 2, "--split",
        SLAVA_BIN " encode --captions '%s' --split dev2 --data '%s' --clip " CLIP_DIR " --clap " CLAP_DIR " --store '%s'",
        in_dir(caps[0].file), D, S);
    add("cli", "a value missing after --store", 2, "--store", SLAVA_BIN " train --store");

    /* every row, the store / heads / index fingerprinted around each */
    g_fp = fingerprint(&g_fp_len);
    for (int i = 0; i < g_n; i++) run_row(&g_rows[i]);
    int per[9] = {0};
    static const char *kinds[9] = {"weights", "config", "tokenizer", "captions", "media", "store", "heads", "index", "cli"};
    for (int i = 0; i < g_n; i++)
        for (int k = 0; k < 9; k++) per[k] += !strcmp(g_rows[i].kind, kinds[k]);
    printf("bad-input table: %d rows:", g_n);
    for (int k = 0; k < 9; k++) printf(" %s %d%s", kinds[k], per[k], k < 8 ? "," : "\n");
    for (int k = 0; k < 9; k++) CHECKF(per[k] >= 3, "%s: only %d rows", kinds[k], per[k]);
    CHECK(g_n >= 40);
    free(g_fp);
    free_paths();
    return test_done("test_bad_input");
}
