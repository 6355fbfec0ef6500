/* client - the AWS IoT control-plane client: typed operations over libcurl,
 * each request signed with SigV4, every answer classified for the engine.
 *
 * Design: one iot_client is one worker's connection to one endpoint: it owns
 * a CURL easy handle that it reuses for every call (HTTP/1.1 keep-alive), a
 * copy of the configuration (secrets included, wiped on free) and a curl
 * error buffer. Each operation builds its request (method, path with every
 * segment URI-encoded once, query, JSON body), signs it with sigv4_sign
 * (host, x-amz-date, x-amz-security-token, content-type when there is a body,
 * x-amzn-principal for AttachThingPrincipal; not CURLOPT_AWS_SIGV4, which
 * signs names with ':' wrongly), sends it and parses the answer into owned C
 * structs. Nothing is ever retried here: the engine owns retry policy, so
 * every call says, in an iot_result, whether and how it may be retried and
 * whether a call that got no answer may nevertheless have taken effect.
 * libcurl's own silent resend of a request on a reused connection that died
 * is refused (it would apply a request twice behind the engine's back): such
 * a call ends as IOT_RETRY_TRANSPORT with maybe_applied set.
 *
 * TLS is always verified for https (peer and host name), against the CA
 * bundle given or the system store; there is no option to turn it off.
 * Secrets never appear in results or messages: the session token and secret
 * key are masked out of any server message that echoes them (AWS's
 * InvalidSignatureException quotes the canonical request).
 *
 * Threading: an iot_client is not thread-safe; each worker thread creates
 * its own and uses it alone. Call iot_global_init() once in main() before
 * any thread starts. The cancel flag may be set from any thread: a call in
 * flight then ends as IOT_CANCELLED within about a second (libcurl's
 * progress callback period), a call not yet sent ends before sending.
 *
 * Ownership: the configuration's strings are copied by iot_client_new.
 * Request structs borrow the caller's strings for the duration of the call.
 * Result structs (iot_cert_ref, iot_thing_desc, ...) own their strings:
 * release them with their _free function, which also accepts a zeroed or
 * already freed struct. On any class but IOT_OK the result struct is left
 * zeroed. */
#ifndef TP_IOT_CLIENT_H
#define TP_IOT_CLIENT_H

#include <stddef.h>

#include "base/err.h"
#include "iot/target.h"

#ifdef __cplusplus
#include <atomic>
typedef std::atomic<int> iot_cancel_flag;
#else
#include <stdatomic.h>
typedef atomic_int iot_cancel_flag;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- setup ------------------------------------------------------------- */

#define IOT_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define IOT_DEFAULT_TIMEOUT_MS 30000L
/* Largest response body accepted (a ListCertificates page is ~25 KB). */
#define IOT_MAX_RESPONSE (8L << 20)

struct iot_trace;
/* Told of every call a client makes (--verbose): on the calling thread, once
 * per HTTP exchange, after it ended. A function shared by several clients
 * runs on several threads at once. The trace is borrowed for the call. */
typedef void (*iot_trace_fn)(void *ctx, const struct iot_trace *t);

typedef struct iot_config {
    const iot_target *target;      /* endpoint, region, credentials, CA bundle,
                                      signing name (NULL = "iot"); copied */
    long connect_timeout_ms;       /* 0 = IOT_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;               /* whole call; 0 = IOT_DEFAULT_TIMEOUT_MS */
    const iot_cancel_flag *cancel; /* nonzero = cancel; NULL = not cancellable */
    const char *user_agent;        /* NULL = "thingpress" */
    iot_trace_fn trace;            /* NULL = no trace */
    void *trace_ctx;               /* given to trace; must outlive the client */
} iot_config;

typedef struct iot_client iot_client;

/* curl_global_init; once, in main(), before threads. */
int iot_global_init(err *e);
void iot_global_cleanup(void);

/* Checks cfg (URL scheme and host, region, credentials, CA bundle readable)
 * and creates a client. No network traffic happens here. */
int iot_client_new(iot_client **out, const iot_config *cfg, err *e);
void iot_client_free(iot_client *c);

/* Replaces the credentials (rotated session credentials) and keeps the
 * connection. session_token may be NULL. */
int iot_client_set_credentials(iot_client *c, const char *access_key,
                               const char *secret_key, const char *session_token, err *e);

/* The endpoint URL without a trailing '/' (borrowed). */
const char *iot_client_endpoint(const iot_client *c);

/* The caller's attempt number (1 = first) of the next call, for the trace
 * only; it applies to that one call. The retry loop (engine/call.h) sets it. */
void iot_client_set_attempt(iot_client *c, int attempt);

/* The libcurl version this process runs with ("7.88.1"; static string). */
const char *iot_curl_version(void);

/* ---- results ----------------------------------------------------------- */

