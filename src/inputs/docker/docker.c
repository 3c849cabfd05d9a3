/* docker: the Docker input's owner: the container table, the lines and positions it hands
 * to the ingest stage, pausing its streams when told, and its instance operations. See
 * docker.h. */
#include "inputs/docker/docker.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inputs/docker/filter.h"
#include "base/log.h"
#include "base/util.h"
#include "inputs/docker/docker_int.h"
#include "inputs/docker/events.h"

#define LABELS_MAX 256
/* Position keys (in the instance's namespace, "docker/" for the instance named docker):
 * one per container id, and the input's own, which start with a dot as no id does. */
#define KEY_LISTED ".listed" /* the first container list was taken */
/* The boot the positions' boot-times ("at") belong to: /proc/sys/kernel/random/boot_id. */
#define KEY_BOOT ".boot"

/* ---- own container ---------------------------------------------------------------- */

/* Finds the id of the container logcap itself runs in ("" outside Docker), which it
 * never captures (lc_docker_filter_wanted says why). */
static void find_self(char out[65])
{
    char *text = NULL;

    out[0] = '\0';
    if (lc_read_file("/proc/self/mountinfo", 1u << 20, &text, NULL) == 0) {
        lc_docker_filter_self_id(text, out);
    }
    free(text);
}

/* The kernel's id of this boot ("" when unknown): a position's boot-time means something
 * only on the boot that wrote it. */
static void read_boot_id(char out[40])
{
    char *text = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (lc_read_file("/proc/sys/kernel/random/boot_id", 4096, &text, &len) == 0) {
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
            len--;
        }
        snprintf(out, 40, "%.*s", (int)len, text);
    }
    free(text);
}

int64_t lc_docker_boot_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- container table -------------------------------------------------------------- */

struct lc_docker_container *lc_docker_find(struct lc_docker *d, const char *id)
{
    for (struct lc_docker_container *c = d->containers; c != NULL; c = c->next) {
        if (strcmp(c->id, id) == 0) {
            return c;
        }
    }
    return NULL;
}

static int labels_collect(json_t *labels, struct lc_docker_kv *kv, size_t max)
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
    m = lc_meta_docker_create(
        id, name, image, d->cfg->hostname, labels_json,
        json_string_value(json_object_get(labels, "com.docker.compose.project")),
        json_string_value(json_object_get(labels, "com.docker.compose.service")));
    free(labels_json);
    return m;
}

/* Gives C the position saved for it, if any. */
static void adopt_position(struct lc_docker *d, struct lc_docker_container *c)
{
    json_t *saved = json_object_get(d->pending, c->id);
    if (saved == NULL) {
        return;
    }
    lc_docker_files_adopt(c, saved);
    if (lc_docker_pos_from_json(&c->win, saved) != 0) {
        lc_log(LC_LOG_WARN, 0, "[%s:%s] saved position is malformed; reading from start", d->tag,
               c->meta != NULL ? c->meta->name : c->id);
    } else if (d->positions_other_boot) {
        /* Its boot-time is of another boot: it says nothing of this one's clocks. */
        lc_docker_pos_set_at(&c->win, 0);
        lc_docker_mark_dirty(d, c);
    }
    json_object_del(d->pending, c->id);
}

/* Whether a container of NAME and LABELS is captured. */
static int wanted(struct lc_docker *d, const char *id, const char *name, json_t *labels)
{
    struct lc_docker_kv kv[LABELS_MAX];
    int n = labels_collect(labels, kv, LABELS_MAX);
    return lc_docker_filter_wanted(d->dc, d->self_id, id, name, kv, (size_t)n);
}

/* The id of the instance's task BASE: BASE itself for the input named "docker" (the ids
 * earlier versions showed), "<name>/BASE" for any other, so that two Docker inputs never
 * share a task id. Returns DST (LC_SNAP_ID_MAX bytes). */
static const char *docker_task_id(const struct lc_docker *d, char *dst, const char *base)
{
    if (strcmp(d->name, "docker") == 0) {
        snprintf(dst, LC_SNAP_ID_MAX, "%s", base);
    } else {
        snprintf(dst, LC_SNAP_ID_MAX, "%s/%s", d->name, base);
    }
    return dst;
}

