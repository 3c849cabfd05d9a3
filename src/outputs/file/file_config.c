/* file_config: the file output's option table and its check (see file_config.h). */
#include "outputs/file/file_config.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define OPT(m) offsetof(struct lc_file_config, m)

static const char *const formats[] = {"json", "text", NULL};

static const struct lc_config_option file_options[] = {
    {.key = "path",
     .type = LC_OPT_STRING,
     .def_doc = "<data_dir>/logs",
     .help = "directory of the files; each file output needs its own",
     .off = OPT(path)},
    {.key = "format",
     .type = LC_OPT_ENUM,
     .names = formats,
     .def = "json",
     .help = "json: one JSON object per line with the message and its metadata; text: the bare "
             "message",
     .off = OPT(format)},
    {.key = "rotate_bytes",
     .type = LC_OPT_SIZE,
     .def = "100MiB",
     .help = "a file that would grow past this is rotated to <name>.log.1",
     .off = OPT(rotate_bytes),
     .min = 4 * LC_KIB,
     .max = 1024 * 1024 * LC_MIB},
    {.key = "max_files",
     .type = LC_OPT_UINT,
     .def = "10",
     .help = "rotated files kept per container",
     .off = OPT(max_files),
     .min = 1,
     .max = 1000},
    {.key = "compress",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "gzip rotated files",
     .off = OPT(compress)},
    {.key = NULL},
};

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

/* A file output without a path, and the built-in one (line 0), writes to <data_dir>/logs,
 * known only once data_dir is. Two file outputs in one directory would write the same
 * files. */
static void file_check(struct lc_config_check *ck, void *opts)
{
    struct lc_file_config *f = opts;
    const struct lc_file_config *peer;
    const char *name;
    char q[80];
    int line = lc_config_check_line(ck, NULL), peer_line;

    if (f->path == NULL || line == 0) {
        free(f->path);
        f->path = join_path(lc_config_check_data_dir(ck), "logs");
    }
    for (size_t i = 0;; i++) {
        peer = lc_config_check_peer(ck, i, &name, &peer_line);
        if (peer == NULL) {
            break;
        }
        if (peer->path != NULL && strcmp(peer->path, f->path) == 0) {
            lc_config_check_report(ck, line, "path",
                                   "%s is also the directory of output \"%s\" (line %d); each "
                                   "file output needs its own",
                                   lc_config_quote_text(q, sizeof q, f->path), name ? name : "",
                                   peer_line);
            break;
        }
    }
}

const struct lc_config_plugin lc_file_config_plugin = {
    .type = "file",
    .help = "writes one file per container, rotated and compressed",
    .options = file_options,
    .size = sizeof(struct lc_file_config),
    .check = file_check,
    .flags = LC_PLUGIN_DEFAULT,
};
