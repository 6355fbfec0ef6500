/* worker - a worker thread of a job: takes items off the work queue and runs
 * each item's plan, step by step, recording every completed step. Private to
 * engine/.
 *
 * Design: an item (`work`) is everything a worker needs of one record of the
 * file, copied out by the feeder (engine.c, pass 2) so the parser's item can
 * go. A worker runs the item's steps in plan order from the first one the
 * journal has not recorded (step.c does one step: the call and its
 * idempotent outcomes); after each step it pushes a record to the journal
 * thread (jwriter.h) and counts it; the first failed step fails the item (an
 * event for the console, a record, an audit line) and the rest is not tried;
 * a stopped step (cancel, the endpoint unreachable) leaves the item pending
 * at that step, to be resumed. An item's attempts (its calls) start from
 * what the journal recorded in earlier runs and include the calls of a
 * stopped step.
 *
 * Threading: one worker per thread, each with its own iot_client (never
 * shared: the client holds a CURL handle); started with every signal
 * blocked, so signals reach the UI thread. Ownership: a worker owns the work
 * it popped and frees it; the client is freed by engine.c after the join. */
#ifndef TP_ENGINE_WORKER_H
#define TP_ENGINE_WORKER_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/worker.h is private to engine/ (engine/BUILD)"
#endif

#include <stddef.h>

#include "engine/engine.h"
#include "iot/client.h"
#include "parsers/item.h"

/* One item for the workers (a node of eng.work_q). */
typedef struct work {
    struct work *next;
    size_t idx;
    int start;    /* first step to do */
    int attempts; /* attempts already recorded */
    char *name;   /* thing name / deviceId */
    char fp[65];
    char *pem; /* Phase 1 */
    char *device_type;
    item_attr *attrs;
    size_t n_attrs;
} work;

typedef struct worker {
    eng *g;
    iot_client *c;
    unsigned int seed;  /* backoff jitter */
    unsigned creds_gen; /* the generation of c's credentials (keeper.h) */
} worker;

/* The thread function: arg is a worker; returns once the queue is closed
 * and empty. */
void *worker_main(void *arg);
/* Frees an item and everything it owns. */
void work_free(work *it);

#endif
