// The Microchip manifest reader (parsers/microchip.c): JWS verification
// against the built-in and extra signers, certificate extraction, and the
// whole-file and per-entry failures.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "base/b64.h"
#include "base/err.h"
#include "parsers/item.h"
#include "parsers/src.h"
#include "parsers/src_impl.h"

namespace
{

const char *const kGood = "testdata/microchip/ECC608C-TNGTLSU-B.json";
const char *const kNoCert = "testdata/microchip/ECC608-TMNGTLSS-B.json";
const char *const kGoodTsv = "testdata/expected/microchip-ECC608C-TNGTLSU-B-expected.tsv";
const char *const kNoCertReason =
    "no certificate in manifest entry (payload has no publicKeySet.keys[0].x5c)";

// ---- small helpers ----

std::string slurp(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string tmpdir()
{
    const char *d = getenv("TEST_TMPDIR");
    return d ? d : "/tmp";
}

std::string write_temp(const std::string &name, const std::string &bytes)
{
    std::string path = tmpdir() + "/" + name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << bytes;
    return path;
}

std::string make_dir(const std::string &name)
{
    std::string path = tmpdir() + "/" + name;
    mkdir(path.c_str(), 0755);
    return path;
}

std::string b64url(const std::string &bytes)
{
    std::string out(bytes.size() / 3 * 4 + 8, '\0');
    out.resize(
        b64_encode(&out[0], (const unsigned char *)bytes.data(), bytes.size(), B64_URL));
    return out;
}

std::string unb64url(const std::string &s)
{
    std::string out(b64_decoded_max(s.size()), '\0');
    size_t n = 0;
    EXPECT_EQ(0, b64_decode((unsigned char *)&out[0], &n, s.data(), s.size(), B64_URL,
                            nullptr));
    out.resize(n);
    return out;
}

std::string sha256_hex(const unsigned char *p, size_t n)
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), nullptr);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; i++) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

// ---- reading ----

struct Item {
    std::string where, name, fp, cn, msg;
    item_verdict verdict = ITEM_OK;
    unsigned long line = 99;
    int name_from_cn = -1;
    raw_kind kind = RAW_NONE;
    std::string raw;    // the raw bytes handed out (DER for Microchip)
    std::string raw_fp; // SHA-256 of raw, computed here (independent of item.c)
    std::string chain;  // DER bytes
};

struct Result {
    int rc = 0;
    err e;
    std::string notes;
    std::vector<Item> items;
};

Result read_manifest(const std::string &path, const char *signers = nullptr,
                     size_t max_json = 256u << 20)
{
    Result r;
    err_clear(&r.e);
    src_opts o{};
    o.vendor = VENDOR_MICROCHIP;
    o.microchip_signers = signers;
    o.limits.max_line = 256 * 1024;
    o.limits.max_json_bytes = max_json;
    src_impl impl{};
    if (microchip_open(&impl, path.c_str(), &o, &r.e) != 0) {
        r.rc = -1;
        return r;
    }
    EXPECT_EQ(nullptr, impl.batch_id);
    for (;;) {
        item it;
        item_init(&it);
        int rc = impl.next(impl.state, &it, &r.e);
        if (rc != 1) {
            r.rc = rc;
            item_clear(&it);
            break;
        }
        Item x;
        x.where = it.where ? it.where : "";
        x.name = it.thing_name ? it.thing_name : "";
        x.line = it.line;
        x.name_from_cn = it.name_from_cn;
        x.kind = it.raw_kind;
        if (it.raw)
            x.raw.assign(it.raw, it.raw_len);
        if (it.raw)
            x.raw_fp = sha256_hex((const unsigned char *)it.raw, it.raw_len);
        if (it.chain)
            x.chain.assign((const char *)it.chain, it.chain_len);
        item_decode(&it);
        x.fp = it.fingerprint;
        x.cn = it.subject_cn ? it.subject_cn : "";
        x.msg = it.message;
        x.verdict = it.verdict;
        r.items.push_back(x);
        item_clear(&it);
    }
    if (impl.notes)
        r.notes = impl.notes(impl.state);
    impl.free(impl.state);
    return r;
}