/* C becomes captured: its task, metadata and saved position. */
static void capture_begin(struct lc_docker *d, struct lc_docker_container *c, const char *name,
                          const char *image, json_t *labels)
{
    static const struct lc_task_ops ops = {.restart = lc_docker_stream_restart};
    char base[32], task_id[LC_SNAP_ID_MAX];
    snprintf(base, sizeof(base), "container_%.12s", c->id);
    c->ignored = 0;
    c->task = lc_task_create(d->sup, docker_task_id(d, task_id, base), "container", &ops, c);
    lc_task_set_name(c->task, name);
    lc_task_set_owner(c->task, d->name);
    c->meta = meta_from(d, c->id, name, image, labels);
    adopt_position(d, c);
    lc_log(LC_LOG_INFO, 0, "[%s:%s] capturing %.12s (%s)", d->tag, name, c->id,
           c->running ? "running" : "stopped");
}

/* C is no longer captured: what it took goes into the spool, its position is dropped and
 * its metadata leaves the checkpoints. */
static void capture_end(struct lc_docker *d, struct lc_docker_container *c)
{
    lc_task_destroy(c->task);
    c->task = NULL;
    if (c->ignored) {
        return;
    }
    lc_ingest_commit_from(d->src); /* its last lines and position first: it leaves the dirty list */
    lc_ingest_set_position(d->src, c->id, NULL, 0);
    lc_ingest_forget_meta(d->src, c->meta);
}

struct lc_docker_container *lc_docker_add(struct lc_docker *d, const char *id, const char *name,
                                          const char *image, json_t *labels, int running)
{
    struct lc_docker_container *c = lc_xcalloc(1, sizeof(*c));

    if (name[0] == '/') {
        name++;
    }
    c->d = d;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->running = running;
    c->added_ms = uv_now(d->loop);
    lc_docker_stream_init(c);
    c->paused = d->paused; /* a container met while the spool is full waits too */
    c->ignored = 1;
    if (wanted(d, id, name, labels)) {
        capture_begin(d, c, name, image, labels);
    } else {
        lc_docker_preopen_drop(d, id);
    }
    c->next = d->containers;
    d->containers = c;
    d->n_containers++;
    return c;
}

/* The labels as the metadata keeps them: sorted compact JSON, or NULL for none. */
static char *labels_text(json_t *labels)
{
    if (!json_is_object(labels) || json_object_size(labels) == 0) {
        return NULL;
    }
    return json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
}

static int same_text(const char *a, const char *b)
{
    return (a == NULL || a[0] == '\0') ? (b == NULL || b[0] == '\0')
                                       : b != NULL && strcmp(a, b) == 0;
}

void lc_docker_update(struct lc_docker *d, struct lc_docker_container *c, const char *name,
                      const char *image, json_t *labels)
{
    struct lc_meta *old = c->meta;
    char *text;
    if (name[0] == '/') {
        name++;
    }
    if (!wanted(d, c->id, name, labels)) {
        if (!c->ignored) {
            lc_log(LC_LOG_INFO, 0,
                   "[%s:%s] no longer matches the filters (now %s); capture stopped", d->tag,
                   old->name, name);
            lc_docker_stream_reset(c);
            capture_end(d, c);
            lc_meta_unref(c->meta);
            c->meta = NULL;
            lc_docker_pos_close(&c->win);
            c->ignored = 1;
        }
        return;
    }
    if (c->ignored) {
        /* Renamed into the filters: captured like a container first seen now, from its
         * first line (the design's rule for a container logcap meets while running). */
        capture_begin(d, c, name, image, labels);
        lc_docker_stream_begin(c);
        return;
    }
    text = labels_text(labels);
    if (strcmp(old->name, name) != 0 || !same_text(lc_meta_attr(old, "labels"), text)) {
        /* Fresh metadata, keeping the position (the image is kept from the first sight: the
         * list may name it by its id once its tag moved). */
        c->meta = meta_from(d, c->id, name, lc_meta_attr(old, "image"), labels);
        lc_task_set_name(c->task, name);
        lc_ingest_forget_meta(d->src, old);
        lc_meta_unref(old);
    }
    free(text);
}

static void container_freed(uv_handle_t *h)
{
    struct lc_docker_container *c = h->data;
    lc_docker_pos_close(&c->win);
    lc_meta_unref(c->meta);
    free(c);
}

