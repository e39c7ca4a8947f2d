/*
 * synth_media.c — a synthetic video collection in AVCaps' format, so the whole pipeline runs
 * with no download: each clip is a coloured shape moving on a background with a sound made from
 * a per-clip recipe (tone, beeps, noise bursts, sweep, drum rhythm, siren), written as a real mp4
 * with the FFmpeg libraries; its four caption kinds are generated from the recipe. Audio and
 * picture are partly correlated (half the clips take the sound that "belongs" to their shape)
 * so that audio ↔ visual retrieval has something to learn.
 */
#include "synth/synth_media.h"
#include "io/video.h"
#include "data/avcaps.h"
#include "base/rng.h"
#include <cjson/cJSON.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libavutil/channel_layout.h>
#include <libswscale/swscale.h>
#include <ctype.h>
#include <pthread.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>

/* ------------------------------------------------------------------ vocabulary */

typedef struct { const char *name; uint8_t rgb[3]; const char *words[3]; } colour_def;

static const colour_def shape_colours[SV_SHAPE_COLOURS] = {
    {"red", {220, 30, 30}, {"red", NULL, NULL}},
    {"green", {30, 170, 50}, {"green", "bright green", NULL}},
    {"blue", {40, 90, 230}, {"blue", "bright blue", NULL}},
    {"yellow", {245, 215, 30}, {"yellow", NULL, NULL}},
    {"purple", {145, 50, 190}, {"purple", "violet", NULL}},
    {"orange", {250, 135, 20}, {"orange", NULL, NULL}},
};
static const colour_def bg_colours[SV_BG_COLOURS] = {
    {"grey", {128, 128, 128}, {"grey", "gray", NULL}},
    {"black", {15, 15, 15}, {"black", "dark", NULL}},
    {"white", {240, 240, 240}, {"white", NULL, NULL}},
    {"navy", {20, 30, 90}, {"dark blue", "navy", NULL}},
    {"beige", {215, 195, 150}, {"beige", "sand-coloured", NULL}},
    {"dark green", {20, 80, 40}, {"dark green", NULL, NULL}},
};

static const char *const shape_names[SV_SHAPES] = {"circle", "square", "triangle"};
static const char *const shape_nouns[SV_SHAPES][4] = {
    {"circle", "ball", "disc", "round shape"},
    {"square", "box", "block", "square shape"},
    {"triangle", "triangular shape", "triangle", "three-sided shape"}};
static const char *const size_words[2][2] = {{"small", "little"}, {"large", "big"}};
static const char *const motion_names[SV_MOTIONS] = {"right", "left", "up", "down", "bounce", "circle", "still"};
static const char *const motion_vps[SV_MOTIONS][4] = {
    {"moves from left to right", "slides to the right", "travels across the screen from left to right", "drifts rightward"},
    {"moves from right to left", "slides to the left", "travels across the screen from right to left", "drifts leftward"},
    {"moves upward", "rises slowly", "floats up the screen", "climbs from the bottom to the top"},
    {"moves downward", "falls slowly", "sinks down the screen", "drops from the top to the bottom"},
    {"bounces back and forth", "moves from side to side", "swings left and right repeatedly", "bounces between the edges"},
    {"moves in a circle", "circles around the centre", "travels along a circular path", "goes round and round"},
    {"stays still in the middle", "sits motionless in the centre", "does not move", "remains in the centre of the frame"}};
static const char *const bg_pps[SV_BG_PATTERNS][3] = {
    {"on a plain %s background", "against a %s backdrop", "on a solid %s screen"},
    {"on a %s gradient background", "against a softly shaded %s background", "on a %s background that fades downward"},
    {"on a %s striped background", "in front of %s stripes", "over a pattern of %s stripes"}};
static const char *const sound_names[SV_SOUNDS] = {"tone", "beeps", "noise", "sweep", "drum", "siren"};

typedef struct { const char *text; int plural; } np_def;

/* Noun phrases for a sound, chosen by the recipe. Returns the number written to out (≤ 3). */
static int sound_nps(const sv_synth_clip *c, np_def out[3]) {
    static const np_def tone[3][3] = {
        {{"a low hum", 0}, {"a deep steady tone", 0}, {"a low-pitched drone", 0}},
        {{"a steady tone", 0}, {"a continuous medium-pitched tone", 0}, {"a constant beep-like tone", 0}},
        {{"a high-pitched whistle", 0}, {"a shrill steady tone", 0}, {"a constant high tone", 0}}};
    static const np_def beeps[2][3][3] = {
        {{{"slow low beeps", 1}, {"a low beep repeating slowly", 0}, {"occasional deep beeps", 1}},
         {{"slow beeps", 1}, {"a beep repeating slowly", 0}, {"regular, unhurried beeping", 0}},
         {{"slow high-pitched beeps", 1}, {"a high beep repeating slowly", 0}, {"occasional shrill beeps", 1}}},
        {{{"rapid low beeps", 1}, {"a low beep repeating quickly", 0}, {"fast deep beeping", 0}},
         {{"rapid beeps", 1}, {"a beep repeating quickly", 0}, {"fast beeping", 0}},
         {{"rapid high-pitched beeps", 1}, {"a high beep repeating quickly", 0}, {"fast shrill beeping", 0}}}};
    static const np_def noise[3][3] = {
        {{"short bursts of static", 1}, {"occasional bursts of noise", 1}, {"intermittent hissing", 0}},
        {{"rapid bursts of static", 1}, {"quick crackling bursts of noise", 1}, {"fast bursts of hiss", 1}},
        {{"a constant hiss", 0}, {"steady static noise", 0}, {"continuous white noise", 0}}};
    static const np_def sweep[2][3] = {
        {{"a rising whistle", 0}, {"a tone sweeping upward in pitch", 0}, {"an upward-sliding tone", 0}},
        {{"a falling whistle", 0}, {"a tone sliding downward in pitch", 0}, {"a descending sweep", 0}}};
    static const np_def drum[2][3] = {
        {{"a slow drum beat", 0}, {"steady thumping", 0}, {"a slow, regular thud", 0}},
        {{"a fast drum rhythm", 0}, {"rapid thumping", 0}, {"a quick pounding beat", 0}}};
    static const np_def siren[2][3] = {
        {{"a two-tone siren", 0}, {"a siren alternating between two notes", 0}, {"a warbling two-note alarm", 0}},
        {{"a rapid two-tone siren", 0}, {"a siren quickly alternating between two notes", 0}, {"a fast warbling alarm", 0}}};
    const np_def *src;
    switch (c->sound) {
    case SV_SOUND_TONE: src = tone[c->pitch]; break;
    case SV_SOUND_BEEPS: src = beeps[c->speed][c->pitch]; break;
    case SV_SOUND_NOISE: src = noise[c->speed]; break;
    case SV_SOUND_SWEEP: src = sweep[c->falling]; break;
    case SV_SOUND_DRUM: src = drum[c->speed]; break;
    default: src = siren[c->speed]; break;
    }
    for (int i = 0; i < 3; i++) out[i] = src[i];
    return 3;
}

