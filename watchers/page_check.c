/* page_check.c: checking the selectors and ignore patterns of an html
 * source without a document (see page_check.h). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include "css_xpath.h"
#include "page_check.h"

void
page_check_silent_error (void *ud, xmlErrorPtr e)
{
    (void) ud;
    (void) e;
}

bool
page_check_is_regex (const char *s)
{
    return strncmp (s, "re:", 3) == 0;
}

vl_err_t
page_check_regexes (const source_t *src, regex_t *re, size_t *nre,
                    char *errbuf, size_t errlen)
{
    *nre = 0;
    for (size_t i = 0; i < src->nignore; i++) {
        const char *e = src->ignore[i];
        if (!e || !page_check_is_regex (e))
            continue;
        if (*nre >= PAGE_CHECK_MAX_RE) {
            snprintf (errbuf, errlen, "too many re: ignore patterns (max %d)", PAGE_CHECK_MAX_RE);
            goto fail;
        }
        int rc = regcomp (&re[*nre], e + 3, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
        if (rc) {
            char msg[128];
            regerror (rc, &re[*nre], msg, sizeof msg);
            snprintf (errbuf, errlen, "ignore \"%s\": %s", e, msg);
            goto fail;
        }
        (*nre)++;
    }
    return VL_OK;
fail:
    for (size_t i = 0; i < *nre; i++)
        regfree (&re[i]);
    *nre = 0;
    return VL_EINVAL;
}

/* Checks that SEL translates and compiles. */
static vl_err_t
check_selector (xmlXPathContextPtr xp, const char *what, const char *sel,
                bool relative, char *errbuf, size_t errlen)
{
    if (!sel)
        return VL_OK;
    vl_err_t err;
    char *expr = css_xpath (sel, relative, &err);
    if (!expr) {
        snprintf (errbuf, errlen, "%s \"%s\": unsupported or malformed selector", what, sel);
        return err == VL_ENOMEM ? VL_ENOMEM : VL_EINVAL;
    }
    xmlXPathCompExprPtr comp = xmlXPathCtxtCompile (xp, (const xmlChar *) expr);
    free (expr);
    if (!comp) {
        snprintf (errbuf, errlen, "%s \"%s\": invalid XPath", what, sel);
        return VL_EINVAL;
    }
    xmlXPathFreeCompExpr (comp);
    return VL_OK;
}

vl_err_t
page_check (const source_t *src, char *errbuf, size_t errlen)
{
    xmlXPathContextPtr xp = xmlXPathNewContext (NULL);
    if (!xp)
        return VL_ENOMEM;
    xp->error = page_check_silent_error;
    vl_err_t rc = check_selector (xp, "select", src->select, false, errbuf, errlen);
    if (!rc)
        rc = check_selector (xp, "items", src->items, src->select != NULL, errbuf, errlen);
    if (!rc)
        rc = check_selector (xp, "item_title", src->item_title, true, errbuf, errlen);
    if (!rc)
        rc = check_selector (xp, "item_link", src->item_link, true, errbuf, errlen);
    for (size_t i = 0; !rc && i < src->nignore; i++)
        if (src->ignore[i] && !page_check_is_regex (src->ignore[i]))
            rc = check_selector (xp, "ignore", src->ignore[i], false, errbuf, errlen);
    xmlXPathFreeContext (xp);
    if (!rc) {
        regex_t re[PAGE_CHECK_MAX_RE];
        size_t nre;
        rc = page_check_regexes (src, re, &nre, errbuf, errlen);
        for (size_t i = 0; i < nre; i++)
            regfree (&re[i]);
    }
    return rc;
}
