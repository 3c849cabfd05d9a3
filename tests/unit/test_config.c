/* test_config: the built-in defaults, a file with every key, and the exact error line of
 * every kind of problem the loader reports (run under ASan to prove it frees everything). */
#include "config/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/template.h"
#include "inputs/docker/docker_config.h"
#include "outputs/file/file_config.h"
#include "outputs/loki/loki_config.h"
#include "test.h"

/* The plugin types the tests load with: the option tables of the Docker input and the file
 * output, as main builds them from the registries. */
static const struct lc_config_plugin *const test_inputs[] = {&lc_docker_config_plugin, NULL};
static const struct lc_config_plugin *const test_outputs[] = {&lc_file_config_plugin, NULL};
static const struct lc_config_catalog catalog = {.inputs = test_inputs, .outputs = test_outputs};

/* The options of the input named "docker" (the top-level docker: section), of an output. */
#define DOCKER(c) ((const struct lc_docker_config *)lc_config_input(&(c), "docker")->opts)
#define FILE_OPTS(o) ((const struct lc_file_config *)(o).opts)

/* Loads TEXT as "x.yaml"; the error lines go to *ERRS (caller frees). */
static int load(struct lc_config *c, const char *text, char **errs)
{
    size_t n = 0;
    FILE *f = open_memstream(errs, &n);
    int rc = lc_config_load_string(c, &catalog, "x.yaml", text, strlen(text), f);
    fclose(f);
    return rc;
}

static int is_zeroed(const struct lc_config *c)
{
    struct lc_config zero;
    memset(&zero, 0, sizeof zero);
    return memcmp(c, &zero, sizeof zero) == 0;
}

/* Returns 1 when TEXT fails with -EINVAL, exactly the lines EXPECTED, and a zeroed config. */
static int fails_with(const char *text, const char *expected)
{
    struct lc_config c = {0};
    char *errs = NULL;
    int rc = load(&c, text, &errs);
    int ok = rc == -EINVAL && strcmp(errs, expected) == 0 && is_zeroed(&c);

    if (!ok) {
        fprintf(stderr, "  rc=%d\n  got:\n%s  expected:\n%s", rc, errs, expected);
    }
    if (rc == 0) {
        lc_config_free(&c);
    }
    free(errs);
    return ok;
}

/* Loads TEXT, which must be valid: returns 0 and prints the errors otherwise. */
static int loads(struct lc_config *c, const char *text)
{
    char *errs = NULL;
    int rc = load(c, text, &errs);
    if (rc != 0 || errs[0] != '\0') {
        fprintf(stderr, "  rc=%d errors:\n%s", rc, errs);
        rc = rc != 0 ? rc : -1;
    }
    free(errs);
    return rc;
}

/* Writes TEXT to a new temporary file; returns its path (static buffer). */
static const char *write_tmp(const char *text)
{
    static char path[64];
    int fd;
    strcpy(path, "/tmp/test_config_XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        abort();
    }
    close(fd);
    return path;
}

TEST(defaults)
{
    struct lc_config c = {0};
    char host[256] = "";
    lc_config_defaults(&c, &catalog);
    gethostname(host, sizeof host - 1);
    ASSERT_TRUE(c.path == NULL);
    ASSERT_STR_EQ(c.data_dir, "./logcap-data");
    ASSERT_EQ(c.log_level, LC_LOG_INFO);
    ASSERT_STR_EQ(c.hostname, host[0] != '\0' ? host : "localhost");
    ASSERT_STR_EQ(c.api_listen, "127.0.0.1:8401");
    ASSERT_EQ(lc_config_input(&c, "docker")->enabled, 1);
    ASSERT_STR_EQ(DOCKER(c)->socket, "/var/run/docker.sock");
    ASSERT_EQ(DOCKER(c)->n_include_names + DOCKER(c)->n_exclude_names, 0);
    ASSERT_EQ(DOCKER(c)->n_include_labels + DOCKER(c)->n_exclude_labels, 0);
    ASSERT_U64_EQ(c.spool.segment_bytes, 64 * 1048576ULL);
    ASSERT_U64_EQ(c.spool.max_bytes, 1024 * 1048576ULL);
    ASSERT_EQ(c.spool.sync, LC_SYNC_INTERVAL);
    ASSERT_U64_EQ(c.spool.sync_interval_ms, 1000);
    ASSERT_EQ(DOCKER(c)->stdout_enabled, 1);
    ASSERT_EQ(DOCKER(c)->stderr_enabled, 1);
    ASSERT_EQ(DOCKER(c)->initial_tail, 50);
    ASSERT_U64_EQ(DOCKER(c)->idle_timeout_ms, 60000);
    ASSERT_U64_EQ(DOCKER(c)->reconcile_interval_ms, 30000);
    ASSERT_U64_EQ(DOCKER(c)->max_line_bytes, 1048576);
    ASSERT_U64_EQ(DOCKER(c)->request_timeout_ms, 10000);
    ASSERT_U64_EQ(DOCKER(c)->reconnect_min_ms, 500);
    ASSERT_U64_EQ(DOCKER(c)->reconnect_max_ms, 30000);
    ASSERT_EQ(c.n_outputs, 1);
    ASSERT_STR_EQ(c.outputs[0].type, "file");
    ASSERT_STR_EQ(c.outputs[0].name, "file");
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[0])->path, "./logcap-data/logs");
    ASSERT_EQ(c.outputs[0].line, 0);
    ASSERT_EQ(FILE_OPTS(c.outputs[0])->format, LC_FILE_FORMAT_JSON);
    ASSERT_U64_EQ(FILE_OPTS(c.outputs[0])->rotate_bytes, 100 * 1048576ULL);
    ASSERT_EQ(FILE_OPTS(c.outputs[0])->max_files, 10);
    ASSERT_EQ(FILE_OPTS(c.outputs[0])->compress, 1);
    ASSERT_EQ(c.outputs[0].batch.max_records, 2048);
    ASSERT_U64_EQ(c.outputs[0].batch.max_bytes, 4 * 1048576ULL);
    ASSERT_U64_EQ(c.outputs[0].batch.max_wait_ms, 100);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_min_ms, 500);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_max_ms, 30000);
    ASSERT_EQ(c.outputs[0].retry.max_attempts, 0);
    ASSERT_EQ(c.outputs[0].start_oldest, 0);
    lc_config_free(&c);
    ASSERT_TRUE(is_zeroed(&c));
    lc_config_free(NULL);
}

TEST(empty_file_is_all_defaults)
{
    static const char *const texts[] = {"", "# nothing here\n", "---\n", "~\n", "\n\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct lc_config c = {0};
        ASSERT_EQ(loads(&c, texts[i]), 0);
        ASSERT_STR_EQ(c.path, "x.yaml");
        ASSERT_STR_EQ(c.data_dir, "./logcap-data");
        ASSERT_EQ(c.n_outputs, 1);
        ASSERT_STR_EQ(FILE_OPTS(c.outputs[0])->path, "./logcap-data/logs");
        lc_config_free(&c);
    }
}

static const char full_file[] = "# every key\n"
                                "data_dir: /var/lib/logcap\n"
                                "log_level: debug\n"
                                "hostname: node-7\n"
                                "api:\n"
                                "  listen: '[::1]:9000'\n"
                                "docker:\n"
                                "  enabled: false\n"
                                "  socket: /run/docker.sock\n"
                                "  include_names: [web-*, api]\n"
                                "  exclude_names:\n"
                                "    - '*-debug'\n"
                                "  include_labels:\n"
                                "    team: payments\n"
                                "    env: '*'\n"
                                "  exclude_labels: {logcap.skip: 'true'}\n"
                                "  stdout: yes\n"
                                "  stderr: off\n"
                                "  initial_tail: all\n"
                                "  idle_timeout: 2m\n"
                                "  reconcile_interval: 45\n"
                                "  max_line_bytes: 256KiB\n"
                                "  request_timeout: 1500ms\n"
                                "  reconnect_backoff_min: 1s\n"
                                "  reconnect_backoff_max: 1h\n"
                                "spool:\n"
                                "  segment_bytes: 16MiB\n"
                                "  max_bytes: 10GiB\n"
                                "  sync: always\n"
                                "  sync_interval: 250ms\n"
                                "outputs:\n"
                                "  - type: file\n"
                                "    name: local\n"
                                "    path: /srv/logs\n"
                                "    format: text\n"
                                "    rotate_bytes: 64MiB\n"
                                "    max_files: 1000\n"
                                "    compress: no\n"
                                "    batch:\n"
                                "      max_records: 500\n"
                                "      max_bytes: 1MiB\n"
                                "      max_wait: 2s\n"
                                "    retry:\n"
                                "      backoff_min: 1s\n"
                                "      backoff_max: 5m\n"
                                "      max_attempts: 20\n"
                                "    start_at: oldest\n"
                                "  - type: file\n";

TEST(full_file_with_every_key)
{
    struct lc_config c = {0};
    const char *path = write_tmp(full_file);
    int rc;
    lc_config_defaults(&c, &catalog); /* as main does: load over the defaults, which are freed */
    rc = lc_config_load(&c, &catalog, path, stderr);
    unlink(path);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(c.path, path);
    ASSERT_STR_EQ(c.data_dir, "/var/lib/logcap");
    ASSERT_EQ(c.log_level, LC_LOG_DEBUG);
    ASSERT_STR_EQ(c.hostname, "node-7");
    ASSERT_STR_EQ(c.api_listen, "[::1]:9000");
    ASSERT_EQ(lc_config_input(&c, "docker")->enabled, 0);
    ASSERT_STR_EQ(DOCKER(c)->socket, "/run/docker.sock");
    ASSERT_EQ(DOCKER(c)->n_include_names, 2);
    ASSERT_STR_EQ(DOCKER(c)->include_names[0], "web-*");
    ASSERT_STR_EQ(DOCKER(c)->include_names[1], "api");
    ASSERT_EQ(DOCKER(c)->n_exclude_names, 1);
    ASSERT_STR_EQ(DOCKER(c)->exclude_names[0], "*-debug");
    ASSERT_EQ(DOCKER(c)->n_include_labels, 2);
    ASSERT_STR_EQ(DOCKER(c)->include_labels[0].key, "team");
    ASSERT_STR_EQ(DOCKER(c)->include_labels[0].value, "payments");
    ASSERT_STR_EQ(DOCKER(c)->include_labels[1].key, "env");
    ASSERT_STR_EQ(DOCKER(c)->include_labels[1].value, "*");
    ASSERT_EQ(DOCKER(c)->n_exclude_labels, 1);
    ASSERT_STR_EQ(DOCKER(c)->exclude_labels[0].key, "logcap.skip");
    ASSERT_STR_EQ(DOCKER(c)->exclude_labels[0].value, "true");
    ASSERT_EQ(DOCKER(c)->stdout_enabled, 1);
    ASSERT_EQ(DOCKER(c)->stderr_enabled, 0);
    ASSERT_EQ(DOCKER(c)->initial_tail, -1);
    ASSERT_U64_EQ(DOCKER(c)->idle_timeout_ms, 120000);
    ASSERT_U64_EQ(DOCKER(c)->reconcile_interval_ms, 45000);
    ASSERT_U64_EQ(DOCKER(c)->max_line_bytes, 256 * 1024);
    ASSERT_U64_EQ(DOCKER(c)->request_timeout_ms, 1500);
    ASSERT_U64_EQ(DOCKER(c)->reconnect_min_ms, 1000);
    ASSERT_U64_EQ(DOCKER(c)->reconnect_max_ms, 3600000);
    ASSERT_U64_EQ(c.spool.segment_bytes, 16 * 1048576ULL);
    ASSERT_U64_EQ(c.spool.max_bytes, 10 * 1073741824ULL);
    ASSERT_EQ(c.spool.sync, LC_SYNC_ALWAYS);
    ASSERT_U64_EQ(c.spool.sync_interval_ms, 250);
    ASSERT_EQ(c.n_outputs, 2);
    ASSERT_STR_EQ(c.outputs[0].type, "file");
    ASSERT_STR_EQ(c.outputs[0].name, "local");
    ASSERT_EQ(c.outputs[0].line, 32);
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[0])->path, "/srv/logs");
    ASSERT_EQ(FILE_OPTS(c.outputs[0])->format, LC_FILE_FORMAT_TEXT);
    ASSERT_U64_EQ(FILE_OPTS(c.outputs[0])->rotate_bytes, 64 * 1048576ULL);
    ASSERT_EQ(FILE_OPTS(c.outputs[0])->max_files, 1000);
    ASSERT_EQ(FILE_OPTS(c.outputs[0])->compress, 0);
    ASSERT_EQ(c.outputs[0].batch.max_records, 500);
    ASSERT_U64_EQ(c.outputs[0].batch.max_bytes, 1048576);
    ASSERT_U64_EQ(c.outputs[0].batch.max_wait_ms, 2000);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_min_ms, 1000);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_max_ms, 300000);
    ASSERT_EQ(c.outputs[0].retry.max_attempts, 20);
    ASSERT_EQ(c.outputs[0].start_oldest, 1);
    /* The second output takes every default, and its path follows data_dir. */
    ASSERT_STR_EQ(c.outputs[1].name, "file");
    ASSERT_EQ(c.outputs[1].line, 48);
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[1])->path, "/var/lib/logcap/logs");
    ASSERT_EQ(FILE_OPTS(c.outputs[1])->format, LC_FILE_FORMAT_JSON);
    ASSERT_U64_EQ(FILE_OPTS(c.outputs[1])->rotate_bytes, 100 * 1048576ULL);
    ASSERT_EQ(FILE_OPTS(c.outputs[1])->max_files, 10);
    ASSERT_EQ(FILE_OPTS(c.outputs[1])->compress, 1);
    ASSERT_EQ(c.outputs[1].batch.max_records, 2048);
    ASSERT_U64_EQ(c.outputs[1].batch.max_bytes, 4 * 1048576ULL);
    ASSERT_U64_EQ(c.outputs[1].batch.max_wait_ms, 100);
    ASSERT_U64_EQ(c.outputs[1].retry.backoff_min_ms, 500);
    ASSERT_U64_EQ(c.outputs[1].retry.backoff_max_ms, 30000);
    ASSERT_EQ(c.outputs[1].retry.max_attempts, 0);
    ASSERT_EQ(c.outputs[1].start_oldest, 0);
    lc_config_free(&c);
}

