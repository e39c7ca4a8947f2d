/*
 * cli_train.c — the option handling shared by train / eval / experiment / demo (cli_train.h).
 */
#include "cli/cli_train.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_train_args_default(cli_train_args *a) {
    memset(a, 0, sizeof *a);
    slava_train_opts_default(&a->train);
}

int cli_train_option(int c, const char *arg, cli_train_args *a) {
    slava_train_opts *o = &a->train;
    long v;
    double d;
    if (c >= OPT_CLIP && c <= OPT_ENCODER) a->given |= CLI_GIVEN(c);
    switch (c) {
    case OPT_CLIP: o->clip_dir = arg; return 1;
    case OPT_CLAP: o->clap_dir = arg; return 1;
    case OPT_EPOCHS:
        if ((v = cli_parse_long("--epochs", arg, 1, 100000)) < 0) return -1;
        o->epochs = (int)v;
        return 1;
    case OPT_BATCH:
        if (!strcmp(arg, "all")) { o->batch = 0; return 1; }
        if ((v = cli_parse_long("--batch", arg, 2, 1 << 20)) < 0) return -1;
        o->batch = (int)v;
        return 1;
    case OPT_KEEP:
        if (!strcmp(arg, "best")) o->keep_last = 0;
        else if (!strcmp(arg, "last")) o->keep_last = 1;
        else { cli_error("--keep: expected 'best' or 'last', got '%s'", arg); return -1; }
        return 1;
    case OPT_LOG: a->log_path = arg; return 1;
    case OPT_ENCODER: return cli_parse_encoder("--encoder", arg, a->enc) ? -1 : 1;
    case OPT_LR:
        d = cli_parse_double("--lr", arg);
        if (!(d > 0)) { if (!isnan(d)) cli_error("--lr: must be > 0"); return -1; }
        o->lr = d;
        return 1;
    case OPT_WD:
        d = cli_parse_double("--wd", arg);
        if (!(d >= 0)) { if (!isnan(d)) cli_error("--wd: must be >= 0"); return -1; }
        o->wd = d;
        return 1;
    case OPT_SEED: {
        char *end = NULL;
        errno = 0;
        unsigned long long s = arg ? strtoull(arg, &end, 10) : 0;
        if (!arg || !*arg || *end || errno || *arg == '-') { cli_error("--seed: expected a non-negative integer, got '%s'", arg ? arg : ""); return -1; }
        o->seed = s;
        return 1;
    }
    case OPT_TEMPERATURE:
        d = cli_parse_double("--temperature", arg);
        if (!(d > 0)) { if (!isnan(d)) cli_error("--temperature: must be > 0"); return -1; }
        o->temperature = d;
        return 1;
    case OPT_AUDIO_HEAD:
        if (!strcmp(arg, "linear")) o->audio_linear = 1;
        else if (!strcmp(arg, "mlp")) o->audio_linear = 0;
        else { cli_error("--audio-head: expected 'mlp' or 'linear', got '%s'", arg); return -1; }
        return 1;
    case OPT_THREADS:
        if ((v = cli_parse_long("--threads", arg, 1, 1024)) < 0) return -1;
        a->threads = (int)v;
        return 1;
    case OPT_QUIET: a->quiet = 1; return 1;
    default: return 0;
    }
}

int cli_parse_split(const char *s) {
    static const char *names[] = {"train", "val", "test"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, names[i])) return i;
    cli_error("--split: expected train, val or test, got '%s'", s);
    return -1;
}

int cli_parse_format(const char *s) {
    if (!strcmp(s, "md") || !strcmp(s, "markdown")) return SLAVA_FMT_MD;
    if (!strcmp(s, "csv")) return SLAVA_FMT_CSV;
    if (!strcmp(s, "json")) return SLAVA_FMT_JSON;
    cli_error("--format: expected md, csv or json, got '%s'", s);
    return -1;
}

int cli_load_store(slava_ctx *ctx, const char *path, unsigned mask, unsigned optional, const char *const *enc,
                   slava_dataset *ds) {
    return cli_load_store_part(ctx, path, mask, optional, enc, 0, ds);
}

