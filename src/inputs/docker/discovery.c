/* discovery: finds the containers to follow. On connect it negotiates the API version
 * (GET /version), opens /events (resumed with `since` after a reconnect so no event is
 * missed) and lists every container; the list runs again every reconcile_interval and
 * after every reconnect, because the daemon replays only its last 256 events and none
 * across its own restart. When the daemon goes away, it reconnects with exponential
 * backoff. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "base/util.h"
#include "inputs/docker/docker_int.h"
#include "inputs/docker/events.h"

/* The newest API this code speaks; an older daemon's own version is used instead. */
#define API_MAX_MAJOR 1
#define API_MAX_MINOR 41
/* filters={"type":["container"],"event":["start","die","destroy","rename"]} */
#define EVENTS_FILTER                                                                              \
    "filters=%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%2C%22die%22"     \
    "%2C%22destroy%22%2C%22rename%22%5D%7D"

static void list(struct lc_docker *d);

/* ---- reconnect ---------------------------------------------------------------------- */

static void reconnect_cb(uv_timer_t *t)
{
    lc_docker_discovery_connect(t->data);
}

void lc_docker_discovery_lost(struct lc_docker *d, const char *why)
{
    if (d->stopping) {
        return;
    }
    if (d->connected) {
        lc_log(LC_LOG_WARN, 0, "[%s] lost the daemon (%s); reconnecting", d->tag, why);
        d->unreachable_since_ns = lc_wall_ns();
    }
    d->connected = 0;
    lc_task_beat(d->events_task); /* reconnecting is their work now */
    lc_task_beat(d->reconcile_task);
    lc_task_error(d->events_task, 0, "%s", why);
    lc_task_set_state(d->events_task, LC_TASK_RESTARTING);
    if (d->events_req != NULL) {
        lc_docker_req_cancel(d->events_req);
        d->events_req = NULL;
    }
    uv_timer_stop(&d->reconcile_timer);
    uv_timer_start(&d->reconnect_timer, reconnect_cb, d->backoff_ms, 0);
    d->backoff_ms *= 2;
    if (d->backoff_ms > d->dc->reconnect_max_ms) {
        d->backoff_ms = d->dc->reconnect_max_ms;
    }
}

/* ---- events ------------------------------------------------------------------------- */

static void handle_event(struct lc_docker *d, const struct lc_docker_event *ev)
{
    struct lc_docker_container *c = lc_docker_find(d, ev->id);
    if (ev->time_ns > d->last_event_ns) {
        d->last_event_ns = ev->time_ns;
    }
    switch (ev->action) {
    case LC_DOCKER_EVENT_START:
        if (c == NULL && ev->name[0] != '\0') {
            /* A new container: the event brings its name, image and labels, so its logs
             * are asked for at once; a container that exits within milliseconds (and with
             * --rm is removed) is gone before a list could name it. */
            c = lc_docker_add(d, ev->id, ev->name, ev->image, ev->labels, 1);
            lc_docker_stream_begin(c);
        } else if (c == NULL) {
            list(d); /* an event without attributes: the list names it */
        } else if (!c->ignored) {
            lc_docker_stream_on_start(c);
        }
        break;
    case LC_DOCKER_EVENT_DIE:
        if (c != NULL) {
            c->running = 0;
            lc_docker_files_on_die(c); /* files mode: read to the end, closed */
        }
        break;
    case LC_DOCKER_EVENT_DESTROY:
        lc_docker_preopen_drop(d, ev->id);
        if (c != NULL) {
            c->destroyed = 1;
            if (c->files != NULL) {
                lc_docker_files_gone(c); /* its deleted file read to the end */
            } else if (c->ignored || c->state == LC_DOCKER_C_IDLE) {
                lc_docker_remove(d, c);
            }
        }
        break;
    case LC_DOCKER_EVENT_RENAME:
        if (c != NULL && ev->name[0] != '\0') {
            /* Captured or not: the filters are applied to the new name. */
            lc_docker_update(d, c, ev->name, ev->image, ev->labels);
        }
        break;
    default:
        break;
    }
}

