/* ingest: the one way an input hands over its lines and its positions. It owns the spool's
 * appender side for every input: each input appends through its own handle; the appends of
 * one loop turn, with the positions they moved, go into the spool as one transaction (a
 * uv_check commits them); a burst is committed as soon as it passes LC_SPOOL_TXN_SOFT_MAX;
 * when the spool says it is full, every input is paused (on the next loop turn: curl does
 * not allow pausing other transfers from inside a callback), and resumed when the writer
 * says there is room. Processors run between the input and the spool, in order
 * (processor.h); none are configured yet.
 *
 * Positions are namespaced per input instance: an input names its keys freely and the
 * ingest stores them as "<instance name>/<key>", so two inputs can never collide (the
 * Docker input named "docker" keeps the keys earlier versions wrote).
 *
 * Loop thread only. Owns its loop handles and its processor list; the spool, the inputs'
 * metadata and the lines are the callers'. */
#ifndef LC_INGEST_H
#define LC_INGEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/record.h"
#include "pipeline/processor.h"
#include "spool/spool.h"

struct lc_ingest;
struct lc_ingest_input;

/* What the ingest asks of an input (all on the loop thread). */
struct lc_ingest_input_cbs {
    /* Stop (PAUSE 1) or go on (0) reading: the spool is full, or has room again. */
    void (*pause)(void *ud, int pause);
    /* The turn's appends are about to be committed: put the positions that moved
     * (lc_ingest_set_position), so they go into the same transaction as their lines. */
    void (*flush)(void *ud);
    void *ud;
};

/* Creates the ingest stage appending to SPOOL (which must outlive it). */
struct lc_ingest *lc_ingest_create(uv_loop_t *loop, struct lc_spool *spool);

/* Adds a processor at the end of the list (before lc_ingest_start). STATE stays the
 * caller's. Returns 0, or -E2BIG past LC_INGEST_MAX_PROCESSORS. */
#define LC_INGEST_MAX_PROCESSORS 16
int lc_ingest_add_processor(struct lc_ingest *in, const struct lc_processor_ops *ops, void *state);

/* Attaches an input instance named NAME (its positions' namespace; copied). CBS is copied.
 * Returns its handle, owned by the ingest until lc_ingest_detach or destroy. */
struct lc_ingest_input *lc_ingest_attach(struct lc_ingest *in, const char *name,
                                         const struct lc_ingest_input_cbs *cbs);
/* Detaches and frees SRC (its positions stay in the spool). NULL is a no-op. */
void lc_ingest_detach(struct lc_ingest_input *src);

/* The positions the spool recovered for SRC: a new reference to an object of key (without
 * the namespace) -> JSON text (a string). */
json_t *lc_ingest_positions(struct lc_ingest_input *src);

/* Hands over one line of SRC with META (declared in the spool the first time it is used):
 * the processors see it, then it goes into the current transaction. Returns 1 when it was
 * appended, 0 when a processor dropped it, or -E2BIG for a message above what the spool
 * takes. The line's bytes are the caller's (copied). */
int lc_ingest_add(struct lc_ingest_input *src, struct lc_meta *meta,
                  const struct lc_line_view *line);

/* Sets (VALUE non-NULL) or deletes SRC's position KEY in the current transaction. */
void lc_ingest_set_position(struct lc_ingest_input *src, const char *key, const char *value,
                            size_t vlen);

/* META will not be used again by SRC: it leaves the checkpoints. */
void lc_ingest_forget_meta(struct lc_ingest_input *src, struct lc_meta *meta);

/* Commits now: every input puts its positions, then the transaction goes to the spool;
 * a full spool pauses the inputs. */
void lc_ingest_commit(struct lc_ingest *in);

/* The same, from an input's handle. */
void lc_ingest_commit_from(struct lc_ingest_input *src);

/* The spool has room again: every input goes on. */
void lc_ingest_resume(struct lc_ingest *in);

/* 1 while the inputs are paused. */
int lc_ingest_paused(const struct lc_ingest *in);

/* Starts committing every loop turn. */
void lc_ingest_start(struct lc_ingest *in);

/* Stops: the last appends and positions are committed; nothing is taken after. */
void lc_ingest_stop(struct lc_ingest *in);

/* Frees the ingest (stops it first); its handles close on the next loop turn. The inputs
 * must be detached or not used again. NULL is a no-op. */
void lc_ingest_destroy(struct lc_ingest *in);

#endif
