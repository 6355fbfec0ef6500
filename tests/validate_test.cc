// The validation rules (parsers/validate.c): each single rule at its
// boundaries, the per-item rules through val_item(), and the duplicate tables
// at a million items.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parsers/item.h"
#include "parsers/validate.h"

#if defined(__SANITIZE_ADDRESS__)
#define TP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TP_ASAN 1
#endif
#endif

namespace
{

typedef item_verdict (*rule_fn)(const char *, char *, size_t);

struct outcome {
    item_verdict v;
    std::string why;
};

outcome check(rule_fn f, const std::string &s)
{
    char why[ITEM_MSG_MAX];
    strcpy(why, "untouched");
    outcome o;
    o.v = f(s.c_str(), why, sizeof why);
    o.why = o.v == ITEM_OK ? "" : why;
    return o;
}

::testing::AssertionResult has(const std::string &hay, const std::string &needle)
{
    if (hay.find(needle) != std::string::npos)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "\"" << hay << "\" lacks \"" << needle << "\"";
}

const std::string FP = "349dc88b242e91b0bdc9d0a3dcc50a7f23955b854d201ec7acc74a52686ae196";

// ---- single rules ----

TEST(ValRules, ThingName)
{
    EXPECT_EQ(check(val_check_thing_name, "a").v, ITEM_OK);
    EXPECT_EQ(check(val_check_thing_name, "AZaz09_-").v, ITEM_OK);
    EXPECT_EQ(check(val_check_thing_name, std::string(128, 'x')).v, ITEM_OK);
    outcome o = check(val_check_thing_name, std::string(129, 'x'));
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(has(o.why, "thing name is 129 characters, more than 128"));
    o = check(val_check_thing_name, "");
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(has(o.why, "thing name is empty"));
    for (const char *bad :
         {"a b", "a.b", "a/b", "a@b", "a#b", "a=b", "a\tb", "caf\xc3\xa9"}) {
        o = check(val_check_thing_name, bad);
        EXPECT_EQ(o.v, ITEM_ERROR) << bad;
        EXPECT_TRUE(has(o.why, "contains")) << bad;
    }
    o = check(val_check_thing_name, "a\tb");
    EXPECT_TRUE(has(o.why, "'\\x09' at position 2")) << o.why;
    EXPECT_EQ(o.why.find('\t'), std::string::npos) << "one printable line";
    o = check(val_check_thing_name, "sn:0123");
    EXPECT_EQ(o.v, ITEM_WARN);
    EXPECT_TRUE(has(o.why, "contains ':'"));
    EXPECT_TRUE(has(o.why, "URL-encoded twice"));
    // ':' plus too long is an error, not a warning
    EXPECT_EQ(check(val_check_thing_name, ":" + std::string(128, 'x')).v, ITEM_ERROR);
    EXPECT_EQ(val_check_thing_name(nullptr, nullptr, 0), ITEM_ERROR);
}

TEST(ValRules, Fingerprint)
{
    EXPECT_EQ(check(val_check_fingerprint, FP).v, ITEM_OK);
    std::string up = FP;
    for (auto &c : up)
        c = (char)toupper((unsigned char)c);
    EXPECT_EQ(check(val_check_fingerprint, up).v, ITEM_OK);
    EXPECT_EQ(check(val_check_fingerprint, std::string(64, 'F')).v, ITEM_OK);

    outcome o = check(val_check_fingerprint, FP.substr(0, 63));
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(
        has(o.why, "Invalid certFingerprint format (must be 64 hex chars), got 63"));
    o = check(val_check_fingerprint, FP + "0");
    EXPECT_TRUE(has(o.why, "got 65"));
    o = check(val_check_fingerprint, "");
    EXPECT_TRUE(has(o.why, "got 0"));
    o = check(val_check_fingerprint, FP.substr(0, 40));
    EXPECT_TRUE(has(o.why, "SHA-1")) << o.why;

    std::string g = FP;
    g[63] = 'g';
    o = check(val_check_fingerprint, g);
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(
        has(o.why, "certFingerprint must contain only hex characters (0-9, a-f, A-F)"));
    EXPECT_TRUE(has(o.why, "'g' at position 64"));

    std::string colons;
    for (size_t i = 0; i < 64; i += 2)
        colons += (i ? ":" : "") + FP.substr(i, 2);
    o = check(val_check_fingerprint, colons);
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(has(o.why, "remove the colons"));
    std::string spaced = FP;
    spaced[10] = ' ';
    o = check(val_check_fingerprint, spaced);
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(has(o.why, "' ' at position 11"));

    char why[ITEM_MSG_MAX];
    EXPECT_EQ(val_check_fingerprint(nullptr, why, sizeof why), ITEM_ERROR);
    EXPECT_TRUE(has(why, "Missing certFingerprint"));
}

TEST(ValRules, AttributeName)
{
    EXPECT_EQ(check(val_check_attr_name, "a").v, ITEM_OK);
    EXPECT_EQ(check(val_check_attr_name, "aZ9_.,@/:#-").v, ITEM_OK);
    EXPECT_EQ(check(val_check_attr_name, std::string(128, 'n')).v, ITEM_OK);
    outcome o = check(val_check_attr_name, std::string(129, 'n'));
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(has(o.why, "attribute name is 129 characters, more than 128"));
    EXPECT_TRUE(has(check(val_check_attr_name, "").why, "attribute name is empty"));
    for (const char *bad : {"a=b", "a[b", "a]b", "a b", "a+b", "a\"b", "\xff"})
        EXPECT_EQ(check(val_check_attr_name, bad).v, ITEM_ERROR) << bad;
}

TEST(ValRules, AttributeValue)
{
    EXPECT_EQ(check(val_check_attr_value, "").v, ITEM_OK);
    EXPECT_EQ(check(val_check_attr_value, "aZ9_.,@/:#=[]-").v, ITEM_OK);
    EXPECT_EQ(check(val_check_attr_value, std::string(800, 'v')).v, ITEM_OK);
    outcome o = check(val_check_attr_value, std::string(801, 'v'));
    EXPECT_EQ(o.v, ITEM_ERROR);
    EXPECT_TRUE(has(o.why, "attribute value is 801 characters, more than 800"));
    for (const char *bad : {"a b", "a+b", "a;b", "a'b", "a\nb", "\xc3\xa9"})
        EXPECT_EQ(check(val_check_attr_value, bad).v, ITEM_ERROR) << bad;
    o = check(val_check_attr_value, "it's");
    EXPECT_TRUE(has(o.why, "contains '\\''")) << o.why;
    char why[ITEM_MSG_MAX];
    EXPECT_EQ(val_check_attr_value(nullptr, why, sizeof why), ITEM_ERROR);
    EXPECT_TRUE(has(why, "attribute values must be strings"));
}

TEST(ValRules, ThingTypeName)
{
    EXPECT_EQ(check(val_check_thing_type_name, "BasicTestType").v, ITEM_OK);
    EXPECT_EQ(check(val_check_thing_type_name, "a:b_c-d").v, ITEM_OK)
        << "no warning for ':'";
    EXPECT_EQ(check(val_check_thing_type_name, std::string(128, 't')).v, ITEM_OK);
    EXPECT_EQ(check(val_check_thing_type_name, std::string(129, 't')).v, ITEM_ERROR);
    EXPECT_EQ(check(val_check_thing_type_name, "").v, ITEM_ERROR);
    EXPECT_EQ(check(val_check_thing_type_name, "a.b").v, ITEM_ERROR);
}

TEST(ValRules, Policies)
{
    char why[ITEM_MSG_MAX];
    EXPECT_EQ(val_check_policies(nullptr, 0, why, sizeof why), ITEM_OK);
    std::vector<std::string> names;
    for (int i = 0; i < 11; i++)
        names.push_back("Policy_" + std::to_string(i) + "+=,.@-");
    std::vector<const char *> p;
    for (auto &s : names)
        p.push_back(s.c_str());
    EXPECT_EQ(val_check_policies(p.data(), 10, why, sizeof why), ITEM_OK);
    EXPECT_EQ(val_check_policies(p.data(), 11, why, sizeof why), ITEM_ERROR);
    EXPECT_TRUE(has(why, "11 policies, more than the 10"));

    std::string p128(128, 'p'), p129(129, 'p');
    const char *ok1[] = {p128.c_str()};
    EXPECT_EQ(val_check_policies(ok1, 1, why, sizeof why), ITEM_OK);
    const char *bad1[] = {"Good", p129.c_str()};
    EXPECT_EQ(val_check_policies(bad1, 2, why, sizeof why), ITEM_ERROR);
    EXPECT_TRUE(has(why, "policy name is 129 characters"));
    for (const char *bad : {"a:b", "a/b", "a b", "", "a#b"}) {
        const char *one[] = {bad};
        EXPECT_EQ(val_check_policies(one, 1, why, sizeof why), ITEM_ERROR) << bad;
    }
    const char *null_name[] = {nullptr};
    EXPECT_EQ(val_check_policies(null_name, 1, nullptr, 0), ITEM_ERROR);
}

TEST(ValRules, SmallReasonBuffers)
{
    char why[8];
    memset(why, 'x', sizeof why);
    EXPECT_EQ(val_check_thing_name(std::string(300, '!').c_str(), why, sizeof why),
              ITEM_ERROR);
    EXPECT_EQ(strlen(why), 7u);
    EXPECT_EQ(val_check_fingerprint("x", why, 1), ITEM_ERROR);
    EXPECT_EQ(why[0], '\0');
}

// ---- per-item rules ----

struct owned_item {
    item it;
    owned_item()
    {
        item_init(&it);
    }
    ~owned_item()
    {
        item_clear(&it);
    }
};

void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? strdup(s) : nullptr;
}

