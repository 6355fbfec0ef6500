/* The job's life cycle (see engine.h): the engine thread (validation,
 * pre-flight, the journal's job, feeding the work queue from pass 2, the end
 * of the job), the public API (start, snapshot, events, cancel, wait, free)
 * and the progress the other threads report into.
 *
 * The parts, one job each (eng_impl.h holds struct eng):
 *   plan.c      the steps of an item per phase; the quota ceiling
 *   preflight.c what the account must have before anything is sent
 *   queue.c     the bounded work queue and the journal queue
 *   worker.c    a worker thread: an item's steps in order, recorded
 *   step.c      one step: its call, audit lines, idempotent outcomes
 *   call.c      one call with its retries: the retry policy
 *   jwriter.c   the journal thread: records and answers, in transactions
 *
 * Threading: engine_main runs on the engine thread; eng_snapshot_get,
 * eng_events and eng_cancel on any thread; progress under g->mu or atomics.
 * Ownership: struct eng owns its configuration copies, the plan, the pacers,
 * the journal and the queues' leftovers; eng_free releases them all. */
#include "engine/engine.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/b64.h" /* hex_encode */
#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/eng_impl.h"
#include "engine/journal.h"
#include "engine/joblock.h"
#include "engine/jwriter.h"
#include "engine/pace.h"
#include "engine/plan.h"
#include "engine/preflight.h"
#include "engine/worker.h"
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

/* ---- progress, written by every thread ---- */

void eng_set_message(eng *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&g->mu);
    vsnprintf(g->snap.message, sizeof g->snap.message, fmt, ap);
    pthread_mutex_unlock(&g->mu);
    va_end(ap);
}

/* Stops the job: no new call, the feeder wakes up; items stay pending. */
void eng_stop(eng *g)
{
    atomic_store(&g->cancel, 1);
    queue_close(&g->work_q); /* a feeder blocked on a full queue wakes up */
}

static void set_state(eng *g, eng_state s)
{
    pthread_mutex_lock(&g->mu);
    g->snap.state = s;
    pthread_mutex_unlock(&g->mu);
}

