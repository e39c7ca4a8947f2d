/*
 * cmd_synth.c — `slava synth --out DIR`: write a synthetic video collection in AVCaps' format
 * (real mp4 files + {train,val,test}_captions.json) so the pipeline runs with no download.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava synth --out DIR [--clips N | --train N --val N --test N] [--seconds S|MIN-MAX]\n"
        "                   [--seed N] [--size WxH] [--fps N] [--no-audio-share X]\n"
        "                   [--captions-per-kind N] [--codec C] [--force] [--threads N]\n"
        "                   [--quiet]\n\n"
        "Writes a synthetic collection in AVCaps' layout: DIR/{train,val,test}_captions.json and\n"
        "DIR/{train,val,test}_videos/[more/]ID.mp4 (H.264 or MPEG-4 video of a coloured shape moving\n"
        "on a background, AAC audio of a tone / beeps / noise bursts / sweep / drum / siren; some\n"
        "clips have no audio track), plus DIR/synth_manifest.json with each clip's ground truth.\n"
        "Captions of all four kinds describe each clip's known content. Same options, same files.\n\n"
        "  --out DIR             output folder (created; must be empty unless --force)\n"
        "  --clips N             clips in each split (default: 96 train, 32 val, 32 test)\n"
        "  --train/--val/--test N  clips in one split\n"
        "  --seconds S|MIN-MAX   clip length, fixed or uniform in a range (default 4-20)\n"
        "  --seed N              random seed (default 0)\n"
        "  --size WxH            frame size, even numbers (default 160x120)\n"
        "  --fps N               video frame rate (default 12)\n"
        "  --no-audio-share X    share of clips without an audio track, 0..1 (default 0.15)\n"
        "  --captions-per-kind N human captions per kind (default: 3 to 5 at random; GPT: 3)\n"
        "  --codec auto|libx264|mpeg4  video encoder (default auto: libx264 when available)\n"
        "  --force               write into a non-empty folder\n"
        "  --threads N           clips written in parallel (default: cores available)\n"
        "  --quiet               no progress output\n");
}

static int parse_seconds(const char *v, double *lo, double *hi) {
    char *end = NULL;
    *lo = strtod(v, &end);
    if (end == v) return -1;
    if (*end == 0) { *hi = *lo; return 0; }
    if (*end != '-') return -1;
    const char *b = end + 1;
    *hi = strtod(b, &end);
    return end == b || *end ? -1 : 0;
}

int cmd_synth(int argc, char **argv) {
    slava_synth_opts o;
    slava_synth_defaults(&o);
    long threads = 0;
    int quiet = 0;
    enum { O_TRAIN = 256, O_VAL, O_TEST, O_NOAUDIO, O_FORCE, O_QUIET, O_SIZE, O_FPS, O_PERKIND, O_CODEC };
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},    {"clips", required_argument, 0, 'n'},
        {"train", required_argument, 0, O_TRAIN}, {"val", required_argument, 0, O_VAL},
        {"test", required_argument, 0, O_TEST},  {"seconds", required_argument, 0, 's'},
        {"seed", required_argument, 0, 'S'},     {"size", required_argument, 0, O_SIZE},
        {"fps", required_argument, 0, O_FPS},    {"no-audio-share", required_argument, 0, O_NOAUDIO},
        {"force", no_argument, 0, O_FORCE},      {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, O_QUIET},      {"help", no_argument, 0, 'h'},
        {"captions-per-kind", required_argument, 0, O_PERKIND}, {"codec", required_argument, 0, O_CODEC},
        {0, 0, 0, 0}};
    int c;
    long v;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out_dir = optarg; break;
        case 'n':
            if ((v = cli_parse_long("--clips", optarg, 0, 100000)) < 0) return CLI_USAGE;
            o.clips[0] = o.clips[1] = o.clips[2] = (int)v;
            break;
        case O_TRAIN: case O_VAL: case O_TEST:
            if ((v = cli_parse_long(argv[optind - 1], optarg, 0, 100000)) < 0) return CLI_USAGE;
            o.clips[c - O_TRAIN] = (int)v;
            break;
        case 's':
            if (parse_seconds(optarg, &o.min_seconds, &o.max_seconds) != 0) {
                cli_error("synth: --seconds: expected S or MIN-MAX, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'S': {
            char *end = NULL;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-') { cli_error("synth: --seed: expected a non-negative integer, got '%s'", optarg); return CLI_USAGE; }
            o.seed = s;
            break;
        }
        case O_SIZE: {
            int w = 0, h = 0;
            char tail;
            if (sscanf(optarg, "%dx%d%c", &w, &h, &tail) != 2) { cli_error("synth: --size: expected WxH, got '%s'", optarg); return CLI_USAGE; }
            o.width = w;
            o.height = h;
            break;
        }
        case O_FPS:
            if ((v = cli_parse_long("--fps", optarg, 1, 120)) < 0) return CLI_USAGE;
            o.fps = (int)v;
            break;
        case O_NOAUDIO:
            o.no_audio_share = cli_parse_double("--no-audio-share", optarg);
            if (isnan(o.no_audio_share)) return CLI_USAGE;
            break;
        case O_PERKIND:
            if ((v = cli_parse_long("--captions-per-kind", optarg, 1, 6)) < 0) return CLI_USAGE;
            o.captions_per_kind = (int)v;
            break;
        case O_CODEC: o.video_codec = optarg; break;
        case O_FORCE: o.force = 1; break;
        case 't': if ((threads = cli_parse_long("--threads", optarg, 1, 1024)) < 0) return CLI_USAGE; break;
        case O_QUIET: quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("synth: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("synth: unknown option '%s'", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("synth: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!o.out_dir) { cli_error("synth: --out DIR is required (slava synth --help)"); return CLI_USAGE; }
    slava_set_threads((int)threads);

    slava_ctx *ctx = slava_ctx_new();
    if (!ctx) { cli_error("synth: out of memory"); return CLI_FAIL; }
    cli_progress_install(ctx, quiet);
    cli_log_install(ctx, quiet);
    slava_synth_summary sum;
    slava_status st = slava_synth_write(ctx, &o, &sum);
    int rc = CLI_OK;
    if (st == SLAVA_E_ARG) { cli_fail(ctx); rc = CLI_USAGE; }
    else if (st != SLAVA_OK)
        rc = cli_fail_or_stop(ctx, st, "no partial clip was left in %s: run the same command again with --force", o.out_dir);
    else if (!quiet)
        printf("%s: %d clips (%d train, %d val, %d test; %d without audio), %.1f min of %s/AAC video, "
               "%d captions\n", o.out_dir, sum.clips[0] + sum.clips[1] + sum.clips[2], sum.clips[0], sum.clips[1],
               sum.clips[2], sum.no_audio, sum.seconds / 60, sum.video_codec, sum.captions);
    slava_ctx_free(ctx);
    return rc;
}
