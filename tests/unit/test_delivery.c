/* test_delivery: the delivery engine over a real spool in a mkdtemp directory (removed after
 * each test), with fake outputs written here: a fake records every send (when, how many
 * records, their seqs, the answer) and every record it accepted, and can be told to answer
 * LC_RETRY or LC_REJECT a number of times, to refuse the records whose message holds a
 * word (lc_send_reject), to hold each send at a gate until the test lets it through, or to
 * fail its init. Every wait is for a condition, with a deadline.
 *
 * Covered: every record once and in order; batch.max_records, batch.max_bytes (a larger
 * record alone, and at once) and batch.max_wait; retries of the same records with growing,
 * capped backoff; retry.max_attempts and LC_REJECT to the dead-letter file; per-record
 * refusals; the cursor across engines; start_at; outputs that do not hold each other back;
 * stop draining the spool, and stop abandoning an output stuck in send; restart of an
 * output's state; dead-letter replay; backlog figures; flushes; the test fault switch. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "delivery/deadletter.h"
#include "delivery/delivery.h"
#include "spool/spool.h"
#include "spool/spool_reader.h"
#include "base/util.h"
#include "outputs/file/file.h"
#include "outputs/output.h"
#include "test.h"

#define MAX_CALLS 1024
#define MAX_GOT 2048
#define WAIT_MS 5000 /* generous deadline for what should happen at once */
#define TS "2026-01-01T00:00:00.000000000Z"

/* ---- the fake output ---- */

struct call {
    uint64_t at_ms; /* when send was entered */
    size_t n;
    uint64_t bytes;
    uint64_t first_seq, last_seq;
    unsigned gen; /* which init's state */
    enum lc_send_result res;
};

struct got {
    uint64_t seq;
    unsigned gen;
    char msg[48];
};

struct fake {
    struct lc_output_config cfg; /* first: init finds its fake from the config it is given */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* broadcast on every change */
    /* what it is told to do */
    int retries;     /* answer LC_RETRY this many more times; -1: always */
    int rejects;     /* answer LC_REJECT this many more times */
    char refuse[32]; /* refuse the records whose message holds this ("": none) */
    int partial;     /* next send: takes this many records, marks them done, LC_RETRY */
    int gate;        /* each send waits for a permit */
    int permits;
    int fail_init;
    int flush_fails; /* fail this many more flushes (-EIO); a failing one closes the gate */
    /* what it saw */
    int waiting; /* a send waits at the gate */
    int inits, destroys, flushes;
    struct call calls[MAX_CALLS];
    size_t n_calls;
    struct got got[MAX_GOT];
    size_t n_got;
};

struct fstate {
    struct fake *f;
    unsigned gen;
};

static int fake_init(void **state, const struct lc_output_config *cfg)
{
    struct fake *f = (struct fake *)((const char *)cfg - offsetof(struct fake, cfg));
    struct fstate *s;
    pthread_mutex_lock(&f->lock);
    if (f->fail_init) {
        pthread_mutex_unlock(&f->lock);
        return -EIO;
    }
    s = lc_xcalloc(1, sizeof(*s));
    s->f = f;
    s->gen = (unsigned)++f->inits;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    *state = s;
    return 0;
}

static void accept_records(struct fake *f, unsigned gen, struct lc_record *const *recs, size_t n,
                           struct lc_send_report *rep)
{
    for (size_t i = 0; i < n; i++) {
        if (f->refuse[0] != '\0' && strstr(recs[i]->msg, f->refuse) != NULL) {
            lc_send_reject(rep, i, "refused: %.20s", recs[i]->msg);
        } else if (f->n_got < MAX_GOT) {
            struct got *g = &f->got[f->n_got++];
            g->seq = recs[i]->seq;
            g->gen = gen;
            snprintf(g->msg, sizeof(g->msg), "%s", recs[i]->msg);
        }
    }
}

static enum lc_send_result fake_send(void *state, struct lc_record *const *recs, size_t n,
                                     struct lc_send_report *rep)
{
    struct fstate *s = state;
    struct fake *f = s->f;
    struct call c = {.at_ms = lc_now_ms(), .n = n, .gen = s->gen, .res = LC_OK};
    pthread_mutex_lock(&f->lock);
    while (f->gate && f->permits == 0) {
        f->waiting = 1;
        pthread_cond_broadcast(&f->cond);
        pthread_cond_wait(&f->cond, &f->lock);
    }
    f->waiting = 0;
    f->permits -= f->gate ? 1 : 0;
    if (f->partial > 0) {
        size_t k = (size_t)f->partial < n ? (size_t)f->partial : n;
        accept_records(f, s->gen, recs, k, rep);
        for (size_t i = 0; i < k; i++) {
            lc_send_done(rep, i);
        }
        f->partial = 0;
        lc_send_why(rep, "the fake took part of it");
        c.res = LC_RETRY;
    } else if (f->rejects > 0) {
        f->rejects--;
        lc_send_why(rep, "rejected by the fake");
        c.res = LC_REJECT;
    } else if (f->retries != 0) {
        f->retries -= f->retries > 0 ? 1 : 0;
        lc_send_why(rep, "the fake is down");
        c.res = LC_RETRY;
    } else {
        accept_records(f, s->gen, recs, n, rep);
    }
    for (size_t i = 0; i < n; i++) {
        c.bytes += recs[i]->len;
    }
    c.first_seq = n > 0 ? recs[0]->seq : 0;
    c.last_seq = n > 0 ? recs[n - 1]->seq : 0;
    if (f->n_calls < MAX_CALLS) {
        f->calls[f->n_calls++] = c;
    }
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    return c.res;
}

/* A failing flush closes the gate, so that the test sees the engine before it sends again. */
static int fake_flush(void *state)
{
    struct fake *f = ((struct fstate *)state)->f;
    int rc = 0;
    pthread_mutex_lock(&f->lock);
    f->flushes++;
    if (f->flush_fails > 0) {
        f->flush_fails--;
        f->gate = 1;
        f->permits = 0;
        rc = -EIO;
    }
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static void fake_destroy(void *state)
{
    struct fstate *s = state;
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->f->lock);
    s->f->destroys++;
    pthread_cond_broadcast(&s->f->cond);
    pthread_mutex_unlock(&s->f->lock);
    free(s);
}

static const struct lc_output_ops fake_ops = {
    .type = "fake",
    .init = fake_init,
    .send = fake_send,
    .flush = fake_flush,
    .destroy = fake_destroy,
};

static struct fake *fake_create(const char *name)
{
    struct fake *f = lc_xcalloc(1, sizeof(*f));
    f->cfg.type = "fake";
    f->cfg.name = (char *)name;
    f->cfg.batch.max_records = 100;
    f->cfg.batch.max_bytes = 1 << 20;
    f->cfg.batch.max_wait_ms = 10;
    f->cfg.retry.backoff_min_ms = 20;
    f->cfg.retry.backoff_max_ms = 80;
    f->cfg.start_oldest = 1;
    pthread_mutex_init(&f->lock, NULL);
    lc_cond_init(&f->cond); /* fake_wait's deadlines are lc_deadline_in's: monotonic */
    return f;
}

static void fake_free(struct fake *f)
{
    if (f != NULL) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->cond);
        free(f);
    }
}

/* Sets a behaviour under the fake's lock (and wakes a send waiting at the gate). */
enum knob { RETRIES, REJECTS, PARTIAL, GATE, PERMITS, FAIL_INIT, FLUSH_FAILS };

