/* spool_format: see spool_format.h. The CRC is libdeflate's CRC-32 (the same values as
 * zlib's crc32, computed with PCLMULQDQ where the CPU has it): zlib 1.2.13's table-driven
 * crc32 took about 1.3 ns a byte here, which made checksums the largest part of what the
 * spool costs per line (bench/bench_spool.c and bench/throughput.sh measure both). Frames
 * are built in place in a caller's buffer and sealed later, so the thread that encodes a
 * line does not also pay for its checksum. */
#include "spool/spool_format.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

#include "base/util.h"

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t frame_crc(const uint8_t *frame, uint32_t len, uint32_t seed)
{
    return libdeflate_crc32(libdeflate_crc32(seed, frame + 2, 6), frame + LC_SPOOL_HDR, len);
}

void lc_spool_frame_seal(uint8_t *frame, uint32_t seed)
{
    lc_spool_put_u32(frame + 8, frame_crc(frame, lc_spool_get_u32(frame + 4), seed));
}

static int known_type(uint8_t t)
{
    return t == LC_SPOOL_DATA || t == LC_SPOOL_META || t == LC_SPOOL_POS;
}

size_t lc_spool_next_magic(const uint8_t *buf, size_t len, size_t from)
{
    while (from < len) {
        const uint8_t *p = memchr(buf + from, 'L', len - from);
        if (p == NULL) {
            return len;
        }
        from = (size_t)(p - buf);
        if (from + 1 >= len || buf[from + 1] == 'C') {
            return from;
        }
        from++;
    }
    return len;
}

enum lc_scan lc_spool_frame_next(const uint8_t *buf, size_t len, size_t *pos,
                                 struct lc_spool_frame *f, size_t *skipped, uint32_t seed)
{
    size_t at = *pos, left = len - at;
    const uint8_t *h = buf + at;
    uint32_t plen;

    *skipped = 0;
    if (left < LC_SPOOL_HDR) {
        /* A prefix of a header: only worth waiting for if it could still be one. */
        if (left == 0 || (h[0] == 'L' && (left < 2 || h[1] == 'C'))) {
            return LC_SCAN_MORE;
        }
        goto bad;
    }
    plen = lc_spool_get_u32(h + 4);
    if (h[0] != 'L' || h[1] != 'C' || !known_type(h[2]) || plen > LC_SPOOL_PAYLOAD_MAX) {
        goto bad;
    }
    if (left - LC_SPOOL_HDR < plen) {
        return LC_SCAN_MORE;
    }
    if (frame_crc(h, plen, seed) != lc_spool_get_u32(h + 8)) {
        goto bad;
    }
    f->type = h[2];
    f->flags = h[3];
    f->len = plen;
    f->payload = h + LC_SPOOL_HDR;
    *pos = at + LC_SPOOL_HDR + plen;
    return LC_SCAN_FRAME;
bad:
    *pos = lc_spool_next_magic(buf, len, at + 1);
    *skipped = *pos - at;
    return LC_SCAN_BAD;
}

/* Appends a frame header for TYPE and LEN payload bytes (CRC zero until sealed) and room
 * for the payload, which the caller fills at the pointer returned. *OFF gets the frame's
 * offset in B. Returns NULL past B's cap. One reservation and plain stores: this runs for
 * every line the Docker input takes. */
static uint8_t *frame_open(struct lc_buf *b, int type, uint32_t len, long *off)
{
    uint8_t *h;
    if (lc_buf_reserve(b, LC_SPOOL_HDR + (size_t)len) != 0) {
        return NULL;
    }
    h = (uint8_t *)b->data + b->len;
    h[0] = 'L';
    h[1] = 'C';
    h[2] = (uint8_t)type;
    h[3] = 0;
    lc_spool_put_u32(h + 4, len);
    lc_spool_put_u32(h + 8, 0);
    *off = (long)b->len;
    b->len += LC_SPOOL_HDR + (size_t)len;
    b->data[b->len] = '\0'; /* lc_buf keeps its text NUL-terminated */
    return h + LC_SPOOL_HDR;
}

long lc_spool_put_data(struct lc_buf *b, uint32_t meta_id, int stream, int64_t ts_ns,
                       const char *ts, size_t ts_len, const char *msg, size_t len, int truncated)
{
    return lc_spool_put_data_fields(b, meta_id, stream, ts_ns, ts, ts_len, NULL, 0, msg, len,
                                    truncated);
}

