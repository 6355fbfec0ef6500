// The journal (engine/journal.h): job identity and resume, items, counts,
// reopen, a reader and a second writer in other processes, the audit log,
// the reports, the state directory and foreign databases.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "engine/journal.h"
#include "tests/testutil.h"

namespace
{

const char *const SHA_A =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const char *const SHA_B =
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const char *const IDENT =
    "{\"policies\":[\"p1\"],\"thing_groups\":[],\"thing_type\":null}";
const char *const IDENT2 =
    "{\"policies\":[\"p2\"],\"thing_groups\":[],\"thing_type\":null}";
const char *const EP = "http://127.0.0.1:4566";

// A fresh directory under TEST_TMPDIR (not created: the journal creates it).
std::string fresh_dir(const std::string &name)
{
    static int n = 0;
    const char *t = getenv("TEST_TMPDIR");
    return std::string(t ? t : "/tmp") + "/" + name + "-" + std::to_string(getpid()) +
           "-" + std::to_string(n++);
}

std::string msg(const err &e)
{
    char b[700];
    return err_format(&e, b, sizeof b);
}

struct Jnl {
    journal *j = nullptr;
    err e;
    explicit Jnl(const std::string &dir)
    {
        err_clear(&e);
        EXPECT_EQ(0, jnl_open(&j, dir.c_str(), &e)) << msg(e);
    }
    ~Jnl()
    {
        jnl_close(j);
    }
    long long job(const char *file, const char *sha = SHA_A, const char *ident = IDENT,
                  const char *ep = EP, int *resumed = nullptr, int phase = 1)
    {
        long long id = 0;
        int r = -1;
        EXPECT_EQ(0, jnl_job_open(j, file, sha, phase, "batch-1", ident, ep, &id, &r, &e))
            << msg(e);
        if (resumed)
            *resumed = r;
        return id;
    }
    jnl_job get(long long id)
    {
        jnl_job jb;
        memset(&jb, 0, sizeof jb);
        EXPECT_EQ(0, jnl_job_get(j, id, &jb, &e)) << msg(e);
        return jb;
    }
    void add(long long id, size_t idx, const char *key, jnl_status st = JNL_PENDING,
             const char *error = nullptr)
    {
        char fp[65];
        snprintf(fp, sizeof fp, "%064zx", idx);
        ASSERT_EQ(0, jnl_item_add(j, id, idx, key, fp, st, error, &e)) << msg(e);
    }
    void update(long long id, size_t idx, int step, jnl_status st, int attempts = 1,
                const char *error = nullptr, const char *cert = nullptr,
                const char *thing = nullptr, const jnl_times *t = nullptr)
    {
        ASSERT_EQ(
            0, jnl_item_update(j, id, idx, step, st, attempts, error, cert, thing, t, &e))
            << msg(e);
    }
    std::vector<jnl_item> items(long long id, int filter = JNL_FILTER_ALL,
                                size_t offset = 0, size_t cap = 100000)
    {
        std::vector<jnl_item> v(cap);
        size_t n = cap;
        EXPECT_EQ(0, jnl_item_list(j, id, filter, offset, v.data(), &n, &e)) << msg(e);
        v.resize(n);
        return v;
    }
};

// The counts recomputed from the item rows with SQL of the test's own.
struct Recount {
    long long total = -1, done = -1, failed = -1, skipped = -1;
};

Recount recount(const std::string &dir, long long job)
{
    Recount r;
    sqlite3 *db = nullptr;
    std::string path = dir + "/journal.db";
    EXPECT_EQ(SQLITE_OK,
              sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr));
    sqlite3_stmt *s = nullptr;
    EXPECT_EQ(SQLITE_OK,
              sqlite3_prepare_v2(db,
                                 "SELECT count(*), total(status=1), total(status=2), "
                                 "total(status=3) FROM items WHERE job_id=?1",
                                 -1, &s, nullptr));
    sqlite3_bind_int64(s, 1, job);
    if (sqlite3_step(s) == SQLITE_ROW) {
        r.total = sqlite3_column_int64(s, 0);
        r.done = sqlite3_column_int64(s, 1);
        r.failed = sqlite3_column_int64(s, 2);
        r.skipped = sqlite3_column_int64(s, 3);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return r;
}

void expect_counts_agree(const std::string &dir, Jnl &J, long long job)
{
    jnl_job jb = J.get(job);
    Recount r = recount(dir, job);
    EXPECT_EQ(r.total, (long long)jb.total);
    EXPECT_EQ(r.done, (long long)jb.done);
    EXPECT_EQ(r.failed, (long long)jb.failed);
    EXPECT_EQ(r.skipped, (long long)jb.skipped);
}

// Runs SQL on the journal's file directly (to age timestamps, plant data).
void sql(const std::string &dir, const std::string &q)
{
    sqlite3 *db = nullptr;
    std::string path = dir + "/journal.db";
    ASSERT_EQ(SQLITE_OK, sqlite3_open(path.c_str(), &db));
    char *m = nullptr;
    EXPECT_EQ(SQLITE_OK, sqlite3_exec(db, q.c_str(), nullptr, nullptr, &m))
        << (m ? m : "");
    sqlite3_free(m);
    sqlite3_close(db);
}

std::vector<std::string> lines(const std::string &text)
{
    std::vector<std::string> v;
    size_t p = 0;
    while (p < text.size()) {
        size_t nl = text.find('\n', p);
        if (nl == std::string::npos)
            nl = text.size();
        v.push_back(text.substr(p, nl - p));
        p = nl + 1;
    }
    return v;
}

// The SHA-256 of bytes, lowercase hex (an audit line's prev).
std::string sha256_hex(const std::string &bytes)
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

int file_mode(const std::string &path)
{
    struct stat sb;
    if (stat(path.c_str(), &sb) != 0)
        return -1;
    return (int)(sb.st_mode & 07777);
}

} // namespace

TEST(Journal, SameFileAndConfigurationIsTheSameJob)
{
    std::string dir = fresh_dir("ident");
    Jnl J(dir);
    int resumed = -1;
    long long a = J.job("/in/a.csv", SHA_A, IDENT, EP, &resumed);
    EXPECT_GT(a, 0);
    EXPECT_EQ(0, resumed);
    J.add(a, 0, "dev0");

    // the same content from another path: the same job, which records the path
    long long moved = J.job("/elsewhere/renamed.csv", SHA_A, IDENT, EP, &resumed);
    EXPECT_EQ(a, moved);
    EXPECT_EQ(1, resumed);
    jnl_job jb = J.get(a);
    EXPECT_STREQ("/elsewhere/renamed.csv", jb.file);
    EXPECT_STREQ(SHA_A, jb.file_sha256);
    EXPECT_STREQ(IDENT, jb.identity);
    EXPECT_STREQ(EP, jb.endpoint);
    EXPECT_STREQ("batch-1", jb.batch_id);
    EXPECT_EQ(1, jb.phase);
    EXPECT_EQ(JOB_RUNNING, jb.status);
    EXPECT_EQ(1u, jb.total);

    // another configuration, another file, another endpoint: new jobs
    long long b = J.job("/in/a.csv", SHA_A, IDENT2, EP, &resumed);
    EXPECT_EQ(0, resumed);
    long long c = J.job("/in/a.csv", SHA_B, IDENT, EP, &resumed);
    EXPECT_EQ(0, resumed);
    long long d =
        J.job("/in/a.csv", SHA_A, IDENT, "https://iot.eu-west-1.amazonaws.com", &resumed);
    EXPECT_EQ(0, resumed);
    EXPECT_NE(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(a, d);
    EXPECT_NE(b, c);
    EXPECT_EQ(0u, J.get(b).total);

    // a resumed job keeps its status
    ASSERT_EQ(0, jnl_job_set_status(J.j, a, JOB_CANCELLED, &J.e));
    EXPECT_EQ(a, J.job("/in/a.csv", SHA_A, IDENT, EP, &resumed));
    EXPECT_EQ(1, resumed);
    EXPECT_EQ(JOB_CANCELLED, J.get(a).status);

    // a NULL endpoint is "" (and a job of its own)
    long long id = 0;
    ASSERT_EQ(0, jnl_job_open(J.j, "/in/a.csv", SHA_A, 2, nullptr, IDENT, nullptr, &id,
                              &resumed, &J.e));
    EXPECT_EQ(0, resumed);
    long long again = 0;
    ASSERT_EQ(0, jnl_job_open(J.j, "/in/a.csv", SHA_A, 2, nullptr, IDENT, "", &again,
                              &resumed, &J.e));
    EXPECT_EQ(id, again);
    EXPECT_EQ(1, resumed);
}

TEST(Journal, UnknownJobIsAClearError)
{
    Jnl J(fresh_dir("unknown"));
    jnl_job jb;
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, jnl_job_get(J.j, 42, &jb, &e));
    EXPECT_NE(std::string::npos, msg(e).find("no job 42")) << msg(e);
    err_clear(&e);
    EXPECT_EQ(-1, jnl_job_set_status(J.j, 42, JOB_DONE, &e));
    err_clear(&e);
    EXPECT_EQ(-1, jnl_item_add(J.j, 42, 0, "k", "f", JNL_PENDING, nullptr, &e));
    EXPECT_NE(std::string::npos, msg(e).find("no job 42")) << msg(e);
}

