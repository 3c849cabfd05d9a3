/* stdout: the stdout output. Writes every record to logcap's standard output (fd 1), the
 * same line the file output writes (format json: one JSON object per line; text: the bare
 * message), in capture order across containers: for piping logcap into another tool, and
 * for running logcap as a container whose own output another tool reads (its own container
 * is never captured: see the Docker input's find_self). logcap's own log goes to stderr and
 * the daemon prints nothing else to stdout, so the stream holds records only.
 *
 * Delivery contract (output.h): a batch is LC_OK only once every byte of it was written:
 * short writes continue where they stopped, EINTR is retried. stdout may be a pipe whose
 * reader stalls; a write to it then blocks, and a delivery thread blocked in write() can
 * neither beat nor stop. So, when stdout is a blocking pipe, terminal or socket, the output
 * waits for room with poll() and writes at most PIPE_BUF bytes at a time (a pipe that polls
 * writable takes that much without blocking); a non-blocking stdout takes what it has room
 * for (a short write) and the output polls when it answers EAGAIN. When no byte
 * goes out for LC_STDOUT_WAIT_MS, the try fails (LC_RETRY, "not reading"): the delivery
 * engine beats, backs off and tries again, and /health shows why.
 *
 * A failed try marks the records it wrote in full as done (they cannot be taken back) and
 * remembers how much of the record it cut went out; the next try, whose first record is
 * that one, writes only the rest of it, so the reader sees each line once and none torn.
 * (Only a restart of the output between the two tries, which drops that memory, writes
 * the whole record again after the cut piece.)
 *
 * A closed stdout (EPIPE: the reader of the pipe is gone) is an LC_RETRY that says so,
 * every try, never a crash: the daemon ignores SIGPIPE (daemon/loop.c). A pipe's reader
 * never comes back, so nothing reaches it again until logcap restarts with a reader; the
 * records wait in the spool meanwhile (or go to the dead-letter file after
 * retry.max_attempts), which beats dropping them, and /health shows the output's error.
 *
 * flush: fdatasync when stdout is a regular file (as the file output does, when
 * spool.sync asks); a pipe, a terminal or a socket cannot be synced, which is no error. */
#ifndef LC_OUTPUT_STDOUT_H
#define LC_OUTPUT_STDOUT_H

#include "outputs/output.h"
#include "outputs/stdout/stdout_config.h"

extern const struct lc_output_ops lc_output_stdout;

#endif
