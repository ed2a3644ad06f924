/* entity_fix.h: makes the entity references of a sloppy XML document
 * well-formed before it is parsed, so that libxml2's recovery mode does not
 * drop the text after the first bad one. In character data after the
 * prolog (CDATA sections, comments and processing instructions are left
 * alone):
 *   &eacute;   (HTML name, not declared)  -> &#233;
 *   &unknown;  (neither HTML nor declared) -> &amp;unknown;  (shown as is)
 *   a bare &, an invalid &#...;            -> &amp;
 * Predefined entities (&amp; &lt; &gt; &quot; &apos;), valid character
 * references and entities declared in the prolog (the first 256 names of
 * <!ENTITY ...>) are kept. */
#ifndef VL_ENTITY_FIX_H
#define VL_ENTITY_FIX_H

#include <stddef.h>

/* BODY is LEN bytes; its first PROLOG_LEN bytes are the prolog (XML
 * declaration, doctype with its internal subset, comments): scanned for
 * entity declarations, never rewritten. Returns a rewritten copy (caller
 * frees, *OUT_LEN set, at most 5 * LEN bytes), or NULL when nothing needs
 * rewriting, and on OOM: the caller then parses BODY as it is. */
char *entity_fix (const char *body, size_t len, size_t prolog_len, size_t *out_len);

#endif
