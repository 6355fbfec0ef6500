/* microchip - the Microchip Trust&GO / TrustFLEX signed manifest reader.
 *
 * Design: a manifest is a JSON array of flattened JWS objects
 * {payload, protected, header:{uniqueId}, signature}, all base64url. Each
 * entry is signed (ES256) by a Microchip manifest signer named in its
 * protected header by kid (base64url of the signer certificate's Subject Key
 * Identifier) and x5t#S256 (base64url SHA-256 of its DER). The document is
 * loaded whole with Jansson (bounded by limits.max_json_bytes); the signers -
 * the five public ones built in (mchp_signers.h) plus any *.crt / *.pem in
 * opts->microchip_signers - are parsed once at open.
 *
 * next() verifies one entry and yields it in array order: thing name =
 * header.uniqueId, raw = DER of payload publicKeySet.keys[0].x5c[0] (the
 * device certificate), chain = the other x5c certificates' DER. Nothing of an
 * entry whose signature does not verify is trusted, so such an item carries
 * the reason but no certificate. Signer expiry is deliberately not checked:
 * entries were signed while their signer was valid, and signers 1-4 have
 * since expired. The unsigned header.uniqueId must agree with the signed
 * payload's uniqueId, so the thing name cannot be swapped without breaking
 * the signature.
 *
 * Open also counts the entries that carry no certificate at all (manifests of
 * parts whose certificates Microchip does not ship), for src_notes().
 *
 * Threading: one reader belongs to one thread. Ownership: the reader owns the
 * JSON tree and the signer keys; items own what is put into them. */
#include "parsers/src_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "parsers/cert.h"
#include "parsers/mchp_signers.h"

enum {
    ES256_SIG_LEN = 64,        /* r || s, 32 bytes each */
    SIGNER_FILE_MAX = 1 << 20, /* a signer certificate file is ~700 bytes */
    SHOW_MAX = 48,             /* untrusted text quoted in a message */
};

/* Used only if the caller did not default the limits (src_default_limits). */
#define JSON_MAX_FALLBACK ((size_t)256 << 20)

typedef struct signer {
    EVP_PKEY *key;      /* P-256 public key */
    unsigned char *ski; /* Subject Key Identifier: what kid encodes */
    size_t ski_len;
    unsigned char x5t[32]; /* SHA-256 of the certificate DER */
    char *label;           /* subject CN, or the file name */
} signer;

typedef struct mchp {
    json_t *root; /* the manifest array */
    size_t n;     /* entries */
    size_t next;  /* next entry to yield */
    signer *signers;
    size_t n_signers;
    buf notes;
} mchp;

/* Copies untrusted text for a one-line message: printable ASCII only (no
 * terminal escapes reach the console), truncated with "..." to fit n. */
static const char *show(char *out, size_t n, const char *s)
{
    size_t k = 0;
    if (!s)
        s = "";
    for (; *s && k + 1 < n; s++)
        out[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    out[k] = '\0';
    if (*s && n >= 4)
        memcpy(out + n - 4, "...", 4);
    return out;
}

/* Why b64_decode() failed at offset bad of an input of len characters. */
static const char *b64_why(char *out, size_t n, const char *in, size_t len, size_t bad)
{
    if (bad < len) {
        unsigned char c = (unsigned char)in[bad];
        if (c >= 0x20 && c < 0x7f)
            snprintf(out, n, "bad character '%c' at offset %zu", c, bad);
        else
            snprintf(out, n, "bad byte 0x%02x at offset %zu", c, bad);
    } else {
        snprintf(out, n, "truncated or non-canonical ending");
    }
    return out;
}

/* Decodes base64 (flags as b64_decode) into a malloc'd buffer; NULL on error
 * with *bad set. */
static unsigned char *b64_dup(const char *s, size_t len, int flags, size_t *out_len,
                              size_t *bad)
{
    unsigned char *p = xmalloc(b64_decoded_max(len) + 1);
    if (b64_decode(p, out_len, s, len, flags, bad)) {
        free(p);
        return NULL;
    }
    return p;
}

/* The OpenSSL error queue's first reason, for a message; clears the queue. */
static const char *ossl_why(char *out, size_t n)
{
    unsigned long code = ERR_get_error();
    if (code)
        ERR_error_string_n(code, out, n);
    else
        snprintf(out, n, "unknown OpenSSL error");
    ERR_clear_error();
    return out;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "value";
}

/* ---- files ---- */

/* Reads all of path into *out (NUL-terminated, caller frees), at most max
 * bytes. Errors name path. */
static int slurp(char **out, size_t *out_len, const char *path, size_t max, err *e)
{
    int rc = -1;
    buf b = BUF_INIT;
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        goto out;
    }
    char block[64 * 1024];
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0) {
        if (b.len + n > max) {
            err_set(e, ERR_LIMIT, path, 0, -1,
                    "file is larger than the %zu-byte limit for a JSON document", max);
            goto out;
        }
        buf_append(&b, block, n);
    }
    if (ferror(f)) {
        err_set(e, ERR_IO, path, 0, -1, "read error: %s", strerror(errno));
        goto out;
    }
    *out = buf_take(&b, out_len);
    rc = 0;