TEST(Journal, ItemAddIsIdempotent)
{
    std::string dir = fresh_dir("add");
    Jnl J(dir);
    long long id = J.job("/in/a.csv");
    J.add(id, 0, "dev0");
    J.update(id, 0, 2, JNL_PENDING, 3, nullptr, "arn:cert/0");
    // a second add (the engine adds again on resume) changes nothing
    ASSERT_EQ(0, jnl_item_add(J.j, id, 0, "other", "ffff", JNL_SKIPPED, "why", &J.e));
    auto v = J.items(id);
    ASSERT_EQ(1u, v.size());
    EXPECT_STREQ("dev0", v[0].key);
    EXPECT_EQ(2, v[0].step);
    EXPECT_EQ(JNL_PENDING, v[0].status);
    EXPECT_EQ(3, v[0].attempts);
    EXPECT_STREQ("arn:cert/0", v[0].cert_arn);
    EXPECT_STREQ("", v[0].error);
    EXPECT_EQ(1u, J.get(id).total);
    EXPECT_EQ(0u, J.get(id).skipped);

    // a new row starts at step 0, 0 attempts; a skipped one carries its reason
    J.add(id, 1, "dev1", JNL_SKIPPED, "thing name too long");
    v = J.items(id);
    ASSERT_EQ(2u, v.size());
    EXPECT_EQ(0, v[1].step);
    EXPECT_EQ(0, v[1].attempts);
    EXPECT_EQ(JNL_SKIPPED, v[1].status);
    EXPECT_STREQ("thing name too long", v[1].error);
    EXPECT_GE(v[1].updated, (long long)time(nullptr) - 5);
    expect_counts_agree(dir, J, id);
}

TEST(Journal, UpdateAndStates)
{
    std::string dir = fresh_dir("states");
    Jnl J(dir);
    long long id = J.job("/in/a.csv");
    for (size_t i : {0, 1, 2, 5})
        J.add(id, i, ("dev" + std::to_string(i)).c_str());

    J.update(id, 1, 3, JNL_PENDING, 2, nullptr, "arn:cert/1", nullptr);
    J.update(id, 2, 4, JNL_FAILED, 5, "AccessDenied: not allowed");
    // NULL strings keep what is there
    J.update(id, 1, 4, JNL_PENDING, 3, nullptr, nullptr, "arn:thing/1");
    auto v = J.items(id);
    ASSERT_EQ(4u, v.size());
    EXPECT_STREQ("arn:cert/1", v[1].cert_arn);
    EXPECT_STREQ("arn:thing/1", v[1].thing_arn);
    EXPECT_EQ(4, v[1].step);
    EXPECT_EQ(3, v[1].attempts);
    EXPECT_STREQ("AccessDenied: not allowed", v[2].error);

    // the error stays through a pending retry, "" clears it, and so does done
    J.update(id, 2, 4, JNL_PENDING, 6, nullptr);
    EXPECT_STREQ("AccessDenied: not allowed", J.items(id)[2].error);
    J.update(id, 2, 4, JNL_PENDING, 6, "");
    EXPECT_STREQ("", J.items(id)[2].error);
    J.update(id, 2, 4, JNL_FAILED, 7, "again");
    J.update(id, 2, 6, JNL_DONE, 8, nullptr);
    EXPECT_STREQ("", J.items(id)[2].error);
    EXPECT_EQ(JNL_DONE, J.items(id)[2].status);

    jnl_item_state *st = nullptr;
    size_t n = 0;
    ASSERT_EQ(0, jnl_item_states(J.j, id, &st, &n, &J.e)) << msg(J.e);
    ASSERT_EQ(6u, n);
    int want_steps[] = {0, 4, 6, -1, -1, 0};
    jnl_status want_st[] = {JNL_PENDING, JNL_PENDING, JNL_DONE,
                            JNL_PENDING, JNL_PENDING, JNL_PENDING};
    int want_attempts[] = {0, 3, 8, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        EXPECT_EQ(want_steps[i], st[i].step) << i;
        EXPECT_EQ(want_st[i], st[i].status) << i;
        EXPECT_EQ(want_attempts[i], st[i].attempts) << i;
    }
    free(st);

    // an empty job: no array
    long long other = J.job("/in/b.csv", SHA_B);
    ASSERT_EQ(0, jnl_item_states(J.j, other, &st, &n, &J.e));
    EXPECT_EQ(0u, n);
    free(st);

    // updating an item that was never added is the caller's mistake
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, jnl_item_update(J.j, id, 3, 1, JNL_DONE, 1, nullptr, nullptr, nullptr,
                                  nullptr, &e));
    EXPECT_NE(std::string::npos, msg(e).find("item 3 of job")) << msg(e);
    expect_counts_agree(dir, J, id);
}

TEST(Journal, ListOrderingAndFilters)
{
    std::string dir = fresh_dir("list");
    Jnl J(dir);
    long long id = J.job("/in/a.csv");
    // added out of order: listed by idx
    for (size_t i : {7, 3, 0, 9, 1, 4, 8, 2, 6, 5})
        J.add(id, i, ("dev" + std::to_string(i)).c_str());
    J.update(id, 2, 1, JNL_FAILED, 1, "e2");
    J.update(id, 5, 1, JNL_FAILED, 1, "e5");
    J.update(id, 3, 9, JNL_DONE, 1);
    J.update(id, 8, 9, JNL_DONE, 1);
    J.update(id, 7, 0, JNL_SKIPPED, 0, "invalid");

    auto idxs = [](const std::vector<jnl_item> &v) {
        std::vector<size_t> r;
        for (auto &it : v)
            r.push_back(it.idx);
        return r;
    };
    EXPECT_EQ((std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), idxs(J.items(id)));
    EXPECT_EQ((std::vector<size_t>{2, 5}), idxs(J.items(id, JNL_FAILED)));
    EXPECT_EQ((std::vector<size_t>{3, 8}), idxs(J.items(id, JNL_DONE)));
    EXPECT_EQ((std::vector<size_t>{7}), idxs(J.items(id, JNL_SKIPPED)));
    EXPECT_EQ((std::vector<size_t>{0, 1, 4, 6, 9}), idxs(J.items(id, JNL_PENDING)));
    EXPECT_EQ((std::vector<size_t>{2, 5, 7}), idxs(J.items(id, JNL_FILTER_PROBLEMS)));
    // paging: offset counts matching rows, capacity bounds the page
    EXPECT_EQ((std::vector<size_t>{3, 4, 5}), idxs(J.items(id, JNL_FILTER_ALL, 3, 3)));
    EXPECT_EQ((std::vector<size_t>{9}), idxs(J.items(id, JNL_FILTER_ALL, 9, 3)));
    EXPECT_EQ((std::vector<size_t>{}), idxs(J.items(id, JNL_FILTER_ALL, 10, 3)));
    EXPECT_EQ((std::vector<size_t>{5, 7}), idxs(J.items(id, JNL_FILTER_PROBLEMS, 1, 5)));
    EXPECT_EQ((std::vector<size_t>{}), idxs(J.items(id, JNL_FILTER_ALL, 0, 0)));
    // another job's items are not listed
    long long other = J.job("/in/b.csv", SHA_B);
    EXPECT_TRUE(J.items(other).empty());

    // jobs: most recently updated first, ties by the highest id
    long long j3 = J.job("/in/c.csv", "cccc");
    sql(dir, "UPDATE jobs SET updated=1000 WHERE id=" + std::to_string(id) +
                 "; UPDATE jobs SET updated=3000 WHERE id=" + std::to_string(other) +
                 "; UPDATE jobs SET updated=2000 WHERE id=" + std::to_string(j3));
    std::vector<jnl_job> jobs(10);
    size_t n = jobs.size();
    ASSERT_EQ(0, jnl_job_list(J.j, jobs.data(), &n, &J.e)) << msg(J.e);
    ASSERT_EQ(3u, n);
    EXPECT_EQ(other, jobs[0].id);
    EXPECT_EQ(j3, jobs[1].id);
    EXPECT_EQ(id, jobs[2].id);
    EXPECT_EQ(10u, jobs[2].total);
    EXPECT_EQ(2u, jobs[2].failed);
    // resuming moves a job to the top
    J.job("/in/a.csv");
    n = 2;
    ASSERT_EQ(0, jnl_job_list(J.j, jobs.data(), &n, &J.e));
    ASSERT_EQ(2u, n);
    EXPECT_EQ(id, jobs[0].id);
    EXPECT_EQ(other, jobs[1].id);
    sql(dir, "UPDATE jobs SET updated=5000");
    n = 10;
    ASSERT_EQ(0, jnl_job_list(J.j, jobs.data(), &n, &J.e));
    ASSERT_EQ(3u, n);
    EXPECT_EQ(j3, jobs[0].id);
    EXPECT_EQ(other, jobs[1].id);
    EXPECT_EQ(id, jobs[2].id);
    // a status change of an item moves its job's `updated`
    J.update(id, 0, 9, JNL_DONE, 1);
    n = 1;
    ASSERT_EQ(0, jnl_job_list(J.j, jobs.data(), &n, &J.e));
    EXPECT_EQ(id, jobs[0].id);
}

