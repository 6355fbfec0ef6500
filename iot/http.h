/* http - the iot client's transport (internal to iot/ and its tests): a
 * request as the operations build it, its signed headers, one libcurl
 * transfer on the client's reused handle, and the classification of the
 * outcome into an iot_result.
 *
 * Design: an iot_http_req holds the wire form of a call: the path with each
 * segment URI-encoded once ("/things/plant%3A7"), the query already encoded,
 * the JSON body, and the one operation-specific header AWS IoT uses
 * (x-amzn-principal). iot_http_headers() turns it into the exact header lines
 * sent, Authorization included, for a given x-amz-date, so tests can compare
 * them with the AWS CLI's captures without a network. iot_http_call() sends
 * it; iot_http_classify() maps (status, x-amzn-ErrorType, body) to a class,
 * code and message, and iot_http_classify_transport() maps a curl failure.
 *
 * Threading: as the client: one thread per iot_client; classification
 * functions are pure (any thread). */
#ifndef TP_IOT_HTTP_H
#define TP_IOT_HTTP_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "iot/client.h"
#include "iot/op.h"
#include "iot/target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a transfer was aborted from one of our callbacks. */
enum { IOT_ABORT_NONE = 0, IOT_ABORT_CANCEL, IOT_ABORT_RESEND };

/* The client (iot_client is opaque outside iot/). */
struct iot_client {
    void *curl;      /* CURL *, reused for every call */
    char *base_url;  /* "https://host[:port][/base]", no trailing '/' */
    char *base_path; /* "" or "/base" (prefix of every wire path) */
    char *host;      /* Host header value: host[:port] as curl sends it */
    char *user_agent;
    /* Region, credentials (wiped on free; the token may be NULL), CA bundle
     * (NULL = the system store) and signing name (never NULL): a copy of the
     * configuration's target, released with iot_target_free. */
    iot_target target;
    long connect_timeout_ms, timeout_ms;
    const iot_cancel_flag *cancel;
    iot_trace_fn trace; /* iot_config.trace, NULL = none */
    void *trace_ctx;
    int attempt;      /* iot_client_set_attempt, for the next call's trace */
    char errbuf[256]; /* CURLOPT_ERRORBUFFER (CURL_ERROR_SIZE) */
    /* State of the call in progress. */
    buf resp;              /* response body */
    char errtype[128];     /* x-amzn-ErrorType header value */
    int sends;             /* requests started on a connection (prereq callback) */
    int abort_reason;      /* IOT_ABORT_* */
    int too_big;           /* the response exceeded IOT_MAX_RESPONSE */
    long long server_date; /* the response's Date header (Unix s); 0 = none */
    long retry_after_ms;   /* the response's Retry-After, in ms; 0 = none */
    char request_id[64];   /* the response's x-amzn-RequestId; "" = none */
    /* Seconds added to the local clock when signing: corrected from the
     * server's Date after a signature-expired answer (clock skew). */
    long long clock_offset;
};

typedef struct iot_http_req {
    const char *op;        /* the operation's name (iot_op_name; static string) */
    const char *method;    /* its HTTP method, from the same table (static string) */
    buf path;              /* wire path, without the client's base path */
    buf query;             /* "a=b&c=d", values URI-encoded; empty = none */
    const char *principal; /* x-amzn-principal value (borrowed), or NULL */
    buf body;              /* JSON; empty = no body (no content-type) */
} iot_http_req;

/* Starts a request of op: its name, method and wire path from the operation
 * table (iot/ops.def). label fills the path template's "{}" segment,
 * URI-encoded once ('/' and ':' encoded too); it is NULL exactly when the
 * template has no "{}". */
void iot_http_req_init(iot_http_req *r, iot_op op, const char *label);
void iot_http_req_free(iot_http_req *r);
/* Appends name=value (value URI-encoded) to the query. */
void iot_http_param(iot_http_req *r, const char *name, const char *value);

/* The header lines sent for r at amz_date ("YYYYMMDDTHHMMSSZ"), one
 * "Name: value" per line, '\n'-separated, Authorization last. */
int iot_http_headers(const iot_client *c, const iot_http_req *r, const char *amz_date,
                     buf *out, err *e);

/* Sets the options every call shares on c->curl (client.c, once). */
void iot_http_init_handle(iot_client *c);

/* Sends r. Returns res->cls; on IOT_OK, *body holds the response body (reset
 * first). Secrets are masked out of res. */
iot_class iot_http_call(iot_client *c, const iot_http_req *r, buf *body, iot_result *res);

/* Fills res from an HTTP answer: class, status, code (x-amzn-ErrorType up to
 * the first ':', else the body's __type after '#', else its code), message
 * (body message / Message, first line), resourceId/resourceArn. errtype may
 * be NULL or "". Does not touch res->op or res->elapsed_us. */
/* A Retry-After value (delay-seconds, or an HTTP date compared with now,
 * Unix s) in ms, capped at IOT_MAX_RETRY_AFTER_MS; 0 when absent, past or
 * unreadable. */
long iot_http_retry_after_ms(const char *value, long long now);

void iot_http_classify(iot_result *res, long status, const char *errtype,
                       const char *body, size_t body_len);

/* Fills res from a failed transfer: curl_code (a CURLcode), whether the
 * request had started to be sent, why it was aborted (IOT_ABORT_*), curl's
 * error text (may be "") and the endpoint, for the message. */
void iot_http_classify_transport(iot_result *res, int curl_code, int sent,
                                 int abort_reason, const char *curl_text,
                                 const char *endpoint);

/* Replaces every occurrence of secret in s with "***" (secrets shorter than
 * 4 characters are left alone: they would mask ordinary text). */
void iot_http_mask(char *s, const char *secret);

#ifdef __cplusplus
}
#endif
#endif
