/* The console's state and actions (see app.h): the dispatch to the screens
 * (console/screens/, one table of operations each) and what they share:
 * lists, search, navigation, the text field, dialogs, the data fed back.
 * Nothing here draws or does I/O: every outside effect is a reaction flag
 * for the main loop. */
#include "console/app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "console/screens/screens.h"

/* ---- small helpers ---- */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void cfg_copy(jobcfg *dst, const jobcfg *src)
{
    jobcfg_free(dst);
    dst->vendor = src->vendor;
    for (size_t i = 0; i < src->n_policies; i++)
        jobcfg_split_list(&dst->policies, &dst->n_policies, src->policies[i]);
    for (size_t i = 0; i < src->n_thing_groups; i++)
        jobcfg_split_list(&dst->thing_groups, &dst->n_thing_groups, src->thing_groups[i]);
    dst->thing_type = dup_or_null(src->thing_type);
    dst->cert_active = src->cert_active;
    dst->thing_deferred = src->thing_deferred;
    dst->skip_invalid = src->skip_invalid;
    dst->infineon_bundle = dup_or_null(src->infineon_bundle);
    dst->microchip_signers = dup_or_null(src->microchip_signers);
    dst->endpoint_url = dup_or_null(src->endpoint_url);
    dst->region = dup_or_null(src->region);
    dst->profile = dup_or_null(src->profile);
    dst->state_dir = dup_or_null(src->state_dir);
    for (size_t i = 0; i < src->n_rates; i++) {
        char key[160];
        snprintf(key, sizeof key, "rate.%s", src->rates[i].op);
        char v[64];
        snprintf(v, sizeof v, "%.17g", src->rates[i].tps);
        jobcfg_set(dst, key, v, NULL, 0, NULL);
    }
    dst->workers = src->workers;
}

void app_message(app *a, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_error = is_error;
}

/* Case-insensitive substring. */
static int contains(const char *hay, const char *needle)
{
    if (!hay || !needle || !*needle)
        return 0;
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return 0;
}

/* ---- lists ---- */

void app_list_fix(app_list *l, size_t n, size_t page)
{
    if (page < 1)
        page = 1;
    if (n == 0) {
        l->sel = l->top = 0;
        return;
    }
    if (l->sel >= n)
        l->sel = n - 1;
    if (l->top > l->sel)
        l->top = l->sel;
    if (l->sel >= l->top + page)
        l->top = l->sel - page + 1;
    if (n >= page && l->top > n - page)
        l->top = n - page;
    if (n < page)
        l->top = 0;
}

/* Moves the selection; returns 1 when the action was a move. */
static int list_move(app_list *l, size_t n, size_t page, act_type t)
{
    switch (t) {
    case ACT_UP:
        if (l->sel > 0)
            l->sel--;
        break;
    case ACT_DOWN:
        if (l->sel + 1 < n)
            l->sel++;
        break;
    case ACT_PGUP:
        l->sel = l->sel > page ? l->sel - page : 0;
        l->top = l->top > page ? l->top - page : 0;
        break;
    case ACT_PGDN:
        l->sel = n && l->sel + page < n ? l->sel + page : n ? n - 1 : 0;
        l->top += page;
        break;
    case ACT_HOME:
        l->sel = 0;
        break;
    case ACT_END:
        l->sel = n ? n - 1 : 0;
        break;
    default:
        return 0;
    }
    app_list_fix(l, n, page);
    return 1;
}

/* ---- the screens ---- */

/* The screen table. Adding a screen: its file under console/screens/ and
 * its line in console/screens/screens.def, which makes its enum value
 * (APP_<ID>), its keymap context (KMC_<ID>) and its entry here. */
static const screen_ops *const screens[APP_N_SCREENS] = {
#define SCREEN(id, ops) [APP_##id] = &ops,
#include "console/screens/screens.def"
#undef SCREEN
};

/* a screen's keymap context is its app_screen value (both from screens.def) */
_Static_assert((int)KMC_TEXT == (int)APP_N_SCREENS, "screen contexts come first");

const screen_ops *screen_get(app_screen s)
{
    return s >= 0 && s < APP_N_SCREENS ? screens[s] : screens[APP_JOBS];
}

