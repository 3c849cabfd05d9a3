/* test_loki_push: Loki's push bodies. Each body is read back by an independent decoder
 * (loki_decode.h) and compared with what was meant; the protobuf body also against bytes
 * worked out by hand from push.proto, and through snappy. */
#include "outputs/loki/loki_push.h"

#include <errno.h>
#include <snappy-c.h>

#include "loki_decode.h"
#include "test.h"

static const struct lc_attr web_labels[] = {
    {"job", "logcap", 0}, {"container", "web-1", 0}, {"empty", "", 0}, {"stream", "stdout", 0}};
static const struct lc_attr trace[] = {{"trace_id", "abc", 0}};

/* Two streams: web (two entries, one with metadata) and db (one entry at a negative
 * time, before 1970, and one at exactly a second). */
static void sample(struct lc_buf *web, struct lc_buf *db, struct lc_loki_stream s[2],
                   struct lc_loki_entry e[4], const struct lc_attr db_labels[1])
{
    lc_buf_init(web, 0);
    lc_buf_init(db, 0);
    lc_loki_labels_format(web, web_labels, 4);
    lc_loki_labels_format(db, db_labels, 1);
    e[0] = (struct lc_loki_entry){1795350283463703600LL, "GET / 200", 9, NULL, 0};
    e[1] = (struct lc_loki_entry){1795350283463703601LL, "with \"meta\"", 11, trace, 1};
    e[2] = (struct lc_loki_entry){-1500000000LL, "before 1970", 11, NULL, 0};
    e[3] = (struct lc_loki_entry){2000000000LL, "", 0, NULL, 0};
    s[0] = (struct lc_loki_stream){web->data, web->len, web_labels, 4, e, 2};
    s[1] = (struct lc_loki_stream){db->data, db->len, db_labels, 1, e + 2, 2};
}

TEST(labels_format)
{
    static const struct lc_attr odd[] = {
        {"a", "quote\" back\\slash\nnewline", 0}, {"b", NULL, 0}, {"c", "bad\xff", 0}};
    struct lc_buf b;
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_loki_labels_format(&b, web_labels, 4), 0);
    ASSERT_STR_EQ(b.data, "{job=\"logcap\", container=\"web-1\", stream=\"stdout\"}");
    lc_buf_reset(&b);
    ASSERT_EQ(lc_loki_labels_format(&b, odd, 3), 0);
    ASSERT_STR_EQ(b.data, "{a=\"quote\\\" back\\\\slash\\nnewline\", c=\"bad\xef\xbf\xbd\"}");
    lc_buf_reset(&b);
    ASSERT_EQ(lc_loki_labels_format(&b, odd + 1, 1), 0);
    ASSERT_STR_EQ(b.data, "{}");
    lc_buf_close(&b);
}

/* One stream, one entry: the bytes push.proto gives, worked out by hand. */
TEST(proto_bytes_by_hand)
{
    static const struct lc_attr l[] = {{"a", "b", 0}};
    static const unsigned char want[] = {
        0x0a, 0x15,                                        /* streams: StreamAdapter, 21 bytes */
        0x0a, 0x07, '{',  'a',  '=',  '"',  'b', '"', '}', /* labels */
        0x12, 0x0a,                                        /* entries: EntryAdapter, 10 bytes */
        0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,                /* timestamp {seconds 1, nanos 2} */
        0x12, 0x02, 'h',  'i',                             /* line */
    };
    struct lc_loki_entry e = {1000000002LL, "hi", 2, NULL, 0};
    struct lc_loki_stream s = {"{a=\"b\"}", 7, l, 1, &e, 1};
    struct lc_buf b;
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_loki_push_proto(&b, &s, 1), 0);
    ASSERT_MEM_EQ(b.data, b.len, want, sizeof want);
    lc_buf_close(&b);
}

