/* file: the embedded default output. One file per container, PATH/<container_name>.log,
 * one JSON object (or the bare message, format: text) per line. When a file would pass
 * rotate_bytes it is renamed to <name>.log.1 (gzip-compressed to <name>.log.1.gz when
 * compress is on), older ones shift up by one, and at most max_files rotated files are
 * kept. The output owns its open files (a bounded cache of descriptors). */
#ifndef LC_OUTPUT_FILE_H
#define LC_OUTPUT_FILE_H

#include "outputs/output.h"

extern const struct lc_output_ops lc_output_file;

#endif