TEST(initial_tail_all_and_integer)
{
    struct lc_config c = {0};
    ASSERT_EQ(loads(&c, "docker:\n  initial_tail: all\n"), 0);
    ASSERT_EQ(DOCKER(c)->initial_tail, -1);
    lc_config_free(&c);
    ASSERT_EQ(loads(&c, "docker:\n  initial_tail: 0\n"), 0);
    ASSERT_EQ(DOCKER(c)->initial_tail, 0);
    lc_config_free(&c);
    ASSERT_EQ(loads(&c, "docker:\n  initial_tail: 100000\n"), 0);
    ASSERT_EQ(DOCKER(c)->initial_tail, 100000);
    lc_config_free(&c);
    ASSERT_TRUE(fails_with("docker:\n  initial_tail: -1\n",
                           "config error: x.yaml:2: docker.initial_tail: expected \"all\" or a "
                           "non-negative integer, got \"-1\"\n"));
    ASSERT_TRUE(fails_with("docker:\n  initial_tail: [all]\n",
                           "config error: x.yaml:2: docker.initial_tail: expected \"all\" or a "
                           "non-negative integer, got a list\n"));
}

TEST(default_output_path_follows_data_dir)
{
    struct lc_config c = {0};
    ASSERT_EQ(loads(&c, "data_dir: /data\n"), 0);
    ASSERT_EQ(c.n_outputs, 1);
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[0])->path, "/data/logs");
    lc_config_free(&c);
    ASSERT_EQ(loads(&c, "data_dir: /data/\n"), 0);
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[0])->path, "/data/logs");
    lc_config_free(&c);
    /* data_dir after the outputs that depend on it. */
    ASSERT_EQ(loads(&c, "outputs:\n  - type: file\n    name: a\n  - type: file\n    name: b\n"
                        "    path: /b\ndata_dir: late\n"),
              0);
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[0])->path, "late/logs");
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[1])->path, "/b");
    lc_config_free(&c);
}

TEST(booleans)
{
    static const char *const texts[] = {"true", "yes", "on", "True", "YES"};
    struct lc_config c = {0};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "docker:\n  enabled: false\n  stderr: %s\n", texts[i]);
        ASSERT_EQ(loads(&c, text), 0);
        ASSERT_EQ(lc_config_input(&c, "docker")->enabled, 0);
        ASSERT_EQ(DOCKER(c)->stderr_enabled, 1);
        lc_config_free(&c);
    }
    ASSERT_TRUE(fails_with("docker:\n  stdout: true\n  stderr: true\n\n  enabled: true\n"
                           "  stdout: maybe\n",
                           "config error: x.yaml:6: docker.stdout: key given twice (also at line "
                           "2)\n"));
    ASSERT_TRUE(fails_with("x: 1\ndocker:\n  stdout: true\n\n  stderr: maybe\n",
                           "config error: x.yaml:1: x: unknown key\n"
                           "config error: x.yaml:5: docker.stderr: expected true or false, got "
                           "\"maybe\"\n"));
}

TEST(error_unknown_keys)
{
    ASSERT_TRUE(fails_with("data_dir: /x\ndocker:\n  bogus: 1\n",
                           "config error: x.yaml:3: docker.bogus: unknown key\n"));
    ASSERT_TRUE(fails_with("logdir: /x\n", "config error: x.yaml:1: logdir: unknown key\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    url: http://x\n",
                           "config error: x.yaml:3: outputs[0].url: unknown key\n"));
    ASSERT_TRUE(fails_with("api:\n  listen: 127.0.0.1:1\n  \"a\\nb\": 1\n",
                           "config error: x.yaml:3: api.a\\x0ab: unknown key\n"));
}

TEST(error_duration)
{
    ASSERT_TRUE(fails_with("log_level: info\ndocker:\n  enabled: true\n  socket: /s\n"
                           "  stdout: true\n  stderr: true\n  idle_timeout: 10 parsecs\n",
                           "config error: x.yaml:7: docker.idle_timeout: \"10 parsecs\" is not a "
                           "duration (use 500ms, 30s, 5m, 1h)\n"));
    ASSERT_TRUE(fails_with("docker:\n  request_timeout: 0ms\n",
                           "config error: x.yaml:2: docker.request_timeout: \"0ms\" must be "
                           "greater than 0\n"));
    ASSERT_TRUE(fails_with("docker:\n  reconcile_interval: 25h\n",
                           "config error: x.yaml:2: docker.reconcile_interval: \"25h\" is too long "
                           "(at most 24h)\n"));
    ASSERT_TRUE(fails_with("docker:\n  idle_timeout:\n",
                           "config error: x.yaml:2: docker.idle_timeout: expected a duration "
                           "(500ms, 30s, 5m, 1h), got nothing\n"));
}

TEST(error_bool_and_enums)
{
    ASSERT_TRUE(fails_with("\n\n\ndocker:\n  stdout: maybe\n",
                           "config error: x.yaml:5: docker.stdout: expected true or false, got "
                           "\"maybe\"\n"));
    ASSERT_TRUE(fails_with("\nlog_level: loud\n", "config error: x.yaml:2: log_level: expected "
                                                  "one of error, warn, info, debug\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    format: xml\n",
                           "config error: x.yaml:3: outputs[0].format: expected one of json, "
                           "text\n"));
}

TEST(error_sizes_and_integers)
{
    ASSERT_TRUE(fails_with("docker:\n  max_line_bytes: 512\n",
                           "config error: x.yaml:2: docker.max_line_bytes: \"512\" is too small "
                           "(at least 1KiB)\n"));
    ASSERT_TRUE(fails_with("docker:\n  max_line_bytes: 65MiB\n",
                           "config error: x.yaml:2: docker.max_line_bytes: \"65MiB\" is too large "
                           "(at most 64MiB)\n"));
    ASSERT_TRUE(fails_with("docker:\n  max_line_bytes: lots\n",
                           "config error: x.yaml:2: docker.max_line_bytes: \"lots\" is not a size "
                           "(use 64KiB, 1MiB, 100MiB)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    rotate_bytes: 1KiB\n    max_files: 0\n",
                           "config error: x.yaml:3: outputs[0].rotate_bytes: \"1KiB\" is too small "
                           "(at least 4KiB)\n"
                           "config error: x.yaml:4: outputs[0].max_files: 0 is out of range "
                           "(1-1000)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    max_files: 0x10\n",
                           "config error: x.yaml:3: outputs[0].max_files: expected a decimal "
                           "integer, got \"0x10\"\n"));
}

TEST(error_outputs)
{
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    name: a\n    path: /a\n"
                           "  - type: kafak\n    brokers: k:9092\n",
                           "config error: x.yaml:5: outputs[1].type: unknown output type "
                           "\"kafak\" (known: file)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - name: x\n",
                           "config error: x.yaml:2: outputs[0]: missing key \"type\" (known "
                           "types: file)\n"));
    ASSERT_TRUE(fails_with("outputs: []\n", "config error: x.yaml:1: outputs: the list is empty: "
                                            "at least one output is needed\n"));
    ASSERT_TRUE(fails_with("outputs:\n  type: file\n",
                           "config error: x.yaml:2: outputs: expected a list of outputs, got a "
                           "mapping\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - file\n",
                           "config error: x.yaml:2: outputs[0]: expected a mapping with a \"type\" "
                           "key, got \"file\"\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    name: 'my out'\n",
                           "config error: x.yaml:3: outputs[0].name: \"my out\" must be 1 to 64 "
                           "letters, digits, '.', '-' or '_'\n"));
}

TEST(error_duplicate_outputs)
{
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    path: /a\n    name: local\n"
                           "  - type: file\n    path: /b\n    name: local\n",
                           "config error: x.yaml:7: outputs[1].name: duplicate output name "
                           "\"local\" (also at line 4)\n"));
    /* Names default to the type. */
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    path: /a\n  - type: file\n    path: /b\n",
                           "config error: x.yaml:4: outputs[1].name: duplicate output name "
                           "\"file\" (also at line 2)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    name: a\n  - type: file\n    name: b\n",
                           "config error: x.yaml:4: outputs[1].path: \"./logcap-data/logs\" is "
                           "also the directory of output \"a\" (line 2); each file output needs "
                           "its own\n"));
}

TEST(error_wrong_node_kinds)
{
    ASSERT_TRUE(fails_with("hostname: [a, b]\n",
                           "config error: x.yaml:1: hostname: expected a string, got a list\n"));
    ASSERT_TRUE(fails_with("docker: true\n",
                           "config error: x.yaml:1: docker: expected a mapping, got \"true\"\n"));
    ASSERT_TRUE(fails_with("docker:\n  include_names: web\n",
                           "config error: x.yaml:2: docker.include_names: expected a list of name "
                           "patterns, got \"web\"\n"));
    ASSERT_TRUE(fails_with("docker:\n  include_labels: [a]\n",
                           "config error: x.yaml:2: docker.include_labels: expected a mapping of "
                           "label: value, got a list\n"));
    ASSERT_TRUE(fails_with("docker:\n  socket: {a: b}\n",
                           "config error: x.yaml:2: docker.socket: expected a string, got a "
                           "mapping\n"));
    ASSERT_TRUE(
        fails_with("data_dir: ''\n", "config error: x.yaml:1: data_dir: must not be empty\n"));
    ASSERT_TRUE(fails_with("hostname: \"a\\0b\"\n",
                           "config error: x.yaml:1: hostname: must not contain a NUL byte\n"));
    ASSERT_TRUE(fails_with(
        "[a]: 1\n", "config error: x.yaml:1: top level: keys must be strings, got a list\n"));
}

TEST(error_names_and_labels)
{
    ASSERT_TRUE(fails_with("docker:\n  include_names: [/web, '', ok]\n  exclude_names: [[x]]\n",
                           "config error: x.yaml:2: docker.include_names[0]: \"/web\" starts with "
                           "'/': container names are matched without it\n"
                           "config error: x.yaml:2: docker.include_names[1]: must not be empty\n"
                           "config error: x.yaml:3: docker.exclude_names[0]: expected a name "
                           "pattern, got a list\n"));
    ASSERT_TRUE(fails_with("docker:\n  exclude_labels:\n    a:\n    b: x\n    b: y\n",
                           "config error: x.yaml:3: docker.exclude_labels.a: expected a label "
                           "value (\"*\" for any value), got nothing\n"
                           "config error: x.yaml:5: docker.exclude_labels.b: key given twice (also "
                           "at line 4)\n"));
}

