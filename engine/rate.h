/* rate - per-operation pacing that finds and holds the account's quota.
 *
 * Design: one pacer per AWS operation. A pacer hands out send times spaced
 * 1/rate apart (a virtual clock, like GCRA), so calls leave evenly instead of
 * in bursts and never exceed `rate` on average. The rate starts from the
 * configured quota table (DESIGN.md §6) and adapts:
 *   - ThrottlingException (at most one decrease per half second): down to
 *     98% of the rate the account accepted over the last two seconds when
 *     the pacer is above it (never more than halving at once), x0.97 when
 *     it is not (throttles of calls sent earlier), x0.9 before there is a
 *     measure; and no increase for a cool-down second;
 *   - while callers are waiting on the pacer (it is the bottleneck) and no
 *     throttling has been seen for a second: probe up, x2 per second
 *     until the first throttle ("slow start"), then +3% per second, and
 *     x1.5 per second once five seconds pass without a throttle;
 *   - never above a ceiling of RATE_CEILING_FACTOR (10) times the rate it
 *     started from (the quota table, or the job's [rates], which is what
 *     the operator says the quota is): quotas raised up to 10x are still
 *     found, but an endpoint that never throttles (a quota far above the
 *     table, throttles lost on the way) cannot make the rate grow without
 *     end and then burst into a real quota or the local endpoint;
 *   - throttles that are under 3% of at least 50 answers over the last two
 *     seconds are sporadic (a shared account, a hiccup, not this pacer's
 *     excess): they change nothing, so random throttling cannot hold the
 *     rate down near 1 / (its share) calls per second.
 * So an account whose quotas were raised is discovered within seconds, and
 * one whose quotas are lower than the table settles just under them.
 *
 * Threading: any thread; one mutex per pacer, held only to take a slot.
 * A slot is taken when it is due (not reserved ahead), so a change of rate
 * applies at once; waiting callers sleep outside the lock in ticket order,
 * and a cancel flag cuts the wait short. */
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

/* The ceiling: a pacer never probes above this many times its start rate. */
#define RATE_CEILING_FACTOR 10.0

/* limit <= 0 means unlimited: acquire never waits and nothing adapts. */
rate *rate_new(const char *op, double start_tps);
void rate_free(rate *r);

/* Waits for this call's send slot. Returns 0, or -1 if *cancel became
 * nonzero while waiting (checked every 50 ms; cancel may be NULL). */
int rate_acquire(rate *r, const rate_cancel_flag *cancel);

/* Outcome feedback: every answer of a paced call is reported, accepted
 * (rate_ok) or throttled (rate_throttled). */
void rate_throttled(rate *r);
void rate_ok(rate *r);

/* Tests: a clock (seconds) and a sleep that the pacer uses instead of the
 * monotonic clock and nanosleep; NULL restores them. Set before use. */
typedef double (*rate_clock_fn)(void *ctx);
typedef void (*rate_sleep_fn)(void *ctx, double seconds);
void rate_set_clock(rate *r, rate_clock_fn clock, rate_sleep_fn sleep, void *ctx);

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
