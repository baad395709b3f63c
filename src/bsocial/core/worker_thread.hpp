#pragma once
// The lifecycle every background worker shares (the outbox relay, the fan-out worker):
// one thread running a loop, a stop flag, and a nudge that wakes the loop before its
// next poll. Thread-safe: start() and stop() from the owner, nudge() from anywhere.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace bsocial {

class worker_thread {
  public:
    worker_thread() = default;
    ~worker_thread() { stop(); }
    worker_thread(const worker_thread&) = delete;
    worker_thread& operator=(const worker_thread&) = delete;

    /// Runs `loop` on a new thread; it should return once stopping() is true.
    void start(std::function<void()> loop) { thread_ = std::thread(std::move(loop)); }
    /// Asks the loop to finish, wakes it and joins. Idempotent.
    void stop() {
        stopping_ = true;
        nudge();
        if (thread_.joinable()) thread_.join();
    }
    bool stopping() const noexcept { return stopping_.load(); }

    /// Wakes the loop now instead of at the end of its wait.
    void nudge() {
        {
            std::lock_guard lock(mutex_);
            nudged_ = true;
        }
        wake_.notify_one();
    }
    /// In the loop: waits up to `timeout` for a nudge or stop().
    void wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, timeout, [this] { return nudged_ || stopping_.load(); });
        nudged_ = false;
    }

  private:
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool nudged_ = false;
};

}  // namespace bsocial
