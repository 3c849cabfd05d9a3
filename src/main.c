/* main: the command line. Parses the arguments, loads and checks the config (with the
 * catalogue of input and output types from the registries), and either runs a subcommand
 * (spool inspect, dead replay, config-reference) or takes the data directory's lock (one
 * logcap per data_dir) and runs the loop. Exit codes: 0 clean stop, 1 fatal runtime error,
 * 2 bad config or arguments. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "base/log.h"
#include "daemon/loop.h"
#include "base/util.h"

#define EXIT_FATAL 1
#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out, "usage: logcap [--config FILE] [--check-config] [--version] [--help]\n"
                 "       logcap spool inspect [--config FILE]\n"
                 "       logcap dead replay OUTPUT [--config FILE]\n"
                 "       logcap config-reference\n"
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
                 "  spool inspect       print the spool's segments and each output's cursor,\n"
                 "                      backlog and oldest record (safe while logcap runs)\n"
                 "  dead replay OUTPUT  send OUTPUT's dead-letter records again (through the\n"
                 "                      running logcap's API when it runs)\n"
                 "  config-reference    print every config key of the core and of every input\n"
                 "                      and output type: type, range, default and help\n"
                 "\n"
                 "Exit codes: 0 clean stop, 1 fatal runtime error, 2 bad config or arguments.\n"
                 "SIGTERM or SIGINT: stop reading, sync the spool, let the outputs deliver what\n"
                 "it holds (at most 7 s), exit 0.\n");
}

struct args {
    const char *config;
    int check;
    char *const *words; /* the subcommand, if any */
    int n_words;
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
    a->words = argv + optind;
    a->n_words = argc - optind;
    return 0;
}

/* Runs the subcommand in A->words. Returns the exit code. */
static int run_command(const struct args *a, const struct lc_config *cfg)
{
    char *const *w = a->words;
    if (a->n_words == 2 && strcmp(w[0], "spool") == 0 && strcmp(w[1], "inspect") == 0) {
        return lc_cmd_spool_inspect(cfg, stdout);
    }
    if (a->n_words == 3 && strcmp(w[0], "dead") == 0 && strcmp(w[1], "replay") == 0) {
        return lc_cmd_dead_replay(cfg, w[2], stdout);
    }
    fprintf(stderr, "logcap: unknown command:");
    for (int i = 0; i < a->n_words; i++) {
        fprintf(stderr, " %s", w[i]);
    }
    fprintf(stderr, "\n");
    usage(stderr);
    return EXIT_USAGE;
}

/* Creates data_dir and locks it so two agents never share a spool. Returns the lock fd
 * (kept open for the life of the process) or -1 (reported). */
static int lock_data_dir(const char *dir)
{
    int fd = lc_cmd_lock_data_dir(dir);
    if (fd == -EWOULDBLOCK) {
        lc_log(LC_LOG_ERROR, 0, "[logcap] cannot lock %s/lock: another logcap is using it", dir);
    } else if (fd < 0) {
        lc_log(LC_LOG_ERROR, fd, "[logcap] cannot lock %s/lock", dir);
    }
    return fd < 0 ? -1 : fd;
}

/* Opens /dev/null on fds 0, 1 and 2 where they are closed: started with one closed, the
 * next open (a spool segment, the lock file) would get it, and what goes to stdout (the
 * stdout output's records) or stderr (the log) would land in that file. */
static void keep_std_fds_open(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int nfd = open("/dev/null", O_RDWR); /* the lowest free fd: this one */
            if (nfd > 2) {
                close(nfd);
            }
        }
    }
}

int main(int argc, char **argv)
{
    struct lc_config cfg;
    struct args a;
    int rc, lock_fd;

    keep_std_fds_open();
    rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    /* Needs no config: it prints the tables. */
    if (a.n_words == 1 && strcmp(a.words[0], "config-reference") == 0) {
        return lc_cmd_config_reference(lc_cmd_catalog(), stdout);
    }
    lc_config_defaults(&cfg, lc_cmd_catalog());
    if (a.config != NULL && lc_config_load(&cfg, lc_cmd_catalog(), a.config, stderr) != 0) {
        return EXIT_USAGE;
    }
    if (a.check) {
        printf("config ok: %s\n", a.config != NULL ? a.config : "(built-in defaults)");
        lc_config_free(&cfg);
        return 0;
    }
    if (a.n_words > 0) {
        lc_log_set_level(LC_LOG_WARN);
        rc = run_command(&a, &cfg);
        lc_config_free(&cfg);
        return rc;
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
