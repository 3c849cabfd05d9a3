/* config_option: what a table of options (config_option.h) says besides how to read the
 * file: the defaults it stores, how to copy and free what it describes, and how
 * config-reference names its types, ranges and defaults. The walk of the file is in
 * config_schema.c and config_instance.c. */
#include "config/config_option.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "config/config_setters.h"
#include "config/config_yaml.h"
#include "core/template.h"

#define AT(base, o, type) ((type *)((char *)(base) + (o)->off))
#define COUNT(base, o) ((size_t *)((char *)(base) + (o)->off_n))

const struct lc_config_plugin *lc_config_plugin_find(const struct lc_config_plugin *const *list,
                                                     const char *type)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(list[i]->type, type) == 0) {
            return list[i];
        }
    }
    return NULL;
}

size_t lc_config_options_count(const struct lc_config_option *table)
{
    size_t n = 0;
    while (table != NULL && table[n].key != NULL) {
        n++;
    }
    return n;
}

/* A default that does not read as its type is a bug in the table: abort, so that the
 * first test creating the table finds it. */
static void bad_default(const struct lc_config_option *o)
{
    fprintf(stderr, "logcap: bug: option %s: default \"%s\" is not a valid value\n", o->key,
            o->def);
    abort();
}

static int enum_index(const struct lc_config_option *o, const char *s)
{
    for (int i = 0; o->names != NULL && o->names[i] != NULL; i++) {
        if (strcmp(o->names[i], s) == 0) {
            return i;
        }
    }
    return -1;
}

static void store_default(const struct lc_config_option *o, void *base)
{
    uint64_t u;
    char *end;

    switch (o->type) {
    case LC_OPT_STRING:
    case LC_OPT_NAME:
        *AT(base, o, char *) = lc_xstrdup(o->def);
        break;
    case LC_OPT_BOOL:
        if (strcmp(o->def, "true") != 0 && strcmp(o->def, "false") != 0) {
            bad_default(o);
        }
        *AT(base, o, int) = strcmp(o->def, "true") == 0;
        break;
    case LC_OPT_UINT:
        u = strtoull(o->def, &end, 10);
        if (*end != '\0' || u < o->min || u > o->max) {
            bad_default(o);
        }
        *AT(base, o, unsigned) = (unsigned)u;
        break;
    case LC_OPT_SIZE:
        if (lc_parse_size(o->def, AT(base, o, uint64_t)) != 0) {
            bad_default(o);
        }
        break;
    case LC_OPT_DURATION:
        if (lc_parse_duration_ms(o->def, AT(base, o, uint64_t)) != 0) {
            bad_default(o);
        }
        break;
    case LC_OPT_ENUM:
        *AT(base, o, int) = enum_index(o, o->def);
        if (*AT(base, o, int) < 0) {
            bad_default(o);
        }
        break;
    case LC_OPT_TAIL:
        *AT(base, o, long) = strcmp(o->def, "all") == 0 ? -1 : strtol(o->def, NULL, 10);
        break;
    case LC_OPT_TEMPLATE:
    case LC_OPT_TEMPLATES:
        if (lc_config_template_default(o, base) != 0) {
            bad_default(o);
        }
        break;
    default:
        bad_default(o); /* lists start empty; sections and custom keys have no def */
    }
}

void lc_config_options_defaults(const struct lc_config_option *table, void *base)
{
    for (const struct lc_config_option *o = table; o->key != NULL; o++) {
        if (o->type == LC_OPT_SECTION) {
            lc_config_options_defaults(o->sub, base);
        } else if (o->def != NULL && o->type != LC_OPT_CUSTOM) {
            store_default(o, base);
        }
    }
}

/* The entry of TABLE at PATH ("KEY" or "SECTION.KEY"), or NULL. */
static const struct lc_config_option *option_at(const struct lc_config_option *table,
                                                const char *path)
{
    const char *dot = strchr(path, '.');
    size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);

    for (const struct lc_config_option *o = table; o->key != NULL; o++) {
        if (strlen(o->key) != n || strncmp(o->key, path, n) != 0) {
            continue;
        }
        if (dot == NULL) {
            return o->type == LC_OPT_SECTION ? NULL : o;
        }
        return o->type == LC_OPT_SECTION ? option_at(o->sub, dot + 1) : NULL;
    }
    return NULL;
}

void lc_config_options_override(const struct lc_config_option *table,
                                const struct lc_config_default *defs, void *base)
{
    for (size_t i = 0; defs != NULL && defs[i].path != NULL; i++) {
        const struct lc_config_option *o = option_at(table, defs[i].path);
        struct lc_config_option copy;

        /* only values that own no memory: the table's default is overwritten, not freed */
        if (o == NULL ||
            (o->type != LC_OPT_UINT && o->type != LC_OPT_SIZE && o->type != LC_OPT_DURATION &&
             o->type != LC_OPT_BOOL && o->type != LC_OPT_ENUM)) {
            fprintf(stderr, "logcap: bug: no default can be set for \"%s\"\n", defs[i].path);
            abort();
        }
        copy = *o;
        copy.def = defs[i].value;
        store_default(&copy, base);
    }
}

