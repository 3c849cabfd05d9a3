/* fuzz_events: the Docker event parser on arbitrary bytes. It answers 0 or -EINVAL; on 0
 * the id is 64 lowercase hex digits, the action is known and the name NUL-terminated; and
 * an event rebuilt from the parsed fields parses to the same fields. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/docker/events.h"

static const char *action_name(enum lc_event_action a)
{
    switch (a) {
    case LC_EVENT_CREATE:
        return "create";
    case LC_EVENT_START:
        return "start";
    case LC_EVENT_DIE:
        return "die";
    case LC_EVENT_DESTROY:
        return "destroy";
    case LC_EVENT_RENAME:
        return "rename";
    case LC_EVENT_OTHER:
        return "exec_start: sh";
    }
    abort();
}

/* Rebuilds EV as a Docker event line and checks it parses back to EV. */
static void roundtrip(const struct lc_docker_event *ev)
{
    struct lc_docker_event back;
    json_t *j = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:I}", "Type", "container", "Action",
                          action_name(ev->action), "Actor", "ID", ev->id, "Attributes", "name",
                          ev->name, "timeNano", (json_int_t)ev->time_ns);
    char *text;
    if (j == NULL) {
        return; /* a name cut at 255 bytes inside a UTF-8 sequence is not a JSON string */
    }
    text = json_dumps(j, JSON_COMPACT);
    if (text == NULL || lc_docker_event_parse(text, strlen(text), &back) != 0 ||
        back.action != ev->action || strcmp(back.id, ev->id) != 0 ||
        strcmp(back.name, ev->name) != 0 || back.time_ns != ev->time_ns) {
        abort();
    }
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
    if (rc != 0 || !lc_docker_id_valid(ev.id) || ev.action < LC_EVENT_OTHER ||
        ev.action > LC_EVENT_RENAME || memchr(ev.name, '\0', sizeof(ev.name)) == NULL) {
        abort();
    }
    roundtrip(&ev);
    return 0;
}
