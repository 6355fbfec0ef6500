/* The review: one job's items as the journal recorded them (also the
 * results after a run). Its rows are read a page at a time (RX_LOAD_ITEMS). */
#include <stdio.h>

#include "console/screens/screens.h"
#include "console/text.h"

static const km_binding keys[] = {
    {KM_F(4), ACT_FILTER}, {'f', ACT_FILTER}, {KM_F(5), ACT_START}, {'r', ACT_START},
    {KM_F(6), ACT_EXPORT}, {'e', ACT_EXPORT}, {KM_NONE, ACT_NONE},
};

static const screen_bar bar[] = {
    {KM_F(1), ACT_HELP, "Help"},   {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(3), ACT_OPEN, "Open"},   {KM_F(4), ACT_FILTER, "Filter"},
    {KM_F(5), ACT_START, "Retry"}, {KM_F(6), ACT_EXPORT, "Export"},
    {'/', ACT_SEARCH, "Search"},   {KM_F(10), ACT_QUIT, "Quit"},
    {0, ACT_NONE, NULL},
};

static const screen_help_line help[] = {
    {ACT_FILTER, "failed and skipped items only / all"},
    {ACT_START, "retry the failed items (the job resumes)"},
    {ACT_EXPORT, "write the report (CSV and JSON)"},
    {ACT_BACK, "back to the jobs"},
    {ACT_NONE, NULL},
};

static void about(buf *out)
{
    buf_puts(out, "A job's items as the journal recorded them, with the reason of each "
                  "failure. F4 shows only the failed and skipped items; F5 retries the "
                  "failed ones (the job resumes); F6 writes the report (CSV and JSON) of "
                  "every item, with its ARNs, attempts and times.");
}

/* ---- actions ---- */

static int review_act(app *a, act x)
{
    switch (x.type) {
    case ACT_FILTER: {
        jnl_job j = a->items.job;
        int f = a->items.filter == JNL_FILTER_ALL ? JNL_FILTER_PROBLEMS : JNL_FILTER_ALL;
        a->items.have_job = 0; /* forces a fresh page */
        return app_open_items(a, &j, f);
    }
    case ACT_START:
        if (!a->items.have_job)
            return RX_NONE;
        return app_resume_job(a, &a->items.job);
    case ACT_EXPORT:
        if (!a->items.have_job)
            return RX_NONE;
        return RX_DIRTY | RX_EXPORT;
    case ACT_BACK:
    case ACT_LEFT:
        return app_go_jobs(a);
    default:
        return RX_NONE;
    }
}

static app_list *review_list(app *a, size_t *n)
{
    *n = app_items_count(a);
    return &a->items.l;
}

static long review_page_rows(const app *a)
{
    return a->h - 8;
}

static int review_row_text(app *a, size_t i, char *out, size_t n)
{
    if (i < a->items.off || i >= a->items.off + a->items.n)
        return 0;
    const jnl_item *it = &a->items.v[i - a->items.off];
    snprintf(out, n, "%s %s %s %s", it->key, it->fingerprint, jnl_status_name(it->status),
             it->error);
    return 1;
}

/* The selection moved: the page it is on, unless loaded. */
static int review_moved(app *a)
{
    size_t sel = a->items.l.sel;
    if (!a->items.have_job || app_items_count(a) == 0)
        return 0;
    if (sel >= a->items.off && sel < a->items.off + a->items.n)
        return 0;
    size_t page = app_page_rows(a, APP_ITEMS);
    a->items.want_off = sel > page ? sel - page : 0;
    return RX_LOAD_ITEMS;
}

/* ---- rows ---- */

static vm_role item_role(jnl_status st)
{
    switch (st) {
    case JNL_DONE:
        return ROLE_OK;
    case JNL_FAILED:
        return ROLE_ERROR;
    case JNL_SKIPPED:
        return ROLE_WARN;
    default:
        return ROLE_DIM;
    }
}

