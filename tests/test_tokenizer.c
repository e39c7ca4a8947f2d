/*
 * test_tokenizer.c — the CLIP tokenizer against openai's clip.tokenize: every caption of
 * tests/fixtures/text must give exactly the fixture ids (and BPE counts); edge inputs (invalid
 * UTF-8, NUL bytes, 100 KB, whitespace only, emoji, CJK, entities, mojibake) tokenise without
 * error; the clean-up pieces (html.unescape, lower-case, ftfy steps) on hand-checked strings;
 * vocab.json / merges.txt missing or malformed give one clear error naming the file.
 */
#include "test.h"
#include "io/safetensors.h"
#include "text/tokenizer.h"
#include "text/text_clean.h"
#include <sys/stat.h>

static const int32_t *i32(const sv_stfile *f, const char *name, int64_t *numel) {
    const sv_tensor *t = sv_st_find(f, name);
    if (!t || t->dtype != SV_I32) return NULL;
    *numel = t->numel;
    return t->data;
}

static char *clean(sv_cleaner *c, const char *s) {
    char *o = NULL;
    size_t n;
    if (sv_clean_text(c, s, strlen(s), &o, &n)) return NULL;
    return o;
}

static void check_clean(sv_cleaner *c, const char *in, const char *want) {
    char *got = clean(c, in);
    CHECKF(got && !strcmp(got, want), "clean('%s') = '%s', want '%s'", in, got ? got : "(null)", want);
    free(got);
}

static void write_file(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    fputs(s, f);
    fclose(f);
}

static void copy_file(const char *src, const char *dst) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
    CHECK(system(cmd) == 0);
}

/* Loading a tokenizer from dir must fail with a one-line message containing needle. */
static void expect_load_error(slava_ctx *ctx, const char *dir, const char *needle) {
    slava_tokenizer *t = NULL;
    slava_status st = slava_tokenizer_load(ctx, dir, &t);
    const char *m = slava_ctx_error(ctx);
    CHECKF(st != SLAVA_OK && t == NULL, "%s: loaded", dir);
    CHECKF(strstr(m, needle) && !strchr(m, '\n'), "%s: message '%s' lacks '%s'", dir, m, needle);
    slava_tokenizer_free(t);
}

