/* test_spool_power: what a crash or a power loss can leave of the spool, and what the
 * spool must still promise: every line an input appended is either in the spool or after
 * the position recovery gives back to that input (so the input reads it again), never
 * neither.
 *
 * A spool is built the way the Docker input uses it: two runs (open, appends, clean
 * close), each append holding lines of a few of five containers and, after them, the
 * position "docker/<id>" of each container that had lines in it (how many of its lines
 * were taken), with small segments so that rotation is in play. Then, for every 4 KiB page
 * of the last run's segments (the tail a power loss with sync: interval, or a sync that
 * failed, can leave unwritten), the pristine files are restored and damaged in one way:
 * cut there, cut at the end of the last append before it (a cut that looks whole), that
 * page zeroed, that page zeroed with the next one written and the rest cut (writeback out
 * of order), or zeroed from there to the end with the size kept (blocks never written).
 * After each: recovery, and the check above; then the input reads again from its
 * recovered positions, and after another restart every line must be in the spool and
 * every position must be the new run's (the damage of an earlier run holds nothing back).
 *
 * Also: a cursor file is made durable with its directory entry (fsync and fdatasync of
 * this binary are wrapped to see the order in which files reach the disk). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "core/record.h"
#include "spool/spool.h"
#include "spool/spool_format.h"
#include "spool/spool_reader.h"
#include "base/util.h"
#include "test.h"

#define NC 5 /* containers */
#define MAX_LINES 4096
#define PAGE 4096
#define SEG_BYTES (16u << 10)
#define MAX_FILES 64
#define DEADLINE_MS 10000
#define BASE_NS 1795350283000000000LL

/* ---- fsync and fdatasync, logged ------------------------------------------------------ */

/* The syncs of this process since sync_log_reset, in order: "fsync <path>" or
 * "fdatasync <path>". The real calls are made; this only looks. */
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static char sync_log[64][300];
static int sync_n;

static void sync_note(const char *what, int fd)
{
    char link[64], path[256];
    ssize_t n;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    path[n > 0 ? n : 0] = '\0';
    pthread_mutex_lock(&sync_lock);
    if (sync_n < 64) {
        snprintf(sync_log[sync_n++], sizeof(sync_log[0]), "%s %s", what, path);
    }
    pthread_mutex_unlock(&sync_lock);
}

static void sync_log_reset(void)
{
    pthread_mutex_lock(&sync_lock);
    sync_n = 0;
    pthread_mutex_unlock(&sync_lock);
}

/* Index of the first entry at or after FROM equal to WHAT, or -1. */
static int sync_find(int from, const char *what)
{
    int found = -1;
    pthread_mutex_lock(&sync_lock);
    for (int i = from; i < sync_n && found < 0; i++) {
        if (strcmp(sync_log[i], what) == 0) {
            found = i;
        }
    }
    pthread_mutex_unlock(&sync_lock);
    return found;
}

static void sync_log_print(void)
{
    pthread_mutex_lock(&sync_lock);
    for (int i = 0; i < sync_n; i++) {
        fprintf(stderr, "    sync %d: %s\n", i, sync_log[i]);
    }
    pthread_mutex_unlock(&sync_lock);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (real == NULL) {
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    }
    sync_note("fsync", fd);
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (real == NULL) {
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    }
    sync_note("fdatasync", fd);
    return real(fd);
}

/* ---- a directory, a spool, five containers ---------------------------------------------- */

struct seg_file {
    char name[32];
    uint8_t *data;
    size_t len;
};