TEST(Journal, CountsAgreeWithTheRowsThroughRandomWork)
{
    std::string dir = fresh_dir("counts");
    Jnl J(dir);
    long long a = J.job("/in/a.csv"), b = J.job("/in/b.csv", SHA_B);
    // (a fixed pseudo-random sequence keeps the test reproducible)
    unsigned long long seed = 7;
    auto rng = [&seed]() {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return (unsigned)(seed >> 33);
    };
    std::vector<jnl_status> truth_a(3000, JNL_PENDING);
    std::vector<bool> added(3000, false);
    for (int round = 0; round < 30; round++) {
        ASSERT_EQ(0, jnl_begin(J.j, &J.e)) << msg(J.e);
        for (int k = 0; k < 200; k++) {
            size_t idx = rng() % 3000;
            jnl_status st = (jnl_status)(rng() % 4);
            if (!added[idx] || rng() % 5 == 0) {
                // adds of an existing row are ignored
                if (!added[idx])
                    truth_a[idx] = st;
                added[idx] = true;
                J.add(a, idx, "k", st, st >= JNL_FAILED ? "why" : nullptr);
            } else {
                J.update(a, idx, (int)(rng() % 6), st, 1,
                         st == JNL_FAILED ? "failed" : nullptr);
                truth_a[idx] = st;
            }
            J.add(b, idx, "k", JNL_DONE); // noise in another job
        }
        if (round % 7 == 3) {
            jnl_rollback(J.j); // nothing of the round remains: re-read the truth
            auto v = J.items(a);
            std::fill(added.begin(), added.end(), false);
            for (auto &it : v) {
                added[it.idx] = true;
                truth_a[it.idx] = it.status;
            }
        } else {
            ASSERT_EQ(0, jnl_commit(J.j, &J.e)) << msg(J.e);
        }
        expect_counts_agree(dir, J, a);
        expect_counts_agree(dir, J, b);
    }
    size_t want[4] = {0, 0, 0, 0}, total = 0;
    for (size_t i = 0; i < added.size(); i++)
        if (added[i]) {
            want[truth_a[i]]++;
            total++;
        }
    jnl_job jb = J.get(a);
    EXPECT_EQ(total, jb.total);
    EXPECT_EQ(want[JNL_DONE], jb.done);
    EXPECT_EQ(want[JNL_FAILED], jb.failed);
    EXPECT_EQ(want[JNL_SKIPPED], jb.skipped);
    EXPECT_GT(jb.failed, 0u);
    EXPECT_GT(jb.done, 0u);
}

TEST(Journal, ReopenKeepsEverything)
{
    std::string dir = fresh_dir("reopen");
    long long id;
    {
        Jnl J(dir);
        id = J.job("/in/a.csv", SHA_A, IDENT, EP, nullptr, 2);
        ASSERT_EQ(0, jnl_begin(J.j, &J.e));
        for (size_t i = 0; i < 500; i++)
            J.add(id, i, ("dev" + std::to_string(i)).c_str());
        ASSERT_EQ(0, jnl_commit(J.j, &J.e)) << msg(J.e);
        J.update(id, 10, 5, JNL_DONE, 2, nullptr, "arn:c", "arn:t");
        J.update(id, 11, 2, JNL_FAILED, 4, "CertificateStateException: REVOKED");
        ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_FAILED, &J.e));
        // an open transaction at close is rolled back
        ASSERT_EQ(0, jnl_begin(J.j, &J.e));
        J.add(id, 999, "uncommitted");
    }
    Jnl J(dir);
    EXPECT_STREQ(dir.c_str(), jnl_dir(J.j));
    int resumed = 0;
    EXPECT_EQ(id, J.job("/in/a.csv", SHA_A, IDENT, EP, &resumed, 2));
    EXPECT_EQ(1, resumed);
    jnl_job jb = J.get(id);
    EXPECT_EQ(2, jb.phase);
    EXPECT_EQ(JOB_FAILED, jb.status);
    EXPECT_EQ(500u, jb.total);
    EXPECT_EQ(1u, jb.done);
    EXPECT_EQ(1u, jb.failed);
    auto v = J.items(id);
    ASSERT_EQ(500u, v.size());
    EXPECT_STREQ("dev499", v[499].key);
    EXPECT_STREQ("arn:c", v[10].cert_arn);
    EXPECT_STREQ("arn:t", v[10].thing_arn);
    EXPECT_EQ(5, v[10].step);
    EXPECT_EQ(4, v[11].attempts);
    EXPECT_STREQ("CertificateStateException: REVOKED", v[11].error);
    char fp[65];
    snprintf(fp, sizeof fp, "%064zx", (size_t)42);
    EXPECT_STREQ(fp, v[42].fingerprint);
    // begin twice is refused, the first transaction still works
    ASSERT_EQ(0, jnl_begin(J.j, &J.e));
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, jnl_begin(J.j, &e));
    ASSERT_EQ(0, jnl_commit(J.j, &J.e));
    // commit without a transaction is harmless
    EXPECT_EQ(0, jnl_commit(J.j, &J.e));
    // the reader's open sees the same
    journal *r = nullptr;
    ASSERT_EQ(0, jnl_open_existing(&r, dir.c_str(), &e)) << msg(e);
    jnl_job rj;
    ASSERT_EQ(0, jnl_job_get(r, id, &rj, &e));
    EXPECT_EQ(500u, rj.total);
    jnl_close(r);
    jnl_close(nullptr);
}

// The job both processes work on, created with no connection left open: a
// process must not fork while it has SQLite connections (SQLite's in-process
// lock bookkeeping would be shared with the child), so every multi-process
// test forks first and opens its journal afterwards.
long long setup_job(const std::string &dir)
{
    Jnl S(dir);
    return S.job("/in/a.csv");
}

// A `thingpress status` process reads while the writer commits batches: every
// read succeeds (no SQLITE_BUSY) and sees whole transactions only.
TEST(Journal, ReaderProcessWhileTheWriterCommits)
{
    std::string dir = fresh_dir("reader");
    long long id = setup_job(dir);
    const int batches = 60, per = 100;
    int go[2];
    ASSERT_EQ(0, pipe(go));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(10);
        journal *r = nullptr;
        err e;
        err_clear(&e);
        if (jnl_open_existing(&r, dir.c_str(), &e))
            _exit(11);
        size_t last = 0;
        int reads = 0;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        std::vector<jnl_item> page(per * batches);
        while (last < (size_t)(batches * per) &&
               std::chrono::steady_clock::now() < deadline) {
            jnl_job jb;
            if (jnl_job_get(r, id, &jb, &e))
                _exit(12); // a busy error would land here
            if (jb.total % per || jb.total < last || jb.done != jb.total)
                _exit(13); // half a transaction, or going back
            size_t n = page.size();
            if (jnl_item_list(r, id, JNL_FILTER_ALL, 0, page.data(), &n, &e))
                _exit(14);
            if (n % per || n < jb.total)
                _exit(15);
            last = jb.total;
            reads++;
        }
        jnl_close(r);
        _exit(last == (size_t)(batches * per) && reads > 1 ? 0 : 16);
    }
    close(go[0]);
    Jnl J(dir);
    ASSERT_EQ(1, write(go[1], "g", 1));
    close(go[1]);
    for (int b = 0; b < batches; b++) {
        ASSERT_EQ(0, jnl_begin(J.j, &J.e)) << msg(J.e);
        for (int i = 0; i < per; i++) {
            size_t idx = (size_t)(b * per + i);
            J.add(id, idx, "k");
            J.update(id, idx, 5, JNL_DONE, 1);
        }
        ASSERT_EQ(0, jnl_commit(J.j, &J.e)) << msg(J.e);
        usleep(2000);
    }
    int status = 0;
    ASSERT_EQ(pid, waitpid(pid, &status, 0));
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(0, WEXITSTATUS(status)) << "reader exit code (12 busy, 13/15 torn read)";
}

