/* jwriter - the journal thread of a job: every record of item progress and
 * every audit line of an answer, written to SQLite and the audit log in
 * grouped transactions. Private to engine/.
 *
 * Design: workers never wait on the disk: they push records
 * (owned nodes) onto the unbounded journal queue and go on; one thread takes
 * everything queued at once (waiting up to 100 ms for the first) and writes
 * it in one transaction (jnl_begin/jnl_commit: one fsync for thousands of
 * steps). Only the intent line before a call is written synchronously, by
 * the worker (step.c), as journal.h requires. The job's progress (items
 * done and failed, steps by kind) is counted here, once the transaction that
 * records it has committed: nothing is counted that the journal does not
 * hold. A failed write (a statement, an audit line, the commit) rolls the
 * batch back and stops the job at once (eng_journal_failed: ENG_ERROR, items
 * pending); nothing after it is written or counted, so the job resumes from
 * the last commit.
 *
 * Threading: jw_record and jw_audit from any thread; jw_main is
 * the journal thread; jw_discard once every thread has stopped.
 * Ownership: records copy their strings; jw_audit takes the buffer's text. */
#ifndef TP_ENGINE_JWRITER_H
#define TP_ENGINE_JWRITER_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/jwriter.h is private to engine/ (engine/BUILD)"
#endif

#include <stddef.h>

#include "base/buf.h"
#include "engine/engine.h"
#include "engine/journal.h"

/* An item's progress: steps done, status, attempts; NULL strings unchanged.
 * count: the eng_count the step adds to once recorded (-1: none); JNL_DONE
 * and JNL_FAILED count the item done or failed, also once recorded.
 * started: when this run began the item (jnl_now_ms); the progress is timed
 * now, when it is queued, not when the journal thread writes it. */
void jw_record(eng *g, size_t idx, int step_done, jnl_status st, int attempts, int count,
               const char *error, const char *cert_arn, const char *thing_arn,
               long long started);
/* One audit line of an event (a static string, journal.h's jnl_audit) with
 * the members in b (a JSON object); takes b's text and resets b. */
void jw_audit(eng *g, const char *event, buf *b);
/* The thread function (arg: the eng); returns once the queue is closed and
 * everything in it written. */
void *jw_main(void *arg);
/* Frees records still queued (a job that never started its journal thread). */
void jw_discard(eng *g);

#endif
