/* config_option: the config field types, how an input or output type declares the keys of
 * its config section (like Fluent Bit's config_map). A table of struct lc_config_option
 * names each key, its type, its default (as text, read with the same rules as the file),
 * its help text, where its value is stored in the plugin's own options struct (offsetof),
 * and an optional check of the value; struct lc_config_plugin adds the type's name, the
 * size of that struct and a check across its keys. The ops descriptor of every input and
 * output points at its lc_config_plugin.
 *
 * The config core parses only the keys every instance of a family has (type, name, ...)
 * and hands every other key of the section to the table of the instance's type; it
 * reports problems as "config error: FILE:LINE: PATH: what is wrong". The config layer
 * includes no plugin: the caller (main, cmd) hands the loader a struct lc_config_catalog
 * built from the registries. The config core's own sections use the same table type, and
 * `logcap config-reference` prints every table. */
#ifndef LC_CONFIG_OPTION_H
#define LC_CONFIG_OPTION_H

#include <stddef.h>
#include <stdint.h>

#define LC_KIB 1024ULL
#define LC_MIB (1024ULL * 1024)
#define LC_HOUR_MS (3600ULL * 1000)
#define LC_DAY_MS (24ULL * 3600 * 1000) /* the longest duration any key accepts */

/* What a key holds, and so how its value is read and stored (at off; lists and mappings
 * keep their number of entries at off_n, a size_t). */
enum lc_option_type {
    LC_OPT_STRING,    /* char *: any string but the empty one */
    LC_OPT_NAME,      /* char *: 1 to 64 letters, digits, '.', '-', '_' */
    LC_OPT_BOOL,      /* int 0 or 1: true/false, yes/no, on/off (any case) */
    LC_OPT_UINT,      /* unsigned: decimal digits, within min..max */
    LC_OPT_SIZE,      /* uint64_t bytes: 64KiB, 1MiB, 100MiB, within min..max */
    LC_OPT_DURATION,  /* uint64_t milliseconds: 500ms, 30s, 5m, 1h; from 1ms to max */
    LC_OPT_ENUM,      /* int: the index of the value in names */
    LC_OPT_TAIL,      /* long: "all" (-1) or a non-negative integer */
    LC_OPT_NAMES,     /* char ** and its count: a list of name patterns (globs) */
    LC_OPT_LABELS,    /* struct lc_label_match * and its count: a mapping label: value */
    LC_OPT_TEMPLATE,  /* struct lc_template *: a template (core/template.h), parsed at load */
    LC_OPT_TEMPLATES, /* struct lc_template_pair * and its count: a mapping name: template */
    LC_OPT_STRMAP,    /* struct lc_config_pair * and its count: a mapping name: string */
    LC_OPT_SECTION,   /* config core only: a nested mapping with the keys of sub */
    LC_OPT_CUSTOM,    /* config core only: read by set (host:port, log level, lists) */
};

/* flags of an option */
#define LC_OPT_TASK_DEADLINE                                                                       \
    1u /* a deadline inside a task: must be below                                                  \
          supervisor.task_timeout (LC_OPT_DURATION) */
/* A secret (a password, a token): whatever describes or echoes the config prints
 * "<redacted>" for it, and no message quotes its value. */
#define LC_OPT_SECRET 2u
/* LC_OPT_STRING, LC_OPT_TEMPLATE: an empty string is accepted and means "none" (NULL). */
#define LC_OPT_EMPTY_NONE 4u

/* One entry of an LC_OPT_TEMPLATES value (Loki's labels:), in the order of the file. The
 * option's def is a YAML flow mapping, "{job: logcap, host: \"{{ host }}\"}"; its check,
 * when set, checks each name (as a char *); the file's mapping replaces the default whole
 * ("{}": none). */
struct lc_template_pair {
    char *name;
    struct lc_template *value;
};

/* One entry of an LC_OPT_STRMAP value (HTTP headers:), in the order of the file. The
 * option's check, when set, checks each name (as a char *); the file's mapping replaces the
 * default whole. Values may be empty strings. */
struct lc_config_pair {
    char *name;
    char *value;
    int line; /* the line of the value in the file; 0: a default */
};

/* One entry of an LC_OPT_LABELS value. */
struct lc_label_match {
    char *key;
    char *value; /* "*" matches any value */
};