int cli_load_store_part(slava_ctx *ctx, const char *path, unsigned mask, unsigned optional, const char *const *enc,
                        unsigned part_mask, slava_dataset *ds) {
    slava_store *s = NULL;
    memset(ds, 0, sizeof *ds);
    slava_status st = slava_store_open(ctx, path, SLAVA_STORE_READ, &s);
    if (!st && optional) {
        slava_store_info in;
        st = slava_store_get_info(ctx, s, &in);
        for (int k = 0; !st && k < SLAVA_SPLITS; k++)
            if ((optional >> k & 1) && in.clips[k] > 0) mask |= 1u << k;
        if (!st) slava_store_info_free(&in);
    }
    if (!st && part_mask && slava_dist_size() > 1)
        st = slava_store_load_part(ctx, s, mask, part_mask, slava_dist_rank(), slava_dist_size(), enc,
                                   SLAVA_LOAD_VISUAL_MEAN, ds);
    else if (!st)
        st = slava_store_load(ctx, s, mask, enc, ds);
    slava_store_close(s);
    st = slava_dist_agree(ctx, st);   /* the ranks of an MPI job go on together or stop together */
    if (st) {
        /* name the store when the message does not already; say how to choose an encoder */
        const char *m = slava_ctx_error(ctx);
        const char *hint = strstr(m, "choose one") ? " (with --encoder MODALITY=ID)" : "";
        if (strncmp(m, path, strlen(path))) cli_error("%s: %s%s", path, m, hint);
        else cli_error("%s%s", m, hint);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_parse_seed_list(const char *opt, const char *s, uint64_t *out, int cap) {
    int n = 0, item = 0;
    const char *p = s;
    if (!*s) { cli_error("%s: empty list", opt); return -1; }
    for (;;) {
        item++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) { cli_error("%s: item %d of '%s' is empty", opt, item, s); return -1; }
        char buf[32];
        char *stop = NULL;
        errno = 0;
        unsigned long long v = 0;
        if (len < sizeof buf) {
            memcpy(buf, p, len);
            buf[len] = 0;
            v = strtoull(buf, &stop, 10);
        }
        if (len >= sizeof buf || *buf < '0' || *buf > '9' || !stop || *stop || errno) {
            cli_error("%s: item %d of '%s' ('%.*s') is not a non-negative integer", opt, item, s, (int)len, p);
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (out[i] == v) { cli_error("%s: seed %llu is given twice in '%s'", opt, v, s); return -1; }
        if (n >= cap) { cli_error("%s: at most %d seeds, got more in '%s'", opt, cap, s); return -1; }
        out[n++] = v;
        if (!end) break;
        p = end + 1;
    }
    return n;
}

void cli_print_recipes(FILE *f) {
    int n;
    const char *const *r = slava_recipes(&n);
    for (int i = 0; i < n; i++) fprintf(f, " %s", r[i]);
}

int cli_parse_recipes(const char *cmd, char *buf, const char **out, int cap) {
    int n, k = 0;
    const char *const *known = slava_recipes(&n);
    if (!strcmp(buf, "all")) {
        for (int i = 0; i < n && i < cap; i++) out[k++] = known[i];
        return k;
    }
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int ok = 0;
        for (int i = 0; i < n; i++) ok |= !strcmp(known[i], t);
        if (!ok) { cli_error("%s: unknown recipe '%s' (slava %s --help lists them)", cmd, t, cmd); return -1; }
        if (k >= cap) { cli_error("%s: too many recipes", cmd); return -1; }
        out[k++] = t;
    }
    if (!k) { cli_error("--recipes: empty list"); return -1; }
    return k;
}

void cli_table2_args_default(cli_table2_args *t) {
    memset(t, 0, sizeof *t);
    snprintf(t->recipe_list, sizeof t->recipe_list, "all");
    t->seeds[1] = 1; t->seeds[2] = 2;
    t->n_seeds = 3;
    t->split = SLAVA_SPLIT_TEST;
    t->fmt = SLAVA_FMT_MD;
}

int cli_table2_option(int c, const char *arg, cli_table2_args *t) {
    switch (c) {
    case OPT_RECIPES: snprintf(t->recipe_list, sizeof t->recipe_list, "%s", arg); return 1;
    case OPT_SEEDS: return (t->n_seeds = cli_parse_seed_list("--seeds", arg, t->seeds, 64)) < 0 ? -1 : 1;
    case OPT_SPLIT: return (t->split = cli_parse_split(arg)) < 0 ? -1 : 1;
    case OPT_FORMAT: return (t->fmt = cli_parse_format(arg)) < 0 ? -1 : 1;
    case OPT_PLOT: t->plot = arg; return 1;
    default: return 0;
    }
}

int cli_table2_args_finish(const char *cmd, cli_table2_args *t) {
    t->n_recipes = cli_parse_recipes(cmd, t->recipe_list, t->recipes, 32);
    return t->n_recipes < 0 ? -1 : 0;
}

int cli_train_getopt(int argc, char **argv, const struct option *longopts, cli_train_args *a, cli_table2_args *t) {
    int c, r;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        r = cli_train_option(c, optarg, a);
        if (!r && t) r = cli_table2_option(c, optarg, t);
        if (r < 0) return CLI_OPT_BAD;
        if (!r) return c;
    }
    return -1;
}

