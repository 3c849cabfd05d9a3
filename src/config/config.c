/* config: the configuration model and its loader's entry points. This file owns the
 * built-in defaults, freeing, the load itself (read the file, parse it with config_yaml,
 * walk it with the key tables of config_schema) and the checks that involve several keys
 * (output paths, backoff order, deadlines, spool sizes), which run after the walk. The
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

#define DEFAULT_DATA_DIR "./logcap-data"
#define MAX_CONFIG_BYTES (1u << 20)

/* ---- model: defaults and free ---- */

static char *join_path(const char *dir, const char *leaf)
{
    size_t n = strlen(dir);
    char *p = lc_xmalloc(n + strlen(leaf) + 2);
    strcpy(p, dir);
    if (n == 0 || dir[n - 1] != '/') {
        strcat(p, "/");
    }
    return strcat(p, leaf);
}

void lc_config_defaults(struct lc_config *c)
{
    char host[256] = "";
    struct lc_docker_config *d = &c->docker;

    memset(c, 0, sizeof *c);
    c->data_dir = lc_xstrdup(DEFAULT_DATA_DIR);
    c->log_level = LC_LOG_INFO;
    if (gethostname(host, sizeof host) != 0) {
        host[0] = '\0';
    }
    host[sizeof host - 1] = '\0';
    c->hostname = lc_xstrdup(host[0] != '\0' ? host : "localhost");
    c->api_listen = lc_xstrdup("127.0.0.1:8401");
    c->supervisor.check_interval_ms = 5000;
    c->supervisor.task_timeout_ms = 300000;
    c->supervisor.restart_backoff_min_ms = 1000;
    c->supervisor.restart_backoff_max_ms = 60000;
    c->supervisor.loop_stall_timeout_ms = 10000;
    c->spool.segment_bytes = 64 * LC_MIB;
    c->spool.max_bytes = 1024 * LC_MIB;
    c->spool.sync = LC_SYNC_INTERVAL;
    c->spool.sync_interval_ms = 1000;
    d->enabled = 1;
    d->socket = lc_xstrdup("/var/run/docker.sock");
    d->stdout_enabled = 1;
    d->stderr_enabled = 1;
    d->initial_tail = 50;
    d->idle_timeout_ms = 60000;
    d->reconcile_interval_ms = 30000;
    d->max_line_bytes = LC_MIB;
    d->request_timeout_ms = 10000;
    d->reconnect_min_ms = 500;
    d->reconnect_max_ms = 30000;
    c->outputs = lc_xcalloc(1, sizeof *c->outputs);
    c->n_outputs = 1;
    lc_config_output_defaults(&c->outputs[0], 0);
    c->outputs[0].type = lc_xstrdup("file");
    c->outputs[0].name = lc_xstrdup("file");
    c->outputs[0].path = join_path(c->data_dir, "logs");
}

void lc_config_free(struct lc_config *c)
{
    struct lc_docker_config *d;

    if (c == NULL) {
        return;
    }
    d = &c->docker;
    free(c->path);
    free(c->data_dir);
    free(c->hostname);
    free(c->api_listen);
    free(c->api_token);
    free(d->socket);
    lc_config_free_names(d->include_names, d->n_include_names);
    lc_config_free_names(d->exclude_names, d->n_exclude_names);
    lc_config_free_labels(d->include_labels, d->n_include_labels);
    lc_config_free_labels(d->exclude_labels, d->n_exclude_labels);
    lc_config_free_outputs(c->outputs, c->n_outputs);
    memset(c, 0, sizeof *c);
}

/* ---- checks across keys ---- */

/* File outputs without a path, and the built-in one (line 0), write to DATA_DIR/logs, known
 * only once data_dir is. Two file outputs in one directory would write the same files. */
static void finish_output_paths(struct lc_config_walk *w, struct lc_config *c)
{
    char path[LC_CONFIG_PATH_CAP], q[LC_CONFIG_QUOTE_CAP];

    for (size_t i = 0; i < c->n_outputs; i++) {
        struct lc_output_config *o = &c->outputs[i];
        if (o->type == NULL || strcmp(o->type, "file") != 0) {
            continue;
        }
        if (o->path == NULL || o->line == 0) {
            free(o->path);
            o->path = join_path(c->data_dir, "logs");
        }
        for (size_t j = 0; j < i; j++) {
            if (c->outputs[j].path != NULL && strcmp(c->outputs[j].path, o->path) == 0) {
                snprintf(path, sizeof path, "outputs[%zu].path", i);
                lc_config_report(
                    w, o->line, path,
                    "%s is also the directory of output \"%s\" (line %d); each file output "
                    "needs its own",
                    lc_config_quote(q, sizeof q, o->path, strlen(o->path)),
                    c->outputs[j].name ? c->outputs[j].name : "", c->outputs[j].line);
                break;
            }
        }
    }
}

static int duration_given_ok(const yaml_node_t *v)
{
    uint64_t ms;
    return v == NULL || (v->type == YAML_SCALAR_NODE &&
                         lc_parse_duration_ms((const char *)v->data.scalar.value, &ms) == 0 &&
                         ms > 0 && ms <= LC_DAY_MS);
}

static void check_backoff(struct lc_config_walk *w, const struct lc_config *c, yaml_node_t *root)
{
    char a[32], b[32];
    yaml_node_t *docker = lc_config_map_get(w, root, "docker");
    yaml_node_t *mx = lc_config_map_get(w, docker, "reconnect_backoff_max");
    yaml_node_t *mn = lc_config_map_get(w, docker, "reconnect_backoff_min");
    uint64_t lo = c->docker.reconnect_min_ms, hi = c->docker.reconnect_max_ms;

    /* A value that did not parse was reported already; comparing its default is noise. */
    if (hi >= lo || !duration_given_ok(mx) || !duration_given_ok(mn)) {
        return;
    }
    if (mx != NULL) {
        lc_config_report(w, lc_config_line(mx), "docker.reconnect_backoff_max",
                         "%s is less than docker.reconnect_backoff_min (%s)",
                         lc_config_fmt_duration(a, sizeof a, hi),
                         lc_config_fmt_duration(b, sizeof b, lo));
    } else if (mn != NULL) {
        lc_config_report(w, lc_config_line(mn), "docker.reconnect_backoff_min",
                         "%s is greater than docker.reconnect_backoff_max (%s)",
                         lc_config_fmt_duration(a, sizeof a, lo),
                         lc_config_fmt_duration(b, sizeof b, hi));
    }
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
    check_below_task_timeout(w, root, "docker", "idle_timeout", c->docker.idle_timeout_ms, tt);
    check_below_task_timeout(w, root, "docker", "request_timeout", c->docker.request_timeout_ms,
                             tt);
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
    finish_output_paths(w, c);
    check_backoff(w, c, root);
    check_restart_backoff(w, c, root);
    check_retry_backoff(w, c, root);
    check_timeouts(w, c, root);
    check_spool_size(w, c, root);
    check_api_exposure(w, c, root);
}

int lc_config_load_string(struct lc_config *c, const char *name, const char *text, size_t len,
                          FILE *errors)
{
    struct lc_config_walk w = {.name = name != NULL ? name : "<config>", .errors = errors};
    yaml_document_t doc;

    /* A zeroed config (never filled, or freed) starts from the defaults. */
    if (c->data_dir == NULL) {
        lc_config_defaults(c);
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

int lc_config_load(struct lc_config *c, const char *path, FILE *errors)
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
    rc = lc_config_load_string(c, path, text, len, errors);
    free(text);
    return rc;
}
