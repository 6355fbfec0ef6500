/* cert - fast, strict reading of an X.509 certificate's DER.
 *
 * Design: OpenSSL's d2i_X509 costs ~85 µs per certificate here, mostly in
 * decoding the public key, which validation never needs. cert_inspect() walks
 * the DER structure with ASN1_get_object-level primitives instead: it checks
 * the Certificate / TBSCertificate / Validity / Name / SubjectPublicKeyInfo
 * framing (tags, lengths, no trailing bytes), and reads the subject CN and
 * the validity dates, without touching the key. The fingerprint is SHA-256
 * of the DER bytes (the AWS IoT certificateId).
 *
 * Threading: any thread; no state. */
#ifndef TP_PARSERS_CERT_H
#define TP_PARSERS_CERT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cert_info {
    const unsigned char *cn; /* borrowed from der; NULL if the subject has no CN */
    size_t cn_len;
    long long not_before; /* unix seconds */
    long long not_after;
    size_t total_len; /* bytes the certificate occupies (== len when exact) */
} cert_info;

/* Checks that der[0..len) is exactly one well-framed certificate and fills
 * *out. Returns 0, or -1 with a one-line reason in why (ITEM_MSG_MAX). With
 * allow_trailing, bytes after the certificate are allowed and out->total_len
 * says where it ends (to walk concatenated DER). */
int cert_inspect(cert_info *out, const unsigned char *der, size_t len, int allow_trailing,
                 char *why, size_t why_len);

/* Lowercase hex SHA-256 of der into out[65]. */
void cert_fingerprint(char out[65], const unsigned char *der, size_t len);

/* Finds the first "-----BEGIN CERTIFICATE-----" block in pem[0..len) and
 * decodes its body. Returns 0 with *der (malloc'd, caller frees), or -1 with
 * a reason in why. Whitespace and CR/LF inside the body are allowed. */
int cert_pem_to_der(unsigned char **der, size_t *der_len, const char *pem, size_t len,
                    char *why, size_t why_len);

/* Size of der as PEM text with 64-column lines and LF endings. */
size_t cert_pem_size(size_t der_len);

/* The PEM text (64-column lines, LF endings) of the certificate der[0..len),
 * followed by one block for each certificate of chain[0..chain_len): issuer
 * certificates' DER, concatenated (item.chain), each framed as cert_inspect
 * reads it; bytes after the last whole certificate are left out. Returns a
 * malloc'd string the caller frees. */
char *cert_der_to_pem(const unsigned char *der, size_t len, const unsigned char *chain,
                      size_t chain_len);

#ifdef __cplusplus
}
#endif
#endif
