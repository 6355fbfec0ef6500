// The pacer (engine/rate.h) against a model of AWS's per-account quota (a
// token bucket holding one second of calls, as the sim's GCRA), on a
// simulated clock: deterministic, no sleeping, no threads. One caller that
// always has work, 1 ms per call; and three such stations on one bucket.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <deque>
#include <functional>
#include <iterator>
#include <utility>
#include <vector>

#include "engine/rate.h"

namespace
{

struct Clock {
    double t = 1000.0;
};

double clock_now(void *ctx)
{
    return static_cast<Clock *>(ctx)->t;
}

void clock_sleep(void *ctx, double d)
{
    static_cast<Clock *>(ctx)->t += d;
}

struct Bucket {
    double rate, tokens, last;
    Bucket(double q, double now) : rate(q), tokens(std::max(1.0, q)), last(now) {}
    bool take(double now)
    {
        tokens = std::min(std::max(1.0, rate), tokens + (now - last) * rate);
        last = now;
        if (tokens < 1)
            return false;
        tokens -= 1;
        return true;
    }
};

struct Outcome {
    std::vector<double> ok; // times of accepted calls, from the start
    size_t throttled = 0;
    int learned = 0; // rate_learned at the end
    double learned_tps = 0;
    int learned_found = -1;
    size_t ok_between(double a, double b) const
    {
        return std::count_if(ok.begin(), ok.end(),
                             [&](double x) { return x >= a && x < b; });
    }
};

// Drives one pacer for `seconds` against a quota of `quota` calls/s; the
// pacer starts at `start` calls/s (the engine's table). The account decides
// when a call arrives; the pacer hears of it `delay` seconds later (the
// answer's way back and the worker's backoff), while it keeps sending.
// setup, when given, is called on the pacer once its clock is set.
Outcome drive(double quota, double start, double seconds, double delay = 0.2,
              double sporadic = 0, const std::function<void(rate *)> &setup = nullptr)
{
    unsigned long long rng = 88172645463325252ULL; // xorshift64, fixed seed
    Clock c;
    rate *r = rate_new("Op", start);
    rate_set_clock(r, clock_now, clock_sleep, &c);
    if (setup)
        setup(r);
    Bucket b(quota, c.t);
    Outcome run;
    std::deque<std::pair<double, bool>> answers; // (heard at, accepted)
    const double t0 = c.t;
    auto hear = [&](double until) {
        while (!answers.empty() && answers.front().first <= until) {
            if (answers.front().second)
                rate_ok(r);
            else
                rate_throttled(r);
            answers.pop_front();
        }
    };
    while (c.t - t0 < seconds) {
        hear(c.t);
        EXPECT_EQ(0, rate_acquire(r, nullptr));
        hear(c.t);
        bool ok = b.take(c.t);
        if (ok && sporadic > 0) { // throttled anyway, whatever the rate
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            ok = (double)(rng >> 11) / 9007199254740992.0 >= sporadic;
        }
        if (ok)
            run.ok.push_back(c.t - t0);
        else
            run.throttled++;
        answers.emplace_back(c.t + delay, ok);
        c.t += 0.001;
    }
    run.learned = rate_learned(r, &run.learned_tps, &run.learned_found);
    rate_free(r);
    std::printf("quota %g, start %g, %g s: %zu accepted, %zu throttled\n", quota, start,
                seconds, run.ok.size(), run.throttled);
    return run;
}

} // namespace

// The table is right (aws-default): the quota is held, throttling is rare.
TEST(Rate, HoldsTheQuota)
{
    Outcome run = drive(10, 10, 120);
    for (int s = 10; s < 120; s++)
        EXPECT_GE(run.ok_between(s, s + 1), 9u) << "second " << s;
    size_t ok = run.ok_between(10, 120);
    EXPECT_GE(ok, 0.97 * 110 * 10) << ok;
    EXPECT_LE(ok, 1.0 * 110 * 10 + 10) << ok; // the bucket is never beaten
    // AIMD finds the quota again after each decrease by going over it: 64
    // throttles here (5.3%), 58 with the multiplicative steps before it
    EXPECT_LE(run.throttled, 0.06 * run.ok.size()) << run.throttled;
}

// Quotas raised x10 while the engine keeps its table: found within seconds,
// then held.
TEST(Rate, DiscoversRaisedQuotas)
{
    Outcome run = drive(100, 10, 60);
    // every second from the 5th on runs at 90% or more of the quota
    for (int s = 5; s < 60; s++)
        EXPECT_GE(run.ok_between(s, s + 1), 90u) << "second " << s;
    EXPECT_GE(run.ok_between(0, 60), 0.95 * 60 * 100);
    EXPECT_LE(run.throttled, 0.05 * run.ok.size()) << run.throttled;
}

