/* buf: a growable byte buffer with a hard cap, in the manner of curl's dynbuf. Appends
 * beyond the cap fail with -E2BIG instead of growing without bound. The owner of the
 * struct owns the memory; lc_buf_take hands it over. */
#ifndef LC_BUF_H
#define LC_BUF_H

#include <stddef.h>

struct lc_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; 0 means SIZE_MAX */
};

void lc_buf_init(struct lc_buf *b, size_t max);
void lc_buf_close(struct lc_buf *b);
void lc_buf_reset(struct lc_buf *b);
/* Append N bytes. Returns 0, or -E2BIG when that would pass the cap (nothing appended). */
int lc_buf_add(struct lc_buf *b, const void *data, size_t n);
int lc_buf_addc(struct lc_buf *b, char c);
int lc_buf_adds(struct lc_buf *b, const char *s);
int lc_buf_printf(struct lc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ensures room for N more bytes; returns 0 or -E2BIG. */
int lc_buf_reserve(struct lc_buf *b, size_t n);
/* Drops the first N bytes. */
void lc_buf_consume(struct lc_buf *b, size_t n);
/* Hands the memory to the caller (NUL-terminated, may be NULL when empty) and resets B. */
char *lc_buf_take(struct lc_buf *b, size_t *len);

#endif
