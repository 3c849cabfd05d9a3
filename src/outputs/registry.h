/* registry: the output types logcap knows (registry.c holds the array, the only list of
 * them). Only the daemon, the subcommands and main include it: everything else knows
 * outputs by their interface (output.h). */
#ifndef LC_OUTPUTS_REGISTRY_H
#define LC_OUTPUTS_REGISTRY_H

#include <stddef.h>

#include "outputs/output.h"

/* Returns the ops for TYPE, or NULL when no output has that type. */
const struct lc_output_ops *lc_output_find(const char *type);

/* The I-th output type (from 0), or NULL past the last: to list them (config catalogue,
 * config-reference, messages). */
const struct lc_output_ops *lc_output_at(size_t i);

#endif
