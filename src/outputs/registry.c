/* registry: the plain array of output types logcap knows, and the send report every
 * output fills. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#include "outputs/file.h"
#include "outputs/output.h"

static const struct lc_output_ops *const outputs[] = {
    &lc_output_file,
};

const char *const lc_output_types[] = {"file", NULL};

const struct lc_output_ops *lc_output_find(const char *type)
{
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        if (strcmp(outputs[i]->type, type) == 0) {
            return outputs[i];
        }
    }
    return NULL;
}

void lc_send_report_reset(struct lc_send_report *rep, size_t n)
{
    lc_send_report_close(rep);
    rep->reasons = n > 0 ? lc_xcalloc(n, sizeof(*rep->reasons)) : NULL;
    rep->n = n;
}

void lc_send_report_close(struct lc_send_report *rep)
{
    for (size_t i = 0; rep->reasons != NULL && i < rep->n; i++) {
        free(rep->reasons[i]);
    }
    free(rep->reasons);
    rep->reasons = NULL;
    rep->n = 0;
    rep->n_rejected = 0;
    rep->why[0] = '\0';
}

void lc_send_reject(struct lc_send_report *rep, size_t i, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    if (i >= rep->n) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (rep->reasons[i] == NULL) {
        rep->n_rejected++;
    }
    free(rep->reasons[i]);
    rep->reasons[i] = lc_xstrdup(buf);
}

void lc_send_why(struct lc_send_report *rep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
    va_end(ap);
}
