/* main: the command line. Parses the arguments, loads and checks the config, takes the
 * data directory's lock (one logcap per data_dir) and runs the loop. Exit codes: 0 clean
 * stop, 1 fatal runtime error, 2 bad config or arguments. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"

#define EXIT_FATAL 1
#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out, "usage: logcap [--config FILE] [--check-config] [--version] [--help]\n"
                 "\n"
                 "Captures every Docker container's stdout and stderr into local files.\n"
                 "\n"
                 "  -c, --config FILE   YAML config (default: built-in defaults: socket\n"
                 "                      /var/run/docker.sock, data dir ./logcap-data, file output\n"
                 "                      in ./logcap-data/logs); see docs/configuration.md\n"
                 "      --check-config  validate the config and exit (0 valid, 2 invalid)\n"
                 "  -V, --version       print the version and exit\n"
                 "  -h, --help          print this help and exit\n"
                 "\n"
                 "Exit codes: 0 clean stop, 1 fatal runtime error, 2 bad config or arguments.\n"
                 "SIGTERM or SIGINT: stop reading, flush the outputs, save positions, exit 0.\n");
}

struct args {
    const char *config;
    int check;
};

/* Returns 0 to run, 1 when done (help, version), or -1 on a usage error. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    memset(a, 0, sizeof(*a));
    while ((ch = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            a->config = optarg;
            break;
        case 'k':
            a->check = 1;
            break;
        case 'V':
            printf("logcap %s\n", LOGCAP_VERSION);
            return 1;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "logcap: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Creates data_dir and locks it so two agents never share positions. Returns the lock fd
 * (kept open for the life of the process) or -1 (reported). */
static int lock_data_dir(const char *dir)
{
    size_t n = strlen(dir) + 16;
    char *path = lc_xmalloc(n);
    int fd, rc = lc_mkdir_p(dir, 0755);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[logcap] cannot create data_dir %s", dir);
        free(path);
        return -1;
    }
    snprintf(path, n, "%s/lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        lc_log(LC_LOG_ERROR, errno, "[logcap] cannot lock %s (is another logcap using it?)", path);
        if (fd >= 0) {
            close(fd);
        }
        fd = -1;
    }
    free(path);
    return fd;
}

int main(int argc, char **argv)
{
    struct lc_config cfg;
    struct args a;
    int rc, lock_fd;

    rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    lc_config_defaults(&cfg);
    if (a.config != NULL && lc_config_load(&cfg, a.config, stderr) != 0) {
        return EXIT_USAGE;
    }
    if (a.check) {
        printf("config ok: %s\n", a.config != NULL ? a.config : "(built-in defaults)");
        lc_config_free(&cfg);
        return 0;
    }
    lc_log_set_level(cfg.log_level);
    lock_fd = lock_data_dir(cfg.data_dir);
    if (lock_fd < 0) {
        lc_config_free(&cfg);
        return EXIT_FATAL;
    }
    rc = lc_loop_run(&cfg);
    close(lock_fd);
    lc_config_free(&cfg);
    return rc;
}