static void fake_set(struct fake *f, enum knob k, int v)
{
    pthread_mutex_lock(&f->lock);
    switch (k) {
    case RETRIES:
        f->retries = v;
        break;
    case REJECTS:
        f->rejects = v;
        break;
    case PARTIAL:
        f->partial = v;
        break;
    case GATE:
        f->gate = v;
        break;
    case PERMITS:
        f->permits += v;
        break;
    case FAIL_INIT:
        f->fail_init = v;
        break;
    case FLUSH_FAILS:
        f->flush_fails = v;
        break;
    }
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static void fake_refuse(struct fake *f, const char *word)
{
    pthread_mutex_lock(&f->lock);
    snprintf(f->refuse, sizeof(f->refuse), "%s", word);
    pthread_mutex_unlock(&f->lock);
}

enum what { GOT, CALLS, WAITING, INITS, DESTROYS, FLUSHES };

static uint64_t fake_count_locked(struct fake *f, enum what w)
{
    switch (w) {
    case GOT:
        return f->n_got;
    case CALLS:
        return f->n_calls;
    case WAITING:
        return (uint64_t)f->waiting;
    case INITS:
        return (uint64_t)f->inits;
    case DESTROYS:
        return (uint64_t)f->destroys;
    case FLUSHES:
        return (uint64_t)f->flushes;
    }
    return 0;
}

static uint64_t fake_count(struct fake *f, enum what w)
{
    uint64_t v;
    pthread_mutex_lock(&f->lock);
    v = fake_count_locked(f, w);
    pthread_mutex_unlock(&f->lock);
    return v;
}

/* Waits until the fake's count W is at least WANT. Returns 1, or 0 past MS. */
static int fake_wait(struct fake *f, enum what w, uint64_t want, uint64_t ms)
{
    uint64_t until = lc_now_ms() + ms;
    int ok;
    pthread_mutex_lock(&f->lock);
    while (!(ok = fake_count_locked(f, w) >= want) && lc_now_ms() < until) {
        struct timespec ts;
        lc_deadline_in(&ts, until - lc_now_ms() < 20 ? until - lc_now_ms() : 20);
        pthread_cond_timedwait(&f->cond, &f->lock, &ts);
    }
    pthread_mutex_unlock(&f->lock);
    return ok;
}

static struct call fake_call(struct fake *f, size_t i)
{
    struct call c = {0};
    pthread_mutex_lock(&f->lock);
    if (i < f->n_calls) {
        c = f->calls[i];
    }
    pthread_mutex_unlock(&f->lock);
    return c;
}

/* One step (2 ms) of polling what the fake cannot signal: the engine's figures. */
static void nap(void)
{
    struct timespec ts = {0, 2000000L};
    nanosleep(&ts, NULL);
}

static uint64_t snap_field(struct lc_delivery *dl, size_t i, size_t off)
{
    struct lc_output_snap s;
    uint64_t v;
    memset(&s, 0, sizeof(s));
    lc_delivery_fill(dl, i, &s);
    memcpy(&v, (const char *)&s + off, sizeof(v));
    return v;
}

#define SNAP(field) offsetof(struct lc_output_snap, field)

/* Waits until the figure at OFF of output I is WANT (EQ) or at least WANT. */
static int snap_wait(struct lc_delivery *dl, size_t i, size_t off, uint64_t want, int eq,
                     uint64_t ms)
{
    uint64_t until = lc_now_ms() + ms;
    for (;;) {
        uint64_t v = snap_field(dl, i, off);
        if (eq ? v == want : v >= want) {
            return 1;
        }
        if (lc_now_ms() >= until) {
            return 0;
        }
        nap();
    }
}

static int replay_wait(struct lc_delivery *dl, size_t i, const char *want, uint64_t ms)
{
    uint64_t until = lc_now_ms() + ms, a, b, c;
    const char *state;
    for (;;) {
        lc_delivery_replay_state(dl, i, &state, &a, &b, &c);
        if (strcmp(state, want) == 0) {
            return 1;
        }
        if (lc_now_ms() >= until) {
            return 0;
        }
        nap();
    }
}

/* ---- the real file output, made to fail partway ---- */

/* The file output, but its next FAIL_SENDS sends run with RLIMIT_FSIZE at LIMIT (a write
 * past it is cut short, then fails: the file output answers LC_RETRY after whatever it did
 * before, rotations included), and after each such failure the supervisor asks for a
 * restart of the output, as it does for an output that stalls: the retry then meets a
 * fresh state. */
struct limited {
    struct lc_output_config cfg; /* first: init finds its wrapper from the config */
    struct lc_file_config file;  /* cfg.opts: the file output's options */
    struct lc_delivery *dl;
    int fail_sends;
    rlim_t limit;
    int inits, restarts_asked;
};

struct lstate {
    struct limited *l;
    void *file;
};

static int limited_init(void **state, const struct lc_output_config *cfg)
{
    struct lstate *s = lc_xcalloc(1, sizeof(*s));
    int rc;
    s->l = (struct limited *)((char *)cfg - offsetof(struct limited, cfg));
    rc = lc_output_file.init(&s->file, cfg);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->l->inits++;
    *state = s;
    return 0;
}

static enum lc_send_result limited_send(void *state, struct lc_record *const *recs, size_t n,
                                        struct lc_send_report *rep)
{
    struct lstate *s = state;
    struct limited *l = s->l;
    struct rlimit saved, lim;
    enum lc_send_result res;
    if (l->fail_sends == 0) {
        return lc_output_file.send(s->file, recs, n, rep);
    }
    l->fail_sends--;
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &saved);
    lim = saved;
    lim.rlim_cur = l->limit;
    setrlimit(RLIMIT_FSIZE, &lim);
    res = lc_output_file.send(s->file, recs, n, rep);
    setrlimit(RLIMIT_FSIZE, &saved);
    if (res == LC_RETRY) {
        l->restarts_asked++;
        lc_delivery_restart_output(l->dl, "file");
    }
    return res;
}

static int limited_flush(void *state)
{
    return lc_output_file.flush(((struct lstate *)state)->file);
}

static void limited_destroy(void *state)
{
    struct lstate *s = state;
    if (s != NULL) {
        lc_output_file.destroy(s->file);
        free(s);
    }
}

static const struct lc_output_ops limited_ops = {
    .type = "file",
    .init = limited_init,
    .send = limited_send,
    .flush = limited_flush,
    .destroy = limited_destroy,
};

/* Appends DIR/NAME to B; returns 0 when it is missing. */
static int add_file_to(struct lc_buf *b, const char *dir, const char *name)
{
    char path[300], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (lc_read_file(path, 1 << 24, &text, &len) != 0) {
        return 0;
    }
    lc_buf_add(b, text, len);
    free(text);
    return 1;
}

/* ---- the spool and the engine ---- */

struct h {
    char dir[40];
    struct lc_spool *sp;
    struct lc_delivery *dl;
    struct lc_meta *meta;
    enum lc_sync_mode sync;
    uint64_t sync_ms;  /* sync_interval (0: 1000) */
    uint64_t next;     /* number of the next message */
    uint64_t want_end; /* spool index after everything appended */
};

