/* registry: the plain array of output types logcap knows. Only the daemon, the
 * subcommands and main use it; a new output is one folder and one line here. */
#include <stddef.h>
#include <string.h>

#include "outputs/file/file.h"
#include "outputs/kafka/kafka.h"
#include "outputs/loki/loki.h"
#include "outputs/registry.h"
#include "outputs/stdout/stdout.h"

static const struct lc_output_ops *const outputs[] = {
    &lc_output_file,
    &lc_output_stdout,
    &lc_output_loki,
    &lc_output_kafka,
};

const struct lc_output_ops *lc_output_find(const char *type)
{
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        if (strcmp(outputs[i]->type, type) == 0) {
            return outputs[i];
        }
    }
    return NULL;
}

const struct lc_output_ops *lc_output_at(size_t i)
{
    return i < sizeof(outputs) / sizeof(outputs[0]) ? outputs[i] : NULL;
}
