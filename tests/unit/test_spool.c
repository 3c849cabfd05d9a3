/* test_spool: the spool in mkdtemp directories under /tmp (removed after each test, also
 * when it fails). Frames: encode, seal, scan and decode round trip, and each kind of damage
 * (bad magic, bad CRC, unknown type, a cut header or payload, an oversize length) with
 * resynchronisation. The spool: records appended through lc_spool_add/_commit come back
 * from a reader exactly (content, stream, timestamps, truncated flag, metadata with labels,
 * seq = index) across many segment rotations; positions survive a reopen, also when only
 * checkpoints are left; a torn tail is cut back to the last whole append (positions and
 * records agree); a damaged DATA frame (payload or length) costs that record only; a
 * damaged META frame gives "unknown" metadata; cursor files keep their place, fall back to
 * the older slot when the newer is torn, and are clamped to segments that exist; segments
 * are deleted once every consumer is past them and never the active one; max_bytes makes
 * commit report full and the room hook fires once consumers free space; every sync mode
 * keeps the records (and 'always' and 'interval' sync under load); a readonly open changes
 * no file; backlog figures. Tests wait for conditions with deadlines, never a bare sleep. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "core/record.h"
#include "core/snapshot.h"
#include "spool/spool.h"
#include "spool/spool_format.h"
#include "spool/spool_int.h" /* lc_spool_reader_meta_stats */
#include "spool/spool_reader.h"
#include "base/util.h"
#include "test.h"

/* The CRC seed of frames built in memory by these tests. */
#define TEST_SEED 0x5eed1234u

#define BASE_NS 1795350283000000000LL
#define DEADLINE_MS 10000
#define MAX_SEGS 512
#define MAX_FRAMES 8192
#define ID0 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0"
#define ID1 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1"
#define LABELS0 "{\"app\":\"web\",\"tier\":\"front\"}"

/* ---- fixture: a directory, a spool, consumers, readers, two containers' metadata ---- */

