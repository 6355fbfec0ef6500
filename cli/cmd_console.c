/* thingpress console [FILE]: the full-screen operator console (DESIGN.md §1,
 * §4). This file only decides where jobs go and hands over to console/:
 * with an AWS configuration, the resolved credentials; without one (or with
 * --local), the embedded local endpoint, started in this process with its
 * state in the state directory and the samples' policy, group and thing type
 * created, so a newcomer can run both phases on the bundled samples. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/jobopts.h"
#include "cli/provctx.h"
#include "console/console.h"
#include "sim/sim.h"

static const char help[] =
    "usage: thingpress console [FILE] [options]\n"
    "\n"
    "The full-screen operator console: jobs, file picker, job setup, validation\n"
    "preview, live progress, review and retry. `thingpress` alone on a terminal\n"
    "opens it. With no AWS configuration (or --local) jobs go to the embedded local\n"
    "endpoint (state in the state directory), with the samples' policy, group and\n"
    "thing type created, so the bundled samples run end to end without an account.\n"
    "\n"
    "Colors follow the terminal; NO_COLOR=1 turns them off.\n"
    "\n"
    "  FILE                  open the job setup for this file\n"
    "  --samples DIR         the sample files (default: THINGPRESS_SAMPLES, or "
    "testdata/\n"
    "                        of the source tree)\n";

static int is_samples(const char *dir)
{
    char probe[PATH_MAX];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/espressif", dir);
    return stat(probe, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Looks for testdata/ in dir and its parents. */
static int find_up(char *out, size_t n, const char *start)
{
    char dir[PATH_MAX];
    if (!realpath(start, dir))
        return -1;
    for (;;) {
        char cand[PATH_MAX + 16];
        snprintf(cand, sizeof cand, "%s/testdata", dir);
        if (is_samples(cand)) {
            snprintf(out, n, "%s", cand);
            return 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            return -1;
        *slash = '\0';
    }
}

/* The bundled samples: --samples, THINGPRESS_SAMPLES, testdata/ above the
 * current folder, or above the binary (bazel-bin/... in the source tree). */
static void samples_dir_of(char *out, size_t n, const char *given)
{
    const char *env = getenv("THINGPRESS_SAMPLES");
    out[0] = '\0';
    if (given && *given) {
        snprintf(out, n, "%s", given);
        return;
    }
    if (env && *env && is_samples(env)) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (find_up(out, n, ".") == 0)
        return;
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if (find_up(out, n, exe) == 0)
            return;
    }
    out[0] = '\0';
}

/* One line for the screens: where jobs go and why (no secret). */
static void describe_of(const provctx *p, char *out, size_t n)
{
    if (p->local) {
        snprintf(out, n, "no AWS account in use; state: %s/local-endpoint.db",
                 p->state_dir);
        return;
    }
    char masked[32];
    creds_mask_key(masked, sizeof masked, p->cr.target.access_key);
    snprintf(out, n, "AWS: profile %s, region %s (%s); credentials %s from %s",
             p->cr.profile ? p->cr.profile : "-", p->cr.target.region,
             p->cr.region_source ? p->cr.region_source : "?", masked,
             p->cr.creds_source ? p->cr.creds_source : "?");
}

typedef struct console_ctx {
    provctx *p;
    char describe[1400];
} console_ctx;

static void target_of(console_ctx *c, con_target *t)
{
    provctx *p = c->p;
    eng_opts eo;
    provctx_eng_opts(p, &eo, NULL);
    describe_of(p, c->describe, sizeof c->describe);
    memset(t, 0, sizeof *t);
    t->local = p->local;
    t->target = eo.target;
    /* the embedded endpoint's account is fixed (sim_opts.account) */
    t->shown_account = p->local ? "123456789012" : eo.target->account;
    t->registry = eo.registry;
    t->describe = c->describe;
    t->refresh = eo.refresh;
    t->refresh_ctx = eo.refresh_ctx;
    t->max_outage_ms = eo.max_outage_ms;
    t->trace = eo.trace;
    t->trace_ctx = eo.trace_ctx;
}

/* console.h con_retarget_fn: the setup form's Endpoint / Profile / Region. */
static int retarget(void *ctx, const con_where *w, con_target *out, err *e)
{
    console_ctx *c = ctx;
    if (provctx_retarget(c->p, w->local, w->endpoint, w->profile, w->region, e))
        return -1;
    if (c->p->local && sim_seed_samples(c->p->sm, e))
        return -1;
    target_of(c, out);
    /* the console's settings persist in the station profile (the user's
     * file); a station that cannot be written keeps working */
    err se;
    err_clear(&se);
    station_save_where(w->local ? "local" : w->endpoint, w->profile, w->region, &se);
    return 0;
}

int cmd_console(int argc, char **argv)
{
    provctx p;
    provctx_init(&p);
    const char *path = NULL, *samples = NULL;
    int rc = EXIT_REJECTED;
    err e;
    err_clear(&e);
    char msg[800];

    if (provctx_preload(&p, argc, argv))
        goto out;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            fputs(provctx_help, stdout);
            fputs(jobopts_help, stdout);
            rc = EXIT_GOOD;
            goto out;
        }
        if (!strncmp(a, "--samples", 9) && (a[9] == '\0' || a[9] == '=')) {
            samples = a[9] ? a + 10 : i + 1 < argc ? argv[++i] : NULL;
            if (!samples) {
                cli_error("--samples needs a value");
                goto out;
            }
            continue;
        }
        int t = provctx_option(&p, argc, argv, &i);
        if (t < 0)
            goto out;
        if (t > 0)
            continue;
        if (a[0] == '-' && a[1]) {
            cli_error("console: unknown option '%s' (try 'thingpress console --help')",
                      a);
            goto out;
        }
        if (path) {
            cli_error("console: one FILE only ('%s' and '%s')", path, a);
            goto out;
        }
        path = a;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        cli_error("console: needs a terminal (for scripts use 'thingpress validate' and "
                  "'thingpress provision')");
        goto out;
    }
    if (p.verbose && isatty(STDERR_FILENO)) {
        cli_error("console: --verbose writes to stderr, which is the console's terminal: "
                  "redirect it (2>FILE)");
        goto out;
    }
    char samples_dir[PATH_MAX], cwd[PATH_MAX];
    samples_dir_of(samples_dir, sizeof samples_dir, samples);
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");

    /* the local endpoint's server threads must leave SIGWINCH and SIGINT to
     * the console's UI thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int crc = provctx_connect(&p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (crc)
        goto out;
    if (p.local && sim_seed_samples(p.sm, &e)) {
        cli_error("local endpoint: %s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    console_ctx cc = {.p = &p};
    con_opts o = {
        .file = path,
        .defaults = &p.cfg,
        .state_dir = p.state_dir,
        .samples_dir = samples_dir[0] ? samples_dir : NULL,
        .start_dir = cwd,
        .color = 1,
        .workers = p.workers,
        .where = {.local = p.local,
                  .endpoint = p.endpoint,
                  .profile = p.profile,
                  .region = p.region},
        .retarget = retarget,
        .retarget_ctx = &cc,
        .locked = (const char *const *)p.st.locked,
        .n_locked = p.st.n_locked,
        .locked_by = p.st.path,
    };
    target_of(&cc, &o.target);
    if (con_run(&o, &e)) {
        cli_error("console: %s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    rc = EXIT_GOOD;
out:
    provctx_free(&p);
    return rc;
}
