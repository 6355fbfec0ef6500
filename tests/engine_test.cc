// The engine (engine/engine.h) in-process against the local endpoint
// in-process (sim/sim.h), with several workers and every fault kind on, while
// another thread polls the snapshot and drains the events the way the
// console's UI thread does. Meant for ThreadSanitizer (tag "tsan"): it drives
// the worker pool, the pacer, the journal writer and the snapshot/event queue
// concurrently. Phase 1 (register, policy, deferred Things) then Phase 2
// (activate, Thing with type and attributes, principal, policy, group) on the
// 100 generated certificates; and a job cancelled mid-run, then resumed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using std::atomic_int; // engine/rate.h names C11's atomic_int

extern "C" {
#include "engine/engine.h"
#include "engine/jobcfg.h"
#include "engine/journal.h"
#include "engine/pace.h"
#include "iot/client.h"
#include "sim/sim.h"
}

#include "testutil.h"

namespace
{

const char kAkid[] = "AKIDENGINETEST";
const char kSecret[] = "engine-test-secret";
// Every fault kind; about 10% of the requests. Seeded: the faults are the same
// for the same request order (the order itself varies with the threads).
const char kFaults[] = "500:0.02,503:0.02,throttle:0.03,reset:0.015,late:0.015,seed:11";
const size_t kItems = 100; // testdata/generated/certificates_test.txt

std::string tmpdir()
{
    const char *d = getenv("TEST_TMPDIR");
    return d ? d : "/tmp";
}

struct Sim {
    sim *s = nullptr;
    std::string url;
    iot_target t; // where the jobs send, as whom
    explicit Sim(const char *faults, const char *quotas = "unlimited")
    {
        err e;
        err_clear(&e);
        EXPECT_EQ(iot_global_init(&e), 0) << e.msg;
        sim_opts o;
        memset(&o, 0, sizeof o);
        o.listen = "127.0.0.1:0";
        o.quotas = quotas;
        o.faults = faults;
        o.access_key = kAkid;
        o.secret_key = kSecret;
        o.threads = 4;
        int port = sim_start(&s, &o, &e);
        EXPECT_GT(port, 0) << e.msg;
        EXPECT_EQ(sim_seed_samples(s, &e), 0) << e.msg;
        url = "http://127.0.0.1:" + std::to_string(port);
        memset(&t, 0, sizeof t); // borrowed strings: never iot_target_free'd
        t.endpoint_url = const_cast<char *>(url.c_str());
        t.region = const_cast<char *>("us-east-1");
        t.access_key = const_cast<char *>(kAkid);
        t.secret_key = const_cast<char *>(kSecret);
    }
    ~Sim()
    {
        sim_stop(s);
    }
};

// A job configuration: the bundled samples' policy, group and type, and fast
// starting rates so 100 items take seconds even under a sanitizer.
struct Cfg {
    jobcfg c;
    // skip: an operation left to the table (or the learned pace)
    explicit Cfg(const char *skip = nullptr)
    {
        jobcfg_init(&c);
        set("policies", "BasicTestPolicy");
        set("thing-groups", "BasicTestGroup");
        for (const char *op :
             {"RegisterCertificateWithoutCA", "UpdateCertificate", "AttachPolicy",
              "CreateThing", "AttachThingPrincipal", "AddThingToThingGroup"})
            if (!skip || strcmp(op, skip))
                set((std::string("rate.") + op).c_str(), "400");
    }
    ~Cfg()
    {
        jobcfg_free(&c);
    }
    void set(const char *k, const char *v)
    {
        err e;
        err_clear(&e);
        EXPECT_GE(jobcfg_set(&c, k, v, nullptr, 0, &e), 0) << k << ": " << e.msg;
    }
};

struct JobRun {
    eng_snapshot last;
    eng_state final = ENG_ERROR;
    size_t polls = 0, events = 0;
};

// What run_job calls at each poll of a running job; true cancels the job
// (pauses it when g_pause_instead).
using PollFn = std::function<bool(const eng_snapshot &)>;
bool g_pause_instead = false;    // on_poll pauses (an interruption), not cancels
bool g_resume_cancelled = false; // eng_opts.resume_cancelled

// Starts a job, polls it from this thread (snapshot + events every ms) and
// from a second poller thread; cancels it once on_poll says so (empty:
// never). Returns what the last snapshot said.
JobRun run_job(const Sim &s, const jobcfg *cfg, const std::string &file,
               const std::string &state, int workers, const PollFn &on_poll,
               void (*hook)(void *, const char *) = nullptr, void *hook_ctx = nullptr)
{
    JobRun r;
    memset(&r.last, 0, sizeof r.last);
    eng_opts o;
    memset(&o, 0, sizeof o);
    o.file = file.c_str();
    o.cfg = cfg;
    o.target = &s.t;
    o.state_dir = state.c_str();
    o.registry = "engine-test";
    o.workers = workers;
    o.test_hook = hook;
    o.test_hook_ctx = hook_ctx;
    o.resume_cancelled = g_resume_cancelled;
    eng *g = nullptr;
    err e;
    err_clear(&e);
    if (eng_start(&g, &o, &e)) {
        ADD_FAILURE() << "eng_start: " << e.msg;
        return r;
    }
    std::atomic<bool> stop{false};
    std::atomic<size_t> other_polls{0};
    std::thread poller([&] {
        eng_snapshot sn;
        do { // at least once: a rejected job may end before this thread runs
            eng_snapshot_get(g, &sn);
            other_polls++;
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        } while (!stop.load());
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    bool cancelled = false;
    for (;;) {
        eng_snapshot_get(g, &r.last);
        r.polls++;
        eng_event ev[8];
        r.events += eng_events(g, ev, 8);
        if (r.last.state != ENG_VALIDATING && r.last.state != ENG_PREFLIGHT &&
            r.last.state != ENG_RUNNING)
            break;
        if (on_poll && !cancelled && r.last.state == ENG_RUNNING && on_poll(r.last)) {
            if (g_pause_instead)
                eng_pause(g);
            else
                eng_cancel(g);
            cancelled = true;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "the job did not finish in 120 s";
            eng_cancel(g);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    r.final = eng_wait(g);
    stop = true;
    poller.join();
    eng_snapshot_get(g, &r.last);
    eng_event ev[64];
    r.events += eng_events(g, ev, 64);
    eng_free(g);
    EXPECT_GT(other_polls.load(), 0u);
    return r;
}

// The same, cancelled once cancel_at items are done (0: never).
JobRun run_job(const Sim &s, const jobcfg *cfg, const std::string &file,
               const std::string &state, int workers, size_t cancel_at = 0)
{
    PollFn at;
    if (cancel_at)
        at = [cancel_at](const eng_snapshot &sn) { return sn.done >= cancel_at; };
    return run_job(s, cfg, file, state, workers, at);
}

// A device-infos file for Phase 2 from the generated certificates' expected
// fingerprints and names (testdata/expected/generated-expected.tsv).
std::string device_infos()
{
    auto rows = tu::read_tsv("testdata/expected/generated-expected.tsv");
    EXPECT_EQ(rows.size(), kItems);
    std::ostringstream js;
    js << "{\"batch_id\": \"engine-test\", \"devices\": [";
    for (size_t i = 0; i < rows.size(); i++) {
        js << (i ? "," : "") << "{\"certFingerprint\": \"" << rows[i][2]
           << "\", \"deviceId\": \"" << rows[i][1] << "\", \"attributes\": {\"line\": \"L"
           << i % 7 << "\"}}";
    }
    js << "]}";
    return tu::temp_file("engine-test-device-infos.json", js.str());
}

} // namespace

TEST(Engine, Phase1ThenPhase2WithFaults)
{
    Sim s(kFaults);
    std::string state = tmpdir() + "/state-phases";
    mkdir(state.c_str(), 0700);

    Cfg p1; // Phase 1: register INACTIVE, attach the policy, Things deferred
    JobRun r1 = run_job(s, &p1.c, "testdata/generated/certificates_test.txt", state, 6);
    EXPECT_EQ(r1.final, ENG_DONE) << r1.last.message;
    EXPECT_EQ(r1.last.total, kItems);
    EXPECT_EQ(r1.last.done, kItems);
    EXPECT_EQ(r1.last.failed, 0u) << r1.last.message;
    EXPECT_EQ(r1.last.counts[ENG_REGISTERED], kItems);
    EXPECT_EQ(r1.last.counts[ENG_POLICIES], kItems);
    EXPECT_EQ(r1.last.counts[ENG_THINGS], 0u);
    EXPECT_GT(r1.last.retries, 0u) << "the faults were not injected";

    Cfg p2; // Phase 2: activate, Thing with type and attributes, attach all
    p2.set("thing-type", "BasicTestType");
    JobRun r2 = run_job(s, &p2.c, device_infos(), state, 6);
    EXPECT_EQ(r2.final, ENG_DONE) << r2.last.message;
    EXPECT_EQ(r2.last.phase, 2);
    EXPECT_EQ(r2.last.done, kItems);
    EXPECT_EQ(r2.last.failed, 0u) << r2.last.message;
    EXPECT_EQ(r2.last.counts[ENG_ACTIVATED], kItems);
    EXPECT_EQ(r2.last.counts[ENG_THINGS], kItems);
    EXPECT_EQ(r2.last.counts[ENG_PRINCIPALS], kItems);
    EXPECT_EQ(r2.last.counts[ENG_GROUPS], kItems);
    EXPECT_GT(r2.last.retries, 0u);
    unsigned long long served = 0, rejected = 0, faulted = 0;
    sim_counts(s.s, &served, &rejected, &faulted);
    EXPECT_GT(faulted, 0u);
    printf("phase 1: %llu calls, %llu retries; phase 2: %llu calls, %llu retries; "
           "sim: %llu served, %llu faulted\n",
           r1.last.calls, r1.last.retries, r2.last.calls, r2.last.retries, served,
           faulted);
}

namespace
{
std::vector<jnl_item> journal_items(const std::string &state, jnl_job *job);
} // namespace

TEST(Engine, CancelMidRunThenResume)
{
    Sim s(kFaults);
    std::string state = tmpdir() + "/state-cancel";
    mkdir(state.c_str(), 0700);
    Cfg c;
    c.set("thing-deferred", "false"); // one step: register + policy + Thing + group
    // Slow enough that the cancel lands mid-run: 40 registrations/s.
    c.set("rate.RegisterCertificateWithoutCA", "40");
    JobRun a = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8, 20);
    EXPECT_EQ(a.final, ENG_CANCELLED) << a.last.message;
    EXPECT_GE(a.last.done, 20u);
    EXPECT_LT(a.last.done, kItems);
    // every item of the file is in the journal (and so in the report), the
    // ones not reached pending: not only those fed to the workers before the
    // cancel (8 workers, a queue of 32: about 60 of the 100)
    {
        jnl_job job;
        std::vector<jnl_item> items = journal_items(state, &job);
        EXPECT_EQ(items.size(), kItems);
        EXPECT_EQ(job.total, kItems);
        EXPECT_EQ(job.status, JOB_CANCELLED);
        size_t pending = 0;
        for (const jnl_item &it : items)
            pending += it.status == JNL_PENDING;
        EXPECT_EQ(pending, kItems - a.last.done);
    }

    // the operator's cancel is not undone by running the same file again
    JobRun r = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8);
    EXPECT_EQ(r.final, ENG_REJECTED) << r.last.message;
    EXPECT_EQ(r.last.cancelled_job, 1);
    EXPECT_EQ(r.last.calls, 0u);
    EXPECT_NE(std::string(r.last.message).find("was cancelled by the operator"),
              std::string::npos)
        << r.last.message;

    // an explicit resume goes on with it
    g_resume_cancelled = true;
    JobRun b = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8);
    g_resume_cancelled = false;
    EXPECT_EQ(b.final, ENG_DONE) << b.last.message;
    EXPECT_EQ(b.last.resumed, 1);
    EXPECT_EQ(b.last.already, a.last.done);
    EXPECT_EQ(b.last.done, kItems);
    EXPECT_EQ(b.last.failed, 0u) << b.last.message;
}

TEST(Engine, PauseThenTheSameJobResumes)
{
    Sim s("");
    std::string state = tmpdir() + "/state-pause";
    Cfg c;
    c.set("rate.RegisterCertificateWithoutCA", "40");
    g_pause_instead = true;
    JobRun a = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8, 20);
    g_pause_instead = false;
    EXPECT_EQ(a.final, ENG_PAUSED) << a.last.message;
    EXPECT_LT(a.last.done, kItems);
    EXPECT_EQ(a.last.failed, 0u);
    JobRun b = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8);
    EXPECT_EQ(b.final, ENG_DONE) << b.last.message;
    EXPECT_EQ(b.last.resumed, 1);
    EXPECT_EQ(b.last.already, a.last.done);
    EXPECT_EQ(b.last.done, kItems);
}

