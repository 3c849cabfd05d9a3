/* file_input_config: the file input's option table and its checks (see
 * file_input_config.h). */
#include "inputs/file/file_input_config.h"

#include <stdio.h>
#include <string.h>

#define OPT(m) offsetof(struct lc_file_input_config, m)

static const char *const froms[] = {"end", "beginning", NULL};

static int check_path(const void *value, char *why, size_t cap)
{
    const char *s = *(const char *const *)value;
    char q[80];
    if (s[0] == '/') {
        return 0;
    }
    snprintf(why, cap, "%s is not an absolute path", lc_config_quote_text(q, sizeof q, s));
    return -1;
}

/* A field is a key of the record's JSON: not one the record or the file's metadata has. */
static int check_field(const void *value, char *why, size_t cap)
{
    static const char *const taken[] = {"ts",   "stream", "message", "truncated", "path",
                                        "file", "host",   "fields",  NULL};
    const char *s = *(const char *const *)value;
    char q[80];
    for (size_t i = 0; taken[i] != NULL; i++) {
        if (strcmp(s, taken[i]) == 0) {
            snprintf(why, cap, "%s is a key every file record has already",
                     lc_config_quote_text(q, sizeof q, s));
            return -1;
        }
    }
    return 0;
}

static const struct lc_config_option file_input_options[] = {
    {.key = "paths",
     .type = LC_OPT_NAMES,
     .help = "the files to follow: absolute paths, globs allowed (/var/log/app/*.log); required",
     .check = check_path,
     .off = OPT(paths),
     .off_n = OPT(n_paths)},
    {.key = "exclude",
     .type = LC_OPT_NAMES,
     .help = "files never followed: globs matched against the whole path and the file name",
     .off = OPT(exclude),
     .off_n = OPT(n_exclude)},
    {.key = "read_from",
     .type = LC_OPT_ENUM,
     .names = froms,
     .def = "end",
     .help = "where a file found at the input's first start is read from (end: only what is "
             "written from then on); files that appear later are read from their start",
     .off = OPT(read_from)},
    {.key = "fields",
     .type = LC_OPT_STRMAP,
     .help = "key: value pairs added to every record of the input (as {{ fields.KEY }} in "
             "templates)",
     .check = check_field,
     .off = OPT(fields),
     .off_n = OPT(n_fields)},
    {.key = "max_line_bytes",
     .type = LC_OPT_SIZE,
     .def = "1MiB",
     .help = "longest record; a longer line is cut and marked truncated, its rest dropped",
     .off = OPT(max_line_bytes),
     .min = LC_KIB,
     .max = 64 * LC_MIB},
    {.key = "refresh_interval",
     .type = LC_OPT_DURATION,
     .def = "10s",
     .help = "how often the globs are matched again (new files in watched directories are "
             "found at once)",
     .off = OPT(refresh_ms),
     .max = LC_HOUR_MS},
    {.key = NULL},
};

static void file_input_check(struct lc_config_check *ck, void *opts)
{
    const struct lc_file_input_config *c = opts;
    if (c->n_paths == 0 && lc_config_check_line(ck, "paths") >= 0) {
        lc_config_check_report(ck, lc_config_check_line(ck, NULL), "paths",
                               "at least one path is needed");
    }
}

const struct lc_config_plugin lc_file_input_config_plugin = {
    .type = "file",
    .help = "follows text files by path, through rename and copytruncate rotation",
    .options = file_input_options,
    .size = sizeof(struct lc_file_input_config),
    .check = file_input_check,
    .flags = 0,
};