void add_attr(item *it, const std::string &name, const char *value)
{
    it->attrs = (item_attr *)realloc(it->attrs, (it->n_attrs + 1) * sizeof *it->attrs);
    it->attrs[it->n_attrs].name = strdup(name.c_str());
    it->attrs[it->n_attrs].value = value ? strdup(value) : nullptr;
    it->n_attrs++;
}

// A vendor certificate item as item_decode() leaves it.
void make_cert(item *it, size_t index, const char *name, const std::string &fp)
{
    it->index = index;
    set_str(&it->thing_name, name);
    it->der = (unsigned char *)malloc(16);
    memset(it->der, 0x30, 16);
    it->der_len = 16;
    it->pem_chars = 1000;
    snprintf(it->fingerprint, sizeof it->fingerprint, "%s", fp.c_str());
    it->not_before = 1500000000; // 2017-07-14
    it->not_after = 2000000000;  // 2033-05-18
}

void make_device(item *it, size_t index, const char *id, const char *fp)
{
    it->index = index;
    it->is_device = 1;
    set_str(&it->thing_name, id);
    set_str(&it->given_fingerprint, fp);
    if (fp && strlen(fp) == 64 && strspn(fp, "0123456789abcdefABCDEF") == 64) {
        for (int i = 0; i < 64; i++)
            it->fingerprint[i] = (char)tolower((unsigned char)fp[i]);
        it->fingerprint[64] = '\0';
    }
}

