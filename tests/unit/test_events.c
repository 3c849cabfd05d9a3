/* test_events: lc_docker_event_parse on real lines of Docker's /events stream (create,
 * start, die, destroy, rename, with and without the legacy "status"/"id"/"from" fields),
 * timeNano above 2^53 kept exactly, events of other types, bad container ids, missing
 * optional fields, long names, and garbage; and lc_docker_id_valid. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "inputs/docker/events.h"
#include "test.h"

#define ID_A "3f1c2a7b9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
#define ID_B "0000000000000000000000000000000000000000000000000000000000000000"

/* A container event as dockerd 24 writes it (legacy fields included). */
#define EVENT(action, id, attrs, nano)                                                             \
    "{\"status\":\"" action "\",\"id\":\"" id "\",\"from\":\"nginx:1.25\",\"Type\":\"container\"," \
    "\"Action\":\"" action "\",\"Actor\":{\"ID\":\"" id "\",\"Attributes\":{" attrs "}},"          \
    "\"scope\":\"local\",\"time\":1795350317,\"timeNano\":" nano "}"

/* Parses LINE; the labels are checked by the test that asks for them (labels_of_start). */
static int parse(const char *line, struct lc_docker_event *ev)
{
    int rc = lc_docker_event_parse(line, strlen(line), ev);
    if (rc == 0) {
        lc_docker_event_close(ev);
    }
    return rc;
}

TEST(start)
{
    struct lc_docker_event ev;
    const char *line =
        EVENT("start", ID_A, "\"image\":\"nginx:1.25\",\"name\":\"web-1\"", "1795350317317055337");

    ASSERT_EQ(parse(line, &ev), 0);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_START);
    ASSERT_STR_EQ(ev.id, ID_A);
    ASSERT_STR_EQ(ev.name, "web-1");
    ASSERT_TRUE(ev.time_ns == INT64_C(1795350317317055337));
}

/* A start event carries the container's labels among its attributes, next to its name and
 * image: enough to begin capturing at once. */
TEST(labels_of_start)
{
    struct lc_docker_event ev;
    const char *line = EVENT("start", ID_A,
                             "\"com.docker.compose.project\":\"shop\",\"image\":\"nginx:1.25\","
                             "\"name\":\"web-1\",\"tier\":\"front\",\"exitCode\":\"0\"",
                             "1795350317317055337");
    char *text;

    ASSERT_EQ(lc_docker_event_parse(line, strlen(line), &ev), 0);
    ASSERT_STR_EQ(ev.image, "nginx:1.25");
    ASSERT_STR_EQ(ev.name, "web-1");
    text = json_dumps(ev.labels, JSON_COMPACT | JSON_SORT_KEYS);
    lc_docker_event_close(&ev);
    ASSERT_TRUE(ev.labels == NULL);
    ASSERT_STR_EQ(text, "{\"com.docker.compose.project\":\"shop\",\"tier\":\"front\"}");
    free(text);
    /* No attributes: no labels, but an object. */
    line = EVENT("die", ID_A, "", "1");
    ASSERT_EQ(lc_docker_event_parse(line, strlen(line), &ev), 0);
    ASSERT_EQ(json_object_size(ev.labels), 0);
    ASSERT_STR_EQ(ev.image, "");
    lc_docker_event_close(&ev);
}

TEST(create_die_destroy)
{
    struct lc_docker_event ev;
    const char *create =
        EVENT("create", ID_A,
              "\"com.docker.compose.project\":\"shop\",\"image\":\"nginx:1.25\",\"name\":\"web-1\"",
              "1795350317100000001");
    const char *die = EVENT("die", ID_A,
                            "\"execDuration\":\"12\",\"exitCode\":\"137\",\"image\":\"nginx:1.25\","
                            "\"name\":\"web-1\"",
                            "1795350329000000002");
    const char *destroy = EVENT("destroy", ID_B, "\"image\":\"nginx:1.25\",\"name\":\"web-1\"",
                                "1795350330999999999");

    ASSERT_EQ(parse(create, &ev), 0);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_CREATE);
    ASSERT_STR_EQ(ev.id, ID_A);
    ASSERT_STR_EQ(ev.name, "web-1");
    ASSERT_TRUE(ev.time_ns == INT64_C(1795350317100000001));

    ASSERT_EQ(parse(die, &ev), 0);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_DIE);
    ASSERT_STR_EQ(ev.id, ID_A);
    ASSERT_STR_EQ(ev.name, "web-1");
    ASSERT_TRUE(ev.time_ns == INT64_C(1795350329000000002));

    ASSERT_EQ(parse(destroy, &ev), 0);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_DESTROY);
    ASSERT_STR_EQ(ev.id, ID_B);
    ASSERT_TRUE(ev.time_ns == INT64_C(1795350330999999999));
}

