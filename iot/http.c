/* The iot client's transport: request assembly, SigV4 headers, one libcurl
 * transfer, classification of what came back (see http.h). */
#include "iot/http.h"

#include <assert.h>
#include <errno.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/xalloc.h"
#include "iot/sigv4.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "libcurl 7.85 or newer is needed (CURLOPT_PREREQFUNCTION, CURLOPT_PROTOCOLS_STR)"
#endif

/* ---- requests -------------------------------------------------------- */

void iot_http_req_init(iot_http_req *r, iot_op op, const char *label)
{
    const iot_op_info *info = iot_op_get(op);
    assert(info);
    memset(r, 0, sizeof *r);
    r->op = info->name;
    r->method = info->method;
    const char *hole = strstr(info->path, "{}");
    assert((hole != NULL) == (label != NULL));
    if (!hole || !label) {
        buf_puts(&r->path, info->path);
        return;
    }
    buf_append(&r->path, info->path, (size_t)(hole - info->path));
    sigv4_uri_encode(&r->path, label, strlen(label), 0);
    buf_puts(&r->path, hole + 2);
}

void iot_http_req_free(iot_http_req *r)
{
    if (!r)
        return;
    buf_free(&r->path);
    buf_free(&r->query);
    buf_free(&r->body);
    memset(r, 0, sizeof *r);
}

void iot_http_param(iot_http_req *r, const char *name, const char *value)
{
    if (r->query.len)
        buf_putc(&r->query, '&');
    buf_puts(&r->query, name);
    buf_putc(&r->query, '=');
    sigv4_uri_encode(&r->query, value, strlen(value), 0);
}

/* ---- signing --------------------------------------------------------- */

enum { MAX_HEADERS = 6 };

typedef struct {
    sigv4_header h[MAX_HEADERS];   /* lowercase names, for signing */
    const char *wire[MAX_HEADERS]; /* the same names as sent */
    size_t n;
} header_set;

static void add_header(header_set *hs, const char *sign_name, const char *wire_name,
                       const char *value)
{
    hs->h[hs->n].name = sign_name;
    hs->h[hs->n].value = value;
    hs->wire[hs->n] = wire_name;
    hs->n++;
}

/* The headers that are signed, in the order they are sent. */
static void signed_headers(header_set *hs, const iot_client *c, const iot_http_req *r,
                           const char *amz_date)
{
    hs->n = 0;
    add_header(hs, "host", "Host", c->host);
    add_header(hs, "x-amz-date", "X-Amz-Date", amz_date);
    if (c->target.session_token)
        add_header(hs, "x-amz-security-token", "X-Amz-Security-Token",
                   c->target.session_token);
    if (r->body.len)
        add_header(hs, "content-type", "Content-Type", "application/json");
    if (r->principal)
        add_header(hs, "x-amzn-principal", "x-amzn-principal", r->principal);
}

int iot_http_headers(const iot_client *c, const iot_http_req *r, const char *amz_date,
                     buf *out, err *e)
{
    header_set hs;
    buf path = BUF_INIT, authz = BUF_INIT;
    int rc = -1;

    signed_headers(&hs, c, r, amz_date);
    buf_puts(&path, c->base_path);
    buf_append(&path, r->path.data ? r->path.data : "", r->path.len);
    sigv4_request sr = {
        .method = r->method,
        .path = path.data ? path.data : "",
        .query = r->query.len ? r->query.data : NULL,
        .headers = hs.h,
        .n_headers = hs.n,
        .body = (const unsigned char *)r->body.data,
        .body_len = r->body.len,
    };
    sigv4_key key = {
        .access_key = c->target.access_key,
        .secret_key = c->target.secret_key,
        .session_token = c->target.session_token,
        .region = c->target.region,
        .service = c->target.signing_name,
    };
    if (sigv4_sign(&authz, &sr, &key, amz_date, SIGV4_DEFAULT, e) < 0)
        goto out;
    for (size_t i = 0; i < hs.n; i++)
        buf_printf(out, "%s: %s\n", hs.wire[i], hs.h[i].value);
    buf_printf(out, "Authorization: %s", authz.data ? authz.data : "");
    rc = 0;
out:
    buf_free(&path);
    buf_free(&authz);
    return rc;
}

/* ---- classification -------------------------------------------------- */

