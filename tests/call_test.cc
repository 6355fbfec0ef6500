// The one retry policy (engine/call.h) against scripted answers: what is
// retried and how often, what the pacer and the hooks hear, cancel, the
// caller's idempotency rule, the breaker shared by callers.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <unistd.h>
#include <cstring>
#include <vector>

#include "engine/call.h"
#include "engine/keeper.h"
#include "engine/rate.h"

namespace
{

struct Script {
    std::vector<iot_class> answers;
    size_t next = 0;
    long status_409_at = -1; // answer index that is a 409
};

iot_class scripted(void *ctx, iot_result *res)
{
    Script *s = static_cast<Script *>(ctx);
    size_t i = s->next < s->answers.size() ? s->next : s->answers.size() - 1;
    s->next++;
    iot_class c = s->answers[i];
    res->status = c == IOT_OK                   ? 200
                  : c == IOT_RETRY_THROTTLE     ? 400
                  : c == IOT_RETRY_SERVER       ? 503
                  : (long)i == s->status_409_at ? 409
                  : c == IOT_TERMINAL           ? 400
                                                : 0;
    snprintf(res->code, sizeof res->code, "%s",
             res->status == 409 ? "ResourceAlreadyExistsException" : "");
    return c;
}

struct Hooks {
    std::vector<int> before;
    std::vector<call_next> after;
    int stop_before_at = -1;
};

int before(void *ctx, int attempt)
{
    Hooks *h = static_cast<Hooks *>(ctx);
    h->before.push_back(attempt);
    return attempt == h->stop_before_at ? -1 : 0;
}

void after(void *ctx, const iot_result *, int, call_next next)
{
    static_cast<Hooks *>(ctx)->after.push_back(next);
}

int settled_409(void *, const iot_result *res)
{
    return res->status == 409;
}

struct Fixture {
    rate *pace = rate_new("Test", 0); // unlimited: counts, never waits
    rate_cancel_flag cancel{0};
    unsigned int seed = 1;
    Hooks hooks;
    call_spec spec;
    Fixture(int max_attempts)
    {
        memset(&spec, 0, sizeof spec);
        spec.pace = pace;
        spec.cancel = &cancel;
        spec.max_attempts = max_attempts;
        spec.seed = &seed;
        spec.before = before;
        spec.after = after;
        spec.hook_ctx = &hooks;
    }
    ~Fixture()
    {
        rate_free(pace);
    }
    rate_stats stats()
    {
        rate_stats st;
        rate_get_stats(pace, &st);
        return st;
    }
};

} // namespace

TEST(Call, OkAtOnce)
{
    Fixture f(3);
    Script s{{IOT_OK}};
    call_report r;
    iot_result res;
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &s, &res));
    EXPECT_EQ(1, r.attempts);
    EXPECT_EQ(IOT_OK, r.cls);
    EXPECT_EQ(IOT_OK, res.cls);
    EXPECT_EQ(1ull, f.stats().calls);
    EXPECT_EQ(std::vector<int>({0}), f.hooks.before);
    EXPECT_EQ(std::vector<call_next>({CALL_NEXT_DONE}), f.hooks.after);
}

TEST(Call, ServerErrorsRetriedUpToMaxAttempts)
{
    Fixture f(3);
    Script s{{IOT_RETRY_SERVER, IOT_RETRY_TRANSPORT, IOT_RETRY_SERVER, IOT_OK}};
    call_report r;
    iot_result res;
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &s, &res));
    EXPECT_EQ(3, r.attempts);
    EXPECT_EQ(3, r.failures);
    EXPECT_EQ(1, r.gave_up);
    EXPECT_EQ(IOT_RETRY_SERVER, r.cls);
    EXPECT_EQ(503, res.status);
    EXPECT_EQ(std::vector<call_next>({CALL_NEXT_RETRY, CALL_NEXT_RETRY, CALL_NEXT_FAIL}),
              f.hooks.after);

    Fixture g(3);
    Script t{{IOT_RETRY_SERVER, IOT_RETRY_SERVER, IOT_OK}};
    EXPECT_EQ(CALL_DONE, call_run(&r, &g.spec, scripted, &t, &res));
    EXPECT_EQ(3, r.attempts);
    EXPECT_EQ(0, r.gave_up);
}

TEST(Call, ThrottlesAreAbsorbedAndToldToThePacer)
{
    Fixture f(1); // one server failure allowed; throttles do not count
    Script s{{IOT_RETRY_THROTTLE, IOT_RETRY_THROTTLE, IOT_RETRY_THROTTLE, IOT_OK}};
    call_report r;
    iot_result res;
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &s, &res));
    EXPECT_EQ(4, r.attempts);
    EXPECT_EQ(3, r.throttles);
    EXPECT_EQ(0, r.failures);
    EXPECT_EQ(3ull, f.stats().throttles);
    EXPECT_EQ(4ull, f.stats().calls);
}

