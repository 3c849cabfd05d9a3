/* stream: one container's log capture. A container is followed with one request
 * (`follow=1&timestamps=1&since=<position>`). When that request ends for any reason, the
 * container is asked whether it runs: if it does, it is followed again from its position
 * (which also brings what the ended stream missed); if not, what the daemon holds is
 * drained with `follow=0` (a follow stream can end early and lose lines), and asked again:
 * a container that ran after the drain began is drained once more, a few times in a row
 * at most and then after a backoff, otherwise it waits for its next start. Every request
 * with `since` makes dockerd rescan the whole log file, so a running container never gets
 * a drain, and nothing is reopened on a blind timer: a stream quiet for idle_timeout is
 * checked with a cheap `tail=1` probe and reopened only when the daemon holds a newer line
 * or the probe itself misses its deadline.
 *
 * A line not yet whole when a stream ends is read again by the next request (the
 * position's hold keeps the resume point at or before it), except when that request finds
 * the container gone: then the pieces the ended stream brought are all there is, and the
 * stash keeps them for that case. The container owns its request, probe, timer, line
 * assembler, stash and position window. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "base/util.h"
#include "inputs/docker/docker_int.h"
#include "inputs/docker/frame.h"

#define PROBE_BODY_MAX (64u << 10)
/* Drains in a row of a container that keeps running during them; more wait a backoff. */
#define DRAIN_BURST 3

static void follow(struct lc_docker_container *c);
static void drain(struct lc_docker_container *c);
static void inspect(struct lc_docker_container *c, int after_drain);
static void arm_idle(struct lc_docker_container *c, uint64_t ms);

static const char *cname(const struct lc_docker_container *c)
{
    return c->meta != NULL ? c->meta->name : c->id;
}

/* ---- lines -------------------------------------------------------------------------- */

/* The oldest line not yet whole is at TS (-1: none): the position must not pass it, and
 * says so in the next append when it changed. */
static void hold_sync(struct lc_docker_container *c, int64_t ts)
{
    if (lc_docker_pos_set_hold(&c->win, ts)) {
        lc_docker_mark_dirty(c->d, c);
    }
}

static void assembler_end(struct lc_docker_container *c, struct lc_docker_lines *l,
                          int emit_partial)
{
    uint64_t before = lc_docker_lines_decode_errors(l);
    lc_docker_lines_finish(l, emit_partial);
    c->stats.decode_errors += lc_docker_lines_decode_errors(l) - before;
    lc_docker_lines_destroy(l);
}

/* The response ended. With EMIT_PARTIAL, pending pieces are whole lines now (the
 * container stopped, or is gone); without, they are dropped, to be read again (the hold
 * stays). */
static void lines_end(struct lc_docker_container *c, int emit_partial)
{
    if (c->lines != NULL) {
        assembler_end(c, c->lines, emit_partial);
        c->lines = NULL;
    }
    if (emit_partial) {
        hold_sync(c, -1);
    }
    c->replaying = 0;
}

/* The follow stream ended with pieces of a line pending: kept until a request tells
 * whether the daemon still holds them. A stream that brought nothing leaves the stash of
 * the one before. */
static void stash_take(struct lc_docker_container *c)
{
    if (c->lines != NULL) {
        lc_docker_lines_destroy(c->stash);
        c->stash = c->lines;
        c->lines = NULL;
    }
    c->replaying = 0;
}

/* The daemon answers with the container's log again (it reads the stashed pieces anew
 * from the position): dropped. */
static void stash_drop(struct lc_docker_container *c)
{
    if (c->stash != NULL) {
        lc_docker_lines_destroy(c->stash);
        c->stash = NULL;
    }
}

/* ---- timers ------------------------------------------------------------------------- */

/* Waiting out a backoff is the task's work too: it ticks (and beats) at least every
 * idle_timeout, which the config keeps below task_timeout, so a long backoff never looks
 * like a dead task. */
