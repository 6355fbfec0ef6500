/* The local endpoint's HTTP side (see sim.h): libmicrohttpd, SigV4, quotas,
 * faults, the request log, and the hand-off to the registry (reg.h).
 *
 * Request lifetime: MHD calls uri_logged() once per request with the raw
 * request target (path and query exactly as on the wire, which SigV4 needs;
 * MHD's own `url` is already unescaped), where the per-request state is
 * allocated; handle() then accumulates the body and, on its last call,
 * answers; completed() frees the state. */
#include "sim/sim.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "iot/sigv4.h"
#include "sim/fault.h"
#include "sim/quota.h"
#include "sim/reg.h"
#include "sim/route.h"
#include "sim/seed.h"

#define MAX_BODY (1024 * 1024) /* well above a 65,536-char PEM in JSON */
#define MAX_HEADERS 64
#define SIGNING_SERVICES "iot,execute-api" /* CLI v1 signs "iot", v2.9 "execute-api" */
#define ERRTYPE_SUFFIX ":http://internal.amazon.com/coral/com.amazonaws.iot/"

struct sim {
    struct MHD_Daemon *d;
    reg *r;
    quota *q;
    fault *f;
    int log_fd;
    int port;
    char *akid, *secret; /* NULL: any key */
    char region[64];
    atomic_ullong fault_seq;
    atomic_ullong served, rejected, faulted;
    struct timespec started; /* outage:S+L counts from here (monotonic) */
    /* expire:N: first use of each credential (fault.h) */
    pthread_mutex_t cred_mu;
    struct cred_seen {
        char *key;
        time_t first;
    } * creds_seen;
    size_t n_creds_seen, cap_creds_seen;
};

/* One request. */
typedef struct {
    char *target; /* raw request target "/path?query" */
    buf body;
    int started;
    int too_large;
    struct timespec t0;
    char rid[37]; /* its x-amzn-RequestId, in the answer and the request log */
} request;

/* ---- options ---- */

