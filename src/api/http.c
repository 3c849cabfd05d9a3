/* http: logcap's HTTP API on libmicrohttpd, served by one internal thread (epoll). Routes
 * GET/HEAD /health, /tasks, /stats, /metrics, /version and /dead, POST /dead/replay (and,
 * in test builds, POST /debug/wedge and /debug/output) to the renderers of health.c and metrics.c,
 * which read the published snapshot and the live facts only. Guards: a bearer token compared in
 * constant time, a small memory budget per connection (huge headers get 431 from libmicrohttpd),
 * limits on connections overall and per client address, and an idle timeout per connection. Owns:
 * the MHD daemon (its thread and sockets) and a copy of the token. */
#include "api/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "api/health.h"
#include "api/metrics.h"
#include "base/log.h"
#include "base/util.h"

#define API_MEMORY_LIMIT (32u * 1024u) /* per connection: request line and headers */
#define API_CONNECTION_TIMEOUT_S 10u
#define API_DEFAULT_MAX_CONNECTIONS 64u
#define JSON_TYPE "application/json"

struct lc_api {
    struct MHD_Daemon *mhd;
    struct lc_snapshot_box *box;
    char *token; /* NULL: no token */
    size_t token_len;
    uint64_t task_timeout_ms;
    uint64_t loop_stall_timeout_ms;
    int test_hooks;
    struct lc_api_hooks hooks;
    int64_t started_mono_ns;
    int starting;        /* MHD messages are kept for the start error, not logged */
    char start_err[256]; /* the last message libmicrohttpd logged while starting */
};

/* ---- listen address ----------------------------------------------------------------- */

