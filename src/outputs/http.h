/* http: the HTTP layer every HTTP-based output (Loki, later Elasticsearch and Splunk) sends
 * through, from its own delivery thread.
 *
 * Config: an output embeds struct lc_http_options as the FIRST member of its options struct
 * and puts LC_HTTP_CONFIG_OPTIONS at the start of its option table; its plugin check calls
 * lc_http_config_check (which reads password_file / bearer_token_file and checks the keys
 * across each other). The keys: url, timeout, connect_timeout, headers, basic_auth
 * {username, password, password_file}, bearer_token, bearer_token_file, tls {ca_file,
 * cert_file, key_file, server_name, verify}, compress. Secrets live in options flagged
 * LC_OPT_SECRET: nothing that describes the config prints them.
 *
 * Sending: one struct lc_http per output instance holds one libcurl easy handle, reused for
 * every request and run on the instance's own multi handle, so the connection is kept
 * alive (and a request can be cut short: lc_http_set_cancel). libcurl reads http_proxy,
 * https_proxy, no_proxy (and their upper-case forms) itself; this module never sets CURLOPT_PROXY
 * or CURLOPT_NOPROXY, so those variables apply. Verbose output is never turned on.
 *
 * lc_http_post answers with a struct lc_http_result and lc_http_classify says what the
 * answer means for the batch (see enum lc_http_class). No text this module produces names a
 * secret: the Authorization header is never quoted, and URLs are shown without user:pass@. */
#ifndef LC_OUTPUTS_HTTP_H
#define LC_OUTPUTS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "config/config_option.h"
#include "outputs/output.h"

struct lc_http_options {
    char *url;                      /* http:// or https://, required */
    uint64_t timeout_ms;            /* whole request (default 10s) */
    uint64_t connect_timeout_ms;    /* connecting, TLS included (default 5s, at most timeout) */
    struct lc_config_pair *headers; /* extra request headers, in the file's order */
    size_t n_headers;
    char *username; /* basic_auth.username */
    char *password; /* basic_auth.password (or the contents of password_file) */
    char *password_file;
    char *bearer_token; /* bearer_token (or the contents of bearer_token_file) */
    char *bearer_token_file;
    char *ca_file, *cert_file, *key_file, *server_name;
    int verify;   /* tls.verify (default true) */
    int compress; /* gzip request bodies (default false) */
};

/* The sub-tables of basic_auth: and tls:, for LC_HTTP_CONFIG_OPTIONS. Their offsets are
 * those of struct lc_http_options, which is why it must come first in the output's struct. */
extern const struct lc_config_option lc_http_basic_auth_options[];
extern const struct lc_config_option lc_http_tls_options[];
int lc_http_check_url(const void *value, char *why, size_t cap);
int lc_http_check_header_name(const void *value, char *why, size_t cap);
int lc_http_check_file(const void *value, char *why, size_t cap);

/* Put after an output's options struct: fails the build unless MEMBER, its struct
 * lc_http_options, comes first. */
#define LC_HTTP_ASSERT_FIRST(type, member)                                                         \
    _Static_assert(offsetof(type, member) == 0, "struct lc_http_options must come first")

#define LC_HTTP_OPT_(m) offsetof(struct lc_http_options, m)
/* The HTTP keys, to open an output's option table. */
#define LC_HTTP_CONFIG_OPTIONS                                                                     \
    {.key = "url",                                                                                 \
     .type = LC_OPT_STRING,                                                                        \
     .help = "where to send (http:// or https://); required",                                      \
     .check = lc_http_check_url,                                                                   \
     .off = LC_HTTP_OPT_(url)},                                                                    \
        {.key = "timeout",                                                                         \
         .type = LC_OPT_DURATION,                                                                  \
         .def = "10s",                                                                             \
         .help = "deadline of a whole request (connect, send, answer)",                            \
         .off = LC_HTTP_OPT_(timeout_ms),                                                          \
         .max = LC_HOUR_MS},                                                                       \
        {.key = "connect_timeout",                                                                 \
         .type = LC_OPT_DURATION,                                                                  \
         .def = "5s",                                                                              \
         .help = "deadline of connecting (TCP and TLS); at most timeout",                          \
         .off = LC_HTTP_OPT_(connect_timeout_ms),                                                  \
         .max = LC_HOUR_MS},                                                                       \
        {.key = "headers",                                                                         \
         .type = LC_OPT_STRMAP,                                                                    \
         .help = "extra request headers, name: value (not Host, Content-Length, "                  \
                 "Content-Encoding, Authorization)",                                               \
         .check = lc_http_check_header_name,                                                       \
         .off = LC_HTTP_OPT_(headers),                                                             \
         .off_n = LC_HTTP_OPT_(n_headers)},                                                        \
        {.key = "basic_auth",                                                                      \
         .type = LC_OPT_SECTION,                                                                   \
         .sub = lc_http_basic_auth_options,                                                        \
         .help = "HTTP basic authentication; not with bearer_token"},                              \
        {.key = "bearer_token",                                                                    \
         .type = LC_OPT_STRING,                                                                    \
         .flags = LC_OPT_SECRET,                                                                   \
         .help = "sent as Authorization: Bearer; not with basic_auth",                             \
         .off = LC_HTTP_OPT_(bearer_token)},                                                       \
        {.key = "bearer_token_file",                                                               \
         .type = LC_OPT_STRING,                                                                    \
         .check = lc_http_check_file,                                                              \
         .help = "a file holding bearer_token (read at load, trailing newline trimmed)",           \
         .off = LC_HTTP_OPT_(bearer_token_file)},                                                  \
        {.key = "tls",                                                                             \
         .type = LC_OPT_SECTION,                                                                   \
         .sub = lc_http_tls_options,                                                               \
         .help = "TLS of https:// URLs"},                                                          \
    {                                                                                              \
        .key = "compress", .type = LC_OPT_BOOL, .def = "false",                                    \
        .help = "gzip request bodies (Content-Encoding: gzip)", .off = LC_HTTP_OPT_(compress)      \
    }

