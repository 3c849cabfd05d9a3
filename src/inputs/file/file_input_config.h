/* file_input_config: the file input's options (type: file in the inputs: list): the struct
 * the config loader fills for each file input and the table that declares its keys. Pure
 * data and checks. (Names are lc_file_input_*: the file output owns lc_file_config.) */
#ifndef LC_FILE_INPUT_CONFIG_H
#define LC_FILE_INPUT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/config_option.h"

enum lc_file_input_from { LC_FILE_INPUT_FROM_END = 0, LC_FILE_INPUT_FROM_BEGINNING = 1 };

struct lc_file_input_config {
    char **paths; /* absolute globs */
    size_t n_paths;
    char **exclude; /* globs matched against the whole path and against the file name */
    size_t n_exclude;
    int read_from;                 /* enum lc_file_input_from */
    struct lc_config_pair *fields; /* added to every record as fields */
    size_t n_fields;
    uint64_t max_line_bytes;
    uint64_t refresh_ms; /* how often the globs are matched again */
};

extern const struct lc_config_plugin lc_file_input_config_plugin;

#endif