TEST(proto_round_trip_through_snappy)
{
    static const struct lc_attr db_labels[] = {{"container", "db", 0}};
    struct lc_buf web, db, body, packed, text;
    struct lc_loki_stream s[2];
    struct lc_loki_entry e[4];
    char *plain;
    size_t plain_len = 0;
    sample(&web, &db, s, e, db_labels);
    lc_buf_init(&body, 0);
    lc_buf_init(&packed, 0);
    lc_buf_init(&text, 0);
    ASSERT_EQ(lc_loki_push_proto(&body, s, 2), 0);
    ASSERT_EQ(lc_loki_snappy(&packed, body.data, body.len), 0);
    ASSERT_EQ(snappy_uncompressed_length(packed.data, packed.len, &plain_len), SNAPPY_OK);
    plain = malloc(plain_len + 1);
    ASSERT_EQ(snappy_uncompress(packed.data, packed.len, plain, &plain_len), SNAPPY_OK);
    ASSERT_MEM_EQ(plain, plain_len, body.data, body.len);
    ASSERT_EQ(loki_decode_proto(plain, plain_len, &text), 0);
    ASSERT_STR_EQ(text.data, "S {job=\"logcap\", container=\"web-1\", stream=\"stdout\"}\n"
                             "E 1795350283463703600 GET / 200\n"
                             "E 1795350283463703601 with \"meta\"\n"
                             "M trace_id=abc\n"
                             "S {container=\"db\"}\n"
                             "E -1500000000 before 1970\n"
                             "E 2000000000 \n");
    free(plain);
    lc_buf_close(&web);
    lc_buf_close(&db);
    lc_buf_close(&body);
    lc_buf_close(&packed);
    lc_buf_close(&text);
}

TEST(json_round_trip)
{
    static const struct lc_attr db_labels[] = {{"container", "db", 0}};
    struct lc_buf web, db, body, text;
    struct lc_loki_stream s[2];
    struct lc_loki_entry e[4];
    sample(&web, &db, s, e, db_labels);
    lc_buf_init(&body, 0);
    lc_buf_init(&text, 0);
    ASSERT_EQ(lc_loki_push_json(&body, s, 2), 0);
    /* the timestamp is a string, as Loki requires */
    ASSERT_TRUE(strstr(body.data, "[\"1795350283463703600\",\"GET / 200\"]") != NULL);
    ASSERT_EQ(loki_decode_json(body.data, body.len, &text), 0);
    ASSERT_STR_EQ(text.data, "S job=\"logcap\", container=\"web-1\", stream=\"stdout\"\n"
                             "E 1795350283463703600 GET / 200\n"
                             "E 1795350283463703601 with \"meta\"\n"
                             "M trace_id=abc\n"
                             "S container=\"db\"\n"
                             "E -1500000000 before 1970\n"
                             "E 2000000000 \n");
    lc_buf_close(&web);
    lc_buf_close(&db);
    lc_buf_close(&body);
    lc_buf_close(&text);
}

/* Lines with ill-formed UTF-8 and control bytes: both bodies carry valid UTF-8, the
 * protobuf one with U+FFFD where the bytes were bad (its length fields agree). */
TEST(invalid_utf8_becomes_valid)
{
    static const struct lc_attr l[] = {{"a", "b", 0}};
    static const struct lc_attr meta[] = {{"k\xc0", "v\xed\xa0\x80", 0}};
    struct lc_loki_entry e = {5, "x\xff\x00y\xe2\x82", 6, meta, 1};
    struct lc_loki_stream s = {"{a=\"b\"}", 7, l, 1, &e, 1};
    struct lc_buf b, text;
    static const char entry[] = "E 5 x\xef\xbf\xbd\0y\xef\xbf\xbd\n"
                                "M k\xef\xbf\xbd=v\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n";
    lc_buf_init(&b, 0);
    lc_buf_init(&text, 0);
    ASSERT_EQ(lc_loki_push_proto(&b, &s, 1), 0);
    ASSERT_EQ(loki_decode_proto(b.data, b.len, &text), 0);
    ASSERT_MEM_EQ(text.data, 10, "S {a=\"b\"}\n", 10);
    ASSERT_MEM_EQ(text.data + 10, text.len - 10, entry, sizeof entry - 1);
    lc_buf_reset(&b);
    lc_buf_reset(&text);
    ASSERT_EQ(lc_loki_push_json(&b, &s, 1), 0);
    ASSERT_EQ(loki_decode_json(b.data, b.len, &text), 0);
    ASSERT_MEM_EQ(text.data, 8, "S a=\"b\"\n", 8);
    ASSERT_MEM_EQ(text.data + 8, text.len - 8, entry, sizeof entry - 1);
    lc_buf_close(&b);
    lc_buf_close(&text);
}