TEST(error_too_many_entries)
{
    size_t cap = 80 + 1001 * 16;
    char *text = malloc(cap);
    size_t n = (size_t)snprintf(text, cap, "docker:\n  exclude_labels:\n");
    for (int i = 0; i < 1001; i++) {
        n += (size_t)snprintf(text + n, cap - n, "    l%d: x\n", i);
    }
    int ok = fails_with(text, "config error: x.yaml:3: docker.exclude_labels: has 1001 entries, "
                              "more than the 1000 allowed\n");
    free(text);
    ASSERT_TRUE(ok);
}

TEST(empty_lists_are_fine)
{
    struct lc_config c = {0};
    ASSERT_EQ(loads(&c, "docker:\n  include_names: []\n  exclude_names:\n  include_labels: {}\n"
                        "  exclude_labels: {}\n"),
              0);
    ASSERT_EQ(DOCKER(c)->n_include_names + DOCKER(c)->n_exclude_names, 0);
    ASSERT_EQ(DOCKER(c)->n_include_labels + DOCKER(c)->n_exclude_labels, 0);
    lc_config_free(&c);
}

TEST(error_syntax_and_top_level)
{
    ASSERT_TRUE(fails_with("docker:\n  include_names: [a, b\n",
                           "config error: x.yaml:3: syntax: did not find expected ',' or ']'\n"));
    ASSERT_TRUE(fails_with("a: b\n c: d\n",
                           "config error: x.yaml:2: syntax: mapping values are not allowed in "
                           "this context\n"));
    ASSERT_TRUE(fails_with("data_dir: \xff\n",
                           "config error: x.yaml:1: syntax: invalid leading UTF-8 octet\n"));
    ASSERT_TRUE(fails_with("- a\n- b\n",
                           "config error: x.yaml:1: top level: expected a mapping of keys, got a "
                           "list\n"));
    ASSERT_TRUE(fails_with("just text\n",
                           "config error: x.yaml:1: top level: expected a mapping of keys, got "
                           "\"just text\"\n"));
    ASSERT_TRUE(fails_with("log_level: info\n---\nlog_level: bad\n",
                           "config error: x.yaml:3: syntax: the file holds more than one YAML "
                           "document\n"));
}

TEST(error_backoff_order)
{
    ASSERT_TRUE(fails_with("docker:\n  reconnect_backoff_min: 5s\n  reconnect_backoff_max: 1s\n",
                           "config error: x.yaml:3: docker.reconnect_backoff_max: 1s is less than "
                           "docker.reconnect_backoff_min (5s)\n"));
    ASSERT_TRUE(fails_with("docker:\n  reconnect_backoff_min: 2m\n",
                           "config error: x.yaml:2: docker.reconnect_backoff_min: 2m is greater "
                           "than docker.reconnect_backoff_max (30s)\n"));
    /* A value that does not parse is reported once, not compared as its default. */
    ASSERT_TRUE(fails_with("docker:\n  reconnect_backoff_min: 2m\n  reconnect_backoff_max: x\n",
                           "config error: x.yaml:3: docker.reconnect_backoff_max: \"x\" is not a "
                           "duration (use 500ms, 30s, 5m, 1h)\n"));
}

TEST(supervisor_and_timeout_order)
{
    struct lc_config c = {0};
    ASSERT_EQ(loads(&c, "supervisor:\n  check_interval: 1s\n  task_timeout: 6s\n"
                        "  restart_backoff_min: 100ms\n  restart_backoff_max: 2s\n"
                        "  loop_stall_timeout: 3s\ndocker:\n  idle_timeout: 2s\n"
                        "  request_timeout: 1s\n"),
              0);
    ASSERT_U64_EQ(c.supervisor.check_interval_ms, 1000);
    ASSERT_U64_EQ(c.supervisor.task_timeout_ms, 6000);
    ASSERT_U64_EQ(c.supervisor.restart_backoff_min_ms, 100);
    ASSERT_U64_EQ(c.supervisor.restart_backoff_max_ms, 2000);
    ASSERT_U64_EQ(c.supervisor.loop_stall_timeout_ms, 3000);
    lc_config_free(&c);
    ASSERT_TRUE(fails_with("supervisor:\n  task_timeout: 6s\ndocker:\n  idle_timeout: 6s\n"
                           "  request_timeout: 1s\n",
                           "config error: x.yaml:4: docker.idle_timeout: 6s must be below "
                           "supervisor.task_timeout (6s), or the task would be restarted before "
                           "its own deadline expires\n"));
    ASSERT_TRUE(fails_with("supervisor:\n  task_timeout: 5s\n",
                           "config error: x.yaml:2: docker.idle_timeout: 1m must be below "
                           "supervisor.task_timeout (5s), or the task would be restarted before "
                           "its own deadline expires\n"
                           "config error: x.yaml:2: docker.request_timeout: 10s must be below "
                           "supervisor.task_timeout (5s), or the task would be restarted before "
                           "its own deadline expires\n"
                           "config error: x.yaml:2: supervisor.check_interval: 5s must be below "
                           "supervisor.task_timeout (5s), or the task would be restarted before "
                           "its own deadline expires\n"));
    ASSERT_TRUE(fails_with("supervisor:\n  restart_backoff_min: 2m\n  restart_backoff_max: 1m\n",
                           "config error: x.yaml:3: supervisor.restart_backoff_max: "
                           "supervisor.restart_backoff_max (1m) is less than "
                           "supervisor.restart_backoff_min (2m)\n"));
    ASSERT_TRUE(fails_with("api:\n  listen: 0.0.0.0:8401\n",
                           "config error: x.yaml:2: api.listen: 0.0.0.0:8401 is not a loopback "
                           "address and api.token is not set: set api.token, or listen on "
                           "127.0.0.1\n"));
}

TEST(spool_keys)
{
    static const struct {
        const char *text;
        enum lc_sync_mode sync;
    } modes[] = {
        {"always", LC_SYNC_ALWAYS}, {"interval", LC_SYNC_INTERVAL}, {"never", LC_SYNC_NEVER}};
    struct lc_config c = {0};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "spool:\n  sync: %s\n", modes[i].text);
        ASSERT_EQ(loads(&c, text), 0);
        ASSERT_EQ(c.spool.sync, modes[i].sync);
        lc_config_free(&c);
    }
    /* The smallest and the largest of each range. */
    ASSERT_EQ(loads(&c, "spool:\n  segment_bytes: 64KiB\n  max_bytes: 128KiB\n"
                        "  sync_interval: 1ms\n"),
              0);
    ASSERT_U64_EQ(c.spool.segment_bytes, 65536);
    ASSERT_U64_EQ(c.spool.max_bytes, 131072);
    ASSERT_U64_EQ(c.spool.sync_interval_ms, 1);
    lc_config_free(&c);
    ASSERT_EQ(loads(&c, "spool:\n  segment_bytes: 4GiB\n  max_bytes: 16TiB\n  sync_interval: 1h\n"),
              0);
    ASSERT_U64_EQ(c.spool.segment_bytes, 4 * 1073741824ULL);
    ASSERT_U64_EQ(c.spool.max_bytes, 16 * 1099511627776ULL);
    ASSERT_U64_EQ(c.spool.sync_interval_ms, 3600000);
    lc_config_free(&c);
    ASSERT_EQ(loads(&c, "spool:\n"), 0);
    ASSERT_U64_EQ(c.spool.max_bytes, 1024 * 1048576ULL);
    lc_config_free(&c);
}

TEST(error_spool_keys)
{
    ASSERT_TRUE(fails_with("spool:\n  segment_bytes: 32KiB\n",
                           "config error: x.yaml:2: spool.segment_bytes: \"32KiB\" is too small "
                           "(at least 64KiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  segment_bytes: 5GiB\n",
                           "config error: x.yaml:2: spool.segment_bytes: \"5GiB\" is too large "
                           "(at most 4GiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  max_bytes: 64KiB\n",
                           "config error: x.yaml:2: spool.max_bytes: \"64KiB\" is too small (at "
                           "least 128KiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  max_bytes: 17TiB\n",
                           "config error: x.yaml:2: spool.max_bytes: \"17TiB\" is too large (at "
                           "most 16TiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  max_bytes: 99999999TiB\n",
                           "config error: x.yaml:2: spool.max_bytes: \"99999999TiB\" is too "
                           "large (at most 16TiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  max_bytes: lots\n",
                           "config error: x.yaml:2: spool.max_bytes: \"lots\" is not a size (use "
                           "64KiB, 1MiB, 100MiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  sync: sometimes\n",
                           "config error: x.yaml:2: spool.sync: expected one of always, interval, "
                           "never\n"));
    ASSERT_TRUE(fails_with("spool:\n  sync: Always\n",
                           "config error: x.yaml:2: spool.sync: expected one of always, interval, "
                           "never\n"));
    ASSERT_TRUE(fails_with("spool:\n  sync: [always]\n",
                           "config error: x.yaml:2: spool.sync: expected one of always, interval, "
                           "never, got a list\n"));
    ASSERT_TRUE(fails_with("spool:\n  sync_interval: 0\n",
                           "config error: x.yaml:2: spool.sync_interval: \"0\" must be greater "
                           "than 0\n"));
    ASSERT_TRUE(fails_with("spool:\n  sync_interval: 61m\n",
                           "config error: x.yaml:2: spool.sync_interval: \"61m\" is too long (at "
                           "most 1h)\n"));
    ASSERT_TRUE(
        fails_with("spool:\n  sync: never\n  fsync: always\n  sync: always\n",
                   "config error: x.yaml:3: spool.fsync: unknown key\n"
                   "config error: x.yaml:4: spool.sync: key given twice (also at line 2)\n"));
    ASSERT_TRUE(fails_with("spool: 1GiB\n",
                           "config error: x.yaml:1: spool: expected a mapping, got \"1GiB\"\n"));
}

TEST(output_batch_retry_start_at)
{
    struct lc_config c = {0};
    /* The smallest and the largest of each range. */
    ASSERT_EQ(loads(&c, "outputs:\n  - type: file\n    batch:\n      max_records: 1\n"
                        "      max_bytes: 1KiB\n      max_wait: 1ms\n    retry:\n"
                        "      backoff_min: 1ms\n      backoff_max: 1ms\n      max_attempts: 0\n"
                        "    start_at: end\n"),
              0);
    ASSERT_EQ(c.outputs[0].batch.max_records, 1);
    ASSERT_U64_EQ(c.outputs[0].batch.max_bytes, 1024);
    ASSERT_U64_EQ(c.outputs[0].batch.max_wait_ms, 1);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_min_ms, 1);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_max_ms, 1);
    ASSERT_EQ(c.outputs[0].retry.max_attempts, 0);
    ASSERT_EQ(c.outputs[0].start_oldest, 0);
    lc_config_free(&c);
    ASSERT_EQ(loads(&c, "outputs:\n  - type: file\n    batch: {max_records: 1000000, max_bytes: "
                        "256MiB, max_wait: 1h}\n    retry: {backoff_min: 24h, backoff_max: 24h, "
                        "max_attempts: 1000000}\n    start_at: oldest\n"),
              0);
    ASSERT_EQ(c.outputs[0].batch.max_records, 1000000);
    ASSERT_U64_EQ(c.outputs[0].batch.max_bytes, 256 * 1048576ULL);
    ASSERT_U64_EQ(c.outputs[0].batch.max_wait_ms, 3600000);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_min_ms, 86400000);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_max_ms, 86400000);
    ASSERT_EQ(c.outputs[0].retry.max_attempts, 1000000);
    ASSERT_EQ(c.outputs[0].start_oldest, 1);
    lc_config_free(&c);
    /* Each output has its own; empty sections keep the defaults. */
    ASSERT_EQ(loads(&c, "outputs:\n  - type: file\n    name: a\n    path: /a\n    batch:\n"
                        "    retry: {}\n  - type: file\n    name: b\n    path: /b\n"
                        "    batch:\n      max_wait: 5s\n    start_at: oldest\n"),
              0);
    ASSERT_EQ(c.outputs[0].batch.max_records, 2048);
    ASSERT_U64_EQ(c.outputs[0].batch.max_wait_ms, 100);
    ASSERT_U64_EQ(c.outputs[0].retry.backoff_max_ms, 30000);
    ASSERT_EQ(c.outputs[0].start_oldest, 0);
    ASSERT_U64_EQ(c.outputs[1].batch.max_wait_ms, 5000);
    ASSERT_EQ(c.outputs[1].batch.max_records, 2048);
    ASSERT_EQ(c.outputs[1].start_oldest, 1);
    lc_config_free(&c);
}

