/* css_xpath.c: CSS selector subset -> XPath 1.0 (see css_xpath.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "css_xpath.h"

#define CSS_MAX_LEN 1024

bool
css_xpath_is_xpath (const char *sel)
{
    if (!sel)
        return false;
    while (*sel == ' ' || *sel == '\t')
        sel++;
    if (sel[0] == '/' || sel[0] == '(' || strncmp (sel, "./", 2) == 0
        || strncmp (sel, "../", 3) == 0 || strcmp (sel, ".") == 0)
        return true;
    /* a function call: string(...), normalize-space(...), count(...) */
    const char *p = sel;
    while (isalpha ((unsigned char) *p) || *p == '-')
        p++;
    return p > sel && *p == '(';
}

static bool
is_ident_char (char c)
{
    return isalnum ((unsigned char) c) || c == '-' || c == '_'
        || ((unsigned char) c & 0x80);
}

/* Reads an identifier at *P into OUT (appended); false if empty. */
static bool
read_ident (const char **p, buf_t *out, bool lower)
{
    const char *s = *p;
    while (is_ident_char (**p)) {
        char c = **p;
        if (buf_putc (out, lower ? (char) tolower ((unsigned char) c) : c))
            return false;
        (*p)++;
    }
    return *p > s;
}

/* Appends S (N bytes) as an XPath string literal. */
static bool
put_literal (buf_t *out, const char *s, size_t n)
{
    char q = memchr (s, '\'', n) ? '"' : '\'';
    if (q == '"' && memchr (s, '"', n))
        return false;
    return !buf_putc (out, q) && !buf_append (out, s, n) && !buf_putc (out, q);
}

/* [attr] or [attr=value]; *P is past '['. */
static bool
read_attr (const char **p, buf_t *out)
{
    buf_t name;
    buf_init (&name, 256);
    while (**p == ' ')
        (*p)++;
    bool ok = read_ident (p, &name, true);
    while (ok && **p == ' ')
        (*p)++;
    if (ok && **p == ']') {
        (*p)++;
        ok = !buf_printf (out, "[@%s]", name.data);
    }
    else if (ok && **p == '=') {
        (*p)++;
        while (**p == ' ')
            (*p)++;
        const char *v = *p;
        size_t vn;
        if (**p == '"' || **p == '\'') {
            char q = **p;
            v = ++(*p);
            const char *e = strchr (v, q);
            ok = e != NULL;
            vn = ok ? (size_t) (e - v) : 0;
            *p = ok ? e + 1 : *p;
        }
        else {
            while (is_ident_char (**p))
                (*p)++;
            vn = (size_t) (*p - v);
            ok = vn > 0;
        }
        while (ok && **p == ' ')
            (*p)++;
        ok = ok && **p == ']';
        if (ok) {
            (*p)++;
            ok = !buf_printf (out, "[@%s=", name.data) && put_literal (out, v, vn)
                 && !buf_putc (out, ']');
        }
    }
    else
        ok = false;
    buf_free (&name);
    return ok;
}

/* One compound selector (tag, *, .class, #id, [attr...]) at *P. */
static bool
read_compound (const char **p, buf_t *out)
{
    bool any = false;
    if (**p == '*') {
        (*p)++;
        if (buf_putc (out, '*'))
            return false;
        any = true;
    }
    else if (is_ident_char (**p)) {
        if (!read_ident (p, out, true))
            return false;
        any = true;
    }
    else if (buf_putc (out, '*'))
        return false;
    for (;;) {
        char c = **p;
        if (c == '.' || c == '#') {
            (*p)++;
            buf_t id;
            buf_init (&id, 256);
            bool ok = read_ident (p, &id, false);
            if (ok && c == '.')
                ok = !buf_printf (out,
                    "[contains(concat(' ',normalize-space(@class),' '),' %s ')]", id.data);
            else if (ok)
                ok = !buf_printf (out, "[@id='%s']", id.data);
            buf_free (&id);
            if (!ok)
                return false;
        }
        else if (c == '[') {
            (*p)++;
            if (!read_attr (p, out))
                return false;
        }
        else
            return any;
        any = true;
    }
}

/* One comma-separated group; stops at ',' or end. */
static bool
read_group (const char **p, buf_t *out, bool relative)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
    char comb = ' ';
    if (**p == '>') {
        comb = '>';
        (*p)++;
    }
    bool first = true;
    for (;;) {
        while (**p == ' ' || **p == '\t')
            (*p)++;
        if (**p == '\0' || **p == ',')
            return false;   /* empty group or dangling '>' */
        const char *axis;
        if (first)
            axis = relative ? (comb == '>' ? "./" : ".//") : (comb == '>' ? "/" : "//");
        else
            axis = comb == '>' ? "/" : "//";
        if (buf_puts (out, axis))
            return false;
        const char *start = *p;
        if (!read_compound (p, out) || *p == start)
            return false;
        first = false;
        /* combinator */
        bool space = false;
        while (**p == ' ' || **p == '\t') {
            (*p)++;
            space = true;
        }
        if (**p == '>') {
            comb = '>';
            (*p)++;
        }
        else if (**p == '\0' || **p == ',')
            return true;
        else if (space)
            comb = ' ';
        else
            return false;   /* unsupported syntax (:hover, ~, +, ...) */
    }
}

char *
css_xpath (const char *sel, bool relative, vl_err_t *err)
{
    vl_err_t dummy;
    if (!err)
        err = &dummy;
    *err = VL_EINVAL;
    if (!sel || !*sel || strlen (sel) > CSS_MAX_LEN)
        return NULL;
    if (css_xpath_is_xpath (sel)) {
        char *copy = strdup (sel);
        *err = copy ? VL_OK : VL_ENOMEM;
        return copy;
    }
    buf_t out;
    buf_init (&out, 16 * CSS_MAX_LEN);
    const char *p = sel;
    for (;;) {
        if (!read_group (&p, &out, relative)) {
            buf_free (&out);
            return NULL;
        }
        if (*p == '\0')
            break;
        p++;   /* ',' */
        if (buf_puts (&out, " | ")) {
            buf_free (&out);
            return NULL;
        }
    }
    *err = VL_OK;
    return buf_steal (&out);
}
