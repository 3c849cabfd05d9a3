/* json: the hot-path JSON encoder for records (see json.h). Runs of bytes that need no
 * change (printable ASCII and well-formed UTF-8) are found eight bytes at a time and
 * copied with one memcpy; only the bytes between runs are looked at one by one. Writes
 * into the caller's lc_buf and owns nothing. On -E2BIG the buffer is left as it was
 * before the call, so a caller never sees half a string or half a record. */
#include "core/json.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* A string literal and its length, for lc_buf_add. */
#define LIT(s) (s), (sizeof(s) - 1)

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Short escapes for the control bytes that have one; 0 means "\u00XX". */
static const char short_escape[32] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
};

/* Grows B for N more bytes unless it already has room: the common case costs two
 * comparisons instead of a call. */
static inline int room(struct lc_buf *b, size_t n)
{
    if (n <= b->max - b->len && n < b->cap - b->len) {
        return 0;
    }
    return lc_buf_reserve(b, n);
}

/* inline: it runs several times per field, and as a call it took a sixth of the time of
 * lc_json_add_record (bench/bench_decode.c: 2.7 M records/s before, 5 M after). */
static inline int put(struct lc_buf *b, const void *p, size_t n)
{
    int rc = room(b, n);
    if (rc != 0) {
        return rc;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Nonzero when a byte of W equals the byte repeated in C (exact, no false positive). */
static uint64_t has_byte(uint64_t w, uint64_t c)
{
    uint64_t x = w ^ c;
    return (x - ONES) & ~x & HIGHS;
}

static int is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Returns the end of the run of bytes from I that JSON copies unchanged: printable ASCII
 * other than '"' and '\\' (with ESC), or any ASCII (without). */
static inline size_t skip_ascii(const unsigned char *s, size_t i, size_t n, int esc)
{
    while (i + 8 <= n) {
        uint64_t w, bad;
        memcpy(&w, s + i, 8);
        bad = w & HIGHS;
        if (esc) {
            bad |= (w - 0x2020202020202020ULL) & ~w & HIGHS; /* a byte below 0x20 */
            bad |= has_byte(w, 0x2222222222222222ULL) | has_byte(w, 0x5c5c5c5c5c5c5c5cULL) |
                   has_byte(w, 0x7f7f7f7f7f7f7f7fULL);
        }
        if (bad != 0) {
            break;
        }
        i += 8;
    }
    while (i < n && (esc ? is_plain(s[i]) : s[i] < 0x80)) {
        i++;
    }
    return i;
}

/* Looks at the sequence that starts with the non-ASCII byte S[0]. Returns its length and
 * sets *VALID when it is well-formed UTF-8; otherwise returns the length of its maximal
 * ill-formed subpart (a prefix of some well-formed sequence, or 1), which becomes one
 * U+FFFD (Unicode 15, section 3.9, "U+FFFD Substitution of Maximal Subparts"). */
static size_t utf8_seq(const unsigned char *s, size_t n, int *valid)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t need, i = 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        lo = c == 0xe0 ? 0xa0 : lo; /* overlong */
        hi = c == 0xed ? 0x9f : hi; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        lo = c == 0xf0 ? 0x90 : lo; /* overlong */
        hi = c == 0xf4 ? 0x8f : hi; /* above U+10FFFF */
    } else {
        *valid = 0; /* continuation byte, C0, C1 or F5..FF */
        return 1;
    }
    if (n > 1 && s[1] >= lo && s[1] <= hi) {
        i = 2;
        while (i <= need && i < n && (s[i] & 0xc0) == 0x80) {
            i++;
        }
    }
    *valid = i == need + 1;
    return i;
}

static int put_escape(struct lc_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', (char)c, 0, 0, 0, 0};
    if (c == '"' || c == '\\') {
        return put(b, e, 2);
    }
    if (c < 0x20 && short_escape[c] != 0) {
        e[1] = short_escape[c];
        return put(b, e, 2);
    }
    e[1] = 'u';
    e[2] = '0';
    e[3] = '0';
    e[4] = hex[c >> 4];
    e[5] = hex[c & 0xf];
    return put(b, e, 6);
}