struct world {
    char dir[64];   /* mkdtemp */
    char spool[96]; /* dir/spool */
    struct lc_spool *sp;
    enum lc_sync_mode sync;
    struct lc_meta *meta[NC];
    uint64_t n[NC];       /* lines appended per container (line i of container k: i < n[k]) */
    uint64_t run_records; /* records appended since this open */
    uint64_t index0;      /* the spool's end index at this open */
    uint32_t rng;
    struct seg_file files[MAX_FILES]; /* the pristine spool, before any damage */
    size_t n_files;
    size_t first_damaged; /* files[first_damaged..]: the last run's segments */
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void world_init(struct world *w, enum lc_sync_mode sync)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/lc_spool_power.XXXXXX");
    if (mkdtemp(w->dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    w->sync = sync;
    w->rng = 12345;
    for (int k = 0; k < NC; k++) {
        char id[80], name[16];
        snprintf(id, sizeof(id), "%064x", 0xc0de00 + k);
        snprintf(name, sizeof(name), "app-%d", k);
        w->meta[k] = lc_meta_docker_create(id, name, "busybox", "host-a", NULL, NULL, NULL);
    }
}

static void world_done(struct world *w)
{
    lc_spool_close(w->sp);
    w->sp = NULL;
    for (int k = 0; k < NC; k++) {
        lc_meta_unref(w->meta[k]);
    }
    for (size_t i = 0; i < w->n_files; i++) {
        free(w->files[i].data);
    }
    nftw(w->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint32_t rnd(struct world *w)
{
    w->rng = w->rng * 1103515245u + 12345u;
    return w->rng >> 8;
}

/* Opens the spool (not started). Returns 0 or -errno. */
static int world_open(struct world *w, struct lc_spool_recovery *rep)
{
    struct lc_spool_options o = {.dir = w->spool,
                                 .segment_bytes = SEG_BYTES,
                                 .max_bytes = 1u << 30,
                                 .sync = w->sync,
                                 .sync_interval_ms = 60000};
    struct lc_spool_pos end;
    int rc = lc_spool_open(&o, &w->sp, rep);
    if (rc == 0) {
        lc_spool_end(w->sp, &end, &w->index0);
        w->run_records = 0;
    }
    return rc;
}

static void world_close(struct world *w)
{
    lc_spool_close(w->sp);
    w->sp = NULL;
}

/* ---- lines ------------------------------------------------------------------------------ */

/* Line I of container K: its number, and filler of a varying length (sometimes holding
 * "LC", which a resynchronising scan takes for a frame's magic). */
static size_t line_msg(int k, uint64_t i, char *out)
{
    int n = snprintf(out, 64, "c%d line %05llu ", k, (unsigned long long)i);
    size_t len = (size_t)n + (size_t)((i * 37 + (uint64_t)k * 11) % 180);
    for (size_t j = (size_t)n; j < len; j++) {
        out[j] = (char)('a' + (j + i) % 26);
    }
    if (i % 13 == 7 && len > (size_t)n + 4) {
        memcpy(out + n + 1, "LC", 2);
    }
    return len;
}

static int64_t line_ts(int k, uint64_t i)
{
    return BASE_NS + (int64_t)i * 1000000 + k;
}

static void add_line(struct world *w, int k, uint64_t i)
{
    char msg[300], ts[48];
    size_t len = line_msg(k, i, msg);
    int tlen = snprintf(ts, sizeof(ts), "2026-11-22T12:24:43.%09lluZ",
                        (unsigned long long)(i * 1000 % 1000000000));
    if (lc_spool_add(w->sp, w->meta[k], i % 3 == 0 ? LC_STREAM_STDERR : LC_STREAM_STDOUT,
                     line_ts(k, i), ts, (size_t)tlen, msg, len, 0) != 0) {
        abort();
    }
    w->run_records++;
}

static void set_pos(struct world *w, int k, uint64_t n)
{
    char key[96], v[64];
    int len = snprintf(v, sizeof(v), "{\"n\":%llu}", (unsigned long long)n);
    snprintf(key, sizeof(key), "docker/%s", w->meta[k]->id);
    lc_spool_set_position(w->sp, key, v, (size_t)len);
}

/* Waits until the writer has made every record of this run visible. */
static int wait_written(struct world *w)
{
    uint64_t t0 = lc_now_ms();
    for (;;) {
        struct lc_spool_pos end;
        uint64_t idx;
        lc_spool_end(w->sp, &end, &idx);
        if (idx >= w->index0 + w->run_records) {
            return 1;
        }
        if (lc_now_ms() - t0 > DEADLINE_MS) {
            fprintf(stderr, "  timed out waiting for the writer\n");
            return 0;
        }
        lc_spool_wait(w->sp, &end, 100);
    }
}

/* One append as the Docker input makes it: the new lines of one to three containers, then
 * the position of each of them; waited for, so that each write is one append. */
static int docker_append(struct world *w)
{
    int dirty[NC] = {0};
    int nct = 1 + (int)(rnd(w) % 3);
    for (int c = 0; c < nct; c++) {
        int k = (int)(rnd(w) % NC), lines = 1 + (int)(rnd(w) % 6);
        for (int l = 0; l < lines && w->n[k] < MAX_LINES; l++) {
            add_line(w, k, w->n[k]++);
        }
        dirty[k] = 1;
    }
    for (int k = 0; k < NC; k++) {
        if (dirty[k]) {
            set_pos(w, k, w->n[k]);
        }
    }
    lc_spool_commit(w->sp);
    return wait_written(w);
}

/* ---- what recovery gave back --------------------------------------------------------- */

/* The recovered position of container K: lines taken (0 when it has none). */
static uint64_t recovered_pos(json_t *all, const struct world *w, int k)
{
    char key[96];
    const char *text;
    json_t *v, *n;
    uint64_t p = 0;
    snprintf(key, sizeof(key), "docker/%s", w->meta[k]->id);
    text = json_string_value(json_object_get(all, key));
    v = text != NULL ? json_loads(text, 0, NULL) : NULL;
    n = json_object_get(v, "n");
    if (json_is_integer(n)) {
        p = (uint64_t)json_integer_value(n);
    }
    json_decref(v);
    return p;
}

/* Which container and line a record is, checking every byte of it. Returns 0, or -1 (and
 * says why) when it is no line the test appended. */
static int which_line(const struct world *w, const struct lc_record *r, int *k, uint64_t *i)
{
    char msg[300];
    size_t len;
    if (sscanf(r->msg, "c%d line %llu ", k, (unsigned long long *)i) != 2 || *k < 0 || *k >= NC ||
        *i >= MAX_LINES) {
        fprintf(stderr, "  a record that is no line of the test: %.40s\n", r->msg);
        return -1;
    }
    len = line_msg(*k, *i, msg);
    if (r->len != len || memcmp(r->msg, msg, len) != 0 || r->ts_ns != line_ts(*k, *i) ||
        (strcmp(r->meta->id, w->meta[*k]->id) != 0 && strcmp(r->meta->id, "unknown") != 0)) {
        fprintf(stderr, "  container %d line %llu came back different\n", *k,
                (unsigned long long)*i);
        return -1;
    }
    return 0;
}

/* The promise after a recovery: every line appended is in the spool or after its
 * container's recovered position. With ALL_APPLIED, also: every position is the last one
 * appended (nothing held back). Returns the number of broken promises (printed, the first
 * few, under the name of the case WHAT). */
static int check_promise(struct world *w, const char *what, int all_applied)
{
    static uint8_t seen[NC][MAX_LINES];
    struct lc_spool_reader *r = lc_spool_reader_create(w->sp, &(struct lc_spool_pos){0, 0});
    struct lc_spool_pos end;
    struct lc_record *rec;
    json_t *all = lc_spool_positions(w->sp);
    int rc, bad = 0, k;
    uint64_t i;

    memset(seen, 0, sizeof(seen));
    while ((rc = lc_spool_reader_next(r, &rec, &end)) == 1) {
        if (which_line(w, rec, &k, &i) == 0) {
            seen[k][i] = 1;
        } else {
            bad++;
        }
        lc_record_destroy(rec);
    }
    lc_spool_reader_destroy(r);
    if (rc < 0) {
        fprintf(stderr, "  %s: reader error %d\n", what, rc);
        bad++;
    }
    for (k = 0; k < NC; k++) {
        uint64_t p = recovered_pos(all, w, k), lost = 0, first = 0;
        if (p > w->n[k] || (all_applied && p != w->n[k])) {
            fprintf(stderr, "  %s: container %d: position %llu, %llu lines appended\n", what, k,
                    (unsigned long long)p, (unsigned long long)w->n[k]);
            bad++;
        }
        for (i = 0; i < w->n[k] && i < p; i++) {
            if (!seen[k][i]) {
                first = lost++ == 0 ? i : first;
            }
        }
        if (lost > 0) {
            fprintf(stderr,
                    "  %s: container %d: %llu lines (the first: %llu) are neither in the spool "
                    "nor after its position %llu\n",
                    what, k, (unsigned long long)lost, (unsigned long long)first,
                    (unsigned long long)p);
            bad++;
        }
    }
    json_decref(all);
    return bad;
}

/* ---- the spool's files ------------------------------------------------------------------ */

static int is_seg(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".seg") == 0;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct seg_file *)a)->name, ((const struct seg_file *)b)->name);
}

