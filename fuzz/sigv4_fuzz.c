/* SigV4 verification as the sim runs it on every request (iot/sigv4.h):
 * the Authorization header parser, X-Amz-Date, credential scope, the
 * canonical request (path normalisation and double encoding, query
 * re-encoding, header trimming and joining) and the constant-time compare.
 *
 * Input: one raw HTTP/1.1 request (fuzz_http.h). Besides exercising the
 * verdicts, it checks one property: a request the client signs
 * (sigv4_sign, as iot/http.c does) always verifies (SIGV4_OK), so the sim
 * and the client can never disagree on a well-formed request. "why" never
 * contains the secret. */
#include <time.h>

#include "fuzz/fuzz_common.h"
#include "base/xalloc.h"
#include "fuzz/fuzz_http.h"
#include "iot/sigv4.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define NOW_FIXED 1764346500LL /* 2026-11-28T16:15:00Z, the iot-wire captures */

static const char *lookup(void *ctx, const char *akid)
{
    (void)ctx;
    return strcmp(akid, AKID) ? NULL : SECRET;
}

static const char *any_key(void *ctx, const char *akid)
{
    (void)ctx, (void)akid;
    return ""; /* the sim without --credentials */
}

/* Strict YYYYMMDDTHHMMSSZ -> unix seconds, or -1. */
static long long amz_time(const char *s)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    struct tm tm = {0};
    tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
                 (s[3] - '0') - 1900;
    tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
    tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
    tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
    tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
    tm.tm_sec = (s[13] - '0') * 10 + (s[14] - '0');
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    return (long long)timegm(&tm);
}

static void check_why(const char *why, size_t cap)
{
    if (strnlen(why, cap) == cap || strstr(why, SECRET))
        abort();
}

static void verify(const sigv4_request *rq, const char *service, long long now,
                   sigv4_secret_fn fn)
{
    char why[300];
    sigv4_verdict v =
        sigv4_verify(rq, "us-east-1", service, now, fn, NULL, why, sizeof why);
    (void)sigv4_verdict_name(v);
    check_why(why, sizeof why);
}

/* Signs the request (minus any Authorization) as the client would and
 * checks that it verifies. Only for requests the client could send: token
 * header names, one host, one well-formed x-amz-date, no control bytes. */
static void round_trip(const fz_req *r, const sigv4_request *rq)
{
    int hosts, dates, tokens;
    const char *date = fz_header(r, "x-amz-date", &dates);
    fz_header(r, "host", &hosts);
    const char *token = fz_header(r, "x-amz-security-token", &tokens);
    long long t = amz_time(date);
    if (hosts != 1 || dates != 1 || tokens > 1 || t < 0)
        return;
    sigv4_header h[FZ_MAX_HEADERS + 1];
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        for (const char *q = r->h[i].value; *q; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                return;
        if (strcasecmp(r->h[i].name, "authorization"))
            h[n++] = r->h[i];
    }
    sigv4_request s = *rq;
    s.headers = h;
    s.n_headers = n;
    sigv4_key key = {AKID, SECRET, token, "us-east-1", "iot"};
    buf authz = BUF_INIT;
    err e;
    err_clear(&e);
    if (sigv4_sign(&authz, &s, &key, date, SIGV4_DEFAULT, &e) == 0) {
        h[n].name = "Authorization";
        h[n].value = authz.data;
        s.n_headers = n + 1;
        char why[300];
        sigv4_verdict v =
            sigv4_verify(&s, "us-east-1", "iot", t, lookup, NULL, why, sizeof why);
        if (getenv("FZ_DEBUG"))
            fprintf(stderr, "fuzz: round trip %s\n", sigv4_verdict_name(v));
        if (v != SIGV4_OK) {
            fprintf(stderr, "fuzz: signed request refused: %s: %s\n",
                    sigv4_verdict_name(v), why);
            abort();
        }
    } else if (strstr(e.msg, SECRET)) {
        abort();
    }
    buf_free(&authz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_req r = {0};
    if (!fz_http_parse(&r, data, size)) {
        fz_req_free(&r);
        return 0;
    }
    const char *q = strchr(r.target, '?');
    size_t plen = q ? (size_t)(q - r.target) : strlen(r.target);
    char *path = xstrndup(r.target, plen);
    sigv4_request rq = {
        .method = r.method,
        .path = path,
        .query = q ? q + 1 : NULL,
        .headers = r.h,
        .n_headers = r.n,
        .body = r.body,
        .body_len = r.body_len,
    };

    /* As the sim: its configured key, AWS CLI service names, the request's
     * own time (so the signature is what decides) and a fixed clock. */
    long long t = amz_time(fz_header(&r, "x-amz-date", NULL));
    verify(&rq, "iot,execute-api,service", t >= 0 ? t : NOW_FIXED, lookup);
    verify(&rq, "iot,execute-api", NOW_FIXED, any_key);
    verify(&rq, NULL, NOW_FIXED, NULL);

    /* The canonical request alone, with each flag combination. */
    for (int flags = 0; flags <= SIGV4_DEFAULT; flags++) {
        buf creq = BUF_INIT, sts = BUF_INIT;
        err e;
        err_clear(&e);
        if (sigv4_canonical_request(&creq, &rq, NULL, flags, &e) == 0)
            sigv4_string_to_sign(&sts, creq.data, "20261128T161500Z", "us-east-1", "iot");
        buf_free(&creq);
        buf_free(&sts);
    }

    round_trip(&r, &rq);
    free(path);
    fz_req_free(&r);
    return 0;
}
