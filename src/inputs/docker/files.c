/* files: a container's capture read from its json-file log instead of the Engine API
 * (docker.read: auto or files). See docker.h for the mode's contract.
 *
 * The file is followed with the shared follower (inputs/tail.h): appends are read when
 * the container's directory says the file changed (inotify), renames by Docker's max-size
 * rotation are followed (the old file read to its end, then the new one), and the lines
 * are decoded by the json-file decoder (jsonfile.h), whose assembler is the API path's.
 * So a container's lines, timestamps and truncation are those the API would give.
 *
 * Positions: the container's window (positions.h) is kept line by line as on the API path,
 * and the spool also gets the file's identity and the offset after the last whole entry
 * taken with no line pending before it (a line's pieces may sit on both sides). A resume
 * opens that file at that offset (at its path, or renamed among its siblings) and lets the
 * window drop what was taken already; a position written by the API path has no file part
 * and is resumed the same way from the file's start, so switching read modes across a
 * restart loses nothing and repeats nothing. When the saved file is gone (Docker rotated
 * it away and compressed or deleted it while logcap was stopped), what is left of the
 * rotated files is read, oldest first (gzip ones decompressed), through the same window,
 * then the current file; the loss, if any, is logged and counted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/log.h"
#include "base/util.h"
#include "inputs/docker/docker_int.h"
#include "inputs/docker/jsonfile.h"
#include "inputs/tail.h"

#define READ_BUDGET (1u << 20) /* bytes one container reads per loop turn */
#define ROTATED_MAX 64         /* rotated files looked at in a catch-up */

struct lc_docker_files {
    struct lc_docker_container *c;
    char *path; /* <root>/containers/<id>/<id>-json.log */
    char *dir;  /* its directory, watched */
    struct lc_tail tail;
    int tail_open;
    struct lc_docker_jsonfile *dec;
    uv_fs_event_t ev; /* the container's directory */
    int ev_started;
    int more;    /* the last poll stopped at its budget */
    int lost;    /* the saved file was not found: catch up from the rotated files */
    int deleted; /* read to the end of a file no path names */
    int changed; /* its directory changed: on the input's list, read at its next batch */
    struct lc_docker_files *changed_next;
    /* a catch-up: whether the first line of the oldest file left was new (see catch_up) */
    int probe_first, first_new;
};

static const char *cname(const struct lc_docker_container *c)
{
    return c->meta != NULL ? c->meta->name : c->id;
}

/* ---- lines ---------------------------------------------------------------------------- */

static int on_line(void *ud, const struct lc_docker_line *l)
{
    struct lc_docker_container *c = ud;
    const struct lc_docker_config *dc = c->d->dc;
    int taken;
    /* the API path asks only for the streams configured; a file holds both */
    if ((l->stream == LC_STREAM_STDOUT && !dc->stdout_enabled) ||
        (l->stream == LC_STREAM_STDERR && !dc->stderr_enabled)) {
        return 0;
    }
    taken = lc_docker_take_unseen(c, l);
    if (c->files != NULL && c->files->probe_first) {
        c->files->probe_first = 0;
        c->files->first_new = taken;
    }
    return 0;
}

/* Feeds N bytes of the file read from OFF; returns the bytes taken (whole entries). */
static size_t feed(struct lc_docker_files *f, const char *p, size_t n)
{
    struct lc_docker_container *c = f->c;
    uint64_t errors = lc_docker_jsonfile_decode_errors(f->dec);
    size_t used = 0;
    lc_docker_jsonfile_feed(f->dec, p, n, &used);
    c->stats.decode_errors += lc_docker_jsonfile_decode_errors(f->dec) - errors;
    if (lc_docker_pos_set_hold(&c->win, lc_docker_jsonfile_pending_ts(f->dec))) {
        lc_docker_mark_dirty(c->d, c);
    }
    return used;
}

/* The tail's consumer. At the end of a rotated file, its torn last entry (if any) is
 * dropped: the pieces of a line go on in the next file through the same assembler. */
