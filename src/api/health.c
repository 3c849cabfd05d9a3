/* health: the health verdict (a pure function of the snapshot, the live facts and the
 * clock) and the JSON bodies of /health, /tasks, /stats and /version, built with jansson.
 * Owns nothing: every body is a fresh heap string handed to the caller. */
#include "api/health.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"
#include "base/util.h"

#ifndef LOGCAP_VERSION
#define LOGCAP_VERSION "unknown"
#endif

#define NS_PER_MS 1000000LL

const char *lc_health_status_name(enum lc_health_status st)
{
    switch (st) {
    case LC_HEALTH_HEALTHY:
        return "healthy";
    case LC_HEALTH_DEGRADED:
        return "degraded";
    default:
        return "unhealthy";
    }
}

const char *lc_health_version(const struct lc_snapshot *snap)
{
    if (snap != NULL && snap->version != NULL) {
        return snap->version;
    }
    return LOGCAP_VERSION;
}

static int64_t task_timeout_ns(const struct lc_health_input *in)
{
    uint64_t ms = in->task_timeout_ms;
    if (ms == 0 && in->snap != NULL) {
        ms = in->snap->task_timeout_ms;
    }
    if (ms == 0) {
        ms = LC_HEALTH_DEFAULT_TASK_TIMEOUT_MS;
    }
    return (int64_t)ms * NS_PER_MS;
}

static int64_t loop_stall_ns(const struct lc_health_input *in)
{
    uint64_t ms = in->loop_stall_timeout_ms;
    if (ms == 0) {
        ms = LC_HEALTH_DEFAULT_LOOP_STALL_MS;
    }
    return (int64_t)ms * NS_PER_MS;
}

int lc_health_loop_stalled(const struct lc_health_input *in)
{
    if (in->loop_stalled) {
        return 1;
    }
    return in->loop_last_turn_mono_ns > 0 &&
           in->now_mono_ns - in->loop_last_turn_mono_ns > loop_stall_ns(in);
}

/* 1 when the supervisor shows the spool writer's task stalled: silent past task_timeout
 * (a write hung in the kernel); it cannot be restarted. */
static int spool_writer_stalled(const struct lc_snapshot *s)
{
    for (size_t i = 0; i < s->n_tasks; i++) {
        if (strncmp(s->tasks[i].type, "spool", sizeof(s->tasks[i].type)) == 0 &&
            s->tasks[i].state == LC_TASK_STALLED) {
            return 1;
        }
    }
    return 0;
}

/* Returns why the spool writer makes logcap unhealthy, or NULL. A writer that cannot write
 * (or is hung) captures nothing more: its queue fills and the inputs pause, and a restart
 * of logcap would not help either, so this is as bad as a stuck loop. The sentence of a
 * failing writer, with its errno, lives in the snapshot. */
static const char *spool_writer_why(const struct lc_snapshot *s)
{
    if (!s->spool.enabled) {
        return NULL;
    }
    if (s->spool.writer_failing) {
        return s->spool.writer_error[0] != '\0' ? s->spool.writer_error
                                                : "spool writer: cannot write to the spool";
    }
    if (spool_writer_stalled(s)) {
        return "the spool writer is stalled (no heartbeat for longer than task_timeout): "
               "nothing new reaches the spool";
    }
    return NULL;
}

/* Returns why logcap is unhealthy, or NULL. */
static const char *unhealthy_why(const struct lc_health_input *in)
{
    const struct lc_snapshot *s = in->snap;
    if (in->loop_stalled) {
        return "the event loop is stalled";
    }
    if (in->loop_last_turn_mono_ns > 0 &&
        in->now_mono_ns - in->loop_last_turn_mono_ns > loop_stall_ns(in)) {
        return "the event loop has not turned for longer than loop_stall_timeout";
    }
    if (s == NULL) {
        if (in->now_mono_ns - in->api_started_mono_ns > LC_HEALTH_FIRST_SNAPSHOT_NS) {
            return "no state snapshot was published since start";
        }
        return NULL;
    }
    /* Which input is in /health's "inputs" list (a Docker input is the only kind whose
     * source can be unreachable today). */
    for (size_t i = 0; i < s->n_inputs; i++) {
        const struct lc_input_snap *is = &s->inputs[i];
        if (is->unreachable_mono_ns > 0 &&
            in->now_mono_ns - is->unreachable_mono_ns > task_timeout_ns(in)) {
            return "the Docker daemon has been unreachable for longer than task_timeout";
        }
    }
    return spool_writer_why(s);
}