std::string err_text(const err &e)
{
    char buf[700];
    return err_format(&e, buf, sizeof buf);
}

// ---- manifest editing (Jansson) ----

struct Json {
    json_t *j = nullptr;
    explicit Json(json_t *p) : j(p) {}
    ~Json()
    {
        json_decref(j);
    }
    Json(const Json &) = delete;
    Json &operator=(const Json &) = delete;
};

json_t *load_json(const std::string &path)
{
    json_error_t je;
    json_t *j = json_load_file(path.c_str(), 0, &je);
    EXPECT_NE(nullptr, j) << je.text;
    return j;
}

std::string dump(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    std::string out = s ? s : "";
    free(s);
    return out;
}

std::string member(json_t *entry, const char *key)
{
    const char *s = json_string_value(json_object_get(entry, key));
    return s ? s : "";
}

void set_member(json_t *entry, const char *key, const std::string &value)
{
    json_object_set_new(entry, key, json_stringn(value.data(), value.size()));
}

// The good manifest with one edit applied to entry k; returns the path.
template <typename F> std::string edited(const std::string &name, size_t k, F edit)
{
    Json doc(load_json(kGood));
    edit(json_array_get(doc.j, k));
    return write_temp(name, dump(doc.j));
}

// A protected header of a real entry with one field replaced.
std::string protected_with(json_t *entry, const char *key, json_t *value)
{
    std::string hdr = unb64url(member(entry, "protected"));
    Json h(json_loadb(hdr.data(), hdr.size(), 0, nullptr));
    EXPECT_NE(nullptr, h.j);
    json_object_set_new(h.j, key, value);
    char *s = json_dumps(h.j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    std::string out = b64url(s);
    free(s);
    return out;
}

// ---- a self-made P-256 signer ----

struct Signer {
    EVP_PKEY *key = nullptr;
    X509 *cert = nullptr;
    ~Signer()
    {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    std::string pem() const
    {
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, cert);
        char *p = nullptr;
        long n = BIO_get_mem_data(b, &p);
        std::string out(p, (size_t)n);
        BIO_free(b);
        return out;
    }
    std::string kid() const
    {
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
        return b64url(std::string((const char *)ASN1_STRING_get0_data(ski),
                                  (size_t)ASN1_STRING_length(ski)));
    }
    std::string x5t() const
    {
        unsigned char md[32];
        unsigned int n = 0;
        X509_digest(cert, EVP_sha256(), md, &n);
        return b64url(std::string((const char *)md, n));
    }
};

// not_before/not_after are offsets from now in days.
void make_signer(Signer &s, EVP_PKEY *key, const char *cn, long not_before_days,
                 long not_after_days)
{
    s.key = key;
    ASSERT_NE(nullptr, s.key);
    s.cert = X509_new();
    X509_set_version(s.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(s.cert), 42);
    X509_NAME *name = X509_get_subject_name(s.cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                               -1, 0);
    X509_set_issuer_name(s.cert, name);
    X509_gmtime_adj(X509_getm_notBefore(s.cert), not_before_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(s.cert), not_after_days * 86400);
    X509_set_pubkey(s.cert, s.key);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, s.cert, s.cert, nullptr, nullptr, 0);
    X509_EXTENSION *ext =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
    ASSERT_NE(nullptr, ext);
    X509_add_ext(s.cert, ext, -1);
    X509_EXTENSION_free(ext);
    ASSERT_GT(X509_sign(s.cert, s.key, EVP_sha256()), 0);
}