static void retry_cb(uv_timer_t *t)
{
    struct lc_docker_container *c = t->data;
    uint64_t now = uv_now(c->d->loop);
    if (lc_task_wedged(c->task)) {
        return;
    }
    lc_task_beat(c->task);
    if (now < c->retry_at_ms) {
        uint64_t left = c->retry_at_ms - now, tick = c->d->dc->idle_timeout_ms;
        uv_timer_start(&c->timer, retry_cb, left < tick ? left : tick, 0);
        return;
    }
    if (c->wait_then_drain) {
        /* The loop's timers run on its cached clock, which may lag: the drain must not
         * begin before this point of the wall clock (see drain_settled). */
        int64_t left = c->drain_not_before_ns - lc_wall_ns();
        if (left > 0) {
            uv_timer_start(&c->timer, retry_cb, (uint64_t)(left / 1000000) + 1, 0);
            return;
        }
        c->wait_then_drain = 0;
        drain(c);
    } else {
        inspect(c, 0); /* running: follow; not: drain */
    }
}

static void retry_later(struct lc_docker_container *c, int err, const char *what)
{
    struct lc_docker *d = c->d;
    c->stats.errors++;
    lc_task_beat(c->task);
    lc_task_error(c->task, err, "%s failed; retrying in %llu ms", what,
                  (unsigned long long)c->backoff_ms);
    lc_task_set_state(c->task, LC_TASK_RESTARTING);
    lc_log(LC_LOG_WARN, err, "[%s:%s] %s failed; retrying in %" PRIu64 " ms", c->d->tag, cname(c),
           what, c->backoff_ms);
    c->state = LC_DOCKER_C_WAIT;
    c->wait_then_drain = 0;
    c->retry_at_ms = uv_now(d->loop) + c->backoff_ms;
    uv_timer_start(&c->timer, retry_cb, 0, 0);
    c->backoff_ms *= 2;
    if (c->backoff_ms > d->dc->reconnect_max_ms) {
        c->backoff_ms = d->dc->reconnect_max_ms;
    }
}

/* A 404 means the container is gone only when Docker says so: a 404 from anything else
 * (a proxy, a wrong API path) must not make logcap drop a container and its position. */
static int no_such_container(const struct lc_docker_container *c, int result, long status)
{
    return result == 0 && status == 404 &&
           strstr(lc_docker_client_error_text(c->d->client), "No such container") != NULL;
}

/* The daemon answers that the container is being removed (or is dead): its logs can no
 * longer be read, and a 404 follows. */
static int being_removed(const struct lc_docker_container *c, int result, long status)
{
    return result == 0 && status == 409 &&
           strstr(lc_docker_client_error_text(c->d->client), "marked for removal") != NULL;
}

/* The container is gone: what the last stream brought of a line without its end is all
 * there will ever be of it, and is kept. */
static void gone(struct lc_docker_container *c)
{
    if (c->stash != NULL) {
        c->replaying = 0;
        assembler_end(c, c->stash, 1);
        c->stash = NULL;
    }
    lines_end(c, 1);
    lc_log(LC_LOG_INFO, 0, "[%s:%s] container removed; capture finished", c->d->tag, cname(c));
    lc_docker_remove(c->d, c);
}

/* Closes the follow stream and opens it again from the position (a "rotation"). */
static void reopen(struct lc_docker_container *c, const char *why)
{
    lc_log(LC_LOG_DEBUG, 0, "[%s:%s] reopening stream: %s", c->d->tag, cname(c), why);
    c->stats.rotations++;
    lc_task_error(c->task, 0, "stream reopened: %s", why);
    lc_docker_stream_cancel(c);
    lines_end(c, 0);
    follow(c);
}

/* ---- probe -------------------------------------------------------------------------- */

static int probe_data(void *ud, const char *data, size_t len)
{
    struct lc_docker_container *c = ud;
    return lc_buf_add(&c->probe_body, data, len) == 0 ? 0 : -E2BIG;
}

/* Timestamp of the message in a tail=1 body (framed or raw); -1 when there is none. */
static int64_t probe_ts(const struct lc_buf *b)
{
    const char *p = b->data;
    size_t n = b->len;
    int64_t ts;
    if (n == 0) {
        return -1;
    }
    if ((unsigned char)p[0] <= LC_DOCKER_FRAME_SYSTEMERR) {
        if (n < 8) {
            return -1;
        }
        p += 8;
        n -= 8;
    }
    return lc_time_parse_rfc3339(p, n, &ts) > 0 ? ts : -1;
}

