/*
 * text_clean.c — caption clean-up before BPE, matching openai's simple_tokenizer:
 *   basic_clean:      ftfy.fix_text → html.unescape twice → strip
 *   whitespace_clean: \s+ → ' ' → strip;  then str.lower()
 *
 * ftfy.fix_text (6.x defaults) is reproduced step by step: the text is fixed one line at a time
 * (segments end after '\n'); HTML entities are decoded ("auto": not in a segment containing '<',
 * nor in any later one); then, repeated until nothing changes:
 *   unescape_html → fix_encoding → fix_c1_controls → fix_latin_ligatures → fix_character_width →
 *   uncurl_quotes → fix_line_breaks → remove_terminal_escapes → remove_control_chars → NFC.
 * fix_encoding undoes UTF-8 mojibake when ftfy's "badness" pattern fires and the text re-encodes
 * as Latin-1 or sloppy Windows-1252 into valid UTF-8 (with restore_byte_a0, the lossy-sequence
 * replacement and the CESU-8 / Java-NUL variants). Differences from ftfy, all rare in captions:
 * mojibake through the other single-byte code pages ftfy tries (Windows-1250/1251/1253/1254/1257,
 * ISO-8859-2, MacRoman, CP437) and ftfy's decode_inconsistent_utf8 (mojibake mixed with correct
 * text in one line) are left as they are. Surrogate fixing is a no-op here because the input is
 * bytes: UTF-8-encoded surrogates are invalid UTF-8 and become U+FFFD on decoding.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/text_clean.h"
#include "base/base.h"
#include "text/html_entities.h"
#include <pcre2.h>
#include <utf8proc.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ code point arrays */

static int u32s_reserve(sv_u32s *s, size_t need) {
    if (need <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need) cap *= 2;
    uint32_t *p = realloc(s->p, cap * sizeof *p);
    if (!p) return -1;
    s->p = p;
    s->cap = cap;
    return 0;
}

int sv_u32s_push(sv_u32s *s, uint32_t c) {
    if (s->n == s->cap && u32s_reserve(s, s->n + 1)) return -1;
    s->p[s->n++] = c;
    return 0;
}

static int u32s_append(sv_u32s *s, const uint32_t *p, size_t n) {
    if (u32s_reserve(s, s->n + n)) return -1;
    if (n) memcpy(s->p + s->n, p, n * sizeof *p);
    s->n += n;
    return 0;
}

void sv_u32s_free(sv_u32s *s) {
    free(s->p);
    s->p = NULL;
    s->n = s->cap = 0;
}

static void u32s_swap(sv_u32s *a, sv_u32s *b) {
    sv_u32s t = *a;
    *a = *b;
    *b = t;
}

static int u32s_equal(const sv_u32s *a, const sv_u32s *b) {
    return a->n == b->n && (a->n == 0 || !memcmp(a->p, b->p, a->n * sizeof *a->p));
}

/* ------------------------------------------------------------------ UTF-8 */

int sv_utf8_decode(const char *s, size_t len, sv_u32s *out) {
    const unsigned char *u = (const unsigned char *)s;
    if (u32s_reserve(out, out->n + len)) return -1;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int r = sv_utf8_next(u, len, i, &cp);
        if (r > 0) { out->p[out->n++] = cp; i += r; }
        else { out->p[out->n++] = 0xFFFD; i += -r; }
    }
    return 0;
}

/* Strict decode (Python's bytes.decode('utf-8')), optionally with ftfy's "utf-8-variants":
 * CESU-8 surrogate pairs and the Java NUL C0 80. Returns 0, 1 (invalid) or -1 (no memory). */
static int utf8_decode_strict(const unsigned char *u, size_t len, int variants, sv_u32s *out) {
    out->n = 0;
    if (u32s_reserve(out, len + 1)) return -1;
    for (size_t i = 0; i < len;) {
        if (variants) {
            if (u[i] == 0xC0 && i + 1 < len && u[i + 1] == 0x80) { out->p[out->n++] = 0; i += 2; continue; }
            if (u[i] == 0xED && i + 5 < len && u[i + 1] >= 0xA0 && u[i + 1] <= 0xAF &&
                (u[i + 2] & 0xC0) == 0x80 && u[i + 3] == 0xED && u[i + 4] >= 0xB0 && u[i + 4] <= 0xBF &&
                (u[i + 5] & 0xC0) == 0x80) {
                uint32_t hs = 0xD000 | ((uint32_t)(u[i + 1] & 0x3F) << 6) | (u[i + 2] & 0x3F);
                uint32_t ls = 0xD000 | ((uint32_t)(u[i + 4] & 0x3F) << 6) | (u[i + 5] & 0x3F);
                out->p[out->n++] = 0x10000 + ((hs - 0xD800) << 10) + (ls - 0xDC00);
                i += 6;
                continue;
            }
        }
        uint32_t cp;
        int r = sv_utf8_next(u, len, i, &cp);
        if (r < 0) return 1;
        out->p[out->n++] = cp;
        i += r;
    }
    return 0;
}

