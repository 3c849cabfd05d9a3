/* test_output_loki: the Loki output (outputs/loki/loki.c) end to end against the in-process
 * HTTP server of http_server.h, with its options loaded by the real config loader from YAML
 * (so the defaults and checks apply). Each request the server saw is decoded (snappy or
 * gzip, then loki_decode.h) and compared with what was meant; each answer's effect is read
 * from the send report (output.h): the result, the refused and done records, why, the wait,
 * the config fault and the requests counted by class. */
#include "outputs/loki/loki.h"

#include <errno.h>
#include <libdeflate.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "config/config.h"
#include "core/json.h"
#include "http_server.h"
#include "output_open.h"
#include "loki_decode.h"
#include "test.h"

#define PROTO "Content-Type: application/x-protobuf\n"
#define JSON "Content-Type: application/json\n"
#define WEB_OUT                                                                                    \
    "{job=\"logcap\", host=\"node-1\", container=\"web\", compose_project=\"shop\", "              \
    "compose_service=\"web\", stream=\"stdout\"}"
#define WEB_ERR                                                                                    \
    "{job=\"logcap\", host=\"node-1\", container=\"web\", compose_project=\"shop\", "              \
    "compose_service=\"web\", stream=\"stderr\"}"
#define DB_OUT "{job=\"logcap\", host=\"node-1\", container=\"db\", stream=\"stdout\"}"

/* ---- an output loaded from YAML ---- */

/* Creates the output of `outputs: [{type: loki, url: URL, ...KEYS}]` (KEYS: more lines of
 * the entry, each "    key: value\n"). Returns 0, or -1 with the errors printed. */
static int out_open(struct out *o, const char *url, const char *keys)
{
    char text[2048];

    snprintf(text, sizeof text, "outputs:\n  - type: loki\n    url: %s\n%s", url, keys);
    return out_open_text(o, &lc_output_loki, text);
}

/* The same, with the url of server S. */
static int out_open_srv(struct out *o, const struct srv *s, const char *keys)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", s->port);
    return out_open(o, url, keys);
}

/* ---- records ---- */

/* Capture order: web out, db out, web err, web out (an earlier timestamp: order is the
 * capture's, timestamps are the records' own). web is in Compose project "shop". */
struct recs {
    struct lc_meta *web, *db;
    struct lc_record *r[4];
};

static void recs_make(struct recs *x)
{
    x->web = lc_meta_docker_create("aaaa", "web", "nginx", "node-1", NULL, "shop", "web");
    x->db = lc_meta_docker_create("bbbb", "db", "postgres", "node-1", NULL, NULL, NULL);
    x->r[0] = lc_record_create(x->web, LC_STREAM_STDOUT, 1795350283463703600LL, "t", 1, "GET / 200",
                               9, 0);
    x->r[1] =
        lc_record_create(x->db, LC_STREAM_STDOUT, 1795350283463703601LL, "t", 1, "ready", 5, 0);
    x->r[2] = lc_record_create(x->web, LC_STREAM_STDERR, 1795350283463703602LL, "t", 1,
                               "warn: slow", 10, 0);
    x->r[3] = lc_record_create(x->web, LC_STREAM_STDOUT, 1795350283000000000LL, "t", 1,
                               "GET /x 404", 10, 0);
}

static void recs_free(struct recs *x)
{
    for (int i = 0; i < 4; i++) {
        lc_record_destroy(x->r[i]);
    }
    lc_meta_unref(x->web);
    lc_meta_unref(x->db);
}

/* ---- what the server saw ---- */

/* The canonical text (loki_decode.h) of request R's body: un-gzipped when it says
 * Content-Encoding: gzip, un-snappied when it is protobuf. Returns 0 or -1. */
static int decode(const struct req *r, struct lc_buf *text)
{
    size_t n = 0, cap = 4 << 20;
    char *plain = malloc(cap);
    const char *body = (const char *)r->body;
    size_t len = r->len;
    int rc = -1;

    lc_buf_reset(text);
    if (has_header(r, "Content-Encoding: gzip\n")) {
        struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
        rc =
            libdeflate_gzip_decompress(d, body, len, plain, cap, &n) == LIBDEFLATE_SUCCESS ? 0 : -1;
        libdeflate_free_decompressor(d);
        body = plain;
        len = n;
        if (rc != 0) {
            goto out;
        }
    }
    if (has_header(r, PROTO)) {
        char *raw;
        if (snappy_uncompressed_length(body, len, &n) != SNAPPY_OK) {
            goto out;
        }
        raw = malloc(n + 1);
        rc = snappy_uncompress(body, len, raw, &n) == SNAPPY_OK ? 0 : -1;
        rc = rc != 0 ? rc : loki_decode_proto(raw, n, text);
        free(raw);
    } else if (has_header(r, JSON)) {
        rc = loki_decode_json(body, len, text);
    }
out:
    free(plain);
    lc_buf_addc(text, '\0');
    text->len--;
    return rc;
}

