// Tests for the Infineon bundle reader (parsers/infineon.c): the upstream
// fixture against the expected TSVs for every bundle, and hostile or broken
// archives built at test time with libarchive's writer.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "base/err.h"
#include "parsers/item.h"
#include "parsers/src.h"
#include "parsers/src_impl.h"
}

namespace
{

const char kFixture[] = "testdata/infineon/manifest-infineon.7z";

struct Member {
    std::string name;
    std::string data;
};

std::string tmp_path(const std::string &name)
{
    const char *d = std::getenv("TEST_TMPDIR");
    return std::string(d ? d : "/tmp") + "/infineon_" + name;
}

std::string slurp(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void spit(const std::string &path, const std::string &data)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(data.data(), (std::streamsize)data.size());
}

// Writes members to path as "7z", "zip" or "tar"; a non-empty passphrase
// encrypts (zip only: libarchive cannot write encrypted 7z).
void write_archive(const std::string &path, const std::string &format,
                   const std::vector<Member> &members, const std::string &passphrase = "")
{
    struct archive *a = archive_write_new();
    ASSERT_NE(a, nullptr);
    if (format == "7z") {
        ASSERT_EQ(archive_write_set_format_7zip(a), ARCHIVE_OK);
        ASSERT_EQ(archive_write_set_options(a, "7zip:compression=lzma2"), ARCHIVE_OK);
    } else if (format == "zip") {
        ASSERT_EQ(archive_write_set_format_zip(a), ARCHIVE_OK);
        if (!passphrase.empty()) {
            ASSERT_EQ(archive_write_set_options(a, "zip:encryption=zipcrypt"),
                      ARCHIVE_OK);
            ASSERT_EQ(archive_write_set_passphrase(a, passphrase.c_str()), ARCHIVE_OK);
        }
    } else {
        ASSERT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    }
    ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK)
        << archive_error_string(a);
    for (const Member &m : members) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m.name.c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)m.data.size());
        archive_entry_set_mtime(e, 1686659341, 0);
        ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
        size_t off = 0;
        while (off < m.data.size()) {
            size_t n = std::min<size_t>(1 << 20, m.data.size() - off);
            ASSERT_EQ(archive_write_data(a, m.data.data() + off, n), (la_ssize_t)n);
            off += n;
        }
        archive_entry_free(e);
    }
    ASSERT_EQ(archive_write_close(a), ARCHIVE_OK) << archive_error_string(a);
    archive_write_free(a);
}

std::string build(const std::string &name, const std::string &format,
                  const std::vector<Member> &members, const std::string &passphrase = "")
{
    std::string path = tmp_path(name);
    write_archive(path, format, members, passphrase);
    return path;
}

// All members of an archive held in memory (test side: our own reader, not
// the one under test).
std::vector<Member> members_of(const std::string &bytes)
{
    std::vector<Member> out;
    struct archive *a = archive_read_new();
    archive_read_support_format_7zip(a);
    EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        Member m;
        m.name = archive_entry_pathname(e);
        if (!archive_entry_is_encrypted(e)) {
            char chunk[65536];
            la_ssize_t n;
            while ((n = archive_read_data(a, chunk, sizeof chunk)) > 0)
                m.data.append(chunk, (size_t)n);
        }
        out.push_back(m);
    }
    archive_read_free(a);
    return out;
}

