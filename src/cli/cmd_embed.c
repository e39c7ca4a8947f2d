/*
 * cmd_embed.c — `slava embed`: parses the options, embeds every input with the library's
 * embedder (slava_embedder_load + slava_embed_texts / _images / _videos / _audios, src/embed/)
 * and prints one JSON line per input that worked (cli_embed_line), one error line on stderr per
 * input that failed, and for each video read one stderr line with its duration and frames.
 */
#include "cli/cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

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
        "  --force         use --heads even when they were trained on other encoders' features\n"
        "  --fps F         frames per second sampled from videos (default 1)\n"
        "  --precision P   fp32 (default) or bf16 (the encoders' products in bf16: weights converted\n"
        "                  once, inputs rounded, accumulation fp32; about twice as fast with AVX512-BF16)\n"
        "  --threads N     threads (default: the cores available)\n"
        "  --              end of options: every later argument is an input, even '-x' or ''\n");
}

typedef slava_status (*embed_fn)(slava_ctx *, slava_embedder *, int, const char *const *, slava_embedding *);

int cmd_embed(int argc, char **argv) {
    enum { K_TEXT, K_IMAGE, K_VIDEO, K_AUDIO, K_NONE } kind = K_NONE;
    slava_embedder_opts o;
    slava_embedder_opts_default(&o);
    const char *clip = NULL, *clap = NULL;
    int threads = 0;
    static const struct option longopts[] = {
        {"clip", required_argument, 0, 'c'}, {"clap", required_argument, 0, 'a'},
        {"text", no_argument, 0, 'T'},       {"image", no_argument, 0, 'I'},
        {"video", no_argument, 0, 'V'},      {"audio", no_argument, 0, 'A'},
        {"heads", required_argument, 0, 'H'},{"fps", required_argument, 0, 'f'},
        {"force", no_argument, 0, 'F'},      {"precision", required_argument, 0, 'P'},
        {"threads", required_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c, nkinds = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': clip = optarg; break;
        case 'a': clap = optarg; break;
        case 'T': kind = K_TEXT; nkinds++; break;
        case 'I': kind = K_IMAGE; nkinds++; break;
        case 'V': kind = K_VIDEO; nkinds++; break;
        case 'A': kind = K_AUDIO; nkinds++; break;
        case 'H': o.heads = optarg; break;
        case 'F': o.force_heads = 1; break;
        case 'f': if (cli_parse_fps(optarg, &o.fps) < 0) return CLI_USAGE; break;
        case 'P': if (cli_parse_precision(optarg, &o.precision) < 0) return CLI_USAGE; break;
        case 'j': {
            long v = cli_parse_long("--threads", optarg, 1, 1024);
            if (v < 0) return CLI_USAGE;
            threads = (int)v;
            break;
        }
        case 'h': embed_usage(stdout); return CLI_OK;
        case ':': cli_error("embed: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("embed: unknown option '%s' (slava embed --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (nkinds != 1) { cli_error("embed: give exactly one of --text, --image, --video, --audio"); return CLI_USAGE; }
    const int n = argc - optind;
    const char *const *inputs = (const char *const *)argv + optind;
    if (n == 0) { cli_error("embed: no inputs given"); return CLI_USAGE; }
    if (kind == K_AUDIO) {
        if (!clap) { cli_error("embed: --audio needs --clap DIR"); return CLI_USAGE; }
        o.clap_dir = clap;
        o.modalities = 1u << SLAVA_MOD_AUDIO;
    } else {
        if (!clip) { cli_error("embed: --text/--image/--video need --clip DIR"); return CLI_USAGE; }
        o.clip_dir = clip;
        o.modalities = 1u << (kind == K_TEXT ? SLAVA_MOD_TEXT : SLAVA_MOD_VISUAL);
    }
    slava_set_threads(threads);

    slava_ctx *ctx = slava_ctx_new();
    if (!ctx) { cli_error("out of memory"); return CLI_FAIL; }
    cli_log_install(ctx, 0);
    slava_embedder *e = NULL;
    slava_embedding *out = calloc((size_t)n, sizeof *out);
    int rc = CLI_OK;
    if (!out) { cli_error("embed: out of memory for %d inputs", n); rc = CLI_FAIL; goto done; }
    if (slava_embedder_load(ctx, &o, &e) != SLAVA_OK) { rc = cli_fail(ctx); goto done; }
    static const embed_fn fns[4] = {slava_embed_texts, slava_embed_images, slava_embed_videos, slava_embed_audios};
    if (fns[kind](ctx, e, n, inputs, out) != SLAVA_OK) rc = CLI_FAIL;
    for (int i = 0; i < n; i++) {
        const slava_embedding *r = &out[i];
        if (r->status != SLAVA_OK) { cli_error("%s", r->error ? r->error : slava_status_name(r->status)); continue; }
        if (kind == K_VIDEO)   /* what was read (stderr, so stdout stays JSON Lines) */
            fprintf(stderr, "slava: %s: %.2f s, %d frames sampled at %g fps (%lld decoded)\n", inputs[i], r->duration,
                    r->T, o.fps, (long long)r->frames_decoded);
        cli_embed_line(stdout, inputs[i], r, kind == K_VIDEO || kind == K_AUDIO);
    }
done:
    slava_embeddings_clear(out, out ? n : 0);
    free(out);
    slava_embedder_free(e);
    slava_ctx_free(ctx);
    return rc;
}
