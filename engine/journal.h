/* journal - the SQLite record of every job and item (DESIGN.md §7), the
 * append-only audit log, and the per-job reports.
 *
 * Design: one database file, journal.db in the state directory, in WAL mode
 * with synchronous=NORMAL and a busy timeout, so `thingpress status` (another
 * process) reads while a provision writes. A job is identified by its input
 * file's SHA-256, its configuration identity (jobcfg_identity) and its
 * endpoint: provisioning the same file with the same configuration against
 * the same endpoint again finds the same job and resumes it, from whatever
 * path the file is read; the same file against another endpoint (the sim,
 * then AWS) is another job, so work done elsewhere is never taken as done.
 * Each item row keeps the steps completed, its status, attempts, last error
 * and the ARNs learned. The engine records a step after it completed (and
 * its intent before each mutating call, in the audit log): every step is
 * idempotent on AWS under the rules of DESIGN.md §6, so after a crash the
 * step in flight is simply done again and converges; a completed step is
 * never repeated once recorded. Writes are grouped into transactions by the
 * caller (jnl_begin/jnl_commit) so thousands of steps per second cost a few
 * fsyncs. The job's counts (total/done/failed/skipped) are kept by triggers
 * in the same transaction as the item rows, so they always agree with them.
 *
 * The audit log (audit.h: audit.jsonl beside the database, mode 0600,
 * rotated by size into audit-NNNNNN.jsonl, each line chained to the one
 * before by its SHA-256) gets one JSON object per line: time, event, job,
 * user, host, station, the event's members, prev. Events (DESIGN.md §7):
 * job_start / job_resume (file, its SHA-256, options, endpoint, account),
 * job_pause, job_cancel, job_end, and per call an "intent" before it is sent
 * and a "call" with the answer (status, AWS request id), and per item its
 * outcome ("item"). No secrets, no certificate bodies. The engine writes a
 * call's intent from the worker, before the call, and waits until it is on
 * disk (jnl_audit_sync); the answers and the item outcomes go through its
 * journal thread, in the transaction that records the step. The journal
 * records the chain's head (its last line) in each commit, so that
 * `thingpress audit verify` (jnl_audit_verify) also finds a cut-off tail.
 *
 * What survives what:
 *   - kill -9 (the process dies, the machine does not): every line written,
 *     since each is one write(2) before jnl_audit returns; so every call
 *     that may have reached AWS has its intent line, and every step
 *     recorded in a committed transaction has its answer line.
 *   - power loss (or a kernel crash): every intent line of a call that was
 *     sent, since the worker sends only after jnl_audit_sync returned (the
 *     intents of several workers share one fdatasync). jnl_commit
 *     fdatasyncs the audit log before the database commit, so every step
 *     the database holds has its answer and outcome lines on disk. What can
 *     be lost: the answer ("call") and outcome ("item") lines of the steps
 *     whose transaction had not committed, and with synchronous=NORMAL the
 *     last few commits of the database itself (never a corruption): those
 *     steps are done again on resume, harmlessly (DESIGN.md §6), and their
 *     answers are logged then, with new request ids; an intent line without
 *     its answer is such a call. The last line written may be cut short
 *     (audit.h). The chain head recorded lags the log by at most the last
 *     commit, so `audit verify` detects a tail cut off before that point
 *     only.
 *   - THINGPRESS_BENCH_NO_INTENT_SYNC=1 in the environment (the benchmark's
 *     baseline, never for production) skips the wait for the intent's
 *     fdatasync: a power loss may then also lose the intent lines written
 *     since the last commit, of calls that may have reached AWS.
 *
 * Errors name the file (journal.db, audit.jsonl) and, for a failed read or
 * write, the OS error; one for want of room (a full disk, a quota, a file
 * size limit) has the code ERR_LIMIT.
 *
 * Versioning: PRAGMA application_id marks a thingpress journal and PRAGMA
 * user_version holds the schema version; a newer version or another kind of
 * database is refused with a one-line error naming the file. An older one
 * is migrated by jnl_open (one transaction; its rows are kept) and read as
 * it is by jnl_open_existing (what it did not record reads as empty: no
 * item times, no run).
 *
 * The state directory (and reports/ in it) is created with mode 0700: it
 * holds an audit trail. Beside journal.db, audit.jsonl and reports/ it
 * holds locks/ (joblock.h) and pace.json, the rates earlier jobs learned
 * (pace.h).
 *
 * Reports (DESIGN.md §7): every item of a job, streamed from the journal in
 * idx order (constant memory, whatever the job's size), as RFC 4180 CSV and
 * as JSON with the job's header; and, for a Phase 1 job, the device-infos
 * skeleton that hands its registered certificates to the MES.
 *
 * Files: journal.c keeps the tables and the audit log; report.c renders the
 * reports and the JSON of jobs and items from them (jnl_impl.h between them).
 *
 * Threading: a journal is used by one thread at a time (the engine's journal
 * thread), except jnl_audit, jnl_audit_sync and jnl_audit_stats, which any
 * thread may call; readers (status, console) open their own journal.
 * Ownership: every jnl_job / jnl_item is a copy in the caller's memory. */
