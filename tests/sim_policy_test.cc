// The sim's policies: per-operation quotas (token buckets) and fault injection
// (sim/quota.h, sim/fault.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "sim/fault.h"
#include "sim/quota.h"
#include "tests/testutil.h"

namespace
{

const unsigned long long kSec = 1000000000ull;
const unsigned long long kMs = 1000000ull;

// A clock the test moves by hand; safe to read from many threads.
struct FakeClock {
    std::atomic<unsigned long long> ns{0};
    static unsigned long long read(void *ctx)
    {
        return static_cast<FakeClock *>(ctx)->ns.load();
    }
};

struct QuotaPtr {
    quota *q = nullptr;
    ~QuotaPtr()
    {
        quota_free(q);
    }
};

struct FaultPtr {
    fault *f = nullptr;
    ~FaultPtr()
    {
        fault_free(f);
    }
};

std::string format(const err &e)
{
    char buf[700];
    return err_format(&e, buf, sizeof buf);
}

// Makes a quota from a JSON file with the given text, or fails the test.
quota *quota_from_json(const std::string &name, const std::string &json)
{
    std::string path = tu::temp_file(name, json);
    quota *q = nullptr;
    err e;
    err_clear(&e);
    EXPECT_EQ(0, quota_new(&q, path.c_str(), &e)) << format(e);
    return q;
}

// The quota error for a JSON file with the given text.
err quota_file_error(const std::string &name, const std::string &json)
{
    std::string path = tu::temp_file(name, json);
    quota *q = reinterpret_cast<quota *>(1);
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, quota_new(&q, path.c_str(), &e)) << json;
    EXPECT_EQ(nullptr, q);
    EXPECT_EQ(path, std::string(e.where));
    EXPECT_EQ(nullptr, strchr(e.msg, '\n'));
    return e;
}

// --- quota: specs --------------------------------------------------------------

TEST(Quota, AwsDefaultTable)
{
    QuotaPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, quota_new(&p.q, "aws-default", &e)) << format(e);
    EXPECT_STREQ("aws-default", quota_spec(p.q));
    // DESIGN.md §6.
    const std::pair<const char *, double> design[] = {
        {"RegisterCertificateWithoutCA", 10},
        {"UpdateCertificate", 10},
        {"DescribeCertificate", 10},
        {"CreateThing", 100},
        {"DescribeThing", 350},
        {"AttachThingPrincipal", 100},
        {"AttachPolicy", 15},
        {"AddThingToThingGroup", 100},
        {"DescribeThingType", 100},
        {"DescribeThingGroup", 100},
        {"GetPolicy", 10},
        {"ListCertificates", 10},
        // Service Quotas (iotcore) and the two documented guesses.
        {"ListThingPrincipals", 10},
        {"ListThingGroupsForThing", 100},
        {"CreateThingGroup", 25},
        {"CreateThingType", 15},
        {"ListThings", 10},
        {"CreatePolicy", 10},
        {"ListAttachedPolicies", 10},
        // served by the sim only (issue 14)
        {"ListThingsInThingGroup", 25},
        {"ListPrincipalThings", 10},
    };
    EXPECT_EQ(sizeof design / sizeof design[0], quota_op_count());
    for (auto &d : design) {
        EXPECT_EQ(d.second, quota_rate(p.q, d.first)) << d.first;
        EXPECT_EQ(d.second, quota_burst(p.q, d.first)) << d.first;
        EXPECT_EQ(d.second, quota_aws_default(d.first)) << d.first;
        EXPECT_GE(quota_op_index(d.first), 0) << d.first;
    }
    for (size_t i = 0; i < quota_op_count(); i++)
        EXPECT_EQ(static_cast<int>(i), quota_op_index(quota_op_name(i)));
    EXPECT_EQ(nullptr, quota_op_name(quota_op_count()));
    // Operations outside the table: unlimited without a file "default".
    EXPECT_EQ(QUOTA_UNLIMITED, quota_rate(p.q, "DeleteThing"));
    EXPECT_EQ(-1, quota_op_index("creatething"));
    EXPECT_EQ(-1, quota_op_index(nullptr));
    for (int i = 0; i < 10000; i++)
        ASSERT_EQ(0, quota_take(p.q, "DeleteThing"));
}

