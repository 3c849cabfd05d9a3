/* loki: the Loki output (see loki.h for its contract). */
#include "outputs/loki/loki.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "outputs/http.h"
#include "outputs/loki/loki_batch.h"
#include "outputs/loki/loki_push.h"

#define PUSH_PATH "loki/api/v1/push"
#define KEEP_BUF (4u << 20) /* a body buffer larger than this is freed after the batch */
#define LOG_EVERY_MS 60000  /* a failure that lasts is logged again this often */

struct lc_loki_output {
    const char *name;
    const struct lc_loki_config *c;
    struct lc_http *http;
    const char *path;
    char *tenant_header; /* "X-Scope-OrgID: ID", or NULL */
    struct lc_loki_batch_opts bopts;
    struct lc_loki_batch batch;
    struct lc_buf body, packed;
    char url[512]; /* the URL without credentials, for messages */
    /* the last failure logged: its status (-1: a transport error, 0: none) and when */
    long logged_status;
    uint64_t logged_ms;
};

const char *lc_loki_push_path(const char *url)
{
    size_t n = strlen(url), k = strlen("/" PUSH_PATH);

    if (n >= k && strcmp(url + n - k, "/" PUSH_PATH) == 0) {
        return "";
    }
    return n > 0 && url[n - 1] == '/' ? PUSH_PATH : "/" PUSH_PATH;
}

/* Encodes the batch built in O->batch into the request body; *BODY and *LEN point at it.
 * Returns 0 or -E2BIG / -EIO. */
static int encode(struct lc_loki_output *o, const char **body, size_t *len)
{
    const struct lc_loki_batch *b = &o->batch;
    int rc;

    lc_buf_reset(&o->body);
    if (o->c->encoding == LC_LOKI_JSON) {
        rc = lc_loki_push_json(&o->body, b->streams, b->n_streams);
        *body = o->body.data;
        *len = o->body.len;
        return rc;
    }
    lc_buf_reset(&o->packed);
    rc = lc_loki_push_proto(&o->body, b->streams, b->n_streams);
    rc = rc != 0 ? rc : lc_loki_snappy(&o->packed, o->body.data, o->body.len);
    *body = o->packed.data;
    *len = o->packed.len;
    return rc;
}

/* One push request of the N records RECS (the records at OFF.. of the call's batch):
 * records whose labels all render empty are refused in REP first. Returns 0 with RES
 * filled (RES->status 0: no answer), 1 when no record was left to send, or a negative
 * errno when the body cannot be built. */
static int push(struct lc_loki_output *o, struct lc_record *const *recs, size_t off, size_t n,
                struct lc_send_report *rep, struct lc_http_result *res)
{
    const char *extra[1] = {o->tenant_header};
    const char *body;
    size_t len;
    int rc;

    rc = lc_loki_batch_build(&o->batch, &o->bopts, (const struct lc_record *const *)recs + off, n);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < o->batch.n_unlabelled; i++) {
        lc_send_reject(rep, off + o->batch.unlabelled[i],
                       "every label rendered empty: Loki refuses a stream without labels "
                       "(give the output a constant label, such as job: logcap)");
    }
    if (o->batch.n_streams == 0) {
        return 1;
    }
    rc = encode(o, &body, &len);
    if (rc != 0) {
        return rc;
    }
    rc = lc_http_post(
        o->http, o->path,
        o->c->encoding == LC_LOKI_JSON ? "application/json" : "application/x-protobuf", body, len,
        o->tenant_header != NULL ? extra : NULL, o->tenant_header != NULL ? 1 : 0, res);
    if (rc == -ENOMEM) {
        return rc;
    }
    lc_send_request(rep, res->status, res->total_us);
    return 0;
}

/* What went wrong with RES, in words that name no secret. */
static void describe(const struct lc_loki_output *o, const struct lc_http_result *res, char *dst,
                     size_t cap)
{
    if (res->status == 0) {
        snprintf(dst, cap, "no answer from Loki at %s: %s", o->url, res->error);
    } else {
        snprintf(dst, cap, "Loki answered HTTP %ld: %s", res->status,
                 res->first_line[0] != '\0' ? res->first_line : "(empty body)");
    }
}

/* Logs a failure, unless the same one was logged less than LOG_EVERY_MS ago. */
static void log_failure(struct lc_loki_output *o, enum lc_log_level lvl, long status,
                        const char *what, const char *then)
{
    uint64_t now = lc_now_ms();
    long key = status != 0 ? status : -1;

    if (key == o->logged_status && now - o->logged_ms < LOG_EVERY_MS) {
        return;
    }
    o->logged_status = key;
    o->logged_ms = now;
    lc_log(lvl, 0, "[output:%s] %s; %s", o->name, what, then);
}

/* Refuses the K records at OFF with REASON. */
static void reject_range(struct lc_send_report *rep, size_t off, size_t k, const char *reason)
{
    for (size_t i = off; i < off + k; i++) {
        lc_send_reject(rep, i, "%s", reason);
    }
}

/* Sends the K records at OFF of RECS (the whole call's batch when WHOLE). Returns LC_OK once
 * they are delivered or refused for good (marked in REP), LC_RETRY with REP's why, wait
 * and fault set. */
