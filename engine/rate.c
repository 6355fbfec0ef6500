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
    double next;    /* virtual time of the next free slot */
    double last_throttle;
    double last_decrease;
    double last_adjust;
    double born;    /* when the pacer was made (or its clock set) */
    int slow_start; /* still probing multiplicatively */
    int waited;     /* a caller waited since the last adjustment */
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
    double now = rate_now();
    r->next = now;
    r->last_throttle = -1e9;
    r->last_decrease = -1e9;
    r->last_adjust = now;
    r->born = now;
    r->slow_start = 1;
    for (int k = 0; k < WINDOW; k++)
        r->sec[k] = r->ok_sec[k] = r->thr_sec[k] = -1;
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
    r->born = now;
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
    /* x2 until the first throttle, x1.5 after 5 quiet seconds (the
     * quota was raised, another client left, or that throttle was a
     * hiccup); +3% a second in between */
    double quiet = now - r->last_throttle;
    if (r->waited && quiet >= 1.0) {
        r->tps *= r->slow_start ? 2.0 : quiet >= 5.0 ? 1.5 : 1.03;
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
         * from the same excess, answered to several workers at once. x0.9,
         * or straight down to just under the rate the account accepted
         * (at most halving at once) when the pacer was far above it. */
        double to = r->tps * 0.9;
        double ok = ok_rate(r, now);
        if (ok > 0 && r->tps > ok * 0.98) /* above what the account takes */
            to = ok * 0.98 > r->tps * 0.5 ? ok * 0.98 : r->tps * 0.5;
        else if (ok > 0) /* at it already: throttles of calls sent earlier */
            to = r->tps * 0.97;
        r->tps = to < 0.2 ? 0.2 : to;
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
    count_in(r->ok_sec, r->ok_per_sec, r->clock(r->clock_ctx));
    pthread_mutex_unlock(&r->mu);
}

void rate_get_stats(rate *r, rate_stats *out)
{
    pthread_mutex_lock(&r->mu);
    double now = r->clock(r->clock_ctx);
    out->op = r->op;
    out->tps = r->tps;
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
