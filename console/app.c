/* The console's state and actions (see app.h). Nothing here draws or does
 * I/O: every outside effect is a reaction flag for the main loop. */
#include "console/app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"

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

/* "a/b" + "c" = "a/b/c"; "/" + "c" = "/c". */
static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int slash = n > 0 && dir[n - 1] == '/';
    size_t len = n + strlen(name) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

/* The parent folder of dir ("/a/b" -> "/a", "/a" -> "/", "a" -> "."), and in
 * *base the last component (borrowed from dir). */
static char *path_parent(const char *dir, const char **base)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t k = n;
    while (k > 0 && dir[k - 1] != '/')
        k--;
    if (base)
        *base = dir + k;
    if (k == 0)
        return xstrdup(".");
    while (k > 1 && dir[k - 1] == '/')
        k--;
    return xstrndup(dir, k);
}

/* ---- lists ---- */

static void list_fix(app_list *l, size_t n, size_t page)
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
    list_fix(l, n, page);
    return 1;
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

size_t app_page_rows(const app *a, app_screen s)
{
    long rows;
    switch (s) {
    case APP_JOBS:
    case APP_PICK:
        rows = a->h - 5;
        break;
    case APP_ITEMS:
        rows = a->h - 8;
        break;
    case APP_PREVIEW:
        rows = a->h - 7 - app_detail_rows(a);
        break;
    default:
        rows = a->h - 4;
    }
    return rows < 1 ? 1 : (size_t)rows;
}

static size_t items_count(const app *a)
{
    if (!a->items.have_job)
        return a->items.n;
    const jnl_job *j = &a->items.job;
    return a->items.filter == JNL_FILTER_PROBLEMS ? j->failed + j->skipped : j->total;
}

static size_t pv_count(const app *a)
{
    return a->pv.problems_only ? a->pv.n_problems : a->pv.n;
}

/* The list of the current screen: its state and length. */
static app_list *cur_list(app *a, size_t *n)
{
    switch (a->screen) {
    case APP_JOBS:
        *n = a->jobs.n;
        return &a->jobs.l;
    case APP_ITEMS:
        *n = items_count(a);
        return &a->items.l;
    case APP_PICK:
        *n = a->pick.n;
        return &a->pick.l;
    case APP_PREVIEW:
        *n = pv_count(a);
        return &a->pv.l;
    default:
        *n = 0;
        return NULL;
    }
}

/* The searchable text of row i of the current list, into out. Items not
 * loaded are not searched. */
static int row_text(app *a, size_t i, char *out, size_t n)
{
    switch (a->screen) {
    case APP_JOBS: {
        const jnl_job *j = &a->jobs.v[i];
        snprintf(out, n, "%lld %s %s %s", j->id, j->file, j->batch_id,
                 jnl_job_status_name(j->status));
        return 1;
    }
    case APP_ITEMS:
        if (i < a->items.off || i >= a->items.off + a->items.n)
            return 0;
        {
            const jnl_item *it = &a->items.v[i - a->items.off];
            snprintf(out, n, "%s %s %s %s", it->key, it->fingerprint,
                     jnl_status_name(it->status), it->error);
        }
        return 1;
    case APP_PICK:
        snprintf(out, n, "%s", a->pick.v[i].name);
        return 1;
    case APP_PREVIEW: {
        const pv_row *r = &a->pv.v[a->pv.problems_only ? a->pv.problems[i] : i];
        snprintf(out, n, "%s %s %s %s", r->name, r->fp, item_verdict_name(r->verdict),
                 r->message);
        return 1;
    }
    default:
        return 0;
    }
}

static int items_need_page(app *a)
{
    size_t sel = a->items.l.sel;
    if (!a->items.have_job || items_count(a) == 0)
        return 0;
    if (sel >= a->items.off && sel < a->items.off + a->items.n)
        return 0;
    size_t page = app_page_rows(a, APP_ITEMS);
    a->items.want_off = sel > page ? sel - page : 0;
    return RX_LOAD_ITEMS;
}

/* Finds the next row matching a->search after (or at, when `here`) the
 * selection, wrapping around. */
