/* template: values an output computes per record (a Loki label, later an index, a topic
 * or a key) written as text with variables: "{{ container_name }}", "app-{{ labels.tier }}".
 * A template is parsed once, at config load, into literal and variable segments; rendering
 * appends the segments' values to a buffer and is meant for the hot path of an output.
 *
 * Syntax (docs/configuration.md, "Templates"):
 *  - "{{ VAR }}" is replaced by a value of the record; whitespace inside the braces is
 *    optional. VAR is one of container_name, container_id, image, stream, host,
 *    compose_project, compose_service (the source metadata's attributes, stream "stdout" or
 *    "stderr"), labels.NAME (the container label NAME) or fields.NAME (the processor field
 *    NAME). NAME is any text without whitespace.
 *  - A value the record does not have (another kind of source, no such label or field)
 *    renders as the empty string.
 *  - "{{" always opens a variable. A literal "{{" is written as a quoted text inside the
 *    braces, {{ "{{" }}: the text between double quotes (no '"' and no "}}" in it) is copied
 *    as it is. A lone '{', '}' and "}}" outside braces are plain text.
 *  - Errors name the column (1-based, in characters) of what is wrong: an unclosed "{{",
 *    an empty "{{ }}", an unknown variable (listing the known ones), a second word inside
 *    the braces, "labels." or "fields." without a name, an unterminated quoted text.
 *
 * A template owns its memory; it is immutable after parsing, so one template may be
 * rendered by several threads at once. */
#ifndef LC_TEMPLATE_H
#define LC_TEMPLATE_H

#include <stddef.h>

struct lc_buf;
struct lc_fields;
struct lc_meta;
struct lc_record;

struct lc_template;

/* What a template's value depends on (lc_template_uses). */
enum {
    LC_TEMPLATE_USES_META = 1,   /* an attribute or a label of the source's metadata */
    LC_TEMPLATE_USES_STREAM = 2, /* {{ stream }} */
    LC_TEMPLATE_USES_FIELDS = 4, /* a processor field */
};

/* The variables, as error messages and `logcap config-reference` list them. */
#define LC_TEMPLATE_VARIABLES                                                                      \
    "container_name, container_id, image, stream, host, compose_project, compose_service, "        \
    "labels.NAME, fields.NAME"

/* Room for any error lc_template_parse writes (longer ones are cut). */
#define LC_TEMPLATE_ERR_CAP 256

/* Parses the LEN bytes of TEXT. Returns 0 and sets *OUT to a new template the caller owns
 * (free it with lc_template_destroy), or -EINVAL with ERR (CAP bytes) set to
 * "column N: what is wrong" and *OUT untouched. */
int lc_template_parse(const char *text, size_t len, struct lc_template **out, char *err,
                      size_t cap);

/* A new template equal to T (the caller owns it); NULL when T is NULL. Never fails. */
struct lc_template *lc_template_copy(const struct lc_template *t);
/* Frees T. NULL is a no-op. */
void lc_template_destroy(struct lc_template *t);

/* The text T was parsed from (NUL-terminated). */
const char *lc_template_source(const struct lc_template *t);

/* LC_TEMPLATE_USES_* bits. 0: T renders the same for every record (see lc_template_constant).
 * Only LC_TEMPLATE_USES_META: the value depends on the metadata alone, and since metadata
 * is immutable a caller may render once per lc_meta and keep the result with it (keyed by
 * the pointer, holding a reference with lc_meta_ref so that the address cannot be reused
 * by another lc_meta while the entry lives); with LC_TEMPLATE_USES_STREAM too, once per
 * lc_meta and stream. Only LC_TEMPLATE_USES_FIELDS makes a value differ line by line. */
unsigned lc_template_uses(const struct lc_template *t);

/* When T uses nothing (lc_template_uses is 0), its value (NUL-terminated, owned by T) with
 * its length in *LEN (LEN may be NULL); else NULL. */
const char *lc_template_constant(const struct lc_template *t, size_t *len);

/* Appends T's value for record R to OUT. Returns 0, or -E2BIG when OUT's cap is reached,
 * in which case OUT is left as it was. R NULL renders every variable empty. */
int lc_template_render(const struct lc_template *t, const struct lc_record *r, struct lc_buf *out);

/* The same from the parts of a record: metadata M, STREAM (enum lc_stream; 0 renders
 * {{ stream }} empty) and fields F; any may be NULL. For caches: render a template that
 * uses only the metadata with M alone. */
int lc_template_render_from(const struct lc_template *t, const struct lc_meta *m, int stream,
                            const struct lc_fields *f, struct lc_buf *out);

/* Writes T's value for R into DST (CAP bytes, NUL-terminated, cut to fit when CAP > 0).
 * Returns the value's full length, as snprintf does: a result >= CAP means it was cut. */
size_t lc_template_render_to(const struct lc_template *t, const struct lc_record *r, char *dst,
                             size_t cap);

#endif