const screen_ops *screen_of(const app *a)
{
    return a->help ? &screen_help : screen_get(a->screen);
}

const screen_ops *screen_of_ctx(km_ctx ctx)
{
    if (ctx == KMC_HELP)
        return &screen_help;
    return ctx >= 0 && ctx < (km_ctx)APP_N_SCREENS ? screens[ctx] : NULL;
}

size_t app_page_rows(const app *a, app_screen s)
{
    const screen_ops *o = screen_get(s);
    long rows = o->page_rows ? o->page_rows(a) : a->h - 4;
    return rows < 1 ? 1 : (size_t)rows;
}

size_t app_items_count(const app *a)
{
    if (!a->items.have_job)
        return a->items.n;
    const jnl_job *j = &a->items.job;
    return a->items.filter == JNL_FILTER_PROBLEMS ? j->failed + j->skipped : j->total;
}

size_t app_pv_count(const app *a)
{
    return a->pv.problems_only ? a->pv.n_problems : a->pv.n;
}

/* The list of the current screen: its state and length (NULL when none). */
static app_list *cur_list(app *a, size_t *n)
{
    const screen_ops *o = screen_get(a->screen);
    *n = 0;
    return o->list ? o->list(a, n) : NULL;
}

/* Finds the next row matching a->search after (or at, when `here`) the
 * selection, wrapping around. Rows the screen has not loaded are not
 * searched. */
static int search_from(app *a, int here)
{
    const screen_ops *o = screen_get(a->screen);
    size_t n;
    app_list *l = cur_list(a, &n);
    if (!l || !o->row_text || !a->search[0])
        return RX_NONE;
    char text[2400];
    for (size_t k = here ? 0 : 1; k <= n; k++) {
        size_t i = (l->sel + k) % (n ? n : 1);
        if (n && o->row_text(a, i, text, sizeof text) && contains(text, a->search)) {
            l->sel = i;
            app_list_fix(l, n, app_page_rows(a, a->screen));
            app_message(a, 0, "/%s", a->search);
            return RX_DIRTY | (o->moved ? o->moved(a) : 0);
        }
    }
    app_message(a, 1, "not found: %s", a->search);
    return RX_DIRTY;
}

/* ---- init / free ---- */

void app_init(app *a, const jobcfg *defaults, const app_target *t, const char *state_dir,
              const char *samples_dir, const char *start_dir)
{
    memset(a, 0, sizeof *a);
    a->h = 24;
    a->w = 80;
    a->utf8 = 1;
    jobcfg_init(&a->defaults);
    jobcfg_init(&a->cfg);
    if (defaults)
        cfg_copy(&a->defaults, defaults);
    if (t)
        a->target = *t;
    a->sample_names = a->target.local && a->defaults.n_policies == 0 &&
                      a->defaults.n_thing_groups == 0 && !a->defaults.thing_type;
    a->state_dir = dup_or_null(state_dir);
    a->samples_dir = dup_or_null(samples_dir);
    a->pick.dir = xstrdup(start_dir && *start_dir ? start_dir : ".");
    a->where.local = a->target.local;
    a->where_ok = a->where;
    a->pick.back = APP_JOBS;
    a->items.filter = JNL_FILTER_ALL;
    a->screen = APP_JOBS;
}

void app_set_where(app *a, const app_where *w, int can_retarget)
{
    if (w)
        a->where = *w;
    a->where_ok = a->where;
    a->can_retarget = can_retarget;
}

int app_retargeted(app *a, const app_target *t, const char *error)
{
    if (!a->retargeting)
        return RX_NONE;
    a->retargeting = 0;
    if (error || !t) {
        a->where = a->where_ok;
        app_message(a, 1, "%s", error ? error : "the endpoint could not be resolved");
        return RX_DIRTY;
    }
    a->target = *t;
    a->where_ok = a->where;
    /* a registry check answered for the endpoint before: its results no
     * longer say anything */
    if (a->pv.rc_on) {
        for (size_t i = 0; i < a->pv.n; i++) {
            a->pv.v[i].rc_state = RC_PENDING;
            a->pv.v[i].rc_status[0] = '\0';
            a->pv.v[i].rc_verdict = ITEM_OK;
            a->pv.v[i].rc_msg[0] = '\0';
        }
        a->pv.rc_bad = 0;
        app_pv_problems(a);
        a->pv.rc_on = 0;
        a->pv.rc_finished = 0;
        a->pv.rc_checked = a->pv.rc_total = 0;
        a->pv.rc_absent = a->pv.rc_error = a->pv.rc_inactive = 0;
        a->pv.rc_active = a->pv.rc_other = 0;
    }
    app_message(a, 0, "jobs now go to %s%s", t->local ? "the local endpoint " : "",
                t->endpoint);
    return RX_DIRTY;
}

