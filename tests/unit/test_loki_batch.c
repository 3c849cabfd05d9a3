/* test_loki_batch: records -> Loki streams: grouping by the rendered label set, capture
 * order within a stream, empty labels left out, line: json, structured metadata, labels
 * from processor fields; and the body that results, read back by loki_decode.h. */
#include "outputs/loki/loki_batch.h"

#include <errno.h>

#include "core/json.h"
#include "core/template.h"
#include "loki_decode.h"
#include "test.h"

struct fixture {
    struct lc_template_pair labels[4], meta[1];
    struct lc_meta *web, *db, *api;
    struct lc_record *r[6];
};

static struct lc_template *tpl(const char *text)
{
    struct lc_template *t = NULL;
    char err[LC_TEMPLATE_ERR_CAP];
    if (lc_template_parse(text, strlen(text), &t, err, sizeof err) != 0) {
        fprintf(stderr, "template %s: %s\n", text, err);
        abort();
    }
    return t;
}

/* web and api are both in Compose project "shop"; db is not in a project. */
static void setup(struct fixture *f, const char *label3)
{
    static const char *const names[4] = {"job", "container", "project", "stream"};
    const char *texts[4] = {"logcap", "{{ container_name }}", label3, "{{ stream }}"};
    for (int i = 0; i < 4; i++) {
        f->labels[i] = (struct lc_template_pair){(char *)names[i], tpl(texts[i])};
    }
    f->meta[0] = (struct lc_template_pair){(char *)"trace", tpl("{{ fields.trace }}")};
    f->web = lc_meta_docker_create("aaaa", "web", "nginx", "node-1", NULL, "shop", "web");
    f->db = lc_meta_docker_create("bbbb", "db", "postgres", "node-1", NULL, NULL, NULL);
    f->api = lc_meta_docker_create("cccc", "api", "api:1", "node-1", NULL, "shop", "api");
    /* capture order: web out, db out, web err, web out, db out, api out */
    f->r[0] = lc_record_create(f->web, LC_STREAM_STDOUT, 1000, "t", 1, "w1", 2, 0);
    f->r[1] = lc_record_create(f->db, LC_STREAM_STDOUT, 1001, "t", 1, "d1", 2, 0);
    f->r[2] = lc_record_create(f->web, LC_STREAM_STDERR, 1002, "t", 1, "w-err", 5, 0);
    f->r[3] = lc_record_create(f->web, LC_STREAM_STDOUT, 999, "t", 1, "w2", 2, 0);
    f->r[4] = lc_record_create(f->db, LC_STREAM_STDOUT, 1004, "t", 1, "d2", 2, 0);
    f->r[5] = lc_record_create(f->api, LC_STREAM_STDOUT, 1005, "t", 1, "a1", 2, 0);
}

static void teardown(struct fixture *f)
{
    for (int i = 0; i < 6; i++) {
        lc_record_destroy(f->r[i]);
    }
    for (int i = 0; i < 4; i++) {
        lc_template_destroy(f->labels[i].value);
    }
    lc_template_destroy(f->meta[0].value);
    lc_meta_unref(f->web);
    lc_meta_unref(f->db);
    lc_meta_unref(f->api);
}

static void decode(const struct lc_loki_batch *b, struct lc_buf *text)
{
    struct lc_buf body;
    lc_buf_init(&body, 0);
    lc_buf_reset(text);
    if (lc_loki_push_proto(&body, b->streams, b->n_streams) != 0 ||
        loki_decode_proto(body.data, body.len, text) != 0) {
        abort();
    }
    lc_buf_close(&body);
}