/* A check of one value after it was read as its type (for lists: of each entry). VALUE
 * points at the value as its type stores it (for a list entry: at its char *; for an
 * LC_OPT_TEMPLATE: at its struct lc_template *; for LC_OPT_TEMPLATES and LC_OPT_STRMAP: at
 * the char * of each name). Returns 0, or -1 with WHY (CAP bytes) set to what is wrong, written
 * after "PATH: " in the report (quote values with lc_config_quote_text). */
typedef int (*lc_config_check_fn)(const void *value, char *why, size_t cap);

struct lc_config_walk;
struct lc_config_option;
struct lc_template;
struct lc_config_plugin;
struct yaml_node_s;
/* The config core's own readers, for the values no type describes. */
typedef void (*lc_config_set_fn)(struct lc_config_walk *w, const struct lc_config_option *o,
                                 struct yaml_node_s *v, void *base, const char *path);

/* One key. A table is an array of these ended by an entry whose key is NULL. */
struct lc_config_option {
    const char *key;
    enum lc_option_type type;
    /* The default, written as in the file ("100MiB", "json", "true"), stored by
     * lc_config_options_defaults and printed by config-reference. NULL: nothing is stored
     * (numbers 0, strings NULL, lists empty). */
    const char *def;
    /* How config-reference shows a default that def cannot say ("<data_dir>/logs",
     * "the type"); NULL: def. */
    const char *def_doc;
    const char *help;     /* one or two sentences for config-reference */
    const char *type_doc; /* LC_OPT_CUSTOM: how config-reference names its type */
    size_t off;           /* where the value is stored in the struct the table describes */
    size_t off_n;      /* LC_OPT_NAMES, LC_OPT_LABELS, LC_OPT_TEMPLATES, LC_OPT_STRMAP: the count */
    uint64_t min, max; /* LC_OPT_UINT, LC_OPT_SIZE; LC_OPT_DURATION: max */
    const char *const *names;              /* LC_OPT_ENUM: the values, NULL-terminated */
    lc_config_check_fn check;              /* may be NULL */
    unsigned flags;                        /* LC_OPT_TASK_DEADLINE, LC_OPT_SECRET */
    const struct lc_config_option *sub;    /* LC_OPT_SECTION: the keys of the mapping */
    const struct lc_config_plugin *plugin; /* config core only: the input section of a type */
    lc_config_set_fn set;                  /* LC_OPT_CUSTOM: reads the value */
};

/* One instance's section while its plugin's check runs (see the functions below). */
struct lc_config_check;

/* A plugin's check across its keys. It runs once the whole file was read (so that keys
 * elsewhere, such as data_dir, are known), for every instance of the type in order,
 * built-in ones included. It may complete values that depend on other keys (a directory
 * under data_dir) and reports problems with lc_config_check_report. OPTS is the
 * instance's options struct. */
typedef void (*lc_config_plugin_check_fn)(struct lc_config_check *ck, void *opts);

/* plugin flags */
#define LC_PLUGIN_DEFAULT 1u /* the built-in config has one instance of it, named as the type */
#define LC_PLUGIN_SECTION 2u /* inputs: a top-level key named as the type writes that instance */

/* A default of a key every instance of the family has (batch.max_bytes), which this type
 * sets otherwise: PATH is "SECTION.KEY" or "KEY" of the family's common table, VALUE is
 * written as in the file. The file's value wins. */
struct lc_config_default {
    const char *path;
    const char *value;
};

/* The config of one input or output type. */
struct lc_config_plugin {
    const char *type;
    const char *help;                         /* what the type does, for config-reference */
    const struct lc_config_option *options;   /* its keys */
    size_t size;                              /* sizeof its options struct */
    lc_config_plugin_check_fn check;          /* may be NULL */
    unsigned flags;                           /* LC_PLUGIN_* */
    const struct lc_config_default *defaults; /* NULL, or ended by an entry whose path is NULL */
};

/* The plugin types the loader knows, built by the caller from the registries. Each list
 * is NULL-terminated; the order is the order of the registries. */
struct lc_config_catalog {
    const struct lc_config_plugin *const *inputs;
    const struct lc_config_plugin *const *outputs;
};

/* The type named TYPE in LIST (a catalogue list), or NULL. */
const struct lc_config_plugin *lc_config_plugin_find(const struct lc_config_plugin *const *list,
                                                     const char *type);

