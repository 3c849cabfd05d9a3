/* positions: where each container's capture stands, and the record of what was already
 * taken near that point, so a stream reopened with `since` skips exactly what was taken.
 *
 * Docker's `since` is inclusive to the nanosecond and its timestamps are not monotonic in
 * file order (stdout and stderr are copied separately; inversions of up to 8 ms were
 * measured), so a resume asks for everything from MARGIN before the newest line taken and
 * drops the lines whose fingerprint (timestamp, stream, content hash) was already taken.
 *
 * A window (one per container, owned by the container) keeps, in take order, one entry per
 * line taken: its pipeline sequence number, timestamp and fingerprint. Entries become
 * committed when the outputs acknowledged their sequence number; committed entries older
 * than MARGIN before the newest committed line are forgotten. Only committed state is
 * saved, so a saved position never runs ahead of what the outputs wrote.
 *
 * The store is one JSON file in data_dir, replaced atomically. Pure module: no loop, no
 * threads. */
#ifndef LC_POSITIONS_H
#define LC_POSITIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LC_POS_MARGIN_NS (50LL * 1000 * 1000)

struct lc_pos_entry {
    uint64_t seq;
    int64_t ts_ns;
    uint64_t fp;
};

struct lc_pos_fp {
    uint64_t fp;
    uint32_t count;
};

struct lc_pos_window {
    struct lc_pos_entry *ents; /* ring buffer */
    size_t head, len, cap;
    size_t n_committed;       /* entries at the front that are committed */
    int64_t taken_max_ts;     /* newest timestamp taken, committed or not; -1 = none */
    int64_t committed_max_ts; /* newest committed timestamp; -1 = none */
    int64_t margin_ns;
    int64_t floor_ns; /* lines older than this are never taken (see set_floor) */
    /* Replay: fingerprints that a reopened stream will send again, sorted by fp. */
    struct lc_pos_fp *replay;
    size_t n_replay;
    size_t replay_left; /* occurrences not yet seen again */
    int64_t replay_max_ts;
};

void lc_pos_window_init(struct lc_pos_window *w, int64_t margin_ns);
void lc_pos_window_close(struct lc_pos_window *w);

/* Fingerprint of a line. */
uint64_t lc_pos_fingerprint(int64_t ts_ns, int stream, const char *msg, size_t len);

/* Records that the line with SEQ, TS_NS and FP was taken (handed to the pipeline). */
void lc_pos_window_take(struct lc_pos_window *w, uint64_t seq, int64_t ts_ns, uint64_t fp);

/* Marks every entry with a sequence number <= SEQ committed and forgets committed entries
 * older than the margin. Returns 1 when the committed position moved (save it), else 0. */
int lc_pos_window_commit(struct lc_pos_window *w, uint64_t seq);

/* True when anything was ever taken (or loaded). */
int lc_pos_window_has_position(const struct lc_pos_window *w);

/* The `since` (nanoseconds) to reopen with: margin before the newest line taken (>= 0). */
int64_t lc_pos_window_since(const struct lc_pos_window *w);

/* Lines with a timestamp below FLOOR_NS are never taken. A capture that began with
 * `tail=N` sets it to the first line it took, so a resume from a margin earlier does not
 * pick up the lines before the tail that the user chose to skip. */
void lc_pos_window_set_floor(struct lc_pos_window *w, int64_t floor_ns);

/* True when a line at TS_NS is below the floor. */
int lc_pos_window_below_floor(const struct lc_pos_window *w, int64_t ts_ns);

/* Prepares for a stream reopened at lc_pos_window_since(): every entry at or after it
 * will be sent again by the daemon and must be recognised. */
void lc_pos_window_begin_replay(struct lc_pos_window *w);

/* During a replay: returns 1 when the line was taken before (and consumes one occurrence),
 * 0 when it is new. */
int lc_pos_window_seen(struct lc_pos_window *w, int64_t ts_ns, uint64_t fp);

/* Committed state as JSON {"ts": <int ns>, "fps": ["<16 hex>", ...][, "floor": <int ns>]};
 * new reference. */
json_t *lc_pos_window_to_json(const struct lc_pos_window *w);

/* Loads committed state saved by lc_pos_window_to_json into an empty window. Returns 0 or
 * -EINVAL on a malformed object (the window stays empty). */
int lc_pos_window_from_json(struct lc_pos_window *w, const json_t *obj);

/* ---- the store file --------------------------------------------------------------- */

/* Loads PATH: on success *OUT is {"version":1,"containers":{id: {...}}} (new reference).
 * A missing file gives -ENOENT; a damaged one -EINVAL (logged by the caller). */
int lc_positions_load(const char *path, json_t **out);

/* Parses the text of a store file (for the loader and the fuzz target). */
int lc_positions_parse(const char *text, size_t len, json_t **out);

/* Serialises a store document. Returns a heap string (caller frees). */
char *lc_positions_dump(const json_t *doc, size_t *len);

#endif