void lc_config_options_copy(const struct lc_config_option *table, void *dst, const void *src)
{
    for (const struct lc_config_option *o = table; o->key != NULL; o++) {
        size_t n;
        switch (o->type) {
        case LC_OPT_STRING:
        case LC_OPT_NAME:
            if (*AT(src, o, char *) != NULL) {
                *AT(dst, o, char *) = lc_xstrdup(*AT(src, o, char *));
            }
            break;
        case LC_OPT_NAMES:
            n = *COUNT(src, o);
            *AT(dst, o, char **) = n > 0 ? lc_xcalloc(n, sizeof(char *)) : NULL;
            for (size_t i = 0; i < n; i++) {
                (*AT(dst, o, char **))[i] = lc_xstrdup((*AT(src, o, char **))[i]);
            }
            break;
        case LC_OPT_LABELS:
            n = *COUNT(src, o);
            *AT(dst, o, struct lc_label_match *) =
                n > 0 ? lc_xcalloc(n, sizeof(struct lc_label_match)) : NULL;
            for (size_t i = 0; i < n; i++) {
                const struct lc_label_match *from = &(*AT(src, o, struct lc_label_match *))[i];
                struct lc_label_match *to = &(*AT(dst, o, struct lc_label_match *))[i];
                to->key = lc_xstrdup(from->key);
                to->value = lc_xstrdup(from->value);
            }
            break;
        case LC_OPT_TEMPLATE:
            *AT(dst, o, struct lc_template *) = lc_template_copy(*AT(src, o, struct lc_template *));
            break;
        case LC_OPT_TEMPLATES:
            n = *COUNT(src, o);
            *AT(dst, o, struct lc_template_pair *) =
                n > 0 ? lc_xcalloc(n, sizeof(struct lc_template_pair)) : NULL;
            for (size_t i = 0; i < n; i++) {
                const struct lc_template_pair *from = &(*AT(src, o, struct lc_template_pair *))[i];
                struct lc_template_pair *to = &(*AT(dst, o, struct lc_template_pair *))[i];
                to->name = lc_xstrdup(from->name);
                to->value = lc_template_copy(from->value);
            }
            break;
        case LC_OPT_STRMAP:
            n = *COUNT(src, o);
            *AT(dst, o, struct lc_config_pair *) =
                n > 0 ? lc_xcalloc(n, sizeof(struct lc_config_pair)) : NULL;
            for (size_t i = 0; i < n; i++) {
                const struct lc_config_pair *from = &(*AT(src, o, struct lc_config_pair *))[i];
                struct lc_config_pair *to = &(*AT(dst, o, struct lc_config_pair *))[i];
                to->name = lc_xstrdup(from->name);
                to->value = lc_xstrdup(from->value);
                to->line = from->line;
            }
            break;
        case LC_OPT_SECTION:
            lc_config_options_copy(o->sub, dst, src);
            break;
        default:
            break; /* plain values came with the bytewise copy */
        }
    }
}

void lc_config_options_free(const struct lc_config_option *table, void *base)
{
    for (const struct lc_config_option *o = table; o->key != NULL; o++) {
        switch (o->type) {
        case LC_OPT_STRING:
        case LC_OPT_NAME:
            free(*AT(base, o, char *));
            *AT(base, o, char *) = NULL;
            break;
        case LC_OPT_NAMES:
            for (size_t i = 0; i < *COUNT(base, o); i++) {
                free((*AT(base, o, char **))[i]);
            }
            free(*AT(base, o, char **));
            *AT(base, o, char **) = NULL;
            *COUNT(base, o) = 0;
            break;
        case LC_OPT_LABELS:
            for (size_t i = 0; i < *COUNT(base, o); i++) {
                free((*AT(base, o, struct lc_label_match *))[i].key);
                free((*AT(base, o, struct lc_label_match *))[i].value);
            }
            free(*AT(base, o, struct lc_label_match *));
            *AT(base, o, struct lc_label_match *) = NULL;
            *COUNT(base, o) = 0;
            break;
        case LC_OPT_TEMPLATE:
            lc_template_destroy(*AT(base, o, struct lc_template *));
            *AT(base, o, struct lc_template *) = NULL;
            break;
        case LC_OPT_TEMPLATES:
            lc_config_templates_free(*AT(base, o, struct lc_template_pair *), *COUNT(base, o));
            *AT(base, o, struct lc_template_pair *) = NULL;
            *COUNT(base, o) = 0;
            break;
        case LC_OPT_STRMAP:
            lc_config_pairs_free(*AT(base, o, struct lc_config_pair *), *COUNT(base, o));
            *AT(base, o, struct lc_config_pair *) = NULL;
            *COUNT(base, o) = 0;
            break;
        case LC_OPT_SECTION:
            lc_config_options_free(o->sub, base);
            break;
        default:
            break;
        }
    }
}

