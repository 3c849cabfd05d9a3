/* loki: the Loki output (type: loki). Each batch becomes one push request (POST
 * URL/loki/api/v1/push): records grouped into streams by their rendered label set
 * (loki_batch.h), encoded as snappy protobuf or JSON (loki_push.h), sent through the HTTP
 * layer (outputs/http.h) on one kept-alive connection.
 *
 * What each answer does to the batch (output.h's contract):
 *  - 2xx: delivered (Loki answers 204; 260 when ingestion is blocked is a 2xx too).
 *  - 429, 5xx, a timeout, a connection error: LC_RETRY, with Loki's Retry-After as the
 *    least wait when it sends one. Loki drops an entry it already has (same stream,
 *    timestamp and line), and a resend keeps every record's own timestamp, so a retry of
 *    a batch Loki partly stored repeats nothing in Loki.
 *  - 400: permanent. Every record of the request is refused with Loki's reason and goes
 *    to the dead-letter file (Loki stored the valid entries of it: a replay after fixing
 *    the cause repeats only what Loki drops as a duplicate).
 *  - 413: the request is split in halves, each sent alone (recursively); a single record
 *    too large is refused alone. Halves delivered before a later one fails are marked done.
 *  - 401, 403, 404: a configuration fault: LC_RETRY, never dead-lettered; /health says
 *    degraded with the status and the first line of Loki's answer.
 *  - any other status: permanent, as 400.
 * A record whose labels all render empty is refused alone (Loki refuses a stream without
 * labels, and with it the whole request).
 *
 * Logging: a failure is logged when its status (or error) differs from the last one
 * logged, and at most once a minute while it lasts; nothing logged names a secret. */
#ifndef LC_OUTPUT_LOKI_H
#define LC_OUTPUT_LOKI_H

#include "outputs/loki/loki_config.h"
#include "outputs/output.h"

extern const struct lc_output_ops lc_output_loki;

/* The path appended to URL for the push API: "" when URL ends with /loki/api/v1/push
 * already, "loki/api/v1/push" when it ends with '/', else "/loki/api/v1/push". */
const char *lc_loki_push_path(const char *url);

#endif
