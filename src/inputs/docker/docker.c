/* docker: the Docker input's owner: the container table, the positions store and the
 * pipeline callbacks (commit and backpressure). See docker.h. */
#include "inputs/docker/docker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "core/log.h"
#include "core/util.h"
#include "inputs/docker/docker_int.h"
#include "inputs/docker/events.h"

#define SAVE_INTERVAL_MS 250
#define LABELS_MAX 256

static void maybe_free(struct lc_docker *d);

/* ---- own container ---------------------------------------------------------------- */

/* Finds the id of the container logcap itself runs in, from the paths Docker mounts
 * (/var/lib/docker/containers/<id>/hostname and friends). Leaves "" outside Docker. */
static void find_self(char out[65])
{
    char *text = NULL;
    const char *p;
    out[0] = '\0';
    if (lc_read_file("/proc/self/mountinfo", 1u << 20, &text, NULL) != 0) {
        return;
    }
    for (p = strstr(text, "/containers/"); p != NULL; p = strstr(p + 1, "/containers/")) {
        char id[65];
        memcpy(id, p + 12, 64);
        id[64] = '\0';
        if (strlen(p + 12) >= 64 && lc_docker_id_valid(id) && p[76] == '/') {
            memcpy(out, id, 65);
            break;
        }
    }
    free(text);
}

/* ---- container table -------------------------------------------------------------- */

struct lc_container *lc_docker_find(struct lc_docker *d, const char *id)
{
    for (struct lc_container *c = d->containers; c != NULL; c = c->next) {
        if (strcmp(c->id, id) == 0) {
            return c;
        }
    }
    return NULL;
}

static int labels_collect(json_t *labels, struct lc_kv *kv, size_t max)
{
    const char *key;
    json_t *v;
    size_t n = 0;
    json_object_foreach(labels, key, v)
    {
        if (n < max && json_is_string(v)) {
            kv[n].key = key;
            kv[n].value = json_string_value(v);
            n++;
        }
    }
    return (int)n;
}

static struct lc_meta *meta_from(struct lc_docker *d, const char *id, const char *name,
                                 const char *image, json_t *labels)
{
    char *labels_json = NULL;
    struct lc_meta *m;
    if (json_is_object(labels) && json_object_size(labels) > 0) {
        labels_json = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    }
    m = lc_meta_create(id, name, image, d->cfg->hostname, labels_json,
                       json_string_value(json_object_get(labels, "com.docker.compose.project")),
                       json_string_value(json_object_get(labels, "com.docker.compose.service")));
    free(labels_json);
    return m;
}

/* Gives C the position saved for it, if any. */
static void adopt_position(struct lc_docker *d, struct lc_container *c)
{
    json_t *saved = json_object_get(d->pending, c->id);
    if (saved == NULL) {
        return;
    }
    if (lc_pos_window_from_json(&c->win, saved) != 0) {
        lc_log(LC_LOG_WARN, 0, "[docker:%s] saved position is malformed; reading from start",
               c->meta != NULL ? c->meta->name : c->id);
    }
    json_object_del(d->pending, c->id);
}

struct lc_container *lc_docker_add(struct lc_docker *d, const char *id, const char *name,
                                   const char *image, json_t *labels, int running)
{
    struct lc_container *c = lc_xcalloc(1, sizeof(*c));
    struct lc_kv kv[LABELS_MAX];
    int n = labels_collect(labels, kv, LABELS_MAX);

    if (name[0] == '/') {
        name++;
    }
    c->d = d;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->running = running;
    lc_stream_init(c);
    c->ignored = strcmp(id, d->self_id) == 0 || !lc_filter_match(d->dc, name, kv, (size_t)n);
    if (!c->ignored) {
        static const struct lc_task_ops ops = {.restart = lc_stream_restart};
        char task_id[32];
        snprintf(task_id, sizeof(task_id), "container_%.12s", id);
        c->task = lc_task_create(d->sup, task_id, "container", &ops, c);
        lc_task_set_name(c->task, name);
        c->meta = meta_from(d, id, name, image, labels);
        adopt_position(d, c);
        lc_log(LC_LOG_INFO, 0, "[docker:%s] capturing %.12s (%s)", name, id,
               running ? "running" : "stopped");
    }
    c->next = d->containers;
    d->containers = c;
    d->n_containers++;
    return c;
}

