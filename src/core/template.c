/* template: see template.h. A template is its source text and an array of segments: a
 * literal (a span of the source), an attribute of the metadata (its key), the stream, a
 * label or a field (a NUL-terminated copy of its name). Rendering walks the segments and
 * appends; a template without variables keeps its value ready.
 *
 * Labels are a JSON object text in the metadata's "labels" attribute (one per container,
 * made once by the input). Rendering one label scans that text in place for the key and
 * decodes the value's escapes straight into the output: no parse into a tree, no
 * allocation per record. Decoding JSON strings ourselves is small (the escapes of RFC 8259)
 * and keeps the core free of jansson; the scan stops quietly (empty value) on anything
 * that is not well-formed, since a label value must never fail a record. Measured with
 * bench/bench_template.c (11 Compose labels, a loaded 2-core machine): about 250 ns per
 * label against about 7 us for json_loads + json_object_get, and 20-40 ns for an
 * attribute. An output that renders labels for every record should still cache: a value
 * that uses only the metadata (lc_template_uses) is the same for every record of a
 * source, so it can be rendered once per lc_meta (immutable; compare pointers, holding a
 * reference) and once per stream for templates that also use {{ stream }} (see
 * lc_template_uses in template.h). */
#include "core/template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "core/record.h"

enum seg_kind {
    SEG_LITERAL,
    SEG_ATTR,   /* attr: a key of the metadata's attributes */
    SEG_STREAM, /* "stdout" or "stderr" */
    SEG_LABEL,  /* name: a key of the "labels" attribute's JSON object */
    SEG_FIELD,  /* name: a processor field */
};

struct seg {
    enum seg_kind kind;
    size_t off, len;  /* SEG_LITERAL: the span of the source */
    const char *attr; /* SEG_ATTR: static key */
    char *name;       /* SEG_LABEL, SEG_FIELD: owned */
};

struct lc_template {
    char *src;
    size_t src_len;
    struct seg *segs;
    size_t n;
    unsigned uses;
    char *constant; /* when uses == 0: the value */
    size_t constant_len;
};

/* The variables without a dot, and the attribute each reads (NULL: the stream). */
static const struct {
    const char *name;
    const char *attr;
} vars[] = {
    {"container_name", "container_name"},
    {"container_id", "container_id"},
    {"image", "image"},
    {"stream", NULL},
    {"host", "host"},
    {"compose_project", "compose_project"},
    {"compose_service", "compose_service"},
};

/* ---- parsing ---- */

