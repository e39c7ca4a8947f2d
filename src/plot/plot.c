/*
 * plot.c — the two pictures (docs/spine.md "Pictures"), drawn with PLplot's SVG driver:
 * training curves from training logs (mean loss and validation mean R@10 per epoch, one line
 * per run) and Table II as grouped bars with the spread over seeds as error bars.
 *
 * PLplot keeps its state in "streams": each picture is drawn on a stream of its own (plmkstrm)
 * into a temporary file, then written in place with sv_write_file (atomic), so a failure never
 * leaves half a picture.
 * PLplot is not thread-safe: draw one picture at a time.
 */
#include "base/base.h"
#include "eval/eval.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <unistd.h>

/* A palette that stays apart in print and for common colour blindness (Okabe–Ito, brown in place
 * of its yellow, which does not read on white; grey last, for the untrained heads). */
static const unsigned char PALETTE[][3] = {
    {0, 114, 178}, {230, 159, 0}, {0, 158, 115}, {213, 94, 0}, {204, 121, 167}, {86, 180, 233}, {130, 75, 25},
    {0, 0, 0}, {120, 120, 120}};
#define N_PALETTE ((int)SV_ARRAY_LEN(PALETTE))
#define COL_BG 0
#define COL_FG 1     /* axes and text */
#define COL_GRID 2
#define COL_DATA 3   /* first data colour: PALETTE[0] */

/* Start a picture on a fresh PLplot stream writing SVG to tmp (w x h points). */
static void begin(const char *tmp, int w, int h) {
    PLINT strm;
    plmkstrm(&strm);
    plsdev("svg");
    plsfnam(tmp);
    plspage(0, 0, w, h, 0, 0);
    plscolbg(255, 255, 255);
    plinit();
    plscol0(COL_FG, 0, 0, 0);
    plscol0(COL_GRID, 215, 215, 215);
    for (int i = 0; i < N_PALETTE; i++) plscol0(COL_DATA + i, PALETTE[i][0], PALETTE[i][1], PALETTE[i][2]);
    plfontld(1);
}

/* Finish the picture and write it in place (atomically, as every file slava writes). */
static slava_status finish(slava_ctx *ctx, const char *tmp, const char *out) {
    plend1();
    char *svg = NULL;
    size_t len = 0;
    slava_status st = sv_read_file(ctx, tmp, &svg, &len);
    unlink(tmp);
    if (!st && len == 0) st = sv_err(ctx, SLAVA_E_IO, "%s: the plotting library wrote nothing", out);
    if (!st) st = sv_write_file(ctx, out, svg, len);
    free(svg);
    return st;
}

/* Check the output path and make the temporary name beside it (PLplot exits the process when it
 * cannot open its file, so the file is opened here first). */
static slava_status prepare(slava_ctx *ctx, const char *out, const char *const *inputs, int n, char *tmp, size_t cap) {
    SV_TRY(slava_output_check(ctx, out, SLAVA_FILE_SVG, inputs, n));
    snprintf(tmp, cap, "%s.tmp%d", out, (int)getpid() % 100000);
    FILE *f = fopen(tmp, "wb");
    if (!f) return sv_err(ctx, SLAVA_E_IO, "%s: cannot write: %s", out, strerror(errno));
    fclose(f);
    return SLAVA_OK;
}

