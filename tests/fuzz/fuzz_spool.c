/* fuzz_spool: the spool's readers on arbitrary segment files. The input is written as
 * segment 1 of a spool directory (raw when it starts with the segment magic, so the header
 * is fuzzed too; else after a valid header); a second "LCSPOOL1" in it starts segment 2.
 * Each input runs as is, and again with every plausible frame re-sealed (a correct CRC)
 * so that mutations reach the payloads. Then:
 *  - lc_spool_frame_next walks the raw bytes: every call moves forward (or stops at MORE),
 *    skipped counts are exact, decoders accept or reject each frame, and metadata that
 *    parses survives lc_spool_meta_to_json and back;
 *  - a readonly open recovers it; a reader from the oldest record returns exactly the
 *    records recovery counted, with seq 0, 1, 2...; a reader started in the middle of
 *    segment 1 returns the same records after that place, with the same seq, and knows its
 *    index before reading;
 *  - a read-write open (sync never) cuts torn tails and writes a checkpoint; a readonly
 *    open after it finds the same positions and records and no torn tail (the new
 *    checkpoint starts a run: whatever damage held positions back before, it gives back
 *    exactly the positions the read-write open recovered); the spool's own key
 *    (LC_SPOOL_RUN_KEY) is never among the positions handed to inputs;
 *  - a reader's metadata table is a power of two of at least 64 slots (or none), at most
 *    half full, and above 64 slots at least one eighth full (deletes shrink it).
 * The directory is created once per process and emptied after each input. */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "core/record.h"
#include "spool/spool.h"
#include "spool/spool_format.h"
#include "spool/spool_int.h" /* LC_SPOOL_RUN_KEY, lc_spool_reader_meta_stats */
#include "spool/spool_reader.h"
#include "base/util.h"

/* The seed of the header given to inputs that have none, and of frames walked raw. */
#define FUZZ_SEED 0x0badf00du

#define MAX_READ 100000

static char dir[64];

static void fail(const char *what, int line)
{
    fprintf(stderr, "fuzz_spool.c:%d: check failed: %s\n", line, what);
    abort();
}

/* Like assert(), in every build, naming what failed. */
#define check(c) ((c) ? (void)0 : fail(#c, __LINE__))

static void empty_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[128];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