void app_pv_clear(app *a)
{
    pv_rows_free(a->pv.v, a->pv.n);
    free(a->pv.problems);
    memset(&a->pv, 0, sizeof a->pv);
}

/* "thing_groups", "Thing-Groups" -> "thinggroups"; "endpoint" ->
 * "endpointurl" (cli/station.c's rule). */
static void norm_key(char *out, size_t n, const char *key)
{
    jobcfg_key_norm(out, n, key);
    if (!strcmp(out, "endpoint"))
        snprintf(out, n, "endpointurl");
}

void app_set_locked(app *a, const char *const *keys, size_t n, const char *by)
{
    for (size_t i = 0; i < a->n_locked; i++)
        free(a->locked[i]);
    free(a->locked);
    a->locked = n ? xcalloc(n, sizeof *a->locked) : NULL;
    a->n_locked = n;
    for (size_t i = 0; i < n; i++) {
        char k[64];
        norm_key(k, sizeof k, keys[i]);
        a->locked[i] = xstrdup(k);
    }
    snprintf(a->locked_by, sizeof a->locked_by, "%s", by ? by : "");
}

int app_field_locked(const app *a, app_field f)
{
    static const char *const keys[FLD_COUNT] = {
        "policies",      "thinggroups", "thingtype", "certactive",
        "thingdeferred", "skipinvalid", "",          "endpointurl",
        "profile",       "region"};
    const char *k =
        f == FLD_SOURCE
            ? (a->file.kind == VENDOR_INFINEON ? "infineonbundle" : "microchipsigners")
            : keys[f];
    for (size_t i = 0; i < a->n_locked; i++)
        if (!strcmp(a->locked[i], k))
            return 1;
    return 0;
}

void app_free(app *a)
{
    app_set_locked(a, NULL, 0, NULL);
    free(a->jobs.v);
    free(a->items.v);
    free(a->items.audit);
    pk_entries_free(a->pick.v, a->pick.n);
    free(a->pick.dir);
    free(a->file.path);
    app_pv_clear(a);
    jobcfg_free(&a->cfg);
    jobcfg_free(&a->defaults);
    free(a->state_dir);
    free(a->samples_dir);
    memset(a, 0, sizeof *a);
}

km_ctx app_keyctx(const app *a)
{
    if (a->dialog)
        return KMC_DIALOG;
    if (a->help)
        return KMC_HELP;
    if (a->input.kind)
        return KMC_TEXT;
    return (km_ctx)a->screen;
}

int app_resize(app *a, int h, int w)
{
    a->h = h < 1 ? 1 : h;
    a->w = w < 1 ? 1 : w;
    size_t n;
    app_list *l = cur_list(a, &n);
    if (l)
        app_list_fix(l, n, app_page_rows(a, a->screen));
    return RX_DIRTY;
}

int app_run_finished(const app *a)
{
    return a->run.active && a->run.have && a->run.s.state >= ENG_DONE;
}

int app_run_busy(const app *a)
{
    return a->run.active && !app_run_finished(a);
}

/* ---- navigation ---- */

int app_go_jobs(app *a)
{
    a->screen = APP_JOBS;
    return RX_DIRTY | RX_LOAD_JOBS;
}

int app_go_pick(app *a)
{
    if (a->screen != APP_PICK)
        a->pick.back = a->screen;
    a->screen = APP_PICK;
    return RX_DIRTY | (a->pick.v ? 0 : RX_LOAD_DIR);
}

