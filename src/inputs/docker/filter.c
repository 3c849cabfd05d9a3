/* filter: decides which containers logcap captures, from the docker.include_* and
 * docker.exclude_* settings (see filter.h). Pure: no allocation, no state. */
#include "inputs/docker/filter.h"

#include <fnmatch.h>
#include <string.h>

/* Returns 1 when NAME matches one of the N glob patterns. */
static int name_matches(char *const *globs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (fnmatch(globs[i], name, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Returns 1 when LABELS hold M's key with M's value, or with any value when M's is "*". */
static int label_matches(const struct lc_label_match *m, const struct lc_docker_kv *labels,
                         size_t n_labels)
{
    for (size_t i = 0; i < n_labels; i++) {
        const char *value = labels[i].value != NULL ? labels[i].value : "";
        if (labels[i].key == NULL || strcmp(labels[i].key, m->key) != 0) {
            continue;
        }
        if (strcmp(m->value, "*") == 0 || strcmp(m->value, value) == 0) {
            return 1;
        }
    }
    return 0;
}

int lc_docker_filter_match(const struct lc_docker_config *dc, const char *name,
                           const struct lc_docker_kv *labels, size_t n_labels)
{
    /* Docker reports names as "/web-1"; the patterns are written without the '/'. */
    if (name == NULL) {
        name = "";
    } else if (name[0] == '/') {
        name++;
    }
    if (dc->n_include_names > 0 && !name_matches(dc->include_names, dc->n_include_names, name)) {
        return 0;
    }
    if (name_matches(dc->exclude_names, dc->n_exclude_names, name)) {
        return 0;
    }
    for (size_t i = 0; i < dc->n_include_labels; i++) {
        if (!label_matches(&dc->include_labels[i], labels, n_labels)) {
            return 0;
        }
    }
    for (size_t i = 0; i < dc->n_exclude_labels; i++) {
        if (label_matches(&dc->exclude_labels[i], labels, n_labels)) {
            return 0;
        }
    }
    return 1;
}