static void write_seg(uint64_t id, const uint8_t *hdr, const uint8_t *data, size_t len)
{
    char path[128];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%016llx.seg", dir, (unsigned long long)id);
    f = fopen(path, "wb");
    check(f != NULL);
    if (hdr != NULL) {
        check(fwrite(hdr, 1, LC_SPOOL_SEG_HDR, f) == LC_SPOOL_SEG_HDR);
    }
    check(len == 0 || fwrite(data, 1, len, f) == len);
    fclose(f);
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_meta_json(const char *json, size_t len)
{
    struct lc_meta *m = lc_spool_meta_from_json(json, len), *back;
    char *text;
    size_t tlen;
    if (m == NULL) {
        return;
    }
    text = lc_spool_meta_to_json(m, &tlen);
    back = lc_spool_meta_from_json(text, tlen);
    check(back != NULL);
    /* Every part of the metadata survives: kind, id, name, each attribute in order, and
     * so the JSON an output writes. */
    check(same_str(m->kind, back->kind) && same_str(m->id, back->id) &&
          same_str(m->name, back->name) && m->n_attrs == back->n_attrs);
    for (uint32_t i = 0; i < m->n_attrs; i++) {
        check(same_str(m->attrs[i].key, back->attrs[i].key) &&
              same_str(m->attrs[i].value, back->attrs[i].value) &&
              m->attrs[i].flags == back->attrs[i].flags);
    }
    check(m->json_head_len == back->json_head_len &&
          memcmp(m->json_head, back->json_head, m->json_head_len) == 0);
    check(m->json_tail_len == back->json_tail_len &&
          memcmp(m->json_tail, back->json_tail, m->json_tail_len) == 0);
    free(text);
    lc_meta_unref(back);
    lc_meta_unref(m);
}

/* Fields that decode encode back to the same fields. */
static void check_fields_json(const char *json, size_t len)
{
    struct lc_fields *f = lc_spool_fields_from_json(json, len), *back;
    char *text;
    size_t tlen;
    if (f == NULL) {
        return;
    }
    text = lc_spool_fields_to_json(f, &tlen);
    back = lc_spool_fields_from_json(text, tlen);
    check(back != NULL && back->n == f->n && back->json_len == f->json_len &&
          memcmp(back->json, f->json, f->json_len) == 0);
    free(text);
    lc_fields_free(back);
    lc_fields_free(f);
}

/* The frame layer and the decoders straight over the bytes. */
static void walk_frames(const uint8_t *data, size_t size)
{
    size_t pos = 0, skipped;
    struct lc_spool_frame f;
    for (;;) {
        size_t at = pos;
        enum lc_scan r = lc_spool_frame_next(data, size, &pos, &f, &skipped, FUZZ_SEED);
        if (r == LC_SCAN_MORE) {
            check(pos == at);
            return;
        }
        check(pos > at && pos <= size);
        if (r == LC_SCAN_BAD) {
            check(skipped == pos - at);
            continue;
        }
        check(r == LC_SCAN_FRAME && skipped == 0 && pos == at + LC_SPOOL_HDR + f.len);
        if (f.type == LC_SPOOL_DATA) {
            struct lc_spool_data d;
            if (lc_spool_data_decode(&f, &d) == 0) {
                check(d.ts_len + d.len + LC_SPOOL_DATA_FIXED +
                          (d.fields != NULL ? 4 + d.fields_len : 0) ==
                      f.len);
                check(d.stream == LC_STREAM_STDOUT || d.stream == LC_STREAM_STDERR);
                if (d.fields != NULL) {
                    check_fields_json(d.fields, d.fields_len);
                }
            }
        } else if (f.type == LC_SPOOL_META) {
            uint32_t id;
            const char *json;
            size_t len;
            if (lc_spool_meta_decode(&f, &id, &json, &len) == 0) {
                check(len + 4 == f.len);
                check_meta_json(json, len);
            }
        } else {
            const char *k, *v;
            size_t kl, vl;
            check(f.type == LC_SPOOL_POS);
            if (lc_spool_pos_decode(&f, &k, &kl, &v, &vl) == 0) {
                check(kl > 0 && 2 + kl + vl == f.len);
            }
        }
    }
}

static int open_spool(int readonly, struct lc_spool **sp, struct lc_spool_recovery *rep)
{
    struct lc_spool_options o = {.dir = dir,
                                 .segment_bytes = 1u << 20,
                                 .max_bytes = 1u << 30,
                                 .sync = LC_SYNC_NEVER,
                                 .readonly = readonly};
    return lc_spool_open(&o, sp, rep);
}

struct seen {
    uint64_t n;
    uint64_t seq[MAX_READ];
    struct lc_spool_pos end[MAX_READ];
};

/* The shape of a reader's metadata table: none, or a power of two of at least 64 slots, at
 * most half full (it grows before passing half) and, above 64 slots, at least one eighth
 * full (a delete that leaves less shrinks it). */
static void check_meta_table(const struct lc_spool_reader *r)
{
    size_t live, slots;
    lc_spool_reader_meta_stats(r, &live, &slots);
    check(slots == 0 || (slots >= 64 && (slots & (slots - 1)) == 0));
    check(live * 2 <= slots || (slots == 0 && live == 0));
    check(slots <= 64 || live * 8 >= slots);
}

/* Reads every record from POS into S (seq and end of each). */
static void read_from(struct lc_spool *sp, const struct lc_spool_pos *pos, struct seen *s,
                      uint64_t *first_index)
{
    struct lc_spool_reader *r = lc_spool_reader_create(sp, pos);
    struct lc_spool_pos p, end;
    struct lc_record *rec;
    uint64_t index;
    lc_spool_reader_pos(r, &p, &index);
    *first_index = index;
    s->n = 0;
    while (s->n < MAX_READ && lc_spool_reader_next(r, &rec, &end) == 1) {
        check(rec->meta != NULL && rec->meta->id != NULL);
        check(rec->stream == LC_STREAM_STDOUT || rec->stream == LC_STREAM_STDERR);
        check(rec->msg[rec->len] == '\0' && strlen(rec->ts) < LC_TS_MAX);
        s->seq[s->n] = rec->seq;
        s->end[s->n] = end;
        s->n++;
        lc_record_destroy(rec);
        check_meta_table(r);
    }
    lc_spool_reader_destroy(r);
}

static void check_readers(struct lc_spool *sp, const struct lc_spool_recovery *rep, size_t size)
{
    static struct seen all, part;
    struct lc_spool_snap snap;
    struct lc_spool_pos mid;
    uint64_t first, k = 0, bytes;

    read_from(sp, &(struct lc_spool_pos){0, 0}, &all, &first);
    check(all.n == rep->records);
    for (uint64_t i = 0; i < all.n; i++) {
        check(all.seq[i] == i);
    }
    lc_spool_fill(sp, &snap);
    check(snap.records == rep->records && snap.bytes == rep->bytes);

    /* from the middle of segment 1 (any byte: not necessarily a frame boundary) */
    mid = (struct lc_spool_pos){1, LC_SPOOL_SEG_HDR + (size > 2 ? size / 2 : 0)};
    read_from(sp, &mid, &part, &first);
    while (k < all.n && all.end[k].seg == 1 && all.end[k].off <= mid.off) {
        k++;
    }
    check(first == k);
    check(part.n == all.n - k);
    for (uint64_t i = 0; i < part.n; i++) {
        check(part.seq[i] == all.seq[k + i]);
        check(part.end[i].seg == all.end[k + i].seg && part.end[i].off == all.end[k + i].off);
    }
    lc_spool_backlog(sp, &mid, first, &k, &bytes);
    check(k == part.n);
}

/* A copy of DATA where every plausible frame header (magic, known type, a length that
 * fits) gets a correct CRC, so that mutations reach the payloads and not only the
 * checksums. Caller frees. */
static uint8_t *resealed(const uint8_t *data, size_t size)
{
    uint8_t *c = lc_xmalloc(size + 1);
    int raw = size >= LC_SPOOL_SEG_HDR && memcmp(data, LC_SPOOL_SEG_MAGIC, 8) == 0;
    size_t pos = raw ? LC_SPOOL_SEG_HDR : 0;
    uint32_t seed = FUZZ_SEED;
    uint64_t id;
    if (raw) {
        lc_spool_seg_header_check(data, size, &id, &seed); /* the first copy, sound or not */
    }
    memcpy(c, data, size);
    while (pos + LC_SPOOL_HDR <= size) {
        uint8_t *h = c + pos;
        size_t len = (size_t)h[4] | (size_t)h[5] << 8 | (size_t)h[6] << 16 | (size_t)h[7] << 24;
        if (h[0] == 'L' && h[1] == 'C' && h[2] >= LC_SPOOL_DATA && h[2] <= LC_SPOOL_POS &&
            len <= size - pos - LC_SPOOL_HDR) {
            lc_spool_frame_seal(h, seed);
            pos += LC_SPOOL_HDR + len;
        } else {
            pos++;
        }
    }
    return c;
}

static void run(const uint8_t *data, size_t size)
{
    struct lc_spool_recovery rep, rep2;
    struct lc_spool *sp;
    uint8_t hdr[LC_SPOOL_SEG_HDR];
    const uint8_t *second = NULL;
    json_t *pos1, *pos2;
    size_t first_len = size;
    int raw = size >= 8 && memcmp(data, LC_SPOOL_SEG_MAGIC, 8) == 0;

    walk_frames(data, size);
    check_meta_json((const char *)data, size);
    check_fields_json((const char *)data, size);

    if (size > 8) {
        second = memmem(data + 1, size - 1, LC_SPOOL_SEG_MAGIC, 8);
        first_len = second != NULL ? (size_t)(second - data) : size;
    }
    lc_spool_seg_header(hdr, 1, FUZZ_SEED);
    write_seg(1, raw ? NULL : hdr, data, first_len);
    if (second != NULL) {
        write_seg(2, NULL, second, size - first_len);
    }

    check(open_spool(1, &sp, &rep) == 0);
    check(rep.segments == (second != NULL ? 2u : 1u));
    check_readers(sp, &rep, first_len);
    lc_spool_close(sp);

    /* read-write: torn tails cut, a checkpoint written; then the same state again */
    check(open_spool(0, &sp, &rep2) == 0);
    check(rep2.records == rep.records && rep2.torn_bytes == rep.torn_bytes &&
          rep2.corrupt_records == rep.corrupt_records);
    pos1 = lc_spool_positions(sp);
    check(json_object_get(pos1, LC_SPOOL_RUN_KEY) == NULL);
    lc_spool_close(sp);
    check(open_spool(1, &sp, &rep2) == 0);
    pos2 = lc_spool_positions(sp);
    check(json_equal(pos1, pos2) || (json_object_size(pos1) == 0 && json_object_size(pos2) == 0));
    check(rep2.records == rep.records && rep2.torn_bytes == 0 &&
          rep2.corrupt_records == rep.corrupt_records);
    check_readers(sp, &rep2, first_len);
    json_decref(pos1);
    json_decref(pos2);
    lc_spool_close(sp);
    empty_dir();
}

static void remove_dir(void)
{
    empty_dir();
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    uint8_t *sealed;
    if (!ready) {
        snprintf(dir, sizeof(dir), "/tmp/lc_fuzz_spool.XXXXXX");
        check(mkdtemp(dir) != NULL);
        atexit(remove_dir);
        lc_log_set_level(LC_LOG_ERROR);
        ready = 1;
    }
    run(data, size);
    sealed = resealed(data, size);
    if (memcmp(sealed, data, size) != 0) {
        run(sealed, size);
    }
    free(sealed);
    return 0;
}
