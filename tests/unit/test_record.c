/* test_record: source-neutral metadata and processor fields. Attributes kept in order with
 * their flags, NULL values left out, lookup and a missing key, reference counting, the
 * Docker shape, equality; fields present and absent; how a record of another kind (a
 * file) encodes; that a record's JSON is the pre-encoded pieces around the message. */
#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/json.h"
#include "core/record.h"
#include "test.h"

#define TS "2026-11-22T12:24:43.463703600Z"

static struct lc_record *rec(struct lc_meta *m, int stream, const char *msg, int truncated)
{
    return lc_record_create(m, stream, 1795350283463703600LL, TS, strlen(TS), msg, strlen(msg),
                            truncated);
}

/* The JSON of R, compared with EXPECT. */
static int json_is(const struct lc_record *r, const char *expect)
{
    struct lc_buf b;
    int ok;
    lc_buf_init(&b, 0);
    ok = lc_json_add_record(&b, r) == 0 && b.len == strlen(expect) &&
         memcmp(b.data, expect, b.len) == 0;
    if (!ok) {
        fprintf(stderr, "  got  %.*s  want %s", (int)b.len, b.data ? b.data : "", expect);
    }
    lc_buf_close(&b);
    return ok;
}

TEST(attributes_in_order_lookup_and_missing)
{
    char key[] = "path", value[] = "/var/log/app.log";
    const struct lc_attr attrs[] = {
        {key, value, LC_ATTR_HEAD},
        {"skipped", NULL, 0},
        {"n", "{\"a\":1}", LC_ATTR_JSON},
        {"pa", "prefix twin", 0},
    };
    struct lc_meta *m = lc_meta_create("file", "2049:1234", "app.log", attrs, 4);
    /* Copies: the caller's strings may go. */
    key[0] = 'X';
    value[0] = 'X';
    ASSERT_STR_EQ(m->kind, "file");
    ASSERT_STR_EQ(m->id, "2049:1234");
    ASSERT_STR_EQ(m->name, "app.log");
    ASSERT_EQ(m->refs, 1);
    ASSERT_EQ(m->n_attrs, 3); /* the NULL value is left out */
    ASSERT_STR_EQ(m->attrs[0].key, "path");
    ASSERT_EQ(m->attrs[0].flags, LC_ATTR_HEAD);
    ASSERT_STR_EQ(m->attrs[1].key, "n");
    ASSERT_EQ(m->attrs[1].flags, LC_ATTR_JSON);
    ASSERT_STR_EQ(m->attrs[2].key, "pa");
    ASSERT_STR_EQ(lc_meta_attr(m, "path"), "/var/log/app.log");
    ASSERT_STR_EQ(lc_meta_attr(m, "pa"), "prefix twin");
    ASSERT_STR_EQ(lc_meta_attr(m, "n"), "{\"a\":1}");
    ASSERT_TRUE(lc_meta_attr(m, "skipped") == NULL);
    ASSERT_TRUE(lc_meta_attr(m, "image") == NULL);
    ASSERT_TRUE(lc_meta_attr(m, "") == NULL);
    ASSERT_TRUE(lc_meta_attr(m, "pat") == NULL);
    ASSERT_TRUE(lc_meta_attr(NULL, "path") == NULL);
    /* The pre-encoded pieces. */
    ASSERT_MEM_EQ(m->json_head, m->json_head_len, ",\"path\":\"/var/log/app.log\"", 26);
    ASSERT_STR_EQ(m->json_tail, ",\"n\":{\"a\":1},\"pa\":\"prefix twin\"");
    ASSERT_EQ(m->json_tail_len, strlen(m->json_tail));
    lc_meta_unref(m);
}

TEST(empty_and_null_parts)
{
    struct lc_meta *m = lc_meta_create(NULL, NULL, NULL, NULL, 0);
    struct lc_record *r = rec(m, LC_STREAM_STDOUT, "x", 0);
    ASSERT_STR_EQ(m->kind, "");
    ASSERT_STR_EQ(m->id, "");
    ASSERT_STR_EQ(m->name, "");
    ASSERT_EQ(m->n_attrs, 0);
    ASSERT_EQ(m->json_head_len + m->json_tail_len, 0);
    ASSERT_TRUE(lc_meta_attr(m, "id") == NULL);
    /* No attributes: the record's own keys alone. */
    ASSERT_TRUE(json_is(r, "{\"ts\":\"" TS "\",\"stream\":\"stdout\",\"message\":\"x\"}\n"));
    lc_record_destroy(r);
    lc_meta_unref(m);
}

