/* processor: the interface of the processing stage that runs between an input and the
 * spool (multiline, parsing, filters come here). A processor sees each line an input hands
 * over, in order, and keeps it (possibly changed) or drops it. None is configured yet; the
 * unit tests run one through the ingest stage. */
#ifndef LC_PROCESSOR_H
#define LC_PROCESSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

/* One line on its way in, before it is a record: pointers into the input's buffers (or a
 * processor's), valid during the call only. */
struct lc_line_view {
    int stream; /* enum lc_stream */
    int64_t ts_ns;
    const char *ts; /* timestamp text as the source gave it */
    size_t ts_len;
    const char *msg;
    size_t len;
    int truncated;
    /* Fields for the record (record.h), NULL when none: a processor that adds some points
     * this at fields it owns (including any an earlier processor set), valid until its next
     * call; the spool stores a copy. */
    const struct lc_fields *fields;
};

enum lc_process_result {
    LC_PROCESS_KEEP = 0, /* go on with the line (as the processor left it) */
    LC_PROCESS_DROP = 1, /* the line goes no further */
};

struct lc_processor_ops {
    const char *type;
    /* Sees LINE of META. May change LINE's fields; new text must stay valid until the
     * processor's next call. */
    enum lc_process_result (*process)(void *state, const struct lc_meta *meta,
                                      struct lc_line_view *line);
};

#endif
