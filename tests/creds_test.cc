// Credentials, region, endpoint and CA bundle resolution (iot/creds.h): every
// source and its precedence, profiles in both files, credential_process
// (success, failure, timeout, garbage), and that no secret ever reaches an
// error or creds_describe().
//
// Each test gets a fresh HOME under TEST_TMPDIR and an environment without
// any AWS_* variable; the fixture restores the environment afterwards.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/buf.h"
#include "base/err.h"
#include "iot/creds.h"
#include "tests/testutil.h"

namespace
{

// Every secret and token in these tests contains one of these markers, so a
// leak anywhere is caught by one search.
const char *const kSecretMark = "SeCrEt";
const char *const kTokenMark = "ToKeN";

const char *const kVars[] = {
    "HOME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_IOT",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CREDENTIAL_EXPIRATION",
    "TP_TEST_VAR",
};

struct Result {
    int rc = -1;
    creds c{};
    std::string error;    // err_format() of the error, "" on success
    std::string describe; // creds_describe() on success
};

void expect_clean(const std::string &s)
{
    EXPECT_EQ(std::string::npos, s.find(kSecretMark)) << "secret leaked: " << s;
    EXPECT_EQ(std::string::npos, s.find(kTokenMark)) << "token leaked: " << s;
}

class Creds : public ::testing::Test
{
  protected:
    std::vector<std::pair<std::string, std::string>> saved_;
    std::vector<std::string> unset_;
    std::string home_;
    std::vector<Result *> results_;

    void SetUp() override
    {
        for (const char *v : kVars) {
            const char *val = getenv(v);
            if (val)
                saved_.emplace_back(v, val);
            else
                unset_.push_back(v);
            unsetenv(v);
        }
        const char *tmp = getenv("TEST_TMPDIR");
        std::string base = std::string(tmp ? tmp : "/tmp") + "/creds-home-XXXXXX";
        std::vector<char> b(base.begin(), base.end());
        b.push_back('\0');
        ASSERT_TRUE(mkdtemp(b.data()));
        home_ = b.data();
        mkdir((home_ + "/.aws").c_str(), 0700);
        setenv("HOME", home_.c_str(), 1);
    }

    void TearDown() override
    {
        for (auto *r : results_) {
            creds_free(&r->c);
            delete r;
        }
        for (const char *v : kVars)
            unsetenv(v);
        for (auto &kv : saved_)
            setenv(kv.first.c_str(), kv.second.c_str(), 1);
    }

    std::string write(const std::string &rel, const std::string &text, int mode = 0600)
    {
        std::string path = home_ + "/" + rel;
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f << text;
        f.close();
        chmod(path.c_str(), mode);
        return path;
    }

    // Resolves; the result lives until the end of the test.
    Result &resolve(const creds_options *opt = nullptr)
    {
        Result *r = new Result;
        results_.push_back(r);
        err e;
        err_clear(&e);
        r->rc = creds_resolve(&r->c, opt, &e);
        if (r->rc == 0) {
            buf b = BUF_INIT;
            creds_describe(&b, &r->c);
            r->describe = b.data ? b.data : "";
            buf_free(&b);
            EXPECT_FALSE(err_is_set(&e));
        } else {
            char msg[700];
            r->error = err_format(&e, msg, sizeof msg);
            EXPECT_EQ(std::string::npos, r->error.find('\n')) << r->error;
            EXPECT_EQ(nullptr, r->c.target.access_key);
            EXPECT_EQ(nullptr, r->c.target.secret_key);
        }
        expect_clean(r->error);
        expect_clean(r->describe);
        return *r;
    }

