/* test_template: record templates. Every variable against a Docker record, missing values
 * (no such label, no compose attributes, no fields, a record of another kind), labels.NAME
 * with escapes in the labels' JSON, fields, whitespace, literal text and the quoted "{{",
 * what a template depends on, rendering into a capped buffer and a caller's array, and the
 * exact error (with its column) of every kind of bad template. Runs under ASan too. */
#include <errno.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/record.h"
#include "core/template.h"
#include "test.h"

#define ID "4f1c0d2e9a7b"
/* Labels as the Docker input stores them (jansson, compact, sorted), with escapes. */
#define LABELS                                                                                     \
    "{\"a\\\"q\":\"quote\",\"com.docker.compose.project\":\"shop\",\"emoji\":\"\\ud83d\\ude00\","  \
    "\"nested\":{\"x\":[1,\"}\"]},\"num\":42,\"path\":\"C:\\\\dir\\/x\",\"tab\":\"a\\tb\","        \
    "\"tier\":\"web\",\"utf\":\"caf\xc3\xa9\",\"z\":\"\"}"

static struct lc_meta *docker_meta(void)
{
    return lc_meta_docker_create(ID, "shop-web-1", "nginx:1.27", "node-7", LABELS, "shop", "web");
}

static struct lc_record *rec(struct lc_meta *m, int stream)
{
    return lc_record_create(m, stream, 1, "ts", 2, "hello", 5, 0);
}

/* Parses TEXT (which must be valid) and renders it for R into a static string. */
static const char *render(const char *text, const struct lc_record *r)
{
    static char out[512];
    struct lc_template *t = NULL;
    char err[LC_TEMPLATE_ERR_CAP];
    struct lc_buf b;

    if (lc_template_parse(text, strlen(text), &t, err, sizeof err) != 0) {
        snprintf(out, sizeof out, "(parse error: %s)", err);
        return out;
    }
    lc_buf_init(&b, 0);
    if (lc_template_render(t, r, &b) != 0) {
        snprintf(out, sizeof out, "(render error)");
    } else {
        snprintf(out, sizeof out, "%.*s", (int)b.len, b.data != NULL ? b.data : "");
    }
    lc_buf_close(&b);
    lc_template_destroy(t);
    return out;
}

/* The error TEXT fails with ("" when it parses). */
static const char *parse_error(const char *text)
{
    static char err[LC_TEMPLATE_ERR_CAP];
    struct lc_template *t = NULL;
    int rc = lc_template_parse(text, strlen(text), &t, err, sizeof err);
    if (rc == 0) {
        lc_template_destroy(t);
        return "";
    }
    return rc == -EINVAL && t == NULL ? err : "(wrong rc)";
}

TEST(every_variable_of_a_docker_record)
{
    struct lc_meta *m = docker_meta();
    struct lc_record *out = rec(m, LC_STREAM_STDOUT), *err = rec(m, LC_STREAM_STDERR);

    ASSERT_STR_EQ(render("{{ container_name }}", out), "shop-web-1");
    ASSERT_STR_EQ(render("{{ container_id }}", out), ID);
    ASSERT_STR_EQ(render("{{ image }}", out), "nginx:1.27");
    ASSERT_STR_EQ(render("{{ stream }}", out), "stdout");
    ASSERT_STR_EQ(render("{{ stream }}", err), "stderr");
    ASSERT_STR_EQ(render("{{ host }}", out), "node-7");
    ASSERT_STR_EQ(render("{{ compose_project }}", out), "shop");
    ASSERT_STR_EQ(render("{{ compose_service }}", out), "web");
    ASSERT_STR_EQ(render("{{ labels.tier }}", out), "web");
    ASSERT_STR_EQ(render("{{ labels.com.docker.compose.project }}", out), "shop");
    ASSERT_STR_EQ(render("{{host}}/{{ container_name}}:{{stream }}", err),
                  "node-7/shop-web-1:stderr");
    lc_record_destroy(out);
    lc_record_destroy(err);
    lc_meta_unref(m);
}

