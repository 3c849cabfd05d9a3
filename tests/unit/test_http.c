/* test_http: the HTTP layer of outputs against an in-process libmicrohttpd server on
 * 127.0.0.1 (http_server.h) that records every request (headers, body, the client's port)
 * and answers as told (a status, Retry-After, a body; a stall; a reset). Also the HTTP keys as an
 * output's table declares them: defaults, the exact error lines, the secret files. */
#include "outputs/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libdeflate.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "config/config.h"
#include "inputs/docker/docker_config.h"
#include "http_server.h"
#include "test.h"

/* Options for URL with the keys' defaults, as a table would store them. */
static struct lc_http_options opts_for(const char *url)
{
    struct lc_http_options o = {0};
    o.url = (char *)url;
    o.timeout_ms = 2000;
    o.connect_timeout_ms = 1000;
    o.verify = 1;
    return o;
}

static char url_buf[128];
static const char *srv_url(const struct srv *s, const char *userinfo)
{
    snprintf(url_buf, sizeof url_buf, "http://%s127.0.0.1:%u", userinfo, s->port);
    return url_buf;
}

TEST(headers_and_body_arrive)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_config_pair hdr[] = {{"X-Team", "logs", 0}, {"X-Empty", "", 0}};
    struct lc_http_options o;
    const char *extra[] = {"X-Scope-OrgID: tenant-1"};

    srv_start(&s);
    o = opts_for(srv_url(&s, ""));
    o.headers = hdr;
    o.n_headers = 2;
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(
        lc_http_post(h, "/loki/api/v1/push", "application/json", "{\"a\":1}", 7, extra, 1, &res),
        0);
    ASSERT_EQ(res.status, 204);
    ASSERT_EQ(res.error[0], '\0');
    ASSERT_EQ(res.retry_after_ms, -1);
    ASSERT_EQ(lc_http_classify(&res), LC_HTTP_DELIVERED);
    ASSERT_EQ(s.n, 1);
    ASSERT_STR_EQ(s.reqs[0].path, "/loki/api/v1/push");
    ASSERT_MEM_EQ(s.reqs[0].body, s.reqs[0].len, "{\"a\":1}", 7);
    ASSERT_TRUE(has_header(&s.reqs[0], "Content-Type: application/json\n"));
    ASSERT_TRUE(has_header(&s.reqs[0], "X-Team: logs\n"));
    ASSERT_TRUE(has_header(&s.reqs[0], "X-Empty: \n"));
    ASSERT_TRUE(has_header(&s.reqs[0], "X-Scope-OrgID: tenant-1\n"));
    ASSERT_TRUE(!has_header(&s.reqs[0], "Content-Encoding"));
    ASSERT_TRUE(!has_header(&s.reqs[0], "Authorization"));
    ASSERT_TRUE(!has_header(&s.reqs[0], "Expect"));
    lc_http_destroy(h);
    srv_stop(&s);
}

TEST(server_name_is_the_host_spoken_to)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    char host[64];

    srv_start(&s);
    o = opts_for(srv_url(&s, ""));
    o.server_name = "loki.example";
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, "/x", "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    snprintf(host, sizeof host, "Host: loki.example:%u\n", s.port);
    ASSERT_TRUE(has_header(&s.reqs[0], host));
    ASSERT_STR_EQ(s.reqs[0].path, "/x");
    lc_http_destroy(h);
    srv_stop(&s);
}