struct fx {
    char dir[64];
    struct lc_spool *sp;
    struct lc_spool_consumer *cons[3];
    struct lc_spool_reader *rd;
    struct lc_meta *meta[2];
    int room; /* room hook calls (atomic) */
    uint64_t appended;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fx_init(struct fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/lc_spool_test.XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    fx->meta[0] =
        lc_meta_docker_create(ID0, "web-1", "nginx:1.25", "host-a", LABELS0, "shop", "web");
    fx->meta[1] = lc_meta_docker_create(ID1, "db", "postgres:16", "host-a", NULL, NULL, NULL);
}

/* Closes what is open (readers and consumers before the spool). */
static void fx_close(struct fx *fx)
{
    lc_spool_reader_destroy(fx->rd);
    fx->rd = NULL;
    for (int i = 0; i < 3; i++) {
        lc_spool_consumer_close(fx->cons[i]);
        fx->cons[i] = NULL;
    }
    lc_spool_close(fx->sp);
    fx->sp = NULL;
}

static void fx_done(struct fx *fx)
{
    fx_close(fx);
    lc_meta_unref(fx->meta[0]);
    lc_meta_unref(fx->meta[1]);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A test with a fixture that is cleaned up whether the body passes or returns early. */
#define FX_TEST(name)                                                                              \
    static void body_##name(int *lc_test_failed, struct fx *fx);                                   \
    TEST(name)                                                                                     \
    {                                                                                              \
        struct fx fx;                                                                              \
        fx_init(&fx);                                                                              \
        body_##name(lc_test_failed, &fx);                                                          \
        fx_done(&fx);                                                                              \
    }                                                                                              \
    static void body_##name(int *lc_test_failed, struct fx *fx)

static void on_room(void *ud)
{
    struct fx *fx = ud;
    __atomic_add_fetch(&fx->room, 1, __ATOMIC_ACQ_REL);
}

struct spool_cfg {
    uint64_t segment_bytes, max_bytes;
    enum lc_sync_mode sync;
    uint64_t sync_interval_ms;
    int readonly;
};

static const struct spool_cfg BIG = {1u << 20, 64u << 20, LC_SYNC_INTERVAL, 1000, 0};
static const struct spool_cfg SMALL = {4096, 64u << 20, LC_SYNC_INTERVAL, 1000, 0};

/* Opens the spool of FX->dir/spool (not started). Returns 0 or -errno. */
static int fx_open_at(struct fx *fx, const char *sub, const struct spool_cfg *c,
                      struct lc_spool_recovery *rep)
{
    char dir[128];
    struct lc_spool_options o = {.dir = dir,
                                 .segment_bytes = c->segment_bytes,
                                 .max_bytes = c->max_bytes,
                                 .sync = c->sync,
                                 .sync_interval_ms = c->sync_interval_ms,
                                 .readonly = c->readonly,
                                 .hooks = {.room = on_room, .ud = fx}};
    struct lc_spool_recovery ignored;
    snprintf(dir, sizeof(dir), "%s/%s", fx->dir, sub);
    return lc_spool_open(&o, &fx->sp, rep != NULL ? rep : &ignored);
}

static int fx_open(struct fx *fx, const struct spool_cfg *c, struct lc_spool_recovery *rep)
{
    return fx_open_at(fx, "spool", c, rep);
}

static void seg_path(const struct fx *fx, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/spool/%016llx.seg", fx->dir, (unsigned long long)id);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- records: what record I holds, deterministic ---- */

static size_t rec_msg(uint64_t i, char *out)
{
    int n = snprintf(out, 128, "line %06llu from the test ", (unsigned long long)i);
    size_t len = (size_t)n + (size_t)(i * 7 % 61);
    for (size_t j = (size_t)n; j < len; j++) {
        out[j] = (char)('a' + (i + j) % 26);
    }
    if (i % 11 == 5) {
        out[3] = '\0'; /* binary bytes pass through */
        out[len - 1] = '\n';
    }
    return len;
}

/* Attribute KEY of M is VALUE. */
static int attr_is(const struct lc_meta *m, const char *key, const char *value)
{
    const char *v = lc_meta_attr(m, key);
    return v != NULL && strcmp(v, value) == 0;
}

static int rec_stream(uint64_t i)
{
    return i % 3 == 0 ? LC_STREAM_STDERR : LC_STREAM_STDOUT;
}

static int64_t rec_ts_ns(uint64_t i)
{
    return BASE_NS + (int64_t)i * 1000;
}

static size_t rec_ts(uint64_t i, char *out)
{
    return (size_t)snprintf(out, 40, "2026-11-22T12:24:43.%09lluZ",
                            (unsigned long long)(i * 1000 % 1000000000));
}

static int rec_truncated(uint64_t i)
{
    return i % 7 == 3;
}

static void add_record(struct fx *fx, uint64_t i)
{
    char msg[256], ts[48];
    size_t len = rec_msg(i, msg), tlen = rec_ts(i, ts);
    int rc = lc_spool_add(fx->sp, fx->meta[i % 2], rec_stream(i), rec_ts_ns(i), ts, tlen, msg, len,
                          rec_truncated(i));
    if (rc != 0) {
        fprintf(stderr, "lc_spool_add: %d\n", rc);
        abort();
    }
}

/* Waits until the writer has made N records visible. Returns 1, or 0 at the deadline. */
static int wait_written(struct lc_spool *sp, uint64_t n)
{
    uint64_t t0 = lc_now_ms();
    for (;;) {
        struct lc_spool_pos end;
        uint64_t idx;
        lc_spool_end(sp, &end, &idx);
        if (idx >= n) {
            return 1;
        }
        if (lc_now_ms() - t0 > DEADLINE_MS) {
            fprintf(stderr, "  timed out: %llu of %llu records written\n", (unsigned long long)idx,
                    (unsigned long long)n);
            return 0;
        }
        lc_spool_wait(sp, &end, 100);
    }
}

/* Polls PRED until it holds or the deadline passes. */
static int wait_for(int (*pred)(struct fx *, uint64_t), struct fx *fx, uint64_t arg)
{
    uint64_t t0 = lc_now_ms();
    struct timespec ts = {0, 2 * 1000 * 1000};
    while (!pred(fx, arg)) {
        if (lc_now_ms() - t0 > DEADLINE_MS) {
            return 0;
        }
        nanosleep(&ts, NULL);
    }
    return 1;
}

static void set_pos_n(struct fx *fx, uint64_t n)
{
    char v[64];
    int len = snprintf(v, sizeof(v), "{\"n\":%llu}", (unsigned long long)n);
    lc_spool_set_position(fx->sp, "c1", v, (size_t)len);
}

/* Appends records FROM..TO-1 in appends of EVERY records, each ending with the position
 * c1 = {"n":<records appended so far>}. WAIT: waits for each append to be written. Returns
 * how many commits reported the spool full. */
static int append_range(struct fx *fx, uint64_t from, uint64_t to, unsigned every, int wait)
{
    int full = 0;
    for (uint64_t i = from; i < to; i++) {
        add_record(fx, i);
        if ((i + 1 - from) % every == 0 || i + 1 == to) {
            set_pos_n(fx, i + 1);
            full += lc_spool_commit(fx->sp);
            if (wait && !wait_written(fx->sp, i + 1)) {
                abort();
            }
        }
    }
    fx->appended = to;
    return full;
}

/* Record R is record I of the test with sequence number SEQ. Prints what differs. */
static int rec_ok(const struct lc_record *r, uint64_t i, uint64_t seq)
{
    char msg[256], ts[48];
    size_t len = rec_msg(i, msg), tlen = rec_ts(i, ts);
    const struct lc_meta *m = r->meta;
    const char *why = NULL;
    if (r->len != len || memcmp(r->msg, msg, len) != 0 || r->msg[len] != '\0') {
        why = "message";
    } else if (r->stream != rec_stream(i) || r->ts_ns != rec_ts_ns(i)) {
        why = "stream or ts_ns";
    } else if (strlen(r->ts) != tlen || memcmp(r->ts, ts, tlen) != 0) {
        why = "ts text";
    } else if (r->truncated != rec_truncated(i)) {
        why = "truncated";
    } else if (r->seq != seq) {
        why = "seq";
    } else if (i % 2 == 0 &&
               (strcmp(m->id, ID0) != 0 || strcmp(m->name, "web-1") != 0 ||
                !attr_is(m, "image", "nginx:1.25") || !attr_is(m, "host", "host-a") ||
                !attr_is(m, "labels", LABELS0) || !attr_is(m, "compose_project", "shop") ||
                !attr_is(m, "compose_service", "web"))) {
        why = "metadata of container 0";
    } else if (i % 2 == 1 &&
               (strcmp(m->id, ID1) != 0 || strcmp(m->name, "db") != 0 ||
                !attr_is(m, "image", "postgres:16") || lc_meta_attr(m, "labels") != NULL ||
                lc_meta_attr(m, "compose_project") != NULL ||
                lc_meta_attr(m, "compose_service") != NULL)) {
        why = "metadata of container 1";
    }
    if (why != NULL) {
        fprintf(stderr, "  record %llu (seq %llu, expected seq %llu): wrong %s\n",
                (unsigned long long)i, (unsigned long long)r->seq, (unsigned long long)seq, why);
    }
    return why == NULL;
}

/* The test's number of a record (from its message). */
static uint64_t rec_number(const struct lc_record *r)
{
    return r->len >= 11 ? strtoull(r->msg + 5, NULL, 10) : UINT64_MAX;
}

struct readback {
    uint64_t n;         /* records read */
    uint64_t ids[8192]; /* their test numbers */
    uint64_t skipped;   /* damaged frames the reader skipped */
    int bad;            /* a record did not match its number, or an error */
    struct lc_spool_pos end;
    uint64_t index;
};

/* Reads every record from POS with a fresh reader. Each record must match its number, with
 * seq FIRST_SEQ, FIRST_SEQ + 1, ... UNKNOWN_META: records of container 0 have the metadata
 * "unknown" instead. */
static void read_all(struct lc_spool *sp, const struct lc_spool_pos *pos, uint64_t first_seq,
                     int unknown_meta0, struct readback *rb)
{
    struct lc_spool_reader *r = lc_spool_reader_create(sp, pos);
    struct lc_record *rec;
    struct lc_spool_pos end = {0, 0}, last = {0, 0};
    int rc;
    memset(rb, 0, sizeof(*rb));
    while ((rc = lc_spool_reader_next(r, &rec, &end)) == 1) {
        uint64_t i = rec_number(rec);
        if (end.seg < last.seg || (end.seg == last.seg && end.off <= last.off)) {
            fprintf(stderr, "  end positions do not increase\n");
            rb->bad = 1;
        }
        last = end;
        if (unknown_meta0 && i % 2 == 0) {
            if (strcmp(rec->meta->id, "unknown") != 0 || strcmp(rec->meta->name, "unknown") != 0 ||
                rec->seq != first_seq + rb->n) {
                fprintf(stderr, "  record %llu: expected unknown metadata\n",
                        (unsigned long long)i);
                rb->bad = 1;
            }
        } else if (!rec_ok(rec, i, first_seq + rb->n)) {
            rb->bad = 1;
        }
        if (rb->n < sizeof(rb->ids) / sizeof(rb->ids[0])) {
            rb->ids[rb->n] = i;
        }
        rb->n++;
        lc_record_destroy(rec);
    }
    if (rc < 0) {
        fprintf(stderr, "  reader error %d\n", rc);
        rb->bad = 1;
    }
    rb->skipped = lc_spool_reader_skipped(r);
    lc_spool_reader_pos(r, &rb->end, &rb->index);
    lc_spool_reader_destroy(r);
}

/* Records 0..N-1 were read, but for SKIP (UINT64_MAX: none). */
static int ids_are(const struct readback *rb, uint64_t n, uint64_t skip, uint64_t first)
{
    uint64_t k = 0;
    for (uint64_t i = first; i < n; i++) {
        if (i == skip) {
            continue;
        }
        if (k >= rb->n || rb->ids[k] != i) {
            fprintf(stderr, "  read record %llu where %llu was expected\n",
                    k < rb->n ? (unsigned long long)rb->ids[k] : 0ULL, (unsigned long long)i);
            return 0;
        }
        k++;
    }
    return k == rb->n;
}

static const struct lc_spool_pos OLDEST = {0, 0};

/* ---- segments and frames on disk ---- */

struct seg_info {
    uint64_t id, bytes, records, first_index;
};

struct seg_list {
    size_t n;
    struct seg_info s[MAX_SEGS];
};

static void each_seg(void *ud, uint64_t id, uint64_t bytes, uint64_t records, uint64_t first)
{
    struct seg_list *l = ud;
    if (l->n < MAX_SEGS) {
        l->s[l->n++] = (struct seg_info){id, bytes, records, first};
    }
}

static void segs_of(struct lc_spool *sp, struct seg_list *l)
{
    l->n = 0;
    lc_spool_each_segment(sp, each_seg, l);
}

struct frame_at {
    uint64_t off;
    uint32_t len;
    uint8_t type, flags;
};

/* Reads a whole file (heap, caller frees). */
static uint8_t *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    if (lc_read_file(path, 1u << 30, &data, len) != 0) {
        return NULL;
    }
    return (uint8_t *)data;
}

/* The frames of a segment file, up to the first that is not whole and sound. */
static size_t frames_of(const char *path, struct frame_at *out, size_t max)
{
    size_t len = 0, pos = LC_SPOOL_SEG_HDR, n = 0, skipped;
    uint8_t *data = slurp(path, &len);
    struct lc_spool_frame f;
    uint64_t id;
    uint32_t seed = 0;
    if (data != NULL) {
        lc_spool_seg_header_check(data, len, &id, &seed);
    }
    while (data != NULL && n < max && pos <= len &&
           lc_spool_frame_next(data, len, &pos, &f, &skipped, seed) == LC_SCAN_FRAME) {
        out[n++] =
            (struct frame_at){(uint64_t)(f.payload - data) - LC_SPOOL_HDR, f.len, f.type, f.flags};
    }
    free(data);
    return n;
}

/* Index in FR of the K-th DATA frame (from 0) with no "LC" in its bytes after the magic
 * (so that a resync after damaging it lands exactly on the next frame), or -1. */
static long clean_data_frame(const char *path, const struct frame_at *fr, size_t n, size_t k)
{
    size_t len;
    uint8_t *data = slurp(path, &len);
    long found = -1;
    for (size_t i = 0, seen = 0; data != NULL && i < n; i++) {
        const uint8_t *p = data + fr[i].off + 1;
        if (fr[i].type != LC_SPOOL_DATA || seen++ < k) {
            continue;
        }
        if (memmem(p, LC_SPOOL_HDR - 1 + fr[i].len, "LC", 2) == NULL) {
            found = (long)i;
            break;
        }
    }
    free(data);
    return found;
}

static int flip_byte(const char *path, uint64_t off, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    int ok = fd >= 0 && pread(fd, &b, 1, (off_t)off) == 1;
    b ^= mask;
    ok = ok && pwrite(fd, &b, 1, (off_t)off) == 1;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* The position KEY of the recovered positions, as text ("" when absent). */
static void position_of(struct lc_spool *sp, const char *key, char *out, size_t cap)
{
    json_t *all = lc_spool_positions(sp);
    const char *v = json_string_value(json_object_get(all, key));
    snprintf(out, cap, "%s", v != NULL ? v : "");
    json_decref(all);
}

/* ---- frames ---------------------------------------------------------------------------- */

#define TS30 "2026-11-22T12:24:43.463703600Z"

TEST(frame_round_trip)
{
    struct lc_buf b;
    struct lc_spool_frame f;
    struct lc_spool_data d;
    const char *k, *v, *json;
    size_t kl, vl, jl, pos = 0, skipped = 99;
    uint32_t id;
    long off[4];
    lc_buf_init(&b, 0);
    off[0] = lc_spool_put_meta(&b, 7, "{\"id\":\"x\"}", 10);
    off[1] = lc_spool_put_data(&b, 7, LC_STREAM_STDERR, -5, TS30, 30, "hello\0world", 11, 1);
    off[2] = lc_spool_put_pos(&b, "c1", 2, "{\"n\":1}", 7);
    off[3] = lc_spool_put_pos(&b, "gone", 4, NULL, 9);
    ASSERT_EQ(off[0], 0);
    ASSERT_EQ(off[1], LC_SPOOL_HDR + 14);
    for (int i = 0; i < 4; i++) {
        ASSERT_TRUE(off[i] >= 0);
        lc_spool_frame_seal((uint8_t *)b.data + off[i], TEST_SEED);
    }
    b.data[off[3] + 3] |= LC_SPOOL_F_TXN_END;
    lc_spool_frame_seal((uint8_t *)b.data + off[3], TEST_SEED); /* the flag is covered by the CRC */

    ASSERT_EQ(lc_spool_frame_next((uint8_t *)b.data, b.len, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_FRAME);
    ASSERT_EQ(skipped, 0);
    ASSERT_EQ(f.type, LC_SPOOL_META);
    ASSERT_EQ(f.flags, 0);
    ASSERT_EQ(lc_spool_meta_decode(&f, &id, &json, &jl), 0);
    ASSERT_EQ(id, 7);
    ASSERT_MEM_EQ(json, jl, "{\"id\":\"x\"}", 10);
    ASSERT_EQ(lc_spool_data_decode(&f, &d), -EINVAL); /* wrong type */

    ASSERT_EQ(lc_spool_frame_next((uint8_t *)b.data, b.len, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_FRAME);
    ASSERT_EQ(f.type, LC_SPOOL_DATA);
    ASSERT_EQ(f.len, LC_SPOOL_DATA_FIXED + 30 + 11);
    ASSERT_EQ(lc_spool_data_decode(&f, &d), 0);
    ASSERT_EQ(d.meta_id, 7);
    ASSERT_EQ(d.ts_ns, -5);
    ASSERT_EQ(d.stream, LC_STREAM_STDERR);
    ASSERT_EQ(d.truncated, 1);
    ASSERT_MEM_EQ(d.ts, d.ts_len, TS30, 30);
    ASSERT_MEM_EQ(d.msg, d.len, "hello\0world", 11);

    ASSERT_EQ(lc_spool_frame_next((uint8_t *)b.data, b.len, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_FRAME);
    ASSERT_EQ(lc_spool_pos_decode(&f, &k, &kl, &v, &vl), 0);
    ASSERT_MEM_EQ(k, kl, "c1", 2);
    ASSERT_MEM_EQ(v, vl, "{\"n\":1}", 7);

    ASSERT_EQ(lc_spool_frame_next((uint8_t *)b.data, b.len, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_FRAME);
    ASSERT_EQ(f.flags, LC_SPOOL_F_TXN_END);
    ASSERT_EQ(lc_spool_pos_decode(&f, &k, &kl, &v, &vl), 0);
    ASSERT_MEM_EQ(k, kl, "gone", 4);
    ASSERT_EQ(vl, 0); /* a delete */

    ASSERT_EQ(pos, b.len);
    ASSERT_EQ(lc_spool_frame_next((uint8_t *)b.data, b.len, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_MORE);
    ASSERT_EQ(pos, b.len);
    lc_buf_close(&b);
}

TEST(frame_encode_limits)
{
    struct lc_buf b, small;
    static char ts[300];
    struct lc_spool_frame f;
    struct lc_spool_data d;
    size_t pos = 0, skipped;
    char *key = lc_xmalloc(70000);
    long rc_key;
    memset(ts, '7', sizeof(ts));
    memset(key, 'k', 70000);
    lc_buf_init(&b, 0);
    lc_buf_init(&small, 20);
    /* a timestamp text longer than a u8 is cut at 255 bytes */
    ASSERT_EQ(lc_spool_put_data(&b, 1, LC_STREAM_STDOUT, 1, ts, sizeof(ts), "m", 1, 0), 0);
    lc_spool_frame_seal((uint8_t *)b.data, TEST_SEED);
    ASSERT_EQ(lc_spool_frame_next((uint8_t *)b.data, b.len, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_FRAME);
    ASSERT_EQ(lc_spool_data_decode(&f, &d), 0);
    ASSERT_EQ(d.ts_len, 255);
    ASSERT_MEM_EQ(d.msg, d.len, "m", 1);
    /* a key longer than a u16, and a buffer at its cap */
    rc_key = lc_spool_put_pos(&b, key, 70000, "v", 1);
    free(key);
    ASSERT_EQ(rc_key, -EINVAL);
    ASSERT_EQ(lc_spool_put_data(&small, 1, 1, 1, "t", 1, "0123456789", 10, 0), -E2BIG);
    ASSERT_EQ(small.len, 0);
    lc_buf_close(&b);
    lc_buf_close(&small);
}

/* One sealed DATA frame with lowercase content only (no "LC" inside it). */
static size_t good_frame(uint8_t *out, size_t cap)
{
    struct lc_buf b;
    size_t n;
    lc_buf_init(&b, 0);
    lc_spool_put_data(&b, 3, LC_STREAM_STDOUT, 0x0102030405060708LL, "ts", 2, "payload bytes", 13,
                      0);
    lc_spool_frame_seal((uint8_t *)b.data, TEST_SEED);
    n = b.len < cap ? b.len : cap;
    memcpy(out, b.data, n);
    lc_buf_close(&b);
    return n;
}

/* Scans BUF: how many BAD results and bytes skipped before the first FRAME (-1: none). */
static int bad_then_frame(const uint8_t *buf, size_t len, size_t *skipped_total, size_t *frame_at)
{
    size_t pos = 0, skipped;
    struct lc_spool_frame f;
    int bads = 0;
    *skipped_total = 0;
    for (;;) {
        size_t at = pos;
        enum lc_scan r = lc_spool_frame_next(buf, len, &pos, &f, &skipped, TEST_SEED);
        if (r == LC_SCAN_FRAME) {
            *frame_at = at;
            return bads;
        }
        if (r == LC_SCAN_MORE) {
            return -1;
        }
        if (pos <= at || skipped != pos - at) {
            return -2; /* no progress or a wrong count */
        }
        bads++;
        *skipped_total += skipped;
    }
}

TEST(frame_damage)
{
    uint8_t fr[128], buf[512];
    size_t n = good_frame(fr, sizeof(fr)), pos, skipped, total, at;
    struct lc_spool_frame f;
    static const char garbage[] = "xxLxLC\x09zzz";
    size_t glen = sizeof(garbage) - 1;

    ASSERT_TRUE(memmem(fr + 1, n - 1, "LC", 2) == NULL);
    /* bad magic: the whole frame is skipped up to the next one */
    memcpy(buf, fr, n);
    memcpy(buf + n, fr, n);
    buf[0] = 'X';
    ASSERT_EQ(bad_then_frame(buf, 2 * n, &total, &at), 1);
    ASSERT_EQ(total, n);
    ASSERT_EQ(at, n);
    /* bad CRC (a payload byte), and a bad CRC field */
    memcpy(buf, fr, n);
    buf[n - 2] ^= 0x20;
    ASSERT_EQ(bad_then_frame(buf, 2 * n, &total, &at), 1);
    ASSERT_EQ(at, n);
    memcpy(buf, fr, n);
    buf[9] ^= 0x01;
    ASSERT_EQ(bad_then_frame(buf, 2 * n, &total, &at), 1);
    /* a flag or type byte changed is caught by the CRC or the type check */
    memcpy(buf, fr, n);
    buf[3] ^= LC_SPOOL_F_TXN_END;
    ASSERT_EQ(bad_then_frame(buf, 2 * n, &total, &at), 1);
    memcpy(buf, fr, n);
    buf[2] = 9;
    ASSERT_EQ(bad_then_frame(buf, 2 * n, &total, &at), 1);
    /* oversize length: damage at once, not a frame to wait for */
    memcpy(buf, fr, n);
    buf[4] = 0xff;
    buf[5] = 0xff;
    buf[6] = 0xff;
    buf[7] = 0x7f;
    pos = 0;
    ASSERT_EQ(lc_spool_frame_next(buf, LC_SPOOL_HDR, &pos, &f, &skipped, TEST_SEED), LC_SCAN_BAD);
    ASSERT_EQ(pos, LC_SPOOL_HDR);
    ASSERT_EQ(bad_then_frame(buf, 2 * n, &total, &at), 1);
    /* a cut header: a prefix of a magic may still become a frame; anything else is damage */
    for (size_t cut = 0; cut < LC_SPOOL_HDR; cut++) {
        pos = 0;
        ASSERT_EQ(lc_spool_frame_next(fr, cut, &pos, &f, &skipped, TEST_SEED), LC_SCAN_MORE);
        ASSERT_EQ(pos, 0);
    }
    pos = 0;
    ASSERT_EQ(lc_spool_frame_next((const uint8_t *)"LX", 2, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_BAD);
    ASSERT_EQ(pos, 2);
    pos = 0;
    ASSERT_EQ(lc_spool_frame_next((const uint8_t *)"zL", 2, &pos, &f, &skipped, TEST_SEED),
              LC_SCAN_BAD);
    ASSERT_EQ(pos, 1); /* the 'L' may start a frame */
    /* a cut payload: wait for more */
    pos = 0;
    ASSERT_EQ(lc_spool_frame_next(fr, n - 1, &pos, &f, &skipped, TEST_SEED), LC_SCAN_MORE);
    ASSERT_EQ(pos, 0);
    /* resync after garbage holding false magics */
    memcpy(buf, garbage, glen);
    memcpy(buf + glen, fr, n);
    ASSERT_EQ(bad_then_frame(buf, glen + n, &total, &at), 2);
    ASSERT_EQ(total, glen);
    ASSERT_EQ(at, glen);
    /* all zeros (a hole left by a crash) */
    memset(buf, 0, 64);
    memcpy(buf + 64, fr, n);
    ASSERT_EQ(bad_then_frame(buf, 64 + n, &total, &at), 1);
    ASSERT_EQ(at, 64);
}

TEST(payload_decoders_reject)
{
    uint8_t p[64] = {0};
    struct lc_spool_frame f = {.type = LC_SPOOL_DATA, .payload = p};
    struct lc_spool_data d;
    const char *k, *v;
    size_t kl, vl;
    uint32_t id;
    f.len = LC_SPOOL_DATA_FIXED - 1;
    ASSERT_EQ(lc_spool_data_decode(&f, &d), -EINVAL);
    f.len = LC_SPOOL_DATA_FIXED;
    p[12] = 3; /* no such stream */
    ASSERT_EQ(lc_spool_data_decode(&f, &d), -EINVAL);
    p[12] = LC_STREAM_STDOUT;
    p[14] = 1; /* ts_len past the payload */
    ASSERT_EQ(lc_spool_data_decode(&f, &d), -EINVAL);
    f.len = LC_SPOOL_DATA_FIXED + 1;
    ASSERT_EQ(lc_spool_data_decode(&f, &d), 0);
    ASSERT_EQ(d.ts_len, 1);
    ASSERT_EQ(d.len, 0);
    f.type = LC_SPOOL_META;
    f.len = 3;
    ASSERT_EQ(lc_spool_meta_decode(&f, &id, &v, &vl), -EINVAL);
    f.type = LC_SPOOL_POS;
    f.len = 1;
    ASSERT_EQ(lc_spool_pos_decode(&f, &k, &kl, &v, &vl), -EINVAL);
    f.len = 10;
    p[0] = 0; /* empty key */
    p[1] = 0;
    ASSERT_EQ(lc_spool_pos_decode(&f, &k, &kl, &v, &vl), -EINVAL);
    p[0] = 9; /* key past the payload */
    ASSERT_EQ(lc_spool_pos_decode(&f, &k, &kl, &v, &vl), -EINVAL);
    p[0] = 8;
    ASSERT_EQ(lc_spool_pos_decode(&f, &k, &kl, &v, &vl), -EINVAL); /* a NUL in the key */
    memcpy(p + 2, "key:one\xff", 8);
    ASSERT_EQ(lc_spool_pos_decode(&f, &k, &kl, &v, &vl), 0);
    ASSERT_EQ(kl, 8);
    ASSERT_EQ(vl, 0);
}

TEST(meta_json_round_trip)
{
    struct lc_meta *m =
        lc_meta_docker_create(ID0, "web-1", "nginx:1.25", "host-a", LABELS0, "shop", "web");
    struct lc_meta *m2 = lc_meta_docker_create(ID1, "db", "", "h", NULL, NULL, NULL), *back, *back2;
    static const char *const bad[] = {
        "[]",     "{}", "{\"id\":5}", "not json", "{\"id\":\"a\"", "{\"id\":\"a\",\"id\":\"b\"}",
        "\"id\"", ""};
    size_t len, len2;
    char *j = lc_spool_meta_to_json(m, &len), *j2 = lc_spool_meta_to_json(m2, &len2);
    back = lc_spool_meta_from_json(j, len);
    back2 = lc_spool_meta_from_json(j2, len2);
    free(j);
    free(j2);
    lc_meta_unref(m);
    lc_meta_unref(m2);
    ASSERT_TRUE(back != NULL && back2 != NULL);
    ASSERT_STR_EQ(back->id, ID0);
    ASSERT_STR_EQ(back->name, "web-1");
    ASSERT_STR_EQ(lc_meta_attr(back, "image"), "nginx:1.25");
    ASSERT_STR_EQ(lc_meta_attr(back, "host"), "host-a");
    ASSERT_STR_EQ(lc_meta_attr(back, "labels"), LABELS0);
    ASSERT_STR_EQ(lc_meta_attr(back, "compose_project"), "shop");
    ASSERT_STR_EQ(lc_meta_attr(back, "compose_service"), "web");
    ASSERT_STR_EQ(back2->name, "db");
    ASSERT_STR_EQ(lc_meta_attr(back2, "image"), "");
    ASSERT_TRUE(lc_meta_attr(back2, "labels") == NULL &&
                lc_meta_attr(back2, "compose_project") == NULL);
    lc_meta_unref(back);
    lc_meta_unref(back2);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lc_meta *x = lc_spool_meta_from_json(bad[i], strlen(bad[i]));
        if (x != NULL) {
            lc_meta_unref(x);
            LC_FAIL_("accepted %s", bad[i]);
        }
    }
    /* only an id: the name falls back to it */
    back = lc_spool_meta_from_json("{\"id\":\"abc\"}", 12);
    ASSERT_TRUE(back != NULL);
    ASSERT_STR_EQ(back->name, "abc");
    lc_meta_unref(back);
}

/* ---- metadata written by earlier versions (format 1) ---------------------------------
 * META payloads' JSON exactly as logcap wrote it before metadata had kinds (issue 9, item 4),
 * produced by that code and pasted here: a spool from before an upgrade must still be read
 * whole, into the same Docker metadata, whose JSON output is what it was. */

#define V1_ID "4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e"

static const char SPOOL_V1_FULL[] =
    "{\"compose_project\":\"shop\",\"compose_service\":\"web\",\"host\":\"node-3\",\"id\":"
    "\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\",\"image\":\"registry."
    "local:5000/shop/"
    "web@sha256:ab12\",\"labels\":{\"com.docker.compose.project\":\"shop\",\"com.docker.compose."
    "service\":\"web\",\"tier\":\"front \\\"x\\\"\"},\"name\":\"shop-web-1\"}";

static const char SPOOL_V1_MINIMAL[] =
    "{\"host\":\"\",\"id\":\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\","
    "\"image\":\"nginx:1.25\",\"name\":\"web-1\"}";

static const char SPOOL_V1_ODD[] =
    "{\"compose_service\":\"s\\n\",\"host\":\"h\xc3"
    "\xb6"
    "st\\t\",\"id\":\"4f2c0e5a9b7d1c3e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e\",\"image\":"
    "\"im\\\"age\\\\\",\"labels\":{\"\xc3"
    "\xa9"
    "\":\"\\u0001\"}}";

static int meta_json_is(const struct lc_meta *m, const char *head, const char *tail)
{
    int ok = m->json_head_len == strlen(head) && memcmp(m->json_head, head, strlen(head)) == 0 &&
             m->json_tail_len == strlen(tail) && memcmp(m->json_tail, tail, strlen(tail)) == 0;
    if (!ok) {
        fprintf(stderr, "  got %.*s | %.*s\n", (int)m->json_head_len, m->json_head,
                (int)m->json_tail_len, m->json_tail);
    }
    return ok;
}

TEST(meta_format1_from_earlier_versions)
{
    struct lc_meta *full = lc_spool_meta_from_json(SPOOL_V1_FULL, sizeof(SPOOL_V1_FULL) - 1);
    struct lc_meta *min = lc_spool_meta_from_json(SPOOL_V1_MINIMAL, sizeof(SPOOL_V1_MINIMAL) - 1);
    struct lc_meta *odd = lc_spool_meta_from_json(SPOOL_V1_ODD, sizeof(SPOOL_V1_ODD) - 1);
    size_t len;
    char *again;
    ASSERT_TRUE(full != NULL && min != NULL && odd != NULL);
    ASSERT_STR_EQ(full->kind, "docker");
    ASSERT_STR_EQ(full->id, V1_ID);
    ASSERT_STR_EQ(full->name, "shop-web-1");
    ASSERT_STR_EQ(lc_meta_attr(full, "image"), "registry.local:5000/shop/web@sha256:ab12");
    ASSERT_STR_EQ(lc_meta_attr(full, "host"), "node-3");
    ASSERT_STR_EQ(lc_meta_attr(full, "compose_project"), "shop");
    ASSERT_STR_EQ(lc_meta_attr(full, "compose_service"), "web");
    ASSERT_TRUE(
        meta_json_is(full,
                     ",\"container_id\":\"" V1_ID "\",\"container_name\":\"shop-web-1\","
                     "\"image\":\"registry.local:5000/shop/web@sha256:ab12\"",
                     ",\"host\":\"node-3\",\"labels\":{\"com.docker.compose.project\":\"shop\","
                     "\"com.docker.compose.service\":\"web\",\"tier\":\"front \\\"x\\\"\"},"
                     "\"compose_project\":\"shop\",\"compose_service\":\"web\""));
    /* The empty host is left out of the output, as it always was. */
    ASSERT_TRUE(lc_meta_attr(min, "host") == NULL);
    ASSERT_TRUE(meta_json_is(min,
                             ",\"container_id\":\"" V1_ID "\",\"container_name\":\"web-1\","
                             "\"image\":\"nginx:1.25\"",
                             ""));
    /* Values format 1 could not hold were left out: the name falls back to the id. */
    ASSERT_STR_EQ(odd->name, V1_ID);
    ASSERT_TRUE(lc_meta_attr(odd, "compose_project") == NULL);
    ASSERT_TRUE(meta_json_is(odd,
                             ",\"container_id\":\"" V1_ID "\",\"container_name\":\"" V1_ID
                             "\",\"image\":\"im\\\"age\\\\\"",
                             ",\"host\":\"h\xc3\xb6st\\t\",\"labels\":{\"\xc3\xa9\":\"\\u0001\"},"
                             "\"compose_service\":\"s\\n\""));
    /* Docker metadata is still written in format 1, byte for byte. */
    again = lc_spool_meta_to_json(full, &len);
    ASSERT_MEM_EQ(again, len, SPOOL_V1_FULL, sizeof(SPOOL_V1_FULL) - 1);
    free(again);
    again = lc_spool_meta_to_json(min, &len);
    ASSERT_MEM_EQ(again, len, SPOOL_V1_MINIMAL, sizeof(SPOOL_V1_MINIMAL) - 1);
    free(again);
    lc_meta_unref(full);
    lc_meta_unref(min);
    lc_meta_unref(odd);
}

/* Metadata of another kind, and Docker metadata format 1 cannot hold, take format 2. */
TEST(meta_format2_round_trip)
{
    const struct lc_attr attrs[] = {
        {"path", "/var/log/app/app.log", LC_ATTR_HEAD},
        {"file_name", "app.log", LC_ATTR_HEAD},
        {"extra", "{\"z\":1,\"a\":[true,null,\"x\"]}", LC_ATTR_JSON},
        {"host", "node-3", 0},
    };
    const struct lc_attr docker_extra[] = {
        {"container_id", "abc", LC_ATTR_HEAD},
        {"container_name", "web", LC_ATTR_HEAD},
        {"image", "nginx", LC_ATTR_HEAD},
        {"zone", "eu", 0},
    };
    static const char *const bad[] = {
        "{\"v\":3,\"kind\":\"file\",\"id\":\"a\",\"attrs\":[]}",
        "{\"v\":\"2\",\"kind\":\"file\",\"id\":\"a\"}",
        "{\"v\":2,\"id\":\"a\",\"attrs\":[]}",
        "{\"v\":2,\"kind\":\"file\",\"id\":\"a\",\"attrs\":{}}",
        "{\"v\":2,\"kind\":\"file\",\"id\":\"a\",\"attrs\":[[\"k\",\"v\"]]}",
        "{\"v\":2,\"kind\":\"file\",\"id\":\"a\",\"attrs\":[[\"k\",5,0]]}",
        "{\"v\":2,\"kind\":\"file\",\"id\":\"a\",\"attrs\":[[\"k\",\"v\",-1]]}",
        "{\"v\":2,\"kind\":\"file\",\"id\":\"a\",\"attrs\":[[1,\"v\",0]]}",
    };
    struct lc_meta *m = lc_meta_create("file", "2049:1234", "app.log", attrs, 4);
    struct lc_meta *d = lc_meta_create("docker", "abc", "web", docker_extra, 4), *back;
    size_t len;
    char *j = lc_spool_meta_to_json(m, &len);
    ASSERT_STR_EQ(j,
                  "{\"v\":2,\"kind\":\"file\",\"id\":\"2049:1234\",\"name\":\"app.log\","
                  "\"attrs\":[[\"path\",\"/var/log/app/app.log\",2],[\"file_name\",\"app.log\",2],"
                  "[\"extra\",{\"z\":1,\"a\":[true,null,\"x\"]},1],[\"host\",\"node-3\",0]]}");
    back = lc_spool_meta_from_json(j, len);
    ASSERT_TRUE(back != NULL && lc_meta_equal(m, back));
    ASSERT_MEM_EQ(back->json_tail, back->json_tail_len, m->json_tail, m->json_tail_len);
    free(j);
    lc_meta_unref(back);
    j = lc_spool_meta_to_json(d, &len);
    ASSERT_TRUE(strncmp(j, "{\"v\":2,\"kind\":\"docker\",", 23) == 0);
    back = lc_spool_meta_from_json(j, len);
    ASSERT_TRUE(back != NULL && lc_meta_equal(d, back));
    free(j);
    lc_meta_unref(back);
    lc_meta_unref(m);
    lc_meta_unref(d);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lc_meta *x = lc_spool_meta_from_json(bad[i], strlen(bad[i]));
        if (x != NULL) {
            lc_meta_unref(x);
            LC_FAIL_("accepted %s", bad[i]);
        }
    }
    /* No attributes and no name: the name is the id. */
    back = lc_spool_meta_from_json("{\"v\":2,\"kind\":\"k\",\"id\":\"a\"}", 27);
    ASSERT_TRUE(back != NULL);
    ASSERT_STR_EQ(back->name, "a");
    ASSERT_EQ(back->n_attrs, 0);
    lc_meta_unref(back);
}

/* A DATA frame with processor fields: they sit between the timestamp and the message, and
 * only a frame with the flag has them (every frame earlier versions wrote has not). */
TEST(data_frame_fields)
{
    const struct lc_attr items[] = {{"level", "warn", 0}, {"n", "{\"a\":[1]}", LC_ATTR_JSON}};
    struct lc_fields *in = lc_fields_create(items, 2), *back;
    struct lc_spool_frame f = {.type = LC_SPOOL_DATA};
    struct lc_spool_data d;
    struct lc_buf b;
    size_t jl;
    char *json = lc_spool_fields_to_json(in, &jl);
    long off;
    uint8_t *p;
    ASSERT_STR_EQ(json, "[[\"level\",\"warn\",0],[\"n\",{\"a\":[1]},1]]");
    lc_buf_init(&b, 0);
    off = lc_spool_put_data_fields(&b, 9, LC_STREAM_STDOUT, 42, TS30, 30, json, jl, "hello\0world",
                                   11, 1);
    ASSERT_EQ(off, 0);
    p = (uint8_t *)b.data + LC_SPOOL_HDR;
    f.payload = p;
    f.len = (uint32_t)(b.len - LC_SPOOL_HDR);
    ASSERT_EQ(f.len, LC_SPOOL_DATA_FIXED + 30 + 4 + jl + 11);
    ASSERT_EQ(p[13], LC_SPOOL_D_TRUNCATED | LC_SPOOL_D_FIELDS);
    ASSERT_EQ(lc_spool_data_decode(&f, &d), 0);
    ASSERT_EQ(d.truncated, 1);
    ASSERT_MEM_EQ(d.ts, d.ts_len, TS30, 30);
    ASSERT_MEM_EQ(d.fields, d.fields_len, json, jl);
    ASSERT_MEM_EQ(d.msg, d.len, "hello\0world", 11);
    back = lc_spool_fields_from_json(d.fields, d.fields_len);
    ASSERT_TRUE(back != NULL && back->n == 2);
    ASSERT_STR_EQ(lc_fields_get(back, "level"), "warn");
    ASSERT_STR_EQ(lc_fields_get(back, "n"), "{\"a\":[1]}");
    ASSERT_MEM_EQ(back->json, back->json_len, in->json, in->json_len);
    lc_fields_free(back);
    /* A length past the payload, or no room for it, is damage. */
    lc_spool_put_u32(p + LC_SPOOL_DATA_FIXED + 30, (uint32_t)(jl + 12));
    ASSERT_EQ(lc_spool_data_decode(&f, &d), -EINVAL);
    lc_spool_put_u32(p + LC_SPOOL_DATA_FIXED + 30, (uint32_t)(jl + 11));
    ASSERT_EQ(lc_spool_data_decode(&f, &d), 0);
    ASSERT_EQ(d.len, 0);
    f.len = LC_SPOOL_DATA_FIXED + 30 + 3;
    ASSERT_EQ(lc_spool_data_decode(&f, &d), -EINVAL);
    /* Without the flag the same bytes are all message. */
    f.len = (uint32_t)(b.len - LC_SPOOL_HDR);
    p[13] = 0;
    ASSERT_EQ(lc_spool_data_decode(&f, &d), 0);
    ASSERT_TRUE(d.fields == NULL && d.fields_len == 0);
    ASSERT_EQ(d.len, 4 + jl + 11);
    /* Fields JSON that is not a list of [key,value,flags] gives none. */
    ASSERT_TRUE(lc_spool_fields_from_json("{}", 2) == NULL);
    ASSERT_TRUE(lc_spool_fields_from_json("[[\"k\"]]", 7) == NULL);
    ASSERT_TRUE(lc_spool_fields_from_json("[[\"k\",", 6) == NULL);
    back = lc_spool_fields_from_json("[]", 2);
    ASSERT_TRUE(back != NULL && back->n == 0 && back->json_len == 0);
    lc_fields_free(back);
    free(json);
    lc_fields_free(in);
    lc_buf_close(&b);
}

TEST(segment_header)
{
    uint8_t h[LC_SPOOL_SEG_HDR];
    uint64_t id = 0;
    uint32_t seed = 0;
    lc_spool_seg_header(h, 0x1122334455667788ULL, 0xdeadbeefu);
    ASSERT_EQ(memcmp(h, "LCSPOOL1", 8), 0);
    ASSERT_EQ(lc_spool_seg_header_check(h, sizeof(h), &id, &seed), 0);
    ASSERT_U64_EQ(id, 0x1122334455667788ULL);
    ASSERT_EQ(seed, 0xdeadbeefu);
    ASSERT_EQ(lc_spool_seg_header_check(h, sizeof(h) - 1, &id, &seed), -EINVAL);
    h[20] ^= 1; /* the seed's second copy no longer agrees */
    ASSERT_EQ(lc_spool_seg_header_check(h, sizeof(h), &id, &seed), -EINVAL);
    ASSERT_EQ(seed, 0xdeadbeefu);
    ASSERT_EQ(lc_spool_seg_seed_other(h) ^ 1u, 0xdeadbeefu ^ 0u);
    h[20] ^= 1;
    h[7] = '2';
    ASSERT_EQ(lc_spool_seg_header_check(h, sizeof(h), &id, &seed), -EINVAL);
}

/* ---- appending and reading ----------------------------------------------------------- */

FX_TEST(append_and_read_across_rotations)
{
    struct lc_spool_recovery rep;
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    struct seg_list *segs = lc_xcalloc(1, sizeof(*segs));
    struct lc_spool_pos end;
    uint64_t end_index, total = 0;
    char v[64];
    size_t nsegs;
    int ok;

    ASSERT_EQ(fx_open(fx, &SMALL, &rep), 0);
    ASSERT_EQ(rep.fresh, 1);
    ASSERT_EQ(lc_spool_fresh(fx->sp), 1);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    lc_spool_set_position(fx->sp, "c2", "{\"x\":1}", 7);
    ASSERT_EQ(append_range(fx, 0, 1500, 10, 1), 0);    /* one append per write */
    lc_spool_set_position(fx->sp, "c2", NULL, 0);      /* deleted in the next append */
    ASSERT_EQ(append_range(fx, 1500, 3000, 10, 0), 0); /* the writer takes several at once */
    ok = wait_written(fx->sp, 3000);
    ASSERT_TRUE(ok);

    lc_spool_stop(fx->sp); /* the writer is done (with a rotation after the last write) */
    lc_spool_end(fx->sp, &end, &end_index);
    ASSERT_U64_EQ(end_index, 3000);
    segs_of(fx->sp, segs);
    nsegs = segs->n;
    ASSERT_TRUE(nsegs >= 20);
    for (size_t i = 0; i < segs->n; i++) {
        char p[128];
        seg_path(fx, segs->s[i].id, p, sizeof(p));
        ASSERT_U64_EQ(segs->s[i].first_index, total);
        ASSERT_U64_EQ(segs->s[i].bytes, file_size(p));
        total += segs->s[i].records;
    }
    ASSERT_U64_EQ(total, 3000);

    read_all(fx->sp, &OLDEST, 0, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_TRUE(ids_are(rb, 3000, UINT64_MAX, 0));
    ASSERT_EQ(rb->skipped, 0);
    ASSERT_U64_EQ(rb->end.seg, end.seg);
    ASSERT_U64_EQ(rb->end.off, end.off);
    ASSERT_U64_EQ(rb->index, 3000);

    /* close and reopen: the same records, seq from 0, the positions of the last append */
    fx_close(fx);
    ASSERT_EQ(fx_open(fx, &SMALL, &rep), 0);
    ASSERT_EQ(rep.fresh, 0);
    ASSERT_U64_EQ(rep.segments, nsegs);
    ASSERT_U64_EQ(rep.records, 3000);
    ASSERT_U64_EQ(rep.torn_bytes, 0);
    ASSERT_U64_EQ(rep.corrupt_records, 0);
    position_of(fx->sp, "c1", v, sizeof(v));
    ASSERT_STR_EQ(v, "{\"n\":3000}");
    position_of(fx->sp, "c2", v, sizeof(v));
    ASSERT_STR_EQ(v, "");
    read_all(fx->sp, &OLDEST, 0, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_TRUE(ids_are(rb, 3000, UINT64_MAX, 0));

    /* appending goes on after a reopen, with the metadata declared again */
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 3000, 3100, 10, 0);
    ok = wait_written(fx->sp, 3100);
    ASSERT_TRUE(ok);
    read_all(fx->sp, &OLDEST, 0, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_TRUE(ids_are(rb, 3100, UINT64_MAX, 0));
    free(rb);
    free(segs);
}

static void big_fill(char *out, size_t len, size_t k)
{
    for (size_t j = 0; j < len; j++) {
        out[j] = (char)((j * 7 + k * 13) & 0xff);
    }
}

/* Records past the scan buffer's default size make it grow and shrink back; recovery and
 * a reader starting after one read through them. */
FX_TEST(records_bigger_than_the_scan_buffer)
{
    static const size_t sizes[] = {
        10, 600u << 10, 20, (3u << 20) + 7, 5, (512u << 10) - 3, (512u << 10) + 20, 1};
    enum { N = sizeof(sizes) / sizeof(sizes[0]) };
    struct lc_spool_recovery rep;
    struct lc_spool_pos ends[N], end;
    char *msg = lc_xmalloc((4u << 20) + 64), *want = lc_xmalloc((4u << 20) + 64);
    struct lc_record *r;
    uint64_t idx;
    int ok = 1;

    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    for (size_t k = 0; k < N; k++) {
        big_fill(msg, sizes[k], k);
        ASSERT_EQ(lc_spool_add(fx->sp, fx->meta[k % 2], 1, (int64_t)k, "t", 1, msg, sizes[k], 0),
                  0);
        if (k % 3 == 2) {
            lc_spool_commit(fx->sp);
        }
    }
    lc_spool_commit(fx->sp);
    ok = wait_written(fx->sp, N);
    ASSERT_TRUE(ok);
    for (int pass = 0; pass < 2; pass++) {
        fx->rd = lc_spool_reader_create(fx->sp, &OLDEST);
        for (size_t k = 0; k < N; k++) {
            ASSERT_EQ(lc_spool_reader_next(fx->rd, &r, &ends[k]), 1);
            big_fill(want, sizes[k], k);
            ok = r->len == sizes[k] && memcmp(r->msg, want, sizes[k]) == 0 && r->seq == k &&
                 strcmp(r->meta->id, k % 2 ? ID1 : ID0) == 0;
            lc_record_destroy(r);
            ASSERT_TRUE(ok);
        }
        ASSERT_EQ(lc_spool_reader_next(fx->rd, &r, &end), 0);
        lc_spool_reader_destroy(fx->rd);
        /* from after the 3 MiB record */
        fx->rd = lc_spool_reader_create(fx->sp, &ends[3]);
        lc_spool_reader_pos(fx->rd, &end, &idx);
        ASSERT_U64_EQ(idx, 4);
        ASSERT_EQ(lc_spool_reader_next(fx->rd, &r, &end), 1);
        ok = r->len == sizes[4] && r->seq == 4;
        lc_record_destroy(r);
        ASSERT_TRUE(ok);
        lc_spool_reader_destroy(fx->rd);
        fx->rd = NULL;
        if (pass == 0) {
            fx_close(fx);
            ASSERT_EQ(fx_open(fx, &BIG, &rep), 0);
            ASSERT_U64_EQ(rep.records, N);
            ASSERT_U64_EQ(rep.corrupt_records + rep.torn_bytes, 0);
        }
    }
    free(msg);
    free(want);
}

FX_TEST(add_too_big)
{
    static const char dummy[1] = {0};
    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0);
    /* the size is checked before the bytes are touched */
    ASSERT_EQ(lc_spool_add(fx->sp, fx->meta[0], 1, 1, "t", 1, dummy, LC_SPOOL_PAYLOAD_MAX, 0),
              -E2BIG);
    ASSERT_EQ(lc_spool_txn_bytes(fx->sp), 0);
    ASSERT_EQ(lc_spool_commit(fx->sp), 0);
}

static int n_segs_is(struct fx *fx, uint64_t n)
{
    struct seg_list *l = lc_xcalloc(1, sizeof(*l));
    int ok;
    segs_of(fx->sp, l);
    ok = l->n == n;
    free(l);
    return ok;
}

/* Reads everything with reader FX->rd and acknowledges it for consumer C. */
static void read_and_ack(struct fx *fx, struct lc_spool_consumer *c, uint64_t *n)
{
    struct lc_record *r;
    struct lc_spool_pos end, pos;
    uint64_t index;
    *n = 0;
    while (lc_spool_reader_next(fx->rd, &r, &end) == 1) {
        lc_record_destroy(r);
        (*n)++;
    }
    lc_spool_reader_pos(fx->rd, &pos, &index);
    lc_spool_consumer_ack(c, &pos, index, 0, 0);
}

FX_TEST(positions_survive_when_only_checkpoints_are_left)
{
    struct lc_spool_recovery rep;
    struct lc_spool_pos pos;
    struct frame_at *fr = lc_xcalloc(MAX_FRAMES, sizeof(*fr));
    struct seg_list *segs = lc_xcalloc(1, sizeof(*segs));
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    char v[64], path[128];
    uint64_t n;
    size_t nf, metas = 0;
    int ok;

    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "out", 1, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    lc_spool_set_position(fx->sp, "old", "{\"k\":1}", 7); /* set once, long ago */
    append_range(fx, 0, 400, 10, 1);
    lc_spool_forget_meta(fx->sp, fx->meta[1]); /* container 1 is gone */
    lc_spool_set_position(fx->sp, "c1", "{\"n\":400}", 9);
    lc_spool_commit(fx->sp);
    ok = wait_written(fx->sp, 400);
    ASSERT_TRUE(ok);
    fx_close(fx);

    /* Reopen (a new segment starts with a checkpoint), read all, move the cursor into the
     * new segment: every older segment goes. */
    ASSERT_EQ(fx_open(fx, &SMALL, &rep), 0);
    ASSERT_U64_EQ(rep.records, 400);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "out", 1, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &pos);
    ASSERT_U64_EQ(pos.seg, 1);
    ASSERT_U64_EQ(pos.off, LC_SPOOL_SEG_HDR);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    fx->rd = lc_spool_reader_create(fx->sp, &pos);
    read_and_ack(fx, fx->cons[0], &n);
    ASSERT_U64_EQ(n, 400);
    ok = wait_for(n_segs_is, fx, 1);
    ASSERT_TRUE(ok);
    segs_of(fx->sp, segs);
    ASSERT_U64_EQ(segs->s[0].records, 0);
    seg_path(fx, 1, path, sizeof(path));
    ASSERT_TRUE(access(path, F_OK) != 0);

    /* The newest segment's checkpoint holds every live position, and no metadata: it was
     * made at open, and this run gives every container a new id, so no recovered one is
     * live (issue 8, item 13; test_spool's metadata_does_not_pile_up_across_restarts
     * checks the checkpoints of rotations). */
    seg_path(fx, segs->s[0].id, path, sizeof(path));
    nf = frames_of(path, fr, MAX_FRAMES);
    ASSERT_TRUE(nf >= 3);
    for (size_t i = 0; i < nf; i++) {
        metas += fr[i].type == LC_SPOOL_META;
        ASSERT_TRUE(fr[i].type != LC_SPOOL_DATA);
        ASSERT_EQ(fr[i].flags, i + 1 == nf ? LC_SPOOL_F_TXN_END : 0);
    }
    ASSERT_EQ(metas, 0);
    fx_close(fx);

    ASSERT_EQ(fx_open(fx, &SMALL, &rep), 0);
    ASSERT_U64_EQ(rep.segments, 1);
    ASSERT_U64_EQ(rep.records, 0);
    position_of(fx->sp, "c1", v, sizeof(v));
    ASSERT_STR_EQ(v, "{\"n\":400}");
    position_of(fx->sp, "old", v, sizeof(v));
    ASSERT_STR_EQ(v, "{\"k\":1}");
    /* and records appended now come out with their metadata */
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 400, 420, 5, 0);
    ok = wait_written(fx->sp, 20);
    ASSERT_TRUE(ok);
    read_all(fx->sp, &OLDEST, 0, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_TRUE(ids_are(rb, 420, UINT64_MAX, 400));
    free(fr);
    free(segs);
    free(rb);
}

/* ---- damage on disk ------------------------------------------------------------------ */

/* Builds a one-segment spool in FX->dir/spool with records 0..N-1 in appends of EVERY and
 * closes it. *CUTS receives the end offset of each append (up to MAXC). Returns the number
 * of appends, or -1. */
static int build_closed(struct fx *fx, uint64_t n, unsigned every, uint64_t *cuts, int maxc)
{
    int k = 0;
    if (fx_open(fx, &BIG, NULL) != 0 || lc_spool_start(fx->sp) != 0) {
        return -1;
    }
    for (uint64_t i = 0; i < n; i += every) {
        struct lc_spool_pos end;
        uint64_t idx;
        append_range(fx, i, i + every < n ? i + every : n, every, 1);
        lc_spool_end(fx->sp, &end, &idx);
        if (k < maxc) {
            cuts[k] = end.off;
        }
        k++;
    }
    fx_close(fx);
    return k;
}

FX_TEST(torn_tail_is_cut_to_the_last_whole_append)
{
    uint64_t cuts[8];
    char path[128], v[64];
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    struct lc_spool_recovery rep;
    int k = build_closed(fx, 30, 10, cuts, 8);
    uint64_t b = cuts[1], c = cuts[2];
    uint64_t at[] = {b + 1, b + 5, b + LC_SPOOL_HDR, b + 20, (b + c) / 2, c - 1};
    char base[160], next[128];

    ASSERT_EQ(k, 3);
    seg_path(fx, 2, next, sizeof(next));
    seg_path(fx, 1, path, sizeof(path));
    ASSERT_EQ(file_size(path), (long)c);
    snprintf(base, sizeof(base), "%s.orig", path);
    ASSERT_EQ(rename(path, base), 0);
    for (size_t t = 0; t < sizeof(at) / sizeof(at[0]); t++) {
        size_t len;
        uint8_t *data = slurp(base, &len);
        int fd;
        ASSERT_TRUE(data != NULL);
        /* the spool as a crash in the middle of the last append left it */
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, data, at[t]), (ssize_t)at[t]);
        close(fd);
        free(data);
        unlink(next); /* the segment the last open started */

        ASSERT_EQ(fx_open(fx, &BIG, &rep), 0);
        ASSERT_U64_EQ(rep.torn_bytes, at[t] - b);
        ASSERT_U64_EQ(rep.corrupt_records, 0);
        ASSERT_U64_EQ(rep.records, 20);
        ASSERT_EQ(file_size(path), (long)b);
        position_of(fx->sp, "c1", v, sizeof(v));
        ASSERT_STR_EQ(v, "{\"n\":20}");
        read_all(fx->sp, &OLDEST, 0, 0, rb);
        ASSERT_EQ(rb->bad, 0);
        ASSERT_TRUE(ids_are(rb, 20, UINT64_MAX, 0));
        fx_close(fx);
    }
    free(rb);
}

/* Builds 50 records in 5 appends, damages the K-th clean DATA frame with (OFF_IN_FRAME,
 * MASK) (OFF_IN_FRAME < 0: from the frame's end), reopens, and checks that only that
 * record is missing, and that the positions stop before its append. */
static void damage_one_record(int *lc_test_failed, struct fx *fx, long off_in_frame, uint8_t mask)
{
    uint64_t cuts[8];
    struct frame_at *fr = lc_xcalloc(MAX_FRAMES, sizeof(*fr));
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    struct lc_spool_recovery rep;
    char path[128], v[64], want[64];
    size_t nf;
    long i, data_before = 0;
    uint64_t victim, off;
    int k = build_closed(fx, 50, 10, cuts, 8);

    seg_path(fx, 1, path, sizeof(path));
    nf = frames_of(path, fr, MAX_FRAMES);
    i = clean_data_frame(path, fr, nf, 23);
    if (k != 5 || i < 0) {
        free(fr);
        free(rb);
        LC_FAIL_("setup: %d appends, frame %ld", k, i);
    }
    for (long j = 0; j < i; j++) {
        data_before += fr[j].type == LC_SPOOL_DATA;
    }
    victim = (uint64_t)data_before;
    off = off_in_frame >= 0 ? fr[i].off + (uint64_t)off_in_frame
                            : fr[i].off + LC_SPOOL_HDR + fr[i].len - (uint64_t)(-off_in_frame);
    ASSERT_TRUE(flip_byte(path, off, mask));

    ASSERT_EQ(fx_open(fx, &BIG, &rep), 0);
    ASSERT_U64_EQ(rep.corrupt_records, 1);
    ASSERT_U64_EQ(rep.corrupt_bytes, LC_SPOOL_HDR + fr[i].len);
    ASSERT_U64_EQ(rep.torn_bytes, 0);
    ASSERT_U64_EQ(rep.records, 49);
    ASSERT_EQ(file_size(path), (long)cuts[4]);
    /* The positions of the damaged append and of the appends after it are not applied
     * (the lost record's container may have lines in them): c1 stays where the last whole
     * append before the damage left it, and its lines are read again from the input. */
    snprintf(want, sizeof(want), "{\"n\":%llu}", (unsigned long long)(victim / 10 * 10));
    position_of(fx->sp, "c1", v, sizeof(v));
    ASSERT_STR_EQ(v, want);
    read_all(fx->sp, &OLDEST, 0, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_EQ(rb->skipped, 1);
    ASSERT_TRUE(ids_are(rb, 50, victim, 0));
    free(fr);
    free(rb);
}

FX_TEST(flipped_payload_byte_costs_one_record)
{
    damage_one_record(lc_test_failed, fx, -3, 0x04);
}

FX_TEST(flipped_length_byte_costs_one_record)
{
    /* the length now points far past the end of the file: damage, not a torn tail */
    damage_one_record(lc_test_failed, fx, 6, 0x01);
}

FX_TEST(shorter_length_costs_one_record)
{
    damage_one_record(lc_test_failed, fx, 4, 0x08);
}

FX_TEST(damaged_meta_gives_unknown_metadata)
{
    uint64_t cuts[8];
    struct frame_at *fr = lc_xcalloc(MAX_FRAMES, sizeof(*fr));
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    struct lc_spool_recovery rep;
    char path[128];
    size_t nf;
    int ok, k = build_closed(fx, 50, 10, cuts, 8);

    ASSERT_EQ(k, 5);
    seg_path(fx, 1, path, sizeof(path));
    nf = frames_of(path, fr, MAX_FRAMES);
    /* a fresh spool's checkpoint holds only the run mark: the next frame declares
     * container 0 */
    ASSERT_TRUE(nf > 3);
    ASSERT_EQ(fr[0].type, LC_SPOOL_POS);
    ASSERT_EQ(fr[0].flags, LC_SPOOL_F_TXN_END);
    ASSERT_U64_EQ(fr[0].off, LC_SPOOL_SEG_HDR);
    ASSERT_EQ(fr[1].type, LC_SPOOL_META);
    ASSERT_TRUE(flip_byte(path, fr[1].off + LC_SPOOL_HDR + 10, 0x01));

    ASSERT_EQ(fx_open(fx, &BIG, &rep), 0);
    ASSERT_U64_EQ(rep.corrupt_records, 1);
    ASSERT_U64_EQ(rep.records, 50);
    read_all(fx->sp, &OLDEST, 0, 1, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_EQ(rb->skipped, 1);
    ASSERT_TRUE(ids_are(rb, 50, UINT64_MAX, 0));
    /* new records of container 0 declare it again and come out right */
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 50, 60, 10, 0);
    ok = wait_written(fx->sp, 60);
    ASSERT_TRUE(ok);
    read_all(fx->sp, &(struct lc_spool_pos){2, 0}, 50, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_TRUE(ids_are(rb, 60, UINT64_MAX, 50));
    free(fr);
    free(rb);
}

/* A line that holds a whole frame (a position with TXN_END, or a record) sealed without the
 * segment's seed: after damage to the frame around it, recovery resynchronises inside the
 * line, and must not take what a container wrote for one of its own frames. */
FX_TEST(a_frame_inside_a_line_is_never_taken)
{
    static const uint32_t guesses[] = {0, 0x5eed1234u, 0xffffffffu};
    struct frame_at *fr = lc_xcalloc(MAX_FRAMES, sizeof(*fr));
    struct lc_spool_recovery rep;
    struct lc_buf evil;
    char path[128], v[64];
    size_t nf, victim = SIZE_MAX;
    int ok;

    lc_buf_init(&evil, 0);
    for (size_t g = 0; g < sizeof(guesses) / sizeof(guesses[0]); g++) {
        size_t at = evil.len;
        long off = lc_spool_put_pos(&evil, "c9", 2, "{\"n\":999}", 9);
        ASSERT_TRUE(off >= 0);
        evil.data[off + 3] |= LC_SPOOL_F_TXN_END;
        lc_spool_frame_seal((uint8_t *)evil.data + at, guesses[g]);
    }
    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 5, 5, 1);
    ASSERT_EQ(lc_spool_add(fx->sp, fx->meta[0], LC_STREAM_STDOUT, rec_ts_ns(5), TS30, 30, evil.data,
                           evil.len, 0),
              0);
    set_pos_n(fx, 6);
    lc_spool_commit(fx->sp);
    ok = wait_written(fx->sp, 6);
    ASSERT_TRUE(ok);
    fx_close(fx);

    /* Damage the magic of the frame that holds the crafted bytes. */
    seg_path(fx, 1, path, sizeof(path));
    nf = frames_of(path, fr, MAX_FRAMES);
    for (size_t i = 0; i < nf; i++) {
        if (fr[i].type == LC_SPOOL_DATA && fr[i].len > evil.len) {
            victim = i;
        }
    }
    ASSERT_TRUE(victim != SIZE_MAX);
    ASSERT_TRUE(flip_byte(path, fr[victim].off, 0x40));

    ASSERT_EQ(fx_open(fx, &BIG, &rep), 0);
    ASSERT_U64_EQ(rep.records, 5);
    ASSERT_TRUE(rep.corrupt_records >= 1);
    position_of(fx->sp, "c1", v, sizeof(v));
    ASSERT_STR_EQ(v, "{\"n\":5}"); /* the damaged append's position is not applied */
    position_of(fx->sp, "c9", v, sizeof(v));
    ASSERT_STR_EQ(v, ""); /* the container's frame was not taken */
    lc_buf_close(&evil);
    free(fr);
}

/* One damaged copy of the seed in a segment header costs nothing: the first frame tells
 * which copy is right. */
FX_TEST(a_damaged_seed_copy_costs_nothing)
{
    static const uint64_t where[] = {16, 22};
    uint64_t cuts[8];
    struct lc_spool_recovery rep;
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    char path[128];
    int k = build_closed(fx, 50, 10, cuts, 8);

    ASSERT_EQ(k, 5);
    seg_path(fx, 1, path, sizeof(path));
    for (size_t w = 0; w < 2; w++) {
        ASSERT_TRUE(flip_byte(path, where[w], 0x10));
        ASSERT_EQ(fx_open(fx, &BIG, &rep), 0);
        ASSERT_U64_EQ(rep.records, 50);
        ASSERT_U64_EQ(rep.corrupt_records, 0);
        read_all(fx->sp, &OLDEST, 0, 0, rb);
        ASSERT_EQ(rb->bad, 0);
        ASSERT_TRUE(ids_are(rb, 50, UINT64_MAX, 0));
        fx_close(fx);
        ASSERT_TRUE(flip_byte(path, where[w], 0x10)); /* undo for the next round */
    }
    free(rb);
}

/* ---- consumers and cursor files ------------------------------------------------------ */

static void cursor_file(const struct fx *fx, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/spool/%s.cursor", fx->dir, name);
}

/* Writes a cursor file by hand: slot (GEN & 1) holds GEN and POS, the other one is empty. */
static int write_cursor(const struct fx *fx, const char *name, uint32_t gen, uint64_t seg,
                        uint64_t off)
{
    uint8_t f[64] = {0}, *s = f + (gen & 1) * 32;
    char path[160];
    uint32_t crc;
    int fd, ok;
    memcpy(s, "LCCU", 4);
    for (int i = 0; i < 4; i++) {
        s[4 + i] = (uint8_t)(gen >> (8 * i));
    }
    for (int i = 0; i < 8; i++) {
        s[8 + i] = (uint8_t)(seg >> (8 * i));
        s[16 + i] = (uint8_t)(off >> (8 * i));
    }
    crc = (uint32_t)crc32(0L, s, 28);
    for (int i = 0; i < 4; i++) {
        s[28 + i] = (uint8_t)(crc >> (8 * i));
    }
    cursor_file(fx, name, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    ok = fd >= 0 && write(fd, f, sizeof(f)) == (ssize_t)sizeof(f);
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static int pos_is(const struct lc_spool_pos *p, uint64_t seg, uint64_t off)
{
    if (p->seg != seg || p->off != off) {
        fprintf(stderr, "  position {%llu, %llu}, expected {%llu, %llu}\n",
                (unsigned long long)p->seg, (unsigned long long)p->off, (unsigned long long)seg,
                (unsigned long long)off);
        return 0;
    }
    return 1;
}

FX_TEST(cursor_files)
{
    struct lc_spool_pos p, p1 = {1, 100}, p2 = {1, 200}, end;
    struct seg_list *segs = lc_xcalloc(1, sizeof(*segs));
    uint8_t f[64];
    char path[160];
    uint64_t idx;
    int fd, slot;

    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 50, 10, 1);
    fx_close(fx);
    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0); /* segments 1 (records) and 2 (active) */
    lc_spool_end(fx->sp, &end, &idx);
    ASSERT_U64_EQ(end.seg, 2);

    /* a new consumer starts at the oldest record or at the end */
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "old", 1, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &p);
    ASSERT_TRUE(pos_is(&p, 1, LC_SPOOL_SEG_HDR));
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "new", 0, &fx->cons[1]), 0);
    lc_spool_consumer_pos(fx->cons[1], &p);
    ASSERT_TRUE(pos_is(&p, end.seg, end.off));
    ASSERT_EQ(lc_spool_cursor_load(lc_spool_dir(fx->sp), "new", &p), 0);
    ASSERT_TRUE(pos_is(&p, end.seg, end.off));
    ASSERT_EQ(lc_spool_cursor_load(lc_spool_dir(fx->sp), "none", &p), -ENOENT);

    /* an acknowledged place is where the consumer reopens */
    ASSERT_EQ(lc_spool_consumer_ack(fx->cons[0], &p1, 10, 0, 1), 0);
    ASSERT_EQ(lc_spool_consumer_ack(fx->cons[0], &p2, 20, 0, 1), 0);
    lc_spool_consumer_close(fx->cons[0]);
    fx->cons[0] = NULL;
    ASSERT_EQ(lc_spool_cursor_load(lc_spool_dir(fx->sp), "old", &p), 0);
    ASSERT_TRUE(pos_is(&p, 1, 200));
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "old", 0, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &p);
    ASSERT_TRUE(pos_is(&p, 1, 200));
    lc_spool_consumer_close(fx->cons[0]);
    fx->cons[0] = NULL;

    /* a torn newer slot: the older one holds */
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "old", 0, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_consumer_ack(fx->cons[0], &p1, 10, 0, 1), 0);
    ASSERT_EQ(lc_spool_consumer_ack(fx->cons[0], &p2, 20, 0, 1), 0);
    lc_spool_consumer_close(fx->cons[0]);
    fx->cons[0] = NULL;
    cursor_file(fx, "old", path, sizeof(path));
    fd = open(path, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(pread(fd, f, sizeof(f), 0), (ssize_t)sizeof(f));
    slot = f[16] == 200 ? 0 : 1; /* the slot holding offset 200 is the newer one */
    ASSERT_EQ(f[slot * 32 + 16], 200);
    ASSERT_EQ(f[(1 - slot) * 32 + 16], 100);
    f[slot * 32 + 20] ^= 0xff;
    ASSERT_EQ(pwrite(fd, f, sizeof(f), 0), (ssize_t)sizeof(f));
    close(fd);
    ASSERT_EQ(lc_spool_cursor_load(lc_spool_dir(fx->sp), "old", &p), 0);
    ASSERT_TRUE(pos_is(&p, 1, 100));
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "old", 0, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &p);
    ASSERT_TRUE(pos_is(&p, 1, 100));
    lc_spool_consumer_close(fx->cons[0]);
    fx->cons[0] = NULL;

    /* both slots damaged: nothing can be trusted, so the consumer starts at the oldest
     * record (sending again rather than losing) */
    fd = open(path, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    memset(f, 0x5a, sizeof(f));
    ASSERT_EQ(pwrite(fd, f, sizeof(f), 0), (ssize_t)sizeof(f));
    close(fd);
    ASSERT_EQ(lc_spool_cursor_load(lc_spool_dir(fx->sp), "old", &p), -EINVAL);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "old", 0, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &p);
    ASSERT_TRUE(pos_is(&p, 1, LC_SPOOL_SEG_HDR));
    lc_spool_consumer_close(fx->cons[0]);
    fx->cons[0] = NULL;

    /* generations wrap: the newer of 0xffffffff and 0 is 0 */
    ASSERT_TRUE(write_cursor(fx, "wrap", 0xffffffffu, 1, 300));
    {
        char wp[160];
        uint8_t w[64], w2[64];
        int wfd;
        cursor_file(fx, "wrap", wp, sizeof(wp));
        wfd = open(wp, O_RDWR);
        ASSERT_TRUE(wfd >= 0);
        ASSERT_EQ(pread(wfd, w, 64, 0), 64);
        close(wfd);
        ASSERT_TRUE(write_cursor(fx, "wrap", 0, 1, 400));
        wfd = open(wp, O_RDWR);
        ASSERT_TRUE(wfd >= 0);
        ASSERT_EQ(pread(wfd, w2, 64, 0), 64);
        memcpy(w2 + 32, w + 32, 32); /* slot 1: gen 0xffffffff, slot 0: gen 0 */
        ASSERT_EQ(pwrite(wfd, w2, 64, 0), 64);
        close(wfd);
        ASSERT_EQ(lc_spool_cursor_load(lc_spool_dir(fx->sp), "wrap", &p), 0);
        ASSERT_TRUE(pos_is(&p, 1, 400));
    }
    fx_close(fx);

    /* clamping: segment 1 is gone (as if deleted), cursors point into it, past the end,
     * past a segment's end and into its header */
    seg_path(fx, 1, path, sizeof(path));
    ASSERT_EQ(unlink(path), 0);
    ASSERT_TRUE(write_cursor(fx, "gone", 5, 1, 500));
    ASSERT_TRUE(write_cursor(fx, "future", 6, 99, 16));
    ASSERT_TRUE(write_cursor(fx, "long", 7, 2, 1ULL << 40));
    ASSERT_TRUE(write_cursor(fx, "head", 8, 2, 4));
    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0); /* segments 2 and 3 */
    segs_of(fx->sp, segs);
    ASSERT_EQ(segs->n, 2);
    ASSERT_U64_EQ(segs->s[0].id, 2);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "gone", 0, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &p);
    ASSERT_TRUE(pos_is(&p, 2, LC_SPOOL_SEG_HDR));
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "future", 0, &fx->cons[1]), 0);
    lc_spool_consumer_pos(fx->cons[1], &p);
    ASSERT_TRUE(pos_is(&p, 3, segs->s[1].bytes));
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "long", 0, &fx->cons[2]), 0);
    lc_spool_consumer_pos(fx->cons[2], &p);
    ASSERT_TRUE(pos_is(&p, 2, segs->s[0].bytes));
    lc_spool_consumer_close(fx->cons[2]);
    fx->cons[2] = NULL;
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "head", 0, &fx->cons[2]), 0);
    lc_spool_consumer_pos(fx->cons[2], &p);
    ASSERT_TRUE(pos_is(&p, 2, LC_SPOOL_SEG_HDR));
    /* the clamped place is written back */
    ASSERT_EQ(lc_spool_cursor_load(lc_spool_dir(fx->sp), "gone", &p), 0);
    ASSERT_TRUE(pos_is(&p, 2, LC_SPOOL_SEG_HDR));
    free(segs);
}

