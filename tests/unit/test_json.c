/* test_json: the record encoder. Every control byte, quote and backslash; well-formed UTF-8
 * kept; each class of ill-formed UTF-8 replaced per maximal subpart; a differential test
 * against a slow reference encoder on random bytes (with every special byte at every
 * offset of the eight-byte fast path); jansson parses every output and round-trips valid
 * input; whole records with and without optional fields; the buffer cap. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/json.h"
#include "core/record.h"
#include "test.h"

#define FFFD "\xef\xbf\xbd"

/* Encodes N bytes of S and compares with the literal EXPECT (quotes included). */
static int enc_is(const char *s, size_t n, const char *expect)
{
    struct lc_buf b;
    int ok;
    lc_buf_init(&b, 0);
    ok = lc_json_add_string(&b, s, n) == 0 && b.len == strlen(expect) &&
         memcmp(b.data, expect, b.len) == 0 && b.data[b.len] == '\0';
    if (!ok) {
        fprintf(stderr, "  got \"%.*s\" want \"%s\"\n", (int)b.len, b.data ? b.data : "", expect);
    }
    lc_buf_close(&b);
    return ok;
}

#define ENC_IS(lit, expect) ASSERT_TRUE(enc_is((lit), sizeof(lit) - 1, (expect)))

TEST(control_bytes)
{
    static const char *expect[32] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
        "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
        "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    };
    char want[64];
    for (int c = 0; c < 32; c++) {
        char in[3] = {'a', (char)c, 'b'};
        snprintf(want, sizeof(want), "\"%s\"", expect[c]);
        ASSERT_TRUE(enc_is(in + 1, 1, want));
        snprintf(want, sizeof(want), "\"a%sb\"", expect[c]);
        ASSERT_TRUE(enc_is(in, 3, want));
    }
    ENC_IS("\x7f", "\"\\u007f\"");
    ENC_IS("\"", "\"\\\"\"");
    ENC_IS("\\", "\"\\\\\"");
    ENC_IS("a/b", "\"a/b\""); /* '/' is not escaped */
    ENC_IS("", "\"\"");
    ENC_IS("plain text, 123 ~!@#$%^&*()_+{}|:<>?", "\"plain text, 123 ~!@#$%^&*()_+{}|:<>?\"");
    ENC_IS("say \"hi\"\\n\n", "\"say \\\"hi\\\"\\\\n\\n\"");
}

TEST(valid_utf8_kept)
{
    static const char *ok[] = {
        "\xc2\x80",         "\xc3\xa9",
        "\xdf\xbf",         "\xe0\xa0\x80",
        "\xe2\x82\xac",     "\xed\x9f\xbf",
        "\xee\x80\x80",     "\xef\xbf\xbf",
        "\xef\xbf\xbd",     "\xf0\x90\x80\x80",
        "\xf0\x9d\x84\x9e", "\xf3\xbf\xbf\xbf",
        "\xf4\x8f\xbf\xbf", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac 5 \xf0\x9f\x98\x80!",
    };
    char want[128];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(want, sizeof(want), "\"%s\"", ok[i]);
        ASSERT_TRUE(enc_is(ok[i], strlen(ok[i]), want));
    }
}