static int parse_listen(const char *spec, int *port, err *e)
{
    const char *p = spec ? spec : "127.0.0.1:0";
    static const char host[] = "127.0.0.1:";
    if (!strncmp(p, "localhost:", 10))
        p += 10;
    else if (!strncmp(p, host, sizeof host - 1))
        p += sizeof host - 1;
    else if (strchr(p, ':')) {
        err_set(
            e, ERR_USAGE, "--listen", 0, -1,
            "the local endpoint listens on 127.0.0.1 only: use --listen 127.0.0.1:PORT");
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long v = *p ? strtol(p, &end, 10) : -1;
    if (errno || !end || *end || v < 0 || v > 65535) {
        err_set(e, ERR_USAGE, "--listen", 0, -1,
                "bad port in '%.64s': use 127.0.0.1:PORT with PORT 0 to 65535 (0 = any "
                "free port)",
                spec);
        return -1;
    }
    *port = (int)v;
    return 0;
}

static int check_account(const char *a, err *e)
{
    size_t n = 0;
    for (; a[n]; n++)
        if (a[n] < '0' || a[n] > '9')
            break;
    if (n != 12 || a[n]) {
        err_set(e, ERR_USAGE, "--account", 0, -1,
                "the account id must be 12 digits, e.g. 123456789012");
        return -1;
    }
    return 0;
}

static int check_region(const char *r, err *e)
{
    size_t n = strlen(r);
    int ok = n >= 1 && n < 40;
    for (size_t i = 0; ok && i < n; i++)
        ok = (r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-';
    if (!ok)
        err_set(e, ERR_USAGE, "--region", 0, -1,
                "bad region '%.40s': use an AWS region name such as us-east-1", r);
    return ok ? 0 : -1;
}

int sim_parse_credentials(char **akid, char **secret, const char *spec, err *e)
{
    *akid = *secret = NULL;
    char *text = NULL;
    const char *s = spec ? spec : "";
    if (s[0] == '@') {
        FILE *fp = fopen(s + 1, "r");
        if (!fp) {
            err_set(e, ERR_IO, s + 1, 0, -1, "cannot read the credentials file: %s",
                    strerror(errno));
            return -1;
        }
        char line[1024];
        if (!fgets(line, sizeof line, fp))
            line[0] = '\0';
        fclose(fp);
        line[strcspn(line, "\r\n")] = '\0';
        text = xstrdup(line);
        s = text;
    }
    const char *colon = strchr(s, ':');
    int ok = colon && colon > s && colon[1];
    for (const char *p = s; ok && p < colon; p++)
        ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
             (*p >= '0' && *p <= '9');
    if (!ok) {
        err_set(e, ERR_USAGE, "--credentials", 0, -1,
                "expected ACCESS_KEY_ID:SECRET_ACCESS_KEY (or @FILE holding that), e.g. "
                "AKIDEXAMPLE:wJalr...");
        free(text);
        return -1;
    }
    *akid = xstrndup(s, (size_t)(colon - s));
    *secret = xstrdup(colon + 1);
    if (text) {
        memset(text, 0, strlen(text));
        free(text);
    }
    return 0;
}

/* ---- request log ---- */

static void log_request(sim *s, const request *rq, const char *method, route_op op,
                        int status, const char *error, fault_kind fk, const char *sig)
{
    if (s->log_fd < 0)
        return;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long us = (long long)(t1.tv_sec - rq->t0.tv_sec) * 1000000 +
                   (t1.tv_nsec - rq->t0.tv_nsec) / 1000;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 1000000);
    buf line = BUF_INIT;
    buf_printf(&line, "{\"time\":\"%s\",\"op\":", ts);
    buf_json_str(&line, op == ROUTE_NONE ? "Unknown" : route_name(op));
    buf_puts(&line, ",\"method\":");
    buf_json_str(&line, method);
    buf_puts(&line, ",\"path\":");
    const char *t = rq->target ? rq->target : "";
    size_t plen = strcspn(t, "?");
    char *path = xstrndup(t, plen);
    buf_json_str(&line, path);
    free(path);
    buf_printf(&line, ",\"status\":%d,\"error\":", status);
    if (error)
        buf_json_str(&line, error);
    else
        buf_puts(&line, "null");
    buf_printf(&line, ",\"fault\":\"%s\",\"sig\":\"%s\",\"latency_us\":%lld",
               fault_kind_name(fk), sig, us);
    /* the id the answer carries; none when the connection is dropped instead */
    if (fk == FAULT_RESET || fk == FAULT_LATE)
        buf_puts(&line, ",\"request_id\":null}\n");
    else
        buf_printf(&line, ",\"request_id\":\"%s\"}\n", rq->rid);
    /* one write per line: O_APPEND keeps concurrent lines whole */
    ssize_t w = write(s->log_fd, line.data, line.len);
    (void)w;
    buf_free(&line);
}

/* ---- signature ---- */

typedef struct {
    sigv4_header h[MAX_HEADERS];
    size_t n;
    int overflow;
} header_list;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    header_list *hl = cls;
    if (hl->n == MAX_HEADERS) {
        hl->overflow = 1;
        return MHD_NO;
    }
    hl->h[hl->n].name = key;
    hl->h[hl->n].value = value ? value : "";
    hl->n++;
    return MHD_YES;
}

static const char *lookup_secret(void *ctx, const char *akid)
{
    sim *s = ctx;
    if (!s->akid)
        return ""; /* any key: a placeholder that lets the scope and date be checked */
    return strcmp(akid, s->akid) ? NULL : s->secret;
}

/* Verifies the request's signature. Returns the verdict name for the log;
 * on rejection fills rp with the AWS error. */