// A second writer process waits for the first one's transaction (busy
// timeout) instead of failing, and then sees what the first one committed.
TEST(Journal, SecondWriterWaitsForTheFirst)
{
    std::string dir = fresh_dir("writers");
    long long id = setup_job(dir);
    int hold[2];
    ASSERT_EQ(0, pipe(hold));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(hold[1]);
        char c;
        if (read(hold[0], &c, 1) != 1) // the parent holds the write lock now
            _exit(10);
        journal *w = nullptr;
        err e;
        err_clear(&e);
        if (jnl_open(&w, dir.c_str(), &e))
            _exit(11);
        auto t0 = std::chrono::steady_clock::now();
        if (jnl_begin(w, &e))
            _exit(12);
        if (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(200))
            _exit(13); // did not wait
        jnl_item it[2];
        size_t n = 2;
        if (jnl_item_list(w, id, JNL_FILTER_ALL, 0, it, &n, &e) || n != 1)
            _exit(14); // the first writer's commit must be visible
        if (jnl_item_add(w, id, 1, "second", "", JNL_PENDING, nullptr, &e))
            _exit(15);
        if (jnl_commit(w, &e))
            _exit(16);
        jnl_close(w);
        _exit(0);
    }
    close(hold[0]);
    {
        Jnl J(dir);
        ASSERT_EQ(0, jnl_begin(J.j, &J.e));
        J.add(id, 0, "first");
        ASSERT_EQ(1, write(hold[1], "h", 1));
        close(hold[1]);
        usleep(500 * 1000); // the child is blocked in BEGIN IMMEDIATE meanwhile
        ASSERT_EQ(0, jnl_commit(J.j, &J.e)) << msg(J.e);
    }
    int status = 0;
    ASSERT_EQ(pid, waitpid(pid, &status, 0));
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(0, WEXITSTATUS(status)) << "writer exit code (12 busy, 13 no wait)";
    Jnl J(dir);
    auto v = J.items(id);
    ASSERT_EQ(2u, v.size());
    EXPECT_STREQ("first", v[0].key);
    EXPECT_STREQ("second", v[1].key);
    expect_counts_agree(dir, J, id);
}

// Every line: time, event, job, user, host, station first, the event's
// members, then prev, the SHA-256 of the line before (of "" for the first).
TEST(Journal, AuditLinesAreJsonWithTimeEventJobWhoAndPrev)
{
    std::string dir = fresh_dir("audit");
    setenv("THINGPRESS_STATION", "Line 3 \"east\"", 1);
    Jnl J(dir);
    unsetenv("THINGPRESS_STATION");
    long long id = J.job("/in/a.csv");
    ASSERT_EQ(0, jnl_begin(J.j, &J.e));
    ASSERT_EQ(0, jnl_audit(J.j, id, "intent",
                           "{\"op\":\"RegisterCertificateWithoutCA\",\"item\":3,"
                           "\"target\":\"a\\\"b\"}",
                           &J.e))
        << msg(J.e);
    ASSERT_EQ(0, jnl_audit(J.j, id, "job_end", "{}", &J.e));
    ASSERT_EQ(0, jnl_audit(J.j, 0, "item",
                           "  {\n  \"outcome\": \"x\",\n  \"n\": [1, 2]\n}\n ", &J.e));
    ASSERT_EQ(0, jnl_commit(J.j, &J.e)) << msg(J.e);
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, jnl_audit(J.j, id, "call", "[1,2]", &e));
    EXPECT_EQ(-1, jnl_audit(J.j, id, "call", "", &e));
    err_clear(&e);
    EXPECT_EQ(-1, jnl_audit(J.j, id, "outcome", "{}", &e));
    EXPECT_STREQ("unknown audit event \"outcome\"", e.msg);

    std::string path = dir + "/audit.jsonl";
    EXPECT_EQ(0600, file_mode(path));
    std::string text = tu::slurp(path);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ('\n', text.back());
    auto ls = lines(text);
    ASSERT_EQ(3u, ls.size()) << text;
    std::regex iso(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
    const char *events[] = {"intent", "job_end", "item"};
    std::string before; // the bytes of the line before, without its newline
    char host[256] = "";
    gethostname(host, sizeof host);
    for (size_t i = 0; i < ls.size(); i++) {
        const std::string &l = ls[i];
        json_error_t je;
        json_t *o = json_loads(l.c_str(), 0, &je);
        ASSERT_TRUE(o) << je.text << ": " << l;
        ASSERT_TRUE(json_is_object(o));
        const char *t = json_string_value(json_object_get(o, "time"));
        ASSERT_TRUE(t) << l;
        EXPECT_TRUE(std::regex_match(t, iso)) << t;
        EXPECT_TRUE(json_object_get(o, "job")) << l;
        EXPECT_STREQ(events[i], json_string_value(json_object_get(o, "event")));
        EXPECT_TRUE(json_string_value(json_object_get(o, "user"))) << l;
        EXPECT_STREQ(host, json_string_value(json_object_get(o, "host")));
        EXPECT_STREQ("Line 3 \"east\"", json_string_value(json_object_get(o, "station")));
        EXPECT_EQ(sha256_hex(before), json_string_value(json_object_get(o, "prev"))) << l;
        // the order: who first, prev last
        EXPECT_EQ(0u, l.find("{\"time\":\"")) << l;
        EXPECT_NE(std::string::npos,
                  l.find("\",\"event\":\"" + std::string(events[i]) + "\",\"job\":"))
            << l;
        EXPECT_EQ(l.size() - 75, l.find(",\"prev\":\"")) << l;
        before = l;
        json_decref(o);
    }
    json_t *o = json_loads(ls[0].c_str(), 0, nullptr);
    EXPECT_EQ(id, json_integer_value(json_object_get(o, "job")));
    EXPECT_STREQ("RegisterCertificateWithoutCA",
                 json_string_value(json_object_get(o, "op")));
    EXPECT_STREQ("a\"b", json_string_value(json_object_get(o, "target")));
    EXPECT_EQ(3, json_integer_value(json_object_get(o, "item")));
    json_decref(o);
    o = json_loads(ls[1].c_str(), 0, nullptr);
    EXPECT_EQ(7u, json_object_size(o)) << ls[1]; // time event job user host station prev
    json_decref(o);
    o = json_loads(ls[2].c_str(), 0, nullptr);
    EXPECT_TRUE(json_is_null(json_object_get(o, "job")));
    EXPECT_STREQ("x", json_string_value(json_object_get(o, "outcome")));
    EXPECT_EQ(2u, json_array_size(json_object_get(o, "n")));
    json_decref(o);

    // appended, never truncated: a second jnl on the same directory adds
    {
        Jnl K(dir);
        ASSERT_EQ(0, jnl_audit(K.j, id, "item", "{\"again\":true}", &K.e));
    }
    auto again = lines(tu::slurp(path));
    ASSERT_EQ(4u, again.size());
    // ...chained to what the first journal wrote
    EXPECT_NE(std::string::npos, again[3].find("\"prev\":\"" + sha256_hex(again[2])));
}

// Issue 12: a write that fails for want of room (RLIMIT_FSIZE here, as a
// full disk) is ERR_LIMIT naming the file and the OS error, for the audit log
// and for the database. Issue 13: the part of the line the limit let through
// is cut off again at once, so the log holds whole lines only and its chain
// goes on unbroken.
TEST(Journal, WritesThatRunOutOfRoomNameTheFileAndTheOsError)
{
    std::string dir = fresh_dir("full");
    std::string audit = dir + "/audit.jsonl";
    struct rlimit old;
    ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &old));
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
    {
        Jnl J(dir);
        long long id = J.job("/in/a.csv");
        ASSERT_EQ(0, jnl_audit(J.j, id, "item", "{\"first\":true}", &J.e)) << msg(J.e);
        struct stat sb;
        ASSERT_EQ(0, stat(audit.c_str(), &sb));
        struct rlimit cap = old;
        cap.rlim_cur = (rlim_t)sb.st_size + 10; // room for 10 more bytes
        ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &cap));
        err e;
        err_clear(&e);
        int rc =
            jnl_audit(J.j, id, "item", "{\"second\":\"cut short by the limit\"}", &e);
        // the database: its write-ahead log cannot grow by a page
        err d;
        err_clear(&d);
        int drc = jnl_begin(J.j, &d);
        for (size_t i = 0; drc == 0 && i < 200; i++) {
            char fp[65];
            snprintf(fp, sizeof fp, "%064zx", i);
            drc = jnl_item_add(J.j, id, i, std::string(100, 'k').c_str(), fp, JNL_PENDING,
                               nullptr, &d);
        }
        if (drc == 0)
            drc = jnl_commit(J.j, &d);
        ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &old));

        EXPECT_EQ(-1, rc);
        EXPECT_EQ(ERR_LIMIT, e.code) << msg(e);
        EXPECT_EQ(audit, e.where);
        EXPECT_STREQ("cannot write the audit log: File too large", e.msg);
        EXPECT_EQ(-1, drc);
        EXPECT_EQ(ERR_LIMIT, d.code) << msg(d);
        EXPECT_EQ(dir + "/journal.db", d.where);
        EXPECT_STREQ("database or disk is full (File too large)", d.msg);
        EXPECT_EQ(0u, J.items(id).size()) << "rolled back";
    }
    signal(SIGXFSZ, old_xfsz);
    std::string cut = tu::slurp(audit);
    ASSERT_FALSE(cut.empty());
    EXPECT_EQ('\n', cut.back()) << "the part the limit let through is cut off again";
    EXPECT_EQ(1u, lines(cut).size()) << cut;
    {
        Jnl K(dir);
        ASSERT_EQ(0, jnl_audit(K.j, 1, "item", "{\"third\":true}", &K.e)) << msg(K.e);
    }
    auto ls = lines(tu::slurp(audit));
    ASSERT_EQ(2u, ls.size());
    EXPECT_NE(std::string::npos, ls[0].find("\"first\":true"));
    json_t *o = json_loads(ls[1].c_str(), 0, nullptr);
    ASSERT_TRUE(o) << ls[1];
    EXPECT_TRUE(json_is_true(json_object_get(o, "third")));
    EXPECT_STREQ(sha256_hex(ls[0]).c_str(),
                 json_string_value(json_object_get(o, "prev")));
    json_decref(o);
    aud_verdict v;
    aud_head h;
    EXPECT_EQ(AUD_INTACT, jnl_audit_verify(dir.c_str(), &v, &h)) << v.reason;
}