FX_TEST(consumer_reopened_mid_segment_reads_on)
{
    struct lc_spool_pos pos, end;
    struct lc_record *r;
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    uint64_t index, rec_backlog, byte_backlog;
    double age;
    int got = 0;

    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "out", 1, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 100, 10, 1);
    lc_spool_consumer_pos(fx->cons[0], &pos);
    fx->rd = lc_spool_reader_create(fx->sp, &pos);
    for (int i = 0; i < 37; i++) {
        got += lc_spool_reader_next(fx->rd, &r, &end) == 1;
        lc_record_destroy(r);
    }
    ASSERT_EQ(got, 37);
    ASSERT_EQ(lc_spool_consumer_ack(fx->cons[0], &end, 37, 0, 1), 0);
    fx_close(fx);

    /* the consumer reopens at record 37, in the middle of segment 1 */
    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "out", 0, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &pos);
    ASSERT_TRUE(pos_is(&pos, end.seg, end.off));
    fx->rd = lc_spool_reader_create(fx->sp, &pos);
    /* as delivery does at start: the reader's place and index become the cursor's */
    lc_spool_reader_pos(fx->rd, &pos, &index);
    ASSERT_TRUE(pos_is(&pos, end.seg, end.off));
    ASSERT_U64_EQ(index, 37);
    lc_spool_consumer_ack(fx->cons[0], &pos, index, 0, 0);
    lc_spool_consumer_backlog(fx->cons[0], &rec_backlog, &byte_backlog, &age);
    ASSERT_U64_EQ(rec_backlog, 63);
    lc_spool_reader_destroy(fx->rd);
    fx->rd = NULL;
    read_all(fx->sp, &pos, 37, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_TRUE(ids_are(rb, 100, UINT64_MAX, 37));
    free(rb);
}