/* Whether request I of S decodes to exactly WANT. */
static int body_is(const struct srv *s, int i, const char *want)
{
    struct lc_buf t;
    int ok;

    lc_buf_init(&t, 0);
    ok = i < s->n && decode(&s->reqs[i], &t) == 0 && strcmp(t.data, want) == 0;
    if (!ok) {
        fprintf(stderr, "  request %d decodes to:\n%s  expected:\n%s", i, t.data ? t.data : "",
                want);
    }
    lc_buf_close(&t);
    return ok;
}

/* How many times the entry "E TS LINE" appears in requests FROM..TO-1 of S. */
static int times_sent(const struct srv *s, int from, int to, const struct lc_record *r)
{
    struct lc_buf t;
    char entry[128];
    int count = 0;

    snprintf(entry, sizeof entry, "E %lld %s\n", (long long)r->ts_ns, r->msg);
    lc_buf_init(&t, 0);
    for (int i = from; i < to && i < s->n; i++) {
        if (decode(&s->reqs[i], &t) == 0) {
            for (const char *p = strstr(t.data, entry); p != NULL; p = strstr(p + 1, entry)) {
                count++;
            }
        }
    }
    lc_buf_close(&t);
    return count;
}

static int contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        fprintf(stderr, "  \"%s\" does not contain \"%s\"\n", hay ? hay : "(null)", needle);
        return 0;
    }
    return 1;
}

/* Whether any of REP's why and reasons, or LOG, holds SECRET. */
static int leaks(const struct lc_send_report *rep, const char *log, const char *secret)
{
    int found = strstr(rep->why, secret) != NULL || strstr(log, secret) != NULL;
    for (size_t i = 0; i < rep->n; i++) {
        found = found || (rep->reasons[i] != NULL && strstr(rep->reasons[i], secret) != NULL);
    }
    if (found) {
        fprintf(stderr, "  \"%s\" leaked: why \"%s\", log:\n%s", secret, rep->why, log);
    }
    return found;
}

/* ---- tests ---- */

/* First in the list: lc_log lets one call site log 10 lines a minute, and the failures the
 * other tests provoke share this one's call site. */