void lc_docker_remove(struct lc_docker *d, struct lc_docker_container *c)
{
    struct lc_docker_container **pp = &d->containers;
    while (*pp != NULL && *pp != c) {
        pp = &(*pp)->next;
    }
    if (*pp == c) {
        *pp = c->next;
        d->n_containers--;
    }
    capture_end(d, c); /* destroyed and read to the end */
    lc_docker_stream_close(c, container_freed);
}

/* ---- backpressure ----------------------------------------------------------------- */

/* The ingest stage pauses every input when the spool is full (on a loop turn of its own:
 * curl does not allow pausing other transfers from inside a write callback). */
static void pause_all(struct lc_docker *d, int pause)
{
    d->paused = pause;
    if (d->stopping) {
        return;
    }
    for (struct lc_docker_container *c = d->containers; c != NULL; c = c->next) {
        lc_docker_stream_pause(c, pause);
    }
    if (!pause && d->changed != NULL) {
        lc_docker_files_soon(d); /* files that changed while paused: read, watched again */
    }
}

/* ---- lines and positions ------------------------------------------------------------ */

void lc_docker_mark_dirty(struct lc_docker *d, struct lc_docker_container *c)
{
    if (!c->pos_dirty && !c->ignored) {
        c->pos_dirty = 1;
        c->dirty_next = d->dirty;
        d->dirty = c;
    }
}

void lc_docker_take(struct lc_docker *d, struct lc_docker_container *c,
                    const struct lc_docker_line *l)
{
    struct lc_line_view v = {.stream = l->stream,
                             .ts_ns = l->ts_ns,
                             .ts = l->ts,
                             .ts_len = l->ts_len,
                             .msg = l->msg,
                             .len = l->len,
                             .truncated = l->truncated};
    int rc = lc_ingest_add(d->src, c->meta, &v);
    if (rc < 0) {
        c->stats.errors++; /* longer than any max_line_bytes allows: cannot happen */
        return;
    }
    /* Taken, kept or dropped by a processor: either way the position moves past it, in the
     * transaction of this append. */
    lc_docker_pos_take(&c->win, l->ts_ns, l->stream);
    c->taken_since_commit = 1;
    lc_docker_mark_dirty(d, c);
}

int lc_docker_take_unseen(struct lc_docker_container *c, const struct lc_docker_line *l)
{
    if (c->tail_floor_pending) {
        c->tail_floor_pending = 0;
        lc_docker_pos_set_floor(&c->win, l->ts_ns);
    }
    if (c->replaying && lc_docker_pos_seen(&c->win, l->ts_ns, l->stream)) {
        return 0;
    }
    lc_docker_take(c->d, c, l);
    c->stats.lines[l->stream == LC_STREAM_STDERR ? 2 : 1]++;
    c->stats.bytes[l->stream == LC_STREAM_STDERR ? 2 : 1] += l->len;
    c->stats.truncated += l->truncated ? 1 : 0;
    return 1;
}

/* The ingest stage commits: the positions that moved go into the same transaction. */
static void flush_positions(struct lc_docker *d)
{
    int64_t now = d->dirty != NULL ? lc_wall_ns() : 0;
    int64_t boot = d->dirty != NULL ? lc_docker_boot_ns() : 0;
    char pos[LC_DOCKER_POS_JSON_MAX + 160];
    while (d->dirty != NULL) {
        struct lc_docker_container *c = d->dirty;
        size_t n;
        if (c->taken_since_commit) {
            /* Lines were taken in this turn, before now: what the clocks read after them. */
            lc_docker_pos_set_at(&c->win, boot);
            c->taken_since_commit = 0;
            c->lag_s = (double)(now - lc_docker_pos_last(&c->win)) / 1e9;
        }
        n = lc_docker_pos_format(&c->win, pos, sizeof(pos));
        n = lc_docker_files_position(c, pos, n, sizeof(pos));
        d->dirty = c->dirty_next;
        c->dirty_next = NULL;
        c->pos_dirty = 0;
        lc_ingest_set_position(d->src, c->id, pos, n);
    }
}

