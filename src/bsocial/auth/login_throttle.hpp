#pragma once
// Failed-login limiting (security checklist S6): a sliding window of failures per key
// (the normalised login identifier, and separately the client address). In memory, per
// API instance: the limit is per instance, written down in docs/architecture.md.
// Thread-safe.

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "bsocial/core/clock.hpp"

namespace bsocial::auth {

class login_throttle {
  public:
    login_throttle(const clock& clock, int max_failures, std::int64_t window_seconds);

    /// Seconds to wait if `key` is locked out now, else nullopt.
    std::optional<std::int64_t> locked_for(const std::string& key);
    void record_failure(const std::string& key);
    void clear(const std::string& key);

  private:
    void prune(std::deque<std::int64_t>& failures, std::int64_t now);

    const clock& clock_;
    int max_failures_;
    std::int64_t window_ms_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::deque<std::int64_t>> failures_;
};

}  // namespace bsocial::auth