int cli_table2_print(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, const char *const *recipes,
                     int n_recipes, const uint64_t *seeds, int n_seeds, int split, int fmt, const char *preface,
                     const char *on_stop, const char *plot) {
    int rc = CLI_OK;
    slava_eval_report *reps = calloc((size_t)n_recipes * n_seeds, sizeof *reps), untrained;
    char *text = NULL;
    double t0 = slava_now();
    if (!reps) { cli_error("out of memory"); rc = CLI_FAIL; goto done; }
    slava_status st = slava_experiment(ctx, ds, o, recipes, n_recipes, seeds, n_seeds, split, reps, &untrained);
    if (st) {
        rc = cli_fail_or_stop(ctx, st, "%s", on_stop);
        goto done;
    }
    double secs = slava_now() - t0;
    text = slava_table2_format(recipes, n_recipes, n_seeds, reps, &untrained, (slava_format)fmt);
    if (!text) { cli_error("out of memory"); rc = CLI_FAIL; goto done; }
    if (fmt == SLAVA_FMT_MD) {
        int n[SLAVA_SPLITS] = {0};
        char batch[24] = "all";
        if (o->batch > 0) snprintf(batch, sizeof batch, "%d", o->batch);
        for (int i = 0; i < ds->n; i++) n[ds->clips[i].split]++;
        if (preface) fputs(preface, stdout);
        char over[48] = "one seed";
        if (n_seeds > 1) snprintf(over, sizeof over, "mean ± std over %d seeds", n_seeds);
        printf("Table II: R@10 (%%) on the %s split (%d clips, %d without audio), %s; "
               "trained on %d train clips, %s %d val clips; epochs %d per stage, batch %s, lr %g, "
               "wd %g, %s logit scales; %d threads, %.1f s\n\n",
               slava_split_name(split), untrained.n_clips, untrained.n_without_audio, over,
               n[SLAVA_SPLIT_TRAIN], o->keep_last ? "last step kept," : "epoch chosen on", n[SLAVA_SPLIT_VAL], o->epochs,
               batch, o->lr, o->wd,
               o->temperature > 0 ? "fixed" : "learnable", slava_get_threads(), secs);
    }
    fputs(text, stdout);
    fflush(stdout);
    if (plot && slava_plot_table2(ctx, recipes, n_recipes, n_seeds, reps, &untrained, plot)) rc = cli_fail(ctx);
done:
    free(text);
    free(reps);
    return rc;
}

int cli_train_refuse(const char *cmd, const cli_train_args *a, unsigned mask, const char *why) {
    static const char *names[] = {"--clip", "--clap", "--epochs", "--batch", "--lr", "--wd", "--seed", "--temperature",
                                  "--audio-head", "--threads", "--quiet", "--keep", "--log", "--encoder"};
    for (int k = 0; k <= OPT_ENCODER - OPT_CLIP; k++)
        if (mask & a->given & (1u << k)) {
            cli_error("%s: %s %s", cmd, names[k], why);
            return -1;
        }
    return 0;
}

/* ------------------------------------------------------------------ the training log */

