/* The validation preview: every item with its verdict before anything is
 * sent, a detail pane, and the read-only registry check (engine/regcheck.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "console/screens/screens.h"
#include "console/text.h"
#include "iot/op.h"

static const km_binding keys[] = {
    {KM_F(4), ACT_FILTER}, {'f', ACT_FILTER}, {KM_F(5), ACT_START}, {'s', ACT_START},
    {KM_F(6), ACT_CHECK},  {'c', ACT_CHECK},  {KM_NONE, ACT_NONE},
};

static const screen_bar bar[] = {
    {KM_F(1), ACT_HELP, "Help"},     {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(4), ACT_FILTER, "Filter"}, {KM_F(5), ACT_START, "Start"},
    {KM_F(6), ACT_CHECK, "Check"},   {KM_TAB, ACT_TAB, "Detail"},
    {'/', ACT_SEARCH, "Search"},     {KM_ESC, ACT_BACK, "Back"},
    {KM_F(10), ACT_QUIT, "Quit"},    {0, ACT_NONE, NULL},
};

static const screen_help_line help[] = {
    {ACT_FILTER, "problems only / all items"},
    {ACT_TAB, "the detail pane (Up/Down scroll it)"},
    {ACT_START, "start the job"},
    {ACT_CHECK, "check the registry: is each certificate there, INACTIVE? (read-only)"},
    {ACT_BACK, "back to the setup"},
    {ACT_NONE, NULL},
};

static void about(buf *out)
{
    buf_printf(out,
               "The validation preview: every item with its verdict, before anything is "
               "sent. F4 shows only the problems; Tab moves to the detail pane. F6 asks "
               "the registry, read only, whether each certificate exists and in which "
               "status (%s, paced at its quota). F5 starts the job; a file with invalid "
               "items starts only if you choose to skip them.",
               iot_op_name(IOT_OP_DESCRIBE_CERTIFICATE));
}

/* ---- layout ---- */

int app_detail_rows(const app *a)
{
    if (a->screen != APP_PREVIEW)
        return 0;
    if (a->h >= 30)
        return 10;
    if (a->h >= 20)
        return 6;
    return a->pv.focus_detail ? a->h - 6 : 0;
}

static long preview_page_rows(const app *a)
{
    return a->h - 7 - app_detail_rows(a);
}

/* ---- actions ---- */

static int preview_act(app *a, act x)
{
    if (a->pv.focus_detail) {
        switch (x.type) {
        case ACT_UP:
            if (a->pv.detail_top > 0)
                a->pv.detail_top--;
            return RX_DIRTY;
        case ACT_DOWN:
            a->pv.detail_top++;
            return RX_DIRTY;
        case ACT_TAB:
        case ACT_BACK:
        case ACT_ENTER:
            a->pv.focus_detail = 0;
            return app_resize(a, a->h, a->w);
        default:
            break;
        }
    }
    switch (x.type) {
    case ACT_UP:
    case ACT_DOWN:
    case ACT_PGUP:
    case ACT_PGDN:
    case ACT_HOME:
    case ACT_END:
        /* the list moves (app_do's generic moves): the detail pane of the
         * row it lands on starts at its top */
        a->pv.detail_top = 0;
        return RX_NONE;
    case ACT_TAB:
    case ACT_ENTER:
        if (!app_pv_count(a))
            return RX_NONE;
        a->pv.focus_detail = 1;
        a->pv.detail_top = 0;
        return app_resize(a, a->h, a->w);
    case ACT_FILTER:
        a->pv.problems_only = !a->pv.problems_only;
        memset(&a->pv.l, 0, sizeof a->pv.l);
        a->pv.detail_top = 0;
        return RX_DIRTY;
    case ACT_CHECK:
        if (!a->pv.st.done || a->pv.st.rejected || !a->pv.n) {
            app_message(a, 0, "the registry check needs the validated items first");
            return RX_DIRTY;
        }
        if (a->retargeting) {
            app_message(a, 1,
                        "still connecting to the new endpoint: check again in a moment");
            return RX_DIRTY;
        }
        if (a->pv.rc_on && !a->pv.rc_finished) {
            a->pv.rc_finished = 1;
            app_message(a, 0, "registry check stopped at %zu of %zu", a->pv.rc_checked,
                        a->pv.rc_total);
            return RX_DIRTY | RX_STOP_CHECK;
        }
        for (size_t i = 0; i < a->pv.n; i++) {
            a->pv.v[i].rc_state = RC_PENDING;
            a->pv.v[i].rc_status[0] = '\0';
            a->pv.v[i].rc_verdict = ITEM_OK;
            a->pv.v[i].rc_msg[0] = '\0';
        }
        a->pv.rc_on = 1;
        a->pv.rc_finished = 0;
        a->pv.rc_checked = 0;
        a->pv.rc_total = a->pv.n;
        a->pv.rc_absent = a->pv.rc_error = a->pv.rc_inactive = 0;
        a->pv.rc_bad = 0;
        app_pv_problems(a);
        a->pv.rc_active = a->pv.rc_other = 0;
        return RX_DIRTY | RX_START_CHECK;
    case ACT_START: {
        const pv_status *st = &a->pv.st;
        if (!st->done) {
            app_message(a, 0, "validation is still running: %zu items so far", st->total);
            return RX_DIRTY;
        }
        if (st->rejected) {
            app_message(a, 1, "the file is rejected: %s", st->message);
            return RX_DIRTY;
        }
        if (st->ok + st->warn == 0) {
            app_message(a, 1, "no valid item to provision");
            return RX_DIRTY;
        }
        if (st->error && !a->cfg.skip_invalid) {
            a->dialog = DLG_SKIP_INVALID;
            a->dialog_yes = 0;
            return RX_DIRTY;
        }
        if (a->pv.rc_bad) { /* the registry says these will fail */
            a->dialog = DLG_REGISTRY_ERRORS;
            a->dialog_yes = 0;
            return RX_DIRTY;
        }
        return app_start_job(a);
    }
    case ACT_BACK:
    case ACT_LEFT:
        a->screen = APP_SETUP;
        return RX_DIRTY;
    default:
        return RX_NONE;
    }
}

