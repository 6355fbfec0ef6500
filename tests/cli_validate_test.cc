// `thingpress validate` end to end: the binary, its output formats and exit
// codes, on every shared fixture (DESIGN.md §4).
#include <gtest/gtest.h>

#include <jansson.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"

namespace
{

struct Result {
    int rc = -1;
    std::string out, err;
};

Result run(const std::string &args, const std::string &env = "")
{
    std::string errf = tu::temp_file("stderr.txt", "");
    std::string cmd = env + " cli/thingpress " + args + " 2>" + errf;
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

std::vector<std::vector<std::string>> tsv_rows(const std::string &out)
{
    std::vector<std::vector<std::string>> rows;
    size_t pos = 0;
    while (pos < out.size()) {
        size_t nl = out.find('\n', pos);
        std::string line = out.substr(pos, nl - pos);
        pos = nl == std::string::npos ? out.size() : nl + 1;
        std::vector<std::string> cells;
        size_t c = 0;
        for (;;) {
            size_t t = line.find('\t', c);
            cells.push_back(line.substr(c, t - c));
            if (t == std::string::npos)
                break;
            c = t + 1;
        }
        rows.push_back(cells);
    }
    return rows;
}

// Expected (thing name, fingerprint) by index from a shared expected TSV.
void expect_tsv_matches(const std::string &args, const std::string &expected,
                        int name_col, int fp_col, int index_col = -1)
{
    Result r = run("validate --output tsv " + args);
    ASSERT_EQ(0, r.rc) << r.err;
    auto got = tsv_rows(r.out);
    auto want = tu::read_tsv(expected);
    ASSERT_EQ(want.size(), got.size()) << args;
    std::map<size_t, std::vector<std::string>> by_index;
    for (size_t i = 0; i < want.size(); i++)
        by_index[index_col < 0 ? i : std::stoul(want[i][index_col])] = want[i];
    for (size_t i = 0; i < got.size(); i++) {
        ASSERT_EQ(5u, got[i].size()) << "exactly 5 columns: " << i;
        EXPECT_EQ(std::to_string(i), got[i][0]);
        auto &w = by_index.at(i);
        EXPECT_EQ(w[name_col], got[i][1]) << args << " item " << i;
        EXPECT_EQ(w[fp_col], got[i][2]) << args << " item " << i;
        EXPECT_TRUE(got[i][3] == "ok" || got[i][3] == "warn") << got[i][4];
        if (got[i][3] == "ok") {
            EXPECT_EQ("", got[i][4]);
        }
    }
}

} // namespace

TEST(CliValidate, EveryVendorFixtureMatchesExpected)
{
    expect_tsv_matches("testdata/espressif/manifest-espressif.csv",
                       "testdata/expected/espressif-expected.tsv", 1, 2);
    expect_tsv_matches("testdata/generated/certificates_test.txt",
                       "testdata/expected/generated-expected.tsv", 1, 2);
    expect_tsv_matches("testdata/misc/single.pem",
                       "testdata/expected/single-pem-expected.tsv", 1, 2);
    expect_tsv_matches("testdata/infineon/manifest-infineon.7z",
                       "testdata/expected/infineon-E0E0-expected.tsv", 2, 3);
    for (const char *b : {"E0E0", "E0E1", "E0E2"})
        expect_tsv_matches(
            std::string("--infineon-bundle ") + b +
                " testdata/infineon/manifest-infineon.7z",
            std::string("testdata/expected/infineon-") + b + "-expected.tsv", 2, 3);
    // the Microchip expected TSV is in upstream's send order; match on manifest index
    expect_tsv_matches("testdata/microchip/ECC608C-TNGTLSU-B.json",
                       "testdata/expected/microchip-ECC608C-TNGTLSU-B-expected.tsv", 2, 3,
                       1);
}

TEST(CliValidate, MicrochipWithoutPublicKeySetSaysWhy)
{
    Result r = run("validate testdata/microchip/ECC608-TMNGTLSS-B.json");
    EXPECT_EQ(1, r.rc);
    EXPECT_NE(std::string::npos, r.out.find("no publicKeySet")) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("10 error")) << r.out;
    Result t = run("validate --output tsv testdata/microchip/ECC608-TMNGTLSS-B.json");
    auto rows = tsv_rows(t.out);
    ASSERT_EQ(10u, rows.size());
    for (auto &row : rows) {
        EXPECT_EQ("error", row[3]);
        EXPECT_EQ("", row[2]); // no certificate, no fingerprint
        EXPECT_FALSE(row[1].empty());
    }
}

