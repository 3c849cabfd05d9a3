/* output: the interface every output implements (the registry of output types is in
 * registry.h). init runs on the loop thread before the delivery thread starts, send and flush on
 * the output's own delivery thread, destroy on the loop thread after it was joined. send may block
 * on I/O (with its own timeouts). */
#ifndef LC_OUTPUT_H
#define LC_OUTPUT_H

#include <stddef.h>

#include "base/buf.h"
#include "config/config.h"
#include "core/record.h"
#include "core/snapshot.h"

enum lc_send_result {
    LC_OK = 0,     /* accepted, but for the records marked with lc_send_reject */
    LC_RETRY = 1,  /* failed: the batch comes again later, without its marked records */
    LC_REJECT = 2, /* the destination will never take this batch (dead-letter its records not
                      marked done) */
};

/* What an output says about a batch beyond its answer: the records it refused for good and
 * why, the records it delivered for good although the batch failed, and why a batch failed.
 * The delivery engine owns it; it is fresh for each call of send, its indexes are those of
 * that call's records.
 *
 * The marks hold for the batch whatever the answer: the engine keeps them across retries
 * and across restarts of the output (which destroy the state that made them), and sends
 * again only the records that have none. So an output keeps no memory of a failed batch's
 * partial progress in its own state: it says it here. A record is marked once; a later
 * mark of the same record is ignored. */
struct lc_send_report {
    char **reasons;      /* N entries; non-NULL: record i is refused for good (heap string) */
    unsigned char *done; /* N entries; non-zero: record i is delivered for good */
    size_t n;
    size_t n_rejected;
    size_t n_done;
    char why[256]; /* LC_RETRY or LC_REJECT: what went wrong ("" when unknown) */
    /* Per try (the engine clears them before each call of send): */
    uint64_t wait_ms; /* LC_RETRY: the destination asked to wait at least this long before
                         the next try (Retry-After); 0: the backoff alone decides */
    int config_fault; /* LC_RETRY: our configuration is wrong (a refused credential, a wrong
                         URL): retried, never dead-lettered, even past retry.max_attempts */
    long status;      /* the status of the call's last answer (HTTP outputs); 0: none */
    struct lc_request_stats req; /* the requests this call made (lc_send_request) */
    /* Set by the engine (it owns the int): non-zero, read with __atomic_load_n, once the
     * stop has given up waiting for the output. A send blocked in I/O that can be cut short
     * (an HTTP request) gives up its try then (LC_RETRY; nothing is acknowledged), so that
     * its thread ends instead of being abandoned. NULL: never. */
    const int *cancel;
};

/* Marks record I of the batch as refused for good, with a reason: it goes to the
 * dead-letter file once the batch is done with. */
void lc_send_reject(struct lc_send_report *rep, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks record I of the batch as delivered for good, for an output that cannot take back
 * what it delivered of a batch that then fails (the file output: records in files it
 * rotated away). It is not sent again, whatever the answer. */
void lc_send_done(struct lc_send_report *rep, size_t i);
/* Says why the batch failed (LC_RETRY or LC_REJECT). */
void lc_send_why(struct lc_send_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Counts a request the output made: its answer's STATUS (0: none came) and how long it
 * took, in microseconds. */
void lc_send_request(struct lc_send_report *rep, long status, uint64_t us);
/* Clears what REP says about one try (why, wait_ms, config_fault, status, req). */
void lc_send_report_new_try(struct lc_send_report *rep);
/* Resets REP for a batch of N records (frees earlier marks and reasons). */
void lc_send_report_reset(struct lc_send_report *rep, size_t n);
/* Frees the marks and reasons. */
void lc_send_report_close(struct lc_send_report *rep);

/* Appends R as the file and stdout outputs write it: a JSON line (core/json.h), or with
 * TEXT the message alone. Returns 0 or -E2BIG. */
int lc_output_add_line(struct lc_buf *b, const struct lc_record *r, int text);
/* A batch of N records output NAME could not encode (RC): logged and said in REP.
 * Returns LC_REJECT (the records go to the dead-letter file). */
enum lc_send_result lc_output_encode_failed(const char *name, size_t n, int rc,
                                            struct lc_send_report *rep);

struct lc_output_ops {
    const char *type;
    /* Its options: their table, defaults, help and checks. The config loader fills CFG->opts
     * (in init) with this plugin's options struct. */
    const struct lc_config_plugin *config;
    /* Creates the output's state from CFG (which outlives it; its options are CFG->opts). Returns 0
     * or a negative errno (logged by the output, with its "[output:NAME]" prefix). */
    int (*init)(void **state, const struct lc_output_config *cfg);
    /* Writes N records in order. The records stay owned by the caller. A batch answered
     * LC_RETRY comes again, with the same records (same seq) but those marked in REP so
     * far, until it is accepted; what the output did of a failed batch must be either
     * undone or marked done in REP, as the state may be destroyed and re-created between
     * the tries. REP is fresh for this call; the output may mark records and say why. */
    enum lc_send_result (*send)(void *state, struct lc_record *const *recs, size_t n,
                                struct lc_send_report *rep);
    /* Makes everything sent so far durable (fsync for files). Returns 0 or -errno. */
    int (*flush)(void *state);
    /* Flushes what it can and frees everything. NULL state is a no-op. */
    void (*destroy)(void *state);
    /* May be NULL. Serves what the output's client library queued for it (its log, its
     * statistics, its errors) on the output's thread: called after each send and about
     * every second while the output waits for records. When it has new broker figures it
     * writes them to BROKERS and returns 1, else 0. */
    int (*poll)(void *state, struct lc_brokers_snap *brokers);
};

/* Sends the records of RECS that BATCH has not marked yet through OPS with STATE, and adds
 * the marks the output made to BATCH (mapped back to RECS); BATCH->why says why it failed.
 * BATCH is the batch's report: reset once for the batch, then kept across its tries (and
 * across restarts of the output), which is how a record is never sent again once it is
 * marked. SCRATCH is reset and used when some records are left out. With nothing left to
 * send, answers LC_OK without calling the output. */
enum lc_send_result lc_output_send_rest(const struct lc_output_ops *ops, void *state,
                                        struct lc_record *const *recs, size_t n,
                                        struct lc_send_report *batch,
                                        struct lc_send_report *scratch);

#endif
