/* config_schema: the walk of the config file with tables of keys, for the config module
 * and not for use outside it. config_schema.c holds the core's tables and the walk of a
 * mapping with tables; config_instance.c the lists of inputs and outputs (each entry
 * walked with the common keys and its type's table), the instances' lifecycle and the
 * checks plugins run after the walk. */
#ifndef LC_CONFIG_SCHEMA_H
#define LC_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"
#include "config/config_option.h"
#include "config/config_yaml.h"

#define LC_CONFIG_MAX_TABLES 2 /* tables one mapping is walked with: common keys, type's keys */

/* One table a mapping is walked with: values go to BASE; LINES (when not NULL, one int per
 * entry of TABLE) gets the line of each value stored, or -1 for one rejected. */
struct lc_config_table_walk {
    const struct lc_config_option *table;
    void *base;
    int *lines;
};

/* Walks mapping MAP (already opened) with the N (at most LC_CONFIG_MAX_TABLES) tables of
 * TABS: each key is looked up in the tables in order and set with its entry; an unknown key
 * is reported unless IGNORE_UNKNOWN, a key given twice always. PREFIX names MAP in
 * messages. */
void lc_config_walk_tables(struct lc_config_walk *w, yaml_node_t *map,
                           const struct lc_config_table_walk *tabs, size_t n, const char *prefix,
                           int ignore_unknown);

/* Walks the top-level mapping ROOT (already opened with lc_config_open_collection) with the
 * table of known keys, storing every valid value into C (replacing and freeing the value
 * there) and reporting every problem through W. Inputs are assembled by the caller with
 * lc_config_finish_inputs. */
void lc_config_schema_walk(struct lc_config_walk *w, yaml_node_t *root, struct lc_config *c);

/* config_instance.c: the setters of "inputs", "outputs" and an input type's top-level
 * section (F->plugin), for the root table. BASE is the struct lc_config. */
void lc_config_set_inputs(struct lc_config_walk *w, const struct lc_config_option *f,
                          yaml_node_t *v, void *base, const char *path);
void lc_config_set_outputs(struct lc_config_walk *w, const struct lc_config_option *f,
                           yaml_node_t *v, void *base, const char *path);
void lc_config_set_input_section(struct lc_config_walk *w, const struct lc_config_option *f,
                                 yaml_node_t *v, void *base, const char *path);

/* After the walk: puts the inputs of top-level sections first in C's inputs (replacing
 * the built-in ones when the file gives inputs: or a section) and reports a name given
 * both ways. Frees what the walk left pending. */
void lc_config_finish_inputs(struct lc_config_walk *w, struct lc_config *c);

/* Fills C's built-in instances: one of every catalogue type flagged LC_PLUGIN_DEFAULT. */
void lc_config_default_instances(struct lc_config *c);

/* Runs every instance's plugin check (outputs, then inputs, each in order), then reports
 * every LC_OPT_TASK_DEADLINE option not below TASK_TIMEOUT_MS; TT_LINE is the line of
 * supervisor.task_timeout (0: not given, -1: rejected). */
void lc_config_check_instances(struct lc_config_walk *w, struct lc_config *c);
void lc_config_check_deadlines(struct lc_config_walk *w, const struct lc_config *c,
                               uint64_t task_timeout_ms, int tt_line);

/* Free lists of N inputs or outputs. NULL with N 0 is a no-op. */
void lc_config_free_inputs(struct lc_input_config *inputs, size_t n);
void lc_config_free_outputs(struct lc_output_config *outputs, size_t n);

#endif
