/* One step of one item (see step.h). */
#include "engine/step.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/call.h"
#include "engine/eng_impl.h"
#include "engine/jwriter.h"
#include "iot/op.h"

static iot_class do_step(worker *w, const work *it, const step *s, step_out *o,
                         iot_result *res)
{
    eng *g = w->g;
    switch (s->kind) {
    case ST_REGISTER: {
        iot_cert_ref ref = {0};
        /* always INACTIVE: with cert_active the plan activates it last */
        iot_class c = iot_register_certificate(w->c, it->pem, "INACTIVE", &ref, res);
        if (c == IOT_OK && ref.certificate_arn)
            snprintf(o->registered_arn, sizeof o->registered_arn, "%s",
                     ref.certificate_arn);
        else if (res->status == 409 && res->resource_arn[0])
            /* already registered: its ARN is in the answer, whatever the
             * account the pre-flight learned (maybe none) */
            snprintf(o->registered_arn, sizeof o->registered_arn, "%s",
                     res->resource_arn);
        iot_cert_ref_free(&ref);
        return c;
    }
    case ST_ACTIVATE:
        return iot_update_certificate(w->c, it->fp, "ACTIVE", res);
    case ST_CREATE_THING: {
        size_t n = it->n_attrs;
        iot_attr *attrs = n ? xcalloc(n, sizeof *attrs) : NULL;
        for (size_t i = 0; i < n; i++) {
            attrs[i].name = it->attrs[i].name;
            attrs[i].value = it->attrs[i].value;
        }
        iot_create_thing_req req = {
            .thing_name = it->name,
            .thing_type = it->device_type ? it->device_type : g->cfg.thing_type,
            .attrs = attrs,
            .n_attrs = n,
        };
        iot_thing_ref ref = {0};
        iot_class c = iot_create_thing(w->c, &req, &ref, res);
        free(attrs);
        if (c == IOT_OK && ref.thing_arn)
            snprintf(o->thing_arn, sizeof o->thing_arn, "%s", ref.thing_arn);
        iot_thing_ref_free(&ref);
        return c;
    }
    case ST_ATTACH_PRINCIPAL:
        return iot_attach_thing_principal(w->c, it->name, o->cert_arn, res);
    case ST_ATTACH_POLICY:
        return iot_attach_policy(w->c, g->cfg.policies[s->arg], o->cert_arn, res);
    case ST_ADD_GROUP:
        return iot_add_thing_to_thing_group(w->c, g->cfg.thing_groups[s->arg], it->name,
                                            res);
    }
    return IOT_TERMINAL;
}

/* A terminal answer that means the step's work is already there. */
static int idempotent_done(const step *s, const iot_result *res)
{
    if (s->kind == ST_REGISTER && res->status == 409 &&
        !strcmp(res->code, "ResourceAlreadyExistsException"))
        return 1;
    return 0;
}

/* Why a step failed, in the operator's words. */
static void explain(const work *it, const step *s, const iot_result *res, char *out,
                    size_t n)
{
    char raw[IOT_MSG_MAX + 200];
    iot_result_format(res, raw, sizeof raw);
    if ((s->kind == ST_ACTIVATE || s->kind == ST_ATTACH_PRINCIPAL ||
         s->kind == ST_ATTACH_POLICY) &&
        res->status == 404 && strstr(res->message, "ertificate"))
        snprintf(out, n,
                 "certificate %.16s... is not registered in this account (run Phase 1 "
                 "first): %s",
                 it->fp, raw);
    else if (s->kind == ST_ACTIVATE && !strcmp(res->code, "CertificateStateException"))
        snprintf(out, n,
                 "certificate cannot be activated (REVOKED or in transfer); it is "
                 "never re-activated: %s",
                 raw);
    else if (s->kind == ST_CREATE_THING && res->status == 409)
        snprintf(out, n,
                 "a thing named %s already exists with a different type or "
                 "attributes; not overwritten: %s",
                 it->name, raw);
    else
        snprintf(out, n, "%s", raw);
}

/* "op":..,"item":..,"target":..[,"with":..] of a call's audit lines. */
static void call_fields(eng *g, iot_op op, const work *it, const step *s, buf *a)
{
    buf_printf(a, "\"op\":\"%s\",\"item\":%zu,\"target\":", iot_op_name(op), it->idx);
    buf_json_str(a, s->kind == ST_REGISTER || s->kind == ST_ACTIVATE ? it->fp : it->name);
    if (s->kind == ST_ATTACH_POLICY || s->kind == ST_ADD_GROUP) {
        buf_puts(a, ",\"with\":");
        buf_json_str(a, s->kind == ST_ATTACH_POLICY ? g->cfg.policies[s->arg]
                                                    : g->cfg.thing_groups[s->arg]);
    }
}