Member outer_member(const std::string &suffix)
{
    for (Member &m : members_of(slurp(kFixture)))
        if (m.name.size() >= suffix.size() &&
            m.name.compare(m.name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return m;
    ADD_FAILURE() << "fixture has no member ending in " << suffix;
    return Member();
}

// The first n certificates of the fixture's E0E0 bundle.
std::vector<Member> good_pems(size_t n)
{
    std::vector<Member> all = members_of(outer_member("_E0E0_Certs.7z").data);
    if (all.size() > n)
        all.resize(n);
    return all;
}

// An outer bundle whose E0E0 certificate archive holds `inner` (as 7z, or
// as `inner_format`).
std::string bundle_with(const std::string &name, const std::vector<Member> &inner,
                        const std::string &inner_format = "7z")
{
    std::string inner_path = build(name + ".inner", inner_format, inner);
    return build(
        name + ".7z", "7z",
        {{"REEL_GUID_E0E0_Certs.7z", slurp(inner_path)}, {"README.txt", "hello\r\n"}});
}

uint32_t le32(const std::string &b, size_t at)
{
    return (uint32_t)(unsigned char)b[at] | (uint32_t)(unsigned char)b[at + 1] << 8 |
           (uint32_t)(unsigned char)b[at + 2] << 16 |
           (uint32_t)(unsigned char)b[at + 3] << 24;
}

void put_le32(std::string *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        (*b)[at + i] = (char)(v >> (8 * i));
}

uint16_t le16(const std::string &b, size_t at)
{
    return (uint16_t)((unsigned char)b[at] | (unsigned char)b[at + 1] << 8);
}

// Rewrites the uncompressed size a zip declares for member `name` (local
// header, when it has one, and central directory) to `size`: a header that
// lies, as a hostile file would. The deflate stream still holds all the data.
std::string zip_lie_about_size(std::string zip, const std::string &name, uint32_t size)
{
    int patched = 0;
    for (size_t i = 0; i + 46 <= zip.size(); i++) {
        if (zip.compare(i, 4, "PK\x01\x02") == 0) {
            size_t nlen = le16(zip, i + 28);
            if (zip.compare(i + 46, nlen, name) == 0 && nlen == name.size()) {
                put_le32(&zip, i + 24, size);
                patched++;
            }
        } else if (zip.compare(i, 4, "PK\x03\x04") == 0) {
            size_t nlen = le16(zip, i + 26);
            if (zip.compare(i + 30, nlen, name) == 0 && nlen == name.size() &&
                le32(zip, i + 22) != 0)
                put_le32(&zip, i + 22, size);
        }
    }
    EXPECT_EQ(patched, 1) << name;
    return zip;
}

src_limits small_limits()
{
    src_limits l;
    memset(&l, 0, sizeof l);
    l.max_line = 256 * 1024;
    l.max_entries = 100000;
    l.max_member_bytes = 64u << 20;
    l.max_total_bytes = 512u << 20;
    l.max_json_bytes = 1 << 20;
    return l;
}

struct Result {
    int open_rc = 0;
    int end_rc = 0; // last next() result: 0 end, -1 rejected
    err e;
    std::vector<item> items; // decoded
    std::string notes;

    ~Result()
    {
        for (item &it : items)
            item_clear(&it);
    }
};

// Opens path and reads every item (decoding each), like src_next's caller.
void run(Result *r, const std::string &path, const char *bundle, const src_limits &lim)
{
    src_opts o;
    memset(&o, 0, sizeof o);
    o.vendor = VENDOR_INFINEON;
    o.infineon_bundle = bundle;
    o.limits = lim;
    err_clear(&r->e);
    src_impl impl;
    memset(&impl, 0xAB, sizeof impl);
    r->open_rc = infineon_open(&impl, path.c_str(), &o, &r->e);
    if (r->open_rc != 0) {
        // A failed open leaves *out untouched.
        src_impl poison;
        memset(&poison, 0xAB, sizeof poison);
        EXPECT_EQ(memcmp(&impl, &poison, sizeof impl), 0);
        return;
    }
    for (;;) {
        item it;
        item_init(&it);
        int rc = impl.next(impl.state, &it, &r->e);
        if (rc != 1) {
            item_clear(&it);
            r->end_rc = rc;
            break;
        }
        item_decode(&it);
        r->items.push_back(it);
    }
    if (impl.notes)
        r->notes = impl.notes(impl.state);
    impl.free(impl.state);
}

std::vector<std::vector<std::string>> read_tsv(const std::string &path)
{
    std::vector<std::vector<std::string>> rows;
    std::ifstream f(path);
    std::string line;
    std::getline(f, line); // header
    while (std::getline(f, line)) {
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t'))
            cols.push_back(c);
        rows.push_back(cols);
    }
    return rows;
}

bool contains(const char *hay, const char *needle)
{
    return std::strstr(hay, needle) != nullptr;
}

// ---- the upstream fixture ----

class InfineonFixture : public ::testing::TestWithParam<const char *>
{
};

TEST_P(InfineonFixture, MatchesExpectedTsv)
{
    std::string bundle = GetParam();
    auto rows = read_tsv("testdata/expected/infineon-" + bundle + "-expected.tsv");
    ASSERT_EQ(rows.size(), 200u);
    Result r;
    run(&r, kFixture, bundle.c_str(), small_limits());
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.end_rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), rows.size());
    for (size_t i = 0; i < rows.size(); i++) {
        const item &it = r.items[i];
        ASSERT_GE(rows[i].size(), 4u);
        EXPECT_EQ(rows[i][0], std::to_string(i));
        ASSERT_NE(it.where, nullptr);
        EXPECT_EQ(std::string(it.where), rows[i][1]) << "item " << i;
        ASSERT_NE(it.thing_name, nullptr) << "item " << i << ": " << it.message;
        EXPECT_EQ(std::string(it.thing_name), rows[i][2]) << "item " << i;
        EXPECT_EQ(std::string(it.fingerprint), rows[i][3]) << "item " << i;
        EXPECT_NE(it.verdict, ITEM_ERROR) << "item " << i << ": " << it.message;
        EXPECT_EQ(it.line, 0u);
    }
    EXPECT_EQ(r.notes, "");
}

