#pragma once
// A token bucket per key (the client address): `per_minute` actions per minute on average,
// bursts of up to `burst`. Used to limit registrations per address (docs/security.md,
// item 1). Memory is bounded: at most `capacity` keys, the least recently used is
// forgotten first (it then starts again with a full bucket). Thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bsocial/core/clock.hpp"

namespace bsocial::auth {

class rate_limiter {
  public:
    static constexpr std::size_t default_capacity = 65536;

    /// per_minute <= 0 turns the limit off.
    rate_limiter(const clock& clock, int per_minute, int burst,
                 std::size_t capacity = default_capacity);

    /// Takes one token for `key`: nullopt when allowed, else the seconds until a token is
    /// available again.
    std::optional<std::int64_t> try_take(const std::string& key);

    std::size_t size() const;

  private:
    struct bucket {
        std::string key;
        double tokens;
        std::int64_t updated_ms;
    };
    using lru_list = std::list<bucket>;

    const clock& clock_;
    double per_ms_;
    double burst_;
    std::size_t capacity_;
    mutable std::mutex mutex_;
    lru_list buckets_;  ///< most recently used first
    /// Keyed by a view of the bucket's own key (list nodes never move).
    std::unordered_map<std::string_view, lru_list::iterator> index_;
};

}  // namespace bsocial::auth
