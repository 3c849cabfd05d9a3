/* deadletter: the records an output's destination refused for good, kept in
 * data_dir/dead/<output>.jsonl, one JSON object per line:
 *
 *   {"time":"<when it was refused>","output":"loki","reason":"...","attempts":3,
 *    "ts_ns":1795350317317055337,"record":{<the record as the file output writes it>}}
 *
 * Appends are fdatasync'ed, and the directory entries leading to the file fsync'ed, before
 * the caller moves its cursor, so a refused record is never lost, not even to a power loss;
 * the replay's renames and removals are synced the same way. A replay renames the file to
 * <output>.jsonl.replay, sends its records again, and deletes it when done; records refused again
 * are appended to a fresh .jsonl. A replay cut short by a crash is put back (appended to the
 * .jsonl) at the next start. Owns nothing between calls; every function is safe to call from any
 * one thread per output. */
#ifndef LC_DEADLETTER_H
#define LC_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

/* Appends N records; REASONS[i] (may be NULL) says why record i was refused, else
 * REASON. ATTEMPTS is how many sends were tried. Returns 0 or -errno (nothing may be
 * assumed written then: try again). */
int lc_delivery_dead_append(const char *data_dir, const char *output, struct lc_record *const *recs,
                            size_t n, char *const *reasons, const char *reason, unsigned attempts);

/* Records in the output's dead-letter file now (counted by lines; 0 when there is none). */
uint64_t lc_delivery_dead_count(const char *data_dir, const char *output);

/* Puts back a replay file a crash left behind. Returns 0 or -errno. */
int lc_delivery_dead_recover(const char *data_dir, const char *output);

/* Sends a batch of replayed records: returns 0 when the batch is done with (delivered, or
 * refused again and appended by the callee), or a negative errno to stop the replay. */
typedef int (*lc_delivery_dead_send_fn)(void *ud, struct lc_record **recs, size_t n);

struct lc_delivery_dead_replay_stats {
    uint64_t records; /* read from the file and handed to SEND */
    uint64_t invalid; /* lines that were not a record (kept in the .jsonl.bad file) */
};

/* Replays the output's dead-letter file in batches of at most BATCH records. Returns 0
 * (the replay file is gone), -ENOENT when there was nothing to replay, or the error that
 * stopped it (what was not sent stays in the replay file and is put back). */
int lc_delivery_dead_replay(const char *data_dir, const char *output, size_t batch,
                            lc_delivery_dead_send_fn send, void *ud,
                            struct lc_delivery_dead_replay_stats *st);

struct lc_buf;

/* Appends the dead-letter line of R (with its '\n') to B: NOW is when it was refused
 * (RFC 3339 text), REASON why. Returns 0, or -E2BIG (B's cap; B may then hold part of the
 * line). For lc_delivery_dead_append and the fuzz target. */
int lc_delivery_dead_encode(struct lc_buf *b, const char *now, const char *output,
                            const struct lc_record *r, const char *reason, unsigned attempts);

/* Parses one dead-letter line into a record (one reference on new metadata). Returns NULL
 * when the line is not a dead-letter record. For the replay and the fuzz target. */
struct lc_record *lc_delivery_dead_parse(const char *line, size_t len);

#endif