/* Returns why logcap is degraded, or NULL. */
static const char *degraded_why(const struct lc_health_input *in)
{
    const struct lc_snapshot *s = in->snap;
    if (s == NULL) {
        return "waiting for the first state snapshot";
    }
    /* Before the task rules: a full spool means capture has stopped and new lines wait at
     * their source (dockerd's log files), whose rotation may drop them; that is what an
     * operator must see first. The cause (usually an output task restarting or failed)
     * stays visible in the tasks the same /health body lists. After the task rules the
     * reason would say only "a task is ...", hiding that capture is paused. */
    if (s->spool.enabled && s->spool.full) {
        return "the spool is full: inputs are paused until the outputs catch up";
    }
    /* Paused without being full: the writer's queue is full (a failing writer was judged
     * unhealthy already). Capture has stopped all the same, so it is said, not hidden. */
    if (s->spool.enabled && s->spool.paused) {
        return "the inputs are paused: the spool writer is behind";
    }
    /* An output that fails says why in its own words (its destination's status and answer),
     * a configuration fault first: it will not pass by itself. */
    for (int fault = 1; fault >= 0; fault--) {
        for (size_t i = 0; i < s->n_outputs; i++) {
            const struct lc_output_snap *out = &s->outputs[i];
            if (out->failing && out->config_fault == fault && out->error[0] != '\0') {
                return out->error;
            }
        }
    }
    for (size_t i = 0; i < s->n_tasks; i++) {
        enum lc_task_state st = s->tasks[i].state;
        if (st == LC_TASK_STALLED || st == LC_TASK_RESTARTING || st == LC_TASK_FAILED) {
            return "a task is stalled, restarting or failed";
        }
    }
    if (s->last_restart_mono_ns > 0 &&
        in->now_mono_ns - s->last_restart_mono_ns < LC_HEALTH_RECENT_RESTART_NS) {
        return "a task restarted in the last five minutes";
    }
    return NULL;
}

enum lc_health_status lc_health_decide(const struct lc_health_input *in, const char **reason)
{
    enum lc_health_status st = LC_HEALTH_HEALTHY;
    const char *why = unhealthy_why(in);
    if (why != NULL) {
        st = LC_HEALTH_UNHEALTHY;
    } else {
        why = degraded_why(in);
        if (why != NULL) {
            st = LC_HEALTH_DEGRADED;
        }
    }
    if (reason != NULL) {
        *reason = why;
    }
    return st;
}

/* ---- JSON helpers ------------------------------------------------------------------- */

/* A JSON string from at most MAX bytes of S. jansson refuses invalid UTF-8; names and
 * errors come from outside, so bytes it refuses are replaced by '?' rather than lost. */
static json_t *jstr(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    json_t *j = json_stringn(s, n);
    if (j == NULL) {
        char *copy = lc_xstrndup(s, n);
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)copy[i] >= 0x80 || copy[i] == '\0') {
                copy[i] = '?';
            }
        }
        j = json_stringn(copy, n);
        free(copy);
    }
    return j != NULL ? j : json_string("");
}

/* Seconds, rounded to the millisecond (the precision JSON_REAL_PRECISION then shows). */
static json_t *jsecs_ns(int64_t ns)
{
    return json_real((double)(ns / NS_PER_MS) / 1000.0);
}

/* A double from the snapshot; null when it is not a sane number of seconds. */
static json_t *jsecs(double s)
{
    if (!isfinite(s) || s > 1e12 || s < -1e12) {
        return json_null();
    }
    return jsecs_ns((int64_t)(s * 1e9));
}

static json_t *jage(int64_t now_ns, int64_t then_ns)
{
    return jsecs_ns(now_ns > then_ns ? now_ns - then_ns : 0);
}

/* RFC 3339 UTC with millisecond precision, or null when NS is 0 (never). */
static json_t *jtime_ms(int64_t ns)
{
    char buf[40];
    if (ns <= 0 || lc_time_format_rfc3339(ns, buf, sizeof(buf)) < 0) {
        return json_null();
    }
    buf[23] = 'Z'; /* "2026-11-22T12:24:43.463Z" */
    buf[24] = '\0';
    return json_string(buf);
}

