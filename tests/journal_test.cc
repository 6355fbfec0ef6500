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
                const char *thing = nullptr)
    {
        ASSERT_EQ(0,
                  jnl_item_update(j, id, idx, step, st, attempts, error, cert, thing, &e))
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
    EXPECT_EQ(-1,
              jnl_item_update(J.j, id, 3, 1, JNL_DONE, 1, nullptr, nullptr, nullptr, &e));
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

// Cells that a spreadsheet would read as a formula (= + - @, or a leading tab
// or CR) are prefixed with a single quote (OWASP CSV injection); the JSON
// report keeps the values as they are.
TEST(Journal, ReportCsvEscapesFormulaCells)
{
    std::string dir = fresh_dir("report-formula");
    Jnl J(dir);
    long long id = J.job("/in/a.csv", SHA_A, IDENT, EP, nullptr, 2);
    J.add(id, 0, "-abc");
    J.update(id, 0, 1, JNL_FAILED, 1, "=HYPERLINK(\"http://x\",\"y\")");
    J.add(id, 1, "+1", JNL_SKIPPED, "@SUM(A1)");
    J.add(id, 2, "dev-2");
    J.update(id, 2, 3, JNL_FAILED, 1, "\tx");
    ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_FAILED, &J.e));
    char path[4096];
    ASSERT_EQ(0, jnl_report(J.j, id, path, sizeof path, &J.e)) << msg(J.e);
    char fp0[65], fp1[65], fp2[65];
    snprintf(fp0, sizeof fp0, "%064x", 0);
    snprintf(fp1, sizeof fp1, "%064x", 1);
    snprintf(fp2, sizeof fp2, "%064x", 2);
    std::string want = std::string("idx,key,fingerprint,status,error\r\n") + "0,'-abc," +
                       fp0 + ",failed,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n" +
                       "1,'+1," + fp1 + ",skipped,'@SUM(A1)\r\n" + "2,dev-2," + fp2 +
                       ",failed,'\tx\r\n";
    EXPECT_EQ(want, tu::slurp(path));
    std::string json_path = dir + "/reports/job-" + std::to_string(id) + ".json";
    EXPECT_NE(std::string::npos, tu::slurp(json_path).find("\"-abc\""));
}

