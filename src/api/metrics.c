/* metrics: renders /metrics in the Prometheus text format 0.0.4 from a snapshot and the
 * process figures of /proc/self. Families are written whole, one after the other, each
 * with HELP and TYPE, so that the output parses with promtool. Label values are escaped
 * and made valid UTF-8. Owns nothing: the text is a fresh heap string for the caller. */
#include "api/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/util.h"

#define LABEL_MAX 1024 /* an escaped snapshot string: 256 bytes at most doubled */

static const char *const endpoint_names[] = {"version", "list", "events", "logs", "inspect"};

/* The renderer: a capped buffer and a sticky error, so the family writers stay linear. */
struct out {
    struct lc_buf buf;
    int err;
};

static void put(struct out *o, const char *s)
{
    if (lc_buf_adds(&o->buf, s) != 0) {
        o->err = -E2BIG;
    }
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    /* Only numbers and fixed names go through here: 256 bytes always suffice. */
    if (n < 0 || (size_t)n >= sizeof(tmp) || lc_buf_add(&o->buf, tmp, (size_t)n) != 0) {
        o->err = -E2BIG;
    }
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    putf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- label values ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at P (N bytes left), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) {
            return 0;
        }
    }
    return len;
}

size_t lc_metrics_escape_label(const char *value, size_t max_in, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t n = strnlen(value, max_in), w = 0;
    if (cap == 0) {
        return 0;
    }
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(p + i, n - i);
        const char *esc = NULL;
        char one = (char)p[i];
        if (p[i] == '\\') {
            esc = "\\\\";
        } else if (p[i] == '"') {
            esc = "\\\"";
        } else if (p[i] == '\n') {
            esc = "\\n";
        } else if (len == 0) {
            one = '?';
            len = 1;
        }
        if (esc != NULL) {
            if (w + 2 >= cap) {
                break;
            }
            memcpy(out + w, esc, 2);
            w += 2;
        } else {
            if (w + len >= cap) {
                break;
            }
            if (len == 1) {
                out[w] = one;
            } else {
                memcpy(out + w, p + i, len);
            }
            w += len;
        }
        i += len;
    }
    out[w] = '\0';
    return w;
}

/* Writes ` KEY="VALUE"` (with a leading comma unless FIRST). */
static void label(struct out *o, int first, const char *key, const char *value, size_t max)
{
    char esc[LABEL_MAX];
    lc_metrics_escape_label(value, max, esc, sizeof(esc));
    put(o, first ? "{" : ",");
    put(o, key);
    put(o, "=\"");
    put(o, esc);
    put(o, "\"");
}

static void value_u64(struct out *o, uint64_t v)
{
    putf(o, "} %" PRIu64 "\n", v);
}

static void value_f(struct out *o, double v, int braces)
{
    const char *close = braces ? "} " : " ";
    if (isnan(v)) {
        putf(o, "%sNaN\n", close);
    } else if (isinf(v)) {
        putf(o, "%s%cInf\n", close, v > 0 ? '+' : '-');
    } else {
        putf(o, "%s%.15g\n", close, v);
    }
}

/* ---- per-container and per-output families ------------------------------------------ */

/* NAME{input="...",container="...",container_id="<12 hex>"; the caller adds labels and
 * the value. */
static void container_sample(struct out *o, const char *name, const struct lc_container_snap *c)
{
    put(o, name);
    label(o, 1, "input", c->input, sizeof(c->input));
    label(o, 0, "container", c->name, sizeof(c->name));
    label(o, 0, "container_id", c->id, 12);
}

static void container_by_stream(struct out *o, const struct lc_snapshot *s, const char *name,
                                int bytes)
{
    static const char *const streams[3] = {NULL, "stdout", "stderr"};
    for (size_t i = 0; i < s->n_containers; i++) {
        const struct lc_container_snap *c = &s->containers[i];
        for (int st = 1; st <= 2; st++) {
            container_sample(o, name, c);
            label(o, 0, "stream", streams[st], 8);
            value_u64(o, bytes ? c->bytes[st] : c->lines[st]);
        }
    }
}

/* Which per-container counter a family shows. */
enum ccounter {
    C_RECONNECTS,
    C_ROTATIONS,
    C_DRAINS,
    C_TRUNCATED,
    C_DECODE_ERRORS,
    C_ERRORS,
    C_FILE_ROTATIONS,
    C_LOST_FILES
};