TEST(error_output_batch)
{
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_records: 0\n",
                           "config error: x.yaml:4: outputs[0].batch.max_records: 0 is out of "
                           "range (1-1000000)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_records: 1000001\n",
                           "config error: x.yaml:4: outputs[0].batch.max_records: 1000001 is out "
                           "of range (1-1000000)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_records: 1k\n",
                           "config error: x.yaml:4: outputs[0].batch.max_records: expected a "
                           "decimal integer, got \"1k\"\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_bytes: 1000\n",
                           "config error: x.yaml:4: outputs[0].batch.max_bytes: \"1000\" is too "
                           "small (at least 1KiB)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_bytes: 257MiB\n",
                           "config error: x.yaml:4: outputs[0].batch.max_bytes: \"257MiB\" is too "
                           "large (at most 256MiB)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_wait: 0ms\n",
                           "config error: x.yaml:4: outputs[0].batch.max_wait: \"0ms\" must be "
                           "greater than 0\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_wait: 2h\n",
                           "config error: x.yaml:4: outputs[0].batch.max_wait: \"2h\" is too long "
                           "(at most 1h)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_wait: soon\n",
                           "config error: x.yaml:4: outputs[0].batch.max_wait: \"soon\" is not a "
                           "duration (use 500ms, 30s, 5m, 1h)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch:\n      max_recs: 10\n"
                           "      max_wait: 1s\n      max_wait: 2s\n",
                           "config error: x.yaml:4: outputs[0].batch.max_recs: unknown key\n"
                           "config error: x.yaml:6: outputs[0].batch.max_wait: key given twice "
                           "(also at line 5)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    batch: 100\n",
                           "config error: x.yaml:3: outputs[0].batch: expected a mapping, got "
                           "\"100\"\n"));
}

TEST(error_output_retry_and_start_at)
{
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      backoff_min: 0s\n",
                           "config error: x.yaml:4: outputs[0].retry.backoff_min: \"0s\" must be "
                           "greater than 0\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      backoff_min: 25h\n",
                           "config error: x.yaml:4: outputs[0].retry.backoff_min: \"25h\" is too "
                           "long (at most 24h)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      backoff_max: 2d\n",
                           "config error: x.yaml:4: outputs[0].retry.backoff_max: \"2d\" is not a "
                           "duration (use 500ms, 30s, 5m, 1h)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      backoff_max: 1441m\n",
                           "config error: x.yaml:4: outputs[0].retry.backoff_max: \"1441m\" is too "
                           "long (at most 24h)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      max_attempts: 1000001\n",
                           "config error: x.yaml:4: outputs[0].retry.max_attempts: 1000001 is out "
                           "of range (0-1000000)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      max_attempts: -1\n",
                           "config error: x.yaml:4: outputs[0].retry.max_attempts: expected a "
                           "decimal integer, got \"-1\"\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      attempts: 3\n",
                           "config error: x.yaml:4: outputs[0].retry.attempts: unknown key\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry: [1s, 30s]\n",
                           "config error: x.yaml:3: outputs[0].retry: expected a mapping, got a "
                           "list\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    start_at: beginning\n",
                           "config error: x.yaml:3: outputs[0].start_at: expected one of end, "
                           "oldest\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    start_at:\n",
                           "config error: x.yaml:3: outputs[0].start_at: expected one of end, "
                           "oldest, got nothing\n"));
    /* The keys of every output are checked even when the type is unknown or missing. */
    ASSERT_TRUE(fails_with("outputs:\n  - type: kafak\n    brokers: k:9092\n    batch:\n"
                           "      max_records: 0\n      bogus: 1\n    start_at: first\n",
                           "config error: x.yaml:2: outputs[0].type: unknown output type "
                           "\"kafak\" (known: file)\n"
                           "config error: x.yaml:5: outputs[0].batch.max_records: 0 is out of "
                           "range (1-1000000)\n"
                           "config error: x.yaml:6: outputs[0].batch.bogus: unknown key\n"
                           "config error: x.yaml:7: outputs[0].start_at: expected one of end, "
                           "oldest\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - retry:\n      max_attempts: x\n",
                           "config error: x.yaml:2: outputs[0]: missing key \"type\" (known "
                           "types: file)\n"
                           "config error: x.yaml:3: outputs[0].retry.max_attempts: expected a "
                           "decimal integer, got \"x\"\n"));
    /* One section may not serve two outputs through an alias. */
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    name: a\n    path: /a\n"
                           "    retry: &r {max_attempts: 3}\n  - type: file\n    name: b\n"
                           "    path: /b\n    retry: *r\n",
                           "config error: x.yaml:9: outputs[1].retry: an alias of a list or "
                           "mapping used already (aliases may only repeat strings)\n"));
}

TEST(spool_size_order)
{
    struct lc_config c = {0};
    ASSERT_EQ(loads(&c, "spool:\n  segment_bytes: 512MiB\n"), 0); /* exactly 2 x */
    lc_config_free(&c);
    ASSERT_TRUE(fails_with("spool:\n  segment_bytes: 16MiB\n  max_bytes: 31MiB\n",
                           "config error: x.yaml:3: spool.max_bytes: spool.max_bytes (31MiB) must "
                           "be at least 2 x spool.segment_bytes (16MiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  max_bytes: 100MiB\n",
                           "config error: x.yaml:2: spool.max_bytes: spool.max_bytes (100MiB) "
                           "must be at least 2 x spool.segment_bytes (64MiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  segment_bytes: 600MiB\n",
                           "config error: x.yaml:2: spool.segment_bytes: spool.max_bytes (1GiB) "
                           "must be at least 2 x spool.segment_bytes (600MiB)\n"));
    /* A value that does not parse or is out of range is reported once, not compared as the
     * default it left in place. */
    ASSERT_TRUE(fails_with("spool:\n  segment_bytes: 600MiB\n  max_bytes: 20TiB\n",
                           "config error: x.yaml:3: spool.max_bytes: \"20TiB\" is too large (at "
                           "most 16TiB)\n"));
    ASSERT_TRUE(fails_with("spool:\n  segment_bytes: 600MiB\n  max_bytes: [1GiB]\n",
                           "config error: x.yaml:3: spool.max_bytes: expected a size (64KiB, "
                           "1MiB, 100MiB), got a list\n"));
    ASSERT_TRUE(fails_with("spool:\n  max_bytes: 100MiB\n  segment_bytes: 32KiB\n",
                           "config error: x.yaml:3: spool.segment_bytes: \"32KiB\" is too small "
                           "(at least 64KiB)\n"));
}

TEST(retry_backoff_order)
{
    struct lc_config c = {0};
    ASSERT_EQ(
        loads(&c, "outputs:\n  - type: file\n    retry: {backoff_min: 5s, backoff_max: 5s}\n"), 0);
    lc_config_free(&c);
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      backoff_min: 1m\n"
                           "      backoff_max: 30s\n",
                           "config error: x.yaml:5: outputs[0].retry.backoff_max: "
                           "outputs[0].retry.backoff_max (30s) is less than "
                           "outputs[0].retry.backoff_min (1m)\n"));
    /* Only one key given: reported at that key, against the other's default. */
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    name: a\n    path: /a\n"
                           "  - type: file\n    name: b\n    path: /b\n    retry:\n"
                           "      backoff_min: 2m\n",
                           "config error: x.yaml:9: outputs[1].retry.backoff_min: "
                           "outputs[1].retry.backoff_max (30s) is less than "
                           "outputs[1].retry.backoff_min (2m)\n"));
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      backoff_max: 100ms\n",
                           "config error: x.yaml:4: outputs[0].retry.backoff_max: "
                           "outputs[0].retry.backoff_max (100ms) is less than "
                           "outputs[0].retry.backoff_min (500ms)\n"));
    /* A value that does not parse is reported once, not compared as its default. */
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    retry:\n      backoff_min: 2m\n"
                           "      backoff_max: x\n",
                           "config error: x.yaml:5: outputs[0].retry.backoff_max: \"x\" is not a "
                           "duration (use 500ms, 30s, 5m, 1h)\n"));
    /* The other cross-key checks still see their keys next to the new ones. */
    ASSERT_TRUE(fails_with("spool:\n  max_bytes: 100MiB\nsupervisor:\n  restart_backoff_max: 1s\n"
                           "  restart_backoff_min: 2s\noutputs:\n  - type: file\n    retry:\n"
                           "      backoff_min: 1m\n      backoff_max: 1s\n",
                           "config error: x.yaml:4: supervisor.restart_backoff_max: "
                           "supervisor.restart_backoff_max (1s) is less than "
                           "supervisor.restart_backoff_min (2s)\n"
                           "config error: x.yaml:10: outputs[0].retry.backoff_max: "
                           "outputs[0].retry.backoff_max (1s) is less than "
                           "outputs[0].retry.backoff_min (1m)\n"
                           "config error: x.yaml:2: spool.max_bytes: spool.max_bytes (100MiB) "
                           "must be at least 2 x spool.segment_bytes (64MiB)\n"));
}

TEST(api_listen)
{
    static const char *const good[] = {"127.0.0.1:8401", "0.0.0.0:1", "[::]:65535", "localhost:80",
                                       "logcap.internal:8080"};
    struct lc_config c = {0};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "api:\n  listen: '%s'\n  token: t\n", good[i]);
        ASSERT_EQ(loads(&c, text), 0);
        ASSERT_STR_EQ(c.api_listen, good[i]);
        lc_config_free(&c);
    }
    ASSERT_TRUE(fails_with("api:\n  listen: 127.0.0.1\n",
                           "config error: x.yaml:2: api.listen: \"127.0.0.1\" is not host:port "
                           "(e.g. 127.0.0.1:8401, [::1]:8401, localhost:8401)\n"));
    ASSERT_TRUE(fails_with("api:\n  listen: '::1:80'\n",
                           "config error: x.yaml:2: api.listen: \"::1:80\" is not host:port (e.g. "
                           "127.0.0.1:8401, [::1]:8401, localhost:8401)\n"));
    ASSERT_TRUE(fails_with("api:\n  listen: 127.0.0.1:70000\n",
                           "config error: x.yaml:2: api.listen: port 70000 is out of range "
                           "(1-65535)\n"));
    ASSERT_TRUE(fails_with("api:\n  listen: 127.0.0.1:0\n",
                           "config error: x.yaml:2: api.listen: port 0 is out of range "
                           "(1-65535)\n"));
    ASSERT_TRUE(fails_with("api:\n  listen: 300.1.1.1:80\n",
                           "config error: x.yaml:2: api.listen: \"300.1.1.1:80\" has an invalid "
                           "host (use an IPv4 address, [IPv6] or a name)\n"));
    ASSERT_TRUE(fails_with("api:\n  listen: '[fe80::zz]:80'\n",
                           "config error: x.yaml:2: api.listen: \"[fe80::zz]:80\" has an invalid "
                           "host (use an IPv4 address, [IPv6] or a name)\n"));
}

TEST(error_alias_of_collection)
{
    ASSERT_TRUE(fails_with("docker:\n  include_names: &n [a]\n  exclude_names: *n\n",
                           "config error: x.yaml:3: docker.exclude_names: an alias of a list or "
                           "mapping used already (aliases may only repeat strings)\n"));
    /* A cycle is no problem either. */
    ASSERT_TRUE(fails_with("&r {docker: *r}\n",
                           "config error: x.yaml:1: docker: an alias of a list or mapping used "
                           "already (aliases may only repeat strings)\n"));
    struct lc_config c = {0};
    ASSERT_EQ(loads(&c, "data_dir: &d /d\nhostname: *d\n"), 0);
    ASSERT_STR_EQ(c.hostname, "/d");
    lc_config_free(&c);
}

