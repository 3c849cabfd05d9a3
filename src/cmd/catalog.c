/* catalog: the config catalogue (config_option.h) built from the registries, the one
 * list of input and output types: what main hands the config loader and what
 * `logcap config-reference` prints. */
#include <stddef.h>

#include "cmd/cmd.h"
#include "inputs/registry.h"
#include "outputs/registry.h"

#define MAX_TYPES 32

const struct lc_config_catalog *lc_cmd_catalog(void)
{
    static const struct lc_config_plugin *inputs[MAX_TYPES + 1], *outputs[MAX_TYPES + 1];
    static struct lc_config_catalog cat = {.inputs = inputs, .outputs = outputs};
    size_t n = 0;

    for (size_t i = 0; lc_input_at(i) != NULL && n < MAX_TYPES; i++) {
        inputs[n++] = lc_input_at(i)->config;
    }
    inputs[n] = NULL;
    n = 0;
    for (size_t i = 0; lc_output_at(i) != NULL && n < MAX_TYPES; i++) {
        outputs[n++] = lc_output_at(i)->config;
    }
    outputs[n] = NULL;
    return &cat;
}