/* The labels' JSON is read where it is, escapes decoded, other values skipped whole. */
TEST(labels_with_escapes_in_the_json)
{
    struct lc_meta *m = docker_meta();
    struct lc_record *r = rec(m, LC_STREAM_STDOUT);

    ASSERT_STR_EQ(render("{{ labels.a\"q }}", r), "quote");
    ASSERT_STR_EQ(render("{{ labels.path }}", r), "C:\\dir/x");
    ASSERT_STR_EQ(render("{{ labels.tab }}", r), "a\tb");
    ASSERT_STR_EQ(render("{{ labels.emoji }}", r), "\xf0\x9f\x98\x80");
    ASSERT_STR_EQ(render("{{ labels.utf }}", r), "caf\xc3\xa9");
    /* Past a nested value with "}" in a string: the scan still finds later keys. */
    ASSERT_STR_EQ(render("{{ labels.tier }}", r), "web");
    /* Not a string (Docker's are; the JSON could hold others): empty. */
    ASSERT_STR_EQ(render("[{{ labels.num }}][{{ labels.nested }}]", r), "[][]");
    /* A prefix or an extension of a key is another key. */
    ASSERT_STR_EQ(render("[{{ labels.tie }}][{{ labels.tiers }}][{{ labels.z }}]", r), "[][][]");
    lc_record_destroy(r);
    lc_meta_unref(m);
    /* JSON with whitespace anywhere JSON allows it, and a lone surrogate (U+FFFD). */
    m = lc_meta_docker_create(ID, "n", "i", NULL,
                              " {\n \"a\" : [ {\"b\" : \"}\\\"\"} ] ,\t\"c\" :\r\"\\ud800d\" } ",
                              NULL, NULL);
    r = rec(m, LC_STREAM_STDOUT);
    ASSERT_STR_EQ(render("{{ labels.c }}|{{ labels.b }}", r), "\xef\xbf\xbd"
                                                              "d|");
    lc_record_destroy(r);
    lc_meta_unref(m);
}

/* A value the record does not have renders as nothing. */
TEST(missing_values_render_empty)
{
    struct lc_meta *m = lc_meta_docker_create(ID, "solo", "busybox", NULL, NULL, NULL, NULL);
    struct lc_meta *bad = lc_meta_docker_create(ID, "x", "i", NULL, "{\"a\":\"b", NULL, NULL);
    struct lc_record *r = rec(m, LC_STREAM_STDOUT), *rb = rec(bad, 0);
    const char *all = "<{{ host }}|{{ compose_project }}|{{ compose_service }}|{{ labels.x }}|"
                      "{{ fields.level }}>";

    ASSERT_STR_EQ(render(all, r), "<||||>");
    ASSERT_STR_EQ(render("[{{ stream }}][{{ labels.a }}]", rb), "[][]"); /* cut JSON */
    ASSERT_STR_EQ(render("{{ container_name }}-{{ image }}", NULL), "-");
    lc_record_destroy(r);
    lc_record_destroy(rb);
    lc_meta_unref(m);
    lc_meta_unref(bad);
}

TEST(fields_of_the_record)
{
    struct lc_meta *m = docker_meta();
    struct lc_record *r = rec(m, LC_STREAM_STDOUT);
    const struct lc_attr items[] = {{"level", "warn", 0}, {"trace.id", "ab12", 0}};

    ASSERT_STR_EQ(render("{{ fields.level }}", r), "");
    lc_record_set_fields(r, lc_fields_create(items, 2));
    ASSERT_STR_EQ(render("{{ fields.level }}/{{ fields.trace.id }}/{{ fields.nope }}", r),
                  "warn/ab12/");
    lc_record_destroy(r);
    lc_meta_unref(m);
}