TEST(gzip_body_decodes_to_the_original)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    size_t n = 300000, got = 0;
    char *body = malloc(n), *back = malloc(n);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();

    for (size_t i = 0; i < n; i++) {
        body[i] = "log line 0123456789\n"[i % 20] + (char)(i / 7919 % 3);
    }
    srv_start(&s);
    o = opts_for(srv_url(&s, ""));
    o.compress = 1;
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", body, n, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    ASSERT_TRUE(has_header(&s.reqs[0], "Content-Encoding: gzip\n"));
    ASSERT_TRUE(s.reqs[0].len < n / 4);
    /* an empty body is a valid gzip stream of nothing, never a read of stdin */
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", NULL, 0, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    ASSERT_EQ(libdeflate_gzip_decompress(d, s.reqs[1].body, s.reqs[1].len, back, n, &got),
              LIBDEFLATE_SUCCESS);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(libdeflate_gzip_decompress(d, s.reqs[0].body, s.reqs[0].len, back, n, &got),
              LIBDEFLATE_SUCCESS);
    ASSERT_MEM_EQ(back, got, body, n);
    libdeflate_free_decompressor(d);
    free(body);
    free(back);
    lc_http_destroy(h);
    srv_stop(&s);
}

TEST(keep_alive_reuses_one_connection)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;

    srv_start(&s);
    o = opts_for(srv_url(&s, ""));
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(lc_http_post(h, "/p", "text/plain", "x", 1, NULL, 0, &res), 0);
        ASSERT_EQ(res.status, 204);
    }
    ASSERT_EQ(s.n, 5);
    for (int i = 1; i < 5; i++) {
        ASSERT_EQ(s.reqs[i].port, s.reqs[0].port);
    }
    lc_http_destroy(h);
    srv_stop(&s);
}

/* Writes TEXT to a new temporary file; returns its path (static buffer). */
static const char *write_tmp(const char *text)
{
    static char path[64];
    int fd;
    strcpy(path, "/tmp/test_http_XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        abort();
    }
    close(fd);
    return path;
}

TEST(basic_and_bearer_auth)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;

    srv_start(&s);
    o = opts_for(srv_url(&s, ""));
    o.username = "alice";
    o.password = "s3cret-pw";
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    lc_http_destroy(h);
    ASSERT_TRUE(has_header(&s.reqs[0], "Authorization: Basic YWxpY2U6czNjcmV0LXB3\n"));
    o = opts_for(srv_url(&s, ""));
    o.bearer_token = "tok-123";
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    lc_http_destroy(h);
    ASSERT_TRUE(has_header(&s.reqs[1], "Authorization: Bearer tok-123\n"));
    srv_stop(&s);
}

TEST(timeout_is_a_transport_error_within_the_deadline)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    struct timespec a, b;
    long ms;

    srv_start(&s);
    s.stall = 1;
    o = opts_for(srv_url(&s, ""));
    o.timeout_ms = 300;
    o.connect_timeout_ms = 300;
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), -EIO);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    ASSERT_EQ(res.status, 0);
    ASSERT_EQ(res.timed_out, 1);
    ASSERT_TRUE(res.error[0] != '\0');
    ASSERT_TRUE(ms >= 290 && ms < 1500);
    ASSERT_EQ(lc_http_classify(&res), LC_HTTP_RETRY);
    srv_release(&s);
    lc_http_destroy(h);
    srv_stop(&s);
}

/* Sets *FLAG after 200 ms, from another thread (the delivery engine's stop). */
static void *cancel_later(void *flag)
{
    struct timespec d = {0, 200 * 1000000L};

    nanosleep(&d, NULL);
    __atomic_store_n((int *)flag, 1, __ATOMIC_RELEASE);
    return NULL;
}

TEST(cancel_cuts_a_request_short_and_keeps_the_handle_usable)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    struct timespec a, b;
    pthread_t t;
    int flag = 0;
    long ms;

    srv_start(&s);
    s.stall = 1;
    o = opts_for(srv_url(&s, ""));
    o.timeout_ms = 30000;
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    lc_http_set_cancel(h, &flag);
    ASSERT_EQ(pthread_create(&t, NULL, cancel_later, &flag), 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), -EIO);
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    ASSERT_EQ(res.status, 0);
    ASSERT_EQ(res.timed_out, 0);
    ASSERT_STR_EQ(res.error, "aborted: logcap is stopping");
    ASSERT_TRUE(ms >= 190 && ms < 450); /* polled every 100 ms, not after libcurl's second */
    ASSERT_EQ(lc_http_classify(&res), LC_HTTP_RETRY);
    srv_release(&s);
    /* the flag cleared, the same handle sends again */
    flag = 0;
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "y", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    lc_http_destroy(h);
    srv_stop(&s);
}