static int search_from(app *a, int here)
{
    size_t n;
    app_list *l = cur_list(a, &n);
    if (!l || !a->search[0])
        return RX_NONE;
    char text[2400];
    for (size_t k = here ? 0 : 1; k <= n; k++) {
        size_t i = (l->sel + k) % (n ? n : 1);
        if (n && row_text(a, i, text, sizeof text) && contains(text, a->search)) {
            l->sel = i;
            list_fix(l, n, app_page_rows(a, a->screen));
            app_message(a, 0, "/%s", a->search);
            return RX_DIRTY | (a->screen == APP_ITEMS ? items_need_page(a) : 0);
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
        }
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

static void pv_clear(app *a)
{
    pv_rows_free(a->pv.v, a->pv.n);
    free(a->pv.problems);
    memset(&a->pv, 0, sizeof a->pv);
}

void app_free(app *a)
{
    free(a->jobs.v);
    free(a->items.v);
    pk_entries_free(a->pick.v, a->pick.n);
    free(a->pick.dir);
    free(a->file.path);
    pv_clear(a);
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
    static const km_ctx ctx[APP_N_SCREENS] = {KMC_JOBS,  KMC_ITEMS,   KMC_PICK,
                                              KMC_SETUP, KMC_PREVIEW, KMC_RUN};
    return ctx[a->screen];
}

int app_resize(app *a, int h, int w)
{
    a->h = h < 1 ? 1 : h;
    a->w = w < 1 ? 1 : w;
    size_t n;
    app_list *l = cur_list(a, &n);
    if (l)
        list_fix(l, n, app_page_rows(a, a->screen));
    return RX_DIRTY;
}

int app_run_finished(const app *a)
{
    return a->run.active && a->run.have && a->run.s.state >= ENG_DONE;
}

static int run_busy(const app *a)
{
    return a->run.active && !app_run_finished(a);
}

/* ---- navigation ---- */

static int go_jobs(app *a)
{
    a->screen = APP_JOBS;
    return RX_DIRTY | RX_LOAD_JOBS;
}

static int go_pick(app *a)
{
    if (a->screen != APP_PICK)
        a->pick.back = a->screen;
    a->screen = APP_PICK;
    return RX_DIRTY | (a->pick.v ? 0 : RX_LOAD_DIR);
}

static int open_items(app *a, const jnl_job *j, int filter)
{
    a->screen = APP_ITEMS;
    if (!a->items.have_job || a->items.job_id != j->id || a->items.filter != filter) {
        free(a->items.v);
        a->items.v = NULL;
        a->items.n = a->items.off = 0;
        memset(&a->items.l, 0, sizeof a->items.l);
        a->items.report[0] = '\0';
    }
    a->items.job_id = j->id;
    a->items.job = *j;
    a->items.have_job = 1;
    a->items.filter = filter;
    a->items.want_off = a->items.off;
    return RX_DIRTY | RX_LOAD_ITEMS;
}

static int change_dir(app *a, char *dir, const char *select)
{
    free(a->pick.dir);
    a->pick.dir = dir;
    pk_entries_free(a->pick.v, a->pick.n);
    a->pick.v = NULL;
    a->pick.n = 0;
    memset(&a->pick.l, 0, sizeof a->pick.l);
    snprintf(a->pick.select, sizeof a->pick.select, "%s", select ? select : "");
    a->pick.error[0] = '\0';
    return RX_DIRTY | RX_LOAD_DIR;
}

static int start_job(app *a)
{
    if (a->retargeting) {
        app_message(a, 1,
                    "still connecting to the new endpoint: start again in a moment");
        return RX_DIRTY;
    }
    if (run_busy(a)) {
        app_message(a, 1,
                    "a job is running: pause or cancel it first (F2 Jobs shows it)");
        return RX_DIRTY;
    }
    a->screen = APP_RUN;
    memset(&a->run, 0, sizeof a->run);
    snprintf(a->run.file, sizeof a->run.file, "%s", a->file.path ? a->file.path : "");
    return RX_DIRTY | RX_START_JOB;
}

/* Resumes (or retries the failed items of) a job of the journal. */
static int resume_job(app *a, const jnl_job *j)
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
    if (run_busy(a)) {
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
    return start_job(a);
}

/* ---- the setup form ---- */

static const char *field_key(app_field f)
{
    static const char *const keys[FLD_COUNT] = {
        "policies",     "thing_groups", "thing_type", "cert_active", "thing_deferred",
        "skip_invalid", "endpoint_url", "profile",    "region"};
    return keys[f];
}

static int field_is_text(app_field f)
{
    return f == FLD_POLICIES || f == FLD_GROUPS || f == FLD_TYPE || f == FLD_ENDPOINT ||
           f == FLD_PROFILE || f == FLD_REGION;
}

static int field_is_where(app_field f)
{
    return f == FLD_ENDPOINT || f == FLD_PROFILE || f == FLD_REGION;
}

static void join_list(char *out, size_t n, char *const *v, size_t k)
{
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < k; i++)
        len += (size_t)snprintf(out + (len < n ? len : n - 1), len < n ? n - len : 1,
                                "%s%s", i ? "," : "", v[i]);
}

/* The field's current value as typed text. */
static void field_value(const app *a, app_field f, char *out, size_t n)
{
    switch (f) {
    case FLD_POLICIES:
        join_list(out, n, a->cfg.policies, a->cfg.n_policies);
        break;
    case FLD_GROUPS:
        join_list(out, n, a->cfg.thing_groups, a->cfg.n_thing_groups);
        break;
    case FLD_TYPE:
        snprintf(out, n, "%s", a->cfg.thing_type ? a->cfg.thing_type : "");
        break;
    case FLD_CERT_ACTIVE:
        snprintf(out, n, "%s", a->cfg.cert_active ? "true" : "false");
        break;
    case FLD_DEFERRED:
        snprintf(out, n, "%s", a->cfg.thing_deferred ? "true" : "false");
        break;
    case FLD_SKIP_INVALID:
        snprintf(out, n, "%s", a->cfg.skip_invalid ? "true" : "false");
        break;
    case FLD_ENDPOINT:
        snprintf(out, n, "%s",
                 a->where.local         ? "local"
                 : a->where.endpoint[0] ? a->where.endpoint
                                        : "aws");
        break;
    case FLD_PROFILE:
        snprintf(out, n, "%s", a->where.profile);
        break;
    case FLD_REGION:
        snprintf(out, n, "%s", a->where.region);
        break;
    default:
        out[0] = '\0';
    }
}

/* Trims blanks at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* An edit of the Endpoint / Profile / Region field: the new `where`, then
 * RX_RETARGET (console.c resolves it on a thread; app_retargeted follows). */
static int where_commit(app *a, app_field f, char *text)
{
    if (!a->can_retarget) {
        app_message(a, 1,
                    "this console's endpoint is fixed: start it with --local, "
                    "--endpoint-url, --profile or --region");
        return RX_DIRTY;
    }
    if (run_busy(a)) {
        app_message(a, 1,
                    "a job is running: pause or cancel it before changing the endpoint");
        return RX_DIRTY;
    }
    if (a->retargeting) {
        app_message(a, 1, "still connecting to the endpoint asked before");
        return RX_DIRTY;
    }
    app_where w = a->where;
    char *v = trim(text);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || (f != FLD_ENDPOINT && *p == ' ')) {
            app_message(a, 1, "%s: no spaces or control characters",
                        f == FLD_PROFILE  ? "Profile"
                        : f == FLD_REGION ? "Region"
                                          : "Endpoint");
            return RX_DIRTY;
        }
    if (f == FLD_ENDPOINT) {
        if (!strcasecmp(v, "local")) {
            w.local = 1;
        } else if (!*v || !strcasecmp(v, "aws")) {
            w.local = 0;
            w.endpoint[0] = '\0';
        } else if ((!strncasecmp(v, "https://", 8) || !strncasecmp(v, "http://", 7)) &&
                   !strchr(v, ' ') && strlen(v) < sizeof w.endpoint) {
            w.local = 0;
            snprintf(w.endpoint, sizeof w.endpoint, "%s", v);
        } else {
            app_message(a, 1,
                        "Endpoint: 'local' (embedded, no AWS account), 'aws' (AWS's "
                        "endpoint of the region) or an https:// URL");
            return RX_DIRTY;
        }
    } else if (f == FLD_PROFILE) {
        if (strlen(v) >= sizeof w.profile) {
            app_message(a, 1, "Profile: at most %zu characters", sizeof w.profile - 1);
            return RX_DIRTY;
        }
        snprintf(w.profile, sizeof w.profile, "%s", v);
    } else {
        if (strlen(v) >= sizeof w.region) {
            app_message(a, 1, "Region: at most %zu characters", sizeof w.region - 1);
            return RX_DIRTY;
        }
        snprintf(w.region, sizeof w.region, "%s", v);
    }
    if (!memcmp(&w, &a->where, sizeof w))
        return RX_DIRTY;
    a->where = w;
    if (w.local && a->where_ok.local) {
        /* the local endpoint ignores profile and region: nothing to resolve */
        a->where_ok = w;
        app_message(a, 0, "kept for AWS; the local endpoint does not use it");
        return RX_DIRTY;
    }
    a->retargeting = 1;
    app_message(a, 0, "connecting: %s...",
                w.local         ? "the local endpoint"
                : w.endpoint[0] ? w.endpoint
                                : "AWS");
    int rx = RX_DIRTY | RX_RETARGET;
    if (a->pv.rc_on && !a->pv.rc_finished) {
        a->pv.rc_finished = 1;
        rx |= RX_STOP_CHECK;
    }
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

static int toggle_field(app *a, app_field f)
{
    if ((f == FLD_CERT_ACTIVE || f == FLD_DEFERRED) && a->file.phase == 2) {
        app_message(a, 0,
                    "Phase 2 always activates the certificates and creates the things");
        return RX_DIRTY;
    }
    if (f == FLD_CERT_ACTIVE)
        a->cfg.cert_active = !a->cfg.cert_active;
    else if (f == FLD_DEFERRED)
        a->cfg.thing_deferred = !a->cfg.thing_deferred;
    else if (f == FLD_SKIP_INVALID)
        a->cfg.skip_invalid = !a->cfg.skip_invalid;
    return RX_DIRTY;
}

static int start_preview(app *a)
{
    err e;
    err_clear(&e);
    if (!a->file.path) {
        app_message(a, 1, "no file chosen: F3 opens one");
        return RX_DIRTY;
    }
    if (jobcfg_check(&a->cfg, &e)) {
        app_message(a, 1, "%s", e.msg);
        return RX_DIRTY;
    }
    pv_clear(a);
    a->pv.started = 1;
    a->screen = APP_PREVIEW;
    return RX_DIRTY | RX_START_PREVIEW;
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
    if (field_is_where(a->input.field))
        return where_commit(a, a->input.field, a->input.text);
    err e;
    err_clear(&e);
    if (jobcfg_set(&a->cfg, field_key(a->input.field), a->input.text, NULL, 0, &e) < 0) {
        app_message(a, 1, "%s", e.msg);
        return RX_DIRTY;
    }
    if (jobcfg_check(&a->cfg, &e))
        app_message(a, 1, "%s", e.msg);
    return RX_DIRTY;
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

/* ---- dialogs, help ---- */

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
        return start_job(a);
    case DLG_QUIT_RUNNING:
        a->run.stopping = 1;
        return RX_DIRTY | RX_CANCEL_JOB | RX_QUIT;
    case DLG_CANCEL_RUN:
        a->run.stopping = 1;
        a->run.cancelled = 1;
        app_message(a, 0, "stopping after the calls in flight...");
        return RX_DIRTY | RX_CANCEL_JOB;
    default:
        return RX_DIRTY;
    }
}