// Fixed item times (unix ms) and their ISO 8601 form.
const long long T0 = 1714564800123LL; // 2024-05-01T12:00:00.123Z
const long long T1 = 1714564801456LL; // 2024-05-01T12:00:01.456Z
const char *const T0_ISO = "2024-05-01T12:00:00.123Z";
const char *const T1_ISO = "2024-05-01T12:00:01.456Z";
const std::string HEAD = "index,thing_name,fingerprint,status,certificate_arn,thing_arn,"
                         "attempts,error,started,finished\r\n";

std::string fp_hex(size_t i)
{
    char fp[65];
    snprintf(fp, sizeof fp, "%064zx", i);
    return fp;
}

// Cells that a spreadsheet would read as a formula (= + - @, or a leading tab
// or CR) are prefixed with a single quote (OWASP CSV injection); the JSON
// report keeps the values as they are.
TEST(Journal, ReportCsvEscapesFormulaCells)
{
    std::string dir = fresh_dir("report-formula");
    Jnl J(dir);
    long long id = J.job("/in/a.csv", SHA_A, IDENT, EP, nullptr, 2);
    jnl_times t = {T0, T1};
    J.add(id, 0, "-abc");
    J.update(id, 0, 1, JNL_FAILED, 1, "=HYPERLINK(\"http://x\",\"y\")", "@arn", nullptr,
             &t);
    J.add(id, 1, "+1", JNL_SKIPPED, "@SUM(A1)");
    J.add(id, 2, "dev-2");
    J.update(id, 2, 3, JNL_FAILED, 1, "\tx", nullptr, "-thing", &t);
    ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_FAILED, &J.e));
    char path[4096];
    ASSERT_EQ(0, jnl_report(J.j, id, path, sizeof path, &J.e)) << msg(J.e);
    std::string times = std::string(T0_ISO) + "," + T1_ISO + "\r\n";
    std::string want = HEAD + "0,'-abc," + fp_hex(0) + ",failed,'@arn,,1," +
                       "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"," + times + "1,'+1," +
                       fp_hex(1) + ",skipped,,,0,'@SUM(A1),,\r\n" + "2,dev-2," +
                       fp_hex(2) + ",failed,,'-thing,1,'\tx," + times;
    EXPECT_EQ(want, tu::slurp(path));
    std::string json_path = dir + "/reports/job-" + std::to_string(id) + ".json";
    EXPECT_NE(std::string::npos, tu::slurp(json_path).find("\"-abc\""));
}

TEST(Journal, ReportCsvAndJson)
{
    std::string dir = fresh_dir("report");
    Jnl J(dir);
    long long id = J.job("/in/a.csv", SHA_A, IDENT, EP, nullptr, 2);
    jnl_run run = {"http://127.0.0.1:4566", "eu-west-1", "123456789012", "operator",
                   "line-3/bench-2"};
    ASSERT_EQ(0, jnl_job_set_run(J.j, id, &run, &J.e)) << msg(J.e);
    jnl_times t = {T0, T1};
    J.add(id, 0, "ok-device");
    J.update(id, 0, 5, JNL_DONE, 1, nullptr, "arn:aws:iot:eu-west-1:1:cert/0",
             "arn:aws:iot:eu-west-1:1:thing/ok-device", &t);
    J.add(id, 1, "dev,\"one\"");
    J.update(id, 1, 2, JNL_FAILED, 3, "CreateThing: 409 \"already exists\", other type",
             "arn:c1", nullptr, &t);
    J.add(id, 2, "bad name!", JNL_SKIPPED, "thing name: '!' is not allowed\nline two");
    J.add(id, 3, "pending-device");
    J.add(id, 4, "plain");
    J.update(id, 4, 1, JNL_FAILED, 10, "ThrottlingException", nullptr, nullptr, &t);
    ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_FAILED, &J.e));

    char path[4096];
    ASSERT_EQ(0, jnl_report(J.j, id, path, sizeof path, &J.e)) << msg(J.e);
    std::string csv_path = dir + "/reports/job-" + std::to_string(id) + ".csv";
    std::string json_path = dir + "/reports/job-" + std::to_string(id) + ".json";
    EXPECT_EQ(csv_path, path);
    EXPECT_EQ(0700, file_mode(dir + "/reports"));
    EXPECT_EQ(0600, file_mode(csv_path));
    EXPECT_EQ(0600, file_mode(json_path));
    EXPECT_EQ(-1, file_mode(csv_path + ".tmp"));
    EXPECT_EQ(-1, file_mode(json_path + ".tmp"));

    // every item, in idx order: done and pending ones too
    std::string times = std::string(T0_ISO) + "," + T1_ISO + "\r\n";
    std::string want =
        HEAD + "0,ok-device," + fp_hex(0) +
        ",done,arn:aws:iot:eu-west-1:1:cert/0,arn:aws:iot:eu-west-1:1:thing/"
        "ok-device,1,," +
        times + "1,\"dev,\"\"one\"\"\"," + fp_hex(1) +
        ",failed,arn:c1,,3,\"CreateThing: 409 \"\"already exists\"\", other type\"," +
        times + "2,bad name!," + fp_hex(2) +
        ",skipped,,,0,\"thing name: '!' is not allowed\nline two\",,\r\n" +
        "3,pending-device," + fp_hex(3) + ",pending,,,0,,,\r\n" + "4,plain," + fp_hex(4) +
        ",failed,,,10,ThrottlingException," + times;
    EXPECT_EQ(want, tu::slurp(csv_path));

    json_error_t je;
    json_t *doc = json_load_file(json_path.c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text;
    json_t *h = json_object_get(doc, "job");
    ASSERT_TRUE(json_is_object(h));
    auto str = [](json_t *o, const char *k) {
        const char *v = json_string_value(json_object_get(o, k));
        return std::string(v ? v : "<null>");
    };
    EXPECT_EQ(id, json_integer_value(json_object_get(h, "job")));
    EXPECT_EQ("/in/a.csv", str(h, "file"));
    EXPECT_EQ(SHA_A, str(h, "file_sha256"));
    EXPECT_EQ("batch-1", str(h, "batch_id"));
    EXPECT_EQ(2, json_integer_value(json_object_get(h, "phase")));
    EXPECT_EQ("failed", str(h, "status"));
    EXPECT_EQ("http://127.0.0.1:4566", str(h, "endpoint"));
    EXPECT_EQ(EP, str(h, "registry"));
    EXPECT_EQ("123456789012", str(h, "account"));
    EXPECT_EQ("eu-west-1", str(h, "region"));
    EXPECT_EQ("operator", str(h, "user"));
    EXPECT_EQ("line-3/bench-2", str(h, "station"));
    json_t *options = json_object_get(h, "options");
    ASSERT_TRUE(json_is_object(options));
    EXPECT_EQ("p1", std::string(json_string_value(
                        json_array_get(json_object_get(options, "policies"), 0))));
    // start and end: ISO 8601 UTC, the job's creation and its end
    std::regex iso("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");
    EXPECT_TRUE(std::regex_match(str(h, "start"), iso)) << str(h, "start");
    EXPECT_TRUE(std::regex_match(str(h, "end"), iso)) << str(h, "end");
    EXPECT_LE(str(h, "start"), str(h, "end"));
    json_t *counts = json_object_get(h, "counts");
    EXPECT_EQ(5, json_integer_value(json_object_get(counts, "total")));
    EXPECT_EQ(1, json_integer_value(json_object_get(counts, "done")));
    EXPECT_EQ(2, json_integer_value(json_object_get(counts, "failed")));
    EXPECT_EQ(1, json_integer_value(json_object_get(counts, "skipped")));
    EXPECT_EQ(1, json_integer_value(json_object_get(counts, "pending")));
    json_t *items = json_object_get(doc, "items");
    ASSERT_EQ(5u, json_array_size(items));
    json_t *i0 = json_array_get(items, 0);
    EXPECT_EQ(0, json_integer_value(json_object_get(i0, "index")));
    EXPECT_EQ("ok-device", str(i0, "thing_name"));
    EXPECT_EQ(fp_hex(0), str(i0, "fingerprint"));
    EXPECT_EQ("done", str(i0, "status"));
    EXPECT_EQ("arn:aws:iot:eu-west-1:1:cert/0", str(i0, "certificate_arn"));
    EXPECT_EQ("arn:aws:iot:eu-west-1:1:thing/ok-device", str(i0, "thing_arn"));
    EXPECT_EQ(1, json_integer_value(json_object_get(i0, "attempts")));
    EXPECT_TRUE(json_is_null(json_object_get(i0, "error")));
    EXPECT_EQ(T0_ISO, str(i0, "started"));
    EXPECT_EQ(T1_ISO, str(i0, "finished"));
    EXPECT_EQ(5, json_integer_value(json_object_get(i0, "step")));
    json_t *i1 = json_array_get(items, 1);
    EXPECT_EQ("dev,\"one\"", str(i1, "thing_name"));
    EXPECT_EQ("CreateThing: 409 \"already exists\", other type", str(i1, "error"));
    EXPECT_EQ(3, json_integer_value(json_object_get(i1, "attempts")));
    EXPECT_TRUE(json_is_null(json_object_get(i1, "thing_arn")));
    json_t *i2 = json_array_get(items, 2);
    EXPECT_EQ("skipped", str(i2, "status"));
    EXPECT_EQ("thing name: '!' is not allowed\nline two", str(i2, "error"));
    EXPECT_TRUE(json_is_null(json_object_get(i2, "started")));
    json_t *i3 = json_array_get(items, 3);
    EXPECT_EQ("pending", str(i3, "status"));
    EXPECT_TRUE(json_is_null(json_object_get(i3, "finished")));
    EXPECT_EQ(4, json_integer_value(json_object_get(json_array_get(items, 4), "index")));
    json_decref(doc);

    // status --output csv|json print the same bytes as the files
    for (int which = 0; which < 2; which++) {
        char *mem = nullptr;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        ASSERT_EQ(0, jnl_report_write(J.j, id, JNL_FILTER_ALL, which ? nullptr : f,
                                      which ? f : nullptr, &J.e))
            << msg(J.e);
        fclose(f);
        EXPECT_EQ(tu::slurp(which ? json_path : csv_path), std::string(mem, len));
        free(mem);
    }

    // rewritten in place after a retry fixed item 4; a job without items
    // has the header and no rows
    J.update(id, 4, 5, JNL_DONE, 11);
    ASSERT_EQ(0, jnl_report(J.j, id, path, sizeof path, &J.e));
    EXPECT_NE(std::string::npos,
              tu::slurp(csv_path).find("\r\n4,plain," + fp_hex(4) + ",done,,,11,,"));
    long long clean = J.job("/in/b.csv", SHA_B);
    ASSERT_EQ(0, jnl_report(J.j, clean, path, sizeof path, &J.e));
    EXPECT_EQ(HEAD, tu::slurp(path));
    doc = json_load_file((std::string(path, strlen(path) - 4) + ".json").c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text;
    EXPECT_EQ(0u, json_array_size(json_object_get(doc, "items")));
    // nothing recorded about the run: null, not ""
    EXPECT_TRUE(json_is_null(json_object_get(json_object_get(doc, "job"), "user")));
    EXPECT_TRUE(json_is_null(json_object_get(json_object_get(doc, "job"), "end")));
    EXPECT_EQ(EP, str(json_object_get(doc, "job"), "endpoint"));
    json_decref(doc);

    // a buffer too small for the path is refused
    char tiny[8];
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, jnl_report(J.j, id, tiny, sizeof tiny, &e));
}

