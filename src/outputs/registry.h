/* registry: the output types logcap knows (registry.c holds the array). Only the daemon,
 * the subcommands and main include it: everything else knows outputs by their interface
 * (output.h). */
#ifndef LC_OUTPUTS_REGISTRY_H
#define LC_OUTPUTS_REGISTRY_H

#include "outputs/output.h"

/* Returns the ops for TYPE, or NULL when no output has that type. */
const struct lc_output_ops *lc_output_find(const char *type);

/* NULL-terminated list of known type names, for error messages and docs. */
extern const char *const lc_output_types[];

#endif
