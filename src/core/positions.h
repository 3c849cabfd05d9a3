/* positions: where each container's capture stands, so a stream reopened with `since`
 * skips exactly what was already taken.
 *
 * Docker's `since` is inclusive to the nanosecond, and its timestamps are not monotonic in
 * file order: stdout and stderr are copied by two goroutines, so one stream's lines can
 * land in the file after the other's later-stamped lines (inversions of up to 8 ms were
 * measured). Within ONE stream they are monotonic: each copier stamps its messages in the
 * order it writes them. So a position is, per stream, the newest timestamp taken and how
 * many lines were taken at exactly that nanosecond. A resume asks for everything from
 * MARGIN before the newest line taken on any stream, and drops, per stream, every line
 * older than that stream's cutoff and the first COUNT lines at the cutoff itself. This is
 * exact, costs no hashing per line, and keeps O(1) state per container whatever the rate
 * (a fingerprint set for the margin grew with the write rate: 11 MB with 50 busy
 * containers).
 *
 * A window (one per container, owned by the container) also queues one small entry per
 * line not yet acknowledged by the outputs; an acknowledgement folds the entries up to its
 * sequence number into the committed position. Only committed state is saved, so a saved
 * position never runs ahead of what the outputs wrote.
 *
 * The store is one JSON file in data_dir, replaced atomically. Pure module: no loop, no
 * threads. */
#ifndef LC_POSITIONS_H
#define LC_POSITIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LC_POS_MARGIN_NS (50LL * 1000 * 1000)
#define LC_POS_STREAMS 3 /* indexed by enum lc_stream (1 stdout, 2 stderr); 0 unused */

/* Per stream: the newest timestamp taken (-1: none) and the lines taken at exactly it. */
struct lc_pos_cut {
    int64_t ts;
    uint32_t count;
};

struct lc_pos_entry {
    uint64_t seq;
    int64_t ts_ns;
    uint8_t stream;
};

struct lc_pos_window {
    struct lc_pos_entry *ents; /* ring of lines taken but not yet committed */
    size_t head, len, cap;
    struct lc_pos_cut taken[LC_POS_STREAMS]; /* including uncommitted lines */
    struct lc_pos_cut committed[LC_POS_STREAMS];
    int64_t margin_ns;
    int64_t floor_ns; /* lines older than this are never taken (see set_floor) */
    /* Replay after a reopen: the cut per stream and how many lines at it were seen. */
    struct lc_pos_cut replay[LC_POS_STREAMS];
    uint32_t replay_seen[LC_POS_STREAMS];
};

void lc_pos_window_init(struct lc_pos_window *w, int64_t margin_ns);
void lc_pos_window_close(struct lc_pos_window *w);

/* Records that a line of STREAM with SEQ and TS_NS was taken (handed to the pipeline). */
void lc_pos_window_take(struct lc_pos_window *w, uint64_t seq, int64_t ts_ns, int stream);

/* Folds every line with a sequence number <= SEQ into the committed position. Returns 1
 * when the committed position moved (save it), else 0. */
int lc_pos_window_commit(struct lc_pos_window *w, uint64_t seq);

/* True when anything was ever taken (or loaded). */
int lc_pos_window_has_position(const struct lc_pos_window *w);

/* Newest timestamp taken on any stream, -1 when none. */
int64_t lc_pos_window_newest(const struct lc_pos_window *w);

/* Newest committed timestamp on any stream, -1 when none. */
int64_t lc_pos_window_committed_newest(const struct lc_pos_window *w);

/* The `since` (nanoseconds) to reopen with: margin before the newest line taken (>= 0). */
int64_t lc_pos_window_since(const struct lc_pos_window *w);

/* Lines with a timestamp below FLOOR_NS are never taken. A capture that began with
 * `tail=N` sets it to the first line it took, so a resume from a margin earlier does not
 * pick up the lines before the tail that the user chose to skip. */
void lc_pos_window_set_floor(struct lc_pos_window *w, int64_t floor_ns);

/* True when a line at TS_NS is below the floor. */
int lc_pos_window_below_floor(const struct lc_pos_window *w, int64_t ts_ns);

/* Prepares for a stream reopened at lc_pos_window_since(): what was taken up to now will
 * be sent again and must be recognised. */
void lc_pos_window_begin_replay(struct lc_pos_window *w);

/* During a replay: returns 1 when the line of STREAM at TS_NS was taken before (one of the
 * COUNT lines at a cut is consumed), 0 when it is new. */
int lc_pos_window_seen(struct lc_pos_window *w, int64_t ts_ns, int stream);

/* Committed state as JSON {"stdout":[ts,count],"stderr":[ts,count][,"floor":ns]} (a
 * stream never taken is left out); new reference. */
json_t *lc_pos_window_to_json(const struct lc_pos_window *w);

/* The committed state as the JSON text of lc_pos_window_to_json, written into BUF (CAP
 * bytes) without building a jansson tree: it goes into the spool with every append of the
 * container's lines. Returns its length, or 0 when CAP is too small (LC_POS_JSON_MAX
 * always suffices). */
#define LC_POS_JSON_MAX 160
size_t lc_pos_window_format(const struct lc_pos_window *w, char *buf, size_t cap);

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
