/* The job's pre-flight (see preflight.h). */
#include "engine/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "engine/call.h"
#include "engine/eng_impl.h"

void pf_needs_add(pf_needs *n, const char *fp, const char *device_type)
{
    if (!n->first_fp[0] && fp && fp[0])
        snprintf(n->first_fp, sizeof n->first_fp, "%s", fp);
    if (device_type && device_type[0] && n->n_types < 1000) {
        for (size_t i = 0; i < n->n_types; i++)
            if (!strcmp(n->types[i], device_type))
                return;
        n->types = xrealloc(n->types, (n->n_types + 1) * sizeof *n->types);
        n->types[n->n_types++] = xstrdup(device_type);
    }
}

void pf_needs_free(pf_needs *n)
{
    for (size_t i = 0; i < n->n_types; i++)
        free(n->types[i]);
    free(n->types);
    n->types = NULL;
    n->n_types = 0;
}

/* account id = the 5th field of an ARN */
static void learn_account(eng *g, const char *arn)
{
    if (g->account[0] || !arn)
        return;
    const char *p = arn;
    for (int i = 0; i < 4 && p; i++) {
        p = strchr(p, ':');
        if (p)
            p++;
    }
    if (!p)
        return;
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : 0;
    if (n > 0 && n < sizeof g->account) {
        memcpy(g->account, p, n);
        g->account[n] = '\0';
    }
}

/* A pre-flight read: one name, one out struct, through call_run (not paced). */
typedef iot_class (*read_fn)(iot_client *c, const char *name, void *out, iot_result *res);

static iot_class read_policy(iot_client *c, const char *n, void *out, iot_result *r)
{
    return iot_get_policy(c, n, out, r);
}
static iot_class read_group(iot_client *c, const char *n, void *out, iot_result *r)
{
    return iot_describe_thing_group(c, n, out, r);
}
static iot_class read_type(iot_client *c, const char *n, void *out, iot_result *r)
{
    return iot_describe_thing_type(c, n, out, r);
}
static iot_class read_cert(iot_client *c, const char *n, void *out, iot_result *r)
{
    return iot_describe_certificate(c, n, 0, out, r);
}

typedef struct {
    iot_client *c;
    read_fn fn;
    const char *name;
    void *out;
} read_call;

static iot_class read_call_fn(void *ctx, iot_result *res)
{
    read_call *rc = ctx;
    return rc->fn(rc->c, rc->name, rc->out, res);
}

static iot_class read_retry(eng *g, iot_client *c, read_fn fn, const char *name,
                            void *out, iot_result *res)
{
    unsigned int seed = (unsigned int)time(NULL);
    read_call rc = {c, fn, name, out};
    /* the job's breaker and credentials: a job started (or resumed) during
     * an outage waits it out like its items */
    call_spec sp = {
        .cancel = &g->cancel,
        .max_attempts = g->max_attempts,
        .seed = &seed,
        .breaker = g->breaker,
        .creds = g->creds,
        .client = c,
        .creds_gen = &g->pf_creds_gen,
    };
    call_report rep;
    if (call_run(&rep, &sp, read_call_fn, &rc, res) == CALL_PAUSED) {
        call_outage ou;
        call_breaker_status(g->breaker, &ou);
        snprintf(res->message, sizeof res->message,
                 "no answer for %lld s (the max outage): %s", ou.for_ms / 1000,
                 ou.reason);
        res->status = 0;
        return IOT_RETRY_SERVER;
    }
    return rep.cls;
}

/* 0 ok; -1 rejected (message set). */
int preflight_run(eng *g, iot_client *c, const pf_needs *p)
{
    iot_result res;
    char m[600];
    for (size_t i = 0; i < g->cfg.n_policies; i++) {
        iot_policy_desc d = {0};
        iot_class cls = read_retry(g, c, read_policy, g->cfg.policies[i], &d, &res);
        if (cls != IOT_OK) {
            iot_result_format(&res, m, sizeof m);
            eng_set_message(g, "pre-flight: policy '%s' %s: %s", g->cfg.policies[i],
                            res.status == 404 ? "does not exist" : "cannot be read", m);
            iot_policy_desc_free(&d);
            return -1;
        }
        learn_account(g, d.policy_arn);
        iot_policy_desc_free(&d);
    }
    for (size_t i = 0; i < g->cfg.n_thing_groups; i++) {
        iot_named_desc d = {0};
        iot_class cls = read_retry(g, c, read_group, g->cfg.thing_groups[i], &d, &res);
        if (cls != IOT_OK) {
            iot_result_format(&res, m, sizeof m);
            eng_set_message(g, "pre-flight: thing group '%s' %s: %s",
                            g->cfg.thing_groups[i],
                            res.status == 404 ? "does not exist" : "cannot be read", m);
            iot_named_desc_free(&d);
            return -1;
        }
        learn_account(g, d.arn);
        iot_named_desc_free(&d);
    }
    int needs_type = g->phase == 2 || !g->cfg.thing_deferred;
    for (size_t i = 0; needs_type && i <= p->n_types; i++) {
        const char *t = i < p->n_types ? p->types[i] : g->cfg.thing_type;
        if (!t)
            continue;
        iot_named_desc d = {0};
        iot_class cls = read_retry(g, c, read_type, t, &d, &res);
        if (cls != IOT_OK || d.deprecated) {
            iot_result_format(&res, m, sizeof m);
            eng_set_message(g, "pre-flight: thing type '%s' %s%s%s", t,
                            cls == IOT_OK
                                ? "is deprecated: things cannot be created with it"
                            : res.status == 404 ? "does not exist"
                                                : "cannot be read",
                            cls == IOT_OK ? "" : ": ", cls == IOT_OK ? "" : m);
            iot_named_desc_free(&d);
            return -1;
        }
        learn_account(g, d.arn);
        iot_named_desc_free(&d);
    }
    /* Phase 2 builds certificate ARNs: learn the account from a certificate */
    int needs_account = g->phase == 2 || g->cfg.n_policies || !g->cfg.thing_deferred;
    if (needs_account && !g->account[0] && p->first_fp[0]) {
        iot_cert_desc d = {0};
        if (read_retry(g, c, read_cert, p->first_fp, &d, &res) == IOT_OK)
            learn_account(g, d.certificate_arn);
        iot_cert_desc_free(&d);
    }
    if (needs_account && !g->account[0] && g->phase == 2) {
        eng_set_message(
            g, "pre-flight: cannot learn the account id (the first certificate of "
               "the file is not registered); give it with --account");
        return -1;
    }
    return 0;
}
