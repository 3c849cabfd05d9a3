/* docker_int: the state shared by the Docker input's files (docker.c owns the input and
 * the container table, discovery.c talks to the daemon about containers, stream.c runs
 * each container's log stream). Not for use outside src/inputs/docker/. */
#ifndef LC_DOCKER_INT_H
#define LC_DOCKER_INT_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "config/config.h"
#include "inputs/docker/positions.h"
#include "core/record.h"
#include "core/snapshot.h"
#include "supervisor/supervisor.h"
#include "inputs/docker/client.h"
#include "inputs/docker/docker.h"
#include "inputs/docker/docker_config.h"
#include "pipeline/ingest.h"
#include "inputs/docker/lines.h"
#include "inputs/tail.h"

enum lc_docker_cstate {
    LC_DOCKER_C_IDLE = 0, /* read to the end; waiting for a start */
    LC_DOCKER_C_FOLLOW,   /* follow stream open */
    LC_DOCKER_C_DRAIN,    /* follow=0 request reading what the daemon holds */
    LC_DOCKER_C_INSPECT,  /* asking whether it runs, after a drain */
    LC_DOCKER_C_WAIT,     /* backoff before trying again */
};

struct lc_docker_cstats {
    uint64_t lines[3]; /* by stream */
    uint64_t bytes[3];
    uint64_t reconnects;
    uint64_t rotations;
    uint64_t truncated;
    uint64_t decode_errors;
    uint64_t errors;
    uint64_t drains;         /* follow=0 requests (each one a rescan of the log file by dockerd) */
    uint64_t file_rotations; /* files mode: Docker's renames of the log file followed */
    uint64_t lost_files;     /* files mode: log files gone before they were read to the end */
};

struct lc_docker_files;

struct lc_docker_container {
    struct lc_docker_container *next;
    struct lc_docker *d;
    char id[65];
    struct lc_meta *meta; /* NULL while ignored */
    int ignored;          /* filtered out: never streamed */
    int destroyed;        /* the daemon destroyed it: remove once read */
    int running;
    uint64_t added_ms; /* loop time it was added: a list asked for before knows nothing of it */
    enum lc_docker_cstate state;
    long tail;                 /* >= 0: first open takes only the last TAIL lines */
    int64_t floor_since_ns;    /* since for a container whose tail request brought nothing */
    struct lc_docker_req *req; /* follow, drain or inspect request */
    struct lc_docker_req *probe;
    struct lc_buf probe_body;
    struct lc_docker_lines *lines; /* created at the first byte (TTY is told by it) */
    struct lc_docker_lines *stash; /* the ended follow stream's, while a line in it is not whole */
    int drained;                   /* the inspect in flight follows a drain */
    unsigned drains_in_row;        /* drains since the container was last followed or read out */
    int wait_then_drain;           /* LC_DOCKER_C_WAIT ends in a drain (not in an inspect) ... */
    int64_t drain_not_before_ns;   /* ... made no earlier than this (wall clock) */
    uv_timer_t timer;              /* idle deadline, or backoff */
    uint64_t last_data_ms;
    uint64_t backoff_ms;
    uint64_t retry_at_ms;     /* LC_DOCKER_C_WAIT: when to try again */
    int64_t drain_started_ns; /* wall clock when the last logs request started */
    int tail_floor_pending;   /* the next line taken is the first of a tail request */
    int replaying;
    int paused;
    struct lc_docker_pos win;
    struct lc_docker_cstats stats;
    struct lc_task *task;   /* the supervisor's record of this capture */
    double lag_s;           /* spool append time minus the newest line's ts */
    int pos_dirty;          /* its position must go into the next append */
    int taken_since_commit; /* lines taken since its position last went into the spool */
    struct lc_docker_container *dirty_next;
    /* files mode (files.c) */
    struct lc_docker_files *files; /* its json-file log while it is read, else NULL */
    int read_files;                /* read from its file (else through the API) */
    char read_why[96];             /* why through the API when the input reads files */
    struct lc_tail_pos fpos;       /* the file part of its position */
    int has_fpos;
};