static const char *check_signature(sim *s, struct MHD_Connection *conn,
                                   const char *method, const request *rq, reg_reply *rp)
{
    header_list hl = {.n = 0, .overflow = 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hl);
    if (hl.overflow) {
        reg_reply_error(rp, 400, "InvalidRequestException",
                        "more than %d request headers", MAX_HEADERS);
        return "missing";
    }
    const char *q = strchr(rq->target, '?');
    size_t plen = q ? (size_t)(q - rq->target) : strlen(rq->target);
    char *path = xstrndup(rq->target, plen);
    sigv4_request req = {
        .method = method,
        .path = path,
        .query = q ? q + 1 : NULL,
        .headers = hl.h,
        .n_headers = hl.n,
        .body = (const unsigned char *)rq->body.data,
        .body_len = rq->body.len,
    };
    char why[300];
    sigv4_verdict v =
        sigv4_verify(&req, s->region, SIGNING_SERVICES, (long long)time(NULL),
                     lookup_secret, s, why, sizeof why);
    free(path);
    if (!s->akid && v == SIGV4_BAD_SIGNATURE)
        return "unverified"; /* well-formed, fresh, right scope: all we can check */
    switch (v) {
    case SIGV4_OK:
        return "ok";
    case SIGV4_MISSING:
        if (!MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"))
            reg_reply_error(rp, 403, "MissingAuthenticationTokenException",
                            "Missing Authentication Token: sign the request with AWS "
                            "Signature Version 4");
        else
            reg_reply_error(rp, 403, "IncompleteSignatureException",
                            "The request signature does not conform to AWS standards: %s",
                            why);
        break;
    case SIGV4_UNKNOWN_KEY:
        reg_reply_error(rp, 403, "UnrecognizedClientException",
                        "The security token included in the request is invalid. (%s: use "
                        "the access key the endpoint was started with)",
                        why);
        break;
    case SIGV4_STALE:
        reg_reply_error(rp, 403, "InvalidSignatureException", "Signature expired: %s",
                        why);
        break;
    case SIGV4_BAD_SCOPE:
        reg_reply_error(rp, 403, "InvalidSignatureException",
                        "Credential should be scoped correctly: %s", why);
        break;
    case SIGV4_BAD_SIGNATURE:
    default:
        reg_reply_error(
            rp, 403, "InvalidSignatureException",
            "The request signature we calculated does not match the signature "
            "you provided. Check your AWS Secret Access Key and signing method. "
            "(%s)",
            why);
        break;
    }
    return sigv4_verdict_name(v);
}

/* expire:N (fault.h): whether the request's credential was first seen more
 * than N seconds ago. The credential is the session token, or the access key
 * (from the Authorization header) without one. */
static int credential_expired(sim *s, struct MHD_Connection *conn)
{
    unsigned long long n = fault_expire_seconds(s->f);
    if (!n)
        return 0;
    char akid[129];
    const char *key =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Security-Token");
    if (!key || !*key) {
        const char *auth =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        const char *c = auth ? strstr(auth, "Credential=") : NULL;
        if (!c)
            return 0;
        c += strlen("Credential=");
        size_t len = strcspn(c, "/, ");
        if (len >= sizeof akid)
            len = sizeof akid - 1;
        memcpy(akid, c, len);
        akid[len] = '\0';
        key = akid;
    }
    time_t now = time(NULL);
    int expired = 0, found = 0;
    pthread_mutex_lock(&s->cred_mu);
    for (size_t i = 0; i < s->n_creds_seen; i++)
        if (strcmp(s->creds_seen[i].key, key) == 0) {
            expired = (unsigned long long)(now - s->creds_seen[i].first) >= n;
            found = 1;
            break;
        }
    if (!found) {
        if (s->n_creds_seen == s->cap_creds_seen) {
            s->cap_creds_seen = s->cap_creds_seen ? 2 * s->cap_creds_seen : 16;
            s->creds_seen =
                xrealloc(s->creds_seen, s->cap_creds_seen * sizeof *s->creds_seen);
        }
        s->creds_seen[s->n_creds_seen].key = xstrdup(key);
        s->creds_seen[s->n_creds_seen].first = now;
        s->n_creds_seen++;
    }
    pthread_mutex_unlock(&s->cred_mu);
    return expired;
}

/* ---- HTTP ---- */

static void request_id(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        base_fatal("RAND_bytes");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char hex[33];
    hex_encode(hex, b, sizeof b);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, const request *rq,
                                  reg_reply *rp)
{
    size_t len;
    char *body = buf_take(&rp->body, &len);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "x-amzn-RequestId", rq->rid);
    if (rp->error) {
        char et[160];
        snprintf(et, sizeof et, "%s%s", rp->error, ERRTYPE_SUFFIX);
        MHD_add_response_header(resp, "x-amzn-ErrorType", et);
    }
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)rp->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    request *rq = xcalloc(1, sizeof *rq);
    rq->target = xstrdup(uri ? uri : "/");
    clock_gettime(CLOCK_MONOTONIC, &rq->t0);
    request_id(rq->rid);
    return rq;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request *rq = *con_cls;
    if (!rq)
        return;
    buf_free(&rq->body);
    free(rq->target);
    free(rq);
    *con_cls = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    (void)url;
    (void)version;
    sim *s = cls;
    request *rq = *con_cls;
    if (!rq)
        return MHD_NO;
    if (!rq->started) {
        rq->started = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (rq->body.len + *upload_data_size > MAX_BODY)
            rq->too_large = 1;
        else
            buf_append(&rq->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }

    /* the whole request is in: answer it */
    reg_reply rp;
    reg_reply_init(&rp);
    fault_kind fk = FAULT_NONE;
    enum MHD_Result ret;
    buf label = BUF_INIT;
    const char *q = strchr(rq->target, '?');
    size_t plen = q ? (size_t)(q - rq->target) : strlen(rq->target);
    route_op op = route_match(method, rq->target, plen, &label);
    const char *sig = "-";

    if (rq->too_large) {
        reg_reply_error(&rp, 413, "RequestEntityTooLargeException",
                        "The request body is larger than %d bytes", MAX_BODY);
        goto rejected;
    }
    sig = check_signature(s, conn, method, rq, &rp);
    if (rp.status)
        goto rejected;
    if (fault_outage_at(s->f, op == ROUTE_NONE ? NULL : route_name(op),
                        (double)(rq->t0.tv_sec - s->started.tv_sec) +
                            (double)(rq->t0.tv_nsec - s->started.tv_nsec) / 1e9)) {
        atomic_fetch_add(&s->faulted, 1);
        reg_reply_error(&rp, 503, "ServiceUnavailableException",
                        "Service unavailable (injected by --faults outage)");
        goto rejected;
    }
    if (credential_expired(s, conn)) {
        atomic_fetch_add(&s->faulted, 1);
        reg_reply_error(&rp, 403, "ExpiredTokenException",
                        "The security token included in the request is expired "
                        "(injected by --faults expire)");
        goto rejected;
    }
    if (op == ROUTE_NONE) {
        reg_reply_error(&rp, 404, "UnknownOperationException",
                        "No AWS IoT operation of the local endpoint matches %.8s %.200s",
                        method, rq->target);
        goto rejected;
    }
    if (quota_take(s->q, route_name(op))) {
        reg_reply_error(
            &rp, 400, "ThrottlingException",
            "Rate exceeded for %s (%.4g calls per second): slow down and retry",
            route_name(op), quota_rate(s->q, route_name(op)));
        goto rejected;
    }
    fk = fault_decide(s->f, route_name(op), atomic_fetch_add(&s->fault_seq, 1));
    if (fk == FAULT_RESET) {
        atomic_fetch_add(&s->faulted, 1);
        log_request(s, rq, method, op, 0, NULL, fk, sig);
        ret = MHD_NO;
        goto out;
    }
    if (fk == FAULT_500 || fk == FAULT_503 || fk == FAULT_THROTTLE) {
        atomic_fetch_add(&s->faulted, 1);
        reg_reply_error(&rp, fault_http_status(fk), fault_error_code(fk), "%s",
                        fault_error_message(fk));
        log_request(s, rq, method, op, rp.status, rp.error, fk, sig);
        ret = send_reply(conn, rq, &rp);
        goto out;
    }
    reg_req req = {
        .op = op,
        .label = label.data ? label.data : "",
        .query = q ? q + 1 : NULL,
        .principal =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amzn-principal"),
        .body = rq->body.data,
        .body_len = rq->body.len,
    };
    reg_do(s->r, &req, &rp);
    if (fk == FAULT_LATE) {
        /* the operation took effect; the client never hears about it */
        atomic_fetch_add(&s->faulted, 1);
        log_request(s, rq, method, op, rp.status, rp.error, fk, sig);
        ret = MHD_NO;
        goto out;
    }
    atomic_fetch_add(&s->served, 1);
    log_request(s, rq, method, op, rp.status, rp.error, fk, sig);
    ret = send_reply(conn, rq, &rp);
    goto out;

rejected:
    atomic_fetch_add(&s->rejected, 1);
    log_request(s, rq, method, op, rp.status, rp.error, fk, sig);
    ret = send_reply(conn, rq, &rp);
out:
    buf_free(&label);
    reg_reply_free(&rp);
    return ret;
}

