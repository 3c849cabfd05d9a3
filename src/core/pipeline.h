/* pipeline: the seam between inputs and outputs. Inputs push records on the loop thread;
 * each output drains them on its own thread in order, with its own cursor, in batches,
 * and flushes (fsync) at least every LC_PIPELINE_FLUSH_MS. A record's sequence number is
 * committed once every output has written and flushed it; the loop is then told, so the
 * inputs save positions only for lines that are durably written. The queue is capped in
 * bytes: a push past the cap asks the input to pause until the pipeline calls resume.
 *
 * The durable spool replaces the in-memory queue later behind this same interface.
 * Owns: the queued records, the output states and their threads, two uv_async handles. */
#ifndef LC_PIPELINE_H
#define LC_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/record.h"
#include "outputs/output.h"

#define LC_PIPELINE_FLUSH_MS 200
#define LC_PIPELINE_BATCH 4096
/* After a stop's timeout, how long a delivery thread gets to notice it must abort. */
#define LC_PIPELINE_ABORT_MS 500
/* An idle delivery thread wakes this often to beat its task. */
#define LC_PIPELINE_IDLE_BEAT_MS 1000

struct lc_task;

/* On the loop thread: every record with a sequence number <= SEQ is durably written. */
typedef void (*lc_pipeline_commit_cb)(void *ud, uint64_t seq);
/* On the loop thread: the queue drained below half its cap after a push reported full. */
typedef void (*lc_pipeline_resume_cb)(void *ud);

struct lc_output_stats {
    uint64_t records;
    uint64_t bytes;
    uint64_t retries;
    uint64_t rejected;
    double lag_s; /* write time minus the newest line's timestamp, last batch */
};

struct lc_pipeline;

/* Creates a pipeline on LOOP with a queue cap of MAX_BYTES. Never returns NULL. */
struct lc_pipeline *lc_pipeline_create(uv_loop_t *loop, size_t max_bytes,
                                       lc_pipeline_commit_cb commit_cb,
                                       lc_pipeline_resume_cb resume_cb, void *ud);

/* Adds an output and runs its init. CFG must outlive the pipeline; TASK (may be NULL) is
 * the supervisor's record of it, beaten and given errors by the delivery thread. Returns 0
 * or the output's negative errno. Call before lc_pipeline_start. */
int lc_pipeline_add_output(struct lc_pipeline *p, const struct lc_output_ops *ops,
                           const struct lc_output_config *cfg, struct lc_task *task);

/* Asks output I's delivery thread to destroy its output state and init a fresh one at its
 * next turn (the supervisor's restart of a stalled output). A thread blocked inside its
 * output cannot be interrupted: it restarts when the call returns. */
void lc_pipeline_restart_output(struct lc_pipeline *p, size_t i);

/* Starts one delivery thread per output. Returns 0 or a negative errno. */
int lc_pipeline_start(struct lc_pipeline *p);

/* Queues R, taking ownership, and sets R->seq. Returns 0, or 1 when the queue is past its
 * cap (R is still queued): pause the inputs until resume_cb. Loop thread only. */
int lc_pipeline_push(struct lc_pipeline *p, struct lc_record *r);

/* Sequence number of the last record pushed (0 when none). */
uint64_t lc_pipeline_last_seq(const struct lc_pipeline *p);

/* Stops taking records; each output writes what is queued and flushes, for at most
 * TIMEOUT_MS (plus LC_PIPELINE_ABORT_MS); threads are joined, or abandoned when stuck in
 * their output; the last commit_cb is made before this returns. */
void lc_pipeline_stop(struct lc_pipeline *p, uint64_t timeout_ms);

/* Bytes queued now. */
size_t lc_pipeline_queued_bytes(struct lc_pipeline *p);

/* Copies output I's counters (thread-safe). Returns -ENOENT past the last output. */
int lc_pipeline_output_stats(struct lc_pipeline *p, size_t i, struct lc_output_stats *out);

/* Stops if needed, destroys the outputs and frees everything once the loop has closed the
 * async handles. Returns 0, or 1 when an output thread had to be abandoned: the memory it
 * may still touch (the pipeline, its outputs, their tasks) is then left to the exiting
 * process, and the caller must not free the tasks it gave to lc_pipeline_add_output.
 * NULL is a no-op (returns 0). */
int lc_pipeline_destroy(struct lc_pipeline *p);

#endif