static void container_freed(uv_handle_t *h)
{
    struct lc_container *c = h->data;
    lc_pos_window_close(&c->win);
    lc_meta_unref(c->meta);
    free(c);
}

void lc_docker_remove(struct lc_docker *d, struct lc_container *c)
{
    struct lc_container **pp = &d->containers;
    while (*pp != NULL && *pp != c) {
        pp = &(*pp)->next;
    }
    if (*pp == c) {
        *pp = c->next;
        d->n_containers--;
    }
    lc_task_destroy(c->task);
    c->task = NULL;
    lc_stream_close(c, container_freed);
    d->dirty = 1; /* its position is dropped from the store */
}

/* ---- backpressure ----------------------------------------------------------------- */

static void pause_all(struct lc_docker *d, int pause)
{
    for (struct lc_container *c = d->containers; c != NULL; c = c->next) {
        lc_stream_pause(c, pause);
    }
}

/* curl does not allow pausing other transfers from inside a write callback, so the pause
 * is applied on the next loop turn; the streams' reads until then are bounded. */
static void pause_idle_cb(uv_idle_t *h)
{
    struct lc_docker *d = h->data;
    uv_idle_stop(h);
    d->pause_pending = 0;
    if (d->paused && !d->stopping) {
        pause_all(d, 1);
    }
}

void lc_docker_request_pause(struct lc_docker *d)
{
    if (d->paused) {
        return;
    }
    d->paused = 1;
    lc_log(LC_LOG_INFO, 0, "[docker] outputs are behind; pausing the log streams");
    if (!d->pause_pending) {
        d->pause_pending = 1;
        uv_idle_start(&d->pause_idle, pause_idle_cb);
    }
}

void lc_docker_on_resume(void *ud)
{
    struct lc_docker *d = ud;
    if (!d->paused) {
        return;
    }
    d->paused = 0;
    lc_log(LC_LOG_INFO, 0, "[docker] outputs caught up; resuming the log streams");
    if (!d->stopping) {
        pause_all(d, 0);
    }
}

/* ---- positions -------------------------------------------------------------------- */

void lc_docker_mark_dirty(struct lc_docker *d)
{
    d->dirty = 1;
}

void lc_docker_on_commit(void *ud, uint64_t seq)
{
    struct lc_docker *d = ud;
    int64_t now = lc_wall_ns();
    for (struct lc_container *c = d->containers; c != NULL; c = c->next) {
        if (lc_pos_window_commit(&c->win, seq)) {
            c->lag_s = (double)(now - lc_pos_window_committed_newest(&c->win)) / 1e9;
            d->dirty = 1;
        }
    }
}

static char *positions_dump(struct lc_docker *d, size_t *len)
{
    json_t *doc = json_object();
    json_t *containers = json_deep_copy(d->pending);
    char *s;
    for (struct lc_container *c = d->containers; c != NULL; c = c->next) {
        if (!c->ignored && lc_pos_window_committed_newest(&c->win) >= 0) {
            json_t *pos = lc_pos_window_to_json(&c->win);
            json_object_set_new(pos, "name", json_string(c->meta->name));
            json_object_set_new(containers, c->id, pos);
        }
    }
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "containers", containers);
    s = lc_positions_dump(doc, len);
    json_decref(doc);
    return s;
}

static void save_work_cb(uv_work_t *w)
{
    struct lc_docker *d = w->data;
    d->save_rc = lc_write_file_atomic(d->positions_path, d->save_data, d->save_len);
}

static void save_after_cb(uv_work_t *w, int status)
{
    struct lc_docker *d = w->data;
    (void)status;
    if (d->save_rc != 0) {
        lc_log(LC_LOG_ERROR, d->save_rc, "[docker] cannot save positions to %s", d->positions_path);
        d->dirty = 1;
    }
    free(d->save_data);
    d->save_data = NULL;
    d->save_in_flight = 0;
    maybe_free(d);
}