/* ---- deletion ------------------------------------------------------------------------ */

static int first_seg_is(struct fx *fx, uint64_t id)
{
    struct seg_list *l = lc_xcalloc(1, sizeof(*l));
    int ok;
    segs_of(fx->sp, l);
    ok = l->n > 0 && l->s[0].id == id;
    free(l);
    return ok;
}

FX_TEST(segments_go_once_every_consumer_is_past)
{
    struct seg_list *segs = lc_xcalloc(1, sizeof(*segs));
    struct lc_spool_pos pa, pb = {2, LC_SPOOL_SEG_HDR};
    char path[128];
    uint64_t n, last;
    int ok;

    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "a", 1, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "b", 1, &fx->cons[1]), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 300, 10, 1);
    segs_of(fx->sp, segs);
    ASSERT_TRUE(segs->n >= 6);
    last = segs->s[segs->n - 1].id;

    /* A reads everything; B stays at the start: nothing goes */
    lc_spool_consumer_pos(fx->cons[0], &pa);
    fx->rd = lc_spool_reader_create(fx->sp, &pa);
    read_and_ack(fx, fx->cons[0], &n);
    ASSERT_U64_EQ(n, 300);
    /* B moves into segment 2: segment 1 goes, and only it */
    ASSERT_EQ(lc_spool_consumer_ack(fx->cons[1], &pb, 0, 0, 0), 0);
    ok = wait_for(first_seg_is, fx, 2);
    ASSERT_TRUE(ok);
    segs_of(fx->sp, segs);
    ASSERT_U64_EQ(segs->s[segs->n - 1].id, last);
    ASSERT_U64_EQ(segs->n, last - 1);
    for (uint64_t id = 1; id <= last; id++) {
        seg_path(fx, id, path, sizeof(path));
        ASSERT_EQ(access(path, F_OK) == 0, id >= 2);
    }
    /* B reaches the end too: all but the active segment go */
    lc_spool_consumer_pos(fx->cons[0], &pa);
    ASSERT_EQ(lc_spool_consumer_ack(fx->cons[1], &pa, 300, 0, 0), 0);
    ok = wait_for(n_segs_is, fx, 1);
    ASSERT_TRUE(ok);
    lc_spool_stop(fx->sp);
    for (uint64_t id = 1; id <= last; id++) {
        seg_path(fx, id, path, sizeof(path));
        ASSERT_EQ(access(path, F_OK) == 0, id == last);
    }
    free(segs);
}

