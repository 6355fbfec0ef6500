// The Generated, PEM-bundle and DER readers, item_decode and the DER walker.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/b64.h"
#include "parsers/cert.h"
#include "parsers/item.h"
#include "parsers/src.h"
#include "parsers/src_impl.h"
#include "tests/testutil.h"

namespace
{

struct Decoded {
    std::vector<std::string> names, fps, msgs;
    std::vector<item_verdict> verdicts;
    std::vector<unsigned long> lines;
    std::string notes;
    int rc = 0;
    err e;
};

using Opener = int (*)(src_impl *, const char *, const src_opts *, err *);

Decoded read_all(Opener open, const std::string &path,
                 src_limits lim = src_default_limits())
{
    Decoded d;
    err_clear(&d.e);
    src_opts o{};
    o.limits = lim;
    src_impl impl{};
    if (open(&impl, path.c_str(), &o, &d.e) != 0) {
        d.rc = -1;
        return d;
    }
    for (;;) {
        item it;
        item_init(&it);
        int rc = impl.next(impl.state, &it, &d.e);
        if (rc != 1) {
            d.rc = rc;
            item_clear(&it);
            break;
        }
        item_decode(&it);
        d.names.push_back(it.thing_name ? it.thing_name : "");
        d.fps.push_back(it.fingerprint);
        d.msgs.push_back(it.message);
        d.verdicts.push_back(it.verdict);
        d.lines.push_back(it.line);
        item_clear(&it);
    }
    if (impl.notes)
        d.notes = impl.notes(impl.state);
    impl.free(impl.state);
    return d;
}

std::string b64(const std::string &bytes)
{
    std::string out(bytes.size() / 3 * 4 + 8, '\0');
    size_t n =
        b64_encode(&out[0], (const unsigned char *)bytes.data(), bytes.size(), B64_STD);
    out.resize(n);
    return out;
}

std::string unb64(const std::string &s)
{
    std::string out(b64_decoded_max(s.size()), '\0');
    size_t n = 0;
    EXPECT_EQ(0, b64_decode((unsigned char *)&out[0], &n, s.data(), s.size(),
                            B64_STD | B64_SKIP_SPACE, nullptr));
    out.resize(n);
    return out;
}

std::vector<std::string> generated_lines()
{
    std::vector<std::string> v;
    std::istringstream in(tu::slurp("testdata/generated/certificates_test.txt"));
    std::string line;
    while (std::getline(in, line))
        v.push_back(line);
    return v;
}

std::string single_pem()
{
    return tu::slurp("testdata/misc/single.pem");
}

std::string pem_to_der(const std::string &pem)
{
    unsigned char *der = nullptr;
    size_t n = 0;
    char why[256];
    EXPECT_EQ(0, cert_pem_to_der(&der, &n, pem.data(), pem.size(), why, sizeof why))
        << why;
    std::string s((const char *)der, n);
    free(der);
    return s;
}

} // namespace

TEST(Generated, FixtureMatchesExpected)
{
    Decoded d = read_all(generated_open, "testdata/generated/certificates_test.txt");
    ASSERT_EQ(0, d.rc) << d.e.msg;
    auto rows = tu::read_tsv("testdata/expected/generated-expected.tsv");
    ASSERT_EQ(rows.size(), d.names.size());
    for (size_t i = 0; i < rows.size(); i++) {
        EXPECT_EQ(rows[i][1], d.names[i]) << i;
        EXPECT_EQ(rows[i][2], d.fps[i]) << i;
        EXPECT_EQ(ITEM_OK, d.verdicts[i]) << d.msgs[i];
        EXPECT_EQ(std::stoul(rows[i][0]), d.lines[i]);
    }
}

TEST(Generated, Base64OfDerIsAccepted)
{
    // What upstream's docs recommend and its code rejects: base64 of the DER.
    auto lines = generated_lines();
    std::string file;
    for (auto &l : lines)
        file += b64(pem_to_der(unb64(l))) + "\r\n";
    Decoded d = read_all(generated_open, tu::temp_file("der.txt", file));
    auto rows = tu::read_tsv("testdata/expected/generated-expected.tsv");
    ASSERT_EQ(rows.size(), d.names.size());
    for (size_t i = 0; i < rows.size(); i++) {
        EXPECT_EQ(rows[i][1], d.names[i]);
        EXPECT_EQ(rows[i][2], d.fps[i]);
    }
}