const char *sv_synth_colour_name(int colour) { return shape_colours[colour].name; }
const char *sv_synth_shape_name(int shape) { return shape_names[shape]; }
const char *sv_synth_motion_name(int motion) { return motion_names[motion]; }
const char *sv_synth_sound_name(int sound) { return sound_names[sound]; }
void sv_synth_shape_rgb(int colour, uint8_t rgb[3]) { memcpy(rgb, shape_colours[colour].rgb, 3); }

/* ------------------------------------------------------------------ captions */

static const char *pick(sv_rng *r, const char *const *a, int n) {
    int m = 0;
    while (m < n && a[m]) m++;
    return a[sv_rng_below(r, (uint64_t)m)];
}

static int starts_with_vowel(const char *w) { return strchr("aeiouAEIOU", w[0]) != NULL; }

/* Visual noun phrase, e.g. "a small red ball". */
static void visual_np(sv_rng *r, const sv_synth_clip *c, char *out, size_t cap) {
    const char *colour = pick(r, shape_colours[c->colour].words, 3);
    const char *noun = pick(r, shape_nouns[c->shape], 4);
    if (sv_rng_uniform(r) < 0.6) {
        const char *size = pick(r, size_words[c->large], 2);
        snprintf(out, cap, "%s %s %s %s", starts_with_vowel(size) ? "an" : "a", size, colour, noun);
    } else {
        snprintf(out, cap, "%s %s %s", starts_with_vowel(colour) ? "an" : "a", colour, noun);
    }
}

static void background_pp(sv_rng *r, const sv_synth_clip *c, char *out, size_t cap) {
    const char *fmt = pick(r, bg_pps[c->bg_pattern], 3);
    const char *colour = pick(r, bg_colours[c->bg_colour].words, 3);
    char tmp[160];
    snprintf(tmp, sizeof tmp, fmt, colour);
    /* "a" → "an" before a vowel ("a orange..." cannot occur for backgrounds, but "a %s" can). */
    const char *a = strstr(tmp, " a ");
    if (a && starts_with_vowel(a + 3)) {
        size_t k = (size_t)(a - tmp);
        snprintf(out, cap, "%.*s an %s", (int)k, tmp, a + 3);
    } else {
        snprintf(out, cap, "%s", tmp);
    }
}

static char *finish(const char *s) {
    char *d = sv_strdup(s);
    if (d && d[0]) d[0] = (char)toupper((unsigned char)d[0]);
    return d;
}

static char *visual_caption(sv_rng *r, const sv_synth_clip *c, int tmpl) {
    char np[128], bg[160], buf[512];
    visual_np(r, c, np, sizeof np);
    background_pp(r, c, bg, sizeof bg);
    const char *vp = pick(r, motion_vps[c->motion], 4);
    switch (tmpl % 4) {
    case 0: snprintf(buf, sizeof buf, "%s %s %s.", np, vp, bg); break;
    case 1: snprintf(buf, sizeof buf, "%s, %s %s.", bg, np, vp); break;
    case 2: snprintf(buf, sizeof buf, "%s %s.", np, vp); break;
    default: snprintf(buf, sizeof buf, "there is %s that %s %s.", np, vp, bg); break;
    }
    return finish(buf);
}

static char *audio_caption(sv_rng *r, const sv_synth_clip *c, int tmpl) {
    char buf[512];
    if (!c->has_audio) {
        static const char *const silent[] = {"No sound can be heard.", "The clip is silent.", "There is no audio.",
                                             "Nothing can be heard.", "Silence throughout."};
        return sv_strdup(silent[tmpl % 5]);
    }
    np_def nps[3];
    sound_nps(c, nps);
    np_def np = nps[sv_rng_below(r, 3)];
    switch (tmpl % 4) {
    case 0: snprintf(buf, sizeof buf, "%s can be heard.", np.text); break;
    case 1: snprintf(buf, sizeof buf, "%s %s throughout the clip.", np.text, np.plural ? "play" : "plays"); break;
    case 2: snprintf(buf, sizeof buf, "you can hear %s.", np.text); break;
    default: snprintf(buf, sizeof buf, "there %s %s in the audio.", np.plural ? "are" : "is", np.text); break;
    }
    return finish(buf);
}

static char *av_caption(sv_rng *r, const sv_synth_clip *c, int tmpl) {
    char vnp[128], bg[160], buf[640];
    visual_np(r, c, vnp, sizeof vnp);
    background_pp(r, c, bg, sizeof bg);
    const char *vp = pick(r, motion_vps[c->motion], 4);
    if (!c->has_audio) {
        switch (tmpl % 3) {
        case 0: snprintf(buf, sizeof buf, "%s %s %s in silence.", vnp, vp, bg); break;
        case 1: snprintf(buf, sizeof buf, "%s %s with no sound.", vnp, vp); break;
        default: snprintf(buf, sizeof buf, "silently, %s %s %s.", vnp, vp, bg); break;
        }
        return finish(buf);
    }
    np_def nps[3];
    sound_nps(c, nps);
    np_def np = nps[sv_rng_below(r, 3)];
    switch (tmpl % 4) {
    case 0: snprintf(buf, sizeof buf, "%s %s %s while %s %s.", vnp, vp, bg, np.text, np.plural ? "play" : "plays"); break;
    case 1: snprintf(buf, sizeof buf, "%s can be heard as %s %s.", np.text, vnp, vp); break;
    case 2: snprintf(buf, sizeof buf, "%s %s, accompanied by %s.", vnp, vp, np.text); break;
    default: snprintf(buf, sizeof buf, "while %s %s, %s %s %s.", np.text, np.plural ? "play" : "plays", vnp, vp, bg); break;
    }
    return finish(buf);
}

