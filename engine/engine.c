/* The job's life cycle (see engine.h): the engine thread (validation,
 * pre-flight, the journal's job, feeding the work queue from pass 2, the end
 * of the job), the public API (start, snapshot, events, cancel, wait, free)
 * and the progress the other threads report into.
 *
 * The parts, one job each (eng_impl.h holds struct eng):
 *   inputsnap.c the job's copy of its input: hashed, validated and sent
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
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/who.h"
#include "base/xalloc.h"
#include "engine/eng_impl.h"
#include "engine/inputsnap.h"
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
    static const char *const n[] = {"validating", "pre-flight", "running",
                                    "done",       "failed",     "cancelled",
                                    "rejected",   "error",      "paused"};
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

/* "journal FILE: WHAT FAILED; OUTCOME: REMEDY" for a failed journal write. */
static void journal_message(eng *g, const err *e, const char *outcome)
{
    eng_set_message(
        g, "journal %s%s%s; %s: %s", e->where, e->where[0] ? ": " : "", e->msg, outcome,
        e->code == ERR_LIMIT ? "free space and run the same command again"
                             : "run the same command again once that is fixed");
}

void eng_journal_failed(eng *g, const err *e)
{
    if (!atomic_exchange(&g->journal_failed, 1))
        journal_message(g, e, "the job stopped with its items pending");
    eng_stop(g);
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

/* Pass 2's state: the journal's item states, by index. */
typedef struct {
    eng *g;
    jnl_item_state *st; /* the journal's, by index (resume) */
    size_t n_states;
} pass2;

/* Between the passes: every item of the file in the journal before anything
 * is sent, pending (an invalid one skipped, when the job skips them), so that
 * the Jobs list, `status` and the report count the whole job from its start
 * and after a stop, not only the items fed to the workers so far. On the
 * engine's thread, before the journal thread starts; one transaction; on a
 * resume only the items not recorded yet. */
typedef struct {
    eng *g;
    const jnl_item_state *st;
    size_t n_states;
    size_t added;
    int journal_failed; /* else the file could not be read again */
    err *e;
} stage;

static int stage_cb(void *ctx, item *it)
{
    stage *p = ctx;
    size_t idx = it->index;
    if (idx < p->n_states && p->st[idx].step >= 0)
        return 0;
    char low[65];
    if (jnl_item_add(p->g->j, p->g->job_id, idx, it->thing_name, fp_of(it, low),
                     it->verdict == ITEM_ERROR ? JNL_SKIPPED : JNL_PENDING,
                     it->verdict == ITEM_ERROR ? it->message : NULL, p->e)) {
        p->journal_failed = 1;
        return -1;
    }
    p->added++;
    return 0;
}

/* Returns 0, or -1 with e set and *journal 1 when a journal write failed (0:
 * the file could not be read again); nothing was sent. p2's states are
 * reloaded. */
static int stage_items(eng *g, const char *input, const scan_opts *so, pass2 *p2, err *e,
                       int *journal)
{
    stage st = {g, p2->st, p2->n_states, 0, 0, e};
    *journal = 1;
    if (jnl_begin(g->j, e))
        return -1;
    scan_summary sum;
    err_clear(e);
    int rc = scan_file(&sum, input, so, stage_cb, &st, e);
    scan_summary_free(&sum);
    if (rc || st.journal_failed) {
        *journal = st.journal_failed;
        jnl_rollback(g->j);
        return -1;
    }
    if (jnl_commit(g->j, e))
        return -1;
    if (!st.added)
        return 0;
    free(p2->st);
    p2->st = NULL;
    p2->n_states = 0;
    return jnl_item_states(g->j, g->job_id, &p2->st, &p2->n_states, e);
}

/* Pass 2: feed the workers. */

static int pass2_cb(void *ctx, item *it)
{
    pass2 *p = ctx;
    eng *g = p->g;
    if (atomic_load(&g->cancel))
        return -1; /* every item is in the journal already (stage_items) */
    size_t idx = it->index;
    if (idx >= p->n_states || p->st[idx].step < 0) { /* cannot be: staged first */
        err e;
        err_set(&e, ERR_INTERNAL, NULL, 0, (long)idx, "item %zu is not in the journal",
                idx);
        eng_journal_failed(g, &e);
        return -1;
    }
    jnl_status st = p->st[idx].status;
    if (st == JNL_DONE || st == JNL_SKIPPED) {
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
    if (it->verdict == ITEM_ERROR) { /* recorded skipped when it was staged */
        atomic_fetch_add(&g->skipped, 1);
        return 0;
    }
    char low[65];
    const char *fp = fp_of(it, low);
    work *w = xcalloc(1, sizeof *w);
    w->idx = idx;
    w->start = p->st[idx].step;        /* 0 for a new item */
    w->attempts = p->st[idx].attempts; /* the calls of earlier runs */
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
        .trace = g->trace,
        .trace_ctx = g->trace_ctx,
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
    g->t_end = rate_now();
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

/* Who runs the job and where, for its report (journal.h: jnl_job_set_run). */
static int record_run(eng *g, err *e)
{
    who w;
    who_get(&w);
    jnl_run r = {
        .endpoint_url = g->target.endpoint_url,
        .region = g->target.region,
        .account = g->account,
        .user = w.user,
        .station = w.station,
    };
    return jnl_job_set_run(g->j, g->job_id, &r, e);
}

/* The report of every item (journal.h: jnl_report), written at the end of
 * every run that held the job: done, failed, paused, cancelled or stopped by
 * an error. A report that cannot be written (a full disk) does not change
 * how the job ended; the snapshot says why it is missing. */
static void write_report(eng *g)
{
    char path[1024] = "";
    err e;
    err_clear(&e);
    int rc = jnl_report(g->j, g->job_id, path, sizeof path, &e);
    char m[sizeof g->snap.report_error];
    if (rc)
        err_format(&e, m, sizeof m);
    pthread_mutex_lock(&g->mu);
    snprintf(g->snap.report, sizeof g->snap.report, "%s", rc ? "" : path);
    snprintf(g->snap.report_error, sizeof g->snap.report_error, "%s", rc ? m : "");
    pthread_mutex_unlock(&g->mu);
}

/* One event of the job's life in the audit log (members: a JSON object, or
 * NULL for none), on disk with the journal's chain head when this returns.
 * The engine thread, while it owns the journal: before the journal thread
 * starts or after it ended. */
static int job_event(eng *g, const char *event, const char *members, err *e)
{
    if (jnl_audit(g->j, g->job_id, event, members ? members : "{}", e))
        return -1;
    return jnl_commit(g->j, e);
}

/* job_start / job_resume: what runs, from where, against what. */
static int job_started(eng *g, const char *file, const char *identity, int resumed,
                       jnl_job_status was, err *e)
{
    buf a = BUF_INIT;
    buf_puts(&a, "{\"file\":");
    buf_json_str(&a, file);
    buf_printf(&a, ",\"sha256\":\"%s\",\"phase\":%d,\"batch\":", g->in.sha256, g->phase);
    buf_json_str(&a, g->snap.batch_id);
    buf_printf(&a, ",\"items\":%zu,\"options\":%s,\"endpoint\":", g->snap.total,
               identity);
    buf_json_str(&a, g->target.endpoint_url ? g->target.endpoint_url : "");
    if (g->registry) {
        buf_puts(&a, ",\"registry\":");
        buf_json_str(&a, g->registry);
    }
    buf_puts(&a, ",\"region\":");
    buf_json_str(&a, g->target.region);
    buf_puts(&a, ",\"account\":");
    if (g->account[0])
        buf_json_str(&a, g->account);
    else
        buf_puts(&a, "null");
    buf_printf(&a, ",\"workers\":%d", g->n_workers);
    if (resumed)
        buf_printf(&a, ",\"was\":\"%s\"", jnl_job_status_name(was));
    buf_putc(&a, '}');
    int rc = job_event(g, resumed ? "job_resume" : "job_start", a.data, e);
    buf_free(&a);
    return rc;
}

/* job_end / job_pause / job_cancel: how the run ended, its counts. */
static int job_ended(eng *g, const char *event, const char *status, const char *reason,
                     err *e)
{
    size_t done = atomic_load(&g->done), failed = atomic_load(&g->failed),
           skipped = atomic_load(&g->skipped);
    size_t total = g->snap.total; /* set by pass 1, before any worker */
    size_t finished = done + failed + skipped;
    buf a = BUF_INIT;
    buf_printf(&a,
               "{\"status\":\"%s\",\"counts\":{\"total\":%zu,\"done\":%zu,"
               "\"failed\":%zu,\"skipped\":%zu,\"pending\":%zu},\"calls\":%llu",
               status, total, done, failed, skipped,
               total > finished ? total - finished : 0, atomic_load(&g->calls));
    if (reason && *reason) {
        buf_puts(&a, ",\"reason\":");
        buf_json_str(&a, reason);
    }
    buf_putc(&a, '}');
    int rc = job_event(g, event, a.data, e);
    buf_free(&a);
    return rc;
}

/* The pause of a run that stopped on an error, with its reason, as far as
 * the audit log can still be written. */
static void job_interrupted(eng *g)
{
    char why[sizeof g->snap.message];
    pthread_mutex_lock(&g->mu);
    snprintf(why, sizeof why, "%s", g->snap.message);
    pthread_mutex_unlock(&g->mu);
    job_ended(g, "job_pause", "running", why, NULL);
}

static void test_point(eng *g, const char *point)
{
    if (g->test_hook)
        g->test_hook(g->test_hook_ctx, point);
}

/* The scans read the copy; their errors name the file the operator gave. */
static void name_input(eng *g, err *e)
{
    if (g->in.path[0] && !strncmp(e->where, g->in.path, sizeof e->where - 1))
        snprintf(e->where, sizeof e->where, "%s", g->file);
}

/* The input is refused: it changed since the job began reading it. */
static void input_changed(eng *g, const err *e)
{
    char m[700];
    eng_set_message(g, "%s", err_format(e, m, sizeof m));
    pthread_mutex_lock(&g->mu);
    g->snap.input_changed = 1;
    pthread_mutex_unlock(&g->mu);
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
    eng_state final = ENG_ERROR;
    /* the file the operator gave, as found when the job was started */
    const char *path = g->file_abs ? g->file_abs : g->file;
    /* what the passes read: the job's copy of it (inputsnap.h), or the file
     * itself for a dry run, which sends nothing and records nothing */
    const char *input = g->file;

    /* 0. the job's copy of its input, and its SHA-256 */
    if (!g->dry_run) {
        int refused = 0;
        if (inputsnap_take(&g->in, g->state_dir, path, g->file, &refused, &e)) {
            eng_set_message(g, "%s", err_format(&e, m, sizeof m));
            final = refused ? ENG_REJECTED : ENG_ERROR;
            goto out;
        }
        test_point(g, "copied");
        if (inputsnap_unchanged(&g->in, path, g->file, &e)) {
            input_changed(g, &e);
            final = ENG_REJECTED;
            goto out;
        }
        input = g->in.path;
    }

    /* 1. validate */
    scan_opts so = scan_options(g);
    scan_summary sum;
    if (scan_file(&sum, input, &so, pass1_cb, &p1, &e)) {
        name_input(g, &e);
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
    test_point(g, "validated");
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
        final = !atomic_load(&g->cancel)           ? ENG_REJECTED
                : atomic_load(&g->pause_requested) ? ENG_PAUSED
                                                   : ENG_CANCELLED;
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

    /* 3. the job in the journal, unless the file changed since it was copied
     * (after this, changes to it no longer matter: the job reads its copy) */
    if (inputsnap_unchanged(&g->in, path, g->file, &e)) {
        input_changed(g, &e);
        final = ENG_REJECTED;
        goto out;
    }
    if (jnl_open(&g->j, g->state_dir, &e)) {
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
    int rc = jnl_job_open(g->j, path, g->in.sha256, g->phase, g->snap.batch_id,
                          ident.data, where, &g->job_id, &resumed, &e);
    if (!rc)
        g->lock_fd = joblock_take(jnl_dir(g->j), g->job_id, m, sizeof m);
    joblock_release(guard);
    if (!rc) {
        if (g->lock_fd < 0) {
            buf_free(&ident);
            eng_set_message(g, "%s", m);
            final = ENG_REJECTED;
            goto out;
        }
    }
    if (!rc && resumed && !g->resume_cancelled) {
        /* the operator's cancel is not undone by running the same file again */
        jnl_job jb;
        if (!jnl_job_get(g->j, g->job_id, &jb, &e) && jb.status == JOB_CANCELLED) {
            eng_set_message(g,
                            "job %lld was cancelled by the operator; nothing was sent: "
                            "to go on with it, resume it explicitly (provision "
                            "--resume-cancelled, or F5 on it in the console's Jobs)",
                            g->job_id);
            pthread_mutex_lock(&g->mu);
            g->snap.job_id = g->job_id;
            g->snap.cancelled_job = 1;
            pthread_mutex_unlock(&g->mu);
            buf_free(&ident);
            final = ENG_REJECTED;
            goto out;
        }
        err_clear(&e);
    }
    jnl_job was = {0};
    if (rc || (resumed && jnl_job_get(g->j, g->job_id, &was, &e)) ||
        jnl_item_states(g->j, g->job_id, &p2.st, &p2.n_states, &e) ||
        jnl_job_set_status(g->j, g->job_id, JOB_RUNNING, &e) || record_run(g, &e) ||
        job_started(g, path, ident.data, resumed, was.status, &e)) {
        buf_free(&ident);
        journal_message(g, &e, "nothing was sent");
        goto out;
    }
    buf_free(&ident);
    pthread_mutex_lock(&g->mu);
    g->snap.job_id = g->job_id;
    g->snap.resumed = resumed;
    pthread_mutex_unlock(&g->mu);
    int staging_journal;
    if (stage_items(g, input, &so, &p2, &e, &staging_journal)) {
        if (staging_journal) {
            journal_message(g, &e, "nothing was sent");
        } else {
            name_input(g, &e);
            eng_set_message(g, "%s; nothing was sent", err_format(&e, m, sizeof m));
        }
        job_interrupted(g);
        goto out; /* ENG_ERROR; the job stays running in the journal: resumable */
    }

    /* 4. run */
    test_point(g, "sending");
    pace_apply(g);
    ceil_ips = plan_ceiling(&g->plan, g->rates); /* the learned pace's, if faster */
    pthread_mutex_lock(&g->mu);
    g->snap.ceiling = ceil_ips;
    pthread_mutex_unlock(&g->mu);
    set_state(g, ENG_RUNNING);
    pthread_mutex_lock(&g->mu);
    g->t_start = rate_now();
    pthread_mutex_unlock(&g->mu);
    int trc = pthread_create(&g->journal_tid, NULL, jw_main, g);
    if (trc) { /* nothing could be recorded: send nothing */
        eng_set_message(g, "cannot start the journal thread: %s; nothing was sent",
                        strerror(trc));
        job_interrupted(g);
        goto out; /* ENG_ERROR; the job stays running in the journal: resumable */
    }
    worker *ws = xcalloc((size_t)g->n_workers, sizeof *ws);
    g->worker_tids = xcalloc((size_t)g->n_workers, sizeof *g->worker_tids);
    int started = 0;
    for (int i = 0; i < g->n_workers; i++) {
        ws[i].g = g;
        ws[i].seed = (unsigned int)(time(NULL) ^ (unsigned)i * 2654435761u);
        if (iot_client_new(&ws[i].c, &cc, &e))
            break;
        /* fewer workers than asked for still run the job */
        if ((trc = pthread_create(&g->worker_tids[i], NULL, worker_main, &ws[i]))) {
            err_set(&e, ERR_INTERNAL, NULL, 0, -1, "cannot start a worker thread: %s",
                    strerror(trc));
            break;
        }
        started++;
    }
    if (started == 0) {
        eng_set_message(g, "%s; nothing was sent", err_format(&e, m, sizeof m));
    } else {
        err_clear(&e);
        if (scan_file(&sum, input, &so, pass2_cb, &p2, &e) && !atomic_load(&g->cancel)) {
            name_input(g, &e);
            eng_set_message(g, "%s", err_format(&e, m, sizeof m));
        }
        scan_summary_free(&sum);
    }
    queue_close(&g->work_q);
    for (int i = 0; i < started; i++) /* only the threads that were created */
        pthread_join(g->worker_tids[i], NULL);
    for (int i = 0; i < g->n_workers; i++)
        iot_client_free(ws[i].c);
    free(ws);
    queue_close(&g->jnl_q);
    pthread_join(g->journal_tid, NULL);
    if (started > 0)
        pace_keep(g);

    /* the counts are the journal's now: its thread has written (or given up on)
     * every record */
    if (atomic_load(&g->journal_failed)) {
        job_interrupted(g); /* if the audit log is what failed, in vain */
        goto out; /* ENG_ERROR; the job stays running in the journal: resumable */
    }
    jnl_job_status js;
    const char *event = "job_end";
    if (started == 0) {
        final = ENG_ERROR;
        js = JOB_RUNNING; /* interrupted: resumable */
        event = "job_pause";
    } else if (call_breaker_tripped(g->breaker) || atomic_load(&g->pause_requested)) {
        final = ENG_PAUSED;
        js = JOB_PAUSED; /* resumable */
        event = "job_pause";
    } else if (atomic_load(&g->cancel)) {
        final = ENG_CANCELLED;
        js = JOB_CANCELLED;
        event = "job_cancel";
    } else if (atomic_load(&g->failed)) {
        final = ENG_FAILED;
        js = JOB_FAILED;
    } else {
        final = ENG_DONE;
        js = JOB_DONE;
    }
    err_clear(&e);
    if (jnl_job_set_status(g->j, g->job_id, js, &e)) {
        journal_message(g, &e, "the job's end is not recorded");
        final = ENG_ERROR;
        goto out;
    }
    char why[sizeof g->snap.message] = "";
    if (!strcmp(event, "job_pause")) {
        pthread_mutex_lock(&g->mu);
        snprintf(why, sizeof why, "%s", g->snap.message);
        pthread_mutex_unlock(&g->mu);
    }
    if (job_ended(g, event, jnl_job_status_name(js), why, &e)) {
        journal_message(g, &e, "the job's end is not in the audit log");
        final = ENG_ERROR;
        goto out;
    }
out:
    /* every run that held the job ends with its report */
    if (g->j && g->job_id > 0 && g->lock_fd >= 0)
        write_report(g);
    iot_client_free(c);
    pf_needs_free(&p1.needs);
    free(p2.st);
    joblock_release(g->lock_fd);
    g->lock_fd = -1;
    inputsnap_drop(&g->in);
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
    /* the journal records where the file is, wherever the job is resumed
     * from; NULL when it cannot be resolved (the job then says why) */
    g->file_abs = realpath(o->file, NULL);
    inputsnap_init(&g->in);
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
    g->resume_cancelled = o->resume_cancelled;
    const char *no_sync = getenv("THINGPRESS_BENCH_NO_INTENT_SYNC");
    g->intent_sync = !(no_sync && *no_sync && strcmp(no_sync, "0"));
    g->max_attempts = o->max_attempts > 0 ? o->max_attempts : 10;
    g->test_hook = o->test_hook;
    g->test_hook_ctx = o->test_hook_ctx;
    g->trace = o->trace;
    g->trace_ctx = o->trace_ctx;
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
    /* an outage: as many systemic failures in a row as there are workers
     * (at least 8), with no other answer between them */
    long max_outage = o->max_outage_ms > 0   ? o->max_outage_ms
                      : o->max_outage_ms < 0 ? 0
                                             : ENG_DEFAULT_MAX_OUTAGE_MS;
    g->breaker = call_breaker_new(g->n_workers > 8 ? g->n_workers : 8, max_outage);
    g->creds = keeper_new(&g->target, o->refresh, o->refresh_ctx);
    queue_init(&g->work_q, (size_t)g->n_workers * 4);
    queue_init(&g->jnl_q, 0);
    pthread_mutex_init(&g->mu, NULL);
    atomic_init(&g->cancel, 0);
    g->snap.state = ENG_VALIDATING;
    g->snap.dry_run = g->dry_run;
    snprintf(g->snap.endpoint, sizeof g->snap.endpoint, "%s",
             g->target.endpoint_url ? g->target.endpoint_url : "");
    int trc = pthread_create(&g->main_tid, NULL, engine_main, g);
    if (trc) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "cannot start the engine thread: %s",
                strerror(trc));
        eng_free(g); /* no thread to join */
        return -1;
    }
    g->main_started = 1;
    *out = g;
    return 0;
}

void eng_snapshot_get(eng *g, eng_snapshot *out)
{
    pthread_mutex_lock(&g->mu);
    *out = g->snap;
    double t0 = g->t_start, t1 = g->t_end;
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
    out->elapsed = t0 > 0 ? (t1 > 0 ? t1 : rate_now()) - t0 : 0;
    /* while running, a rate over less than half a second says nothing; at
     * the end it is the job's rate, however short (not "0.0 items/s") */
    out->items_per_s = out->elapsed > 0.5 || (t1 > 0 && out->elapsed > 0)
                           ? (double)this_run / out->elapsed
                           : 0;
    size_t finished = out->done + out->failed + out->skipped;
    size_t left = out->total > finished ? out->total - finished : 0;
    out->eta = out->items_per_s > 0 ? (double)left / out->items_per_s : -1;
    call_outage ou;
    call_breaker_status(g->breaker, &ou);
    out->waiting = ou.open && !call_breaker_tripped(g->breaker);
    snprintf(out->waiting_for, sizeof out->waiting_for, "%s", ou.open ? ou.reason : "");
    out->outage_s = (double)ou.for_ms / 1000;
    out->next_try_s = (double)ou.next_ms / 1000;
    out->max_outage_s = (double)ou.max_ms / 1000;
    out->outages = ou.outages;
    out->outage_total_s = (double)ou.waited_ms / 1000;
    unsigned refreshed = 0, refresh_failed = 0;
    keeper_counts(g->creds, &refreshed, &refresh_failed);
    out->creds_refreshed = refreshed;
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

void eng_pause(eng *g)
{
    atomic_store(&g->pause_requested, 1);
    eng_stop(g);
}

eng_state eng_wait(eng *g)
{
    if (g->main_started) { /* joined once; later calls only read the state */
        pthread_join(g->main_tid, NULL);
        g->main_started = 0;
    }
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
    keeper_free(g->creds);
    queue_destroy(&g->work_q);
    queue_destroy(&g->jnl_q);
    pthread_mutex_destroy(&g->mu);
    free(g->worker_tids);
    jobcfg_free(&g->cfg);
    free(g->file);
    free(g->file_abs);
    iot_target_free(&g->target);
    free(g->state_dir);
    free(g->registry);
    free(g);
}