/* RFC 3339 UTC with nanoseconds (a resume position), or null when NS is negative. */
static json_t *jtime_ns(int64_t ns)
{
    char buf[40];
    if (ns < 0 || lc_time_format_rfc3339(ns, buf, sizeof(buf)) < 0) {
        return json_null();
    }
    return json_string(buf);
}

static json_t *jcount(uint64_t v)
{
    return json_integer((json_int_t)v);
}

char *lc_health_body(json_t *root)
{
    char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15));
    size_t n;
    char *out;
    json_decref(root);
    if (text == NULL) {
        return lc_xstrdup("{}\n");
    }
    n = strlen(text);
    out = lc_xmalloc(n + 2);
    memcpy(out, text, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    free(text);
    return out;
}

/* ---- bodies ------------------------------------------------------------------------- */

static json_t *task_json(const struct lc_task_snap *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", jstr(t->id, sizeof(t->id)));
    json_object_set_new(o, "type", jstr(t->type, sizeof(t->type)));
    json_object_set_new(o, "state", json_string(lc_task_state_name(t->state)));
    json_object_set_new(o, "started_at", jtime_ms(t->started_at_ns));
    json_object_set_new(o, "last_heartbeat", jtime_ms(t->last_heartbeat_ns));
    json_object_set_new(o, "last_progress", jtime_ms(t->last_progress_ns));
    json_object_set_new(o, "restarts", jcount(t->restarts));
    json_object_set_new(o, "last_error",
                        t->last_error[0] != '\0' ? jstr(t->last_error, sizeof(t->last_error))
                                                 : json_null());
    if (strncmp(t->type, "container", sizeof(t->type)) == 0) {
        json_object_set_new(o, "container_name",
                            jstr(t->container_name, sizeof(t->container_name)));
    }
    json_object_set_new(o, "owner",
                        t->owner[0] != '\0' ? jstr(t->owner, sizeof(t->owner)) : json_null());
    return o;
}

static json_t *tasks_json(const struct lc_snapshot *snap)
{
    json_t *a = json_array();
    for (size_t i = 0; snap != NULL && i < snap->n_tasks; i++) {
        json_array_append_new(a, task_json(&snap->tasks[i]));
    }
    return a;
}

/* IS's connection into O. "unreachable_s" is measured on the monotonic clock,
 * "unreachable_since" is the wall-clock time the input lost its source (null while
 * connected). */
static void connection_json(json_t *o, const struct lc_input_snap *is, int64_t now_mono_ns)
{
    int64_t since = is != NULL ? is->unreachable_mono_ns : 0;
    int connected = is != NULL && is->connected;
    json_object_set_new(o, "connected", json_boolean(connected));
    json_object_set_new(o, "unreachable_s", since > 0 ? jage(now_mono_ns, since) : json_real(0));
    json_object_set_new(o, "unreachable_since",
                        connected || is == NULL ? json_null() : jtime_ms(is->unreachable_since_ns));
}

/* /health's "docker": the Docker input named "docker" (or else the first Docker input),
 * as earlier versions showed it; "enabled" false when there is none. The full list is
 * "inputs". */
static json_t *docker_json(const struct lc_snapshot *s, int64_t now_mono_ns)
{
    const struct lc_input_snap *is = NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < s->n_inputs; i++) {
        const struct lc_input_snap *c = &s->inputs[i];
        if (strncmp(c->type, "docker", sizeof(c->type)) == 0 &&
            (is == NULL || strncmp(c->name, "docker", sizeof(c->name)) == 0)) {
            is = c;
        }
    }
    json_object_set_new(o, "enabled", json_boolean(is != NULL));
    connection_json(o, is, now_mono_ns);
    return o;
}

/* One input instance: name, type, connection, and with STATS its figures. */
static json_t *input_json(const struct lc_input_snap *is, int64_t now_mono_ns, int stats)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", jstr(is->name, sizeof(is->name)));
    json_object_set_new(o, "type", jstr(is->type, sizeof(is->type)));
    connection_json(o, is, now_mono_ns);
    if (stats) {
        const struct lc_api_errors *e = &is->api_errors;
        json_object_set_new(o, "sources", jcount(is->sources));
        if (strncmp(is->type, "file", sizeof(is->type)) == 0) {
            json_object_set_new(
                o, "files",
                json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "lines", jcount(is->files.lines),
                          "bytes", jcount(is->files.bytes), "truncated",
                          jcount(is->files.truncated), "rotations", jcount(is->files.rotations),
                          "truncations", jcount(is->files.truncations), "lost",
                          jcount(is->files.lost), "errors", jcount(is->files.errors)));
        }
        if (strncmp(is->type, "docker", sizeof(is->type)) == 0) {
            json_object_set_new(o, "api_errors",
                                json_pack("{s:o,s:o,s:o,s:o,s:o}", "version", jcount(e->version),
                                          "list", jcount(e->list), "events", jcount(e->events),
                                          "logs", jcount(e->logs), "inspect", jcount(e->inspect)));
        }
    }
    return o;
}