TEST(no_secret_in_reports_or_log)
{
    static const char *const secrets[] = {"url-pw", "tok-secret-1", "pw-secret-2"};
    struct srv s;
    struct out o;
    struct recs x;
    struct capture k;
    char url[96], *log;
    enum lc_send_result r[6] = {LC_REJECT, LC_REJECT, LC_REJECT, LC_REJECT, LC_REJECT, LC_REJECT};
    int leaked = 0, opened[2], bearer, basic;

    recs_make(&x);
    srv_start(&s);
    snprintf(url, sizeof url, "http://bob:url-pw@127.0.0.1:%u", s.port);
    srv_queue(&s, 401, NULL, "invalid credentials\n");
    srv_queue(&s, 400, NULL, "bad request\n");
    srv_queue(&s, 500, NULL, "internal\n");
    srv_queue(&s, 413, NULL, "too large\n");
    srv_queue(&s, 403, NULL, "forbidden\n");
    /* no ASSERT while stderr is captured: its message would be lost */
    capture_start(&k);
    opened[0] = out_open(&o, url, "    bearer_token: tok-secret-1\n");
    for (int i = 0; i < 4 && opened[0] == 0; i++) {
        r[i] = out_send(&o, x.r, i < 3 ? 4 : 1);
        for (int j = 0; j < 3; j++) {
            leaked |= leaks(&o.rep, "", secrets[j]);
        }
    }
    if (opened[0] == 0) {
        out_close(&o);
    }
    /* basic_auth; then no server at all */
    opened[1] = out_open(&o, url, "    basic_auth: {username: alice, password: pw-secret-2}\n");
    if (opened[1] == 0) {
        r[4] = out_send(&o, x.r, 2);
        for (int j = 0; j < 3; j++) {
            leaked |= leaks(&o.rep, "", secrets[j]);
        }
    }
    bearer = s.n > 0 && has_header(&s.reqs[0], "Authorization: Bearer tok-secret-1\n");
    basic = s.n > 4 && has_header(&s.reqs[4], "Authorization: Basic YWxpY2U6cHctc2VjcmV0LTI=\n");
    srv_stop(&s);
    if (opened[1] == 0) {
        r[5] = out_send(&o, x.r, 2);
    }
    log = capture_stop(&k);
    for (int j = 0; j < 3 && opened[1] == 0; j++) {
        leaked |= leaks(&o.rep, log, secrets[j]);
    }
    if (opened[1] == 0) {
        out_close(&o);
    }
    ASSERT_EQ(opened[0], 0);
    ASSERT_EQ(opened[1], 0);
    ASSERT_EQ(leaked, 0);
    /* the secrets were in use, and the failures were said and logged */
    ASSERT_TRUE(bearer);
    ASSERT_TRUE(basic);
    ASSERT_EQ(r[0], LC_RETRY);
    ASSERT_EQ(r[1], LC_OK);
    ASSERT_EQ(r[2], LC_RETRY);
    ASSERT_EQ(r[3], LC_OK);
    ASSERT_EQ(r[4], LC_RETRY);
    ASSERT_EQ(r[5], LC_RETRY);
    ASSERT_TRUE(contains(log, "[output:loki] Loki answered HTTP 401: invalid credentials"));
    ASSERT_TRUE(contains(log, "[output:loki] Loki answered HTTP 400: bad request"));
    ASSERT_TRUE(contains(log, "[output:loki] Loki answered HTTP 500: internal"));
    ASSERT_TRUE(contains(log, "[output:loki] Loki answered HTTP 413: too large"));
    ASSERT_TRUE(contains(log, "[output:loki] Loki answered HTTP 403: forbidden"));
    ASSERT_TRUE(contains(log, "[output:loki] no answer from Loki at http://127.0.0.1:"));
    free(log);
    recs_free(&x);
}

TEST(push_path_of_every_url_form)
{
    static const char *const forms[][2] = {
        {"", "/loki/api/v1/push"},
        {"/", "/loki/api/v1/push"},
        {"/loki/api/v1/push", "/loki/api/v1/push"},
        {"/proxy/", "/proxy/loki/api/v1/push"},
        {"/proxy", "/proxy/loki/api/v1/push"},
    };
    struct srv s;
    struct out o;
    struct recs x;
    char url[128];

    ASSERT_STR_EQ(lc_loki_push_path("http://h:3100"), "/loki/api/v1/push");
    ASSERT_STR_EQ(lc_loki_push_path("http://h:3100/"), "loki/api/v1/push");
    ASSERT_STR_EQ(lc_loki_push_path("http://h:3100/loki/api/v1/push"), "");
    ASSERT_STR_EQ(lc_loki_push_path("http://h:3100/x/loki/api/v1/push"), "");
    ASSERT_STR_EQ(lc_loki_push_path("http://h/not-loki/api/v1/push"), "/loki/api/v1/push");
    recs_make(&x);
    srv_start(&s);
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", s.port, forms[i][0]);
        ASSERT_EQ(out_open(&o, url, ""), 0);
        ASSERT_EQ(out_send(&o, x.r, 1), LC_OK);
        out_close(&o);
        ASSERT_EQ(s.n, (int)i + 1);
        ASSERT_STR_EQ(s.reqs[i].path, forms[i][1]);
    }
    srv_stop(&s);
    recs_free(&x);
}

/* The default options: snappy protobuf, the default label set in its order (empty labels
 * left out), streams in the order they first appear, entries in capture order with the
 * records' own timestamps, the message as the line. */
