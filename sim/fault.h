/* fault - fault injection of the local endpoint (`thingpress sim --faults SPEC`,
 * DESIGN.md §8).
 *
 * What for: the engine must survive what AWS does under load (500, 503,
 * throttling, dropped connections, and the ambiguous case of a call that took
 * effect but whose answer was lost). The sim draws one decision per request
 * and acts on it; the same seed and the same request order replay the same
 * faults, so a failing run can be reproduced.
 *
 * SPEC: comma-separated items, spaces around items allowed:
 *   500:P        HTTP 500 InternalFailureException, nothing done
 *   503:P        HTTP 503 ServiceUnavailableException, nothing done
 *   throttle:P   HTTP 400 ThrottlingException, nothing done (like a quota)
 *   reset:P      drop the connection before doing anything (no response)
 *   late:P       do the operation, then drop the connection without a response
 *   seed:N       unsigned 64-bit decimal; default 0 (runs are reproducible
 *                unless a seed is chosen to vary them)
 *   ops:A+B+...  only these operations get faults (names as in quota.h, e.g.
 *                ops:CreateThing+AttachPolicy); default: every operation,
 *                including ones outside the quota.h table
 *   expire:N     credentials expire: each distinct credential (the session
 *                token X-Amz-Security-Token, or the access key when there is
 *                none) is accepted for N whole seconds (1..31622400) after the
 *                sim first sees it, then refused with HTTP 403
 *                ExpiredTokenException "The security token included in the
 *                request is expired" -- what AWS answers once session
 *                credentials pass their Expiration. A client must obtain new
 *                credentials (a new session token) to go on. Not drawn: it
 *                does not count towards the probabilities or fault_decide.
 *   outage:S+L   an outage window: every request from S to S+L whole seconds
 *                after the sim started is answered HTTP 503
 *                ServiceUnavailableException, nothing done (what a regional
 *                outage looks like); not drawn, like expire. With ops:, only
 *                those operations are down (one API's outage while the
 *                others answer)
 *   none         alone: no faults (same as omitting --faults)
 * P is a plain decimal probability in [0, 1] (0.03, .5, 1; no exponent, always
 * a '.' whatever the locale). Each kind and key may appear once; the
 * probabilities add up to at most 1. Example:
 *   500:0.03,503:0.02,throttle:0.03,reset:0.01,late:0.01,seed:42
 * A bad spec is a one-line ERR_USAGE error naming the bad item.
 *
 * Design: counter-based randomness. The decision for request number `seq`
 * (the sim's own request counter) is u = splitmix64(mix(seed) + (seq + 1) *
 * golden-ratio), top 53 bits, compared with the cumulative probabilities in
 * the fixed order 500, 503, throttle, reset, late. There is no generator
 * state, so the decision depends only on (seed, seq, op) and not on which
 * thread asks or when: the same seed and request order give the same faults.
 * The ops filter only masks decisions: request seq draws the same u whatever
 * its operation. Injected faults are counted per kind (relaxed atomics).
 *
 * Threading: fault_new and fault_free on one thread, before and after the
 * others; everything else on any thread, concurrently.
 *
 * Ownership: fault_new gives the caller a fault to release with fault_free.
 * Returned strings are static. */
#ifndef TP_SIM_FAULT_H
#define TP_SIM_FAULT_H

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FAULT_NONE,     /* serve the request normally */
    FAULT_500,      /* answer 500 InternalFailureException without doing anything */
    FAULT_503,      /* answer 503 ServiceUnavailableException without doing anything */
    FAULT_THROTTLE, /* answer 400 ThrottlingException without doing anything */
    FAULT_RESET,    /* close the connection at once, without a response */
    FAULT_LATE,     /* do the operation, then close the connection without a response */
    FAULT_KIND_COUNT
} fault_kind;

typedef struct fault fault;

/* Parses spec into *out. Returns 0, or -1 with *out NULL and e filled
 * (ERR_USAGE, where "--faults", the message naming the bad item). */
int fault_new(fault **out, const char *spec, err *e);

/* The fault for request number seq of operation op. f NULL means no faults.
 * Counts what it returns (see fault_count). */
fault_kind fault_decide(fault *f, const char *op, unsigned long long seq);

/* Whether op is subject to faults (the ops filter); f NULL gives 0. */
int fault_applies(const fault *f, const char *op);

/* Faults of kind k returned by fault_decide so far; FAULT_NONE counts the
 * decisions without a fault (ops outside the filter included). */
unsigned long long fault_count(const fault *f, fault_kind k);

/* The configured probability of k (FAULT_NONE: 1 - the sum), and the seed. */
double fault_probability(const fault *f, fault_kind k);
unsigned long long fault_seed(const fault *f);

/* Whether a request of operation op (NULL: none known) since_start seconds
 * after the sim started falls in the outage window (and, with ops:, is of
 * one of those operations); 0 when there is none (or f NULL). */
int fault_outage_at(const fault *f, const char *op, double since_start);

/* expire:N's N in seconds; 0 when not given (or f NULL): never expire. */
unsigned long long fault_expire_seconds(const fault *f);

/* "none", "500", "503", "throttle", "reset", "late": the spec's names, also
 * used in the request log. */
const char *fault_kind_name(fault_kind k);

/* The answer the sim sends for FAULT_500, FAULT_503 and FAULT_THROTTLE: HTTP
 * status, AWS error code (x-amzn-ErrorType and body "__type") and message.
 * 0 / NULL for the kinds that send no response. */
int fault_http_status(fault_kind k);
const char *fault_error_code(fault_kind k);
const char *fault_error_message(fault_kind k);

/* Destroys f; NULL is a no-op. */
void fault_free(fault *f);

#ifdef __cplusplus
}
#endif
#endif