// ES256 JWS signature (raw r || s, base64url) over protected "." payload.
std::string es256_sign(EVP_PKEY *key, const std::string &input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EXPECT_EQ(1, EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key));
    size_t len = 0;
    EXPECT_EQ(1, EVP_DigestSign(ctx, nullptr, &len, (const unsigned char *)input.data(),
                                input.size()));
    std::vector<unsigned char> der(len);
    EXPECT_EQ(1, EVP_DigestSign(ctx, der.data(), &len,
                                (const unsigned char *)input.data(), input.size()));
    EVP_MD_CTX_free(ctx);
    const unsigned char *p = der.data();
    ECDSA_SIG *sig = d2i_ECDSA_SIG(nullptr, &p, (long)len);
    unsigned char rs[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
    ECDSA_SIG_free(sig);
    return b64url(std::string((const char *)rs, 64));
}

// Re-signs entry (its payload text as given) with s; alg/kid/x5t from s.
void sign_entry(json_t *entry, const Signer &s, const std::string &payload_b64)
{
    std::string hdr = "{\"alg\":\"ES256\",\"kid\":\"" + s.kid() +
                      "\",\"typ\":\"JWT\",\"x5t#S256\":\"" + s.x5t() + "\"}";
    std::string prot = b64url(hdr);
    set_member(entry, "protected", prot);
    set_member(entry, "payload", payload_b64);
    set_member(entry, "signature", es256_sign(s.key, prot + "." + payload_b64));
}

// ---- expected data ----

struct Expected {
    std::string name, fp, cn;
    int certs = 0;
};

// The expected TSV is in send order (reverse); key it by manifest_index.
std::map<size_t, Expected> expected_good()
{
    std::map<size_t, Expected> out;
    std::istringstream in(slurp(kGoodTsv));
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        std::vector<std::string> c;
        std::stringstream ls(line);
        std::string cell;
        while (std::getline(ls, cell, '\t'))
            c.push_back(cell);
        EXPECT_GE(c.size(), 6u) << line;
        if (c.size() < 6)
            continue;
        out[std::stoul(c[1])] = Expected{c[2], c[3], c[4], std::stoi(c[5])};
    }
    return out;
}

void expect_all_ok_but(const Result &r, size_t bad)
{
    ASSERT_EQ(10u, r.items.size());
    for (size_t i = 0; i < r.items.size(); i++) {
        if (i == bad)
            continue;
        EXPECT_EQ(ITEM_OK, r.items[i].verdict) << i << ": " << r.items[i].msg;
        EXPECT_EQ(64u, r.items[i].fp.size()) << i;
    }
}

bool contains(const std::string &hay, const std::string &needle)
{
    return hay.find(needle) != std::string::npos;
}

// ---- the fixtures ----

TEST(Microchip, TrustAndGoManifestVerifiesWithBuiltInSigners)
{
    Result r = read_manifest(kGood);
    ASSERT_EQ(0, r.rc) << err_text(r.e);
    EXPECT_FALSE(err_is_set(&r.e));
    std::map<size_t, Expected> want = expected_good();
    ASSERT_EQ(10u, want.size());
    ASSERT_EQ(10u, r.items.size());
    EXPECT_EQ("", r.notes);

    for (size_t i = 0; i < r.items.size(); i++) {
        const Item &it = r.items[i];
        const Expected &w = want.at(i);
        SCOPED_TRACE("entry " + std::to_string(i));
        EXPECT_EQ(ITEM_OK, it.verdict) << it.msg;
        EXPECT_EQ("", it.msg);
        EXPECT_EQ("entry " + std::to_string(i), it.where);
        EXPECT_EQ(0u, it.line);
        EXPECT_EQ(0, it.name_from_cn);
        EXPECT_EQ(RAW_DER, it.kind);
        EXPECT_EQ(w.name, it.name);
        EXPECT_EQ(w.fp, it.raw_fp); // SHA-256 of the raw DER handed out
        EXPECT_EQ(w.fp, it.fp);     // ... and what item_decode makes of it
        EXPECT_EQ(w.cn, it.cn);
        EXPECT_EQ(2, w.certs);

        // chain: exactly one extra certificate, the device certificate's
        // issuer (one of Microchip's "Crypto Authentication Signer 2Axx").
        ASSERT_FALSE(it.chain.empty());
        const unsigned char *p = (const unsigned char *)it.chain.data();
        X509 *ca = d2i_X509(nullptr, &p, (long)it.chain.size());
        ASSERT_NE(nullptr, ca);
        EXPECT_EQ((const unsigned char *)it.chain.data() + it.chain.size(), p)
            << "chain holds more than one certificate";
        char cn[128] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn,
                                  sizeof cn);
        EXPECT_EQ(0, strncmp("Crypto Authentication Signer 2A", cn, 31)) << cn;
        p = (const unsigned char *)it.raw.data();
        X509 *dev = d2i_X509(nullptr, &p, (long)it.raw.size());
        ASSERT_NE(nullptr, dev);
        EXPECT_EQ(1, X509_verify(dev, X509_get0_pubkey(ca)))
            << "device cert not issued by chain";
        X509_free(dev);
        X509_free(ca);
    }
}

