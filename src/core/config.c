/* config: the configuration model, its built-in defaults, and the YAML loader. The loader
 * parses the whole file with libyaml's document API (so every node knows its line), then
 * walks the tree with tables of known keys (struct field: key, setter, offset, range) and
 * reports every problem as "config error: FILE:LINE: KEY.PATH: what is wrong". Checks that
 * involve several keys (output names and paths, backoff order) run after the walk. The
 * loader keeps nothing between calls; the lc_config it fills owns all its strings. */
#include "core/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "core/util.h"

#define DEFAULT_DATA_DIR "./logcap-data"
#define MAX_CONFIG_BYTES (1u << 20)
#define MAX_FIELDS 32 /* keys in one table */
#define PATH_CAP 320
#define QUOTE_CAP 80
#define MAX_ENTRIES 1000 /* name patterns or labels in one list; keeps duplicate checks cheap */
#define MAX_OUTPUTS 64
#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define DAY_MS (24ULL * 3600 * 1000)

/* One load: the parsed document and where problems go. */
struct walk {
    yaml_document_t *doc;
    const char *name;
    FILE *errors;
    int n_errors;
    unsigned char *used; /* per node: this list or mapping was walked already */
    int key_line;        /* line of the key being walked (an alias node has no line of its own) */
};

struct field;
typedef void (*set_fn)(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
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

static void set_string(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_name(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_bool(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_uint(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_duration(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_size(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_level(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_format(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_listen(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_tail(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_names(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_labels(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_section(struct walk *, const struct field *, yaml_node_t *, void *, const char *);
static void set_outputs(struct walk *, const struct field *, yaml_node_t *, void *, const char *);

#define CFG(m) offsetof(struct lc_config, m)
#define OUT(m) offsetof(struct lc_output_config, m)

static const struct field api_fields[] = {
    {.key = "listen", .set = set_listen, .off = CFG(api_listen)},
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
    {.key = "idle_timeout", .set = set_duration, .off = CFG(docker.idle_timeout_ms), .max = DAY_MS},
    {.key = "reconcile_interval",
     .set = set_duration,
     .off = CFG(docker.reconcile_interval_ms),
     .max = DAY_MS},
    {.key = "max_line_bytes",
     .set = set_size,
     .off = CFG(docker.max_line_bytes),
     .min = KIB,
     .max = 64 * MIB},
    {.key = "request_timeout",
     .set = set_duration,
     .off = CFG(docker.request_timeout_ms),
     .max = DAY_MS},
    {.key = "reconnect_backoff_min",
     .set = set_duration,
     .off = CFG(docker.reconnect_min_ms),
     .max = DAY_MS},
    {.key = "reconnect_backoff_max",
     .set = set_duration,
     .off = CFG(docker.reconnect_max_ms),
     .max = DAY_MS},
    {.key = NULL},
};

static const struct field root_fields[] = {
    {.key = "data_dir", .set = set_string, .off = CFG(data_dir)},
    {.key = "log_level", .set = set_level, .off = CFG(log_level)},
    {.key = "hostname", .set = set_string, .off = CFG(hostname)},
    {.key = "api", .set = set_section, .sub = api_fields},
    {.key = "docker", .set = set_section, .sub = docker_fields},
    {.key = "outputs", .set = set_outputs},
    {.key = NULL},
};

/* Keys every output has; the only ones checked when the type is missing or unknown. */
static const struct field common_output_fields[] = {
    {.key = "type", .set = set_string, .off = OUT(type)},
    {.key = "name", .set = set_name, .off = OUT(name)},
    {.key = NULL},
};

static const struct field file_output_fields[] = {
    {.key = "type", .set = set_string, .off = OUT(type)},
    {.key = "name", .set = set_name, .off = OUT(name)},
    {.key = "path", .set = set_string, .off = OUT(path)},
    {.key = "format", .set = set_format, .off = OUT(format)},
    {.key = "rotate_bytes",
     .set = set_size,
     .off = OUT(rotate_bytes),
     .min = 4 * KIB,
     .max = 1024 * 1024 * MIB},
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

/* ---- model: defaults and free ---- */

static char *join_path(const char *dir, const char *leaf)
{
    size_t n = strlen(dir);
    char *p = lc_xmalloc(n + strlen(leaf) + 2);
    strcpy(p, dir);
    if (n == 0 || dir[n - 1] != '/') {
        strcat(p, "/");
    }
    return strcat(p, leaf);
}

static void output_defaults(struct lc_output_config *o, int line)
{
    memset(o, 0, sizeof *o);
    o->line = line;
    o->format = LC_FORMAT_JSON;
    o->rotate_bytes = 100 * MIB;
    o->max_files = 10;
    o->compress = 1;
}

void lc_config_defaults(struct lc_config *c)
{
    char host[256] = "";
    struct lc_docker_config *d = &c->docker;

    memset(c, 0, sizeof *c);
    c->data_dir = lc_xstrdup(DEFAULT_DATA_DIR);
    c->log_level = LC_LOG_INFO;
    if (gethostname(host, sizeof host) != 0) {
        host[0] = '\0';
    }
    host[sizeof host - 1] = '\0';
    c->hostname = lc_xstrdup(host[0] != '\0' ? host : "localhost");
    c->api_listen = lc_xstrdup("127.0.0.1:8401");
    d->enabled = 1;
    d->socket = lc_xstrdup("/var/run/docker.sock");
    d->stdout_enabled = 1;
    d->stderr_enabled = 1;
    d->initial_tail = 50;
    d->idle_timeout_ms = 60000;
    d->reconcile_interval_ms = 30000;
    d->max_line_bytes = MIB;
    d->request_timeout_ms = 10000;
    d->reconnect_min_ms = 500;
    d->reconnect_max_ms = 30000;
    c->outputs = lc_xcalloc(1, sizeof *c->outputs);
    c->n_outputs = 1;
    output_defaults(&c->outputs[0], 0);
    c->outputs[0].type = lc_xstrdup("file");
    c->outputs[0].name = lc_xstrdup("file");
    c->outputs[0].path = join_path(c->data_dir, "logs");
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static void free_labels(struct lc_label_match *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(labels[i].key);
        free(labels[i].value);
    }
    free(labels);
}

static void free_outputs(struct lc_output_config *outputs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(outputs[i].type);
        free(outputs[i].name);
        free(outputs[i].path);
    }
    free(outputs);
}

void lc_config_free(struct lc_config *c)
{
    struct lc_docker_config *d;

    if (c == NULL) {
        return;
    }
    d = &c->docker;
    free(c->path);
    free(c->data_dir);
    free(c->hostname);
    free(c->api_listen);
    free(d->socket);
    free_names(d->include_names, d->n_include_names);
    free_names(d->exclude_names, d->n_exclude_names);
    free_labels(d->include_labels, d->n_include_labels);
    free_labels(d->exclude_labels, d->n_exclude_labels);
    free_outputs(c->outputs, c->n_outputs);
    memset(c, 0, sizeof *c);
}

/* ---- reporting ---- */

static void report(struct walk *w, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct walk *w, int line, const char *path, const char *fmt, ...)
{
    va_list ap;

    w->n_errors++;
    if (w->errors == NULL) {
        return;
    }
    fprintf(w->errors, "config error: %s:%d: %s: ", w->name, line, path);
    va_start(ap, fmt);
    vfprintf(w->errors, fmt, ap);
    va_end(ap);
    fputc('\n', w->errors);
}

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* Writes S as printable text into DST: control bytes, quotes and backslashes escaped, and
 * long text cut with "...", so that every message stays on one line. */
static const char *printable(char *dst, size_t cap, const unsigned char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char esc[8];
        int n;
        if (s[i] < 0x20 || s[i] == 0x7f) {
            n = snprintf(esc, sizeof esc, "\\x%02x", s[i]);
        } else if (s[i] == '"' || s[i] == '\\') {
            n = snprintf(esc, sizeof esc, "\\%c", s[i]);
        } else {
            n = snprintf(esc, sizeof esc, "%c", s[i]);
        }
        if (o + (size_t)n + 4 > cap) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(dst + o, esc, (size_t)n);
        o += (size_t)n;
    }
    dst[o] = '\0';
    return dst;
}

static const char *quote(char *dst, size_t cap, const char *s, size_t len)
{
    dst[0] = '"';
    printable(dst + 1, cap - 2, (const unsigned char *)s, len);
    return strcat(dst, "\"");
}

static const char *quote_node(char *dst, size_t cap, const yaml_node_t *v)
{
    return quote(dst, cap, (const char *)v->data.scalar.value, v->data.scalar.length);
}

/* A plain scalar that YAML reads as null: "key:" with nothing after it, "~" or "null". */
static int is_null(const yaml_node_t *v)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    const char *s = (const char *)v->data.scalar.value;

    if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return 0;
    }
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        if (strcmp(s, nulls[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Names the kind or value of V for "expected X, got Y". */
static const char *describe(char *dst, size_t cap, const yaml_node_t *v)
{
    if (v->type == YAML_MAPPING_NODE) {
        return "a mapping";
    }
    if (v->type == YAML_SEQUENCE_NODE) {
        return "a list";
    }
    if (v->type != YAML_SCALAR_NODE || is_null(v)) {
        return "nothing";
    }
    return quote_node(dst, cap, v);
}

/* ---- node access ---- */

static yaml_node_t *node_at(struct walk *w, int index)
{
    yaml_node_t *n = yaml_document_get_node(w->doc, index);
    assert(n != NULL);
    return n;
}

/* The text of scalar V, or NULL after reporting that V is not a string WHAT wants. */
static const char *scalar(struct walk *w, yaml_node_t *v, const char *path, const char *what)
{
    char d[QUOTE_CAP];

    if (v->type != YAML_SCALAR_NODE || is_null(v)) {
        report(w, line_of(v), path, "expected %s, got %s", what, describe(d, sizeof d, v));
        return NULL;
    }
    if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length) {
        report(w, line_of(v), path, "must not contain a NUL byte");
        return NULL;
    }
    return (const char *)v->data.scalar.value;
}

/* The value of KEY in mapping MAP (its first occurrence), or NULL. */
static yaml_node_t *map_get(struct walk *w, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (k->type == YAML_SCALAR_NODE && !is_null(k) &&
            strcmp((const char *)k->data.scalar.value, key) == 0) {
            return node_at(w, p->value);
        }
    }
    return NULL;
}

static size_t collection_size(const yaml_node_t *v)
{
    if (v->type == YAML_SEQUENCE_NODE) {
        return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    }
    return (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
}

/* Checks that V is a TYPE collection of at most MAX entries (0: any number), and not one
 * walked already (an alias of it). Returns 1 to walk it, 0 for a null value when NULL_OK
 * (an empty collection), or -1 after reporting. */
static int open_collection(struct walk *w, yaml_node_t *v, yaml_node_type_t type, int null_ok,
                           size_t max, const char *path, const char *what)
{
    char d[QUOTE_CAP];
    size_t i = (size_t)(v - w->doc->nodes.start);

    if (null_ok && is_null(v)) {
        return 0;
    }
    if (v->type != type) {
        report(w, line_of(v), path, "expected %s, got %s", what, describe(d, sizeof d, v));
        return -1;
    }
    if (w->used[i]) {
        report(w, w->key_line != 0 ? w->key_line : line_of(v), path,
               "an alias of a list or mapping used already (aliases may only repeat strings)");
        return -1;
    }
    w->used[i] = 1;
    if (max != 0 && collection_size(v) > max) {
        report(w, line_of(v), path, "has %zu entries, more than the %zu allowed",
               collection_size(v), max);
        return -1;
    }
    return 1;
}

/* The text of mapping key K, with PATH set to PREFIX.KEY; NULL after reporting. */
static const char *key_text(struct walk *w, yaml_node_t *k, const char *prefix, char *path)
{
    char d[QUOTE_CAP], kp[QUOTE_CAP];
    const char *key;

    if (k->type != YAML_SCALAR_NODE || is_null(k)) {
        report(w, line_of(k), prefix[0] != '\0' ? prefix : "top level",
               "keys must be strings, got %s", describe(d, sizeof d, k));
        return NULL;
    }
    key = (const char *)k->data.scalar.value;
    printable(kp, sizeof kp, k->data.scalar.value, k->data.scalar.length);
    snprintf(path, PATH_CAP, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", kp);
    if (strlen(key) != k->data.scalar.length) {
        report(w, line_of(k), path, "keys must not contain a NUL byte");
        return NULL;
    }
    return key;
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

static const char *fmt_duration(char *dst, size_t cap, uint64_t ms)
{
    static const char *const names[] = {"h", "m", "s", "ms"};
    static const uint64_t mults[] = {3600000, 60000, 1000, 1};
    return with_unit(dst, cap, ms, names, mults, 4);
}

static const char *fmt_size(char *dst, size_t cap, uint64_t bytes)
{
    static const char *const names[] = {"TiB", "GiB", "MiB", "KiB", "B"};
    static const uint64_t mults[] = {1024 * 1024 * MIB, 1024 * MIB, MIB, KIB, 1};
    return with_unit(dst, cap, bytes, names, mults, 5);
}

static void set_string(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    const char *s = scalar(w, v, path, "a string");

    if (s == NULL) {
        return;
    }
    if (s[0] == '\0') {
        report(w, line_of(v), path, "must not be empty");
        return;
    }
    free(*AT(base, f, char *));
    *AT(base, f, char *) = lc_xstrdup(s);
}

/* Output names appear in task ids, log prefixes and metric labels: keep them plain. */
static void set_name(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
{
    char q[QUOTE_CAP];
    const char *s = scalar(w, v, path, "a string");

    if (s == NULL) {
        return;
    }
    if (s[0] == '\0' || strlen(s) > 64 ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(s)) {
        report(w, line_of(v), path, "%s must be 1 to 64 letters, digits, '.', '-' or '_'",
               quote_node(q, sizeof q, v));
        return;
    }
    free(*AT(base, f, char *));
    *AT(base, f, char *) = lc_xstrdup(s);
}

static void set_bool(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    char d[QUOTE_CAP];
    const char *s = scalar(w, v, path, "true or false");

    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *AT(base, f, int) = strcasecmp(s, yes[i]) == 0;
            return;
        }
    }
    report(w, line_of(v), path, "expected true or false, got %s", describe(d, sizeof d, v));
}

static void set_uint(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
{
    char q[QUOTE_CAP];
    uint64_t u;
    const char *s = scalar(w, v, path, "an integer");
    int rc;

    if (s == NULL) {
        return;
    }
    rc = parse_decimal(s, &u);
    if (rc == -EINVAL) {
        report(w, line_of(v), path, "expected a decimal integer, got %s",
               quote_node(q, sizeof q, v));
    } else if (rc < 0 || u < f->min || u > f->max) {
        report(w, line_of(v), path, "%s is out of range (%llu-%llu)", s, (unsigned long long)f->min,
               (unsigned long long)f->max);
    } else {
        *AT(base, f, unsigned) = (unsigned)u;
    }
}

static void set_duration(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                         const char *path)
{
    char q[QUOTE_CAP], lim[32];
    uint64_t ms = 0;
    const char *s = scalar(w, v, path, "a duration (500ms, 30s, 5m, 1h)");
    int rc;

    if (s == NULL) {
        return;
    }
    rc = lc_parse_duration_ms(s, &ms);
    quote_node(q, sizeof q, v);
    if (rc == -EINVAL) {
        report(w, line_of(v), path, "%s is not a duration (use 500ms, 30s, 5m, 1h)", q);
    } else if (rc < 0 || ms > f->max) {
        report(w, line_of(v), path, "%s is too long (at most %s)", q,
               fmt_duration(lim, sizeof lim, f->max));
    } else if (ms == 0) {
        report(w, line_of(v), path, "%s must be greater than 0", q);
    } else {
        *AT(base, f, uint64_t) = ms;
    }
}

static void set_size(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
{
    char q[QUOTE_CAP], lim[32];
    uint64_t bytes = 0;
    const char *s = scalar(w, v, path, "a size (64KiB, 1MiB, 100MiB)");
    int rc;

    if (s == NULL) {
        return;
    }
    rc = lc_parse_size(s, &bytes);
    quote_node(q, sizeof q, v);
    if (rc == -EINVAL) {
        report(w, line_of(v), path, "%s is not a size (use 64KiB, 1MiB, 100MiB)", q);
    } else if (rc < 0 || bytes > f->max) {
        report(w, line_of(v), path, "%s is too large (at most %s)", q,
               fmt_size(lim, sizeof lim, f->max));
    } else if (bytes < f->min) {
        report(w, line_of(v), path, "%s is too small (at least %s)", q,
               fmt_size(lim, sizeof lim, f->min));
    } else {
        *AT(base, f, uint64_t) = bytes;
    }
}

static void set_level(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                      const char *path)
{
    const char *s = scalar(w, v, path, "one of error, warn, info, debug");

    if (s != NULL && lc_log_level_parse(s, AT(base, f, enum lc_log_level)) != 0) {
        report(w, line_of(v), path, "expected one of error, warn, info, debug");
    }
}

static void set_format(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    const char *s = scalar(w, v, path, "one of json, text");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "json") == 0) {
        *AT(base, f, enum lc_format) = LC_FORMAT_JSON;
    } else if (strcmp(s, "text") == 0) {
        *AT(base, f, enum lc_format) = LC_FORMAT_TEXT;
    } else {
        report(w, line_of(v), path, "expected one of json, text");
    }
}

static void set_tail(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                     const char *path)
{
    char d[QUOTE_CAP];
    uint64_t u;
    const char *s = scalar(w, v, path, "\"all\" or a non-negative integer");

    if (s == NULL) {
        return;
    }
    if (strcmp(s, "all") == 0) {
        *AT(base, f, long) = -1;
    } else if (parse_decimal(s, &u) == 0 && u <= LONG_MAX) {
        *AT(base, f, long) = (long)u;
    } else {
        report(w, line_of(v), path, "expected \"all\" or a non-negative integer, got %s",
               describe(d, sizeof d, v));
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

static void set_listen(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    char q[QUOTE_CAP], p[QUOTE_CAP];
    const char *s = scalar(w, v, path, "host:port"), *colon;
    uint64_t port;

    if (s == NULL) {
        return;
    }
    quote_node(q, sizeof q, v);
    /* The port follows the last ':' of "host:port" or the ':' after "]" of "[v6]:port". */
    if (s[0] == '[') {
        colon = strstr(s, "]:");
        colon = colon != NULL ? colon + 1 : NULL;
    } else {
        colon = strchr(s, ':');
    }
    if (colon == NULL || strchr(colon + 1, ':') != NULL || colon[1] == '\0' ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        report(w, line_of(v), path,
               "%s is not host:port (e.g. 127.0.0.1:8401, [::1]:8401, localhost:8401)", q);
    } else if (!listen_host_ok(s, (size_t)(colon - s))) {
        report(w, line_of(v), path,
               "%s has an invalid host (use an IPv4 address, [IPv6] or a name)", q);
    } else if (parse_decimal(colon + 1, &port) != 0 || port < 1 || port > 65535) {
        report(w, line_of(v), path, "port %s is out of range (1-65535)",
               printable(p, sizeof p, (const unsigned char *)colon + 1, strlen(colon + 1)));
    } else {
        free(*AT(base, f, char *));
        *AT(base, f, char *) = lc_xstrdup(s);
    }
}

/* ---- collections ---- */

static void set_names(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                      const char *path)
{
    char ipath[PATH_CAP], q[QUOTE_CAP];
    char ***list = AT(base, f, char **);
    size_t *count = (size_t *)((char *)base + f->off_n);
    int rc =
        open_collection(w, v, YAML_SEQUENCE_NODE, 1, MAX_ENTRIES, path, "a list of name patterns");

    if (rc < 0) {
        return;
    }
    free_names(*list, *count);
    *list = NULL;
    *count = 0;
    if (rc == 0) {
        return;
    }
    *list = lc_xcalloc(collection_size(v), sizeof(char *));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *item = node_at(w, *it);
        const char *s;
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, (size_t)(it - v->data.sequence.items.start));
        s = scalar(w, item, ipath, "a name pattern");
        if (s == NULL) {
            continue;
        }
        if (s[0] == '\0') {
            report(w, line_of(item), ipath, "must not be empty");
        } else if (s[0] == '/') {
            report(w, line_of(item), ipath,
                   "%s starts with '/': container names are matched without it",
                   quote_node(q, sizeof q, item));
        } else {
            (*list)[(*count)++] = lc_xstrdup(s);
        }
    }
}

/* Adds one "label: value" pair to LIST (with the line of each key in LINES). */
static void add_label(struct walk *w, const yaml_node_pair_t *pair, const char *path,
                      struct lc_label_match *list, int *lines, size_t *count)
{
    char kpath[PATH_CAP];
    yaml_node_t *k = node_at(w, pair->key), *v = node_at(w, pair->value);
    const char *key = key_text(w, k, path, kpath), *value;

    if (key == NULL) {
        return;
    }
    if (key[0] == '\0') {
        report(w, line_of(k), path, "label names must not be empty");
        return;
    }
    for (size_t i = 0; i < *count; i++) {
        if (strcmp(list[i].key, key) == 0) {
            report(w, line_of(k), kpath, "key given twice (also at line %d)", lines[i]);
            return;
        }
    }
    value = scalar(w, v, kpath, "a label value (\"*\" for any value)");
    if (value == NULL) {
        return;
    }
    list[*count].key = lc_xstrdup(key);
    list[*count].value = lc_xstrdup(value);
    lines[(*count)++] = line_of(k);
}

static void set_labels(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    struct lc_label_match **list = AT(base, f, struct lc_label_match *);
    size_t *count = (size_t *)((char *)base + f->off_n), n;
    int rc =
        open_collection(w, v, YAML_MAPPING_NODE, 1, MAX_ENTRIES, path, "a mapping of label: value");
    int *lines;

    if (rc < 0) {
        return;
    }
    free_labels(*list, *count);
    *list = NULL;
    *count = 0;
    if (rc == 0) {
        return;
    }
    n = collection_size(v);
    *list = lc_xcalloc(n, sizeof **list);
    lines = lc_xcalloc(n, sizeof *lines);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        add_label(w, p, path, *list, lines, count);
    }
    free(lines);
}

/* Walks mapping MAP (already opened) with TABLE, storing values into BASE. */
static void walk_map(struct walk *w, yaml_node_t *map, const struct field *table, void *base,
                     const char *prefix, int ignore_unknown)
{
    int seen[MAX_FIELDS] = {0};
    int outer_key_line = w->key_line;

    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        char path[PATH_CAP];
        yaml_node_t *k = node_at(w, p->key);
        const char *key = key_text(w, k, prefix, path);
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
                report(w, line_of(k), path, "unknown key");
            }
        } else if (seen[f - table] != 0) {
            report(w, line_of(k), path, "key given twice (also at line %d)", seen[f - table]);
        } else {
            seen[f - table] = line_of(k);
            w->key_line = line_of(k);
            f->set(w, f, node_at(w, p->value), base, path);
        }
    }
    w->key_line = outer_key_line;
}

static void set_section(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                        const char *path)
{
    if (open_collection(w, v, YAML_MAPPING_NODE, 1, 0, path, "a mapping") > 0) {
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
static int walk_output(struct walk *w, yaml_node_t *item, struct lc_output_config *o,
                       const char *path)
{
    char tpath[PATH_CAP + 8], q[QUOTE_CAP];
    const struct field *table = common_output_fields;
    yaml_node_t *type, *name;
    const char *t;

    if (open_collection(w, item, YAML_MAPPING_NODE, 0, 0, path, "a mapping with a \"type\" key") <
        0) {
        return o->line;
    }
    type = map_get(w, item, "type");
    if (type == NULL) {
        report(w, o->line, path, "missing key \"type\" (known types: " KNOWN_OUTPUT_TYPES ")");
    } else if (type->type == YAML_SCALAR_NODE && !is_null(type) &&
               type->data.scalar.value[0] != '\0') {
        t = (const char *)type->data.scalar.value;
        table = output_fields(t);
        if (table == NULL) {
            table = common_output_fields;
            snprintf(tpath, sizeof tpath, "%s.type", path);
            report(w, line_of(type), tpath, "unknown output type %s (known: %s)",
                   quote_node(q, sizeof q, type), KNOWN_OUTPUT_TYPES);
        }
    }
    walk_map(w, item, table, o, path, table == common_output_fields);
    if (o->name == NULL && o->type != NULL) {
        o->name = lc_xstrdup(o->type);
    }
    name = map_get(w, item, "name");
    return name != NULL ? line_of(name) : o->line;
}

static void check_output_names(struct walk *w, const char *path,
                               const struct lc_output_config *outs, size_t n, const int *lines)
{
    char npath[PATH_CAP], q[QUOTE_CAP];

    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i && outs[i].name != NULL; j++) {
            if (outs[j].name != NULL && strcmp(outs[i].name, outs[j].name) == 0) {
                snprintf(npath, sizeof npath, "%s[%zu].name", path, i);
                report(w, lines[i], npath, "duplicate output name %s (also at line %d)",
                       quote(q, sizeof q, outs[i].name, strlen(outs[i].name)), lines[j]);
                break;
            }
        }
    }
}

static void set_outputs(struct walk *w, const struct field *f, yaml_node_t *v, void *base,
                        const char *path)
{
    char ipath[PATH_CAP];
    struct lc_config *c = base;
    int rc = open_collection(w, v, YAML_SEQUENCE_NODE, 1, MAX_OUTPUTS, path, "a list of outputs");
    size_t n = 0;
    int *lines;

    (void)f;
    if (rc < 0) {
        return;
    }
    if (rc > 0) {
        n = collection_size(v);
    }
    if (n == 0) {
        report(w, line_of(v), path, "the list is empty: at least one output is needed");
        return;
    }
    free_outputs(c->outputs, c->n_outputs);
    c->outputs = lc_xcalloc(n, sizeof *c->outputs);
    c->n_outputs = n;
    lines = lc_xcalloc(n, sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node_at(w, v->data.sequence.items.start[i]);
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        output_defaults(&c->outputs[i], line_of(item));
        lines[i] = walk_output(w, item, &c->outputs[i], ipath);
    }
    check_output_names(w, path, c->outputs, n, lines);
    free(lines);
}

/* ---- checks across keys ---- */

/* File outputs without a path, and the built-in one (line 0), write to DATA_DIR/logs, known
 * only once data_dir is. Two file outputs in one directory would write the same files. */
static void finish_output_paths(struct walk *w, struct lc_config *c)
{
    char path[PATH_CAP], q[QUOTE_CAP];

    for (size_t i = 0; i < c->n_outputs; i++) {
        struct lc_output_config *o = &c->outputs[i];
        if (o->type == NULL || strcmp(o->type, "file") != 0) {
            continue;
        }
        if (o->path == NULL || o->line == 0) {
            free(o->path);
            o->path = join_path(c->data_dir, "logs");
        }
        for (size_t j = 0; j < i; j++) {
            if (c->outputs[j].path != NULL && strcmp(c->outputs[j].path, o->path) == 0) {
                snprintf(path, sizeof path, "outputs[%zu].path", i);
                report(w, o->line, path,
                       "%s is also the directory of output \"%s\" (line %d); each file output "
                       "needs its own",
                       quote(q, sizeof q, o->path, strlen(o->path)),
                       c->outputs[j].name ? c->outputs[j].name : "", c->outputs[j].line);
                break;
            }
        }
    }
}

static int duration_given_ok(const yaml_node_t *v)
{
    uint64_t ms;
    return v == NULL || (v->type == YAML_SCALAR_NODE &&
                         lc_parse_duration_ms((const char *)v->data.scalar.value, &ms) == 0 &&
                         ms > 0 && ms <= DAY_MS);
}

static void check_backoff(struct walk *w, const struct lc_config *c, yaml_node_t *root)
{
    char a[32], b[32];
    yaml_node_t *docker = map_get(w, root, "docker");
    yaml_node_t *mx = map_get(w, docker, "reconnect_backoff_max");
    yaml_node_t *mn = map_get(w, docker, "reconnect_backoff_min");
    uint64_t lo = c->docker.reconnect_min_ms, hi = c->docker.reconnect_max_ms;

    /* A value that did not parse was reported already; comparing its default is noise. */
    if (hi >= lo || !duration_given_ok(mx) || !duration_given_ok(mn)) {
        return;
    }
    if (mx != NULL) {
        report(w, line_of(mx), "docker.reconnect_backoff_max",
               "%s is less than docker.reconnect_backoff_min (%s)", fmt_duration(a, sizeof a, hi),
               fmt_duration(b, sizeof b, lo));
    } else if (mn != NULL) {
        report(w, line_of(mn), "docker.reconnect_backoff_min",
               "%s is greater than docker.reconnect_backoff_max (%s)",
               fmt_duration(a, sizeof a, lo), fmt_duration(b, sizeof b, hi));
    }
}

/* ---- loading ---- */

static void syntax_error(struct walk *w, const yaml_parser_t *p, const char *text, size_t len)
{
    int line = (int)p->problem_mark.line + 1;

    if (p->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            line += text[i] == '\n';
        }
    }
    report(w, line, "syntax", "%s", p->problem != NULL ? p->problem : "cannot parse the file");
}

/* Parses exactly one YAML document into DOC. Returns 0, or -EINVAL after reporting. */
static int parse(struct walk *w, yaml_document_t *doc, const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_document_t extra;
    yaml_node_t *second;
    int rc = -EINVAL;

    if (!yaml_parser_initialize(&p)) {
        fprintf(stderr, "logcap: out of memory creating a YAML parser\n");
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, doc)) {
        syntax_error(w, &p, text, len);
        goto out_parser;
    }
    if (!yaml_parser_load(&p, &extra)) {
        syntax_error(w, &p, text, len);
        goto out_doc;
    }
    /* A second document is reported, and the first still checked. */
    second = yaml_document_get_root_node(&extra);
    if (second != NULL && !is_null(second)) {
        report(w, line_of(second), "syntax", "the file holds more than one YAML document");
    }
    yaml_document_delete(&extra);
    rc = 0;
    goto out_parser;

out_doc:
    yaml_document_delete(doc);
out_parser:
    yaml_parser_delete(&p);
    return rc;
}

static void walk_document(struct walk *w, struct lc_config *c)
{
    char d[QUOTE_CAP];
    yaml_node_t *root = yaml_document_get_root_node(w->doc);

    if (root != NULL && !is_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            report(w, line_of(root), "top level", "expected a mapping of keys, got %s",
                   describe(d, sizeof d, root));
        } else if (open_collection(w, root, YAML_MAPPING_NODE, 0, 0, "top level", "a mapping") >
                   0) {
            walk_map(w, root, root_fields, c, "", 0);
        }
    }
    finish_output_paths(w, c);
    check_backoff(w, c, root);
}

int lc_config_load_string(struct lc_config *c, const char *name, const char *text, size_t len,
                          FILE *errors)
{
    struct walk w = {.name = name != NULL ? name : "<config>", .errors = errors};
    yaml_document_t doc;

    /* A zeroed config (never filled, or freed) starts from the defaults. */
    if (c->data_dir == NULL) {
        lc_config_defaults(c);
    }
    free(c->path);
    c->path = lc_xstrdup(w.name);
    if (parse(&w, &doc, text, len) == 0) {
        w.doc = &doc;
        w.used = lc_xcalloc((size_t)(doc.nodes.top - doc.nodes.start), 1);
        walk_document(&w, c);
        free(w.used);
        yaml_document_delete(&doc);
    }
    if (w.n_errors > 0) {
        lc_config_free(c);
        return -EINVAL;
    }
    return 0;
}

int lc_config_load(struct lc_config *c, const char *path, FILE *errors)
{
    char *text = NULL;
    size_t len = 0;
    int rc = lc_read_file(path, MAX_CONFIG_BYTES, &text, &len);

    if (rc < 0) {
        lc_config_free(c);
        if (errors != NULL) {
            fprintf(errors, "config error: %s: cannot read: %s\n", path, strerror(-rc));
        }
        return rc;
    }
    rc = lc_config_load_string(c, path, text, len, errors);
    free(text);
    return rc;
}
