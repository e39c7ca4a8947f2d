/*
 * bench_synth.c — cost of the media side of the pipeline on AVCaps-like clips (bench_media.h:
 * 50 s, 640×360 at 25 fps, AAC): writing them with `slava synth`'s generator, reading the
 * collection (captions JSON + one recursive scan for the videos), and the FFmpeg floor of
 * decoding them (demux + decode every video frame and all audio, no conversion) — the least
 * any encode pipeline must spend on decoding a clip before sampling frames at 1 fps.
 *
 * usage: bench_synth [--json] [N_CLIPS (default 4)] [DIR (default a fresh folder under /tmp)]
 */
#include <unistd.h>   /* before bench_util.h, which uses sysconf() */
#include "bench_util.h"
#include "bench_media.h"
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>

/* Decode every packet of every audio/video stream; returns frames decoded or -1. */
static long decode_all(const char *path, long *audio_frames) {
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path, NULL, NULL) < 0) return -1;
    if (avformat_find_stream_info(fc, NULL) < 0) { avformat_close_input(&fc); return -1; }
    AVCodecContext **dec = calloc(fc->nb_streams, sizeof *dec);
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        AVCodecParameters *par = fc->streams[i]->codecpar;
        if (par->codec_type != AVMEDIA_TYPE_VIDEO && par->codec_type != AVMEDIA_TYPE_AUDIO) continue;
        const AVCodec *codec = avcodec_find_decoder(par->codec_id);
        dec[i] = avcodec_alloc_context3(codec);
        avcodec_parameters_to_context(dec[i], par);
        dec[i]->thread_count = 1;
        if (avcodec_open2(dec[i], codec, NULL) < 0) avcodec_free_context(&dec[i]);
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    long video = 0;
    while (av_read_frame(fc, pkt) >= 0) {
        AVCodecContext *d = dec[pkt->stream_index];
        if (d && avcodec_send_packet(d, pkt) >= 0)
            while (avcodec_receive_frame(d, fr) >= 0) {
                if (d->codec_type == AVMEDIA_TYPE_VIDEO) video++;
                else (*audio_frames)++;
            }
        av_packet_unref(pkt);
    }
    for (unsigned i = 0; i < fc->nb_streams; i++)
        if (dec[i]) {
            avcodec_send_packet(dec[i], NULL);
            while (avcodec_receive_frame(dec[i], fr) >= 0) {
                if (dec[i]->codec_type == AVMEDIA_TYPE_VIDEO) video++;
                else (*audio_frames)++;
            }
            avcodec_free_context(&dec[i]);
        }
    free(dec);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avformat_close_input(&fc);
    return video;
}

int main(int argc, char **argv) {
    bench_begin(&argc, argv, "bench_synth");
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (n < 1) n = 4;
    char dir[512];
    if (argc > 2) snprintf(dir, sizeof dir, "%s", argv[2]);
    else snprintf(dir, sizeof dir, "/tmp/slava_bench_synth_%d", (int)getpid());
    slava_set_threads(0);
    av_log_set_level(AV_LOG_QUIET);

    printf("# bench_synth: AVCaps-like clips (%.0f s, %dx%d at %d fps, AAC, ~15 captions)\n",
           BENCH_AVCAPS_SECONDS, BENCH_AVCAPS_WIDTH, BENCH_AVCAPS_HEIGHT, BENCH_AVCAPS_FPS);
    bench_print_machine(stdout);
    bench_limits();
    bench_print_limits(stdout);
    printf("\n");

    slava_ctx *ctx = slava_ctx_new();
    double t0 = sv_now();
    if (bench_make_avcaps_like(ctx, dir, n, 1) != SLAVA_OK) {
        fprintf(stderr, "bench_synth: %s\n", slava_ctx_error(ctx));
        return 1;
    }
    double t_write = sv_now() - t0;

    slava_collection c = {0};
    t0 = sv_now();
    if (slava_collection_open(ctx, dir, NULL, 0, &c) != SLAVA_OK) {
        fprintf(stderr, "bench_synth: %s\n", slava_ctx_error(ctx));
        return 1;
    }
    double t_read = sv_now() - t0;
    int caps = 0;
    for (int i = 0; i < c.n; i++)
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) caps += c.clips[i].n_cap[k];

    long vframes = 0, aframes = 0;
    t0 = sv_now();
    for (int i = 0; i < c.n; i++) {
        long v = decode_all(c.clips[i].video, &aframes);
        if (v < 0) { fprintf(stderr, "bench_synth: %s: cannot decode\n", c.clips[i].video); return 1; }
        vframes += v;
    }
    double t_dec = sv_now() - t0;

    printf("| step | clips | time (s) | clips/min | per clip |\n|---|---|---|---|---|\n");
    printf("| write (synth, %d threads) | %d | %.2f | %.1f | %.2f s |\n", slava_get_threads(), n, t_write, 60.0 * n / t_write, t_write / n);
    printf("| read collection (%d captions, scan) | %d | %.4f | %.0f | %.2f ms |\n", caps, c.n, t_read, 60.0 * c.n / t_read, 1e3 * t_read / c.n);
    printf("| FFmpeg decode floor, 1 thread (%ld video + %ld audio frames) | %d | %.2f | %.1f | %.2f s |\n",
           vframes, aframes, c.n, t_dec, 60.0 * c.n / t_dec, t_dec / c.n);
    printf("\nAVCaps (2,061 clips, 28.8 h) at the decode floor on 1 thread: %.1f min\n", 2061 * (t_dec / c.n) / 60);
    bench_row("write AVCaps-like clips (synth)", n, "n/a", 60.0 * n / t_write, "clips/min", 0, 0);
    bench_row("read the collection (captions scan)", c.n, "n/a", 60.0 * c.n / t_read, "clips/min", 0, 0);
    bench_row("FFmpeg decode floor, 1 thread", c.n, "n/a", 60.0 * c.n / t_dec, "clips/min", 0, 0);

    slava_collection_free(&c);
    slava_ctx_free(ctx);
    if (argc <= 2) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_synth: could not remove %s\n", dir);
    }
    return bench_end();
}