static int h_open(struct h *h)
{
    struct lc_spool_options opt;
    char spdir[80];
    uint64_t end_index;
    struct lc_spool_pos end;
    if (h->dir[0] == '\0') {
        snprintf(h->dir, sizeof(h->dir), "/tmp/lc_test_delivery_XXXXXX");
        if (mkdtemp(h->dir) == NULL) {
            return -errno;
        }
    }
    snprintf(spdir, sizeof(spdir), "%s/spool", h->dir);
    memset(&opt, 0, sizeof(opt));
    opt.dir = spdir;
    opt.segment_bytes = 1 << 20;
    opt.max_bytes = 64 << 20;
    opt.sync = LC_SYNC_NEVER;
    opt.sync_interval_ms = 1000;
    if (lc_spool_open(&opt, &h->sp, NULL) != 0) {
        return -EIO;
    }
    lc_spool_end(h->sp, &end, &end_index);
    h->want_end = end_index;
    if (h->meta == NULL) {
        h->meta = lc_meta_docker_create(
            "0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123", "web-1", "nginx",
            "host-a", NULL, NULL, NULL);
    }
    h->dl = lc_delivery_create(h->sp, h->dir, h->sync, h->sync_ms > 0 ? h->sync_ms : 1000);
    return 0;
}

static int h_start(struct h *h)
{
    int rc = lc_spool_start(h->sp);
    return rc != 0 ? rc : lc_delivery_start(h->dl);
}

/* Destroys the engine and closes the spool; the directory stays for the next h_open. */
static int h_close(struct h *h)
{
    int rc = lc_delivery_destroy(h->dl);
    h->dl = NULL;
    if (rc == 0) {
        lc_spool_close(h->sp);
        h->sp = NULL;
    }
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void h_free(struct h *h)
{
    if (h->dl != NULL || h->sp != NULL) {
        h_close(h);
    }
    lc_meta_unref(h->meta);
    h->meta = NULL;
    nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Adds a record "r<number><TAG>" padded with '.' to LEN bytes (not committed). */
static void h_add(struct h *h, size_t len, const char *tag)
{
    char msg[8192];
    int k = snprintf(msg, sizeof(msg), "r%06llu%s", (unsigned long long)h->next++, tag);
    size_t l = len > (size_t)k ? len : (size_t)k;
    memset(msg + k, '.', l - (size_t)k);
    lc_spool_add(h->sp, h->meta, LC_STREAM_STDOUT, lc_wall_ns(), TS, strlen(TS), msg, l, 0);
    h->want_end++;
}

/* Appends N records like h_add, in one commit. */
static void h_append(struct h *h, int n, size_t len, const char *tag)
{
    for (int i = 0; i < n; i++) {
        h_add(h, len, tag);
    }
    lc_spool_commit(h->sp);
}

/* Waits until the spool's writer made everything appended readable. */
static int h_written(struct h *h)
{
    uint64_t until = lc_now_ms() + WAIT_MS, idx;
    struct lc_spool_pos end;
    for (;;) {
        lc_spool_end(h->sp, &end, &idx);
        if (idx >= h->want_end) {
            return 1;
        }
        if (lc_now_ms() >= until) {
            return 0;
        }
        lc_spool_wait(h->sp, &end, 100); /* woken by the writer's next write */
    }
}

/* The place in output NAME's cursor file. */
static struct lc_spool_pos h_cursor(struct h *h, const char *name)
{
    struct lc_spool_pos pos = {0, 0};
    char spdir[80];
    snprintf(spdir, sizeof(spdir), "%s/spool", h->dir);
    lc_spool_cursor_load(spdir, name, &pos);
    return pos;
}

static int pos_before(struct lc_spool_pos a, struct lc_spool_pos b)
{
    return a.seg < b.seg || (a.seg == b.seg && a.off < b.off);
}

/* The place just after the first record after FROM ({0, 0} when there is none): a cursor
 * before it has not acknowledged that record. */
static struct lc_spool_pos first_record_end(struct h *h, struct lc_spool_pos from)
{
    struct lc_spool_reader *r = lc_spool_reader_create(h->sp, &from);
    struct lc_spool_pos end = {0, 0};
    struct lc_record *rec = NULL;
    if (lc_spool_reader_next(r, &rec, &end) == 1) {
        lc_record_destroy(rec);
    }
    lc_spool_reader_destroy(r);
    return end;
}

/* Message number of what the fake got at I, or -1. */
static long got_number(struct fake *f, size_t i)
{
    long v = -1;
    pthread_mutex_lock(&f->lock);
    if (i < f->n_got && f->got[i].msg[0] == 'r') {
        v = strtol(f->got[i].msg + 1, NULL, 10);
    }
    pthread_mutex_unlock(&f->lock);
    return v;
}

/* 1 when the fake got exactly the messages FROM..TO-1, in order, with consecutive seqs. */
static int got_exactly(struct fake *f, long from, long to)
{
    int ok;
    pthread_mutex_lock(&f->lock);
    ok = f->n_got == (size_t)(to - from);
    for (size_t i = 0; ok && i < f->n_got; i++) {
        ok = strtol(f->got[i].msg + 1, NULL, 10) == from + (long)i &&
             (i == 0 || f->got[i].seq == f->got[i - 1].seq + 1);
    }
    pthread_mutex_unlock(&f->lock);
    return ok;
}

/* The dead-letter lines of output NAME: how many, and the message number and reason of
 * line I (when I is in range). */
static size_t dead_line(struct h *h, const char *name, size_t i, long *number, char *reason,
                        size_t cap)
{
    char path[200], *text = NULL, *p;
    size_t len = 0, n = 0;
    snprintf(path, sizeof(path), "%s/dead/%s.jsonl", h->dir, name);
    if (lc_read_file(path, 1 << 24, &text, &len) != 0) {
        return 0;
    }
    for (p = text; p < text + len; n++) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t l = nl != NULL ? (size_t)(nl - p + 1) : (size_t)(text + len - p);
        if (n == i) {
            struct lc_record *r = lc_delivery_dead_parse(p, l);
            json_t *o = json_loadb(p, l, JSON_ALLOW_NUL, NULL);
            *number = r != NULL ? strtol(r->msg + 1, NULL, 10) : -1;
            snprintf(reason, cap, "%s", json_string_value(json_object_get(o, "reason")));
            lc_record_destroy(r);
            json_decref(o);
        }
        p += l;
    }
    free(text);
    return n;
}

/* ---- delivery ---- */

TEST(every_record_once_in_order)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    f->cfg.batch.max_records = 7;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    for (int i = 0; i < 10; i++) {
        h_append(&h, 25, 20, "");
    }
    ASSERT_TRUE(fake_wait(f, GOT, 250, WAIT_MS));
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(records), 250, 1, WAIT_MS));
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(bytes)), 250 * 20);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(retries)), 0);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(dead_lettered)), 0);
    for (size_t i = 0; i < f->n_calls; i++) {
        ASSERT_TRUE(f->calls[i].n >= 1 && f->calls[i].n <= 7);
        ASSERT_EQ(f->calls[i].res, LC_OK);
    }
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(got_exactly(f, 0, 250));
    ASSERT_EQ(f->destroys, 1);
    h_free(&h);
    fake_free(f);
}