static void json_pairs(cJSON *o, const char *key, const double v[3]) {
    cJSON *p = cJSON_AddObjectToObject(o, key);
    static const char *pn[3] = {"av", "at", "vt"};
    for (int k = 0; k < 3; k++) {
        if (isfinite(v[k])) cJSON_AddNumberToObject(p, pn[k], v[k]);
        else cJSON_AddNullToObject(p, pn[k]);
    }
}

static void json_num(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* One JSON line per record (fields: docs/spine.md). */
static int log_record(void *user, const slava_train_record *r) {
    cli_train_args *a = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", r->kind == SLAVA_TRAIN_STEP ? "step" : "epoch");
    cJSON_AddStringToObject(o, "recipe", r->recipe);
    cJSON_AddNumberToObject(o, "seed", (double)r->seed);
    cJSON_AddNumberToObject(o, "stage", r->stage);
    cJSON_AddNumberToObject(o, "stages", r->stages);
    cJSON_AddNumberToObject(o, "epoch", r->epoch);
    cJSON_AddNumberToObject(o, "step", r->step);
    if (r->kind == SLAVA_TRAIN_STEP) {
        cJSON_AddNumberToObject(o, "batch", r->batch);
        if (r->caption_kind >= 0) cJSON_AddStringToObject(o, "captions", slava_store_kind_name(r->caption_kind));
        else cJSON_AddNullToObject(o, "captions");
        json_pairs(o, "loss", r->loss);
        json_num(o, "loss_total", r->loss_total);
        json_pairs(o, "logit_scale", r->logit_scale);
        cJSON_AddNumberToObject(o, "lr", r->lr);
    } else {
        json_num(o, "loss_mean", r->loss_mean);
        json_num(o, "val_mean_r10", r->val_mean_r10);
        cJSON *t = cJSON_AddArrayToObject(o, "val_r10");
        for (int k = 0; k < 7; k++) cJSON_AddItemToArray(t, isfinite(r->val_r10[k]) ? cJSON_CreateNumber(r->val_r10[k]) : cJSON_CreateNull());
        cJSON_AddBoolToObject(o, "kept", r->kept);
    }
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int bad = !line || fputs(line, a->log_file) < 0 || fputc('\n', a->log_file) < 0;
    cJSON_free(line);
    if (bad) cli_error("%s: cannot write the training log", a->log_path);
    return bad;
}

int cli_train_log_open(cli_train_args *a) {
    if (!a->log_path) return 0;
    /* in an MPI job each rank trains its own runs: rank R > 0 writes FILE.rank-R beside FILE */
    char path[4200];
    if (slava_dist_size() > 1 && slava_dist_rank() > 0) snprintf(path, sizeof path, "%s.rank-%d", a->log_path, slava_dist_rank());
    else snprintf(path, sizeof path, "%s", a->log_path);
    a->log_file = fopen(path, "w");
    if (!a->log_file) { cli_error("%s: cannot write: %s", path, strerror(errno)); return -1; }
    a->train.log = log_record;
    a->train.log_user = a;
    return 0;
}

int cli_train_log_close(cli_train_args *a) {
    if (!a->log_file) return 0;
    int bad = fclose(a->log_file) != 0;
    a->log_file = NULL;
    a->train.log = NULL;
    if (bad) cli_error("%s: cannot write the training log", a->log_path);
    return bad ? -1 : 0;
}

int cli_train_check_outputs(slava_ctx *ctx, const cli_train_args *a, const char *out, const char *const *inputs, int n) {
    const char *in[16];
    int k = 0;
    for (int i = 0; i < n && k < 14; i++) in[k++] = inputs[i];
    if (out && slava_output_check(ctx, out, SLAVA_FILE_HEADS, in, k)) return cli_fail(ctx);
    if (out) in[k++] = out;
    if (a->log_path && slava_output_check(ctx, a->log_path, SLAVA_FILE_LOG, in, k)) return cli_fail(ctx);
    return CLI_OK;
}

int cli_check_svg(slava_ctx *ctx, const char *svg, const cli_train_args *a, const char *const *inputs, int n) {
    if (!svg) return CLI_OK;
    const char *in[16];
    int k = 0;
    for (int i = 0; i < n && k < 15; i++) in[k++] = inputs[i];
    in[k++] = a->log_path;
    if (slava_output_check(ctx, svg, SLAVA_FILE_SVG, in, k)) return cli_fail(ctx);
    return CLI_OK;
}