/* ---- start / stop ---- */

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n = n > 0 ? 2 * n : 4;
    return n < 4 ? 4 : n > 16 ? 16 : (int)n;
}

int sim_start(sim **out, const sim_opts *o, err *e)
{
    *out = NULL;
    int port;
    const char *account = o->account ? o->account : "123456789012";
    const char *region = o->region ? o->region : "us-east-1";
    if (parse_listen(o->listen, &port, e) < 0 || check_account(account, e) < 0 ||
        check_region(region, e) < 0)
        return -1;
    if ((o->access_key == NULL) != (o->secret_key == NULL) ||
        (o->access_key && (!*o->access_key || !*o->secret_key))) {
        err_set(e, ERR_USAGE, "--credentials", 0, -1,
                "give both the access key id and the secret key, or neither");
        return -1;
    }
    sim *s = xcalloc(1, sizeof *s);
    s->log_fd = -1;
    pthread_mutex_init(&s->cred_mu, NULL);
    clock_gettime(CLOCK_MONOTONIC, &s->started);
    snprintf(s->region, sizeof s->region, "%s", region);
    if (o->access_key) {
        s->akid = xstrdup(o->access_key);
        s->secret = xstrdup(o->secret_key);
    }
    if (quota_new(&s->q, o->quotas ? o->quotas : "aws-default", e) < 0)
        goto fail;
    if (o->faults && *o->faults && fault_new(&s->f, o->faults, e) < 0)
        goto fail;
    if (o->log_path && *o->log_path) {
        s->log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (s->log_fd < 0) {
            err_set(e, ERR_IO, o->log_path, 0, -1, "cannot open the request log: %s",
                    strerror(errno));
            goto fail;
        }
    }
    reg_opts ro = {.db_path = o->db_path, .account = account, .region = region};
    if (reg_open(&s->r, &ro, e) < 0)
        goto fail;

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned threads = (unsigned)(o->threads > 0 ? o->threads : default_threads());
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO, 0, NULL, NULL,
        handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 300u, MHD_OPTION_URI_LOG_CALLBACK, uri_logged,
        (void *)s, MHD_OPTION_NOTIFY_COMPLETED, completed, (void *)s, MHD_OPTION_END);
    if (!s->d) {
        err_set(
            e, ERR_IO, "--listen", 0, -1,
            "cannot listen on 127.0.0.1:%d (is the port in use? try port 0 for any free "
            "one)",
            port);
        goto fail;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    *out = s;
    return s->port;
fail:
    sim_stop(s);
    return -1;
}

