/* stdout_config: the stdout output's options (format): the struct the config loader fills
 * for a stdout output (struct lc_output_config's opts) and the table that declares its
 * keys. Pure data and checks: it links without the output. */
#ifndef LC_STDOUT_CONFIG_H
#define LC_STDOUT_CONFIG_H

#include <stdint.h>

#include "config/config_option.h"

enum lc_stdout_format {
    LC_STDOUT_FORMAT_JSON = 0, /* the file output's JSON line: the message and its metadata */
    LC_STDOUT_FORMAT_TEXT = 1, /* the bare message */
};

/* How long a try waits for room in a stdout that does not drain before it fails the batch
 * (LC_RETRY): below any task_timeout, so the delivery thread beats between tries. */
#define LC_STDOUT_WAIT_MS 5000

struct lc_stdout_config {
    int format; /* enum lc_stdout_format */
    /* Not a key (the table does not declare it): 0 means LC_STDOUT_WAIT_MS; tests shorten
     * it. */
    uint64_t wait_ms;
};

/* The stdout output's config: type "stdout", no built-in instance, at most one. */
extern const struct lc_config_plugin lc_stdout_config_plugin;

#endif
