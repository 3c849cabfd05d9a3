/* output: the interface every output implements, and the registry of output types.
 * init runs on the loop thread before the delivery thread starts, send and flush on the
 * output's own delivery thread, destroy on the loop thread after it was joined. send may
 * block on I/O (with its own timeouts). */
#ifndef LC_OUTPUT_H
#define LC_OUTPUT_H

#include <stddef.h>

#include "core/config.h"
#include "core/record.h"

enum lc_send_result {
    LC_OK = 0,     /* every record was accepted */
    LC_RETRY = 1,  /* nothing certain: send the same batch again later */
    LC_REJECT = 2, /* the destination will never take this batch (dead-letter it) */
};

struct lc_output_ops {
    const char *type;
    /* Creates the output's state from CFG (which outlives it). Returns 0 or a negative
     * errno (logged by the output, with its "[output:NAME]" prefix). */
    int (*init)(void **state, const struct lc_output_config *cfg);
    /* Writes N records in order. The records stay owned by the caller. */
    enum lc_send_result (*send)(void *state, struct lc_record *const *recs, size_t n);
    /* Makes everything sent so far durable (fsync for files). Returns 0 or -errno. */
    int (*flush)(void *state);
    /* Flushes what it can and frees everything. NULL state is a no-op. */
    void (*destroy)(void *state);
};

/* Returns the ops for TYPE, or NULL when no output has that type. */
const struct lc_output_ops *lc_output_find(const char *type);

/* NULL-terminated list of known type names, for error messages and docs. */
extern const char *const lc_output_types[];

#endif
