/* file_input: the file input (type: file). It follows every file that matches its paths
 * (globs) and none of its excludes, each with the shared follower (inputs/tail.h), and
 * hands every line to the ingest stage with the file's metadata (kind "file": path, file
 * name, host) and the configured fields.
 *
 * Finding files: the globs are matched at start and every refresh_interval; the directory
 * of each followed file, and the literal directory of each glob, are watched (inotify
 * through libuv), so a new file there is followed at once and an append is read at once.
 * At the input's very first start (no position in the spool yet) the files found are read
 * from read_from; a file found later, or at a later start without a position, is new and
 * read from its start.
 *
 * Lines: split at '\n' (kept out of the record); a line longer than max_line_bytes is cut
 * there, marked truncated, and the rest of it up to its '\n' dropped; the unterminated last
 * line of a file rotated away is delivered as a line. The timestamp is the time of reading.
 *
 * Positions: per path, the file's identity and the offset of the last whole line taken,
 * committed with the lines (tail.h tells how a saved position is found again). A file that
 * is deleted is closed once read to its end and its position removed. Rotations,
 * copytruncates and the files whose unread part was lost are logged and counted.
 *
 * Loop thread only. */
#ifndef LC_FILE_INPUT_H
#define LC_FILE_INPUT_H

#include "inputs/file/file_input_config.h"
#include "inputs/input.h"

extern const struct lc_input_ops lc_input_file;

#endif
