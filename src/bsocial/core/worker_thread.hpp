#pragma once
// The one lifecycle of every background worker (the outbox relay, the timeline fan-out
// worker, the notification hub, the notifier's Kafka consumer, the telemetry indexer):
//
//   worker_thread worker_;               // a member, declared last: joined before the
//                                        // members its loop uses are destroyed
//   start():  worker_.start([this] { run(); });
//   run():    while (!worker_.stopping()) { ...; worker_.wait(poll); }
//   stop():   worker_.stop();            // request_stop() + join()
//
// The worker's dependencies (database, publisher, clock, options) come in its constructor;
// the worker_thread only owns the thread and the stop flag.
//
// - request_stop() sets the flag, wakes wait() and runs the `on_stop` hook given to the
//   constructor (for loops that block elsewhere: poll() on an eventfd...); it does not wait.
// - join() waits for the loop to return, then rethrows what the loop threw, if anything
//   (so an owner can end the process with the loop's error instead of std::terminate).
// - stop() = request_stop() + join(); idempotent; the destructor calls it (and swallows
//   the loop's exception, which was logged by then).
// - `on_exit`, when given, runs on the worker's thread after the loop returned or threw,
//   e.g. to wake an owner that waits for a signal (core/stop_signals.hpp).
// Thread-safe: start/stop/join from the owner; request_stop, nudge from anywhere.

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace bsocial {

class worker_thread {
  public:
    struct hooks {
        std::function<void()> on_stop;  ///< runs in request_stop(), on the caller's thread
        std::function<void()> on_exit;  ///< runs on the worker's thread when the loop ends
    };

    explicit worker_thread(std::string name = "worker", hooks h = {})
        : name_(std::move(name)), hooks_(std::move(h)) {}
    ~worker_thread() {
        try {
            stop();
        } catch (...) {  // already logged by the thread
        }
    }
    worker_thread(const worker_thread&) = delete;
    worker_thread& operator=(const worker_thread&) = delete;

    /// Runs `loop` on a new thread; the loop returns once stopping() is true.
    /// Throws std::logic_error when already started.
    void start(std::function<void()> loop) {
        if (thread_.joinable()) throw std::logic_error(name_ + " started twice");
        thread_ = std::thread([this, loop = std::move(loop)] {
            try {
                loop();
            } catch (const std::exception& e) {
                spdlog::error("module=core event=worker_failed worker={} error=\"{}\"", name_,
                              e.what());
                failure_ = std::current_exception();
            } catch (...) {
                spdlog::error("module=core event=worker_failed worker={} error=unknown", name_);
                failure_ = std::current_exception();
            }
            if (hooks_.on_exit) hooks_.on_exit();
        });
    }

    /// Asks the loop to finish: stopping() turns true, wait() returns, on_stop runs.
    /// Does not wait; idempotent.
    void request_stop() {
        if (stopping_.exchange(true)) return;
        nudge();
        if (hooks_.on_stop) hooks_.on_stop();
    }

    /// Waits until the loop returned; rethrows the exception that ended it, once.
    void join() {
        if (thread_.joinable()) thread_.join();
        if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
    }

    /// request_stop() + join().
    void stop() {
        request_stop();
        join();
    }

    bool stopping() const noexcept { return stopping_.load(); }

    /// Wakes wait() now instead of at the end of its timeout.
    void nudge() {
        {
            std::lock_guard lock(mutex_);
            nudged_ = true;
        }
        wake_.notify_one();
    }

    /// In the loop: waits up to `timeout` for a nudge or a stop; false once stopping.
    bool wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, timeout, [this] { return nudged_ || stopping_.load(); });
        nudged_ = false;
        return !stopping_.load();
    }

    /// In the loop: waits the whole `delay` unless stopped (nudges do not shorten it);
    /// false once stopping. For back-off after a failure.
    bool sleep_for(std::chrono::milliseconds delay) {
        const auto until = std::chrono::steady_clock::now() + delay;
        std::unique_lock lock(mutex_);
        wake_.wait_until(lock, until, [this] { return stopping_.load(); });
        return !stopping_.load();
    }

  private:
    std::string name_;
    hooks hooks_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool nudged_ = false;
    std::exception_ptr failure_;  ///< written by the thread before it ends; read after join
};

}  // namespace bsocial
