// The Espressif CSV reader: the upstream fixture against its expected
// output, and the variants and broken files a factory will actually send.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/err.h"
#include "parsers/item.h"
#include "parsers/src.h"
#include "parsers/src_impl.h"
#include "testutil.h"

namespace
{

const char *kFixture = "testdata/espressif/manifest-espressif.csv";
const char *kExpected = "testdata/expected/espressif-expected.tsv";

struct Got {
    std::string name;
    std::string fingerprint;
    item_verdict verdict;
    std::string message;
    unsigned long line;
};

struct Outcome {
    int open_rc = 0;
    int rc = 0; // last next() result
    std::vector<Got> items;
    err e;
};

src_opts default_opts()
{
    src_opts o = {};
    o.vendor = VENDOR_ESPRESSIF;
    o.limits.max_line = 256 * 1024; // src_default_limits()'s value
    o.limits.max_entries = 100000;
    return o;
}

// espressif_open, then item_decode on every item, as src.c's caller would.
Outcome read_file(const std::string &path, const src_opts &opts = default_opts())
{
    Outcome r;
    err_clear(&r.e);
    src_impl impl = {};
    r.open_rc = espressif_open(&impl, path.c_str(), &opts, &r.e);
    if (r.open_rc != 0)
        return r;
    for (;;) {
        item it;
        item_init(&it);
        int rc = impl.next(impl.state, &it, &r.e);
        r.rc = rc;
        if (rc != 1) {
            item_clear(&it);
            break;
        }
        item_decode(&it);
        r.items.push_back(Got{it.thing_name ? it.thing_name : "", it.fingerprint,
                              it.verdict, it.message, it.line});
        item_clear(&it);
    }
    impl.free(impl.state);
    return r;
}

Outcome read_bytes(const std::string &name, const std::string &bytes,
                   const src_opts &opts = default_opts())
{
    return read_file(tu::temp_file(name, bytes), opts);
}

std::string replace_all(std::string s, const std::string &from, const std::string &to)
{
    size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
    return s;
}

bool contains(const std::string &hay, const std::string &needle)
{
    return hay.find(needle) != std::string::npos;
}

// The PEM texts in the fixture, found without the CSV tokenizer.
std::vector<std::string> fixture_pems()
{
    std::string s = tu::slurp(kFixture);
    std::vector<std::string> pems;
    const std::string b = "-----BEGIN CERTIFICATE-----",
                      e = "-----END CERTIFICATE-----\n";
    size_t pos = 0;
    while ((pos = s.find(b, pos)) != std::string::npos) {
        size_t end = s.find(e, pos);
        if (end == std::string::npos)
            break;
        pems.push_back(s.substr(pos, end + e.size() - pos));
        pos = end;
    }
    return pems;
}

struct Expected {
    std::string name, fingerprint;
};

std::vector<Expected> expected()
{
    std::vector<Expected> out;
    for (auto &row : tu::read_tsv(kExpected))
        out.push_back(Expected{row.at(1), row.at(2)});
    return out;
}

void expect_fixture_items(const Outcome &r)
{
    auto want = expected();
    ASSERT_EQ(want.size(), 7u);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
        EXPECT_EQ(r.items[i].name, want[i].name) << i;
        EXPECT_EQ(r.items[i].fingerprint, want[i].fingerprint) << i;
        EXPECT_EQ(r.items[i].verdict, ITEM_OK) << i << ": " << r.items[i].message;
    }
}

TEST(Espressif, FixtureMatchesExpected)
{
    Outcome r = read_file(kFixture);
    expect_fixture_items(r);
    // Each row is header + 1 line, then 22 lines per row (the PEM spans them).
    ASSERT_EQ(r.items.size(), 7u);
    EXPECT_EQ(r.items[0].line, 2u);
    EXPECT_EQ(r.items[1].line, 24u);
}

TEST(Espressif, ThroughSrcOpenWithDetection)
{
    src_opts o = {};
    o.vendor = VENDOR_AUTO;
    src *s = nullptr;
    err e;
    err_clear(&e);
    ASSERT_EQ(src_open(&s, kFixture, &o, &e), 0) << e.msg;
    EXPECT_EQ(src_vendor(s), VENDOR_ESPRESSIF);
    auto want = expected();
    size_t n = 0;
    item it;
    item_init(&it);
    while (src_next(s, &it, &e) == 1) {
        item_decode(&it);
        ASSERT_LT(n, want.size());
        EXPECT_EQ(it.index, n);
        EXPECT_STREQ(it.thing_name, want[n].name.c_str());
        EXPECT_STREQ(it.fingerprint, want[n].fingerprint.c_str());
        item_clear(&it);
        n++;
    }
    item_clear(&it);
    EXPECT_FALSE(err_is_set(&e)) << e.msg;
    EXPECT_EQ(n, want.size());
    src_free(s);
}

