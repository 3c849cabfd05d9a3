/* fuzz_loki_push: Loki's push encoders against an independent decoder. The input is read
 * as a list of commands (op byte, length byte, that many bytes): 0 starts a stream whose
 * label `l` has the bytes as its value, 1 adds an entry with the bytes as its line, 2 adds
 * a structured metadata pair `mN`=bytes to the last entry, 3 moves the timestamp. Both
 * bodies must decode to exactly what was given, with every ill-formed UTF-8 sequence
 * replaced; the protobuf body must survive snappy. */
#include <snappy-c.h>
#include <stdlib.h>

#include "../unit/loki_decode.h"
#include "core/json.h"
#include "outputs/loki/loki_push.h"

#define MAX_N 64

struct model {
    struct lc_loki_stream streams[MAX_N];
    struct lc_loki_entry entries[MAX_N];
    struct lc_attr labels[MAX_N], metas[MAX_N];
    struct lc_buf label_text[MAX_N];
    char *owned[3 * MAX_N];
    size_t n_streams, n_entries, n_metas, n_owned;
};

static char *keep(struct model *m, const uint8_t *p, size_t n, int nul_free)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    if (nul_free) { /* label and metadata values are C strings */
        for (size_t i = 0; i < n; i++) {
            s[i] = s[i] == '\0' ? ' ' : s[i];
        }
    }
    m->owned[m->n_owned++] = s;
    return s;
}

static void build(struct model *m, const uint8_t *d, size_t size)
{
    int64_t ts = 1795350283463703600LL;
    for (size_t i = 0; i + 2 <= size && m->n_owned < 3 * MAX_N - 1;) {
        uint8_t op = d[i] & 3, n = d[i + 1];
        const uint8_t *p = d + i + 2;
        n = (size_t)n > size - i - 2 ? (uint8_t)(size - i - 2) : n;
        i += 2 + (size_t)n;
        if (op == 0 && m->n_streams < MAX_N) {
            struct lc_loki_stream *s = &m->streams[m->n_streams];
            m->labels[m->n_streams] = (struct lc_attr){"l", keep(m, p, n, 1), 0};
            lc_buf_init(&m->label_text[m->n_streams], 0);
            lc_loki_labels_format(&m->label_text[m->n_streams], &m->labels[m->n_streams], 1);
            *s = (struct lc_loki_stream){
                m->label_text[m->n_streams].data, m->label_text[m->n_streams].len,
                &m->labels[m->n_streams],         1,
                &m->entries[m->n_entries],        0};
            m->n_streams++;
        } else if (op == 1 && m->n_streams > 0 && m->n_entries < MAX_N) {
            m->entries[m->n_entries++] =
                (struct lc_loki_entry){ts, keep(m, p, n, 0), n, &m->metas[m->n_metas], 0};
            m->streams[m->n_streams - 1].n++;
        } else if (op == 2 && m->n_entries > 0 && m->n_metas < MAX_N &&
                   m->entries[m->n_entries - 1].n_meta < 8 &&
                   m->entries[m->n_entries - 1].meta + m->entries[m->n_entries - 1].n_meta ==
                       &m->metas[m->n_metas]) {
            /* names unique within an entry, as a config map gives them (JSON keeps one) */
            static const char *const names[8] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"};
            struct lc_loki_entry *e = &m->entries[m->n_entries - 1];
            m->metas[m->n_metas++] = (struct lc_attr){names[e->n_meta], keep(m, p, n, 1), 0};
            e->n_meta++;
        } else if (op == 3 && n > 0) {
            ts += (int64_t)(int8_t)p[0] * 999999937LL;
        }
    }
}

/* What a decoder must read back; JSON labels leave out an empty value. */
static void expect(const struct model *m, struct lc_buf *out, int json)
{
    for (size_t i = 0; i < m->n_streams; i++) {
        const struct lc_loki_stream *s = &m->streams[i];
        lc_buf_adds(out, "S ");
        if (!json) {
            lc_buf_add(out, s->labels, s->labels_len);
        } else if (s->pairs[0].value[0] != '\0') {
            lc_buf_adds(out, "l=\"");
            lc_json_add_utf8(out, s->pairs[0].value, strlen(s->pairs[0].value));
            lc_buf_addc(out, '"');
        }
        lc_buf_addc(out, '\n');
        for (size_t k = 0; k < s->n; k++) {
            const struct lc_loki_entry *e = &s->entries[k];
            lc_buf_printf(out, "E %" PRId64 " ", e->ts_ns);
            lc_json_add_utf8(out, e->line, e->len);
            lc_buf_addc(out, '\n');
            for (size_t j = 0; j < e->n_meta; j++) {
                lc_buf_printf(out, "M %s=", e->meta[j].key);
                lc_json_add_utf8(out, e->meta[j].value, strlen(e->meta[j].value));
                lc_buf_addc(out, '\n');
            }
        }
    }
}

static void check(const struct lc_buf *got, const struct lc_buf *want)
{
    if (got->len != want->len || memcmp(got->data, want->data, got->len) != 0) {
        fwrite(got->data, 1, got->len, stderr);
        fputs("----\n", stderr);
        fwrite(want->data, 1, want->len, stderr);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct model m = {0};
    struct lc_buf body, packed, got, want;
    size_t plain_len = 0;
    char *plain;
    build(&m, data, size);
    lc_buf_init(&body, 0);
    lc_buf_init(&packed, 0);
    lc_buf_init(&got, 0);
    lc_buf_init(&want, 0);
    if (lc_loki_push_proto(&body, m.streams, m.n_streams) != 0 ||
        lc_loki_snappy(&packed, body.data != NULL ? body.data : "", body.len) != 0 ||
        snappy_uncompressed_length(packed.data, packed.len, &plain_len) != SNAPPY_OK) {
        abort();
    }
    plain = malloc(plain_len + 1);
    if (snappy_uncompress(packed.data, packed.len, plain, &plain_len) != SNAPPY_OK ||
        plain_len != body.len || loki_decode_proto(plain, plain_len, &got) != 0) {
        abort();
    }
    free(plain);
    expect(&m, &want, 0);
    check(&got, &want);
    lc_buf_reset(&body);
    lc_buf_reset(&got);
    lc_buf_reset(&want);
    if (lc_loki_push_json(&body, m.streams, m.n_streams) != 0 ||
        loki_decode_json(body.data, body.len, &got) != 0) {
        abort();
    }
    expect(&m, &want, 1);
    check(&got, &want);
    for (size_t i = 0; i < m.n_owned; i++) {
        free(m.owned[i]);
    }
    for (size_t i = 0; i < m.n_streams; i++) {
        lc_buf_close(&m.label_text[i]);
    }
    lc_buf_close(&body);
    lc_buf_close(&packed);
    lc_buf_close(&got);
    lc_buf_close(&want);
    return 0;
}