// Quotas lower than the table (an account shared with other clients): the
// pacer comes down within a few seconds, even though throttles arrive far
// more often than it decreases, and settles just under the quota.
TEST(Rate, SettlesUnderLowerQuotas)
{
    Outcome run = drive(5, 30, 120);
    for (int s = 5; s < 120; s++)
        EXPECT_LE(run.ok_between(s, s + 1), 6u) << "second " << s;
    EXPECT_GE(run.ok_between(10, 120), 0.95 * 110 * 5);
    EXPECT_LE(run.throttled, 0.1 * run.ok.size()) << run.throttled;
}

// 1% of the calls throttled at random (another client of the account, a
// hiccup) while the quota is far away: the rate still climbs to what the
// caller can send (1,000 calls/s here, also the pacer's ceiling: 10x its
// start of 100/s) within 20 s, instead of settling near 1 / 1% = 100/s (it
// held ~14/s before sporadic throttles were told apart: 411 calls accepted
// in 30 s).
TEST(Rate, SporadicThrottlesDoNotHoldTheRateDown)
{
    Outcome run = drive(100000, 100, 30, 0.2, 0.01);
    for (int s = 20; s < 30; s++)
        EXPECT_GE(run.ok_between(s, s + 1), 900u) << "second " << s;
    EXPECT_LE(run.throttled, 0.02 * run.ok.size()) << run.throttled;
}

// The same 1% at aws-default: the quota still rules; the rate is held. A
// second may carry up to 3 calls more than the quota: what the bucket banked
// while the pacer was under it after a decrease (x0.85), spent as it probes
// back above; over the run the bucket is never beaten.
TEST(Rate, SporadicThrottlesAtTheQuota)
{
    Outcome run = drive(10, 10, 60, 0.2, 0.01);
    for (int s = 10; s < 60; s++) {
        EXPECT_GE(run.ok_between(s, s + 1), 8u) << "second " << s;
        EXPECT_LE(run.ok_between(s, s + 1), 13u) << "second " << s;
    }
    EXPECT_LE(run.ok_between(10, 60), 50 * 10 + 10);
}

// No throttle ever comes (a quota far above the table): the rate stops at its
// ceiling, 10x the rate it started from, instead of doubling without end.
TEST(Rate, CappedAtTenTimesItsStart)
{
    Outcome run = drive(1e9, 10, 60);
    for (int s = 10; s < 60; s++) {
        EXPECT_LE(run.ok_between(s, s + 1), 101u) << "second " << s;
        EXPECT_GE(run.ok_between(s, s + 1), 99u) << "second " << s;
    }
}

// Unlimited (tps 0): never waits.
TEST(Rate, UnlimitedNeverWaits)
{
    Clock c;
    rate *r = rate_new("Op", 0);
    rate_set_clock(r, clock_now, clock_sleep, &c);
    for (int i = 0; i < 100000; i++)
        ASSERT_EQ(0, rate_acquire(r, nullptr));
    EXPECT_EQ(1000.0, c.t);
    rate_stats st;
    rate_get_stats(r, &st);
    EXPECT_EQ(0, st.tps);
    EXPECT_EQ(100000u, st.calls);
    rate_free(r);
}

// A cancel flag ends a wait.
TEST(Rate, CancelEndsTheWait)
{
    Clock c;
    rate *r = rate_new("Op", 1);
    rate_set_clock(r, clock_now, clock_sleep, &c);
    ASSERT_EQ(0, rate_acquire(r, nullptr));
    ASSERT_EQ(0, rate_acquire(r, nullptr)); // the banked slot
    rate_cancel_flag cancel(1);
    EXPECT_EQ(-1, rate_acquire(r, &cancel));
    rate_free(r);
}

// Many callers on the real clock: the pacer hands out at most one slot per
// 1/rate (plus the one banked slot), whatever the scheduling, and none is
// starved.
TEST(Rate, ThreadsShareTheRate)
{
    rate *r = rate_new("Op", 400);
    std::atomic<int> calls(0), stop(0);
    double t0 = rate_now();
    std::vector<std::thread> ts;
    for (int i = 0; i < 16; i++)
        ts.emplace_back([&] {
            while (!stop.load()) {
                if (rate_acquire(r, &stop) == 0)
                    calls++;
            }
        });
    while (rate_now() - t0 < 0.5)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = 1;
    for (auto &t : ts)
        t.join();
    double dt = rate_now() - t0;
    // 400/s over dt, plus the banked slot and the 16 callers that may each
    // have taken a slot as the flag went up
    EXPECT_LE(calls.load(), 400 * dt + 1 + 16) << dt;
    EXPECT_GE(calls.load(), 400 * 0.5 * 0.5) << dt; // not starved
    rate_free(r);
}

