/*
 * test_serve_browser.c — the search page in a real browser: starts `slava serve` on a small indexed
 * collection and runs tests/browser/serve_page.mjs, which drives Debian's chromium (headless, a new
 * empty profile) through playwright-core: query → result cards → click → the video's currentTime is
 * the card's t_start; audio matches, ?q= links, keyboard use, an upload, a phone-sized window.
 * The screenshots (1280x800 and 390x844) are kept under the build tree's tmp/serve_browser/.
 * Needs what `make deps` installs: chromium, node, tests/browser/node_modules (npm ci).
 */
#include "serve_testutil.h"

#define BROWSER_DIR SLAVA_FIXTURES "/../browser"

/* Width and height from a PNG's IHDR, or -1. */
static int png_size(const char *path, int *w, int *h) {
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    if (n < 24 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) || memcmp(b + 12, "IHDR", 4)) return -1;
    *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    return 0;
}

int main(void) {
    const char *chromium = getenv("SLAVA_CHROMIUM") ? getenv("SLAVA_CHROMIUM") : "/usr/bin/chromium";
    int have = access(chromium, X_OK) == 0 && access(BROWSER_DIR "/node_modules/playwright-core/package.json", R_OK) == 0 &&
               run_cmd("node --version", NULL, NULL) == 0;
    CHECKF(have, "needs %s, node and tests/browser/node_modules/playwright-core: run `make deps`", chromium);
    if (!have) return test_done("serve_browser");

    char dir[1024], index[1100], out[1100], cmd[4096];
    snprintf(dir, sizeof dir, "%s", tmp_path("serve_browser"));
    snprintf(index, sizeof index, "%s/index.slx", dir);
    snprintf(out, sizeof out, "%s/shots", dir);
    if (srv_build_index(dir)) { CHECK(!"index built"); return test_done("serve_browser"); }
    mkdir(out, 0755);

    /* the upload: a clip of the collection with its audio track */
    slava_ctx *ctx = slava_ctx_new();
    slava_index *ix = NULL;
    CHECK_OK(ctx, slava_index_open(ctx, index, &ix));
    char upload[1100] = "";
    slava_index_info info;
    if (ix) {
        slava_index_get_info(ix, &info);
        for (int i = 0; i < info.n_clips && !upload[0]; i++) {
            slava_index_clip c;
            slava_index_get_clip(ix, i, &c);
            if (c.has_audio && c.source) snprintf(upload, sizeof upload, "%s", c.source);
        }
    }
    CHECK(upload[0]);

    test_server s;
    if (srv_start(&s, index, "--clip " SRV_CLIP " --clap " SRV_CLAP)) { CHECK(!"server started"); return test_done("serve_browser"); }
    char *o = NULL, *e = NULL;
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 180 node serve_page.mjs '%s' '%s' '%s'", BROWSER_DIR, s.url, out, upload);
    int rc = run_cmd(cmd, &o, &e);
    CHECKF(rc == 0 && o && strstr(o, "\"ok\":true"), "browser run: exit %d\n%s\n%s", rc, o ? o : "", e ? e : "");
    if (o) printf("%s", o);
    free(o);
    free(e);
    static const struct { const char *name; int w, h; } shots[] = {
        {"page-1280x800.png", 1280, 800}, {"player-1280x800.png", 1280, 800}, {"page-390x844.png", 390, 844}};
    for (size_t i = 0; i < sizeof shots / sizeof shots[0]; i++) {
        char p[1300];
        int w = 0, h = 0;
        snprintf(p, sizeof p, "%s/%s", out, shots[i].name);
        CHECKF(png_size(p, &w, &h) == 0 && w == shots[i].w && h == shots[i].h, "%s: %dx%d", p, w, h);
    }
    CHECK(srv_stop(&s, SIGTERM) == 143);
    slava_index_free(ix);
    slava_ctx_free(ctx);
    return test_done("serve_browser");
}
