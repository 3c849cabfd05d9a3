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
    LC_OK = 0,     /* accepted, but for the records marked with lc_send_reject */
    LC_RETRY = 1,  /* nothing certain: send the same batch again later */
    LC_REJECT = 2, /* the destination will never take this batch (dead-letter it) */
};

/* What an output says about a batch beyond its answer: the records it refused for good
 * (in an LC_OK answer) and why, and why a batch failed. The delivery engine owns it. */
struct lc_send_report {
    char **reasons; /* N entries; non-NULL: record i is refused for good (heap string) */
    size_t n;
    size_t n_rejected;
    char why[256]; /* LC_RETRY or LC_REJECT: what went wrong ("" when unknown) */
};

/* Marks record I of the batch as refused for good, with a reason. */
void lc_send_reject(struct lc_send_report *rep, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Says why the batch failed (LC_RETRY or LC_REJECT). */
void lc_send_why(struct lc_send_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Resets REP for a batch of N records (frees earlier reasons). */
void lc_send_report_reset(struct lc_send_report *rep, size_t n);
/* Frees the reasons. */
void lc_send_report_close(struct lc_send_report *rep);

struct lc_output_ops {
    const char *type;
    /* Creates the output's state from CFG (which outlives it). Returns 0 or a negative
     * errno (logged by the output, with its "[output:NAME]" prefix). */
    int (*init)(void **state, const struct lc_output_config *cfg);
    /* Writes N records in order. The records stay owned by the caller. A batch answered
     * LC_RETRY comes again, with the same records (same seq), until it is accepted. REP
     * is reset for the batch; the output may mark refused records and say why. */
    enum lc_send_result (*send)(void *state, struct lc_record *const *recs, size_t n,
                                struct lc_send_report *rep);
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
