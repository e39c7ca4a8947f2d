/*
 * test_search_cli.c — `slava index` and `slava search` end to end on real media with the tiny
 * random-weight fixture encoders: `slava synth` clips → `slava encode` → `slava index`, then
 *   - self-retrieval: each clip's own video (--video, --in visual) and own sound track (--audio,
 *     --in audio) returns that clip first with score ≈ 1;
 *   - an image of the frame at t seconds (written by ffmpeg) returns that clip with a moment
 *     covering t;
 *   - text queries with a negative term, k larger than the collection, the JSON document's fields;
 *   - re-running `slava index` on the unchanged store says nothing was added / removed;
 *   - an encoder the index was not built with is an error naming both identities;
 *   - a corrupt index and bad usage give one-line errors and exit codes 1 / 2.
 */
#include "test.h"
#include <cjson/cJSON.h>

#define CLIP_DIR SLAVA_FIXTURES "/clip-model"
#define CLAP_DIR SLAVA_FIXTURES "/clap-model"

static char g_dir[512], g_index[600];

/* Run `slava search INDEX ARGS --format json`, parse the document (NULL on failure). */
static cJSON *search_json(const char *args) {
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s search '%s' %s --format json", SLAVA_BIN, g_index, args);
    int rc = run_cmd(cmd, &out, &err);
    cJSON *j = rc == 0 ? cJSON_Parse(out) : NULL;
    if (!j) fprintf(stderr, "search %s: rc %d: %s%s\n", args, rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
    return j;
}

static const cJSON *result(const cJSON *doc, int i) { return cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "results"), i); }
static const char *str_of(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItem(o, k)); }
static double num_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/search_cli", SLAVA_TMP);
    snprintf(g_index, sizeof g_index, "%s/clips.index", g_dir);
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "(%s synth --out '%s/data' --train 6 --val 0 --test 0 --seconds 4-12 --seed 5 --no-audio-share 0.3 --quiet "
             "--threads 2 && %s encode --data '%s/data' --clip %s --clap %s --store '%s/s.sqlite' --quiet --threads 2)",
             SLAVA_BIN, g_dir, SLAVA_BIN, g_dir, CLIP_DIR, CLAP_DIR, g_dir);
    CHECK(run_cmd(cmd, NULL, &err) == 0);
    free(err);
    snprintf(cmd, sizeof cmd, "%s index --store '%s/s.sqlite' --out '%s' --clip %s --clap %s --quiet", SLAVA_BIN, g_dir,
             g_index, CLIP_DIR, CLAP_DIR);
    CHECK(run_cmd(cmd, &out, &err) == 0);
    CHECKF(out && strstr(out, "6 clips (6 added, 0 removed"), "index: %s %s", out ? out : "", err ? err : "");
    free(out); free(err);

    /* the clips, their media and audio flags, from the index itself */
    slava_ctx *ctx = slava_ctx_new();
    slava_index *ix = NULL;
    CHECK_OK(ctx, slava_index_open(ctx, g_index, &ix));
    int n = 0, n_audio = 0;
    if (ix) {
        slava_index_info info;
        slava_index_get_info(ix, &info);
        n = info.n_clips;
        n_audio = info.n_audio_clips;
        CHECK(n == 6 && n_audio > 0 && n_audio < 6 && info.clip_dir && info.clap_dir && !info.heads);
    }
    int video_bad = 0, audio_bad = 0;
    for (int i = 0; ix && i < n; i++) {
        slava_index_clip c;
        slava_index_get_clip(ix, i, &c);
        CHECK(c.source && c.duration > 3 && c.n_frames >= 4 && (c.n_captions[SLAVA_CAP_GPT] == 3));
        char args[1200];
        snprintf(args, sizeof args, "--video '%s' --in visual -k 2", c.source);
        cJSON *d = search_json(args);
        if (!d || strcmp(str_of(result(d, 0), "clip"), c.id) || fabs(num_of(result(d, 0), "score") - 1) > 1e-4) video_bad++;
        cJSON_Delete(d);
        if (!c.has_audio) continue;
        snprintf(args, sizeof args, "--audio '%s' --in audio -k 2", c.source);
        d = search_json(args);
        if (!d || strcmp(str_of(result(d, 0), "clip"), c.id) || fabs(num_of(result(d, 0), "score") - 1) > 1e-4 ||
            strcmp(str_of(result(d, 0), "modality"), "audio"))
            audio_bad++;
        cJSON_Delete(d);
    }
    CHECKF(!video_bad && !audio_bad, "self-retrieval misses: video %d, audio %d", video_bad, audio_bad);

    /* an image of the frame at t = 2.5 s of a clip */
    if (ix) {
        slava_index_clip c;
        slava_index_get_clip(ix, 1, &c);
        snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -ss 2.5 -i '%s' -frames:v 1 '%s/frame.png'", c.source, g_dir);
        CHECK(system(cmd) == 0);
        char args[1200];
        snprintf(args, sizeof args, "--image '%s/frame.png' --in visual -k 3", g_dir);
        cJSON *d = search_json(args);
        const cJSON *r = result(d, 0);
        CHECKF(r && !strcmp(str_of(r, "clip"), c.id) && num_of(r, "t_start") <= 2.5 && 2.5 < num_of(r, "t_end") &&
                   !strcmp(str_of(r, "modality"), "visual"),
               "image of %s at 2.5 s: got %s %g-%g", c.id, r ? str_of(r, "clip") : "-", r ? num_of(r, "t_start") : -1,
               r ? num_of(r, "t_end") : -1);
        cJSON_Delete(d);
    }

    /* text with a negative term; k beyond the collection; the document */
    cJSON *d = search_json("--text 'a red circle moves' --text -noise -k 50");
    CHECK(d && cJSON_GetArraySize(cJSON_GetObjectItem(d, "results")) == 6);
    const cJSON *q = cJSON_GetObjectItem(d, "query");
    const cJSON *t1 = cJSON_GetArrayItem(cJSON_GetObjectItem(q, "terms"), 1);
    CHECK(t1 && !strcmp(str_of(t1, "kind"), "text") && !strcmp(str_of(t1, "value"), "noise") && num_of(t1, "weight") == -1);
    CHECK(q && !strcmp(str_of(q, "in"), "both") && num_of(q, "k") == 50);
    int fields = 1;
    for (int i = 0; d && i < 6; i++) {
        const cJSON *r = result(d, i);
        fields &= str_of(r, "clip") && str_of(r, "source") && !isnan(num_of(r, "score")) && str_of(r, "modality") &&
                  num_of(r, "t_start") >= 0 && num_of(r, "t_end") >= num_of(r, "t_start");
        if (i) fields &= num_of(result(d, i - 1), "score") >= num_of(r, "score");
    }
    CHECK(fields);
    cJSON_Delete(d);
    snprintf(cmd, sizeof cmd, "%s search '%s' --like \"$(%s search '%s' --text x -k 1 --format json | "
             "sed 's/.*\"clip\":\"\\([^\"]*\\)\".*/\\1/')\" -k 2", SLAVA_BIN, g_index, SLAVA_BIN, g_index);
    CHECK(run_cmd(cmd, &out, NULL) == 0 && out && !strncmp(out, "| # | score | clip |", 19) && count_lines(out) == 4);
    free(out);

    /* re-index, nothing changed */
    snprintf(cmd, sizeof cmd, "%s index --store '%s/s.sqlite' --out '%s' --clip %s --clap %s --quiet", SLAVA_BIN, g_dir,
             g_index, CLIP_DIR, CLAP_DIR);
    CHECK(run_cmd(cmd, &out, NULL) == 0 && out && strstr(out, "(0 added, 0 removed, 0 updated, 6 unchanged)") &&
          strstr(out, " 0 feature rows projected"));
    free(out);

    /* encoders the index was not built with */
    snprintf(cmd, sizeof cmd, "%s init-random --like clip --config %s/config.json --seed 9 --out '%s/other-clip' && "
             "cp %s/vocab.json %s/merges.txt '%s/other-clip/' 2>/dev/null; true", SLAVA_BIN, CLIP_DIR, g_dir, CLIP_DIR,
             CLIP_DIR, g_dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s search '%s' --clip '%s/other-clip' --text 'a dog'", SLAVA_BIN, g_index, g_dir);
    CHECK(run_cmd(cmd, NULL, &err) == 1);
    char vid[SLAVA_ENCODER_ID_LEN] = "";
    if (ix) {
        slava_index_info info;
        slava_index_get_info(ix, &info);
        snprintf(vid, sizeof vid, "%s", info.encoder_id[SLAVA_MOD_TEXT]);
    }
    CHECKF(err && vid[0] && strstr(err, vid) && count_lines(err) == 1 && strstr(err, "text encoder"), "stderr: %s", err ? err : "");
    free(err);
    snprintf(cmd, sizeof cmd, "%s search '%s' --clip '%s/other-clip' --image '%s/frame.png'", SLAVA_BIN, g_index, g_dir, g_dir);
    CHECK(run_cmd(cmd, NULL, &err) == 1 && err && strstr(err, "visual encoder"));
    free(err);

    /* a corrupt index, usage errors */
    snprintf(cmd, sizeof cmd, "head -c 3000 '%s' > '%s/bad.index' && %s search '%s/bad.index' --text x", g_index, g_dir,
             SLAVA_BIN, g_dir);
    CHECK(run_cmd(cmd, NULL, &err) == 1 && err && strstr(err, "bad.index") && count_lines(err) == 1);
    free(err);
    const char *usage[] = {"search", "search INDEX", "search INDEX --text x --in sideways", "search INDEX --text x -k 0",
                           "search INDEX --weight 2 --text x", "index --store s.sqlite", "index --out x --store s --f32"};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s %s", SLAVA_BIN, usage[i]);
        CHECKF(run_cmd(cmd, NULL, &err) == 2 && err && count_lines(err) == 1, "'%s': %s", usage[i], err ? err : "");
        free(err);
    }
    snprintf(cmd, sizeof cmd, "(%s search --help && %s index --help)", SLAVA_BIN, SLAVA_BIN);
    CHECK(run_cmd(cmd, &out, NULL) == 0 && out && strstr(out, "usage: slava search") && strstr(out, "usage: slava index"));
    free(out);
    slava_index_free(ix);
    slava_ctx_free(ctx);
    return test_done("test_search_cli");
}
