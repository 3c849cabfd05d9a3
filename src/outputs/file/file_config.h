/* file_config: the file output's options (path, format, rotate_bytes, max_files,
 * compress): the struct the config loader fills for each file output (struct
 * lc_output_config's opts) and the table that declares the keys, their defaults, help and
 * checks. Pure data and checks: it links without the output. */
#ifndef LC_FILE_CONFIG_H
#define LC_FILE_CONFIG_H

#include <stdint.h>

#include "config/config_option.h"

enum lc_file_format {
    LC_FILE_FORMAT_JSON = 0, /* one JSON object per line: the message and its metadata */
    LC_FILE_FORMAT_TEXT = 1, /* the bare message */
};

struct lc_file_config {
    char *path; /* the directory of the files; default <data_dir>/logs */
    int format; /* enum lc_file_format */
    uint64_t rotate_bytes;
    unsigned max_files;
    int compress;
};

/* The file output's config: type "file", one built-in instance. */
extern const struct lc_config_plugin lc_file_config_plugin;

#endif
