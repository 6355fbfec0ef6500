/* screens - the console's screens as units: one file each in console/screens/
 * (jobs, review, picker, setup, preview, run, help), each one const table of
 * operations (tig's struct view_ops; ncdu's browser.c and help.c).
 *
 * Design: a screen is what app.c, vm.c and keymap.c used to switch on: its
 * own keys (tried before the generic ones), its actions, its list, its rows,
 * its title, status hint, function-key bar and help text. The layers stay:
 * a screen's act() is pure like app_do() (state and action in, RX_* flags
 * out, no I/O, no drawing) and its build() only fills view model rows. What
 * every screen shares stays where it was and is lent to them here: app.c
 * dispatches and keeps navigation, lists, search, the text field, dialogs
 * and the data fed back; vm.c keeps the frame (title bar, status line, key
 * bar, dialog box) and the widgets rows are built from (lines of cells, the
 * target line).
 *
 * The screens are listed once, in screens.def (adding one: see there); the
 * help page (screen_help) is one more unit, shown over whichever screen is
 * up while app.help is set. This header is console/'s own: tests reach the
 * screens through app.h, vm.h and keymap.h.
 *
 * Threading: UI thread, like app and vm. Ownership: the tables are constant;
 * an op borrows the app and the vm it is given for the call only. */
#ifndef TP_CONSOLE_SCREENS_H
#define TP_CONSOLE_SCREENS_H

#include <stddef.h>

#include "base/buf.h"
#include "console/app.h"
#include "console/keymap.h"
#include "console/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An entry of a function-key bar: the key shown, the action it does there
 * (console_test checks the screen's keys map the key to it), its label. */
typedef struct screen_bar {
    int key;
    act_type act;
    const char *label; /* NULL ends a bar */
} screen_bar;

/* A line of the help page: what an action does on this screen, in the
 * screen's words (the keys are looked up in its keymap). */
typedef struct screen_help_line {
    act_type act;
    const char *text; /* NULL ends the list */
} screen_help_line;

/* A screen. The optional slots may be NULL. */
typedef struct screen_ops {
    /* ---- its view (vm.c) ---- */
    const char *title; /* in the title bar: "Jobs" */
    /* rows 1 .. h-3 of v (the frame fills row 0 and the last two) */
    void (*build)(vm *v, const app *a);
    /* the status line when there is no message (buf: room for a built one) */
    const char *(*hint)(const app *a, char *buf, size_t n);
    /* the function-key bar; bar_shows (optional) hides the entries the
     * state does not allow */
    const screen_bar *bar;
    int (*bar_shows)(const app *a, act_type act);

    /* ---- its keys and actions (keymap.c, app.c) ---- */
    const km_binding *keys; /* its own, tried first (KM_NONE ends them) */
    int own_keys_only;      /* 1: no generic table after them */
    /* one action: RX_* flags; RX_NONE leaves it to what every screen does
     * (help, quit, jobs, open, search, list moves: app_do) */
    int (*act)(app *a, act x);

    /* ---- its list, for the generic moves and search (optional) ---- */
    app_list *(*list)(app *a, size_t *n); /* the list; *n its length */
    long (*page_rows)(const app *a);      /* its visible rows (default h - 4) */
    /* the searchable text of row i into out; 0 when row i is not loaded */
    int (*row_text)(app *a, size_t i, char *out, size_t n);
    /* the selection moved (a list key, or a search found a row): RX_* */
    int (*moved)(app *a);

    /* ---- its text fields (optional): app.input.field, IN_FIELD ---- */
    const char *(*field_prompt)(const app *a); /* the status line's label */
    int (*field_commit)(app *a, char *text);   /* Enter in it: RX_* */

    /* ---- its help page (help.c) ---- */
    void (*about)(buf *out);      /* a paragraph: what it is for */
    const screen_help_line *help; /* what its keys do */
} screen_ops;

#define SCREEN(id, ops) extern const screen_ops ops;
#include "console/screens/screens.def"
#undef SCREEN
extern const screen_ops screen_help;

/* ---- dispatch (app.c) ---- */

/* The screen s (never NULL for s < APP_N_SCREENS). */
const screen_ops *screen_get(app_screen s);
/* What has the keys and the body now: the help page while it is up, else
 * a->screen. */
const screen_ops *screen_of(const app *a);
/* The screen of a keymap context (KMC_HELP: the help page); NULL for the
 * text field's and the dialog's. */
const screen_ops *screen_of_ctx(km_ctx ctx);

/* ---- what the screens share: state and navigation (app.c) ---- */

int app_run_busy(const app *a); /* an engine exists and has not finished */
/* Keeps l's selection within n rows and visible in a page of page rows. */
void app_list_fix(app_list *l, size_t n, size_t page);
size_t app_items_count(const app *a); /* rows of the open job (filtered) */
size_t app_pv_count(const app *a);    /* rows of the preview (filtered) */
void app_pv_clear(app *a);            /* forgets the preview */
int app_go_jobs(app *a);
int app_go_pick(app *a);
/* Opens job j's items (filter: JNL_FILTER_*), reloading unless the same. */
int app_open_items(app *a, const jnl_job *j, int filter);
/* Starts the engine on file.path with cfg (RX_START_JOB), unless busy. */
int app_start_job(app *a);
/* Resumes (or retries the failed items of) a job of the journal. */
int app_resume_job(app *a, const jnl_job *j);

/* ---- what the screens share: rows (vm.c) ----
 * A line is composed cell by cell into a buf; each cell may carry a role
 * (recorded as a span; role < 0: none); the end pads it to the full width
 * and stores it as row y. */

typedef struct vm_line {
    vm *v;
    int y;
    buf b;
    int col;
    int utf8;
} vm_line;

vm_line vm_line_start(vm *v, int y, vm_role role, int utf8);
/* Appends s in exactly width columns (the rest of the line when width < 0). */
void vm_cell(vm_line *l, const char *s, int width, int align, int role);
/* Appends s at its natural width (cut at the end of the line). */
void vm_text(vm_line *l, const char *s, int role);
void vm_textf(vm_line *l, int role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends a path at its natural width, or cut at the start to fit max. */
void vm_path_text(vm_line *l, const char *path, int max, int role);
void vm_line_end(vm_line *l);

/* A whole row of one role. */
void vm_text_row(vm *v, int y, vm_role role, int utf8, const char *s);
void vm_text_rowf(vm *v, int y, vm_role role, int utf8, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void vm_blank(vm *v, int y, int utf8);
/* "<label>local endpoint URL · account N": where jobs go. */
void vm_target_line(vm *v, const app *a, int y, const char *label);

/* Wraps s into lines of at most width columns (at spaces); returns the
 * count, lines owned by the caller (vm_free_lines). */
size_t vm_wrap(const char *s, int width, char ***out);
void vm_free_lines(char **v, size_t n);

/* The finished part of a run (0 .. 1). */
double vm_run_fraction(const eng_snapshot *s);
/* A job's status word and its role ("running" when this console runs it). */
const char *vm_job_status(const app *a, const jnl_job *j, vm_role *role);

#ifdef __cplusplus
}
#endif
#endif