static json_t *inputs_json(const struct lc_snapshot *s, int64_t now_mono_ns, int stats)
{
    json_t *a = json_array();
    for (size_t i = 0; s != NULL && i < s->n_inputs; i++) {
        json_array_append_new(a, input_json(&s->inputs[i], now_mono_ns, stats));
    }
    return a;
}

/* The writer's failure state into O; with COUNT its error counter too. */
static void writer_json(json_t *o, const struct lc_spool_snap *sp, int count)
{
    json_object_set_new(o, "writer_failing", json_boolean(sp->writer_failing));
    if (count) {
        json_object_set_new(o, "writer_errors", jcount(sp->writer_errors));
    }
    json_object_set_new(o, "writer_error",
                        sp->writer_error[0] != '\0'
                            ? jstr(sp->writer_error, sizeof(sp->writer_error))
                            : json_null());
}

/* The spool's fill and pause state, or null without a spool. */
static json_t *spool_health_json(const struct lc_snapshot *s)
{
    json_t *o;
    if (s == NULL || !s->spool.enabled) {
        return json_null();
    }
    o = json_object();
    json_object_set_new(o, "bytes", jcount(s->spool.bytes));
    json_object_set_new(o, "max_bytes", jcount(s->spool.max_bytes));
    json_object_set_new(o, "records", jcount(s->spool.records));
    json_object_set_new(o, "full", json_boolean(s->spool.full));
    json_object_set_new(o, "paused", json_boolean(s->spool.paused));
    writer_json(o, &s->spool, 0);
    return o;
}

static json_t *loop_json(const struct lc_health_input *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "stalled", json_boolean(lc_health_loop_stalled(in)));
    json_object_set_new(o, "last_turn_age_s",
                        in->loop_last_turn_mono_ns > 0
                            ? jage(in->now_mono_ns, in->loop_last_turn_mono_ns)
                            : json_null());
    return o;
}

/* One output's state into O: failing (and why), a configuration fault, the last status. */
static void output_state_json(json_t *o, const struct lc_output_snap *out)
{
    json_object_set_new(o, "failing", json_boolean(out->failing));
    json_object_set_new(o, "config_fault", json_boolean(out->config_fault));
    json_object_set_new(o, "last_status",
                        out->last_status != 0 ? json_integer(out->last_status) : json_null());
    json_object_set_new(o, "error",
                        out->error[0] != '\0' ? jstr(out->error, sizeof(out->error)) : json_null());
}

/* /health's "outputs": each output's name, type and state. */
static json_t *outputs_health_json(const struct lc_snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; s != NULL && i < s->n_outputs; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(s->outputs[i].name, sizeof(s->outputs[i].name)));
        json_object_set_new(o, "type", jstr(s->outputs[i].type, sizeof(s->outputs[i].type)));
        output_state_json(o, &s->outputs[i]);
        json_array_append_new(a, o);
    }
    return a;
}

char *lc_health_render(const struct lc_health_input *in, int brief, int *out_http)
{
    const struct lc_snapshot *s = in->snap;
    const char *reason = NULL;
    enum lc_health_status st = lc_health_decide(in, &reason);
    json_t *o = json_object();

    *out_http = st == LC_HEALTH_UNHEALTHY ? 503 : 200;
    json_object_set_new(o, "status", json_string(lc_health_status_name(st)));
    if (brief) {
        return lc_health_body(o);
    }
    json_object_set_new(o, "reason", reason != NULL ? json_string(reason) : json_null());
    json_object_set_new(o, "version", json_string(lc_health_version(s)));
    json_object_set_new(
        o, "uptime_s",
        jage(in->now_mono_ns, s != NULL ? s->started_mono_ns : in->api_started_mono_ns));
    json_object_set_new(o, "docker", s != NULL ? docker_json(s, in->now_mono_ns) : json_null());
    json_object_set_new(o, "inputs", inputs_json(s, in->now_mono_ns, 0));
    json_object_set_new(o, "loop", loop_json(in));
    json_object_set_new(o, "spool", spool_health_json(s));
    json_object_set_new(o, "outputs", outputs_health_json(s));
    json_object_set_new(o, "tasks", tasks_json(s));
    json_object_set_new(o, "snapshot_age_s",
                        s != NULL ? jage(in->now_mono_ns, s->taken_mono_ns) : json_null());
    return lc_health_body(o);
}

