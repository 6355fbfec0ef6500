#include "engine/rate.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/xalloc.h"

enum { WINDOW = 4 }; /* seconds of history for recent_tps */

struct rate {
    pthread_mutex_t mu;
    const char *op;
    rate_clock_fn clock;
    rate_sleep_fn sleep;
    void *clock_ctx;
    double tps;     /* 0 = unlimited */
    double ceiling; /* never probes above this: RATE_CEILING_FACTOR x start */
    double start;   /* the rate it started from (rate_new, or rate_seed) */
    double scale;   /* the additive step is AI_STEP x this */
    double next;    /* virtual time of the next free slot */
    double last_throttle;
    double last_decrease;
    double last_adjust;
    double last_mult; /* the last multiplicative probe (x2, x1.5, a seed) */
    double born;      /* when the pacer was made (or its clock set) */
    int slow_start;   /* still probing multiplicatively */
    int seeded;       /* rate_seed set the start */
    int learning;     /* throttled in this pacer's life: the account's bucket
                       * was empty then, so what it accepted since is what
                       * it allows, not a full bucket's burst */
    int waited;       /* a caller waited since the last adjustment */
    /* what rate_learned reports: the current period (the rate is constant
     * in it: it ends at each adjustment), and the sum of the periods in
     * which the pacer was the bottleneck since its first throttle */
    double period_start;
    unsigned long long period_calls, period_ok;
    double sat_time;
    unsigned long long sat_ok;
    /* accepted calls in the current whole second, and the most in one */
    long long ok_this_sec;
    unsigned long long ok_this_n, ok_max_n;
    /* waiting callers take tickets in order; `served` counts the tickets
     * done (a slot taken, or given up on a cancel) */
    unsigned long long tickets, served;
    unsigned long long calls, throttles;
    /* calls, and accepted calls, per whole second: rings of WINDOW seconds */
    long long sec[WINDOW];
    unsigned long long per_sec[WINDOW];
    long long ok_sec[WINDOW];
    unsigned long long ok_per_sec[WINDOW];
    long long thr_sec[WINDOW]; /* throttled calls per whole second */
    unsigned long long thr_per_sec[WINDOW];
};

/* Throttles that are a small share of many answers are not the pacer's
 * doing (an account shared with other clients, a service hiccup): a rate
 * above the quota by x gets about x / (1 + x) of its calls throttled, so
 * less than SPORADIC_SHARE of at least SPORADIC_MIN answers over the last
 * two seconds neither lowers the rate nor holds back its increase. Without
 * this, 1% of calls throttled at random holds any rate near 1/0.01 calls
 * per second, whatever the quota. */
#define SPORADIC_SHARE 0.03
#define SPORADIC_MIN 50

/* AIMD (rate.h): the multiplicative decrease, and the additive step per
 * second as a share of the pacer's scale. Together they set how fast
 * stations sharing a quota even out and how often they are throttled. In
 * the model of tests/rate_test.cc (StationsShareFairly, 32 runs of three
 * stations) x0.85 and 5% gave a mean fairness (first finish / last finish)
 * of 0.90, worst 0.78, 123 throttles a run; x0.9, x0.8 and x0.7 0.86-0.87,
 * worst 0.70-0.73 (159, 98, 74 throttles); a step of 3% 0.87, of 10% 0.89,
 * both worst 0.69 (97, 170 throttles). The steps before (+3% of the rate,
 * decreases to what the account accepted): 0.74, worst 0.54, 72. */
#define MD_FACTOR 0.85
#define AI_STEP 0.05
/* A throttle this soon after a multiplicative probe is that probe's
 * overshoot: straight down to what the account accepted. So is a pacer
 * most of whose calls are throttled (at least FAR_SHARE of the answers of
 * the last two seconds, and FAR_MIN throttles among them): it is far above
 * the quota (a table above a lowered quota, a learned rate on an account
 * that others now share). FAR_MIN keeps the few answers of a small share
 * from looking like that by chance. */