/* A held send lets records pile up, so the batches are cut by size alone. */
TEST(batch_max_records_and_max_bytes)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    size_t first;
    f->cfg.batch.max_records = 4;
    f->cfg.batch.max_bytes = 1000;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    fake_set(f, GATE, 1);
    h_append(&h, 1, 10, "");
    ASSERT_TRUE(fake_wait(f, WAITING, 1, WAIT_MS));
    h_append(&h, 12, 10, "");
    ASSERT_TRUE(h_written(&h));
    fake_set(f, GATE, 0);
    ASSERT_TRUE(fake_wait(f, GOT, 13, WAIT_MS));
    ASSERT_EQ(f->n_calls, 4);
    for (size_t i = 1; i < 4; i++) {
        ASSERT_EQ(fake_call(f, i).n, 4); /* max_records */
    }
    /* By bytes: 300-byte records three to a batch, a 2500-byte one alone. */
    first = f->n_calls;
    fake_set(f, GATE, 1);
    h_append(&h, 1, 10, "");
    ASSERT_TRUE(fake_wait(f, WAITING, 1, WAIT_MS));
    h_append(&h, 5, 300, "");
    h_append(&h, 1, 2500, "");
    h_append(&h, 2, 300, "");
    ASSERT_TRUE(h_written(&h));
    fake_set(f, GATE, 0);
    ASSERT_TRUE(fake_wait(f, GOT, 22, WAIT_MS));
    ASSERT_EQ(f->n_calls, first + 5);
    ASSERT_EQ(fake_call(f, first + 1).n, 3);
    ASSERT_U64_EQ(fake_call(f, first + 1).bytes, 900);
    ASSERT_EQ(fake_call(f, first + 2).n, 2);
    ASSERT_EQ(fake_call(f, first + 3).n, 1);
    ASSERT_U64_EQ(fake_call(f, first + 3).bytes, 2500);
    ASSERT_EQ(fake_call(f, first + 4).n, 2);
    ASSERT_TRUE(got_exactly(f, 0, 22));
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* A batch already at max_bytes cannot grow: it goes at once, not after max_wait. */
TEST(batch_full_by_bytes_goes_at_once)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    uint64_t t0;
    f->cfg.batch.max_bytes = 1000;
    f->cfg.batch.max_wait_ms = 3000;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    t0 = lc_now_ms();
    h_append(&h, 1, 2000, "");
    ASSERT_TRUE(fake_wait(f, GOT, 1, WAIT_MS));
    ASSERT_TRUE(fake_call(f, 0).at_ms - t0 < 1000);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

TEST(batch_max_wait)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    uint64_t t0, waited;
    f->cfg.batch.max_wait_ms = 300;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    t0 = lc_now_ms();
    h_append(&h, 3, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 3, WAIT_MS));
    ASSERT_EQ(f->n_calls, 1);
    waited = fake_call(f, 0).at_ms - t0;
    ASSERT_TRUE(waited >= 299); /* the first record was read after t0 */
    ASSERT_TRUE(waited < 300 + 500);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* ---- failures ---- */

TEST(retry_sends_the_same_records_and_counts)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_set(f, RETRIES, 3);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 5, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 5, WAIT_MS));
    ASSERT_EQ(f->n_calls, 4);
    for (size_t i = 0; i < 4; i++) {
        struct call c = fake_call(f, i);
        ASSERT_EQ(c.n, 5);
        ASSERT_U64_EQ(c.first_seq, f->got[0].seq);
        ASSERT_U64_EQ(c.last_seq, f->got[4].seq);
        ASSERT_EQ(c.res, i < 3 ? LC_RETRY : LC_OK);
    }
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(retries)), 3);
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(records), 5, 1, WAIT_MS));
    ASSERT_TRUE(got_exactly(f, 0, 5));
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* backoff 20..100 ms with jitter in [B/2, B]: waits of 10-20, 20-40, 40-80, then 50-100
 * every time (uncapped they would be 80-160, 160-320, ...). Loose bounds for slow hosts. */
TEST(backoff_grows_and_is_capped)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    uint64_t gap[8];
    f->cfg.retry.backoff_min_ms = 20;
    f->cfg.retry.backoff_max_ms = 100;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_set(f, RETRIES, 7);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 1, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 1, WAIT_MS));
    ASSERT_EQ(f->n_calls, 8);
    for (size_t i = 1; i < 8; i++) {
        gap[i] = f->calls[i].at_ms - f->calls[i - 1].at_ms;
    }
    ASSERT_TRUE(gap[1] >= 9 && gap[1] < 20 + 60);
    ASSERT_TRUE(gap[2] >= 19);
    ASSERT_TRUE(gap[3] >= 39);
    for (size_t i = 4; i < 8; i++) {
        ASSERT_TRUE(gap[i] >= 49);
        ASSERT_TRUE(gap[i] < 150);
    }
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(retries)), 7);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* backoff_min 0 must not spin: the waits still grow from 1 ms. */
TEST(zero_backoff_min_still_backs_off)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    f->cfg.retry.backoff_min_ms = 0;
    f->cfg.retry.backoff_max_ms = 40;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_set(f, RETRIES, 12);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 1, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 1, WAIT_MS));
    ASSERT_EQ(f->n_calls, 13);
    ASSERT_TRUE(f->calls[12].at_ms - f->calls[0].at_ms >= 100);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

TEST(max_attempts_gives_up_to_the_dead_letter_file)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    char reason[300];
    long num = -1;
    f->cfg.retry.max_attempts = 3;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_set(f, RETRIES, 3);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 2, 10, "");
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(dead_lettered), 2, 1, WAIT_MS));
    h_append(&h, 2, 10, ""); /* delivery goes on */
    ASSERT_TRUE(fake_wait(f, GOT, 2, WAIT_MS));
    ASSERT_TRUE(got_exactly(f, 2, 4));
    ASSERT_EQ(f->n_calls, 4);
    ASSERT_EQ(dead_line(&h, "out", 0, &num, reason, sizeof(reason)), 2);
    ASSERT_EQ(num, 0);
    ASSERT_STR_EQ(reason, "gave up after 3 attempts: the fake is down");
    ASSERT_EQ(dead_line(&h, "out", 1, &num, reason, sizeof(reason)), 2);
    ASSERT_EQ(num, 1);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(dead_letter_records)), 2);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(rejected)), 0);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(retries)), 2);
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(records), 2, 1, WAIT_MS));
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

TEST(reject_dead_letters_the_whole_batch)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    char reason[300];
    long num = -1;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_set(f, REJECTS, 1);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 3, 10, "");
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(dead_lettered), 3, 1, WAIT_MS));
    h_append(&h, 2, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 2, WAIT_MS));
    ASSERT_TRUE(got_exactly(f, 3, 5));
    ASSERT_EQ(dead_line(&h, "out", 2, &num, reason, sizeof(reason)), 3);
    ASSERT_EQ(num, 2);
    ASSERT_STR_EQ(reason, "rejected by the fake");
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(rejected)), 3);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(dead_letter_records)), 3);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(retries)), 0);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

TEST(refused_records_alone_go_to_the_dead_letter_file)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    char reason[300];
    long num = -1;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_refuse(f, "bad");
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 1, 10, "");
    h_append(&h, 1, 10, "bad");
    h_append(&h, 1, 10, "");
    h_append(&h, 1, 10, "bad");
    h_append(&h, 2, 10, "");
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(records), 4, 1, WAIT_MS));
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(dead_lettered), 2, 1, WAIT_MS));
    ASSERT_EQ(got_number(f, 0), 0);
    ASSERT_EQ(got_number(f, 1), 2);
    ASSERT_EQ(got_number(f, 2), 4);
    ASSERT_EQ(got_number(f, 3), 5);
    ASSERT_EQ(dead_line(&h, "out", 0, &num, reason, sizeof(reason)), 2);
    ASSERT_EQ(num, 1);
    ASSERT_STR_EQ(reason, "refused: r000001bad");
    ASSERT_EQ(dead_line(&h, "out", 1, &num, reason, sizeof(reason)), 2);
    ASSERT_EQ(num, 3);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(rejected)), 2);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(dead_letter_records)), 2);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(bytes)), 40);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* An output that delivered part of a batch before it failed marks those records done: the
 * retry sends only the rest, and a batch given up after max_attempts dead-letters only the
 * records not delivered. */