/* Handles the complete event lines received so far. Runs from a timer, never inside a
 * curl callback, because handling an event may start requests. */
static void events_timer_cb(uv_timer_t *t)
{
    struct lc_docker *d = t->data;
    char *nl;
    while (!d->stopping && d->events_buf.len > 0 &&
           (nl = memchr(d->events_buf.data, '\n', d->events_buf.len)) != NULL) {
        size_t n = (size_t)(nl - d->events_buf.data);
        struct lc_docker_event ev;
        if (lc_docker_event_parse(d->events_buf.data, n, &ev) == 0) {
            handle_event(d, &ev);
            lc_docker_event_close(&ev);
        }
        lc_buf_consume(&d->events_buf, n + 1);
    }
}

static int events_data(void *ud, const char *data, size_t len)
{
    struct lc_docker *d = ud;
    lc_task_progress(d->events_task);
    if (lc_buf_add(&d->events_buf, data, len) != 0) {
        lc_log(LC_LOG_WARN, 0, "[%s] event line too long; dropped", d->tag);
        lc_buf_reset(&d->events_buf);
        return 0;
    }
    uv_timer_start(&d->events_timer, events_timer_cb, 0, 0);
    return 0;
}

static void events_done(void *ud, int result, long status)
{
    struct lc_docker *d = ud;
    char why[64];
    d->events_req = NULL;
    d->api_errors.events++;
    snprintf(why, sizeof(why), "event stream ended: %s, HTTP %ld",
             result ? strerror(-result) : "ok", status);
    lc_docker_discovery_lost(d, why);
}

static void open_events(struct lc_docker *d)
{
    lc_docker_req_cancel(d->events_req); /* never two event streams */
    d->events_req = NULL;
    char path[400];
    int n = snprintf(path, sizeof(path), "/events?%s", EVENTS_FILTER);
    if (d->last_event_ns > 0) {
        char since[40];
        lc_time_format_since(d->last_event_ns, since, sizeof(since));
        snprintf(path + n, sizeof(path) - (size_t)n, "&since=%s", since);
    }
    lc_buf_reset(&d->events_buf);
    d->events_since_ns = lc_mono_ns(); /* judged as a duration: monotonic */
    d->events_req = lc_docker_req_start(d->client, path, 0, 0, events_data, events_done, d);
    if (d->events_req == NULL) {
        lc_docker_discovery_lost(d, "cannot open the event stream");
        return;
    }
    lc_task_set_state(d->events_task, LC_TASK_RUNNING);
}

/* ---- list and reconcile ------------------------------------------------------------- */

static void reconcile_one(struct lc_docker *d, json_t *item)
{
    const char *id = json_string_value(json_object_get(item, "Id"));
    const char *name = json_string_value(json_array_get(json_object_get(item, "Names"), 0));
    const char *image = json_string_value(json_object_get(item, "Image"));
    const char *state = json_string_value(json_object_get(item, "State"));
    int running = state != NULL && strcmp(state, "running") == 0;
    struct lc_docker_container *c;

    if (id == NULL || !lc_docker_id_valid(id)) {
        return;
    }
    c = lc_docker_find(d, id);
    if (c != NULL && name != NULL) {
        /* A rename or labels not known from an event: filters and metadata again. */
        lc_docker_update(d, c, name, image != NULL ? image : "", json_object_get(item, "Labels"));
    }
    if (c == NULL) {
        c = lc_docker_add(d, id, name != NULL ? name : id, image != NULL ? image : "",
                          json_object_get(item, "Labels"), running);
        if (d->listed_once && running) {
            d->missed_events++; /* its start event should have brought it already */
        }
        if (!d->listed_once && d->first_start && !c->ignored) {
            c->tail = d->dc->initial_tail;
        }
        lc_docker_stream_begin(c);
        return;
    }
    if (running && !c->ignored && c->state == LC_DOCKER_C_IDLE) {
        lc_docker_stream_on_start(c); /* a start we did not hear about */
        d->missed_events++;
    }
}

