/* test_lines: the line assembler over real body shapes measured on docker 20.10: plain
 * lines on both streams, 16 KiB pieces joined, the 16,384 + "\n" case, interleaved
 * streams, truncation, last lines without '\n', timestamp changes, messages without a
 * timestamp, TTY bodies, arbitrary feed boundaries, and a callback that stops. */
#include <errno.h>
#include <stdint.h>

#include "base/buf.h"
#include "inputs/docker/frame.h"
#include "inputs/docker/lines.h"
#include "lines_got.h"
#include "test.h"

#define TS1 "2026-11-22T12:24:43.463703600Z"
#define TS1_NS 1795350283463703600LL
#define TS2 "2026-11-22T12:24:43.463703601Z"
#define TS2_NS 1795350283463703601LL
#define TS3 "2026-11-22T13:15:36.420371792Z"
#define TS3_NS 1795353336420371792LL

/* Appends a TTY message: TS, a space and CONTENT. */
static void tty_msg(struct lc_buf *b, const char *ts, const char *content, size_t len)
{
    lc_buf_adds(b, ts);
    lc_buf_addc(b, ' ');
    lc_buf_add(b, content, len);
}

/* Appends a line of LEN bytes as Docker sends it: pieces of 16,384 bytes and a last piece
 * with '\n' (or "\r\n" in TTY mode). The content is PATTERN(i). */
static char pattern(size_t i)
{
    return (char)('!' + (i * 7 + i / 251) % 90);
}

static void long_line(struct lc_buf *b, int tty, int stream, const char *ts, size_t len)
{
    char *line = malloc(len + 2);
    size_t total = len + (tty ? 2 : 1);
    for (size_t i = 0; i < len; i++) {
        line[i] = pattern(i);
    }
    memcpy(line + len, tty ? "\r\n" : "\n", tty ? 2 : 1);
    for (size_t off = 0; off < total; off += LC_DOCKER_PIECE) {
        size_t n = total - off < LC_DOCKER_PIECE ? total - off : LC_DOCKER_PIECE;
        if (tty) {
            tty_msg(b, ts, line + off, n);
        } else {
            frame(b, stream, ts, line + off, n);
        }
    }
    free(line);
}

static int is_pattern(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != pattern(i)) {
            return 0;
        }
    }
    return 1;
}

/* Feeds BODY in chunks of CHUNK bytes (0: whole), then finishes with EMIT_PARTIAL. */
static int run(struct got *g, int tty, size_t max, const struct lc_buf *body, size_t chunk,
               int emit_partial, uint64_t *errors)
{
    struct lc_docker_lines *l = lc_docker_lines_create(tty, max, on_line, g);
    int rc = 0;
    size_t off = 0;
    if (chunk == 0) {
        chunk = body->len > 0 ? body->len : 1;
    }
    while (rc == 0 && off < body->len) {
        size_t n = body->len - off < chunk ? body->len - off : chunk;
        rc = lc_docker_lines_feed(l, body->data + off, n);
        off += n;
    }
    if (rc == 0) {
        rc = lc_docker_lines_finish(l, emit_partial);
    }
    if (errors != NULL) {
        *errors = lc_docker_lines_decode_errors(l);
    }
    lc_docker_lines_destroy(l);
    return rc;
}