    std::string ok(Result &r)
    {
        EXPECT_EQ(0, r.rc) << r.error;
        return r.rc == 0 ? std::string(r.c.target.access_key) : "";
    }
};

bool contains(const std::string &s, const std::string &part)
{
    return s.find(part) != std::string::npos;
}

const char *const kNoCreds =
    "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure a "
    "profile (aws configure), or use --local for the embedded local endpoint";

// ---- nothing, environment ------------------------------------------------

TEST_F(Creds, NothingConfigured)
{
    char what[256];
    EXPECT_EQ(0, creds_configured(nullptr, what, sizeof what));
    EXPECT_STREQ("", what);
    Result &r = resolve();
    EXPECT_EQ(-1, r.rc);
    EXPECT_EQ(kNoCreds, r.error);
    creds_free(&r.c); // twice is fine
}

TEST_F(Creds, Environment)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalr/SeCrEt/env+KEY", 1);
    setenv("AWS_SESSION_TOKEN", "FQoG-ToKeN-env", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    Result &r = resolve();
    EXPECT_EQ("AKIAIOSFODNN7EXAWXYZ", ok(r));
    EXPECT_STREQ("wJalr/SeCrEt/env+KEY", r.c.target.secret_key);
    EXPECT_STREQ("FQoG-ToKeN-env", r.c.target.session_token);
    EXPECT_STREQ("environment", r.c.creds_source);
    EXPECT_STREQ("eu-west-1", r.c.target.region);
    EXPECT_STREQ("AWS_REGION", r.c.region_source);
    EXPECT_STREQ("https://iot.eu-west-1.amazonaws.com", r.c.target.endpoint_url);
    EXPECT_STREQ("default for the region", r.c.endpoint_source);
    EXPECT_STREQ("iot", r.c.target.signing_name);
    EXPECT_EQ(nullptr, r.c.target.ca_bundle);
    EXPECT_EQ(0, r.c.target.expiration);
    EXPECT_EQ("credentials: AKIA\xe2\x80\xa6WXYZ from environment\n"
              "session token: yes\n"
              "region: eu-west-1 (AWS_REGION)\n"
              "endpoint: https://iot.eu-west-1.amazonaws.com (default for the region)\n"
              "signing name: iot\n",
              r.describe);

    char what[256];
    EXPECT_EQ(1, creds_configured(nullptr, what, sizeof what));
    EXPECT_STREQ("AWS_ACCESS_KEY_ID", what);
}

TEST_F(Creds, EnvironmentLegacyTokenAndExpiration)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-1", 1);
    setenv("AWS_SECURITY_TOKEN", "ToKeN-legacy", 1);
    setenv("AWS_CREDENTIAL_EXPIRATION", "2099-01-02T03:04:05Z", 1);
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    Result &r = resolve();
    ok(r);
    EXPECT_STREQ("ToKeN-legacy", r.c.target.session_token);
    EXPECT_EQ(4071006245LL, r.c.target.expiration);
    EXPECT_TRUE(
        contains(r.describe, "session token: yes, expires 2099-01-02T03:04:05Z\n"))
        << r.describe;
    EXPECT_STREQ("AWS_DEFAULT_REGION", r.c.region_source);

    setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
    Result &bad = resolve();
    EXPECT_TRUE(contains(bad.error, "AWS_CREDENTIAL_EXPIRATION")) << bad.error;
}

TEST_F(Creds, EnvironmentHalfSet)
{
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    Result &a = resolve();
    EXPECT_EQ("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or "
              "unset AWS_ACCESS_KEY_ID to use a profile",
              a.error);
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-half", 1);
    Result &b = resolve();
    EXPECT_TRUE(
        contains(b.error, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"))
        << b.error;
    // empty values count as unset
    setenv("AWS_SECRET_ACCESS_KEY", "", 1);
    EXPECT_EQ(kNoCreds, resolve().error);
}

// ---- region and endpoint ------------------------------------------------

TEST_F(Creds, RegionPrecedence)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-r", 1);
    write(".aws/config", "[default]\nregion = ap-south-1\n");
    EXPECT_STREQ("ap-south-1", resolve().c.target.region);
    EXPECT_STREQ("profile default (~/.aws/config)", resolve().c.region_source);
    setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
    EXPECT_STREQ("us-west-1", resolve().c.target.region);
    setenv("AWS_REGION", "us-west-2", 1);
    EXPECT_STREQ("us-west-2", resolve().c.target.region);
    creds_options opt = {};
    opt.region = "eu-central-1";
    Result &r = resolve(&opt);
    EXPECT_STREQ("eu-central-1", r.c.target.region);
    EXPECT_STREQ("--region", r.c.region_source);
    EXPECT_STREQ("https://iot.eu-central-1.amazonaws.com", r.c.target.endpoint_url);

    opt.region = "cn-north-1";
    EXPECT_STREQ("https://iot.cn-north-1.amazonaws.com.cn",
                 resolve(&opt).c.target.endpoint_url);

    opt.region = "us east 1";
    EXPECT_EQ(
        "region 'us east 1' (from --region) is not an AWS region name like us-east-1",
        resolve(&opt).error);
}

TEST_F(Creds, MissingRegion)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-r", 1);
    Result &r = resolve();
    EXPECT_EQ(
        "no AWS region: set AWS_REGION, use --region, or add `region = ...` to profile "
        "'default' (aws configure)",
        r.error);
    // a custom endpoint (the local one) does not need one
    creds_options opt = {};
    opt.endpoint_url = "http://127.0.0.1:8443/";
    Result &l = resolve(&opt);
    ok(l);
    EXPECT_STREQ("us-east-1", l.c.target.region);
    EXPECT_STREQ("default for a custom endpoint", l.c.region_source);
    EXPECT_STREQ("http://127.0.0.1:8443", l.c.target.endpoint_url);
    EXPECT_STREQ("--endpoint-url", l.c.endpoint_source);
}

