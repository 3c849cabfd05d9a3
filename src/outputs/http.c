/* http: one libcurl easy handle per output, run on its own multi handle, kept alive across
 * requests (see http.h). */
#include "outputs/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"

#define BODY_KEEP 4096 /* bytes of an answer's body kept: enough for its first line */
#define GZIP_LEVEL 1   /* the fastest: bodies are logs, which compress well at any level */
#define RETRY_AFTER_MAX_MS LC_DAY_MS
#define CANCEL_POLL_MS 100 /* a request in progress looks at its cancel flag this often */

struct lc_http {
    CURL *curl;
    CURLM *multi; /* runs CURL's requests; it holds the kept-alive connection */
    const struct lc_http_options *o;
    char *name;
    char *url_safe;   /* the url without user:pass@, for messages */
    char *userinfo;   /* the url's user:pass, NULL when none: scrubbed from messages */
    char *connect_to; /* tls.server_name: "server_name:port:host:port" */
    char *url;        /* the url every request starts from (the host replaced by server_name) */
    struct curl_slist *connect_list;
    struct libdeflate_compressor *gz;
    unsigned char *gz_buf;
    size_t gz_cap;
    char errbuf[CURL_ERROR_SIZE];
    /* the answer being read */
    char body[BODY_KEEP];
    size_t body_len;
    int64_t retry_after_ms;
    const int *cancel; /* lc_http_set_cancel: give up the request once it is non-zero */
};

/* A new string formatted as printf would. */
static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    s = lc_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    /* Not thread-safe in libcurl: done once, before the first handle. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct lc_http *h = arg;
    size_t len = size * n, keep = BODY_KEEP - h->body_len;

    keep = len < keep ? len : keep;
    memcpy(h->body + h->body_len, data, keep);
    h->body_len += keep;
    return len; /* the rest is read and dropped, so the connection stays usable */
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct lc_http *h = arg;
    size_t len = size * n;
    char v[128];

    if (len > 12 && len < 12 + sizeof v && strncasecmp(data, "retry-after:", 12) == 0) {
        size_t vl = len - 12;
        memcpy(v, data + 12, vl);
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) {
            vl--;
        }
        v[vl] = '\0';
        h->retry_after_ms = lc_http_parse_retry_after(v + strspn(v, " \t"), (int64_t)time(NULL));
    }
    return len;
}

int64_t lc_http_parse_retry_after(const char *value, int64_t now)
{
    struct tm tm;
    const char *end;
    int64_t ms;

    if (value[0] >= '0' && value[0] <= '9' && strspn(value, "0123456789") == strlen(value)) {
        if (strlen(value) > 8) {
            return (int64_t)RETRY_AFTER_MAX_MS;
        }
        ms = strtoll(value, NULL, 10) * 1000;
        return ms < (int64_t)RETRY_AFTER_MAX_MS ? ms : (int64_t)RETRY_AFTER_MAX_MS;
    }
    memset(&tm, 0, sizeof tm);
    end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }
    ms = ((int64_t)timegm(&tm) - now) * 1000;
    return ms < 0 ? 0 : ms < (int64_t)RETRY_AFTER_MAX_MS ? ms : (int64_t)RETRY_AFTER_MAX_MS;
}

/* The length of the well-formed UTF-8 sequence at S (N bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80                    ? 1
                 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    unsigned lo = 0x80, hi = 0xBF;

    if (len == 0 || len > n) {
        return 0;
    }
    /* the second byte's range excludes overlongs, surrogates and code points past U+10FFFF */
    if (s[0] == 0xE0) {
        lo = 0xA0;
    } else if (s[0] == 0xED) {
        hi = 0x9F;
    } else if (s[0] == 0xF0) {
        lo = 0x90;
    } else if (s[0] == 0xF4) {
        hi = 0x8F;
    }
    for (size_t i = 1; i < len; i++) {
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF)) {
            return 0;
        }
    }
    return len;
}

