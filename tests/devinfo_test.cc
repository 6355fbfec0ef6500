// The device-infos reader (parsers/devinfo.c) together with the validation
// rules it relies on for value formats (parsers/validate.c): the shared
// fixtures, every file of testdata/mes/invalid with its documented reason, and
// hand-made documents for the edges.
#include <dirent.h>
#include <jansson.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parsers/src_impl.h"
#include "parsers/validate.h"
#include "tests/testutil.h"

namespace
{

struct dev {
    unsigned long line;
    std::string where;
    std::string thing_name; // "<null>" when absent
    std::string given_fp;   // "<null>" when absent
    std::string fp;
    std::string device_type; // "" when absent
    std::vector<std::pair<std::string, std::string>> attrs;
    item_verdict verdict;
    std::string message;
};

struct result {
    int open_rc = 0;
    err e;
    std::string batch_id;
    std::string notes;
    std::vector<dev> devs;
};

std::string or_null(const char *s)
{
    return s ? s : "<null>";
}

// Opens path with the reader, reads every item and validates it in order.
result run(const std::string &path, int has_thing_type = 0, size_t max_json = 0)
{
    result r;
    err_clear(&r.e);
    src_opts so = {};
    so.vendor = VENDOR_DEVICE_INFOS;
    so.limits.max_json_bytes = max_json ? max_json : (size_t)256 << 20;
    src_impl impl = {};
    r.open_rc = devinfo_open(&impl, path.c_str(), &so, &r.e);
    if (r.open_rc)
        return r;
    r.batch_id = impl.batch_id ? impl.batch_id : "<null>";
    val_opts vo = {};
    vo.has_thing_type = has_thing_type;
    val *v = val_new(&vo);
    for (size_t i = 0;; i++) {
        item it;
        item_init(&it);
        int rc = impl.next(impl.state, &it, &r.e);
        EXPECT_GE(rc, 0);
        if (rc != 1) {
            item_clear(&it);
            break;
        }
        it.index = i; // src.c numbers items
        item_decode(&it);
        val_item(v, &it);
        dev d;
        d.line = it.line;
        d.where = or_null(it.where);
        d.thing_name = or_null(it.thing_name);
        d.given_fp = or_null(it.given_fingerprint);
        d.fp = it.fingerprint;
        d.device_type = it.device_type ? it.device_type : "";
        for (size_t k = 0; k < it.n_attrs; k++)
            d.attrs.emplace_back(it.attrs[k].name, it.attrs[k].value);
        d.verdict = it.verdict;
        d.message = it.message;
        EXPECT_EQ(it.is_device, 1);
        r.devs.push_back(d);
        item_clear(&it);
    }
    r.notes = impl.notes ? impl.notes(impl.state) : "";
    val_free(v);
    impl.free(impl.state);
    return r;
}

result run_text(const std::string &name, const std::string &json, int has_thing_type = 0)
{
    return run(tu::temp_file(name, json), has_thing_type);
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return (char)std::tolower(c); });
    return s;
}

::testing::AssertionResult contains_ci(const std::string &hay, const std::string &needle)
{
    if (lower(hay).find(lower(needle)) != std::string::npos)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "\"" << hay << "\" does not contain \""
                                         << needle << "\" (case-insensitive)";
}

const char *FP_A = "a1b2c3d4e5f67890123456789012345678901234567890123456789012345678";
const char *FP_B = "b2c3d4e5f67890123456789012345678901234567890123456789012345678ab";

// A document with one device whose body is given.
std::string one_device(const std::string &body)
{
    return "{\"batchId\": \"b\", \"devices\": [" + body + "]}";
}

std::string device(const std::string &id, const std::string &fp,
                   const std::string &extra = "")
{
    return "{\"certFingerprint\": \"" + fp + "\", \"deviceId\": \"" + id + "\"" +
           (extra.empty() ? "" : ", " + extra) + "}";
}

std::string attrs_json(int n)
{
    std::string s = "\"attributes\": {";
    for (int i = 0; i < n; i++)
        s += (i ? ", " : "") +
             ("\"a" + std::to_string(i) + "\": \"v" + std::to_string(i) + "\"");
    return s + "}";
}

// ---- the shared fixtures ----