static int help_do(app *a, act x)
{
    switch (x.type) {
    case ACT_UP:
        if (a->help_top > 0)
            a->help_top--;
        return RX_DIRTY;
    case ACT_DOWN:
        a->help_top++;
        return RX_DIRTY;
    case ACT_PGUP:
        a->help_top = a->help_top > (size_t)a->h ? a->help_top - (size_t)a->h : 0;
        return RX_DIRTY;
    case ACT_PGDN:
        a->help_top += (size_t)(a->h > 4 ? a->h - 4 : 1);
        return RX_DIRTY;
    case ACT_HOME:
        a->help_top = 0;
        return RX_DIRTY;
    case ACT_END:
        a->help_top = (size_t)-1 / 2; /* the view model clamps it */
        return RX_DIRTY;
    case ACT_BACK:
        a->help = 0;
        return RX_DIRTY;
    default:
        return RX_NONE;
    }
}

/* ---- screens ---- */

static int jobs_do(app *a, act x)
{
    const jnl_job *j = a->jobs.n ? &a->jobs.v[a->jobs.l.sel] : NULL;
    switch (x.type) {
    case ACT_ENTER:
    case ACT_RIGHT:
        if (!j)
            return go_pick(a);
        if (a->run.active && a->run.s.job_id == j->id && !app_run_finished(a)) {
            a->screen = APP_RUN;
            return RX_DIRTY;
        }
        return open_items(a, j, JNL_FILTER_ALL);
    case ACT_START:
        if (!j) {
            app_message(a, 0, "no job to resume: F3 opens a file");
            return RX_DIRTY;
        }
        return resume_job(a, j);
    default:
        return RX_NONE;
    }
}

