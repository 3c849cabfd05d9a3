/* test_api: the HTTP server on 127.0.0.1, a free port, serving a hand-made snapshot box,
 * talked to with libcurl and with raw sockets. Tested: status codes by snapshot and live
 * facts, ?brief=1, HEAD, content types, token enforcement (missing, wrong, right; /health
 * and /metrics open), 404, 405 with Allow, the test-only wedge hook, listen addresses that
 * are refused (malformed, public without a token, in use), a 100 KiB header (4xx, and the
 * server keeps serving), garbage bytes, more connections than the limit, a publisher racing
 * requests, and no descriptor left behind after stop. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "base/log.h"
#include "core/snapshot.h"
#include "base/util.h"
#include "test.h"

#define SEC 1000000000LL
#define TOKEN "s3cret-token"

struct server {
    struct lc_snapshot_box box;
    struct lc_api *api;
    char listen[64];
    int port;
    /* the wedge hook */
    char wedged[LC_SNAP_ID_MAX];
    int wedge_calls;
};

/* ---- fixtures ----------------------------------------------------------------------- */

/* A free TCP port on 127.0.0.1 (the kernel's pick, released at once). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

/* NOW is monotonic (what ages are judged on); the tasks' timestamps are wall-clock. */
static struct lc_snapshot *snap_new(int64_t now, enum lc_task_state st)
{
    struct lc_snapshot *s = lc_snapshot_create(2, 1, 1, 1);
    int64_t wall = lc_wall_ns();
    s->taken_mono_ns = now;
    s->started_mono_ns = now - 30 * SEC;
    s->version = "0.0.0-test";
    lc_snapshot_add_input(s, "docker", "docker")->connected = 1;
    strcpy(s->tasks[0].id, "container_0123456789ab");
    strcpy(s->tasks[0].type, "container");
    strcpy(s->tasks[0].container_name, "web-1");
    s->tasks[0].state = LC_TASK_RUNNING;
    s->tasks[0].started_at_ns = wall - 20 * SEC;
    s->tasks[0].last_heartbeat_ns = wall;
    s->tasks[0].last_heartbeat_mono_ns = now;
    strcpy(s->tasks[1].id, "docker_events");
    strcpy(s->tasks[1].type, "docker_events");
    s->tasks[1].state = st;
    strcpy(s->containers[0].id, "0123456789abcdef");
    strcpy(s->containers[0].name, "web-1");
    s->containers[0].lines[1] = 42;
    strcpy(s->outputs[0].name, "files");
    strcpy(s->outputs[0].type, "file");
    strcpy(s->type_counts[0].type, "container");
    return s;
}

static int wedge_cb(void *ud, const char *task_id)
{
    struct server *sv = ud;
    sv->wedge_calls++;
    if (strcmp(task_id, "docker_events") != 0) {
        return -ENOENT;
    }
    snprintf(sv->wedged, sizeof(sv->wedged), "%s", task_id);
    return 0;
}

/* Starts a server on a free port (retrying if another process took it meanwhile). */
static int server_start(struct server *sv, const char *token, unsigned max_conn, int hooks)
{
    memset(sv, 0, sizeof(*sv));
    lc_snapshot_box_init(&sv->box);
    for (int attempt = 0; attempt < 5 && sv->api == NULL; attempt++) {
        struct lc_api_config cfg = {.token = token,
                                    .task_timeout_ms = 60000,
                                    .loop_stall_timeout_ms = 10000,
                                    .max_connections = max_conn,
                                    .test_hooks = hooks};
        sv->port = free_port();
        snprintf(sv->listen, sizeof(sv->listen), "127.0.0.1:%d", sv->port);
        cfg.listen = sv->listen;
        struct lc_api_hooks h = {.wedge = hooks ? wedge_cb : NULL, .ud = sv};
        sv->api = lc_api_start(&cfg, &sv->box, &h);
    }
    return sv->api != NULL;
}

static void server_stop(struct server *sv)
{
    lc_api_stop(sv->api);
    lc_snapshot_box_close(&sv->box);
}