struct lc_docker {
    char *name;   /* the instance's name (owned) */
    char tag[80]; /* its log component: "docker" for the input named docker (as earlier
                     versions logged), else "docker/<name>" */
    uv_loop_t *loop;
    struct lc_supervisor *sup;
    struct lc_task *events_task;
    struct lc_task *reconcile_task;
    struct lc_api_errors api_errors;
    int64_t unreachable_since_ns; /* 0 while connected */
    int64_t events_since_ns;      /* when the current event stream was opened */
    const struct lc_config *cfg;
    const struct lc_docker_config *dc;
    struct lc_ingest_input *src; /* its handle on the ingest stage */
    struct lc_docker_client *client;
    struct lc_docker_container *containers;
    size_t n_containers;
    char self_id[65];
    int stopping;
    int paused; /* the ingest stage paused it (the spool is full) */

    /* connection */
    int connected;
    int listed_once;
    uint64_t backoff_ms;
    uv_timer_t reconnect_timer;
    uv_timer_t reconcile_timer;
    uv_timer_t events_timer;
    struct lc_docker_req *events_req;
    struct lc_buf events_buf;
    int64_t last_event_ns;
    int list_in_flight;
    int list_from_timer;
    uint64_t list_started_ms; /* loop time the list in flight was asked for */
    struct lc_docker_req *list_req;
    struct lc_docker_req *version_req;
    unsigned missed_events; /* starts found by the last list but not by events */
    int list_again;

    /* positions: in the spool, with the lines they cover */
    int first_start; /* no container list was ever taken: initial_tail applies */
    json_t *pending; /* positions of containers not seen yet: id -> position object */
    struct lc_docker_container *dirty; /* containers whose position must go into the next append */
    char boot_id[40];                  /* this boot's id, "" when unknown */
    int positions_other_boot;          /* the saved positions' boot-times are of another boot */
    char *legacy_path;                 /* positions.json of an older logcap, moved into the spool */
    int destroyed;
    int open_handles;
    uv_idle_t files_idle;   /* files mode: reads on while a container has more than a turn's */
    uv_timer_t files_timer; /* files mode: reads the files that changed, a batch at a time */
    struct lc_docker_files *changed; /* files mode: the files that changed since the batch */
    uv_fs_event_t root_ev;           /* files mode: <root>/containers (preopen.c) */
    struct lc_docker_preopen *preopen;
    size_t n_preopen;
};

/* docker.c */
struct lc_docker_container *lc_docker_find(struct lc_docker *d, const char *id);
struct lc_docker_container *lc_docker_add(struct lc_docker *d, const char *id, const char *name,
                                          const char *image, json_t *labels, int running);
void lc_docker_remove(struct lc_docker *d, struct lc_docker_container *c);
/* The daemon names C anew (a rename, or labels learnt from the list): the filters are
 * applied again (C starts or stops being captured) and its metadata is refreshed. */
void lc_docker_update(struct lc_docker *d, struct lc_docker_container *c, const char *name,
                      const char *image, json_t *labels);
/* C's position must go into the next append (it moved, or its hold changed). */
void lc_docker_mark_dirty(struct lc_docker *d, struct lc_docker_container *c);
/* CLOCK_BOOTTIME in nanoseconds: a position's boot-time of its last take. */
int64_t lc_docker_boot_ns(void);
/* Takes one line of C: hands it to the ingest stage and moves C's position. */
void lc_docker_take(struct lc_docker *d, struct lc_docker_container *c,
                    const struct lc_docker_line *l);
/* Takes line L of C, read from the API or from its file, unless a replay finds it taken
 * before (the first line of a tail request sets the floor): the line and its counts.
 * Returns 1 when it was taken, 0 when it was seen already. */
int lc_docker_take_unseen(struct lc_docker_container *c, const struct lc_docker_line *l);
/* After the first list: positions of containers that are gone are dropped, and the spool
 * records that the first list happened (initial_tail never applies again). */
void lc_docker_first_list_done(struct lc_docker *d);

/* discovery.c */
void lc_docker_discovery_connect(struct lc_docker *d);
void lc_docker_discovery_stop(struct lc_docker *d);
void lc_docker_discovery_lost(struct lc_docker *d, const char *why);
/* The supervisor's restarts of the events and reconcile tasks. */
void lc_docker_discovery_restart_events(void *d);
void lc_docker_discovery_restart_reconcile(void *d);