/* A round upper limit for an axis holding values up to v. */
static double nice_max(double v) {
    if (!(v > 0)) return 1;
    double p = pow(10, floor(log10(v))), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

/* ------------------------------------------------------------------ training curves */

typedef struct {
    char recipe[96];
    double seed;
    int file;                      /* which log */
    int colour, style;             /* colour: by recipe; line style: by seed */
    int n;                         /* epoch records */
    double *x, *loss, *val;        /* [n]; NaN where absent */
    int *stage;                    /* [n] lines are not drawn across a stage boundary */
} run_series;

typedef struct {
    run_series *r;
    int n, cap;
    char recipes[16][96];          /* distinct recipes (colours), distinct seeds (line styles) */
    int n_recipes;
    double seeds[16];
    int n_seeds;
} run_list;

static void runs_free(run_list *l) {
    for (int i = 0; i < l->n; i++) { free(l->r[i].x); free(l->r[i].loss); free(l->r[i].val); free(l->r[i].stage); }
    free(l->r);
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The run of (recipe, seed, file), added when new. NULL when out of memory. */
static run_series *run_of(run_list *l, const char *recipe, double seed, int file) {
    for (int k = 0; k < l->n; k++)
        if (!strcmp(l->r[k].recipe, recipe) && l->r[k].seed == seed && l->r[k].file == file) return &l->r[k];
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 8;
        run_series *nr = realloc(l->r, sizeof *nr * (size_t)nc);
        if (!nr) return NULL;
        l->r = nr;
        l->cap = nc;
    }
    run_series *r = &l->r[l->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->recipe, sizeof r->recipe, "%s", recipe);
    r->seed = seed;
    r->file = file;
    int c = 0, t = 0;
    while (c < l->n_recipes && strcmp(l->recipes[c], recipe)) c++;
    if (c == l->n_recipes && c < 16) snprintf(l->recipes[l->n_recipes++], sizeof l->recipes[0], "%s", recipe);
    while (t < l->n_seeds && l->seeds[t] != seed) t++;
    if (t == l->n_seeds && t < 16) l->seeds[l->n_seeds++] = seed;
    r->colour = c;
    r->style = t;
    return r;
}

/* The epoch records of one log, per (recipe, seed) in order of appearance. */
static slava_status read_log(slava_ctx *ctx, const char *path, int file_no, run_list *l) {
    char *buf = NULL;
    size_t len = 0;
    SV_TRY(sv_read_file(ctx, path, &buf, &len));
    int lines = 0, used = 0;
    slava_status st = SLAVA_OK;
    for (char *p = buf, *nl; !st && p && *p; p = nl) {
        nl = strchr(p, '\n');
        if (nl) *nl++ = 0;
        lines++;
        if (!*p) continue;
        cJSON *o = cJSON_Parse(p);
        const cJSON *type = cJSON_GetObjectItem(o, "type"), *recipe = cJSON_GetObjectItem(o, "recipe");
        if (!o || !cJSON_IsString(type) || !cJSON_IsString(recipe)) {
            st = sv_err(ctx, SLAVA_E_FORMAT, "%s: line %d is not a training log record (slava train --log)", path, lines);
            cJSON_Delete(o);
            break;
        }
        if (strcmp(type->valuestring, "epoch")) { cJSON_Delete(o); continue; }
        run_series *r = run_of(l, recipe->valuestring, num(o, "seed"), file_no);
        double *nx = r ? realloc(r->x, sizeof(double) * (r->n + 1)) : NULL;
        if (nx) r->x = nx;
        double *nlo = nx ? realloc(r->loss, sizeof(double) * (r->n + 1)) : NULL;
        if (nlo) r->loss = nlo;
        double *nv = nlo ? realloc(r->val, sizeof(double) * (r->n + 1)) : NULL;
        if (nv) r->val = nv;
        int *ns = nv ? realloc(r->stage, sizeof(int) * (r->n + 1)) : NULL;
        if (ns) r->stage = ns;
        if (!ns) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); cJSON_Delete(o); break; }
        int stage = (int)num(o, "stage"), epoch = (int)num(o, "epoch");
        double offset = 0;   /* stage 2 continues after the last epoch of stage 1 */
        for (int i = 0; i < r->n; i++)
            if (r->stage[i] < stage && r->x[i] > offset) offset = r->x[i];
        r->x[r->n] = epoch + offset;
        r->stage[r->n] = stage;
        r->loss[r->n] = num(o, "loss_mean");
        double v = num(o, "val_mean_r10");
        r->val[r->n] = isfinite(v) ? 100 * v : NAN;
        r->n++;
        used++;
        cJSON_Delete(o);
    }
    free(buf);
    if (!st && !used) st = sv_err(ctx, SLAVA_E_FORMAT, "%s: no epoch records (a log written by slava train --log?)", path);
    return st;
}

/* One panel: y of every run against x, lines with dots; no line across gaps or stages. */
static void panel(const run_list *l, int which, double xmax, double ymax, const char *xlabel, const char *ylabel,
                  const char *title) {
    plwind(0, xmax, 0, ymax);
    plcol0(COL_GRID);
    plwidth(0.5);
    plbox("g", 0, 0, "g", 0, 0);
    plwidth(1);
    plcol0(COL_FG);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(xlabel, ylabel, title);
    for (int k = 0; k < l->n; k++) {
        const run_series *r = &l->r[k];
        const double *y = which ? r->val : r->loss;
        plcol0(COL_DATA + r->colour % N_PALETTE);
        pllsty(1 + r->style % 8);
        plwidth(2);
        for (int i = 0; i < r->n;) {
            while (i < r->n && !isfinite(y[i])) i++;
            int j = i;
            while (j < r->n && isfinite(y[j]) && r->stage[j] == r->stage[i]) j++;
            if (j - i >= 2) plline(j - i, r->x + i, y + i);
            if (j > i) plstring(j - i, r->x + i, y + i, "•");
            i = j;
        }
        plwidth(1);
        pllsty(1);
    }
}

