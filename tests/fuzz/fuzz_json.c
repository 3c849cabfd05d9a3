/* fuzz_json: the encoder on arbitrary bytes. Every string and record it writes must parse
 * with jansson, the decoded message must be the input made valid, and text output must be
 * valid UTF-8 (re-encoding it gives the same JSON as encoding the input); a record of any
 * kind, with fields, parses too. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "core/json.h"
#include "core/record.h"

static json_t *parse(const struct lc_buf *b, size_t len, size_t flags)
{
    json_error_t err;
    json_t *j = json_loadb(b->data, len, flags | JSON_ALLOW_NUL, &err);
    if (j == NULL) {
        abort();
    }
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lc_buf a, t, c;
    struct lc_meta *m;
    struct lc_record *r;
    json_t *j, *msg;
    size_t cut = size > 0 ? data[0] % (size + 1) : 0;
    char name[64];
    lc_buf_init(&a, 0);
    lc_buf_init(&t, 0);
    lc_buf_init(&c, 0);
    if (lc_json_add_string(&a, (const char *)data, size) != 0 || a.data[a.len] != '\0') {
        abort();
    }
    json_decref(parse(&a, a.len, JSON_DECODE_ANY));
    /* A record: message is the input, the container name a NUL-free part of it. */
    snprintf(name, sizeof(name), "%.*s", (int)(cut < 63 ? cut : 63), (const char *)data);
    m = lc_meta_docker_create("id", name, "img", size & 1 ? "h" : "", size & 2 ? "{\"k\":1}" : NULL,
                              name, NULL);
    r = lc_record_create(m, 1 + (size & 1), 0, "ts", 2, (const char *)data, size, size & 4);
    if (lc_json_add_record(&t, r) != 0 || t.len == 0 || t.data[t.len - 1] != '\n') {
        abort();
    }
    j = parse(&t, t.len - 1, 0);
    msg = json_object_get(j, "message");
    /* The message decodes to what the string encoder produced. */
    json_t *k = parse(&a, a.len, JSON_DECODE_ANY);
    if (!json_is_string(msg) || json_string_length(msg) != json_string_length(k) ||
        memcmp(json_string_value(msg), json_string_value(k), json_string_length(k)) != 0) {
        abort();
    }
    json_decref(k);
    json_decref(j);
    /* Text is valid UTF-8: encoding it again changes nothing. */
    lc_buf_reset(&t);
    if (lc_json_add_text(&t, r) != 0 || t.data[t.len - 1] != '\n') {
        abort();
    }
    lc_json_add_string(&c, t.data, t.len - 1);
    if (c.len != a.len || memcmp(c.data, a.data, a.len) != 0) {
        abort();
    }
    /* A cap that does not fit leaves the buffer untouched. */
    lc_buf_close(&c);
    lc_buf_init(&c, a.len > 1 ? a.len - 1 : 1);
    lc_buf_add(&c, "x", 1);
    if (a.len > 1 && (lc_json_add_string(&c, (const char *)data, size) == 0 || c.len != 1)) {
        abort();
    }
    lc_record_destroy(r);
    lc_meta_unref(m);
    /* Metadata of any kind and processor fields, with keys and values from the input:
     * the record is still one valid JSON object. */
    {
        const struct lc_attr attrs[] = {{name, name, LC_ATTR_HEAD}, {"b", name, 0}};
        const struct lc_attr items[] = {{"f", name, 0}, {name, "v", LC_ATTR_HEAD}};
        m = lc_meta_create("fuzz", name, name, attrs, 2);
        r = lc_record_create(m, 1, 0, "ts", 2, (const char *)data, size, 0);
        lc_record_set_fields(r, lc_fields_create(items, 2));
        lc_buf_reset(&t);
        if (lc_json_add_record(&t, r) != 0 || t.data[t.len - 1] != '\n') {
            abort();
        }
        j = parse(&t, t.len - 1, 0);
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "b")) ||
            !json_is_string(json_object_get(j, "f"))) {
            abort();
        }
        json_decref(j);
        lc_record_destroy(r);
        lc_meta_unref(m);
    }
    lc_buf_close(&a);
    lc_buf_close(&t);
    lc_buf_close(&c);
    return 0;
}
