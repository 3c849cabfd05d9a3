/* test_pipeline: the in-memory pipeline on a real uv loop with fake outputs. A fake output
 * records every batch it is sent and the records it accepted, and can be told to answer
 * LC_RETRY some number of times (or always), to block in send until released, to fail its
 * flush, or to fail its init. Tested: order and exactly-once delivery to two outputs,
 * commit only after both outputs flushed (checked on every commit_cb), retries counted with
 * the batch re-sent whole, the byte cap and resume, stop delivering what is queued and
 * calling the last commit_cb, stop giving up after its timeout, destroy freeing
 * everything. Waits are for conditions with deadlines, driving the loop meanwhile. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "core/pipeline.h"
#include "core/record.h"
#include "core/util.h"
#include "test.h"

#define MAX_CALLS 4096
#define DEADLINE_MS 10000
#define BIG (64u << 20)

/* ---- the fake output ---------------------------------------------------------------- */

struct call {
    uint64_t first, last;
    size_t n;
};

struct fake {
    struct lc_output_config cfg; /* first member: init finds the fake from its config */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* behaviour, set by the test */
    int init_rc;
    int retry_left; /* answer LC_RETRY to this many sends */
    int retry_forever;
    int reject_left; /* then answer LC_REJECT to this many sends */
    int block;       /* sends wait while set */
    int flush_fail_left;
    /* what it saw */
    int inited, destroyed;
    int blocked_now; /* a send is waiting on BLOCK */
    size_t n_calls;
    struct call calls[MAX_CALLS];
    uint64_t *seqs; /* accepted records, in order */
    int *nums;      /* their line numbers, parsed from the message */
    size_t n_got, cap;
    size_t bad;           /* batches not contiguous, messages not matching */
    uint64_t sent_seq;    /* last accepted */
    uint64_t flushed_seq; /* SENT_SEQ at the last successful flush */
    size_t n_flush, n_flush_ok;
};

static struct fake *fake_create(const char *name)
{
    struct fake *f = lc_xcalloc(1, sizeof(*f));
    f->cfg.type = "fake";
    f->cfg.name = (char *)name;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    return f;
}

static void fake_free(struct fake *f)
{
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->seqs);
    free(f->nums);
    free(f);
}

static int fake_init(void **state, const struct lc_output_config *cfg)
{
    struct fake *f = (struct fake *)cfg;
    pthread_mutex_lock(&f->mu);
    f->inited++;
    pthread_mutex_unlock(&f->mu);
    if (f->init_rc != 0) {
        return f->init_rc;
    }
    *state = f;
    return 0;
}

/* Accepts R: it must be the record after the last accepted one. Lock held. */
static void accept_record(struct fake *f, const struct lc_record *r)
{
    int num = -1;
    if (sscanf(r->msg, "line %d", &num) != 1 || r->len != strlen(r->msg) ||
        r->seq != f->sent_seq + 1) {
        f->bad++;
    }
    if (f->n_got == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->seqs = lc_xrealloc(f->seqs, f->cap * sizeof(*f->seqs));
        f->nums = lc_xrealloc(f->nums, f->cap * sizeof(*f->nums));
    }
    f->seqs[f->n_got] = r->seq;
    f->nums[f->n_got] = num;
    f->n_got++;
    f->sent_seq = r->seq;
}

static enum lc_send_result fake_send(void *state, struct lc_record *const *recs, size_t n)
{
    struct fake *f = state;
    enum lc_send_result res = LC_OK;