void *lc_config_plugin_create(const struct lc_config_plugin *p)
{
    void *opts = lc_xcalloc(1, p->size);
    lc_config_options_defaults(p->options, opts);
    return opts;
}

void *lc_config_plugin_copy(const struct lc_config_plugin *p, const void *opts)
{
    void *dst;
    if (opts == NULL) {
        return NULL;
    }
    dst = lc_xmalloc(p->size);
    memcpy(dst, opts, p->size);
    lc_config_options_copy(p->options, dst, opts);
    return dst;
}

void lc_config_plugin_free(const struct lc_config_plugin *p, void *opts)
{
    if (opts == NULL) {
        return;
    }
    lc_config_options_free(p->options, opts);
    free(opts);
}

/* ---- config-reference ---- */

static const char *type_name(const struct lc_config_option *o, char *dst, size_t cap)
{
    static const char *const names[] = {
        [LC_OPT_STRING] = "string",
        [LC_OPT_NAME] = "name",
        [LC_OPT_BOOL] = "boolean",
        [LC_OPT_UINT] = "integer",
        [LC_OPT_SIZE] = "size",
        [LC_OPT_DURATION] = "duration",
        [LC_OPT_TAIL] = "all or integer",
        [LC_OPT_NAMES] = "list of globs",
        [LC_OPT_LABELS] = "label: value",
        [LC_OPT_TEMPLATE] = "template",
        [LC_OPT_TEMPLATES] = "name: template",
        [LC_OPT_STRMAP] = "name: string",
        [LC_OPT_SECTION] = "mapping",
        [LC_OPT_CUSTOM] = "see the docs",
    };
    size_t n = 0;

    if (o->type == LC_OPT_CUSTOM && o->type_doc != NULL) {
        snprintf(dst, cap, "%s", o->type_doc);
        return dst;
    }
    if (o->type != LC_OPT_ENUM) {
        snprintf(dst, cap, "%s", names[o->type]);
        return dst;
    }
    dst[0] = '\0';
    for (size_t i = 0; o->names[i] != NULL; i++) {
        n += (size_t)snprintf(dst + n, n < cap ? cap - n : 0, "%s%s",
                              i == 0                    ? ""
                              : o->names[i + 1] == NULL ? " or "
                                                        : ", ",
                              o->names[i]);
    }
    return dst;
}

void lc_config_option_describe(const struct lc_config_option *o, char *type, char *range, char *def,
                               size_t cap)
{
    char a[32], b[32];

    type_name(o, type, cap);
    range[0] = '\0';
    if (o->type == LC_OPT_UINT) {
        snprintf(range, cap, "%llu-%llu", (unsigned long long)o->min, (unsigned long long)o->max);
    } else if (o->type == LC_OPT_SIZE) {
        snprintf(range, cap, "%s-%s", lc_config_fmt_size(a, sizeof a, o->min),
                 lc_config_fmt_size(b, sizeof b, o->max));
    } else if (o->type == LC_OPT_DURATION) {
        snprintf(range, cap, "1ms-%s", lc_config_fmt_duration(a, sizeof a, o->max));
    }
    snprintf(def, cap, "%s",
             (o->flags & LC_OPT_SECRET) && o->def != NULL ? "<redacted>"
             : o->def_doc != NULL                         ? o->def_doc
             : o->def != NULL                             ? o->def
             : o->type == LC_OPT_NAMES || o->type == LC_OPT_LABELS || o->type == LC_OPT_TEMPLATES ||
                     o->type == LC_OPT_STRMAP
                 ? "empty"
                 : "none");
}

const char *lc_config_quote_text(char *dst, size_t cap, const char *s)
{
    return lc_config_quote(dst, cap, s, strlen(s));
}

#define SECRET_CAP (64 * 1024) /* a password or token file larger than this is a mistake */

int lc_config_read_secret(const char *path, char **out, char *why, size_t cap)
{
    char q[256], *buf = lc_xmalloc(SECRET_CAP + 1);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int err = 0;

    if (f != NULL) {
        n = fread(buf, 1, SECRET_CAP + 1, f);
        err = ferror(f) ? errno : 0;
        fclose(f);
    } else {
        err = errno;
    }
    lc_config_quote_text(q, sizeof q, path);
    if (err == 0 && n > SECRET_CAP) {
        snprintf(why, cap, "%s is larger than 64KiB", q);
        err = EFBIG;
    } else if (err != 0) {
        snprintf(why, cap, "cannot read %s: %s", q, strerror(err));
    }
    while (err == 0 && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    if (err == 0 && (n == 0 || memchr(buf, '\0', n) != NULL)) {
        snprintf(why, cap, "%s is empty or holds a NUL byte", q);
        err = EINVAL;
    }
    if (err != 0) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}