static size_t on_data(void *ud, const char *p, size_t n, uint64_t off, int end)
{
    struct lc_docker_files *f = ud;
    size_t used = feed(f, p, n);
    if (end && used < n) {
        f->c->stats.decode_errors++;
        used = n;
    }
    if (lc_docker_jsonfile_pending_ts(f->dec) < 0 && !end &&
        lc_tail_position(&f->tail, &f->c->fpos) == 0) {
        f->c->fpos.off = off + used; /* no line pending before it: a resume point */
        f->c->has_fpos = 1;
    }
    lc_task_progress(f->c->task);
    return used;
}

static void on_change(void *ud, enum lc_tail_change ch, uint64_t lost)
{
    struct lc_docker_files *f = ud;
    struct lc_docker_container *c = f->c;
    (void)lost;
    switch (ch) {
    case LC_TAIL_ROTATED:
        c->stats.file_rotations++;
        f->deleted = 0;
        break;
    case LC_TAIL_TRUNCATED:
        c->stats.errors++;
        lc_log(LC_LOG_WARN, 0, "[%s:%s] %s shrank: reading it again from its start", c->d->tag,
               cname(c), f->path);
        break;
    case LC_TAIL_DELETED:
        f->deleted = 1;
        break;
    default:
        f->lost = 1;
        break;
    }
}

/* ---- catching up from rotated files ---------------------------------------------------- */

/* Feeds a whole rotated file (gzip when GZ) to the decoder. Returns 0 or -errno. */
static int feed_whole(struct lc_docker_files *f, const char *path, int gz)
{
    char buf[65536];
    struct lc_buf rest;
    gzFile z = gz ? gzopen(path, "rb") : NULL;
    int fd = gz ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if ((gz && z == NULL) || (!gz && fd < 0)) {
        return -errno;
    }
    lc_buf_init(&rest, 0);
    for (;;) {
        long n = gz ? (long)gzread(z, buf, sizeof(buf)) : (long)read(fd, buf, sizeof(buf));
        size_t used;
        if (n <= 0) {
            rc = n < 0 ? -EIO : 0;
            break;
        }
        lc_buf_add(&rest, buf, (size_t)n);
        used = feed(f, rest.data, rest.len);
        lc_buf_consume(&rest, used);
    }
    lc_buf_close(&rest);
    if (gz) {
        gzclose(z);
    } else {
        close(fd);
    }
    return rc;
}

/* Whether the gzip file at PATH starts with the head ID's fingerprint covers: Docker's
 * compressed copy of that file (compress=true gives it a new inode). */
static int gz_is(const char *path, const struct lc_tail_id *id)
{
    unsigned char head[LC_TAIL_FP_MAX];
    gzFile z;
    int n;
    if (id->fp_len == 0 || (z = gzopen(path, "rb")) == NULL) {
        return 0;
    }
    n = gzread(z, head, id->fp_len);
    gzclose(z);
    return n == (int)id->fp_len && (uint32_t)crc32(0L, head, id->fp_len) == id->fp;
}

/* <path>.K of F's log, plain or (*GZ set) its compressed copy <path>.K.gz: its name into
 * PATH (CAP bytes) and its status into ST. Returns 0, or -1 when there is neither. */
static int rotated_file(const struct lc_docker_files *f, int k, char *path, size_t cap,
                        struct stat *st, int *gz)
{
    *gz = 0;
    snprintf(path, cap, "%s.%d", f->path, k);
    if (stat(path, st) == 0) {
        return 0;
    }
    *gz = 1;
    snprintf(path, cap, "%s.%d.gz", f->path, k);
    return stat(path, st) == 0 ? 0 : -1;
}

/* The N of the oldest rotated file <path>.N (the rotated files end at the first missing
 * number); 0 when there is none. */
static int oldest_rotated(const struct lc_docker_files *f)
{
    char path[4096];
    struct stat st;
    int k = 0, gz;
    while (k < ROTATED_MAX && rotated_file(f, k + 1, path, sizeof(path), &st, &gz) == 0) {
        k++;
    }
    return k;
}

/* Where DONE is among F's rotated files: N when it is <path>.N (or its compressed copy
 * <path>.N.gz), 0 when it is gone. */
