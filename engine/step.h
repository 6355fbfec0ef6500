/* step - one step of one item: its AWS call, run through the one retry
 * policy (call.h), its audit lines, and its idempotent outcomes. Private to
 * engine/.
 *
 * Design: a step is one call of an item's plan (plan.h). Before each attempt
 * the intent line goes to the audit log synchronously (journal.h: no call
 * can reach AWS without it; if it cannot be written the job stops, items
 * pending); after each answer the answer line goes through the journal
 * thread, and the job's counters move. Answers that mean "the work is
 * already there" count as done (DESIGN.md §6 idempotency): a register
 * answered 409 ResourceAlreadyExists for the same certificate. A failure is
 * explained in the operator's words (not registered: run Phase 1 first;
 * REVOKED: never re-activated; a thing with other attributes: not
 * overwritten).
 *
 * Threading: runs on a worker thread with the worker's client. Ownership:
 * the work item, the step and step_out are the caller's. */
#ifndef TP_ENGINE_STEP_H
#define TP_ENGINE_STEP_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/step.h is private to engine/ (engine/BUILD)"
#endif

#include <stddef.h>

#include "engine/plan.h"
#include "engine/worker.h"

/* What a step learned, carried from step to step of one item. */
typedef struct step_out {
    const char *cert_arn;     /* in: the certificate's ARN (built or registered) */
    char thing_arn[256];      /* CreateThing's answer */
    char registered_arn[256]; /* Register's answer */
    int already;              /* the step found its work already done */
} step_out;

/* Runs step s of item it. Returns 1 done, 0 failed (why filled: one line),
 * -1 stopped (cancelled, or the job stopped: the item stays pending).
 * *attempts (the item's calls so far) grows by the calls sent. */
int step_run(worker *w, const work *it, const step *s, step_out *o, int *attempts,
             char *why, size_t why_n);

#endif