TEST(multiple_problems_reported_together)
{
    ASSERT_TRUE(fails_with("data_dir: /x\n"
                           "log_level: chatty\n"
                           "api:\n"
                           "  listen: nowhere\n"
                           "docker:\n"
                           "  bogus: 1\n"
                           "  stdout: maybe\n"
                           "  idle_timeout: 10 parsecs\n"
                           "  reconnect_backoff_min: 10s\n"
                           "  reconnect_backoff_max: 5s\n"
                           "outputs:\n"
                           "  - type: file\n"
                           "    name: local\n"
                           "  - type: kafak\n"
                           "  - type: file\n"
                           "    name: local\n"
                           "    path: /y\n",
                           "config error: x.yaml:2: log_level: expected one of error, warn, info, "
                           "debug\n"
                           "config error: x.yaml:4: api.listen: \"nowhere\" is not host:port (e.g. "
                           "127.0.0.1:8401, [::1]:8401, localhost:8401)\n"
                           "config error: x.yaml:6: docker.bogus: unknown key\n"
                           "config error: x.yaml:7: docker.stdout: expected true or false, got "
                           "\"maybe\"\n"
                           "config error: x.yaml:8: docker.idle_timeout: \"10 parsecs\" is not a "
                           "duration (use 500ms, 30s, 5m, 1h)\n"
                           "config error: x.yaml:14: outputs[1].type: unknown output type "
                           "\"kafak\" (known: file)\n"
                           "config error: x.yaml:16: outputs[2].name: duplicate output name "
                           "\"local\" (also at line 13)\n"
                           "config error: x.yaml:10: docker.reconnect_backoff_max: 5s is less "
                           "than docker.reconnect_backoff_min (10s)\n"));
}

TEST(unreadable_file)
{
    struct lc_config c = {0};
    char *errs = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&errs, &n);
    int rc;
    lc_config_defaults(&c, &catalog);
    rc = lc_config_load(&c, &catalog, "/nonexistent/logcap.yaml", f);
    fclose(f);
    ASSERT_EQ(rc, -ENOENT);
    ASSERT_TRUE(is_zeroed(&c));
    ASSERT_STR_EQ(errs, "config error: /nonexistent/logcap.yaml: cannot read: No such file or "
                        "directory\n");
    free(errs);
    ASSERT_EQ(lc_config_load(&c, &catalog, "/", NULL), -EISDIR);
}

TEST(errors_may_be_null_and_reload_does_not_leak)
{
    struct lc_config c = {0};
    ASSERT_EQ(lc_config_load_string(&c, &catalog, "y", "docker: [", 9, NULL), -EINVAL);
    ASSERT_TRUE(is_zeroed(&c));
    lc_config_defaults(&c, &catalog);
    ASSERT_EQ(lc_config_load_string(&c, &catalog, "y", "bogus: 1", 8, NULL), -EINVAL);
    ASSERT_TRUE(is_zeroed(&c));
    /* Over the defaults: every value the file gives replaces (and frees) the default. */
    lc_config_defaults(&c, &catalog);
    ASSERT_EQ(loads(&c, full_file), 0);
    ASSERT_STR_EQ(c.hostname, "node-7");
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[1])->path, "/var/lib/logcap/logs");
    lc_config_free(&c);
    lc_config_defaults(&c, &catalog);
    ASSERT_EQ(loads(&c, "data_dir: /d\n"), 0);
    ASSERT_STR_EQ(FILE_OPTS(c.outputs[0])->path, "/d/logs");
    lc_config_free(&c);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(loads(&c, full_file), 0);
        lc_config_free(&c);
    }
    /* Text that is not NUL-terminated: only LEN bytes are read. */
    ASSERT_EQ(lc_config_load_string(&c, &catalog, "z", "log_level: debugXXXX", 16, NULL), 0);
    ASSERT_EQ(c.log_level, LC_LOG_DEBUG);
    lc_config_free(&c);
}

/* ---- inputs: the inputs: list, the top-level docker: section, and both ---- */

/* The Docker options both forms write in inputs_list_and_docker_section_agree. */
#define DOCKER_KEYS                                                                                \
    "socket: /run/docker.sock\n"                                                                   \
    "include_names: [web-*, api]\n"                                                                \
    "exclude_names: ['*-debug']\n"                                                                 \
    "include_labels: {team: payments, env: '*'}\n"                                                 \
    "exclude_labels: {logcap.skip: 'true'}\n"                                                      \
    "stderr: off\n"                                                                                \
    "initial_tail: all\n"                                                                          \
    "idle_timeout: 2m\n"                                                                           \
    "reconcile_interval: 45\n"                                                                     \
    "max_line_bytes: 256KiB\n"                                                                     \
    "request_timeout: 1500ms\n"                                                                    \
    "reconnect_backoff_min: 1s\n"                                                                  \
    "reconnect_backoff_max: 1h\n"

/* TEXT with every line indented by PAD, into DST. */
static const char *indent(char *dst, size_t cap, const char *text, const char *pad)
{
    size_t n = 0;
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        n += (size_t)snprintf(dst + n, cap - n, "%s%.*s\n", pad, (int)(end - line), line);
        line = end + 1;
    }
    return dst;
}

static int same_docker_options(const struct lc_docker_config *a, const struct lc_docker_config *b)
{
    int same =
        strcmp(a->socket, b->socket) == 0 && a->n_include_names == b->n_include_names &&
        a->n_exclude_names == b->n_exclude_names && a->n_include_labels == b->n_include_labels &&
        a->n_exclude_labels == b->n_exclude_labels && a->stdout_enabled == b->stdout_enabled &&
        a->stderr_enabled == b->stderr_enabled && a->initial_tail == b->initial_tail &&
        a->idle_timeout_ms == b->idle_timeout_ms &&
        a->reconcile_interval_ms == b->reconcile_interval_ms &&
        a->max_line_bytes == b->max_line_bytes && a->request_timeout_ms == b->request_timeout_ms &&
        a->reconnect_min_ms == b->reconnect_min_ms && a->reconnect_max_ms == b->reconnect_max_ms;
    for (size_t i = 0; same && i < a->n_include_names; i++) {
        same = strcmp(a->include_names[i], b->include_names[i]) == 0;
    }
    for (size_t i = 0; same && i < a->n_exclude_names; i++) {
        same = strcmp(a->exclude_names[i], b->exclude_names[i]) == 0;
    }
    for (size_t i = 0; same && i < a->n_include_labels; i++) {
        same = strcmp(a->include_labels[i].key, b->include_labels[i].key) == 0 &&
               strcmp(a->include_labels[i].value, b->include_labels[i].value) == 0;
    }
    for (size_t i = 0; same && i < a->n_exclude_labels; i++) {
        same = strcmp(a->exclude_labels[i].key, b->exclude_labels[i].key) == 0 &&
               strcmp(a->exclude_labels[i].value, b->exclude_labels[i].value) == 0;
    }
    return same;
}

TEST(inputs_list_and_docker_section_agree)
{
    char keys[1024], text[2048];
    struct lc_config a = {0}, b = {0};
    const struct lc_docker_config *da, *db;

    snprintf(text, sizeof text, "docker:\n%s", indent(keys, sizeof keys, DOCKER_KEYS, "  "));
    ASSERT_EQ(loads(&a, text), 0);
    snprintf(text, sizeof text, "inputs:\n  - type: docker\n    name: docker\n%s",
             indent(keys, sizeof keys, DOCKER_KEYS, "    "));
    ASSERT_EQ(loads(&b, text), 0);
    ASSERT_EQ(a.n_inputs, 1);
    ASSERT_EQ(b.n_inputs, 1);
    ASSERT_STR_EQ(a.inputs[0].type, "docker");
    ASSERT_STR_EQ(b.inputs[0].type, "docker");
    ASSERT_STR_EQ(a.inputs[0].name, "docker");
    ASSERT_STR_EQ(b.inputs[0].name, "docker");
    ASSERT_EQ(a.inputs[0].enabled, 1);
    ASSERT_EQ(b.inputs[0].enabled, 1);
    ASSERT_EQ(a.inputs[0].index, -1);
    ASSERT_EQ(b.inputs[0].index, 0);
    ASSERT_EQ(a.inputs[0].line, 1);
    ASSERT_EQ(b.inputs[0].line, 2);
    da = a.inputs[0].opts;
    db = b.inputs[0].opts;
    ASSERT_TRUE(same_docker_options(da, db));
    ASSERT_STR_EQ(db->socket, "/run/docker.sock");
    ASSERT_EQ(db->n_include_labels, 2);
    ASSERT_STR_EQ(db->include_labels[1].value, "*");
    ASSERT_EQ(db->initial_tail, -1);
    ASSERT_U64_EQ(db->reconnect_max_ms, 3600000);
    lc_config_free(&a);
    lc_config_free(&b);
}

/* Several Docker inputs run side by side, each with its own options. */
TEST(inputs_two_docker_inputs)
{
    struct lc_config c = {0};
    ASSERT_EQ(loads(&c, "docker:\n  socket: /a\ninputs:\n  - type: docker\n    name: b\n"
                        "    socket: /b\n  - {type: docker, name: c, socket: /c}\n"),
              0);
    ASSERT_EQ(c.n_inputs, 3);
    ASSERT_STR_EQ(c.inputs[0].name, "docker");
    ASSERT_STR_EQ(c.inputs[1].name, "b");
    ASSERT_STR_EQ(c.inputs[2].name, "c");
    ASSERT_STR_EQ(((const struct lc_docker_config *)c.inputs[0].opts)->socket, "/a");
    ASSERT_STR_EQ(((const struct lc_docker_config *)c.inputs[1].opts)->socket, "/b");
    ASSERT_STR_EQ(((const struct lc_docker_config *)c.inputs[2].opts)->socket, "/c");
    ASSERT_TRUE(c.inputs[0].enabled && c.inputs[1].enabled && c.inputs[2].enabled);
    lc_config_free(&c);
}

TEST(inputs_defaults_and_both_forms)
{
    struct lc_config c = {0};
    const struct lc_docker_config *d;

    /* Neither form: the built-in Docker input "docker". */
    ASSERT_EQ(loads(&c, "log_level: info\n"), 0);
    ASSERT_EQ(c.n_inputs, 1);
    ASSERT_STR_EQ(c.inputs[0].name, "docker");
    ASSERT_EQ(c.inputs[0].line, 0);
    lc_config_free(&c);
    /* inputs: alone says exactly what runs: no implicit "docker" beside it. */
    ASSERT_EQ(loads(&c, "inputs:\n  - type: docker\n    name: local\n    socket: /a.sock\n"
                        "  - {type: docker, name: remote, socket: /b.sock, enabled: false}\n"),
              0);
    ASSERT_EQ(c.n_inputs, 2);
    ASSERT_TRUE(lc_config_input(&c, "docker") == NULL);
    ASSERT_STR_EQ(c.inputs[0].name, "local");
    ASSERT_EQ(c.inputs[0].enabled, 1);
    ASSERT_STR_EQ(((const struct lc_docker_config *)c.inputs[0].opts)->socket, "/a.sock");
    ASSERT_STR_EQ(c.inputs[1].name, "remote");
    ASSERT_EQ(c.inputs[1].enabled, 0);
    ASSERT_STR_EQ(((const struct lc_docker_config *)c.inputs[1].opts)->socket, "/b.sock");
    lc_config_free(&c);
    /* Both: docker: is the input "docker", first; the list's follow. Name defaults to the
     * type: a list entry without one would be "docker" too. */
    ASSERT_EQ(loads(&c, "inputs:\n  - type: docker\n    name: second\n    stdout: false\n"
                        "    enabled: false\n"
                        "docker:\n  socket: /first.sock\n"),
              0);
    ASSERT_EQ(c.n_inputs, 2);
    ASSERT_STR_EQ(c.inputs[0].name, "docker");
    ASSERT_EQ(c.inputs[0].index, -1);
    d = c.inputs[0].opts;
    ASSERT_STR_EQ(d->socket, "/first.sock");
    ASSERT_EQ(d->stdout_enabled, 1);
    ASSERT_STR_EQ(c.inputs[1].name, "second");
    ASSERT_EQ(c.inputs[1].index, 0);
    d = c.inputs[1].opts;
    ASSERT_STR_EQ(d->socket, "/var/run/docker.sock");
    ASSERT_EQ(d->stdout_enabled, 0);
    lc_config_free(&c);
    /* docker: {enabled: false} keeps the section's instance, switched off: none runs. */
    ASSERT_EQ(loads(&c, "docker:\n  enabled: false\n"), 0);
    ASSERT_EQ(c.n_inputs, 1);
    ASSERT_EQ(c.inputs[0].enabled, 0);
    lc_config_free(&c);
    /* An empty docker: section is the instance with every default. */
    ASSERT_EQ(loads(&c, "docker:\n"), 0);
    ASSERT_EQ(c.n_inputs, 1);
    ASSERT_STR_EQ(DOCKER(c)->socket, "/var/run/docker.sock");
    lc_config_free(&c);
}