const long long NOW = 1700000000; // 2023-11-14

val *new_val(int has_thing_type = 0)
{
    val_opts o = {};
    o.has_thing_type = has_thing_type;
    o.now = NOW;
    return val_new(&o);
}

TEST(ValItem, CertificateSizeAndDates)
{
    val *v = new_val();
    {
        owned_item a;
        make_cert(&a.it, 0, "thing-0", FP);
        a.it.pem_chars = 65536;
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_OK) << a.it.message;
    }
    {
        owned_item a;
        make_cert(&a.it, 1, "thing-1", std::string(63, '1') + "a");
        a.it.pem_chars = 65537;
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_ERROR);
        EXPECT_TRUE(has(a.it.message, "65537 characters as PEM, more than the 65536"));
    }
    {
        owned_item a;
        make_cert(&a.it, 2, "thing-2", std::string(63, '2') + "a");
        a.it.not_after = 1577836800; // 2020-01-01T00:00:00Z
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_WARN);
        EXPECT_EQ(std::string(a.it.message), "certificate expired on 2020-01-01");
    }
    {
        owned_item a; // expires exactly now: still valid
        make_cert(&a.it, 3, "thing-3", std::string(63, '3') + "a");
        a.it.not_after = NOW;
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_OK) << a.it.message;
    }
    {
        owned_item a;
        make_cert(&a.it, 4, "thing-4", std::string(63, '4') + "a");
        a.it.not_before = 1893456000; // 2030-01-01
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_WARN);
        EXPECT_EQ(std::string(a.it.message),
                  "certificate not yet valid until 2030-01-01");
    }
    {
        owned_item a; // unknown dates are not checked
        make_cert(&a.it, 5, "thing-5", std::string(63, '5') + "a");
        a.it.not_before = 0;
        a.it.not_after = 0;
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_OK) << a.it.message;
    }
    val_free(v);
}

