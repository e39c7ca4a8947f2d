/*
 * utf8.c — UTF-8 checks for text that leaves slava (JSON, error lines) or names things (clip
 * ids): one sequence at a time (RFC 3629: no overlongs, surrogates or code points past U+10FFFF;
 * an invalid part is its maximal invalid subpart, as Python's errors='replace' counts it).
 */
#include "base/base.h"

int sv_utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp) {
    unsigned b = s[i];
    if (b < 0x80) { *cp = b; return 1; }
    int need;
    unsigned lo = 0x80, hi = 0xBF;
    uint32_t c;
    if (b >= 0xC2 && b <= 0xDF) { need = 1; c = b & 0x1F; }
    else if (b >= 0xE0 && b <= 0xEF) {
        need = 2; c = b & 0x0F;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3; c = b & 0x07;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else return -1;
    for (int k = 1; k <= need; k++) {
        if (i + k >= len) return -k;
        unsigned t = s[i + k];
        if (t < lo || t > hi) return -k;
        lo = 0x80; hi = 0xBF;
        c = (c << 6) | (t & 0x3F);
    }
    *cp = c;
    return need + 1;
}


int sv_utf8_valid(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        int r = sv_utf8_next(u, len, i, &cp);
        if (r < 0) return 0;
        i += (size_t)r;
    }
    return 1;
}

char *slava_utf8_fix(const char *s, int *changed) {
    if (changed) *changed = 0;
    if (!s) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), k = 0;
    char *out = malloc(3 * len + 1);   /* an invalid byte becomes 3 (U+FFFD) */
    if (!out) return NULL;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int r = sv_utf8_next(u, len, i, &cp);
        if (r > 0) {
            memcpy(out + k, s + i, (size_t)r);
            k += (size_t)r;
            i += (size_t)r;
        } else {
            memcpy(out + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i += (size_t)-r;
            if (changed) *changed = 1;
        }
    }
    out[k] = 0;
    return out;
}