static char *gpt_caption(sv_rng *r, const sv_synth_clip *c, int tmpl) {
    char vnp[128], bg[160], buf[768];
    visual_np(r, c, vnp, sizeof vnp);
    background_pp(r, c, bg, sizeof bg);
    const char *vp = pick(r, motion_vps[c->motion], 4);
    np_def nps[3];
    if (c->has_audio) sound_nps(c, nps);
    const char *snd = c->has_audio ? nps[sv_rng_below(r, 3)].text : NULL;
    switch (tmpl % 3) {
    case 0:
        if (snd) snprintf(buf, sizeof buf, "The video shows %s that %s %s, accompanied by %s throughout the clip.", vnp, vp, bg, snd);
        else snprintf(buf, sizeof buf, "The video shows %s that %s %s, with no audible sound at all.", vnp, vp, bg);
        break;
    case 1:
        if (snd) snprintf(buf, sizeof buf, "In this short clip, %s %s %s while %s can be heard in the audio.", vnp, vp, bg, snd);
        else snprintf(buf, sizeof buf, "In this short, silent clip, %s %s %s.", vnp, vp, bg);
        break;
    default:
        if (snd) snprintf(buf, sizeof buf, "A simple animation: %s %s %s, and the soundtrack consists of %s.", vnp, vp, bg, snd);
        else snprintf(buf, sizeof buf, "A simple animation without any soundtrack: %s %s %s.", vnp, vp, bg);
        break;
    }
    return finish(buf);
}

/* Caption lists of one clip. Forced extras make small collections still exercise the
 * evaluation's paths: a repeated caption (dedup) and a caption holding a line break. */
static int make_captions(sv_rng *r, sv_synth_clip *c, int per_kind, int force_dup, int force_newline) {
    typedef char *(*gen_fn)(sv_rng *, const sv_synth_clip *, int);
    static const gen_fn gens[SLAVA_CAP_KINDS] = {audio_caption, visual_caption, av_caption, gpt_caption};
    for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
        int n = k == SLAVA_CAP_GPT ? 3 : 3 + (int)sv_rng_below(r, 3);   /* AVCaps: up to 5 human, 3 GPT */
        if (per_kind > 0 && k != SLAVA_CAP_GPT) n = per_kind;
        c->has_kind[k] = 1;
        if (k == SLAVA_CAP_AUDIO && !c->has_audio && sv_rng_uniform(r) < 0.5) { c->has_kind[k] = 0; continue; }
        int t0 = (int)sv_rng_below(r, 4);
        for (int j = 0; j < n; j++) {
            if (!(c->cap[k][j] = gens[k](r, c, k == SLAVA_CAP_GPT ? j : t0 + j))) return -1;
            c->n_cap[k] = j + 1;
        }
    }
    if (force_dup || sv_rng_uniform(r) < 0.12) {   /* an exact repeat within a clip and kind */
        int k = sv_rng_uniform(r) < 0.5 || !c->n_cap[SLAVA_CAP_AUDIO] ? SLAVA_CAP_VISUAL : SLAVA_CAP_AUDIO;
        int n = c->n_cap[k];
        if (!(c->cap[k][n] = sv_strdup(c->cap[k][sv_rng_below(r, (uint64_t)n)]))) return -1;
        c->n_cap[k] = n + 1;
    }
    if (force_newline || sv_rng_uniform(r) < 0.08) {   /* a two-line human audio-visual caption */
        char np[128], buf[512];
        visual_np(r, c, np, sizeof np);
        snprintf(buf, sizeof buf, "%s %s.\nThe background is %s.", np, pick(r, motion_vps[c->motion], 4),
                 pick(r, bg_colours[c->bg_colour].words, 3));
        int k = SLAVA_CAP_AV, j = (int)sv_rng_below(r, (uint64_t)c->n_cap[k]);
        free(c->cap[k][j]);
        if (!(c->cap[k][j] = finish(buf))) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ plan */

void slava_synth_defaults(slava_synth_opts *o) {
    memset(o, 0, sizeof *o);
    o->clips[SLAVA_SPLIT_TRAIN] = 96;
    o->clips[SLAVA_SPLIT_VAL] = 32;
    o->clips[SLAVA_SPLIT_TEST] = 32;
    o->min_seconds = 4;
    o->max_seconds = 20;
    o->width = 160;
    o->height = 120;
    o->fps = 12;
    o->no_audio_share = 0.15;
}

void sv_synth_clips_free(sv_synth_clip *clips, int n) {
    if (!clips) return;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < SLAVA_CAP_KINDS; k++)
            for (int j = 0; j < clips[i].n_cap[k]; j++) free(clips[i].cap[k][j]);
    free(clips);
}