TEST(invalid_utf8_maximal_subparts)
{
    /* Lone continuation bytes. */
    ENC_IS("\x80", "\"" FFFD "\"");
    ENC_IS("a\x80z", "\"a" FFFD "z\"");
    ENC_IS("\x80\xbf", "\"" FFFD FFFD "\"");
    /* Overlong: C0/C1 are never valid; E0 80, F0 80 are not prefixes of valid sequences. */
    ENC_IS("\xc0\x80", "\"" FFFD FFFD "\"");
    ENC_IS("\xc1\xbf", "\"" FFFD FFFD "\"");
    ENC_IS("\xe0\x80\x80", "\"" FFFD FFFD FFFD "\"");
    ENC_IS("\xe0\x9f\xbf", "\"" FFFD FFFD FFFD "\"");
    ENC_IS("\xf0\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    ENC_IS("\xf0\x8f\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\"");
    /* Surrogates. */
    ENC_IS("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");
    ENC_IS("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"");
    ENC_IS("\xed\xa0\x80\xed\xb0\x80", "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"");
    /* Above U+10FFFF. */
    ENC_IS("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    ENC_IS("\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    ENC_IS("\xf7\xbf\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\"");
    ENC_IS("\xf8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\"");
    ENC_IS("\xfe\xff", "\"" FFFD FFFD "\"");
    /* Truncated at the end: one U+FFFD for the whole prefix. */
    ENC_IS("\xc3", "\"" FFFD "\"");
    ENC_IS("\xe2\x82", "\"" FFFD "\"");
    ENC_IS("\xf0\x9d\x84", "\"" FFFD "\"");
    ENC_IS("ok\xf4\x8f\xbf", "\"ok" FFFD "\"");
    ENC_IS("\xe0\xa0", "\"" FFFD "\"");
    /* Truncated in the middle. */
    ENC_IS("\xc3"
           "A",
           "\"" FFFD "A\"");
    ENC_IS("\xe2\x82"
           "A",
           "\"" FFFD "A\"");
    ENC_IS("\xe2"
           "A",
           "\"" FFFD "A\"");
    ENC_IS("\xf0\x9d\x84"
           "A",
           "\"" FFFD "A\"");
    ENC_IS("\xe2\x82\xe2\x82\xac", "\"" FFFD "\xe2\x82\xac\"");
    ENC_IS("\xc3\xc3\xa9", "\"" FFFD "\xc3\xa9\"");
    ENC_IS("\xf0\x9d\x84\"", "\"" FFFD "\\\"\"");
    ENC_IS("\xe2\x82\n", "\"" FFFD "\\n\"");
    /* Unicode 15, table 3-8. */
    ENC_IS("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
           "\"a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d\"");
}

/* --- A slow reference encoder, written independently of json.c. --- */

static unsigned char prefix2[65536 / 8];
static unsigned char *prefix3; /* 2^24 bits */

static void mark(unsigned char *set, uint32_t v)
{
    set[v >> 3] |= (unsigned char)(1u << (v & 7));
}

static int marked(const unsigned char *set, uint32_t v)
{
    return (set[v >> 3] >> (v & 7)) & 1;
}

static size_t encode_cp(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Every proper prefix of every well-formed sequence, by enumerating all scalar values. */
static void build_prefixes(void)
{
    unsigned char o[4];
    if (prefix3 != NULL) {
        return;
    }
    prefix3 = calloc(1, (1u << 24) / 8);
    for (uint32_t cp = 0x80; cp <= 0x10ffff; cp++) {
        size_t n;
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }
        n = encode_cp(cp, o);
        mark(prefix2, (uint32_t)o[0] << 8 | o[1]);
        if (n == 4) {
            mark(prefix3, (uint32_t)o[0] << 16 | (uint32_t)o[1] << 8 | o[2]);
        }
    }
}

/* Length of the well-formed sequence at S, or 0: decode, then check the value. */
static size_t ref_valid(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    uint32_t cp, min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (len == 0 || len > n || s[0] >= 0xf8) {
        return 0;
    }
    cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

/* Length of the maximal subpart at S (not well-formed): its longest prefix that is a
 * proper prefix of a well-formed sequence, at least 1. */
static size_t ref_subpart(const unsigned char *s, size_t n)
{
    if (n >= 3 && marked(prefix3, (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2])) {
        return 3;
    }
    if (n >= 2 && marked(prefix2, (uint32_t)s[0] << 8 | s[1])) {
        return 2;
    }
    return 1;
}

static void ref_encode(struct lc_buf *b, const unsigned char *s, size_t n)
{
    lc_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        size_t v = s[i] >= 0x80 ? ref_valid(s + i, n - i) : 0;
        if (s[i] == '"' || s[i] == '\\') {
            lc_buf_printf(b, "\\%c", s[i++]);
        } else if (s[i] == '\n') {
            lc_buf_adds(b, "\\n");
            i++;
        } else if (s[i] == '\t' || s[i] == '\r' || s[i] == '\b' || s[i] == '\f') {
            lc_buf_printf(b, "\\%c", "btnvfr"[s[i] - '\b']);
            i++;
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            lc_buf_printf(b, "\\u%04x", s[i++]);
        } else if (s[i] < 0x80) {
            lc_buf_addc(b, (char)s[i++]);
        } else if (v > 0) {
            lc_buf_add(b, s + i, v);
            i += v;
        } else {
            lc_buf_adds(b, FFFD);
            i += ref_subpart(s + i, n - i);
        }
    }
    lc_buf_addc(b, '"');
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Random bytes biased towards the interesting ones. */
static unsigned char rnd_byte(void)
{
    static const unsigned char pick[] = {0x00, 0x0a, 0x1f, '"',  '\\', 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                         0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef,
                                         0xf0, 0xf3, 0xf4, 0xf5, 0xff, 'a',  ' ',  '/'};
    uint32_t r = rnd();
    if (r % 4 == 0) {
        return (unsigned char)(r >> 8);
    }
    if (r % 4 == 1) {
        return pick[(r >> 8) % sizeof(pick)];
    }
    return (unsigned char)('a' + (r >> 8) % 26);
}

/* Compares lc_json_add_string with the reference, and checks that jansson parses the
 * output to the input with ill-formed parts replaced. */
static int same_as_reference(const unsigned char *s, size_t n)
{
    struct lc_buf got, want, plain;
    json_error_t err;
    json_t *j;
    int ok;
    lc_buf_init(&got, 0);
    lc_buf_init(&want, 0);
    lc_buf_init(&plain, 0);
    lc_json_add_string(&got, (const char *)s, n);
    ref_encode(&want, s, n);
    ok = got.len == want.len && memcmp(got.data, want.data, got.len) == 0;
    j = json_loadb(got.data, got.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    ok = ok && j != NULL && json_is_string(j);
    /* The decoded string is the input with each maximal subpart replaced. */
    for (size_t i = 0; ok && i < n;) {
        size_t v = s[i] >= 0x80 ? ref_valid(s + i, n - i) : 1;
        if (v > 0) {
            lc_buf_add(&plain, s + i, v);
            i += v;
        } else {
            lc_buf_adds(&plain, FFFD);
            i += ref_subpart(s + i, n - i);
        }
    }
    ok = ok && json_string_length(j) == plain.len &&
         memcmp(json_string_value(j), plain.data ? plain.data : "", plain.len) == 0;
    json_decref(j);
    lc_buf_close(&got);
    lc_buf_close(&want);
    lc_buf_close(&plain);
    return ok;
}

TEST(fast_path_every_offset)
{
    /* Each special byte (and each multibyte start) at every offset of runs up to 40. */
    static const char *special[] = {"\"",
                                    "\\",
                                    "\x01",
                                    "\x1f",
                                    "\x7f",
                                    "\n",
                                    "\x80",
                                    "\xc3\xa9",
                                    "\xe2\x82\xac",
                                    "\xf0\x9f\x98\x80",
                                    "\xe2\x82",
                                    "\xff",
                                    " ",
                                    "~"};
    unsigned char in[64];
    build_prefixes();
    for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
        size_t sl = strlen(special[k]);
        for (size_t len = 0; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                memset(in, 'x', len);
                memmove(in + at + sl, in + at, len - at);
                memcpy(in + at, special[k], sl);
                ASSERT_TRUE(same_as_reference(in, len + sl));
            }
        }
    }
}

TEST(random_bytes_against_reference_and_jansson)
{
    unsigned char in[300];
    build_prefixes();
    for (int round = 0; round < 30000; round++) {
        size_t n = rnd() % sizeof(in);
        for (size_t i = 0; i < n; i++) {
            in[i] = rnd_byte();
        }
        if (!same_as_reference(in, n)) {
            fprintf(stderr, "  round %d, %zu bytes\n", round, n);
        }
        ASSERT_TRUE(same_as_reference(in, n));
    }
}

TEST(valid_input_round_trips)
{
    unsigned char in[400], o[4];
    for (int round = 0; round < 5000; round++) {
        size_t n = 0;
        struct lc_buf b;
        json_error_t err;
        json_t *j;
        while (n < sizeof(in) - 4 && rnd() % 100 != 0) {
            uint32_t r = rnd(), cp;
            cp = r % 3 == 0 ? r % 0x80 : r % 3 == 1 ? r % 0x800 : (rnd() % 0x110000);
            if (cp >= 0xd800 && cp <= 0xdfff) {
                continue;
            }
            size_t k = encode_cp(cp, o);
            memcpy(in + n, o, k);
            n += k;
        }
        lc_buf_init(&b, 0);
        ASSERT_EQ(lc_json_add_string(&b, (const char *)in, n), 0);
        j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        ASSERT_TRUE(j != NULL);
        ASSERT_MEM_EQ(json_string_value(j), json_string_length(j), in, n);
        json_decref(j);
        lc_buf_close(&b);
    }
}

static struct lc_record *make_record(struct lc_meta *m, int stream, const char *msg, size_t len,
                                     int truncated)
{
    const char *ts = "2026-11-22T12:24:43.463703600Z";
    return lc_record_create(m, stream, 1795350283463703600LL, ts, strlen(ts), msg, len, truncated);
}

TEST(record_minimal)
{
    struct lc_meta *m =
        lc_meta_docker_create("0123abcd", "web-1", "nginx:1.25", "", NULL, NULL, NULL);
    struct lc_record *r = make_record(m, LC_STREAM_STDOUT, "GET / 200", 9, 0);
    struct lc_buf b;
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_json_add_record(&b, r), 0);
    ASSERT_STR_EQ(b.data,
                  "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":\"0123abcd\","
                  "\"container_name\":\"web-1\",\"image\":\"nginx:1.25\","
                  "\"stream\":\"stdout\",\"message\":\"GET / 200\"}\n");
    lc_record_destroy(r);
    lc_meta_unref(m);
    lc_buf_close(&b);
}

TEST(record_all_fields)
{
    struct lc_meta *m = lc_meta_docker_create("0123abcd", "shop-db-1", "postgres:16", "host-7",
                                              "{\"tier\":\"db\",\"a\\\"b\":\"c\"}", "shop", "db");
    struct lc_record *r = make_record(m, LC_STREAM_STDERR, "bad \"x\"\t\xff\x00!", 11, 1);
    struct lc_buf b;
    json_error_t err;
    json_t *j;
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_json_add_record(&b, r), 0);
    ASSERT_STR_EQ(b.data,
                  "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":\"0123abcd\","
                  "\"container_name\":\"shop-db-1\",\"image\":\"postgres:16\","
                  "\"stream\":\"stderr\",\"message\":\"bad \\\"x\\\"\\t" FFFD "\\u0000!\","
                  "\"truncated\":true,\"host\":\"host-7\","
                  "\"labels\":{\"tier\":\"db\",\"a\\\"b\":\"c\"},"
                  "\"compose_project\":\"shop\",\"compose_service\":\"db\"}\n");
    j = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &err);
    ASSERT_TRUE(j != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j, "labels"), "tier")), "db");
    ASSERT_TRUE(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    /* Appends: a second record follows the first. */
    ASSERT_EQ(lc_json_add_record(&b, r), 0);
    ASSERT_EQ(b.len % 2, 0);
    ASSERT_MEM_EQ(b.data, b.len / 2, b.data + b.len / 2, b.len / 2);
    lc_record_destroy(r);
    lc_meta_unref(m);
    lc_buf_close(&b);
}

