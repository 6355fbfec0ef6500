// The learned pace's file (engine/pace.h): round trip, one entry per
// endpoint, account, region and operation, ageing, bad files read as
// nothing (and replaced), a newer version left alone, and several writers at
// once (threads, and processes) without corruption or lost entries.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "engine/pace.h"
}

#include "testutil.h"

namespace
{

const long long kNow = 1800000000; // unix seconds

// A fresh state directory under TEST_TMPDIR.
std::string fresh_dir(const std::string &name)
{
    const char *t = getenv("TEST_TMPDIR");
    std::string d = std::string(t ? t : "/tmp") + "/pace-" + name;
    std::string rm = "rm -rf '" + d + "'";
    EXPECT_EQ(0, system(rm.c_str()));
    EXPECT_EQ(0, mkdir(d.c_str(), 0700));
    return d;
}

pace_rate rate_of(const char *op, double tps, int found)
{
    pace_rate r;
    memset(&r, 0, sizeof r);
    snprintf(r.op, sizeof r.op, "%s", op);
    r.tps = tps;
    r.found = found;
    return r;
}

const pace_key kAws = {"https://iot.eu-west-1.amazonaws.com", "123456789012",
                       "eu-west-1"};

void store(const std::string &dir, const pace_key &k, std::vector<pace_rate> rs,
           long long now = kNow)
{
    err e;
    err_clear(&e);
    ASSERT_EQ(0, pace_store(dir.c_str(), &k, rs.data(), rs.size(), now, &e)) << e.msg;
}

std::vector<pace_rate> load(const std::string &dir, const pace_key &k,
                            long long now = kNow)
{
    pace_rate out[64];
    size_t n = pace_load(dir.c_str(), &k, now, out, 64);
    return std::vector<pace_rate>(out, out + n);
}

const pace_rate *find(const std::vector<pace_rate> &v, const char *op)
{
    for (auto &r : v)
        if (!strcmp(r.op, op))
            return &r;
    return nullptr;
}

void write_file(const std::string &path, const std::string &bytes)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << bytes;
}

} // namespace

TEST(Pace, RoundTrip)
{
    std::string d = fresh_dir("roundtrip");
    EXPECT_TRUE(load(d, kAws).empty()); // no file yet: nothing learned
    store(d, kAws,
          {rate_of("RegisterCertificateWithoutCA", 49.25, 1),
           rate_of("AttachPolicy", 102, 0)});
    auto got = load(d, kAws);
    ASSERT_EQ(got.size(), 2u);
    const pace_rate *reg = find(got, "RegisterCertificateWithoutCA");
    ASSERT_NE(reg, nullptr);
    EXPECT_DOUBLE_EQ(reg->tps, 49.25);
    EXPECT_EQ(reg->found, 1);
    EXPECT_EQ(reg->updated, kNow);
    const pace_rate *pol = find(got, "AttachPolicy");
    ASSERT_NE(pol, nullptr);
    EXPECT_DOUBLE_EQ(pol->tps, 102);
    EXPECT_EQ(pol->found, 0);

    struct stat sb;
    ASSERT_EQ(0, stat((d + "/" PACE_FILE).c_str(), &sb));
    EXPECT_EQ(sb.st_mode & 0777, 0600u);
    // no temporary file left behind
    DIR *dh = opendir(d.c_str());
    ASSERT_NE(dh, nullptr);
    for (struct dirent *de; (de = readdir(dh));)
        EXPECT_NE(0, strncmp(de->d_name, "." PACE_FILE ".", strlen("." PACE_FILE ".")))
            << de->d_name;
    closedir(dh);
}