static size_t utf8_put(uint32_t c, char *o) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

int sv_utf8_encode(const uint32_t *p, size_t n, char **out, size_t *out_len) {
    char *o = malloc(n * 4 + 1);
    if (!o) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += utf8_put(p[i] > 0x10FFFF ? 0xFFFD : p[i], o + k);
    o[k] = 0;
    *out = o;
    if (out_len) *out_len = k;
    return 0;
}

/* ------------------------------------------------------------------ Windows-1252 */

/* Bytes 0x80..0x9F in Windows-1252; 0 = undefined (the "sloppy" codec keeps the C1 code point). */
static const uint16_t CP1252_HI[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
    0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
    0x0153, 0, 0x017E, 0x0178};

/* Sloppy Windows-1252 encoding of one code point, -1 when impossible. */
static int sloppy1252_byte(uint32_t c) {
    if (c < 0x80) return c == 0x1A ? -1 : (int)c;
    if (c >= 0xA0 && c <= 0xFF) return (int)c;
    if (c == 0xFFFD) return 0x1A;
    for (int i = 0; i < 32; i++) {
        if (CP1252_HI[i] == c) return 0x80 + i;
        if (!CP1252_HI[i] && c == 0x80u + i) return 0x80 + i;
    }
    return -1;
}

/* ------------------------------------------------------------------ Python html.unescape */

static int is_ascii_alnum(uint32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Python's html._replace_charref for a numeric reference. Pushes 0 or 1 code points. */
static int push_numeric_ref(sv_u32s *o, uint32_t num, int overflow) {
    if (!overflow && num >= 0x80 && num <= 0x9F) {
        uint32_t m = CP1252_HI[num - 0x80];
        return sv_u32s_push(o, m ? m : num);
    }
    if (!overflow && num == 0x00) return sv_u32s_push(o, 0xFFFD);
    if (!overflow && num == 0x0D) return sv_u32s_push(o, '\r');
    if (overflow || num > 0x10FFFF || (num >= 0xD800 && num <= 0xDFFF)) return sv_u32s_push(o, 0xFFFD);
    if ((num >= 0x1 && num <= 0x8) || (num >= 0xE && num <= 0x1F) || (num >= 0x7F && num <= 0x9F) ||
        (num >= 0xFDD0 && num <= 0xFDEF) || num == 0xB || (num & 0xFFFE) == 0xFFFE)
        return 0;
    return sv_u32s_push(o, num);
}

static int named_ok_char(uint32_t c) {
    return !(c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';');
}

/* Entity name from code points (ASCII only; non-ASCII names never match). */
static const sv_html_entity *find_entity(const uint32_t *p, size_t n) {
    char name[40];
    if (n >= sizeof name) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x80) return NULL;
        name[i] = (char)p[i];
    }
    return sv_html_entity_find(name, n);
}

/* Tries to decode one reference starting at in[i] == '&'. Returns the number of input code points
 * consumed (0: not a reference; '&' is then copied by the caller). */
static size_t html_ref(const uint32_t *in, size_t n, size_t i, sv_u32s *o, int *err) {
    size_t j = i + 1;
    if (j < n && in[j] == '#') {
        size_t k = j + 1;
        int hex = 0;
        if (k < n && (in[k] == 'x' || in[k] == 'X')) {
            /* '#[0-9]+' is tried first, but it cannot match at 'x' */
            hex = 1;
            k++;
        }
        size_t d0 = k;
        uint32_t num = 0;
        int overflow = 0;
        while (k < n) {
            uint32_t c = in[k];
            int v;
            if (c >= '0' && c <= '9') v = (int)(c - '0');
            else if (hex && c >= 'a' && c <= 'f') v = (int)(c - 'a' + 10);
            else if (hex && c >= 'A' && c <= 'F') v = (int)(c - 'A' + 10);
            else break;
            if (num > 0x10FFFF) overflow = 1;
            else num = num * (hex ? 16 : 10) + (uint32_t)v;
            k++;
        }
        if (k == d0) return 0;   /* no digits: '&#' left as is */
        if (k < n && in[k] == ';') k++;
        if (push_numeric_ref(o, num, overflow)) *err = 1;
        return k - i;
    }
    /* named: [^\t\n\f <&#;]{1,32};? */
    size_t k = j;
    while (k < n && k - j < 32 && named_ok_char(in[k])) k++;
    if (k == j) return 0;
    size_t name_end = k;
    int semi = k < n && in[k] == ';';
    const sv_html_entity *e = find_entity(in + j, name_end - j);
    if (e && (semi || e->legacy)) {
        if (sv_u32s_push(o, e->cp)) *err = 1;
        return name_end - i + (size_t)semi;
    }
    /* longest legacy prefix (length >= 2) of s = name[;] shorter than s */
    size_t slen = name_end - j + (size_t)semi;
    for (size_t x = slen - 1; x >= 2; x--) {
        if (x > name_end - j) continue;     /* a prefix containing ';' is no entity name */
        const sv_html_entity *p = find_entity(in + j, x);
        if (p && p->legacy) {
            if (sv_u32s_push(o, p->cp)) *err = 1;
            return 1 + x;                   /* the rest is copied as text */
        }
    }
    return 0;
}