TEST(Generated, BadLinesAreItemErrorsAndReadingGoesOn)
{
    auto lines = generated_lines();
    std::string der = pem_to_der(unb64(lines[1]));
    std::string truncated = b64(der.substr(0, der.size() - 10));
    std::string trailing = b64(der + std::string("\x00\x01", 2));
    std::string file = lines[0] + "\n" + "not base64 at all!\n" + "\n" + truncated +
                       "\n" + b64("hello world, not a cert") + "\n" + trailing + "\n" +
                       std::string(300000, 'A') + "\n" + lines[2];
    src_limits lim = src_default_limits();
    Decoded d = read_all(generated_open, tu::temp_file("bad.txt", file), lim);
    ASSERT_EQ(0, d.rc);
    ASSERT_EQ(7u, d.verdicts.size()); // the blank line is skipped
    EXPECT_EQ(ITEM_OK, d.verdicts[0]);
    EXPECT_EQ(ITEM_ERROR, d.verdicts[1]);
    EXPECT_NE(std::string::npos, d.msgs[1].find("base64")) << d.msgs[1];
    EXPECT_EQ(2u, d.lines[1]);
    EXPECT_EQ(ITEM_ERROR, d.verdicts[2]);
    EXPECT_EQ(4u, d.lines[2]);
    EXPECT_EQ(ITEM_ERROR, d.verdicts[3]);
    EXPECT_NE(std::string::npos, d.msgs[3].find("neither")) << d.msgs[3];
    EXPECT_EQ(ITEM_ERROR, d.verdicts[4]);
    EXPECT_NE(std::string::npos, d.msgs[4].find("trailing")) << d.msgs[4];
    EXPECT_EQ(ITEM_ERROR, d.verdicts[5]);
    EXPECT_NE(std::string::npos, d.msgs[5].find("longer than")) << d.msgs[5];
    EXPECT_EQ(ITEM_OK, d.verdicts[6]);
    EXPECT_EQ("Device-2", d.names[6]);
    EXPECT_EQ(8u, d.lines[6]);
}

TEST(Pem, SingleFixture)
{
    Decoded d = read_all(pembundle_open, "testdata/misc/single.pem");
    ASSERT_EQ(0, d.rc);
    auto rows = tu::read_tsv("testdata/expected/single-pem-expected.tsv");
    ASSERT_EQ(1u, d.names.size());
    EXPECT_EQ(rows[0][1], d.names[0]);
    EXPECT_EQ(rows[0][2], d.fps[0]);
}

TEST(Pem, BundleWithTextKeysAndBrokenBlocks)
{
    std::string pem = single_pem();
    std::string broken = pem;
    broken[100] = '!';
    std::string unterminated = pem.substr(0, pem.find("-----END"));
    std::string file =
        "Bundle from the line\r\nsubject=...\r\n" + pem +
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n" +
        broken + unterminated + pem;
    Decoded d = read_all(pembundle_open, tu::temp_file("bundle.pem", file));
    ASSERT_EQ(0, d.rc) << d.e.msg;
    ASSERT_EQ(4u, d.verdicts.size());
    EXPECT_EQ(ITEM_OK, d.verdicts[0]);
    EXPECT_EQ(3u, d.lines[0]);
    EXPECT_EQ(ITEM_ERROR, d.verdicts[1]);
    EXPECT_NE(std::string::npos, d.msgs[1].find("base64")) << d.msgs[1];
    EXPECT_EQ(ITEM_ERROR, d.verdicts[2]);
    EXPECT_NE(std::string::npos, d.msgs[2].find("no END")) << d.msgs[2];
    EXPECT_EQ(ITEM_OK, d.verdicts[3]); // the block after the unterminated one still reads
    EXPECT_EQ(d.fps[0], d.fps[3]);
    EXPECT_NE(std::string::npos, d.notes.find("PRIVATE KEY")) << d.notes;
    EXPECT_EQ(std::string::npos, d.notes.find("MIIEvQ")); // never echo key material
}

