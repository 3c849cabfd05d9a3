/* test_kafka_msg: a record rendered as a Kafka message (outputs/kafka/kafka_msg.c): the
 * topic, key and header templates, empty values left out, the value in both forms. */
#include "outputs/kafka/kafka_msg.h"

#include <string.h>

#include "core/template.h"
#include "test.h"

static struct lc_template *tpl(const char *s)
{
    struct lc_template *t = NULL;
    char err[LC_TEMPLATE_ERR_CAP];

    lc_template_parse(s, strlen(s), &t, err, sizeof err);
    return t;
}

static int part_is(const struct lc_kafka_msg *m, size_t off, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(lc_kafka_msg_at(m, off), want, len) == 0;
}

TEST(topic_key_and_headers_from_templates)
{
    struct lc_meta *web =
        lc_meta_docker_create("aaaa", "web", "nginx", "node-1", NULL, "shop", "web");
    struct lc_meta *db = lc_meta_docker_create("bbbb", "db", "pg", "node-1", NULL, NULL, NULL);
    struct lc_record *a = lc_record_create(web, 2, 1, "t", 1, "oops", 4, 0);
    struct lc_record *b = lc_record_create(db, 1, 1, "t", 1, "ok\xff", 3, 0);
    struct lc_template_pair hdrs[2] = {{"stream", tpl("{{ stream }}")},
                                       {"project", tpl("{{ compose_project }}")}};
    struct lc_kafka_msg_spec s = {tpl("logs-{{ compose_project }}"), tpl("{{ container_name }}"),
                                  hdrs, 2, 0};
    struct lc_kafka_msg m;

    lc_kafka_msg_init(&m);
    ASSERT_EQ(lc_kafka_msg_render(&s, a, &m), 0);
    ASSERT_STR_EQ(lc_kafka_msg_at(&m, m.topic_off), "logs-shop");
    ASSERT_TRUE(part_is(&m, m.key_off, m.key_len, "web"));
    ASSERT_TRUE(part_is(&m, m.value_off, m.value_len, "oops"));
    ASSERT_EQ(m.n_hdrs, 2);
    ASSERT_STR_EQ(m.hdrs[0].name, "stream");
    ASSERT_TRUE(part_is(&m, m.hdrs[0].off, m.hdrs[0].len, "stderr"));
    ASSERT_TRUE(part_is(&m, m.hdrs[1].off, m.hdrs[1].len, "shop"));
    ASSERT_EQ(lc_kafka_msg_size(&m), 3 + 4 + 6 + 6 + 7 + 4);
    /* the same buffers for the next record: an empty header is left out, bytes that are
     * not UTF-8 become U+FFFD in a message value */
    ASSERT_EQ(lc_kafka_msg_render(&s, b, &m), 0);
    ASSERT_STR_EQ(lc_kafka_msg_at(&m, m.topic_off), "logs-");
    ASSERT_TRUE(part_is(&m, m.key_off, m.key_len, "db"));
    ASSERT_TRUE(part_is(&m, m.value_off, m.value_len, "ok\xef\xbf\xbd"));
    ASSERT_EQ(m.n_hdrs, 1);
    ASSERT_TRUE(part_is(&m, m.hdrs[0].off, m.hdrs[0].len, "stdout"));
    lc_kafka_msg_close(&m);
    lc_template_destroy((struct lc_template *)s.topic);
    lc_template_destroy((struct lc_template *)s.key);
    lc_template_destroy(hdrs[0].value);
    lc_template_destroy(hdrs[1].value);
    lc_record_destroy(a);
    lc_record_destroy(b);
    lc_meta_unref(web);
    lc_meta_unref(db);
}

TEST(no_key_template_and_a_json_value)
{
    struct lc_meta *web = lc_meta_docker_create("aaaa", "web", "nginx", "node-1", NULL, NULL, NULL);
    struct lc_record *a = lc_record_create(web, 1, 1795350283000000000LL, "2026-11-22T12:24:43Z",
                                           20, "say \"hi\"", 8, 0);
    struct lc_kafka_msg_spec s = {tpl("logs"), NULL, NULL, 0, 1};
    struct lc_kafka_msg m;
    const char *v;

    lc_kafka_msg_init(&m);
    ASSERT_EQ(lc_kafka_msg_render(&s, a, &m), 0);
    ASSERT_EQ(m.key_len, 0);
    ASSERT_EQ(m.n_hdrs, 0);
    v = lc_kafka_msg_at(&m, m.value_off);
    ASSERT_TRUE(v[0] == '{' && v[m.value_len - 1] == '}');
    ASSERT_TRUE(memmem(v, m.value_len, "\"message\":\"say \\\"hi\\\"\"", 22) != NULL);
    ASSERT_TRUE(memchr(v, '\n', m.value_len) == NULL);
    lc_kafka_msg_close(&m);
    lc_template_destroy((struct lc_template *)s.topic);
    lc_record_destroy(a);
    lc_meta_unref(web);
}

TEST_MAIN(TEST_ENTRY(topic_key_and_headers_from_templates),
          TEST_ENTRY(no_key_template_and_a_json_value))
