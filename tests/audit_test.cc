// The audit log's hash chain (engine/audit.h, issue 13): every line's prev is
// the SHA-256 of the line before; `audit verify` (jnl_audit_verify) finds a
// changed byte, a deleted, inserted or moved line and a cut-off end (through
// the chain head the journal records), names the first bad line, and tells an
// unreadable log apart; rotation, several processes and several threads keep
// one chain.
#include <gtest/gtest.h>

#include <dirent.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/journal.h"
#include "tests/testutil.h"

namespace
{

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

void put_lines(const std::string &path, const std::vector<std::string> &ls)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    for (auto &l : ls)
        f << l << '\n';
}

std::string prev_of(const std::string &line)
{
    size_t p = line.rfind("\"prev\":\"");
    return p == std::string::npos ? "" : line.substr(p + 8, 64);
}

struct Verdict {
    int status;
    aud_verdict v;
    aud_head head;
    std::string where() const // "audit.jsonl:6", or the file alone
    {
        std::string f = v.file;
        f = f.substr(f.rfind('/') + 1);
        return v.line ? f + ":" + std::to_string(v.line) : f;
    }
};

Verdict verify(const std::string &dir)
{
    Verdict r;
    r.status = jnl_audit_verify(dir.c_str(), &r.v, &r.head);
    return r;
}

// A writer of the state directory dir.
struct Log {
    journal *j = nullptr;
    err e;
    explicit Log(const std::string &dir, size_t rotate_at = 0)
    {
        err_clear(&e);
        EXPECT_EQ(0, jnl_open(&j, dir.c_str(), &e)) << msg(e);
        if (j && rotate_at)
            jnl_audit_rotate_at(j, rotate_at);
    }
    ~Log()
    {
        jnl_close(j);
    }
    // n lines of `event` numbered from `from`, then a commit (the chain head
    // goes to the journal) unless told otherwise.
    void write(int n, int from = 0, bool commit = true, const char *event = "call")
    {
        for (int i = from; i < from + n; i++) {
            std::string body = "{\"op\":\"CreateThing\",\"item\":" + std::to_string(i) +
                               ",\"target\":\"thing-" + std::to_string(i) + "\"}";
            ASSERT_EQ(0, jnl_audit(j, 1, event, body.c_str(), &e)) << msg(e);
        }
        if (commit) {
            ASSERT_EQ(0, jnl_commit(j, &e)) << msg(e);
        }
    }
};

std::vector<std::string> names_in(const std::string &dir, const std::string &prefix)
{
    std::vector<std::string> v;
    DIR *d = opendir(dir.c_str());
    if (!d)
        return v;
    while (struct dirent *de = readdir(d))
        if (!strncmp(de->d_name, prefix.c_str(), prefix.size()))
            v.push_back(de->d_name);
    closedir(d);
    std::sort(v.begin(), v.end());
    return v;
}

} // namespace

TEST(AuditLog, AnIntactLogVerifies)
{
    std::string dir = fresh_dir("intact");
    {
        Log L(dir);
        L.write(7);
        L.write(5, 7);
    }
    auto ls = lines(tu::slurp(dir + "/audit.jsonl"));
    ASSERT_EQ(12u, ls.size());
    EXPECT_EQ(sha256_hex(""), prev_of(ls[0]));
    for (size_t i = 1; i < ls.size(); i++)
        EXPECT_EQ(sha256_hex(ls[i - 1]), prev_of(ls[i])) << i;
    Verdict r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.where() << ": " << r.v.reason;
    EXPECT_EQ(12u, r.v.lines);
    EXPECT_EQ(1u, r.v.files);
    EXPECT_EQ(sha256_hex(ls[11]), r.v.last.hash);
    // the journal's head is the last line, and the log holds it
    EXPECT_EQ(1u, r.head.seq);
    EXPECT_EQ(12u, r.head.lines);
    EXPECT_EQ(sha256_hex(ls[11]), r.head.hash);
    EXPECT_TRUE(r.v.head_checked);
}