TEST(Call, TerminalAnswersAreNeverRetried)
{
    Fixture f(5);
    Script s{{IOT_TERMINAL, IOT_OK}};
    call_report r;
    iot_result res;
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &s, &res));
    EXPECT_EQ(1, r.attempts);
    EXPECT_EQ(0, r.gave_up);
    EXPECT_EQ(IOT_TERMINAL, r.cls);
}

TEST(Call, SettledAnswerIsDone)
{
    Fixture f(5);
    f.spec.settled = settled_409;
    Script s{{IOT_RETRY_SERVER, IOT_TERMINAL}, 0, 1};
    call_report r;
    iot_result res;
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &s, &res));
    EXPECT_EQ(2, r.attempts);
    EXPECT_EQ(IOT_TERMINAL, r.cls) << "the caller sees that the work was already there";
    EXPECT_EQ(409, res.status);
}

TEST(Call, CancelAndTheBeforeHookStopIt)
{
    Fixture f(5);
    f.cancel = 1;
    Script s{{IOT_RETRY_SERVER, IOT_OK}};
    call_report r;
    iot_result res;
    // a cancelled call may be sent (the client ends it at once); it is not retried
    EXPECT_EQ(CALL_CANCELLED, call_run(&r, &f.spec, scripted, &s, &res));
    EXPECT_EQ(1, r.attempts);
    EXPECT_EQ(std::vector<call_next>({CALL_NEXT_STOP}), f.hooks.after);

    Fixture g(5);
    g.hooks.stop_before_at = 1;
    Script t{{IOT_RETRY_SERVER, IOT_OK}};
    EXPECT_EQ(CALL_CANCELLED, call_run(&r, &g.spec, scripted, &t, &res));
    EXPECT_EQ(1, r.attempts);
    EXPECT_EQ(std::vector<int>({0, 1}), g.hooks.before);
}

TEST(Call, SporadicFailuresAreTheItemsOwnAndOpenNoOutage)
{
    call_breaker *b = call_breaker_new(3, 10000);
    Fixture f(1);
    f.spec.breaker = b;
    call_report r;
    iot_result res;
    Script down{{IOT_RETRY_SERVER}};
    Script up{{IOT_OK}};
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &up, &res)); // resets the run
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_EQ(0, ou.open);
    EXPECT_EQ(0u, ou.outages);
    EXPECT_FALSE(call_breaker_tripped(b));
    call_breaker_free(b);
}

double mono_s()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(Call, AnOutageIsWaitedOutWithoutUsingTheItemsAttempts)
{
    // limit 3: the third failure in a row opens the outage; the call that
    // opened it waits, probes, and is done when the service answers, though
    // it may fail only once of its own (max_attempts 1)
    call_breaker *b = call_breaker_new(3, 60000);
    Fixture f(1);
    f.spec.breaker = b;
    call_report r;
    iot_result res;
    Script down{{IOT_RETRY_SERVER}};
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    Script outage{{IOT_RETRY_SERVER, IOT_RETRY_SERVER, IOT_RETRY_SERVER, IOT_OK}};
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &outage, &res));
    EXPECT_EQ(4, r.attempts);
    EXPECT_EQ(0, r.failures);
    EXPECT_EQ(0, r.gave_up);
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_EQ(0, ou.open); // closed by the answer
    EXPECT_EQ(1u, ou.outages);
    EXPECT_GT(ou.waited_ms, 0);
    EXPECT_FALSE(call_breaker_tripped(b));
    call_breaker_free(b);
}

TEST(Call, ACallAloneOpensAnOutageAfterFourFailuresInARow)
{
    // the pre-flight: one caller; a limit of 32 would never be reached
    call_breaker *b = call_breaker_new(32, 60000);
    Fixture f(6);
    f.spec.breaker = b;
    call_report r;
    iot_result res;
    Script s{{IOT_RETRY_SERVER, IOT_RETRY_SERVER, IOT_RETRY_SERVER, IOT_RETRY_SERVER,
              IOT_RETRY_SERVER, IOT_RETRY_SERVER, IOT_RETRY_SERVER, IOT_OK}};
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &s, &res));
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_EQ(1u, ou.outages);
    call_breaker_free(b);
}

