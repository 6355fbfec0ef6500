// engine/regcheck.h, the preview's read-only registry check, against the
// local endpoint in-process: a registered certificate and its status, an
// absent one, a malformed fingerprint, pacing at the configured rate, stopping
// a long check at once, and that nothing but DescribeCertificate is sent; and
// sim_seed_samples, which the console's embedded endpoint runs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using std::atomic_int; // engine/rate.h names C11's atomic_int

extern "C" {
#include "base/b64.h"
#include "engine/regcheck.h"
#include "iot/client.h"
#include "sim/sim.h"
}

#include "testutil.h"

namespace
{

const char *kAkid = "AKIDREGCHECK";
const char *kSecret = "regcheck-secret";

struct Sim {
    sim *s = nullptr;
    std::string url;
    iot_target t; // where the tests send, as whom
    explicit Sim(const char *quotas = "unlimited")
    {
        err e;
        err_clear(&e);
        EXPECT_EQ(iot_global_init(&e), 0) << e.msg;
        sim_opts o;
        memset(&o, 0, sizeof o);
        o.listen = "127.0.0.1:0";
        o.quotas = quotas;
        o.access_key = kAkid;
        o.secret_key = kSecret;
        int port = sim_start(&s, &o, &e);
        EXPECT_GT(port, 0) << e.msg;
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
    rc_opts opts(double tps = 0) const
    {
        rc_opts o;
        memset(&o, 0, sizeof o);
        o.target = &t;
        o.tps = tps;
        return o;
    }
    // Registers a PEM with the given status; returns its certificate id.
    std::string register_pem(const std::string &pem, const char *status)
    {
        iot_config c;
        memset(&c, 0, sizeof c);
        c.target = &t;
        iot_client *cl = nullptr;
        err e;
        err_clear(&e);
        EXPECT_EQ(iot_client_new(&cl, &c, &e), 0) << e.msg;
        iot_cert_ref ref;
        memset(&ref, 0, sizeof ref);
        iot_result res;
        memset(&res, 0, sizeof res);
        EXPECT_EQ(iot_register_certificate(cl, pem.c_str(), status, &ref, &res), IOT_OK)
            << res.code << " " << res.message;
        std::string id = ref.certificate_id ? ref.certificate_id : "";
        iot_cert_ref_free(&ref);
        iot_client_free(cl);
        return id;
    }
};

std::vector<rc_result> run_all(regcheck *r)
{
    std::vector<rc_result> out;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
        size_t checked, total;
        int finished;
        rc_status(r, &checked, &total, &finished);
        rc_result buf[16];
        size_t n = rc_take(r, buf, 16);
        out.insert(out.end(), buf, buf + n);
        if (finished && n == 0)
            break;
        if (std::chrono::steady_clock::now() > end) {
            ADD_FAILURE() << "the check did not finish";
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return out;
}

} // namespace

TEST(Regcheck, StatusAbsentAndMalformed)
{
    Sim s;
    std::string id = s.register_pem(tu::slurp("testdata/misc/single.pem"), "INACTIVE");
    ASSERT_EQ(id.size(), 64u);
    std::string upper = id;
    for (auto &ch : upper)
        ch = (char)toupper((unsigned char)ch);
    std::string absent(64, 'a');
    std::vector<const char *> fps = {id.c_str(), absent.c_str(), "12:ab", upper.c_str()};
    std::vector<size_t> idx = {10, 11, 12, 13};
    regcheck *r = nullptr;
    err e;
    err_clear(&e);
    rc_opts o = s.opts();
    ASSERT_EQ(rc_start(&r, &o, fps.data(), idx.data(), fps.size(), &e), 0) << e.msg;
    std::vector<rc_result> got = run_all(r);
    rc_free(r);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].idx, 10u);
    EXPECT_EQ(got[0].state, RC_PRESENT);
    EXPECT_STREQ(got[0].status, "INACTIVE");
    EXPECT_EQ(got[1].idx, 11u);
    EXPECT_EQ(got[1].state, RC_ABSENT);
    EXPECT_EQ(got[2].state, RC_INVALID);
    EXPECT_EQ(got[3].state, RC_PRESENT); // the fingerprint's case does not matter
    unsigned long long served = 0, rejected = 0;
    sim_counts(s.s, &served, &rejected, nullptr);
    EXPECT_EQ(served, 1u + 3u); // the register, then three DescribeCertificate
}

