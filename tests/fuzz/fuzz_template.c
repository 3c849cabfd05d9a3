/* fuzz_template: the template parser on arbitrary bytes, and the in-place label scan on
 * arbitrary labels JSON. A template that parses renders against a fixed Docker record with
 * labels and fields: the same value into an lc_buf, into a caller's array (cut and
 * terminated) and from a copy; a constant template renders its constant; a failed parse
 * leaves a "column N: " message. Then the input is a record's labels JSON: every lookup
 * renders without crashing, and when jansson reads the text as an object (duplicate keys
 * rejected), each of its string labels renders exactly as jansson decodes it. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "core/record.h"
#include "core/template.h"

#define LABELS "{\"tier\":\"web\",\"a\\\"q\":\"x\\u00e9\\ud83d\\ude00\",\"n\":{\"k\":[1,\"}\"]}}"

static struct lc_template *parse(const char *text, size_t len)
{
    struct lc_template *t = NULL;
    char err[LC_TEMPLATE_ERR_CAP];

    if (lc_template_parse(text, len, &t, err, sizeof err) != 0) {
        if (t != NULL || strncmp(err, "column ", 7) != 0) {
            abort();
        }
        return NULL;
    }
    return t;
}

/* Renders T for R every way there is and checks that the results agree. */
static void render_all(const struct lc_template *t, const struct lc_record *r, struct lc_buf *b)
{
    char small[16];
    size_t n, k;
    struct lc_template *c = lc_template_copy(t);
    struct lc_buf capped;
    const char *constant = lc_template_constant(t, &k);

    lc_buf_reset(b);
    if (lc_template_render(t, r, b) != 0) {
        abort();
    }
    n = lc_template_render_to(c, r, small, sizeof small);
    if (n != b->len || memcmp(small, b->data, n < sizeof small ? n : sizeof small - 1) != 0 ||
        strlen(small) > n) {
        abort();
    }
    if (constant != NULL && (k != b->len || memcmp(constant, b->data, k) != 0)) {
        abort();
    }
    if (strcmp(lc_template_source(c), lc_template_source(t)) != 0) {
        abort();
    }
    /* A cap the value passes leaves the buffer as it was. */
    lc_buf_init(&capped, 2);
    lc_buf_addc(&capped, 'x');
    if (lc_template_render(t, r, &capped) != (b->len > 1 ? -E2BIG : 0) ||
        capped.len != (b->len > 1 ? 1 : 1 + b->len)) {
        abort();
    }
    lc_buf_close(&capped);
    lc_template_destroy(c);
}

/* The labels of a record are the input: each string label jansson finds renders as
 * jansson decodes it. */
static void labels_from_input(const uint8_t *data, size_t size, struct lc_buf *b)
{
    char *labels = strndup((const char *)data, size), text[600];
    struct lc_meta *m = lc_meta_docker_create("id", "n", "i", "h", labels, NULL, NULL);
    struct lc_record *r = lc_record_create(m, 1, 0, "ts", 2, "m", 1, 0);
    json_t *j = json_loads(labels, JSON_REJECT_DUPLICATES, NULL);
    struct lc_template *t = parse("{{ labels.a }}{{ labels.tier }}", 31);
    const char *key;
    json_t *v;
    int i = 0;

    render_all(t, r, b);
    lc_template_destroy(t);
    json_object_foreach(j, key, v)
    {
        int n = snprintf(text, sizeof text, "{{ labels.%s }}", key);
        if (i++ == 8 || n < 0 || (size_t)n >= sizeof text) {
            break;
        }
        if (!json_is_string(v) || strpbrk(key, " \t\r\n") != NULL || strstr(key, "}}") != NULL ||
            key[0] == '\0') {
            continue;
        }
        t = parse(text, (size_t)n);
        if (t == NULL) {
            abort(); /* a name without whitespace or "}}" always parses */
        }
        render_all(t, r, b);
        if (b->len != json_string_length(v) || memcmp(b->data, json_string_value(v), b->len) != 0) {
            abort();
        }
        lc_template_destroy(t);
    }
    json_decref(j);
    lc_record_destroy(r);
    lc_meta_unref(m);
    free(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct lc_attr items[] = {{"level", "warn", 0}, {"trace.id", "ab12", 0}};
    struct lc_meta *m = lc_meta_docker_create("4f1c0d2e9a7b", "shop-web-1", "nginx:1.27", "node-7",
                                              LABELS, "shop", size & 1 ? "web" : NULL);
    struct lc_record *r = lc_record_create(m, 1 + (size & 1), 0, "ts", 2, "hello", 5, 0);
    struct lc_template *t = parse((const char *)data, size);
    struct lc_buf b;

    lc_record_set_fields(r, lc_fields_create(items, 2));
    lc_buf_init(&b, 0);
    if (t != NULL) {
        render_all(t, r, &b);
        render_all(t, NULL, &b);
        lc_template_destroy(t);
    }
    labels_from_input(data, size, &b);
    lc_buf_close(&b);
    lc_record_destroy(r);
    lc_meta_unref(m);
    return 0;
}
