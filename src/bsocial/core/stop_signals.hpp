#pragma once
// SIGINT/SIGTERM, handled one way by every subcommand (serve, relay, notifier, telemetry).
//
// Construct one at the top of the entry point, before any thread exists: it blocks both
// signals in the calling thread, so every thread started afterwards (librdkafka's, the
// workers', Asio's) inherits the mask and no signal ever interrupts one of them; a thread
// of its own takes them with sigwait(). Nothing runs in a signal handler.
//
//   stop_signals signals;                          // first
//   ...build the process; start the workers...
//   signals.on_stop([&] { server.stop(); });       // a loop that must be told, or
//   signals.wait();                                // block until SIGINT/SIGTERM
//   ...stop the workers...
//
// request_stop() stops as if a signal came (a worker whose loop ended on its own; tests).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bsocial {

class stop_signals {
  public:
    stop_signals();
    ~stop_signals();
    stop_signals(const stop_signals&) = delete;
    stop_signals& operator=(const stop_signals&) = delete;

    /// Runs `callback` once a stop is requested (on the signal thread), or now when it
    /// already was.
    void on_stop(std::function<void()> callback);
    /// Blocks until a stop is requested.
    void wait();
    /// Blocks up to `timeout`; true when a stop is requested.
    bool wait_for(std::chrono::milliseconds timeout);
    bool stop_requested() const;
    /// Stops as if SIGTERM had come. Thread-safe, idempotent.
    void request_stop();

  private:
    mutable std::mutex mutex_;
    std::condition_variable stopped_;
    bool stop_ = false;
    bool closing_ = false;  ///< the destructor runs: the waiter ends without a signal
    std::vector<std::function<void()>> callbacks_;
    std::thread waiter_;
};

}  // namespace bsocial
