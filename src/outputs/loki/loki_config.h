/* loki_config: the Loki output's options (its table, defaults and checks). Its struct
 * starts with the HTTP layer's options (outputs/http.h), whose keys open the table. */
#ifndef LC_LOKI_CONFIG_H
#define LC_LOKI_CONFIG_H

#include <stddef.h>

#include "config/config_option.h"
#include "outputs/http.h"

/* Loki refuses a series with more labels than this (limits_config.max_label_names_per_series). */
#define LC_LOKI_MAX_LABELS 15
/* Loki's default limits on label names and values (max_label_name_length,
 * max_label_value_length): a longer rendered value is cut to fit, at a character. */
#define LC_LOKI_MAX_NAME_LEN 1024
#define LC_LOKI_MAX_VALUE_LEN 2048
/* The longest tenant id Loki takes (pkg/util/validation: MaxTenantIDLength). */
#define LC_LOKI_MAX_TENANT_LEN 150

enum lc_loki_encoding { LC_LOKI_PROTOBUF = 0, LC_LOKI_JSON = 1 };
enum lc_loki_line { LC_LOKI_LINE_MESSAGE = 0, LC_LOKI_LINE_JSON = 1 };

struct lc_loki_config {
    struct lc_http_options http; /* first: the HTTP keys' offsets are into it */
    char *tenant_id;             /* X-Scope-OrgID; NULL: not sent */
    int encoding;                /* enum lc_loki_encoding */
    struct lc_template_pair *labels;
    size_t n_labels;
    struct lc_template_pair *metadata; /* structured_metadata */
    size_t n_metadata;
    int line; /* enum lc_loki_line */
};
LC_HTTP_ASSERT_FIRST(struct lc_loki_config, http);

extern const struct lc_config_plugin lc_loki_config_plugin;

/* Whether NAME is a label name Loki takes: [a-zA-Z_][a-zA-Z0-9_]*. */
int lc_loki_label_name_ok(const char *name);

#endif