TEST(protobuf_body_streams_labels_entries)
{
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
    ASSERT_EQ(o.rep.n_rejected, 0);
    ASSERT_EQ(o.rep.status, 204);
    ASSERT_U64_EQ(o.rep.req.count, 1);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_2XX], 1);
    ASSERT_EQ(s.n, 1);
    ASSERT_STR_EQ(s.reqs[0].path, "/loki/api/v1/push");
    ASSERT_TRUE(has_header(&s.reqs[0], PROTO));
    ASSERT_TRUE(!has_header(&s.reqs[0], "Content-Encoding"));
    ASSERT_TRUE(!has_header(&s.reqs[0], "X-Scope-OrgID"));
    ASSERT_TRUE(!has_header(&s.reqs[0], "Authorization"));
    ASSERT_TRUE(body_is(&s, 0,
                        "S " WEB_OUT "\nE 1795350283463703600 GET / 200\n"
                        "E 1795350283000000000 GET /x 404\n"
                        "S " DB_OUT "\nE 1795350283463703601 ready\n"
                        "S " WEB_ERR "\nE 1795350283463703602 warn: slow\n"));
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* line: json carries the record as the file output writes it; structured metadata rides
 * on each entry, its empty values left out. */
TEST(line_json_and_structured_metadata)
{
    static const struct lc_attr trace[] = {{"trace", "t-1", 0}};
    struct srv s;
    struct out o;
    struct recs x;
    struct lc_buf line, want;

    recs_make(&x);
    lc_record_set_fields(x.r[0], lc_fields_create(trace, 1));
    srv_start(&s);
    ASSERT_EQ(out_open_srv(&o, &s,
                           "    line: json\n    labels: {job: logcap, container: "
                           "\"{{ container_name }}\"}\n"
                           "    structured_metadata:\n      id: \"{{ container_id }}\"\n"
                           "      trace: \"{{ fields.trace }}\"\n"),
              0);
    ASSERT_EQ(out_send(&o, x.r, 2), LC_OK);
    lc_buf_init(&line, 0);
    lc_buf_init(&want, 0);
    lc_buf_adds(&want, "S {job=\"logcap\", container=\"web\"}\nE 1795350283463703600 ");
    lc_json_add_record(&line, x.r[0]);
    lc_buf_add(&want, line.data, line.len); /* ends with the line's '\n' */
    lc_buf_adds(&want, "M id=aaaa\nM trace=t-1\n");
    lc_buf_adds(&want, "S {job=\"logcap\", container=\"db\"}\nE 1795350283463703601 ");
    lc_buf_reset(&line);
    lc_json_add_record(&line, x.r[1]);
    lc_buf_add(&want, line.data, line.len);
    lc_buf_adds(&want, "M id=bbbb\n");
    lc_buf_addc(&want, '\0');
    ASSERT_TRUE(body_is(&s, 0, want.data));
    out_close(&o);
    lc_buf_close(&line);
    lc_buf_close(&want);
    srv_stop(&s);
    recs_free(&x);
}