TEST(connection_refused_and_no_secret_in_the_error)
{
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char url[128];

    /* a port that was free a moment ago and that nobody listens on */
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    snprintf(url, sizeof url, "http://bob:url-pw@127.0.0.1:%u", ntohs(a.sin_port));
    o = opts_for(url);
    o.bearer_token = "tok-secret";
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, "/x", "text/plain", "x", 1, NULL, 0, &res), -EIO);
    ASSERT_EQ(res.status, 0);
    ASSERT_EQ(res.timed_out, 0);
    ASSERT_TRUE(res.error[0] != '\0');
    ASSERT_TRUE(strstr(res.error, "url-pw") == NULL);
    ASSERT_TRUE(strstr(res.error, "tok-secret") == NULL);
    ASSERT_EQ(lc_http_classify(&res), LC_HTTP_RETRY);
    ASSERT_EQ(lc_http_send_result(lc_http_classify(&res)), LC_RETRY);
    lc_http_destroy(h);
}

TEST(reset_is_a_transport_error)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;

    srv_start(&s);
    s.reset = 1;
    o = opts_for(srv_url(&s, "carol:pw-in-url@"));
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), -EIO);
    ASSERT_EQ(res.status, 0);
    ASSERT_TRUE(res.error[0] != '\0');
    ASSERT_TRUE(strstr(res.error, "pw-in-url") == NULL);
    ASSERT_EQ(lc_http_classify(&res), LC_HTTP_RETRY);
    /* the next request opens a new connection and gets its answer */
    s.reset = 0;
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    lc_http_destroy(h);
    srv_stop(&s);
}

TEST(retry_after_seconds_and_date)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    time_t later = time(NULL) + 120;
    struct tm tm;

    srv_start(&s);
    s.status = 429;
    snprintf(s.retry_after, sizeof s.retry_after, "7");
    o = opts_for(srv_url(&s, ""));
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 429);
    ASSERT_EQ(res.retry_after_ms, 7000);
    ASSERT_EQ(lc_http_classify(&res), LC_HTTP_RETRY);
    s.status = 503;
    gmtime_r(&later, &tm);
    strftime(s.retry_after, sizeof s.retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 503);
    ASSERT_TRUE(res.retry_after_ms > 110000 && res.retry_after_ms <= 120000);
    /* no header on the next answer: none, not the last one's */
    s.retry_after[0] = '\0';
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.retry_after_ms, -1);
    lc_http_destroy(h);
    srv_stop(&s);
    ASSERT_EQ(lc_http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777), 0);
    ASSERT_EQ(lc_http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7000);
    ASSERT_EQ(lc_http_parse_retry_after("soon", 0), -1);
    ASSERT_EQ(lc_http_parse_retry_after("-5", 0), -1);
    ASSERT_EQ(lc_http_parse_retry_after("999999999999", 0), (int64_t)LC_DAY_MS);
}