static uint64_t ccounter_of(const struct lc_container_snap *c, enum ccounter which)
{
    switch (which) {
    case C_RECONNECTS:
        return c->reconnects;
    case C_ROTATIONS:
        return c->rotations;
    case C_DRAINS:
        return c->drains;
    case C_TRUNCATED:
        return c->truncated;
    case C_DECODE_ERRORS:
        return c->decode_errors;
    case C_FILE_ROTATIONS:
        return c->file_rotations;
    case C_LOST_FILES:
        return c->lost_files;
    default:
        return c->errors;
    }
}

static void containers_family(struct out *o, const struct lc_snapshot *s, const char *name,
                              const char *help, enum ccounter which)
{
    family(o, name, "counter", help);
    for (size_t i = 0; s != NULL && i < s->n_containers; i++) {
        container_sample(o, name, &s->containers[i]);
        value_u64(o, ccounter_of(&s->containers[i], which));
    }
}

static void container_families(struct out *o, const struct lc_snapshot *s)
{
    family(o, "logcap_container_lines_total", "counter",
           "Log lines read from a container, by stream.");
    if (s != NULL) {
        container_by_stream(o, s, "logcap_container_lines_total", 0);
    }
    family(o, "logcap_container_bytes_total", "counter",
           "Bytes of log lines read from a container, by stream.");
    if (s != NULL) {
        container_by_stream(o, s, "logcap_container_bytes_total", 1);
    }
    containers_family(o, s, "logcap_stream_reconnects_total",
                      "Log streams of a container reopened after an error or an end.",
                      C_RECONNECTS);
    containers_family(o, s, "logcap_stream_rotations_total",
                      "Log streams of a container reopened after an idle check found them stuck.",
                      C_ROTATIONS);
    containers_family(o, s, "logcap_container_drains_total",
                      "follow=0 requests for a stopped container's remaining lines (each one "
                      "makes dockerd rescan the container's log file).",
                      C_DRAINS);
    containers_family(o, s, "logcap_truncated_lines_total",
                      "Lines cut at max_line_bytes and marked truncated.", C_TRUNCATED);
    containers_family(o, s, "logcap_decode_errors_total",
                      "Malformed frames or timestamps met in a container's log stream.",
                      C_DECODE_ERRORS);
    containers_family(o, s, "logcap_container_errors_total",
                      "Errors met while following a container's logs.", C_ERRORS);
    containers_family(o, s, "logcap_container_log_rotations_total",
                      "Renames of a container's json-file log by Docker's rotation that logcap "
                      "followed (files mode).",
                      C_FILE_ROTATIONS);
    containers_family(o, s, "logcap_container_lost_log_files_total",
                      "A container's json-file logs that were gone (rotated away and deleted "
                      "while logcap was stopped or behind) before logcap read them to the end.",
                      C_LOST_FILES);
    family(o, "logcap_container_read_files", "gauge",
           "1 while a container's logs are read from its json-file log, 0 through the API.");
    for (size_t i = 0; s != NULL && i < s->n_containers; i++) {
        container_sample(o, "logcap_container_read_files", &s->containers[i]);
        value_u64(o, strcmp(s->containers[i].read, "files") == 0 ? 1 : 0);
    }
}

/* A figure of a snapshot struct, at an offset, as a family writes it. */
enum fkind { F_U64, F_DOUBLE, F_FLAG };

struct ffamily {
    const char *name;
    const char *type;
    const char *help;
    size_t off;
    enum fkind kind;
    int spool_only; /* outputs: the figure means nothing without a spool: no family then */
};

#define OUTF(m) offsetof(struct lc_output_snap, m)
#define SPF(m) offsetof(struct lc_spool_snap, m)

