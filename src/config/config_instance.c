/* config_instance: the inputs and outputs of the config. Each entry of "inputs:" and
 * "outputs:" is walked with the keys every entry of its family has (config_schema.c's
 * tables) and the table of its type, found in the catalogue the caller gave the loader;
 * the type's options live in a struct of the plugin's own (opts), which the plugin's table
 * defaults, copies and frees. An input type flagged LC_PLUGIN_SECTION can also be written
 * as a top-level key named as the type (docker:): that is the instance named as the type.
 * After the walk every instance's plugin check runs, through struct lc_config_check. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "config/config_schema.h"

#define MAX_INSTANCES 64 /* entries of inputs: or outputs: */
#define MAX_SECTIONS 8   /* top-level sections of input types */

/* What the walk keeps until lc_config_finish_inputs: the instances written as top-level
 * sections, and the lines naming the entries of inputs:. */
struct lc_config_pending {
    struct lc_input_config sections[MAX_SECTIONS];
    size_t n_sections;
    int inputs_given;
    int *name_lines;
};

/* ---- instances ---- */

void lc_config_output_free(struct lc_output_config *oc)
{
    if (oc->plugin != NULL) {
        lc_config_plugin_free(oc->plugin, oc->opts);
    }
    lc_config_options_free(lc_config_output_options(), oc);
    free(oc->key_lines);
    memset(oc, 0, sizeof *oc);
}

void lc_config_input_free(struct lc_input_config *ic)
{
    if (ic->plugin != NULL) {
        lc_config_plugin_free(ic->plugin, ic->opts);
    }
    lc_config_options_free(lc_config_input_options(0), ic);
    free(ic->key_lines);
    memset(ic, 0, sizeof *ic);
}

static int *copy_lines(const int *lines, const struct lc_config_plugin *p)
{
    size_t n = p != NULL ? lc_config_options_count(p->options) : 0;
    int *copy;
    if (lines == NULL || n == 0) {
        return NULL;
    }
    copy = lc_xcalloc(n, sizeof *copy);
    memcpy(copy, lines, n * sizeof *copy);
    return copy;
}

void lc_config_output_copy(struct lc_output_config *dst, const struct lc_output_config *src)
{
    *dst = *src;
    lc_config_options_copy(lc_config_output_options(), dst, src);
    dst->opts = src->plugin != NULL ? lc_config_plugin_copy(src->plugin, src->opts) : NULL;
    dst->key_lines = copy_lines(src->key_lines, src->plugin);
}

void lc_config_input_copy(struct lc_input_config *dst, const struct lc_input_config *src)
{
    *dst = *src;
    lc_config_options_copy(lc_config_input_options(0), dst, src);
    dst->opts = src->plugin != NULL ? lc_config_plugin_copy(src->plugin, src->opts) : NULL;
    dst->key_lines = copy_lines(src->key_lines, src->plugin);
}

void lc_config_free_outputs(struct lc_output_config *outputs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lc_config_output_free(&outputs[i]);
    }
    free(outputs);
}

void lc_config_free_inputs(struct lc_input_config *inputs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lc_config_input_free(&inputs[i]);
    }
    free(inputs);
}

const struct lc_input_config *lc_config_input(const struct lc_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_inputs; i++) {
        if (c->inputs[i].name != NULL && strcmp(c->inputs[i].name, name) == 0) {
            return &c->inputs[i];
        }
    }
    return NULL;
}

/* The defaults of an output entry given at LINE (0: built in); it owns nothing yet. */
static void output_init(struct lc_output_config *o, int line)
{
    memset(o, 0, sizeof *o);
    o->line = line;
    lc_config_options_defaults(lc_config_output_options(), o);
    o->start_oldest = 0; /* start_at: end */
}

static void input_init(struct lc_input_config *ic, int line, int index)
{
    memset(ic, 0, sizeof *ic);
    ic->line = line;
    ic->index = index;
    lc_config_options_defaults(lc_config_input_options(0), ic);
}