void lc_docker_first_list_done(struct lc_docker *d)
{
    const char *id;
    json_t *v;
    if (json_object_size(d->pending) > 0) {
        lc_log(LC_LOG_INFO, 0, "[%s] %zu saved positions belong to removed containers", d->tag,
               json_object_size(d->pending));
    }
    json_object_foreach(d->pending, id, v)
    {
        lc_ingest_set_position(d->src, id, NULL, 0);
    }
    json_object_clear(d->pending);
    lc_ingest_set_position(d->src, KEY_LISTED, "true", 4);
    lc_ingest_set_position(d->src, KEY_BOOT, d->boot_id, strlen(d->boot_id));
    lc_ingest_commit_from(d->src);
    if (d->legacy_path != NULL) {
        char moved[4200];
        snprintf(moved, sizeof(moved), "%s.migrated", d->legacy_path);
        rename(d->legacy_path, moved);
        free(d->legacy_path);
        d->legacy_path = NULL;
    }
}

/* Positions of an older logcap (data_dir/positions.json), used when the spool has none:
 * they go into the spool with the first append. */
static void load_legacy(struct lc_docker *d)
{
    json_t *doc = NULL, *containers, *v;
    const char *id;
    size_t n = strlen(d->cfg->data_dir) + 32;
    char *path = lc_xmalloc(n);
    snprintf(path, n, "%s/positions.json", d->cfg->data_dir);
    if (lc_docker_positions_load(path, &doc) != 0) {
        free(path);
        return;
    }
    containers = json_object_get(doc, "containers");
    json_object_foreach(containers, id, v)
    {
        json_object_set(d->pending, id, v);
    }
    json_decref(doc);
    lc_log(LC_LOG_INFO, 0, "[%s] taking %zu positions over from %s", d->tag,
           json_object_size(d->pending), path);
    d->first_start = 0;
    d->legacy_path = path;
}

/* The positions recovered from the spool become the pending ones. Keys of the input's
 * own (.listed, .boot) start with a dot, which no container id does. */
static void load_positions(struct lc_docker *d)
{
    json_t *all = lc_ingest_positions(d->src), *v;
    const char *key, *boot = json_string_value(json_object_get(all, KEY_BOOT));
    d->pending = json_object();
    d->first_start = json_object_get(all, KEY_LISTED) == NULL;
    d->positions_other_boot =
        boot == NULL || d->boot_id[0] == '\0' || strcmp(boot, d->boot_id) != 0;
    json_object_foreach(all, key, v)
    {
        json_t *pos;
        if (key[0] == '.') {
            continue;
        }
        pos = json_loads(json_string_value(v), 0, NULL);
        if (pos != NULL) {
            json_object_set_new(d->pending, key, pos);
        }
    }
    json_decref(all);
    /* Only one input can take the old file over: the one named as earlier versions
     * named it (another would capture the same lines again from there). */
    if (d->first_start && json_object_size(d->pending) == 0 && strcmp(d->name, "docker") == 0) {
        load_legacy(d);
    }
}

/* ---- snapshot and test hook ------------------------------------------------------- */

static void fill_container(const struct lc_docker *d, const struct lc_docker_container *c,
                           struct lc_container_snap *cs)
{
    snprintf(cs->input, sizeof(cs->input), "%s", d->name);
    snprintf(cs->id, sizeof(cs->id), "%s", c->id);
    snprintf(cs->name, sizeof(cs->name), "%s", c->meta->name);
    snprintf(cs->image, sizeof(cs->image), "%s", lc_meta_attr(c->meta, "image"));
    memcpy(cs->lines, c->stats.lines, sizeof(cs->lines));
    memcpy(cs->bytes, c->stats.bytes, sizeof(cs->bytes));
    cs->reconnects = c->stats.reconnects;
    cs->rotations = c->stats.rotations;
    cs->truncated = c->stats.truncated;
    cs->decode_errors = c->stats.decode_errors;
    cs->errors = c->stats.errors;
    cs->drains = c->stats.drains;
    cs->position_ns = lc_docker_pos_last(&c->win);
    cs->lag_s = c->lag_s;
    snprintf(cs->read, sizeof(cs->read), "%s", c->read_files ? "files" : "api");
    cs->file_rotations = c->stats.file_rotations;
    cs->lost_files = c->stats.lost_files;
}

void lc_docker_fill(struct lc_docker *d, struct lc_snapshot *snap, struct lc_input_snap *self)
{
    size_t n = 0;
    struct lc_container_snap *cs;
    self->connected = d->connected;
    self->unreachable_since_ns = d->connected ? 0 : d->unreachable_since_ns;
    self->api_errors = d->api_errors;
    for (struct lc_docker_container *c = d->containers; c != NULL; c = c->next) {
        n += !c->ignored;
    }
    self->sources = n;
    cs = lc_snapshot_add_containers(snap, n);
    for (struct lc_docker_container *c = d->containers; c != NULL; c = c->next) {
        if (!c->ignored) {
            fill_container(d, c, cs++);
        }
    }
}

