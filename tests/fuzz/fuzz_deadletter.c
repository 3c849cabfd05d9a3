/* fuzz_deadletter: the dead-letter line parser on arbitrary bytes. A line it accepts gives a
 * record with a stream of stdout or stderr, a NUL after its message and metadata with every
 * string set; that record encoded again as a dead letter (lc_delivery_dead_encode) parses back to
 * the same fields, and encoding that one gives the very same line (the encoding is stable
 * after one round). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "delivery/deadletter.h"
#include "core/record.h"

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

static int same_str(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static void check_same(const struct lc_record *a, const struct lc_record *b)
{
    const struct lc_meta *x = a->meta, *y = b->meta;
    check(a->ts_ns == b->ts_ns && strcmp(a->ts, b->ts) == 0);
    check(a->stream == b->stream && a->truncated == b->truncated);
    check(a->len == b->len && memcmp(a->msg, b->msg, a->len) == 0);
    check(strcmp(x->id, y->id) == 0 && strcmp(x->name, y->name) == 0);
    check(same_str(lc_meta_attr(x, "image"), lc_meta_attr(y, "image")));
    check(same_str(lc_meta_attr(x, "host"), lc_meta_attr(y, "host")));
    check(same_str(lc_meta_attr(x, "labels"), lc_meta_attr(y, "labels")));
    check(same_str(lc_meta_attr(x, "compose_project"), lc_meta_attr(y, "compose_project")));
    check(same_str(lc_meta_attr(x, "compose_service"), lc_meta_attr(y, "compose_service")));
}

/* Encodes R as a dead letter into B (reset first) and parses it back. */
static struct lc_record *round_trip(struct lc_buf *b, const struct lc_record *r)
{
    struct lc_record *again;
    lc_buf_reset(b);
    check(lc_delivery_dead_encode(b, "2026-01-01T00:00:00Z", "out", r, "fuzz \"reason\"\n", 7) ==
          0);
    check(b->len > 0 && b->data[b->len - 1] == '\n' && memchr(b->data, '\n', b->len - 1) == NULL);
    again = lc_delivery_dead_parse(b->data, b->len);
    check(again != NULL);
    return again;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lc_record *r = lc_delivery_dead_parse((const char *)data, size), *r2, *r3;
    struct lc_buf b, b2;
    if (r == NULL) {
        return 0;
    }
    check(r->stream == LC_STREAM_STDOUT || r->stream == LC_STREAM_STDERR);
    check(r->msg[r->len] == '\0' && strlen(r->ts) < LC_TS_MAX);
    check(r->meta != NULL && r->meta->refs == 1 && r->meta->id != NULL && r->meta->name != NULL);
    lc_buf_init(&b, 0);
    lc_buf_init(&b2, 0);
    r2 = round_trip(&b, r);
    check_same(r, r2);
    r3 = round_trip(&b2, r2);
    check_same(r2, r3);
    check(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
    lc_record_destroy(r3);
    lc_record_destroy(r2);
    lc_record_destroy(r);
    lc_buf_close(&b2);
    lc_buf_close(&b);
    return 0;
}