typedef enum iot_class {
    IOT_OK = 0,
    IOT_RETRY_THROTTLE,  /* 400 ThrottlingException, 429, TooManyRequestsException */
    IOT_RETRY_SERVER,    /* 500, 502, 503, 504; a 2xx whose body is unreadable */
    IOT_RETRY_TRANSPORT, /* connect failure, reset, timeout, empty reply */
    IOT_TERMINAL,        /* every other 4xx (incl. 410 LimitExceededException),
                            TLS verification failures, unusable requests */
    IOT_CANCELLED,       /* the cancel flag was set */
} iot_class;

#define IOT_CODE_MAX 96
#define IOT_MSG_MAX 384
#define IOT_ID_MAX 256

/* What one call did. Fixed-size, no allocation: copy it across threads. */
typedef struct iot_result {
    iot_class cls;
    const char *op;                /* "CreateThing" (static string), NULL before a call */
    long status;                   /* HTTP status; 0 when no response arrived */
    int curl_code;                 /* CURLcode of the transfer; 0 when it completed */
    int maybe_applied;             /* 1: the request was sent but the answer was lost or
                                      unreadable, or a 500/502/504: it may have taken effect */
    long long elapsed_us;          /* wall time of the call */
    char code[IOT_CODE_MAX];       /* AWS error code, "" when none */
    char message[IOT_MSG_MAX];     /* AWS message or transport reason, one line */
    char resource_id[IOT_ID_MAX];  /* 409: the existing resource's id, or "" */
    char resource_arn[IOT_ID_MAX]; /* 409: its ARN, or "" */
    /* The answer's Retry-After (seconds or an HTTP date), in ms; 0 = none.
     * Capped at IOT_MAX_RETRY_AFTER_MS. */
    long retry_after_ms;
    /* 1: the credentials were refused (403 ExpiredToken(Exception),
     * UnrecognizedClientException, InvalidClientTokenId,
     * InvalidSignatureException that is not about the clock): new
     * credentials may succeed where a retry cannot. cls is IOT_TERMINAL. */
    int creds_refused;
    /* The answer's x-amzn-RequestId (AWS's id of the request, for the audit
     * log and AWS support), one line; "" when no answer carried one. */
    char request_id[64];
} iot_result;

#define IOT_MAX_RETRY_AFTER_MS 300000L

/* Whether an AWS error code (with its HTTP status and message) means the
 * request's credentials were refused rather than the request itself. */
int iot_creds_refused(long status, const char *code, const char *message);

const char *iot_class_name(iot_class c); /* "ok", "throttled", ... */
int iot_class_retryable(iot_class c);    /* THROTTLE, SERVER, TRANSPORT */

/* One line: "CreateThing: HTTP 409 ResourceAlreadyExistsException: msg
 * (resourceId X)" or "DescribeThing: transport: msg"; returns buf. */
const char *iot_result_format(const iot_result *r, char *buf, size_t n);

/* One call as the trace sees it: what was asked and how it ended. Nothing
 * in it is secret (no header, body or query is shown; the request id is
 * cleaned of anything a server could echo). */
typedef struct iot_trace {
    const iot_result *res;  /* op, status, class, AWS error code, elapsed */
    const char *method;     /* "POST" */
    const char *path;       /* wire path without the query: "/things/dev-1" */
    const char *request_id; /* the answer's x-amzn-RequestId; "" = none */
    int attempt;            /* iot_client_set_attempt's; 0 = not told */
} iot_trace;

/* One line, no newline: "op=CreateThing method=POST path=/things/dev-1
 * status=200 result=ok ms=3.1 attempt=1 request_id=ID" (code=X after result
 * when AWS named an error; attempt= only when told; request_id=- when
 * none); returns buf. */
const char *iot_trace_format(const iot_trace *t, char *buf, size_t n);

/* ---- requests and results of the operations ---------------------------- */

typedef struct iot_attr {
    const char *name;
    const char *value;
} iot_attr;

typedef struct iot_page_req {
    int page_size;      /* pageSize / maxResults; 0 = the service default */
    const char *marker; /* marker / nextToken from the previous page; NULL = first */
} iot_page_req;

/* RegisterCertificateWithoutCA -> certificateId, certificateArn. */
typedef struct iot_cert_ref {
    char *certificate_id;
    char *certificate_arn;
} iot_cert_ref;
void iot_cert_ref_free(iot_cert_ref *r);

typedef struct iot_cert_desc {
    char *certificate_id;
    char *certificate_arn;
    char *status;          /* "ACTIVE", "INACTIVE", "REVOKED", ... */
    char *certificate_pem; /* only when asked for (want_pem), else NULL */
    char *owned_by;        /* account id, or NULL */
    double creation_date;  /* unix seconds, 0 when absent */
    double last_modified_date;
} iot_cert_desc;
void iot_cert_desc_free(iot_cert_desc *d);

typedef struct iot_cert_summary {
    char *certificate_id;
    char *certificate_arn;
    char *status;
    double creation_date;
} iot_cert_summary;

typedef struct iot_cert_page {
    iot_cert_summary *items;
    size_t n;
    char *next_marker; /* NULL on the last page */
} iot_cert_page;
void iot_cert_page_free(iot_cert_page *p);