static int parse_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "0123456789") != n) {
        return -EINVAL;
    }
    v = strtoul(s, NULL, 10);
    if (v > 65535) {
        return -EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

/* Parses "host:port" where host is an IPv4 literal, an [IPv6] literal or "localhost" (which
 * means 127.0.0.1: binding a name would bind whatever it resolves to first). Stores the
 * address and whether it is a loopback one. Returns 0 or -EINVAL. Declared here rather than
 * in api.h until the config loader needs it for its own check. */
int lc_api_listen_parse(const char *listen, struct sockaddr_storage *out, socklen_t *out_len,
                        int *loopback)
{
    char host[128];
    const char *colon, *h = listen;
    size_t hlen;
    uint16_t port;
    if (listen == NULL) {
        return -EINVAL;
    }
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':') {
            return -EINVAL;
        }
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL || memchr(listen, ':', (size_t)(colon - listen)) != NULL) {
            return -EINVAL; /* a bare IPv6 literal needs brackets */
        }
        hlen = (size_t)(colon - listen);
    }
    if (hlen == 0 || hlen >= sizeof(host) || parse_port(colon + 1, &port) != 0) {
        return -EINVAL;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memset(out, 0, sizeof(*out));
    if (listen[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            return -EINVAL;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *out_len = sizeof(*a6);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) ||
                    (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && a6->sin6_addr.s6_addr[12] == 127);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    if (strcasecmp(host, "localhost") == 0) {
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        return -EINVAL;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *out_len = sizeof(*a4);
    *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

/* ---- responses ---------------------------------------------------------------------- */

/* Queues BODY (taken; freed by libmicrohttpd) with STATUS and an optional extra header. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
                               char *body, size_t len, const char *hname, const char *hvalue)
{
    struct MHD_Response *r;
    enum MHD_Result rc;
    if (body == NULL) {
        return MHD_NO;
    }
    r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (hname != NULL) {
        MHD_add_response_header(r, hname, hvalue);
    }
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, char *body)
{
    return respond(c, status, JSON_TYPE, body, body != NULL ? strlen(body) : 0, NULL, NULL);
}

/* {"error":MSG} with STATUS and an optional extra header. MSG is a fixed ASCII text. */
static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                     const char *hname, const char *hvalue)
{
    char *body = lc_xmalloc(strlen(msg) + 16);
    sprintf(body, "{\"error\":\"%s\"}\n", msg);
    return respond(c, status, JSON_TYPE, body, strlen(body), hname, hvalue);
}

/* ---- authorisation ------------------------------------------------------------------ */

/* Compares GIVEN (GLEN bytes) with the secret WANT (WLEN bytes). The loop always runs over
 * the whole secret and never exits early, so the time depends on neither where the first
 * difference is nor on the length the client sent. */
static int secret_equal(const char *given, size_t glen, const char *want, size_t wlen)
{
    volatile unsigned char diff = (unsigned char)(glen != wlen);
    for (size_t i = 0; i < wlen; i++) {
        /* Past the end of GIVEN compare with the secret's complement: always different. */
        unsigned char g = i < glen ? (unsigned char)given[i] : (unsigned char)~want[i];
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0;
}

/* 1 when the request carries "Authorization: Bearer <token>" (scheme case-insensitive). */
static int authorised(const struct lc_api *api, struct MHD_Connection *c, int *sent_any)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    *sent_any = h != NULL;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return 0;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    return secret_equal(h, strlen(h), api->token, api->token_len);
}

/* ---- handlers ----------------------------------------------------------------------- */

/* The health input: the current snapshot (a reference the caller drops) and live facts. */
static void health_input(const struct lc_api *api, struct lc_health_input *in)
{
    memset(in, 0, sizeof(*in));
    in->snap = lc_snapshot_get(api->box);
    in->loop_stalled = __atomic_load_n(&api->box->live.loop_stalled, __ATOMIC_RELAXED);
    in->loop_last_turn_mono_ns =
        __atomic_load_n(&api->box->live.loop_last_turn_mono_ns, __ATOMIC_RELAXED);
    in->now_mono_ns = lc_mono_ns();
    in->api_started_mono_ns = api->started_mono_ns;
    in->task_timeout_ms = api->task_timeout_ms;
    in->loop_stall_timeout_ms = api->loop_stall_timeout_ms;
}

static int arg_true(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

static enum MHD_Result on_health(struct lc_api *api, struct MHD_Connection *c)
{
    struct lc_health_input in;
    int status = 200;
    char *body;
    health_input(api, &in);
    body = lc_health_render(&in, arg_true(c, "brief"), &status);
    lc_snapshot_put((struct lc_snapshot *)in.snap);
    return respond_json(c, (unsigned)status, body);
}

static enum MHD_Result on_metrics(struct lc_api *api, struct MHD_Connection *c)
{
    struct lc_health_input in;
    struct lc_proc_stats proc;
    size_t len = 0;
    char *text;
    health_input(api, &in);
    lc_metrics_proc_read(&proc); /* what could not be read is left out */
    text = lc_metrics_render(in.snap, lc_health_loop_stalled(&in), &proc, in.now_mono_ns, &len);
    lc_snapshot_put((struct lc_snapshot *)in.snap);
    if (text == NULL) {
        lc_log(LC_LOG_ERROR, -E2BIG, "[api] /metrics: the exposition passed its size cap");
        return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics too large", NULL, NULL);
    }
    return respond(c, MHD_HTTP_OK, LC_METRICS_CONTENT_TYPE, text, len, NULL, NULL);
}

static enum MHD_Result on_snapshot_body(struct lc_api *api, struct MHD_Connection *c,
                                        char *(*render)(const struct lc_snapshot *))
{
    struct lc_snapshot *s = lc_snapshot_get(api->box);
    char *body = render(s);
    lc_snapshot_put(s);
    return respond_json(c, MHD_HTTP_OK, body);
}

static enum MHD_Result on_wedge(struct lc_api *api, struct MHD_Connection *c)
{
    const char *task = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "task");
    int rc;
    if (task == NULL || task[0] == '\0') {
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "missing task", NULL, NULL);
    }
    rc = api->hooks.wedge(api->hooks.ud, task);
    if (rc == -ENOENT) {
        return respond_error(c, MHD_HTTP_NOT_FOUND, "no such task", NULL, NULL);
    }
    if (rc != 0) {
        return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "wedge failed", NULL, NULL);
    }
    lc_log(LC_LOG_WARN, 0, "[api] test hook: wedged task %s", task);
    return respond_json(c, MHD_HTTP_OK, lc_xstrdup("{\"wedged\":true}\n"));
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result on_fault(struct lc_api *api, struct MHD_Connection *c)
{
    const char *name = arg(c, "name"), *mode = arg(c, "mode"), *match = arg(c, "match");
    int rc;
    if (name == NULL || mode == NULL) {
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "missing name or mode", NULL, NULL);
    }
    rc = api->hooks.fault(api->hooks.ud, name, mode, match != NULL ? match : "");
    if (rc == -ENOENT) {
        return respond_error(c, MHD_HTTP_NOT_FOUND, "no such output", NULL, NULL);
    }
    if (rc != 0) {
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "mode must be retry, reject or off", NULL,
                             NULL);
    }
    return respond_json(c, MHD_HTTP_OK, lc_xstrdup("{\"fault\":true}\n"));
}