static void remove_missing(struct lc_docker *d, json_t *items)
{
    struct lc_docker_container *c = d->containers, *next;
    for (; c != NULL; c = next) {
        size_t i;
        json_t *item;
        int found = 0;
        next = c->next;
        if (c->added_ms >= d->list_started_ms) {
            continue; /* added (from an event) after this list was asked for */
        }
        json_array_foreach(items, i, item)
        {
            const char *id = json_string_value(json_object_get(item, "Id"));
            if (id != NULL && strcmp(id, c->id) == 0) {
                found = 1;
                break;
            }
        }
        if (!found) {
            c->destroyed = 1;
            if (c->ignored || c->state == LC_DOCKER_C_IDLE || c->state == LC_DOCKER_C_WAIT) {
                lc_docker_stream_gone(c);
            }
        }
    }
}

/* A list that finds starts the event stream did not bring, on a stream open for a while,
 * means the stream is stuck (a frozen connection looks just like a quiet one): reopen it
 * with `since`, so nothing in between is missed. */
static void check_missed_events(struct lc_docker *d)
{
    int64_t open_for = lc_mono_ns() - d->events_since_ns;
    if (d->missed_events == 0 || d->events_req == NULL || !d->listed_once ||
        open_for < (int64_t)d->dc->request_timeout_ms * 1000000LL) {
        return;
    }
    lc_log(LC_LOG_WARN, 0, "[%s] the event stream missed %u container starts; reopening it", d->tag,
           d->missed_events);
    lc_task_error(d->events_task, 0, "missed %u events; reopened", d->missed_events);
    lc_docker_req_cancel(d->events_req);
    d->events_req = NULL;
    open_events(d);
}

static void apply_list(struct lc_docker *d, json_t *body, int from_timer)
{
    size_t i;
    json_t *item;
    lc_task_progress(d->reconcile_task);
    lc_task_set_state(d->reconcile_task, LC_TASK_RUNNING);
    if (d->events_req != NULL) {
        lc_task_beat(d->events_task); /* the daemon answers: a quiet event stream is fine */
    }
    d->missed_events = 0;
    json_array_foreach(body, i, item)
    {
        reconcile_one(d, item);
    }
    remove_missing(d, body);
    lc_docker_preopen_age_out(d);
    if (!d->listed_once) {
        d->listed_once = 1;
        lc_docker_first_list_done(d);
    } else if (from_timer) {
        check_missed_events(d);
    }
}

static void list_done(void *ud, int result, long status, json_t *body)
{
    struct lc_docker *d = ud;
    int from_timer = d->list_from_timer;
    d->list_in_flight = 0;
    d->list_req = NULL;
    d->list_from_timer = 0;
    if (d->stopping) {
        return;
    }
    lc_task_beat(d->reconcile_task);
    if (!json_is_array(body)) {
        d->api_errors.list++;
        lc_task_error(d->reconcile_task, result, "listing containers failed (HTTP %ld)", status);
        lc_log(LC_LOG_WARN, result, "[%s] listing containers failed (HTTP %ld)", d->tag, status);
    } else {
        apply_list(d, body, from_timer);
    }
    if (d->list_again) {
        d->list_again = 0;
        list(d);
    }
}

static void list(struct lc_docker *d)
{
    if (d->list_in_flight) {
        d->list_again = 1; /* what changed since that list was taken needs another */
        return;
    }
    if (d->stopping) {
        return;
    }
    d->list_started_ms = uv_now(d->loop);
    d->list_req = lc_docker_get_json(d->client, "/containers/json?all=1", 0,
                                     d->dc->request_timeout_ms, list_done, d);
    d->list_in_flight = d->list_req != NULL;
}

