/* filter: decides which containers logcap captures, from the docker.include_* and
 * docker.exclude_* settings, and logcap's own container (see filter.h). Pure: no
 * allocation, no state. */
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

/* ---- logcap's own container ---- */

#define ID_LEN 64

/* Copies into OUT the id of the first "/containers/<64 hex>/" in [P, END), if any. */
static int id_in(const char *p, const char *end, char out[65])
{
    static const char dir[] = "/containers/";
    size_t dl = sizeof(dir) - 1;

    for (; p + dl + ID_LEN < end; p++) {
        size_t i = 0;
        if (memcmp(p, dir, dl) != 0) {
            continue;
        }
        while (i < ID_LEN && strchr("0123456789abcdef", p[dl + i]) != NULL && p[dl + i] != 0) {
            i++;
        }
        if (i == ID_LEN && p[dl + ID_LEN] == '/') {
            memcpy(out, p + dl, ID_LEN);
            out[ID_LEN] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Whether the mountinfo line [LINE, END)'s mount point (its fifth field) is one of the
 * files Docker mounts from the container's own directory. */
static int docker_own_mount(const char *line, const char *end)
{
    static const char *const own[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    const char *p = line, *q;

    for (int field = 0; field < 4; field++) {
        p = memchr(p, ' ', (size_t)(end - p));
        if (p == NULL) {
            return 0;
        }
        p++;
    }
    q = memchr(p, ' ', (size_t)(end - p));
    q = q != NULL ? q : end;
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        if ((size_t)(q - p) == strlen(own[i]) && memcmp(p, own[i], (size_t)(q - p)) == 0) {
            return 1;
        }
    }
    return 0;
}

void lc_docker_filter_self_id(const char *mountinfo, char out[65])
{
    const char *all_end = mountinfo + strlen(mountinfo);

    out[0] = '\0';
    for (const char *line = mountinfo; line < all_end;) {
        const char *end = memchr(line, '\n', (size_t)(all_end - line));
        end = end != NULL ? end : all_end;
        if (docker_own_mount(line, end) && id_in(line, end, out)) {
            return;
        }
        line = end + 1;
    }
    id_in(mountinfo, all_end, out); /* an older layout: any mount of a container's directory */
}

int lc_docker_filter_wanted(const struct lc_docker_config *dc, const char *self_id, const char *id,
                            const char *name, const struct lc_docker_kv *labels, size_t n_labels)
{
    if (self_id[0] != '\0' && strcmp(id, self_id) == 0) {
        return 0;
    }
    return lc_docker_filter_match(dc, name, labels, n_labels);
}