TEST(record_some_optional_and_no_meta)
{
    struct lc_meta *m = lc_meta_docker_create("id", "n", "i", "h", NULL, NULL, "svc");
    struct lc_record *r = make_record(m, LC_STREAM_STDOUT, "", 0, 0);
    struct lc_record *r2 = make_record(NULL, LC_STREAM_STDERR, "x", 1, 1);
    struct lc_buf b;
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_json_add_record(&b, r), 0);
    ASSERT_STR_EQ(b.data, "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":\"id\","
                          "\"container_name\":\"n\",\"image\":\"i\",\"stream\":\"stdout\","
                          "\"message\":\"\",\"host\":\"h\",\"compose_service\":\"svc\"}\n");
    lc_buf_reset(&b);
    ASSERT_EQ(lc_json_add_record(&b, r2), 0);
    ASSERT_STR_EQ(b.data, "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":\"\","
                          "\"container_name\":\"\",\"image\":\"\",\"stream\":\"stderr\","
                          "\"message\":\"x\",\"truncated\":true}\n");
    lc_record_destroy(r);
    lc_record_destroy(r2);
    lc_meta_unref(m);
    lc_buf_close(&b);
}

/* ---- the file output's documented JSON for Docker records, byte for byte ---------------
 * The expected strings below were produced by the encoder as it was before metadata became
 * source-neutral (issue 9, item 4) and are pasted here literally: they pin key order, which
 * keys are omitted, labels inserted as is, and the escaping of odd bytes in every field. */