TEST(Pem, NoCertificateIsAFileError)
{
    Decoded d = read_all(pembundle_open, tu::temp_file("none.pem", "just some text\n"));
    EXPECT_EQ(-1, d.rc);
    EXPECT_NE(std::string::npos, std::string(d.e.msg).find("no PEM certificate"));
    EXPECT_NE(std::string::npos, std::string(d.e.where).find("none.pem"));
}

TEST(Pem, OversizedBlockIsAnItemError)
{
    std::string pem = single_pem();
    size_t body = pem.find('\n') + 1;
    std::string big = pem.substr(0, body);
    for (int i = 0; i < 3000; i++)
        big += std::string(64, 'A') + "\n";
    big += "-----END CERTIFICATE-----\n";
    Decoded d = read_all(pembundle_open, tu::temp_file("big.pem", big + pem));
    ASSERT_EQ(2u, d.verdicts.size());
    EXPECT_EQ(ITEM_ERROR, d.verdicts[0]);
    EXPECT_NE(std::string::npos, d.msgs[0].find("larger than")) << d.msgs[0];
    EXPECT_EQ(ITEM_OK, d.verdicts[1]);
}

TEST(Der, SingleAndConcatenated)
{
    std::string der = pem_to_der(single_pem());
    Decoded one = read_all(der_open, tu::temp_file("one.der", der));
    ASSERT_EQ(1u, one.fps.size());
    EXPECT_EQ("349dc88b242e91b0bdc9d0a3dcc50a7f23955b854d201ec7acc74a52686ae196",
              one.fps[0]);
    EXPECT_EQ("6d1d54ba-ed81-4c32-8e08-f9f8c885a6ed", one.names[0]);

    auto lines = generated_lines();
    std::string two = der + pem_to_der(unb64(lines[5]));
    Decoded d = read_all(der_open, tu::temp_file("two.cer", two));
    ASSERT_EQ(2u, d.fps.size());
    EXPECT_EQ("Device-5", d.names[1]);

    Decoded junk = read_all(der_open, tu::temp_file("junk.der", der + "garbage"));
    ASSERT_EQ(2u, junk.verdicts.size());
    EXPECT_EQ(ITEM_OK, junk.verdicts[0]);
    EXPECT_EQ(ITEM_ERROR, junk.verdicts[1]);

    Decoded notder = read_all(der_open, tu::temp_file("text.der", "hello"));
    EXPECT_EQ(-1, notder.rc);
}

TEST(Cert, RejectsEveryTruncation)
{
    std::string der = pem_to_der(single_pem());
    cert_info ci;
    char why[256];
    ASSERT_EQ(0, cert_inspect(&ci, (const unsigned char *)der.data(), der.size(), 0, why,
                              sizeof why));
    EXPECT_EQ(std::string("6d1d54ba-ed81-4c32-8e08-f9f8c885a6ed"),
              std::string((const char *)ci.cn, ci.cn_len));
    EXPECT_LT(ci.not_before, ci.not_after);
    for (size_t n = 0; n < der.size(); n++)
        EXPECT_EQ(-1, cert_inspect(&ci, (const unsigned char *)der.data(), n, 0, why,
                                   sizeof why))
            << n;
}

TEST(Cert, RejectsCorruptedStructureBytes)
{
    // Flipping a length or tag byte in the first 40 bytes (the framing of the
    // Certificate, TBS, version, serial and algorithm) must never pass silently
    // as a different valid structure with the same size.
    std::string der = pem_to_der(single_pem());
    cert_info ci;
    char why[256];
    int rejected = 0;
    for (size_t i = 0; i < 40; i++) {
        std::string bad = der;
        bad[i] = (char)(bad[i] ^ 0x40);
        if (cert_inspect(&ci, (const unsigned char *)bad.data(), bad.size(), 0, why,
                         sizeof why) != 0)
            rejected++;
    }
    EXPECT_GT(rejected, 10);
}