namespace
{
// The status of certificate id, read back from the sim.
std::string cert_status(const Sim &s, const std::string &id)
{
    iot_config cc;
    memset(&cc, 0, sizeof cc);
    cc.target = &s.t;
    iot_client *c = nullptr;
    err e;
    err_clear(&e);
    if (iot_client_new(&c, &cc, &e))
        return std::string("client: ") + e.msg;
    iot_cert_desc d;
    memset(&d, 0, sizeof d);
    iot_result res;
    std::string st = iot_describe_certificate(c, id.c_str(), 0, &d, &res) == IOT_OK
                         ? std::string(d.status ? d.status : "")
                         : "describe failed";
    iot_cert_desc_free(&d);
    iot_client_free(c);
    return st;
}

void set_status(const Sim &s, const std::string &id, const char *st)
{
    iot_config cc;
    memset(&cc, 0, sizeof cc);
    cc.target = &s.t;
    iot_client *c = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, iot_client_new(&c, &cc, &e)) << e.msg;
    iot_result res;
    EXPECT_EQ(IOT_OK, iot_update_certificate(c, id.c_str(), st, &res));
    iot_client_free(c);
}
} // namespace

// Certificates already registered INACTIVE, provisioned again with
// cert-active true: each ends ACTIVE (Register's 409 counts as done, the
// activation comes last); a REVOKED one is that item's failure, never
// re-activated; the others are done.
TEST(Engine, CertActiveActivatesExistingCertificates)
{
    Sim s("");
    std::string state = tmpdir() + "/state-active";
    mkdir(state.c_str(), 0700);
    auto rows = tu::read_tsv("testdata/expected/generated-expected.tsv");
    ASSERT_EQ(rows.size(), kItems);

    Cfg p1; // registered INACTIVE
    JobRun r1 = run_job(s, &p1.c, "testdata/generated/certificates_test.txt", state, 4);
    ASSERT_EQ(r1.final, ENG_DONE) << r1.last.message;
    EXPECT_EQ("INACTIVE", cert_status(s, rows[1][2]));
    set_status(s, rows[0][2], "REVOKED");

    Cfg act;
    act.set("cert-active", "true");
    JobRun r2 = run_job(s, &act.c, "testdata/generated/certificates_test.txt", state, 4);
    EXPECT_EQ(r2.last.failed, 1u) << r2.last.message;
    EXPECT_EQ(r2.last.done, kItems - 1);
    EXPECT_EQ(r2.last.counts[ENG_ACTIVATED], kItems - 1);
    EXPECT_EQ("ACTIVE", cert_status(s, rows[1][2]));
    EXPECT_EQ("ACTIVE", cert_status(s, rows[kItems - 1][2]));
    EXPECT_EQ("REVOKED", cert_status(s, rows[0][2]));
}

