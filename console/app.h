/* app - the console's state and its actions (the second layer: keymap ->
 * actions -> view models -> screen).
 *
 * Design: one struct holds everything the screens show: which screen is up,
 * the selection and scroll of each list, the text being typed, the open
 * dialog, and copies of the data the console collected (journal rows, folder
 * listing, preview rows, the engine's last snapshot). app_do() applies one
 * abstract action and returns reaction flags (RX_*): it never draws and never
 * does I/O. What needs the outside world (read the journal, list a folder,
 * start the preview or the engine, cancel it) is asked for through a flag;
 * the main loop (console.c) does it and feeds the result back through the
 * app_set_* / app_*_update functions, which are just as pure. So the whole
 * behaviour is testable as data: actions in, state and flags out.
 *
 * Each screen is a unit of its own (console/screens/: its keys, actions,
 * list and rows behind one table of operations); app_do() dispatches to the
 * screen that is up and does what every screen shares. Layout knowledge
 * that both actions (scrolling) and view models (drawing) need lives in one
 * place: app_page_rows(), which asks the screen.
 *
 * Threading: UI thread only. Ownership: the app owns every pointer in it;
 * the app_set_* functions that say "takes" take ownership of their arrays on
 * every path. */
#ifndef TP_CONSOLE_APP_H
#define TP_CONSOLE_APP_H

#include <stddef.h>

#include "console/keymap.h"
#include "console/picker.h"
#include "console/preview.h"
#include "engine/engine.h"
#include "engine/jobcfg.h"
#include "engine/journal.h"
#include "engine/regcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The screens (APP_JOBS, APP_ITEMS, APP_PICK, APP_SETUP, APP_PREVIEW,
 * APP_RUN): one line each in console/screens/screens.def, one file each in
 * console/screens/. */
typedef enum {
#define SCREEN(id, ops) APP_##id,
#include "console/screens/screens.def"
#undef SCREEN
    APP_N_SCREENS
} app_screen;

/* Reactions to an action: what the main loop must do next. */
enum {
    RX_NONE = 0,
    RX_DIRTY = 1 << 0,         /* the state changed: rebuild the view */
    RX_QUIT = 1 << 1,          /* leave (after stopping a running job) */
    RX_LOAD_JOBS = 1 << 2,     /* re-read the job list */
    RX_LOAD_ITEMS = 1 << 3,    /* read items.want_off.. of items.job_id */
    RX_LOAD_DIR = 1 << 4,      /* list pick.dir and probe its files */
    RX_START_PREVIEW = 1 << 5, /* validate file.path with cfg */
    RX_START_JOB = 1 << 6,     /* start the engine on file.path with cfg */
    RX_CANCEL_JOB = 1 << 7,    /* eng_cancel: the operator's cancel */
    RX_EXPORT = 1 << 8,        /* write items.job_id's report */
    RX_DETECT = 1 << 9,        /* detect file.path's kind (src_detect) */
    RX_START_CHECK = 1 << 10,  /* the registry check of the preview's rows */
    RX_STOP_CHECK = 1 << 11,
    RX_RETARGET = 1 << 12,   /* resolve `where` into a new target */
    RX_PAUSE_JOB = 1 << 13,  /* eng_pause: pause, quit, Ctrl-C (resumable) */
    RX_LOAD_AUDIT = 1 << 14, /* the audit lines of items.detail_idx */
};

typedef enum {
    DLG_NONE,
    DLG_SKIP_INVALID,    /* start, leaving the invalid items out? */
    DLG_QUIT_RUNNING,    /* quit while a job runs? */
    DLG_CANCEL_RUN,      /* cancel the run? */
    DLG_REGISTRY_ERRORS, /* start though the registry says items will fail? */
} app_dialog;

typedef enum {
    IN_NONE,
    IN_SEARCH, /* '/' on a list */
    IN_FIELD,  /* a setup form field */
} app_input_kind;

/* The setup form's fields, top to bottom. */
typedef enum {
    FLD_POLICIES,
    FLD_GROUPS,
    FLD_TYPE,
    FLD_CERT_ACTIVE,
    FLD_DEFERRED,
    FLD_SKIP_INVALID,
    FLD_SOURCE,   /* the file kind's own: Infineon bundle, Microchip signers
                     folder; hidden for the other kinds */
    FLD_ENDPOINT, /* "local", "aws" or a URL */
    FLD_PROFILE,
    FLD_REGION,
    FLD_COUNT
} app_field;