const char *lc_http_first_line(char *dst, size_t cap, const char *body, size_t len)
{
    const unsigned char *s = (const unsigned char *)body;
    size_t out = 0;

    for (size_t i = 0; i < len && s[i] != '\n' && s[i] != '\r';) {
        size_t n = utf8_len(s + i, len - i);
        const char *put = n > 0 ? body + i : "\xEF\xBF\xBD"; /* U+FFFD for a bad byte */
        size_t put_n = n > 0 ? n : 3;

        if (n == 1 && (s[i] < 0x20 || s[i] == 0x7F)) {
            put = " "; /* a control byte (a tab) would upset /health readers */
        }
        if (out + put_n + 1 > cap) {
            break;
        }
        memcpy(dst + out, put, put_n);
        out += put_n;
        i += n > 0 ? n : 1;
    }
    if (cap > 0) {
        dst[out] = '\0';
    }
    return dst;
}

/* Host and port of the url, for tls.server_name; 0 or -1. */
static int rewrite_for_server_name(struct lc_http *h)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *url = NULL;
    int rc = -1;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, h->o->url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_HOST, h->o->server_name, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
        /* Connect to the url's host but speak to server_name: SNI, the certificate check and
         * Host all use the name, as they would for a URL naming it. */
        h->connect_to = xprintf("%s:%s:%s:%s", h->o->server_name, port, host, port);
        h->connect_list = curl_slist_append(NULL, h->connect_to);
        free(h->url);
        h->url = lc_xstrdup(url);
        /* curl writes "http://h:1/" for "http://h:1"; the output appends its path to it */
        if (h->url[strlen(h->url) - 1] == '/' && h->o->url[strlen(h->o->url) - 1] != '/') {
            h->url[strlen(h->url) - 1] = '\0';
        }
        rc = h->connect_list != NULL ? 0 : -1;
    }
    curl_free(host);
    curl_free(port);
    curl_free(url);
    curl_url_cleanup(u);
    return rc;
}

static void set_tls_and_auth(struct lc_http *h)
{
    const struct lc_http_options *o = h->o;
    CURL *c = h->curl;

    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
    if (o->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    }
    if (o->cert_file != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert_file);
    }
    if (o->key_file != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLKEY, o->key_file);
    }
    if (h->connect_list != NULL) {
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, h->connect_list);
    }
    if (o->username != NULL && o->password != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password);
    } else if (o->bearer_token != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, o->bearer_token);
    }
}

void lc_http_set_cancel(struct lc_http *h, const int *flag)
{
    h->cancel = flag;
}

static void set_options(struct lc_http *h)
{
    CURL *c = h->curl;

    /* Never CURLOPT_VERBOSE (it prints the Authorization header), never CURLOPT_PROXY or
     * CURLOPT_NOPROXY (libcurl then reads http_proxy, https_proxy and no_proxy). */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* timeouts without SIGALRM: we are a thread */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is a config fault */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->o->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->o->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    set_tls_and_auth(h);
}

/* The user:pass of URL (a copy), NULL when it has none. */
static char *url_userinfo(const char *url)
{
    const char *auth = strstr(url, "://"), *end, *at = NULL;

    if (auth == NULL) {
        return NULL;
    }
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    for (const char *p = auth; p < end; p++) {
        at = *p == '@' ? p : at;
    }
    return at != NULL && at > auth ? lc_xstrndup(auth, (size_t)(at - auth)) : NULL;
}

int lc_http_create(struct lc_http **out, const struct lc_http_options *o, const char *name)
{
    struct lc_http *h = lc_xcalloc(1, sizeof *h);
    char safe[512];

    pthread_once(&global_once, global_init);
    h->o = o;
    h->name = lc_xstrdup(name);
    h->url_safe = lc_xstrdup(lc_http_url_safe(safe, sizeof safe, o->url));
    h->userinfo = url_userinfo(o->url);
    h->url = lc_xstrdup(o->url);
    h->curl = curl_easy_init();
    h->multi = curl_multi_init();
    if (h->curl == NULL || h->multi == NULL ||
        (o->server_name != NULL && rewrite_for_server_name(h) != 0)) {
        lc_log(LC_LOG_ERROR, 0, "[output:%s] cannot set up HTTP for %s", name, h->url_safe);
        lc_http_destroy(h);
        return -ENOMEM;
    }
    if (o->compress) {
        h->gz = libdeflate_alloc_compressor(GZIP_LEVEL);
        if (h->gz == NULL) {
            lc_http_destroy(h);
            return -ENOMEM;
        }
    }
    set_options(h);
    *out = h;
    return 0;
}