TEST(Quota, UnlimitedNeverThrottles)
{
    QuotaPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, quota_new(&p.q, "unlimited", &e)) << format(e);
    FakeClock clock;
    quota_set_clock(p.q, FakeClock::read, &clock);
    for (size_t i = 0; i < quota_op_count(); i++) {
        const char *op = quota_op_name(i);
        EXPECT_EQ(QUOTA_UNLIMITED, quota_rate(p.q, op));
        for (int n = 0; n < 20000; n++)
            ASSERT_EQ(0, quota_take(p.q, op)) << op;
        unsigned long long allowed = 0, throttled = 1;
        quota_stats(p.q, op, &allowed, &throttled);
        EXPECT_EQ(20000u, allowed);
        EXPECT_EQ(0u, throttled);
    }
    // No quota at all allows everything too.
    EXPECT_EQ(0, quota_take(nullptr, "CreateThing"));
    EXPECT_EQ(QUOTA_UNLIMITED, quota_rate(nullptr, "CreateThing"));
}

TEST(Quota, FileWithDefault)
{
    QuotaPtr p;
    p.q = quota_from_json("q1.json", "{\"CreateThing\": 50, \"default\": 20}\n");
    ASSERT_NE(nullptr, p.q);
    EXPECT_EQ(50, quota_rate(p.q, "CreateThing"));
    EXPECT_EQ(20, quota_rate(p.q, "AttachPolicy"));
    EXPECT_EQ(20, quota_rate(p.q, "DescribeThing"));
    // Operations outside the table share one bucket at the default rate.
    EXPECT_EQ(20, quota_rate(p.q, "DeleteThing"));
    FakeClock clock;
    quota_set_clock(p.q, FakeClock::read, &clock);
    int allowed = 0;
    for (int i = 0; i < 30; i++)
        allowed += quota_take(p.q, i % 2 ? "DeleteThing" : "DetachPolicy") == 0;
    EXPECT_EQ(20, allowed);
}

TEST(Quota, FileWithoutDefaultKeepsAwsDefaults)
{
    QuotaPtr p;
    p.q = quota_from_json("q2.json", "{\n  \"CreateThing\": 5,\n"
                                     "  \"AttachPolicy\": \"unlimited\",\n"
                                     "  \"DescribeThing\": 0.5\n}\n");
    ASSERT_NE(nullptr, p.q);
    EXPECT_EQ(5, quota_rate(p.q, "CreateThing"));
    EXPECT_EQ(QUOTA_UNLIMITED, quota_rate(p.q, "AttachPolicy"));
    EXPECT_EQ(0, quota_burst(p.q, "AttachPolicy"));
    EXPECT_EQ(0.5, quota_rate(p.q, "DescribeThing"));
    EXPECT_EQ(1, quota_burst(p.q, "DescribeThing"));
    EXPECT_EQ(10, quota_rate(p.q, "RegisterCertificateWithoutCA"));
    EXPECT_EQ(QUOTA_UNLIMITED, quota_rate(p.q, "DeleteThing"));

    // 0.5 calls/s: one call, then the next after 2 s.
    FakeClock clock;
    clock.ns = 7 * kSec;
    quota_set_clock(p.q, FakeClock::read, &clock);
    EXPECT_EQ(0, quota_take(p.q, "DescribeThing"));
    EXPECT_EQ(1, quota_take(p.q, "DescribeThing"));
    clock.ns += kSec;
    EXPECT_EQ(1, quota_take(p.q, "DescribeThing"));
    clock.ns += kSec;
    EXPECT_EQ(0, quota_take(p.q, "DescribeThing"));
    EXPECT_EQ(1, quota_take(p.q, "DescribeThing"));
}

TEST(Quota, DefaultUnlimitedThrottlesOnlyNamedOps)
{
    QuotaPtr p;
    p.q = quota_from_json("q3.json", "{\"default\": \"unlimited\", \"CreateThing\": 5}");
    ASSERT_NE(nullptr, p.q);
    FakeClock clock;
    quota_set_clock(p.q, FakeClock::read, &clock);
    int allowed = 0;
    for (int i = 0; i < 100; i++) {
        allowed += quota_take(p.q, "CreateThing") == 0;
        ASSERT_EQ(0, quota_take(p.q, "RegisterCertificateWithoutCA"));
        ASSERT_EQ(0, quota_take(p.q, "SomethingElse"));
    }
    EXPECT_EQ(5, allowed);
}

