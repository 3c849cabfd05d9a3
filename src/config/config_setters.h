/* config_setters: the setters of the config file's scalar keys, which config_schema.c
 * picks by an option's type (or names as an LC_OPT_CUSTOM key's set). Not for use outside
 * the config module: plugins name types (config_option.h), not setters. */
#ifndef LC_CONFIG_SETTERS_H
#define LC_CONFIG_SETTERS_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config_option.h"
#include "config/config_yaml.h"

/* The value of field F in the struct at BASE, as a TYPE lvalue. */
#define LC_CONFIG_AT(base, f, type) ((type *)((char *)(base) + (f)->off))

/* Each checks value node V of the key at PATH; a valid value is stored at F's offset in
 * BASE (replacing and freeing a string there), a wrong one is reported through W and
 * leaves BASE as it was. Ranges come from F (min, max) where the type has one. */
void lc_config_set_string(struct lc_config_walk *w, const struct lc_config_option *f,
                          yaml_node_t *v, void *base, const char *path);
void lc_config_set_name(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path);
void lc_config_set_bool(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path);
void lc_config_set_uint(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path);
void lc_config_set_duration(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path);
void lc_config_set_size(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path);
void lc_config_set_level(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                         void *base, const char *path);
void lc_config_set_enum(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path);
void lc_config_set_sync(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path);
void lc_config_set_start_at(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path);
void lc_config_set_tail(struct lc_config_walk *w, const struct lc_config_option *f, yaml_node_t *v,
                        void *base, const char *path);
/* Templates (config_template.c): one, and a mapping of name: template; a value's template
 * errors are reported with the column inside it. */
void lc_config_set_template(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path);
void lc_config_set_templates(struct lc_config_walk *w, const struct lc_config_option *f,
                             yaml_node_t *v, void *base, const char *path);
/* Stores the default (F->def) of LC_OPT_TEMPLATE or LC_OPT_TEMPLATES option F into BASE.
 * Returns 0, or -1 when the default does not read as its type (printed to stderr). */
int lc_config_template_default(const struct lc_config_option *f, void *base);
/* Frees the N entries of LIST and LIST. */
void lc_config_templates_free(struct lc_template_pair *list, size_t n);
/* Frees an LC_OPT_STRMAP value of N entries. */
void lc_config_pairs_free(struct lc_config_pair *list, size_t n);
void lc_config_set_listen(struct lc_config_walk *w, const struct lc_config_option *f,
                          yaml_node_t *v, void *base, const char *path);

/* How an option whose value is a mapping (name: value) stores its entries; the shared
 * walk (lc_config_read_mapping) does the rest. */
struct lc_config_mapping {
    size_t elem;           /* the size of one entry of the option's array */
    const char *what;      /* what the value must be: "a mapping of name: value" */
    const char *empty_key; /* the error for an empty name */
    int check_names;       /* the option's check judges each name */
    /* Frees the N entries of LIST and LIST. */
    void (*free_list)(void *list, size_t n);
    /* Stores the entry NAME (its path KPATH) with value node V at ENTRY (zeroed). Returns 0,
     * or -1 after reporting what is wrong with the value. */
    int (*add)(struct lc_config_walk *w, void *entry, const char *name, yaml_node_t *v,
               const char *kpath);
};

/* Reads mapping V at PATH into F's array (at F's offset in BASE, its count at off_n), with
 * M's entries: the file's mapping replaces the one there whole, `{}` leaves none. Each name
 * must be a non-empty string, given once, and pass F's check when M asks; what is wrong is
 * reported at its line, and the rest is still read. */
void lc_config_read_mapping(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path,
                            const struct lc_config_mapping *m);

#endif