static enum lc_send_result send_range(struct lc_loki_output *o, struct lc_record *const *recs,
                                      size_t off, size_t k, struct lc_send_report *rep, int whole)
{
    struct lc_http_result res;
    char what[LC_HTTP_LINE_CAP + 640];
    enum lc_http_class cls;
    enum lc_send_result r;
    int rc = push(o, recs, off, k, rep, &res);

    if (rc == 1) {
        return LC_OK; /* every record refused already */
    }
    if (rc < 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot encode %zu records", o->name, k);
        snprintf(what, sizeof what, "cannot encode the request: %s", strerror(-rc));
        reject_range(rep, off, k, what);
        return LC_OK;
    }
    cls = lc_http_classify(&res);
    describe(o, &res, what, sizeof what);
    switch (cls) {
    case LC_HTTP_DELIVERED:
        o->logged_status = 0;
        for (size_t i = off; !whole && i < off + k; i++) {
            lc_send_done(rep, i);
        }
        return LC_OK;
    case LC_HTTP_TOO_LARGE:
        if (k == 1) {
            log_failure(o, LC_LOG_ERROR, res.status, what,
                        "one record is larger than Loki takes: it goes to the dead-letter file");
            reject_range(rep, off, 1, what);
            return LC_OK;
        }
        lc_log(LC_LOG_INFO, 0,
               "[output:%s] Loki refused %zu records as too large (HTTP %ld): "
               "sending them in two halves",
               o->name, k, res.status);
        r = send_range(o, recs, off, k / 2, rep, 0);
        return r != LC_OK ? r : send_range(o, recs, off + k / 2, k - k / 2, rep, 0);
    case LC_HTTP_PERMANENT:
        log_failure(o, LC_LOG_ERROR, res.status, what,
                    "the request's records go to the dead-letter file");
        reject_range(rep, off, k, what);
        return LC_OK;
    case LC_HTTP_CONFIG_FAULT:
        log_failure(o, LC_LOG_ERROR, res.status, what,
                    "check the output's url, tenant_id and credentials (will retry; nothing is "
                    "dropped)");
        rep->config_fault = 1;
        break;
    default:
        log_failure(o, LC_LOG_WARN, res.status, what, "will retry");
        break;
    }
    lc_send_why(rep, "%s", what);
    rep->wait_ms = res.retry_after_ms > 0 ? (uint64_t)res.retry_after_ms : 0;
    return LC_RETRY;
}

static enum lc_send_result loki_send(void *state, struct lc_record *const *recs, size_t n,
                                     struct lc_send_report *rep)
{
    struct lc_loki_output *o = state;
    enum lc_send_result r;

    lc_http_set_cancel(o->http, rep->cancel);
    r = n > 0 ? send_range(o, recs, 0, n, rep, 1) : LC_OK;

    lc_loki_batch_free(&o->batch);
    if (o->body.cap > KEEP_BUF) {
        lc_buf_close(&o->body);
    }
    if (o->packed.cap > KEEP_BUF) {
        lc_buf_close(&o->packed);
    }
    return r;
}

static int loki_flush(void *state)
{
    (void)state; /* Loki took what it answered 2xx to: nothing is buffered here */
    return 0;
}

static void loki_destroy(void *state)
{
    struct lc_loki_output *o = state;

    if (o == NULL) {
        return;
    }
    lc_http_destroy(o->http);
    lc_loki_batch_free(&o->batch);
    lc_buf_close(&o->body);
    lc_buf_close(&o->packed);
    free(o->tenant_header);
    free(o);
}

static int loki_init(void **state, const struct lc_output_config *cfg)
{
    const char *name = cfg->name != NULL ? cfg->name : "loki";
    const struct lc_loki_config *c = cfg->opts;
    struct lc_loki_output *o;
    int rc;

    if (c == NULL || c->http.url == NULL) {
        lc_log(LC_LOG_ERROR, 0, "[output:%s] no url", name);
        return -EINVAL;
    }
    o = lc_xcalloc(1, sizeof(*o));
    o->name = name;
    o->c = c;
    rc = lc_http_create(&o->http, &c->http, name);
    if (rc != 0) {
        free(o);
        return rc;
    }
    o->path = lc_loki_push_path(c->http.url);
    lc_http_url_safe(o->url, sizeof(o->url), c->http.url);
    if (c->tenant_id != NULL) {
        size_t n = strlen(c->tenant_id) + sizeof("X-Scope-OrgID: ");
        o->tenant_header = lc_xmalloc(n);
        snprintf(o->tenant_header, n, "X-Scope-OrgID: %s", c->tenant_id);
    }
    o->bopts = (struct lc_loki_batch_opts){c->labels, c->n_labels, c->metadata, c->n_metadata,
                                           c->line == LC_LOKI_LINE_JSON};
    lc_loki_batch_init(&o->batch);
    lc_buf_init(&o->body, 0);
    lc_buf_init(&o->packed, 0);
    *state = o;
    return 0;
}

const struct lc_output_ops lc_output_loki = {
    .type = "loki",
    .config = &lc_loki_config_plugin,
    .init = loki_init,
    .send = loki_send,
    .flush = loki_flush,
    .destroy = loki_destroy,
};