int app_open_items(app *a, const jnl_job *j, int filter)
{
    a->screen = APP_ITEMS;
    if (!a->items.have_job || a->items.job_id != j->id || a->items.filter != filter) {
        free(a->items.v);
        a->items.v = NULL;
        a->items.n = a->items.off = 0;
        memset(&a->items.l, 0, sizeof a->items.l);
        a->items.report[0] = '\0';
        a->items.detail = 0;
    }
    a->items.job_id = j->id;
    a->items.job = *j;
    a->items.have_job = 1;
    a->items.filter = filter;
    a->items.want_off = a->items.off;
    return RX_DIRTY | RX_LOAD_ITEMS;
}

int app_start_job(app *a)
{
    if (a->retargeting) {
        app_message(a, 1,
                    "still connecting to the new endpoint: start again in a moment");
        return RX_DIRTY;
    }
    if (app_run_busy(a)) {
        app_message(a, 1,
                    "a job is running: pause or cancel it first (F2 Jobs shows it)");
        return RX_DIRTY;
    }
    a->screen = APP_RUN;
    memset(&a->run, 0, sizeof a->run);
    snprintf(a->run.file, sizeof a->run.file, "%s", a->file.path ? a->file.path : "");
    return RX_DIRTY | RX_START_JOB;
}

int app_resume_job(app *a, const jnl_job *j)
{
    if (j->status == JOB_DONE && j->failed == 0) {
        app_message(a, 0, "job %lld is complete: nothing to resume", j->id);
        return RX_DIRTY;
    }
    size_t k = strlen(a->target.registry);
    if (k && strncmp(j->endpoint, a->target.registry, k)) {
        app_message(a, 1,
                    "job %lld was run against %s; this console sends to %s: choose that "
                    "endpoint in the job setup (Endpoint / Profile / Region) first",
                    j->id, j->endpoint, a->target.endpoint);
        return RX_DIRTY;
    }
    if (app_run_busy(a)) {
        app_message(a, 1, "a job is running: pause or cancel it first");
        return RX_DIRTY;
    }
    jobcfg c;
    jobcfg_init(&c);
    err e;
    err_clear(&e);
    if (jobcfg_from_identity(&c, j->identity, &e)) {
        app_message(a, 1, "job %lld: %s", j->id, e.msg);
        jobcfg_free(&c);
        return RX_DIRTY;
    }
    /* how fast and how wide is not part of the job: keep this console's */
    for (size_t i = 0; i < a->defaults.n_rates; i++) {
        char key[160], v[64];
        snprintf(key, sizeof key, "rate.%s", a->defaults.rates[i].op);
        snprintf(v, sizeof v, "%.17g", a->defaults.rates[i].tps);
        jobcfg_set(&c, key, v, NULL, 0, NULL);
    }
    c.workers = a->defaults.workers;
    jobcfg_free(&a->cfg);
    a->cfg = c;
    free(a->file.path);
    a->file.path = xstrdup(j->file);
    a->file.kind = VENDOR_AUTO;
    a->file.phase = j->phase;
    a->file.count = (long long)j->total;
    int rx = app_start_job(a);
    /* F5 on a cancelled job is the operator's explicit resume */
    if (rx & RX_START_JOB)
        a->run.resume_cancelled = j->status == JOB_CANCELLED;
    return rx;
}

/* Sets the form from the defaults, with the sample resources on the local
 * endpoint when nothing is configured. */
static void form_reset(app *a)
{
    cfg_copy(&a->cfg, &a->defaults);
    if (a->sample_names) {
        jobcfg_set(&a->cfg, "policies", "BasicTestPolicy", NULL, 0, NULL);
        if (a->file.phase == 2) {
            jobcfg_set(&a->cfg, "thing_groups", "BasicTestGroup", NULL, 0, NULL);
            jobcfg_set(&a->cfg, "thing_type", "BasicTestType", NULL, 0, NULL);
        }
    }
    a->setup.field = FLD_POLICIES;
}

/* ---- text input ---- */

static void utf8_put(char *s, size_t n, unsigned cp)
{
    size_t len = strlen(s);
    char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    if (len + k < n) {
        memcpy(s + len, b, k);
        s[len + k] = '\0';
    }
}

static void utf8_pop(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && ((unsigned char)s[len - 1] & 0xc0) == 0x80)
        len--;
    if (len > 0)
        len--;
    s[len] = '\0';
}