// Plain http:// only to loopback unless --allow-http: keys and certificates
// would cross the network unencrypted.
TEST_F(Creds, PlainHttpOnlyToLoopback)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-h", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    const char *loop[] = {"http://127.0.0.1:8443", "http://127.9.8.7/",
                          "http://localhost:1", "http://LOCALHOST",
                          "http://[::1]:8080/x"};
    for (const char *u : loop) {
        creds_options opt = {};
        opt.endpoint_url = u;
        ok(resolve(&opt));
    }
    const char *remote[] = {"http://iot.example.com", "http://10.0.0.5:8080",
                            "http://127.0.0.1.evil.example", "http://localhost.evil:80"};
    for (const char *u : remote) {
        creds_options opt = {};
        opt.endpoint_url = u;
        Result &r = resolve(&opt);
        EXPECT_NE(0, r.rc) << u;
        EXPECT_NE(std::string::npos,
                  r.error.find("plain http:// is allowed only to loopback"))
            << r.error;
        EXPECT_NE(std::string::npos, r.error.find("--allow-http")) << r.error;
        EXPECT_EQ(std::string::npos, r.error.find("SeCrEt")) << r.error;
        opt.allow_http = 1;
        ok(resolve(&opt));
    }
    creds_options opt = {};
    opt.endpoint_url = "http://iot.example.com:8080/base";
    EXPECT_EQ(
        "endpoint URL host 'iot.example.com:8080' (from --endpoint-url): plain http:// "
        "is allowed only to loopback (127.0.0.1, ::1, localhost); use https:// or "
        "--allow-http",
        resolve(&opt).error);
}

TEST_F(Creds, EndpointPrecedence)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-e", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    write(".aws/config", "[default]\n"
                         "endpoint_url = http://127.0.0.1:1001\n"
                         "services = local\n"
                         "\n"
                         "[services local]\n"
                         "s3 =\n"
                         "  endpoint_url = http://127.0.0.1:9999\n"
                         "iot =\n"
                         "  endpoint_url = http://127.0.0.1:1002\n");
    Result &svc = resolve();
    EXPECT_STREQ("http://127.0.0.1:1002", svc.c.target.endpoint_url);
    EXPECT_STREQ("[services local] of profile default (~/.aws/config)",
                 svc.c.endpoint_source);

    write(".aws/config", "[default]\nendpoint_url = http://127.0.0.1:1001\n");
    Result &prof = resolve();
    EXPECT_STREQ("http://127.0.0.1:1001", prof.c.target.endpoint_url);
    EXPECT_STREQ("profile default (~/.aws/config)", prof.c.endpoint_source);

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1003", 1);
    EXPECT_STREQ("http://127.0.0.1:1003", resolve().c.target.endpoint_url);
    setenv("AWS_ENDPOINT_URL_IOT", "https://127.0.0.1:1004//", 1);
    Result &iot = resolve();
    EXPECT_STREQ("https://127.0.0.1:1004", iot.c.target.endpoint_url);
    EXPECT_STREQ("AWS_ENDPOINT_URL_IOT", iot.c.endpoint_source);
    creds_options opt = {};
    opt.endpoint_url = "http://localhost:1005";
    EXPECT_STREQ("http://localhost:1005", resolve(&opt).c.target.endpoint_url);

    // configured endpoints can be switched off, the flag still counts
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    EXPECT_STREQ("https://iot.us-east-1.amazonaws.com", resolve().c.target.endpoint_url);
    EXPECT_STREQ("http://localhost:1005", resolve(&opt).c.target.endpoint_url);

    opt.endpoint_url = "127.0.0.1:8443";
    EXPECT_EQ(
        "endpoint URL '127.0.0.1:8443' (from --endpoint-url) must start with https:// or "
        "http:// and name a host",
        resolve(&opt).error);

    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_IOT");
    write(".aws/config", "[default]\nservices = nowhere\n");
    EXPECT_TRUE(contains(resolve().error, "no [services nowhere] section"))
        << resolve().error;
}