static enum MHD_Result on_replay(struct lc_api *api, struct MHD_Connection *c)
{
    const char *output = arg(c, "output");
    int rc;
    if (output == NULL || output[0] == '\0') {
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "missing output", NULL, NULL);
    }
    rc = api->hooks.replay(api->hooks.ud, output);
    if (rc == -ENOENT) {
        return respond_error(c, MHD_HTTP_NOT_FOUND, "no such output", NULL, NULL);
    }
    lc_log(LC_LOG_INFO, 0, "[api] dead-letter replay of output %s requested", output);
    return respond_json(c, MHD_HTTP_ACCEPTED, lc_xstrdup("{\"replay\":\"requested\"}\n"));
}

/* ---- routing ------------------------------------------------------------------------ */

enum route {
    R_NONE,
    R_HEALTH,
    R_TASKS,
    R_STATS,
    R_METRICS,
    R_VERSION,
    R_DEAD,
    R_REPLAY,
    R_WEDGE,
    R_FAULT
};

/* 1 when the route's hook is there (and, for the test routes, test hooks are on). */
static int route_enabled(const struct lc_api *api, enum route r)
{
    switch (r) {
    case R_WEDGE:
        return api->test_hooks && api->hooks.wedge != NULL;
    case R_FAULT:
        return api->test_hooks && api->hooks.fault != NULL;
    case R_REPLAY:
        return api->hooks.replay != NULL;
    case R_DEAD:
        return api->hooks.dead != NULL;
    default:
        return 1;
    }
}

static int is_post(enum route r)
{
    return r == R_WEDGE || r == R_FAULT || r == R_REPLAY;
}

static enum route find_route(const struct lc_api *api, const char *url)
{
    static const struct {
        const char *path;
        enum route r;
    } routes[] = {
        {"/health", R_HEALTH},      {"/tasks", R_TASKS},       {"/stats", R_STATS},
        {"/metrics", R_METRICS},    {"/version", R_VERSION},   {"/dead", R_DEAD},
        {"/dead/replay", R_REPLAY}, {"/debug/wedge", R_WEDGE}, {"/debug/output", R_FAULT},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(url, routes[i].path) == 0) {
            return route_enabled(api, routes[i].r) ? routes[i].r : R_NONE;
        }
    }
    return R_NONE;
}

/* Answers 405 or 401 when the request may not go on; returns 1 when it may. */
static int admit(struct lc_api *api, struct MHD_Connection *c, enum route r, const char *method,
                 enum MHD_Result *rc)
{
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int sent_any = 0;
    if (is_post(r) ? strcmp(method, MHD_HTTP_METHOD_POST) != 0 : !get) {
        *rc = respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                            MHD_HTTP_HEADER_ALLOW, is_post(r) ? "POST" : "GET, HEAD");
        return 0;
    }
    if (api->token == NULL || r == R_HEALTH || r == R_METRICS || authorised(api, c, &sent_any)) {
        return 1;
    }
    *rc = respond_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                        sent_any ? "Bearer realm=\"logcap\", error=\"invalid_token\""
                                 : "Bearer realm=\"logcap\"");
    return 0;
}

/* libmicrohttpd calls this when the headers are in, again for each piece of a body, and
 * once more at its end. Refusals (404, 405, 401) are answered at the first call: the body
 * is then never read and the connection is closed. An admitted request is answered at the
 * last call, which keeps the connection open for the next request (a scraper's). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct lc_api *api = cls;
    enum route r = find_route(api, url);
    enum MHD_Result rc = MHD_NO;
    (void)version, (void)upload;
    if (*req_cls == NULL) {
        if (r == R_NONE) {
            return respond_error(c, MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
        }
        if (!admit(api, c, r, method, &rc)) {
            return rc;
        }
        *req_cls = api; /* admitted */
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0; /* no endpoint reads a body: drop it */
        return MHD_YES;
    }
    switch (r) {
    case R_HEALTH:
        return on_health(api, c);
    case R_METRICS:
        return on_metrics(api, c);
    case R_TASKS:
        return on_snapshot_body(api, c, lc_health_render_tasks);
    case R_STATS:
        return on_snapshot_body(api, c, lc_health_render_stats);
    case R_VERSION:
        return respond_json(c, MHD_HTTP_OK, lc_health_render_version(NULL));
    case R_DEAD:
        return respond_json(c, MHD_HTTP_OK, lc_health_body(api->hooks.dead(api->hooks.ud)));
    case R_REPLAY:
        return on_replay(api, c);
    case R_WEDGE:
        return on_wedge(api, c);
    case R_FAULT:
        return on_fault(api, c);
    default:
        return MHD_NO;
    }
}