TEST(Microchip, ManifestWithoutCertificatesGivesErrorItemsAndANote)
{
    Result r = read_manifest(kNoCert);
    ASSERT_EQ(0, r.rc) << err_text(r.e);
    ASSERT_EQ(10u, r.items.size());
    // Thing names in array order: the TSV lists send order (reverse).
    EXPECT_EQ("01230cac6606e99401", r.items[0].name);
    EXPECT_EQ("01231997860fea7301", r.items[9].name);
    for (size_t i = 0; i < r.items.size(); i++) {
        const Item &it = r.items[i];
        EXPECT_EQ(ITEM_ERROR, it.verdict) << i;
        // The signatures are valid: the only reason is the missing certificate.
        EXPECT_EQ(kNoCertReason, it.msg) << i;
        EXPECT_EQ("entry " + std::to_string(i), it.where);
        EXPECT_EQ(18u, it.name.size());
        EXPECT_EQ("", it.fp);
        EXPECT_TRUE(it.chain.empty());
    }
    EXPECT_EQ(
        "10 of 10 manifest entries carry no certificate (no publicKeySet); there is "
        "nothing to register for them\n",
        r.notes);
}

// ---- one bad entry among good ones ----

TEST(Microchip, TamperedPayloadFailsOnlyThatEntry)
{
    std::string path = edited("tampered.json", 4, [](json_t *e) {
        std::string p = member(e, "payload");
        size_t at = p.size() / 2;
        p[at] = p[at] == 'A' ? 'B' : 'A';
        set_member(e, "payload", p);
    });
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc) << err_text(r.e);
    expect_all_ok_but(r, 4);
    const Item &bad = r.items[4];
    EXPECT_EQ(ITEM_ERROR, bad.verdict);
    EXPECT_TRUE(contains(bad.msg,
                         "signature does not verify with signer \"Manifest Signer 005\""))
        << bad.msg;
    EXPECT_EQ("", bad.raw_fp) << "an unverified payload must not yield a certificate";
    EXPECT_EQ(expected_good().at(4).name, bad.name);
    EXPECT_EQ("", r.notes);
}

TEST(Microchip, AlteredSignatureFails)
{
    std::string path = edited("badsig.json", 0, [](json_t *e) {
        std::string s = member(e, "signature");
        s[10] = s[10] == 'x' ? 'y' : 'x';
        set_member(e, "signature", s);
    });
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    expect_all_ok_but(r, 0);
    EXPECT_TRUE(contains(r.items[0].msg, "signature does not verify")) << r.items[0].msg;
}

TEST(Microchip, TruncatedSignature)
{
    std::string path = edited("truncsig.json", 7, [](json_t *e) {
        set_member(e, "signature", member(e, "signature").substr(0, 80));
    });
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    expect_all_ok_but(r, 7);
    EXPECT_EQ(ITEM_ERROR, r.items[7].verdict);
    EXPECT_EQ("signature is 60 bytes; ES256 needs 64 (r || s)", r.items[7].msg);
}

