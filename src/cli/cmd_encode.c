/*
 * cmd_encode.c — `slava encode`: a video collection in AVCaps' layout → feature store (frame,
 * audio-chunk and caption features of the frozen CLIP / CLAP encoders), resumable. Also
 * cli_encode_run, which `slava run` and the media demo share.
 */
#include "cli/cli_dist.h"
#include "cli/cli_pipeline.h"
#include <getopt.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(f,
        "usage: slava encode --data DIR --clip DIR --clap DIR --store FILE\n"
        "                    [--captions FILE --split train|val|test] [--fps F] [--retry-failed]\n"
        "                    [--shard I/N [--shard-dir DIR]] [--threads N] [--quiet]\n"
        "       mpirun -n N slava encode ... [--shard-dir DIR] [--send-shards]\n\n"
        "Encodes a video collection in AVCaps' layout (DIR/{train,val,test}_captions.json, each clip's\n"
        "video found by its id = file stem anywhere under DIR) into a feature store:\n"
        "  visual  frames sampled at --fps (middle of each interval) -> CLIP preprocessing -> CLIP image\n"
        "          tower, post-LN class token per frame            [frames, 768 for ViT-B/32]\n"
        "  audio   48 kHz mono in 10 s chunks (a last partial chunk kept from 1 s on) -> CLAP log-mel ->\n"
        "          HTSAT, pooled per chunk                          [chunks, 768]\n"
        "  text    every caption of the four kinds -> CLIP text tower, pooled   [512]\n"
        "Features are stored under the encoders' identity (sha256 of weights + config.json), so the\n"
        "features of different models never mix. Each clip is committed in one transaction: an\n"
        "interrupted run (even kill -9) is finished by running the same command again, which skips\n"
        "the groups of clips already stored and stores exactly what an uninterrupted run would. Changed\n"
        "inputs are noticed: a caption whose text changed gets new text features, a video whose path,\n"
        "size or mtime changed is hashed and, when its content differs, encoded again (its old features\n"
        "deleted); a clip the collection puts in another split than the store is an error. A clip\n"
        "that cannot be used (missing or corrupt video, no captions) is recorded with its reason\n"
        "(slava store info lists them; a rerun tries it again only with --retry-failed) and the others\n"
        "are still encoded; a clip without an audio track is encoded without audio features. Exit\n"
        "status 1 when any clip of the collection is recorded as failed.\n\n"
        "Under mpirun -n N, rank r encodes share r+1 of N (see --shard) into its own shard store\n"
        "(--shard-dir, e.g. a node's local disk); when all are through rank 0 merges them into --store\n"
        "(receiving over MPI a shard it cannot see) and the shards are removed. Killing any rank and\n"
        "running the same command again resumes. Only rank 0 prints. Give --threads (cores per rank).\n\n"
        "options:\n"
        "  --data DIR          collection folder (captions files + videos anywhere below)\n"
        "  --captions FILE     read this one captions file instead (with --split); videos are\n"
        "                      looked for under --data, or beside FILE without --data\n"
        "  --split S           split of --captions: train, val or test\n"
        "  --clip DIR          Hugging Face CLIP folder (e.g. openai/clip-vit-base-patch32)\n"
        "  --clap DIR          Hugging Face CLAP folder (e.g. laion/clap-htsat-unfused)\n"
        "  --store FILE        feature store (SQLite; created when missing)\n"
        "  --fps F             frames sampled per second (default 1)\n"
        CLI_PRECISION_HELP
        "  --frame-batch N     frames per image-tower batch, gathered across clips (default 64)\n"
        "  --chunk-batch N     10 s chunks per HTSAT call (default 8)\n"
        "  --caption-batch N   captions per text-tower batch (default 256)\n"
        "  --group N           clips per group, the unit of resumption (default 16): an interrupted\n"
        "                      group is encoded again whole; batches never span two groups\n"
        "  --retry-failed      try the clips recorded as failed again\n"
        "  --allow-split-change  move a stored clip that the collection now puts in another split\n"
        "                      (without it that is an error and nothing is written)\n"
        "  --verify-content    hash every video again, also those whose path, size and mtime are\n"
        "                      unchanged (default: only those are hashed)\n"
        "  --shard I/N         encode only share I of N (groups g with g mod N = I-1) into the shard\n"
        "                      store STORE.shard-I-of-N (for Slurm job arrays or shell loops); clips\n"
        "                      complete in --store are skipped. Merge the N shards with\n"
        "                      `slava store merge STORE SHARD...`: the result equals a one-process\n"
        "                      encode with the same options and threads, byte for byte\n"
        "  --shard-dir DIR     put the shard store in DIR (e.g. a node's local disk)\n"
        "  --send-shards       under mpirun: send every shard to rank 0 over MPI (rank 0 reads a\n"
        "                      shard in place when it sees the very file, else it is sent anyway)\n"
        "  --threads N         threads (default: the cores available); decoding runs ahead in one\n"
        "                      more thread\n"
        "  --quiet             no progress or summary on stderr (failures are still listed)\n");
}

