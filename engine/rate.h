/* rate - per-operation pacing that finds and holds the account's quota.
 *
 * Design: one pacer per AWS operation. A pacer hands out send times spaced
 * 1/rate apart (a virtual clock, like GCRA), so calls leave evenly instead of
 * in bursts and never exceed `rate` on average. The rate starts from the
 * configured quota table (DESIGN.md §6), or from the rate an earlier job
 * learned (rate_seed, engine/pace.h), and adapts the way TCP shares a link
 * (AIMD: additive increase, multiplicative decrease), so that several
 * clients of one account (stations) converge to equal shares of its quota
 * instead of keeping whatever share they happened to start with:
 *   - ThrottlingException (at most one decrease per half second): x0.85;
 *     but when the pacer multiplied its rate in the last two seconds (the
 *     x2 or x1.5 probes below) the throttle is that probe's overshoot, and
 *     when half or more of the last two seconds' answers were throttles
 *     (15 at least) it is far above the quota: then the rate goes straight
 *     down to 98% of what the account accepted over the last two seconds
 *     (never more than halving at once); no increase for a cool-down
 *     second;
 *   - while callers are waiting on the pacer (it is the bottleneck) and no
 *     throttling has been seen for a second: probe up, x2 per second until
 *     the first throttle ("slow start"; from a learned start, rate_seed,
 *     x1.5), then additively, +5% of the pacer's scale per second, and
 *     x1.5 per second once five seconds pass without a throttle (the quota
 *     was raised, another client left, or that throttle was a hiccup). The
 *     scale is its start rate; where slow start found the quota if that is
 *     higher; where a decrease from far above landed if that is lower. The
 *     step is the same whatever share the pacer holds now, which is what
 *     makes shares converge: a step in proportion to the rate would keep
 *     their ratios;
 *   - never above a ceiling of RATE_CEILING_FACTOR (10) times the rate it
 *     started from (the quota table, or the job's [rates], which is what
 *     the operator says the quota is): quotas raised up to 10x are still
 *     found, but an endpoint that never throttles (a quota far above the
 *     table, throttles lost on the way) cannot make the rate grow without
 *     end and then burst into a real quota or the local endpoint; a learned
 *     start (rate_seed) keeps the ceiling of the table, so learning cannot
 *     raise it from job to job either;
 *   - throttles that are under 3% of at least 50 answers over the last two
 *     seconds are sporadic (a shared account, a hiccup, not this pacer's
 *     excess): they change nothing, so random throttling cannot hold the
 *     rate down near 1 / (its share) calls per second.
 * So an account whose quotas were raised is discovered within seconds, and
 * one whose quotas are lower than the table settles just under them. What
 * the pacer learned for the next job (rate_learned) is the rate the account
 * accepted while the pacer was the bottleneck after its first throttle, not
 * the pacing rate (which probes above it).
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

/* Starts the pacer from a rate an earlier job learned (rate_learned)
 * instead of its start rate, clamped to the ceiling, which stays
 * RATE_CEILING_FACTOR x the start rate given to rate_new. found: that rate
 * was the quota found; the pacer holds it for a second, then probes x1.5
 * per second until its first throttle (the rate may have been this
 * station's share while others used the account), and on as usual. Else
 * it is a lower bound, and slow start goes on from it. A throttle in the
 * first two seconds brings it down to what the account accepts at once.
 * Call before the first rate_acquire; no-op on an unlimited pacer. */
void rate_seed(rate *r, double tps, int found);

/* What this pacer learned for the next job: 1 and *tps, *found when it was
 * the bottleneck long enough to tell, else 0.
 *   found = 1: it was throttled (it found the quota); *tps is the rate the
 *     account accepted while the pacer was the bottleneck since the first
 *     throttle (at least three seconds of it). The account's bucket was
 *     empty at that throttle, so this is the rate it sustains, neither a
 *     full bucket's first burst nor the peak of a probe;
 *   found = 0: never throttled, but it probed above where it started;
 *     *tps is the most calls the account accepted from it in one second
 *     (at most its rate), when that is above where it started: a lower
 *     bound of the quota. */
int rate_learned(rate *r, double *tps, int *found);

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
    double tps;       /* current pacing rate; 0 = unlimited */
    double start_tps; /* the rate it started from (rate_new or rate_seed) */
    int seeded;       /* it started from a learned rate (rate_seed) */
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