char *lc_health_render_tasks(const struct lc_snapshot *snap)
{
    json_t *o = json_object();
    json_object_set_new(o, "tasks", tasks_json(snap));
    return lc_health_body(o);
}

/* {"stdout":V[1],"stderr":V[2]} */
static json_t *by_stream(const uint64_t v[3])
{
    json_t *o = json_object();
    json_object_set_new(o, "stdout", jcount(v[1]));
    json_object_set_new(o, "stderr", jcount(v[2]));
    return o;
}

static json_t *container_json(const struct lc_container_snap *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "input", jstr(c->input, sizeof(c->input)));
    json_object_set_new(o, "id", jstr(c->id, sizeof(c->id)));
    json_object_set_new(o, "name", jstr(c->name, sizeof(c->name)));
    json_object_set_new(o, "image", jstr(c->image, sizeof(c->image)));
    json_object_set_new(o, "lines", by_stream(c->lines));
    json_object_set_new(o, "bytes", by_stream(c->bytes));
    json_object_set_new(o, "reconnects", jcount(c->reconnects));
    json_object_set_new(o, "rotations", jcount(c->rotations));
    json_object_set_new(o, "drains", jcount(c->drains));
    json_object_set_new(o, "truncated", jcount(c->truncated));
    json_object_set_new(o, "decode_errors", jcount(c->decode_errors));
    json_object_set_new(o, "errors", jcount(c->errors));
    json_object_set_new(o, "position", jtime_ns(c->position_ns));
    json_object_set_new(o, "lag_s", jsecs(c->lag_s));
    json_object_set_new(o, "read", jstr(c->read[0] ? c->read : "api", sizeof(c->read)));
    json_object_set_new(o, "file_rotations", jcount(c->file_rotations));
    json_object_set_new(o, "lost_files", jcount(c->lost_files));
    return o;
}

/* {"2xx":N,...,"error":N,"count":N,"seconds_sum":S} */
static json_t *requests_json(const struct lc_request_stats *r)
{
    json_t *o = json_object();
    for (int c = 0; c < LC_REQ_CLASSES; c++) {
        json_object_set_new(o, lc_req_class_name((enum lc_req_class)c), jcount(r->by_class[c]));
    }
    json_object_set_new(o, "count", jcount(r->count));
    json_object_set_new(o, "seconds_sum", jsecs(r->seconds_sum));
    return o;
}

/* A Kafka output's brokers: {"threads","queue_messages","queue_bytes","up","known",
 * "list":[{"name","up","rtt_avg_s","rtt_p99_s","tx_errors","rx_errors","timeouts",
 * "tx_retries"}]}; null for an output without brokers. */
static json_t *brokers_json(const struct lc_brokers_snap *b)
{
    json_t *o, *list;
    if (!b->valid) {
        return json_null();
    }
    o = json_object();
    list = json_array();
    json_object_set_new(o, "threads", jcount(b->threads));
    json_object_set_new(o, "queue_messages", jcount(b->queue_messages));
    json_object_set_new(o, "queue_bytes", jcount(b->queue_bytes));
    json_object_set_new(o, "up", jcount(b->up));
    json_object_set_new(o, "known", jcount(b->known));
    for (size_t i = 0; i < b->n && i < LC_BROKERS_MAX; i++) {
        const struct lc_broker_snap *k = &b->broker[i];
        json_t *e = json_object();
        json_object_set_new(e, "name", jstr(k->name, sizeof(k->name)));
        json_object_set_new(e, "up", json_boolean(k->up));
        json_object_set_new(e, "rtt_avg_s", jsecs(k->rtt_avg_s));
        json_object_set_new(e, "rtt_p99_s", jsecs(k->rtt_p99_s));
        json_object_set_new(e, "tx_errors", jcount(k->tx_errors));
        json_object_set_new(e, "rx_errors", jcount(k->rx_errors));
        json_object_set_new(e, "timeouts", jcount(k->timeouts));
        json_object_set_new(e, "tx_retries", jcount(k->tx_retries));
        json_array_append_new(list, e);
    }
    json_object_set_new(o, "list", list);
    return o;
}