static int rotated_index(const struct lc_docker_files *f, const struct lc_tail_id *done)
{
    char path[4096];
    struct stat st;
    int gz;
    for (int k = 1; k <= ROTATED_MAX && rotated_file(f, k, path, sizeof(path), &st, &gz) == 0;
         k++) {
        if (gz ? gz_is(path, done)
               : (uint64_t)st.st_ino == done->ino && (uint64_t)st.st_dev == done->dev) {
            return k;
        }
    }
    return 0;
}

/* What feed_rotated does at a plain file. */
enum plain_at { FEED_IT, RETURN_IT, STOP_AT_OWN };

/* Feeds the rotated files <path>.K down to <path>.1 (each plain or gzip) through the
 * window. At a plain one, with RETURN_IT, it is not fed but opened and returned, for the
 * follower to read (it may still be the file Docker rotated last); with STOP_AT_OWN, the
 * follower's own file (rotated since it opened it) ends the feeding: it reads it itself.
 * Returns the descriptor of RETURN_IT, else -1. */
static int feed_rotated(struct lc_docker_files *f, int k, enum plain_at at_plain)
{
    struct lc_docker_container *c = f->c;
    char path[4096];
    struct stat st;
    for (; k >= 1; k--) {
        int gz, fd;
        if (rotated_file(f, k, path, sizeof(path), &st, &gz) != 0) {
            continue;
        }
        if (!gz && at_plain == RETURN_IT && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
            return fd;
        }
        if (!gz && at_plain == STOP_AT_OWN && (uint64_t)st.st_ino == f->tail.id.ino &&
            (uint64_t)st.st_dev == f->tail.id.dev) {
            return -1;
        }
        if (feed_whole(f, path, gz) != 0) {
            c->stats.errors++;
            lc_log(LC_LOG_WARN, errno, "[%s:%s] cannot read %s", c->d->tag, cname(c), path);
        }
    }
    return -1;
}

/* The file read last is gone (compressed or deleted before its successor was found, or
 * while logcap was stopped): every rotated file left is read, oldest first, through the
 * window, which drops what was taken. When the oldest one's first line was new, files
 * between it and what was taken were deleted unread: the loss is logged and counted. */
static void catch_up(struct lc_docker_files *f)
{
    struct lc_docker_container *c = f->c;
    uint64_t before = c->stats.lines[1] + c->stats.lines[2];
    int oldest = oldest_rotated(f);
    lc_docker_pos_begin_replay(&c->win, lc_wall_ns(), lc_docker_boot_ns());
    c->replaying = 1;
    f->probe_first = 1;
    f->first_new = 0;
    feed_rotated(f, oldest, FEED_IT);
    if (f->probe_first || f->first_new) {
        /* the oldest file left begins with a line never taken (or none is left): what was
         * written between it and the last line taken is gone */
        c->stats.lost_files++;
        lc_log(LC_LOG_WARN, 0,
               "[%s:%s] the log file read before is gone (rotated away and deleted while "
               "logcap was stopped or behind): read what is left, %d rotated file%s (%llu "
               "lines), then the current file; lines in the files Docker deleted are lost",
               c->d->tag, cname(c), oldest, oldest == 1 ? "" : "s",
               (unsigned long long)(c->stats.lines[1] + c->stats.lines[2] - before));
    }
    f->probe_first = 0;
}

/* A container read from its file for the first time (new, or resumed from a position of
 * the API path, which has no file part): its rotated files come first, oldest first,
 * through the window (nothing is dropped without a position). The file the follower has
 * open already is left to it. */
static void feed_older(struct lc_docker_files *f)
{
    feed_rotated(f, oldest_rotated(f), STOP_AT_OWN);
}

/* The tail's successor: the file Docker rotated after DONE. */
static int next_file(void *ud, const struct lc_tail_id *done)
{
    struct lc_docker_files *f = ud;
    int k = rotated_index(f, done);
    if (k == 1) {
        return -1; /* the path's file came right after it */
    }
    if (k > 1) {
        return feed_rotated(f, k - 1, RETURN_IT);
    }
    catch_up(f);
    return -1;
}

/* ---- reading -------------------------------------------------------------------------- */