static void copy_field(char *dst, size_t n, const char *s, size_t len)
{
    if (len >= n)
        len = n - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Keeps the first line of s (AWS's InvalidSignatureException continues with
 * the canonical request) and makes the rest printable. */
static void copy_message(char *dst, size_t n, const char *s)
{
    size_t len = strcspn(s, "\r\n");
    if (len == 0)
        len = strlen(s);
    while (len && s[len - 1] == ' ')
        len--;
    copy_field(dst, n, s, len);
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

static const char *json_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int is_throttle_code(const char *code)
{
    return !strcmp(code, "ThrottlingException") ||
           !strcmp(code, "TooManyRequestsException") || !strcmp(code, "Throttling");
}

int iot_creds_refused(long status, const char *code, const char *message)
{
    if (status != 403 && status != 400 && status != 401)
        return 0;
    static const char *const refused[] = {
        "ExpiredTokenException",       "ExpiredToken",
        "UnrecognizedClientException", "InvalidClientTokenId",
        "InvalidSignatureException",   "SignatureDoesNotMatch",
        "IncompleteSignature",         "MissingAuthenticationToken",
    };
    int hit = 0;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        hit |= !strcmp(code, refused[i]);
    /* a signature refused for the clock is the skew correction's, not the
     * credentials' */
    if (hit && message &&
        (strstr(message, "Signature expired") || strstr(message, "not yet current")))
        return 0;
    return hit;
}

void iot_http_classify(iot_result *res, long status, const char *errtype,
                       const char *body, size_t body_len)
{
    json_t *j = NULL;

    res->status = status;
    res->curl_code = 0;
    res->maybe_applied = 0;
    res->code[0] = res->message[0] = res->resource_id[0] = res->resource_arn[0] = '\0';
    if (status >= 200 && status < 300) {
        res->cls = IOT_OK;
        return;
    }
    if (errtype && *errtype) {
        size_t len = strcspn(errtype, ":");
        while (len && errtype[len - 1] == ' ')
            len--;
        copy_field(res->code, sizeof res->code, errtype, len);
        /* a header value may hold control bytes (terminal escapes): the
         * code is shown as is, so keep it printable */
        for (char *p = res->code; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
    }
    if (body && body_len)
        j = json_loadb(body, body_len, 0, NULL);
    if (json_is_object(j)) {
        const char *s;
        if (!res->code[0] && (s = json_str(j, "__type"))) {
            const char *hash = strrchr(s, '#');
            copy_message(res->code, sizeof res->code, hash ? hash + 1 : s);
        }
        if (!res->code[0] && (s = json_str(j, "code")))
            copy_message(res->code, sizeof res->code, s);
        if ((s = json_str(j, "message")) || (s = json_str(j, "Message")))
            copy_message(res->message, sizeof res->message, s);
        if ((s = json_str(j, "resourceId")))
            copy_message(res->resource_id, sizeof res->resource_id, s);
        if ((s = json_str(j, "resourceArn")))
            copy_message(res->resource_arn, sizeof res->resource_arn, s);
    } else if (body && body_len) {
        /* A proxy's HTML page or plain text: show the start of it. */
        char snippet[120];
        copy_field(snippet, sizeof snippet, body, body_len);
        copy_message(res->message, sizeof res->message, snippet);
    }
    json_decref(j);

    if (is_throttle_code(res->code) || status == 429)
        res->cls = IOT_RETRY_THROTTLE;
    else if (status == 500 || status == 502 || status == 503 || status == 504)
        res->cls = IOT_RETRY_SERVER;
    else
        res->cls = IOT_TERMINAL;
    /* 500/502/504 can come after the service (or the backend behind a
     * gateway) acted; 503 and throttling are refusals before any work. */
    res->maybe_applied = status == 500 || status == 502 || status == 504;
    res->creds_refused =
        res->cls == IOT_TERMINAL && iot_creds_refused(status, res->code, res->message);
    if (!res->message[0]) {
        if (res->cls == IOT_TERMINAL && status >= 300 && status < 400)
            snprintf(res->message, sizeof res->message,
                     "unexpected redirect; check the endpoint URL");
        else
            snprintf(res->message, sizeof res->message, "HTTP %ld without a message",
                     status);
    }
}

void iot_http_classify_transport(iot_result *res, int curl_code, int sent,
                                 int abort_reason, const char *curl_text,
                                 const char *endpoint)
{
    CURLcode rc = (CURLcode)curl_code;
    const char *why = curl_text && *curl_text ? curl_text : curl_easy_strerror(rc);
    iot_class cls = IOT_RETRY_TRANSPORT;
    const char *what;
    const char *todo = "";

    res->status = 0;
    res->curl_code = curl_code;
    res->maybe_applied = sent;
    res->code[0] = res->resource_id[0] = res->resource_arn[0] = '\0';
    switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
        if (abort_reason == IOT_ABORT_CANCEL) {
            cls = IOT_CANCELLED;
            what = "cancelled";
            why = sent ? "the request may have taken effect" : "nothing was sent";
        } else {
            /* libcurl wanted to resend on a new connection: the first copy
             * may have been applied. */
            res->maybe_applied = 1;
            what = "connection dropped after the request was sent";
            why = "it may have taken effect";
        }
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        what = "cannot resolve the host";
        todo = "; check the endpoint URL and DNS";
        res->maybe_applied = 0;
        break;
    case CURLE_COULDNT_CONNECT:
        what = "cannot connect";
        todo = "; check the endpoint URL and that the service is reachable";
        res->maybe_applied = 0;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        what = sent ? "no answer in time" : "connection timed out";
        todo = sent ? "; the request may have taken effect" : "";
        break;
    case CURLE_GOT_NOTHING:
        what = "the server closed the connection without answering";
        todo = sent ? "; the request may have taken effect" : "";
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        what = "connection lost";
        todo = sent ? "; the request may have taken effect" : "";
        break;
    case CURLE_SSL_CONNECT_ERROR:
        what = "TLS handshake failed";
        todo = "; check that the endpoint speaks https";
        res->maybe_applied = 0;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        cls = IOT_TERMINAL;
        what = "the server's TLS certificate is not trusted";
        todo = "; set AWS_CA_BUNDLE to a CA bundle that contains its issuer";
        res->maybe_applied = 0;
        break;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
        cls = IOT_TERMINAL;
        what = "TLS setup failed";
        todo = "; check AWS_CA_BUNDLE";
        res->maybe_applied = 0;
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        cls = IOT_TERMINAL;
        what = "unusable URL";
        todo = "; check the endpoint URL";
        res->maybe_applied = 0;
        break;
    case CURLE_WRITE_ERROR:
        cls = IOT_TERMINAL;
        what = "response too large";
        why = "over 8 MiB";
        break;
    default:
        what = "transfer failed";
        break;
    }
    res->cls = cls;
    snprintf(res->message, sizeof res->message, "%s: %s (%s)%s", endpoint ? endpoint : "",
             what, why, todo);
}

void iot_http_mask(char *s, const char *secret)
{
    size_t n;
    char *p;

    if (!s || !secret || (n = strlen(secret)) < 4)
        return;
    while ((p = strstr(s, secret))) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
    }
}

/* ---- transport ------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    iot_client *c = ud;
    size_t n = size * nmemb;
    if (c->resp.len + n > (size_t)IOT_MAX_RESPONSE) {
        c->too_big = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    buf_append(&c->resp, data, n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    iot_client *c = ud;
    size_t n = size * nmemb;
    static const char name[] = "x-amzn-errortype:";
    const size_t nl = sizeof name - 1;

    if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
        c->errtype[0] = '\0'; /* a new response (after 100 Continue, say) */
        c->server_date = 0;
        c->retry_after_ms = 0;
        c->request_id[0] = '\0';
    } else if (n > 17 && !strncasecmp(data, "x-amzn-requestid:", 17)) {
        const char *v = data + 17;
        size_t len = n - 17;
        while (len && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        copy_field(c->request_id, sizeof c->request_id, v, len);
        for (char *p = c->request_id; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
    } else if (n > 12 && !strncasecmp(data, "retry-after:", 12)) {
        char v[128];
        size_t len = n - 12;
        copy_field(v, sizeof v, data + 12, len < sizeof v - 1 ? len : sizeof v - 1);
        v[strcspn(v, "\r\n")] = '\0';
        c->retry_after_ms = iot_http_retry_after_ms(v, (long long)time(NULL));
    } else if (n > 5 && !strncasecmp(data, "date:", 5)) {
        char v[128];
        size_t len = n - 5;
        copy_field(v, sizeof v, data + 5, len < sizeof v - 1 ? len : sizeof v - 1);
        v[strcspn(v, "\r\n")] = '\0';
        time_t t = curl_getdate(v, NULL);
        c->server_date = t > 0 ? (long long)t : 0;
    } else if (n > nl && !strncasecmp(data, name, nl)) {
        const char *v = data + nl;
        size_t len = n - nl;
        while (len && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        copy_field(c->errtype, sizeof c->errtype, v, len);
    }
    return n;
}

static int cancelled(const iot_client *c)
{
    return c->cancel && atomic_load(c->cancel) != 0;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    iot_client *c = ud;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (cancelled(c)) {
        c->abort_reason = IOT_ABORT_CANCEL;
        return 1;
    }
    return 0;
}

/* Called right before each request goes out on a connection, including
 * libcurl's own resend after a reused connection died without an answer:
 * that second send is refused (the first may have been applied). */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port)
{
    iot_client *c = ud;
    (void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port,
        (void)conn_local_port;
    if (cancelled(c)) {
        c->abort_reason = IOT_ABORT_CANCEL;
        return CURL_PREREQFUNC_ABORT;
    }
    if (++c->sends > 1) {
        c->abort_reason = IOT_ABORT_RESEND;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct curl_slist *append_line(struct curl_slist *l, const char *line)
{
    struct curl_slist *n = curl_slist_append(l, line);
    if (!n)
        base_fatal("curl_slist_append");
    return n;
}

/* The answer's x-amzn-RequestId for the trace: secrets masked out of the
 * whole value first (a server may echo anything), then at most n - 1
 * characters of [A-Za-z0-9-_.:/+=], others as '?'; "" when there is none. */
static void trace_request_id(iot_client *c, char *out, size_t n)
{
    struct curl_header *hd = NULL;
    out[0] = '\0';
    if (curl_easy_header(c->curl, "x-amzn-RequestId", 0, CURLH_HEADER, -1, &hd) !=
            CURLHE_OK ||
        !hd || !hd->value)
        return;
    char *v = xstrdup(hd->value);
    iot_http_mask(v, c->target.secret_key);
    iot_http_mask(v, c->target.session_token);
    size_t k = 0;
    for (const char *p = v; *p && k + 1 < n; p++) {
        unsigned char ch = (unsigned char)*p;
        int keep = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z') || (ch && strchr("-_.:/+=", ch));
        out[k++] = keep ? (char)ch : '?';
    }
    out[k] = '\0';
    free(v);
}

/* Tells the client's trace function of one exchange (answered: a transfer
 * ran in this call, so its headers are this call's). */
static void trace_call(iot_client *c, const iot_http_req *r, const iot_result *res,
                       int answered)
{
    char rid[64] = "";
    if (answered)
        trace_request_id(c, rid, sizeof rid);
    iot_result shown = *res; /* the skew retry traces a result not masked yet */
    iot_http_mask(shown.code, c->target.secret_key);
    iot_http_mask(shown.code, c->target.session_token);
    iot_trace t = {.res = &shown,
                   .method = r->method,
                   .path = r->path.data ? r->path.data : "/",
                   .request_id = rid,
                   .attempt = c->attempt};
    c->trace(c->trace_ctx, &t);
}

/* Options that are the same for every call are set in client.c; these are
 * the per-call ones. */
static void set_request(CURL *h, iot_client *c, const iot_http_req *r, const char *url,
                        struct curl_slist *headers)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (!strcmp(r->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        /* POSTFIELDS does not copy: r->body lives until the call returns. */
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)r->body.len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body.data ? r->body.data : "");
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                         strcmp(r->method, "POST") ? r->method : NULL);
    }
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, c);
}

