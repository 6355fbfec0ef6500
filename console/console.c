/* The console's main loop (see console.h): ticks, side effects of the
 * actions' reaction flags, redraws. */
#include "console/console.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "console/app.h"
#include "console/keymap.h"
#include "console/picker.h"
#include "console/preview.h"
#include "console/screen.h"
#include "console/vm.h"
#include "engine/engine.h"
#include "engine/journal.h"
#include "engine/rate.h"
#include "engine/regcheck.h"

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

typedef struct con {
    const con_opts *o;
    app a;
    vm cur, shown;
    int have_shown;
    scr *s;
    eng *g;
    pv *pv;
    pk_prober *pk;
    regcheck *rc; /* the preview's registry check */
    journal *j;   /* a reader of the journal, opened once it exists */
    double last_jobs, last_items, last_draw;
} con;

static scr *fatal_scr;

/* base_fatal's hook: give the terminal back before aborting. */
static void restore_terminal(void)
{
    if (fatal_scr)
        scr_close(fatal_scr);
    fatal_scr = NULL;
}

/* ---- side effects ---- */

static int open_journal(con *c, char *why, size_t n)
{
    if (c->j)
        return 0;
    err e;
    err_clear(&e);
    if (jnl_open_existing(&c->j, c->o->state_dir, &e)) {
        snprintf(why, n, "%s", e.msg);
        return -1;
    }
    return 0;
}

static int load_jobs(con *c)
{
    char why[600];
    c->last_jobs = c->a.now;
    if (open_journal(c, why, sizeof why)) {
        /* no journal yet is the normal first start, not an error to show */
        char db[1200];
        snprintf(db, sizeof db, "%s/journal.db", c->o->state_dir);
        return app_set_jobs(&c->a, NULL, 0, access(db, F_OK) ? NULL : why);
    }
    size_t n = MAX_JOBS;
    jnl_job *v = xcalloc(n, sizeof *v);
    err e;
    err_clear(&e);
    if (jnl_job_list(c->j, v, &n, &e)) {
        free(v);
        return app_set_jobs(&c->a, NULL, 0, e.msg);
    }
    return app_set_jobs(&c->a, v, n, NULL);
}

static int load_items(con *c)
{
    char why[600];
    c->last_items = c->a.now;
    if (open_journal(c, why, sizeof why)) {
        app_message(&c->a, 1, "%s", why);
        return RX_DIRTY;
    }
    err e;
    err_clear(&e);
    jnl_job job;
    if (jnl_job_get(c->j, c->a.items.job_id, &job, &e)) {
        app_message(&c->a, 1, "%s", e.msg);
        return RX_DIRTY;
    }
    size_t n = ITEMS_PAGE;
    jnl_item *v = xcalloc(n, sizeof *v);
    if (jnl_item_list(c->j, c->a.items.job_id, c->a.items.filter, c->a.items.want_off, v,
                      &n, &e)) {
        free(v);
        app_message(&c->a, 1, "%s", e.msg);
        return RX_DIRTY;
    }
    return app_set_items(&c->a, &job, v, n, c->a.items.want_off);
}

static int load_dir(con *c)
{
    pk_probe_free(c->pk);
    c->pk = NULL;
    pk_entry *v;
    size_t n;
    err e;
    err_clear(&e);
    char *dir = xstrdup(c->a.pick.dir);
    int rx;
    if (pk_list(&v, &n, dir, c->o->samples_dir, &e)) {
        rx = app_set_dir(&c->a, dir, NULL, 0, e.msg);
    } else {
        rx = app_set_dir(&c->a, dir, v, n, NULL);
        c->pk = pk_probe_start(dir, c->a.pick.v, c->a.pick.n);
    }
    free(dir);
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
        if (!strcmp(c->a.cfg.rates[i].op, "DescribeCertificate"))
            tps = c->a.cfg.rates[i].tps;
    const con_opts *o = c->o;
    rc_opts ro = {.endpoint_url = o->endpoint_url,
                  .region = o->region,
                  .access_key = o->access_key,
                  .secret_key = o->secret_key,
                  .session_token = o->session_token,
                  .ca_bundle = o->ca_bundle,
                  .tps = tps};
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
    const con_opts *o = c->o;
    eng_opts eo = {
        .file = c->a.file.path,
        .cfg = &c->a.cfg,
        .endpoint_url = o->endpoint_url,
        .region = o->region,
        .access_key = o->access_key,
        .secret_key = o->secret_key,
        .session_token = o->session_token,
        .ca_bundle = o->ca_bundle,
        .account = o->account,
        .state_dir = o->state_dir,
        .registry = o->registry,
        .workers = o->workers,
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

static int export_report(con *c)
{
    char why[600], path[1024];
    if (open_journal(c, why, sizeof why))
        return app_exported(&c->a, NULL, why);
    err e;
    err_clear(&e);
    if (jnl_report(c->j, c->a.items.job_id, path, sizeof path, &e))
        return app_exported(&c->a, NULL, e.msg);
    return app_exported(&c->a, path, NULL);
}

static int detect(con *c)
{
    vendor v;
    err e;
    err_clear(&e);
    char m[700];
    if (src_detect(&v, c->a.file.path, &e))
        return app_set_file_kind(&c->a, VENDOR_AUTO, err_format(&e, m, sizeof m));
    return app_set_file_kind(&c->a, v, NULL);
}

/* Does what the flags ask; returns the flags the results raise. */
static int effects(con *c, int rx)
{
    int more = RX_NONE;
    if (rx & RX_CANCEL_JOB && c->g)
        eng_cancel(c->g);
    if (rx & RX_DETECT)
        more |= detect(c);
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
    int rx = RX_NONE;
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
        eng_cancel(c->g);
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
    memset(&t, 0, sizeof t);
    t.local = o->local;
    snprintf(t.endpoint, sizeof t.endpoint, "%s", o->endpoint_url ? o->endpoint_url : "");
    snprintf(t.account, sizeof t.account, "%s",
             o->shown_account ? o->shown_account
             : o->account     ? o->account
                              : "");
    snprintf(t.describe, sizeof t.describe, "%s", o->describe ? o->describe : "");
    snprintf(t.registry, sizeof t.registry, "%s",
             o->registry       ? o->registry
             : o->endpoint_url ? o->endpoint_url
                               : "");
    app_init(&c.a, o->defaults, &t, o->state_dir, o->samples_dir, o->start_dir);
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
        app_free(&c.a);
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
    pk_probe_free(c.pk);
    jnl_close(c.j);
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