TEST(CliValidate, ValidDeviceInfosPass)
{
    for (const char *f : {"testdata/mes/device-infos-unit-test.json",
                          "testdata/mes/device-infos-batch_id.json",
                          "testdata/mes/device-infos-espressif-phase2.json"}) {
        Result r = run(std::string("validate ") + f);
        EXPECT_EQ(0, r.rc) << f << "\n" << r.out << r.err;
    }
    Result t =
        run("validate --output tsv testdata/mes/device-infos-espressif-phase2.json");
    auto rows = tsv_rows(t.out);
    ASSERT_EQ(7u, rows.size());
    EXPECT_EQ("esp-E5B314DA749D", rows[1][1]);
    // the file has it in upper case; the column is lowercased
    EXPECT_EQ("589b045c6a808fa2b02dc1a72f8e8d565260b85207703a8bef01826054ac7728",
              rows[1][2]);
}

// Issue 14: --check-registry folds the registry's state into each verdict,
// read-only, on the same endpoint options as provision (here the embedded
// local endpoint: no AWS configuration).
TEST(CliValidate, CheckRegistryFoldsTheRegistryIntoTheVerdict)
{
    std::string state = tu::temp_file("checkreg.keep", "");
    state = state.substr(0, state.rfind('/')) + "/checkreg";
    mkdir(state.c_str(), 0700);
    std::string env = "env -i PATH=/usr/bin:/bin HOME=" + state;
    std::string st = " --state " + state + "/st ";
    const char *dev = "testdata/mes/device-infos-espressif-phase2.json";
    // Phase 2 before Phase 1: not registered, an error each
    Result a = run("validate --check-registry --output tsv" + st + dev, env);
    EXPECT_EQ(1, a.rc) << a.out << a.err;
    auto rows = tsv_rows(a.out);
    ASSERT_EQ(7u, rows.size()) << a.out;
    for (auto &r : rows) {
        EXPECT_EQ("error", r[3]);
        EXPECT_EQ("not registered: run Phase 1 first", r[4]);
    }
    // provision --dry-run says the same, and sends nothing
    Result d = run("provision --dry-run --policies BasicTestPolicy --thing-type "
                   "BasicTestType" +
                       st + dev,
                   env);
    EXPECT_EQ(1, d.rc) << d.out << d.err;
    EXPECT_NE(d.out.find("registry: 0 registered, 7 not registered; 7 would fail"),
              std::string::npos)
        << d.out;
    // Phase 1 (the sample policy is there headless too), then Phase 2 is ok
    Result p = run("provision --policies BasicTestPolicy --rate "
                   "RegisterCertificateWithoutCA=1000 --rate AttachPolicy=1000" +
                       st + "testdata/espressif/manifest-espressif.csv",
                   env);
    ASSERT_EQ(0, p.rc) << p.out << p.err;
    Result b = run("validate --check-registry --output tsv" + st + dev, env);
    EXPECT_EQ(0, b.rc) << b.out << b.err;
    for (auto &r : tsv_rows(b.out))
        EXPECT_EQ("ok", r[3]) << r[4];
    // issue 14: a sub-second job prints its real rate, not "0.0 items/s"
    EXPECT_EQ(p.out.find(" 0.0 items/s"), std::string::npos) << p.out;
    EXPECT_NE(p.out.find(" items/s"), std::string::npos) << p.out;
    // and the vendor file says they are registered already
    Result c = run("validate --check-registry --output json" + st +
                       "testdata/espressif/manifest-espressif.csv",
                   env);
    EXPECT_EQ(0, c.rc) << c.err;
    EXPECT_NE(c.out.find("already registered (INACTIVE)"), std::string::npos) << c.out;
    // nothing but reads: the check sent no mutating call (the journal has
    // the one provision job only)
    Result s = run("status --output tsv" + st, env);
    EXPECT_EQ(1u, tsv_rows(s.out).size()) << s.out;
}

