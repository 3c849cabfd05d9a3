/* fuzz_http_answer: the parts of the HTTP layer that read what a server sends: the first
 * line of an answer's body (kept for /health and dead letters) and Retry-After. The line
 * must be valid UTF-8 without line breaks or control bytes, fit its buffer, and be a prefix
 * of the body's first line wherever the body was well-formed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outputs/http.h"

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

/* 1 when S (N bytes) is well-formed UTF-8 without control bytes. */
static int clean_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80 ? 1 : (s[i] & 0xE0) == 0xC0 ? 2 : (s[i] & 0xF0) == 0xE0 ? 3 : 4;
        uint32_t cp = len == 1   ? s[i]
                      : len == 2 ? s[i] & 0x1Fu
                      : len == 3 ? s[i] & 0x0Fu
                                 : s[i] & 0x07u;
        if (s[i] < 0x20 || s[i] == 0x7F || (s[i] >= 0x80 && s[i] < 0xC2) || s[i] > 0xF4 ||
            i + len > n) {
            return 0;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return 0;
        }
        i += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[LC_HTTP_LINE_CAP], small[7], *text = malloc(size + 1);
    size_t cap = size > 0 ? data[0] % sizeof small + 1 : sizeof small;

    lc_http_first_line(line, sizeof line, (const char *)data, size);
    check(strlen(line) < sizeof line);
    check(clean_utf8((const unsigned char *)line, strlen(line)));
    lc_http_first_line(small, cap, (const char *)data, size);
    check(strlen(small) < cap && clean_utf8((const unsigned char *)small, strlen(small)));
    check(strncmp(line, small, strlen(small)) == 0);
    if (clean_utf8(data, size) && size < sizeof line) {
        check(strlen(line) == size && memcmp(line, data, size) == 0);
    }
    memcpy(text, data, size);
    text[size] = '\0';
    check(lc_http_parse_retry_after(text, 1700000000) >= -1);
    check(lc_http_parse_retry_after(text, 1700000000) <= (int64_t)LC_DAY_MS);
    free(text);
    return 0;
}
