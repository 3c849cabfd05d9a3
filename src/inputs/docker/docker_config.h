/* docker_config: the Docker input's options (its keys in the config file, in the inputs:
 * list or the top-level docker: section): the struct the config loader fills for each
 * Docker input and the table that declares the keys, their defaults, help and checks.
 * Pure data and checks: it links without the rest of the input. */
#ifndef LC_DOCKER_CONFIG_H
#define LC_DOCKER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/config_option.h"

enum lc_docker_read { LC_DOCKER_READ_AUTO = 0, LC_DOCKER_READ_FILES, LC_DOCKER_READ_API };

struct lc_docker_config {
    char *socket;
    int read;   /* enum lc_docker_read */
    char *root; /* dockerd's data root (its containers/ holds the json-file logs) */
    char **include_names;
    size_t n_include_names;
    char **exclude_names;
    size_t n_exclude_names;
    struct lc_label_match *include_labels;
    size_t n_include_labels;
    struct lc_label_match *exclude_labels;
    size_t n_exclude_labels;
    int stdout_enabled;
    int stderr_enabled;
    long initial_tail; /* -1 = "all" */
    uint64_t idle_timeout_ms;
    uint64_t reconcile_interval_ms;
    uint64_t max_line_bytes;
    uint64_t request_timeout_ms; /* connect and response-header deadline of every request */
    uint64_t reconnect_min_ms;   /* backoff when the daemon is gone */
    uint64_t reconnect_max_ms;
};

/* The Docker input's config: type "docker", one built-in instance, and the top-level
 * docker: section as the way to write the instance named "docker". */
extern const struct lc_config_plugin lc_docker_config_plugin;

#endif
