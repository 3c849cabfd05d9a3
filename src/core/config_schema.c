/* config_schema: the keys of the config file. Each section and output type has a table of
 * known keys (struct field: key, setter, offset, range); walk_map walks a mapping with its
 * table, rejecting unknown and repeated keys, and each setter checks one value node and
 * stores it in the model, replacing and freeing what was there. Every problem is reported
 * through config_yaml and the walk goes on, so one load reports them all. Keys that depend
 * on each other are checked afterwards, in config.c. */
#include "core/config_schema.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"

#define MAX_FIELDS 32    /* keys in one table */
#define MAX_ENTRIES 1000 /* name patterns or labels in one list; keeps duplicate checks cheap */
#define MAX_OUTPUTS 64
#define HOUR_MS (3600ULL * 1000)

struct field;
typedef void (*set_fn)(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path);

/* A known key: SET checks the value node and stores it at BASE + OFF. */
struct field {
    const char *key;
    set_fn set;
    size_t off;
    size_t off_n;            /* lists and label maps: offset of the element count */
    uint64_t min, max;       /* integers, sizes and durations */
    const struct field *sub; /* sections: the keys of the nested mapping */
};

static void set_string(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                       const char *);
static void set_name(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                     const char *);
static void set_bool(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                     const char *);
static void set_uint(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                     const char *);
static void set_duration(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                         const char *);
static void set_size(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                     const char *);
static void set_level(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                      const char *);
static void set_format(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                       const char *);
static void set_sync(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                     const char *);
static void set_start_at(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                         const char *);
static void set_listen(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                       const char *);
static void set_tail(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                     const char *);
static void set_names(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                      const char *);
static void set_labels(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                       const char *);
static void set_section(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                        const char *);
static void set_outputs(struct lc_config_walk *, const struct field *, yaml_node_t *, void *,
                        const char *);

#define CFG(m) offsetof(struct lc_config, m)
#define OUT(m) offsetof(struct lc_output_config, m)

static const struct field api_fields[] = {
    {.key = "listen", .set = set_listen, .off = CFG(api_listen)},
    {.key = "token", .set = set_string, .off = CFG(api_token)},
    {.key = NULL},
};