TEST(records_marked_done_are_not_sent_again)
{
    struct h h = {0};
    struct fake *a = fake_create("a"), *b = fake_create("b");
    char reason[300];
    long num = -1;
    b->cfg.retry.max_attempts = 2;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &a->cfg, NULL), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &b->cfg, NULL), 0);
    fake_set(a, PARTIAL, 2);
    fake_set(b, PARTIAL, 2);
    fake_set(b, RETRIES, -1);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 5, 10, "");
    ASSERT_TRUE(fake_wait(a, GOT, 5, WAIT_MS));
    ASSERT_TRUE(snap_wait(h.dl, 1, SNAP(dead_lettered), 3, 1, WAIT_MS));
    ASSERT_EQ(fake_count(a, CALLS), 2);
    ASSERT_EQ(fake_call(a, 0).n, 5);
    ASSERT_EQ(fake_call(a, 1).n, 3);
    ASSERT_U64_EQ(fake_call(a, 1).first_seq, fake_call(a, 0).first_seq + 2);
    ASSERT_TRUE(got_exactly(a, 0, 5));
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(records), 5, 1, WAIT_MS));
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(retries)), 1);
    ASSERT_EQ(fake_count(b, CALLS), 2);
    ASSERT_EQ(fake_call(b, 1).n, 3);
    ASSERT_TRUE(got_exactly(b, 0, 2));
    ASSERT_EQ(dead_line(&h, "b", 0, &num, reason, sizeof(reason)), 3);
    ASSERT_EQ(num, 2);
    ASSERT_STR_EQ(reason, "gave up after 2 attempts: the fake is down");
    ASSERT_EQ(dead_line(&h, "b", 2, &num, reason, sizeof(reason)), 3);
    ASSERT_EQ(num, 4);
    ASSERT_U64_EQ(snap_field(h.dl, 1, SNAP(records)), 2);
    ASSERT_U64_EQ(snap_field(h.dl, 1, SNAP(rejected)), 0);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(a);
    fake_free(b);
}

/* ---- cursor and start_at ---- */

/* The first engine delivers 0-9, then stops while 10-14 keep failing: a fresh engine on the
 * reopened spool sends 10-14 and what comes next, and nothing before. */
TEST(cursor_survives_a_new_engine)
{
    struct h h = {0};
    struct fake *f = fake_create("out"), *g = fake_create("out");
    uint64_t t0;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 10, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 10, WAIT_MS));
    fake_set(f, RETRIES, -1);
    h_append(&h, 5, 10, "");
    ASSERT_TRUE(fake_wait(f, CALLS, fake_count(f, CALLS) + 2, WAIT_MS));
    t0 = lc_now_ms();
    lc_delivery_stop(h.dl, 50); /* retrying: aborted in its backoff */
    ASSERT_TRUE(lc_now_ms() - t0 < 50 + LC_DELIVERY_ABORT_MS);
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(got_exactly(f, 0, 10));

    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &g->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 3, 10, "");
    ASSERT_TRUE(fake_wait(g, GOT, 8, WAIT_MS));
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(got_exactly(g, 10, 18));
    h_free(&h);
    fake_free(f);
    fake_free(g);
}

TEST(start_at_end_unless_oldest)
{
    struct h h = {0};
    struct fake *end = fake_create("at-end"), *old = fake_create("at-oldest");
    end->cfg.start_oldest = 0;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 5, 10, ""); /* before either output existed */
    ASSERT_TRUE(h_written(&h));
    ASSERT_EQ(h_close(&h), 0);

    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &end->cfg, NULL), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &old->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 2, 10, "");
    ASSERT_TRUE(fake_wait(old, GOT, 7, WAIT_MS));
    ASSERT_TRUE(fake_wait(end, GOT, 2, WAIT_MS));
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(got_exactly(old, 0, 7));
    ASSERT_TRUE(got_exactly(end, 5, 7));
    h_free(&h);
    fake_free(end);
    fake_free(old);
}

/* ---- outputs apart ---- */

TEST(stuck_or_failing_output_holds_back_nobody_else)
{
    struct h h = {0};
    struct fake *stuck = fake_create("stuck"), *down = fake_create("down"), *ok = fake_create("ok");
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &stuck->cfg, NULL), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &down->cfg, NULL), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &ok->cfg, NULL), 0);
    fake_set(stuck, GATE, 1);
    fake_set(down, RETRIES, -1);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 5, 10, "");
    ASSERT_TRUE(fake_wait(ok, GOT, 5, WAIT_MS));
    h_append(&h, 5, 10, "");
    ASSERT_TRUE(fake_wait(ok, GOT, 10, WAIT_MS));
    ASSERT_TRUE(fake_wait(stuck, WAITING, 1, WAIT_MS));
    ASSERT_EQ(fake_count(stuck, GOT), 0);
    ASSERT_EQ(fake_count(down, GOT), 0);
    ASSERT_TRUE(snap_field(h.dl, 1, SNAP(retries)) >= 1);
    ASSERT_TRUE(snap_wait(h.dl, 2, SNAP(backlog_records), 0, 1, WAIT_MS));
    ASSERT_TRUE(snap_field(h.dl, 0, SNAP(backlog_records)) >= 5);
    fake_set(stuck, GATE, 0);
    fake_set(down, RETRIES, 0);
    ASSERT_TRUE(fake_wait(stuck, GOT, 10, WAIT_MS));
    ASSERT_TRUE(fake_wait(down, GOT, 10, WAIT_MS));
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(got_exactly(stuck, 0, 10) && got_exactly(down, 0, 10) && got_exactly(ok, 0, 10));
    h_free(&h);
    fake_free(stuck);
    fake_free(down);
    fake_free(ok);
}

/* ---- stop ---- */

/* The daemon's order: the spool is stopped (everything written), then the outputs deliver
 * what it holds, the last partial batch too (max_wait is far away). */
TEST(stop_drains_the_spool)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    uint64_t t0;
    f->cfg.batch.max_records = 7;
    f->cfg.batch.max_wait_ms = 10000;
    h.sync = LC_SYNC_NEVER;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 50, 10, "");
    lc_spool_stop(h.sp);
    t0 = lc_now_ms();
    lc_delivery_stop(h.dl, 5000);
    ASSERT_TRUE(lc_now_ms() - t0 < 2000);
    ASSERT_TRUE(got_exactly(f, 0, 50));
    ASSERT_EQ(f->flushes, 1); /* sync never: once, at the stop */
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(backlog_records)), 0);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* Two outputs stuck in send: stop returns after the timeout and one abort window (not one
 * per output), destroy reports the abandoned threads, and once they are let go a second
 * destroy joins them and frees everything. */