static int input_commit(app *a)
{
    app_input_kind kind = a->input.kind;
    a->input.kind = IN_NONE;
    if (kind == IN_SEARCH) {
        snprintf(a->search, sizeof a->search, "%s", a->input.text);
        return search_from(a, 1);
    }
    /* a field of the screen's (the setup form's) */
    const screen_ops *o = screen_get(a->screen);
    return o->field_commit ? o->field_commit(a, a->input.text) : RX_DIRTY;
}

static int input_do(app *a, act x)
{
    switch (x.type) {
    case ACT_CHAR:
        utf8_put(a->input.text, sizeof a->input.text, x.ch);
        return RX_DIRTY;
    case ACT_BACKSPACE:
        utf8_pop(a->input.text);
        return RX_DIRTY;
    case ACT_CLEAR:
        a->input.text[0] = '\0';
        return RX_DIRTY;
    case ACT_BACK:
        a->input.kind = IN_NONE;
        return RX_DIRTY;
    case ACT_ENTER:
        return input_commit(a);
    default:
        return RX_NONE;
    }
}

/* ---- dialogs ---- */

static int dialog_do(app *a, act x)
{
    int yes;
    switch (x.type) {
    case ACT_YES:
        yes = 1;
        break;
    case ACT_NO:
    case ACT_BACK:
        yes = 0;
        break;
    case ACT_ENTER:
        yes = a->dialog_yes;
        break;
    case ACT_TAB:
        a->dialog_yes = !a->dialog_yes;
        return RX_DIRTY;
    default:
        return RX_NONE;
    }
    app_dialog d = a->dialog;
    a->dialog = DLG_NONE;
    a->dialog_yes = 0;
    if (!yes)
        return RX_DIRTY;
    switch (d) {
    case DLG_SKIP_INVALID:
        a->cfg.skip_invalid = 1;
        return app_start_job(a);
    case DLG_REGISTRY_ERRORS:
        return app_start_job(a);
    case DLG_QUIT_RUNNING:
        a->run.stopping = 1;
        a->run.paused = 1;
        return RX_DIRTY | RX_PAUSE_JOB | RX_QUIT;
    case DLG_CANCEL_RUN:
        a->run.stopping = 1;
        a->run.cancelled = 1;
        app_message(a, 0, "stopping after the calls in flight...");
        return RX_DIRTY | RX_CANCEL_JOB;
    default:
        return RX_DIRTY;
    }
}

static int quit(app *a)
{
    if (app_run_busy(a)) {
        a->dialog = DLG_QUIT_RUNNING;
        a->dialog_yes = 0;
        return RX_DIRTY;
    }
    return RX_QUIT;
}

int app_do(app *a, act x)
{
    if (x.type == ACT_NONE)
        return RX_NONE;
    if (x.type == ACT_RESIZE)
        return RX_DIRTY;
    if (x.type == ACT_INTERRUPT) {
        if (app_run_busy(a)) {
            a->run.stopping = 1;
            a->run.paused = 1;
            return RX_DIRTY | RX_PAUSE_JOB | RX_QUIT;
        }
        return RX_QUIT;
    }
    a->msg[0] = '\0';
    if (a->dialog)
        return dialog_do(a, x) | RX_DIRTY;
    if (a->help)
        return screen_help.act(a, x) | RX_DIRTY;
    if (a->input.kind)
        return input_do(a, x) | RX_DIRTY;

    const screen_ops *o = screen_get(a->screen);
    int rx = o->act ? o->act(a, x) : RX_NONE;
    if (rx != RX_NONE)
        return rx | RX_DIRTY;

    /* what every screen does */
    size_t n;
    app_list *l = cur_list(a, &n);
    switch (x.type) {
    case ACT_HELP:
        a->help = 1;
        a->help_top = 0;
        return RX_DIRTY;
    case ACT_QUIT:
        return quit(a) | RX_DIRTY;
    case ACT_JOBS:
        return app_go_jobs(a);
    case ACT_OPEN:
        return app_go_pick(a);
    case ACT_SEARCH:
        if (!l)
            return RX_DIRTY;
        a->input.kind = IN_SEARCH;
        a->input.text[0] = '\0';
        return RX_DIRTY;
    case ACT_SEARCH_NEXT:
        if (!a->search[0]) {
            app_message(a, 0, "no search yet: / searches");
            return RX_DIRTY;
        }
        return search_from(a, 0);
    default:
        break;
    }
    if (l && list_move(l, n, app_page_rows(a, a->screen), x.type))
        return RX_DIRTY | (o->moved ? o->moved(a) : 0);
    return RX_DIRTY;
}

