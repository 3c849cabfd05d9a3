/* positions: where each container's capture stands, so a stream reopened with `since`
 * skips exactly what was already taken and never hides a line not yet taken.
 *
 * Docker's `since` is inclusive to the nanosecond, and its timestamps are not monotonic in
 * file order: stdout and stderr are copied by two goroutines, so one stream's lines can
 * land in the file after the other's later-stamped lines (inversions of up to 8 ms were
 * measured). Within ONE stream they are monotonic while the clock runs forward: each
 * copier stamps its messages in the order it writes them. So a position is, per stream,
 * the cut: the timestamp of the last line taken and how many lines were taken at exactly
 * that nanosecond. A resume asks for everything from MARGIN before the newest cut, and
 * drops, per stream, every line older than that stream's cut and the first COUNT lines at
 * the cut itself. This is exact, costs no hashing per line, and keeps O(1) state per
 * container whatever the rate.
 *
 * Three things can make a time-based resume hide a line; the window knows of each:
 *
 * - A line not yet whole (the pieces of a line over 16 KiB being joined) has the
 *   timestamp of its first piece, while lines of the other stream taken meanwhile can be
 *   newer by more than the margin. The window holds the oldest such timestamp (the hold)
 *   and a resume never starts after it.
 *
 * - The clock stepping back (NTP, a VM restored): new lines are stamped before lines
 *   already taken. A cut then follows the last line taken, not the newest, and keeps the
 *   newest timestamp it ever took (max). Timestamps can no longer tell old lines from new
 *   ones, but the file's order can: a stream whose max is past its cut, or past the
 *   present, is replayed by order: everything up to its cut line is dropped, everything
 *   after it is new (a line newer than max can only be new, which also ends the search if
 *   the cut line is gone from Docker's log).
 *
 * - A resume `since` must not start after a line written once the clock stepped back.
 *   Every line written after the last take is stamped no earlier than what the wall clock
 *   read then, which is now minus the time elapsed since, measured on CLOCK_BOOTTIME (the
 *   window keeps the boot-time of the last take, `at`). When that is unknown (another
 *   boot) and the position is ahead of the present, the resume reads from the start.
 *
 * The window belongs to its container. The store file (positions.json) is the format of
 * logcap before the spool; it is still read once, to take positions over. Pure module: no
 * loop, no threads, no clock reads (callers pass the clocks). */
#ifndef LC_DOCKER_POSITIONS_H
#define LC_DOCKER_POSITIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LC_DOCKER_POS_MARGIN_NS (50LL * 1000 * 1000)
#define LC_DOCKER_POS_STREAMS 3 /* indexed by enum lc_stream (1 stdout, 2 stderr); 0 unused */

/* Per stream: the last line taken (-1: none), the lines taken at exactly its timestamp in a
 * row, and the newest timestamp ever taken (above ts only after the clock stepped back). */
struct lc_docker_pos_cut {
    int64_t ts;
    uint32_t count;
    int64_t max;
};

struct lc_docker_pos {
    struct lc_docker_pos_cut cut[LC_DOCKER_POS_STREAMS];
    int64_t margin_ns;
    int64_t floor_ns; /* lines older than this are never taken in a replay (see set_floor) */
    int64_t hold_ns;  /* the oldest line not yet whole; -1 when none */
    int64_t at_ns;    /* CLOCK_BOOTTIME of the last take; 0 when unknown */
    int64_t last_ns;  /* the line taken last, on any stream (-1: none); not saved */
    /* Replay after a reopen: the cut per stream, how many lines at it were seen, and
     * whether the stream is replayed by order (the clock stepped back) and is past it. */
    struct lc_docker_pos_cut replay[LC_DOCKER_POS_STREAMS];
    uint32_t replay_seen[LC_DOCKER_POS_STREAMS];
    uint8_t by_order[LC_DOCKER_POS_STREAMS];
    uint8_t passed[LC_DOCKER_POS_STREAMS];
    int replay_floor;
};

void lc_docker_pos_init(struct lc_docker_pos *w, int64_t margin_ns);
/* Empties W (it stays usable). */
void lc_docker_pos_close(struct lc_docker_pos *w);

