// `thingpress sim seed` (issue 14): one's own policies, thing groups and
// thing types on the local endpoint for training, straight in its database;
// then `provision` headless uses them, a missing one is still refused at the
// pre-flight, and nothing but a local endpoint's database is ever written.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/testutil.h"

namespace
{

struct Result {
    int rc = -1;
    std::string out, err;
};

// A fresh directory under the test's temporary directory.
std::string fresh_dir(const std::string &name)
{
    std::string d = tu::temp_file(name + ".keep", "");
    d = d.substr(0, d.rfind('/')) + "/" + name;
    mkdir(d.c_str(), 0700);
    return d;
}

// thingpress with no AWS configuration (HOME = home, nothing else) unless
// env says otherwise.
Result run(const std::string &home, const std::string &args, const std::string &env = "")
{
    std::string errf = tu::temp_file("stderr.txt", "");
    std::string cmd = "env -i PATH=/usr/bin:/bin HOME=" + home + " " + env +
                      " cli/thingpress " + args + " 2>" + errf;
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

bool has(const std::string &s, const std::string &what)
{
    return s.find(what) != std::string::npos;
}

const char kManifest[] = " testdata/espressif/manifest-espressif.csv";
const char kPhase2[] = " testdata/mes/device-infos-espressif-phase2.json";
const char kFast[] = " --rate RegisterCertificateWithoutCA=1000 --rate AttachPolicy=1000 "
                     "--rate UpdateCertificate=1000 ";

TEST(CliSimSeed, SeededResourcesProvisionHeadless)
{
    std::string home = fresh_dir("seed-home");
    std::string st = " --state " + home + "/st ";
    // not there yet: the pre-flight refuses the job, nothing is sent
    Result before = run(home, "provision --policies TrainPolicy" + st + kManifest);
    EXPECT_EQ(2, before.rc) << before.err;
    EXPECT_TRUE(has(before.err, "pre-flight: policy 'TrainPolicy' does not exist"))
        << before.err;

    Result s = run(home, "sim seed" + st +
                             "--policy TrainPolicy=testdata/misc/test-policy-basic.json "
                             "--thing-group TrainGroup --thing-type TrainType");
    ASSERT_EQ(0, s.rc) << s.out << s.err;
    EXPECT_TRUE(has(s.out, "local endpoint " + home + "/st/local-endpoint.db:")) << s.out;
    EXPECT_TRUE(has(s.out, "  policy TrainPolicy: created\n")) << s.out;
    EXPECT_TRUE(has(s.out, "  thing group TrainGroup: created\n")) << s.out;
    EXPECT_TRUE(has(s.out, "  thing type TrainType: created\n")) << s.out;
    EXPECT_EQ("", s.err);

    // Phase 1 with the seeded policy, Phase 2 with the seeded group and type
    Result p1 = run(home, "provision --policies TrainPolicy" + st + kFast + kManifest);
    EXPECT_EQ(0, p1.rc) << p1.out << p1.err;
    EXPECT_TRUE(has(p1.out, "7 items, 7 done, 0 failed")) << p1.out;
    Result p2 = run(home, "provision --thing-groups TrainGroup --thing-type TrainType" +
                              st + kFast + kPhase2);
    EXPECT_EQ(0, p2.rc) << p2.out << p2.err;
    EXPECT_TRUE(has(p2.out, "7 items, 7 done, 0 failed")) << p2.out;

    // a policy nobody seeded is still refused at the pre-flight
    Result miss = run(home, "provision --policies NotSeeded" + st + kManifest);
    EXPECT_EQ(2, miss.rc) << miss.err;
    EXPECT_TRUE(has(miss.err, "pre-flight: policy 'NotSeeded' does not exist"))
        << miss.err;
    Result missg = run(home, "provision --thing-groups NoGroup" + st + kPhase2);
    EXPECT_EQ(2, missg.rc) << missg.err;
    EXPECT_TRUE(has(missg.err, "pre-flight: thing group 'NoGroup' does not exist"))
        << missg.err;

    // seeding again is harmless: all kept; the samples are there as well
    Result again = run(home, "sim seed" + st +
                                 "--policy TrainPolicy --thing-group TrainGroup "
                                 "--thing-type TrainType --policy BasicTestPolicy");
    EXPECT_EQ(0, again.rc) << again.err;
    EXPECT_TRUE(has(again.out, "  policy TrainPolicy: there already, kept\n"))
        << again.out;
    EXPECT_TRUE(has(again.out, "  thing type TrainType: there already, kept\n"))
        << again.out;
    EXPECT_TRUE(has(again.out, "  policy BasicTestPolicy: there already, kept\n"))
        << again.out;
}

// The default state directory, as provision settles it, and a
// `thingpress sim --db` file.
TEST(CliSimSeed, DefaultStateAndSimDb)
{
    std::string home = fresh_dir("seed-default");
    Result s = run(home, "sim seed --thing-type T1");
    ASSERT_EQ(0, s.rc) << s.err;
    EXPECT_TRUE(has(s.out, home + "/.local/state/thingpress/local-endpoint.db")) << s.out;
    Result x = run(home, "sim seed --thing-type T1", "XDG_STATE_HOME=" + home + "/xdg");
    ASSERT_EQ(0, x.rc) << x.err;
    EXPECT_TRUE(has(x.out, home + "/xdg/thingpress/local-endpoint.db")) << x.out;
    EXPECT_TRUE(has(x.out, "thing type T1: created")) << x.out;

    std::string db = home + "/sim.db";
    Result d = run(home, "sim seed --db " + db + " --thing-group G1");
    ASSERT_EQ(0, d.rc) << d.err;
    EXPECT_TRUE(has(d.out, "thing group G1: created")) << d.out;
    Result both = run(home, "sim seed --db " + db + " --state " + home + " --policy P");
    EXPECT_EQ(2, both.rc);
    EXPECT_TRUE(has(both.err, "not both")) << both.err;
}

// Only a local endpoint's database, never AWS, never another file.
TEST(CliSimSeed, RefusesAnythingButTheLocalEndpoint)
{
    std::string home = fresh_dir("seed-refuse");
    std::string st = " --state " + home + "/st ";
    // a job makes the state directory's journal
    ASSERT_EQ(
        0, run(home, "provision --policies BasicTestPolicy" + st + kFast + kManifest).rc);
    std::string journal = home + "/st/journal.db";
    std::string before = tu::slurp(journal);
    ASSERT_FALSE(before.empty());
    Result j = run(home, "sim seed --db " + journal + " --policy P");
    EXPECT_EQ(2, j.rc);
    EXPECT_TRUE(has(j.err, "not a local endpoint's database")) << j.err;
    EXPECT_EQ(before, tu::slurp(journal)) << "the journal was written";
    std::string text = tu::temp_file("notes.txt", "shift notes\n");
    Result t = run(home, "sim seed --db " + text + " --policy P");
    EXPECT_EQ(2, t.rc);
    EXPECT_TRUE(has(t.err, "not a local endpoint's database")) << t.err;
    EXPECT_EQ("shift notes\n", tu::slurp(text));
    Result dir = run(home, "sim seed --db " + home + " --policy P");
    EXPECT_EQ(2, dir.rc);

    // options that would point at AWS are refused by name
    for (const char *o : {"--endpoint-url https://iot.us-east-1.amazonaws.com",
                          "--profile prod", "--region eu-west-1", "--local"}) {
        Result a = run(home, std::string("sim seed --policy P ") + o);
        EXPECT_EQ(2, a.rc) << o;
        EXPECT_TRUE(has(a.err, "never contacts AWS")) << o << ": " << a.err;
    }
    // an AWS configuration in the environment changes nothing: the local
    // endpoint's database is still the one written
    Result env = run(home, "sim seed --policy WithAwsConfigured" + st,
                     "AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=x "
                     "AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:9");
    EXPECT_EQ(0, env.rc) << env.err;
    EXPECT_TRUE(has(env.out, home + "/st/local-endpoint.db")) << env.out;
    EXPECT_TRUE(has(env.out, "policy WithAwsConfigured: created")) << env.out;

    // in use by a running endpoint: refused, with what to do
    std::string out = home + "/sim.out";
    FILE *p = popen(("cli/thingpress sim --listen 127.0.0.1:0 --db " + home +
                     "/st/local-endpoint.db >" + out + " 2>&1 & echo $!")
                        .c_str(),
                    "r");
    long pid = 0;
    ASSERT_EQ(1, fscanf(p, "%ld", &pid));
    pclose(p);
    for (int i = 0; i < 200 && !has(tu::slurp(out), "listening on"); i++)
        usleep(50000);
    Result busy = run(home, "sim seed --policy P" + st);
    kill((pid_t)pid, SIGTERM);
    EXPECT_EQ(2, busy.rc) << busy.out;
    EXPECT_TRUE(has(busy.err, "in use")) << busy.err;
    EXPECT_TRUE(has(busy.err, "stop that one first")) << busy.err;
}

// AWS IoT's rules, as the endpoint applies them over HTTP; a refusal stops
// the run: what came before is created, nothing after.
TEST(CliSimSeed, NamesAndDocumentsFollowAwsRules)
{
    std::string home = fresh_dir("seed-rules");
    std::string st = " --state " + home + "/st ";
    Result bad = run(home, "sim seed" + st +
                               "--thing-type Before --policy 'bad name' "
                               "--thing-type After");
    EXPECT_EQ(2, bad.rc);
    EXPECT_TRUE(has(bad.err, "policy bad name: policy name 'bad name' contains ' '"))
        << bad.err;
    EXPECT_TRUE(has(bad.out, "thing type Before: created")) << bad.out;
    EXPECT_FALSE(has(bad.out, "After")) << bad.out;
    Result after = run(home, "sim seed" + st + "--thing-type After");
    EXPECT_TRUE(has(after.out, "thing type After: created")) << after.out;

    std::string broken = tu::temp_file("broken.json", "{\"Version\": ");
    Result m = run(home, "sim seed" + st + "--policy Broken=" + broken);
    EXPECT_EQ(2, m.rc);
    EXPECT_TRUE(has(m.err, "policy Broken: The policy document is not a JSON object"))
        << m.err;
    Result missing = run(home, "sim seed" + st + "--policy P=/nonexistent.json");
    EXPECT_EQ(2, missing.rc);
    EXPECT_TRUE(has(missing.err, "cannot read the policy document")) << missing.err;
    EXPECT_EQ("", missing.out) << "nothing opened before the documents are read";
    EXPECT_EQ(2, run(home, "sim seed" + st + "--thing-group 'a b'").rc);
    EXPECT_EQ(2, run(home, "sim seed" + st + "--thing-type " + std::string(129, 't')).rc);

    // one version of a policy: the same document again is fine, another not
    std::string doc =
        tu::temp_file("own.json", R"({"Version":"2012-10-17","Statement":[]})");
    std::string other =
        tu::temp_file("other.json", R"({"Version":"2012-10-17","Statement":[{}]})");
    EXPECT_EQ(0, run(home, "sim seed" + st + "--policy Own=" + doc).rc);
    Result same = run(home, "sim seed" + st + "--policy Own=" + doc);
    EXPECT_EQ(0, same.rc) << same.err;
    EXPECT_TRUE(has(same.out, "policy Own: there already, kept")) << same.out;
    Result diff = run(home, "sim seed" + st + "--policy Own=" + other);
    EXPECT_EQ(2, diff.rc);
    EXPECT_TRUE(has(diff.err, "policy Own is on the local endpoint already, with another "
                              "document"))
        << diff.err;

    Result none = run(home, "sim seed" + st);
    EXPECT_EQ(2, none.rc);
    EXPECT_TRUE(has(none.err, "nothing to create")) << none.err;
    Result help = run(home, "sim seed --help");
    EXPECT_EQ(0, help.rc);
    EXPECT_TRUE(has(help.out, "never contacts AWS")) << help.out;
    EXPECT_TRUE(has(run(home, "sim --help").out, "thingpress sim seed"));
}

} // namespace