namespace
{
// The PEM of line n of the Generated fixture (each line: a PEM, base64ed).
std::string generated_pem(size_t n)
{
    std::string all = tu::slurp("testdata/generated/certificates_test.txt"), line;
    size_t at = 0;
    for (size_t i = 0; i <= n; i++) {
        size_t nl = all.find('\n', at);
        line = all.substr(at, nl - at);
        at = nl + 1;
    }
    std::vector<unsigned char> pem(b64_decoded_max(line.size()) + 1);
    size_t len = 0;
    EXPECT_EQ(b64_decode(pem.data(), &len, line.data(), line.size(), 0, nullptr), 0);
    return std::string((const char *)pem.data(), len);
}
} // namespace

// Issue 14: a large file is answered by listing the account (250 a page),
// not one DescribeCertificate per certificate.
TEST(Regcheck, ManyCertificatesAreAnsweredByListingTheAccount)
{
    Sim s;
    std::vector<std::string> ids;
    for (size_t i = 0; i < 3; i++)
        ids.push_back(s.register_pem(generated_pem(i), i == 2 ? "ACTIVE" : "INACTIVE"));
    std::vector<std::string> absent;
    for (int i = 0; i < 150; i++) {
        char h[65];
        snprintf(h, sizeof h, "%064x", i + 1);
        absent.push_back(h);
    }
    std::vector<const char *> fps;
    for (auto &id : ids)
        fps.push_back(id.c_str());
    for (auto &a : absent)
        fps.push_back(a.c_str());
    ASSERT_GE(fps.size(), (size_t)RC_LIST_MIN);
    regcheck *r = nullptr;
    err e;
    err_clear(&e);
    rc_opts o = s.opts();
    ASSERT_EQ(rc_start(&r, &o, fps.data(), nullptr, fps.size(), &e), 0) << e.msg;
    std::vector<rc_result> got = run_all(r);
    rc_free(r);
    ASSERT_EQ(got.size(), fps.size());
    EXPECT_EQ(got[0].state, RC_PRESENT);
    EXPECT_STREQ(got[0].status, "INACTIVE");
    EXPECT_STREQ(got[2].status, "ACTIVE");
    for (size_t i = 3; i < got.size(); i++)
        EXPECT_EQ(got[i].state, RC_ABSENT) << i;
    unsigned long long served = 0, rejected = 0;
    sim_counts(s.s, &served, &rejected, nullptr);
    EXPECT_EQ(served, 3u + 1u); // the registers, then one ListCertificates page
}

TEST(Regcheck, TheRegistryFoldedIntoTheVerdict)
{
    char m[200];
    rc_result r;
    memset(&r, 0, sizeof r);
    r.state = RC_ABSENT;
    EXPECT_EQ(rc_verdict(2, &r, m, sizeof m), ITEM_ERROR);
    EXPECT_STREQ(m, "not registered: run Phase 1 first");
    EXPECT_EQ(rc_verdict(1, &r, m, sizeof m), ITEM_OK);
    EXPECT_STREQ(m, "");
    r.state = RC_PRESENT;
    snprintf(r.status, sizeof r.status, "REVOKED");
    EXPECT_EQ(rc_verdict(2, &r, m, sizeof m), ITEM_ERROR);
    EXPECT_EQ(rc_verdict(1, &r, m, sizeof m), ITEM_ERROR);
    snprintf(r.status, sizeof r.status, "ACTIVE");
    EXPECT_EQ(rc_verdict(2, &r, m, sizeof m), ITEM_OK);
    EXPECT_STREQ(m, "already ACTIVE: already done");
    snprintf(r.status, sizeof r.status, "INACTIVE");
    EXPECT_EQ(rc_verdict(1, &r, m, sizeof m), ITEM_OK);
    EXPECT_STREQ(m, "already registered (INACTIVE)");
    snprintf(r.status, sizeof r.status, "PENDING_TRANSFER");
    EXPECT_EQ(rc_verdict(2, &r, m, sizeof m), ITEM_ERROR);
    r.state = RC_ERROR;
    EXPECT_EQ(rc_verdict(2, &r, m, sizeof m), ITEM_WARN);
}