// aws-default*K: every rate of the table times K (raised account quotas).
TEST(Quota, ScaledAwsDefault)
{
    QuotaPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, quota_new(&p.q, "aws-default*10", &e)) << format(e);
    EXPECT_EQ(100, quota_rate(p.q, "RegisterCertificateWithoutCA"));
    EXPECT_EQ(150, quota_rate(p.q, "AttachPolicy"));
    EXPECT_EQ(3500, quota_rate(p.q, "DescribeThing"));
    QuotaPtr h;
    ASSERT_EQ(0, quota_new(&h.q, "aws-default*0.5", &e)) << format(e);
    EXPECT_EQ(5, quota_rate(h.q, "UpdateCertificate"));
    for (const char *bad : {"aws-default*", "aws-default*0", "aws-default*-2",
                            "aws-default*x", "aws-default*10x", "aws-default*1e9"}) {
        quota *q = nullptr;
        err_clear(&e);
        EXPECT_EQ(-1, quota_new(&q, bad, &e)) << bad;
        EXPECT_EQ(nullptr, q);
        EXPECT_EQ(ERR_USAGE, e.code) << bad;
        EXPECT_STREQ("--quotas", e.where);
        EXPECT_NE(nullptr, strstr(e.msg, "factor")) << e.msg;
    }
}

TEST(Quota, BadSpecsAndFiles)
{
    quota *q = nullptr;
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, quota_new(&q, "", &e));
    EXPECT_EQ(ERR_USAGE, e.code);
    EXPECT_STREQ("--quotas", e.where);
    EXPECT_NE(nullptr,
              strstr(e.msg, "aws-default, aws-default*K, unlimited or a JSON file"))
        << e.msg;

    // A typo of a keyword is read as a missing file, and the message says what
    // --quotas accepts.
    err_clear(&e);
    EXPECT_EQ(-1, quota_new(&q, "aws-defaults", &e));
    EXPECT_EQ(ERR_IO, e.code);
    EXPECT_STREQ("aws-defaults", e.where);
    EXPECT_NE(nullptr, strstr(e.msg, "No such file")) << e.msg;
    EXPECT_NE(nullptr,
              strstr(e.msg, "aws-default, aws-default*K, unlimited or a JSON file"))
        << e.msg;

    const char *dir = getenv("TEST_TMPDIR");
    err_clear(&e);
    EXPECT_EQ(-1, quota_new(&q, dir ? dir : "/tmp", &e));
    EXPECT_EQ(ERR_IO, e.code) << format(e);

    e = quota_file_error("bad1.json", "{\"CreateThing\": 50,\n \"default\": }\n");
    EXPECT_EQ(ERR_FORMAT, e.code);
    EXPECT_EQ(2u, e.line);
    EXPECT_NE(nullptr, strstr(e.msg, "not valid JSON")) << e.msg;

    e = quota_file_error("bad2.json", "[10, 20]");
    EXPECT_NE(nullptr, strstr(e.msg, "JSON object of operation name")) << e.msg;

    e = quota_file_error("bad3.json", "{\n\"CreateThing\": 50,\n\"CreateThng\": 5\n}");
    EXPECT_EQ(ERR_FORMAT, e.code);
    EXPECT_EQ(3u, e.line);
    EXPECT_NE(nullptr, strstr(e.msg, "unknown operation \"CreateThng\"")) << e.msg;

    for (const char *v :
         {"0", "-5", "\"fast\"", "null", "true", "1000001", "[1]", "\"Unlimited\""}) {
        std::string json = std::string("{\"AttachPolicy\": ") + v + "}";
        e = quota_file_error("bad4.json", json);
        EXPECT_EQ(ERR_FORMAT, e.code) << json;
        EXPECT_EQ(1u, e.line) << json;
        EXPECT_NE(nullptr, strstr(e.msg, "\"AttachPolicy\"")) << e.msg;
        EXPECT_NE(nullptr, strstr(e.msg, "is not a rate")) << e.msg;
    }

    e = quota_file_error("bad5.json", "{\"default\": -1}");
    EXPECT_NE(nullptr, strstr(e.msg, "\"default\": -1 is not a rate")) << e.msg;

    e = quota_file_error("bad6.json", "{\"CreateThing\": 5, \"CreateThing\": 6}");
    EXPECT_NE(nullptr, strstr(e.msg, "duplicate")) << e.msg;

    e = quota_file_error("bad7.json", "");
    EXPECT_EQ(ERR_FORMAT, e.code);

    e = quota_file_error("bad8.json", std::string(1024 * 1024 + 10, ' '));
    EXPECT_EQ(ERR_LIMIT, e.code);
}