/* A scrolling list: selected row and first visible row. */
typedef struct app_list {
    size_t sel;
    size_t top;
} app_list;

/* Where jobs go: shown on every screen that can send anything. */
typedef struct app_target {
    int local;           /* the embedded local endpoint */
    char endpoint[512];  /* URL */
    char account[32];    /* "" = learned at the pre-flight */
    char describe[512];  /* one line: "local endpoint (no AWS account
                            configured), state in ..." / "AWS profile p,
                            region r, credentials from ..." */
    char registry[1200]; /* the journal's endpoint key prefix (resume) */
    char region[64];     /* resolved ("" = unknown) */
} app_target;

/* Where jobs should go, as asked (the Endpoint / Profile / Region fields). */
typedef struct app_where {
    int local;          /* the embedded local endpoint */
    char endpoint[512]; /* URL; "" = AWS's endpoint of the region */
    char profile[128];  /* "" = the default chain */
    char region[64];    /* "" = from the profile */
} app_where;

#define APP_EVENTS 64

typedef struct app {
    int h, w;   /* terminal size */
    int utf8;   /* UTF-8 glyphs ("…", "█") or ASCII */
    double now; /* seconds, monotonic, set by the main loop each tick */

    app_screen screen;
    int help; /* the help page is up */
    size_t help_top;
    app_dialog dialog;
    int dialog_yes; /* the highlighted button: 1 yes, 0 no (the default) */
    struct {
        app_input_kind kind;
        app_field field;
        char text[512];
    } input;
    char search[256];
    char msg[512]; /* status line */
    int msg_error;

    app_target target;
    app_where where;    /* as asked; the target follows once resolved */
    app_where where_ok; /* what the target was resolved from */
    int can_retarget;   /* the fields can change it (console.h retarget) */
    int retargeting;    /* RX_RETARGET asked, app_retargeted not yet called */
    char **locked;      /* the station profile's locked keys, normalised */
    size_t n_locked;
    char locked_by[512]; /* its file */
    char *state_dir;
    char *samples_dir; /* NULL when not found */
    jobcfg defaults;   /* configuration file + command line */
    int sample_names;  /* prefill the sample policy/group/type (local, no config) */
    jobcfg cfg;        /* the job being set up */

    struct {
        char *path; /* NULL: none chosen */
        vendor kind;
        int phase;       /* 1, 2, or 0 while unknown */
        long long count; /* -1 unknown */
        char error[300]; /* why its kind could not be told ("" none) */
    } file;

    struct {
        jnl_job *v;
        size_t n;
        app_list l;
        int loaded;
        char error[512]; /* the journal could not be read ("" when fine) */
    } jobs;

    struct {
        long long job_id;
        jnl_job job;
        int have_job;
        int filter;  /* JNL_FILTER_ALL or JNL_FILTER_PROBLEMS */
        jnl_item *v; /* rows off .. off+n-1 of the filtered list */
        size_t n, off;
        size_t want_off; /* the page RX_LOAD_ITEMS should read */
        app_list l;
        char report[1024]; /* exported report path */
        /* the selected item's detail (Enter or Tab): its full reason, ARNs,
         * attempts and audit lines (read by RX_LOAD_AUDIT) */
        int detail;
        size_t detail_idx; /* the item's index in the file */
        size_t detail_top; /* first line shown */
        char *audit;       /* its audit lines, owned; NULL until read */
        size_t audit_n;    /* lines found in all */
        char audit_error[300];
    } items;

    struct {
        char *dir;
        pk_entry *v;
        size_t n;
        app_list l;
        app_screen back;  /* where Esc goes */
        char select[256]; /* the entry to select once listed */
        char error[512];
    } pick;

    struct {
        app_field field;
    } setup;

    struct {
        pv_row *v;
        size_t n, cap;
        size_t *problems; /* indices into v of rows with a warning or error */
        size_t n_problems, cap_problems;
        pv_status st;
        int started;
        int problems_only;
        int focus_detail; /* Tab: the detail pane has the keys */
        size_t detail_top;
        app_list l;
        /* the read-only registry check */
        int rc_on;       /* started: the rows carry results */
        int rc_finished; /* every row checked, or stopped */
        size_t rc_checked, rc_total;
        size_t rc_absent, rc_error, rc_inactive, rc_active, rc_other;
        size_t rc_bad;      /* items the registry makes errors (rc_verdict) */
        char rc_first[300]; /* the first of them, for the start dialog */
    } pv;

    struct {
        int active;           /* an engine exists (running or finished, not freed) */
        int stopping;         /* cancel asked, not stopped yet */
        int paused;           /* stopped by pause: F5 resumes */
        int cancelled;        /* stopped by cancel */
        int resume_cancelled; /* this start goes on with a cancelled job (F5 on
                                 it): eng_opts.resume_cancelled */
        eng_snapshot s;
        int have;
        unsigned long long op_throttles[ENG_MAX_OPS];
        double op_throttled_at[ENG_MAX_OPS]; /* now of the last new throttle */
        eng_event ev[APP_EVENTS];            /* latest item errors, a ring */
        size_t n_ev, ev_next;
        unsigned long long n_ev_total;
        char file[1024];
    } run;
} app;

