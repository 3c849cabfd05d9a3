/* docker: the Docker input. Follows every matching container's stdout and stderr through
 * the Engine API and hands each line to the ingest stage, with the container's position in
 * the same transaction. It owns the API client, the discovery (list, /events, periodic
 * reconcile) and one stream per container. Loop thread only. */
#ifndef LC_DOCKER_H
#define LC_DOCKER_H

#include "core/snapshot.h"
#include "inputs/input.h"

/* The Docker input type: its instance registers its tasks with the supervisor (one per
 * container, docker_events, docker_reconcile), takes the positions the ingest stage
 * recovered (or, once, those of an older logcap's data_dir/positions.json), and connects
 * at start (retrying with backoff until the daemon answers). */
extern const struct lc_input_ops lc_input_docker;

struct lc_docker;

/* Fills the instance's part of a snapshot: its connection state and API errors into SELF,
 * and one entry per captured container appended to SNAP->containers. */
void lc_docker_fill(struct lc_docker *d, struct lc_snapshot *snap, struct lc_input_snap *self);

/* Test hook: wedges the task TASK_ID if it is a container task. Returns 0 or -ENOENT. */
int lc_docker_wedge(struct lc_docker *d, const char *task_id);

#endif
