/* events: parses one line of Docker's /events stream (a JSON object) into the few fields
 * the discovery needs. Pure; fuzzed. */
#ifndef LC_DOCKER_EVENTS_H
#define LC_DOCKER_EVENTS_H

#include <stddef.h>
#include <stdint.h>

enum lc_docker_event_action {
    LC_DOCKER_EVENT_OTHER = 0,
    LC_DOCKER_EVENT_CREATE,
    LC_DOCKER_EVENT_START,
    LC_DOCKER_EVENT_DIE,
    LC_DOCKER_EVENT_DESTROY,
    LC_DOCKER_EVENT_RENAME,
};

#include <jansson.h>

struct lc_docker_event {
    enum lc_docker_event_action action;
    char id[65];     /* container id (64 hex), "" when absent */
    char name[256];  /* Actor.Attributes.name, "" when absent */
    char image[256]; /* Actor.Attributes.image, "" when absent */
    /* The container's labels: Docker puts them into Actor.Attributes next to "name" and
     * "image" (and "oldName", "exitCode", "signal" for some actions, which are left out).
     * An object of strings, never NULL after a successful parse; owned by EV. */
    json_t *labels;
    int64_t time_ns; /* timeNano (exceeds 2^53: parsed as int64), 0 when absent */
};

/* Parses LINE (LEN bytes). Returns 0, or -EINVAL when it is not a container event object
 * with a valid 64-hex id (EV then holds nothing to free). */
int lc_docker_event_parse(const char *line, size_t len, struct lc_docker_event *ev);

/* Frees what a parsed event owns. */
void lc_docker_event_close(struct lc_docker_event *ev);

/* True when ID is exactly 64 lowercase hex digits. */
int lc_docker_id_valid(const char *id);

#endif
