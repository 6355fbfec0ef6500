// The one retry policy (engine/call.h) against scripted answers: what is
// retried and how often, what the pacer and the hooks hear, cancel, the
// caller's idempotency rule, the breaker shared by callers.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "engine/call.h"
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

TEST(Call, BreakerTripsOnTransportFailuresInARowAcrossCallers)
{
    call_breaker *b = call_breaker_new(3);
    Fixture f(1);
    f.spec.breaker = b;
    call_report r;
    iot_result res;
    Script down{{IOT_RETRY_TRANSPORT}};
    Script up{{IOT_OK}};
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_EQ(CALL_DONE, call_run(&r, &f.spec, scripted, &up, &res)); // resets the run
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_FALSE(call_breaker_tripped(b));
    EXPECT_EQ(CALL_UNREACHABLE, call_run(&r, &f.spec, scripted, &down, &res));
    EXPECT_TRUE(call_breaker_tripped(b));
    // only the call that tripped it says so
    EXPECT_EQ(CALL_FAILED, call_run(&r, &f.spec, scripted, &down, &res));
    call_breaker_free(b);
}