static const struct field supervisor_fields[] = {
    {.key = "check_interval",
     .set = set_duration,
     .off = CFG(supervisor.check_interval_ms),
     .max = LC_DAY_MS},
    {.key = "task_timeout",
     .set = set_duration,
     .off = CFG(supervisor.task_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "restart_backoff_min",
     .set = set_duration,
     .off = CFG(supervisor.restart_backoff_min_ms),
     .max = LC_DAY_MS},
    {.key = "restart_backoff_max",
     .set = set_duration,
     .off = CFG(supervisor.restart_backoff_max_ms),
     .max = LC_DAY_MS},
    {.key = "loop_stall_timeout",
     .set = set_duration,
     .off = CFG(supervisor.loop_stall_timeout_ms),
     .max = LC_DAY_MS},
    {.key = NULL},
};

static const struct field docker_fields[] = {
    {.key = "enabled", .set = set_bool, .off = CFG(docker.enabled)},
    {.key = "socket", .set = set_string, .off = CFG(docker.socket)},
    {.key = "include_names",
     .set = set_names,
     .off = CFG(docker.include_names),
     .off_n = CFG(docker.n_include_names)},
    {.key = "exclude_names",
     .set = set_names,
     .off = CFG(docker.exclude_names),
     .off_n = CFG(docker.n_exclude_names)},
    {.key = "include_labels",
     .set = set_labels,
     .off = CFG(docker.include_labels),
     .off_n = CFG(docker.n_include_labels)},
    {.key = "exclude_labels",
     .set = set_labels,
     .off = CFG(docker.exclude_labels),
     .off_n = CFG(docker.n_exclude_labels)},
    {.key = "stdout", .set = set_bool, .off = CFG(docker.stdout_enabled)},
    {.key = "stderr", .set = set_bool, .off = CFG(docker.stderr_enabled)},
    {.key = "initial_tail", .set = set_tail, .off = CFG(docker.initial_tail)},
    {.key = "idle_timeout",
     .set = set_duration,
     .off = CFG(docker.idle_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "reconcile_interval",
     .set = set_duration,
     .off = CFG(docker.reconcile_interval_ms),
     .max = LC_DAY_MS},
    {.key = "max_line_bytes",
     .set = set_size,
     .off = CFG(docker.max_line_bytes),
     .min = LC_KIB,
     .max = 64 * LC_MIB},
    {.key = "request_timeout",
     .set = set_duration,
     .off = CFG(docker.request_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "reconnect_backoff_min",
     .set = set_duration,
     .off = CFG(docker.reconnect_min_ms),
     .max = LC_DAY_MS},
    {.key = "reconnect_backoff_max",
     .set = set_duration,
     .off = CFG(docker.reconnect_max_ms),
     .max = LC_DAY_MS},
    {.key = NULL},
};

static const struct field spool_fields[] = {
    {.key = "segment_bytes",
     .set = set_size,
     .off = CFG(spool.segment_bytes),
     .min = 64 * LC_KIB,
     .max = 4096 * LC_MIB},
    {.key = "max_bytes",
     .set = set_size,
     .off = CFG(spool.max_bytes),
     .min = 128 * LC_KIB,
     .max = 16 * 1024 * 1024 * LC_MIB},
    {.key = "sync", .set = set_sync, .off = CFG(spool.sync)},
    {.key = "sync_interval",
     .set = set_duration,
     .off = CFG(spool.sync_interval_ms),
     .max = HOUR_MS},
    {.key = NULL},
};

static const struct field root_fields[] = {
    {.key = "data_dir", .set = set_string, .off = CFG(data_dir)},
    {.key = "log_level", .set = set_level, .off = CFG(log_level)},
    {.key = "hostname", .set = set_string, .off = CFG(hostname)},
    {.key = "api", .set = set_section, .sub = api_fields},
    {.key = "docker", .set = set_section, .sub = docker_fields},
    {.key = "supervisor", .set = set_section, .sub = supervisor_fields},
    {.key = "spool", .set = set_section, .sub = spool_fields},
    {.key = "outputs", .set = set_outputs},
    {.key = NULL},
};

/* Sections of every output. Their offsets are into the output entry: a section is walked
 * with the base of the mapping that holds it. */
static const struct field batch_fields[] = {
    {.key = "max_records",
     .set = set_uint,
     .off = OUT(batch.max_records),
     .min = 1,
     .max = 1000000},
    {.key = "max_bytes",
     .set = set_size,
     .off = OUT(batch.max_bytes),
     .min = LC_KIB,
     .max = 256 * LC_MIB},
    {.key = "max_wait", .set = set_duration, .off = OUT(batch.max_wait_ms), .max = HOUR_MS},
    {.key = NULL},
};

static const struct field retry_fields[] = {
    {.key = "backoff_min", .set = set_duration, .off = OUT(retry.backoff_min_ms), .max = LC_DAY_MS},
    {.key = "backoff_max", .set = set_duration, .off = OUT(retry.backoff_max_ms), .max = LC_DAY_MS},
    /* 0: retry without limit */
    {.key = "max_attempts",
     .set = set_uint,
     .off = OUT(retry.max_attempts),
     .min = 0,
     .max = 1000000},
    {.key = NULL},
};

/* Keys every output has, at the head of every output type's table. Entries and not a second
 * table, because walk_map checks one mapping against one table (one seen[] array, one
 * unknown-key check). */
/* clang-format off */
#define COMMON_OUTPUT_KEYS                                                                         \
    {.key = "type", .set = set_string, .off = OUT(type)},                                          \
    {.key = "name", .set = set_name, .off = OUT(name)},                                            \
    {.key = "batch", .set = set_section, .sub = batch_fields},                                     \
    {.key = "retry", .set = set_section, .sub = retry_fields},                                     \
    {.key = "start_at", .set = set_start_at, .off = OUT(start_oldest)}
/* clang-format on */

/* The only keys checked when the type is missing or unknown. */
static const struct field common_output_fields[] = {
    COMMON_OUTPUT_KEYS,
    {.key = NULL},
};

static const struct field file_output_fields[] = {
    COMMON_OUTPUT_KEYS,
    {.key = "path", .set = set_string, .off = OUT(path)},
    {.key = "format", .set = set_format, .off = OUT(format)},
    {.key = "rotate_bytes",
     .set = set_size,
     .off = OUT(rotate_bytes),
     .min = 4 * LC_KIB,
     .max = 1024 * 1024 * LC_MIB},
    {.key = "max_files", .set = set_uint, .off = OUT(max_files), .min = 1, .max = 1000},
    {.key = "compress", .set = set_bool, .off = OUT(compress)},
    {.key = NULL},
};

/* The output types the config accepts. Kept here rather than taken from outputs/ so that
 * the config module links alone; outputs/registry.c must list the same names. */
static const struct output_type {
    const char *type;
    const struct field *fields;
} output_types[] = {
    {"file", file_output_fields},
};
#define KNOWN_OUTPUT_TYPES "file"

/* walk_map keeps one seen[] slot per entry of a table, terminator included, in an array of
 * MAX_FIELDS. Checked here at compile time: its assert is gone in release (NDEBUG) builds. */
#define TABLE_FITS(t) _Static_assert(sizeof t / sizeof t[0] <= MAX_FIELDS, #t " has too many keys")
TABLE_FITS(api_fields);
TABLE_FITS(supervisor_fields);
TABLE_FITS(docker_fields);
TABLE_FITS(spool_fields);
TABLE_FITS(root_fields);
TABLE_FITS(batch_fields);
TABLE_FITS(retry_fields);
TABLE_FITS(common_output_fields);
TABLE_FITS(file_output_fields);

/* ---- storage: an output entry's defaults, freeing lists ---- */

void lc_config_output_defaults(struct lc_output_config *o, int line)
{
    memset(o, 0, sizeof *o);
    o->line = line;
    o->batch.max_records = 2048;
    o->batch.max_bytes = 4 * LC_MIB;
    o->batch.max_wait_ms = 100;
    o->retry.backoff_min_ms = 500;
    o->retry.backoff_max_ms = 30000;
    o->retry.max_attempts = 0; /* no limit */
    o->start_oldest = 0;       /* start_at: end */
    o->format = LC_FORMAT_JSON;
    o->rotate_bytes = 100 * LC_MIB;
    o->max_files = 10;
    o->compress = 1;
}

void lc_config_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

void lc_config_free_labels(struct lc_label_match *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(labels[i].key);
        free(labels[i].value);
    }
    free(labels);
}

void lc_config_free_outputs(struct lc_output_config *outputs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(outputs[i].type);
        free(outputs[i].name);
        free(outputs[i].path);
    }
    free(outputs);
}

/* ---- scalar setters ---- */

#define AT(base, f, type) ((type *)((char *)(base) + (f)->off))

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

static void set_string(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "a string");

    if (s == NULL) {
        return;
    }
    if (s[0] == '\0') {
        lc_config_report(w, lc_config_line(v), path, "must not be empty");
        return;
    }
    free(*AT(base, f, char *));
    *AT(base, f, char *) = lc_xstrdup(s);
}