    pthread_mutex_lock(&f->mu);
    if (n == 0) {
        f->bad++;
    } else {
        if (f->n_calls < MAX_CALLS) {
            f->calls[f->n_calls] = (struct call){recs[0]->seq, recs[n - 1]->seq, n};
        }
        for (size_t i = 1; i < n; i++) {
            if (recs[i]->seq != recs[0]->seq + i) {
                f->bad++;
            }
        }
    }
    f->n_calls++;
    while (f->block) {
        f->blocked_now = 1;
        pthread_cond_wait(&f->cv, &f->mu);
    }
    f->blocked_now = 0;
    if (f->retry_forever || f->retry_left > 0) {
        if (f->retry_left > 0) {
            f->retry_left--;
        }
        res = LC_RETRY;
    } else if (f->reject_left > 0) {
        f->reject_left--;
        f->sent_seq = recs[n - 1]->seq; /* dead-lettered: the next batch follows it */
        res = LC_REJECT;
    } else {
        for (size_t i = 0; i < n; i++) {
            accept_record(f, recs[i]);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return res;
}

static int fake_flush(void *state)
{
    struct fake *f = state;
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    f->n_flush++;
    if (f->flush_fail_left > 0) {
        f->flush_fail_left--;
        rc = -EIO;
    } else {
        f->flushed_seq = f->sent_seq;
        f->n_flush_ok++;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static void fake_destroy(void *state)
{
    struct fake *f = state;
    if (f == NULL) {
        return;
    }
    pthread_mutex_lock(&f->mu);
    f->destroyed++;
    pthread_mutex_unlock(&f->mu);
}

static const struct lc_output_ops fake_ops = {
    .type = "fake",
    .init = fake_init,
    .send = fake_send,
    .flush = fake_flush,
    .destroy = fake_destroy,
};

static void fake_release(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->block = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* The counters of F, read under its lock (which also makes the arrays it filled so far
 * safe to read from the test thread). */
struct snap {
    int blocked_now;
    size_t n_calls, n_got, n_flush, n_flush_ok;
    uint64_t flushed_seq;
};

static struct snap fake_snap(struct fake *f)
{
    struct snap s;
    pthread_mutex_lock(&f->mu);
    s.blocked_now = f->blocked_now;
    s.n_calls = f->n_calls;
    s.n_got = f->n_got;
    s.n_flush = f->n_flush;
    s.n_flush_ok = f->n_flush_ok;
    s.flushed_seq = f->flushed_seq;
    pthread_mutex_unlock(&f->mu);
    return s;
}

/* ---- the harness: a loop, a pipeline, its callbacks --------------------------------- */

struct h {
    uv_loop_t loop;
    uv_timer_t tick; /* wakes uv_run(UV_RUN_ONCE) so waits can check their deadline */
    struct lc_pipeline *p;
    struct fake *fakes[2];
    size_t n_fakes;
    size_t max_bytes;
    struct lc_meta *meta;
    int next_num;
    /* commit_cb */
    uint64_t last_commit;
    size_t n_commits;
    size_t commit_violations; /* not increasing, or ahead of an output's flush */
    /* resume_cb */
    size_t n_resumes;
    size_t resume_violations; /* queue not below half */
};

static void on_commit(void *ud, uint64_t seq)
{
    struct h *h = ud;
    if (seq <= h->last_commit) {
        h->commit_violations++;
    }
    for (size_t i = 0; i < h->n_fakes; i++) {
        if (seq > fake_snap(h->fakes[i]).flushed_seq) {
            h->commit_violations++;
        }
    }
    h->last_commit = seq;
    h->n_commits++;
}

static void on_resume(void *ud)
{
    struct h *h = ud;
    if (lc_pipeline_queued_bytes(h->p) >= h->max_bytes / 2) {
        h->resume_violations++;
    }
    h->n_resumes++;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Creates the loop and a pipeline with the fakes added (not started). Returns 0 or the
 * first add_output error. */
static int h_init(struct h *h, size_t max_bytes, struct fake *a, struct fake *b)
{
    int rc = 0;
    memset(h, 0, sizeof(*h));
    uv_loop_init(&h->loop);
    uv_timer_init(&h->loop, &h->tick);
    uv_timer_start(&h->tick, on_tick, 1, 1);
    h->max_bytes = max_bytes;
    h->meta = lc_meta_create("3f1c2a7b9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c",
                             "web-1", "nginx:1.25", "host-1", NULL, NULL, NULL);
    h->p = lc_pipeline_create(&h->loop, max_bytes, on_commit, on_resume, h);
    if (a != NULL) {
        h->fakes[h->n_fakes++] = a;
        rc = lc_pipeline_add_output(h->p, &fake_ops, &a->cfg, NULL);
    }
    if (b != NULL && rc == 0) {
        h->fakes[h->n_fakes++] = b;
        rc = lc_pipeline_add_output(h->p, &fake_ops, &b->cfg, NULL);
    }
    return rc;
}

/* Destroys the pipeline, closes the loop. Returns uv_loop_close's result (0 when every
 * handle was closed). */
static int h_close(struct h *h)
{
    lc_pipeline_destroy(h->p);
    uv_timer_stop(&h->tick);
    uv_close((uv_handle_t *)&h->tick, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    lc_meta_unref(h->meta);
    return uv_loop_close(&h->loop);
}

/* A record for line number NUM. */
static struct lc_record *line(struct h *h, int num)
{
    char msg[32];
    int len = snprintf(msg, sizeof(msg), "line %d", num);
    return lc_record_create(h->meta, LC_STREAM_STDOUT, 1795350283000000000LL + num,
                            "2026-11-22T12:24:43.000000000Z", 30, msg, (size_t)len, 0);
}

/* Pushes N lines; returns the last push's result. */
static int push_n(struct h *h, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        rc = lc_pipeline_push(h->p, line(h, h->next_num++));
    }
    return rc;
}

/* Runs the loop until PRED holds or MS pass. Returns whether PRED holds. */
static int wait_for(struct h *h, int (*pred)(struct h *, uint64_t), uint64_t arg, uint64_t ms)
{
    uint64_t deadline = lc_now_ms() + ms;
    for (;;) {
        if (pred(h, arg)) {
            return 1;
        }
        if (lc_now_ms() >= deadline) {
            return 0;
        }
        uv_run(&h->loop, UV_RUN_ONCE);
    }
}

static int committed(struct h *h, uint64_t seq)
{
    return h->last_commit >= seq;
}

static int any_commit(struct h *h, uint64_t unused)
{
    (void)unused;
    return h->n_commits > 0;
}

static int resumed(struct h *h, uint64_t n)
{
    return h->n_resumes >= n;
}

static int blocked(struct h *h, uint64_t i)
{
    return fake_snap(h->fakes[i]).blocked_now;
}

static int got_a(struct h *h, uint64_t n)
{
    return fake_snap(h->fakes[0]).n_got >= n;
}

static int called_b(struct h *h, uint64_t n)
{
    return fake_snap(h->fakes[1]).n_calls >= n;
}

static int flushed_a(struct h *h, uint64_t seq)
{
    return fake_snap(h->fakes[0]).flushed_seq >= seq;
}

/* Lines 0..N-1 accepted once each, in order, with sequence numbers 1..N. Returns the
 * index of the first wrong one, or -1. */
static long check_lines(struct fake *f, size_t n)
{
    fake_snap(f);
    if (f->n_got != n || f->bad != 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (f->seqs[i] != i + 1 || f->nums[i] != (int)i) {
            return (long)i;
        }
    }
    return -1;
}

/* ---- tests ---------------------------------------------------------------------------- */

/* Lines pushed in bursts while the outputs run arrive at both outputs once each, in order;
 * one output retries once at the start so the two run out of step. */
TEST(two_outputs_in_order_exactly_once)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct lc_output_stats sa, sb;
    struct h h;
    enum { N = 20000 };

    b->retry_left = 1;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    for (int i = 0; i < N; i += 500) {
        ASSERT_EQ(push_n(&h, 500), 0);
        uv_run(&h.loop, UV_RUN_NOWAIT);
    }
    ASSERT_U64_EQ(lc_pipeline_last_seq(h.p), N);
    ASSERT_TRUE(wait_for(&h, committed, N, DEADLINE_MS));
    ASSERT_U64_EQ(h.last_commit, N);
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_EQ(check_lines(a, N), -1);
    ASSERT_EQ(check_lines(b, N), -1);
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 0, &sa), 0);
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 1, &sb), 0);
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 2, &sb), -ENOENT);
    ASSERT_U64_EQ(sa.records, N);
    ASSERT_U64_EQ(sb.records, N);
    ASSERT_U64_EQ(sa.retries, 0);
    ASSERT_U64_EQ(sb.retries, 1);
    ASSERT_U64_EQ(sa.rejected, 0);
    /* "line 0".."line 9" are 6 bytes, then 7, 8, 9, 10. */
    ASSERT_U64_EQ(sa.bytes, 10 * 6 + 90 * 7 + 900 * 8 + 9000 * 9 + 10000 * 10);
    ASSERT_U64_EQ(sb.bytes, sa.bytes);
    /* Everything was sent by both: nothing stays queued. */
    ASSERT_EQ(lc_pipeline_queued_bytes(h.p), 0);
    lc_pipeline_stop(h.p, 1000);
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_EQ(a->destroyed, 1);
    ASSERT_EQ(b->destroyed, 1);
    fake_free(a);
    fake_free(b);
}

