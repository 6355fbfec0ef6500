/* call - one AWS IoT call with its retries: the one place the retry policy
 * lives.
 *
 * Design: everything that talks to AWS for a job runs its calls through
 * call_run(): a worker doing an item's step (step.c), the job's pre-flight
 * (preflight.c) and the preview's registry check (regcheck.c). The caller
 * says what the call is (a function and its context) and what it is allowed
 * (pacer, cancel flag, attempts); call_run() decides what happens between
 * attempts, the same way for everyone (DESIGN.md §6):
 *   - pacing: each attempt waits for its slot on the operation's pacer
 *     (rate.h) when there is one; an accepted answer (rate_ok) and a
 *     throttle (rate_throttled) are fed back to it, nothing else;
 *   - throttling (iot_result.cls IOT_RETRY_THROTTLE) is absorbed, not failed:
 *     the pacer slows down and the call is sent again after a short pause
 *     with full jitter, up to CALL_MAX_THROTTLES throttles;
 *   - 5xx and transport failures are retried with capped exponential
 *     backoff and full jitter, up to max_attempts such failures;
 *   - every other answer is final (a 4xx is never retried); the caller's
 *     `settled` rule may take a final answer as done (idempotency: a 409 on
 *     a register that already happened);
 *   - the cancel flag ends a wait for a slot or a pause at once, and no
 *     retry starts once it is set;
 *   - Retry-After: a pause is never shorter than the answer asks for;
 *   - an optional breaker, shared by every caller of one job, tells a
 *     systemic error from an item's own (DESIGN.md §6): `limit` 5xx,
 *     transport or credential failures in a row across every caller (no
 *     other answer between them) open an outage, and so do 4 failures in a
 *     row of one call when nothing else answered in between (a caller
 *     alone: the pre-flight). While it is open nothing is
 *     sent but one probe at a time, with pauses growing from 1 s to 30 s
 *     (never shorter than a Retry-After); the calls waiting at it keep their
 *     attempts (an outage's failures are not the item's). Any answer that is
 *     not systemic closes it and every caller goes on by itself. An outage
 *     that lasts max_outage_ms trips the breaker: the waiting calls end
 *     CALL_PAUSED and the engine pauses the job, items pending. Until the
 *     endpoint has answered once, connections that fail stay the call's own
 *     failures (a wrong endpoint is reported after the call's attempts);
 *   - an optional credential keeper (keeper.h): before each attempt the
 *     client gets the newest credentials (refreshed ahead of their
 *     expiration); an answer that refuses the credentials renews them once
 *     for every caller and the call is sent again, not failed. Credentials
 *     that cannot be renewed open an outage at once (they never fail items
 *     one by one); refused before any call was accepted, they are wrong
 *     ones: a final answer, reported at once.
 * Policy changes belong here, so that every caller gets them.
 *
 * Threading: call_run() runs on the caller's thread and blocks it (pacing,
 * backoff, the call); any number of threads may run calls at once. A
 * breaker may be shared by any threads. The hooks run on the calling thread.
 * Ownership: call_run() keeps nothing; the spec, its pacer, flag and breaker
 * are borrowed for the call. */
#ifndef TP_ENGINE_CALL_H
#define TP_ENGINE_CALL_H

#include "engine/keeper.h"
#include "engine/rate.h"
#include "iot/client.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CALL_DEFAULT_ATTEMPTS = 10, /* 5xx / transport failures before giving up */
    CALL_MAX_THROTTLES = 200,   /* throttles absorbed before giving up */
};

/* One attempt: fills *res (cleared before each attempt) and returns its class. */
typedef iot_class (*call_fn)(void *ctx, iot_result *res);

typedef enum {
    CALL_DONE,      /* answered IOT_OK, or an answer `settled` accepts */
    CALL_FAILED,    /* a final answer, or retries exhausted (gave_up) */
    CALL_CANCELLED, /* the cancel flag, or the `before` hook, stopped it */
    CALL_PAUSED,    /* the breaker tripped: an outage lasted its max */
} call_outcome;

/* What call_run does after an answer (told to the `after` hook). */
typedef enum {
    CALL_NEXT_DONE,
    CALL_NEXT_RETRY,
    CALL_NEXT_FAIL,
    CALL_NEXT_STOP, /* cancelled or unreachable */
} call_next;

typedef struct call_breaker call_breaker;

/* A breaker that opens an outage after `limit` systemic failures in a row
 * (every caller that shares it) and trips once an outage has lasted
 * max_outage_ms (0: at once). */
call_breaker *call_breaker_new(int limit, long max_outage_ms);
void call_breaker_free(call_breaker *b);
/* 1 once it has tripped (any thread). */
int call_breaker_tripped(const call_breaker *b);

/* What the breaker is doing, for progress (any thread). */
typedef struct call_outage {
    int open;            /* an outage is being waited out */
    long long for_ms;    /* since its first error */
    long long next_ms;   /* until the next probe; 0 = now or in flight */
    long max_ms;         /* max outage */
    unsigned outages;    /* outages so far (this one included) */
    long long waited_ms; /* total time spent in outages, this one included */
    char reason[400];    /* the last systemic answer, one line */
} call_outage;
void call_breaker_status(call_breaker *b, call_outage *out);

typedef struct call_spec {
    rate *pace;                     /* the operation's pacer; NULL = not paced */
    const rate_cancel_flag *cancel; /* NULL = not cancellable */
    int max_attempts;               /* 5xx / transport failures; 0 = default */
    unsigned int *seed;             /* jitter state of the calling thread */
    call_breaker *breaker;          /* NULL = none */
    struct keeper *creds;           /* NULL = credentials never refreshed */
    iot_client *client;             /* the client keeper_sync updates and whose
                                       trace is told the attempt; NULL = none */
    unsigned *creds_gen;            /* the client's credential generation */

    /* Optional hooks, all given hook_ctx. settled: a non-OK answer that
     * means the work is already done. before: after the slot, before
     * attempt number `attempt` (0-based) is sent; nonzero stops the call
     * (CALL_CANCELLED). after: every answer, with `done` (DONE or settled)
     * and what call_run does next. */
    int (*settled)(void *hook_ctx, const iot_result *res);
    int (*before)(void *hook_ctx, int attempt);
    void (*after)(void *hook_ctx, const iot_result *res, int done, call_next next);
    void *hook_ctx;
} call_spec;

typedef struct call_report {
    call_outcome outcome;
    iot_class cls; /* the last answer's class (IOT_CANCELLED if none) */
    int attempts;  /* calls sent */
    int throttles; /* throttled answers among them */
    int failures;  /* 5xx / transport answers among them, outages' aside */
    int renewals;  /* credentials renewed after a refusal */
    int gave_up;   /* CALL_FAILED because a retry limit was reached */
} call_report;

/* Runs fn until it is done, fails, or is stopped; *res holds the last
 * answer (cleared when no attempt was sent). Returns out->outcome. */
call_outcome call_run(call_report *out, const call_spec *spec, call_fn fn, void *fn_ctx,
                      iot_result *res);

#ifdef __cplusplus
}
#endif
#endif