static int items_do(app *a, act x)
{
    switch (x.type) {
    case ACT_FILTER: {
        jnl_job j = a->items.job;
        int f = a->items.filter == JNL_FILTER_ALL ? JNL_FILTER_PROBLEMS : JNL_FILTER_ALL;
        a->items.have_job = 0; /* forces a fresh page */
        return open_items(a, &j, f);
    }
    case ACT_START:
        if (!a->items.have_job)
            return RX_NONE;
        return resume_job(a, &a->items.job);
    case ACT_EXPORT:
        if (!a->items.have_job)
            return RX_NONE;
        return RX_DIRTY | RX_EXPORT;
    case ACT_BACK:
    case ACT_LEFT:
        return go_jobs(a);
    default:
        return RX_NONE;
    }
}

static int pick_do(app *a, act x)
{
    const pk_entry *en = a->pick.n ? &a->pick.v[a->pick.l.sel] : NULL;
    switch (x.type) {
    case ACT_ENTER:
    case ACT_RIGHT:
        if (!en)
            return RX_NONE;
        switch (en->kind) {
        case PK_PARENT:
            return pick_do(a, (act){ACT_LEFT, 0});
        case PK_SAMPLES:
            return change_dir(a, xstrdup(en->name), NULL);
        case PK_DIR:
            return change_dir(a, path_join(a->pick.dir, en->name), NULL);
        case PK_FILE:
            if (en->probed && !en->supported) {
                app_message(a, 1, "%s: %s", en->name,
                            en->note[0] ? en->note : "not a file thingpress reads");
                return RX_DIRTY;
            }
            {
                char *path = path_join(a->pick.dir, en->name);
                int rx = app_choose_file(a, path, en->probed ? en->vendor : VENDOR_AUTO,
                                         en->probed ? en->count : -1);
                free(path);
                return rx;
            }
        }
        return RX_NONE;
    case ACT_LEFT: {
        const char *base;
        char *parent = path_parent(a->pick.dir, &base);
        char sel[256];
        snprintf(sel, sizeof sel, "%s", base);
        return change_dir(a, parent, sel);
    }
    case ACT_SAMPLES:
        if (!a->samples_dir) {
            app_message(a, 1,
                        "the bundled samples were not found (set THINGPRESS_SAMPLES "
                        "or start from the source tree)");
            return RX_DIRTY;
        }
        return change_dir(a, xstrdup(a->samples_dir), NULL);
    case ACT_BACK:
        if (a->pick.back == APP_PICK || (a->pick.back != APP_JOBS && !a->file.path))
            return go_jobs(a);
        a->screen = a->pick.back;
        return RX_DIRTY | (a->screen == APP_JOBS ? RX_LOAD_JOBS : 0);
    default:
        return RX_NONE;
    }
}

