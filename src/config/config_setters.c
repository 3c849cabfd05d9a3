/* config_setters: the setters of scalar keys (strings, names, booleans, integers,
 * durations, sizes, levels, formats, sync modes, start_at, initial_tail, listen addresses).
 * Each checks one value node, reports what is wrong through the walk, and stores a valid
 * value at its field's offset, replacing and freeing what was there. See config_setters.h. */
#include "config/config_setters.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_schema.h"
#include "base/log.h"
#include "base/util.h"

/* Parses a plain decimal number: no sign, no leading zero, no 0x. */
static int parse_decimal(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0')) {
        return -EINVAL;
    }
    for (; *s != '\0'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (*s < '0' || *s > '9') {
            return -EINVAL;
        }
        if (v > (UINT64_MAX - d) / 10) {
            return -ERANGE;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Formats V with the largest unit of UNITS (largest first) that divides it exactly. */
static const char *with_unit(char *dst, size_t cap, uint64_t v, const char *const *names,
                             const uint64_t *mults, size_t n)
{
    size_t i = 0;

    while (i + 1 < n && (v == 0 || v % mults[i] != 0)) {
        i++;
    }
    snprintf(dst, cap, "%llu%s", (unsigned long long)(v / mults[i]), names[i]);
    return dst;
}

const char *lc_config_fmt_duration(char *dst, size_t cap, uint64_t ms)
{
    static const char *const names[] = {"h", "m", "s", "ms"};
    static const uint64_t mults[] = {3600000, 60000, 1000, 1};
    return with_unit(dst, cap, ms, names, mults, 4);
}

const char *lc_config_fmt_size(char *dst, size_t cap, uint64_t bytes)
{
    static const char *const names[] = {"TiB", "GiB", "MiB", "KiB", "B"};
    static const uint64_t mults[] = {1024 * 1024 * LC_MIB, 1024 * LC_MIB, LC_MIB, LC_KIB, 1};
    return with_unit(dst, cap, bytes, names, mults, 5);
}

void lc_config_set_string(struct lc_config_walk *w, const struct lc_config_option *f,
                          yaml_node_t *v, void *base, const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "a string");

    if (s == NULL) {
        return;
    }
    if (s[0] == '\0' && !(f->flags & LC_OPT_EMPTY_NONE)) {
        lc_config_report(w, lc_config_line(v), path, "must not be empty");
        return;
    }
    free(*LC_CONFIG_AT(base, f, char *));
    *LC_CONFIG_AT(base, f, char *) = s[0] != '\0' ? lc_xstrdup(s) : NULL;
}

/* Output names appear in task ids, log prefixes and metric labels: keep them plain. */
void lc_config_set_name(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    char q[LC_CONFIG_QUOTE_CAP];
    const char *s = lc_config_scalar(w, v, path, "a string");

    if (s == NULL) {
        return;
    }
    if (s[0] == '\0' || strlen(s) > 64 ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(s)) {
        lc_config_report(w, lc_config_line(v), path,
                         "%s must be 1 to 64 letters, digits, '.', '-' or '_'",
                         lc_config_quote_node(q, sizeof q, v));
        return;
    }
    free(*LC_CONFIG_AT(base, f, char *));
    *LC_CONFIG_AT(base, f, char *) = lc_xstrdup(s);
}

void lc_config_set_bool(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    char d[LC_CONFIG_QUOTE_CAP];
    const char *s = lc_config_scalar(w, v, path, "true or false");

    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *LC_CONFIG_AT(base, f, int) = strcasecmp(s, yes[i]) == 0;
            return;
        }
    }
    lc_config_report(w, lc_config_line(v), path, "expected true or false, got %s",
                     lc_config_describe(d, sizeof d, v));
}

void lc_config_set_uint(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    char q[LC_CONFIG_QUOTE_CAP];
    uint64_t u;
    const char *s = lc_config_scalar(w, v, path, "an integer");
    int rc;

    if (s == NULL) {
        return;
    }
    rc = parse_decimal(s, &u);
    if (rc == -EINVAL) {
        lc_config_report(w, lc_config_line(v), path, "expected a decimal integer, got %s",
                         lc_config_quote_node(q, sizeof q, v));
    } else if (rc < 0 || u < f->min || u > f->max) {
        lc_config_report(w, lc_config_line(v), path, "%s is out of range (%llu-%llu)", s,
                         (unsigned long long)f->min, (unsigned long long)f->max);
    } else {
        *LC_CONFIG_AT(base, f, unsigned) = (unsigned)u;
    }
}