TEST(stop_abandons_outputs_stuck_in_send)
{
    struct h h = {0};
    struct fake *a = fake_create("a"), *b = fake_create("b"), *c = fake_create("c");
    uint64_t t0, took;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &a->cfg, NULL), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &b->cfg, NULL), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &c->cfg, NULL), 0);
    fake_set(a, GATE, 1);
    fake_set(b, GATE, 1);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 3, 10, "");
    ASSERT_TRUE(fake_wait(a, WAITING, 1, WAIT_MS));
    ASSERT_TRUE(fake_wait(b, WAITING, 1, WAIT_MS));
    ASSERT_TRUE(fake_wait(c, GOT, 3, WAIT_MS));
    t0 = lc_now_ms();
    lc_delivery_stop(h.dl, 100);
    took = lc_now_ms() - t0;
    ASSERT_TRUE(took >= 100);
    ASSERT_TRUE(took < 100 + LC_DELIVERY_ABORT_MS + 250);
    ASSERT_EQ(lc_delivery_destroy(h.dl), 1);
    ASSERT_EQ(fake_count(c, DESTROYS), 0); /* nothing was freed */
    fake_set(a, GATE, 0);
    fake_set(b, GATE, 0);
    ASSERT_TRUE(fake_wait(a, GOT, 3, WAIT_MS));
    ASSERT_TRUE(fake_wait(b, GOT, 3, WAIT_MS));
    ASSERT_EQ(lc_delivery_destroy(h.dl), 0);
    h.dl = NULL;
    ASSERT_EQ(a->destroys + b->destroys + c->destroys, 3);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(a);
    fake_free(b);
    fake_free(c);
}

/* ---- restart, replay, figures ---- */

TEST(restart_output_makes_a_fresh_state)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 2, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 2, WAIT_MS));
    ASSERT_EQ(lc_delivery_restart_output(h.dl, "out"), 0);
    ASSERT_EQ(lc_delivery_restart_output(h.dl, "other"), -ENOENT); /* unknown: ignored */
    ASSERT_TRUE(fake_wait(f, INITS, 2, WAIT_MS));
    ASSERT_TRUE(fake_wait(f, DESTROYS, 1, WAIT_MS));
    h_append(&h, 2, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 4, WAIT_MS));
    ASSERT_EQ(f->got[3].gen, 2);
    /* Asked while stuck in send: the restart comes when the send returns. */
    fake_set(f, GATE, 1);
    h_append(&h, 1, 10, "");
    ASSERT_TRUE(fake_wait(f, WAITING, 1, WAIT_MS));
    lc_delivery_restart_output(h.dl, "out");
    fake_set(f, GATE, 0);
    ASSERT_TRUE(fake_wait(f, INITS, 3, WAIT_MS));
    ASSERT_EQ(f->got[4].gen, 2);
    /* A restart whose init fails: sends fail (retried) until an init works. */
    fake_set(f, FAIL_INIT, 1);
    lc_delivery_restart_output(h.dl, "out");
    ASSERT_TRUE(fake_wait(f, DESTROYS, 3, WAIT_MS));
    h_append(&h, 1, 10, "");
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(retries), 2, 0, WAIT_MS));
    ASSERT_EQ(fake_count(f, GOT), 5);
    fake_set(f, FAIL_INIT, 0);
    ASSERT_TRUE(fake_wait(f, GOT, 6, WAIT_MS));
    ASSERT_EQ(f->got[5].gen, 4);
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(got_exactly(f, 0, 6));
    ASSERT_EQ(f->inits, f->destroys);
    h_free(&h);
    fake_free(f);
}

/* A batch whose first records went into files the output rotated away, and which then fails
 * (the file output can cut back what is in a current file, not what was rotated), is
 * retried after the supervisor restarted the output: the fresh state knows nothing of the
 * old one, so what the batch already delivered must be known to the engine. Every record
 * reaches the files exactly once. */
TEST(restart_during_a_partly_delivered_batch_sends_each_record_once)
{
    struct h h = {0};
    struct limited l;
    struct lc_buf want, got;
    char logs[80], name[64];
    int ok, delivered, rc;
    memset(&l, 0, sizeof(l));
    h.sync = LC_SYNC_ALWAYS;
    ASSERT_EQ(h_open(&h), 0);
    snprintf(logs, sizeof(logs), "%s/logs", h.dir);
    l.cfg.type = "file";
    l.cfg.name = "file";
    l.cfg.opts = &l.file;
    l.file.path = logs;
    l.file.format = LC_FILE_FORMAT_TEXT;
    l.file.rotate_bytes = 1000;
    l.file.max_files = 10;
    l.cfg.batch.max_records = 100;
    l.cfg.batch.max_bytes = 1 << 20;
    l.cfg.batch.max_wait_ms = 10;
    l.cfg.retry.backoff_min_ms = 20;
    l.cfg.retry.backoff_max_ms = 80;
    l.cfg.start_oldest = 1;
    l.dl = h.dl;
    l.fail_sends = 1;
    l.limit = 2048;
    ASSERT_EQ(lc_delivery_add_output(h.dl, &limited_ops, &l.cfg, NULL), 0);
    /* One batch: 15 lines of 100 bytes, then one of 3001. The file rotates after lines 0-9
     * and after 10-14; the big line, alone in a fresh file, is cut short at 2048 bytes. */
    lc_buf_init(&want, 0);
    for (int i = 0; i < 16; i++) {
        char msg[16];
        snprintf(msg, sizeof(msg), "r%06d", i);
        h_add(&h, i < 15 ? 99 : 3000, "");
        lc_buf_adds(&want, msg);
        for (size_t k = strlen(msg); k < (i < 15 ? 99u : 3000u); k++) {
            lc_buf_addc(&want, '.');
        }
        lc_buf_addc(&want, '\n');
    }
    lc_spool_commit(h.sp); /* one append: the engine reads it as one batch */
    ASSERT_EQ(h_start(&h), 0);
    delivered = snap_wait(h.dl, 0, SNAP(records), 16, 1, WAIT_MS);
    lc_delivery_stop(h.dl, 1000);
    rc = h_close(&h);
    lc_buf_init(&got, 0);
    for (int k = 10; k >= 1; k--) {
        snprintf(name, sizeof(name), "web-1.log.%d", k);
        add_file_to(&got, logs, name);
    }
    add_file_to(&got, logs, "web-1.log");
    ok = got.len == want.len && memcmp(got.data, want.data, got.len) == 0;
    if (!ok) {
        fprintf(stderr, "  the files hold %zu bytes, %zu expected\n", got.len, want.len);
    }
    lc_buf_close(&got);
    lc_buf_close(&want);
    h_free(&h);
    ASSERT_TRUE(delivered);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(l.restarts_asked, 1);
    ASSERT_EQ(l.inits, 2);
    ASSERT_TRUE(ok);
}