/* ---- start and stop ----------------------------------------------------------------- */

/* libmicrohttpd's own messages: kept while starting (they explain a failed bind), logged
 * afterwards (rate-limited by lc_log: they all share one format). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct lc_api *api = cls;
    char msg[256];
    size_t n;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.')) {
        msg[--n] = '\0';
    }
    if (__atomic_load_n(&api->starting, __ATOMIC_ACQUIRE)) {
        memcpy(api->start_err, msg, n + 1);
        return;
    }
    lc_log(LC_LOG_WARN, 0, "[api] libmicrohttpd: %s", msg);
}

/* "127.0.0.1:8401" or "[::1]:8401" of the bound socket. */
static void bound_name(struct MHD_Daemon *mhd, const struct sockaddr_storage *ss, char *out,
                       size_t cap)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info != NULL ? info->port : 0;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
        snprintf(out, cap, "[%s]:%u", ip, port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
        snprintf(out, cap, "%s:%u", ip, port);
    }
}

static struct MHD_Daemon *start_mhd(struct lc_api *api, const struct sockaddr_storage *ss,
                                    unsigned max_conn)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    /* The listen backlog stays at libmicrohttpd's default (SOMAXCONN): connections beyond
     * the limits are accepted and closed at once, a clear refusal, instead of waiting in a
     * full backlog while their SYNs are dropped. One client address may take half
     * the slots, so that a runaway scraper cannot lock out a health checker that comes
     * from elsewhere. */
    unsigned per_ip = max_conn / 2 > 0 ? max_conn / 2 : 1;
    /* The port is only for libmicrohttpd's messages: it binds to SS. */
    uint16_t port = ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                              : ((const struct sockaddr_in *)ss)->sin_port;
    return MHD_start_daemon(
        flags, ntohs(port), NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)API_MEMORY_LIMIT, MHD_OPTION_CONNECTION_LIMIT, max_conn,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        API_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
}

struct lc_api *lc_api_start(const struct lc_api_config *cfg, struct lc_snapshot_box *box,
                            const struct lc_api_hooks *hooks)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int loopback = 0, has_token = cfg->token != NULL && cfg->token[0] != '\0';
    struct lc_api *api;
    char where[INET6_ADDRSTRLEN + 16];

    if (lc_api_listen_parse(cfg->listen, &ss, &len, &loopback) != 0) {
        lc_log(LC_LOG_ERROR, 0,
               "[api] api.listen \"%s\": expected host:port with an IPv4 address, an [IPv6] "
               "address or localhost, and a port from 0 to 65535",
               cfg->listen != NULL ? cfg->listen : "");
        return NULL;
    }
    if (!loopback && !has_token) {
        lc_log(LC_LOG_ERROR, 0,
               "[api] api.listen %s is not a loopback address and api.token is not set: "
               "refusing to serve the API there without a token",
               cfg->listen);
        return NULL;
    }
    api = lc_xcalloc(1, sizeof(*api));
    api->box = box;
    api->token = has_token ? lc_xstrdup(cfg->token) : NULL;
    api->token_len = has_token ? strlen(cfg->token) : 0;
    api->task_timeout_ms = cfg->task_timeout_ms;
    api->loop_stall_timeout_ms = cfg->loop_stall_timeout_ms;
    api->test_hooks = cfg->test_hooks;
    if (hooks != NULL) {
        api->hooks = *hooks;
    }
    api->started_mono_ns = lc_mono_ns();
    api->starting = 1;
    api->mhd = start_mhd(api, &ss,
                         cfg->max_connections ? cfg->max_connections : API_DEFAULT_MAX_CONNECTIONS);
    if (api->mhd == NULL) {
        lc_log(LC_LOG_ERROR, 0, "[api] cannot listen on %s: %s", cfg->listen,
               api->start_err[0] != '\0' ? api->start_err : "libmicrohttpd failed to start");
        lc_api_stop(api);
        return NULL;
    }
    __atomic_store_n(&api->starting, 0, __ATOMIC_RELEASE);
    bound_name(api->mhd, &ss, where, sizeof(where));
    lc_log(LC_LOG_INFO, 0, "[api] listening on %s%s", where, has_token ? " (token required)" : "");
    return api;
}

void lc_api_stop(struct lc_api *api)
{
    if (api == NULL) {
        return;
    }
    if (api->mhd != NULL) {
        MHD_stop_daemon(api->mhd);
    }
    if (api->token != NULL) {
        /* The token is a credential: do not leave it in freed memory. */
        explicit_bzero(api->token, api->token_len);
        free(api->token);
    }
    free(api);
}
