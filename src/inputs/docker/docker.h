/* docker: the Docker input. Follows every matching container's stdout and stderr through
 * the Engine API and appends each line to the spool, with the container's position in the
 * same append. It owns the API client, the discovery (list, /events, periodic reconcile)
 * and one stream per container; it is the spool's appender. Loop thread only. */
#ifndef LC_DOCKER_H
#define LC_DOCKER_H

#include <uv.h>

#include "config/config.h"
#include "spool/spool.h"
#include "core/snapshot.h"
#include "supervisor/supervisor.h"

struct lc_docker;

/* Creates the input. CFG, SPOOL and SUP must outlive it; it registers its tasks with SUP
 * (one per container, docker_events, docker_reconcile). Takes the positions the spool
 * recovered (or, once, those of an older logcap's data_dir/positions.json). Returns NULL
 * on a fatal error (logged). */
struct lc_docker *lc_docker_create(uv_loop_t *loop, const struct lc_config *cfg,
                                   struct lc_spool *spool, struct lc_supervisor *sup);

/* Fills the Docker part of a snapshot: connection state, API errors, and one entry per
 * captured container (SNAP->containers is allocated here, owned by the snapshot). */
void lc_docker_fill(struct lc_docker *d, struct lc_snapshot *snap);

/* Test hook: wedges the task TASK_ID if it is a container task. Returns 0 or -ENOENT. */
int lc_docker_wedge(struct lc_docker *d, const char *task_id);

/* Connects to the daemon (retrying with backoff until it answers) and starts following. */
void lc_docker_start(struct lc_docker *d);

/* Stops taking lines: closes every stream and timer, and hands the last lines and
 * positions to the spool. */
void lc_docker_stop(struct lc_docker *d);

/* The spool has room again: the paused streams go on. Loop thread. */
void lc_docker_on_resume(struct lc_docker *d);

/* Frees everything (after lc_docker_stop); handles close on the next loop turn. */
void lc_docker_destroy(struct lc_docker *d);

#endif
