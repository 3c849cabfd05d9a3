/* client: see client.h. libcurl speaks HTTP over the unix socket and decodes chunked
 * bodies; this file only wires curl's socket and timer callbacks to libuv and keeps our
 * own deadlines. Callbacks to the user are made from check_done(), never from inside a
 * curl callback, so a user may cancel or start requests from them. */
#include "inputs/docker/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#define JSON_BODY_MAX (64u << 20)
#define ERROR_TEXT_MAX 4096

struct sock_ctx {
    uv_poll_t poll;
    uv_timer_t delay;
    struct lc_docker_client *client;
    curl_socket_t fd;
    int events;
    int delayed;
    int removed;
    int open_handles;
    uint64_t last_read_ms;
};

struct lc_docker_req {
    struct lc_docker_client *client;
    struct lc_docker_req *prev, *next;
    CURL *easy;
    uv_timer_t deadline;
    char *url;
    uint64_t started_ms;
    uint64_t total_timeout_ms;
    int headers_seen;
    int paused;
    long status;
    lc_docker_req_data_cb data_cb;
    lc_docker_req_done_cb done_cb;
    void *ud;
    void (*cancel_cb)(void *ud); /* frees UD when the request is cancelled */
    int stop_rc;                 /* set when the data callback asked to stop */
    struct lc_buf error_text;    /* body of a non-2xx response */
};

struct lc_docker_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    char *socket_path;
    char api[32];
    char last_error[512]; /* error body of the request whose done callback runs */
    uint64_t header_timeout_ms;
    struct lc_docker_req *reqs;
};

static void check_done(struct lc_docker_client *c);

/* ---- sockets ---------------------------------------------------------------------- */

static void sock_handle_closed(uv_handle_t *h)
{
    struct sock_ctx *sc = h->data;
    if (--sc->open_handles == 0) {
        free(sc);
    }
}

static void sock_close(struct sock_ctx *sc)
{
    sc->removed = 1;
    uv_close((uv_handle_t *)&sc->poll, sock_handle_closed);
    uv_close((uv_handle_t *)&sc->delay, sock_handle_closed);
}

static void sock_resume(uv_timer_t *t);

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct sock_ctx *sc = p->data;
    struct lc_docker_client *c = sc->client;
    int flags = 0, running = 0;
    uint64_t now = lc_now_ms();

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
        flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    }
    curl_multi_socket_action(c->multi, sc->fd, flags, &running);
    /* sc stays allocated until its close callbacks run, even if curl removed it. */
    if (!sc->removed && (events & UV_READABLE) && !sc->delayed) {
        if (now - sc->last_read_ms < LC_COALESCE_MS) {
            /* Busy socket: let data gather and read it in one go. */
            uv_poll_stop(&sc->poll);
            sc->delayed = 1;
            uv_timer_start(&sc->delay, sock_resume, LC_COALESCE_MS, 0);
        }
        sc->last_read_ms = now;
    }
    check_done(c);
}

static void sock_resume(uv_timer_t *t)
{
    struct sock_ctx *sc = t->data;
    sc->delayed = 0;
    if (!sc->removed && sc->events != 0) {
        uv_poll_start(&sc->poll, sc->events, poll_cb);
    }
}

static struct sock_ctx *sock_open(struct lc_docker_client *c, curl_socket_t s)
{
    struct sock_ctx *sc = lc_xcalloc(1, sizeof(*sc));
    sc->client = c;
    sc->fd = s;
    if (uv_poll_init_socket(c->loop, &sc->poll, s) != 0) {
        free(sc);
        return NULL;
    }
    uv_timer_init(c->loop, &sc->delay);
    sc->poll.data = sc;
    sc->delay.data = sc;
    sc->open_handles = 2;
    curl_multi_assign(c->multi, s, sc);
    return sc;
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct lc_docker_client *c = userp;
    struct sock_ctx *sc = socketp;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        if (sc != NULL) {
            curl_multi_assign(c->multi, s, NULL);
            sock_close(sc);
        }
        return 0;
    }
    if (sc == NULL && (sc = sock_open(c, s)) == NULL) {
        return -1;
    }
    sc->events =
        ((what & CURL_POLL_IN) ? UV_READABLE : 0) | ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    if (!sc->delayed) {
        uv_poll_start(&sc->poll, sc->events, poll_cb);
    }
    return 0;
}

/* ---- curl timer ------------------------------------------------------------------- */

