/* test_filter: include/exclude by name glob and by label, alone and combined; logcap's own
 * container found in /proc/self/mountinfo and never captured, whatever the filters say. */
#include "inputs/docker/filter.h"

#include <string.h>

#include "test.h"

static char *web_globs[] = {"web-*", "api"};
static char *excl_globs[] = {"*-debug"};
static struct lc_label_match team_label[] = {{"team", "payments"}};
static struct lc_label_match any_env[] = {{"env", "*"}};
static struct lc_label_match two_labels[] = {{"team", "payments"}, {"env", "*"}};
static struct lc_label_match skip_label[] = {{"logcap.skip", "*"}};
static struct lc_label_match exact_skip[] = {{"tier", "test"}};

static const struct lc_docker_kv payments_prod[] = {{"team", "payments"}, {"env", "prod"}};
static const struct lc_docker_kv payments_only[] = {{"team", "payments"}};
static const struct lc_docker_kv search_prod[] = {{"team", "search"}, {"env", "prod"}};
static const struct lc_docker_kv skipped[] = {{"logcap.skip", ""}, {"team", "payments"}};
static const struct lc_docker_kv tier_test[] = {{"tier", "test"}};
static const struct lc_docker_kv tier_prod[] = {{"tier", "prod"}};

TEST(empty_filter_passes_everything)
{
    struct lc_docker_config dc = {0};
    ASSERT_EQ(lc_docker_filter_match(&dc, "anything", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1", payments_prod, 2), 1);
}

TEST(include_names_globs)
{
    struct lc_docker_config dc = {.include_names = web_globs, .n_include_names = 2};
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "api", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "api-2", NULL, 0), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "db", NULL, 0), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "my-web-1", NULL, 0), 0);
}

TEST(exclude_names_globs)
{
    struct lc_docker_config dc = {.exclude_names = excl_globs, .n_exclude_names = 1};
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-debug", NULL, 0), 0);
}

TEST(exclude_wins_over_include)
{
    struct lc_docker_config dc = {.include_names = web_globs,
                                  .n_include_names = 2,
                                  .exclude_names = excl_globs,
                                  .n_exclude_names = 1};
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1-debug", NULL, 0), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "db-debug", NULL, 0), 0);
}

TEST(leading_slash_is_ignored)
{
    struct lc_docker_config dc = {.include_names = web_globs, .n_include_names = 2};
    ASSERT_EQ(lc_docker_filter_match(&dc, "/web-1", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "/db", NULL, 0), 0);
}

TEST(include_label_exact_value)
{
    struct lc_docker_config dc = {.include_labels = team_label, .n_include_labels = 1};
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", payments_prod, 2), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", search_prod, 2), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", NULL, 0), 0);
}

TEST(include_label_any_value)
{
    struct lc_docker_config dc = {.include_labels = any_env, .n_include_labels = 1};
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", payments_prod, 2), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", search_prod, 2), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", payments_only, 1), 0);
}

TEST(include_labels_all_must_match)
{
    struct lc_docker_config dc = {.include_labels = two_labels, .n_include_labels = 2};
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", payments_prod, 2), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", payments_only, 1), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", search_prod, 2), 0);
}

TEST(exclude_labels_any_match_excludes)
{
    struct lc_docker_config dc = {.exclude_labels = skip_label, .n_exclude_labels = 1};
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", payments_prod, 2), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", skipped, 2), 0);
    dc.exclude_labels = exact_skip;
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", tier_test, 1), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", tier_prod, 1), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "x", NULL, 0), 1);
}

TEST(names_and_labels_combined)
{
    struct lc_docker_config dc = {.include_names = web_globs,
                                  .n_include_names = 2,
                                  .include_labels = team_label,
                                  .n_include_labels = 1,
                                  .exclude_labels = skip_label,
                                  .n_exclude_labels = 1};
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1", payments_prod, 2), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "db", payments_prod, 2), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1", search_prod, 2), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "web-1", skipped, 2), 0);
}

