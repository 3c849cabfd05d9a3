/* docker_config: the Docker input's option table and its checks (see docker_config.h). */
#include "inputs/docker/docker_config.h"

#include <stdio.h>

#define OPT(m) offsetof(struct lc_docker_config, m)

/* Docker names containers "/web-1"; docker ps and the filters use them without the '/'. */
static int check_name_pattern(const void *value, char *why, size_t cap)
{
    const char *s = *(const char *const *)value;
    char q[80];

    if (s[0] != '/') {
        return 0;
    }
    snprintf(why, cap, "%s starts with '/': container names are matched without it",
             lc_config_quote_text(q, sizeof q, s));
    return -1;
}

static const char *const reads[] = {"auto", "files", "api", NULL};

static const struct lc_config_option docker_options[] = {
    {.key = "socket",
     .type = LC_OPT_STRING,
     .def = "/var/run/docker.sock",
     .help = "path of dockerd's unix socket",
     .off = OPT(socket)},
    {.key = "read",
     .type = LC_OPT_ENUM,
     .names = reads,
     .def = "auto",
     .help = "auto: a container's json-file log is read directly when it is readable, else "
             "through the API; files: the same, and logcap refuses to start when root cannot "
             "be read; api: always through the Engine API",
     .off = OPT(read)},
    {.key = "root",
     .type = LC_OPT_STRING,
     .def = "/var/lib/docker",
     .help = "dockerd's data root (its --data-root), whose containers/ holds the json-file "
             "logs",
     .off = OPT(root)},
    {.key = "include_names",
     .type = LC_OPT_NAMES,
     .help = "capture only containers whose name matches one of these globs (empty: every one)",
     .check = check_name_pattern,
     .off = OPT(include_names),
     .off_n = OPT(n_include_names)},
    {.key = "exclude_names",
     .type = LC_OPT_NAMES,
     .help = "never capture containers whose name matches one of these globs",
     .check = check_name_pattern,
     .off = OPT(exclude_names),
     .off_n = OPT(n_exclude_names)},
    {.key = "include_labels",
     .type = LC_OPT_LABELS,
     .help = "capture only containers carrying every one of these labels (\"*\": any value)",
     .off = OPT(include_labels),
     .off_n = OPT(n_include_labels)},
    {.key = "exclude_labels",
     .type = LC_OPT_LABELS,
     .help = "never capture a container carrying any of these labels (\"*\": any value)",
     .off = OPT(exclude_labels),
     .off_n = OPT(n_exclude_labels)},
    {.key = "stdout",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "capture the containers' stdout",
     .off = OPT(stdout_enabled)},
    {.key = "stderr",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "capture the containers' stderr",
     .off = OPT(stderr_enabled)},
    {.key = "initial_tail",
     .type = LC_OPT_TAIL,
     .def = "50",
     .help = "lines to read from a container with no position when logcap starts (all: every "
             "line)",
     .off = OPT(initial_tail)},
    {.key = "idle_timeout",
     .type = LC_OPT_DURATION,
     .def = "1m",
     .help = "a stream quiet this long is probed for newer lines; below supervisor.task_timeout",
     .flags = LC_OPT_TASK_DEADLINE,
     .off = OPT(idle_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "reconcile_interval",
     .type = LC_OPT_DURATION,
     .def = "30s",
     .help = "how often the container list is compared with what logcap follows",
     .off = OPT(reconcile_interval_ms),
     .max = LC_DAY_MS},
    {.key = "max_line_bytes",
     .type = LC_OPT_SIZE,
     .def = "1MiB",
     .help = "longest record; a longer line is cut and marked truncated",
     .off = OPT(max_line_bytes),
     .min = LC_KIB,
     .max = 64 * LC_MIB},
    {.key = "request_timeout",
     .type = LC_OPT_DURATION,
     .def = "10s",
     .help = "deadline to connect and get the response headers of each Docker API request; "
             "below supervisor.task_timeout",
     .flags = LC_OPT_TASK_DEADLINE,
     .off = OPT(request_timeout_ms),
     .max = LC_DAY_MS},
    {.key = "reconnect_backoff_min",
     .type = LC_OPT_DURATION,
     .def = "500ms",
     .help = "first wait before reconnecting when dockerd is gone",
     .off = OPT(reconnect_min_ms),
     .max = LC_DAY_MS},
    {.key = "reconnect_backoff_max",
     .type = LC_OPT_DURATION,
     .def = "30s",
     .help = "longest wait between reconnect attempts; at least reconnect_backoff_min",
     .off = OPT(reconnect_max_ms),
     .max = LC_DAY_MS},
    {.key = NULL},
};

/* reconnect_backoff_max may not be below reconnect_backoff_min: reported at the key the
 * file gives (max first), never when a value was rejected (its default stands in). */
static void docker_check(struct lc_config_check *ck, void *opts)
{
    const struct lc_docker_config *d = opts;
    char a[32], b[32];
    const char *path = lc_config_check_path(ck);
    int mx = lc_config_check_line(ck, "reconnect_backoff_max");
    int mn = lc_config_check_line(ck, "reconnect_backoff_min");

    if (d->reconnect_max_ms >= d->reconnect_min_ms || mx < 0 || mn < 0) {
        return;
    }
    if (mx > 0) {
        lc_config_check_report(ck, mx, "reconnect_backoff_max", "%s is less than %s.%s (%s)",
                               lc_config_fmt_duration(a, sizeof a, d->reconnect_max_ms), path,
                               "reconnect_backoff_min",
                               lc_config_fmt_duration(b, sizeof b, d->reconnect_min_ms));
    } else if (mn > 0) {
        lc_config_check_report(ck, mn, "reconnect_backoff_min", "%s is greater than %s.%s (%s)",
                               lc_config_fmt_duration(a, sizeof a, d->reconnect_min_ms), path,
                               "reconnect_backoff_max",
                               lc_config_fmt_duration(b, sizeof b, d->reconnect_max_ms));
    }
}

const struct lc_config_plugin lc_docker_config_plugin = {
    .type = "docker",
    .help = "follows every matching container's stdout and stderr through the Docker Engine API",
    .options = docker_options,
    .size = sizeof(struct lc_docker_config),
    .check = docker_check,
    /* One enabled instance until the input's tasks (docker_events, docker_reconcile, one
     * per container), its snapshot figures and its legacy positions import are told apart
     * by instance (issue 9, item 6). */
    .flags = LC_PLUGIN_DEFAULT | LC_PLUGIN_SECTION,
};
