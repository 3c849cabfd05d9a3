/* inspect: `logcap spool inspect`. Opens the spool read-only (the same recovery scan as a
 * start, without cutting or writing anything) and prints its segments, then each configured
 * output's cursor with its backlog: records and bytes after the cursor and the age of the
 * oldest record not yet acknowledged. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "spool/spool.h"
#include "spool/spool_reader.h"
#include "base/util.h"

struct seg_print {
    FILE *out;
    uint64_t n;
};

static void print_segment(void *ud, uint64_t id, uint64_t bytes, uint64_t records,
                          uint64_t first_index)
{
    struct seg_print *p = ud;
    fprintf(p->out,
            "  %016" PRIx64 ".seg  %12" PRIu64 " bytes  %10" PRIu64
            " records  (first record #%" PRIu64 ")\n",
            id, bytes, records, first_index);
    p->n++;
}

static void print_age(FILE *out, int64_t ts_ns)
{
    double age = (double)(lc_wall_ns() - ts_ns) / 1e9;
    fprintf(out, "%.1f s", age > 0 ? age : 0);
}

/* One output: its cursor, backlog and the age of the first record after the cursor. */
static void print_output(FILE *out, struct lc_spool *sp, const char *name)
{
    struct lc_spool_pos pos, end;
    struct lc_spool_reader *r;
    struct lc_record *rec = NULL;
    uint64_t records = 0, bytes = 0, index = 0;
    int rc = lc_spool_cursor_load(lc_spool_dir(sp), name, &pos);

    if (rc == -EINVAL) {
        fprintf(out, "  %-20s damaged cursor: it starts again at the oldest record\n", name);
        return;
    }
    if (rc != 0) {
        fprintf(out,
                "  %-20s no cursor: starts at the end of the spool (or its oldest record "
                "with start_at: oldest)\n",
                name);
        return;
    }
    r = lc_spool_reader_create(sp, &pos);
    if (lc_spool_reader_next(r, &rec, &end) == 1) {
        index = rec->seq;
        lc_spool_backlog(sp, &pos, index, &records, &bytes);
    }
    fprintf(out,
            "  %-20s cursor %016" PRIx64 ":%-10" PRIu64 " backlog %10" PRIu64 " records %12" PRIu64
            " bytes  oldest ",
            name, pos.seg, pos.off, records, bytes);
    if (rec != NULL) {
        print_age(out, rec->ts_ns);
        fprintf(out, " (%s)\n", rec->ts);
    } else {
        fprintf(out, "- (caught up)\n");
    }
    lc_record_destroy(rec);
    lc_spool_reader_destroy(r);
}

int lc_cmd_spool_inspect(const struct lc_config *cfg, FILE *out)
{
    size_t n = strlen(cfg->data_dir) + 16;
    char *dir = lc_xmalloc(n);
    struct lc_spool_options opt = {.dir = dir,
                                   .segment_bytes = cfg->spool.segment_bytes,
                                   .max_bytes = cfg->spool.max_bytes,
                                   .sync = cfg->spool.sync,
                                   .sync_interval_ms = cfg->spool.sync_interval_ms,
                                   .readonly = 1};
    struct lc_spool_recovery rec;
    struct lc_spool_snap snap;
    struct lc_spool *sp;
    struct seg_print p = {.out = out};
    int rc;

    snprintf(dir, n, "%s/spool", cfg->data_dir);
    rc = lc_spool_open(&opt, &sp, &rec);
    if (rc != 0) {
        fprintf(stderr, "logcap: cannot open the spool %s: %s\n", dir, strerror(-rc));
        free(dir);
        return 1;
    }
    lc_spool_fill(sp, &snap);
    fprintf(out,
            "spool %s: %" PRIu64 " segments, %" PRIu64 " bytes (%.1f%% of max_bytes %" PRIu64
            "), %" PRIu64 " records\n",
            dir, snap.segments, snap.bytes,
            snap.max_bytes ? 100.0 * (double)snap.bytes / (double)snap.max_bytes : 0.0,
            snap.max_bytes, snap.records);
    lc_spool_each_segment(sp, print_segment, &p);
    if (rec.corrupt_records > 0 || rec.torn_bytes > 0) {
        fprintf(out,
                "damage: %" PRIu64 " damaged regions (%" PRIu64 " bytes) skipped, %" PRIu64
                " bytes of torn tails (cut at the next start)\n",
                rec.corrupt_records, rec.corrupt_bytes, rec.torn_bytes);
    }
    fprintf(out, "outputs:\n");
    for (size_t i = 0; i < cfg->n_outputs; i++) {
        print_output(out, sp, cfg->outputs[i].name);
    }
    lc_spool_close(sp);
    free(dir);
    return 0;
}
