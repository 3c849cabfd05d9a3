/* loki_config: the Loki output's option table and its checks (see loki_config.h). */
#include "outputs/loki/loki_config.h"

#include <stdio.h>
#include <string.h>

#define OPT(m) offsetof(struct lc_loki_config, m)

static const char *const encodings[] = {"protobuf", "json", NULL};
static const char *const lines[] = {"message", "json", NULL};

int lc_loki_label_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > LC_LOKI_MAX_NAME_LEN || (name[0] >= '0' && name[0] <= '9')) {
        return 0;
    }
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static int check_label_name(const void *value, char *why, size_t cap)
{
    char q[80];

    if (lc_loki_label_name_ok(*(char *const *)value)) {
        return 0;
    }
    snprintf(why, cap,
             "%s is not a label name Loki takes (letters, digits and '_', not starting "
             "with a digit, at most %d bytes)",
             lc_config_quote_text(q, sizeof q, *(char *const *)value), LC_LOKI_MAX_NAME_LEN);
    return -1;
}

/* Loki's tenant ids (pkg/util/validation/tenant.go): letters, digits and !-_.*'(), at most
 * 150 bytes, not "." or "..". */
static int check_tenant(const void *value, char *why, size_t cap)
{
    const char *t = *(char *const *)value;
    size_t n = strlen(t);

    if (n <= LC_LOKI_MAX_TENANT_LEN && strcmp(t, ".") != 0 && strcmp(t, "..") != 0 &&
        strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!-_.*'()") == n) {
        return 0;
    }
    snprintf(why, cap,
             "not a tenant id Loki takes (letters, digits and !-_.*'(), at most %d "
             "bytes)",
             LC_LOKI_MAX_TENANT_LEN);
    return -1;
}

static const struct lc_config_option loki_options[] = {
    LC_HTTP_CONFIG_OPTIONS,
    {.key = "tenant_id",
     .type = LC_OPT_STRING,
     .flags = LC_OPT_EMPTY_NONE,
     .help = "sent as X-Scope-OrgID (multi-tenant Loki); empty: not sent",
     .check = check_tenant,
     .off = OPT(tenant_id)},
    {.key = "encoding",
     .type = LC_OPT_ENUM,
     .names = encodings,
     .def = "protobuf",
     .help = "protobuf: snappy-compressed protobuf, as Promtail and Alloy send; json: the JSON "
             "push body (gzip with compress: true)",
     .off = OPT(encoding)},
    {.key = "labels",
     .type = LC_OPT_TEMPLATES,
     .def = "{job: logcap, host: \"{{ host }}\", container: \"{{ container_name }}\", "
            "compose_project: \"{{ compose_project }}\", compose_service: "
            "\"{{ compose_service }}\", stream: \"{{ stream }}\"}",
     .help = "the stream labels, name: template; labels that render empty are left out; at "
             "most 15",
     .check = check_label_name,
     .off = OPT(labels),
     .off_n = OPT(n_labels)},
    {.key = "structured_metadata",
     .type = LC_OPT_TEMPLATES,
     .def = "{}",
     .help = "per-line metadata that is not a label (Loki 3 with structured metadata "
             "enabled), name: template; empty values left out",
     .check = check_label_name,
     .off = OPT(metadata),
     .off_n = OPT(n_metadata)},
    {.key = "line",
     .type = LC_OPT_ENUM,
     .names = lines,
     .def = "message",
     .help = "message: the line as the container wrote it; json: the whole record, as the file "
             "output writes it",
     .off = OPT(line)},
    {.key = NULL},
};

#define PUSH_SLASH "/loki/api/v1/push/"

static void loki_check(struct lc_config_check *ck, void *opts)
{
    struct lc_loki_config *c = opts;
    int labels = lc_config_check_line(ck, "labels");

    lc_http_config_check(ck, &c->http);
    if (labels < 0) {
        /* labels: was rejected (a bad name or template), and said so: it holds nothing to
         * count */
    } else if (c->n_labels == 0) {
        lc_config_check_report(ck, labels, "labels",
                               "at least one label is needed: Loki refuses a stream without "
                               "labels (the default set starts with job: logcap)");
    } else if (c->n_labels > LC_LOKI_MAX_LABELS) {
        lc_config_check_report(ck, labels, "labels", "%zu labels: Loki takes at most %d per stream",
                               c->n_labels, LC_LOKI_MAX_LABELS);
    }
    if (c->http.url != NULL && lc_config_check_line(ck, "url") > 0 &&
        strlen(c->http.url) > strlen(PUSH_SLASH) &&
        strcmp(c->http.url + strlen(c->http.url) - strlen(PUSH_SLASH), PUSH_SLASH) == 0) {
        lc_config_check_report(ck, lc_config_check_line(ck, "url"), "url",
                               "ends in \"%s\": give it without the trailing '/' (or only "
                               "Loki's base URL; logcap appends /loki/api/v1/push)",
                               PUSH_SLASH);
    }
    if (c->encoding == LC_LOKI_PROTOBUF && c->http.compress &&
        lc_config_check_line(ck, "compress") >= 0) {
        lc_config_check_report(ck, lc_config_check_line(ck, "compress"), "compress",
                               "applies to encoding: json only (protobuf bodies are "
                               "snappy-compressed already)");
    }
}

/* Bytes decide a Loki batch, as in Promtail and Alloy: 1MiB holds about 10,000 lines of 100
 * bytes, which 2048 records (the common default) would cut to a fifth, and with it the
 * throughput against a remote Loki (one request at a time). The record limit stays, to
 * bound a batch of tiny lines. */
static const struct lc_config_default loki_defaults[] = {
    {"batch.max_records", "32768"},
    {"batch.max_bytes", "1MiB"},
    {"batch.max_wait", "1s"},
    {NULL, NULL},
};

const struct lc_config_plugin lc_loki_config_plugin = {
    .type = "loki",
    .help = "pushes records to Grafana Loki (POST URL/loki/api/v1/push)",
    .options = loki_options,
    .size = sizeof(struct lc_loki_config),
    .check = loki_check,
    .flags = 0,
    .defaults = loki_defaults,
};