#ifndef TP_ENGINE_JOURNAL_H
#define TP_ENGINE_JOURNAL_H

#include <stddef.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "engine/audit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct journal journal;

/* Item status as stored. */
typedef enum {
    JNL_PENDING = 0, /* not finished: resume continues it from `step` */
    JNL_DONE = 1,
    JNL_FAILED = 2,  /* a terminal error; `error` says why */
    JNL_SKIPPED = 3, /* invalid in the file and the job skips invalid items */
} jnl_status;

typedef enum {
    JOB_RUNNING = 0, /* also: interrupted (crash, cancel) until resumed */
    JOB_DONE = 1,    /* every item done */
    JOB_FAILED = 2,  /* finished with failed items */
    JOB_CANCELLED = 3,
    JOB_PAUSED = 4, /* stopped by an outage past its max: resumable */
} jnl_job_status;

typedef struct jnl_job {
    long long id;
    char file[1024];
    char file_sha256[65];
    int phase; /* 1 or 2 */
    char batch_id[256];
    char identity[2048]; /* jobcfg_identity JSON */
    char endpoint[512];
    jnl_job_status status;
    long long created; /* unix seconds: the job's start */
    long long updated;
    long long ended; /* unix seconds its last run ended; 0 = running or never ended */
    size_t total, done, failed, skipped;
    /* The last run (jnl_job_set_run); "" when not recorded. */
    char endpoint_url[512];
    char region[64];
    char account[32];
    char user[64];     /* OS user (who.h) */
    char station[256]; /* $THINGPRESS_STATION, else the host (who.h) */
    /* A process running the job now (its OS lock, joblock.h), read by
     * jnl_job_get and jnl_job_list: its pid (0 = none) and host. */
    long runner_pid;
    char runner_host[64];
} jnl_job;

typedef struct jnl_item {
    size_t idx;
    char key[160]; /* thing name / deviceId, for display */
    char fingerprint[65];
    int step; /* engine-defined: steps completed (0 for a new row) */
    jnl_status status;
    int attempts;
    char error[320];
    char cert_arn[256];
    char thing_arn[256];
    long long updated;
    long long started;  /* unix ms its first step began; 0 = never started */
    long long finished; /* unix ms it became done or failed; 0 = not finished */
} jnl_item;

/* Item filters for jnl_item_list, besides a jnl_status value. */
enum { JNL_FILTER_ALL = -1, JNL_FILTER_PROBLEMS = -2 /* failed or skipped */ };

/* "pending", "done", "failed", "skipped" / "running", "done", "failed",
 * "cancelled" (static strings). */
const char *jnl_status_name(jnl_status st);
const char *jnl_job_status_name(jnl_job_status st);

/* Creates dir and its missing parents with mode 0700 (the state directory
 * and everything under it). 0, or -1 with e naming the directory. */
int jnl_make_dirs(const char *dir, err *e);

/* The state directory, the one rule every command follows (journal, audit
 * log, job locks, reports, the embedded endpoint's database): state_dir when
 * given (not NULL or ""), else $XDG_STATE_HOME/thingpress when that is an
 * absolute path (the XDG spec: relative values are ignored), else
 * $HOME/.local/state/thingpress. With none of them: -1 and a one-line error
 * asking for --state. Writes the path into out (n bytes); creates nothing.
 * Any thread (reads the environment). */
int jnl_state_dir(char *out, size_t n, const char *state_dir, err *e);

/* Opens (creating the directory and schema if needed) state_dir/journal.db
 * in the directory jnl_state_dir gives. */
int jnl_open(journal **out, const char *state_dir, err *e);
/* For readers: opens an existing journal, creating nothing. Without one the
 * error is "no journal in DIR: nothing has been provisioned yet". */
