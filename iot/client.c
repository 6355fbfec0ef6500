/* The client's life cycle and configuration checks, and the result helpers
 * (see client.h). The transport is in http.c, the operations in ops.c. */
#include "iot/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "iot/http.h"

int iot_global_init(err *e)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "cannot initialise libcurl: %s",
                curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

void iot_global_cleanup(void)
{
    curl_global_cleanup();
}

/* Splits cfg->endpoint_url into the base URL, base path and Host header. */
static int parse_endpoint(iot_client *c, const char *url, err *e)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL,
         *query = NULL, *frag = NULL;
    int rc = -1;

    if (!u)
        base_fatal("curl_url");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host ||
        (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
        /* Not echoed when it has a user part: that could hold a secret. */
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "endpoint URL '%s' is not http(s)://HOST[:PORT]; set --endpoint-url or "
                "AWS_ENDPOINT_URL_IOT to e.g. https://iot.eu-west-1.amazonaws.com",
                strchr(url, '@') ? "..." : url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "the endpoint URL has a user, query or fragment part; give only "
                "http(s)://HOST[:PORT][/PATH]");
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when given explicitly */
    curl_url_get(u, CURLUPART_PATH, &path, 0);

    for (char *p = scheme; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    int default_port = port && ((!strcmp(scheme, "http") && !strcmp(port, "80")) ||
                                (!strcmp(scheme, "https") && !strcmp(port, "443")));
    buf b = BUF_INIT;
    buf_puts(&b, host);
    if (port && !default_port)
        buf_printf(&b, ":%s", port);
    c->host = buf_take(&b, NULL);

    size_t plen = path ? strlen(path) : 0;
    while (plen && path[plen - 1] == '/')
        plen--;
    c->base_path = xstrndup(path ? path : "", plen);
    buf_printf(&b, "%s://%s%s", scheme, c->host, c->base_path);
    c->base_url = buf_take(&b, NULL);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(user);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    return rc;
}

static int check_credentials(const char *access_key, const char *secret_key, err *e)
{
    if (!access_key || !*access_key || !secret_key || !*secret_key) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "no AWS credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or choose a profile with --profile / AWS_PROFILE");
        return -1;
    }
    return 0;
}

int iot_client_new(iot_client **out, const iot_config *cfg, err *e)
{
    iot_client *c = NULL;

    const iot_target *t = cfg->target;

    *out = NULL;
    if (!t) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "no endpoint or credentials given");
        return -1;
    }
    if (!t->endpoint_url || !*t->endpoint_url) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "no endpoint URL; set --endpoint-url or AWS_ENDPOINT_URL_IOT");
        return -1;
    }
    if (!t->region || !*t->region) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "no AWS region; set --region, AWS_REGION or region in ~/.aws/config");
        return -1;
    }
    if (check_credentials(t->access_key, t->secret_key, e) < 0)
        return -1;
    if (t->ca_bundle && *t->ca_bundle && access(t->ca_bundle, R_OK) != 0) {
        err_set(e, ERR_IO, t->ca_bundle, 0, -1,
                "cannot read the CA bundle (%s); fix AWS_CA_BUNDLE", strerror(errno));
        return -1;
    }
    if (cfg->connect_timeout_ms < 0 || cfg->timeout_ms < 0) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "timeouts must be positive milliseconds");
        return -1;
    }

    c = xcalloc(1, sizeof *c);
    if (parse_endpoint(c, t->endpoint_url, e) < 0)
        goto fail;
    iot_target_copy(&c->target, t);
    if (!c->target.signing_name)
        c->target.signing_name = xstrdup("iot");
    c->user_agent =
        xstrdup(cfg->user_agent && *cfg->user_agent ? cfg->user_agent : "thingpress");
    c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms
                                                    : IOT_DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : IOT_DEFAULT_TIMEOUT_MS;
    c->cancel = cfg->cancel;
    c->trace = cfg->trace;
    c->trace_ctx = cfg->trace_ctx;
    c->curl = curl_easy_init();
    if (!c->curl) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1,
                "cannot create a libcurl handle (out of memory or TLS init failed)");
        goto fail;
    }
    iot_http_init_handle(c);
    *out = c;
    return 0;