/* A record whose metadata is not Docker's: what it has renders, the rest is empty. */
TEST(a_record_of_another_kind)
{
    const struct lc_attr attrs[] = {{"path", "/var/log/app.log", LC_ATTR_HEAD},
                                    {"host", "node-7", 0}};
    struct lc_meta *m = lc_meta_create("file", "/var/log/app.log", "app.log", attrs, 2);
    struct lc_record *r = rec(m, LC_STREAM_STDOUT);

    ASSERT_STR_EQ(render("{{ host }}:{{ stream }}:{{ container_name }}{{ container_id }}"
                         "{{ image }}{{ labels.tier }}{{ compose_service }}",
                         r),
                  "node-7:stdout:");
    lc_record_destroy(r);
    lc_meta_unref(m);
}

TEST(whitespace_and_literal_text)
{
    struct lc_meta *m = docker_meta();
    struct lc_record *r = rec(m, LC_STREAM_STDOUT);

    ASSERT_STR_EQ(render("{{host}}", r), "node-7");
    ASSERT_STR_EQ(render("{{ \t host \n }}", r), "node-7");
    ASSERT_STR_EQ(render("", r), "");
    ASSERT_STR_EQ(render("logcap", r), "logcap");
    ASSERT_STR_EQ(render("a { b } c }} d {", r), "a { b } c }} d {");
    ASSERT_STR_EQ(render("{{ \"{{\" }} host {{\"}\"}}", r), "{{ host }");
    ASSERT_STR_EQ(render("{{\"\"}}x", r), "x");
    ASSERT_STR_EQ(render("{{{ host }}}", r), "(parse error: column 3: unknown variable \"{\"; "
                                             "known: container_name, container_id, image, "
                                             "stream, host, compose_project, compose_service, "
                                             "labels.NAME, fields.NAME)");
    ASSERT_STR_EQ(render("caf\xc3\xa9-{{ image }}", r), "caf\xc3\xa9-nginx:1.27");
    lc_record_destroy(r);
    lc_meta_unref(m);
}

/* Each kind of error names its column (in characters, from 1). */
TEST(errors_with_columns)
{
    ASSERT_STR_EQ(parse_error("{{ hots }}"),
                  "column 4: unknown variable \"hots\"; known: container_name, container_id, "
                  "image, stream, host, compose_project, compose_service, labels.NAME, "
                  "fields.NAME");
    ASSERT_STR_EQ(parse_error("app-{{ host"), "column 5: \"{{\" is not closed by \"}}\"");
    ASSERT_STR_EQ(parse_error("{{ host }} {{"), "column 12: \"{{\" is not closed by \"}}\"");
    ASSERT_STR_EQ(parse_error("x{{ }}"), "column 2: nothing between \"{{\" and \"}}\"");
    ASSERT_STR_EQ(parse_error("{{host image}}"),
                  "column 8: expected \"}}\" after host, got \"image\"");
    ASSERT_STR_EQ(parse_error("{{ labels. }}"), "column 4: labels. needs a name: labels.NAME");
    ASSERT_STR_EQ(parse_error("{{ fields. }}"), "column 4: fields. needs a name: fields.NAME");
    ASSERT_STR_EQ(parse_error("{{ labels }}"),
                  "column 4: unknown variable \"labels\"; known: container_name, container_id, "
                  "image, stream, host, compose_project, compose_service, labels.NAME, "
                  "fields.NAME");
    ASSERT_STR_EQ(parse_error("{{ \"{{ }}"), "column 4: the quoted text is not closed by '\"'");
    ASSERT_STR_EQ(parse_error("{{ \"a\" b }}"), "column 8: expected \"}}\" after \"a\", got \"b\"");
    /* Columns count characters, not bytes; control bytes are shown escaped. */
    ASSERT_STR_EQ(parse_error("caf\xc3\xa9 {{ x\x01 }}"),
                  "column 9: unknown variable \"x\\x01\"; known: container_name, container_id, "
                  "image, stream, host, compose_project, compose_service, labels.NAME, "
                  "fields.NAME");
    ASSERT_STR_EQ(parse_error("{{ host }}{{ labels.a }}{{ \"{{\" }}"), "");
}