TEST(grouped_by_label_set_in_capture_order)
{
    struct fixture f;
    struct lc_loki_batch b;
    struct lc_buf text;
    struct lc_loki_batch_opts o;
    setup(&f, "{{ compose_project }}");
    o = (struct lc_loki_batch_opts){f.labels, 4, NULL, 0, 0};
    lc_loki_batch_init(&b);
    lc_buf_init(&text, 0);
    ASSERT_EQ(lc_loki_batch_build(&b, &o, (const struct lc_record *const *)f.r, 6), 0);
    ASSERT_EQ(b.n_streams, 4);
    decode(&b, &text);
    /* streams in order of first appearance; a stream's entries in capture order, each
     * with its own timestamp (999 stays after 1000); db has no project: label left out */
    ASSERT_STR_EQ(text.data,
                  "S {job=\"logcap\", container=\"web\", project=\"shop\", stream=\"stdout\"}\n"
                  "E 1000 w1\nE 999 w2\n"
                  "S {job=\"logcap\", container=\"db\", stream=\"stdout\"}\n"
                  "E 1001 d1\nE 1004 d2\n"
                  "S {job=\"logcap\", container=\"web\", project=\"shop\", stream=\"stderr\"}\n"
                  "E 1002 w-err\n"
                  "S {job=\"logcap\", container=\"api\", project=\"shop\", stream=\"stdout\"}\n"
                  "E 1005 a1\n");
    /* the JSON form's label pairs carry the same values */
    ASSERT_STR_EQ(b.streams[1].pairs[1].value, "db");
    ASSERT_STR_EQ(b.streams[1].pairs[2].value, "");
    lc_loki_batch_free(&b);
    lc_buf_close(&text);
    teardown(&f);
}

/* Labels that do not tell two containers apart put them in one stream; a record whose
 * labels all render empty (db has no project) goes into no stream: Loki would refuse the
 * stream {} and the whole request with it. The batch lists it in unlabelled. */
TEST(same_labels_one_stream)
{
    struct fixture f;
    struct lc_loki_batch b;
    struct lc_buf text;
    struct lc_loki_batch_opts o;
    setup(&f, "{{ compose_project }}");
    o = (struct lc_loki_batch_opts){f.labels + 2, 1, NULL, 0, 0}; /* project only */
    lc_loki_batch_init(&b);
    lc_buf_init(&text, 0);
    ASSERT_EQ(lc_loki_batch_build(&b, &o, (const struct lc_record *const *)f.r, 6), 0);
    decode(&b, &text);
    ASSERT_STR_EQ(text.data, "S {project=\"shop\"}\nE 1000 w1\nE 1002 w-err\nE 999 w2\n"
                             "E 1005 a1\n");
    ASSERT_EQ(b.n_streams, 1);
    ASSERT_EQ(b.n_unlabelled, 2);
    ASSERT_TRUE(b.unlabelled[0] < b.unlabelled[1]);
    ASSERT_TRUE(memcmp(f.r[b.unlabelled[0]]->msg, "d1", 2) == 0);
    ASSERT_TRUE(memcmp(f.r[b.unlabelled[1]]->msg, "d2", 2) == 0);
    lc_loki_batch_free(&b);
    lc_buf_close(&text);
    teardown(&f);
}

/* line: json sends the record as the file output writes it; metadata from a field, left
 * out where the record has none; a label from a field is rendered per record. */
TEST(json_lines_metadata_and_field_labels)
{
    struct fixture f;
    struct lc_loki_batch b;
    struct lc_buf text, want;
    struct lc_loki_batch_opts o;
    struct lc_attr tr = {"trace", "t-42", 0};
    setup(&f, "{{ fields.trace }}");
    lc_record_set_fields(f.r[3], lc_fields_create(&tr, 1));
    o = (struct lc_loki_batch_opts){f.labels + 1, 2, f.meta, 1, 1}; /* container, project */
    lc_loki_batch_init(&b);
    lc_buf_init(&text, 0);
    lc_buf_init(&want, 0);
    ASSERT_EQ(lc_loki_batch_build(&b, &o, (const struct lc_record *const *)f.r, 6), 0);
    decode(&b, &text);
    lc_buf_adds(&want, "S {container=\"web\"}\nE 1000 ");
    lc_json_add_record(&want, f.r[0]);
    want.len--; /* without the '\n' */
    lc_buf_adds(&want, "\nE 1002 ");
    lc_json_add_record(&want, f.r[2]);
    want.len--;
    lc_buf_adds(&want, "\nS {container=\"db\"}\n");
    ASSERT_TRUE(strncmp(text.data, want.data, want.len) == 0);
    /* the record with the field: its own stream, and the metadata */
    ASSERT_TRUE(strstr(text.data, "S {container=\"web\", project=\"t-42\"}\nE 999 ") != NULL);
    ASSERT_TRUE(strstr(text.data, "\nM trace=t-42\n") != NULL);
    ASSERT_EQ(b.n_streams, 4);
    lc_loki_batch_free(&b);
    lc_buf_close(&text);
    lc_buf_close(&want);
    teardown(&f);
}

