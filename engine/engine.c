/* The engine (see engine.h). Threads: the engine thread (validation,
 * pre-flight, feeding the work queue from pass 2), N workers (each with its
 * own iot_client), and the journal thread (SQLite and the audit log). */
#include "engine/engine.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/b64.h" /* hex_encode */
#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/call.h"
#include "engine/journal.h"
#include "iot/client.h"
#include "iot/op.h"
#include "parsers/cert.h"
#include "parsers/scan.h"

/* The default starting rate of an operation: the operation table's quota. */
double eng_default_tps(const char *op)
{
    return iot_op_default_tps(op);
}

const char *eng_state_name(eng_state s)
{
    static const char *const n[] = {"validating", "pre-flight", "running",  "done",
                                    "failed",     "cancelled",  "rejected", "error"};
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

/* ---- the plan of one item ---- */

typedef enum {
    ST_REGISTER,
    ST_ACTIVATE,
    ST_CREATE_THING,
    ST_ATTACH_PRINCIPAL,
    ST_ATTACH_POLICY,
    ST_ADD_GROUP,
} step_kind;

typedef struct {
    step_kind kind;
    int arg; /* policy or group index */
} step;

enum { MAX_STEPS = 64 };

/* The operation each kind of step calls. */
static const iot_op step_op[] = {
    [ST_REGISTER] = IOT_OP_REGISTER_CERTIFICATE_WITHOUT_CA,
    [ST_ACTIVATE] = IOT_OP_UPDATE_CERTIFICATE,
    [ST_CREATE_THING] = IOT_OP_CREATE_THING,
    [ST_ATTACH_PRINCIPAL] = IOT_OP_ATTACH_THING_PRINCIPAL,
    [ST_ATTACH_POLICY] = IOT_OP_ATTACH_POLICY,
    [ST_ADD_GROUP] = IOT_OP_ADD_THING_TO_THING_GROUP,
};
enum { N_STEP_KINDS = sizeof step_op / sizeof step_op[0] };

/* ---- work and journal records ---- */

typedef struct work {
    struct work *next;
    size_t idx;
    int start;    /* first step to do */
    int attempts; /* attempts already recorded */
    char *name;   /* thing name / deviceId */
    char fp[65];
    char *pem; /* Phase 1 */
    char *device_type;
    item_attr *attrs;
    size_t n_attrs;
} work;

typedef enum { JR_ADD, JR_UPDATE, JR_AUDIT } jrec_kind;

typedef struct jrec {
    struct jrec *next;
    jrec_kind kind;
    size_t idx;
    int step;
    jnl_status st;
    int attempts;
    char *text;      /* error (ADD/UPDATE) or audit JSON */
    char *key;       /* ADD */
    char fp[65];     /* ADD */
    char *cert_arn;  /* UPDATE */
    char *thing_arn; /* UPDATE */
} jrec;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t room;
    void *head, **tail; /* a singly linked list through `next` at offset 0 */
    size_t n, max;
    int closed;
} queue;

static void q_init(queue *q, size_t max)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    pthread_cond_init(&q->room, NULL);
    q->tail = &q->head;
    q->max = max;
}