/* The newest line this capture stands on. Before any line was taken, a capture that
 * began with `tail` stands on the moment of that request: older lines were skipped on
 * purpose and must not look "newer" to the idle probe. */
static int64_t newest_taken(const struct lc_docker_container *c)
{
    int64_t n = lc_docker_pos_last(&c->win);
    if (n < 0 && c->floor_since_ns > 0) {
        n = c->floor_since_ns + LC_DOCKER_POS_MARGIN_NS;
    }
    return n;
}

static void probe_done(void *ud, int result, long status)
{
    struct lc_docker_container *c = ud;
    int64_t ts;
    c->probe = NULL;
    lc_task_beat(c->task);
    if (result == -ETIMEDOUT) {
        lc_buf_reset(&c->probe_body);
        reopen(c, "probe timed out");
        return;
    }
    if (no_such_container(c, result, status)) {
        lc_buf_reset(&c->probe_body);
        c->destroyed = 1;
        return; /* the follow stream ends by itself and the drain sees 404 */
    }
    ts = (result == 0 && status == 200) ? probe_ts(&c->probe_body) : -1;
    lc_buf_reset(&c->probe_body);
    if (ts > newest_taken(c)) {
        reopen(c, "daemon holds newer lines");
        return;
    }
    arm_idle(c, c->d->dc->idle_timeout_ms);
}

static void start_probe(struct lc_docker_container *c)
{
    struct lc_docker *d = c->d;
    char path[200];
    snprintf(path, sizeof(path), "/containers/%s/logs?tail=1&timestamps=1&stdout=%d&stderr=%d",
             c->id, d->dc->stdout_enabled, d->dc->stderr_enabled);
    lc_buf_reset(&c->probe_body);
    c->probe = lc_docker_req_start(d->client, path, 0, d->dc->request_timeout_ms, probe_data,
                                   probe_done, c);
    if (c->probe == NULL) {
        arm_idle(c, d->dc->idle_timeout_ms);
    }
}

static void idle_cb(uv_timer_t *t)
{
    struct lc_docker_container *c = t->data;
    struct lc_docker *d = c->d;
    uint64_t quiet = uv_now(d->loop) - c->last_data_ms;

    if (lc_task_wedged(c->task)) {
        return; /* test hook: stuck until the supervisor restarts it */
    }
    lc_task_beat(c->task);
    if (quiet < d->dc->idle_timeout_ms) {
        arm_idle(c, d->dc->idle_timeout_ms - quiet);
    } else if (c->paused) {
        arm_idle(c, d->dc->idle_timeout_ms);
    } else if (c->state == LC_DOCKER_C_FOLLOW && c->probe == NULL) {
        start_probe(c);
    } else if (c->state == LC_DOCKER_C_DRAIN) {
        /* A drain that stalls is cut and tried again from the position. */
        lc_docker_stream_cancel(c);
        lines_end(c, 0);
        retry_later(c, -ETIMEDOUT, "reading logs");
    }
}

static void arm_idle(struct lc_docker_container *c, uint64_t ms)
{
    uv_timer_start(&c->timer, idle_cb, ms ? ms : 1, 0);
}

static int on_line(void *ud, const struct lc_docker_line *l)
{
    lc_docker_take_unseen(ud, l);
    return 0;
}

/* TTY bodies are raw text starting with a timestamp digit; multiplexed ones start with a
 * stream byte of 0-3. With timestamps=1 the first byte tells them apart, which saves an
 * inspect request per container. */
static int on_data(void *ud, const char *data, size_t len)
{
    struct lc_docker_container *c = ud;
    int rc;
    c->last_data_ms = uv_now(c->d->loop);
    c->backoff_ms = c->d->dc->reconnect_min_ms; /* the daemon answers again */
    lc_task_progress(c->task);
    stash_drop(c);
    if (c->lines == NULL) {
        int tty = (unsigned char)data[0] > LC_DOCKER_FRAME_SYSTEMERR;
        c->lines = lc_docker_lines_create(tty, c->d->dc->max_line_bytes, on_line, c);
    }
    rc = lc_docker_lines_feed(c->lines, data, len);
    hold_sync(c, lc_docker_lines_pending_ts(c->lines));
    if (rc != 0) {
        lc_log(LC_LOG_WARN, rc, "[%s:%s] undecodable log stream; reopening", c->d->tag, cname(c));
        c->stats.decode_errors++;
    }
    return rc;
}

