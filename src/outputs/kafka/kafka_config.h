/* kafka_config: the Kafka output's options (its table, defaults and checks) and the
 * librdkafka configuration built from them (lc_kafka_conf_build), which the config check
 * runs too: every property, logcap's and the pass-through ones, is checked by librdkafka
 * itself at load, and a refusal names the key and its line. */
#ifndef LC_KAFKA_CONFIG_H
#define LC_KAFKA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/config_option.h"

enum lc_kafka_value { LC_KAFKA_VALUE_JSON = 0, LC_KAFKA_VALUE_MESSAGE = 1 };
enum lc_kafka_sasl {
    LC_KAFKA_SASL_NONE = 0,
    LC_KAFKA_SASL_PLAIN,
    LC_KAFKA_SASL_SCRAM256,
    LC_KAFKA_SASL_SCRAM512
};

/* The largest message_max_bytes: librdkafka's message.max.bytes caps at 1000000000, and
 * logcap sets it to message_max_bytes plus LC_KAFKA_MSG_OVERHEAD. */
#define LC_KAFKA_MSG_OVERHEAD 4096
#define LC_KAFKA_MAX_MSG_BYTES (1000000000ULL - LC_KAFKA_MSG_OVERHEAD)

struct lc_kafka_config {
    char **brokers; /* host:port */
    size_t n_brokers;
    struct lc_template *topic;
    struct lc_template *key; /* renders empty: no key */
    int value;               /* enum lc_kafka_value */
    struct lc_template_pair *headers;
    size_t n_headers;
    int compression; /* none, gzip, snappy, lz4, zstd: librdkafka's names, in this order */
    int idempotence;
    uint64_t message_max_bytes;
    uint64_t message_timeout_ms; /* librdkafka message.timeout.ms: a batch's longest wait */
    /* tls: */
    int tls;
    char *ca_file, *cert_file, *key_file;
    int verify;
    /* sasl: */
    int sasl; /* enum lc_kafka_sasl */
    char *username, *password, *password_file;
    struct lc_config_pair *props; /* librdkafka: the pass-through properties */
    size_t n_props;
};

extern const struct lc_config_plugin lc_kafka_config_plugin;

/* Where lc_kafka_conf_build failed: the key as the config names it ("compression",
 * "librdkafka.linger.ms"), its line (0: unknown) and why. */
struct lc_kafka_conf_error {
    char key[160];
    int line;
    char why[512];
};

/* Builds a librdkafka configuration (an rd_kafka_conf_t, returned as void * so that this
 * header needs no librdkafka) from C: bootstrap.servers (unless NO_BROKERS: the config check
 * connects to nothing), the keys logcap owns, then the pass-through properties. Returns
 * the configuration (the caller owns it: rd_kafka_conf_destroy, or give it to
 * rd_kafka_new), or NULL with ERR filled (ERR->line is set for a pass-through property
 * only; the caller knows the lines of its own keys). */
void *lc_kafka_conf_build(const struct lc_kafka_config *c, int no_brokers,
                          struct lc_kafka_conf_error *err);

#endif