/* Sets up an empty app: Jobs screen, nothing loaded. defaults, t and w are
 * copied; w NULL = not known (the target's fields cannot be changed). */
/* The station profile's locked fields (keys as in station.toml), copied. */
void app_set_locked(app *a, const char *const *keys, size_t n, const char *by);
/* Whether the form's field f is locked by the station profile. */
int app_field_locked(const app *a, app_field f);

void app_init(app *a, const jobcfg *defaults, const app_target *t, const char *state_dir,
              const char *samples_dir, const char *start_dir);
void app_set_where(app *a, const app_where *w, int can_retarget);
void app_free(app *a);

/* The keymap context for the current state (dialog, help, text or screen). */
km_ctx app_keyctx(const app *a);

/* Applies one action; returns RX_* flags. */
int app_do(app *a, act x);

/* Terminal size changed (also the first call). */
int app_resize(app *a, int h, int w);

/* Status line. */
void app_message(app *a, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- layout, shared with the view models ---- */

/* Visible rows of the current screen's list (>= 1). */
size_t app_page_rows(const app *a, app_screen s);
/* Rows of the preview's detail pane (0 when hidden; console/screens/preview.c). */
int app_detail_rows(const app *a);

/* ---- data fed back by the main loop ---- */

/* The job list (takes v; NULL/0 with error set when the journal could not be
 * read; error NULL otherwise). */
int app_set_jobs(app *a, jnl_job *v, size_t n, const char *error);
/* A page of items of items.job_id (takes v). job may be NULL (unchanged). */
int app_set_items(app *a, const jnl_job *job, jnl_item *v, size_t n, size_t off);
/* A folder listing (takes v; NULL with error set when it could not be read). */
int app_set_dir(app *a, const char *dir, pk_entry *v, size_t n, const char *error);
/* Results of the prober. */
int app_probed(app *a, const pk_result *r, size_t n);
/* A file to set up a job for (from the picker, the command line or a job to
 * resume); kind VENDOR_AUTO = unknown yet (then RX_DETECT). Resets the form
 * to the defaults. Opens the setup screen. */
int app_choose_file(app *a, const char *path, vendor kind, long long count);
/* The detected kind of file.path. */
int app_set_file_kind(app *a, vendor kind, const char *error);
/* Preview rows (takes v) and counts. */
int app_preview_add(app *a, pv_row *v, size_t n);
int app_preview_status(app *a, const pv_status *st);
/* The engine: started (ok) or refused (error); then its snapshots and item
 * errors each tick; stopped = freed. */
int app_run_started(app *a, int ok, const char *error);
int app_run_update(app *a, const eng_snapshot *s, const eng_event *ev, size_t n);
int app_run_freed(app *a);
/* Registry check results and progress (rows matched by item index). */
int app_check_results(app *a, const rc_result *r, size_t n);
/* The audit lines of an item (RX_LOAD_AUDIT's answer; text taken over). */
int app_item_audit(app *a, long long job_id, size_t idx, char *text, size_t n,
                   const char *error);
/* Rebuilds the preview's problem rows (the registry's verdicts included). */
void app_pv_problems(app *a);
int app_check_status(app *a, size_t checked, size_t total, int finished);

/* The target asked by RX_RETARGET: resolved (t) or not (error; the previous
 * target stays). */
int app_retargeted(app *a, const app_target *t, const char *error);

/* The report was written (path) or not (error). */
int app_exported(app *a, const char *path, const char *error);

/* 1 when a finished or stopped engine state. */
int app_run_finished(const app *a);

#ifdef __cplusplus
}
#endif
#endif