slava_status slava_plot_training(slava_ctx *ctx, const char *const *logs, int n_logs, const char *out_svg) {
    if (n_logs < 1) return sv_err(ctx, SLAVA_E_ARG, "plot: no training logs given");
    char tmp[4200];
    SV_TRY(prepare(ctx, out_svg, logs, n_logs, tmp, sizeof tmp));
    run_list l;
    memset(&l, 0, sizeof l);
    slava_status st = SLAVA_OK;
    for (int i = 0; !st && i < n_logs; i++) st = read_log(ctx, logs[i], i, &l);
    if (st) { runs_free(&l); unlink(tmp); return st; }
    double xmax = 1, lmax = 0, vmax = 0;
    int have_val = 0, two_stage = 0;
    for (int k = 0; k < l.n; k++)
        for (int i = 0; i < l.r[k].n; i++) {
            xmax = fmax(xmax, l.r[k].x[i]);
            two_stage |= l.r[k].stage[i] > 1;
            if (isfinite(l.r[k].loss[i])) lmax = fmax(lmax, l.r[k].loss[i]);
            if (isfinite(l.r[k].val[i])) { vmax = fmax(vmax, l.r[k].val[i]); have_val = 1; }
        }
    begin(tmp, 1200, 520);
    pladv(0);
    plschr(0, 0.8);
    const char *xl = two_stage ? "epoch (a second stage continues after the first)" : "epoch";
    plvpor(0.065, 0.37, 0.15, 0.90);
    panel(&l, 0, xmax, nice_max(lmax * 1.05), xl, "loss (nats, epoch mean)", "Training loss");
    plvpor(0.45, 0.755, 0.15, 0.90);
    panel(&l, 1, xmax, have_val ? fmin(100, nice_max(vmax * 1.05)) : 100, two_stage ? xl : "epoch (0: before the first step)",
          "validation mean R@10 (%)", have_val ? "Validation" : "Validation (none in these logs)");
    /* legend on the right: colour = recipe, line style = seed (and, with several logs, the file) */
    int n = l.n_recipes + (l.n_seeds > 1 ? l.n_seeds : 0);
    PLINT opt[32], tcol[32], lcol[32], lsty[32];
    PLFLT lw[32];
    char lab[32][128];
    const char *text[32];
    int k = 0;
    for (int c = 0; c < l.n_recipes && k < 32; c++, k++) {
        opt[k] = PL_LEGEND_LINE;
        lcol[k] = COL_DATA + c % N_PALETTE;
        lsty[k] = 1;
        if (l.n_seeds == 1) snprintf(lab[k], sizeof lab[k], "%s, seed %.0f", l.recipes[c], l.seeds[0]);
        else snprintf(lab[k], sizeof lab[k], "%s", l.recipes[c]);
    }
    for (int t = 0; l.n_seeds > 1 && t < l.n_seeds && k < 32; t++, k++) {
        opt[k] = PL_LEGEND_LINE;
        lcol[k] = COL_FG;
        lsty[k] = 1 + t % 8;
        snprintf(lab[k], sizeof lab[k], "seed %.0f", l.seeds[t]);
    }
    n = k;
    for (k = 0; k < n; k++) { tcol[k] = COL_FG; lw[k] = 2; text[k] = lab[k]; }
    PLFLT lwid, lht;
    plvpor(0.775, 0.99, 0.15, 0.90);
    plwind(0, 1, 0, 1);
    plcol0(COL_FG);
    pllegend(&lwid, &lht, PL_LEGEND_BOUNDING_BOX, PL_POSITION_TOP | PL_POSITION_LEFT | PL_POSITION_INSIDE, 0, 0, 0.14, COL_BG,
             COL_FG, 1, 0, 0, n, opt, 0.6, 0.75, 1.5, 0, tcol, text, NULL, NULL, NULL, NULL, lcol, lsty, lw, NULL, NULL, NULL,
             NULL);
    if (n_logs > 1) plmtex("b", 2.0, 0.0, 0.0, "several logs: a run per file");
    runs_free(&l);
    return finish(ctx, tmp, out_svg);
}

/* ------------------------------------------------------------------ Table II bars */

