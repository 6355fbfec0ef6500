/* Microchip Trust&GO / TrustFLEX manifests: a JSON array of flattened JWS
 * entries (base64url protected header, payload, ES256 signature), verified
 * against the built-in signers plus a --microchip-signers directory.
 *
 * Each input is read twice. First as it is: the array, the entries, the
 * protected header (alg, kid, x5t#S256, crit), the signer lookup and the
 * signature check. A fuzzer cannot forge ES256, so everything behind a valid
 * signature (the payload JSON, uniqueId, publicKeySet.keys[0].x5c, the
 * certificates) would stay out of reach: the second read re-signs the first
 * entries with a P-256 key made at start-up, whose certificate is in the
 * signer directory given to the reader, exactly as an extra signer is. */
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/b64.h"
#include "base/xalloc.h"
#include "fuzz/fuzz_common.h"

#define RESIGN_MAX 8 /* entries re-signed per input */

static EVP_PKEY *key;
static char signer_dir[512];
static char *protected_b64; /* {"alg":"ES256","kid":...,"x5t#S256":...} */

static char *b64url(const unsigned char *p, size_t n)
{
    char *s = xmalloc(n * 4 / 3 + 8);
    s[b64_encode(s, p, n, B64_URL)] = '\0';
    return s;
}

/* A P-256 key, its self-signed certificate in signer_dir/harness.pem, and
 * the protected header that names it. */
static void make_signer(void)
{
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    if (!key || !x)
        abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"fuzz manifest signer", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext =
        X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, key, EVP_sha256()))
        abort();
    X509_EXTENSION_free(ext);

    snprintf(signer_dir, sizeof signer_dir, "%s/signers", fz_scratch());
    if (mkdir(signer_dir, 0700))
        abort();
    char path[600];
    snprintf(path, sizeof path, "%s/harness.pem", signer_dir);
    FILE *f = fopen(path, "w");
    if (!f || !PEM_write_X509(f, x))
        abort();
    fclose(f);

    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    unsigned char x5t[32];
    unsigned int x5t_len = 0;
    if (!ski || !X509_digest(x, EVP_sha256(), x5t, &x5t_len))
        abort();
    char *kid = b64url(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
    char *t = b64url(x5t, x5t_len);
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr,
                     "{\"alg\":\"ES256\",\"kid\":\"%s\",\"x5t#S256\":\"%s\"}", kid, t);
    protected_b64 = b64url((const unsigned char *)hdr, (size_t)n);
    free(kid);
    free(t);
    X509_free(x);
}

static void cleanup_dir(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/harness.pem", signer_dir);
    unlink(path);
    rmdir(signer_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    make_signer();
    atexit(cleanup_dir); /* runs before fz_cleanup (registered earlier) */
    return 0;
}

/* The JWS signature (r || s, base64url) of protected.payload. */
static char *sign(const char *payload, size_t len)
{
    size_t pl = strlen(protected_b64), in_len = pl + 1 + len;
    unsigned char *in = xmalloc(in_len);
    memcpy(in, protected_b64, pl);
    in[pl] = '.';
    memcpy(in + pl + 1, payload, len);
    unsigned char der[80];
    size_t der_len = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &der_len, in, in_len) != 1)
        abort();
    EVP_MD_CTX_free(md);
    free(in);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    unsigned char rs[64];
    if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) != 32)
        abort();
    ECDSA_SIG_free(sig);
    return b64url(rs, sizeof rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src_opts o = {.vendor = VENDOR_MICROCHIP, .microchip_signers = signer_dir};
    o.limits.max_json_bytes = 1 << 20;
    fz_drain(fz_write("in.json", data, size), &o);

    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_array(root)) {
        size_t i;
        json_t *entry;
        json_array_foreach(root, i, entry)
        {
            json_t *payload = json_object_get(entry, "payload");
            if (i == RESIGN_MAX || !json_is_string(payload))
                break;
            char *sig = sign(json_string_value(payload), json_string_length(payload));
            json_object_set_new(entry, "protected", json_string(protected_b64));
            json_object_set_new(entry, "signature", json_string(sig));
            free(sig);
        }
        char *text = json_dumps(root, JSON_COMPACT);
        if (text) {
            fz_drain(fz_write("signed.json", (const uint8_t *)text, strlen(text)), &o);
            free(text);
        }
    }
    json_decref(root);
    return 0;
}