FX_TEST(leftover_segments_go_after_a_reopen)
{
    struct lc_spool_pos pos;
    uint64_t n;
    int ok;
    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "a", 1, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 100, 10, 1);
    lc_spool_consumer_pos(fx->cons[0], &pos);
    fx->rd = lc_spool_reader_create(fx->sp, &pos);
    read_and_ack(fx, fx->cons[0], &n);
    ASSERT_U64_EQ(n, 100);
    ok = wait_for(n_segs_is, fx, 1);
    ASSERT_TRUE(ok);
    fx_close(fx);
    /* the segment the cursor is in and the new one; the cursor's segment goes once the
     * consumer moves into the new one */
    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_TRUE(n_segs_is(fx, 2));
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "a", 1, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    lc_spool_consumer_pos(fx->cons[0], &pos);
    fx->rd = lc_spool_reader_create(fx->sp, &pos);
    read_and_ack(fx, fx->cons[0], &n);
    ASSERT_U64_EQ(n, 0);
    ok = wait_for(n_segs_is, fx, 1);
    ASSERT_TRUE(ok);
}

FX_TEST(passed_segments_go_at_start)
{
    struct lc_spool_pos pos;
    int ok;
    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 100, 10, 1);
    fx_close(fx);
    /* the cursor was already in segment 3 when the last run stopped */
    ASSERT_TRUE(write_cursor(fx, "a", 9, 3, LC_SPOOL_SEG_HDR));
    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_TRUE(first_seg_is(fx, 1));
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "a", 0, &fx->cons[0]), 0);
    lc_spool_consumer_pos(fx->cons[0], &pos);
    ASSERT_TRUE(pos_is(&pos, 3, LC_SPOOL_SEG_HDR));
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    ok = wait_for(first_seg_is, fx, 3); /* no ack needed */
    ASSERT_TRUE(ok);
}

