/* View models (see vm.h): every screen's rows, from the app state. */
#include "console/vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "console/text.h"

const char *vm_role_name(vm_role r)
{
    static const char *const names[] = {
#define VM_ROLE_NAME(id, name) name,
        VM_ROLES(VM_ROLE_NAME)
#undef VM_ROLE_NAME
    };
    return r >= 0 && r < ROLE_COUNT ? names[r] : "?";
}

void vm_init(vm *v)
{
    memset(v, 0, sizeof *v);
    v->cursor_y = v->cursor_x = -1;
}

void vm_free(vm *v)
{
    for (int y = 0; y < v->h; y++)
        free(v->rows[y].text);
    free(v->rows);
    vm_init(v);
}

static void vm_resize(vm *v, int h, int w)
{
    if (h != v->h) {
        for (int y = h; y < v->h; y++)
            free(v->rows[y].text);
        v->rows = xrealloc(v->rows, (size_t)(h > 0 ? h : 1) * sizeof *v->rows);
        for (int y = v->h; y < h; y++)
            memset(&v->rows[y], 0, sizeof v->rows[y]);
        v->h = h;
    }
    v->w = w;
    v->cursor_y = v->cursor_x = -1;
}

int vm_equal(const vm *a, const vm *b)
{
    if (a->h != b->h || a->w != b->w || a->cursor_y != b->cursor_y ||
        a->cursor_x != b->cursor_x)
        return 0;
    for (int y = 0; y < a->h; y++) {
        const vm_row *p = &a->rows[y], *q = &b->rows[y];
        if (p->role != q->role || p->n_spans != q->n_spans ||
            memcmp(p->spans, q->spans, (size_t)p->n_spans * sizeof *p->spans) ||
            strcmp(p->text ? p->text : "", q->text ? q->text : ""))
            return 0;
    }
    return 1;
}

void vm_copy(vm *dst, const vm *src)
{
    vm_resize(dst, src->h, src->w);
    for (int y = 0; y < src->h; y++) {
        free(dst->rows[y].text);
        dst->rows[y] = src->rows[y];
        dst->rows[y].text = xstrdup(src->rows[y].text ? src->rows[y].text : "");
    }
    dst->cursor_y = src->cursor_y;
    dst->cursor_x = src->cursor_x;
}

vm_role vm_role_at(const vm *v, int y, int col)
{
    if (y < 0 || y >= v->h)
        return ROLE_NORMAL;
    const vm_row *r = &v->rows[y];
    vm_role role = r->role;
    for (int i = 0; i < r->n_spans; i++)
        if (col >= r->spans[i].col && col < r->spans[i].col + r->spans[i].len)
            role = r->spans[i].role;
    return role;
}

/* ---- building rows ----
 * A line is composed cell by cell into a buf; each cell may carry a role
 * (recorded as a span); the end pads the line to the full width. */

typedef struct {
    vm *v;
    int y;
    buf b;
    int col;
    int utf8;
} line;

static line line_start(vm *v, int y, vm_role role, int utf8)
{
    line l = {v, y, BUF_INIT, 0, utf8};
    if (y >= 0 && y < v->h) {
        v->rows[y].role = role;
        v->rows[y].n_spans = 0;
    }
    return l;
}

static void add_span(vm *v, int y, int col, int len, vm_role role)
{
    if (y < 0 || y >= v->h || len <= 0)
        return;
    vm_row *r = &v->rows[y];
    if (r->n_spans < VM_MAX_SPANS)
        r->spans[r->n_spans++] = (vm_span){col, len, role};
}

/* Appends s in exactly width columns (the rest of the line when width < 0);
 * role < 0: no span. */
static void cell(line *l, const char *s, int width, int align, int role)
{
    int room = l->v->w - l->col;
    if (width < 0 || width > room)
        width = room;
    if (width <= 0)
        return;
    tx_fit(&l->b, s, width, align, l->utf8);
    if (role >= 0)
        add_span(l->v, l->y, l->col, width, (vm_role)role);
    l->col += width;
}

/* Appends s at its natural width (cut at the end of the line). */
static void text(line *l, const char *s, int role)
{
    cell(l, s, tx_width(s), TX_LEFT, role);
}