static void q_destroy(queue *q)
{
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

/* Appends (blocks while full, unless max == 0). */
static void q_push(queue *q, void *node)
{
    *(void **)node = NULL;
    pthread_mutex_lock(&q->mu);
    while (q->max && q->n >= q->max && !q->closed)
        pthread_cond_wait(&q->room, &q->mu);
    *q->tail = node;
    q->tail = (void **)node;
    q->n++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* One node, or NULL once closed and empty. */
static void *q_pop(queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    void *node = q->head;
    if (node) {
        q->head = *(void **)node;
        if (!q->head)
            q->tail = &q->head;
        q->n--;
        pthread_cond_signal(&q->room);
    }
    pthread_mutex_unlock(&q->mu);
    return node;
}

/* Everything queued (a list), waiting up to ms for the first node. */
static void *q_take_all(queue *q, int ms)
{
    pthread_mutex_lock(&q->mu);
    if (!q->head && !q->closed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    void *list = q->head;
    q->head = NULL;
    q->tail = &q->head;
    q->n = 0;
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mu);
    return list;
}

static void q_close(queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mu);
}

static int q_closed_and_empty(queue *q)
{
    pthread_mutex_lock(&q->mu);
    int r = q->closed && !q->head;
    pthread_mutex_unlock(&q->mu);
    return r;
}

/* ---- the engine ---- */

enum { MAX_EVENTS = 256 };

struct eng {
    /* configuration (owned copies) */
    char *file, *state_dir, *registry;
    iot_target target; /* endpoint, region (never NULL), credentials */
    jobcfg cfg;
    int n_workers, dry_run, max_attempts;
    char account[32];

    /* derived */
    int phase;
    step plan[MAX_STEPS];
    int n_steps;
    rate *rates[IOT_OP_COUNT]; /* the operations of step kinds; others NULL */
    long long job_id;
    journal *j;

    /* threads */
    pthread_t main_tid, journal_tid;
    pthread_t *worker_tids;
    queue work_q, jnl_q;
    atomic_int cancel;

    /* progress */
    pthread_mutex_t mu; /* everything below */
    eng_snapshot snap;
    double t_start;
    size_t done_this_run;
    eng_event events[MAX_EVENTS];
    size_t n_events;
    atomic_ullong calls, retries, throttles;
    atomic_size_t counts[ENG_N_COUNTS];
    atomic_size_t done, failed, skipped;
    call_breaker *breaker; /* transport failures in a row, every worker */
};

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static void set_message(eng *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_message(eng *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&g->mu);
    vsnprintf(g->snap.message, sizeof g->snap.message, fmt, ap);
    pthread_mutex_unlock(&g->mu);
    va_end(ap);
}

/* Stops the job: no new call, the feeder wakes up; items stay pending. */
static void eng_stop(eng *g)
{
    atomic_store(&g->cancel, 1);
    q_close(&g->work_q); /* a feeder blocked on a full queue wakes up */
}

static void set_state(eng *g, eng_state s)
{
    pthread_mutex_lock(&g->mu);
    g->snap.state = s;
    pthread_mutex_unlock(&g->mu);
}

static void add_event(eng *g, size_t idx, const char *key, const char *text)
{
    pthread_mutex_lock(&g->mu);
    if (g->n_events == MAX_EVENTS) { /* drop the oldest */
        memmove(g->events, g->events + 1, (MAX_EVENTS - 1) * sizeof g->events[0]);
        g->n_events--;
    }
    eng_event *ev = &g->events[g->n_events++];
    ev->idx = idx;
    snprintf(ev->key, sizeof ev->key, "%s", key ? key : "");
    snprintf(ev->text, sizeof ev->text, "%s", text);
    snprintf(g->snap.message, sizeof g->snap.message, "item %zu %s: %s", idx,
             key ? key : "", text);
    pthread_mutex_unlock(&g->mu);
}

static void jpush(eng *g, jrec *r)
{
    q_push(&g->jnl_q, r);
}

static void audit(eng *g, buf *b)
{
    jrec *r = xcalloc(1, sizeof *r);
    r->kind = JR_AUDIT;
    r->text = buf_take(b, NULL);
    jpush(g, r);
}

static void record(eng *g, size_t idx, int step_done, jnl_status st, int attempts,
                   const char *error, const char *cert_arn, const char *thing_arn)
{
    jrec *r = xcalloc(1, sizeof *r);
    r->kind = JR_UPDATE;
    r->idx = idx;
    r->step = step_done;
    r->st = st;
    r->attempts = attempts;
    r->text = dup_or_null(error);
    r->cert_arn = dup_or_null(cert_arn);
    r->thing_arn = dup_or_null(thing_arn);
    jpush(g, r);
}

static void jrec_free(jrec *r)
{
    free(r->text);
    free(r->key);
    free(r->cert_arn);
    free(r->thing_arn);
    free(r);
}

static void *journal_main(void *arg)
{
    eng *g = arg;
    err e;
    err_clear(&e);
    for (;;) {
        int closed = q_closed_and_empty(&g->jnl_q);
        jrec *list = q_take_all(&g->jnl_q, 100);
        if (!list) {
            if (closed)
                break;
            continue;
        }
        jnl_begin(g->j, &e);
        while (list) {
            jrec *r = list;
            list = r->next;
            switch (r->kind) {
            case JR_ADD:
                jnl_item_add(g->j, g->job_id, r->idx, r->key, r->fp, r->st, r->text, &e);
                break;
            case JR_UPDATE:
                jnl_item_update(g->j, g->job_id, r->idx, r->step, r->st, r->attempts,
                                r->text, r->cert_arn, r->thing_arn, &e);
                break;
            case JR_AUDIT:
                jnl_audit(g->j, g->job_id, r->text, &e);
                break;
            }
            jrec_free(r);
        }
        if (jnl_commit(g->j, &e) || err_is_set(&e)) {
            char m[700];
            set_message(g, "journal: %s", err_format(&e, m, sizeof m));
            err_clear(&e);
        }
    }
    return NULL;
}

/* ---- calls with pacing, retries and idempotency ---- */

typedef struct {
    eng *g;
    iot_client *c;
    unsigned int seed;
} worker;

typedef struct {
    const char *cert_arn;
    char thing_arn[256];
    char registered_arn[256];
    int already; /* the step found its work already done */
} step_out;

static iot_op op_of(step_kind k)
{
    return step_op[k];
}

static iot_class do_step(worker *w, const work *it, const step *s, step_out *o,
                         iot_result *res)
{
    eng *g = w->g;
    switch (s->kind) {
    case ST_REGISTER: {
        iot_cert_ref ref = {0};
        iot_class c = iot_register_certificate(
            w->c, it->pem, g->cfg.cert_active ? "ACTIVE" : "INACTIVE", &ref, res);
        if (c == IOT_OK && ref.certificate_arn)
            snprintf(o->registered_arn, sizeof o->registered_arn, "%s",
                     ref.certificate_arn);
        iot_cert_ref_free(&ref);
        return c;
    }
    case ST_ACTIVATE:
        return iot_update_certificate(w->c, it->fp, "ACTIVE", res);
    case ST_CREATE_THING: {
        iot_attr attrs[64];
        size_t n = it->n_attrs < 64 ? it->n_attrs : 64;
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
    if (s->kind == ST_ACTIVATE && res->status == 404)
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

/* "item":..,"target":..[,"with":..] of a call's audit line. */
static void call_fields(eng *g, const work *it, const step *s, buf *a)
{
    buf_printf(a, "\"item\":%zu,\"target\":", it->idx);
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

/* The intent, on disk before the call can reach AWS (journal.h). */
static int step_before(void *ctx, int attempt)
{
    step_call *sc = ctx;
    eng *g = sc->w->g;
    buf a = BUF_INIT;
    buf_printf(&a, "{\"intent\":\"%s\",", iot_op_name(sc->op));
    call_fields(g, sc->it, sc->s, &a);
    buf_printf(&a, ",\"attempt\":%d}", sc->attempts + attempt + 1);
    err ae;
    err_clear(&ae);
    int rc = jnl_audit(g->j, g->job_id, a.data, &ae);
    buf_free(&a);
    if (rc) {
        /* no call without its audit line: the job stops, items pending */
        char m[700];
        set_message(g, "%s; the job stopped with its items pending",
                    err_format(&ae, m, sizeof m));
        eng_stop(g);
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
    buf_printf(&a, "{\"op\":\"%s\",", iot_op_name(sc->op));
    call_fields(g, sc->it, sc->s, &a);
    buf_printf(&a, ",\"status\":%ld,\"result\":\"%s\"", res->status,
               done ? "ok" : iot_class_name(res->cls));
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
    audit(g, &a);
}

/* 1 ok, 0 failed (why filled), -1 stopped (cancelled, or the job stopped). */
static int run_step(worker *w, work *it, const step *s, step_out *o, int *attempts,
                    char *why, size_t why_n)
{
    eng *g = w->g;
    step_call sc = {w, it, s, o, op_of(s->kind), *attempts};
    call_spec sp = {
        .pace = g->rates[sc.op],
        .cancel = &g->cancel,
        .max_attempts = g->max_attempts,
        .seed = &w->seed,
        .breaker = g->breaker,
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
    case CALL_UNREACHABLE: {
        /* An endpoint that stopped answering: rather than every item
         * grinding through its retries and failing, stop the job with the
         * items pending, resumable once the endpoint is back. */
        char raw[IOT_MSG_MAX + 200];
        iot_result_format(&res, raw, sizeof raw);
        set_message(g,
                    "the endpoint stopped answering (%s); the job stopped with its "
                    "items pending: run the same command again to resume",
                    raw);
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

static eng_count count_of(step_kind k)
{
    switch (k) {
    case ST_REGISTER:
        return ENG_REGISTERED;
    case ST_ACTIVATE:
        return ENG_ACTIVATED;
    case ST_CREATE_THING:
        return ENG_THINGS;
    case ST_ATTACH_PRINCIPAL:
        return ENG_PRINCIPALS;
    case ST_ATTACH_POLICY:
        return ENG_POLICIES;
    case ST_ADD_GROUP:
        return ENG_GROUPS;
    }
    return ENG_REGISTERED;
}

static void work_free(work *it)
{
    free(it->name);
    free(it->pem);
    free(it->device_type);
    for (size_t i = 0; i < it->n_attrs; i++) {
        free(it->attrs[i].name);
        free(it->attrs[i].value);
    }
    free(it->attrs);
    free(it);
}

static void process(worker *w, work *it)
{
    eng *g = w->g;
    char cert_arn[256];
    snprintf(cert_arn, sizeof cert_arn, "arn:aws:iot:%s:%s:cert/%s", g->target.region,
             g->account, it->fp);
    step_out o = {.cert_arn = cert_arn};
    int attempts = it->attempts;
    char why[512];
    for (int i = it->start; i < g->n_steps; i++) {
        const step *s = &g->plan[i];
        int r = run_step(w, it, s, &o, &attempts, why, sizeof why);
        if (r < 0) /* cancelled: the item stays pending at step i */
            return;
        if (r == 0) {
            record(g, it->idx, i, JNL_FAILED, attempts, why, NULL, NULL);
            atomic_fetch_add(&g->failed, 1);
            add_event(g, it->idx, it->name, why);
            buf a = BUF_INIT;
            buf_printf(&a, "{\"outcome\":\"failed\",\"item\":%zu,\"key\":", it->idx);
            buf_json_str(&a, it->name ? it->name : "");
            buf_puts(&a, ",\"reason\":");
            buf_json_str(&a, why);
            buf_putc(&a, '}');
            audit(g, &a);
            return;
        }
        if (s->kind == ST_REGISTER && o.registered_arn[0]) {
            snprintf(cert_arn, sizeof cert_arn, "%s", o.registered_arn);
            o.cert_arn = cert_arn;
        }
        atomic_fetch_add(&g->counts[count_of(s->kind)], 1);
        int last = i + 1 == g->n_steps;
        record(g, it->idx, i + 1, last ? JNL_DONE : JNL_PENDING, attempts, NULL,
               s->kind == ST_REGISTER ? cert_arn : NULL,
               o.thing_arn[0] && s->kind == ST_CREATE_THING ? o.thing_arn : NULL);
    }
    atomic_fetch_add(&g->done, 1);
    pthread_mutex_lock(&g->mu);
    g->done_this_run++;
    pthread_mutex_unlock(&g->mu);
    buf a = BUF_INIT;
    buf_printf(&a, "{\"outcome\":\"done\",\"item\":%zu,\"key\":", it->idx);
    buf_json_str(&a, it->name ? it->name : "");
    buf_puts(&a, ",\"certificate\":");
    buf_json_str(&a, cert_arn);
    buf_putc(&a, '}');
    audit(g, &a);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    eng *g = w->g;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals belong to the UI thread */
    for (;;) {
        work *it = q_pop(&g->work_q);
        if (!it)
            break;
        if (!atomic_load(&g->cancel))
            process(w, it);
        work_free(it);
    }
    return NULL;
}

/* ---- the engine thread ---- */

static int file_sha256(const char *path, char out[65], err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return -1;
    }
    SHA256_CTX c;
    unsigned char md[SHA256_DIGEST_LENGTH];
    static __thread unsigned char chunk[1 << 16];
    size_t n;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_Init(&c);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        SHA256_Update(&c, chunk, n);
    SHA256_Final(md, &c);
#pragma GCC diagnostic pop
    int rc = ferror(f) ? -1 : 0;
    if (rc)
        err_set(e, ERR_IO, path, 0, -1, "read error: %s", strerror(errno));
    fclose(f);
    hex_encode(out, md, sizeof md);
    return rc;
}

/* Under g->mu: eng_snapshot_get reads the plan from other threads. */
static void build_plan(eng *g)
{
    pthread_mutex_lock(&g->mu);
    int n = 0;
    if (g->phase == 1) {
        g->plan[n++] = (step){ST_REGISTER, 0};
        for (size_t i = 0; i < g->cfg.n_policies; i++)
            g->plan[n++] = (step){ST_ATTACH_POLICY, (int)i};
        if (!g->cfg.thing_deferred) {
            g->plan[n++] = (step){ST_CREATE_THING, 0};
            g->plan[n++] = (step){ST_ATTACH_PRINCIPAL, 0};
            for (size_t i = 0; i < g->cfg.n_thing_groups; i++)
                g->plan[n++] = (step){ST_ADD_GROUP, (int)i};
        }
    } else {
        g->plan[n++] = (step){ST_ACTIVATE, 0};
        g->plan[n++] = (step){ST_CREATE_THING, 0};
        g->plan[n++] = (step){ST_ATTACH_PRINCIPAL, 0};
        for (size_t i = 0; i < g->cfg.n_policies; i++)
            g->plan[n++] = (step){ST_ATTACH_POLICY, (int)i};
        for (size_t i = 0; i < g->cfg.n_thing_groups; i++)
            g->plan[n++] = (step){ST_ADD_GROUP, (int)i};
    }
    g->n_steps = n;
    pthread_mutex_unlock(&g->mu);
}

/* items/s the quota table allows: min over ops of rate / calls per item */
static double ceiling(eng *g)
{
    double calls[IOT_OP_COUNT] = {0};
    for (int i = 0; i < g->n_steps; i++)
        calls[op_of(g->plan[i].kind)] += 1;
    double best = 0;
    for (int op = 0; op < IOT_OP_COUNT; op++) {
        if (!calls[op])
            continue;
        rate_stats st;
        rate_get_stats(g->rates[op], &st);
        if (st.tps <= 0)
            continue;
        double c = st.tps / calls[op];
        if (best == 0 || c < best)
            best = c;
    }
    return best;
}

/* Pass 1: validation, plus what the pre-flight needs. */
typedef struct {
    eng *g;
    size_t invalid;
    char first_fp[65];
    char **types; /* distinct deviceTypes */
    size_t n_types;
} pass1;

static int pass1_cb(void *ctx, item *it)
{
    pass1 *p = ctx;
    if (it->verdict == ITEM_ERROR) {
        p->invalid++;
        if (p->invalid <= 5) {
            char m[400];
            snprintf(m, sizeof m, "invalid: %s", it->message);
            add_event(p->g, it->index, it->thing_name, m);
        }
        return 0;
    }
    if (!p->first_fp[0] && it->fingerprint[0])
        snprintf(p->first_fp, sizeof p->first_fp, "%s", it->fingerprint);
    if (!p->first_fp[0] && it->is_device && it->given_fingerprint &&
        strlen(it->given_fingerprint) == 64)
        item_fp_key(p->first_fp, sizeof p->first_fp, it->given_fingerprint);
    if (it->device_type && it->device_type[0] && p->n_types < 1000) {
        for (size_t i = 0; i < p->n_types; i++)
            if (!strcmp(p->types[i], it->device_type))
                return 0;
        p->types = xrealloc(p->types, (p->n_types + 1) * sizeof *p->types);
        p->types[p->n_types++] = xstrdup(it->device_type);
    }
    return 0;
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
    call_spec sp = {
        .cancel = &g->cancel,
        .max_attempts = g->max_attempts,
        .seed = &seed,
    };
    call_report rep;
    call_run(&rep, &sp, read_call_fn, &rc, res);
    return rep.cls;
}

/* 0 ok; -1 rejected (message set). */
static int preflight(eng *g, iot_client *c, pass1 *p)
{
    iot_result res;
    char m[600];
    for (size_t i = 0; i < g->cfg.n_policies; i++) {
        iot_policy_desc d = {0};
        iot_class cls = read_retry(g, c, read_policy, g->cfg.policies[i], &d, &res);
        if (cls != IOT_OK) {
            iot_result_format(&res, m, sizeof m);
            set_message(g, "pre-flight: policy '%s' %s: %s", g->cfg.policies[i],
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
            set_message(g, "pre-flight: thing group '%s' %s: %s", g->cfg.thing_groups[i],
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
            set_message(g, "pre-flight: thing type '%s' %s%s%s", t,
                        cls == IOT_OK ? "is deprecated: things cannot be created with it"
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
        set_message(g,
                    "pre-flight: cannot learn the account id (the first certificate of "
                    "the file is not registered); give it with --account");
        return -1;
    }
    return 0;
}

/* Pass 2: feed the workers. */
typedef struct {
    eng *g;
    int *steps;
    jnl_status *st;
    size_t n_states;
} pass2;

static int pass2_cb(void *ctx, item *it)
{
    pass2 *p = ctx;
    eng *g = p->g;
    if (atomic_load(&g->cancel))
        return -1;
    size_t idx = it->index;
    int known = idx < p->n_states && p->steps[idx] >= 0;
    jnl_status st = known ? p->st[idx] : JNL_PENDING;
    if (known && (st == JNL_DONE || st == JNL_SKIPPED)) {
        if (st == JNL_DONE) {
            atomic_fetch_add(&g->done, 1);
            pthread_mutex_lock(&g->mu);
            g->snap.already++;
            pthread_mutex_unlock(&g->mu);
        } else {
            atomic_fetch_add(&g->skipped, 1);
        }
        return 0;
    }
    const char *fp = it->fingerprint;
    char low[65] = "";
    if (it->is_device && it->given_fingerprint && strlen(it->given_fingerprint) == 64)
        fp = item_fp_key(low, sizeof low, it->given_fingerprint);
    if (!known) {
        jrec *r = xcalloc(1, sizeof *r);
        r->kind = JR_ADD;
        r->idx = idx;
        r->key = xstrdup(it->thing_name ? it->thing_name : "");
        snprintf(r->fp, sizeof r->fp, "%s", fp ? fp : "");
        r->st = it->verdict == ITEM_ERROR ? JNL_SKIPPED : JNL_PENDING;
        r->text = it->verdict == ITEM_ERROR ? xstrdup(it->message) : NULL;
        jpush(g, r);
    }
    if (it->verdict == ITEM_ERROR) { /* only here when the job skips invalid items */
        atomic_fetch_add(&g->skipped, 1);
        return 0;
    }
    work *w = xcalloc(1, sizeof *w);
    w->idx = idx;
    w->start = known && p->steps[idx] > 0 ? p->steps[idx] : 0;
    w->name = xstrdup(it->thing_name ? it->thing_name : "");
    snprintf(w->fp, sizeof w->fp, "%s", fp ? fp : "");
    if (g->phase == 1)
        w->pem = cert_der_to_pem(it->der, it->der_len, it->chain, it->chain_len);
    if (it->device_type && it->device_type[0])
        w->device_type = xstrdup(it->device_type);
    if (it->n_attrs) {
        w->attrs = xcalloc(it->n_attrs, sizeof *w->attrs);
        for (size_t i = 0; i < it->n_attrs; i++) {
            w->attrs[i].name = xstrdup(it->attrs[i].name);
            w->attrs[i].value = xstrdup(it->attrs[i].value);
        }
        w->n_attrs = it->n_attrs;
    }
    q_push(&g->work_q, w);
    return 0;
}

static iot_config client_config(eng *g)
{
    iot_config c = {
        .target = &g->target,
        .cancel = (const iot_cancel_flag *)&g->cancel,
    };
    return c;
}

static scan_opts scan_options(eng *g)
{
    scan_opts so = {0};
    so.src.vendor = g->cfg.vendor;
    so.src.infineon_bundle = g->cfg.infineon_bundle;
    so.src.microchip_signers = g->cfg.microchip_signers;
    so.val.has_thing_type = g->cfg.thing_type != NULL;
    return so;
}

static void finish(eng *g, eng_state s)
{
    pthread_mutex_lock(&g->mu);
    g->snap.state = s;
    pthread_mutex_unlock(&g->mu);
}

/* Which registry a job writes to, for job identity: the caller's name for it
 * (the embedded endpoint), else the endpoint URL; plus the account when
 * known. */
static void endpoint_key(eng *g, char *out, size_t n)
{
    snprintf(out, n, "%s",
             g->registry              ? g->registry
             : g->target.endpoint_url ? g->target.endpoint_url
                                      : "");
    if (g->account[0]) {
        size_t k = strlen(out);
        snprintf(out + k, n - k, " account %s", g->account);
    }
}

static void *engine_main(void *arg)
{
    eng *g = arg;
    err e;
    err_clear(&e);
    char m[700];
    pass1 p1 = {.g = g};
    pass2 p2 = {.g = g};
    iot_client *c = NULL;
    char sha[65];
    eng_state final = ENG_ERROR;

    /* 1. validate */
    scan_opts so = scan_options(g);
    scan_summary sum;
    if (scan_file(&sum, g->file, &so, pass1_cb, &p1, &e)) {
        set_message(g, "%s", err_format(&e, m, sizeof m));
        scan_summary_free(&sum);
        final = ENG_REJECTED;
        goto out;
    }
    g->phase = vendor_is_phase2(sum.vendor) ? 2 : 1;
    pthread_mutex_lock(&g->mu);
    g->snap.phase = g->phase;
    g->snap.total = sum.total;
    g->snap.invalid = p1.invalid;
    snprintf(g->snap.batch_id, sizeof g->snap.batch_id, "%s", sum.batch_id);
    pthread_mutex_unlock(&g->mu);
    scan_summary_free(&sum);
    if (p1.invalid && !g->cfg.skip_invalid) {
        set_message(
            g,
            "%zu of %zu items are invalid: fix the file, or provision with "
            "--skip-invalid to leave them out (thingpress validate %s lists them)",
            p1.invalid, g->snap.total, g->file);
        final = ENG_REJECTED;
        goto out;
    }
    build_plan(g);
    double ceil_ips = ceiling(g);
    pthread_mutex_lock(&g->mu);
    g->snap.ceiling = ceil_ips;
    pthread_mutex_unlock(&g->mu);

    /* 2. pre-flight */
    set_state(g, ENG_PREFLIGHT);
    iot_config cc = client_config(g);
    if (iot_client_new(&c, &cc, &e)) {
        set_message(g, "%s", err_format(&e, m, sizeof m));
        goto out;
    }
    if (preflight(g, c, &p1)) {
        final = atomic_load(&g->cancel) ? ENG_CANCELLED : ENG_REJECTED;
        goto out;
    }
    pthread_mutex_lock(&g->mu);
    snprintf(g->snap.account, sizeof g->snap.account, "%s", g->account);
    pthread_mutex_unlock(&g->mu);
    if (g->dry_run) {
        set_message(g,
                    "dry run: %zu items would be provisioned (%d calls each); nothing "
                    "was sent",
                    g->snap.total - p1.invalid, g->n_steps);
        final = ENG_DONE;
        goto out;
    }

    /* 3. the job in the journal */
    if (file_sha256(g->file, sha, &e) || jnl_open(&g->j, g->state_dir, &e)) {
        set_message(g, "%s", err_format(&e, m, sizeof m));
        goto out;
    }
    buf ident = BUF_INIT;
    jobcfg_identity(&g->cfg, &ident);
    int resumed = 0;
    char where[600];
    endpoint_key(g, where, sizeof where);
    int rc = jnl_job_open(g->j, g->file, sha, g->phase, g->snap.batch_id, ident.data,
                          where, &g->job_id, &resumed, &e);
    buf_free(&ident);
    if (rc || jnl_item_states(g->j, g->job_id, &p2.steps, &p2.st, &p2.n_states, &e) ||
        jnl_job_set_status(g->j, g->job_id, JOB_RUNNING, &e)) {
        set_message(g, "journal: %s", err_format(&e, m, sizeof m));
        goto out;
    }
    pthread_mutex_lock(&g->mu);
    g->snap.job_id = g->job_id;
    g->snap.resumed = resumed;
    pthread_mutex_unlock(&g->mu);

    /* 4. run */
    set_state(g, ENG_RUNNING);
    pthread_mutex_lock(&g->mu);
    g->t_start = rate_now();
    pthread_mutex_unlock(&g->mu);
    pthread_create(&g->journal_tid, NULL, journal_main, g);
    worker *ws = xcalloc((size_t)g->n_workers, sizeof *ws);
    g->worker_tids = xcalloc((size_t)g->n_workers, sizeof *g->worker_tids);
    int started = 0;
    for (int i = 0; i < g->n_workers; i++) {
        ws[i].g = g;
        ws[i].seed = (unsigned int)(time(NULL) ^ (unsigned)i * 2654435761u);
        if (iot_client_new(&ws[i].c, &cc, &e))
            break;
        pthread_create(&g->worker_tids[i], NULL, worker_main, &ws[i]);
        started++;
    }
    if (started == 0) {
        set_message(g, "%s", err_format(&e, m, sizeof m));
    } else {
        err_clear(&e);
        if (scan_file(&sum, g->file, &so, pass2_cb, &p2, &e) && !atomic_load(&g->cancel))
            set_message(g, "%s", err_format(&e, m, sizeof m));
        scan_summary_free(&sum);
    }
    q_close(&g->work_q);
    for (int i = 0; i < started; i++)
        pthread_join(g->worker_tids[i], NULL);
    for (int i = 0; i < g->n_workers; i++)
        iot_client_free(ws[i].c);
    free(ws);
    q_close(&g->jnl_q);
    pthread_join(g->journal_tid, NULL);

    jnl_job_status js;
    if (call_breaker_tripped(g->breaker)) {
        final = ENG_ERROR;
        js = JOB_RUNNING; /* interrupted: resumable */
    } else if (atomic_load(&g->cancel)) {
        final = ENG_CANCELLED;
        js = JOB_CANCELLED;
    } else if (atomic_load(&g->failed) || started == 0) {
        final = ENG_FAILED;
        js = JOB_FAILED;
    } else {
        final = ENG_DONE;
        js = JOB_DONE;
    }
    err_clear(&e);
    jnl_job_set_status(g->j, g->job_id, js, &e);
    if (atomic_load(&g->failed) || atomic_load(&g->skipped)) {
        char path[1024] = "";
        if (!jnl_report(g->j, g->job_id, path, sizeof path, &e)) {
            pthread_mutex_lock(&g->mu);
            snprintf(g->snap.report, sizeof g->snap.report, "%s", path);
            pthread_mutex_unlock(&g->mu);
        }
    }
out:
    iot_client_free(c);
    for (size_t i = 0; i < p1.n_types; i++)
        free(p1.types[i]);
    free(p1.types);
    free(p2.steps);
    free(p2.st);
    finish(g, final);
    return NULL;
}

/* ---- public ---- */

int eng_start(eng **out, const eng_opts *o, err *e)
{
    *out = NULL;
    if (!o->file || !o->cfg) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "engine: no file or configuration");
        return -1;
    }
    eng *g = xcalloc(1, sizeof *g);
    g->file = xstrdup(o->file);
    iot_target_copy(&g->target, o->target);
    if (!g->target.region)
        g->target.region = xstrdup("us-east-1");
    g->state_dir = dup_or_null(o->state_dir ? o->state_dir : o->cfg->state_dir);
    g->registry = dup_or_null(o->registry);
    if (g->target.account)
        snprintf(g->account, sizeof g->account, "%s", g->target.account);
    /* a private copy of the configuration */
    jobcfg_init(&g->cfg);
    const jobcfg *c = o->cfg;
    g->cfg.vendor = c->vendor;
    for (size_t i = 0; i < c->n_policies; i++)
        jobcfg_split_list(&g->cfg.policies, &g->cfg.n_policies, c->policies[i]);
    for (size_t i = 0; i < c->n_thing_groups; i++)
        jobcfg_split_list(&g->cfg.thing_groups, &g->cfg.n_thing_groups,
                          c->thing_groups[i]);
    g->cfg.thing_type = dup_or_null(c->thing_type);
    g->cfg.cert_active = c->cert_active;
    g->cfg.thing_deferred = c->thing_deferred;
    g->cfg.skip_invalid = c->skip_invalid;
    g->cfg.infineon_bundle = dup_or_null(c->infineon_bundle);
    g->cfg.microchip_signers = dup_or_null(c->microchip_signers);
    g->n_workers = o->workers > 0 ? o->workers : c->workers > 0 ? c->workers : 32;
    g->dry_run = o->dry_run;
    g->max_attempts = o->max_attempts > 0 ? o->max_attempts : 10;
    for (int k = 0; k < N_STEP_KINDS; k++) {
        iot_op op = step_op[k];
        double tps = iot_op_get(op)->tps;
        for (size_t i = 0; i < c->n_rates; i++)
            if (!strcmp(c->rates[i].op, iot_op_name(op)))
                tps = c->rates[i].tps;
        g->rates[op] = rate_new(iot_op_name(op), tps);
    }
    g->breaker = call_breaker_new(3 * g->n_workers + 20);
    q_init(&g->work_q, (size_t)g->n_workers * 4);
    q_init(&g->jnl_q, 0);
    pthread_mutex_init(&g->mu, NULL);
    atomic_init(&g->cancel, 0);
    g->snap.state = ENG_VALIDATING;
    g->snap.dry_run = g->dry_run;
    snprintf(g->snap.endpoint, sizeof g->snap.endpoint, "%s",
             g->target.endpoint_url ? g->target.endpoint_url : "");
    if (pthread_create(&g->main_tid, NULL, engine_main, g)) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "cannot start the engine thread");
        eng_free(g);
        return -1;
    }
    *out = g;
    return 0;
}

void eng_snapshot_get(eng *g, eng_snapshot *out)
{
    pthread_mutex_lock(&g->mu);
    *out = g->snap;
    double t0 = g->t_start;
    size_t this_run = g->done_this_run;
    int used[IOT_OP_COUNT] = {0}; /* the operations of the plan (set once validated) */
    for (int i = 0; i < g->n_steps; i++)
        used[op_of(g->plan[i].kind)] = 1;
    pthread_mutex_unlock(&g->mu);
    out->done = atomic_load(&g->done);
    out->failed = atomic_load(&g->failed);
    out->skipped = atomic_load(&g->skipped);
    for (int i = 0; i < ENG_N_COUNTS; i++)
        out->counts[i] = atomic_load(&g->counts[i]);
    out->calls = atomic_load(&g->calls);
    out->retries = atomic_load(&g->retries);
    out->throttles = atomic_load(&g->throttles);
    out->elapsed = t0 > 0 ? rate_now() - t0 : 0;
    out->items_per_s = out->elapsed > 0.5 ? (double)this_run / out->elapsed : 0;
    size_t finished = out->done + out->failed + out->skipped;
    size_t left = out->total > finished ? out->total - finished : 0;
    out->eta = out->items_per_s > 0 ? (double)left / out->items_per_s : -1;
    out->n_ops = 0;
    for (int op = 0; op < IOT_OP_COUNT && out->n_ops < ENG_MAX_OPS; op++) {
        if (used[op])
            rate_get_stats(g->rates[op], &out->ops[out->n_ops++]);
    }
}

void eng_cancel(eng *g)
{
    eng_stop(g);
}

eng_state eng_wait(eng *g)
{
    pthread_join(g->main_tid, NULL);
    g->main_tid = 0;
    return g->snap.state;
}

size_t eng_events(eng *g, eng_event *out, size_t max)
{
    pthread_mutex_lock(&g->mu);
    size_t n = g->n_events < max ? g->n_events : max;
    memcpy(out, g->events, n * sizeof *out);
    memmove(g->events, g->events + n, (g->n_events - n) * sizeof *out);
    g->n_events -= n;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void eng_free(eng *g)
{
    if (!g)
        return;
    if (g->main_tid)
        eng_wait(g);
    if (g->j)
        jnl_close(g->j);
    for (int op = 0; op < IOT_OP_COUNT; op++)
        rate_free(g->rates[op]);
    /* work left in the queue after a cancel */
    for (work *w = q_take_all(&g->work_q, 0); w;) {
        work *next = w->next;
        work_free(w);
        w = next;
    }
    for (jrec *r = q_take_all(&g->jnl_q, 0); r;) {
        jrec *next = r->next;
        jrec_free(r);
        r = next;
    }
    call_breaker_free(g->breaker);
    q_destroy(&g->work_q);
    q_destroy(&g->jnl_q);
    pthread_mutex_destroy(&g->mu);
    free(g->worker_tids);
    jobcfg_free(&g->cfg);
    free(g->file);
    iot_target_free(&g->target);
    free(g->state_dir);
    free(g->registry);
    free(g);
}