TEST(ValItem, VendorThingNames)
{
    val *v = new_val();
    {
        owned_item a;
        make_cert(&a.it, 0, nullptr, FP);
        a.it.name_from_cn = 1;
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_ERROR);
        EXPECT_EQ(std::string(a.it.message),
                  "certificate has no subject CN to name the thing");
    }
    {
        owned_item a;
        make_cert(&a.it, 1, "", std::string(64, 'b'));
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_ERROR);
        EXPECT_TRUE(has(a.it.message, "no thing name"));
    }
    {
        owned_item a; // a CN with a space
        make_cert(&a.it, 2, "My Device", std::string(64, 'c'));
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_ERROR);
        EXPECT_TRUE(has(a.it.message, "thing name 'My Device' contains ' '"));
    }
    {
        owned_item a;
        make_cert(&a.it, 3, "sn:01", std::string(64, 'd'));
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_WARN);
        EXPECT_TRUE(has(a.it.message, "thing name contains ':'"));
    }
    val_free(v);
}

TEST(ValItem, ReaderErrorsAreKeptAndNotRepeated)
{
    val *v = new_val();
    owned_item a; // undecodable certificate: no der, no name, no fingerprint
    a.it.index = 0;
    a.it.name_from_cn = 1;
    item_flag(&a.it, ITEM_ERROR, "not valid base64 (at column 7)");
    val_item(v, &a.it);
    EXPECT_EQ(a.it.verdict, ITEM_ERROR);
    EXPECT_EQ(std::string(a.it.message), "not valid base64 (at column 7)");

    owned_item b; // an error item with a name still takes part in duplicates
    make_device(&b.it, 1, "dev-1", FP.c_str());
    item_flag(&b.it, ITEM_ERROR,
              "attribute 'x' is a number: attribute values must be strings");
    val_item(v, &b.it);
    owned_item c;
    make_device(&c.it, 2, "dev-1", nullptr);
    item_flag(&c.it, ITEM_ERROR, "Missing certFingerprint");
    val_item(v, &c.it);
    EXPECT_EQ(std::string(c.it.message),
              "Missing certFingerprint; duplicate deviceId: same as item 1");
    val_free(v);
}

TEST(ValItem, ARuleNeverLowersAVerdict)
{
    val *v = new_val();
    owned_item a;
    make_device(&a.it, 0, "dev", FP.c_str());
    item_flag(&a.it, ITEM_WARN, "reader warning");
    val_item(v, &a.it);
    EXPECT_EQ(a.it.verdict, ITEM_WARN);
    EXPECT_EQ(std::string(a.it.message), "reader warning");

    owned_item b; // error first, then a warning rule: stays an error
    make_device(&b.it, 1, "a:b", std::string(64, 'e').c_str());
    item_flag(&b.it, ITEM_ERROR, "reader error");
    val_item(v, &b.it);
    EXPECT_EQ(b.it.verdict, ITEM_ERROR);
    EXPECT_EQ(std::string(b.it.message), "reader error");
    val_free(v);
}