/* Building again replaces the batch; an empty batch has no stream. */
TEST(rebuild_and_empty)
{
    struct fixture f;
    struct lc_loki_batch b;
    struct lc_loki_batch_opts o;
    setup(&f, "x");
    o = (struct lc_loki_batch_opts){f.labels, 4, NULL, 0, 0};
    lc_loki_batch_init(&b);
    ASSERT_EQ(lc_loki_batch_build(&b, &o, (const struct lc_record *const *)f.r, 6), 0);
    ASSERT_EQ(lc_loki_batch_build(&b, &o, (const struct lc_record *const *)f.r + 1, 1), 0);
    ASSERT_EQ(b.n_streams, 1);
    ASSERT_EQ(b.streams[0].n, 1);
    ASSERT_MEM_EQ(b.streams[0].entries[0].line, b.streams[0].entries[0].len, "d1", 2);
    ASSERT_EQ(lc_loki_batch_build(&b, &o, NULL, 0), 0);
    ASSERT_EQ(b.n_streams, 0);
    lc_loki_batch_free(&b);
    teardown(&f);
}

/* Many streams in one batch: the per-stream storage and both tables grow past their first
 * sizes (16 streams, 64 slots) and every stream keeps its labels and entries. */
TEST(many_streams_grow)
{
    enum { CONTAINERS = 300, RECS = 2 * CONTAINERS };
    struct fixture f;
    struct lc_meta *m[CONTAINERS];
    struct lc_record *r[RECS];
    struct lc_loki_batch b;
    struct lc_loki_batch_opts o;
    setup(&f, "x");
    o = (struct lc_loki_batch_opts){f.labels, 4, f.meta, 1, 0};
    for (int i = 0; i < CONTAINERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        m[i] = lc_meta_docker_create(name, name, "img", "node-1", NULL, NULL, NULL);
    }
    for (int i = 0; i < RECS; i++) {
        char line[16];
        int n = snprintf(line, sizeof line, "l%d", i);
        r[i] = lc_record_create(m[i % CONTAINERS], LC_STREAM_STDOUT, i, "t", 1, line, (size_t)n, 0);
    }
    lc_loki_batch_init(&b);
    for (int round = 0; round < 2; round++) { /* a second build replaces the first */
        ASSERT_EQ(lc_loki_batch_build(&b, &o, (const struct lc_record *const *)r, RECS), 0);
        ASSERT_EQ(b.n_streams, CONTAINERS);
        ASSERT_EQ(b.n_unlabelled, 0);
        for (int s = 0; s < CONTAINERS; s++) {
            char want[64];
            snprintf(want, sizeof want,
                     "{job=\"logcap\", container=\"c%d\", project=\"x\", "
                     "stream=\"stdout\"}",
                     s);
            ASSERT_MEM_EQ(b.streams[s].labels, b.streams[s].labels_len, want, strlen(want));
            snprintf(want, sizeof want, "c%d", s);
            ASSERT_STR_EQ(b.streams[s].pairs[1].value, want);
            ASSERT_EQ(b.streams[s].n, 2);
            ASSERT_EQ(b.streams[s].entries[1].ts_ns, s + CONTAINERS);
            snprintf(want, sizeof want, "l%d", s + CONTAINERS);
            ASSERT_MEM_EQ(b.streams[s].entries[1].line, b.streams[s].entries[1].len, want,
                          strlen(want));
            ASSERT_EQ(b.streams[s].entries[1].n_meta, 0); /* no trace field: left out */
        }
    }
    lc_loki_batch_free(&b);
    for (int i = 0; i < RECS; i++) {
        lc_record_destroy(r[i]);
    }
    for (int i = 0; i < CONTAINERS; i++) {
        lc_meta_unref(m[i]);
    }
    teardown(&f);
}

TEST_MAIN(TEST_ENTRY(grouped_by_label_set_in_capture_order), TEST_ENTRY(same_labels_one_stream),
          TEST_ENTRY(json_lines_metadata_and_field_labels), TEST_ENTRY(rebuild_and_empty),
          TEST_ENTRY(many_streams_grow))