void lc_http_destroy(struct lc_http *h)
{
    if (h == NULL) {
        return;
    }
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
    }
    if (h->multi != NULL) {
        curl_multi_cleanup(h->multi);
    }
    curl_slist_free_all(h->connect_list);
    if (h->gz != NULL) {
        libdeflate_free_compressor(h->gz);
    }
    free(h->gz_buf);
    free(h->connect_to);
    free(h->url);
    free(h->url_safe);
    free(h->userinfo);
    free(h->name);
    free(h);
}

/* The request's header lines; NULL when out of memory. */
static struct curl_slist *build_headers(struct lc_http *h, const char *content_type,
                                        const char *const *extra, size_t n_extra)
{
    struct curl_slist *l = NULL, *t;
    char *line;
    int ok = 1;

#define ADD(s)                                                                                     \
    do {                                                                                           \
        t = ok ? curl_slist_append(l, (s)) : NULL;                                                 \
        ok = t != NULL;                                                                            \
        l = t != NULL ? t : l;                                                                     \
    } while (0)
    /* libcurl waits for 100 Continue on big bodies: a round trip for nothing here. */
    ADD("Expect:");
    line = xprintf("Content-Type: %s", content_type);
    ADD(line);
    free(line);
    if (h->gz != NULL) {
        ADD("Content-Encoding: gzip");
    }
    for (size_t i = 0; i < h->o->n_headers; i++) {
        /* "Name;" sends a header with an empty value; "Name:" would remove it */
        line = h->o->headers[i].value[0] == '\0'
                   ? xprintf("%s;", h->o->headers[i].name)
                   : xprintf("%s: %s", h->o->headers[i].name, h->o->headers[i].value);
        ADD(line);
        free(line);
    }
    for (size_t i = 0; i < n_extra; i++) {
        ADD(extra[i]);
    }
#undef ADD
    if (!ok) {
        curl_slist_free_all(l);
        return NULL;
    }
    return l;
}

/* BODY gzipped into h->gz_buf; its length, 0 when it failed. */
static size_t gzip_body(struct lc_http *h, const void *body, size_t len)
{
    size_t bound = libdeflate_gzip_compress_bound(h->gz, len);

    if (bound > h->gz_cap) {
        free(h->gz_buf);
        h->gz_buf = lc_xmalloc(bound);
        h->gz_cap = bound;
    }
    return libdeflate_gzip_compress(h->gz, body, len, h->gz_buf, h->gz_cap);
}

/* Copies TEXT to DST with every secret of H's options replaced by <redacted>. libcurl's
 * messages name hosts, not credentials, but this holds whatever a future one says. */
static void scrub(const struct lc_http *h, char *dst, size_t cap, const char *text)
{
    const char *pass = h->userinfo != NULL ? strchr(h->userinfo, ':') : NULL;
    const char *secrets[] = {h->userinfo, pass != NULL && pass[1] != '\0' ? pass + 1 : NULL,
                             h->o->password, h->o->bearer_token};
    char tmp[LC_HTTP_ERROR_CAP * 2];

    snprintf(tmp, sizeof tmp, "%s", text);
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        char *at, *from = tmp;
        size_t n = secrets[i] != NULL ? strlen(secrets[i]) : 0;
        while (n > 0 && (at = strstr(from, secrets[i])) != NULL) {
            static const char mark[] = "<redacted>";
            size_t rest = strlen(at + n) + 1;
            if ((size_t)(at - tmp) + sizeof mark - 1 + rest > sizeof tmp) {
                *at = '\0'; /* no room: cut the text at the secret */
                break;
            }
            memmove(at + sizeof mark - 1, at + n, rest);
            memcpy(at, mark, sizeof mark - 1);
            from = at + sizeof mark - 1; /* a secret inside "<redacted>" must not loop */
        }
    }
    if (cap > 0) {
        size_t n = strlen(tmp) < cap - 1 ? strlen(tmp) : cap - 1;
        memcpy(dst, tmp, n);
        dst[n] = '\0';
    }
}

static void finish(struct lc_http *h, CURLcode rc, struct lc_http_result *res)
{
    curl_off_t us = 0;

    curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME_T, &us);
    res->total_us = (uint64_t)us;
    res->retry_after_ms = h->retry_after_ms;
    if (rc != CURLE_OK) {
        res->status = 0;
        res->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        scrub(h, res->error, sizeof res->error,
              rc == CURLE_ABORTED_BY_CALLBACK ? "aborted: logcap is stopping"
              : h->errbuf[0] != '\0'          ? h->errbuf
                                              : curl_easy_strerror(rc));
        return;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &res->status);
    lc_http_first_line(res->first_line, sizeof res->first_line, h->body, h->body_len);
}