namespace
{
// A log of 12 committed lines, changed by `edit`, then verified.
template <typename F> Verdict tampered(const std::string &name, F edit)
{
    std::string dir = fresh_dir(name);
    {
        Log L(dir);
        L.write(12);
    }
    std::string path = dir + "/audit.jsonl";
    auto ls = lines(tu::slurp(path));
    EXPECT_EQ(12u, ls.size());
    edit(ls);
    put_lines(path, ls);
    return verify(dir);
}
} // namespace

TEST(AuditLog, AChangedByteIsFound)
{
    // inside a value: the line is still JSON, its own prev still right; the
    // next line no longer chains to it
    Verdict r = tampered("byte", [](std::vector<std::string> &ls) {
        size_t p = ls[4].find("\"item\":4");
        ASSERT_NE(std::string::npos, p);
        ls[4][p + 7] = '5';
    });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:6", r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, "line 5 was changed")) << r.v.reason;

    // a byte that makes the line not JSON: that line
    r = tampered("byte-json", [](std::vector<std::string> &ls) { ls[4][0] = '['; });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:5", r.where());
    EXPECT_EQ(0, strncmp(r.v.reason, "not JSON", 8)) << r.v.reason;

    // a byte of a prev: that line
    r = tampered("byte-prev", [](std::vector<std::string> &ls) {
        char &c = ls[6][ls[6].size() - 3];
        c = c == '0' ? '1' : '0';
    });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:7", r.where());

    // the last line has no line after it: the journal's head finds it
    r = tampered("byte-last", [](std::vector<std::string> &ls) {
        size_t p = ls[11].find("thing-11");
        ls[11][p + 6] = '9';
    });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:12", r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, "not the line the journal recorded"))
        << r.v.reason;
}

TEST(AuditLog, ADeletedLineIsFound)
{
    Verdict r = tampered("deleted", [](std::vector<std::string> &ls) {
        ls.erase(ls.begin() + 4); // line 5
    });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:5", r.where()); // the line after the gap
    EXPECT_NE(nullptr, strstr(r.v.reason, "a line is missing before this one"))
        << r.v.reason;

    r = tampered("deleted-first",
                 [](std::vector<std::string> &ls) { ls.erase(ls.begin()); });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:1", r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, "empty string")) << r.v.reason;
}

TEST(AuditLog, AnInsertedLineIsFound)
{
    // a copy of an earlier line
    Verdict r = tampered("inserted", [](std::vector<std::string> &ls) {
        ls.insert(ls.begin() + 7, ls[2]); // becomes line 8
    });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:8", r.where());

    // a forged line whose prev is right: the line after it no longer is
    r = tampered("inserted-forged", [](std::vector<std::string> &ls) {
        std::string forged = ls[6];
        size_t p = forged.find("thing-6");
        forged.replace(p, 7, "thing-X");
        p = forged.rfind("\"prev\":\"");
        forged.replace(p + 8, 64, sha256_hex(ls[6]));
        ls.insert(ls.begin() + 7, forged); // line 8, chained to line 7
    });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:9", r.where());
}

TEST(AuditLog, TwoSwappedLinesAreFound)
{
    Verdict r = tampered("swapped", [](std::vector<std::string> &ls) {
        std::swap(ls[4], ls[5]); // lines 5 and 6
    });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:5", r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, "moved")) << r.v.reason;
}