// --- quota: token buckets ------------------------------------------------------

// A flood at 100 calls/s for 2 s against a 10 TPS operation: the burst (10),
// then 10 per second; the rest is throttled.
TEST(Quota, FloodIsCutToBurstPlusRate)
{
    QuotaPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, quota_new(&p.q, "aws-default", &e));
    FakeClock clock;
    clock.ns = 1000 * kSec;
    quota_set_clock(p.q, FakeClock::read, &clock);
    const char *op = "RegisterCertificateWithoutCA";
    int allowed = 0, first_throttled = -1;
    std::vector<int> per_second(2);
    for (int i = 0; i < 200; i++) {
        int r = quota_take(p.q, op);
        if (r == 0) {
            allowed++;
            per_second[i / 100]++;
        } else if (first_throttled < 0) {
            first_throttled = i;
        }
        clock.ns += 10 * kMs;
    }
    // The first 10 pass at once (the burst), and an 11th from what refills in
    // their 100 ms; then one every 100 ms: 11 + 18 over [0, 1.99 s]. An
    // off-by-one in either direction would mean a mis-sized bucket.
    EXPECT_EQ(11, first_throttled);
    EXPECT_EQ(29, allowed);
    EXPECT_EQ(19, per_second[0]);
    EXPECT_EQ(10, per_second[1]);
    unsigned long long a = 0, t = 0;
    quota_stats(p.q, op, &a, &t);
    EXPECT_EQ(29u, a);
    EXPECT_EQ(171u, t);
    // Other operations have their own buckets.
    EXPECT_EQ(0, quota_take(p.q, "UpdateCertificate"));
}

TEST(Quota, SteadyRateIsAllAllowed)
{
    QuotaPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, quota_new(&p.q, "aws-default", &e));
    FakeClock clock;
    quota_set_clock(p.q, FakeClock::read, &clock);
    // 10/s for 60 s against 10 TPS, after the burst is spent.
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(0, quota_take(p.q, "GetPolicy"));
    for (int i = 0; i < 600; i++) {
        clock.ns += 100 * kMs;
        ASSERT_EQ(0, quota_take(p.q, "GetPolicy")) << i;
    }
    // Slightly over the rate (11/s for 20 s, the bucket empty) is throttled
    // about once a second.
    int throttled = 0;
    for (int i = 0; i < 220; i++) {
        clock.ns += kSec / 11;
        throttled += quota_take(p.q, "GetPolicy");
    }
    EXPECT_GE(throttled, 19);
    EXPECT_LE(throttled, 21);
    // Exactly 350/s against DescribeThing (350 TPS, a non-integral interval in
    // ns), after the burst is spent; then 1% faster is throttled.
    for (int i = 0; i < 350; i++)
        ASSERT_EQ(0, quota_take(p.q, "DescribeThing"));
    ASSERT_EQ(1, quota_take(p.q, "DescribeThing"));
    unsigned long long base = clock.ns;
    for (unsigned long long i = 1; i <= 35000; i++) {
        clock.ns = base + i * kSec / 350;
        ASSERT_EQ(0, quota_take(p.q, "DescribeThing")) << i;
    }
    base = clock.ns;
    throttled = 0;
    for (unsigned long long i = 1; i <= 3535; i++) {
        clock.ns = base + i * kSec / 353.5;
        throttled += quota_take(p.q, "DescribeThing");
    }
    EXPECT_GE(throttled, 34);
    EXPECT_LE(throttled, 36);
}

