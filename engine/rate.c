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
    double tps;  /* 0 = unlimited */
    double next; /* virtual time of the next free slot */
    double last_throttle;
    double last_adjust;
    int slow_start; /* still probing multiplicatively */
    int waited;     /* a caller waited since the last adjustment */
    unsigned long long calls, throttles;
    /* calls per whole second, a ring of WINDOW seconds */
    long long sec[WINDOW];
    unsigned long long per_sec[WINDOW];
};

double rate_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

rate *rate_new(const char *op, double start_tps)
{
    rate *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->op = op;
    r->tps = start_tps > 0 ? start_tps : 0;
    double now = rate_now();
    r->next = now;
    r->last_throttle = -1e9;
    r->last_adjust = now;
    r->slow_start = 1;
    return r;
}

void rate_free(rate *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void count_call(rate *r, double now)
{
    long long s = (long long)now;
    int k = (int)(s % WINDOW);
    if (r->sec[k] != s) {
        r->sec[k] = s;
        r->per_sec[k] = 0;
    }
    r->per_sec[k]++;
    r->calls++;
}

/* Probe up once per second while the pacer is the bottleneck. */
static void maybe_increase(rate *r, double now)
{
    if (now - r->last_adjust < 1.0)
        return;
    if (r->waited && now - r->last_throttle >= 1.0)
        r->tps *= r->slow_start ? 1.25 : 1.03;
    r->waited = 0;
    r->last_adjust = now;
}

int rate_acquire(rate *r, const rate_cancel_flag *cancel)
{
    pthread_mutex_lock(&r->mu);
    double now = rate_now();
    count_call(r, now);
    if (r->tps <= 0) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    maybe_increase(r, now);
    /* an idle pacer does not bank more than one slot */
    if (r->next < now - 1.0 / r->tps)
        r->next = now - 1.0 / r->tps;
    double slot = r->next;
    r->next += 1.0 / r->tps;
    if (slot > now)
        r->waited = 1;
    pthread_mutex_unlock(&r->mu);

    while (slot > now) {
        if (cancel && atomic_load(cancel))
            return -1;
        double d = slot - now;
        if (d > 0.05)
            d = 0.05;
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
        now = rate_now();
    }
    return cancel && atomic_load(cancel) ? -1 : 0;
}

void rate_throttled(rate *r)
{
    pthread_mutex_lock(&r->mu);
    double now = rate_now();
    r->throttles++;
    if (r->tps > 0 && now - r->last_throttle > 0.5) {
        /* one decrease per burst of throttles: they come from the same
         * excess, answered to several workers at once */
        r->tps *= 0.9;
        if (r->tps < 0.2)
            r->tps = 0.2;
        r->slow_start = 0;
        /* back off: nobody is sent for a moment */
        if (r->next < now + 0.2)
            r->next = now + 0.2;
    }
    r->last_throttle = now;
    r->last_adjust = now;
    pthread_mutex_unlock(&r->mu);
}

void rate_ok(rate *r)
{
    (void)r; /* increases are driven by waiting callers, see maybe_increase */
}

void rate_get_stats(rate *r, rate_stats *out)
{
    pthread_mutex_lock(&r->mu);
    double now = rate_now();
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