int sv_html_unescape(const sv_u32s *in, sv_u32s *out) {
    out->n = 0;
    if (u32s_reserve(out, in->n + 1)) return -1;
    int err = 0;
    for (size_t i = 0; i < in->n && !err;) {
        if (in->p[i] == '&') {
            size_t used = html_ref(in->p, in->n, i, out, &err);
            if (used) { i += used; continue; }
        }
        if (sv_u32s_push(out, in->p[i])) return -1;
        i++;
    }
    return err ? -1 : 0;
}

/* ------------------------------------------------------------------ the cleaner */

struct sv_cleaner {
    pcre2_code *bad;        /* ftfy BADNESS_RE (UTF mode) */
    pcre2_code *altered;    /* ALTERED_UTF8_RE (bytes) */
    pcre2_code *agrave;     /* A_GRAVE_WORD_RE (bytes) */
    pcre2_code *lossy;      /* LOSSY_UTF8_RE (bytes) */
    pcre2_match_data *md;
    uint32_t width[0xFFF0 - 0xFF01][2];   /* fix_character_width map (0 = unchanged) */
    sv_u32s a, b, seg, fixed;              /* scratch */
};

/* ftfy's MOJIBAKE_CATEGORIES as PCRE2 class contents. */
#define C_COMMON "\\x{a0}\\x{ad}\\x{b7}\\x{b4}\\x{2013}\\x{2014}\\x{2015}\\x{2026}\\x{2019}"
#define C_C1 "\\x{80}-\\x{9f}"
#define C_BAD "\\x{a6}\\x{a4}\\x{a8}\\x{ac}\\x{af}\\x{b6}\\x{a7}\\x{b8}\\x{192}\\x{2c6}\\x{2c7}\\x{2d8}\\x{2db}" \
    "\\x{2dc}\\x{2020}\\x{2021}\\x{2030}\\x{2310}\\x{25ca}\\x{fffd}\\x{aa}\\x{ba}"
#define C_CURRENCY "\\x{a2}\\x{a3}\\x{a5}\\x{20a7}\\x{20ac}"
#define C_START "\\x{a1}\\x{ab}\\x{bf}\\x{a9}\\x{384}\\x{385}\\x{2018}\\x{201a}\\x{201c}\\x{201e}\\x{2022}\\x{2039}\\x{f8ff}"
#define C_END "\\x{ae}\\x{bb}\\x{2dd}\\x{201d}\\x{203a}\\x{2122}"
#define C_NUMERIC "\\x{b2}\\x{b3}\\x{b9}\\x{b1}\\x{bc}\\x{bd}\\x{be}\\x{d7}\\x{b5}\\x{f7}\\x{2044}\\x{2202}\\x{2206}" \
    "\\x{220f}\\x{2211}\\x{221a}\\x{221e}\\x{2229}\\x{222b}\\x{2248}\\x{2260}\\x{2261}\\x{2264}\\x{2265}\\x{2116}"
#define C_KAOMOJI "\\x{d2}-\\x{d6}\\x{d9}-\\x{dc}\\x{f2}-\\x{f6}\\x{f8}-\\x{fc}\\x{150}\\x{b0}"
#define C_UPPER_ACC "\\x{c0}-\\x{d1}\\x{d8}\\x{dc}\\x{dd}\\x{102}\\x{104}\\x{106}\\x{10c}\\x{10e}\\x{110}\\x{118}" \
    "\\x{11a}\\x{11e}\\x{130}\\x{139}\\x{13d}\\x{141}\\x{143}\\x{147}\\x{152}\\x{158}\\x{15a}\\x{15e}\\x{160}" \
    "\\x{162}\\x{164}\\x{16e}\\x{170}\\x{178}\\x{179}\\x{17b}\\x{17d}\\x{490}"
#define C_LOWER_ACC "\\x{df}\\x{e0}-\\x{f1}\\x{103}\\x{105}\\x{107}\\x{10d}\\x{10f}\\x{111}\\x{119}\\x{11b}" \
    "\\x{11f}\\x{13a}\\x{13e}\\x{142}\\x{153}\\x{155}\\x{15b}\\x{15f}\\x{161}\\x{165}\\x{fc}\\x{17a}\\x{17c}" \
    "\\x{17e}\\x{491}\\x{fb01}\\x{fb02}"
#define C_UPPER_COMMON "\\x{de}\\x{391}-\\x{3a9}\\x{386}\\x{388}\\x{389}\\x{38a}\\x{38c}\\x{38e}\\x{38f}\\x{3aa}" \
    "\\x{3ab}\\x{401}-\\x{42f}"