/* Output names appear in task ids, log prefixes and metric labels: keep them plain. */
static void set_name(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
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
    free(*AT(base, f, char *));
    *AT(base, f, char *) = lc_xstrdup(s);
}

static void set_bool(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
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
            *AT(base, f, int) = strcasecmp(s, yes[i]) == 0;
            return;
        }
    }
    lc_config_report(w, lc_config_line(v), path, "expected true or false, got %s",
                     lc_config_describe(d, sizeof d, v));
}

static void set_uint(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
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
        *AT(base, f, unsigned) = (unsigned)u;
    }
}

static void set_duration(struct lc_config_walk *w, const struct field *f, yaml_node_t *v,
                         void *base, const char *path)
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
        *AT(base, f, uint64_t) = ms;
    }
}

static void set_size(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
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
        *AT(base, f, uint64_t) = bytes;
    }
}

static void set_level(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                      const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "one of error, warn, info, debug");

    if (s != NULL && lc_log_level_parse(s, AT(base, f, enum lc_log_level)) != 0) {
        lc_config_report(w, lc_config_line(v), path, "expected one of error, warn, info, debug");
    }
}

static void set_format(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "one of json, text");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "json") == 0) {
        *AT(base, f, enum lc_format) = LC_FORMAT_JSON;
    } else if (strcmp(s, "text") == 0) {
        *AT(base, f, enum lc_format) = LC_FORMAT_TEXT;
    } else {
        lc_config_report(w, lc_config_line(v), path, "expected one of json, text");
    }
}

