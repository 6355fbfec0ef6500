// The engine (engine/engine.h) in-process against the local endpoint
// in-process (sim/sim.h), with several workers and every fault kind on, while
// another thread polls the snapshot and drains the events the way the
// console's UI thread does. Meant for ThreadSanitizer (tag "tsan"): it drives
// the worker pool, the pacer, the journal writer and the snapshot/event queue
// concurrently. Phase 1 (register, policy, deferred Things) then Phase 2
// (activate, Thing with type and attributes, principal, policy, group) on the
// 100 generated certificates; and a job cancelled mid-run, then resumed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

using std::atomic_int; // engine/rate.h names C11's atomic_int

extern "C" {
#include "engine/engine.h"
#include "engine/jobcfg.h"
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

// Starts a job, polls it from this thread (snapshot + events every ms) and
// from a second poller thread; cancels it once cancel_at items are done
// (0: never). Returns what the last snapshot said.
JobRun run_job(const Sim &s, const jobcfg *cfg, const std::string &file,
               const std::string &state, int workers, size_t cancel_at = 0)
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
        while (!stop.load()) {
            eng_snapshot_get(g, &sn);
            other_polls++;
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
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
        if (cancel_at && !cancelled && r.last.done >= cancel_at) {
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

    JobRun b = run_job(s, &c.c, "testdata/generated/certificates_test.txt", state, 8);
    EXPECT_EQ(b.final, ENG_DONE) << b.last.message;
    EXPECT_EQ(b.last.resumed, 1);
    EXPECT_EQ(b.last.already, a.last.done);
    EXPECT_EQ(b.last.done, kItems);
    EXPECT_EQ(b.last.failed, 0u) << b.last.message;
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