/* ---- requests ----------------------------------------------------------------------- */

/* The container's State.FinishedAt, or -1 when it never ran ("0001-01-01T00:00:00Z"). */
static int64_t finished_ns(json_t *body)
{
    const char *fin =
        json_string_value(json_object_get(json_object_get(body, "State"), "FinishedAt"));
    int64_t ns;
    if (fin == NULL || lc_time_parse_rfc3339(fin, strlen(fin), &ns) <= 0 || ns <= 0) {
        return -1;
    }
    return ns;
}

/* True when the container finished after NS, give or take LC_DOCKER_POS_MARGIN_NS: dockerd's
 * copier may still be writing its last lines just after FinishedAt, and the two clock
 * readings are not ordered more finely than that. */
static int finished_after(json_t *body, int64_t ns)
{
    int64_t fin = finished_ns(body);
    return fin >= 0 && fin >= ns - LC_DOCKER_POS_MARGIN_NS;
}

/* The daemon said all it holds of a stopped container: a last line without '\n' is whole
 * now. */
static void read_to_end(struct lc_docker_container *c)
{
    lines_end(c, 1);
    c->state = LC_DOCKER_C_IDLE;
    c->drains_in_row = 0;
    lc_task_set_state(c->task, LC_TASK_STOPPED);
    uv_timer_stop(&c->timer);
    if (c->destroyed) {
        gone(c);
    }
}

/* Drains the stopped container once the drain's start can no longer be within the margin
 * of its FinishedAt (or it would count as having run during the drain, and be drained
 * again). A container that ran during its drains gets a few in a row, then backoff, so
 * one that keeps starting and stopping cannot make logcap ask dockerd to rescan its log
 * file back to back. */
static void drain_settled(struct lc_docker_container *c, json_t *body)
{
    int64_t wait_ns;
    c->drain_not_before_ns = finished_ns(body) + LC_DOCKER_POS_MARGIN_NS;
    wait_ns = c->drain_not_before_ns - lc_wall_ns();
    uint64_t ms = wait_ns > 0 ? (uint64_t)(wait_ns / 1000000) + 1 : 0;
    lines_end(c, 0);
    if (c->drains_in_row >= DRAIN_BURST) {
        ms = ms > c->backoff_ms ? ms : c->backoff_ms;
        c->backoff_ms = c->backoff_ms * 2 > c->d->dc->reconnect_max_ms ? c->d->dc->reconnect_max_ms
                                                                       : c->backoff_ms * 2;
    }
    if (ms == 0) {
        drain(c);
        return;
    }
    c->state = LC_DOCKER_C_WAIT;
    c->wait_then_drain = 1; /* a wait that beats, like a retry's */
    c->retry_at_ms = uv_now(c->d->loop) + ms;
    uv_timer_start(&c->timer, retry_cb, 0, 0);
}

static void inspect_done(void *ud, int result, long status, json_t *body)
{
    struct lc_docker_container *c = ud;
    json_t *running;
    int after_drain = c->drained;
    c->req = NULL;
    if (no_such_container(c, result, status)) {
        gone(c);
        return;
    }
    if (body == NULL) {
        c->d->api_errors.inspect++;
        lines_end(c, 0);
        retry_later(c, result ? result : -EIO, "inspect");
        return;
    }
    running = json_object_get(json_object_get(body, "State"), "Running");
    c->running = json_is_true(running);
    c->backoff_ms = c->d->dc->reconnect_min_ms;
    if (c->running) {
        /* Followed again from the position: that brings what the ended stream missed, with
         * no drain (each one a rescan of the log file by dockerd). */
        lines_end(c, 0);
        c->drains_in_row = 0;
        follow(c);
        return;
    }
    if (!after_drain || finished_after(body, c->drain_started_ns)) {
        /* Not read since it stopped, or it ran after the drain began (it may have been only
         * created then): what it wrote after that point was not in the drain. */
        drain_settled(c, body);
        return;
    }
    read_to_end(c);
}