long lc_spool_put_data_fields(struct lc_buf *b, uint32_t meta_id, int stream, int64_t ts_ns,
                              const char *ts, size_t ts_len, const char *fields, size_t fields_len,
                              const char *msg, size_t len, int truncated)
{
    size_t extra = fields != NULL ? 4 + fields_len : 0;
    uint8_t *p;
    long off;
    if (ts_len > 255) {
        ts_len = 255;
    }
    if (extra > LC_SPOOL_PAYLOAD_MAX) {
        return -E2BIG;
    }
    p = frame_open(b, LC_SPOOL_DATA, (uint32_t)(LC_SPOOL_DATA_FIXED + ts_len + extra + len), &off);
    if (p == NULL) {
        return -E2BIG;
    }
    lc_spool_put_u32(p, meta_id);
    lc_spool_put_u64(p + 4, (uint64_t)ts_ns);
    p[12] = (uint8_t)stream;
    p[13] = (truncated ? LC_SPOOL_D_TRUNCATED : 0) | (fields != NULL ? LC_SPOOL_D_FIELDS : 0);
    p[14] = (uint8_t)ts_len;
    memcpy(p + LC_SPOOL_DATA_FIXED, ts, ts_len);
    p += LC_SPOOL_DATA_FIXED + ts_len;
    if (fields != NULL) {
        lc_spool_put_u32(p, (uint32_t)fields_len);
        memcpy(p + 4, fields, fields_len);
        p += extra;
    }
    if (len > 0) {
        memcpy(p, msg, len);
    }
    return off;
}

long lc_spool_put_meta(struct lc_buf *b, uint32_t meta_id, const char *json, size_t len)
{
    long off;
    uint8_t *p = frame_open(b, LC_SPOOL_META, (uint32_t)(4 + len), &off);
    if (p == NULL) {
        return -E2BIG;
    }
    lc_spool_put_u32(p, meta_id);
    if (len > 0) {
        memcpy(p + 4, json, len);
    }
    return off;
}

long lc_spool_put_pos(struct lc_buf *b, const char *key, size_t klen, const char *value,
                      size_t vlen)
{
    uint8_t *p;
    long off;
    if (klen > UINT16_MAX) {
        return -EINVAL;
    }
    if (value == NULL) {
        vlen = 0;
    }
    p = frame_open(b, LC_SPOOL_POS, (uint32_t)(2 + klen + vlen), &off);
    if (p == NULL) {
        return -E2BIG;
    }
    put_u16(p, (uint16_t)klen);
    memcpy(p + 2, key, klen);
    if (vlen > 0) {
        memcpy(p + 2 + klen, value, vlen);
    }
    return off;
}

int lc_spool_data_decode(const struct lc_spool_frame *f, struct lc_spool_data *out)
{
    const uint8_t *p = f->payload;
    if (f->type != LC_SPOOL_DATA || f->len < LC_SPOOL_DATA_FIXED) {
        return -EINVAL;
    }
    out->meta_id = lc_spool_get_u32(p);
    out->ts_ns = (int64_t)lc_spool_get_u64(p + 4);
    out->stream = p[12];
    out->truncated = (p[13] & LC_SPOOL_D_TRUNCATED) != 0;
    out->ts_len = p[14];
    if ((out->stream != LC_STREAM_STDOUT && out->stream != LC_STREAM_STDERR) ||
        out->ts_len > f->len - LC_SPOOL_DATA_FIXED) {
        return -EINVAL;
    }
    out->ts = (const char *)p + LC_SPOOL_DATA_FIXED;
    out->msg = out->ts + out->ts_len;
    out->len = f->len - LC_SPOOL_DATA_FIXED - out->ts_len;
    out->fields = NULL;
    out->fields_len = 0;
    if ((p[13] & LC_SPOOL_D_FIELDS) != 0) {
        if (out->len < 4 || lc_spool_get_u32((const uint8_t *)out->msg) > out->len - 4) {
            return -EINVAL;
        }
        out->fields_len = lc_spool_get_u32((const uint8_t *)out->msg);
        out->fields = out->msg + 4;
        out->msg = out->fields + out->fields_len;
        out->len -= 4 + out->fields_len;
    }
    return 0;
}

int lc_spool_meta_decode(const struct lc_spool_frame *f, uint32_t *id, const char **json,
                         size_t *len)
{
    if (f->type != LC_SPOOL_META || f->len < 4) {
        return -EINVAL;
    }
    *id = lc_spool_get_u32(f->payload);
    *json = (const char *)f->payload + 4;
    *len = f->len - 4;
    return 0;
}

int lc_spool_pos_decode(const struct lc_spool_frame *f, const char **key, size_t *klen,
                        const char **value, size_t *vlen)
{
    if (f->type != LC_SPOOL_POS || f->len < 2) {
        return -EINVAL;
    }
    *klen = get_u16(f->payload);
    /* A key is text: one with a NUL would be recovered cut at it, under another key. */
    if (*klen == 0 || *klen > f->len - 2 || memchr(f->payload + 2, 0, *klen) != NULL) {
        return -EINVAL;
    }
    *key = (const char *)f->payload + 2;
    *value = *key + *klen;
    *vlen = f->len - 2 - *klen;
    return 0;
}