INSTANTIATE_TEST_SUITE_P(Bundles, InfineonFixture,
                         ::testing::Values("E0E0", "E0E1", "E0E2"));

TEST(Infineon, DefaultBundleIsE0E0)
{
    Result r;
    run(&r, kFixture, nullptr, small_limits());
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 200u);
    EXPECT_STREQ(r.items[0].where, "0A091B5C001500070063_E0E0.pem");
}

TEST(Infineon, RawIsThePemMemberBytes)
{
    // Before decoding, raw is an owned copy of the member, CRLFs and all.
    std::vector<Member> want = good_pems(2);
    src_opts o;
    memset(&o, 0, sizeof o);
    o.limits = small_limits();
    err e;
    err_clear(&e);
    src_impl impl;
    ASSERT_EQ(infineon_open(&impl, kFixture, &o, &e), 0) << e.msg;
    for (const Member &m : want) {
        item it;
        item_init(&it);
        ASSERT_EQ(impl.next(impl.state, &it, &e), 1) << e.msg;
        EXPECT_EQ(it.raw_kind, RAW_PEM);
        EXPECT_EQ(it.name_from_cn, 1);
        ASSERT_EQ(it.raw_len, m.data.size());
        EXPECT_EQ(std::string(it.raw, it.raw_len), m.data);
        EXPECT_NE(m.data.find("\r\n"), std::string::npos);
        item_clear(&it);
    }
    // Stop mid-stream: freeing with the inner archive open must not leak.
    impl.free(impl.state);
}

TEST(Infineon, UnknownBundleIsUsageError)
{
    for (const char *b : {"E0E3", "e0e0", "", "E0E0_Certs"}) {
        Result r;
        run(&r, kFixture, b, small_limits());
        EXPECT_EQ(r.open_rc, -1) << b;
        EXPECT_EQ(r.e.code, ERR_USAGE) << b;
        EXPECT_TRUE(contains(r.e.msg, "E0E0, E0E1 or E0E2")) << r.e.msg;
    }
}

// ---- whole-file errors ----

TEST(Infineon, MissingFileIsIoError)
{
    Result r;
    std::string path = tmp_path("does-not-exist.7z");
    run(&r, path, nullptr, small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_IO) << r.e.msg;
    EXPECT_EQ(std::string(r.e.where), path);
}

