/* deadletter: see deadletter.h. Appends are rare (a refusal is an exception), so the file
 * is opened, written, synced and closed each time: no descriptor is held. The record is
 * encoded by the hot-path JSON encoder, so a dead letter reads like the file output's line;
 * the replay parses it back with jansson.
 *
 * A file's fdatasync does not make its name durable: after a power loss a file whose
 * directory entry was never synced can vanish with its records. So every change of a name
 * here (the file and dead/ created, the renames and removals of a replay) is followed by an
 * fsync of the directory holding it before the change counts. An append syncs dead/ and the
 * data directory every time rather than only when it created them: a crash between the
 * creation and the sync would otherwise leave an entry that no later append syncs, and a
 * sync of a directory with nothing to write costs next to nothing. */
#include "delivery/deadletter.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "core/json.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/util.h"

static char *dead_path(const char *data_dir, const char *output, const char *suffix)
{
    size_t n = strlen(data_dir) + strlen(output) + strlen(suffix) + 16;
    char *p = lc_xmalloc(n);
    snprintf(p, n, "%s/dead/%s.jsonl%s", data_dir, output, suffix);
    return p;
}

/* fsync of the directory DIR, so that the entries created, renamed or removed in it survive
 * a power loss. Returns 0 or -errno (logged). */
static int sync_dir(const char *dir)
{
    int rc = 0, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        rc = -errno;
        lc_log(LC_LOG_ERROR, rc, "[deadletter] cannot sync the directory %s", dir);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

/* fsync of the directory holding the file PATH. Returns 0 or -errno (logged). */
static int sync_dir_of(const char *path)
{
    char *dir = lc_xstrdup(path), *slash = strrchr(dir, '/');
    int rc;
    if (slash != NULL) {
        *slash = '\0';
    }
    rc = sync_dir(slash == dir ? "/" : slash != NULL ? dir : ".");
    free(dir);
    return rc;
}

/* Creates DATA_DIR/dead when missing, and syncs both directories (see the top). Returns 0
 * or -errno. */
static int dead_dir_ready(const char *data_dir)
{
    size_t n = strlen(data_dir) + 8;
    char *dir = lc_xmalloc(n);
    int rc;
    snprintf(dir, n, "%s/dead", data_dir);
    rc = lc_mkdir_p(dir, 0750);
    rc = rc != 0 ? rc : sync_dir(data_dir);
    free(dir);
    return rc;
}

/* One line: the envelope, then the record as lc_json_add_record writes it. */
int lc_delivery_dead_encode(struct lc_buf *b, const char *now, const char *output,
                            const struct lc_record *r, const char *reason, unsigned attempts)
{
    int rc = lc_buf_printf(b, "{\"time\":\"%s\",\"output\":", now);
    rc = rc != 0 ? rc : lc_json_add_string(b, output, strlen(output));
    rc = rc != 0 ? rc : lc_buf_adds(b, ",\"reason\":");
    rc = rc != 0 ? rc : lc_json_add_string(b, reason, strlen(reason));
    rc = rc != 0 ? rc
                 : lc_buf_printf(b, ",\"attempts\":%u,\"ts_ns\":%lld,\"record\":", attempts,
                                 (long long)r->ts_ns);
    rc = rc != 0 ? rc : lc_json_add_record(b, r);
    if (rc == 0) {
        b->len--; /* the record's '\n' */
        rc = lc_buf_adds(b, "}\n");
    }
    return rc;
}

/* Makes the file end at a line boundary: a line torn by a crash (or by a write that failed
 * midway and could not be cut back) gets its '\n', so the next line stays whole (the torn
 * one is then one line that is not a record: the replay keeps it in the .bad file). Sets
 * *SIZE to the size before. Returns 0 or -errno. */
static int end_line(int fd, off_t *size)
{
    struct stat st;
    char last;
    if (fstat(fd, &st) != 0) {
        return -errno;
    }
    *size = st.st_size;
    if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
        return lc_write_all(fd, "\n", 1);
    }
    return 0;
}

/* Appends LEN bytes to the end of PATH and syncs it and its directory entry. A failed write
 * is cut back, so the file never ends with half a line. Returns 0 or -errno. */
static int append_synced(const char *path, const char *data, size_t len)
{
    off_t size = 0;
    int rc, fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640); /* end_line reads */
    if (fd < 0) {
        return -errno;
    }
    rc = end_line(fd, &size);
    rc = rc != 0 ? rc : lc_write_all(fd, data, len);
    if (rc == 0 && fdatasync(fd) != 0) {
        rc = -errno;
    }
    if (rc != 0 && ftruncate(fd, size) != 0) {
        lc_log(LC_LOG_ERROR, errno, "[deadletter] cannot cut a failed write back in %s", path);
    }
    close(fd);
    return rc != 0 ? rc : sync_dir_of(path);
}

