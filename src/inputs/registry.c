/* registry: the plain array of input types logcap knows. */
#include "inputs/registry.h"

#include <stddef.h>
#include <string.h>

#include "inputs/docker/docker.h"
#include "inputs/file/file_input.h"

static const struct lc_input_ops *const inputs[] = {
    &lc_input_docker,
    &lc_input_file,
};

const struct lc_input_ops *lc_input_find(const char *type)
{
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        if (strcmp(inputs[i]->type, type) == 0) {
            return inputs[i];
        }
    }
    return NULL;
}

const struct lc_input_ops *lc_input_at(size_t i)
{
    return i < sizeof(inputs) / sizeof(inputs[0]) ? inputs[i] : NULL;
}
