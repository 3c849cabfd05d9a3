/* test_input_registry: the input types the daemon can create: each is found by its type
 * name, under that name, with every operation an instance needs; an unknown type is not. */
#include <stddef.h>

#include "inputs/registry.h"
#include "test.h"

TEST(docker_is_registered_whole)
{
    const struct lc_input_ops *ops = lc_input_find("docker");
    ASSERT_TRUE(ops != NULL);
    ASSERT_STR_EQ(ops->type, "docker");
    ASSERT_TRUE(ops->create != NULL && ops->start != NULL && ops->stop != NULL);
    ASSERT_TRUE(ops->pause != NULL && ops->resume != NULL && ops->positions != NULL);
    ASSERT_TRUE(ops->snapshot != NULL && ops->destroy != NULL);
}

TEST(unknown_type)
{
    ASSERT_TRUE(lc_input_find("files") == NULL);
    ASSERT_TRUE(lc_input_find("") == NULL);
    ASSERT_TRUE(lc_input_find("Docker") == NULL);
}

TEST_MAIN(TEST_ENTRY(docker_is_registered_whole), TEST_ENTRY(unknown_type))