TEST(reference_counting)
{
    struct lc_meta *m = lc_meta_docker_create("id", "web", "nginx", "h", NULL, NULL, NULL);
    struct lc_record *a, *b;
    ASSERT_TRUE(lc_meta_ref(m) == m);
    ASSERT_EQ(m->refs, 2);
    lc_meta_unref(m);
    ASSERT_EQ(m->refs, 1);
    a = rec(m, 1, "a", 0);
    b = rec(m, 2, "b", 0);
    ASSERT_TRUE(a->meta == m && b->meta == m);
    ASSERT_EQ(m->refs, 3);
    lc_record_destroy(a);
    ASSERT_EQ(m->refs, 2);
    /* The creator's reference goes first: the record keeps the metadata alive. */
    lc_meta_unref(m);
    ASSERT_EQ(b->meta->refs, 1);
    ASSERT_STR_EQ(lc_meta_attr(b->meta, "image"), "nginx");
    lc_record_destroy(b); /* frees it (ASan/LSan would see a leak or a use after free) */
    lc_meta_unref(NULL);
    lc_record_destroy(NULL);
}

TEST(docker_shape)
{
    struct lc_meta *m =
        lc_meta_docker_create("abc", "web-1", "nginx:1.25", "", "{\"k\":\"v\"}", NULL, "web");
    struct lc_meta *same =
        lc_meta_docker_create("abc", "web-1", "nginx:1.25", NULL, "{\"k\":\"v\"}", NULL, "web");
    struct lc_meta *other =
        lc_meta_docker_create("abc", "web-2", "nginx:1.25", NULL, "{\"k\":\"v\"}", NULL, "web");
    static const char *const keys[] = {"container_id", "container_name", "image", "labels",
                                       "compose_service"};
    ASSERT_STR_EQ(m->kind, LC_META_DOCKER);
    ASSERT_STR_EQ(m->id, "abc");
    ASSERT_STR_EQ(m->name, "web-1");
    ASSERT_EQ(m->n_attrs, 5); /* an empty host and a NULL compose_project are left out */
    for (uint32_t i = 0; i < m->n_attrs; i++) {
        ASSERT_STR_EQ(m->attrs[i].key, keys[i]);
        ASSERT_EQ((m->attrs[i].flags & LC_ATTR_HEAD) != 0, i < 3);
        ASSERT_EQ((m->attrs[i].flags & LC_ATTR_JSON) != 0, i == 3);
    }
    ASSERT_STR_EQ(lc_meta_attr(m, "container_id"), "abc");
    ASSERT_TRUE(lc_meta_attr(m, "host") == NULL);
    ASSERT_TRUE(lc_meta_equal(m, same));
    ASSERT_TRUE(!lc_meta_equal(m, other));
    lc_meta_unref(m);
    lc_meta_unref(same);
    lc_meta_unref(other);
}

/* The decision for a source of another kind: its attributes under their own keys, HEAD
 * ones before "stream", the others after "truncated"; the kind, id and name are not keys of
 * their own (an input that wants them in the JSON makes them attributes, as Docker does). */
TEST(file_record_encoding)
{
    const struct lc_attr attrs[] = {
        {"path", "/var/log/app/app.log", LC_ATTR_HEAD},
        {"file_name", "app.log", LC_ATTR_HEAD},
        {"host", "node-3", 0},
    };
    struct lc_meta *m = lc_meta_create("file", "2049:1234", "app.log", attrs, 3);
    struct lc_record *r = rec(m, LC_STREAM_STDOUT, "started \"ok\"", 1);
    ASSERT_TRUE(json_is(r, "{\"ts\":\"" TS "\",\"path\":\"/var/log/app/app.log\","
                           "\"file_name\":\"app.log\",\"stream\":\"stdout\","
                           "\"message\":\"started \\\"ok\\\"\",\"truncated\":true,"
                           "\"host\":\"node-3\"}\n"));
    lc_record_destroy(r);
    lc_meta_unref(m);
}