/* An output blocked in send holds the commit back, however far the other one got. */
TEST(commit_waits_for_both_outputs)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct h h;

    b->block = 1;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_EQ(push_n(&h, 100), 0);
    ASSERT_TRUE(wait_for(&h, flushed_a, 100, DEADLINE_MS));
    ASSERT_TRUE(wait_for(&h, blocked, 1, DEADLINE_MS));
    /* A has flushed everything; give a wrong commit every chance to arrive. */
    ASSERT_EQ(wait_for(&h, any_commit, 0, 300), 0);
    fake_release(b);
    ASSERT_TRUE(wait_for(&h, committed, 100, DEADLINE_MS));
    ASSERT_U64_EQ(h.last_commit, 100);
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_EQ(check_lines(a, 100), -1);
    ASSERT_EQ(check_lines(b, 100), -1);
    ASSERT_EQ(h_close(&h), 0);
    fake_free(a);
    fake_free(b);
}

/* A failing flush holds the commit back until a flush succeeds. */
TEST(failed_flush_holds_commit)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct h h;

    b->flush_fail_left = 3;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_EQ(push_n(&h, 50), 0);
    ASSERT_TRUE(wait_for(&h, committed, 50, DEADLINE_MS));
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_TRUE(fake_snap(b).n_flush >= 4);
    ASSERT_TRUE(fake_snap(b).n_flush_ok >= 1);
    ASSERT_EQ(check_lines(b, 50), -1);
    ASSERT_EQ(h_close(&h), 0);
    fake_free(a);
    fake_free(b);
}