// Phase 2 activates last: an item whose CreateThing is refused (a thing of
// that name exists with another type) leaves its certificate INACTIVE.
TEST(Engine, Phase2FailedItemLeavesCertificateInactive)
{
    Sim s("");
    std::string state = tmpdir() + "/state-last";
    mkdir(state.c_str(), 0700);
    auto rows = tu::read_tsv("testdata/expected/generated-expected.tsv");
    ASSERT_EQ(rows.size(), kItems);
    Cfg p1;
    JobRun r1 = run_job(s, &p1.c, "testdata/generated/certificates_test.txt", state, 4);
    ASSERT_EQ(r1.final, ENG_DONE) << r1.last.message;

    // a thing named like item 0, of no type, and thing types differ
    {
        iot_config cc;
        memset(&cc, 0, sizeof cc);
        cc.target = &s.t;
        iot_client *c = nullptr;
        err e;
        err_clear(&e);
        ASSERT_EQ(0, iot_client_new(&c, &cc, &e)) << e.msg;
        iot_create_thing_req req;
        memset(&req, 0, sizeof req);
        req.thing_name = rows[0][1].c_str();
        iot_thing_ref ref;
        memset(&ref, 0, sizeof ref);
        iot_result res;
        EXPECT_EQ(IOT_OK, iot_create_thing(c, &req, &ref, &res));
        iot_thing_ref_free(&ref);
        iot_client_free(c);
    }
    Cfg p2;
    p2.set("thing-type", "BasicTestType");
    JobRun r2 = run_job(s, &p2.c, device_infos(), state, 4);
    EXPECT_EQ(r2.last.failed, 1u) << r2.last.message;
    EXPECT_EQ(r2.last.done, kItems - 1);
    EXPECT_EQ("INACTIVE", cert_status(s, rows[0][2]));
    EXPECT_EQ("ACTIVE", cert_status(s, rows[1][2]));
}