/* Appends S with ill-formed UTF-8 replaced and, with ESC, JSON escapes. */
static int add_utf8(struct lc_buf *b, const unsigned char *s, size_t n, int esc)
{
    size_t i = 0;
    while (i < n) {
        size_t j = skip_ascii(s, i, n, esc), k;
        int valid = 0, rc;
        while (j < n && s[j] >= 0x80) {
            k = utf8_seq(s + j, n - j, &valid);
            if (!valid) {
                break;
            }
            j = skip_ascii(s, j + k, n, esc);
        }
        if (j > i) {
            rc = put(b, s + i, j - i);
            if (rc != 0 || j == n) {
                return rc;
            }
        }
        if (s[j] < 0x80) {
            rc = put_escape(b, s[j]);
            i = j + 1;
        } else {
            rc = put(b, "\xef\xbf\xbd", 3);
            i = j + utf8_seq(s + j, n - j, &valid);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Ends an append that started at START: terminates the text, or undoes it on error. */
static int finish(struct lc_buf *b, size_t start, int rc)
{
    if (rc != 0) {
        b->len = start;
    }
    if (b->data != NULL) {
        b->data[b->len] = '\0';
    }
    return rc;
}

int lc_json_add_string(struct lc_buf *b, const char *s, size_t n)
{
    size_t start = b->len;
    int rc = put(b, "\"", 1);
    if (rc == 0) {
        rc = add_utf8(b, (const unsigned char *)s, n, 1);
    }
    if (rc == 0) {
        rc = put(b, "\"", 1);
    }
    return finish(b, start, rc);
}

/* Appends KEY (a literal such as ",\"image\":") and VALUE as a JSON string. */
static int add_field(struct lc_buf *b, const char *key, size_t klen, const char *value)
{
    int rc = put(b, key, klen);
    if (rc != 0) {
        return rc;
    }
    return lc_json_add_string(b, value, strlen(value));
}

int lc_json_add_attrs(struct lc_buf *b, const struct lc_attr *items, size_t n, unsigned head)
{
    size_t start = b->len;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct lc_attr *a = &items[i];
        if ((a->flags & LC_ATTR_HEAD) != head) {
            continue;
        }
        rc = put(b, ",", 1);
        rc = rc != 0 ? rc : lc_json_add_string(b, a->key, strlen(a->key));
        rc = rc != 0 ? rc : put(b, ":", 1);
        if (rc == 0 && (a->flags & LC_ATTR_JSON) != 0) {
            rc = put(b, a->value, strlen(a->value));
        } else if (rc == 0) {
            rc = lc_json_add_string(b, a->value, strlen(a->value));
        }
    }
    return finish(b, start, rc);
}

/* What a record without metadata has before "stream" (see json.h). */
static const char no_meta_head[] = ",\"container_id\":\"\",\"container_name\":\"\",\"image\":\"\"";

/* The pieces around the message are pre-encoded (the metadata's attributes, the fields):
 * each is one copy, where encoding the Docker fields each time took seven passes of the
 * escaper per line. */
int lc_json_add_record(struct lc_buf *b, const struct lc_record *r)
{
    const struct lc_meta *m = r->meta;
    size_t start = b->len;
    int rc = add_field(b, LIT("{\"ts\":"), r->ts);
    if (rc == 0) {
        rc = m != NULL ? put(b, m->json_head, m->json_head_len) : put(b, LIT(no_meta_head));
    }
    if (rc == 0) {
        rc = r->stream == LC_STREAM_STDERR ? put(b, LIT(",\"stream\":\"stderr\",\"message\":"))
                                           : put(b, LIT(",\"stream\":\"stdout\",\"message\":"));
    }
    if (rc == 0) {
        rc = lc_json_add_string(b, r->msg, r->len);
    }
    if (rc == 0 && r->truncated) {
        rc = put(b, LIT(",\"truncated\":true"));
    }
    if (rc == 0 && m != NULL) {
        rc = put(b, m->json_tail, m->json_tail_len);
    }
    if (rc == 0 && r->fields != NULL) {
        rc = put(b, r->fields->json, r->fields->json_len);
    }
    if (rc == 0) {
        rc = put(b, "}\n", 2);
    }
    return finish(b, start, rc);
}

int lc_json_add_utf8(struct lc_buf *b, const char *s, size_t n)
{
    size_t start = b->len;
    return finish(b, start, add_utf8(b, (const unsigned char *)s, n, 0));
}

int lc_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = skip_ascii(u, 0, n, 0);
    while (i < n) {
        int valid = 0;
        size_t k = utf8_seq(u + i, n - i, &valid);
        if (!valid) {
            return 0;
        }
        i = skip_ascii(u, i + k, n, 0);
    }
    return 1;
}

int lc_json_add_text(struct lc_buf *b, const struct lc_record *r)
{
    size_t start = b->len;
    int rc = add_utf8(b, (const unsigned char *)r->msg, r->len, 0);
    if (rc == 0) {
        rc = put(b, "\n", 1);
    }
    return finish(b, start, rc);
}