/* One summary line per failed clip, at most `cap` of them. */
static void print_failures(const slava_encode_summary *s, int cap) {
    for (int i = 0; i < s->n_failures && i < cap; i++)
        cli_error("encode: failed: %s (%s): %s", s->failures[i].clip, slava_split_name(s->failures[i].split),
                  s->failures[i].reason);
    if (s->n_failures > cap)
        cli_error("encode: ... and %d more failed clips (slava store info --all lists them)", s->n_failures - cap);
}

/* Encode into a shard store (--shard I/N: `path`), or into the store itself. Clips already
 * complete in the store count as done for a shard. A run that stops before storing anything
 * leaves no empty store behind. */
static slava_status encode_local(slava_ctx *ctx, const cli_encode_args *a, const slava_collection *c, const char *path,
                                 slava_encode_summary *sum) {
    slava_store *s = NULL, *done = NULL;
    slava_encode_opts eo = a->enc;
    memset(sum, 0, sizeof *sum);
    if (a->shard_count > 0) {
        eo.shard_index = a->shard_index;
        eo.shard_count = a->shard_count;
        slava_status st = access(a->store, F_OK) == 0 ? slava_store_open(ctx, a->store, SLAVA_STORE_READ, &done) : SLAVA_OK;
        if (st) return st;
        eo.done = done;
    }
    int existed = access(path, F_OK) == 0;
    slava_status st = slava_store_open(ctx, path, SLAVA_STORE_CREATE, &s);
    if (!st) st = slava_store_lock_writer(ctx, s, 0);   /* a second writer is refused, not let in */
    if (!st) st = slava_encode_collection(ctx, c, s, &eo, sum);
    slava_store_info info;
    int empty = !s;
    if (st && s && !existed && slava_store_get_info(ctx, s, &info) == SLAVA_OK) {
        empty = info.clips[0] + info.clips[1] + info.clips[2] + info.failed[0] + info.failed[1] + info.failed[2] == 0;
        slava_store_info_free(&info);
    }
    slava_store_close(s);
    slava_store_close(done);
    if (st && !existed && empty) slava_store_remove(path);
    return st;
}