/* Keeps a copy of every segment file (sorted by name, which is by id). */
static int save_pristine(struct world *w)
{
    DIR *d = opendir(w->spool);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && w->n_files < MAX_FILES) {
        char path[200];
        char *data = NULL;
        struct seg_file *f = &w->files[w->n_files];
        if (!is_seg(e->d_name)) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", w->spool, e->d_name);
        if (lc_read_file(path, 1u << 30, &data, &f->len) != 0) {
            closedir(d);
            return 0;
        }
        f->data = (uint8_t *)data;
        snprintf(f->name, sizeof(f->name), "%s", e->d_name);
        w->n_files++;
    }
    if (d != NULL) {
        closedir(d);
    }
    qsort(w->files, w->n_files, sizeof(w->files[0]), cmp_file);
    return d != NULL && w->n_files > 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640), ok;
    ok = fd >= 0 && (len == 0 || write(fd, data, len) == (ssize_t)len);
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* The spool directory as the build left it (what later opens added is removed). */
static int restore_pristine(struct world *w)
{
    DIR *d = opendir(w->spool);
    struct dirent *e;
    char path[400];
    int ok = d != NULL;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", w->spool, e->d_name);
            unlink(path);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    for (size_t i = 0; ok && i < w->n_files; i++) {
        snprintf(path, sizeof(path), "%s/%s", w->spool, w->files[i].name);
        ok = write_file(path, w->files[i].data, w->files[i].len);
    }
    return ok;
}