static void inspect(struct lc_docker_container *c, int after_drain)
{
    char path[120];
    snprintf(path, sizeof(path), "/containers/%s/json", c->id);
    c->state = LC_DOCKER_C_INSPECT;
    c->drained = after_drain;
    uv_timer_stop(&c->timer);
    c->req =
        lc_docker_get_json(c->d->client, path, 0, c->d->dc->request_timeout_ms, inspect_done, c);
    if (c->req == NULL) {
        retry_later(c, -EIO, "inspect");
    }
}

static void drain_done(void *ud, int result, long status)
{
    struct lc_docker_container *c = ud;
    c->req = NULL;
    uv_timer_stop(&c->timer);
    if (no_such_container(c, result, status) || being_removed(c, result, status)) {
        gone(c);
        return;
    }
    if (result != 0 || status != 200) {
        c->d->api_errors.logs++;
        lines_end(c, 0);
        retry_later(c, result ? result : -EPROTO, "reading logs");
        return;
    }
    c->backoff_ms = c->d->dc->reconnect_min_ms;
    stash_drop(c); /* the drain read the position's lines again */
    inspect(c, 1); /* the pending partial line is resolved once we know if it runs */
}

static void follow_done(void *ud, int result, long status)
{
    struct lc_docker_container *c = ud;
    c->req = NULL;
    if (c->probe != NULL) {
        lc_docker_req_cancel(c->probe);
        c->probe = NULL;
    }
    uv_timer_stop(&c->timer);
    stash_take(c);
    if (no_such_container(c, result, status) || being_removed(c, result, status)) {
        gone(c);
        return;
    }
    if (result != 0 || status != 200) {
        c->d->api_errors.logs += result != -ECANCELED;
        c->stats.reconnects++;
        retry_later(c, result ? result : -EPROTO, "log stream");
        return;
    }
    inspect(c, 0);
}

/* Builds the query of a logs request from the position. */
static void logs_path(struct lc_docker_container *c, int follow_mode, char *path, size_t cap)
{
    const struct lc_docker_config *dc = c->d->dc;
    int n = snprintf(path, cap, "/containers/%s/logs?follow=%d&stdout=%d&stderr=%d&timestamps=1",
                     c->id, follow_mode, dc->stdout_enabled, dc->stderr_enabled);
    if (c->tail >= 0 && !lc_docker_pos_has_position(&c->win)) {
        /* Only the first request takes the tail; if it brought nothing, later ones start
         * from the time it was made. */
        snprintf(path + n, cap - (size_t)n, "&tail=%ld", c->tail);
        c->tail = -1;
        c->tail_floor_pending = 1;
        c->floor_since_ns = lc_wall_ns() - LC_DOCKER_POS_MARGIN_NS;
        return;
    }
    if (lc_docker_pos_has_position(&c->win)) {
        char since[40];
        int64_t wall = lc_wall_ns(), boot = lc_docker_boot_ns();
        lc_docker_pos_begin_replay(&c->win, wall, boot);
        if (lc_docker_pos_replay_by_order(&c->win)) {
            lc_log(LC_LOG_INFO, 0,
                   "[%s:%s] the clock stepped back since lines were taken: resuming "
                   "earlier and telling old lines from new ones by their order",
                   c->d->tag, cname(c));
        }
        lc_time_format_since(lc_docker_pos_since(&c->win, wall, boot), since, sizeof(since));
        snprintf(path + n, cap - (size_t)n, "&since=%s", since);
        c->replaying = 1;
    } else if (c->floor_since_ns > 0) {
        char since[40];
        lc_time_format_since(c->floor_since_ns, since, sizeof(since));
        snprintf(path + n, cap - (size_t)n, "&since=%s", since);
    }
}

static void open_logs(struct lc_docker_container *c, int follow_mode)
{
    struct lc_docker *d = c->d;
    char path[256];
    if (!follow_mode) {
        c->stats.drains++;
        c->drains_in_row++;
    }
    logs_path(c, follow_mode, path, sizeof(path));
    c->drain_started_ns = lc_wall_ns();
    c->state = follow_mode ? LC_DOCKER_C_FOLLOW : LC_DOCKER_C_DRAIN;
    c->last_data_ms = uv_now(d->loop);
    c->req = lc_docker_req_start(d->client, path, 0, 0, on_data,
                                 follow_mode ? follow_done : drain_done, c);
    if (c->req == NULL) {
        retry_later(c, -EIO, "log request");
        return;
    }
    if (c->paused) {
        lc_docker_req_pause(c->req, 1);
    }
    lc_task_set_state(c->task, LC_TASK_RUNNING);
    arm_idle(c, d->dc->idle_timeout_ms);
}

