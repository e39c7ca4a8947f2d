/*
 * test_train_reference.c — K full-batch AdamW steps of `slava train --init H --batch all
 * --keep last --log FILE.jsonl` against a float64 reference written here (issue 10, "training you
 * can check"), for five recipes: slava-av3 (three pairs), slava-a+v (the per-batch coin, read from
 * the log), wav2clip-trainable (two stages, a fresh optimiser each), av-only (no text) and
 * audioclip with a linear audio head.
 *
 * The reference follows PyTorch's semantics as DESIGN.md §1 states them, step by step: per clip the
 * mean of its frames through the visual head, the audio MLP on every chunk then the mean (or the
 * linear audio head on the mean), the text head on its one caption (one per kind, so nothing is
 * drawn at random); F.normalize; L = ½[CE(sXYᵀ) + CE(sYXᵀ)] per pair, summed; gradients of the
 * trained tensors only; torch.optim.AdamW (decoupled decay p·(1 − lr·wd) on head tensors, not on
 * logit scales; a tensor without a gradient in a step is not stepped and its step count does not
 * advance); the learnable logit scales clamped to <= ln 100 after each step. The layer functions
 * are the float64 instantiation of the production kernels, checked against finite differences in
 * test_align_grad.c; the recipe wiring, the optimiser and the order of events are this file's own.
 * Compared: every step's per-pair and total loss and logit scales from the log, and every tensor
 * of the heads file after the last step (float32 training vs float64 reference).
 */
#include "cli_testutil.h"
#include "align/heads.h"
#include "align/kernels.h"
#include "base/rng.h"
#include <cjson/cJSON.h>

#define NC 12                 /* train clips */
#define DV 6
#define DA 5
#define DT 4
#define PP 3
#define HH 4
#define K_STEPS 4
#define LR 0.02
#define WD 0.1
#define LN100 4.605170185988092

enum { AV = 1, AT = 2, VT = 4 };                       /* losses */
enum { GV = 1, GT = 2, GA = 4, SAV = 8, SAT = 16, SVT = 32 };   /* trained groups */

typedef struct { unsigned train, losses; int kind; } ref_stage;   /* kind: caption kind, -1 none, -2 coin */
typedef struct { const char *recipe; int linear; int stages; ref_stage st[2]; int aligned; } ref_recipe;

static const ref_recipe RECIPES[] = {
    {"slava-av3", 0, 1, {{GV | GT | GA | SAV | SAT | SVT, AV | AT | VT, SLAVA_CAP_GPT}}, 0},
    {"slava-a+v", 0, 1, {{GV | GT | GA | SAV | SAT | SVT, AV | AT | VT, -2}}, 0},
    {"wav2clip-trainable", 0, 2, {{GV | GT | SVT, VT, SLAVA_CAP_VISUAL}, {GA | GT | SAT, AT, SLAVA_CAP_AUDIO}}, 0},
    {"av-only", 0, 1, {{GV | GA | SAV, AV, -1}}, 0},
    {"audioclip", 1, 1, {{GV | GT | GA | SAV | SAT | SVT, AV | AT | VT, SLAVA_CAP_AUDIO}}, 0},
    /* audio and visual embeddings equal at the start: the av scale grows and the clamp acts */
    {"av-only", 1, 1, {{GV | GA | SAV, AV, -1}}, 1},
};

/* ------------------------------------------------------------------ the data */

static slava_dataset g_ds;

/* aligned: one frame and one chunk per clip, the chunk = the frame's first DA values, the frame's
 * last value 0 (with audio head = the visual head's first DA columns, both embed alike). */
static void make_data(int aligned) {
    sv_rng r;
    sv_rng_seed(&r, 4242);
    memset(&g_ds, 0, sizeof g_ds);
    g_ds.d_v = DV; g_ds.d_a = DA; g_ds.d_t = DT;
    g_ds.n = NC;
    g_ds.clips = calloc(NC, sizeof(slava_clip));
    const char *mods[3] = {"ref-visual", "ref-audio", "ref-text"};
    for (int m = 0; m < 3; m++) g_ds.encoder_id[m] = strdup(mods[m]);
    for (int i = 0; i < NC; i++) {
        slava_clip *c = &g_ds.clips[i];
        char id[16];
        snprintf(id, sizeof id, "clip%02d", i);
        c->id = strdup(id);
        c->split = SLAVA_SPLIT_TRAIN;
        c->t_v = 1 + i % 3;
        c->t_a = 1 + (i * 7) % 3;
        c->visual = malloc(sizeof(float) * c->t_v * DV);
        c->audio = malloc(sizeof(float) * c->t_a * DA);
        for (int k = 0; k < c->t_v * DV; k++) c->visual[k] = (float)sv_rng_normal(&r);
        for (int k = 0; k < c->t_a * DA; k++) c->audio[k] = (float)sv_rng_normal(&r);
        if (aligned) {
            c->t_v = c->t_a = 1;
            c->visual[DV - 1] = 0;
            memcpy(c->audio, c->visual, sizeof(float) * DA);
        }
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {   /* one caption of each kind */
            c->n_cap[k] = 1;
            c->cap[k] = malloc(sizeof(float) * DT);
            for (int j = 0; j < DT; j++) c->cap[k][j] = (float)sv_rng_normal(&r);
            c->cap_text[k] = calloc(1, sizeof(char *));
            char t[48];
            snprintf(t, sizeof t, "clip %d caption of kind %d", i, k);
            c->cap_text[k][0] = strdup(t);
        }
    }
}