int main(void) {
    slava_ctx *ctx = slava_ctx_new();
    slava_tokenizer *tok = NULL;
    CHECK_OK(ctx, slava_tokenizer_load(ctx, fixture("clip-model"), &tok));
    if (!tok) return test_done("tokenizer");
    CHECK(slava_tokenizer_bos(tok) == 49406 && slava_tokenizer_eos(tok) == 49407);

    /* ---- parity with openai clip.tokenize on every fixture caption */
    sv_stfile *cf = NULL, *tf = NULL;
    CHECK_OK(ctx, sv_st_open(ctx, fixture("text/captions.safetensors"), &cf));
    CHECK_OK(ctx, sv_st_open(ctx, fixture("text/tokens.safetensors"), &tf));
    if (cf && tf) {
        int64_t noff = 0, nids = 0, nbpe = 0, neot = 0;
        const int32_t *offs = i32(cf, "offsets", &noff);
        const sv_tensor *u8 = sv_st_find(cf, "utf8");
        const int32_t *want = i32(tf, "input_ids", &nids);
        const int32_t *want_bpe = i32(tf, "num_bpe_tokens", &nbpe);
        const int32_t *want_eot = i32(tf, "eot_index", &neot);
        CHECK(offs && u8 && want && want_bpe && want_eot && nids == (noff - 1) * 77);
        int ncap = (int)noff - 1, exact = 0;
        for (int i = 0; offs && u8 && want && want_bpe && want_eot && i < ncap; i++) {
            const char *text = (const char *)u8->data + offs[i];
            size_t len = (size_t)(offs[i + 1] - offs[i]);
            int ids[77], n = 0, nb = 0;
            CHECK_OK(ctx, slava_tokenize(ctx, tok, text, len, 77, ids, &n, &nb));
            int ok = nb == want_bpe[i];
            for (int k = 0; k < 77; k++) ok &= (k < n ? ids[k] : 0) == want[i * 77 + k];
            int eot = -1;
            for (int k = 0; k < n && eot < 0; k++) if (ids[k] == 49407) eot = k;
            ok &= eot == want_eot[i];
            exact += ok;
            if (!ok) {
                fprintf(stderr, "caption %d '%.*s': bpe %d (want %d)\n  got :", i, (int)len, text, nb, want_bpe[i]);
                for (int k = 0; k < n; k++) fprintf(stderr, " %d", ids[k]);
                fprintf(stderr, "\n  want:");
                for (int k = 0; k < 77 && (k == 0 || want[i * 77 + k]); k++) fprintf(stderr, " %d", want[i * 77 + k]);
                fprintf(stderr, "\n");
            }
            CHECKF(ok, "caption %d differs from openai's ids", i);
            /* without n_bpe the tokenizer may stop early: same ids */
            int ids2[77], n2 = 0;
            CHECK_OK(ctx, slava_tokenize(ctx, tok, text, len, 77, ids2, &n2, NULL));
            CHECK(n2 == n && !memcmp(ids, ids2, sizeof(int) * (size_t)n));
        }
        printf("tokenizer parity: %d / %d captions exact\n", exact, ncap);
        CHECK(exact == ncap && ncap == 43);
    }
    sv_st_close(cf);
    sv_st_close(tf);

    /* ---- truncation keeps eos last; short context */
    {
        int ids[5], n = 0, nb = 0;
        const char *s = "one two three four five six";
        CHECK_OK(ctx, slava_tokenize(ctx, tok, s, strlen(s), 5, ids, &n, &nb));
        CHECK(n == 5 && ids[0] == 49406 && ids[4] == 49407 && nb == 6);
        CHECK(slava_tokenize(ctx, tok, s, strlen(s), 1, ids, &n, NULL) == SLAVA_E_ARG);
    }

    /* ---- edge inputs: no error, always [bos ... eos] */
    {
        static char big[100 * 1024 + 1];
        for (size_t i = 0; i < sizeof big - 1; i++) big[i] = "a dog barks, then 3 cats meow!\n"[i % 31];
        const char nul[] = "a\0b\0\0c";
        const char *inval[] = {"\xff\xfe broken \xc3 utf8 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 end", "\x80", "\xc0\xaf"};
        struct { const char *s; size_t n; } cases[] = {
            {big, sizeof big - 1}, {nul, sizeof nul - 1}, {inval[0], strlen(inval[0])}, {inval[1], 1}, {inval[2], 2},
            {"   \t\n  ", 7}, {"", 0}, {"\xf0\x9f\x98\x80\xf0\x9f\x8e\x89", 8}, {"\xe6\x9d\xb1\xe4\xba\xac", 6},
            {"&amp;amp;amp;amp; &#x110000; &#99999999999999999999; &#0; &#; &", 61},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            int ids[77], n = 0, nb = -1;
            CHECK_OK(ctx, slava_tokenize(ctx, tok, cases[c].s, cases[c].n, 77, ids, &n, &nb));
            CHECKF(n >= 2 && n <= 77 && ids[0] == 49406 && ids[n - 1] == 49407, "edge case %zu", c);
        }
        /* 100 KB: 77 ids, all BPE'd, the untruncated count is large */
        int ids[77], n = 0, nb = 0;
        CHECK_OK(ctx, slava_tokenize(ctx, tok, big, sizeof big - 1, 77, ids, &n, &nb));
        CHECK(n == 77 && nb > 20000);
        /* NUL bytes are removed: "a\0b" tokenises like "ab" */
        int a[77], na = 0, b2[77], nb2 = 0;
        CHECK_OK(ctx, slava_tokenize(ctx, tok, "a\0b", 3, 77, a, &na, NULL));
        CHECK_OK(ctx, slava_tokenize(ctx, tok, "ab", 2, 77, b2, &nb2, NULL));
        CHECK(na == nb2 && !memcmp(a, b2, sizeof(int) * (size_t)na));
        /* invalid UTF-8 → U+FFFD ("\xef\xbf\xbd"), like Python's errors='replace' */
        CHECK_OK(ctx, slava_tokenize(ctx, tok, "x\xffy", 3, 77, a, &na, NULL));
        CHECK_OK(ctx, slava_tokenize(ctx, tok, "x\xef\xbf\xbdy", 5, 77, b2, &nb2, NULL));
        CHECK(na == nb2 && !memcmp(a, b2, sizeof(int) * (size_t)na));
    }

    /* ---- clean-up pieces on hand-checked strings (Python / ftfy results) */
    {
        sv_cleaner *c = sv_cleaner_new();
        CHECK(c != NULL);
        if (c) {
            check_clean(c, "  Hello \t World \n", "hello world");
            check_clean(c, "&lt;b&gt; &amp;amp; &copy &notit; &#65;&#x42;&#X43 &#128; &bogus;", "<b> & © ¬it; abc € &bogus;");
            check_clean(c, "a <b> &amp;amp; c", "a <b> & c");                  /* ftfy off: html.unescape twice */
            check_clean(c, "&EACUTE;t\xc3\xa9", "\xc3\xa9t\xc3\xa9");          /* ftfy's upper-case entity */
            check_clean(c, "ΣΟΦΟΣ Σ", "σοφος σ");                              /* final sigma */
            check_clean(c, "\xc4\xb0stanbul", "i\xcc\x87stanbul");              /* İ → i + U+0307 */
            check_clean(c, "\xef\xac\x81ne \xef\xbc\xa6\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c", "fine full");
            check_clean(c, "\xe2\x80\x9cq\xe2\x80\x9d \xe2\x80\x98s\xe2\x80\x99", "\"q\" 's'");
            check_clean(c, "sch\xc3\x83\xc2\xb6n", "sch\xc3\xb6n");             /* mojibake fixed */
            check_clean(c, "caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9 na\xc3\xafve"); /* real accents untouched */
            check_clean(c, "e\xcc\x81", "\xc3\xa9");                           /* NFC */
            check_clean(c, "\xc2\x93quoted\xc2\x94", "\"quoted\"");            /* C1 → Windows-1252 → uncurled */
            check_clean(c, "a\xe2\x80\xa8" "b\r\nc\x0b" "d\xef\xbb\xbf" "e", "a b cde");
            check_clean(c, "\x1b[36;44mblue\x1b[0m \x1b[x \x1b[1;2", "blue [1;2");      /* terminal escapes */
            sv_cleaner_free(c);
        }
    }

    /* ---- vocab / merges missing or malformed: one clear error naming the file */
    {
        const char *d = tmp_path("tok_bad");
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", d, d);
        CHECK(system(cmd) == 0);
        char vocab[1200], merges[1200];
        snprintf(vocab, sizeof vocab, "%s/vocab.json", d);
        snprintf(merges, sizeof merges, "%s/merges.txt", d);
        expect_load_error(ctx, d, "vocab.json");                           /* missing */
        copy_file(fixture("clip-model/vocab.json"), vocab);
        expect_load_error(ctx, d, "merges.txt");                           /* missing */
        write_file(merges, "#version: 0.2\ni n\nthis line has three\n");
        expect_load_error(ctx, d, "merges.txt: line 3");
        write_file(merges, "#version: 0.2\ni n\nq\xc3\xa9\xc3\xa9 zz\n");
        expect_load_error(ctx, d, "missing from vocab.json");
        write_file(merges, "#version: 0.2\n");
        expect_load_error(ctx, d, "no merges");
        copy_file(fixture("clip-model/merges.txt"), merges);
        write_file(vocab, "{\"a\": 1, ");
        expect_load_error(ctx, d, "vocab.json: not valid JSON");
        write_file(vocab, "[1, 2, 3]");
        expect_load_error(ctx, d, "vocab.json: expected a JSON object");
        write_file(vocab, "{\"a\": \"x\"}");
        expect_load_error(ctx, d, "vocab.json");
        /* re-formatted vocab (pretty-printed, \u escapes) still loads and tokenises the same */
        FILE *src = fopen(fixture("clip-model/vocab.json"), "rb");
        FILE *dst = fopen(vocab, "wb");
        int ch, instr = 0, esc = 0;
        while (src && dst && (ch = fgetc(src)) != EOF) {
            if (instr && !esc && ch >= 0x80) {
                /* rewrite 2-byte UTF-8 sequences as \u escapes */
                int c2 = fgetc(src);
                if ((ch & 0xE0) == 0xC0 && c2 != EOF) { fprintf(dst, "\\u%04x", ((ch & 0x1F) << 6) | (c2 & 0x3F)); continue; }
                fputc(ch, dst);
                if (c2 != EOF) fputc(c2, dst);
                continue;
            }
            if (ch == '"' && !esc) instr = !instr;
            esc = instr && ch == '\\' && !esc;
            fputc(ch, dst);
            if (!instr && ch == ',') fputs("\n  ", dst);
        }
        if (src) fclose(src);
        if (dst) fclose(dst);
        slava_tokenizer *t2 = NULL;
        CHECK_OK(ctx, slava_tokenizer_load(ctx, d, &t2));
        if (t2) {
            const char *s = "Crème brûlée at the café, naïve façade";
            int x[77], nx = 0, y[77], ny = 0;
            CHECK_OK(ctx, slava_tokenize(ctx, tok, s, strlen(s), 77, x, &nx, NULL));
            CHECK_OK(ctx, slava_tokenize(ctx, t2, s, strlen(s), 77, y, &ny, NULL));
            CHECK(nx == ny && nx > 5 && !memcmp(x, y, sizeof(int) * (size_t)nx));
        }
        slava_tokenizer_free(t2);
    }

    slava_tokenizer_free(tok);
    slava_ctx_free(ctx);
    return test_done("tokenizer");
}