/* encoding: json is sent as application/json, gzipped with compress: true. */
TEST(json_body_and_gzip)
{
    static const char want[] =
        "S job=\"logcap\", host=\"node-1\", container=\"web\", compose_project=\"shop\", "
        "compose_service=\"web\", stream=\"stdout\"\n"
        "E 1795350283463703600 GET / 200\nE 1795350283000000000 GET /x 404\n"
        "S job=\"logcap\", host=\"node-1\", container=\"db\", stream=\"stdout\"\n"
        "E 1795350283463703601 ready\n"
        "S job=\"logcap\", host=\"node-1\", container=\"web\", compose_project=\"shop\", "
        "compose_service=\"web\", stream=\"stderr\"\n"
        "E 1795350283463703602 warn: slow\n";
    static const char with_meta[] = "S container=\"web\"\nE 1795350283463703600 GET / 200\n"
                                    "M image=nginx\n";
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    ASSERT_EQ(out_open_srv(&o, &s, "    encoding: json\n"), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
    out_close(&o);
    ASSERT_EQ(out_open_srv(&o, &s, "    encoding: json\n    compress: true\n"), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
    out_close(&o);
    ASSERT_EQ(out_open_srv(&o, &s,
                           "    encoding: json\n    labels: {container: \"{{ container_name }}\"}\n"
                           "    structured_metadata: {image: \"{{ image }}\"}\n"),
              0);
    ASSERT_EQ(out_send(&o, x.r, 1), LC_OK);
    out_close(&o);
    ASSERT_EQ(s.n, 3);
    ASSERT_TRUE(has_header(&s.reqs[0], JSON));
    ASSERT_TRUE(!has_header(&s.reqs[0], "Content-Encoding"));
    ASSERT_TRUE(body_is(&s, 0, want));
    ASSERT_TRUE(has_header(&s.reqs[1], JSON));
    ASSERT_TRUE(has_header(&s.reqs[1], "Content-Encoding: gzip\n"));
    ASSERT_TRUE(body_is(&s, 1, want));
    ASSERT_TRUE(body_is(&s, 2, with_meta));
    /* the timestamps are strings, as Loki's JSON form wants */
    ASSERT_TRUE(memmem(s.reqs[0].body, s.reqs[0].len, "[\"1795350283463703600\",", 23) != NULL);
    srv_stop(&s);
    recs_free(&x);
}

TEST(tenant_and_auth_headers)
{
    static const char *const keys[] = {
        "    tenant_id: team-a\n",
        "    tenant_id: \"\"\n",
        "",
        "    basic_auth: {username: alice, password: s3cret-pw}\n",
        "    bearer_token: tok-123\n",
    };
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        ASSERT_EQ(out_open_srv(&o, &s, keys[i]), 0);
        ASSERT_EQ(out_send(&o, x.r, 1), LC_OK);
        out_close(&o);
    }
    ASSERT_EQ(s.n, 5);
    ASSERT_TRUE(has_header(&s.reqs[0], "X-Scope-OrgID: team-a\n"));
    for (int i = 1; i < 5; i++) {
        ASSERT_TRUE(!has_header(&s.reqs[i], "X-Scope-OrgID"));
    }
    ASSERT_TRUE(!has_header(&s.reqs[0], "Authorization"));
    ASSERT_TRUE(!has_header(&s.reqs[2], "Authorization"));
    ASSERT_TRUE(has_header(&s.reqs[3], "Authorization: Basic YWxpY2U6czNjcmV0LXB3\n"));
    ASSERT_TRUE(has_header(&s.reqs[4], "Authorization: Bearer tok-123\n"));
    srv_stop(&s);
    recs_free(&x);
}

/* Any 2xx is delivered: Loki's 204, a proxy's 200, and 260 (ingestion blocked). */
TEST(every_2xx_is_delivered)
{
    static const unsigned statuses[] = {204, 200, 260};
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    for (size_t i = 0; i < 3; i++) {
        srv_queue(&s, statuses[i], NULL, i == 1 ? "ok\n" : NULL);
    }
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
        ASSERT_EQ(o.rep.status, statuses[i]);
        ASSERT_EQ(o.rep.n_rejected, 0);
        ASSERT_STR_EQ(o.rep.why, "");
        ASSERT_EQ(o.rep.config_fault, 0);
        ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_2XX], 1);
        ASSERT_U64_EQ(o.rep.req.count, 1);
    }
    ASSERT_EQ(s.n, 3);
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* 429, 5xx: LC_RETRY with Loki's words, Retry-After (seconds) as the least wait. */
TEST(throttled_and_server_errors_are_retried)
{
    static const struct {
        unsigned status;
        const char *retry_after, *body, *why;
        uint64_t wait_ms;
        int cls;
    } cases[] = {
        {429, "3", "Ingestion rate limit exceeded for user fake\nsecond line",
         "Loki answered HTTP 429: Ingestion rate limit exceeded for user fake", 3000, LC_REQ_4XX},
        {500, NULL, "internal error\n", "Loki answered HTTP 500: internal error", 0, LC_REQ_5XX},
        {503, "120", NULL, "Loki answered HTTP 503: (empty body)", 120000, LC_REQ_5XX},
        {502, "0", "bad gateway", "Loki answered HTTP 502: bad gateway", 0, LC_REQ_5XX},
    };
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        srv_queue(&s, cases[i].status, cases[i].retry_after, cases[i].body);
        ASSERT_EQ(out_send(&o, x.r, 4), LC_RETRY);
        ASSERT_STR_EQ(o.rep.why, cases[i].why);
        ASSERT_U64_EQ(o.rep.wait_ms, cases[i].wait_ms);
        ASSERT_EQ(o.rep.config_fault, 0);
        ASSERT_EQ(o.rep.status, cases[i].status);
        ASSERT_EQ(o.rep.n_rejected + o.rep.n_done, 0);
        ASSERT_U64_EQ(o.rep.req.by_class[cases[i].cls], 1);
        ASSERT_U64_EQ(o.rep.req.count, 1);
    }
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* A reset and a stall past the timeout: no answer, LC_RETRY, counted as "error". Each on a
 * new output (a new connection), so libcurl has no kept-alive connection to retry on. */
