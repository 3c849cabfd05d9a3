/* config_schema: the config core's keys and the walk of a mapping with tables of keys.
 * Each section has a table of known keys (struct lc_config_option: key, type, default,
 * help, offset, range); lc_config_walk_tables walks a mapping with one or more tables,
 * rejecting unknown and repeated keys, and the setter of each key's type (the scalar ones
 * are in config_setters.c, lists, label maps and sections here) checks one value node and
 * stores it, replacing and freeing what was there. Every problem is reported through
 * config_yaml and the walk goes on, so one load reports them all. The keys of inputs and
 * outputs are their plugins' (config_instance.c walks them); keys that depend on each
 * other are checked afterwards, in config.c. */
#include "config/config_schema.h"
#include "config/config_setters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

#define MAX_ENTRIES 1000 /* name patterns or labels in one list; keeps duplicate checks cheap */
#define MAX_SECTIONS 8   /* top-level sections of input types */

static void set_section(struct lc_config_walk *, const struct lc_config_option *, yaml_node_t *,
                        void *, const char *);

#define CFG(m) offsetof(struct lc_config, m)
#define OUT(m) offsetof(struct lc_output_config, m)
#define IN(m) offsetof(struct lc_input_config, m)

static const struct lc_config_option api_fields[] = {
    {.key = "listen",
     .type = LC_OPT_CUSTOM,
     .type_doc = "host:port",
     .set = lc_config_set_listen,
     .def = "127.0.0.1:8401",
     .help = "host:port of the HTTP API (/health, /metrics, ...); a host that is not a loopback "
             "address needs api.token",
     .off = CFG(api_listen)},
    {.key = "token",
     .type = LC_OPT_STRING,
     .help = "bearer token every endpoint but /health and /metrics asks for (never printed)",
     .off = CFG(api_token)},
    {.key = NULL},
};