TEST(Journal, ReportCsvAndJson)
{
    std::string dir = fresh_dir("report");
    Jnl J(dir);
    long long id = J.job("/in/a.csv", SHA_A, IDENT, EP, nullptr, 2);
    J.add(id, 0, "ok-device");
    J.update(id, 0, 5, JNL_DONE, 1);
    J.add(id, 1, "dev,\"one\"");
    J.update(id, 1, 2, JNL_FAILED, 3, "CreateThing: 409 \"already exists\", other type");
    J.add(id, 2, "bad name!", JNL_SKIPPED, "thing name: '!' is not allowed\nline two");
    J.add(id, 3, "pending-device");
    J.add(id, 4, "plain");
    J.update(id, 4, 1, JNL_FAILED, 10, "ThrottlingException");
    ASSERT_EQ(0, jnl_job_set_status(J.j, id, JOB_FAILED, &J.e));

    char path[4096];
    ASSERT_EQ(0, jnl_report(J.j, id, path, sizeof path, &J.e)) << msg(J.e);
    std::string csv_path = dir + "/reports/job-" + std::to_string(id) + ".csv";
    std::string json_path = dir + "/reports/job-" + std::to_string(id) + ".json";
    EXPECT_EQ(csv_path, path);
    EXPECT_EQ(0700, file_mode(dir + "/reports"));
    EXPECT_EQ(-1, file_mode(csv_path + ".tmp"));
    EXPECT_EQ(-1, file_mode(json_path + ".tmp"));

    char fp1[65], fp2[65], fp4[65];
    snprintf(fp1, sizeof fp1, "%064x", 1);
    snprintf(fp2, sizeof fp2, "%064x", 2);
    snprintf(fp4, sizeof fp4, "%064x", 4);
    std::string want = std::string("idx,key,fingerprint,status,error\r\n") +
                       "1,\"dev,\"\"one\"\"\"," + fp1 +
                       ",failed,\"CreateThing: 409 \"\"already exists\"\", other "
                       "type\"\r\n" +
                       "2,bad name!," + fp2 +
                       ",skipped,\"thing name: '!' is not allowed\nline two\"\r\n" +
                       "4,plain," + fp4 + ",failed,ThrottlingException\r\n";
    EXPECT_EQ(want, tu::slurp(csv_path));

    json_error_t je;
    json_t *doc = json_load_file(json_path.c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text;
    EXPECT_EQ(id, json_integer_value(json_object_get(doc, "job")));
    EXPECT_STREQ("/in/a.csv", json_string_value(json_object_get(doc, "file")));
    EXPECT_STREQ(SHA_A, json_string_value(json_object_get(doc, "file_sha256")));
    EXPECT_EQ(2, json_integer_value(json_object_get(doc, "phase")));
    EXPECT_STREQ("batch-1", json_string_value(json_object_get(doc, "batch_id")));
    EXPECT_STREQ("failed", json_string_value(json_object_get(doc, "status")));
    json_t *ident = json_object_get(doc, "identity");
    ASSERT_TRUE(json_is_object(ident));
    EXPECT_STREQ(
        "p1", json_string_value(json_array_get(json_object_get(ident, "policies"), 0)));
    json_t *counts = json_object_get(doc, "counts");
    EXPECT_EQ(5, json_integer_value(json_object_get(counts, "total")));
    EXPECT_EQ(1, json_integer_value(json_object_get(counts, "done")));
    EXPECT_EQ(2, json_integer_value(json_object_get(counts, "failed")));
    EXPECT_EQ(1, json_integer_value(json_object_get(counts, "skipped")));
    EXPECT_EQ(1, json_integer_value(json_object_get(counts, "pending")));
    json_t *items = json_object_get(doc, "items");
    ASSERT_EQ(3u, json_array_size(items));
    json_t *i1 = json_array_get(items, 0);
    EXPECT_EQ(1, json_integer_value(json_object_get(i1, "idx")));
    EXPECT_STREQ("dev,\"one\"", json_string_value(json_object_get(i1, "key")));
    EXPECT_STREQ(fp1, json_string_value(json_object_get(i1, "fingerprint")));
    EXPECT_STREQ("failed", json_string_value(json_object_get(i1, "status")));
    EXPECT_STREQ("CreateThing: 409 \"already exists\", other type",
                 json_string_value(json_object_get(i1, "error")));
    EXPECT_EQ(3, json_integer_value(json_object_get(i1, "attempts")));
    json_t *i2 = json_array_get(items, 1);
    EXPECT_STREQ("skipped", json_string_value(json_object_get(i2, "status")));
    EXPECT_STREQ("thing name: '!' is not allowed\nline two",
                 json_string_value(json_object_get(i2, "error")));
    EXPECT_EQ(4, json_integer_value(json_object_get(json_array_get(items, 2), "idx")));
    json_decref(doc);

    // rewritten in place after a retry fixed item 4; a clean job has no rows
    J.update(id, 4, 5, JNL_DONE, 11);
    ASSERT_EQ(0, jnl_report(J.j, id, path, sizeof path, &J.e));
    EXPECT_EQ(std::string::npos, tu::slurp(csv_path).find("plain"));
    long long clean = J.job("/in/b.csv", SHA_B);
    ASSERT_EQ(0, jnl_report(J.j, clean, path, sizeof path, &J.e));
    EXPECT_EQ("idx,key,fingerprint,status,error\r\n", tu::slurp(path));
    doc = json_load_file((std::string(path, strlen(path) - 4) + ".json").c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text;
    EXPECT_EQ(0u, json_array_size(json_object_get(doc, "items")));
    json_decref(doc);

    // a buffer too small for the path is refused
    char tiny[8];
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, jnl_report(J.j, id, tiny, sizeof tiny, &e));
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
