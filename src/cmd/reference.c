/* reference: `logcap config-reference`, every key the config file knows, from the tables
 * themselves: the core's (top level, api, supervisor, spool, the keys every input and every
 * output has) and each input and output type's. One block per section, "[NAME]", then one
 * line per key ("  KEY  TYPE  RANGE  default DEFAULT") and its help below it. Defaults
 * only: it reads no config, so it never prints a secret. tests/check_config_docs.py
 * compares it with docs/configuration.md. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/template.h"

#define CAP 256 /* room for a mapping default such as Loki's label set */

static void print_key(FILE *out, const char *prefix, const struct lc_config_option *o)
{
    char type[CAP], range[CAP], def[CAP], key[CAP];

    lc_config_option_describe(o, type, range, def, CAP);
    snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", o->key);
    fprintf(out, "  %-24s %-18s %-14s default %s\n", key, type, range, def);
    if (o->help != NULL) {
        fprintf(out, "      %s\n", o->help);
    }
}

/* Prints the keys of TABLE; nested sections with their keys as SECTION.KEY. */
static void print_table(FILE *out, const char *prefix, const struct lc_config_option *table)
{
    for (const struct lc_config_option *o = table; o->key != NULL; o++) {
        if (o->type == LC_OPT_SECTION) {
            print_table(out, o->key, o->sub);
        } else {
            print_key(out, prefix, o);
        }
    }
}

static void print_plugins(FILE *out, const char *family, const struct lc_config_plugin *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        fprintf(out, "\n[%ss: %s]  %s\n", family, list[i]->type, list[i]->help);
        if (list[i]->flags & LC_PLUGIN_SECTION) {
            fprintf(out, "      (also written as the top-level section %s:, the %s named %s)\n",
                    list[i]->type, family, list[i]->type);
        }
        for (size_t d = 0; list[i]->defaults != NULL && list[i]->defaults[d].path != NULL; d++) {
            fprintf(out, "      (its default of %s is %s)\n", list[i]->defaults[d].path,
                    list[i]->defaults[d].value);
        }
        print_table(out, "", list[i]->options);
    }
}

int lc_cmd_config_reference(const struct lc_config_catalog *cat, FILE *out)
{
    const struct lc_config_option *root = lc_config_root_options();

    fprintf(out, "logcap configuration keys (docs/configuration.md explains each)\n\n");
    fprintf(out, "[top level]\n");
    for (const struct lc_config_option *o = root; o->key != NULL; o++) {
        if (o->type != LC_OPT_SECTION) {
            print_key(out, "", o);
        }
    }
    for (const struct lc_config_option *o = root; o->key != NULL; o++) {
        if (o->type == LC_OPT_SECTION) {
            fprintf(out, "\n[%s]  %s\n", o->key, o->help);
            print_table(out, "", o->sub);
        }
    }
    fprintf(out, "\n[inputs]  the keys every entry of inputs: has\n");
    print_table(out, "", lc_config_input_options(0));
    print_plugins(out, "input", cat->inputs);
    fprintf(out, "\n[outputs]  the keys every entry of outputs: has\n");
    print_table(out, "", lc_config_output_options());
    print_plugins(out, "output", cat->outputs);
    /* Unindented, so that no reader of the blocks above takes it for a key. */
    fprintf(out,
            "\nTypes: a template is text with variables, {{ VARIABLE }}, one of %s; "
            "\"name: template\" is a mapping of names to templates (docs/configuration.md, "
            "\"Templates\").\n",
            LC_TEMPLATE_VARIABLES);
    return ferror(out) ? 1 : 0;
}
