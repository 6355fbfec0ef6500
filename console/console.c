/* The console's main loop (see console.h): ticks, side effects of the
 * actions' reaction flags, redraws. */
#include "console/console.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "console/app.h"
#include "console/bg.h"
#include "console/keymap.h"
#include "console/picker.h"
#include "console/preview.h"
#include "console/screen.h"
#include "console/vm.h"
#include "engine/engine.h"
#include "engine/journal.h"
#include "engine/rate.h"
#include "engine/regcheck.h"
#include "iot/op.h"

#define TICK_MS 100
#define MIN_DRAW_GAP 0.1 /* seconds between redraws not caused by a key */
#define JOBS_REFRESH 2.0 /* seconds */
#define MAX_JOBS 200
#define ITEMS_PAGE 200

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* The resolved target, owned (console.h con_target's strings copied). */
typedef struct owned_target {
    int local;
    iot_target t; /* account NULL for the local endpoint */
    char *registry;
    keeper_refresh_fn refresh;
    void *refresh_ctx;
    long max_outage_ms;
    void (*trace)(void *ctx, const struct iot_trace *t);
    void *trace_ctx;
} owned_target;

/* A retarget running on its own thread (console.h con_retarget_fn). */
typedef struct retarget_job {
    pthread_t th;
    int running; /* a thread to join */
    pthread_mutex_t mu;
    int done;         /* under mu */
    app_where want;   /* copied in */
    int rc;           /* out, once done */
    owned_target got; /* out, once done and rc == 0 */
    app_target shown; /* out, once done and rc == 0 */
    char error[700];  /* out, once done and rc != 0 */
    con_retarget_fn fn;
    void *ctx;
} retarget_job;

typedef struct con {
    const con_opts *o;
    owned_target t; /* where jobs go now */
    retarget_job rt;
    app a;
    vm cur, shown;
    int have_shown;
    scr *s;
    eng *g;
    pv *pv;
    pk_prober *pk;
    regcheck *rc; /* the preview's registry check */
    bg *bg;       /* journal reads, listings, detection, reports */
    double last_jobs, last_items, last_draw;
} con;

static scr *fatal_scr;

/* ---- the target ---- */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void target_free(owned_target *t)
{
    iot_target_free(&t->t);
    free(t->registry);
    memset(t, 0, sizeof *t);
}

static void target_own(owned_target *out, const con_target *in)
{
    out->local = in->local;
    iot_target_copy(&out->t, in->target);
    if (in->local) {
        free(out->t.account);
        out->t.account = NULL;
    }
    out->registry = dup_or_null(in->registry);
    out->refresh = in->refresh;
    out->refresh_ctx = in->refresh_ctx;
    out->max_outage_ms = in->max_outage_ms;
    out->trace = in->trace;
    out->trace_ctx = in->trace_ctx;
}

/* What the screens show of a target (no secret). */
static void target_shown(app_target *out, const con_target *in)
{
    static const iot_target none;
    const iot_target *t = in->target ? in->target : &none;
    memset(out, 0, sizeof *out);
    out->local = in->local;
    snprintf(out->endpoint, sizeof out->endpoint, "%s",
             t->endpoint_url ? t->endpoint_url : "");
    snprintf(out->account, sizeof out->account, "%s",
             in->shown_account          ? in->shown_account
             : !in->local && t->account ? t->account
                                        : "");
    snprintf(out->describe, sizeof out->describe, "%s", in->describe ? in->describe : "");
    snprintf(out->registry, sizeof out->registry, "%s",
             in->registry      ? in->registry
             : t->endpoint_url ? t->endpoint_url
                               : "");
    snprintf(out->region, sizeof out->region, "%s", t->region ? t->region : "");
}

static void *retarget_main(void *arg)
{
    retarget_job *r = arg;
    con_where w = {.local = r->want.local,
                   .endpoint = r->want.endpoint,
                   .profile = r->want.profile,
                   .region = r->want.region};
    con_target t;
    memset(&t, 0, sizeof t);
    err e;
    err_clear(&e);
    owned_target got;
    memset(&got, 0, sizeof got);
    app_target shown;
    char error[700] = "";
    int rc = r->fn(r->ctx, &w, &t, &e);
    if (rc == 0) {
        target_own(&got, &t);
        target_shown(&shown, &t);
    } else {
        err_format(&e, error, sizeof error);
    }
    pthread_mutex_lock(&r->mu);
    r->rc = rc;
    r->got = got;
    if (rc == 0)
        r->shown = shown;
    snprintf(r->error, sizeof r->error, "%s", error[0] ? error : "cannot resolve");
    r->done = 1;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int start_retarget(con *c)
{
    retarget_job *r = &c->rt;
    if (r->running || !c->o->retarget)
        return app_retargeted(&c->a, NULL, "cannot change the endpoint now");
    r->want = c->a.where;
    r->done = 0;
    r->fn = c->o->retarget;
    r->ctx = c->o->retarget_ctx;
    memset(&r->got, 0, sizeof r->got);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&r->th, NULL, retarget_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return app_retargeted(&c->a, NULL, "cannot start a thread");
    r->running = 1;
    return RX_DIRTY;
}

/* Takes a finished retarget's result. */
static int poll_retarget(con *c)
{
    retarget_job *r = &c->rt;
    if (!r->running)
        return RX_NONE;
    pthread_mutex_lock(&r->mu);
    int done = r->done;
    pthread_mutex_unlock(&r->mu);
    if (!done)
        return RX_NONE;
    pthread_join(r->th, NULL);
    r->running = 0;
    if (r->rc)
        return app_retargeted(&c->a, NULL, r->error);
    target_free(&c->t);
    c->t = r->got;
    memset(&r->got, 0, sizeof r->got);
    return app_retargeted(&c->a, &r->shown, NULL);
}

/* base_fatal's hook: give the terminal back before aborting. */
static void restore_terminal(void)
{
    if (fatal_scr)
        scr_close(fatal_scr);
    fatal_scr = NULL;
}

/* ---- side effects ---- */

static int load_jobs(con *c)
{
    c->last_jobs = c->a.now;
    bg_req r = {.kind = BG_JOBS, .max = MAX_JOBS};
    bg_ask(c->bg, &r);
    return RX_NONE;
}

static int load_items(con *c)
{
    c->last_items = c->a.now;
    bg_req r = {.kind = BG_ITEMS,
                .job_id = c->a.items.job_id,
                .filter = c->a.items.filter,
                .off = c->a.items.want_off,
                .max = ITEMS_PAGE};
    bg_ask(c->bg, &r);
    return RX_NONE;
}

static int load_dir(con *c)
{
    pk_probe_free(c->pk);
    c->pk = NULL;
    bg_req r = {.kind = BG_DIR};
    snprintf(r.path, sizeof r.path, "%s", c->a.pick.dir);
    bg_ask(c->bg, &r);
    return RX_NONE;
}

static int detect(con *c)
{
    bg_req r = {.kind = BG_DETECT};
    snprintf(r.path, sizeof r.path, "%s", c->a.file.path);
    bg_ask(c->bg, &r);
    return RX_NONE;
}

static int export_report(con *c)
{
    bg_req r = {.kind = BG_EXPORT, .job_id = c->a.items.job_id};
    bg_ask(c->bg, &r);
    return RX_NONE;
}

/* Hands the background reader's answers to the app; drops those that no
 * longer match the screen (another job, page, folder or file since). */
static int take_answers(con *c)
{
    int rx = RX_NONE;
    bg_ans a;
    while (bg_take(c->bg, &a)) {
        const bg_req *q = &a.req;
        switch (q->kind) {
        case BG_JOBS:
            rx |= app_set_jobs(&c->a, a.jobs, a.n, a.ok ? NULL : a.error);
            a.jobs = NULL;
            break;
        case BG_ITEMS:
            if (q->job_id != c->a.items.job_id || q->filter != c->a.items.filter ||
                q->off != c->a.items.want_off)
                break;
            if (!a.ok) {
                app_message(&c->a, 1, "%s", a.error);
                rx |= RX_DIRTY;
                break;
            }
            rx |= app_set_items(&c->a, &a.job, a.items, a.n, q->off);
            a.items = NULL;
            break;
        case BG_DIR:
            if (strcmp(q->path, c->a.pick.dir))
                break;
            rx |= app_set_dir(&c->a, q->path, a.entries, a.n, a.ok ? NULL : a.error);
            a.entries = NULL;
            if (a.ok) {
                pk_probe_free(c->pk);
                c->pk = pk_probe_start(c->a.pick.dir, c->a.pick.v, c->a.pick.n);
            }
            break;
        case BG_DETECT:
            if (!c->a.file.path || strcmp(q->path, c->a.file.path))
                break;
            rx |= app_set_file_kind(&c->a, a.ok ? a.kind : VENDOR_AUTO,
                                    a.ok ? NULL : a.error);
            break;
        case BG_EXPORT:
            rx |= app_exported(&c->a, a.ok ? a.report : NULL, a.ok ? NULL : a.error);
            break;
        case BG_AUDIT:
            rx |= app_item_audit(&c->a, q->job_id, q->off, a.text, a.n,
                                 a.ok ? NULL : a.error);
            a.text = NULL;
            break;
        default:
            break;
        }
        bg_ans_free(&a);
    }
    return rx;
}

static int start_preview(con *c)
{
    pv_free(c->pv);
    c->pv = NULL;
    err e;
    err_clear(&e);
    if (pv_start(&c->pv, c->a.file.path, &c->a.cfg, &e)) {
        app_message(&c->a, 1, "%s", e.msg);
        return RX_DIRTY;
    }
    return RX_DIRTY;
}

static int start_check(con *c)
{
    rc_free(c->rc);
    c->rc = NULL;
    size_t n = c->a.pv.n;
    const char **fps = xcalloc(n ? n : 1, sizeof *fps);
    size_t *idx = xcalloc(n ? n : 1, sizeof *idx);
    for (size_t i = 0; i < n; i++) {
        fps[i] = c->a.pv.v[i].fp;
        idx[i] = c->a.pv.v[i].idx;
    }
    double tps = 0;
    for (size_t i = 0; i < c->a.cfg.n_rates; i++)
        if (!strcmp(c->a.cfg.rates[i].op, iot_op_name(IOT_OP_DESCRIBE_CERTIFICATE)))
            tps = c->a.cfg.rates[i].tps;
    const owned_target *t = &c->t;
    rc_opts ro = {
        .target = &t->t, .tps = tps, .trace = t->trace, .trace_ctx = t->trace_ctx};
    err e;
    err_clear(&e);
    int rc = rc_start(&c->rc, &ro, fps, idx, n, &e);
    free(fps);
    free(idx);
    if (rc) {
        char m[700];
        app_message(&c->a, 1, "registry check: %s", err_format(&e, m, sizeof m));
        app_check_status(&c->a, 0, n, 1);
    }
    return RX_DIRTY;
}

static int start_job(con *c)
{
    if (c->g) {
        eng_snapshot s;
        eng_snapshot_get(c->g, &s);
        if (s.state < ENG_DONE)
            return app_run_started(&c->a, 0, "another job is still running");
        eng_free(c->g);
        c->g = NULL;
        app_run_freed(&c->a);
    }
    const owned_target *t = &c->t;
    eng_opts eo = {
        .file = c->a.file.path,
        .cfg = &c->a.cfg,
        .target = &t->t,
        .state_dir = c->o->state_dir,
        .registry = t->registry,
        .workers = c->o->workers,
        .max_outage_ms = t->max_outage_ms,
        .refresh = t->refresh,
        .refresh_ctx = t->refresh_ctx,
        .trace = t->trace,
        .trace_ctx = t->trace_ctx,
        .resume_cancelled = c->a.run.resume_cancelled,
    };
    err e;
    err_clear(&e);
    /* the engine's threads inherit this mask: signals stay with this thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = eng_start(&c->g, &eo, &e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        char m[700];
        return app_run_started(&c->a, 0, err_format(&e, m, sizeof m));
    }
    return app_run_started(&c->a, 1, NULL);
}

/* Does what the flags ask; returns the flags the results raise. */
static int effects(con *c, int rx)
{
    int more = RX_NONE;
    if (rx & RX_CANCEL_JOB && c->g)
        eng_cancel(c->g);
    if (rx & RX_PAUSE_JOB && c->g)
        eng_pause(c->g);
    if (rx & RX_DETECT)
        more |= detect(c);
    if (rx & RX_LOAD_AUDIT && c->bg) {
        bg_req r = {
            .kind = BG_AUDIT, .job_id = c->a.items.job_id, .off = c->a.items.detail_idx};
        bg_ask(c->bg, &r);
    }
    if (rx & RX_LOAD_DIR)
        more |= load_dir(c);
    if (rx & (RX_START_PREVIEW | RX_STOP_CHECK)) {
        rc_free(c->rc);
        c->rc = NULL;
    }
    if (rx & RX_START_PREVIEW)
        more |= start_preview(c);
    if (rx & RX_START_CHECK)
        more |= start_check(c);
    if (rx & RX_RETARGET)
        more |= start_retarget(c);
    if (rx & RX_START_JOB)
        more |= start_job(c);
    if (rx & RX_EXPORT)
        more |= export_report(c);
    if (rx & RX_LOAD_JOBS)
        more |= load_jobs(c);
    if (rx & RX_LOAD_ITEMS)
        more |= load_items(c);
    return more;
}

/* ---- ticks ---- */

static int tick(con *c)
{
    int rx = poll_retarget(c) | take_answers(c);
    if (c->g) {
        eng_snapshot s;
        eng_event ev[32];
        eng_snapshot_get(c->g, &s);
        size_t n = eng_events(c->g, ev, 32);
        rx |= app_run_update(&c->a, &s, ev, n);
    }
    if (c->pv) {
        pv_row *rows;
        size_t n = pv_take(c->pv, &rows);
        pv_status st;
        pv_status_get(c->pv, &st);
        if (n)
            rx |= app_preview_add(&c->a, rows, n);
        else
            free(rows);
        rx |= app_preview_status(&c->a, &st);
        if (st.done) {
            /* rows handed over before the status said done: take the last */
            n = pv_take(c->pv, &rows);
            if (n)
                rx |= app_preview_add(&c->a, rows, n);
            else
                free(rows);
            pv_free(c->pv);
            c->pv = NULL;
        }
    }
    if (c->rc && !c->a.pv.rc_on) { /* another file or preview since */
        rc_free(c->rc);
        c->rc = NULL;
    }
    if (c->rc) {
        rc_result r[64];
        size_t checked, total;
        int finished;
        /* the status first: once finished, one take sees every result */
        rc_status(c->rc, &checked, &total, &finished);
        size_t n = rc_take(c->rc, r, 64);
        if (n)
            rx |= app_check_results(&c->a, r, n);
        if (finished && n < 64) {
            rc_free(c->rc);
            c->rc = NULL;
        } else {
            finished = 0; /* results still to take */
        }
        rx |= app_check_status(&c->a, checked, total, finished);
    }
    if (c->pk) {
        pk_result r[64];
        size_t n = pk_probe_take(c->pk, r, 64);
        if (n)
            rx |= app_probed(&c->a, r, n);
        if (!n && !pk_probe_busy(c->pk)) {
            pk_probe_free(c->pk);
            c->pk = NULL;
        }
    }
    int running = c->a.run.active && !app_run_finished(&c->a);
    if (c->a.screen == APP_JOBS &&
        c->a.now - c->last_jobs >= (running ? 1.0 : JOBS_REFRESH))
        rx |= RX_LOAD_JOBS;
    if (c->a.screen == APP_ITEMS && running && c->a.items.job_id == c->a.run.s.job_id &&
        c->a.now - c->last_items >= 1.0)
        rx |= RX_LOAD_ITEMS;
    return rx;
}

static void draw(con *c, int forced)
{
    vm_build(&c->cur, &c->a);
    if (c->have_shown && vm_equal(&c->cur, &c->shown))
        return;
    if (!forced && c->a.now - c->last_draw < MIN_DRAW_GAP)
        return;
    scr_draw(c->s, &c->cur);
    vm_copy(&c->shown, &c->cur);
    c->have_shown = 1;
    c->last_draw = c->a.now;
}

/* Stops a running job before leaving: the calls in flight finish and the
 * journal records them, so the job resumes later. */
static void stop_engine(con *c)
{
    if (!c->g)
        return;
    eng_snapshot s;
    eng_snapshot_get(c->g, &s);
    if (s.state < ENG_DONE) {
        eng_pause(c->g); /* quitting pauses: the same job resumes later */
        app_message(&c->a, 0, "stopping job %lld after the calls in flight...", s.job_id);
        c->a.run.stopping = 1;
        draw(c, 1);
    }
    eng_free(c->g);
    c->g = NULL;
}

int con_run(const con_opts *o, err *e)
{
    con c;
    memset(&c, 0, sizeof c);
    c.o = o;
    setlocale(LC_ALL, "");
    int utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");

    app_target t;
    target_shown(&t, &o->target);
    target_own(&c.t, &o->target);
    pthread_mutex_init(&c.rt.mu, NULL);
    app_init(&c.a, o->defaults, &t, o->state_dir, o->samples_dir, o->start_dir);
    app_set_locked(&c.a, o->locked, o->n_locked, o->locked_by);
    app_where aw;
    memset(&aw, 0, sizeof aw);
    aw.local = o->where.local;
    snprintf(aw.endpoint, sizeof aw.endpoint, "%s",
             o->where.endpoint ? o->where.endpoint : "");
    snprintf(aw.profile, sizeof aw.profile, "%s",
             o->where.profile ? o->where.profile : "");
    snprintf(aw.region, sizeof aw.region, "%s", o->where.region ? o->where.region : "");
    app_set_where(&c.a, &aw, o->retarget != NULL);
    c.bg = bg_start(o->state_dir, o->samples_dir);
    if (!c.bg) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "cannot start the console's reader thread");
        app_free(&c.a);
        target_free(&c.t);
        pthread_mutex_destroy(&c.rt.mu);
        return -1;
    }
    c.a.utf8 = utf8;
    c.a.now = rate_now();
    vm_init(&c.cur);
    vm_init(&c.shown);

    /* before curses starts: it installs its own handlers only where none is */
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    got_signal = 0;

    if (scr_open(&c.s, o->color, e)) {
        bg_free(c.bg);
        app_free(&c.a);
        target_free(&c.t);
        pthread_mutex_destroy(&c.rt.mu);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        return -1;
    }
    fatal_scr = c.s;
    base_set_fatal_hook(restore_terminal);

    int h, w;
    scr_size(c.s, &h, &w);
    int rx = app_resize(&c.a, h, w) | RX_LOAD_JOBS;
    if (o->file)
        rx |= app_choose_file(&c.a, o->file, VENDOR_AUTO, -1);
    double last_tick = 0;
    int key_pending = 1;
    for (;;) {
        c.a.now = rate_now();
        if (c.a.now - last_tick >= TICK_MS / 1000.0) {
            last_tick = c.a.now;
            rx |= tick(&c);
        }
        /* reactions can raise more (a load finishing a run, a start failing) */
        for (int round = 0; round < 4 && (rx & ~(RX_DIRTY | RX_QUIT)); round++) {
            int quit = rx & RX_QUIT;
            rx = effects(&c, rx) | quit;
        }
        if (rx & RX_QUIT)
            break;
        draw(&c, key_pending);
        key_pending = 0;
        rx = RX_NONE;

        int wait = TICK_MS - (int)((rate_now() - last_tick) * 1000);
        int key = scr_key(c.s, wait > 0 ? wait : 0);
        if (got_signal) {
            got_signal = 0;
            act x = {ACT_INTERRUPT, 0};
            rx |= app_do(&c.a, x);
            continue;
        }
        if (key == KM_NONE)
            continue;
        if (key == KM_RESIZE) {
            scr_size(c.s, &h, &w);
            rx |= app_resize(&c.a, h, w);
            scr_invalidate(c.s);
        }
        c.a.now = rate_now();
        rx |= app_do(&c.a, km_map(app_keyctx(&c.a), key));
        key_pending = 1;
    }
    stop_engine(&c);
    pv_free(c.pv);
    rc_free(c.rc);
    if (c.rt.running) {
        pthread_join(c.rt.th, NULL);
        target_free(&c.rt.got);
    }
    pthread_mutex_destroy(&c.rt.mu);
    target_free(&c.t);
    pk_probe_free(c.pk);
    bg_free(c.bg);
    fatal_scr = NULL;
    scr_close(c.s);
    base_set_fatal_hook(NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    vm_free(&c.cur);
    vm_free(&c.shown);
    app_free(&c.a);
    return 0;
}

const char *con_curses_version(void)
{
    return scr_curses_version();
}
