/* file_input: the file input (see file_input.h). */
#include "inputs/file/file_input.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "base/util.h"
#include "inputs/tail.h"

#define READ_BUDGET (1u << 20) /* bytes one file reads per loop turn */
#define KEY_STARTED "_started" /* a position key: the first start is over (paths start '/') */

struct dirwatch {
    struct dirwatch *next;
    struct lc_file_input *in;
    char *dir; /* with its trailing '/' */
    uv_fs_event_t ev;
};

/* One followed file. */
struct src {
    struct src *next;
    struct lc_file_input *in;
    char *path;
    const char *name; /* the file name, in PATH */
    struct lc_tail tail;
    struct lc_meta *meta;
    int skipping; /* a line over max_line_bytes was cut: the rest up to '\n' is dropped */
    int moved;    /* its position moved since the last commit */
    int more;     /* the last poll stopped at its budget */
    int gone;     /* read to its end while its path names nothing */
    int failing;  /* its last read failed (logged once) */
    uint64_t prev_dev, prev_ino; /* the file rotated away last: not a new file to follow */
};

struct counts {
    uint64_t lines, bytes, truncated, rotations, truncations, lost, errors;
};

struct lc_file_input {
    char *name;
    char tag[80]; /* its log component: "file/<name>" */
    uv_loop_t *loop;
    const struct lc_config *cfg;
    const struct lc_file_input_config *fc;
    struct lc_ingest_input *ingest;
    struct lc_supervisor *sup;
    struct lc_task *task;
    json_t *saved; /* positions recovered from the spool: path -> JSON text */
    struct lc_fields *fields;
    struct src *files;
    size_t n_files;
    struct dirwatch *dirs;
    uv_timer_t refresh;
    uv_idle_t more; /* reads on while a file has more than one turn's budget */
    int first_start;
    int started_said;
    int paused, stopping, wedged;
    int open_handles;
    struct counts counts;
};

/* ---- lines ---------------------------------------------------------------------------- */

/* The read time every line of one read of a file gets. */
struct read_time {
    int64_t ns;
    char text[48];
    size_t len;
};

static void take_line(struct src *s, const struct read_time *at, const char *p, size_t n,
                      int truncated)
{
    struct lc_file_input *in = s->in;
    struct lc_line_view v = {.stream = LC_STREAM_STDOUT,
                             .ts_ns = at->ns,
                             .ts = at->text,
                             .ts_len = at->len,
                             .msg = p,
                             .len = n,
                             .truncated = truncated,
                             .fields = in->fields};
    if (lc_ingest_add(in->ingest, s->meta, &v) < 0) {
        in->counts.errors++; /* above what the spool takes: max_line_bytes forbids it */
        return;
    }
    in->counts.lines++;
    in->counts.bytes += n;
    in->counts.truncated += (uint64_t)truncated;
}

/* The tail's consumer: whole lines, a line cut at max_line_bytes, and at the end of a
 * rotated file its unterminated last line. */
static size_t on_data(void *ud, const char *p, size_t n, uint64_t off, int end)
{
    struct src *s = ud;
    size_t max = s->in->fc->max_line_bytes, at = 0;
    struct read_time now = {.ns = lc_wall_ns()};
    int len_ts = lc_time_format_rfc3339(now.ns, now.text, sizeof(now.text));
    (void)off;
    now.len = len_ts > 0 ? (size_t)len_ts : 0;
    while (at < n) {
        const char *nl = memchr(p + at, '\n', n - at);
        size_t len = nl != NULL ? (size_t)(nl - (p + at)) : n - at;
        if (nl == NULL && !end && !s->skipping && len <= max) {
            break; /* a line being written (one of max bytes may still end right here) */
        }
        if (!s->skipping) {
            take_line(s, &now, p + at, len < max ? len : max, len > max);
        }
        /* cut and not ended yet: its rest is dropped as it comes, up to its '\n' */
        s->skipping = nl == NULL && !end;
        at += len + (nl != NULL);
    }
    s->moved = s->moved || at > 0;
    return at;
}

