/* kafka: the Kafka output (type: kafka), on librdkafka's producer.
 *
 * Each record becomes one message: its topic, key and headers rendered from the output's
 * templates, its value the record's JSON line or its message (kafka_msg.h), its timestamp
 * the record's. A batch is produced whole, then the output waits for every message's
 * delivery report (librdkafka sends what it holds at once: no linger while logcap waits).
 *
 * What the reports do to the batch (output.h's contract, kafka_report.h):
 *  - every message acknowledged (acks=all with idempotence): LC_OK;
 *  - refused for good (too large, an invalid record or topic name, a timestamp out of the
 *    broker's range): the record goes to the dead-letter file with librdkafka's reason; a
 *    message above message_max_bytes is refused before it is produced;
 *  - a retryable failure (librdkafka's message timeout, a full queue, a lost connection,
 *    NOT_LEADER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, anything unknown): LC_RETRY, the
 *    acknowledged records marked done, the others sent again after the output's backoff;
 *  - an unknown topic, an authorisation or authentication failure: a configuration fault
 *    (LC_RETRY, never dead-lettered, degraded on /health with the error);
 *  - a fatal idempotent-producer error: the producer is destroyed and a new one created,
 *    and the batch's undelivered records go again.
 * A stop that gives up waiting (the engine's cancel) purges what is queued or in flight
 * and answers LC_RETRY: what was not acknowledged stays in the spool.
 *
 * Repeats: a message whose report is an error may still have been written (librdkafka's
 * POSSIBLY_PERSISTED: a timeout after the request was sent), and a crash loses the reports
 * of the batch in flight; both send it again, so a repeat is at most the batch in flight.
 *
 * librdkafka's log and errors come through the output's queue and are logged with the
 * output's name, "[output:NAME] librdkafka...", one format per level, each rate-limited by
 * lc_log (10 lines a minute, then a count of those left out); its statistics feed the
 * broker figures (poll).
 */
#ifndef LC_OUTPUT_KAFKA_H
#define LC_OUTPUT_KAFKA_H

#include "outputs/kafka/kafka_config.h"
#include "outputs/output.h"

extern const struct lc_output_ops lc_output_kafka;

#endif