TEST_F(Creds, SigningNameAndCaBundle)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAWXYZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-ca", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    std::string a = write("ca-a.pem", "x"), b = write("ca-b.pem", "x");
    write("ca-c.pem", "x");
    write(".aws/config", "[default]\nca_bundle = ~/ca-c.pem\n");
    Result &prof = resolve();
    EXPECT_EQ(home_ + "/ca-c.pem", prof.c.target.ca_bundle);
    EXPECT_STREQ("profile default (~/.aws/config)", prof.c.ca_bundle_source);
    EXPECT_TRUE(contains(prof.describe, "CA bundle: " + home_ + "/ca-c.pem"))
        << prof.describe;
    setenv("AWS_CA_BUNDLE", a.c_str(), 1);
    EXPECT_EQ(a, resolve().c.target.ca_bundle);
    creds_options opt = {};
    opt.ca_bundle = b.c_str();
    opt.signing_name = "execute-api";
    Result &r = resolve(&opt);
    EXPECT_EQ(b, r.c.target.ca_bundle);
    EXPECT_STREQ("--ca-bundle", r.c.ca_bundle_source);
    EXPECT_STREQ("execute-api", r.c.target.signing_name);
    EXPECT_TRUE(contains(r.describe, "signing name: execute-api\n"));

    setenv("AWS_CA_BUNDLE", (home_ + "/missing.pem").c_str(), 1);
    Result &bad = resolve();
    EXPECT_EQ(
        "~/missing.pem: CA bundle (from AWS_CA_BUNDLE) cannot be read: No such file or "
        "directory; fix the path or unset it",
        bad.error);
}

// ---- profiles ---------------------------------------------------------------

const char *const kCredFile = "# the usual file\r\n"
                              "[default]\r\n"
                              "aws_access_key_id = AKIADEFAULT000000001\r\n"
                              "aws_secret_access_key = SeCrEt/default\r\n"
                              "\r\n"
                              "[dev]\n"
                              "AWS_ACCESS_KEY_ID=AKIADEV0000000000002\n"
                              "aws_secret_access_key=SeCrEt/dev\n"
                              "aws_session_token = ToKeN/dev\n"
                              "; a comment\n"
                              "[ci]\n"
                              "region = sa-east-1\n";

const char *const kConfigFile = "\xef\xbb\xbf[default]\n"
                                "region = eu-west-3\n"
                                "[profile dev]\n"
                                "region = eu-north-1\n"
                                "aws_access_key_id = AKIACONFIGDEV0000003\n"
                                "aws_secret_access_key = SeCrEt/config-dev\n"
                                "[profile   stage  ]\n"
                                "aws_access_key_id : AKIASTAGE00000000004\n"
                                "aws_secret_access_key : SeCrEt/stage\n"
                                "region = ca-central-1\n"
                                "[profile empty]\n"
                                "region = us-east-2\n"
                                "[dev]\n"
                                "aws_access_key_id = AKIAIGNORED000000005\n";

