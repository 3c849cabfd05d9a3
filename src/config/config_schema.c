/* config_schema: the keys of the config file. Each section and output type has a table of
 * known keys (struct lc_config_field: key, setter, offset, range); walk_map walks a mapping with
 * its table, rejecting unknown and repeated keys, and each setter (the scalar ones are in
 * config_setters.c, lists, label maps, sections and outputs here) checks one value node and
 * stores it in the model, replacing and freeing what was there. Every problem is reported through
 * config_yaml and the walk goes on, so one load reports them all. Keys that depend on each other
 * are checked afterwards, in config.c. */
#include "config/config_schema.h"
#include "config/config_setters.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

#define MAX_FIELDS 32    /* keys in one table */
#define MAX_ENTRIES 1000 /* name patterns or labels in one list; keeps duplicate checks cheap */
#define MAX_OUTPUTS 64
#define HOUR_MS (3600ULL * 1000)

static void set_names(struct lc_config_walk *, const struct lc_config_field *, yaml_node_t *,
                      void *, const char *);
static void set_labels(struct lc_config_walk *, const struct lc_config_field *, yaml_node_t *,
                       void *, const char *);
static void set_section(struct lc_config_walk *, const struct lc_config_field *, yaml_node_t *,
                        void *, const char *);
static void set_outputs(struct lc_config_walk *, const struct lc_config_field *, yaml_node_t *,
                        void *, const char *);

#define CFG(m) offsetof(struct lc_config, m)
#define OUT(m) offsetof(struct lc_output_config, m)

static const struct lc_config_field api_fields[] = {
    {.key = "listen", .set = lc_config_set_listen, .off = CFG(api_listen)},
    {.key = "token", .set = lc_config_set_string, .off = CFG(api_token)},
    {.key = NULL},
};

