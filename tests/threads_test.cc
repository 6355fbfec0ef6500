// Threads that cannot be started (issue 12): this binary is linked with
// -Wl,--wrap=pthread_create, so every pthread_create of the project's own
// code (engine, parsers; not the shared libraries') goes through
// __wrap_pthread_create below, which refuses the ones a test names (EAGAIN,
// as when the process is out of threads). A job must then stop cleanly with
// a clear error, never join a thread that was not created, never hang, and
// run with fewer workers when only some of them could start.
//
// Threads are named by their start routine, numbered in the order the engine
// first creates them within a job: 1 the engine thread (eng_start), 2 the
// file scan's readers (pass 1, again in pass 2), 3 the journal thread, 4 the
// workers. This test creates no thread of its own while a job runs.
#include <gtest/gtest.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using std::atomic_int; // engine/rate.h names C11's atomic_int

extern "C" {
#include "engine/engine.h"
#include "engine/jobcfg.h"
#include "engine/journal.h"
#include "iot/client.h"
#include "sim/sim.h"
}

namespace
{

typedef void *(*start_fn)(void *);

std::mutex g_mu;
std::vector<start_fn> g_seen;            // routines in order of first creation
std::map<start_fn, int> g_created;       // creations asked for, per routine
int g_fail_routine = 0, g_fail_from = 0; // refuse routine N from its Mth creation
int g_refused = 0;

void refuse(int routine, int from)
{
    std::lock_guard<std::mutex> l(g_mu);
    g_seen.clear();
    g_created.clear();
    g_fail_routine = routine;
    g_fail_from = from;
    g_refused = 0;
}

int refused()
{
    std::lock_guard<std::mutex> l(g_mu);
    return g_refused;
}

} // namespace

extern "C" int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, start_fn fn,
                                     void *arg);

extern "C" int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, start_fn fn,
                                     void *arg)
{
    {
        std::lock_guard<std::mutex> l(g_mu);
        size_t k = 0;
        while (k < g_seen.size() && g_seen[k] != fn)
            k++;
        if (k == g_seen.size())
            g_seen.push_back(fn);
        int n = ++g_created[fn];
        if ((int)k + 1 == g_fail_routine && n >= g_fail_from) {
            g_refused++;
            return EAGAIN;
        }
    }
    return __real_pthread_create(t, a, fn, arg);
}

namespace
{

const char kAkid[] = "AKIDTHREADSTEST";
const char kSecret[] = "threads-test-secret";
const size_t kItems = 100; // testdata/generated/certificates_test.txt
const char kFile[] = "testdata/generated/certificates_test.txt";

std::string tmpdir()
{
    const char *d = getenv("TEST_TMPDIR");
    return d ? d : "/tmp";
}

struct Fixture : ::testing::Test {
    sim *s = nullptr;
    std::string url;
    iot_target t;
    jobcfg cfg;

    void SetUp() override
    {
        err e;
        err_clear(&e);
        ASSERT_EQ(iot_global_init(&e), 0) << e.msg;
        sim_opts o;
        memset(&o, 0, sizeof o);
        o.listen = "127.0.0.1:0";
        o.quotas = "unlimited";
        o.access_key = kAkid;
        o.secret_key = kSecret;
        o.threads = 2;
        int port = sim_start(&s, &o, &e);
        ASSERT_GT(port, 0) << e.msg;
        ASSERT_EQ(sim_seed_samples(s, &e), 0) << e.msg;
        url = "http://127.0.0.1:" + std::to_string(port);
        memset(&t, 0, sizeof t); // borrowed strings
        t.endpoint_url = const_cast<char *>(url.c_str());
        t.region = const_cast<char *>("us-east-1");
        t.access_key = const_cast<char *>(kAkid);
        t.secret_key = const_cast<char *>(kSecret);
        jobcfg_init(&cfg);
        set("policies", "BasicTestPolicy");
        for (const char *op : {"RegisterCertificateWithoutCA", "AttachPolicy"})
            set((std::string("rate.") + op).c_str(), "1000");
    }
    void TearDown() override
    {
        refuse(0, 0);
        jobcfg_free(&cfg);
        sim_stop(s);
    }
    void set(const char *k, const char *v)
    {
        err e;
        err_clear(&e);
        EXPECT_GE(jobcfg_set(&cfg, k, v, nullptr, 0, &e), 0) << k << ": " << e.msg;
    }

