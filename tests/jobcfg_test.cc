// Job configuration: our TOML file, SAM samconfig.toml, command-line keys.
#include <gtest/gtest.h>

#include <string>

#include "engine/jobcfg.h"
#include "tests/testutil.h"

namespace
{

struct Cfg {
    jobcfg c;
    err e;
    Cfg()
    {
        jobcfg_init(&c);
        err_clear(&e);
    }
    ~Cfg()
    {
        jobcfg_free(&c);
    }
    int load(const std::string &name, const std::string &text)
    {
        return jobcfg_load(&c, tu::temp_file(name, text).c_str(), &e);
    }
    std::string identity()
    {
        buf b = BUF_INIT;
        jobcfg_identity(&c, &b);
        std::string s(b.data, b.len);
        buf_free(&b);
        return s;
    }
};

} // namespace

TEST(JobCfg, SamconfigStringOverrides)
{
    Cfg x;
    ASSERT_EQ(0, x.load("samconfig.toml", R"(version = 0.1
[default]
[default.deploy]
[default.deploy.parameters]
stack_name = "thingpress"
capabilities = "CAPABILITY_IAM"
parameter_overrides = "IoTPolicies=\"PolicyA,PolicyB\" IoTThingGroups=\"GroupA,None\" IoTThingType=\"Sensor\" IoTCertActive=\"FALSE\" IoTThingDeferred=\"TRUE\" ConcurrentExecutions=\"10\""
)")) << x.e.msg;
    ASSERT_EQ(2u, x.c.n_policies);
    EXPECT_STREQ("PolicyA", x.c.policies[0]);
    EXPECT_STREQ("PolicyB", x.c.policies[1]);
    ASSERT_EQ(1u, x.c.n_thing_groups); // "None" dropped
    EXPECT_STREQ("GroupA", x.c.thing_groups[0]);
    EXPECT_STREQ("Sensor", x.c.thing_type);
    EXPECT_EQ(0, x.c.cert_active);
    EXPECT_EQ(1, x.c.thing_deferred);
}

TEST(JobCfg, SamconfigArrayFormAndLegacyNames)
{
    Cfg x;
    ASSERT_EQ(0, x.load("sam2.toml", R"(version = 0.1
[default.deploy.parameters]
parameter_overrides = ["IoTPolicy=OnlyPolicy", "IoTThingGroup=G 1", "IoTCertActive=TRUE", "IoTThingDeferred=false"]
)")) << x.e.msg;
    ASSERT_EQ(1u, x.c.n_policies);
    EXPECT_STREQ("OnlyPolicy", x.c.policies[0]);
    ASSERT_EQ(1u, x.c.n_thing_groups);
    EXPECT_STREQ("G 1", x.c.thing_groups[0]);
    EXPECT_EQ(1, x.c.cert_active);
    EXPECT_EQ(0, x.c.thing_deferred);
    // "G 1" is not a valid group name: the check says so
    EXPECT_EQ(-1, jobcfg_check(&x.c, &x.e));
    EXPECT_NE(std::string::npos, std::string(x.e.msg).find("G 1")) << x.e.msg;
}

TEST(JobCfg, SamconfigWithoutOverridesIsAnError)
{
    Cfg x;
    EXPECT_EQ(-1, x.load("sam3.toml", "version = 0.1\n[default.deploy.parameters]\n"
                                      "stack_name = \"x\"\n"));
    EXPECT_NE(std::string::npos, std::string(x.e.msg).find("parameter_overrides"));
}

TEST(JobCfg, OwnFormat)
{
    Cfg x;
    ASSERT_EQ(0, x.load("job.toml", R"(# line 3 job
policies = ["P1", "P2"]   # an array works like "P1,P2"
thing-groups = "G1"
thing_type = 'T-1'
cert_active = true
thing_deferred = false
endpoint_url = "http://127.0.0.1:4567"
region = "eu-west-1"

[rates]
CreateThing = 50
AttachPolicy = 7.5
)")) << x.e.msg;
    EXPECT_EQ(2u, x.c.n_policies);
    EXPECT_STREQ("G1", x.c.thing_groups[0]);
    EXPECT_STREQ("T-1", x.c.thing_type);
    EXPECT_EQ(1, x.c.cert_active);
    EXPECT_EQ(0, x.c.thing_deferred);
    EXPECT_STREQ("http://127.0.0.1:4567", x.c.endpoint_url);
    EXPECT_STREQ("eu-west-1", x.c.region);
    ASSERT_EQ(2u, x.c.n_rates);
    EXPECT_STREQ("CreateThing", x.c.rates[0].op);
    EXPECT_DOUBLE_EQ(7.5, x.c.rates[1].tps);
    EXPECT_EQ(0, jobcfg_check(&x.c, &x.e));
}

TEST(JobCfg, ErrorsNameTheFileAndLine)
{
    struct Case {
        const char *text;
        unsigned long line;
        const char *what;
    } cases[] = {
        {"policies = \"a\"\nthing_tpye = \"T\"\n", 2, "unknown key"},
        {"cert_active = maybe\n", 1, "true or false"},
        {"\n\npolicies = \"a\n", 3, "unterminated"},
        {"policies = \"\"\"a\"\"\"\n", 1, "multi-line"},
        {"[weird]\nx = 1\n", 2, "unknown table"},
        {"policies \"a\"\n", 1, "expected '='"},
        {"[rates]\nCreateThing = -3\n", 2, "number > 0"},
        {"vendor = \"nokia\"\n", 1, "unknown vendor"},
        {"infineon_bundle = \"E0E5\"\n", 1, "E0E0"},
    };
    for (auto &c : cases) {
        Cfg x;
        EXPECT_EQ(-1, x.load("bad.toml", c.text)) << c.text;
        EXPECT_EQ(c.line, x.e.line) << c.text << " -> " << x.e.msg;
        EXPECT_NE(std::string::npos, std::string(x.e.msg).find(c.what))
            << c.text << " -> " << x.e.msg;
        EXPECT_NE(std::string::npos, std::string(x.e.where).find("bad.toml"));
    }
    Cfg missing;
    EXPECT_EQ(-1, jobcfg_load(&missing.c, "/nonexistent/job.toml", &missing.e));
    EXPECT_EQ(ERR_IO, missing.e.code);
}

TEST(JobCfg, CommandLineWinsAndIdentityCoversWhatChangesTheRegistry)
{
    Cfg x;
    ASSERT_EQ(0, x.load("base.toml", "policies = \"A\"\nregion = \"us-east-1\"\n"));
    std::string before = x.identity();
    ASSERT_EQ(1, jobcfg_set(&x.c, "policies", "B,None,,C", NULL, 0, &x.e));
    ASSERT_EQ(2u, x.c.n_policies);
    EXPECT_STREQ("B", x.c.policies[0]);
    EXPECT_NE(before, x.identity());
    // the region does not change what the job does to the registry's content
    std::string after = x.identity();
    ASSERT_EQ(1, jobcfg_set(&x.c, "region", "eu-west-1", NULL, 0, &x.e));
    EXPECT_EQ(after, x.identity());
    EXPECT_EQ(0, jobcfg_set(&x.c, "no-such-key", "1", NULL, 0, &x.e));
    EXPECT_EQ(-1, jobcfg_set(&x.c, "IoTThingDeferred", "perhaps", NULL, 0, &x.e));
}

TEST(JobCfg, TooManyPoliciesIsRejected)
{
    Cfg x;
    ASSERT_EQ(1, jobcfg_set(&x.c, "policies", "a,b,c,d,e,f,g,h,i,j", NULL, 0, &x.e));
    EXPECT_EQ(0, jobcfg_check(&x.c, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "policies", "a,b,c,d,e,f,g,h,i,j,k", NULL, 0, &x.e));
    EXPECT_EQ(-1, jobcfg_check(&x.c, &x.e));
}

// AWS allows a thing in at most 10 groups: more is refused before anything is
// sent, and 60 (which overflowed the plan's fixed array) is refused cleanly.
TEST(JobCfg, TooManyThingGroupsIsRejected)
{
    Cfg x;
    ASSERT_EQ(1, jobcfg_set(&x.c, "thing_groups", "a,b,c,d,e,f,g,h,i,j", NULL, 0, &x.e));
    EXPECT_EQ(0, jobcfg_check(&x.c, &x.e));
    ASSERT_EQ(1,
              jobcfg_set(&x.c, "thing_groups", "a,b,c,d,e,f,g,h,i,j,k", NULL, 0, &x.e));
    EXPECT_EQ(-1, jobcfg_check(&x.c, &x.e));
    EXPECT_NE(std::string::npos, std::string(x.e.msg).find("at most 10")) << x.e.msg;
    std::string many;
    for (int i = 0; i < 60; i++)
        many += (i ? ",g" : "g") + std::to_string(i);
    ASSERT_EQ(1, jobcfg_set(&x.c, "thing_groups", many.c_str(), NULL, 0, &x.e));
    EXPECT_EQ(-1, jobcfg_check(&x.c, &x.e));
    EXPECT_EQ(nullptr, strchr(x.e.msg, '\n'));
}

// jobcfg_from_identity reads back what jobcfg_identity wrote (the journal's
// copy of a job's configuration, to resume it).
TEST(JobCfg, IdentityRoundTrip)
{
    Cfg x;
    ASSERT_EQ(1, jobcfg_set(&x.c, "policies", "A,B", NULL, 0, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "thing_groups", "G", NULL, 0, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "thing_type", "T\"y\\p\xc3\xa9", NULL, 0, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "vendor", "infineon", NULL, 0, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "infineon_bundle", "E0E1", NULL, 0, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "cert_active", "true", NULL, 0, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "thing_deferred", "false", NULL, 0, &x.e));
    ASSERT_EQ(1, jobcfg_set(&x.c, "skip_invalid", "true", NULL, 0, &x.e));
    std::string id = x.identity();

    Cfg y;
    ASSERT_EQ(0, jobcfg_from_identity(&y.c, id.c_str(), &y.e)) << y.e.msg;
    EXPECT_EQ(id, y.identity());
    ASSERT_EQ(2u, y.c.n_policies);
    EXPECT_STREQ("A", y.c.policies[0]);
    EXPECT_STREQ("B", y.c.policies[1]);
    ASSERT_EQ(1u, y.c.n_thing_groups);
    EXPECT_STREQ("G", y.c.thing_groups[0]);
    EXPECT_STREQ("T\"y\\p\xc3\xa9", y.c.thing_type);
    EXPECT_EQ(VENDOR_INFINEON, y.c.vendor);
    EXPECT_STREQ("E0E1", y.c.infineon_bundle);
    EXPECT_TRUE(y.c.cert_active);
    EXPECT_FALSE(y.c.thing_deferred);
    EXPECT_TRUE(y.c.skip_invalid);

    // the defaults: no policy, no group, no type (null)
    Cfg d;
    std::string def = d.identity();
    Cfg z;
    ASSERT_EQ(0, jobcfg_from_identity(&z.c, def.c_str(), &z.e)) << z.e.msg;
    EXPECT_EQ(def, z.identity());
    EXPECT_EQ(0u, z.c.n_policies);
    EXPECT_EQ(nullptr, z.c.thing_type);
}

TEST(JobCfg, IdentityFromANewerJournalAndBadOnes)
{
    // a key this version does not know is left alone
    Cfg x;
    ASSERT_EQ(0,
              jobcfg_from_identity(&x.c, "{\"policies\":[\"P\"],\"future\":\"x\"}", &x.e))
        << x.e.msg;
    ASSERT_EQ(1u, x.c.n_policies);
    EXPECT_STREQ("P", x.c.policies[0]);

    // not the shape jobcfg_identity writes
    for (const char *bad : {"{\"policies\":[", "", "[]", "{\"cert_active\":1}",
                            "{\"policies\":[\"A\",2]}", "{\"thing_type\":{}}"}) {
        Cfg b;
        EXPECT_EQ(-1, jobcfg_from_identity(&b.c, bad, &b.e)) << bad;
        EXPECT_EQ(ERR_FORMAT, b.e.code) << bad;
    }
    Cfg n;
    EXPECT_EQ(-1, jobcfg_from_identity(&n.c, NULL, &n.e));

    // a value jobcfg_set refuses fails as it would in a file
    Cfg v;
    EXPECT_EQ(-1, jobcfg_from_identity(&v.c, "{\"thing_deferred\":\"perhaps\"}", &v.e));
    EXPECT_EQ(ERR_USAGE, v.e.code);
    EXPECT_STREQ("job identity", v.e.where);
    EXPECT_NE(std::string(v.e.msg).find("perhaps"), std::string::npos) << v.e.msg;
}