/* Whether res says the signing time is too far from the server's clock: AWS
 * answers 403 InvalidSignatureException "Signature expired: ..." (or "... not
 * yet current"), SignatureDoesNotMatch about the time, or RequestTimeTooSkewed. */
static int skew_answer(const iot_result *res)
{
    if (res->status != 403 && res->status != 400)
        return 0;
    if (!strcmp(res->code, "RequestTimeTooSkewed"))
        return 1;
    if (strcmp(res->code, "InvalidSignatureException") &&
        strcmp(res->code, "SignatureDoesNotMatch"))
        return 0;
    return strstr(res->message, "Signature expired") != NULL ||
           strstr(res->message, "Signature not yet current") != NULL;
}

long iot_http_retry_after_ms(const char *v, long long now)
{
    while (*v == ' ' || *v == '\t')
        v++;
    long long ms;
    if (*v >= '0' && *v <= '9') {
        char *end;
        errno = 0;
        unsigned long long secs = strtoull(v, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end || errno)
            return 0;
        ms = secs > IOT_MAX_RETRY_AFTER_MS / 1000 ? IOT_MAX_RETRY_AFTER_MS
                                                  : (long long)secs * 1000;
    } else {
        time_t t = curl_getdate(v, NULL);
        if (t <= 0)
            return 0;
        ms = ((long long)t - now) * 1000;
        if (ms <= 0)
            return 0;
    }
    return ms > IOT_MAX_RETRY_AFTER_MS ? IOT_MAX_RETRY_AFTER_MS : (long)ms;
}