static void build_review(vm *v, const app *a)
{
    const jnl_job *j = &a->items.job;
    vm_role sr;
    const char *st = vm_job_status(a, j, &sr);
    vm_line l = vm_line_start(v, 1, ROLE_NORMAL, a->utf8);
    vm_textf(&l, -1, "Job %lld  Phase %d  ", j->id, j->phase);
    vm_text(&l, st, sr);
    vm_textf(&l, -1, "  batch %s  ", j->batch_id[0] ? j->batch_id : "-");
    buf t = BUF_INIT;
    tx_fit_tail(&t, j->file, v->w - l.col, a->utf8);
    vm_text(&l, t.data ? t.data : "", -1);
    buf_free(&t);
    vm_line_end(&l);

    vm_text_rowf(v, 2, ROLE_TARGET, a->utf8, "Sent to: %s",
                 j->endpoint[0] ? j->endpoint : "-");

    size_t pending = j->total - j->done - j->failed - j->skipped;
    l = vm_line_start(v, 3, ROLE_NORMAL, a->utf8);
    vm_textf(&l, -1, "%zu items: ", j->total);
    vm_textf(&l, j->done ? ROLE_OK : -1, "%zu succeeded", j->done);
    vm_text(&l, ", ", -1);
    vm_textf(&l, j->failed ? ROLE_ERROR : -1, "%zu failed", j->failed);
    vm_text(&l, ", ", -1);
    vm_textf(&l, j->skipped ? ROLE_WARN : -1, "%zu skipped", j->skipped);
    vm_textf(&l, -1, ", %zu pending", pending);
    if (a->items.filter == JNL_FILTER_PROBLEMS)
        vm_text(&l, "   [failed and skipped only]", ROLE_WARN);
    vm_line_end(&l);

    if (a->items.report[0])
        vm_text_rowf(v, 4, ROLE_NORMAL, a->utf8, "Report: %s", a->items.report);
    else if (j->failed || j->skipped)
        vm_text_row(v, 4, ROLE_DIM, a->utf8,
                    "Report: F6 writes every item with its outcome (CSV and JSON)");
    else
        vm_blank(v, 4, a->utf8);

    vm_line h = vm_line_start(v, 5, ROLE_HEADER, a->utf8);
    vm_cell(&h, "#", 7, TX_RIGHT, -1);
    vm_cell(&h, "  Thing name", 22, TX_LEFT, -1);
    vm_cell(&h, "Status", 10, TX_LEFT, -1);
    vm_cell(&h, "Fingerprint", 16, TX_LEFT, -1);
    vm_cell(&h, "Reason", -1, TX_LEFT, -1);
    vm_line_end(&h);

    size_t n = a->items.filter == JNL_FILTER_PROBLEMS ? j->failed + j->skipped : j->total;
    size_t page = app_page_rows(a, APP_ITEMS);
    int y = 6;
    for (size_t i = a->items.l.top; i < n && y < 6 + (int)page; i++, y++) {
        int sel = i == a->items.l.sel;
        vm_line r = vm_line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        if (i < a->items.off || i >= a->items.off + a->items.n) {
            vm_text(&r, "      ...", ROLE_DIM);
            vm_line_end(&r);
            continue;
        }
        const jnl_item *it = &a->items.v[i - a->items.off];
        char num[32], fp[32];
        snprintf(num, sizeof num, "%zu", it->idx);
        vm_cell(&r, num, 7, TX_RIGHT, -1);
        vm_cell(&r, "  ", 2, TX_LEFT, -1);
        vm_cell(&r, it->key[0] ? it->key : "-", 20, TX_LEFT, -1);
        vm_cell(&r, jnl_status_name(it->status), 10, TX_LEFT,
                sel ? -1 : (int)item_role(it->status));
        tx_fingerprint(fp, sizeof fp, it->fingerprint, a->utf8);
        vm_cell(&r, fp[0] ? fp : "-", 16, TX_LEFT, -1);
        vm_cell(&r, it->error, -1, TX_LEFT, -1);
        vm_line_end(&r);
    }
    if (n == 0 && y < v->h - 2) {
        vm_text_row(v, y++, ROLE_DIM, a->utf8,
                    a->items.filter == JNL_FILTER_PROBLEMS
                        ? "      no failed or skipped items"
                        : "      no items recorded yet");
    }
    for (; y < v->h - 2; y++)
        vm_blank(v, y, a->utf8);
}

static const char *review_hint(const app *a, char *buf, size_t n)
{
    (void)a, (void)buf, (void)n;
    return "F4 failed and skipped only; F5 retries; F6 exports the report.";
}

const screen_ops screen_review = {
    .title = "Job items",
    .build = build_review,
    .hint = review_hint,
    .bar = bar,
    .keys = keys,
    .act = review_act,
    .list = review_list,
    .page_rows = review_page_rows,
    .row_text = review_row_text,
    .moved = review_moved,
    .about = about,
    .help = help,
};