TEST(Infineon, NonArchiveIsFormatError)
{
    std::string path = tmp_path("not-an-archive.7z");
    spit(path, "MAC,cn,cert\r\nthis is a CSV file, not a 7z archive\r\n");
    Result r;
    run(&r, path, nullptr, small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(std::string(r.e.where), path);
    EXPECT_TRUE(contains(r.e.msg, "not a readable Infineon bundle")) << r.e.msg;
}

TEST(Infineon, EmptyFileIsFormatError)
{
    std::string path = tmp_path("empty.7z");
    spit(path, "");
    Result r;
    run(&r, path, nullptr, small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT) << r.e.msg;
}

TEST(Infineon, TruncatedFixtureIsFormatError)
{
    std::string all = slurp(kFixture);
    ASSERT_EQ(all.size(), 275968u);
    std::string path = tmp_path("truncated.7z");
    spit(path, all.substr(0, all.size() / 2));
    Result r;
    run(&r, path, nullptr, small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(std::string(r.e.where), path);
    EXPECT_TRUE(contains(r.e.msg, "not a readable Infineon bundle")) << r.e.msg;
}

TEST(Infineon, MissingBundleNamesThePresentOnes)
{
    std::string path =
        build("no-e0e0.7z", "7z",
              {{"REEL_GUID_E0E1_Certs.7z", outer_member("_E0E1_Certs.7z").data},
               {"REEL_GUID_E0E2_Certs.7z", outer_member("_E0E2_Certs.7z").data},
               {"REEL_GUID_keys.7z", outer_member("_keys.7z").data},
               {"README.txt", "readme\r\n"}});
    Result r;
    run(&r, path, "E0E0", small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(std::string(r.e.where), path);
    EXPECT_TRUE(contains(r.e.msg, "no E0E0 certificate archive")) << r.e.msg;
    EXPECT_TRUE(contains(r.e.msg, "bundles present: E0E1, E0E2")) << r.e.msg;

    // The same file read for a bundle it has works.
    Result ok;
    run(&ok, path, "E0E2", small_limits());
    ASSERT_EQ(ok.open_rc, 0) << ok.e.msg;
    EXPECT_EQ(ok.end_rc, 0);
    EXPECT_EQ(ok.items.size(), 200u);
}

TEST(Infineon, NoBundleAtAllSaysNone)
{
    std::string path = build("no-bundles.zip", "zip", {{"README.txt", "readme\r\n"}});
    Result r;
    run(&r, path, "E0E1", small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_TRUE(contains(r.e.msg, "bundles present: none")) << r.e.msg;
}

TEST(Infineon, EncryptedCertsArchiveIsRejected)
{
    // The fixture's keys archive (7zAES-encrypted members) in the E0E0 slot.
    std::string path =
        build("encrypted-inner.7z", "7z",
              {{"REEL_GUID_E0E0_Certs.7z", outer_member("_keys.7z").data}});
    Result r;
    run(&r, path, nullptr, small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(std::string(r.e.where), path);
    EXPECT_TRUE(contains(r.e.msg, "REEL_GUID_E0E0_Certs.7z")) << r.e.msg;
    EXPECT_TRUE(contains(r.e.msg, "encrypted")) << r.e.msg;
}

TEST(Infineon, EncryptedCertsMemberIsRejected)
{
    // The certificate archive itself encrypted in the outer archive (zip:
    // libarchive cannot write an encrypted 7z).
    std::string path = build(
        "encrypted-outer.zip", "zip",
        {{"REEL_GUID_E0E0_Certs.7z", outer_member("_E0E0_Certs.7z").data}}, "secret");
    Result r;
    run(&r, path, nullptr, small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_TRUE(contains(r.e.msg, "'REEL_GUID_E0E0_Certs.7z' is encrypted")) << r.e.msg;
}

TEST(Infineon, CorruptCertsArchiveIsRejected)
{
    std::string path = build("garbage-inner.7z", "7z",
                             {{"REEL_GUID_E0E0_Certs.7z", "this is not an archive\n"}});
    Result r;
    run(&r, path, nullptr, small_limits());
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_TRUE(contains(r.e.msg, "'REEL_GUID_E0E0_Certs.7z' is not a readable"))
        << r.e.msg;

    std::string inner = outer_member("_E0E0_Certs.7z").data;
    path = build("truncated-inner.7z", "7z",
                 {{"REEL_GUID_E0E0_Certs.7z", inner.substr(0, inner.size() / 2)}});
    Result t;
    run(&t, path, nullptr, small_limits());
    EXPECT_EQ(t.open_rc, -1);
    EXPECT_EQ(t.e.code, ERR_FORMAT);
    EXPECT_TRUE(contains(t.e.msg, "REEL_GUID_E0E0_Certs.7z")) << t.e.msg;
}

TEST(Infineon, CorruptionAfterSomeItemsStopsTheFile)
{
    // A tar inner archive cut inside its third member: the first two stream
    // out, then the whole file is rejected.
    std::vector<Member> pems = good_pems(3);
    std::string tar_path = build("cut.tar", "tar", pems);
    std::string tar = slurp(tar_path);
    std::string cut = tar.substr(0, 2 * 512 + 2 * 1536 + 512 + 100);
    std::string path = build("cut-inner.7z", "7z", {{"REEL_GUID_E0E0_Certs.7z", cut}});
    Result r;
    run(&r, path, nullptr, small_limits());
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.end_rc, -1);
    EXPECT_EQ(r.items.size(), 2u);
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_TRUE(contains(r.e.msg, "corrupt")) << r.e.msg;
}

// ---- limits ----

TEST(Infineon, BombedCertsMemberHitsMemberLimitQuickly)
{
    std::string path = build("bomb-outer.7z", "7z",
                             {{"REEL_GUID_E0E0_Certs.7z", std::string(32u << 20, '\0')}});
    EXPECT_LT(slurp(path).size(), 64u * 1024); // highly compressible
    src_limits lim = small_limits();
    lim.max_member_bytes = 1u << 20;
    auto t0 = std::chrono::steady_clock::now();
    Result r;
    run(&r, path, nullptr, lim);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_TRUE(contains(r.e.msg, "possible decompression bomb")) << r.e.msg;
    EXPECT_TRUE(contains(r.e.msg, "1048576")) << r.e.msg;
    EXPECT_LT(secs, 10.0);
}

TEST(Infineon, BombedCertsMemberHitsTotalLimitWhileReading)
{
    // The member limit allows it, the total does not: counted chunk by chunk.
    std::string path = build("bomb-outer-total.7z", "7z",
                             {{"REEL_GUID_E0E0_Certs.7z", std::string(32u << 20, '\0')}});
    src_limits lim = small_limits();
    lim.max_total_bytes = 1u << 20;
    Result r;
    run(&r, path, nullptr, lim);
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_TRUE(contains(r.e.msg, "decompressed size exceeds 1048576 bytes: possible "
                                  "decompression bomb"))
        << r.e.msg;
}

TEST(Infineon, SkippedBombCountsAgainstTotal)
{
    // A member we never read still costs libarchive its decompression.
    std::string path =
        build("bomb-skipped.7z", "7z",
              {{"filler.bin", std::string(32u << 20, '\0')},
               {"REEL_GUID_E0E0_Certs.7z", outer_member("_E0E0_Certs.7z").data}});
    src_limits lim = small_limits();
    lim.max_total_bytes = 4u << 20;
    Result r;
    run(&r, path, nullptr, lim);
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_TRUE(contains(r.e.msg, "filler.bin")) << r.e.msg;
}

TEST(Infineon, LyingSizeCertsMemberHitsMemberLimit)
{
    // The header says 1000 bytes; the data is 8 MiB. Counting while reading
    // stops it at the member limit.
    std::string zip_path =
        build("lying-outer.zip", "zip",
              {{"REEL_GUID_E0E0_Certs.7z", std::string(8u << 20, '\0')}});
    std::string path = tmp_path("lying-outer-patched.zip");
    spit(path, zip_lie_about_size(slurp(zip_path), "REEL_GUID_E0E0_Certs.7z", 1000));
    src_limits lim = small_limits();
    lim.max_member_bytes = 1u << 20;
    Result r;
    run(&r, path, nullptr, lim);
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_TRUE(contains(r.e.msg, "decompresses to more than 1048576 bytes: possible "
                                  "decompression bomb"))
        << r.e.msg;
}

TEST(Infineon, LyingSizePemIsAnItemError)
{
    std::vector<Member> pems = good_pems(2);
    std::string zip_path =
        build("lying-inner.zip", "zip",
              {pems[0], {"LIAR_E0E0.pem", std::string(4u << 20, 'A')}, pems[1]});
    std::string zip = zip_lie_about_size(slurp(zip_path), "LIAR_E0E0.pem", 1200);
    std::string path = build("lying-inner.7z", "7z", {{"REEL_GUID_E0E0_Certs.7z", zip}});
    src_limits lim = small_limits();
    lim.max_member_bytes = 1u << 20;
    Result r;
    run(&r, path, nullptr, lim);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.end_rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 3u);
    EXPECT_NE(r.items[0].verdict, ITEM_ERROR) << r.items[0].message;
    EXPECT_EQ(r.items[1].verdict, ITEM_ERROR);
    EXPECT_STREQ(r.items[1].where, "LIAR_E0E0.pem");
    EXPECT_TRUE(contains(r.items[1].message, "more than the limit of 1048576"))
        << r.items[1].message;
    EXPECT_NE(r.items[2].verdict, ITEM_ERROR) << r.items[2].message;
    EXPECT_STREQ(r.items[2].fingerprint,
                 read_tsv("testdata/expected/infineon-E0E0-expected.tsv")[1][3].c_str());
}

TEST(Infineon, OversizePemIsAnItemError)
{
    std::vector<Member> pems = good_pems(2);
    std::vector<Member> inner = {
        pems[0], {"HUGE_E0E0.pem", std::string(2u << 20, 'A')}, pems[1]};
    std::string path = bundle_with("oversize", inner);
    src_limits lim = small_limits();
    lim.max_member_bytes = 1u << 20;
    Result r;
    run(&r, path, nullptr, lim);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.end_rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 3u);
    EXPECT_NE(r.items[0].verdict, ITEM_ERROR) << r.items[0].message;
    EXPECT_EQ(r.items[1].verdict, ITEM_ERROR);
    EXPECT_STREQ(r.items[1].where, "HUGE_E0E0.pem");
    EXPECT_TRUE(contains(r.items[1].message, "more than the limit of 1048576"))
        << r.items[1].message;
    EXPECT_NE(r.items[2].verdict, ITEM_ERROR) << r.items[2].message;
    EXPECT_STREQ(r.items[2].where, pems[1].name.c_str());
}

TEST(Infineon, InnerMembersHitTotalLimit)
{
    // Each member is under the member limit; together they exceed the total.
    std::vector<Member> inner;
    for (int i = 0; i < 8; i++)
        inner.push_back(
            {"Z" + std::to_string(i) + "_E0E0.pem", std::string(512u << 10, 'Z')});
    std::string path = bundle_with("total", inner);
    src_limits lim = small_limits();
    lim.max_member_bytes = 1u << 20;
    lim.max_total_bytes = 2u << 20;
    Result r;
    run(&r, path, nullptr, lim);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.end_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_LT(r.items.size(), 4u);
    EXPECT_GE(r.items.size(), 1u);
    EXPECT_TRUE(contains(r.e.msg, "possible decompression bomb")) << r.e.msg;
}

TEST(Infineon, TooManyOuterEntries)
{
    std::vector<Member> outer;
    for (int i = 0; i < 20; i++)
        outer.push_back({"note" + std::to_string(i) + ".txt", "x"});
    outer.push_back({"REEL_GUID_E0E0_Certs.7z", outer_member("_E0E0_Certs.7z").data});
    std::string path = build("many-outer.7z", "7z", outer);
    src_limits lim = small_limits();
    lim.max_entries = 10;
    Result r;
    run(&r, path, nullptr, lim);
    EXPECT_EQ(r.open_rc, -1);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_TRUE(contains(r.e.msg, "more than 10 entries")) << r.e.msg;
}

TEST(Infineon, TooManyInnerEntries)
{
    std::string path = bundle_with("many-inner", good_pems(20));
    src_limits lim = small_limits();
    lim.max_entries = 10;
    Result r;
    run(&r, path, nullptr, lim);
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.end_rc, -1);
    EXPECT_EQ(r.items.size(), 10u);
    EXPECT_EQ(r.e.code, ERR_LIMIT);
    EXPECT_TRUE(contains(r.e.msg, "more than 10 entries")) << r.e.msg;

    // 20 is fine with the limit at 20.
    lim.max_entries = 20;
    Result ok;
    run(&ok, path, nullptr, lim);
    EXPECT_EQ(ok.end_rc, 0) << ok.e.msg;
    EXPECT_EQ(ok.items.size(), 20u);
}

// ---- item problems ----

TEST(Infineon, BrokenPemAmongGoodOnes)
{
    std::vector<Member> pems = good_pems(2);
    std::vector<Member> inner = {
        pems[0],
        {"BROKEN_E0E0.pem", "-----BEGIN CERTIFICATE-----\r\nnot*base64!\r\n"
                            "-----END CERTIFICATE-----\r\n"},
        {"readme.txt", "not a certificate\n"},
        pems[1],
    };
    std::string path = bundle_with("broken", inner);
    Result r;
    run(&r, path, nullptr, small_limits());
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.end_rc, 0) << r.e.msg;
    ASSERT_EQ(r.items.size(), 3u);
    auto rows = read_tsv("testdata/expected/infineon-E0E0-expected.tsv");
    EXPECT_NE(r.items[0].verdict, ITEM_ERROR) << r.items[0].message;
    EXPECT_STREQ(r.items[0].thing_name, rows[0][2].c_str());
    EXPECT_EQ(r.items[1].verdict, ITEM_ERROR);
    EXPECT_STREQ(r.items[1].where, "BROKEN_E0E0.pem");
    EXPECT_NE(r.items[1].message[0], '\0');
    EXPECT_NE(r.items[2].verdict, ITEM_ERROR) << r.items[2].message;
    EXPECT_STREQ(r.items[2].thing_name, rows[1][2].c_str());
    EXPECT_STREQ(r.items[2].fingerprint, rows[1][3].c_str());
    EXPECT_TRUE(contains(r.notes.c_str(), "1 non-PEM member of 'REEL_GUID_E0E0_Certs.7z' "
                                          "skipped (e.g. 'readme.txt')"))
        << r.notes;
}

TEST(Infineon, CertsArchiveWithoutPemsGivesNoItemsAndANote)
{
    std::string path = bundle_with("no-pems", {{"a.txt", "a"}, {"b.crt", "b"}});
    Result r;
    run(&r, path, nullptr, small_limits());
    ASSERT_EQ(r.open_rc, 0) << r.e.msg;
    EXPECT_EQ(r.end_rc, 0);
    EXPECT_TRUE(r.items.empty());
    EXPECT_TRUE(contains(r.notes.c_str(), "2 non-PEM members")) << r.notes;
    EXPECT_TRUE(contains(r.notes.c_str(), "holds no .pem files")) << r.notes;
}

} // namespace