namespace
{

// Stations sharing one account: k pacers, one caller each that always has
// work, on one bucket. A station's next send time is known once its pacer
// hands out the slot, and the station with the earliest one sends first, so
// the bucket sees the calls of all in time order. Each send and each answer
// gets a few ms of jitter (scheduling, the network), so the stations' slots
// do not lock into one phase with the bucket's refills. Station i starts at
// i * stagger and has n calls to get accepted (an equal job); finish times
// count from when the first started.
struct Station {
    Clock c;
    rate *r = nullptr;
    std::deque<std::pair<double, bool>> answers; // (heard at, accepted), in order
    double due = -1;                             // its pending send, -1 none
    int done = 0;
    double start = 0, finish = 0;
    void hear(double until)
    {
        while (!answers.empty() && answers.front().first <= until) {
            if (answers.front().second)
                rate_ok(r);
            else
                rate_throttled(r);
            answers.pop_front();
        }
    }
};

double station_now(void *ctx)
{
    return static_cast<Station *>(ctx)->c.t;
}

void station_sleep(void *ctx, double d)
{
    Station *s = static_cast<Station *>(ctx);
    s->c.t += d;
    s->hear(s->c.t); // answers arrive while it waits
}

struct Shared {
    double fairness;  // first finish / last finish
    double aggregate; // k * n / last finish / quota
    double worst;     // the station furthest from a fair share: |rate / share - 1|
    size_t throttled;
};

Shared share(int k, double quota, double start_tps, int n, double stagger, unsigned seed)
{
    unsigned long long rng = 88172645463325252ULL + seed * 7919ULL;
    auto uniform = [&rng] {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (double)(rng >> 11) / 9007199254740992.0;
    };
    const double jitter = 0.003;
    const double t0 = 1000.0; // as Clock: the pacer counts whole seconds from 0
    Bucket b(quota, t0);
    std::vector<Station> st(k);
    for (int i = 0; i < k; i++) {
        st[i].start = st[i].c.t = t0 + i * stagger;
        st[i].r = rate_new("Op", start_tps);
        rate_set_clock(st[i].r, station_now, station_sleep, &st[i]);
    }
    Shared out = {0, 0, 0, 0};
    for (;;) {
        Station *next = nullptr;
        for (auto &s : st) {
            if (s.done >= n)
                continue;
            if (s.due < 0) {
                s.hear(s.c.t);
                EXPECT_EQ(0, rate_acquire(s.r, nullptr));
                s.due = s.c.t + jitter * uniform();
            }
            if (!next || s.due < next->due)
                next = &s;
        }
        if (!next)
            break;
        double now = next->due;
        bool ok = b.take(now);
        double heard = now + 0.01 + 4 * jitter * uniform();
        auto at = next->answers.end(); // in order of arrival
        while (at != next->answers.begin() && std::prev(at)->first > heard)
            --at;
        next->answers.insert(at, {heard, ok});
        if (ok && ++next->done == n)
            next->finish = now - t0;
        out.throttled += !ok;
        next->c.t = std::max(next->c.t, now + 0.001);
        next->due = -1;
    }
    double first = 1e18, last = 0;
    for (auto &s : st) {
        first = std::min(first, s.finish);
        last = std::max(last, s.finish);
        double dev = n / (s.finish - (s.start - t0)) / (quota / k) - 1;
        out.worst = std::max(out.worst, std::fabs(dev));
        rate_free(s.r);
    }
    out.fairness = first / last;
    out.aggregate = k * n / last / quota;
    return out;
}

} // namespace

// Three stations on one account (aws-default: 10 calls/s) with equal jobs
// of 200 calls, started together or up to a second apart (4 spreads x 8
// seeds): they finish close together, each holding about a third of the
// quota, and together they use all of it. The additive step (the same for
// every share) is what evens them out: with +3% of the current rate per
// second the same runs gave a mean fairness of 0.74 and a worst of 0.54
// (a station that got ahead stayed ahead); now 0.90 and 0.78.
TEST(Rate, StationsShareFairly)
{
    double sum = 0, worst_fair = 1, worst_share = 0;
    int runs = 0;
    for (double stagger : {0.0, 0.1, 0.3, 1.0}) {
        for (unsigned seed = 1; seed <= 8; seed++) {
            Shared s = share(3, 10, 10, 200, stagger, seed);
            EXPECT_GE(s.aggregate, 0.95) << "stagger " << stagger << " seed " << seed;
            sum += s.fairness;
            worst_fair = std::min(worst_fair, s.fairness);
            worst_share = std::max(worst_share, s.worst);
            runs++;
        }
    }
    std::printf("3 stations, %d runs: fairness mean %.3f, worst %.3f; the station "
                "furthest from a fair share: %.1f%%\n",
                runs, sum / runs, worst_fair, worst_share * 100);
    EXPECT_GE(sum / runs, 0.85);
    EXPECT_GE(worst_fair, 0.75);
    EXPECT_LE(worst_share, 0.25);
}