static const struct ffamily ofamilies[] = {
    {"logcap_output_records_total", "counter", "Records an output delivered.", OUTF(records), F_U64,
     0},
    {"logcap_output_bytes_total", "counter", "Bytes an output delivered.", OUTF(bytes), F_U64, 0},
    {"logcap_output_retries_total", "counter",
     "Batches an output had to send again after a temporary failure.", OUTF(retries), F_U64, 0},
    {"logcap_output_permanent_failures_total", "counter",
     "Records the destination of an output refused for good (sent to the dead-letter file).",
     OUTF(rejected), F_U64, 0},
    {"logcap_output_dead_lettered_total", "counter",
     "Records an output wrote to its dead-letter file (refused, or given up after "
     "retry.max_attempts).",
     OUTF(dead_lettered), F_U64, 0},
    {"logcap_output_dead_letter_records", "gauge",
     "Records in the dead-letter file of an output now.", OUTF(dead_letter_records), F_U64, 0},
    {"logcap_output_backlog_records", "gauge",
     "Records in the spool that an output has not delivered yet.", OUTF(backlog_records), F_U64, 1},
    {"logcap_output_backlog_bytes", "gauge",
     "Bytes of the records in the spool that an output has not delivered yet.", OUTF(backlog_bytes),
     F_U64, 1},
    {"logcap_output_oldest_unacked_age_seconds", "gauge",
     "Age of the oldest record an output has not delivered yet; 0 when caught up.",
     OUTF(oldest_age_s), F_DOUBLE, 1},
    {"logcap_output_flush_failures_total", "counter",
     "Flushes of an output that failed; what they covered was sent again.", OUTF(flush_failures),
     F_U64, 0},
    {"logcap_delivery_lag_seconds", "gauge",
     "Delivery time minus the timestamp of the newest line an output wrote.", OUTF(lag_s), F_DOUBLE,
     0},
    {"logcap_output_failing", "gauge",
     "1 while the last try of an output failed and its batch waits to be sent again.",
     OUTF(failing), F_FLAG, 0},
    {"logcap_output_config_fault", "gauge",
     "1 while an output fails because its configuration is wrong (its destination refused the "
     "credentials or does not know the URL: 401, 403, 404); retried, never dead-lettered.",
     OUTF(config_fault), F_FLAG, 0},
};

static const struct ffamily sfamilies[] = {
    {"logcap_spool_bytes", "gauge", "Bytes of spool segment files on disk.", SPF(bytes), F_U64, 0},
    {"logcap_spool_max_bytes", "gauge",
     "The spool size limit (spool.max_bytes); the inputs pause when the spool reaches it.",
     SPF(max_bytes), F_U64, 0},
    {"logcap_spool_records", "gauge", "Log records held in the spool.", SPF(records), F_U64, 0},
    {"logcap_spool_segments", "gauge", "Spool segment files on disk.", SPF(segments), F_U64, 0},
    {"logcap_spool_full", "gauge",
     "1 while the spool is at spool.max_bytes and the inputs are paused.", SPF(full), F_FLAG, 0},
    {"logcap_backpressure_paused", "gauge",
     "1 while the inputs are paused (spool full, or the spool writer behind).", SPF(paused), F_FLAG,
     0},
    {"logcap_backpressure_paused_seconds_total", "counter",
     "Total time the inputs were paused, in seconds.", SPF(paused_seconds), F_DOUBLE, 0},
    {"logcap_spool_corrupt_records_total", "counter",
     "Damaged regions of the spool (runs of bad bytes, each maybe several records) skipped at "
     "recovery.",
     SPF(corrupt_records), F_U64, 0},
    {"logcap_spool_torn_bytes_total", "counter", "Bytes cut from torn segment tails at recovery.",
     SPF(torn_bytes), F_U64, 0},
    {"logcap_spool_appended_records_total", "counter", "Records appended to the spool.",
     SPF(appended_records), F_U64, 0},
    {"logcap_spool_appended_bytes_total", "counter", "Bytes appended to the spool.",
     SPF(appended_bytes), F_U64, 0},
    {"logcap_spool_metadata", "gauge",
     "Metadata entries (one per container being captured) that every spool checkpoint carries.",
     SPF(metadata), F_U64, 0},
    {"logcap_spool_checkpoint_bytes", "gauge",
     "Size of the checkpoint (metadata and positions) that starts the active spool segment.",
     SPF(checkpoint_bytes), F_U64, 0},
    {"logcap_spool_writer_failing", "gauge",
     "1 while the spool writer cannot write (its last write or sync failed; it retries, and "
     "the inputs pause once its queue is full).",
     SPF(writer_failing), F_FLAG, 0},
    {"logcap_spool_writer_errors_total", "counter",
     "Failed writes, syncs and segment starts of the spool writer.", SPF(writer_errors), F_U64, 0},
};

/* Writes the figure of F in the struct at BASE, closing a label set when BRACES. */
static void figure_value(struct out *o, const void *base, const struct ffamily *f, int braces)
{
    const char *at = (const char *)base + f->off;
    uint64_t u;
    double d;
    int flag;
    const char *close = braces ? "} " : " ";
    switch (f->kind) {
    case F_DOUBLE:
        memcpy(&d, at, sizeof(d));
        value_f(o, d, braces);
        return;
    case F_FLAG:
        memcpy(&flag, at, sizeof(flag));
        u = flag ? 1 : 0;
        break;
    default:
        memcpy(&u, at, sizeof(u));
        break;
    }
    putf(o, "%s%" PRIu64 "\n", close, u);
}

