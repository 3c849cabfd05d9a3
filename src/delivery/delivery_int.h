/* delivery_int: the delivery engine's state, shared by delivery.c (the engine and each
 * output's thread: batches, acknowledgements, flushes, replay, stop) and delivery_send.c
 * (sending one batch until the destination takes or refuses it: retries, dead letters,
 * the test fault switch). Not for use outside src/delivery/. */
#ifndef LC_DELIVERY_INT_H
#define LC_DELIVERY_INT_H

#include <pthread.h>
#include <stdint.h>

#include "delivery/delivery.h"
#include "spool/spool_reader.h"

#define LC_DELIVERY_MAX_OUTPUTS 64

enum lc_fault { FAULT_OFF = 0, FAULT_RETRY, FAULT_REJECT };

struct lc_delivery_out {
    struct lc_delivery *dl;
    const struct lc_output_ops *ops;
    const struct lc_output_config *cfg;
    void *state;
    struct lc_task *task; /* may be NULL (tests) */
    struct lc_spool_consumer *cons;
    struct lc_spool_reader *reader;
    int reinit; /* atomic: the supervisor asked for a fresh output state */
    int replay; /* atomic: a dead-letter replay was asked for */
    pthread_t thread;
    int running;
    int abandoned; /* stuck in its output at stop; joined by destroy if it returns */
    struct lc_record **batch;
    size_t n;
    struct lc_spool_pos end; /* after the batch's last record */
    struct lc_record *carry; /* read but did not fit the batch */
    struct lc_spool_pos carry_end;
    struct lc_send_report rep; /* the batch's marks, kept across tries and restarts */
    struct lc_send_report sub; /* the output's report on a try that left marked records out */
    uint64_t last_flush_ms;
    int unflushed; /* the cursor, or what the output took, waits for the interval's sync */
    /* After a failed flush (see delivery.c): everything the output took before DURABLE was
     * flushed; SENT: it took records since its last successful flush; REWIND: go back to
     * DURABLE before anything else. */
    struct lc_spool_pos durable;
    int sent;
    int rewind;
    uint64_t flush_backoff; /* the wait before sending again after the next failed flush */
    unsigned seed;
    /* under dl->lock */
    struct lc_output_snap st;
    const char *replay_state;
    uint64_t replayed;      /* delivered by the last replay */
    uint64_t refused_again; /* refused again by the last replay (back in the file) */
    enum lc_fault fault;
    char fault_match[256];
};

struct lc_delivery {
    struct lc_spool *sp;
    char *data_dir;
    enum lc_sync_mode sync;
    uint64_t sync_interval_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* backoff waits; woken at abort */
    int stopping;
    int aborting;
    int stopped;
    struct lc_delivery_out outs[LC_DELIVERY_MAX_OUTPUTS];
    size_t n_outs;
};

/* delivery.c */

/* Flushes the output (makes what it took durable). Returns 0, or -errno: logged, shown on
 * the task, counted, and the cursor goes back to the last durable place at the thread's
 * next turn. */
int lc_delivery_out_flush(struct lc_delivery_out *o);

/* delivery_send.c */

/* Beats O's task (PROGRESS: it moved data). */
void lc_delivery_out_beat(struct lc_delivery_out *o, int progress);
/* 1 once the stop aborts: threads must give up what they are doing. */
int lc_delivery_aborting(struct lc_delivery *dl);
/* Sleeps MS, beating every second; -ECANCELED as soon as the stop aborts. */
int lc_delivery_out_sleep(struct lc_delivery_out *o, uint64_t ms);
/* Re-creates the output's state when the supervisor asked for it. */
void lc_delivery_out_reinit_if_asked(struct lc_delivery_out *o);
/* Sends RECS until the destination took them or refused them for good (dead-lettered),
 * each record once: what the output marked done or refused on a failed try is not sent
 * again, across restarts of the output too. Returns 0, or -ECANCELED when the stop aborted
 * it (nothing may be acknowledged). */
int lc_delivery_out_send(struct lc_delivery_out *o, struct lc_record **recs, size_t n);
/* The output named NAME, or NULL. */
struct lc_delivery_out *lc_delivery_find(struct lc_delivery *dl, const char *name);

#endif