#define GOLD_ID "4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e"
#define GOLD_MSG                                                                                   \
    "tab\there \"q\" back\\slash \x01\x1f\x7f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "             \
    "bad:\xff\xc0\xaf\xed\xa0\x80\xe2\x82 nul:\0 end"

static const char DOCKER_MINIMAL[] =
    "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":"
    "\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\",\"container_name\":\"web-"
    "1\",\"image\":\"nginx:1.25\",\"stream\":\"stdout\",\"message\":\"GET / 200\"}\n";

static const char DOCKER_FULL[] =
    "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":"
    "\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\",\"container_name\":"
    "\"shop-web-1\",\"image\":\"registry.local:5000/shop/"
    "web@sha256:ab12\",\"stream\":\"stderr\",\"message\":\"tab\\there \\\"q\\\" back\\\\slash "
    "\\u0001\\u001f\\u007f \xc3"
    "\xa9"
    " \xe2"
    "\x82"
    "\xac"
    " \xf0"
    "\x9f"
    "\x98"
    "\x80"
    " bad:\xef"
    "\xbf"
    "\xbd"
    "\xef"
    "\xbf"
    "\xbd"
    "\xef"
    "\xbf"
    "\xbd"
    "\xef"
    "\xbf"
    "\xbd"
    "\xef"
    "\xbf"
    "\xbd"
    "\xef"
    "\xbf"
    "\xbd"
    "\xef"
    "\xbf"
    "\xbd"
    " nul:\\u0000 "
    "end\",\"truncated\":true,\"host\":\"node-3\",\"labels\":{\"com.docker.compose.project\":"
    "\"shop\",\"com.docker.compose.service\":\"web\",\"tier\":\"front "
    "\\\"x\\\"\"},\"compose_project\":\"shop\",\"compose_service\":\"web\"}\n";

