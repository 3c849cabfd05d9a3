/* config: the configuration model and its loader's entry points. This file owns the
 * built-in defaults, freeing, the load itself (read the file, parse it with config_yaml,
 * walk it with the key tables of config_schema and config_instance) and the checks that
 * involve several keys (backoff order, deadlines, spool sizes), which run after the walk,
 * after the plugins' own checks. The
 * loader keeps nothing between calls; the lc_config it fills owns all its strings. */
#include "config/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config/config_schema.h"
#include "config/config_yaml.h"
#include "base/util.h"

#define MAX_CONFIG_BYTES (1u << 20)

/* ---- model: defaults and free ---- */

void lc_config_defaults(struct lc_config *c, const struct lc_config_catalog *cat)
{
    char host[256] = "";
    struct lc_config_walk quiet = {.name = "<defaults>", .cat = cat};

    memset(c, 0, sizeof *c);
    c->catalog = cat;
    lc_config_options_defaults(lc_config_root_options(), c);
    c->log_level = LC_LOG_INFO;
    if (gethostname(host, sizeof host) != 0) {
        host[0] = '\0';
    }
    host[sizeof host - 1] = '\0';
    c->hostname = lc_xstrdup(host[0] != '\0' ? host : "localhost");
    c->api_listen = lc_xstrdup("127.0.0.1:8401");
    c->spool.sync = LC_SYNC_INTERVAL;
    lc_config_default_instances(c);
    /* The plugins complete what depends on other keys (the file output's directory). */
    lc_config_check_instances(&quiet, c);
}

void lc_config_free(struct lc_config *c)
{
    if (c == NULL) {
        return;
    }
    free(c->path);
    free(c->api_listen);
    lc_config_options_free(lc_config_root_options(), c);
    lc_config_free_inputs(c->inputs, c->n_inputs);
    lc_config_free_outputs(c->outputs, c->n_outputs);
    memset(c, 0, sizeof *c);
}

/* ---- checks across keys ---- */

static int duration_given_ok(const yaml_node_t *v)
{
    uint64_t ms;
    return v == NULL || (v->type == YAML_SCALAR_NODE &&
                         lc_parse_duration_ms((const char *)v->data.scalar.value, &ms) == 0 &&
                         ms > 0 && ms <= LC_DAY_MS);
}

/* Reports KEY (given at NODE, or else at OTHER_NODE) when its value is not below
 * supervisor.task_timeout: a deadline inside a task must expire before the task's own. */
static void check_below_task_timeout(struct lc_config_walk *w, yaml_node_t *root,
                                     const char *section, const char *key, uint64_t value,
                                     uint64_t task_timeout)
{
    char a[32], b[32], path[64];
    yaml_node_t *node = lc_config_map_get(w, lc_config_map_get(w, root, section), key);
    yaml_node_t *tt =
        lc_config_map_get(w, lc_config_map_get(w, root, "supervisor"), "task_timeout");
    yaml_node_t *at = node != NULL ? node : tt;
    if (value < task_timeout || at == NULL || !duration_given_ok(node) || !duration_given_ok(tt)) {
        return;
    }
    snprintf(path, sizeof(path), "%s.%s", section, key);
    lc_config_report(w, lc_config_line(at), path,
                     "%s must be below supervisor.task_timeout (%s), or the task would be "
                     "restarted before its own deadline expires",
                     lc_config_fmt_duration(a, sizeof a, value),
                     lc_config_fmt_duration(b, sizeof b, task_timeout));
}

static void check_timeouts(struct lc_config_walk *w, const struct lc_config *c, yaml_node_t *root)
{
    uint64_t tt = c->supervisor.task_timeout_ms;
    yaml_node_t *ttn =
        lc_config_map_get(w, lc_config_map_get(w, root, "supervisor"), "task_timeout");
    int tt_line = ttn == NULL ? 0 : duration_given_ok(ttn) ? lc_config_line(ttn) : -1;

    /* The deadlines inside the tasks of inputs and outputs, flagged in their tables. */
    lc_config_check_deadlines(w, c, tt, tt_line);
    check_below_task_timeout(w, root, "supervisor", "check_interval",
                             c->supervisor.check_interval_ms, tt);
}

/* Reports durations MIN_KEY (value LO) and MAX_KEY (value HI) of mapping SECTION, named
 * PATH, when HI is below LO: at MAX_KEY when the file gives it, else at MIN_KEY; not at all
 * when it gives neither (the defaults are in order). SECTION may be NULL. */
static void check_duration_order(struct lc_config_walk *w, yaml_node_t *section, const char *path,
                                 const char *min_key, uint64_t lo, const char *max_key, uint64_t hi)
{
    char a[32], b[32], pmin[LC_CONFIG_PATH_CAP], pmax[LC_CONFIG_PATH_CAP];
    yaml_node_t *mx = lc_config_map_get(w, section, max_key);
    yaml_node_t *mn = lc_config_map_get(w, section, min_key);
    yaml_node_t *at = mx != NULL ? mx : mn;

    if (hi >= lo || at == NULL || !duration_given_ok(mx) || !duration_given_ok(mn)) {
        return;
    }
    snprintf(pmin, sizeof pmin, "%s.%s", path, min_key);
    snprintf(pmax, sizeof pmax, "%s.%s", path, max_key);
    lc_config_report(w, lc_config_line(at), mx != NULL ? pmax : pmin,
                     "%s (%s) is less than %s (%s)", pmax, lc_config_fmt_duration(a, sizeof a, hi),
                     pmin, lc_config_fmt_duration(b, sizeof b, lo));
}

