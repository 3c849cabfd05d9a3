/* spool_reader: reading the spool. A consumer is one output's acknowledged place, kept in
 * a cursor file (data_dir/spool/<name>.cursor: two checksummed slots written in turn, so
 * a write cut short leaves the other one); the spool deletes a segment once every
 * consumer is past it. A reader walks the records from a place, on its own descriptor,
 * rebuilding the container metadata from the META frames: it reads every segment from its
 * start, whose checkpoint declares everything in use, and keeps only the current
 * segment's metadata (so what it holds follows the live containers, not all it ever met).
 * A consumer and its reader belong to one thread; the spool's lock guards what the writer
 * looks at. */
#ifndef LC_SPOOL_READER_H
#define LC_SPOOL_READER_H

#include <stdint.h>

#include "core/record.h"
#include "spool/spool.h"

struct lc_spool_consumer;
struct lc_spool_reader;

/* Opens the consumer NAME: its cursor file, or a new one at the end of the spool (at its
 * oldest record when START_OLDEST). A saved place that no longer exists is moved to the
 * nearest one that does. Registers it with the spool (before lc_spool_start). Returns 0
 * and *OUT, or a negative errno (logged). */
int lc_spool_consumer_open(struct lc_spool *sp, const char *name, int start_oldest,
                           struct lc_spool_consumer **out);

/* Where the consumer stands. */
void lc_spool_consumer_pos(struct lc_spool_consumer *c, struct lc_spool_pos *pos);

/* Acknowledges everything before POS; INDEX is the index of the first record after it and
 * OLDEST_TS the timestamp of the oldest record not acknowledged (0: none). Writes the
 * cursor file (fdatasync'ed when SYNC) and lets the writer delete passed segments.
 * Returns 0 or -errno (the place is kept in memory and written again next time). */
int lc_spool_consumer_ack(struct lc_spool_consumer *c, const struct lc_spool_pos *pos,
                          uint64_t index, int64_t oldest_ts, int sync);

/* Makes the cursor file durable (fdatasync). Returns 0 or -errno. */
int lc_spool_consumer_sync(struct lc_spool_consumer *c);

/* Notes the oldest unacknowledged timestamp without moving (a batch in flight). */
void lc_spool_consumer_set_oldest(struct lc_spool_consumer *c, int64_t oldest_ts);

/* Backlog (records and bytes after the acknowledged place) and the age in seconds of the
 * oldest unacknowledged record (0 when caught up). Thread-safe. */
void lc_spool_consumer_backlog(struct lc_spool_consumer *c, uint64_t *records, uint64_t *bytes,
                               double *oldest_age_s);

/* Unregisters and frees (the cursor file stays). NULL is a no-op. */
void lc_spool_consumer_close(struct lc_spool_consumer *c);

/* Reads the place saved in DIR/<NAME>.cursor. Returns 0, -ENOENT, or -EINVAL. */
int lc_spool_cursor_load(const char *dir, const char *name, struct lc_spool_pos *pos);

/* Creates a reader at POS. Never returns NULL. */
struct lc_spool_reader *lc_spool_reader_create(struct lc_spool *sp, const struct lc_spool_pos *pos);

/* The next log record: 1 and *OUT (a new record owned by the caller; its seq is its index in
 * the spool) with *END the place after it; 0 when there is none for now; or a negative
 * errno when a segment cannot be read (try again later). Damaged frames are skipped and
 * counted. A record whose metadata is unknown (its META frame was damaged) gets metadata
 * named "unknown" rather than being dropped. */
int lc_spool_reader_next(struct lc_spool_reader *r, struct lc_record **out,
                         struct lc_spool_pos *end);

/* The place after the last frame read, and the index of the next record. */
void lc_spool_reader_pos(const struct lc_spool_reader *r, struct lc_spool_pos *pos,
                         uint64_t *index);

/* Damaged frames this reader skipped. */
/* Slots of the reader's metadata table (for the figures: it follows the containers alive,
 * not those ever seen). */
size_t lc_spool_reader_meta_slots(const struct lc_spool_reader *r);

uint64_t lc_spool_reader_skipped(const struct lc_spool_reader *r);

void lc_spool_reader_destroy(struct lc_spool_reader *r);

/* Waits until the spool's end differs from SEEN, lc_spool_wake, or TIMEOUT_MS. */
void lc_spool_wait(struct lc_spool *sp, const struct lc_spool_pos *seen, uint64_t timeout_ms);

/* Wakes every thread in lc_spool_wait. */
void lc_spool_wake(struct lc_spool *sp);

#endif