static int setup_do(app *a, act x)
{
    switch (x.type) {
    case ACT_UP:
        if (a->setup.field > 0)
            a->setup.field--;
        return RX_DIRTY;
    case ACT_DOWN:
        if (a->setup.field + 1 < FLD_COUNT)
            a->setup.field++;
        return RX_DIRTY;
    case ACT_HOME:
        a->setup.field = 0;
        return RX_DIRTY;
    case ACT_END:
        a->setup.field = FLD_COUNT - 1;
        return RX_DIRTY;
    case ACT_ENTER:
    case ACT_RIGHT:
        if (field_is_text(a->setup.field)) {
            a->input.kind = IN_FIELD;
            a->input.field = a->setup.field;
            field_value(a, a->setup.field, a->input.text, sizeof a->input.text);
            return RX_DIRTY;
        }
        return toggle_field(a, a->setup.field);
    case ACT_TOGGLE:
        if (field_is_text(a->setup.field))
            return RX_NONE;
        return toggle_field(a, a->setup.field);
    case ACT_START:
        return start_preview(a);
    case ACT_BACK:
    case ACT_LEFT:
        return go_pick(a);
    default:
        return RX_NONE;
    }
}

static int preview_do(app *a, act x)
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
    case ACT_TAB:
    case ACT_ENTER:
        if (!pv_count(a))
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
        }
        a->pv.rc_on = 1;
        a->pv.rc_finished = 0;
        a->pv.rc_checked = 0;
        a->pv.rc_total = a->pv.n;
        a->pv.rc_absent = a->pv.rc_error = a->pv.rc_inactive = 0;
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
        return start_job(a);
    }
    case ACT_BACK:
    case ACT_LEFT:
        a->screen = APP_SETUP;
        return RX_DIRTY;
    default:
        return RX_NONE;
    }
}