// An item's start is kept from the run that began it; its finish is set when
// it is done or failed, and cleared when a retry makes it pending again.
// A job's end is set by any status but running.
TEST(Journal, ItemAndJobTimes)
{
    std::string dir = fresh_dir("times");
    Jnl J(dir);
    long long id = J.job("/in/a.csv");
    J.add(id, 0, "dev-0");
    jnl_times t1 = {T0, T0 + 10};
    J.update(id, 0, 1, JNL_PENDING, 1, nullptr, nullptr, nullptr, &t1);
    auto v = J.items(id);
    EXPECT_EQ(T0, v[0].started);
    EXPECT_EQ(0, v[0].finished);
    jnl_times t2 = {T0 + 20, T0 + 30}; // a later run: its start is not the item's
    J.update(id, 0, 2, JNL_FAILED, 2, "x", nullptr, nullptr, &t2);
    v = J.items(id);
    EXPECT_EQ(T0, v[0].started);
    EXPECT_EQ(T0 + 30, v[0].finished);
    jnl_times t3 = {T1, T1 + 5};
    J.update(id, 0, 2, JNL_PENDING, 3, nullptr, nullptr, nullptr, &t3);
    EXPECT_EQ(0, J.items(id)[0].finished);
    J.update(id, 0, 3, JNL_DONE, 4, nullptr, nullptr, nullptr, &t3);
    v = J.items(id);
    EXPECT_EQ(T0, v[0].started);
    EXPECT_EQ(T1 + 5, v[0].finished);
    // no times given: now
    J.add(id, 1, "dev-1");
    long long before = jnl_now_ms();
    J.update(id, 1, 3, JNL_DONE, 1);
    v = J.items(id);
    EXPECT_GE(v[1].started, before);
    EXPECT_GE(v[1].finished, v[1].started);
    EXPECT_LE(v[1].finished, jnl_now_ms());

    EXPECT_EQ(0, J.get(id).ended);
    ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_PAUSED, &J.e));
    long long ended = J.get(id).ended;
    EXPECT_GE(ended, (long long)time(nullptr) - 5);
    ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_RUNNING, &J.e));
    EXPECT_EQ(0, J.get(id).ended) << "running again: not ended";
    ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_DONE, &J.e));
    EXPECT_GE(J.get(id).ended, ended);
}