TEST_F(Creds, ProfilesFromBothFiles)
{
    write(".aws/credentials", kCredFile);
    write(".aws/config", kConfigFile);

    Result &def = resolve();
    EXPECT_EQ("AKIADEFAULT000000001", ok(def));
    EXPECT_STREQ("SeCrEt/default", def.c.target.secret_key);
    EXPECT_EQ(nullptr, def.c.target.session_token);
    EXPECT_STREQ("profile default (~/.aws/credentials)", def.c.creds_source);
    EXPECT_STREQ("eu-west-3", def.c.target.region);
    EXPECT_STREQ("default", def.c.profile);

    // AWS_PROFILE; the credentials file wins over the config file
    setenv("AWS_PROFILE", "dev", 1);
    Result &dev = resolve();
    EXPECT_EQ("AKIADEV0000000000002", ok(dev));
    EXPECT_STREQ("SeCrEt/dev", dev.c.target.secret_key);
    EXPECT_STREQ("ToKeN/dev", dev.c.target.session_token);
    EXPECT_STREQ("eu-north-1", dev.c.target.region);
    EXPECT_STREQ("profile dev (~/.aws/config)", dev.c.region_source);
    EXPECT_TRUE(contains(dev.describe, "AKIA\xe2\x80\xa6"
                                       "0002 from profile dev "
                                       "(~/.aws/credentials)\nsession token: yes\n"))
        << dev.describe;

    // --profile beats AWS_PROFILE; keys from the config file; spacing in names
    creds_options opt = {};
    opt.profile = "stage";
    Result &stage = resolve(&opt);
    EXPECT_EQ("AKIASTAGE00000000004", ok(stage));
    EXPECT_STREQ("profile stage (~/.aws/config)", stage.c.creds_source);
    EXPECT_STREQ("ca-central-1", stage.c.target.region);

    // region from the credentials file
    opt.profile = "ci";
    Result &ci = resolve(&opt);
    EXPECT_EQ("profile 'ci' has no credentials: add aws_access_key_id and "
              "aws_secret_access_key (aws configure --profile ci) or credential_process",
              ci.error);

    opt.profile = "nope";
    EXPECT_EQ(
        "profile 'nope' is in neither ~/.aws/config nor ~/.aws/credentials: create it "
        "(aws configure --profile nope) or choose another (--profile, AWS_PROFILE)",
        resolve(&opt).error);
    setenv("AWS_PROFILE", "nope", 1);
    EXPECT_TRUE(contains(resolve().error, "profile 'nope' is in neither"));
    unsetenv("AWS_PROFILE");
    setenv("AWS_DEFAULT_PROFILE", "stage", 1);
    EXPECT_EQ("AKIASTAGE00000000004", ok(resolve()));
}

TEST_F(Creds, EnvironmentVersusProfile)
{
    write(".aws/credentials", kCredFile);
    write(".aws/config", kConfigFile);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00006", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt/env", 1);
    // environment beats the default profile and AWS_PROFILE (as the AWS CLI)...
    EXPECT_EQ("AKIAENVIRONMENT00006", ok(resolve()));
    setenv("AWS_PROFILE", "dev", 1);
    Result &envp = resolve();
    EXPECT_EQ("AKIAENVIRONMENT00006", ok(envp));
    EXPECT_STREQ("eu-north-1",
                 envp.c.target.region); // the region still comes from the profile
    // ...but an explicit --profile skips the environment's keys
    creds_options opt = {};
    opt.profile = "dev";
    EXPECT_EQ("AKIADEV0000000000002", ok(resolve(&opt)));
}

TEST_F(Creds, OtherFilesAndDefaultProfileSpelling)
{
    std::string cred =
        write("elsewhere-credentials", "[team]\n"
                                       "aws_access_key_id = AKIATEAM000000000007\n"
                                       "aws_secret_access_key = SeCrEt/team\n");
    write("elsewhere-config", "[profile default]\nregion = af-south-1\n"
                              "[profile team]\nregion = me-south-1\n");
    write(".aws/credentials", kCredFile); // not read: the variables point elsewhere
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred.c_str(), 1);
    setenv("AWS_CONFIG_FILE", "~/elsewhere-config", 1);
    setenv("AWS_PROFILE", "team", 1);
    Result &r = resolve();
    EXPECT_EQ("AKIATEAM000000000007", ok(r));
    EXPECT_STREQ("profile team (~/elsewhere-credentials)", r.c.creds_source);
    EXPECT_STREQ("me-south-1", r.c.target.region);
    unsetenv("AWS_PROFILE");
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00006", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt/env", 1);
    EXPECT_STREQ("af-south-1",
                 resolve().c.target.region); // [profile default] in the config file
}

TEST_F(Creds, BrokenFiles)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00006", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt/env", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    struct Case {
        std::string text, error;
    };
    const std::vector<Case> cases = {
        {"[default]\naws_access_key_id = AKIA1\naws_secret_access_key SeCrEt/no-equals\n",
         "~/.aws/credentials:3: expected `key = value` or `[section]` (fix or remove "
         "this "
         "line)"},
        {"aws_secret_access_key = SeCrEt/no-section\n",
         "~/.aws/credentials:1: `key = value` before any [section]: add a [default] or "
         "[profile NAME] line above it"},
        {"[default\naws_secret_access_key = SeCrEt/x\n",
         "~/.aws/credentials:1: a section header must look like [name]"},
        {"[default]\n[x]\n[default]\n",
         "~/.aws/credentials:3: section [default] appears twice: merge the two"},
        {"[default]\naws_secret_access_key = SeCrEt/1\nAWS_SECRET_ACCESS_KEY = "
         "SeCrEt/2\n",
         "~/.aws/credentials:3: 'aws_secret_access_key' is set twice in [default]: keep "
         "one"},
        {"[]\n", "~/.aws/credentials:1: empty section name []"},
    };
    for (auto &c : cases) {
        SCOPED_TRACE(c.text);
        write(".aws/credentials", c.text);
        EXPECT_EQ(c.error, resolve().error);
    }
    unlink((home_ + "/.aws/credentials").c_str());
    mkdir((home_ + "/.aws/config").c_str(), 0700);
    EXPECT_EQ("~/.aws/config: is a directory, not an AWS configuration file",
              resolve().error);
    rmdir((home_ + "/.aws/config").c_str());

    // a half-configured profile names the file and line, not the value
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    write(".aws/credentials", "[default]\n\naws_secret_access_key = SeCrEt/half\n");
    EXPECT_EQ("~/.aws/credentials:3: profile 'default' has aws_secret_access_key but no "
              "aws_access_key_id: add it (aws configure --profile default)",
              resolve().error);
}