static void poll_file(struct lc_docker_files *f)
{
    struct lc_docker_container *c = f->c;
    int rc;
    if (!f->tail_open || c->paused || lc_task_wedged(c->task)) {
        return;
    }
    rc = lc_tail_poll(&f->tail, READ_BUDGET);
    f->more = rc == 1;
    if (rc < 0) {
        c->stats.errors++;
        lc_task_error(c->task, rc, "cannot read %s", f->path);
    }
    if (f->more) {
        lc_docker_files_more(c->d);
    }
}

void lc_docker_files_poll_more(struct lc_docker_container *c)
{
    if (c->files != NULL && c->files->more) {
        poll_file(c->files);
    }
}

int lc_docker_files_has_more(const struct lc_docker_container *c)
{
    return c->files != NULL && c->files->more;
}

/* A change in the container's directory. The file is read a few milliseconds later, with
 * whatever else was written meanwhile: dockerd writes line by line, and waking and reading
 * at every inotify event cost 4.3 CPU-s per million lines against 1.6 through the API
 * (bench/throughput.sh 4 200000); batched, and with the watch resting until the batch, see
 * docs/performance.md. */
static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct lc_docker_files *f = h->data;
    (void)filename;
    (void)events;
    if (status == 0 && !f->changed) {
        /* Until the batch reads it, further changes need not wake the loop: the watch
         * rests (a busy container would otherwise wake it at every line dockerd writes) */
        struct lc_docker *d = f->c->d;
        f->changed = 1;
        f->changed_next = d->changed;
        d->changed = f;
        uv_fs_event_stop(&f->ev);
        f->ev_started = 0;
        lc_docker_files_soon(d);
    }
}

void lc_docker_files_read_changed(struct lc_docker *d)
{
    while (d->changed != NULL && !d->paused) {
        struct lc_docker_files *f = d->changed;
        d->changed = f->changed_next;
        f->changed = 0;
        /* watch again first, then read: a change after the read wakes the loop, one before
         * it is read now */
        f->ev_started = uv_fs_event_start(&f->ev, on_dir_event, f->dir, 0) == 0;
        poll_file(f);
    }
}

/* ---- the file part of a position ------------------------------------------------------- */

int lc_docker_files_adopt(struct lc_docker_container *c, const json_t *saved)
{
    c->has_fpos = lc_tail_pos_from_json(json_object_get(saved, "file"), &c->fpos);
    return c->has_fpos;
}