/* ---- readers --------------------------------------------------------------------------- */

FX_TEST(reader_waits_for_a_segment_it_cannot_open)
{
    struct spool_cfg ro = SMALL;
    struct seg_list *segs = lc_xcalloc(1, sizeof(*segs));
    struct lc_record *r;
    struct lc_spool_pos end;
    char path[128], saved[160];
    uint64_t n = 0, first;
    int rc;

    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 100, 10, 1);
    fx_close(fx);
    ro.readonly = 1;
    ASSERT_EQ(fx_open(fx, &ro, NULL), 0);
    segs_of(fx->sp, segs);
    ASSERT_TRUE(segs->n >= 3 && segs->s[1].records > 0);
    first = segs->s[0].records;
    /* segment 2 cannot be opened for now (a symlink loop: ELOOP, even for root) */
    seg_path(fx, 2, path, sizeof(path));
    snprintf(saved, sizeof(saved), "%s.saved", path);
    ASSERT_EQ(rename(path, saved), 0);
    ASSERT_EQ(symlink(path, path), 0);
    fx->rd = lc_spool_reader_create(fx->sp, &OLDEST);
    while ((rc = lc_spool_reader_next(fx->rd, &r, &end)) == 1) {
        ASSERT_TRUE(rec_ok(r, n, n));
        lc_record_destroy(r);
        n++;
    }
    ASSERT_EQ(rc, -ELOOP); /* an error to retry, not a segment skipped */
    ASSERT_U64_EQ(n, first);
    ASSERT_EQ(lc_spool_reader_next(fx->rd, &r, &end), -ELOOP);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(rename(saved, path), 0);
    while ((rc = lc_spool_reader_next(fx->rd, &r, &end)) == 1) {
        ASSERT_TRUE(rec_ok(r, n, n));
        lc_record_destroy(r);
        n++;
    }
    ASSERT_EQ(rc, 0);
    ASSERT_U64_EQ(n, 100);
    free(segs);
}