struct parse {
    const char *s;
    size_t len;
    struct seg *segs;
    size_t n, cap;
    char *err;
    size_t err_cap;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The 1-based column of byte OFF, counting UTF-8 characters (continuation bytes do not
 * start one), so that an editor's column matches. */
static size_t column(const struct parse *p, size_t off)
{
    size_t col = 1;
    for (size_t i = 0; i < off; i++) {
        col += ((unsigned char)p->s[i] & 0xC0) != 0x80;
    }
    return col;
}

/* The N bytes at S for a message: control bytes, quotes and backslashes as escapes, cut
 * with "..." after 40 bytes. */
static const char *printable(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            o += (size_t)snprintf(dst + o, cap - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
    return dst;
}

/* Writes "column N: " and the message into the caller's error buffer; returns -EINVAL. */
static int fail(struct parse *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, size_t off, const char *fmt, ...)
{
    int n = snprintf(p->err, p->err_cap, "column %zu: ", column(p, off));
    va_list ap;

    if (n >= 0 && (size_t)n < p->err_cap) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->err_cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static struct seg *add_seg(struct parse *p, enum seg_kind kind)
{
    if (p->n == p->cap) {
        p->cap = p->cap == 0 ? 4 : 2 * p->cap;
        p->segs = lc_xrealloc(p->segs, p->cap * sizeof *p->segs);
    }
    p->segs[p->n] = (struct seg){.kind = kind};
    return &p->segs[p->n++];
}

static void add_literal(struct parse *p, size_t off, size_t len)
{
    if (len > 0) {
        struct seg *g = add_seg(p, SEG_LITERAL);
        g->off = off;
        g->len = len;
    }
}

/* Resolves the variable NAME (N bytes at offset OFF) into a new segment. */
static int add_variable(struct parse *p, size_t off, size_t n)
{
    const char *name = p->s + off;
    char shown[LC_TEMPLATE_ERR_CAP];

    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0) {
            add_seg(p, vars[i].attr != NULL ? SEG_ATTR : SEG_STREAM)->attr = vars[i].attr;
            return 0;
        }
    }
    for (int field = 0; field < 2; field++) {
        const char *prefix = field ? "fields." : "labels.";
        if (n >= 7 && memcmp(name, prefix, 7) == 0) {
            if (n == 7) {
                return fail(p, off, "%s needs a name: %sNAME", prefix, prefix);
            }
            add_seg(p, field ? SEG_FIELD : SEG_LABEL)->name = lc_xstrndup(name + 7, n - 7);
            return 0;
        }
    }
    return fail(p, off, "unknown variable \"%s\"; known: %s",
                printable(shown, sizeof shown, name, n), LC_TEMPLATE_VARIABLES);
}

/* Parses the inside of one "{{ ... }}": bytes FROM to TO (where "}}" starts). */
static int parse_braces(struct parse *p, size_t open, size_t from, size_t to)
{
    char what[LC_TEMPLATE_ERR_CAP], got[LC_TEMPLATE_ERR_CAP];
    size_t a = from, b, end;
    int rc;

    while (a < to && is_space(p->s[a])) {
        a++;
    }
    if (a == to) {
        return fail(p, open, "nothing between \"{{\" and \"}}\"");
    }
    if (p->s[a] == '"') {
        const char *q = memchr(p->s + a + 1, '"', to - a - 1);
        if (q == NULL) {
            return fail(p, a, "the quoted text is not closed by '\"'");
        }
        end = (size_t)(q - p->s) + 1;
        add_literal(p, a + 1, end - a - 2);
        snprintf(what, sizeof what, "\"%s\"",
                 printable(got, sizeof got, p->s + a + 1, end - a - 2));
        rc = 0;
    } else {
        end = a;
        while (end < to && !is_space(p->s[end])) {
            end++;
        }
        rc = add_variable(p, a, end - a);
        printable(what, sizeof what, p->s + a, end - a);
    }
    if (rc != 0) {
        return rc;
    }
    b = end;
    while (b < to && is_space(p->s[b])) {
        b++;
    }
    if (b < to) {
        size_t e = b;
        while (e < to && !is_space(p->s[e])) {
            e++;
        }
        return fail(p, b, "expected \"}}\" after %s, got \"%s\"", what,
                    printable(got, sizeof got, p->s + b, e - b));
    }
    return 0;
}

static int parse_all(struct parse *p)
{
    size_t pos = 0;

    while (pos < p->len) {
        const char *open = memmem(p->s + pos, p->len - pos, "{{", 2), *close;
        size_t o;
        int rc;
        if (open == NULL) {
            break;
        }
        o = (size_t)(open - p->s);
        add_literal(p, pos, o - pos);
        close = memmem(open + 2, p->len - o - 2, "}}", 2);
        if (close == NULL) {
            return fail(p, o, "\"{{\" is not closed by \"}}\"");
        }
        rc = parse_braces(p, o, o + 2, (size_t)(close - p->s));
        if (rc != 0) {
            return rc;
        }
        pos = (size_t)(close - p->s) + 2;
    }
    if (pos < p->len) {
        add_literal(p, pos, p->len - pos);
    }
    return 0;
}

static void free_segs(struct seg *segs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(segs[i].name);
    }
    free(segs);
}

/* What T depends on, and its value when that is nothing. */
static void finish(struct lc_template *t)
{
    struct lc_buf b;

    t->uses = 0;
    for (size_t i = 0; i < t->n; i++) {
        enum seg_kind k = t->segs[i].kind;
        t->uses |= k == SEG_ATTR || k == SEG_LABEL ? LC_TEMPLATE_USES_META
                   : k == SEG_STREAM               ? LC_TEMPLATE_USES_STREAM
                   : k == SEG_FIELD                ? LC_TEMPLATE_USES_FIELDS
                                                   : 0;
    }
    if (t->uses == 0) {
        lc_buf_init(&b, 0);
        lc_template_render_from(t, NULL, 0, NULL, &b);
        lc_buf_addc(&b, '\0'); /* never fails: the buffer has no cap */
        t->constant = lc_buf_take(&b, &t->constant_len);
        t->constant_len--;
    }
}

