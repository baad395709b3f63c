#include "bsocial/core/worker_thread.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>

#include "bsocial/core/stop_signals.hpp"

using namespace std::chrono_literals;
using bsocial::stop_signals;
using bsocial::worker_thread;

TEST(WorkerThread, StopEndsTheLoopAndRunsTheHooksOnce) {
    std::atomic<int> on_stop{0}, on_exit{0}, rounds{0};
    worker_thread w("test", {.on_stop = [&] { ++on_stop; }, .on_exit = [&] { ++on_exit; }});
    std::promise<void> running;
    w.start([&] {
        running.set_value();
        while (w.wait(10s)) ++rounds;  // only a stop ends this wait early enough
    });
    running.get_future().wait();
    EXPECT_FALSE(w.stopping());
    w.stop();
    w.stop();  // idempotent
    EXPECT_TRUE(w.stopping());
    EXPECT_EQ(on_stop.load(), 1);
    EXPECT_EQ(on_exit.load(), 1);
    EXPECT_EQ(rounds.load(), 0);
}

TEST(WorkerThread, NudgeWakesTheWaitWithoutStopping) {
    worker_thread w;
    std::promise<void> woke;
    w.start([&] {
        if (w.wait(60s)) woke.set_value();  // true: woken by the nudge, not stopping
        while (w.wait(60s)) {
        }
    });
    // A nudge before the loop's first wait is remembered: no race with the thread's start.
    auto f = woke.get_future();
    w.nudge();
    EXPECT_EQ(f.wait_for(30s), std::future_status::ready);
    w.stop();
}

TEST(WorkerThread, JoinRethrowsWhatEndedTheLoop) {
    std::promise<void> exited;
    worker_thread w("failing", {.on_exit = [&] { exited.set_value(); }});
    w.start([] { throw std::runtime_error("broker gone"); });
    exited.get_future().wait();  // on_exit runs after a throwing loop too
    EXPECT_THROW(
        {
            try {
                w.stop();
            } catch (const std::runtime_error& e) {
                EXPECT_STREQ(e.what(), "broker gone");
                throw;
            }
        },
        std::runtime_error);
    EXPECT_NO_THROW(w.stop());  // rethrown once
}

TEST(WorkerThread, StartingTwiceIsRefused) {
    worker_thread w;
    w.start([&] {
        while (w.wait(60s)) {
        }
    });
    EXPECT_THROW(w.start([] {}), std::logic_error);
    w.stop();
}

TEST(StopSignals, RequestStopWakesWaitAndRunsCallbacksOnce) {
    stop_signals signals;
    std::atomic<int> calls{0};
    signals.on_stop([&] { ++calls; });
    EXPECT_FALSE(signals.stop_requested());
    EXPECT_FALSE(signals.wait_for(1ms));
    auto waiter = std::async(std::launch::async, [&] { signals.wait(); });
    signals.request_stop();
    signals.request_stop();
    EXPECT_EQ(waiter.wait_for(30s), std::future_status::ready);
    EXPECT_TRUE(signals.stop_requested());
    EXPECT_TRUE(signals.wait_for(1ms));
    EXPECT_EQ(calls.load(), 1);
    // Registered after the stop: runs at once.
    signals.on_stop([&] { ++calls; });
    EXPECT_EQ(calls.load(), 2);
}
