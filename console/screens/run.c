/* The run: the job the engine runs (its snapshot, copied each tick), with
 * progress, the rate of each operation against its quota, throttling and the
 * latest item errors. */
#include <stdio.h>
#include <string.h>

#include "console/screens/screens.h"
#include "console/text.h"

static const km_binding keys[] = {
    {KM_F(5), ACT_START},  {'r', ACT_START},  {KM_F(7), ACT_PAUSE}, {'p', ACT_PAUSE},
    {KM_F(8), ACT_CANCEL}, {'c', ACT_CANCEL}, {KM_NONE, ACT_NONE},
};

static const screen_bar bar[] = {
    {KM_F(1), ACT_HELP, "Help"},     {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(5), ACT_START, "Resume"},  {KM_F(7), ACT_PAUSE, "Pause"},
    {KM_F(8), ACT_CANCEL, "Cancel"}, {KM_ENTER, ACT_ENTER, "Results"},
    {KM_F(10), ACT_QUIT, "Quit"},    {0, ACT_NONE, NULL},
};

/* The bar shows only what the job's state allows: pause and cancel while it
 * runs; resume and the results once it has stopped. */
static int run_bar_shows(const app *a, act_type act)
{
    int busy = a->run.active && !app_run_finished(a);
    switch (act) {
    case ACT_PAUSE:
    case ACT_CANCEL:
        return busy && !a->run.stopping;
    case ACT_START:
        return !busy && a->run.file[0] &&
               !(a->run.have &&
                 (a->run.s.state == ENG_DONE || a->run.s.state == ENG_REJECTED));
    case ACT_ENTER:
        return !busy && a->run.have && a->run.s.job_id > 0;
    default:
        return 1;
    }
}

static const screen_help_line help[] = {
    {ACT_PAUSE, "pause: stop after the calls in flight"},
    {ACT_START, "resume from the journal"},
    {ACT_CANCEL, "cancel the run (it can be resumed later)"},
    {ACT_ENTER, "the results, once finished"},
    {ACT_NONE, NULL},
};

static void about(buf *out)
{
    buf_puts(out,
             "The job running: progress, rate per operation against its quota, "
             "throttling, the latest errors. F7 pauses (the job stops after the calls "
             "in flight and F5 resumes it from the journal), F8 cancels. Quitting or a "
             "crash never loses work.");
}

/* ---- actions ---- */

static int run_act(app *a, act x)
{
    const eng_snapshot *s = &a->run.s;
    switch (x.type) {
    case ACT_PAUSE:
        if (!app_run_busy(a) || a->run.stopping)
            return RX_NONE;
        a->run.stopping = 1;
        a->run.paused = 1;
        app_message(a, 0, "pausing after the calls in flight...");
        return RX_DIRTY | RX_PAUSE_JOB;
    case ACT_CANCEL:
        if (!app_run_busy(a) || a->run.stopping)
            return RX_NONE;
        a->dialog = DLG_CANCEL_RUN;
        a->dialog_yes = 0;
        return RX_DIRTY;
    case ACT_START:
        if (app_run_busy(a)) {
            app_message(a, 0, "the job is running");
            return RX_DIRTY;
        }
        if (!a->run.active && !a->run.file[0])
            return RX_NONE;
        if (a->run.have && s->state == ENG_DONE) {
            app_message(a, 0, "the job is complete");
            return RX_DIRTY;
        }
        if (a->run.have && s->state == ENG_REJECTED) {
            app_message(a, 1, "the job was refused: %s", s->message);
            return RX_DIRTY;
        }
        {
            /* F5 right after a cancel is the operator's explicit resume */
            int was_cancelled = a->run.have && s->state == ENG_CANCELLED;
            int rx = app_start_job(a);
            if (rx & RX_START_JOB)
                a->run.resume_cancelled = was_cancelled;
            return rx;
        }
    case ACT_ENTER:
    case ACT_RIGHT:
    case ACT_BACK:
    case ACT_LEFT:
        if (app_run_busy(a)) {
            if (x.type == ACT_BACK || x.type == ACT_LEFT)
                app_message(a, 0,
                            "the job is running: F7 pauses, F8 cancels, F2 shows the "
                            "jobs (it keeps running)");
            return RX_DIRTY;
        }
        if (a->run.have && s->job_id > 0) {
            jnl_job j;
            memset(&j, 0, sizeof j);
            j.id = s->job_id;
            j.phase = s->phase;
            snprintf(j.file, sizeof j.file, "%s", a->run.file);
            snprintf(j.batch_id, sizeof j.batch_id, "%s", s->batch_id);
            j.total = s->total;
            j.done = s->done;
            j.failed = s->failed;
            j.skipped = s->skipped;
            j.status = s->state == ENG_DONE     ? JOB_DONE
                       : s->state == ENG_FAILED ? JOB_FAILED
                       : s->state == ENG_PAUSED ? JOB_PAUSED
                                                : JOB_CANCELLED;
            a->items.have_job = 0;
            return app_open_items(a, &j, JNL_FILTER_ALL);
        }
        a->screen = a->file.path ? APP_SETUP : APP_JOBS;
        return RX_DIRTY | (a->screen == APP_JOBS ? RX_LOAD_JOBS : 0);
    default:
        return RX_NONE;
    }
}