TEST(Espressif, LfInsteadOfCrlf)
{
    std::string lf = replace_all(tu::slurp(kFixture), "\r\n", "\n");
    ASSERT_EQ(lf.find('\r'), std::string::npos);
    expect_fixture_items(read_bytes("lf.csv", lf));
}

TEST(Espressif, CrlfEverywhereIncludingInsideThePem)
{
    std::string crlf = replace_all(tu::slurp(kFixture), "\r\n", "\n");
    crlf = replace_all(crlf, "\n", "\r\n");
    expect_fixture_items(read_bytes("crlf.csv", crlf));
}

TEST(Espressif, Bom)
{
    Outcome r = read_bytes("bom.csv", "\xEF\xBB\xBF" + tu::slurp(kFixture));
    expect_fixture_items(r);
    EXPECT_EQ(r.items[0].line, 2u);
}

TEST(Espressif, ColumnsReorderedWithExtraColumnsAndQuoting)
{
    auto pems = fixture_pems();
    auto want = expected();
    ASSERT_EQ(pems.size(), 7u);
    // Lowercase mac, CERT in capitals, quoted header names, extra columns
    // holding commas, doubled quotes and line breaks; a MAC padded with
    // spaces inside quotes (trimmed).
    std::string csv = "\"Cert\",notes,\" mac \",cn\r\n";
    csv += "\"" + pems[0] + "\",\"batch 7, line \"\"B\"\"\",\"  " + want[0].name +
           "  \",x\r\n";
    csv += "\"" + pems[1] + "\",\"two\nlines\"," + want[1].name + ",\r\n";
    csv += "\"" + pems[2] + "\",," + want[2].name + ",\"\"\"quoted\"\"\"";
    Outcome r = read_bytes("reordered.csv", csv);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 3u);
    for (size_t i = 0; i < 3; i++) {
        EXPECT_EQ(r.items[i].name, want[i].name) << i;
        EXPECT_EQ(r.items[i].fingerprint, want[i].fingerprint) << i;
        EXPECT_EQ(r.items[i].verdict, ITEM_OK) << r.items[i].message;
    }
    EXPECT_EQ(r.items[0].line, 2u);
    EXPECT_EQ(r.items[1].line, 2u + 22u);
}

TEST(Espressif, BlankLinesBetweenRowsAreSkipped)
{
    auto pems = fixture_pems();
    auto want = expected();
    std::string csv = "\r\nMAC,cn,cert\r\n\r\n";
    csv += want[0].name + ",a,\"" + pems[0] + "\"\r\n\r\n   \r\n";
    csv += want[1].name + ",b,\"" + pems[1] + "\"\r\n\r\n\r\n";
    Outcome r = read_bytes("blank.csv", csv);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 2u);
    EXPECT_EQ(r.items[0].name, want[0].name);
    EXPECT_EQ(r.items[1].fingerprint, want[1].fingerprint);
    EXPECT_EQ(r.items[0].line, 4u);
    EXPECT_EQ(r.items[1].line, 4u + 22u + 2u);
    EXPECT_EQ(r.items[1].verdict, ITEM_OK);
}

TEST(Espressif, UnterminatedQuoteRejectsTheFileNamingTheLine)
{
    auto pems = fixture_pems();
    std::string csv = "MAC,cn,cert\n";
    csv += "AAA,a,\"" + pems[0] + "\"\n";
    csv += "BBB,b,\"" + pems[1] + "\n"; // no closing quote
    Outcome r = read_bytes("unterminated.csv", csv);
    ASSERT_EQ(r.open_rc, 0);
    EXPECT_EQ(r.rc, -1);
    EXPECT_EQ(r.items.size(), 1u);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(r.e.line, 24u);
    EXPECT_TRUE(contains(r.e.where, "unterminated.csv")) << r.e.where;
    EXPECT_TRUE(contains(r.e.msg, "unterminated quoted field")) << r.e.msg;
}