// ---- the input changes while its job runs (issue 12 item 8) ----
namespace
{
// Rewrites a file in place (same inode, as an editor or a slow writer would)
// when the engine reaches `point`.
struct Rewrite {
    std::string path, point, bytes;
    int fired = 0;
    static void hook(void *ctx, const char *point)
    {
        Rewrite *r = static_cast<Rewrite *>(ctx);
        if (r->point != point)
            return;
        std::ofstream f(r->path, std::ios::binary | std::ios::trunc);
        f << r->bytes;
        f.close();
        r->fired++;
    }
};

std::vector<std::string> lines_of(const std::string &bytes)
{
    std::vector<std::string> v;
    std::istringstream in(bytes);
    std::string l;
    while (std::getline(in, l))
        v.push_back(l);
    return v;
}

// The Generated fixture's lines in reverse order, the first of them (the
// fixture's last certificate) replaced by a line that is not a certificate:
// every index holds another item, and one item is invalid.
std::string reversed_with_invalid(const std::string &orig)
{
    auto v = lines_of(orig);
    std::string out = "bm90IGEgY2VydGlmaWNhdGU=\n";
    for (size_t i = v.size() - 1; i-- > 0;)
        out += v[i] + "\n";
    return out;
}

std::string sha256_hex(const std::string &bytes)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
    std::string hex;
    char two[3];
    for (unsigned int i = 0; i < n; i++) {
        snprintf(two, sizeof two, "%02x", md[i]);
        hex += two;
    }
    return hex;
}

// The names in a directory ("." and ".." aside); empty when it is missing.
std::vector<std::string> names_in(const std::string &dir)
{
    std::vector<std::string> v;
    DIR *d = opendir(dir.c_str());
    if (!d)
        return v;
    while (struct dirent *de = readdir(d))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            v.push_back(de->d_name);
    closedir(d);
    return v;
}

struct Journal {
    journal *j = nullptr;
    explicit Journal(const std::string &state)
    {
        err e;
        err_clear(&e);
        EXPECT_EQ(0, jnl_open_existing(&j, state.c_str(), &e)) << e.msg;
    }
    ~Journal()
    {
        jnl_close(j);
    }
    std::vector<jnl_job> jobs()
    {
        std::vector<jnl_job> v(16);
        size_t n = v.size();
        err e;
        err_clear(&e);
        EXPECT_EQ(0, jnl_job_list(j, v.data(), &n, &e)) << e.msg;
        v.resize(n);
        return v;
    }
    std::vector<jnl_item> items(long long job)
    {
        std::vector<jnl_item> v(kItems + 10);
        size_t n = v.size();
        err e;
        err_clear(&e);
        EXPECT_EQ(0, jnl_item_list(j, job, JNL_FILTER_ALL, 0, v.data(), &n, &e)) << e.msg;
        v.resize(n);
        return v;
    }
};
} // namespace

