/* test_jsonfile: Docker's json-file entries as dockerd writes them (jsonfilelog: Go's
 * encoding of the log bytes, "time" in RFC3339Nano with trailing zeros dropped): every
 * JSON escape, keys in any order and unknown ones skipped, whole lines only (a torn last
 * line waits), 16 KiB pieces joined per stream, a last piece without '\n', a line torn by a
 * crash, TTY lines, and the lines being exactly those the API path gives for the same
 * output. */
#include <errno.h>
#include <stdint.h>

#include "base/buf.h"
#include "inputs/docker/frame.h"
#include "inputs/docker/jsonfile.h"
#include "lines_got.h"
#include "test.h"

#define T1 "2026-11-22T12:24:43.4637036Z" /* as Go writes .463703600 */
#define T1_FIXED "2026-11-22T12:24:43.463703600Z"
#define T1_NS 1795350283463703600LL

static int parse(const char *line, struct lc_buf *log, struct lc_docker_jsonfile_entry *e)
{
    return lc_docker_jsonfile_parse(line, strlen(line), log, e);
}

TEST(parse_entry)
{
    struct lc_buf log;
    struct lc_docker_jsonfile_entry e;
    lc_buf_init(&log, 0);
    ASSERT_EQ(
        parse("{\"log\":\"GET / 200\\n\",\"stream\":\"stdout\",\"time\":\"" T1 "\"}", &log, &e), 0);
    ASSERT_EQ(e.stream, 1);
    ASSERT_TRUE(e.ts_ns == T1_NS);
    ASSERT_TRUE(e.has_log);
    ASSERT_STR_EQ(log.data, "GET / 200\n");
    /* keys in another order, attrs of any shape, unknown keys and whitespace skipped */
    ASSERT_EQ(parse(" { \"time\" : \"2026-11-22T12:24:43Z\", \"attrs\": {\"a\":[1,{\"b\":null}],"
                    "\"c\":\"d\\\"}\"}, \"x\": -1.5e3, \"y\": true, \"stream\":\"stderr\","
                    "\"log\":\"\"}  ",
                    &log, &e),
              0);
    ASSERT_EQ(e.stream, 2);
    ASSERT_TRUE(e.ts_ns == 1795350283000000000LL);
    ASSERT_EQ(log.len, 0);
    /* a stream that is neither, a time that is not one: parsed, marked unknown */
    ASSERT_EQ(parse("{\"log\":\"a\",\"stream\":\"tty\",\"time\":\"yesterday\"}", &log, &e), 0);
    ASSERT_EQ(e.stream, 0);
    ASSERT_TRUE(e.ts_ns == -1);
    ASSERT_EQ(parse("{\"log\":\"a\",\"stream\":1,\"time\":null}", &log, &e), 0);
    ASSERT_EQ(e.stream, 0);
    ASSERT_TRUE(e.ts_ns == -1);
    lc_buf_close(&log);
}

TEST(parse_escapes)
{
    struct lc_buf log;
    struct lc_docker_jsonfile_entry e;
    lc_buf_init(&log, 0);
    ASSERT_EQ(parse("{\"log\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u003ca\\u0026\\u003e \\u00e9"
                    " \\u20ac \\ud83d\\ude00 \\u0000z\"}",
                    &log, &e),
              0);
    ASSERT_EQ(log.len, 34);
    ASSERT_TRUE(memcmp(log.data,
                       "q\" b\\ s/ \b\f\n\r\t <a&> \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \0z",
                       34) == 0);
    /* lone surrogates, either half, become U+FFFD; the next escape is kept */
    ASSERT_EQ(parse("{\"log\":\"\\ud800x\\udc00\\ud800\\u0041\"}", &log, &e), 0);
    ASSERT_STR_EQ(log.data, "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd"
                            "A");
    /* raw bytes, valid or not, pass as they are (Go writes U+FFFD for invalid input) */
    ASSERT_EQ(parse("{\"log\":\"\xff\xc3\xa9\"}", &log, &e), 0);
    ASSERT_STR_EQ(log.data, "\xff\xc3\xa9");
    lc_buf_close(&log);
}

