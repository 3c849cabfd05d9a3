/* stdout_config: the stdout output's option table and its check (see stdout_config.h). */
#include "outputs/stdout/stdout_config.h"

#include <stddef.h>

#define OPT(m) offsetof(struct lc_stdout_config, m)

static const char *const formats[] = {"json", "text", NULL};

static const struct lc_config_option stdout_options[] = {
    {.key = "format",
     .type = LC_OPT_ENUM,
     .names = formats,
     .def = "json",
     .help = "json: one JSON object per line, the file output's; text: the bare message",
     .off = OPT(format)},
    {.key = NULL},
};

/* Two stdout outputs would write into one stream from two threads: their lines could
 * interleave inside a line, and neither could say what the reader got. */
static void stdout_check(struct lc_config_check *ck, void *opts)
{
    const char *name;
    int peer_line;

    (void)opts;
    if (lc_config_check_peer(ck, 0, &name, &peer_line) != NULL) {
        lc_config_check_report(ck, lc_config_check_line(ck, NULL), "type",
                               "output \"%s\" (line %d) writes to stdout already; logcap has "
                               "one stdout",
                               name ? name : "", peer_line);
    }
}

const struct lc_config_plugin lc_stdout_config_plugin = {
    .type = "stdout",
    .help = "writes every record to logcap's standard output, one line each",
    .options = stdout_options,
    .size = sizeof(struct lc_stdout_config),
    .check = stdout_check,
    .flags = 0,
};
