// The local endpoint over HTTP, embedded in-process (sim/sim.h): options,
// keep-alive, SigV4 verdicts, the order signature -> quota -> fault ->
// operation, the reset and late faults at the socket level, the request log,
// and many concurrent keep-alive clients (prints the rate; asserts no speed).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "iot/sigv4.h"
#include "sim/fault.h"
#include "sim/sim.h"
#include "tests/testutil.h"

namespace
{

const char kAkid[] = "AKIDEXAMPLE";
const char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Resp {
    int status = 0; // 0: the connection closed without a response
    std::string headers, body;
    std::string header(const std::string &name) const
    {
        std::string lower = headers;
        for (auto &c : lower)
            c = (char)tolower((unsigned char)c);
        std::string key = "\r\n" + name + ":";
        size_t p = lower.find(key);
        if (p == std::string::npos)
            return "";
        size_t s = p + key.size(), e = headers.find("\r\n", s);
        while (s < e && headers[s] == ' ')
            s++;
        return headers.substr(s, e - s);
    }
    std::string error() const
    {
        std::string t = header("x-amzn-errortype");
        return t.substr(0, t.find(':'));
    }
    std::string json_str(const char *key) const
    {
        json_t *d = json_loads(body.c_str(), 0, nullptr);
        const char *s = json_string_value(json_object_get(d, key));
        std::string out = s ? s : "";
        json_decref(d);
        return out;
    }
};

// One keep-alive HTTP/1.1 connection to the sim.
class Conn
{
  public:
    explicit Conn(int port) : port_(port)
    {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = connect(fd_, (sockaddr *)&sa, sizeof sa) == 0;
        int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Conn()
    {
        close(fd_);
    }
    bool ok() const
    {
        return connected_;
    }

    // Sends a request signed with akid/secret (empty akid: unsigned); date_skew
    // moves X-Amz-Date; extra headers are signed too.
    Resp call(const std::string &method, const std::string &target,
              const std::string &body = "",
              const std::vector<std::pair<std::string, std::string>> &extra = {},
              const std::string &akid = kAkid, const std::string &secret = kSecret,
              long date_skew = 0, const std::string &sent_body = "\x01")
    {
        std::string host = "127.0.0.1:" + std::to_string(port_);
        char amz[17];
        sigv4_amz_date(amz, (long long)time(nullptr) + date_skew);
        std::vector<std::pair<std::string, std::string>> hs = {{"host", host},
                                                               {"x-amz-date", amz}};
        if (!body.empty())
            hs.push_back({"content-type", "application/json"});
        for (auto &h : extra)
            hs.push_back(h);
        std::string req = method + " " + target + " HTTP/1.1\r\n";
        if (!akid.empty()) {
            std::vector<sigv4_header> sh;
            for (auto &h : hs)
                sh.push_back({h.first.c_str(), h.second.c_str()});
            size_t q = target.find('?');
            std::string path = target.substr(0, q);
            std::string query = q == std::string::npos ? "" : target.substr(q + 1);
            sigv4_request sr = {method.c_str(),
                                path.c_str(),
                                q == std::string::npos ? nullptr : query.c_str(),
                                sh.data(),
                                sh.size(),
                                (const unsigned char *)body.data(),
                                body.size()};
            sigv4_key key = {akid.c_str(), secret.c_str(), nullptr, "us-east-1", "iot"};
            buf authz = BUF_INIT;
            err e;
            err_clear(&e);
            EXPECT_EQ(0, sigv4_sign(&authz, &sr, &key, amz, SIGV4_DEFAULT, &e)) << e.msg;
            req +=
                std::string("Authorization: ") + (authz.data ? authz.data : "") + "\r\n";
            buf_free(&authz);
        }
        const std::string &b = sent_body == "\x01" ? body : sent_body;
        for (auto &h : hs)
            req += h.first + ": " + h.second + "\r\n";
        req += "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
        return raw(req);
    }

    Resp raw(const std::string &req)
    {
        Resp r;
        size_t off = 0;
        while (off < req.size()) {
            ssize_t n = send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
            if (n <= 0)
                return r;
            off += (size_t)n;
        }
        // headers
        size_t hend;
        while ((hend = in_.find("\r\n\r\n")) == std::string::npos)
            if (!fill())
                return r;
        r.headers = "\r\n" + in_.substr(0, hend + 2);
        in_.erase(0, hend + 4);
        r.status = atoi(r.headers.c_str() + 2 + 9);
        size_t len = (size_t)atol(r.header("content-length").c_str());
        while (in_.size() < len)
            if (!fill())
                return Resp{};
        r.body = in_.substr(0, len);
        in_.erase(0, len);
        return r;
    }

    // True when the server closed the connection (EOF or reset) within 5 s.
    bool closed_by_peer()
    {
        pollfd p = {fd_, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0)
            return false;
        char c;
        return recv(fd_, &c, 1, 0) <= 0;
    }

  private:
    bool fill()
    {
        pollfd p = {fd_, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0)
            return false;
        char b[65536];
        ssize_t n = recv(fd_, b, sizeof b, 0);
        if (n <= 0)
            return false;
        in_.append(b, (size_t)n);
        return true;
    }
    int port_, fd_;
    bool connected_ = false;
    std::string in_;
};

struct Sim {
    sim *s = nullptr;
    int port = -1;
    std::string log;
    explicit Sim(sim_opts o, const std::string &log_name = "")
    {
        if (!log_name.empty()) {
            log = tu::temp_file(log_name, "");
            o.log_path = log.c_str();
        }
        err e;
        err_clear(&e);
        port = sim_start(&s, &o, &e);
        EXPECT_GT(port, 0) << e.msg;
    }
    ~Sim()
    {
        sim_stop(s);
    }
};

sim_opts strict(const char *quotas = "unlimited", const char *faults = nullptr)
{
    sim_opts o{};
    o.quotas = quotas;
    o.faults = faults;
    o.access_key = kAkid;
    o.secret_key = kSecret;
    return o;
}

TEST(SimHttp, RejectsBadOptions)
{
    auto start_err = [](sim_opts o) {
        sim *s = nullptr;
        err e;
        err_clear(&e);
        int port = sim_start(&s, &o, &e);
        EXPECT_EQ(-1, port);
        EXPECT_EQ(nullptr, s);
        sim_stop(s);
        return std::string(e.msg);
    };
    sim_opts o{};
    o.listen = "0.0.0.0:0";
    EXPECT_NE(std::string::npos, start_err(o).find("127.0.0.1 only"));
    o.listen = "127.0.0.1:99999";
    EXPECT_NE(std::string::npos, start_err(o).find("bad port"));
    o = sim_opts{};
    o.account = "12345";
    EXPECT_NE(std::string::npos, start_err(o).find("12 digits"));
    o = sim_opts{};
    o.region = "US EAST";
    EXPECT_NE(std::string::npos, start_err(o).find("region"));
    o = sim_opts{};
    o.access_key = kAkid;
    EXPECT_NE(std::string::npos, start_err(o).find("both"));
    o = sim_opts{};
    o.faults = "explode:1";
    EXPECT_FALSE(start_err(o).empty());
    o = sim_opts{};
    o.quotas = "/nonexistent/quotas.json";
    EXPECT_FALSE(start_err(o).empty());

    // the same port twice
    Sim a(strict());
    std::string l = "127.0.0.1:" + std::to_string(a.port);
    o = sim_opts{};
    o.listen = l.c_str();
    EXPECT_NE(std::string::npos, start_err(o).find("cannot listen"));
}

TEST(SimHttp, ParsesCredentials)
{
    char *a = nullptr, *s = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, sim_parse_credentials(&a, &s, "AKID1:se:cret/+=", &e));
    EXPECT_STREQ("AKID1", a);
    EXPECT_STREQ("se:cret/+=", s);
    free(a);
    free(s);
    std::string f = tu::temp_file("creds.txt", "AKID2:abc\n");
    ASSERT_EQ(0, sim_parse_credentials(&a, &s, ("@" + f).c_str(), &e));
    EXPECT_STREQ("AKID2", a);
    EXPECT_STREQ("abc", s);
    free(a);
    free(s);
    for (const char *bad : {"nocolon", ":secret", "AKID:", "AK ID:x", ""}) {
        err_clear(&e);
        EXPECT_EQ(-1, sim_parse_credentials(&a, &s, bad, &e)) << bad;
        EXPECT_EQ(nullptr, a);
        EXPECT_EQ(std::string::npos, std::string(e.msg).find("secret:")) << e.msg;
    }
    err_clear(&e);
    EXPECT_EQ(-1, sim_parse_credentials(&a, &s, "@/nonexistent/creds", &e));
    EXPECT_EQ(ERR_IO, e.code);
}

TEST(SimHttp, KeepAliveAndErrorShape)
{
    Sim sm(strict(), "keepalive.jsonl");
    Conn c(sm.port);
    ASSERT_TRUE(c.ok());
    Resp r = c.call("POST", "/thing-types/sensor-v1", "{}");
    EXPECT_EQ(200, r.status) << r.body;
    EXPECT_EQ("application/json", r.header("content-type"));
    std::string rid = r.header("x-amzn-requestid");
    EXPECT_EQ(36u, rid.size());
    r = c.call("GET", "/thing-types/sensor-v1");
    EXPECT_NE(rid, r.header("x-amzn-requestid"));
    EXPECT_EQ(200, r.status);
    EXPECT_EQ("sensor-v1", r.json_str("thingTypeName"));
    r = c.call("GET", "/thing-types/nope");
    EXPECT_EQ(404, r.status);
    EXPECT_EQ("ResourceNotFoundException", r.error());
    EXPECT_NE(std::string::npos, r.header("x-amzn-errortype").find(":http"));
    EXPECT_FALSE(r.json_str("message").empty());
    r = c.call("DELETE", "/things/x");
    EXPECT_EQ(404, r.status);
    EXPECT_EQ("UnknownOperationException", r.error());
    // a thing name with ':' (encoded once on the wire, twice when signed)
    r = c.call("POST", "/things/plant%3A7_dev-001", "{}");
    EXPECT_EQ(200, r.status) << r.body;
    EXPECT_EQ("arn:aws:iot:us-east-1:123456789012:thing/plant:7_dev-001",
              r.json_str("thingArn"));
    // a body over the limit
    r = c.call("POST", "/things/big", std::string(1024 * 1024 + 10, ' '));
    EXPECT_EQ(413, r.status);

    // all on one connection, all logged, one JSON object per line
    std::string log = tu::slurp(sm.log);
    int lines = 0;
    for (size_t p = 0; (p = log.find('\n', p)) != std::string::npos; p++)
        lines++;
    EXPECT_EQ(6, lines);
    json_t *first = json_loadb(log.data(), log.find('\n'), 0, nullptr);
    ASSERT_TRUE(first);
    for (const char *k : {"time", "op", "method", "path", "status", "error", "fault",
                          "sig", "latency_us", "request_id"})
        EXPECT_TRUE(json_object_get(first, k)) << k;
    EXPECT_EQ(rid, json_string_value(json_object_get(first, "request_id")));
    EXPECT_STREQ("CreateThingType", json_string_value(json_object_get(first, "op")));
    EXPECT_STREQ("ok", json_string_value(json_object_get(first, "sig")));
    json_decref(first);
    EXPECT_EQ(std::string::npos, log.find(kSecret));
}

TEST(SimHttp, SignatureVerdicts)
{
    Sim sm(strict(), "sig.jsonl");
    Conn c(sm.port);
    Resp r = c.call("GET", "/things", "", {}, "");
    EXPECT_EQ(403, r.status);
    EXPECT_EQ("MissingAuthenticationTokenException", r.error());
    r = c.raw(
        "GET /things HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 junk\r\n"
        "Content-Length: 0\r\n\r\n");
    EXPECT_EQ(403, r.status);
    EXPECT_EQ("IncompleteSignatureException", r.error());
    r = c.call("GET", "/things", "", {}, kAkid, "wrong-secret");
    EXPECT_EQ(403, r.status);
    EXPECT_EQ("InvalidSignatureException", r.error());
    r = c.call("GET", "/things", "", {}, "AKIDOTHER");
    EXPECT_EQ(403, r.status);
    EXPECT_EQ("UnrecognizedClientException", r.error());
    r = c.call("GET", "/things", "", {}, kAkid, kSecret, -20 * 60);
    EXPECT_EQ(403, r.status);
    EXPECT_EQ("InvalidSignatureException", r.error());
    EXPECT_EQ(0u, r.json_str("message").find("Signature expired")) << r.body;
    r = c.call("GET", "/things", "", {}, kAkid, kSecret, 20 * 60);
    EXPECT_EQ(403, r.status);
    // the body changed after signing
    r = c.call("POST", "/thing-types/t1", "{}", {}, kAkid, kSecret, 0, "{ }");
    EXPECT_EQ(403, r.status);
    EXPECT_EQ("InvalidSignatureException", r.error());
    r = c.call("GET", "/thing-types/t1");
    EXPECT_EQ(404, r.status) << "a rejected request must not take effect";
    // still served on the same connection after all those rejections
    r = c.call("GET", "/things");
    EXPECT_EQ(200, r.status);
    unsigned long long served, rejected, faulted;
    sim_counts(sm.s, &served, &rejected, &faulted);
    EXPECT_EQ(2u, served);
    EXPECT_EQ(7u, rejected);
    EXPECT_EQ(0u, faulted);
    std::string log = tu::slurp(sm.log);
    for (const char *v : {"\"sig\":\"missing\"", "\"sig\":\"bad-signature\"",
                          "\"sig\":\"unknown-key\"", "\"sig\":\"stale\""})
        EXPECT_NE(std::string::npos, log.find(v)) << v;
}

// expire:N: each session token (or access key without one) is accepted for N
// seconds after its first use, then refused with 403 ExpiredTokenException;
// a new token is accepted. A signature-expired answer carries a Date header,
// from which a client can correct its clock.
TEST(SimHttp, ExpireRefusesOldTokens)
{
    Sim sm(strict("unlimited", "expire:2"));
    Conn c(sm.port);
    std::vector<std::pair<std::string, std::string>> tok_a = {
        {"x-amz-security-token", "token-a"}};
    ASSERT_EQ(200, c.call("GET", "/things", "", tok_a).status);
    Resp r;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
        r = c.call("GET", "/things", "", tok_a);
        if (r.status != 200)
            break;
        std::this_thread::yield();
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(403, r.status);
    EXPECT_EQ("ExpiredTokenException", r.error()) << r.body;
    EXPECT_NE(std::string::npos, r.json_str("message").find("expired")) << r.body;
    // a fresh token with the same key goes on
    EXPECT_EQ(200,
              c.call("GET", "/things", "", {{"x-amz-security-token", "token-b"}}).status);
    EXPECT_EQ(403, c.call("GET", "/things", "", tok_a).status) << "stays refused";
    unsigned long long faulted = 0;
    sim_counts(sm.s, nullptr, nullptr, &faulted);
    EXPECT_GE(faulted, 2u);
    // the access key alone expires too
    Resp k = c.call("GET", "/things");
    EXPECT_EQ(200, k.status);
    r = c.call("GET", "/things", "", {}, kAkid, kSecret, -20 * 60);
    EXPECT_EQ("InvalidSignatureException", r.error());
    EXPECT_NE("", r.header("date")) << "a Date header lets a client correct its clock";
}

TEST(SimHttp, ExpireSpec)
{
    for (const char *bad : {"expire:0", "expire:x", "expire:", "expire:1,expire:2"}) {
        sim_opts o = strict("unlimited", bad);
        sim *s = nullptr;
        err e;
        err_clear(&e);
        EXPECT_LT(sim_start(&s, &o, &e), 0) << bad;
        EXPECT_EQ(ERR_USAGE, e.code) << bad;
        sim_stop(s);
    }
}

TEST(SimHttp, OutageSpec)
{
    for (const char *bad : {"outage:5", "outage:+5", "outage:5+0", "outage:x+1",
                            "outage:", "outage:1+1,outage:2+2"}) {
        sim_opts o = strict("unlimited", bad);
        sim *s = nullptr;
        err e;
        err_clear(&e);
        EXPECT_LT(sim_start(&s, &o, &e), 0) << bad;
        EXPECT_EQ(ERR_USAGE, e.code) << bad;
        sim_stop(s);
    }
    fault *f = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(0, fault_new(&f, "outage:10+90", &e)) << e.msg;
    EXPECT_FALSE(fault_outage_at(f, "CreateThing", 9.9));
    EXPECT_TRUE(fault_outage_at(f, "CreateThing", 10));
    EXPECT_TRUE(fault_outage_at(f, nullptr, 10));
    EXPECT_TRUE(fault_outage_at(f, "AttachPolicy", 99.9));
    EXPECT_FALSE(fault_outage_at(f, "CreateThing", 100));
    fault_free(f);
    EXPECT_FALSE(fault_outage_at(nullptr, "CreateThing", 50));
    // with ops: one API down while the others answer
    ASSERT_EQ(0, fault_new(&f, "outage:10+90,ops:CreateThing", &e)) << e.msg;
    EXPECT_TRUE(fault_outage_at(f, "CreateThing", 50));
    EXPECT_FALSE(fault_outage_at(f, "AttachPolicy", 50));
    EXPECT_FALSE(fault_outage_at(f, "CreateThing", 100));
    fault_free(f);
}

TEST(SimHttp, OutageWindowAnswers503)
{
    sim_opts o = strict("unlimited", "outage:0+3600");
    Sim sm(o, "outage.jsonl");
    Conn c(sm.port);
    auto r = c.call("GET", "/things", "", {});
    EXPECT_EQ(503, r.status);
    EXPECT_NE(std::string::npos, r.body.find("injected by --faults outage")) << r.body;
}

TEST(SimHttp, AnyKeyWithoutCredentials)
{
    sim_opts o{};
    o.quotas = "unlimited";
    Sim sm(o, "anykey.jsonl");
    Conn c(sm.port);
    EXPECT_EQ(200, c.call("GET", "/things", "", {}, "AKIDANY", "whatever").status);
    EXPECT_EQ(403, c.call("GET", "/things", "", {}, "").status);
    EXPECT_EQ(403, c.call("GET", "/things", "", {}, "AKIDANY", "x", -20 * 60).status);
    EXPECT_NE(std::string::npos, tu::slurp(sm.log).find("\"sig\":\"unverified\""));
}

TEST(SimHttp, QuotaThrottlesTheExcess)
{
    std::string q =
        tu::temp_file("q.json", R"({"default":"unlimited","DescribeThingType":5})");
    Sim sm(strict(q.c_str()));
    Conn c(sm.port);
    ASSERT_EQ(200, c.call("POST", "/thing-types/t", "{}").status);
    auto t0 = std::chrono::steady_clock::now();
    int allowed = 0, throttled = 0;
    for (int i = 0; i < 40; i++) {
        Resp r = c.call("GET", "/thing-types/t");
        if (r.status == 200)
            allowed++;
        else if (r.status == 400 && r.error() == "ThrottlingException")
            throttled++;
    }
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(40, allowed + throttled);
    EXPECT_GE(allowed, 5);                       // the burst
    EXPECT_LE(allowed, 5 + (int)(5 * secs) + 1); // plus the refill
    // a rejected signature does not spend the quota: it is checked first
    Resp r = c.call("GET", "/thing-types/t", "", {}, kAkid, "wrong");
    EXPECT_EQ("InvalidSignatureException", r.error());
}

TEST(SimHttp, FaultKinds)
{
    {
        Sim sm(strict("unlimited", "500:1,ops:DescribeThingType"));
        Conn c(sm.port);
        EXPECT_EQ(200, c.call("POST", "/thing-types/t", "{}").status);
        Resp r = c.call("GET", "/thing-types/t");
        EXPECT_EQ(500, r.status);
        EXPECT_EQ("InternalFailureException", r.error());
        unsigned long long faulted;
        sim_counts(sm.s, nullptr, nullptr, &faulted);
        EXPECT_EQ(1u, faulted);
    }
    {
        Sim sm(strict("unlimited", "503:1"));
        Conn c(sm.port);
        Resp r = c.call("GET", "/things");
        EXPECT_EQ(503, r.status);
        EXPECT_EQ("ServiceUnavailableException", r.error());
        // a bad signature is rejected before any fault is drawn
        EXPECT_EQ(403, c.call("GET", "/things", "", {}, kAkid, "wrong").status);
    }
    {
        Sim sm(strict("unlimited", "reset:1,ops:CreateThingType"), "reset.jsonl");
        Conn c(sm.port);
        Resp r = c.call("POST", "/thing-types/t", "{}");
        EXPECT_EQ(0, r.status) << "reset: no response";
        EXPECT_TRUE(c.closed_by_peer());
        Conn c2(sm.port);
        EXPECT_EQ(404, c2.call("GET", "/thing-types/t").status) << "reset: nothing done";
        EXPECT_NE(std::string::npos, tu::slurp(sm.log).find("\"fault\":\"reset\""));
    }
    {
        Sim sm(strict("unlimited", "late:1,ops:CreateThingType"), "late.jsonl");
        Conn c(sm.port);
        Resp r = c.call("POST", "/thing-types/t", "{}");
        EXPECT_EQ(0, r.status) << "late: no response";
        EXPECT_TRUE(c.closed_by_peer());
        Conn c2(sm.port);
        EXPECT_EQ(200, c2.call("GET", "/thing-types/t").status) << "late: it took effect";
        EXPECT_NE(std::string::npos, tu::slurp(sm.log).find("\"fault\":\"late\""));
    }
}

// Many keep-alive clients at once (the engine's workers): every call answered
// 200. Prints calls/s; the figure is informative, not asserted.
TEST(SimHttp, ConcurrentKeepAliveClients)
{
    sim_opts o = strict();
    Sim sm(o);
    {
        Conn c(sm.port);
        ASSERT_EQ(200, c.call("POST", "/things/dev-1", "{}").status);
    }
    const int kThreads = 8, kPer = 400;
    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < kThreads; t++)
        ts.emplace_back([&, t] {
            Conn c(sm.port);
            for (int i = 0; i < kPer; i++) {
                Resp r = i % 2 ? c.call("GET", "/things/dev-1")
                               : c.call("POST",
                                        "/things/t" + std::to_string(t) + "-" +
                                            std::to_string(i),
                                        "{}");
                if (r.status != 200)
                    bad++;
            }
        });
    for (auto &t : ts)
        t.join();
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(0, bad.load());
    printf(
        "sim_http_test: %d signed calls (half CreateThing) on %d keep-alive connections "
        "in %.2f s: %.0f calls/s (client signing included)\n",
        kThreads * kPer, kThreads, secs, kThreads * kPer / secs);
}

} // namespace