/* Gives the instance its type's options, all at their defaults. */
static void *with_type(const struct lc_config_plugin *p, int **key_lines)
{
    *key_lines = lc_xcalloc(lc_config_options_count(p->options) + 1, sizeof **key_lines);
    return lc_config_plugin_create(p);
}

void lc_config_default_instances(struct lc_config *c)
{
    const struct lc_config_plugin *const *in = c->catalog->inputs, *const *out =
                                                                       c->catalog->outputs;

    for (size_t i = 0; in != NULL && in[i] != NULL; i++) {
        if (in[i]->flags & LC_PLUGIN_DEFAULT) {
            struct lc_input_config *ic;
            c->inputs = lc_xrealloc(c->inputs, (c->n_inputs + 1) * sizeof *c->inputs);
            ic = &c->inputs[c->n_inputs];
            input_init(ic, 0, in[i]->flags & LC_PLUGIN_SECTION ? -1 : (int)c->n_inputs);
            c->n_inputs++;
            ic->type = lc_xstrdup(in[i]->type);
            ic->name = lc_xstrdup(in[i]->type);
            ic->plugin = in[i];
            ic->opts = with_type(in[i], &ic->key_lines);
        }
    }
    for (size_t i = 0; out != NULL && out[i] != NULL; i++) {
        if (out[i]->flags & LC_PLUGIN_DEFAULT) {
            struct lc_output_config *o;
            c->outputs = lc_xrealloc(c->outputs, (c->n_outputs + 1) * sizeof *c->outputs);
            o = &c->outputs[c->n_outputs++];
            output_init(o, 0);
            o->type = lc_xstrdup(out[i]->type);
            o->name = lc_xstrdup(out[i]->type);
            o->plugin = out[i];
            o->opts = with_type(out[i], &o->key_lines);
            lc_config_options_override(lc_config_output_options(), out[i]->defaults, o);
        }
    }
}

/* ---- walking entries ---- */

/* The names of the types of LIST, "a, b", into DST. */
static const char *known_types(char *dst, size_t cap, const struct lc_config_plugin *const *list)
{
    size_t n = 0;
    dst[0] = '\0';
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        n += (size_t)snprintf(dst + n, n < cap ? cap - n : 0, "%s%s", i > 0 ? ", " : "",
                              list[i]->type);
    }
    return dst;
}

/* The type of the entry ITEM of a FAMILY ("input", "output") list named PATH: its plugin,
 * or NULL after reporting a missing or unknown type (a type that is not a string is
 * reported by the walk). */
static const struct lc_config_plugin *entry_type(struct lc_config_walk *w, yaml_node_t *item,
                                                 const struct lc_config_plugin *const *list,
                                                 const char *family, int line, const char *path)
{
    char tpath[LC_CONFIG_PATH_CAP + 8], q[LC_CONFIG_QUOTE_CAP], known[LC_CONFIG_PATH_CAP];
    yaml_node_t *type = lc_config_map_get(w, item, "type");
    const struct lc_config_plugin *p;

    known_types(known, sizeof known, list);
    if (type == NULL) {
        lc_config_report(w, line, path, "missing key \"type\" (known types: %s)", known);
        return NULL;
    }
    if (type->type != YAML_SCALAR_NODE || lc_config_is_null(type) ||
        type->data.scalar.value[0] == '\0') {
        return NULL;
    }
    p = lc_config_plugin_find(list, (const char *)type->data.scalar.value);
    if (p == NULL) {
        snprintf(tpath, sizeof tpath, "%s.type", path);
        lc_config_report(w, lc_config_line(type), tpath, "unknown %s type %s (known: %s)", family,
                         lc_config_quote_node(q, sizeof q, type), known);
    }
    return p;
}

/* The line of ITEM's name key, or LINE when it has none (names default to the type). */
static int name_line(struct lc_config_walk *w, yaml_node_t *item, int line)
{
    yaml_node_t *name = lc_config_map_get(w, item, "name");
    return name != NULL ? lc_config_line(name) : line;
}

