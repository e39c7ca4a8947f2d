/*
 * html_entities.h — lookup of named HTML character references (see html_entities.c for the set).
 */
#ifndef SLAVA_HTML_ENTITIES_H
#define SLAVA_HTML_ENTITIES_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;   /* without '&' and ';' */
    uint32_t    cp;     /* the character */
    int         legacy; /* 1: also recognised without the trailing ';' */
} sv_html_entity;

/* Exact, case-sensitive lookup of name[0..len); NULL when unknown. */
const sv_html_entity *sv_html_entity_find(const char *name, size_t len);

#endif
