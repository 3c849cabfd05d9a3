/* config_schema: the keys the config file knows, for config.c and not for use outside the
 * config module. Tables of keys (key, setter, offset into the model, range) per section and
 * per output type, the setters that check one value and store it, and the walk of a mapping
 * with a table. Also how the values the setters store are defaulted (an output entry) and
 * freed (lists), since the model in config.c frees and defaults the same fields. */
#ifndef LC_CONFIG_SCHEMA_H
#define LC_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"
#include "config/config_yaml.h"

#define LC_KIB 1024ULL
#define LC_MIB (1024ULL * 1024)
#define LC_DAY_MS (24ULL * 3600 * 1000) /* the longest duration any key accepts */

/* Walks the top-level mapping ROOT (already opened with lc_config_open_collection) with the
 * table of known keys, storing every valid value into C (replacing and freeing the value
 * there) and reporting every problem through W. */
void lc_config_schema_walk(struct lc_config_walk *w, yaml_node_t *root, struct lc_config *c);

/* Fills O with the defaults of an output entry (batches of 2048 records, 4MiB or 100ms;
 * retries from 500ms to 30s without limit; start at the end of the spool; format json,
 * 100MiB files, 10 kept, compressed) given at LINE (0: built in). O owns no strings yet. */
void lc_config_output_defaults(struct lc_output_config *o, int line);

/* Free a list of N name patterns, of N label matches, or of N outputs, with everything each
 * entry owns. NULL with N 0 is a no-op. */
void lc_config_free_names(char **names, size_t n);
void lc_config_free_labels(struct lc_label_match *labels, size_t n);
void lc_config_free_outputs(struct lc_output_config *outputs, size_t n);

/* Formats MS with the largest unit (h, m, s, ms) that divides it exactly, into DST (CAP
 * bytes). Returns DST. */
const char *lc_config_fmt_duration(char *dst, size_t cap, uint64_t ms);

/* Formats BYTES with the largest unit (TiB, GiB, MiB, KiB, B) that divides it exactly, into
 * DST (CAP bytes). Returns DST. */
const char *lc_config_fmt_size(char *dst, size_t cap, uint64_t bytes);

#endif
