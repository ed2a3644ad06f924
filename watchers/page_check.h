/* page_check.h: the selectors (XPath or CSS, css_xpath.h) and "re:" ignore
 * patterns of an html source (source.h), checked without a document: by
 * the config loader (watch_conf.c, so also `veille check`) and shared with
 * the page parser (page_parse.c), which applies them. libxml2's XPath
 * compiler and POSIX regcomp; nothing is fetched or parsed. */
#ifndef VL_PAGE_CHECK_H
#define VL_PAGE_CHECK_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <libxml/xmlerror.h>
#include "source.h"
#include "vl_err.h"

#define PAGE_CHECK_MAX_RE 64   /* "re:" ignore patterns per source */

/* Checks SRC's select, items, item_title, item_link and ignore entries
 * (selectors translate and compile, regexes compile, at most
 * PAGE_CHECK_MAX_RE of them). VL_EINVAL with a message in ERRBUF (ERRLEN
 * bytes), VL_ENOMEM. */
vl_err_t page_check (const source_t *src, char *errbuf, size_t errlen);

/* True if the ignore entry S is a regex ("re:REGEX"), false for a selector. */
bool page_check_is_regex (const char *s);

/* Compiles the "re:" ignore entries of SRC into RE (PAGE_CHECK_MAX_RE
 * slots); *NRE is how many. The caller regfree()s each of them. On error
 * (VL_EINVAL, message in ERRBUF) none is left compiled and *NRE is 0. */
vl_err_t page_check_regexes (const source_t *src, regex_t *re, size_t *nre,
                             char *errbuf, size_t errlen);

/* libxml2 structured error handler that drops the message (a bad selector
 * is reported by the caller, once, with the source it belongs to). */
void page_check_silent_error (void *ud, xmlErrorPtr e);

#endif