static int run_do(app *a, act x)
{
    const eng_snapshot *s = &a->run.s;
    switch (x.type) {
    case ACT_PAUSE:
        if (!run_busy(a) || a->run.stopping)
            return RX_NONE;
        a->run.stopping = 1;
        a->run.paused = 1;
        app_message(a, 0, "pausing after the calls in flight...");
        return RX_DIRTY | RX_CANCEL_JOB;
    case ACT_CANCEL:
        if (!run_busy(a) || a->run.stopping)
            return RX_NONE;
        a->dialog = DLG_CANCEL_RUN;
        a->dialog_yes = 0;
        return RX_DIRTY;
    case ACT_START:
        if (run_busy(a)) {
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
        return start_job(a);
    case ACT_ENTER:
    case ACT_RIGHT:
    case ACT_BACK:
    case ACT_LEFT:
        if (run_busy(a)) {
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
                                                : JOB_CANCELLED;
            a->items.have_job = 0;
            return open_items(a, &j, JNL_FILTER_ALL);
        }
        a->screen = a->file.path ? APP_SETUP : APP_JOBS;
        return RX_DIRTY | (a->screen == APP_JOBS ? RX_LOAD_JOBS : 0);
    default:
        return RX_NONE;
    }
}

static int quit(app *a)
{
    if (run_busy(a)) {
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
        if (run_busy(a)) {
            a->run.stopping = 1;
            return RX_DIRTY | RX_CANCEL_JOB | RX_QUIT;
        }
        return RX_QUIT;
    }
    a->msg[0] = '\0';
    if (a->dialog)
        return dialog_do(a, x) | RX_DIRTY;
    if (a->help)
        return help_do(a, x) | RX_DIRTY;
    if (a->input.kind)
        return input_do(a, x) | RX_DIRTY;

    int rx = RX_NONE;
    switch (a->screen) {
    case APP_JOBS:
        rx = jobs_do(a, x);
        break;
    case APP_ITEMS:
        rx = items_do(a, x);
        break;
    case APP_PICK:
        rx = pick_do(a, x);
        break;
    case APP_SETUP:
        rx = setup_do(a, x);
        break;
    case APP_PREVIEW:
        rx = preview_do(a, x);
        break;
    case APP_RUN:
        rx = run_do(a, x);
        break;
    default:
        break;
    }
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
        return go_jobs(a);
    case ACT_OPEN:
        return go_pick(a);
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
    if (l && list_move(l, n, app_page_rows(a, a->screen), x.type)) {
        if (a->screen == APP_PREVIEW)
            a->pv.detail_top = 0;
        return RX_DIRTY | (a->screen == APP_ITEMS ? items_need_page(a) : 0);
    }
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
    list_fix(&a->jobs.l, a->jobs.n, app_page_rows(a, APP_JOBS));
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
    list_fix(&a->items.l, items_count(a), app_page_rows(a, APP_ITEMS));
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
    list_fix(&a->pick.l, a->pick.n, app_page_rows(a, APP_PICK));
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
    form_reset(a);
    pv_clear(a);
    a->screen = APP_SETUP;
    return RX_DIRTY | (kind == VENDOR_AUTO ? RX_DETECT : 0);
}

int app_set_file_kind(app *a, vendor kind, const char *error)
{
    if (error) {
        app_message(a, 1, "%s", error);
        return RX_DIRTY;
    }
    a->file.kind = kind;
    int phase = vendor_is_phase2(kind) ? 2 : 1;
    if (phase != a->file.phase) {
        a->file.phase = phase;
        form_reset(a);
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
    return n ? RX_DIRTY : RX_NONE;
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
        if (a->run.cancelled && s->job_id > 0 && a->screen == APP_RUN) {
            app_message(a, 0, "job %lld cancelled: F5 on the Jobs screen resumes it",
                        s->job_id);
            act enter = {ACT_ENTER, 0};
            rx |= run_do(a, enter);
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