TEST(AuditLog, ATruncatedTailIsFoundThroughTheJournalsHead)
{
    Verdict r = tampered("truncated", [](std::vector<std::string> &ls) { ls.resize(9); });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:10", r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, "records 12 lines")) << r.v.reason;

    r = tampered("emptied", [](std::vector<std::string> &ls) { ls.clear(); });
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:1", r.where());

    // the log removed altogether
    std::string dir = fresh_dir("removed");
    {
        Log L(dir);
        L.write(3);
    }
    ASSERT_EQ(0, unlink((dir + "/audit.jsonl").c_str()));
    r = verify(dir);
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:1", r.where());

    // what the head adds: without a journal, a cut-off end is a shorter
    // chain, intact
    dir = fresh_dir("no-head");
    {
        Log L(dir);
        L.write(12);
    }
    ASSERT_EQ(0, unlink((dir + "/journal.db").c_str()));
    auto ls = lines(tu::slurp(dir + "/audit.jsonl"));
    ls.resize(9);
    put_lines(dir + "/audit.jsonl", ls);
    r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.v.reason;
    EXPECT_FALSE(r.v.head_checked);
    EXPECT_EQ(0u, r.head.seq);
}

// The head only moves forward: a writer that commits after another one
// (whose lines came later) leaves the later head in place.
TEST(AuditLog, TheHeadOnlyMovesForward)
{
    std::string dir = fresh_dir("head");
    Log A(dir);
    A.write(3, 0, false); // lines 1-3, not committed yet
    {
        Log B(dir);
        B.write(3, 3); // lines 4-6, head 6
    }
    ASSERT_EQ(0, jnl_commit(A.j, &A.e)) << msg(A.e); // A's head is line 3
    Verdict r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.v.reason;
    EXPECT_EQ(6u, r.head.lines);
    auto ls = lines(tu::slurp(dir + "/audit.jsonl"));
    ls.resize(4);
    put_lines(dir + "/audit.jsonl", ls);
    r = verify(dir);
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:5", r.where());
}

TEST(AuditLog, AnUnreadableLogIsExit2)
{
    // no state directory
    Verdict r = verify(fresh_dir("nothing"));
    EXPECT_EQ(AUD_UNREADABLE, r.status);
    EXPECT_NE(nullptr, strstr(r.v.reason, "no state directory")) << r.v.reason;

    // a state directory without a log
    std::string dir = fresh_dir("empty");
    ASSERT_EQ(0, mkdir(dir.c_str(), 0700));
    r = verify(dir);
    EXPECT_EQ(AUD_UNREADABLE, r.status);
    EXPECT_NE(nullptr, strstr(r.v.reason, "no audit log")) << r.v.reason;

    // the log is not a file that can be read (a directory in its place:
    // the tests run as root, whom permissions do not stop)
    dir = fresh_dir("dir");
    ASSERT_EQ(0, mkdir(dir.c_str(), 0700));
    ASSERT_EQ(0, mkdir((dir + "/audit.jsonl").c_str(), 0700));
    r = verify(dir);
    EXPECT_EQ(AUD_UNREADABLE, r.status);
    EXPECT_EQ("audit.jsonl", r.where());

    // a rotated file that cannot be read
    dir = fresh_dir("rotated-dir");
    {
        Log L(dir, 600);
        L.write(6);
    }
    ASSERT_EQ(0, unlink((dir + "/audit-000001.jsonl").c_str()));
    ASSERT_EQ(0, mkdir((dir + "/audit-000001.jsonl").c_str(), 0700));
    r = verify(dir);
    EXPECT_EQ(AUD_UNREADABLE, r.status);
    EXPECT_EQ("audit-000001.jsonl", r.where());

    // a journal that is not one
    dir = fresh_dir("bad-journal");
    {
        Log L(dir);
        L.write(2);
    }
    put_lines(dir + "/journal.db", {"not a database"});
    r = verify(dir);
    EXPECT_EQ(AUD_UNREADABLE, r.status);
    EXPECT_EQ("journal.db", r.where());
}

