/* preopen: the json-file logs of containers the input has not heard of yet, opened the
 * moment Docker creates them (files mode), so that a container that prints and exits at
 * once, and is removed with --rm before its start event is handled, is still read: an open
 * file stays readable after it is deleted.
 *
 * <root>/containers is watched (inotify through libuv). A new directory there is a new
 * container: its directory is watched until its <id>-json.log appears (when the container
 * starts), which is then opened and kept. The container's capture takes the descriptor
 * over when its start event (or a list) names it (lc_docker_preopen_take; a list that meets
 * it created but not started leaves the watch on); a container the filters leave out, or
 * one destroyed first, has its descriptor closed (lc_docker_preopen_drop); so does one no
 * event names within PREOPEN_MAX_AGE_MS (looked at on each list and each new directory).
 * At most PREOPEN_MAX are held. Loop thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "inputs/docker/docker_int.h"
#include "inputs/docker/events.h"

#define PREOPEN_MAX 1024
#define PREOPEN_MAX_AGE_MS (10ULL * 60 * 1000)

struct lc_docker_preopen {
    struct lc_docker_preopen *next;
    struct lc_docker *d;
    char id[65];
    int fd;           /* -1 until the log file exists */
    uv_fs_event_t ev; /* the container's directory, while the file is awaited */
    uint64_t born_ms;
};

static void entry_closed(uv_handle_t *h)
{
    struct lc_docker_preopen *e = h->data;
    if (e->fd >= 0) {
        close(e->fd);
    }
    free(e);
}

/* Unlinks E from D's list and frees it (its watch closes on the next turn). */
static void entry_free(struct lc_docker *d, struct lc_docker_preopen *e)
{
    struct lc_docker_preopen **pp = &d->preopen;
    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    d->n_preopen--;
    uv_close((uv_handle_t *)&e->ev, entry_closed);
}

static struct lc_docker_preopen *entry_find(struct lc_docker *d, const char *id)
{
    for (struct lc_docker_preopen *e = d->preopen; e != NULL; e = e->next) {
        if (strcmp(e->id, id) == 0) {
            return e;
        }
    }
    return NULL;
}

static void try_open(struct lc_docker_preopen *e)
{
    char path[4096];
    if (e->fd >= 0) {
        return;
    }
    snprintf(path, sizeof(path), "%s/containers/%s/%s-json.log", e->d->dc->root, e->id, e->id);
    e->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (e->fd >= 0) {
        uv_fs_event_stop(&e->ev); /* held now: nothing more to wait for */
    }
}

static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    (void)filename;
    (void)events;
    if (status == 0) {
        try_open(h->data);
    }
}

void lc_docker_preopen_age_out(struct lc_docker *d)
{
    uint64_t now = uv_now(d->loop);

    for (struct lc_docker_preopen *e = d->preopen, *next; e != NULL; e = next) {
        next = e->next;
        if (now - e->born_ms > PREOPEN_MAX_AGE_MS) {
            entry_free(d, e);
        }
    }
}

static void on_root_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct lc_docker *d = h->data;
    struct lc_docker_preopen *e;
    char dir[4096];
    (void)events;
    if (status != 0 || filename == NULL || !lc_docker_id_valid(filename) || d->stopping ||
        lc_docker_find(d, filename) != NULL || entry_find(d, filename) != NULL) {
        return;
    }
    lc_docker_preopen_age_out(d);
    if (d->n_preopen >= PREOPEN_MAX) {
        return;
    }
    e = lc_xcalloc(1, sizeof(*e));
    e->d = d;
    e->fd = -1;
    e->born_ms = uv_now(d->loop);
    snprintf(e->id, sizeof(e->id), "%s", filename);
    uv_fs_event_init(d->loop, &e->ev);
    e->ev.data = e;
    e->next = d->preopen;
    d->preopen = e;
    d->n_preopen++;
    snprintf(dir, sizeof(dir), "%s/containers/%s", d->dc->root, filename);
    if (uv_fs_event_start(&e->ev, on_dir_event, dir, 0) != 0) {
        entry_free(d, e); /* removed already, or not a directory */
        return;
    }
    try_open(e); /* the file may have been created before the watch was */
}

void lc_docker_preopen_start(struct lc_docker *d)
{
    char dir[4096];
    int rc;
    if (d->dc->read == LC_DOCKER_READ_API) {
        return;
    }
    snprintf(dir, sizeof(dir), "%s/containers", d->dc->root);
    rc = uv_fs_event_start(&d->root_ev, on_root_event, dir, 0);
    if (rc != 0) {
        lc_log(LC_LOG_INFO, 0,
               "[%s] cannot watch %s (%s): a container's json-file log is opened when its "
               "start event comes",
               d->tag, dir, uv_strerror(rc));
    }
}

void lc_docker_preopen_stop(struct lc_docker *d)
{
    uv_fs_event_stop(&d->root_ev);
    while (d->preopen != NULL) {
        entry_free(d, d->preopen);
    }
}

int lc_docker_preopen_take(struct lc_docker *d, const char *id)
{
    struct lc_docker_preopen *e = entry_find(d, id);
    int fd;
    if (e == NULL) {
        return -1;
    }
    try_open(e);
    if (e->fd < 0) {
        return -1; /* not created yet: the watch goes on, for a later take */
    }
    fd = e->fd;
    e->fd = -1; /* the caller's now */
    entry_free(d, e);
    return fd;
}

void lc_docker_preopen_drop(struct lc_docker *d, const char *id)
{
    struct lc_docker_preopen *e = entry_find(d, id);
    if (e != NULL) {
        entry_free(d, e);
    }
}