TEST(first_line_of_the_answer)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    size_t big = 1 << 20;
    char *huge = malloc(big), line[16];

    memset(huge, 'e', big);
    srv_start(&s);
    s.status = 400;
    s.answer = "entry out of order\tfor stream {job=\"x\"}\nsecond line\n";
    s.answer_len = strlen(s.answer);
    o = opts_for(srv_url(&s, ""));
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_STR_EQ(res.first_line, "entry out of order for stream {job=\"x\"}");
    ASSERT_EQ(lc_http_classify(&res), LC_HTTP_PERMANENT);
    ASSERT_EQ(lc_http_send_result(lc_http_classify(&res)), LC_REJECT);
    s.answer = "bad \xff\xc0\xafz \xed\xa0\x80 ok \xc3\xa9\r\nrest";
    s.answer_len = strlen(s.answer);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_STR_EQ(res.first_line, "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz "
                                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
    /* a huge body: read whole (the connection stays usable), its line cut to fit */
    s.answer = huge;
    s.answer_len = big;
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(strlen(res.first_line), LC_HTTP_LINE_CAP - 1);
    s.answer = "";
    s.answer_len = 0;
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_STR_EQ(res.first_line, "");
    ASSERT_EQ(s.reqs[3].port, s.reqs[0].port);
    lc_http_destroy(h);
    srv_stop(&s);
    free(huge);
    /* cut at a character boundary, never inside one */
    ASSERT_STR_EQ(lc_http_first_line(line, 6, "ab\xc3\xa9\xc3\xa9", 6), "ab\xc3\xa9");
    ASSERT_STR_EQ(lc_http_first_line(line, 6, "abcd\xe2\x82\xac", 7), "abcd");
}

TEST(classification_of_every_status_class)
{
    static const struct {
        long status;
        enum lc_http_class c;
        enum lc_send_result r;
    } cases[] = {
        {0, LC_HTTP_RETRY, LC_RETRY},          {100, LC_HTTP_RETRY, LC_RETRY},
        {200, LC_HTTP_DELIVERED, LC_OK},       {204, LC_HTTP_DELIVERED, LC_OK},
        {299, LC_HTTP_DELIVERED, LC_OK},       {301, LC_HTTP_CONFIG_FAULT, LC_RETRY},
        {308, LC_HTTP_CONFIG_FAULT, LC_RETRY}, {400, LC_HTTP_PERMANENT, LC_REJECT},
        {401, LC_HTTP_CONFIG_FAULT, LC_RETRY}, {403, LC_HTTP_CONFIG_FAULT, LC_RETRY},
        {404, LC_HTTP_CONFIG_FAULT, LC_RETRY}, {405, LC_HTTP_PERMANENT, LC_REJECT},
        {408, LC_HTTP_RETRY, LC_RETRY},        {409, LC_HTTP_PERMANENT, LC_REJECT},
        {413, LC_HTTP_TOO_LARGE, LC_REJECT},   {422, LC_HTTP_PERMANENT, LC_REJECT},
        {429, LC_HTTP_RETRY, LC_RETRY},        {500, LC_HTTP_RETRY, LC_RETRY},
        {502, LC_HTTP_RETRY, LC_RETRY},        {503, LC_HTTP_RETRY, LC_RETRY},
        {504, LC_HTTP_RETRY, LC_RETRY},        {599, LC_HTTP_RETRY, LC_RETRY},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct lc_http_result r = {.status = cases[i].status};
        ASSERT_EQ(lc_http_classify(&r), cases[i].c);
        ASSERT_EQ(lc_http_send_result(lc_http_classify(&r)), cases[i].r);
    }
    ASSERT_STR_EQ(lc_http_class_name(LC_HTTP_CONFIG_FAULT), "config_fault");
}

TEST(url_without_userinfo)
{
    char b[128];
    ASSERT_STR_EQ(lc_http_url_safe(b, sizeof b, "https://u:p@h:3100/x?a=b@c"),
                  "https://h:3100/x?a=b@c");
    ASSERT_STR_EQ(lc_http_url_safe(b, sizeof b, "http://h/x@y"), "http://h/x@y");
    ASSERT_STR_EQ(lc_http_url_safe(b, sizeof b, "http://a@b:c@h"), "http://h");
}

/* The contents of tests/unit/tls/NAME (a CA, and a server certificate for loki.example
 * that it signed, valid until 2126), or its path when PATH_ONLY. */