int cli_encode_run(slava_ctx *ctx, const cli_encode_args *a, char ids[SLAVA_MODS][SLAVA_ENCODER_ID_LEN]) {
    slava_collection c;
    memset(&c, 0, sizeof c);
    if (slava_collection_open(ctx, a->data_dir, a->captions, a->split, &c)) {
        cli_fail(ctx);
        slava_collection_free(&c);   /* what a failed read had allocated */
        return -1;
    }
    const int ranks = slava_dist_size(), quiet = a->quiet || slava_dist_rank() > 0;   /* rank 0 reports */
    char path[4096], what[64] = "";
    snprintf(path, sizeof path, "%s", a->store);
    if (a->shard_count > 0) {
        cli_shard_path(path, sizeof path, a->store, a->shard_dir, a->shard_index, a->shard_count);
        snprintf(what, sizeof what, " (shard %d/%d)", a->shard_index, a->shard_count);
    } else if (ranks > 1) {
        snprintf(what, sizeof what, " (%d ranks)", ranks);
    }
    if (!quiet)
        fprintf(stderr, "slava: encode: %d clips (%d video files found, %d missing, %d ambiguous)%s -> %s\n", c.n,
                c.n_videos, c.n_missing, c.n_ambiguous, what, ranks > 1 ? a->store : path);
    slava_encode_summary sum;
    slava_store_counts merged;
    slava_status st;
    if (ranks > 1) {
        /* rank r encodes shard r+1 of N into its own shard store (--shard-dir: e.g. local disk) */
        char shard[4096];
        cli_shard_path(shard, sizeof shard, a->store, a->shard_dir, slava_dist_rank() + 1, ranks);
        st = slava_encode_dist(ctx, &c, a->store, shard, &a->enc, a->send_shards ? SLAVA_DIST_SEND_SHARDS : 0, &sum, &merged);
    } else {
        st = encode_local(ctx, a, &c, path, &sum);
    }
    int rc = 0, stopped = st == SLAVA_E_INTERRUPTED && cli_stop_signal();
    if (stopped) {
        /* every clip is one transaction: what was committed stays, the clip in flight is dropped */
        int left = sum.clips - sum.skipped - sum.prev_failed - sum.encoded - sum.failed;
        cli_interrupted("%s keeps every clip committed (%d by this run, %d before it); %d clips still to encode: "
                        "run the same command again to finish (stored clips are skipped)",
                        path, sum.encoded + sum.failed, sum.skipped + sum.prev_failed, left);
        rc = -1;
    } else if (st) {
        cli_fail(ctx);
        rc = -1;
    }
    char prev[96] = "";
    if (sum.prev_failed)
        snprintf(prev, sizeof prev, " (+%d failed in an earlier run, not retried: --retry-failed)", sum.prev_failed);
    char upd[96] = "";
    if (sum.updated || sum.moved)
        snprintf(upd, sizeof upd, ", %d updated (video or captions changed), %d moved to another split", sum.updated,
                 sum.moved);
    if (!quiet && !stopped && (!st || sum.encoded || sum.failed)) {   /* (a run that stopped at once: just its error) */
        fprintf(stderr,
                "slava: encode%s: %d clips: %d encoded (%d without audio)%s, %d already stored, %d failed%s; "
                "%lld frames, %lld audio chunks, %lld captions (%lld reused) in %.1f s\n",
                what, sum.clips, sum.encoded, sum.no_audio, upd, sum.skipped, sum.failed, prev, (long long)sum.frames,
                (long long)sum.chunks, (long long)sum.captions, (long long)sum.captions_reused, sum.seconds);
        if (sum.encoded)
            fprintf(stderr, "slava: encode: time%s: decode %.1f s (parallel thread), waiting for decode %.1f s, "
                    "vision %.1f s, audio %.1f s, text %.1f s, store %.1f s\n", ranks > 1 ? " (all ranks)" : "",
                    sum.t_decode, sum.t_wait, sum.t_vision, sum.t_audio, sum.t_text, sum.t_store);
        if (!st && ranks > 1)
            fprintf(stderr, "slava: encode: merged %d shards into %s: %lld clips, %lld captions, %lld feature items added\n",
                    ranks, a->store, (long long)merged.clips, (long long)merged.captions, (long long)merged.features);
        if (!st && a->shard_count > 0)
            fprintf(stderr, "slava: encode: shard %d/%d is complete; once all %d are: slava store merge %s %s ...\n",
                    a->shard_index, a->shard_count, a->shard_count, a->store, path);
    }
    if (!stopped) print_failures(&sum, 20);
    if (!st && (sum.failed || sum.prev_failed)) rc = 1;
    if (ids) memcpy(ids, sum.encoder_id, sizeof sum.encoder_id);
    slava_encode_summary_free(&sum);
    slava_collection_free(&c);
    return rc;
}