static slava_status check_opts(slava_ctx *ctx, const slava_synth_opts *o) {
    int total = 0;
    for (int s = 0; s < SLAVA_SPLITS; s++) {
        if (o->clips[s] < 0 || o->clips[s] > 100000) return sv_err(ctx, SLAVA_E_ARG, "synth: %d clips in the %s split", o->clips[s], slava_split_name(s));
        total += o->clips[s];
    }
    if (total == 0) return sv_err(ctx, SLAVA_E_ARG, "synth: no clips requested");
    if (!(o->min_seconds >= 1) || !(o->max_seconds >= o->min_seconds) || o->max_seconds > 3600)
        return sv_err(ctx, SLAVA_E_ARG, "synth: clip lengths %g..%g s (need 1 ≤ min ≤ max ≤ 3600)", o->min_seconds, o->max_seconds);
    if (o->width < 32 || o->height < 32 || o->width > 3840 || o->height > 2160 || (o->width | o->height) & 1)
        return sv_err(ctx, SLAVA_E_ARG, "synth: frame size %dx%d (need even sizes from 32x32 to 3840x2160)", o->width, o->height);
    if (o->video_codec && strcmp(o->video_codec, "auto") && strcmp(o->video_codec, "mpeg4") && strcmp(o->video_codec, "libx264"))
        return sv_err(ctx, SLAVA_E_ARG, "synth: video codec '%s' (expected libx264 or mpeg4)", o->video_codec);
    if (o->captions_per_kind < 0 || o->captions_per_kind > 6)
        return sv_err(ctx, SLAVA_E_ARG, "synth: %d captions per kind (need 0..6)", o->captions_per_kind);
    if (o->fps < 1 || o->fps > 120) return sv_err(ctx, SLAVA_E_ARG, "synth: %d fps (need 1..120)", o->fps);
    if (!(o->no_audio_share >= 0 && o->no_audio_share <= 1)) return sv_err(ctx, SLAVA_E_ARG, "synth: no-audio share %g (need 0..1)", o->no_audio_share);
    return SLAVA_OK;
}

slava_status sv_synth_plan(slava_ctx *ctx, const slava_synth_opts *o, sv_synth_clip **clips_out, int *n_out) {
    static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const int rates[] = {32000, 44100, 48000};
    /* The sound that "belongs" to each shape (used for half of the clips). */
    static const int shape_sound[SV_SHAPES] = {SV_SOUND_BEEPS, SV_SOUND_DRUM, SV_SOUND_SWEEP};
    SV_TRY(check_opts(ctx, o));
    int total = o->clips[0] + o->clips[1] + o->clips[2];
    sv_synth_clip *clips = calloc((size_t)total, sizeof *clips);
    if (!clips) return sv_err(ctx, SLAVA_E_NOMEM, "synth: out of memory for %d clips", total);
    sv_rng r;
    sv_rng_seed(&r, o->seed);
    int n = 0;
    for (int s = 0; s < SLAVA_SPLITS; s++) {
        for (int i = 0; i < o->clips[s]; i++, n++) {
            sv_synth_clip *c = &clips[n];
            c->split = s;
            c->index = i;
            for (;;) {   /* a YouTube-like id plus start time; unique over the collection */
                char base[12];
                for (int q = 0; q < 11; q++) base[q] = id_chars[sv_rng_below(&r, 64)];
                base[11] = 0;
                snprintf(c->id, sizeof c->id, "%s_%d", base, 10 * (int)sv_rng_below(&r, 31));
                int dup = 0;
                for (int q = 0; q < n && !dup; q++) dup = !strcmp(clips[q].id, c->id);
                if (!dup) break;
            }
            snprintf(c->rel_path, sizeof c->rel_path, "%s_videos/%s%s.mp4", slava_split_name(s),
                     i % 5 == 4 ? "more/" : "", c->id);
            double sec = o->min_seconds + (o->max_seconds - o->min_seconds) * sv_rng_uniform(&r);
            c->n_frames = (int)lround(sec * o->fps);
            if (c->n_frames < 1) c->n_frames = 1;
            c->seconds = (double)c->n_frames / o->fps;
            /* The third clip of each split has no audio whenever silent clips are asked for,
             * so that even tiny collections contain one. */
            c->has_audio = o->no_audio_share > 0 && (i == 2 || sv_rng_uniform(&r) < o->no_audio_share) ? 0 : 1;
            c->sample_rate = rates[sv_rng_below(&r, 3)];
            c->channels = 1 + (int)sv_rng_below(&r, 2);
            c->bg_colour = (int)sv_rng_below(&r, SV_BG_COLOURS);
            c->bg_pattern = (int)sv_rng_below(&r, SV_BG_PATTERNS);
            c->shape = (int)sv_rng_below(&r, SV_SHAPES);
            c->colour = (int)sv_rng_below(&r, SV_SHAPE_COLOURS);
            c->large = (int)sv_rng_below(&r, 2);
            c->motion = (int)sv_rng_below(&r, SV_MOTIONS);
            c->offset = 0.3 * sv_rng_uniform(&r) - 0.15;
            c->period = 1.5 + 2.0 * sv_rng_uniform(&r);
            c->sound = sv_rng_uniform(&r) < 0.5 ? shape_sound[c->shape] : (int)sv_rng_below(&r, SV_SOUNDS);
            c->pitch = (int)sv_rng_below(&r, 3);
            c->speed = (int)sv_rng_below(&r, c->sound == SV_SOUND_NOISE ? 3 : 2);
            c->falling = (int)sv_rng_below(&r, 2);
            c->noise_seed = sv_rng_u64(&r);
            if (make_captions(&r, c, o->captions_per_kind, i == 0, i == 1 || (o->clips[s] == 1 && i == 0)) != 0) {
                sv_synth_clips_free(clips, n + 1);
                return sv_err(ctx, SLAVA_E_NOMEM, "synth: out of memory");
            }
        }
    }
    *clips_out = clips;
    *n_out = n;
    return SLAVA_OK;
}

/* ------------------------------------------------------------------ rendering */

/* The static background of a clip: rgb[h][w][3]. */
static void render_background(const sv_synth_clip *c, uint8_t *rgb, int w, int h) {
    const uint8_t *bc = bg_colours[c->bg_colour].rgb;
    for (int y = 0; y < h; y++) {
        uint8_t *row = rgb + (size_t)y * w * 3;
        double shade = c->bg_pattern == SV_BG_GRADIENT ? 1.15 - 0.6 * y / (double)h : 1.0;
        for (int x = 0; x < w; x++) {
            double s = c->bg_pattern == SV_BG_STRIPES && (x * 8 / w) % 2 ? 0.7 : shade;
            for (int ch = 0; ch < 3; ch++) {
                double v = bc[ch] * s;
                row[3 * x + ch] = (uint8_t)(v > 255 ? 255 : v + 0.5);
            }
        }
    }
}