/* Each entry's size is computed once and its line copied as it is when valid: a stream
 * mixing valid and ill-formed lines keeps every length field right; and the JSON
 * timestamps, written without printf, at their extremes. */
TEST(mixed_lines_and_extreme_timestamps)
{
    static const struct lc_attr l[] = {{"a", "b", 0}};
    struct lc_loki_entry e[4] = {{0, "ok", 2, NULL, 0},
                                 {-1, "bad\xff", 4, NULL, 0},
                                 {INT64_MAX, "caf\xc3\xa9", 5, NULL, 0},
                                 {INT64_MIN, "", 0, NULL, 0}};
    struct lc_loki_stream s = {"{a=\"b\"}", 7, l, 1, e, 3};
    struct lc_buf b, text;
    lc_buf_init(&b, 0);
    lc_buf_init(&text, 0);
    ASSERT_EQ(lc_loki_push_proto(&b, &s, 1), 0);
    ASSERT_EQ(loki_decode_proto(b.data, b.len, &text), 0);
    ASSERT_STR_EQ(text.data, "S {a=\"b\"}\n"
                             "E 0 ok\n"
                             "E -1 bad\xef\xbf\xbd\n"
                             "E 9223372036854775807 caf\xc3\xa9\n");
    lc_buf_reset(&b);
    lc_buf_reset(&text);
    ASSERT_EQ(lc_loki_push_json(&b, &s, 1), 0);
    ASSERT_EQ(loki_decode_json(b.data, b.len, &text), 0);
    ASSERT_STR_EQ(text.data, "S a=\"b\"\n"
                             "E 0 ok\n"
                             "E -1 bad\xef\xbf\xbd\n"
                             "E 9223372036854775807 caf\xc3\xa9\n");
    s.entries = &e[3];
    s.n = 1;
    lc_buf_reset(&b);
    ASSERT_EQ(lc_loki_push_json(&b, &s, 1), 0);
    ASSERT_TRUE(strstr(b.data, "[[\"-9223372036854775808\",\"\"]]") != NULL);
    lc_buf_close(&b);
    lc_buf_close(&text);
}

/* A body that does not fit under the buffer's cap leaves the buffer as it was. */
TEST(too_big_leaves_the_buffer)
{
    static const struct lc_attr db_labels[] = {{"container", "db", 0}};
    struct lc_buf web, db, b;
    struct lc_loki_stream s[2];
    struct lc_loki_entry e[4];
    sample(&web, &db, s, e, db_labels);
    lc_buf_init(&b, 40);
    ASSERT_EQ(lc_buf_adds(&b, "keep"), 0);
    ASSERT_EQ(lc_loki_push_proto(&b, s, 2), -E2BIG);
    ASSERT_EQ(lc_loki_push_json(&b, s, 2), -E2BIG);
    ASSERT_EQ(lc_loki_labels_format(&b, web_labels, 4), -E2BIG);
    ASSERT_MEM_EQ(b.data, b.len, "keep", 4);
    lc_buf_close(&web);
    lc_buf_close(&db);
    lc_buf_close(&b);
}

TEST_MAIN(TEST_ENTRY(labels_format), TEST_ENTRY(proto_bytes_by_hand),
          TEST_ENTRY(mixed_lines_and_extreme_timestamps),
          TEST_ENTRY(proto_round_trip_through_snappy), TEST_ENTRY(json_round_trip),
          TEST_ENTRY(invalid_utf8_becomes_valid), TEST_ENTRY(too_big_leaves_the_buffer))