/* ---- rows ---- */

static double quota_of(const app *a, const char *op)
{
    for (size_t i = 0; i < a->cfg.n_rates; i++)
        if (!strcmp(a->cfg.rates[i].op, op))
            return a->cfg.rates[i].tps;
    return eng_default_tps(op);
}

static void progress_bar(vm *v, const app *a, int y, double frac)
{
    vm_line l = vm_line_start(v, y, ROLE_NORMAL, a->utf8);
    char pct[64];
    const eng_snapshot *s = &a->run.s;
    size_t fin = s->done + s->failed + s->skipped;
    snprintf(pct, sizeof pct, " %3.0f%%  %zu/%zu items", frac * 100, fin, s->total);
    int bw = v->w - 2 - tx_width(pct) - 2;
    if (bw < 10)
        bw = 10;
    int fill = (int)(frac * bw + 0.5);
    if (fill > bw)
        fill = bw;
    buf done = BUF_INIT, todo = BUF_INIT;
    for (int i = 0; i < fill; i++)
        buf_puts(&done, a->utf8 ? "\xe2\x96\x88" : "#");
    for (int i = fill; i < bw; i++)
        buf_puts(&todo, a->utf8 ? "\xe2\x96\x91" : ".");
    vm_text(&l, "[", -1);
    vm_cell(&l, done.data ? done.data : "", fill, TX_LEFT, ROLE_BAR_DONE);
    vm_cell(&l, todo.data ? todo.data : "", bw - fill, TX_LEFT, ROLE_BAR_TODO);
    vm_text(&l, "]", -1);
    vm_text(&l, pct, -1);
    buf_free(&done);
    buf_free(&todo);
    vm_line_end(&l);
}

static void run_state(const app *a, char *out, size_t n, vm_role *role)
{
    const eng_snapshot *s = &a->run.s;
    *role = ROLE_NORMAL;
    if (!a->run.have) {
        snprintf(out, n, "%s", a->run.active ? "Starting..." : "Not started");
        return;
    }
    if (a->run.stopping && s->state < ENG_DONE) {
        snprintf(out, n, "Stopping after the calls in flight...");
        *role = ROLE_WARN;
        return;
    }
    switch (s->state) {
    case ENG_VALIDATING:
        snprintf(out, n, "Validating the file...");
        break;
    case ENG_PREFLIGHT:
        snprintf(out, n, "Pre-flight: checking the policies, groups and thing type...");
        break;
    case ENG_RUNNING:
        if (s->waiting) {
            /* an outage: what it waits for, when it tries next */
            char lasted[32];
            tx_duration(lasted, sizeof lasted, s->outage_s);
            snprintf(out, n,
                     "Waiting %s for the service: %s; next try in %.0f s (pauses after "
                     "%.0f min)",
                     lasted, s->waiting_for, s->next_try_s, s->max_outage_s / 60);
            *role = ROLE_WARN;
            break;
        }
        snprintf(out, n, "Running%s", s->resumed ? " (resumed from the journal)" : "");
        *role = ROLE_OK;
        break;
    case ENG_DONE:
        if (s->skipped)
            snprintf(out, n, "Done: %zu items provisioned, %zu invalid items skipped",
                     s->done, s->skipped);
        else
            snprintf(out, n, "Done: %zu items provisioned", s->done);
        *role = ROLE_OK;
        break;
    case ENG_FAILED:
        snprintf(out, n, "Finished: %zu provisioned, %zu failed (F5 retries them)",
                 s->done, s->failed);
        *role = ROLE_ERROR;
        break;
    case ENG_CANCELLED:
        snprintf(out, n,
                 "Cancelled: the job is saved in the journal; F5 goes on with it");
        *role = ROLE_WARN;
        break;
    case ENG_PAUSED:
        if (a->run.paused || !s->message[0])
            snprintf(out, n, "Paused: the job is saved in the journal; F5 resumes it");
        else
            snprintf(out, n, "Paused by the outage: %s (F5 resumes)", s->message);
        *role = ROLE_WARN;
        break;
    case ENG_REJECTED:
        snprintf(out, n, "Refused (nothing was sent): %s", s->message);
        *role = ROLE_ERROR;
        break;
    case ENG_ERROR:
    default:
        snprintf(out, n, "Stopped: %s (F5 resumes)", s->message);
        *role = ROLE_ERROR;
        break;
    }
}