out:
    if (f)
        fclose(f);
    buf_free(&b);
    return rc;
}

/* ---- signers ---- */

/* Checks x is usable as an ES256 signer and adds it. Returns 0, or -1 with a
 * reason in why. Does not take x. */
static int add_signer(mchp *m, X509 *x, const char *fallback_label, char *why, size_t n)
{
    EVP_PKEY *key = X509_get0_pubkey(x);
    if (!key) {
        snprintf(why, n, "certificate has no usable public key");
        ERR_clear_error();
        return -1;
    }
    char group[64] = "", ossl[128];
    size_t group_len = 0;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
        snprintf(why, n, "key is not an EC key; ES256 manifest signers use P-256");
        return -1;
    }
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof group, &group_len) ||
        strcmp(group, "prime256v1") != 0) {
        ERR_clear_error();
        snprintf(why, n, "key is on curve %s; ES256 manifest signers use P-256",
                 group[0] ? group : "(unknown)");
        return -1;
    }

    signer s = {0};
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    if (ski) {
        s.ski_len = (size_t)ASN1_STRING_length(ski);
        s.ski = xmemdup(ASN1_STRING_get0_data(ski), s.ski_len ? s.ski_len : 1);
    } else {
        /* No extension: RFC 5280 §4.2.1.2 method 1, SHA-1 of the key bits. */
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        if (!X509_pubkey_digest(x, EVP_sha1(), md, &md_len)) {
            snprintf(why, n, "cannot compute the key identifier: %s",
                     ossl_why(ossl, sizeof ossl));
            return -1;
        }
        s.ski_len = md_len;
        s.ski = xmemdup(md, md_len);
    }
    unsigned int x5t_len = 0;
    if (!X509_digest(x, EVP_sha256(), s.x5t, &x5t_len) || x5t_len != sizeof s.x5t) {
        free(s.ski);
        snprintf(why, n, "cannot hash the certificate: %s", ossl_why(ossl, sizeof ossl));
        return -1;
    }

    char cn[128] = "";
    X509_NAME *subject = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    if (idx >= 0 &&
        ASN1_STRING_to_UTF8(
            &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx))) > 0) {
        show(cn, sizeof cn, (const char *)utf8);
    }
    OPENSSL_free(utf8);
    ERR_clear_error();
    s.label = xstrdup(cn[0] ? cn : fallback_label);

    EVP_PKEY_up_ref(key);
    s.key = key;
    m->signers = xrealloc(m->signers, (m->n_signers + 1) * sizeof *m->signers);
    m->signers[m->n_signers++] = s;
    return 0;
}

/* Adds every certificate of a PEM text (or one DER certificate). Returns the
 * number added, or -1 with why. */
static int add_signers_from(mchp *m, const char *data, size_t len, const char *label,
                            char *why, size_t n)
{
    int added = 0;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (!bio)
        base_fatal("BIO_new_mem_buf");
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        int rc = add_signer(m, x, label, why, n);
        X509_free(x);
        if (rc) {
            added = -1;
            goto out;
        }
        added++;
    }
    ERR_clear_error(); /* the read past the last block */
    if (added == 0 && len > 0 && (unsigned char)data[0] == 0x30) {
        const unsigned char *p = (const unsigned char *)data;
        x = d2i_X509(NULL, &p, (long)len);
        if (x && p == (const unsigned char *)data + len) {
            int rc = add_signer(m, x, label, why, n);
            X509_free(x);
            added = rc ? -1 : 1;
            goto out;
        }
        X509_free(x);
        ERR_clear_error();
    }
    if (added == 0) {
        snprintf(why, n, "no PEM or DER certificate in the file");
        added = -1;
    }