size_t lc_docker_files_position(const struct lc_docker_container *c, char *buf, size_t len,
                                size_t cap)
{
    char file[LC_TAIL_POS_JSON_MAX];
    int n;
    if (!c->has_fpos || len < 2 || buf[len - 1] != '}' ||
        lc_tail_pos_format(&c->fpos, file, sizeof(file)) < 0) {
        return len;
    }
    /* the window's closing brace makes way for ,"file":{...}} */
    n = snprintf(buf + len - 1, cap - (len - 1), "%s\"file\":%s}", len > 2 ? "," : "", file);
    if (n < 0 || (size_t)n >= cap - (len - 1)) {
        buf[len - 1] = '}'; /* no room: the window alone (a resume then reads from the start) */
        buf[len] = '\0';
        return len;
    }
    return len - 1 + (size_t)n;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void log_path(const struct lc_docker *d, const char *id, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s/containers/%s/%s-json.log", d->dc->root, id, id);
}

static void files_free(struct lc_docker_files *f)
{
    if (f->tail_open) {
        lc_tail_close(&f->tail);
    }
    lc_docker_jsonfile_destroy(f->dec);
    free(f->dir);
    free(f->path);
    free(f);
}

static void ev_closed(uv_handle_t *h)
{
    files_free(h->data);
}

/* A quiet container's task still beats, every idle_timeout, and its file is looked at
 * then (a change whose inotify event was lost, or a watch that could not be set, is read
 * at the latest then): no request to dockerd, one read at the end of the file. */
static void beat_cb(uv_timer_t *t)
{
    struct lc_docker_container *c = t->data;
    if (c->files == NULL || lc_task_wedged(c->task)) {
        return;
    }
    lc_task_beat(c->task);
    poll_file(c->files);
}

/* Stops reading C's file and frees its state (the watch closes on the next turn). */
void lc_docker_files_close(struct lc_docker_container *c)
{
    struct lc_docker_files *f = c->files;
    if (f == NULL) {
        return;
    }
    uv_timer_stop(&c->timer);
    if (f->changed) {
        struct lc_docker_files **pp = &c->d->changed;
        while (*pp != f) {
            pp = &(*pp)->changed_next;
        }
        *pp = f->changed_next;
    }
    c->files = NULL; /* read_files stays: a stopped container is still read from its file */
    if (f->ev_started) {
        uv_fs_event_stop(&f->ev);
    }
    uv_close((uv_handle_t *)&f->ev, ev_closed);
}

/* Opens C's file at START (NULL: its start; FD >= 0: the file opened already, read from
 * its start), watches its directory. */
static int files_open(struct lc_docker_container *c, const char *path,
                      const struct lc_tail_pos *start, int fd, int tty)
{
    struct lc_docker *d = c->d;
    struct lc_docker_files *f = lc_xcalloc(1, sizeof(*f));
    struct lc_tail_cbs cbs = {.data = on_data, .change = on_change, .next = next_file, .ud = f};
    int rc;
    f->c = c;
    f->path = lc_xstrdup(path);
    rc = fd >= 0 ? lc_tail_open_fd(&f->tail, path, fd, &cbs)
                 : lc_tail_open(&f->tail, path, start, 0, &cbs);
    if (rc != 0 || f->tail.fd < 0) {
        if (f->tail.path != NULL) {
            lc_tail_close(&f->tail);
        }
        free(f->path);
        free(f);
        return rc != 0 ? rc : -ENOENT;
    }
    f->tail_open = 1;
    f->dec = lc_docker_jsonfile_create(tty, d->dc->max_line_bytes, on_line, c);
    uv_fs_event_init(d->loop, &f->ev);
    f->ev.data = f;
    f->dir = lc_xstrndup(path, (size_t)(strrchr(path, '/') - path));
    f->ev_started = uv_fs_event_start(&f->ev, on_dir_event, f->dir, 0) == 0;
    c->files = f;
    c->read_files = 1;
    uv_timer_start(&c->timer, beat_cb, d->dc->idle_timeout_ms, d->dc->idle_timeout_ms);
    return 0;
}

/* Container ID's file NAME in Docker's state (config.v2.json, hostconfig.json), parsed;
 * NULL when it cannot be read. The caller owns it (json_decref). */
static json_t *container_file(const struct lc_docker *d, const char *id, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/containers/%s/%s", d->dc->root, id, name);
    return json_load_file(path, 0, NULL);
}

/* Whether the container has a terminal (its "\r\n" then ends a line without the "\r", as
 * on the API path): Config.Tty of <root>/containers/<id>/config.v2.json. */
static int has_tty(const struct lc_docker *d, const char *id)
{
    json_t *cfg = container_file(d, id, "config.v2.json");
    int tty = json_is_true(json_object_get(json_object_get(cfg, "Config"), "Tty"));
    json_decref(cfg);
    return tty;
}

/* The offset where the last N lines of the file at PATH begin (each entry a line; the
 * pieces of a long one count each), as the API's tail=N does. */
static int tail_start(const char *path, long n, struct lc_tail_pos *pos)
{
    char buf[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint64_t end;
    long seen = -1; /* the file's last '\n' ends the last line, it does not start one */
    if (fd < 0 || fstat(fd, &st) != 0 || lc_tail_identify(fd, &pos->id) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    end = (uint64_t)st.st_size;
    pos->off = 0;
    while (end > 0) {
        size_t k = end < sizeof(buf) ? (size_t)end : sizeof(buf);
        if (pread(fd, buf, k, (off_t)(end - k)) != (ssize_t)k) {
            break;
        }
        for (size_t i = k; i > 0; i--) {
            if (buf[i - 1] == '\n' && ++seen == n) {
                pos->off = end - k + i;
                close(fd);
                return 0;
            }
        }
        end -= k;
    }
    close(fd);
    return 0;
}

/* Whether the container's log driver is json-file (HostConfig.LogConfig.Type of
 * <root>/containers/<id>/hostconfig.json). */
static int json_file_driver(const struct lc_docker *d, const char *id)
{
    json_t *hc = container_file(d, id, "hostconfig.json");
    const char *type = json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type"));
    int yes = type != NULL && strcmp(type, "json-file") == 0;
    json_decref(hc);
    return yes;
}

int lc_docker_files_begin(struct lc_docker_container *c)
{
    struct lc_docker *d = c->d;
    struct lc_tail_pos start;
    const struct lc_tail_pos *at = NULL;
    char path[4096];
    int rc, fd;
    if (d->dc->read == LC_DOCKER_READ_API || c->files != NULL) {
        return c->files != NULL;
    }
    log_path(d, c->id, path, sizeof(path));
    c->replaying = 0;
    if (c->has_fpos) {
        start = c->fpos;
        at = &start;
    } else if (!lc_docker_pos_has_position(&c->win) && c->tail >= 0 &&
               tail_start(path, c->tail, &start) == 0) {
        at = &start; /* initial_tail: the last lines only */
        c->tail_floor_pending = 1;
    }
    c->tail = -1;
    if (lc_docker_pos_has_position(&c->win)) {
        lc_docker_pos_begin_replay(&c->win, lc_wall_ns(), lc_docker_boot_ns());
        c->replaying = 1;
    }
    /* a log opened when Docker created it: the container is new, read from its start */
    fd = at == NULL && !lc_docker_pos_has_position(&c->win) ? lc_docker_preopen_take(d, c->id) : -1;
    rc = files_open(c, path, at, fd, has_tty(d, c->id));
    if (rc == -ENOENT && !c->running && json_file_driver(d, c->id)) {
        /* created, never started: its log file comes with its start, which begins again
         * (and takes the file the preopen watch opens meanwhile, should the container be
         * gone by the time its start is heard of) */
        c->read_files = 1;
        c->replaying = 0;
        return 1;
    }
    lc_docker_preopen_drop(d, c->id); /* a file opened here, or no file: no longer awaited */
    if (rc != 0) {
        snprintf(c->read_why, sizeof(c->read_why), "no readable json-file log (%s)", strerror(-rc));
        lc_log(LC_LOG_INFO, 0, "[%s:%s] read through the API: %s at %s", d->tag, cname(c),
               c->read_why, path);
        c->replaying = 0;
        c->read_files = 0;
        return 0;
    }
    c->read_why[0] = '\0';
    if (c->files->lost) {
        catch_up(c->files);
    } else if (at == NULL) {
        feed_older(c->files);
    }
    c->state = LC_DOCKER_C_FOLLOW;
    lc_task_set_state(c->task, LC_TASK_RUNNING);
    lc_log(LC_LOG_INFO, 0, "[%s:%s] reading its json-file log %s", d->tag, cname(c), path);
    poll_file(c->files);
    return 1;
}

/* The container stopped: what it wrote is read to the end, and the file closed until it
 * starts again (a stopped container costs no descriptor). */
void lc_docker_files_on_die(struct lc_docker_container *c)
{
    struct lc_docker_files *f = c->files;
    if (f == NULL) {
        return;
    }
    while (lc_tail_poll(&f->tail, SIZE_MAX) == 1) {
    }
    lc_docker_jsonfile_finish(f->dec, 1); /* a last line without '\n' is whole now */
    if (lc_docker_pos_set_hold(&c->win, -1)) {
        lc_docker_mark_dirty(c->d, c);
    }
    if (lc_tail_position(&f->tail, &c->fpos) == 0) {
        c->has_fpos = 1; /* the end of the file: everything in it was taken */
    }
    lc_docker_mark_dirty(c->d, c);
    c->state = LC_DOCKER_C_IDLE;
    lc_task_set_state(c->task, LC_TASK_STOPPED); /* exited and read to its end */
    lc_docker_files_close(c);
}

/* The container is gone: what its file still holds (open, or deleted) is read, and C is
 * removed. */
void lc_docker_files_gone(struct lc_docker_container *c)
{
    if (c->files != NULL) {
        lc_docker_files_on_die(c);
    }
    lc_docker_remove(c->d, c);
}

void lc_docker_files_pause(struct lc_docker_container *c, int pause)
{
    if (c->files != NULL && !pause) {
        poll_file(c->files);
    }
}