static const char DOCKER_LABELS_ONLY[] =
    "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":"
    "\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\",\"container_name\":"
    "\"solo\",\"image\":\"busybox\",\"stream\":\"stdout\",\"message\":\"labels, no "
    "compose\",\"host\":\"node-3\",\"labels\":{\"a\":\"1\"}}\n";

static const char DOCKER_PROJECT_ONLY[] =
    "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":"
    "\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\",\"container_name\":\"p-"
    "only\",\"image\":\"img\",\"stream\":\"stderr\",\"message\":\"\",\"truncated\":true,\"compose_"
    "project\":\"proj\"}\n";

static const char DOCKER_EMPTY[] =
    "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":\"\",\"container_name\":\"\","
    "\"image\":\"\",\"stream\":\"stdout\",\"message\":\"x\"}\n";

static const char DOCKER_ODD_META[] =
    "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":"
    "\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\",\"container_name\":"
    "\"n\xc3"
    "\xa4"
    "me\\u0001\xef"
    "\xbf"
    "\xbd"
    "\",\"image\":\"im\\\"age\\\\\",\"stream\":\"stderr\",\"message\":\"m\",\"host\":\"h\xc3"
    "\xb6"
    "st\\t\",\"labels\":{\"\xc3"
    "\xa9"
    "\":\"\\u0001\"},\"compose_project\":\"p\xef"
    "\xbf"
    "\xbd"
    "\",\"compose_service\":\"s\\n\"}\n";

