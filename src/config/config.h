/* config: the configuration model, its built-in defaults, and the YAML loader (libyaml).
 * The loader checks every key against a table of known keys, types and ranges and reports
 * every problem, one line each, as "config error: FILE:LINE: KEY.PATH: what is wrong".
 * The lc_config struct owns every string and array it points to. */
#ifndef LC_CONFIG_H
#define LC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/log.h"
#include "core/sync_mode.h"

enum lc_format {
    LC_FORMAT_JSON = 0,
    LC_FORMAT_TEXT = 1,
};

struct lc_label_match {
    char *key;
    char *value; /* "*" matches any value */
};

struct lc_output_config {
    char *type; /* "file" */
    char *name; /* unique; defaults to the type */
    int line;   /* line in the config file, 0 for built-in defaults */
    /* every type: delivery from the spool */
    struct {
        unsigned max_records; /* records per batch (default 2048) */
        uint64_t max_bytes;   /* message bytes per batch (default 4MiB); one bigger record
                                 goes alone */
        uint64_t max_wait_ms; /* a batch that is not full is sent this long after its first
                                 record was read (default 100ms) */
    } batch;
    struct {
        uint64_t backoff_min_ms; /* first wait after a failed send (default 500ms) */
        uint64_t backoff_max_ms; /* the wait doubles up to this (default 30s) */
        unsigned max_attempts;   /* 0 = retry without limit (default); else after this many
                                    failed sends the batch goes to the dead-letter file */
    } retry;
    int start_oldest; /* start_at: oldest (1) or end (0, default): where a new output starts */
    /* type: file */
    char *path; /* directory */
    enum lc_format format;
    uint64_t rotate_bytes;
    unsigned max_files;
    int compress;
};

struct lc_docker_config {
    int enabled;
    char *socket;
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

struct lc_config {
    char *path; /* the file loaded, or NULL for built-in defaults */
    char *data_dir;
    enum lc_log_level log_level;
    char *hostname;   /* "host" field of records; defaults to gethostname() */
    char *api_listen; /* "host:port" */
    char *api_token;  /* NULL: no token (only allowed on a loopback address) */
    struct {
        uint64_t check_interval_ms;
        uint64_t task_timeout_ms;
        uint64_t restart_backoff_min_ms;
        uint64_t restart_backoff_max_ms;
        uint64_t loop_stall_timeout_ms;
    } supervisor;
    struct {
        uint64_t segment_bytes;    /* default 64MiB */
        uint64_t max_bytes;        /* default 1GiB; at least 2 x segment_bytes */
        enum lc_sync_mode sync;    /* default interval */
        uint64_t sync_interval_ms; /* default 1s */
    } spool;
    struct lc_docker_config docker;
    struct lc_output_config *outputs;
    size_t n_outputs;
};

/* Fills C with the documented built-in defaults (one file output "file" in
 * DATA_DIR/logs). Never fails. */
void lc_config_defaults(struct lc_config *c);

/* Loads PATH over the defaults. Every problem is printed to ERRORS as one line
 * "config error: FILE:LINE: KEY.PATH: what is wrong". Returns 0, -EINVAL when the config
 * is invalid (C is then freed and zeroed), or -errno when the file cannot be read (also
 * reported on ERRORS; C is freed and zeroed too). C must hold the defaults (from
 * lc_config_defaults) or be zeroed (the defaults are then filled in first); the values the
 * file gives replace C's, freeing them. ERRORS may be NULL (nothing is printed). */
int lc_config_load(struct lc_config *c, const char *path, FILE *errors);

/* Like lc_config_load, from the LEN bytes of TEXT (need not be NUL-terminated); NAME is
 * the file name used in messages and stored in c->path. Returns 0 or -EINVAL. */
int lc_config_load_string(struct lc_config *c, const char *name, const char *text, size_t len,
                          FILE *errors);

/* Frees everything C owns and zeroes it. */
void lc_config_free(struct lc_config *c);

#endif