out:
    BIO_free(bio);
    return added;
}

static int load_builtin_signers(mchp *m, err *e)
{
    char why[ITEM_MSG_MAX];
    for (size_t i = 0; i < mchp_signers_count; i++) {
        const mchp_signer_pem *p = &mchp_signers[i];
        if (add_signers_from(m, p->pem, strlen(p->pem), p->name, why, sizeof why) < 0) {
            err_set(e, ERR_INTERNAL, p->name, 0, -1, "built-in Microchip signer: %s",
                    why);
            return -1;
        }
    }
    return 0;
}

static int is_signer_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    if (d->d_name[0] == '.' || n < 5)
        return 0;
    const char *ext = d->d_name + n - 4;
    return !strcasecmp(ext, ".crt") || !strcasecmp(ext, ".pem");
}

/* Loads every *.crt / *.pem of dir (name order) as additional signers. */
static int load_signer_dir(mchp *m, const char *dir, err *e)
{
    int rc = -1;
    struct dirent **names = NULL;
    int count = scandir(dir, &names, is_signer_file, alphasort);
    char *data = NULL;
    buf file = BUF_INIT;
    if (count < 0) {
        err_set(e, ERR_IO, dir, 0, -1, "cannot read the Microchip signer directory: %s",
                strerror(errno));
        return -1;
    }
    size_t loaded = 0;
    for (int i = 0; i < count; i++) {
        buf_reset(&file);
        buf_printf(&file, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (stat(file.data, &st) != 0) {
            err_set(e, ERR_IO, file.data, 0, -1, "cannot read Microchip signer: %s",
                    strerror(errno));
            goto out;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        size_t len = 0;
        if (slurp(&data, &len, file.data, SIGNER_FILE_MAX, e))
            goto out;
        char why[ITEM_MSG_MAX];
        if (add_signers_from(m, data, len, names[i]->d_name, why, sizeof why) < 0) {
            err_set(e, ERR_FORMAT, file.data, 0, -1, "Microchip signer: %s", why);
            goto out;
        }
        free(data);
        data = NULL;
        loaded++;
    }
    if (loaded == 0)
        buf_printf(&m->notes, "no *.crt or *.pem signer certificates in %s\n", dir);
    rc = 0;
out:
    free(data);
    buf_free(&file);
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---- one entry ---- */

/* 1 when the ES256 signature rs (r || s) over input verifies, 0 when it does
 * not, -1 when OpenSSL fails (reason in why). */
static int es256_verify(EVP_PKEY *key, const unsigned char rs[ES256_SIG_LEN],
                        const unsigned char *input, size_t len, char *why, size_t n)
{
    int rc = -1;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, ES256_SIG_LEN / 2, NULL);
    BIGNUM *s = BN_bin2bn(rs + ES256_SIG_LEN / 2, ES256_SIG_LEN / 2, NULL);
    unsigned char *der = NULL;
    EVP_MD_CTX *ctx = NULL;
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s))
        goto out;
    r = s = NULL; /* owned by sig now */
    int der_len = i2d_ECDSA_SIG(sig, &der);
    if (der_len <= 0)
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
        goto out;
    int v = EVP_DigestVerify(ctx, der, (size_t)der_len, input, len);
    if (v == 1 || v == 0)
        rc = v;
out:
    if (rc < 0)
        ossl_why(why, n);
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return rc;
}

/* Decodes a base64url JSON member into a JSON object. NULL with why on error. */
static json_t *b64_json(const char *s, size_t len, const char *what, char *why, size_t n)
{
    size_t bytes_len = 0, bad = 0;
    char tmp[96];
    unsigned char *bytes = b64_dup(s, len, B64_URL, &bytes_len, &bad);
    if (!bytes) {
        snprintf(why, n, "%s is not base64url (%s)", what,
                 b64_why(tmp, sizeof tmp, s, len, bad));
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)bytes, bytes_len, JSON_REJECT_DUPLICATES, &je);
    free(bytes);
    if (!j) {
        snprintf(why, n, "%s is not valid JSON (column %d: %s)", what, je.column,
                 je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        snprintf(why, n, "%s is a JSON %s, not an object", what, json_kind(j));
        json_decref(j);
        return NULL;
    }
    return j;
}