/* ---- data fed back ---- */

int app_set_jobs(app *a, jnl_job *v, size_t n, const char *error)
{
    /* keep the same job selected when the list changes under it */
    long long sel_id = a->jobs.n ? a->jobs.v[a->jobs.l.sel].id : -1;
    free(a->jobs.v);
    a->jobs.v = v;
    a->jobs.n = v ? n : 0;
    a->jobs.loaded = 1;
    snprintf(a->jobs.error, sizeof a->jobs.error, "%s", error ? error : "");
    for (size_t i = 0; i < a->jobs.n; i++)
        if (a->jobs.v[i].id == sel_id)
            a->jobs.l.sel = i;
    app_list_fix(&a->jobs.l, a->jobs.n, app_page_rows(a, APP_JOBS));
    /* the open job's counts follow the journal */
    for (size_t i = 0; i < a->jobs.n; i++)
        if (a->items.have_job && a->jobs.v[i].id == a->items.job_id)
            a->items.job = a->jobs.v[i];
    return RX_DIRTY;
}

int app_set_items(app *a, const jnl_job *job, jnl_item *v, size_t n, size_t off)
{
    free(a->items.v);
    a->items.v = v;
    a->items.n = v ? n : 0;
    a->items.off = off;
    if (job) {
        a->items.job = *job;
        a->items.have_job = 1;
    }
    app_list_fix(&a->items.l, app_items_count(a), app_page_rows(a, APP_ITEMS));
    return RX_DIRTY;
}

int app_set_dir(app *a, const char *dir, pk_entry *v, size_t n, const char *error)
{
    char want[256];
    snprintf(want, sizeof want, "%s", a->pick.select);
    a->pick.select[0] = '\0';
    pk_entries_free(a->pick.v, a->pick.n);
    if (dir != a->pick.dir) {
        free(a->pick.dir);
        a->pick.dir = xstrdup(dir);
    }
    a->pick.v = v;
    a->pick.n = v ? n : 0;
    snprintf(a->pick.error, sizeof a->pick.error, "%s", error ? error : "");
    memset(&a->pick.l, 0, sizeof a->pick.l);
    for (size_t i = 0; i < a->pick.n; i++)
        if (want[0] && !strcmp(a->pick.v[i].name, want))
            a->pick.l.sel = i;
    if (!want[0] || a->pick.l.sel == 0) {
        /* land on the first file rather than on ".." */
        for (size_t i = 0; i < a->pick.n; i++)
            if (a->pick.v[i].kind == PK_DIR || a->pick.v[i].kind == PK_FILE) {
                a->pick.l.sel = i;
                break;
            }
    }
    app_list_fix(&a->pick.l, a->pick.n, app_page_rows(a, APP_PICK));
    return RX_DIRTY;
}

int app_probed(app *a, const pk_result *r, size_t n)
{
    int rx = RX_NONE;
    for (size_t i = 0; i < n; i++) {
        if (r[i].index >= a->pick.n)
            continue;
        pk_entry *en = &a->pick.v[r[i].index];
        en->probed = 1;
        en->supported = r[i].supported;
        en->vendor = r[i].vendor;
        en->count = r[i].count;
        snprintf(en->note, sizeof en->note, "%s", r[i].note);
        rx = RX_DIRTY;
    }
    return rx;
}

int app_choose_file(app *a, const char *path, vendor kind, long long count)
{
    free(a->file.path);
    a->file.path = xstrdup(path);
    a->file.kind = kind;
    a->file.count = count;
    a->file.phase = kind == VENDOR_AUTO ? 0 : vendor_is_phase2(kind) ? 2 : 1;
    a->file.error[0] = '\0';
    form_reset(a);
    app_pv_clear(a);
    a->screen = APP_SETUP;
    return RX_DIRTY | (kind == VENDOR_AUTO ? RX_DETECT : 0);
}