typedef struct iot_create_thing_req {
    const char *thing_name;
    const char *thing_type; /* NULL = none */
    const iot_attr *attrs;  /* n_attrs of them; sent as a string map */
    size_t n_attrs;
} iot_create_thing_req;

typedef struct iot_thing_ref {
    char *thing_name;
    char *thing_arn;
    char *thing_id;
} iot_thing_ref;
void iot_thing_ref_free(iot_thing_ref *r);

typedef struct iot_kv {
    char *name;
    char *value;
} iot_kv;

typedef struct iot_thing_desc {
    char *thing_name;
    char *thing_id;
    char *thing_arn;
    char *thing_type; /* NULL when none */
    iot_kv *attrs;    /* sorted by name */
    size_t n_attrs;
    long long version;
} iot_thing_desc;
void iot_thing_desc_free(iot_thing_desc *d);

/* A name and an ARN: attached policies (policyName, policyArn), thing groups
 * (groupName, groupArn), principals (name NULL, arn = the principal). */
typedef struct iot_name_arn {
    char *name;
    char *arn;
} iot_name_arn;

typedef struct iot_name_page {
    iot_name_arn *items;
    size_t n;
    char *next; /* nextMarker / nextToken; NULL on the last page */
} iot_name_page;
void iot_name_page_free(iot_name_page *p);

typedef struct iot_policy_desc {
    char *policy_name;
    char *policy_arn;
    char *policy_document;
    char *default_version_id;
} iot_policy_desc;
void iot_policy_desc_free(iot_policy_desc *d);

/* DescribeThingGroup and DescribeThingType. */
typedef struct iot_named_desc {
    char *name;        /* thingGroupName / thingTypeName */
    char *id;          /* thingGroupId / thingTypeId */
    char *arn;         /* thingGroupArn / thingTypeArn */
    long long version; /* thing groups; 0 for types */
    int deprecated;    /* thing types: thingTypeMetadata.deprecated */
} iot_named_desc;
void iot_named_desc_free(iot_named_desc *d);

/* ---- operations -------------------------------------------------------
 * Each returns res->cls and fills *res (required). Results are filled only
 * on IOT_OK. `out` may be NULL for calls whose result the caller ignores. */

/* POST /certificate/register-no-ca; status NULL = the service default. */
iot_class iot_register_certificate(iot_client *c, const char *pem, const char *status,
                                   iot_cert_ref *out, iot_result *res);
/* PUT /certificates/{id}?newStatus=... */
iot_class iot_update_certificate(iot_client *c, const char *certificate_id,
                                 const char *new_status, iot_result *res);
/* GET /certificates/{id}; the PEM is copied only when want_pem. */
iot_class iot_describe_certificate(iot_client *c, const char *certificate_id,
                                   int want_pem, iot_cert_desc *out, iot_result *res);
/* GET /certificates?pageSize&marker&isAscendingOrder */
iot_class iot_list_certificates(iot_client *c, const iot_page_req *page, int ascending,
                                iot_cert_page *out, iot_result *res);
/* POST /things/{name} */
iot_class iot_create_thing(iot_client *c, const iot_create_thing_req *req,
                           iot_thing_ref *out, iot_result *res);
/* GET /things/{name} */
iot_class iot_describe_thing(iot_client *c, const char *thing_name, iot_thing_desc *out,
                             iot_result *res);
/* PUT /things/{name}/principals, x-amzn-principal: ARN */
iot_class iot_attach_thing_principal(iot_client *c, const char *thing_name,
                                     const char *principal_arn, iot_result *res);
/* GET /things/{name}/principals?maxResults&nextToken */
iot_class iot_list_thing_principals(iot_client *c, const char *thing_name,
                                    const iot_page_req *page, iot_name_page *out,
                                    iot_result *res);
/* PUT /target-policies/{policy} {"target"} */
iot_class iot_attach_policy(iot_client *c, const char *policy_name,
                            const char *target_arn, iot_result *res);
/* POST /attached-policies/{target}?marker&pageSize */
iot_class iot_list_attached_policies(iot_client *c, const char *target_arn,
                                     const iot_page_req *page, iot_name_page *out,
                                     iot_result *res);
/* PUT /thing-groups/addThingToThingGroup {"thingGroupName","thingName"} */
iot_class iot_add_thing_to_thing_group(iot_client *c, const char *group_name,
                                       const char *thing_name, iot_result *res);
/* GET /things/{name}/thing-groups?maxResults&nextToken */
iot_class iot_list_thing_groups_for_thing(iot_client *c, const char *thing_name,
                                          const iot_page_req *page, iot_name_page *out,
                                          iot_result *res);
/* GET /policies/{name} */
iot_class iot_get_policy(iot_client *c, const char *policy_name, iot_policy_desc *out,
                         iot_result *res);
/* GET /thing-groups/{name} */
iot_class iot_describe_thing_group(iot_client *c, const char *group_name,
                                   iot_named_desc *out, iot_result *res);
/* GET /thing-types/{name} */
iot_class iot_describe_thing_type(iot_client *c, const char *type_name,
                                  iot_named_desc *out, iot_result *res);

#ifdef __cplusplus
}
#endif
#endif