/* The plugin check's part for the HTTP keys of OPTS: url given, one kind of auth at most,
 * connect_timeout <= timeout, the secret files read into password / bearer_token. */
void lc_http_config_check(struct lc_config_check *ck, struct lc_http_options *opts);

/* What an answer means for the batch that was sent. */
enum lc_http_class {
    LC_HTTP_DELIVERED,    /* 2xx */
    LC_HTTP_RETRY,        /* transport error, timeout, 429, 5xx (408 too): send again later */
    LC_HTTP_CONFIG_FAULT, /* 401, 403, 404: our config is wrong; retry, never dead-letter */
    LC_HTTP_TOO_LARGE,    /* 413: split the batch (one record alone: dead-letter it) */
    LC_HTTP_PERMANENT,    /* 400 and every other status: dead-letter the batch */
};

#define LC_HTTP_LINE_CAP 256 /* bytes of the answer's first line kept, with its NUL */
#define LC_HTTP_ERROR_CAP 256

struct lc_http_result {
    long status;                   /* the HTTP status; 0: no answer (transport error, timeout) */
    char error[LC_HTTP_ERROR_CAP]; /* status 0: what went wrong (libcurl's words); else "" */
    int64_t retry_after_ms;        /* from Retry-After (seconds or HTTP-date); -1 when absent */
    char first_line[LC_HTTP_LINE_CAP]; /* the body's first line, valid UTF-8, cut to fit */
    uint64_t total_us;                 /* time the request took */
    int timed_out;                     /* status 0 because a deadline passed */
};

struct lc_http;

/* Creates the sender of an output from OPTS (which must outlive it). NAME prefixes its log
 * lines ("[output:NAME]"). Returns 0 or -errno. */
int lc_http_create(struct lc_http **h, const struct lc_http_options *opts, const char *name);
void lc_http_destroy(struct lc_http *h);

/* Makes a request of H in progress give up (a transport error, "aborted: logcap is
 * stopping") within about 100 ms once *FLAG is non-zero (read with __atomic_load_n); a
 * request started while it is set gives up at once. NULL: never. FLAG must stay valid while
 * H sends. */
void lc_http_set_cancel(struct lc_http *h, const int *flag);

/* POSTs BODY (LEN bytes) to the url with PATH appended (NULL or "" for none), with
 * CONTENT_TYPE and the N_EXTRA header lines EXTRA ("Name: value", no line breaks; NULL when
 * none; a caller such as Loki's X-Scope-OrgID), gzipped
 * first when compress is on. Fills *RES; returns 0 when an answer came (any status), -EIO on
 * a transport error or timeout (RES->status 0), -ENOMEM. */
int lc_http_post(struct lc_http *h, const char *path, const char *content_type, const void *body,
                 size_t len, const char *const *extra, size_t n_extra, struct lc_http_result *res);

/* The class of RES. */
enum lc_http_class lc_http_classify(const struct lc_http_result *res);

/* The output answer for CLASS: DELIVERED -> LC_OK; RETRY and CONFIG_FAULT -> LC_RETRY;
 * PERMANENT -> LC_REJECT; TOO_LARGE -> LC_REJECT (the caller splits before it gets here, and
 * a single record too large is refused for good). */
enum lc_send_result lc_http_send_result(enum lc_http_class c);

/* The name of CLASS ("delivered", "retry", "config_fault", "too_large", "permanent"). */
const char *lc_http_class_name(enum lc_http_class c);

/* Writes URL into DST (CAP bytes) without the user:pass@ part, for messages. Returns DST. */
const char *lc_http_url_safe(char *dst, size_t cap, const char *url);

/* Retry-After VALUE (delta seconds or an HTTP-date) in ms from NOW (unix seconds); -1 when it
 * does not parse. A date in the past is 0. */
int64_t lc_http_parse_retry_after(const char *value, int64_t now);

/* Copies the first line of BODY (LEN bytes) into DST (CAP bytes): up to the first CR or LF,
 * ill-formed UTF-8 replaced by U+FFFD, cut at a character boundary to fit. Returns DST. */
const char *lc_http_first_line(char *dst, size_t cap, const char *body, size_t len);

#endif
