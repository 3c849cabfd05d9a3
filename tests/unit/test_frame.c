/* test_frame: the multiplexed-stream decoder: whole frames delivered in place, frames split
 * at every byte offset, several frames per feed, empty frames, malformed headers and the
 * failed state, the size cap, and a callback that stops the feed. */
#include <errno.h>
#include <stdint.h>

#include "base/buf.h"
#include "inputs/docker/frame.h"
#include "test.h"

#define MAX_FRAMES 64

struct seen {
    int n;
    int streams[MAX_FRAMES];
    size_t lens[MAX_FRAMES];
    const char *ptrs[MAX_FRAMES];
    struct lc_buf all; /* payloads concatenated, each followed by '|' */
    int stop_at;       /* return 7 from the callback for frame number STOP_AT (1-based) */
};

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof(*s));
    lc_buf_init(&s->all, 0);
}

static int on_frame(void *ud, int stream, const char *payload, size_t len)
{
    struct seen *s = ud;
    if (s->n < MAX_FRAMES) {
        s->streams[s->n] = stream;
        s->lens[s->n] = len;
        s->ptrs[s->n] = payload;
    }
    s->n++;
    lc_buf_add(&s->all, payload, len);
    lc_buf_addc(&s->all, '|');
    return s->n == s->stop_at ? 7 : 0;
}

/* Appends a frame with a header of STREAM and LEN, and PAYLOAD. */
static void put_frame(struct lc_buf *b, int stream, const char *payload, size_t len)
{
    unsigned char h[8] = {(unsigned char)stream,
                          0,
                          0,
                          0,
                          (unsigned char)(len >> 24),
                          (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8),
                          (unsigned char)len};
    lc_buf_add(b, h, 8);
    lc_buf_add(b, payload, len);
}

/* A body of several frames: stdout, stderr, empty, SYSTEMERR, stdin, a longer one. */
static void sample_body(struct lc_buf *b)
{
    static char big[300];
    memset(big, 'x', sizeof(big));
    lc_buf_init(b, 0);
    put_frame(b, 1, "2026-11-22T12:24:43.463703600Z hello\n", 37);
    put_frame(b, 2, "err\n", 4);
    put_frame(b, 1, "", 0);
    put_frame(b, 3, "daemon error", 12);
    put_frame(b, 0, "in", 2);
    put_frame(b, 2, big, sizeof(big));
    put_frame(b, 1, "z", 1);
}

static const char *sample_expect(void)
{
    static char expect[512];
    char big[301];
    memset(big, 'x', 300);
    big[300] = '\0';
    snprintf(expect, sizeof(expect),
             "2026-11-22T12:24:43.463703600Z hello\n|err\n||daemon error|in|%s|z|", big);
    return expect;
}

TEST(whole_frame_in_place)
{
    struct lc_docker_frame_decoder d;
    struct lc_buf b;
    struct seen s;
    lc_buf_init(&b, 0);
    seen_init(&s);
    lc_docker_frame_init(&d);
    put_frame(&b, 1, "hi\n", 3);
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data, b.len, on_frame, &s), 0);
    ASSERT_EQ(s.n, 1);
    ASSERT_EQ(s.streams[0], 1);
    ASSERT_EQ(s.lens[0], 3);
    ASSERT_TRUE(s.ptrs[0] == b.data + 8); /* no copy */
    ASSERT_EQ(lc_docker_frame_pending(&d), 0);
    lc_docker_frame_close(&d);
    lc_buf_close(&b);
    lc_buf_close(&s.all);
}

TEST(several_frames_one_feed)
{
    struct lc_docker_frame_decoder d;
    struct lc_buf b;
    struct seen s;
    sample_body(&b);
    seen_init(&s);
    lc_docker_frame_init(&d);
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data, b.len, on_frame, &s), 0);
    ASSERT_EQ(s.n, 7);
    ASSERT_EQ(s.streams[0], LC_DOCKER_FRAME_STDOUT);
    ASSERT_EQ(s.streams[1], LC_DOCKER_FRAME_STDERR);
    ASSERT_EQ(s.streams[2], LC_DOCKER_FRAME_STDOUT);
    ASSERT_EQ(s.lens[2], 0);
    ASSERT_TRUE(s.ptrs[2] != NULL);
    ASSERT_EQ(s.streams[3], LC_DOCKER_FRAME_SYSTEMERR);
    ASSERT_EQ(s.streams[4], LC_DOCKER_FRAME_STDIN);
    ASSERT_EQ(s.lens[5], 300);
    ASSERT_STR_EQ(s.all.data, sample_expect());
    lc_docker_frame_close(&d);
    lc_buf_close(&b);
    lc_buf_close(&s.all);
}

