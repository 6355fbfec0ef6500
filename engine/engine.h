/* engine - run one provisioning job: validate, pre-flight, then every item's
 * AWS IoT calls on a pool of workers, at the account's quota, exactly once.
 *
 * Design (DESIGN.md §3, §6, §7):
 *   0. The input is copied once into the state directory and hashed while
 *      it is copied (inputsnap.h); every pass reads that copy, so what is
 *      hashed, validated and sent are the same bytes. A file that changes
 *      while it is copied, or before anything is sent, is refused
 *      (ENG_REJECTED, snapshot.input_changed). A dry run reads the file
 *      itself: it sends and records nothing.
 *   1. Pass 1 reads and validates the whole file (scan.h); a file with
 *      invalid items stops here unless the job skips them. Nothing is sent.
 *   2. Pre-flight: every policy, thing group and thing type the job names
 *      must exist; the account id is learned from a returned ARN, so
 *      certificate ARNs are built, never described per item.
 *   3. The job is found or created in the journal (same file content + same
 *      configuration = the same job: it resumes, from whatever path and
 *      directory; the journal records the file's absolute path, updated
 *      when the file has moved). Every item of the file is recorded in it,
 *      pending, before anything is sent (one transaction; on a resume only
 *      the items not yet recorded), so that the journal, `status`, the
 *      console's Jobs list and the report count the whole job from its
 *      start and after any stop.
 *   4. Pass 2 streams the copy again into a bounded work queue; N workers
 *      run each item's plan (Phase 1: register, attach policies, [thing,
 *      principal, groups]; Phase 2: activate, thing with type and
 *      attributes, principal, policies, groups), pacing every call through
 *      the operation's rate (rate.h; started from the pace earlier jobs
 *      learned, pace.h, unless the job's [rates] names it, and what it
 *      learns kept for the next job), retrying throttling, 5xx and transport
 *      errors with capped exponential backoff and full jitter (call.h: the
 *      one retry policy, also the pre-flight's), and resolving
 *      ambiguous outcomes by the idempotency rules (a repeated register is a
 *      409 for the same id = done; a repeated activation of an ACTIVE
 *      certificate, a repeated identical CreateThing and repeated attaches
 *      succeed), so re-doing a step converges.
 *   5. A journal thread records each completed step and each call in the
 *      audit log, in grouped transactions. After a crash the same command
 *      resumes at the first unrecorded step.
 *   6. Every run that held the job (done, failed, paused, cancelled, or
 *      stopped by an error once the job was in the journal) ends by writing
 *      the job's report of every item (journal.h: jnl_report), before its
 *      final state is published: snapshot.report names it.
 *
 * Threading: eng_start() returns at once; the job runs on its own threads.
 * eng_snapshot() and eng_events() may be called from any thread (the
 * console's UI thread polls them); eng_cancel() from any thread.
 * Ownership: eng_opts strings are copied; the jobcfg is copied. */
#ifndef TP_ENGINE_ENGINE_H
#define TP_ENGINE_ENGINE_H

#include <stddef.h>

#include "base/err.h"
#include "engine/jobcfg.h"
#include "engine/keeper.h"
#include "engine/rate.h"
#include "iot/target.h"

