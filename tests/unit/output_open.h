/* output_open: an output for the unit tests of outputs, made as the daemon makes it: its
 * section loaded from YAML by the real config loader (so the type's defaults and checks
 * apply), its entry copied out of the config (the instance outlives the config), and the
 * type's init run on the copy. The catalogue holds the Docker input and the output's type.
 * Also a capture of stderr, where the output logs. Every function is static: each test file
 * has its own copy. */
#ifndef LC_TEST_OUTPUT_OPEN_H
#define LC_TEST_OUTPUT_OPEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "inputs/docker/docker_config.h"
#include "outputs/output.h"

struct out {
    const struct lc_output_ops *ops;
    struct lc_output_config oc; /* the instance's copy */
    void *state;
    struct lc_send_report rep;
};

/* Loads the config TEXT (its outputs: of OPS's type only) into C. Returns the loader's
 * answer; *ERRS (the caller frees it) holds what it printed. */
static int out_load(const struct lc_output_ops *ops, const char *text, struct lc_config *c,
                    char **errs)
{
    const struct lc_config_plugin *inputs[] = {&lc_docker_config_plugin, NULL};
    const struct lc_config_plugin *outputs[] = {ops->config, NULL};
    const struct lc_config_catalog cat = {.inputs = inputs, .outputs = outputs};
    size_t n = 0;
    FILE *f = open_memstream(errs, &n);
    int rc;

    memset(c, 0, sizeof *c);
    rc = lc_config_load_string(c, &cat, "x.yaml", text, strlen(text), f);
    fclose(f);
    return rc;
}

/* Creates O from the first output of the config TEXT. Returns 0, or -1 with the errors
 * printed. */
static int out_open_text(struct out *o, const struct lc_output_ops *ops, const char *text)
{
    struct lc_config c;
    char *errs = NULL;
    int rc = out_load(ops, text, &c, &errs);

    memset(o, 0, sizeof *o);
    o->ops = ops;
    if (rc != 0 || errs[0] != '\0') {
        fprintf(stderr, "  load: rc=%d\n%s", rc, errs);
        free(errs);
        lc_config_free(&c);
        return -1;
    }
    free(errs);
    lc_config_output_copy(&o->oc, &c.outputs[0]);
    lc_config_free(&c);
    rc = ops->init(&o->state, &o->oc);
    if (rc != 0) {
        fprintf(stderr, "  init: rc=%d\n", rc);
        lc_config_output_free(&o->oc);
        return -1;
    }
    return 0;
}

/* Sends the N records RECS as one batch, with a fresh report (O->rep). */
static enum lc_send_result out_send(struct out *o, struct lc_record **recs, size_t n)
{
    lc_send_report_reset(&o->rep, n);
    return o->ops->send(o->state, recs, n, &o->rep);
}

static void out_close(struct out *o)
{
    o->ops->destroy(o->state);
    lc_send_report_close(&o->rep);
    lc_config_output_free(&o->oc);
}

/* ---- stderr, where lc_log writes: what an output logged ---- */

struct capture {
    char path[64];
    int saved;
};

static void capture_start(struct capture *k)
{
    int fd;
    strcpy(k->path, "/tmp/test_output_XXXXXX");
    fd = mkstemp(k->path);
    fflush(stderr);
    k->saved = dup(2);
    if (fd < 0 || k->saved < 0 || dup2(fd, 2) < 0) {
        abort();
    }
    close(fd);
}

/* Restores stderr; returns what was written meanwhile (caller frees). */
static char *capture_stop(struct capture *k)
{
    char *text = calloc(1, 65536);
    FILE *f;

    fflush(stderr);
    dup2(k->saved, 2);
    close(k->saved);
    f = fopen(k->path, "r");
    if (f == NULL || fread(text, 1, 65535, f) == (size_t)-1) {
        abort();
    }
    fclose(f);
    unlink(k->path);
    return text;
}

#endif
