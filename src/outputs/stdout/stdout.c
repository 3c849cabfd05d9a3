/* stdout: the stdout output (see stdout.h for its contract). */
#include "outputs/stdout/stdout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#define KEEP_BUF (1u << 20) /* a batch buffer larger than this is freed after the batch */

struct lc_stdout_output {
    const char *name;
    const struct lc_stdout_config *sc;
    int fd;
    int regular;      /* a regular file: writes never wait, and flush syncs it */
    int dirty;        /* written since the last flush */
    uint64_t wait_ms; /* see LC_STDOUT_WAIT_MS */
    struct lc_buf buf;
    size_t *ends; /* ends[i]: the end of record i's line in buf */
    size_t cap_ends;
    /* The record a failed try cut: its seq and how many bytes of its line went out. */
    int cut;
    uint64_t cut_seq;
    size_t cut_off;
    size_t cut_len; /* its line's length: a different record of the same seq does not match */
};

/* Waits until FD takes bytes, at most until DEADLINE (lc_now_ms). Returns 0 or -ETIMEDOUT
 * (an error of poll other than EINTR is left to the write that follows). */
static int wait_room(int fd, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        uint64_t now = lc_now_ms();
        int r;

        if (now >= deadline) {
            return -ETIMEDOUT;
        }
        r = poll(&p, 1, (int)(deadline - now));
        if (r > 0 || (r < 0 && errno != EINTR)) {
            return 0; /* room, or POLLERR/POLLHUP: the write says what is wrong */
        }
        if (r == 0) {
            return -ETIMEDOUT;
        }
    }
}

/* Writes LEN bytes of DATA to stdout, adding to *DONE what went out. A blocking stdout that
 * is not a regular file gets at most PIPE_BUF bytes per write, each after poll said there
 * is room; a non-blocking one gets all that is left, and poll waits when it answers EAGAIN
 * (see stdout.h). Returns 0, -ETIMEDOUT when no byte went out for wait_ms, or -errno. */
static int write_all(struct lc_stdout_output *o, const char *data, size_t len, size_t *done)
{
    uint64_t deadline = lc_now_ms() + o->wait_ms;
    int flags = fcntl(o->fd, F_GETFL);
    int chunked = !o->regular && (flags < 0 || !(flags & O_NONBLOCK));

    while (len > 0) {
        size_t want = chunked && len > PIPE_BUF ? PIPE_BUF : len;
        ssize_t w;

        if (chunked && wait_room(o->fd, deadline) != 0) {
            return -ETIMEDOUT;
        }
        w = write(o->fd, data, want);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* the deadline also ends a poll that says "room" to a write that says "again" */
            if (wait_room(o->fd, deadline) != 0 || lc_now_ms() >= deadline) {
                return -ETIMEDOUT;
            }
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        if (w == 0) {
            return -EIO;
        }
        data += w;
        len -= (size_t)w;
        *done += (size_t)w;
        o->dirty = 1;
        deadline = lc_now_ms() + o->wait_ms;
    }
    return 0;
}

/* Encodes RECS into the batch buffer, one line each, noting where each ends. Returns 0 or
 * -E2BIG. */
static int encode(struct lc_stdout_output *o, struct lc_record *const *recs, size_t n)
{
    if (n > o->cap_ends) {
        free(o->ends);
        o->ends = lc_xcalloc(n, sizeof(*o->ends));
        o->cap_ends = n;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = lc_output_add_line(&o->buf, recs[i], o->sc->format == LC_STDOUT_FORMAT_TEXT);
        if (rc != 0) {
            return rc;
        }
        o->ends[i] = o->buf.len;
    }
    return 0;
}

/* After a try that wrote only the first UPTO bytes of the batch buffer: marks the records
 * written in full done, and remembers how much of the first other one went out. */
static void mark_written(struct lc_stdout_output *o, struct lc_record *const *recs, size_t n,
                         size_t upto, struct lc_send_report *rep)
{
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        if (o->ends[i] > upto) {
            if (upto > start) {
                o->cut = 1;
                o->cut_seq = recs[i]->seq;
                o->cut_off = upto - start;
                o->cut_len = o->ends[i] - start;
            }
            return;
        }
        lc_send_done(rep, i);
        start = o->ends[i];
    }
}

