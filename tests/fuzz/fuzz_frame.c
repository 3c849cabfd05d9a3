/* fuzz_frame: the frame decoder on arbitrary bodies. The first byte seeds the feed sizes;
 * the frames seen when the body is fed in pieces must be exactly those seen when it is fed
 * whole, with the same result, and every frame must respect the header's limits. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "inputs/docker/frame.h"

struct sum {
    uint64_t hash;
    size_t frames;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 0x100000001b3ULL;
    }
    return h;
}

static int on_frame(void *ud, int stream, const char *payload, size_t len)
{
    struct sum *s = ud;
    if (stream < 0 || stream > LC_DOCKER_FRAME_SYSTEMERR || len > LC_DOCKER_FRAME_MAX ||
        (len > 0 && payload == NULL)) {
        abort();
    }
    s->hash = mix(s->hash, &stream, sizeof(stream));
    s->hash = mix(s->hash, &len, sizeof(len));
    s->hash = mix(s->hash, payload, len);
    s->frames++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lc_docker_frame_decoder d;
    struct sum whole = {0xcbf29ce484222325ULL, 0}, parts = {0xcbf29ce484222325ULL, 0};
    uint32_t seed;
    int rc_whole, rc_parts = 0, pending;
    size_t off = 0;
    if (size < 1) {
        return 0;
    }
    seed = data[0] * 2654435761u + 1;
    data++;
    size--;
    lc_docker_frame_init(&d);
    rc_whole = lc_docker_frame_feed(&d, (const char *)data, size, on_frame, &whole);
    pending = lc_docker_frame_pending(&d);
    lc_docker_frame_reset(&d);
    while (off < size && rc_parts == 0) {
        size_t n;
        seed = seed * 1103515245u + 12345u;
        n = (seed >> 16) % 24;
        n = n > size - off ? size - off : n;
        rc_parts = lc_docker_frame_feed(&d, (const char *)data + off, n, on_frame, &parts);
        off += n;
    }
    if (rc_whole != rc_parts || whole.hash != parts.hash || whole.frames != parts.frames ||
        (rc_whole == 0 && pending != lc_docker_frame_pending(&d)) ||
        (rc_whole != 0 && rc_whole != -EPROTO)) {
        abort();
    }
    /* Failed stays failed until reset. */
    if (rc_whole == -EPROTO &&
        lc_docker_frame_feed(&d, "\1\0\0\0\0\0\0\0", 8, on_frame, &parts) != -EPROTO) {
        abort();
    }
    lc_docker_frame_close(&d);
    return 0;
}
