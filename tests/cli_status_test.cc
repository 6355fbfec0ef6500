// `thingpress status` end to end: the binary reads a journal this test writes
// through the C API (engine/journal.h), in every output format, with its
// exit codes, and while a writer holds a transaction open.
#include <gtest/gtest.h>

#include <jansson.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/journal.h"
#include "tests/testutil.h"

namespace
{

struct Result {
    int rc = -1;
    std::string out, err;
};

Result run(const std::string &args)
{
    std::string errf = tu::temp_file("status-stderr.txt", "");
    // fixed zone for the local times; no color variables from the caller
    std::string cmd = "TZ=UTC NO_COLOR= cli/thingpress " + args + " 2>" + errf;
    Result r;
    FILE *p = popen(cmd.c_str(), "r");
    std::array<char, 65536> b;
    size_t n;
    while ((n = fread(b.data(), 1, b.size(), p)) > 0)
        r.out.append(b.data(), n);
    int st = pclose(p);
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.err = tu::slurp(errf);
    return r;
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

std::vector<std::string> cells(const std::string &line)
{
    std::vector<std::string> v;
    size_t c = 0;
    for (;;) {
        size_t t = line.find('\t', c);
        v.push_back(line.substr(c, t - c));
        if (t == std::string::npos)
            break;
        c = t + 1;
    }
    return v;
}

std::string state_dir(const std::string &name)
{
    const char *t = getenv("TEST_TMPDIR");
    return std::string(t ? t : "/tmp") + "/" + name;
}

std::string fp_of(size_t i)
{
    char fp[65];
    snprintf(fp, sizeof fp, "%064llx", (unsigned long long)i * 0x9e3779b97f4a7c15ull);
    return fp;
}

void sql(const std::string &dir, const std::string &q)
{
    sqlite3 *db = nullptr;
    ASSERT_EQ(SQLITE_OK, sqlite3_open((dir + "/journal.db").c_str(), &db));
    EXPECT_EQ(SQLITE_OK, sqlite3_exec(db, q.c_str(), nullptr, nullptr, nullptr));
    sqlite3_close(db);
}

// Two jobs: job 1 (Phase 1, failed: 2 done, 2 failed, 1 skipped) updated
// last, job 2 (Phase 2, running, 2,500 items: more than a page).
class CliStatus : public ::testing::Test
{
  protected:
    static std::string dir;

    static void SetUpTestSuite()
    {
        dir = state_dir("status-state");
        journal *j = nullptr;
        err e;
        err_clear(&e);
        ASSERT_EQ(0, jnl_open(&j, dir.c_str(), &e));
        long long a = 0, b = 0;
        int resumed;
        ASSERT_EQ(0, jnl_job_open(j, "/data/in/manifest-espressif.csv", "aa11", 1, "",
                                  "{\"policies\":[\"p1\"]}", "http://127.0.0.1:4566", &a,
                                  &resumed, &e));
        ASSERT_EQ(0, jnl_job_open(j, "/data/in/device-infos.json", "bb22", 2, "batch-7",
                                  "{\"policies\":[\"p2\"]}", "", &b, &resumed, &e));
        ASSERT_EQ(1, a);
        ASSERT_EQ(2, b);
        const char *keys[] = {"dev-0", "dev,\"1\"", "dev-2", "dev-3", "bad!"};
        ASSERT_EQ(0, jnl_begin(j, &e));
        for (size_t i = 0; i < 5; i++)
            ASSERT_EQ(0, jnl_item_add(j, a, i, keys[i], fp_of(i).c_str(),
                                      i == 4 ? JNL_SKIPPED : JNL_PENDING,
                                      i == 4 ? "thing name: '!'\tnot allowed" : nullptr,
                                      &e));
        ASSERT_EQ(0, jnl_item_update(j, a, 0, 5, JNL_DONE, 1, nullptr, "arn:cert/0",
                                     "arn:thing/0", nullptr, &e));
        ASSERT_EQ(0, jnl_item_update(j, a, 1, 2, JNL_FAILED, 4,
                                     "CreateThing: 409, \"other type\"", nullptr, nullptr,
                                     nullptr, &e));
        ASSERT_EQ(0, jnl_item_update(j, a, 2, 5, JNL_DONE, 1, nullptr, nullptr, nullptr,
                                     nullptr, &e));
        ASSERT_EQ(0, jnl_item_update(j, a, 3, 1, JNL_FAILED, 10, "ThrottlingException",
                                     nullptr, nullptr, nullptr, &e));
        for (size_t i = 0; i < 2500; i++) {
            std::string k = "device-" + std::to_string(i);
            ASSERT_EQ(0, jnl_item_add(j, b, i, k.c_str(), fp_of(i).c_str(), JNL_PENDING,
                                      nullptr, &e));
            if (i % 2 == 0) {
                ASSERT_EQ(0, jnl_item_update(j, b, i, 6, JNL_DONE, 1, nullptr, nullptr,
                                             nullptr, nullptr, &e));
            }
        }
        ASSERT_EQ(0, jnl_commit(j, &e));
        ASSERT_EQ(0, jnl_job_set_status(j, a, JOB_FAILED, &e));
        jnl_close(j);
        // fixed times: job 1 updated last; 2024-05-01 12:00:00 UTC and after
        sql(dir, "UPDATE jobs SET created=1714564800, updated=1714568400, "
                 "ended=1714568400 WHERE id=1;"
                 "UPDATE jobs SET created=1714564860, updated=1714564900 WHERE id=2");
        // job 1's report, as the engine writes it at the end of a job
        ASSERT_EQ(0, jnl_open(&j, dir.c_str(), &e));
        char path[4096];
        ASSERT_EQ(0, jnl_report(j, a, path, sizeof path, &e));
        jnl_close(j);
    }
};

std::string CliStatus::dir;

TEST_F(CliStatus, JobTableIsAlignedMostRecentFirst)
{
    Result r = run("status --state " + dir);
    ASSERT_EQ(0, r.rc) << r.err;
    EXPECT_EQ("", r.err);
    EXPECT_EQ(std::string::npos, r.out.find('\033')) << "no color without a terminal";
    auto ls = lines(r.out);
    ASSERT_EQ(3u, ls.size()) << r.out;
    EXPECT_EQ(0u, ls[0].find("ID  PHASE  STATUS")) << ls[0];
    // job 1 was updated last
    EXPECT_EQ(0u, ls[1].find(" 1      1  failed   2024-05-01 12:00:00  "
                             "manifest-espressif.csv  -      "))
        << ls[1];
    EXPECT_EQ(0u, ls[2].find(" 2      2  running  2024-05-01 12:01:00  "
                             "device-infos.json       batch-7"))
        << ls[2];
    // columns line up: every line is as long (the last column is right-aligned)
    EXPECT_EQ(ls[0].size(), ls[1].size());
    EXPECT_EQ(ls[0].size(), ls[2].size());
    size_t batch = ls[0].find("BATCH");
    EXPECT_EQ("batch-7", ls[2].substr(batch, 7));
    // the counts, right-aligned under their heads
    EXPECT_EQ("    5     2       2        1", ls[1].substr(ls[1].size() - 28)) << ls[1];
    EXPECT_EQ(" 2500  1250       0        0", ls[2].substr(ls[2].size() - 28)) << ls[2];

    Result one = run("status --state " + dir + " --limit 1");
    ASSERT_EQ(0, one.rc);
    auto ol = lines(one.out);
    ASSERT_EQ(3u, ol.size()) << one.out;
    EXPECT_EQ(0u, ol[1].find(" 1 ")) << ol[1];
    EXPECT_NE(std::string::npos, ol[2].find("--limit 0 shows all"));
}

TEST_F(CliStatus, JobTableTsvAndJson)
{
    Result t = run("status --state " + dir + " --output tsv");
    ASSERT_EQ(0, t.rc) << t.err;
    auto ls = lines(t.out);
    ASSERT_EQ(2u, ls.size());
    auto c = cells(ls[0]);
    ASSERT_EQ(10u, c.size());
    EXPECT_EQ((std::vector<std::string>{"1", "1", "failed", "2024-05-01T12:00:00Z",
                                        "/data/in/manifest-espressif.csv", "", "5", "2",
                                        "2", "1"}),
              c);
    EXPECT_EQ("2", cells(ls[1])[0]);

    Result j = run("status --state=" + dir + " --output=json");
    ASSERT_EQ(0, j.rc) << j.err;
    json_error_t je;
    json_t *doc = json_loads(j.out.c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text << "\n" << j.out;
    EXPECT_EQ(dir, json_string_value(json_object_get(doc, "state_dir")));
    json_t *jobs = json_object_get(doc, "jobs");
    ASSERT_EQ(2u, json_array_size(jobs));
    json_t *j1 = json_array_get(jobs, 0);
    EXPECT_EQ(1, json_integer_value(json_object_get(j1, "job")));
    EXPECT_STREQ("failed", json_string_value(json_object_get(j1, "status")));
    EXPECT_STREQ("http://127.0.0.1:4566",
                 json_string_value(json_object_get(j1, "endpoint")));
    EXPECT_TRUE(json_is_null(json_object_get(j1, "batch_id")));
    EXPECT_STREQ("2024-05-01T12:00:00Z", json_string_value(json_object_get(j1, "start")));
    EXPECT_TRUE(
        json_is_array(json_object_get(json_object_get(j1, "options"), "policies")));
    json_t *counts = json_object_get(j1, "counts");
    EXPECT_EQ(5, json_integer_value(json_object_get(counts, "total")));
    EXPECT_EQ(2, json_integer_value(json_object_get(counts, "failed")));
    EXPECT_EQ(1, json_integer_value(json_object_get(counts, "skipped")));
    EXPECT_EQ(0, json_integer_value(json_object_get(counts, "pending")));
    json_t *j2 = json_array_get(jobs, 1);
    EXPECT_STREQ("batch-7", json_string_value(json_object_get(j2, "batch_id")));
    EXPECT_EQ(1250, json_integer_value(
                        json_object_get(json_object_get(j2, "counts"), "pending")));
    json_decref(doc);
}

TEST_F(CliStatus, OneJobText)
{
    Result r = run("status --state " + dir + " 1");
    ASSERT_EQ(0, r.rc) << r.err;
    EXPECT_EQ(std::string::npos, r.out.find('\033'));
    auto ls = lines(r.out);
    ASSERT_GE(ls.size(), 10u) << r.out;
    EXPECT_EQ("job 1: failed (phase 1)", ls[0]);
    EXPECT_NE(std::string::npos,
              r.out.find("  file      /data/in/manifest-espressif.csv\n"));
    EXPECT_NE(std::string::npos, r.out.find("  endpoint  http://127.0.0.1:4566\n"));
    EXPECT_NE(std::string::npos,
              r.out.find("  items     5: 2 done, 2 failed, 1 skipped, 0 pending\n"));
    EXPECT_NE(std::string::npos,
              r.out.find("  report    " + dir + "/reports/job-1.csv\n"));
    // the table: a head and five rows, in idx order
    size_t head = 0;
    while (head < ls.size() && ls[head].find("IDX  KEY") != 0)
        head++;
    ASSERT_LT(head + 5, ls.size()) << r.out;
    EXPECT_EQ(head + 6, ls.size()) << r.out;
    EXPECT_EQ(0u, ls[head + 1].find("  0  dev-0    " + fp_of(0).substr(0, 12) +
                                    "...  done        5         1"))
        << ls[head + 1];
    EXPECT_EQ(0u, ls[head + 2].find("  1  dev,\"1\"  " + fp_of(1).substr(0, 12) +
                                    "...  failed      2         4  CreateThing: 409, "
                                    "\"other type\""))
        << ls[head + 2];
    // a tab in an error stays on its line
    EXPECT_NE(std::string::npos, ls[head + 5].find("skipped     0         0  thing name: "
                                                   "'!'?not allowed"))
        << ls[head + 5];
}

TEST_F(CliStatus, OneJobFailedTsvAndJson)
{
    Result t = run("status --state " + dir + " 1 --failed --output tsv");
    ASSERT_EQ(0, t.rc) << t.err;
    auto ls = lines(t.out);
    ASSERT_EQ(3u, ls.size()) << t.out;
    EXPECT_EQ((std::vector<std::string>{"1", "dev,\"1\"", fp_of(1), "failed", "2", "4",
                                        "CreateThing: 409, \"other type\"", "", ""}),
              cells(ls[0]));
    EXPECT_EQ("3", cells(ls[1])[0]);
    EXPECT_EQ((std::vector<std::string>{"4", "bad!", fp_of(4), "skipped", "0", "0",
                                        "thing name: '!'?not allowed", "", ""}),
              cells(ls[2]));

    Result all = run("status --state " + dir + " 1 -o tsv");
    ASSERT_EQ(0, all.rc);
    auto al = lines(all.out);
    ASSERT_EQ(5u, al.size());
    EXPECT_EQ((std::vector<std::string>{"0", "dev-0", fp_of(0), "done", "5", "1", "",
                                        "arn:cert/0", "arn:thing/0"}),
              cells(al[0]));

    Result j = run("status 1 --failed --state " + dir + " --output json");
    ASSERT_EQ(0, j.rc) << j.err;
    json_error_t je;
    json_t *doc = json_loads(j.out.c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text << "\n" << j.out;
    json_t *job = json_object_get(doc, "job");
    EXPECT_EQ(1, json_integer_value(json_object_get(job, "job")));
    EXPECT_STREQ("/data/in/manifest-espressif.csv",
                 json_string_value(json_object_get(job, "file")));
    json_t *items = json_object_get(doc, "items");
    ASSERT_EQ(3u, json_array_size(items));
    json_t *i0 = json_array_get(items, 0);
    EXPECT_STREQ("dev,\"1\"", json_string_value(json_object_get(i0, "thing_name")));
    EXPECT_STREQ("CreateThing: 409, \"other type\"",
                 json_string_value(json_object_get(i0, "error")));
    EXPECT_EQ(4, json_integer_value(json_object_get(i0, "attempts")));
    EXPECT_TRUE(json_is_null(json_object_get(i0, "certificate_arn")));
    EXPECT_STREQ("thing name: '!'\tnot allowed",
                 json_string_value(json_object_get(json_array_get(items, 2), "error")));
    json_decref(doc);
}

TEST_F(CliStatus, LargeJobStreamsEveryItemInOrder)
{
    Result t = run("status --state " + dir + " 2 --output tsv");
    ASSERT_EQ(0, t.rc) << t.err;
    auto ls = lines(t.out);
    ASSERT_EQ(2500u, ls.size());
    for (size_t i = 0; i < ls.size(); i++) {
        auto c = cells(ls[i]);
        ASSERT_EQ(9u, c.size());
        ASSERT_EQ(std::to_string(i), c[0]);
        ASSERT_EQ("device-" + std::to_string(i), c[1]);
        ASSERT_EQ(i % 2 ? "pending" : "done", c[3]);
    }
    Result j = run("status --state " + dir + " 2 --output json");
    json_t *doc = json_loads(j.out.c_str(), 0, nullptr);
    ASSERT_TRUE(doc);
    EXPECT_EQ(2500u, json_array_size(json_object_get(doc, "items")));
    json_decref(doc);
    Result none = run("status --state " + dir + " 2 --failed");
    ASSERT_EQ(0, none.rc);
    EXPECT_NE(std::string::npos, none.out.find("No failed or skipped items."));
}

// --output csv and json with JOB print the job's report: the same bytes as
// reports/job-JOB.csv and .json (written by the fixture), every item.
TEST_F(CliStatus, OneJobCsvAndJsonAreItsReport)
{
    Result c = run("status --state " + dir + " 1 --output csv");
    ASSERT_EQ(0, c.rc) << c.err;
    EXPECT_EQ("", c.err);
    EXPECT_EQ(tu::slurp(dir + "/reports/job-1.csv"), c.out);
    auto ls = lines(c.out);
    ASSERT_EQ(6u, ls.size()) << c.out; // the header and 5 rows
    EXPECT_EQ("index,thing_name,fingerprint,status,certificate_arn,thing_arn,attempts,"
              "error,started,finished\r",
              ls[0]);
    EXPECT_EQ(0u, ls[1].find("0,dev-0," + fp_of(0) + ",done,arn:cert/0,arn:thing/0,1,,"))
        << ls[1];
    Result j = run("status --state " + dir + " 1 -o json");
    ASSERT_EQ(0, j.rc) << j.err;
    EXPECT_EQ(tu::slurp(dir + "/reports/job-1.json"), j.out);
    Result f = run("status --state " + dir + " 1 --failed -o csv");
    ASSERT_EQ(0, f.rc) << f.err;
    EXPECT_EQ(4u, lines(f.out).size()) << f.out; // the header and 3 rows
}

// --output device-infos: a Phase 1 job's registered certificates (only item
// 0 has a certificate ARN here), a note on stderr since not every item
// registered; a Phase 2 job is refused in one line, exit 2.
TEST_F(CliStatus, DeviceInfosSkeleton)
{
    Result r = run("status --state " + dir + " 1 --output device-infos");
    ASSERT_EQ(0, r.rc) << r.err;
    json_error_t je;
    json_t *doc = json_loads(r.out.c_str(), 0, &je);
    ASSERT_TRUE(doc) << je.text << "\n" << r.out;
    EXPECT_STREQ("manifest-espressif.csv",
                 json_string_value(json_object_get(doc, "batch_id")));
    json_t *devs = json_object_get(doc, "devices");
    ASSERT_EQ(1u, json_array_size(devs));
    json_t *d = json_array_get(devs, 0);
    EXPECT_EQ(2u, json_object_size(d));
    EXPECT_EQ(fp_of(0), json_string_value(json_object_get(d, "certFingerprint")));
    EXPECT_STREQ("dev-0", json_string_value(json_object_get(d, "deviceId")));
    json_decref(doc);
    EXPECT_EQ(1u, lines(r.err).size()) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("2 failed")) << r.err;

    Result p2 = run("status --state " + dir + " 2 --output device-infos");
    EXPECT_EQ(2, p2.rc);
    EXPECT_EQ("", p2.out);
    EXPECT_EQ("thingpress: job 2 is a Phase 2 job: a device-infos skeleton lists what a "
              "Phase 1 job registered\n",
              p2.err);
    for (const char *bad :
         {"--output csv", "-o device-infos", "1 --failed -o device-infos"}) {
        Result b = run("status --state " + dir + " " + bad);
        EXPECT_EQ(2, b.rc) << bad;
        EXPECT_EQ(1u, lines(b.err).size()) << bad << ": " << b.err;
    }
}

TEST_F(CliStatus, ReadsWhileAWriterHoldsATransaction)
{
    journal *j = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, jnl_open(&j, dir.c_str(), &e));
    ASSERT_EQ(0, jnl_begin(j, &e));
    ASSERT_EQ(0, jnl_item_add(j, 1, 100, "uncommitted", "", JNL_PENDING, nullptr, &e));
    Result r = run("status --state " + dir + " 1 --output tsv");
    jnl_rollback(j);
    jnl_close(j);
    EXPECT_EQ(0, r.rc) << r.err;
    EXPECT_EQ(5u, lines(r.out).size()) << "the uncommitted row is not seen";
}

TEST_F(CliStatus, ErrorsAreOneLineWithExit2)
{
    Result r = run("status --state " + dir + " 99");
    EXPECT_EQ(2, r.rc);
    EXPECT_EQ("", r.out);
    EXPECT_EQ("thingpress: no job 99 in the journal in " + dir +
                  " ('thingpress status' lists the jobs)\n",
              r.err);

    std::string empty = state_dir("status-nothing-here");
    r = run("status --state " + empty);
    EXPECT_EQ(2, r.rc);
    EXPECT_EQ("thingpress: no journal in " + empty +
                  ": nothing has been provisioned yet\n",
              r.err);
    struct stat sb;
    EXPECT_NE(0, stat(empty.c_str(), &sb)) << "status must not create the directory";
    r = run("status --state " + empty + " 3");
    EXPECT_EQ(2, r.rc);
    EXPECT_NE(std::string::npos, r.err.find("no journal in")) << r.err;

    for (const char *bad : {"--output xml", "abc", "0", "--failed", "1 2", "--limit x",
                            "--bogus", "--state"}) {
        r = run("status --state " + dir + " " + bad);
        EXPECT_EQ(2, r.rc) << bad;
        EXPECT_EQ(1u, lines(r.err).size()) << bad << ": " << r.err;
        EXPECT_EQ(0u, r.err.find("thingpress: ")) << r.err;
    }

    // a database of another application: refused, untouched
    std::string foreign = state_dir("status-foreign");
    mkdir(foreign.c_str(), 0700);
    sql(foreign, "CREATE TABLE t(x)");
    r = run("status --state " + foreign);
    EXPECT_EQ(2, r.rc);
    EXPECT_NE(std::string::npos, r.err.find("not a thingpress journal")) << r.err;
}

TEST_F(CliStatus, Help)
{
    Result r = run("status --help");
    EXPECT_EQ(0, r.rc);
    EXPECT_EQ(0u, r.out.find("usage: thingpress status [JOB]"));
    EXPECT_NE(std::string::npos, r.out.find("--failed"));
    Result top = run("--help");
    EXPECT_NE(std::string::npos, top.out.find("  status [JOB]"));
}

} // namespace