#ifdef __cplusplus
extern "C" {
#endif

struct iot_trace;

typedef struct eng_opts {
    const char *file;
    const jobcfg *cfg;
    /* Endpoint, region, credentials, CA bundle (copied by eng_start);
     * target->account is the known account id, or NULL: learned in the
     * pre-flight. */
    const iot_target *target;
    const char *state_dir;
    /* Which registry the job writes to, for job identity (resume); NULL =
     * the endpoint URL and account. The embedded local endpoint, whose port
     * changes every run, passes something stable such as its database. */
    const char *registry;
    int workers; /* 0 = default (32) */
    int dry_run; /* validate + pre-flight only */
    /* Go on with a job the operator cancelled (else it is refused: a
     * cancelled job is not resumed by running the same file again). */
    int resume_cancelled;
    int max_attempts; /* per call, for 5xx/transport errors; 0 = 10 */
    /* How long the job waits out an outage (systemic errors: sustained 5xx,
     * refused or timed-out connections, DNS, credentials refused and not
     * renewable) before it pauses with its items pending, in ms;
     * 0 = ENG_DEFAULT_MAX_OUTAGE_MS, < 0 = pause as soon as one begins. */
    long max_outage_ms;
    /* New credentials while the job runs (keeper.h): called ahead of their
     * expiration and when AWS refuses them, one call at a time, on a worker
     * thread. NULL: the credentials cannot be refreshed. */
    keeper_refresh_fn refresh;
    void *refresh_ctx;
    /* Told of every AWS IoT call of the job (iot/client.h iot_trace_fn: the
     * pre-flight's and the workers'), on their threads at once; NULL = none
     * (--verbose). The context must outlive the job. */
    void (*trace)(void *ctx, const struct iot_trace *t);
    void *trace_ctx;
    /* Tests only (NULL otherwise): called on the engine thread at fixed
     * points of a job, so that a test can change the input file between
     * them. Points: "copied" (the input is copied, not yet compared with
     * the file), "validated" (pass 1 done; nothing sent, no job in the
     * journal yet) and "sending" (the job is in the journal; pass 2 is
     * about to read the input). */
    void (*test_hook)(void *ctx, const char *point);
    void *test_hook_ctx;
} eng_opts;

enum { ENG_DEFAULT_MAX_OUTAGE_MS = 15 * 60 * 1000 };

typedef enum {
    ENG_VALIDATING,
    ENG_PREFLIGHT,
    ENG_RUNNING,
    ENG_DONE,      /* every item done (skipped ones aside) */
    ENG_FAILED,    /* finished, some items failed */
    ENG_CANCELLED, /* stopped by the operator's cancel (eng_cancel): resumed
                      only when asked explicitly (resume_cancelled) */
    ENG_REJECTED,  /* the file, the configuration or the pre-flight refused it;
                      nothing was sent */
    ENG_ERROR,     /* could not run (journal, endpoint): see message */
    ENG_PAUSED,    /* interrupted (eng_pause: quit, Ctrl-C, SIGTERM) or an
                      outage that lasted --max-outage: items pending; the
                      same command resumes it */
} eng_state;

const char *eng_state_name(eng_state s);

/* What each item step counts as, for progress. */
typedef enum {
    ENG_REGISTERED,
    ENG_ACTIVATED,
    ENG_THINGS,
    ENG_PRINCIPALS,
    ENG_POLICIES,
    ENG_GROUPS,
    ENG_N_COUNTS,
} eng_count;

#define ENG_MAX_OPS 8

typedef struct eng_snapshot {
    eng_state state;
    int phase;
    long long job_id;
    int resumed;
    int dry_run;
    int input_changed; /* rejected: the file changed while the job read it */
    size_t total;      /* items in the file */
    size_t invalid;    /* items that failed validation */
    size_t done;       /* finished ok (this run and earlier runs) */
    size_t failed;
    size_t skipped;
    size_t already; /* done before this run (resume) */
    size_t counts[ENG_N_COUNTS];
    unsigned long long calls, retries, throttles;
    double elapsed; /* seconds since the job started sending */
    double items_per_s;
    double eta;     /* seconds, -1 unknown */
    double ceiling; /* items/s the quota table allows, 0 = unlimited */
    size_t n_ops;
    rate_stats ops[ENG_MAX_OPS];
    char account[32];
    char endpoint[256];
    char batch_id[256];
    char message[512];      /* rejection / error reason, or the last item error */
    char report[1024];      /* report CSV path once written (every job that ran) */
    char report_error[400]; /* why it was not written, one line; "" */
    int cancelled_job;      /* ENG_REJECTED: its job was cancelled by the operator */
    /* An outage being waited out (DESIGN.md §6): nothing is sent but a
     * probe; the job goes on by itself when the service answers. */
    int waiting;
    char waiting_for[400];    /* the last systemic answer, one line */
    double outage_s;          /* how long this outage has lasted */
    double next_try_s;        /* until the next probe (0 = now) */
    double max_outage_s;      /* when the job pauses */
    unsigned outages;         /* outages waited out so far (this one included) */
    double outage_total_s;    /* time spent in outages */
    unsigned creds_refreshed; /* credentials renewed while running */
} eng_snapshot;

typedef struct eng eng;

int eng_start(eng **out, const eng_opts *opts, err *e);
void eng_snapshot_get(eng *g, eng_snapshot *out);
/* The operator's cancel: the calls in flight finish, the job ends
 * cancelled (ENG_CANCELLED, journal status cancelled). */
void eng_cancel(eng *g);
/* An interruption (quit, Ctrl-C, SIGTERM, closing the terminal): the same,
 * but the job ends paused and the same command resumes it. */
void eng_pause(eng *g);
/* Waits for the job to end; returns its final state (later calls return it
 * again). */
eng_state eng_wait(eng *g);
void eng_free(eng *g);

/* Item failures as they happen, oldest first; returns how many were copied
 * and removes them. */
typedef struct eng_event {
    size_t idx;
    char key[160];
    char text[384];
} eng_event;
size_t eng_events(eng *g, eng_event *out, size_t max);

/* The default starting rate of an operation (DESIGN.md §6), 0 if unknown. */
double eng_default_tps(const char *op);

#ifdef __cplusplus
}
#endif
#endif