#define C_LOWER_COMMON "\\x{3b1}-\\x{3c9}\\x{3ac}\\x{3ad}\\x{3ae}\\x{3af}\\x{3b0}\\x{430}-\\x{45f}"
#define C_BOX "\\x{2502}\\x{250c}\\x{2510}\\x{2518}\\x{251c}\\x{2524}\\x{252c}\\x{253c}\\x{2550}-\\x{256c}" \
    "\\x{2580}\\x{2584}\\x{2588}\\x{258c}\\x{2590}\\x{2591}\\x{2592}\\x{2593}"

static const char BADNESS_PATTERN[] =
    "[" C_C1 "]"
    "|[" C_BAD C_LOWER_ACC C_UPPER_ACC C_BOX C_START C_END C_CURRENCY C_NUMERIC "][" C_BAD "]"
    "|[a-zA-Z][" C_LOWER_COMMON C_UPPER_COMMON "][" C_BAD "]"
    "|[" C_BAD "][" C_LOWER_ACC C_UPPER_ACC C_BOX C_START C_END C_CURRENCY C_NUMERIC "]"
    "|[" C_LOWER_ACC C_LOWER_COMMON C_BOX C_END C_CURRENCY C_NUMERIC "][" C_UPPER_ACC "]"
    "|[" C_BOX C_END C_CURRENCY C_NUMERIC "][" C_LOWER_ACC "]"
    "|[" C_LOWER_ACC C_BOX C_END "][" C_CURRENCY "]"
    "|\\s[" C_UPPER_ACC "][" C_CURRENCY "]"
    "|[" C_UPPER_ACC C_BOX "][" C_NUMERIC "]"
    "|[" C_LOWER_ACC C_UPPER_ACC C_BOX C_CURRENCY C_END "][" C_START "][" C_NUMERIC "]"
    "|[" C_LOWER_ACC C_UPPER_ACC C_CURRENCY C_NUMERIC C_BOX "][" C_END "][" C_START "]"
    "|[" C_CURRENCY C_NUMERIC C_BOX "][" C_START "]"
    "|[a-z][" C_UPPER_ACC "][" C_START C_CURRENCY "]"
    "|[" C_BOX "][" C_KAOMOJI "]"
    "|[" C_LOWER_ACC C_UPPER_ACC C_CURRENCY C_NUMERIC C_START C_END "][" C_BOX "]"
    "|[" C_BOX "][" C_END "]"
    "|[" C_LOWER_ACC C_UPPER_ACC "][" C_END "]\\w"
    "|[\\x{152}\\x{153}][^A-Za-z]"
    "|[\\x{c2}\\x{c3}\\x{ce}\\x{d0}][\\x{20ac}\\x{160}\\x{161}\\x{a2}\\x{a3}\\x{178}\\x{17e}\\x{a0}\\x{ad}\\x{ae}"
    "\\x{a9}\\x{b0}\\x{b7}\\x{bb}" C_START C_END "\\x{2013}\\x{2014}\\x{b4}]"
    "|\\x{d7}[\\x{b2}\\x{b3}]"
    "|[\\x{d8}\\x{d9}][" C_COMMON C_CURRENCY C_BAD C_NUMERIC C_START "\\x{178}\\x{160}\\x{ae}\\x{b0}\\x{b5}\\x{bb}]"
    "[\\x{d8}\\x{d9}][" C_COMMON C_CURRENCY C_BAD C_NUMERIC C_START "\\x{178}\\x{160}\\x{ae}\\x{b0}\\x{b5}\\x{bb}]"
    "|\\x{e0}[\\x{b2}\\x{b5}\\x{b9}\\x{bc}\\x{bd}\\x{be}]"
    "|\\x{221a}[\\x{b1}\\x{2202}\\x{2020}\\x{2260}\\x{ae}\\x{2122}\\x{b4}\\x{2264}\\x{2265}\\x{a5}\\x{b5}\\x{f8}]"
    "|\\x{2248}[\\x{b0}\\x{a2}]"
    "|\\x{201a}\\x{c4}[\\x{ec}\\x{ee}\\x{ef}\\x{f2}\\x{f4}\\x{fa}\\x{f9}\\x{fb}\\x{2020}\\x{b0}\\x{a2}\\x{3c0}]"
    "|\\x{201a}[\\x{e2}\\x{f3}][\\x{e0}\\x{e4}\\x{b0}\\x{ea}]"
    "|\\x{432}\\x{402}"
    "|[\\x{412}\\x{413}\\x{420}\\x{421}][" C_C1 C_BAD C_START C_END C_CURRENCY "\\x{b0}\\x{b5}]"
    "[\\x{412}\\x{413}\\x{420}\\x{421}]"
    "|\\x{413}\\x{45e}\\x{412}\\x{402}\\x{412}.[A-Za-z ]"
    "|\\x{c3}[\\x{a0}\\x{a1}]"
    "|[a-z]\\s?[\\x{c3}\\x{c2}][ ]"
    "|^[\\x{c3}\\x{c2}][ ]"
    "|[a-z.,?!" C_END "]\\x{c2}[ " C_START C_END "]"
    "|\\x{3b2}\\x{20ac}[\\x{2122}\\x{a0}\\x{386}\\x{ad}\\x{ae}\\x{b0}]"
    "|[\\x{392}\\x{393}\\x{39e}\\x{39f}][" C_C1 C_BAD C_START C_END C_CURRENCY "\\x{b0}][\\x{392}\\x{393}\\x{39e}\\x{39f}]";

