/* record: see record.h. Metadata and fields are each one allocation: the struct, the
 * attribute array and every string copied behind it; their pre-encoded JSON is a second. */
#include "core/record.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "core/json.h"

/* An attribute list copied into one block: the array, then the strings. */
struct attr_copy {
    struct lc_attr *items;
    uint32_t n;
    char *pool;
};

/* Bytes the N non-NULL-valued ITEMS' strings take, NULs included. */
static size_t strings_size(const struct lc_attr *items, size_t n)
{
    size_t size = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].value != NULL) {
            size += strlen(items[i].key) + strlen(items[i].value) + 2;
        }
    }
    return size;
}

static char *put_str(char **pool, const char *s)
{
    size_t n = strlen(s) + 1;
    char *at = *pool;
    memcpy(at, s, n);
    *pool += n;
    return at;
}

/* Copies the non-NULL-valued ITEMS into OUT->items (room for N) and OUT->pool. */
static void copy_attrs(struct attr_copy *out, const struct lc_attr *items, size_t n)
{
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].value != NULL) {
            struct lc_attr *a = &out->items[out->n++];
            a->key = put_str(&out->pool, items[i].key);
            a->value = put_str(&out->pool, items[i].value);
            a->flags = items[i].flags;
        }
    }
}

/* Encodes the attributes with (flags & LC_ATTR_HEAD) == HEAD into a heap string. The
 * buffer has no cap, so the encoder cannot fail. */
static char *encode(const struct lc_attr *items, size_t n, unsigned head, uint32_t *len)
{
    struct lc_buf b;
    size_t l;
    char *s;
    lc_buf_init(&b, 0);
    lc_json_add_attrs(&b, items, n, head);
    s = lc_buf_take(&b, &l);
    *len = (uint32_t)l;
    return s != NULL ? s : lc_xstrdup("");
}

struct lc_meta *lc_meta_create(const char *kind, const char *id, const char *name,
                               const struct lc_attr *attrs, size_t n)
{
    size_t size = sizeof(struct lc_meta) + n * sizeof(struct lc_attr) + strings_size(attrs, n);
    struct lc_meta *m;
    struct attr_copy c;
    kind = kind != NULL ? kind : "";
    id = id != NULL ? id : "";
    name = name != NULL ? name : "";
    size += strlen(kind) + strlen(id) + strlen(name) + 3;
    m = lc_xcalloc(1, size);
    c.items = (struct lc_attr *)(m + 1);
    c.pool = (char *)(c.items + n);
    copy_attrs(&c, attrs, n);
    m->refs = 1;
    m->attrs = c.items;
    m->n_attrs = c.n;
    m->kind = put_str(&c.pool, kind);
    m->id = put_str(&c.pool, id);
    m->name = put_str(&c.pool, name);
    m->json_head = encode(m->attrs, m->n_attrs, LC_ATTR_HEAD, &m->json_head_len);
    m->json_tail = encode(m->attrs, m->n_attrs, 0, &m->json_tail_len);
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
    free((char *)m->json_head);
    free((char *)m->json_tail);
    free(m);
}

int lc_meta_equal(const struct lc_meta *a, const struct lc_meta *b)
{
    if (strcmp(a->kind, b->kind) != 0 || strcmp(a->id, b->id) != 0 ||
        strcmp(a->name, b->name) != 0 || a->n_attrs != b->n_attrs) {
        return 0;
    }
    for (uint32_t i = 0; i < a->n_attrs; i++) {
        const struct lc_attr *x = &a->attrs[i], *y = &b->attrs[i];
        if (x->flags != y->flags || strcmp(x->key, y->key) != 0 ||
            strcmp(x->value, y->value) != 0) {
            return 0;
        }
    }
    return 1;
}

static const char *attr_get(const struct lc_attr *items, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].key[0] == key[0] && strcmp(items[i].key, key) == 0) {
            return items[i].value;
        }
    }
    return NULL;
}

const char *lc_meta_attr(const struct lc_meta *m, const char *key)
{
    return m != NULL ? attr_get(m->attrs, m->n_attrs, key) : NULL;
}

/* The Docker shape (see record.h). The order of the array is the order of the file
 * output's documented JSON: container_id, container_name, image before "stream"; host,
 * labels, compose_project, compose_service after "truncated". */
struct lc_meta *lc_meta_docker_create(const char *id, const char *name, const char *image,
                                      const char *host, const char *labels_json,
                                      const char *compose_project, const char *compose_service)
{
    const struct lc_attr attrs[] = {
        {"container_id", id != NULL ? id : "", LC_ATTR_HEAD},
        {"container_name", name != NULL ? name : "", LC_ATTR_HEAD},
        {"image", image != NULL ? image : "", LC_ATTR_HEAD},
        {"host", host != NULL && host[0] != '\0' ? host : NULL, 0},
        {"labels", labels_json, LC_ATTR_JSON},
        {"compose_project", compose_project, 0},
        {"compose_service", compose_service, 0},
    };
    return lc_meta_create(LC_META_DOCKER, id, name, attrs, sizeof(attrs) / sizeof(attrs[0]));
}

struct lc_fields *lc_fields_create(const struct lc_attr *items, size_t n)
{
    size_t size = sizeof(struct lc_fields) + n * sizeof(struct lc_attr) + strings_size(items, n);
    struct lc_fields *f = lc_xcalloc(1, size);
    struct attr_copy c;
    c.items = (struct lc_attr *)(f + 1);
    c.pool = (char *)(c.items + n);
    copy_attrs(&c, items, n);
    f->items = c.items;
    f->n = c.n;
    /* Fields have no place before "stream": the HEAD flag is ignored. */
    for (uint32_t i = 0; i < f->n; i++) {
        c.items[i].flags &= ~(unsigned)LC_ATTR_HEAD;
    }
    f->json = encode(f->items, f->n, 0, &f->json_len);
    return f;
}

void lc_fields_free(struct lc_fields *f)
{
    if (f != NULL) {
        free((char *)f->json);
        free(f);
    }
}

const char *lc_fields_get(const struct lc_fields *f, const char *key)
{
    return f != NULL ? attr_get(f->items, f->n, key) : NULL;
}

struct lc_record *lc_record_create(struct lc_meta *meta, int stream, int64_t ts_ns, const char *ts,
                                   size_t ts_len, const char *msg, size_t len, int truncated)
{
    struct lc_record *r = lc_xmalloc(sizeof(*r) + len + 1);
    r->next = NULL;
    r->seq = 0;
    r->meta = meta != NULL ? lc_meta_ref(meta) : NULL;
    r->fields = NULL;
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

void lc_record_set_fields(struct lc_record *r, struct lc_fields *f)
{
    if (r->fields != f) {
        lc_fields_free(r->fields);
        r->fields = f;
    }
}

void lc_record_destroy(struct lc_record *r)
{
    if (r == NULL) {
        return;
    }
    lc_meta_unref(r->meta);
    lc_fields_free(r->fields);
    free(r);
}

size_t lc_record_size(const struct lc_record *r)
{
    size_t size = sizeof(*r) + r->len + 1;
    if (r->fields != NULL) {
        /* The block's exact size is not kept; the encoded piece is a fair stand-in for
         * the copied strings, and the array is counted as is. */
        size += sizeof(*r->fields) + r->fields->n * sizeof(struct lc_attr) +
                2 * (size_t)r->fields->json_len;
    }
    return size;
}