static const char NO_META[] =
    "{\"ts\":\"2026-11-22T12:24:43.463703600Z\",\"container_id\":\"\",\"container_name\":\"\","
    "\"image\":\"\",\"stream\":\"stdout\",\"message\":\"no meta\"}\n";

/* Encodes one record of M (a reference the call drops) and compares with EXPECT. */
static int gold_is(struct lc_meta *m, int stream, const char *msg, size_t len, int truncated,
                   const char *expect)
{
    struct lc_record *r = make_record(m, stream, msg, len, truncated);
    struct lc_buf b;
    int ok;
    lc_buf_init(&b, 0);
    ok = lc_json_add_record(&b, r) == 0 && b.len == strlen(expect) &&
         memcmp(b.data, expect, b.len) == 0;
    if (!ok) {
        fprintf(stderr, "  got  %.*s  want %s", (int)b.len, b.data ? b.data : "", expect);
    }
    lc_buf_close(&b);
    lc_record_destroy(r);
    lc_meta_unref(m);
    return ok;
}

TEST(docker_records_byte_for_byte)
{
    ASSERT_TRUE(gold_is(lc_meta_docker_create(GOLD_ID, "web-1", "nginx:1.25", "", NULL, NULL, NULL),
                        LC_STREAM_STDOUT, "GET / 200", 9, 0, DOCKER_MINIMAL));
    ASSERT_TRUE(
        gold_is(lc_meta_docker_create(GOLD_ID, "shop-web-1",
                                      "registry.local:5000/shop/web@sha256:ab12", "node-3",
                                      "{\"com.docker.compose.project\":\"shop\",\"com.docker."
                                      "compose.service\":\"web\",\"tier\":\"front \\\"x\\\"\"}",
                                      "shop", "web"),
                LC_STREAM_STDERR, GOLD_MSG, sizeof(GOLD_MSG) - 1, 1, DOCKER_FULL));
    ASSERT_TRUE(gold_is(
        lc_meta_docker_create(GOLD_ID, "solo", "busybox", "node-3", "{\"a\":\"1\"}", NULL, NULL),
        LC_STREAM_STDOUT, "labels, no compose", 18, 0, DOCKER_LABELS_ONLY));
    ASSERT_TRUE(gold_is(lc_meta_docker_create(GOLD_ID, "p-only", "img", "", NULL, "proj", NULL),
                        LC_STREAM_STDERR, "", 0, 1, DOCKER_PROJECT_ONLY));
    ASSERT_TRUE(gold_is(lc_meta_docker_create("", "", "", "", NULL, NULL, NULL), LC_STREAM_STDOUT,
                        "x", 1, 0, DOCKER_EMPTY));
    ASSERT_TRUE(
        gold_is(lc_meta_docker_create(GOLD_ID, "n\xc3\xa4me\x01\xff", "im\"age\\", "h\xc3\xb6st\t",
                                      "{\"\xc3\xa9\":\"\\u0001\"}", "p\xff", "s\n"),
                LC_STREAM_STDERR, "m", 1, 0, DOCKER_ODD_META));
    ASSERT_TRUE(gold_is(NULL, LC_STREAM_STDOUT, "no meta", 7, 0, NO_META));
}