TEST(DevinfoFixtures, UnitTestDocument)
{
    result r = run("testdata/mes/device-infos-unit-test.json");
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.batch_id, "batch-001");
    EXPECT_EQ(r.notes, "");
    ASSERT_EQ(r.devs.size(), 3u);
    const char *ids[] = {"device-001", "device-002", "device-003"};
    const unsigned long lines[] = {4, 12, 20};
    for (size_t i = 0; i < 3; i++) {
        EXPECT_EQ(r.devs[i].verdict, ITEM_OK) << i << ": " << r.devs[i].message;
        EXPECT_EQ(r.devs[i].message, "");
        EXPECT_EQ(r.devs[i].thing_name, ids[i]);
        EXPECT_EQ(r.devs[i].line, lines[i]);
        EXPECT_EQ(r.devs[i].where, "devices[" + std::to_string(i) + "]");
        EXPECT_EQ(r.devs[i].fp, r.devs[i].given_fp);
        EXPECT_EQ(r.devs[i].device_type, "");
    }
    EXPECT_EQ(r.devs[0].fp, FP_A);
    ASSERT_EQ(r.devs[0].attrs.size(), 2u);
    EXPECT_EQ(r.devs[0].attrs[0],
              std::make_pair(std::string("DSN"), std::string("DSN123456789")));
    EXPECT_EQ(r.devs[0].attrs[1],
              std::make_pair(std::string("MAC"), std::string("AA:BB:CC:DD:EE:FF")));
    EXPECT_TRUE(r.devs[2].attrs.empty());
}

TEST(DevinfoFixtures, BatchIdKeyOfTheSeedDocument)
{
    result r = run("testdata/mes/device-infos-batch_id.json");
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.batch_id, "batch-001");
    ASSERT_EQ(r.devs.size(), 1u);
    EXPECT_EQ(r.devs[0].verdict, ITEM_OK) << r.devs[0].message;
    EXPECT_EQ(r.devs[0].thing_name, "x");
    EXPECT_EQ(r.devs[0].line, 4u);
}

// Compared with the bulk-importer messages upstream would send for this file.
TEST(DevinfoFixtures, EspressifPhase2MatchesExpectedMessages)
{
    std::vector<json_t *> want;
    {
        std::istringstream in(
            tu::slurp("testdata/expected/mes-espressif-phase2-bulk-importer-"
                      "messages.jsonl"));
        std::string line;
        while (std::getline(in, line)) {
            json_error_t je;
            json_t *j = json_loads(line.c_str(), 0, &je);
            ASSERT_NE(j, nullptr) << je.text;
            want.push_back(j);
        }
    }
    ASSERT_EQ(want.size(), 7u);
    for (int typed = 0; typed <= 1; typed++) {
        SCOPED_TRACE(typed ? "with --thing-type" : "without --thing-type");
        result r = run("testdata/mes/device-infos-espressif-phase2.json", typed);
        ASSERT_EQ(r.open_rc, 0) << r.e.msg;
        EXPECT_EQ(r.batch_id, "espressif-phase2-fixture");
        ASSERT_EQ(r.devs.size(), 7u);
        for (size_t i = 0; i < 7; i++) {
            const dev &d = r.devs[i];
            json_t *w = want[i];
            EXPECT_EQ(d.verdict, ITEM_OK) << i << ": " << d.message;
            EXPECT_EQ(d.fp, json_string_value(json_object_get(w, "certificate")));
            EXPECT_EQ(d.thing_name, json_string_value(json_object_get(w, "thing")));
            EXPECT_EQ(r.batch_id, json_string_value(json_object_get(w, "batch_id")));
            json_t *tt = json_object_get(w, "thing_type_name");
            EXPECT_EQ(d.device_type, tt ? json_string_value(tt) : "");
            json_t *wa = json_object_get(w, "attributes");
            std::vector<std::pair<std::string, std::string>> wattrs;
            const char *k;
            json_t *v;
            json_object_foreach(wa, k, v) wattrs.emplace_back(k, json_string_value(v));
            EXPECT_EQ(d.attrs, wattrs) << i;
        }
        // device 1 is written in uppercase; it comes out lowercased
        EXPECT_EQ(r.devs[1].given_fp,
                  "589B045C6A808FA2B02DC1A72F8E8D565260B85207703A8BEF01826054AC7728");
        EXPECT_EQ(r.devs[1].fp,
                  "589b045c6a808fa2b02dc1a72f8e8d565260b85207703a8bef01826054ac7728");
        // device 2: 4 attributes, allowed by its own deviceType
        EXPECT_EQ(r.devs[2].attrs.size(), 4u);
        EXPECT_EQ(r.devs[2].device_type, "BasicTestType");
        EXPECT_TRUE(r.devs[3].attrs.empty());
        EXPECT_EQ(r.devs[0].line, 4u);
        EXPECT_EQ(r.devs[1].line, 12u);
    }
    for (json_t *j : want)
        json_decref(j);
}

