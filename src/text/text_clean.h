/*
 * text_clean.h — the caption clean-up that openai's simple_tokenizer applies before BPE:
 *
 *   text = ftfy.fix_text(text)                    (ftfy 6.1 defaults, see text_clean.c)
 *   text = html.unescape(html.unescape(text))     (Python's html.unescape semantics)
 *   text = text.strip(); re.sub(r'\s+', ' ', text).strip()
 *   text = text.lower()                           (Python str.lower(), incl. final sigma)
 *
 * Input is UTF-8 bytes of any content: invalid sequences become U+FFFD (like Python's
 * bytes.decode('utf-8', errors='replace'), one U+FFFD per maximal invalid subpart); NUL and other
 * control characters are removed by the ftfy step. Output is valid UTF-8.
 *
 * A sv_cleaner holds compiled PCRE2 patterns and scratch; it is not thread-safe (one per
 * tokenizer, one tokenizer per thread).
 */
#ifndef SLAVA_TEXT_CLEAN_H
#define SLAVA_TEXT_CLEAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct sv_cleaner sv_cleaner;

/* NULL on allocation / pattern-compile failure. */
sv_cleaner *sv_cleaner_new(void);
void        sv_cleaner_free(sv_cleaner *c);

/* Cleans `len` bytes of `text`. *out is a malloc'd NUL-terminated UTF-8 string (free with free()),
 * *out_len its length. Returns 0, or -1 when memory ran out. */
int sv_clean_text(sv_cleaner *c, const char *text, size_t len, char **out, size_t *out_len);

/* Building blocks (exposed for tests). A growable array of code points. */
typedef struct { uint32_t *p; size_t n, cap; } sv_u32s;
int  sv_u32s_push(sv_u32s *s, uint32_t c);
void sv_u32s_free(sv_u32s *s);
/* UTF-8 → code points with Python's errors='replace'. Appends to out. 0 or -1 (no memory). */
int  sv_utf8_decode(const char *s, size_t len, sv_u32s *out);
/* Code points → malloc'd NUL-terminated UTF-8. 0 or -1. */
int  sv_utf8_encode(const uint32_t *p, size_t n, char **out, size_t *out_len);
/* Python html.unescape() on a code point array (in place into out). 0 or -1. */
int  sv_html_unescape(const sv_u32s *in, sv_u32s *out);

#endif