TEST(reset_and_timeout_are_retried)
{
    struct srv s;
    struct out o;
    struct recs x;
    char want[96];

    recs_make(&x);
    srv_start(&s);
    snprintf(want, sizeof want, "no answer from Loki at http://127.0.0.1:%u: ", s.port);
    srv_queue_reset(&s);
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_RETRY);
    ASSERT_TRUE(contains(o.rep.why, want));
    ASSERT_TRUE(strlen(o.rep.why) > strlen(want));
    ASSERT_EQ(o.rep.status, 0);
    ASSERT_EQ(o.rep.config_fault, 0);
    ASSERT_U64_EQ(o.rep.wait_ms, 0);
    ASSERT_EQ(o.rep.n_rejected + o.rep.n_done, 0);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_ERROR], 1);
    out_close(&o);
    ASSERT_EQ(s.n, 1);

    s.stall = 1;
    ASSERT_EQ(out_open_srv(&o, &s, "    timeout: 300ms\n"), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_RETRY);
    srv_release(&s);
    ASSERT_TRUE(contains(o.rep.why, want));
    ASSERT_TRUE(contains(o.rep.why, "timed out"));
    ASSERT_EQ(o.rep.status, 0);
    ASSERT_EQ(o.rep.config_fault, 0);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_ERROR], 1);
    ASSERT_EQ(s.n, 2);
    /* the next try is delivered */
    ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* 401, 403, 404: our configuration is wrong: retried, never refused, and the report says
 * the status and the first line of the answer. */
TEST(auth_and_not_found_are_config_faults)
{
    static const struct {
        unsigned status;
        const char *body, *why;
    } cases[] = {
        {401, "no org id\nsecond line", "Loki answered HTTP 401: no org id"},
        {403, "forbidden: tenant team-a\r\n", "Loki answered HTTP 403: forbidden: tenant team-a"},
        {404, "404 page not found\n", "Loki answered HTTP 404: 404 page not found"},
    };
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    for (size_t i = 0; i < 3; i++) {
        srv_queue(&s, cases[i].status, NULL, cases[i].body);
        ASSERT_EQ(out_send(&o, x.r, 4), LC_RETRY);
        ASSERT_EQ(o.rep.config_fault, 1);
        ASSERT_STR_EQ(o.rep.why, cases[i].why);
        ASSERT_EQ(o.rep.status, cases[i].status);
        ASSERT_U64_EQ(o.rep.wait_ms, 0);
        ASSERT_EQ(o.rep.n_rejected + o.rep.n_done, 0);
        ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_4XX], 1);
    }
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* 400: permanent: every record of the request refused with Loki's first line; the batch is
 * done with (LC_OK), its records go to the dead-letter file. */