// Issue 14: the local endpoint's database in use: the advice names an
// option provision has (--state), not the sim's --db.
TEST(CliValidate, LocalEndpointInUseNamesAnOptionOfProvision)
{
    std::string dir = tu::temp_file("inuse.keep", "");
    dir = dir.substr(0, dir.rfind('/')) + "/inuse";
    mkdir(dir.c_str(), 0700);
    std::string out = dir + "/sim.out";
    std::string cmd = "cli/thingpress sim --listen 127.0.0.1:0 --db " + dir +
                      "/local-endpoint.db >" + out + " 2>&1 & echo $!";
    FILE *p = popen(cmd.c_str(), "r");
    long pid = 0;
    ASSERT_EQ(1, fscanf(p, "%ld", &pid));
    pclose(p);
    for (int i = 0; i < 100 && tu::slurp(out).find("listening on") == std::string::npos;
         i++)
        usleep(50000);
    Result r =
        run("provision --local --state " + dir +
                " --policies BasicTestPolicy testdata/espressif/manifest-espressif.csv",
            "env -i PATH=/usr/bin:/bin HOME=" + dir);
    kill((pid_t)pid, SIGTERM);
    EXPECT_EQ(2, r.rc) << r.err;
    EXPECT_NE(r.err.find("give this one another --state"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("--db"), std::string::npos) << r.err;
}

// Issue 14: the station profile: the first layer of a job's options, its
// name in the report, watch's hot folder, and locked fields refused.
TEST(CliValidate, StationProfile)
{
    std::string dir = tu::temp_file("station.keep", "");
    dir = dir.substr(0, dir.rfind('/')) + "/station";
    mkdir(dir.c_str(), 0700);
    mkdir((dir + "/cfg").c_str(), 0700);
    mkdir((dir + "/cfg/thingpress").c_str(), 0700);
    mkdir((dir + "/hot").c_str(), 0700);
    tu::temp_file("unused", "");
    FILE *f = fopen((dir + "/cfg/thingpress/station.toml").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fprintf(f,
            "# line 3, PC 1\nstation = \"line3-pc1\"\nhot_folder = \"%s/hot\"\n"
            "policies = [\"BasicTestPolicy\"]   # every certificate\n"
            "locked = [\"policies\", \"endpoint\"]\n",
            dir.c_str());
    fclose(f);
    std::string env =
        "env -i PATH=/usr/bin:/bin HOME=" + dir + " XDG_CONFIG_HOME=" + dir + "/cfg";
    std::string st = " --state " + dir + "/st ";
    // its policies without --policies; its name in the report
    Result p = run(
        "provision --rate RegisterCertificateWithoutCA=1000 --rate AttachPolicy=1000" +
            st + "testdata/espressif/manifest-espressif.csv",
        env);
    EXPECT_EQ(0, p.rc) << p.out << p.err;
    EXPECT_NE(p.out.find("policies 7"), std::string::npos) << p.out;
    std::string report = tu::slurp(dir + "/st/reports/job-1.json");
    EXPECT_NE(report.find("\"station\": \"line3-pc1\""), std::string::npos) << report;
    // a locked field is not changed on the command line
    Result l = run("provision --policies Other" + st +
                       "testdata/espressif/manifest-espressif.csv",
                   env);
    EXPECT_EQ(2, l.rc) << l.out << l.err;
    EXPECT_NE(l.err.find("policies is locked by the station profile"), std::string::npos)
        << l.err;
    // watch's folder when none is given
    Result w = run("watch --once" + st, env);
    EXPECT_EQ(0, w.rc) << w.out << w.err;
    // a bad line is named
    f = fopen((dir + "/cfg/thingpress/station.toml").c_str(), "a");
    fprintf(f, "workers = [1\n");
    fclose(f);
    Result b = run("provision" + st + "testdata/espressif/manifest-espressif.csv", env);
    EXPECT_EQ(2, b.rc);
    EXPECT_NE(b.err.find("station.toml:6"), std::string::npos) << b.err;
}

// Issue 14: the text report labels both numbers: the 0-based index (as in
// tsv and json) and the 1-based line.
TEST(CliValidate, TextLabelsTheIndexAndTheLine)
{
    Result r = run("validate testdata/mes/device-infos-espressif-one-invalid.json");
    EXPECT_EQ(1, r.rc);
    EXPECT_NE(r.out.find("error index 4, line 35 esp-5042C6471A9C: "), std::string::npos)
        << r.out;
}

// Issue 14: detection by content. A .txt whose first line is not a base64
// certificate (shift notes) is not 24 invalid certificates but no Generated
// file at all; a JSON lines file is not device-infos.
TEST(CliValidate, DetectionByContentRejectsTextAndJsonLines)
{
    std::string notes =
        tu::temp_file("shift-notes.txt", "Shift B, line 3\nStarted 06:00, 24 boards\n"
                                         "Operator: K. Jansen\n");
    Result r = run("validate " + notes);
    EXPECT_EQ(2, r.rc) << r.out << r.err;
    EXPECT_NE(r.err.find("not a Generated certificate file"), std::string::npos) << r.err;
    EXPECT_EQ(1u, std::count(r.err.begin(), r.err.end(), '\n')) << r.err;
    std::string jl = tu::temp_file("audit.jsonl", "{\"time\":\"x\"}\n{\"time\":\"y\"}\n");
    r = run("validate " + jl);
    EXPECT_EQ(2, r.rc) << r.out << r.err;
    EXPECT_NE(r.err.find("not a device-infos file"), std::string::npos) << r.err;
    // a real Generated file named .txt still is one
    r = run("validate testdata/generated/certificates_test.txt");
    EXPECT_EQ(0, r.rc) << r.err;
}

TEST(CliValidate, InvalidDeviceInfosAreRejectedWithTheDocumentedReason)
{
    struct Case {
        const char *file;
        int rc;
        const char *reason;
    } cases[] = {
        {"not-json.json", 2, "invalid JSON"},
        {"missing-batchId.json", 2, "missing required field: batch_id"},
        {"missing-devices.json", 2, "missing or empty devices array"},
        {"empty-devices.json", 2, "missing or empty devices array"},
        {"missing-certFingerprint.json", 1, "Missing certFingerprint"},
        {"missing-deviceId.json", 1, "Missing deviceId"},
        {"short-certFingerprint.json", 1,
         "Invalid certFingerprint format (must be 64 hex chars)"},
        {"nonhex-certFingerprint.json", 1,
         "certFingerprint must contain only hex characters (0-9, a-f, A-F)"},
    };
    for (auto &c : cases) {
        std::string path = std::string("testdata/mes/invalid/") + c.file;
        Result r = run("validate " + path);
        EXPECT_EQ(c.rc, r.rc) << c.file;
        if (c.rc == 2) {
            // one line on stderr naming the file
            EXPECT_EQ(1, std::count(r.err.begin(), r.err.end(), '\n')) << r.err;
            EXPECT_EQ(0u, r.err.find("thingpress: " + path)) << r.err;
            EXPECT_NE(std::string::npos, r.err.find(c.reason)) << r.err;
        } else {
            EXPECT_NE(std::string::npos, r.out.find(c.reason)) << r.out;
            EXPECT_NE(std::string::npos, r.out.find("index 0, line ")) << r.out;
        }
    }
}

TEST(CliValidate, JsonOutputIsOneDocumentWithASummary)
{
    Result r = run("validate --output json testdata/mes/invalid/missing-deviceId.json");
    EXPECT_EQ(1, r.rc);
    json_error_t je;
    json_t *doc = json_loads(r.out.c_str(), 0, &je);
    ASSERT_NE(nullptr, doc) << je.text << "\n" << r.out;
    EXPECT_STREQ("device-infos", json_string_value(json_object_get(doc, "vendor")));
    EXPECT_EQ(2, json_integer_value(json_object_get(doc, "phase")));
    EXPECT_STREQ("batch-001", json_string_value(json_object_get(doc, "batch_id")));
    json_t *sum = json_object_get(doc, "summary");
    EXPECT_EQ(1, json_integer_value(json_object_get(sum, "error")));
    json_t *items = json_object_get(doc, "items");
    ASSERT_EQ(1u, json_array_size(items));
    EXPECT_STREQ("error",
                 json_string_value(json_object_get(json_array_get(items, 0), "verdict")));
    json_decref(doc);

    Result bad = run("validate --output json testdata/mes/invalid/not-json.json");
    EXPECT_EQ(2, bad.rc);
    doc = json_loads(bad.out.c_str(), 0, &je);
    ASSERT_NE(nullptr, doc) << je.text << "\n" << bad.out;
    EXPECT_TRUE(json_is_string(json_object_get(doc, "rejected")));
    json_decref(doc);
}

TEST(CliValidate, TextOutputHasNoColorWhenNotATty)
{
    Result r = run("validate testdata/generated/certificates_test.txt");
    EXPECT_EQ(std::string::npos, r.out.find('\033'));
    EXPECT_NE(std::string::npos, r.out.find("100 items")) << r.out;
}

TEST(CliValidate, AttributeLimitFollowsThingType)
{
    std::string f = tu::temp_file(
        "four.json",
        R"({"batch_id": "b", "devices": [{"certFingerprint": ")" + std::string(64, 'a') +
            R"(", "deviceId": "d1", "attributes": {"a": "1", "b": "2", "c": "3", "d": "4"}}]})");
    EXPECT_EQ(1, run("validate " + f).rc);
    EXPECT_EQ(0, run("validate --thing-type Sensor " + f).rc);
}