TEST(AuditLog, RotationKeepsTheChain)
{
    std::string dir = fresh_dir("rotation");
    {
        Log L(dir, 1500);
        L.write(20);
        L.write(20, 20);
    }
    auto rotated = names_in(dir, "audit-");
    ASSERT_GE(rotated.size(), 3u);
    for (size_t i = 0; i < rotated.size(); i++) {
        char want[32];
        snprintf(want, sizeof want, "audit-%06zu.jsonl", i + 1);
        EXPECT_EQ(want, rotated[i]);
    }
    // every file within the limit; each first line chained to the last line
    // of the file before
    std::vector<std::string> files = rotated;
    files.push_back("audit.jsonl");
    std::string last;
    size_t total = 0;
    for (auto &f : files) {
        std::string text = tu::slurp(dir + "/" + f);
        EXPECT_LE(text.size(), 1500u) << f;
        auto ls = lines(text);
        ASSERT_FALSE(ls.empty()) << f;
        EXPECT_EQ(sha256_hex(last), prev_of(ls[0])) << f;
        last = ls.back();
        total += ls.size();
    }
    EXPECT_EQ(40u, total);
    Verdict r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.where() << ": " << r.v.reason;
    EXPECT_EQ(40u, r.v.lines);
    EXPECT_EQ(files.size(), r.v.files);
    EXPECT_TRUE(r.v.head_checked);
    EXPECT_EQ(files.size(), r.head.seq); // in audit.jsonl, the newest

    // a new writer goes on with the next number, and chains on
    {
        Log L(dir, 1500);
        L.write(12, 40);
    }
    EXPECT_GT(names_in(dir, "audit-").size(), rotated.size());
    r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.where() << ": " << r.v.reason;
    EXPECT_EQ(52u, r.v.lines);

    // the last line of a rotated file changed: the next file's first line
    std::string second = dir + "/" + rotated[1];
    std::string keep = tu::slurp(second);
    auto ls = lines(keep);
    size_t p = ls.back().find("thing-");
    ls.back()[p + 6] = 'X';
    put_lines(second, ls);
    r = verify(dir);
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ(rotated[2] + ":1", r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, rotated[1].c_str())) << r.v.reason;

    // a rotated file removed: named
    ASSERT_EQ(0, unlink(second.c_str()));
    r = verify(dir);
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ(rotated[1], r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, "missing")) << r.v.reason;
}

// Two jobs of different files in one state directory: processes appending
// at once (and rotating) keep one chain.
TEST(AuditLog, ProcessesAppendingAtOnceKeepOneChain)
{
    std::string dir = fresh_dir("processes");
    {
        Log L(dir); // the state directory and the journal's schema
    }
    const int kProcs = 4, kLines = 250;
    std::vector<pid_t> kids;
    for (int k = 0; k < kProcs; k++) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            journal *j = nullptr;
            err e;
            err_clear(&e);
            if (jnl_open(&j, dir.c_str(), &e))
                _exit(10);
            jnl_audit_rotate_at(j, 16384);
            for (int i = 0; i < kLines; i++) {
                std::string body =
                    "{\"op\":\"CreateThing\",\"item\":" + std::to_string(k * 1000 + i) +
                    "}";
                if (jnl_audit(j, k + 1, "call", body.c_str(), &e))
                    _exit(11);
                if (i % 25 == 24 && jnl_commit(j, &e))
                    _exit(12);
            }
            jnl_close(j);
            _exit(0);
        }
        kids.push_back(pid);
    }
    for (pid_t pid : kids) {
        int st = 0;
        ASSERT_EQ(pid, waitpid(pid, &st, 0));
        ASSERT_TRUE(WIFEXITED(st));
        EXPECT_EQ(0, WEXITSTATUS(st));
    }
    Verdict r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.where() << ": " << r.v.reason;
    EXPECT_EQ((unsigned long long)kProcs * kLines, r.v.lines);
    EXPECT_GE(r.v.files, 3u) << "rotated while the others appended";
    EXPECT_TRUE(r.v.head_checked);
}