/* publicKeySet.keys[0].x5c if it is a non-empty array, else NULL. */
static json_t *payload_x5c(json_t *payload)
{
    json_t *keys = json_object_get(json_object_get(payload, "publicKeySet"), "keys");
    json_t *x5c = json_object_get(json_array_get(keys, 0), "x5c");
    return json_is_array(x5c) && json_array_size(x5c) > 0 ? x5c : NULL;
}

/* Checks the entry's JWS: protected header, signer, signature. Returns 0, or
 * -1 with the item flagged. */
static int verify_entry(const mchp *m, const char *prot, size_t prot_len,
                        const char *payload, size_t payload_len, const char *sig_b64,
                        size_t sig_len, item *it)
{
    int rc = -1;
    char why[ITEM_MSG_MAX], tmp[96], kid_show[SHOW_MAX], x5t_show[SHOW_MAX];
    unsigned char *kid = NULL, *x5t = NULL, *sig = NULL;
    unsigned char *input = NULL;
    size_t kid_len = 0, x5t_len = 0, sig_bytes = 0, bad = 0;

    json_t *hdr = b64_json(prot, prot_len, "protected header", why, sizeof why);
    if (!hdr) {
        item_flag(it, ITEM_ERROR, "%s", why);
        goto out;
    }
    json_t *alg = json_object_get(hdr, "alg");
    if (!json_is_string(alg)) {
        item_flag(it, ITEM_ERROR, "protected header has no alg");
        goto out;
    }
    if (strcmp(json_string_value(alg), "ES256") != 0) {
        item_flag(it, ITEM_ERROR,
                  "unsupported signature alg \"%s\" (Microchip manifests use ES256)",
                  show(tmp, SHOW_MAX, json_string_value(alg)));
        goto out;
    }
    if (json_object_get(hdr, "crit")) {
        item_flag(it, ITEM_ERROR,
                  "protected header has critical (crit) parameters this reader does not "
                  "implement");
        goto out;
    }
    const char *kid_s = json_string_value(json_object_get(hdr, "kid"));
    const char *x5t_s = json_string_value(json_object_get(hdr, "x5t#S256"));
    if (!kid_s) {
        item_flag(it, ITEM_ERROR,
                  "protected header has no kid (the signer's key identifier)");
        goto out;
    }
    if (!x5t_s) {
        item_flag(it, ITEM_ERROR,
                  "protected header has no x5t#S256 (the signer certificate's SHA-256)");
        goto out;
    }
    show(kid_show, sizeof kid_show, kid_s);
    show(x5t_show, sizeof x5t_show, x5t_s);
    kid = b64_dup(kid_s, strlen(kid_s), B64_URL, &kid_len, &bad);
    if (!kid) {
        item_flag(it, ITEM_ERROR, "kid \"%s\" is not base64url (%s)", kid_show,
                  b64_why(tmp, sizeof tmp, kid_s, strlen(kid_s), bad));
        goto out;
    }
    x5t = b64_dup(x5t_s, strlen(x5t_s), B64_URL, &x5t_len, &bad);
    if (!x5t) {
        item_flag(it, ITEM_ERROR, "x5t#S256 \"%s\" is not base64url (%s)", x5t_show,
                  b64_why(tmp, sizeof tmp, x5t_s, strlen(x5t_s), bad));
        goto out;
    }

    const signer *s = NULL;
    int kid_known = 0;
    for (size_t i = 0; i < m->n_signers && !s; i++) {
        const signer *c = &m->signers[i];
        if (c->ski_len != kid_len || memcmp(c->ski, kid, kid_len) != 0)
            continue;
        kid_known = 1;
        if (x5t_len == sizeof c->x5t && !memcmp(c->x5t, x5t, x5t_len))
            s = c;
    }
    if (!s) {
        if (kid_known)
            item_flag(it, ITEM_ERROR,
                      "x5t#S256 %s matches no known signer certificate with kid %s",
                      x5t_show, kid_show);
        else
            item_flag(
                it, ITEM_ERROR,
                "unknown manifest signer kid %s (not one of the %zu known signers; add "
                "its certificate with --microchip-signers DIR)",
                kid_show, m->n_signers);
        goto out;
    }

    sig = b64_dup(sig_b64, sig_len, B64_URL, &sig_bytes, &bad);
    if (!sig) {
        item_flag(it, ITEM_ERROR, "signature is not base64url (%s)",
                  b64_why(tmp, sizeof tmp, sig_b64, sig_len, bad));
        goto out;
    }
    if (sig_bytes != ES256_SIG_LEN) {
        item_flag(it, ITEM_ERROR, "signature is %zu bytes; ES256 needs %d (r || s)",
                  sig_bytes, ES256_SIG_LEN);
        goto out;
    }

    /* JWS signing input: ASCII(protected) '.' ASCII(payload), as in the file. */
    size_t input_len = prot_len + 1 + payload_len;
    input = xmalloc(input_len);
    memcpy(input, prot, prot_len);
    input[prot_len] = '.';
    memcpy(input + prot_len + 1, payload, payload_len);
    int v = es256_verify(s->key, sig, input, input_len, why, sizeof why);
    if (v < 0) {
        item_flag(it, ITEM_ERROR, "cannot check the signature: %s", why);
        goto out;
    }
    if (v == 0) {
        item_flag(it, ITEM_ERROR,
                  "signature does not verify with signer \"%s\" (kid %s): the entry was "
                  "altered or not signed by that key",
                  s->label, kid_show);
        goto out;
    }
    rc = 0;
out:
    json_decref(hdr);
    free(kid);
    free(x5t);
    free(sig);
    free(input);
    return rc;
}