TEST(error_inputs)
{
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n  - type: files\n    path: /x\n",
                           "config error: x.yaml:3: inputs[1].type: unknown input type \"files\" "
                           "(known: docker)\n"));
    ASSERT_TRUE(fails_with("inputs:\n  - name: x\n",
                           "config error: x.yaml:2: inputs[0]: missing key \"type\" (known "
                           "types: docker)\n"));
    ASSERT_TRUE(fails_with("inputs: []\n", "config error: x.yaml:1: inputs: the list is empty: at "
                                           "least one input is needed\n"));
    ASSERT_TRUE(fails_with("inputs:\n  type: docker\n",
                           "config error: x.yaml:2: inputs: expected a list of inputs, got a "
                           "mapping\n"));
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n    name: 'a b'\n",
                           "config error: x.yaml:3: inputs[0].name: \"a b\" must be 1 to 64 "
                           "letters, digits, '.', '-' or '_'\n"));
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n  - {type: docker, enabled: false}\n",
                           "config error: x.yaml:3: inputs[1].name: duplicate input name "
                           "\"docker\" (also at line 2)\n"));
    /* docker: is the input named docker: a list entry of that name is the name twice. */
    ASSERT_TRUE(fails_with("docker:\n  socket: /a\ninputs:\n  - type: docker\n"
                           "    socket: /b\n",
                           "config error: x.yaml:4: inputs[0].name: duplicate input name "
                           "\"docker\" (also at line 1, the top-level docker: section)\n"));
    /* The top-level section takes no type or name: the key gives both. */
    ASSERT_TRUE(fails_with("docker:\n  name: other\n",
                           "config error: x.yaml:2: docker.name: unknown key\n"));
}

/* ---- each plugin's table: unknown key, wrong type, its own check, the exact line ---- */

TEST(error_input_plugin_table)
{
    /* Unknown key, in the list and in the section. */
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n    bogus: 1\n",
                           "config error: x.yaml:3: inputs[0].bogus: unknown key\n"));
    /* Wrong type and range: the setters of the type the table names. */
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n\n    max_line_bytes: 512\n"
                           "    stdout: maybe\n    include_names: web\n"
                           "    exclude_labels: [a]\n    initial_tail: -1\n",
                           "config error: x.yaml:4: inputs[0].max_line_bytes: \"512\" is too "
                           "small (at least 1KiB)\n"
                           "config error: x.yaml:5: inputs[0].stdout: expected true or false, "
                           "got \"maybe\"\n"
                           "config error: x.yaml:6: inputs[0].include_names: expected a list of "
                           "name patterns, got \"web\"\n"
                           "config error: x.yaml:7: inputs[0].exclude_labels: expected a mapping "
                           "of label: value, got a list\n"
                           "config error: x.yaml:8: inputs[0].initial_tail: expected \"all\" or "
                           "a non-negative integer, got \"-1\"\n"));
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n    max_line_bytes: lots\n"
                           "    max_line_bytes: 1MiB\n",
                           "config error: x.yaml:3: inputs[0].max_line_bytes: \"lots\" is not a "
                           "size (use 64KiB, 1MiB, 100MiB)\n"
                           "config error: x.yaml:4: inputs[0].max_line_bytes: key given twice "
                           "(also at line 3)\n"));
    /* The check of one value (the table's check of each name pattern). */
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n    exclude_names: [ok, /web]\n",
                           "config error: x.yaml:3: inputs[0].exclude_names[1]: \"/web\" starts "
                           "with '/': container names are matched without it\n"));
    /* The plugin's check across its keys, named by the instance's path. */
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n    name: a\n    enabled: no\n"
                           "  - type: docker\n    name: b\n    reconnect_backoff_min: 5s\n"
                           "    reconnect_backoff_max: 1s\n",
                           "config error: x.yaml:8: inputs[1].reconnect_backoff_max: 1s is less "
                           "than inputs[1].reconnect_backoff_min (5s)\n"));
    /* A value it rejected is not compared as its default. */
    ASSERT_TRUE(fails_with("inputs:\n  - type: docker\n    reconnect_backoff_min: 2m\n"
                           "    reconnect_backoff_max: x\n",
                           "config error: x.yaml:4: inputs[0].reconnect_backoff_max: \"x\" is not "
                           "a duration (use 500ms, 30s, 5m, 1h)\n"));
    /* The deadlines its table flags stay below supervisor.task_timeout. */
    ASSERT_TRUE(fails_with("supervisor:\n  task_timeout: 6s\ninputs:\n  - type: docker\n"
                           "    idle_timeout: 6s\n    request_timeout: 1s\n",
                           "config error: x.yaml:5: inputs[0].idle_timeout: 6s must be below "
                           "supervisor.task_timeout (6s), or the task would be restarted before "
                           "its own deadline expires\n"));
}

TEST(error_output_plugin_table)
{
    ASSERT_TRUE(fails_with("outputs:\n  - type: file\n    compress: maybe\n    format: [json]\n"
                           "    rotate_bytes: 2TiB\n",
                           "config error: x.yaml:3: outputs[0].compress: expected true or false, "
                           "got \"maybe\"\n"
                           "config error: x.yaml:4: outputs[0].format: expected one of json, "
                           "text, got a list\n"
                           "config error: x.yaml:5: outputs[0].rotate_bytes: \"2TiB\" is too "
                           "large (at most 1TiB)\n"));
    /* The file output's own check: one directory per file output, named at the entry. */
    ASSERT_TRUE(fails_with("data_dir: /d\noutputs:\n  - type: file\n    name: a\n"
                           "    path: /d/logs\n  - type: file\n    name: b\n",
                           "config error: x.yaml:6: outputs[1].path: \"/d/logs\" is also the "
                           "directory of output \"a\" (line 3); each file output needs its own\n"));
}

/* A plugin the config core has never heard of: its table and check work as the built-in
 * ones do, which is all a new output needs from the config. */
struct fake_opts {
    char *url;
    char **topics;
    size_t n_topics;
    int mode;
    uint64_t timeout_ms;
    unsigned workers;
};

static int fake_url_check(const void *value, char *why, size_t cap)
{
    const char *url = *(char *const *)value;
    if (strncmp(url, "http://", 7) == 0) {
        return 0;
    }
    snprintf(why, cap, "must start with http://");
    return -1;
}

static void fake_check(struct lc_config_check *ck, void *opts)
{
    const struct fake_opts *f = opts;
    if (f->url == NULL) {
        lc_config_check_report(ck, lc_config_check_line(ck, NULL), "url", "is required");
    } else if (f->n_topics > f->workers && lc_config_check_line(ck, "workers") >= 0) {
        lc_config_check_report(ck, lc_config_check_line(ck, "topics"), "topics",
                               "%zu topics need at least as many workers (%u)", f->n_topics,
                               f->workers);
    }
}

static const char *const fake_modes[] = {"fast", "safe", "paranoid", NULL};
static const struct lc_config_option fake_options[] = {
    {.key = "url", .type = LC_OPT_STRING, .check = fake_url_check, .off = 0},
    {.key = "topics",
     .type = LC_OPT_NAMES,
     .off = offsetof(struct fake_opts, topics),
     .off_n = offsetof(struct fake_opts, n_topics)},
    {.key = "mode",
     .type = LC_OPT_ENUM,
     .names = fake_modes,
     .def = "safe",
     .off = offsetof(struct fake_opts, mode)},
    {.key = "timeout",
     .type = LC_OPT_DURATION,
     .def = "5s",
     .max = LC_DAY_MS,
     .flags = LC_OPT_TASK_DEADLINE,
     .off = offsetof(struct fake_opts, timeout_ms)},
    {.key = "workers",
     .type = LC_OPT_UINT,
     .def = "2",
     .min = 1,
     .max = 8,
     .off = offsetof(struct fake_opts, workers)},
    {.key = NULL},
};
static const struct lc_config_plugin fake_plugin = {
    .type = "fake", .options = fake_options, .size = sizeof(struct fake_opts), .check = fake_check};

static int fake_fails_with(const char *text, const char *expected)
{
    static const struct lc_config_plugin *const outputs[] = {&lc_file_config_plugin, &fake_plugin,
                                                             NULL};
    static const struct lc_config_catalog cat = {.inputs = test_inputs, .outputs = outputs};
    struct lc_config c = {0};
    char *errs = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&errs, &n);
    int rc = lc_config_load_string(&c, &cat, "x.yaml", text, strlen(text), f), ok;
    fclose(f);
    ok = (expected == NULL ? rc == 0 && errs[0] == '\0'
                           : rc == -EINVAL && strcmp(errs, expected) == 0 && is_zeroed(&c));
    if (!ok) {
        fprintf(stderr, "  rc=%d\n  got:\n%s  expected:\n%s", rc, errs, expected ? expected : "");
    }
    if (rc == 0 && expected == NULL) {
        const struct fake_opts *o = c.outputs[0].opts;
        ok = strcmp(c.outputs[0].name, "fake") == 0 && o->mode == 2 && o->workers == 2 &&
             o->timeout_ms == 5000 && o->n_topics == 2 && strcmp(o->topics[1], "b") == 0 &&
             c.outputs[0].batch.max_records == 7;
        lc_config_free(&c);
    }
    free(errs);
    return ok;
}

TEST(a_new_plugin_needs_only_its_table)
{
    ASSERT_TRUE(fake_fails_with("outputs:\n  - type: fake\n    url: http://x\n    topics: [a, b]\n"
                                "    mode: paranoid\n    batch: {max_records: 7}\n",
                                NULL));
    ASSERT_TRUE(fake_fails_with("outputs:\n  - type: fake\n    url: ftp://x\n    mode: slow\n"
                                "    workers: 9\n    files: 1\n",
                                "config error: x.yaml:3: outputs[0].url: must start with "
                                "http://\n"
                                "config error: x.yaml:4: outputs[0].mode: expected one of fast, "
                                "safe, paranoid\n"
                                "config error: x.yaml:5: outputs[0].workers: 9 is out of range "
                                "(1-8)\n"
                                "config error: x.yaml:6: outputs[0].files: unknown key\n"));
    ASSERT_TRUE(fake_fails_with("outputs:\n  - type: fake\n    name: f\n",
                                "config error: x.yaml:2: outputs[0].url: is required\n"));
    ASSERT_TRUE(fake_fails_with("outputs:\n  - type: fake\n    url: http://x\n"
                                "    topics: [a, b, c]\n",
                                "config error: x.yaml:4: outputs[0].topics: 3 topics need at "
                                "least as many workers (2)\n"));
    ASSERT_TRUE(fake_fails_with("supervisor:\n  task_timeout: 5s\noutputs:\n  - type: fake\n"
                                "    url: http://x\n",
                                "config error: x.yaml:2: docker.idle_timeout: 1m must be below "
                                "supervisor.task_timeout (5s), or the task would be restarted "
                                "before its own deadline expires\n"
                                "config error: x.yaml:2: docker.request_timeout: 10s must be below "
                                "supervisor.task_timeout (5s), or the task would be restarted "
                                "before its own deadline expires\n"
                                "config error: x.yaml:2: outputs[0].timeout: 5s must be below "
                                "supervisor.task_timeout (5s), or the task would be restarted "
                                "before its own deadline expires\n"
                                "config error: x.yaml:2: supervisor.check_interval: 5s must be "
                                "below supervisor.task_timeout (5s), or the task would be "
                                "restarted before its own deadline expires\n"));
    ASSERT_TRUE(fake_fails_with("outputs:\n  - type: kafka\n",
                                "config error: x.yaml:2: outputs[0].type: unknown output type "
                                "\"kafka\" (known: file, fake)\n"));
}

