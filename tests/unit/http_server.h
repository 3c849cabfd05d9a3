/* http_server: an in-process HTTP server (libmicrohttpd, one thread per connection) on
 * 127.0.0.1 for the unit tests of the HTTP layer and of the HTTP outputs. It records every
 * request (path, headers, body, the client's port) and answers as told:
 *  - by default with s->status, s->retry_after, s->answer (s->answer_len bytes), or by
 *    resetting the connection (s->reset), or by stalling until released (s->stall);
 *  - or with queued answers, one per request in order (srv_queue, srv_queue_reset), so a
 *    test can say "413, then 204, 204"; once the queue is used up, the default applies.
 *    A request that came while the queue was empty takes the default, even when it stalls
 *    and an answer is queued before it is released.
 * A request is recorded before it is answered, so once the client has its answer the test
 * may read s->reqs and s->n. Every function is static: each test file has its own copy. */
#ifndef LC_TEST_HTTP_SERVER_H
#define LC_TEST_HTTP_SERVER_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SRV_MAX_REQS 32
#define SRV_MAX_QUEUE 16

struct req {
    char path[256];
    char headers[4096]; /* "name: value\n" each, as received */
    unsigned char *body;
    size_t len;
    unsigned port; /* the client's port: one per connection */
};

/* One queued answer. */
struct srv_answer {
    unsigned status;
    const char *retry_after; /* NULL: no Retry-After */
    const char *body;        /* NULL: empty; must outlive its request */
    int reset;               /* close the connection with a RST instead */
};

struct srv {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct req reqs[SRV_MAX_REQS];
    int n;
    /* how the next requests are answered once the queue is empty */
    unsigned status;
    char retry_after[64];
    const char *answer;
    size_t answer_len;
    int stall; /* wait until released (stall == 0 again) */
    int reset; /* close the connection with a RST */
    /* answers for the next requests, one each, before the default */
    struct srv_answer queue[SRV_MAX_QUEUE];
    int q_head, q_len;
};

struct srv_upload {
    unsigned char *data;
    size_t len;
};

static inline enum MHD_Result srv_add_header(void *cls, enum MHD_ValueKind kind, const char *k,
                                             const char *v)
{
    struct req *r = cls;
    size_t n = strlen(r->headers);
    (void)kind;
    snprintf(r->headers + n, sizeof r->headers - n, "%s: %s\n", k, v ? v : "");
    return MHD_YES;
}

static inline void srv_record(struct srv *s, struct MHD_Connection *c, const char *url,
                              struct srv_upload *u)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct req *r;

    if (s->n >= SRV_MAX_REQS) {
        fprintf(stderr, "http_server: more than %d requests\n", SRV_MAX_REQS);
        abort();
    }
    r = &s->reqs[s->n++];
    snprintf(r->path, sizeof r->path, "%s", url);
    MHD_get_connection_values(c, MHD_HEADER_KIND, srv_add_header, r);
    r->body = u->data;
    r->len = u->len;
    u->data = NULL;
    r->port = ntohs(((const struct sockaddr_in *)ci->client_addr)->sin_port);
}

/* The answer of the next request: the queue's first when QUEUED, else the default (as it
 * is now: a stalled request takes the default of the moment it is released). */
static inline struct srv_answer srv_next_answer(struct srv *s, int queued, size_t *len)
{
    struct srv_answer a = {s->status, s->retry_after[0] != '\0' ? s->retry_after : NULL, s->answer,
                           s->reset};

    *len = s->answer_len;
    if (queued) {
        a = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % SRV_MAX_QUEUE;
        s->q_len--;
        *len = a.body != NULL ? strlen(a.body) : 0;
    }
    return a;
}