void eng_add_event(eng *g, size_t idx, const char *key, const char *text)
{
    pthread_mutex_lock(&g->mu);
    if (g->n_events == ENG_MAX_EVENTS) { /* drop the oldest */
        memmove(g->events, g->events + 1, (ENG_MAX_EVENTS - 1) * sizeof g->events[0]);
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

/* Pass 1: validation, plus what the pre-flight needs. */
typedef struct {
    eng *g;
    size_t invalid;
    pf_needs needs;
} pass1;

/* An item's certificate id, for the journal and the pre-flight: the
 * certificate's, or a device's given fingerprint lowercased. */
static const char *fp_of(const item *it, char low[65])
{
    if (it->is_device && it->given_fingerprint && strlen(it->given_fingerprint) == 64)
        return item_fp_key(low, 65, it->given_fingerprint);
    return it->fingerprint;
}

static int pass1_cb(void *ctx, item *it)
{
    pass1 *p = ctx;
    if (it->verdict == ITEM_ERROR) {
        p->invalid++;
        if (p->invalid <= 5) {
            char m[400];
            snprintf(m, sizeof m, "invalid: %s", it->message);
            eng_add_event(p->g, it->index, it->thing_name, m);
        }
        return 0;
    }
    char low[65];
    pf_needs_add(&p->needs, fp_of(it, low), it->device_type);
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
    char low[65];
    const char *fp = fp_of(it, low);
    if (!known)
        jw_item_add(g, idx, it->thing_name, fp,
                    it->verdict == ITEM_ERROR ? JNL_SKIPPED : JNL_PENDING,
                    it->verdict == ITEM_ERROR ? it->message : NULL);
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
    queue_push(&g->work_q, w);
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

/* ---- the learned pace (pace.h) ---- */

/* Where this job's calls go, as the pace file keys it: the registry's name
 * (the embedded endpoint) or the endpoint URL, the account, the region. */
static pace_key pace_key_of(const eng *g)
{
    pace_key k = {.endpoint = g->registry ? g->registry : g->target.endpoint_url,
                  .account = g->account,
                  .region = g->target.region};
    return k;
}

/* Before the first call: a pacer the job's [rates] does not set starts
 * from the pace earlier jobs learned for this endpoint, account and region
 * when that is faster than the table; never slower, since a rate learned
 * while other stations shared the account is their share, not the quota,
 * and the table's slow start finds a quota above it within seconds. */
static void pace_apply(eng *g)
{
    pace_key k = pace_key_of(g);
    pace_rate pr[IOT_OP_COUNT];
    size_t n = pace_load(jnl_dir(g->j), &k, (long long)time(NULL), pr, IOT_OP_COUNT);
    for (size_t i = 0; i < n; i++) {
        iot_op op = iot_op_by_name(pr[i].op);
        if (op == IOT_OP_NONE || !g->rates[op] || g->rate_given[op])
            continue;
        rate_stats st;
        rate_get_stats(g->rates[op], &st);
        if (st.tps > 0 && pr[i].tps > st.tps)
            rate_seed(g->rates[op], pr[i].tps, pr[i].found);
    }
}

/* After the last call: what the pacers of the plan learned (rate_learned),
 * for the next job. A pacer that learned nothing (it was never the
 * bottleneck) leaves what an earlier job learned as it was. */
static void pace_keep(eng *g)
{
    pace_rate pr[IOT_OP_COUNT];
    size_t n = 0;
    int seen[IOT_OP_COUNT] = {0};
    for (int i = 0; i < g->plan.n; i++) {
        iot_op op = plan_step_op(g->plan.steps[i].kind);
        if (seen[op] || !g->rates[op])
            continue;
        seen[op] = 1;
        double tps;
        int found;
        if (!rate_learned(g->rates[op], &tps, &found))
            continue;
        memset(&pr[n], 0, sizeof pr[n]);
        snprintf(pr[n].op, sizeof pr[n].op, "%s", iot_op_name(op));
        pr[n].tps = tps;
        pr[n].found = found;
        n++;
    }
    pace_key k = pace_key_of(g);
    err e;
    err_clear(&e);
    /* a file that cannot be written costs the next job its head start,
     * not this job its result: nothing to report beyond that */
    pace_store(jnl_dir(g->j), &k, pr, n, (long long)time(NULL), &e);
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
        eng_set_message(g, "%s", err_format(&e, m, sizeof m));
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
        eng_set_message(
            g,
            "%zu of %zu items are invalid: fix the file, or provision with "
            "--skip-invalid to leave them out (thingpress validate %s lists them)",
            p1.invalid, g->snap.total, g->file);
        final = ENG_REJECTED;
        goto out;
    }
    pthread_mutex_lock(&g->mu); /* eng_snapshot_get reads the plan */
    int planned = plan_build(&g->plan, g->phase, &g->cfg);
    pthread_mutex_unlock(&g->mu);
    if (planned) {
        eng_set_message(g,
                        "%zu policies and %zu thing groups: AWS IoT allows at most %d "
                        "of each",
                        g->cfg.n_policies, g->cfg.n_thing_groups, JOBCFG_MAX_POLICIES);
        final = ENG_REJECTED;
        goto out;
    }
    double ceil_ips = plan_ceiling(&g->plan, g->rates);
    pthread_mutex_lock(&g->mu);
    g->snap.ceiling = ceil_ips;
    pthread_mutex_unlock(&g->mu);

    /* 2. pre-flight */
    set_state(g, ENG_PREFLIGHT);
    iot_config cc = client_config(g);
    if (iot_client_new(&c, &cc, &e)) {
        eng_set_message(g, "%s", err_format(&e, m, sizeof m));
        goto out;
    }
    if (preflight_run(g, c, &p1.needs)) {
        final = atomic_load(&g->cancel) ? ENG_CANCELLED : ENG_REJECTED;
        goto out;
    }
    pthread_mutex_lock(&g->mu);
    snprintf(g->snap.account, sizeof g->snap.account, "%s", g->account);
    pthread_mutex_unlock(&g->mu);
    if (g->dry_run) {
        eng_set_message(
            g,
            "dry run: %zu items would be provisioned (%d calls each); nothing "
            "was sent",
            g->snap.total - p1.invalid, g->plan.n);
        final = ENG_DONE;
        goto out;
    }

    /* 3. the job in the journal */
    if (file_sha256(g->file, sha, &e) || jnl_open(&g->j, g->state_dir, &e)) {
        eng_set_message(g, "%s", err_format(&e, m, sizeof m));
        goto out;
    }
    buf ident = BUF_INIT;
    jobcfg_identity(&g->cfg, &ident);
    int resumed = 0;
    char where[600];
    endpoint_key(g, where, sizeof where);
    int guard = joblock_guard(jnl_dir(g->j), m, sizeof m);
    if (guard < 0) {
        buf_free(&ident);
        eng_set_message(g, "%s", m);
        goto out;
    }
    int rc = jnl_job_open(g->j, g->file, sha, g->phase, g->snap.batch_id, ident.data,
                          where, &g->job_id, &resumed, &e);
    buf_free(&ident);
    if (!rc)
        g->lock_fd = joblock_take(jnl_dir(g->j), g->job_id, m, sizeof m);
    joblock_release(guard);
    if (!rc) {
        if (g->lock_fd < 0) {
            eng_set_message(g, "%s", m);
            final = ENG_REJECTED;
            goto out;
        }
    }
    if (rc || jnl_item_states(g->j, g->job_id, &p2.steps, &p2.st, &p2.n_states, &e) ||
        jnl_job_set_status(g->j, g->job_id, JOB_RUNNING, &e)) {
        eng_set_message(g, "journal: %s", err_format(&e, m, sizeof m));
        goto out;
    }
    pthread_mutex_lock(&g->mu);
    g->snap.job_id = g->job_id;
    g->snap.resumed = resumed;
    pthread_mutex_unlock(&g->mu);

    /* 4. run */
    pace_apply(g);
    set_state(g, ENG_RUNNING);
    pthread_mutex_lock(&g->mu);
    g->t_start = rate_now();
    pthread_mutex_unlock(&g->mu);
    pthread_create(&g->journal_tid, NULL, jw_main, g);
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
        eng_set_message(g, "%s", err_format(&e, m, sizeof m));
    } else {
        err_clear(&e);
        if (scan_file(&sum, g->file, &so, pass2_cb, &p2, &e) && !atomic_load(&g->cancel))
            eng_set_message(g, "%s", err_format(&e, m, sizeof m));
        scan_summary_free(&sum);
    }
    queue_close(&g->work_q);
    for (int i = 0; i < started; i++)
        pthread_join(g->worker_tids[i], NULL);
    for (int i = 0; i < g->n_workers; i++)
        iot_client_free(ws[i].c);
    free(ws);
    queue_close(&g->jnl_q);
    pthread_join(g->journal_tid, NULL);
    if (started > 0)
        pace_keep(g);

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
    pf_needs_free(&p1.needs);
    free(p2.steps);
    free(p2.st);
    joblock_release(g->lock_fd);
    g->lock_fd = -1;
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
    g->state_dir = eng_dup_or_null(o->state_dir ? o->state_dir : o->cfg->state_dir);
    g->registry = eng_dup_or_null(o->registry);
    g->lock_fd = -1;
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
    g->cfg.thing_type = eng_dup_or_null(c->thing_type);
    g->cfg.cert_active = c->cert_active;
    g->cfg.thing_deferred = c->thing_deferred;
    g->cfg.skip_invalid = c->skip_invalid;
    g->cfg.infineon_bundle = eng_dup_or_null(c->infineon_bundle);
    g->cfg.microchip_signers = eng_dup_or_null(c->microchip_signers);
    g->n_workers = o->workers > 0 ? o->workers : c->workers > 0 ? c->workers : 32;
    g->dry_run = o->dry_run;
    g->max_attempts = o->max_attempts > 0 ? o->max_attempts : 10;
    for (int k = 0; k < PLAN_N_KINDS; k++) {
        iot_op op = plan_step_op((step_kind)k);
        double tps = iot_op_get(op)->tps;
        for (size_t i = 0; i < c->n_rates; i++)
            if (!strcmp(c->rates[i].op, iot_op_name(op))) {
                tps = c->rates[i].tps;
                g->rate_given[op] = 1;
            }
        g->rates[op] = rate_new(iot_op_name(op), tps);
    }
    g->breaker = call_breaker_new(3 * g->n_workers + 20);
    queue_init(&g->work_q, (size_t)g->n_workers * 4);
    queue_init(&g->jnl_q, 0);
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
    for (int i = 0; i < g->plan.n; i++)
        used[plan_step_op(g->plan.steps[i].kind)] = 1;
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
    for (work *w = queue_take_all(&g->work_q, 0); w;) {
        work *next = w->next;
        work_free(w);
        w = next;
    }
    jw_discard(g);
    call_breaker_free(g->breaker);
    queue_destroy(&g->work_q);
    queue_destroy(&g->jnl_q);
    pthread_mutex_destroy(&g->mu);
    free(g->worker_tids);
    jobcfg_free(&g->cfg);
    free(g->file);
    iot_target_free(&g->target);
    free(g->state_dir);
    free(g->registry);
    free(g);
}