TEST(Quota, IdleRefillsToBurstOnly)
{
    QuotaPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, quota_new(&p.q, "aws-default", &e));
    FakeClock clock;
    quota_set_clock(p.q, FakeClock::read, &clock);
    int allowed = 0;
    for (int i = 0; i < 100; i++)
        allowed += quota_take(p.q, "AttachPolicy") == 0;
    EXPECT_EQ(15, allowed);
    // Half a second refills 7.5 calls: 7 whole ones.
    clock.ns += kSec / 2;
    allowed = 0;
    for (int i = 0; i < 100; i++)
        allowed += quota_take(p.q, "AttachPolicy") == 0;
    EXPECT_EQ(7, allowed);
    // A minute of idling refills the burst, not 60 s worth.
    clock.ns += 60 * kSec;
    allowed = 0;
    for (int i = 0; i < 1000; i++)
        allowed += quota_take(p.q, "AttachPolicy") == 0;
    EXPECT_EQ(15, allowed);
}

// --- quota: concurrency --------------------------------------------------------

// 8 threads hammer two buckets with the clock stopped, starting together:
// exactly the burst gets through (a lost update would let more through), then
// exactly what a quarter second refills.
TEST(Quota, ConcurrentTakesMatchTheBudget)
{
    QuotaPtr p;
    p.q = quota_from_json("conc.json",
                          "{\"CreateThing\": 200000, \"AttachPolicy\": 30000}");
    ASSERT_NE(nullptr, p.q);
    FakeClock clock;
    clock.ns = 5 * kSec;
    quota_set_clock(p.q, FakeClock::read, &clock);
    const int threads = 8, calls = 40000;
    auto round = [&](std::atomic<int> &a, std::atomic<int> &b) {
        std::atomic<int> ready{0};
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; t++)
            ts.emplace_back([&, t] {
                ready++;
                while (ready.load() < threads)
                    std::this_thread::yield();
                int na = 0, nb = 0;
                for (int i = 0; i < calls; i++) {
                    bool create = (i + t) % 8 != 0;
                    if (quota_take(p.q, create ? "CreateThing" : "AttachPolicy") == 0)
                        (create ? na : nb)++;
                }
                a += na;
                b += nb;
            });
        for (auto &t : ts)
            t.join();
    };
    std::atomic<int> create{0}, attach{0};
    round(create, attach);
    EXPECT_EQ(200000, create.load());
    EXPECT_EQ(30000, attach.load());
    clock.ns += kSec / 4;
    create = 0;
    attach = 0;
    round(create, attach);
    EXPECT_EQ(50000, create.load());
    EXPECT_EQ(7500, attach.load());
    unsigned long long ca = 0, ct = 0, aa = 0, at = 0;
    quota_stats(p.q, "CreateThing", &ca, &ct);
    quota_stats(p.q, "AttachPolicy", &aa, &at);
    EXPECT_EQ(250000u, ca);
    EXPECT_EQ(37500u, aa);
    EXPECT_EQ(static_cast<unsigned long long>(2 * threads * calls), ca + ct + aa + at);
}