static void set_sync(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "one of always, interval, never");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "always") == 0) {
        *AT(base, f, enum lc_sync_mode) = LC_SYNC_ALWAYS;
    } else if (strcmp(s, "interval") == 0) {
        *AT(base, f, enum lc_sync_mode) = LC_SYNC_INTERVAL;
    } else if (strcmp(s, "never") == 0) {
        *AT(base, f, enum lc_sync_mode) = LC_SYNC_NEVER;
    } else {
        lc_config_report(w, lc_config_line(v), path, "expected one of always, interval, never");
    }
}

/* start_at: where an output with no cursor yet starts reading the spool (stored as
 * start_oldest). */
static void set_start_at(struct lc_config_walk *w, const struct field *f, yaml_node_t *v,
                         void *base, const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "one of end, oldest");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "end") == 0) {
        *AT(base, f, int) = 0;
    } else if (strcmp(s, "oldest") == 0) {
        *AT(base, f, int) = 1;
    } else {
        lc_config_report(w, lc_config_line(v), path, "expected one of end, oldest");
    }
}

static void set_tail(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
{
    char d[LC_CONFIG_QUOTE_CAP];
    uint64_t u;
    const char *s = lc_config_scalar(w, v, path, "\"all\" or a non-negative integer");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "all") == 0) {
        *AT(base, f, long) = -1;
    } else if (parse_decimal(s, &u) == 0 && u <= LONG_MAX) {
        *AT(base, f, long) = (long)u;
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

static void set_listen(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
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
        free(*AT(base, f, char *));
        *AT(base, f, char *) = lc_xstrdup(s);
    }
}

/* ---- collections ---- */

static void set_names(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                      const char *path)
{
    char ipath[LC_CONFIG_PATH_CAP], q[LC_CONFIG_QUOTE_CAP];
    char ***list = AT(base, f, char **);
    size_t *count = (size_t *)((char *)base + f->off_n);
    int rc = lc_config_open_collection(w, v, YAML_SEQUENCE_NODE, 1, MAX_ENTRIES, path,
                                       "a list of name patterns");

    if (rc < 0) {
        return;
    }
    lc_config_free_names(*list, *count);
    *list = NULL;
    *count = 0;
    if (rc == 0) {
        return;
    }
    *list = lc_xcalloc(lc_config_collection_size(v), sizeof(char *));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *item = lc_config_node(w, *it);
        const char *s;
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, (size_t)(it - v->data.sequence.items.start));
        s = lc_config_scalar(w, item, ipath, "a name pattern");
        if (s == NULL) {
            continue;
        }
        if (s[0] == '\0') {
            lc_config_report(w, lc_config_line(item), ipath, "must not be empty");
        } else if (s[0] == '/') {
            lc_config_report(w, lc_config_line(item), ipath,
                             "%s starts with '/': container names are matched without it",
                             lc_config_quote_node(q, sizeof q, item));
        } else {
            (*list)[(*count)++] = lc_xstrdup(s);
        }
    }
}