TEST_F(Creds, RoleAndSsoProfilesAreReported)
{
    write(".aws/config", "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
                         "source_profile = default\n"
                         "[profile sso]\nsso_session = corp\n");
    setenv("AWS_PROFILE", "admin", 1);
    EXPECT_EQ("~/.aws/config: profile 'admin' uses role_arn, which thingpress does not "
              "resolve: run eval \"$(aws configure export-credentials --profile admin "
              "--format env)\" first, or use credential_process",
              resolve().error);
    setenv("AWS_PROFILE", "sso", 1);
    EXPECT_TRUE(contains(resolve().error, "uses sso_session"));
}

// ---- credential_process -----------------------------------------------------

class CredsProcess : public Creds
{
  protected:
    // A profile whose credential_process runs `script` (written to a file).
    void process_profile(const std::string &script, const std::string &extra = "")
    {
        std::string path = write("proc.sh", "#!/bin/sh\n" + script, 0700);
        write(".aws/config", "[default]\nregion = us-east-1\ncredential_process = " +
                                 path + " --flag 'quoted arg'\n" + extra);
    }
};

TEST_F(CredsProcess, Success)
{
    process_profile(
        "[ \"$1\" = --flag ] && [ \"$2\" = 'quoted arg' ] || exit 9\n"
        "read -r x && exit 8 # stdin is /dev/null\n"
        "echo 'progress on stderr' >&2\n"
        "cat <<EOF\n"
        "{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS000000008\",\n"
        " \"SecretAccessKey\": \"SeCrEt/proc\", \"SessionToken\": \"ToKeN/proc\",\n"
        " \"Expiration\": \"2099-01-02T03:04:05.123+01:00\"}\n"
        "EOF\n");
    Result &r = resolve();
    EXPECT_EQ("ASIAPROCESS000000008", ok(r));
    EXPECT_STREQ("SeCrEt/proc", r.c.target.secret_key);
    EXPECT_STREQ("ToKeN/proc", r.c.target.session_token);
    EXPECT_EQ(4071006245LL - 3600, r.c.target.expiration);
    EXPECT_STREQ("credential_process of profile default (~/.aws/config)",
                 r.c.creds_source);
    EXPECT_EQ("credentials: ASIA\xe2\x80\xa6"
              "0008 from credential_process of profile default "
              "(~/.aws/config)\n"
              "session token: yes, expires 2099-01-02T02:04:05Z\n"
              "region: us-east-1 (profile default (~/.aws/config))\n"
              "endpoint: https://iot.us-east-1.amazonaws.com (default for the region)\n"
              "signing name: iot\n",
              r.describe);
}

TEST_F(CredsProcess, EnvironmentIsPassedAndNoTokenIsFine)
{
    setenv("TP_TEST_VAR", "ASIAFROMENV000000009", 1);
    process_profile("printf '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":"
                    "\"SeCrEt/x\",\"SessionToken\":null}' \"$TP_TEST_VAR\"\n");
    Result &r = resolve();
    EXPECT_EQ("ASIAFROMENV000000009", ok(r));
    EXPECT_EQ(nullptr, r.c.target.session_token);
    EXPECT_EQ(0, r.c.target.expiration);
}