FX_TEST(reader_past_the_end_reads_nothing_old)
{
    struct lc_spool_pos end, pos;
    struct lc_record *r = NULL;
    uint64_t idx;
    ASSERT_EQ(fx_open(fx, &BIG, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 20, 10, 1);
    fx->rd = lc_spool_reader_create(fx->sp, &(struct lc_spool_pos){99, 0});
    ASSERT_EQ(lc_spool_reader_next(fx->rd, &r, &end), 0);
    lc_spool_reader_pos(fx->rd, &pos, &idx);
    ASSERT_U64_EQ(pos.seg, 99);
    lc_record_destroy(r);
}

/* ---- metadata that comes and goes -------------------------------------------------------- */

/* META frames in the checkpoint (the first append) of segment file PATH. */
static size_t checkpoint_metas(const char *path, struct frame_at *fr)
{
    size_t nf = frames_of(path, fr, MAX_FRAMES), metas = 0;
    for (size_t i = 0; i < nf; i++) {
        metas += fr[i].type == LC_SPOOL_META;
        if (fr[i].flags & LC_SPOOL_F_TXN_END) {
            break;
        }
    }
    return metas;
}

/* Each run gives a container a new meta id. The ids of earlier runs are never used again,
 * so no checkpoint carries them and no reader keeps them: with one container, every
 * checkpoint holds at most its one metadata and a reader at most one entry, however many
 * restarts (issue 8, item 13: they piled up, 1, 2, ... 6 after 6 restarts). */
FX_TEST(metadata_does_not_pile_up_across_restarts)
{
    struct frame_at *fr = lc_xcalloc(MAX_FRAMES, sizeof(*fr));
    struct seg_list *segs = lc_xcalloc(1, sizeof(*segs));
    struct lc_record *r;
    struct lc_spool_pos end;
    char path[128], msg[256], ts[48];
    size_t most = 0, live, slots, most_live = 0;
    uint64_t i = 0, n = 0, rotations = 0;
    int ok = 1, rc;

    for (int run = 0; run < 6 && ok; run++) {
        ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
        ASSERT_EQ(lc_spool_start(fx->sp), 0);
        for (uint64_t k = 0; k < 100; k++, i++) {
            size_t len = rec_msg(i, msg), tlen = rec_ts(i, ts);
            lc_spool_add(fx->sp, fx->meta[0], LC_STREAM_STDOUT, rec_ts_ns(i), ts, tlen, msg, len,
                         0);
            if (k % 5 == 4) {
                set_pos_n(fx, i + 1);
                lc_spool_commit(fx->sp);
            }
        }
        ok = wait_written(fx->sp, (uint64_t)(run + 1) * 100);
        fx_close(fx);
    }
    ASSERT_TRUE(ok);
    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    segs_of(fx->sp, segs);
    for (size_t k = 0; k < segs->n; k++) {
        size_t m;
        seg_path(fx, segs->s[k].id, path, sizeof(path));
        m = checkpoint_metas(path, fr);
        most = m > most ? m : most;
        rotations += m == 1;
    }
    fx->rd = lc_spool_reader_create(fx->sp, &OLDEST);
    while ((rc = lc_spool_reader_next(fx->rd, &r, &end)) == 1) {
        ok = ok && strcmp(r->meta->id, ID0) == 0 && rec_number(r) == n;
        lc_record_destroy(r);
        n++;
        lc_spool_reader_meta_stats(fx->rd, &live, &slots);
        most_live = live > most_live ? live : most_live;
    }
    free(fr);
    free(segs);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(ok);
    ASSERT_U64_EQ(n, 600);
    ASSERT_EQ(most, 1);
    ASSERT_EQ(most_live, 1);
    ASSERT_TRUE(rotations >= 6); /* the checkpoints of rotations were looked at */
}

/* A reader's table of metadata follows the live containers: 40,000 containers, each
 * declared, used and forgotten while about 40 others live, in one segment: the table
 * stays small, and every record still gets its own container's metadata (issue 8, item
 * 14: forgotten ids stayed as tombstones and the table doubled to 65,536 slots). */
FX_TEST(reader_table_follows_the_live_containers)
{
    const struct spool_cfg one_segment = {64u << 20, 1u << 30, LC_SYNC_INTERVAL, 1000, 0};
    enum { CONTAINERS = 40000, LIVE = 40 };
    struct lc_meta *live[LIVE];
    uint32_t live_no[LIVE], rng = 7, no;
    size_t n_live = 0, used, slots, most = 0;
    uint64_t written = 0, n = 0, wrong = 0;
    struct lc_record *r;
    struct lc_spool_pos end;
    char id[80], name[16], msg[32];
    int rc, ok = 1;

    ASSERT_EQ(fx_open(fx, &one_segment, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    for (uint32_t c = 0; c < CONTAINERS && ok; c++) {
        size_t v;
        int len;
        snprintf(id, sizeof(id), "%064x", c);
        snprintf(name, sizeof(name), "c%u", c);
        if (n_live == LIVE) { /* one of the live ones goes, in no particular order */
            rng = rng * 1103515245u + 12345u;
            v = (rng >> 8) % LIVE;
            lc_spool_forget_meta(fx->sp, live[v]);
            lc_meta_unref(live[v]);
            live[v] = live[--n_live];
            live_no[v] = live_no[n_live];
        }
        live[n_live] = lc_meta_docker_create(id, name, "img", "host", NULL, NULL, NULL);
        live_no[n_live++] = c;
        for (int k = 0; k < 2; k++) { /* the new one, and one of the others */
            v = k == 0 ? n_live - 1 : (c * 7u) % n_live;
            len = snprintf(msg, sizeof(msg), "m %u", live_no[v]);
            lc_spool_add(fx->sp, live[v], LC_STREAM_STDOUT, rec_ts_ns(c), TS30, 30, msg,
                         (size_t)len, 0);
            written++;
        }
        if (c % 500 == 499) {
            lc_spool_commit(fx->sp);
            ok = wait_written(fx->sp, written);
        }
    }
    for (size_t k = 0; k < n_live; k++) {
        lc_spool_forget_meta(fx->sp, live[k]);
        lc_meta_unref(live[k]);
    }
    lc_spool_commit(fx->sp);
    ok = ok && wait_written(fx->sp, written);
    ASSERT_TRUE(ok);

    fx->rd = lc_spool_reader_create(fx->sp, &OLDEST);
    while ((rc = lc_spool_reader_next(fx->rd, &r, &end)) == 1) {
        snprintf(name, sizeof(name), "c%u", sscanf(r->msg, "m %u", &no) == 1 ? no : 0u);
        wrong += strcmp(r->meta->name, name) != 0;
        lc_record_destroy(r);
        n++;
        lc_spool_reader_meta_stats(fx->rd, &used, &slots);
        most = slots > most ? slots : most;
    }
    lc_spool_reader_meta_stats(fx->rd, &used, &slots);
    ASSERT_EQ(rc, 0);
    ASSERT_U64_EQ(n, written);
    ASSERT_U64_EQ(wrong, 0);
    if (most > 128) {
        LC_FAIL_("the table grew to %zu slots (%zu entries at the end)", most, used);
    }
    ASSERT_EQ(used, 0); /* all forgotten */
}

/* ---- full and room ------------------------------------------------------------------- */

static int room_called(struct fx *fx, uint64_t n)
{
    return (uint64_t)__atomic_load_n(&fx->room, __ATOMIC_ACQUIRE) >= n;
}

FX_TEST(full_at_max_bytes_then_room)
{
    struct spool_cfg c = {4096, 32768, LC_SYNC_INTERVAL, 1000, 0};
    struct lc_spool_snap snap;
    struct lc_spool_pos pos;
    uint64_t i = 0, n;
    int full = 0, ok;

    ASSERT_EQ(fx_open(fx, &c, NULL), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "out", 1, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    while (!full && i < 2000) {
        full = append_range(fx, i, i + 10, 10, 1);
        i += 10;
    }
    ASSERT_EQ(full, 1);
    lc_spool_fill(fx->sp, &snap);
    ASSERT_EQ(snap.full, 1);
    ASSERT_EQ(snap.paused, 1);
    ASSERT_TRUE(snap.bytes >= 32768);
    ASSERT_EQ(room_called(fx, 1), 0);
    ASSERT_EQ(lc_spool_commit(fx->sp), 1); /* still full */

    /* the output reads and acknowledges everything: segments go, room comes back */
    lc_spool_consumer_pos(fx->cons[0], &pos);
    fx->rd = lc_spool_reader_create(fx->sp, &pos);
    read_and_ack(fx, fx->cons[0], &n);
    ASSERT_U64_EQ(n, i);
    ok = wait_for(room_called, fx, 1);
    ASSERT_TRUE(ok);
    lc_spool_fill(fx->sp, &snap);
    ASSERT_EQ(snap.full, 0);
    ASSERT_EQ(snap.paused, 0);
    ASSERT_TRUE(snap.bytes < 32768 - 32768 / 10);
    ASSERT_TRUE(snap.paused_seconds >= 0);
    ASSERT_EQ(lc_spool_commit(fx->sp), 0);
    ASSERT_EQ(append_range(fx, i, i + 10, 10, 1), 0);
}

/* ---- sync modes ---------------------------------------------------------------------- */

static int synced(struct fx *fx, uint64_t n)
{
    struct lc_spool_snap snap;
    lc_spool_fill(fx->sp, &snap);
    return snap.sync_count >= n;
}

static int histogram_ok(const struct lc_spool_snap *s)
{
    for (int i = 1; i < LC_SYNC_BUCKETS; i++) {
        if (s->sync_buckets[i] < s->sync_buckets[i - 1]) {
            return 0;
        }
    }
    return s->sync_buckets[LC_SYNC_BUCKETS - 1] <= s->sync_count && s->sync_seconds_sum >= 0;
}

FX_TEST(sync_modes_keep_every_record)
{
    static const enum lc_sync_mode modes[] = {LC_SYNC_ALWAYS, LC_SYNC_INTERVAL, LC_SYNC_NEVER};
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    for (size_t m = 0; m < 3; m++) {
        struct spool_cfg c = {8192, 64u << 20, modes[m], 20, 0};
        struct lc_spool_snap snap;
        char sub[16];
        int ok;
        snprintf(sub, sizeof(sub), "s%zu", m);
        ASSERT_EQ(fx_open_at(fx, sub, &c, NULL), 0);
        ASSERT_EQ(lc_spool_start(fx->sp), 0);
        append_range(fx, 0, 200, 10, 0);
        ok = wait_written(fx->sp, 200);
        ASSERT_TRUE(ok);
        lc_spool_fill(fx->sp, &snap);
        ASSERT_TRUE(histogram_ok(&snap));
        if (modes[m] == LC_SYNC_ALWAYS) {
            /* every write is synced before readers see it */
            ASSERT_TRUE(snap.sync_count >= 1);
            ASSERT_U64_EQ(snap.sync_buckets[LC_SYNC_BUCKETS - 1] <= snap.sync_count, 1);
        } else if (modes[m] == LC_SYNC_INTERVAL) {
            ok = wait_for(synced, fx, 1);
            ASSERT_TRUE(ok);
        } else {
            ASSERT_U64_EQ(snap.sync_count, 0);
        }
        lc_spool_stop(fx->sp);
        if (modes[m] == LC_SYNC_NEVER) {
            lc_spool_fill(fx->sp, &snap);
            ASSERT_U64_EQ(snap.sync_count, 1); /* a clean stop leaves it durable */
        }
        fx_close(fx);
        ASSERT_EQ(fx_open_at(fx, sub, &c, NULL), 0);
        read_all(fx->sp, &OLDEST, 0, 0, rb);
        ASSERT_EQ(rb->bad, 0);
        ASSERT_TRUE(ids_are(rb, 200, UINT64_MAX, 0));
        fx_close(fx);
    }
    free(rb);
}

FX_TEST(interval_sync_happens_under_steady_load)
{
    struct spool_cfg c = {64u << 20, 1u << 30, LC_SYNC_INTERVAL, 10, 0};
    uint64_t t0, i = 0;
    ASSERT_EQ(fx_open(fx, &c, NULL), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    t0 = lc_now_ms();
    /* the appender never stops: the writer always finds something queued */
    while (!synced(fx, 3) && lc_now_ms() - t0 < DEADLINE_MS / 2) {
        if (append_range(fx, i, i + 10, 10, 0) > 0 && !wait_written(fx->sp, i + 10)) {
            break;
        }
        i += 10;
        if (i > 4000000) {
            break;
        }
    }
    ASSERT_TRUE(synced(fx, 3));
}

/* ---- readonly ------------------------------------------------------------------------ */

/* The names, sizes and contents of the files of a directory, hashed. */
static uint64_t dir_state(const char *dir, int *files)
{
    char cmd[256];
    uint64_t h = LC_HASH_SEED;
    FILE *p;
    char line[512];
    *files = 0;
    snprintf(cmd, sizeof(cmd), "cd %s && ls -1 | sort", dir);
    p = popen(cmd, "r");
    while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
        char path[1024];
        size_t len = 0;
        uint8_t *data;
        line[strcspn(line, "\n")] = '\0';
        snprintf(path, sizeof(path), "%s/%s", dir, line);
        data = slurp(path, &len);
        h = lc_hash64(h, line, strlen(line) + 1);
        h = lc_hash64(h, &len, sizeof(len));
        if (data != NULL) {
            h = lc_hash64(h, data, len);
        }
        free(data);
        (*files)++;
    }
    if (p != NULL) {
        pclose(p);
    }
    return h;
}

FX_TEST(readonly_open_changes_nothing)
{
    struct spool_cfg ro = BIG;
    struct lc_spool_recovery rep;
    struct readback *rb = lc_xcalloc(1, sizeof(*rb));
    uint64_t cuts[8], before, after;
    char dir[128], path[128], missing[160];
    int k = build_closed(fx, 30, 10, cuts, 8), n0, n1;
    struct lc_spool *sp = NULL;
    struct lc_spool_options o = {
        .dir = missing, .segment_bytes = 4096, .max_bytes = 1 << 20, .readonly = 1};

    ASSERT_EQ(k, 3);
    seg_path(fx, 1, path, sizeof(path));
    ASSERT_EQ(truncate(path, (off_t)(cuts[1] + 7)), 0); /* a torn tail */
    snprintf(dir, sizeof(dir), "%s/spool", fx->dir);
    before = dir_state(dir, &n0);
    ro.readonly = 1;
    ASSERT_EQ(fx_open(fx, &ro, &rep), 0);
    ASSERT_U64_EQ(rep.torn_bytes, 7);
    ASSERT_U64_EQ(rep.records, 20);
    ASSERT_EQ(lc_spool_start(fx->sp), -EROFS);
    read_all(fx->sp, &OLDEST, 0, 0, rb);
    ASSERT_EQ(rb->bad, 0);
    ASSERT_TRUE(ids_are(rb, 20, UINT64_MAX, 0));
    fx_close(fx);
    after = dir_state(dir, &n1);
    ASSERT_EQ(n1, n0);
    ASSERT_U64_EQ(after, before);
    ASSERT_EQ(file_size(path), (long)(cuts[1] + 7));

    /* a missing directory is an error, and is not created */
    snprintf(missing, sizeof(missing), "%s/nothing", fx->dir);
    ASSERT_TRUE(lc_spool_open(&o, &sp, NULL) < 0);
    ASSERT_TRUE(access(missing, F_OK) != 0);
    free(rb);
}

/* ---- figures ------------------------------------------------------------------------- */

FX_TEST(backlog_figures)
{
    struct seg_list *segs = lc_xcalloc(1, sizeof(*segs));
    struct lc_spool_pos pos, end;
    struct lc_record *r;
    uint64_t records, bytes, total = 0, expect = 0, idx;
    double age;
    int got = 0;

    ASSERT_EQ(fx_open(fx, &SMALL, NULL), 0);
    ASSERT_EQ(lc_spool_consumer_open(fx->sp, "out", 1, &fx->cons[0]), 0);
    ASSERT_EQ(lc_spool_start(fx->sp), 0);
    append_range(fx, 0, 100, 10, 1);
    segs_of(fx->sp, segs);
    ASSERT_TRUE(segs->n >= 3);
    for (size_t i = 0; i < segs->n; i++) {
        total += segs->s[i].bytes;
    }
    lc_spool_consumer_backlog(fx->cons[0], &records, &bytes, &age);
    ASSERT_U64_EQ(records, 100);
    ASSERT_U64_EQ(bytes, total - LC_SPOOL_SEG_HDR);
    ASSERT_TRUE(age == 0);

    lc_spool_consumer_pos(fx->cons[0], &pos);
    fx->rd = lc_spool_reader_create(fx->sp, &pos);
    for (int i = 0; i < 40; i++) {
        got += lc_spool_reader_next(fx->rd, &r, &end) == 1;
        lc_record_destroy(r);
    }
    ASSERT_EQ(got, 40);
    lc_spool_consumer_ack(fx->cons[0], &end, 40, lc_wall_ns() - 5000000000LL, 0);
    segs_of(fx->sp, segs); /* segments before end.seg may have gone meanwhile */
    for (size_t i = 0; i < segs->n; i++) {
        if (segs->s[i].id > end.seg) {
            expect += segs->s[i].bytes;
        } else if (segs->s[i].id == end.seg) {
            expect += segs->s[i].bytes - end.off;
        }
    }
    lc_spool_consumer_backlog(fx->cons[0], &records, &bytes, &age);
    ASSERT_U64_EQ(records, 60);
    ASSERT_U64_EQ(bytes, expect);
    ASSERT_TRUE(age >= 4.5 && age < 30);

    lc_spool_end(fx->sp, &pos, &idx);
    lc_spool_backlog(fx->sp, &pos, idx, &records, &bytes);
    ASSERT_U64_EQ(records, 0);
    ASSERT_U64_EQ(bytes, 0);
    free(segs);
}

TEST_MAIN(
    TEST_ENTRY(frame_round_trip), TEST_ENTRY(frame_encode_limits), TEST_ENTRY(frame_damage),
    TEST_ENTRY(payload_decoders_reject), TEST_ENTRY(meta_json_round_trip),
    TEST_ENTRY(meta_format1_from_earlier_versions), TEST_ENTRY(meta_format2_round_trip),
    TEST_ENTRY(data_frame_fields), TEST_ENTRY(segment_header),
    TEST_ENTRY(append_and_read_across_rotations), TEST_ENTRY(records_bigger_than_the_scan_buffer),
    TEST_ENTRY(add_too_big), TEST_ENTRY(positions_survive_when_only_checkpoints_are_left),
    TEST_ENTRY(torn_tail_is_cut_to_the_last_whole_append),
    TEST_ENTRY(flipped_payload_byte_costs_one_record),
    TEST_ENTRY(flipped_length_byte_costs_one_record), TEST_ENTRY(shorter_length_costs_one_record),
    TEST_ENTRY(damaged_meta_gives_unknown_metadata),
    TEST_ENTRY(a_frame_inside_a_line_is_never_taken), TEST_ENTRY(a_damaged_seed_copy_costs_nothing),
    TEST_ENTRY(cursor_files), TEST_ENTRY(consumer_reopened_mid_segment_reads_on),
    TEST_ENTRY(segments_go_once_every_consumer_is_past),
    TEST_ENTRY(leftover_segments_go_after_a_reopen), TEST_ENTRY(passed_segments_go_at_start),
    TEST_ENTRY(reader_waits_for_a_segment_it_cannot_open),
    TEST_ENTRY(reader_past_the_end_reads_nothing_old),
    TEST_ENTRY(metadata_does_not_pile_up_across_restarts),
    TEST_ENTRY(reader_table_follows_the_live_containers), TEST_ENTRY(full_at_max_bytes_then_room),
    TEST_ENTRY(sync_modes_keep_every_record), TEST_ENTRY(interval_sync_happens_under_steady_load),
    TEST_ENTRY(readonly_open_changes_nothing), TEST_ENTRY(backlog_figures))