int cmd_encode(int argc, char **argv) {
    enum { O_DATA = 256, O_CAPTIONS, O_SPLIT, O_CLIP, O_CLAP, O_STORE, O_FPS, O_FB, O_CB, O_TB, O_THREADS, O_QUIET, O_GROUP, O_RETRY,
           O_ALLOW_SPLIT, O_VERIFY, O_SHARD, O_SHARD_DIR, O_SEND, O_PRECISION };
    static const struct option longopts[] = {
        {"data", required_argument, 0, O_DATA}, {"captions", required_argument, 0, O_CAPTIONS},
        {"split", required_argument, 0, O_SPLIT}, {"clip", required_argument, 0, O_CLIP},
        {"clap", required_argument, 0, O_CLAP}, {"store", required_argument, 0, O_STORE},
        {"fps", required_argument, 0, O_FPS}, {"frame-batch", required_argument, 0, O_FB},
        {"chunk-batch", required_argument, 0, O_CB}, {"caption-batch", required_argument, 0, O_TB},
        {"threads", required_argument, 0, O_THREADS}, {"quiet", no_argument, 0, O_QUIET},
        {"group", required_argument, 0, O_GROUP}, {"retry-failed", no_argument, 0, O_RETRY},
        {"allow-split-change", no_argument, 0, O_ALLOW_SPLIT}, {"verify-content", no_argument, 0, O_VERIFY},
        {"shard", required_argument, 0, O_SHARD}, {"shard-dir", required_argument, 0, O_SHARD_DIR},
        {"send-shards", no_argument, 0, O_SEND}, {"precision", required_argument, 0, O_PRECISION},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    cli_encode_args a;
    memset(&a, 0, sizeof a);
    slava_encode_opts_default(&a.enc);
    a.split = -1;
    int c, threads = 0;
    long v;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DATA: a.data_dir = optarg; break;
        case O_CAPTIONS: a.captions = optarg; break;
        case O_SPLIT: {
            slava_ctx *t = slava_ctx_new();
            slava_status st = slava_split_parse(t, optarg, &a.split);
            slava_ctx_free(t);
            if (st) { cli_error("--split: expected train, val or test, got '%s'", optarg); return CLI_USAGE; }
            break;
        }
        case O_CLIP: a.enc.clip_dir = optarg; break;
        case O_CLAP: a.enc.clap_dir = optarg; break;
        case O_STORE: a.store = optarg; break;
        case O_FPS:
            if (cli_parse_fps(optarg, &a.enc.fps) < 0) return CLI_USAGE;
            break;
        case O_FB: if ((v = cli_parse_long("--frame-batch", optarg, 1, 4096)) < 0) return CLI_USAGE; a.enc.frame_batch = (int)v; break;
        case O_CB: if ((v = cli_parse_long("--chunk-batch", optarg, 1, 1024)) < 0) return CLI_USAGE; a.enc.chunk_batch = (int)v; break;
        case O_TB: if ((v = cli_parse_long("--caption-batch", optarg, 1, 65536)) < 0) return CLI_USAGE; a.enc.caption_batch = (int)v; break;
        case O_THREADS: if ((v = cli_parse_long("--threads", optarg, 1, 1024)) < 0) return CLI_USAGE; threads = (int)v; break;
        case O_QUIET: a.quiet = 1; break;
        case O_GROUP: if ((v = cli_parse_long("--group", optarg, 1, 1000000)) < 0) return CLI_USAGE; a.enc.group_clips = (int)v; break;
        case O_RETRY: a.enc.retry_failed = 1; break;
        case O_ALLOW_SPLIT: a.enc.allow_split_change = 1; break;
        case O_VERIFY: a.enc.verify_content = 1; break;
        case O_SHARD: if (cli_parse_shard("--shard", optarg, &a.shard_index, &a.shard_count)) return CLI_USAGE; break;
        case O_SHARD_DIR: a.shard_dir = optarg; break;
        case O_SEND: a.send_shards = 1; break;
        case O_PRECISION: if (cli_parse_precision(optarg, &a.enc.precision) < 0) return CLI_USAGE; break;
        case 'h': usage(stdout); return CLI_OK;
        case ':': cli_error("encode: option '%s' needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_error("encode: unknown option '%s' (slava encode --help)", argv[optind - 1]); return CLI_USAGE;
        }
    }
    if (optind < argc) { cli_error("encode: unexpected argument '%s'", argv[optind]); return CLI_USAGE; }
    if (!a.data_dir && !a.captions) { cli_error("encode: --data DIR (or --captions FILE --split S) is required (slava encode --help)"); return CLI_USAGE; }
    if (a.captions && a.split < 0) { cli_error("encode: --captions needs --split train|val|test"); return CLI_USAGE; }
    if (!a.captions && a.split >= 0) { cli_error("encode: --split goes with --captions FILE"); return CLI_USAGE; }
    if (!a.enc.clip_dir) { cli_error("encode: --clip DIR (a Hugging Face CLIP folder) is required"); return CLI_USAGE; }
    if (!a.enc.clap_dir) { cli_error("encode: --clap DIR (a Hugging Face CLAP folder) is required"); return CLI_USAGE; }
    if (!a.store) { cli_error("encode: --store FILE is required"); return CLI_USAGE; }
    if (a.shard_dir && !a.shard_count && slava_dist_size() == 1) {
        cli_error("encode: --shard-dir goes with --shard I/N (or mpirun)");
        return CLI_USAGE;
    }
    if (a.shard_count && slava_dist_size() > 1) {
        cli_error("encode: --shard I/N is for runs without mpirun (under mpirun each rank takes its share)");
        return CLI_USAGE;
    }
    slava_set_threads(threads);
    slava_ctx *ctx = slava_ctx_new();
    cli_progress_install(ctx, a.quiet);
    cli_log_install(ctx, a.quiet);
    int rc = cli_encode_run(ctx, &a, NULL);
    slava_ctx_free(ctx);
    return rc < 0 ? cli_stopped_status() : rc ? CLI_FAIL : CLI_OK;
}