// The real clock: 8 threads flood DescribeThing (350/s) for about 0.6 s; what
// gets through is the burst plus the rate times the elapsed time.
TEST(Quota, ConcurrentRealClock)
{
    QuotaPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, quota_new(&p.q, "aws-default", &e));
    std::atomic<long> allowed{0};
    std::atomic<bool> stop{false};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; t++)
        ts.emplace_back([&] {
            long n = 0;
            while (!stop.load(std::memory_order_relaxed))
                n += quota_take(p.q, "DescribeThing") == 0;
            allowed += n;
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    stop = true;
    for (auto &t : ts)
        t.join();
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double max = 350 + 350 * elapsed + 1;
    EXPECT_LE(allowed.load(), max) << elapsed;
    // Threads may be descheduled on a loaded machine: a generous lower bound.
    EXPECT_GE(allowed.load(), 350 + 350 * 0.6 * 0.5) << elapsed;
}

// --- fault: specs --------------------------------------------------------------

TEST(Fault, ParsesTheDesignSpec)
{
    FaultPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, fault_new(&p.f,
                           "500:0.03,503:0.02,throttle:0.03,reset:0.01,late:0.01,seed:42",
                           &e))
        << format(e);
    EXPECT_DOUBLE_EQ(0.03, fault_probability(p.f, FAULT_500));
    EXPECT_DOUBLE_EQ(0.02, fault_probability(p.f, FAULT_503));
    EXPECT_DOUBLE_EQ(0.03, fault_probability(p.f, FAULT_THROTTLE));
    EXPECT_DOUBLE_EQ(0.01, fault_probability(p.f, FAULT_RESET));
    EXPECT_DOUBLE_EQ(0.01, fault_probability(p.f, FAULT_LATE));
    EXPECT_NEAR(0.90, fault_probability(p.f, FAULT_NONE), 1e-12);
    EXPECT_EQ(42u, fault_seed(p.f));
    EXPECT_TRUE(fault_applies(p.f, "CreateThing"));
    EXPECT_TRUE(fault_applies(p.f, "DeleteThing")); // no filter: every operation

    FaultPtr q;
    ASSERT_EQ(0, fault_new(&q.f, " late:1 , seed:18446744073709551615 ", &e))
        << format(e);
    EXPECT_EQ(18446744073709551615ull, fault_seed(q.f));
    EXPECT_EQ(FAULT_LATE, fault_decide(q.f, "CreateThing", 7));

    FaultPtr r;
    ASSERT_EQ(0, fault_new(&r.f, "500:.5,503:0.5", &e)) << format(e);
    EXPECT_EQ(0u, fault_seed(r.f));
    for (unsigned long long s = 0; s < 1000; s++) {
        fault_kind k = fault_decide(r.f, "GetPolicy", s);
        ASSERT_TRUE(k == FAULT_500 || k == FAULT_503) << fault_kind_name(k);
    }

    FaultPtr n;
    ASSERT_EQ(0, fault_new(&n.f, "none", &e)) << format(e);
    for (unsigned long long s = 0; s < 10000; s++)
        ASSERT_EQ(FAULT_NONE, fault_decide(n.f, "CreateThing", s));
    EXPECT_EQ(10000u, fault_count(n.f, FAULT_NONE));
    EXPECT_EQ(FAULT_NONE, fault_decide(nullptr, "CreateThing", 1));
}

TEST(Fault, BadSpecsNameTheItem)
{
    struct Case {
        const char *spec, *want;
    } cases[] = {
        {"", "empty value"},
        {"502:0.1", "\"502:0.1\": unknown fault \"502\""},
        {"500", "\"500\": expected NAME:VALUE"},
        {"500:1.5", "\"500:1.5\": the probability must be a decimal from 0 to 1"},
        {"500:abc", "\"500:abc\": the probability"},
        {"500:", "\"500:\": the probability"},
        {"500:0.1%", "\"500:0.1%\": the probability"},
        {"500:1e-2", "\"500:1e-2\": the probability"},
        {"500:-0.1", "\"500:-0.1\": the probability"},
        {"500:0,5", "\"5\": expected NAME:VALUE"},
        {"500:0.5,500:0.1", "\"500:0.1\": \"500\" is given twice"},
        {"seed:1,seed:2", "\"seed:2\": \"seed\" is given twice"},
        {"500:0.6,503:0.3,late:0.2", "add up to 1.1; their sum must be at most 1"},
        {"seed:-1", "\"seed:-1\": the seed must be a whole number"},
        {"seed:18446744073709551616", "\"seed:18446744073709551616\": the seed"},
        {"seed:", "\"seed:\": the seed"},
        {"ops:CreateThng", "\"ops:CreateThng\": unknown operation \"CreateThng\""},
        {"ops:", "\"ops:\": empty operation name"},
        {"ops:CreateThing++AttachPolicy", "empty operation name"},
        {"ops:CreateThing+", "empty operation name"},
        {"500:0.1,,503:0.1", "empty item"},
        {"500:0.1,", "empty item"},
        {"none,seed:1", "\"none\": expected NAME:VALUE"},
        {"Throttle:0.1", "unknown fault \"Throttle\""},
    };
    for (auto &c : cases) {
        fault *f = reinterpret_cast<fault *>(1);
        err e;
        err_clear(&e);
        EXPECT_EQ(-1, fault_new(&f, c.spec, &e)) << c.spec;
        EXPECT_EQ(nullptr, f) << c.spec;
        EXPECT_EQ(ERR_USAGE, e.code) << c.spec;
        EXPECT_STREQ("--faults", e.where) << c.spec;
        EXPECT_NE(nullptr, strstr(e.msg, c.want)) << c.spec << " -> " << e.msg;
        EXPECT_EQ(nullptr, strchr(e.msg, '\n')) << c.spec;
    }
}

