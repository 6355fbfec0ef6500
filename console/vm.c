/* View models (see vm.h): the frame every screen shares (title bar, status
 * line, function-key bar, dialog box) and the widgets the screens build their
 * rows from (console/screens/screens.h); each screen's own rows are in its
 * file under console/screens/. */
#include "console/vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "console/screens/screens.h"
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

/* ---- building rows (screens.h) ---- */

vm_line vm_line_start(vm *v, int y, vm_role role, int utf8)
{
    vm_line l = {v, y, BUF_INIT, 0, utf8};
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

void vm_cell(vm_line *l, const char *s, int width, int align, int role)
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

void vm_text(vm_line *l, const char *s, int role)
{
    vm_cell(l, s, tx_width(s), TX_LEFT, role);
}

void vm_textf(vm_line *l, int role, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    vm_text(l, tmp, role);
}

void vm_path_text(vm_line *l, const char *path, int max, int role)
{
    int w = tx_width(path ? path : "");
    if (max < 1)
        max = 1;
    if (w <= max) {
        vm_text(l, path ? path : "", role);
        return;
    }
    buf t = BUF_INIT;
    tx_fit_tail(&t, path, max, l->utf8);
    vm_cell(l, t.data, max, TX_LEFT, role);
    buf_free(&t);
}

void vm_line_end(vm_line *l)
{
    vm_cell(l, "", -1, TX_LEFT, -1);
    if (l->y >= 0 && l->y < l->v->h) {
        free(l->v->rows[l->y].text);
        l->v->rows[l->y].text = buf_take(&l->b, NULL);
    }
    buf_free(&l->b);
}

void vm_text_row(vm *v, int y, vm_role role, int utf8, const char *s)
{
    vm_line l = vm_line_start(v, y, role, utf8);
    vm_text(&l, s, -1);
    vm_line_end(&l);
}

void vm_text_rowf(vm *v, int y, vm_role role, int utf8, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    vm_text_row(v, y, role, utf8, tmp);
}

size_t vm_wrap(const char *s, int width, char ***out)
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

void vm_free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- the frame: title, status line, function-key bar ---- */

double vm_run_fraction(const eng_snapshot *s)
{
    size_t fin = s->done + s->failed + s->skipped;
    return s->total ? (double)fin / (double)s->total : 0;
}

static void title_bar(vm *v, const app *a)
{
    vm_line l = vm_line_start(v, 0, ROLE_TITLE, a->utf8);
    char right[200];
    const char *where = a->target.local ? "local endpoint" : "AWS";
    if (a->run.active && a->run.have && a->run.s.state < ENG_DONE)
        snprintf(right, sizeof right, "job %lld %s %.0f%%  %s ", a->run.s.job_id,
                 a->run.stopping ? "stopping" : "running",
                 100 * vm_run_fraction(&a->run.s), where);
    else
        snprintf(right, sizeof right, "%s ", where);
    char left[200];
    snprintf(left, sizeof left, " thingpress %s %s", a->utf8 ? "\xc2\xb7" : "-",
             screen_of(a)->title);
    int rw = tx_width(right);
    vm_cell(&l, left, v->w - rw, TX_LEFT, -1);
    vm_cell(&l, right, rw, TX_LEFT, -1);
    vm_line_end(&l);
}

/* The bars of a text field and of a dialog; a screen's is in its file. */
static const screen_bar bar_text[] = {
    {KM_ENTER, ACT_ENTER, "OK"},
    {KM_ESC, ACT_BACK, "Cancel"},
    {KM_CTRL('u'), ACT_CLEAR, "Clear"},
    {0, ACT_NONE, NULL},
};
static const screen_bar bar_dialog[] = {
    {'y', ACT_YES, "Yes"},           {'n', ACT_NO, "No"}, {KM_TAB, ACT_TAB, "Switch"},
    {KM_ENTER, ACT_ENTER, "Choose"}, {0, ACT_NONE, NULL},
};

/* The bar of ctx and, for a screen's, what hides entries (NULL: none). */
static const screen_bar *bar_of(km_ctx ctx, int (**shows)(const app *, act_type))
{
    *shows = NULL;
    if (ctx == KMC_TEXT)
        return bar_text;
    if (ctx == KMC_DIALOG)
        return bar_dialog;
    const screen_ops *o = screen_of_ctx(ctx);
    if (!o)
        return NULL;
    *shows = o->bar_shows;
    return o->bar;
}

size_t vm_bar(km_ctx ctx, int *keys, act_type *acts, size_t max)
{
    size_t n = 0;
    int (*shows)(const app *, act_type);
    const screen_bar *bar = bar_of(ctx, &shows);
    for (const screen_bar *e = bar; e && e->label && n < max; e++, n++) {
        keys[n] = e->key;
        acts[n] = e->act;
    }
    return n;
}

static void key_bar(vm *v, const app *a)
{
    vm_line l = vm_line_start(v, v->h - 1, ROLE_KEYLABEL, a->utf8);
    int (*shows)(const app *, act_type);
    const screen_bar *bar = bar_of(app_keyctx(a), &shows);
    for (const screen_bar *e = bar; e && e->label; e++) {
        if (shows && !shows(a, e->act))
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
        vm_text(&l, name, ROLE_KEY);
        vm_cell(&l, e->label, lw, TX_LEFT, ROLE_KEYLABEL);
    }
    vm_line_end(&l);
}

static void status_line(vm *v, const app *a, const char *hint)
{
    int y = v->h - 2;
    if (a->input.kind) {
        vm_line l = vm_line_start(v, y, ROLE_INPUT, a->utf8);
        const char *prompt = "/";
        if (a->input.kind == IN_FIELD) {
            const screen_ops *o = screen_get(a->screen);
            prompt = o->field_prompt ? o->field_prompt(a) : "";
        }
        if (a->input.kind == IN_FIELD)
            vm_textf(&l, -1, "%s: ", prompt);
        else
            vm_text(&l, prompt, -1);
        /* keep the end of a long entry (and the cursor) visible */
        int room = v->w - l.col - 1;
        int tw = tx_width(a->input.text);
        if (tw > room && room > 1) {
            buf t = BUF_INIT;
            tx_fit_tail(&t, a->input.text, room, a->utf8);
            vm_text(&l, t.data, -1);
            buf_free(&t);
        } else {
            vm_text(&l, a->input.text, -1);
        }
        v->cursor_y = y;
        v->cursor_x = l.col < v->w ? l.col : v->w - 1;
        vm_line_end(&l);
        return;
    }
    if (a->msg[0]) {
        vm_text_row(v, y, a->msg_error ? ROLE_ERROR : ROLE_NORMAL, a->utf8, a->msg);
        return;
    }
    vm_text_row(v, y, ROLE_DIM, a->utf8, hint ? hint : "");
}

void vm_target_line(vm *v, const app *a, int y, const char *label)
{
    vm_line l = vm_line_start(v, y, ROLE_TARGET, a->utf8);
    const char *dot = a->utf8 ? " \xc2\xb7 " : " - ";
    vm_textf(&l, -1, "%s%s%s%saccount %s", label,
             a->target.local ? "local endpoint " : "", a->target.endpoint, dot,
             a->target.account[0] ? a->target.account : "(learned at the pre-flight)");
    vm_line_end(&l);
}

void vm_blank(vm *v, int y, int utf8)
{
    vm_text_row(v, y, ROLE_NORMAL, utf8, "");
}

const char *vm_job_status(const app *a, const jnl_job *j, vm_role *role)
{
    /* another process runs it now (its OS lock): this console cannot */
    if (j->runner_pid && j->runner_pid != (long)getpid()) {
        *role = ROLE_WARN;
        return "elsewhere";
    }
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
    case JOB_PAUSED:
        *role = ROLE_WARN;
        return "paused";
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
                 s->job_id, 100 * vm_run_fraction(s));
        snprintf(yes, sizeof yes, "Stop and quit");
        break;
    case DLG_REGISTRY_ERRORS:
        snprintf(title, sizeof title, "Items the registry refuses");
        snprintf(textbuf, sizeof textbuf,
                 "The registry check says %zu of %zu items will fail (the first: %s). "
                 "Start anyway? They will be reported failed.",
                 a->pv.rc_bad, a->pv.st.total, a->pv.rc_first);
        snprintf(yes, sizeof yes, "Start anyway");
        break;
    case DLG_CANCEL_RUN:
        snprintf(title, sizeof title, "Cancel the run?");
        snprintf(
            textbuf, sizeof textbuf,
            "Job %lld stops after the calls in flight, its items left pending. Running "
            "its file again does not resume it: only F5 on it in the Jobs screen does.",
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
    size_t nl = vm_wrap(textbuf, bw - 4, &lines);
    int bh = (int)nl + 5;
    int y0 = (v->h - bh) / 2;
    if (y0 < 1)
        y0 = 1;
    int x0 = (v->w - bw) / 2;
    const char *hz = a->utf8 ? "\xe2\x94\x80" : "-";
    const char *vt = a->utf8 ? "\xe2\x94\x82" : "|";
    for (int k = 0; k < bh && y0 + k < v->h - 1; k++) {
        int y = y0 + k;
        vm_line l = vm_line_start(v, y, ROLE_NORMAL, a->utf8);
        vm_cell(&l, "", x0, TX_LEFT, -1);
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
            vm_cell(&l, b.data, bw, TX_LEFT, ROLE_DIALOG);
        } else {
            int start = l.col;
            vm_text(&l, vt, ROLE_DIALOG);
            vm_cell(&l, " ", 1, TX_LEFT, ROLE_DIALOG);
            if (k >= 2 && k - 2 < (int)nl) {
                vm_cell(&l, lines[k - 2], bw - 4, TX_LEFT, ROLE_DIALOG);
            } else if (k == bh - 2) {
                char by[160], bn[32];
                snprintf(by, sizeof by, "[ %s ]", yes);
                snprintf(bn, sizeof bn, "[ No ]");
                int w1 = tx_width(by), w2 = tx_width(bn);
                int padl = bw - 4 - w1 - w2 - 2;
                vm_cell(&l, "", padl > 0 ? padl : 0, TX_LEFT, ROLE_DIALOG);
                vm_cell(&l, by, w1, TX_LEFT, a->dialog_yes ? ROLE_SELECTED : ROLE_DIALOG);
                vm_cell(&l, "  ", 2, TX_LEFT, ROLE_DIALOG);
                vm_cell(&l, bn, w2, TX_LEFT, a->dialog_yes ? ROLE_DIALOG : ROLE_SELECTED);
            } else {
                vm_cell(&l, "", bw - 4, TX_LEFT, ROLE_DIALOG);
            }
            int rest = start + bw - 2 - l.col;
            vm_cell(&l, "", rest > 0 ? rest : 0, TX_LEFT, ROLE_DIALOG);
            vm_cell(&l, " ", 1, TX_LEFT, ROLE_DIALOG);
            vm_text(&l, vt, ROLE_DIALOG);
        }
        buf_free(&b);
        vm_line_end(&l);
    }
    vm_free_lines(lines, nl);
}

/* ---- the whole screen ---- */

void vm_build(vm *v, const app *a)
{
    int h = a->h, w = a->w;
    vm_resize(v, h, w);
    if (h < 6 || w < 30) {
        for (int y = 0; y < h; y++)
            vm_text_row(v, y, ROLE_NORMAL, a->utf8, y == 0 ? "terminal too small" : "");
        return;
    }
    title_bar(v, a);
    /* the body and the hint: the help page's while it is up, else the screen's */
    const screen_ops *o = screen_of(a);
    char hintbuf[256];
    o->build(v, a);
    const char *hint = o->hint ? o->hint(a, hintbuf, sizeof hintbuf) : NULL;
    status_line(v, a, hint);
    key_bar(v, a);
    if (a->dialog)
        build_dialog(v, a);
}