/* Paint the shape at its position at time t over the picture in rgb. */
static void draw_shape(const sv_synth_clip *c, double t, uint8_t *rgb, int w, int h) {
    const uint8_t *sc = shape_colours[c->colour].rgb;
    double r = (c->large ? 0.22 : 0.12) * h;
    double u = c->seconds > 0 ? t / c->seconds : 0, off = c->offset * h;
    double lo_x = 0.15 * w, hi_x = 0.85 * w, lo_y = 0.15 * h, hi_y = 0.85 * h, cx = 0.5 * w, cy = 0.5 * h;
    switch (c->motion) {
    case SV_MOTION_RIGHT: cx = lo_x + (hi_x - lo_x) * u; cy += off; break;
    case SV_MOTION_LEFT: cx = hi_x - (hi_x - lo_x) * u; cy += off; break;
    case SV_MOTION_UP: cy = hi_y - (hi_y - lo_y) * u; cx += off; break;
    case SV_MOTION_DOWN: cy = lo_y + (hi_y - lo_y) * u; cx += off; break;
    case SV_MOTION_BOUNCE: {
        double ph = fmod(t / c->period, 1.0), tri = ph < 0.5 ? 2 * ph : 2 - 2 * ph;
        cx = lo_x + (hi_x - lo_x) * tri;
        cy += off;
        break;
    }
    case SV_MOTION_CIRCLE: {
        double a = 2 * M_PI * t / c->period;
        cx += 0.25 * h * cos(a);
        cy += 0.25 * h * sin(a);
        break;
    }
    default: break;
    }
    int x0 = (int)floor(cx - r - 1), x1 = (int)ceil(cx + r + 1), y0 = (int)floor(cy - r - 1), y1 = (int)ceil(cy + r + 1);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w) x1 = w;
    if (y1 > h) y1 = h;
    for (int y = y0; y < y1; y++) {
        uint8_t *row = rgb + (size_t)y * w * 3;
        for (int x = x0; x < x1; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            int inside;
            switch (c->shape) {
            case SV_SHAPE_CIRCLE: inside = dx * dx + dy * dy <= r * r; break;
            case SV_SHAPE_SQUARE: inside = fabs(dx) <= r && fabs(dy) <= r; break;
            default: inside = dy >= -r && dy <= r && fabs(dx) <= (dy + r) * 0.5; break;   /* apex up */
            }
            if (inside) memcpy(row + 3 * x, sc, 3);
        }
    }
}

void sv_synth_render_frame(const sv_synth_clip *c, double t, uint8_t *rgb, int w, int h) {
    render_background(c, rgb, w, h);
    draw_shape(c, t, rgb, w, h);
}

void sv_synth_render_audio(const sv_synth_clip *c, float *out, int64_t n, int sr) {
    static const double pitch_hz[3] = {220.0, 523.25, 1567.98};
    sv_rng r;
    sv_rng_seed(&r, c->noise_seed);
    double phase = 0;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / sr, v = 0, f = pitch_hz[c->pitch];
        switch (c->sound) {
        case SV_SOUND_TONE:
            phase += 2 * M_PI * f / sr;
            v = 0.3 * sin(phase);
            break;
        case SV_SOUND_BEEPS: {
            double period = c->speed ? 0.25 : 0.8, len = c->speed ? 0.1 : 0.25, tp = fmod(t, period);
            phase += 2 * M_PI * f / sr;
            if (tp < len) {
                double env = fmin(1.0, fmin(tp, len - tp) / 0.005);   /* 5 ms ramps, no clicks */
                v = 0.35 * env * sin(phase);
            }
            break;
        }
        case SV_SOUND_NOISE: {
            double period = c->speed == 1 ? 0.3 : 1.0, len = c->speed == 1 ? 0.1 : 0.3, tp = fmod(t, period);
            double nz = 2 * sv_rng_uniform(&r) - 1;
            if (c->speed == 2) v = 0.15 * nz;
            else if (tp < len) v = 0.3 * nz * fmin(1.0, fmin(tp, len - tp) / 0.005);
            break;
        }
        case SV_SOUND_SWEEP: {
            double u = fmod(t, 2.0) / 2.0;
            double fr = 300.0 * pow(8.0, c->falling ? 1 - u : u);   /* 300 Hz ↔ 2400 Hz, exponential */
            phase += 2 * M_PI * fr / sr;
            v = 0.3 * sin(phase);
            break;
        }
        case SV_SOUND_DRUM: {
            double period = c->speed ? 0.3 : 0.75, tp = fmod(t, period);
            double fr = 55.0 + 90.0 * exp(-tp / 0.03);
            phase += 2 * M_PI * fr / sr;
            v = 0.6 * exp(-tp / 0.09) * sin(phase) + 0.15 * exp(-tp / 0.008) * (2 * sv_rng_uniform(&r) - 1);
            break;
        }
        default: {   /* siren */
            double half = c->speed ? 0.2 : 0.5;
            double fr = ((int)(t / half) % 2) ? 900.0 : 650.0;
            phase += 2 * M_PI * fr / sr;
            v = 0.3 * sin(phase);
            break;
        }
        }
        if (phase > 2 * M_PI) phase -= 2 * M_PI;
        v += 0.003 * (2 * sv_rng_uniform(&r) - 1);   /* faint noise floor */
        double edge = fmin(t, (double)(n - i) / sr);   /* 20 ms fade in / out */
        if (edge < 0.02) v *= edge / 0.02;
        out[i] = (float)v;
    }
}

/* ------------------------------------------------------------------ mp4 writer */

const char *sv_synth_video_codec(const char *want) {
    if (want && !strcmp(want, "mpeg4")) return "mpeg4";
    return avcodec_find_encoder_by_name("libx264") ? "libx264" : "mpeg4";
}

typedef struct {
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    int64_t next;    /* next frame index (video) or sample index (audio) */
    int done;
} out_stream;

