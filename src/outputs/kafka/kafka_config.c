/* kafka_config: the Kafka output's option table, its checks, and the librdkafka
 * configuration built from it (see kafka_config.h). */
#include "outputs/kafka/kafka_config.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#define OPT(m) offsetof(struct lc_kafka_config, m)
/* How often librdkafka reports its statistics (brokers, queue, latency): the figures of
 * /metrics; a pass-through statistics.interval.ms overrides it (0 turns them off). */
#define STATS_INTERVAL "5000"

static const char *const compressions[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
static const char *const values[] = {"json", "message", NULL};
static const char *const mechanisms[] = {"none", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL};

/* A broker address: HOST:PORT (a name, an IPv4 address or a [bracketed] IPv6 one). */
static int check_broker(const void *value, char *why, size_t cap)
{
    const char *s = *(char *const *)value, *colon = strrchr(s, ':');
    char q[80];
    size_t digits = colon != NULL ? strspn(colon + 1, "0123456789") : 0;

    if (colon != NULL && colon > s && digits > 0 && digits <= 5 && colon[1 + digits] == '\0' &&
        strcspn(s, " ,\t") == strlen(s)) {
        return 0;
    }
    snprintf(why, cap, "%s is not a broker address: give HOST:PORT, one per list entry",
             lc_config_quote_text(q, sizeof q, s));
    return -1;
}

static const struct lc_config_option tls_options[] = {
    {.key = "enabled",
     .type = LC_OPT_BOOL,
     .def = "false",
     .help = "connect with TLS (implied by ca_file, cert_file or key_file)",
     .off = OPT(tls)},
    {.key = "ca_file",
     .type = LC_OPT_STRING,
     .def_doc = "the system's CAs",
     .help = "PEM file of the CAs that sign the brokers' certificates (ssl.ca.location)",
     .off = OPT(ca_file)},
    {.key = "cert_file",
     .type = LC_OPT_STRING,
     .help = "PEM client certificate (ssl.certificate.location)",
     .off = OPT(cert_file)},
    {.key = "key_file",
     .type = LC_OPT_STRING,
     .help = "PEM key of cert_file (ssl.key.location)",
     .off = OPT(key_file)},
    {.key = "verify",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "check the brokers' certificates and names (false only for tests)",
     .off = OPT(verify)},
    {.key = NULL},
};

static const struct lc_config_option sasl_options[] = {
    {.key = "mechanism",
     .type = LC_OPT_ENUM,
     .names = mechanisms,
     .def = "none",
     .help = "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (sasl.mechanisms); none: no SASL",
     .off = OPT(sasl)},
    {.key = "username", .type = LC_OPT_STRING, .help = "the SASL user", .off = OPT(username)},
    {.key = "password",
     .type = LC_OPT_STRING,
     .flags = LC_OPT_SECRET,
     .help = "the SASL password; or password_file",
     .off = OPT(password)},
    {.key = "password_file",
     .type = LC_OPT_STRING,
     .help = "a file holding the password (read at load, trailing newline trimmed)",
     .off = OPT(password_file)},
    {.key = NULL},
};

static const struct lc_config_option kafka_options[] = {
    {.key = "brokers",
     .type = LC_OPT_NAMES,
     .help = "the bootstrap brokers, HOST:PORT each; required",
     .check = check_broker,
     .off = OPT(brokers),
     .off_n = OPT(n_brokers)},
    {.key = "topic",
     .type = LC_OPT_TEMPLATE,
     .def = "logs",
     .help = "the topic of each record (a template, such as \"logs-{{ compose_project }}\")",
     .off = OPT(topic)},
    {.key = "key",
     .type = LC_OPT_TEMPLATE,
     .def = "{{ container_name }}",
     .flags = LC_OPT_EMPTY_NONE,
     .help = "the message key (a template): the same key goes to the same partition, in "
             "order; empty: no key (librdkafka spreads the messages)",
     .off = OPT(key)},
    {.key = "value",
     .type = LC_OPT_ENUM,
     .names = values,
     .def = "json",
     .help = "json: the record as the file output writes it (without the newline); "
             "message: the line as the container wrote it",
     .off = OPT(value)},
    {.key = "headers",
     .type = LC_OPT_TEMPLATES,
     .def = "{}",
     .help = "message headers, name: template; a header that renders empty is left out",
     .off = OPT(headers),
     .off_n = OPT(n_headers)},
    {.key = "compression",
     .type = LC_OPT_ENUM,
     .names = compressions,
     .def = "zstd",
     .help = "compression of the message batches (compression.codec)",
     .off = OPT(compression)},
    {.key = "idempotence",
     .type = LC_OPT_BOOL,
     .def = "true",
     .help = "librdkafka's idempotent producer (enable.idempotence; acks=all): no repeats "
             "and no reordering from librdkafka's own retries",
     .off = OPT(idempotence)},
    {.key = "message_max_bytes",
     .type = LC_OPT_SIZE,
     .def = "1MiB",
     .help = "the largest message (key, value and headers); a bigger record goes to the "
             "dead-letter file; at most the brokers' message.max.bytes",
     .min = 1024,
     .max = LC_KAFKA_MAX_MSG_BYTES,
     .off = OPT(message_max_bytes)},
    {.key = "message_timeout",
     .type = LC_OPT_DURATION,
     .def = "30s",
     .help = "how long librdkafka tries to deliver a message before the batch is retried by "
             "logcap (message.timeout.ms)",
     .flags = LC_OPT_TASK_DEADLINE,
     .max = LC_HOUR_MS,
     .off = OPT(message_timeout_ms)},
    {.key = "tls", .type = LC_OPT_SECTION, .sub = tls_options, .help = "TLS to the brokers"},
    {.key = "sasl",
     .type = LC_OPT_SECTION,
     .sub = sasl_options,
     .help = "SASL authentication to the brokers"},
    {.key = "librdkafka",
     .type = LC_OPT_STRMAP,
     .help = "any other librdkafka property, name: value (checked by librdkafka at load)",
     .off = OPT(props),
     .off_n = OPT(n_props)},
    {.key = NULL},
};

/* librdkafka properties logcap sets from its own keys, and the key that sets each. */
static const char *const owned[][2] = {
    {"bootstrap.servers", "brokers"},
    {"metadata.broker.list", "brokers"},
    {"compression.codec", "compression"},
    {"compression.type", "compression"},
    {"enable.idempotence", "idempotence"},
    {"message.max.bytes", "message_max_bytes"},
    {"message.timeout.ms", "message_timeout"},
    {"delivery.timeout.ms", "message_timeout"},
    {"security.protocol", "tls and sasl"},
    {"ssl.ca.location", "tls.ca_file"},
    {"ssl.certificate.location", "tls.cert_file"},
    {"ssl.key.location", "tls.key_file"},
    {"enable.ssl.certificate.verification", "tls.verify"},
    {"sasl.mechanisms", "sasl.mechanism"},
    {"sasl.mechanism", "sasl.mechanism"},
    {"sasl.username", "sasl.username"},
    {"sasl.password", "sasl.password"},
};

/* The key of ours that sets librdkafka property NAME, or NULL. */
static const char *owned_property(const char *name)
{
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (strcmp(owned[i][0], name) == 0) {
            return owned[i][1];
        }
    }
    return NULL;
}