/* A new options struct of P holding every key's default. The caller owns it (free it with
 * lc_config_plugin_free). Aborts when a default of the table does not read as its type:
 * a bug in the table, caught by any test that creates one. */
void *lc_config_plugin_create(const struct lc_config_plugin *p);
/* A deep copy of OPTS, an options struct of P. The caller owns it. OPTS NULL: NULL. */
void *lc_config_plugin_copy(const struct lc_config_plugin *p, const void *opts);
/* Frees OPTS with every string and list it holds. NULL is a no-op. */
void lc_config_plugin_free(const struct lc_config_plugin *p, void *opts);

/* The same for any table: store TABLE's defaults into BASE (which owns nothing the table
 * describes yet); deep-copy what TABLE describes from SRC into DST (DST a bytewise copy of
 * SRC already); free what TABLE describes in BASE and zero it. Sections recurse. */
void lc_config_options_defaults(const struct lc_config_option *table, void *base);
void lc_config_options_copy(const struct lc_config_option *table, void *dst, const void *src);
void lc_config_options_free(const struct lc_config_option *table, void *base);

/* Stores into BASE (described by TABLE) each of DEFS (ended by a NULL path) as the default
 * of its key, replacing the table's. Aborts on a path the table does not have or a value
 * that does not read as its type: a bug in the plugin, caught by any test that loads it. */
void lc_config_options_override(const struct lc_config_option *table,
                                const struct lc_config_default *defs, void *base);

/* The number of entries of TABLE. */
size_t lc_config_options_count(const struct lc_config_option *table);

/* For config-reference: the type of O as the docs write it ("size", "json or text"), its
 * range ("4KiB-1TiB", "" when none) and its default ("100MiB", "none"), each into a buffer
 * of CAP bytes. */
void lc_config_option_describe(const struct lc_config_option *o, char *type, char *range, char *def,
                               size_t cap);

/* ---- for a plugin's check ---- */

/* The data directory of the config being checked. */
const char *lc_config_check_data_dir(const struct lc_config_check *ck);

/* KEY NULL: the line of the instance's section (0 for a built-in instance). Else the line
 * of KEY's value when the file gives it and it was valid, 0 when the file does not give
 * it, -1 when it was given but rejected (reported already: compare nothing with it). */
int lc_config_check_line(const struct lc_config_check *ck, const char *key);

/* How messages name the instance: "outputs[1]", "inputs[0]" or "docker". */
const char *lc_config_check_path(const struct lc_config_check *ck);

/* Reports a problem with KEY of this instance at LINE:
 * "config error: FILE:LINE: <path>.KEY: message". */
void lc_config_check_report(struct lc_config_check *ck, int line, const char *key, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

/* The options of the I-th instance (from 0) of the same type that comes before this one
 * in its list, with its name and line; NULL past the last. For rules between instances
 * (two file outputs may not share a directory). */
const void *lc_config_check_peer(const struct lc_config_check *ck, size_t i, const char **name,
                                 int *line);

/* Replaces *SECRET (a heap string of the options, freed first) with the contents of the
 * secret file FILE, read with lc_config_read_secret; when it cannot be read, reports at
 * LINE of KEY instead. Does nothing when FILE is NULL or LINE is negative (the key was
 * rejected and reported already). */
void lc_config_check_secret_file(struct lc_config_check *ck, const char *key, int line,
                                 const char *file, char **secret);

/* Reads the secret (a password, a token) in the file PATH into *OUT, a heap string the
 * caller owns, trailing CR/LF trimmed. Returns 0, or -1 with WHY (CAP bytes) set: the file
 * cannot be read, is larger than 64KiB, empty, or holds a NUL byte. */
int lc_config_read_secret(const char *path, char **out, char *why, size_t cap);

/* ---- formatting values in messages ---- */

/* S in double quotes, control bytes, quotes and backslashes escaped, cut with "..." to fit
 * DST (CAP bytes). Returns DST. */
const char *lc_config_quote_text(char *dst, size_t cap, const char *s);

/* MS with the largest unit (h, m, s, ms) that divides it exactly. Returns DST. */
const char *lc_config_fmt_duration(char *dst, size_t cap, uint64_t ms);

/* BYTES with the largest unit (TiB, GiB, MiB, KiB, B) that divides it exactly. Returns DST. */
const char *lc_config_fmt_size(char *dst, size_t cap, uint64_t bytes);

#endif