// The file is rewritten after validation, before anything is sent: the job
// is refused with a message naming the file, no job is recorded and nothing
// is registered (neither the validated content nor the new one).
TEST(Engine, InputChangedAfterValidationIsRefused)
{
    Sim s("");
    std::string state = tmpdir() + "/state-changed-validated";
    mkdir(state.c_str(), 0700);
    std::string orig = tu::slurp("testdata/generated/certificates_test.txt");
    std::string file = tu::temp_file("changed-validated.txt", orig);
    Rewrite rw{file, "validated", reversed_with_invalid(orig)};
    Cfg c;
    JobRun r = run_job(s, &c.c, file, state, 4, PollFn(), Rewrite::hook, &rw);
    EXPECT_EQ(rw.fired, 1);
    EXPECT_EQ(r.final, ENG_REJECTED) << r.last.message;
    EXPECT_NE(std::string(r.last.message).find(file), std::string::npos)
        << r.last.message;
    EXPECT_NE(std::string(r.last.message).find("changed"), std::string::npos)
        << r.last.message;
    EXPECT_EQ(r.last.job_id, 0);
    EXPECT_EQ(r.last.done, 0u);
    auto rows = tu::read_tsv("testdata/expected/generated-expected.tsv");
    ASSERT_EQ(rows.size(), kItems);
    for (const auto &row : rows)
        EXPECT_EQ("describe failed", cert_status(s, row[2])) << row[1] << " was sent";
}

// The file is rewritten once the job is in the journal, just before pass 2
// reads it: the job sends exactly what it validated and hashed (every index
// holds the original item, nothing skipped, the job's SHA-256 is the
// original's), never the new content nor a mix.
TEST(Engine, InputChangedBeforeSendingSendsWhatWasValidated)
{
    Sim s("");
    std::string state = tmpdir() + "/state-changed-sending";
    mkdir(state.c_str(), 0700);
    std::string orig = tu::slurp("testdata/generated/certificates_test.txt");
    std::string file = tu::temp_file("changed-sending.txt", orig);
    Rewrite rw{file, "sending", reversed_with_invalid(orig)};
    Cfg c;
    JobRun r = run_job(s, &c.c, file, state, 4, PollFn(), Rewrite::hook, &rw);
    EXPECT_EQ(rw.fired, 1);
    EXPECT_EQ(r.final, ENG_DONE) << r.last.message;
    EXPECT_EQ(r.last.done, kItems);
    EXPECT_EQ(r.last.skipped, 0u);
    EXPECT_EQ(r.last.failed, 0u) << r.last.message;

    auto rows = tu::read_tsv("testdata/expected/generated-expected.tsv");
    ASSERT_EQ(rows.size(), kItems);
    Journal j(state);
    auto jobs = j.jobs();
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(sha256_hex(orig), jobs[0].file_sha256);
    auto items = j.items(jobs[0].id);
    ASSERT_EQ(items.size(), kItems);
    for (size_t i = 0; i < kItems; i++) {
        EXPECT_EQ(items[i].idx, i);
        EXPECT_EQ(rows[i][2], items[i].fingerprint) << "item " << i;
        EXPECT_EQ(JNL_DONE, items[i].status) << "item " << i << ": " << items[i].error;
    }
    for (const auto &row : rows)
        EXPECT_EQ("INACTIVE", cert_status(s, row[2])) << row[1];
    // the job's copy of its input is gone with the job
    EXPECT_EQ(names_in(state + "/inputs"), std::vector<std::string>{});
}

// Before the first call, the journal already holds every item of the file,
// pending: another process's `status`, the console's Jobs list and a report
// count the whole job from its start (they showed the items fed to the
// workers so far: 227 of a 50,000-item file).
namespace
{
struct AtSending {
    std::string state;
    size_t total = 0, pending = 0;
    int fired = 0;
    static void hook(void *ctx, const char *point)
    {
        AtSending *a = static_cast<AtSending *>(ctx);
        if (strcmp(point, "sending"))
            return;
        a->fired++;
        jnl_job job;
        std::vector<jnl_item> items = journal_items(a->state, &job);
        a->total = job.total;
        for (const jnl_item &it : items)
            a->pending += it.status == JNL_PENDING;
    }
};
} // namespace

TEST(Engine, EveryItemIsInTheJournalBeforeTheFirstCall)
{
    Sim s("");
    std::string state = tmpdir() + "/state-staged";
    mkdir(state.c_str(), 0700);
    AtSending a{state};
    Cfg c;
    JobRun r = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 2,
                       PollFn(), AtSending::hook, &a);
    EXPECT_EQ(r.final, ENG_DONE) << r.last.message;
    EXPECT_EQ(a.fired, 1);
    EXPECT_EQ(a.total, kItems);
    EXPECT_EQ(a.pending, kItems);
}