/* ------------------------------------------------------------------ the float64 reference */

typedef struct {
    int linear;
    double *t[9];              /* Wv, Wt, W1|Wa, b1|ba, W2, b2, ls_av, ls_at, ls_vt */
    size_t n[9];
    int group[9], decay[9];
    double *g[9], *m[9], *v[9];
    int step[9];
    int ntens;
} ref_state;

static void ref_init(ref_state *s, const slava_heads *h) {
    memset(s, 0, sizeof *s);
    s->linear = h->H == 0;
    /* every tensor by its Hugging Face layout, copied from the initial heads */
    for (int k = 0; k < h->n_desc; k++) {
        const al_tdesc *d = &h->desc[k];
        s->n[k] = d->numel;
        s->t[k] = malloc(sizeof(double) * d->numel);
        s->g[k] = calloc(d->numel, sizeof(double));
        s->m[k] = calloc(d->numel, sizeof(double));
        s->v[k] = calloc(d->numel, sizeof(double));
        for (size_t i = 0; i < d->numel; i++) s->t[k][i] = h->mem[d->off + i];
        const char *nm = d->name;
        s->decay[k] = strncmp(nm, "logit_scale", 11) != 0;
        s->group[k] = !strcmp(nm, "visual_projection.weight") ? GV : !strcmp(nm, "text_projection.weight") ? GT
                    : !strcmp(nm, "logit_scale_av") ? SAV : !strcmp(nm, "logit_scale_at") ? SAT
                    : !strcmp(nm, "logit_scale_vt") ? SVT : GA;
    }
    s->ntens = h->n_desc;
}

static void ref_free(ref_state *s) {
    for (int k = 0; k < s->ntens; k++) { free(s->t[k]); free(s->g[k]); free(s->m[k]); free(s->v[k]); }
}

/* Index of the tensor holding the logit scale of pair p (0 av, 1 at, 2 vt). */
static int ls_index(const ref_state *s, int p) { return s->ntens - 3 + p; }

