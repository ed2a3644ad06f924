/* css_xpath.h: translate a small CSS selector subset to XPath 1.0.
 * Supported: tag, *, .class, #id, [attr], [attr=value] (value quoted or
 * not), compound (div.a#b[x]), descendant ' ', child '>', groups ','.
 * Anything else (pseudo-classes, ~, +, attribute operators) is refused.
 * A selector starting with '/', './', '../', '(' or a function call
 * ("string(", "normalize-space(") is taken as XPath as is. */
#ifndef VL_CSS_XPATH_H
#define VL_CSS_XPATH_H

#include <stdbool.h>
#include "vl_err.h"

/* True if SEL is to be used as XPath rather than translated. */
bool css_xpath_is_xpath (const char *sel);

/* Returns a new XPath expression for SEL (caller frees), or NULL with *ERR
 * set (VL_EINVAL for an unsupported or malformed selector, VL_ENOMEM).
 * RELATIVE true anchors at the context node (".//x", "./x" for '>' first),
 * false at the document ("//x"). XPath input is copied unchanged. */
char *css_xpath (const char *sel, bool relative, vl_err_t *err);

#endif