TEST(Espressif, MissingHeaderColumns)
{
    Outcome r = read_bytes("nocert.csv", "MAC,cn\nAAA,b\n");
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(r.e.line, 1u);
    EXPECT_TRUE(contains(r.e.where, "nocert.csv"));
    EXPECT_TRUE(contains(r.e.msg, "no \"cert\" column")) << r.e.msg;
    EXPECT_TRUE(contains(r.e.msg, "\"MAC\", \"cn\"")) << r.e.msg;

    r = read_bytes("nomac.csv", "mac_address,cn,cert\nAAA,b,c\n");
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.line, 1u);
    EXPECT_TRUE(contains(r.e.msg, "no \"MAC\" column")) << r.e.msg;

    r = read_bytes("dup.csv", "MAC,cert,mac\n");
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_TRUE(contains(r.e.msg, "two \"MAC\" columns (1 and 3)")) << r.e.msg;
}

TEST(Espressif, EmptyFile)
{
    Outcome r = read_bytes("empty.csv", "");
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_STREQ(r.e.msg, "empty file");
    EXPECT_TRUE(contains(r.e.where, "empty.csv"));

    r = read_bytes("blanks.csv", "\r\n\n\n");
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_STREQ(r.e.msg, "empty file");
}

TEST(Espressif, HeaderOnlyGivesNoItems)
{
    Outcome r = read_bytes("header.csv", "MAC,cn,cert\r\n");
    EXPECT_EQ(r.open_rc, 0);
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(r.items.size(), 0u);
}

TEST(Espressif, NotText)
{
    std::string bin("7z\xBC\xAF\x27\x1C\0\x04\"MAC,cert", 16);
    bin += std::string(100, '\0') + "\"\n";
    Outcome r = read_bytes("binary.csv", bin);
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_TRUE(contains(r.e.msg, "not a text file")) << r.e.msg;

    r = read_file("/nonexistent/espressif.csv");
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_IO);
}

TEST(Espressif, RowsWithMissingOrEmptyCells)
{
    auto pems = fixture_pems();
    auto want = expected();
    std::string csv = "MAC,cn,cert\n";
    csv += "AAA,only-two\n";                           // 2 fields
    csv += ",a,\"" + pems[0] + "\"\n";                 // empty MAC
    csv += "BBB,b,\n";                                 // empty cert
    csv += "CCC,c,\"  \n \"\n";                        // whitespace-only cert
    csv += want[1].name + ",ok,\"" + pems[1] + "\"\n"; // fine
    csv += "DDD,d,\"" + pems[2] + "\",extra\n";        // 4 fields
    csv += "EE\"E,e,\"" + pems[3] + "\"\n";            // stray quote
    csv += want[4].name + ",ok,\"" + pems[4] + "\"\n"; // fine
    Outcome r = read_bytes("cells.csv", csv);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 8u);

    EXPECT_EQ(r.items[0].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[0].message, "2 fields, the header has 3"))
        << r.items[0].message;
    EXPECT_EQ(r.items[0].name, "AAA");
    EXPECT_EQ(r.items[0].line, 2u);

    EXPECT_EQ(r.items[1].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[1].message, "empty MAC")) << r.items[1].message;
    EXPECT_EQ(r.items[1].name, "");
    // The certificate still decodes, so the report can show its fingerprint.
    EXPECT_EQ(r.items[1].fingerprint, want[0].fingerprint);

    EXPECT_EQ(r.items[2].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[2].message, "empty cert")) << r.items[2].message;
    EXPECT_EQ(r.items[2].name, "BBB");
    EXPECT_EQ(r.items[3].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[3].message, "empty cert")) << r.items[3].message;

    EXPECT_EQ(r.items[4].verdict, ITEM_OK) << r.items[4].message;
    EXPECT_EQ(r.items[4].name, want[1].name);
    EXPECT_EQ(r.items[4].fingerprint, want[1].fingerprint);

    EXPECT_EQ(r.items[5].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[5].message, "4 fields")) << r.items[5].message;

    EXPECT_EQ(r.items[6].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[6].message, "stray quote")) << r.items[6].message;

    EXPECT_EQ(r.items[7].verdict, ITEM_OK) << r.items[7].message;
    EXPECT_EQ(r.items[7].fingerprint, want[4].fingerprint);
}