enum damage {
    CUT,          /* the file ends at the page */
    CUT_APPEND,   /* the file ends at the last end of an append before the page */
    ZERO,         /* the page reads as zeros */
    ZERO_NEXT_OK, /* the page zeros, the next one written, nothing after it */
    ZERO_TO_END,  /* zeros from the page on, the file's size kept */
    N_DAMAGE
};

static const char *const damage_name[] = {"cut", "cut at the append before", "zeroed",
                                          "zeroed, next written, rest cut", "zeroed to the end"};

/* The end of the last append of F that ends at or before OFF (after the checkpoint), or 0.
 * A cut there leaves a file that looks whole. */
static size_t append_end_before(const struct seg_file *f, size_t off)
{
    size_t pos = LC_SPOOL_SEG_HDR, skipped, found = 0, appends = 0;
    struct lc_spool_frame fr;
    uint64_t id;
    uint32_t seed;
    if (lc_spool_seg_header_check(f->data, f->len, &id, &seed) != 0) {
        return 0;
    }
    while (lc_spool_frame_next(f->data, f->len, &pos, &fr, &skipped, seed) == LC_SCAN_FRAME &&
           pos <= off) {
        if ((fr.flags & LC_SPOOL_F_TXN_END) && appends++ > 0) {
            found = pos;
        }
    }
    return found;
}

/* Damages file F (pristine) from page P in the way D. Returns 0 when the page is past its
 * end (nothing to do). */