int app_set_file_kind(app *a, vendor kind, const char *error)
{
    if (error) {
        app_message(a, 1, "%s", error);
        snprintf(a->file.error, sizeof a->file.error, "%s", error);
        return RX_DIRTY;
    }
    a->file.error[0] = '\0';
    a->file.kind = kind;
    int phase = vendor_is_phase2(kind) ? 2 : 1;
    if (phase != a->file.phase) {
        /* known only now: the operator may already be moving in the form,
         * and the cursor stays where it is */
        int keep = a->file.phase == 0;
        app_field f = a->setup.field;
        a->file.phase = phase;
        form_reset(a);
        if (keep)
            a->setup.field = f;
    }
    return RX_DIRTY;
}

int app_preview_add(app *a, pv_row *v, size_t n)
{
    if (!n) {
        free(v);
        return RX_NONE;
    }
    if (a->pv.n + n > a->pv.cap) {
        a->pv.cap = (a->pv.n + n) * 2;
        a->pv.v = xrealloc(a->pv.v, a->pv.cap * sizeof *a->pv.v);
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].verdict != ITEM_OK) {
            if (a->pv.n_problems == a->pv.cap_problems) {
                a->pv.cap_problems = a->pv.cap_problems ? a->pv.cap_problems * 2 : 64;
                a->pv.problems =
                    xrealloc(a->pv.problems, a->pv.cap_problems * sizeof *a->pv.problems);
            }
            a->pv.problems[a->pv.n_problems++] = a->pv.n + i;
        }
    }
    memcpy(a->pv.v + a->pv.n, v, n * sizeof *v);
    a->pv.n += n;
    free(v);
    return RX_DIRTY;
}

int app_preview_status(app *a, const pv_status *st)
{
    if (!memcmp(&a->pv.st, st, sizeof *st))
        return RX_NONE;
    int finished = st->done && !a->pv.st.done;
    a->pv.st = *st;
    if (finished && st->vendor != VENDOR_AUTO && a->file.kind == VENDOR_AUTO)
        a->file.kind = st->vendor;
    return RX_DIRTY;
}

/* The row of item idx (rows are in file order), or NULL. */
static pv_row *row_of_item(app *a, size_t idx)
{
    size_t lo = 0, hi = a->pv.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->pv.v[mid].idx < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->pv.n && a->pv.v[lo].idx == idx ? &a->pv.v[lo] : NULL;
}

int app_check_results(app *a, const rc_result *r, size_t n)
{
    if (!a->pv.rc_on)
        return RX_NONE;
    for (size_t i = 0; i < n; i++) {
        pv_row *row = row_of_item(a, r[i].idx);
        if (!row)
            continue;
        row->rc_state = (int)r[i].state;
        snprintf(row->rc_status, sizeof row->rc_status, "%s", r[i].status);
        /* the registry's state is part of the verdict (DESIGN.md §4) */
        row->rc_verdict =
            rc_verdict(a->file.phase, &r[i], row->rc_msg, sizeof row->rc_msg);
        if (row->rc_verdict == ITEM_ERROR && row->verdict != ITEM_ERROR) {
            if (!a->pv.rc_bad++)
                snprintf(a->pv.rc_first, sizeof a->pv.rc_first, "item %zu %s: %s",
                         row->idx, row->name, row->rc_msg);
        }
        switch (r[i].state) {
        case RC_ABSENT:
            a->pv.rc_absent++;
            break;
        case RC_PRESENT:
            if (!strcmp(r[i].status, "INACTIVE"))
                a->pv.rc_inactive++;
            else if (!strcmp(r[i].status, "ACTIVE"))
                a->pv.rc_active++;
            else
                a->pv.rc_other++;
            break;
        case RC_ERROR:
            a->pv.rc_error++;
            if (!a->msg[0])
                app_message(a, 1, "registry check, item %zu: %s", r[i].idx, r[i].message);
            break;
        default:
            break;
        }
    }
    if (n)
        app_pv_problems(a);
    return n ? RX_DIRTY : RX_NONE;
}