// ---- testdata/mes/invalid: each file with its documented reason ----

struct expectation {
    bool whole_file;    // rejected by open (else: item 0 is ITEM_ERROR)
    const char *reason; // contained in the message, case-insensitive
};

TEST(DevinfoInvalid, EveryFileIsRejectedWithItsReason)
{
    // SOURCES.md: "mes/invalid/*.json ... Each must be rejected"
    const std::map<std::string, expectation> expect = {
        {"not-json.json", {true, "invalid JSON at line 1 column"}},
        {"missing-batchId.json", {true, "Missing required field: batch_id"}},
        {"missing-devices.json", {true, "Missing or empty devices array"}},
        {"empty-devices.json", {true, "Missing or empty devices array"}},
        {"missing-certFingerprint.json", {false, "Missing certFingerprint"}},
        {"short-certFingerprint.json",
         {false, "Invalid certFingerprint format (must be 64 hex chars)"}},
        {"nonhex-certFingerprint.json",
         {false, "certFingerprint must contain only hex characters (0-9, a-f, A-F)"}},
        {"missing-deviceId.json", {false, "Missing deviceId"}},
    };
    const std::string dir = "testdata/mes/invalid";
    DIR *d = opendir(dir.c_str());
    ASSERT_NE(d, nullptr);
    size_t seen = 0;
    while (struct dirent *de = readdir(d)) {
        std::string name = de->d_name;
        if (name == "." || name == "..")
            continue;
        SCOPED_TRACE(name);
        auto x = expect.find(name);
        if (x == expect.end()) {
            ADD_FAILURE() << "no expectation for " << dir << "/" << name
                          << ": add its documented reason to this test";
            continue;
        }
        seen++;
        std::string path = dir + "/" + name;
        result r = run(path);
        if (x->second.whole_file) {
            ASSERT_EQ(r.open_rc, -1);
            EXPECT_EQ(r.e.code, ERR_FORMAT);
            EXPECT_EQ(std::string(r.e.where), path);
            EXPECT_GE(r.e.line, 1u);
            EXPECT_TRUE(contains_ci(r.e.msg, x->second.reason));
        } else {
            ASSERT_EQ(r.open_rc, 0) << r.e.msg;
            ASSERT_EQ(r.devs.size(), 1u);
            EXPECT_EQ(r.devs[0].verdict, ITEM_ERROR);
            EXPECT_TRUE(contains_ci(r.devs[0].message, x->second.reason));
            EXPECT_EQ(r.devs[0].line, 4u);
        }
    }
    closedir(d);
    EXPECT_EQ(seen, expect.size()) << "a documented file is missing from " << dir;
}

TEST(DevinfoInvalid, NotJsonReportsJanssonsPosition)
{
    result r = run("testdata/mes/invalid/not-json.json");
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.line, 1u);
    EXPECT_TRUE(contains_ci(r.e.msg, "invalid JSON at line 1 column 3:")) << r.e.msg;
}

// ---- encodings ----

TEST(DevinfoEncoding, ByteOrderMarkIsSkippedAndNoted)
{
    std::string doc = tu::slurp("testdata/mes/device-infos-unit-test.json");
    result r = run_text("bom.json", "\xef\xbb\xbf" + doc);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.batch_id, "batch-001");
    ASSERT_EQ(r.devs.size(), 3u);
    EXPECT_EQ(r.devs[0].line, 4u);
    EXPECT_EQ(r.devs[0].verdict, ITEM_OK);
    EXPECT_TRUE(contains_ci(r.notes, "byte order mark"));
}