TEST(bad_request_refuses_every_record)
{
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    srv_queue(&s, 400, NULL,
              "entry for stream '{job=\"logcap\"}' has timestamp too old\nsecond line\n");
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
    ASSERT_EQ(o.rep.n_rejected, 4);
    ASSERT_EQ(o.rep.n_done, 0);
    for (int i = 0; i < 4; i++) {
        ASSERT_STR_EQ(o.rep.reasons[i], "Loki answered HTTP 400: entry for stream "
                                        "'{job=\"logcap\"}' has timestamp too old");
    }
    ASSERT_EQ(o.rep.config_fault, 0);
    ASSERT_EQ(o.rep.status, 400);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_4XX], 1);
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* 413: the batch is sent again in two halves; every record arrives once. */
TEST(too_large_is_split_in_halves)
{
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    srv_queue(&s, 413, NULL, "request body too large\n");
    srv_queue(&s, 204, NULL, NULL);
    srv_queue(&s, 204, NULL, NULL);
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
    ASSERT_EQ(s.n, 3);
    ASSERT_EQ(o.rep.n_rejected, 0);
    ASSERT_TRUE(body_is(&s, 1,
                        "S " WEB_OUT "\nE 1795350283463703600 GET / 200\n"
                        "S " DB_OUT "\nE 1795350283463703601 ready\n"));
    ASSERT_TRUE(body_is(&s, 2,
                        "S " WEB_ERR "\nE 1795350283463703602 warn: slow\n"
                        "S " WEB_OUT "\nE 1795350283000000000 GET /x 404\n"));
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(times_sent(&s, 0, 1, x.r[i]), 1);
        ASSERT_EQ(times_sent(&s, 1, 3, x.r[i]), 1);
    }
    ASSERT_U64_EQ(o.rep.req.count, 3);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_4XX], 1);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_2XX], 2);
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* A record that alone is too large is refused alone; the others are delivered. */
TEST(single_record_too_large_is_refused_alone)
{
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    srv_queue(&s, 413, NULL, "too large\n"); /* records 0..2 */
    srv_queue(&s, 413, NULL, "too large\n"); /* record 0 alone */
    srv_queue(&s, 204, NULL, NULL);          /* records 1, 2 */
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    ASSERT_EQ(out_send(&o, x.r, 3), LC_OK);
    ASSERT_EQ(s.n, 3);
    ASSERT_EQ(o.rep.n_rejected, 1);
    ASSERT_STR_EQ(o.rep.reasons[0], "Loki answered HTTP 413: too large");
    ASSERT_TRUE(o.rep.reasons[1] == NULL && o.rep.reasons[2] == NULL);
    ASSERT_TRUE(body_is(&s, 1, "S " WEB_OUT "\nE 1795350283463703600 GET / 200\n"));
    ASSERT_TRUE(body_is(&s, 2,
                        "S " DB_OUT "\nE 1795350283463703601 ready\n"
                        "S " WEB_ERR "\nE 1795350283463703602 warn: slow\n"));
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_4XX], 2);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_2XX], 1);
    /* one record too large, alone in its batch */
    srv_queue(&s, 413, NULL, "too large\n");
    ASSERT_EQ(out_send(&o, x.r + 3, 1), LC_OK);
    ASSERT_EQ(o.rep.n_rejected, 1);
    ASSERT_STR_EQ(o.rep.reasons[0], "Loki answered HTTP 413: too large");
    ASSERT_EQ(s.n, 4);
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* A split whose second half fails: the first half's records are marked done, so the retry
 * (through the engine's lc_output_send_rest) sends only the rest: each record once. */
TEST(split_with_a_failing_half_marks_the_first_done)
{
    struct srv s;
    struct out o;
    struct recs x;
    struct lc_send_report scratch = {0};

    recs_make(&x);
    srv_start(&s);
    srv_queue(&s, 413, NULL, "too large\n");
    srv_queue(&s, 204, NULL, NULL);
    srv_queue(&s, 503, "2", "ingester unavailable\n");
    ASSERT_EQ(out_open_srv(&o, &s, ""), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_RETRY);
    ASSERT_EQ(s.n, 3);
    ASSERT_STR_EQ(o.rep.why, "Loki answered HTTP 503: ingester unavailable");
    ASSERT_U64_EQ(o.rep.wait_ms, 2000);
    ASSERT_EQ(o.rep.config_fault, 0);
    ASSERT_EQ(o.rep.n_rejected, 0);
    ASSERT_EQ(o.rep.n_done, 2);
    ASSERT_TRUE(o.rep.done[0] && o.rep.done[1] && !o.rep.done[2] && !o.rep.done[3]);
    ASSERT_U64_EQ(o.rep.req.count, 3);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_4XX], 1);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_2XX], 1);
    ASSERT_U64_EQ(o.rep.req.by_class[LC_REQ_5XX], 1);
    /* the retry, as the engine makes it: the batch's report kept, the try's fields cleared */
    lc_send_report_new_try(&o.rep);
    ASSERT_EQ(lc_output_send_rest(&lc_output_loki, o.state, x.r, 4, &o.rep, &scratch), LC_OK);
    ASSERT_EQ(s.n, 4);
    ASSERT_TRUE(body_is(&s, 3,
                        "S " WEB_ERR "\nE 1795350283463703602 warn: slow\n"
                        "S " WEB_OUT "\nE 1795350283000000000 GET /x 404\n"));
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(times_sent(&s, 1, 2, x.r[i]) + times_sent(&s, 3, 4, x.r[i]), 1);
    }
    ASSERT_U64_EQ(o.rep.req.count, 1);
    lc_send_report_close(&scratch);
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* A record whose labels all render empty is refused alone, with the reason; the rest go. */
TEST(record_without_labels_is_refused_alone)
{
    struct srv s;
    struct out o;
    struct recs x;

    recs_make(&x);
    srv_start(&s);
    ASSERT_EQ(out_open_srv(&o, &s, "    labels: {app: \"{{ compose_service }}\"}\n"), 0);
    ASSERT_EQ(out_send(&o, x.r, 4), LC_OK);
    ASSERT_EQ(o.rep.n_rejected, 1);
    ASSERT_TRUE(contains(o.rep.reasons[1], "every label rendered empty"));
    ASSERT_TRUE(o.rep.reasons[0] == NULL && o.rep.reasons[2] == NULL && o.rep.reasons[3] == NULL);
    ASSERT_EQ(s.n, 1);
    ASSERT_TRUE(body_is(&s, 0,
                        "S {app=\"web\"}\nE 1795350283463703600 GET / 200\n"
                        "E 1795350283463703602 warn: slow\nE 1795350283000000000 GET /x 404\n"));
    /* nothing left to send: no request at all */
    ASSERT_EQ(out_send(&o, x.r + 1, 1), LC_OK);
    ASSERT_EQ(o.rep.n_rejected, 1);
    ASSERT_EQ(s.n, 1);
    ASSERT_U64_EQ(o.rep.req.count, 0);
    out_close(&o);
    srv_stop(&s);
    recs_free(&x);
}