TEST(Regcheck, PacedAndStoppable)
{
    Sim s;
    std::string absent(64, 'b');
    std::vector<const char *> fps(40, absent.c_str());
    regcheck *r = nullptr;
    err e;
    err_clear(&e);
    rc_opts o = s.opts(20); // 20 per second
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(rc_start(&r, &o, fps.data(), nullptr, 10, &e), 0) << e.msg;
    std::vector<rc_result> got = run_all(r);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rc_free(r);
    ASSERT_EQ(got.size(), 10u);
    EXPECT_EQ(got[9].idx, 9u);
    EXPECT_GE(secs, 0.35) << "10 calls at 20/s take about half a second";
    // a long check stops at once
    rc_opts slow = s.opts(2);
    ASSERT_EQ(rc_start(&r, &slow, fps.data(), nullptr, fps.size(), &e), 0) << e.msg;
    t0 = std::chrono::steady_clock::now();
    rc_free(r);
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 2.0);
}

TEST(Regcheck, EndpointErrorsAreReported)
{
    Sim s;
    std::string absent(64, 'c');
    std::vector<const char *> fps = {absent.c_str()};
    rc_opts o = s.opts();
    iot_target wrong = s.t;
    wrong.secret_key =
        const_cast<char *>("not-the-secret"); // every call is refused (403)
    o.target = &wrong;
    regcheck *r = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(rc_start(&r, &o, fps.data(), nullptr, 1, &e), 0) << e.msg;
    std::vector<rc_result> got = run_all(r);
    rc_free(r);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].state, RC_ERROR);
    EXPECT_NE(std::string(got[0].message).find("InvalidSignatureException"),
              std::string::npos)
        << got[0].message;
}

// sim_seed_samples (the console's embedded endpoint): creates the samples'
// policy, group and thing type, and keeps them when run again.
TEST(Regcheck, SimSeedsTheSampleResourcesOnce)
{
    Sim s;
    err e;
    err_clear(&e);
    EXPECT_EQ(sim_seed_samples(s.s, &e), 0) << e.msg;
    EXPECT_EQ(sim_seed_samples(s.s, &e), 0) << e.msg;
    iot_config c;
    memset(&c, 0, sizeof c);
    c.target = &s.t;
    iot_client *cl = nullptr;
    ASSERT_EQ(iot_client_new(&cl, &c, &e), 0) << e.msg;
    iot_result res;
    iot_policy_desc p;
    memset(&p, 0, sizeof p);
    EXPECT_EQ(iot_get_policy(cl, "BasicTestPolicy", &p, &res), IOT_OK) << res.message;
    iot_policy_desc_free(&p);
    iot_named_desc d;
    memset(&d, 0, sizeof d);
    EXPECT_EQ(iot_describe_thing_group(cl, "BasicTestGroup", &d, &res), IOT_OK)
        << res.message;
    iot_named_desc_free(&d);
    EXPECT_EQ(iot_describe_thing_type(cl, "BasicTestType", &d, &res), IOT_OK)
        << res.message;
    iot_named_desc_free(&d);
    iot_client_free(cl);
}