TEST(DevinfoEncoding, InvalidUtf8IsRejectedWithLineAndColumn)
{
    std::string doc =
        "{\n  \"batchId\": \"b\",\n  \"devices\": [{\"deviceId\": \"d\xff\"}]\n}\n";
    std::string path = tu::temp_file("badutf8.json", doc);
    result r = run(path);
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(std::string(r.e.where), path);
    EXPECT_EQ(r.e.line, 3u);
    EXPECT_TRUE(contains_ci(r.e.msg, "invalid JSON at line 3 column")) << r.e.msg;
    EXPECT_TRUE(contains_ci(r.e.msg, "0xff")) << r.e.msg;
}

TEST(DevinfoEncoding, Utf16IsNamed)
{
    // with a byte order mark (little endian), and without one (big endian)
    result r = run_text("utf16le.json", std::string("\xff\xfe{\0\"\0", 6));
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_TRUE(contains_ci(r.e.msg, "UTF-16")) << r.e.msg;
    r = run_text("utf16be.json", std::string("\0{\0\n\0\"", 6));
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_TRUE(contains_ci(r.e.msg, "UTF-16")) << r.e.msg;
    // NUL bytes that are not UTF-16 get Jansson's message
    r = run_text("nuls.json", std::string("\0\0\0\0", 4));
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_TRUE(contains_ci(r.e.msg, "invalid JSON")) << r.e.msg;
}

TEST(DevinfoEncoding, NulEscapeIsRejected)
{
    result r = run_text("nul.json", one_device(device("a\\u0000b", FP_A)));
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_TRUE(contains_ci(r.e.msg, "invalid JSON")) << r.e.msg;
}

TEST(DevinfoEncoding, NonAsciiDeviceIdIsAnItemError)
{
    result r = run_text("utf8id.json", one_device(device("d\xc3\xa9vice", FP_A)));
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.devs.size(), 1u);
    EXPECT_EQ(r.devs[0].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains_ci(r.devs[0].message, "deviceId")) << r.devs[0].message;
    EXPECT_TRUE(contains_ci(r.devs[0].message, "\\xc3")) << r.devs[0].message;
}

// ---- whole-file rejections ----

TEST(DevinfoFile, TooLargeIsAClearLimitError)
{
    std::string path = "testdata/mes/device-infos-unit-test.json";
    result r = run(path, 0, 100);
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_EQ(std::string(r.e.where), path);
    EXPECT_TRUE(contains_ci(r.e.msg, "652 bytes")) << r.e.msg;
    EXPECT_TRUE(contains_ci(r.e.msg, "at most 100 bytes")) << r.e.msg;

    // exactly at the limit is fine
    r = run(path, 0, 652);
    EXPECT_EQ(r.open_rc, 0) << r.e.msg;

    // a big one: 3 MB of devices against a 1 MiB limit
    std::string big = "{\"batchId\": \"b\", \"devices\": [";
    for (int i = 0; big.size() < (3u << 20); i++)
        big += (i ? "," : "") + device("d" + std::to_string(i), FP_A);
    big += "]}";
    r = run(tu::temp_file("big.json", big), 0, 1u << 20);
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_TRUE(contains_ci(r.e.msg, "JSON document may be at most 1048576 bytes"))
        << r.e.msg;
}

TEST(DevinfoFile, MissingFileIsAnIoError)
{
    result r = run("testdata/mes/no-such-file.json");
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_IO);
    EXPECT_TRUE(contains_ci(r.e.where, "no-such-file.json"));
}