/* Walks one entry of "outputs" into O. Returns the line that names it, for duplicates. */
static int walk_output(struct lc_config_walk *w, yaml_node_t *item, struct lc_output_config *o,
                       const char *path)
{
    struct lc_config_table_walk tabs[2] = {{.table = lc_config_output_options(), .base = o}};
    const struct lc_config_plugin *p;

    if (lc_config_open_collection(w, item, YAML_MAPPING_NODE, 0, 0, path,
                                  "a mapping with a \"type\" key") < 0) {
        return o->line;
    }
    p = entry_type(w, item, w->cat->outputs, "output", o->line, path);
    if (p != NULL) {
        o->plugin = p;
        o->opts = with_type(p, &o->key_lines);
        tabs[1] = (struct lc_config_table_walk){p->options, o->opts, o->key_lines};
        lc_config_options_override(lc_config_output_options(), p->defaults, o);
    }
    /* Without a known type only the common keys are checked. */
    lc_config_walk_tables(w, item, tabs, p != NULL ? 2 : 1, path, p == NULL);
    if (o->name == NULL && o->type != NULL) {
        o->name = lc_xstrdup(o->type);
    }
    return name_line(w, item, o->line);
}

static int walk_input(struct lc_config_walk *w, yaml_node_t *item, struct lc_input_config *ic,
                      const char *path)
{
    struct lc_config_table_walk tabs[2] = {{.table = lc_config_input_options(0), .base = ic}};
    const struct lc_config_plugin *p;

    if (lc_config_open_collection(w, item, YAML_MAPPING_NODE, 0, 0, path,
                                  "a mapping with a \"type\" key") < 0) {
        return ic->line;
    }
    p = entry_type(w, item, w->cat->inputs, "input", ic->line, path);
    if (p != NULL) {
        ic->plugin = p;
        ic->opts = with_type(p, &ic->key_lines);
        tabs[1] = (struct lc_config_table_walk){p->options, ic->opts, ic->key_lines};
    }
    lc_config_walk_tables(w, item, tabs, p != NULL ? 2 : 1, path, p == NULL);
    if (ic->name == NULL && ic->type != NULL) {
        ic->name = lc_xstrdup(ic->type);
    }
    return name_line(w, item, ic->line);
}

/* Reports the second of two entries of list PATH with one name; NAMES[i] is entry i's. */
static void check_names(struct lc_config_walk *w, const char *path, const char *family,
                        char *const *names, size_t stride, size_t n, const int *lines)
{
    char npath[LC_CONFIG_PATH_CAP], q[LC_CONFIG_QUOTE_CAP];
#define NAME_AT(i) (*(char *const *)((const char *)names + (i)*stride))

    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i && NAME_AT(i) != NULL; j++) {
            if (NAME_AT(j) != NULL && strcmp(NAME_AT(i), NAME_AT(j)) == 0) {
                snprintf(npath, sizeof npath, "%s[%zu].name", path, i);
                lc_config_report(w, lines[i], npath, "duplicate %s name %s (also at line %d)",
                                 family, lc_config_quote_text(q, sizeof q, NAME_AT(i)), lines[j]);
                break;
            }
        }
    }
#undef NAME_AT
}

/* Opens list V of PATH; returns its number of entries, or 0 after reporting (an empty
 * list too: at least one FAMILY is needed). */
static size_t open_list(struct lc_config_walk *w, yaml_node_t *v, const char *path,
                        const char *family)
{
    char what[32];
    int rc;
    snprintf(what, sizeof what, "a list of %ss", family);
    rc = lc_config_open_collection(w, v, YAML_SEQUENCE_NODE, 1, MAX_INSTANCES, path, what);
    if (rc < 0) {
        return 0;
    }
    if (rc == 0 || lc_config_collection_size(v) == 0) {
        lc_config_report(w, lc_config_line(v), path, "the list is empty: at least one %s is needed",
                         family);
        return 0;
    }
    return lc_config_collection_size(v);
}