/* Takes the certificates out of a verified payload into the item. */
static void take_certificates(json_t *x5c, item *it)
{
    buf chain = BUF_INIT;
    unsigned char *der = NULL;
    char tmp[96], why[ITEM_MSG_MAX];
    for (size_t i = 0; i < json_array_size(x5c); i++) {
        json_t *el = json_array_get(x5c, i);
        if (!json_is_string(el)) {
            item_flag(it, ITEM_ERROR,
                      "publicKeySet.keys[0].x5c[%zu] is a JSON %s, not a base64 string",
                      i, json_kind(el));
            goto out;
        }
        const char *s = json_string_value(el);
        size_t len = json_string_length(el), der_len = 0, bad = 0;
        der = b64_dup(s, len, B64_STD, &der_len, &bad);
        if (!der) {
            item_flag(it, ITEM_ERROR, "publicKeySet.keys[0].x5c[%zu] is not base64 (%s)",
                      i, b64_why(tmp, sizeof tmp, s, len, bad));
            goto out;
        }
        if (der_len == 0) {
            item_flag(it, ITEM_ERROR, "publicKeySet.keys[0].x5c[%zu] is empty", i);
            goto out;
        }
        if (i == 0) {
            it->raw = (char *)der;
            it->raw_len = der_len;
            it->raw_kind = RAW_DER;
            der = NULL;
            continue;
        }
        cert_info ci;
        if (cert_inspect(&ci, der, der_len, 0, why, sizeof why)) {
            item_flag(it, ITEM_ERROR,
                      "publicKeySet.keys[0].x5c[%zu] (issuer certificate): %s", i, why);
            goto out;
        }
        buf_append(&chain, der, der_len);
        free(der);
        der = NULL;
    }
    if (chain.len) {
        it->chain = (unsigned char *)buf_take(&chain, &it->chain_len);
    }
out:
    free(der);
    buf_free(&chain);
}

static void read_entry(const mchp *m, json_t *entry, item *it)
{
    char why[ITEM_MSG_MAX], a[SHOW_MAX], b[SHOW_MAX];
    json_t *body = NULL;

    if (!json_is_object(entry)) {
        item_flag(it, ITEM_ERROR,
                  "manifest entry is a JSON %s, not a signed (JWS) object",
                  json_kind(entry));
        goto out;
    }
    const char *uid =
        json_string_value(json_object_get(json_object_get(entry, "header"), "uniqueId"));
    if (uid && uid[0])
        it->thing_name = xstrdup(uid);
    else
        item_flag(it, ITEM_ERROR,
                  "manifest entry has no header.uniqueId (the thing name)");

    json_t *prot = json_object_get(entry, "protected");
    json_t *payload = json_object_get(entry, "payload");
    json_t *sig = json_object_get(entry, "signature");
    const char *missing = !json_is_string(payload) ? "payload"
                          : !json_is_string(prot)  ? "protected"
                          : !json_is_string(sig)   ? "signature"
                                                   : NULL;
    if (missing) {
        item_flag(it, ITEM_ERROR,
                  "manifest entry has no \"%s\" string (a flattened JWS has payload, "
                  "protected and signature)",
                  missing);
        goto out;
    }
    if (verify_entry(m, json_string_value(prot), json_string_length(prot),
                     json_string_value(payload), json_string_length(payload),
                     json_string_value(sig), json_string_length(sig), it))
        goto out;

    body = b64_json(json_string_value(payload), json_string_length(payload), "payload",
                    why, sizeof why);
    if (!body) {
        item_flag(it, ITEM_ERROR, "%s", why);
        goto out;
    }
    const char *signed_uid = json_string_value(json_object_get(body, "uniqueId"));
    if (uid && uid[0] && signed_uid && strcasecmp(uid, signed_uid) != 0) {
        item_flag(
            it, ITEM_ERROR,
            "header.uniqueId \"%s\" differs from the signed payload's uniqueId \"%s\"",
            show(a, sizeof a, uid), show(b, sizeof b, signed_uid));
        goto out;
    }

    json_t *x5c = payload_x5c(body);
    if (!x5c) {
        item_flag(
            it, ITEM_ERROR,
            "no certificate in manifest entry (payload has no publicKeySet.keys[0].x5c)");
        goto out;
    }
    take_certificates(x5c, it);
out:
    json_decref(body);
}