/* Adds one "label: value" pair to LIST (with the line of each key in LINES). */
static void add_label(struct lc_config_walk *w, const yaml_node_pair_t *pair, const char *path,
                      struct lc_label_match *list, int *lines, size_t *count)
{
    char kpath[LC_CONFIG_PATH_CAP];
    yaml_node_t *k = lc_config_node(w, pair->key), *v = lc_config_node(w, pair->value);
    const char *key = lc_config_key_text(w, k, path, kpath), *value;

    if (key == NULL) {
        return;
    }
    if (key[0] == '\0') {
        lc_config_report(w, lc_config_line(k), path, "label names must not be empty");
        return;
    }
    for (size_t i = 0; i < *count; i++) {
        if (strcmp(list[i].key, key) == 0) {
            lc_config_report(w, lc_config_line(k), kpath, "key given twice (also at line %d)",
                             lines[i]);
            return;
        }
    }
    value = lc_config_scalar(w, v, kpath, "a label value (\"*\" for any value)");
    if (value == NULL) {
        return;
    }
    list[*count].key = lc_xstrdup(key);
    list[*count].value = lc_xstrdup(value);
    lines[(*count)++] = lc_config_line(k);
}

static void set_labels(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    struct lc_label_match **list = AT(base, f, struct lc_label_match *);
    size_t *count = (size_t *)((char *)base + f->off_n), n;
    int rc = lc_config_open_collection(w, v, YAML_MAPPING_NODE, 1, MAX_ENTRIES, path,
                                       "a mapping of label: value");
    int *lines;

    if (rc < 0) {
        return;
    }
    lc_config_free_labels(*list, *count);
    *list = NULL;
    *count = 0;
    if (rc == 0) {
        return;
    }
    n = lc_config_collection_size(v);
    *list = lc_xcalloc(n, sizeof **list);
    lines = lc_xcalloc(n, sizeof *lines);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        add_label(w, p, path, *list, lines, count);
    }
    free(lines);
}

/* ---- mappings: sections and outputs ---- */

/* Walks mapping MAP (already opened) with TABLE, storing values into BASE. */
static void walk_map(struct lc_config_walk *w, yaml_node_t *map, const struct field *table,
                     void *base, const char *prefix, int ignore_unknown)
{
    int seen[MAX_FIELDS] = {0};
    int outer_key_line = w->key_line;

    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        char path[LC_CONFIG_PATH_CAP];
        yaml_node_t *k = lc_config_node(w, p->key);
        const char *key = lc_config_key_text(w, k, prefix, path);
        const struct field *f = table;
        if (key == NULL) {
            continue;
        }
        while (f->key != NULL && strcmp(f->key, key) != 0) {
            f++;
        }
        assert(f - table < MAX_FIELDS);
        if (f->key == NULL) {
            if (!ignore_unknown) {
                lc_config_report(w, lc_config_line(k), path, "unknown key");
            }
        } else if (seen[f - table] != 0) {
            lc_config_report(w, lc_config_line(k), path, "key given twice (also at line %d)",
                             seen[f - table]);
        } else {
            seen[f - table] = lc_config_line(k);
            w->key_line = lc_config_line(k);
            f->set(w, f, lc_config_node(w, p->value), base, path);
        }
    }
    w->key_line = outer_key_line;
}

static void set_section(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                        const char *path)
{
    if (lc_config_open_collection(w, v, YAML_MAPPING_NODE, 1, 0, path, "a mapping") > 0) {
        walk_map(w, v, f->sub, base, path, 0);
    }
}

/* The keys of output type TYPE, or NULL when the type is unknown. */
static const struct field *output_fields(const char *type)
{
    for (size_t i = 0; i < sizeof output_types / sizeof output_types[0]; i++) {
        if (strcmp(output_types[i].type, type) == 0) {
            return output_types[i].fields;
        }
    }
    return NULL;
}

