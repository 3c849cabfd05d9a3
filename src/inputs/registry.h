/* registry: the input types logcap knows (registry.c holds the array, the only list of
 * them). Only the daemon, the subcommands and main include it; a new input is one folder
 * and one line there. */
#ifndef LC_INPUTS_REGISTRY_H
#define LC_INPUTS_REGISTRY_H

#include <stddef.h>

#include "inputs/input.h"

/* Returns the ops for TYPE, or NULL when no input has that type. */
const struct lc_input_ops *lc_input_find(const char *type);

/* The I-th input type (from 0), or NULL past the last: to list them (config catalogue,
 * config-reference). */
const struct lc_input_ops *lc_input_at(size_t i);

#endif