static const struct lc_config_option supervisor_fields[] = {
    {.key = "check_interval",
     .type = LC_OPT_DURATION,
     .def = "5s",
     .help = "how often the watchdog looks at every task; below task_timeout",
     .off = CFG(supervisor.check_interval_ms),
     .max = LC_DAY_MS},
    {.key = "task_timeout",
     .type = LC_OPT_DURATION,
     .def = "5m",
     .help = "a task silent this long is restarted",
     .off = CFG(supervisor.task_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "restart_backoff_min",
     .type = LC_OPT_DURATION,
     .def = "1s",
     .help = "wait before the first restart of a stalled task",
     .off = CFG(supervisor.restart_backoff_min_ms),
     .max = LC_DAY_MS},
    {.key = "restart_backoff_max",
     .type = LC_OPT_DURATION,
     .def = "1m",
     .help = "longest wait between restarts; at least restart_backoff_min",
     .off = CFG(supervisor.restart_backoff_max_ms),
     .max = LC_DAY_MS},
    {.key = "loop_stall_timeout",
     .type = LC_OPT_DURATION,
     .def = "10s",
     .help = "event loop not turning this long: logged and unhealthy; at twice this, abort",
     .off = CFG(supervisor.loop_stall_timeout_ms),
     .max = LC_DAY_MS},
    {.key = NULL},
};

static const struct lc_config_option spool_fields[] = {
    {.key = "segment_bytes",
     .type = LC_OPT_SIZE,
     .def = "64MiB",
     .help = "size at which the spool starts a new segment file",
     .off = CFG(spool.segment_bytes),
     .min = 64 * LC_KIB,
     .max = 4096 * LC_MIB},
    {.key = "max_bytes",
     .type = LC_OPT_SIZE,
     .def = "1GiB",
     .help = "most disk space the segments take (at least 2 x segment_bytes); when full, "
             "reading pauses",
     .off = CFG(spool.max_bytes),
     .min = 128 * LC_KIB,
     .max = 16 * 1024 * 1024 * LC_MIB},
    {.key = "sync",
     .type = LC_OPT_CUSTOM,
     .type_doc = "always, interval or never",
     .set = lc_config_set_sync,
     .def = "interval",
     .help = "when writes are forced to disk: always, interval or never",
     .off = CFG(spool.sync)},
    {.key = "sync_interval",
     .type = LC_OPT_DURATION,
     .def = "1s",
     .help = "with sync: interval, how often",
     .off = CFG(spool.sync_interval_ms),
     .max = LC_HOUR_MS},
    {.key = NULL},
};

static const struct lc_config_option root_fields[] = {
    {.key = "data_dir",
     .type = LC_OPT_STRING,
     .def = "./logcap-data",
     .help = "where the spool, positions and dead letters live",
     .off = CFG(data_dir)},
    {.key = "log_level",
     .type = LC_OPT_CUSTOM,
     .type_doc = "error, warn, info or debug",
     .set = lc_config_set_level,
     .def = "info",
     .help = "error, warn, info or debug: how much logcap logs about itself",
     .off = CFG(log_level)},
    {.key = "hostname",
     .type = LC_OPT_STRING,
     .def_doc = "this machine's hostname",
     .help = "the host field of every record",
     .off = CFG(hostname)},
    {.key = "api", .type = LC_OPT_SECTION, .sub = api_fields, .help = "the HTTP API"},
    {.key = "supervisor",
     .type = LC_OPT_SECTION,
     .sub = supervisor_fields,
     .help = "the watchdog of every task"},
    {.key = "spool", .type = LC_OPT_SECTION, .sub = spool_fields, .help = "the on-disk buffer"},
    {.key = "inputs",
     .type = LC_OPT_CUSTOM,
     .type_doc = "list of inputs",
     .set = lc_config_set_inputs,
     .def_doc = "one docker input",
     .help = "the list of inputs: {type: TYPE, name: NAME, ...the type's keys}"},
    {.key = "outputs",
     .type = LC_OPT_CUSTOM,
     .type_doc = "list of outputs",
     .set = lc_config_set_outputs,
     .def_doc = "one file output",
     .help = "the list of outputs: {type: TYPE, name: NAME, ...the type's keys}"},
    {.key = NULL},
};

/* Sections of every output. Their offsets are into the output entry: a section is walked
 * with the base of the mapping that holds it. */
static const struct lc_config_option batch_fields[] = {
    {.key = "max_records",
     .type = LC_OPT_UINT,
     .def = "2048",
     .help = "most records in one batch",
     .off = OUT(batch.max_records),
     .min = 1,
     .max = 1000000},
    {.key = "max_bytes",
     .type = LC_OPT_SIZE,
     .def = "4MiB",
     .help = "most message bytes in one batch; one bigger record goes alone",
     .off = OUT(batch.max_bytes),
     .min = LC_KIB,
     .max = 256 * LC_MIB},
    {.key = "max_wait",
     .type = LC_OPT_DURATION,
     .def = "100ms",
     .help = "a batch that is not full leaves this long after its first record",
     .off = OUT(batch.max_wait_ms),
     .max = LC_HOUR_MS},
    {.key = NULL},
};

static const struct lc_config_option retry_fields[] = {
    {.key = "backoff_min",
     .type = LC_OPT_DURATION,
     .def = "500ms",
     .help = "wait after the first failed send of a batch",
     .off = OUT(retry.backoff_min_ms),
     .max = LC_DAY_MS},
    {.key = "backoff_max",
     .type = LC_OPT_DURATION,
     .def = "30s",
     .help = "longest wait between two sends of one batch; at least backoff_min",
     .off = OUT(retry.backoff_max_ms),
     .max = LC_DAY_MS},
    {.key = "max_attempts",
     .type = LC_OPT_UINT,
     .def = "0",
     .help = "0: retry without limit; else after this many failed sends the batch goes to the "
             "dead-letter file",
     .off = OUT(retry.max_attempts),
     .min = 0,
     .max = 1000000},
    {.key = NULL},
};

/* The keys every output has; the rest of an entry belongs to its type's table. */
static const struct lc_config_option output_fields[] = {
    {.key = "type",
     .type = LC_OPT_STRING,
     .def_doc = "required",
     .help = "the kind of output",
     .off = OUT(type)},
    {.key = "name",
     .type = LC_OPT_NAME,
     .def_doc = "the type",
     .help = "unique among outputs; in logs, metrics and /tasks",
     .off = OUT(name)},
    {.key = "batch", .type = LC_OPT_SECTION, .sub = batch_fields, .help = "batches"},
    {.key = "retry", .type = LC_OPT_SECTION, .sub = retry_fields, .help = "retries"},
    {.key = "start_at",
     .type = LC_OPT_CUSTOM,
     .type_doc = "end or oldest",
     .set = lc_config_set_start_at,
     .def = "end",
     .help = "end or oldest: where an output with no cursor yet starts reading the spool",
     .off = OUT(start_oldest)},
    {.key = NULL},
};

/* The keys every input in the inputs: list has. */
static const struct lc_config_option input_fields[] = {
    {.key = "type",
     .type = LC_OPT_STRING,
     .def_doc = "required",
     .help = "the kind of input",
     .off = IN(type)},
    {.key = "name",
     .type = LC_OPT_NAME,
     .def_doc = "the type",
     .help = "unique among inputs; in logs, metrics, /tasks and the spool's positions",
     .off = IN(name)},
    {.key = "enabled",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "false: the input is configured but not run",
     .off = IN(enabled)},
    {.key = NULL},
};

/* The keys of an input written as a top-level section named as its type (docker:), the
 * instance named as the type: its type and name are given by the key. */
static const struct lc_config_option input_section_fields[] = {
    {.key = "enabled",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "false: the input is configured but not run",
     .off = IN(enabled)},
    {.key = NULL},
};

const struct lc_config_option *lc_config_root_options(void)
{
    return root_fields;
}

const struct lc_config_option *lc_config_input_options(int section)
{
    return section ? input_section_fields : input_fields;
}

const struct lc_config_option *lc_config_output_options(void)
{
    return output_fields;
}

/* ---- lists ---- */

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static void free_labels(void *list, size_t n)
{
    struct lc_label_match *labels = list;
    for (size_t i = 0; i < n; i++) {
        free(labels[i].key);
        free(labels[i].value);
    }
    free(labels);
}

static void set_names(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                      void *base, const char *path)
{
    char ipath[LC_CONFIG_PATH_CAP], why[2 * LC_CONFIG_QUOTE_CAP];
    char ***list = LC_CONFIG_AT(base, f, char **);
    size_t *count = (size_t *)((char *)base + f->off_n);
    int rc = lc_config_open_collection(w, v, YAML_SEQUENCE_NODE, 1, MAX_ENTRIES, path,
                                       "a list of name patterns");

    if (rc < 0) {
        return;
    }
    free_names(*list, *count);
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
        } else if (f->check != NULL && f->check(&s, why, sizeof why) != 0) {
            lc_config_report(w, lc_config_line(item), ipath, "%s", why);
        } else {
            (*list)[(*count)++] = lc_xstrdup(s);
        }
    }
}