/* host is the Host header value: "name", "name:port", "[v6]:port". */
static int is_loopback(const char *host)
{
    size_t n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    return (n == 9 && !strncasecmp(host, "localhost", 9)) || !strncmp(host, "127.", 4) ||
           (n == 5 && !strncmp(host, "[::1]", 5));
}

void iot_http_init_handle(iot_client *c)
{
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->target.ca_bundle)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->target.ca_bundle);
    /* The proxy environment variables apply, except to a loopback endpoint
     * (the local sim), which a proxy could not reach. */
    if (is_loopback(c->host))
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
}

iot_class iot_http_call(iot_client *c, const iot_http_req *r, buf *body, iot_result *res)
{
    CURL *h = c->curl;
    buf lines = BUF_INIT, url = BUF_INIT;
    struct curl_slist *headers = NULL;
    char amz_date[17];
    err e;
    long long t0 = now_us();
    int performed = 0; /* a transfer ran: its answer's headers are this call's */

    memset(res, 0, sizeof *res);
    res->op = r->op;
    buf_reset(body);
    if (cancelled(c)) {
        iot_http_classify_transport(res, CURLE_ABORTED_BY_CALLBACK, 0, IOT_ABORT_CANCEL,
                                    NULL, c->base_url);
        goto out;
    }

    int skew_retried = 0;
again:
    err_clear(&e);
    sigv4_amz_date(amz_date, (long long)time(NULL) + c->clock_offset);
    if (iot_http_headers(c, r, amz_date, &lines, &e) < 0) {
        res->cls = IOT_TERMINAL;
        snprintf(res->message, sizeof res->message, "cannot sign the request: %s", e.msg);
        goto out;
    }
    for (char *line = lines.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        headers = append_line(headers, line);
        if (!nl)
            break;
    }
    if (strcmp(r->method, "GET") && !r->body.len)
        headers = append_line(headers, "Content-Type:"); /* not curl's form type */
    headers = append_line(headers, "Expect:");

    buf_puts(&url, c->base_url);
    buf_append(&url, r->path.data ? r->path.data : "", r->path.len);
    if (r->query.len) {
        buf_putc(&url, '?');
        buf_append(&url, r->query.data, r->query.len);
    }

    buf_reset(&c->resp);
    c->server_date = 0;
    c->retry_after_ms = 0;
    c->errbuf[0] = c->errtype[0] = c->request_id[0] = '\0';
    c->sends = c->abort_reason = c->too_big = 0;
    set_request(h, c, r, url.data, headers);
    CURLcode rc = curl_easy_perform(h);
    performed = 1;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);

    if (rc != CURLE_OK) {
        iot_http_classify_transport(res, rc, c->sends > 0, c->abort_reason, c->errbuf,
                                    c->base_url);
    } else {
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        iot_http_classify(res, status, c->errtype, c->resp.data, c->resp.len);
        if (res->cls != IOT_OK)
            res->retry_after_ms = c->retry_after_ms;
        /* Clock skew: sign with the server's time from now on, and retry once. */
        if (skew_answer(res) && c->server_date && !skew_retried) {
            long long offset = c->server_date - (long long)time(NULL);
            if (llabs(offset - c->clock_offset) > 60) {
                c->clock_offset = offset;
                skew_retried = 1;
                if (c->trace) { /* the refused exchange was a call too */
                    res->elapsed_us = now_us() - t0;
                    trace_call(c, r, res, 1);
                }
                for (struct curl_slist *l = headers; l; l = l->next)
                    memset(l->data, 0, strlen(l->data));
                curl_slist_free_all(headers);
                headers = NULL;
                if (lines.data)
                    memset(lines.data, 0, lines.len);
                buf_reset(&lines);
                buf_reset(&url);
                memset(res, 0, sizeof *res);
                res->op = r->op;
                goto again;
            }
        }
        if (res->cls == IOT_OK)
            buf_append(body, c->resp.data ? c->resp.data : "", c->resp.len);
    }
    /* an answer cut off after its headers still names its request */
    snprintf(res->request_id, sizeof res->request_id, "%s", c->request_id);
    /* Whatever a server echoes (in the body or in x-amzn-ErrorType), secrets
     * stay out of results. */
    char *fields[] = {res->message, res->code, res->resource_id, res->resource_arn,
                      res->request_id};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        iot_http_mask(fields[i], c->target.secret_key);
        iot_http_mask(fields[i], c->target.session_token);
    }

out:
    res->elapsed_us = now_us() - t0;
    if (c->trace)
        trace_call(c, r, res, performed);
    c->attempt = 0; /* told for this call only */
    for (struct curl_slist *l = headers; l; l = l->next)
        memset(l->data, 0, strlen(l->data)); /* the session token was in one */
    curl_slist_free_all(headers);
    if (lines.data)
        memset(lines.data, 0, lines.len); /* held the session token */
    buf_free(&lines);
    buf_free(&url);
    return res->cls;
}