static const char ALTERED_PATTERN[] =
    "[\\xc2\\xc3\\xc5\\xce\\xd0\\xd9][ ]"
    "|[\\xe2\\xe3][ ][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf]"
    "|[\\xe0-\\xe3][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf][ ]"
    "|[\\xf0][ ][\\x80-\\xbf][\\x80-\\xbf]"
    "|[\\xf0][\\x80-\\xbf][ ][\\x80-\\xbf]"
    "|[\\xf0][\\x80-\\xbf][\\x80-\\xbf][ ]";
static const char AGRAVE_PATTERN[] = "\\xc3 (?! |quele|quela|quilo|s )";
static const char LOSSY_PATTERN[] =
    "[\\xc2-\\xdf][\\x1a]"
    "|[\\xc2-\\xc3][?]"
    "|\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]"
    "|\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]"
    "|[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]"
    "|[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]"
    "|[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]"
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]"
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]"
    "|\\x1a";

/* Patterns run in PCRE2's interpreter: captions are short, and JIT code is opaque to valgrind's
 * memcheck (it reports its reads as uninitialised), which `make test` runs. */
static pcre2_code *compile(const char *pat, uint32_t flags) {
    int errcode;
    PCRE2_SIZE erroff;
    return pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, flags, &errcode, &erroff, NULL);
}

sv_cleaner *sv_cleaner_new(void) {
    sv_cleaner *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->bad = compile(BADNESS_PATTERN, PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK);
    c->altered = compile(ALTERED_PATTERN, 0);
    c->agrave = compile(AGRAVE_PATTERN, 0);
    c->lossy = compile(LOSSY_PATTERN, 0);
    c->md = pcre2_match_data_create(4, NULL);
    if (!c->bad || !c->altered || !c->agrave || !c->lossy || !c->md) { sv_cleaner_free(c); return NULL; }
    /* fix_character_width: U+FF01..U+FFEF → NFKC when that changes the character (U+3000 too). */
    for (uint32_t cp = 0xFF01; cp < 0xFFF0; cp++) {
        char in[8];
        size_t k = utf8_put(cp, in);
        utf8proc_uint8_t *dst = NULL;
        utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)k, &dst,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
        if (r > 0) {
            sv_u32s t = {0};
            if (sv_utf8_decode((const char *)dst, (size_t)r, &t) == 0 && t.n >= 1 && t.n <= 2 &&
                !(t.n == 1 && t.p[0] == cp)) {
                c->width[cp - 0xFF01][0] = t.p[0];
                c->width[cp - 0xFF01][1] = t.n == 2 ? t.p[1] : 0;
            }
            sv_u32s_free(&t);
        }
        free(dst);
    }
    return c;
}

void sv_cleaner_free(sv_cleaner *c) {
    if (!c) return;
    pcre2_code_free(c->bad);
    pcre2_code_free(c->altered);
    pcre2_code_free(c->agrave);
    pcre2_code_free(c->lossy);
    pcre2_match_data_free(c->md);
    sv_u32s_free(&c->a);
    sv_u32s_free(&c->b);
    sv_u32s_free(&c->seg);
    sv_u32s_free(&c->fixed);
    free(c);
}

/* ------------------------------------------------------------------ byte buffers for fix_encoding */

typedef struct { unsigned char *p; size_t n, cap; } bytes_t;

static int bytes_push(bytes_t *b, const void *src, size_t n) {
    if (n == 0) return 0;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    return 0;
}

/* out = re.sub(pattern, f, in): f == 0: replace with `rep`; f == 1: each ' ' of the match → 0xA0. */
static int bytes_sub(sv_cleaner *c, pcre2_code *re, const bytes_t *in, const char *rep, size_t replen,
                     int spaces_to_a0, bytes_t *out) {
    out->n = 0;
    size_t pos = 0;
    while (pos <= in->n) {
        int rc = pcre2_match(re, in->p ? in->p : (PCRE2_SPTR)"", in->n, pos, 0, c->md, NULL);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        if (bytes_push(out, in->p + pos, ov[0] - pos)) return -1;
        if (spaces_to_a0) {
            for (size_t k = ov[0]; k < ov[1]; k++) {
                unsigned char ch = in->p[k] == ' ' ? 0xA0 : in->p[k];
                if (bytes_push(out, &ch, 1)) return -1;
            }
        } else if (bytes_push(out, rep, replen)) return -1;
        pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
        if (ov[1] == ov[0] && ov[0] < in->n && bytes_push(out, in->p + ov[0], 1)) return -1;
    }
    if (pos < in->n && bytes_push(out, in->p + pos, in->n - pos)) return -1;
    return 0;
}