TEST(DevinfoFile, Rejections)
{
    struct {
        const char *doc;
        unsigned long line;
        const char *reason;
    } cases[] = {
        {"[]", 1, "the top level is an array"},
        {"\n\n  [{\"batchId\": \"b\"}]", 3, "the top level is an array"},
        {"{\"batchId\": 7, \"devices\": [{}]}", 1,
         "batchId must be a non-empty string, not a number"},
        {"{\n\"batch_id\": \"\", \"devices\": [{}]}", 2,
         "batch_id must be a non-empty string"},
        {"{\"batch_id\": null, \"devices\": [{}]}", 1,
         "batch_id must be a non-empty string, not null"},
        {"{\"batch_id\": \"a\\u0007b\", \"devices\": [{}]}", 1, "control character"},
        {"{\"batch_id\": \"a\",\n \"batchId\": \"b\", \"devices\": [{}]}", 1, "differ"},
        {"{\"batchid\": \"a\", \"devices\": [{}]}", 1,
         "missing required field: batch_id"},
        {"{\"batchId\": \"b\",\n\n \"devices\": {}}", 3,
         "missing or empty devices array (\"devices\" is an object)"},
        {"{\"batchId\": \"b\", \"devices\": null}", 1, "missing or empty devices array"},
        {"{\"batchId\": \"b\", \"devices\": []}", 1, "missing or empty devices array"},
        {"{\"batchId\": \"b\",\n \"devices\": [{\"deviceId\": \"a\", \"deviceId\": "
         "\"b\"}]}",
         2, "duplicate object key"},
        {"{\"batchId\": \"b\",\n \"devices\": [", 2, "invalid JSON at line 2"},
        {"", 0, "invalid JSON"},
        {"17", 1, "invalid JSON"},
    };
    for (auto &c : cases) {
        SCOPED_TRACE(c.doc);
        std::string path = tu::temp_file("reject.json", c.doc);
        result r = run(path);
        ASSERT_EQ(r.open_rc, -1);
        EXPECT_EQ(r.e.code, ERR_FORMAT);
        EXPECT_EQ(std::string(r.e.where), path);
        if (c.line) {
            EXPECT_EQ(r.e.line, c.line);
        }
        EXPECT_TRUE(contains_ci(r.e.msg, c.reason));
    }
    std::string long_id(256, 'x');
    result r = run_text("longbatch.json",
                        "{\"batchId\": \"" + long_id + "\", \"devices\": [{}]}");
    ASSERT_EQ(r.open_rc, -1);
    EXPECT_TRUE(contains_ci(r.e.msg, "256 bytes, more than 255")) << r.e.msg;
}

TEST(DevinfoFile, BothBatchKeysEqualIsFine)
{
    result r =
        run_text("both.json", "{\"batch_id\": \"a\", \"batchId\": \"a\", \"devices\": [" +
                                  device("d", FP_A) + "]}");
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.batch_id, "a");
}

// ---- item problems: the item is flagged, reading goes on ----

// Runs a document of [bad device, good device] and returns the bad one's message.
std::string bad_then_good(const std::string &bad, item_verdict want = ITEM_ERROR,
                          int has_thing_type = 0)
{
    result r = run_text("item.json",
                        "{\"batchId\": \"b\", \"devices\": [\n" + bad + ",\n" +
                            device("good", FP_B) + "]}",
                        has_thing_type);
    EXPECT_EQ(r.open_rc, 0) << r.e.msg;
    if (r.devs.size() != 2) {
        ADD_FAILURE() << "expected 2 devices, got " << r.devs.size();
        return "";
    }
    EXPECT_EQ(r.devs[0].verdict, want) << r.devs[0].message;
    EXPECT_EQ(r.devs[0].line, 2u);
    EXPECT_EQ(r.devs[1].verdict, ITEM_OK) << r.devs[1].message;
    EXPECT_EQ(r.devs[1].line, 3u);
    return r.devs[0].message;
}

TEST(DevinfoItems, ShapeErrors)
{
    EXPECT_TRUE(contains_ci(bad_then_good("\"just a string\""),
                            "device must be an object, not a string"));
    EXPECT_TRUE(
        contains_ci(bad_then_good("[1, 2]"), "device must be an object, not an array"));
    EXPECT_TRUE(
        contains_ci(bad_then_good("{\"deviceId\": \"a\"}"), "Missing certFingerprint"));
    EXPECT_TRUE(
        contains_ci(bad_then_good("{\"deviceId\": \"a\", \"certFingerprint\": null}"),
                    "Missing certFingerprint"));
    EXPECT_EQ(bad_then_good("{\"deviceId\": \"a\", \"certFingerprint\": null}"),
              "Missing certFingerprint");
    EXPECT_TRUE(contains_ci(
        bad_then_good("{\"deviceId\": \"a\", \"certFingerprint\": 12}"),
        "Invalid certFingerprint format (must be 64 hex chars): it is a number"));
    EXPECT_TRUE(
        contains_ci(bad_then_good("{\"certFingerprint\": \"" + std::string(FP_A) + "\"}"),
                    "Missing deviceId"));
    EXPECT_TRUE(contains_ci(bad_then_good("{\"certFingerprint\": \"" + std::string(FP_A) +
                                          "\", \"deviceID\": \"a\"}"),
                            "Missing deviceId (found \"deviceID\""));
    EXPECT_TRUE(contains_ci(bad_then_good("{\"certFingerprint\": \"" + std::string(FP_A) +
                                          "\", \"deviceId\": 42}"),
                            "deviceId must be a string, not a number"));
    EXPECT_TRUE(contains_ci(bad_then_good(device("a", FP_A, "\"deviceType\": true")),
                            "deviceType must be a string, not a boolean"));
    EXPECT_TRUE(contains_ci(bad_then_good(device("a", FP_A, "\"attributes\": [\"x\"]")),
                            "attributes must be an object"));
    // both fields missing: both reasons, once each
    std::string both = bad_then_good("{}");
    EXPECT_TRUE(contains_ci(both, "Missing certFingerprint")) << both;
    EXPECT_TRUE(contains_ci(both, "Missing deviceId")) << both;
    EXPECT_EQ(lower(both).find("missing deviceid"),
              lower(both).rfind("missing deviceid"));
}

