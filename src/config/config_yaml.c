/* config_yaml: parsing the config text into one libyaml document (with line numbers on
 * every node), one-line error reports, and checked access to the nodes for the walk in
 * config_schema.c and the checks in config.c. Keeps nothing between calls. */
#include "config/config_yaml.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- reporting ---- */

void lc_config_report(struct lc_config_walk *w, int line, const char *path, const char *fmt, ...)
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

int lc_config_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* Writes S as printable text into DST: control bytes, quotes and backslashes escaped, and
 * long text cut with "...", so that every message stays on one line. */
const char *lc_config_printable(char *dst, size_t cap, const unsigned char *s, size_t len)
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

const char *lc_config_quote(char *dst, size_t cap, const char *s, size_t len)
{
    dst[0] = '"';
    lc_config_printable(dst + 1, cap - 2, (const unsigned char *)s, len);
    return strcat(dst, "\"");
}

const char *lc_config_quote_node(char *dst, size_t cap, const yaml_node_t *v)
{
    return lc_config_quote(dst, cap, (const char *)v->data.scalar.value, v->data.scalar.length);
}

/* A plain scalar that YAML reads as null: "key:" with nothing after it, "~" or "null". */
int lc_config_is_null(const yaml_node_t *v)
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
const char *lc_config_describe(char *dst, size_t cap, const yaml_node_t *v)
{
    if (v->type == YAML_MAPPING_NODE) {
        return "a mapping";
    }
    if (v->type == YAML_SEQUENCE_NODE) {
        return "a list";
    }
    if (v->type != YAML_SCALAR_NODE || lc_config_is_null(v)) {
        return "nothing";
    }
    return lc_config_quote_node(dst, cap, v);
}

/* ---- node access ---- */

yaml_node_t *lc_config_node(struct lc_config_walk *w, int index)
{
    yaml_node_t *n = yaml_document_get_node(w->doc, index);
    assert(n != NULL);
    return n;
}

/* The text of scalar V, or NULL after reporting that V is not a string WHAT wants. */
const char *lc_config_scalar(struct lc_config_walk *w, yaml_node_t *v, const char *path,
                             const char *what)
{
    char d[LC_CONFIG_QUOTE_CAP];

    if (v->type != YAML_SCALAR_NODE || lc_config_is_null(v)) {
        lc_config_report(w, lc_config_line(v), path, "expected %s, got %s", what,
                         lc_config_describe(d, sizeof d, v));
        return NULL;
    }
    if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length) {
        lc_config_report(w, lc_config_line(v), path, "must not contain a NUL byte");
        return NULL;
    }
    return (const char *)v->data.scalar.value;
}

/* The value of KEY in mapping MAP (its first occurrence), or NULL. */
yaml_node_t *lc_config_map_get(struct lc_config_walk *w, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = lc_config_node(w, p->key);
        if (k->type == YAML_SCALAR_NODE && !lc_config_is_null(k) &&
            strcmp((const char *)k->data.scalar.value, key) == 0) {
            return lc_config_node(w, p->value);
        }
    }
    return NULL;
}

size_t lc_config_collection_size(const yaml_node_t *v)
{
    if (v->type == YAML_SEQUENCE_NODE) {
        return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    }
    return (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
}

/* Checks that V is a TYPE collection of at most MAX entries (0: any number), and not one
 * walked already (an alias of it). Returns 1 to walk it, 0 for a null value when NULL_OK
 * (an empty collection), or -1 after reporting. */
int lc_config_open_collection(struct lc_config_walk *w, yaml_node_t *v, yaml_node_type_t type,
                              int null_ok, size_t max, const char *path, const char *what)
{
    char d[LC_CONFIG_QUOTE_CAP];
    size_t i = (size_t)(v - w->doc->nodes.start);

    if (null_ok && lc_config_is_null(v)) {
        return 0;
    }
    if (v->type != type) {
        lc_config_report(w, lc_config_line(v), path, "expected %s, got %s", what,
                         lc_config_describe(d, sizeof d, v));
        return -1;
    }
    if (w->used[i]) {
        lc_config_report(
            w, w->key_line != 0 ? w->key_line : lc_config_line(v), path,
            "an alias of a list or mapping used already (aliases may only repeat strings)");
        return -1;
    }
    w->used[i] = 1;
    if (max != 0 && lc_config_collection_size(v) > max) {
        lc_config_report(w, lc_config_line(v), path, "has %zu entries, more than the %zu allowed",
                         lc_config_collection_size(v), max);
        return -1;
    }
    return 1;
}

/* The text of mapping key K, with PATH set to PREFIX.KEY; NULL after reporting. */
const char *lc_config_key_text(struct lc_config_walk *w, yaml_node_t *k, const char *prefix,
                               char *path)
{
    char d[LC_CONFIG_QUOTE_CAP], kp[LC_CONFIG_QUOTE_CAP];
    const char *key;

    if (k->type != YAML_SCALAR_NODE || lc_config_is_null(k)) {
        lc_config_report(w, lc_config_line(k), prefix[0] != '\0' ? prefix : "top level",
                         "keys must be strings, got %s", lc_config_describe(d, sizeof d, k));
        return NULL;
    }
    key = (const char *)k->data.scalar.value;
    lc_config_printable(kp, sizeof kp, k->data.scalar.value, k->data.scalar.length);
    snprintf(path, LC_CONFIG_PATH_CAP, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", kp);
    if (strlen(key) != k->data.scalar.length) {
        lc_config_report(w, lc_config_line(k), path, "keys must not contain a NUL byte");
        return NULL;
    }
    return key;
}

/* ---- parsing ---- */

static void syntax_error(struct lc_config_walk *w, const yaml_parser_t *p, const char *text,
                         size_t len)
{
    int line = (int)p->problem_mark.line + 1;

    if (p->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            line += text[i] == '\n';
        }
    }
    lc_config_report(w, line, "syntax", "%s",
                     p->problem != NULL ? p->problem : "cannot parse the file");
}

/* Parses exactly one YAML document into DOC. Returns 0, or -EINVAL after reporting. */
int lc_config_parse(struct lc_config_walk *w, yaml_document_t *doc, const char *text, size_t len)
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
    if (second != NULL && !lc_config_is_null(second)) {
        lc_config_report(w, lc_config_line(second), "syntax",
                         "the file holds more than one YAML document");
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