int jnl_open_existing(journal **out, const char *state_dir, err *e);
/* Closes the database and the audit log (fdatasynced first). NULL is a no-op;
 * an open transaction is rolled back. */
void jnl_close(journal *j);
/* The directory in use (borrowed, valid until jnl_close). */
const char *jnl_dir(const journal *j);

/* A write transaction (BEGIN IMMEDIATE: waits up to the busy timeout for
 * another writer). Calls between begin and commit are one atomic unit;
 * outside them each call commits by itself. jnl_commit also fdatasyncs the
 * audit log (before the database commit) and records its chain head in the
 * transaction; without an open transaction it syncs the audit log and
 * records the head by itself. A failed commit is rolled back. */
int jnl_begin(journal *j, err *e);
int jnl_commit(journal *j, err *e);
void jnl_rollback(journal *j);

/* Finds the job with this file hash, identity and endpoint, or creates it
 * (status JOB_RUNNING). *resumed = 1 when it existed; its status is left as
 * it was. file is recorded as given: the engine gives the absolute path, so
 * that a job can be resumed (the console's Jobs list) from any directory.
 * The file path may differ (a moved file is the same job): the job then
 * records the new path. batch_id and endpoint may be NULL (""). The
 * endpoint should name the registry stably (e.g. the URL, or region and
 * account for AWS). */
int jnl_job_open(journal *j, const char *file, const char *file_sha256, int phase,
                 const char *batch_id, const char *identity, const char *endpoint,
                 long long *job_id, int *resumed, err *e);
int jnl_job_get(journal *j, long long job_id, jnl_job *out, err *e);
/* Sets the status; any status but JOB_RUNNING also records the job's end
 * (now), JOB_RUNNING clears it. */
int jnl_job_set_status(journal *j, long long job_id, jnl_job_status st, err *e);
/* Who runs the job, where (recorded by each run; NULL strings are ""). */
typedef struct jnl_run {
    const char *endpoint_url, *region, *account, *user, *station;
} jnl_run;
int jnl_job_set_run(journal *j, long long job_id, const jnl_run *r, err *e);
/* Most recently updated first (then highest id); *n in/out (capacity in,
 * count out). */
int jnl_job_list(journal *j, jnl_job *out, size_t *n, err *e);

/* Creates the item row if missing (first run), at step 0 with 0 attempts;
 * keeps an existing one unchanged. key, fingerprint, error may be NULL. The
 * job must exist. */
int jnl_item_add(journal *j, long long job_id, size_t idx, const char *key,
                 const char *fingerprint, jnl_status st, const char *error, err *e);
/* When an item's work happened (unix ms, jnl_now_ms): started, when the run
 * that records this began the item (kept if an earlier run began it); at,
 * when this progress happened (the item's finish when it is done or
 * failed). 0 or a NULL jnl_times: now. */
typedef struct jnl_times {
    long long started, at;
} jnl_times;
long long jnl_now_ms(void);

/* Records progress of one item (the row must exist). Strings may be NULL
 * (unchanged); error "" clears it, and so does moving to JNL_DONE. The
 * item's finish time is set when st is JNL_DONE or JNL_FAILED and cleared
 * when it is JNL_PENDING again. */
int jnl_item_update(journal *j, long long job_id, size_t idx, int step, jnl_status st,
                    int attempts, const char *error, const char *cert_arn,
                    const char *thing_arn, const jnl_times *t, err *e);
/* What a resumed job needs of each item. */
typedef struct jnl_item_state {
    int step; /* steps completed; -1 = no row */
    jnl_status status;
    int attempts; /* calls recorded so far */
} jnl_item_state;

/* Every item's state, as an array indexed by idx (*out, caller frees); size
 * n = highest idx + 1 (missing rows: step -1, JNL_PENDING, 0 attempts). */
int jnl_item_states(journal *j, long long job_id, jnl_item_state **out, size_t *n,
                    err *e);
/* Items of a job in idx order, skipping the first `offset` matching rows;
 * status_filter is a jnl_status, JNL_FILTER_ALL or JNL_FILTER_PROBLEMS.
 * *n in/out (capacity in, count out). Paging costs O(offset). */
int jnl_item_list(journal *j, long long job_id, int status_filter, size_t offset,
                  jnl_item *out, size_t *n, err *e);