// --- fault: decisions ----------------------------------------------------------

TEST(Fault, FrequenciesMatchTheSpec)
{
    const char *spec = "500:0.03,503:0.02,throttle:0.03,reset:0.01,late:0.01,seed:";
    const double want[FAULT_KIND_COUNT] = {0.90, 0.03, 0.02, 0.03, 0.01, 0.01};
    const int n = 100000;
    for (unsigned long long seed : {42ull, 1ull, 0ull, 123456789ull}) {
        FaultPtr p;
        err e;
        err_clear(&e);
        std::string s = spec + std::to_string(seed);
        ASSERT_EQ(0, fault_new(&p.f, s.c_str(), &e)) << format(e);
        long seen[FAULT_KIND_COUNT] = {0};
        for (int i = 0; i < n; i++)
            seen[fault_decide(p.f, "CreateThing", static_cast<unsigned long long>(i))]++;
        for (int k = 0; k < FAULT_KIND_COUNT; k++) {
            double mean = n * want[k];
            double sd = std::sqrt(n * want[k] * (1 - want[k]));
            EXPECT_NEAR(mean, seen[k], 4.5 * sd)
                << "seed " << seed << " " << fault_kind_name(static_cast<fault_kind>(k));
            EXPECT_EQ(static_cast<unsigned long long>(seen[k]),
                      fault_count(p.f, static_cast<fault_kind>(k)));
        }
    }
    // Consecutive requests are not correlated: after a fault the next request
    // is faulted at the base rate, not more often.
    FaultPtr p;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, fault_new(&p.f, "500:0.5,seed:9", &e));
    long pairs = 0, both = 0;
    fault_kind prev = fault_decide(p.f, "X", 0);
    for (int i = 1; i < n; i++) {
        fault_kind k = fault_decide(p.f, "X", static_cast<unsigned long long>(i));
        if (prev == FAULT_500) {
            pairs++;
            both += k == FAULT_500;
        }
        prev = k;
    }
    EXPECT_NEAR(0.5, static_cast<double>(both) / pairs, 0.015);
}

TEST(Fault, DeterministicForASeedAcrossThreads)
{
    const char *spec = "500:0.1,503:0.1,throttle:0.1,reset:0.1,late:0.1,seed:42";
    const int n = 40000;
    FaultPtr a, b, c, d;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, fault_new(&a.f, spec, &e));
    ASSERT_EQ(0, fault_new(&b.f, spec, &e));
    ASSERT_EQ(0, fault_new(&c.f, spec, &e));
    ASSERT_EQ(
        0,
        fault_new(&d.f, "500:0.1,503:0.1,throttle:0.1,reset:0.1,late:0.1,seed:43", &e));
    std::vector<fault_kind> ref(n), rev(n), par(n);
    for (int i = 0; i < n; i++)
        ref[i] = fault_decide(a.f, "CreateThing", static_cast<unsigned long long>(i));
    // Same seed, reverse order.
    for (int i = n - 1; i >= 0; i--)
        rev[i] = fault_decide(b.f, "CreateThing", static_cast<unsigned long long>(i));
    EXPECT_EQ(ref, rev);
    // Same seed, 8 threads taking sequence numbers from a shared counter.
    std::atomic<int> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; t++)
        ts.emplace_back([&] {
            for (int i; (i = next++) < n;)
                par[i] =
                    fault_decide(c.f, "CreateThing", static_cast<unsigned long long>(i));
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(ref, par);
    for (int k = 0; k < FAULT_KIND_COUNT; k++)
        EXPECT_EQ(fault_count(a.f, static_cast<fault_kind>(k)),
                  fault_count(c.f, static_cast<fault_kind>(k)));
    // Another seed gives other faults.
    int differ = 0;
    for (int i = 0; i < n; i++)
        differ += fault_decide(d.f, "CreateThing", static_cast<unsigned long long>(i)) !=
                  ref[i];
    EXPECT_GT(differ, n / 3);
}

TEST(Fault, OpsFilter)
{
    FaultPtr all, some;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, fault_new(&all.f, "503:0.2,reset:0.2,seed:7", &e));
    ASSERT_EQ(0, fault_new(&some.f,
                           "503:0.2,ops:CreateThing+AttachPolicy,reset:0.2,seed:7", &e))
        << format(e);
    EXPECT_TRUE(fault_applies(some.f, "CreateThing"));
    EXPECT_TRUE(fault_applies(some.f, "AttachPolicy"));
    EXPECT_FALSE(fault_applies(some.f, "DescribeThing"));
    EXPECT_FALSE(fault_applies(some.f, "DeleteThing"));
    EXPECT_FALSE(fault_applies(some.f, nullptr));
    EXPECT_FALSE(fault_applies(nullptr, "CreateThing"));
    int faulted = 0;
    for (unsigned long long s = 0; s < 20000; s++) {
        // The filter masks decisions; it does not change them.
        fault_kind k = fault_decide(all.f, "CreateThing", s);
        ASSERT_EQ(k, fault_decide(some.f, "CreateThing", s));
        ASSERT_EQ(fault_decide(all.f, "AttachPolicy", s),
                  fault_decide(some.f, "AttachPolicy", s));
        ASSERT_EQ(FAULT_NONE, fault_decide(some.f, "DescribeThing", s));
        ASSERT_EQ(FAULT_NONE, fault_decide(some.f, "RegisterCertificateWithoutCA", s));
        faulted += k != FAULT_NONE;
    }
    EXPECT_NEAR(8000, faulted, 300);
    EXPECT_EQ(0u, fault_count(some.f, FAULT_500));
    EXPECT_EQ(80000u, fault_count(some.f, FAULT_NONE) + fault_count(some.f, FAULT_503) +
                          fault_count(some.f, FAULT_RESET));
}

