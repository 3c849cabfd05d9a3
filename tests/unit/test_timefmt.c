/* test_timefmt: RFC 3339 parsing (valid forms, every invalid form, ranges, leap years,
 * offsets) and the two output formats, with round trips. */
#include <errno.h>
#include <stdint.h>

#include "base/timefmt.h"
#include "test.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static int64_t parse_ok(const char *s, size_t len, int *consumed)
{
    int64_t ns = -1;
    *consumed = lc_time_parse_rfc3339(s, len, &ns);
    return ns;
}

TEST(docker_form)
{
    int n;
    int64_t ns = parse_ok(S("2026-11-22T12:24:43.463703600Z hello"), &n);
    ASSERT_EQ(n, 30);
    ASSERT_EQ(ns, 1795350283463703600LL);
}

TEST(fraction_digits_0_to_9)
{
    static const struct {
        const char *s;
        int len;
        int64_t frac;
    } cases[] = {
        {"2026-11-22T12:24:43Z", 20, 0},
        {"2026-11-22T12:24:43.4Z", 22, 400000000},
        {"2026-11-22T12:24:43.46Z", 23, 460000000},
        {"2026-11-22T12:24:43.463Z", 24, 463000000},
        {"2026-11-22T12:24:43.4637Z", 25, 463700000},
        {"2026-11-22T12:24:43.46370Z", 26, 463700000},
        {"2026-11-22T12:24:43.463703Z", 27, 463703000},
        {"2026-11-22T12:24:43.4637036Z", 28, 463703600},
        {"2026-11-22T12:24:43.46370360Z", 29, 463703600},
        {"2026-11-22T12:24:43.463703601Z", 30, 463703601},
        {"2026-11-22T12:24:43.000000001Z", 30, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n;
        int64_t ns = parse_ok(cases[i].s, strlen(cases[i].s), &n);
        ASSERT_EQ(n, cases[i].len);
        ASSERT_EQ(ns, 1795350283LL * 1000000000 + cases[i].frac);
    }
}

TEST(offsets)
{
    int n;
    /* 12:24:43+01:30 is 10:54:43Z; 12:24:43-01:00 is 13:24:43Z. */
    ASSERT_EQ(parse_ok(S("2026-11-22T12:24:43.5+01:30"), &n), 1795344883500000000LL);
    ASSERT_EQ(n, 27);
    ASSERT_EQ(parse_ok(S("2026-11-22T12:24:43-01:00 x"), &n), 1795353883000000000LL);
    ASSERT_EQ(n, 25);
    ASSERT_EQ(parse_ok(S("2026-11-22T12:24:43+00:00"), &n), 1795350283000000000LL);
    ASSERT_EQ(parse_ok(S("2026-11-22T12:24:43-00:00"), &n), 1795350283000000000LL);
    ASSERT_EQ(parse_ok(S("2026-11-22T12:24:43+23:59"), &n),
              (1795350283LL - 23 * 3600 - 59 * 60) * 1000000000);
    /* Lower case 't' and 'z' are allowed by RFC 3339. */
    ASSERT_EQ(parse_ok(S("2026-11-22t12:24:43z"), &n), 1795350283000000000LL);
    ASSERT_EQ(n, 20);
}

TEST(leap_years)
{
    int n;
    ASSERT_EQ(parse_ok(S("2000-02-29T23:59:59Z"), &n), 951868799000000000LL);
    ASSERT_EQ(parse_ok(S("2024-02-29T00:00:00Z"), &n), 1709164800000000000LL);
    ASSERT_EQ(lc_time_parse_rfc3339(S("2023-02-29T00:00:00Z"), &(int64_t){0}), -EINVAL);
    ASSERT_EQ(lc_time_parse_rfc3339(S("2100-02-29T00:00:00Z"), &(int64_t){0}), -EINVAL);
    ASSERT_EQ(lc_time_parse_rfc3339(S("2024-02-30T00:00:00Z"), &(int64_t){0}), -EINVAL);
    ASSERT_EQ(parse_ok(S("2100-03-01T00:00:00Z"), &n), 4107542400000000000LL);
    ASSERT_EQ(parse_ok(S("2100-02-28T00:00:00Z"), &n), (4107542400LL - 86400) * 1000000000);
}

TEST(range_edges)
{
    int n;
    ASSERT_EQ(parse_ok(S("1970-01-01T00:00:00Z"), &n), 0);
    ASSERT_EQ(n, 20);
    ASSERT_EQ(parse_ok(S("1999-12-31T23:59:59.999999999Z"), &n), 946684799999999999LL);
    /* A leap second is the first second of the next minute. */
    ASSERT_EQ(parse_ok(S("1999-12-31T23:59:60Z"), &n), 946684800000000000LL);
    ASSERT_EQ(parse_ok(S("2026-04-30T00:00:00Z"), &n) > 0, 1);
    ASSERT_EQ(parse_ok(S("2026-12-31T00:00:00Z"), &n) > 0, 1);
    /* The last representable instant, and one nanosecond past it. */
    ASSERT_EQ(parse_ok(S("2262-04-11T23:47:16.854775807Z"), &n), INT64_MAX);
    ASSERT_EQ(lc_time_parse_rfc3339(S("2262-04-11T23:47:16.854775808Z"), &(int64_t){0}), -EINVAL);
    ASSERT_EQ(lc_time_parse_rfc3339(S("9999-12-31T23:59:59Z"), &(int64_t){0}), -EINVAL);
    /* Before the epoch once the offset is applied. */
    ASSERT_EQ(lc_time_parse_rfc3339(S("1970-01-01T00:00:00+00:01"), &(int64_t){0}), -EINVAL);
    ASSERT_EQ(parse_ok(S("1970-01-01T00:00:00-00:01"), &n), 60000000000LL);
}

TEST(invalid_forms)
{
    static const char *bad[] = {
        "",
        "2026-11-22T12:24:43",             /* no zone */
        "2026-11-22T12:24:43.Z",           /* '.' without digits */
        "2026-11-22T12:24:43.1234567890Z", /* 10 fraction digits */
        "2026-11-22T12:24:43.463",         /* fraction, no zone */
        "2026-11-22 12:24:43Z",            /* space separator */
        "2026-11-22X12:24:43Z",
        "2026/11/22T12:24:43Z",
        "2026-11-22T12-24-43Z",
        "2026-11-22T12:24:43+0100",  /* offset without ':' */
        "2026-11-22T12:24:43+01",    /* short offset */
        "2026-11-22T12:24:43+24:00", /* offset hour */
        "2026-11-22T12:24:43+01:60", /* offset minute */
        "2026-11-22T12:24:43 ",
        "2026-00-22T12:24:43Z", /* month 0 */
        "2026-13-22T12:24:43Z", /* month 13 */
        "2026-11-00T12:24:43Z", /* day 0 */
        "2026-11-31T12:24:43Z", /* November has 30 days */
        "2026-01-32T12:24:43Z",
        "2026-11-22T24:00:00Z", /* hour 24 */
        "2026-11-22T12:60:43Z", /* minute 60 */
        "2026-11-22T12:24:61Z", /* second 61 */
        "1969-12-31T23:59:59Z", /* before 1970 */
        "0000-01-01T00:00:00Z",
        "202a-11-22T12:24:43Z",
        "2026-1a-22T12:24:43Z",
        "2026-11-2aT12:24:43Z",
        "2026-11-22T1a:24:43Z",
        "2026-11-22T12:2a:43Z",
        "2026-11-22T12:24:4aZ",
        "+026-11-22T12:24:43Z",
        " 2026-11-22T12:24:43Z",
        "hello world, not a time at all",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns = 12345;
        int rc = lc_time_parse_rfc3339(bad[i], strlen(bad[i]), &ns);
        if (rc != -EINVAL) {
            fprintf(stderr, "  accepted: \"%s\" -> %d\n", bad[i], rc);
        }
        ASSERT_EQ(rc, -EINVAL);
        ASSERT_EQ(ns, 12345); /* untouched on error */
    }
}

TEST(length_is_respected)
{
    /* Not NUL-terminated: the parser must not read past LEN. */
    const char *s = "2026-11-22T12:24:43.463703600Z";
    int64_t ns;
    for (size_t len = 0; len < 20; len++) {
        ASSERT_EQ(lc_time_parse_rfc3339(s, len, &ns), -EINVAL);
    }
    ASSERT_EQ(lc_time_parse_rfc3339(s, 20, &ns), -EINVAL); /* "...43." then nothing */
    ASSERT_EQ(lc_time_parse_rfc3339(s, 29, &ns), -EINVAL); /* 9 digits, no zone */
    ASSERT_EQ(lc_time_parse_rfc3339(s, 30, &ns), 30);
    ASSERT_EQ(lc_time_parse_rfc3339("2026-11-22T12:24:43+01:00", 24, &ns), -EINVAL);
}

TEST(format_since)
{
    char out[64];
    ASSERT_EQ(lc_time_format_since(1795350317317055337LL, out, sizeof(out)), 20);
    ASSERT_STR_EQ(out, "1795350317.317055337");
    ASSERT_EQ(lc_time_format_since(0, out, sizeof(out)), 11);
    ASSERT_STR_EQ(out, "0.000000000");
    ASSERT_EQ(lc_time_format_since(-5, out, sizeof(out)), 11);
    ASSERT_STR_EQ(out, "0.000000000");
    ASSERT_EQ(lc_time_format_since(1000000001, out, sizeof(out)), 11);
    ASSERT_STR_EQ(out, "1.000000001");
    ASSERT_EQ(lc_time_format_since(INT64_MAX, out, sizeof(out)), 20);
    ASSERT_STR_EQ(out, "9223372036.854775807");
    /* Too small: nothing but a NUL. */
    ASSERT_EQ(lc_time_format_since(1795350317317055337LL, out, 20), -ENOSPC);
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(lc_time_format_since(1795350317317055337LL, out, 21), 20);
}

TEST(format_rfc3339)
{
    char out[64];
    ASSERT_EQ(lc_time_format_rfc3339(1795350283463703600LL, out, sizeof(out)), 30);
    ASSERT_STR_EQ(out, "2026-11-22T12:24:43.463703600Z");
    ASSERT_EQ(lc_time_format_rfc3339(0, out, sizeof(out)), 30);
    ASSERT_STR_EQ(out, "1970-01-01T00:00:00.000000000Z");
    ASSERT_EQ(lc_time_format_rfc3339(-1, out, sizeof(out)), 30);
    ASSERT_STR_EQ(out, "1970-01-01T00:00:00.000000000Z");
    ASSERT_EQ(lc_time_format_rfc3339(951868799000000001LL, out, sizeof(out)), 30);
    ASSERT_STR_EQ(out, "2000-02-29T23:59:59.000000001Z");
    ASSERT_EQ(lc_time_format_rfc3339(INT64_MAX, out, sizeof(out)), 30);
    ASSERT_STR_EQ(out, "2262-04-11T23:47:16.854775807Z");
    ASSERT_EQ(lc_time_format_rfc3339(0, out, 30), -ENOSPC);
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(lc_time_format_rfc3339(0, out, 31), 30);
}

TEST(round_trips)
{
    /* format(parse(x)) == x for canonical text, and parse(format(ns)) == ns for many ns,
     * stepping through every day of several years (leap and not). */
    const char *texts[] = {"2026-11-22T12:24:43.463703600Z", "2024-02-29T00:00:00.000000000Z",
                           "2000-12-31T23:59:59.999999999Z", "1970-01-01T00:00:00.000000000Z"};
    char out[64];
    int64_t ns, back;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        ASSERT_EQ(lc_time_parse_rfc3339(texts[i], strlen(texts[i]), &ns), 30);
        ASSERT_EQ(lc_time_format_rfc3339(ns, out, sizeof(out)), 30);
        ASSERT_STR_EQ(out, texts[i]);
    }
    for (int64_t s = 0; s < 9223372036LL; s += 86400LL * 7 + 3607) {
        ns = s * 1000000000 + (s % 1000000007);
        ASSERT_EQ(lc_time_format_rfc3339(ns, out, sizeof(out)), 30);
        ASSERT_EQ(lc_time_parse_rfc3339(out, 30, &back), 30);
        ASSERT_EQ(back, ns);
    }
    /* Every day 1999..2001 and 2099..2101, at the first and last second. */
    for (int64_t d = 10592; d < 11688; d++) {
        ns = d * 86400 * 1000000000LL;
        ASSERT_EQ(lc_time_format_rfc3339(ns, out, sizeof(out)), 30);
        ASSERT_EQ(lc_time_parse_rfc3339(out, 30, &back), 30);
        ASSERT_EQ(back, ns);
        ns += 86399999999999LL;
        ASSERT_EQ(lc_time_format_rfc3339(ns, out, sizeof(out)), 30);
        ASSERT_EQ(lc_time_parse_rfc3339(out, 30, &back), 30);
        ASSERT_EQ(back, ns);
    }
    for (int64_t d = 47116; d < 48212; d++) {
        ns = d * 86400 * 1000000000LL + 43200000000000LL;
        ASSERT_EQ(lc_time_format_rfc3339(ns, out, sizeof(out)), 30);
        ASSERT_EQ(lc_time_parse_rfc3339(out, 30, &back), 30);
        ASSERT_EQ(back, ns);
    }
}

TEST(since_matches_parse)
{
    char out[64];
    int64_t ns;
    ASSERT_EQ(lc_time_parse_rfc3339(S("2026-11-22T12:24:43.463703600Z"), &ns), 30);
    ASSERT_EQ(lc_time_format_since(ns, out, sizeof(out)), 20);
    ASSERT_STR_EQ(out, "1795350283.463703600");
}

TEST_MAIN(TEST_ENTRY(docker_form), TEST_ENTRY(fraction_digits_0_to_9), TEST_ENTRY(offsets),
          TEST_ENTRY(leap_years), TEST_ENTRY(range_edges), TEST_ENTRY(invalid_forms),
          TEST_ENTRY(length_is_respected), TEST_ENTRY(format_since), TEST_ENTRY(format_rfc3339),
          TEST_ENTRY(round_trips), TEST_ENTRY(since_matches_parse))