/* ---- metadata as JSON ------------------------------------------------------------------
 * Two formats, told apart by "v":
 *
 * Format 1, Docker's metadata as every version before issue 9 wrote it (keys sorted, no "v"):
 *   {"compose_project"?,"compose_service"?,"host","id","image","labels"?,"name"}
 * It is read into the metadata lc_meta_docker_create makes, and it is still what this
 * version writes for Docker metadata whenever reading it back gives the same metadata (that
 * is, for everything the Docker input makes): the bytes on disk stay those of earlier
 * versions, so an upgrade, and a downgrade, read every spool whole, and the spool's sizes
 * (segments, checkpoints) do not change.
 *
 * Format 2, any other metadata (another kind, or Docker metadata format 1 cannot hold):
 *   {"v":2,"kind":K,"id":I,"name":N,"attrs":[[KEY,VALUE,FLAGS],...]}
 * in the metadata's attribute order; VALUE is a string, or with LC_ATTR_JSON in FLAGS the
 * JSON value itself, written back as compact JSON in the order it had. An earlier version
 * reads it as format 1 (id and name kept, attributes not).
 *
 * In both, a value jansson cannot hold (a string that is not UTF-8, JSON that does not
 * parse) is left out, as format 1 always did. A "v" other than 2 is a later format: the
 * metadata does not decode (the reader gives "unknown"). */

#define META_FORMAT 2

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v != NULL) {
        json_t *s = json_string(v);
        if (s != NULL) {
            json_object_set_new(o, key, s);
        }
    }
}

static json_t *attrs_to_json(const struct lc_attr *items, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct lc_attr *a = &items[i];
        json_t *v = (a->flags & LC_ATTR_JSON) != 0
                        ? json_loads(a->value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
                        : json_string(a->value);
        json_t *k = json_string(a->key);
        if (v != NULL && k != NULL) {
            json_array_append_new(list, json_pack("[ooi]", k, v, (int)a->flags));
        } else {
            json_decref(v);
            json_decref(k);
        }
    }
    return list;
}

static char *to_json_v2(const struct lc_meta *m)
{
    json_t *o = json_object();
    char *text;
    json_object_set_new(o, "v", json_integer(META_FORMAT));
    set_str(o, "kind", m->kind);
    set_str(o, "id", m->id);
    set_str(o, "name", m->name);
    json_object_set_new(o, "attrs", attrs_to_json(m->attrs, m->n_attrs));
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Docker metadata as format 1, or NULL when format 1 would not read back the same. */
static char *to_json_v1(const struct lc_meta *m)
{
    json_t *o = json_object();
    const char *labels = lc_meta_attr(m, "labels"), *host = lc_meta_attr(m, "host");
    struct lc_meta *back;
    char *text;
    set_str(o, "id", m->id);
    set_str(o, "name", m->name);
    set_str(o, "image", lc_meta_attr(m, "image"));
    set_str(o, "host", host != NULL ? host : "");
    set_str(o, "compose_project", lc_meta_attr(m, "compose_project"));
    set_str(o, "compose_service", lc_meta_attr(m, "compose_service"));
    if (labels != NULL) {
        json_t *l = json_loads(labels, 0, NULL);
        if (l != NULL) {
            json_object_set_new(o, "labels", l);
        }
    }
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    back = text != NULL ? lc_spool_meta_from_json(text, strlen(text)) : NULL;
    if (back == NULL || !lc_meta_equal(m, back)) {
        free(text);
        text = NULL;
    }
    lc_meta_unref(back);
    return text;
}

char *lc_spool_meta_to_json(const struct lc_meta *m, size_t *len)
{
    char *text = strcmp(m->kind, LC_META_DOCKER) == 0 ? to_json_v1(m) : NULL;
    if (text == NULL) {
        text = to_json_v2(m);
    }
    if (text == NULL) {
        text = lc_xstrdup("{}");
    }
    *len = strlen(text);
    return text;
}

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Format 1: Docker's metadata as earlier versions wrote it. */
static struct lc_meta *meta_from_v1(json_t *o, const char *id)
{
    json_t *labels = json_object_get(o, "labels");
    char *labels_json = NULL;
    struct lc_meta *m;
    if (json_is_object(labels) && json_object_size(labels) > 0) {
        labels_json = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    }
    m = lc_meta_docker_create(id, get_str(o, "name") ? get_str(o, "name") : id,
                              get_str(o, "image") ? get_str(o, "image") : "",
                              get_str(o, "host") ? get_str(o, "host") : "", labels_json,
                              get_str(o, "compose_project"), get_str(o, "compose_service"));
    free(labels_json);
    return m;
}

/* Reads one [KEY,VALUE,FLAGS] into A (VALUE's text in *OWNED when dumped). */
static int attr_from_json(json_t *e, struct lc_attr *a, char **owned)
{
    json_t *k = json_array_get(e, 0), *v = json_array_get(e, 1), *fl = json_array_get(e, 2);
    *owned = NULL;
    if (!json_is_array(e) || json_array_size(e) != 3 || !json_is_string(k) ||
        !json_is_integer(fl) || json_integer_value(fl) < 0 || v == NULL) {
        return -EINVAL;
    }
    a->key = json_string_value(k);
    a->flags = (unsigned)json_integer_value(fl) & (LC_ATTR_JSON | LC_ATTR_HEAD);
    if ((a->flags & LC_ATTR_JSON) != 0) {
        *owned = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        a->value = *owned;
    } else {
        a->value = json_string_value(v);
    }
    return a->value != NULL ? 0 : -EINVAL;
}

/* An attribute list read from JSON: its strings point into the JSON tree, but for the
 * dumped JSON values, owned here. */
struct attr_list {
    struct lc_attr *items;
    char **owned;
    size_t n;
};

/* Reads LIST, an array of [KEY,VALUE,FLAGS] (NULL: empty). Returns 0 or -EINVAL. */
static int list_from_json(json_t *list, struct attr_list *out)
{
    size_t got = 0;
    out->n = json_array_size(list);
    out->items = lc_xcalloc(out->n + 1, sizeof(*out->items));
    out->owned = lc_xcalloc(out->n + 1, sizeof(*out->owned));
    if (list != NULL && !json_is_array(list)) {
        return -EINVAL;
    }
    while (got < out->n &&
           attr_from_json(json_array_get(list, got), &out->items[got], &out->owned[got]) == 0) {
        got++;
    }
    return got == out->n ? 0 : -EINVAL;
}

static void list_free(struct attr_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->owned[i]);
    }
    free(l->owned);
    free(l->items);
}

