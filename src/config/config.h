/* config: the configuration model, its built-in defaults, and the YAML loader (libyaml).
 * The loader checks every key against a table of known keys, types and ranges and reports
 * every problem, one line each, as "config error: FILE:LINE: KEY.PATH: what is wrong".
 * It knows the keys of the core and those every input and output has; the keys of each
 * input and output type are in that type's table (config_option.h), which the caller hands
 * the loader in a catalogue built from the registries. The lc_config struct owns every
 * string and array it points to, and each instance's options struct. */
#ifndef LC_CONFIG_H
#define LC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/log.h"
#include "config/config_option.h"
#include "core/sync_mode.h"

/* One configured input: the keys every input has, and its type's options. */
struct lc_input_config {
    char *type;
    char *name;  /* unique among inputs; defaults to the type */
    int line;    /* line in the config file, 0 for the built-in instance */
    int enabled; /* enabled: false keeps the section but runs no instance */
    int index;   /* its place in the file's inputs: list, or -1 for the top-level section
                    named as its type (how messages name it: inputs[INDEX] or TYPE) */
    const struct lc_config_plugin *plugin; /* its type's table; NULL only while loading */
    void *opts;                            /* plugin->size bytes: the type's options */
    int *key_lines; /* per option of the type: see lc_config_check_line; NULL: none given */
};

/* One configured output: the keys every output has, and its type's options. */
struct lc_output_config {
    char *type; /* a type of the catalogue */
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
    const struct lc_config_plugin *plugin; /* its type's table; NULL only while loading */
    void *opts;                            /* plugin->size bytes: the type's options */
    int *key_lines; /* per option of the type: see lc_config_check_line; NULL: none given */
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
    const struct lc_config_catalog *catalog; /* the plugin types it was loaded with */
    struct lc_input_config *inputs;
    size_t n_inputs;
    struct lc_output_config *outputs;
    size_t n_outputs;
};

/* Fills C with the documented built-in defaults: one instance of every catalogue type
 * flagged LC_PLUGIN_DEFAULT, named as its type (the Docker input "docker", the file
 * output "file" in DATA_DIR/logs). CAT (the plugin types, built from the registries by the
 * caller) must outlive C. Never fails. */
void lc_config_defaults(struct lc_config *c, const struct lc_config_catalog *cat);

/* Loads PATH over the defaults. Every problem is printed to ERRORS as one line
 * "config error: FILE:LINE: KEY.PATH: what is wrong". Returns 0, -EINVAL when the config
 * is invalid (C is then freed and zeroed), or -errno when the file cannot be read (also
 * reported on ERRORS; C is freed and zeroed too). C must hold the defaults (from
 * lc_config_defaults) or be zeroed (the defaults are then filled in first); the values the
 * file gives replace C's, freeing them. ERRORS may be NULL (nothing is printed). */
int lc_config_load(struct lc_config *c, const struct lc_config_catalog *cat, const char *path,
                   FILE *errors);

/* Like lc_config_load, from the LEN bytes of TEXT (need not be NUL-terminated); NAME is
 * the file name used in messages and stored in c->path. Returns 0 or -EINVAL. */
int lc_config_load_string(struct lc_config *c, const struct lc_config_catalog *cat,
                          const char *name, const char *text, size_t len, FILE *errors);

/* Frees everything C owns and zeroes it. */
void lc_config_free(struct lc_config *c);

/* The config core's own keys, for config-reference: the top level (with its sections), the
 * keys every input has (SECTION 1: those of a top-level input section such as docker:),
 * the keys every output has. The type's keys are in each plugin's table. */
const struct lc_config_option *lc_config_root_options(void);
const struct lc_config_option *lc_config_input_options(int section);
const struct lc_config_option *lc_config_output_options(void);

/* The input named NAME, or NULL. */
const struct lc_input_config *lc_config_input(const struct lc_config *c, const char *name);

/* Deep copies of one instance's section (DST owns everything it points to, but the
 * plugin table), so that an instance owns its config; free them with the _free
 * functions, which zero the struct. */
void lc_config_input_copy(struct lc_input_config *dst, const struct lc_input_config *src);
void lc_config_input_free(struct lc_input_config *ic);
void lc_config_output_copy(struct lc_output_config *dst, const struct lc_output_config *src);
void lc_config_output_free(struct lc_output_config *oc);

#endif