/* One full-batch step: loss per pair into pair[3] (NaN when absent), the scales used into ls[3]. */
static double ref_step(ref_state *s, unsigned train, unsigned losses, int kind, double pair[3], double ls_used[3]) {
    const int B = NC;
    int offs[NC + 1];
    offs[0] = 0;
    for (int i = 0; i < B; i++) offs[i + 1] = offs[i] + g_ds.clips[i].t_a;
    int N = offs[B];
    double xv[NC * DV], xam[NC * DA], xt[NC * DT], *xa = malloc(sizeof(double) * N * DA);
    for (int i = 0; i < B; i++) {
        const slava_clip *c = &g_ds.clips[i];
        for (int d = 0; d < DV; d++) {
            double a = 0;
            for (int t = 0; t < c->t_v; t++) a += c->visual[t * DV + d];
            xv[i * DV + d] = a / c->t_v;
        }
        for (int d = 0; d < DA; d++) {
            double a = 0;
            for (int t = 0; t < c->t_a; t++) {
                a += c->audio[t * DA + d];
                xa[(offs[i] + t) * DA + d] = c->audio[t * DA + d];
            }
            xam[i * DA + d] = a / c->t_a;
        }
        for (int d = 0; d < DT; d++) xt[i * DT + d] = kind >= 0 ? c->cap[kind][d] : 0;
    }
    double zv[NC * PP], ev[NC * PP], nv[NC], za[NC * PP], ea[NC * PP], na[NC], zt[NC * PP], et[NC * PP], nt[NC];
    double h[64 * HH], hbar[NC * HH], work[3 * NC * NC];
    al_linear_fwd_d(zv, xv, s->t[0], NULL, B, DV, PP);
    al_l2norm_fwd_d(ev, nv, zv, B, PP);
    if (s->linear) al_linear_fwd_d(za, xam, s->t[2], s->t[3], B, DA, PP);
    else al_mlp_fwd_d(za, h, hbar, xa, offs, B, s->t[2], s->t[3], s->t[4], s->t[5], DA, HH, PP);
    al_l2norm_fwd_d(ea, na, za, B, PP);
    al_linear_fwd_d(zt, xt, s->t[1], NULL, B, DT, PP);
    al_l2norm_fwd_d(et, nt, zt, B, PP);
    for (int k = 0; k < s->ntens; k++) memset(s->g[k], 0, sizeof(double) * s->n[k]);
    double dev[NC * PP] = {0}, dea[NC * PP] = {0}, det[NC * PP] = {0};
    static const unsigned bit[3] = {AV, AT, VT}, sgroup[3] = {SAV, SAT, SVT};
    double *X[3] = {ea, ea, ev}, *Y[3] = {ev, et, et}, *dX[3] = {dea, dea, dev}, *dY[3] = {dev, det, det};
    double total = 0;
    unsigned used = 0;
    for (int p = 0; p < 3; p++) {
        int li = ls_index(s, p);
        ls_used[p] = s->t[li][0];
        pair[p] = NAN;
        if (!(losses & bit[p])) continue;
        int learn = (train & sgroup[p]) != 0;
        double dls = 0;
        pair[p] = al_infonce_d(X[p], Y[p], B, PP, s->t[li][0], dX[p], dY[p], learn ? &dls : NULL, work);
        total += pair[p];
        if (learn) { s->g[li][0] = dls; used |= sgroup[p]; }
    }
    double dz[NC * PP], dhbar[NC * HH], dh[64 * HH];
    if ((losses & (AV | VT)) && (train & GV)) {
        al_l2norm_bwd_d(dz, dev, ev, nv, B, PP);
        al_linear_bwd_d(NULL, s->g[0], NULL, dz, xv, s->t[0], B, DV, PP);
        used |= GV;
    }
    if ((losses & (AV | AT)) && (train & GA)) {
        al_l2norm_bwd_d(dz, dea, ea, na, B, PP);
        if (s->linear) al_linear_bwd_d(NULL, s->g[2], s->g[3], dz, xam, s->t[2], B, DA, PP);
        else al_mlp_bwd_d(s->g[2], s->g[3], s->g[4], s->g[5], dz, xa, h, hbar, offs, B, s->t[4], DA, HH, PP, dhbar, dh);
        used |= GA;
    }
    if ((losses & (AT | VT)) && (train & GT)) {
        al_l2norm_bwd_d(dz, det, et, nt, B, PP);
        al_linear_bwd_d(NULL, s->g[1], NULL, dz, xt, s->t[1], B, DT, PP);
        used |= GT;
    }
    /* torch.optim.AdamW, one step of every tensor that received a gradient */
    for (int k = 0; k < s->ntens; k++) {
        if (!(used & (unsigned)s->group[k])) continue;
        int t = ++s->step[k];
        double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t), wd = s->decay[k] ? WD : 0;
        for (size_t i = 0; i < s->n[k]; i++) {
            double g = s->g[k][i];
            s->t[k][i] *= 1 - LR * wd;
            s->m[k][i] = 0.9 * s->m[k][i] + 0.1 * g;
            s->v[k][i] = 0.999 * s->v[k][i] + 0.001 * g * g;
            s->t[k][i] -= LR / bc1 * s->m[k][i] / (sqrt(s->v[k][i]) / sqrt(bc2) + 1e-8);
        }
    }
    for (int p = 0; p < 3; p++) {
        int li = ls_index(s, p);
        if ((used & sgroup[p]) && s->t[li][0] > LN100) s->t[li][0] = LN100;
    }
    free(xa);
    return total;
}

/* ------------------------------------------------------------------ one recipe */

static double num_or_nan(const cJSON *o) { return cJSON_IsNumber(o) ? o->valuedouble : NAN; }

static int close_to(double a, double b, double atol, double rtol) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= atol + rtol * fabs(b);
}

static int g_clamped;   /* logged logit scales found at ln 100 (the clamp acted) */

