/* rate - per-operation pacing that finds and holds the account's quota.
 *
 * Design: one pacer per AWS operation. A pacer hands out send times spaced
 * 1/rate apart (a virtual clock, like GCRA), so calls leave evenly instead of
 * in bursts and never exceed `rate` on average. The rate starts from the
 * configured quota table (DESIGN.md §6) and adapts:
 *   - ThrottlingException: multiplicative decrease (x0.9), and no increase
 *     for a cool-down second;
 *   - while callers are waiting on the pacer (it is the bottleneck) and no
 *     throttling has been seen for a second: probe up, x1.25 per second
 *     until the first throttle ("slow start"), then +3% per second.
 * So an account whose quotas were raised is discovered within seconds, and
 * one whose quotas are lower than the table settles just under them.
 *
 * Threading: any thread; one mutex per pacer, held only to reserve a slot.
 * The wait happens outside the lock and can be cut short by a cancel flag. */
#ifndef TP_ENGINE_RATE_H
#define TP_ENGINE_RATE_H

#ifdef __cplusplus
#include <atomic>
typedef std::atomic<int> rate_cancel_flag;
#else
#include <stdatomic.h>
typedef atomic_int rate_cancel_flag;
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rate rate;

/* limit <= 0 means unlimited: acquire never waits and nothing adapts. */
rate *rate_new(const char *op, double start_tps);
void rate_free(rate *r);

/* Waits for this call's send slot. Returns 0, or -1 if *cancel became
 * nonzero while waiting (checked every 50 ms; cancel may be NULL). */
int rate_acquire(rate *r, const rate_cancel_flag *cancel);

/* Outcome feedback. */
void rate_throttled(rate *r);
void rate_ok(rate *r);

/* Current rate (requests/s) and counters, for progress displays. */
typedef struct rate_stats {
    const char *op;
    double tps; /* current pacing rate; 0 = unlimited */
    unsigned long long calls;
    unsigned long long throttles;
    double recent_tps; /* calls per second over the last few seconds */
} rate_stats;
void rate_get_stats(rate *r, rate_stats *out);

/* Monotonic clock in seconds. */
double rate_now(void);

#ifdef __cplusplus
}
#endif
#endif