/* ---- reader ---- */

static int mchp_next(void *state, item *out, err *e)
{
    (void)e; /* entries fail one by one; the file was checked at open */
    mchp *m = state;
    if (m->next >= m->n)
        return 0;
    size_t i = m->next++;
    char where[48];
    snprintf(where, sizeof where, "entry %zu", i);
    out->where = xstrdup(where);
    out->line = 0;
    out->name_from_cn = 0;
    read_entry(m, json_array_get(m->root, i), out);
    return 1;
}

static const char *mchp_notes(void *state)
{
    mchp *m = state;
    return m->notes.data ? m->notes.data : "";
}

static void mchp_free(void *state)
{
    mchp *m = state;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_signers; i++) {
        EVP_PKEY_free(m->signers[i].key);
        free(m->signers[i].ski);
        free(m->signers[i].label);
    }
    free(m->signers);
    json_decref(m->root);
    buf_free(&m->notes);
    free(m);
}

/* Counts the entries whose payload decodes but holds no certificate, so the
 * note is right before the first item is read. */
static void note_missing_certificates(mchp *m)
{
    size_t missing = 0;
    char why[ITEM_MSG_MAX];
    for (size_t i = 0; i < m->n; i++) {
        json_t *payload = json_object_get(json_array_get(m->root, i), "payload");
        if (!json_is_string(payload))
            continue;
        json_t *body = b64_json(json_string_value(payload), json_string_length(payload),
                                "payload", why, sizeof why);
        if (body && !payload_x5c(body))
            missing++;
        json_decref(body);
    }
    if (missing)
        buf_printf(&m->notes,
                   "%zu of %zu manifest entries carry no certificate (no publicKeySet); "
                   "there is nothing to register for them\n",
                   missing, m->n);
}

int microchip_open(src_impl *out, const char *path, const src_opts *opts, err *e)
{
    int rc = -1;
    char *text = NULL;
    size_t len = 0;
    mchp *m = xcalloc(1, sizeof *m);
    size_t max = opts && opts->limits.max_json_bytes ? opts->limits.max_json_bytes
                                                     : JSON_MAX_FALLBACK;

    if (slurp(&text, &len, path, max, e))
        goto out;
    json_error_t je;
    m->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!m->root) {
        err_set(e, ERR_FORMAT, path, je.line > 0 ? (unsigned long)je.line : 0, -1,
                "invalid JSON at column %d: %s", je.column, je.text);
        goto out;
    }
    if (!json_is_array(m->root)) {
        err_set(
            e, ERR_FORMAT, path, 0, -1,
            "not a Microchip manifest: the top level is a JSON %s, expected an array of "
            "signed entries",
            json_kind(m->root));
        goto out;
    }
    m->n = json_array_size(m->root);
    if (m->n == 0) {
        err_set(e, ERR_FORMAT, path, 0, -1,
                "Microchip manifest has no entries (empty array)");
        goto out;
    }
    if (load_builtin_signers(m, e))
        goto out;
    if (opts && opts->microchip_signers && load_signer_dir(m, opts->microchip_signers, e))
        goto out;
    note_missing_certificates(m);

    out->state = m;
    out->next = mchp_next;
    out->free = mchp_free;
    out->batch_id = NULL;
    out->notes = mchp_notes;
    rc = 0;
out:
    free(text);
    if (rc)
        mchp_free(m);
    return rc;
}