static void on_change(void *ud, enum lc_tail_change c, uint64_t lost)
{
    struct src *s = ud;
    struct lc_file_input *in = s->in;
    (void)lost;
    s->moved = 1;
    s->skipping = 0;
    switch (c) {
    case LC_TAIL_ROTATED:
        in->counts.rotations++;
        s->gone = 0;
        s->prev_dev = s->tail.id.dev; /* still the old file's while this is said */
        s->prev_ino = s->tail.id.ino;
        lc_log(LC_LOG_INFO, 0, "[%s] %s was rotated: read the old file to its end, now the new one",
               in->tag, s->path);
        break;
    case LC_TAIL_TRUNCATED:
        in->counts.truncations++;
        lc_log(LC_LOG_WARN, 0,
               "[%s] %s was truncated (copytruncate): reading it again from its start; lines "
               "written between the copy and the truncation are only in the copy",
               in->tag, s->path);
        break;
    case LC_TAIL_DELETED:
        s->gone = 1;
        break;
    default:
        in->counts.lost++;
        lc_log(LC_LOG_WARN, 0,
               "[%s] %s: the file read before is gone (deleted or rotated away while logcap "
               "was stopped): its unread lines are lost; reading the file now at this path "
               "from its start",
               in->tag, s->path);
        break;
    }
}

/* ---- reading -------------------------------------------------------------------------- */

static void more_cb(uv_idle_t *h);

static void poll_file(struct src *s)
{
    struct lc_file_input *in = s->in;
    int rc;
    if (in->paused || in->stopping || in->wedged || in->task == NULL) {
        return;
    }
    rc = lc_tail_poll(&s->tail, READ_BUDGET);
    s->more = rc == 1;
    if (rc < 0 && !s->failing) {
        in->counts.errors++;
        lc_log(LC_LOG_ERROR, rc, "[%s] cannot read %s (will try again)", in->tag, s->path);
        lc_task_error(in->task, rc, "cannot read %s", s->path);
    }
    s->failing = rc < 0;
    if (s->more && !uv_is_active((uv_handle_t *)&in->more)) {
        uv_idle_start(&in->more, more_cb);
    }
    if (s->moved) {
        lc_task_progress(in->task);
    }
}

static void more_cb(uv_idle_t *h)
{
    struct lc_file_input *in = h->data;
    int any = 0;
    for (struct src *s = in->files; s != NULL; s = s->next) {
        if (s->more) {
            poll_file(s);
            any |= s->more;
        }
    }
    if (!any || in->paused) {
        uv_idle_stop(&in->more);
    }
}

/* ---- following and forgetting files ------------------------------------------------- */

static struct src *find_file(struct lc_file_input *in, const char *path)
{
    for (struct src *s = in->files; s != NULL; s = s->next) {
        if (strcmp(s->path, path) == 0) {
            return s;
        }
    }
    return NULL;
}

