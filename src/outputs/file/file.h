/* file: the embedded default output. One file per container, PATH/<container_name>.log,
 * one JSON object (or the bare message, format: text) per line. A file is rotated before
 * writing a record that would take it past rotate_bytes, when it is not empty: so a record
 * is never split across files, a record larger than rotate_bytes goes alone into a fresh
 * file, and every other file holds at most rotate_bytes (uncompressed), however the records
 * were batched. Rotation renames the file to <name>.log.1 (gzip-compressed to
 * <name>.log.1.gz when compress is on), older ones shift up by one, and at most max_files
 * rotated files are kept. A batch answered LC_RETRY and sent again, without the records it
 * marked done (output.h), lands exactly once. The output owns its open files (a bounded
 * cache of descriptors). */
#ifndef LC_OUTPUT_FILE_H
#define LC_OUTPUT_FILE_H

#include "outputs/file/file_config.h"
#include "outputs/output.h"

extern const struct lc_output_ops lc_output_file;

#endif
