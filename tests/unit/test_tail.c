/* test_tail: following one file through what happens to log files, on real files in a
 * temporary directory: appends and lines written in two steps, start at the end or the
 * beginning, rename rotation seen live and missed while stopped (the old file found among
 * its siblings), copytruncate, a replaced file whose inode number is the old one's (the
 * fingerprint tells them apart), a file deleted while read, a saved file that is gone, and
 * the read budget. */
#include "inputs/tail.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "test.h"

struct seen {
    struct lc_buf lines; /* every line taken, each followed by '\n' */
    int ends;            /* data calls with END */
    int changes[4];      /* by enum lc_tail_change */
    uint64_t lost;
};

/* Takes whole lines only. */
static size_t take_lines(void *ud, const char *p, size_t n, uint64_t off, int end)
{
    struct seen *s = ud;
    const char *last = NULL;
    (void)off;
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] == '\n') {
            last = p + i;
            break;
        }
    }
    s->ends += end;
    if (last == NULL) {
        return 0;
    }
    lc_buf_add(&s->lines, p, (size_t)(last - p));
    return (size_t)(last - p);
}

static void on_change(void *ud, enum lc_tail_change c, uint64_t lost)
{
    struct seen *s = ud;
    s->changes[c]++;
    s->lost = lost;
}

struct fx {
    char dir[64], path[96], old[96];
    struct seen s;
    struct lc_tail_cbs cbs;
    struct lc_tail t;
};

static void fx_init(struct fx *x)
{
    memset(x, 0, sizeof(*x));
    snprintf(x->dir, sizeof(x->dir), "/tmp/lc-tail-XXXXXX");
    if (mkdtemp(x->dir) == NULL) {
        abort();
    }
    snprintf(x->path, sizeof(x->path), "%s/app.log", x->dir);
    snprintf(x->old, sizeof(x->old), "%s/app.log.1", x->dir);
    lc_buf_init(&x->s.lines, 0);
    x->cbs = (struct lc_tail_cbs){.data = take_lines, .change = on_change, .ud = &x->s};
}

static void fx_done(struct fx *x)
{
    char cmd[128];
    lc_tail_close(&x->t);
    lc_buf_close(&x->s.lines);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
    if (system(cmd) != 0) {
        abort();
    }
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        abort();
    }
}

/* Polls until caught up. */
static int drain(struct lc_tail *t)
{
    int rc;
    while ((rc = lc_tail_poll(t, 1 << 20)) == 1) {
    }
    return rc;
}

static const char *lines(struct fx *x)
{
    return x->s.lines.data != NULL ? x->s.lines.data : "";
}

TEST(appends_and_partial_lines)
{
    struct fx x;
    struct lc_tail_pos pos;
    fx_init(&x);
    append(x.path, "one\ntw");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 0, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "one\n");
    ASSERT_EQ(lc_tail_position(&x.t, &pos), 0);
    ASSERT_TRUE(pos.off == 4 && pos.id.fp_len == 6);
    append(x.path, "o\nthree\n");
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "one\ntwo\nthree\n");
    ASSERT_EQ(lc_tail_position(&x.t, &pos), 0);
    ASSERT_TRUE(pos.off == 14 && pos.id.fp_len == 14); /* the fingerprint grew with the file */
    ASSERT_EQ(x.s.changes[LC_TAIL_ROTATED] + x.s.changes[LC_TAIL_TRUNCATED], 0);
    fx_done(&x);
}

TEST(start_at_end_or_missing)
{
    struct fx x;
    fx_init(&x);
    append(x.path, "old\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 1, &x.cbs), 0);
    append(x.path, "new\n");
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "new\n");
    lc_tail_close(&x.t);
    /* a path with no file yet: its file is read from its start once it exists */
    unlink(x.path);
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 1, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    append(x.path, "first\n");
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "new\nfirst\n");
    fx_done(&x);
}

/* Rename rotation: the old file is read to its end (a last line without '\n' is offered
 * with END), then the new one from its start. */