TEST(replay_sends_the_dead_letters_again)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    const char *state;
    uint64_t replayed, refused, in_file;
    char reason[300];
    long num = -1;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_refuse(f, "bad");
    ASSERT_EQ(h_start(&h), 0);
    ASSERT_EQ(lc_delivery_replay_state(h.dl, 0, &state, &replayed, &refused, &in_file), 0);
    ASSERT_STR_EQ(state, "idle");
    ASSERT_EQ(lc_delivery_replay_state(h.dl, 1, &state, &replayed, &refused, &in_file), -ENOENT);
    ASSERT_EQ(lc_delivery_request_replay(h.dl, "nope"), -ENOENT);
    h_append(&h, 1, 10, "bad1");
    h_append(&h, 1, 10, "");
    h_append(&h, 1, 10, "bad2");
    h_append(&h, 1, 10, "bad3");
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(dead_letter_records), 3, 1, WAIT_MS));
    ASSERT_TRUE(fake_wait(f, GOT, 1, WAIT_MS));
    fake_refuse(f, "bad2"); /* the destination takes two of them now */
    ASSERT_EQ(lc_delivery_request_replay(h.dl, "out"), 0);
    ASSERT_TRUE(replay_wait(h.dl, 0, "done", WAIT_MS));
    ASSERT_EQ(lc_delivery_replay_state(h.dl, 0, &state, &replayed, &refused, &in_file), 0);
    ASSERT_U64_EQ(replayed, 2); /* bad1 and bad3 delivered */
    ASSERT_U64_EQ(refused, 1);  /* bad2 refused again, back in the file */
    ASSERT_U64_EQ(in_file, 1);
    ASSERT_EQ(fake_count(f, GOT), 3);
    ASSERT_EQ(got_number(f, 1), 0);
    ASSERT_EQ(got_number(f, 2), 3);
    ASSERT_EQ(dead_line(&h, "out", 0, &num, reason, sizeof(reason)), 1);
    ASSERT_EQ(num, 2);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(dead_letter_records)), 1);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(dead_lettered)), 4);
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(rejected)), 4);
    /* Nothing left to replay but the one: it is refused again. Then none. */
    ASSERT_EQ(lc_delivery_request_replay(h.dl, "out"), 0);
    ASSERT_TRUE(replay_wait(h.dl, 0, "done", WAIT_MS));
    ASSERT_EQ(lc_delivery_replay_state(h.dl, 0, &state, &replayed, &refused, &in_file), 0);
    ASSERT_U64_EQ(replayed, 0);
    ASSERT_U64_EQ(refused, 1);
    fake_refuse(f, "");
    ASSERT_EQ(lc_delivery_request_replay(h.dl, "out"), 0);
    ASSERT_TRUE(replay_wait(h.dl, 0, "done", WAIT_MS));
    ASSERT_EQ(lc_delivery_replay_state(h.dl, 0, &state, &replayed, &refused, &in_file), 0);
    ASSERT_U64_EQ(replayed, 1);
    ASSERT_U64_EQ(refused, 0);
    ASSERT_U64_EQ(in_file, 0);
    ASSERT_EQ(fake_count(f, GOT), 4);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* The backlog shrinks batch by batch as the destination acknowledges. */
TEST(backlog_moves_with_acknowledgements)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    struct lc_output_snap s;
    f->cfg.batch.max_records = 4;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_set(f, GATE, 1);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 10, 10, "");
    ASSERT_TRUE(fake_wait(f, WAITING, 1, WAIT_MS));
    ASSERT_EQ(lc_delivery_fill(h.dl, 0, &s), 0);
    ASSERT_STR_EQ(s.name, "out");
    ASSERT_STR_EQ(s.type, "fake");
    ASSERT_U64_EQ(s.backlog_records, 10);
    ASSERT_TRUE(s.backlog_bytes > 100);
    ASSERT_TRUE(s.oldest_age_s >= 0);
    fake_set(f, PERMITS, 1);
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(backlog_records), 6, 1, WAIT_MS));
    fake_set(f, PERMITS, 1);
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(backlog_records), 2, 1, WAIT_MS));
    fake_set(f, PERMITS, 1);
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(backlog_records), 0, 1, WAIT_MS));
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(backlog_bytes), 0, 1, WAIT_MS));
    ASSERT_EQ(lc_delivery_fill(h.dl, 0, &s), 0);
    ASSERT_TRUE(s.oldest_age_s == 0);
    ASSERT_U64_EQ(s.records, 10);
    ASSERT_EQ(lc_delivery_fill(h.dl, 1, &s), -ENOENT);
    fake_set(f, GATE, 0);
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

/* A resumed output whose cursor is inside a segment, and which cannot deliver: its backlog
 * is what lies after the cursor, not everything since the start of that segment. */
TEST(backlog_counts_from_the_cursor_after_a_restart)
{
    struct h h = {0};
    struct fake *f = fake_create("out"), *g = fake_create("out");
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    h_append(&h, 6, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 6, WAIT_MS));
    fake_set(f, RETRIES, -1);
    h_append(&h, 4, 10, "");
    ASSERT_TRUE(fake_wait(f, CALLS, fake_count(f, CALLS) + 1, WAIT_MS));
    lc_delivery_stop(h.dl, 0);
    ASSERT_EQ(h_close(&h), 0);

    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &g->cfg, NULL), 0);
    fake_set(g, RETRIES, -1);
    ASSERT_EQ(h_start(&h), 0);
    ASSERT_TRUE(fake_wait(g, CALLS, 1, WAIT_MS));
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(backlog_records), 4, 1, WAIT_MS));
    fake_set(g, RETRIES, 0);
    ASSERT_TRUE(fake_wait(g, GOT, 4, WAIT_MS));
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(backlog_records), 0, 1, WAIT_MS));
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(got_exactly(g, 6, 10));
    h_free(&h);
    fake_free(f);
    fake_free(g);
}

TEST(sync_always_flushes_before_every_acknowledgement)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    h.sync = LC_SYNC_ALWAYS;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    for (int i = 0; i < 3; i++) {
        size_t calls = fake_count(f, CALLS);
        h_append(&h, 2, 10, "");
        ASSERT_TRUE(fake_wait(f, CALLS, calls + 1, WAIT_MS));
        ASSERT_TRUE(fake_wait(f, FLUSHES, (uint64_t)(i + 1), WAIT_MS));
    }
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_TRUE(f->flushes >= 3);
    ASSERT_TRUE(got_exactly(f, 0, 6));
    h_free(&h);
    fake_free(f);
}

/* A flush that fails may have lost what the output took since its last successful flush
 * (and a second one could claim success for it: Linux reports a writeback error once). With
 * SYNC, 10 records in batches of 5 are sent, a flush fails: the cursor file must be at the
 * place before them (sync: always: not moved; interval: written back there), and everything
 * after it is sent again. Returns through the ASSERTs. */
static void check_failed_flush(enum lc_sync_mode sync, int *lc_test_failed)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    struct lc_spool_pos start, at_resend, first_end, end;
    size_t k, n_got;
    uint64_t failures;
    int resent, in_order = 1, rc;
    f->cfg.batch.max_records = 5;
    h.sync = sync;
    h.sync_ms = 50;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    fake_set(f, FLUSH_FAILS, 1);
    ASSERT_EQ(h_start(&h), 0);
    start = h_cursor(&h, "out");
    h_append(&h, 10, 10, "");
    /* the failed flush closed the gate: what is sent again waits there */
    resent = fake_wait(f, WAITING, 1, WAIT_MS);
    at_resend = h_cursor(&h, "out");
    first_end = first_record_end(&h, start);
    k = fake_count(f, GOT); /* 5 or 10, as the flush came after one batch or two */
    fake_set(f, GATE, 0);
    fake_wait(f, GOT, k + 10, resent ? WAIT_MS : 0);
    lc_delivery_stop(h.dl, 1000); /* whatever happened, nothing runs past this test */
    failures = snap_field(h.dl, 0, SNAP(flush_failures));
    n_got = fake_count(f, GOT);
    for (size_t i = 0; i < n_got; i++) {
        in_order = in_order && got_number(f, i) == (long)(i < k ? i : i - k);
    }
    rc = h_close(&h);
    end = h_cursor(&h, "out");
    h_free(&h);
    fake_free(f);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(resent);
    ASSERT_TRUE(first_end.off > 0);
    ASSERT_TRUE(pos_before(at_resend, first_end)); /* no record of it acknowledged */
    ASSERT_TRUE(k == 5 || (k == 10 && sync == LC_SYNC_INTERVAL));
    ASSERT_EQ(n_got, k + 10);
    ASSERT_TRUE(in_order);
    ASSERT_U64_EQ(failures, 1);
    ASSERT_TRUE(pos_before(start, end));
}

