#pragma once
// When a broken database connection may try to connect again: at once the first time,
// then after a delay that doubles from `first` up to `cap`. Bounded so that once the
// database is back a connection is tried again within `cap` (the service serves again
// within a few seconds), and spaced so that while it is away each connection costs one
// refused connect per delay, not one per request. Not thread-safe: one per connection,
// used by whoever holds that connection. Clock-free: the caller passes the time.

#include <chrono>

namespace bsocial::store {

class reconnect_backoff {
  public:
    using clock = std::chrono::steady_clock;
    using duration = std::chrono::milliseconds;

    explicit reconnect_backoff(duration first = duration(100), duration cap = duration(1000))
        : first_(first), cap_(cap < first ? first : cap) {}

    /// True when a connect may be tried at `now`.
    bool may_try(clock::time_point now) const noexcept { return failures_ == 0 || now >= next_; }
    /// A connect tried at `now` failed: the next one waits the current delay, which doubles.
    void failed(clock::time_point now) noexcept {
        const duration delay = failures_ == 0 ? first_ : next_delay_;
        next_ = now + delay;
        next_delay_ = delay * 2 > cap_ ? cap_ : delay * 2;
        ++failures_;
    }
    /// Connected: the next failure starts from `first` again.
    void succeeded() noexcept { failures_ = 0; }

    int failures() const noexcept { return failures_; }
    /// The time before which may_try() is false (meaningful after a failure).
    clock::time_point next_try() const noexcept { return next_; }

  private:
    duration first_;
    duration cap_;
    duration next_delay_{0};
    clock::time_point next_{};
    int failures_ = 0;
};

}  // namespace bsocial::store