static char *tls_file(const char *name, int path_only)
{
    const char *dir = getenv("LC_TEST_SRCDIR");
    char path[512], *buf = calloc(1, 16384);
    FILE *f;

    snprintf(path, sizeof path, "%s/tests/unit/tls/%s", dir != NULL ? dir : ".", name);
    if (path_only) {
        free(buf);
        return lc_xstrdup(path);
    }
    f = fopen(path, "r");
    if (f == NULL || fread(buf, 1, 16383, f) == 0) {
        abort();
    }
    fclose(f);
    return buf;
}

TEST(tls_ca_file_server_name_and_verify)
{
    struct srv s;
    struct lc_http *h = NULL;
    struct lc_http_result res;
    struct lc_http_options o;
    char url[64], *ca = tls_file("ca.pem", 1);
    char *tls_key = tls_file("server-key.pem", 0), *tls_cert = tls_file("server.pem", 0);

    srv_start_tls(&s, tls_key, tls_cert);
    snprintf(url, sizeof url, "https://127.0.0.1:%u", s.port);
    /* the CA and the certificate's name: delivered */
    o = opts_for(url);
    o.ca_file = ca;
    o.server_name = "loki.example";
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, "/p", "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    lc_http_destroy(h);
    /* the certificate does not name 127.0.0.1: refused */
    o.server_name = NULL;
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, "/p", "text/plain", "x", 1, NULL, 0, &res), -EIO);
    ASSERT_EQ(res.status, 0);
    ASSERT_TRUE(res.error[0] != '\0');
    lc_http_destroy(h);
    /* a CA the system does not know: refused, unless verify is off */
    o.ca_file = NULL;
    o.server_name = "loki.example";
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, "/p", "text/plain", "x", 1, NULL, 0, &res), -EIO);
    lc_http_destroy(h);
    o.verify = 0;
    o.server_name = NULL;
    ASSERT_EQ(lc_http_create(&h, &o, "t"), 0);
    ASSERT_EQ(lc_http_post(h, "/p", "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    lc_http_destroy(h);
    ASSERT_EQ(s.n, 2);
    srv_stop(&s);
    free(ca);
    free(tls_key);
    free(tls_cert);
}

/* ---- the keys, as an output's table embeds them ---- */

struct tp_opts {
    struct lc_http_options http; /* first: its sub-tables' offsets are the struct's */
    char *tenant;
};
LC_HTTP_ASSERT_FIRST(struct tp_opts, http);

static void tp_check(struct lc_config_check *ck, void *opts)
{
    lc_http_config_check(ck, &((struct tp_opts *)opts)->http);
}

static const struct lc_config_option tp_options[] = {
    LC_HTTP_CONFIG_OPTIONS,
    {.key = "tenant", .type = LC_OPT_STRING, .off = offsetof(struct tp_opts, tenant)},
    {.key = NULL},
};
static const struct lc_config_plugin tp_plugin = {
    .type = "httptest", .options = tp_options, .size = sizeof(struct tp_opts), .check = tp_check};

static char *tp_load(struct lc_config *c, const char *text, int *rc)
{
    static const struct lc_config_plugin *const inputs[] = {&lc_docker_config_plugin, NULL};
    static const struct lc_config_plugin *const outputs[] = {&tp_plugin, NULL};
    static const struct lc_config_catalog cat = {.inputs = inputs, .outputs = outputs};
    char *errs = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&errs, &n);
    *rc = lc_config_load_string(c, &cat, "x.yaml", text, strlen(text), f);
    fclose(f);
    return errs;
}

/* 1 when TEXT fails with exactly EXPECTED. */
static int tp_fails_with(const char *text, const char *expected)
{
    struct lc_config c = {0};
    int rc;
    char *errs = tp_load(&c, text, &rc);
    int ok = rc == -EINVAL && strcmp(errs, expected) == 0;

    if (!ok) {
        fprintf(stderr, "  rc=%d\n  got:\n%s  expected:\n%s", rc, errs, expected);
    }
    if (rc == 0) {
        lc_config_free(&c);
    }
    free(errs);
    return ok;
}