/* An instance owns a copy of its section: it outlives the config it came from. */
TEST(instance_copies_own_their_section)
{
    struct lc_config c = {0};
    struct lc_input_config ic;
    struct lc_output_config oc;
    const struct lc_docker_config *d;
    const struct lc_file_config *f;

    ASSERT_EQ(loads(&c, "inputs:\n  - type: docker\n    name: web\n    include_names: [a, b]\n"
                        "    exclude_labels: {x: y}\n    socket: /s\n"
                        "outputs:\n  - type: file\n    name: out\n    path: /p\n"
                        "    format: text\n    retry: {max_attempts: 3}\n"),
              0);
    lc_config_input_copy(&ic, &c.inputs[0]);
    lc_config_output_copy(&oc, &c.outputs[0]);
    lc_config_free(&c);
    d = ic.opts;
    f = oc.opts;
    ASSERT_STR_EQ(ic.name, "web");
    ASSERT_STR_EQ(ic.type, "docker");
    ASSERT_STR_EQ(d->socket, "/s");
    ASSERT_EQ(d->n_include_names, 2);
    ASSERT_STR_EQ(d->include_names[1], "b");
    ASSERT_STR_EQ(d->exclude_labels[0].value, "y");
    ASSERT_EQ(ic.key_lines[0], 6); /* socket */
    ASSERT_STR_EQ(oc.name, "out");
    ASSERT_STR_EQ(f->path, "/p");
    ASSERT_EQ(f->format, LC_FILE_FORMAT_TEXT);
    ASSERT_EQ(oc.retry.max_attempts, 3);
    lc_config_input_free(&ic);
    lc_config_output_free(&oc);
    ASSERT_TRUE(ic.opts == NULL && oc.opts == NULL);
}

/* What config-reference prints comes from the tables: types, ranges, defaults. */
TEST(option_describe)
{
    char type[64], range[64], def[64];
    const struct lc_config_option *o = lc_docker_config_plugin.options;

    while (strcmp(o->key, "max_line_bytes") != 0) {
        o++;
    }
    lc_config_option_describe(o, type, range, def, sizeof type);
    ASSERT_STR_EQ(type, "size");
    ASSERT_STR_EQ(range, "1KiB-64MiB");
    ASSERT_STR_EQ(def, "1MiB");
    o = lc_file_config_plugin.options;
    while (strcmp(o->key, "format") != 0) {
        o++;
    }
    lc_config_option_describe(o, type, range, def, sizeof type);
    ASSERT_STR_EQ(type, "json or text");
    ASSERT_STR_EQ(def, "json");
    lc_config_option_describe(&lc_file_config_plugin.options[0], type, range, def, sizeof type);
    ASSERT_STR_EQ(def, "<data_dir>/logs");
}

/* ---- templates: a plugin whose keys are a template and a mapping of name: template ---- */

struct tpl_opts {
    struct lc_template *index;
    struct lc_template_pair *labels;
    size_t n_labels;
};

/* Loki's rule for label names, as a plugin would check them. */
static int tpl_label_name(const void *value, char *why, size_t cap)
{
    const char *s = *(char *const *)value;
    char q[64];
    int ok = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_';

    for (size_t i = 1; ok && s[i] != '\0'; i++) {
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
             (s[i] >= '0' && s[i] <= '9');
    }
    if (!ok) {
        snprintf(why, cap, "%s is not a valid label name", lc_config_quote_text(q, sizeof q, s));
    }
    return ok ? 0 : -1;
}

static const struct lc_config_option tpl_options[] = {
    {.key = "index",
     .type = LC_OPT_TEMPLATE,
     .def = "logcap-{{ compose_project }}",
     .off = offsetof(struct tpl_opts, index)},
    {.key = "labels",
     .type = LC_OPT_TEMPLATES,
     .def = "{job: logcap, host: \"{{ host }}\", container: \"{{ container_name }}\"}",
     .check = tpl_label_name,
     .off = offsetof(struct tpl_opts, labels),
     .off_n = offsetof(struct tpl_opts, n_labels)},
    {.key = NULL},
};
static const struct lc_config_plugin tpl_plugin = {
    .type = "tpl", .options = tpl_options, .size = sizeof(struct tpl_opts)};

/* Loads TEXT with the tpl output type known; returns the errors (caller frees). */
static char *tpl_load(struct lc_config *c, const char *text, int *rc)
{
    static const struct lc_config_plugin *const outputs[] = {&lc_file_config_plugin, &tpl_plugin,
                                                             NULL};
    static const struct lc_config_catalog cat = {.inputs = test_inputs, .outputs = outputs};
    char *errs = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&errs, &n);
    *rc = lc_config_load_string(c, &cat, "x.yaml", text, strlen(text), f);
    fclose(f);
    return errs;
}

/* The name and template source of entry I, as "name=source". */
static const char *tpl_pair(const struct tpl_opts *o, size_t i)
{
    static char s[128];
    snprintf(s, sizeof s, "%s=%s", o->labels[i].name, lc_template_source(o->labels[i].value));
    return s;
}