/* LC_RETRY: the same batch is sent again whole, each retry is counted, the records are
 * accepted once. */
TEST(retry_resends_whole_batch)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct lc_output_stats sa, sb;
    struct h h;

    a->retry_left = 3;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(push_n(&h, 10), 0); /* queued before start: one batch */
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_TRUE(wait_for(&h, committed, 10, DEADLINE_MS));
    ASSERT_EQ(fake_snap(a).n_calls, 4);
    for (size_t i = 0; i < 4; i++) {
        ASSERT_U64_EQ(a->calls[i].first, 1);
        ASSERT_U64_EQ(a->calls[i].last, 10);
        ASSERT_EQ(a->calls[i].n, 10);
    }
    ASSERT_EQ(fake_snap(b).n_calls, 1);
    ASSERT_EQ(check_lines(a, 10), -1);
    ASSERT_EQ(check_lines(b, 10), -1);
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 0, &sa), 0);
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 1, &sb), 0);
    ASSERT_U64_EQ(sa.retries, 3);
    ASSERT_U64_EQ(sa.records, 10);
    ASSERT_U64_EQ(sb.retries, 0);
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_EQ(h_close(&h), 0);
    fake_free(a);
    fake_free(b);
}

/* LC_REJECT: the batch is done with (counted as rejected, not retried) and the commit
 * moves past it. */
TEST(reject_counted_and_committed)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct lc_output_stats sa;
    struct h h;

    a->reject_left = 1;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(push_n(&h, 10), 0); /* one batch, rejected by A */
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_TRUE(wait_for(&h, committed, 10, DEADLINE_MS));
    ASSERT_EQ(push_n(&h, 5), 0);
    ASSERT_TRUE(wait_for(&h, committed, 15, DEADLINE_MS));
    ASSERT_EQ(fake_snap(a).n_calls, 2);
    ASSERT_EQ(fake_snap(a).n_got, 5);
    ASSERT_U64_EQ(a->seqs[0], 11);
    ASSERT_EQ(a->bad, 0);
    ASSERT_EQ(check_lines(b, 15), -1);
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 0, &sa), 0);
    ASSERT_U64_EQ(sa.rejected, 10);
    ASSERT_U64_EQ(sa.retries, 0);
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_EQ(h_close(&h), 0);
    fake_free(a);
    fake_free(b);
}

/* Past max_bytes push answers 1 (the record is still queued) until both outputs drained
 * the queue below half; then resume_cb is called once. */
