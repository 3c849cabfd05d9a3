/* test_input_registry: the input types the daemon can create: each is found by its type
 * name, under that name, with every operation an instance needs; an unknown type is not.
 * The registries are the one list of types: each input and output type carries its option
 * table under its own type name, which is what the config catalogue is built from. */
#include <stddef.h>
#include <string.h>

#include "inputs/registry.h"
#include "outputs/kafka/kafka.h"
#include "outputs/registry.h"
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

TEST(every_type_carries_its_option_table)
{
    size_t n = 0;
    for (size_t i = 0; lc_input_at(i) != NULL; i++, n++) {
        const struct lc_input_ops *ops = lc_input_at(i);
        ASSERT_TRUE(ops->config != NULL && ops->config->options != NULL);
        ASSERT_STR_EQ(ops->config->type, ops->type);
        ASSERT_TRUE(lc_input_find(ops->type) == ops);
    }
    ASSERT_TRUE(n >= 1);
    n = 0;
    for (size_t i = 0; lc_output_at(i) != NULL; i++, n++) {
        const struct lc_output_ops *ops = lc_output_at(i);
        ASSERT_TRUE(ops->config != NULL && ops->config->options != NULL);
        ASSERT_STR_EQ(ops->config->type, ops->type);
        ASSERT_TRUE(lc_output_find(ops->type) == ops);
        /* A plugin's options struct holds every key its table declares. */
        for (const struct lc_config_option *o = ops->config->options; o->key != NULL; o++) {
            ASSERT_TRUE(o->off < ops->config->size);
        }
    }
    ASSERT_TRUE(n >= 1);
    ASSERT_TRUE(lc_output_find("kafka") == &lc_output_kafka);
    ASSERT_TRUE(lc_output_find("elasticsearch") == NULL);
}

TEST_MAIN(TEST_ENTRY(docker_is_registered_whole), TEST_ENTRY(unknown_type),
          TEST_ENTRY(every_type_carries_its_option_table))
