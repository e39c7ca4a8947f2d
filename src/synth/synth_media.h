/*
 * synth_media.h — internals of the synthetic AVCaps-format collection (src/synth/synth_media.c):
 * the per-clip recipe (what is seen and heard), its captions, and the mp4 writer. The public
 * entry points (slava_synth_opts, slava_synth_write) are in include/slava.h; tests and the
 * pipeline benchmark use these to build single clips and to know each clip's ground truth.
 */
#ifndef SLAVA_SYNTH_SYNTH_MEDIA_H
#define SLAVA_SYNTH_SYNTH_MEDIA_H

#include "base/base.h"

enum { SV_MOTION_RIGHT, SV_MOTION_LEFT, SV_MOTION_UP, SV_MOTION_DOWN, SV_MOTION_BOUNCE,
       SV_MOTION_CIRCLE, SV_MOTION_STILL, SV_MOTIONS };
enum { SV_SHAPE_CIRCLE, SV_SHAPE_SQUARE, SV_SHAPE_TRIANGLE, SV_SHAPES };
enum { SV_BG_PLAIN, SV_BG_GRADIENT, SV_BG_STRIPES, SV_BG_PATTERNS };
enum { SV_SOUND_TONE, SV_SOUND_BEEPS, SV_SOUND_NOISE, SV_SOUND_SWEEP, SV_SOUND_DRUM,
       SV_SOUND_SIREN, SV_SOUNDS };
#define SV_SHAPE_COLOURS 6
#define SV_BG_COLOURS 6

/* One synthetic clip: everything needed to render it and to describe it. */
typedef struct {
    char   id[32];          /* clip id = file stem */
    int    split, index;    /* slava_split, position within its split */
    char   rel_path[96];    /* video path relative to the collection folder */
    int    n_frames;        /* video frames at the writer's fps */
    double seconds;         /* n_frames / fps */
    int    has_audio;       /* 0: the mp4 has no audio stream */
    int    sample_rate;     /* 32000, 44100 or 48000 */
    int    channels;        /* 1 or 2 */
    /* picture */
    int    bg_colour, bg_pattern, shape, colour, large, motion;
    double offset;          /* cross-axis offset of the path, in units of the frame height */
    double period;          /* seconds per bounce / circle */
    /* sound */
    int    sound;
    int    pitch;           /* 0 low, 1 medium, 2 high (tone, beeps) */
    int    speed;           /* 0 slow, 1 fast, 2 continuous (noise only) */
    int    falling;         /* sweep direction */
    uint64_t noise_seed;
    /* captions, as they go into the captions file */
    int    has_kind[SLAVA_CAP_KINDS];
    int    n_cap[SLAVA_CAP_KINDS];
    char  *cap[SLAVA_CAP_KINDS][8];
} sv_synth_clip;

/* Plan every clip of a collection (content, ids, file names, captions) from the options.
 * *clips is malloc'd: release with sv_synth_clips_free. Order: train, val, test. */
slava_status sv_synth_plan(slava_ctx *ctx, const slava_synth_opts *o, sv_synth_clip **clips, int *n);
void sv_synth_clips_free(sv_synth_clip *clips, int n);

/* Render and encode one clip to `path` (mp4: H.264 or MPEG-4 video at w×h and fps; AAC audio
 * when c->has_audio). codec: as slava_synth_opts.video_codec. */
slava_status sv_synth_write_mp4(slava_ctx *ctx, const char *path, const sv_synth_clip *c, int w, int h, int fps,
                                const char *codec);

/* Mono audio of the clip: out[n] samples at rate sr (the recipe's sound plus a faint noise floor). */
void sv_synth_render_audio(const sv_synth_clip *c, float *out, int64_t n, int sr);
/* RGB24 picture of the clip at time t (seconds): rgb[h][w][3]. */
void sv_synth_render_frame(const sv_synth_clip *c, double t, uint8_t *rgb, int w, int h);
/* Colours of the palettes (for tests that look at decoded pixels). */
void sv_synth_shape_rgb(int colour, uint8_t rgb[3]);
/* The caption words used for the content (e.g. "red", "circle", "moves upward"). */
const char *sv_synth_colour_name(int colour);
const char *sv_synth_shape_name(int shape);
const char *sv_synth_motion_name(int motion);
const char *sv_synth_sound_name(int sound);

/* The video encoder used for a requested codec (NULL / "auto" / "libx264" / "mpeg4"):
 * "libx264" when asked for (or auto) and the FFmpeg build has it, else "mpeg4". */
const char *sv_synth_video_codec(const char *want);

#endif
