/* events: see events.h. */
#include "inputs/docker/events.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

int lc_docker_id_valid(const char *id)
{
    size_t i;
    for (i = 0; id[i] != '\0'; i++) {
        char ch = id[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return 0;
        }
    }
    return i == 64;
}

static enum lc_event_action parse_action(const char *s)
{
    static const struct {
        const char *name;
        enum lc_event_action action;
    } actions[] = {
        {"create", LC_EVENT_CREATE},   {"start", LC_EVENT_START},   {"die", LC_EVENT_DIE},
        {"destroy", LC_EVENT_DESTROY}, {"rename", LC_EVENT_RENAME},
    };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(s, actions[i].name) == 0) {
            return actions[i].action;
        }
    }
    return LC_EVENT_OTHER;
}

int lc_docker_event_parse(const char *line, size_t len, struct lc_docker_event *ev)
{
    json_error_t err;
    json_t *root = json_loadb(line, len, 0, &err);
    const char *type, *action, *id, *name;
    json_t *actor, *t;
    int rc = -EINVAL;

    memset(ev, 0, sizeof(*ev));
    if (root == NULL) {
        return -EINVAL;
    }
    type = json_string_value(json_object_get(root, "Type"));
    action = json_string_value(json_object_get(root, "Action"));
    actor = json_object_get(root, "Actor");
    id = json_string_value(json_object_get(actor, "ID"));
    if (type == NULL || strcmp(type, "container") != 0 || action == NULL || id == NULL ||
        !lc_docker_id_valid(id)) {
        goto out;
    }
    ev->action = parse_action(action);
    snprintf(ev->id, sizeof(ev->id), "%s", id);
    name = json_string_value(json_object_get(json_object_get(actor, "Attributes"), "name"));
    if (name != NULL) {
        snprintf(ev->name, sizeof(ev->name), "%s", name);
    }
    t = json_object_get(root, "timeNano");
    if (json_is_integer(t)) {
        ev->time_ns = json_integer_value(t);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
