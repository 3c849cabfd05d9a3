/* fuzz_config: feeds arbitrary bytes to the YAML config loader. It must never crash or
 * leak, and a config it accepts must hold the invariants the rest of logcap relies on.
 * Besides the real plugin types it knows "tpl", an output type with a template, a
 * mapping of templates (the types Loki's labels use) and a mapping of strings (HTTP
 * headers:), whose instances are copied too. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/template.h"
#include "inputs/docker/docker_config.h"
#include "outputs/file/file_config.h"

static const struct lc_config_plugin *const inputs[] = {&lc_docker_config_plugin, NULL};
struct tpl_opts {
    struct lc_template *index;
    struct lc_template_pair *labels;
    size_t n_labels;
    struct lc_config_pair *headers;
    size_t n_headers;
};
static const struct lc_config_option tpl_options[] = {
    {.key = "index",
     .type = LC_OPT_TEMPLATE,
     .def = "logcap-{{ compose_project }}",
     .off = offsetof(struct tpl_opts, index)},
    {.key = "labels",
     .type = LC_OPT_TEMPLATES,
     .def = "{job: logcap, host: \"{{ host }}\", stream: \"{{ stream }}\"}",
     .off = offsetof(struct tpl_opts, labels),
     .off_n = offsetof(struct tpl_opts, n_labels)},
    {.key = "headers",
     .type = LC_OPT_STRMAP,
     .off = offsetof(struct tpl_opts, headers),
     .off_n = offsetof(struct tpl_opts, n_headers)},
    {.key = NULL},
};
static const struct lc_config_plugin tpl_plugin = {
    .type = "tpl", .options = tpl_options, .size = sizeof(struct tpl_opts)};

static const struct lc_config_plugin *const outputs[] = {&lc_file_config_plugin, &tpl_plugin, NULL};
static const struct lc_config_catalog catalog = {.inputs = inputs, .outputs = outputs};

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

/* A tpl output holds a template and named templates, each with a source; so does its
 * copy, which outlives nothing here but must free everything. */
static void check_tpl(const struct lc_output_config *o)
{
    const struct tpl_opts *t = o->opts;
    struct lc_output_config copy;

    check(t->index != NULL && lc_template_source(t->index)[0] != '\0');
    for (size_t i = 0; i < t->n_labels; i++) {
        check(t->labels[i].name[0] != '\0' && t->labels[i].value != NULL);
        check(strcmp(lc_template_source(t->labels[i].value), "") != 0);
    }
    for (size_t i = 0; i < t->n_headers; i++) {
        check(t->headers[i].name[0] != '\0' && t->headers[i].value != NULL);
        for (size_t j = 0; j < i; j++) {
            check(strcmp(t->headers[i].name, t->headers[j].name) != 0);
        }
    }
    lc_config_output_copy(&copy, o);
    check(((const struct tpl_opts *)copy.opts)->n_labels == t->n_labels);
    check(((const struct tpl_opts *)copy.opts)->n_headers == t->n_headers);
    lc_config_output_free(&copy);
}

/* The promises of a loaded config: every input and output named, typed, unique, with its
 * type's options; ranges held. */
static void check_invariants(const struct lc_config *c)
{
    check(c->data_dir != NULL && c->hostname != NULL && c->api_listen != NULL);
    for (size_t i = 0; i < c->n_inputs; i++) {
        const struct lc_input_config *ic = &c->inputs[i];
        const struct lc_docker_config *d = ic->opts;
        check(ic->type != NULL && ic->name != NULL && ic->plugin == &lc_docker_config_plugin);
        check(d->socket != NULL && d->initial_tail >= -1);
        check(d->idle_timeout_ms > 0 && d->reconcile_interval_ms > 0 && d->request_timeout_ms > 0);
        check(d->reconnect_min_ms > 0 && d->reconnect_max_ms >= d->reconnect_min_ms);
        check(d->max_line_bytes >= 1024 && d->max_line_bytes <= 64u * 1024 * 1024);
        for (size_t j = 0; j < i; j++) {
            check(strcmp(ic->name, c->inputs[j].name) != 0);
        }
    }
    check(c->n_outputs >= 1);
    for (size_t i = 0; i < c->n_outputs; i++) {
        const struct lc_output_config *o = &c->outputs[i];
        const struct lc_file_config *f = o->opts;
        check(o->type != NULL && o->name != NULL);
        if (o->plugin == &tpl_plugin) {
            check_tpl(o);
            continue;
        }
        check(o->plugin == &lc_file_config_plugin);
        check(f->path != NULL);
        check(f->max_files >= 1 && f->max_files <= 1000 && f->rotate_bytes >= 4096);
        for (size_t j = 0; j < i; j++) {
            check(strcmp(o->name, c->outputs[j].name) != 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    struct lc_config c = {0};

    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
        check(devnull != NULL);
    }
    if (lc_config_load_string(&c, &catalog, "fuzz.yaml", (const char *)data, size, devnull) == 0) {
        check_invariants(&c);
        lc_config_free(&c);
    }
    return 0;
}