/* One step of ftfy's fix_encoding. Sets *changed. Returns 0 or -1 (no memory). */
static int fix_encoding_step(sv_cleaner *c, sv_u32s *t, int *changed) {
    *changed = 0;
    int ascii = 1;
    for (size_t i = 0; i < t->n; i++) if (t->p[i] >= 0x80) { ascii = 0; break; }
    if (ascii) return 0;
    char *u8;
    size_t u8n;
    if (sv_utf8_encode(t->p, t->n, &u8, &u8n)) return -1;
    int rc = pcre2_match(c->bad, (PCRE2_SPTR)u8, u8n, 0, 0, c->md, NULL);
    free(u8);
    if (rc < 0) return 0;   /* not "bad": leave it */

    int ret = 0;
    bytes_t enc = {0}, tmp = {0};
    for (int sloppy = 0; sloppy <= 1 && !*changed; sloppy++) {
        enc.n = 0;
        int possible = 1;
        for (size_t i = 0; i < t->n && possible; i++) {
            int b = sloppy ? sloppy1252_byte(t->p[i]) : (t->p[i] <= 0xFF ? (int)t->p[i] : -1);
            unsigned char ch = (unsigned char)b;
            if (b < 0) possible = 0;
            else if (bytes_push(&enc, &ch, 1)) { ret = -1; goto done; }
        }
        if (!possible) continue;
        if (pcre2_match(c->altered, enc.p ? enc.p : (PCRE2_SPTR)"", enc.n, 0, 0, c->md, NULL) >= 0) {
            static const unsigned char agr[3] = {0xC3, 0xA0, ' '};
            if (bytes_sub(c, c->agrave, &enc, (const char *)agr, 3, 0, &tmp)) { ret = -1; goto done; }
            if (bytes_sub(c, c->altered, &tmp, NULL, 0, 1, &enc)) { ret = -1; goto done; }
        }
        if (sloppy) {
            static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
            if (bytes_sub(c, c->lossy, &enc, fffd, 3, 0, &tmp)) { ret = -1; goto done; }
            bytes_t sw = enc; enc = tmp; tmp = sw;
        }
        int variants = memchr(enc.p, 0xED, enc.n) || memchr(enc.p, 0xC0, enc.n);
        int d = utf8_decode_strict(enc.p, enc.n, variants, &c->fixed);
        if (d < 0) { ret = -1; goto done; }
        if (d == 0) {
            if (!u32s_equal(&c->fixed, t)) {
                t->n = 0;
                if (u32s_append(t, c->fixed.p, c->fixed.n)) { ret = -1; goto done; }
                *changed = 1;
            } else {
                break;   /* ftfy returns the (unchanged) decoding; the loop then stops */
            }
        }
    }
done:
    free(enc.p);
    free(tmp.p);
    return ret;
}

/* ftfy's own unescape_html: &#?[0-9A-Za-z]{1,24}; with HTML5 names (plus upper-cased names
 * of lower-case entities when the upper-case name is no entity) and numeric references through
 * html.unescape unless the result still holds ';'. */
static int ftfy_unescape(const sv_u32s *in, sv_u32s *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n;) {
        if (in->p[i] == '&') {
            size_t j = i + 1, hash = 0;
            if (j < in->n && in->p[j] == '#') { hash = 1; j++; }
            size_t k = j;
            while (k < in->n && is_ascii_alnum(in->p[k])) k++;
            if (k > j && k - j <= 24 && k < in->n && in->p[k] == ';') {
                if (hash) {
                    sv_u32s ref = {in->p + i, k + 1 - i, 0}, dec = {0};
                    if (sv_html_unescape(&ref, &dec)) return -1;
                    int has_semi = 0;
                    for (size_t q = 0; q < dec.n; q++) has_semi |= dec.p[q] == ';';
                    int r = has_semi ? u32s_append(out, ref.p, ref.n) : u32s_append(out, dec.p, dec.n);
                    sv_u32s_free(&dec);
                    if (r) return -1;
                    i = k + 1;
                    continue;
                }
                const sv_html_entity *e = find_entity(in->p + j, k - j);
                if (e) {
                    if (sv_u32s_push(out, e->cp)) return -1;
                    i = k + 1;
                    continue;
                }
                /* upper-cased name of a lower-case entity (e.g. &EACUTE; → É) */
                char low[32];
                size_t n = k - j;
                int all_upper = 1;
                for (size_t q = 0; q < n; q++) {
                    uint32_t ch = in->p[j + q];
                    if (ch >= 'a' && ch <= 'z') all_upper = 0;
                    low[q] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
                }
                const sv_html_entity *le = all_upper ? sv_html_entity_find(low, n) : NULL;
                int upper_is_text = 1;   /* html.unescape("&NAME;") leaves it as is */
                for (size_t x = n; x >= 2 && upper_is_text; x--) {
                    const sv_html_entity *p = find_entity(in->p + j, x);
                    if (p && (x == n || p->legacy)) upper_is_text = 0;
                }
                if (le && upper_is_text) {
                    uint32_t up = (uint32_t)utf8proc_toupper((utf8proc_int32_t)le->cp);
                    int r = le->cp == 0xDF ? (sv_u32s_push(out, 'S') || sv_u32s_push(out, 'S')) : sv_u32s_push(out, up);
                    if (r) return -1;
                    i = k + 1;
                    continue;
                }
            }
        }
        if (sv_u32s_push(out, in->p[i])) return -1;
        i++;
    }
    return 0;
}