static slava_status av_fail(slava_ctx *ctx, const char *path, const char *what, int err) {
    char e[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(err, e, sizeof e);
    return sv_err(ctx, SLAVA_E_IO, "%s: %s: %s", path, what, e);
}

/* Send one frame (or NULL to flush) and write every packet the encoder has ready. */
static slava_status encode_write(slava_ctx *ctx, const char *path, AVFormatContext *oc, out_stream *os,
                                 AVFrame *frame, AVPacket *pkt) {
    int ret = avcodec_send_frame(os->enc, frame);
    if (ret < 0) return av_fail(ctx, path, "encoding failed", ret);
    for (;;) {
        ret = avcodec_receive_packet(os->enc, pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return SLAVA_OK;
        if (ret < 0) return av_fail(ctx, path, "encoding failed", ret);
        if (pkt->duration <= 0 && os->enc->codec_type == AVMEDIA_TYPE_VIDEO) pkt->duration = 1;   /* one frame */
        av_packet_rescale_ts(pkt, os->enc->time_base, os->st->time_base);
        pkt->stream_index = os->st->index;
        ret = av_interleaved_write_frame(oc, pkt);
        if (ret < 0) return av_fail(ctx, path, "cannot write packet", ret);
    }
}

slava_status sv_synth_write_mp4(slava_ctx *ctx, const char *path, const sv_synth_clip *c, int w, int h, int fps,
                                const char *codec) {
    /* The library never prints: FFmpeg's (and libx264's) log lines go to the one shared hook. */
    sv_ffmpeg_init();
    slava_status st = SLAVA_OK;
    AVFormatContext *oc = NULL;
    out_stream vs = {0}, as = {0};
    AVPacket *pkt = NULL;
    struct SwsContext *sws = NULL;
    uint8_t *rgb = NULL, *bg = NULL;
    float *pcm = NULL;
    int64_t n_samples = 0;
    int ret;

    if ((ret = avformat_alloc_output_context2(&oc, NULL, "mp4", path)) < 0 || !oc)
        return av_fail(ctx, path, "cannot create mp4 muxer", ret);
    oc->flags |= AVFMT_FLAG_BITEXACT;   /* no library version strings: same input, same bytes */

    /* video */
    int x264 = !strcmp(sv_synth_video_codec(codec), "libx264");
    const AVCodec *vcodec = x264 ? avcodec_find_encoder_by_name("libx264") : avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!vcodec) { st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: FFmpeg has neither libx264 nor an MPEG-4 encoder", path); goto done; }
    if (!(vs.st = avformat_new_stream(oc, NULL)) || !(vs.enc = avcodec_alloc_context3(vcodec))) {
        st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    vs.enc->width = w;
    vs.enc->height = h;
    vs.enc->pix_fmt = AV_PIX_FMT_YUV420P;
    vs.enc->time_base = (AVRational){1, fps};
    vs.enc->framerate = (AVRational){fps, 1};
    vs.enc->gop_size = 2 * fps;
    vs.enc->thread_count = 1;   /* clips are written in parallel instead */
    vs.enc->flags |= AV_CODEC_FLAG_BITEXACT;
    if (oc->oformat->flags & AVFMT_GLOBALHEADER) vs.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (x264) {
        av_opt_set(vs.enc->priv_data, "preset", "ultrafast", 0);
        av_opt_set(vs.enc->priv_data, "crf", "26", 0);
    } else {
        vs.enc->bit_rate = (int64_t)w * h * fps / 4;
    }
    if ((ret = avcodec_open2(vs.enc, vcodec, NULL)) < 0) { st = av_fail(ctx, path, "cannot open the video encoder", ret); goto done; }
    if ((ret = avcodec_parameters_from_context(vs.st->codecpar, vs.enc)) < 0) { st = av_fail(ctx, path, "video stream", ret); goto done; }
    vs.st->time_base = vs.enc->time_base;
    if (!(vs.frame = av_frame_alloc())) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
    vs.frame->format = AV_PIX_FMT_YUV420P;
    vs.frame->width = w;
    vs.frame->height = h;
    if ((ret = av_frame_get_buffer(vs.frame, 0)) < 0) { st = av_fail(ctx, path, "frame buffer", ret); goto done; }
    sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR | SWS_BITEXACT, NULL, NULL, NULL);
    /* swscale's SIMD input loads may run up to 16 bytes past the last pixel: padded */
    rgb = malloc((size_t)w * h * 3 + AV_INPUT_BUFFER_PADDING_SIZE);
    bg = malloc((size_t)w * h * 3);
    if (!sws || !rgb || !bg) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
    render_background(c, bg, w, h);

    /* audio */
    if (c->has_audio) {
        const AVCodec *acodec = avcodec_find_encoder(AV_CODEC_ID_AAC);
        if (!acodec) { st = sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: FFmpeg has no AAC encoder", path); goto done; }
        if (!(as.st = avformat_new_stream(oc, NULL)) || !(as.enc = avcodec_alloc_context3(acodec))) {
            st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path);
            goto done;
        }
        as.enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
        as.enc->sample_rate = c->sample_rate;
        av_channel_layout_default(&as.enc->ch_layout, c->channels);
        as.enc->bit_rate = 64000 * c->channels;
        as.enc->time_base = (AVRational){1, c->sample_rate};
        as.enc->thread_count = 1;
        as.enc->flags |= AV_CODEC_FLAG_BITEXACT;
        av_opt_set(as.enc->priv_data, "aac_coder", "fast", 0);   /* several times faster than "twoloop" */
        if (oc->oformat->flags & AVFMT_GLOBALHEADER) as.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        if ((ret = avcodec_open2(as.enc, acodec, NULL)) < 0) { st = av_fail(ctx, path, "cannot open the AAC encoder", ret); goto done; }
        if ((ret = avcodec_parameters_from_context(as.st->codecpar, as.enc)) < 0) { st = av_fail(ctx, path, "audio stream", ret); goto done; }
        as.st->time_base = as.enc->time_base;
        n_samples = (int64_t)llround(c->seconds * c->sample_rate);
        if (!(pcm = malloc((size_t)n_samples * sizeof *pcm))) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
        sv_synth_render_audio(c, pcm, n_samples, c->sample_rate);
    } else {
        as.done = 1;
    }

    if ((ret = avio_open(&oc->pb, path, AVIO_FLAG_WRITE)) < 0) { st = av_fail(ctx, path, "cannot create file", ret); goto done; }
    if ((ret = avformat_write_header(oc, NULL)) < 0) { st = av_fail(ctx, path, "cannot write mp4 header", ret); goto done; }
    if (!(pkt = av_packet_alloc())) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }

    /* Feed both encoders in presentation order so that the muxer interleaves them. */
    while (!vs.done || !as.done) {
        int video = as.done || (!vs.done && av_compare_ts(vs.next, vs.enc->time_base, as.next, as.enc->time_base) <= 0);
        if (video) {
            if (vs.next >= c->n_frames) {
                if ((st = encode_write(ctx, path, oc, &vs, NULL, pkt)) != SLAVA_OK) goto done;
                vs.done = 1;
                continue;
            }
            memcpy(rgb, bg, (size_t)w * h * 3);
            draw_shape(c, (vs.next + 0.5) / fps, rgb, w, h);
            if ((ret = av_frame_make_writable(vs.frame)) < 0) { st = av_fail(ctx, path, "frame buffer", ret); goto done; }
            const uint8_t *src[1] = {rgb};
            const int stride[1] = {3 * w};
            sws_scale(sws, src, stride, 0, h, vs.frame->data, vs.frame->linesize);
            vs.frame->pts = vs.next++;
            if ((st = encode_write(ctx, path, oc, &vs, vs.frame, pkt)) != SLAVA_OK) goto done;
        } else {
            if (as.next >= n_samples) {
                if ((st = encode_write(ctx, path, oc, &as, NULL, pkt)) != SLAVA_OK) goto done;
                as.done = 1;
                continue;
            }
            int fs = as.enc->frame_size > 0 ? as.enc->frame_size : 1024;
            int64_t left = n_samples - as.next;
            int take = left < fs ? (int)left : fs;
            int small_ok = (as.enc->codec->capabilities & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE)) != 0;
            AVFrame *f = av_frame_alloc();
            if (!f) { st = sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", path); goto done; }
            f->format = as.enc->sample_fmt;
            f->sample_rate = c->sample_rate;
            f->nb_samples = small_ok ? take : fs;
            if ((ret = av_channel_layout_copy(&f->ch_layout, &as.enc->ch_layout)) < 0 ||
                (ret = av_frame_get_buffer(f, 0)) < 0) {
                av_frame_free(&f);
                st = av_fail(ctx, path, "audio frame", ret);
                goto done;
            }
            for (int ch = 0; ch < c->channels; ch++) {
                float *dst = (float *)f->extended_data[ch];
                float gain = c->channels == 2 ? (ch ? 0.85f : 1.0f) : 1.0f;   /* slight pan */
                for (int i = 0; i < f->nb_samples; i++) dst[i] = i < take ? gain * pcm[as.next + i] : 0.0f;
            }
            f->pts = as.next;
            as.next += take;
            st = encode_write(ctx, path, oc, &as, f, pkt);
            av_frame_free(&f);
            if (st != SLAVA_OK) goto done;
        }
    }
    if ((ret = av_write_trailer(oc)) < 0) { st = av_fail(ctx, path, "cannot finish mp4", ret); goto done; }

done:
    av_packet_free(&pkt);
    avcodec_free_context(&vs.enc);
    avcodec_free_context(&as.enc);
    av_frame_free(&vs.frame);
    sws_freeContext(sws);
    free(rgb);
    free(bg);
    free(pcm);
    if (oc) {
        if (oc->pb) avio_closep(&oc->pb);
        avformat_free_context(oc);
    }
    if (st != SLAVA_OK) remove(path);   /* never leave a truncated mp4 behind */
    return st;
}

/* ------------------------------------------------------------------ collection */

static int dir_is_empty(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) { empty = 0; break; }
    closedir(d);
    return empty;
}