TEST(config_defaults_values_secret_files_and_copies)
{
    struct lc_config c = {0};
    struct lc_output_config oc;
    const struct tp_opts *o;
    char text[1024], type[64], range[64], def[64];
    const char *pw = lc_xstrdup(write_tmp("from-file-pw\n"));
    const char *tok;
    int rc;
    char *errs;

    snprintf(text, sizeof text,
             "outputs:\n  - type: httptest\n    url: https://loki:3100\n"
             "    headers: {X-A: one, X-B: \"\"}\n"
             "    basic_auth:\n      username: alice\n      password_file: %s\n"
             "    tls: {ca_file: /ca.pem, server_name: loki.example, verify: false}\n",
             pw);
    errs = tp_load(&c, text, &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(errs, "");
    free(errs);
    o = c.outputs[0].opts;
    ASSERT_STR_EQ(o->http.url, "https://loki:3100");
    ASSERT_U64_EQ(o->http.timeout_ms, 10000);
    ASSERT_U64_EQ(o->http.connect_timeout_ms, 5000);
    ASSERT_EQ(o->http.n_headers, 2);
    ASSERT_STR_EQ(o->http.headers[1].name, "X-B");
    ASSERT_STR_EQ(o->http.headers[1].value, "");
    ASSERT_STR_EQ(o->http.username, "alice");
    ASSERT_STR_EQ(o->http.password, "from-file-pw");
    ASSERT_STR_EQ(o->http.ca_file, "/ca.pem");
    ASSERT_STR_EQ(o->http.server_name, "loki.example");
    ASSERT_EQ(o->http.verify, 0);
    ASSERT_EQ(o->http.compress, 0);
    lc_config_output_copy(&oc, &c.outputs[0]);
    ASSERT_STR_EQ(((const struct tp_opts *)oc.opts)->http.headers[0].value, "one");
    ASSERT_STR_EQ(((const struct tp_opts *)oc.opts)->http.password, "from-file-pw");
    lc_config_output_free(&oc);
    lc_config_free(&c);
    unlink(pw);
    free((void *)pw);

    tok = write_tmp("tok-from-file\r\n");
    snprintf(text, sizeof text,
             "outputs:\n  - type: httptest\n    url: http://h\n    bearer_token_file: %s\n", tok);
    errs = tp_load(&c, text, &rc);
    ASSERT_EQ(rc, 0);
    free(errs);
    ASSERT_STR_EQ(((const struct tp_opts *)c.outputs[0].opts)->http.bearer_token, "tok-from-file");
    lc_config_free(&c);
    unlink(tok);

    /* config-reference: a secret's default would print as <redacted>; types and defaults */
    lc_config_option_describe(&tp_options[3], type, range, def, sizeof type);
    ASSERT_STR_EQ(type, "name: string");
    ASSERT_STR_EQ(def, "empty");
    {
        struct lc_config_option secret = tp_options[5];
        secret.def = "hunter2";
        lc_config_option_describe(&secret, type, range, def, sizeof type);
        ASSERT_STR_EQ(def, "<redacted>");
    }
}

TEST(config_errors)
{
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    tenant: a\n",
                              "config error: x.yaml:2: outputs[0]: missing key \"url\"\n"));
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    url: ftp://u:pw1@h/x\n",
                              "config error: x.yaml:3: outputs[0].url: \"ftp://h/x\" is not an "
                              "http:// or https:// URL\n"));
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    url: http://h\n"
                              "    basic_auth: {username: a, password: pw2}\n"
                              "    bearer_token: tok3\n",
                              "config error: x.yaml:5: outputs[0].bearer_token: give basic_auth "
                              "(line 4) or a bearer token, not both\n"));
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    url: http://h\n"
                              "    basic_auth:\n      username: a\n"
                              "      password_file: /nonexistent/pw\n",
                              "config error: x.yaml:6: outputs[0].basic_auth.password_file: "
                              "cannot read \"/nonexistent/pw\": No such file or directory\n"));
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    url: http://h\n"
                              "    bearer_token_file: /nonexistent/tok\n",
                              "config error: x.yaml:4: outputs[0].bearer_token_file: cannot read "
                              "\"/nonexistent/tok\": No such file or directory\n"));
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    url: http://h\n"
                              "    basic_auth: {username: a}\n",
                              "config error: x.yaml:4: outputs[0].basic_auth: needs username and "
                              "password (or password_file)\n"));
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    url: http://h\n"
                              "    headers:\n      Authorization: Basic eA==\n",
                              "config error: x.yaml:5: outputs[0].headers.Authorization: "
                              "\"Authorization\" is set by logcap (use url, basic_auth or "
                              "bearer_token)\n"));
    ASSERT_TRUE(tp_fails_with("outputs:\n  - type: httptest\n    url: http://h\n"
                              "    timeout: 5s\n    connect_timeout: 6s\n",
                              "config error: x.yaml:5: outputs[0].connect_timeout: "
                              "connect_timeout must not be above timeout\n"));
}