static struct lc_meta *meta_from_v2(json_t *o, const char *id)
{
    struct attr_list l;
    struct lc_meta *m = NULL;
    const char *kind = get_str(o, "kind");
    if (list_from_json(json_object_get(o, "attrs"), &l) == 0 && kind != NULL) {
        m = lc_meta_create(kind, id, get_str(o, "name") ? get_str(o, "name") : id, l.items, l.n);
    }
    list_free(&l);
    return m;
}

struct lc_meta *lc_spool_meta_from_json(const char *json, size_t len)
{
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = json_object_get(o, "v");
    struct lc_meta *m = NULL;
    const char *id = get_str(o, "id");

    if (json_is_object(o) && id != NULL) {
        if (v == NULL) {
            m = meta_from_v1(o, id);
        } else if (json_is_integer(v) && json_integer_value(v) == META_FORMAT) {
            m = meta_from_v2(o, id);
        }
    }
    json_decref(o);
    return m;
}

/* ---- a record's fields as JSON ----------------------------------------------------------
 * The same [[KEY,VALUE,FLAGS],...] list as metadata format 2's attributes. */

char *lc_spool_fields_to_json(const struct lc_fields *f, size_t *len)
{
    json_t *list = attrs_to_json(f->items, f->n);
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (text == NULL) {
        text = lc_xstrdup("[]");
    }
    *len = strlen(text);
    return text;
}

struct lc_fields *lc_spool_fields_from_json(const char *json, size_t len)
{
    json_t *list = json_loadb(json, len, 0, NULL);
    struct lc_fields *f = NULL;
    struct attr_list l;
    if (json_is_array(list) && list_from_json(list, &l) == 0) {
        f = lc_fields_create(l.items, l.n);
    }
    if (json_is_array(list)) {
        list_free(&l);
    }
    json_decref(list);
    return f;
}

/* ---- segment header -------------------------------------------------------------------- */

void lc_spool_seg_header(uint8_t out[LC_SPOOL_SEG_HDR], uint64_t seg_id, uint32_t seed)
{
    memcpy(out, LC_SPOOL_SEG_MAGIC, 8);
    lc_spool_put_u64(out + 8, seg_id);
    lc_spool_put_u32(out + 16, seed);
    lc_spool_put_u32(out + 20, ~seed);
}

int lc_spool_seg_header_check(const uint8_t *hdr, size_t len, uint64_t *seg_id, uint32_t *seed)
{
    if (len < LC_SPOOL_SEG_HDR) {
        *seed = 0;
        return -EINVAL;
    }
    *seed = lc_spool_get_u32(hdr + 16);
    *seg_id = lc_spool_get_u64(hdr + 8);
    if (memcmp(hdr, LC_SPOOL_SEG_MAGIC, 8) != 0 || *seed != ~lc_spool_get_u32(hdr + 20)) {
        return -EINVAL;
    }
    return 0;
}

uint32_t lc_spool_seg_seed_other(const uint8_t *hdr)
{
    return ~lc_spool_get_u32(hdr + 20);
}