static inline enum MHD_Result srv_answer_with(struct MHD_Connection *c, struct srv_answer a,
                                              size_t len)
{
    struct MHD_Response *resp;
    enum MHD_Result rc;

    if (a.reset) {
        /* SO_LINGER 0: close() sends a RST instead of a FIN */
        struct linger l = {1, 0};
        int fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)->connect_fd;
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(len, (void *)(a.body != NULL ? a.body : ""),
                                           MHD_RESPMEM_MUST_COPY);
    if (a.retry_after != NULL) {
        MHD_add_response_header(resp, "Retry-After", a.retry_after);
    }
    rc = MHD_queue_response(c, a.status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static inline enum MHD_Result srv_handler(void *cls, struct MHD_Connection *c, const char *url,
                                          const char *method, const char *version, const char *data,
                                          size_t *data_size, void **con_cls)
{
    struct srv *s = cls;
    struct srv_upload *u = *con_cls;
    struct srv_answer a;
    enum MHD_Result rc;
    size_t len;
    int queued;

    (void)method;
    (void)version;
    if (u == NULL) {
        *con_cls = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*data_size > 0) {
        u->data = realloc(u->data, u->len + *data_size);
        memcpy(u->data + u->len, data, *data_size);
        u->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    srv_record(s, c, url, u);
    queued = s->q_len > 0;
    while (!queued && s->stall) {
        pthread_cond_wait(&s->cv, &s->mu); /* released by the test once the client gave up */
    }
    a = srv_next_answer(s, queued, &len);
    rc = srv_answer_with(c, a, len);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static inline void srv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                                 enum MHD_RequestTerminationCode code)
{
    struct srv_upload *u = *con_cls;
    (void)cls;
    (void)c;
    (void)code;
    if (u != NULL) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

/* Starts S on 127.0.0.1, a free port (S->port), answering 204 with an empty body; over TLS
 * with the PEM KEY and CERT when both are given (they must outlive S). Aborts on failure. */
static inline void srv_start_tls(struct srv *s, const char *key, const char *cert)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;

    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->status = 204;
    s->answer = "";
    if (key != NULL && cert != NULL) {
        s->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, srv_handler, s,
                                MHD_OPTION_SOCK_ADDR, &a, MHD_OPTION_NOTIFY_COMPLETED,
                                srv_completed, s, MHD_OPTION_HTTPS_MEM_KEY, key,
                                MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    } else {
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, srv_handler, s, MHD_OPTION_SOCK_ADDR, &a,
                                MHD_OPTION_NOTIFY_COMPLETED, srv_completed, s, MHD_OPTION_END);
    }
    if (s->d == NULL) {
        abort();
    }
    s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static inline void srv_start(struct srv *s)
{
    srv_start_tls(s, NULL, NULL);
}

static inline void srv_push(struct srv *s, struct srv_answer a)
{
    pthread_mutex_lock(&s->mu);
    if (s->q_len >= SRV_MAX_QUEUE) {
        abort();
    }
    s->queue[(s->q_head + s->q_len++) % SRV_MAX_QUEUE] = a;
    pthread_mutex_unlock(&s->mu);
}

/* Queues an answer for one request: STATUS, with RETRY_AFTER (NULL: none) and BODY (NULL:
 * empty; it must outlive the request). */
static inline void srv_queue(struct srv *s, unsigned status, const char *retry_after,
                             const char *body)
{
    srv_push(s, (struct srv_answer){status, retry_after, body, 0});
}

/* Queues a connection reset for one request. */
static inline void srv_queue_reset(struct srv *s)
{
    srv_push(s, (struct srv_answer){0, NULL, NULL, 1});
}

/* Lets the stalled requests be answered, and the next ones too. */
static inline void srv_release(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->stall = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Frees the recorded requests' bodies and forgets them (the queue stays). */
static inline void srv_forget(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n; i++) {
        free(s->reqs[i].body);
    }
    memset(s->reqs, 0, sizeof s->reqs);
    s->n = 0;
    pthread_mutex_unlock(&s->mu);
}

static inline void srv_stop(struct srv *s)
{
    srv_release(s);
    MHD_stop_daemon(s->d);
    srv_forget(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

/* Whether request R carried the header LINE ("Name: value\n", as recorded). */
static inline int has_header(const struct req *r, const char *line)
{
    return strstr(r->headers, line) != NULL;
}

#endif
