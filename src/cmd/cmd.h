/* cmd: logcap's subcommands besides running the agent: `logcap spool inspect` and
 * `logcap dead replay OUTPUT`. Each takes the loaded config and returns the process exit
 * code (0 done, 1 failed, 2 bad arguments). */
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

/* Locks DIR/lock (creating DIR) so two agents never share a data_dir. Returns the lock
 * fd, -EWOULDBLOCK when another process holds it, or another negative errno. */
int lc_cmd_lock_data_dir(const char *dir);

#endif