static void output_families(struct out *o, const struct lc_snapshot *s)
{
    int spool = s != NULL && s->spool.enabled;
    for (size_t f = 0; f < sizeof(ofamilies) / sizeof(ofamilies[0]); f++) {
        const struct ffamily *fam = &ofamilies[f];
        if (fam->spool_only && !spool) {
            continue;
        }
        family(o, fam->name, fam->type, fam->help);
        for (size_t i = 0; s != NULL && i < s->n_outputs; i++) {
            put(o, fam->name);
            label(o, 1, "output", s->outputs[i].name, sizeof(s->outputs[i].name));
            figure_value(o, &s->outputs[i], fam, 1);
        }
    }
}

/* One bucket of the request latency histogram of output OUT. */
static void request_bucket(struct out *o, const struct lc_output_snap *out, const char *le,
                           uint64_t count)
{
    put(o, "logcap_output_request_duration_seconds_bucket");
    label(o, 1, "output", out->name, sizeof(out->name));
    label(o, 0, "le", le, 32);
    value_u64(o, count);
}

/* Requests by the class of their answer, and their latency (a histogram; the running
 * maximum guards it as sync_histogram does). */
static void request_families(struct out *o, const struct lc_snapshot *s)
{
    static const char *const count = "logcap_output_requests_total";
    static const char *const hist = "logcap_output_request_duration_seconds";
    family(o, count, "counter",
           "Requests an output made to its destination, by the class of the answer (error: none "
           "came, a transport error or a timeout).");
    for (size_t i = 0; s != NULL && i < s->n_outputs; i++) {
        for (int c = 0; c < LC_REQ_CLASSES; c++) {
            put(o, count);
            label(o, 1, "output", s->outputs[i].name, sizeof(s->outputs[i].name));
            label(o, 0, "status_class", lc_req_class_name((enum lc_req_class)c), 8);
            value_u64(o, s->outputs[i].requests.by_class[c]);
        }
    }
    family(o, hist, "histogram", "Latency of an output's requests to its destination, in seconds.");
    for (size_t i = 0; s != NULL && i < s->n_outputs; i++) {
        const struct lc_output_snap *out = &s->outputs[i];
        uint64_t cum = 0;
        char le[32];
        for (size_t b = 0; b < LC_REQ_BUCKETS; b++) {
            cum = out->requests.buckets[b] > cum ? out->requests.buckets[b] : cum;
            snprintf(le, sizeof(le), "%.15g", lc_req_bucket_le[b]);
            request_bucket(o, out, le, cum);
        }
        cum = out->requests.count > cum ? out->requests.count : cum;
        request_bucket(o, out, "+Inf", cum);
        putf(o, "%s_sum", hist);
        label(o, 1, "output", out->name, sizeof(out->name));
        value_f(o, out->requests.seconds_sum, 1);
        putf(o, "%s_count", hist);
        label(o, 1, "output", out->name, sizeof(out->name));
        value_u64(o, cum);
    }
}

/* One figure of each Kafka output (those whose brokers are known). */
static void broker_gauge(struct out *o, const struct lc_snapshot *s, const char *name,
                         const char *help, size_t off)
{
    family(o, name, "gauge", help);
    for (size_t i = 0; s != NULL && i < s->n_outputs; i++) {
        const struct lc_output_snap *out = &s->outputs[i];
        uint64_t v;
        if (!out->brokers.valid) {
            continue;
        }
        memcpy(&v, (const char *)&out->brokers + off, sizeof v);
        put(o, name);
        label(o, 1, "output", out->name, sizeof(out->name));
        value_u64(o, v);
    }
}

/* One series of broker B of output OUT: NAME{output,broker,...}. */
static void broker_labels(struct out *o, const char *name, const struct lc_output_snap *out,
                          const struct lc_broker_snap *b)
{
    put(o, name);
    label(o, 1, "output", out->name, sizeof(out->name));
    label(o, 0, "broker", b->name, sizeof(b->name));
}

static void broker_up(struct out *o, const char *name, const struct lc_output_snap *out,
                      const struct lc_broker_snap *b)
{
    broker_labels(o, name, out, b);
    value_u64(o, (uint64_t)b->up);
}