static const struct { uint32_t cp; const char *rep; } LIGATURES[] = {
    {0x132, "IJ"}, {0x133, "ij"}, {0x149, "\xCA\xBCn"}, {0x1F1, "DZ"}, {0x1F2, "Dz"}, {0x1F3, "dz"},
    {0x1C4, "D\xC5\xBD"}, {0x1C5, "D\xC5\xBE"}, {0x1C6, "d\xC5\xBE"}, {0x1C7, "LJ"}, {0x1C8, "Lj"},
    {0x1C9, "lj"}, {0x1CA, "NJ"}, {0x1CB, "Nj"}, {0x1CC, "nj"}, {0xFB00, "ff"}, {0xFB01, "fi"},
    {0xFB02, "fl"}, {0xFB03, "ffi"}, {0xFB04, "ffl"}, {0xFB05, "\xC5\xBFt"}, {0xFB06, "st"},
};

static int is_control_removed(uint32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* The per-character fixers of one ftfy pass, in ftfy's order, in → out. */
static int char_fixes(sv_cleaner *c, const sv_u32s *in, sv_u32s *out) {
    sv_u32s t1 = {0};
    int r = -1;
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t ch = in->p[i];
        /* fix_c1_controls (sloppy Windows-1252) */
        if (ch >= 0x80 && ch <= 0x9F && CP1252_HI[ch - 0x80]) ch = CP1252_HI[ch - 0x80];
        /* fix_latin_ligatures */
        const char *lig = NULL;
        for (size_t k = 0; k < sizeof LIGATURES / sizeof LIGATURES[0]; k++)
            if (LIGATURES[k].cp == ch) { lig = LIGATURES[k].rep; break; }
        if (lig) {
            if (sv_utf8_decode(lig, strlen(lig), &t1)) goto out;
            continue;
        }
        if (sv_u32s_push(&t1, ch)) goto out;
    }
    /* fix_character_width, uncurl_quotes */
    for (size_t i = 0; i < t1.n; i++) {
        uint32_t ch = t1.p[i];
        if (ch == 0x3000) ch = ' ';
        else if (ch >= 0xFF01 && ch < 0xFFF0 && c->width[ch - 0xFF01][0]) {
            if (c->width[ch - 0xFF01][1]) {
                if (sv_u32s_push(out, c->width[ch - 0xFF01][0])) goto out;
                ch = c->width[ch - 0xFF01][1];
            } else ch = c->width[ch - 0xFF01][0];
        }
        if (ch >= 0x2018 && ch <= 0x201B) ch = '\'';
        else if (ch >= 0x201C && ch <= 0x201F) ch = '"';
        if (sv_u32s_push(out, ch)) goto out;
    }
    /* fix_line_breaks (in place) */
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++) {
        uint32_t ch = out->p[i];
        if (ch == '\r') {
            if (i + 1 < out->n && out->p[i + 1] == '\n') continue;   /* \r\n → \n */
            ch = '\n';
        } else if (ch == 0x2028 || ch == 0x2029 || ch == 0x85) ch = '\n';
        out->p[k++] = ch;
    }
    out->n = k;
    /* remove_terminal_escapes (\033\[((?:\d|;)*)([a-zA-Z]), \d being any Unicode digit), then
     * remove_control_chars (in place) */
    k = 0;
    for (size_t i = 0; i < out->n; i++) {
        uint32_t ch = out->p[i];
        if (ch == 0x1B && i + 1 < out->n && out->p[i + 1] == '[') {
            size_t j = i + 2;
            while (j < out->n && (out->p[j] == ';' ||
                                  utf8proc_category((utf8proc_int32_t)out->p[j]) == UTF8PROC_CATEGORY_ND))
                j++;
            if (j < out->n && out->p[j] < 0x80 && ((out->p[j] | 0x20) >= 'a' && (out->p[j] | 0x20) <= 'z')) {
                i = j;
                continue;
            }
        }
        if (is_control_removed(ch)) continue;
        out->p[k++] = ch;
    }
    out->n = k;
    r = 0;
out:
    sv_u32s_free(&t1);
    return r;
}

static int nfc(sv_u32s *t) {
    if (t->n == 0) return 0;
    int ascii = 1;
    for (size_t i = 0; i < t->n; i++) if (t->p[i] >= 0x80) { ascii = 0; break; }
    if (ascii) return 0;
    char *u8;
    size_t n;
    if (sv_utf8_encode(t->p, t->n, &u8, &n)) return -1;
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)u8, (utf8proc_ssize_t)n, &dst,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    free(u8);
    if (r < 0) { free(dst); return r == UTF8PROC_ERROR_NOMEM ? -1 : 0; }
    t->n = 0;
    int e = sv_utf8_decode((const char *)dst, (size_t)r, t);
    free(dst);
    return e;
}