TEST(Microchip, MalformedBase64)
{
    std::string path = edited("badb64.json", 2, [](json_t *e) {
        std::string s = member(e, "signature");
        s[5] = '!';
        set_member(e, "signature", s);
    });
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    expect_all_ok_but(r, 2);
    EXPECT_EQ("signature is not base64url (bad character '!' at offset 5)",
              r.items[2].msg);

    path = edited("badb64prot.json", 3, [](json_t *e) {
        set_member(e, "protected", "eyJ+" + member(e, "protected").substr(4));
    });
    r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    expect_all_ok_but(r, 3);
    EXPECT_EQ("protected header is not base64url (bad character '+' at offset 3)",
              r.items[3].msg);
}

TEST(Microchip, UnknownKid)
{
    std::string kid = b64url(std::string(20, '\x11'));
    std::string path = edited("unknownkid.json", 1, [&](json_t *e) {
        set_member(e, "protected", protected_with(e, "kid", json_string(kid.c_str())));
    });
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    expect_all_ok_but(r, 1);
    EXPECT_EQ(ITEM_ERROR, r.items[1].verdict);
    EXPECT_EQ("unknown manifest signer kid " + kid +
                  " (not one of the 5 known signers; add its certificate with "
                  "--microchip-signers DIR)",
              r.items[1].msg);
}

TEST(Microchip, X5tMismatch)
{
    // Signer 5's kid, but the SHA-256 of some other certificate.
    std::string other = b64url(std::string(32, '\x22'));
    std::string path = edited("x5t.json", 9, [&](json_t *e) {
        set_member(e, "protected",
                   protected_with(e, "x5t#S256", json_string(other.c_str())));
    });
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    expect_all_ok_but(r, 9);
    EXPECT_EQ(
        "x5t#S256 " + other +
            " matches no known signer certificate with kid TCnpnzYB8M3CO776ByPJ2yX3KYo",
        r.items[9].msg);
}

TEST(Microchip, WrongAlg)
{
    const char *algs[] = {"none", "HS256", "RS256", "ES384"};
    for (const char *alg : algs) {
        SCOPED_TRACE(alg);
        std::string path = edited("alg.json", 5, [&](json_t *e) {
            set_member(e, "protected", protected_with(e, "alg", json_string(alg)));
        });
        Result r = read_manifest(path);
        ASSERT_EQ(0, r.rc);
        expect_all_ok_but(r, 5);
        EXPECT_EQ(std::string("unsupported signature alg \"") + alg +
                      "\" (Microchip manifests use ES256)",
                  r.items[5].msg);
    }
    std::string path = edited("noalg.json", 5, [&](json_t *e) {
        std::string hdr = unb64url(member(e, "protected"));
        Json h(json_loads(hdr.c_str(), 0, nullptr));
        json_object_del(h.j, "alg");
        char *s = json_dumps(h.j, JSON_COMPACT);
        set_member(e, "protected", b64url(s));
        free(s);
    });
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    EXPECT_EQ("protected header has no alg", r.items[5].msg);
}

TEST(Microchip, HeaderUniqueIdMustMatchSignedPayload)
{
    // header is not signed: a swapped thing name must not pass unnoticed.
    std::string path = edited("uid.json", 6, [](json_t *e) {
        json_object_set_new(json_object_get(e, "header"), "uniqueId",
                            json_string("0123aaaaaaaaaaaa01"));
    });
    std::string signed_uid = expected_good().at(6).name;
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    expect_all_ok_but(r, 6);
    EXPECT_EQ(ITEM_ERROR, r.items[6].verdict);
    EXPECT_EQ("header.uniqueId \"0123aaaaaaaaaaaa01\" differs from the signed payload's "
              "uniqueId \"" +
                  signed_uid + "\"",
              r.items[6].msg);
    EXPECT_EQ("", r.items[6].raw_fp) << "a mismatched entry must not yield a certificate";
}