TEST(Call, AnEndpointThatNeverAnsweredFailsFast)
{
    // connection refused from the start: a wrong endpoint, not an outage
    call_breaker *b = call_breaker_new(2, 60000);
    Fixture f(3);
    f.spec.breaker = b;
    call_report r;
    iot_result res;
    Script down{{IOT_RETRY_TRANSPORT}};
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_EQ(3, r.attempts);
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_EQ(0u, ou.outages);
    call_breaker_free(b);
}

TEST(Call, AnOutagePastItsMaxPausesEveryWaitingCall)
{
    call_breaker *b = call_breaker_new(1, 400);
    Fixture f(3);
    f.spec.breaker = b;
    call_report r;
    iot_result res;
    Script down{{IOT_RETRY_SERVER}};
    double t0 = mono_s();
    EXPECT_EQ(CALL_PAUSED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_LT(mono_s() - t0, 5.0);
    EXPECT_TRUE(call_breaker_tripped(b));
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_NE(nullptr, strstr(ou.reason, "HTTP 503"));
    // every later call pauses at once, without sending
    Script up{{IOT_OK}};
    EXPECT_EQ(CALL_PAUSED, call_run(&r, &f.spec, scripted, &up, &res));
    EXPECT_EQ(0, r.attempts);
    call_breaker_free(b);
}

// A service that is down until `up` is set: counts the calls in flight.
struct Down {
    std::atomic<int> in_flight{0}, max_in_flight{0}, calls{0};
    std::atomic<int> up{0};
};

iot_class down_fn(void *ctx, iot_result *res)
{
    Down *d = static_cast<Down *>(ctx);
    int n = ++d->in_flight;
    int m = d->max_in_flight.load();
    while (n > m && !d->max_in_flight.compare_exchange_weak(m, n))
        ;
    d->calls++;
    usleep(20000);
    d->in_flight--;
    if (d->up.load()) {
        res->status = 200;
        return IOT_OK;
    }
    res->status = 503;
    snprintf(res->code, sizeof res->code, "ServiceUnavailableException");
    return IOT_RETRY_SERVER;
}

TEST(Call, DuringAnOutageOneProbeAtATimeThenEveryCallerGoesOn)
{
    call_breaker *b = call_breaker_new(4, 60000);
    Down d;
    std::atomic<int> done{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; i++)
        ts.emplace_back([&] {
            Fixture f(2);
            f.spec.before = nullptr;
            f.spec.after = nullptr;
            f.spec.breaker = b;
            call_report r;
            iot_result res;
            if (call_run(&r, &f.spec, down_fn, &d, &res) == CALL_DONE)
                done++;
        });
    // wait until the outage is open and every caller has reached the gate
    for (int i = 0; i < 200; i++) {
        call_outage ou;
        call_breaker_status(b, &ou);
        if (ou.open && d.in_flight.load() == 0)
            break;
        usleep(10000);
    }
    usleep(300000);
    d.max_in_flight = 0; // from here on only probes are sent
    int before = d.calls.load();
    usleep(2500000);
    EXPECT_LE(d.max_in_flight.load(), 1);
    EXPECT_LE(d.calls.load() - before, 4); // probes 0.5 s, then 1..2 s apart
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_EQ(1, ou.open);
    EXPECT_NE(nullptr, strstr(ou.reason, "ServiceUnavailableException"));
    d.up = 1;
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(8, done.load()); // none failed: max_attempts 2 was not used up
    call_breaker_free(b);
}

iot_class retry_after_fn(void *ctx, iot_result *res)
{
    int *n = static_cast<int *>(ctx);
    if ((*n)++ == 0) {
        res->status = 503;
        res->retry_after_ms = 700;
        return IOT_RETRY_SERVER;
    }
    res->status = 200;
    return IOT_OK;
}

TEST(Call, RetryAfterIsHonoured)
{
    Fixture f(5);
    int n = 0;
    call_report r;
    iot_result res;
    double t0 = mono_s();
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, retry_after_fn, &n, &res));
    // the full-jitter pause alone is at most 200 ms here
    EXPECT_GE(mono_s() - t0, 0.69);
}

// Credentials: the service refuses a token until it is renewed.
struct Creds {
    std::atomic<int> refreshes{0};
    int fail_refresh = 0;
};

int refresh_fn(void *ctx, iot_target *out, err *e)
{
    Creds *c = static_cast<Creds *>(ctx);
    if (c->fail_refresh) {
        err_set(e, ERR_IO, NULL, 0, -1, "credential_process exited 1");
        return -1;
    }
    int n = ++c->refreshes;
    char tok[32];
    snprintf(tok, sizeof tok, "token-%d", n);
    iot_target_set_credentials(out, "AKIDEXAMPLE", "secret", tok, 0);
    return 0;
}

