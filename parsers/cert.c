/* DER walking by hand: a TLV reader of a dozen lines is both stricter and far
 * cheaper than d2i_X509 (see cert.h). Only definite, minimally sized lengths
 * are accepted (DER), so a BER or truncated encoding is rejected. */
#include "parsers/cert.h"

#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/xalloc.h"

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} cur;

typedef struct {
    unsigned tag;
    const unsigned char *val;
    size_t len;
} tlv;

static int why_set(char *why, size_t n, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Reads one TLV with a single-byte tag. Returns 0, or -1 if malformed. */
static int next_tlv(cur *c, tlv *t)
{
    if (c->end - c->p < 2)
        return -1;
    t->tag = *c->p++;
    if ((t->tag & 0x1f) == 0x1f) /* multi-byte tags never occur in a certificate */
        return -1;
    size_t len = *c->p++;
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(c->end - c->p) < nb)
            return -1; /* indefinite (BER) or absurd */
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = len << 8 | *c->p++;
        if (len < 128 || (nb > 1 && len >> (8 * (nb - 1)) == 0))
            return -1; /* not minimal: not DER */
    }
    if ((size_t)(c->end - c->p) < len)
        return -1;
    t->val = c->p;
    t->len = len;
    c->p += len;
    return 0;
}

static int expect(cur *c, tlv *t, unsigned tag)
{
    return next_tlv(c, t) == 0 && t->tag == tag ? 0 : -1;
}

static int is_digits(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int num(const unsigned char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 4.1.2.5). */
static int parse_time(const tlv *t, long long *out)
{
    const unsigned char *s = t->val;
    int y;
    if (t->tag == 0x17 && t->len == 13 && s[12] == 'Z' && is_digits(s, 12)) {
        y = num(s, 2);
        y += y >= 50 ? 1900 : 2000;
        s += 2;
    } else if (t->tag == 0x18 && t->len == 15 && s[14] == 'Z' && is_digits(s, 14)) {
        y = num(s, 4);
        s += 4;
    } else {
        return -1;
    }
    int mo = num(s, 2), d = num(s + 2, 2), h = num(s + 4, 2), mi = num(s + 6, 2),
        sec = num(s + 8, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400LL + h * 3600 + mi * 60 + sec;
    return 0;
}

static const unsigned char OID_CN[] = {0x55, 0x04, 0x03};

/* Walks Name ::= SEQUENCE OF SET OF AttributeTypeAndValue; returns the first
 * CN value (any directory string type) or NULL. -1 if malformed. */
static int walk_name(const tlv *name, const unsigned char **cn, size_t *cn_len)
{
    cur rdns = {name->val, name->val + name->len};
    *cn = NULL;
    *cn_len = 0;
    while (rdns.p < rdns.end) {
        tlv set;
        if (expect(&rdns, &set, 0x31))
            return -1;
        cur atvs = {set.val, set.val + set.len};
        while (atvs.p < atvs.end) {
            tlv atv, oid, val;
            if (expect(&atvs, &atv, 0x30))
                return -1;
            cur in = {atv.val, atv.val + atv.len};
            if (expect(&in, &oid, 0x06) || next_tlv(&in, &val) || in.p != in.end)
                return -1;
            if (!*cn && oid.len == sizeof OID_CN &&
                !memcmp(oid.val, OID_CN, sizeof OID_CN)) {
                switch (val.tag) {
                case 0x0c: /* UTF8String */
                case 0x13: /* PrintableString */
                case 0x16: /* IA5String */
                case 0x1a: /* VisibleString */
                case 0x14: /* TeletexString (treated as ASCII) */
                    *cn = val.val;
                    *cn_len = val.len;
                    break;
                default:
                    return -1;
                }
            }
        }
    }
    return 0;
}

int cert_inspect(cert_info *out, const unsigned char *der, size_t len, int allow_trailing,
                 char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    cur top = {der, der + len};
    tlv certificate, tbs, sigalg, sig, t;
    if (len == 0)
        return why_set(why, why_len, "certificate is empty");
    if (expect(&top, &certificate, 0x30))
        return why_set(why, why_len, "not a DER certificate (bad outer SEQUENCE)");
    if (top.p != top.end && !allow_trailing)
        return why_set(why, why_len, "%zu bytes of trailing data after the certificate",
                       (size_t)(top.end - top.p));
    out->total_len = (size_t)(top.p - der);

    cur c = {certificate.val, certificate.val + certificate.len};
    if (expect(&c, &tbs, 0x30))
        return why_set(why, why_len, "malformed certificate: bad TBSCertificate");
    if (expect(&c, &sigalg, 0x30))
        return why_set(why, why_len, "malformed certificate: bad signatureAlgorithm");
    if (expect(&c, &sig, 0x03) || sig.len < 2)
        return why_set(why, why_len, "malformed certificate: bad signature BIT STRING");
    if (c.p != c.end)
        return why_set(why, why_len, "malformed certificate: data after the signature");

    cur b = {tbs.val, tbs.val + tbs.len};
    if (next_tlv(&b, &t))
        return why_set(why, why_len, "malformed certificate: truncated TBSCertificate");
    if (t.tag == 0xa0) { /* [0] EXPLICIT Version */
        cur v = {t.val, t.val + t.len};
        tlv ver;
        if (expect(&v, &ver, 0x02) || v.p != v.end || ver.len != 1 || ver.val[0] > 2)
            return why_set(why, why_len, "malformed certificate: bad version");
        if (next_tlv(&b, &t))
            return why_set(why, why_len,
                           "malformed certificate: truncated TBSCertificate");
    }
    if (t.tag != 0x02 || t.len == 0)
        return why_set(why, why_len, "malformed certificate: bad serial number");
    tlv alg, issuer, validity, subject, spki;
    if (expect(&b, &alg, 0x30))
        return why_set(why, why_len, "malformed certificate: bad signature algorithm");
    if (expect(&b, &issuer, 0x30))
        return why_set(why, why_len, "malformed certificate: bad issuer name");
    if (expect(&b, &validity, 0x30))
        return why_set(why, why_len, "malformed certificate: bad validity");
    if (expect(&b, &subject, 0x30))
        return why_set(why, why_len, "malformed certificate: bad subject name");
    if (expect(&b, &spki, 0x30))
        return why_set(why, why_len, "malformed certificate: bad subjectPublicKeyInfo");
    while (b.p < b.end) { /* [1] issuerUID, [2] subjectUID, [3] extensions */
        if (next_tlv(&b, &t) || (t.tag != 0x81 && t.tag != 0x82 && t.tag != 0xa3))
            return why_set(why, why_len,
                           "malformed certificate: unexpected field in TBS");
    }

    cur v = {validity.val, validity.val + validity.len};
    tlv nb, na;
    if (next_tlv(&v, &nb) || next_tlv(&v, &na) || v.p != v.end ||
        parse_time(&nb, &out->not_before) || parse_time(&na, &out->not_after))
        return why_set(why, why_len, "malformed certificate: bad validity dates");

    cur k = {spki.val, spki.val + spki.len};
    tlv kalg, key;
    if (expect(&k, &kalg, 0x30) || expect(&k, &key, 0x03) || k.p != k.end || key.len < 2)
        return why_set(why, why_len, "malformed certificate: bad public key");

    const unsigned char *issuer_cn; /* only the structure is checked */
    size_t issuer_cn_len;
    if (walk_name(&issuer, &issuer_cn, &issuer_cn_len))
        return why_set(why, why_len, "malformed certificate: bad issuer name");
    if (walk_name(&subject, &out->cn, &out->cn_len))
        return why_set(why, why_len, "malformed certificate: bad subject name");
    return 0;
}

void cert_fingerprint(char out[65], const unsigned char *der, size_t len)
{
    /* The low-level SHA-256 (deprecated in OpenSSL 3 but kept) runs the same
     * SHA-NI code without a provider lookup: SHA256() and EVP_Digest take a
     * global read lock and allocate per call, which showed up in profiles. */
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_Init(&c);
    SHA256_Update(&c, der, len);
    SHA256_Final(md, &c);
#pragma GCC diagnostic pop
    hex_encode(out, md, sizeof md);
}

static const char *find(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle));
}