TEST(split_at_every_offset)
{
    struct lc_buf b;
    sample_body(&b);
    for (size_t k = 0; k <= b.len; k++) {
        struct lc_docker_frame_decoder d;
        struct seen s;
        seen_init(&s);
        lc_docker_frame_init(&d);
        ASSERT_EQ(lc_docker_frame_feed(&d, b.data, k, on_frame, &s), 0);
        ASSERT_EQ(lc_docker_frame_feed(&d, b.data + k, b.len - k, on_frame, &s), 0);
        ASSERT_EQ(s.n, 7);
        ASSERT_STR_EQ(s.all.data, sample_expect());
        ASSERT_EQ(s.streams[3], 3);
        ASSERT_EQ(lc_docker_frame_pending(&d), 0);
        lc_docker_frame_close(&d);
        lc_buf_close(&s.all);
    }
    lc_buf_close(&b);
}

TEST(split_at_every_pair_of_offsets)
{
    struct lc_buf b;
    lc_buf_init(&b, 0);
    put_frame(&b, 1, "abc\n", 4);
    put_frame(&b, 2, "", 0);
    put_frame(&b, 2, "defgh", 5);
    for (size_t i = 0; i <= b.len; i++) {
        for (size_t k = i; k <= b.len; k++) {
            struct lc_docker_frame_decoder d;
            struct seen s;
            seen_init(&s);
            lc_docker_frame_init(&d);
            ASSERT_EQ(lc_docker_frame_feed(&d, b.data, i, on_frame, &s), 0);
            ASSERT_EQ(lc_docker_frame_feed(&d, b.data + i, k - i, on_frame, &s), 0);
            ASSERT_EQ(lc_docker_frame_feed(&d, b.data + k, b.len - k, on_frame, &s), 0);
            ASSERT_STR_EQ(s.all.data, "abc\n||defgh|");
            ASSERT_EQ(s.streams[1], 2);
            lc_docker_frame_close(&d);
            lc_buf_close(&s.all);
        }
    }
    lc_buf_close(&b);
}

TEST(byte_by_byte_and_pending)
{
    struct lc_docker_frame_decoder d;
    struct lc_buf b;
    struct seen s;
    sample_body(&b);
    seen_init(&s);
    lc_docker_frame_init(&d);
    ASSERT_EQ(lc_docker_frame_pending(&d), 0);
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data, 1, on_frame, &s), 0);
    ASSERT_EQ(lc_docker_frame_pending(&d), 1); /* inside a header */
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data + 1, 8, on_frame, &s), 0);
    ASSERT_EQ(lc_docker_frame_pending(&d), 1); /* inside a payload */
    for (size_t i = 9; i < b.len; i++) {
        ASSERT_EQ(lc_docker_frame_feed(&d, b.data + i, 1, on_frame, &s), 0);
    }
    ASSERT_EQ(lc_docker_frame_pending(&d), 0);
    ASSERT_STR_EQ(s.all.data, sample_expect());
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data, 0, on_frame, &s), 0);
    lc_docker_frame_close(&d);
    lc_buf_close(&b);
    lc_buf_close(&s.all);
}

/* Feeds HDR (8 bytes) then a valid frame, whole and split. Expects -EPROTO and nothing
 * delivered. */
static int feed_bad(const unsigned char *hdr, int split)
{
    struct lc_docker_frame_decoder d;
    struct seen s;
    int rc, rc2, ok;
    seen_init(&s);
    lc_docker_frame_init(&d);
    if (split) {
        rc = lc_docker_frame_feed(&d, (const char *)hdr, 5, on_frame, &s);
        rc = rc != 0 ? -1000 : lc_docker_frame_feed(&d, (const char *)hdr + 5, 3, on_frame, &s);
    } else {
        rc = lc_docker_frame_feed(&d, (const char *)hdr, 8, on_frame, &s);
    }
    rc2 = lc_docker_frame_feed(&d, "\1\0\0\0\0\0\0\1x", 9, on_frame, &s);
    ok = rc == -EPROTO && rc2 == -EPROTO && s.n == 0 && d.failed;
    /* Reset clears the failed state. */
    lc_docker_frame_reset(&d);
    ok = ok && lc_docker_frame_feed(&d, "\1\0\0\0\0\0\0\1x", 9, on_frame, &s) == 0 && s.n == 1;
    lc_docker_frame_close(&d);
    lc_buf_close(&s.all);
    return ok;
}