static int add_label(struct lc_config_walk *w, void *entry, const char *name, yaml_node_t *v,
                     const char *kpath)
{
    struct lc_label_match *e = entry;
    const char *value = lc_config_scalar(w, v, kpath, "a label value (\"*\" for any value)");
    if (value == NULL) {
        return -1;
    }
    e->key = lc_xstrdup(name);
    e->value = lc_xstrdup(value);
    return 0;
}

static void set_labels(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                       void *base, const char *path)
{
    static const struct lc_config_mapping labels = {
        .elem = sizeof(struct lc_label_match),
        .what = "a mapping of label: value",
        .empty_key = "label names must not be empty",
        .free_list = free_labels,
        .add = add_label,
    };
    lc_config_read_mapping(w, f, v, base, path, &labels);
}

/* ---- mappings of name: string (LC_OPT_STRMAP) ---- */

void lc_config_pairs_free(struct lc_config_pair *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].value);
    }
    free(list);
}

static void free_pair_list(void *list, size_t n)
{
    lc_config_pairs_free(list, n);
}

static int add_pair(struct lc_config_walk *w, void *entry, const char *name, yaml_node_t *v,
                    const char *kpath)
{
    struct lc_config_pair *e = entry;
    const char *value = lc_config_scalar(w, v, kpath, "a string");
    if (value == NULL) {
        return -1;
    }
    e->name = lc_xstrdup(name);
    e->value = lc_xstrdup(value);
    e->line = lc_config_line(v);
    return 0;
}

static void set_strmap(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                       void *base, const char *path)
{
    static const struct lc_config_mapping pairs = {
        .elem = sizeof(struct lc_config_pair),
        .what = "a mapping of name: value",
        .empty_key = "names must not be empty",
        .check_names = 1,
        .free_list = free_pair_list,
        .add = add_pair,
    };
    lc_config_read_mapping(w, f, v, base, path, &pairs);
}

/* ---- mappings ---- */

/* The setter of option O: its own (LC_OPT_CUSTOM), or its type's. */
static lc_config_set_fn setter_of(const struct lc_config_option *o)
{
    switch (o->type) {
    case LC_OPT_STRING:
        return lc_config_set_string;
    case LC_OPT_NAME:
        return lc_config_set_name;
    case LC_OPT_BOOL:
        return lc_config_set_bool;
    case LC_OPT_UINT:
        return lc_config_set_uint;
    case LC_OPT_SIZE:
        return lc_config_set_size;
    case LC_OPT_DURATION:
        return lc_config_set_duration;
    case LC_OPT_ENUM:
        return lc_config_set_enum;
    case LC_OPT_TAIL:
        return lc_config_set_tail;
    case LC_OPT_NAMES:
        return set_names;
    case LC_OPT_LABELS:
        return set_labels;
    case LC_OPT_TEMPLATE:
        return lc_config_set_template;
    case LC_OPT_TEMPLATES:
        return lc_config_set_templates;
    case LC_OPT_STRMAP:
        return set_strmap;
    case LC_OPT_SECTION:
        return set_section;
    case LC_OPT_CUSTOM:
        break;
    }
    return o->set;
}

/* Runs O's own check on the scalar value just stored in BASE. An empty string of an
 * LC_OPT_EMPTY_NONE option is stored as NULL: "none", which is no value to check (a check
 * reads a string, never NULL). */
