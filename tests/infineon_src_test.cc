// The Infineon reader through the public entry point (parsers/src.h):
// format detection from the file and default limits, for every bundle.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "base/err.h"
#include "parsers/item.h"
#include "parsers/src.h"
}

namespace
{

const char kFixture[] = "testdata/infineon/manifest-infineon.7z";

// Column 3 (fingerprint) of an expected TSV, header skipped.
std::vector<std::string> expected_fingerprints(const std::string &bundle)
{
    std::vector<std::string> out;
    std::ifstream f("testdata/expected/infineon-" + bundle + "-expected.tsv");
    std::string line;
    std::getline(f, line);
    while (std::getline(f, line)) {
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t'))
            cols.push_back(c);
        out.push_back(cols.size() > 3 ? cols[3] : "");
    }
    return out;
}

class InfineonSrc : public ::testing::TestWithParam<const char *>
{
};

TEST_P(InfineonSrc, DetectedAndReadWithDefaults)
{
    std::string bundle = GetParam();
    std::vector<std::string> want = expected_fingerprints(bundle);
    ASSERT_EQ(want.size(), 200u);
    src_opts o;
    memset(&o, 0, sizeof o);
    o.infineon_bundle = bundle == "E0E0" ? nullptr : bundle.c_str();
    err e;
    err_clear(&e);
    src *s = nullptr;
    ASSERT_EQ(src_open(&s, kFixture, &o, &e), 0) << e.msg;
    EXPECT_EQ(src_vendor(s), VENDOR_INFINEON);
    size_t n = 0;
    for (;;) {
        item it;
        item_init(&it);
        int rc = src_next(s, &it, &e);
        ASSERT_GE(rc, 0) << e.msg;
        if (rc == 0)
            break;
        EXPECT_EQ(it.index, n);
        item_decode(&it);
        ASSERT_LT(n, want.size());
        EXPECT_EQ(std::string(it.fingerprint), want[n]) << "item " << n;
        EXPECT_NE(it.verdict, ITEM_ERROR) << it.message;
        item_clear(&it);
        n++;
    }
    EXPECT_EQ(n, 200u);
    EXPECT_STREQ(src_notes(s), "");
    src_free(s);
}

INSTANTIATE_TEST_SUITE_P(Bundles, InfineonSrc, ::testing::Values("E0E0", "E0E1", "E0E2"));

TEST(InfineonSrc, BadBundleIsUsageError)
{
    src_opts o;
    memset(&o, 0, sizeof o);
    o.infineon_bundle = "E0E9";
    err e;
    err_clear(&e);
    src *s = nullptr;
    EXPECT_EQ(src_open(&s, kFixture, &o, &e), -1);
    EXPECT_EQ(e.code, ERR_USAGE) << e.msg;
    src_free(s);
}

} // namespace
