/* eng_impl - the inside of a job (struct eng), shared by the files of the
 * engine. Private to engine/: nothing outside includes it.
 *
 * Design: engine.c owns the job's life cycle (eng_start .. eng_free): it
 * fills the configuration, builds the plan, runs validation and the
 * pre-flight (preflight.c), opens the journal, starts the journal thread
 * (jwriter.c) and the workers (worker.c, which run each item's steps through
 * step.c and call.c), feeds the work queue (queue.c) and ends the job. The
 * other files read the configuration and write progress through the fields
 * below, as their comments say.
 *
 * Threading: configuration and derived fields are written by the engine
 * thread before the workers start and only read afterwards (plan, rates,
 * account, job_id, j; the plan under mu, since eng_snapshot_get reads it
 * from other threads). Counters are atomics any thread bumps; everything
 * under "progress" is guarded by mu. cancel is set by anyone and read by
 * everyone (the iot clients' cancel flag too). Progress that depends on the
 * journal (done, failed, counts) is counted by the journal thread once it is
 * recorded, never before.
 * Ownership: struct eng owns every pointer in it; eng_free frees them. */
#ifndef TP_ENGINE_ENG_IMPL_H
#define TP_ENGINE_ENG_IMPL_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/eng_impl.h is private to engine/ (engine/BUILD)"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "base/xalloc.h"
#include "engine/call.h"
#include "engine/engine.h"
#include "engine/inputsnap.h"
#include "engine/jobcfg.h"
#include "engine/journal.h"
#include "engine/plan.h"
#include "engine/queue.h"
#include "engine/rate.h"
#include "iot/op.h"
#include "iot/target.h"

enum { ENG_MAX_EVENTS = 256 };

struct eng {
    /* configuration (owned copies) */
    char *file, *state_dir, *registry; /* file: as the caller gave it */
    char *file_abs;                    /* realpath(file), NULL if it has none */
    iot_target target;                 /* endpoint, region (never NULL), credentials */
    jobcfg cfg;
    int n_workers, dry_run, max_attempts;
    /* Workers wait for their intent line's fdatasync before a call (unset
     * only by THINGPRESS_BENCH_NO_INTENT_SYNC, the benchmark's baseline). */
    int intent_sync;
    char account[32]; /* given, or learned by the pre-flight */
    void (*test_hook)(void *ctx, const char *point); /* eng_opts.test_hook */
    void *test_hook_ctx;
    void (*trace)(void *ctx, const struct iot_trace *t); /* eng_opts.trace */
    void *trace_ctx;

    /* derived */
    int phase;
    plan plan;                 /* under mu while it is built */
    rate *rates[IOT_OP_COUNT]; /* the operations of the step kinds; others NULL */
    unsigned char rate_given[IOT_OP_COUNT]; /* the job's [rates] named it */
    long long job_id;
    journal *j;
    inputsnap in; /* the copy the job reads (engine thread only) */
    int lock_fd;  /* joblock_take; -1 when not held */

    /* threads */
    pthread_t main_tid, journal_tid;
    int main_started; /* main_tid to join (eng_wait) */
    pthread_t *worker_tids;
    queue work_q, jnl_q;
    atomic_int cancel;
    atomic_int paused_said;     /* the pause's message is written once */
    atomic_int pause_requested; /* eng_pause: the job ends paused, not cancelled */
    int resume_cancelled;       /* eng_opts.resume_cancelled */
    atomic_int journal_failed;  /* eng_journal_failed: the job ends in error */
    call_breaker *breaker;      /* outages: systemic failures in a row, every worker */
    keeper *creds;              /* the credentials, refreshed while the job runs */
    unsigned pf_creds_gen;      /* the pre-flight client's (keeper.h) */

    /* progress */
    pthread_mutex_t mu; /* everything below but the atomics */
    eng_snapshot snap;
    double t_start;
    double t_end; /* when the job ended (its elapsed time stops there) */
    size_t done_this_run;
    eng_event events[ENG_MAX_EVENTS];
    size_t n_events;
    atomic_ullong calls, retries, throttles;
    atomic_size_t counts[ENG_N_COUNTS];
    atomic_size_t done, failed, skipped;
};

/* The snapshot's message (any thread). */
void eng_set_message(eng *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An item failure for eng_events, also the snapshot's message (any thread). */
void eng_add_event(eng *g, size_t idx, const char *key, const char *text);
/* Stops the job: the cancel flag, and the feeder wakes up (any thread). */
void eng_stop(eng *g);
/* A write of the journal or the audit log failed (e, from journal.h): the
 * job stops at once, its items pending (nothing more is recorded or counted
 * as done), and ends ENG_ERROR with a message naming the file and the OS
 * error. The first failure's message wins (any thread). */
void eng_journal_failed(eng *g, const err *e);

static inline char *eng_dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

#endif
