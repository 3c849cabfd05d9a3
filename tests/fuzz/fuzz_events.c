/* fuzz_events: the Docker event parser on arbitrary bytes. It answers 0 or -EINVAL; on 0
 * the id is 64 lowercase hex digits, the action is known, the name and image are
 * NUL-terminated, the labels an object of strings without the attributes Docker adds; and
 * an event rebuilt from the parsed fields parses to the same fields. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/docker/events.h"

static const char *action_name(enum lc_docker_event_action a)
{
    switch (a) {
    case LC_DOCKER_EVENT_CREATE:
        return "create";
    case LC_DOCKER_EVENT_START:
        return "start";
    case LC_DOCKER_EVENT_DIE:
        return "die";
    case LC_DOCKER_EVENT_DESTROY:
        return "destroy";
    case LC_DOCKER_EVENT_RENAME:
        return "rename";
    case LC_DOCKER_EVENT_OTHER:
        return "exec_start: sh";
    }
    abort();
}

/* Rebuilds EV as a Docker event line and checks it parses back to EV. */
static void roundtrip(const struct lc_docker_event *ev)
{
    struct lc_docker_event back;
    json_t *attrs = json_deep_copy(ev->labels);
    json_t *j = json_pack("{s:s,s:s,s:{s:s,s:o},s:I}", "Type", "container", "Action",
                          action_name(ev->action), "Actor", "ID", ev->id, "Attributes", attrs,
                          "timeNano", (json_int_t)ev->time_ns);
    char *text;
    if (j == NULL) {
        return;
    }
    /* A name or image cut at 255 bytes inside a UTF-8 sequence is not a JSON string. */
    if (json_object_set_new(attrs, "name", json_string(ev->name)) != 0 ||
        json_object_set_new(attrs, "image", json_string(ev->image)) != 0) {
        json_decref(j);
        return;
    }
    text = json_dumps(j, JSON_COMPACT);
    if (text == NULL || lc_docker_event_parse(text, strlen(text), &back) != 0 ||
        back.action != ev->action || strcmp(back.id, ev->id) != 0 ||
        strcmp(back.name, ev->name) != 0 || strcmp(back.image, ev->image) != 0 ||
        !json_equal(back.labels, ev->labels) || back.time_ns != ev->time_ns) {
        abort();
    }
    lc_docker_event_close(&back);
    free(text);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lc_docker_event ev;
    int rc = lc_docker_event_parse((const char *)data, size, &ev);
    if (rc == -EINVAL) {
        return 0;
    }
    if (rc != 0 || !lc_docker_id_valid(ev.id) || ev.action < LC_DOCKER_EVENT_OTHER ||
        ev.action > LC_DOCKER_EVENT_RENAME || memchr(ev.name, '\0', sizeof(ev.name)) == NULL ||
        memchr(ev.image, '\0', sizeof(ev.image)) == NULL || !json_is_object(ev.labels) ||
        json_object_get(ev.labels, "name") != NULL || json_object_get(ev.labels, "image") != NULL) {
        abort();
    }
    {
        const char *key;
        json_t *v;
        json_object_foreach(ev.labels, key, v)
        {
            if (!json_is_string(v)) {
                abort();
            }
        }
    }
    roundtrip(&ev);
    lc_docker_event_close(&ev);
    return 0;
}
