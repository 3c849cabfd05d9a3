/* config_template: the config types of templates (core/template.h). LC_OPT_TEMPLATE holds one
 * template, LC_OPT_TEMPLATES a mapping of names to templates (Loki's labels:,
 * structured_metadata:). Both parse their templates while the file is read, so a bad one
 * is a config error naming the file, the line and the key, with the column inside the
 * template: "config error: FILE:LINE: outputs[0].labels.host: column 4: unknown
 * variable ...". A mapping's default is written as a YAML flow mapping and read by the same
 * setter, so a default obeys the rules of the file. See config_setters.h. */
#include "config/config_setters.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/template.h"

/* Parses S (the value of the key at PATH, node V) into *OUT; NULL after reporting. */
static struct lc_template *parse_value(struct lc_config_walk *w, yaml_node_t *v, const char *s,
                                       const char *path)
{
    char err[LC_TEMPLATE_ERR_CAP];
    struct lc_template *t = NULL;

    if (s[0] == '\0') {
        lc_config_report(w, lc_config_line(v), path, "must not be empty");
        return NULL;
    }
    if (lc_template_parse(s, strlen(s), &t, err, sizeof err) != 0) {
        lc_config_report(w, lc_config_line(v), path, "%s", err);
        return NULL;
    }
    return t;
}

void lc_config_set_template(struct lc_config_walk *w, const struct lc_config_option *f,
                            yaml_node_t *v, void *base, const char *path)
{
    const char *s = lc_config_scalar(w, v, path, "a template");
    struct lc_template *t;

    if (s != NULL && s[0] == '\0' && (f->flags & LC_OPT_EMPTY_NONE)) {
        lc_template_destroy(*LC_CONFIG_AT(base, f, struct lc_template *));
        *LC_CONFIG_AT(base, f, struct lc_template *) = NULL; /* "" is none */
        return;
    }
    t = s != NULL ? parse_value(w, v, s, path) : NULL;
    if (t != NULL) {
        lc_template_destroy(*LC_CONFIG_AT(base, f, struct lc_template *));
        *LC_CONFIG_AT(base, f, struct lc_template *) = t;
    }
}

void lc_config_templates_free(struct lc_template_pair *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        lc_template_destroy(list[i].value);
    }
    free(list);
}

static void free_template_list(void *list, size_t n)
{
    lc_config_templates_free(list, n);
}

static int add_template(struct lc_config_walk *w, void *entry, const char *name, yaml_node_t *v,
                        const char *kpath)
{
    struct lc_template_pair *e = entry;
    const char *s = lc_config_scalar(w, v, kpath, "a template");
    struct lc_template *t = s != NULL ? parse_value(w, v, s, kpath) : NULL;
    if (t == NULL) {
        return -1;
    }
    e->name = lc_xstrdup(name);
    e->value = t;
    return 0;
}

/* The file's mapping replaces the default one whole: "labels: {}" means none. */
void lc_config_set_templates(struct lc_config_walk *w, const struct lc_config_option *f,
                             yaml_node_t *v, void *base, const char *path)
{
    static const struct lc_config_mapping templates = {
        .elem = sizeof(struct lc_template_pair),
        .what = "a mapping of name: template",
        .empty_key = "names must not be empty",
        .check_names = 1,
        .free_list = free_template_list,
        .add = add_template,
    };
    lc_config_read_mapping(w, f, v, base, path, &templates);
}

int lc_config_template_default(const struct lc_config_option *f, void *base)
{
    char err[LC_TEMPLATE_ERR_CAP];
    struct lc_config_walk w = {.name = "(default)", .errors = stderr};
    yaml_document_t doc;
    int rc;

    if (f->type == LC_OPT_TEMPLATE) {
        return lc_template_parse(f->def, strlen(f->def),
                                 LC_CONFIG_AT(base, f, struct lc_template *), err, sizeof err);
    }
    w.doc = &doc;
    if (lc_config_parse(&w, &doc, f->def, strlen(f->def)) != 0) {
        return -1;
    }
    w.used = lc_xcalloc((size_t)(doc.nodes.top - doc.nodes.start), 1);
    rc = yaml_document_get_root_node(&doc) != NULL ? 0 : -1;
    if (rc == 0) {
        lc_config_set_templates(&w, f, yaml_document_get_root_node(&doc), base, f->key);
    }
    free(w.used);
    yaml_document_delete(&doc);
    return rc == 0 && w.n_errors == 0 ? 0 : -1;
}
