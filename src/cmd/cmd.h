/* cmd: logcap's subcommands besides running the agent: `logcap spool inspect`,
 * `logcap dead replay OUTPUT` and `logcap config-reference`, and the config catalogue
 * built from the registries. Each subcommand returns the process exit code (0 done,
 * 1 failed, 2 bad arguments). */
#ifndef LC_CMD_H
#define LC_CMD_H

#include <stdio.h>

#include "config/config.h"

/* Prints the spool's segments, each output's cursor and backlog to OUT. Reads only: safe
 * while logcap runs. */
int lc_cmd_spool_inspect(const struct lc_config *cfg, FILE *out);

/* Sends the dead-letter records of OUTPUT again: through the running logcap's API when
 * one holds data_dir, else directly with the output from the config. */
int lc_cmd_dead_replay(const struct lc_config *cfg, const char *output, FILE *out);

/* The config catalogue: every input and output type of the registries with its option
 * table, in registry order. Static storage; never fails. */
const struct lc_config_catalog *lc_cmd_catalog(void);

/* Prints every key of the config (the core's, and every input and output type's in CAT)
 * with its type, range, default and help to OUT. Reads no config. */
int lc_cmd_config_reference(const struct lc_config_catalog *cat, FILE *out);

/* Locks DIR/lock (creating DIR) so two agents never share a data_dir. Returns the lock
 * fd, -EWOULDBLOCK when another process holds it, or another negative errno. */
int lc_cmd_lock_data_dir(const char *dir);

#endif
