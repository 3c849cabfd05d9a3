/* timefmt: parses Docker's RFC 3339 timestamps into nanoseconds since the epoch and writes
 * them back as "seconds.nanoseconds" or RFC 3339. Runs once per log line, so it is
 * hand-written (no sscanf, timegm or locale): fixed-position digits and Howard Hinnant's
 * days-from-civil algorithm. Owns nothing. */
#include "base/timefmt.h"

#include <errno.h>
#include <string.h>

#define NS_PER_SEC 1000000000LL
#define SECS_PER_DAY 86400LL

/* int64 nanoseconds end on 2262-04-11T23:47:16.854775807Z. Timestamps past that (years up
 * to 9999 are syntactically valid) cannot be represented and are rejected. */
#define MAX_SECS (INT64_MAX / NS_PER_SEC)

/* Reads N decimal digits at S. Returns the value, or -1 when a byte is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9) {
            return -1;
        }
        v = v * 10 + (int)d;
    }
    return v;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant, "chrono-compatible
 * low-level date algorithms"). Valid for every year used here (>= 1). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil, for DAYS >= 0. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Parses ".fffffffff" at S (optional). Stores the nanoseconds and returns bytes used, or
 * -1 on a '.' without digits or with more than 9 of them. */
static int parse_fraction(const char *s, size_t len, int64_t *frac)
{
    size_t i = 1;
    int64_t v = 0;
    int64_t scale = NS_PER_SEC;
    *frac = 0;
    if (len == 0 || s[0] != '.') {
        return 0;
    }
    while (i < len && (unsigned)((unsigned char)s[i] - '0') <= 9) {
        if (i > 9) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
        scale /= 10;
        i++;
    }
    if (i == 1) {
        return -1;
    }
    *frac = v * scale;
    return (int)i;
}

/* Parses "Z" or "+hh:mm"/"-hh:mm" at S. Stores the offset east of UTC in seconds and
 * returns bytes used, or -1. */
static int parse_zone(const char *s, size_t len, int64_t *off)
{
    int hh, mm;
    *off = 0;
    if (len >= 1 && (s[0] == 'Z' || s[0] == 'z')) {
        return 1;
    }
    if (len < 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
        return -1;
    }
    hh = digits(s + 1, 2);
    mm = digits(s + 4, 2);
    if (hh < 0 || mm < 0 || hh > 23 || mm > 59) {
        return -1;
    }
    *off = (int64_t)hh * 3600 + mm * 60;
    if (s[0] == '-') {
        *off = -*off;
    }
    return 6;
}

/* Accepts the lower-case 't' and 'z' RFC 3339 allows; Docker writes upper case. A leap
 * second (:60) counts as the first second of the next minute. The result must lie in
 * [1970-01-01T00:00:00Z, 2262-04-11T23:47:16.854775807Z] after applying the offset. */
int lc_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns)
{
    int y, mo, d, h, mi, sec, nf, nz;
    int64_t frac, off, secs;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':') {
        return -EINVAL;
    }
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 60 || d > days_in_month(y, mo)) {
        return -EINVAL;
    }
    nf = parse_fraction(s + 19, len - 19, &frac);
    if (nf < 0) {
        return -EINVAL;
    }
    nz = parse_zone(s + 19 + nf, len - 19 - (size_t)nf, &off);
    if (nz < 0) {
        return -EINVAL;
    }
    secs = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + sec - off;
    if (secs < 0 || secs > MAX_SECS || (secs == MAX_SECS && frac > INT64_MAX % NS_PER_SEC)) {
        return -EINVAL;
    }
    *out_ns = secs * NS_PER_SEC + frac;
    return 19 + nf + nz;
}

/* Writes V as exactly N decimal digits ending at OUT + N. */
static void put_digits(char *out, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Returns -ENOSPC (and writes "" when CAP > 0) when CAP cannot hold the text and a NUL. */
int lc_time_format_since(int64_t ns, char *out, size_t cap)
{
    char tmp[32];
    int64_t secs;
    int n = 0;
    if (ns < 0) {
        ns = 0;
    }
    secs = ns / NS_PER_SEC;
    do {
        tmp[n++] = (char)('0' + secs % 10);
        secs /= 10;
    } while (secs > 0);
    if (cap < (size_t)n + 11) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return -ENOSPC;
    }
    for (int i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    out[n] = '.';
    put_digits(out + n + 1, ns % NS_PER_SEC, 9);
    out[n + 10] = '\0';
    return n + 10;
}

/* Negative NS is written as the epoch. Returns 30, or -ENOSPC (writing "" when CAP > 0)
 * when CAP is below 31. */
int lc_time_format_rfc3339(int64_t ns, char *out, size_t cap)
{
    int y, m, d;
    int64_t secs, sod;
    if (cap < 31) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return -ENOSPC;
    }
    if (ns < 0) {
        ns = 0;
    }
    secs = ns / NS_PER_SEC;
    sod = secs % SECS_PER_DAY;
    civil_from_days(secs / SECS_PER_DAY, &y, &m, &d);
    memcpy(out, "0000-00-00T00:00:00.000000000Z", 31);
    put_digits(out, y, 4);
    put_digits(out + 5, m, 2);
    put_digits(out + 8, d, 2);
    put_digits(out + 11, sod / 3600, 2);
    put_digits(out + 14, sod / 60 % 60, 2);
    put_digits(out + 17, sod % 60, 2);
    put_digits(out + 20, ns % NS_PER_SEC, 9);
    return 30;
}