/* Saves on a worker thread so the loop never waits for fsync. */
static void save_timer_cb(uv_timer_t *t)
{
    struct lc_docker *d = t->data;
    if (!d->dirty || d->save_in_flight) {
        return;
    }
    d->dirty = 0;
    d->save_in_flight = 1;
    d->save_data = positions_dump(d, &d->save_len);
    d->save_work.data = d;
    uv_queue_work(d->loop, &d->save_work, save_work_cb, save_after_cb);
}

int lc_docker_save_positions(struct lc_docker *d)
{
    size_t len;
    char *s = positions_dump(d, &len);
    int rc = lc_write_file_atomic(d->positions_path, s, len);
    free(s);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[docker] cannot save positions to %s", d->positions_path);
    }
    return rc;
}

static int load_positions(struct lc_docker *d)
{
    json_t *doc = NULL;
    int rc = lc_positions_load(d->positions_path, &doc);
    if (rc == -ENOENT) {
        d->first_start = 1;
        d->pending = json_object();
        return 0;
    }
    if (rc != 0) {
        char bad[4200];
        snprintf(bad, sizeof(bad), "%s.bad", d->positions_path);
        lc_log(LC_LOG_ERROR, rc,
               "[docker] positions store %s is damaged; kept as %s, containers are read "
               "from their start",
               d->positions_path, bad);
        rename(d->positions_path, bad);
        d->pending = json_object();
        return 0;
    }
    d->pending = json_incref(json_object_get(doc, "containers"));
    json_decref(doc);
    return 0;
}

/* ---- snapshot and test hook ------------------------------------------------------- */

static void fill_container(const struct lc_container *c, struct lc_container_snap *cs)
{
    snprintf(cs->id, sizeof(cs->id), "%s", c->id);
    snprintf(cs->name, sizeof(cs->name), "%s", c->meta->name);
    snprintf(cs->image, sizeof(cs->image), "%s", c->meta->image);
    memcpy(cs->lines, c->stats.lines, sizeof(cs->lines));
    memcpy(cs->bytes, c->stats.bytes, sizeof(cs->bytes));
    cs->reconnects = c->stats.reconnects;
    cs->rotations = c->stats.rotations;
    cs->truncated = c->stats.truncated;
    cs->decode_errors = c->stats.decode_errors;
    cs->errors = c->stats.errors;
    cs->position_ns = lc_pos_window_committed_newest(&c->win);
    cs->lag_s = c->lag_s;
}

void lc_docker_fill(struct lc_docker *d, struct lc_snapshot *snap)
{
    size_t n = 0;
    snap->docker_enabled = 1;
    snap->docker_connected = d->connected;
    snap->docker_unreachable_since_ns = d->connected ? 0 : d->unreachable_since_ns;
    snap->api_errors = d->api_errors;
    free(snap->containers); /* replaces what lc_snapshot_create sized */
    snap->containers = lc_xcalloc(d->n_containers ? d->n_containers : 1, sizeof(*snap->containers));
    for (struct lc_container *c = d->containers; c != NULL; c = c->next) {
        if (!c->ignored) {
            fill_container(c, &snap->containers[n++]);
        }
    }
    snap->n_containers = n;
}

