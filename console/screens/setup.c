/* The job setup form: what to attach and how, and where jobs go (Endpoint,
 * AWS profile, AWS region: a change is resolved by console.c, RX_RETARGET). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "console/screens/screens.h"
#include "console/text.h"

static const km_binding keys[] = {
    {KM_F(5), ACT_START},
    {'s', ACT_START},
    {' ', ACT_TOGGLE},
    {KM_NONE, ACT_NONE},
};

static const screen_bar bar[] = {
    {KM_F(1), ACT_HELP, "Help"}, {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(3), ACT_OPEN, "Open"}, {KM_ENTER, ACT_ENTER, "Edit"},
    {' ', ACT_TOGGLE, "Toggle"}, {KM_F(5), ACT_START, "Preview"},
    {KM_ESC, ACT_BACK, "Back"},  {KM_F(10), ACT_QUIT, "Quit"},
    {0, ACT_NONE, NULL},
};

static const screen_help_line help[] = {
    {ACT_ENTER, "edit the field (names separated by commas) / toggle"},
    {ACT_TOGGLE, "toggle"},
    {ACT_START, "validate the file and show the preview"},
    {ACT_BACK, "back to the file picker"},
    {ACT_NONE, NULL},
};

static void about(buf *out)
{
    buf_puts(out,
             "Set up the job: the policies, thing groups and thing type to attach, "
             "whether certificates are registered ACTIVE, whether the Thing is created "
             "now or in Phase 2. Enter edits a field (names separated by commas). "
             "Endpoint, AWS profile and AWS region say where jobs go: Endpoint 'local' "
             "is the embedded endpoint (no account needed), 'aws' is AWS IoT's "
             "endpoint of the region, or type a URL; the line under them shows the "
             "account and the credentials' source. F5 validates the file.");
}

/* ---- the form's fields ---- */

static const char *field_key(const app *a, app_field f)
{
    static const char *const names[FLD_COUNT] = {
        "policies",       "thing_groups", "thing_type", "cert_active",
        "thing_deferred", "skip_invalid", "",           "endpoint_url",
        "profile",        "region"};
    if (f == FLD_SOURCE)
        return a->file.kind == VENDOR_INFINEON ? "infineon_bundle" : "microchip_signers";
    return names[f];
}

static int field_is_text(app_field f)
{
    return f == FLD_POLICIES || f == FLD_GROUPS || f == FLD_TYPE || f == FLD_SOURCE ||
           f == FLD_ENDPOINT || f == FLD_PROFILE || f == FLD_REGION;
}

/* Whether the form shows field f for this file: the file kind's own field
 * only for Infineon (the bundle) and Microchip (the signers folder). */