slava_status slava_plot_table2(slava_ctx *ctx, const char *const *recipes, int n_recipes, int n_seeds,
                               const slava_eval_report *reports, const slava_eval_report *untrained, const char *out_svg) {
    if (n_recipes < 1 || n_seeds < 1) return sv_err(ctx, SLAVA_E_ARG, "plot: Table II without recipes or seeds");
    char tmp[4200];
    SV_TRY(prepare(ctx, out_svg, NULL, 0, tmp, sizeof tmp));
    int rows = n_recipes + (untrained ? 1 : 0);
    double *mu = malloc(sizeof(double) * 16 * (size_t)rows), *sd = mu ? mu + 8 * rows : NULL;
    if (!mu) { unlink(tmp); return sv_err(ctx, SLAVA_E_NOMEM, "plot: out of memory"); }
    double ymax = 0;
    for (int r = 0; r < rows; r++) {
        int u = untrained && r == 0, k = r - (untrained ? 1 : 0);
        sv_table2_cells(u ? untrained : reports + (size_t)k * n_seeds, u ? 1 : n_seeds,
                        u ? SV_TASKS_FORWARD : slava_recipe_tasks(recipes[k]), mu + 8 * r, sd + 8 * r);
        for (int t = 0; t < 8; t++)
            if (isfinite(mu[8 * r + t])) ymax = fmax(ymax, mu[8 * r + t] + (isfinite(sd[8 * r + t]) ? sd[8 * r + t] : 0));
    }
    begin(tmp, 1200, 560);
    pladv(0);
    plschr(0, 0.8);
    plvpor(0.075, 0.78, 0.16, 0.90);
    double top = fmin(100, nice_max(ymax * 1.08));
    plwind(0, 8, 0, top);
    plcol0(COL_GRID);
    plwidth(0.5);
    plbox("", 0, 0, "g", 0, 0);
    plwidth(1);
    plcol0(COL_FG);
    plbox("bc", 1, 0, "bcnstv", 0, 0);
    char title[200];
    int split = reports[0].split;
    if (n_seeds > 1)
        snprintf(title, sizeof title, "Table II: R@10 (%%) on the %s split, mean ± sample std over %d seeds",
                 slava_split_name(split), n_seeds);
    else
        snprintf(title, sizeof title, "Table II: R@10 (%%) on the %s split, one seed", slava_split_name(split));
    pllab("", "R@10 (%)", title);
    for (int t = 0; t < 8; t++)   /* task names under their groups */
        plmtex("b", 1.5, (t + 0.5) / 8.0, 0.5, sv_table2_column(t));
    plmtex("b", 3.2, 0.5, 0.5, n_seeds > 1 ? "task (retrieve <- query; V visual, A audio, cap captions); error bars: ± 1 sample std over the seeds"
                                            : "task (retrieve <- query; V visual, A audio, cap captions)");
    double gw = 0.8, bw = gw / rows;
    for (int r = 0; r < rows; r++) {
        int col = untrained && r == 0 ? COL_DATA + N_PALETTE - 1 : COL_DATA + (r - (untrained ? 1 : 0)) % (N_PALETTE - 1);
        for (int t = 0; t < 8; t++) {
            double m = mu[8 * r + t], s = sd[8 * r + t];
            if (!isfinite(m)) continue;   /* a task the recipe never trains: no bar */
            double x0 = t + (1 - gw) / 2 + r * bw, x1 = x0 + bw * 0.92;
            PLFLT bx[4] = {x0, x1, x1, x0}, by[4] = {0, 0, m, m};
            plcol0(col);
            plfill(4, bx, by);
            if (isfinite(s) && s > 0) {
                PLFLT xc = (x0 + x1) / 2, lo = m - s, hi = m + s;
                plcol0(COL_FG);
                plerry(1, &xc, &lo, &hi);
            }
        }
    }
    /* legend on the right */
    PLINT opt[32], tcol[32], bcol[32], bpat[32];
    PLFLT bsc[32], bwd[32];
    const char *text[32];
    int n = rows < 32 ? rows : 32;
    for (int r = 0; r < n; r++) {
        opt[r] = PL_LEGEND_COLOR_BOX;
        tcol[r] = COL_FG;
        bcol[r] = untrained && r == 0 ? COL_DATA + N_PALETTE - 1 : COL_DATA + (r - (untrained ? 1 : 0)) % (N_PALETTE - 1);
        bpat[r] = 0;
        bsc[r] = 0.8;
        bwd[r] = 1;
        text[r] = untrained && r == 0 ? "untrained heads" : recipes[r - (untrained ? 1 : 0)];
    }
    PLFLT lwid, lht;
    plvpor(0.79, 0.985, 0.16, 0.90);
    plwind(0, 1, 0, 1);
    plcol0(COL_FG);
    pllegend(&lwid, &lht, PL_LEGEND_BOUNDING_BOX, PL_POSITION_TOP | PL_POSITION_LEFT | PL_POSITION_INSIDE, 0, 0, 0.08,
             COL_BG, COL_FG, 1, 0, 0, n, opt, 0.6, 0.72, 1.5, 0, tcol, text, bcol, bpat, bsc, bwd, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL);
    int partial = 0;
    for (int r = 0; r < n_recipes; r++) partial |= slava_recipe_tasks(recipes[r]) != SV_TASKS_FORWARD;
    if (partial) {   /* under the legend */
        plschr(0, 0.7);
        plptex(0.02, 1 - lht - 0.06, 1, 0, 0, "no bar: a task whose heads");
        plptex(0.02, 1 - lht - 0.12, 1, 0, 0, "the recipe never trains");
        plptex(0.02, 1 - lht - 0.18, 1, 0, 0, "(av-only: every text task)");
    }
    free(mu);
    return finish(ctx, tmp, out_svg);
}
