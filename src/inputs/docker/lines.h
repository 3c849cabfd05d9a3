/* lines: turns the body of a Docker logs response (timestamps=1) into whole lines.
 *
 * Non-TTY bodies are multiplexed frames (frame.h), one message per frame. TTY bodies are
 * raw: messages are "TS content\r\n", or pieces of exactly 16,384 content bytes without a
 * newline directly followed by the next "TS ". Every message starts with an RFC 3339
 * timestamp and a space. Docker splits lines longer than 16 KiB into pieces that share one
 * timestamp; only the last ends in '\n'. This module joins the pieces of each stream back
 * (stdout and stderr pieces may interleave), up to MAX_LINE_BYTES, beyond which the line
 * is cut, marked truncated, and the rest of its pieces dropped. The trailing "\n" (and the
 * pty's "\r" before it in TTY mode) is removed.
 *
 * A pending piece is emitted as a line of its own when the next piece of the same stream
 * has a different timestamp (the process ended without '\n' and a later run wrote more),
 * or by lc_docker_lines_finish(.., 1) when the daemon has sent all it holds.
 *
 * A message without a valid timestamp is delivered with the timestamp of the previous
 * message of the stream (or ts_ns 0 and the text "" when there is none) and counted as a
 * decode error; a SYSTEMERR frame is counted as a decode error and not delivered. The
 * module owns its buffers; line pointers passed to the callback are valid during the
 * callback only. */
#ifndef LC_DOCKER_LINES_H
#define LC_DOCKER_LINES_H

#include <stddef.h>
#include <stdint.h>

#define LC_DOCKER_PIECE 16384

struct lc_docker_line {
    int stream; /* enum lc_stream: 1 stdout, 2 stderr (TTY: always 1) */
    int64_t ts_ns;
    const char *ts; /* timestamp text as Docker sent it */
    size_t ts_len;
    const char *msg; /* message without the trailing newline */
    size_t len;
    int truncated;
};

/* Return 0 to go on; nonzero stops the feed and is returned by lc_docker_lines_feed. */
typedef int (*lc_docker_line_cb)(void *ud, const struct lc_docker_line *line);

struct lc_docker_lines;

/* Creates an assembler. MAX_LINE_BYTES >= 1. Never returns NULL. */
struct lc_docker_lines *lc_docker_lines_create(int tty, size_t max_line_bytes, lc_docker_line_cb cb,
                                               void *ud);
/* NULL is a no-op. */
void lc_docker_lines_destroy(struct lc_docker_lines *l);

/* Feeds body bytes (chunked transfer encoding already removed). Returns 0, the callback's
 * nonzero value, or -EPROTO on a malformed frame header (close the stream; what was
 * delivered before stands). */
int lc_docker_lines_feed(struct lc_docker_lines *l, const char *data, size_t len);

/* Feeds one message of STREAM (1 stdout, 2 stderr) that another source decoded (a line of
 * Docker's json-file log): its timestamp TS (TS_LEN bytes of text, less than 40; TS_NS its
 * value; TS_LEN 0: none, counted as a decode error and given the stream's last one) and
 * its content TEXT (LEN bytes, ending in '\n' when it ends a line). Pieces of a long line
 * are joined as for frames. An unknown STREAM is a decode error. Returns 0 or the
 * callback's value. */
int lc_docker_lines_message(struct lc_docker_lines *l, int stream, const char *ts, size_t ts_len,
                            int64_t ts_ns, const char *text, size_t len);

/* The response ended. With EMIT_PARTIAL, pending pieces are delivered as lines (a last
 * line without '\n'); without, they are dropped (the stream was cut and will be read
 * again). Either way the assembler is reset for the next response. Returns 0 or the
 * callback's value. */
int lc_docker_lines_finish(struct lc_docker_lines *l, int emit_partial);

/* The timestamp of the oldest line not yet whole (pieces being joined, or a TTY message
 * whose end has not arrived), or -1 when none: a resume must not start after it. */
int64_t lc_docker_lines_pending_ts(const struct lc_docker_lines *l);

/* Messages that could not be decoded (no timestamp, SYSTEMERR frames, bad headers). */
uint64_t lc_docker_lines_decode_errors(const struct lc_docker_lines *l);

#endif
