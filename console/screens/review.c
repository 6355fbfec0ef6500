/* The review: one job's items as the journal recorded them (also the
 * results after a run). Its rows are read a page at a time (RX_LOAD_ITEMS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"

#include "console/screens/screens.h"
#include "console/text.h"

static const km_binding keys[] = {
    {KM_F(4), ACT_FILTER}, {'f', ACT_FILTER}, {KM_F(5), ACT_START}, {'r', ACT_START},
    {KM_F(6), ACT_EXPORT}, {'e', ACT_EXPORT}, {KM_TAB, ACT_TAB},    {KM_NONE, ACT_NONE},
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
    {ACT_TAB,
     "the item's detail: reason in full, ARNs, attempts, audit lines (Enter too)"},
    {ACT_BACK, "back to the jobs"},
    {ACT_NONE, NULL},
};

static void about(buf *out)
{
    buf_puts(out, "A job's items as the journal recorded them, with the reason of each "
                  "failure. Tab or Enter opens an item's detail (the reason in full, its "
                  "ARNs, attempts and audit lines). F4 shows only the failed and skipped "
                  "items; F5 retries the "
                  "failed ones (the job resumes); F6 writes the report (CSV and JSON) of "
                  "every item, with its ARNs, attempts and times.");
}

/* ---- actions ---- */

/* The selected item (loaded), or NULL. */
static const jnl_item *selected(const app *a)
{
    size_t sel = a->items.l.sel;
    if (!a->items.have_job || sel < a->items.off || sel >= a->items.off + a->items.n)
        return NULL;
    return &a->items.v[sel - a->items.off];
}

/* Opens the detail of the selected item (its audit lines read by bg). */
static int open_detail(app *a)
{
    const jnl_item *it = selected(a);
    if (!it)
        return RX_NONE;
    a->items.detail = 1;
    a->items.detail_idx = it->idx;
    a->items.detail_top = 0;
    free(a->items.audit);
    a->items.audit = NULL;
    a->items.audit_n = 0;
    a->items.audit_error[0] = '\0';
    return RX_DIRTY | RX_LOAD_AUDIT;
}

static int review_act(app *a, act x)
{
    if (a->items.detail) {
        switch (x.type) {
        case ACT_UP:
            if (a->items.detail_top > 0)
                a->items.detail_top--;
            return RX_DIRTY;
        case ACT_DOWN:
            a->items.detail_top++;
            return RX_DIRTY;
        case ACT_TAB:
        case ACT_ENTER:
        case ACT_BACK:
        case ACT_LEFT:
            a->items.detail = 0;
            return RX_DIRTY;
        default:
            break;
        }
    }
    switch (x.type) {
    case ACT_TAB:
    case ACT_ENTER:
    case ACT_RIGHT:
        return open_detail(a);
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

/* Rows of the item detail pane at the bottom (0 when closed). */
static int detail_rows(const app *a)
{
    return a->items.detail ? (a->h - 8) / 2 + 1 : 0;
}

static long review_page_rows(const app *a)
{
    return a->h - 8 - detail_rows(a);
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

/* Appends s wrapped to width as lines. */
static void add_wrapped(char ***lines, size_t *nl, const char *s, int width)
{
    char **w;
    size_t k = vm_wrap(s, width, &w);
    for (size_t i = 0; i < k; i++) {
        *lines = xrealloc(*lines, (*nl + 1) * sizeof **lines);
        (*lines)[(*nl)++] = w[i];
    }
    free(w);
}

/* The selected item's detail: the reason in full, the ARNs, the attempts
 * and its audit lines, scrolled by Up/Down. */
static void build_detail(vm *v, const app *a, int y0, int rows)
{
    const jnl_item *it = NULL;
    for (size_t i = 0; i < a->items.n; i++)
        if (a->items.v[i].idx == a->items.detail_idx)
            it = &a->items.v[i];
    vm_line d = vm_line_start(v, y0, ROLE_HEADER, a->utf8);
    vm_textf(&d, -1, " Item %zu%s%s   (Tab or Enter closes; Up/Down scroll)",
             a->items.detail_idx, it && it->key[0] ? " " : "", it ? it->key : "");
    vm_line_end(&d);
    char **lines = NULL;
    size_t nl = 0;
    int w = v->w - 2;
    char one[1200];
    if (it) {
        char when[32] = "-";
        time_t t = (time_t)it->updated;
        struct tm tm;
        if (it->updated && localtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(one, sizeof one, "Status: %s   attempts %d   step %d   updated %s",
                 jnl_status_name(it->status), it->attempts, it->step, when);
        add_wrapped(&lines, &nl, one, w);
        snprintf(one, sizeof one, "Reason: %s", it->error[0] ? it->error : "-");
        add_wrapped(&lines, &nl, one, w);
        snprintf(one, sizeof one, "Fingerprint: %s",
                 it->fingerprint[0] ? it->fingerprint : "-");
        add_wrapped(&lines, &nl, one, w);
        snprintf(one, sizeof one, "Certificate: %s",
                 it->cert_arn[0] ? it->cert_arn : "-");
        add_wrapped(&lines, &nl, one, w);
        snprintf(one, sizeof one, "Thing: %s", it->thing_arn[0] ? it->thing_arn : "-");
        add_wrapped(&lines, &nl, one, w);
    }
    if (a->items.audit_error[0]) {
        snprintf(one, sizeof one, "Audit: %s", a->items.audit_error);
        add_wrapped(&lines, &nl, one, w);
    } else if (!a->items.audit) {
        add_wrapped(&lines, &nl, "Audit: reading...", w);
    } else {
        snprintf(one, sizeof one, "Audit: %zu line%s%s", a->items.audit_n,
                 a->items.audit_n == 1 ? "" : "s",
                 a->items.audit_n > 40 ? " (the last 40)" : "");
        add_wrapped(&lines, &nl, one, w);
        for (const char *p = a->items.audit; *p;) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            snprintf(one, sizeof one, "- %.*s",
                     (int)(n < sizeof one - 3 ? n : sizeof one - 3), p);
            add_wrapped(&lines, &nl, one, w);
            p += n + (e ? 1 : 0);
        }
    }
    size_t top = a->items.detail_top;
    size_t room = (size_t)(rows - 1);
    if (nl <= room)
        top = 0;
    else if (top > nl - room)
        top = nl - room;
    for (int k = 1; k < rows; k++) {
        size_t i = top + (size_t)(k - 1);
        vm_text_rowf(v, y0 + k, ROLE_NORMAL, a->utf8, " %s", i < nl ? lines[i] : "");
    }
    vm_free_lines(lines, nl);
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
    int dr = detail_rows(a);
    for (; y < v->h - 2 - dr; y++)
        vm_blank(v, y, a->utf8);
    if (dr)
        build_detail(v, a, v->h - 2 - dr, dr);
}

static const char *review_hint(const app *a, char *buf, size_t n)
{
    (void)a, (void)buf, (void)n;
    return "Tab an item's detail; F4 failed and skipped only; F5 retries; F6 exports.";
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