TEST(CliValidate, BadInvocationsExitTwoWithOneLine)
{
    for (const char *args :
         {"validate", "validate --output xml testdata/misc/single.pem",
          "validate --vendor nokia testdata/misc/single.pem",
          "validate /nonexistent/file.csv", "validate testdata",
          "validate --frobnicate testdata/misc/single.pem",
          "validate --policies a,b,c,d,e,f,g,h,i,j,k testdata/misc/single.pem",
          "validate --infineon-bundle E0E9 testdata/infineon/manifest-infineon.7z",
          "validate --cert-active maybe testdata/misc/single.pem", "frobnicate"}) {
        Result r = run(args);
        EXPECT_EQ(2, r.rc) << args;
        EXPECT_EQ(1, std::count(r.err.begin(), r.err.end(), '\n'))
            << args << ": " << r.err;
        EXPECT_EQ(0u, r.err.find("thingpress: ")) << r.err;
    }
    EXPECT_EQ(0, run("validate --policies a,None,,b testdata/misc/single.pem").rc);
}

TEST(CliValidate, VendorOverridesDetection)
{
    // a PEM read as DER is not DER: the whole file is rejected
    Result r = run("validate --vendor der testdata/misc/single.pem");
    EXPECT_EQ(2, r.rc);
    EXPECT_NE(std::string::npos, r.err.find("not a DER")) << r.err;
    // a Generated file under a name without a known extension is detected by content
    std::string copy = tu::temp_file(
        "certs.data", tu::slurp("testdata/generated/certificates_test.txt"));
    EXPECT_EQ(0, run("validate " + copy).rc);
}

TEST(CliValidate, HelpDocumentsTheOutputs)
{
    Result r = run("validate --help");
    EXPECT_EQ(0, r.rc);
    EXPECT_NE(std::string::npos, r.out.find("--output text|json|tsv"));
    EXPECT_NE(std::string::npos, r.out.find("--thing-type"));
}