/* Publishes a fresh snapshot and marks the loop as having just turned. */
static void publish(struct server *sv, enum lc_task_state st)
{
    int64_t now = lc_mono_ns();
    lc_snapshot_publish(&sv->box, snap_new(now, st));
    __atomic_store_n(&sv->box.live.loop_last_turn_mono_ns, now, __ATOMIC_RELAXED);
}

/* ---- a libcurl client --------------------------------------------------------------- */

struct reply {
    long status;
    char body[65536];
    size_t len;
    char headers[4096];
    size_t hlen;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t take = size * n;
    if (take > sizeof(r->body) - 1 - r->len) {
        take = sizeof(r->body) - 1 - r->len;
    }
    memcpy(r->body + r->len, p, take);
    r->len += take;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t take = size * n;
    if (take > sizeof(r->headers) - 1 - r->hlen) {
        take = sizeof(r->headers) - 1 - r->hlen;
    }
    memcpy(r->headers + r->hlen, p, take);
    r->hlen += take;
    r->headers[r->hlen] = '\0';
    return size * n;
}

/* METHOD PATH with an optional Authorization header value. Returns the status or -1. */
static long http(const struct server *sv, const char *method, const char *path, const char *auth,
                 struct reply *r)
{
    char url[256], hdr[256];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    CURLcode rc;
    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sv->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    if (auth != NULL) {
        snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
        h = curl_slist_append(h, hdr);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    } else {
        r->status = -1;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return r->status;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

/* Two GETs on one handle: 1 when the second went over the first one's connection. */
static int reused_connection(const struct server *sv)
{
    char url[128];
    long connects = -1;
    CURL *c = curl_easy_init();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", sv->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(c) == CURLE_OK && curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    }
    curl_easy_cleanup(c);
    return connects == 0;
}

static int has_header(const struct reply *r, const char *line)
{
    return strcasestr(r->headers, line) != NULL;
}

/* ---- raw sockets -------------------------------------------------------------------- */

static int raw_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_port = htons((uint16_t)port);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Reads what the server sends until it closes or DEADLINE_MS passes. Returns the length. */
static size_t raw_read_all(int fd, char *buf, size_t cap, int deadline_ms)
{
    size_t len = 0;
    uint64_t end = lc_now_ms() + (uint64_t)deadline_ms;
    while (len < cap - 1 && lc_now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, (int)(end - lc_now_ms())) <= 0) {
            break;
        }
        n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* The status of a raw HTTP/1.x answer, or -1 when there is none. */
static int raw_status(const char *resp)
{
    int st = -1;
    if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1) {
        return -1;
    }
    return st;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

/* ---- tests -------------------------------------------------------------------------- */

TEST(health_by_state)
{
    struct server sv;
    struct reply r;
    ASSERT_TRUE(server_start(&sv, NULL, 0, 0));
    /* No snapshot yet, within the grace period: degraded, still 200. */
    ASSERT_EQ(http(&sv, "GET", "/health?brief=1", NULL, &r), 200);
    ASSERT_STR_EQ(r.body, "{\"status\":\"degraded\"}\n");
    publish(&sv, LC_TASK_RUNNING);
    ASSERT_EQ(http(&sv, "GET", "/health", NULL, &r), 200);
    ASSERT_TRUE(has_header(&r, "Content-Type: application/json"));
    ASSERT_TRUE(strstr(r.body, "\"status\":\"healthy\"") != NULL);
    ASSERT_TRUE(strstr(r.body, "\"container_name\":\"web-1\"") != NULL);
    ASSERT_TRUE(r.len > 0 && r.body[r.len - 1] == '\n');
    ASSERT_EQ(http(&sv, "GET", "/health?brief=1", NULL, &r), 200);
    ASSERT_STR_EQ(r.body, "{\"status\":\"healthy\"}\n");
    publish(&sv, LC_TASK_FAILED);
    ASSERT_EQ(http(&sv, "GET", "/health?brief=1", NULL, &r), 200);
    ASSERT_STR_EQ(r.body, "{\"status\":\"degraded\"}\n");
    /* The watchdog flags the loop: unhealthy although the snapshot looks fine. */
    publish(&sv, LC_TASK_RUNNING);
    __atomic_store_n(&sv.box.live.loop_stalled, 1, __ATOMIC_RELAXED);
    ASSERT_EQ(http(&sv, "GET", "/health?brief=1", NULL, &r), 503);
    ASSERT_STR_EQ(r.body, "{\"status\":\"unhealthy\"}\n");
    ASSERT_EQ(http(&sv, "GET", "/health", NULL, &r), 503);
    ASSERT_TRUE(strstr(r.body, "\"stalled\":true") != NULL);
    /* The loop stopped turning 11 s ago and nobody flagged it yet: unhealthy too. */
    __atomic_store_n(&sv.box.live.loop_stalled, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sv.box.live.loop_last_turn_mono_ns, lc_mono_ns() - 11 * SEC,
                     __ATOMIC_RELAXED);
    ASSERT_EQ(http(&sv, "GET", "/health?brief=1", NULL, &r), 503);
    ASSERT_EQ(http(&sv, "HEAD", "/health", NULL, &r), 503);
    ASSERT_EQ(r.len, 0);
    server_stop(&sv);
}

TEST(endpoints)
{
    struct server sv;
    struct reply r;
    json_t *j;
    ASSERT_TRUE(server_start(&sv, NULL, 0, 0));
    publish(&sv, LC_TASK_RUNNING);
    ASSERT_EQ(http(&sv, "GET", "/tasks", NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    ASSERT_EQ(json_array_size(json_object_get(j, "tasks")), 2);
    json_decref(j);
    ASSERT_EQ(http(&sv, "GET", "/stats", NULL, &r), 200);
    ASSERT_TRUE(strstr(r.body, "\"lines\":{\"stdout\":42,\"stderr\":0}") != NULL);
    ASSERT_EQ(http(&sv, "GET", "/version", NULL, &r), 200);
    ASSERT_TRUE(strstr(r.body, "\"api\":1}\n") != NULL);
    ASSERT_EQ(http(&sv, "GET", "/metrics", NULL, &r), 200);
    ASSERT_TRUE(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
    ASSERT_TRUE(strstr(r.body, "\nlogcap_up 1\n") != NULL);
    ASSERT_TRUE(strstr(r.body, "\nprocess_open_fds ") != NULL);
    ASSERT_TRUE(strstr(r.body, "logcap_tasks{type=\"docker_events\",state=\"running\"} 1") != NULL);
    ASSERT_EQ(http(&sv, "HEAD", "/metrics", NULL, &r), 200);
    ASSERT_EQ(reused_connection(&sv), 1);
    server_stop(&sv);
}

TEST(not_found_and_methods)
{
    struct server sv;
    struct reply r;
    ASSERT_TRUE(server_start(&sv, NULL, 0, 0));
    ASSERT_EQ(http(&sv, "GET", "/", NULL, &r), 404);
    ASSERT_EQ(http(&sv, "GET", "/nope", NULL, &r), 404);
    ASSERT_EQ(http(&sv, "GET", "/health/", NULL, &r), 404);
    ASSERT_STR_EQ(r.body, "{\"error\":\"not found\"}\n");
    ASSERT_EQ(http(&sv, "POST", "/debug/wedge?task=docker_events", NULL, &r), 404);
    ASSERT_EQ(http(&sv, "POST", "/health", NULL, &r), 405);
    ASSERT_TRUE(has_header(&r, "Allow: GET, HEAD"));
    ASSERT_EQ(http(&sv, "PUT", "/metrics", NULL, &r), 405);
    ASSERT_EQ(http(&sv, "DELETE", "/tasks", NULL, &r), 405);
    ASSERT_EQ(http(&sv, "OPTIONS", "/version", NULL, &r), 405);
    ASSERT_EQ(http(&sv, "GET", "/health", NULL, &r), 200);
    server_stop(&sv);
}

TEST(token)
{
    static const char *const closed[] = {"/tasks", "/stats", "/version"};
    static const char *const wrong[] = {NULL,
                                        "Bearer",
                                        "Bearer ",
                                        "Bearer s3cret",
                                        "Bearer s3cret-token2",
                                        "Bearer s3cret-tokeN",
                                        "Basic czNjcmV0LXRva2Vu",
                                        "s3cret-token"};
    struct server sv;
    struct reply r;
    ASSERT_TRUE(server_start(&sv, TOKEN, 0, 0));
    publish(&sv, LC_TASK_RUNNING);
    for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
        for (size_t k = 0; k < sizeof(wrong) / sizeof(wrong[0]); k++) {
            ASSERT_EQ(http(&sv, "GET", closed[i], wrong[k], &r), 401);
            ASSERT_TRUE(has_header(&r, "WWW-Authenticate: Bearer realm=\"logcap\""));
            ASSERT_TRUE(strstr(r.body, "unauthorized") != NULL);
        }
        ASSERT_EQ(http(&sv, "GET", closed[i], "Bearer " TOKEN, &r), 200);
        ASSERT_EQ(http(&sv, "GET", closed[i], "bearer " TOKEN, &r), 200);
    }
    ASSERT_EQ(http(&sv, "GET", "/tasks", "Bearer wrong", &r), 401);
    ASSERT_TRUE(has_header(&r, "error=\"invalid_token\""));
    /* /health and /metrics stay open to health checkers and scrapers. */
    ASSERT_EQ(http(&sv, "GET", "/health", NULL, &r), 200);
    ASSERT_EQ(http(&sv, "GET", "/metrics", NULL, &r), 200);
    ASSERT_EQ(http(&sv, "GET", "/health", "Bearer wrong", &r), 200);
    /* Unknown paths and wrong methods say so before asking for a token. */
    ASSERT_EQ(http(&sv, "GET", "/nope", NULL, &r), 404);
    ASSERT_EQ(http(&sv, "POST", "/tasks", NULL, &r), 405);
    server_stop(&sv);
}

TEST(wedge_hook)
{
    struct server sv;
    struct reply r;
    char req[512], resp[4096];
    int fd, n;
    ASSERT_TRUE(server_start(&sv, TOKEN, 0, 1));
    ASSERT_EQ(http(&sv, "POST", "/debug/wedge?task=docker_events", NULL, &r), 401);
    ASSERT_EQ(sv.wedge_calls, 0);
    ASSERT_EQ(http(&sv, "POST", "/debug/wedge?task=docker_events", "Bearer " TOKEN, &r), 200);
    ASSERT_STR_EQ(sv.wedged, "docker_events");
    ASSERT_EQ(http(&sv, "POST", "/debug/wedge?task=nope", "Bearer " TOKEN, &r), 404);
    ASSERT_EQ(http(&sv, "POST", "/debug/wedge", "Bearer " TOKEN, &r), 400);
    ASSERT_EQ(http(&sv, "POST", "/debug/wedge?task=", "Bearer " TOKEN, &r), 400);
    ASSERT_EQ(http(&sv, "GET", "/debug/wedge?task=docker_events", "Bearer " TOKEN, &r), 405);
    ASSERT_TRUE(has_header(&r, "Allow: POST"));
    ASSERT_EQ(sv.wedge_calls, 2);
    /* A body is read and dropped. */
    fd = raw_connect(sv.port);
    ASSERT_TRUE(fd >= 0);
    n = sprintf(req, "POST /debug/wedge?task=docker_events HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer " TOKEN "\r\nContent-Length: 5\r\n"
                     "Connection: close\r\n\r\nhello");
    ASSERT_EQ(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    raw_read_all(fd, resp, sizeof(resp), 5000);
    close(fd);
    ASSERT_EQ(raw_status(resp), 200);
    ASSERT_EQ(sv.wedge_calls, 3);
    server_stop(&sv);
}

static struct lc_api *try_listen(struct lc_snapshot_box *box, const char *listen, const char *tok)
{
    struct lc_api_config cfg = {.listen = listen, .token = tok};
    return lc_api_start(&cfg, box, NULL);
}

TEST(listen_addresses)
{
    static const char *const bad[] = {"",
                                      "127.0.0.1",
                                      "127.0.0.1:",
                                      ":8401",
                                      "127.0.0.1:65536",
                                      "127.0.0.1:-1",
                                      "127.0.0.1:80x",
                                      "::1:8401",
                                      "[::1]",
                                      "[::1:8401",
                                      "[nope]:8401",
                                      "example.com:8401",
                                      "1.2.3:8401",
                                      "127.0.0.1:123456"};
    struct lc_snapshot_box box;
    struct lc_api *api;
    char where[64];
    int port = free_port(), fd;
    lc_snapshot_box_init(&box);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        api = try_listen(&box, bad[i], NULL);
        if (api != NULL) {
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        }
        ASSERT_TRUE(api == NULL);
    }
    /* Public without a token: refused; with one: serves. */
    snprintf(where, sizeof(where), "0.0.0.0:%d", port);
    ASSERT_TRUE(try_listen(&box, where, NULL) == NULL);
    ASSERT_TRUE(try_listen(&box, where, "") == NULL);
    api = try_listen(&box, where, TOKEN);
    ASSERT_TRUE(api != NULL);
    lc_api_stop(api);
    snprintf(where, sizeof(where), "localhost:%d", port);
    api = try_listen(&box, where, NULL);
    ASSERT_TRUE(api != NULL);
    /* In use: refused with a log line, and the first server keeps serving. */
    ASSERT_TRUE(try_listen(&box, where, NULL) == NULL);
    lc_api_stop(api);
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd >= 0) {
        close(fd);
        snprintf(where, sizeof(where), "[::1]:%d", port);
        api = try_listen(&box, where, NULL);
        if (api == NULL) {
            printf("skip [::1]: no IPv6 loopback here\n");
        }
        lc_api_stop(api);
        snprintf(where, sizeof(where), "[::]:%d", port);
        ASSERT_TRUE(try_listen(&box, where, NULL) == NULL); /* public, no token */
    }
    lc_snapshot_box_close(&box);
}

TEST(huge_header)
{
    struct server sv;
    struct reply r;
    char *req, resp[4096];
    size_t big = 100 * 1024, len, sent = 0;
    int fd;
    ASSERT_TRUE(server_start(&sv, NULL, 0, 0));
    fd = raw_connect(sv.port);
    ASSERT_TRUE(fd >= 0);
    req = lc_xmalloc(big + 256);
    len = (size_t)sprintf(req, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + len, 'a', big);
    len += big;
    len += (size_t)sprintf(req + len, "\r\n\r\n");
    /* Send in pieces and stop as soon as the server answers: it does so once the header
     * passes its budget, long before the end. */
    while (sent < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        size_t piece = len - sent < 4096 ? len - sent : 4096;
        ssize_t n = send(fd, req + sent, piece, MSG_NOSIGNAL);
        if (n <= 0 || poll(&p, 1, 0) > 0) {
            break;
        }
        sent += (size_t)n;
    }
    raw_read_all(fd, resp, sizeof(resp), 5000);
    close(fd);
    if (raw_status(resp) < 400 || raw_status(resp) > 499) {
        fprintf(stderr, "  answer: %.200s\n", resp);
    }
    ASSERT_TRUE(raw_status(resp) >= 400 && raw_status(resp) <= 499);
    free(req);
    ASSERT_EQ(http(&sv, "GET", "/health?brief=1", NULL, &r), 200);
    server_stop(&sv);
}

TEST(garbage)
{
    static const char *const junk[] = {
        "\x00\x01\x02\xff\xfe garbage \r\n\r\n",
        "GET\r\n\r\n",
        "GET /health HTTP/9.9\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
        "GET /health HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /%00%ff%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS hello */
    };
    struct server sv;
    struct reply r;
    char resp[4096];
    unsigned seed = 42;
    ASSERT_TRUE(server_start(&sv, NULL, 0, 0));
    publish(&sv, LC_TASK_RUNNING);
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]) + 20; i++) {
        char buf[512];
        size_t n;
        int fd = raw_connect(sv.port);
        ASSERT_TRUE(fd >= 0);
        if (i < sizeof(junk) / sizeof(junk[0])) {
            n = i == 0 ? 17 : strlen(junk[i]);
            memcpy(buf, junk[i], n);
        } else {
            n = sizeof(buf);
            for (size_t k = 0; k < n; k++) {
                buf[k] = (char)(rand_r(&seed) & 0xff);
            }
        }
        send(fd, buf, n, MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
        /* The server answers 4xx and closes, or waits for the rest of a request that
         * never comes (its idle timeout will close it): either way it stays up. */
        raw_read_all(fd, resp, sizeof(resp), 300);
        close(fd);
        if (resp[0] != '\0') {
            ASSERT_TRUE(raw_status(resp) >= 400 || raw_status(resp) == 200);
        }
    }
    ASSERT_EQ(http(&sv, "GET", "/health?brief=1", NULL, &r), 200);
    server_stop(&sv);
}

TEST(connection_limit)
{
    enum { MAX = 8, OPEN = 100 };
    struct server sv;
    struct reply r;
    int fds[OPEN], closed = 0;
    uint64_t end;
    ASSERT_TRUE(server_start(&sv, NULL, MAX, 0));
    publish(&sv, LC_TASK_RUNNING);
    for (int i = 0; i < OPEN; i++) {
        fds[i] = raw_connect(sv.port);
    }
    /* The server accepts and at once closes what is beyond its limits (the rest may wait in
     * the backlog, and connect may fail once that is full: both are refusals). */
    for (int i = 0; i < OPEN; i++) {
        closed += fds[i] < 0;
    }
    end = lc_now_ms() + 5000;
    while (closed < OPEN - MAX && lc_now_ms() < end) {
        struct pollfd p[OPEN];
        for (int i = 0; i < OPEN; i++) {
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        }
        poll(p, OPEN, 100);
        for (int i = 0; i < OPEN; i++) {
            char c;
            if (fds[i] >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0) {
                close(fds[i]);
                fds[i] = -1;
                closed++;
            }
        }
    }
    ASSERT_TRUE(closed >= OPEN - MAX);
    for (int i = 0; i < OPEN; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    /* Once the server has seen its held connections close, it serves again. */
    end = lc_now_ms() + 5000;
    while (http(&sv, "GET", "/health?brief=1", NULL, &r) != 200 && lc_now_ms() < end) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ(r.status, 200);
    server_stop(&sv);
}

struct churn {
    struct server *sv;
    int stop;
    int published;
};

static void *publisher(void *arg)
{
    struct churn *c = arg;
    while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
        publish(c->sv, c->published % 2 ? LC_TASK_RUNNING : LC_TASK_RESTARTING);
        c->published++;
    }
    return NULL;
}

TEST(publisher_races_requests)
{
    static const char *const paths[] = {"/health", "/tasks", "/stats", "/metrics"};
    struct server sv;
    struct reply r;
    struct churn c = {.sv = &sv};
    pthread_t th;
    int ok = 0;
    ASSERT_TRUE(server_start(&sv, NULL, 0, 0));
    pthread_create(&th, NULL, publisher, &c);
    for (int i = 0; i < 200; i++) {
        ok += http(&sv, "GET", paths[i % 4], NULL, &r) == 200;
    }
    __atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    ASSERT_EQ(ok, 200);
    ASSERT_TRUE(c.published > 0);
    server_stop(&sv);
}

TEST(no_descriptor_left)
{
    struct server sv;
    struct reply r;
    int before = count_fds();
    for (int i = 0; i < 3; i++) {
        ASSERT_TRUE(server_start(&sv, NULL, 0, 0));
        ASSERT_EQ(http(&sv, "GET", "/metrics", NULL, &r), 200);
        server_stop(&sv);
    }
    ASSERT_EQ(count_fds(), before);
    lc_api_stop(NULL);
}

TEST_MAIN(TEST_ENTRY(health_by_state), TEST_ENTRY(endpoints), TEST_ENTRY(not_found_and_methods),
          TEST_ENTRY(token), TEST_ENTRY(wedge_hook), TEST_ENTRY(listen_addresses),
          TEST_ENTRY(huge_header), TEST_ENTRY(garbage), TEST_ENTRY(connection_limit),
          TEST_ENTRY(publisher_races_requests), TEST_ENTRY(no_descriptor_left))
