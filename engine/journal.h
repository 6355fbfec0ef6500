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
 * The audit log (audit.jsonl beside the database, opened O_APPEND, mode 0600)
 * gets one JSON object per line for every mutating call (intent and outcome)
 * and every item outcome: time, job, file, batch, item, operation, target,
 * result. No secrets, no certificate bodies. Each line is one write(2), so
 * it survives a crash of the process as soon as jnl_audit returns. The
 * engine writes a call's intent ({"intent": OP, ...}) synchronously before
 * sending it, and its answer ({"op": OP, "status": ...}) and the item
 * outcomes through its journal thread, in the transaction that records the
 * step: after a kill -9 every call that may have reached AWS has its intent
 * line; an answer or an outcome written just before a lost commit appears
 * again when its step is done again on resume.
 *
 * Durability: jnl_commit fdatasyncs the audit log, then commits. With
 * synchronous=NORMAL a power loss may undo the last few commits of the
 * database (never corrupt it); those steps are then done again, which the
 * idempotency rules make harmless, and the audit log (synced first) still
 * holds every call that was made.
 *
 * Versioning: PRAGMA application_id marks a thingpress journal and PRAGMA
 * user_version holds the schema version; a newer version or another kind of
 * database is refused with a one-line error naming the file.
 *
 * The state directory (and reports/ in it) is created with mode 0700: it
 * holds an audit trail. Beside journal.db, audit.jsonl and reports/ it
 * holds locks/ (joblock.h) and pace.json, the rates earlier jobs learned
 * (pace.h).
 *
 * Files: journal.c keeps the tables and the audit log; report.c renders the
 * reports and the JSON of jobs and items from them (jnl_impl.h between them).
 *
 * Threading: a journal is used by one thread at a time (the engine's journal
 * thread), except jnl_audit, which any thread may call; readers (status,
 * console) open their own journal.
 * Ownership: every jnl_job / jnl_item is a copy in the caller's memory. */
#ifndef TP_ENGINE_JOURNAL_H
#define TP_ENGINE_JOURNAL_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

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
    long long created; /* unix seconds */
    long long updated;
    size_t total, done, failed, skipped;
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
} jnl_item;

/* Item filters for jnl_item_list, besides a jnl_status value. */
enum { JNL_FILTER_ALL = -1, JNL_FILTER_PROBLEMS = -2 /* failed or skipped */ };

/* "pending", "done", "failed", "skipped" / "running", "done", "failed",
 * "cancelled" (static strings). */
const char *jnl_status_name(jnl_status st);
const char *jnl_job_status_name(jnl_job_status st);

/* Opens (creating the directory and schema if needed) state_dir/journal.db.
 * state_dir NULL or "" = $XDG_STATE_HOME/thingpress or
 * ~/.local/state/thingpress. */
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
 * audit log (before the database commit); without an open transaction it
 * only syncs the audit log. A failed commit is rolled back. */
int jnl_begin(journal *j, err *e);
int jnl_commit(journal *j, err *e);
void jnl_rollback(journal *j);

/* Finds the job with this file hash, identity and endpoint, or creates it
 * (status JOB_RUNNING). *resumed = 1 when it existed; its status is left as
 * it was. The file path may differ (a moved file is the same job): the job
 * then records the new path. batch_id and endpoint may be NULL (""). The
 * endpoint should name the registry stably (e.g. the URL, or region and
 * account for AWS). */
int jnl_job_open(journal *j, const char *file, const char *file_sha256, int phase,
                 const char *batch_id, const char *identity, const char *endpoint,
                 long long *job_id, int *resumed, err *e);
int jnl_job_get(journal *j, long long job_id, jnl_job *out, err *e);
int jnl_job_set_status(journal *j, long long job_id, jnl_job_status st, err *e);
/* Most recently updated first (then highest id); *n in/out (capacity in,
 * count out). */
int jnl_job_list(journal *j, jnl_job *out, size_t *n, err *e);

/* Creates the item row if missing (first run), at step 0 with 0 attempts;
 * keeps an existing one unchanged. key, fingerprint, error may be NULL. The
 * job must exist. */
int jnl_item_add(journal *j, long long job_id, size_t idx, const char *key,
                 const char *fingerprint, jnl_status st, const char *error, err *e);
/* Records progress of one item (the row must exist). Strings may be NULL
 * (unchanged); error "" clears it, and so does moving to JNL_DONE. */
int jnl_item_update(journal *j, long long job_id, size_t idx, int step, jnl_status st,
                    int attempts, const char *error, const char *cert_arn,
                    const char *thing_arn, err *e);
/* Every item's step and status, as arrays indexed by idx (caller frees);
 * size n = highest idx + 1 (missing rows: step -1, JNL_PENDING). */
int jnl_item_states(journal *j, long long job_id, int **steps, jnl_status **st, size_t *n,
                    err *e);
/* Items of a job in idx order, skipping the first `offset` matching rows;
 * status_filter is a jnl_status, JNL_FILTER_ALL or JNL_FILTER_PROBLEMS.
 * *n in/out (capacity in, count out). Paging costs O(offset). */
int jnl_item_list(journal *j, long long job_id, int status_filter, size_t offset,
                  jnl_item *out, size_t *n, err *e);

/* Audit log: one line, `json` is a complete object without the trailing
 * newline (line breaks in it become spaces); "time" (ISO 8601 UTC with
 * milliseconds) and "job" (null when job_id <= 0) are put first, so `json`
 * must not carry them. The file is opened on first use. Unlike the rest of
 * this API, jnl_audit may be called from any thread while the owner uses the
 * journal (workers write their intent lines before each call). */
int jnl_audit(journal *j, long long job_id, const char *json, err *e);

/* Appends the job, or the item, as one JSON object (compact, one line): the
 * shape used by the report and by `thingpress status --output json`. Job:
 * job, file, file_sha256, phase, batch_id, endpoint, identity (an object),
 * status, created, updated (ISO 8601 UTC), counts {total, done, failed,
 * skipped, pending}. Item: idx, key, fingerprint, status, error, step,
 * attempts, cert_arn, thing_arn (null when empty), updated. */
void jnl_job_json(const jnl_job *jb, buf *out);
void jnl_item_json(const jnl_item *it, buf *out);

/* Writes DIR/reports/job-ID.csv and job-ID.json (failed and skipped items
 * with reasons; each file replaced atomically) and returns the CSV path in
 * csv_path (caller's buffer of n bytes; the JSON path is the same with .json).
 * CSV: RFC 4180 (CRLF, quoted when needed), header
 * "idx,key,fingerprint,status,error". JSON: the job's members (as
 * jnl_job_json) and "items", one jnl_item_json object per line. */
int jnl_report(journal *j, long long job_id, char *csv_path, size_t n, err *e);

#ifdef __cplusplus
}
#endif
#endif