static void check_stored(struct lc_config_walk *w, const struct lc_config_option *o, void *base,
                         int line, const char *path)
{
    char why[2 * LC_CONFIG_QUOTE_CAP];

    if (o->type == LC_OPT_STRING && (o->flags & LC_OPT_EMPTY_NONE) &&
        *LC_CONFIG_AT(base, o, char *) == NULL) {
        return;
    }
    if (o->check != NULL && o->type != LC_OPT_NAMES && o->type != LC_OPT_LABELS &&
        o->type != LC_OPT_TEMPLATES && o->type != LC_OPT_STRMAP &&
        o->check((char *)base + o->off, why, sizeof why) != 0) {
        lc_config_report(w, line, path, "%s", why);
    }
}

/* Sets the key of table T (entry O) from value node V. */
static void set_one(struct lc_config_walk *w, const struct lc_config_table_walk *t,
                    const struct lc_config_option *o, yaml_node_t *v, const char *path)
{
    int errors = w->n_errors;

    setter_of(o)(w, o, v, t->base, path);
    if (w->n_errors == errors) {
        check_stored(w, o, t->base, lc_config_line(v), path);
    }
    if (t->lines != NULL) {
        t->lines[o - t->table] = w->n_errors == errors ? lc_config_line(v) : -1;
    }
}

/* Finds KEY in the N tables of TABS: returns its entry and sets *WHICH to its table. */
static const struct lc_config_option *find_key(const struct lc_config_table_walk *tabs, size_t n,
                                               const char *key, size_t *which)
{
    for (size_t t = 0; t < n; t++) {
        for (const struct lc_config_option *o = tabs[t].table; o != NULL && o->key != NULL; o++) {
            if (strcmp(o->key, key) == 0) {
                *which = t;
                return o;
            }
        }
    }
    return NULL;
}

void lc_config_walk_tables(struct lc_config_walk *w, yaml_node_t *map,
                           const struct lc_config_table_walk *tabs, size_t n, const char *prefix,
                           int ignore_unknown)
{
    int *seen[LC_CONFIG_MAX_TABLES];
    int outer_key_line = w->key_line;

    for (size_t t = 0; t < n; t++) {
        seen[t] = lc_xcalloc(lc_config_options_count(tabs[t].table) + 1, sizeof(int));
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        char path[LC_CONFIG_PATH_CAP];
        yaml_node_t *k = lc_config_node(w, p->key);
        const char *key = lc_config_key_text(w, k, prefix, path);
        const struct lc_config_option *o;
        size_t t = 0;
        int *at;
        if (key == NULL) {
            continue;
        }
        o = find_key(tabs, n, key, &t);
        if (o == NULL) {
            if (!ignore_unknown) {
                lc_config_report(w, lc_config_line(k), path, "unknown key");
            }
            continue;
        }
        at = &seen[t][o - tabs[t].table];
        if (*at != 0) {
            lc_config_report(w, lc_config_line(k), path, "key given twice (also at line %d)", *at);
            continue;
        }
        *at = lc_config_line(k);
        w->key_line = lc_config_line(k);
        set_one(w, &tabs[t], o, lc_config_node(w, p->value), path);
    }
    w->key_line = outer_key_line;
    for (size_t t = 0; t < n; t++) {
        free(seen[t]);
    }
}

static void walk_map(struct lc_config_walk *w, yaml_node_t *map,
                     const struct lc_config_option *table, void *base, const char *prefix)
{
    struct lc_config_table_walk t = {.table = table, .base = base};
    lc_config_walk_tables(w, map, &t, 1, prefix, 0);
}

static void set_section(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path)
{
    if (lc_config_open_collection(w, v, YAML_MAPPING_NODE, 1, 0, path, "a mapping") > 0) {
        walk_map(w, v, f->sub, base, path);
    }
}

void lc_config_schema_walk(struct lc_config_walk *w, yaml_node_t *root, struct lc_config *c)
{
    /* The core's keys, and one per input type that has a top-level section (docker:). */
    size_t n_core = lc_config_options_count(root_fields), n = n_core;
    struct lc_config_option *table = lc_xcalloc(n_core + MAX_SECTIONS + 1, sizeof *table);
    const struct lc_config_plugin *const *in = w->cat->inputs;

    memcpy(table, root_fields, n_core * sizeof *table);
    for (size_t i = 0; in != NULL && in[i] != NULL && n < n_core + MAX_SECTIONS; i++) {
        if (in[i]->flags & LC_PLUGIN_SECTION) {
            table[n++] = (struct lc_config_option){.key = in[i]->type,
                                                   .type = LC_OPT_CUSTOM,
                                                   .set = lc_config_set_input_section,
                                                   .plugin = in[i]};
        }
    }
    walk_map(w, root, table, c, "");
    free(table);
}
