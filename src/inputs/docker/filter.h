/* filter: decides which containers logcap captures, from the docker.include_* and
 * docker.exclude_* settings, and never logcap's own container. Pure: no allocation, no
 * state. */
#ifndef LC_DOCKER_FILTER_H
#define LC_DOCKER_FILTER_H

#include <stddef.h>

#include "inputs/docker/docker_config.h"

struct lc_docker_kv {
    const char *key;
    const char *value;
};

/* Returns 1 when a container named NAME (no leading '/') with LABELS is captured:
 * - include_names empty, or NAME matches one of its globs (fnmatch), and
 * - NAME matches none of exclude_names, and
 * - every include_labels entry is present with an equal value ("*": any value), and
 * - no exclude_labels entry is present with an equal value ("*": any value).
 * Returns 0 otherwise. */
int lc_docker_filter_match(const struct lc_docker_config *dc, const char *name,
                           const struct lc_docker_kv *labels, size_t n_labels);

/* Finds in MOUNTINFO (the text of /proc/self/mountinfo) the id of the container this
 * process runs in, into OUT ("" when none: not in a Docker container). Docker bind-mounts
 * /etc/hostname, /etc/hosts and /etc/resolv.conf from <data-root>/containers/<id>/; a
 * path with another container's id may show up too (a volume), so those three mount points
 * are asked first, any mount second. */
void lc_docker_filter_self_id(const char *mountinfo, char out[65]);

/* Returns 1 when the container ID named NAME with LABELS is captured: never when ID is
 * SELF_ID (logcap's own container, "" when none) whatever the settings say, since its
 * output may be the stdout output and capturing it would feed every line back into the
 * spool, each capture capturing itself again; else as lc_docker_filter_match. */
int lc_docker_filter_wanted(const struct lc_docker_config *dc, const char *self_id, const char *id,
                            const char *name, const struct lc_docker_kv *labels, size_t n_labels);

#endif
