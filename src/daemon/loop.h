/* loop: the daemon's one event loop. Starts the parts in order (outputs, then inputs),
 * turns SIGTERM and SIGINT into an orderly stop (inputs stop taking lines, outputs write
 * and flush what is queued, positions are saved), and stops the parts in reverse. */
#ifndef LC_LOOP_H
#define LC_LOOP_H

#include "config/config.h"

/* Runs logcap with CFG until a stop signal. Returns the process exit code: 0 after a
 * clean stop, 1 on a fatal runtime error (logged). */
int lc_loop_run(const struct lc_config *cfg);

#endif