TEST(rename_rotation)
{
    struct fx x;
    fx_init(&x);
    append(x.path, "a1\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 0, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    append(x.path, "a2\na3");
    ASSERT_EQ(rename(x.path, x.old), 0);
    ASSERT_EQ(drain(&x.t), 0); /* renamed, no new file yet: caught up, nothing lost */
    ASSERT_STR_EQ(lines(&x), "a1\na2\n");
    ASSERT_EQ(x.s.changes[LC_TAIL_DELETED], 1);
    append(x.path, "b1\n");
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "a1\na2\nb1\n");
    ASSERT_EQ(x.s.changes[LC_TAIL_ROTATED], 1);
    ASSERT_EQ(x.s.ends, 1); /* "a3" was offered with END (this consumer drops it) */
    fx_done(&x);
}

/* Rotated twice while stopped: the saved file is found as app.log.1 and read from the saved
 * offset, then app.log from its start; app.log.2's lines are another file's. */
TEST(rotation_while_stopped)
{
    struct fx x;
    struct lc_tail_pos pos;
    fx_init(&x);
    append(x.path, "a1\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 0, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_EQ(lc_tail_position(&x.t, &pos), 0);
    lc_tail_close(&x.t);
    append(x.path, "a2\n");
    ASSERT_EQ(rename(x.path, x.old), 0);
    append(x.path, "b1\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, &pos, 0, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "a1\na2\nb1\n");
    ASSERT_EQ(x.s.changes[LC_TAIL_ROTATED], 1);
    ASSERT_EQ(x.s.changes[LC_TAIL_LOST], 0);
    fx_done(&x);
}

TEST(copytruncate)
{
    struct fx x;
    fx_init(&x);
    append(x.path, "a1\na2\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 0, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_EQ(truncate(x.path, 0), 0);
    append(x.path, "b\n");
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "a1\na2\nb\n");
    ASSERT_EQ(x.s.changes[LC_TAIL_TRUNCATED], 1);
    fx_done(&x);
}

/* A saved position whose inode number the path's file has, but whose head differs: another
 * file (the inode was reused). It is read from its start, and the old one said lost. */
TEST(inode_reuse)
{
    struct fx x;
    struct lc_tail_pos pos;
    fx_init(&x);
    append(x.path, "new file, same inode\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 1, &x.cbs), 0);
    ASSERT_EQ(lc_tail_position(&x.t, &pos), 0);
    lc_tail_close(&x.t);
    pos.id.fp ^= 1; /* what the old file's head summed to */
    ASSERT_EQ(lc_tail_open(&x.t, x.path, &pos, 0, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "new file, same inode\n");
    ASSERT_EQ(x.s.changes[LC_TAIL_LOST], 1);
    ASSERT_TRUE(x.s.lost == UINT64_MAX);
    fx_done(&x);
}

/* A saved offset past the file's end (truncated while stopped): from its start. */
TEST(resume_shrunk)
{
    struct fx x;
    struct lc_tail_pos pos;
    fx_init(&x);
    append(x.path, "aaaa\nbbbb\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 1, &x.cbs), 0);
    ASSERT_EQ(lc_tail_position(&x.t, &pos), 0);
    lc_tail_close(&x.t);
    ASSERT_EQ(truncate(x.path, 5), 0);
    pos.id.fp_len = 5; /* the head that is left */
    ASSERT_EQ(lc_tail_open(&x.t, x.path, &pos, 0, &x.cbs), 0);
    ASSERT_EQ(x.s.changes[LC_TAIL_TRUNCATED], 0); /* the fingerprint differs: not the file */
    lc_tail_close(&x.t);
    {
        int fd = open(x.path, O_RDONLY);
        ASSERT_EQ(lc_tail_identify(fd, &pos.id), 0);
        close(fd);
    }
    pos.off = 10;
    memset(x.s.changes, 0, sizeof(x.s.changes));
    ASSERT_EQ(lc_tail_open(&x.t, x.path, &pos, 0, &x.cbs), 0);
    ASSERT_EQ(x.s.changes[LC_TAIL_TRUNCATED], 1);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_TRUE(strstr(lines(&x), "aaaa\n") != NULL);
    fx_done(&x);
}

/* Deleted while read: what the writer still appends through its open file is read; the end
 * is said once. */
TEST(deleted_while_read)
{
    struct fx x;
    int w;
    fx_init(&x);
    w = open(x.path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    ASSERT_TRUE(w >= 0);
    ASSERT_EQ(write(w, "x1\n", 3), 3);
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 0, &x.cbs), 0);
    ASSERT_EQ(unlink(x.path), 0);
    ASSERT_EQ(write(w, "x2\n", 3), 3);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_STR_EQ(lines(&x), "x1\nx2\n");
    ASSERT_EQ(x.s.changes[LC_TAIL_DELETED], 1);
    close(w);
    fx_done(&x);
}

/* The saved file is nowhere (deleted while stopped): the path is read from its start and
 * the loss said. */
TEST(resume_gone)
{
    struct fx x;
    struct lc_tail_pos pos;
    fx_init(&x);
    append(x.path, "gone\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 1, &x.cbs), 0);
    ASSERT_EQ(lc_tail_position(&x.t, &pos), 0);
    lc_tail_close(&x.t);
    ASSERT_EQ(unlink(x.path), 0);
    append(x.old, "unrelated\n"); /* a sibling that is not it */
    append(x.path, "later\n");
    ASSERT_EQ(lc_tail_open(&x.t, x.path, &pos, 0, &x.cbs), 0);
    ASSERT_EQ(drain(&x.t), 0);
    ASSERT_EQ(x.s.changes[LC_TAIL_LOST], 1);
    ASSERT_STR_EQ(lines(&x), "later\n");
    fx_done(&x);
}

/* One poll reads at most its budget and says there is more. */
TEST(budget)
{
    struct fx x;
    char big[4096];
    int polls = 0, rc;
    fx_init(&x);
    memset(big, 'z', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 100; i++) {
        append(x.path, big);
    }
    ASSERT_EQ(lc_tail_open(&x.t, x.path, NULL, 0, &x.cbs), 0);
    while ((rc = lc_tail_poll(&x.t, LC_TAIL_CHUNK)) == 1) {
        polls++;
    }
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(polls >= 4 && polls <= 8);
    ASSERT_EQ(x.s.lines.len, 100 * (sizeof(big) - 1));
    fx_done(&x);
}

/* A position's JSON form reads back the same; a short buffer or a foreign object is refused. */
TEST(position_json)
{
    struct lc_tail_pos pos = {{2049, 123456789012ULL, 1024, 0xdeadbeefu}, 98765432109ULL}, back;
    char buf[LC_TAIL_POS_JSON_MAX];
    json_t *j;
    int n = lc_tail_pos_format(&pos, buf, sizeof(buf));
    ASSERT_TRUE(n > 0);
    ASSERT_STR_EQ(buf, "{\"dev\":2049,\"ino\":123456789012,\"fp_len\":1024,\"fp\":3735928559,"
                       "\"off\":98765432109}");
    j = json_loads(buf, 0, NULL);
    ASSERT_EQ(lc_tail_pos_from_json(j, &back), 1);
    ASSERT_TRUE(memcmp(&back, &pos, sizeof(pos)) == 0);
    json_decref(j);
    ASSERT_EQ(lc_tail_pos_format(&pos, buf, 20), -1);
    j = json_loads("{\"dev\":1,\"ino\":2,\"fp_len\":2000,\"fp\":3,\"off\":4}", 0, NULL);
    ASSERT_EQ(lc_tail_pos_from_json(j, &back), 0); /* fp_len past LC_TAIL_FP_MAX */
    json_decref(j);
    ASSERT_EQ(lc_tail_pos_from_json(NULL, &back), 0);
}

TEST_MAIN(TEST_ENTRY(appends_and_partial_lines), TEST_ENTRY(start_at_end_or_missing),
          TEST_ENTRY(rename_rotation), TEST_ENTRY(rotation_while_stopped), TEST_ENTRY(copytruncate),
          TEST_ENTRY(inode_reuse), TEST_ENTRY(resume_shrunk), TEST_ENTRY(deleted_while_read),
          TEST_ENTRY(resume_gone), TEST_ENTRY(budget), TEST_ENTRY(position_json))
