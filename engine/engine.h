/* engine - run one provisioning job: validate, pre-flight, then every item's
 * AWS IoT calls on a pool of workers, at the account's quota, exactly once.
 *
 * Design (DESIGN.md §3, §6, §7):
 *   1. Pass 1 reads and validates the whole file (scan.h); a file with
 *      invalid items stops here unless the job skips them. Nothing is sent.
 *   2. Pre-flight: every policy, thing group and thing type the job names
 *      must exist; the account id is learned from a returned ARN, so
 *      certificate ARNs are built, never described per item.
 *   3. The job is found or created in the journal (same file content + same
 *      configuration = the same job: it resumes).
 *   4. Pass 2 streams the file again into a bounded work queue; N workers
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
#include "engine/rate.h"
#include "iot/target.h"

#ifdef __cplusplus
extern "C" {
#endif

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
    int workers;      /* 0 = default (32) */
    int dry_run;      /* validate + pre-flight only */
    int max_attempts; /* per call, for 5xx/transport errors; 0 = 10 */
} eng_opts;

typedef enum {
    ENG_VALIDATING,
    ENG_PREFLIGHT,
    ENG_RUNNING,
    ENG_DONE,      /* every item done (skipped ones aside) */
    ENG_FAILED,    /* finished, some items failed */
    ENG_CANCELLED, /* stopped by eng_cancel: resumable */
    ENG_REJECTED,  /* the file, the configuration or the pre-flight refused it;
                      nothing was sent */
    ENG_ERROR,     /* could not run (journal, endpoint): see message */
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
    size_t total;   /* items in the file */
    size_t invalid; /* items that failed validation */
    size_t done;    /* finished ok (this run and earlier runs) */
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
    char message[512]; /* rejection / error reason, or the last item error */
    char report[1024]; /* report CSV path once written */
} eng_snapshot;

typedef struct eng eng;

int eng_start(eng **out, const eng_opts *opts, err *e);
void eng_snapshot_get(eng *g, eng_snapshot *out);
void eng_cancel(eng *g);
/* Waits for the job to end; returns its final state. */
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