TEST(plain_lines_in_place)
{
    struct lc_buf b;
    struct got g;
    struct lc_docker_lines *l;
    lc_buf_init(&b, 0);
    got_init(&g);
    frames(&b, 1, TS1, "hello\n");
    frames(&b, 2, TS2, "oops\n");
    frames(&b, 1, TS3, "\n");
    l = lc_docker_lines_create(0, 1024, on_line, &g);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_EQ(g.items[0].stream, 1);
    ASSERT_EQ(g.items[0].ts_ns, TS1_NS);
    ASSERT_STR_EQ(g.items[0].ts, TS1);
    ASSERT_STR_EQ(g.items[0].msg, "hello");
    ASSERT_EQ(g.items[0].truncated, 0);
    ASSERT_TRUE(g.items[0].ptr == b.data + 8 + 31); /* delivered without a copy */
    ASSERT_EQ(g.items[1].stream, 2);
    ASSERT_EQ(g.items[1].ts_ns, TS2_NS);
    ASSERT_STR_EQ(g.items[1].msg, "oops");
    ASSERT_EQ(g.items[2].ts_ns, TS3_NS);
    ASSERT_EQ(g.items[2].len, 0);
    ASSERT_EQ(lc_docker_lines_finish(l, 1), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_U64_EQ(lc_docker_lines_decode_errors(l), 0);
    lc_docker_lines_destroy(l);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(non_tty_keeps_cr)
{
    struct lc_buf b;
    struct got g;
    lc_buf_init(&b, 0);
    got_init(&g);
    frames(&b, 1, TS1, "dos\r\n");
    ASSERT_EQ(run(&g, 0, 1024, &b, 0, 1, NULL), 0);
    ASSERT_EQ(g.n, 1);
    ASSERT_STR_EQ(g.items[0].msg, "dos\r");
    got_close(&g);
    lc_buf_close(&b);
}

TEST(pieces_joined)
{
    static const size_t sizes[] = {16383, 16385, 20 * 1024, 32768 + 5, 100 * 1024};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct lc_buf b;
        struct got g;
        lc_buf_init(&b, 0);
        got_init(&g);
        frames(&b, 1, TS1, "before\n");
        long_line(&b, 0, 1, TS2, sizes[i]);
        frames(&b, 1, TS3, "after\n");
        ASSERT_EQ(run(&g, 0, 1 << 20, &b, 0, 1, NULL), 0);
        ASSERT_EQ(g.n, 3);
        ASSERT_STR_EQ(g.items[0].msg, "before");
        ASSERT_EQ(g.items[1].len, sizes[i]);
        ASSERT_TRUE(is_pattern(g.items[1].msg, g.items[1].len));
        ASSERT_EQ(g.items[1].ts_ns, TS2_NS);
        ASSERT_STR_EQ(g.items[1].ts, TS2);
        ASSERT_EQ(g.items[1].truncated, 0);
        ASSERT_STR_EQ(g.items[2].msg, "after");
        got_close(&g);
        lc_buf_close(&b);
    }
}

TEST(exactly_one_piece_then_newline_message)
{
    struct lc_buf b;
    struct got g;
    char *piece = malloc(LC_DOCKER_PIECE);
    for (size_t i = 0; i < LC_DOCKER_PIECE; i++) {
        piece[i] = pattern(i);
    }
    lc_buf_init(&b, 0);
    got_init(&g);
    frame(&b, 1, TS1, piece, LC_DOCKER_PIECE);
    frames(&b, 1, TS1, "\n");
    frames(&b, 1, TS2, "next\n");
    ASSERT_EQ(run(&g, 0, 1 << 20, &b, 0, 0, NULL), 0);
    ASSERT_EQ(g.n, 2);
    ASSERT_EQ(g.items[0].len, LC_DOCKER_PIECE);
    ASSERT_TRUE(is_pattern(g.items[0].msg, g.items[0].len));
    ASSERT_STR_EQ(g.items[1].msg, "next");
    free(piece);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(interleaved_streams)
{
    struct lc_buf b;
    struct got g;
    lc_buf_init(&b, 0);
    got_init(&g);
    frames(&b, 1, TS1, "out-1 ");
    frames(&b, 2, TS2, "err-1 ");
    frames(&b, 1, TS1, "out-2 ");
    frames(&b, 2, TS2, "err-2\n");
    frames(&b, 1, TS1, "out-3\n");
    ASSERT_EQ(run(&g, 0, 1024, &b, 0, 1, NULL), 0);
    ASSERT_EQ(g.n, 2);
    ASSERT_EQ(g.items[0].stream, 2);
    ASSERT_STR_EQ(g.items[0].msg, "err-1 err-2");
    ASSERT_EQ(g.items[0].ts_ns, TS2_NS);
    ASSERT_EQ(g.items[1].stream, 1);
    ASSERT_STR_EQ(g.items[1].msg, "out-1 out-2 out-3");
    ASSERT_STR_EQ(g.items[1].ts, TS1);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(truncation_2mib)
{
    struct lc_buf b;
    struct got g;
    lc_buf_init(&b, 0);
    got_init(&g);
    long_line(&b, 0, 1, TS1, 2 << 20);
    frames(&b, 1, TS2, "small\n");
    ASSERT_EQ(run(&g, 0, 1 << 20, &b, 0, 1, NULL), 0);
    ASSERT_EQ(g.n, 2);
    ASSERT_EQ(g.items[0].len, 1 << 20);
    ASSERT_EQ(g.items[0].truncated, 1);
    ASSERT_EQ(g.items[0].ts_ns, TS1_NS);
    ASSERT_TRUE(is_pattern(g.items[0].msg, g.items[0].len));
    ASSERT_STR_EQ(g.items[1].msg, "small");
    ASSERT_EQ(g.items[1].truncated, 0);
    got_close(&g);
    /* The same in small feeds. */
    got_init(&g);
    ASSERT_EQ(run(&g, 0, 1 << 20, &b, 4093, 1, NULL), 0);
    ASSERT_EQ(g.n, 2);
    ASSERT_EQ(g.items[0].len, 1 << 20);
    ASSERT_EQ(g.items[0].truncated, 1);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(truncation_edges)
{
    struct lc_buf b;
    struct got g;
    lc_buf_init(&b, 0);
    got_init(&g);
    frames(&b, 1, TS1, "hello world\n"); /* whole message, cut in place */
    frames(&b, 1, TS1, "hello\n");       /* exactly the cap */
    frames(&b, 2, TS1, "hel");           /* pieces: exactly the cap */
    frames(&b, 2, TS1, "lo");
    frames(&b, 2, TS1, "\n");
    frames(&b, 2, TS2, "abc"); /* pieces: one byte over */
    frames(&b, 2, TS2, "def\n");
    ASSERT_EQ(run(&g, 0, 5, &b, 0, 1, NULL), 0);
    ASSERT_EQ(g.n, 4);
    ASSERT_STR_EQ(g.items[0].msg, "hello");
    ASSERT_EQ(g.items[0].truncated, 1);
    ASSERT_STR_EQ(g.items[1].msg, "hello");
    ASSERT_EQ(g.items[1].truncated, 0);
    ASSERT_STR_EQ(g.items[2].msg, "hello");
    ASSERT_EQ(g.items[2].truncated, 0);
    ASSERT_STR_EQ(g.items[3].msg, "abcde");
    ASSERT_EQ(g.items[3].truncated, 1);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(last_line_without_newline)
{
    struct lc_buf b;
    struct got g;
    uint64_t errors;
    lc_buf_init(&b, 0);
    frames(&b, 1, TS1, "line\n");
    frames(&b, 2, TS2, "err-partial");
    frames(&b, 1, TS3, "partial");
    got_init(&g);
    ASSERT_EQ(run(&g, 0, 1024, &b, 0, 1, &errors), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_STR_EQ(g.items[0].msg, "line");
    ASSERT_STR_EQ(g.items[1].msg, "err-partial"); /* oldest pending first */
    ASSERT_EQ(g.items[1].stream, 2);
    ASSERT_STR_EQ(g.items[2].msg, "partial");
    ASSERT_EQ(g.items[2].ts_ns, TS3_NS);
    ASSERT_EQ(g.items[2].truncated, 0);
    ASSERT_U64_EQ(errors, 0);
    got_close(&g);
    got_init(&g);
    ASSERT_EQ(run(&g, 0, 1024, &b, 0, 0, NULL), 0);
    ASSERT_EQ(g.n, 1);
    ASSERT_STR_EQ(g.items[0].msg, "line");
    got_close(&g);
    lc_buf_close(&b);
}

TEST(finish_resets_for_next_response)
{
    struct lc_buf b;
    struct got g;
    struct lc_docker_lines *l;
    lc_buf_init(&b, 0);
    got_init(&g);
    frames(&b, 1, TS1, "cut piece");
    l = lc_docker_lines_create(0, 1024, on_line, &g);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
    ASSERT_EQ(lc_docker_lines_feed(l, "\1\0\0", 3), 0); /* and half a header */
    ASSERT_EQ(lc_docker_lines_finish(l, 0), 0);
    ASSERT_EQ(g.n, 0);
    /* The next response starts clean: the same line read again is whole. */
    lc_buf_reset(&b);
    frames(&b, 1, TS1, "cut piece");
    frames(&b, 1, TS1, " and the rest\n");
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
    ASSERT_EQ(g.n, 1);
    ASSERT_STR_EQ(g.items[0].msg, "cut piece and the rest");
    ASSERT_U64_EQ(lc_docker_lines_decode_errors(l), 0);
    lc_docker_lines_destroy(l);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(new_timestamp_ends_pending_piece)
{
    struct lc_buf b;
    struct got g;
    lc_buf_init(&b, 0);
    got_init(&g);
    frames(&b, 1, TS1, "first run, no newline");
    frames(&b, 2, TS2, "stderr stays apart\n");
    frames(&b, 1, TS3, "second run\n");
    ASSERT_EQ(run(&g, 0, 1024, &b, 0, 0, NULL), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_STR_EQ(g.items[0].msg, "stderr stays apart");
    ASSERT_STR_EQ(g.items[1].msg, "first run, no newline");
    ASSERT_EQ(g.items[1].ts_ns, TS1_NS);
    ASSERT_STR_EQ(g.items[2].msg, "second run");
    ASSERT_EQ(g.items[2].ts_ns, TS3_NS);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(messages_without_timestamp)
{
    struct lc_buf b;
    struct got g;
    uint64_t errors;
    unsigned char h[8] = {1, 0, 0, 0, 0, 0, 0, 8};
    lc_buf_init(&b, 0);
    got_init(&g);
    lc_buf_add(&b, h, 8);
    lc_buf_add(&b, "no ts 1\n", 8); /* first message: no previous timestamp */
    frames(&b, 1, TS1, "good\n");
    lc_buf_add(&b, h, 8);
    lc_buf_add(&b, "no ts 2\n", 8);
    h[0] = 3;
    lc_buf_add(&b, h, 8);
    lc_buf_add(&b, "sys err!", 8); /* SYSTEMERR: counted, not delivered */
    h[0] = 2;
    h[7] = 30;
    lc_buf_add(&b, h, 8);
    lc_buf_add(&b, TS1, 30); /* a timestamp and no space */
    ASSERT_EQ(run(&g, 0, 1024, &b, 0, 1, &errors), 0);
    ASSERT_EQ(g.n, 4);
    ASSERT_STR_EQ(g.items[0].msg, "no ts 1");
    ASSERT_EQ(g.items[0].ts_ns, 0);
    ASSERT_STR_EQ(g.items[0].ts, "");
    ASSERT_STR_EQ(g.items[1].msg, "good");
    ASSERT_STR_EQ(g.items[2].msg, "no ts 2");
    ASSERT_EQ(g.items[2].ts_ns, TS1_NS);
    ASSERT_STR_EQ(g.items[2].ts, TS1);
    ASSERT_STR_EQ(g.items[3].msg, TS1);
    ASSERT_EQ(g.items[3].stream, 2);
    ASSERT_EQ(g.items[3].ts_ns, 0);
    ASSERT_U64_EQ(errors, 4);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(bad_header)
{
    struct lc_buf b;
    struct got g;
    struct lc_docker_lines *l;
    lc_buf_init(&b, 0);
    got_init(&g);
    frames(&b, 1, TS1, "kept\n");
    lc_buf_adds(&b, TS1 " a tty body\n");
    l = lc_docker_lines_create(0, 1024, on_line, &g);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), -EPROTO);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), -EPROTO);
    ASSERT_EQ(g.n, 1);
    ASSERT_STR_EQ(g.items[0].msg, "kept");
    ASSERT_U64_EQ(lc_docker_lines_decode_errors(l), 1);
    ASSERT_EQ(lc_docker_lines_finish(l, 0), 0);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, 8 + 36), 0); /* usable again after finish */
    ASSERT_EQ(g.n, 2);
    lc_docker_lines_destroy(l);
    got_close(&g);
    lc_buf_close(&b);
}

TEST(tty_body)
{
    struct lc_buf b;
    struct got g;
    uint64_t errors;
    lc_buf_init(&b, 0);
    got_init(&g);
    tty_msg(&b, TS1, "hello\r\n", 7);
    long_line(&b, 1, 1, TS2, 20000);
    tty_msg(&b, TS3, "two cr\r\r\n", 9);
    tty_msg(&b, TS3, "lf only\n", 8);
    tty_msg(&b, TS3, "bye", 3);
    ASSERT_EQ(run(&g, 1, 1 << 20, &b, 0, 1, &errors), 0);
    ASSERT_EQ(g.n, 5);
    ASSERT_STR_EQ(g.items[0].msg, "hello");
    ASSERT_EQ(g.items[0].ts_ns, TS1_NS);
    ASSERT_EQ(g.items[0].stream, 1);
    ASSERT_EQ(g.items[1].len, 20000);
    ASSERT_TRUE(is_pattern(g.items[1].msg, 20000));
    ASSERT_EQ(g.items[1].ts_ns, TS2_NS);
    ASSERT_STR_EQ(g.items[2].msg, "two cr\r");
    ASSERT_STR_EQ(g.items[3].msg, "lf only");
    ASSERT_STR_EQ(g.items[4].msg, "bye");
    ASSERT_STR_EQ(g.items[4].ts, TS3);
    ASSERT_U64_EQ(errors, 0);
    got_close(&g);
    got_init(&g);
    ASSERT_EQ(run(&g, 1, 1 << 20, &b, 0, 0, NULL), 0);
    ASSERT_EQ(g.n, 4); /* "bye" dropped */
    got_close(&g);
    lc_buf_close(&b);
}

TEST(tty_piece_boundaries)
{
    /* Lines around the piece size; the "\r" of "\r\n" may end one piece with the "\n" in
     * the next message. */
    static const size_t sizes[] = {16381, 16382, 16383, 16384, 16385, 32766, 32767, 32768, 100000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct lc_buf b;
        struct got g;
        uint64_t errors;
        lc_buf_init(&b, 0);
        got_init(&g);
        long_line(&b, 1, 1, TS1, sizes[i]);
        tty_msg(&b, TS2, "end\r\n", 5);
        ASSERT_EQ(run(&g, 1, 1 << 20, &b, 0, 1, &errors), 0);
        ASSERT_EQ(g.n, 2);
        ASSERT_EQ(g.items[0].len, sizes[i]);
        ASSERT_TRUE(is_pattern(g.items[0].msg, sizes[i]));
        ASSERT_EQ(g.items[0].truncated, 0);
        ASSERT_STR_EQ(g.items[1].msg, "end");
        ASSERT_U64_EQ(errors, 0);
        got_close(&g);
        /* Truncated at exactly its length: not truncated (the "\r" does not count). */
        got_init(&g);
        ASSERT_EQ(run(&g, 1, sizes[i], &b, 1000, 1, NULL), 0);
        ASSERT_EQ(g.items[0].len, sizes[i]);
        ASSERT_EQ(g.items[0].truncated, 0);
        got_close(&g);
        got_init(&g);
        ASSERT_EQ(run(&g, 1, sizes[i] - 1, &b, 0, 1, NULL), 0);
        ASSERT_EQ(g.items[0].len, sizes[i] - 1);
        ASSERT_EQ(g.items[0].truncated, 1);
        ASSERT_TRUE(is_pattern(g.items[0].msg, sizes[i] - 1));
        got_close(&g);
        lc_buf_close(&b);
    }
}

TEST(tty_without_timestamps)
{
    struct lc_buf b;
    struct got g;
    uint64_t errors;
    lc_buf_init(&b, 0);
    got_init(&g);
    lc_buf_adds(&b, "raw line\r\n");
    tty_msg(&b, TS1, "ok\r\n", 4);
    lc_buf_adds(&b, "\r\n");
    lc_buf_adds(&b, "tail");
    ASSERT_EQ(run(&g, 1, 1024, &b, 0, 1, &errors), 0);
    ASSERT_EQ(g.n, 4);
    ASSERT_STR_EQ(g.items[0].msg, "raw line");
    ASSERT_STR_EQ(g.items[0].ts, "");
    ASSERT_STR_EQ(g.items[1].msg, "ok");
    ASSERT_STR_EQ(g.items[2].msg, "");
    ASSERT_EQ(g.items[2].ts_ns, TS1_NS);
    ASSERT_STR_EQ(g.items[3].msg, "tail");
    ASSERT_U64_EQ(errors, 3);
    got_close(&g);
    lc_buf_close(&b);
}

/* A body with every shape, in both modes. */
static void rich_body(struct lc_buf *b, int tty)
{
    lc_buf_init(b, 0);
    if (tty) {
        tty_msg(b, TS1, "hello\r\n", 7);
        long_line(b, 1, 1, TS1, 40000);
        long_line(b, 1, 1, TS2, 16383);
        tty_msg(b, TS2, "\xe2\x82\xac \x01\r\n", 7);
        lc_buf_adds(b, "no timestamp here\r\n");
        tty_msg(b, "2026-11-22T12:24:43+01:00", "offset\r\n", 8);
        tty_msg(b, TS3, "bye", 3);
        return;
    }
    frames(b, 1, TS1, "hello\n");
    frames(b, 2, TS1, "err piece ");
    long_line(b, 0, 1, TS2, 40000);
    frames(b, 2, TS1, "err end\n");
    long_line(b, 0, 2, TS2, 16384);
    frames(b, 1, TS2, "");
    frames(b, 1, TS2, "\n");
    frames(b, 3, TS2, "system error");
    frames(b, 1, TS3, "\xe2\x82\xac \x01\n");
    frames(b, 1, TS3, "last");
}

TEST(any_split_gives_same_lines)
{
    for (int tty = 0; tty <= 1; tty++) {
        struct lc_buf b;
        struct got ref;
        uint64_t ref_errors, errors;
        rich_body(&b, tty);
        got_init(&ref);
        ASSERT_EQ(run(&ref, tty, 30000, &b, 0, 1, &ref_errors), 0);
        ASSERT_EQ(ref.n, 7);
        ASSERT_U64_EQ(ref_errors, 1);
        for (size_t chunk = 1; chunk < 70; chunk += (chunk < 40 ? 1 : 7)) {
            struct got g;
            got_init(&g);
            ASSERT_EQ(run(&g, tty, 30000, &b, chunk, 1, &errors), 0);
            ASSERT_MEM_EQ(g.ser.data, g.ser.len, ref.ser.data, ref.ser.len);
            ASSERT_U64_EQ(errors, ref_errors);
            got_close(&g);
        }
        /* Two-part splits at every offset near the start and in random places. */
        for (size_t k = 0; k < b.len; k += (k < 200 ? 1 : 997)) {
            struct got g;
            struct lc_docker_lines *l;
            got_init(&g);
            l = lc_docker_lines_create(tty, 30000, on_line, &g);
            ASSERT_EQ(lc_docker_lines_feed(l, b.data, k), 0);
            ASSERT_EQ(lc_docker_lines_feed(l, b.data + k, b.len - k), 0);
            ASSERT_EQ(lc_docker_lines_finish(l, 1), 0);
            ASSERT_MEM_EQ(g.ser.data, g.ser.len, ref.ser.data, ref.ser.len);
            lc_docker_lines_destroy(l);
            got_close(&g);
        }
        /* Random chunk sizes. */
        for (int round = 0; round < 50; round++) {
            struct got g;
            struct lc_docker_lines *l;
            size_t off = 0;
            uint32_t seed = (uint32_t)round * 2654435761u + 1;
            got_init(&g);
            l = lc_docker_lines_create(tty, 30000, on_line, &g);
            while (off < b.len) {
                size_t n;
                seed = seed * 1103515245u + 12345u;
                n = (seed >> 8) % (round % 2 ? 50 : 20000);
                n = n > b.len - off ? b.len - off : n;
                ASSERT_EQ(lc_docker_lines_feed(l, b.data + off, n), 0);
                off += n;
            }
            ASSERT_EQ(lc_docker_lines_finish(l, 1), 0);
            ASSERT_MEM_EQ(g.ser.data, g.ser.len, ref.ser.data, ref.ser.len);
            lc_docker_lines_destroy(l);
            got_close(&g);
        }
        got_close(&ref);
        lc_buf_close(&b);
    }
}

TEST(callback_stops_feed)
{
    for (int tty = 0; tty <= 1; tty++) {
        struct lc_buf b;
        struct got g;
        struct lc_docker_lines *l;
        rich_body(&b, tty);
        got_init(&g);
        g.stop_at = 2;
        l = lc_docker_lines_create(tty, 30000, on_line, &g);
        ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 5);
        ASSERT_EQ(g.n, 2);
        ASSERT_EQ(lc_docker_lines_finish(l, 0), 0);
        ASSERT_EQ(g.n, 2);
        /* In finish too. */
        g.stop_at = 3;
        lc_buf_reset(&b);
        frames(&b, 1, TS1, "a");
        frames(&b, 2, TS2, "b");
        if (tty) {
            lc_buf_reset(&b);
            tty_msg(&b, TS1, "a", 1);
        }
        ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
        ASSERT_EQ(lc_docker_lines_finish(l, 1), 5);
        ASSERT_EQ(g.n, 3);
        ASSERT_EQ(lc_docker_lines_finish(l, 1), 0); /* nothing left pending */
        ASSERT_EQ(g.n, 3);
        lc_docker_lines_destroy(l);
        got_close(&g);
        lc_buf_close(&b);
    }
}

/* Feeds BODY whole, in every chunk size up to 64, and split in two at every offset: each
 * gives the serialised lines of the whole feed. Returns the mismatches. */
static int split_mismatches(int tty, const struct lc_buf *b, const struct got *ref)
{
    int bad = 0;
    for (size_t chunk = 1; chunk <= 64; chunk++) {
        struct got g;
        got_init(&g);
        run(&g, tty, 1 << 20, b, chunk, 1, NULL);
        bad += g.ser.len != ref->ser.len || memcmp(g.ser.data, ref->ser.data, g.ser.len) != 0;
        got_close(&g);
    }
    for (size_t k = 0; k <= b->len; k++) {
        struct got g;
        struct lc_docker_lines *l;
        got_init(&g);
        l = lc_docker_lines_create(tty, 1 << 20, on_line, &g);
        lc_docker_lines_feed(l, b->data, k);
        lc_docker_lines_feed(l, b->data + k, b->len - k);
        lc_docker_lines_finish(l, 1);
        bad += g.ser.len != ref->ser.len || memcmp(g.ser.data, ref->ser.data, g.ser.len) != 0;
        lc_docker_lines_destroy(l);
        got_close(&g);
    }
    return bad;
}

/* A TTY run that ends without '\n' ("Password: ") and a next run appended to the same log:
 * Docker sends the next message's header right after the last bytes, with no frame to
 * tell them apart. Each run's lines stay apart whatever the feed boundaries. */
TEST(tty_run_ending_without_newline)
{
    struct lc_buf b;
    struct got g;
    uint64_t errors;
    lc_buf_init(&b, 0);
    got_init(&g);
    tty_msg(&b, TS1, "Password: ", 10);
    tty_msg(&b, TS3, "second run line 1\r\n", 19);
    tty_msg(&b, TS3, "ok\r\n", 4);
    ASSERT_EQ(run(&g, 1, 1 << 20, &b, 0, 1, &errors), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_STR_EQ(g.items[0].msg, "Password: ");
    ASSERT_EQ(g.items[0].ts_ns, TS1_NS);
    ASSERT_STR_EQ(g.items[1].msg, "second run line 1");
    ASSERT_EQ(g.items[1].ts_ns, TS3_NS);
    ASSERT_STR_EQ(g.items[1].ts, TS3);
    ASSERT_STR_EQ(g.items[2].msg, "ok");
    ASSERT_U64_EQ(errors, 0);
    ASSERT_EQ(split_mismatches(1, &b, &g), 0);
    got_close(&g);

    /* Three runs in a row end without '\n', the last one too. */
    lc_buf_reset(&b);
    got_init(&g);
    tty_msg(&b, TS1, "a", 1);
    tty_msg(&b, TS2, "b", 1);
    tty_msg(&b, TS3, "c", 1);
    ASSERT_EQ(run(&g, 1, 1 << 20, &b, 0, 1, NULL), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_STR_EQ(g.items[0].msg, "a");
    ASSERT_STR_EQ(g.items[1].msg, "b");
    ASSERT_EQ(g.items[1].ts_ns, TS2_NS);
    ASSERT_STR_EQ(g.items[2].msg, "c");
    ASSERT_EQ(split_mismatches(1, &b, &g), 0);
    got_close(&g);
    lc_buf_close(&b);
}

/* A run that ends in the middle of a long line: a full piece, then a shorter last piece
 * without '\n', then the next run; and a next run whose header starts just before where a
 * full piece would end. */
TEST(tty_run_ending_inside_a_long_line)
{
    static const size_t firsts[] = {20000, 16384 + 16370, 16383, 16370};
    for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
        struct lc_buf b, line;
        struct got g;
        size_t n = firsts[i];
        lc_buf_init(&b, 0);
        lc_buf_init(&line, 0);
        got_init(&g);
        for (size_t k = 0; k < n; k++) {
            lc_buf_addc(&line, pattern(k));
        }
        for (size_t off = 0; off < n; off += LC_DOCKER_PIECE) {
            tty_msg(&b, TS1, line.data + off,
                    n - off < LC_DOCKER_PIECE ? n - off : LC_DOCKER_PIECE);
        }
        tty_msg(&b, TS3, "next\r\n", 6);
        ASSERT_EQ(run(&g, 1, 1 << 20, &b, 0, 1, NULL), 0);
        ASSERT_EQ(g.n, 2);
        ASSERT_EQ(g.items[0].len, n);
        ASSERT_TRUE(is_pattern(g.items[0].msg, n));
        ASSERT_STR_EQ(g.items[1].msg, "next");
        ASSERT_EQ(g.items[1].ts_ns, TS3_NS);
        for (size_t chunk = 1000; chunk < 20000; chunk += 3001) {
            struct got h;
            got_init(&h);
            run(&h, 1, 1 << 20, &b, chunk, 1, NULL);
            ASSERT_MEM_EQ(h.ser.data, h.ser.len, g.ser.data, g.ser.len);
            got_close(&h);
        }
        got_close(&g);
        lc_buf_close(&line);
        lc_buf_close(&b);
    }
}

/* Timestamps a program prints itself are content: one older than or equal to the line's
 * own, or one at the very start of the content, never starts a new message. */
TEST(tty_timestamp_in_content_stays_content)
{
    struct lc_buf b;
    struct got g;
    lc_buf_init(&b, 0);
    got_init(&g);
    tty_msg(&b, TS3, "app says " TS1 " hello\r\n", 9 + 30 + 8);
    tty_msg(&b, TS1, "at " TS1 " same\r\n", 3 + 30 + 7);
    tty_msg(&b, TS1, TS3 " first\r\n", 30 + 8);
    tty_msg(&b, TS1, "no space " TS3 "x\r\n", 9 + 30 + 3);
    ASSERT_EQ(run(&g, 1, 1 << 20, &b, 0, 1, NULL), 0);
    ASSERT_EQ(g.n, 4);
    ASSERT_STR_EQ(g.items[0].msg, "app says " TS1 " hello");
    ASSERT_STR_EQ(g.items[1].msg, "at " TS1 " same");
    ASSERT_STR_EQ(g.items[2].msg, TS3 " first");
    ASSERT_STR_EQ(g.items[3].msg, "no space " TS3 "x");
    ASSERT_EQ(split_mismatches(1, &b, &g), 0);
    got_close(&g);
    lc_buf_close(&b);
}

/* The timestamp of the oldest line not yet whole: a position must not pass it. */
TEST(pending_timestamp)
{
    struct lc_buf b;
    struct got g;
    struct lc_docker_lines *l;
    char *piece = malloc(LC_DOCKER_PIECE);
    memset(piece, 'x', LC_DOCKER_PIECE);
    lc_buf_init(&b, 0);
    got_init(&g);
    l = lc_docker_lines_create(0, 1 << 20, on_line, &g);
    ASSERT_EQ(lc_docker_lines_pending_ts(l), -1);
    frame(&b, 1, TS1, piece, LC_DOCKER_PIECE);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
    ASSERT_EQ(lc_docker_lines_pending_ts(l), TS1_NS);
    lc_buf_reset(&b);
    frames(&b, 2, TS3, "newer on stderr\n");
    frame(&b, 2, TS2, piece, LC_DOCKER_PIECE);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
    ASSERT_EQ(g.n, 1);
    ASSERT_EQ(lc_docker_lines_pending_ts(l), TS1_NS);
    lc_buf_reset(&b);
    frames(&b, 1, TS1, "end\n");
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
    ASSERT_EQ(lc_docker_lines_pending_ts(l), TS2_NS);
    ASSERT_EQ(lc_docker_lines_finish(l, 0), 0);
    ASSERT_EQ(lc_docker_lines_pending_ts(l), -1);
    lc_docker_lines_destroy(l);
    /* TTY: a message whose end has not arrived. */
    l = lc_docker_lines_create(1, 1 << 20, on_line, &g);
    lc_buf_reset(&b);
    tty_msg(&b, TS2, "partial", 7);
    ASSERT_EQ(lc_docker_lines_feed(l, b.data, b.len), 0);
    ASSERT_EQ(lc_docker_lines_pending_ts(l), TS2_NS);
    ASSERT_EQ(lc_docker_lines_feed(l, " end\r\n", 6), 0);
    ASSERT_EQ(lc_docker_lines_pending_ts(l), -1);
    ASSERT_STR_EQ(g.items[g.n - 1].msg, "partial end");
    lc_docker_lines_destroy(l);
    free(piece);
    got_close(&g);
    lc_buf_close(&b);
}

TEST_MAIN(TEST_ENTRY(plain_lines_in_place), TEST_ENTRY(non_tty_keeps_cr), TEST_ENTRY(pieces_joined),
          TEST_ENTRY(exactly_one_piece_then_newline_message), TEST_ENTRY(interleaved_streams),
          TEST_ENTRY(truncation_2mib), TEST_ENTRY(truncation_edges),
          TEST_ENTRY(last_line_without_newline), TEST_ENTRY(finish_resets_for_next_response),
          TEST_ENTRY(new_timestamp_ends_pending_piece), TEST_ENTRY(messages_without_timestamp),
          TEST_ENTRY(bad_header), TEST_ENTRY(tty_body), TEST_ENTRY(tty_piece_boundaries),
          TEST_ENTRY(tty_without_timestamps), TEST_ENTRY(any_split_gives_same_lines),
          TEST_ENTRY(callback_stops_feed), TEST_ENTRY(tty_run_ending_without_newline),
          TEST_ENTRY(tty_run_ending_inside_a_long_line),
          TEST_ENTRY(tty_timestamp_in_content_stays_content), TEST_ENTRY(pending_timestamp))
