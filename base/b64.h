/* b64 - strict base64 (RFC 4648 §4) and base64url (§5) codecs.
 *
 * Hand-written rather than OpenSSL's EVP_DecodeBlock because the callers need
 * what it does not give: exact output length with padding accounted for,
 * rejection (not silent skipping) of stray characters, optional whitespace
 * skipping for PEM bodies and CSV cells, and unpadded base64url for JWS.
 *
 * Threading: any thread; no state. */
#ifndef TP_BASE_B64_H
#define TP_BASE_B64_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    B64_STD = 0,        /* A-Z a-z 0-9 + /, '=' padding required when len%4 != 0 */
    B64_URL = 1,        /* A-Z a-z 0-9 - _, padding optional */
    B64_SKIP_SPACE = 2, /* ignore ' ', '\t', '\r', '\n' anywhere */
};

/* Upper bound of the decoded size of `len` input characters. */
size_t b64_decoded_max(size_t len);

/* Decodes `in` into `out` (at least b64_decoded_max(len) bytes) and stores the
 * decoded length in *out_len. Returns 0, or -1 on a character outside the
 * alphabet, bad padding, or a truncated final group; *bad_pos then holds the
 * offset of the offending input character (may be NULL). */
int b64_decode(unsigned char *out, size_t *out_len, const char *in, size_t len, int flags,
               size_t *bad_pos);

/* Encodes into out (4*ceil(n/3)+1 bytes, NUL-terminated); returns the length. */
size_t b64_encode(char *out, const unsigned char *in, size_t n, int flags);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(char *out, const unsigned char *in, size_t n);

#ifdef __cplusplus
}
#endif
#endif
