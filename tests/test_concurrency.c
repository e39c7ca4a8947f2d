/*
 * test_concurrency.c — two processes on one store (issue 15). While `slava encode` writes a
 * store (a second collection of 224 clips into a store that already holds a first one), a second
 * encode and a `store import` into the same store are refused at once with one line (the writer
 * lock), and readers work: `store info`, `train`, `store export`, `index` and `search` in that index
 * succeed on the committed clips.
 * The writer then finishes normally and the store holds every clip of both collections, whole.
 * The second collection is the first one's videos under other clip ids (symbolic links).
 */
#include "fault_testutil.h"
#include <cjson/cJSON.h>

#define COPIES 8

/* data2: COPIES copies of the collection in g_data, clip ids prefixed "c<k>_", videos linked. */
static void make_second_collection(const char *data2) {
    slava_ctx *ctx = slava_ctx_new();
    slava_collection c;
    memset(&c, 0, sizeof c);
    CHECK_OK(ctx, slava_collection_open(ctx, g_data, NULL, 0, &c));
    char dir[1200], path[1600];
    snprintf(dir, sizeof dir, "%s/videos", data2);
    CHECK(sv_make_dirs(ctx, dir) == SLAVA_OK);
    static const char *keys[SLAVA_CAP_KINDS] = {"audio_captions", "visual_captions", "audio_visual_captions", "GPT_AV_captions"};
    for (int s = 0; s < SLAVA_SPLITS; s++) {
        cJSON *root = cJSON_CreateObject();
        for (int k = 0; k < COPIES; k++)
            for (int i = 0; i < c.n; i++) {
                const slava_media_clip *m = &c.clips[i];
                if (m->split != s || !m->video) continue;
                char id[300];
                snprintf(id, sizeof id, "c%d_%s", k, m->id);
                cJSON *o = cJSON_AddObjectToObject(root, id);
                for (int kind = 0; kind < SLAVA_CAP_KINDS; kind++) {
                    cJSON *a = cJSON_AddArrayToObject(o, keys[kind]);
                    for (int j = 0; j < m->n_cap[kind]; j++) cJSON_AddItemToArray(a, cJSON_CreateString(m->cap[kind][j]));
                }
                snprintf(path, sizeof path, "%s/%s.mp4", dir, id);
                CHECK(symlink(m->video, path) == 0);
            }
        char *text = cJSON_Print(root);
        snprintf(path, sizeof path, "%s/%s_captions.json", data2, slava_split_name(s));
        CHECK(text && sv_write_file(ctx, path, text, strlen(text)) == SLAVA_OK);
        free(text);
        cJSON_Delete(root);
    }
    slava_collection_free(&c);
    slava_ctx_free(ctx);
}

int main(void) {
    fault_setup("concurrency", "--train 16 --val 6 --test 6 --seconds 2-5");
    const char *data2 = in_dir("data2"), *store = in_dir("store.sqlite");
    make_second_collection(data2);
    char *first[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                     (char *)store, "--threads", "2", "--quiet", NULL};
    CHECK(run_to_end(first, in_dir("first.out")) == 0);
    int base = committed(store);
    CHECKF(base == 28, "first collection: %d clips stored", base);
    CHECK(export_store(store, in_dir("import.safetensors")) == 0);

    /* the writer: the second collection into the same store */
    char *second[] = {SLAVA_BIN, "encode", "--data", (char *)data2, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                      (char *)store, "--threads", "1", "--quiet", NULL};
    pid_t w = start(second, in_dir("writer.out"), in_dir("writer.err"));
    int status = 0, ended = 0;
    for (int i = 0; i < 60000 && committed(store) <= base + 1; i++) {
        if (waitpid(w, &status, WNOHANG) == w) { ended = 1; break; }
        sleep_ms(2);
    }
    CHECKF(!ended, "the writer ended before it committed two clips");

    /* a second writer is refused at once, with one line */
    char *again[] = {SLAVA_BIN, "encode", "--data", g_data, "--clip", CLIP_DIR, "--clap", CLAP_DIR, "--store",
                     (char *)store, "--threads", "1", "--quiet", NULL};
    CHECK(run_to_end(again, in_dir("again.out")) == 1);
    check_one_line(in_dir("end.err"), "slava: ", "another slava process is writing to this store", "second encode");
    check_one_line(in_dir("end.err"), "slava: ", store, "second encode");
    char *imp[] = {SLAVA_BIN, "store", "import", (char *)store, (char *)in_dir("import.safetensors"), NULL};
    CHECK(run_to_end(imp, in_dir("import.out")) == 1);
    check_one_line(in_dir("end.err"), "slava: ", "another slava process is writing to this store", "store import");

    /* readers work meanwhile */
    char *info[] = {SLAVA_BIN, "store", "info", (char *)store, NULL};
    CHECK(run_to_end(info, in_dir("info.out")) == 0);
    char *train[] = {SLAVA_BIN, "train", "--store", (char *)store, "--epochs", "2", "--out", (char *)in_dir("h.safetensors"),
                     "--threads", "1", "--quiet", NULL};
    CHECK(run_to_end(train, in_dir("train.out")) == 0);
    CHECK(access(in_dir("h.safetensors"), F_OK) == 0);
    CHECK(export_store(store, in_dir("during.safetensors")) == 0);
    /* an index of what is committed, and a search in it */
    char *index[] = {SLAVA_BIN, "index", "--store", (char *)store, "--heads", (char *)in_dir("h.safetensors"), "--out",
                     (char *)in_dir("during.index"), "--threads", "1", "--quiet", NULL};
    CHECK(run_to_end(index, in_dir("index.out")) == 0);
    char *search[] = {SLAVA_BIN, "search", (char *)in_dir("during.index"), "--text", "a red circle", "--clip", CLIP_DIR,
                      "-k", "3", "--threads", "1", NULL};
    CHECK(run_to_end(search, in_dir("search.out")) == 0);
    char *found = slurp(in_dir("search.out"), NULL);
    CHECKF(found && count_lines(found) >= 3, "search during the write printed: %s", found ? found : "(nothing)");
    free(found);
    int mid = committed(store);
    CHECKF(waitpid(w, &status, WNOHANG) == 0, "the writer finished before the readers did (nothing ran concurrently)");
    printf("readers done while the writer had %d of %d clips of the second collection stored\n", mid - base, 28 * COPIES);

    waitpid(w, &status, 0);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer failed (%d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    CHECKF(committed(store) == base + 28 * COPIES, "%d clips stored in the end, expected %d", committed(store),
           base + 28 * COPIES);
    check_store_whole(store, "after both collections");
    check_no_temporaries(g_dir, "concurrency");
    free_paths();
    return test_done("test_concurrency");
}
