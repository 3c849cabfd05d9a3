/* input: the interface every input implements, as one static descriptor per input type
 * (registry.h lists them). An input instance reads from its source and hands its lines and
 * positions to the ingest stage through the handle it is given (pipeline/ingest.h): it
 * never touches the spool. All operations run on the loop thread. */
#ifndef LC_INPUT_H
#define LC_INPUT_H

#include <uv.h>

#include "config/config.h"
#include "core/snapshot.h"
#include "pipeline/ingest.h"
#include "supervisor/supervisor.h"

/* What an instance is created with. Everything outlives the instance. */
struct lc_input_ctx {
    uv_loop_t *loop;
    const char *name;            /* the instance's name (its tasks and positions) */
    const struct lc_config *cfg; /* the whole config (host name, data_dir) */
    /* Its own copy of its config section; its type's options are SECTION->opts. */
    const struct lc_input_config *section;
    struct lc_ingest_input *src; /* its handle on the ingest stage */
    struct lc_supervisor *sup;   /* where its tasks are registered */
};

struct lc_input_ops {
    const char *type;
    /* Its options: their table, defaults, help and checks (config_option.h). */
    const struct lc_config_plugin *config;
    /* Creates the instance: takes its recovered positions from CTX->src. Returns its state,
     * or NULL on a fatal error (logged). */
    void *(*create)(const struct lc_input_ctx *ctx);
    /* Starts reading (connects, opens, follows). */
    void (*start)(void *state);
    /* Stops reading and closes every source; its last lines are with the ingest. */
    void (*stop)(void *state);
    /* The spool is full: stop taking lines until resume. */
    void (*pause)(void *state);
    void (*resume)(void *state);
    /* The ingest commits the turn's lines: put the positions that moved. */
    void (*positions)(void *state);
    /* Fills SELF (the daemon set its name and type) and appends what it follows to SNAP
     * (lc_snapshot_add_containers). */
    void (*snapshot)(void *state, struct lc_snapshot *snap, struct lc_input_snap *self);
    /* Test hook: wedges task TASK_ID if it is one of the instance's. Returns 0 or -ENOENT.
     * May be NULL. */
    int (*wedge)(void *state, const char *task_id);
    /* Frees the instance (after stop); its loop handles close on the next turn. */
    void (*destroy)(void *state);
};

#endif