void lc_config_set_duration(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path)
{
    char q[LC_CONFIG_QUOTE_CAP], lim[32];
    uint64_t ms = 0;
    const char *s = lc_config_scalar(w, v, path, "a duration (500ms, 30s, 5m, 1h)");
    int rc;

    if (s == NULL) {
        return;
    }
    rc = lc_parse_duration_ms(s, &ms);
    lc_config_quote_node(q, sizeof q, v);
    if (rc == -EINVAL) {
        lc_config_report(w, lc_config_line(v), path,
                         "%s is not a duration (use 500ms, 30s, 5m, 1h)", q);
    } else if (rc < 0 || ms > f->max) {
        lc_config_report(w, lc_config_line(v), path, "%s is too long (at most %s)", q,
                         lc_config_fmt_duration(lim, sizeof lim, f->max));
    } else if (ms == 0) {
        lc_config_report(w, lc_config_line(v), path, "%s must be greater than 0", q);
    } else {
        *LC_CONFIG_AT(base, f, uint64_t) = ms;
    }
}

void lc_config_set_size(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    char q[LC_CONFIG_QUOTE_CAP], lim[32];
    uint64_t bytes = 0;
    const char *s = lc_config_scalar(w, v, path, "a size (64KiB, 1MiB, 100MiB)");
    int rc;

    if (s == NULL) {
        return;
    }
    rc = lc_parse_size(s, &bytes);
    lc_config_quote_node(q, sizeof q, v);
    if (rc == -EINVAL) {
        lc_config_report(w, lc_config_line(v), path, "%s is not a size (use 64KiB, 1MiB, 100MiB)",
                         q);
    } else if (rc < 0 || bytes > f->max) {
        lc_config_report(w, lc_config_line(v), path, "%s is too large (at most %s)", q,
                         lc_config_fmt_size(lim, sizeof lim, f->max));
    } else if (bytes < f->min) {
        lc_config_report(w, lc_config_line(v), path, "%s is too small (at least %s)", q,
                         lc_config_fmt_size(lim, sizeof lim, f->min));
    } else {
        *LC_CONFIG_AT(base, f, uint64_t) = bytes;
    }
}

void lc_config_set_level(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                         void *base, const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "one of error, warn, info, debug");

    if (s != NULL && lc_log_level_parse(s, LC_CONFIG_AT(base, f, enum lc_log_level)) != 0) {
        lc_config_report(w, lc_config_line(v), path, "expected one of error, warn, info, debug");
    }
}

/* An LC_OPT_ENUM key: stores the index of the value in F->names. */
void lc_config_set_enum(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    char what[LC_CONFIG_QUOTE_CAP] = "one of ";
    const char *s;
    size_t n = strlen(what);

    for (size_t i = 0; f->names[i] != NULL; i++) {
        n += (size_t)snprintf(what + n, n < sizeof what ? sizeof what - n : 0, "%s%s",
                              i > 0 ? ", " : "", f->names[i]);
    }
    s = lc_config_scalar(w, v, path, what);
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; f->names[i] != NULL; i++) {
        if (strcmp(s, f->names[i]) == 0) {
            *LC_CONFIG_AT(base, f, int) = (int)i;
            return;
        }
    }
    lc_config_report(w, lc_config_line(v), path, "expected %s", what);
}

void lc_config_set_sync(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "one of always, interval, never");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "always") == 0) {
        *LC_CONFIG_AT(base, f, enum lc_sync_mode) = LC_SYNC_ALWAYS;
    } else if (strcmp(s, "interval") == 0) {
        *LC_CONFIG_AT(base, f, enum lc_sync_mode) = LC_SYNC_INTERVAL;
    } else if (strcmp(s, "never") == 0) {
        *LC_CONFIG_AT(base, f, enum lc_sync_mode) = LC_SYNC_NEVER;
    } else {
        lc_config_report(w, lc_config_line(v), path, "expected one of always, interval, never");
    }
}

/* start_at: where an output with no cursor yet starts reading the spool (stored as
 * start_oldest). */
void lc_config_set_start_at(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "one of end, oldest");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "end") == 0) {
        *LC_CONFIG_AT(base, f, int) = 0;
    } else if (strcmp(s, "oldest") == 0) {
        *LC_CONFIG_AT(base, f, int) = 1;
    } else {
        lc_config_report(w, lc_config_line(v), path, "expected one of end, oldest");
    }
}

void lc_config_set_tail(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    char d[LC_CONFIG_QUOTE_CAP];
    uint64_t u;
    const char *s = lc_config_scalar(w, v, path, "\"all\" or a non-negative integer");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "all") == 0) {
        *LC_CONFIG_AT(base, f, long) = -1;
    } else if (parse_decimal(s, &u) == 0 && u <= LONG_MAX) {
        *LC_CONFIG_AT(base, f, long) = (long)u;
    } else {
        lc_config_report(w, lc_config_line(v), path,
                         "expected \"all\" or a non-negative integer, got %s",
                         lc_config_describe(d, sizeof d, v));
    }
}

