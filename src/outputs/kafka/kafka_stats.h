/* kafka_stats: librdkafka's statistics (the JSON its stats callback gets, STATISTICS.md)
 * read into the broker figures of /stats and /metrics. Pure: jansson, no librdkafka. */
#ifndef LC_KAFKA_STATS_H
#define LC_KAFKA_STATS_H

#include <stddef.h>

#include "core/snapshot.h"

/* Reads the LEN bytes of JSON into OUT (zeroed first). Returns 0, or -EINVAL when JSON is
 * not statistics (OUT then says nothing: valid 0). */
int lc_kafka_stats_parse(const char *json, size_t len, struct lc_brokers_snap *out);

#endif
