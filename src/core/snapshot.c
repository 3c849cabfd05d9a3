/* snapshot: the exchange point between the loop, which publishes a fresh immutable
 * snapshot of logcap's state every second, and the API thread, which renders from it.
 * A mutex guards only the pointer swap in the box; the snapshots themselves are shared
 * by atomic reference counts, so a slow HTTP client never holds the lock and the loop
 * never waits for a render. Owns: the box's current reference. */
#include "core/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const char *const state_names[LC_TASK_STATES] = {
    [LC_TASK_STARTING] = "starting", [LC_TASK_RUNNING] = "running",
    [LC_TASK_STALLED] = "stalled",   [LC_TASK_RESTARTING] = "restarting",
    [LC_TASK_FAILED] = "failed",     [LC_TASK_STOPPED] = "stopped",
};

const double lc_sync_bucket_le[LC_SYNC_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1,    2.5};

const double lc_req_bucket_le[LC_REQ_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                 0.5,   1,    2.5,   5,    10,  30};

static const char *const req_class_names[LC_REQ_CLASSES] = {"2xx", "3xx", "4xx", "5xx", "error"};

const char *lc_req_class_name(enum lc_req_class c)
{
    return (int)c >= 0 && c < LC_REQ_CLASSES ? req_class_names[c] : "error";
}

void lc_request_stats_add(struct lc_request_stats *s, long status, uint64_t us)
{
    double secs = (double)us / 1e6;
    enum lc_req_class c = LC_REQ_ERROR;

    if (status >= 200 && status < 600) {
        c = (enum lc_req_class)(LC_REQ_2XX + (status / 100 - 2));
    }
    s->by_class[c]++;
    for (size_t i = 0; i < LC_REQ_BUCKETS; i++) {
        s->buckets[i] += secs <= lc_req_bucket_le[i];
    }
    s->count++;
    s->seconds_sum += secs;
}

void lc_request_stats_merge(struct lc_request_stats *dst, const struct lc_request_stats *src)
{
    for (size_t i = 0; i < LC_REQ_CLASSES; i++) {
        dst->by_class[i] += src->by_class[i];
    }
    for (size_t i = 0; i < LC_REQ_BUCKETS; i++) {
        dst->buckets[i] += src->buckets[i];
    }
    dst->count += src->count;
    dst->seconds_sum += src->seconds_sum;
}

const char *lc_task_state_name(enum lc_task_state s)
{
    if ((int)s < 0 || s >= LC_TASK_STATES) {
        return "unknown";
    }
    return state_names[s];
}

void lc_snapshot_box_init(struct lc_snapshot_box *b)
{
    pthread_mutex_init(&b->lock, NULL);
    b->current = NULL;
    __atomic_store_n(&b->live.loop_last_turn_mono_ns, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&b->live.loop_stalled, 0, __ATOMIC_RELAXED);
}

void lc_snapshot_box_close(struct lc_snapshot_box *b)
{
    lc_snapshot_put(b->current);
    b->current = NULL;
    pthread_mutex_destroy(&b->lock);
}

void lc_snapshot_publish(struct lc_snapshot_box *b, struct lc_snapshot *s)
{
    struct lc_snapshot *old;
    pthread_mutex_lock(&b->lock);
    old = b->current;
    b->current = s;
    pthread_mutex_unlock(&b->lock);
    /* Outside the lock: freeing a large snapshot must not delay a reader. */
    lc_snapshot_put(old);
}

struct lc_snapshot *lc_snapshot_get(struct lc_snapshot_box *b)
{
    struct lc_snapshot *s;
    pthread_mutex_lock(&b->lock);
    s = b->current;
    if (s != NULL) {
        /* Under the lock, so the box's own reference keeps S alive while we count. */
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&b->lock);
    return s;
}

void lc_snapshot_put(struct lc_snapshot *s)
{
    if (s == NULL) {
        return;
    }
    /* Release so every write to S happens before the free; acquire on the last one. */
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }
    free(s->tasks);
    free(s->inputs);
    free(s->containers);
    free(s->outputs);
    free(s->type_counts);
    free(s);
}

struct lc_snapshot *lc_snapshot_create(size_t n_tasks, size_t n_containers, size_t n_outputs,
                                       size_t n_type_counts)
{
    struct lc_snapshot *s = lc_xcalloc(1, sizeof(*s));
    s->refs = 1;
    s->tasks = lc_xcalloc(n_tasks, sizeof(*s->tasks));
    s->n_tasks = n_tasks;
    s->containers = lc_xcalloc(n_containers, sizeof(*s->containers));
    s->n_containers = n_containers;
    for (size_t i = 0; i < n_containers; i++) {
        s->containers[i].position_ns = -1;
    }
    s->outputs = lc_xcalloc(n_outputs, sizeof(*s->outputs));
    s->n_outputs = n_outputs;
    s->type_counts = lc_xcalloc(n_type_counts, sizeof(*s->type_counts));
    s->n_type_counts = n_type_counts;
    return s;
}

struct lc_input_snap *lc_snapshot_add_input(struct lc_snapshot *s, const char *name,
                                            const char *type)
{
    struct lc_input_snap *in;
    s->inputs = lc_xrealloc(s->inputs, (s->n_inputs + 1) * sizeof(*s->inputs));
    in = &s->inputs[s->n_inputs++];
    memset(in, 0, sizeof(*in));
    snprintf(in->name, sizeof(in->name), "%s", name);
    snprintf(in->type, sizeof(in->type), "%s", type);
    return in;
}

struct lc_container_snap *lc_snapshot_add_containers(struct lc_snapshot *s, size_t n)
{
    struct lc_container_snap *first;
    s->containers = lc_xrealloc(s->containers, (s->n_containers + n + 1) * sizeof(*s->containers));
    first = &s->containers[s->n_containers];
    memset(first, 0, n * sizeof(*first));
    for (size_t i = 0; i < n; i++) {
        first[i].position_ns = -1;
    }
    s->n_containers += n;
    return first;
}