TEST(templates_defaults_values_and_copies)
{
    struct lc_config c = {0};
    struct lc_output_config oc;
    const struct tpl_opts *o;
    int rc;
    char *errs = tpl_load(&c, "outputs:\n  - type: tpl\n", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(errs, "");
    free(errs);
    o = c.outputs[0].opts;
    ASSERT_STR_EQ(lc_template_source(o->index), "logcap-{{ compose_project }}");
    ASSERT_EQ(o->n_labels, 3);
    ASSERT_STR_EQ(tpl_pair(o, 0), "job=logcap");
    ASSERT_STR_EQ(tpl_pair(o, 1), "host={{ host }}");
    ASSERT_STR_EQ(tpl_pair(o, 2), "container={{ container_name }}");
    ASSERT_STR_EQ(lc_template_constant(o->labels[0].value, NULL), "logcap");
    /* An instance's copy outlives the config. */
    lc_config_output_copy(&oc, &c.outputs[0]);
    lc_config_free(&c);
    o = oc.opts;
    ASSERT_STR_EQ(tpl_pair(o, 2), "container={{ container_name }}");
    ASSERT_STR_EQ(lc_template_source(o->index), "logcap-{{ compose_project }}");
    lc_config_output_free(&oc);

    /* The file's mapping replaces the default one whole. */
    errs = tpl_load(&c,
                    "outputs:\n  - type: tpl\n    index: \"{{labels.tier}}-{{ stream }}\"\n"
                    "    labels:\n      app: \"{{ compose_service }}\"\n"
                    "      literal: '{{ \"{{\" }}x'\n",
                    &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(errs, "");
    free(errs);
    o = c.outputs[0].opts;
    ASSERT_STR_EQ(lc_template_source(o->index), "{{labels.tier}}-{{ stream }}");
    ASSERT_EQ(o->n_labels, 2);
    ASSERT_STR_EQ(tpl_pair(o, 0), "app={{ compose_service }}");
    ASSERT_STR_EQ(lc_template_constant(o->labels[1].value, NULL), "{{x");
    lc_config_free(&c);

    errs = tpl_load(&c, "outputs:\n  - type: tpl\n    labels: {}\n", &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(errs, "");
    free(errs);
    ASSERT_EQ(((const struct tpl_opts *)c.outputs[0].opts)->n_labels, 0);
    lc_config_free(&c);
}

/* A bad template is a config error naming the file, the line, the key and the column. */
TEST(error_templates)
{
    struct lc_config c = {0};
    int rc;
    char *errs = tpl_load(&c,
                          "outputs:\n  - type: tpl\n    index: \"{{ nope }}\"\n    labels:\n"
                          "      host: \"{{ hots }}\"\n      9x: \"{{ host }}\"\n"
                          "      job: \"app-{{ host\"\n      app: a\n      app: b\n"
                          "      empty: \"\"\n      list: [a]\n"
                          "  - type: tpl\n    name: t2\n    index: \"{{ labels. }}\"\n"
                          "    labels: [a]\n",
                          &rc);
    const char *expect =
        "config error: x.yaml:3: outputs[0].index: column 4: unknown variable \"nope\"; known: "
        "container_name, container_id, image, stream, host, compose_project, compose_service, "
        "labels.NAME, fields.NAME\n"
        "config error: x.yaml:5: outputs[0].labels.host: column 4: unknown variable \"hots\"; "
        "known: container_name, container_id, image, stream, host, compose_project, "
        "compose_service, labels.NAME, fields.NAME\n"
        "config error: x.yaml:6: outputs[0].labels.9x: \"9x\" is not a valid label name\n"
        "config error: x.yaml:7: outputs[0].labels.job: column 5: \"{{\" is not closed by "
        "\"}}\"\n"
        "config error: x.yaml:9: outputs[0].labels.app: key given twice (also at line 8)\n"
        "config error: x.yaml:10: outputs[0].labels.empty: must not be empty\n"
        "config error: x.yaml:11: outputs[0].labels.list: expected a template, got a list\n"
        "config error: x.yaml:14: outputs[1].index: column 4: labels. needs a name: "
        "labels.NAME\n"
        "config error: x.yaml:15: outputs[1].labels: expected a mapping of name: template, got "
        "a list\n";

    ASSERT_EQ(rc, -EINVAL);
    ASSERT_STR_EQ(errs, expect);
    ASSERT_TRUE(is_zeroed(&c));
    free(errs);
}

/* The example of docs/configuration.md, "Templates" (with the test type for loki). */
TEST(templates_doc_example)
{
    struct lc_config c = {0};
    int rc;
    char *errs = tpl_load(&c,
                          "outputs:\n  - type: tpl\n    labels:\n      host: \"{{ hots }}\"\n"
                          "      app: \"{{ compose_service\"\n",
                          &rc);

    ASSERT_EQ(rc, -EINVAL);
    ASSERT_STR_EQ(errs, "config error: x.yaml:4: outputs[0].labels.host: column 4: unknown "
                        "variable \"hots\"; known: container_name, container_id, image, stream, "
                        "host, compose_project, compose_service, labels.NAME, fields.NAME\n"
                        "config error: x.yaml:5: outputs[0].labels.app: column 1: \"{{\" is not "
                        "closed by \"}}\"\n");
    free(errs);
    errs = tpl_load(&c,
                    "outputs:\n  - type: tpl\n    labels:\n      job: logcap\n"
                    "      braces: '{{ \"{{\" }}not a variable}}'\n",
                    &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(errs, "");
    free(errs);
    ASSERT_STR_EQ(
        lc_template_constant(((const struct tpl_opts *)c.outputs[0].opts)->labels[1].value, NULL),
        "{{not a variable}}");
    lc_config_free(&c);
}

TEST(template_types_in_the_reference)
{
    char type[64], range[64], def[128];

    lc_config_option_describe(&tpl_options[0], type, range, def, sizeof type);
    ASSERT_STR_EQ(type, "template");
    ASSERT_STR_EQ(def, "logcap-{{ compose_project }}");
    lc_config_option_describe(&tpl_options[1], type, range, def, sizeof type);
    ASSERT_STR_EQ(type, "name: template");
    ASSERT_STR_EQ(range, "");
}

/* ---- type: loki (its table in outputs/loki/loki_config.c, its batch defaults) ---- */

static const struct lc_config_plugin *const loki_outputs[] = {&lc_file_config_plugin,
                                                              &lc_loki_config_plugin, NULL};
static const struct lc_config_catalog loki_catalog = {.inputs = test_inputs,
                                                      .outputs = loki_outputs};

/* Loads TEXT with the loki type known; the error lines go to *ERRS (caller frees). */
static int loki_load(struct lc_config *c, const char *text, char **errs)
{
    size_t n = 0;
    FILE *f = open_memstream(errs, &n);
    int rc = lc_config_load_string(c, &loki_catalog, "x.yaml", text, strlen(text), f);
    fclose(f);
    return rc;
}

/* 1 when TEXT loads without a word. */
static int loki_loads(struct lc_config *c, const char *text)
{
    char *errs = NULL;
    int rc = loki_load(c, text, &errs), ok = rc == 0 && errs[0] == '\0';
    if (!ok) {
        fprintf(stderr, "  rc=%d errors:\n%s", rc, errs);
    }
    free(errs);
    return ok;
}

/* 1 when the loki output of `outputs: [{type: loki, url: http://loki:3100, ...}]` with the
 * lines KEYS (from line 4 on) fails with exactly EXPECTED, leaving a zeroed config. */
static int loki_fails_with(const char *keys, const char *expected)
{
    struct lc_config c = {0};
    char text[4096], *errs = NULL;
    int rc, ok;

    snprintf(text, sizeof text, "outputs:\n  - type: loki\n    url: http://loki:3100\n%s", keys);
    rc = loki_load(&c, text, &errs);
    ok = rc == -EINVAL && strcmp(errs, expected) == 0 && is_zeroed(&c);
    if (!ok) {
        fprintf(stderr, "  rc=%d\n  got:\n%s  expected:\n%s", rc, errs, expected);
    }
    if (rc == 0) {
        lc_config_free(&c);
    }
    free(errs);
    return ok;
}

#define LOKI(o) ((const struct lc_loki_config *)(o).opts)

TEST(loki_defaults)
{
    static const char *const want[][2] = {
        {"job", "logcap"},
        {"host", "{{ host }}"},
        {"container", "{{ container_name }}"},
        {"compose_project", "{{ compose_project }}"},
        {"compose_service", "{{ compose_service }}"},
        {"stream", "{{ stream }}"},
    };
    struct lc_config c = {0};
    const struct lc_loki_config *l;

    ASSERT_TRUE(loki_loads(&c, "outputs:\n  - type: loki\n    url: http://loki:3100\n"
                               "  - type: file\n    path: /a\n"));
    l = LOKI(c.outputs[0]);
    ASSERT_STR_EQ(c.outputs[0].name, "loki");
    ASSERT_STR_EQ(l->http.url, "http://loki:3100");
    ASSERT_EQ(l->encoding, LC_LOKI_PROTOBUF);
    ASSERT_EQ(l->line, LC_LOKI_LINE_MESSAGE);
    ASSERT_TRUE(l->tenant_id == NULL);
    ASSERT_EQ(l->http.compress, 0);
    ASSERT_U64_EQ(l->http.timeout_ms, 10000);
    ASSERT_EQ(l->n_metadata, 0);
    ASSERT_EQ(l->n_labels, 6);
    for (size_t i = 0; i < 6; i++) {
        ASSERT_STR_EQ(l->labels[i].name, want[i][0]);
        ASSERT_STR_EQ(lc_template_source(l->labels[i].value), want[i][1]);
    }
    /* the plugin's batch defaults; other types keep the engine's */
    ASSERT_U64_EQ(c.outputs[0].batch.max_bytes, 1048576);
    ASSERT_U64_EQ(c.outputs[0].batch.max_wait_ms, 1000);
    ASSERT_EQ(c.outputs[0].batch.max_records, 32768);
    ASSERT_U64_EQ(c.outputs[1].batch.max_bytes, 4 * 1048576);
    ASSERT_U64_EQ(c.outputs[1].batch.max_wait_ms, 100);
    ASSERT_EQ(c.outputs[1].batch.max_records, 2048);
    lc_config_free(&c);

    /* the file's values win, key by key; tenant_id: "" is none; json may be gzipped */
    ASSERT_TRUE(loki_loads(&c, "outputs:\n  - type: loki\n    url: http://loki:3100\n"
                               "    batch: {max_wait: 250ms}\n  - type: loki\n    name: l2\n"
                               "    url: http://loki:3100\n    tenant_id: \"\"\n"
                               "    encoding: json\n    compress: true\n    line: json\n"
                               "    labels: {app: \"{{ compose_service }}\"}\n"
                               "    structured_metadata: {id: \"{{ container_id }}\"}\n"
                               "    batch: {max_bytes: 2MiB}\n"));
    ASSERT_U64_EQ(c.outputs[0].batch.max_bytes, 1048576);
    ASSERT_U64_EQ(c.outputs[0].batch.max_wait_ms, 250);
    ASSERT_U64_EQ(c.outputs[1].batch.max_bytes, 2 * 1048576);
    ASSERT_U64_EQ(c.outputs[1].batch.max_wait_ms, 1000);
    l = LOKI(c.outputs[1]);
    ASSERT_TRUE(l->tenant_id == NULL);
    ASSERT_EQ(l->encoding, LC_LOKI_JSON);
    ASSERT_EQ(l->http.compress, 1);
    ASSERT_EQ(l->line, LC_LOKI_LINE_JSON);
    ASSERT_EQ(l->n_labels, 1);
    ASSERT_STR_EQ(l->labels[0].name, "app");
    ASSERT_EQ(l->n_metadata, 1);
    ASSERT_STR_EQ(l->metadata[0].name, "id");
    ASSERT_STR_EQ(lc_template_source(l->metadata[0].value), "{{ container_id }}");
    lc_config_free(&c);

    ASSERT_TRUE(loki_loads(&c, "outputs:\n  - type: loki\n    url: http://loki:3100\n"
                               "    tenant_id: \"team-a_1.(x)*!'\"\n"));
    ASSERT_STR_EQ(LOKI(c.outputs[0])->tenant_id, "team-a_1.(x)*!'");
    lc_config_free(&c);
}

TEST(loki_errors)
{
    char keys[2048], *errs = NULL;
    size_t n;
    struct lc_config c = {0};

    /* the push URL with a trailing '/' would get the push path again: a 404 forever */
    ASSERT_EQ(loki_load(&c,
                        "outputs:\n  - type: loki\n    url: http://loki:3100/loki/api/v1/push/\n",
                        &errs),
              -EINVAL);
    ASSERT_STR_EQ(errs, "config error: x.yaml:3: outputs[0].url: ends in \"/loki/api/v1/push/\": "
                        "give it without the trailing '/' (or only Loki's base URL; logcap "
                        "appends /loki/api/v1/push)\n");
    free(errs);

    ASSERT_TRUE(loki_fails_with("    labels:\n      job: logcap\n      bad-name: x\n",
                                "config error: x.yaml:6: outputs[0].labels.bad-name: "
                                "\"bad-name\" is not a label name Loki takes (letters, digits "
                                "and '_', not starting with a digit, at most 1024 bytes)\n"));
    ASSERT_TRUE(loki_fails_with("    labels: {9lives: x}\n",
                                "config error: x.yaml:4: outputs[0].labels.9lives: \"9lives\" is "
                                "not a label name Loki takes (letters, digits and '_', not "
                                "starting with a digit, at most 1024 bytes)\n"));
    n = (size_t)snprintf(keys, sizeof keys, "    labels:\n");
    for (int i = 0; i < 16; i++) {
        n += (size_t)snprintf(keys + n, sizeof keys - n, "      l%d: v\n", i);
    }
    /* a block mapping's line is its first entry's, as for every mapping value */
    ASSERT_TRUE(loki_fails_with(keys, "config error: x.yaml:5: outputs[0].labels: 16 labels: "
                                      "Loki takes at most 15 per stream\n"));
    ASSERT_TRUE(loki_fails_with("    labels: {}\n",
                                "config error: x.yaml:4: outputs[0].labels: at least one label "
                                "is needed: Loki refuses a stream without labels (the default "
                                "set starts with job: logcap)\n"));
    ASSERT_TRUE(loki_fails_with("    labels:\n      host: \"{{ hots }}\"\n",
                                "config error: x.yaml:5: outputs[0].labels.host: column 4: "
                                "unknown variable \"hots\"; known: container_name, "
                                "container_id, image, stream, host, compose_project, "
                                "compose_service, labels.NAME, fields.NAME\n"));
    ASSERT_TRUE(loki_fails_with("    compress: true\n",
                                "config error: x.yaml:4: outputs[0].compress: applies to "
                                "encoding: json only (protobuf bodies are snappy-compressed "
                                "already)\n"));
    ASSERT_TRUE(loki_fails_with("    encoding: protobuf\n    compress: true\n",
                                "config error: x.yaml:5: outputs[0].compress: applies to "
                                "encoding: json only (protobuf bodies are snappy-compressed "
                                "already)\n"));
    ASSERT_TRUE(loki_fails_with("    tenant_id: team/a\n",
                                "config error: x.yaml:4: outputs[0].tenant_id: not a tenant id "
                                "Loki takes (letters, digits and !-_.*'(), at most 150 bytes)\n"));
    ASSERT_TRUE(loki_fails_with("    tenant_id: ..\n",
                                "config error: x.yaml:4: outputs[0].tenant_id: not a tenant id "
                                "Loki takes (letters, digits and !-_.*'(), at most 150 bytes)\n"));
    n = (size_t)snprintf(keys, sizeof keys, "    tenant_id: ");
    memset(keys + n, 't', 151);
    snprintf(keys + n + 151, sizeof keys - n - 151, "\n");
    ASSERT_TRUE(loki_fails_with(keys, "config error: x.yaml:4: outputs[0].tenant_id: not a "
                                      "tenant id Loki takes (letters, digits and !-_.*'(), at "
                                      "most 150 bytes)\n"));
    ASSERT_TRUE(
        loki_fails_with("    structured_metadata:\n      trace-id: \"{{ container_id }}\"\n",
                        "config error: x.yaml:5: outputs[0].structured_metadata.trace-id: "
                        "\"trace-id\" is not a label name Loki takes (letters, digits "
                        "and '_', not starting with a digit, at most 1024 bytes)\n"));
    ASSERT_TRUE(loki_fails_with("    encoding: avro\n    line: raw\n",
                                "config error: x.yaml:4: outputs[0].encoding: expected one of "
                                "protobuf, json\n"
                                "config error: x.yaml:5: outputs[0].line: expected one of "
                                "message, json\n"));
}

TEST_MAIN(TEST_ENTRY(defaults), TEST_ENTRY(empty_file_is_all_defaults),
          TEST_ENTRY(full_file_with_every_key), TEST_ENTRY(initial_tail_all_and_integer),
          TEST_ENTRY(default_output_path_follows_data_dir), TEST_ENTRY(booleans),
          TEST_ENTRY(error_unknown_keys), TEST_ENTRY(error_duration),
          TEST_ENTRY(error_bool_and_enums), TEST_ENTRY(error_sizes_and_integers),
          TEST_ENTRY(error_outputs), TEST_ENTRY(error_duplicate_outputs),
          TEST_ENTRY(error_wrong_node_kinds), TEST_ENTRY(error_names_and_labels),
          TEST_ENTRY(error_too_many_entries), TEST_ENTRY(empty_lists_are_fine),
          TEST_ENTRY(error_syntax_and_top_level), TEST_ENTRY(error_backoff_order),
          TEST_ENTRY(supervisor_and_timeout_order), TEST_ENTRY(spool_keys),
          TEST_ENTRY(error_spool_keys), TEST_ENTRY(output_batch_retry_start_at),
          TEST_ENTRY(error_output_batch), TEST_ENTRY(error_output_retry_and_start_at),
          TEST_ENTRY(spool_size_order), TEST_ENTRY(retry_backoff_order), TEST_ENTRY(api_listen),
          TEST_ENTRY(error_alias_of_collection), TEST_ENTRY(multiple_problems_reported_together),
          TEST_ENTRY(unreadable_file), TEST_ENTRY(errors_may_be_null_and_reload_does_not_leak),
          TEST_ENTRY(inputs_list_and_docker_section_agree), TEST_ENTRY(inputs_two_docker_inputs),
          TEST_ENTRY(inputs_defaults_and_both_forms), TEST_ENTRY(error_inputs),
          TEST_ENTRY(error_input_plugin_table), TEST_ENTRY(error_output_plugin_table),
          TEST_ENTRY(a_new_plugin_needs_only_its_table),
          TEST_ENTRY(instance_copies_own_their_section), TEST_ENTRY(option_describe),
          TEST_ENTRY(templates_defaults_values_and_copies), TEST_ENTRY(error_templates),
          TEST_ENTRY(templates_doc_example), TEST_ENTRY(template_types_in_the_reference),
          TEST_ENTRY(loki_defaults), TEST_ENTRY(loki_errors))
