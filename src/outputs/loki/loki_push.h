/* loki_push: the bodies of Loki's push API (POST /loki/api/v1/push), built from streams of
 * entries the Loki output has grouped by their rendered label sets.
 *
 * Protobuf (Content-Type application/x-protobuf, the body snappy-compressed as one raw
 * block): logproto.PushRequest{streams=1: StreamAdapter{labels=1 (the label string),
 * entries=2: EntryAdapter{timestamp=1 (google.protobuf.Timestamp{seconds=1, nanos=2}),
 * line=2, structuredMetadata=3 (LabelPairAdapter{name=1, value=2})}}} (grafana/loki
 * pkg/push/push.proto). The four messages are written by hand: each is a few tagged
 * fields, and sizing them first lets one pass write the body without copies.
 *
 * JSON (Content-Type application/json, gzip allowed): {"streams":[{"stream":{labels},
 * "values":[["<ns since the epoch, as a string>","line"(,{metadata})],...]},...]}.
 *
 * Lines, label values and metadata may hold any bytes: both encodings make them valid
 * UTF-8 (ill-formed sequences become U+FFFD), as Loki's label parser requires and its
 * queries expect. Pure functions; nothing is owned. */
#ifndef LC_LOKI_PUSH_H
#define LC_LOKI_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/record.h"

/* One log line of a stream. */
struct lc_loki_entry {
    int64_t ts_ns; /* the source's timestamp: a resend keeps it, so Loki drops the repeat */
    const char *line;
    size_t len;
    const struct lc_attr *meta; /* structured metadata, name -> value (flags ignored) */
    size_t n_meta;
};

/* The entries of one label set, in capture order. */
struct lc_loki_stream {
    const char *labels; /* the label string of PAIRS, as lc_loki_labels_format writes it
                           (the protobuf form, and the key the output groups by) */
    size_t labels_len;
    const struct lc_attr *pairs; /* the labels, name -> value (the JSON form) */
    size_t n_pairs;
    const struct lc_loki_entry *entries;
    size_t n;
};

/* Appends the label string of the N LABELS, in their order: `{name="value", ...}`, with
 * `\` `"` and newline escaped in values (Prometheus' label syntax, which Loki parses) and
 * values made valid UTF-8. A label with an empty value is left out, as Loki drops it.
 * Names are not checked here: the config checks them at load. Returns 0 or -E2BIG. */
int lc_loki_labels_format(struct lc_buf *b, const struct lc_attr *labels, size_t n);

/* Appends the PushRequest of the N streams as protobuf (not compressed). Returns 0 or
 * -E2BIG (B is then as it was). */
int lc_loki_push_proto(struct lc_buf *b, const struct lc_loki_stream *streams, size_t n);

/* Appends the N streams as the JSON push body. Returns 0 or -E2BIG (B as it was). */
int lc_loki_push_json(struct lc_buf *b, const struct lc_loki_stream *streams, size_t n);

/* Appends SRC (LEN bytes) compressed as one raw snappy block (libsnappy). Returns 0,
 * -E2BIG, or -EIO when snappy fails. */
int lc_loki_snappy(struct lc_buf *dst, const char *src, size_t len);

#endif
