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

static enum lc_docker_event_action parse_action(const char *s)
{
    static const struct {
        const char *name;
        enum lc_docker_event_action action;
    } actions[] = {
        {"create", LC_DOCKER_EVENT_CREATE}, {"start", LC_DOCKER_EVENT_START},
        {"die", LC_DOCKER_EVENT_DIE},       {"destroy", LC_DOCKER_EVENT_DESTROY},
        {"rename", LC_DOCKER_EVENT_RENAME},
    };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(s, actions[i].name) == 0) {
            return actions[i].action;
        }
    }
    return LC_DOCKER_EVENT_OTHER;
}

/* The attributes Docker adds to an event that are not labels. A label of one of these
 * names is shadowed in the event; the container list brings it right. */
static int not_a_label(const char *key)
{
    static const char *const keys[] = {"name", "image", "oldName", "exitCode", "signal"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static json_t *labels_of(json_t *attrs)
{
    json_t *labels = json_object(), *v;
    const char *key;
    json_object_foreach(attrs, key, v)
    {
        if (json_is_string(v) && !not_a_label(key)) {
            json_object_set(labels, key, v);
        }
    }
    return labels;
}

void lc_docker_event_close(struct lc_docker_event *ev)
{
    json_decref(ev->labels);
    ev->labels = NULL;
}

int lc_docker_event_parse(const char *line, size_t len, struct lc_docker_event *ev)
{
    json_error_t err;
    json_t *root = json_loadb(line, len, 0, &err);
    const char *type, *action, *id, *name, *image;
    json_t *actor, *attrs, *t;
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
    attrs = json_object_get(actor, "Attributes");
    name = json_string_value(json_object_get(attrs, "name"));
    image = json_string_value(json_object_get(attrs, "image"));
    if (name != NULL) {
        snprintf(ev->name, sizeof(ev->name), "%s", name);
    }
    if (image != NULL) {
        snprintf(ev->image, sizeof(ev->image), "%s", image);
    }
    ev->labels = labels_of(attrs);
    t = json_object_get(root, "timeNano");
    if (json_is_integer(t)) {
        ev->time_ns = json_integer_value(t);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