    // Runs a job to its end (polled from this thread only) with 4 workers.
    eng_snapshot run(const std::string &state, err *start_err = nullptr)
    {
        eng_snapshot sn;
        memset(&sn, 0, sizeof sn);
        eng_opts o;
        memset(&o, 0, sizeof o);
        o.file = kFile;
        o.cfg = &cfg;
        o.target = &t;
        o.state_dir = state.c_str();
        o.registry = "threads-test";
        o.workers = 4;
        eng *g = nullptr;
        err e;
        err_clear(&e);
        if (eng_start(&g, &o, &e)) {
            if (start_err)
                *start_err = e;
            sn.state = ENG_ERROR;
            snprintf(sn.message, sizeof sn.message, "%s", e.msg);
            return sn;
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (;;) {
            eng_snapshot_get(g, &sn);
            if (sn.state >= ENG_DONE)
                break;
            if (std::chrono::steady_clock::now() > deadline) {
                // a job that waits for threads that do not exist never ends:
                // nothing to join safely, so stop here
                fprintf(stderr, "the job did not end in 30 s (state %s)\n",
                        eng_state_name(sn.state));
                fflush(stderr);
                _exit(3);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        eng_wait(g);
        eng_wait(g); // a second wait joins nothing
        eng_snapshot_get(g, &sn);
        eng_free(g);
        return sn;
    }

    unsigned long long served()
    {
        unsigned long long n = 0, rejected = 0, faulted = 0;
        sim_counts(s, &n, &rejected, &faulted);
        return n;
    }
};

jnl_job newest_job(const std::string &state)
{
    jnl_job jb;
    memset(&jb, 0, sizeof jb);
    journal *j = nullptr;
    err e;
    err_clear(&e);
    if (jnl_open_existing(&j, state.c_str(), &e)) {
        ADD_FAILURE() << e.msg;
        return jb;
    }
    size_t n = 1;
    EXPECT_EQ(0, jnl_job_list(j, &jb, &n, &e)) << e.msg;
    EXPECT_EQ(1u, n);
    jnl_close(j);
    return jb;
}

} // namespace

TEST_F(Fixture, EngineThreadRefusedIsAnErrorFromStart)
{
    refuse(1, 1);
    err e;
    err_clear(&e);
    eng_snapshot sn = run(tmpdir() + "/threads-engine", &e);
    EXPECT_EQ(ERR_INTERNAL, e.code);
    EXPECT_STREQ("cannot start the engine thread: Resource temporarily unavailable",
                 e.msg);
    EXPECT_EQ(1, refused());
    (void)sn;
}

TEST_F(Fixture, ScanThreadsRefusedRejectTheFileWithoutHanging)
{
    std::string state = tmpdir() + "/threads-scan";
    refuse(2, 1);
    eng_snapshot sn = run(state);
    EXPECT_EQ(ENG_REJECTED, sn.state) << sn.message;
    EXPECT_NE(std::string::npos,
              std::string(sn.message).find("cannot start a thread to read the file"))
        << sn.message;
    EXPECT_GT(refused(), 0);
    EXPECT_EQ(0u, sn.done);
}

TEST_F(Fixture, JournalThreadRefusedSendsNothingAndResumes)
{
    std::string state = tmpdir() + "/threads-journal";
    refuse(3, 1);
    unsigned long long before = served();
    eng_snapshot sn = run(state);
    EXPECT_EQ(ENG_ERROR, sn.state) << sn.message;
    EXPECT_STREQ("cannot start the journal thread: Resource temporarily unavailable; "
                 "nothing was sent",
                 sn.message);
    EXPECT_EQ(1, refused());
    EXPECT_EQ(0u, sn.done);
    EXPECT_EQ(0u, sn.calls) << "calls sent with nothing to record them";
    // the pre-flight's reads only (GetPolicy)
    EXPECT_LE(served() - before, 2u);
    jnl_job jb = newest_job(state);
    EXPECT_EQ(JOB_RUNNING, jb.status) << "resumable";

    refuse(0, 0);
    sn = run(state);
    EXPECT_EQ(ENG_DONE, sn.state) << sn.message;
    EXPECT_EQ(1, sn.resumed);
    EXPECT_EQ(kItems, sn.done);
}

TEST_F(Fixture, EveryWorkerRefusedIsAnErrorAndResumes)
{
    std::string state = tmpdir() + "/threads-workers";
    refuse(4, 1);
    eng_snapshot sn = run(state);
    EXPECT_EQ(ENG_ERROR, sn.state) << sn.message;
    EXPECT_STREQ("cannot start a worker thread: Resource temporarily unavailable; "
                 "nothing was sent",
                 sn.message);
    EXPECT_EQ(1, refused()) << "the first refusal ends the attempts";
    EXPECT_EQ(0u, sn.calls);
    EXPECT_EQ(JOB_RUNNING, newest_job(state).status) << "resumable, not failed";

    refuse(0, 0);
    sn = run(state);
    EXPECT_EQ(ENG_DONE, sn.state) << sn.message;
    EXPECT_EQ(kItems, sn.done);
}

TEST_F(Fixture, SomeWorkersRefusedTheOthersDoTheJob)
{
    std::string state = tmpdir() + "/threads-some";
    refuse(4, 3); // the first two start
    eng_snapshot sn = run(state);
    EXPECT_EQ(ENG_DONE, sn.state) << sn.message;
    EXPECT_EQ(kItems, sn.done);
    EXPECT_EQ(1, refused());
}