/* Sets NAME=VALUE in CONF. Returns 0, or -1 with ERR naming KEY (and LINE). */
static int set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *key,
               int line, struct lc_kafka_conf_error *err)
{
    char why[256] = "";

    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) == RD_KAFKA_CONF_OK) {
        return 0;
    }
    snprintf(err->key, sizeof err->key, "%s", key);
    err->line = line;
    snprintf(err->why, sizeof err->why, "librdkafka refuses %s: %s", name, why);
    return -1;
}

/* Sets NAME when VALUE is not NULL. */
static int set_opt(rd_kafka_conf_t *conf, const char *name, const char *value, const char *key,
                   struct lc_kafka_conf_error *err)
{
    return value != NULL ? set(conf, name, value, key, 0, err) : 0;
}

/* bootstrap.servers from the list of brokers. */
static int set_brokers(rd_kafka_conf_t *conf, const struct lc_kafka_config *c,
                       struct lc_kafka_conf_error *err)
{
    char list[4096];
    size_t len = 0;

    list[0] = '\0';
    for (size_t i = 0; i < c->n_brokers && len < sizeof list; i++) {
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i > 0 ? "," : "",
                                c->brokers[i]);
    }
    if (len >= sizeof list) {
        snprintf(err->key, sizeof err->key, "brokers");
        snprintf(err->why, sizeof err->why, "the list is longer than %zu bytes", sizeof list - 1);
        return -1;
    }
    return set(conf, "bootstrap.servers", list, "brokers", 0, err);
}

