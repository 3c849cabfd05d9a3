/* output: the send report every output fills, and the one way a batch is sent again
 * without its marked records (see output.h). Used by the delivery engine and the outputs;
 * knows no output type. */
#include "outputs/output.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "core/json.h"

int lc_output_add_line(struct lc_buf *b, const struct lc_record *r, int text)
{
    return text ? lc_json_add_text(b, r) : lc_json_add_record(b, r);
}

enum lc_send_result lc_output_encode_failed(const char *name, size_t n, int rc,
                                            struct lc_send_report *rep)
{
    lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot encode a batch of %zu records", name, n);
    lc_send_why(rep, "cannot encode the batch: %s", strerror(-rc));
    return LC_REJECT;
}

void lc_send_report_reset(struct lc_send_report *rep, size_t n)
{
    lc_send_report_close(rep);
    rep->reasons = n > 0 ? lc_xcalloc(n, sizeof(*rep->reasons)) : NULL;
    rep->done = n > 0 ? lc_xcalloc(n, sizeof(*rep->done)) : NULL;
    rep->n = n;
}

void lc_send_request(struct lc_send_report *rep, long status, uint64_t us)
{
    lc_request_stats_add(&rep->req, status, us);
    rep->status = status;
}

void lc_send_report_new_try(struct lc_send_report *rep)
{
    rep->why[0] = '\0';
    rep->wait_ms = 0;
    rep->config_fault = 0;
    rep->status = 0;
    memset(&rep->req, 0, sizeof(rep->req));
}

/* Moves what SRC says about its try into DST (the batch's report). */
static void take_try(struct lc_send_report *dst, struct lc_send_report *src)
{
    memcpy(dst->why, src->why, sizeof(dst->why));
    dst->wait_ms = src->wait_ms;
    dst->config_fault = src->config_fault;
    dst->status = src->status;
    lc_request_stats_merge(&dst->req, &src->req);
}

void lc_send_report_close(struct lc_send_report *rep)
{
    for (size_t i = 0; rep->reasons != NULL && i < rep->n; i++) {
        free(rep->reasons[i]);
    }
    free(rep->reasons);
    free(rep->done);
    rep->reasons = NULL;
    rep->done = NULL;
    rep->n = 0;
    rep->n_rejected = 0;
    rep->n_done = 0;
    lc_send_report_new_try(rep);
}

void lc_send_done(struct lc_send_report *rep, size_t i)
{
    if (i < rep->n && !rep->done[i] && rep->reasons[i] == NULL) {
        rep->done[i] = 1;
        rep->n_done++;
    }
}

void lc_send_reject(struct lc_send_report *rep, size_t i, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    if (i >= rep->n || rep->done[i] || rep->reasons[i] != NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rep->n_rejected++;
    rep->reasons[i] = lc_xstrdup(buf);
}

void lc_send_why(struct lc_send_report *rep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
    va_end(ap);
}

enum lc_send_result lc_output_send_rest(const struct lc_output_ops *ops, void *state,
                                        struct lc_record *const *recs, size_t n,
                                        struct lc_send_report *batch,
                                        struct lc_send_report *scratch)
{
    struct lc_record **rest;
    size_t *map, n_rest = 0;
    enum lc_send_result res = LC_OK;
    if (batch->n_rejected + batch->n_done == 0) {
        return ops->send(state, recs, n, batch); /* no mark yet: the output marks BATCH */
    }
    rest = lc_xcalloc(n, sizeof(*rest));
    map = lc_xcalloc(n, sizeof(*map));
    for (size_t i = 0; i < n; i++) {
        if (!batch->done[i] && batch->reasons[i] == NULL) {
            map[n_rest] = i;
            rest[n_rest++] = recs[i];
        }
    }
    if (n_rest > 0) {
        lc_send_report_reset(scratch, n_rest);
        scratch->cancel = batch->cancel;
        res = ops->send(state, rest, n_rest, scratch);
        take_try(batch, scratch);
        for (size_t j = 0; j < n_rest && scratch->n_rejected + scratch->n_done > 0; j++) {
            if (scratch->done[j]) {
                lc_send_done(batch, map[j]);
            } else if (scratch->reasons[j] != NULL) {
                lc_send_reject(batch, map[j], "%s", scratch->reasons[j]);
            }
        }
    }
    free(rest);
    free(map);
    return res;
}