/* files.c: a container read from its json-file log (docker.read: auto or files) */
/* Starts reading C from its file when the input reads files and the file is readable:
 * returns 1 (C is read from its file now), or 0 (the API is used; C->read_why says why). */
int lc_docker_files_begin(struct lc_docker_container *c);
/* The container stopped: its file is read to the end and closed until it starts again. */
void lc_docker_files_on_die(struct lc_docker_container *c);
/* The container is gone: its file (open, or deleted) is read to the end and C removed. */
void lc_docker_files_gone(struct lc_docker_container *c);
void lc_docker_files_pause(struct lc_docker_container *c, int pause);
/* Stops reading C's file and frees its state (the watch closes on the next turn). */
void lc_docker_files_close(struct lc_docker_container *c);
/* Takes the file part of a saved position ({"file":{...}}); returns 1 when there is one. */
int lc_docker_files_adopt(struct lc_docker_container *c, const json_t *saved);
/* Appends C's file part to the position text BUF (LEN bytes, ending in '}', CAP bytes of
 * room). Returns the new length (LEN when there is nothing to add or no room). */
size_t lc_docker_files_position(const struct lc_docker_container *c, char *buf, size_t len,
                                size_t cap);
/* Reads on for a container whose last read stopped at its budget. */
void lc_docker_files_poll_more(struct lc_docker_container *c);
int lc_docker_files_has_more(const struct lc_docker_container *c);
/* docker.c: a container has more to read: read on at the next loop turns. */
void lc_docker_files_more(struct lc_docker *d);
/* docker.c: a container's file changed: read the changed files within LC_DOCKER_FILES_BATCH_MS. */
void lc_docker_files_soon(struct lc_docker *d);
#define LC_DOCKER_FILES_BATCH_MS 5
/* Reads the files that changed since the last batch (none while the input is paused). */
void lc_docker_files_read_changed(struct lc_docker *d);

/* preopen.c: logs opened when Docker creates them, before the container is known */
struct lc_docker_preopen;
/* Watches <root>/containers (files or auto mode; the API mode opens nothing). */
void lc_docker_preopen_start(struct lc_docker *d);
/* Stops the watch and closes every pre-opened log. */
void lc_docker_preopen_stop(struct lc_docker *d);
/* Closes the pre-opened logs no event or list named within 10 minutes (a container created
 * and never started, or one the input never hears of); each container list calls it. */
void lc_docker_preopen_age_out(struct lc_docker *d);
/* The descriptor of container ID's log opened when it was created (the caller owns it),
 * or -1; while the log does not exist yet, the watch for it goes on. */
int lc_docker_preopen_take(struct lc_docker *d, const char *id);
/* Container ID will not be read from a pre-opened file (filtered out, destroyed). */
void lc_docker_preopen_drop(struct lc_docker *d, const char *id);

/* stream.c */
void lc_docker_stream_init(struct lc_docker_container *c);
/* Starts capture: follow when running, otherwise read what the daemon holds. */
void lc_docker_stream_begin(struct lc_docker_container *c);
/* The container started (again). */
void lc_docker_stream_on_start(struct lc_docker_container *c);
void lc_docker_stream_pause(struct lc_docker_container *c, int pause);
/* The daemon is back: a container waiting out a backoff tries again at once. */
void lc_docker_stream_kick(struct lc_docker_container *c);
/* Cancels everything in flight (no callbacks) and closes the timer; C is freed by
 * lc_docker_remove once the timer is closed. */
void lc_docker_stream_close(struct lc_docker_container *c, uv_close_cb freed);
void lc_docker_stream_cancel(struct lc_docker_container *c);
/* Stops capturing C: everything in flight is cancelled, what is pending dropped, and C is
 * idle. */
void lc_docker_stream_reset(struct lc_docker_container *c);
/* The daemon no longer has C: what its last stream brought of an unfinished line is
 * delivered, and C is removed. */
void lc_docker_stream_gone(struct lc_docker_container *c);
/* The supervisor's restart: tear everything down and begin again from the position. */
void lc_docker_stream_restart(void *container);
/* Test hook: stop working and beating until the supervisor restarts the task. */
void lc_docker_stream_wedge(struct lc_docker_container *c);

#endif