static void curl_timer_cb(uv_timer_t *t)
{
    struct lc_docker_client *c = t->data;
    int running = 0;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct lc_docker_client *c = userp;
    (void)multi;
    if (timeout_ms < 0) {
        uv_timer_stop(&c->timer);
    } else {
        uv_timer_start(&c->timer, curl_timer_cb, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

/* ---- requests --------------------------------------------------------------------- */

static void req_freed(uv_handle_t *h)
{
    struct lc_docker_req *r = h->data;
    lc_buf_close(&r->error_text);
    free(r->url);
    free(r);
}

/* Detaches R from curl and the client and schedules its memory to be freed. */
static void req_release(struct lc_docker_req *r)
{
    struct lc_docker_client *c = r->client;
    curl_multi_remove_handle(c->multi, r->easy);
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        c->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    uv_timer_stop(&r->deadline);
    uv_close((uv_handle_t *)&r->deadline, req_freed);
}

static void req_finish(struct lc_docker_req *r, int result)
{
    lc_docker_req_done_cb cb = r->done_cb;
    void *ud = r->ud;
    long status = r->status;
    struct lc_docker_client *c = r->client;
    c->last_error[0] = '\0';
    if (r->error_text.len > 0 && status >= 300) {
        lc_log(LC_LOG_DEBUG, 0, "[docker] %s: HTTP %ld: %.*s", r->url, status,
               (int)r->error_text.len, r->error_text.data);
        snprintf(c->last_error, sizeof(c->last_error), "%.*s", (int)r->error_text.len,
                 r->error_text.data);
    }
    req_release(r);
    cb(ud, result, status);
    c->last_error[0] = '\0';
}

static void deadline_cb(uv_timer_t *t)
{
    struct lc_docker_req *r = t->data;
    req_finish(r, -ETIMEDOUT);
}

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
    struct lc_docker_req *r = ud;
    size_t len = size * n;
    if (len <= 2 && (len == 0 || buf[0] == '\r' || buf[0] == '\n')) {
        /* End of the response headers: the header deadline is met. */
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status >= 200 && r->status != 100) {
            uint64_t elapsed = lc_now_ms() - r->started_ms;
            r->headers_seen = 1;
            uv_timer_stop(&r->deadline);
            if (r->total_timeout_ms != 0) {
                uint64_t left = r->total_timeout_ms > elapsed ? r->total_timeout_ms - elapsed : 1;
                uv_timer_start(&r->deadline, deadline_cb, left, 0);
            }
        }
    }
    return len;
}

static size_t write_cb(char *ptr, size_t size, size_t n, void *ud)
{
    struct lc_docker_req *r = ud;
    size_t len = size * n;
    if (r->status >= 300 || r->status == 0) {
        size_t room = ERROR_TEXT_MAX - r->error_text.len;
        lc_buf_add(&r->error_text, ptr, len < room ? len : room);
        return len;
    }
    r->stop_rc = r->data_cb(r->ud, ptr, len);
    return r->stop_rc != 0 ? 0 : len;
}

static int map_curl_error(CURLcode code, struct lc_docker_req *r)
{
    switch (code) {
    case CURLE_OK:
        return 0;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_WRITE_ERROR:
        return r->stop_rc != 0 ? -ECANCELED : -EIO;
    default:
        return -EIO;
    }
}

static void check_done(struct lc_docker_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        struct lc_docker_req *r = NULL;
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r->status == 0) {
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
        }
        req_finish(r, map_curl_error(msg->data.result, r));
    }
}

static CURL *easy_create(struct lc_docker_client *c, struct lc_docker_req *r)
{
    CURL *e = curl_easy_init();
    if (e == NULL) {
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->header_timeout_ms);
    /* Large reads: a busy stream is read in big chunks (see LC_COALESCE_MS). */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 32L * 1024L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "logcap/" LOGCAP_VERSION);
    return e;
}