// The file grows while its copy is taken (a writer still at work): refused,
// naming the file, flagged as a changed input; no job is recorded, and the
// copy is removed.
TEST(Engine, InputChangedWhileCopiedIsRefused)
{
    Sim s("");
    std::string state = tmpdir() + "/state-changed-copied";
    mkdir(state.c_str(), 0700);
    std::string orig = tu::slurp("testdata/generated/certificates_test.txt");
    std::string file = tu::temp_file("changed-copied.txt", orig);
    Rewrite rw{file, "copied", orig + lines_of(orig)[0] + "\n"};
    Cfg c;
    JobRun r = run_job(s, &c.c, file, state, 4, PollFn(), Rewrite::hook, &rw);
    EXPECT_EQ(rw.fired, 1);
    EXPECT_EQ(r.final, ENG_REJECTED) << r.last.message;
    EXPECT_EQ(r.last.input_changed, 1);
    EXPECT_EQ(file + ": changed while its job was reading it: nothing was sent; "
                     "provision it again once it is complete",
              std::string(r.last.message));
    EXPECT_EQ(r.last.job_id, 0);
    EXPECT_EQ(names_in(state + "/inputs"), std::vector<std::string>{});
}

// A whole-file rejection found in the job's copy names the file the caller
// gave, never the copy.
TEST(Engine, RejectionNamesTheFileNotItsCopy)
{
    Sim s("");
    std::string state = tmpdir() + "/state-rejected-name";
    mkdir(state.c_str(), 0700);
    std::string file = tu::temp_file("not-json-devices.json", "{\"batch_id\": \"b\", [");
    Cfg c;
    JobRun r = run_job(s, &c.c, file, state, 2);
    EXPECT_EQ(r.final, ENG_REJECTED) << r.last.message;
    EXPECT_EQ(0u, std::string(r.last.message).find(file + ":")) << r.last.message;
    EXPECT_EQ(std::string::npos, std::string(r.last.message).find("/inputs/"))
        << r.last.message;
    EXPECT_EQ(names_in(state + "/inputs"), std::vector<std::string>{});
}

// Copies left behind by a killed process (nobody holds their lock) are
// removed when the next job takes its copy; a copy a live job holds is not.
TEST(Engine, LeftoverCopiesAreRemoved)
{
    Sim s("");
    std::string state = tmpdir() + "/state-leftovers";
    mkdir(state.c_str(), 0700);
    mkdir((state + "/inputs").c_str(), 0700);
    std::string dead = state + "/inputs/" + std::string(64, 'a') + "-dead00-x.txt";
    std::string live = state + "/inputs/" + std::string(64, 'b') + "-live00-y.txt";
    {
        std::ofstream(dead) << "left by a kill -9\n";
    }
    {
        std::ofstream(live) << "held by a running job\n";
    }
    int fd = open(live.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(0, flock(fd, LOCK_SH));
    Cfg c;
    JobRun r = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 4);
    EXPECT_EQ(r.final, ENG_DONE) << r.last.message;
    close(fd);
    EXPECT_EQ(names_in(state + "/inputs"),
              std::vector<std::string>{std::string(64, 'b') + "-live00-y.txt"});
}

namespace
{
// Every item row of the newest job in the journal of state.
std::vector<jnl_item> journal_items(const std::string &state, jnl_job *job)
{
    std::vector<jnl_item> v;
    journal *j = nullptr;
    err e;
    err_clear(&e);
    if (jnl_open_existing(&j, state.c_str(), &e)) {
        ADD_FAILURE() << e.msg;
        return v;
    }
    jnl_job jobs[8];
    size_t n = 8;
    EXPECT_EQ(0, jnl_job_list(j, jobs, &n, &e)) << e.msg;
    if (n) {
        if (job)
            *job = jobs[0];
        v.resize(kItems + 1);
        size_t got = v.size();
        EXPECT_EQ(0, jnl_item_list(j, jobs[0].id, JNL_FILTER_ALL, 0, v.data(), &got, &e))
            << e.msg;
        v.resize(got);
    }
    jnl_close(j);
    return v;
}

off_t file_size(const std::string &path)
{
    struct stat sb;
    return stat(path.c_str(), &sb) == 0 ? sb.st_size : 0;
}
} // namespace

// Issue 12: an item's attempts count its calls across runs. A job stopped
// while its items wait for their AttachPolicy (registered: step 1 recorded,
// 1 attempt) is resumed; every item then has one attempt per step at least,
// the first run's Register included.
TEST(Engine, ResumeKeepsTheAttempts)
{
    Sim s("");
    std::string state = tmpdir() + "/state-attempts";
    mkdir(state.c_str(), 0700);
    Cfg c;                           // register, then attach the policy
    c.set("rate.AttachPolicy", "4"); // registered items queue up at the policy
    g_pause_instead = true;
    JobRun a =
        run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8,
                [](const eng_snapshot &sn) { return sn.counts[ENG_REGISTERED] >= 12; });
    g_pause_instead = false;
    EXPECT_EQ(a.final, ENG_PAUSED) << a.last.message;
    size_t waiting = 0;
    for (const jnl_item &it : journal_items(state, nullptr))
        if (it.status == JNL_PENDING && it.step == 1) {
            waiting++;
            EXPECT_GE(it.attempts, 1) << "item " << it.idx;
        }
    ASSERT_GT(waiting, 0u) << "no item was stopped between its two steps";

    c.set("rate.AttachPolicy", "400");
    JobRun b = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8);
    ASSERT_EQ(b.final, ENG_DONE) << b.last.message;
    EXPECT_EQ(b.last.resumed, 1);
    auto items = journal_items(state, nullptr);
    ASSERT_EQ(items.size(), kItems);
    size_t short_counted = 0;
    for (const jnl_item &it : items) {
        EXPECT_EQ(it.status, JNL_DONE) << "item " << it.idx;
        if (it.attempts < 2)
            short_counted++;
    }
    EXPECT_EQ(short_counted, 0u) << "items whose attempts miss the first run's Register ("
                                 << waiting << " were resumed at their second step)";
}