TEST(DevinfoItems, AttributeValuesMustBeStrings)
{
    std::string m = bad_then_good(device("a", FP_A, "\"attributes\": {\"n\": 5}"));
    EXPECT_TRUE(
        contains_ci(m, "attribute 'n' is a number: attribute values must be strings"))
        << m;
    m = bad_then_good(
        device("a", FP_A, "\"attributes\": {\"n\": 5, \"o\": null, \"p\": \"ok\"}"));
    EXPECT_TRUE(contains_ci(m, "and 1 more")) << m;
    m = bad_then_good(device("a", FP_A, "\"attributes\": {\"n\": \"has space\"}"));
    EXPECT_TRUE(contains_ci(m, "attribute 'n': attribute value 'has space' contains ' '"))
        << m;
    // null attributes and null deviceType mean "none"
    bad_then_good(device("a", FP_A, "\"attributes\": null, \"deviceType\": null"),
                  ITEM_OK);
    bad_then_good(device("a", FP_A, "\"attributes\": {}, \"deviceType\": \"\""), ITEM_OK);
}

TEST(DevinfoItems, AttributeCountDependsOnThingType)
{
    std::string four = device("a", FP_A, attrs_json(4));
    std::string m = bad_then_good(four);
    EXPECT_TRUE(
        contains_ci(m, "4 attributes, more than the 3 allowed without a thing type"))
        << m;
    bad_then_good(four, ITEM_OK, 1);
    bad_then_good(device("a", FP_A, attrs_json(3)), ITEM_OK);
    // the device's own deviceType counts as a thing type
    bad_then_good(device("a", FP_A, "\"deviceType\": \"T\", " + attrs_json(4)), ITEM_OK);
    bad_then_good(device("a", FP_A, attrs_json(50)), ITEM_OK, 1);
    m = bad_then_good(device("a", FP_A, attrs_json(51)), ITEM_ERROR, 1);
    EXPECT_TRUE(contains_ci(m, "51 attributes, more than the 50 allowed")) << m;
    m = bad_then_good(device("a", FP_A, "\"deviceType\": \"T\", " + attrs_json(51)));
    EXPECT_TRUE(contains_ci(m, "51 attributes")) << m;
    m = bad_then_good(device("a", FP_A, "\"deviceType\": \"bad type\""));
    EXPECT_TRUE(contains_ci(m, "deviceType: thing type name 'bad type' contains ' '"))
        << m;
}

TEST(DevinfoItems, DeviceIdRules)
{
    std::string m = bad_then_good(device("line:7:slot:3", FP_A), ITEM_WARN);
    EXPECT_TRUE(contains_ci(m, "deviceId contains ':'")) << m;
    EXPECT_TRUE(contains_ci(m, "URL-encoded twice")) << m;
    bad_then_good(device(std::string(128, 'd'), FP_A), ITEM_OK);
    m = bad_then_good(device(std::string(129, 'd'), FP_A));
    EXPECT_TRUE(contains_ci(m, "deviceId is 129 characters, more than 128")) << m;
    m = bad_then_good(device("", FP_A));
    EXPECT_TRUE(contains_ci(m, "deviceId is empty")) << m;
    m = bad_then_good(device("dev 1", FP_A));
    EXPECT_TRUE(contains_ci(m, "deviceId 'dev 1' contains ' ' at position 4")) << m;
}