int lc_docker_wedge(struct lc_docker *d, const char *task_id)
{
    for (struct lc_docker_container *c = d->containers; c != NULL; c = c->next) {
        if (c->task != NULL && strcmp(lc_task_id(c->task), task_id) == 0) {
            lc_docker_stream_wedge(c);
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void create_tasks(struct lc_docker *d)
{
    static const struct lc_task_ops events_ops = {.restart = lc_docker_discovery_restart_events};
    static const struct lc_task_ops reconcile_ops = {.restart =
                                                         lc_docker_discovery_restart_reconcile};
    /* Their own ticks are the periodic list: allow two of them and a request. */
    uint64_t slow = 2 * d->dc->reconcile_interval_ms + d->dc->request_timeout_ms;
    char id[LC_SNAP_ID_MAX];
    d->events_task = lc_task_create(d->sup, docker_task_id(d, id, "docker_events"), "docker_events",
                                    &events_ops, d);
    d->reconcile_task = lc_task_create(d->sup, docker_task_id(d, id, "docker_reconcile"),
                                       "docker_reconcile", &reconcile_ops, d);
    lc_task_set_owner(d->events_task, d->name);
    lc_task_set_owner(d->reconcile_task, d->name);
    lc_task_set_timeout(d->events_task, slow);
    lc_task_set_timeout(d->reconcile_task, slow);
}

/* read: files needs dockerd's containers directory: without it, nothing could be read as
 * files, and the user asked for files. */
static int files_root_ok(const struct lc_docker *d)
{
    char dir[4096];
    DIR *dp;
    if (d->dc->read != LC_DOCKER_READ_FILES) {
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/containers", d->dc->root);
    dp = opendir(dir);
    if (dp == NULL) {
        lc_log(LC_LOG_ERROR, -errno,
               "[%s] read: files, but %s cannot be read (set root: to dockerd's --data-root, "
               "run logcap as root, or use read: auto)",
               d->tag, dir);
        return 0;
    }
    closedir(dp);
    return 1;
}

static void *docker_create(const struct lc_input_ctx *ctx)
{
    struct lc_docker *d = lc_xcalloc(1, sizeof(*d));

    d->name = lc_xstrdup(ctx->name);
    if (strcmp(d->name, "docker") == 0) {
        snprintf(d->tag, sizeof(d->tag), "docker");
    } else {
        snprintf(d->tag, sizeof(d->tag), "docker/%s", d->name);
    }
    d->loop = ctx->loop;
    d->sup = ctx->sup;
    d->cfg = ctx->cfg;
    d->dc = ctx->section->opts;
    d->src = ctx->src;
    d->backoff_ms = d->dc->reconnect_min_ms;
    if (!files_root_ok(d)) {
        free(d->name);
        free(d);
        return NULL;
    }
    find_self(d->self_id);
    if (d->self_id[0] != '\0') {
        lc_log(LC_LOG_INFO, 0, "[%s] logcap runs in container %.12s, which it does not capture",
               d->tag, d->self_id);
    }
    read_boot_id(d->boot_id);
    load_positions(d);
    lc_buf_init(&d->events_buf, 1u << 20);
    d->client = lc_docker_client_create(d->loop, d->dc->socket, d->dc->request_timeout_ms);
    if (d->client == NULL) {
        json_decref(d->pending);
        lc_buf_close(&d->events_buf);
        free(d->legacy_path);
        free(d->name);
        free(d);
        return NULL;
    }
    uv_timer_init(d->loop, &d->reconnect_timer);
    uv_timer_init(d->loop, &d->reconcile_timer);
    uv_timer_init(d->loop, &d->events_timer);
    uv_idle_init(d->loop, &d->files_idle);
    uv_timer_init(d->loop, &d->files_timer);
    d->files_timer.data = d;
    uv_fs_event_init(d->loop, &d->root_ev);
    d->root_ev.data = d;
    d->reconnect_timer.data = d;
    d->reconcile_timer.data = d;
    d->events_timer.data = d;
    d->files_idle.data = d;
    return d;
}

/* ---- files mode: reading on ------------------------------------------------------------ */

static void files_idle_cb(uv_idle_t *h)
{
    struct lc_docker *d = h->data;
    int any = 0;
    for (struct lc_docker_container *c = d->containers; c != NULL && !d->paused; c = c->next) {
        lc_docker_files_poll_more(c);
        any |= lc_docker_files_has_more(c);
    }
    if (!any || d->paused) {
        uv_idle_stop(&d->files_idle);
    }
}

static void files_timer_cb(uv_timer_t *t)
{
    lc_docker_files_read_changed(t->data);
}

void lc_docker_files_soon(struct lc_docker *d)
{
    if (!d->stopping && !uv_is_active((uv_handle_t *)&d->files_timer)) {
        uv_timer_start(&d->files_timer, files_timer_cb, LC_DOCKER_FILES_BATCH_MS, 0);
    }
}

void lc_docker_files_more(struct lc_docker *d)
{
    if (!d->stopping && !uv_is_active((uv_handle_t *)&d->files_idle)) {
        uv_idle_start(&d->files_idle, files_idle_cb);
    }
}

static void docker_start(void *state)
{
    struct lc_docker *d = state;
    create_tasks(d);
    d->unreachable_since_ns = lc_wall_ns(); /* until the first answer */
    lc_docker_preopen_start(d);
    lc_docker_discovery_connect(d);
}

/* Stops taking lines; what was taken, and the positions it moved, are with the ingest
 * stage, which commits them (now or when it stops). */
static void docker_stop(void *state)
{
    struct lc_docker *d = state;
    if (d->stopping) {
        return;
    }
    d->stopping = 1;
    lc_docker_discovery_stop(d);
    uv_idle_stop(&d->files_idle);
    uv_timer_stop(&d->files_timer);
    lc_docker_preopen_stop(d);
    for (struct lc_docker_container *c = d->containers; c != NULL; c = c->next) {
        lc_docker_files_close(c);
        lc_docker_stream_cancel(c);
    }
}

/* D lives until its six handles are closed. */
static void maybe_free(struct lc_docker *d)
{
    if (!d->destroyed || d->open_handles > 0) {
        return;
    }
    json_decref(d->pending);
    lc_buf_close(&d->events_buf);
    free(d->legacy_path);
    free(d->name);
    free(d);
}

static void handle_freed(uv_handle_t *h)
{
    struct lc_docker *d = h->data;
    d->open_handles--;
    maybe_free(d);
}

static void docker_destroy(void *state)
{
    struct lc_docker *d = state;
    if (d == NULL) {
        return;
    }
    docker_stop(d);
    while (d->containers != NULL) {
        struct lc_docker_container *c = d->containers;
        d->containers = c->next;
        lc_task_destroy(c->task);
        lc_docker_stream_close(c, container_freed);
    }
    lc_task_destroy(d->events_task);
    lc_task_destroy(d->reconcile_task);
    d->events_task = NULL;
    d->reconcile_task = NULL;
    lc_docker_client_destroy(d->client);
    uv_close((uv_handle_t *)&d->reconnect_timer, handle_freed);
    uv_close((uv_handle_t *)&d->reconcile_timer, handle_freed);
    uv_close((uv_handle_t *)&d->events_timer, handle_freed);
    uv_close((uv_handle_t *)&d->files_idle, handle_freed);
    uv_close((uv_handle_t *)&d->root_ev, handle_freed);
    uv_close((uv_handle_t *)&d->files_timer, handle_freed);
    d->destroyed = 1;
    d->open_handles = 6;
}

static void docker_pause(void *state)
{
    pause_all(state, 1);
}

static void docker_resume(void *state)
{
    pause_all(state, 0);
}

static void docker_positions(void *state)
{
    flush_positions(state);
}

static void docker_snapshot(void *state, struct lc_snapshot *snap, struct lc_input_snap *self)
{
    lc_docker_fill(state, snap, self);
}

static int docker_wedge(void *state, const char *task_id)
{
    return lc_docker_wedge(state, task_id);
}

const struct lc_input_ops lc_input_docker = {
    .type = "docker",
    .config = &lc_docker_config_plugin,
    .create = docker_create,
    .start = docker_start,
    .stop = docker_stop,
    .pause = docker_pause,
    .resume = docker_resume,
    .positions = docker_positions,
    .snapshot = docker_snapshot,
    .wedge = docker_wedge,
    .destroy = docker_destroy,
};