static int cancelled(const struct lc_http *h)
{
    return h->cancel != NULL && __atomic_load_n(h->cancel, __ATOMIC_ACQUIRE) != 0;
}

/* Runs the request set up on H->curl to its end, or until H's cancel flag is set.
 *
 * Design: not curl_easy_perform, which waits up to a second between two looks at anything
 * (its progress callback included), longer than the stop waits for an output to give up
 * (LC_DELIVERY_ABORT_MS): a stop during a request to a server that does not answer had to
 * abandon the output's thread. Here the wait is CANCEL_POLL_MS at most. The multi handle
 * is H's for its whole life and keeps the connection open between requests. */
static CURLcode perform(struct lc_http *h)
{
    CURLcode rc = CURLE_OK;
    CURLMcode mc = curl_multi_add_handle(h->multi, h->curl);
    CURLMsg *m;
    int running = 1, left;

    while (mc == CURLM_OK && running) {
        mc = curl_multi_perform(h->multi, &running);
        if (mc == CURLM_OK && running && cancelled(h)) {
            rc = CURLE_ABORTED_BY_CALLBACK; /* removing the handle closes its connection */
            break;
        }
        if (mc == CURLM_OK && running) {
            mc = curl_multi_poll(h->multi, NULL, 0, CANCEL_POLL_MS, NULL);
        }
    }
    if (mc != CURLM_OK) {
        snprintf(h->errbuf, sizeof h->errbuf, "%s", curl_multi_strerror(mc));
        rc = CURLE_FAILED_INIT;
    }
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == h->curl && rc == CURLE_OK) {
            rc = m->data.result;
        }
    }
    curl_multi_remove_handle(h->multi, h->curl);
    return rc;
}

int lc_http_post(struct lc_http *h, const char *path, const char *content_type, const void *body,
                 size_t len, const char *const *extra, size_t n_extra, struct lc_http_result *res)
{
    struct curl_slist *headers = build_headers(h, content_type, extra, n_extra);
    char *url = xprintf("%s%s", h->url, path != NULL ? path : "");
    CURLcode rc;

    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    if (headers == NULL) {
        free(url);
        return -ENOMEM;
    }
    if (body == NULL || len == 0) {
        body = ""; /* POSTFIELDS NULL would make libcurl read the body from stdin */
        len = 0;
    }
    if (h->gz != NULL) {
        len = gzip_body(h, body, len);
        body = h->gz_buf;
    }
    h->errbuf[0] = '\0';
    h->body_len = 0;
    h->retry_after_ms = -1;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    rc = h->gz != NULL && len == 0 ? CURLE_OUT_OF_MEMORY : perform(h);
    finish(h, rc, res);
    /* the handle must not keep pointers to what is freed here */
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    free(url);
    return rc == CURLE_OK ? 0 : rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

enum lc_http_class lc_http_classify(const struct lc_http_result *res)
{
    long s = res->status;

    if (s >= 200 && s < 300) {
        return LC_HTTP_DELIVERED;
    }
    if (s == 0 || s < 200 || s == 408 || s == 429 || s >= 500) {
        return LC_HTTP_RETRY;
    }
    if (s == 413) {
        return LC_HTTP_TOO_LARGE;
    }
    /* A redirect (not followed: a POST body is not re-sent blindly) means the url is wrong,
     * as 401/403/404 mean the credentials or the url are: no batch is at fault. */
    if (s < 400 || s == 401 || s == 403 || s == 404) {
        return LC_HTTP_CONFIG_FAULT;
    }
    return LC_HTTP_PERMANENT;
}

enum lc_send_result lc_http_send_result(enum lc_http_class c)
{
    switch (c) {
    case LC_HTTP_DELIVERED:
        return LC_OK;
    case LC_HTTP_RETRY:
    case LC_HTTP_CONFIG_FAULT:
        return LC_RETRY;
    case LC_HTTP_TOO_LARGE:
    case LC_HTTP_PERMANENT:
        break;
    }
    return LC_REJECT;
}

const char *lc_http_class_name(enum lc_http_class c)
{
    static const char *const names[] = {"delivered", "retry", "config_fault", "too_large",
                                        "permanent"};
    return (unsigned)c < sizeof names / sizeof *names ? names[c] : "?";
}