struct Refusing {
    std::atomic<int> calls{0};
    unsigned *gen; // the caller's generation: refused while it is 0
};

iot_class refusing_fn(void *ctx, iot_result *res)
{
    Refusing *r = static_cast<Refusing *>(ctx);
    r->calls++;
    usleep(5000);
    if (*r->gen == 0) {
        res->status = 403;
        snprintf(res->code, sizeof res->code, "ExpiredTokenException");
        snprintf(res->message, sizeof res->message,
                 "The security token included in the request is expired");
        res->creds_refused = 1;
        return IOT_TERMINAL;
    }
    res->status = 200;
    return IOT_OK;
}

TEST(Call, RefusedCredentialsAreRenewedOnceForEveryCaller)
{
    Creds cr;
    iot_target t;
    memset(&t, 0, sizeof t);
    iot_target_set_credentials(&t, "AKIDEXAMPLE", "secret", "token-0", 0);
    keeper *k = keeper_new(&t, refresh_fn, &cr);
    call_breaker *b = call_breaker_new(4, 60000);
    std::atomic<int> done{0}, renewals{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; i++)
        ts.emplace_back([&] {
            Fixture f(1);
            f.spec.before = nullptr;
            f.spec.after = nullptr;
            f.spec.breaker = b;
            f.spec.creds = k;
            unsigned gen = 0;        // no client: keeper_sync is not called, so
            f.spec.creds_gen = &gen; // the scripted service sees the renewal below
            Refusing ref;
            ref.gen = &gen;
            call_report r;
            iot_result res;
            // the renewal happens inside call_run; mark the generation seen
            // by the "client" as the keeper's once renewed
            struct Ctx {
                Refusing *ref;
                int n;
            } ctx{&ref, 0};
            auto fn = [](void *c, iot_result *res) -> iot_class {
                Ctx *x = static_cast<Ctx *>(c);
                if (x->n++ > 0)
                    *x->ref->gen = 1; // the retry is sent with new credentials
                return refusing_fn(x->ref, res);
            };
            if (call_run(&r, &f.spec, fn, &ctx, &res) == CALL_DONE)
                done++;
            renewals += r.renewals;
        });
    for (auto &th : ts)
        th.join();
    EXPECT_EQ(8, done.load());
    EXPECT_EQ(8, renewals.load());
    EXPECT_EQ(1, cr.refreshes.load()); // one refresh for all of them
    unsigned refreshed, failed;
    keeper_counts(k, &refreshed, &failed);
    EXPECT_EQ(1u, refreshed);
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_EQ(0u, ou.outages);
    call_breaker_free(b);
    keeper_free(k);
    iot_target_free(&t);
}

TEST(Call, CredentialsThatCannotBeRenewedPauseTheJobNotFailTheItem)
{
    Creds cr;
    cr.fail_refresh = 1;
    iot_target t;
    memset(&t, 0, sizeof t);
    iot_target_set_credentials(&t, "AKIDEXAMPLE", "secret", "token-0", 0);
    keeper *k = keeper_new(&t, refresh_fn, &cr);
    call_breaker *b = call_breaker_new(100, 300);
    Fixture f(5);
    f.spec.breaker = b;
    f.spec.creds = k;
    unsigned gen = 0;
    f.spec.creds_gen = &gen;
    Refusing ref;
    ref.gen = &gen;
    call_report r;
    iot_result res;
    // before any call was accepted, refused credentials are wrong ones: a
    // final answer at once (a typo is not waited on for the max outage)
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, refusing_fn, &ref, &res));
    EXPECT_EQ(1, r.attempts);
    // once they have worked, they expired: an outage at once (not after 100
    // failures), then the pause
    Script up{{IOT_OK}};
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &up, &res));
    EXPECT_EQ(CALL_PAUSED, call_run(&r, &f.spec, refusing_fn, &ref, &res));
    call_outage ou;
    call_breaker_status(b, &ou);
    EXPECT_NE(nullptr, strstr(ou.reason, "credentials refused")) << ou.reason;
    EXPECT_NE(nullptr, strstr(ou.reason, "credential_process exited 1")) << ou.reason;
    call_breaker_free(b);
    keeper_free(k);
    iot_target_free(&t);
}

TEST(Call, WithoutABreakerRefusedCredentialsAreAFinalAnswer)
{
    Fixture f(5);
    unsigned gen = 0;
    Refusing ref;
    ref.gen = &gen;
    call_report r;
    iot_result res;
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, refusing_fn, &ref, &res));
    EXPECT_EQ(1, r.attempts);
}