static int excluded(const struct lc_file_input *in, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    for (size_t i = 0; i < in->fc->n_exclude; i++) {
        if (fnmatch(in->fc->exclude[i], path, 0) == 0 ||
            fnmatch(in->fc->exclude[i], base, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Whether the file at PATH (ST) is one followed already, or the one rotated away from a
 * followed path (app.log.1 when the glob matches it too): following it as a new file would
 * read its lines a second time. */
static int known_file(const struct lc_file_input *in, const struct stat *st)
{
    for (const struct src *s = in->files; s != NULL; s = s->next) {
        if ((s->tail.fd >= 0 && s->tail.id.dev == (uint64_t)st->st_dev &&
             s->tail.id.ino == (uint64_t)st->st_ino) ||
            (s->prev_ino != 0 && s->prev_dev == (uint64_t)st->st_dev &&
             s->prev_ino == (uint64_t)st->st_ino)) {
            return 1;
        }
    }
    return 0;
}

static int wanted(const struct lc_file_input *in, const char *path)
{
    for (size_t i = 0; i < in->fc->n_paths; i++) {
        if (fnmatch(in->fc->paths[i], path, FNM_PATHNAME) == 0) {
            return !excluded(in, path);
        }
    }
    return 0;
}

/* The saved position of PATH, if the spool has one. */
static int saved_position(struct lc_file_input *in, const char *path, struct lc_tail_pos *pos)
{
    json_t *text = json_object_get(in->saved, path), *j;
    int ok;
    if (!json_is_string(text) || (j = json_loads(json_string_value(text), 0, NULL)) == NULL) {
        return 0;
    }
    ok = lc_tail_pos_from_json(j, pos);
    json_decref(j);
    return ok;
}

static void watch_dir(struct lc_file_input *in, const char *dir);

static struct lc_meta *file_meta(const struct lc_file_input *in, const char *path, const char *name)
{
    struct lc_attr attrs[3] = {{"path", path, 0}, {"file", name, 0}, {"host", NULL, 0}};
    attrs[2].value = in->cfg->hostname != NULL && in->cfg->hostname[0] ? in->cfg->hostname : NULL;
    return lc_meta_create("file", path, name, attrs, 3);
}

/* Follows PATH. FOUND_AT_START: found by the first scan of the input's first start. */
static void follow(struct lc_file_input *in, const char *path, int found_at_start)
{
    struct src *s = lc_xcalloc(1, sizeof(*s));
    struct lc_tail_cbs cbs = {.data = on_data, .change = on_change, .ud = s};
    struct lc_tail_pos pos;
    int has_pos = saved_position(in, path, &pos), rc;
    const char *slash = strrchr(path, '/');
    s->in = in;
    s->path = lc_xstrdup(path);
    s->name = s->path + (slash != NULL ? (size_t)(slash - path) + 1 : 0);
    rc = lc_tail_open(&s->tail, path, has_pos ? &pos : NULL,
                      found_at_start && in->fc->read_from == LC_FILE_INPUT_FROM_END, &cbs);
    if (rc != 0) {
        lc_log(LC_LOG_ERROR, rc, "[%s] cannot open %s (will try again)", in->tag, path);
        lc_task_error(in->task, rc, "cannot open %s", path);
        lc_tail_close(&s->tail);
        free(s->path);
        free(s);
        return;
    }
    s->meta = file_meta(in, path, s->name);
    s->moved = 1; /* its position goes into the next commit */
    s->next = in->files;
    in->files = s;
    in->n_files++;
    lc_log(LC_LOG_INFO, 0, "[%s] following %s%s", in->tag, path,
           has_pos ? " from its saved position" : "");
    {
        char *dir = lc_xstrndup(path, (size_t)(s->name - s->path));
        watch_dir(in, dir);
        free(dir);
    }
    poll_file(s);
}

/* Closes S and frees it (its position stays as the last commit left it). */
static void drop_file(struct lc_file_input *in, struct src *s)
{
    struct src **pp = &in->files;
    while (*pp != s) {
        pp = &(*pp)->next;
    }
    *pp = s->next;
    in->n_files--;
    lc_ingest_forget_meta(in->ingest, s->meta);
    lc_meta_unref(s->meta);
    lc_tail_close(&s->tail);
    free(s->path);
    free(s);
}

/* Stops following S, deleted and read to its end: its position is removed with the next
 * commit. */
static void unfollow(struct lc_file_input *in, struct src *s)
{
    lc_log(LC_LOG_INFO, 0, "[%s] %s is deleted and read to its end: no longer followed", in->tag,
           s->path);
    lc_ingest_set_position(in->ingest, s->path, NULL, 0);
    drop_file(in, s);
}

/* Matches the globs: follows what is new, forgets files deleted and read to their end. */
static void scan(struct lc_file_input *in, int first)
{
    struct stat st;
    for (size_t i = 0; i < in->fc->n_paths; i++) {
        glob_t g;
        if (glob(in->fc->paths[i], GLOB_NOSORT, NULL, &g) != 0) {
            continue;
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            const char *p = g.gl_pathv[k];
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && !excluded(in, p) &&
                find_file(in, p) == NULL && !known_file(in, &st)) {
                follow(in, p, first);
            }
        }
        globfree(&g);
    }
    for (struct src *s = in->files, *next; s != NULL; s = next) {
        next = s->next;
        poll_file(s);
        if (s->gone && stat(s->path, &st) != 0 && !s->more) {
            unfollow(in, s);
        }
    }
}

/* ---- watching directories ------------------------------------------------------------- */

static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct dirwatch *w = h->data;
    struct lc_file_input *in = w->in;
    char path[4096];
    struct src *s;
    (void)events;
    if (status < 0 || in->stopping || filename == NULL) {
        return;
    }
    snprintf(path, sizeof(path), "%s%s", w->dir, filename);
    s = find_file(in, path);
    if (s != NULL) {
        poll_file(s);
    } else if (wanted(in, path)) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && !known_file(in, &st)) {
            follow(in, path, 0);
        }
    }
}