void lc_config_set_outputs(struct lc_config_walk *w, const struct lc_config_option *f,
                           yaml_node_t *v, void *base, const char *path)
{
    char ipath[LC_CONFIG_PATH_CAP];
    struct lc_config *c = base;
    size_t n = open_list(w, v, path, "output");
    int *lines;

    (void)f;
    if (n == 0) {
        return;
    }
    lc_config_free_outputs(c->outputs, c->n_outputs);
    c->outputs = lc_xcalloc(n, sizeof *c->outputs);
    c->n_outputs = n;
    lines = lc_xcalloc(n, sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = lc_config_node(w, v->data.sequence.items.start[i]);
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        output_init(&c->outputs[i], lc_config_line(item));
        lines[i] = walk_output(w, item, &c->outputs[i], ipath);
    }
    check_names(w, path, "output", &c->outputs[0].name, sizeof *c->outputs, n, lines);
    free(lines);
}

static struct lc_config_pending *pending(struct lc_config_walk *w)
{
    if (w->pending == NULL) {
        w->pending = lc_xcalloc(1, sizeof *w->pending);
    }
    return w->pending;
}

void lc_config_set_inputs(struct lc_config_walk *w, const struct lc_config_option *f,
                          yaml_node_t *v, void *base, const char *path)
{
    char ipath[LC_CONFIG_PATH_CAP];
    struct lc_config *c = base;
    struct lc_config_pending *pd = pending(w);
    size_t n = open_list(w, v, path, "input");

    (void)f;
    if (n == 0) {
        return;
    }
    lc_config_free_inputs(c->inputs, c->n_inputs);
    c->inputs = lc_xcalloc(n, sizeof *c->inputs);
    c->n_inputs = n;
    pd->inputs_given = 1;
    free(pd->name_lines);
    pd->name_lines = lc_xcalloc(n, sizeof *pd->name_lines);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = lc_config_node(w, v->data.sequence.items.start[i]);
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        input_init(&c->inputs[i], lc_config_line(item), (int)i);
        pd->name_lines[i] = walk_input(w, item, &c->inputs[i], ipath);
    }
    check_names(w, path, "input", &c->inputs[0].name, sizeof *c->inputs, n, pd->name_lines);
}

/* The top-level section of input type F->plugin (docker:): the instance named as the
 * type. Its keys are the type's and "enabled"; type and name are the key's. */
void lc_config_set_input_section(struct lc_config_walk *w, const struct lc_config_option *f,
                                 yaml_node_t *v, void *base, const char *path)
{
    const struct lc_config_plugin *p = f->plugin;
    struct lc_config_pending *pd = pending(w);
    struct lc_config_table_walk tabs[2];
    struct lc_input_config *ic;
    int rc = lc_config_open_collection(w, v, YAML_MAPPING_NODE, 1, 0, path, "a mapping");

    (void)base;
    if (rc < 0 || pd->n_sections == MAX_SECTIONS) {
        return;
    }
    ic = &pd->sections[pd->n_sections++];
    input_init(ic, w->key_line, -1);
    ic->type = lc_xstrdup(p->type);
    ic->name = lc_xstrdup(p->type);
    ic->plugin = p;
    ic->opts = with_type(p, &ic->key_lines);
    if (rc > 0) {
        tabs[0] = (struct lc_config_table_walk){lc_config_input_options(1), ic, NULL};
        tabs[1] = (struct lc_config_table_walk){p->options, ic->opts, ic->key_lines};
        lc_config_walk_tables(w, v, tabs, 2, path, 0);
    }
}

/* Design decision: a top-level section (docker:) is the input named as its type, listed
 * first; inputs: lists the others. Given neither, the built-in instances run (the Docker
 * input "docker"); given either, exactly what the file says runs. An entry of inputs:
 * with the name of a section is the same name twice: an error naming that entry. */