int lc_delivery_dead_append(const char *data_dir, const char *output, struct lc_record *const *recs,
                            size_t n, char *const *reasons, const char *reason, unsigned attempts)
{
    char now[40], *path;
    struct lc_buf b;
    int rc = 0;

    if (lc_time_format_rfc3339(lc_wall_ns(), now, sizeof(now)) < 0) {
        snprintf(now, sizeof(now), "unknown");
    }
    lc_buf_init(&b, 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *why = reasons != NULL && reasons[i] != NULL ? reasons[i] : reason;
        rc = lc_delivery_dead_encode(&b, now, output, recs[i], why != NULL ? why : "refused",
                                     attempts);
    }
    rc = rc != 0 ? rc : dead_dir_ready(data_dir);
    path = dead_path(data_dir, output, "");
    rc = rc != 0 ? rc : append_synced(path, b.data, b.len);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[output:%s] cannot write %zu records to %s", output, n, path);
    }
    free(path);
    lc_buf_close(&b);
    return rc;
}

uint64_t lc_delivery_dead_count(const char *data_dir, const char *output)
{
    char *path = dead_path(data_dir, output, ""), buf[65536];
    uint64_t lines = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) {
        return 0;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++) {
            lines++;
        }
    }
    close(fd);
    return lines;
}

/* Appends the file FROM, from byte OFF on, to the file TO, and removes FROM: TO and its
 * entry are synced before FROM goes, and FROM's removal is synced too. */
static int append_file(const char *from, off_t off, const char *to)
{
    char buf[65536];
    ssize_t n;
    off_t size = 0;
    int rc = 0, in = open(from, O_RDONLY | O_CLOEXEC), out;
    if (in < 0) {
        return -errno;
    }
    out = open(to, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (out < 0) {
        rc = -errno;
        close(in);
        return rc;
    }
    rc = end_line(out, &size);
    if (rc == 0 && lseek(in, off, SEEK_SET) < 0) {
        rc = -errno;
    }
    while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
        rc = n < 0 ? (errno == EINTR ? 0 : -errno) : lc_write_all(out, buf, (size_t)n);
    }
    if (rc == 0 && fdatasync(out) != 0) {
        rc = -errno;
    }
    if (rc != 0 && ftruncate(out, size) != 0) {
        lc_log(LC_LOG_ERROR, errno, "[deadletter] cannot cut a failed write back in %s", to);
    }
    close(in);
    close(out);
    rc = rc != 0 ? rc : sync_dir_of(to);
    if (rc == 0 && unlink(from) != 0) {
        rc = -errno;
    }
    return rc != 0 ? rc : sync_dir_of(from);
}

int lc_delivery_dead_recover(const char *data_dir, const char *output)
{
    char *replay = dead_path(data_dir, output, ".replay"), *path = dead_path(data_dir, output, "");
    int rc = 0;
    if (access(replay, F_OK) == 0) {
        lc_log(LC_LOG_WARN, 0,
               "[output:%s] a dead-letter replay was cut short; its records go back to %s", output,
               path);
        rc = append_file(replay, 0, path);
    }
    free(replay);
    free(path);
    return rc;
}

/* ---- parsing a line back ----------------------------------------------------------------- */

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : dflt;
}

/* A dead-letter record is the file output's JSON of a record, and only the Docker input
 * exists so far: it is read back as Docker metadata. (A record of another kind, once one
 * exists, will need its kind in the dead-letter line to be read back as itself.) */
static struct lc_meta *meta_of(json_t *rec)
{
    json_t *labels = json_object_get(rec, "labels");
    char *labels_json = NULL;
    struct lc_meta *m;
    const char *id = str_or(rec, "container_id", "unknown");
    if (json_is_object(labels) && json_object_size(labels) > 0) {
        labels_json = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    }
    m = lc_meta_docker_create(
        id, str_or(rec, "container_name", id), str_or(rec, "image", ""), str_or(rec, "host", ""),
        labels_json, str_or(rec, "compose_project", NULL), str_or(rec, "compose_service", NULL));
    free(labels_json);
    return m;
}

/* The length of TS a record keeps: records cut a longer one at LC_TS_MAX - 1 bytes; cut
 * here at a character boundary, so it stays valid UTF-8 (and is written back as read). */
static size_t ts_length(const char *ts)
{
    size_t n = strlen(ts);
    if (n >= LC_TS_MAX) {
        n = LC_TS_MAX - 1;
        while (n > 0 && ((unsigned char)ts[n] & 0xc0) == 0x80) {
            n--; /* ts[n], the first byte cut off, continues a character: cut before it */
        }
    }
    return n;
}