#define PROBE_OVERSHOOT_S 2.0
#define FAR_SHARE 0.5
#define FAR_MIN 15
/* rate_learned: at least this much time as the bottleneck after the quota
 * was found, and "the bottleneck" means it handed out at least this share
 * of the slots its rate allowed. */
#define LEARN_MIN_S 3.0
#define SATURATED_SHARE 0.9

double rate_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_clock(void *ctx)
{
    (void)ctx;
    return rate_now();
}

static void real_sleep(void *ctx, double d)
{
    (void)ctx;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

rate *rate_new(const char *op, double start_tps)
{
    rate *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->op = op;
    r->clock = real_clock;
    r->sleep = real_sleep;
    r->tps = start_tps > 0 ? start_tps : 0;
    r->ceiling = RATE_CEILING_FACTOR * r->tps;
    r->start = r->scale = r->tps;
    double now = rate_now();
    r->next = now;
    r->last_throttle = -1e9;
    r->last_decrease = -1e9;
    r->last_mult = -1e9;
    r->last_adjust = now;
    r->period_start = now;
    r->born = now;
    r->slow_start = 1;
    for (int k = 0; k < WINDOW; k++)
        r->sec[k] = r->ok_sec[k] = r->thr_sec[k] = -1;
    r->ok_this_sec = -1;
    return r;
}

void rate_set_clock(rate *r, rate_clock_fn clock, rate_sleep_fn sleep, void *ctx)
{
    pthread_mutex_lock(&r->mu);
    r->clock = clock ? clock : real_clock;
    r->sleep = sleep ? sleep : real_sleep;
    r->clock_ctx = clock ? ctx : NULL;
    double now = r->clock(r->clock_ctx);
    r->next = now;
    r->last_adjust = now;
    r->period_start = now;
    r->born = now;
    pthread_mutex_unlock(&r->mu);
}

void rate_seed(rate *r, double tps, int found)
{
    pthread_mutex_lock(&r->mu);
    if (r->tps > 0 && tps > 0) {
        r->tps = tps < r->ceiling ? tps : r->ceiling;
        r->start = r->tps;
        r->seeded = 1;
        if (r->tps > r->scale)
            r->scale = r->tps;
        double now = r->clock(r->clock_ctx);
        /* A learned rate is a guess about today's account: when it is
         * throttled at once (quotas lowered, other stations on it), it is
         * undone like a probe's overshoot. */
        r->last_mult = now;
        if (found) {
            /* no slow start: after a cool-down second it probes x1.5 per
             * quiet second until it is throttled, then as usual */
            r->slow_start = 0;
            r->last_throttle = now;
            r->last_adjust = now;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

void rate_free(rate *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void count_in(long long *sec, unsigned long long *per_sec, double now)
{
    long long s = (long long)now;
    int k = (int)(s % WINDOW);
    if (sec[k] != s) {
        sec[k] = s;
        per_sec[k] = 0;
    }
    per_sec[k]++;
}

static void count_call(rate *r, double now)
{
    count_in(r->sec, r->per_sec, now);
    r->calls++;
    r->period_calls++;
}

/* Ends the current period (before the rate changes): once the pacer has
 * been throttled, a period in which it handed out (almost) every slot its
 * rate allowed was one where it was the bottleneck, and what the account
 * accepted meanwhile counts towards rate_learned. */
static void end_period(rate *r, double now)
{
    double dt = now - r->period_start;
    if (r->learning && r->tps > 0 && dt > 0 &&
        (double)r->period_calls + 1 >= SATURATED_SHARE * r->tps * dt) {
        r->sat_time += dt;
        r->sat_ok += r->period_ok;
    }
    r->period_start = now;
    r->period_calls = r->period_ok = 0;
}

/* Accepted calls per second over the last two to three seconds (the two
 * whole seconds before this one, and this one so far), or since the pacer
 * was made if that is shorter; 0 with less than half a second to go by. */
static double ok_rate(const rate *r, double now)
{
    long long s = (long long)now;
    double from = (double)(s - 2) > r->born ? (double)(s - 2) : r->born;
    if (now - from < 0.5)
        return 0;
    unsigned long long n = 0;
    for (long long t = s - 2; t <= s; t++) {
        int k = (int)(t % WINDOW);
        if (r->ok_sec[k] == t)
            n += r->ok_per_sec[k];
    }
    return (double)n / (now - from);
}

/* Answers of the last two to three seconds (as ok_rate): accepted, and
 * throttled. */
static void recent_answers(const rate *r, double now, unsigned long long *ok,
                           unsigned long long *thr)
{
    long long s = (long long)now;
    *ok = *thr = 0;
    for (long long t = s - 2; t <= s; t++) {
        int k = (int)(t % WINDOW);
        if (r->ok_sec[k] == t)
            *ok += r->ok_per_sec[k];
        if (r->thr_sec[k] == t)
            *thr += r->thr_per_sec[k];
    }
}

/* Probe up once per second while the pacer is the bottleneck. */
static void maybe_increase(rate *r, double now)
{
    if (now - r->last_adjust < 1.0)
        return;
    end_period(r, now);
    /* x2 until the first throttle, x1.5 after 5 quiet seconds (the
     * quota was raised, another client left, or that throttle was a
     * hiccup), and x1.5 from a learned rate until its first throttle (it
     * may have been a share of the quota that other stations used then);
     * the additive step in between */
    double quiet = now - r->last_throttle;
    if (r->waited && quiet >= 1.0) {
        if (r->slow_start || quiet >= 5.0 || (r->seeded && !r->learning)) {
            r->tps *= r->slow_start ? 2.0 : 1.5;
            r->last_mult = now;
        } else {
            r->tps += AI_STEP * r->scale;
        }
        if (r->tps > r->ceiling)
            r->tps = r->ceiling;
    }
    r->waited = 0;
    r->last_adjust = now;
}

int rate_acquire(rate *r, const rate_cancel_flag *cancel)
{
    pthread_mutex_lock(&r->mu);
    rate_sleep_fn sleep_fn = r->sleep;
    rate_clock_fn clock_fn = r->clock;
    void *ctx = r->clock_ctx;
    int waiting = 0;
    unsigned long long ticket = 0;
    for (;;) {
        double now = clock_fn(ctx);
        if (r->tps > 0) {
            maybe_increase(r, now);
            /* an idle pacer does not bank more than one slot */
            if (r->next < now - 1.0 / r->tps)
                r->next = now - 1.0 / r->tps;
        }
        if (r->tps <= 0 || r->next <= now) {
            /* The slot is taken when it is due, not reserved ahead, so a
             * change of rate applies to every caller at once. */
            if (r->tps > 0)
                r->next += 1.0 / r->tps;
            count_call(r, now);
            if (waiting)
                r->served++;
            pthread_mutex_unlock(&r->mu);
            return waiting && cancel && atomic_load(cancel) ? -1 : 0;
        }
        if (!waiting) {
            waiting = 1;
            ticket = r->tickets++;
        }
        r->waited = 1;
        /* Sleep until about this caller's turn (the callers that came
         * first go first), so one caller wakes per slot rather than all;
         * at most 50 ms, to see a cancel and a change of rate. */
        double ahead = ticket > r->served ? (double)(ticket - r->served) : 0;
        double d = r->next - now + ahead / r->tps;
        if (d > 0.05)
            d = 0.05;
        pthread_mutex_unlock(&r->mu);
        if (cancel && atomic_load(cancel)) {
            pthread_mutex_lock(&r->mu);
            r->served++; /* its turn is given up */
            pthread_mutex_unlock(&r->mu);
            return -1;
        }
        sleep_fn(ctx, d);
        pthread_mutex_lock(&r->mu);
    }
}

void rate_throttled(rate *r)
{
    pthread_mutex_lock(&r->mu);
    double now = r->clock(r->clock_ctx);
    r->throttles++;
    count_in(r->thr_sec, r->thr_per_sec, now);
    unsigned long long ok_n, thr_n;
    recent_answers(r, now, &ok_n, &thr_n);
    if (ok_n + thr_n >= SPORADIC_MIN &&
        (double)thr_n < SPORADIC_SHARE * (double)(ok_n + thr_n)) {
        pthread_mutex_unlock(&r->mu); /* sporadic: not the pacer's doing */
        return;
    }
    if (r->tps > 0 && now - r->last_decrease >= 0.5) {
        /* At most one decrease per half second: throttles come in bursts
         * from the same excess, answered to several workers at once.
         * MD_FACTOR; or, right after a multiplicative probe or when far
         * above the quota, straight down to just under the rate the account
         * accepted (at most halving at once). Only then: what the account
         * accepted from this pacer is in proportion to its share, so going
         * to it every time would keep the shares of stations on one quota
         * as unequal as they are. */
        end_period(r, now);
        r->learning = 1;
        double to = r->tps * MD_FACTOR;
        double ok = ok_rate(r, now);
        int far = thr_n >= FAR_MIN && (double)thr_n >= FAR_SHARE * (double)(ok_n + thr_n);
        if (ok > 0 && (far || now - r->last_mult < PROBE_OVERSHOOT_S) && ok * 0.98 < to)
            to = ok * 0.98 > r->tps * 0.5 ? ok * 0.98 : r->tps * 0.5;
        r->tps = to < 0.2 ? 0.2 : to;
        if (r->slow_start && r->tps > r->scale) /* where slow start found it */
            r->scale = r->tps;
        if (far && r->tps < r->scale) /* the start was far above the quota */
            r->scale = r->tps;
        r->slow_start = 0;
        r->last_decrease = now;
        /* back off: nobody is sent for one slot (at most 0.2 s), so the
         * account's bucket gets a token back */
        double pause = 1.0 / r->tps < 0.2 ? 1.0 / r->tps : 0.2;
        if (r->next < now + pause)
            r->next = now + pause;
    }
    r->last_throttle = now;
    r->last_adjust = now;
    pthread_mutex_unlock(&r->mu);
}

void rate_ok(rate *r)
{
    /* increases are driven by waiting callers (maybe_increase); accepted
     * calls tell a decrease how far to go */
    pthread_mutex_lock(&r->mu);
    double now = r->clock(r->clock_ctx);
    count_in(r->ok_sec, r->ok_per_sec, now);
    r->period_ok++;
    if ((long long)now != r->ok_this_sec) {
        r->ok_this_sec = (long long)now;
        r->ok_this_n = 0;
    }
    if (++r->ok_this_n > r->ok_max_n)
        r->ok_max_n = r->ok_this_n;
    pthread_mutex_unlock(&r->mu);
}

int rate_learned(rate *r, double *tps, int *found)
{
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    if (r->tps > 0 && r->learning && r->sat_time >= LEARN_MIN_S) {
        *tps = (double)r->sat_ok / r->sat_time;
        *found = 1;
        rc = *tps > 0;
    } else if (r->tps > 0 && !r->learning && r->tps > r->start) {
        /* what the account was seen to accept in one second, not the
         * pacing rate: a pacer that is not the bottleneck may have probed
         * far above what it ever sent */
        double most = (double)r->ok_max_n;
        *tps = most < r->tps ? most : r->tps;
        *found = 0;
        rc = *tps > r->start;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void rate_get_stats(rate *r, rate_stats *out)
{
    pthread_mutex_lock(&r->mu);
    double now = r->clock(r->clock_ctx);
    out->op = r->op;
    out->tps = r->tps;
    out->start_tps = r->start;
    out->seeded = r->seeded;
    out->calls = r->calls;
    out->throttles = r->throttles;
    unsigned long long n = 0;
    long long s = (long long)now;
    int secs = 0;
    for (int k = 0; k < WINDOW; k++) {
        if (r->sec[k] < s && r->sec[k] >= s - (WINDOW - 1)) {
            n += r->per_sec[k];
            secs++;
        }
    }
    out->recent_tps = secs ? (double)n / secs : 0;
    pthread_mutex_unlock(&r->mu);
}