int lc_template_parse(const char *text, size_t len, struct lc_template **out, char *err, size_t cap)
{
    struct parse p = {.s = text, .len = len, .err = err, .err_cap = cap};
    struct lc_template *t;

    if (parse_all(&p) != 0) {
        free_segs(p.segs, p.n);
        return -EINVAL;
    }
    t = lc_xcalloc(1, sizeof *t);
    t->src = lc_xmalloc(len + 1);
    memcpy(t->src, text, len);
    t->src[len] = '\0';
    t->src_len = len;
    t->segs = p.segs;
    t->n = p.n;
    finish(t);
    *out = t;
    return 0;
}

struct lc_template *lc_template_copy(const struct lc_template *t)
{
    struct lc_template *c = NULL;
    char err[LC_TEMPLATE_ERR_CAP];

    /* Parsing the source again gives an equal template; a copy is made at config time
     * only, so its cost does not matter. */
    if (t != NULL && lc_template_parse(t->src, t->src_len, &c, err, sizeof err) != 0) {
        abort(); /* it parsed once */
    }
    return c;
}

void lc_template_destroy(struct lc_template *t)
{
    if (t == NULL) {
        return;
    }
    free_segs(t->segs, t->n);
    free(t->src);
    free(t->constant);
    free(t);
}

const char *lc_template_source(const struct lc_template *t)
{
    return t->src;
}

unsigned lc_template_uses(const struct lc_template *t)
{
    return t->uses;
}

const char *lc_template_constant(const struct lc_template *t, size_t *len)
{
    if (t->uses != 0) {
        return NULL;
    }
    if (len != NULL) {
        *len = t->constant_len;
    }
    return t->constant;
}

/* ---- rendering ---- */

/* Where a value goes: an lc_buf (a failed append sets rc) or a caller's array (what does
 * not fit is counted, not written). */
struct sink {
    struct lc_buf *b;
    char *dst;
    size_t cap, len;
    int rc;
};

