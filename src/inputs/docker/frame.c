/* frame: incremental decoder for Docker's multiplexed stream (see frame.h). A frame that
 * lies whole in the fed bytes is handed to the callback in place; only a frame that spans
 * feeds is gathered in the decoder's buffer, which is kept between frames so the steady
 * state does not allocate. Owns that buffer. */
#include "inputs/docker/frame.h"

#include <errno.h>
#include <string.h>

#define HDR_LEN 8

void lc_docker_frame_init(struct lc_docker_frame_decoder *d)
{
    memset(d->hdr, 0, sizeof(d->hdr));
    d->hdr_len = 0;
    d->need = 0;
    d->stream = 0;
    d->failed = 0;
    lc_buf_init(&d->part, LC_DOCKER_FRAME_MAX);
}

void lc_docker_frame_close(struct lc_docker_frame_decoder *d)
{
    lc_buf_close(&d->part);
    d->hdr_len = 0;
    d->need = 0;
}

/* Keeps the buffer's memory for the next response. */
void lc_docker_frame_reset(struct lc_docker_frame_decoder *d)
{
    lc_buf_reset(&d->part);
    d->hdr_len = 0;
    d->need = 0;
    d->stream = 0;
    d->failed = 0;
}

int lc_docker_frame_pending(const struct lc_docker_frame_decoder *d)
{
    return d->hdr_len > 0;
}

/* Validates the 8 header bytes at H and loads the stream and length. */
static int load_header(struct lc_docker_frame_decoder *d, const unsigned char *h)
{
    uint32_t n = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    if (h[0] > LC_DOCKER_FRAME_SYSTEMERR || h[1] != 0 || h[2] != 0 || h[3] != 0 ||
        n > LC_DOCKER_FRAME_MAX) {
        d->failed = 1;
        return -EPROTO;
    }
    d->stream = h[0];
    d->need = n;
    return 0;
}

/* Completes the header from DATA. Returns bytes used, 0 with HDR_LEN short of a header, or
 * -EPROTO. */
static int take_header(struct lc_docker_frame_decoder *d, const char *data, size_t len)
{
    size_t n;
    if (d->hdr_len == 0 && len >= HDR_LEN) {
        d->hdr_len = HDR_LEN;
        return load_header(d, (const unsigned char *)data) < 0 ? -EPROTO : HDR_LEN;
    }
    n = HDR_LEN - d->hdr_len;
    if (n > len) {
        n = len;
    }
    memcpy(d->hdr + d->hdr_len, data, n);
    d->hdr_len += n;
    if (d->hdr_len < HDR_LEN) {
        return (int)n;
    }
    return load_header(d, d->hdr) < 0 ? -EPROTO : (int)n;
}

/* Ends the current frame and hands PAYLOAD to the callback. The decoder is at a frame
 * boundary before the callback runs, so a callback that stops the feed leaves it sound. */
static int deliver(struct lc_docker_frame_decoder *d, const char *payload, size_t len,
                   lc_docker_frame_cb cb, void *ud)
{
    int rc;
    d->hdr_len = 0;
    d->need = 0;
    rc = cb(ud, d->stream, payload, len);
    d->part.len = 0;
    return rc;
}

/* Bytes after the frame whose callback returned nonzero are not consumed. */
int lc_docker_frame_feed(struct lc_docker_frame_decoder *d, const char *data, size_t len,
                         lc_docker_frame_cb cb, void *ud)
{
    while (!d->failed) {
        size_t n;
        if (d->hdr_len < HDR_LEN) {
            int used;
            if (len == 0) {
                return 0;
            }
            used = take_header(d, data, len);
            if (used < 0) {
                return used;
            }
            data += used;
            len -= (size_t)used;
            if (d->hdr_len < HDR_LEN) {
                return 0;
            }
        }
        if (d->part.len == 0 && len >= d->need) {
            /* The whole payload is here: no copy. */
            n = d->need;
            int rc = deliver(d, n > 0 ? data : "", n, cb, ud);
            if (rc != 0) {
                return rc;
            }
            data += n;
            len -= n;
            continue;
        }
        n = len < d->need ? len : d->need;
        /* Cannot fail: the payload is at most LC_DOCKER_FRAME_MAX, the buffer's cap. */
        (void)lc_buf_add(&d->part, data, n);
        d->need -= (uint32_t)n;
        data += n;
        len -= n;
        if (d->need > 0) {
            return 0;
        }
        int rc = deliver(d, d->part.data, d->part.len, cb, ud);
        if (rc != 0) {
            return rc;
        }
    }
    return -EPROTO;
}
