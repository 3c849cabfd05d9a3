/* loki_batch: turns a batch of records into Loki streams: each record's labels are
 * rendered from the output's label templates, records with the same label set form one
 * stream, and each stream keeps its records in capture order with their own timestamps
 * (a resend carries the same timestamps, so Loki drops what it already has). The result
 * is what lc_loki_push_proto / _json encode (loki_push.h).
 *
 * Labels that depend only on a record's metadata (and stream) are rendered once per
 * metadata and stream in the batch, not per record; a label using a processor field is
 * rendered per record. Empty label values are left out, as Loki drops them; a value is made
 * valid UTF-8 and then, longer than Loki takes (LC_LOKI_MAX_VALUE_LEN bytes), cut at a
 * character, so what Loki receives fits. A record whose labels all
 * render empty would form the stream `{}`, which Loki refuses with the whole request: it
 * goes into no stream, and the batch lists it in unlabelled (the output refuses it alone).
 *
 * A batch owns its streams, entries and rendered text; the records' messages are pointed
 * at, not copied, so the records must outlive the batch's use. One thread. */
#ifndef LC_LOKI_BATCH_H
#define LC_LOKI_BATCH_H

#include <stddef.h>

#include "base/buf.h"
#include "config/config_option.h"
#include "core/record.h"
#include "outputs/loki/loki_push.h"

struct lc_loki_batch_opts {
    const struct lc_template_pair *labels; /* name -> template, in the config's order */
    size_t n_labels;
    const struct lc_template_pair *metadata; /* structured metadata, name -> template */
    size_t n_metadata;
    int line_json; /* line: json (the record as the file output writes it), else message */
};

struct lc_loki_batch {
    struct lc_loki_stream *streams;
    size_t n_streams;
    /* owned storage */
    struct lc_loki_entry *entries;
    struct lc_attr *attrs; /* the streams' label pairs */
    struct lc_attr *meta;  /* the entries' structured metadata */
    struct lc_buf text;    /* every rendered string */
    size_t cap_recs;
    size_t cap_streams; /* streams and attrs have room for this many streams */
    size_t *unlabelled; /* the indexes of the records in no stream (labels all empty) */
    size_t n_unlabelled;
};

/* Zeroes B (no memory yet). */
void lc_loki_batch_init(struct lc_loki_batch *b);

/* Builds B's streams from the N records RECS, replacing what B held. Returns 0, or -E2BIG
 * when a rendered value does not fit an lc_buf (B is then freed). */
int lc_loki_batch_build(struct lc_loki_batch *b, const struct lc_loki_batch_opts *o,
                        const struct lc_record *const *recs, size_t n);

/* Frees what B owns and zeroes it. */
void lc_loki_batch_free(struct lc_loki_batch *b);

#endif
