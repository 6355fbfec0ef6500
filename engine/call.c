/* One AWS IoT call with its retries (see call.h): the retry policy. */
#include "engine/call.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"

/* The pauses between attempts: full jitter, uniform in
 * [0, min(cap, base * 2^n)] (AWS's "exponential backoff and jitter"). After a
 * throttle the pacer has already slowed down, so the pause is short and
 * stops growing after the fourth; after a 5xx or a transport failure it
 * grows with each failure. */
#define THROTTLE_BASE_MS 50
#define THROTTLE_CAP_MS 2000
#define THROTTLE_MAX_EXP 4
#define FAILURE_BASE_MS 100
#define FAILURE_CAP_MS 5000
#define SLEEP_SLICE_MS 50 /* how soon a pause sees the cancel flag */

struct call_breaker {
    atomic_int run;     /* transport failures in a row, every caller */
    atomic_int tripped; /* set once, by the failure that reached the limit */
    int limit;
};

call_breaker *call_breaker_new(int limit)
{
    call_breaker *b = xcalloc(1, sizeof *b);
    atomic_init(&b->run, 0);
    atomic_init(&b->tripped, 0);
    b->limit = limit;
    return b;
}

void call_breaker_free(call_breaker *b)
{
    free(b);
}

int call_breaker_tripped(const call_breaker *b)
{
    return b && atomic_load(&((call_breaker *)b)->tripped);
}

/* Counts an answer; 1 when this one trips the breaker. */
static int breaker_note(call_breaker *b, iot_class c)
{
    if (!b)
        return 0;
    if (c == IOT_RETRY_TRANSPORT)
        return atomic_fetch_add(&b->run, 1) + 1 >= b->limit &&
               !atomic_exchange(&b->tripped, 1);
    if (c != IOT_CANCELLED)
        atomic_store(&b->run, 0);
    return 0;
}

static int cancelled(const call_spec *sp)
{
    return sp->cancel && atomic_load(sp->cancel);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void backoff(const call_spec *sp, unsigned int *seed, int exp, long base_ms,
                    long cap_ms)
{
    long ceil_ms = base_ms << (exp < 16 ? exp : 16);
    if (ceil_ms > cap_ms || ceil_ms <= 0)
        ceil_ms = cap_ms;
    long ms = (long)(rand_r(seed) % (unsigned long)(ceil_ms + 1));
    while (ms > 0 && !cancelled(sp)) {
        long k = ms > SLEEP_SLICE_MS ? SLEEP_SLICE_MS : ms;
        sleep_ms(k);
        ms -= k;
    }
}

call_outcome call_run(call_report *out, const call_spec *sp, call_fn fn, void *fn_ctx,
                      iot_result *res)
{
    memset(out, 0, sizeof *out);
    memset(res, 0, sizeof *res);
    out->cls = IOT_CANCELLED;
    int max_attempts = sp->max_attempts > 0 ? sp->max_attempts : CALL_DEFAULT_ATTEMPTS;
    unsigned int local_seed = (unsigned int)time(NULL) ^ (unsigned int)(size_t)out;
    unsigned int *seed = sp->seed ? sp->seed : &local_seed;
    for (;;) {
        if (sp->pace && rate_acquire(sp->pace, sp->cancel))
            return out->outcome = CALL_CANCELLED;
        if (sp->before && sp->before(sp->hook_ctx, out->attempts))
            return out->outcome = CALL_CANCELLED;

        memset(res, 0, sizeof *res);
        iot_class c = res->cls = fn(fn_ctx, res);
        out->attempts++;
        out->cls = c;
        int done = c == IOT_OK ||
                   (c != IOT_CANCELLED && sp->settled && sp->settled(sp->hook_ctx, res));
        int tripped = breaker_note(sp->breaker, c);

        call_next next;
        call_outcome end = CALL_FAILED;
        if (done) {
            next = CALL_NEXT_DONE;
            end = CALL_DONE;
        } else if (c == IOT_CANCELLED) {
            next = CALL_NEXT_STOP;
            end = CALL_CANCELLED;
        } else if (tripped) {
            next = CALL_NEXT_STOP;
            end = CALL_UNREACHABLE;
        } else if (c == IOT_RETRY_THROTTLE) {
            next =
                ++out->throttles > CALL_MAX_THROTTLES ? CALL_NEXT_FAIL : CALL_NEXT_RETRY;
        } else if (c == IOT_RETRY_SERVER || c == IOT_RETRY_TRANSPORT) {
            next = ++out->failures >= max_attempts ? CALL_NEXT_FAIL : CALL_NEXT_RETRY;
        } else {
            next = CALL_NEXT_FAIL;
        }
        if (next == CALL_NEXT_RETRY && cancelled(sp)) {
            next = CALL_NEXT_STOP;
            end = CALL_CANCELLED;
        }
        if (next == CALL_NEXT_FAIL && iot_class_retryable(c))
            out->gave_up = 1;

        /* the pacer hears of accepted calls and of throttles */
        if (sp->pace && done)
            rate_ok(sp->pace);
        else if (sp->pace && c == IOT_RETRY_THROTTLE)
            rate_throttled(sp->pace);
        if (sp->after)
            sp->after(sp->hook_ctx, res, done, next);

        if (next != CALL_NEXT_RETRY)
            return out->outcome = end;
        if (c == IOT_RETRY_THROTTLE)
            backoff(sp, seed,
                    out->throttles < THROTTLE_MAX_EXP ? out->throttles : THROTTLE_MAX_EXP,
                    THROTTLE_BASE_MS, THROTTLE_CAP_MS);
        else
            backoff(sp, seed, out->failures, FAILURE_BASE_MS, FAILURE_CAP_MS);
    }
}