static void follow(struct lc_docker_container *c)
{
    open_logs(c, 1);
}

static void drain(struct lc_docker_container *c)
{
    open_logs(c, 0);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

void lc_docker_stream_init(struct lc_docker_container *c)
{
    uv_timer_init(c->d->loop, &c->timer);
    c->timer.data = c;
    c->tail = -1;
    c->backoff_ms = c->d->dc->reconnect_min_ms;
    lc_buf_init(&c->probe_body, PROBE_BODY_MAX);
    lc_docker_pos_init(&c->win, LC_DOCKER_POS_MARGIN_NS);
}

void lc_docker_stream_begin(struct lc_docker_container *c)
{
    if (c->ignored || c->state != LC_DOCKER_C_IDLE) {
        return;
    }
    if (lc_docker_files_begin(c)) {
        if (!c->running) {
            lc_docker_files_on_die(c); /* stopped: what it wrote, then closed */
        }
        return;
    }
    if (c->running) {
        follow(c);
    } else {
        drain(c);
    }
}

void lc_docker_stream_on_start(struct lc_docker_container *c)
{
    c->running = 1;
    if (c->state == LC_DOCKER_C_WAIT) {
        uv_timer_stop(&c->timer);
        c->wait_then_drain = 0;
        c->state = LC_DOCKER_C_IDLE;
    }
    lc_docker_stream_begin(c);
}

/* The daemon is back: ask again at once whether it runs (follow) or not (drain). */
void lc_docker_stream_kick(struct lc_docker_container *c)
{
    if (c->state == LC_DOCKER_C_WAIT) {
        uv_timer_stop(&c->timer);
        c->wait_then_drain = 0;
        c->backoff_ms = c->d->dc->reconnect_min_ms;
        inspect(c, 0);
    }
}

void lc_docker_stream_gone(struct lc_docker_container *c)
{
    if (c->read_files) {
        lc_docker_files_gone(c);
        return;
    }
    gone(c);
}

void lc_docker_stream_pause(struct lc_docker_container *c, int pause)
{
    c->paused = pause;
    lc_docker_files_pause(c, pause);
    if (c->req != NULL && (c->state == LC_DOCKER_C_FOLLOW || c->state == LC_DOCKER_C_DRAIN)) {
        lc_docker_req_pause(c->req, pause);
    }
}

void lc_docker_stream_cancel(struct lc_docker_container *c)
{
    lc_docker_req_cancel(c->req);
    c->req = NULL;
    lc_docker_req_cancel(c->probe);
    c->probe = NULL;
    uv_timer_stop(&c->timer);
}

void lc_docker_stream_reset(struct lc_docker_container *c)
{
    lc_docker_files_close(c);
    lc_docker_stream_cancel(c);
    lines_end(c, 0);
    stash_drop(c);
    c->state = LC_DOCKER_C_IDLE;
    c->drains_in_row = 0;
}

void lc_docker_stream_restart(void *ud)
{
    struct lc_docker_container *c = ud;
    lc_docker_files_close(c); /* reopened from its position by begin */
    lc_docker_stream_cancel(c);
    lines_end(c, 0);
    c->paused = c->d->paused;
    c->state = LC_DOCKER_C_IDLE;
    c->backoff_ms = c->d->dc->reconnect_min_ms;
    c->running = 1; /* not known: follow, which ends at once if it stopped, then drains */
    lc_docker_stream_begin(c);
}

void lc_docker_stream_wedge(struct lc_docker_container *c)
{
    lc_supervisor_wedge(c->d->sup, lc_task_id(c->task));
    if (c->req != NULL) {
        lc_docker_req_pause(c->req, 1);
    }
    uv_timer_stop(&c->timer);
}

void lc_docker_stream_close(struct lc_docker_container *c, uv_close_cb freed)
{
    lc_docker_files_close(c);
    lc_docker_stream_cancel(c);
    lines_end(c, 0);
    stash_drop(c);
    lc_buf_close(&c->probe_body);
    uv_close((uv_handle_t *)&c->timer, freed);
}