void lc_config_finish_inputs(struct lc_config_walk *w, struct lc_config *c)
{
    char npath[LC_CONFIG_PATH_CAP], q[LC_CONFIG_QUOTE_CAP];
    struct lc_config_pending *pd = w->pending;
    size_t n_list, n;
    struct lc_input_config *all;

    if (pd == NULL) {
        return;
    }
    w->pending = NULL;
    if (pd->n_sections > 0 || pd->inputs_given) {
        n_list = pd->inputs_given ? c->n_inputs : 0;
        if (!pd->inputs_given) {
            lc_config_free_inputs(c->inputs, c->n_inputs);
            c->inputs = NULL;
        }
        n = pd->n_sections + n_list;
        all = lc_xcalloc(n, sizeof *all);
        memcpy(all, pd->sections, pd->n_sections * sizeof *all);
        for (size_t j = 0; j < n_list; j++) {
            all[pd->n_sections + j] = c->inputs[j];
            for (size_t s = 0; s < pd->n_sections && c->inputs[j].name != NULL; s++) {
                if (strcmp(c->inputs[j].name, pd->sections[s].name) == 0) {
                    snprintf(npath, sizeof npath, "inputs[%zu].name", j);
                    lc_config_report(
                        w, pd->name_lines[j], npath,
                        "duplicate input name %s (also at line %d, the top-level %s: section)",
                        lc_config_quote_text(q, sizeof q, c->inputs[j].name), pd->sections[s].line,
                        pd->sections[s].type);
                }
            }
        }
        free(c->inputs);
        c->inputs = all;
        c->n_inputs = n;
    }
    free(pd->name_lines);
    free(pd);
}

/* ---- checks after the walk ---- */

struct lc_config_check {
    struct lc_config_walk *w;
    const struct lc_config *c;
    const struct lc_config_plugin *p;
    const int *key_lines;
    int line;
    int input;  /* an input (else an output) */
    size_t pos; /* its place in c->inputs or c->outputs */
    char path[LC_CONFIG_PATH_CAP];
};

static void instance_path(char *dst, size_t cap, int input, int index, const char *type)
{
    if (input && index < 0) {
        snprintf(dst, cap, "%s", type);
    } else {
        snprintf(dst, cap, "%s[%d]", input ? "inputs" : "outputs", index);
    }
}

const char *lc_config_check_data_dir(const struct lc_config_check *ck)
{
    return ck->c->data_dir;
}

const char *lc_config_check_path(const struct lc_config_check *ck)
{
    return ck->path;
}

int lc_config_check_line(const struct lc_config_check *ck, const char *key)
{
    if (key == NULL) {
        return ck->line;
    }
    for (size_t i = 0; ck->p->options[i].key != NULL; i++) {
        if (strcmp(ck->p->options[i].key, key) == 0) {
            return ck->key_lines != NULL ? ck->key_lines[i] : 0;
        }
    }
    return 0;
}

void lc_config_check_report(struct lc_config_check *ck, int line, const char *key, const char *fmt,
                            ...)
{
    char path[LC_CONFIG_PATH_CAP * 2], msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s%s%s", ck->path, key != NULL ? "." : "", key ? key : "");
    lc_config_report(ck->w, line, path, "%s", msg);
}

void lc_config_check_secret_file(struct lc_config_check *ck, const char *key, int line,
                                 const char *file, char **secret)
{
    char why[512];
    char *s;

    if (file == NULL || line < 0) {
        return;
    }
    if (lc_config_read_secret(file, &s, why, sizeof why) != 0) {
        lc_config_check_report(ck, line, key, "%s", why);
        return;
    }
    free(*secret);
    *secret = s;
}

