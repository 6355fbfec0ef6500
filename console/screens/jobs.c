/* The Jobs screen: every job of the journal, most recent first (home). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "console/screens/screens.h"
#include "console/text.h"

static const km_binding keys[] = {
    {KM_F(5), ACT_START},
    {'r', ACT_START},
    {KM_NONE, ACT_NONE},
};

static const screen_bar bar[] = {
    {KM_F(1), ACT_HELP, "Help"},
    {KM_F(3), ACT_OPEN, "Open"},
    {KM_F(5), ACT_START, "Resume"},
    {KM_ENTER, ACT_ENTER, "Items"},
    {'/', ACT_SEARCH, "Search"},
    {KM_F(10), ACT_QUIT, "Quit"},
    {0, ACT_NONE, NULL},
};

static const screen_help_line help[] = {
    {ACT_ENTER, "open the job's items"},
    {ACT_START, "resume the job, or retry its failed items"},
    {ACT_NONE, NULL},
};

static void about(buf *out)
{
    buf_puts(out,
             "Jobs: every job of the journal, most recent first, with its phase, status "
             "and counts. Enter opens a job's items; F5 resumes an interrupted or "
             "cancelled job, or retries the failed items of a finished one. F3 opens a "
             "file to start a new job.");
}

/* ---- actions ---- */

static int jobs_act(app *a, act x)
{
    const jnl_job *j = a->jobs.n ? &a->jobs.v[a->jobs.l.sel] : NULL;
    switch (x.type) {
    case ACT_ENTER:
    case ACT_RIGHT:
        if (!j)
            return app_go_pick(a);
        if (a->run.active && a->run.s.job_id == j->id && !app_run_finished(a)) {
            a->screen = APP_RUN;
            return RX_DIRTY;
        }
        return app_open_items(a, j, JNL_FILTER_ALL);
    case ACT_START:
        if (!j) {
            app_message(a, 0, "no job to resume: F3 opens a file");
            return RX_DIRTY;
        }
        return app_resume_job(a, j);
    default:
        return RX_NONE;
    }
}

static app_list *jobs_list(app *a, size_t *n)
{
    *n = a->jobs.n;
    return &a->jobs.l;
}

static long jobs_page_rows(const app *a)
{
    return a->h - 5;
}

static int jobs_row_text(app *a, size_t i, char *out, size_t n)
{
    const jnl_job *j = &a->jobs.v[i];
    snprintf(out, n, "%lld %s %s %s", j->id, j->file, j->batch_id,
             jnl_job_status_name(j->status));
    return 1;
}

/* ---- rows ---- */

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "";
}

static void fmt_time(char *out, size_t n, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !localtime_r(&tt, &tm)) {
        snprintf(out, n, "-");
        return;
    }
    strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