TEST(text_format)
{
    struct lc_record *r = make_record(NULL, 1, "a\"\\\t\x01\xc3\xa9\xed\xa0\x80\xe2\x82", 12, 0);
    struct lc_buf b;
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_json_add_text(&b, r), 0);
    ASSERT_MEM_EQ(b.data, b.len, "a\"\\\t\x01\xc3\xa9" FFFD FFFD FFFD FFFD "\n", 7 + 12 + 1);
    lc_record_destroy(r);
    lc_buf_close(&b);
}

TEST(buffer_cap)
{
    /* Every cap below the exact size fails with -E2BIG and leaves the buffer as it was;
     * the exact size succeeds. Holds for strings, records and text. */
    const char *msg = "x\x01\xff\xc3\xa9\"0123456789abcdefghijklmnopqrstuvwxyz";
    struct lc_meta *m = lc_meta_docker_create("id", "n", "i", "h", "{}", "p", "s");
    struct lc_record *r = make_record(m, 2, msg, strlen(msg), 1);
    size_t full_str, full_rec, full_txt;
    struct lc_buf b;
    lc_buf_init(&b, 0);
    lc_json_add_string(&b, msg, strlen(msg));
    full_str = b.len;
    lc_buf_reset(&b);
    lc_json_add_record(&b, r);
    full_rec = b.len;
    lc_buf_reset(&b);
    lc_json_add_text(&b, r);
    full_txt = b.len;
    lc_buf_close(&b);
    for (size_t cap = 3; cap <= full_rec + 3; cap++) {
        lc_buf_init(&b, cap);
        lc_buf_add(&b, "AB", 2);
        ASSERT_EQ(lc_json_add_string(&b, msg, strlen(msg)), cap - 2 >= full_str ? 0 : -E2BIG);
        if (cap - 2 < full_str) {
            ASSERT_STR_EQ(b.data, "AB");
        }
        lc_buf_reset(&b);
        lc_buf_add(&b, "AB", 2);
        ASSERT_EQ(lc_json_add_record(&b, r), cap - 2 >= full_rec ? 0 : -E2BIG);
        ASSERT_EQ(b.len, cap - 2 >= full_rec ? full_rec + 2 : 2);
        ASSERT_EQ(b.data[b.len], '\0');
        lc_buf_reset(&b);
        ASSERT_EQ(lc_json_add_text(&b, r), cap >= full_txt ? 0 : -E2BIG);
        ASSERT_EQ(b.len, cap >= full_txt ? full_txt : 0);
        lc_buf_close(&b);
    }
    lc_record_destroy(r);
    lc_meta_unref(m);
}

TEST(long_message)
{
    /* A 1 MiB message of mixed content: same as the reference, parsed by jansson. */
    size_t n = 1 << 20;
    unsigned char *in = malloc(n);
    build_prefixes();
    for (size_t i = 0; i < n; i++) {
        in[i] = i % 1000 == 999 ? rnd_byte() : (unsigned char)('a' + i % 26);
    }
    ASSERT_TRUE(same_as_reference(in, n));
    free(in);
}

TEST_MAIN(TEST_ENTRY(control_bytes), TEST_ENTRY(valid_utf8_kept),
          TEST_ENTRY(invalid_utf8_maximal_subparts), TEST_ENTRY(fast_path_every_offset),
          TEST_ENTRY(random_bytes_against_reference_and_jansson),
          TEST_ENTRY(valid_input_round_trips), TEST_ENTRY(record_minimal),
          TEST_ENTRY(record_all_fields), TEST_ENTRY(record_some_optional_and_no_meta),
          TEST_ENTRY(docker_records_byte_for_byte), TEST_ENTRY(text_format), TEST_ENTRY(buffer_cap),
          TEST_ENTRY(long_message))