const void *lc_config_check_peer(const struct lc_config_check *ck, size_t i, const char **name,
                                 int *line)
{
    for (size_t k = 0; k < ck->pos; k++) {
        const struct lc_config_plugin *p =
            ck->input ? ck->c->inputs[k].plugin : ck->c->outputs[k].plugin;
        if (p != ck->p) {
            continue;
        }
        if (i-- == 0) {
            *name = ck->input ? ck->c->inputs[k].name : ck->c->outputs[k].name;
            *line = ck->input ? ck->c->inputs[k].line : ck->c->outputs[k].line;
            return ck->input ? ck->c->inputs[k].opts : ck->c->outputs[k].opts;
        }
    }
    return NULL;
}

void lc_config_check_instances(struct lc_config_walk *w, struct lc_config *c)
{
    for (size_t i = 0; i < c->n_outputs; i++) {
        struct lc_output_config *o = &c->outputs[i];
        struct lc_config_check ck = {
            .w = w, .c = c, .p = o->plugin, .key_lines = o->key_lines, .line = o->line, .pos = i};
        if (o->plugin != NULL && o->plugin->check != NULL) {
            instance_path(ck.path, sizeof ck.path, 0, (int)i, o->type);
            o->plugin->check(&ck, o->opts);
        }
    }
    for (size_t i = 0; i < c->n_inputs; i++) {
        struct lc_input_config *ic = &c->inputs[i];
        struct lc_config_check ck = {.w = w,
                                     .c = c,
                                     .p = ic->plugin,
                                     .key_lines = ic->key_lines,
                                     .line = ic->line,
                                     .input = 1,
                                     .pos = i};
        if (ic->plugin != NULL && ic->plugin->check != NULL) {
            instance_path(ck.path, sizeof ck.path, 1, ic->index, ic->type);
            ic->plugin->check(&ck, ic->opts);
        }
    }
}

/* Reports the options of P in OPTS flagged LC_OPT_TASK_DEADLINE that are not below the
 * task timeout: at the key when the file gives it, else at supervisor.task_timeout; not
 * when the file gives neither (the defaults are in order) or one was rejected. */
static void check_deadlines_of(struct lc_config_walk *w, const char *prefix,
                               const struct lc_config_plugin *p, const void *opts,
                               const int *key_lines, uint64_t tt, int tt_line)
{
    char a[32], b[32], path[LC_CONFIG_PATH_CAP * 2];

    for (size_t i = 0; p != NULL && p->options[i].key != NULL; i++) {
        const struct lc_config_option *o = &p->options[i];
        int given = key_lines != NULL ? key_lines[i] : 0, at = given > 0 ? given : tt_line;
        uint64_t value;
        if (!(o->flags & LC_OPT_TASK_DEADLINE) || o->type != LC_OPT_DURATION) {
            continue;
        }
        value = *(const uint64_t *)((const char *)opts + o->off);
        if (given < 0 || tt_line < 0 || value < tt || at == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s.%s", prefix, o->key);
        lc_config_report(w, at, path,
                         "%s must be below supervisor.task_timeout (%s), or the task would be "
                         "restarted before its own deadline expires",
                         lc_config_fmt_duration(a, sizeof a, value),
                         lc_config_fmt_duration(b, sizeof b, tt));
    }
}

void lc_config_check_deadlines(struct lc_config_walk *w, const struct lc_config *c,
                               uint64_t task_timeout_ms, int tt_line)
{
    char prefix[LC_CONFIG_PATH_CAP];

    for (size_t i = 0; i < c->n_inputs; i++) {
        const struct lc_input_config *ic = &c->inputs[i];
        instance_path(prefix, sizeof prefix, 1, ic->index, ic->type);
        check_deadlines_of(w, prefix, ic->plugin, ic->opts, ic->key_lines, task_timeout_ms,
                           tt_line);
    }
    for (size_t i = 0; i < c->n_outputs; i++) {
        const struct lc_output_config *o = &c->outputs[i];
        instance_path(prefix, sizeof prefix, 0, (int)i, o->type);
        check_deadlines_of(w, prefix, o->plugin, o->opts, o->key_lines, task_timeout_ms, tt_line);
    }
}