static int damage_file(const struct world *w, const struct seg_file *f, size_t p, enum damage d)
{
    char path[400];
    size_t from = p * PAGE, len = f->len, zero_to;
    uint8_t *data;
    int ok;
    if (from >= f->len) {
        return 0;
    }
    data = lc_xmalloc(f->len);
    memcpy(data, f->data, f->len);
    zero_to = from + PAGE < f->len ? from + PAGE : f->len;
    if (d == CUT) {
        len = from;
    } else if (d == CUT_APPEND) {
        len = append_end_before(f, from);
        if (len == 0) {
            free(data);
            return 0;
        }
    } else if (d == ZERO_TO_END) {
        zero_to = f->len;
    } else if (d == ZERO_NEXT_OK && from + 2 * PAGE < f->len) {
        len = from + 2 * PAGE;
    }
    if (d != CUT && d != CUT_APPEND) {
        memset(data + from, 0, zero_to - from);
    }
    snprintf(path, sizeof(path), "%s/%s", w->spool, f->name);
    ok = write_file(path, data, len);
    free(data);
    return ok ? 1 : -1;
}

/* ---- the tests ------------------------------------------------------------------------ */

/* The input after a recovery: reads every container again from its recovered position
 * (the same lines: Docker still holds them) and appends them with new positions. */
static int read_again(struct world *w)
{
    json_t *all = lc_spool_positions(w->sp);
    int ok = lc_spool_start(w->sp) == 0;
    for (int k = 0; k < NC && ok; k++) {
        uint64_t p = recovered_pos(all, w, k);
        for (uint64_t i = p; i < w->n[k]; i++) {
            add_line(w, k, i);
        }
        set_pos(w, k, w->n[k]);
        lc_spool_commit(w->sp);
        ok = wait_written(w);
    }
    json_decref(all);
    return ok;
}

/* One damage case: restore, damage, recover, check; the input reads again; restart,
 * check that nothing is held back any more. Returns the broken promises. */
static int one_case(struct world *w, size_t file, size_t page, enum damage d)
{
    char what[160];
    struct lc_spool_recovery rep;
    int bad, rc;
    if (!restore_pristine(w)) {
        return 1;
    }
    rc = damage_file(w, &w->files[file], page, d);
    if (rc <= 0) {
        return rc < 0;
    }
    snprintf(what, sizeof(what), "%s, page %zu %s", w->files[file].name, page, damage_name[d]);
    if (world_open(w, &rep) != 0) {
        fprintf(stderr, "  %s: open failed\n", what);
        return 1;
    }
    bad = check_promise(w, what, 0);
    if (!read_again(w)) {
        world_close(w);
        return bad + 1;
    }
    world_close(w);
    strncat(what, ", read again", sizeof(what) - strlen(what) - 1);
    if (world_open(w, &rep) != 0) {
        return bad + 1;
    }
    bad += check_promise(w, what, 1);
    world_close(w);
    return bad;
}

TEST(power_loss_in_the_unsynced_tail)
{
    static const int appends[2] = {150, 45};
    struct world *w = lc_xcalloc(1, sizeof(*w));
    int ok = 1, bad = 0, cases = 0, failed_cases = 0;
    struct lc_spool_pos end;
    uint64_t idx;
    world_init(w, LC_SYNC_INTERVAL);
    lc_log_set_level(LC_LOG_ERROR); /* recovery reports every damage it finds */
    /* two runs, each ending with a clean stop; the second one's segments (its first, made
     * at open, and those made by rotation) are the tail a power loss may damage */
    for (int run = 0; run < 2 && ok; run++) {
        ok = world_open(w, NULL) == 0 && lc_spool_start(w->sp) == 0;
        if (ok && run == 1) {
            lc_spool_end(w->sp, &end, &idx);
            w->first_damaged = (size_t)end.seg - 1;
        }
        for (int a = 0; a < appends[run] && ok; a++) {
            ok = docker_append(w);
        }
        world_close(w);
    }
    ok = ok && save_pristine(w) && w->first_damaged + 3 <= w->n_files;
    if (!ok) {
        world_done(w);
        free(w);
        LC_FAIL_("setup failed");
    }
    /* nothing damaged: every line is in the spool and every position applied */
    ok = restore_pristine(w) && world_open(w, NULL) == 0;
    bad = ok ? check_promise(w, "undamaged", 1) : 1;
    world_close(w);
    for (size_t f = w->first_damaged; f < w->n_files; f++) {
        for (size_t p = 0; p * PAGE < w->files[f].len; p++) {
            for (int d = 0; d < N_DAMAGE; d++) {
                int b = one_case(w, f, p, (enum damage)d);
                cases++;
                failed_cases += b > 0;
                bad += b;
            }
        }
    }
    fprintf(stderr, "  %d damage cases over the last run's %zu segments; %d broke the promise\n",
            cases, w->n_files - w->first_damaged, failed_cases);
    lc_log_set_level(LC_LOG_INFO);
    world_done(w);
    free(w);
    ASSERT_EQ(bad, 0);
    ASSERT_TRUE(cases >= 40);
}