TEST(Microchip, MalformedEntries)
{
    Json doc(load_json(kGood));
    json_array_set_new(doc.j, 0, json_integer(5));
    json_object_del(json_array_get(doc.j, 1), "signature");
    json_object_del(json_array_get(doc.j, 2), "header");
    std::string path = write_temp("malformed.json", dump(doc.j));
    Result r = read_manifest(path);
    ASSERT_EQ(0, r.rc);
    ASSERT_EQ(10u, r.items.size());
    EXPECT_EQ("manifest entry is a JSON number, not a signed (JWS) object",
              r.items[0].msg);
    EXPECT_EQ("manifest entry has no \"signature\" string (a flattened JWS has payload, "
              "protected and signature)",
              r.items[1].msg);
    EXPECT_EQ(ITEM_ERROR, r.items[2].verdict);
    EXPECT_EQ("manifest entry has no header.uniqueId (the thing name)", r.items[2].msg);
    for (size_t i = 3; i < 10; i++)
        EXPECT_EQ(ITEM_OK, r.items[i].verdict) << i;
}

// ---- whole-file errors ----

TEST(Microchip, WholeFileErrors)
{
    struct Case {
        const char *name, *text;
        err_code code;
        unsigned long line;
        const char *msg;
    } cases[] = {
        {"object.json", "{\"payload\": \"x\"}", ERR_FORMAT, 0,
         "not a Microchip manifest: the top level is a JSON object, expected an array of "
         "signed entries"},
        {"invalid.json", "[\n  {\"payload\": }\n]\n", ERR_FORMAT, 2,
         "invalid JSON at column"},
        {"empty.json", " [ ] ", ERR_FORMAT, 0,
         "Microchip manifest has no entries (empty array)"},
        {"nothing.json", "", ERR_FORMAT, 1, "invalid JSON"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.name);
        std::string path = write_temp(c.name, c.text);
        Result r = read_manifest(path);
        EXPECT_EQ(-1, r.rc);
        EXPECT_EQ(c.code, r.e.code);
        EXPECT_EQ(path, r.e.where);
        EXPECT_EQ(c.line, r.e.line);
        EXPECT_EQ(0, strncmp(c.msg, r.e.msg, strlen(c.msg))) << r.e.msg;
    }

    Result r = read_manifest(kGood, nullptr, 1000);
    EXPECT_EQ(-1, r.rc);
    EXPECT_EQ(ERR_LIMIT, r.e.code);
    EXPECT_STREQ("file is larger than the 1000-byte limit for a JSON document", r.e.msg);

    r = read_manifest("testdata/microchip/no-such-file.json");
    EXPECT_EQ(-1, r.rc);
    EXPECT_EQ(ERR_IO, r.e.code);
    EXPECT_TRUE(contains(err_text(r.e), "no-such-file.json: cannot open"))
        << err_text(r.e);
}

// ---- extra signers ----