/* ftfy fix_and_explain on one segment (in place). */
static int fix_segment(sv_cleaner *c, sv_u32s *seg, int entities) {
    sv_u32s orig = {0}, tmp = {0};
    int ret = -1;
    for (int pass = 0; pass < 16; pass++) {   /* ftfy loops until stable; 16 passes bound it */
        orig.n = 0;
        if (u32s_append(&orig, seg->p, seg->n)) goto out;
        if (entities) {
            if (ftfy_unescape(seg, &tmp)) goto out;
            u32s_swap(seg, &tmp);
        }
        for (int k = 0; k < 16; k++) {
            int changed;
            if (fix_encoding_step(c, seg, &changed)) goto out;
            if (!changed) break;
        }
        if (char_fixes(c, seg, &tmp)) goto out;
        u32s_swap(seg, &tmp);
        if (nfc(seg)) goto out;
        if (u32s_equal(seg, &orig)) break;
    }
    ret = 0;
out:
    sv_u32s_free(&orig);
    sv_u32s_free(&tmp);
    return ret;
}

/* ftfy.fix_text: line by line; "auto" entity decoding stops at the first segment with '<'. */
static int fix_text(sv_cleaner *c, sv_u32s *t) {
    sv_u32s *out = &c->b;
    out->n = 0;
    int entities = 1;
    size_t pos = 0;
    while (pos < t->n) {
        size_t end = pos;
        while (end < t->n && t->p[end] != '\n') end++;
        if (end < t->n) end++;
        if (end - pos > 1000000) end = pos + 1000000;
        c->seg.n = 0;
        if (u32s_append(&c->seg, t->p + pos, end - pos)) return -1;
        for (size_t i = 0; i < c->seg.n && entities; i++) if (c->seg.p[i] == '<') entities = 0;
        if (fix_segment(c, &c->seg, entities)) return -1;
        if (u32s_append(out, c->seg.p, c->seg.n)) return -1;
        pos = end;
    }
    u32s_swap(t, out);
    return 0;
}

/* ------------------------------------------------------------------ whitespace and case */

/* Python str.isspace() / the regex module's \s (Unicode White_Space). */
static int is_ws(uint32_t c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85) return 1;
    if (c < 0xA0) return 0;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

static int is_cased(uint32_t c) {
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) return 1;
    return utf8proc_tolower((utf8proc_int32_t)c) != (utf8proc_int32_t)c ||
           utf8proc_toupper((utf8proc_int32_t)c) != (utf8proc_int32_t)c;
}

static int is_case_ignorable(uint32_t c) {
    switch (c) {
    case 0x27: case 0x2E: case 0x3A: case 0x5E: case 0x60: case 0xA8: case 0xAD: case 0xAF: case 0xB4:
    case 0xB7: case 0xB8: case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
    case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return 1;
    default: break;
    }
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
           cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK;
}

/* Python str.lower(): simple lower-case mapping, U+0130 → "i\u0307", final sigma rule. */
static int py_lower(const sv_u32s *in, sv_u32s *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t ch = in->p[i];
        if (ch == 0x130) {
            if (sv_u32s_push(out, 'i') || sv_u32s_push(out, 0x307)) return -1;
            continue;
        }
        if (ch == 0x3A3) {
            size_t j = i;
            uint32_t prev = 0;
            int found = 0;
            while (j > 0) { prev = in->p[--j]; if (!is_case_ignorable(prev)) { found = 1; break; } }
            int final_sigma = found && is_cased(prev);
            if (final_sigma) {
                size_t q = i + 1;
                while (q < in->n && is_case_ignorable(in->p[q])) q++;
                final_sigma = q == in->n || !is_cased(in->p[q]);
            }
            if (sv_u32s_push(out, final_sigma ? 0x3C2 : 0x3C3)) return -1;
            continue;
        }
        if (sv_u32s_push(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)ch))) return -1;
    }
    return 0;
}

int sv_clean_text(sv_cleaner *c, const char *text, size_t len, char **out, size_t *out_len) {
    sv_u32s *t = &c->a, *u = &c->b;
    t->n = 0;
    if (sv_utf8_decode(text, len, t)) return -1;
    if (fix_text(c, t)) return -1;              /* result in c->a (swapped) */
    t = &c->a;
    u = &c->b;
    if (sv_html_unescape(t, u)) return -1;
    if (sv_html_unescape(u, t)) return -1;
    /* strip, collapse whitespace runs to ' ', strip */
    size_t k = 0;
    int in_ws = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (is_ws(t->p[i])) { in_ws = 1; continue; }
        if (in_ws && k > 0) t->p[k++] = ' ';
        in_ws = 0;
        t->p[k++] = t->p[i];
    }
    t->n = k;
    if (py_lower(t, u)) return -1;
    return sv_utf8_encode(u->p, u->n, out, out_len);
}