TEST(Fault, CertainAndImpossible)
{
    for (int k = FAULT_500; k < FAULT_KIND_COUNT; k++) {
        std::string spec =
            std::string(fault_kind_name(static_cast<fault_kind>(k))) + ":1";
        FaultPtr p;
        err e;
        err_clear(&e);
        ASSERT_EQ(0, fault_new(&p.f, spec.c_str(), &e)) << format(e);
        for (unsigned long long s = 0; s < 5000; s++)
            ASSERT_EQ(k, fault_decide(p.f, "CreateThing", s)) << spec;
        EXPECT_EQ(5000u, fault_count(p.f, static_cast<fault_kind>(k)));
    }
    FaultPtr z;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, fault_new(&z.f, "500:0,503:0.0,throttle:0,reset:0,late:0", &e));
    for (unsigned long long s = 0; s < 50000; s++)
        ASSERT_EQ(FAULT_NONE, fault_decide(z.f, "CreateThing", s));
}

TEST(Fault, Answers)
{
    EXPECT_STREQ("none", fault_kind_name(FAULT_NONE));
    EXPECT_STREQ("500", fault_kind_name(FAULT_500));
    EXPECT_STREQ("503", fault_kind_name(FAULT_503));
    EXPECT_STREQ("throttle", fault_kind_name(FAULT_THROTTLE));
    EXPECT_STREQ("reset", fault_kind_name(FAULT_RESET));
    EXPECT_STREQ("late", fault_kind_name(FAULT_LATE));
    EXPECT_EQ(500, fault_http_status(FAULT_500));
    EXPECT_EQ(503, fault_http_status(FAULT_503));
    EXPECT_EQ(400, fault_http_status(FAULT_THROTTLE));
    EXPECT_EQ(0, fault_http_status(FAULT_RESET));
    EXPECT_EQ(0, fault_http_status(FAULT_LATE));
    EXPECT_EQ(0, fault_http_status(FAULT_NONE));
    EXPECT_STREQ("InternalFailureException", fault_error_code(FAULT_500));
    EXPECT_STREQ("ServiceUnavailableException", fault_error_code(FAULT_503));
    EXPECT_STREQ("ThrottlingException", fault_error_code(FAULT_THROTTLE));
    EXPECT_EQ(nullptr, fault_error_code(FAULT_LATE));
    EXPECT_NE(nullptr, fault_error_message(FAULT_THROTTLE));
    EXPECT_EQ(nullptr, fault_error_message(FAULT_RESET));
}

} // namespace
