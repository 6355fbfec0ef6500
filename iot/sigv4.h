/* sigv4 - AWS Signature Version 4: signing (the client) and verification
 * (the local endpoint), with OpenSSL's HMAC-SHA256.
 *
 * Design: one canonicalisation shared by both directions, so the sim checks
 * exactly what the client produces and what the AWS CLI produces. Paths are
 * given as they go on the wire (each segment URI-encoded once, e.g.
 * "/things/plant%3A7_dev-001"); for every service but S3 the canonical URI
 * encodes them again ("%253A"), which is what AWS IoT checks and what
 * libcurl's CURLOPT_AWS_SIGV4 gets wrong. Header names are matched without
 * case, values are trimmed and inner runs of spaces squeezed, repeated
 * headers are joined with ",", as the AWS test suites require.
 *
 * Threading: any thread; no state. Secrets are read, never copied into
 * outputs other than the derived signature. */
#ifndef TP_IOT_SIGV4_H
#define TP_IOT_SIGV4_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sigv4_header {
    const char *name;
    const char *value;
} sigv4_header;

typedef struct sigv4_request {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* as on the wire: segments URI-encoded once; "" = "/" */
    const char *query;           /* raw query string without '?', or NULL */
    const sigv4_header *headers; /* every header sent; "host" must be among them */
    size_t n_headers;
    const unsigned char *body; /* may be NULL when body_len == 0 */
    size_t body_len;
} sigv4_request;

typedef struct sigv4_key {
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL when none */
    const char *region;        /* "us-east-1" */
    const char *service;       /* "iot" (or "execute-api" for older models) */
} sigv4_key;

/* Options that differ between services and test suites. */
enum {
    SIGV4_NORMALIZE_PATH = 1, /* remove dot segments and repeated '/' (all but S3) */
    SIGV4_DOUBLE_ENCODE = 2,  /* encode the wire path again in the canonical URI */
    SIGV4_SIGN_TOKEN = 4,     /* X-Amz-Security-Token is a signed header (AWS CLI) */
    SIGV4_DEFAULT = SIGV4_NORMALIZE_PATH | SIGV4_DOUBLE_ENCODE | SIGV4_SIGN_TOKEN,
};

/* The canonical request (without trailing newline) and the string to sign.
 * `signed_headers` lists, ';'-separated, which of req's headers are signed
 * (matched without case; sorted and de-duplicated here); NULL = all of them,
 * except X-Amz-Security-Token when flags lack SIGV4_SIGN_TOKEN. A listed
 * header missing from req is an error. The query is decoded and re-encoded
 * per SigV4 ("%E1%88%B4" and raw UTF-8 agree; '+' is a literal plus), then
 * sorted by key and value. The payload hash is SHA-256 of the body.
 * sigv4_string_to_sign returns -1 only for missing arguments or a date
 * shorter than 8 characters. amz_date is "YYYYMMDDTHHMMSSZ". */
int sigv4_canonical_request(buf *out, const sigv4_request *req,
                            const char *signed_headers, int flags, err *e);
int sigv4_string_to_sign(buf *out, const char *canonical_request, const char *amz_date,
                         const char *region, const char *service);

/* Hex signature of string_to_sign for key and date (YYYYMMDD; a longer
 * amz_date is cut to its first 8 characters). */
void sigv4_signature(char out[65], const char *secret_key, const char *date,
                     const char *region, const char *service, const char *string_to_sign);

/* Signs req: appends the Authorization header value to *authz (caller's buf).
 * req's headers must already contain host, x-amz-date (= amz_date) and, when
 * key->session_token is set and flags have SIGV4_SIGN_TOKEN,
 * x-amz-security-token with that value. Signs all of req's headers (the
 * caller passes only those it wants signed; without SIGV4_SIGN_TOKEN the
 * token header is left out of the signature). Returns 0, or -1 with e set;
 * the message never contains the secret or the token. */
int sigv4_sign(buf *authz, const sigv4_request *req, const sigv4_key *key,
               const char *amz_date, int flags, err *e);

/* The verdicts the local endpoint reports (and logs). */
typedef enum {
    SIGV4_OK = 0,
    SIGV4_MISSING,       /* no or malformed Authorization header */
    SIGV4_UNKNOWN_KEY,   /* access key not known (UnrecognizedClientException) */
    SIGV4_BAD_SIGNATURE, /* signature mismatch (InvalidSignatureException) */
    SIGV4_STALE,         /* x-amz-date more than 15 minutes from now */
    SIGV4_BAD_SCOPE,     /* wrong region, service or date in the credential scope */
} sigv4_verdict;

const char *sigv4_verdict_name(sigv4_verdict v);

/* Looks up the secret for an access key (the sim's configured credentials). */
typedef const char *(*sigv4_secret_fn)(void *ctx, const char *access_key);

/* Verifies a received request: parses its Authorization header (found in
 * req->headers), checks the scope against region (and the service, if not
 * NULL; service may list alternatives separated by ',', e.g.
 * "iot,execute-api" to accept both AWS CLI generations), the date against
 * now (unix seconds, +-15 min), recomputes the signature over the
 * SignedHeaders it names, and compares in constant time.
 * req->path must be the request target's path exactly as received (still
 * percent-encoded, before any decoding or normalisation by the server), and
 * req->query the raw query string; headers may include unsigned ones.
 * Order of checks: MISSING (no/malformed Authorization, SignedHeaders without
 * host and x-amz-date, no/malformed/repeated X-Amz-Date), UNKNOWN_KEY (secret
 * returns NULL, or secret is NULL), BAD_SCOPE, STALE, BAD_SIGNATURE (also a
 * signed header absent from the request).
 * Tries SIGV4_DEFAULT, then without SIGV4_DOUBLE_ENCODE only for service s3.
 * why (may be NULL) gets a one-line reason without any secret ("" when OK);
 * it may name the access key id, which is not a secret. */
sigv4_verdict sigv4_verify(const sigv4_request *req, const char *region,
                           const char *service, long long now, sigv4_secret_fn secret,
                           void *ctx, char *why, size_t why_len);

/* "YYYYMMDDTHHMMSSZ" for unix time t. */
void sigv4_amz_date(char out[17], long long t);

/* Appends s URI-encoded per SigV4 (unreserved A-Za-z0-9-._~ kept; '/' kept
 * when keep_slash). */
void sigv4_uri_encode(buf *out, const char *s, size_t len, int keep_slash);

#ifdef __cplusplus
}
#endif
#endif
