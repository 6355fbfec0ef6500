/* provctx - what the commands that run jobs share (`provision`, `watch`):
 * their options beyond the job options (endpoint, credentials, state,
 * workers, starting rates), and the connection those options resolve to:
 * the AWS configuration, or the embedded local endpoint when there is none
 * (or --local), whose server then lives as long as the provctx.
 *
 * Call order: provctx_init; provctx_preload (a --config file first, so the
 * command line wins); provctx_option on each argument the command does not
 * know itself; provctx_connect once; then provctx_eng_opts per job (with
 * provctx_refresh before each job of a long-running command, so expiring
 * credentials are renewed); provctx_free.
 *
 * Errors are printed (cli_error, one line) by these functions; they return
 * 0 / -1 (and 1 / 0 / -1 for provctx_option).
 *
 * Threading: main thread (creds_resolve reads the environment).
 * Ownership: the provctx owns the configuration, the credentials and the
 * local endpoint; option values point into argv. eng_opts filled by
 * provctx_eng_opts borrow from the provctx (valid until the next
 * provctx_refresh or provctx_free). */
#ifndef TP_CLI_PROVCTX_H
#define TP_CLI_PROVCTX_H

#include "engine/engine.h"
#include "cli/station.h"
#include "engine/jobcfg.h"
#include "iot/creds.h"
#include "sim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct provctx {
    jobcfg cfg;
    /* options (borrowed from argv), NULL when not given */
    const char *endpoint, *region, *profile, *ca_bundle, *account, *state;
    int local;
    int allow_http; /* --allow-http: plain http:// to a host not loopback */
    int verbose;    /* --verbose: a trace line per call on stderr */
    int workers;
    long max_outage_ms; /* --max-outage; 0 = the engine's default, -1 = none */
    /* resolved by provctx_connect */
    char state_dir[1024];
    creds cr;
    sim *sm;
    char registry[1200]; /* "local endpoint DB" for the embedded one, else "" */
    char *owned[3];      /* endpoint, profile, region set by provctx_retarget */
    station st;          /* the station profile (station.h), the first layer */
} provctx;

void provctx_init(provctx *p);
void provctx_free(provctx *p);

/* Loads the file of a --config option in argv, if any. */
int provctx_preload(provctx *p, int argc, char **argv);
/* If argv[*i] is a job option or one of provctx_help's, consumes it (and its
 * value), advancing *i, and returns 1; 0 if it is not one; -1 on a bad value. */
int provctx_option(provctx *p, int argc, char **argv, int *i);
/* Checks the configuration, settles the state directory, and resolves the
 * AWS configuration or starts the embedded local endpoint. */
int provctx_connect(provctx *p);
/* Points a connected provctx elsewhere: the embedded local endpoint (local;
 * started if it is not running), or the AWS configuration of profile and
 * region (NULL or "" = the defaults) at endpoint (NULL or "" = AWS's). Prints
 * nothing. Returns 0, or -1 with e set and p unchanged. Nothing may use the
 * previous eng_opts / credentials afterwards. */
int provctx_retarget(provctx *p, int local, const char *endpoint, const char *profile,
                     const char *region, err *e);
/* Resolves the credentials again if they expire within 15 minutes. */
int provctx_refresh(provctx *p);
/* The engine options of a job on `file` (dry_run 0); with --verbose, a
 * trace that prints one line per call on stderr (provctx_trace). */
void provctx_eng_opts(const provctx *p, eng_opts *out, const char *file);

/* --verbose's trace (iot/client.h iot_trace_fn; ctx unused): "trace: " and
 * iot_trace_format's line on stderr, one write per line, from any thread. */
void provctx_trace(void *ctx, const struct iot_trace *t);
/* The embedded local endpoint's database of the state directory state (NULL
 * = the default, as --state is settled: jnl_state_dir), its directory
 * created: the file `provision`, `watch` and the console serve when no AWS
 * account is configured. Returns 0, or -1 with e set. */
int provctx_local_db(char *out, size_t n, const char *state, err *e);

/* "90s", "15m", "2h", "500ms", "30" (seconds) in ms; -1 when unreadable. */
long provctx_parse_duration_ms(const char *v);

/* Help lines of the options provctx_option takes besides the job options. */
extern const char provctx_help[];

#ifdef __cplusplus
}
#endif
#endif