// A pacer started from a rate learned before (quotas raised x5, the engine
// not told): it runs at the quota from the first second, where the table's
// slow start spends three seconds at 10, 20 and 40 calls/s getting there.
TEST(Rate, SeededFromTheLearnedRate)
{
    Outcome run = drive(50, 10, 30, 0.2, 0, [](rate *r) { rate_seed(r, 49, 1); });
    for (int s = 0; s < 30; s++)
        EXPECT_GE(run.ok_between(s, s + 1), 45u) << "second " << s;
    EXPECT_LE(run.throttled, 0.05 * run.ok.size()) << run.throttled;
    Outcome cold = drive(50, 10, 30);
    EXPECT_LT(cold.ok_between(0, 3), 100u); // what the seed saves
}

// A learned rate below today's quota (it was this station's share while two
// others used the account): the pacer probes up x1.5 per second from it and
// holds the quota within five seconds, about as soon as the table's slow
// start would (each second at least 80% of it: AIMD's troughs are x0.85).
TEST(Rate, SeededFromAShareClimbsBack)
{
    Outcome run = drive(50, 10, 30, 0.2, 0, [](rate *r) { rate_seed(r, 16.7, 1); });
    for (int s = 5; s < 30; s++)
        EXPECT_GE(run.ok_between(s, s + 1), 40u) << "second " << s;
    EXPECT_GE(run.ok_between(5, 30), 0.95 * 25 * 50);
}

// What a pacer learns is the rate the account sustained, not a probe's peak:
// with quotas x5 it probes to 80 and above, and learns 50.
TEST(Rate, LearnsTheSustainedRate)
{
    Outcome run = drive(50, 10, 30);
    ASSERT_EQ(run.learned, 1);
    EXPECT_EQ(run.learned_found, 1);
    EXPECT_GE(run.learned_tps, 47);
    EXPECT_LE(run.learned_tps, 51);
    // started from what it learned, the next job learns about the same, not
    // the first second's burst of a full bucket on top of it
    double first = run.learned_tps;
    Outcome next =
        drive(50, 10, 30, 0.2, 0, [first](rate *r) { rate_seed(r, first, 1); });
    ASSERT_EQ(next.learned, 1);
    EXPECT_EQ(next.learned_found, 1);
    EXPECT_GE(next.learned_tps, 47);
    EXPECT_LE(next.learned_tps, 51);
}

// Never throttled (the quota far above): a lower bound, at most the ceiling.
TEST(Rate, LearnsALowerBoundWhenNeverThrottled)
{
    Outcome run = drive(1e9, 10, 20);
    ASSERT_EQ(run.learned, 1);
    EXPECT_EQ(run.learned_found, 0);
    EXPECT_GT(run.learned_tps, 50);
    EXPECT_LE(run.learned_tps, 100);
    // and nothing when it never was the bottleneck
    Clock c;
    rate *r = rate_new("Op", 10);
    rate_set_clock(r, clock_now, clock_sleep, &c);
    for (int i = 0; i < 50; i++) {
        ASSERT_EQ(0, rate_acquire(r, nullptr));
        rate_ok(r);
        c.t += 0.2; // 5 calls/s, under its rate
    }
    double tps;
    int found;
    EXPECT_EQ(0, rate_learned(r, &tps, &found));
    rate_free(r);
}

// A learned rate cannot lift the ceiling (10x the table): a seed above it is
// clamped, and stats say where it started.
TEST(Rate, SeedKeepsTheCeiling)
{
    Clock c;
    rate *r = rate_new("Op", 10);
    rate_set_clock(r, clock_now, clock_sleep, &c);
    rate_seed(r, 500, 1);
    rate_stats st;
    rate_get_stats(r, &st);
    EXPECT_EQ(100, st.tps);
    EXPECT_EQ(100, st.start_tps);
    EXPECT_EQ(1, st.seeded);
    rate_free(r);
    rate *u = rate_new("Op", 0); // unlimited stays unlimited
    rate_seed(u, 50, 1);
    rate_get_stats(u, &st);
    EXPECT_EQ(0, st.tps);
    EXPECT_EQ(0, st.seeded);
    rate_free(u);
}