TEST(glob_classes_and_question_mark)
{
    char *globs[] = {"db-[0-9]", "cache-?"};
    struct lc_docker_config dc = {.include_names = globs, .n_include_names = 2};
    ASSERT_EQ(lc_docker_filter_match(&dc, "db-3", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "db-x", NULL, 0), 0);
    ASSERT_EQ(lc_docker_filter_match(&dc, "cache-a", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_match(&dc, "cache-ab", NULL, 0), 0);
}

#define SELF "4f2d6c1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"
#define OTHER "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Docker bind-mounts /etc/hostname, /etc/hosts and /etc/resolv.conf from
 * <data-root>/containers/<id>/: that id is logcap's own container. A volume that shows
 * another container's directory comes first here and must not be taken for it. */
TEST(own_container_from_mountinfo)
{
    static const char docker[] =
        "1288 1200 0:141 / / rw,relatime master:600 - overlay overlay rw,lowerdir=/x\n"
        "1300 1288 8:1 /var/lib/docker/containers/" OTHER "/mounts /data rw - ext4 /dev/sda1 rw\n"
        "1301 1288 8:1 /var/lib/docker/containers/" SELF
        "/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw\n"
        "1302 1288 8:1 /var/lib/docker/containers/" SELF
        "/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw\n"
        "1303 1288 8:1 /var/lib/docker/containers/" SELF
        "/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw\n";
    /* data-root on a file system of its own: the root field starts at it */
    static const char own_fs[] =
        "1288 1200 0:141 / / rw - overlay overlay rw\n"
        "1302 1288 8:17 /containers/" SELF "/hostname /etc/hostname rw - xfs /dev/sdb1 rw\n";
    static const char host[] = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                               "23 22 0:21 / /proc rw shared:12 - proc proc rw\n";
    static const char short_id[] = "1302 1288 8:1 /var/lib/docker/containers/abc/hostname "
                                   "/etc/hostname rw - ext4 /dev/sda1 rw\n";
    char id[65];

    lc_docker_filter_self_id(docker, id);
    ASSERT_STR_EQ(id, SELF);
    lc_docker_filter_self_id(own_fs, id);
    ASSERT_STR_EQ(id, SELF);
    lc_docker_filter_self_id(host, id);
    ASSERT_STR_EQ(id, "");
    lc_docker_filter_self_id(short_id, id);
    ASSERT_STR_EQ(id, "");
    lc_docker_filter_self_id("", id);
    ASSERT_STR_EQ(id, "");
}

/* logcap's own container is never captured, even when the filters name it: its stdout
 * may be the stdout output, which would feed every line back into the spool. Outside a
 * container (no own id) only the filters decide. */
TEST(own_container_never_captured)
{
    static char *logcap_glob[] = {"logcap*"};
    struct lc_docker_config dc = {0};

    ASSERT_EQ(lc_docker_filter_wanted(&dc, SELF, SELF, "logcap", NULL, 0), 0);
    ASSERT_EQ(lc_docker_filter_wanted(&dc, SELF, OTHER, "web", NULL, 0), 1);
    dc.include_names = logcap_glob;
    dc.n_include_names = 1;
    ASSERT_EQ(lc_docker_filter_wanted(&dc, SELF, SELF, "logcap", NULL, 0), 0);
    ASSERT_EQ(lc_docker_filter_wanted(&dc, SELF, OTHER, "logcap-2", NULL, 0), 1);
    ASSERT_EQ(lc_docker_filter_wanted(&dc, SELF, OTHER, "web", NULL, 0), 0);
    ASSERT_EQ(lc_docker_filter_wanted(&dc, "", SELF, "logcap", NULL, 0), 1);
}

TEST_MAIN(TEST_ENTRY(empty_filter_passes_everything), TEST_ENTRY(include_names_globs),
          TEST_ENTRY(exclude_names_globs), TEST_ENTRY(exclude_wins_over_include),
          TEST_ENTRY(leading_slash_is_ignored), TEST_ENTRY(include_label_exact_value),
          TEST_ENTRY(include_label_any_value), TEST_ENTRY(include_labels_all_must_match),
          TEST_ENTRY(exclude_labels_any_match_excludes), TEST_ENTRY(names_and_labels_combined),
          TEST_ENTRY(glob_classes_and_question_mark), TEST_ENTRY(own_container_from_mountinfo),
          TEST_ENTRY(own_container_never_captured))