static int field_shown(const app *a, app_field f)
{
    return f != FLD_SOURCE || a->file.kind == VENDOR_INFINEON ||
           a->file.kind == VENDOR_MICROCHIP;
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
    case FLD_SOURCE:
        snprintf(out, n, "%s",
                 a->file.kind == VENDOR_INFINEON
                     ? (a->cfg.infineon_bundle ? a->cfg.infineon_bundle : "E0E0")
                     : (a->cfg.microchip_signers ? a->cfg.microchip_signers : ""));
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
    if (app_run_busy(a)) {
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
    app_pv_clear(a);
    a->pv.started = 1;
    a->screen = APP_PREVIEW;
    return RX_DIRTY | RX_START_PREVIEW;
}

/* A field typed in (app.input.field): the Endpoint / Profile / Region ones
 * change where jobs go, the others the job's configuration. */
static int setup_field_commit(app *a, char *text)
{
    if (field_is_where(a->input.field))
        return where_commit(a, a->input.field, text);
    err e;
    err_clear(&e);
    if (jobcfg_set(&a->cfg, field_key(a, a->input.field), text, NULL, 0, &e) < 0) {
        app_message(a, 1, "%s", e.msg);
        return RX_DIRTY;
    }
    if (jobcfg_check(&a->cfg, &e))
        app_message(a, 1, "%s", e.msg);
    return RX_DIRTY;
}

static const char *setup_field_prompt(const app *a)
{
    static const char *const labels[FLD_COUNT] = {
        "Policies",   "Thing groups",
        "Thing type", "",
        "",           "",
        "",           "Endpoint (local, aws or a URL)",
        "Profile",    "Region"};
    if (a->input.field == FLD_SOURCE)
        return a->file.kind == VENDOR_INFINEON
                   ? "Infineon bundle (E0E0, E0E1 or E0E2)"
                   : "Microchip signers folder (empty: the bundled signers)";
    return a->input.field < FLD_COUNT ? labels[a->input.field] : "";
}

/* ---- actions ---- */

static int setup_act(app *a, act x)
{
    switch (x.type) {
    case ACT_UP:
        for (int f = (int)a->setup.field - 1; f >= 0; f--)
            if (field_shown(a, (app_field)f)) {
                a->setup.field = (app_field)f;
                break;
            }
        return RX_DIRTY;
    case ACT_DOWN:
        for (int f = (int)a->setup.field + 1; f < FLD_COUNT; f++)
            if (field_shown(a, (app_field)f)) {
                a->setup.field = (app_field)f;
                break;
            }
        return RX_DIRTY;
    case ACT_HOME:
        a->setup.field = 0;
        return RX_DIRTY;
    case ACT_END:
        a->setup.field = FLD_COUNT - 1;
        return RX_DIRTY;
    case ACT_ENTER:
    case ACT_RIGHT:
    case ACT_TOGGLE:
        if (app_field_locked(a, a->setup.field)) {
            app_message(a, 1,
                        "locked by the station profile %s: ask whoever set up this "
                        "station",
                        a->locked_by);
            return RX_DIRTY;
        }
        if (x.type == ACT_TOGGLE)
            return field_is_text(a->setup.field) ? RX_NONE
                                                 : toggle_field(a, a->setup.field);
        if (field_is_text(a->setup.field)) {
            a->input.kind = IN_FIELD;
            a->input.field = a->setup.field;
            field_value(a, a->setup.field, a->input.text, sizeof a->input.text);
            return RX_DIRTY;
        }
        return toggle_field(a, a->setup.field);
    case ACT_START:
        return start_preview(a);
    case ACT_BACK:
    case ACT_LEFT:
        return app_go_pick(a);
    default:
        return RX_NONE;
    }
}

/* ---- rows ---- */

static void build_setup(vm *v, const app *a)
{
    const char *dot = a->utf8 ? " \xc2\xb7 " : " - ";
    vm_line l = vm_line_start(v, 1, ROLE_NORMAL, a->utf8);
    vm_text(&l, "File: ", ROLE_LABEL);
    buf t = BUF_INIT;
    tx_fit_tail(&t, a->file.path ? a->file.path : "(none)", v->w - l.col, a->utf8);
    vm_text(&l, t.data ? t.data : "", -1);
    buf_free(&t);
    vm_line_end(&l);

    l = vm_line_start(v, 2, ROLE_NORMAL, a->utf8);
    vm_text(&l, "Kind: ", ROLE_LABEL);
    if (a->file.kind == VENDOR_AUTO && a->file.error[0])
        vm_text(&l, a->file.error, ROLE_ERROR); /* not a file it can read: why */
    else if (a->file.kind == VENDOR_AUTO)
        vm_text(&l, "detecting...", ROLE_DIM);
    else
        vm_text(&l, vendor_name(a->file.kind), -1);
    if (a->file.count >= 0)
        vm_textf(&l, -1, "%s%lld items", dot, a->file.count);
    if (a->file.phase == 1)
        vm_textf(&l, -1, "%sPhase 1: register the certificates", dot);
    else if (a->file.phase == 2)
        vm_textf(&l, -1, "%sPhase 2: activate, create the things, attach", dot);
    vm_line_end(&l);
    vm_blank(v, 3, a->utf8);

    static const char *const labels[FLD_COUNT] = {
        "Policies",       "Thing groups",       "Thing type", "Certificate active",
        "Thing deferred", "Skip invalid items", "",           "Endpoint",
        "AWS profile",    "AWS region"};
    int p2 = a->file.phase == 2;
    int y = 4;
    for (int f = 0; f < FLD_COUNT; f++, y++) {
        if (!field_shown(a, (app_field)f)) {
            y--;
            continue;
        }
        if (f == FLD_ENDPOINT)
            vm_blank(v, y++, a->utf8);
        int sel = a->setup.field == (app_field)f && !a->input.kind;
        int editing = a->input.kind == IN_FIELD && a->input.field == (app_field)f;
        vm_line r = vm_line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        vm_cell(&r, "  ", 2, TX_LEFT, -1);
        const char *label = labels[f];
        if (f == FLD_SOURCE)
            label =
                a->file.kind == VENDOR_INFINEON ? "Infineon bundle" : "Signers folder";
        vm_cell(&r, label, 21, TX_LEFT, sel ? -1 : ROLE_LABEL);
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
        case FLD_SOURCE:
            if (a->file.kind == VENDOR_INFINEON) {
                snprintf(val, sizeof val, "%s",
                         a->cfg.infineon_bundle ? a->cfg.infineon_bundle : "E0E0");
                note = "which certificate of each chip";
            } else if (a->cfg.microchip_signers) {
                snprintf(val, sizeof val, "%s", a->cfg.microchip_signers);
                note = "the signers of the manifest";
            } else {
                snprintf(val, sizeof val, "(bundled)");
                vrole = ROLE_DIM;
                note = "Microchip's published signers";
            }
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
            vm_cell(&r, "(editing below)", 24, TX_LEFT, ROLE_INPUT);
        } else if (tx_width(val) > 24) {
            /* a long value (many policies, a path) is read in full: it takes
             * the note's room */
            vm_cell(&r, val, -1, TX_LEFT, sel ? -1 : vrole);
            vm_line_end(&r);
            continue;
        } else {
            vm_cell(&r, val, 24, TX_LEFT, sel ? -1 : vrole);
        }
        vm_cell(&r, "  ", 2, TX_LEFT, -1);
        if (app_field_locked(a, (app_field)f))
            note = "locked by the station profile";
        vm_cell(&r, note, -1, TX_LEFT, sel ? -1 : ROLE_DIM);
        vm_line_end(&r);
    }
    vm_blank(v, y++, a->utf8);
    vm_target_line(v, a, y++, "Sends to: ");
    vm_text_row(v, y++, ROLE_DIM, a->utf8, a->target.describe);
    vm_blank(v, y++, a->utf8);
    vm_text_row(
        v, y++, ROLE_NORMAL, a->utf8,
        "F5 validates the whole file first (nothing is sent) and shows the preview.");
    for (; y < v->h - 2; y++)
        vm_blank(v, y, a->utf8);
}

static const char *setup_hint(const app *a, char *buf, size_t n)
{
    (void)a, (void)buf, (void)n;
    return "Up/Down choose a field, Enter edits or toggles, F5 validates.";
}

const screen_ops screen_setup = {
    .title = "Set up the job",
    .build = build_setup,
    .hint = setup_hint,
    .bar = bar,
    .keys = keys,
    .act = setup_act,
    .field_prompt = setup_field_prompt,
    .field_commit = setup_field_commit,
    .about = about,
    .help = help,
};