// Issue 12: a journal write that fails (here every file the process writes is
// capped at what the journal's files hold mid-job: RLIMIT_FSIZE, as a full
// disk) stops the job at once with its items pending: the job ends in error,
// naming the file and the OS error, and counts as done only what the journal
// recorded. The same job then resumes and finishes, each item done once.
// With the audit log made the biggest file beforehand, the audit log is the
// write that fails (a worker's intent line or the journal thread's answers).
void full_disk_then_resume(const std::string &name, bool audit_first)
{
    Sim s("");
    std::string state = tmpdir() + "/" + name;
    mkdir(state.c_str(), 0700);
    if (audit_first) { // an earlier job's lines: 1 MB, more than the database
        journal *j = nullptr;
        err e;
        err_clear(&e);
        ASSERT_EQ(0, jnl_open(&j, state.c_str(), &e)) << e.msg;
        std::string note = "{\"note\":\"" + std::string(40, 'x') + "\"}";
        for (int i = 0; i < 4000; i++)
            ASSERT_EQ(0, jnl_audit(j, 0, "item", note.c_str(), &e)) << e.msg;
        jnl_close(j);
    }
    Cfg c;
    c.set("rate.RegisterCertificateWithoutCA", "40"); // about 2.5 s for the file
    struct rlimit old;
    ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &old));
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN); // EFBIG, not a signal
    bool capped = false;
    JobRun a = run_job(
        s, &c.c, "testdata/generated/certificates_test.txt", state, 4,
        [&](const eng_snapshot &sn) {
            if (!capped && sn.counts[ENG_REGISTERED] >= 10) {
                off_t big = 0;
                for (const char *f : {"/journal.db", "/journal.db-wal", "/audit.jsonl"})
                    big = std::max(big, file_size(state + f));
                struct rlimit cap = old;
                cap.rlim_cur = (rlim_t)big + 1;
                EXPECT_EQ(0, setrlimit(RLIMIT_FSIZE, &cap));
                capped = true;
            }
            return false;
        });
    ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &old));
    signal(SIGXFSZ, old_xfsz);
    ASSERT_TRUE(capped) << a.last.message;

    EXPECT_EQ(a.final, ENG_ERROR) << a.last.message;
    std::string m = a.last.message;
    printf("stopped after %zu items: %s\n", a.last.done, m.c_str());
    if (audit_first)
        EXPECT_EQ(0u,
                  m.rfind("journal " + state +
                              "/audit.jsonl: cannot write the audit log: File too large",
                          0))
            << m;
    else
        EXPECT_EQ(0u,
                  m.rfind("journal " + state +
                              "/journal.db: database or disk is full (File too large)",
                          0))
            << m;
    EXPECT_NE(std::string::npos,
              m.find("; the job stopped with its items pending: free space and run the "
                     "same command again"))
        << m;
    jnl_job job;
    memset(&job, 0, sizeof job);
    auto items = journal_items(state, &job);
    EXPECT_EQ(job.status, JOB_RUNNING) << "interrupted, resumable";
    EXPECT_EQ(job.failed, 0u);
    EXPECT_LT(job.done, kItems) << "the job went on after its journal failed";
    size_t registered = 0; // items whose Register is recorded
    for (const jnl_item &it : items)
        registered += it.step >= 1;
    EXPECT_EQ(a.last.done, job.done) << "counted as done, not recorded";
    EXPECT_EQ(a.last.counts[ENG_REGISTERED], registered) << "counted, not recorded";
    EXPECT_EQ(a.last.counts[ENG_POLICIES], job.done) << "counted, not recorded";

    JobRun b = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 4);
    EXPECT_EQ(b.final, ENG_DONE) << b.last.message;
    EXPECT_EQ(b.last.resumed, 1);
    EXPECT_EQ(b.last.already, job.done);
    EXPECT_EQ(b.last.done, kItems);
    EXPECT_EQ(b.last.counts[ENG_REGISTERED], kItems - registered) << "done twice";
    EXPECT_EQ(b.last.counts[ENG_POLICIES], kItems - job.done) << "done twice";
    items = journal_items(state, &job);
    ASSERT_EQ(items.size(), kItems);
    EXPECT_EQ(job.done, kItems);
    EXPECT_EQ(job.status, JOB_DONE);
    // the audit log: whole lines only (the part of a line the limit let
    // through was cut off again), one chain through the failure and the resume
    std::ifstream in(state + "/audit.jsonl");
    std::string line;
    size_t bad = 0, outcomes = 0;
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        if (line.front() != '{' || line.back() != '}')
            bad++;
        else if (line.find("\"outcome\":\"done\"") != std::string::npos)
            outcomes++;
    }
    EXPECT_EQ(bad, 0u) << "lines cut short";
    EXPECT_GE(outcomes, kItems);
    aud_verdict v;
    aud_head head;
    EXPECT_EQ(AUD_INTACT, jnl_audit_verify(state.c_str(), &v, &head))
        << v.file << ":" << v.line << ": " << v.reason;
    EXPECT_TRUE(v.head_checked);
}

