/*
 * test_plot.c — the pictures (issue 10): `slava plot LOG.jsonl... --out curves.svg` and
 * `slava experiment --plot table2.svg` write SVG files (PLplot) whose texts carry the titles,
 * axis labels with units and the legend (recipes, seeds; untrained heads); the output check
 * refuses a log as --out and a file of another kind; a file that is not a training log is an
 * error naming its line; no temporary file is left behind.
 */
#include "cli_testutil.h"
#include <dirent.h>

/* Every <text> of an SVG, tags removed and &#xHH; references decoded, joined by '|'. */
static char *svg_texts(const char *path) {
    char *s = slurp_file(path, NULL);
    if (!s) return NULL;
    size_t cap = strlen(s) + 2, k = 0;
    char *out = malloc(cap);
    for (char *p = strstr(s, "<text"); p; p = strstr(p, "<text")) {
        char *end = strstr(p, "</text>");
        if (!end) break;
        char *q = strchr(p, '>');
        for (q = q ? q + 1 : end; q < end; q++) {
            if (*q == '<') { while (q < end && *q != '>') q++; continue; }
            if (!strncmp(q, "&#x", 3)) {
                unsigned cp = (unsigned)strtoul(q + 3, &q, 16);   /* q at ';' */
                if (cp < 0x80) out[k++] = (char)cp;
                else if (cp < 0x800) { out[k++] = (char)(0xC0 | cp >> 6); out[k++] = (char)(0x80 | (cp & 0x3F)); }
                else { out[k++] = (char)(0xE0 | cp >> 12); out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[k++] = (char)(0x80 | (cp & 0x3F)); }
                continue;
            }
            if (*q != '\n' && *q != ' ' ) out[k++] = *q;
            else if (k && out[k - 1] != ' ' && *q == ' ') out[k++] = ' ';
        }
        out[k++] = '|';
        p = end;
    }
    out[k] = 0;
    free(s);
    return out;
}

static void has(const char *texts, const char *what, const char *file) {
    CHECKF(texts && strstr(texts, what), "%s: no text '%s' in: %s", file, what, texts ? texts : "(unreadable)");
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    char cmd[4096], *out = NULL, *err = NULL;
    const char *store = tmp_path("plot_store.sqlite"), *heads = tmp_path("plot_heads.safetensors");
    const char *tlog = tmp_path("plot_train.jsonl"), *elog = tmp_path("plot_exp.jsonl");
    const char *curves = tmp_path("plot_curves.svg"), *curves2 = tmp_path("plot_curves2.svg"), *bars = tmp_path("plot_t2.svg");
    const char *notes = tmp_path("plot_notes.txt");
    CHECK_OK(ctx, make_store(ctx, store, 7, 64));
    unlink(curves); unlink(curves2); unlink(bars);

    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --out '%s' --epochs 3 --batch 32 --lr 1e-3 --threads 1 --quiet "
             "--log '%s'", store, heads, tlog);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " plot '%s' --out '%s'", tlog, curves);
    CHECK(run_cmd(cmd, &out, &err) == 0 && file_size(curves) > 0);
    free(out); free(err);
    char *t = svg_texts(curves);
    has(t, "Training loss", curves);
    has(t, "loss (nats, epoch mean)", curves);
    has(t, "validation mean R@10 (%)", curves);
    has(t, "epoch (0: before the first step)", curves);
    has(t, "slava-av3, seed 0", curves);
    free(t);

    /* Table II bars, and the curves of several runs (two recipes, two seeds, one log) */
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --recipes wav2clip-frozen,av-only --seeds 0,1 --epochs 2 "
             "--batch 32 --lr 1e-3 --threads 1 --quiet --log '%s' --plot '%s'", store, elog, bars);
    CHECK(run_cmd(cmd, &out, &err) == 0 && file_size(bars) > 0);
    free(out); free(err);
    t = svg_texts(bars);
    has(t, "Table II: R@10 (%) on the test split, mean ± sample std over 2 seeds", bars);
    has(t, "R@10 (%)", bars);
    has(t, "V<-Vcap", bars);
    has(t, "V<-A", bars);
    has(t, "mean", bars);
    has(t, "untrained heads", bars);
    has(t, "wav2clip-frozen", bars);
    has(t, "av-only", bars);
    has(t, "error bars: ± 1 sample std", bars);
    has(t, "no bar: a task whose heads", bars);
    free(t);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " plot '%s' '%s' --out '%s'", elog, tlog, curves2);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    t = svg_texts(curves2);
    has(t, "wav2clip-frozen", curves2);
    has(t, "av-only", curves2);
    has(t, "seed 0", curves2);
    has(t, "seed 1", curves2);
    has(t, "a second stage continues after the first", curves2);   /* wav2clip has two */
    free(t);

    /* errors: one line, nothing written */
    long n0 = file_size(tlog);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " plot '%s' --out '%s'", tlog, tlog);
    expect_err(cmd, 1, "the same file as the input");
    CHECK(file_size(tlog) == n0);
    FILE *f = fopen(notes, "w");
    fputs("not a picture\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " plot '%s' --out '%s'", tlog, notes);
    expect_err(cmd, 1, "exists and is not an SVG file");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " plot '%s' --out '%s'", notes, curves);
    expect_err(cmd, 1, "line 1 is not a training log record");
    expect_err(SLAVA_BIN " plot --out x.svg", 2, "no training logs");
    snprintf(cmd, sizeof cmd, SLAVA_BIN " experiment --store '%s' --recipes av-only --seeds 0 --epochs 1 --quiet --plot '%s'",
             store, store);
    expect_err(cmd, 1, "the same file as the input");
    /* no temporary file left beside the outputs */
    DIR *d = opendir(SLAVA_TMP);
    int tmps = 0;
    for (struct dirent *e; d && (e = readdir(d));) tmps += !strncmp(e->d_name, "plot_", 5) && strstr(e->d_name, ".tmp");
    if (d) closedir(d);
    CHECK(tmps == 0);

    rm_store(store);
    unlink(heads); unlink(tlog); unlink(elog); unlink(curves); unlink(curves2); unlink(bars); unlink(notes);
    slava_ctx_free(ctx);
    return test_done("plot");
}