int app_item_audit(app *a, long long job_id, size_t idx, char *text, size_t n,
                   const char *error)
{
    if (!a->items.detail || job_id != a->items.job_id || idx != a->items.detail_idx) {
        free(text);
        return RX_NONE;
    }
    free(a->items.audit);
    a->items.audit = text ? text : xstrdup("");
    a->items.audit_n = n;
    snprintf(a->items.audit_error, sizeof a->items.audit_error, "%s", error ? error : "");
    return RX_DIRTY;
}

void app_pv_problems(app *a)
{
    a->pv.n_problems = 0;
    for (size_t i = 0; i < a->pv.n; i++) {
        if (pv_row_verdict(&a->pv.v[i]) == ITEM_OK)
            continue;
        if (a->pv.n_problems == a->pv.cap_problems) {
            a->pv.cap_problems = a->pv.cap_problems ? a->pv.cap_problems * 2 : 64;
            a->pv.problems =
                xrealloc(a->pv.problems, a->pv.cap_problems * sizeof *a->pv.problems);
        }
        a->pv.problems[a->pv.n_problems++] = i;
    }
}

int app_check_status(app *a, size_t checked, size_t total, int finished)
{
    if (!a->pv.rc_on || (a->pv.rc_checked == checked && a->pv.rc_finished >= finished))
        return RX_NONE;
    a->pv.rc_checked = checked;
    a->pv.rc_total = total;
    if (finished)
        a->pv.rc_finished = 1;
    return RX_DIRTY;
}

int app_run_started(app *a, int ok, const char *error)
{
    a->run.active = ok;
    if (!ok)
        app_message(a, 1, "%s", error ? error : "the job could not start");
    return RX_DIRTY;
}

int app_run_update(app *a, const eng_snapshot *s, const eng_event *ev, size_t n)
{
    int rx = RX_NONE;
    if (!a->run.have || memcmp(&a->run.s, s, sizeof *s))
        rx = RX_DIRTY;
    for (size_t i = 0; i < s->n_ops && i < ENG_MAX_OPS; i++) {
        if (s->ops[i].throttles > a->run.op_throttles[i])
            a->run.op_throttled_at[i] = a->now;
        a->run.op_throttles[i] = s->ops[i].throttles;
    }
    int was_running = a->run.have && a->run.s.state < ENG_DONE;
    /* the pre-flight learned the account: every screen shows it from now on */
    if (s->account[0] && !a->target.account[0])
        snprintf(a->target.account, sizeof a->target.account, "%s", s->account);
    a->run.s = *s;
    a->run.have = 1;
    for (size_t i = 0; i < n; i++) {
        a->run.ev[a->run.ev_next] = ev[i];
        a->run.ev_next = (a->run.ev_next + 1) % APP_EVENTS;
        if (a->run.n_ev < APP_EVENTS)
            a->run.n_ev++;
        a->run.n_ev_total++;
        rx = RX_DIRTY;
    }
    if (s->state >= ENG_DONE && (was_running || a->run.stopping)) {
        a->run.stopping = 0;
        /* the job ended while the operator was asked to cancel it: the
         * question no longer applies (quitting needs no confirmation now,
         * but its dialog stays: the operator asked to quit) */
        if (a->dialog == DLG_CANCEL_RUN) {
            a->dialog = DLG_NONE;
            if (s->state == ENG_DONE || s->state == ENG_FAILED)
                app_message(a, 0, "job %lld ended before it was cancelled", s->job_id);
        }
        if (s->state == ENG_PAUSED && s->job_id > 0)
            app_message(a, 0, "job %lld paused with its items pending: F5 resumes it",
                        s->job_id);
        if (a->run.cancelled && s->job_id > 0 && a->screen == APP_RUN) {
            app_message(a, 0, "job %lld cancelled: F5 on it in the Jobs list resumes it",
                        s->job_id);
            act enter = {ACT_ENTER, 0};
            rx |= screen_run.act(a, enter);
        }
        rx |= RX_DIRTY | RX_LOAD_JOBS;
    }
    return rx;
}

int app_run_freed(app *a)
{
    a->run.active = 0;
    return RX_DIRTY;
}

int app_exported(app *a, const char *path, const char *error)
{
    if (error) {
        app_message(a, 1, "report: %s", error);
    } else {
        snprintf(a->items.report, sizeof a->items.report, "%s", path);
        app_message(a, 0, "report written: %s", path);
    }
    return RX_DIRTY;
}