struct lc_record *lc_delivery_dead_parse(const char *line, size_t len)
{
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    json_t *rec = json_object_get(o, "record"), *msg = json_object_get(rec, "message");
    json_t *tsn = json_object_get(o, "ts_ns");
    const char *ts = str_or(rec, "ts", NULL), *stream = str_or(rec, "stream", "");
    struct lc_record *r = NULL;

    if (json_is_object(rec) && json_is_string(msg) && json_is_integer(tsn) && ts != NULL &&
        (strcmp(stream, "stdout") == 0 || strcmp(stream, "stderr") == 0)) {
        struct lc_meta *m = meta_of(rec);
        r = lc_record_create(m, strcmp(stream, "stderr") == 0 ? LC_STREAM_STDERR : LC_STREAM_STDOUT,
                             (int64_t)json_integer_value(tsn), ts, ts_length(ts),
                             json_string_value(msg), json_string_length(msg),
                             json_is_true(json_object_get(rec, "truncated")));
        lc_meta_unref(m);
    }
    json_decref(o);
    return r;
}

/* ---- replay --------------------------------------------------------------------------------- */

static void free_batch(struct lc_record **recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lc_record_destroy(recs[i]);
    }
}

/* Makes the file PATH and its name durable. Returns 0 or -errno (logged). */
static int sync_file(const char *path)
{
    int rc = 0, fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || fdatasync(fd) != 0) {
        rc = -errno;
        lc_log(LC_LOG_ERROR, rc, "[deadletter] cannot sync %s", path);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc != 0 ? rc : sync_dir_of(path);
}

/* Keeps a line that is not a record in BAD_PATH (a last line cut short gets its '\n'). */
static void keep_bad(const char *bad_path, const char *line, size_t len)
{
    FILE *bad = fopen(bad_path, "ae");
    if (bad != NULL) {
        fwrite(line, 1, len, bad);
        if (line[len - 1] != '\n') {
            fputc('\n', bad);
        }
        fclose(bad);
    }
}

/* Reads the replay file line by line into batches. Lines that are not records go to
 * BAD_PATH. Returns 0 or the error that stopped it, with *UNSENT the offset in the file of
 * the first line not done with (the first record of the batch that was not sent). */
static int replay_file(FILE *f, const char *bad_path, size_t batch, lc_delivery_dead_send_fn send,
                       void *ud, struct lc_delivery_dead_replay_stats *st, off_t *unsent)
{
    struct lc_record **recs = lc_xcalloc(batch, sizeof(*recs));
    char *line = NULL;
    size_t cap = 0, n = 0;
    off_t at = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
        struct lc_record *r = lc_delivery_dead_parse(line, (size_t)len);
        if (r == NULL) {
            st->invalid++;
            keep_bad(bad_path, line, (size_t)len);
        } else {
            *unsent = n == 0 ? at : *unsent;
            recs[n++] = r;
            st->records++;
        }
        at += len;
        if (n == batch) {
            rc = send(ud, recs, n);
            free_batch(recs, n);
            n = 0;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = -EIO; /* what was not read stays in the file */
        *unsent = n == 0 ? at : *unsent;
    }
    if (rc == 0 && n > 0) {
        rc = send(ud, recs, n);
    }
    free_batch(recs, n);
    free(recs);
    free(line);
    return rc;
}

int lc_delivery_dead_replay(const char *data_dir, const char *output, size_t batch,
                            lc_delivery_dead_send_fn send, void *ud,
                            struct lc_delivery_dead_replay_stats *st)
{
    char *path = dead_path(data_dir, output, ""), *replay = dead_path(data_dir, output, ".replay");
    char *bad = dead_path(data_dir, output, ".bad");
    FILE *f;
    off_t unsent = 0;
    int rc = lc_delivery_dead_recover(data_dir, output);

    memset(st, 0, sizeof(*st));
    if (rc == 0 && rename(path, replay) != 0) {
        rc = -errno;
    }
    /* synced before a record goes out: else a power loss could bring the sent ones back */
    rc = rc != 0 ? rc : sync_dir_of(replay);
    if (rc == 0) {
        f = fopen(replay, "re");
        rc = f == NULL ? -errno : replay_file(f, bad, batch > 0 ? batch : 1, send, ud, st, &unsent);
        if (f != NULL) {
            fclose(f);
        }
        if (st->invalid > 0) {
            sync_file(bad); /* logged; the replay goes on: they are not records */
        }
        /* Done: the file goes. Stopped: what was not sent goes back (what was sent does
         * not, or the next replay would send it twice); if that fails, the whole file goes
         * back at the next start. */
        if (rc == 0) {
            rc = unlink(replay) == 0 ? sync_dir_of(replay) : -errno;
        } else if (append_file(replay, unsent, path) != 0) {
            lc_log(LC_LOG_ERROR, 0, "[output:%s] cannot put the replay's rest back in %s", output,
                   path);
        }
    }
    free(path);
    free(replay);
    free(bad);
    return rc;
}