TEST(bad_headers)
{
    static const unsigned char bad[][8] = {
        {4, 0, 0, 0, 0, 0, 0, 1},    {255, 0, 0, 0, 0, 0, 0, 1},
        {1, 1, 0, 0, 0, 0, 0, 1},    {1, 0, 1, 0, 0, 0, 0, 1},
        {1, 0, 0, 1, 0, 0, 0, 1},    {'2', '0', '2', '6', '-', '1', '1', '-'},
        {1, 0, 0, 0, 0, 0x10, 0, 1}, {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_TRUE(feed_bad(bad[i], 0));
        ASSERT_TRUE(feed_bad(bad[i], 1));
    }
}

TEST(bad_header_after_good_frames)
{
    struct lc_docker_frame_decoder d;
    struct lc_buf b;
    struct seen s;
    lc_buf_init(&b, 0);
    seen_init(&s);
    lc_docker_frame_init(&d);
    put_frame(&b, 1, "ok\n", 3);
    put_frame(&b, 9, "no", 2);
    put_frame(&b, 1, "never\n", 6);
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data, b.len, on_frame, &s), -EPROTO);
    ASSERT_EQ(s.n, 1); /* what came before stands */
    ASSERT_STR_EQ(s.all.data, "ok\n|");
    ASSERT_EQ(lc_docker_frame_feed(&d, NULL, 0, on_frame, &s), -EPROTO);
    lc_docker_frame_close(&d);
    lc_buf_close(&b);
    lc_buf_close(&s.all);
}

TEST(size_cap)
{
    struct lc_docker_frame_decoder d;
    struct seen s;
    char *big = calloc(1, LC_DOCKER_FRAME_MAX + 8);
    size_t off;
    unsigned char over[8] = {1, 0, 0, 0, 0, 0x10, 0, 1}; /* LC_DOCKER_FRAME_MAX + 1 */
    seen_init(&s);
    lc_docker_frame_init(&d);
    /* Exactly LC_DOCKER_FRAME_MAX is accepted, also when gathered across feeds. */
    big[0] = 2;
    big[5] = 0x10;
    for (off = 0; off < LC_DOCKER_FRAME_MAX + 8; off += 4096 + 3) {
        size_t n = LC_DOCKER_FRAME_MAX + 8 - off < 4099 ? LC_DOCKER_FRAME_MAX + 8 - off : 4099;
        ASSERT_EQ(lc_docker_frame_feed(&d, big + off, n, on_frame, &s), 0);
    }
    ASSERT_EQ(s.n, 1);
    ASSERT_EQ(s.streams[0], 2);
    ASSERT_EQ(s.lens[0], LC_DOCKER_FRAME_MAX);
    ASSERT_EQ(lc_docker_frame_feed(&d, (const char *)over, 8, on_frame, &s), -EPROTO);
    ASSERT_EQ(s.n, 1);
    free(big);
    lc_docker_frame_close(&d);
    lc_buf_close(&s.all);
}

TEST(callback_stops_feed)
{
    struct lc_docker_frame_decoder d;
    struct lc_buf b;
    struct seen s;
    sample_body(&b);
    seen_init(&s);
    lc_docker_frame_init(&d);
    s.stop_at = 2;
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data, b.len, on_frame, &s), 7);
    ASSERT_EQ(s.n, 2);
    ASSERT_EQ(lc_docker_frame_pending(&d), 0); /* stopped at a frame boundary */
    /* The same with the second frame gathered across feeds. */
    lc_docker_frame_reset(&d);
    lc_buf_reset(&s.all);
    s.n = 0;
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data, 55, on_frame, &s), 0);
    ASSERT_EQ(s.n, 1);
    ASSERT_EQ(lc_docker_frame_feed(&d, b.data + 55, b.len - 55, on_frame, &s), 7);
    ASSERT_EQ(s.n, 2);
    ASSERT_EQ(s.lens[1], 4);
    ASSERT_EQ(lc_docker_frame_pending(&d), 0);
    lc_docker_frame_close(&d);
    lc_buf_close(&b);
    lc_buf_close(&s.all);
}

TEST(reset_forgets_partial_frame)
{
    struct lc_docker_frame_decoder d;
    struct seen s;
    seen_init(&s);
    lc_docker_frame_init(&d);
    ASSERT_EQ(lc_docker_frame_feed(&d, "\1\0\0\0\0\0\0\5ab", 10, on_frame, &s), 0);
    ASSERT_EQ(lc_docker_frame_pending(&d), 1);
    lc_docker_frame_reset(&d);
    ASSERT_EQ(lc_docker_frame_pending(&d), 0);
    ASSERT_EQ(lc_docker_frame_feed(&d, "\2\0\0\0\0\0\0\2cd", 10, on_frame, &s), 0);
    ASSERT_EQ(s.n, 1);
    ASSERT_EQ(s.streams[0], 2);
    ASSERT_STR_EQ(s.all.data, "cd|");
    lc_docker_frame_close(&d);
    lc_buf_close(&s.all);
}

TEST_MAIN(TEST_ENTRY(whole_frame_in_place), TEST_ENTRY(several_frames_one_feed),
          TEST_ENTRY(split_at_every_offset), TEST_ENTRY(split_at_every_pair_of_offsets),
          TEST_ENTRY(byte_by_byte_and_pending), TEST_ENTRY(bad_headers),
          TEST_ENTRY(bad_header_after_good_frames), TEST_ENTRY(size_cap),
          TEST_ENTRY(callback_stops_feed), TEST_ENTRY(reset_forgets_partial_frame))
