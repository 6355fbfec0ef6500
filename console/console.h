/* console - the full-screen operator console (`thingpress console`,
 * DESIGN.md §1, §3): jobs, file picker, job setup, validation preview, the
 * running job, and the review of its items.
 *
 * Design: keymap -> actions -> view models -> screen (keymap.h, app.h,
 * vm.h, screen.h). con_run() is the main loop of the one UI thread: every
 * ~100 ms it copies the engine's snapshot and drains its events, takes the
 * preview's and the file prober's results, rebuilds the view model and
 * redraws only when it changed (at most ~10 times a second, at once after a
 * key). Each key becomes an action; the action's reaction flags say what to
 * do outside the state (read the journal, list a folder, start the preview
 * or the engine, cancel it), which this loop does. The engine, the preview
 * scan and the file prober run on their own threads, started with every
 * signal blocked, so SIGWINCH and SIGINT reach the UI thread. Quitting (or
 * SIGINT / SIGTERM / SIGHUP) during a run cancels the engine and waits for
 * the calls in flight: the job stays resumable in the journal.
 *
 * The caller (cli/cmd_console.c) decides where jobs go — the embedded local
 * endpoint or an AWS account — and passes the result here; the console never
 * resolves credentials and never starts a server.
 *
 * Threading: call from the main thread, once at a time; it owns the
 * terminal until it returns. Ownership: con_opts is borrowed for the call. */
#ifndef TP_CONSOLE_CONSOLE_H
#define TP_CONSOLE_CONSOLE_H

#include "base/err.h"
#include "engine/jobcfg.h"
#include "engine/keeper.h"
#include "iot/target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where jobs go, as the operator asks for it: the embedded local endpoint,
 * or an AWS account (profile, region, and an endpoint URL or AWS's own). */
typedef struct con_where {
    int local;
    const char *endpoint; /* URL; NULL or "" = AWS's endpoint of the region */
    const char *profile;  /* NULL or "" = the default chain */
    const char *region;   /* NULL or "" = from the profile */
} con_where;

/* What a con_where resolved to (engine.h eng_opts). */
struct iot_trace;

typedef struct con_target {
    int local;                 /* the embedded local endpoint */
    const iot_target *target;  /* endpoint, region, credentials; its account is
                                  the known account id, or NULL (the engine
                                  learns it); ignored for the local endpoint */
    const char *shown_account; /* the account to show before the pre-flight, or NULL */
    const char *registry;      /* eng_opts.registry (the local endpoint's) or NULL */
    const char *describe;      /* one line for the screens, no secret: where and why */
    /* eng_opts.refresh: new credentials while a job runs; NULL = none. The
     * context stays valid as long as the console runs. */
    keeper_refresh_fn refresh;
    void *refresh_ctx;
    long max_outage_ms; /* eng_opts.max_outage_ms */
    /* eng_opts.trace and the registry check's (--verbose); NULL = none. */
    void (*trace)(void *ctx, const struct iot_trace *t);
    void *trace_ctx;
} con_target;

/* Resolves `want` (credentials, the local endpoint) and fills *out with
 * pointers valid until the next call. Returns 0, or -1 with e set (one line,
 * no secret); on failure the previous target stays valid. Called on a thread
 * of its own (the UI never waits on it), never while a job or a registry
 * check of this console is running, and never twice at a time. */
typedef int (*con_retarget_fn)(void *ctx, const con_where *want, con_target *out, err *e);

typedef struct con_opts {
    const char *file;        /* open the setup for this file first; NULL = Jobs */
    const jobcfg *defaults;  /* configuration file + command-line job options */
    const char *state_dir;   /* journal, reports */
    const char *samples_dir; /* the bundled sample files; NULL = not found */
    const char *start_dir;   /* the file picker's first folder; NULL = "." */
    int color;               /* 1: colors when the terminal has them (NO_COLOR wins) */
    int workers;             /* 0 = the engine's default */

    con_where where;   /* what the command line asked for */
    con_target target; /* what it resolved to (copied by con_run) */
    /* The setup form's Endpoint / Profile / Region fields call this; NULL =
     * they cannot be changed in the console. */
    con_retarget_fn retarget;
    void *retarget_ctx;
    /* The station profile's locked fields (keys as in station.toml:
     * "endpoint", "policies", ...) and its file, shown as the reason. */
    const char *const *locked;
    size_t n_locked;
    const char *locked_by;
} con_opts;

/* Runs the console until the operator quits. Returns 0, or -1 with e set
 * when the terminal could not be used. */
int con_run(const con_opts *o, err *e);

/* The curses library the console runs with ("ncurses 6.4.20221231"; static
 * string), for `thingpress --version`. Any thread. */
const char *con_curses_version(void);

#ifdef __cplusplus
}
#endif
#endif