// Each endpoint, account and region has its own rates: the local endpoint
// and AWS never mix, nor two accounts or two regions of one.
TEST(Pace, KeyedByEndpointAccountRegionAndOperation)
{
    std::string d = fresh_dir("keys");
    pace_key local = {"local endpoint /state/local-endpoint.db", "123456789012",
                      "eu-west-1"};
    pace_key other_acct = {kAws.endpoint, "210987654321", kAws.region};
    pace_key other_region = {"https://iot.eu-west-1.amazonaws.com", "123456789012",
                             "us-east-1"};
    store(d, kAws, {rate_of("RegisterCertificateWithoutCA", 50, 1)});
    store(d, local, {rate_of("RegisterCertificateWithoutCA", 100, 0)});
    store(d, other_acct, {rate_of("RegisterCertificateWithoutCA", 20, 1)});
    store(d, other_region, {rate_of("RegisterCertificateWithoutCA", 30, 1)});
    // the same key, another operation: added beside, not instead
    store(d, kAws, {rate_of("UpdateCertificate", 45, 1)});

    auto aws = load(d, kAws);
    ASSERT_EQ(aws.size(), 2u);
    EXPECT_DOUBLE_EQ(find(aws, "RegisterCertificateWithoutCA")->tps, 50);
    EXPECT_DOUBLE_EQ(find(aws, "UpdateCertificate")->tps, 45);
    auto l = load(d, local);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_DOUBLE_EQ(l[0].tps, 100);
    EXPECT_EQ(l[0].found, 0);
    ASSERT_EQ(load(d, other_acct).size(), 1u);
    EXPECT_DOUBLE_EQ(load(d, other_acct)[0].tps, 20);
    ASSERT_EQ(load(d, other_region).size(), 1u);
    EXPECT_DOUBLE_EQ(load(d, other_region)[0].tps, 30);
    pace_key none = {kAws.endpoint, "", kAws.region};
    EXPECT_TRUE(load(d, none).empty());

    // learned again: replaced, the others kept
    store(d, kAws, {rate_of("RegisterCertificateWithoutCA", 55, 1)}, kNow + 60);
    aws = load(d, kAws, kNow + 60);
    ASSERT_EQ(aws.size(), 2u);
    EXPECT_DOUBLE_EQ(find(aws, "RegisterCertificateWithoutCA")->tps, 55);
    EXPECT_EQ(find(aws, "RegisterCertificateWithoutCA")->updated, kNow + 60);
    EXPECT_DOUBLE_EQ(find(aws, "UpdateCertificate")->tps, 45);
}

// Quotas change: an entry older than PACE_MAX_AGE is not used, and the next
// write drops it.
TEST(Pace, OldEntriesAgeOut)
{
    std::string d = fresh_dir("age");
    store(d, kAws, {rate_of("RegisterCertificateWithoutCA", 50, 1)});
    EXPECT_EQ(load(d, kAws, kNow + PACE_MAX_AGE).size(), 1u);
    EXPECT_TRUE(load(d, kAws, kNow + PACE_MAX_AGE + 1).empty());
    pace_key other = {"http://127.0.0.1:8080", "123456789012", "us-east-1"};
    store(d, other, {rate_of("CreateThing", 200, 0)}, kNow + PACE_MAX_AGE + 1);
    EXPECT_TRUE(load(d, kAws, kNow).empty()) << "the old entry was kept";
    EXPECT_EQ(load(d, other, kNow + PACE_MAX_AGE + 1).size(), 1u);
}

// Whatever is in the file, reading it never fails and never crashes: a bad
// file is nothing learned, a bad entry is skipped, and the next write
// replaces the file.
TEST(Pace, BadFilesAreNothingLearned)
{
    std::string d = fresh_dir("bad");
    std::string path = d + "/" PACE_FILE;
    const std::string bad[] = {
        "",
        "not json at all",
        "{\"thingpress_pace\": 1, \"rates\": [{\"endpoint\": \"x\"", // cut short
        "[1, 2, 3]",
        "{\"rates\": []}",
        "{\"thingpress_pace\": \"1\", \"rates\": []}",
        "{\"thingpress_pace\": 1, \"rates\": {}}",
        "{\"thingpress_pace\": 1, \"rates\": [null, 1, \"x\", []]}",
        "{\"thingpress_pace\": 1, \"rates\": [{\"tps\": 1e400}]}",
        std::string("\x00\x01\x02\xff", 4),
    };
    for (const std::string &b : bad) {
        write_file(path, b);
        EXPECT_TRUE(load(d, kAws).empty()) << b;
    }
    write_file(path, std::string(2 << 20, ' ')); // larger than any pace file
    EXPECT_TRUE(load(d, kAws).empty());

    // one good entry among bad ones: the good one only
    const std::string ep = kAws.endpoint;
    auto entry = [&](const std::string &op, const std::string &tps,
                     const std::string &extra = "") {
        return "{\"endpoint\": \"" + ep +
               "\", \"account\": \"123456789012\", \"region\": \"eu-west-1\", \"op\": "
               "\"" +
               op + "\", \"tps\": " + tps +
               ", \"found\": true, \"updated\": " + std::to_string(kNow) + extra + "}";
    };
    write_file(path, "{\"thingpress_pace\": 1, \"rates\": [" + entry("A", "0") + "," +
                         entry("B", "-5") + "," + entry("C", "\"fast\"") + "," +
                         entry("D", "2e7") + "," + entry(std::string(100, 'E'), "5") +
                         "," + entry("", "5") + "," + entry("F", "5", ", \"found\": 3") +
                         "," + "{\"endpoint\": \"" + ep +
                         "\", \"op\": \"G\", \"tps\": 5, \"updated\": 1}," +
                         entry("Good", "42.5") + "]}");
    auto got = load(d, kAws);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_STREQ(got[0].op, "Good");
    EXPECT_DOUBLE_EQ(got[0].tps, 42.5);

    // a directory where the file should be: read as nothing, and a write
    // fails cleanly
    std::string d2 = fresh_dir("bad-dir");
    ASSERT_EQ(0, mkdir((d2 + "/" PACE_FILE).c_str(), 0700));
    EXPECT_TRUE(load(d2, kAws).empty());
    pace_rate r = rate_of("RegisterCertificateWithoutCA", 50, 1);
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, pace_store(d2.c_str(), &kAws, &r, 1, kNow, &e));
    EXPECT_NE(e.msg[0], '\0');

    // a corrupt file is replaced by the next write
    write_file(path, "{{{{");
    store(d, kAws, {rate_of("RegisterCertificateWithoutCA", 50, 1)});
    ASSERT_EQ(load(d, kAws).size(), 1u);
}