/* HOST (N bytes) of "host:port": an IPv4 address, a bracketed IPv6 address, or a name. */
static int listen_host_ok(const char *host, size_t n)
{
    char buf[64];
    unsigned char addr[16];

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        return inet_pton(AF_INET6, buf, addr) == 1;
    }
    if (n == 0 || n >= sizeof buf) {
        return 0;
    }
    memcpy(buf, host, n);
    buf[n] = '\0';
    if (strspn(buf, "0123456789.") == n) {
        return inet_pton(AF_INET, buf, addr) == 1;
    }
    return strspn(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n &&
           buf[0] != '-' && buf[0] != '.';
}

void lc_config_set_listen(struct lc_config_walk *w, const struct lc_config_option *f,
                          yaml_node_t *v, void *base, const char *path)
{
    char q[LC_CONFIG_QUOTE_CAP], p[LC_CONFIG_QUOTE_CAP];
    const char *s = lc_config_scalar(w, v, path, "host:port"), *colon;
    uint64_t port;

    if (s == NULL) {
        return;
    }
    lc_config_quote_node(q, sizeof q, v);
    /* The port follows the last ':' of "host:port" or the ':' after "]" of "[v6]:port". */
    if (s[0] == '[') {
        colon = strstr(s, "]:");
        colon = colon != NULL ? colon + 1 : NULL;
    } else {
        colon = strchr(s, ':');
    }
    if (colon == NULL || strchr(colon + 1, ':') != NULL || colon[1] == '\0' ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        lc_config_report(w, lc_config_line(v), path,
                         "%s is not host:port (e.g. 127.0.0.1:8401, [::1]:8401, localhost:8401)",
                         q);
    } else if (!listen_host_ok(s, (size_t)(colon - s))) {
        lc_config_report(w, lc_config_line(v), path,
                         "%s has an invalid host (use an IPv4 address, [IPv6] or a name)", q);
    } else if (parse_decimal(colon + 1, &port) != 0 || port < 1 || port > 65535) {
        lc_config_report(
            w, lc_config_line(v), path, "port %s is out of range (1-65535)",
            lc_config_printable(p, sizeof p, (const unsigned char *)colon + 1, strlen(colon + 1)));
    } else {
        free(*LC_CONFIG_AT(base, f, char *));
        *LC_CONFIG_AT(base, f, char *) = lc_xstrdup(s);
    }
}

/* ---- mappings of name: value ---- */

#define MAX_MAPPING 1000 /* entries of one mapping; keeps the duplicate check cheap */

/* The name of pair P if it may be added (not empty, not given twice, passing F's check when
 * M asks), with its path in KPATH; else NULL after reporting. */
static const char *mapping_name(struct lc_config_walk *w, const struct lc_config_option *f,
                                const struct lc_config_mapping *m, yaml_node_t *k, const char *path,
                                char *kpath, const char *const *names, const int *lines,
                                size_t count)
{
    char why[2 * LC_CONFIG_QUOTE_CAP];
    const char *name = lc_config_key_text(w, k, path, kpath);

    if (name == NULL) {
        return NULL;
    }
    if (name[0] == '\0') {
        lc_config_report(w, lc_config_line(k), path, "%s", m->empty_key);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(names[i], name) == 0) {
            lc_config_report(w, lc_config_line(k), kpath, "key given twice (also at line %d)",
                             lines[i]);
            return NULL;
        }
    }
    if (m->check_names && f->check != NULL && f->check(&name, why, sizeof why) != 0) {
        lc_config_report(w, lc_config_line(k), kpath, "%s", why);
        return NULL;
    }
    return name;
}

void lc_config_read_mapping(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path,
                            const struct lc_config_mapping *m)
{
    char **list = LC_CONFIG_AT(base, f, char *), kpath[LC_CONFIG_PATH_CAP];
    size_t *count = (size_t *)((char *)base + f->off_n), n;
    int rc = lc_config_open_collection(w, v, YAML_MAPPING_NODE, 1, MAX_MAPPING, path, m->what);
    const char **names;
    int *lines;

    if (rc < 0) {
        return;
    }
    m->free_list(*list, *count);
    *list = NULL;
    *count = 0;
    if (rc == 0) {
        return;
    }
    n = lc_config_collection_size(v);
    *list = lc_xcalloc(n, m->elem);
    names = lc_xcalloc(n, sizeof *names);
    lines = lc_xcalloc(n, sizeof *lines);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = lc_config_node(w, p->key);
        const char *name = mapping_name(w, f, m, k, path, kpath, names, lines, *count);
        if (name != NULL &&
            m->add(w, *list + *count * m->elem, name, lc_config_node(w, p->value), kpath) == 0) {
            names[*count] = name;
            lines[(*count)++] = lc_config_line(k);
        }
    }
    free(names);
    free(lines);
}