/* A label value longer than Loki takes (2048 bytes) is cut at a UTF-8 character boundary;
 * the limit holds for what Loki receives, so ill-formed bytes (made U+FFFD, 3 bytes each)
 * count as what they become. */
TEST(long_label_value_cut_at_a_character)
{
    struct srv s;
    struct out o;
    struct lc_meta *m[3];
    struct lc_record *r[3];
    char name[3100], ascii[3100], bad[1100], want[16384], fffd[2100];
    size_t n = 0;

    name[n++] = 'a';
    for (int i = 0; i < 1000; i++) { /* "€" is 3 bytes: one spans bytes 2047..2049 */
        memcpy(name + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    name[n] = '\0';
    memset(ascii, 'x', 3000);
    ascii[3000] = '\0';
    memset(bad, 0xff, 1000); /* 1000 bytes, 3000 once made valid UTF-8 */
    bad[1000] = '\0';
    for (int i = 0; i < 682; i++) {
        memcpy(fffd + 3 * i, "\xef\xbf\xbd", 3);
    }
    fffd[3 * 682] = '\0';
    m[0] = lc_meta_docker_create("aaaa", name, "img", NULL, NULL, NULL, NULL);
    m[1] = lc_meta_docker_create("bbbb", ascii, "img", NULL, NULL, NULL, NULL);
    m[2] = lc_meta_docker_create("cccc", bad, "img", NULL, NULL, NULL, NULL);
    r[0] = lc_record_create(m[0], LC_STREAM_STDOUT, 5, "t", 1, "one", 3, 0);
    r[1] = lc_record_create(m[1], LC_STREAM_STDOUT, 6, "t", 1, "two", 3, 0);
    r[2] = lc_record_create(m[2], LC_STREAM_STDOUT, 7, "t", 1, "three", 5, 0);
    srv_start(&s);
    ASSERT_EQ(out_open_srv(&o, &s, "    labels: {c: \"{{ container_name }}\"}\n"), 0);
    ASSERT_EQ(out_send(&o, r, 3), LC_OK);
    snprintf(want, sizeof want,
             "S {c=\"%.2047s\"}\nE 5 one\nS {c=\"%.2048s\"}\nE 6 two\nS {c=\"%s\"}\nE 7 three\n",
             name, ascii, fffd);
    ASSERT_TRUE(body_is(&s, 0, want));
    out_close(&o);
    srv_stop(&s);
    for (int i = 0; i < 3; i++) {
        lc_record_destroy(r[i]);
        lc_meta_unref(m[i]);
    }
}

TEST_MAIN(TEST_ENTRY(no_secret_in_reports_or_log), TEST_ENTRY(push_path_of_every_url_form),
          TEST_ENTRY(protobuf_body_streams_labels_entries),
          TEST_ENTRY(line_json_and_structured_metadata), TEST_ENTRY(json_body_and_gzip),
          TEST_ENTRY(tenant_and_auth_headers), TEST_ENTRY(every_2xx_is_delivered),
          TEST_ENTRY(throttled_and_server_errors_are_retried),
          TEST_ENTRY(reset_and_timeout_are_retried),
          TEST_ENTRY(auth_and_not_found_are_config_faults),
          TEST_ENTRY(bad_request_refuses_every_record), TEST_ENTRY(too_large_is_split_in_halves),
          TEST_ENTRY(single_record_too_large_is_refused_alone),
          TEST_ENTRY(split_with_a_failing_half_marks_the_first_done),
          TEST_ENTRY(record_without_labels_is_refused_alone),
          TEST_ENTRY(long_label_value_cut_at_a_character))
