/* fuzz_timefmt: the RFC 3339 parser on arbitrary bytes. What parses must be in range, and
 * formatting it (both forms) and parsing again must give the same instant. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[64], copy[64];
    int64_t ns, back;
    int n = lc_time_parse_rfc3339((const char *)data, size, &ns), k;
    if (n == -EINVAL) {
        return 0;
    }
    if (n < 20 || n > 35 || (size_t)n > size || ns < 0) {
        abort();
    }
    /* Only the N bytes consumed matter. */
    memcpy(copy, data, (size_t)n);
    if (lc_time_parse_rfc3339(copy, (size_t)n, &back) != n || back != ns) {
        abort();
    }
    if (lc_time_format_rfc3339(ns, out, sizeof(out)) != 30 || strlen(out) != 30) {
        abort();
    }
    if (lc_time_parse_rfc3339(out, 30, &back) != 30 || back != ns) {
        abort();
    }
    k = lc_time_format_since(ns, out, sizeof(out));
    if (k < 11 || (size_t)k != strlen(out) || out[k - 10] != '.' ||
        strtoll(out, NULL, 10) != ns / 1000000000 ||
        strtoll(out + k - 9, NULL, 10) != ns % 1000000000) {
        abort();
    }
    return 0;
}