int lc_docker_wedge(struct lc_docker *d, const char *task_id)
{
    for (struct lc_container *c = d->containers; c != NULL; c = c->next) {
        if (c->task != NULL && strcmp(lc_task_id(c->task), task_id) == 0) {
            lc_stream_wedge(c);
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void create_tasks(struct lc_docker *d)
{
    static const struct lc_task_ops events_ops = {.restart = lc_discovery_restart_events};
    static const struct lc_task_ops reconcile_ops = {.restart = lc_discovery_restart_reconcile};
    /* Their own ticks are the periodic list: allow two of them and a request. */
    uint64_t slow = 2 * d->dc->reconcile_interval_ms + d->dc->request_timeout_ms;
    d->events_task = lc_task_create(d->sup, "docker_events", "docker_events", &events_ops, d);
    d->reconcile_task =
        lc_task_create(d->sup, "docker_reconcile", "docker_reconcile", &reconcile_ops, d);
    lc_task_set_timeout(d->events_task, slow);
    lc_task_set_timeout(d->reconcile_task, slow);
}

struct lc_docker *lc_docker_create(uv_loop_t *loop, const struct lc_config *cfg,
                                   struct lc_pipeline *pipeline, struct lc_supervisor *sup)
{
    struct lc_docker *d = lc_xcalloc(1, sizeof(*d));
    size_t n = strlen(cfg->data_dir) + 32;

    d->loop = loop;
    d->sup = sup;
    d->cfg = cfg;
    d->dc = &cfg->docker;
    d->pipeline = pipeline;
    d->backoff_ms = d->dc->reconnect_min_ms;
    d->positions_path = lc_xmalloc(n);
    snprintf(d->positions_path, n, "%s/positions.json", cfg->data_dir);
    find_self(d->self_id);
    load_positions(d);
    lc_buf_init(&d->events_buf, 1u << 20);
    d->client = lc_docker_client_create(loop, d->dc->socket, d->dc->request_timeout_ms);
    if (d->client == NULL) {
        json_decref(d->pending);
        lc_buf_close(&d->events_buf);
        free(d->positions_path);
        free(d);
        return NULL;
    }
    uv_timer_init(loop, &d->reconnect_timer);
    uv_timer_init(loop, &d->reconcile_timer);
    uv_timer_init(loop, &d->events_timer);
    uv_timer_init(loop, &d->save_timer);
    uv_idle_init(loop, &d->pause_idle);
    d->reconnect_timer.data = d;
    d->reconcile_timer.data = d;
    d->events_timer.data = d;
    d->save_timer.data = d;
    d->pause_idle.data = d;
    return d;
}

void lc_docker_start(struct lc_docker *d)
{
    create_tasks(d);
    d->unreachable_since_ns = lc_wall_ns(); /* until the first answer */
    uv_timer_start(&d->save_timer, save_timer_cb, SAVE_INTERVAL_MS, SAVE_INTERVAL_MS);
    lc_discovery_connect(d);
}

void lc_docker_stop(struct lc_docker *d)
{
    if (d->stopping) {
        return;
    }
    d->stopping = 1;
    lc_discovery_stop(d);
    uv_timer_stop(&d->save_timer);
    uv_idle_stop(&d->pause_idle);
    for (struct lc_container *c = d->containers; c != NULL; c = c->next) {
        lc_stream_cancel(c);
    }
}

/* D lives until its five handles are closed and no save is on a worker thread. */
static void maybe_free(struct lc_docker *d)
{
    if (!d->destroyed || d->open_handles > 0 || d->save_in_flight) {
        return;
    }
    json_decref(d->pending);
    lc_buf_close(&d->events_buf);
    free(d->positions_path);
    free(d);
}

static void handle_freed(uv_handle_t *h)
{
    struct lc_docker *d = h->data;
    d->open_handles--;
    maybe_free(d);
}

void lc_docker_destroy(struct lc_docker *d)
{
    if (d == NULL) {
        return;
    }
    lc_docker_stop(d);
    while (d->containers != NULL) {
        struct lc_container *c = d->containers;
        d->containers = c->next;
        lc_task_destroy(c->task);
        lc_stream_close(c, container_freed);
    }
    lc_task_destroy(d->events_task);
    lc_task_destroy(d->reconcile_task);
    d->events_task = NULL;
    d->reconcile_task = NULL;
    lc_docker_client_destroy(d->client);
    uv_close((uv_handle_t *)&d->reconnect_timer, handle_freed);
    uv_close((uv_handle_t *)&d->reconcile_timer, handle_freed);
    uv_close((uv_handle_t *)&d->events_timer, handle_freed);
    uv_close((uv_handle_t *)&d->save_timer, handle_freed);
    uv_close((uv_handle_t *)&d->pause_idle, handle_freed);
    d->destroyed = 1;
    d->open_handles = 5;
}