static void watch_dir(struct lc_file_input *in, const char *dir)
{
    struct dirwatch *w;
    int rc;
    for (w = in->dirs; w != NULL; w = w->next) {
        if (strcmp(w->dir, dir) == 0) {
            return;
        }
    }
    w = lc_xcalloc(1, sizeof(*w));
    w->in = in;
    w->dir = lc_xstrdup(dir);
    uv_fs_event_init(in->loop, &w->ev);
    w->ev.data = w;
    in->open_handles++;
    rc = uv_fs_event_start(&w->ev, on_dir_event, dir, 0);
    if (rc != 0) {
        lc_log(LC_LOG_WARN, 0, "[%s] cannot watch %s (%s): it is looked at every refresh_interval",
               in->tag, dir, uv_strerror(rc));
    }
    w->next = in->dirs;
    in->dirs = w;
}

/* The literal directory of each glob (up to its first wildcard), when it exists. */
static void watch_glob_dirs(struct lc_file_input *in)
{
    for (size_t i = 0; i < in->fc->n_paths; i++) {
        const char *p = in->fc->paths[i];
        size_t lit = strcspn(p, "*?[");
        char *dir = lc_xstrndup(p, lit);
        char *slash = strrchr(dir, '/');
        struct stat st;
        if (slash != NULL) {
            slash[1] = '\0';
            if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
                watch_dir(in, dir);
            }
        }
        free(dir);
    }
}

/* ---- positions ------------------------------------------------------------------------ */

static void put_positions(void *ud)
{
    struct lc_file_input *in = ud;
    char text[LC_TAIL_POS_JSON_MAX];
    for (struct src *s = in->files; s != NULL; s = s->next) {
        struct lc_tail_pos pos;
        int n;
        if (!s->moved || lc_tail_position(&s->tail, &pos) != 0) {
            continue;
        }
        n = lc_tail_pos_format(&pos, text, sizeof(text));
        lc_ingest_set_position(in->ingest, s->path, text, (size_t)n);
        s->moved = 0;
    }
    if (!in->started_said) {
        lc_ingest_set_position(in->ingest, KEY_STARTED, "true", 4);
        in->started_said = 1;
    }
}

static void set_paused(void *ud, int pause)
{
    struct lc_file_input *in = ud;
    in->paused = pause;
    if (pause) {
        uv_idle_stop(&in->more);
        return;
    }
    for (struct src *s = in->files; s != NULL; s = s->next) {
        poll_file(s);
    }
}

/* ---- the task ------------------------------------------------------------------------- */

static void refresh_cb(uv_timer_t *t)
{
    struct lc_file_input *in = t->data;
    if (in->wedged) {
        return;
    }
    lc_task_beat(in->task);
    if (!in->paused) {
        scan(in, 0);
    }
}

/* The supervisor's restart: every file is closed and followed again from the position of
 * what was taken. */