static void reconcile_cb(uv_timer_t *t)
{
    struct lc_docker *d = t->data;
    if (!d->list_in_flight) {
        d->list_from_timer = 1;
    }
    list(d);
}

/* ---- connect ------------------------------------------------------------------------ */

static void negotiate(struct lc_docker *d, json_t *body)
{
    const char *v = json_string_value(json_object_get(body, "ApiVersion"));
    unsigned major = 0, minor = 0;
    char prefix[32];
    if (v == NULL || sscanf(v, "%u.%u", &major, &minor) != 2 ||
        major * 1000 + minor > API_MAX_MAJOR * 1000 + API_MAX_MINOR) {
        major = API_MAX_MAJOR;
        minor = API_MAX_MINOR;
    }
    snprintf(prefix, sizeof(prefix), "/v%u.%u", major, minor);
    lc_docker_client_set_api(d->client, prefix);
}

static void version_done(void *ud, int result, long status, json_t *body)
{
    struct lc_docker *d = ud;
    d->version_req = NULL;
    if (d->stopping) {
        return;
    }
    if (body == NULL) {
        char why[80];
        d->api_errors.version++;
        snprintf(why, sizeof(why), "GET /version: %s, HTTP %ld",
                 result ? strerror(-result) : "bad answer", status);
        if (d->connected || d->backoff_ms == d->dc->reconnect_min_ms) {
            lc_log(LC_LOG_WARN, 0, "[%s] daemon at %s not answering (%s)", d->tag, d->dc->socket,
                   why);
        }
        lc_docker_discovery_lost(d, why);
        return;
    }
    negotiate(d, body);
    lc_log(LC_LOG_INFO, 0, "[%s] connected to %s (API %s)", d->tag, d->dc->socket,
           lc_docker_client_api(d->client) + 1);
    d->connected = 1;
    d->unreachable_since_ns = 0;
    d->backoff_ms = d->dc->reconnect_min_ms;
    lc_task_ok(d->events_task);
    for (struct lc_docker_container *c = d->containers; c != NULL; c = c->next) {
        lc_docker_stream_kick(c);
    }
    open_events(d);
    list(d);
    uv_timer_start(&d->reconcile_timer, reconcile_cb, d->dc->reconcile_interval_ms,
                   d->dc->reconcile_interval_ms);
}

void lc_docker_discovery_connect(struct lc_docker *d)
{
    if (d->stopping || d->version_req != NULL) {
        return;
    }
    d->version_req =
        lc_docker_get_json(d->client, "/version", 1, d->dc->request_timeout_ms, version_done, d);
    if (d->version_req == NULL) {
        lc_docker_discovery_lost(d, "cannot start a request");
    }
}

void lc_docker_discovery_restart_events(void *ud)
{
    struct lc_docker *d = ud;
    lc_docker_discovery_stop(d);
    d->connected = 0;
    lc_docker_discovery_connect(d); /* version, events with since, list */
}

void lc_docker_discovery_restart_reconcile(void *ud)
{
    struct lc_docker *d = ud;
    uv_timer_stop(&d->reconcile_timer);
    uv_timer_start(&d->reconcile_timer, reconcile_cb, d->dc->reconcile_interval_ms,
                   d->dc->reconcile_interval_ms);
    lc_docker_req_cancel(d->list_req); /* a list stuck in flight goes with the old task */
    d->list_req = NULL;
    d->list_in_flight = 0;
    list(d);
}

void lc_docker_discovery_stop(struct lc_docker *d)
{
    lc_docker_req_cancel(d->version_req);
    d->version_req = NULL;
    lc_docker_req_cancel(d->list_req);
    d->list_req = NULL;
    d->list_in_flight = 0;
    uv_timer_stop(&d->reconnect_timer);
    uv_timer_stop(&d->reconcile_timer);
    uv_timer_stop(&d->events_timer);
    if (d->events_req != NULL) {
        lc_docker_req_cancel(d->events_req);
        d->events_req = NULL;
    }
}