static const char *security_protocol(const struct lc_kafka_config *c)
{
    int tls = c->tls || c->ca_file != NULL || c->cert_file != NULL || c->key_file != NULL;

    if (c->sasl != LC_KAFKA_SASL_NONE) {
        return tls ? "sasl_ssl" : "sasl_plaintext";
    }
    return tls ? "ssl" : "plaintext";
}

/* The keys logcap owns. */
static int set_own(rd_kafka_conf_t *conf, const struct lc_kafka_config *c,
                   struct lc_kafka_conf_error *err)
{
    char n[32], t[32], m[32];

    /* A topic the cluster does not know fails its messages after this (the producer waits
     * for it to appear): well before message_timeout, so that the batch's answer names the
     * unknown topic (a configuration fault) rather than a timeout. */
    snprintf(m, sizeof m, "%llu",
             (unsigned long long)(c->message_timeout_ms / 3 > 0 ? c->message_timeout_ms / 3 : 1));
    snprintf(n, sizeof n, "%llu",
             (unsigned long long)(c->message_max_bytes + LC_KAFKA_MSG_OVERHEAD));
    snprintf(t, sizeof t, "%llu", (unsigned long long)c->message_timeout_ms);
    if (set(conf, "compression.codec", compressions[c->compression], "compression", 0, err) != 0 ||
        set(conf, "enable.idempotence", c->idempotence ? "true" : "false", "idempotence", 0, err) !=
            0 ||
        set(conf, "message.max.bytes", n, "message_max_bytes", 0, err) != 0 ||
        set(conf, "message.timeout.ms", t, "message_timeout", 0, err) != 0 ||
        set(conf, "topic.metadata.propagation.max.ms", m, "message_timeout", 0, err) != 0 ||
        set(conf, "security.protocol", security_protocol(c), "tls", 0, err) != 0 ||
        set_opt(conf, "ssl.ca.location", c->ca_file, "tls.ca_file", err) != 0 ||
        set_opt(conf, "ssl.certificate.location", c->cert_file, "tls.cert_file", err) != 0 ||
        set_opt(conf, "ssl.key.location", c->key_file, "tls.key_file", err) != 0 ||
        set(conf, "enable.ssl.certificate.verification", c->verify ? "true" : "false", "tls.verify",
            0, err) != 0) {
        return -1;
    }
    if (c->sasl != LC_KAFKA_SASL_NONE &&
        (set(conf, "sasl.mechanisms", mechanisms[c->sasl], "sasl.mechanism", 0, err) != 0 ||
         set_opt(conf, "sasl.username", c->username, "sasl.username", err) != 0 ||
         set_opt(conf, "sasl.password", c->password, "sasl.password", err) != 0)) {
        return -1;
    }
    /* Statistics feed /metrics; the log comes through the output's queue (served on its
     * thread, where it is rate-limited) rather than from librdkafka's own threads. */
    return set(conf, "statistics.interval.ms", STATS_INTERVAL, "librdkafka", 0, err) != 0 ||
                   set(conf, "log.queue", "true", "librdkafka", 0, err) != 0
               ? -1
               : 0;
}

/* The pass-through properties, refusing those logcap owns. */
static int set_props(rd_kafka_conf_t *conf, const struct lc_kafka_config *c,
                     struct lc_kafka_conf_error *err)
{
    for (size_t i = 0; i < c->n_props; i++) {
        const struct lc_config_pair *p = &c->props[i];
        const char *own = owned_property(p->name);
        char key[sizeof err->key];

        snprintf(key, sizeof key, "librdkafka.%s", p->name);
        if (own != NULL) {
            snprintf(err->key, sizeof err->key, "%s", key);
            err->line = p->line;
            snprintf(err->why, sizeof err->why,
                     "logcap sets %s from the output's own key %s: give it there", p->name, own);
            return -1;
        }
        if (set(conf, p->name, p->value, key, p->line, err) != 0) {
            return -1;
        }
    }
    return 0;
}

