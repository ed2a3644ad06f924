/* feed_date.c: entry dates to seconds since the epoch. The readers here
 * check the shape strictly; the calendar arithmetic is timegm's and the
 * RFC 822 zone names are curl_getdate's. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE   /* timegm */
#endif
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include "feed_date.h"

#define YEAR_MIN 1970
#define YEAR_MAX 9999
#define ZONE_NAME_MAX 8   /* longest zone name passed on ("AKST", "MESZ") */

static const char *const MONTHS[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Seconds since the epoch of the UTC date-time; false unless Y-MO-D is a
 * real calendar day between YEAR_MIN and YEAR_MAX and the time is valid
 * (second 60 allowed: a leap second counts as the next one). */
static bool
utc_seconds (int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < YEAR_MIN || y > YEAR_MAX || mo < 1 || mo > 12 || d < 1 || d > 31
        || h > 23 || mi > 59 || s > 60)
        return false;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d };
    time_t day = timegm (&tm);   /* normalises: 31 Feb becomes 2 Mar */
    if (day == (time_t) -1 || tm.tm_mday != d)
        return false;
    *out = (int64_t) day + h * 3600 + mi * 60 + s;
    return true;
}

/* Reads exactly N digits. */
static bool
read_digits (const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) (*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static const char *
skip_ws (const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* [+-]HH:MM or [+-]HHMM (HH <= 23, MM <= 59) or Z; *OFF in minutes. */
static bool
read_offset (const char **p, int *off)
{
    const char *s = *p;
    if (*s == 'Z' || *s == 'z') {
        *off = 0;
        *p = s + 1;
        return true;
    }
    if (*s != '+' && *s != '-')
        return false;
    int sign = *s == '-' ? -1 : 1, hh, mm;
    s++;
    if (!read_digits (&s, 2, &hh))
        return false;
    if (*s == ':')
        s++;
    if (!read_digits (&s, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *off = sign * (hh * 60 + mm);
    *p = s;
    return true;
}

/* HH:MM, then optionally :SS. */
static bool
read_time (const char **p, int *h, int *mi, int *s)
{
    *s = 0;
    if (!read_digits (p, 2, h) || *(*p)++ != ':' || !read_digits (p, 2, mi))
        return false;
    if (**p != ':')
        return true;
    (*p)++;
    return read_digits (p, 2, s);
}

bool
feed_date_rfc3339 (const char *str, int64_t *out)
{
    if (!str)
        return false;
    const char *p = skip_ws (str);
    int y, mo, d, h, mi, s, off;
    int64_t t;
    if (!read_digits (&p, 4, &y) || *p++ != '-' || !read_digits (&p, 2, &mo)
        || *p++ != '-' || !read_digits (&p, 2, &d))
        return false;
    if (*skip_ws (p) == '\0')
        return utc_seconds (y, mo, d, 0, 0, 0, out);
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    const char *t0 = ++p;
    if (!read_time (&p, &h, &mi, &s))
        return false;
    if (*p == '.' || *p == ',') {
        if (p - t0 != 8 || !isdigit ((unsigned char) p[1]))
            return false;   /* a fraction needs seconds and a digit */
        for (p++; isdigit ((unsigned char) *p); p++)
            ;
    }
    if (!read_offset (&p, &off) || *skip_ws (p) != '\0'
        || !utc_seconds (y, mo, d, h, mi, s, &t))
        return false;
    *out = t - (int64_t) off * 60;
    return true;
}

/* 1..12 for a word whose first three letters name a month (English). */
static int
month_of (const char *p, size_t n)
{
    if (n < 3 || n > 9)
        return 0;
    for (int i = 0; i < 12; i++)
        if (strncasecmp (p, MONTHS[i], 3) == 0)
            return i + 1;
    return 0;
}

/* The zone at *P: a numeric offset (*OFF minutes, Z set to "GMT") or a
 * name copied into Z for curl_getdate (*OFF 0); false if it is neither. */
static bool
read_zone (const char **p, char z[ZONE_NAME_MAX + 1], int *off)
{
    *off = 0;
    if (**p == '+' || **p == '-') {
        strcpy (z, "GMT");
        return read_offset (p, off);
    }
    const char *w = *p;
    while (isalpha ((unsigned char) **p))
        (*p)++;
    size_t n = (size_t) (*p - w);
    /* a military letter other than Z: RFC 1123 says its sign is unreliable */
    if (n == 0 || n > ZONE_NAME_MAX || (n == 1 && *w != 'Z' && *w != 'z'))
        return false;
    memcpy (z, w, n);
    z[n] = '\0';
    return true;
}

/* An RFC 822 date as read: the calendar day, the time, the zone. */
typedef struct {
    int  y, mo, d, h, mi, s;
    int  off;                        /* minutes east of UTC, numeric zones */
    char zone[ZONE_NAME_MAX + 1];    /* "GMT" for numeric zones */
} rfc822_t;

/* Day, month word and year of an RFC 822 date, after an optional weekday
 * word (any word: not checked). */
static bool
read_rfc822_day (const char **pp, rfc822_t *r)
{
    const char *p = skip_ws (*pp);
    if (isalpha ((unsigned char) *p)) {
        while (isalpha ((unsigned char) *p))
            p++;
        if (*p == ',')
            p++;
        p = skip_ws (p);
    }
    if (!isdigit ((unsigned char) *p))
        return false;
    r->d = *p++ - '0';
    if (isdigit ((unsigned char) *p))
        r->d = r->d * 10 + (*p++ - '0');
    p = skip_ws (p);
    const char *mon = p;
    while (isalpha ((unsigned char) *p))
        p++;
    if ((r->mo = month_of (mon, (size_t) (p - mon))) == 0)
        return false;
    if (*p == '.')
        p++;
    p = skip_ws (p);
    if (read_digits (&p, 4, &r->y))
        ;
    else if (read_digits (&p, 2, &r->y))
        r->y += r->y < 50 ? 2000 : 1900;
    else
        return false;
    *pp = p;
    return !isdigit ((unsigned char) *p);
}

/* Reads all of STR as an RFC 822 date (shape only). */
static bool
read_rfc822 (const char *str, rfc822_t *r)
{
    const char *p = str;
    if (!read_rfc822_day (&p, r))
        return false;
    p = skip_ws (p);
    if (!read_time (&p, &r->h, &r->mi, &r->s))
        return false;
    p = skip_ws (p);
    return read_zone (&p, r->zone, &r->off) && *skip_ws (p) == '\0';
}

bool
feed_date_rfc822 (const char *str, int64_t *out)
{
    rfc822_t r;
    int64_t day;
    char canon[64];
    if (!str || !read_rfc822 (str, &r)
        || !utc_seconds (r.y, r.mo, r.d, r.h, r.mi, r.s, &day))
        return false;
    /* one form curl_getdate reads: "26 Jan 2016 10:00:00 CET" */
    snprintf (canon, sizeof canon, "%02d %s %04d %02d:%02d:%02d %s", r.d % 100,
              MONTHS[r.mo - 1], r.y % 10000, r.h % 100, r.mi % 100, r.s % 100, r.zone);
    time_t t = curl_getdate (canon, NULL);   /* -1: zone name unknown */
    if (t == (time_t) -1)
        return false;
    *out = (int64_t) t - (int64_t) r.off * 60;
    return true;
}

bool
feed_date_parse (const char *s, int64_t *out)
{
    return feed_date_rfc3339 (s, out) || feed_date_rfc822 (s, out);
}