static void build_run(vm *v, const app *a)
{
    const eng_snapshot *s = &a->run.s;
    const char *dot = a->utf8 ? " \xc2\xb7 " : " - ";
    int y = 1;
    vm_line l = vm_line_start(v, y++, ROLE_NORMAL, a->utf8);
    char tail[400] = "";
    if (a->run.have && s->job_id)
        snprintf(tail, sizeof tail, "%sjob %lld", dot, s->job_id);
    if (a->run.have && s->batch_id[0]) {
        size_t k = strlen(tail);
        snprintf(tail + k, sizeof tail - k, "%sbatch %s", dot, s->batch_id);
    }
    vm_textf(&l, -1, "Phase %d%s", a->run.have && s->phase ? s->phase : a->file.phase,
             dot);
    vm_path_text(&l, a->run.file, v->w - l.col - tx_width(tail), -1);
    vm_text(&l, tail, -1);
    vm_line_end(&l);
    vm_target_line(v, a, y++, "Sending to: ");
    if (a->run.have && s->account[0] && !a->target.account[0])
        vm_text_rowf(v, y - 1, ROLE_TARGET, a->utf8, "Sending to: %s%saccount %s",
                     s->endpoint, dot, s->account);

    double frac = a->run.have ? vm_run_fraction(s) : 0;
    progress_bar(v, a, y++, frac);

    char eta[32], el[32], ips[32], ceil[32];
    tx_duration(eta, sizeof eta, a->run.have && s->state == ENG_RUNNING ? s->eta : -1);
    tx_duration(el, sizeof el, s->elapsed);
    tx_short_num(ips, sizeof ips, s->items_per_s);
    if (s->ceiling > 0)
        tx_short_num(ceil, sizeof ceil, s->ceiling);
    else
        snprintf(ceil, sizeof ceil, "unlimited");
    if (a->target.local)
        /* the local endpoint has no quotas: the pace starts at AWS's defaults
         * and probes up past them; say so rather than show a ceiling the run
         * goes through (AWS's defaults are kept in view for what to expect) */
        vm_text_rowf(v, y++, ROLE_NORMAL, a->utf8,
                     "%s items/s   ETA %s   elapsed %s   no quotas (AWS: %s items/s)",
                     ips, eta, el, ceil);
    else
        vm_text_rowf(v, y++, ROLE_NORMAL, a->utf8,
                     "%s items/s   ETA %s   elapsed %s   quota ceiling %s items/s", ips,
                     eta, el, ceil);

    char state[800];
    vm_role sr;
    run_state(a, state, sizeof state, &sr);
    vm_text_row(v, y++, sr, a->utf8, state);
    vm_blank(v, y++, a->utf8);

    static const char *const steps[ENG_N_COUNTS] = {"registered", "activated", "things",
                                                    "principals", "policies",  "groups"};
    l = vm_line_start(v, y++, ROLE_NORMAL, a->utf8);
    for (int i = 0; i < ENG_N_COUNTS; i++)
        vm_textf(&l, -1, "%s%s %zu", i ? "   " : "", steps[i], s->counts[i]);
    vm_line_end(&l);
    /* the counters: one line when they fit, else the calls on the next line
     * (the blank one), so a narrow screen never cuts a number off */
    char c1[200], c2[200];
    int n1 = snprintf(c1, sizeof c1, "done %zu   failed %zu   skipped %zu   earlier %zu",
                      s->done, s->failed, s->skipped, s->already);
    int n2 = snprintf(c2, sizeof c2, "calls %llu   retries %llu   throttled %llu",
                      s->calls, s->retries, s->throttles);
    int one_line = n1 + 3 + n2 <= v->w;
    l = vm_line_start(v, y++, ROLE_NORMAL, a->utf8);
    vm_textf(&l, s->done ? ROLE_OK : -1, "done %zu", s->done);
    vm_textf(&l, s->failed ? ROLE_ERROR : -1, "   failed %zu", s->failed);
    vm_textf(&l, s->skipped ? ROLE_WARN : -1, "   skipped %zu", s->skipped);
    vm_textf(&l, -1, "   earlier %zu", s->already);
    if (!one_line) {
        vm_line_end(&l);
        l = vm_line_start(v, y++, ROLE_NORMAL, a->utf8);
    }
    vm_textf(&l, -1, "%scalls %llu   retries %llu   ", one_line ? "   " : "", s->calls,
             s->retries);
    vm_textf(&l, s->throttles ? ROLE_WARN : -1, "throttled %llu", s->throttles);
    vm_line_end(&l);
    if (one_line)
        vm_blank(v, y++, a->utf8);

    vm_line h = vm_line_start(v, y++, ROLE_HEADER, a->utf8);
    vm_cell(&h, "Operation", 28, TX_LEFT, -1);
    vm_cell(&h, "rate/s", 8, TX_RIGHT, -1);
    vm_cell(&h, "pace", 7, TX_RIGHT, -1);
    vm_cell(&h, "quota", 7, TX_RIGHT, -1);
    vm_cell(&h, "calls", 9, TX_RIGHT, -1);
    vm_cell(&h, "throttled", 10, TX_RIGHT, -1);
    vm_cell(&h, "", -1, TX_LEFT, -1);
    vm_line_end(&h);
    for (size_t i = 0; i < s->n_ops && y < v->h - 3; i++) {
        const rate_stats *o = &s->ops[i];
        vm_line r = vm_line_start(v, y++, ROLE_NORMAL, a->utf8);
        char c1[32], c2[32], c3[32], c4[32], c5[32];
        tx_short_num(c1, sizeof c1, o->recent_tps);
        if (o->tps > 0)
            tx_short_num(c2, sizeof c2, o->tps);
        else
            snprintf(c2, sizeof c2, "-");
        double q = quota_of(a, o->op ? o->op : "");
        if (q > 0)
            tx_short_num(c3, sizeof c3, q);
        else
            snprintf(c3, sizeof c3, "-");
        snprintf(c4, sizeof c4, "%llu", o->calls);
        snprintf(c5, sizeof c5, "%llu", o->throttles);
        vm_cell(&r, o->op ? o->op : "?", 28, TX_LEFT, -1);
        vm_cell(&r, c1, 8, TX_RIGHT, -1);
        vm_cell(&r, c2, 7, TX_RIGHT, -1);
        vm_cell(&r, c3, 7, TX_RIGHT, -1);
        vm_cell(&r, c4, 9, TX_RIGHT, -1);
        vm_cell(&r, c5, 10, TX_RIGHT, o->throttles ? ROLE_WARN : -1);
        int hot = o->throttles && a->run.op_throttled_at[i] > 0 &&
                  a->now - a->run.op_throttled_at[i] < 3.0 && s->state == ENG_RUNNING;
        vm_cell(&r, hot ? " THROTTLED" : "", -1, TX_LEFT, hot ? ROLE_WARN : -1);
        vm_line_end(&r);
    }
    if (y < v->h - 3)
        vm_blank(v, y++, a->utf8);
    if (y < v->h - 2) {
        vm_line e = vm_line_start(v, y++, ROLE_HEADER, a->utf8);
        if (a->run.n_ev_total)
            vm_textf(&e, -1, "Latest errors (%llu in all)", a->run.n_ev_total);
        else
            vm_text(&e, "Latest errors: none", -1);
        vm_line_end(&e);
    }
    /* newest at the bottom, as many as fit */
    int room_rows = v->h - 2 - y;
    size_t show = a->run.n_ev < (size_t)(room_rows > 0 ? room_rows : 0)
                      ? a->run.n_ev
                      : (size_t)(room_rows > 0 ? room_rows : 0);
    for (size_t k = 0; k < show; k++) {
        size_t back = show - k; /* 1 = newest */
        size_t idx = (a->run.ev_next + APP_EVENTS - back) % APP_EVENTS;
        const eng_event *ev = &a->run.ev[idx];
        vm_text_rowf(v, y++, ROLE_ERROR, a->utf8, "  item %zu %s: %s", ev->idx, ev->key,
                     ev->text);
    }
    for (; y < v->h - 2; y++)
        vm_blank(v, y, a->utf8);
}

static const char *run_hint(const app *a, char *buf, size_t n)
{
    (void)buf, (void)n;
    if (a->run.active && !app_run_finished(a))
        return "F7 pauses (resumable), F8 cancels; quitting stops the job safely.";
    if (a->run.have && a->run.s.job_id)
        return "Enter shows the results; F2 the jobs.";
    return "";
}

const screen_ops screen_run = {
    .title = "Run",
    .build = build_run,
    .hint = run_hint,
    .bar = bar,
    .bar_shows = run_bar_shows,
    .keys = keys,
    .act = run_act,
    .about = about,
    .help = help,
};
