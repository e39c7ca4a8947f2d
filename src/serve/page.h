/*
 * page.h — the search page (src/serve/page.html: one HTML file with its CSS and JS), compiled into
 * the binary by cmake/embed_file.cmake so that `slava serve` needs no files and fetches nothing.
 */
#ifndef SLAVA_SERVE_PAGE_H
#define SLAVA_SERVE_PAGE_H

#include <stddef.h>

extern const unsigned char sv_page_html[];   /* NUL-terminated */
extern const size_t sv_page_html_len;        /* bytes, without the NUL */

#endif
