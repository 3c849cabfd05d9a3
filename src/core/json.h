/* json: the hand-written JSON encoder for output records. It is on the hot path (every
 * line passes through it), so it does not build a jansson tree; parsing elsewhere uses
 * jansson. Output is always valid JSON and valid UTF-8 whatever bytes the input holds. */
#ifndef LC_JSON_H
#define LC_JSON_H

#include <stddef.h>

#include "base/buf.h"
#include "core/record.h"

/* Appends S (N bytes, any bytes at all) as a quoted JSON string. '"' and '\\' are escaped,
 * control bytes become \n, \r, \t, \b, \f or \u00XX, DEL becomes \u007f, and every maximal
 * ill-formed UTF-8 subsequence (Unicode's "substitution of maximal subparts": overlongs,
 * surrogates, code points above U+10FFFF, truncated sequences) becomes U+FFFD. Valid
 * multibyte UTF-8 passes through unchanged. Returns 0 or -E2BIG from the buffer's cap. */
int lc_json_add_string(struct lc_buf *b, const char *s, size_t n);

/* Appends one record as a single-line JSON object and a '\n':
 * {"ts":...,"container_id":...,"container_name":...,"image":...,"stream":"stdout"|"stderr",
 *  "message":...[,"truncated":true][,"host":...][,"labels":{...}]
 *  [,"compose_project":...][,"compose_service":...]}
 * host is omitted when empty; labels when meta->labels_json is NULL (it is inserted as is).
 * Returns 0 or -E2BIG. */
int lc_json_add_record(struct lc_buf *b, const struct lc_record *r);

/* Appends the message alone, with bytes made valid UTF-8 as above but not quoted or
 * escaped, and a '\n' (format: text). Returns 0 or -E2BIG. */
int lc_json_add_text(struct lc_buf *b, const struct lc_record *r);

#endif