static const struct lc_config_field supervisor_fields[] = {
    {.key = "check_interval",
     .set = lc_config_set_duration,
     .off = CFG(supervisor.check_interval_ms),
     .max = LC_DAY_MS},
    {.key = "task_timeout",
     .set = lc_config_set_duration,
     .off = CFG(supervisor.task_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "restart_backoff_min",
     .set = lc_config_set_duration,
     .off = CFG(supervisor.restart_backoff_min_ms),
     .max = LC_DAY_MS},
    {.key = "restart_backoff_max",
     .set = lc_config_set_duration,
     .off = CFG(supervisor.restart_backoff_max_ms),
     .max = LC_DAY_MS},
    {.key = "loop_stall_timeout",
     .set = lc_config_set_duration,
     .off = CFG(supervisor.loop_stall_timeout_ms),
     .max = LC_DAY_MS},
    {.key = NULL},
};

static const struct lc_config_field docker_fields[] = {
    {.key = "enabled", .set = lc_config_set_bool, .off = CFG(docker.enabled)},
    {.key = "socket", .set = lc_config_set_string, .off = CFG(docker.socket)},
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
    {.key = "stdout", .set = lc_config_set_bool, .off = CFG(docker.stdout_enabled)},
    {.key = "stderr", .set = lc_config_set_bool, .off = CFG(docker.stderr_enabled)},
    {.key = "initial_tail", .set = lc_config_set_tail, .off = CFG(docker.initial_tail)},
    {.key = "idle_timeout",
     .set = lc_config_set_duration,
     .off = CFG(docker.idle_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "reconcile_interval",
     .set = lc_config_set_duration,
     .off = CFG(docker.reconcile_interval_ms),
     .max = LC_DAY_MS},
    {.key = "max_line_bytes",
     .set = lc_config_set_size,
     .off = CFG(docker.max_line_bytes),
     .min = LC_KIB,
     .max = 64 * LC_MIB},
    {.key = "request_timeout",
     .set = lc_config_set_duration,
     .off = CFG(docker.request_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "reconnect_backoff_min",
     .set = lc_config_set_duration,
     .off = CFG(docker.reconnect_min_ms),
     .max = LC_DAY_MS},
    {.key = "reconnect_backoff_max",
     .set = lc_config_set_duration,
     .off = CFG(docker.reconnect_max_ms),
     .max = LC_DAY_MS},
    {.key = NULL},
};

static const struct lc_config_field spool_fields[] = {
    {.key = "segment_bytes",
     .set = lc_config_set_size,
     .off = CFG(spool.segment_bytes),
     .min = 64 * LC_KIB,
     .max = 4096 * LC_MIB},
    {.key = "max_bytes",
     .set = lc_config_set_size,
     .off = CFG(spool.max_bytes),
     .min = 128 * LC_KIB,
     .max = 16 * 1024 * 1024 * LC_MIB},
    {.key = "sync", .set = lc_config_set_sync, .off = CFG(spool.sync)},
    {.key = "sync_interval",
     .set = lc_config_set_duration,
     .off = CFG(spool.sync_interval_ms),
     .max = HOUR_MS},
    {.key = NULL},
};

static const struct lc_config_field root_fields[] = {
    {.key = "data_dir", .set = lc_config_set_string, .off = CFG(data_dir)},
    {.key = "log_level", .set = lc_config_set_level, .off = CFG(log_level)},
    {.key = "hostname", .set = lc_config_set_string, .off = CFG(hostname)},
    {.key = "api", .set = set_section, .sub = api_fields},
    {.key = "docker", .set = set_section, .sub = docker_fields},
    {.key = "supervisor", .set = set_section, .sub = supervisor_fields},
    {.key = "spool", .set = set_section, .sub = spool_fields},
    {.key = "outputs", .set = set_outputs},
    {.key = NULL},
};

/* Sections of every output. Their offsets are into the output entry: a section is walked
 * with the base of the mapping that holds it. */
static const struct lc_config_field batch_fields[] = {
    {.key = "max_records",
     .set = lc_config_set_uint,
     .off = OUT(batch.max_records),
     .min = 1,
     .max = 1000000},
    {.key = "max_bytes",
     .set = lc_config_set_size,
     .off = OUT(batch.max_bytes),
     .min = LC_KIB,
     .max = 256 * LC_MIB},
    {.key = "max_wait",
     .set = lc_config_set_duration,
     .off = OUT(batch.max_wait_ms),
     .max = HOUR_MS},
    {.key = NULL},
};

static const struct lc_config_field retry_fields[] = {
    {.key = "backoff_min",
     .set = lc_config_set_duration,
     .off = OUT(retry.backoff_min_ms),
     .max = LC_DAY_MS},
    {.key = "backoff_max",
     .set = lc_config_set_duration,
     .off = OUT(retry.backoff_max_ms),
     .max = LC_DAY_MS},
    /* 0: retry without limit */
    {.key = "max_attempts",
     .set = lc_config_set_uint,
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
    {.key = "type", .set = lc_config_set_string, .off = OUT(type)},                                          \
    {.key = "name", .set = lc_config_set_name, .off = OUT(name)},                                            \
    {.key = "batch", .set = set_section, .sub = batch_fields},                                     \
    {.key = "retry", .set = set_section, .sub = retry_fields},                                     \
    {.key = "start_at", .set = lc_config_set_start_at, .off = OUT(start_oldest)}
/* clang-format on */

/* The only keys checked when the type is missing or unknown. */
static const struct lc_config_field common_output_fields[] = {
    COMMON_OUTPUT_KEYS,
    {.key = NULL},
};

static const struct lc_config_field file_output_fields[] = {
    COMMON_OUTPUT_KEYS,
    {.key = "path", .set = lc_config_set_string, .off = OUT(path)},
    {.key = "format", .set = lc_config_set_format, .off = OUT(format)},
    {.key = "rotate_bytes",
     .set = lc_config_set_size,
     .off = OUT(rotate_bytes),
     .min = 4 * LC_KIB,
     .max = 1024 * 1024 * LC_MIB},
    {.key = "max_files", .set = lc_config_set_uint, .off = OUT(max_files), .min = 1, .max = 1000},
    {.key = "compress", .set = lc_config_set_bool, .off = OUT(compress)},
    {.key = NULL},
};

/* The output types the config accepts. Kept here rather than taken from outputs/ so that
 * the config module links alone; outputs/registry.c must list the same names. */
static const struct output_type {
    const char *type;
    const struct lc_config_field *fields;
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

/* ---- collections ---- */

static void set_names(struct lc_config_walk *w, const struct lc_config_field *f, yaml_node_t *v,
                      void *base, const char *path)
{
    char ipath[LC_CONFIG_PATH_CAP], q[LC_CONFIG_QUOTE_CAP];
    char ***list = LC_CONFIG_AT(base, f, char **);
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

static void set_labels(struct lc_config_walk *w, const struct lc_config_field *f, yaml_node_t *v,
                       void *base, const char *path)
{
    struct lc_label_match **list = LC_CONFIG_AT(base, f, struct lc_label_match *);
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
static void walk_map(struct lc_config_walk *w, yaml_node_t *map,
                     const struct lc_config_field *table, void *base, const char *prefix,
                     int ignore_unknown)
{
    int seen[MAX_FIELDS] = {0};
    int outer_key_line = w->key_line;

    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        char path[LC_CONFIG_PATH_CAP];
        yaml_node_t *k = lc_config_node(w, p->key);
        const char *key = lc_config_key_text(w, k, prefix, path);
        const struct lc_config_field *f = table;
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

static void set_section(struct lc_config_walk *w, const struct lc_config_field *f, yaml_node_t *v,
                        void *base, const char *path)
{
    if (lc_config_open_collection(w, v, YAML_MAPPING_NODE, 1, 0, path, "a mapping") > 0) {
        walk_map(w, v, f->sub, base, path, 0);
    }
}

/* The keys of output type TYPE, or NULL when the type is unknown. */
static const struct lc_config_field *output_fields(const char *type)
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
    const struct lc_config_field *table = common_output_fields;
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

static void set_outputs(struct lc_config_walk *w, const struct lc_config_field *f, yaml_node_t *v,
                        void *base, const char *path)
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
