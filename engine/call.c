/* One AWS IoT call with its retries (see call.h): the retry policy. */
#include "engine/call.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
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
/* While an outage is open: the pauses between probes grow from 1 s to 30 s
 * (half fixed, half jitter). */
#define OUTAGE_BASE_MS 1000
#define OUTAGE_CAP_MS 30000
#define RENEWALS_PER_CALL 2 /* renewed credentials refused again: systemic */
/* A call alone (the pre-flight, a job's last items) opens an outage after
 * this many systemic failures of its own in a row, when nothing else
 * answered in between. */
#define OWN_RUN_LIMIT 4

struct call_breaker {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the outage closed, the breaker tripped, a probe ended */
    int limit;
    long max_ms;
    int answered;        /* the endpoint has answered (any HTTP status) */
    int run;             /* systemic failures in a row, every caller */
    long long run_since; /* monotonic ms of the run's first failure */
    int open;
    long long since; /* monotonic ms of the outage's first error */
    int prober;      /* a probe is in flight */
    int probes;      /* failed probes of this outage */
    long long next_probe;
    unsigned outages;
    long long waited_ms; /* in outages closed so far */
    unsigned seed;
    char reason[400];
    atomic_int tripped;
    atomic_int worked; /* a call was accepted (IOT_OK or settled) */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

call_breaker *call_breaker_new(int limit, long max_outage_ms)
{
    call_breaker *b = xcalloc(1, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    b->limit = limit > 0 ? limit : 1;
    b->max_ms = max_outage_ms > 0 ? max_outage_ms : 0;
    b->seed = (unsigned)time(NULL) ^ (unsigned)(size_t)b;
    atomic_init(&b->tripped, 0);
    atomic_init(&b->worked, 0);
    return b;
}

void call_breaker_free(call_breaker *b)
{
    if (!b)
        return;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

int call_breaker_tripped(const call_breaker *b)
{
    return b && atomic_load(&((call_breaker *)b)->tripped);
}

void call_breaker_status(call_breaker *b, call_outage *out)
{
    memset(out, 0, sizeof *out);
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    long long now = now_ms();
    out->open = b->open;
    out->max_ms = b->max_ms;
    out->outages = b->outages;
    out->waited_ms = b->waited_ms;
    if (b->open) {
        out->for_ms = now - b->since;
        out->next_ms = b->prober || b->next_probe <= now ? 0 : b->next_probe - now;
        out->waited_ms += out->for_ms;
    }
    snprintf(out->reason, sizeof out->reason, "%s", b->reason);
    pthread_mutex_unlock(&b->mu);
}

/* mu held: the outage lasted its max. */
static void trip_locked(call_breaker *b)
{
    atomic_store(&b->tripped, 1);
    pthread_cond_broadcast(&b->cv);
}

typedef enum {
    ANS_SERVICE,  /* the service answered: not an outage */
    ANS_SYSTEMIC, /* 5xx, transport, credentials that cannot be renewed */
    ANS_RENEWED,  /* credentials refused, renewed: send again at once */
} answer_kind;

/* Tells the breaker of an answer; returns 1 when an outage is open after it
 * (the call then waits at the gate instead of counting a failure). force:
 * open at once. */
static int breaker_answer(call_breaker *b, int probe, answer_kind k, int force, int own,
                          const iot_result *res, const char *why)
{
    if (!b)
        return 0;
    pthread_mutex_lock(&b->mu);
    long long now = now_ms();
    long retry_after_ms = res ? res->retry_after_ms : 0;
    if (res && res->status > 0)
        b->answered = 1;
    /* An endpoint that never answered (refused, unknown host) at the start
     * of a job is more likely wrong than down: its failures stay the
     * call's, so a typo is reported after the call's attempts, not after
     * the max outage. */
    if (k == ANS_SYSTEMIC && !force && !b->answered && !b->open && res &&
        res->status == 0) {
        if (probe)
            b->prober = 0;
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    if (k == ANS_SERVICE) {
        b->run = 0;
        if (b->open) {
            b->open = 0;
            b->waited_ms += now - b->since;
            b->reason[0] = '\0';
        }
        if (probe)
            b->prober = 0;
        pthread_cond_broadcast(&b->cv);
    } else if (k == ANS_RENEWED) {
        if (probe) {
            b->prober = 0;
            b->next_probe = now;
            pthread_cond_broadcast(&b->cv);
        }
    } else {
        if (b->run++ == 0)
            b->run_since = now;
        if (why && *why)
            snprintf(b->reason, sizeof b->reason, "%s", why);
        if (!b->open &&
            (force || b->run >= b->limit || (own >= OWN_RUN_LIMIT && b->run >= own))) {
            b->open = 1;
            b->outages++;
            b->since = force ? now : b->run_since;
            b->probes = 0;
            b->prober = 0;
            b->next_probe = now + OUTAGE_BASE_MS / 2;
        }
        if (b->open && probe) {
            b->prober = 0;
            int n = b->probes < 5 ? b->probes : 5;
            b->probes++;
            long ceil_ms = (long)OUTAGE_BASE_MS << n;
            if (ceil_ms > OUTAGE_CAP_MS)
                ceil_ms = OUTAGE_CAP_MS;
            long ms =
                ceil_ms / 2 + (long)(rand_r(&b->seed) % (unsigned)(ceil_ms / 2 + 1));
            if (ms < retry_after_ms)
                ms = retry_after_ms;
            b->next_probe = now + ms;
            pthread_cond_broadcast(&b->cv);
        }
        if (b->open && now - b->since >= b->max_ms)
            trip_locked(b);
    }
    int open = b->open;
    pthread_mutex_unlock(&b->mu);
    return open;
}

/* Whether any call has been accepted: credentials refused before that are
 * wrong ones (a final answer), after it expired or revoked ones (an outage). */
static int breaker_worked(call_breaker *b)
{
    return b && atomic_load(&b->worked);
}

static void breaker_note_worked(call_breaker *b)
{
    if (!atomic_load(&b->worked))
        atomic_store(&b->worked, 1);
}

static int cancelled(const call_spec *sp)
{
    return sp->cancel && atomic_load(sp->cancel);
}

/* Waits while an outage is open; *probe = 1 when this call is its probe.
 * Returns 0 to send, or CALL_PAUSED / CALL_CANCELLED. */
static int gate_wait(call_breaker *b, const call_spec *sp, int *probe)
{
    *probe = 0;
    if (!b)
        return 0;
    pthread_mutex_lock(&b->mu);
    int rc = 0;
    for (;;) {
        if (atomic_load(&b->tripped)) {
            rc = CALL_PAUSED;
            break;
        }
        if (!b->open)
            break;
        if (cancelled(sp)) {
            rc = CALL_CANCELLED;
            break;
        }
        long long now = now_ms();
        if (now - b->since >= b->max_ms) {
            trip_locked(b);
            continue;
        }
        if (!b->prober && now >= b->next_probe) {
            b->prober = 1;
            *probe = 1;
            break;
        }
        long long until = now + SLEEP_SLICE_MS;
        if (!b->prober && b->next_probe < until)
            until = b->next_probe;
        if (b->since + b->max_ms < until)
            until = b->since + b->max_ms;
        struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
        pthread_cond_timedwait(&b->cv, &b->mu, &ts);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

/* A probe that ends without an answer (cancel, a hook) lets another go. */
static void probe_abandoned(call_breaker *b)
{
    pthread_mutex_lock(&b->mu);
    b->prober = 0;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void backoff(const call_spec *sp, unsigned int *seed, int exp, long base_ms,
                    long cap_ms, long at_least_ms)
{
    long ceil_ms = base_ms << (exp < 16 ? exp : 16);
    if (ceil_ms > cap_ms || ceil_ms <= 0)
        ceil_ms = cap_ms;
    long ms = (long)(rand_r(seed) % (unsigned long)(ceil_ms + 1));
    if (ms < at_least_ms) /* Retry-After */
        ms = at_least_ms;
    while (ms > 0 && !cancelled(sp) && !call_breaker_tripped(sp->breaker)) {
        long k = ms > SLEEP_SLICE_MS ? SLEEP_SLICE_MS : ms;
        sleep_ms(k);
        ms -= k;
    }
}

/* "credentials refused (CODE): why" for the breaker's reason. */
static void creds_reason(char *out, size_t n, const iot_result *res, const char *why)
{
    char raw[IOT_MSG_MAX + 200];
    iot_result_format(res, raw, sizeof raw);
    snprintf(out, n, "credentials refused (%s); no new ones: %s", raw, why);
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
    unsigned local_gen = 0;
    unsigned *gen = sp->creds_gen ? sp->creds_gen : &local_gen;
    int renewed_in_row = 0;
    for (;;) {
        int probe;
        int gate = gate_wait(sp->breaker, sp, &probe);
        if (gate)
            return out->outcome = (call_outcome)gate;
        if ((sp->pace && rate_acquire(sp->pace, sp->cancel)) ||
            (sp->before && sp->before(sp->hook_ctx, out->attempts))) {
            if (probe)
                probe_abandoned(sp->breaker);
            return out->outcome = CALL_CANCELLED;
        }
        /* the newest credentials, last thing before sending (a wait for a
         * slot can outlast them) */
        if (sp->creds && sp->client)
            keeper_sync(sp->creds, sp->client, gen);

        unsigned gen_sent = *gen;
        memset(res, 0, sizeof *res);
        if (sp->client) /* its trace (--verbose) shows the attempt */
            iot_client_set_attempt(sp->client, out->attempts + 1);
        iot_class c = res->cls = fn(fn_ctx, res);
        out->attempts++;
        out->cls = c;
        int done = c == IOT_OK ||
                   (c != IOT_CANCELLED && sp->settled && sp->settled(sp->hook_ctx, res));

        /* What kind of answer, for the breaker. */
        char why[600] = "";
        int systemic = !done && (c == IOT_RETRY_SERVER || c == IOT_RETRY_TRANSPORT);
        int creds_refused = !done && c == IOT_TERMINAL && res->creds_refused;
        int renewed = 0;
        if (creds_refused) {
            char kw[300] = "";
            if (renewed_in_row < RENEWALS_PER_CALL && sp->creds &&
                keeper_renew(sp->creds, gen_sent, kw, sizeof kw)) {
                renewed = 1;
                renewed_in_row++;
                out->renewals++;
            } else if (!breaker_worked(sp->breaker)) {
                /* refused before anything was accepted: wrong credentials,
                 * not expired ones; a final answer, reported at once */
                creds_refused = 0;
            } else {
                creds_reason(why, sizeof why, res,
                             renewed_in_row ? "the renewed credentials were refused too"
                                            : kw);
                if (!sp->creds)
                    creds_reason(why, sizeof why, res, "they cannot be refreshed");
            }
        } else if (systemic) {
            iot_result_format(res, why, sizeof why);
        }
        int open = 0;
        if (sp->breaker && c != IOT_CANCELLED) {
            if (renewed)
                breaker_answer(sp->breaker, probe, ANS_RENEWED, 0, 0, res, NULL);
            else if (systemic || creds_refused)
                open = breaker_answer(sp->breaker, probe, ANS_SYSTEMIC, creds_refused,
                                      out->failures + 1, res, why);
            else
                breaker_answer(sp->breaker, probe, ANS_SERVICE, 0, 0, res, NULL);
            if (done)
                breaker_note_worked(sp->breaker);
        } else if (probe) {
            probe_abandoned(sp->breaker);
        }
        if (!creds_refused)
            renewed_in_row = 0;

        call_next next;
        call_outcome end = CALL_FAILED;
        int waits = 0; /* an outage's failure: wait at the gate, not counted */
        if (done) {
            next = CALL_NEXT_DONE;
            end = CALL_DONE;
        } else if (c == IOT_CANCELLED) {
            next = CALL_NEXT_STOP;
            end = CALL_CANCELLED;
        } else if (renewed) {
            next = CALL_NEXT_RETRY;
        } else if (open && (systemic || creds_refused)) {
            waits = 1;
            next = CALL_NEXT_RETRY;
            out->failures = 0; /* the item's own count starts over after it */
        } else if (c == IOT_RETRY_THROTTLE) {
            next =
                ++out->throttles > CALL_MAX_THROTTLES ? CALL_NEXT_FAIL : CALL_NEXT_RETRY;
        } else if (systemic) {
            next = ++out->failures >= max_attempts ? CALL_NEXT_FAIL : CALL_NEXT_RETRY;
        } else {
            next = CALL_NEXT_FAIL;
        }
        if (next == CALL_NEXT_RETRY && cancelled(sp)) {
            next = CALL_NEXT_STOP;
            end = CALL_CANCELLED;
        } else if (next == CALL_NEXT_RETRY && call_breaker_tripped(sp->breaker)) {
            next = CALL_NEXT_STOP;
            end = CALL_PAUSED;
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
        if (waits || renewed)
            continue; /* the gate paces the probes */
        if (c == IOT_RETRY_THROTTLE)
            backoff(sp, seed,
                    out->throttles < THROTTLE_MAX_EXP ? out->throttles : THROTTLE_MAX_EXP,
                    THROTTLE_BASE_MS, THROTTLE_CAP_MS, res->retry_after_ms);
        else
            backoff(sp, seed, out->failures, FAILURE_BASE_MS, FAILURE_CAP_MS,
                    res->retry_after_ms);
    }
}