/* A rename carries the new name in "name" and the old one, with its slash, in "oldName". */
TEST(rename)
{
    struct lc_docker_event ev;
    const char *line =
        EVENT("rename", ID_A, "\"image\":\"nginx:1.25\",\"name\":\"web-2\",\"oldName\":\"/web-1\"",
              "1795350400000000000");

    ASSERT_EQ(parse(line, &ev), 0);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_RENAME);
    ASSERT_STR_EQ(ev.id, ID_A);
    ASSERT_STR_EQ(ev.name, "web-2");
    ASSERT_TRUE(ev.time_ns == INT64_C(1795350400000000000));
}

/* dockerd 25+ dropped the legacy fields; the line ends with the stream's newline. */
TEST(without_legacy_fields)
{
    struct lc_docker_event ev;
    const char *line = "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A
                       "\",\"Attributes\":{\"image\":\"busybox\",\"name\":\"job\"}},"
                       "\"scope\":\"local\",\"time\":1795350317,\"timeNano\":1795350317317055337}"
                       "\n";

    ASSERT_EQ(parse(line, &ev), 0);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_START);
    ASSERT_STR_EQ(ev.id, ID_A);
    ASSERT_STR_EQ(ev.name, "job");
    ASSERT_TRUE(ev.time_ns == INT64_C(1795350317317055337));
}

/* Integers above 2^53 are not representable as doubles: each must come back exactly. */
TEST(time_nano_exact)
{
    static const char *const nanos[] = {"9007199254740993", "9007199254740995",
                                        "1795350317317055337", "9223372036854775807"};
    static const int64_t want[] = {INT64_C(9007199254740993), INT64_C(9007199254740995),
                                   INT64_C(1795350317317055337), INT64_MAX};
    char line[512];
    struct lc_docker_event ev;

    for (size_t i = 0; i < sizeof(nanos) / sizeof(nanos[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"" ID_A
                 "\",\"Attributes\":{\"name\":\"x\"}},\"timeNano\":%s}",
                 nanos[i]);
        ASSERT_EQ(parse(line, &ev), 0);
        ASSERT_TRUE(ev.time_ns == want[i]);
    }
}

/* Container events of other actions parse as LC_DOCKER_EVENT_OTHER (the caller ignores them). */
TEST(other_actions)
{
    static const char *const actions[] = {"exec_start: sh -c echo hi",
                                          "health_status: healthy",
                                          "kill",
                                          "stop",
                                          "attach",
                                          "Start",
                                          ""};
    char line[512];
    struct lc_docker_event ev;

    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"Type\":\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"" ID_A
                 "\",\"Attributes\":{\"name\":\"web-1\"}},\"timeNano\":5}",
                 actions[i]);
        ASSERT_EQ(parse(line, &ev), 0);
        ASSERT_EQ(ev.action, LC_DOCKER_EVENT_OTHER);
        ASSERT_STR_EQ(ev.id, ID_A);
        ASSERT_STR_EQ(ev.name, "web-1");
        ASSERT_EQ(ev.time_ns, 5);
    }
}

/* Missing optional fields: name "" and time 0. A timeNano that is not an integer is
 * treated as absent. */