static void textf(line *l, int role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void textf(line *l, int role, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    text(l, tmp, role);
}

/* Appends a path at its natural width, or cut at the start to fit max. */
static void path_text(line *l, const char *path, int max, int role)
{
    int w = tx_width(path ? path : "");
    if (max < 1)
        max = 1;
    if (w <= max) {
        text(l, path ? path : "", role);
        return;
    }
    buf t = BUF_INIT;
    tx_fit_tail(&t, path, max, l->utf8);
    cell(l, t.data, max, TX_LEFT, role);
    buf_free(&t);
}

static void line_end(line *l)
{
    cell(l, "", -1, TX_LEFT, -1);
    if (l->y >= 0 && l->y < l->v->h) {
        free(l->v->rows[l->y].text);
        l->v->rows[l->y].text = buf_take(&l->b, NULL);
    }
    buf_free(&l->b);
}

static void row(vm *v, int y, vm_role role, int utf8, const char *s)
{
    line l = line_start(v, y, role, utf8);
    text(&l, s, -1);
    line_end(&l);
}

static void rowf(vm *v, int y, vm_role role, int utf8, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void rowf(vm *v, int y, vm_role role, int utf8, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    row(v, y, role, utf8, tmp);
}

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "";
}

/* Wraps s into lines of at most width columns (at spaces); returns the
 * count, lines owned by the caller. */
static size_t wrap(const char *s, int width, char ***out)
{
    char **v = NULL;
    size_t n = 0;
    while (*s) {
        const char *start = s, *cut = NULL;
        int w = 0;
        const char *p = s;
        while (*p && *p != '\n') {
            char one[8] = "";
            int k = 1;
            while ((p[k] & 0xc0) == 0x80 && k < 4)
                k++;
            memcpy(one, p, (size_t)k);
            int cw = tx_width(one);
            if (w + cw > width && p > start)
                break;
            if (*p == ' ')
                cut = p;
            w += cw;
            p += k;
        }
        const char *end = p;
        if (*p && *p != '\n' && cut && cut > start)
            end = cut;
        v = xrealloc(v, (n + 1) * sizeof *v);
        v[n++] = xstrndup(start, (size_t)(end - start));
        s = end;
        if (*s == ' ' || *s == '\n')
            s++;
    }
    *out = v;
    return n;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- the frame: title, status line, function-key bar ---- */

static const char *screen_title(app_screen s)
{
    static const char *const t[APP_N_SCREENS] = {
        "Jobs", "Job items", "Open a file", "Set up the job", "Preview", "Run"};
    return t[s];
}

static double run_fraction(const eng_snapshot *s)
{
    size_t fin = s->done + s->failed + s->skipped;
    return s->total ? (double)fin / (double)s->total : 0;
}

static void title_bar(vm *v, const app *a)
{
    line l = line_start(v, 0, ROLE_TITLE, a->utf8);
    char right[200];
    const char *where = a->target.local ? "local endpoint" : "AWS";
    if (a->run.active && a->run.have && a->run.s.state < ENG_DONE)
        snprintf(right, sizeof right, "job %lld %s %.0f%%  %s ", a->run.s.job_id,
                 a->run.stopping ? "stopping" : "running", 100 * run_fraction(&a->run.s),
                 where);
    else
        snprintf(right, sizeof right, "%s ", where);
    char left[200];
    snprintf(left, sizeof left, " thingpress %s %s", a->utf8 ? "\xc2\xb7" : "-",
             a->help ? "Help" : screen_title(a->screen));
    int rw = tx_width(right);
    cell(&l, left, v->w - rw, TX_LEFT, -1);
    cell(&l, right, rw, TX_LEFT, -1);
    line_end(&l);
}

typedef struct {
    int key;
    act_type act;
    const char *label;
} bar_entry;

#define BAR_END                                                                          \
    {                                                                                    \
        0, ACT_NONE, NULL                                                                \
    }

static const bar_entry bar_jobs[] = {
    {KM_F(1), ACT_HELP, "Help"},
    {KM_F(3), ACT_OPEN, "Open"},
    {KM_F(5), ACT_START, "Resume"},
    {KM_ENTER, ACT_ENTER, "Items"},
    {'/', ACT_SEARCH, "Search"},
    {KM_F(10), ACT_QUIT, "Quit"},
    BAR_END,
};
static const bar_entry bar_items[] = {
    {KM_F(1), ACT_HELP, "Help"},
    {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(3), ACT_OPEN, "Open"},
    {KM_F(4), ACT_FILTER, "Filter"},
    {KM_F(5), ACT_START, "Retry"},
    {KM_F(6), ACT_EXPORT, "Export"},
    {'/', ACT_SEARCH, "Search"},
    {KM_F(10), ACT_QUIT, "Quit"},
    BAR_END,
};
static const bar_entry bar_pick[] = {
    {KM_F(1), ACT_HELP, "Help"},
    {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(6), ACT_SAMPLES, "Samples"},
    {KM_ENTER, ACT_ENTER, "Choose"},
    {KM_BACKSPACE, ACT_LEFT, "Up"},
    {'/', ACT_SEARCH, "Search"},
    {KM_ESC, ACT_BACK, "Back"},
    {KM_F(10), ACT_QUIT, "Quit"},
    BAR_END,
};
static const bar_entry bar_setup[] = {
    {KM_F(1), ACT_HELP, "Help"},
    {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(3), ACT_OPEN, "Open"},
    {KM_ENTER, ACT_ENTER, "Edit"},
    {' ', ACT_TOGGLE, "Toggle"},
    {KM_F(5), ACT_START, "Preview"},
    {KM_ESC, ACT_BACK, "Back"},
    {KM_F(10), ACT_QUIT, "Quit"},
    BAR_END,
};
static const bar_entry bar_preview[] = {
    {KM_F(1), ACT_HELP, "Help"},     {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(4), ACT_FILTER, "Filter"}, {KM_F(5), ACT_START, "Start"},
    {KM_F(6), ACT_CHECK, "Check"},   {KM_TAB, ACT_TAB, "Detail"},
    {'/', ACT_SEARCH, "Search"},     {KM_ESC, ACT_BACK, "Back"},
    {KM_F(10), ACT_QUIT, "Quit"},    BAR_END,
};
static const bar_entry bar_run[] = {
    {KM_F(1), ACT_HELP, "Help"},     {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(5), ACT_START, "Resume"},  {KM_F(7), ACT_PAUSE, "Pause"},
    {KM_F(8), ACT_CANCEL, "Cancel"}, {KM_ENTER, ACT_ENTER, "Results"},
    {KM_F(10), ACT_QUIT, "Quit"},    BAR_END,
};
static const bar_entry bar_text[] = {
    {KM_ENTER, ACT_ENTER, "OK"},
    {KM_ESC, ACT_BACK, "Cancel"},
    {KM_CTRL('u'), ACT_CLEAR, "Clear"},
    BAR_END,
};
static const bar_entry bar_dialog[] = {
    {'y', ACT_YES, "Yes"},
    {'n', ACT_NO, "No"},
    {KM_TAB, ACT_TAB, "Switch"},
    {KM_ENTER, ACT_ENTER, "Choose"},
    BAR_END,
};
static const bar_entry bar_help[] = {
    {KM_UP, ACT_UP, "Scroll"},
    {KM_PGDN, ACT_PGDN, "Page"},
    {KM_ESC, ACT_BACK, "Close"},
    BAR_END,
};

static const bar_entry *bar_of(km_ctx ctx)
{
    static const bar_entry *const bars[KMC_COUNT] = {
        [KMC_JOBS] = bar_jobs,   [KMC_ITEMS] = bar_items,     [KMC_PICK] = bar_pick,
        [KMC_SETUP] = bar_setup, [KMC_PREVIEW] = bar_preview, [KMC_RUN] = bar_run,
        [KMC_TEXT] = bar_text,   [KMC_DIALOG] = bar_dialog,   [KMC_HELP] = bar_help,
    };
    return bars[ctx];
}

size_t vm_bar(km_ctx ctx, int *keys, act_type *acts, size_t max)
{
    size_t n = 0;
    if (ctx < 0 || ctx >= KMC_COUNT)
        return 0;
    for (const bar_entry *e = bar_of(ctx); e->label && n < max; e++, n++) {
        keys[n] = e->key;
        acts[n] = e->act;
    }
    return n;
}

/* The run screen's bar shows only what the job's state allows: pause and
 * cancel while it runs; resume and the results once it has stopped. */
static int bar_shows(const app *a, km_ctx ctx, const bar_entry *e)
{
    if (ctx != KMC_RUN)
        return 1;
    int busy = a->run.active && !app_run_finished(a);
    switch (e->act) {
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

static void key_bar(vm *v, const app *a)
{
    line l = line_start(v, v->h - 1, ROLE_KEYLABEL, a->utf8);
    km_ctx ctx = app_keyctx(a);
    for (const bar_entry *e = bar_of(ctx); e->label; e++) {
        if (!bar_shows(a, ctx, e))
            continue;
        char name[32];
        km_key_name(name, sizeof name, e->key);
        if (e->key == KM_BACKSPACE)
            snprintf(name, sizeof name, "Bksp");
        int lw = tx_width(e->label) + 1;
        if (lw < 6)
            lw = 6;
        if (l.col + tx_width(name) + tx_width(e->label) > v->w)
            break;
        text(&l, name, ROLE_KEY);
        cell(&l, e->label, lw, TX_LEFT, ROLE_KEYLABEL);
    }
    line_end(&l);
}

static void status_line(vm *v, const app *a, const char *hint)
{
    int y = v->h - 2;
    if (a->input.kind) {
        line l = line_start(v, y, ROLE_INPUT, a->utf8);
        static const char *const labels[FLD_COUNT] = {"Policies",
                                                      "Thing groups",
                                                      "Thing type",
                                                      "",
                                                      "",
                                                      "",
                                                      "Endpoint (local, aws or a URL)",
                                                      "Profile",
                                                      "Region"};
        const char *prompt = a->input.kind == IN_SEARCH ? "/" : labels[a->input.field];
        if (a->input.kind == IN_FIELD)
            textf(&l, -1, "%s: ", prompt);
        else
            text(&l, prompt, -1);
        /* keep the end of a long entry (and the cursor) visible */
        int room = v->w - l.col - 1;
        int tw = tx_width(a->input.text);
        if (tw > room && room > 1) {
            buf t = BUF_INIT;
            tx_fit_tail(&t, a->input.text, room, a->utf8);
            text(&l, t.data, -1);
            buf_free(&t);
        } else {
            text(&l, a->input.text, -1);
        }
        v->cursor_y = y;
        v->cursor_x = l.col < v->w ? l.col : v->w - 1;
        line_end(&l);
        return;
    }
    if (a->msg[0]) {
        row(v, y, a->msg_error ? ROLE_ERROR : ROLE_NORMAL, a->utf8, a->msg);
        return;
    }
    row(v, y, ROLE_DIM, a->utf8, hint ? hint : "");
}

static void target_line(vm *v, const app *a, int y, const char *label)
{
    line l = line_start(v, y, ROLE_TARGET, a->utf8);
    const char *dot = a->utf8 ? " \xc2\xb7 " : " - ";
    textf(&l, -1, "%s%s%s%saccount %s", label, a->target.local ? "local endpoint " : "",
          a->target.endpoint, dot,
          a->target.account[0] ? a->target.account : "(learned at the pre-flight)");
    line_end(&l);
}

static void blank(vm *v, int y, int utf8)
{
    row(v, y, ROLE_NORMAL, utf8, "");
}

/* ---- Jobs ---- */

static const char *job_status(const app *a, const jnl_job *j, vm_role *role)
{
    switch (j->status) {
    case JOB_DONE:
        *role = ROLE_OK;
        return "done";
    case JOB_FAILED:
        *role = ROLE_ERROR;
        return "failed";
    case JOB_CANCELLED:
        *role = ROLE_WARN;
        return "cancelled";
    case JOB_RUNNING:
    default:
        if (a->run.active && a->run.s.job_id == j->id && !app_run_finished(a)) {
            *role = ROLE_OK;
            return "running";
        }
        *role = ROLE_WARN;
        return "interrupted";
    }
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
    target_line(v, a, 1, "Sends to: ");
    int wide = v->w >= 110;
    line h = line_start(v, 2, ROLE_HEADER, a->utf8);
    cell(&h, "Job", 5, TX_RIGHT, -1);
    cell(&h, " Ph", 4, TX_LEFT, -1);
    cell(&h, "Status", 12, TX_LEFT, -1);
    cell(&h, "Items", 7, TX_RIGHT, -1);
    cell(&h, "Done", 7, TX_RIGHT, -1);
    cell(&h, "Failed", 7, TX_RIGHT, -1);
    cell(&h, "Skip", 6, TX_RIGHT, -1);
    cell(&h, "  Batch", 15, TX_LEFT, -1);
    if (wide)
        cell(&h, "Updated", 17, TX_LEFT, -1);
    cell(&h, "File", -1, TX_LEFT, -1);
    line_end(&h);

    size_t page = app_page_rows(a, APP_JOBS);
    int y = 3;
    if (a->jobs.n == 0) {
        for (; y < v->h - 2; y++)
            blank(v, y, a->utf8);
        if (a->jobs.error[0]) {
            row(v, 4, ROLE_DIM, a->utf8, "  No jobs yet.");
            rowf(v, 5, ROLE_DIM, a->utf8, "  (%s)", a->jobs.error);
        } else {
            row(v, 4, ROLE_DIM, a->utf8,
                a->jobs.loaded ? "  No jobs yet." : "  Loading...");
        }
        row(v, 7, ROLE_NORMAL, a->utf8,
            "  F3 opens a file to provision: a vendor file (Phase 1) or a device-infos");
        row(v, 8, ROLE_NORMAL, a->utf8,
            "  file (Phase 2). In the file picker, F6 jumps to the bundled samples.");
        return;
    }
    for (size_t i = a->jobs.l.top; i < a->jobs.n && y < 3 + (int)page; i++, y++) {
        const jnl_job *j = &a->jobs.v[i];
        int sel = i == a->jobs.l.sel;
        line l = line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        char num[32], when[32];
        vm_role sr;
        const char *st = job_status(a, j, &sr);
        snprintf(num, sizeof num, "%lld", j->id);
        cell(&l, num, 5, TX_RIGHT, -1);
        snprintf(num, sizeof num, "  %d", j->phase);
        cell(&l, num, 4, TX_LEFT, -1);
        cell(&l, st, 12, TX_LEFT, sel ? -1 : (int)sr);
        snprintf(num, sizeof num, "%zu", j->total);
        cell(&l, num, 7, TX_RIGHT, -1);
        snprintf(num, sizeof num, "%zu", j->done);
        cell(&l, num, 7, TX_RIGHT, -1);
        snprintf(num, sizeof num, "%zu", j->failed);
        cell(&l, num, 7, TX_RIGHT, !sel && j->failed ? ROLE_ERROR : -1);
        snprintf(num, sizeof num, "%zu", j->skipped);
        cell(&l, num, 6, TX_RIGHT, !sel && j->skipped ? ROLE_WARN : -1);
        cell(&l, "  ", 2, TX_LEFT, -1);
        cell(&l, j->batch_id[0] ? j->batch_id : "-", 12, TX_LEFT, -1);
        cell(&l, " ", 1, TX_LEFT, -1);
        if (wide) {
            fmt_time(when, sizeof when, j->updated);
            cell(&l, "", 0, TX_LEFT, -1);
            cell(&l, when, 17, TX_LEFT, -1);
        }
        int room = v->w - l.col;
        /* the whole path when it fits, else the file name (the items screen has
         * the path) */
        if (room > 0)
            path_text(&l, tx_width(j->file) <= room ? j->file : base_name(j->file), room,
                      -1);
        line_end(&l);
    }
    for (; y < v->h - 2; y++)
        blank(v, y, a->utf8);
}

/* ---- one job's items ---- */

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

static void build_items(vm *v, const app *a)
{
    const jnl_job *j = &a->items.job;
    vm_role sr;
    const char *st = job_status(a, j, &sr);
    line l = line_start(v, 1, ROLE_NORMAL, a->utf8);
    textf(&l, -1, "Job %lld  Phase %d  ", j->id, j->phase);
    text(&l, st, sr);
    textf(&l, -1, "  batch %s  ", j->batch_id[0] ? j->batch_id : "-");
    buf t = BUF_INIT;
    tx_fit_tail(&t, j->file, v->w - l.col, a->utf8);
    text(&l, t.data ? t.data : "", -1);
    buf_free(&t);
    line_end(&l);

    rowf(v, 2, ROLE_TARGET, a->utf8, "Sent to: %s", j->endpoint[0] ? j->endpoint : "-");

    size_t pending = j->total - j->done - j->failed - j->skipped;
    l = line_start(v, 3, ROLE_NORMAL, a->utf8);
    textf(&l, -1, "%zu items: ", j->total);
    textf(&l, j->done ? ROLE_OK : -1, "%zu succeeded", j->done);
    text(&l, ", ", -1);
    textf(&l, j->failed ? ROLE_ERROR : -1, "%zu failed", j->failed);
    text(&l, ", ", -1);
    textf(&l, j->skipped ? ROLE_WARN : -1, "%zu skipped", j->skipped);
    textf(&l, -1, ", %zu pending", pending);
    if (a->items.filter == JNL_FILTER_PROBLEMS)
        text(&l, "   [failed and skipped only]", ROLE_WARN);
    line_end(&l);

    if (a->items.report[0])
        rowf(v, 4, ROLE_NORMAL, a->utf8, "Report: %s", a->items.report);
    else if (j->failed || j->skipped)
        row(v, 4, ROLE_DIM, a->utf8,
            "Report: F6 writes the failed and skipped items (CSV and JSON)");
    else
        blank(v, 4, a->utf8);

    line h = line_start(v, 5, ROLE_HEADER, a->utf8);
    cell(&h, "#", 7, TX_RIGHT, -1);
    cell(&h, "  Thing name", 22, TX_LEFT, -1);
    cell(&h, "Status", 10, TX_LEFT, -1);
    cell(&h, "Fingerprint", 16, TX_LEFT, -1);
    cell(&h, "Reason", -1, TX_LEFT, -1);
    line_end(&h);

    size_t n = a->items.filter == JNL_FILTER_PROBLEMS ? j->failed + j->skipped : j->total;
    size_t page = app_page_rows(a, APP_ITEMS);
    int y = 6;
    for (size_t i = a->items.l.top; i < n && y < 6 + (int)page; i++, y++) {
        int sel = i == a->items.l.sel;
        line r = line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        if (i < a->items.off || i >= a->items.off + a->items.n) {
            text(&r, "      ...", ROLE_DIM);
            line_end(&r);
            continue;
        }
        const jnl_item *it = &a->items.v[i - a->items.off];
        char num[32], fp[32];
        snprintf(num, sizeof num, "%zu", it->idx);
        cell(&r, num, 7, TX_RIGHT, -1);
        cell(&r, "  ", 2, TX_LEFT, -1);
        cell(&r, it->key[0] ? it->key : "-", 20, TX_LEFT, -1);
        cell(&r, jnl_status_name(it->status), 10, TX_LEFT,
             sel ? -1 : (int)item_role(it->status));
        tx_fingerprint(fp, sizeof fp, it->fingerprint, a->utf8);
        cell(&r, fp[0] ? fp : "-", 16, TX_LEFT, -1);
        cell(&r, it->error, -1, TX_LEFT, -1);
        line_end(&r);
    }
    if (n == 0 && y < v->h - 2) {
        row(v, y++, ROLE_DIM, a->utf8,
            a->items.filter == JNL_FILTER_PROBLEMS ? "      no failed or skipped items"
                                                   : "      no items recorded yet");
    }
    for (; y < v->h - 2; y++)
        blank(v, y, a->utf8);
}

/* ---- the file picker ---- */

static void build_pick(vm *v, const app *a)
{
    line l = line_start(v, 1, ROLE_NORMAL, a->utf8);
    text(&l, "Folder: ", ROLE_LABEL);
    buf t = BUF_INIT;
    tx_fit_tail(&t, a->pick.dir, v->w - l.col, a->utf8);
    text(&l, t.data ? t.data : "", -1);
    buf_free(&t);
    line_end(&l);

    int wkind = 22, witems = 9, wsize = 9;
    int wname = v->w - 2 - wkind - witems - wsize - 3;
    if (wname < 16)
        wname = 16;
    line h = line_start(v, 2, ROLE_HEADER, a->utf8);
    cell(&h, "  Name", wname + 3, TX_LEFT, -1);
    cell(&h, "Kind", wkind, TX_LEFT, -1);
    cell(&h, "Items", witems, TX_RIGHT, -1);
    cell(&h, "Size", wsize, TX_RIGHT, -1);
    cell(&h, "", -1, TX_LEFT, -1);
    line_end(&h);

    size_t page = app_page_rows(a, APP_PICK);
    int y = 3;
    if (a->pick.error[0] && !a->pick.n) {
        rowf(v, y++, ROLE_ERROR, a->utf8, "  %s", a->pick.error);
    } else if (!a->pick.v) {
        row(v, y++, ROLE_DIM, a->utf8, "  Loading...");
    }
    for (size_t i = a->pick.l.top; i < a->pick.n && y < 3 + (int)page; i++, y++) {
        const pk_entry *e = &a->pick.v[i];
        int sel = i == a->pick.l.sel;
        line r = line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        char name[1100], kind[64] = "", items[32] = "", size[32] = "";
        int krole = -1;
        switch (e->kind) {
        case PK_PARENT:
            snprintf(name, sizeof name, "../");
            snprintf(kind, sizeof kind, "parent folder");
            krole = ROLE_DIM;
            break;
        case PK_SAMPLES:
            snprintf(name, sizeof name, "%s Bundled samples/",
                     a->utf8 ? "\xe2\x98\x85" : "*");
            snprintf(kind, sizeof kind, "sample files");
            krole = ROLE_DIM;
            break;
        case PK_DIR:
            snprintf(name, sizeof name, "%s/", e->name);
            snprintf(kind, sizeof kind, "folder");
            krole = ROLE_DIM;
            break;
        case PK_FILE:
            snprintf(name, sizeof name, "%s", e->name);
            if (!e->probed) {
                snprintf(kind, sizeof kind, "...");
                krole = ROLE_DIM;
            } else if (!e->supported) {
                snprintf(kind, sizeof kind, "-");
                krole = ROLE_DIM;
            } else {
                snprintf(kind, sizeof kind, "%s  Phase %d", vendor_name(e->vendor),
                         vendor_is_phase2(e->vendor) ? 2 : 1);
                krole = ROLE_OK;
                if (e->count >= 0)
                    snprintf(items, sizeof items, "%lld", e->count);
                else
                    snprintf(items, sizeof items, "?");
            }
            tx_short_num(size, sizeof size, (double)e->size);
            break;
        }
        cell(&r, "  ", 2, TX_LEFT, -1);
        cell(&r, name, wname, TX_LEFT,
             !sel && e->kind == PK_FILE && e->probed && !e->supported ? ROLE_DIM : -1);
        cell(&r, " ", 1, TX_LEFT, -1);
        cell(&r, kind, wkind, TX_LEFT, sel ? -1 : krole);
        cell(&r, items, witems, TX_RIGHT, -1);
        cell(&r, size, wsize, TX_RIGHT, -1);
        line_end(&r);
    }
    for (; y < v->h - 2; y++)
        blank(v, y, a->utf8);
}

static const char *pick_hint(const app *a)
{
    const pk_entry *e = a->pick.n ? &a->pick.v[a->pick.l.sel] : NULL;
    if (e && e->kind == PK_FILE && e->probed && !e->supported)
        return e->note[0] ? e->note : "not a file thingpress reads";
    if (e && e->kind == PK_FILE && e->probed && e->note[0])
        return e->note;
    return "Enter chooses a file or opens a folder; Backspace goes up; F6 bundled "
           "samples";
}

/* ---- the setup form ---- */

static void build_setup(vm *v, const app *a)
{
    const char *dot = a->utf8 ? " \xc2\xb7 " : " - ";
    line l = line_start(v, 1, ROLE_NORMAL, a->utf8);
    text(&l, "File: ", ROLE_LABEL);
    buf t = BUF_INIT;
    tx_fit_tail(&t, a->file.path ? a->file.path : "(none)", v->w - l.col, a->utf8);
    text(&l, t.data ? t.data : "", -1);
    buf_free(&t);
    line_end(&l);

    l = line_start(v, 2, ROLE_NORMAL, a->utf8);
    text(&l, "Kind: ", ROLE_LABEL);
    if (a->file.kind == VENDOR_AUTO)
        text(&l, "detecting...", ROLE_DIM);
    else
        text(&l, vendor_name(a->file.kind), -1);
    if (a->file.count >= 0)
        textf(&l, -1, "%s%lld items", dot, a->file.count);
    if (a->file.phase == 1)
        textf(&l, -1, "%sPhase 1: register the certificates", dot);
    else if (a->file.phase == 2)
        textf(&l, -1, "%sPhase 2: activate, create the things, attach", dot);
    line_end(&l);
    blank(v, 3, a->utf8);

    static const char *const labels[FLD_COUNT] = {
        "Policies",           "Thing groups",   "Thing type",
        "Certificate active", "Thing deferred", "Skip invalid items",
        "Endpoint",           "AWS profile",    "AWS region"};
    int p2 = a->file.phase == 2;
    int y = 4;
    for (int f = 0; f < FLD_COUNT; f++, y++) {
        if (f == FLD_ENDPOINT)
            blank(v, y++, a->utf8);
        int sel = a->setup.field == (app_field)f && !a->input.kind;
        int editing = a->input.kind == IN_FIELD && a->input.field == (app_field)f;
        line r = line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        cell(&r, "  ", 2, TX_LEFT, -1);
        cell(&r, labels[f], 21, TX_LEFT, sel ? -1 : ROLE_LABEL);
        char val[600] = "";
        const char *note = "";
        int vrole = -1;
        switch ((app_field)f) {
        case FLD_POLICIES:
        case FLD_GROUPS:
        case FLD_TYPE: {
            char *const *list = f == FLD_POLICIES ? a->cfg.policies : a->cfg.thing_groups;
            size_t k = f == FLD_POLICIES ? a->cfg.n_policies : a->cfg.n_thing_groups;
            size_t len = 0;
            if (f == FLD_TYPE) {
                snprintf(val, sizeof val, "%s",
                         a->cfg.thing_type ? a->cfg.thing_type : "");
            } else {
                for (size_t i = 0; i < k && len < sizeof val; i++)
                    len += (size_t)snprintf(val + len, sizeof val - len, "%s%s",
                                            i ? ", " : "", list[i]);
            }
            if (!val[0]) {
                snprintf(val, sizeof val, "(none)");
                vrole = ROLE_DIM;
            }
            if (f == FLD_POLICIES)
                note = "attached to each certificate";
            else if (!p2 && a->cfg.thing_deferred)
                note = "used when things are created";
            else if (f == FLD_GROUPS)
                note = "each thing is added to them";
            else
                note = "a device's deviceType wins";
            break;
        }
        case FLD_CERT_ACTIVE:
            if (p2) {
                snprintf(val, sizeof val, "-");
                note = "Phase 2 activates them";
                vrole = ROLE_DIM;
            } else {
                snprintf(val, sizeof val, "[%s] %s", a->cfg.cert_active ? "x" : " ",
                         a->cfg.cert_active ? "yes" : "no");
                note = a->cfg.cert_active ? "ACTIVE: usable at once"
                                          : "INACTIVE until Phase 2";
            }
            break;
        case FLD_DEFERRED:
            if (p2) {
                snprintf(val, sizeof val, "-");
                note = "Phase 2 creates the things";
                vrole = ROLE_DIM;
            } else {
                snprintf(val, sizeof val, "[%s] %s", a->cfg.thing_deferred ? "x" : " ",
                         a->cfg.thing_deferred ? "yes" : "no");
                note = a->cfg.thing_deferred ? "things are created in Phase 2"
                                             : "things are created now";
            }
            break;
        case FLD_SKIP_INVALID:
            snprintf(val, sizeof val, "[%s] %s", a->cfg.skip_invalid ? "x" : " ",
                     a->cfg.skip_invalid ? "yes" : "no");
            note = a->cfg.skip_invalid ? "invalid items are left out"
                                       : "invalid items stop the job";
            break;
        case FLD_ENDPOINT:
            if (a->where.local) {
                snprintf(val, sizeof val, "local");
                note = "embedded, no AWS account needed";
            } else if (a->where.endpoint[0]) {
                snprintf(val, sizeof val, "%s", a->where.endpoint);
                note = "this URL";
            } else {
                snprintf(val, sizeof val, "aws");
                note = "AWS IoT's, by region";
            }
            if (a->retargeting)
                note = "connecting...";
            else if (!a->can_retarget)
                note = "fixed by the command line";
            break;
        case FLD_PROFILE:
        case FLD_REGION: {
            const char *asked = f == FLD_PROFILE ? a->where.profile : a->where.region;
            if (asked[0]) {
                snprintf(val, sizeof val, "%s", asked);
            } else if (f == FLD_REGION && !a->where.local && a->target.region[0]) {
                snprintf(val, sizeof val, "%s", a->target.region);
            } else {
                snprintf(val, sizeof val, "(default)");
                vrole = ROLE_DIM;
            }
            if (a->where.local)
                note = "for aws; local ignores it";
            else if (f == FLD_PROFILE)
                note = asked[0] ? "its credentials" : "the default credentials";
            else
                note = asked[0] ? "" : "as configured (see below)";
            break;
        }
        default:
            break;
        }
        if (editing) {
            cell(&r, "(editing below)", 24, TX_LEFT, ROLE_INPUT);
        } else {
            cell(&r, val, 24, TX_LEFT, sel ? -1 : vrole);
        }
        cell(&r, "  ", 2, TX_LEFT, -1);
        cell(&r, note, -1, TX_LEFT, sel ? -1 : ROLE_DIM);
        line_end(&r);
    }
    blank(v, y++, a->utf8);
    target_line(v, a, y++, "Sends to: ");
    row(v, y++, ROLE_DIM, a->utf8, a->target.describe);
    blank(v, y++, a->utf8);
    row(v, y++, ROLE_NORMAL, a->utf8,
        "F5 validates the whole file first (nothing is sent) and shows the preview.");
    for (; y < v->h - 2; y++)
        blank(v, y, a->utf8);
}

/* ---- the preview ---- */

static const pv_row *pv_at(const app *a, size_t i)
{
    return &a->pv.v[a->pv.problems_only ? a->pv.problems[i] : i];
}

static vm_role verdict_role(item_verdict v)
{
    return v == ITEM_OK ? ROLE_OK : v == ITEM_WARN ? ROLE_WARN : ROLE_ERROR;
}

/* A row's registry check, as shown: text and role. Phase 2 expects every
 * certificate registered and INACTIVE; Phase 1 expects none registered. */
static const char *registry_text(const app *a, const pv_row *r, vm_role *role)
{
    int p2 = a->file.phase == 2;
    switch ((rc_state)r->rc_state) {
    case RC_PENDING:
        *role = ROLE_DIM;
        return a->pv.rc_finished ? "-" : "...";
    case RC_ABSENT:
        *role = p2 ? ROLE_ERROR : ROLE_OK;
        return "absent";
    case RC_PRESENT:
        if (!strcmp(r->rc_status, "REVOKED"))
            *role = ROLE_ERROR;
        else if (p2 && !strcmp(r->rc_status, "INACTIVE"))
            *role = ROLE_OK;
        else
            *role = ROLE_WARN;
        return r->rc_status;
    case RC_INVALID:
        *role = ROLE_DIM;
        return "-";
    case RC_ERROR:
    default:
        *role = ROLE_ERROR;
        return "error";
    }
}

static void build_preview(vm *v, const app *a)
{
    const char *dot = a->utf8 ? " \xc2\xb7 " : " - ";
    const pv_status *st = &a->pv.st;
    line l = line_start(v, 1, ROLE_NORMAL, a->utf8);
    text(&l, "File: ", ROLE_LABEL);
    char tail[200];
    snprintf(tail, sizeof tail, "%s%s%sPhase %d", dot,
             vendor_name(st->vendor != VENDOR_AUTO ? st->vendor : a->file.kind), dot,
             a->file.phase);
    path_text(&l, a->file.path, v->w - l.col - tx_width(tail), -1);
    text(&l, tail, -1);
    line_end(&l);
    target_line(v, a, 2, "Sends to: ");

    l = line_start(v, 3, ROLE_NORMAL, a->utf8);
    textf(&l, -1, "%zu items: ", st->total);
    textf(&l, st->ok ? ROLE_OK : -1, "%zu ok", st->ok);
    text(&l, ", ", -1);
    textf(&l, st->warn ? ROLE_WARN : -1, "%zu warn", st->warn);
    text(&l, ", ", -1);
    textf(&l, st->error ? ROLE_ERROR : -1, "%zu error", st->error);
    if (a->pv.problems_only)
        text(&l, "   [problems only]", ROLE_WARN);
    else if (!st->done)
        text(&l, "   validating...", ROLE_DIM);
    else if (st->rejected)
        text(&l, "   the file is rejected", ROLE_ERROR);
    else if (st->error)
        textf(&l, ROLE_ERROR, "   F5 asks to skip the %zu invalid", st->error);
    else
        text(&l, "   ready to start", ROLE_OK);
    line_end(&l);

    line h = line_start(v, 4, ROLE_HEADER, a->utf8);
    cell(&h, "#", 7, TX_RIGHT, -1);
    cell(&h, "  Thing name", 21, TX_LEFT, -1);
    cell(&h, "Fingerprint", 15, TX_LEFT, -1);
    cell(&h, "Attrs", 6, TX_RIGHT, -1);
    cell(&h, " Verdict", 9, TX_LEFT, -1);
    if (a->pv.rc_on)
        cell(&h, "Registry", 9, TX_LEFT, -1);
    text(&h, "Reason", -1);
    line_end(&h);

    size_t n = a->pv.problems_only ? a->pv.n_problems : a->pv.n;
    size_t page = app_page_rows(a, APP_PREVIEW);
    int y = 5;
    if (st->rejected && n == 0) {
        rowf(v, y++, ROLE_ERROR, a->utf8, "  %s", st->message);
    } else if (n == 0 && st->done) {
        row(v, y++, ROLE_DIM, a->utf8,
            a->pv.problems_only ? "      no problems: every item is valid"
                                : "      no items");
    }
    for (size_t i = a->pv.l.top; i < n && y < 5 + (int)page; i++, y++) {
        const pv_row *r = pv_at(a, i);
        int sel = i == a->pv.l.sel;
        line rl = line_start(
            v, y, sel ? (a->pv.focus_detail ? ROLE_DIALOG : ROLE_SELECTED) : ROLE_NORMAL,
            a->utf8);
        char num[32], fp[32], at[32];
        snprintf(num, sizeof num, "%zu", r->idx);
        cell(&rl, num, 7, TX_RIGHT, -1);
        cell(&rl, "  ", 2, TX_LEFT, -1);
        cell(&rl, r->name[0] ? r->name : "-", 19, TX_LEFT, -1);
        tx_fingerprint(fp, sizeof fp, r->fp, a->utf8);
        cell(&rl, fp[0] ? fp : "-", 15, TX_LEFT, -1);
        if (r->n_attrs >= 0)
            snprintf(at, sizeof at, "%d/%d", r->n_attrs, r->attr_limit);
        else
            snprintf(at, sizeof at, "-");
        cell(&rl, at, 6, TX_RIGHT, !sel && r->n_attrs > r->attr_limit ? ROLE_ERROR : -1);
        cell(&rl, " ", 1, TX_LEFT, -1);
        cell(&rl, item_verdict_name(r->verdict), 8, TX_LEFT,
             sel ? -1 : (int)verdict_role(r->verdict));
        if (a->pv.rc_on) {
            vm_role rr;
            const char *rt = registry_text(a, r, &rr);
            cell(&rl, rt, 9, TX_LEFT, sel ? -1 : (int)rr);
        }
        cell(&rl, r->message, -1, TX_LEFT, -1);
        line_end(&rl);
    }
    int dr = app_detail_rows(a);
    int dy = v->h - 2 - dr;
    for (; y < dy; y++)
        blank(v, y, a->utf8);
    if (dr <= 0)
        return;
    const pv_row *r = n ? pv_at(a, a->pv.l.sel) : NULL;
    line d = line_start(v, dy, ROLE_HEADER, a->utf8);
    if (r)
        textf(&d, -1, " Item %zu%s%s", r->idx,
              a->pv.focus_detail ? "   (Tab returns to the table)"
                                 : "   (Tab scrolls this pane)",
              "");
    else
        text(&d, " Detail", -1);
    line_end(&d);
    char **lines = NULL;
    size_t nl = 0;
    if (r && a->pv.rc_on) {
        vm_role rr;
        const char *rt = registry_text(a, r, &rr);
        char one[160];
        snprintf(one, sizeof one, "Registry: %s%s", rt,
                 r->rc_state == RC_PENDING && !a->pv.rc_finished ? " (checking)"
                 : r->rc_state == RC_ABSENT ? " (no such certificate)"
                                            : "");
        lines = xrealloc(lines, (nl + 1) * sizeof *lines);
        lines[nl++] = xstrdup(one);
    }
    if (r && r->detail) {
        /* each detail line wrapped to the width */
        const char *p = r->detail;
        while (*p) {
            const char *e = strchr(p, '\n');
            char *one = xstrndup(p, e ? (size_t)(e - p) : strlen(p));
            char **w;
            size_t k = wrap(one, v->w - 2, &w);
            if (k == 0) {
                lines = xrealloc(lines, (nl + 1) * sizeof *lines);
                lines[nl++] = xstrdup("");
            }
            for (size_t i = 0; i < k; i++) {
                lines = xrealloc(lines, (nl + 1) * sizeof *lines);
                lines[nl++] = w[i];
            }
            free(w);
            free(one);
            p = e ? e + 1 : p + strlen(p);
        }
    }
    size_t top = a->pv.detail_top;
    if (nl > (size_t)(dr - 1) && top > nl - (size_t)(dr - 1))
        top = nl - (size_t)(dr - 1);
    if (nl <= (size_t)(dr - 1))
        top = 0;
    for (int k = 1; k < dr; k++) {
        size_t i = top + (size_t)(k - 1);
        const char *s = i < nl ? lines[i] : "";
        vm_role role = ROLE_NORMAL;
        if (r && r->verdict != ITEM_OK && !strncmp(s, "Verdict:", 8))
            role = verdict_role(r->verdict);
        rowf(v, dy + k, role, a->utf8, "  %s", s);
    }
    free_lines(lines, nl);
}

static const char *preview_hint(const app *a, char *buf, size_t n)
{
    const pv_status *st = &a->pv.st;
    if (a->pv.rc_on) {
        size_t k = (size_t)snprintf(buf, n, "Registry (read-only): %zu/%zu checked",
                                    a->pv.rc_checked, a->pv.rc_total);
        const struct {
            size_t count;
            const char *what;
        } parts[] = {{a->pv.rc_inactive, "INACTIVE"},
                     {a->pv.rc_active, "ACTIVE"},
                     {a->pv.rc_other, "other"},
                     {a->pv.rc_absent, "absent"},
                     {a->pv.rc_error, "failed"}};
        int first = 1;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0] && k < n; i++) {
            if (!parts[i].count)
                continue;
            k += (size_t)snprintf(buf + k, n - k, "%s%zu %s", first ? ": " : ", ",
                                  parts[i].count, parts[i].what);
            first = 0;
        }
        if (k < n && !a->pv.rc_finished)
            snprintf(buf + k, n - k, " (F6 stops)");
        return buf;
    }
    if (!st->done)
        return "Validating: nothing is sent until you start.";
    if (st->rejected)
        return "The file is rejected as a whole: fix it, then open it again (F3).";
    if (st->error && !a->cfg.skip_invalid)
        return "F4: problems only. F5 starts after asking to skip the invalid items.";
    return "F5 starts the job. F4 shows only the problems.";
}

/* ---- the run ---- */

static double quota_of(const app *a, const char *op)
{
    for (size_t i = 0; i < a->cfg.n_rates; i++)
        if (!strcmp(a->cfg.rates[i].op, op))
            return a->cfg.rates[i].tps;
    return eng_default_tps(op);
}

static void progress_bar(vm *v, const app *a, int y, double frac)
{
    line l = line_start(v, y, ROLE_NORMAL, a->utf8);
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
    text(&l, "[", -1);
    cell(&l, done.data ? done.data : "", fill, TX_LEFT, ROLE_BAR_DONE);
    cell(&l, todo.data ? todo.data : "", bw - fill, TX_LEFT, ROLE_BAR_TODO);
    text(&l, "]", -1);
    text(&l, pct, -1);
    buf_free(&done);
    buf_free(&todo);
    line_end(&l);
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
        if (a->run.paused)
            snprintf(out, n, "Paused: the job is saved in the journal; F5 resumes it");
        else
            snprintf(out, n,
                     "Cancelled: the job is saved in the journal and can be "
                     "resumed");
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
    line l = line_start(v, y++, ROLE_NORMAL, a->utf8);
    char tail[400] = "";
    if (a->run.have && s->job_id)
        snprintf(tail, sizeof tail, "%sjob %lld", dot, s->job_id);
    if (a->run.have && s->batch_id[0]) {
        size_t k = strlen(tail);
        snprintf(tail + k, sizeof tail - k, "%sbatch %s", dot, s->batch_id);
    }
    textf(&l, -1, "Phase %d%s", a->run.have && s->phase ? s->phase : a->file.phase, dot);
    path_text(&l, a->run.file, v->w - l.col - tx_width(tail), -1);
    text(&l, tail, -1);
    line_end(&l);
    target_line(v, a, y++, "Sending to: ");
    if (a->run.have && s->account[0] && !a->target.account[0])
        rowf(v, y - 1, ROLE_TARGET, a->utf8, "Sending to: %s%saccount %s", s->endpoint,
             dot, s->account);

    double frac = a->run.have ? run_fraction(s) : 0;
    progress_bar(v, a, y++, frac);

    char eta[32], el[32], ips[32], ceil[32];
    tx_duration(eta, sizeof eta, a->run.have && s->state == ENG_RUNNING ? s->eta : -1);
    tx_duration(el, sizeof el, s->elapsed);
    tx_short_num(ips, sizeof ips, s->items_per_s);
    if (s->ceiling > 0)
        tx_short_num(ceil, sizeof ceil, s->ceiling);
    else
        snprintf(ceil, sizeof ceil, "unlimited");
    rowf(v, y++, ROLE_NORMAL, a->utf8,
         "%s items/s   ETA %s   elapsed %s   quota ceiling %s items/s", ips, eta, el,
         ceil);

    char state[800];
    vm_role sr;
    run_state(a, state, sizeof state, &sr);
    row(v, y++, sr, a->utf8, state);
    blank(v, y++, a->utf8);

    static const char *const steps[ENG_N_COUNTS] = {"registered", "activated", "things",
                                                    "principals", "policies",  "groups"};
    l = line_start(v, y++, ROLE_NORMAL, a->utf8);
    for (int i = 0; i < ENG_N_COUNTS; i++)
        textf(&l, -1, "%s%s %zu", i ? "   " : "", steps[i], s->counts[i]);
    line_end(&l);
    l = line_start(v, y++, ROLE_NORMAL, a->utf8);
    textf(&l, s->done ? ROLE_OK : -1, "done %zu", s->done);
    textf(&l, s->failed ? ROLE_ERROR : -1, "   failed %zu", s->failed);
    textf(&l, s->skipped ? ROLE_WARN : -1, "   skipped %zu", s->skipped);
    textf(&l, -1, "   earlier %zu   calls %llu   retries %llu   ", s->already, s->calls,
          s->retries);
    textf(&l, s->throttles ? ROLE_WARN : -1, "throttled %llu", s->throttles);
    line_end(&l);
    blank(v, y++, a->utf8);

    line h = line_start(v, y++, ROLE_HEADER, a->utf8);
    cell(&h, "Operation", 28, TX_LEFT, -1);
    cell(&h, "rate/s", 8, TX_RIGHT, -1);
    cell(&h, "pace", 7, TX_RIGHT, -1);
    cell(&h, "quota", 7, TX_RIGHT, -1);
    cell(&h, "calls", 9, TX_RIGHT, -1);
    cell(&h, "throttled", 10, TX_RIGHT, -1);
    cell(&h, "", -1, TX_LEFT, -1);
    line_end(&h);
    for (size_t i = 0; i < s->n_ops && y < v->h - 3; i++) {
        const rate_stats *o = &s->ops[i];
        line r = line_start(v, y++, ROLE_NORMAL, a->utf8);
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
        cell(&r, o->op ? o->op : "?", 28, TX_LEFT, -1);
        cell(&r, c1, 8, TX_RIGHT, -1);
        cell(&r, c2, 7, TX_RIGHT, -1);
        cell(&r, c3, 7, TX_RIGHT, -1);
        cell(&r, c4, 9, TX_RIGHT, -1);
        cell(&r, c5, 10, TX_RIGHT, o->throttles ? ROLE_WARN : -1);
        int hot = o->throttles && a->run.op_throttled_at[i] > 0 &&
                  a->now - a->run.op_throttled_at[i] < 3.0 && s->state == ENG_RUNNING;
        cell(&r, hot ? " THROTTLED" : "", -1, TX_LEFT, hot ? ROLE_WARN : -1);
        line_end(&r);
    }
    if (y < v->h - 3)
        blank(v, y++, a->utf8);
    if (y < v->h - 2) {
        line e = line_start(v, y++, ROLE_HEADER, a->utf8);
        if (a->run.n_ev_total)
            textf(&e, -1, "Latest errors (%llu in all)", a->run.n_ev_total);
        else
            text(&e, "Latest errors: none", -1);
        line_end(&e);
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
        rowf(v, y++, ROLE_ERROR, a->utf8, "  item %zu %s: %s", ev->idx, ev->key,
             ev->text);
    }
    for (; y < v->h - 2; y++)
        blank(v, y, a->utf8);
}

static const char *run_hint(const app *a)
{
    if (a->run.active && !app_run_finished(a))
        return "F7 pauses (resumable), F8 cancels; quitting stops the job safely.";
    if (a->run.have && a->run.s.job_id)
        return "Enter shows the results; F2 the jobs.";
    return "";
}

/* ---- help ---- */

static const char *const help_text[APP_N_SCREENS] = {
    "Jobs: every job of the journal, most recent first, with its phase, status and "
    "counts. Enter opens a job's items; F5 resumes an interrupted or cancelled job, or "
    "retries the failed items of a finished one. F3 opens a file to start a new job.",
    "A job's items as the journal recorded them, with the reason of each failure. F4 "
    "shows only the failed and skipped items; F5 retries the failed ones (the job "
    "resumes); F6 writes the report (CSV and JSON) of the failed and skipped items.",
    "Pick the file to provision: a vendor file (Phase 1: register certificates) or a "
    "device-infos file from the MES (Phase 2: activate and create things). Supported "
    "files show their kind and item count. F6 opens the bundled sample files.",
    "Set up the job: the policies, thing groups and thing type to attach, whether "
    "certificates are registered ACTIVE, whether the Thing is created now or in Phase "
    "2. Enter edits a field (names separated by commas). Endpoint, AWS profile and AWS "
    "region say where jobs go: Endpoint 'local' is the embedded endpoint (no account "
    "needed), 'aws' is AWS IoT's endpoint of the region, or type a URL; the line under "
    "them shows the account and the credentials' source. F5 validates the file.",
    "The validation preview: every item with its verdict, before anything is sent. F4 "
    "shows only the problems; Tab moves to the detail pane. F6 asks the registry, read "
    "only, whether each certificate exists and in which status (DescribeCertificate, "
    "paced at its quota). F5 starts the job; a file with invalid items starts only if "
    "you choose to skip them.",
    "The job running: progress, rate per operation against its quota, throttling, the "
    "latest errors. F7 pauses (the job stops after the calls in flight and F5 resumes "
    "it from the journal), F8 cancels. Quitting or a crash never loses work.",
};

static void help_add(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = xstrdup(s);
}

typedef struct {
    act_type act;
    const char *text;
} help_entry;

#define HELP_END                                                                         \
    {                                                                                    \
        ACT_NONE, NULL                                                                   \
    }

/* What the keys do on each screen, in the screen's own words. */
static const help_entry help_jobs[] = {
    {ACT_ENTER, "open the job's items"},
    {ACT_START, "resume the job, or retry its failed items"},
    HELP_END,
};
static const help_entry help_items[] = {
    {ACT_FILTER, "failed and skipped items only / all"},
    {ACT_START, "retry the failed items (the job resumes)"},
    {ACT_EXPORT, "write the report (CSV and JSON)"},
    {ACT_BACK, "back to the jobs"},
    HELP_END,
};
static const help_entry help_pick[] = {
    {ACT_ENTER, "open the folder / choose the file"},
    {ACT_LEFT, "the parent folder"},
    {ACT_SAMPLES, "the bundled sample files"},
    {ACT_BACK, "back"},
    HELP_END,
};
static const help_entry help_setup[] = {
    {ACT_ENTER, "edit the field (names separated by commas) / toggle"},
    {ACT_TOGGLE, "toggle"},
    {ACT_START, "validate the file and show the preview"},
    {ACT_BACK, "back to the file picker"},
    HELP_END,
};
static const help_entry help_preview[] = {
    {ACT_FILTER, "problems only / all items"},
    {ACT_TAB, "the detail pane (Up/Down scroll it)"},
    {ACT_START, "start the job"},
    {ACT_CHECK, "check the registry: is each certificate there, INACTIVE? (read-only)"},
    {ACT_BACK, "back to the setup"},
    HELP_END,
};
static const help_entry help_run[] = {
    {ACT_PAUSE, "pause: stop after the calls in flight"},
    {ACT_START, "resume from the journal"},
    {ACT_CANCEL, "cancel the run (it can be resumed later)"},
    {ACT_ENTER, "the results, once finished"},
    HELP_END,
};
static const help_entry help_all[] = {
    {ACT_HELP, "this help"},
    {ACT_JOBS, "the jobs"},
    {ACT_OPEN, "open a file"},
    {ACT_UP, "move up"},
    {ACT_DOWN, "move down"},
    {ACT_PGUP, "page up"},
    {ACT_PGDN, "page down"},
    {ACT_HOME, "first row"},
    {ACT_END, "last row"},
    {ACT_SEARCH, "search the list"},
    {ACT_SEARCH_NEXT, "next match"},
    {ACT_QUIT, "quit (a running job stops safely)"},
    HELP_END,
};

static void help_keys(char ***v, size_t *n, km_ctx ctx, const help_entry *e)
{
    for (; e->text; e++) {
        int keys[8];
        size_t nk = km_keys_of(ctx, e->act, keys, 8);
        if (!nk)
            continue;
        char line[256] = "  ", name[32], prev[32] = "";
        size_t len = 2;
        for (size_t j = 0; j < nk && len < 22; j++) {
            km_key_name(name, sizeof name, keys[j]);
            if (!strcmp(name, prev))
                continue; /* Enter and Ctrl-J, Backspace and DEL */
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
                                    len > 2 ? " " : "", name);
            snprintf(prev, sizeof prev, "%s", name);
        }
        while (len < 24 && len + 1 < sizeof line)
            line[len++] = ' ';
        line[len] = '\0';
        snprintf(line + len, sizeof line - len, "%s", e->text);
        help_add(v, n, line);
    }
}

static void help_para(char ***v, size_t *n, const char *text, int width)
{
    char **w;
    size_t k = wrap(text, width, &w);
    for (size_t i = 0; i < k; i++)
        help_add(v, n, w[i]);
    free_lines(w, k);
}

size_t vm_help_lines(const app *a, char ***out)
{
    char **v = NULL;
    size_t n = 0;
    static const km_ctx ctx_of[APP_N_SCREENS] = {KMC_JOBS,  KMC_ITEMS,   KMC_PICK,
                                                 KMC_SETUP, KMC_PREVIEW, KMC_RUN};
    static const help_entry *const entries[APP_N_SCREENS] = {
        help_jobs, help_items, help_pick, help_setup, help_preview, help_run};
    int width = a->w > 8 ? a->w - 4 : 4;
    help_para(&v, &n, help_text[a->screen], width);
    help_add(&v, &n, "");
    help_add(&v, &n, "On this screen");
    help_keys(&v, &n, ctx_of[a->screen], entries[a->screen]);
    help_add(&v, &n, "");
    help_add(&v, &n, "Everywhere");
    help_keys(&v, &n, KMC_JOBS, help_all);
    help_add(&v, &n, "");
    help_para(&v, &n,
              "Colors: green ok / done, yellow warning / skipped / paused, red error / "
              "failed. NO_COLOR=1 turns colors off.",
              width);
    help_para(&v, &n,
              "Nothing is lost when the console quits or the terminal closes: the job "
              "stops after the calls in flight and resumes from the journal.",
              width);
    *out = v;
    return n;
}

static void build_help(vm *v, const app *a)
{
    char **lines;
    size_t n = vm_help_lines(a, &lines);
    int rows = v->h - 2;
    size_t top = a->help_top;
    if (n > (size_t)(rows - 1) && top > n - (size_t)(rows - 1))
        top = n - (size_t)(rows - 1);
    if (n <= (size_t)(rows - 1))
        top = 0;
    int y = 1;
    for (size_t i = top; i < n && y < v->h - 2; i++, y++) {
        vm_role r = ROLE_NORMAL;
        if (!strcmp(lines[i], "On this screen") || !strcmp(lines[i], "Everywhere"))
            r = ROLE_HEADER;
        rowf(v, y, r, a->utf8, " %s", lines[i]);
    }
    for (; y < v->h - 2; y++)
        blank(v, y, a->utf8);
    free_lines(lines, n);
}

/* ---- dialogs (a box over the middle rows) ---- */

static void build_dialog(vm *v, const app *a)
{
    char textbuf[1024], yes[128], title[64];
    const eng_snapshot *s = &a->run.s;
    switch (a->dialog) {
    case DLG_SKIP_INVALID: {
        size_t bad = a->pv.st.error, good = a->pv.st.ok + a->pv.st.warn;
        snprintf(title, sizeof title, "Invalid items");
        snprintf(textbuf, sizeof textbuf,
                 "%zu of %zu items %s invalid and cannot be provisioned. Skip %s and "
                 "provision the other %zu? Skipped items are listed in the job's report.",
                 bad, a->pv.st.total, bad == 1 ? "is" : "are", bad == 1 ? "it" : "them",
                 good);
        snprintf(yes, sizeof yes, "Skip %zu invalid and start", bad);
        break;
    }
    case DLG_QUIT_RUNNING:
        snprintf(title, sizeof title, "Quit while a job runs?");
        snprintf(textbuf, sizeof textbuf,
                 "Job %lld is running (%.0f%%). Quitting stops it after the calls in "
                 "flight; nothing is lost, and F5 on the Jobs screen resumes it.",
                 s->job_id, 100 * run_fraction(s));
        snprintf(yes, sizeof yes, "Stop and quit");
        break;
    case DLG_CANCEL_RUN:
        snprintf(title, sizeof title, "Cancel the run?");
        snprintf(
            textbuf, sizeof textbuf,
            "Job %lld stops after the calls in flight. It stays in the journal and can "
            "be resumed later from the Jobs screen.",
            s->job_id);
        snprintf(yes, sizeof yes, "Cancel the run");
        break;
    default:
        return;
    }
    int bw = v->w - 4 < 66 ? v->w - 4 : 66;
    if (bw < 20)
        bw = v->w;
    char **lines;
    size_t nl = wrap(textbuf, bw - 4, &lines);
    int bh = (int)nl + 5;
    int y0 = (v->h - bh) / 2;
    if (y0 < 1)
        y0 = 1;
    int x0 = (v->w - bw) / 2;
    const char *hz = a->utf8 ? "\xe2\x94\x80" : "-";
    const char *vt = a->utf8 ? "\xe2\x94\x82" : "|";
    for (int k = 0; k < bh && y0 + k < v->h - 1; k++) {
        int y = y0 + k;
        line l = line_start(v, y, ROLE_NORMAL, a->utf8);
        cell(&l, "", x0, TX_LEFT, -1);
        buf b = BUF_INIT;
        if (k == 0 || k == bh - 1) {
            const char *c1 = a->utf8 ? (k ? "\xe2\x94\x94" : "\xe2\x94\x8c") : "+";
            const char *c2 = a->utf8 ? (k ? "\xe2\x94\x98" : "\xe2\x94\x90") : "+";
            buf_puts(&b, c1);
            int used = 1;
            if (k == 0) {
                buf_printf(&b, "%s %s ", hz, title);
                used += 3 + tx_width(title);
            }
            for (; used < bw - 1; used++)
                buf_puts(&b, hz);
            buf_puts(&b, c2);
            cell(&l, b.data, bw, TX_LEFT, ROLE_DIALOG);
        } else {
            int start = l.col;
            text(&l, vt, ROLE_DIALOG);
            cell(&l, " ", 1, TX_LEFT, ROLE_DIALOG);
            if (k >= 2 && k - 2 < (int)nl) {
                cell(&l, lines[k - 2], bw - 4, TX_LEFT, ROLE_DIALOG);
            } else if (k == bh - 2) {
                char by[160], bn[32];
                snprintf(by, sizeof by, "[ %s ]", yes);
                snprintf(bn, sizeof bn, "[ No ]");
                int w1 = tx_width(by), w2 = tx_width(bn);
                int padl = bw - 4 - w1 - w2 - 2;
                cell(&l, "", padl > 0 ? padl : 0, TX_LEFT, ROLE_DIALOG);
                cell(&l, by, w1, TX_LEFT, a->dialog_yes ? ROLE_SELECTED : ROLE_DIALOG);
                cell(&l, "  ", 2, TX_LEFT, ROLE_DIALOG);
                cell(&l, bn, w2, TX_LEFT, a->dialog_yes ? ROLE_DIALOG : ROLE_SELECTED);
            } else {
                cell(&l, "", bw - 4, TX_LEFT, ROLE_DIALOG);
            }
            int rest = start + bw - 2 - l.col;
            cell(&l, "", rest > 0 ? rest : 0, TX_LEFT, ROLE_DIALOG);
            cell(&l, " ", 1, TX_LEFT, ROLE_DIALOG);
            text(&l, vt, ROLE_DIALOG);
        }
        buf_free(&b);
        line_end(&l);
    }
    free_lines(lines, nl);
}

/* ---- the whole screen ---- */

void vm_build(vm *v, const app *a)
{
    int h = a->h, w = a->w;
    vm_resize(v, h, w);
    if (h < 6 || w < 30) {
        for (int y = 0; y < h; y++)
            row(v, y, ROLE_NORMAL, a->utf8, y == 0 ? "terminal too small" : "");
        return;
    }
    title_bar(v, a);
    const char *hint = NULL;
    char hintbuf[256];
    if (a->help) {
        build_help(v, a);
        hint = "Esc closes the help.";
    } else {
        switch (a->screen) {
        case APP_JOBS:
            build_jobs(v, a);
            hint = "Enter opens a job; F5 resumes it; F3 opens a file for a new job.";
            break;
        case APP_ITEMS:
            build_items(v, a);
            hint = "F4 failed and skipped only; F5 retries; F6 exports the report.";
            break;
        case APP_PICK:
            build_pick(v, a);
            hint = pick_hint(a);
            break;
        case APP_SETUP:
            build_setup(v, a);
            hint = "Up/Down choose a field, Enter edits or toggles, F5 validates.";
            break;
        case APP_PREVIEW:
            build_preview(v, a);
            hint = preview_hint(a, hintbuf, sizeof hintbuf);
            break;
        case APP_RUN:
            build_run(v, a);
            hint = run_hint(a);
            break;
        default:
            break;
        }
    }
    status_line(v, a, hint);
    key_bar(v, a);
    if (a->dialog)
        build_dialog(v, a);
}