TEST(Cert, ValidityDatesAreRead)
{
    auto lines = generated_lines();
    std::string der = pem_to_der(unb64(lines[0]));
    cert_info ci;
    char why[256];
    ASSERT_EQ(0, cert_inspect(&ci, (const unsigned char *)der.data(), der.size(), 0, why,
                              sizeof why));
    // issued 2025-08-14 (the intermediate CA's name says so)
    EXPECT_GE(ci.not_before, 1755129600LL - 86400);
    EXPECT_LE(ci.not_before, 1755129600LL + 86400);
}

TEST(B64, StrictDecoding)
{
    unsigned char out[64];
    size_t n = 0, bad = 0;
    EXPECT_EQ(0, b64_decode(out, &n, "aGVsbG8=", 8, B64_STD, &bad));
    EXPECT_EQ(5u, n);
    EXPECT_EQ(0, memcmp(out, "hello", 5));
    EXPECT_EQ(-1, b64_decode(out, &n, "aGVsbG8", 7, B64_STD, &bad)); // missing padding
    EXPECT_EQ(0, b64_decode(out, &n, "aGVsbG8", 7, B64_URL, &bad));  // fine in base64url
    EXPECT_EQ(-1, b64_decode(out, &n, "aGVs*G8=", 8, B64_STD, &bad));
    EXPECT_EQ(4u, bad);
    EXPECT_EQ(-1,
              b64_decode(out, &n, "aGVsbG8=aGVs", 12, B64_STD, &bad)); // data after pad
    EXPECT_EQ(-1,
              b64_decode(out, &n, "aGVsbG9=", 8, B64_STD, &bad)); // non-canonical bits
    EXPECT_EQ(0,
              b64_decode(out, &n, "aGVs\r\nbG8=\n", 11, B64_STD | B64_SKIP_SPACE, &bad));
    EXPECT_EQ(-1, b64_decode(out, &n, "aGVs\nbG8=", 9, B64_STD, &bad));
    EXPECT_EQ(-1, b64_decode(out, &n, "a===", 4, B64_STD, &bad));
}

TEST(Cert, DerToPemWithChain)
{
    // The device certificate, then each whole certificate of the chain; the
    // bytes after the last whole one are left out.
    std::string pem = single_pem();
    std::string der = pem_to_der(pem);
    auto lines = generated_lines();
    std::string issuer1 = pem_to_der(unb64(lines[5])),
                issuer2 = pem_to_der(unb64(lines[0]));
    std::string chain = issuer1 + issuer2 + "\x30\x03\x02\x01";

    char *one =
        cert_der_to_pem((const unsigned char *)der.data(), der.size(), nullptr, 0);
    EXPECT_EQ(pem, std::string(one)) << "64-column lines, LF endings, as the fixture";
    EXPECT_EQ(cert_pem_size(der.size()), strlen(one));
    free(one);

    char *all = cert_der_to_pem((const unsigned char *)der.data(), der.size(),
                                (const unsigned char *)chain.data(), chain.size());
    std::string text(all);
    free(all);
    std::vector<std::string> blocks;
    const std::string end = "-----END CERTIFICATE-----\n";
    for (size_t at = 0, e; (e = text.find(end, at)) != std::string::npos;
         at = e + end.size())
        blocks.push_back(text.substr(at, e + end.size() - at));
    ASSERT_EQ(3u, blocks.size()) << text;
    EXPECT_EQ(text, blocks[0] + blocks[1] + blocks[2]);
    EXPECT_EQ(pem, blocks[0]);
    EXPECT_EQ(issuer1, pem_to_der(blocks[1]));
    EXPECT_EQ(issuer2, pem_to_der(blocks[2]));
}

TEST(Item, FingerprintKey)
{
    char key[65];
    EXPECT_STREQ(
        "349dc88b242e91b0bdc9d0a3dcc50a7f23955b854d201ec7acc74a52686ae196",
        item_fp_key(key, sizeof key,
                    "349DC88B242E91B0BDC9D0A3DCC50A7F23955B854D201EC7ACC74A52686AE196"));
    EXPECT_STREQ("", item_fp_key(key, sizeof key, nullptr));
    char small[5];
    EXPECT_STREQ("ab:c", item_fp_key(small, sizeof small, "AB:CD:EF"));
    char wide[100];
    EXPECT_STREQ("ab:cd:xyz", item_fp_key(wide, sizeof wide, "AB:cd:XYZ"));
}