static app_list *preview_list(app *a, size_t *n)
{
    *n = app_pv_count(a);
    return &a->pv.l;
}

static int preview_row_text(app *a, size_t i, char *out, size_t n)
{
    const pv_row *r = &a->pv.v[a->pv.problems_only ? a->pv.problems[i] : i];
    char m[600];
    snprintf(out, n, "%s %s %s %s", r->name, r->fp, item_verdict_name(pv_row_verdict(r)),
             pv_row_message(r, m, sizeof m));
    return 1;
}

/* ---- rows ---- */

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
    vm_line l = vm_line_start(v, 1, ROLE_NORMAL, a->utf8);
    vm_text(&l, "File: ", ROLE_LABEL);
    char tail[200];
    snprintf(tail, sizeof tail, "%s%s%sPhase %d", dot,
             vendor_name(st->vendor != VENDOR_AUTO ? st->vendor : a->file.kind), dot,
             a->file.phase);
    vm_path_text(&l, a->file.path, v->w - l.col - tx_width(tail), -1);
    vm_text(&l, tail, -1);
    vm_line_end(&l);
    vm_target_line(v, a, 2, "Sends to: ");

    l = vm_line_start(v, 3, ROLE_NORMAL, a->utf8);
    vm_textf(&l, -1, "%zu items: ", st->total);
    vm_textf(&l, st->ok ? ROLE_OK : -1, "%zu ok", st->ok);
    vm_text(&l, ", ", -1);
    vm_textf(&l, st->warn ? ROLE_WARN : -1, "%zu warn", st->warn);
    vm_text(&l, ", ", -1);
    vm_textf(&l, st->error ? ROLE_ERROR : -1, "%zu error", st->error);
    if (a->pv.problems_only)
        vm_text(&l, "   [problems only]", ROLE_WARN);
    else if (!st->done)
        vm_text(&l, "   validating...", ROLE_DIM);
    else if (st->rejected)
        vm_text(&l, "   the file is rejected", ROLE_ERROR);
    else if (st->error)
        vm_textf(&l, ROLE_ERROR, "   F5 asks to skip the %zu invalid", st->error);
    else
        vm_text(&l, "   ready to start", ROLE_OK);
    vm_line_end(&l);

    vm_line h = vm_line_start(v, 4, ROLE_HEADER, a->utf8);
    vm_cell(&h, "#", 7, TX_RIGHT, -1);
    vm_cell(&h, "  Thing name", 21, TX_LEFT, -1);
    vm_cell(&h, "Fingerprint", 15, TX_LEFT, -1);
    vm_cell(&h, "Attrs", 6, TX_RIGHT, -1);
    vm_cell(&h, " Verdict", 9, TX_LEFT, -1);
    if (a->pv.rc_on)
        vm_cell(&h, "Registry", 9, TX_LEFT, -1);
    vm_text(&h, "Reason", -1);
    vm_line_end(&h);

    size_t n = a->pv.problems_only ? a->pv.n_problems : a->pv.n;
    size_t page = app_page_rows(a, APP_PREVIEW);
    int y = 5;
    if (st->rejected && n == 0) {
        vm_text_rowf(v, y++, ROLE_ERROR, a->utf8, "  %s", st->message);
    } else if (n == 0 && st->done) {
        vm_text_row(v, y++, ROLE_DIM, a->utf8,
                    a->pv.problems_only ? "      no problems: every item is valid"
                                        : "      no items");
    }
    for (size_t i = a->pv.l.top; i < n && y < 5 + (int)page; i++, y++) {
        const pv_row *r = pv_at(a, i);
        int sel = i == a->pv.l.sel;
        vm_line rl = vm_line_start(
            v, y, sel ? (a->pv.focus_detail ? ROLE_DIALOG : ROLE_SELECTED) : ROLE_NORMAL,
            a->utf8);
        char num[32], fp[32], at[32];
        snprintf(num, sizeof num, "%zu", r->idx);
        vm_cell(&rl, num, 7, TX_RIGHT, -1);
        vm_cell(&rl, "  ", 2, TX_LEFT, -1);
        vm_cell(&rl, r->name[0] ? r->name : "-", 19, TX_LEFT, -1);
        tx_fingerprint(fp, sizeof fp, r->fp, a->utf8);
        vm_cell(&rl, fp[0] ? fp : "-", 15, TX_LEFT, -1);
        if (r->n_attrs >= 0)
            snprintf(at, sizeof at, "%d/%d", r->n_attrs, r->attr_limit);
        else
            snprintf(at, sizeof at, "-");
        vm_cell(&rl, at, 6, TX_RIGHT,
                !sel && r->n_attrs > r->attr_limit ? ROLE_ERROR : -1);
        vm_cell(&rl, " ", 1, TX_LEFT, -1);
        vm_cell(&rl, item_verdict_name(pv_row_verdict(r)), 8, TX_LEFT,
                sel ? -1 : (int)verdict_role(pv_row_verdict(r)));
        if (a->pv.rc_on) {
            vm_role rr;
            const char *rt = registry_text(a, r, &rr);
            vm_cell(&rl, rt, 9, TX_LEFT, sel ? -1 : (int)rr);
        }
        char m[600];
        vm_cell(&rl, pv_row_message(r, m, sizeof m), -1, TX_LEFT, -1);
        vm_line_end(&rl);
    }
    int dr = app_detail_rows(a);
    int dy = v->h - 2 - dr;
    for (; y < dy; y++)
        vm_blank(v, y, a->utf8);
    if (dr <= 0)
        return;
    const pv_row *r = n ? pv_at(a, a->pv.l.sel) : NULL;
    vm_line d = vm_line_start(v, dy, ROLE_HEADER, a->utf8);
    if (r)
        vm_textf(&d, -1, " Item %zu%s%s", r->idx,
                 a->pv.focus_detail ? "   (Tab returns to the table)"
                                    : "   (Tab scrolls this pane)",
                 "");
    else
        vm_text(&d, " Detail", -1);
    vm_line_end(&d);
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
            size_t k = vm_wrap(one, v->w - 2, &w);
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
        if (r && pv_row_verdict(r) != ITEM_OK && !strncmp(s, "Verdict:", 8))
            role = verdict_role(pv_row_verdict(r));
        vm_text_rowf(v, dy + k, role, a->utf8, "  %s", s);
    }
    vm_free_lines(lines, nl);
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

const screen_ops screen_preview = {
    .title = "Preview",
    .build = build_preview,
    .hint = preview_hint,
    .bar = bar,
    .keys = keys,
    .act = preview_act,
    .list = preview_list,
    .page_rows = preview_page_rows,
    .row_text = preview_row_text,
    .about = about,
    .help = help,
};