TEST(Espressif, NulInARowIsAnItemError)
{
    auto pems = fixture_pems();
    auto want = expected();
    std::string csv = "MAC,cn,cert\n";
    csv += std::string("AA\0A,a,x\n", 9);
    csv += want[0].name + ",ok,\"" + pems[0] + "\"\n";
    Outcome r = read_bytes("nul.csv", csv);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 2u);
    EXPECT_EQ(r.items[0].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[0].message, "NUL byte in field 1"))
        << r.items[0].message;
    EXPECT_EQ(r.items[1].verdict, ITEM_OK);
}

long max_rss_kib()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

TEST(Espressif, HugeFieldBeyondTheCap)
{
    // A 64 MiB cert cell, written in chunks so the test itself stays small:
    // a clear item error, no 64 MiB allocation, the next row still fine.
    auto pems = fixture_pems();
    auto want = expected();
    const char *dir = getenv("TEST_TMPDIR");
    std::string path = std::string(dir ? dir : "/tmp") + "/huge.csv";
    FILE *f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fputs("MAC,cn,cert\nBIG,a,\"", f);
    std::string chunk(1u << 20, 'A');
    for (int i = 0; i < 64; i++)
        fwrite(chunk.data(), 1, chunk.size(), f);
    fputs("\"\n", f);
    fputs((want[0].name + ",ok,\"" + pems[0] + "\"\n").c_str(), f);
    fclose(f);

    long before = max_rss_kib();
    Outcome r = read_file(path);
    long grew = max_rss_kib() - before;
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 2u);
    EXPECT_EQ(r.items[0].verdict, ITEM_ERROR);
    EXPECT_EQ(r.items[0].name, "BIG");
    EXPECT_TRUE(
        contains(r.items[0].message, "field 3 on line 2 is longer than 262144 bytes"))
        << r.items[0].message;
    EXPECT_EQ(r.items[1].verdict, ITEM_OK) << r.items[1].message;
    EXPECT_EQ(r.items[1].fingerprint, want[0].fingerprint);
    EXPECT_EQ(r.items[1].line, 3u);
    EXPECT_LT(grew, 16 * 1024) << "peak RSS grew by " << grew << " KiB";
    remove(path.c_str());
}

TEST(Espressif, SmallerCapFromOptions)
{
    auto pems = fixture_pems();
    src_opts o = default_opts();
    o.limits.max_line = 512; // a PEM is ~1.3 KB
    Outcome r = read_bytes("cap.csv", "MAC,cn,cert\nAAA,a,\"" + pems[0] + "\"\n", o);
    ASSERT_EQ(r.items.size(), 1u);
    EXPECT_EQ(r.items[0].verdict, ITEM_ERROR);
    EXPECT_TRUE(contains(r.items[0].message, "longer than 512 bytes"))
        << r.items[0].message;
}

TEST(Espressif, BrokenPemBodyInOneRow)
{
    std::string s = tu::slurp(kFixture);
    // Break the base64 body of the third certificate only.
    auto pems = fixture_pems();
    size_t at = s.find(pems[2]);
    ASSERT_NE(at, std::string::npos);
    size_t body = at + strlen("-----BEGIN CERTIFICATE-----\n") + 10;
    s[body] = '!';
    Outcome r = read_bytes("broken-pem.csv", s);
    ASSERT_EQ(r.open_rc, 0);
    ASSERT_EQ(r.rc, 0) << r.e.msg;
    auto want = expected();
    ASSERT_EQ(r.items.size(), 7u);
    for (size_t i = 0; i < 7; i++) {
        EXPECT_EQ(r.items[i].name, want[i].name);
        if (i == 2) {
            EXPECT_EQ(r.items[i].verdict, ITEM_ERROR);
            EXPECT_FALSE(r.items[i].message.empty());
            EXPECT_EQ(r.items[i].fingerprint, "");
        } else {
            EXPECT_EQ(r.items[i].verdict, ITEM_OK) << i << ": " << r.items[i].message;
            EXPECT_EQ(r.items[i].fingerprint, want[i].fingerprint);
        }
    }
}

} // namespace

// The names the readers take by extension (the hot folder asks, for
// entries that are not regular files).
TEST(Src, InputNames)
{
    for (const char *n : {"a.csv", "B.CSV", "devices.json", "x.txt", "bundle.7z", "c.pem",
                          "c.crt", "c.der", "c.cer", "dir.with.dots.json"})
        EXPECT_EQ(src_input_name(n), 1) << n;
    for (const char *n :
         {"", "csv", ".csv", "archive", "a.csv.bak", "a.zip", "a.", "json"})
        EXPECT_EQ(src_input_name(n), 0) << n;
}