TEST(Microchip, ExtraSignerDirectory)
{
    Signer s;
    make_signer(s, EVP_EC_gen("P-256"), "Test Manifest Signer", -1, 365);
    Signer expired;
    make_signer(expired, EVP_EC_gen("P-256"), "Expired Test Signer", -800, -400);
    std::string dir = make_dir("signers");
    write_temp("signers/test.crt", s.pem());
    write_temp("signers/expired.pem", expired.pem());
    write_temp("signers/README.txt", "not a certificate, and not read");

    // Entries 0 and 3 re-signed by the self-made signers, the same payloads.
    Json doc(load_json(kGood));
    sign_entry(json_array_get(doc.j, 0), s, member(json_array_get(doc.j, 0), "payload"));
    sign_entry(json_array_get(doc.j, 3), expired,
               member(json_array_get(doc.j, 3), "payload"));
    // Entry 5: validly signed, but its payload is not base64url.
    sign_entry(json_array_get(doc.j, 5), s, "e30!");
    std::string path = write_temp("selfsigned.json", dump(doc.j));
    std::map<size_t, Expected> want = expected_good();

    Result without = read_manifest(path);
    ASSERT_EQ(0, without.rc) << err_text(without.e);
    ASSERT_EQ(10u, without.items.size());
    EXPECT_EQ("unknown manifest signer kid " + s.kid() +
                  " (not one of the 5 known signers; add its certificate with "
                  "--microchip-signers DIR)",
              without.items[0].msg);
    EXPECT_TRUE(
        contains(without.items[3].msg, "unknown manifest signer kid " + expired.kid()));
    EXPECT_EQ(ITEM_ERROR, without.items[5].verdict);
    EXPECT_EQ(ITEM_OK, without.items[1].verdict);

    Result with = read_manifest(path, dir.c_str());
    ASSERT_EQ(0, with.rc) << err_text(with.e);
    ASSERT_EQ(10u, with.items.size());
    EXPECT_EQ(ITEM_OK, with.items[0].verdict) << with.items[0].msg;
    EXPECT_EQ(want.at(0).fp, with.items[0].fp);
    EXPECT_EQ(want.at(0).name, with.items[0].name);
    // An expired signer still verifies what it signed.
    EXPECT_EQ(ITEM_OK, with.items[3].verdict) << with.items[3].msg;
    EXPECT_EQ(want.at(3).fp, with.items[3].fp);
    EXPECT_EQ(ITEM_ERROR, with.items[5].verdict);
    EXPECT_EQ("payload is not base64url (bad character '!' at offset 3)",
              with.items[5].msg);
    EXPECT_EQ("", with.notes);

    // A key signed under another signer's kid does not verify.
    Signer impostor;
    make_signer(impostor, EVP_EC_gen("P-256"), "Impostor", -1, 365);
    json_t *e8 = json_array_get(doc.j, 8);
    std::string hdr = "{\"alg\":\"ES256\",\"kid\":\"" + s.kid() + "\",\"x5t#S256\":\"" +
                      s.x5t() + "\"}";
    set_member(e8, "protected", b64url(hdr));
    set_member(e8, "signature",
               es256_sign(impostor.key, b64url(hdr) + "." + member(e8, "payload")));
    path = write_temp("impostor.json", dump(doc.j));
    Result imp = read_manifest(path, dir.c_str());
    ASSERT_EQ(0, imp.rc);
    EXPECT_EQ("signature does not verify with signer \"Test Manifest Signer\" (kid " +
                  s.kid() + "): the entry was altered or not signed by that key",
              imp.items[8].msg);
}

TEST(Microchip, SignerDirectoryProblemsRejectTheFile)
{
    // Missing directory, or a file where a directory is expected.
    std::string missing = tmpdir() + "/no-such-signers";
    Result r = read_manifest(kGood, missing.c_str());
    EXPECT_EQ(-1, r.rc);
    EXPECT_EQ(ERR_IO, r.e.code);
    EXPECT_EQ(missing, r.e.where);
    EXPECT_TRUE(contains(r.e.msg, "cannot read the Microchip signer directory"))
        << r.e.msg;

    r = read_manifest(kGood, kNoCert);
    EXPECT_EQ(-1, r.rc);
    EXPECT_EQ(ERR_IO, r.e.code);
    EXPECT_STREQ(kNoCert, r.e.where);

    // A signer file that is not a certificate.
    make_dir("garbage-signers");
    std::string garbage = write_temp("garbage-signers/junk.crt", "hello\n");
    r = read_manifest(kGood, (tmpdir() + "/garbage-signers").c_str());
    EXPECT_EQ(-1, r.rc);
    EXPECT_EQ(ERR_FORMAT, r.e.code);
    EXPECT_EQ(garbage, r.e.where);
    EXPECT_STREQ("Microchip signer: no PEM or DER certificate in the file", r.e.msg);

    // An RSA certificate cannot be an ES256 signer.
    Signer rsa;
    make_signer(rsa, EVP_RSA_gen(2048), "RSA Signer", -1, 365);
    make_dir("rsa-signers");
    std::string rsa_path = write_temp("rsa-signers/rsa.pem", rsa.pem());
    r = read_manifest(kGood, (tmpdir() + "/rsa-signers").c_str());
    EXPECT_EQ(-1, r.rc);
    EXPECT_EQ(ERR_FORMAT, r.e.code);
    EXPECT_EQ(rsa_path, r.e.where);
    EXPECT_TRUE(contains(r.e.msg, "P-256")) << r.e.msg;

    // An empty directory is allowed, and noted.
    std::string empty = make_dir("empty-signers");
    r = read_manifest(kGood, empty.c_str());
    ASSERT_EQ(0, r.rc) << err_text(r.e);
    EXPECT_EQ(10u, r.items.size());
    EXPECT_EQ("no *.crt or *.pem signer certificates in " + empty + "\n", r.notes);
}

