/* http_config: the HTTP keys every HTTP output shares (see http.h): their sub-tables, the
 * checks of single values, and the check across them that reads the secret files. Pure data
 * and file reads, no libcurl, so the config tests link it alone. */
#include "outputs/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

const struct lc_config_option lc_http_basic_auth_options[] = {
    {.key = "username",
     .type = LC_OPT_STRING,
     .help = "the user name of basic_auth",
     .off = LC_HTTP_OPT_(username)},
    {.key = "password",
     .type = LC_OPT_STRING,
     .flags = LC_OPT_SECRET,
     .help = "the password of basic_auth; or password_file",
     .off = LC_HTTP_OPT_(password)},
    {.key = "password_file",
     .type = LC_OPT_STRING,
     .check = lc_http_check_file,
     .help = "a file holding the password (read at load, trailing newline trimmed)",
     .off = LC_HTTP_OPT_(password_file)},
    {.key = NULL},
};

const struct lc_config_option lc_http_tls_options[] = {
    {.key = "ca_file",
     .type = LC_OPT_STRING,
     .def_doc = "the system's CAs",
     .help = "PEM file of the CAs that sign the server's certificate",
     .off = LC_HTTP_OPT_(ca_file)},
    {.key = "cert_file",
     .type = LC_OPT_STRING,
     .help = "PEM client certificate, for servers that ask for one",
     .off = LC_HTTP_OPT_(cert_file)},
    {.key = "key_file",
     .type = LC_OPT_STRING,
     .help = "PEM key of cert_file",
     .off = LC_HTTP_OPT_(key_file)},
    {.key = "server_name",
     .type = LC_OPT_STRING,
     .def_doc = "the url's host",
     .help = "name sent as SNI and Host and checked against the certificate",
     .off = LC_HTTP_OPT_(server_name)},
    {.key = "verify",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "check the server's certificate and name (false only for tests)",
     .off = LC_HTTP_OPT_(verify)},
    {.key = NULL},
};

const char *lc_http_url_safe(char *dst, size_t cap, const char *url)
{
    const char *auth = strstr(url, "://"), *end, *at = NULL;

    if (auth == NULL) {
        snprintf(dst, cap, "%s", url);
        return dst;
    }
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    for (const char *p = auth; p < end; p++) {
        at = *p == '@' ? p : at; /* the last '@' ends the userinfo */
    }
    if (at == NULL) {
        snprintf(dst, cap, "%s", url);
    } else {
        snprintf(dst, cap, "%.*s%s", (int)(auth - url), url, at + 1);
    }
    return dst;
}

int lc_http_check_url(const void *value, char *why, size_t cap)
{
    const char *s = *(char *const *)value, *host;
    char safe[512], q[LC_HTTP_ERROR_CAP];

    host = strncasecmp(s, "http://", 7) == 0    ? s + 7
           : strncasecmp(s, "https://", 8) == 0 ? s + 8
                                                : NULL;
    lc_config_quote_text(q, sizeof q, lc_http_url_safe(safe, sizeof safe, s));
    if (host == NULL) {
        snprintf(why, cap, "%s is not an http:// or https:// URL", q);
        return -1;
    }
    if (strchr(host, '@') != NULL) {
        host = strrchr(host, '@') + 1;
    }
    if (host[0] == '\0' || host[0] == '/' || host[0] == ':' || strpbrk(s, " \t\r\n") != NULL) {
        snprintf(why, cap, "%s has no host or holds spaces", q);
        return -1;
    }
    return 0;
}

int lc_http_check_header_name(const void *value, char *why, size_t cap)
{
    /* These are set by the layer itself (length, encoding, auth) or by the URL (Host);
     * letting headers: override them would send requests the server reads wrongly or leak
     * one kind of auth next to the other. */
    static const char *const reserved[] = {"host",
                                           "content-length",
                                           "content-encoding",
                                           "transfer-encoding",
                                           "authorization",
                                           "expect",
                                           NULL};
    const char *s = *(char *const *)value;
    char q[128];

    for (size_t i = 0; reserved[i] != NULL; i++) {
        if (strcasecmp(s, reserved[i]) == 0) {
            snprintf(why, cap, "%s is set by logcap (use url, basic_auth or bearer_token)",
                     lc_config_quote_text(q, sizeof q, s));
            return -1;
        }
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p <= ' ' || *p >= 127 || strchr("()<>@,;:\\\"/[]?={}", *p) != NULL) {
            snprintf(why, cap, "%s is not a valid header name",
                     lc_config_quote_text(q, sizeof q, s));
            return -1;
        }
    }
    return 0;
}

int lc_http_check_file(const void *value, char *why, size_t cap)
{
    char *secret = NULL;
    int rc = lc_config_read_secret(*(char *const *)value, &secret, why, cap);

    if (secret != NULL) {
        memset(secret, 0, strlen(secret));
    }
    free(secret);
    return rc;
}

static void check_auth(struct lc_config_check *ck, struct lc_http_options *o)
{
    int basic = lc_config_check_line(ck, "basic_auth");
    int bearer = lc_config_check_line(ck, "bearer_token");
    int bearer_file = lc_config_check_line(ck, "bearer_token_file");

    if (basic > 0 && (o->bearer_token != NULL || o->bearer_token_file != NULL)) {
        lc_config_check_report(ck, bearer > 0 ? bearer : bearer_file,
                               bearer > 0 ? "bearer_token" : "bearer_token_file",
                               "give basic_auth (line %d) or a bearer token, not both", basic);
        return;
    }
    if (o->bearer_token != NULL && o->bearer_token_file != NULL) {
        lc_config_check_report(ck, bearer_file, "bearer_token_file",
                               "give bearer_token (line %d) or bearer_token_file, not both",
                               bearer);
        return;
    }
    if (basic > 0 && o->password != NULL && o->password_file != NULL) {
        lc_config_check_report(ck, basic, "basic_auth", "give password or password_file, not both");
        return;
    }
    if (basic > 0 && (o->username == NULL || (o->password == NULL && o->password_file == NULL))) {
        lc_config_check_report(ck, basic, "basic_auth",
                               "needs username and password (or password_file)");
        return;
    }
    lc_config_check_secret_file(ck, "basic_auth.password_file", basic, o->password_file,
                                &o->password);
    lc_config_check_secret_file(ck, "bearer_token_file", bearer_file, o->bearer_token_file,
                                &o->bearer_token);
}

void lc_http_config_check(struct lc_config_check *ck, struct lc_http_options *o)
{
    int url = lc_config_check_line(ck, "url");

    if (o->url == NULL && url == 0) {
        lc_config_check_report(ck, lc_config_check_line(ck, NULL), NULL, "missing key \"url\"");
    }
    if (o->connect_timeout_ms > o->timeout_ms) {
        int line = lc_config_check_line(ck, "connect_timeout");
        if (line == 0) {
            /* only timeout was given, below connect_timeout's default: it bounds both */
            o->connect_timeout_ms = o->timeout_ms;
        } else if (line > 0) {
            lc_config_check_report(ck, line, "connect_timeout",
                                   "connect_timeout must not be above timeout");
        }
    }
    for (size_t i = 0; i < o->n_headers; i++) {
        if (strpbrk(o->headers[i].value, "\r\n") != NULL) {
            lc_config_check_report(ck, lc_config_check_line(ck, "headers"), "headers",
                                   "the value of %s holds a line break", o->headers[i].name);
        }
    }
    check_auth(ck, o);
}