static void restart_task(void *ud)
{
    struct lc_file_input *in = ud;
    put_positions(in); /* what was taken is in the next commit; the saved map follows it */
    for (struct src *s = in->files; s != NULL; s = s->next) {
        struct lc_tail_pos pos;
        if (lc_tail_position(&s->tail, &pos) == 0) {
            char text[LC_TAIL_POS_JSON_MAX];
            lc_tail_pos_format(&pos, text, sizeof(text));
            json_object_set_new(in->saved, s->path, json_string(text));
        }
    }
    while (in->files != NULL) {
        drop_file(in, in->files);
    }
    in->wedged = 0;
    lc_task_set_state(in->task, LC_TASK_RUNNING);
    scan(in, 0);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static struct lc_fields *config_fields(const struct lc_file_input_config *fc)
{
    struct lc_attr *items;
    struct lc_fields *f;
    if (fc->n_fields == 0) {
        return NULL;
    }
    items = lc_xcalloc(fc->n_fields, sizeof(*items));
    for (size_t i = 0; i < fc->n_fields; i++) {
        items[i] = (struct lc_attr){fc->fields[i].name, fc->fields[i].value, 0};
    }
    f = lc_fields_create(items, fc->n_fields);
    free(items);
    return f;
}

static void *file_input_create(const struct lc_input_ctx *ctx)
{
    struct lc_file_input *in = lc_xcalloc(1, sizeof(*in));
    in->name = lc_xstrdup(ctx->name);
    snprintf(in->tag, sizeof(in->tag), "file/%s", in->name);
    in->loop = ctx->loop;
    in->cfg = ctx->cfg;
    in->fc = ctx->section->opts;
    in->ingest = ctx->src;
    in->sup = ctx->sup;
    in->saved = lc_ingest_positions(ctx->src);
    if (in->saved == NULL) {
        in->saved = json_object();
    }
    in->first_start = json_object_get(in->saved, KEY_STARTED) == NULL;
    in->started_said = !in->first_start;
    in->fields = config_fields(in->fc);
    uv_timer_init(in->loop, &in->refresh);
    uv_idle_init(in->loop, &in->more);
    in->refresh.data = in;
    in->more.data = in;
    in->open_handles = 2;
    return in;
}

static void file_input_start(void *state)
{
    static const struct lc_task_ops ops = {.restart = restart_task};
    struct lc_file_input *in = state;
    char id[LC_SNAP_ID_MAX];
    snprintf(id, sizeof(id), "tail_%s", in->name);
    in->task = lc_task_create(in->sup, id, "file_input", &ops, in);
    lc_task_set_owner(in->task, in->name);
    lc_task_set_timeout(in->task, 2 * in->fc->refresh_ms + 60000);
    watch_glob_dirs(in);
    scan(in, in->first_start);
    lc_task_set_state(in->task, LC_TASK_RUNNING);
    uv_timer_start(&in->refresh, refresh_cb, in->fc->refresh_ms, in->fc->refresh_ms);
}

static void file_input_stop(void *state)
{
    struct lc_file_input *in = state;
    if (in->stopping) {
        return;
    }
    in->stopping = 1;
    uv_timer_stop(&in->refresh);
    uv_idle_stop(&in->more);
    for (struct dirwatch *w = in->dirs; w != NULL; w = w->next) {
        uv_fs_event_stop(&w->ev);
    }
    if (in->task != NULL) {
        lc_task_set_state(in->task, LC_TASK_STOPPED);
    }
}

static void file_input_pause(void *state)
{
    set_paused(state, 1);
}

static void file_input_resume(void *state)
{
    set_paused(state, 0);
}

static void file_input_snapshot(void *state, struct lc_snapshot *snap, struct lc_input_snap *self)
{
    struct lc_file_input *in = state;
    (void)snap;
    self->connected = 1;
    self->sources = in->n_files;
    self->files.lines = in->counts.lines;
    self->files.bytes = in->counts.bytes;
    self->files.truncated = in->counts.truncated;
    self->files.rotations = in->counts.rotations;
    self->files.truncations = in->counts.truncations;
    self->files.lost = in->counts.lost;
    self->files.errors = in->counts.errors;
}

static int file_input_wedge(void *state, const char *task_id)
{
    struct lc_file_input *in = state;
    if (in->task == NULL || strcmp(lc_task_id(in->task), task_id) != 0) {
        return -ENOENT;
    }
    in->wedged = 1;
    uv_idle_stop(&in->more);
    return 0;
}

static void free_input(struct lc_file_input *in)
{
    while (in->dirs != NULL) {
        struct dirwatch *w = in->dirs;
        in->dirs = w->next;
        free(w->dir);
        free(w);
    }
    free(in->name);
    free(in);
}

static void handle_closed(uv_handle_t *h)
{
    struct lc_file_input *in = h->data;
    if (h->type == UV_FS_EVENT) {
        in = ((struct dirwatch *)h->data)->in;
    }
    if (--in->open_handles == 0) {
        free_input(in);
    }
}

static void file_input_destroy(void *state)
{
    struct lc_file_input *in = state;
    if (in == NULL) {
        return;
    }
    file_input_stop(in);
    while (in->files != NULL) {
        drop_file(in, in->files);
    }
    lc_task_destroy(in->task);
    in->task = NULL;
    json_decref(in->saved);
    lc_fields_free(in->fields);
    for (struct dirwatch *w = in->dirs; w != NULL; w = w->next) {
        uv_close((uv_handle_t *)&w->ev, handle_closed);
    }
    uv_close((uv_handle_t *)&in->refresh, handle_closed);
    uv_close((uv_handle_t *)&in->more, handle_closed);
}

static void file_input_positions(void *state)
{
    put_positions(state);
}

const struct lc_input_ops lc_input_file = {
    .type = "file",
    .config = &lc_file_input_config_plugin,
    .create = file_input_create,
    .start = file_input_start,
    .stop = file_input_stop,
    .pause = file_input_pause,
    .resume = file_input_resume,
    .positions = file_input_positions,
    .snapshot = file_input_snapshot,
    .wedge = file_input_wedge,
    .destroy = file_input_destroy,
};