TEST(Microchip, DerSignerFileIsAccepted)
{
    Signer s;
    make_signer(s, EVP_EC_gen("P-256"), "DER Signer", -1, 365);
    unsigned char *der = nullptr;
    int n = i2d_X509(s.cert, &der);
    ASSERT_GT(n, 0);
    make_dir("der-signers");
    write_temp("der-signers/der.crt", std::string((const char *)der, (size_t)n));
    OPENSSL_free(der);

    Json doc(load_json(kGood));
    sign_entry(json_array_get(doc.j, 2), s, member(json_array_get(doc.j, 2), "payload"));
    std::string path = write_temp("dersigned.json", dump(doc.j));
    Result r = read_manifest(path, (tmpdir() + "/der-signers").c_str());
    ASSERT_EQ(0, r.rc) << err_text(r.e);
    expect_all_ok_but(r, 99);
}

TEST(Microchip, EntryWithEmptyX5cAndBadChainCert)
{
    Signer s;
    make_signer(s, EVP_EC_gen("P-256"), "Chain Test Signer", -1, 365);
    make_dir("chain-signers");
    write_temp("chain-signers/s.crt", s.pem());

    Json doc(load_json(kGood));
    auto resign = [&](size_t k, void (*edit)(json_t * x5c)) {
        json_t *e = json_array_get(doc.j, k);
        std::string p = unb64url(member(e, "payload"));
        Json body(json_loadb(p.data(), p.size(), 0, nullptr));
        json_t *x5c = json_object_get(
            json_array_get(
                json_object_get(json_object_get(body.j, "publicKeySet"), "keys"), 0),
            "x5c");
        edit(x5c);
        char *text = json_dumps(body.j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        sign_entry(e, s, b64url(text));
        free(text);
    };
    resign(1, [](json_t *x5c) { json_array_clear(x5c); });
    resign(2, [](json_t *x5c) { json_array_set_new(x5c, 1, json_string("MIIB")); });
    resign(3, [](json_t *x5c) { json_array_set_new(x5c, 0, json_integer(1)); });
    resign(4, [](json_t *x5c) { json_array_set_new(x5c, 0, json_string("MIIB*")); });
    resign(5, [](json_t *x5c) {
        // a device certificate alone: no chain
        json_array_remove(x5c, 1);
    });
    std::string path = write_temp("x5c.json", dump(doc.j));
    Result r = read_manifest(path, (tmpdir() + "/chain-signers").c_str());
    ASSERT_EQ(0, r.rc) << err_text(r.e);
    EXPECT_EQ(kNoCertReason, r.items[1].msg);
    EXPECT_TRUE(
        contains(r.items[2].msg, "publicKeySet.keys[0].x5c[1] (issuer certificate): "))
        << r.items[2].msg;
    EXPECT_EQ("publicKeySet.keys[0].x5c[0] is a JSON number, not a base64 string",
              r.items[3].msg);
    EXPECT_EQ("publicKeySet.keys[0].x5c[0] is not base64 (bad character '*' at offset 4)",
              r.items[4].msg);
    EXPECT_EQ(ITEM_OK, r.items[5].verdict) << r.items[5].msg;
    EXPECT_TRUE(r.items[5].chain.empty());
    EXPECT_EQ(expected_good().at(5).fp, r.items[5].fp);
    EXPECT_EQ("1 of 10 manifest entries carry no certificate (no publicKeySet); there is "
              "nothing to register for them\n",
              r.notes);
}

} // namespace
