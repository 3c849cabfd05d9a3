/* docker: the Docker input. Follows every matching container's stdout and stderr through
 * the Engine API and hands each line to the pipeline as a record. It owns the API
 * client, the discovery (list, /events, periodic reconcile), one stream per container,
 * and the positions store (data_dir/positions.json). Loop thread only. */
#ifndef LC_DOCKER_H
#define LC_DOCKER_H

#include <uv.h>

#include "core/config.h"
#include "core/pipeline.h"
#include "core/snapshot.h"
#include "core/supervisor.h"

struct lc_docker;

/* Creates the input. CFG, PIPELINE and SUP must outlive it; it registers its tasks with
 * SUP (one per container, docker_events, docker_reconcile). Loads the positions store; a
 * damaged store is logged and set aside (renamed *.bad), not fatal. Returns NULL on a
 * fatal error (logged). */
struct lc_docker *lc_docker_create(uv_loop_t *loop, const struct lc_config *cfg,
                                   struct lc_pipeline *pipeline, struct lc_supervisor *sup);

/* Fills the Docker part of a snapshot: connection state, API errors, and one entry per
 * captured container (SNAP->containers is allocated here, owned by the snapshot). */
void lc_docker_fill(struct lc_docker *d, struct lc_snapshot *snap);

/* Test hook: wedges the task TASK_ID if it is a container task. Returns 0 or -ENOENT. */
int lc_docker_wedge(struct lc_docker *d, const char *task_id);

/* Connects to the daemon (retrying with backoff until it answers) and starts following. */
void lc_docker_start(struct lc_docker *d);

/* Stops taking lines: closes every stream and timer. Positions can still be committed. */
void lc_docker_stop(struct lc_docker *d);

/* Pipeline callbacks (pass D as their user data). */
void lc_docker_on_commit(void *d, uint64_t seq);
void lc_docker_on_resume(void *d);

/* Writes the positions of everything committed, synchronously. Returns 0 or -errno. */
int lc_docker_save_positions(struct lc_docker *d);

/* Frees everything (after lc_docker_stop); handles close on the next loop turn. */
void lc_docker_destroy(struct lc_docker *d);

#endif
