/* feed_date.h: the date of a feed entry (pubDate, dc:date, published,
 * updated, a JSON date string) to seconds since the epoch. Strict: a date
 * that cannot be read exactly gives no date rather than a wrong one
 * (has_published stays false). Dates before 1970 or after 9999 are refused. */
#ifndef VL_FEED_DATE_H
#define VL_FEED_DATE_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 3339 / ISO 8601 date-time ("2016-01-26T10:00:00Z", "...+01:00",
 * "...+0100", fractional seconds allowed; a plain "YYYY-MM-DD" is taken as
 * midnight UTC). A date-time without a zone is refused. Sets *OUT. */
bool feed_date_rfc3339 (const char *s, int64_t *out);

/* RFC 822/1123 date ("Tue, 26 Jan 2016 10:00:00 +0100"), with the variants
 * seen in feeds: any weekday word or none, full or dotted month names
 * ("January", "Jan."), two-digit years (< 50: 20xx), no seconds, offsets
 * "+01:00", zone names known to curl_getdate (GMT, UT, UTC, EST ... PDT,
 * CET, CEST, BST, JST ...; single military letters other than Z are
 * refused). A date without a zone is refused. The shape is checked here,
 * then the date is handed to curl_getdate. Sets *OUT. */
bool feed_date_rfc822 (const char *s, int64_t *out);

/* Tries RFC 3339, then RFC 822. */
bool feed_date_parse (const char *s, int64_t *out);

#endif
