/* filter: decides which containers logcap captures, from the docker.include_* and
 * docker.exclude_* settings. Pure: no allocation, no state. */
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

#endif