struct lc_docker_req *lc_docker_req_start(struct lc_docker_client *c, const char *path, int raw,
                                          uint64_t total_timeout_ms, lc_docker_req_data_cb data_cb,
                                          lc_docker_req_done_cb done_cb, void *ud)
{
    struct lc_docker_req *r = lc_xcalloc(1, sizeof(*r));
    struct lc_buf url;

    lc_buf_init(&url, 0);
    lc_buf_printf(&url, "http://docker%s%s", raw ? "" : c->api, path);
    r->url = lc_buf_take(&url, NULL);
    r->client = c;
    r->data_cb = data_cb;
    r->done_cb = done_cb;
    r->ud = ud;
    r->total_timeout_ms = total_timeout_ms;
    r->started_ms = lc_now_ms();
    lc_buf_init(&r->error_text, ERROR_TEXT_MAX);
    r->easy = easy_create(c, r);
    if (r->easy == NULL || curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
        lc_log(LC_LOG_ERROR, 0, "[docker] cannot start request %s", r->url);
        curl_easy_cleanup(r->easy);
        lc_buf_close(&r->error_text);
        free(r->url);
        free(r);
        return NULL;
    }
    r->next = c->reqs;
    if (c->reqs != NULL) {
        c->reqs->prev = r;
    }
    c->reqs = r;
    uv_timer_init(c->loop, &r->deadline);
    r->deadline.data = r;
    uv_timer_start(&r->deadline, deadline_cb,
                   total_timeout_ms != 0 && total_timeout_ms < c->header_timeout_ms
                       ? total_timeout_ms
                       : c->header_timeout_ms,
                   0);
    return r;
}

void lc_docker_req_cancel(struct lc_docker_req *r)
{
    if (r != NULL) {
        void (*cancel_cb)(void *) = r->cancel_cb;
        void *ud = r->ud;
        req_release(r);
        if (cancel_cb != NULL) {
            cancel_cb(ud);
        }
    }
}

void lc_docker_req_pause(struct lc_docker_req *r, int pause)
{
    if (r == NULL || r->paused == pause) {
        return;
    }
    r->paused = pause;
    curl_easy_pause(r->easy, pause ? CURLPAUSE_RECV : CURLPAUSE_CONT);
    if (!pause) {
        check_done(r->client);
    }
}

/* ---- JSON requests ---------------------------------------------------------------- */

struct json_req {
    struct lc_buf body;
    lc_docker_req_json_cb cb;
    void *ud;
};

static int json_data(void *ud, const char *data, size_t len)
{
    struct json_req *j = ud;
    return lc_buf_add(&j->body, data, len) == 0 ? 0 : -E2BIG;
}

static void json_free(void *ud)
{
    struct json_req *j = ud;
    lc_buf_close(&j->body);
    free(j);
}

static void json_done(void *ud, int result, long status)
{
    struct json_req *j = ud;
    json_t *body = NULL;
    if (result == 0 && status >= 200 && status < 300) {
        json_error_t err;
        body = json_loadb(j->body.data != NULL ? j->body.data : "", j->body.len, 0, &err);
        if (body == NULL) {
            result = -EBADMSG;
        }
    }
    j->cb(j->ud, result, status, body);
    json_decref(body);
    json_free(j);
}

struct lc_docker_req *lc_docker_get_json(struct lc_docker_client *c, const char *path, int raw,
                                         uint64_t total_timeout_ms, lc_docker_req_json_cb cb,
                                         void *ud)
{
    struct json_req *j = lc_xcalloc(1, sizeof(*j));
    struct lc_docker_req *r;
    lc_buf_init(&j->body, JSON_BODY_MAX);
    j->cb = cb;
    j->ud = ud;
    r = lc_docker_req_start(c, path, raw, total_timeout_ms, json_data, json_done, j);
    if (r == NULL) {
        json_free(j);
        return NULL;
    }
    r->cancel_cb = json_free;
    return r;
}

/* ---- client ----------------------------------------------------------------------- */

struct lc_docker_client *lc_docker_client_create(uv_loop_t *loop, const char *socket_path,
                                                 uint64_t header_timeout_ms)
{
    struct lc_docker_client *c = lc_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->socket_path = lc_xstrdup(socket_path);
    c->header_timeout_ms = header_timeout_ms;
    snprintf(c->api, sizeof(c->api), "/v1.41");
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        lc_log(LC_LOG_ERROR, 0, "[docker] curl_multi_init failed");
        free(c->socket_path);
        free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 8L);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    return c;
}

static void client_freed(uv_handle_t *h)
{
    struct lc_docker_client *c = h->data;
    free(c->socket_path);
    free(c);
}

void lc_docker_client_destroy(struct lc_docker_client *c)
{
    if (c == NULL) {
        return;
    }
    while (c->reqs != NULL) {
        lc_docker_req_cancel(c->reqs);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, client_freed);
}

void lc_docker_client_set_api(struct lc_docker_client *c, const char *prefix)
{
    snprintf(c->api, sizeof(c->api), "%s", prefix);
}

const char *lc_docker_client_api(const struct lc_docker_client *c)
{
    return c->api;
}

const char *lc_docker_client_error_text(const struct lc_docker_client *c)
{
    return c->last_error;
}