TEST(fields_absent_and_present)
{
    const struct lc_attr items[] = {
        {"level", "warn", 0},
        {"gone", NULL, 0},
        {"trace", "a\"b\x01", LC_ATTR_HEAD}, /* HEAD means nothing for fields */
        {"duration_ms", "12.5", LC_ATTR_JSON},
    };
    struct lc_meta *m = lc_meta_docker_create("id", "web", "nginx", "h", NULL, NULL, NULL);
    struct lc_record *r = rec(m, LC_STREAM_STDERR, "slow", 0);
    struct lc_fields *f;
    size_t bare;
    /* Absent: a NULL pointer, the record as it always was. */
    ASSERT_TRUE(r->fields == NULL);
    ASSERT_TRUE(lc_fields_get(r->fields, "level") == NULL);
    bare = lc_record_size(r);
    ASSERT_EQ(bare, sizeof(*r) + 5);
    ASSERT_TRUE(json_is(r, "{\"ts\":\"" TS "\",\"container_id\":\"id\",\"container_name\":\"web\","
                           "\"image\":\"nginx\",\"stream\":\"stderr\",\"message\":\"slow\","
                           "\"host\":\"h\"}\n"));
    /* Present: after every attribute, in order, NULL values left out. */
    f = lc_fields_create(items, 4);
    ASSERT_EQ(f->n, 3);
    ASSERT_STR_EQ(lc_fields_get(f, "level"), "warn");
    ASSERT_STR_EQ(lc_fields_get(f, "duration_ms"), "12.5");
    ASSERT_TRUE(lc_fields_get(f, "gone") == NULL);
    ASSERT_TRUE(lc_fields_get(f, "nope") == NULL);
    lc_record_set_fields(r, f);
    ASSERT_TRUE(r->fields == f);
    ASSERT_TRUE(lc_record_size(r) > bare);
    ASSERT_TRUE(json_is(r, "{\"ts\":\"" TS "\",\"container_id\":\"id\",\"container_name\":\"web\","
                           "\"image\":\"nginx\",\"stream\":\"stderr\",\"message\":\"slow\","
                           "\"host\":\"h\",\"level\":\"warn\",\"trace\":\"a\\\"b\\u0001\","
                           "\"duration_ms\":12.5}\n"));
    /* Replacing frees the old ones (ASan); the record frees the last. */
    lc_record_set_fields(r, lc_fields_create(items, 1));
    ASSERT_TRUE(json_is(r, "{\"ts\":\"" TS "\",\"container_id\":\"id\",\"container_name\":\"web\","
                           "\"image\":\"nginx\",\"stream\":\"stderr\",\"message\":\"slow\","
                           "\"host\":\"h\",\"level\":\"warn\"}\n"));
    lc_record_destroy(r);
    lc_meta_unref(m);
}

TEST(odd_keys_and_values_stay_valid_json)
{
    const struct lc_attr attrs[] = {
        {"k\"\\\n\xff", "v\xc3\x28\x7f", LC_ATTR_HEAD},
        {"", "", 0},
    };
    struct lc_meta *m = lc_meta_create("x", "i", "n", attrs, 2);
    struct lc_record *r = rec(m, 1, "m", 0);
    struct lc_buf b;
    json_error_t err;
    json_t *j;
    lc_buf_init(&b, 0);
    ASSERT_EQ(lc_json_add_record(&b, r), 0);
    j = json_loadb(b.data, b.len, 0, &err);
    ASSERT_TRUE(j != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "k\"\\\n\xef\xbf\xbd")),
                  "v\xef\xbf\xbd(\x7f");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "")), "");
    json_decref(j);
    lc_buf_close(&b);
    lc_record_destroy(r);
    lc_meta_unref(m);
}

TEST_MAIN(TEST_ENTRY(attributes_in_order_lookup_and_missing), TEST_ENTRY(empty_and_null_parts),
          TEST_ENTRY(reference_counting), TEST_ENTRY(docker_shape),
          TEST_ENTRY(file_record_encoding), TEST_ENTRY(fields_absent_and_present),
          TEST_ENTRY(odd_keys_and_values_stay_valid_json))