static void broker_rtt(struct out *o, const char *name, const struct lc_output_snap *out,
                       const struct lc_broker_snap *b)
{
    for (int q = 0; q < 2; q++) {
        broker_labels(o, name, out, b);
        label(o, 0, "stat", q == 0 ? "avg" : "p99", 4);
        value_f(o, q == 0 ? b->rtt_avg_s : b->rtt_p99_s, 1);
    }
}

static void broker_errors(struct out *o, const char *name, const struct lc_output_snap *out,
                          const struct lc_broker_snap *b)
{
    static const struct {
        const char *kind;
        size_t off;
    } errs[] = {{"tx", offsetof(struct lc_broker_snap, tx_errors)},
                {"rx", offsetof(struct lc_broker_snap, rx_errors)},
                {"timeout", offsetof(struct lc_broker_snap, timeouts)},
                {"retry", offsetof(struct lc_broker_snap, tx_retries)}};
    for (size_t e = 0; e < sizeof errs / sizeof errs[0]; e++) {
        uint64_t v;
        memcpy(&v, (const char *)b + errs[e].off, sizeof v);
        broker_labels(o, name, out, b);
        label(o, 0, "kind", errs[e].kind, 8);
        value_u64(o, v);
    }
}

/* The family NAME with a series (or several) per broker of each Kafka output, by EACH. */
static void per_broker(struct out *o, const struct lc_snapshot *s, const char *name,
                       const char *type, const char *help,
                       void (*each)(struct out *, const char *, const struct lc_output_snap *,
                                    const struct lc_broker_snap *))
{
    family(o, name, type, help);
    for (size_t i = 0; s != NULL && i < s->n_outputs; i++) {
        const struct lc_output_snap *out = &s->outputs[i];
        for (size_t k = 0; out->brokers.valid && k < out->brokers.n; k++) {
            each(o, name, out, &out->brokers.broker[k]);
        }
    }
}

/* The brokers of Kafka outputs, from librdkafka's statistics. */
static void broker_families(struct out *o, const struct lc_snapshot *s)
{
    broker_gauge(o, s, "logcap_kafka_brokers_up", "Brokers a Kafka output is connected to.",
                 offsetof(struct lc_brokers_snap, up));
    broker_gauge(o, s, "logcap_kafka_brokers", "Brokers a Kafka output knows of.",
                 offsetof(struct lc_brokers_snap, known));
    broker_gauge(o, s, "logcap_kafka_queue_messages",
                 "Messages waiting in librdkafka's queues of a Kafka output (not yet "
                 "acknowledged).",
                 offsetof(struct lc_brokers_snap, queue_messages));
    per_broker(o, s, "logcap_kafka_broker_up", "gauge",
               "1 while a Kafka output is connected to the broker.", broker_up);
    per_broker(o, s, "logcap_kafka_broker_rtt_seconds", "gauge",
               "Round trip of a Kafka output's requests to the broker over librdkafka's last "
               "statistics window (stat: avg or p99), in seconds.",
               broker_rtt);
    per_broker(o, s, "logcap_kafka_broker_errors_total", "counter",
               "Errors of a Kafka output's connection to the broker (kind: tx, rx, timeout, "
               "retry), since its producer started.",
               broker_errors);
}

/* ---- spool families ----------------------------------------------------------------- */

/* The sync latency histogram. The snapshot holds cumulative counts already; the running
 * maximum only guards the exposition against a bookkeeping slip (a bucket below the one
 * before it, or a count below the last bucket), which would make histogram_quantile()
 * answer nonsense for as long as the series lives. The same value is written for +Inf and
 * _count, so the two always agree. */