/* One step's call, its hooks (call.h): the intent before each attempt, the
 * answer and the counters after it. */
typedef struct {
    worker *w;
    const work *it;
    const step *s;
    step_out *o;
    iot_op op;
    int attempts; /* the item's calls before this step */
} step_call;

static iot_class step_call_fn(void *ctx, iot_result *res)
{
    step_call *sc = ctx;
    return do_step(sc->w, sc->it, sc->s, sc->o, res);
}

static int step_settled(void *ctx, const iot_result *res)
{
    step_call *sc = ctx;
    return idempotent_done(sc->s, res);
}

/* The intent, on disk before the call can reach AWS (journal.h): written,
 * then synced together with the other workers' intents. */
static int step_before(void *ctx, int attempt)
{
    step_call *sc = ctx;
    eng *g = sc->w->g;
    buf a = BUF_INIT;
    buf_putc(&a, '{');
    call_fields(g, sc->op, sc->it, sc->s, &a);
    buf_printf(&a, ",\"attempt\":%d}", sc->attempts + attempt + 1);
    err ae;
    err_clear(&ae);
    int rc = jnl_audit(g->j, g->job_id, "intent", a.data, &ae);
    if (!rc && g->intent_sync)
        rc = jnl_audit_sync(g->j, &ae);
    buf_free(&a);
    if (rc) {
        /* no call without its audit line: the job stops, items pending */
        eng_journal_failed(g, &ae);
        return -1;
    }
    return 0;
}

static void step_after(void *ctx, const iot_result *res, int done, call_next next)
{
    step_call *sc = ctx;
    eng *g = sc->w->g;
    atomic_fetch_add(&g->calls, 1);
    if (res->cls == IOT_RETRY_THROTTLE) {
        /* throttling is absorbed, not failed: the pacer slows down */
        atomic_fetch_add(&g->throttles, 1);
        atomic_fetch_add(&g->retries, 1);
    } else if (next == CALL_NEXT_RETRY) {
        atomic_fetch_add(&g->retries, 1);
    }
    buf a = BUF_INIT;
    buf_putc(&a, '{');
    call_fields(g, sc->op, sc->it, sc->s, &a);
    buf_printf(&a, ",\"status\":%ld,\"result\":\"%s\",\"request_id\":", res->status,
               done ? "ok" : iot_class_name(res->cls));
    if (res->request_id[0])
        buf_json_str(&a, res->request_id);
    else
        buf_puts(&a, "null");
    if (res->code[0]) {
        buf_puts(&a, ",\"code\":");
        buf_json_str(&a, res->code);
    }
    if (!done && res->message[0]) {
        buf_puts(&a, ",\"message\":");
        buf_json_str(&a, res->message);
    }
    if (res->maybe_applied)
        buf_puts(&a, ",\"maybe_applied\":true");
    buf_putc(&a, '}');
    jw_audit(g, "call", &a);
}

int step_run(worker *w, const work *it, const step *s, step_out *o, int *attempts,
             char *why, size_t why_n)
{
    eng *g = w->g;
    step_call sc = {w, it, s, o, plan_step_op(s->kind), *attempts};
    call_spec sp = {
        .pace = g->rates[sc.op],
        .cancel = &g->cancel,
        .max_attempts = g->max_attempts,
        .seed = &w->seed,
        .breaker = g->breaker,
        .creds = g->creds,
        .client = w->c,
        .creds_gen = &w->creds_gen,
        .settled = step_settled,
        .before = step_before,
        .after = step_after,
        .hook_ctx = &sc,
    };
    call_report rep;
    iot_result res;
    call_outcome oc = call_run(&rep, &sp, step_call_fn, &sc, &res);
    *attempts += rep.attempts;
    switch (oc) {
    case CALL_DONE:
        o->already = rep.cls != IOT_OK;
        return 1;
    case CALL_PAUSED: {
        /* An outage that lasted the max outage: rather than every item
         * failing, the job pauses with its items pending, resumable once the
         * service answers again (the first worker here says why). */
        call_outage ou;
        call_breaker_status(g->breaker, &ou);
        if (!atomic_exchange(&g->paused_said, 1))
            eng_set_message(g,
                            "paused after %lld s without an answer (%s); items pending: "
                            "run the same command again to resume",
                            ou.for_ms / 1000, ou.reason);
        eng_stop(g);
        return -1;
    }
    case CALL_CANCELLED:
        return -1;
    case CALL_FAILED:
        break;
    }
    if (rep.gave_up && rep.cls != IOT_RETRY_THROTTLE) {
        char raw[IOT_MSG_MAX + 200];
        iot_result_format(&res, raw, sizeof raw);
        snprintf(why, why_n, "gave up after %d attempts: %s", rep.failures, raw);
    } else {
        explain(it, s, &res, why, why_n);
    }
    return 0;
}
