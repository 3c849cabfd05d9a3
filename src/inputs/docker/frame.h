/* frame: decoder for Docker's multiplexed log stream (Tty=false). Each frame is an 8-byte
 * header [stream, 0, 0, 0, length as 32-bit big-endian] and LENGTH payload bytes; one
 * frame carries one log message. The decoder is incremental: bytes may arrive split at any
 * point. A frame that is whole in the input is passed to the callback without copying; one
 * that spans calls is gathered in the decoder's own buffer (capped at LC_DOCKER_FRAME_MAX). */
#ifndef LC_DOCKER_FRAME_H
#define LC_DOCKER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Docker's messages are at most 16 KiB plus a 31-byte timestamp; anything near this cap is
 * not a log stream at all. */
#define LC_DOCKER_FRAME_MAX (1u << 20)

enum lc_docker_frame_stream {
    LC_DOCKER_FRAME_STDIN = 0,
    LC_DOCKER_FRAME_STDOUT = 1,
    LC_DOCKER_FRAME_STDERR = 2,
    LC_DOCKER_FRAME_SYSTEMERR = 3, /* an error text from the daemon, not container output */
};

struct lc_docker_frame_decoder {
    unsigned char hdr[8];
    size_t hdr_len;
    uint32_t need; /* payload bytes of the current frame still to come */
    int stream;
    int failed;         /* set after a malformed header; every later feed fails */
    struct lc_buf part; /* payload of a frame that spans feeds */
};

/* Called once per whole frame. Return 0 to go on; any other value stops the feed and is
 * returned by lc_docker_frame_feed. */
typedef int (*lc_docker_frame_cb)(void *ud, int stream, const char *payload, size_t len);

void lc_docker_frame_init(struct lc_docker_frame_decoder *d);
void lc_docker_frame_close(struct lc_docker_frame_decoder *d);
/* Forgets any partial frame (after the stream was closed) and clears the failed state. */
void lc_docker_frame_reset(struct lc_docker_frame_decoder *d);

/* Feeds LEN bytes. Returns 0, the callback's nonzero value, or -EPROTO when a header is
 * malformed (stream byte above 3, nonzero padding, or length above LC_DOCKER_FRAME_MAX): the
 * stream cannot be resynchronised and must be closed. */
int lc_docker_frame_feed(struct lc_docker_frame_decoder *d, const char *data, size_t len,
                         lc_docker_frame_cb cb, void *ud);

/* True when a frame has started (header or payload bytes) but not completed. */
int lc_docker_frame_pending(const struct lc_docker_frame_decoder *d);

#endif
