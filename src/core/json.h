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
 *   {"ts":...<HEAD attributes>,"stream":"stdout"|"stderr","message":...[,"truncated":true]
 *    <other attributes><fields>}
 * where each attribute of the record's metadata, and each field, is `,"key":value` in the
 * metadata's (fields') order, the value a JSON string or, with LC_ATTR_JSON, the JSON text
 * as it is. The attributes are pre-encoded in the metadata, so a line costs the timestamp,
 * the message and a few copies. For Docker metadata (lc_meta_docker_create) this is the
 * file output's documented JSON:
 *   {"ts":...,"container_id":...,"container_name":...,"image":...,"stream":...,
 *    "message":...[,"truncated":true][,"host":...][,"labels":{...}]
 *    [,"compose_project":...][,"compose_service":...]}
 * A record without metadata (only tests make one: the spool reader gives "unknown"
 * metadata) gets "" for container_id, container_name and image, the shape it always had.
 * Returns 0 or -E2BIG. */
int lc_json_add_record(struct lc_buf *b, const struct lc_record *r);

/* Appends `,"key":value` for each of the N attributes ITEMS whose LC_ATTR_HEAD flag is
 * HEAD (LC_ATTR_HEAD or 0). Used to pre-encode metadata and fields. Returns 0 or -E2BIG. */
int lc_json_add_attrs(struct lc_buf *b, const struct lc_attr *items, size_t n, unsigned head);

/* Appends S (N bytes) with every ill-formed UTF-8 subsequence replaced by U+FFFD as above,
 * nothing escaped or quoted. Returns 0 or -E2BIG. */
int lc_json_add_utf8(struct lc_buf *b, const char *s, size_t n);

/* 1 when S (N bytes) is well-formed UTF-8 (lc_json_add_utf8 would copy it unchanged). */
int lc_json_utf8_valid(const char *s, size_t n);

/* Appends the message alone, with bytes made valid UTF-8 as above but not quoted or
 * escaped, and a '\n' (format: text). Returns 0 or -E2BIG. */
int lc_json_add_text(struct lc_buf *b, const struct lc_record *r);

#endif
