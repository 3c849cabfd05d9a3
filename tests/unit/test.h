/* test: the tiny unit-test harness. A test file defines its tests with TEST(name), lists
 * them in TEST_LIST, and ends with TEST_MAIN(). ASSERT_* print both sides and the line,
 * then fail the current test (the rest of the file still runs). */
#ifndef LC_TEST_H
#define LC_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_test {
    const char *name;
    void (*fn)(int *failed);
};

#define TEST(name) static void test_##name(int *lc_test_failed)
#define TEST_ENTRY(name)                                                                           \
    {                                                                                              \
#name, test_##name                                                                         \
    }

#define LC_FAIL_(...)                                                                              \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        *lc_test_failed = 1;                                                                       \
        return;                                                                                    \
    } while (0)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            LC_FAIL_("ASSERT_TRUE(%s) failed", #c);                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long lc_a_ = (long long)(a), lc_b_ = (long long)(b);                                  \
        if (lc_a_ != lc_b_) {                                                                      \
            LC_FAIL_("ASSERT_EQ(%s, %s): %lld != %lld", #a, #b, lc_a_, lc_b_);                     \
        }                                                                                          \
    } while (0)

#define ASSERT_U64_EQ(a, b)                                                                        \
    do {                                                                                           \
        unsigned long long lc_a_ = (unsigned long long)(a), lc_b_ = (unsigned long long)(b);       \
        if (lc_a_ != lc_b_) {                                                                      \
            LC_FAIL_("ASSERT_U64_EQ(%s, %s): %llu != %llu", #a, #b, lc_a_, lc_b_);                 \
        }                                                                                          \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *lc_a_ = (a), *lc_b_ = (b);                                                     \
        if (lc_a_ == NULL || lc_b_ == NULL || strcmp(lc_a_, lc_b_) != 0) {                         \
            LC_FAIL_("ASSERT_STR_EQ(%s, %s): \"%s\" != \"%s\"", #a, #b, lc_a_ ? lc_a_ : "(null)",  \
                     lc_b_ ? lc_b_ : "(null)");                                                    \
        }                                                                                          \
    } while (0)

#define ASSERT_MEM_EQ(a, alen, b, blen)                                                            \
    do {                                                                                           \
        size_t lc_al_ = (alen), lc_bl_ = (blen);                                                   \
        if (lc_al_ != lc_bl_ || memcmp((a), (b), lc_al_) != 0) {                                   \
            LC_FAIL_("ASSERT_MEM_EQ(%s, %s): \"%.*s\" (%zu) != \"%.*s\" (%zu)", #a, #b,            \
                     (int)lc_al_, (const char *)(a), lc_al_, (int)lc_bl_, (const char *)(b),       \
                     lc_bl_);                                                                      \
        }                                                                                          \
    } while (0)

#define TEST_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        static const struct lc_test tests[] = {__VA_ARGS__};                                       \
        int failures = 0, n = (int)(sizeof(tests) / sizeof(tests[0]));                             \
        for (int i = 0; i < n; i++) {                                                              \
            int failed = 0;                                                                        \
            tests[i].fn(&failed);                                                                  \
            printf("%s %s\n", failed ? "FAIL" : "ok  ", tests[i].name);                            \
            failures += failed;                                                                    \
        }                                                                                          \
        printf("%d passed, %d failed\n", n - failures, failures);                                  \
        return failures ? 1 : 0;                                                                   \
    }

#endif