/* A new cursor file is made durable with its directory entry: its first slot is synced,
 * then the directory; without the directory sync a power loss can take the file away and
 * the output would start again at the end of the spool (start_at: end), skipping what it
 * had not delivered. A cursor that exists needs no directory sync; sync: never makes none
 * (as for segment files). */
TEST(a_new_cursor_is_synced_with_its_directory)
{
    struct world *w = lc_xcalloc(1, sizeof(*w));
    struct lc_spool_consumer *c = NULL;
    char dir[4096], want_file[4300], want_dir[4200], path[4300];
    int i, j, ok;

    world_init(w, LC_SYNC_INTERVAL);
    ok = world_open(w, NULL) == 0 && realpath(w->spool, dir) != NULL;
    snprintf(want_file, sizeof(want_file), "fdatasync %s/out.cursor", dir);
    snprintf(want_dir, sizeof(want_dir), "fsync %s", dir);

    /* created: the file's slot, then the directory */
    sync_log_reset();
    ok = ok && lc_spool_consumer_open(w->sp, "out", 1, &c) == 0;
    i = sync_find(0, want_file);
    j = i >= 0 ? sync_find(i + 1, want_dir) : -1;
    if (!ok || i < 0 || j < 0) {
        sync_log_print();
    }
    lc_spool_consumer_close(c);
    c = NULL;
    if (!ok || i < 0 || j < 0) {
        world_done(w);
        free(w);
        LC_FAIL_("a new cursor file: no fdatasync of it followed by an fsync of %s", dir);
    }

    /* opened again: the file and its entry are on disk already */
    sync_log_reset();
    ok = lc_spool_consumer_open(w->sp, "out", 0, &c) == 0;
    j = sync_find(0, want_dir);
    lc_spool_consumer_close(c);
    c = NULL;

    /* an empty file (created by a run that stopped before writing it): synced as new */
    snprintf(path, sizeof(path), "%s/empty.cursor", w->spool);
    ok = ok && write_file(path, NULL, 0);
    sync_log_reset();
    ok = ok && lc_spool_consumer_open(w->sp, "empty", 0, &c) == 0;
    snprintf(want_file, sizeof(want_file), "fdatasync %s/empty.cursor", dir);
    i = sync_find(0, want_file);
    i = i >= 0 ? sync_find(i + 1, want_dir) : -1;
    lc_spool_consumer_close(c);
    c = NULL;
    world_close(w);
    if (!ok || j >= 0 || i < 0) {
        sync_log_print();
        world_done(w);
        free(w);
        LC_FAIL_("reopened: directory synced at %d (expected none); empty file: at %d", j, i);
    }

    /* sync: never: no directory sync */
    w->sync = LC_SYNC_NEVER;
    ok = world_open(w, NULL) == 0;
    sync_log_reset();
    ok = ok && lc_spool_consumer_open(w->sp, "never", 0, &c) == 0;
    j = sync_find(0, want_dir);
    lc_spool_consumer_close(c);
    world_done(w);
    free(w);
    ASSERT_TRUE(ok);
    ASSERT_EQ(j, -1);
}

TEST_MAIN(TEST_ENTRY(power_loss_in_the_unsynced_tail),
          TEST_ENTRY(a_new_cursor_is_synced_with_its_directory))