// Threads writing and syncing together (the workers' intents): one chain,
// every line synced, fewer syncs than lines when they overlap.
TEST(AuditLog, ThreadsShareTheSync)
{
    std::string dir = fresh_dir("threads");
    Log L(dir);
    const int kThreads = 8, kLines = 100;
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; t++)
        ts.emplace_back([&, t] {
            err e;
            err_clear(&e);
            for (int i = 0; i < kLines; i++) {
                std::string body =
                    "{\"op\":\"AttachPolicy\",\"item\":" + std::to_string(t * 1000 + i) +
                    "}";
                if (jnl_audit(L.j, 1, "intent", body.c_str(), &e) ||
                    jnl_audit_sync(L.j, &e))
                    failures++;
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(0, failures.load());
    unsigned long long n = 0, syncs = 0;
    jnl_audit_stats(L.j, &n, &syncs);
    EXPECT_EQ((unsigned long long)kThreads * kLines, n);
    EXPECT_GE(syncs, 1u);
    EXPECT_LE(syncs, n);
    printf("%llu lines, %llu fdatasyncs (%.1f lines per sync)\n", n, syncs,
           syncs ? (double)n / (double)syncs : 0.0);
    ASSERT_EQ(0, jnl_commit(L.j, &L.e)) << msg(L.e);
    Verdict r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.where() << ": " << r.v.reason;
    EXPECT_EQ(n, r.v.lines);
}

// A line a crash cut short (the process died inside write(2), or a power
// loss before it was synced): verify names it; the next writer cuts it off
// (nothing chained from it) and the chain goes on whole.
TEST(AuditLog, AHalfLineFromACrashIsReportedThenCutOff)
{
    std::string dir = fresh_dir("torn");
    {
        Log L(dir);
        L.write(3);
    }
    {
        std::ofstream f(dir + "/audit.jsonl", std::ios::binary | std::ios::app);
        f << "{\"time\":\"2026-12-03T10:00:00.000Z\",\"event\":\"ca";
    }
    Verdict r = verify(dir);
    EXPECT_EQ(AUD_BROKEN, r.status);
    EXPECT_EQ("audit.jsonl:4", r.where());
    EXPECT_NE(nullptr, strstr(r.v.reason, "cut short")) << r.v.reason;
    {
        Log L(dir);
        L.write(1, 3);
    }
    auto ls = lines(tu::slurp(dir + "/audit.jsonl"));
    ASSERT_EQ(4u, ls.size());
    EXPECT_NE(std::string::npos, ls[3].find("\"item\":3,"));
    EXPECT_EQ(sha256_hex(ls[2]), prev_of(ls[3]));
    r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.where() << ": " << r.v.reason;
    EXPECT_EQ(4u, r.v.lines);
}

// A log an earlier version wrote (no prev) is moved aside when a writer
// first opens it; the chain starts whole and verify says what it left out.
TEST(AuditLog, AnUnchainedLogIsMovedAside)
{
    std::string dir = fresh_dir("legacy");
    ASSERT_EQ(0, mkdir(dir.c_str(), 0700));
    std::vector<std::string> old = {
        "{\"time\":\"2026-11-01T10:00:00.000Z\",\"job\":1,\"intent\":\"CreateThing\"}",
        "{\"time\":\"2026-11-01T10:00:00.001Z\",\"job\":1,\"op\":\"CreateThing\"}"};
    put_lines(dir + "/audit.jsonl", old);
    {
        Log L(dir);
        L.write(2);
    }
    auto aside = names_in(dir, "audit-unchained-");
    ASSERT_EQ(1u, aside.size());
    EXPECT_EQ(old, lines(tu::slurp(dir + "/" + aside[0])));
    auto ls = lines(tu::slurp(dir + "/audit.jsonl"));
    ASSERT_EQ(2u, ls.size());
    EXPECT_EQ(sha256_hex(""), prev_of(ls[0]));
    Verdict r = verify(dir);
    EXPECT_EQ(AUD_INTACT, r.status) << r.where() << ": " << r.v.reason;
    EXPECT_EQ(1u, r.v.unchained);
    EXPECT_EQ(2u, r.v.lines);
}