int cert_pem_to_der(unsigned char **der, size_t *der_len, const char *pem, size_t len,
                    char *why, size_t why_len)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    *der = NULL;
    *der_len = 0;
    const char *b = find(pem, len, begin);
    if (!b)
        return why_set(why, why_len, "no -----BEGIN CERTIFICATE----- block");
    b += sizeof begin - 1;
    const char *e = find(b, len - (size_t)(b - pem), end);
    if (!e)
        return why_set(why, why_len, "PEM block has no -----END CERTIFICATE----- line");
    size_t n = (size_t)(e - b);
    if (n == 0)
        return why_set(why, why_len, "PEM block is empty");
    unsigned char *out = xmalloc(b64_decoded_max(n));
    size_t bad = 0;
    if (b64_decode(out, der_len, b, n, B64_STD | B64_SKIP_SPACE, &bad)) {
        free(out);
        return why_set(why, why_len,
                       "PEM body is not valid base64 (at byte %zu of the body)", bad);
    }
    *der = out;
    return 0;
}

size_t cert_pem_size(size_t der_len)
{
    size_t b64 = (der_len + 2) / 3 * 4;
    size_t lines = (b64 + 63) / 64;
    return sizeof "-----BEGIN CERTIFICATE-----\n" - 1 + b64 + lines +
           sizeof "-----END CERTIFICATE-----\n" - 1;
}

static void pem_block(buf *b, const unsigned char *der, size_t len)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
    static const char end[] = "-----END CERTIFICATE-----\n";
    char *b64 = xmalloc((len + 2) / 3 * 4 + 1);
    size_t n = b64_encode(b64, der, len, B64_STD);
    buf_reserve(b, cert_pem_size(len));
    buf_append(b, begin, sizeof begin - 1);
    for (size_t i = 0; i < n; i += 64) {
        buf_append(b, b64 + i, n - i < 64 ? n - i : 64);
        buf_putc(b, '\n');
    }
    buf_append(b, end, sizeof end - 1);
    free(b64);
}

char *cert_der_to_pem(const unsigned char *der, size_t len, const unsigned char *chain,
                      size_t chain_len)
{
    buf b = BUF_INIT;
    pem_block(&b, der, len);
    while (chain_len) {
        cert_info ci;
        char why[128];
        if (cert_inspect(&ci, chain, chain_len, 1, why, sizeof why) || !ci.total_len ||
            ci.total_len > chain_len)
            break;
        pem_block(&b, chain, ci.total_len);
        chain += ci.total_len;
        chain_len -= ci.total_len;
    }
    return buf_take(&b, NULL);
}