/* Walks one entry of "outputs" into O. Returns the line that names it, for duplicates. */
static int walk_output(struct lc_config_walk *w, yaml_node_t *item, struct lc_output_config *o,
                       const char *path)
{
    char tpath[LC_CONFIG_PATH_CAP + 8], q[LC_CONFIG_QUOTE_CAP];
    const struct field *table = common_output_fields;
    yaml_node_t *type, *name;
    const char *t;

    if (lc_config_open_collection(w, item, YAML_MAPPING_NODE, 0, 0, path,
                                  "a mapping with a \"type\" key") < 0) {
        return o->line;
    }
    type = lc_config_map_get(w, item, "type");
    if (type == NULL) {
        lc_config_report(w, o->line, path,
                         "missing key \"type\" (known types: " KNOWN_OUTPUT_TYPES ")");
    } else if (type->type == YAML_SCALAR_NODE && !lc_config_is_null(type) &&
               type->data.scalar.value[0] != '\0') {
        t = (const char *)type->data.scalar.value;
        table = output_fields(t);
        if (table == NULL) {
            table = common_output_fields;
            snprintf(tpath, sizeof tpath, "%s.type", path);
            lc_config_report(w, lc_config_line(type), tpath, "unknown output type %s (known: %s)",
                             lc_config_quote_node(q, sizeof q, type), KNOWN_OUTPUT_TYPES);
        }
    }
    walk_map(w, item, table, o, path, table == common_output_fields);
    if (o->name == NULL && o->type != NULL) {
        o->name = lc_xstrdup(o->type);
    }
    name = lc_config_map_get(w, item, "name");
    return name != NULL ? lc_config_line(name) : o->line;
}

static void check_output_names(struct lc_config_walk *w, const char *path,
                               const struct lc_output_config *outs, size_t n, const int *lines)
{
    char npath[LC_CONFIG_PATH_CAP], q[LC_CONFIG_QUOTE_CAP];

    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i && outs[i].name != NULL; j++) {
            if (outs[j].name != NULL && strcmp(outs[i].name, outs[j].name) == 0) {
                snprintf(npath, sizeof npath, "%s[%zu].name", path, i);
                lc_config_report(w, lines[i], npath, "duplicate output name %s (also at line %d)",
                                 lc_config_quote(q, sizeof q, outs[i].name, strlen(outs[i].name)),
                                 lines[j]);
                break;
            }
        }
    }
}

static void set_outputs(struct lc_config_walk *w, const struct field *f, yaml_node_t *v, void *base,
                        const char *path)
{
    char ipath[LC_CONFIG_PATH_CAP];
    struct lc_config *c = base;
    int rc = lc_config_open_collection(w, v, YAML_SEQUENCE_NODE, 1, MAX_OUTPUTS, path,
                                       "a list of outputs");
    size_t n = 0;
    int *lines;

    (void)f;
    if (rc < 0) {
        return;
    }
    if (rc > 0) {
        n = lc_config_collection_size(v);
    }
    if (n == 0) {
        lc_config_report(w, lc_config_line(v), path,
                         "the list is empty: at least one output is needed");
        return;
    }
    lc_config_free_outputs(c->outputs, c->n_outputs);
    c->outputs = lc_xcalloc(n, sizeof *c->outputs);
    c->n_outputs = n;
    lines = lc_xcalloc(n, sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = lc_config_node(w, v->data.sequence.items.start[i]);
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        lc_config_output_defaults(&c->outputs[i], lc_config_line(item));
        lines[i] = walk_output(w, item, &c->outputs[i], ipath);
    }
    check_output_names(w, path, c->outputs, n, lines);
    free(lines);
}

void lc_config_schema_walk(struct lc_config_walk *w, yaml_node_t *root, struct lc_config *c)
{
    walk_map(w, root, root_fields, c, "", 0);
}
