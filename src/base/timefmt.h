/* timefmt: Docker's timestamps. Parses RFC 3339 with up to 9 fraction digits and formats
 * the two forms logcap sends back: "seconds.nanoseconds" for `since` (RFC 3339 there gives
 * HTTP 500) and RFC 3339 with 9 fraction digits. Pure functions, no allocation. */
#ifndef LC_TIMEFMT_H
#define LC_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parses "2026-11-22T12:24:43.463703600Z" (0 to 9 fraction digits; "Z" or "+hh:mm"/"-hh:mm")
 * at the start of S (LEN bytes, not necessarily NUL-terminated). On success stores
 * nanoseconds since the epoch in *OUT_NS and returns the number of bytes consumed (> 0).
 * Returns -EINVAL when S does not start with a valid timestamp (range-checked fields). */
int lc_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns);

/* Writes NS as "seconds.nanoseconds" with 9 fraction digits ("1795350317.317055337").
 * Negative NS is written as "0.000000000". Returns the length written (excluding NUL). */
int lc_time_format_since(int64_t ns, char *out, size_t cap);

/* Writes NS as "2026-11-22T12:24:43.463703600Z". Returns the length written. */
int lc_time_format_rfc3339(int64_t ns, char *out, size_t cap);

#endif