fail:
    iot_client_free(c);
    return -1;
}

void iot_client_free(iot_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->base_url);
    free(c->base_path);
    free(c->host);
    free(c->user_agent);
    iot_target_free(&c->target);
    buf_free(&c->resp);
    free(c);
}

int iot_client_set_credentials(iot_client *c, const char *access_key,
                               const char *secret_key, const char *session_token, err *e)
{
    if (check_credentials(access_key, secret_key, e) < 0)
        return -1;
    iot_target_set_credentials(&c->target, access_key, secret_key, session_token,
                               c->target.expiration);
    return 0;
}

const char *iot_client_endpoint(const iot_client *c)
{
    return c->base_url;
}

void iot_client_set_attempt(iot_client *c, int attempt)
{
    c->attempt = attempt;
}

const char *iot_curl_version(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && v->version ? v->version : "?";
}

const char *iot_class_name(iot_class c)
{
    switch (c) {
    case IOT_OK:
        return "ok";
    case IOT_RETRY_THROTTLE:
        return "throttled";
    case IOT_RETRY_SERVER:
        return "server-error";
    case IOT_RETRY_TRANSPORT:
        return "transport-error";
    case IOT_TERMINAL:
        return "terminal";
    case IOT_CANCELLED:
        return "cancelled";
    }
    return "?";
}

int iot_class_retryable(iot_class c)
{
    return c == IOT_RETRY_THROTTLE || c == IOT_RETRY_SERVER || c == IOT_RETRY_TRANSPORT;
}

const char *iot_result_format(const iot_result *r, char *out, size_t n)
{
    buf b = BUF_INIT;

    if (!n)
        return out;
    buf_printf(&b, "%s: ", r->op ? r->op : "call");
    if (r->cls == IOT_OK) {
        buf_printf(&b, "HTTP %ld", r->status);
    } else if (r->status) {
        buf_printf(&b, "HTTP %ld", r->status);
        if (r->code[0])
            buf_printf(&b, " %s", r->code);
        if (r->message[0])
            buf_printf(&b, ": %s", r->message);
        if (r->resource_id[0])
            buf_printf(&b, " (resourceId %s)", r->resource_id);
    } else {
        buf_printf(&b, "%s", r->message[0] ? r->message : iot_class_name(r->cls));
    }
    snprintf(out, n, "%s", b.data ? b.data : "");
    buf_free(&b);
    return out;
}

/* A value of a trace line as one token: no space or control character. */
static void put_token(buf *b, const char *s)
{
    if (!s || !*s) {
        buf_putc(b, '-');
        return;
    }
    for (; *s; s++)
        buf_putc(b, (unsigned char)*s > ' ' && *s != 0x7f ? *s : '?');
}

const char *iot_trace_format(const iot_trace *t, char *out, size_t n)
{
    buf b = BUF_INIT;
    const iot_result *r = t->res;

    if (!n)
        return out;
    buf_puts(&b, "op=");
    put_token(&b, r && r->op ? r->op : "call");
    buf_puts(&b, " method=");
    put_token(&b, t->method);
    buf_puts(&b, " path=");
    put_token(&b, t->path);
    buf_printf(&b, " status=%ld result=%s", r ? r->status : 0L,
               r ? iot_class_name(r->cls) : "?");
    if (r && r->code[0]) {
        buf_puts(&b, " code=");
        put_token(&b, r->code);
    }
    buf_printf(&b, " ms=%.1f", r ? (double)r->elapsed_us / 1000.0 : 0.0);
    if (t->attempt > 0)
        buf_printf(&b, " attempt=%d", t->attempt);
    buf_puts(&b, " request_id=");
    put_token(&b, t->request_id);
    snprintf(out, n, "%s", b.data ? b.data : "");
    buf_free(&b);
    return out;
}