TEST_F(CredsProcess, StaticKeysInTheCredentialsFileComeFirst)
{
    process_profile("exit 1\n");
    write(".aws/credentials", kCredFile);
    EXPECT_EQ("AKIADEFAULT000000001", ok(resolve()));
    // in the credentials file, credential_process works too
    write(".aws/credentials", "[default]\ncredential_process = printf "
                              "'{\"Version\":1,\"AccessKeyId\":\"ASIA10\","
                              "\"SecretAccessKey\":\"SeCrEt/c\"}'\n");
    Result &r = resolve();
    EXPECT_EQ("ASIA10", ok(r));
    EXPECT_STREQ("credential_process of profile default (~/.aws/credentials)",
                 r.c.creds_source);
    EXPECT_TRUE(contains(r.describe, "credentials: AS\xe2\x80\xa6"
                                     "10 from"))
        << r.describe;
}

TEST_F(CredsProcess, Failure)
{
    // stdout (with a secret) is never shown; the last stderr line is
    process_profile("echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":"
                    "\"SeCrEt/stdout\"}'\n"
                    "echo 'first line' >&2\n"
                    "printf 'Error: the SSO session has expired\\n\\n' >&2\n"
                    "exit 3\n");
    EXPECT_EQ(
        "credential_process of profile default (~/.aws/config) exited with status 3: "
        "Error: the SSO session has expired",
        resolve().error);

    // a helper that prints the key or token it had: the message hides them
    process_profile(
        "echo 'vault https://vault.corp:8200 said no; key "
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY token "
        "IQoJb3JpZ2luX2VjEJ//////////wEaCXVzLWVhc3QtMSJHMEUCIQ== (id 42)' >&2\n"
        "exit 1\n");
    EXPECT_EQ(
        "credential_process of profile default (~/.aws/config) exited with status 1: "
        "vault https://vault.corp:8200 said no; key [hidden] token [hidden] (id 42)",
        resolve().error);

    write(".aws/config", "[default]\nregion = us-east-1\n"
                         "credential_process = /nonexistent/helper\n");
    EXPECT_TRUE(contains(resolve().error, "exited with status 127 (command not found?)"))
        << resolve().error;

    process_profile("kill -TERM $$\n"); // the script dies, its shell reports 128+15
    EXPECT_TRUE(contains(resolve().error, "exited with status 143")) << resolve().error;
    write(".aws/config",
          "[default]\nregion = us-east-1\ncredential_process = kill -KILL $$\n");
    EXPECT_EQ(
        "credential_process of profile default (~/.aws/config) was killed by signal 9",
        resolve().error);
}

TEST_F(CredsProcess, Garbage)
{
    struct Case {
        std::string out, error;
    };
    const std::string who = "credential_process of profile default (~/.aws/config)";
    const std::vector<Case> cases = {
        {"AccessKeyId=A SecretAccessKey=SeCrEt/garbage",
         who +
             " printed no valid JSON (line 1, column 11): it must print {\"Version\": 1, "
             "\"AccessKeyId\": ..., \"SecretAccessKey\": ...}"},
        {"",
         who +
             " printed no valid JSON (line 1, column 0): it must print {\"Version\": 1, "
             "\"AccessKeyId\": ..., \"SecretAccessKey\": ...}"},
        {"[\"SeCrEt/array\"]", who + " printed JSON that is not an object: it must print "
                                     "{\"Version\": 1, \"AccessKeyId\": ..., "
                                     "\"SecretAccessKey\": ...}"},
        {"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SeCrEt/v2\"}",
         who + ": \"Version\" must be the number 1 (the only version AWS defines)"},
        {"{\"Version\":\"1\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SeCrEt/v\"}",
         who + ": \"Version\" must be the number 1 (the only version AWS defines)"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\"}",
         who + ": \"SecretAccessKey\" is missing or not a string"},
        {"{\"Version\":1,\"SecretAccessKey\":\"SeCrEt/noid\"}",
         who + ": \"AccessKeyId\" is missing or not a string"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SeCrEt/t\","
         "\"SessionToken\":5}",
         who + ": \"SessionToken\" is not a string"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SeCrEt/t\","
         "\"Expiration\":\"soon\"}",
         who +
             ": \"Expiration\" 'soon' is not an ISO 8601 time like 2026-11-28T16:17:42Z"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SeCrEt/t\","
         "\"Expiration\":\"2001-02-03T04:05:06Z\"}",
         who +
             " returned credentials that expired at 2001-02-03T04:05:06Z: renew them at "
             "their source"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SeCrEt/t\"} "
         "trailing",
         who +
             " printed no valid JSON (line 1, column 69): it must print {\"Version\": 1, "
             "\"AccessKeyId\": ..., \"SecretAccessKey\": ...}"},
    };
    for (auto &c : cases) {
        SCOPED_TRACE(c.out);
        write("out.txt", c.out);
        process_profile("cat \"$HOME/out.txt\"\n");
        EXPECT_EQ(c.error, resolve().error);
    }

    // more than 64 KiB
    process_profile("head -c 200000 /dev/zero | tr '\\0' S\n");
    EXPECT_EQ(who + " printed more than 64 KiB: it must print one small JSON object",
              resolve().error);
}

