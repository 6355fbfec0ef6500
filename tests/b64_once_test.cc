// base/b64.c builds its decoding tables on first use. Many threads decoding
// at once for the first time (the sim's server threads, the engine's
// workers) must not race on them: run under --config=tsan (tag tsan), where a
// race stops the test. Alone in its binary, so that the first use is here.
#include <pthread.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "base/b64.h"
}

namespace
{
pthread_barrier_t g_start;

void *decode(void *)
{
    pthread_barrier_wait(&g_start);
    unsigned char out[16];
    size_t n = 0, bad = 0;
    int rc = b64_decode(out, &n, "aGVsbG8=", 8, B64_STD, &bad);
    return (void *)(intptr_t)(rc == 0 && n == 5 && memcmp(out, "hello", 5) == 0);
}
} // namespace

TEST(B64, FirstUseFromManyThreads)
{
    const int kThreads = 8;
    ASSERT_EQ(0, pthread_barrier_init(&g_start, nullptr, kThreads));
    std::vector<pthread_t> t(kThreads);
    for (auto &th : t)
        ASSERT_EQ(0, pthread_create(&th, nullptr, decode, nullptr));
    for (auto &th : t) {
        void *ok = nullptr;
        pthread_join(th, &ok);
        EXPECT_TRUE(ok);
    }
    pthread_barrier_destroy(&g_start);
}