static slava_status write_json(slava_ctx *ctx, const char *dir, const char *name, cJSON *root) {
    char *path = sv_path_join(dir, name);
    char *text = cJSON_Print(root);
    size_t len = text ? strlen(text) : 0;
    char *grown = text ? realloc(text, len + 2) : NULL;   /* with a final line break */
    if (grown) { text = grown; text[len++] = '\n'; text[len] = 0; }
    slava_status st = path && grown ? sv_write_file(ctx, path, text, len) : sv_err(ctx, SLAVA_E_NOMEM, "%s: out of memory", dir);
    free(path);
    free(text);
    return st;
}

static slava_status write_captions(slava_ctx *ctx, const slava_synth_opts *o, const sv_synth_clip *clips, int n) {
    for (int s = 0; s < SLAVA_SPLITS; s++) {
        if (!o->clips[s]) continue;
        cJSON *root = cJSON_CreateObject();
        if (!root) return sv_err(ctx, SLAVA_E_NOMEM, "synth: out of memory");
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            if (clips[i].split != s) continue;
            cJSON *obj = cJSON_AddObjectToObject(root, clips[i].id);
            ok = obj != NULL;
            for (int k = 0; k < SLAVA_CAP_KINDS && ok; k++) {
                if (!clips[i].has_kind[k]) continue;
                cJSON *arr = cJSON_CreateStringArray((const char *const *)clips[i].cap[k], clips[i].n_cap[k]);
                ok = arr && cJSON_AddItemToObject(obj, sv_caption_keys[k], arr);
            }
        }
        char name[64];
        snprintf(name, sizeof name, "%s_captions.json", slava_split_name(s));
        slava_status st = ok ? write_json(ctx, o->out_dir, name, root) : sv_err(ctx, SLAVA_E_NOMEM, "synth: out of memory");
        cJSON_Delete(root);
        if (st != SLAVA_OK) return st;
    }
    return SLAVA_OK;
}

