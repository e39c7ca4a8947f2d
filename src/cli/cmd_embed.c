/*
 * cmd_embed.c — `slava embed`: shared option parsing; the per-kind work is in
 * cmd_embed_text.c, cmd_embed_vision.c and cmd_embed_audio.c.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <string.h>
#include <math.h>

static void embed_usage(FILE *f) {
    fprintf(f,
        "usage: slava embed --clip DIR --text  [options] [--] TEXT...\n"
        "       slava embed --clip DIR --image [options] [--] FILE...\n"
        "       slava embed --clip DIR --video [options] [--] FILE...\n"
        "       slava embed --clap DIR --audio [options] [--] FILE...\n\n"
        "Runs the frozen encoder on each input and prints one JSON object per input, in input\n"
        "order (JSON Lines): \"input\", \"pooled\" (encoder output before any head; a list of rows,\n"
        "one per frame / 10 s chunk, for --video and --audio), \"projected\" (the checkpoint's own\n"
        "projection, or --heads, averaged over time, not normalised) and \"embedding\" (the same,\n"
        "L2-normalised). An input that fails is reported on stderr; the others are still embedded\n"
        "and the exit status is 1.\n\n"
        "options:\n"
        "  --clip DIR      Hugging Face CLIP folder (model.safetensors, config.json, vocab.json, merges.txt)\n"
        "  --clap DIR      Hugging Face CLAP folder (model.safetensors, config.json)\n"
        "  --text | --image | --video | --audio   kind of the inputs\n"
        "  --heads FILE    trained heads (safetensors from slava train) instead of the checkpoint's\n"
        "  --fps F         frames per second sampled from videos (default 1)\n"
        "  --threads N     threads (default: the cores available)\n"
        "  --              end of options: every later argument is an input, even '-x' or ''\n");
}

int cmd_embed(int argc, char **argv) {
    enum { K_NONE, K_TEXT, K_IMAGE, K_VIDEO, K_AUDIO } kind = K_NONE;
    cli_embed_opts o = {0};
    o.fps = 1.0;
    static const struct option longopts[] = {
        {"clip", required_argument, 0, 'c'}, {"clap", required_argument, 0, 'a'},
        {"text", no_argument, 0, 'T'},       {"image", no_argument, 0, 'I'},
        {"video", no_argument, 0, 'V'},      {"audio", no_argument, 0, 'A'},
        {"heads", required_argument, 0, 'H'},{"fps", required_argument, 0, 'f'},
        {"threads", required_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c, nkinds = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.clip_dir = optarg; break;
        case 'a': o.clap_dir = optarg; break;
        case 'T': kind = K_TEXT; nkinds++; break;
        case 'I': kind = K_IMAGE; nkinds++; break;
        case 'V': kind = K_VIDEO; nkinds++; break;
        case 'A': kind = K_AUDIO; nkinds++; break;
        case 'H': o.heads = optarg; break;
        case 'f':
            o.fps = cli_parse_double("--fps", optarg);
            if (!(o.fps > 0) || o.fps > 1000) { cli_error("--fps: must be in (0, 1000]"); return CLI_USAGE; }
            break;
        case 'j': {
            long v = cli_parse_long("--threads", optarg, 1, 1024);
            if (v < 0) return CLI_USAGE;
            o.threads = (int)v;
            break;
        }
        case 'h': embed_usage(stdout); return CLI_OK;
        case ':': cli_error("embed: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("embed: unknown option '%s' (slava embed --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (nkinds != 1) { cli_error("embed: give exactly one of --text, --image, --video, --audio"); return CLI_USAGE; }
    o.inputs = argv + optind;
    o.ninputs = argc - optind;
    if (o.ninputs == 0) { cli_error("embed: no inputs given"); return CLI_USAGE; }
    if (kind == K_AUDIO) {
        if (!o.clap_dir) { cli_error("embed: --audio needs --clap DIR"); return CLI_USAGE; }
    } else if (!o.clip_dir) {
        cli_error("embed: --text/--image/--video need --clip DIR");
        return CLI_USAGE;
    }
    slava_set_threads(o.threads);
    switch (kind) {
    case K_TEXT: return embed_text_run(&o);
    case K_IMAGE: return embed_image_run(&o, 0);
    case K_VIDEO: return embed_image_run(&o, 1);
    default: return embed_audio_run(&o);
    }
}