/* Audit log: one line of the event (aud_event_known: "job_start", ...,
 * "item"); `json` is a complete object with the event's own members (line
 * breaks in it become spaces). "time" (ISO 8601 UTC with milliseconds),
 * "event", "job" (null when job_id <= 0), "user", "host" and "station" are
 * put first and "prev" last, so `json` must not carry them. The file is
 * opened on first use. Unlike the rest of this API, jnl_audit may be called
 * from any thread while the owner uses the journal (workers write their
 * intent lines before each call). */
int jnl_audit(journal *j, long long job_id, const char *event, const char *json, err *e);
/* Returns once every audit line written so far is on disk (fdatasync; the
 * threads waiting together share one). Any thread. */
int jnl_audit_sync(journal *j, err *e);
/* The size at which audit.jsonl is rotated (audit.h; 0 never). Before the
 * first jnl_audit. */
void jnl_audit_rotate_at(journal *j, size_t bytes);
/* Lines this journal appended to the audit log and the fdatasyncs it did. */
void jnl_audit_stats(journal *j, unsigned long long *lines, unsigned long long *syncs);
/* `thingpress audit verify`: the chain of the audit log in the state
 * directory (jnl_state_dir's rule), checked against the chain head its
 * journal records (*head: seq 0 when none is recorded, or no journal).
 * Returns v->status: AUD_INTACT, AUD_BROKEN (v names the first bad line) or
 * AUD_UNREADABLE (no state directory or log, a file or the journal cannot be
 * read; v says which and why). */
int jnl_audit_verify(const char *state_dir, aud_verdict *v, aud_head *head);

/* Appends the job, or the item, as one JSON object (compact, one line): the
 * shapes of the report and of `thingpress status --output json`.
 * Job (the report's header): job (its id), status, file, file_sha256,
 * batch_id, phase, endpoint (the URL of its last run, else the registry),
 * registry (the endpoint part of the job's identity), account, region,
 * options (the configuration identity, an object), user, station, start,
 * end, updated (ISO 8601 UTC), counts {total, done, failed, skipped,
 * pending}, and runner {pid, host} while a process runs it (not in a
 * report: jnl_report_write leaves it out). Item: the
 * report's columns (index, thing_name, fingerprint, status,
 * certificate_arn, thing_arn, attempts, error, started, finished) and step
 * (the journal's steps done). Strings not recorded are null. */
void jnl_job_json(const jnl_job *jb, buf *out);
void jnl_item_json(const jnl_item *it, buf *out);

/* The report's CSV header line (without its CRLF): "index,thing_name,
 * fingerprint,status,certificate_arn,thing_arn,attempts,error,started,
 * finished". */
extern const char jnl_report_columns[];

/* Streams the job's report: to csv (RFC 4180: CRLF, quoted when needed, a
 * cell a spreadsheet would read as a formula prefixed with '), to json (one
 * document {"job": header, "items": [one item per line]}), either may be
 * NULL. Items in idx order; status_filter as jnl_item_list. Times are ISO
 * 8601 UTC with milliseconds ("" / null when not recorded). Memory is
 * constant (one row at a time); 0, or -1 (e set: the journal, or a write
 * error on a stream). */
int jnl_report_write(journal *j, long long job_id, int status_filter, FILE *csv,
                     FILE *json, err *e);

/* Writes DIR/reports/job-ID.csv and job-ID.json, every item (as
 * jnl_report_write), each file replaced atomically (mode 0600), and returns
 * the CSV path in csv_path (caller's buffer of n bytes; the JSON path is the
 * same with .json). */
int jnl_report(journal *j, long long job_id, char *csv_path, size_t n, err *e);

/* The Phase 1 hand-off (DESIGN.md §7): writes to out a device-infos file
 * {"batch_id", "devices": [{"certFingerprint", "deviceId"}]} with one device
 * per certificate the job registered (an item with a certificate ARN), in
 * idx order: its fingerprint and its thing name from the vendor file. The
 * MES adds attributes (and deviceType) and sends it back as the Phase 2 file:
 * it validates as one. batch_id is the job's batch id, else (a Phase 1 file
 * has none) the base name of the job's file. *n_devices (may be NULL) gets
 * the count. Refused (-1, ERR_USAGE, nothing written): a Phase 2 job, and a
 * job that registered nothing. */
int jnl_devinfo_skeleton(journal *j, long long job_id, FILE *out, size_t *n_devices,
                         err *e);

#ifdef __cplusplus
}
#endif
#endif