static slava_status write_manifest(slava_ctx *ctx, const slava_synth_opts *o, const sv_synth_clip *clips, int n) {
    static const char *patterns[SV_BG_PATTERNS] = {"plain", "gradient", "stripes"};
    static const char *pitches[3] = {"low", "medium", "high"};
    static const char *speeds[3] = {"slow", "fast", "continuous"};
    cJSON *root = cJSON_CreateObject(), *arr = NULL;
    int ok = root && cJSON_AddStringToObject(root, "generator", "slava synth") &&
             cJSON_AddNumberToObject(root, "seed", (double)o->seed) &&
             cJSON_AddNumberToObject(root, "width", o->width) && cJSON_AddNumberToObject(root, "height", o->height) &&
             cJSON_AddNumberToObject(root, "fps", o->fps) &&
             cJSON_AddStringToObject(root, "video_codec", sv_synth_video_codec(o->video_codec)) &&
             (arr = cJSON_AddArrayToObject(root, "clips"));
    for (int i = 0; i < n && ok; i++) {
        const sv_synth_clip *c = &clips[i];
        cJSON *x = cJSON_CreateObject();
        ok = x && cJSON_AddItemToArray(arr, x) && cJSON_AddStringToObject(x, "id", c->id) &&
             cJSON_AddStringToObject(x, "split", slava_split_name(c->split)) &&
             cJSON_AddStringToObject(x, "video", c->rel_path) && cJSON_AddNumberToObject(x, "seconds", c->seconds) &&
             cJSON_AddNumberToObject(x, "frames", c->n_frames) && cJSON_AddBoolToObject(x, "has_audio", c->has_audio) &&
             cJSON_AddStringToObject(x, "shape", shape_names[c->shape]) &&
             cJSON_AddStringToObject(x, "colour", shape_colours[c->colour].name) &&
             cJSON_AddStringToObject(x, "size", c->large ? "large" : "small") &&
             cJSON_AddStringToObject(x, "motion", motion_names[c->motion]) &&
             cJSON_AddStringToObject(x, "background", bg_colours[c->bg_colour].name) &&
             cJSON_AddStringToObject(x, "background_pattern", patterns[c->bg_pattern]);
        if (ok && c->has_audio)
            ok = cJSON_AddNumberToObject(x, "sample_rate", c->sample_rate) && cJSON_AddNumberToObject(x, "channels", c->channels) &&
                 cJSON_AddStringToObject(x, "sound", sound_names[c->sound]) &&
                 (c->sound == SV_SOUND_SWEEP  ? cJSON_AddStringToObject(x, "direction", c->falling ? "falling" : "rising") != NULL
                  : c->sound == SV_SOUND_TONE ? 1
                                              : cJSON_AddStringToObject(x, "tempo", speeds[c->speed]) != NULL) &&
                 (c->sound != SV_SOUND_TONE && c->sound != SV_SOUND_BEEPS ? 1 : cJSON_AddStringToObject(x, "pitch", pitches[c->pitch]) != NULL);
    }
    slava_status st = ok ? write_json(ctx, o->out_dir, "synth_manifest.json", root) : sv_err(ctx, SLAVA_E_NOMEM, "synth: out of memory");
    cJSON_Delete(root);
    return st;
}

slava_status slava_synth_write(slava_ctx *ctx, const slava_synth_opts *o, slava_synth_summary *sum) {
    if (!o->out_dir || !*o->out_dir) return sv_err(ctx, SLAVA_E_ARG, "synth: no output folder");
    SV_TRY(check_opts(ctx, o));
    if (!o->force && !dir_is_empty(o->out_dir))
        return sv_err(ctx, SLAVA_E_ARG, "%s: folder is not empty (use --force to write into it anyway)", o->out_dir);
    sv_synth_clip *clips = NULL;
    int n = 0;
    SV_TRY(sv_synth_plan(ctx, o, &clips, &n));
    if (sum) {
        memset(sum, 0, sizeof *sum);
        for (int i = 0; i < n; i++) {
            sum->clips[clips[i].split]++;
            sum->no_audio += !clips[i].has_audio;
            sum->seconds += clips[i].seconds;
            for (int k = 0; k < SLAVA_CAP_KINDS; k++) sum->captions += clips[i].n_cap[k];
        }
        snprintf(sum->video_codec, sizeof sum->video_codec, "%s", sv_synth_video_codec(o->video_codec));
    }
    slava_status st = SLAVA_OK;
    for (int s = 0; s < SLAVA_SPLITS && st == SLAVA_OK; s++) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s_videos/more", slava_split_name(s));
        char *p = sv_path_join(o->out_dir, sub);
        if (!p) st = sv_err(ctx, SLAVA_E_NOMEM, "synth: out of memory");
        else if (o->clips[s]) st = sv_make_dirs(ctx, p);
        free(p);
    }
    /* Captions and manifest first (cheap), then the clips, in parallel; each clip has its own
     * error buffer and the first failure (in clip order) is reported. */
    if (st == SLAVA_OK) st = write_captions(ctx, o, clips, n);
    if (st == SLAVA_OK) st = write_manifest(ctx, o, clips, n);
    if (st != SLAVA_OK) { sv_synth_clips_free(clips, n); return st; }

    slava_status *cst = calloc((size_t)n, sizeof *cst);
    char (*cmsg)[1024] = calloc((size_t)n, sizeof *cmsg);
    if (!cst || !cmsg) { free(cst); free(cmsg); sv_synth_clips_free(clips, n); return sv_err(ctx, SLAVA_E_NOMEM, "synth: out of memory"); }
    int done = 0, cancel = 0;
    sv_progress(ctx, "synth", 0, n, NULL);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(slava_get_threads())
    for (int i = 0; i < n; i++) {
        int stop;
        #pragma omp atomic read
        stop = cancel;
        if (stop) { cst[i] = SLAVA_E_INTERRUPTED; continue; }
        slava_ctx local = {0};
        char *path = sv_path_join(o->out_dir, clips[i].rel_path);
        cst[i] = path ? sv_synth_write_mp4(&local, path, &clips[i], o->width, o->height, o->fps, o->video_codec)
                      : sv_err(&local, SLAVA_E_NOMEM, "synth: out of memory");
        snprintf(cmsg[i], sizeof cmsg[i], "%s", local.msg);
        free(path);
        #pragma omp critical(synth_progress)
        {
            done++;
            if (sv_progress(ctx, "synth", done, n, clips[i].id)) {
                #pragma omp atomic write
                cancel = 1;
            }
        }
    }
    for (int i = 0; i < n && st == SLAVA_OK; i++)
        if (cst[i] != SLAVA_OK)
            st = cst[i] == SLAVA_E_INTERRUPTED ? sv_err(ctx, cst[i], "synth: cancelled")
                                               : sv_err(ctx, cst[i], "%s", cmsg[i]);
    free(cst);
    free(cmsg);
    sv_synth_clips_free(clips, n);
    return st;
}