TEST(optional_fields_absent)
{
    struct lc_docker_event ev;
    const char *no_attrs =
        "{\"Type\":\"container\",\"Action\":\"destroy\",\"Actor\":{\"ID\":\"" ID_A "\"}}";
    const char *real_time = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"" ID_A
                            "\",\"Attributes\":{\"name\":7}},\"timeNano\":1.7e18}";
    const char *string_time = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"" ID_A
                              "\",\"Attributes\":[]},\"timeNano\":\"1795350317317055337\"}";

    ASSERT_EQ(parse(no_attrs, &ev), 0);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_DESTROY);
    ASSERT_STR_EQ(ev.id, ID_A);
    ASSERT_STR_EQ(ev.name, "");
    ASSERT_EQ(ev.time_ns, 0);

    ASSERT_EQ(parse(real_time, &ev), 0);
    ASSERT_STR_EQ(ev.name, "");
    ASSERT_EQ(ev.time_ns, 0);

    ASSERT_EQ(parse(string_time, &ev), 0);
    ASSERT_STR_EQ(ev.name, "");
    ASSERT_EQ(ev.time_ns, 0);
}

/* A name longer than the field is cut to 255 bytes and stays NUL-terminated. */
TEST(long_name_cut)
{
    char name[400], line[1024];
    struct lc_docker_event ev;

    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(line, sizeof(line),
             "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A
             "\",\"Attributes\":{\"name\":\"%s\"}}}",
             name);
    ASSERT_EQ(parse(line, &ev), 0);
    ASSERT_EQ(strlen(ev.name), sizeof(ev.name) - 1);
    ASSERT_MEM_EQ(ev.name, strlen(ev.name), name, sizeof(ev.name) - 1);
}

/* Only the LEN bytes given are parsed: the buffer need not end at the object. */
TEST(respects_len)
{
    const char *line = EVENT("start", ID_A, "\"name\":\"web-1\"", "42") "{garbage";
    struct lc_docker_event ev;

    ASSERT_EQ(lc_docker_event_parse(line, strlen(line) - strlen("{garbage"), &ev), 0);
    lc_docker_event_close(&ev);
    ASSERT_EQ(ev.action, LC_DOCKER_EVENT_START);
    ASSERT_EQ(ev.time_ns, 42);
    ASSERT_EQ(lc_docker_event_parse(line, strlen(line), &ev), -EINVAL);
}

/* Events about images, networks, volumes, the daemon and plugins are not container
 * events, even when their actor id looks like a container id. */
TEST(non_container_types_rejected)
{
    static const char *const lines[] = {
        "{\"status\":\"pull\",\"id\":\"nginx:latest\",\"Type\":\"image\",\"Action\":\"pull\","
        "\"Actor\":{\"ID\":\"nginx:latest\",\"Attributes\":{\"name\":\"nginx\"}},"
        "\"scope\":\"local\",\"time\":1795350317,\"timeNano\":1795350317317055337}",
        "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" ID_B
        "\",\"Attributes\":{\"container\":\"" ID_A "\",\"name\":\"bridge\",\"type\":\"bridge\"}},"
        "\"scope\":\"local\",\"time\":1795350317,\"timeNano\":1795350317317055337}",
        "{\"Type\":\"volume\",\"Action\":\"mount\",\"Actor\":{\"ID\":\"" ID_A
        "\",\"Attributes\":{\"container\":\"" ID_A "\"}}}",
        "{\"Type\":\"daemon\",\"Action\":\"reload\",\"Actor\":{\"ID\":\"" ID_A "\"}}",
        "{\"Type\":\"Container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A "\"}}",
        "{\"Type\":\"container \",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A "\"}}",
        "{\"Type\":1,\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A "\"}}",
        /* The legacy form without Type/Actor is not understood. */
        "{\"status\":\"start\",\"id\":\"" ID_A "\",\"from\":\"nginx\",\"time\":1795350317}",
        /* No Action. */
        "{\"Type\":\"container\",\"Actor\":{\"ID\":\"" ID_A "\"}}",
        "{\"Type\":\"container\",\"Action\":null,\"Actor\":{\"ID\":\"" ID_A "\"}}",
    };
    struct lc_docker_event ev;

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse(lines[i], &ev) != -EINVAL) {
            fprintf(stderr, "  accepted: %s\n", lines[i]);
            ASSERT_EQ(parse(lines[i], &ev), -EINVAL);
        }
    }
}