// A journal written by the version before item times and runs (schema 1):
// a reader reads it without changing it (the new columns read as empty); a
// writer migrates it in place, keeping every row.
TEST(Journal, Version1JournalIsReadThenMigrated)
{
    std::string dir = fresh_dir("v1");
    ASSERT_EQ(0, mkdir(dir.c_str(), 0700));
    // schema version 1, as journal.c created it
    sql(dir,
        "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT NOT NULL,"
        " file_sha256 TEXT NOT NULL, phase INTEGER NOT NULL,"
        " batch_id TEXT NOT NULL DEFAULT '', identity TEXT NOT NULL,"
        " endpoint TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL DEFAULT 0,"
        " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
        " n_total INTEGER NOT NULL DEFAULT 0, n_done INTEGER NOT NULL DEFAULT 0,"
        " n_failed INTEGER NOT NULL DEFAULT 0, n_skipped INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE(file_sha256, identity, endpoint));"
        "CREATE TABLE items(job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE "
        "CASCADE,"
        " idx INTEGER NOT NULL, key TEXT NOT NULL DEFAULT '',"
        " fingerprint TEXT NOT NULL DEFAULT '', step INTEGER NOT NULL DEFAULT 0,"
        " status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
        " error TEXT, cert_arn TEXT, thing_arn TEXT, updated INTEGER NOT NULL,"
        " PRIMARY KEY(job_id, idx));"
        "CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN"
        " UPDATE jobs SET n_total=n_total+1, n_done=n_done+(new.status=1),"
        " n_failed=n_failed+(new.status=2), n_skipped=n_skipped+(new.status=3),"
        " updated=max(updated,new.updated) WHERE id=new.job_id; END;"
        "CREATE TRIGGER items_au AFTER UPDATE OF status ON items"
        " WHEN old.status IS NOT new.status BEGIN"
        " UPDATE jobs SET n_done=n_done+(new.status=1)-(old.status=1),"
        " n_failed=n_failed+(new.status=2)-(old.status=2),"
        " n_skipped=n_skipped+(new.status=3)-(old.status=3),"
        " updated=max(updated,new.updated) WHERE id=new.job_id; END;"
        "CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN"
        " UPDATE jobs SET n_total=n_total-1, n_done=n_done-(old.status=1),"
        " n_failed=n_failed-(old.status=2), n_skipped=n_skipped-(old.status=3)"
        " WHERE id=old.job_id; END;"
        "PRAGMA application_id=1414548017; PRAGMA user_version=1;"
        "INSERT INTO jobs(file,file_sha256,phase,batch_id,identity,endpoint,status,"
        " created,updated) VALUES('/in/old.csv','" +
            std::string(SHA_A) + "',1,'','" + IDENT + "','" + EP +
            "',2,1714564800,1714568400);"
            "INSERT INTO items(job_id,idx,key,fingerprint,step,status,attempts,error,"
            " cert_arn,updated) VALUES(1,0,'dev-0','" +
            fp_hex(0) +
            "',2,1,1,NULL,'arn:c0',1714564900),"
            "(1,1,'dev-1','" +
            fp_hex(1) + "',0,2,3,'boom',NULL,1714564900);");
    std::string before = tu::slurp(dir + "/journal.db");

    // a reader: every row, the new columns empty, the file unchanged
    journal *r = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, jnl_open_existing(&r, dir.c_str(), &e)) << msg(e);
    jnl_job jb;
    ASSERT_EQ(0, jnl_job_get(r, 1, &jb, &e)) << msg(e);
    EXPECT_EQ(2u, jb.total);
    EXPECT_EQ(0, jb.ended);
    EXPECT_STREQ("", jb.user);
    jnl_item its[4];
    size_t n = 4;
    ASSERT_EQ(0, jnl_item_list(r, 1, JNL_FILTER_ALL, 0, its, &n, &e)) << msg(e);
    ASSERT_EQ(2u, n);
    EXPECT_STREQ("arn:c0", its[0].cert_arn);
    EXPECT_EQ(0, its[0].started);
    char path[4096];
    ASSERT_EQ(0, jnl_report(r, 1, path, sizeof path, &e)) << msg(e);
    EXPECT_EQ(HEAD + "0,dev-0," + fp_hex(0) + ",done,arn:c0,,1,,,\r\n1,dev-1," +
                  fp_hex(1) + ",failed,,,3,boom,,\r\n",
              tu::slurp(path));
    jnl_close(r);
    EXPECT_EQ(before, tu::slurp(dir + "/journal.db")) << "a reader changed the journal";

    // a writer: version 2, the rows kept, an ended job has its end
    {
        Jnl J(dir);
        jnl_job g = J.get(1);
        EXPECT_EQ(2u, g.total);
        EXPECT_EQ(1u, g.done);
        EXPECT_EQ(1714568400, g.ended);
        auto v = J.items(1);
        ASSERT_EQ(2u, v.size());
        EXPECT_STREQ("boom", v[1].error);
        jnl_times t = {T0, T1};
        J.update(1, 1, 2, JNL_DONE, 4, nullptr, nullptr, nullptr, &t);
        EXPECT_EQ(T1, J.items(1)[1].finished);
        int resumed = 0;
        EXPECT_EQ(1, J.job("/in/old.csv", SHA_A, IDENT, EP, &resumed));
        EXPECT_EQ(1, resumed);
        expect_counts_agree(dir, J, 1);
    }
    sqlite3 *db = nullptr;
    ASSERT_EQ(SQLITE_OK, sqlite3_open((dir + "/journal.db").c_str(), &db));
    sqlite3_stmt *s = nullptr;
    ASSERT_EQ(SQLITE_OK, sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr));
    ASSERT_EQ(SQLITE_ROW, sqlite3_step(s));
    EXPECT_EQ(2, sqlite3_column_int(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

// The Phase 1 hand-off: one device per registered certificate (an item with
// a certificate ARN), in idx order, with the job's batch id or its file's
// name; Phase 2 jobs and jobs that registered nothing are refused.
TEST(Journal, DeviceInfosSkeleton)
{
    std::string dir = fresh_dir("skeleton");
    Jnl J(dir);
    long long id = 0;
    int resumed = 0;
    ASSERT_EQ(0, jnl_job_open(J.j, "/in/line 3/manifest\t1.csv", SHA_A, 1, "", IDENT, EP,
                              &id, &resumed, &J.e));
    J.add(id, 0, "dev-0");
    J.update(id, 0, 2, JNL_DONE, 2, nullptr, "arn:c0");
    J.add(id, 1, "dev-1");
    J.update(id, 1, 0, JNL_FAILED, 1, "register refused"); // not registered
    J.add(id, 2, "dev\"2\"");
    J.update(id, 2, 1, JNL_PENDING, 1, nullptr, "arn:c2"); // registered, stopped after
    J.add(id, 3, "bad!", JNL_SKIPPED, "invalid");

    auto skeleton = [&](long long job, size_t *n, err *e) {
        char *mem = nullptr;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        int rc = jnl_devinfo_skeleton(J.j, job, f, n, e);
        fclose(f);
        std::string out(mem, len);
        free(mem);
        return std::make_pair(rc, out);
    };
    size_t n = 99;
    auto got = skeleton(id, &n, &J.e);
    ASSERT_EQ(0, got.first) << msg(J.e);
    EXPECT_EQ(2u, n);
    EXPECT_EQ("{\n  \"batch_id\": \"manifest?1.csv\",\n  \"devices\": [\n"
              "    {\"certFingerprint\":\"" +
                  fp_hex(0) +
                  "\",\"deviceId\":\"dev-0\"},\n"
                  "    {\"certFingerprint\":\"" +
                  fp_hex(2) + "\",\"deviceId\":\"dev\\\"2\\\"\"}\n  ]\n}\n",
              got.second);

    // a Phase 1 job with a batch id keeps it
    long long withb = J.job("/in/b.csv", SHA_B);
    J.add(withb, 0, "dev-0");
    J.update(withb, 0, 2, JNL_DONE, 2, nullptr, "arn:c0");
    got = skeleton(withb, nullptr, &J.e);
    ASSERT_EQ(0, got.first) << msg(J.e);
    EXPECT_EQ(0u, got.second.find("{\n  \"batch_id\": \"batch-1\",")) << got.second;

    // refused, nothing written: a Phase 2 job, a job that registered nothing
    long long p2 = J.job("/in/d.json", SHA_A, IDENT2, EP, nullptr, 2);
    J.add(p2, 0, "dev-0");
    J.update(p2, 0, 5, JNL_DONE, 5, nullptr, "arn:c0");
    err e;
    err_clear(&e);
    got = skeleton(p2, &n, &e);
    EXPECT_EQ(-1, got.first);
    EXPECT_EQ("", got.second);
    EXPECT_EQ(ERR_USAGE, e.code);
    EXPECT_NE(std::string::npos, msg(e).find("Phase 2")) << msg(e);
    long long none = J.job("/in/e.csv", SHA_B, IDENT2);
    J.add(none, 0, "dev-0");
    err_clear(&e);
    got = skeleton(none, &n, &e);
    EXPECT_EQ(-1, got.first);
    EXPECT_EQ("", got.second);
    EXPECT_EQ(0u, n);
    EXPECT_NE(std::string::npos, msg(e).find("registered no certificate")) << msg(e);
}

// A job of 100,000 items: the report lists each one, streamed (its memory
// does not grow with the job: a whole-job array of items would be >100 MB).
TEST(Journal, ReportOfALargeJobStreams)
{
    std::string dir = fresh_dir("report-large");
    Jnl J(dir);
    long long id = J.job("/in/big.csv");
    const size_t N = 100000;
    ASSERT_EQ(0, jnl_begin(J.j, &J.e));
    for (size_t i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "dev-%zu", i);
        ASSERT_EQ(0, jnl_item_add(J.j, id, i, key, fp_hex(i).c_str(), JNL_PENDING,
                                  nullptr, &J.e));
        if (i % 3 == 0) {
            ASSERT_EQ(0, jnl_item_update(J.j, id, i, 2, JNL_DONE, 2, nullptr, "arn:c",
                                         nullptr, nullptr, &J.e));
        }
    }
    ASSERT_EQ(0, jnl_commit(J.j, &J.e)) << msg(J.e);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long before_kb = ru.ru_maxrss;
    char path[4096];
    ASSERT_EQ(0, jnl_report(J.j, id, path, sizeof path, &J.e)) << msg(J.e);
    getrusage(RUSAGE_SELF, &ru);
    long grew_kb = ru.ru_maxrss - before_kb;
    std::string csv = tu::slurp(path);
    size_t rows = 0, pos = 0;
    while ((pos = csv.find("\r\n", pos)) != std::string::npos) {
        rows++;
        pos += 2;
    }
    EXPECT_EQ(N + 1, rows);
    EXPECT_NE(std::string::npos,
              csv.find("\r\n99999,dev-99999," + fp_hex(99999) + ",done,arn:c,,2,,"));
    json_error_t je;
    json_t *doc =
        json_load_file((std::string(path, strlen(path) - 4) + ".json").c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text;
    EXPECT_EQ(N, json_array_size(json_object_get(doc, "items")));
    json_decref(doc);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // (sanitizers keep freed memory in quarantine: no bound there)
    EXPECT_LT(grew_kb, 32 * 1024)
        << "the report's peak memory grew by " << grew_kb << " KB";
#else
    (void)grew_kb;
#endif
}

TEST(Journal, StateDirectoryIsCreatedWithMode0700)
{
    // a umask that takes the owner's write bit: the directories are still 0700
    mode_t old = umask(0277);
    std::string dir = fresh_dir("mode") + "/nested/state";
    journal *made = nullptr;
    err me;
    err_clear(&me);
    int rc = jnl_open(&made, dir.c_str(), &me);
    umask(old);
    ASSERT_EQ(0, rc) << msg(me);
    jnl_close(made);
    EXPECT_EQ(0700, file_mode(dir));
    EXPECT_EQ(0700, file_mode(dir.substr(0, dir.rfind('/'))));
    {
        Jnl J(dir); // the -wal file exists while a connection is open
        J.job("/in/a.csv");
        EXPECT_EQ(0600, file_mode(dir + "/journal.db"));
        EXPECT_EQ(0600, file_mode(dir + "/journal.db-wal"));
    }
    // an existing directory keeps its mode (it is the operator's)
    std::string mine = fresh_dir("mine");
    ASSERT_EQ(0, mkdir(mine.c_str(), 0750));
    chmod(mine.c_str(), 0750);
    {
        Jnl J(mine);
    }
    EXPECT_EQ(0750, file_mode(mine));

    // defaults: $XDG_STATE_HOME/thingpress, else ~/.local/state/thingpress
    std::string xdg = fresh_dir("xdg"), home = fresh_dir("home");
    std::string old_xdg = getenv("XDG_STATE_HOME") ? getenv("XDG_STATE_HOME") : "";
    std::string old_home = getenv("HOME") ? getenv("HOME") : "";
    setenv("XDG_STATE_HOME", xdg.c_str(), 1);
    setenv("HOME", home.c_str(), 1);
    journal *j = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, jnl_open(&j, nullptr, &e)) << msg(e);
    EXPECT_EQ(xdg + "/thingpress", jnl_dir(j));
    jnl_close(j);
    setenv("XDG_STATE_HOME", "relative/ignored", 1);
    ASSERT_EQ(0, jnl_open(&j, "", &e)) << msg(e);
    EXPECT_EQ(home + "/.local/state/thingpress", jnl_dir(j));
    EXPECT_EQ(0700, file_mode(home + "/.local/state/thingpress"));
    jnl_close(j);
    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    EXPECT_EQ(-1, jnl_open(&j, nullptr, &e));
    EXPECT_NE(std::string::npos, msg(e).find("--state")) << msg(e);
    if (!old_xdg.empty())
        setenv("XDG_STATE_HOME", old_xdg.c_str(), 1);
    if (!old_home.empty())
        setenv("HOME", old_home.c_str(), 1);

    // a file where the directory should be: one clear line
    std::string f = tu::temp_file("not-a-dir", "x");
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open(&j, (f + "/state").c_str(), &e));
    std::string m = msg(e);
    EXPECT_NE(std::string::npos, m.find("not a directory")) << m;
    EXPECT_EQ(std::string::npos, m.find('\n'));
}