static void check_recipe(const ref_recipe *rr, const char *store) {
    slava_ctx *ctx = slava_ctx_new();
    char init[600], out[600], logp[600], cmd[4096];
    snprintf(init, sizeof init, "%s/ref_init_%s%s.safetensors", SLAVA_TMP, rr->recipe, rr->aligned ? "_aligned" : "");
    snprintf(out, sizeof out, "%s/ref_out_%s%s.safetensors", SLAVA_TMP, rr->recipe, rr->aligned ? "_aligned" : "");
    snprintf(logp, sizeof logp, "%s/ref_%s%s.jsonl", SLAVA_TMP, rr->recipe, rr->aligned ? "_aligned" : "");
    /* initial heads: random, logit scales away from ln 100 (one just below it, so the clamp acts) */
    slava_heads *h0 = NULL;
    CHECK_OK(ctx, al_heads_new(ctx, DV, DA, DT, PP, rr->linear ? 0 : HH, &h0));
    if (!h0) { slava_ctx_free(ctx); return; }
    sv_rng r;
    sv_rng_seed(&r, 99);
    for (size_t i = 0; i < h0->n; i++) h0->mem[i] = (float)(0.5 * sv_rng_normal(&r));
    h0->t.ls[0] = 4.6f; h0->t.ls[1] = 2.3f; h0->t.ls[2] = 3.0f;
    if (rr->aligned) {   /* audio head = the visual head's first DA columns, no bias */
        for (int p = 0; p < PP; p++)
            for (int d = 0; d < DA; d++) h0->t.a_w1[p * DA + d] = h0->t.w_v[p * DV + d];
        memset(h0->t.a_b1, 0, sizeof(float) * PP);
    }
    CHECK_OK(ctx, slava_heads_save(ctx, h0, init, NULL, NULL, NULL));
    unlink(out);
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --recipe %s --init '%s' --batch all --keep last --epochs %d "
             "--lr %g --wd %g --log '%s' --out '%s' --threads 1 --quiet", store, rr->recipe, init, K_STEPS, LR, WD, logp, out);
    char *err = NULL;
    int rc = run_cmd(cmd, NULL, &err);
    CHECKF(rc == 0, "%s: train exit %d: %s", rr->recipe, rc, err ? err : "");
    free(err);

    ref_state s;
    ref_init(&s, h0);
    /* walk the log: every step against the reference */
    char *log = slurp_file(logp, NULL);
    CHECK(log != NULL);
    int steps = 0, bad_loss = 0, bad_scale = 0, epochs = 0, cur_stage = 0;
    double worst_loss = 0;
    for (char *line = log, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl) *nl++ = 0;
        cJSON *o = cJSON_Parse(line);
        CHECKF(o != NULL, "%s: log line is not JSON: %s", rr->recipe, line);
        if (!o) continue;
        const char *type = cJSON_GetObjectItem(o, "type")->valuestring;
        int stage = cJSON_GetObjectItem(o, "stage")->valueint - 1;
        if (!strcmp(type, "epoch")) {
            epochs++;
            CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "val_mean_r10")));   /* no val split */
            cJSON_Delete(o);
            continue;
        }
        CHECK(!strcmp(type, "step") && stage >= 0 && stage < rr->stages);
        if (stage != cur_stage) {   /* each stage starts a fresh optimiser (its step counts too) */
            cur_stage = stage;
            for (int k = 0; k < s.ntens; k++) {
                memset(s.m[k], 0, sizeof(double) * s.n[k]);
                memset(s.v[k], 0, sizeof(double) * s.n[k]);
                s.step[k] = 0;
            }
        }
        CHECK(cJSON_GetObjectItem(o, "batch")->valueint == NC);
        const ref_stage *st = &rr->st[stage];
        unsigned losses = st->losses;
        int kind = st->kind;
        const cJSON *caps = cJSON_GetObjectItem(o, "captions");
        if (kind == -2) {   /* the coin: which kind the batch drew is in the log */
            int audio = cJSON_IsString(caps) && !strcmp(caps->valuestring, "audio");
            CHECK(cJSON_IsString(caps) && (audio || !strcmp(caps->valuestring, "visual")));
            kind = audio ? SLAVA_CAP_AUDIO : SLAVA_CAP_VISUAL;
            losses = AV | (audio ? AT : VT);
        } else if (kind >= 0) {
            CHECK(cJSON_IsString(caps) && !strcmp(caps->valuestring, slava_store_kind_name(kind)));
        } else {
            CHECK(cJSON_IsNull(caps));
        }
        double pair[3], ls_used[3];
        double total = ref_step(&s, st->train, losses, kind, pair, ls_used);
        static const char *pn[3] = {"av", "at", "vt"};
        const cJSON *lo = cJSON_GetObjectItem(o, "loss"), *lso = cJSON_GetObjectItem(o, "logit_scale");
        for (int p = 0; p < 3; p++) {
            double got = num_or_nan(cJSON_GetObjectItem(lo, pn[p]));
            if (!close_to(got, pair[p], 2e-4, 1e-5)) bad_loss++;   /* float32 logits up to 100: ~1e-5 absolute */
            if (!isnan(pair[p])) worst_loss = fmax(worst_loss, fabs(got - pair[p]) / fabs(pair[p]));
            if (!close_to(num_or_nan(cJSON_GetObjectItem(lso, pn[p])), ls_used[p], 1e-6, 1e-6)) bad_scale++;
            g_clamped += num_or_nan(cJSON_GetObjectItem(lso, pn[p])) == (double)(float)LN100;
        }
        double got_total = num_or_nan(cJSON_GetObjectItem(o, "loss_total"));
        CHECKF(close_to(got_total, total, 2e-4, 1e-5), "%s step %d: loss %.9g, reference %.9g", rr->recipe, steps + 1,
               got_total, total);
        CHECK(fabs(cJSON_GetObjectItem(o, "lr")->valuedouble - LR) < 1e-15);
        steps++;
        cJSON_Delete(o);
    }
    free(log);
    CHECKF(steps == K_STEPS * rr->stages, "%s: %d steps logged, expected %d", rr->recipe, steps, K_STEPS * rr->stages);
    CHECKF(epochs == (K_STEPS + 1) * rr->stages, "%s: %d epoch records (epoch 0 included)", rr->recipe, epochs);
    CHECKF(bad_loss == 0, "%s: %d pair losses differ from the reference", rr->recipe, bad_loss);
    CHECKF(bad_scale == 0, "%s: %d logged logit scales differ from the reference", rr->recipe, bad_scale);
    /* the heads after the last step */
    slava_heads *h1 = NULL;
    CHECK_OK(ctx, slava_heads_load(ctx, out, &h1));
    double worst = 0;
    int bad = 0;
    for (int k = 0; h1 && k < h1->n_desc; k++)
        for (size_t i = 0; i < h1->desc[k].numel; i++) {
            double got = h1->mem[h1->desc[k].off + i], want = s.t[k][i];
            worst = fmax(worst, fabs(got - want));
            if (!close_to(got, want, 2e-6, 1e-5)) {
                if (!bad++) fprintf(stderr, "%s: %s[%zu] = %.9g, reference %.9g\n", rr->recipe, h1->desc[k].name, i, got, want);
            }
        }
    CHECKF(bad == 0, "%s: %d parameters differ from the float64 reference", rr->recipe, bad);
    /* the starting heads really moved (the comparison is not vacuous) */
    double moved = 0;
    for (size_t i = 0; h1 && i < h1->n; i++) moved = fmax(moved, fabs(h1->mem[i] - h0->mem[i]));
    CHECKF(moved > 2 * LR, "%s: the heads barely moved (%g)", rr->recipe, moved);
    printf("  %-20s %s%d steps: loss rel. error <= %.1e, parameters |float32 - float64| <= %.1e\n", rr->recipe,
           rr->aligned ? "(aligned) " : "", steps,
           worst_loss, worst);
    slava_heads_free(h1);
    slava_heads_free(h0);
    ref_free(&s);
    if (getenv("KEEP_REF")) printf("kept %s\n", logp); else { unlink(init); unlink(out); unlink(logp); }
    slava_ctx_free(ctx);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    const char *store = tmp_path("ref_store.sqlite");
    printf("float32 training vs the float64 reference (lr %g, wd %g, full batch of %d clips):\n", LR, WD, NC);
    for (int aligned = 0; aligned < 2; aligned++) {
        make_data(aligned);
        rm_store(store);
        slava_store *s = NULL;
        CHECK_OK(ctx, slava_store_open(ctx, store, SLAVA_STORE_CREATE, &s));
        if (s) CHECK_OK(ctx, slava_store_put_dataset(ctx, s, &g_ds));
        slava_store_close(s);
        for (size_t i = 0; i < sizeof RECIPES / sizeof RECIPES[0]; i++)
            if (RECIPES[i].aligned == aligned) check_recipe(&RECIPES[i], store);
        if (aligned) break;
        slava_dataset_free(&g_ds);
    }
    CHECKF(g_clamped > 0, "the ln 100 clamp never acted");
    /* --keep last needs no val split; --keep best does */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, SLAVA_BIN " train --store '%s' --out '%s' --epochs 1 --quiet", store, tmp_path("ref_x.safetensors"));
    expect_err(cmd, 1, "val");
    rm_store(store);
    slava_dataset_free(&g_ds);
    slava_ctx_free(ctx);
    return test_done("train_reference");
}