TEST(parse_rejects)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"log\":\"a\"",
        "{\"log\":\"a}",
        "{\"log\":\"a\"} x",
        "{\"log\":\"\\q\"}",
        "{\"log\":\"\\u12\"}",
        "{\"log\" \"a\"}",
        "{\"log\":\"a\",}",
        "{\"log\":\"a\" \"stream\":\"stdout\"}",
        "{\"attrs\":{\"a\":}}",
        "{\"attrs\":[1,2}",
        "{log:\"a\"}",
    };
    struct lc_buf log;
    struct lc_docker_jsonfile_entry e;
    lc_buf_init(&log, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &log, &e) != -EPROTO) {
            LC_FAIL_("accepted %s", bad[i]);
        }
    }
    lc_buf_close(&log);
}

/* A decoder, what it delivered, and the file it reads. */
struct fx {
    struct got g;
    struct lc_buf in;
    struct lc_docker_jsonfile *j;
};

static void fx_open(struct fx *x, int tty, size_t max)
{
    got_init(&x->g);
    lc_buf_init(&x->in, 0);
    x->j = lc_docker_jsonfile_create(tty, max, on_line, &x->g);
}

/* Feeds the whole file; returns the feed's result, and the bytes taken in *USED. */
static int fx_feed(struct fx *x, size_t *used)
{
    return lc_docker_jsonfile_feed(x->j, x->in.data, x->in.len, used);
}

static void fx_close(struct fx *x)
{
    lc_docker_jsonfile_destroy(x->j);
    lc_buf_close(&x->in);
    got_close(&x->g);
}

/* Appends one entry as dockerd writes it. */
static void entry(struct lc_buf *b, const char *stream, const char *ts, const char *log)
{
    lc_buf_printf(b, "{\"log\":\"%s\",\"stream\":\"%s\",\"time\":\"%s\"}\n", log, stream, ts);
}