TEST(ValItem, DeviceAttributes)
{
    for (int typed = 0; typed <= 1; typed++) {
        val *v = new_val(typed);
        owned_item a;
        make_device(&a.it, 0, "d0", FP.c_str());
        for (int i = 0; i < 3; i++)
            add_attr(&a.it, "n" + std::to_string(i), "v");
        val_item(v, &a.it);
        EXPECT_EQ(a.it.verdict, ITEM_OK) << a.it.message;

        owned_item b;
        make_device(&b.it, 1, "d1", std::string(64, '1').c_str());
        for (int i = 0; i < 4; i++)
            add_attr(&b.it, "n" + std::to_string(i), "v");
        val_item(v, &b.it);
        EXPECT_EQ(b.it.verdict, typed ? ITEM_OK : ITEM_ERROR) << b.it.message;
        if (!typed) {
            EXPECT_TRUE(has(b.it.message,
                            "4 attributes, more than the 3 allowed without a "
                            "thing type (give the job a thing type: --thing-type, "
                            "or the console's Thing type field or a deviceType)"));
        }

        owned_item c;
        make_device(&c.it, 2, "d2", std::string(64, '2').c_str());
        set_str(&c.it.device_type, "Sensor");
        for (int i = 0; i < 50; i++)
            add_attr(&c.it, "n" + std::to_string(i), "v");
        val_item(v, &c.it);
        EXPECT_EQ(c.it.verdict, ITEM_OK) << c.it.message;
        add_attr(&c.it, "n50", "v");
        c.it.verdict = ITEM_OK;
        c.it.message[0] = '\0';
        c.it.index = 3;
        set_str(&c.it.thing_name, "d3");
        snprintf(c.it.fingerprint, sizeof c.it.fingerprint, "%s",
                 std::string(64, '3').c_str());
        set_str(&c.it.given_fingerprint, c.it.fingerprint);
        val_item(v, &c.it);
        EXPECT_EQ(c.it.verdict, ITEM_ERROR);
        EXPECT_TRUE(has(c.it.message, "51 attributes, more than the 50 allowed"));
        val_free(v);
    }
    val *v = new_val(1);
    owned_item d;
    make_device(&d.it, 0, "d", FP.c_str());
    add_attr(&d.it, "bad name", "v");
    add_attr(&d.it, "ok", "bad value");
    add_attr(&d.it, "n", nullptr);
    val_item(v, &d.it);
    EXPECT_EQ(d.it.verdict, ITEM_ERROR);
    EXPECT_TRUE(has(d.it.message, "attribute name 'bad name' contains ' '"))
        << d.it.message;
    EXPECT_TRUE(has(d.it.message, "2 more attributes with problems")) << d.it.message;
    val_free(v);
}

TEST(ValItem, DeviceWithOnlyTheGivenFingerprint)
{
    val *v = new_val();
    owned_item a, b;
    a.it.is_device = b.it.is_device = 1;
    b.it.index = 1;
    set_str(&a.it.thing_name, "a");
    set_str(&b.it.thing_name, "b");
    set_str(&a.it.given_fingerprint, std::string(64, 'E').c_str());
    set_str(&b.it.given_fingerprint, std::string(64, 'e').c_str());
    val_item(v, &a.it);
    val_item(v, &b.it);
    EXPECT_EQ(a.it.verdict, ITEM_OK) << a.it.message;
    EXPECT_EQ(std::string(b.it.message), "duplicate fingerprint: same as item 0");
    val_free(v);
}