// A file from a newer thingpress is not read, and not overwritten.
TEST(Pace, NewerVersionLeftAlone)
{
    std::string d = fresh_dir("newer");
    std::string path = d + "/" PACE_FILE;
    const std::string text = "{\"thingpress_pace\": 2, \"rates\": [], \"more\": true}";
    write_file(path, text);
    EXPECT_TRUE(load(d, kAws).empty());
    pace_rate r = rate_of("RegisterCertificateWithoutCA", 50, 1);
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, pace_store(d.c_str(), &kAws, &r, 1, kNow, &e));
    EXPECT_NE(std::string(e.msg).find("newer"), std::string::npos) << e.msg;
    EXPECT_EQ(tu::slurp(path), text);
}

// Several writers at once (stations sharing a state directory): threads of
// one process and separate processes, each writing its own key many times,
// while readers read. Every read parses (a reader sees a whole file, old or
// new), and at the end every writer's last rates are there: none lost.
TEST(Pace, ConcurrentWritersNeitherCorruptNorLose)
{
    std::string d = fresh_dir("concurrent");
    const int kThreads = 6, kProcs = 3, kRounds = 40;
    auto key_of = [](int w, std::string &ep) {
        ep = "https://endpoint-" + std::to_string(w);
        return pace_key{ep.c_str(), "123456789012", "eu-west-1"};
    };
    auto writer = [&](int w) {
        std::string ep;
        pace_key k = key_of(w, ep);
        for (int i = 1; i <= kRounds; i++) {
            pace_rate rs[2] = {rate_of("RegisterCertificateWithoutCA", w * 1000 + i, 1),
                               rate_of("AttachPolicy", w * 1000 + i, 0)};
            err e;
            err_clear(&e);
            if (pace_store(d.c_str(), &k, rs, 2, kNow, &e))
                return false;
        }
        return true;
    };
    // the processes first, while this one has no other thread
    std::vector<pid_t> kids;
    for (int p = 0; p < kProcs; p++) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0)
            _exit(writer(kThreads + p) ? 0 : 1);
        kids.push_back(pid);
    }
    std::atomic<int> stop{0}, reads{0}, torn{0};
    std::thread reader([&] {
        std::string ep;
        pace_key k = key_of(0, ep);
        while (!stop.load()) {
            pace_rate out[8];
            size_t n = pace_load(d.c_str(), &k, kNow, out, 8);
            // writer 0 writes both operations at once: a reader sees both or none
            if (n != 0 && n != 2)
                torn++;
            reads++;
        }
    });
    std::vector<std::thread> ts;
    std::atomic<int> failed{0};
    for (int w = 0; w < kThreads; w++)
        ts.emplace_back([&, w] {
            if (!writer(w))
                failed++;
        });
    for (auto &t : ts)
        t.join();
    for (pid_t pid : kids) {
        int status = 0;
        ASSERT_EQ(pid, waitpid(pid, &status, 0));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    stop = 1;
    reader.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(torn.load(), 0);
    EXPECT_GT(reads.load(), 0);
    for (int w = 0; w < kThreads + kProcs; w++) {
        std::string ep;
        pace_key k = key_of(w, ep);
        auto got = load(d, k);
        ASSERT_EQ(got.size(), 2u) << "writer " << w;
        EXPECT_DOUBLE_EQ(find(got, "RegisterCertificateWithoutCA")->tps,
                         w * 1000 + kRounds);
        EXPECT_DOUBLE_EQ(find(got, "AttachPolicy")->tps, w * 1000 + kRounds);
    }
}
