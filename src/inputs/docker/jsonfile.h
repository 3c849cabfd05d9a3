/* jsonfile: Docker's json-file log (/var/lib/docker/containers/<id>/<id>-json.log) turned
 * into whole lines, the same lines the Engine API's logs stream gives (lines.h).
 *
 * Each line of the file is one JSON object that dockerd's jsonfilelog driver wrote:
 * {"log":"<content>","stream":"stdout"|"stderr","attrs":{...},"time":"<RFC 3339>"}. The
 * content ends in "\n" when it ends a line; a line longer than 16 KiB arrives as several
 * entries sharing one timestamp, only the last ending in "\n", and they are joined per
 * stream up to max_line_bytes by the same assembler as the API path (lc_docker_lines_message).
 * "time" has 0 to 9 fraction digits (Go's RFC3339Nano drops trailing zeros); lines carry
 * it as the API does, with 9 digits, so that records are the same byte for byte whichever
 * way they were read.
 *
 * Only whole lines of the file (ending in '\n') are decoded; the bytes after the last one
 * belong to an entry dockerd is still writing and are left to the caller to feed again
 * with what follows. An entry that does not parse (a line torn by a crash of dockerd, then
 * continued by the next entry) is counted as a decode error; when a whole entry follows
 * the torn bytes on the same line it is recovered.
 *
 * The decoder owns its buffers; line pointers passed to the callback are valid during the
 * callback only. One thread. */
#ifndef LC_DOCKER_JSONFILE_H
#define LC_DOCKER_JSONFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "inputs/docker/lines.h"

/* One entry of the file, as lc_docker_jsonfile_parse reads it. */
struct lc_docker_jsonfile_entry {
    int stream;    /* 1 stdout, 2 stderr, 0 absent or another value */
    int64_t ts_ns; /* -1: "time" absent or not a valid RFC 3339 timestamp */
    int has_log;   /* "log" was present (its content is in the caller's buffer) */
};

/* Parses one entry: the LEN bytes of LINE (without its '\n'). The content of "log",
 * unescaped (every JSON escape; \u surrogate pairs joined, a lone surrogate becomes
 * U+FFFD), replaces what LOG held. Keys other than log, stream and time are skipped, in
 * any order. Returns 0, or -EPROTO when LINE is not one JSON object (E and LOG are then
 * unspecified). Pure: for tests and the fuzzer. */
int lc_docker_jsonfile_parse(const char *line, size_t len, struct lc_buf *log,
                             struct lc_docker_jsonfile_entry *e);

struct lc_docker_jsonfile;

/* Creates a decoder whose lines go to CB (see lines.h; TTY: the container has a terminal,
 * and a "\r" before a line's "\n" is removed as the API path does). Never returns NULL. */
struct lc_docker_jsonfile *lc_docker_jsonfile_create(int tty, size_t max_line_bytes,
                                                     lc_docker_line_cb cb, void *ud);
/* NULL is a no-op. */
void lc_docker_jsonfile_destroy(struct lc_docker_jsonfile *j);

/* Decodes every whole line of DATA (LEN bytes read from the file) and sets *USED to the
 * bytes taken: up to and including the last '\n' (0 when there is none yet). Returns 0, or
 * the callback's nonzero value, in which case *USED ends after the line whose callback
 * stopped the feed. */
int lc_docker_jsonfile_feed(struct lc_docker_jsonfile *j, const char *data, size_t len,
                            size_t *used);

/* The file ended for good (the container was removed, or the file rotated away and was
 * read to its end): with EMIT_PARTIAL, pieces being joined are delivered as lines; without,
 * dropped. Returns 0 or the callback's value. */
int lc_docker_jsonfile_finish(struct lc_docker_jsonfile *j, int emit_partial);

/* The timestamp of the oldest line not yet whole (pieces being joined), or -1. */
int64_t lc_docker_jsonfile_pending_ts(const struct lc_docker_jsonfile *j);

/* Entries that could not be decoded, and lines without a valid stream or timestamp. */
uint64_t lc_docker_jsonfile_decode_errors(const struct lc_docker_jsonfile *j);

#endif