TEST(ValItem, DuplicatesNameTheEarlierItemIndex)
{
    val *v = new_val();
    // the caller validates a subset: indexes are not 0, 1, 2...
    const size_t idx[] = {10, 20, 30, 40};
    const char *names[] = {"a", "b", "a", "c"};
    const std::string fps[] = {FP, std::string(64, 'b'), std::string(64, 'c'), FP};
    std::vector<std::string> msgs;
    for (int i = 0; i < 4; i++) {
        owned_item a;
        make_cert(&a.it, idx[i], names[i], fps[i]);
        val_item(v, &a.it);
        msgs.push_back(a.it.message);
    }
    EXPECT_EQ(msgs[0], "");
    EXPECT_EQ(msgs[1], "");
    EXPECT_EQ(msgs[2], "duplicate thing name: same as item 10");
    EXPECT_EQ(msgs[3], "duplicate fingerprint: same as item 10");
    val_free(v);
}

// ---- a million items ----

size_t heap_in_use()
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

// 64 hex chars that differ for every i (a bijective mix, written out).
void fingerprint_of(char out[65], uint64_t i)
{
    uint64_t x = i * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    snprintf(out, 65, "%016llx%016llx%016llx%016llx", (unsigned long long)x,
             (unsigned long long)(i ^ 0xa5a5a5a5a5a5a5a5ULL), (unsigned long long)~x,
             (unsigned long long)i);
}

TEST(ValDuplicates, AMillionItems)
{
    const size_t N = 1000000;
    // every 997th item repeats the name of the item 4321 before it, every
    // 991st (when not also a name duplicate) the fingerprint of the one 1234
    // before it, uppercased
    auto name_dup = [](size_t i) { return i >= 4321 && i % 997 == 0; };
    auto fp_dup = [&](size_t i) { return i >= 1234 && i % 991 == 0 && !name_dup(i); };

    size_t before = heap_in_use();
    val *v = new_val(0);
    size_t found_names = 0, found_fps = 0, false_pos = 0, wrong = 0, peak = 0;
    char name[32], fp[65], want[ITEM_MSG_MAX];
    item it;
    for (size_t i = 0; i < N; i++) {
        item_init(&it);
        it.index = i;
        it.name_from_cn = 1;
        snprintf(name, sizeof name, "thing-%zu", name_dup(i) ? i - 4321 : i);
        it.thing_name = strdup(name);
        fingerprint_of(fp, fp_dup(i) ? i - 1234 : i);
        if (fp_dup(i))
            for (char *p = fp; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        memcpy(it.fingerprint, fp, 65);
        val_item(v, &it);
        if (name_dup(i)) {
            snprintf(want, sizeof want, "duplicate thing name: same as item %zu",
                     i - 4321);
            if (std::string(it.message) == want)
                found_names++;
            else
                wrong++;
        } else if (fp_dup(i)) {
            snprintf(want, sizeof want, "duplicate fingerprint: same as item %zu",
                     i - 1234);
            if (std::string(it.message) == want)
                found_fps++;
            else
                wrong++;
        } else if (it.verdict != ITEM_OK) {
            false_pos++;
            if (false_pos < 5)
                ADD_FAILURE() << "item " << i << ": " << it.message;
        }
        item_clear(&it);
        if (i % 65536 == 0 || i == N - 1) {
            size_t now = heap_in_use();
            peak = now > peak ? now : peak;
        }
    }
    size_t expect_names = 0, expect_fps = 0;
    for (size_t i = 0; i < N; i++) {
        expect_names += name_dup(i);
        expect_fps += fp_dup(i);
    }
    EXPECT_EQ(false_pos, 0u);
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(found_names, expect_names);
    EXPECT_EQ(found_fps, expect_fps);
    EXPECT_GT(expect_names, 900u);
    EXPECT_GT(expect_fps, 900u);
#ifndef TP_ASAN
    // records 16 B/item + two tables of 4 B slots at <= 0.75 load: ~31.5 MiB
    double mib = (double)(peak - before) / (1 << 20);
    RecordProperty("dup_table_mib", std::to_string(mib));
    EXPECT_LT(mib, 32.0) << "duplicate tables use " << mib << " MiB for " << N
                         << " items";
#else
    (void)before;
    (void)peak;
#endif
    val_free(v);
}

} // namespace