/* Records that a line of STREAM with TS_NS was taken (handed to the spool). */
void lc_docker_pos_take(struct lc_docker_pos *w, int64_t ts_ns, int stream);

/* Records the CLOCK_BOOTTIME (ns) at which the last lines were taken. */
void lc_docker_pos_set_at(struct lc_docker_pos *w, int64_t boot_ns);

/* Sets the timestamp of the oldest line not yet whole (-1: none). Returns 1 when it
 * changed (the position must be saved again), else 0. */
int lc_docker_pos_set_hold(struct lc_docker_pos *w, int64_t ts_ns);

/* True when anything was ever taken (or loaded). */
int lc_docker_pos_has_position(const struct lc_docker_pos *w);

/* Timestamp of the last line taken, newest over the streams; -1 when none. */
int64_t lc_docker_pos_newest(const struct lc_docker_pos *w);

/* Timestamp of the line taken last, on any stream (after a load: the newest); -1 when
 * none. The idle probe compares the daemon's newest line with it. */
int64_t lc_docker_pos_last(const struct lc_docker_pos *w);

/* The `since` (nanoseconds, >= 0) to reopen with, given the wall clock now (WALL_NS) and
 * CLOCK_BOOTTIME now (BOOT_NS): MARGIN before the newest cut, never after the hold, the
 * cut of a stream replayed by order, or what the clock read at the last take; 0 when the
 * position is ahead of the present and that reading is unknown. */
int64_t lc_docker_pos_since(const struct lc_docker_pos *w, int64_t wall_ns, int64_t boot_ns);

/* Lines with a timestamp below FLOOR_NS are never taken in a replay. A capture that began
 * with `tail=N` sets it to the first line it took, so a resume from a margin earlier does
 * not pick up the lines before the tail that the user chose to skip. */
void lc_docker_pos_set_floor(struct lc_docker_pos *w, int64_t floor_ns);

/* Prepares for a stream reopened at lc_docker_pos_since(): what was taken up to now will
 * be sent again and must be recognised. WALL_NS and BOOT_NS: the clocks now, which tell
 * whether the wall clock stepped back since the lines were taken. */
void lc_docker_pos_begin_replay(struct lc_docker_pos *w, int64_t wall_ns, int64_t boot_ns);

/* True when the replay begun last goes by the file's order (the clock stepped back). */
int lc_docker_pos_replay_by_order(const struct lc_docker_pos *w);

/* During a replay: returns 1 when the line of STREAM at TS_NS was taken before (or lies
 * below the floor), 0 when it is new. Lines must come in the daemon's order. */
int lc_docker_pos_seen(struct lc_docker_pos *w, int64_t ts_ns, int stream);

/* The state as JSON {"stdout":[ts,count(,max)],"stderr":[...],"floor":ns,"hold":ns,
 * "at":ns} (a stream never taken and unset values are left out); new reference. */
json_t *lc_docker_pos_to_json(const struct lc_docker_pos *w);

/* The state as the JSON text of lc_docker_pos_to_json, written into BUF (CAP bytes)
 * without building a jansson tree: it goes into the spool with every append of the
 * container's lines. Returns its length, or 0 when CAP is too small (LC_DOCKER_POS_JSON_MAX
 * always suffices). */
#define LC_DOCKER_POS_JSON_MAX 256
size_t lc_docker_pos_format(const struct lc_docker_pos *w, char *buf, size_t cap);

/* Loads state saved by lc_docker_pos_to_json into an empty window. Returns 0 or -EINVAL
 * on a malformed object (the window stays empty). */
int lc_docker_pos_from_json(struct lc_docker_pos *w, const json_t *obj);

/* ---- the store file of older versions ------------------------------------------------ */

/* Loads PATH: on success *OUT is {"version":1,"containers":{id: {...}}} (new reference).
 * A missing file gives -ENOENT; a damaged one -EINVAL (logged by the caller). */
int lc_docker_positions_load(const char *path, json_t **out);

/* Parses the text of a store file (for the loader and the fuzz target). */
int lc_docker_positions_parse(const char *text, size_t len, json_t **out);

/* Serialises a store document. Returns a heap string (caller frees). */
char *lc_docker_positions_dump(const json_t *doc, size_t *len);

#endif