TEST(DevinfoItems, FingerprintRules)
{
    std::string colons;
    for (int i = 0; i < 32; i++)
        colons += (i ? ":" : "") + std::string(FP_A + 2 * i, 2);
    std::string m = bad_then_good(device("a", colons));
    EXPECT_TRUE(contains_ci(m, "remove the colons")) << m;
    m = bad_then_good(device("a", "tooshort"));
    EXPECT_TRUE(
        contains_ci(m, "Invalid certFingerprint format (must be 64 hex chars), got 8"))
        << m;
    m = bad_then_good(device("a", std::string(64, 'g')));
    EXPECT_TRUE(contains_ci(
        m, "certFingerprint must contain only hex characters (0-9, a-f, A-F)"))
        << m;
    m = bad_then_good(device("a", ""));
    EXPECT_TRUE(contains_ci(m, "Invalid certFingerprint format")) << m;
}

TEST(DevinfoItems, Duplicates)
{
    std::string up = FP_A;
    std::transform(up.begin(), up.end(), up.begin(), ::toupper);
    result r = run_text("dups.json", "{\"batchId\": \"b\", \"devices\": [\n" +
                                         device("d1", FP_A) + ",\n" + // 0
                                         device("d2", FP_B) + ",\n" + // 1
                                         device("d1", "c" + std::string(FP_A + 1)) +
                                         ",\n" + device("d3", up) + ",\n" + // 3: fp of 0
                                         device("D1", "d" + std::string(FP_A + 1)) +
                                         ",\n" + device("d2", FP_B) + "\n]}"); // 5: both
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.devs.size(), 6u);
    EXPECT_EQ(r.devs[0].verdict, ITEM_OK);
    EXPECT_EQ(r.devs[1].verdict, ITEM_OK);
    EXPECT_EQ(r.devs[2].verdict, ITEM_ERROR);
    EXPECT_EQ(r.devs[2].message, "duplicate deviceId: same as item 0");
    EXPECT_EQ(r.devs[3].verdict, ITEM_ERROR);
    EXPECT_EQ(r.devs[3].message, "duplicate fingerprint: same as item 0");
    EXPECT_EQ(r.devs[4].verdict, ITEM_OK) << "thing names are case-sensitive";
    EXPECT_EQ(r.devs[5].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains_ci(r.devs[5].message, "duplicate deviceId: same as item 1"));
    EXPECT_TRUE(contains_ci(r.devs[5].message, "duplicate fingerprint: same as item 1"));
    EXPECT_EQ(r.devs[5].line, 7u);
}

TEST(DevinfoItems, LinesWithTrickyStrings)
{
    // brackets, braces, commas and escaped quotes inside strings; a nested
    // "devices" key that is not the top-level one; devices on one line
    std::string doc = "{\"note\": \"[{,\\\"]}\", \"x\": {\"devices\": [1, 2, 3]},\n"
                      "\"batchId\": \"b\\\"[\",\n"
                      "\"devices\": [" +
                      device("a", FP_A, "\"attributes\": {\"k\": \"v[]\"}") + ", " +
                      device("b", FP_B) + ",\n\n" +
                      device("c", "c" + std::string(FP_A + 1)) + "]}";
    result r = run_text("tricky.json", doc);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.batch_id, "b\"[");
    ASSERT_EQ(r.devs.size(), 3u);
    EXPECT_EQ(r.devs[0].line, 3u);
    EXPECT_EQ(r.devs[1].line, 3u);
    EXPECT_EQ(r.devs[2].line, 5u);
    for (auto &d : r.devs)
        EXPECT_EQ(d.verdict, ITEM_OK) << d.message;
}

TEST(DevinfoItems, FiftyThousandDevices)
{
    std::string doc = "{\"batch_id\": \"big\", \"devices\": [\n";
    char fp[65];
    for (int i = 0; i < 50000; i++) {
        snprintf(fp, sizeof fp, "%064x", i);
        doc += (i ? ",\n" : "") + device("dev-" + std::to_string(i), fp, attrs_json(2));
    }
    doc += "\n]}";
    result r = run_text("fifty.json", doc);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.devs.size(), 50000u);
    size_t bad = 0;
    for (size_t i = 0; i < r.devs.size(); i++) {
        bad += r.devs[i].verdict != ITEM_OK;
        if (r.devs[i].line != i + 2)
            bad++;
    }
    EXPECT_EQ(bad, 0u);
}

} // namespace
