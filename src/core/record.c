/* record: see record.h. */
#include "core/record.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static char *dup_or_null(const char *s)
{
    return s != NULL ? lc_xstrdup(s) : NULL;
}

struct lc_meta *lc_meta_create(const char *id, const char *name, const char *image,
                               const char *host, const char *labels_json,
                               const char *compose_project, const char *compose_service)
{
    struct lc_meta *m = lc_xcalloc(1, sizeof(*m));
    m->refs = 1;
    m->id = lc_xstrdup(id != NULL ? id : "");
    m->name = lc_xstrdup(name != NULL ? name : "");
    m->image = lc_xstrdup(image != NULL ? image : "");
    m->host = lc_xstrdup(host != NULL ? host : "");
    m->labels_json = dup_or_null(labels_json);
    m->compose_project = dup_or_null(compose_project);
    m->compose_service = dup_or_null(compose_service);
    return m;
}

struct lc_meta *lc_meta_ref(struct lc_meta *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void lc_meta_unref(struct lc_meta *m)
{
    if (m == NULL || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }
    free(m->id);
    free(m->name);
    free(m->image);
    free(m->host);
    free(m->labels_json);
    free(m->compose_project);
    free(m->compose_service);
    free(m);
}

struct lc_record *lc_record_create(struct lc_meta *meta, int stream, int64_t ts_ns, const char *ts,
                                   size_t ts_len, const char *msg, size_t len, int truncated)
{
    struct lc_record *r = lc_xmalloc(sizeof(*r) + len + 1);
    r->next = NULL;
    r->seq = 0;
    r->meta = meta != NULL ? lc_meta_ref(meta) : NULL;
    r->ts_ns = ts_ns;
    if (ts_len >= LC_TS_MAX) {
        ts_len = LC_TS_MAX - 1;
    }
    memcpy(r->ts, ts, ts_len);
    r->ts[ts_len] = '\0';
    r->stream = (uint8_t)stream;
    r->truncated = truncated ? 1 : 0;
    r->len = (uint32_t)len;
    memcpy(r->msg, msg, len);
    r->msg[len] = '\0';
    return r;
}

void lc_record_destroy(struct lc_record *r)
{
    if (r == NULL) {
        return;
    }
    lc_meta_unref(r->meta);
    free(r);
}

size_t lc_record_size(const struct lc_record *r)
{
    return sizeof(*r) + r->len + 1;
}