void *lc_kafka_conf_build(const struct lc_kafka_config *c, int no_brokers,
                          struct lc_kafka_conf_error *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    memset(err, 0, sizeof *err);
    if ((!no_brokers && set_brokers(conf, c, err) != 0) || set_own(conf, c, err) != 0 ||
        set_props(conf, c, err) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Lets librdkafka judge the whole configuration (such as acks against idempotence): a
 * producer is created without brokers, so it connects to nothing, and destroyed. A refusal
 * is reported at the line of the key it names (its top-level key for one of ours), else
 * at the output's. */
static void check_with_librdkafka(struct lc_config_check *ck, const struct lc_kafka_config *c)
{
    struct lc_kafka_conf_error err;
    rd_kafka_conf_t *conf = lc_kafka_conf_build(c, 1, &err);
    char top[sizeof err.key], why[sizeof err.why] = "";
    rd_kafka_t *rk;

    if (conf != NULL) {
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
        if (rk != NULL) {
            rd_kafka_destroy(rk);
            return;
        }
        rd_kafka_conf_destroy(conf);
        snprintf(err.key, sizeof err.key, "librdkafka");
        snprintf(err.why, sizeof err.why, "librdkafka refuses the configuration: %s", why);
    }
    snprintf(top, sizeof top, "%.*s", (int)strcspn(err.key, "."), err.key);
    if (err.line <= 0) {
        err.line = lc_config_check_line(ck, top);
    }
    lc_config_check_report(ck, err.line > 0 ? err.line : lc_config_check_line(ck, NULL), err.key,
                           "%s", err.why);
}

/* sasl: a mechanism needs a user and one password; password_file is read now. */
static void check_sasl(struct lc_config_check *ck, struct lc_kafka_config *c)
{
    int line = lc_config_check_line(ck, "sasl");

    if (line <= 0) {
        return;
    }
    if (c->sasl == LC_KAFKA_SASL_NONE) {
        if (c->username != NULL || c->password != NULL || c->password_file != NULL) {
            lc_config_check_report(ck, line, "sasl.mechanism",
                                   "a user or password is given but no mechanism (PLAIN, "
                                   "SCRAM-SHA-256 or SCRAM-SHA-512)");
        }
        return;
    }
    if (c->username == NULL || (c->password == NULL) == (c->password_file == NULL)) {
        lc_config_check_report(ck, line, "sasl",
                               "needs username and one of password and password_file");
        return;
    }
    lc_config_check_secret_file(ck, "sasl.password_file", line, c->password_file, &c->password);
}

static void kafka_check(struct lc_config_check *ck, void *opts)
{
    struct lc_kafka_config *c = opts;
    int brokers = lc_config_check_line(ck, "brokers");

    if (c->n_brokers == 0 && brokers >= 0) {
        lc_config_check_report(ck, brokers > 0 ? brokers : lc_config_check_line(ck, NULL),
                               "brokers",
                               "required: the bootstrap brokers, such as [127.0.0.1:9092]");
    }
    check_sasl(ck, c);
    if (lc_config_check_line(ck, "librdkafka") >= 0 && lc_config_check_line(ck, "tls") >= 0 &&
        lc_config_check_line(ck, "sasl") >= 0) {
        check_with_librdkafka(ck, c);
    }
}

/* A batch of Kafka messages is many small produce calls that librdkafka packs into its own
 * message sets; logcap's batch is how many it waits for at once. Bigger batches keep more
 * requests in flight per round trip. */
static const struct lc_config_default kafka_defaults[] = {
    {"batch.max_records", "16384"},
    {"batch.max_bytes", "8MiB"},
    {"batch.max_wait", "500ms"},
    {NULL, NULL},
};

const struct lc_config_plugin lc_kafka_config_plugin = {
    .type = "kafka",
    .help = "produces records to Apache Kafka topics through librdkafka",
    .options = kafka_options,
    .size = sizeof(struct lc_kafka_config),
    .check = kafka_check,
    .flags = 0,
    .defaults = kafka_defaults,
};