/* A secret read from a file at load is what the request carries; timeout alone below
 * connect_timeout's default bounds both. */
TEST(secret_from_a_file_is_sent)
{
    struct srv s;
    struct lc_config c = {0};
    struct lc_http *h = NULL;
    struct lc_http_result res;
    const struct tp_opts *o;
    char text[512], *tok = lc_xstrdup(write_tmp("tok-in-file\n")), *errs;
    int rc;

    srv_start(&s);
    snprintf(text, sizeof text,
             "outputs:\n  - type: httptest\n    url: http://127.0.0.1:%u\n    timeout: 1s\n"
             "    bearer_token_file: %s\n",
             s.port, tok);
    errs = tp_load(&c, text, &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(errs, "");
    free(errs);
    o = c.outputs[0].opts;
    ASSERT_U64_EQ(o->http.timeout_ms, 1000);
    ASSERT_U64_EQ(o->http.connect_timeout_ms, 1000);
    ASSERT_EQ(lc_http_create(&h, &o->http, "t"), 0);
    ASSERT_EQ(lc_http_post(h, NULL, "text/plain", "x", 1, NULL, 0, &res), 0);
    ASSERT_TRUE(has_header(&s.reqs[0], "Authorization: Bearer tok-in-file\n"));
    lc_http_destroy(h);
    lc_config_free(&c);
    srv_stop(&s);
    unlink(tok);
    free(tok);
}

TEST_MAIN(TEST_ENTRY(headers_and_body_arrive), TEST_ENTRY(server_name_is_the_host_spoken_to),
          TEST_ENTRY(gzip_body_decodes_to_the_original),
          TEST_ENTRY(keep_alive_reuses_one_connection), TEST_ENTRY(basic_and_bearer_auth),
          TEST_ENTRY(timeout_is_a_transport_error_within_the_deadline),
          TEST_ENTRY(cancel_cuts_a_request_short_and_keeps_the_handle_usable),
          TEST_ENTRY(connection_refused_and_no_secret_in_the_error),
          TEST_ENTRY(reset_is_a_transport_error), TEST_ENTRY(retry_after_seconds_and_date),
          TEST_ENTRY(first_line_of_the_answer), TEST_ENTRY(classification_of_every_status_class),
          TEST_ENTRY(url_without_userinfo), TEST_ENTRY(tls_ca_file_server_name_and_verify),
          TEST_ENTRY(config_defaults_values_secret_files_and_copies), TEST_ENTRY(config_errors),
          TEST_ENTRY(secret_from_a_file_is_sent))