static void put(struct sink *o, const char *s, size_t n)
{
    if (o->b != NULL) {
        if (o->rc == 0) {
            o->rc = lc_buf_add(o->b, s, n);
        }
        return;
    }
    if (o->len + 1 < o->cap) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->dst + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16) {
            return -1; /* also stops at the NUL: the 4 bytes are never read past it */
        }
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static size_t utf8(char *tmp, unsigned cp)
{
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        tmp[0] = (char)(0xC0 | cp >> 6);
        tmp[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        tmp[0] = (char)(0xE0 | cp >> 12);
        tmp[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        tmp[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    tmp[0] = (char)(0xF0 | cp >> 18);
    tmp[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    tmp[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    tmp[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes "\uXXXX" (and its low surrogate) at *P (after the 'u') into TMP. A lone
 * surrogate becomes U+FFFD. Returns the length, or -1 when malformed. */
static long unicode_escape(const char **p, char *tmp)
{
    unsigned cp, lo;

    if (hex4(*p, &cp) != 0) {
        return -1;
    }
    *p += 4;
    if (cp >= 0xD800 && cp < 0xDC00 && (*p)[0] == '\\' && (*p)[1] == 'u' &&
        hex4(*p + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
        *p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xD800 && cp < 0xE000) {
        cp = 0xFFFD;
    }
    return (long)utf8(tmp, cp);
}

/* The next piece of the JSON string at *P (just past its opening quote, NUL-terminated
 * text): a run of plain bytes, in place, or one escape decoded into TMP (4 bytes). Sets
 * *PIECE and returns its length; 0 at the closing quote (consumed); -1 when malformed. */
static long str_piece(const char **p, char *tmp, const char **piece)
{
    const char *s = *p;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e;

    if (*s == '"') {
        *p = s + 1;
        return 0;
    }
    if (*s != '\\') {
        size_t n = strcspn(s, "\"\\");
        *piece = s;
        *p = s + n;
        return s[n] == '\0' ? -1 : (long)n;
    }
    *piece = tmp;
    *p = s + 2;
    if (s[1] == 'u') {
        return unicode_escape(p, tmp);
    }
    e = s[1] != '\0' ? strchr(from, s[1]) : NULL;
    if (e == NULL) {
        return -1;
    }
    tmp[0] = to[e - from];
    return 1;
}

/* Consumes the JSON string at *P (past its quote). With O, appends its decoded value; with
 * NAME, returns 1 when it equals the N bytes of NAME. -1 when malformed. */
static int read_string(const char **p, struct sink *o, const char *name, size_t n)
{
    char tmp[4];
    const char *piece;
    size_t at = 0;
    int same = 1;
    long k;

    while ((k = str_piece(p, tmp, &piece)) > 0) {
        if (o != NULL) {
            put(o, piece, (size_t)k);
        } else if (same && (at + (size_t)k > n || memcmp(name + at, piece, (size_t)k) != 0)) {
            same = 0;
        }
        at += (size_t)k;
    }
    return k < 0 ? -1 : name != NULL && same && at == n;
}

static const char *skip_space(const char *s)
{
    while (is_space(*s)) {
        s++;
    }
    return s;
}

/* Skips the JSON value at *P (an object or array by its brackets, strings whole). */
static int skip_value(const char **p)
{
    int depth = 0;

    do {
        const char *s = skip_space(*p);
        if (*s == '"') {
            *p = s + 1;
            if (read_string(p, NULL, NULL, 0) < 0) {
                return -1;
            }
            continue;
        }
        if (*s == '{' || *s == '[') {
            depth++;
        } else if (*s == '}' || *s == ']') {
            depth--;
        } else if (*s == '\0') {
            return -1;
        } else if (*s != ',' && *s != ':') {
            s += strcspn(s, ",:{}[]\" \t\r\n") - 1; /* a number, true, false, null */
        }
        *p = s + 1;
    } while (depth > 0);
    return depth < 0 ? -1 : 0;
}

/* Appends the value of key NAME of the JSON object J (NUL-terminated) when it is a
 * string; nothing when there is no such key or J is not well-formed. */
static void put_label(struct sink *o, const char *j, const char *name)
{
    size_t n = strlen(name);
    const char *p = skip_space(j);

    if (*p++ != '{') {
        return;
    }
    for (;;) {
        int same;
        p = skip_space(p);
        if (*p++ != '"') {
            return; /* also the end of the object */
        }
        same = read_string(&p, NULL, name, n);
        p = skip_space(p);
        if (same < 0 || *p++ != ':') {
            return;
        }
        p = skip_space(p);
        if (same) {
            if (*p == '"') {
                p++;
                read_string(&p, o, NULL, 0);
            }
            return;
        }
        if (skip_value(&p) != 0) {
            return;
        }
        p = skip_space(p);
        if (*p++ != ',') {
            return;
        }
    }
}

static void render(const struct lc_template *t, const struct lc_meta *m, int stream,
                   const struct lc_fields *f, struct sink *o)
{
    for (size_t i = 0; i < t->n && o->rc == 0; i++) {
        const struct seg *g = &t->segs[i];
        const char *v = NULL;
        switch (g->kind) {
        case SEG_LITERAL:
            put(o, t->src + g->off, g->len);
            break;
        case SEG_ATTR:
            v = lc_meta_attr(m, g->attr);
            break;
        case SEG_STREAM:
            v = stream == LC_STREAM_STDOUT   ? "stdout"
                : stream == LC_STREAM_STDERR ? "stderr"
                                             : NULL;
            break;
        case SEG_LABEL:
            v = lc_meta_attr(m, "labels");
            if (v != NULL) {
                put_label(o, v, g->name);
                v = NULL;
            }
            break;
        case SEG_FIELD:
            v = lc_fields_get(f, g->name);
            break;
        }
        if (v != NULL) {
            put(o, v, strlen(v));
        }
    }
}

int lc_template_render_from(const struct lc_template *t, const struct lc_meta *m, int stream,
                            const struct lc_fields *f, struct lc_buf *out)
{
    struct sink o = {.b = out};
    size_t len = out->len;

    if (t->constant != NULL) {
        return lc_buf_add(out, t->constant, t->constant_len);
    }
    render(t, m, stream, f, &o);
    if (o.rc != 0) {
        out->len = len; /* what the failed render appended is dropped */
    }
    return o.rc;
}

int lc_template_render(const struct lc_template *t, const struct lc_record *r, struct lc_buf *out)
{
    return r != NULL ? lc_template_render_from(t, r->meta, r->stream, r->fields, out)
                     : lc_template_render_from(t, NULL, 0, NULL, out);
}

size_t lc_template_render_to(const struct lc_template *t, const struct lc_record *r, char *dst,
                             size_t cap)
{
    struct sink o = {.dst = dst, .cap = cap};

    if (r != NULL) {
        render(t, r->meta, r->stream, r->fields, &o);
    } else {
        render(t, NULL, 0, NULL, &o);
    }
    if (cap > 0) {
        dst[o.len < cap ? o.len : cap - 1] = '\0';
    }
    return o.len;
}