/* 0 to 9 fraction digits; lines carry the 9-digit text the API sends. */
TEST(time_fraction_digits)
{
    static const struct {
        const char *in;
        const char *fixed;
    } cases[] = {
        {"2026-11-22T12:24:43Z", "2026-11-22T12:24:43.000000000Z"},
        {"2026-11-22T12:24:43.4Z", "2026-11-22T12:24:43.400000000Z"},
        {"2026-11-22T12:24:43.46370361Z", "2026-11-22T12:24:43.463703610Z"},
        {"2026-11-22T12:24:43.463703612Z", "2026-11-22T12:24:43.463703612Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx x;
        size_t used;
        fx_open(&x, 0, 1024);
        entry(&x.in, "stdout", cases[i].in, "x\\n");
        ASSERT_EQ(fx_feed(&x, &used), 0);
        ASSERT_EQ(used, x.in.len);
        ASSERT_EQ(x.g.n, 1);
        ASSERT_STR_EQ(x.g.items[0].ts, cases[i].fixed);
        ASSERT_STR_EQ(x.g.items[0].msg, "x");
        fx_close(&x);
    }
}

/* Only whole lines are taken; the torn rest is fed again once complete. */
TEST(whole_lines_only)
{
    struct fx x;
    size_t used, cut;
    fx_open(&x, 0, 1024);
    entry(&x.in, "stdout", T1, "one\\n");
    cut = x.in.len;
    entry(&x.in, "stderr", T1, "two\\n");
    ASSERT_EQ(lc_docker_jsonfile_feed(x.j, x.in.data, x.in.len - 1, &used), 0); /* no '\n' */
    ASSERT_EQ(used, cut);
    ASSERT_EQ(x.g.n, 1);
    ASSERT_EQ(lc_docker_jsonfile_feed(x.j, x.in.data + cut, 10, &used), 0);
    ASSERT_EQ(used, 0);
    ASSERT_EQ(lc_docker_jsonfile_feed(x.j, x.in.data + cut, x.in.len - cut, &used), 0);
    ASSERT_EQ(used, x.in.len - cut);
    ASSERT_EQ(x.g.n, 2);
    ASSERT_STR_EQ(x.g.items[1].msg, "two");
    ASSERT_EQ(x.g.items[1].stream, 2);
    ASSERT_TRUE(lc_docker_jsonfile_decode_errors(x.j) == 0);
    fx_close(&x);
}

/* A line of LEN bytes as dockerd writes it: entries of 16,384 bytes sharing one time, the
 * last with "\n". */
static void long_line(struct lc_buf *b, const char *stream, const char *ts, size_t len, char c)
{
    for (size_t at = 0; at < len || at == 0; at += LC_DOCKER_PIECE) {
        size_t n = len - at < LC_DOCKER_PIECE ? len - at : LC_DOCKER_PIECE;
        int last = at + LC_DOCKER_PIECE >= len;
        lc_buf_printf(b, "{\"log\":\"");
        for (size_t i = 0; i < n; i++) {
            lc_buf_addc(b, c);
        }
        lc_buf_printf(b, "%s\",\"stream\":\"%s\",\"time\":\"%s\"}\n", last ? "\\n" : "", stream,
                      ts);
        if (last) {
            break;
        }
    }
}

/* Pieces are joined per stream while the other stream's lines pass; a line over
 * max_line_bytes is cut and marked. */
TEST(pieces_joined)
{
    struct fx x;
    struct lc_buf two;
    size_t used, first;
    fx_open(&x, 0, 40000);
    long_line(&x.in, "stdout", T1, 2 * LC_DOCKER_PIECE + 5, 'a');
    /* an stderr line between two pieces of a long stdout line */
    lc_buf_init(&two, 0);
    long_line(&two, "stdout", "2026-11-22T12:24:44Z", LC_DOCKER_PIECE + 1, 'b');
    first = (size_t)((const char *)memchr(two.data, '\n', two.len) - two.data) + 1;
    lc_buf_add(&x.in, two.data, first);
    entry(&x.in, "stderr", "2026-11-22T12:24:44.5Z", "err\\n");
    lc_buf_add(&x.in, two.data + first, two.len - first);
    lc_buf_close(&two);
    long_line(&x.in, "stdout", "2026-11-22T12:24:45Z", 3 * LC_DOCKER_PIECE, 'c');
    ASSERT_EQ(fx_feed(&x, &used), 0);
    ASSERT_EQ(used, x.in.len);
    ASSERT_EQ(x.g.n, 4);
    ASSERT_EQ(x.g.items[0].len, 2 * LC_DOCKER_PIECE + 5);
    ASSERT_TRUE(!x.g.items[0].truncated && x.g.items[0].ts_ns == T1_NS);
    ASSERT_STR_EQ(x.g.items[1].msg, "err");
    ASSERT_EQ(x.g.items[2].len, LC_DOCKER_PIECE + 1);
    ASSERT_TRUE(x.g.items[2].msg[0] == 'b' && x.g.items[2].msg[LC_DOCKER_PIECE] == 'b');
    ASSERT_EQ(x.g.items[3].len, 40000);
    ASSERT_TRUE(x.g.items[3].truncated);
    fx_close(&x);
}

/* A piece without '\n' is pending: it becomes a line of its own when the next piece of its
 * stream has another time, or when the file ends (finish), and is dropped by finish(0). */
TEST(last_piece_without_newline)
{
    struct fx x;
    size_t used;
    fx_open(&x, 0, 1024);
    entry(&x.in, "stdout", T1, "no newline");
    entry(&x.in, "stdout", "2026-11-22T12:24:50Z", "later\\n");
    entry(&x.in, "stdout", "2026-11-22T12:24:51Z", "at exit");
    ASSERT_EQ(fx_feed(&x, &used), 0);
    ASSERT_EQ(x.g.n, 2);
    ASSERT_STR_EQ(x.g.items[0].msg, "no newline");
    ASSERT_STR_EQ(x.g.items[1].msg, "later");
    ASSERT_TRUE(lc_docker_jsonfile_pending_ts(x.j) == 1795350291000000000LL);
    ASSERT_EQ(lc_docker_jsonfile_finish(x.j, 1), 0);
    ASSERT_EQ(x.g.n, 3);
    ASSERT_STR_EQ(x.g.items[2].msg, "at exit");
    ASSERT_TRUE(lc_docker_jsonfile_pending_ts(x.j) == -1);
    ASSERT_EQ(fx_feed(&x, &used), 0);
    ASSERT_EQ(lc_docker_jsonfile_finish(x.j, 0), 0);
    ASSERT_EQ(x.g.n, 5);
    fx_close(&x);
}

/* dockerd killed in the middle of an entry leaves it without its end; the next entry
 * continues on the same line. The whole entry after the torn bytes is recovered, the torn
 * one counted. A line that is no entry at all is counted and skipped. */
TEST(torn_entry)
{
    struct fx x;
    size_t used;
    fx_open(&x, 0, 1024);
    lc_buf_adds(&x.in, "{\"log\":\"torn {\\\"log\\\":\\\"q\\\"");
    entry(&x.in, "stdout", T1, "whole\\n");
    lc_buf_adds(&x.in, "garbage\n");
    entry(&x.in, "stderr", T1, "after\\n");
    ASSERT_EQ(fx_feed(&x, &used), 0);
    ASSERT_EQ(used, x.in.len);
    ASSERT_EQ(x.g.n, 2);
    ASSERT_STR_EQ(x.g.items[0].msg, "whole");
    ASSERT_STR_EQ(x.g.items[1].msg, "after");
    ASSERT_TRUE(lc_docker_jsonfile_decode_errors(x.j) == 2);
    fx_close(&x);
}

/* TTY: the pty's "\r\n" ends a line without its "\r", as on the API path. */
TEST(tty_lines)
{
    struct fx x;
    size_t used;
    fx_open(&x, 1, 1024);
    entry(&x.in, "stdout", T1, "prompt$ ls\\r\\n");
    ASSERT_EQ(fx_feed(&x, &used), 0);
    ASSERT_EQ(x.g.n, 1);
    ASSERT_STR_EQ(x.g.items[0].msg, "prompt$ ls");
    fx_close(&x);
}

/* The same output read from the file and from the API body gives the same lines, byte for
 * byte (stream, time text and value, content, truncation), long lines and last pieces
 * included. */
TEST(same_lines_as_the_api)
{
    struct got a, f;
    struct lc_buf file, body;
    struct lc_docker_jsonfile *j;
    struct lc_docker_lines *l;
    size_t used;
    char big[LC_DOCKER_PIECE + 3];
    got_init(&a);
    got_init(&f);
    lc_buf_init(&file, 0);
    lc_buf_init(&body, 0);
    entry(&file, "stdout", T1, "GET / 200 \\u003cok\\u003e\\n");
    frames(&body, 1, T1_FIXED, "GET / 200 <ok>\n");
    entry(&file, "stderr", "2026-11-22T12:24:44.1Z", "warn \\u00e9\\n");
    frames(&body, 2, "2026-11-22T12:24:44.100000000Z", "warn \xc3\xa9\n");
    long_line(&file, "stdout", "2026-11-22T12:24:45Z", LC_DOCKER_PIECE + 2, 'z');
    memset(big, 'z', sizeof(big));
    frame(&body, 1, "2026-11-22T12:24:45.000000000Z", big, LC_DOCKER_PIECE);
    big[2] = '\n';
    frame(&body, 1, "2026-11-22T12:24:45.000000000Z", big, 3);
    entry(&file, "stdout", "2026-11-22T12:24:46Z", "bye");
    frames(&body, 1, "2026-11-22T12:24:46.000000000Z", "bye");
    j = lc_docker_jsonfile_create(0, 20000, on_line, &f);
    l = lc_docker_lines_create(0, 20000, on_line, &a);
    ASSERT_EQ(lc_docker_jsonfile_feed(j, file.data, file.len, &used), 0);
    ASSERT_EQ(lc_docker_jsonfile_finish(j, 1), 0);
    ASSERT_EQ(lc_docker_lines_feed(l, body.data, body.len), 0);
    ASSERT_EQ(lc_docker_lines_finish(l, 1), 0);
    ASSERT_EQ(f.n, 4);
    ASSERT_EQ(a.n, 4);
    ASSERT_EQ(f.ser.len, a.ser.len);
    ASSERT_TRUE(memcmp(f.ser.data, a.ser.data, a.ser.len) == 0);
    lc_docker_jsonfile_destroy(j);
    lc_docker_lines_destroy(l);
    lc_buf_close(&file);
    lc_buf_close(&body);
    got_close(&a);
    got_close(&f);
}

TEST_MAIN(TEST_ENTRY(parse_entry), TEST_ENTRY(parse_escapes), TEST_ENTRY(parse_rejects),
          TEST_ENTRY(time_fraction_digits), TEST_ENTRY(whole_lines_only), TEST_ENTRY(pieces_joined),
          TEST_ENTRY(last_piece_without_newline), TEST_ENTRY(torn_entry), TEST_ENTRY(tty_lines),
          TEST_ENTRY(same_lines_as_the_api))