/* SPOOL: the snapshot has a spool; without one there is no backlog to show (null). */
static json_t *output_json(const struct lc_output_snap *out, int spool)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", jstr(out->name, sizeof(out->name)));
    json_object_set_new(o, "type", jstr(out->type, sizeof(out->type)));
    json_object_set_new(o, "records", jcount(out->records));
    json_object_set_new(o, "bytes", jcount(out->bytes));
    json_object_set_new(o, "retries", jcount(out->retries));
    json_object_set_new(o, "rejected", jcount(out->rejected));
    json_object_set_new(o, "dead_lettered", jcount(out->dead_lettered));
    json_object_set_new(o, "dead_letter_records", jcount(out->dead_letter_records));
    json_object_set_new(o, "backlog_records", spool ? jcount(out->backlog_records) : json_null());
    json_object_set_new(o, "backlog_bytes", spool ? jcount(out->backlog_bytes) : json_null());
    json_object_set_new(o, "oldest_unacked_age_s", spool ? jsecs(out->oldest_age_s) : json_null());
    json_object_set_new(o, "lag_s", jsecs(out->lag_s));
    json_object_set_new(o, "flush_failures", jcount(out->flush_failures));
    json_object_set_new(o, "reader_meta_slots",
                        spool ? jcount(out->reader_meta_slots) : json_null());
    json_object_set_new(o, "requests", requests_json(&out->requests));
    json_object_set_new(o, "brokers", brokers_json(&out->brokers));
    output_state_json(o, out);
    return o;
}

/* Every figure of the spool, or null without a spool. */
static json_t *spool_stats_json(const struct lc_snapshot *s)
{
    const struct lc_spool_snap *sp;
    json_t *o, *sync;
    if (s == NULL || !s->spool.enabled) {
        return json_null();
    }
    sp = &s->spool;
    o = json_object();
    sync = json_object();
    json_object_set_new(o, "enabled", json_true());
    json_object_set_new(o, "bytes", jcount(sp->bytes));
    json_object_set_new(o, "max_bytes", jcount(sp->max_bytes));
    json_object_set_new(o, "records", jcount(sp->records));
    json_object_set_new(o, "segments", jcount(sp->segments));
    json_object_set_new(o, "full", json_boolean(sp->full));
    json_object_set_new(o, "paused", json_boolean(sp->paused));
    json_object_set_new(o, "paused_s", jsecs(sp->paused_seconds));
    json_object_set_new(o, "corrupt_records", jcount(sp->corrupt_records));
    json_object_set_new(o, "torn_bytes", jcount(sp->torn_bytes));
    json_object_set_new(o, "appended_records", jcount(sp->appended_records));
    json_object_set_new(o, "appended_bytes", jcount(sp->appended_bytes));
    json_object_set_new(o, "metadata", jcount(sp->metadata));
    json_object_set_new(o, "checkpoint_bytes", jcount(sp->checkpoint_bytes));
    writer_json(o, sp, 1);
    json_object_set_new(sync, "count", jcount(sp->sync_count));
    json_object_set_new(sync, "seconds_sum", jsecs(sp->sync_seconds_sum));
    json_object_set_new(o, "sync", sync);
    return o;
}

char *lc_health_render_stats(const struct lc_snapshot *snap)
{
    json_t *o = json_object();
    json_t *containers = json_array();
    json_t *outputs = json_array();
    for (size_t i = 0; snap != NULL && i < snap->n_containers; i++) {
        json_array_append_new(containers, container_json(&snap->containers[i]));
    }
    for (size_t i = 0; snap != NULL && i < snap->n_outputs; i++) {
        json_array_append_new(outputs, output_json(&snap->outputs[i], snap->spool.enabled));
    }
    json_object_set_new(o, "inputs", inputs_json(snap, snap != NULL ? snap->taken_mono_ns : 0, 1));
    json_object_set_new(o, "containers", containers);
    json_object_set_new(o, "outputs", outputs);
    json_object_set_new(o, "spool", spool_stats_json(snap));
    return lc_health_body(o);
}

char *lc_health_render_version(const char *version)
{
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(version != NULL ? version : LOGCAP_VERSION));
    json_object_set_new(o, "api", json_integer(1));
    return lc_health_body(o);
}
