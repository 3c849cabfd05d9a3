/* bench_template: what rendering a template costs per record, and what reading one label
 * costs with the in-place scan of template.c against a jansson parse of the labels (the
 * alternative: a tree per record). Labels as Docker Compose sets them (11, sorted).
 *   cmake -DLOGCAP_BENCH=ON ... && build/bench_template [iterations] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "core/record.h"
#include "core/template.h"

#define LABELS                                                                                     \
    "{\"com.docker.compose.config-hash\":"                                                         \
    "\"8b1f0e5c2a7d9e3f4b6a1c0d2e8f7a9b3c5d1e7f9a2b4c6d8e0f1a3b5c7d9e1f\","                        \
    "\"com.docker.compose.container-number\":\"1\",\"com.docker.compose.depends_on\":\"\","        \
    "\"com.docker.compose.image\":\"sha256:0d5c1f2e3a4b\",\"com.docker.compose.oneoff\":"          \
    "\"False\",\"com.docker.compose.project\":\"shop\","                                           \
    "\"com.docker.compose.project.config_files\":\"/srv/shop/compose.yaml\","                      \
    "\"com.docker.compose.project.working_dir\":\"/srv/shop\","                                    \
    "\"com.docker.compose.service\":\"web\",\"com.docker.compose.version\":\"2.29.7\","            \
    "\"tier\":\"frontend\"}"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench(const char *text, const struct lc_record *r, long n)
{
    struct lc_template *t;
    char err[LC_TEMPLATE_ERR_CAP];
    struct lc_buf b;
    double t0;
    size_t total = 0;

    if (lc_template_parse(text, strlen(text), &t, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    lc_buf_init(&b, 0);
    t0 = now();
    for (long i = 0; i < n; i++) {
        lc_buf_reset(&b);
        lc_template_render(t, r, &b);
        total += b.len;
    }
    printf("%-58s %7.1f ns/record (%zu bytes)\n", text, (now() - t0) / n * 1e9, total / n);
    lc_buf_close(&b);
    lc_template_destroy(t);
}

static void bench_jansson(const char *labels, const char *key, long n)
{
    struct lc_buf b;
    double t0;
    size_t total = 0;

    lc_buf_init(&b, 0);
    t0 = now();
    for (long i = 0; i < n; i++) {
        json_t *j = json_loads(labels, 0, NULL), *v = json_object_get(j, key);
        lc_buf_reset(&b);
        if (json_is_string(v)) {
            lc_buf_add(&b, json_string_value(v), json_string_length(v));
        }
        total += b.len;
        json_decref(j);
    }
    printf("%-58s %7.1f ns/record (%zu bytes)\n", "jansson: json_loads + json_object_get",
           (now() - t0) / n * 1e9, total / n);
    lc_buf_close(&b);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    struct lc_meta *m =
        lc_meta_docker_create("4f1c0d2e9a7b4f1c0d2e9a7b4f1c0d2e9a7b4f1c0d2e9a7b4f1c0d2e9a7b4f1c",
                              "shop-web-1", "nginx:1.27", "node-7", LABELS, "shop", "web");
    struct lc_record *r = lc_record_create(m, 1, 1, "ts", 2, "hello", 5, 0);

    bench("logcap", r, n);
    bench("{{ container_name }}", r, n);
    bench("{{ compose_service }}", r, n);
    bench("{{ stream }}", r, n);
    bench("{{ labels.com.docker.compose.service }}", r, n);
    bench("{{ labels.tier }}", r, n);
    bench_jansson(LABELS, "tier", n / 10);
    bench("{{ host }}/{{ container_name }}/{{ stream }}", r, n);
    lc_record_destroy(r);
    lc_meta_unref(m);
    return 0;
}