/* What a template depends on decides what a caller may cache. */
TEST(uses_and_constants)
{
    struct lc_template *t;
    char err[LC_TEMPLATE_ERR_CAP];
    size_t len = 0;
    struct {
        const char *text;
        unsigned uses;
    } cases[] = {
        {"logcap", 0},
        {"{{ \"{{\" }}x", 0},
        {"{{ host }}-{{ labels.a }}", LC_TEMPLATE_USES_META},
        {"{{ stream }}", LC_TEMPLATE_USES_STREAM},
        {"{{ image }}{{ fields.a }}", LC_TEMPLATE_USES_META | LC_TEMPLATE_USES_FIELDS},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ASSERT_EQ(lc_template_parse(cases[i].text, strlen(cases[i].text), &t, err, sizeof err), 0);
        ASSERT_EQ(lc_template_uses(t), cases[i].uses);
        ASSERT_STR_EQ(lc_template_source(t), cases[i].text);
        ASSERT_TRUE((lc_template_constant(t, NULL) != NULL) == (cases[i].uses == 0));
        lc_template_destroy(t);
    }
    ASSERT_EQ(lc_template_parse("a{{ \"{{\" }}b", 12, &t, err, sizeof err), 0);
    ASSERT_STR_EQ(lc_template_constant(t, &len), "a{{b");
    ASSERT_EQ(len, 4);
    lc_template_destroy(t);
}

/* A full buffer is left as it was; a caller's array gets a cut, terminated value. */
TEST(render_into_capped_and_caller_buffers)
{
    struct lc_meta *m = docker_meta();
    struct lc_record *r = rec(m, LC_STREAM_STDERR);
    struct lc_template *t, *c;
    char err[LC_TEMPLATE_ERR_CAP], small[8];
    const char *text = "{{ container_name }}/{{ stream }}";
    struct lc_buf b;

    ASSERT_EQ(lc_template_parse(text, strlen(text), &t, err, sizeof err), 0);
    lc_buf_init(&b, 12);
    lc_buf_adds(&b, "ab");
    ASSERT_EQ(lc_template_render(t, r, &b), -E2BIG);
    ASSERT_MEM_EQ(b.data, b.len, "ab", 2);
    lc_buf_close(&b);
    ASSERT_EQ(lc_template_render_to(t, r, small, sizeof small), strlen("shop-web-1/stderr"));
    ASSERT_STR_EQ(small, "shop-we");
    c = lc_template_copy(t);
    lc_template_destroy(t);
    ASSERT_EQ(lc_template_render_to(c, r, NULL, 0), 17);
    ASSERT_STR_EQ(lc_template_source(c), text);
    /* From the parts: the metadata alone, as a per-metadata cache renders it. */
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_template_render_from(c, m, 0, NULL, &b), 0);
    ASSERT_MEM_EQ(b.data, b.len, "shop-web-1/", 11);
    lc_buf_close(&b);
    lc_template_destroy(c);
    lc_template_destroy(NULL);
    ASSERT_TRUE(lc_template_copy(NULL) == NULL);
    lc_record_destroy(r);
    lc_meta_unref(m);
}

TEST_MAIN(TEST_ENTRY(every_variable_of_a_docker_record),
          TEST_ENTRY(labels_with_escapes_in_the_json), TEST_ENTRY(missing_values_render_empty),
          TEST_ENTRY(fields_of_the_record), TEST_ENTRY(a_record_of_another_kind),
          TEST_ENTRY(whitespace_and_literal_text), TEST_ENTRY(errors_with_columns),
          TEST_ENTRY(uses_and_constants), TEST_ENTRY(render_into_capped_and_caller_buffers))