static void why_failed(struct lc_stdout_output *o, int rc, struct lc_send_report *rep)
{
    if (rc == -EPIPE) {
        lc_log(LC_LOG_ERROR, rc,
               "[output:%s] stdout is closed: its reader is gone; records wait in the spool "
               "until logcap restarts with a reader (will retry)",
               o->name);
        lc_send_why(rep, "stdout is closed: its reader is gone (EPIPE)");
    } else if (rc == -ETIMEDOUT) {
        lc_log(LC_LOG_WARN, 0,
               "[output:%s] stdout's reader is not reading: no room for %llu ms (will retry)",
               o->name, (unsigned long long)o->wait_ms);
        lc_send_why(rep, "stdout's reader is not reading (no room for %llu ms)",
                    (unsigned long long)o->wait_ms);
    } else {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot write to stdout (will retry)", o->name);
        lc_send_why(rep, "cannot write to stdout: %s", strerror(-rc));
    }
}

static enum lc_send_result stdout_send(void *state, struct lc_record *const *recs, size_t n,
                                       struct lc_send_report *rep)
{
    struct lc_stdout_output *o = state;
    enum lc_send_result res = LC_OK;
    size_t skip = 0, done = 0;
    int rc;

    if (n == 0) {
        return LC_OK;
    }
    rc = encode(o, recs, n);
    if (rc != 0) {
        res = lc_output_encode_failed(o->name, n, rc, rep);
        goto out;
    }
    /* the rest of the record the last try cut (the same record encodes the same bytes) */
    if (o->cut && recs[0]->seq == o->cut_seq && o->ends[0] == o->cut_len) {
        skip = o->cut_off;
    }
    o->cut = 0;
    rc = write_all(o, o->buf.data + skip, o->buf.len - skip, &done);
    if (rc != 0) {
        why_failed(o, rc, rep);
        mark_written(o, recs, n, skip + done, rep);
        res = LC_RETRY;
    }
out:
    if (o->buf.cap > KEEP_BUF) {
        lc_buf_close(&o->buf);
    }
    lc_buf_reset(&o->buf);
    return res;
}

static int stdout_flush(void *state)
{
    struct lc_stdout_output *o = state;

    if (!o->regular || !o->dirty) {
        return 0; /* a pipe, a terminal or a socket cannot be synced (EINVAL): not an error */
    }
    /* cleared even on failure: Linux reports a writeback error once (see the file output) */
    o->dirty = 0;
    if (fdatasync(o->fd) != 0 && errno != EINVAL) {
        int err = -errno;
        lc_log(LC_LOG_ERROR, err, "[output:%s] cannot sync stdout", o->name);
        return err;
    }
    return 0;
}

static void stdout_destroy(void *state)
{
    struct lc_stdout_output *o = state;

    if (o == NULL) {
        return;
    }
    stdout_flush(o);
    lc_buf_close(&o->buf);
    free(o->ends);
    free(o); /* fd 1 stays open: it is the process's */
}

/* Whether ST is /dev/null's (main puts it on a closed fd 1). */
static int is_dev_null(const struct stat *st)
{
    struct stat null;

    return S_ISCHR(st->st_mode) && stat("/dev/null", &null) == 0 && S_ISCHR(null.st_mode) &&
           st->st_rdev == null.st_rdev;
}

static int stdout_init(void **state, const struct lc_output_config *cfg)
{
    const char *name = cfg->name != NULL ? cfg->name : "stdout";
    const struct lc_stdout_config *sc = cfg->opts;
    struct lc_stdout_output *o;
    struct stat st;

    if (sc == NULL) {
        lc_log(LC_LOG_ERROR, 0, "[output:%s] no options", name);
        return -EINVAL;
    }
    if (fstat(STDOUT_FILENO, &st) != 0) {
        int rc = -errno;
        lc_log(LC_LOG_ERROR, rc, "[output:%s] stdout is not open", name);
        return rc;
    }
    if (is_dev_null(&st)) {
        lc_log(LC_LOG_WARN, 0, "[output:%s] stdout is /dev/null: what this output writes is lost",
               name);
    }
    o = lc_xcalloc(1, sizeof(*o));
    o->name = name;
    o->sc = sc;
    o->fd = STDOUT_FILENO;
    o->regular = S_ISREG(st.st_mode);
    o->wait_ms = sc->wait_ms > 0 ? sc->wait_ms : LC_STDOUT_WAIT_MS;
    lc_buf_init(&o->buf, 0);
    *state = o;
    return 0;
}

const struct lc_output_ops lc_output_stdout = {
    .type = "stdout",
    .config = &lc_stdout_config_plugin,
    .init = stdout_init,
    .send = stdout_send,
    .flush = stdout_flush,
    .destroy = stdout_destroy,
};