int sim_port(const sim *s)
{
    return s->port;
}

void sim_counts(const sim *s, unsigned long long *served, unsigned long long *rejected,
                unsigned long long *faulted)
{
    if (served)
        *served = atomic_load(&s->served);
    if (rejected)
        *rejected = atomic_load(&s->rejected);
    if (faulted)
        *faulted = atomic_load(&s->faulted);
}

void sim_stop(sim *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    reg_close(s->r);
    quota_free(s->q);
    fault_free(s->f);
    for (size_t i = 0; i < s->n_creds_seen; i++)
        free(s->creds_seen[i].key);
    free(s->creds_seen);
    pthread_mutex_destroy(&s->cred_mu);
    if (s->log_fd >= 0)
        close(s->log_fd);
    free(s->akid);
    if (s->secret) {
        memset(s->secret, 0, strlen(s->secret));
        free(s->secret);
    }
    free(s);
}

/* ---- the samples' resources ---- */

int sim_seed_samples(sim *s, err *e)
{
    static const struct {
        seed_kind kind;
        const char *name;
    } samples[] = {
        {SEED_POLICY, "BasicTestPolicy"},
        {SEED_THING_GROUP, "BasicTestGroup"},
        {SEED_THING_TYPE, "BasicTestType"},
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int created;
        if (seed_create(s->r, samples[i].kind, samples[i].name, NULL, &created, e) < 0)
            return -1;
    }
    return 0;
}