TEST(cap_and_resume)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct lc_record *probe;
    size_t size;
    struct h h;

    /* Every line here is "line 10".."line 22": one size. */
    probe = lc_record_create(NULL, LC_STREAM_STDOUT, 0, "", 0, "line 10", 7, 0);
    size = lc_record_size(probe);
    lc_record_destroy(probe);
    a->block = 1;
    b->block = 1;
    ASSERT_EQ(h_init(&h, 10 * size, a, b), 0);
    h.next_num = 10;
    ASSERT_EQ(lc_pipeline_start(h.p), 0);

    ASSERT_EQ(push_n(&h, 1), 0);
    ASSERT_TRUE(wait_for(&h, blocked, 0, DEADLINE_MS));
    ASSERT_TRUE(wait_for(&h, blocked, 1, DEADLINE_MS));
    ASSERT_EQ(push_n(&h, 9), 0); /* exactly at the cap: not past it */
    ASSERT_EQ(lc_pipeline_queued_bytes(h.p), 10 * size);
    ASSERT_EQ(push_n(&h, 1), 1);
    ASSERT_EQ(push_n(&h, 1), 1);
    ASSERT_EQ(lc_pipeline_queued_bytes(h.p), 12 * size);
    ASSERT_U64_EQ(lc_pipeline_last_seq(h.p), 12);

    /* One output draining is not enough: the other still holds every record. */
    fake_release(a);
    ASSERT_TRUE(wait_for(&h, got_a, 12, DEADLINE_MS));
    ASSERT_EQ(wait_for(&h, resumed, 1, 300), 0);
    ASSERT_EQ(lc_pipeline_queued_bytes(h.p), 12 * size);

    fake_release(b);
    ASSERT_TRUE(wait_for(&h, resumed, 1, DEADLINE_MS));
    ASSERT_EQ(h.resume_violations, 0);
    ASSERT_EQ(push_n(&h, 1), 0);
    ASSERT_TRUE(wait_for(&h, committed, 13, DEADLINE_MS));
    ASSERT_EQ(h.n_resumes, 1);
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_EQ(h_close(&h), 0);
    fake_free(a);
    fake_free(b);
}

/* stop writes out everything queued (through a few retries) and makes the last commit_cb
 * before returning, without running the loop. */
TEST(stop_delivers_queued)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    uint64_t t0, took;
    struct h h;

    b->retry_left = 2;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(push_n(&h, 3000), 0);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_EQ(push_n(&h, 2000), 0);
    t0 = lc_now_ms();
    lc_pipeline_stop(h.p, DEADLINE_MS);
    took = lc_now_ms() - t0;
    ASSERT_U64_EQ(h.last_commit, 5000);
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_EQ(check_lines(a, 5000), -1);
    ASSERT_EQ(check_lines(b, 5000), -1);
    ASSERT_TRUE(took < DEADLINE_MS / 2);
    /* A second stop is a no-op; the loop delivers no further commit. */
    lc_pipeline_stop(h.p, DEADLINE_MS);
    uv_run(&h.loop, UV_RUN_NOWAIT);
    ASSERT_U64_EQ(h.last_commit, 5000);
    ASSERT_EQ(h.commit_violations, 0);
    ASSERT_EQ(h_close(&h), 0);
    fake_free(a);
    fake_free(b);
}

/* An output that answers LC_RETRY forever: stop gives up after its timeout; only what
 * both outputs flushed is committed (here: nothing). */
TEST(stop_times_out_on_endless_retry)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct lc_output_stats sb;
    uint64_t t0, took;
    struct h h;

    b->retry_forever = 1;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_EQ(push_n(&h, 10), 0);
    ASSERT_TRUE(wait_for(&h, got_a, 10, DEADLINE_MS));
    ASSERT_TRUE(wait_for(&h, called_b, 2, DEADLINE_MS));
    t0 = lc_now_ms();
    lc_pipeline_stop(h.p, 300);
    took = lc_now_ms() - t0;
    ASSERT_TRUE(took >= 290);
    ASSERT_TRUE(took < 300 + 2000);
    ASSERT_EQ(h.n_commits, 0);
    ASSERT_EQ(fake_snap(b).n_got, 0);
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 1, &sb), 0);
    ASSERT_TRUE(sb.retries >= 2);
    ASSERT_U64_EQ(sb.records, 0);
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_EQ(b->destroyed, 1);
    fake_free(a);
    fake_free(b);
}

struct stopper {
    struct lc_pipeline *p;
    uint64_t timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void *stop_thread(void *arg)
{
    struct stopper *s = arg;
    lc_pipeline_stop(s->p, s->timeout_ms);
    pthread_mutex_lock(&s->mu);
    s->done = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Waits until S is done or MS pass (the loop is not run: stop owns the callbacks now). */
static int stopper_wait(struct stopper *s, uint64_t ms)
{
    struct timespec ts;
    int done;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->done) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0) {
            break;
        }
    }
    done = s->done;
    pthread_mutex_unlock(&s->mu);
    return done;
}