static void check_restart_backoff(struct lc_config_walk *w, const struct lc_config *c,
                                  yaml_node_t *root)
{
    check_duration_order(w, lc_config_map_get(w, root, "supervisor"), "supervisor",
                         "restart_backoff_min", c->supervisor.restart_backoff_min_ms,
                         "restart_backoff_max", c->supervisor.restart_backoff_max_ms);
}

/* The mapping of outputs[I] in the file, or NULL. The outputs in C match the file's list
 * only when it was walked; otherwise they are the defaults, whose values are in order. */
static yaml_node_t *output_node(struct lc_config_walk *w, yaml_node_t *root, size_t i)
{
    yaml_node_t *list = lc_config_map_get(w, root, "outputs");

    if (list == NULL || list->type != YAML_SEQUENCE_NODE || i >= lc_config_collection_size(list)) {
        return NULL;
    }
    return lc_config_node(w, list->data.sequence.items.start[i]);
}

static void check_retry_backoff(struct lc_config_walk *w, const struct lc_config *c,
                                yaml_node_t *root)
{
    char path[LC_CONFIG_PATH_CAP];

    for (size_t i = 0; i < c->n_outputs; i++) {
        const struct lc_output_config *o = &c->outputs[i];
        snprintf(path, sizeof path, "outputs[%zu].retry", i);
        check_duration_order(w, lc_config_map_get(w, output_node(w, root, i), "retry"), path,
                             "backoff_min", o->retry.backoff_min_ms, "backoff_max",
                             o->retry.backoff_max_ms);
    }
}

/* 1 when size V is absent or is the value the walk stored (STORED); a rejected value left
 * the default in its place, and comparing that would report a problem the file lacks. */
static int size_given_ok(const yaml_node_t *v, uint64_t stored)
{
    uint64_t bytes;
    return v == NULL ||
           (v->type == YAML_SCALAR_NODE &&
            lc_parse_size((const char *)v->data.scalar.value, &bytes) == 0 && bytes == stored);
}

/* The spool needs room for the segment being written and at least one whole one more. */
static void check_spool_size(struct lc_config_walk *w, const struct lc_config *c, yaml_node_t *root)
{
    char a[32], b[32];
    yaml_node_t *spool = lc_config_map_get(w, root, "spool");
    yaml_node_t *mx = lc_config_map_get(w, spool, "max_bytes");
    yaml_node_t *seg = lc_config_map_get(w, spool, "segment_bytes");
    yaml_node_t *at = mx != NULL ? mx : seg;
    uint64_t max = c->spool.max_bytes, segment = c->spool.segment_bytes;

    /* segment_bytes is at most 4GiB: twice it does not overflow. */
    if (max >= 2 * segment || at == NULL || !size_given_ok(mx, max) ||
        !size_given_ok(seg, segment)) {
        return;
    }
    lc_config_report(w, lc_config_line(at), mx != NULL ? "spool.max_bytes" : "spool.segment_bytes",
                     "spool.max_bytes (%s) must be at least 2 x spool.segment_bytes (%s)",
                     lc_config_fmt_size(a, sizeof a, max),
                     lc_config_fmt_size(b, sizeof b, segment));
}

/* True when LISTEN ("host:port") names a loopback address. */
static int listen_is_loopback(const char *listen)
{
    return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "localhost:", 10) == 0 ||
           strncmp(listen, "[::1]:", 6) == 0;
}

static void check_api_exposure(struct lc_config_walk *w, const struct lc_config *c,
                               yaml_node_t *root)
{
    yaml_node_t *node = lc_config_map_get(w, lc_config_map_get(w, root, "api"), "listen");
    if (node == NULL || listen_is_loopback(c->api_listen) ||
        (c->api_token != NULL && c->api_token[0] != '\0')) {
        return;
    }
    lc_config_report(w, lc_config_line(node), "api.listen",
                     "%s is not a loopback address and api.token is not set: set api.token, or "
                     "listen on 127.0.0.1",
                     c->api_listen);
}

/* ---- loading ---- */

static void walk_document(struct lc_config_walk *w, struct lc_config *c)
{
    char d[LC_CONFIG_QUOTE_CAP];
    yaml_node_t *root = yaml_document_get_root_node(w->doc);

    if (root != NULL && !lc_config_is_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            lc_config_report(w, lc_config_line(root), "top level",
                             "expected a mapping of keys, got %s",
                             lc_config_describe(d, sizeof d, root));
        } else if (lc_config_open_collection(w, root, YAML_MAPPING_NODE, 0, 0, "top level",
                                             "a mapping") > 0) {
            lc_config_schema_walk(w, root, c);
        }
    }
    lc_config_finish_inputs(w, c);
    lc_config_check_instances(w, c);
    check_restart_backoff(w, c, root);
    check_retry_backoff(w, c, root);
    check_timeouts(w, c, root);
    check_spool_size(w, c, root);
    check_api_exposure(w, c, root);
}

int lc_config_load_string(struct lc_config *c, const struct lc_config_catalog *cat,
                          const char *name, const char *text, size_t len, FILE *errors)
{
    struct lc_config_walk w = {
        .name = name != NULL ? name : "<config>", .errors = errors, .cat = cat};
    yaml_document_t doc;

    /* A zeroed config (never filled, or freed) starts from the defaults. */
    if (c->data_dir == NULL) {
        lc_config_defaults(c, cat);
    }
    free(c->path);
    c->path = lc_xstrdup(w.name);
    if (lc_config_parse(&w, &doc, text, len) == 0) {
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

int lc_config_load(struct lc_config *c, const struct lc_config_catalog *cat, const char *path,
                   FILE *errors)
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
    rc = lc_config_load_string(c, cat, path, text, len, errors);
    free(text);
    return rc;
}