static void build_jobs(vm *v, const app *a)
{
    vm_target_line(v, a, 1, "Sends to: ");
    int wide = v->w >= 110;
    vm_line h = vm_line_start(v, 2, ROLE_HEADER, a->utf8);
    vm_cell(&h, "Job", 5, TX_RIGHT, -1);
    vm_cell(&h, " Ph", 4, TX_LEFT, -1);
    vm_cell(&h, "Status", 12, TX_LEFT, -1);
    vm_cell(&h, "Items", 7, TX_RIGHT, -1);
    vm_cell(&h, "Done", 7, TX_RIGHT, -1);
    vm_cell(&h, "Failed", 7, TX_RIGHT, -1);
    vm_cell(&h, "Skip", 6, TX_RIGHT, -1);
    vm_cell(&h, "  Batch", 15, TX_LEFT, -1);
    if (wide)
        vm_cell(&h, "Updated", 17, TX_LEFT, -1);
    vm_cell(&h, "File", -1, TX_LEFT, -1);
    vm_line_end(&h);

    size_t page = app_page_rows(a, APP_JOBS);
    int y = 3;
    if (a->jobs.n == 0) {
        for (; y < v->h - 2; y++)
            vm_blank(v, y, a->utf8);
        if (a->jobs.error[0]) {
            vm_text_row(v, 4, ROLE_DIM, a->utf8, "  No jobs yet.");
            vm_text_rowf(v, 5, ROLE_DIM, a->utf8, "  (%s)", a->jobs.error);
        } else {
            vm_text_row(v, 4, ROLE_DIM, a->utf8,
                        a->jobs.loaded ? "  No jobs yet." : "  Loading...");
        }
        vm_text_row(
            v, 7, ROLE_NORMAL, a->utf8,
            "  F3 opens a file to provision: a vendor file (Phase 1) or a device-infos");
        vm_text_row(
            v, 8, ROLE_NORMAL, a->utf8,
            "  file (Phase 2). In the file picker, F6 jumps to the bundled samples.");
        return;
    }
    for (size_t i = a->jobs.l.top; i < a->jobs.n && y < 3 + (int)page; i++, y++) {
        const jnl_job *j = &a->jobs.v[i];
        int sel = i == a->jobs.l.sel;
        vm_line l = vm_line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        char num[32], when[32];
        vm_role sr;
        const char *st = vm_job_status(a, j, &sr);
        snprintf(num, sizeof num, "%lld", j->id);
        vm_cell(&l, num, 5, TX_RIGHT, -1);
        snprintf(num, sizeof num, "  %d", j->phase);
        vm_cell(&l, num, 4, TX_LEFT, -1);
        vm_cell(&l, st, 12, TX_LEFT, sel ? -1 : (int)sr);
        snprintf(num, sizeof num, "%zu", j->total);
        vm_cell(&l, num, 7, TX_RIGHT, -1);
        snprintf(num, sizeof num, "%zu", j->done);
        vm_cell(&l, num, 7, TX_RIGHT, -1);
        snprintf(num, sizeof num, "%zu", j->failed);
        vm_cell(&l, num, 7, TX_RIGHT, !sel && j->failed ? ROLE_ERROR : -1);
        snprintf(num, sizeof num, "%zu", j->skipped);
        vm_cell(&l, num, 6, TX_RIGHT, !sel && j->skipped ? ROLE_WARN : -1);
        vm_cell(&l, "  ", 2, TX_LEFT, -1);
        /* an Infineon job (Phase 1: no batch) shows its bundle there: runs of
         * E0E0, E0E1 and E0E2 of one file are told apart */
        char bundle[16] = "";
        const char *bk = strstr(j->identity, "\"infineon_bundle\":\"");
        size_t fl = strlen(j->file);
        if (!j->batch_id[0] && bk && fl > 3 && !strcasecmp(j->file + fl - 3, ".7z"))
            snprintf(bundle, sizeof bundle, "%.4s bundle", bk + 19);
        vm_cell(&l,
                j->batch_id[0] ? j->batch_id
                : bundle[0]    ? bundle
                               : "-",
                12, TX_LEFT, -1);
        vm_cell(&l, " ", 1, TX_LEFT, -1);
        if (wide) {
            fmt_time(when, sizeof when, j->updated);
            vm_cell(&l, "", 0, TX_LEFT, -1);
            vm_cell(&l, when, 17, TX_LEFT, -1);
        }
        int room = v->w - l.col;
        /* the whole path when it fits, else the file name (the items screen has
         * the path) */
        if (room > 0)
            vm_path_text(&l, tx_width(j->file) <= room ? j->file : base_name(j->file),
                         room, -1);
        vm_line_end(&l);
    }
    for (; y < v->h - 2; y++)
        vm_blank(v, y, a->utf8);
}

static const char *jobs_hint(const app *a, char *buf, size_t n)
{
    (void)a, (void)buf, (void)n;
    return "Enter opens a job; F5 resumes it; F3 opens a file for a new job.";
}

const screen_ops screen_jobs = {
    .title = "Jobs",
    .build = build_jobs,
    .hint = jobs_hint,
    .bar = bar,
    .keys = keys,
    .act = jobs_act,
    .list = jobs_list,
    .page_rows = jobs_page_rows,
    .row_text = jobs_row_text,
    .about = about,
    .help = help,
};