/* An output whose send never returns: stop must still return after its timeout. stop runs
 * on a helper thread so that a hang is reported instead of hanging the suite; the output is
 * released afterwards so that everything can be cleaned up. */
TEST(stop_times_out_on_blocked_output)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct stopper s = {.timeout_ms = 300};
    pthread_t t;
    uint64_t t0, took;
    int returned;
    struct h h;

    b->block = 1;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_EQ(push_n(&h, 10), 0);
    ASSERT_TRUE(wait_for(&h, got_a, 10, DEADLINE_MS));
    ASSERT_TRUE(wait_for(&h, blocked, 1, DEADLINE_MS));
    s.p = h.p;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    t0 = lc_now_ms();
    ASSERT_EQ(pthread_create(&t, NULL, stop_thread, &s), 0);
    returned = stopper_wait(&s, s.timeout_ms + 3000);
    took = lc_now_ms() - t0;
    fake_release(b);
    pthread_join(t, NULL);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    ASSERT_EQ(h_close(&h), 0);
    fake_free(a);
    fake_free(b);
    if (!returned) {
        fprintf(stderr, "  lc_pipeline_stop(p, 300) still running after %llu ms\n",
                (unsigned long long)took);
    }
    ASSERT_TRUE(returned);
}

/* destroy without stop, with records queued and an output stuck retrying; destroy of a
 * pipeline never started; destroy(NULL). ASan reports any record, state or handle left. */
TEST(destroy_frees_everything)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct h h;

    b->retry_forever = 1;
    ASSERT_EQ(h_init(&h, BIG, a, b), 0);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_EQ(push_n(&h, 1000), 0);
    ASSERT_TRUE(wait_for(&h, called_b, 1, DEADLINE_MS));
    ASSERT_TRUE(lc_pipeline_queued_bytes(h.p) > 0);
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_EQ(a->destroyed, 1);
    ASSERT_EQ(b->destroyed, 1);
    fake_free(a);
    fake_free(b);

    a = fake_create("a");
    ASSERT_EQ(h_init(&h, BIG, a, NULL), 0);
    ASSERT_EQ(push_n(&h, 100), 0);
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_EQ(a->destroyed, 1);
    ASSERT_EQ(a->n_calls, 0);
    ASSERT_EQ(h.n_commits, 0);
    fake_free(a);

    lc_pipeline_destroy(NULL);
}

/* An output whose init fails is not added (and not destroyed); the others still work. */
TEST(add_output_init_failure)
{
    struct fake *a = fake_create("a"), *b = fake_create("b");
    struct lc_output_stats st;
    struct h h;

    b->init_rc = -EACCES;
    ASSERT_EQ(h_init(&h, BIG, a, b), -EACCES);
    ASSERT_EQ(b->inited, 1);
    h.n_fakes = 1;
    ASSERT_EQ(lc_pipeline_output_stats(h.p, 1, &st), -ENOENT);
    ASSERT_EQ(lc_pipeline_start(h.p), 0);
    ASSERT_EQ(push_n(&h, 5), 0);
    ASSERT_TRUE(wait_for(&h, committed, 5, DEADLINE_MS));
    ASSERT_EQ(check_lines(a, 5), -1);
    ASSERT_EQ(h_close(&h), 0);
    ASSERT_EQ(a->destroyed, 1);
    ASSERT_EQ(b->destroyed, 0);
    ASSERT_EQ(b->n_calls, 0);
    fake_free(a);
    fake_free(b);
}

TEST_MAIN(TEST_ENTRY(two_outputs_in_order_exactly_once), TEST_ENTRY(commit_waits_for_both_outputs),
          TEST_ENTRY(failed_flush_holds_commit), TEST_ENTRY(retry_resends_whole_batch),
          TEST_ENTRY(reject_counted_and_committed), TEST_ENTRY(cap_and_resume),
          TEST_ENTRY(stop_delivers_queued), TEST_ENTRY(stop_times_out_on_endless_retry),
          TEST_ENTRY(stop_times_out_on_blocked_output), TEST_ENTRY(destroy_frees_everything),
          TEST_ENTRY(add_output_init_failure))