TEST(Journal, ForeignDatabasesAreRefusedClearly)
{
    // not SQLite at all
    std::string d1 = fresh_dir("foreign-text");
    ASSERT_EQ(0, mkdir(d1.c_str(), 0700));
    {
        FILE *f = fopen((d1 + "/journal.db").c_str(), "w");
        ASSERT_TRUE(f);
        fputs("this is not a database, it is a text file that is long enough to have a "
              "header of a hundred bytes, more or less, which SQLite reads first.\n",
              f);
        fclose(f);
    }
    journal *j = nullptr;
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open(&j, d1.c_str(), &e));
    std::string m = msg(e);
    EXPECT_NE(std::string::npos, m.find("not a thingpress journal")) << m;
    EXPECT_NE(std::string::npos, m.find(d1 + "/journal.db")) << m;
    EXPECT_EQ(std::string::npos, m.find('\n'));
    EXPECT_EQ(nullptr, j);
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open_existing(&j, d1.c_str(), &e));
    EXPECT_NE(std::string::npos, msg(e).find("not a thingpress journal")) << msg(e);

    // another application's SQLite database
    std::string d2 = fresh_dir("foreign-sqlite");
    ASSERT_EQ(0, mkdir(d2.c_str(), 0700));
    sql(d2, "CREATE TABLE notes(t TEXT); INSERT INTO notes VALUES('mine')");
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open(&j, d2.c_str(), &e));
    EXPECT_NE(std::string::npos, msg(e).find("not a thingpress journal")) << msg(e);
    sql(d2, "SELECT count(*) FROM notes"); // untouched

    // a journal from a newer thingpress
    std::string d3 = fresh_dir("newer");
    {
        Jnl J(d3);
    }
    sql(d3, "PRAGMA user_version=99");
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open(&j, d3.c_str(), &e));
    m = msg(e);
    EXPECT_NE(std::string::npos, m.find("version 99 is newer")) << m;
    EXPECT_NE(std::string::npos, m.find("upgrade thingpress")) << m;

    // no journal yet: readers say so and create nothing
    std::string d4 = fresh_dir("none");
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open_existing(&j, d4.c_str(), &e));
    EXPECT_EQ("no journal in " + d4 + ": nothing has been provisioned yet", msg(e));
    EXPECT_EQ(-1, file_mode(d4));
    ASSERT_EQ(0, mkdir(d4.c_str(), 0700));
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open_existing(&j, d4.c_str(), &e));
    EXPECT_EQ("no journal in " + d4 + ": nothing has been provisioned yet", msg(e));
    EXPECT_EQ(-1, file_mode(d4 + "/journal.db"));
    // an empty file (a journal.db touched by hand, or a reader raced a first
    // writer) is "nothing yet", and stays empty
    FILE *f = fopen((d4 + "/journal.db").c_str(), "w");
    ASSERT_TRUE(f);
    fclose(f);
    err_clear(&e);
    EXPECT_EQ(-1, jnl_open_existing(&j, d4.c_str(), &e));
    EXPECT_EQ("no journal in " + d4 + ": nothing has been provisioned yet", msg(e));
    EXPECT_EQ("", tu::slurp(d4 + "/journal.db"));
    // and a writer makes it a journal
    {
        Jnl J(d4);
        J.job("/in/a.csv");
    }
    ASSERT_EQ(0, jnl_open_existing(&j, d4.c_str(), &e)) << msg(e);
    jnl_close(j);
}

TEST(Journal, StatusNames)
{
    EXPECT_STREQ("pending", jnl_status_name(JNL_PENDING));
    EXPECT_STREQ("done", jnl_status_name(JNL_DONE));
    EXPECT_STREQ("failed", jnl_status_name(JNL_FAILED));
    EXPECT_STREQ("skipped", jnl_status_name(JNL_SKIPPED));
    EXPECT_STREQ("running", jnl_job_status_name(JOB_RUNNING));
    EXPECT_STREQ("done", jnl_job_status_name(JOB_DONE));
    EXPECT_STREQ("failed", jnl_job_status_name(JOB_FAILED));
    EXPECT_STREQ("cancelled", jnl_job_status_name(JOB_CANCELLED));
    EXPECT_STREQ("paused", jnl_job_status_name(JOB_PAUSED));
}

TEST(Journal, AJobRunningElsewhereShowsItsRunner)
{
    std::string dir = fresh_dir("runner");
    Jnl J(dir);
    int resumed = -1;
    long long a = J.job("/in/a.csv", SHA_A, IDENT, EP, &resumed);
    EXPECT_EQ(0, J.get(a).runner_pid);
    // a runner's lock, as joblock_take leaves it (another open file
    // description conflicts even within this process)
    mkdir((dir + "/locks").c_str(), 0700);
    std::string lock = dir + "/locks/job-" + std::to_string(a) + ".lock";
    int fd = open(lock.c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(0, flock(fd, LOCK_EX | LOCK_NB));
    const char who[] = "pid 4242 host line3-pc\n";
    ASSERT_EQ((ssize_t)strlen(who), write(fd, who, strlen(who)));
    jnl_job jb = J.get(a);
    EXPECT_EQ(4242, jb.runner_pid);
    EXPECT_STREQ("line3-pc", jb.runner_host);
    jnl_job list[4];
    size_t n = 4;
    ASSERT_EQ(0, jnl_job_list(J.j, list, &n, &J.e));
    ASSERT_EQ(1u, n);
    EXPECT_EQ(4242, list[0].runner_pid);
    // the runner ended (or was killed): its lock went with it
    close(fd);
    EXPECT_EQ(0, J.get(a).runner_pid);
    EXPECT_STREQ("", J.get(a).runner_host);
}