TEST(bad_ids_rejected)
{
    static const char *const actors[] = {
        "{\"ID\":\"3f1c2a7b9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3\"}",   /* 63 */
        "{\"ID\":\"3f1c2a7b9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c0\"}", /* 65 */
        "{\"ID\":\"3F1C2A7B9D0E4F5A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C\"}", /* upper */
        "{\"ID\":\"3f1c2a7b9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3g\"}", /* g */
        "{\"ID\":\" 3f1c2a7b9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3\"}", /* sp */
        "{\"ID\":\"3f1c2a7b9d0e\"}",                                                     /* short */
        "{\"ID\":\"\"}",
        "{\"ID\":\"web-1\"}",
        "{\"ID\":12345}",
        "{\"ID\":null}",
        "{\"Attributes\":{\"name\":\"web-1\"}}",
        "\"" ID_A "\"",
        "null",
        "[\"" ID_A "\"]",
    };
    char line[512];
    struct lc_docker_event ev;

    for (size_t i = 0; i < sizeof(actors) / sizeof(actors[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"Type\":\"container\",\"Action\":\"start\",\"id\":\"" ID_A
                 "\",\"Actor\":%s,\"timeNano\":1}",
                 actors[i]);
        if (parse(line, &ev) != -EINVAL) {
            fprintf(stderr, "  accepted: %s\n", line);
            ASSERT_EQ(parse(line, &ev), -EINVAL);
        }
    }
    /* No Actor at all, though the legacy top-level id is valid. */
    ASSERT_EQ(parse("{\"Type\":\"container\",\"Action\":\"start\",\"id\":\"" ID_A "\"}", &ev),
              -EINVAL);
}

TEST(garbage_rejected)
{
    static const char *const lines[] = {
        "",
        "\n",
        "{",
        "}",
        "null",
        "42",
        "\"container\"",
        "[]",
        "[{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A "\"}}]",
        "not json at all",
        /* Truncated mid-line, as a broken connection leaves it. */
        "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A "\"",
        /* Two objects on one line. */
        "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A "\"}}"
        "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A "\"}}",
        /* timeNano past int64. */
        "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" ID_A
        "\"},\"timeNano\":99999999999999999999}",
    };
    static const char binary[] = {'{', '\0', '"', '\xff', '\xfe', '}'};
    struct lc_docker_event ev;

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse(lines[i], &ev) != -EINVAL) {
            fprintf(stderr, "  accepted: %s\n", lines[i]);
            ASSERT_EQ(parse(lines[i], &ev), -EINVAL);
        }
    }
    ASSERT_EQ(lc_docker_event_parse(binary, sizeof(binary), &ev), -EINVAL);
}

TEST(id_valid)
{
    ASSERT_EQ(lc_docker_id_valid(ID_A), 1);
    ASSERT_EQ(lc_docker_id_valid(ID_B), 1);
    ASSERT_EQ(
        lc_docker_id_valid("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), 1);
    ASSERT_EQ(lc_docker_id_valid(""), 0);
    ASSERT_EQ(lc_docker_id_valid("3f1c2a7b9d0e"), 0);
    ASSERT_EQ(lc_docker_id_valid(ID_A "0"), 0);
    ASSERT_EQ(
        lc_docker_id_valid("Ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), 0);
    ASSERT_EQ(
        lc_docker_id_valid("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff-f"), 0);
}

TEST_MAIN(TEST_ENTRY(start), TEST_ENTRY(labels_of_start), TEST_ENTRY(create_die_destroy),
          TEST_ENTRY(rename), TEST_ENTRY(without_legacy_fields), TEST_ENTRY(time_nano_exact),
          TEST_ENTRY(other_actions), TEST_ENTRY(optional_fields_absent), TEST_ENTRY(long_name_cut),
          TEST_ENTRY(respects_len), TEST_ENTRY(non_container_types_rejected),
          TEST_ENTRY(bad_ids_rejected), TEST_ENTRY(garbage_rejected), TEST_ENTRY(id_valid))
