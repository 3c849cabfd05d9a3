/* delivery: the outputs' side of the spool. Each output runs on its own thread with its
 * own consumer and reader: it builds a batch (batch.max_records, batch.max_bytes,
 * batch.max_wait), sends it, and acknowledges it (moves its cursor) only once the
 * destination took it. A failed send is retried with exponential backoff and jitter
 * (retry.backoff_min..backoff_max, without limit unless retry.max_attempts); records the
 * destination refuses for good, and batches given up after max_attempts, go to the
 * dead-letter file (deadletter.h) before the cursor moves past them. One output that is
 * slow or dead holds back nobody but itself, until the spool is full.
 *
 * Outputs are flushed (fsync) and cursors synced as spool.sync says: after every batch
 * (always), every sync_interval (interval), or at stop (never).
 *
 * Owns: the outputs' states, their consumers, readers and threads. */
#ifndef LC_DELIVERY_H
#define LC_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/snapshot.h"
#include "spool/spool.h"
#include "outputs/output.h"

/* An idle delivery thread wakes this often to beat its task. */
#define LC_DELIVERY_IDLE_BEAT_MS 1000
/* After a stop's timeout, how long a delivery thread gets to notice it must abort. */
#define LC_DELIVERY_ABORT_MS 500

struct lc_task;
struct lc_delivery;

/* Creates the engine over SP (which must outlive it). DATA_DIR holds dead/; SYNC and
 * SYNC_INTERVAL_MS are spool.sync and spool.sync_interval. Never returns NULL. */
struct lc_delivery *lc_delivery_create(struct lc_spool *sp, const char *data_dir,
                                       enum lc_sync_mode sync, uint64_t sync_interval_ms);

/* Adds an output: runs its init and opens its consumer (cursor). CFG must outlive the
 * engine; TASK (may be NULL) is the supervisor's record of it, beaten and given errors by
 * the thread. Returns 0 or a negative errno. Call before lc_delivery_start. */
int lc_delivery_add_output(struct lc_delivery *dl, const struct lc_output_ops *ops,
                           const struct lc_output_config *cfg, struct lc_task *task);

/* Starts one thread per output. Returns 0 or a negative errno. */
int lc_delivery_start(struct lc_delivery *dl);

/* The supervisor's restart of output NAME: its thread destroys the output's state and inits
 * a fresh one at its next turn (a thread blocked inside its output restarts when the call
 * returns). Returns 0, or -ENOENT for an unknown output. */
int lc_delivery_restart_output(struct lc_delivery *dl, const char *name);

/* Asks output NAME's thread to replay its dead-letter file at its next turn. Any thread.
 * Returns 0, or -ENOENT for an unknown output. */
int lc_delivery_request_replay(struct lc_delivery *dl, const char *name);

/* Stops: each output delivers what the spool holds now, for at most TIMEOUT_MS (plus
 * LC_DELIVERY_ABORT_MS), flushes and syncs its cursor; a thread stuck in its output is
 * abandoned (what it did not acknowledge is read again at the next start). */
void lc_delivery_stop(struct lc_delivery *dl, uint64_t timeout_ms);

/* Fills output I's part of a snapshot (counters, backlog). Returns -ENOENT past the last. */
int lc_delivery_fill(struct lc_delivery *dl, size_t i, struct lc_output_snap *out);

/* The replay state of output I, for the API: "idle", "requested", "running", "done",
 * "failed"; the records the last replay delivered and those refused again; the records in
 * the dead-letter file now. Returns -ENOENT past the last. */
int lc_delivery_replay_state(struct lc_delivery *dl, size_t i, const char **state,
                             uint64_t *replayed, uint64_t *refused, uint64_t *in_file);

/* Test builds: makes output NAME fail. MODE "retry": every send fails (an outage);
 * "reject": records whose message contains MATCH are refused for good; "off": normal.
 * Returns 0, -ENOENT (unknown output) or -EINVAL (unknown mode). */
int lc_delivery_fault(struct lc_delivery *dl, const char *name, const char *mode,
                      const char *match);

/* Stops if needed, destroys the outputs and frees everything. Returns 0, or 1 when a thread
 * had to be abandoned: the engine and the tasks it was given are then left to the exiting
 * process, or to a later call of this function, which frees everything once the abandoned
 * threads have returned from their outputs (else returns 1 again). NULL is a no-op
 * (returns 0). */
int lc_delivery_destroy(struct lc_delivery *dl);

#endif