static void sync_histogram(struct out *o, const struct lc_spool_snap *sp)
{
    static const char *const name = "logcap_spool_sync_seconds";
    uint64_t cum = 0;
    family(o, name, "histogram", "Latency of fdatasync on spool segment files, in seconds.");
    for (size_t i = 0; i < LC_SYNC_BUCKETS; i++) {
        cum = sp->sync_buckets[i] > cum ? sp->sync_buckets[i] : cum;
        putf(o, "%s_bucket{le=\"%.15g\"} %" PRIu64 "\n", name, lc_sync_bucket_le[i], cum);
    }
    cum = sp->sync_count > cum ? sp->sync_count : cum;
    putf(o, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    putf(o, "%s_sum", name);
    value_f(o, sp->sync_seconds_sum, 0);
    putf(o, "%s_count %" PRIu64 "\n", name, cum);
}

/* Written only with a spool: without one, zeros would read as "empty and healthy". */
static void spool_families(struct out *o, const struct lc_snapshot *s)
{
    if (s == NULL || !s->spool.enabled) {
        return;
    }
    for (size_t f = 0; f < sizeof(sfamilies) / sizeof(sfamilies[0]); f++) {
        family(o, sfamilies[f].name, sfamilies[f].type, sfamilies[f].help);
        put(o, sfamilies[f].name);
        figure_value(o, &s->spool, &sfamilies[f], 0);
    }
    sync_histogram(o, &s->spool);
}

/* ---- task families ------------------------------------------------------------------ */

/* The distinct task types of S (those with tasks and those with counts), in first-seen
 * order. Returns how many were stored in TYPES (a heap array the caller frees). */
static size_t task_types(const struct lc_snapshot *s, const char ***types)
{
    size_t n = 0, cap = s->n_tasks + s->n_type_counts;
    const char **t = lc_xcalloc(cap, sizeof(*t));
    for (size_t i = 0; i < cap; i++) {
        const char *type = i < s->n_tasks ? s->tasks[i].type : s->type_counts[i - s->n_tasks].type;
        size_t j = 0;
        while (j < n && strncmp(t[j], type, 32) != 0) {
            j++;
        }
        if (j == n) {
            t[n++] = type;
        }
    }
    *types = t;
    return n;
}

static void tasks_gauge(struct out *o, const struct lc_snapshot *s, const char **types,
                        size_t n_types)
{
    family(o, "logcap_tasks", "gauge", "Tasks by type and state.");
    for (size_t t = 0; t < n_types; t++) {
        for (int st = 0; st < LC_TASK_STATES; st++) {
            uint64_t n = 0;
            for (size_t i = 0; i < s->n_tasks; i++) {
                n += s->tasks[i].state == (enum lc_task_state)st &&
                     strncmp(s->tasks[i].type, types[t], 32) == 0;
            }
            put(o, "logcap_tasks");
            label(o, 1, "type", types[t], 32);
            label(o, 0, "state", lc_task_state_name((enum lc_task_state)st), 16);
            value_u64(o, n);
        }
    }
}

/* The restart or failure count of TYPE (0 when the snapshot has no counts for it). */
static uint64_t type_count(const struct lc_snapshot *s, const char *type, int failures)
{
    for (size_t i = 0; i < s->n_type_counts; i++) {
        if (strncmp(s->type_counts[i].type, type, 32) == 0) {
            return failures ? s->type_counts[i].failures : s->type_counts[i].restarts;
        }
    }
    return 0;
}

static void task_families(struct out *o, const struct lc_snapshot *s, int64_t now_mono_ns)
{
    static const char *const names[2] = {"logcap_task_restarts_total",
                                         "logcap_task_failures_total"};
    static const char *const helps[2] = {
        "Task restarts by the watchdog or after a failure, by task type.",
        "Times a task was found stalled or failed, by task type."};
    const char **types = NULL;
    size_t n_types = s != NULL ? task_types(s, &types) : 0;

    if (s != NULL) {
        tasks_gauge(o, s, types, n_types);
    } else {
        family(o, "logcap_tasks", "gauge", "Tasks by type and state.");
    }
    for (int k = 0; k < 2; k++) {
        family(o, names[k], "counter", helps[k]);
        for (size_t t = 0; t < n_types; t++) {
            put(o, names[k]);
            label(o, 1, "type", types[t], 32);
            value_u64(o, type_count(s, types[t], k));
        }
    }
    free(types);
    family(o, "logcap_task_heartbeat_age_seconds", "gauge",
           "Seconds since a task's last heartbeat (tasks not stopped).");
    for (size_t i = 0; s != NULL && i < s->n_tasks; i++) {
        const struct lc_task_snap *t = &s->tasks[i];
        int64_t beat = t->last_heartbeat_mono_ns;
        int64_t age = beat > 0 ? now_mono_ns - beat : -1;
        if (age < 0 || t->state == LC_TASK_STOPPED) {
            /* Never beat, or stopped on purpose (a container that exited):
             * no sample rather than one that grows forever and trips heartbeat alerts. */
            continue;
        }
        put(o, "logcap_task_heartbeat_age_seconds");
        label(o, 1, "task", t->id, sizeof(t->id));
        value_f(o, (double)(age / 1000000) / 1000.0, 1);
    }
}

/* ---- daemon-wide and process families ----------------------------------------------- */

static void gauge1(struct out *o, const char *name, const char *help, double v)
{
    family(o, name, "gauge", help);
    put(o, name);
    value_f(o, v, 0);
}

static int is_docker(const struct lc_input_snap *is)
{
    return strncmp(is->type, "docker", sizeof(is->type)) == 0;
}

/* NAME{input="..."[,type="..."]; the caller adds labels and the value. */
static void input_sample(struct out *o, const char *name, const struct lc_input_snap *is,
                         int with_type)
{
    put(o, name);
    label(o, 1, "input", is->name, sizeof(is->name));
    if (with_type) {
        label(o, 0, "type", is->type, sizeof(is->type));
    }
}

#define FILESF(m) offsetof(struct lc_input_snap, files.m)

/* A file input's counters (samples for file inputs only). */
static const struct ffamily file_families[] = {
    {"logcap_file_lines_total", "counter", "Lines a file input read.", FILESF(lines), F_U64, 0},
    {"logcap_file_bytes_total", "counter", "Bytes of those lines (without their newlines).",
     FILESF(bytes), F_U64, 0},
    {"logcap_file_truncated_lines_total", "counter",
     "Lines a file input cut at max_line_bytes (marked truncated).", FILESF(truncated), F_U64, 0},
    {"logcap_file_rotations_total", "counter",
     "Rename rotations a file input followed (the old file read to its end).", FILESF(rotations),
     F_U64, 0},
    {"logcap_file_truncations_total", "counter",
     "Files a file input found truncated (copytruncate) and read again from their start.",
     FILESF(truncations), F_U64, 0},
    {"logcap_file_lost_total", "counter",
     "Files gone (deleted or rotated away while logcap was stopped) before their unread part "
     "could be read.",
     FILESF(lost), F_U64, 0},
    {"logcap_file_errors_total", "counter", "Failed opens and reads of a file input.",
     FILESF(errors), F_U64, 0},
};

static void file_input_families(struct out *o, const struct lc_snapshot *s)
{
    size_t n = s != NULL ? s->n_inputs : 0;
    for (size_t f = 0; f < sizeof(file_families) / sizeof(file_families[0]); f++) {
        family(o, file_families[f].name, file_families[f].type, file_families[f].help);
        for (size_t i = 0; i < n; i++) {
            if (strncmp(s->inputs[i].type, "file", sizeof(s->inputs[i].type)) == 0) {
                input_sample(o, file_families[f].name, &s->inputs[i], 0);
                figure_value(o, &s->inputs[i], &file_families[f], 1);
            }
        }
    }
}

/* Per input instance: what it follows, and a Docker input's connection and API errors. */
static void input_families(struct out *o, const struct lc_snapshot *s)
{
    size_t n = s != NULL ? s->n_inputs : 0;
    family(o, "logcap_input_sources", "gauge",
           "Sources an input follows now (containers for a Docker input).");
    for (size_t i = 0; i < n; i++) {
        input_sample(o, "logcap_input_sources", &s->inputs[i], 1);
        value_u64(o, s->inputs[i].sources);
    }
    family(o, "logcap_docker_connected", "gauge", "1 while the Docker daemon answers.");
    for (size_t i = 0; i < n; i++) {
        if (is_docker(&s->inputs[i])) {
            input_sample(o, "logcap_docker_connected", &s->inputs[i], 0);
            value_u64(o, s->inputs[i].connected ? 1 : 0);
        }
    }
    family(o, "logcap_docker_api_errors_total", "counter", "Docker API errors, by endpoint.");
    for (size_t i = 0; i < n; i++) {
        const struct lc_api_errors *e = &s->inputs[i].api_errors;
        uint64_t v[5] = {e->version, e->list, e->events, e->logs, e->inspect};
        for (size_t k = 0; k < 5 && is_docker(&s->inputs[i]); k++) {
            input_sample(o, "logcap_docker_api_errors_total", &s->inputs[i], 0);
            label(o, 0, "endpoint", endpoint_names[k], 16);
            value_u64(o, v[k]);
        }
    }
    file_input_families(o, s);
}

static void daemon_families(struct out *o, const struct lc_snapshot *s, int loop_stalled)
{
    gauge1(o, "logcap_up", "1 while logcap answers.", 1);
    gauge1(o, "logcap_loop_stalled", "1 while the event loop is stalled.", loop_stalled ? 1 : 0);
    input_families(o, s);
}

static void proc_families(struct out *o, const struct lc_proc_stats *p)
{
    if (p == NULL) {
        return;
    }
    if (p->cpu_seconds >= 0) {
        family(o, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        put(o, "process_cpu_seconds_total");
        value_f(o, p->cpu_seconds, 0);
    }
    if (p->open_fds >= 0) {
        gauge1(o, "process_open_fds", "Number of open file descriptors.", p->open_fds);
    }
    if (p->max_fds >= 0) {
        gauge1(o, "process_max_fds", "Maximum number of open file descriptors.", p->max_fds);
    }
    if (p->resident_bytes >= 0) {
        gauge1(o, "process_resident_memory_bytes", "Resident memory size in bytes.",
               p->resident_bytes);
    }
    if (p->virtual_bytes >= 0) {
        gauge1(o, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
               p->virtual_bytes);
    }
    if (p->start_time_seconds >= 0) {
        gauge1(o, "process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", p->start_time_seconds);
    }
    if (p->threads >= 0) {
        gauge1(o, "process_threads", "Number of OS threads in the process.", p->threads);
    }
}

char *lc_metrics_render(const struct lc_snapshot *snap, int loop_stalled,
                        const struct lc_proc_stats *proc, int64_t now_mono_ns, size_t *out_len)
{
    struct out o;
    char *text;
    lc_buf_init(&o.buf, LC_METRICS_MAX_BYTES);
    o.err = 0;
    daemon_families(&o, snap, loop_stalled);
    container_families(&o, snap);
    spool_families(&o, snap);
    output_families(&o, snap);
    request_families(&o, snap);
    broker_families(&o, snap);
    task_families(&o, snap, now_mono_ns);
    proc_families(&o, proc);
    if (o.err != 0) {
        lc_buf_close(&o.buf);
        return NULL;
    }
    text = lc_buf_take(&o.buf, out_len);
    return text != NULL ? text : lc_xstrdup("");
}

/* ---- /proc/self --------------------------------------------------------------------- */

/* Open descriptors: the entries of /proc/self/fd, minus the one reading it. */
static int count_fds(double *out)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;
    if (d == NULL) {
        return -errno;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    *out = (double)(n > 0 ? n - 1 : 0);
    return 0;
}

/* The boot time in seconds since the epoch, from the btime line of /proc/stat. */
static int boot_time(double *out)
{
    char *text = NULL, *p;
    size_t len;
    int rc = lc_read_file("/proc/stat", 1u << 20, &text, &len);
    if (rc != 0) {
        return rc;
    }
    p = strstr(text, "\nbtime ");
    rc = -EINVAL;
    if (p != NULL) {
        *out = strtod(p + 7, NULL);
        rc = 0;
    }
    free(text);
    return rc;
}

/* Fields of /proc/self/stat after the command name (which may hold spaces and ')'). */
static int read_stat(struct lc_proc_stats *out)
{
    char *text = NULL, *p;
    size_t len;
    unsigned long utime, stime, vsize;
    unsigned long long start;
    long threads, rss;
    double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    double btime;
    int rc = lc_read_file("/proc/self/stat", 1u << 16, &text, &len);
    if (rc != 0) {
        return rc;
    }
    p = strrchr(text, ')');
    rc = -EINVAL;
    if (p != NULL && sscanf(p + 1,
                            " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d "
                            "%*d %ld %*d %llu %lu %ld",
                            &utime, &stime, &threads, &start, &vsize, &rss) == 6) {
        out->cpu_seconds = (double)(utime + stime) / ticks;
        out->threads = (double)threads;
        out->virtual_bytes = (double)vsize;
        out->resident_bytes = (double)rss * page;
        rc = boot_time(&btime);
        if (rc == 0) {
            out->start_time_seconds = btime + (double)start / ticks;
        }
    }
    free(text);
    return rc;
}

int lc_metrics_proc_read(struct lc_proc_stats *out)
{
    struct rlimit rl;
    int rc, first = 0;
    out->open_fds = out->max_fds = out->resident_bytes = out->virtual_bytes = -1;
    out->cpu_seconds = out->start_time_seconds = out->threads = -1;
    rc = read_stat(out);
    first = rc;
    rc = count_fds(&out->open_fds);
    first = first != 0 ? first : rc;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
    } else if (first == 0) {
        first = -errno;
    }
    return first;
}