TEST(Engine, JournalWriteFailureStopsTheJob)
{
    full_disk_then_resume("state-full", false);
}

TEST(Engine, AuditWriteFailureStopsTheJob)
{
    full_disk_then_resume("state-full-audit", true);
}

namespace
{
const rate_stats *op_stats(const eng_snapshot &s, const char *op)
{
    for (size_t i = 0; i < s.n_ops; i++)
        if (s.ops[i].op && !strcmp(s.ops[i].op, op))
            return &s.ops[i];
    return nullptr;
}

// The key run_job's jobs have in the pace file: the registry name it passes,
// the sim's account, the target's region.
const pace_key kJobKey = {"engine-test", "123456789012", "us-east-1"};
} // namespace

// A job starts from the pace an earlier job learned on the same endpoint,
// account and region (engine/pace.h) instead of the table: here 80
// registrations/s where the table says 10. Only where the job's [rates] is
// silent, only faster than the table, and never another endpoint's.
TEST(Engine, StartsFromTheLearnedPace)
{
    Sim s("");
    std::string state = tmpdir() + "/state-learned";
    mkdir(state.c_str(), 0700);
    pace_rate learned[3];
    memset(learned, 0, sizeof learned);
    snprintf(learned[0].op, sizeof learned[0].op, "RegisterCertificateWithoutCA");
    learned[0].tps = 80;
    learned[0].found = 1;
    snprintf(learned[1].op, sizeof learned[1].op, "AttachPolicy"); // [rates] says 400
    learned[1].tps = 900;
    learned[1].found = 1;
    err e;
    err_clear(&e);
    long long now = (long long)time(nullptr);
    ASSERT_EQ(0, pace_store(state.c_str(), &kJobKey, learned, 2, now, &e)) << e.msg;
    pace_key elsewhere = {"another endpoint", "123456789012", "us-east-1"};
    learned[2] = learned[0];
    learned[2].tps = 95;
    ASSERT_EQ(0, pace_store(state.c_str(), &elsewhere, &learned[2], 1, now, &e)) << e.msg;

    Cfg c("RegisterCertificateWithoutCA");
    JobRun r = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 4);
    ASSERT_EQ(r.final, ENG_DONE) << r.last.message;
    const rate_stats *reg = op_stats(r.last, "RegisterCertificateWithoutCA");
    ASSERT_NE(reg, nullptr);
    EXPECT_EQ(reg->seeded, 1);
    EXPECT_DOUBLE_EQ(reg->start_tps, 80);
    const rate_stats *pol = op_stats(r.last, "AttachPolicy");
    ASSERT_NE(pol, nullptr);
    EXPECT_EQ(pol->seeded, 0); // the job's [rates] wins
    EXPECT_DOUBLE_EQ(pol->start_tps, 400);
    // the ceiling shown is the learned one, not the table's 10 items/s
    EXPECT_DOUBLE_EQ(r.last.ceiling, 80);

    // a learned rate slower than the table is not used
    std::string state2 = tmpdir() + "/state-learned-slow";
    mkdir(state2.c_str(), 0700);
    learned[0].tps = 4;
    ASSERT_EQ(0, pace_store(state2.c_str(), &kJobKey, learned, 1, now, &e)) << e.msg;
    Cfg c2("RegisterCertificateWithoutCA");
    JobRun r2 = run_job(s, &c2.c, "testdata/generated/certificates_test.txt", state2, 4);
    ASSERT_EQ(r2.final, ENG_DONE) << r2.last.message;
    reg = op_stats(r2.last, "RegisterCertificateWithoutCA");
    ASSERT_NE(reg, nullptr);
    EXPECT_EQ(reg->seeded, 0);
    EXPECT_DOUBLE_EQ(reg->start_tps, 10);
    EXPECT_DOUBLE_EQ(r2.last.ceiling, 10);
}

// A job records what it learned for the next one: against a quota of 15
// registrations/s (the table says 10), the rate the account sustained.
TEST(Engine, RecordsTheLearnedPace)
{
    Sim s("", "aws-default*1.5");
    std::string state = tmpdir() + "/state-learns";
    mkdir(state.c_str(), 0700);
    Cfg c("RegisterCertificateWithoutCA");
    JobRun r = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8);
    ASSERT_EQ(r.final, ENG_DONE) << r.last.message;
    EXPECT_GT(r.last.throttles, 0u) << "the quota was never reached";
    pace_rate got[8];
    size_t n = pace_load(state.c_str(), &kJobKey, (long long)time(nullptr), got, 8);
    const pace_rate *reg = nullptr;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(got[i].op, "RegisterCertificateWithoutCA"))
            reg = &got[i];
    ASSERT_NE(reg, nullptr) << "nothing learned";
    EXPECT_EQ(reg->found, 1);
    EXPECT_GE(reg->tps, 12);
    EXPECT_LE(reg->tps, 16.5);
    printf("learned %.2f registrations/s against a quota of 15\n", reg->tps);
}