TEST_F(CredsProcess, TimeoutStopsTheWholeGroup)
{
    // A helper that hangs, and one that leaves a child holding stdout open.
    process_profile("sleep 30 &\necho $! > \"$HOME/child.pid\"\nwait\n");
    creds_options opt = {};
    opt.process_timeout_ms = 300;
    auto t0 = std::chrono::steady_clock::now();
    Result &r = resolve(&opt);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(
        "credential_process of profile default (~/.aws/config) did not finish within 1 "
        "s and was stopped: check that it runs without prompting",
        r.error);
    EXPECT_GE(secs, 0.29);
    EXPECT_LT(secs, 5.0);
    std::string pid = tu::slurp(home_ + "/child.pid");
    ASSERT_FALSE(pid.empty());
    int child = std::stoi(pid);
    // the background sleep was killed with its group (reaped by init)
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++) {
        std::string st = tu::slurp("/proc/" + std::to_string(child) + "/stat");
        gone = st.empty() || st.find(") Z") != std::string::npos;
        if (!gone)
            usleep(10000);
    }
    EXPECT_TRUE(gone) << "pid " << child << " still runs";

    process_profile("exec 1>&-\nsleep 30\n"); // closes stdout, keeps running
    auto t1 = std::chrono::steady_clock::now();
    EXPECT_TRUE(contains(resolve(&opt).error, "did not finish within 1 s"));
    EXPECT_LT(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(),
        5.0);
}

// ---- helpers ----------------------------------------------------------------

TEST(CredsMask, Lengths)
{
    char m[32];
    creds_mask_key(m, sizeof m, "AKIAIOSFODNN7EXAMPLE");
    EXPECT_STREQ("AKIA\xe2\x80\xa6MPLE", m);
    creds_mask_key(m, sizeof m, "AKIDEXAMPLE");
    EXPECT_STREQ("AK\xe2\x80\xa6LE", m);
    creds_mask_key(m, sizeof m, "ABCDE");
    EXPECT_STREQ("\xe2\x80\xa6", m);
    creds_mask_key(m, sizeof m, nullptr);
    EXPECT_STREQ("\xe2\x80\xa6", m);
}

TEST_F(Creds, ConfiguredSources)
{
    char what[256];
    creds_options opt = {};
    opt.profile = "x";
    EXPECT_EQ(1, creds_configured(&opt, what, sizeof what));
    EXPECT_STREQ("--profile", what);
    opt.profile = nullptr;
    opt.endpoint_url = "http://127.0.0.1:1";
    EXPECT_EQ(1, creds_configured(&opt, what, sizeof what));
    EXPECT_STREQ("--endpoint-url", what);
    opt.region = "us-east-1";
    opt.endpoint_url = nullptr;
    EXPECT_EQ(0,
              creds_configured(&opt, what, sizeof what)); // a region alone is not enough
    setenv("AWS_REGION", "us-east-1", 1);
    EXPECT_EQ(0, creds_configured(nullptr, nullptr, 0));

    for (const char *v : {"AWS_PROFILE", "AWS_ENDPOINT_URL_IOT", "AWS_ENDPOINT_URL",
                          "AWS_SECRET_ACCESS_KEY"}) {
        setenv(v, "x", 1);
        EXPECT_EQ(1, creds_configured(nullptr, what, sizeof what)) << v;
        EXPECT_STREQ(v, what);
        unsetenv(v);
    }
    write(".aws/config", "# nothing yet\n\n");
    EXPECT_EQ(0, creds_configured(nullptr, what, sizeof what));
    write(".aws/config", "  [default]\nregion = us-east-1\n");
    EXPECT_EQ(1, creds_configured(nullptr, what, sizeof what));
    EXPECT_EQ(home_ + "/.aws/config", what);
    unlink((home_ + "/.aws/config").c_str());
    std::string other = write("other-creds", "[p]\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", other.c_str(), 1);
    EXPECT_EQ(1, creds_configured(nullptr, what, sizeof what));
    EXPECT_EQ(other, what);
}

} // namespace
