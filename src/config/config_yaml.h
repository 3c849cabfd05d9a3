/* config_yaml: the YAML side of the config loader, shared by config.c, config_schema.c and
 * config_instance.c and not for use outside the config module. It parses the text into one
 * libyaml document, reports problems as "config error: FILE:LINE: KEY.PATH: what is
 * wrong", and gives the walk checked access to nodes (scalars, mappings, lists, aliases).
 * It owns nothing: the document and the per-node marks belong to the load in config.c. */
#ifndef LC_CONFIG_YAML_H
#define LC_CONFIG_YAML_H

#include <stddef.h>
#include <stdio.h>
#include <yaml.h>

#define LC_CONFIG_PATH_CAP 320 /* "docker.include_labels.KEY" and the like */
#define LC_CONFIG_QUOTE_CAP 80 /* a quoted value in a message, cut with "..." */

struct lc_config_catalog;
struct lc_config_pending;

/* One load: the parsed document and where problems go. */
struct lc_config_walk {
    yaml_document_t *doc;
    const char *name;
    FILE *errors;
    int n_errors;
    unsigned char *used; /* per node: this list or mapping was walked already */
    int key_line;        /* line of the key being walked (an alias node has no line of its own) */
    const struct lc_config_catalog *cat; /* the plugin types (config_option.h) */
    struct lc_config_pending *pending;   /* config_schema.c: what the walk assembles last */
};

/* Parses exactly one YAML document of the LEN bytes of TEXT into DOC. Returns 0 (DOC is
 * then the caller's to delete; a second document is reported but the first kept), or
 * -EINVAL after reporting a syntax error (DOC holds nothing). Aborts when out of memory. */
int lc_config_parse(struct lc_config_walk *w, yaml_document_t *doc, const char *text, size_t len);

/* Counts one problem and prints it to W->errors (when not NULL) as one line
 * "config error: NAME:LINE: PATH: message". */
void lc_config_report(struct lc_config_walk *w, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The 1-based line where node N starts. */
int lc_config_line(const yaml_node_t *n);

/* Writes the LEN bytes of S into DST (CAP bytes) as printable text: control bytes, quotes
 * and backslashes escaped, long text cut with "...". Returns DST. */
const char *lc_config_printable(char *dst, size_t cap, const unsigned char *s, size_t len);

/* Like lc_config_printable, in double quotes. Returns DST. */
const char *lc_config_quote(char *dst, size_t cap, const char *s, size_t len);

/* The value of scalar V, quoted as by lc_config_quote. Returns DST. */
const char *lc_config_quote_node(char *dst, size_t cap, const yaml_node_t *v);

/* 1 when V is a plain scalar YAML reads as null ("key:" with nothing after it, "~",
 * "null"), else 0. */
int lc_config_is_null(const yaml_node_t *v);

/* Names the kind or value of V for "expected X, got Y": "a mapping", "a list", "nothing",
 * or the quoted value (written into DST). */
const char *lc_config_describe(char *dst, size_t cap, const yaml_node_t *v);

/* The node at INDEX of the document; the index must be valid (libyaml made it). */
yaml_node_t *lc_config_node(struct lc_config_walk *w, int index);

/* The text of scalar V, or NULL after reporting that V is not a string WHAT wants (or holds
 * a NUL byte). */
const char *lc_config_scalar(struct lc_config_walk *w, yaml_node_t *v, const char *path,
                             const char *what);

/* The value of KEY in mapping MAP (its first occurrence), or NULL (also when MAP is NULL
 * or not a mapping). */
yaml_node_t *lc_config_map_get(struct lc_config_walk *w, yaml_node_t *map, const char *key);

/* The number of entries of list or mapping V. */
size_t lc_config_collection_size(const yaml_node_t *v);

/* Checks that V is a TYPE collection of at most MAX entries (0: any number), and not one
 * walked already (an alias of it), and marks it walked. Returns 1 to walk it, 0 for a null
 * value when NULL_OK (an empty collection), or -1 after reporting. */
int lc_config_open_collection(struct lc_config_walk *w, yaml_node_t *v, yaml_node_type_t type,
                              int null_ok, size_t max, const char *path, const char *what);

/* The text of mapping key K, with PATH (LC_CONFIG_PATH_CAP bytes) set to PREFIX.KEY; NULL
 * after reporting a key that is not a string or holds a NUL byte. */
const char *lc_config_key_text(struct lc_config_walk *w, yaml_node_t *k, const char *prefix,
                               char *path);

#endif
