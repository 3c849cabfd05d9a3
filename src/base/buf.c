/* buf: see buf.h. */
#include "base/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void lc_buf_init(struct lc_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX - 1;
}

void lc_buf_close(struct lc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void lc_buf_reset(struct lc_buf *b)
{
    b->len = 0;
}

int lc_buf_reserve(struct lc_buf *b, size_t n)
{
    size_t need;
    if (n > b->max - b->len) {
        return -E2BIG;
    }
    need = b->len + n + 1; /* room for a NUL */
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            cap *= 2;
        }
        b->data = lc_xrealloc(b->data, cap);
        b->cap = cap;
    }
    return 0;
}

int lc_buf_add(struct lc_buf *b, const void *data, size_t n)
{
    int rc = lc_buf_reserve(b, n);
    if (rc != 0) {
        return rc;
    }
    if (n > 0) {
        memcpy(b->data + b->len, data, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int lc_buf_addc(struct lc_buf *b, char c)
{
    return lc_buf_add(b, &c, 1);
}

int lc_buf_adds(struct lc_buf *b, const char *s)
{
    return lc_buf_add(b, s, strlen(s));
}

int lc_buf_printf(struct lc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -EINVAL;
    }
    rc = lc_buf_reserve(b, (size_t)n);
    if (rc != 0) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void lc_buf_consume(struct lc_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

char *lc_buf_take(struct lc_buf *b, size_t *len)
{
    char *p = b->data;
    if (len != NULL) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