TEST(sync_always_failed_flush_is_not_acknowledged)
{
    check_failed_flush(LC_SYNC_ALWAYS, lc_test_failed);
}

TEST(sync_interval_failed_flush_sends_again_from_the_last_durable_place)
{
    check_failed_flush(LC_SYNC_INTERVAL, lc_test_failed);
}

/* A restart of the output destroys its state, whose own flush result is lost with it: the
 * engine flushes the old state first, and when that fails, what it covered is sent again
 * (sync: interval, whose sync is an hour away here). */
TEST(restart_flushes_the_old_state_first)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    struct lc_spool_pos start, at_resend, first_end;
    uint64_t until;
    size_t n_got;
    int moved = 0, resent, in_order = 1, inits, rc;
    h.sync = LC_SYNC_INTERVAL;
    h.sync_ms = 3600 * 1000;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
    start = h_cursor(&h, "out");
    h_append(&h, 5, 10, "");
    ASSERT_TRUE(fake_wait(f, GOT, 5, WAIT_MS));
    for (until = lc_now_ms() + WAIT_MS; !moved && lc_now_ms() < until; nap()) {
        moved = pos_before(start, h_cursor(&h, "out")); /* acknowledged, not synced */
    }
    fake_set(f, FLUSH_FAILS, 1);
    lc_delivery_restart_output(h.dl, "out");
    resent = fake_wait(f, WAITING, 1, WAIT_MS); /* the failing flush closed the gate */
    at_resend = h_cursor(&h, "out");
    first_end = first_record_end(&h, start);
    fake_set(f, GATE, 0);
    fake_wait(f, GOT, 10, resent ? WAIT_MS : 0);
    lc_delivery_stop(h.dl, 1000); /* whatever happened, nothing runs past this test */
    n_got = fake_count(f, GOT);
    for (size_t i = 0; i < n_got; i++) {
        in_order = in_order && got_number(f, i) == (long)(i % 5);
    }
    inits = (int)fake_count(f, INITS);
    rc = h_close(&h);
    h_free(&h);
    fake_free(f);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(moved);
    ASSERT_TRUE(resent);
    ASSERT_EQ(inits, 2);
    ASSERT_TRUE(first_end.off > 0);
    ASSERT_TRUE(pos_before(at_resend, first_end));
    ASSERT_EQ(n_got, 10);
    ASSERT_TRUE(in_order);
}

/* ---- the test fault switch ---- */

TEST(fault_switch)
{
    struct h h = {0};
    struct fake *f = fake_create("out");
    char reason[300];
    long num = -1;
    size_t calls;
    ASSERT_EQ(h_open(&h), 0);
    ASSERT_EQ(lc_delivery_add_output(h.dl, &fake_ops, &f->cfg, NULL), 0);
    ASSERT_EQ(h_start(&h), 0);
#ifdef LOGCAP_TEST_HOOKS
    ASSERT_EQ(lc_delivery_fault(h.dl, "nope", "retry", NULL), -ENOENT);
    ASSERT_EQ(lc_delivery_fault(h.dl, "out", "bogus", NULL), -EINVAL);
    /* An outage: the output is not even called, the sends count as retries. */
    ASSERT_EQ(lc_delivery_fault(h.dl, "out", "retry", NULL), 0);
    h_append(&h, 2, 10, "");
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(retries), 2, 0, WAIT_MS));
    ASSERT_EQ(fake_count(f, CALLS), 0);
    ASSERT_EQ(lc_delivery_fault(h.dl, "out", "off", NULL), 0);
    ASSERT_TRUE(fake_wait(f, GOT, 2, WAIT_MS));
    /* Refusals: the output sees the rest, and its own refusals map back to the batch. */
    calls = fake_count(f, CALLS);
    ASSERT_EQ(lc_delivery_fault(h.dl, "out", "reject", "secret"), 0);
    fake_refuse(f, "mine");
    h_add(&h, 10, "");
    h_add(&h, 10, "secret");
    h_add(&h, 10, "mine");
    h_append(&h, 1, 10, "");
    ASSERT_TRUE(snap_wait(h.dl, 0, SNAP(dead_lettered), 2, 1, WAIT_MS));
    ASSERT_TRUE(fake_wait(f, GOT, 4, WAIT_MS));
    ASSERT_EQ(fake_call(f, calls).n, 3);
    ASSERT_EQ(got_number(f, 2), 2);
    ASSERT_EQ(got_number(f, 3), 5);
    ASSERT_EQ(dead_line(&h, "out", 0, &num, reason, sizeof(reason)), 2);
    ASSERT_EQ(num, 3);
    ASSERT_TRUE(strstr(reason, "test fault") != NULL);
    ASSERT_EQ(dead_line(&h, "out", 1, &num, reason, sizeof(reason)), 2);
    ASSERT_EQ(num, 4);
    ASSERT_STR_EQ(reason, "refused: r000004mine");
    ASSERT_U64_EQ(snap_field(h.dl, 0, SNAP(rejected)), 2);
#else
    (void)reason;
    (void)num;
    (void)calls;
    ASSERT_EQ(lc_delivery_fault(h.dl, "out", "retry", NULL), -ENOTSUP);
#endif
    ASSERT_EQ(h_close(&h), 0);
    h_free(&h);
    fake_free(f);
}

TEST_MAIN(TEST_ENTRY(every_record_once_in_order), TEST_ENTRY(batch_max_records_and_max_bytes),
          TEST_ENTRY(batch_full_by_bytes_goes_at_once), TEST_ENTRY(batch_max_wait),
          TEST_ENTRY(retry_sends_the_same_records_and_counts),
          TEST_ENTRY(backoff_grows_and_is_capped), TEST_ENTRY(zero_backoff_min_still_backs_off),
          TEST_ENTRY(max_attempts_gives_up_to_the_dead_letter_file),
          TEST_ENTRY(reject_dead_letters_the_whole_batch),
          TEST_ENTRY(refused_records_alone_go_to_the_dead_letter_file),
          TEST_ENTRY(records_marked_done_are_not_sent_again),
          TEST_ENTRY(cursor_survives_a_new_engine), TEST_ENTRY(start_at_end_unless_oldest),
          TEST_ENTRY(stuck_or_failing_output_holds_back_nobody_else),
          TEST_ENTRY(stop_drains_the_spool), TEST_ENTRY(stop_abandons_outputs_stuck_in_send),
          TEST_ENTRY(restart_output_makes_a_fresh_state),
          TEST_ENTRY(restart_during_a_partly_delivered_batch_sends_each_record_once),
          TEST_ENTRY(replay_sends_the_dead_letters_again),
          TEST_ENTRY(backlog_moves_with_acknowledgements),
          TEST_ENTRY(backlog_counts_from_the_cursor_after_a_restart),
          TEST_ENTRY(sync_always_flushes_before_every_acknowledgement),
          TEST_ENTRY(sync_always_failed_flush_is_not_acknowledged),
          TEST_ENTRY(sync_interval_failed_flush_sends_again_from_the_last_durable_place),
          TEST_ENTRY(restart_flushes_the_old_state_first), TEST_ENTRY(fault_switch))
